#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Take CPU 1 offline and online again, many times. Offlining a CPU makes the
# ITS driver move its LPIs away (MOVI, SYNC); onlining it makes the driver
# enable LPIs on its redistributor again and map its collection. Under pKVM
# both go through the hypervisor's emulation of the ITS and of the
# redistributor. Then check that the driver never timed out on the queue,
# that every cycle completed, and that MSIs are still delivered.
#
# usage: cpu-hotplug.sh [CYCLES]   (default 50)
# Prints KTAP.

n=${1:-50}
cpu=/sys/devices/system/cpu/cpu1/online
echo "KTAP version 1"
echo "1..4"

if [ ! -w "$cpu" ]; then
	for i in 1 2 3 4; do
		echo "ok $i # SKIP CPU 1 cannot be taken offline (no CONFIG_HOTPLUG_CPU?)"
	done
	exit 4
fi

msi_total()
{
	awk '/ITS-PCI-MSI/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i }
	     END { print s + 0 }' /proc/interrupts
}

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
if [ "$ok" -eq "$n" ]; then
	echo "ok 1 $n offline/online cycles of CPU 1"
else
	echo "not ok 1 $n offline/online cycles of CPU 1: $ok completed"
fi

if dmesg | grep -q 'ITS queue timeout'; then
	echo "not ok 2 no ITS queue timeout"
	dmesg | grep 'ITS' | tail -n 5 | sed 's/^/# /'
else
	echo "ok 2 no ITS queue timeout"
fi

# Anything the GIC drivers or pKVM complained about during the cycles.
bad=$(dmesg | tail -n +$((seen + 1)) | grep -iE 'GIC|ITS|LPI|kvm' | grep -iE 'fail|error|warn|timeout')
if [ -n "$bad" ]; then
	echo "not ok 3 no GIC or pKVM error while cycling"
	echo "$bad" | tail -n 5 | sed 's/^/# /'
else
	echo "ok 3 no GIC or pKVM error while cycling"
fi

before=$(msi_total)
timeout 20 head -c 256 /dev/hwrng >/dev/null 2>&1
after=$(msi_total)
if [ "$after" -gt "$before" ]; then
	echo "ok 4 MSIs delivered after the cycles ($before -> $after)"
else
	echo "not ok 4 MSIs delivered after the cycles ($before -> $after)"
fi
[ "$ok" -eq "$n" ] && [ "$after" -gt "$before" ] || exit 1
dmesg | grep -q 'ITS queue timeout' && exit 1
exit 0
