#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make bench: the MSI path. Reads the virtio-rng device for a few seconds,
# 64 bytes a request, and counts the MSIs its completions raise (its lines
# of /proc/interrupts). Each MSI is a write to GITS_TRANSLATER, which the
# protection never traps: the rate must be the same on the base and on the
# series. One "BENCH msi_per_s=" line.
secs=${1:-5}

dev=$(basename "$(readlink -f /sys/bus/virtio/drivers/virtio_rng/virtio* 2>/dev/null)")
case $dev in
virtio[0-9]*) ;;
*) echo "BENCH msi_rate: no virtio-rng device"; exit 1 ;;
esac

msis()	# every MSI of the device so far, all CPUs
{
	awk -v d="$dev-" 'index($NF, d) == 1 {
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++)
			n += $i
	} END { print n + 0 }' /proc/interrupts
}

before=$(msis)
t0=$(cut -d' ' -f1 /proc/uptime)
timeout "$secs" dd if=/dev/hwrng of=/dev/null bs=64 2>/dev/null
t1=$(cut -d' ' -f1 /proc/uptime)
after=$(msis)
awk -v n=$((after - before)) -v t0="$t0" -v t1="$t1" -v d="$dev" 'BEGIN {
	if (n <= 0 || t1 <= t0) {
		print "BENCH msi_rate: no MSI from " d
		exit 1
	}
	printf "BENCH msi_per_s=%d (%s, %d MSIs in %.1f s)\n", n / (t1 - t0), d, n, t1 - t0
}'
