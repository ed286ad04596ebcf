// SPDX-License-Identifier: GPL-2.0-only
/*
 * pkvm_its_rdist - A compromised host attacks protected VMs through the
 * redistributors, the GIC's registers and the ITS hand-over.
 *
 * A redistributor writes memory by physical address too: it sets the
 * pending bits of LPIs in the table that GICR_PENDBASER names (and of vLPIs
 * in the one GICR_VPENDBASER names, with GICv4.0), and reads GICR_PROPBASER's
 * configuration table. A host that programs these registers, for a
 * redistributor the hypervisor took or one it never took (a CPU that was
 * offline at hand-over), makes the GIC write into a protected VM (pVM). So
 * does a host that gets a frame the hypervisor took mapped back (MMIO
 * recycling), that uses registers in ways the hypervisor's emulation does not
 * expect, or that finds an ITS the kernel never probed. A root user in such a
 * host reaches the GIC through /dev/mem, and finds the physical address of
 * the pVM's pages in /proc/self/pagemap.
 *
 * Each test is one such attack against a fresh victim pVM that fills its
 * pages with a canary and checks it once the attack is over. A test passes
 * when the attack is blocked: the canary is intact, the victim still runs,
 * and the system still works (an MSI of a virtio device is delivered, the
 * ITS driver's commands complete, another pVM runs). It fails when the
 * attack lands, including when the GIC takes an access that the hypervisor
 * must refuse (an "unchecked:" line). It is skipped, with the reason, when
 * KVM cannot create protected VMs, /dev/mem does not reach the GIC, or this
 * GIC (or this boot) cannot express the attack: late_rdist needs a boot with
 * maxcpus=1, its_not_probed a boot with the ITS disabled in the devicetree.
 * A "test error:" diagnostic marks a failure of the test itself.
 *
 * Cases that keep the system usable on a kernel without protection come
 * first, the ones that may not come last.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/bitfield.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "gic.h"
#include "pkvm_its_host.h"
#include "pkvm_its_test.h"
#include "test_util.h"
#include "ucall.h"
#include "vgic.h"

/* The reserved words of the ITS control frame that malformed_regs writes */
#define ITS_RESERVED_END	0x400

/*
 * Attack: vlpi_vpendbaser_in_pvm
 *
 * GICv4.0 only. Each redistributor has a VLPI_base frame (RD_base + 128 KiB):
 * GICR_VPENDBASER names the virtual pending table of the vPE resident on that
 * CPU, GICR_VPROPBASER the vLPI configuration table. In protected mode KVM
 * does not use GICv4, and the frame stays the host's. The host points
 * GICR_VPROPBASER at a page of its own with every vLPI enabled at the highest
 * priority, and GICR_VPENDBASER, Valid, at a page of the pVM that starts a
 * 64 KiB block: the canary there reads as pending vLPIs. Then it runs the vCPU
 * of an ordinary VM on that CPU, whose guest reads ICV_IAR1_EL1: the CPU
 * interface acknowledges the highest pending vLPI, and the redistributor
 * clears its bit, in the guest's page. The guest first makes an SGI pending,
 * so that KVM enables the virtual CPU interface (ICH_HCR_EL2.En).
 *
 * The hypervisor must own the VLPI_base frame of every redistributor, like
 * GICR_PROPBASER and GICR_PENDBASER, and refuse host writes to it.
 */
#define VLPI_ID_BITS		14	/* vINTIDs 8192..16383: bytes 1024..2047 */
#define VLPI_SGI		1
#define VLPI_MAX_ACKS		16
#define VLPI_PROP		(LPI_PROP_GROUP1 | LPI_PROP_ENABLED)	/* priority 0 */

static void vlpi_guest(void)
{
	u32 intid = IAR_SPURIOUS, first = 0, acked = 0, i;

	gic_init(GIC_V3, 1);
	gic_irq_enable(VLPI_SGI);
	/* A trapped write: KVM then puts the SGI in a list register. */
	gic_irq_set_pending(VLPI_SGI);

	for (i = 0; i < VLPI_MAX_ACKS; i++) {
		intid = gic_get_and_ack_irq();
		if (intid == IAR_SPURIOUS)
			break;
		gic_set_eoi(intid);
		if (intid < GIC_LPI_BASE)
			break;
		if (!acked++)
			first = intid;
	}

	GUEST_SYNC_ARGS(0, acked, first, intid, 0);
	GUEST_DONE();
}

/* A host page for the vLPI configuration, followed by another if possible */
static u64 vlpi_prop_table(struct attack_ctx *c)
{
	int i, j;

	for (i = 1; i < NR_HOST_PAGES; i++) {
		for (j = 1; j < NR_HOST_PAGES; j++) {
			if (c->host_pa[j] != c->host_pa[i] + getpagesize())
				continue;
			memset(c->host + i * getpagesize(), VLPI_PROP, getpagesize());
			memset(c->host + j * getpagesize(), VLPI_PROP, getpagesize());
			return c->host_pa[i];
		}
	}
	ksft_print_msg("no two adjacent host pages: vINTIDs 12288 and up get random settings\n");
	memset(c->host + getpagesize(), VLPI_PROP, getpagesize());
	return c->host_pa[1];
}

