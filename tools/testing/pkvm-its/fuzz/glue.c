// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace mirror of the command queue glue of
 * arch/arm64/kvm/hyp/nvhe/its_emulate.c: CWRITER/CREADR arithmetic, the
 * sequence accounting that drives its_cmd_retire(), the room check, the
 * CBASER and BASERn restore, the limits and targets, and the ITT claim
 * table. Every function names the one it mirrors and keeps its logic line
 * for line; only locking, cache maintenance and the MMIO accessors differ
 * (MMIO goes to the model ITS of fuzz.c). When this code moves into
 * its_cmd.c, delete this file and call the real functions instead.
 */

#include <string.h>

#include "harness.h"

#define ITS_CMDQ_MAX_SIZE	(64 * 1024ULL)
#define ITS_QUEUE_OFFSET	GENMASK_ULL(19, 5)
#define GITS_CWRITER_RETRY	BIT_ULL(0)

static struct its_itt_claim its_claims[PKVM_MAX_ITT_CLAIMS];

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

/* its_emulate.c: its_hw_quiescent() */
static bool its_hw_quiescent(struct its_emu *its)
{
	u32 ctlr = hw_mmio_read(GITS_CTLR);

	return !(ctlr & GITS_CTLR_ENABLE) && (ctlr & GITS_CTLR_QUIESCENT);
}

/* its_emulate.c: its_hw_creadr() */
static u64 its_hw_creadr(struct its_emu *its)
{
	u64 rd = hw_mmio_read(GITS_CREADR) & ITS_QUEUE_OFFSET;

	if (its_queue_offset_valid(rd, its->qsize))
		its->creadr = rd;

	return its->creadr;
}

/* its_emulate.c: its_emu_retire() */
static void its_emu_retire(struct its_emu *its, u64 rd)
{
	u64 pending = its_queue_used(rd, its->cwriter, its->qsize) / ITS_CMD_BYTES;

	its_cmd_retire(&its->cmds, its->cmds.seq - pending);
}

/* its_emulate.c: its_emu_copy_cmd(), without the PoC clean of a non-coherent ITS. */
static void its_emu_copy_cmd(struct its_emu *its, u64 off)
{
	const u64 *src = its->shadow + off / sizeof(u64);
	u64 *dst = its->cmdq + off / sizeof(u64);
	u64 in[ITS_CMD_DWORDS], out[ITS_CMD_DWORDS];
	unsigned int i;

	for (i = 0; i < ITS_CMD_DWORDS; i++)
		in[i] = src[i];

	its_cmd_check(&its->cmds, in, out);

	for (i = 0; i < ITS_CMD_DWORDS; i++)
		dst[i] = out[i];
}

/* its_emulate.c: its_emu_write_cwriter() */
bool its_emu_write_cwriter(struct its_emu *its, u64 val)
{
	u64 retry = val & GITS_CWRITER_RETRY;
	u64 rd, room, off;

	its->nr_cwriter_writes++;
	val &= ~GITS_CWRITER_RETRY;
	if (!its_queue_offset_valid(val, its->qsize))
		return false;

	rd = its_hw_creadr(its);
	its_emu_retire(its, rd);

	room = its->qsize - ITS_CMD_BYTES - its_queue_used(rd, its->cwriter, its->qsize);
	if (its_queue_used(its->cwriter, val, its->qsize) > room)
		return false;

	for (off = its->cwriter; off != val; off = its_queue_next(off, its->qsize))
		its_emu_copy_cmd(its, off);

	its->cwriter = val;
	hw_mmio_write(GITS_CWRITER, val | retry);

	return true;
}

/* its_emulate.c: its_emu_write_cbaser() */
bool its_emu_write_cbaser(struct its_emu *its)
{
	u64 rd;

	if (!its_hw_quiescent(its))
		return false;

	if (hw_mmio_read(GITS_CBASER) == its->cbaser)
		rd = its_hw_creadr(its);
	else
		rd = its->creadr;
	if (rd != its->cwriter)
		return false;

	its_emu_retire(its, rd);
	hw_mmio_write(GITS_CBASER, its->cbaser);
	its->cwriter = 0;
	its->creadr = 0;
	hw_mmio_write(GITS_CWRITER, 0);

	return true;
}

/* its_emulate.c: its_emu_write_baser() */
bool its_emu_write_baser(struct its_emu *its, u64 offset)
{
	unsigned int n = (offset - GITS_BASER) / sizeof(u64);

	if (!its_hw_quiescent(its))
		return false;

	hw_mmio_write(GITS_BASER + n * sizeof(u64), its->baser[n]);

	return true;
}

/* its_emulate.c: its_emu_write_ctlr() */
bool its_emu_write_ctlr(struct its_emu *its, u64 val)
{
	hw_mmio_write(GITS_CTLR, val & GITS_CTLR_ENABLE);

	return true;
}

