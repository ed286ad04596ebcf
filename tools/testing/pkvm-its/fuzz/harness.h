/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interfaces between the three parts of the ITS validator fuzzer:
 *  - fuzz.c: the model machine (pages, mem_protect pins, the ITS itself),
 *    the input decoder and the oracles; it drives the real validator and
 *    queue of its_cmd.c;
 *  - glue.c: what its_emulate.c adds around them at handover (limits and
 *    targets read from the hardware) and the ITT claims, mirrored;
 *  - wrap.c: the only place that knows the layout of struct its_cmd_state,
 *    so that changes of its_cmd.h stay a few lines away.
 */
#ifndef __ITS_FUZZ_HARNESS_H
#define __ITS_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bits.h>
#include <linux/compiler.h>
#include <linux/kernel.h>
#include <linux/types.h>
#include <linux/irqchip/arm-gic-v3.h>

#include <nvhe/its_cmd.h>

#define MODEL_PAGE_SHIFT	12
#define MODEL_PAGE_SIZE		BIT_ULL(MODEL_PAGE_SHIFT)
#define MODEL_NR_PAGES		64
/* 2 GiB: any plausible DRAM base, far from 0 so that small garbage misses it. */
#define MODEL_PFN_BASE		0x80000ULL
#define MODEL_QSIZE_MAX		(2 * 4096)

/* --- fuzz.c: what the glue reaches in the model machine ------------------ */

/* The ITS control frame, as the hypervisor's readq/writeq see it. */
u64 hw_mmio_read(u64 offset);
void hw_mmio_write(u64 offset, u64 val);

/* mem_protect.c, modelled on the page array of fuzz.c. */
int __pkvm_host_claim_device_pages(u64 pfn, u64 nr_pages);
int __pkvm_host_ref_device_pages(u64 pfn, u64 nr_pages);
void __pkvm_host_unpin_device_pages(u64 pfn, u64 nr_pages);
int __pkvm_host_release_device_pages(u64 pfn, u64 nr_pages);

/* --- glue.c: mirror of its_emulate.c ------------------------------------- */

/*
 * Device record slots: the hypervisor's smallest table, which the host
 * may replace with larger ones (its_emu_grow_model()), up to a bound.
 */
#define MODEL_DEV_SLOTS			128
#define MODEL_DEV_SLOTS_MAX		2048

/* How many redistributors the model has: the targets commands may name. */
#define MODEL_MAX_RDISTS	4

/*
 * What its_emu_init_limits() and its_emu_init_targets() read from
 * GITS_TYPER, GITS_BASERn and the redistributors.
 */
struct its_emu_hw_id {
	u64	typer;			/* GITS_TYPER: only PTA is read from it */
	u64	devbits;		/* GITS_TYPER.Devbits + 1 */
	u64	dt_entries;		/* Device Table capacity */
	u64	ct_entries;		/* Collection Table capacity */
	u64	hcc;			/* GITS_TYPER.HCC */
	u64	idbits;			/* GITS_TYPER.ID_bits */
	u64	itt_entry_size;		/* GITS_TYPER.ITT_entry_size + 1 */
	unsigned int nr_rdists;
	u64	rdist_phys[MODEL_MAX_RDISTS];		/* RD_base */
	u64	rdist_typer[MODEL_MAX_RDISTS];		/* GICR_TYPER */
	u64	rdist_propbaser[MODEL_MAX_RDISTS];	/* GICR_PROPBASER */
};

int its_emu_setup_model(struct its_queue *q, const struct its_emu_hw_id *id, u64 *cmdq,
			const u64 *shadow, u64 qsize, u64 cbaser);
int pkvm_its_claim_itt(u64 pfn, u64 nr_pages);
int pkvm_its_release_itt(u64 pfn, u64 nr_pages);
int its_emu_grow_model(struct its_queue *q);

/* --- wrap.c: the validator's state, seen from the oracles ---------------- */

struct vc_rec {
	u32	devid;
	bool	unmapping;		/* MAPD V=0 queued, pins still held */
	u8	size;
	u64	itt_pfn;
	u64	itt_nr_pages;
};

struct vc_limits {
	u64	nr_devids;
	u64	nr_icids;
	u64	max_size;
	u64	lpi_bits;
	u64	itt_entry_size;
	u32	nr_targets;
	const u64 *targets;
};

void vc_limits(const struct its_cmd_state *st, struct vc_limits *l);
/* Fills @out with the live device records, returns how many. */
unsigned int vc_records(const struct its_cmd_state *st, struct vc_rec *out, unsigned int max);
u64 vc_nr_refused(const struct its_cmd_state *st);

#endif /* __ITS_FUZZ_HARNESS_H */