PKVM_ITS_ATTACK_TEST(vlpi_vpendbaser_in_pvm, LAYOUT_ALL, 7)
{
	u64 vprop_saved, vpend_saved, prop;
	cpu_set_t set, saved;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	int i, p, cpu;
	void *vlpi;

	if (host_gic.version < 4 || !host_gic.rd[0] ||
	    !(rd64(host_gic.rd[0], GICR_TYPER) & GICR_TYPER_VLPIS)) {
		attack_set(c, ATTACK_NA, "GICv%d: no VLPI_base frame (GICR_TYPER.VLPIS=0)",
			   host_gic.version);
		return;
	}
	if (host_gic.v41) {
		attack_set(c, ATTACK_NA, "GICv4.1: GICR_VPENDBASER names a vPE, not a table");
		return;
	}

	for (p = 0; p < NR_TARGET; p++)
		if (page_in(c->v.touch[0], p) && !(c->v.pa[p] & (SZ_64K - 1)))
			break;
	if (p == NR_TARGET) {
		attack_set(c, ATTACK_NA, "no guest page at a 64 KiB boundary");
		return;
	}

	/* The last CPU this process can run on */
	TEST_ASSERT(!sched_getaffinity(0, sizeof(saved), &saved), "sched_getaffinity()");
	for (cpu = host_gic.nr_rd - 1; cpu >= 0; cpu--) {
		CPU_ZERO(&set);
		CPU_SET(host_gic.rd_cpu[cpu], &set);
		if (!sched_setaffinity(0, sizeof(set), &set))
			break;
	}
	if (cpu < 0) {
		attack_set(c, ATTACK_ERROR, "cannot run on the CPU of any redistributor");
		return;
	}

	vlpi = host_gic.rd[cpu] + GICR_VLPI_BASE_OFFSET;
	vprop_saved = rd64(vlpi, GICR_VPROPBASER);
	vpend_saved = rd64(vlpi, GICR_VPENDBASER);
	if (vpend_saved & GICR_VPENDBASER_Valid) {
		attack_set(c, ATTACK_NA, "a vPE is resident on CPU %u", host_gic.rd_cpu[cpu]);
		goto out;
	}

	prop = vlpi_prop_table(c);
	wr64(vlpi, GICR_VPROPBASER, prop | (VLPI_ID_BITS - 1));
	wr64(vlpi, GICR_VPENDBASER, GICR_VPENDBASER_ADDRESS(c->v.pa[p]) | GICR_VPENDBASER_Valid);
	ksft_print_msg("CPU %u: GICR_VPROPBASER 0x%lx, GICR_VPENDBASER 0x%lx (guest page %d)\n",
		       host_gic.rd_cpu[cpu], rd64(vlpi, GICR_VPROPBASER),
		       rd64(vlpi, GICR_VPENDBASER), p);

	vm = vm_create_with_one_vcpu(&vcpu, vlpi_guest);
	vgic_v3_setup(vm, 1, 64);
	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		ksft_print_msg("a VM on CPU %u acknowledged %lu vLPIs: first %lu, last INTID %lu\n",
			       host_gic.rd_cpu[cpu], uc.args[2], uc.args[3], uc.args[4]);
		break;
	case UCALL_ABORT:
		ksft_print_msg("vLPI guest: assert at line %lu: %s\n", uc.args[GUEST_LINE],
			       uc.buffer);
		break;
	default:
		ksft_print_msg("vLPI guest: unexpected exit %s\n",
			       exit_reason_str(vcpu->run->exit_reason));
	}
	kvm_vm_free(vm);

	/* Valid back to 0: the redistributor lets go of the guest's page. */
	wr64(vlpi, GICR_VPENDBASER, vpend_saved);
	wr64(vlpi, GICR_VPROPBASER, vprop_saved);
	for (i = 0; i < NR_HOST_PAGES; i++)
		memset(c->host + i * getpagesize(), 0, getpagesize());
out:
	sched_setaffinity(0, sizeof(saved), &saved);
}

/*
 * Attack: pendbaser_in_pvm
 *
 * The host points GICR_PENDBASER of a redistributor, which QEMU accepts while
 * LPIs are enabled, at the 64 KiB block holding a page of the pVM, maps an
 * event to an LPI of a collection on that redistributor and fires it (INT):
 * the redistributor sets the LPI's pending bit, in the guest's page.
 * GICR_PROPBASER is only read by the GIC, so pointing it at the guest leaks
 * (LPI configuration bits) but does not corrupt; it is not tried here.
 *
 * The hypervisor must own GICR_PROPBASER and GICR_PENDBASER of every
 * redistributor (and GICR_VPROPBASER/GICR_VPENDBASER on GICv4), with tables
 * it allocated or checked and pinned.
 */
