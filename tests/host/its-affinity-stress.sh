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

n=${1:-100000}
echo "KTAP version 1"
echo "1..3"

irqs=$(awk '/ITS-PCI-MSI/ { sub(":", "", $1); print $1 }' /proc/interrupts)
if [ -z "$irqs" ]; then
	echo "ok 1 # SKIP no ITS MSI in /proc/interrupts"
	echo "ok 2 # SKIP"
	echo "ok 3 # SKIP"
	exit 4
fi

msi_total()
{
	awk '/ITS-PCI-MSI/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i }
	     END { print s + 0 }' /proc/interrupts
}

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

if dmesg | grep -q 'ITS queue timeout'; then
	echo "not ok 1 no ITS queue timeout"
	dmesg | grep 'ITS' | tail -n 5 | sed 's/^/# /'
else
	echo "ok 1 no ITS queue timeout"
fi

before=$(msi_total)
if timeout 20 head -c 256 /dev/hwrng >/dev/null 2>&1; then
	echo "ok 2 virtio-rng still answers"
else
	echo "not ok 2 virtio-rng still answers"
fi
after=$(msi_total)
if [ "$after" -gt "$before" ]; then
	echo "ok 3 MSIs delivered after the stress ($before -> $after)"
else
	echo "not ok 3 MSIs delivered after the stress ($before -> $after)"
fi
dmesg | grep -q 'ITS queue timeout' && exit 1
[ "$after" -gt "$before" ] || exit 1
exit 0
