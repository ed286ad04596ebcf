#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kernel in every cell of the QEMU matrix, run suites in it, and
# report one TAP line per test and cell.
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/} [options] IMAGE INITRAMFS

  --name NAME        label of the kernel in the results (default: series)
  --suite LIST       suites to run, comma separated (default: pvm,regress)
  --cells "CELLS"    cells, default "$DEFAULT_CELLS"
                     (gicG-MODE, MODE = hvhe, nvhe or host-nvhe)
  --known FILE       known failures (default tests/known-failures.txt)
  --timeout SECONDS  per boot (default 900)
  --require REGEX    a kernel line every protected cell must print (proves
                     which kernel booted; e.g. the series' isolation line)
  --append ARGS      more kernel command line for every cell
  --tag TAG          a variant of the same kernel: logs NAME-CELL-TAG.log
  --its-off          boot with the ITS disabled in the devicetree (see
                     boot-qemu.sh)
  --its-noncoherent  boot with the ITS marked dma-noncoherent (see
                     boot-qemu.sh)
  --many-devices N   boot with N more PCI functions (see boot-qemu.sh)
  --hotplug-ports N  boot with N PCIe hotplug ports, the QEMU monitor
                     driven from the guest (see boot-qemu.sh)
  --smp N            boot with N CPUs (see boot-qemu.sh)
  --jobs N           cells booted at once (default: $JOBS_DEFAULT, from the
                     number of CPUs; a cell mostly keeps one CPU busy)

Each cell is one boot. A test's failure is accepted only when the known
failures list names it for that cell; a boot that panics (kernel or
hypervisor), hangs, or ends without all results is a failure and its
console tail is shown; except that a cell that hits the one known panic
of the base kernel (tests/known-failures.txt) is booted again, up to twice.
Console logs: $CACHE/logs/NAME-CELL.log.
A summary per cell goes to stderr; TAP to stdout.
EOT
}

DEFAULT_CELLS=$ALL_CELLS
JOBS_DEFAULT=$(nproc)
name=series suite=pvm,regress cells=$DEFAULT_CELLS tmo=900 jobs=$JOBS_DEFAULT require=
append='' tag='' its_dt='' many=''
known=$TOP/tests/known-failures.txt
while [ $# -gt 0 ]; do
	case $1 in
	-h|--help) usage; exit 0 ;;
	--name) name=$2; shift 2 ;;
	--suite) suite=$2; shift 2 ;;
	--cells) cells=$2; shift 2 ;;
	--known) known=$2; shift 2 ;;
	--timeout) tmo=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--require) require=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--tag) tag=-$2; shift 2 ;;
	--its-off|--its-noncoherent) its_dt=$1; shift ;;
	--many-devices) many="$many --many-devices $2"; shift 2 ;;
	--hotplug-ports) many="$many --hotplug-ports $2"; shift 2 ;;
	--smp) many="$many --smp $2"; shift 2 ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || { usage >&2; exit 2; }
image=$1 initrd=$2
logs=$CACHE/logs
mkdir -p "$logs"

n=0 failed=0
tap()	# tap ok|fail description
{
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n $2"
	else
		failed=$((failed + 1))
		echo "not ok $n $2"
	fi
}

# Is test $1 a known failure in cell $2? Prints the reason.
known_failure()
{
	table_lookup "$known" "$1" "$2"
}

