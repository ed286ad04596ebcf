#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Hundreds of PCI functions with MSIs at once (scripts/boot-qemu.sh
# --many-devices): virtio-rng functions behind PCIe root ports, each with
# a DeviceID of its own, mapped by the driver at boot (before the handover,
# so that the hypervisor adopts them, or, with driver_async_probe=*, while
# it runs), and mapped again after it when their
# driver is unbound and bound. Past the fixed 256 device records the
# hypervisor once had, MAPD was refused and the device's MSIs never
# arrived. Check that at least MIN virtio-rng functions have MSI vectors,
# that every one of them delivers an interrupt, that the hypervisor
# records that many devices and refused none of the driver's commands,
# and, after every function's driver was unbound and bound again, the
# same.
#
# usage: many-devices.sh [MIN]   (default 300)
# Prints KTAP.

. "$(dirname "$0")/lib.sh"

min=${1:-300}
drv=/sys/bus/pci/drivers/virtio-pci
echo "KTAP version 1"
echo "1..7"

# The PCI functions of the virtio-rng devices.
rng_functions()
{
	local v

	for v in /sys/bus/virtio/drivers/virtio_rng/virtio*; do
		[ -e "$v" ] && basename "$(dirname "$(readlink -f "$v")")"
	done
}

# "BDF COUNT" for every virtio-rng function with MSI vectors: its
# interrupts so far, all vectors and CPUs.
msi_counts()
{
	{
		for f in $fns; do
			d=/sys/bus/pci/devices/$f
			[ -d "$d/msi_irqs" ] || continue
			for i in "$d"/msi_irqs/*; do
				echo "V ${d##*/} ${i##*/}"
			done
		done
		cat /proc/interrupts
	} | awk '$1 == "V" { fn[$3] = $2; total[$2] += 0; next }
		 $1 == "CPU0" { ncpu = NF; next }
		 { irq = $1; sub(":", "", irq)
		   if (irq in fn) for (i = 2; i <= ncpu + 1; i++) total[fn[irq]] += $i }
		 END { for (f in total) print f, total[f] }' | sort
}

# Make every virtio-rng raise an interrupt: select each hwrng and read more
# than the core's and the device's buffers hold, so that the read waits for
# the device. (rng_available is one page, too short to list them all.)
read_every_rng()
{
	local v n=0 i=0

	for v in /sys/bus/virtio/drivers/virtio_rng/virtio*; do
		[ -e "$v" ] && n=$((n + 1))
	done
	while [ "$i" -lt "$n" ]; do
		echo "virtio_rng.$i" >/sys/class/misc/hw_random/rng_current 2>/dev/null &&
			timeout 10 dd if=/dev/hwrng of=/dev/null bs=192 count=1 2>/dev/null
		i=$((i + 1))
	done
}

# check_delivery BEFORE AFTER WHAT: at least $min functions, each of whose
# counts went up between the two msi_counts.
check_delivery()
{
	local res

	res=$(echo "$1" | awk -v after="$2" '
		BEGIN { n = split(after, a, "\n")
			for (i = 1; i <= n; i++) { split(a[i], f, " "); cnt[f[1]] = f[2] } }
		NF == 2 { total++; if ((cnt[$1] + 0) > $2) up++; else if (!bad) bad = $1 }
		END { printf "%d %d %s\n", total, up, bad }')
	# shellcheck disable=SC2086 # two or three words
	set -- "$3" $res
	if [ "$2" -ge "$min" ] && [ "$2" -eq "$3" ]; then
		ktap_result ok "$1: $3 of $2 functions delivered MSIs"
	else
		ktap_result fail "$1: $3 of $2 functions delivered MSIs (at least $min wanted; first silent: ${4:-none})"
	fi
}

# The number of devices the hypervisor records for each ITS, summed.
held_devices()
{
	echo "$1" | sed -n 's/.* devices=\([0-9]*\) .*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

refused_before=$(its_refusals)
fns=$(rng_functions)

before=$(msi_counts)
t0=$(cut -d' ' -f1 /proc/uptime)
read_every_rng
t1=$(cut -d' ' -f1 /proc/uptime)
echo "# read every hwrng in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
check_delivery "$before" "$(msi_counts)" "mapped at boot"

held=$(its_held)
if dmesg | grep -q 'ITS isolation failed'; then
	ktap_result fail "the hypervisor took the ITS over: $(dmesg | grep 'ITS isolation failed')"
elif [ -z "$held" ]; then
	ktap_result ok "# SKIP no pkvm_its_held event (not pKVM, or no CONFIG_NVHE_EL2_TRACING)"
elif [ "$(held_devices "$held")" -ge "$min" ]; then
	ktap_result ok "the hypervisor records them: $(echo "$held" | tr '\n' ' ')"
else
	ktap_result fail "the hypervisor records them: $(echo "$held" | tr '\n' ' ')"
fi

# Every virtio-rng function's driver away, then back: MAPD V=0 for each,
# then V=1 with a new ITT, all after the handover.
echo 0 >/sys/module/rng_core/parameters/default_quality 2>/dev/null
nfn=0 rebound=0
for f in $fns; do
	nfn=$((nfn + 1))
	echo "$f" >"$drv/unbind" 2>/dev/null
done
for f in $fns; do
	echo "$f" >"$drv/bind" 2>/dev/null && rebound=$((rebound + 1))
done
if [ "$rebound" -eq "$nfn" ] && [ "$nfn" -ge "$min" ]; then
	ktap_result ok "$nfn virtio-rng functions unbound and bound again"
else
	ktap_result fail "$nfn virtio-rng functions unbound and bound again: $rebound bound"
fi

before=$(msi_counts)
read_every_rng
check_delivery "$before" "$(msi_counts)" "mapped again after the handover"
check_held "$held" "$(its_held)"
check_no_queue_timeout
check_no_refusal "$refused_before"
exit "$(ktap_status)"
