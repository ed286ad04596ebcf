// SPDX-License-Identifier: GPL-2.0-only
/*
 * pKVM proxy for the GICv3 ITS command interface.
 *
 * The ITS is a bus master: it writes the Device and Collection Tables and
 * the ITTs that commands name, at physical addresses the host chooses. Once
 * the host is deprivileged, it must not be able to point the ITS at memory
 * it does not own. The hypervisor therefore takes the 64 KiB ITS control
 * frame and the command queue away from the host, and gives the host driver
 * a shadow queue instead. On each host write to GITS_CWRITER, every new
 * command is copied out of the shadow queue, checked (its_cmd.c), and its
 * re-encoded form written to the real queue, before GITS_CWRITER is written
 * once for the whole batch. The hypervisor never waits for the ITS.
 *
 * Register accesses are either:
 *  - read through (ID registers, GITS_TYPER, GITS_CTLR, ...);
 *  - emulated from the shadow queue (GITS_CBASER, GITS_CWRITER, GITS_CREADR);
 *  - re-encoded from the hypervisor's own values (GITS_CBASER, GITS_BASERn
 *    writes on resume, GITS_CTLR);
 *  - refused, and reflected to the host as an external abort.
 * The translation frame (GITS_TRANSLATER) stays with the host: devices, not
 * CPUs, write it.
 *
 * Commands may only name redistributors the hypervisor found itself, by
 * walking the redistributor regions at the first handover.
 *
 * The ITS tables are taken from the host as well (level-1 table accesses
 * are emulated), ITTs must live in memory the driver claimed for them, and
 * the redistributors and their LPI tables are taken at handover, with the
 * GICv4 frames that could make the GIC reach memory.
 *
 * One lock per ITS serialises the host's CPUs on the queue and the device
 * records; it is never held while waiting for the hardware. Locks nest in
 * this order: its_setup_lock (the handovers and what they decide), an ITS's
 * lock, then the host's page-state lock, which the mem_protect.c helpers
 * take.
 */

#include <linux/bitfield.h>
#include <linux/io.h>
#include <linux/irqchip/arm-gic-v3.h>

#include <asm/kvm_hyp.h>
#include <asm/kvm_hypevents.h>
#include <asm/kvm_mmu.h>
#include <asm/kvm_pkvm.h>

#include <nvhe/its_cmd.h>
#include <nvhe/its_emulate.h>
#include <nvhe/mem_protect.h>
#include <nvhe/memory.h>
#include <nvhe/mm.h>
#include <nvhe/spinlock.h>

/* Only the control frame is trapped, the translation frame follows it. */
#define ITS_CTRL_FRAME_SIZE	SZ_64K

/*
 * GITS_CBASER.Size allows up to 1 MiB (IHI 0069H, GITS_CBASER), Linux uses
 * 64 KiB. The queue size bounds the commands one GITS_CWRITER write makes
 * the hypervisor check: keep it to what the driver needs.
 */
#define ITS_CMDQ_MAX_SIZE	SZ_64K

struct its_emu;

/* A GITS_BASERn table, taken from the host at handover. */
struct its_table {
	struct its_emu		*its;
	u64			*l1;		/* level-1 table, if indirect */
	u64			nr_l1;
	u64			psz;		/* ITS page size */
	bool			flush;		/* ITS does not snoop the table */
	struct host_mmio_region	l1_mmio;	/* the level-1 table, trapped */
};

struct its_emu {
	hyp_spinlock_t		lock;
	void __iomem		*base;
	struct its_queue	q;
	u64			host_cbaser;	/* reported to the host */
	struct its_table	tables[GITS_BASER_NR_REGS];
	struct its_emu		*next;		/* in its_emus */
	u32			id;		/* in trace events: handover order */
	u32			traps;		/* since the last pkvm_its_batch event */
	u32			cleaned;	/* since the last pkvm_its_batch event */
	struct host_mmio_region	ctrl_mmio;	/* the control frame, donated */
	struct host_mmio_region	sgir_mmio;	/* GITS_SGIR, with GICv4.1 */
};

/*
 * What the host's ITT claims hold, for the pkvm_its_held trace event: the
 * claims it made and did not release, and the pages they pin. Held across
 * a claim or a release, so that the counts never lag behind the pages;
 * nests outside the host's page-state lock.
 */
static DEFINE_HYP_SPINLOCK(its_claim_lock);
static u32 its_nr_claims;
static u64 its_nr_claim_pages;

/* Every ITS handed over, latest first; never removed. */
static struct its_emu *its_emus;
static unsigned int its_nr;
static DEFINE_HYP_SPINLOCK(its_setup_lock);
static bool its_setup_closed;
static bool its_setup_failed;
/*
 * Set by __pkvm_its_isolate() once every ITS was handed over: until then,
 * and for good if that never happens, protected VMs are refused.
 */
static bool its_isolated;
/* Between PSCI SYSTEM_SUSPEND and the resume: see pkvm_its_system_suspend(). */
static bool its_suspending;
/* Private copy of the host's description of the ITS being set up. */
static struct kvm_hyp_its_desc its_desc;

/*
 * Every redistributor of the machine, found by walking the redistributor
 * regions at the first handover, whatever the state of its CPU. They are
 * shared by all ITSs, and never change once found. They are kept in pages
 * the host donates with the first ITS, sized by its own count of them
 * (kvm_hyp_its_rdist_pages()): the hypervisor fails the handover if it
 * finds more.
 */
struct its_rdist {
	u64			phys;		/* RD_base frame */
	void __iomem		*base;		/* hypervisor mapping of it */
	u64			typer;
	bool			lpis_taken;	/* LPI tables checked and taken */
	u64			propbaser;	/* as taken */
	u64			pendbaser;
	void __iomem		*vlpi;		/* VLPI_base frame, with GICv4 */
};

/* A redistributor region: @nr redistributors, @stride bytes apart. */
struct its_rdist_region {
	u64			phys;
	u64			stride;
	unsigned int		first;		/* in its_rdists[] */
	unsigned int		nr;
	struct host_mmio_region	rd_mmio;	/* RD_base frames, donated */
	struct host_mmio_region	vlpi_mmio;	/* VLPI_base frames, with GICv4 */
};

/* What kvm_hyp_its_rdist_pages() counts, for each of them. */
static_assert(sizeof(struct its_rdist) + 2 * sizeof(u64) <= KVM_HYP_ITS_RDIST_SIZE);
static_assert(sizeof(struct its_rdist_region) <= KVM_HYP_ITS_RDIST_REGION_SIZE);

static struct its_rdist *its_rdists;
static unsigned int its_nr_rdists;
static unsigned int its_max_rdists;
static struct its_rdist_region *its_rdist_regions;
static unsigned int its_nr_rdist_regions;
/*
 * The RDbase fields that name the redistributors in a command, by physical
 * address and by processor number, in ascending order (see
 * its_init_targets()).
 */
static u64 *its_targets_pa;
static u64 *its_targets_cpu;

/* Where each CPU's own redistributor is in both, plus one: its_this_cpu_target(). */
struct its_cpu_target {
	u32	pa;
	u32	cpu;
};

static DEFINE_PER_CPU(struct its_cpu_target, its_cpu_target);
/* INTIDs the redistributors' LPI tables cover: see check_lpi(). */
static u8 its_lpi_bits;
/* The LPI property table all redistributors share, pinned once. */
static bool its_prop_taken;
static u64 its_prop_pa;
static u8 its_prop_idbits;
/*
 * Makes checking a redistributor's LPI tables and setting its EnableLPIs
 * one step: no GICR_PROPBASER or GICR_PENDBASER write slips in between.
 * Also protects the its_prop_* above and what struct its_rdist records of
 * the tables. Nests inside an ITS lock at handover, and outside the host's
 * page-state lock.
 */
static DEFINE_HYP_SPINLOCK(its_rdist_lock);

/*
 * ITTs may only live in pages the driver claimed for them (see
 * pkvm_its_claim_itt()): the kernel never hands those to a guest, so a
 * device left mapped cannot get in the way of a protected VM, and a host
 * cannot aim MAPD at arbitrary memory of its own.
 */
static int its_pin(u64 pfn, u64 nr_pages)
{
	return __pkvm_host_ref_device_pages(pfn, nr_pages);
}

