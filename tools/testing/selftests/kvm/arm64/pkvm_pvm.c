// SPDX-License-Identifier: GPL-2.0-only
/*
 * pkvm_pvm - Smoke test for pKVM protected VMs (pVMs), i.e. VMs created with
 * KVM_VM_TYPE_ARM_PROTECTED on a host booted with kvm-arm.mode=protected.
 *
 * Scenario 1 - guest code and ucalls:
 *   The guest fills a private page with a pattern and reports it back with
 *   GUEST_SYNC, checks it with GUEST_ASSERT, raises one deliberately failing
 *   GUEST_ASSERT whose message the host must receive intact, and finishes
 *   with GUEST_DONE. The host checks every value it gets.
 *
 * Scenario 2 - private and shared memory:
 *   The guest writes a canary to a page it keeps private and a value to a
 *   page it shares back with ARM_SMCCC_KVM_FUNC_MEM_SHARE. Reading the
 *   private page must give the VMM a SIGSEGV (the test fails if the host
 *   can read it at all), while the shared page must read back the guest's
 *   value. The guest then checks that its canary survived the attempt, and
 *   updates the shared page, which the host must see too.
 *
 * Scenario 3 - destroy and re-create:
 *   Protected VMs are created, run guest code and are destroyed, 20 times
 *   in a row, which exercises the hypervisor's VM table and the reclaim of
 *   the memory that each pVM took from the host.
 *
 * The test is skipped when KVM cannot create protected VMs, i.e. when the
 * host is not in protected mode.
 */
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall.h"

#define NR_RECREATE		20

#define PATTERN(seed, i)	(0x9a77e2000000000ULL ^ ((u64)(seed) << 32) ^ (i))
#define CANARY			0xc0ffee0ddba11ULL
#define SHARED_VAL		0x5ea5ea5ea5ea5eaULL

#define STAGE_PATTERN		1
#define STAGE_SHARED		2

#define ASSERT_MSG		"expected failure"

static void guest_pattern(u64 *buf, u64 nr, u64 seed)
{
	u64 i, sum = 0;

	for (i = 0; i < nr; i++) {
		WRITE_ONCE(buf[i], PATTERN(seed, i));
		sum += PATTERN(seed, i);
	}

	GUEST_SYNC_ARGS(STAGE_PATTERN, nr, buf[0], buf[nr - 1], sum);

	for (i = 0; i < nr; i++)
		GUEST_ASSERT_EQ(READ_ONCE(buf[i]), PATTERN(seed, i));

	/* Must reach the host as UCALL_ABORT, after which the guest goes on. */
	__GUEST_ASSERT(buf[0] != PATTERN(seed, 0), ASSERT_MSG " 0x%lx", buf[0]);

	GUEST_DONE();
}

static void guest_private_shared(u64 *priv, u64 *shared, u64 size)
{
	u64 i;

	for (i = 0; i < size / sizeof(u64); i++) {
		WRITE_ONCE(priv[i], CANARY);
		WRITE_ONCE(shared[i], SHARED_VAL);
	}

	GUEST_ASSERT_EQ(pkvm_share_mem((gva_t)shared, size), 0);
	GUEST_SYNC(STAGE_SHARED);

	for (i = 0; i < size / sizeof(u64); i++)
		GUEST_ASSERT_EQ(READ_ONCE(priv[i]), CANARY);

	WRITE_ONCE(shared[0], ~SHARED_VAL);
	GUEST_DONE();
}

/* Run the vCPU to its next ucall, failing on anything but @cmd. */
static void run_to_ucall(struct kvm_vcpu *vcpu, struct ucall *uc, u64 cmd)
{
	vcpu_run(vcpu);

	switch (get_ucall(vcpu, uc)) {
	case UCALL_ABORT:
		if (cmd == UCALL_ABORT)
			return;
		REPORT_GUEST_ASSERT(*uc);
		break;
	default:
		TEST_ASSERT(uc->cmd == cmd, "Expected ucall %lu, got %lu (exit reason %s)",
			    cmd, uc->cmd, exit_reason_str(vcpu->run->exit_reason));
	}
}

/*
 * Allocate a page that is also a whole protection granule, physically
 * aligned, so that sharing it with the host shares nothing else.
 */
static gva_t alloc_granule(struct kvm_vm *vm, size_t granule, bool shared)
{
	gva_t gva;
	gpa_t gpa;

	if (shared)
		gva = vm_alloc_shared(vm, 2 * granule, KVM_UTIL_MIN_VADDR,
				      MEM_REGION_TEST_DATA);
	else
		gva = vm_alloc(vm, 2 * granule, KVM_UTIL_MIN_VADDR);

	gpa = addr_gva2gpa(vm, gva);
	return gva + align_up(gpa, granule) - gpa;
}

