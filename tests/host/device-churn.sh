#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Unbind and bind the virtio-rng PCI function's driver, many times. Each
# unbind frees the device's MSIs and its ITT (MAPD V=0), each bind maps it
# again with a new ITT (MAPD V=1, MAPTI): under pKVM both go through the
# hypervisor, which records every mapped device (a bounded table) and pins
# its ITT until the ITS has unmapped it. A record or a pin that a cycle
# leaves behind adds up: past the table's size, MAPD would be refused and
# the device's MSIs would never arrive. Then check that every cycle
# completed, that the driver never timed out on the queue, that the
# hypervisor refused no command and holds what it held before (when its
# trace events are there), and that MSIs are still delivered.
#
# usage: device-churn.sh [CYCLES]   (default 1000)
# Prints KTAP.

. "$(dirname "$0")/lib.sh"

n=${1:-1000}
drv=/sys/bus/pci/drivers/virtio-pci
echo "KTAP version 1"
echo "1..5"

# The PCI function whose virtio device is the RNG.
v=$(readlink -f /sys/bus/virtio/drivers/virtio_rng/virtio* 2>/dev/null)
bdf=
[ -z "$v" ] || bdf=$(basename "$(dirname "$v")")
case $bdf in
[0-9a-f]*:*) ;;
*)
	for i in 1 2 3 4 5; do
		echo "ok $i # SKIP no virtio-rng PCI function"
	done
	exit 4 ;;
esac

refused_before=$(its_refusals)
held_before=$(its_held)

# No hwrng thread reading the device while it comes and goes.
echo 0 >/sys/module/rng_core/parameters/default_quality 2>/dev/null
done_cycles=0
t0=$(cut -d' ' -f1 /proc/uptime)
i=0
while [ "$i" -lt "$n" ]; do
	echo "$bdf" >"$drv/unbind" 2>/dev/null || break
	echo "$bdf" >"$drv/bind" 2>/dev/null || break
	i=$((i + 1))
	done_cycles=$i
done
t1=$(cut -d' ' -f1 /proc/uptime)
echo "# $done_cycles unbind/bind cycles of $bdf in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

if [ "$done_cycles" -eq "$n" ]; then
	ktap_result ok "$n unbind/bind cycles completed"
else
	ktap_result fail "$n unbind/bind cycles completed: stopped after $done_cycles"
fi
check_no_queue_timeout

check_no_refusal "$refused_before"
check_held "$held_before" "$(its_held)"

# The device, mapped again after the last bind, still raises MSIs.
check_msis_arrive
exit "$(ktap_status)"