static void its_unpin(u64 pfn, u64 nr_pages)
{
	__pkvm_host_unpin_device_pages(pfn, nr_pages);
}

static const struct its_cmd_mem_ops its_mem_ops = {
	.pin	= its_pin,
	.unpin	= its_unpin,
};

static u64 its_hw_read(struct its_emu *its, u64 offset, u8 size)
{
	if (size == sizeof(u64))
		return readq_relaxed(its->base + offset);

	return readl_relaxed(its->base + offset);
}

static u64 its_queue_read(void *hw, u32 offset)
{
	struct its_emu *its = hw;

	return its_hw_read(its, offset, offset == GITS_CTLR ? sizeof(u32) : sizeof(u64));
}

static void its_queue_write(void *hw, u32 offset, u64 val)
{
	struct its_emu *its = hw;

	if (offset == GITS_CTLR)
		writel_relaxed(val, its->base + offset);
	else if (offset == GITS_CWRITER)
		writeq(val, its->base + offset);	/* after the queue writes */
	else
		writeq_relaxed(val, its->base + offset);
}

/*
 * An ITS that does not snoop reads its queue and tables from the PoC (IHI
 * 0069H, GITS_CBASER and GITS_BASER<n> shareability). Counted: what a
 * non-coherent ITS costs shows in the pkvm_its_batch events.
 */
static void its_clean(struct its_emu *its, void *addr, size_t size)
{
	kvm_flush_dcache_to_poc(addr, size);
	its->cleaned++;
}

static void its_queue_clean(void *hw, void *addr, size_t size)
{
	its_clean(hw, addr, size);
}

static void its_queue_refused(void *hw, const u64 *cmd, enum its_cmd_reason why)
{
	u8 opcode = FIELD_GET(GITS_CMD_DW0_OPCODE, cmd[0]);
	struct its_emu *its = hw;

	trace_pkvm_its_cmd_refuse(its->id, opcode, FIELD_GET(GITS_CMD_DW0_DEVICEID, cmd[0]),
				  FIELD_GET(GITS_CMD_DW1_EVENTID, cmd[1]), why,
				  its_cmd_error(opcode, why));
}

static const struct its_queue_hw_ops its_queue_hw_ops = {
	.read		= its_queue_read,
	.write		= its_queue_write,
	.clean		= its_queue_clean,
	.refused	= its_queue_refused,
};

/*
 * Trace events per batch: what it cost the host to hand it over, and what
 * the proxy holds once the ITS was seen to run it.
 */
static bool its_emu_write_cwriter(struct its_emu *its, u64 val)
{
	u64 seq = its->q.cmds.seq, refused = its->q.cmds.nr_refused;
	bool ret = its_queue_write_cwriter(&its->q, val);

	trace_pkvm_its_batch(its->id, its->q.cmds.seq - seq, its->q.cmds.nr_refused - refused,
			     its->traps, its->cleaned);
	trace_pkvm_its_held(its->id, its->q.cmds.nr_devs, its->q.cmds.nr_itt_pages,
			    its->q.cmds.nr_slots, READ_ONCE(its_nr_claims),
			    READ_ONCE(its_nr_claim_pages));
	its->traps = 0;
	its->cleaned = 0;

	return ret;
}

static bool its_emu_write(struct its_emu *its, struct host_mmio_access *acc)
{
	u64 reg = ALIGN_DOWN(acc->offset, sizeof(u64));
	bool hi = acc->offset & 4;

	switch (reg) {
	case GITS_CTLR:
		/* GITS_CTLR is 32-bit, GITS_IIDR read-only. */
		return !hi && acc->size == sizeof(u32) && its_queue_write_ctlr(&its->q, acc->val);
	case GITS_CBASER:
		return its_queue_write_cbaser(&its->q);
	case GITS_CWRITER:
		/* The top half is RES0: accept zero, never a misaligned write. */
		if (hi)
			return !acc->val;
		return its_emu_write_cwriter(its, acc->val);
	case GITS_BASER ... GITS_BASER + (GITS_BASER_NR_REGS - 1) * sizeof(u64):
		return its_queue_write_baser(&its->q, (reg - GITS_BASER) / sizeof(u64));
	default:
		return false;
	}
}

static u64 its_emu_half(u64 val, struct host_mmio_access *acc)
{
	if (acc->size == sizeof(u64))
		return val;

	return acc->offset & 4 ? upper_32_bits(val) : lower_32_bits(val);
}

static bool its_emu_read(struct its_emu *its, struct host_mmio_access *acc)
{
	u64 reg = ALIGN_DOWN(acc->offset, sizeof(u64));

	switch (reg) {
	case GITS_MPIDR:
		/* A 32-bit register, followed by a reserved word. */
		if (acc->offset != GITS_MPIDR)
			return false;
		fallthrough;
	case GITS_CTLR:		/* and GITS_IIDR */
		if (acc->size != sizeof(u32))
			return false;
		fallthrough;
	case GITS_TYPER:
	case GITS_BASER ... GITS_BASER + (GITS_BASER_NR_REGS - 1) * sizeof(u64):
		acc->val = its_hw_read(its, acc->offset, acc->size);
		return true;
	case GITS_CBASER:
		acc->val = its_emu_half(its->host_cbaser, acc);
		return true;
	case GITS_CWRITER:
		acc->val = its_emu_half(its->q.cwriter, acc);
		return true;
	case GITS_CREADR:
		acc->val = its_emu_half(its_queue_read_creadr(&its->q), acc);
		return true;
	case GITS_IDREGS_BASE ... GITS_CIDR3:
		if (acc->size != sizeof(u32))
			return false;
		acc->val = its_hw_read(its, acc->offset, acc->size);
		return true;
	default:
		/* Default deny, including the IMPLEMENTATION DEFINED range. */
		return false;
	}
}

/*
 * The redistributor of the CPU that trapped: Aff3.Aff2.Aff1.Aff0 in
 * GICR_TYPER[63:32] (IHI 0069H, GICR_TYPER). The first one if none matches.
 */
static const struct its_rdist *its_this_cpu_rdist(void)
{
	u64 mpidr = read_sysreg(mpidr_el1);
	u32 aff = MPIDR_AFFINITY_LEVEL(mpidr, 3) << 24 | MPIDR_AFFINITY_LEVEL(mpidr, 2) << 16 |
		  MPIDR_AFFINITY_LEVEL(mpidr, 1) << 8 | MPIDR_AFFINITY_LEVEL(mpidr, 0);
	unsigned int i;

	for (i = 0; i < its_nr_rdists; i++) {
		if (upper_32_bits(its_rdists[i].typer) == aff)
			return &its_rdists[i];
	}

	return &its_rdists[0];
}

/* Where @rdbase is in @targets, sorted by its_init_targets(). */
static u32 its_target_index(const u64 *targets, u64 rdbase)
{
	u32 i = its_cmd_target_index(targets, its_nr_rdists, rdbase);

	return i < its_nr_rdists ? i : 0;
}

/*
 * The CPU's own redistributor, for the stand-in SYNCs of
 * its_cmd_encode_sync(), as an index in the targets of @its. Looked up
 * once per CPU: the search grows with the machine, the traps should not.
 */
static u32 its_this_cpu_target(const struct its_emu *its)
{
	struct its_cpu_target *t = this_cpu_ptr(&its_cpu_target);

	if (!t->pa) {
		const struct its_rdist *rd = its_this_cpu_rdist();

		t->pa = its_target_index(its_targets_pa, rd->phys >> 16) + 1;
		t->cpu = its_target_index(its_targets_cpu, GICR_TYPER_CPU_NUMBER(rd->typer)) + 1;
	}

	return (its->q.cmds.lim.targets == its_targets_pa ? t->pa : t->cpu) - 1;
}

static bool its_emu_handle(void *priv, struct host_mmio_access *acc)
{
	struct its_emu *its = priv;
	bool ret;

	/* Only naturally aligned 32/64-bit accesses are defined (IHI 0069H, ITS registers). */
	if ((acc->size != sizeof(u32) && acc->size != sizeof(u64)) ||
	    !IS_ALIGNED(acc->offset, acc->size))
		return false;

	hyp_spin_lock(&its->lock);
	/* A fenced ITS refuses every access: see its_emu_setup(). */
	if (its->q.qsize) {
		its->traps++;
		its->q.cmds.sync_target = its_this_cpu_target(its);
		ret = acc->write ? its_emu_write(its, acc) : its_emu_read(its, acc);
	} else {
		ret = false;
	}
	hyp_spin_unlock(&its->lock);

	return ret;
}

