#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark form of its-affinity-stress.sh: fewer changes, and one
# "BENCH" line with the rate, plus the ITS protection's own counters when
# the kernel exposes them in debugfs.
PKVMITS_BENCH=1 "$(dirname "$0")/its-affinity-stress.sh" "${1:-50000}"
rc=$?
f=/sys/kernel/debug/pkvm_its_stats
[ ! -f "$f" ] || sed "s|^|BENCH pkvm_its_stats: |" "$f"
exit $rc