PKVM_ITS_ATTACK_TEST(pendbaser_in_pvm, LAYOUT_ALL, 8)
{
	void *rd = host_gic.rd[0];
	u64 table, orig, val;
	struct its_cmd_block cmd[3];
	u32 intid, limit;
	int p;

	if (!rd) {
		attack_set(c, ATTACK_NA, "no redistributor found");
		return;
	}
	limit = min_t(u32, host_gic.lpi_limit,
		      BIT(FIELD_GET(GICR_PROPBASER_IDBITS_MASK, rd64(rd, GICR_PROPBASER)) + 1));
	p = pick_pending_page(c, limit, &table, &intid);
	if (p < 0) {
		attack_set(c, ATTACK_NA, "no guest page in the first 8 KiB of a 64 KiB block");
		return;
	}

	its_cmd_mapc(&cmd[0], host_gic.my_icid, host_gic.rd0_target, true);
	its_cmd_mapd(&cmd[1], c->devid, c->host_pa[0], 0, true);
	its_cmd_mapti(&cmd[2], c->devid, 0, intid, host_gic.my_icid);
	if (its_send(c, cmd, 3))
		return;

	orig = rd64(rd, GICR_PENDBASER);
	val = (orig & ~(GICR_PENDBASER_PHYS_ADDR | GICR_PENDBASER_PTZ)) | table;
	c->pendbaser_saved = orig;
	c->pendbaser_rd = rd;
	wr64(rd, GICR_PENDBASER, val);
	ksft_print_msg("GICR_PENDBASER 0x%lx -> 0x%lx (read back 0x%lx)\n", orig, val,
		       rd64(rd, GICR_PENDBASER));
	ksft_print_msg("LPI %u -> byte 0x%lx in guest page %d\n", intid, table + intid / 8, p);

	its_cmd_event(&cmd[0], GITS_CMD_INT, c->devid, 0);
	its_send(c, cmd, 1);

	wr64(rd, GICR_PENDBASER, orig);
	c->pendbaser_rd = NULL;

	/* Clear the LPI in the host's own pending table, then unmap. */
	its_cmd_event(&cmd[0], GITS_CMD_DISCARD, c->devid, 0);
	its_cmd_mapd(&cmd[1], c->devid, 0, 0, false);
	its_cmd_mapc(&cmd[2], host_gic.my_icid, 0, false);
	its_send(c, cmd, 3);
}

/*
 * Attack: late_rdist
 *
 * A redistributor whose CPU was offline when the hypervisor took the ITS over
 * never had its LPI tables programmed (booted with maxcpus=1, pKVM then
 * refuses to start CPU1 at all). The host programs them: GICR_PROPBASER as
 * CPU0's, GICR_PENDBASER at the 64 KiB block holding a page of the pVM, and
 * sets GICR_CTLR.EnableLPIs; then it maps a collection to that redistributor
 * and fires an LPI on it (MAPTI, INT; GICR_SETLPIR too if the redistributor
 * has direct LPI injection): the redistributor sets the LPI's pending bit in
 * the guest's page. When every redistributor had LPIs enabled at boot, the
 * case is n/a.
 *
 * The hypervisor must take every redistributor at handover, its CPU online or
 * not, and either program its LPI tables itself, with memory it owns, or
 * refuse host writes to its GICR_CTLR.EnableLPIs, GICR_PROPBASER and
 * GICR_PENDBASER, and MAPC to it.
 */
PKVM_ITS_ATTACK_TEST(late_rdist, LAYOUT_ALL, 9)
{
	u64 table, prop, prop_saved, pend_saved, target;
	struct its_cmd_block cmd[4];
	u32 intid, limit, ctlr;
	void *rd;
	int i, p;

	for (i = 0; i < host_gic.nr_rd; i++)
		if (!(rd32(host_gic.rd[i], GICR_CTLR) & GICR_CTLR_ENABLE_LPIS))
			break;
	if (i == host_gic.nr_rd) {
		attack_set(c, ATTACK_NA, "LPIs on in all %d redistributors (needs maxcpus=1)",
			   host_gic.nr_rd);
		return;
	}
	rd = host_gic.rd[i];

	prop = rd64(host_gic.rd[0], GICR_PROPBASER);
	limit = min_t(u32, host_gic.lpi_limit,
		      BIT(FIELD_GET(GICR_PROPBASER_IDBITS_MASK, prop) + 1));
	p = pick_pending_page(c, limit, &table, &intid);
	if (p < 0) {
		attack_set(c, ATTACK_NA, "no guest page in the first 8 KiB of a 64 KiB block");
		return;
	}

	ctlr = rd32(rd, GICR_CTLR);
	prop_saved = rd64(rd, GICR_PROPBASER);
	pend_saved = rd64(rd, GICR_PENDBASER);
	wr64(rd, GICR_PROPBASER, prop);
	c->pendbaser_saved = pend_saved;
	c->pendbaser_rd = rd;
	wr64(rd, GICR_PENDBASER, (rd64(host_gic.rd[0], GICR_PENDBASER) &
				  ~(GICR_PENDBASER_PHYS_ADDR | GICR_PENDBASER_PTZ)) | table);
	wr32(rd, GICR_CTLR, ctlr | GICR_CTLR_ENABLE_LPIS);
	ksft_print_msg("redistributor %d (CPU %u) had LPIs off: GICR_CTLR 0x%x, GICR_TYPER 0x%lx\n",
		       i, host_gic.rd_cpu[i], rd32(rd, GICR_CTLR), rd64(rd, GICR_TYPER));
	ksft_print_msg("GICR_PROPBASER 0x%lx, GICR_PENDBASER 0x%lx\n", rd64(rd, GICR_PROPBASER),
		       rd64(rd, GICR_PENDBASER));
	ksft_print_msg("LPI %u -> byte 0x%lx in guest page %d\n", intid, table + intid / 8, p);

	/* With direct LPI injection the redistributor needs no ITS command. */
	if (rd64(rd, GICR_TYPER) & GICR_TYPER_DirectLPIS)
		wr64(rd, GICR_SETLPIR, intid);

	target = host_gic.pta ? host_gic.rd_pa[i] >> 16 : host_gic.rd_cpu[i];
	its_cmd_mapc(&cmd[0], host_gic.my_icid, target, true);
	its_cmd_mapd(&cmd[1], c->devid, c->host_pa[0], 0, true);
	its_cmd_mapti(&cmd[2], c->devid, 0, intid, host_gic.my_icid);
	its_cmd_event(&cmd[3], GITS_CMD_INT, c->devid, 0);
	if (!its_send(c, cmd, 4)) {
		/* No DISCARD: it would clear the bit in the guest again. */
		its_cmd_mapd(&cmd[0], c->devid, 0, 0, false);
		its_cmd_mapc(&cmd[1], host_gic.my_icid, 0, false);
		its_send(c, cmd, 2);
	}

	wr32(rd, GICR_CTLR, ctlr);
	wr64(rd, GICR_PENDBASER, pend_saved);
	wr64(rd, GICR_PROPBASER, prop_saved);
	c->pendbaser_rd = NULL;
}

