# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
#
# Sourced by the host-side test scripts: numbered KTAP results, and the
# checks every one of them ends with (the driver never timed out on the ITS
# queue, MSIs still arrive). A script ends with "exit $(ktap_status)".

ktap_n=0
ktap_failed=0

ktap_result()	# ok|fail description
{
	ktap_n=$((ktap_n + 1))
	if [ "$1" = ok ]; then
		echo "ok $ktap_n $2"
	else
		ktap_failed=$((ktap_failed + 1))
		echo "not ok $ktap_n $2"
	fi
}

ktap_status()
{
	[ "$ktap_failed" -eq 0 ] && echo 0 || echo 1
}

# Every MSI that went through the ITS so far, all CPUs.
msi_total()
{
	awk '/ITS-PCI-MSI/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i }
	     END { print s + 0 }' /proc/interrupts
}

check_no_queue_timeout()
{
	if dmesg | grep -q 'ITS queue timeout'; then
		ktap_result fail "no ITS queue timeout"
		dmesg | grep 'ITS' | tail -n 5 | sed 's/^/# /'
	else
		ktap_result ok "no ITS queue timeout"
	fi
}

# virtio-rng answers a read, and its completions raise MSIs through the ITS.
check_msis_arrive()
{
	local before after

	before=$(msi_total)
	timeout 20 head -c 256 /dev/hwrng >/dev/null 2>&1
	after=$(msi_total)
	if [ "$after" -gt "$before" ]; then
		ktap_result ok "virtio-rng answers, MSIs delivered ($before -> $after)"
	else
		ktap_result fail "virtio-rng answers, MSIs delivered ($before -> $after)"
	fi
}
