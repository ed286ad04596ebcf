#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The ITS across a system suspend and resume. The driver's syscore
# callbacks disable the ITS and wait for it to be quiescent
# (its_save_disable()), then program GITS_CBASER, GITS_CWRITER and
# GITS_BASERn again and enable it (its_restore_enable()); under pKVM the
# hypervisor emulates each access and resets its queue only when the ITS
# is quiescent and has run every command. QEMU's PSCI has no
# SYSTEM_SUSPEND, so the suspend is hibernation in its "core" test mode:
# devices frozen (virtio frees its MSIs: MAPD V=0), CPU 1 offline, the
# syscore suspend and resume, then everything back (MAPD V=1), without an
# image being written. Then check that every cycle succeeded and reached
# the syscore step, that the driver never timed out on the queue (a
# command lost in the reset), that the hypervisor refused nothing and
# holds what it held before (when its trace events are there), and that
# MSIs still arrive.
#
# usage: its-suspend.sh [CYCLES]   (default 3)
# Prints KTAP.

. "$(dirname "$0")/lib.sh"

n=${1:-3}
echo "KTAP version 1"
echo "1..6"

if [ ! -w /sys/power/pm_test ] || ! grep -qw disk /sys/power/state; then
	for i in 1 2 3 4 5 6; do
		echo "ok $i # SKIP no hibernation test mode (CONFIG_HIBERNATION, CONFIG_PM_DEBUG)"
	done
	exit 4
fi

refused_before=$(its_refusals)
held_before=$(its_held)
seen=$(dmesg | wc -l)
echo core >/sys/power/pm_test
echo 0 >/sys/module/hibernate/parameters/pm_test_delay 2>/dev/null
ok=0
i=0
while [ "$i" -lt "$n" ]; do
	echo disk >/sys/power/state && ok=$((ok + 1))
	i=$((i + 1))
done
echo none >/sys/power/pm_test
if [ "$ok" -eq "$n" ]; then
	ktap_result ok "$n suspend/resume cycles"
else
	ktap_result fail "$n suspend/resume cycles: $ok succeeded"
fi

# Printed once the syscore suspend is done, just before the resume.
core=$(dmesg | tail -n +$((seen + 1)) | grep -c 'hibernation debug: Waiting')
if [ "$core" -eq "$n" ]; then
	ktap_result ok "each cycle reached the syscore suspend and resume"
else
	ktap_result fail "each cycle reached the syscore suspend and resume: $core of $n"
	dmesg | tail -n +$((seen + 1)) | grep -iE 'hibernat|ITS|PM:' | tail -n 5 | sed 's/^/# /'
fi
check_no_queue_timeout
check_no_refusal "$refused_before"
check_held "$held_before" "$(its_held)"
check_msis_arrive
exit "$(ktap_status)"