/* No access to the GICv4.1 GITS_SGIR frame is the host's: see its_emu_setup(). */
static bool its_sgir_handle(void *priv, struct host_mmio_access *acc)
{
	return false;
}

static u64 its_baser_psz(u64 baser)
{
	switch (baser & GITS_BASER_PAGE_SIZE_MASK) {
	case GITS_BASER_PAGE_SIZE_4K:
		return SZ_4K;
	case GITS_BASER_PAGE_SIZE_16K:
		return SZ_16K;
	default:
		return SZ_64K;
	}
}

/* With 64 KiB pages, PA[51:48] lives in bits [15:12] (IHI 0069H, GITS_BASER<n>). */
static u64 its_baser_pa(u64 baser)
{
	if (its_baser_psz(baser) == SZ_64K)
		return (baser & GENMASK_ULL(47, 16)) | GITS_BASER_ADDR_48_to_52(baser);

	return baser & GENMASK_ULL(47, 12);
}

/*
 * A redistributor with LPIs enabled writes LPI pending bits into the table
 * GICR_PENDBASER names, and reads LPI configuration from GICR_PROPBASER's
 * (IHI 0069H, "LPI Configuration tables", "LPI Pending tables"). Whoever
 * owns that memory can have it given to a protected VM or the hypervisor
 * while the GIC keeps using it, or offer a pending table as an ITS table
 * page. So, when LPIs are enabled, at handover for the redistributors that
 * have them and later, when the host enables them, for the others (CPUs
 * brought online after the handover):
 *  - the pending table becomes the hypervisor's: the GIC writes it, the
 *    driver never touches it again;
 *  - the property table, which the driver keeps writing, is pinned: it
 *    stays the host's, but cannot be donated or shared.
 * From then on GICR_PROPBASER and GICR_PENDBASER ignore writes, as the
 * architecture allows once EnableLPIs is set, and EnableLPIs stays set.
 */

/* The LPI property table covers INTIDs 8192 .. 2^(IDbits + 1) - 1. */
static int its_pin_prop_table(u64 pa, u8 idbits)
{
	u64 end = pa + BIT_ULL(idbits + 1) - GIC_LPI_OFFSET;
	u64 first = hyp_phys_to_pfn(pa);

	return __pkvm_host_pin_device_pages(first, PFN_UP(end) - first);
}

/* Names the pinned property table, with the same IDbits. */
static bool its_propbaser_is_current(u64 prop)
{
	return GICR_PROPBASER_ADDRESS(prop) == its_prop_pa &&
	       (prop & GICR_PROPBASER_IDBITS_MASK) == its_prop_idbits;
}

/* The pending table: a bit per INTID, 64 KiB aligned (IHI 0069H, GICR_PENDBASER). */
static u64 its_pend_table_size(u8 idbits)
{
	return ALIGN(BIT_ULL(idbits + 1) / BITS_PER_BYTE, SZ_64K);
}

/*
 * Take the tables @rd's registers name. A redistributor about to enable
 * LPIs gets a cleared pending table: the host could have prepared it,
 * including its IMPLEMENTATION DEFINED first kilobyte.
 */
static int its_rdist_take_lpi_tables(struct its_rdist *rd, bool enabling)
{
	u64 prop = readq_relaxed(rd->base + GICR_PROPBASER);
	u64 pend = readq_relaxed(rd->base + GICR_PENDBASER);
	u8 idbits = prop & GICR_PROPBASER_IDBITS_MASK;
	u64 prop_pa = GICR_PROPBASER_ADDRESS(prop);
	u64 pend_pa = GICR_PENDBASER_ADDRESS(pend);
	u64 pend_size = its_pend_table_size(idbits);
	int ret;

	hyp_assert_lock_held(&its_rdist_lock);

	/* Fewer than 14 bits of INTID leave no room for LPIs. */
	if (idbits < 13)
		return -EINVAL;

	/* Linux gives every redistributor the same property table. */
	if (its_prop_taken) {
		if (!its_propbaser_is_current(prop))
			return -EINVAL;
	} else {
		ret = its_pin_prop_table(prop_pa, idbits);
		if (ret)
			return ret;
		its_prop_pa = prop_pa;
		its_prop_idbits = idbits;
		its_prop_taken = true;
	}

	ret = __pkvm_host_donate_hyp(hyp_phys_to_pfn(pend_pa), pend_size >> PAGE_SHIFT);
	if (ret)
		return ret;

	if (enabling) {
		memset(hyp_phys_to_virt(pend_pa), 0, pend_size);
		kvm_flush_dcache_to_poc(hyp_phys_to_virt(pend_pa), pend_size);
	}
	rd->propbaser = prop;
	rd->pendbaser = pend;
	rd->lpis_taken = true;

	return 0;
}

static bool its_rdist_lpis_enabled(struct its_rdist *rd)
{
	return readl_relaxed(rd->base + GICR_CTLR) & GICR_CTLR_ENABLE_LPIS;
}

/*
 * Enabling LPIs takes the tables first; EnableLPIs is never cleared again.
 * A redistributor that lost its state (powered down with its CPU) gets the
 * tables it had back before LPIs are enabled again, whatever its table
 * registers reset to.
 */
static bool its_rdist_write_ctlr(struct its_rdist *rd, u32 val)
{
	if (rd->lpis_taken) {
		if (!its_rdist_lpis_enabled(rd)) {
			writeq_relaxed(rd->propbaser, rd->base + GICR_PROPBASER);
			writeq_relaxed(rd->pendbaser, rd->base + GICR_PENDBASER);
		}
		val |= GICR_CTLR_ENABLE_LPIS;
	} else if ((val & GICR_CTLR_ENABLE_LPIS) && its_rdist_take_lpi_tables(rd, true)) {
		return false;
	}

	writel_relaxed(val, rd->base + GICR_CTLR);

	return true;
}

/*
 * Direct LPI operations (IHI 0069H, GICR_SETLPIR to GICR_INVALLR) make the
 * redistributor set or clear a bit of its pending table, or read its
 * property table, for the INTID written. Only on a redistributor whose
 * tables were taken and are in use, for an LPI they cover: the hardware's
 * own bound would be IDbits as it last saw them. Bits [63:32] select a vPE with
 * GICv4.1, which is not used in protected mode.
 */
static bool its_rdist_lpi_op_is_sane(struct its_rdist *rd, struct host_mmio_access *acc)
{
	u64 intid = acc->val;

	/* A redistributor that lost its state has tables no one checked. */
	if (!rd->lpis_taken || !its_rdist_lpis_enabled(rd) || acc->size != sizeof(u64) ||
	    upper_32_bits(acc->val))
		return false;

	if (acc->offset == GICR_INVALLR)
		return !intid;

	return intid >= GIC_LPI_OFFSET && intid < BIT_ULL(its_prop_idbits + 1);
}

/*
 * Writes that name memory go through the checks above; the others are
 * forwarded at the width the register has. Anything else is refused.
 */
static bool its_rdist_write(struct its_rdist *rd, struct host_mmio_access *acc)
{
	switch (ALIGN_DOWN(acc->offset, sizeof(u64))) {
	case GICR_CTLR:		/* and GICR_IIDR, read-only */
		if (acc->offset != GICR_CTLR || acc->size != sizeof(u32))
			return false;
		return its_rdist_write_ctlr(rd, acc->val);
	case GICR_STATUSR:	/* and GICR_WAKER */
		if (acc->size != sizeof(u32))
			return false;
		break;
	case GICR_PROPBASER:
	case GICR_PENDBASER:
		if (acc->size != sizeof(u64))
			return false;
		/* Ignored once in use; harmless while LPIs are off. */
		if (rd->lpis_taken || its_rdist_lpis_enabled(rd))
			return true;
		/*
		 * Except that redistributors with GICR_TYPER.CommonLPIAff share
		 * one LPI configuration (IHI 0069H, GICR_PROPBASER): another
		 * table, or more IDbits, could become that of the ones taken.
		 */
		if (acc->offset == GICR_PROPBASER && its_prop_taken &&
		    !its_propbaser_is_current(acc->val))
			return false;
		break;
	case GICR_SETLPIR:
	case GICR_CLRLPIR:
	case GICR_INVLPIR:
	case GICR_INVALLR:
		if (!its_rdist_lpi_op_is_sane(rd, acc))
			return false;
		break;
	default:
		return false;
	}

	if (acc->size == sizeof(u64))
		writeq_relaxed(acc->val, rd->base + acc->offset);
	else
		writel_relaxed(acc->val, rd->base + acc->offset);

	return true;
}

