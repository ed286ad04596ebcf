#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Make the test initramfs: busybox, tests/init.sh as /init, the suites'
# lists and the test binaries they name.
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/} OUT.cpio.gz KVM_SELFTESTS_DIR

KVM_SELFTESTS_DIR is a built tools/testing/selftests/kvm (static binaries).
Every test named in tests/suites/*.list is copied to /tests/<name>, from
KVM_SELFTESTS_DIR, or from tests/host/ of this repository for names that
start with host/; a listed test that is missing is an error. The C
programs in tests/host/ are built there (static, \${CROSS_COMPILE}gcc)
for the scripts that run them. The kernel command line picks the suites
at boot: pkvmits.suite=NAME[,NAME...] or pkvmits.suite=shell.
EOT
}

case "${1:-}" in
-h|--help) usage; exit 0 ;;
esac
[ $# -eq 2 ] || { usage >&2; exit 2; }
out=$1 kvm=$2
bb=$("$TOP/scripts/fetch-busybox.sh")

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tests" "$root/suites"
cp "$bb" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 755 "$TOP/tests/init.sh" "$root/init"
cp "$TOP"/tests/suites/*.list "$root/suites/"

sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TOP"/tests/suites/*.list |
awk '{ print $1 }' | sort -u | while read -r t; do
	case $t in
	host/*) from=$TOP/tests/$t ;;	# scripts of this repository
	*) from=$kvm/$t ;;		# kvm selftests
	esac
	[ -x "$from" ] || die "test $t is listed but $from does not exist or was not built"
	install -D -m 755 "$from" "$root/tests/$t"
done
# What the host-side scripts source, and the programs they run.
install -D -m 644 "$TOP/tests/host/lib.sh" "$root/tests/host/lib.sh"
need_cross
for c in "$TOP"/tests/host/*.c; do
	[ -f "$c" ] || continue
	p=$(basename "$c" .c)
	"${CROSS_COMPILE}gcc" -O2 -Wall -static -o "$root/tests/host/$p" "$c" ||
		die "cannot build $c"
done

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
	gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
msg "initramfs $out ($(du -h "$out" | cut -f1))"
