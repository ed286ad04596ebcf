#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "make check": every stage in turn, each printing TAP; the last line
# counts every result of every stage: "N passed, N failed".
set -eu
. "$(dirname "$0")/lib.sh"

case "${1:-}" in
-h|--help)
	cat <<EOT
usage: ${0##*/}

Stages: series (scripts/check-series.sh: applies, overlay, checkpatch,
per-patch builds, sparse), harness (scripts/test-harness.sh: the checks
catch a broken overlay and a broken patch), build (the series kernel, the
kvm selftests, the initramfs), matrix (scripts/run-matrix.sh: the
protected-VM and regression suites in every QEMU cell). A stage that
cannot run counts as one failure. Full output: $CACHE/check.log.
EOT
	exit 0 ;;
"") ;;
*) exit 2 ;;
esac

mkdir -p "$CACHE"
LOG=$CACHE/check.log
: >"$LOG"
passed=0 failed=0
S=$TOP/scripts
# check-series.sh leaves the series, as applied from patches/, in
# $CACHE/check and its kernel in $CACHE/build/check: test exactly that.
CHK=$CACHE/check
OUT=$CACHE/build/check
INITRAMFS=$CACHE/initramfs.cpio.gz
STAMP0=$(date +%s)

# stage NAME command...: run it, show its TAP (progress lines of the
# scripts go to stderr), add its results up.
stage()
{
	local name=$1 out=$CACHE/check-$1.tap rc p f

	shift
	msg "stage $name (at $(stamp)s)"
	echo "# stage: $name"
	set +e
	"$@" 2>&1 | tee "$out" | while IFS= read -r line; do
		case $line in
		*.sh:\ *) printf '%s\n' "$line" >&2 ;;
		*) printf '%s\n' "$line" ;;
		esac
	done
	rc=${PIPESTATUS[0]}
	set -e
	cat "$out" >>"$LOG"
	p=$(grep -cE '^ok [0-9]+' "$out" || true)
	f=$(grep -cE '^not ok [0-9]+' "$out" || true)
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name: exited with status $rc"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

build_all()
{
	"$S/build-kernel.sh" "$CHK" "$OUT" >/dev/null &&
	"$S/build-selftests.sh" "$CHK" "$OUT" >/dev/null &&
	echo "ok 1 kvm selftests of the series build" &&
	"$S/mkinitramfs.sh" "$INITRAMFS" "$OUT/kselftest/kvm" &&
	echo "ok 2 initramfs"
}

stage series "$S/check-series.sh"
stage harness "$S/test-harness.sh"
rm -f "$INITRAMFS"
stage build build_all
if [ -f "$INITRAMFS" ]; then
	stage matrix "$S/run-matrix.sh" --name series --suite pvm,regress \
		"$OUT/arch/arm64/boot/Image" "$INITRAMFS"
fi
msg "done in $(stamp)s, full log $LOG"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
