#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# /init of the test initramfs: run the suites named on the kernel command
# line (pkvmits.suite=a,b; "shell" for an interactive shell), print KTAP on
# the console, power off.

/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
# Hypervisor trace events (remotes/hypervisor): attack tests, bench
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t tmpfs tmpfs /tmp
ulimit -l unlimited

arg()
{
	tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -n 1
}

suites=$(arg pkvmits.suite)
cell=$(arg pkvmits.cell)
timeout_default=$(arg pkvmits.timeout)
: "${timeout_default:=120}"

if [ -z "$suites" ] || [ "$suites" = shell ]; then
	echo "pkvm-its: interactive shell; 'poweroff -f' to leave"
	setsid cttyhack sh
	poweroff -f
fi

# Gather "path [timeout [cells]]" lines of every named suite; a line with
# a cell pattern (a shell pattern such as gic3-*) runs only in the cells
# it matches (pkvmits.cell=, set by scripts/boot-qemu.sh).
: >/tmp/plan
: >/tmp/elsewhere
for s in $(echo "$suites" | tr ',' ' '); do
	if [ ! -f "/suites/$s.list" ]; then
		echo "pkvm-its: no suite $s"
		continue
	fi
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "/suites/$s.list" |
	while read -r t tmo only; do
		# shellcheck disable=SC2254 # $only is a pattern
		case ${cell:-none} in
		${only:-*}) echo "$t $tmo" >>/tmp/plan ;;
		*) echo "# $t: runs in the $only cells only" >>/tmp/elsewhere ;;
		esac
	done
done

echo "KTAP version 1"
cat /tmp/elsewhere
echo "1..$(wc -l </tmp/plan)"
n=0
while read -r t tmo; do
	n=$((n + 1))
	bin=/tests/$t
	echo "# $t"
	t0=$(cut -d. -f1 /proc/uptime)
	( timeout "${tmo:-$timeout_default}" "$bin" 2>&1; echo $? >/tmp/rc ) </dev/null |
		sed 's/^/# /'
	rc=$(cat /tmp/rc)
	echo "# time: $(($(cut -d. -f1 /proc/uptime) - t0))s"
	case $rc in
	0) echo "ok $n $t" ;;
	4) echo "ok $n $t # SKIP" ;;
	124|143) echo "not ok $n $t # TIMEOUT after ${tmo:-$timeout_default}s" ;;
	*) echo "not ok $n $t # exit=$rc" ;;
	esac
done </tmp/plan
echo "pkvm-its: done"
poweroff -f