/*
 * Attack: el2_unchecked_access
 *
 * The host accesses the ITS control frame and the redistributors' RD_base
 * frame (and VLPI_base, with GICv4) at offsets and widths that the GIC does
 * not define there: GITS_MPIDR, a 32-bit register, read as 64 bits; reserved
 * words of the ITS written; reserved or IMPLEMENTATION DEFINED words of
 * RD_base (0x18 and 0x1c, GICR_MPAMIDR and GICR_PARTIDR only with MPAM, 0x80,
 * 0x100, 0xffc0) and of VLPI_base read; GICR_PROPBASER written 32 bits at a
 * time, with the value it holds.
 *
 * QEMU answers every one of them (RAZ/WI) and nothing changes. Hardware need
 * not: the GIC may answer such an access with an external abort. Once the
 * hypervisor has taken these frames, an access it passes on is made at EL2,
 * where an external abort panics the hypervisor, and every pVM with it. So
 * whatever the GIC answers, the attack lands as soon as one of the accesses
 * reaches it; it is blocked if every one of them faults in the host instead
 * (SIGSEGV or SIGBUS, depending on how the refusal is reflected).
 *
 * The hypervisor must pass on only the accesses it knows, at the width of
 * the register, and refuse all others to the host.
 */
enum { FRAME_ITS, FRAME_RD, FRAME_VLPI };

struct raw_access {
	const char *name;
	int frame;
	u32 off;
	u8 size;
	bool write;
};

static const struct raw_access unchecked_accesses[] = {
	{ "GITS_MPIDR, 64-bit read", FRAME_ITS, GITS_MPIDR, 8, false },
	{ "ITS 0x0098 (reserved), write", FRAME_ITS, 0x0098, 4, true },
	{ "ITS 0x0140 (reserved), write", FRAME_ITS, 0x0140, 4, true },
	{ "RD_base 0x0018, read", FRAME_RD, 0x0018, 4, false },
	{ "RD_base 0x001c, read", FRAME_RD, 0x001c, 4, false },
	{ "RD_base 0x0080 (reserved), read", FRAME_RD, 0x0080, 4, false },
	{ "RD_base 0x0100 (reserved), read", FRAME_RD, 0x0100, 4, false },
	{ "RD_base 0xffc0, read", FRAME_RD, 0xffc0, 4, false },
	{ "GICR_PROPBASER, 32-bit write", FRAME_RD, GICR_PROPBASER, 4, true },
	{ "VLPI_base 0x0000 (reserved), read", FRAME_VLPI, 0x0000, 4, false },
	{ "VLPI_base 0x0100 (reserved), read", FRAME_VLPI, 0x0100, 4, false },
};

struct raw_op {
	void *addr;
	u8 size;
	bool write;
	u64 val;
};

static void raw_op(void *arg)
{
	struct raw_op *op = arg;

	if (op->write && op->size == sizeof(u64))
		wr64(op->addr, 0, op->val);
	else if (op->write)
		wr32(op->addr, 0, op->val);
	else if (op->size == sizeof(u64))
		op->val = rd64(op->addr, 0);
	else
		op->val = rd32(op->addr, 0);
}