static void run_pattern_vm(u64 seed)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	char expected[UCALL_BUFFER_LEN];
	struct ucall uc;
	u64 i, nr, sum = 0;
	gva_t buf;

	vm = vm_create_shape_with_one_vcpu(VM_SHAPE_PROTECTED, &vcpu, guest_pattern);
	TEST_ASSERT(vm_arch_has_protected_memory(vm), "Not a protected VM");

	buf = vm_alloc(vm, vm->page_size, KVM_UTIL_MIN_VADDR);
	nr = vm->page_size / sizeof(u64);
	vcpu_args_set(vcpu, 3, buf, nr, seed);

	run_to_ucall(vcpu, &uc, UCALL_SYNC);
	for (i = 0; i < nr; i++)
		sum += PATTERN(seed, i);
	TEST_ASSERT(uc.args[1] == STAGE_PATTERN && uc.args[2] == nr &&
		    uc.args[3] == PATTERN(seed, 0) &&
		    uc.args[4] == PATTERN(seed, nr - 1) && uc.args[5] == sum,
		    "Bad sync: stage %lu nr %lu first 0x%lx last 0x%lx sum 0x%lx",
		    uc.args[1], uc.args[2], uc.args[3], uc.args[4], uc.args[5]);

	run_to_ucall(vcpu, &uc, UCALL_ABORT);
	snprintf(expected, sizeof(expected), ASSERT_MSG " 0x%llx", PATTERN(seed, 0));
	TEST_ASSERT(!strcmp(uc.buffer, expected) && uc.args[GUEST_LINE],
		    "Bad guest assert at line %lu: '%s', expected '%s'",
		    uc.args[GUEST_LINE], uc.buffer, expected);

	run_to_ucall(vcpu, &uc, UCALL_DONE);

	kvm_vm_free(vm);
}

static void test_ucalls(void)
{
	run_pattern_vm(0);
	ksft_test_result_pass("guest code and ucalls\n");
}

static sigjmp_buf host_read_env;
static void *host_fault_addr;

static void host_read_sigsegv(int sig, siginfo_t *info, void *ctx)
{
	host_fault_addr = info->si_addr;
	siglongjmp(host_read_env, 1);
}

/* Read *@hva from the host, returning false if that raised a SIGSEGV. */
static bool host_read(u64 *hva, u64 *val)
{
	struct sigaction sa = {
		.sa_sigaction = host_read_sigsegv,
		.sa_flags = SA_SIGINFO,
	};
	struct sigaction old;

	host_fault_addr = NULL;
	TEST_ASSERT(!sigaction(SIGSEGV, &sa, &old), "sigaction() failed");

	if (sigsetjmp(host_read_env, 1)) {
		TEST_ASSERT(!sigaction(SIGSEGV, &old, NULL), "sigaction() failed");
		TEST_ASSERT(host_fault_addr == hva, "SIGSEGV at %p, expected %p",
			    host_fault_addr, hva);
		return false;
	}

	*val = READ_ONCE(*hva);
	TEST_ASSERT(!sigaction(SIGSEGV, &old, NULL), "sigaction() failed");

	return true;
}

static void test_private_memory(void)
{
	struct kvm_vcpu *vcpu;
	u64 *priv_hva, *shared_hva;
	gva_t priv, shared;
	struct kvm_vm *vm;
	struct ucall uc;
	size_t granule;
	bool readable;
	u64 val;

	vm = vm_create_shape_with_one_vcpu(VM_SHAPE_PROTECTED, &vcpu, guest_private_shared);
	granule = max_t(size_t, getpagesize(), vm->page_size);

	priv = alloc_granule(vm, granule, false);
	shared = alloc_granule(vm, granule, true);
	TEST_ASSERT(vm_is_gpa_protected(vm, addr_gva2gpa(vm, priv)) &&
		    !vm_is_gpa_protected(vm, addr_gva2gpa(vm, shared)),
		    "Unexpected protected state of the test pages");

	/*
	 * Translate now: once the guest runs, its page tables are private to it
	 * and the host can no longer walk them.
	 */
	priv_hva = addr_gva2hva(vm, priv);
	shared_hva = addr_gva2hva(vm, shared);
	vcpu_args_set(vcpu, 3, priv, shared, granule);

	run_to_ucall(vcpu, &uc, UCALL_SYNC);
	TEST_ASSERT(uc.args[1] == STAGE_SHARED, "Bad stage %lu", uc.args[1]);

	TEST_ASSERT(host_read(shared_hva, &val),
		    "Host cannot read the page the guest shared");
	TEST_ASSERT(val == SHARED_VAL, "Host read 0x%lx from the shared page, expected 0x%llx",
		    val, SHARED_VAL);

	readable = host_read(priv_hva, &val);
	if (readable) {
		ksft_print_msg("Host read 0x%lx from a private page of the guest%s\n",
			       val, val == CANARY ? ", its canary" : "");
	} else {
		/* The guest must still see its canary, and the VMM still works. */
		run_to_ucall(vcpu, &uc, UCALL_DONE);
		TEST_ASSERT(READ_ONCE(*shared_hva) == ~SHARED_VAL,
			    "Host read 0x%lx from the shared page, expected 0x%llx",
			    READ_ONCE(*shared_hva), ~SHARED_VAL);
	}

	kvm_vm_free(vm);
	ksft_test_result(!readable, "private and shared memory\n");
}

static void test_recreate(void)
{
	int i;

	for (i = 0; i < NR_RECREATE; i++)
		run_pattern_vm(i + 1);

	ksft_test_result_pass("destroy and re-create %d pVMs\n", NR_RECREATE);
}

int main(void)
{
	ksft_print_header();
	__TEST_REQUIRE(kvm_supports_protected_vms(),
		       "KVM cannot create protected VMs (needs kvm-arm.mode=protected)");
	ksft_set_plan(3);

	test_ucalls();
	test_private_memory();
	test_recreate();

	ksft_finished();
}