/* Reads of known registers only, at their width: others may abort at EL2. */
static bool its_rdist_read(struct its_rdist *rd, struct host_mmio_access *acc)
{
	switch (ALIGN_DOWN(acc->offset, sizeof(u64))) {
	case GICR_CTLR:		/* and GICR_IIDR */
	case GICR_STATUSR:	/* and GICR_WAKER */
		if (acc->size != sizeof(u32))
			return false;
		break;
	case GICR_SYNCR:
		if (acc->offset != GICR_SYNCR || acc->size != sizeof(u32))
			return false;
		break;
	case GICR_TYPER:
	case GICR_PROPBASER:
	case GICR_PENDBASER:
		break;
	case GICR_IDREGS ... GICR_IDREGS + 0x28:
		if (acc->size != sizeof(u32))
			return false;
		break;
	default:
		return false;
	}

	if (acc->size == sizeof(u64))
		acc->val = readq_relaxed(rd->base + acc->offset);
	else
		acc->val = readl_relaxed(rd->base + acc->offset);

	return true;
}

typedef bool (*its_rdist_access_fn)(struct its_rdist *rd, struct host_mmio_access *acc);

/*
 * A host access to a frame of the redistributor @acc->frame of a region:
 * reads go to @read, writes to @write, under its_rdist_lock.
 */
static bool its_rdist_access(void *priv, struct host_mmio_access *acc,
			     its_rdist_access_fn read, its_rdist_access_fn write)
{
	struct its_rdist_region *reg = priv;
	struct its_rdist *rd = &its_rdists[reg->first + acc->frame];
	bool ret;

	if ((acc->size != sizeof(u32) && acc->size != sizeof(u64)) ||
	    !IS_ALIGNED(acc->offset, acc->size))
		return false;

	if (!acc->write)
		return read(rd, acc);

	hyp_spin_lock(&its_rdist_lock);
	ret = write(rd, acc);
	hyp_spin_unlock(&its_rdist_lock);

	return ret;
}

static bool its_rdist_handle(void *priv, struct host_mmio_access *acc)
{
	return its_rdist_access(priv, acc, its_rdist_read, its_rdist_write);
}

/*
 * With GICv4, a redistributor's VLPI_base frame holds GICR_VPROPBASER and
 * GICR_VPENDBASER, which name the virtual LPI configuration and pending
 * tables of the vPE resident on its CPU (IHI 0069H, "VLPI_base frame"). A
 * valid GICR_VPENDBASER makes the redistributor read and write those
 * tables, and the CPU interface hands their pending vLPIs to whatever vCPU
 * runs there. KVM does not use GICv4 in protected mode: no vPE is ever
 * made resident, GICR_VPENDBASER.Valid stays clear, and no write may name
 * memory. Linux only writes them when it brings a CPU up, to clear Valid
 * and to set GICR_VPROPBASER.IDbits.
 */
static bool its_vlpi_write(struct its_rdist *rd, struct host_mmio_access *acc)
{
	u64 val = acc->val;

	if (acc->size != sizeof(u64))
		return false;

	switch (acc->offset) {
	case GICR_VPROPBASER:
		/*
		 * GICv4.0: the VM's configuration table; GICv4.1: the vPE
		 * table, which redistributors and ITSs may share, so that a
		 * value written here could become theirs. Either way, an
		 * address or a Valid bit is refused, unless the register
		 * already holds it.
		 */
		if ((val & (GENMASK_ULL(51, 12) | GICR_VPROPBASER_4_1_VALID)) &&
		    val != readq_relaxed(rd->vlpi + GICR_VPROPBASER))
			return false;
		break;
	case GICR_VPENDBASER:
		if (val & GICR_VPENDBASER_Valid)
			return false;
		break;
	default:
		/* GICR_VSGIR, GICv4.1 vSGI state: only KVM would use it. */
		return false;
	}

	writeq_relaxed(val, rd->vlpi + acc->offset);

	return true;
}

static bool its_vlpi_read(struct its_rdist *rd, struct host_mmio_access *acc)
{
	switch (ALIGN_DOWN(acc->offset, sizeof(u64))) {
	case GICR_VPROPBASER:
	case GICR_VPENDBASER:
		break;
	case GICR_VSGIPENDR:
		if (acc->offset != GICR_VSGIPENDR || acc->size != sizeof(u32))
			return false;
		break;
	default:
		return false;
	}

	if (acc->size == sizeof(u64))
		acc->val = readq_relaxed(rd->vlpi + acc->offset);
	else
		acc->val = readl_relaxed(rd->vlpi + acc->offset);

	return true;
}

static bool its_vlpi_handle(void *priv, struct host_mmio_access *acc)
{
	return its_rdist_access(priv, acc, its_vlpi_read, its_vlpi_write);
}

/*
 * Take the VLPI_base frames of a region whose redistributors support
 * direct vLPI injection (GICR_TYPER.VLPIS): all of them must agree.
 */
static int its_take_vlpi_frames(struct its_rdist_region *reg)
{
	u64 vlpis = its_rdists[reg->first].typer & GICR_TYPER_VLPIS;
	unsigned long base;
	unsigned int i;
	int ret;

	for (i = reg->first; i < reg->first + reg->nr; i++) {
		if ((its_rdists[i].typer & GICR_TYPER_VLPIS) != vlpis)
			return -EINVAL;
	}
	if (!vlpis)
		return 0;
	if (reg->stride < SZ_256K)
		return -EINVAL;

	for (i = reg->first; i < reg->first + reg->nr; i++) {
		ret = __pkvm_create_private_mapping(its_rdists[i].phys + SZ_128K, SZ_64K,
						    PAGE_HYP_DEVICE, &base);
		if (ret)
			return ret;
		its_rdists[i].vlpi = (void __iomem *)base;
		/* Linux cleared it at boot: no vPE may be resident from now on. */
		if (readq_relaxed(its_rdists[i].vlpi + GICR_VPENDBASER) & GICR_VPENDBASER_Valid)
			return -EBUSY;
	}

	return __pkvm_host_donate_mmio_frames(&reg->vlpi_mmio, reg->phys + SZ_128K, SZ_64K,
					      reg->stride, reg->nr, its_vlpi_handle, reg);
}

/*
 * The first handover takes the RD_base frame of every redistributor, the
 * VLPI_base frames with GICv4, and the LPI tables of those that have LPIs
 * enabled. Their SGI_base frames hold no pointer to memory, and stay with
 * the host.
 */
static int its_take_rdists(void)
{
	unsigned int i;
	int ret = 0;

	if (its_nr)
		return 0;

	hyp_spin_lock(&its_rdist_lock);
	for (i = 0; i < its_nr_rdist_regions && !ret; i++) {
		struct its_rdist_region *reg = &its_rdist_regions[i];

		ret = __pkvm_host_donate_mmio_frames(&reg->rd_mmio, reg->phys, SZ_64K, reg->stride,
						     reg->nr, its_rdist_handle, reg);
		if (!ret)
			ret = its_take_vlpi_frames(reg);
	}
	for (i = 0; i < its_nr_rdists && !ret; i++) {
		if (its_rdist_lpis_enabled(&its_rdists[i]))
			ret = its_rdist_take_lpi_tables(&its_rdists[i], false);
	}
	hyp_spin_unlock(&its_rdist_lock);

	return ret;
}

/* Capacity of a GITS_BASERn table, in entries, flat or two-level. */
static u64 its_baser_nr_entries(u64 baser)
{
	u64 psz, esz, nr;

	if (!(baser & GITS_BASER_VALID))
		return 0;

	psz = its_baser_psz(baser);
	esz = GITS_BASER_ENTRY_SIZE(baser);
	nr = GITS_BASER_NR_PAGES(baser) * psz;
	if (baser & GITS_BASER_INDIRECT)
		return nr / GITS_LVL1_ENTRY_SIZE * (psz / esz);

	return nr / esz;
}