PKVM_ITS_ATTACK_TEST(el2_unchecked_access, LAYOUT_ALL, 10)
{
	const struct raw_access *a;
	int reached = 0, refused = 0, sig;
	struct raw_op op, prop = { .size = sizeof(u64) };
	bool have_prop = false;
	unsigned int i;
	void *base;

	if (host_gic.rd[0]) {
		prop.addr = host_gic.rd[0] + GICR_PROPBASER;
		have_prop = !guarded(raw_op, &prop);
	}

	for (i = 0; i < ARRAY_SIZE(unchecked_accesses); i++) {
		a = &unchecked_accesses[i];
		if (a->frame == FRAME_ITS)
			base = host_gic.its;
		else if (a->frame == FRAME_RD)
			base = host_gic.rd[0];
		else
			base = host_gic.rd[0] && host_gic.gicr_stride == GICR_FRAME_SIZE_V4 ?
			       host_gic.rd[0] + GICR_VLPI_BASE_OFFSET : NULL;
		if (!base || (a->frame == FRAME_RD && a->off == GICR_PROPBASER && !have_prop))
			continue;

		op.addr = base + a->off;
		op.size = a->size;
		op.write = a->write;
		/* The value the register holds, or zero for a reserved word */
		op.val = a->off == GICR_PROPBASER ? (u32)prop.val : 0;
		sig = guarded(raw_op, &op);
		if (sig) {
			refused++;
			c->res->denied = sig;
			ksft_print_msg("%s: refused (signal %d)\n", a->name, sig);
		} else {
			reached++;
			ksft_print_msg("unchecked: %s reached the GIC (%s 0x%lx)\n", a->name,
				       a->write ? "wrote" : "read", op.val);
		}
	}

	ksft_print_msg("%d accesses reached the GIC, %d were refused\n", reached, refused);
	if (!reached && !refused)
		attack_set(c, ATTACK_NA, "no ITS or redistributor frame to access");
	c->res->unchecked = reached > 0;
}

/*
 * Attack: is_protected_toctou
 *
 * The hypervisor refuses to create a pVM when the ITS was not handed over to
 * it. __pkvm_init_vm used to make that check on kvm->arch.pkvm.is_protected
 * in host memory, and to read the field again for the copy the VM runs with:
 * a host CPU that sets it between the two reads gets a protected VM past the
 * check. The field is in the kernel's struct kvm, out of reach of a root
 * user, so the race needs kernel code, and the case is n/a. The hypervisor
 * now reads the field once, into its own copy, and decides on that.
 */
PKVM_ITS_ATTACK_TEST(is_protected_toctou, LAYOUT_NONE, 12)
{
	attack_set(c, ATTACK_NA,
		   "needs kernel code: the race flips kvm->arch.pkvm.is_protected in host memory between two reads in __pkvm_init_vm; the hypervisor now reads its own copy once");
}

/*
 * Attack: mmio_recycle
 *
 * The host makes pKVM run out of page-table pages for the host stage-2: it
 * touches one address in each of thousands of 512 GiB blocks above the last
 * device of the machine, each of which costs the hypervisor a level-1 table,
 * until host_stage2_unmap_dev_all() drops every MMIO mapping of the host to
 * refill the pool. It then touches the GIC distributor, the ITS translation
 * frame and a redistributor's SGI frame, right next to the frames the
 * hypervisor took, so that the lazy re-mapping builds the largest blocks it
 * can around those, and runs cbaser_foreign_queue through the control frame.
 *
 * The recycle shows by its effect: the touch that finds the pool dry takes
 * far longer than the others (the hypervisor unmaps every device mapping of
 * the host), and right after it, a read of the distributor, which the host
 * had mapped, takes a host stage-2 fault again and is much slower than usual.
 * The case goes on once it has seen that. If it never does, the attack still
 * runs, and the case is a test error unless the attack lands.
 *
 * The hypervisor must keep a donated frame out of the host stage-2 across a
 * recycle, and out of any block it maps around it afterwards.
 */
#define RECYCLE_START		BIT_ULL(40)	/* above QEMU's highest device */
#define RECYCLE_STRIDE		BIT_ULL(39)	/* one level-1 table each */
#define RECYCLE_MAX_BLOCKS	4096
#define RECYCLE_CALIBRATE	31	/* blocks that tell the usual timings */
#define RECYCLE_SLOW_TOUCH	200	/* times the usual touch */
#define RECYCLE_SLOW_READ	8	/* times the usual read */

struct recycle_timing {
	u64 touch, gicd;	/* ns */
};

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static u64 gicd_read_ns(u64 off)
{
	u64 t = now_ns();

	rd32(host_gic.gicd, off);
	return now_ns() - t;
}

