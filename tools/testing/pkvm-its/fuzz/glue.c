// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace mirror of what arch/arm64/kvm/hyp/nvhe/its_emulate.c adds
 * around the validator and the queue of its_cmd.c: the limits and targets
 * it reads from the hardware at handover, and the ITT claims. Every
 * function names the one it mirrors and keeps its logic line for line;
 * only locking and the register accessors differ (they reach the model
 * machine of fuzz.c).
 */

#include <string.h>

#include "harness.h"

#define ITS_CMDQ_MAX_SIZE	(64 * 1024ULL)

/* its_emulate.c: its_pin() */
static int its_pin(u64 pfn, u64 nr_pages)
{
	return __pkvm_host_ref_device_pages(pfn, nr_pages);
}

/* its_emulate.c: its_unpin() */
static void its_unpin(u64 pfn, u64 nr_pages)
{
	__pkvm_host_unpin_device_pages(pfn, nr_pages);
}

/* its_emulate.c: its_mem_ops */
static const struct its_cmd_mem_ops its_mem_ops = {
	.pin	= its_pin,
	.unpin	= its_unpin,
};

/* its_emulate.c: its_queue_hw_ops, on the model ITS; the model is coherent. */
static u64 its_queue_read(void *hw, u32 offset)
{
	return hw_mmio_read(offset);
}

static void its_queue_write(void *hw, u32 offset, u64 val)
{
	hw_mmio_write(offset, val);
}

static const struct its_queue_hw_ops its_queue_hw_ops = {
	.read	= its_queue_read,
	.write	= its_queue_write,
};

/*
 * its_emulate.c: its_init_lpi_bits(), on the model's redistributors (all
 * with LPIs enabled) instead of their frames.
 */
static u8 its_init_lpi_bits(const struct its_emu_hw_id *id)
{
	unsigned int i;
	u8 bits = 0xff;

	for (i = 0; i < id->nr_rdists; i++)
		bits = min(bits, (u8)((id->rdist_propbaser[i] & GICR_PROPBASER_IDBITS_MASK) + 1));

	return bits;
}

/*
 * its_emulate.c: its_emu_init_limits(), from the ID register fields
 * instead of the registers themselves.
 */
static void its_emu_init_limits(struct its_queue *q, const struct its_emu_hw_id *id,
				u8 its_lpi_bits)
{
	struct its_cmd_limits *lim = &q->cmds.lim;
	u64 devids = BIT_ULL(id->devbits);
	u64 icids = id->ct_entries;

	lim->nr_devids = min(devids, id->dt_entries);
	lim->nr_icids = min(max(icids, id->hcc), BIT(16));
	lim->max_size = id->idbits;
	lim->lpi_bits = its_lpi_bits;
	lim->itt_entry_size = id->itt_entry_size;
	lim->page_shift = MODEL_PAGE_SHIFT;
}

static u64 its_targets_pa[MODEL_MAX_RDISTS], its_targets_cpu[MODEL_MAX_RDISTS];

/* its_emulate.c: its_init_targets(), on the model's redistributors */
static void its_init_targets(const struct its_emu_hw_id *id)
{
	unsigned int i;

	for (i = 0; i < id->nr_rdists; i++) {
		its_targets_pa[i] = id->rdist_phys[i] >> 16;
		its_targets_cpu[i] = GICR_TYPER_CPU_NUMBER(id->rdist_typer[i]);
	}
	its_cmd_sort_targets(its_targets_pa, id->nr_rdists);
	its_cmd_sort_targets(its_targets_cpu, id->nr_rdists);
}

/* its_emulate.c: its_emu_init_targets() */
static void its_emu_init_targets(struct its_queue *q, const struct its_emu_hw_id *id)
{
	struct its_cmd_limits *lim = &q->cmds.lim;

	lim->targets = id->typer & GITS_TYPER_PTA ? its_targets_pa : its_targets_cpu;
	lim->nr_targets = id->nr_rdists;
}

/*
 * its_emulate.c: its_emu_setup(), the parts that set up the queue, the
 * limits and the targets; the table and MMIO donations are the model's
 * initial page ownership instead, its_find_rdists() the model's list.
 */
/* The table in use and the one a grow moves to; see its_emu_grow_model(). */
static struct its_dev_rec dev_slots[2][MODEL_DEV_SLOTS_MAX];
static unsigned int dev_cur;

int its_emu_setup_model(struct its_queue *q, const struct its_emu_hw_id *id, u64 *cmdq,
			const u64 *shadow, u64 qsize, u64 cbaser)
{
	unsigned int i;

	memset(q, 0, sizeof(*q));
	if (!qsize || qsize > ITS_CMDQ_MAX_SIZE || qsize % 4096)
		return -1;
	if (!id->nr_rdists || id->nr_rdists > MODEL_MAX_RDISTS)
		return -1;

	q->qsize = qsize;
	q->cmds.mem = &its_mem_ops;
	q->hw = &its_queue_hw_ops;
	for (i = 0; i < GITS_BASER_NR_REGS; i++)
		q->baser[i] = hw_mmio_read(GITS_BASER + i * sizeof(u64));

	its_emu_init_limits(q, id, its_init_lpi_bits(id));
	its_init_targets(id);
	its_emu_init_targets(q, id);
	memset(dev_slots, 0, sizeof(dev_slots));
	dev_cur = 0;
	if (!its_cmd_move_devs(&q->cmds, dev_slots[0], MODEL_DEV_SLOTS))
		return -1;

	q->cbaser = cbaser;
	/* The queues are little-endian, and so is the host the model runs on. */
	q->cmdq = (__le64 *)cmdq;
	q->shadow = (const __le64 *)shadow;

	return its_queue_init(q) ? 0 : -1;
}

/*
 * its_emulate.c: pkvm_its_grow_devs(), the host offering a table twice as
 * large: the records move to it, and the old one is cleared.
 */
int its_emu_grow_model(struct its_queue *q)
{
	unsigned int next = !dev_cur;

	if (q->cmds.nr_slots >= MODEL_DEV_SLOTS_MAX)
		return -1;

	memset(dev_slots[next], 0, sizeof(dev_slots[next]));
	if (!its_cmd_move_devs(&q->cmds, dev_slots[next], 2 * q->cmds.nr_slots))
		return -1;

	memset(dev_slots[dev_cur], 0, sizeof(dev_slots[dev_cur]));
	dev_cur = next;

	return 0;
}

/* its_emulate.c: pkvm_its_claim_itt(), without the counts it traces */
int pkvm_its_claim_itt(u64 pfn, u64 nr_pages)
{
	if (nr_pages > ITS_CMD_MAX_ITT_PAGES)
		return -7;

	return __pkvm_host_claim_device_pages(pfn, nr_pages);
}

/* its_emulate.c: pkvm_its_release_itt(), without the counts it traces */
int pkvm_its_release_itt(u64 pfn, u64 nr_pages)
{
	return __pkvm_host_release_device_pages(pfn, nr_pages);
}
