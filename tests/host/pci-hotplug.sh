#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# PCIe hotplug after the handover (scripts/boot-qemu.sh --hotplug-ports):
# the QEMU monitor plugs a virtio-serial-pci with a 192-entry MSI-X table
# into each of the first half of the empty root ports, then unplugs them
# all; then, one port after the other, plugs one into each of the others
# and unplugs it again, a device_add/device_del loop (QEMU 7.2 raises no
# hotplug interrupt for a second plug into the same port, so each round
# takes a fresh one). The driver gives each
# an ITT of 3 KiB (16-byte entries under QEMU) from its pool, which then
# claims a page for the ITS each time; the hypervisor keeps records for as
# many small ITTs as a claimed page can hold, so before the claims call
# for more than its table has room for, the host hands it a larger one.
# Check that every plug and unplug completed, that the table grew (in a
# boot with few devices: 16 ITTs claimed fit its first table, 80 do not),
# that the devices it records and the ITT pages they pin are back where
# they were (the driver's pool keeps the pages it claimed), that it refused
# none of the driver's commands, and that MSIs still arrive.
#
# usage: pci-hotplug.sh [PORTS]   (default: every hotplug port, hp0 ...)
# Prints KTAP.

. "$(dirname "$0")/lib.sh"

echo "KTAP version 1"
echo "1..8"

# Hotplug slots of the root ports boot-qemu.sh adds (chassis 100 and up).
nports=0
for s in /sys/bus/pci/slots/*; do
	[ -e "$s" ] && nports=$((nports + 1))
done
n=${1:-$nports}
if [ "$n" -eq 0 ]; then
	for i in 1 2 3 4 5 6 7 8; do
		echo "ok $i # SKIP no PCIe hotplug slot (boot-qemu.sh --hotplug-ports)"
	done
	exit 4
fi

# Hotplug port K (00:1f.K) holds a function bound to its driver, with MSI
# vectors.
plugged()
{
	local d

	for d in /sys/bus/pci/devices/0000:00:1f."$1"/0000:*; do
		[ -d "$d/msi_irqs" ] && return 0
	done
	return 1
}

# Ask the host for a monitor command (boot-qemu.sh runs it). Kernel
# messages may cut into the line, which the host then ignores: ask again
# until it happened, for up to 30 s (pciehp alone waits 5 s).
# monitor_until yes|no K COMMAND
monitor_until()
{
	local want=$1 port=$2 t=0

	shift 2
	while [ "$t" -lt 300 ]; do
		[ $((t % 100)) -eq 0 ] && echo "PKVMITS-MONITOR: $*;" >/dev/console
		if plugged "$port"; then
			[ "$want" = yes ] && return 0
		else
			[ "$want" = no ] && return 0
		fi
		sleep 0.1
		t=$((t + 1))
	done
	return 1
}

slots()
{
	echo "$1" | sed -n 's/.* slots=\([0-9]*\) .*/\1/p' | head -n 1
}

refused_before=$(its_refusals)
held_before=$(its_held)

# The first half at once (at least one port), the rest in the loop.
nall=$(((n + 1) / 2))
plug()
{
	monitor_until yes "$1" "device_add virtio-serial-pci,id=hpdev$1,bus=hp$1,vectors=192"
}

nplug=0
i=0
while [ "$i" -lt "$nall" ]; do
	plug "$i" || break
	nplug=$((nplug + 1))
	i=$((i + 1))
done
held_plugged=$(its_held)
ktap_count "$nplug" "$nall" "$nall virtio-serial functions plugged after the handover, with MSIs"

nunplug=0
i=0
while [ "$i" -lt "$nplug" ]; do
	monitor_until no "$i" "device_del hpdev$i" && nunplug=$((nunplug + 1))
	i=$((i + 1))
done
ktap_count "$nunplug" "$nplug" "$nplug unplugged"

nloop=0
i=$nall
while [ "$i" -lt "$n" ]; do
	plug "$i" && monitor_until no "$i" "device_del hpdev$i" && nloop=$((nloop + 1))
	i=$((i + 1))
done
ktap_count "$nloop" $((n - nall)) "$((n - nall)) rounds of plug (with MSIs) and unplug, one port each"

if [ -z "$held_before" ]; then
	ktap_result ok "# SKIP no pkvm_its_held event (not pKVM, or no CONFIG_NVHE_EL2_TRACING)"
elif [ "$(slots "$held_plugged")" -gt "$(slots "$held_before")" ]; then
	ktap_result ok "the device records grew: $(slots "$held_before") -> $(slots "$held_plugged") slots"
else
	ktap_result fail "the device records grew: $(slots "$held_before") -> $(slots "$held_plugged") slots"
fi
echo "# with the devices plugged: $held_plugged"
# The pool keeps the pages it claimed: only the devices and their pins
# must be back where they were.
held_after=$(its_held)
echo "# after the unplug: $held_after"
check_held "$(echo "$held_before" | sed 's/ slots=.*//')" "$(echo "$held_after" | sed 's/ slots=.*//')"
check_no_queue_timeout
check_no_refusal "$refused_before"
check_msis_arrive
exit "$(ktap_status)"