static u64 its_table_entries(struct its_emu *its, u64 type)
{
	unsigned int i;

	for (i = 0; i < GITS_BASER_NR_REGS; i++) {
		if (GITS_BASER_TYPE(its->q.baser[i]) == type)
			return its_baser_nr_entries(its->q.baser[i]);
	}

	return 0;
}

/* The level-2 page a level-1 entry names (IHI 0069H, GITS_BASER<n>). */
static u64 its_l1_entry_l2(u64 e)
{
	return e & GENMASK_ULL(51, 12);
}

/*
 * A level-1 entry holds the address of a level-2 page and a Valid bit
 * (IHI 0069H, GITS_BASER<n>): the only table format the architecture defines.
 */
static bool its_l1_entry_is_sane(const struct its_table *t, u64 e)
{
	u64 l2 = its_l1_entry_l2(e);

	return e == (l2 | GITS_BASER_VALID) && IS_ALIGNED(l2, t->psz);
}

/*
 * Take a level-2 page from the host before the ITS may use it. A new one
 * is cleared here: the driver zeroed it, but could have changed it since.
 */
static int its_l2_take(const struct its_table *t, u64 e, bool clear)
{
	u64 l2 = its_l1_entry_l2(e);
	int ret;

	ret = __pkvm_host_donate_hyp(hyp_phys_to_pfn(l2), t->psz >> PAGE_SHIFT);
	if (ret)
		return ret;

	if (clear)
		memset(hyp_phys_to_virt(l2), 0, t->psz);
	if (t->flush)
		its_clean(t->its, hyp_phys_to_virt(l2), t->psz);

	return 0;
}

/*
 * The driver fills in a level-1 entry when it first needs a level-2 page,
 * and never changes it again. Anything else is refused: a host-chosen
 * level-2 page would let the ITS write wherever the host likes.
 */
static bool its_l1_write(struct its_table *t, u64 idx, u64 val)
{
	u64 old = READ_ONCE(t->l1[idx]);

	if (val == old)
		return true;
	if (old || !its_l1_entry_is_sane(t, val) || its_l2_take(t, val, true))
		return false;

	WRITE_ONCE(t->l1[idx], val);
	if (t->flush)
		its_clean(t->its, &t->l1[idx], sizeof(u64));
	/* As the driver does: the ITS may read the entry as soon as it is set. */
	dsb(sy);

	return true;
}

static bool its_l1_handle(void *priv, struct host_mmio_access *acc)
{
	struct its_table *t = priv;
	u64 idx = acc->offset / sizeof(u64);
	bool ret = true;

	if (acc->size != sizeof(u64) || !IS_ALIGNED(acc->offset, sizeof(u64)) ||
	    idx >= t->nr_l1)
		return false;

	hyp_spin_lock(&t->its->lock);
	if (acc->write)
		ret = its_l1_write(t, idx, acc->val);
	else
		acc->val = READ_ONCE(t->l1[idx]);
	hyp_spin_unlock(&t->its->lock);

	return ret;
}

/*
 * Device, Collection and vPE Tables hold addresses the ITS writes to (ITT
 * and level-2 pages, IMPLEMENTATION DEFINED entries): take them all from
 * the host. Flat tables and level-2 pages are never touched by the driver
 * again; level-1 tables are, and their accesses are emulated.
 */
static int its_emu_take_table(struct its_emu *its, unsigned int n)
{
	struct its_table *t = &its->tables[n];
	u64 baser = its->q.baser[n];
	u64 pa = its_baser_pa(baser);
	u64 i, size;
	int ret;

	t->its = its;
	t->psz = its_baser_psz(baser);
	t->flush = !(baser & GITS_BASER_SHAREABILITY_MASK);
	size = GITS_BASER_NR_PAGES(baser) * t->psz;
	if (!PAGE_ALIGNED(pa) || !PAGE_ALIGNED(size) || t->psz < PAGE_SIZE)
		return -EINVAL;

	ret = __pkvm_host_donate_hyp(hyp_phys_to_pfn(pa), size >> PAGE_SHIFT);
	if (ret || !(baser & GITS_BASER_INDIRECT))
		return ret;

	t->l1 = hyp_phys_to_virt(pa);
	t->nr_l1 = size / GITS_LVL1_ENTRY_SIZE;
	for (i = 0; i < t->nr_l1; i++) {
		u64 e = READ_ONCE(t->l1[i]);

		if (!e)
			continue;
		if (!its_l1_entry_is_sane(t, e))
			return -EINVAL;
		ret = its_l2_take(t, e, false);
		if (ret)
			return ret;
	}

	return __pkvm_hyp_trap_host_mem(&t->l1_mmio, pa, size, its_l1_handle, t);
}

static int its_emu_take_tables(struct its_emu *its)
{
	unsigned int n;
	int ret;

	for (n = 0; n < GITS_BASER_NR_REGS; n++) {
		if (!(its->q.baser[n] & GITS_BASER_VALID))
			continue;

		switch (GITS_BASER_TYPE(its->q.baser[n])) {
		case GITS_BASER_TYPE_DEVICE:
		case GITS_BASER_TYPE_VCPU:
		case GITS_BASER_TYPE_COLLECTION:
			ret = its_emu_take_table(its, n);
			if (ret)
				return ret;
			break;
		default:
			return -EINVAL;
		}
	}

	return 0;
}

/* Limits of the ITS, from its own ID registers and tables. */
static void its_emu_init_limits(struct its_emu *its, u64 typer)
{
	struct its_cmd_limits *lim = &its->q.cmds.lim;
	u64 devids = BIT_ULL(FIELD_GET(GITS_TYPER_DEVBITS, typer) + 1);
	u64 icids = its_table_entries(its, GITS_BASER_TYPE_COLLECTION);

	lim->nr_devids = min(devids, its_table_entries(its, GITS_BASER_TYPE_DEVICE));
	lim->nr_icids = min_t(u64, max_t(u64, icids, GITS_TYPER_HCC(typer)), BIT(16));
	lim->max_size = FIELD_GET(GITS_TYPER_IDBITS, typer);
	lim->lpi_bits = its_lpi_bits;
	lim->itt_entry_size = FIELD_GET(GITS_TYPER_ITT_ENTRY_SIZE, typer) + 1;
	lim->page_shift = PAGE_SHIFT;
}

/*
 * Each redistributor has an RD_base and an SGI_base frame, followed with
 * GICv4 by a VLPI_base and a reserved frame (IHI 0069H, "The GIC
 * Redistributor register map"), unless the firmware says otherwise.
 */
static u64 its_rdist_stride(const struct kvm_hyp_its_desc *desc, u64 typer)
{
	if (desc->rdist_stride)
		return desc->rdist_stride;

	return typer & GICR_TYPER_VLPIS ? SZ_256K : SZ_128K;
}

static int its_rdist_add(u64 phys)
{
	struct its_rdist *rd = &its_rdists[its_nr_rdists];
	unsigned long base;
	int ret;

	/* More than the host counted, and gave room for: the handover fails. */
	if (its_nr_rdists == its_max_rdists)
		return -E2BIG;
	if (!IS_ALIGNED(phys, SZ_64K) || addr_is_memory(phys))
		return -EINVAL;

	ret = __pkvm_create_private_mapping(phys, SZ_64K, PAGE_HYP_DEVICE, &base);
	if (ret)
		return ret;

	rd->phys = phys;
	rd->base = (void __iomem *)base;
	rd->typer = readq_relaxed(rd->base + GICR_TYPER);
	its_nr_rdists++;

	return 0;
}

/*
 * Walk one region up to the redistributor that says it is the last one
 * (IHI 0069H, GICR_TYPER.Last). All of a region's redistributors must be
 * laid out alike, so that they can be taken from the host as one region.
 */