boot_cell()	# cell: boot it, console to its log, "rc secs" to log.rc
{
	local cell=$1 gic mode log start rc=0

	gic=${cell%%-*} mode=${cell#*-}
	gic=${gic#gic}
	log=$logs/$name-$cell$tag.log
	start=$(date +%s)
	# shellcheck disable=SC2086 # options or nothing
	"$TOP/scripts/boot-qemu.sh" --gic "$gic" --mode "$mode" --suite "$suite" $its_dt $many \
		--append "$append" --timeout "$tmo" "$image" "$initrd" \
		>"$log" 2>&1 || rc=$?
	tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
	echo "$rc $(($(date +%s) - start))" >"$log.rc"
}

# A known failure of the base kernel that takes the whole boot down (see
# tests/known-failures.txt, "vCPU run without __pkvm_vcpu_load"): the host
# reads the hypervisor's -EINVAL as a pending SError and panics. A cell
# whose console shows exactly that is booted again, up to twice: it hits
# about 1 boot in 20 under load, and came twice in a row once.
RERUN_SIGNATURE='SError Interrupt on CPU[0-9]+, code 0x0+bc000000 -- SError'
is_known_base_panic()	# log
{
	grep -qE "$RERUN_SIGNATURE" "$1" && grep -q 'kvm_handle_guest_serror' "$1"
}

running=0
for cell in $cells; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	msg "booting $name in $cell (suites $suite)"
	rm -f "$logs/$name-$cell$tag.log.rc"
	boot_cell "$cell" &
	running=$((running + 1))
done
wait

reruns=
for cell in $cells; do
	log=$logs/$name-$cell$tag.log
	for try in 1 2; do
		is_known_base_panic "$log" || break
		mv "$log" "$log.$try"
		msg "$name $cell hit the known base panic (log kept in $log.$try): booting it again"
		reruns="$reruns $cell"
		boot_cell "$cell"
	done
done

for cell in $cells; do
	gic=${cell%%-*} mode=${cell#*-}
	gic=${gic#gic}
	log=$logs/$name-$cell$tag.log
	read -r rc secs <"$log.rc" || { rc=1; secs=0; }
	rm -f "$log.rc"
	pkvm=$(sed -n 's/^kvm \[[0-9]*\]: \(.*mode initialized successfully\).*/\1/p' "$log" | head -n 1)
	broken=$(grep -v '^#' "$log" | grep -m1 -E 'Kernel panic|[Hh]yp panic|HYP panic|Internal error:|Unable to handle kernel|BUG:|WARNING: CPU|ITS queue timeout|Call trace:' || true)
	pass=0 fail=0 xfail=0
	while read -r st _ t rest; do
		if [ "$st" = ok ]; then
			tap ok "$name $cell $t${rest:+ $rest}"
			pass=$((pass + 1))
		elif reason=$(known_failure "$t" "$cell"); then
			tap ok "$name $cell $t # known failure: $reason"
			xfail=$((xfail + 1))
		else
			tap fail "$name $cell $t ${rest#not }"
			fail=$((fail + 1))
			awk -v t="# $t" '$0 == t { p = 1; next } /^(not )?ok / { p = 0 } p' "$log" |
				tail -n 15 | sed 's/^/#   /'
		fi
	done < <(sed -nE 's/^(ok|not ok) ([0-9]+) (.*)$/\1 \2 \3/p' "$log" | sed 's/^not ok/not/')
	planned=$(sed -nE 's/^1\.\.([0-9]+)$/\1/p' "$log" | head -n 1)
	if [ -n "$require" ] && [ "$mode" != host-nvhe ] &&
	   ! grep -v '^#' "$log" | grep -qE "$require"; then
		broken="the kernel never printed: $require"
	fi
	if [ -n "$broken" ] || ! grep -q '^pkvm-its: done' "$log" ||
	   [ "${planned:-x}" != $((pass + fail + xfail)) ]; then
		why=${broken:-"no end of run (qemu exit $rc after ${secs}s, planned ${planned:-?}, got $((pass + fail + xfail)))"}
		tap fail "$name $cell boot: $why"
		tail -n 25 "$log" | sed 's/^/#   /'
	else
		tap ok "$name $cell boot completed in ${secs}s"
	fi
	case " $reruns " in
	*" $cell "*)
		echo "# $name $cell: earlier boots hit the known base panic, see $log.1 (and .2)"
		;;
	esac
	printf '%-8s %-10s %-9s %-46s passed %d, known failures %d, failed %d (%ss)\n' \
		"$name" "GICv$gic" "$mode" "${pkvm:-(no pKVM line)}" "$pass" "$xfail" "$fail" "$secs" >&2
done
echo "1..$n"
[ "$failed" -eq 0 ]
