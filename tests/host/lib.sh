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

# ktap_count GOT WANT DESCRIPTION: ok when GOT of WANT things completed.
ktap_count()
{
	if [ "$1" -eq "$2" ]; then
		ktap_result ok "$3"
	else
		ktap_result fail "$3: $1 of $2 completed"
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

hyp_trace=/sys/kernel/tracing/remotes/hypervisor

# The commands the hypervisor has refused so far (its pkvm_its_cmd_refuse
# events, switched on here), or nothing without such an event.
its_refusals()
{
	local ev=$hyp_trace/events/hypervisor/pkvm_its_cmd_refuse

	[ -d "$ev" ] || return 0
	echo 1 >"$ev/enable"
	echo 1 >"$hyp_trace/tracing_on"
	grep -c ' pkvm_its_cmd_refuse ' "$hyp_trace/trace"
}

# check_no_refusal BEFORE: no refusal since its_refusals printed BEFORE.
check_no_refusal()
{
	local refused

	if [ -z "$1" ]; then
		ktap_result ok "# SKIP no hypervisor trace events (not pKVM, or no CONFIG_NVHE_EL2_TRACING)"
		return
	fi
	refused=$(($(its_refusals) - $1))
	if [ "$refused" -eq 0 ]; then
		ktap_result ok "the hypervisor refused none of the driver's commands"
	else
		ktap_result fail "the hypervisor refused $refused of the driver's commands"
		grep ' pkvm_its_cmd_refuse ' "$hyp_trace/trace" | tail -n 3 | sed 's/^/# /'
	fi
}

# What the pKVM ITS proxy holds (its pkvm_its_held event: mapped devices,
# ITT claims, the pages each pins), one line per ITS, or nothing when the
# hypervisor has no such event (not pKVM, no EL2 tracing). The event
# follows each batch of commands: make the driver send one by moving an
# ITS MSI to CPU 1 and back (MOVI, SYNC).
its_held()
{
	local ev=$hyp_trace/events/hypervisor/pkvm_its_held

	[ -d "$ev" ] || return 0
	echo 1 >"$ev/enable"
	echo 1 >"$hyp_trace/tracing_on"
	awk '/ITS-PCI-MSI/ { sub(":", "", $1); print "/proc/irq/" $1 "/smp_affinity" }' \
		/proc/interrupts | while read -r f; do
		echo 2 >"$f" 2>/dev/null && echo 1 >"$f" 2>/dev/null && break
	done
	# Off again, so that it does not fill the trace buffer (the other
	# scripts count their own events in it).
	echo 0 >"$ev/enable"
	grep ' pkvm_its_held ' "$hyp_trace/trace" |
		sed -n 's/.* pkvm_its_held \(its=[0-9]*\) /\1 /p' |
		awk '{ last[$1] = $0 } END { for (i in last) print last[i] }' | sort
}

# check_held BEFORE AFTER: what the proxy holds is back where it was.
check_held()
{
	if [ -z "$1" ]; then
		ktap_result ok "# SKIP no pkvm_its_held event (not pKVM, or no CONFIG_NVHE_EL2_TRACING)"
	elif [ "$1" = "$2" ]; then
		ktap_result ok "the hypervisor holds what it held before: $(echo "$2" | tr '\n' ' ')"
	else
		ktap_result fail "the hypervisor holds what it held before"
		echo "# before: $1" | tr '\n' ' '
		echo
		echo "# after:  $2" | tr '\n' ' '
		echo
	fi
}
