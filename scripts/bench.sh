#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: ITS command throughput of the series kernel, protected
# against kvm-arm.mode=nvhe, in every cell. Reports; never asserts.
set -eu
. "$(dirname "$0")/lib.sh"

usage()
{
	cat <<EOT
usage: ${0##*/} [--rounds N] [--cells "CELLS"] [--base BASE_IMAGE] IMAGE INITRAMFS

For every cell (gic3-hvhe gic3-nvhe gic4-hvhe gic4-nvhe by default), boots,
alternating, N times each (default 5): BASE_IMAGE, the kernel without the
series, in protected mode (pKVM alone: the floor of the protection's cost;
default \$CACHE/build/base, skipped when missing), IMAGE in protected mode,
IMAGE with kvm-arm.mode=nvhe and BASE_IMAGE with kvm-arm.mode=nvhe. Each
boot runs
tests/host/its-affinity-bench.sh (50,000 MSI affinity changes; each makes
the driver queue ITS commands) and tests/host/msi-rate-bench.sh (MSIs per
second from a virtio-rng device: the MSI path, GITS_TRANSLATER, which the
protection does not trap) and tests/host/trap-cost-bench.sh (a GITS_TYPER
read in a loop: straight to the ITS on the base, one entry into EL2 and
back with the series; a null system call timed alongside). Prints the
median changes per second of the first three, the ratios series/base
(what the protection itself costs), series/nvhe and base/nvhe (what
pKVM alone costs: the base, protected against nvhe), then every round of
each, the median MSI rates of the base and the series in protected mode
and their ratio, and what the protection cost in the last protected
round, from a short traced run (the hypervisor's pkvm_its_batch trace events):
hypervisor traps and ITS commands per GITS_CWRITER write, refused
commands, and the memory held for the ITS (bytes, from the kernel log).
Then the floor: what one entry into EL2 costs (series read minus base
read, medians), and the series/base ratio that one entry per affinity
change allows at the base's median rate, whatever the hypervisor does;
and how the two kernels compare without the protection, both with
kvm-arm.mode=nvhe: series/base there is what the kernels differ by
apart from the protection (code layout under TCG among it), and
series/base in protected mode divided by it is the protection's cost
at run time. Under QEMU TCG the same kernel varies by
about 15% from run to run: compare medians, not single runs.
EOT
}

rounds=5 cells=$ALL_CELLS
base=$CACHE/build/base/arch/arm64/boot/Image
while [ $# -gt 0 ]; do
	case $1 in
	-h|--help) usage; exit 0 ;;
	--rounds) rounds=$2; shift 2 ;;
	--cells) cells=$2; shift 2 ;;
	--base) base=$2; shift 2 ;;
	-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || { usage >&2; exit 2; }
image=$1 initrd=$2
logs=$CACHE/logs/bench
mkdir -p "$logs"

median()
{
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# The results of one kind in a cell, one line a round (empty when missing).
record()	# kind value
{
	echo "${2:-}" >>"$logs/$cell.$1"
}
med()		# kind: their median
{
	grep -v '^$' "$logs/$cell.$1" | median
}
per_round()	# kind: every round, on one line
{
	grep -v '^$' "$logs/$cell.$1" | tr '\n' ' '
}

[ -f "$base" ] || { msg "no base kernel at $base: base column skipped"; base=; }

ratio()	# a b: a / b, or "-"
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'
}

printf '%-10s %9s %11s %9s %12s %12s %10s %11s %13s %9s  %s\n' cell "base/s" "protected/s" \
	"nvhe/s" "series/base" "series/nvhe" "base/nvhe" "base MSI/s" "series MSI/s" "MSI ratio" \
	"protection cost (last protected round)"
for cell in $cells; do
	gic=${cell%%-*} mode=${cell#*-}
	gic=${gic#gic}
	for k in base prot nvhe base-nvhe base-msi prot-msi base-trap prot-trap base-sys prot-sys; do
		: >"$logs/$cell.$k"
	done
	for r in $(seq 1 "$rounds"); do
		for m in base "$mode" host-nvhe base-nvhe; do
			img=$image bm=$m
			case $m in
			base|base-nvhe)
				[ -n "$base" ] || continue
				img=$base bm=$mode
				[ "$m" = base ] || bm=host-nvhe
				;;
			esac
			log=$logs/$cell-$m-$r.log
			msg "$cell round $r/$rounds: $m"
			"$TOP/scripts/boot-qemu.sh" --gic "$gic" --mode "$bm" --suite bench \
				--timeout 600 "$img" "$initrd" 2>&1 | tr -d '\r' >"$log" || true
			v=$(sed -n 's/.*BENCH affinity_changes_per_s=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
			[ -n "$v" ] || msg "no result in $log"
			i=$(sed -n 's/.*BENCH msi_per_s=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
			tr=$(sed -n 's/.*BENCH trap_cost: its_read_ns=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
			sc=$(sed -n 's/.*BENCH trap_cost: .*syscall_ns=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
			case $m in
			base)
				record base "$v"
				record base-msi "$i"
				record base-trap "$tr"
				record base-sys "$sc"
				;;
			host-nvhe) record nvhe "$v" ;;
			base-nvhe) record base-nvhe "$v" ;;
			*)
				record prot "$v"
				record prot-msi "$i"
				record prot-trap "$tr"
				record prot-sys "$sc"
				counters=$(sed -n 's/.*BENCH its_cost: //p' "$log" | tail -n 1)
				;;
			esac
		done
	done
	b=$(med base)
	p=$(med prot)
	n=$(med nvhe)
	bn=$(med base-nvhe)
	bi=$(med base-msi)
	pi=$(med prot-msi)
	printf '%-10s %9s %11s %9s %12s %12s %10s %11s %13s %9s  %s\n' "$cell" "$b" "$p" "$n" \
		"$(ratio "$p" "$b")" "$(ratio "$p" "$n")" "$(ratio "$b" "$bn")" "$bi" "$pi" \
		"$(ratio "$pi" "$bi")" \
		"${counters:-none exposed by this kernel}"
	# The noise to judge the ratios by: every round.
	echo "  $cell changes/s per round: base $(per_round base)" \
		"series $(per_round prot)" \
		"nvhe $(per_round nvhe)" \
		"base nvhe $(per_round base-nvhe)"
	# The kernels apart from the protection, and the protection alone.
	echo "  $cell both kernels with kvm-arm.mode=nvhe: base $bn/s, series $n/s," \
		"series/base $(ratio "$n" "$bn"); series/base in protected mode divided by" \
		"that (the protection at run time): $(ratio "$(ratio "$p" "$b")" "$(ratio "$n" "$bn")")"
	echo "  $cell MSI/s per round: base $(per_round base-msi)" \
		"series $(per_round prot-msi)"
	# The floor: one entry into EL2 per change, at the base's rate.
	bt=$(med base-trap)
	pt=$(med prot-trap)
	bs=$(med base-sys)
	ps=$(med prot-sys)
	awk -v c="$cell" -v b="$b" -v bt="$bt" -v pt="$pt" -v bs="$bs" -v ps="$ps" 'BEGIN {
		if (b == "-" || bt == "-" || pt == "-" || b == 0) {
			printf "  %s EL2 entry: not measured\n", c
			exit
		}
		e = pt - bt
		printf "  %s EL2 entry: GITS_TYPER read %d ns on the base, %d ns with the series", c, bt, pt
		printf " (null syscall %s and %s ns): one entry costs %d ns;", bs, ps, e
		printf " one per change allows series/base <= %.2f at the base rate\n", 1 / (1 + e * b / 1e9)
	}'
done