/* Touch the block at @pa, then read the distributor; false if no block */
static bool recycle_touch(u64 pa, struct recycle_timing *t)
{
	u64 start = now_ns();

	if (!touch_phys(pa))
		return false;
	t->touch = now_ns() - start;
	t->gicd = gicd_read_ns(GICD_TYPER);
	return true;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* The median of each timing over @n touches */
static void recycle_usual(const struct recycle_timing *t, int n, struct recycle_timing *usual)
{
	u64 v[2][RECYCLE_CALIBRATE];
	int i;

	for (i = 0; i < n; i++) {
		v[0][i] = t[i].touch;
		v[1][i] = t[i].gicd;
	}
	for (i = 0; i < 2; i++)
		qsort(v[i], n, sizeof(u64), cmp_u64);
	usual->touch = v[0][n / 2];
	usual->gicd = v[1][n / 2];
}

static bool recycle_seen(const struct recycle_timing *t, const struct recycle_timing *usual)
{
	return t->touch > RECYCLE_SLOW_TOUCH * usual->touch &&
	       t->gicd > RECYCLE_SLOW_READ * usual->gicd;
}

PKVM_ITS_ATTACK_TEST(mmio_recycle, LAYOUT_ALL, 18)
{
	struct recycle_timing cal[RECYCLE_CALIBRATE], usual, t, slowest = {};
	u64 pa = RECYCLE_START;
	bool seen = false;
	int n;

	if (!host_gic.gicd) {
		attack_set(c, ATTACK_NA, "the distributor cannot be mapped through /dev/mem");
		return;
	}
	for (n = 0; n < RECYCLE_CALIBRATE; n++, pa += RECYCLE_STRIDE)
		if (!recycle_touch(pa, &cal[n]))
			break;
	if (n < RECYCLE_CALIBRATE) {
		attack_set(c, ATTACK_ERROR, "/dev/mem maps only %d blocks of 512 GiB", n);
		return;
	}
	recycle_usual(cal, n, &usual);

	for (; n < RECYCLE_MAX_BLOCKS && !seen; n++, pa += RECYCLE_STRIDE) {
		if (!recycle_touch(pa, &t))
			break;
		seen = recycle_seen(&t, &usual);
		if (t.touch > slowest.touch)
			slowest = t;
	}
	if (seen) {
		ksft_print_msg("block %d: touch %lu us (usual %lu), GICD read %lu ns (usual %lu)\n",
			       n - 1, t.touch / 1000, usual.touch / 1000, t.gicd, usual.gicd);
		ksft_print_msg("the host's device mappings were dropped: the pool ran dry\n");
	} else {
		ksft_print_msg("slowest touch %lu us (usual %lu), GICD read %lu ns (usual %lu)\n",
			       slowest.touch / 1000, usual.touch / 1000, slowest.gicd,
			       usual.gicd);
		/* Blocked needs the recycle; landed does not. */
		attack_set(c, ATTACK_ERROR, "no sign of the pool running dry (%d blocks)", n);
	}

	touch_phys(host_gic.gicd_pa);
	touch_phys(host_gic.its_pa + SZ_64K);
	if (host_gic.nr_rd)
		touch_phys(host_gic.rd_pa[0] + GICR_SGI_BASE_OFFSET);

	its_foreign_queue(c);
}

struct hammer {
	int cpu;
	unsigned int seed;
};

static void cwriter_hammer_loop(void *arg)
{
	struct hammer *h = arg;
	int i;

	for (i = 0; i < 100; i++)
		WRITE_ONCE(*(u32 *)(host_gic.its + GITS_CWRITER),
			   (rand_r(&h->seed) % host_gic.cq_slots) * ITS_CMD_SIZE);
}

static void *cwriter_hammer(void *arg)
{
	struct hammer *h = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(h->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);

	if (guarded(cwriter_hammer_loop, h))
		ksft_print_msg("GITS_CWRITER write denied on CPU %d\n", h->cpu);
	return NULL;
}

/*
 * Attack: malformed_regs
 *
 * The host uses the ITS registers in ways the driver never does, each of which
 * an emulation of the ITS must survive without hanging the host, the
 * hypervisor or the ITS, and without letting anything through:
 *  - a write to the read-only GITS_CREADR, rewinding it over commands that
 *    already ran (QEMU accepts it as GICD_CTLR.DS is set): the ITS runs them
 *    again. Here they map a device with its ITT in a page that, since then,
 *    the guest has taken: the ITS writes an ITE into the guest;
 *  - GITS_CWRITER beyond the queue, unaligned, and written 32 bits at a time;
 *  - 32-bit writes to either half of GITS_CBASER and GITS_BASER<n> (with the
 *    values they hold);
 *  - writes to the read-only, reserved and IMPLEMENTATION DEFINED registers
 *    (0xc000-0xffcf) and the ID registers;
 *  - GITS_CTLR disabled and enabled again and again;
 *  - GITS_CWRITER written from two CPUs at once, with a queue full of SYNCs.
 * It lands if the victim changes or the system breaks.
 *
 * The hypervisor must emulate every register of the ITS (and redistributors)
 * itself: read-only and unknown registers write-ignored, 32-bit halves merged
 * into the 64-bit value, queue offsets checked against the queue size, and the
 * queue processed under a lock with bounded work.
 */
PKVM_ITS_ATTACK_TEST(malformed_regs, LAYOUT_LATE, 19)
{
	u32 q = host_gic.cq_slots, w, off;
	struct hammer h[2] = { { 0, 1 }, { 1, 2 } };
	pthread_t thr[2];
	struct its_cmd_block cmd[3];
	u64 itt = c->v.pa[LATE_PAGE], val;
	int i;

	/* Rewind GITS_CREADR over commands whose ITT page went to the guest */
	its_cmd_mapd(&cmd[0], c->devid, itt, 0, true);
	its_cmd_mapti(&cmd[1], c->devid, 0, c->lpi, 0);
	its_cmd_mapd(&cmd[2], c->devid, 0, 0, false);
	if (its_send(c, cmd, 3) || its_wait_idle(&w))
		return;
	if (victim_donate(c))
		return;
	if (c->v.pa[LATE_PAGE] != itt) {
		attack_set(c, ATTACK_NA, "the page moved when the guest took it");
	} else {
		wr32(host_gic.its, GITS_CREADR, ((w + q - 3) % q) * ITS_CMD_SIZE);
		ksft_print_msg("GITS_CREADR written: slot %u -> %u, reads back slot %u\n", w,
			       (w + q - 3) % q, queue_slot(rd32(host_gic.its, GITS_CREADR)));
	}
	wr32(host_gic.its, GITS_CWRITER, w * ITS_CMD_SIZE);
	if (its_wait_read(w))
		ksft_print_msg("the ITS did not come back to slot %u\n", w);

	/* Fill the whole queue with SYNCs, for what comes next */
	if (its_send(c, NULL, 0) || its_wait_idle(&w))
		return;

	/* GITS_CWRITER beyond the queue, unaligned, 32-bit halves */
	wr32(host_gic.its, GITS_CWRITER, (q + 4) * ITS_CMD_SIZE);
	wr32(host_gic.its, GITS_CWRITER, GITS_CQUEUE_OFFSET);
	wr32(host_gic.its, GITS_CWRITER, w * ITS_CMD_SIZE + 0x1e);
	wr32(host_gic.its, GITS_CWRITER + 4, 0xffffffff);
	wr32(host_gic.its, GITS_CWRITER + 4, 0);
	wr32(host_gic.its, GITS_CWRITER, w * ITS_CMD_SIZE);
	if (its_wait_read(w))
		ksft_print_msg("the ITS is not at slot %u after bad GITS_CWRITER values\n", w);

	/* 32-bit halves of GITS_CBASER and GITS_BASER<n>, values unchanged */
	val = rd64(host_gic.its, GITS_CBASER);
	wr32(host_gic.its, GITS_CBASER, (u32)val);
	wr32(host_gic.its, GITS_CBASER + 4, val >> 32);
	for (i = 0; i < GITS_BASER_NR_REGS; i++) {
		val = rd64(host_gic.its, GITS_BASER + 8 * i);
		wr32(host_gic.its, GITS_BASER + 8 * i + 4, val >> 32);
		wr32(host_gic.its, GITS_BASER + 8 * i, (u32)val);
	}

	/* Read-only, reserved, IMPLEMENTATION DEFINED and ID registers */
	for (off = GITS_IIDR; off < GITS_CBASER; off += 4)
		wr32(host_gic.its, off, 0xa5a5a5a5);
	for (off = GITS_CREADR + 8; off < GITS_BASER; off += 4)
		wr32(host_gic.its, off, 0xa5a5a5a5);
	for (off = GITS_BASER + 8 * GITS_BASER_NR_REGS; off < ITS_RESERVED_END; off += 4)
		wr32(host_gic.its, off, 0xa5a5a5a5);
	for (off = GITS_IMPDEF_BASE; off < GITS_CTRL_FRAME_SIZE; off += 4)
		wr32(host_gic.its, off, 0xa5a5a5a5);

	/* GITS_CTLR cycles */
	for (i = 0; i < 16; i++) {
		its_disable(c);
		its_enable(c);
	}

	/* GITS_CWRITER from two CPUs at once */
	for (i = 0; i < 2; i++)
		pthread_create(&thr[i], NULL, cwriter_hammer, &h[i]);
	for (i = 0; i < 2; i++)
		pthread_join(thr[i], NULL);
	wr32(host_gic.its, GITS_CWRITER, w * ITS_CMD_SIZE);
	if (its_wait_read(w)) {
		ksft_print_msg("the ITS did not come back to slot %u\n", w);
		c->res->its_failed = -EIO;
	}
}

/*
 * Attack: its_not_probed
 *
 * An ITS the firmware describes but the kernel did not probe (disabled in
 * the devicetree, or its driver gave up): nothing hands it over, so it is
 * the host's to program from scratch, tables and queue included, and one
 * MAPD and one MAPTI make it write an ITE into any page. The hypervisor
 * cannot take what it was never told about: it must count the ITSs the
 * firmware describes and refuse protected VMs when one was not handed
 * over. Needs a boot with the ITS disabled (run-matrix.sh --its-off).
 */
/* GITS_BASER<n>.Type and Entry_Size, read-only */
#define GITS_BASER_RO_FIELDS	(GITS_BASER_TYPE_MASK | GITS_BASER_ENTRY_SIZE_MASK)

/* Point the GITS_BASER<n> of @type at the page at @pa, or invalidate it (@pa 0). */
static void its_program_table(u64 type, u64 pa)
{
	u64 baser;
	int i;

	for (i = 0; i < GITS_BASER_NR_REGS; i++) {
		baser = rd64(host_gic.its, GITS_BASER + 8 * i);
		if (GITS_BASER_TYPE(baser) == type) {
			/* Flat, one 4 KiB page. */
			wr64(host_gic.its, GITS_BASER + 8 * i, (baser & GITS_BASER_RO_FIELDS) |
			     (pa ? GITS_BASER_VALID | pa : 0));
			return;
		}
	}
}

PKVM_ITS_UNPROBED_ATTACK_TEST(its_not_probed, LAYOUT_ALL, 20)
{
	struct its_cmd_block cmd[4];
	u32 i;

	if (!host_gic.unprobed) {
		attack_set(c, ATTACK_NA,
			   "the kernel probed the ITS (the boot with the ITS disabled in the devicetree runs this case)");
		return;
	}

	/* Host pages 1 and 2: Device and Collection Tables; page 0: the queue. */
	its_program_table(GITS_BASER_TYPE_DEVICE, c->host_pa[1]);
	its_program_table(GITS_BASER_TYPE_COLLECTION, c->host_pa[2]);
	wr64(host_gic.its, GITS_CBASER, GITS_CBASER_VALID | c->host_pa[0]);
	wr32(host_gic.its, GITS_CWRITER, 0);
	wr32(host_gic.its, GITS_CTLR, GITS_CTLR_ENABLE);

	its_cmd_mapc(&cmd[0], 0, host_gic.rd0_target, true);
	its_cmd_mapd(&cmd[1], 0, c->v.pa[TARGET_PAGE], 0, true);
	its_cmd_mapti(&cmd[2], 0, 0, GIC_LPI_BASE, 0);
	its_cmd_mapd(&cmd[3], 0, 0, 0, false);
	for (i = 0; i < ARRAY_SIZE(cmd); i++)
		its_cmd_write(c->host + i * ITS_CMD_SIZE, &cmd[i]);
	wr64(host_gic.its, GITS_CWRITER, ARRAY_SIZE(cmd) * ITS_CMD_SIZE);
	for (i = 0; i < 1000 && queue_slot(rd32(host_gic.its, GITS_CREADR)) != ARRAY_SIZE(cmd); i++)
		usleep(1000);
	ksft_print_msg("unprobed ITS: GITS_CREADR 0x%x after MAPD with the ITT at 0x%lx\n",
		       rd32(host_gic.its, GITS_CREADR), c->v.pa[TARGET_PAGE]);

	/* Disabled again, with no valid queue or table: as the firmware left it. */
	wr32(host_gic.its, GITS_CTLR, 0);
	wr64(host_gic.its, GITS_CBASER, c->host_pa[0]);
	its_program_table(GITS_BASER_TYPE_DEVICE, 0);
	its_program_table(GITS_BASER_TYPE_COLLECTION, 0);
}

/*
 * Found by review, not expressible under QEMU 7.2: each case says so, and
 * where the attack is covered instead.
 *
 * With GICR_TYPER.CommonLPIAff, redistributors share one LPI configuration:
 * a GICR_PROPBASER with more IDbits, written to one not in use yet, could
 * become that of redistributors whose pending tables were sized for fewer.
 */
PKVM_ITS_ATTACK_TEST(propbaser_common_lpi_aff, LAYOUT_NONE, 22)
{
	attack_set(c, ATTACK_NA,
		   "QEMU keeps GICR_PROPBASER per redistributor (CommonLPIAff 0)");
}

/* GICR_SETLPIR with an INTID past the tables the hypervisor took. */
PKVM_ITS_ATTACK_TEST(direct_lpi_out_of_range, LAYOUT_NONE, 23)
{
	attack_set(c, ATTACK_NA, "QEMU's redistributors have no DirectLPI");
}

/* An LPI property table at physical address 0, once taken for "none yet". */
PKVM_ITS_ATTACK_TEST(prop_table_at_pa0, LAYOUT_NONE, 25)
{
	attack_set(c, ATTACK_NA, "the virt machine's memory starts at 1 GiB");
}

/*
 * A GICv5 whose CPUs also implement the GICv3 CPU interface: KVM offers
 * GICv3 guests, while the GICv5 IRS and ITSs write memory at addresses the
 * host programs. Protected VMs must be refused there.
 */
PKVM_ITS_ATTACK_TEST(gicv5_host, LAYOUT_NONE, 26)
{
	attack_set(c, ATTACK_NA, "QEMU 7.2 has no GICv5");
}

/*
 * The host declares its ITSs isolated, then hands one more over, which
 * fails and leaves that ITS with the host. Only kernel code that runs
 * before the host ends its handover, at the end of pKVM's initcall, can
 * make the hypercalls in that order.
 */
PKVM_ITS_ATTACK_TEST(handover_after_isolate, LAYOUT_NONE, 27)
{
	attack_set(c, ATTACK_NA, "needs kernel code that runs before the handover ends");
}

/*
 * Three review findings on the handover itself, which the kernel makes
 * once, in its own late init, before any userspace runs: no compromised
 * host gets to run code then, so none of them can be driven from here.
 *
 * A handover made before the host stage-2 was in place: a driver mapping
 * a device on another CPU meanwhile reached GITS_CWRITER and a level-1
 * Device Table entry directly, so the ITS ran stand-ins instead of its
 * commands and a level-2 page was never taken.
 */
PKVM_ITS_ATTACK_TEST(handover_before_stage2, LAYOUT_NONE, 28)
{
	attack_set(c, ATTACK_NA, "a race within the one-shot handover at boot");
}

/*
 * A CPU faulting on host MMIO worked out its mapping before a donation
 * on another CPU, and made it after: a block over the frame just taken.
 */
PKVM_ITS_ATTACK_TEST(mmio_map_races_donation, LAYOUT_NONE, 29)
{
	attack_set(c, ATTACK_NA, "MMIO is only donated during the one-shot handover at boot");
}

/*
 * A driver still waiting for a command it sent before the handover trapped
 * on GITS_CREADR while the hypervisor was setting the ITS up.
 */
PKVM_ITS_ATTACK_TEST(trap_during_setup, LAYOUT_NONE, 30)
{
	attack_set(c, ATTACK_NA, "a race within the one-shot handover at boot");
}

int main(int argc, char *argv[])
{
	char **args = pkvm_its_init(&argc, argv);

	return test_harness_run(argc, args);
}
