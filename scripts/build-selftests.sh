#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the kvm selftests (static arm64 binaries) out of tree and print the
# output directory.
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/} SRC_TREE OUT_DIR

Installs the UAPI headers into OUT_DIR/usr/include and builds
tools/testing/selftests/kvm of SRC_TREE into OUT_DIR/kselftest/kvm
(about a minute cold). Log: OUT_DIR/selftests.log.
EOT
}

case "${1:-}" in
-h|--help) usage; exit 0 ;;
esac
[ $# -eq 2 ] || { usage >&2; exit 2; }
src=$1 out=$2
need_cross
mkdir -p "$out/kselftest/kvm"
log=$out/selftests.log
msg "building kvm selftests in $out/kselftest/kvm (about a minute cold)"
if ! { make -s -C "$src" O="$out" ARCH=arm64 CROSS_COMPILE="$CROSS_COMPILE" headers &&
       make -s -C "$src/tools/testing/selftests/kvm" ARCH=arm64 \
		CROSS_COMPILE="$CROSS_COMPILE" LDFLAGS=-static -j"$JOBS" \
		OUTPUT="$out/kselftest/kvm" \
		KHDR_INCLUDES="-isystem $out/usr/include"; } >"$log" 2>&1; then
	grep -E 'error' "$log" | tail -n 20 >&2
	die "kvm selftests build failed, see $log"
fi
echo "$out/kselftest/kvm"
