#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark form of its-affinity-stress.sh: fewer changes, one "BENCH"
# line with the rate. When the hypervisor's trace events are there
# (CONFIG_NVHE_EL2_TRACING), a second, short and untimed run is traced, and
# one "BENCH its_cost:" line says what it cost: the pkvm_its_batch events
# (one per GITS_CWRITER write; the run fits the default trace buffer) give
# the hypervisor traps and commands per write and the refused commands; the
# memory the protection holds comes from the kernel log of the handover.
hyp=/sys/kernel/tracing/remotes/hypervisor
ev=$hyp/events/hypervisor/pkvm_its_batch

PKVMITS_BENCH=1 "$(dirname "$0")/its-affinity-stress.sh" "${1:-50000}"
rc=$?
[ -d "$ev" ] || exit $rc

echo 1 >"$ev/enable"
echo >"$hyp/trace"
echo 1 >"$hyp/tracing_on"
"$(dirname "$0")/its-affinity-stress.sh" "${2:-300}" >/dev/null
echo 0 >"$hyp/tracing_on"
echo 0 >"$ev/enable"

mem=$(dmesg | sed -n 's/.*ITS command queues isolated from the host: .*, \([0-9]*\) KiB.*/\1/p')
awk -v mem="${mem:-0}" '
	/ pkvm_its_batch / {
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "its" && kv[2] != 0)
				next
			v[kv[1]] += kv[2]
		}
		w++
	}
	END {
		printf "BENCH its_cost: cwriter_writes=%d traps_per_cwriter=%.2f", w,
		       w ? v["traps"] / w : 0
		printf " commands_per_cwriter=%.2f refused=%d memory_bytes=%d\n",
		       w ? v["cmds"] / w : 0, v["refused"], mem * 1024
	}' "$hyp/trace"
exit $rc