static int its_walk_rdist_region(const struct kvm_hyp_its_desc *desc,
				 const struct kvm_hyp_its_rdist_region *dr)
{
	struct its_rdist_region *reg;
	u64 phys = dr->base;
	u64 stride;
	int ret;

	/* One per region listed at most: see its_rdists_alloc(). */
	reg = &its_rdist_regions[its_nr_rdist_regions++];
	reg->phys = phys;
	reg->first = its_nr_rdists;
	for (;;) {
		ret = its_rdist_add(phys);
		if (ret)
			return ret;

		stride = its_rdist_stride(desc, its_rdists[its_nr_rdists - 1].typer);
		if (reg->stride && stride != reg->stride)
			return -EINVAL;
		reg->stride = stride;
		reg->nr++;

		if (dr->single || (its_rdists[its_nr_rdists - 1].typer & GICR_TYPER_LAST))
			return 0;
		if (check_add_overflow(phys, stride, &phys))
			return -EINVAL;
	}
}

/*
 * Firmware that describes each redistributor on its own (ACPI, in the GICC
 * entries) makes a region of each, usually back to back: one region then,
 * whose frames the host stage-2 checks as one, however many CPUs there are.
 */
static void its_merge_rdist_region(void)
{
	struct its_rdist_region *prev, *reg;
	u64 vlpis;

	if (its_nr_rdist_regions < 2)
		return;

	prev = &its_rdist_regions[its_nr_rdist_regions - 2];
	reg = &its_rdist_regions[its_nr_rdist_regions - 1];
	vlpis = its_rdists[prev->first].typer & GICR_TYPER_VLPIS;
	if (reg->stride != prev->stride || reg->phys != prev->phys + prev->nr * prev->stride ||
	    (its_rdists[reg->first].typer & GICR_TYPER_VLPIS) != vlpis)
		return;

	prev->nr += reg->nr;
	memset(reg, 0, sizeof(*reg));
	its_nr_rdist_regions--;
}

/*
 * LPI INTIDs must stay within the tables of every redistributor that has
 * LPIs enabled (GICR_PROPBASER.IDbits, IHI 0069H): Linux programs the same
 * value everywhere, from GICD_TYPER.IDbits.
 */
static int its_init_lpi_bits(void)
{
	unsigned int i;
	u8 bits = U8_MAX;

	for (i = 0; i < its_nr_rdists; i++) {
		void __iomem *base = its_rdists[i].base;

		if (readl_relaxed(base + GICR_CTLR) & GICR_CTLR_ENABLE_LPIS)
			bits = min_t(u8, bits, (readq_relaxed(base + GICR_PROPBASER) &
						GICR_PROPBASER_IDBITS_MASK) + 1);
	}
	if (bits == U8_MAX)
		return -ENODEV;

	its_lpi_bits = bits;

	return 0;
}

/*
 * Lay out what the hypervisor keeps of the redistributors at @mem, the
 * pages the host donated for them, as many as kvm_hyp_its_rdist_pages()
 * counts for the descriptor (see its_emu_layout()).
 */
static int its_rdists_alloc(const struct kvm_hyp_its_desc *desc, void *mem)
{
	u64 nr = desc->nr_rdists, nr_regions = desc->nr_rdist_regions;

	if (!nr || !nr_regions || nr > U32_MAX || nr_regions > nr)
		return -EINVAL;

	its_rdists = mem;
	its_targets_pa = mem + nr * sizeof(struct its_rdist);
	its_targets_cpu = its_targets_pa + nr;
	its_rdist_regions = (struct its_rdist_region *)(its_targets_cpu + nr);
	its_max_rdists = nr;

	return 0;
}

/*
 * Commands may name any redistributor found, by physical address when
 * GITS_TYPER.PTA is set, by processor number otherwise (IHI 0069H,
 * GITS_TYPER.PTA): both are kept in RDbase form, bits [51:16], sorted so
 * that checking a command does not cost more on a larger machine.
 */
static void its_init_targets(void)
{
	unsigned int i;

	for (i = 0; i < its_nr_rdists; i++) {
		its_targets_pa[i] = its_rdists[i].phys >> 16;
		its_targets_cpu[i] = GICR_TYPER_CPU_NUMBER(its_rdists[i].typer);
	}
	its_cmd_sort_targets(its_targets_pa, its_nr_rdists);
	its_cmd_sort_targets(its_targets_cpu, its_nr_rdists);
}

static int __its_find_rdists(const struct kvm_hyp_its_desc *desc,
			     const struct kvm_hyp_its_rdist_region *regions, void *mem)
{
	unsigned int r;
	int ret;

	ret = its_rdists_alloc(desc, mem);
	if (ret)
		return ret;

	for (r = 0; r < desc->nr_rdist_regions; r++) {
		ret = its_walk_rdist_region(desc, &regions[r]);
		if (ret)
			return ret;
		its_merge_rdist_region();
	}
	its_init_targets();

	return its_init_lpi_bits();
}

/*
 * The redistributors are shared by all ITSs: the first handover finds them,
 * in the regions the host lists, and keeps them at @mem, in the pages that
 * came with it. Whatever that finds is final.
 */
static int its_find_rdists(const struct kvm_hyp_its_desc *desc,
			   const struct kvm_hyp_its_rdist_region *regions, void *mem)
{
	static int err = -ENODEV;

	if (!its_rdists)
		err = __its_find_rdists(desc, regions, mem);

	return err;
}

/* The RDbase form of the redistributors that this ITS's commands use. */
static void its_emu_init_targets(struct its_emu *its, u64 typer)
{
	struct its_cmd_limits *lim = &its->q.cmds.lim;

	lim->targets = typer & GITS_TYPER_PTA ? its_targets_pa : its_targets_cpu;
	lim->nr_targets = its_nr_rdists;
}

/*
 * Devices the driver mapped before the handover: the host is still trusted
 * then, but their ITTs must be pinned like any later MAPD's.
 */
static int its_emu_adopt_devices(struct its_emu *its, const struct kvm_hyp_its_desc *desc,
				 const struct kvm_hyp_its_dev *devices)
{
	u64 i;

	for (i = 0; i < desc->nr_devices; i++) {
		if (devices[i].size > U8_MAX ||
		    its_cmd_map_dev(&its->q.cmds, devices[i].devid, devices[i].size,
				    devices[i].itt))
			return -EINVAL;
	}

	return 0;
}

static bool its_desc_is_sane(const struct kvm_hyp_its_desc *desc)
{
	if (!IS_ALIGNED(desc->base, SZ_64K) || !PAGE_ALIGNED(desc->cmdq) ||
	    !PAGE_ALIGNED(desc->shadow) || !PAGE_ALIGNED(desc->cmdq_size) ||
	    !PAGE_ALIGNED(desc->status))
		return false;

	return desc->cmdq_size && desc->cmdq_size <= ITS_CMDQ_MAX_SIZE &&
	       IS_ALIGNED(desc->cmdq_size, SZ_4K) && desc->cmdq != desc->shadow;
}

/* The queue the ITS uses must be the one the host hands over, and valid. */
static int its_emu_check_cbaser(struct its_emu *its, const struct kvm_hyp_its_desc *desc)
{
	u64 cbaser = readq_relaxed(its->base + GITS_CBASER);

	if (!(cbaser & GITS_CBASER_VALID) || GITS_CBASER_ADDRESS(cbaser) != desc->cmdq ||
	    ((cbaser & 0xff) + 1) * SZ_4K != desc->cmdq_size)
		return -EINVAL;

	its->q.cbaser = cbaser;
	its->host_cbaser = (cbaser & ~GITS_CBASER_ADDRESS(~0ULL)) | desc->shadow;

	/*
	 * Decide on cache maintenance from what the ITS accepted, not from
	 * what was asked: shareability reads back as 0 if it is not supported.
	 */
	its->q.flush = !(cbaser & GITS_CBASER_SHAREABILITY_MASK) ||
		     (desc->flags & KVM_HYP_ITS_CMDQ_FLUSH);

	return 0;
}

/* Take the real queue away from the host, and keep the shadow mapped. */
static int its_emu_take_queues(struct its_emu *its, const struct kvm_hyp_its_desc *desc)
{
	u64 nr = desc->cmdq_size >> PAGE_SHIFT;
	u64 i;
	int ret;

	ret = __pkvm_host_donate_hyp(hyp_phys_to_pfn(desc->cmdq), nr);
	if (ret)
		return ret;
	its->q.cmdq = hyp_phys_to_virt(desc->cmdq);

	for (i = 0; i < nr; i++) {
		ret = __pkvm_host_share_hyp(hyp_phys_to_pfn(desc->shadow) + i);
		if (ret)
			return ret;
	}
	its->q.shadow = hyp_phys_to_virt(desc->shadow);
	ret = hyp_pin_shared_mem((void *)its->q.shadow, (void *)its->q.shadow + desc->cmdq_size);
	if (ret)
		return ret;

	/* Where the host reads GITS_CREADR without a trap. */
	ret = __pkvm_host_share_hyp(hyp_phys_to_pfn(desc->status));
	if (ret)
		return ret;
	its->q.published = hyp_phys_to_virt(desc->status);

	return hyp_pin_shared_mem(its->q.published, its->q.published + 1);
}

