#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark form of its-affinity-stress.sh: fewer changes, one "BENCH"
# line with the rate and, when the kernel exposes the ITS protection's
# counters in debugfs, one "BENCH its_cost:" line with what the run cost
# the first ITS: hypervisor traps and commands per GITS_CWRITER write
# (counted over the run only), refused commands, the memory the
# protection holds, and how often the host's MMIO mappings were recycled.
f=/sys/kernel/debug/pkvm_its_stats

snapshot()
{
	[ -f "$f" ] && head -n 1 "$f"
}

before=$(snapshot)
PKVMITS_BENCH=1 "$(dirname "$0")/its-affinity-stress.sh" "${1:-50000}"
rc=$?
after=$(snapshot)
[ -z "$after" ] || printf '%s\n%s\n' "$before" "$after" | awk '
	{ for (i = 2; i < NF; i += 2) v[NR, $i] = $(i + 1) }
	function d(k) { return v[2, k] - v[1, k] }
	END {
		w = d("cwriter_writes")
		printf "BENCH its_cost: cwriter_writes=%d traps_per_cwriter=%.2f", w,
		       w ? d("traps") / w : 0
		printf " commands_per_cwriter=%.2f refused=%d memory_bytes=%d", w ? d("commands") / w : 0,
		       d("refused"), v[2, "memory"]
		printf " host_mmio_recycles=%d\n", v[2, "host_mmio_recycles"]
	}'
exit $rc
