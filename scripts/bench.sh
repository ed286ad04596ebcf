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
usage: ${0##*/} [--rounds N] [--cells "CELLS"] IMAGE INITRAMFS

For every cell (gic3-hvhe gic3-nvhe gic4-hvhe gic4-nvhe by default), boots
IMAGE N times (default 5) in protected mode and N times with
kvm-arm.mode=nvhe, alternating, runs tests/host/its-affinity-bench.sh
(50,000 MSI affinity changes; each makes the driver queue ITS commands)
and prints the median changes per second of both, their ratio, and what
the protection cost in the last protected round, from its debugfs counters:
hypervisor traps and ITS commands per GITS_CWRITER write during the run,
refused commands, memory held for the ITS (bytes), host MMIO recycles. Under QEMU TCG the same kernel varies by about 15% from run
to run: compare medians, not single runs.
EOT
}

rounds=5 cells="gic3-hvhe gic3-nvhe gic4-hvhe gic4-nvhe"
while [ $# -gt 0 ]; do
	case $1 in
	-h|--help) usage; exit 0 ;;
	--rounds) rounds=$2; shift 2 ;;
	--cells) cells=$2; shift 2 ;;
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

printf '%-10s %14s %14s %7s  %s\n' cell "protected/s" "nvhe/s" ratio "protection cost (last protected round)"
for cell in $cells; do
	gic=${cell%%-*} mode=${cell#*-}
	gic=${gic#gic}
	: >"$logs/$cell.prot" ; : >"$logs/$cell.nvhe"
	for r in $(seq 1 "$rounds"); do
		for m in "$mode" host-nvhe; do
			log=$logs/$cell-$m-$r.log
			msg "$cell round $r/$rounds: $m"
			"$TOP/scripts/boot-qemu.sh" --gic "$gic" --mode "$m" --suite bench \
				--timeout 600 "$image" "$initrd" 2>&1 | tr -d '\r' >"$log" || true
			v=$(sed -n 's/.*BENCH affinity_changes_per_s=\([0-9]*\).*/\1/p' "$log" | tail -n 1)
			[ -n "$v" ] || msg "no result in $log"
			if [ "$m" = host-nvhe ]; then
				echo "${v:-}" >>"$logs/$cell.nvhe"
			else
				echo "${v:-}" >>"$logs/$cell.prot"
				counters=$(sed -n 's/.*BENCH its_cost: //p' "$log" | tail -n 1)
			fi
		done
	done
	p=$(grep -v '^$' "$logs/$cell.prot" | median)
	n=$(grep -v '^$' "$logs/$cell.nvhe" | median)
	ratio=$(awk -v p="$p" -v n="$n" 'BEGIN { if (p == "-" || n == "-" || n == 0) print "-"; else printf "%.2f", p / n }')
	printf '%-10s %14s %14s %7s  %s\n' "$cell" "$p" "$n" "$ratio" "${counters:-none exposed by this kernel}"
done
