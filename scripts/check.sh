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
the ITS command validator built for the host, table-driven cases), fuzz
(scripts/fuzz.sh --regress: the fuzzer's corpus replayed against its
page-ownership oracle), build
(the kvm selftests of the series, the initramfs), matrix
(scripts/run-matrix.sh: the suites in every QEMU cell on the series
kernel), matrix-base (the attack suite on the unpatched base kernel),
attacks (scripts/attack-report.sh: the attack results against the
expectations), matrix-noncoherent (the series with the ITS marked
dma-noncoherent: the hypervisor's cache maintenance, counted; and PCIe
hotplug from the QEMU monitor after the handover),
matrix-many (two cells with 320 more PCI functions, each a DeviceID of
its own, all with MSIs), nvhe-same
(the regression suite with kvm-arm.mode=nvhe on the base and the series
kernel: same results). A stage that cannot run
counts as one failure. Full output: $CACHE/check.log.
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
times=
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
	stage_start=$(stamp)
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
	times="$times $name $(($(stamp) - stage_start))s,"
}

# What only the series kernel prints in protected mode: proves which
# kernel a cell booted.
SERIES_LINE='ITS command queues isolated from the host'
# What the series prints when an ITS the firmware describes was not handed over.
SERIES_FAILED_LINE='ITS isolation failed'

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

# kvm-arm.mode=nvhe, not protected: the series must change nothing. The
# regression suite runs on the base and on the series kernel, both booted
# at once, and every test must give the same result on both. The attack
# tests run there too: without protected VMs they must skip, on both.
NVHE_CELL=gic4-host-nvhe

# Did every case of kselftest_harness test $2 skip, in console log $1?
all_cases_skip()	# log test
{
	awk -v t="# $2" '$0 == t { p = 1; next } /^(not )?ok [0-9]+ / { p = 0 } p' "$1" |
		grep -E '^# (not )?ok [0-9]+ ' >"$CACHE/nvhe-same/cases" || return 1
	! grep -qv '# SKIP' "$CACHE/nvhe-same/cases"
}

nvhe_same()
{
	local d=$CACHE/nvhe-same k t n=0 bad=0 rb rs why

	mkdir -p "$d"
	"$S/run-matrix.sh" --name base --cells "$NVHE_CELL" --suite regress,attack --jobs 1 \
		"$CACHE/build/base/arch/arm64/boot/Image" "$INITRAMFS" >"$d/base.tap" 2>&1 &
	"$S/run-matrix.sh" --name series --cells "$NVHE_CELL" --suite regress,attack --jobs 1 \
		"$OUT/arch/arm64/boot/Image" "$INITRAMFS" >"$d/series.tap" 2>&1 || true
	wait || true
	for k in base series; do
		# The console's own results: "ok", "ok # SKIP", "not ok".
		sed -nE 's/^(ok|not ok) [0-9]+ ([^ ]+)( # SKIP)?.*$/\2 \1\3/p' \
			"$CACHE/logs/$k-$NVHE_CELL.log" >"$d/$k.results"
		if ! grep -q '^pkvm-its: done' "$CACHE/logs/$k-$NVHE_CELL.log"; then
			echo "not ok $((n += 1)) nvhe $k kernel: the run did not complete"
			grep -E '^not ok|boot:' "$d/$k.tap" | sed 's/^/#   /' | head -n 10
			bad=1
		fi
	done
	while read -r t; do
		rb=$(sed -n "s|^$t ||p" "$d/base.results")
		rs=$(sed -n "s|^$t ||p" "$d/series.results")
		if grep -q "^$t " "$TOP/tests/suites/attack.list"; then
			if all_cases_skip "$CACHE/logs/series-$NVHE_CELL.log" "$t"; then
				echo "ok $((n += 1)) nvhe $NVHE_CELL $t: all $(wc -l <"$d/cases") cases skip on the series"
			else
				echo "not ok $((n += 1)) nvhe $NVHE_CELL $t: not every case skips on the series"
			fi
		elif [ -n "$rb" ] && [ "$rb" = "$rs" ]; then
			echo "ok $((n += 1)) nvhe $NVHE_CELL $t: $rb on base and series"
		elif [ "$rb" = "not ok" ] || [ "$rs" = "not ok" ] &&
		     why=$(table_lookup "$TOP/tests/known-failures.txt" "$t" "$NVHE_CELL"); then
			echo "ok $((n += 1)) nvhe $NVHE_CELL $t: base ${rb:-missing}, series ${rs:-missing} # known flaky: $why"
		else
			echo "not ok $((n += 1)) nvhe $NVHE_CELL $t: base ${rb:-missing}, series ${rs:-missing}"
		fi
	done < <(cut -d' ' -f1 "$d/base.results" "$d/series.results" | sort -u)
	echo "1..$n"
	[ "$bad" -eq 0 ]
}

