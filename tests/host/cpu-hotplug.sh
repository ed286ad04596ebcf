#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Take CPU 1 offline and online again, many times. Offlining a CPU makes the
# ITS driver move its LPIs away (MOVI, SYNC); onlining it makes the driver
# enable LPIs on its redistributor again and map its collection. Under pKVM
# both go through the hypervisor's emulation of the ITS and of the
# redistributor. Then check that the driver never timed out on the queue,
# that every cycle completed, that the hypervisor holds what it held
# before (when its trace events are there), and that MSIs are still
# delivered.
#
# usage: cpu-hotplug.sh [CYCLES]   (default 50)
# Prints KTAP.

. "$(dirname "$0")/lib.sh"

n=${1:-50}
cpu=/sys/devices/system/cpu/cpu1/online
echo "KTAP version 1"
echo "1..5"

if [ ! -w "$cpu" ]; then
	for i in 1 2 3 4 5; do
		echo "ok $i # SKIP CPU 1 cannot be taken offline (no CONFIG_HOTPLUG_CPU?)"
	done
	exit 4
fi

held_before=$(its_held)

# Keep every ITS MSI on CPU 1 where allowed, so that each offline moves them.
awk '/ITS-PCI-MSI/ { sub(":", "", $1); print "/proc/irq/" $1 "/smp_affinity" }' \
	/proc/interrupts | while read -r f; do
	echo 2 >"$f" 2>/dev/null
done

seen=$(dmesg | wc -l)
ok=0
i=0
while [ "$i" -lt "$n" ]; do
	echo 0 >"$cpu" 2>/dev/null && [ "$(cat "$cpu")" = 0 ] &&
	echo 1 >"$cpu" 2>/dev/null && [ "$(cat "$cpu")" = 1 ] && ok=$((ok + 1))
	i=$((i + 1))
done
ktap_count "$ok" "$n" "$n offline/online cycles of CPU 1"
check_no_queue_timeout

# Anything the GIC drivers or pKVM complained about during the cycles.
bad=$(dmesg | tail -n +$((seen + 1)) | grep -iE 'GIC|ITS|LPI|kvm' | grep -iE 'fail|error|warn|timeout')
if [ -n "$bad" ]; then
	ktap_result fail "no GIC or pKVM error while cycling"
	echo "$bad" | tail -n 5 | sed 's/^/# /'
else
	ktap_result ok "no GIC or pKVM error while cycling"
fi
check_held "$held_before" "$(its_held)"
check_msis_arrive
exit "$(ktap_status)"
