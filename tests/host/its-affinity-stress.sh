#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Drive the ITS command queue from userspace: move every ITS MSI between
# CPU 0 and CPU 1 many times (each move makes the driver queue MOVI and
# SYNC, so the queue wraps many times), then check that the driver never
# timed out on the queue and that MSIs are still delivered.
#
# usage: its-affinity-stress.sh [CHANGES]   (default 100000)
# Prints KTAP; with PKVMITS_BENCH=1 also "BENCH affinity_changes_per_s=N".

. "$(dirname "$0")/lib.sh"

n=${1:-100000}
echo "KTAP version 1"
echo "1..2"

irqs=$(awk '/ITS-PCI-MSI/ { sub(":", "", $1); print $1 }' /proc/interrupts)
if [ -z "$irqs" ]; then
	echo "ok 1 # SKIP no ITS MSI in /proc/interrupts"
	echo "ok 2 # SKIP"
	exit 4
fi

# Changes per IRQ, so that $n changes are made in all.
nirq=$(echo "$irqs" | wc -w)
per=$(((n + nirq - 1) / nirq))
start=$(cut -d' ' -f1 /proc/uptime)
for irq in $irqs; do
	f=/proc/irq/$irq/smp_affinity
	i=0
	while [ "$i" -lt "$per" ]; do
		echo 2 >"$f"
		echo 1 >"$f"
		i=$((i + 2))
	done
done
end=$(cut -d' ' -f1 /proc/uptime)
done_n=$((per * nirq))
rate=$(awk -v n="$done_n" -v a="$start" -v b="$end" 'BEGIN { d = b - a; if (d <= 0) d = 0.01; printf "%d", n / d }')
echo "# $done_n affinity changes over $nirq ITS MSIs in $(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')s: $rate/s"
[ -z "${PKVMITS_BENCH:-}" ] || echo "BENCH affinity_changes_per_s=$rate"

check_no_queue_timeout
check_msis_arrive
exit "$(ktap_status)"