# The known failures of the base kernel's attack runs: tests/known-failures.txt
# plus every attack binary, in every cell (pkvmits.attack= selects one case
# per binary, the others then run none and pass).
attack_base_known()
{
	local t

	cat "$TOP/tests/known-failures.txt"
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TOP/tests/suites/attack.list" |
	while read -r t _; do
		echo "$t * attacks land on the base: judged attack by attack in the attacks stage"
	done
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
# The checked-in fuzzer corpus, replayed against the ownership oracle.
if [ -f "$CHK/tools/testing/pkvm-its/fuzz/Makefile" ]; then
	stage fuzz "$S/fuzz.sh" --regress "$CHK"
fi
rm -f "$INITRAMFS"
stage build build_all
if [ -f "$INITRAMFS" ]; then
	stage matrix "$S/run-matrix.sh" --name series --suite "$SUITES" \
		--require "$SERIES_LINE" "$OUT/arch/arm64/boot/Image" "$INITRAMFS"
	case ,$SUITES, in
	*,attack,*)
		# The unpatched base, built by check-series.sh, with the same
		# tests: every attack must land there, so the attack binaries
		# fail there (a test fails when its attack lands). Their
		# failures are known: scripts/attack-report.sh judges them
		# attack by attack, and fails an attack blocked on the base.
		BASE_KNOWN=$CACHE/attack-base-known.txt
		attack_base_known >"$BASE_KNOWN"
		stage matrix-base "$S/run-matrix.sh" --name base --suite attack \
			--known "$BASE_KNOWN" \
			"$CACHE/build/base/arch/arm64/boot/Image" "$INITRAMFS"
		# late_rdist needs a redistributor whose CPU was offline at
		# handover: one more boot per cell, with CPU1 left out.
		stage matrix-maxcpus1 "$S/run-matrix.sh" --name series --suite attack \
			--tag maxcpus1 --append "maxcpus=1 pkvmits.attack=late_rdist" \
			--require "$SERIES_LINE" "$OUT/arch/arm64/boot/Image" "$INITRAMFS"
		stage matrix-base-maxcpus1 "$S/run-matrix.sh" --name base --suite attack \
			--tag maxcpus1 --append "maxcpus=1 pkvmits.attack=late_rdist" \
			--known "$BASE_KNOWN" \
			"$CACHE/build/base/arch/arm64/boot/Image" "$INITRAMFS"
		# its_not_probed needs an ITS the kernel does not know about:
		# one more boot per cell, with the ITS disabled in the devicetree.
		stage matrix-itsoff "$S/run-matrix.sh" --name series --suite attack \
			--tag itsoff --its-off --append "pkvmits.attack=its_not_probed" \
			--require "$SERIES_FAILED_LINE" "$OUT/arch/arm64/boot/Image" "$INITRAMFS"
		stage matrix-base-itsoff "$S/run-matrix.sh" --name base --suite attack \
			--tag itsoff --its-off --append "pkvmits.attack=its_not_probed" \
			--known "$BASE_KNOWN" \
			"$CACHE/build/base/arch/arm64/boot/Image" "$INITRAMFS"
		stage attacks "$S/attack-report.sh"
		;;
	esac
	# An ITS that does not snoop CPU caches (QEMU's does): the ITS node
	# marked dma-noncoherent, so that the driver and the hypervisor clean
	# what the ITS reads. One cell per GIC version and hypervisor mode.
	stage matrix-noncoherent "$S/run-matrix.sh" --name series --suite pvm,noncoherent \
		--tag noncoherent --its-noncoherent --hotplug-ports 8 --cells "gic3-hvhe gic4-nvhe" \
		--require "$SERIES_LINE" "$OUT/arch/arm64/boot/Image" "$INITRAMFS"
	# Hundreds of PCI functions with MSIs, each with a DeviceID of its
	# own: more devices than the hypervisor once had records for.
	stage matrix-many "$S/run-matrix.sh" --name series --suite pvm,many \
		--tag many --many-devices 320 --cells "gic3-hvhe gic4-nvhe" \
		--require "$SERIES_LINE" "$OUT/arch/arm64/boot/Image" "$INITRAMFS"
	# A machine with 300 redistributors in two regions (QEMU's virt with
	# 300 CPUs, of which the kernel brings up 2): more than the hypervisor
	# once had room for. The handover must take them all, and the attacks
	# on redistributors stay blocked. (Protected VMs run there, but
	# re-creating them outlasts the test's timeout, on the base as well:
	# under TCG every broadcast TLB invalidation waits on all 300 vCPUs.)
	stage matrix-rdists "$S/run-matrix.sh" --name series --suite rdists \
		--tag rdists --smp 300 --append nr_cpus=2 --cells gic4-nvhe \
		--require "$SERIES_LINE.* for 300 redistributors" "$OUT/arch/arm64/boot/Image" \
		"$INITRAMFS"
	stage nvhe-same nvhe_same
fi
echo "# stage times:${times%,}"
msg "done in $(stamp)s, full log $LOG"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