/* The pages the host donated for one ITS, as __pkvm_its_init() lays them out. */
struct its_emu_pages {
	struct kvm_hyp_its_desc		*desc;
	const struct kvm_hyp_its_rdist_region *regions;
	struct its_emu			*its;
	void				*rdists;
	u64				rdist_pages;
	struct its_dev_rec		*devs;
	u64				dev_slots;
};

static int its_emu_setup(const struct kvm_hyp_its_desc *desc, const struct its_emu_pages *pg)
{
	struct its_emu *its = pg->its;
	unsigned long base;
	unsigned int i;
	u64 typer;
	int ret;

	if (!its_desc_is_sane(desc))
		return -EINVAL;

	hyp_spin_lock_init(&its->lock);
	its->q.qsize = desc->cmdq_size;
	its->q.cmds.mem = &its_mem_ops;
	its->q.hw = &its_queue_hw_ops;
	its->q.hw_priv = its;

	/*
	 * What a machine can be refused for comes first, while the host still
	 * drives the ITS itself: past the limits on redistributors, the host
	 * keeps a working ITS, and protected VMs are refused.
	 */
	ret = its_find_rdists(desc, pg->regions, pg->rdists);
	if (ret)
		return ret;

	/*
	 * From here on, the host reaches the control frame only through us,
	 * and may trap on it at once (a driver still waiting for a command it
	 * sent before the handover): its_emu_handle() waits on the lock until
	 * the state is set up, or fenced.
	 */
	hyp_spin_lock(&its->lock);
	ret = __pkvm_host_donate_mmio_hyp(&its->ctrl_mmio, desc->base, ITS_CTRL_FRAME_SIZE,
					  its_emu_handle, its, &base);
	if (ret)
		goto fence;
	its->base = (void __iomem *)base;

	/*
	 * GICv4.1: GITS_SGIR, 128 KiB in, makes the ITS inject a vSGI into
	 * any vPE (IHI 0069H, GITS_SGIR). Only KVM would use it.
	 */
	if (readq_relaxed(its->base + GITS_TYPER) & GITS_TYPER_VMAPP) {
		ret = __pkvm_host_donate_mmio_frames(&its->sgir_mmio, desc->base + SZ_128K, SZ_64K,
						     SZ_64K, 1, its_sgir_handle, its);
		if (ret)
			goto fence;
	}

	typer = readq_relaxed(its->base + GITS_TYPER);
	for (i = 0; i < GITS_BASER_NR_REGS; i++)
		its->q.baser[i] = readq_relaxed(its->base + GITS_BASER + i * sizeof(u64));

	its_emu_init_limits(its, typer);
	its_emu_init_targets(its, typer);
	ret = its_emu_adopt_devices(its, desc, pg->desc->devices);
	if (ret)
		goto fence;

	ret = its_emu_check_cbaser(its, desc);
	if (ret)
		goto fence;

	ret = its_emu_take_queues(its, desc);
	if (ret)
		goto fence;

	ret = its_emu_take_tables(its);
	if (ret)
		goto fence;

	ret = its_take_rdists();
	if (ret)
		goto fence;

	if (!its_queue_init(&its->q)) {
		ret = -EINVAL;
		goto fence;
	}
	hyp_spin_unlock(&its->lock);

	return 0;

fence:
	/*
	 * Nothing taken so far can be given back: MMIO donations are one way,
	 * and the host driver may already rely on the pages pinned. Instead,
	 * the handler sees qsize == 0 and refuses every access: the ITS stays
	 * fenced off, and the failure makes protected VMs refused.
	 */
	its->q.qsize = 0;
	hyp_spin_unlock(&its->lock);

	return ret;
}

/*
 * The host sizes the device records (see pkvm_its_grow_devs()): a whole
 * number of pages, holding a power of 2 of them, and no more than twice
 * the ITTs the pages claimed can hold (kvm_hyp_its_claim_itts(1) a page),
 * counting one more page about to be claimed, call for: what a move or a
 * clear of the table costs at EL2 is bounded by what the host pinned, not
 * by what it chose to donate.
 */
static_assert(sizeof(struct its_dev_rec) == KVM_HYP_ITS_DEV_REC_SIZE);

static u64 its_dev_table_max_slots(void)
{
	u64 itts = (READ_ONCE(its_nr_claim_pages) + 1) * kvm_hyp_its_claim_itts(1);

	return max(PAGE_SIZE / sizeof(struct its_dev_rec), roundup_pow_of_two(2 * itts));
}

static u64 its_dev_table_slots(u64 nr_pages)
{
	u64 slots = (nr_pages << PAGE_SHIFT) / sizeof(struct its_dev_rec);

	if (!nr_pages || nr_pages > U32_MAX / PAGE_SIZE || (slots & (slots - 1)) ||
	    slots > its_dev_table_max_slots())
		return 0;

	return slots;
}

/* The descriptor's pages: its header, devices[] and the regions, which must fit. */
static bool its_desc_fits(const struct kvm_hyp_its_desc *desc, u64 desc_pages)
{
	u64 size = desc_pages << PAGE_SHIFT;

	if (size < sizeof(*desc) || desc->nr_devices > size / sizeof(desc->devices[0]) ||
	    desc->nr_rdist_regions > size / sizeof(struct kvm_hyp_its_rdist_region))
		return false;

	return sizeof(*desc) + desc->nr_devices * sizeof(desc->devices[0]) +
	       desc->nr_rdist_regions * sizeof(struct kvm_hyp_its_rdist_region) <= size;
}

/*
 * Lay out the @nr_pages at @pfn the host donated for one ITS, @desc_pages
 * of descriptor first: the state, what is kept of the redistributors if
 * the descriptor asks for room for them, then the device records. Returns
 * false if the layout does not add up.
 */
static bool its_emu_layout(struct its_emu_pages *pg, u64 pfn, u64 desc_pages, u64 nr_pages)
{
	u64 rdist_pfn = pfn + desc_pages + KVM_HYP_ITS_STATE_PAGES;
	u64 left = nr_pages - desc_pages - KVM_HYP_ITS_STATE_PAGES;

	BUILD_BUG_ON(sizeof(struct its_emu) > KVM_HYP_ITS_STATE_PAGES * PAGE_SIZE);

	if (desc_pages + KVM_HYP_ITS_STATE_PAGES >= nr_pages ||
	    !its_desc_fits(&its_desc, desc_pages) || its_desc.nr_rdists > U32_MAX)
		return false;

	pg->rdist_pages = 0;
	if (its_desc.nr_rdists)
		pg->rdist_pages = kvm_hyp_its_rdist_pages(its_desc.nr_rdists,
							  its_desc.nr_rdist_regions);
	if (pg->rdist_pages >= left)
		return false;

	pg->desc = hyp_phys_to_virt(hyp_pfn_to_phys(pfn));
	pg->regions = kvm_hyp_its_desc_regions(pg->desc, its_desc.nr_devices);
	pg->its = hyp_phys_to_virt(hyp_pfn_to_phys(pfn + desc_pages));
	pg->rdists = hyp_phys_to_virt(hyp_pfn_to_phys(rdist_pfn));
	pg->devs = hyp_phys_to_virt(hyp_pfn_to_phys(rdist_pfn + pg->rdist_pages));
	pg->dev_slots = its_dev_table_slots(left - pg->rdist_pages);
	/* Room for the devices already mapped, with as much to spare. */
	if (!pg->dev_slots || its_desc.nr_devices > pg->dev_slots / 2)
		return false;

	memset(pg->its, 0, (nr_pages - desc_pages) << PAGE_SHIFT);

	return true;
}

