#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The cache maintenance of the ITS proxy. An ITS that does not snoop reads
# its command queue and tables from the point of coherency, so the
# hypervisor cleans what it writes there (queue slots, level-1 table
# entries, level-2 table pages) and counts it in its pkvm_its_batch trace
# events. QEMU's ITS snoops; booted with "dma-noncoherent" on the ITS node
# (scripts/boot-qemu.sh --its-noncoherent), the driver programs the queue
# and tables non-shareable and the hypervisor takes the non-coherent path.
# Runs 300 MSI affinity changes with the events on, and checks the count
# against what the driver chose: cleaning when it flushes its own queue
# ("ITS: using cache flushing for cmd queue"), none otherwise; then that
# MSIs still arrive.
#
# usage: its-cleaning.sh [CHANGES]   (default 300)
# Prints KTAP.

. "$(dirname "$0")/lib.sh"

n=${1:-300}
hyp=$hyp_trace
ev=$hyp/events/hypervisor/pkvm_its_batch
echo "KTAP version 1"
echo "1..3"

if [ ! -d "$ev" ]; then
	for i in 1 2 3; do
		echo "ok $i # SKIP no pkvm_its_batch event (not pKVM, or no CONFIG_NVHE_EL2_TRACING)"
	done
	exit 4
fi

# The events so far (the trace cannot be cleared): only later ones count.
skip=$(grep -c ' pkvm_its_batch ' "$hyp/trace")
echo 1 >"$ev/enable"
echo 1 >"$hyp/tracing_on"
"$(dirname "$0")/its-affinity-stress.sh" "$n" >/dev/null
echo 0 >"$ev/enable"

# "writes cmds cleaned", summed over the new events
sums=$(grep ' pkvm_its_batch ' "$hyp/trace" | tail -n +$((skip + 1)) | awk '{
	for (i = 1; i <= NF; i++) {
		split($i, kv, "=")
		if (kv[1] == "cleaned" || kv[1] == "cmds")
			v[kv[1]] += kv[2]
	}
	w++
} END { printf "%d %d %d\n", w, v["cmds"], v["cleaned"] }')
read -r writes cmds cleaned <<EOT
$sums
EOT
echo "# $writes GITS_CWRITER writes, $cmds commands, $cleaned ranges cleaned to the PoC"

if [ "$writes" -gt 0 ]; then
	ktap_result ok "the affinity changes went through the hypervisor"
else
	ktap_result fail "the affinity changes went through the hypervisor: no pkvm_its_batch event"
fi

if dmesg | grep -q 'ITS: using cache flushing for cmd queue'; then
	# At least the queue slot of every forwarded command.
	if [ "$cleaned" -ge "$cmds" ] && [ "$cmds" -gt 0 ]; then
		ktap_result ok "non-coherent ITS: the hypervisor cleaned $cleaned ranges for $cmds commands"
	else
		ktap_result fail "non-coherent ITS: the hypervisor cleaned $cleaned ranges for $cmds commands"
	fi
elif [ "$cleaned" -eq 0 ]; then
	ktap_result ok "coherent ITS: the hypervisor cleaned nothing"
else
	ktap_result fail "coherent ITS: the hypervisor cleaned $cleaned ranges"
fi
check_msis_arrive
exit "$(ktap_status)"
