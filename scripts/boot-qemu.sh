#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot one cell of the test matrix in QEMU (TCG) and copy the console to
# stdout. Exits with QEMU's status, 124 on timeout.
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/} [options] IMAGE INITRAMFS

  --gic 3|4          GIC version of the virt machine (default 3)
  --mode MODE        hvhe (default), nvhe: kvm-arm.mode=protected with
                     hVHE or nVHE; host-nvhe: kvm-arm.mode=nvhe (not
                     protected, for comparison)
  --suite LIST       pkvmits.suite= for /init (default shell)
  --timeout SECONDS  hard limit for the whole boot (default 600)
  --append ARGS      more kernel command line
  --smp N            CPUs (default 2)
  --its-off          boot with a devicetree whose ITS node says
                     status = "disabled": an ITS the kernel does not probe
                     (the machine's own devicetree, dumped and edited)
  --its-noncoherent  the same, with "dma-noncoherent" on the ITS node: the
                     driver treats the ITS as not snooping CPU caches
  --many-devices N   N more virtio-rng-pci functions (a multiple of 8), 8
                     behind each of N/8 PCIe root ports: each has a
                     DeviceID of its own (no bridge merges requester IDs).
                     QEMU 7.2 aborts past about 400 virtio functions.
  --hotplug-ports N  N empty PCIe root ports with hotplug (hp0, hp1, ...),
                     and the QEMU monitor driven from the guest: a console
                     line "PKVMITS-MONITOR: device_add ARGS;" or
                     "PKVMITS-MONITOR: device_del ID;" is run there (no
                     other command, and only when the line ends with the
                     ";"). QEMU 7.2 raises no hotplug interrupt
                     for a plug into a port whose device was unplugged.

The machine: -machine virt,virtualization=true -cpu max, 1 GiB, a
virtio-rng-pci and a virtio-serial-pci device (both MSI-X, through the ITS).
EOT
}

gic=3 mode=hvhe suite=shell tmo=600 append="" smp=2 its_dt='' many=0 hp=0
while [ $# -gt 0 ]; do
	case $1 in
	-h|--help) usage; exit 0 ;;
	--gic) gic=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--suite) suite=$2; shift 2 ;;
	--timeout) tmo=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--its-off) its_dt=off; shift ;;
	--its-noncoherent) its_dt=noncoherent; shift ;;
	--many-devices) many=$2; shift 2 ;;
	--hotplug-ports) hp=$2; shift 2 ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || { usage >&2; exit 2; }
image=$1 initrd=$2
[ -f "$image" ] || die "no kernel image $image"
[ -f "$initrd" ] || die "no initramfs $initrd"
command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 not found: run 'make deps'"

case $gic in
3|4) ;;
*) die "--gic must be 3 or 4" ;;
esac
case $many in
*[!0-9]*|'') die "--many-devices needs a number" ;;
esac
[ $((many % 8)) -eq 0 ] || die "--many-devices must be a multiple of 8"
case $hp in
*[!0-9]*|'') die "--hotplug-ports needs a number" ;;
esac
[ "$hp" -le 8 ] || die "--hotplug-ports: at most 8"
case $mode in
hvhe) kvm="kvm-arm.mode=protected" ;;
nvhe) kvm="kvm-arm.mode=protected arm64_sw.hvhe=0 id_aa64mmfr1.vh=0" ;;
host-nvhe) kvm="kvm-arm.mode=nvhe arm64_sw.hvhe=0 id_aa64mmfr1.vh=0" ;;
*) die "--mode must be hvhe, nvhe or host-nvhe" ;;
esac

cmdline="console=ttyAMA0 rdinit=/init panic=-1 $kvm pkvmits.suite=$suite pkvmits.cell=gic$gic-$mode $append"
set -- -machine "virt,virtualization=true,gic-version=$gic" -cpu max \
	-smp "$smp" -m 1024 -nographic -no-reboot \
	-device virtio-rng-pci -device virtio-serial-pci