/*
 * __pkvm_its_init: the host donates @nr_pages at @pfn for one ITS: a
 * struct kvm_hyp_its_desc describing it, with the devices already mapped
 * and, for the first ITS, the redistributor regions, in the first
 * @desc_pages, then the pages of the hypervisor's state for it. The
 * descriptor's pages go back to the host once read, whatever happens; the
 * others stay with the hypervisor. Only allowed until the host ends the
 * handover (__pkvm_its_isolate, once, at the end of its init, right after
 * the host stage-2 is in place, so that host accesses to what it hands
 * over trap from the moment it is taken); any failure is remembered, and
 * protected VMs are then refused.
 */
static int __pkvm_its_init(u64 pfn, u64 desc_pages, u64 nr_pages)
{
	struct kvm_hyp_its_desc *desc = hyp_phys_to_virt(hyp_pfn_to_phys(pfn));
	struct its_emu_pages pg;
	int ret;

	if (!desc_pages || desc_pages >= nr_pages)
		return -EINVAL;

	ret = __pkvm_host_donate_hyp(pfn, nr_pages);
	if (ret)
		return ret;

	/* A private copy of the header: setup reads it more than once. */
	memcpy(&its_desc, desc, sizeof(its_desc));
	ret = -EINVAL;
	if (its_emu_layout(&pg, pfn, desc_pages, nr_pages) &&
	    its_cmd_move_devs(&pg.its->q.cmds, pg.devs, pg.dev_slots)) {
		pg.its->id = its_nr;
		ret = its_emu_setup(&its_desc, &pg);
		if (!ret) {
			pg.its->next = its_emus;
			/* Set up before it is seen, see its_emus_first(). */
			smp_store_release(&its_emus, pg.its);
			its_nr++;
		}
	}

	memset(desc, 0, desc_pages << PAGE_SHIFT);
	WARN_ON(__pkvm_hyp_donate_host(pfn, desc_pages));

	return ret;
}

int pkvm_its_init(u64 pfn, u64 desc_pages, u64 nr_pages)
{
	int ret = -EPERM;

	hyp_spin_lock(&its_setup_lock);
	if (!its_setup_closed) {
		ret = __pkvm_its_init(pfn, desc_pages, nr_pages);
		if (ret)
			its_setup_failed = true;
	}
	hyp_spin_unlock(&its_setup_lock);

	return ret;
}

static void its_count_claim(u64 nr_pages, bool claimed)
{
	hyp_assert_lock_held(&its_claim_lock);
	if (claimed) {
		WRITE_ONCE(its_nr_claims, its_nr_claims + 1);
		WRITE_ONCE(its_nr_claim_pages, its_nr_claim_pages + nr_pages);
	} else {
		WRITE_ONCE(its_nr_claims, its_nr_claims - 1);
		WRITE_ONCE(its_nr_claim_pages, its_nr_claim_pages - nr_pages);
	}
}

/*
 * __pkvm_its_claim_itt: the driver sets @nr_pages of its own aside for
 * ITTs. They stay pinned, and usable by MAPD, until released; a page
 * still named by a mapped device stays pinned after its release. The
 * claims are counted in each page (see __pkvm_host_claim_device_pages()),
 * so there is no table of them here to fill up.
 */
int pkvm_its_claim_itt(u64 pfn, u64 nr_pages)
{
	int ret;

	/* No ITT may be larger (see its_cmd_map_dev()): nor may a claim. */
	if (nr_pages > ITS_CMD_MAX_ITT_PAGES)
		return -E2BIG;

	hyp_spin_lock(&its_claim_lock);
	ret = __pkvm_host_claim_device_pages(pfn, nr_pages);
	if (!ret)
		its_count_claim(nr_pages, true);
	hyp_spin_unlock(&its_claim_lock);

	return ret;
}

/* __pkvm_its_release_itt: only ever drops claims the host made. */
int pkvm_its_release_itt(u64 pfn, u64 nr_pages)
{
	int ret;

	hyp_spin_lock(&its_claim_lock);
	ret = __pkvm_host_release_device_pages(pfn, nr_pages);
	if (!ret)
		its_count_claim(nr_pages, false);
	hyp_spin_unlock(&its_claim_lock);

	return ret;
}

static struct its_emu *its_emus_first(void)
{
	/* Pairs with the release in __pkvm_its_init(): an ITS is seen set up. */
	return smp_load_acquire(&its_emus);
}

static struct its_emu *its_emu_find(u64 id)
{
	struct its_emu *its;

	for (its = its_emus_first(); its; its = its->next) {
		if (its->id == id)
			return its;
	}

	return NULL;
}

/*
 * __pkvm_its_grow_devs: the host donates @nr_pages at @pfn for a larger
 * table of device records for the ITS @id, which the hypervisor moves its
 * records to. The host sizes it from the ITT memory it claimed (every
 * device's ITT takes at least 256 bytes of it), so that the table never
 * fills up for a driver that plays by the rules. Whichever table is left
 * unused, the old one or the one offered, goes back to the host cleared.
 */
int pkvm_its_grow_devs(u64 id, u64 pfn, u64 nr_pages)
{
	u64 slots = its_dev_table_slots(nr_pages);
	struct its_dev_rec *table;
	struct its_emu *its;
	bool moved = false;
	int ret;

	its = its_emu_find(id);
	/*
	 * Only a larger table is taken, as below, but checked here too, before
	 * the donation and the clearing: a host offering the same table again
	 * and again costs EL2 nothing.
	 */
	if (!its || slots <= READ_ONCE(its->q.cmds.nr_slots))
		return -EINVAL;

	ret = __pkvm_host_donate_hyp(pfn, nr_pages);
	if (ret)
		return ret;
	table = hyp_phys_to_virt(hyp_pfn_to_phys(pfn));
	memset(table, 0, nr_pages << PAGE_SHIFT);

	hyp_spin_lock(&its->lock);
	/* A fenced ITS refuses every command: its records no longer matter. */
	if (its->q.qsize) {
		struct its_dev_rec *old = its->q.cmds.dev;
		u64 old_slots = its->q.cmds.nr_slots;

		moved = its_cmd_move_devs(&its->q.cmds, table, slots);
		if (moved) {
			table = old;
			slots = old_slots;
		}
	}
	hyp_spin_unlock(&its->lock);

	/* The table no longer in use: whole pages, see its_dev_table_slots(). */
	nr_pages = (slots * sizeof(*table)) >> PAGE_SHIFT;
	memset(table, 0, nr_pages << PAGE_SHIFT);
	WARN_ON(__pkvm_hyp_donate_host(hyp_virt_to_pfn(table), nr_pages));

	return moved ? 0 : -EINVAL;
}

static void its_system_suspend(bool suspending)
{
	struct its_emu *its;

	for (its = its_emus_first(); its; its = its->next) {
		hyp_spin_lock(&its->lock);
		its_queue_suspend(&its->q, suspending);
		hyp_spin_unlock(&its->lock);
	}
}

/*
 * PSCI SYSTEM_SUSPEND: firmware may power the ITSs down, and restore their
 * queue registers or not. See its_queue_suspend().
 */
void pkvm_its_system_suspend(void)
{
	WRITE_ONCE(its_suspending, true);
	its_system_suspend(true);
}

/* Back from a suspend, or it failed: the host may enable the ITSs again. */
void pkvm_its_system_resume(void)
{
	if (READ_ONCE(its_suspending)) {
		WRITE_ONCE(its_suspending, false);
		its_system_suspend(false);
	}
}

/*
 * __pkvm_its_isolate: the host handed over the @nr_its ITSs the firmware
 * describes, and each handover succeeded. Only then are protected VMs
 * allowed (KVM_HYP_ITS_NOT_ISOLATED never matches). The host ends its
 * handover with this call whatever happened, and the decision is final:
 * no ITS can be handed over after it, which could fail and leave an ITS
 * with the host, or hand over state the host set up in the meantime.
 */
int pkvm_its_isolate(u64 nr_its)
{
	int ret = -ENODEV;

	hyp_spin_lock(&its_setup_lock);
	if (its_setup_closed) {
		ret = -EPERM;
	} else {
		if (!its_setup_failed && nr_its == its_nr)
			ret = 0;
		WRITE_ONCE(its_isolated, !ret);
		its_setup_closed = true;
	}
	hyp_spin_unlock(&its_setup_lock);

	return ret;
}

bool pkvm_its_isolated(void)
{
	return READ_ONCE(its_isolated);
}
