#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make bench: one entry into EL2 and back, timed (tests/host/trap-cost.c)
# on the first ITS of the devicetree. Prints one "BENCH trap_cost:" line.
c=$(find /sys/firmware/devicetree/base/ -name compatible -exec grep -l 'arm,gic-v3-its' {} \; 2>/dev/null |
	head -n 1)
if [ -z "$c" ]; then
	echo "BENCH trap_cost: no ITS in the devicetree"
	exit 1
fi
node=${c%/compatible}
exec "$(dirname "$0")/trap-cost" "0x${node##*@}" "${1:-100000}"