# Root ports from slot 4 on (the default NIC, the rng and the serial take
# slots 1 to 3), 8 functions of one slot each; legacy-free devices and no
# hotplug, so that no port asks for an I/O window: 64 KiB is not enough.
p=0
while [ $((p * 8)) -lt "$many" ]; do
	set -- "$@" -device "pcie-root-port,id=rp$p,bus=pcie.0,multifunction=on,chassis=$((p + 1)),port=$((p + 1)),hotplug=off,addr=$(printf %x $((4 + p / 8))).$((p % 8))"
	for f in 0 1 2 3 4 5 6 7; do
		set -- "$@" -device "virtio-rng-pci,bus=rp$p,addr=0.$f,multifunction=on,disable-legacy=on"
	done
	p=$((p + 1))
done
# Hotplug ports in slot 0x1f, one function each.
p=0
while [ "$p" -lt "$hp" ]; do
	set -- "$@" -device "pcie-root-port,id=hp$p,bus=pcie.0,multifunction=on,chassis=$((100 + p)),port=$((100 + p)),addr=1f.$p"
	p=$((p + 1))
done
if [ -n "$its_dt" ]; then
	command -v fdtput >/dev/null || die "fdtput not found: run 'make deps'"
	# Cells boot side by side: each edits its own copy, then renames it.
	dtb=$CACHE/dtb/virt-gic$gic-smp$smp-its-$its_dt.dtb
	tmp=$dtb.$$
	mkdir -p "${dtb%/*}"
	qemu-system-aarch64 "$@" -machine "dumpdtb=$tmp" >/dev/null 2>&1 ||
		die "could not dump the machine's devicetree"
	# The virt machine puts its ITS nodes under the GIC node.
	its=
	for intc in $(fdtget -l "$tmp" / | grep '^intc@'); do
		for n in $(fdtget -l "$tmp" "/$intc"); do
			case $n in its@*) its="$its /$intc/$n" ;; esac
		done
	done
	[ -n "$its" ] || die "no ITS node in the machine's devicetree"
	for n in $its; do
		case $its_dt in
		off) fdtput -t s "$tmp" "$n" status disabled ;;
		# An empty property: the driver's "ITS: non-coherent attribute" quirk.
		noncoherent) fdtput "$tmp" "$n" dma-noncoherent ;;
		esac
	done
	mv -f "$tmp" "$dtb"
	set -- "$@" -dtb "$dtb"
fi
set -- "$@" -kernel "$image" -initrd "$initrd" -append "$cmdline"
if [ "$suite" = shell ] && [ -t 0 ]; then
	exec qemu-system-aarch64 "$@"
fi
[ "$hp" -gt 0 ] || exec timeout --foreground -k 5 "$tmo" qemu-system-aarch64 "$@" </dev/null

# Copy the console through, and run the monitor commands the guest asks
# for on it. QEMU opens the pipe's two FIFOs read-write: nothing blocks.
relay()
{
	local line cmd

	exec 3>"$1.in"
	cat "$1.out" >/dev/null &
	while IFS= read -r line; do
		printf '%s\n' "$line"
		line=${line%$'\r'}
		cmd=${line#*PKVMITS-MONITOR: }
		# Kernel messages can cut into the line: take it only whole.
		case $cmd in
		"$line"|*[!\;]) continue ;;
		esac
		cmd=${cmd%%;*}
		case $cmd in
		device_add\ *|device_del\ *) printf '%s\n' "$cmd" >&3 ;;
		esac
	done
}

mon=$(mktemp -d)
trap 'rm -rf "$mon"' EXIT
mkfifo "$mon/m.in" "$mon/m.out"
set -- "$@" -monitor "pipe:$mon/m"
set +e
timeout --foreground -k 5 "$tmo" qemu-system-aarch64 "$@" </dev/null | relay "$mon/m"
exit "${PIPESTATUS[0]}"