/* its_emulate.c: its_emu_read(), case GITS_CREADR (64-bit access). */
u64 its_emu_read_creadr(struct its_emu *its)
{
	u64 val = hw_mmio_read(GITS_CREADR);

	its_emu_retire(its, its_hw_creadr(its));

	return val;
}

/* its_emulate.c: its_emu_read(), case GITS_CWRITER (64-bit access). */
u64 its_emu_read_cwriter(struct its_emu *its)
{
	return its->cwriter;
}

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
static void its_emu_init_limits(struct its_emu *its, const struct its_emu_hw_id *id,
				u8 its_lpi_bits)
{
	struct its_cmd_limits *lim = &its->cmds.lim;
	u64 devids = BIT_ULL(id->devbits);
	u64 icids = id->ct_entries;

	lim->nr_devids = min(devids, id->dt_entries);
	lim->nr_icids = min(max(icids, id->hcc), BIT(16));
	lim->max_size = id->idbits;
	lim->lpi_bits = its_lpi_bits;
	lim->itt_entry_size = id->itt_entry_size;
	lim->page_shift = MODEL_PAGE_SHIFT;
}

/* its_emulate.c: its_emu_init_targets() */
static void its_emu_init_targets(struct its_emu *its, const struct its_emu_hw_id *id)
{
	struct its_cmd_limits *lim = &its->cmds.lim;
	unsigned int i;

	for (i = 0; i < id->nr_rdists; i++) {
		if (id->typer & GITS_TYPER_PTA)
			lim->targets[i] = id->rdist_phys[i] >> 16;
		else
			lim->targets[i] = GICR_TYPER_CPU_NUMBER(id->rdist_typer[i]);
	}
	lim->nr_targets = id->nr_rdists;
}

/*
 * its_emulate.c: its_emu_setup(), the parts that set up the queue state,
 * the limits and the targets; the table and MMIO donations are the model's
 * initial page ownership instead, its_find_rdists() the model's list.
 */
int its_emu_setup_model(struct its_emu *its, const struct its_emu_hw_id *id, u64 *cmdq,
			const u64 *shadow, u64 qsize, u64 cbaser)
{
	unsigned int i;

	memset(its, 0, sizeof(*its));
	if (!qsize || qsize > ITS_CMDQ_MAX_SIZE || qsize % 4096)
		return -1;
	if (!id->nr_rdists || id->nr_rdists > ITS_CMD_MAX_TARGETS)
		return -1;

	its->qsize = qsize;
	its->cmds.mem = &its_mem_ops;
	/* As its_emu_setup(): start one queue in, so "written - pending" cannot wrap. */
	its->cmds.seq = its->qsize / ITS_CMD_BYTES;
	its->cmdq = cmdq;
	its->shadow = shadow;
	its->cbaser = cbaser;
	for (i = 0; i < GITS_BASER_NR_REGS; i++)
		its->baser[i] = hw_mmio_read(GITS_BASER + i * sizeof(u64));

	its_emu_init_limits(its, id, its_init_lpi_bits(id));
	its_emu_init_targets(its, id);

	its->cwriter = hw_mmio_read(GITS_CWRITER) & ITS_QUEUE_OFFSET;
	its->creadr = hw_mmio_read(GITS_CREADR) & ITS_QUEUE_OFFSET;
	if (!its_queue_offset_valid(its->cwriter, its->qsize) ||
	    !its_queue_offset_valid(its->creadr, its->qsize))
		return -1;

	return 0;
}

/* its_emulate.c: pkvm_its_claim_itt() */
int pkvm_its_claim_itt(u64 pfn, u64 nr_pages)
{
	struct its_itt_claim *c = NULL;
	unsigned int i;
	int ret;

	if (!nr_pages || nr_pages > PKVM_MAX_ITT_CLAIM_PAGES)
		return -22;

	for (i = 0; i < PKVM_MAX_ITT_CLAIMS && !c; i++) {
		if (!its_claims[i].nr_pages)
			c = &its_claims[i];
	}
	ret = c ? __pkvm_host_pin_device_pages(pfn, nr_pages) : -28;
	if (!ret) {
		c->pfn = pfn;
		c->nr_pages = nr_pages;
	}

	return ret;
}

/* its_emulate.c: pkvm_its_release_itt() */
int pkvm_its_release_itt(u64 pfn, u64 nr_pages)
{
	unsigned int i;
	int ret = -2;

	for (i = 0; i < PKVM_MAX_ITT_CLAIMS; i++) {
		struct its_itt_claim *c = &its_claims[i];

		if (c->nr_pages && c->pfn == pfn && c->nr_pages == nr_pages) {
			__pkvm_host_unpin_device_pages(pfn, nr_pages);
			c->nr_pages = 0;
			ret = 0;
			break;
		}
	}

	return ret;
}

/* The claim table is a hypervisor global: reset it between fuzz inputs. */
void its_claims_reset(void)
{
	memset(its_claims, 0, sizeof(its_claims));
}

const struct its_itt_claim *its_claims_table(void)
{
	return its_claims;
}
