#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# "make check": every stage in turn, each printing TAP; the last line
# counts every result of every stage: "N passed, N failed".
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/} [--suites LIST]

Stages: series (scripts/check-series.sh: applies, overlay, checkpatch,
per-patch builds, sparse), harness (scripts/test-harness.sh: the checks
catch a broken overlay and a broken patch), host (tools/testing/pkvm-its:
the ITS command validator built for the host, table-driven cases), build (the kvm selftests of
the series, the initramfs), matrix (scripts/run-matrix.sh: the suites in
every QEMU cell on the series kernel), matrix-base (the attack suite on the
unpatched base kernel), attacks (scripts/attack-report.sh: the attack
results against the expectations). A stage that cannot run counts as one
failure. Full output: $CACHE/check.log.
--suites: the suites for the series kernel (default $SUITES); the base
kernel and the attack report run when it includes "attack".
EOT
}

SUITES=pvm,regress,stress,attack
while [ $# -gt 0 ]; do
	case $1 in
	-h|--help) usage; exit 0 ;;
	--suites) SUITES=$2; shift 2 ;;
	*) usage >&2; exit 2 ;;
	esac
done

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

# What only the series kernel prints in protected mode: proves which
# kernel a cell booted.
SERIES_LINE='ITS command queues isolated from the host'

build_all()
{
	# check-series.sh leaves $CHK at the tip of the series.
	if [ "$(git -C "$CHK" rev-parse HEAD)" = "$(git -C "$CHK" rev-parse base)" ]; then
		echo "not ok 1 $CHK holds the base, not the series"
		return 1
	fi
	"$S/build-kernel.sh" "$CHK" "$OUT" >/dev/null &&
	"$S/build-selftests.sh" "$CHK" "$OUT" >/dev/null &&
	echo "ok 1 kvm selftests of the series build" &&
	"$S/mkinitramfs.sh" "$INITRAMFS" "$OUT/kselftest/kvm" &&
	echo "ok 2 initramfs"
}

stage series "$S/check-series.sh"
stage harness "$S/test-harness.sh"
# The ITS command validator, compiled for the host from the same source
# as the hypervisor's, with its table-driven cases (seconds).
host_tests()
{
	local dir=$CHK/tools/testing/pkvm-its out

	if [ ! -f "$dir/Makefile" ]; then
		echo "ok 1 validator host tests # SKIP the series has no tools/testing/pkvm-its"
		return
	fi
	make -s -C "$dir" clean >/dev/null 2>&1 || true
	if ! out=$(make -s -C "$dir" run 2>&1); then
		printf '%s\n' "$out" | grep -E '^(not ok|#|FAIL)' | head -n 40
		echo "not ok 1 validator host tests"
		return
	fi
	printf '%s\n' "$out" | grep -E '^(not ok|# )' | head -n 40
	echo "ok 1 validator host tests: $(printf '%s\n' "$out" | tail -n 1)"
}

stage host host_tests
rm -f "$INITRAMFS"
stage build build_all
if [ -f "$INITRAMFS" ]; then
	stage matrix "$S/run-matrix.sh" --name series --suite "$SUITES" \
		--require "$SERIES_LINE" "$OUT/arch/arm64/boot/Image" "$INITRAMFS"
	case ,$SUITES, in
	*,attack,*)
		# The unpatched base, built by check-series.sh, with the same
		# tests: every attack must land there.
		stage matrix-base "$S/run-matrix.sh" --name base --suite attack \
			"$CACHE/build/base/arch/arm64/boot/Image" "$INITRAMFS"
		stage attacks "$S/attack-report.sh"
		;;
	esac
fi
msg "done in $(stamp)s, full log $LOG"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
