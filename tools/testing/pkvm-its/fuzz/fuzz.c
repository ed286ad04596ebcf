// SPDX-License-Identifier: GPL-2.0
/*
 * Coverage-guided fuzzer of the pKVM ITS command validator and of the
 * proxied command queue (its_cmd.c), against a page-ownership oracle.
 *
 * The input drives a small model machine: MODEL_NR_PAGES physical pages,
 * each owned by the host, the hypervisor or a protected VM, with the pin
 * count of mem_protect.c (a pinned page stays host-owned and cannot be
 * donated); the hypervisor, i.e. the validator, the queue and the ITT claim
 * table; and the ITS, modelled as the bus master it is: it executes the
 * real queue, from the re-encoded bytes the hypervisor wrote, with its own
 * Device Table and its own command checks, reads and writes ITEs wherever
 * its DTEs say, resets CREADR on a GITS_CBASER write and is only Quiescent
 * some operations after being disabled. The host writes any command into the
 * shadow queue, writes GITS_CWRITER (with Retry), GITS_CBASER, GITS_BASERn
 * and GITS_CTLR, reads GITS_CREADR, claims and releases ITTs, donates pages
 * and takes them back, and makes devices send MSIs; the hardware may report
 * a CREADR outside the queue; the ITS may be powered down, through a
 * system suspend the hypervisor sees or behind its back, with or without
 * the driver disabling it first, and firmware then loses its queue and
 * table registers, restores them (GITS_CREADR back to 0, so the ITS runs
 * the queue again from its start) or keeps them, and enables it again
 * when the hypervisor saw the suspend. The
 * oracle: every ITE access of the ITS hits a pinned host page; every
 * command reaching the ITS has an allowed opcode (MOVALL and GICv4 never),
 * no bit outside its fields and in-range IDs; GITS_CBASER and GITS_BASERn
 * are only written quiescent, with the hypervisor's values; after every
 * operation that changed a pin, an owner or a DTE (and every
 * FULL_CHECK_EVERY operations in full): pinned pages are host-owned, each
 * page's pins are exactly what the claims and the device records account
 * for, and every valid DTE has a record pinning its whole ITT; no unpin of
 * an unpinned page; at the end of every input the host unmaps everything
 * and releases every claim, and nothing may remain, unless the ITS stopped
 * with commands pending and cannot be enabled again (see teardown()).
 * A failure is an abort() with an "ORACLE:" message.
 *
 * Set FUZZ_TRACE=1 in the environment to print every operation.
 */

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#ifndef ORACLE_ACCESS_ONLY
#define ORACLE_ACCESS_ONLY	0
#endif

/*
 * The oracle walks (every page, the records, every DTE) run after most
 * operations: comparison tracing there would cost more than the code under
 * test and tell libFuzzer nothing about it. Coverage of the oracle code
 * itself is no useful signal either.
 */
#if defined(__clang__)
#define ORACLE_NOCOV	__attribute__((no_sanitize("coverage")))
#else
#define ORACLE_NOCOV
#endif

enum owner { OWN_HOST, OWN_HYP, OWN_PVM };
static const char *const owner_name[] = { "HOST", "HYP", "PVM" };

/* The hypervisor's Device and Collection Tables: the only pages the ITS may write that it owns. */
#define PFN_DT		(MODEL_PFN_BASE + 0)
#define PFN_CT		(MODEL_PFN_BASE + 1)
/* A protected VM owns the last pages from the start. */
#define PVM_FIRST	(MODEL_NR_PAGES - 4)

struct mpage {
	u8	owner;
	u16	ref;		/* hyp_page refcount: pins of a DEVICE_PINNED host page */
	u16	claims;		/* hyp_page host_device_claims: the pins claims hold */
};

struct hw_dte {
	u32	devid;
	u8	size;
	u64	itt;
};

#define HW_MAX_DTE	512

/* The ITS as the hardware sees itself. */
struct hw_its {
	bool		enabled;
	/* Operations until Quiescent is set after disabling: transactions in flight. */
	unsigned int	quiesce_wait;
	unsigned int	next_quiesce_wait;	/* for the next disable */
	/* Broken hardware: the next reads of GITS_CREADR return @creadr_bogus. */
	unsigned int	creadr_glitches;
	u64		creadr_bogus;
	u64		baser[GITS_BASER_NR_REGS];
	u64		cbaser;
	u64		creadr;
	u64		cwriter;
	u64		nr_devids;	/* min(2^Devbits, Device Table capacity) */
	u64		nr_icids;
	u64		hcc;
	u64		idbits;
	u64		lpi_bits;
	u64		esz;
	unsigned int	nr_targets;
	u64		targets[MODEL_MAX_RDISTS];	/* what RDbase may name */
	struct hw_dte	dte[HW_MAX_DTE];
	unsigned int	nr_dte;
};

static struct mpage pg[MODEL_NR_PAGES];
static struct hw_its hw;
/* What the hypervisor programmed: the only values it may write back. */
static u64 hw_cbaser0;
static u64 hw_baser0[GITS_BASER_NR_REGS];
static struct its_queue emu;
static struct its_emu_hw_id hwid;
static u64 cmdq[MODEL_QSIZE_MAX / 8];
static u64 shadow[MODEL_QSIZE_MAX / 8];
static u64 hp;			/* the host driver's next shadow slot */

/* Statistics, cumulative over inputs; printed in trace mode. */
static struct {
	u64 ite_writes, ite_reads, dte_writes, cte_writes, hw_errors, noted, dropped;
	u64 donations_ok, donations_refused, retries, creadr_glitches;
	u64 cbaser_resets, cbaser_ignored;
	u64 baser_writes, power_cycles, dead;
} stats;

/*
 * Set whenever something the invariants depend on changes: a pin count, a
 * page owner, a DTE. Record and claim changes always go with a pin change,
 * so a clean operation needs no check; a full one still runs every
 * FULL_CHECK_EVERY operations and at the end of every input.
 */
static bool dirty;
/* -DFULL_CHECK_EVERY=1: a full check after every operation, whatever changed. */
#ifndef FULL_CHECK_EVERY
#define FULL_CHECK_EVERY	16
#endif
/* Pins of each page the model granted to ITT claims, kept by the model itself. */
static unsigned int claim_pins[MODEL_NR_PAGES];

static const u8 *in_p;
static size_t in_n;
static unsigned int op_idx;
static const char *op_cur = "init";
static int trace = -1;

#define TRACE(...)	do { if (trace) fprintf(stderr, __VA_ARGS__); } while (0)

static __noreturn __printf(1, 2) void oracle_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ORACLE: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (operation #%u %s)\n", op_idx, op_cur);
	abort();
}

/* ---- input decoding ------------------------------------------------------ */

static u8 get8(void)
{
	if (!in_n)
		return 0;
	in_n--;
	return *in_p++;
}

static u64 getn(unsigned int bytes)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < bytes; i++)
		v |= (u64)get8() << (8 * i);

	return v;
}

#define get16()	((u16)getn(2))
#define get32()	((u32)getn(4))
#define get64()	getn(8)

/*
 * Every field generator reads a selector byte: its low 3 bits pick a kind
 * of value biased towards limits and boundaries, kind 7 always means "raw
 * value follows" (hand-written seeds use it).
 */
#define RAW	7

static u64 pa(u64 pfn)
{
	return pfn << MODEL_PAGE_SHIFT;
}

static u32 gen_devid(void)
{
	u8 s = get8(), k = s >> 3;

	switch (s & 7) {
	case 0: case 1: case 2:
		return k & 7;
	case 3:
		return (u32)(hw.nr_devids - 1 - (k & 3));
	case 4:
		return (u32)(hw.nr_devids + (k & 3));
	case 5:
		return k;
	case 6:
		return 0xffffffffu - k;
	default:
		return get32();
	}
}

static u32 gen_eventid(void)
{
	u8 s = get8(), k = s >> 3;
	/* A guess at the device's Size, for the boundary cases. */
	u64 lim = BIT_ULL((get8() & 31) + 1);

	switch (s & 7) {
	case 0: case 1: case 2:
		return k;
	case 3:
		return (u32)(lim - 1);
	case 4:
		return (u32)lim;
	case 5:
		return (u32)(BIT_ULL(hw.idbits + 1) - 1 + (k & 1));
	case 6:
		return 0xffffffffu;
	default:
		return get32();
	}
}

static u32 gen_intid(void)
{
	u8 s = get8(), k = s >> 3;

	switch (s & 7) {
	case 0: case 1: case 2:
		return GIC_LPI_OFFSET + k;
	case 3:
		return GIC_LPI_OFFSET - 1 - k;
	case 4:
		return (u32)(BIT_ULL(hw.lpi_bits) - 1 - (k & 3));
	case 5:
		return (u32)(BIT_ULL(hw.lpi_bits) + (k & 3));
	case 6:
		return k;
	default:
		return get32();
	}
}

static u16 gen_icid(void)
{
	u8 s = get8(), k = s >> 3;

	switch (s & 7) {
	case 0: case 1: case 2:
		return k & 3;
	case 3:
		return (u16)(hw.nr_icids - 1);
	case 4:
		return (u16)hw.nr_icids;
	case 5: case 6:
		return 0xffff - k;
	default:
		return get16();
	}
}

/* Past every valid RDbase, whatever their order. */
static u64 max_target(void)
{
	u64 max = 0;
	unsigned int i;

	for (i = 0; i < hw.nr_targets; i++)
		max = hw.targets[i] > max ? hw.targets[i] : max;

	return max;
}

static u64 gen_rdbase(void)
{
	u8 s = get8(), k = s >> 3;

	switch (s & 7) {
	case 0: case 1: case 2: case 3:
		return hw.targets[k % hw.nr_targets];
	case 4:
		return max_target() + 1 + k;
	case 5: case 6:
		return GENMASK_ULL(35, 0) - k;
	default:
		return get64();
	}
}

static u8 gen_size(void)
{
	u8 s = get8(), k = s >> 3;

	switch (s & 7) {
	case 0: case 1: case 2:
		return k & 7;
	case 3:
		return hw.idbits;
	case 4:
		return hw.idbits + 1;
	case 5: case 6:
		return 31 - (k & 3);
	default:
		return get8();
	}
}

/* An ITT address: mostly inside the model pages, often near a page end. */
static u64 gen_itt(void)
{
	u8 s = get8(), k = s >> 3;
	u64 pfn = MODEL_PFN_BASE + (get8() % (MODEL_NR_PAGES + 4)) - 2;

	switch (s & 7) {
	case 0: case 1: case 2:
		return pa(pfn) + (k & 15) * 256;
	case 3:
		return pa(pfn) + MODEL_PAGE_SIZE - 256 * (1 + (k & 3));
	case 4:
		return pa(pfn) + 16;
	case 5:
		return GENMASK_ULL(51, 8) - 256 * k;
	case 6:
		return pa(pfn);
	default:
		return get64();
	}
}

static u64 gen_pfn(void)
{
	u8 s = get8(), k = s >> 2;

	switch (s & 3) {
	case 0: case 1:
		return MODEL_PFN_BASE + get8() % MODEL_NR_PAGES;
	case 2:
		return k & 1 ? MODEL_PFN_BASE - 1 - (k >> 1 & 1) :
			       MODEL_PFN_BASE + MODEL_NR_PAGES - 1 - (k >> 1 & 3);
	default:
		return get64();
	}
}

static u64 gen_nr_pages(void)
{
	u8 s = get8(), k = s >> 2;

	switch (s & 3) {
	case 0: case 1:
		return 1 + (k & 3);
	case 2:
		return k & 1 ? MODEL_NR_PAGES + (k >> 1 & 1) : 0;
	default:
		return get32();
	}
}

/* ---- command encoding (independent of its_cmd.c's field helpers) -------- */

#define ITS_CMD_VMAPI_OP	GITS_CMD_GICv4(GITS_CMD_MAPI)

static const u8 optab[] = {
	GITS_CMD_MAPD, GITS_CMD_MAPC, GITS_CMD_MAPTI, GITS_CMD_MAPI, GITS_CMD_MOVI,
	GITS_CMD_DISCARD, GITS_CMD_INT, GITS_CMD_CLEAR, GITS_CMD_INV, GITS_CMD_INVALL,
	GITS_CMD_SYNC, GITS_CMD_MOVALL,
	GITS_CMD_VMAPP, GITS_CMD_VMAPTI, ITS_CMD_VMAPI_OP, GITS_CMD_VMOVI, GITS_CMD_VMOVP,
	GITS_CMD_VSYNC, GITS_CMD_VINVALL, GITS_CMD_VSGI, GITS_CMD_INVDB,
};

#define NR_OPTAB	((unsigned int)ARRAY_SIZE(optab))
/* Selector values at or above NR_OPTAB read a raw opcode byte. */
#define NR_OPSEL	(NR_OPTAB + 3)

static void enc_devid(u64 *c, u32 devid)
{
	c[0] |= (u64)devid << 32;
}

static void enc_event(u64 *c, u32 eventid)
{
	c[1] |= eventid;
}

static void enc_icid(u64 *c, u16 icid)
{
	c[2] |= icid;
}

static void enc_rdbase(u64 *c, int dw, u64 rdbase)
{
	c[dw] |= (rdbase & GENMASK_ULL(35, 0)) << 16;
}

static void gen_cmd(u64 *c)
{
	u8 sel = get8() % NR_OPSEL;
	u8 op = sel < NR_OPTAB ? optab[sel] : get8();
	u8 flags = get8();

	memset(c, 0, ITS_CMD_BYTES);
	c[0] = op;

	switch (op) {
	case GITS_CMD_MAPD:
		enc_devid(c, gen_devid());
		c[1] |= gen_size() & 31;
		c[2] |= gen_itt() & GENMASK_ULL(51, 8);
		break;
	case GITS_CMD_MAPC:
		enc_icid(c, gen_icid());
		enc_rdbase(c, 2, gen_rdbase());
		break;
	case GITS_CMD_MAPTI:
		enc_devid(c, gen_devid());
		enc_event(c, gen_eventid());
		c[1] |= (u64)gen_intid() << 32;
		enc_icid(c, gen_icid());
		break;
	case GITS_CMD_MAPI:
	case GITS_CMD_MOVI:
		enc_devid(c, gen_devid());
		enc_event(c, gen_eventid());
		enc_icid(c, gen_icid());
		break;
	case GITS_CMD_DISCARD:
	case GITS_CMD_INT:
	case GITS_CMD_CLEAR:
	case GITS_CMD_INV:
		enc_devid(c, gen_devid());
		enc_event(c, gen_eventid());
		break;
	case GITS_CMD_INVALL:
		enc_icid(c, gen_icid());
		break;
	case GITS_CMD_SYNC:
		enc_rdbase(c, 2, gen_rdbase());
		break;
	case GITS_CMD_MOVALL:
		enc_rdbase(c, 2, gen_rdbase());
		enc_rdbase(c, 3, gen_rdbase());
		break;
	default:
		/* GICv4 and unknown opcodes: plausible IDs, raw rest. */
		enc_devid(c, gen_devid());
		c[1] |= get64();
		c[2] |= get64();
		break;
	}

	/* V (MAPD, MAPC) */
	if (flags & 1)
		c[2] |= BIT_ULL(63);
	/* Junk in RES0 or field bits: the re-encoding must drop what it does not check. */
	if (flags & 2)
		c[(flags >> 2) & 3] ^= get64();
}

/* ---- the ITS: registers, Device Table, command execution ----------------- */

static const char *opname(u8 op)
{
	switch (op) {
	case GITS_CMD_MAPD:	return "MAPD";
	case GITS_CMD_MAPC:	return "MAPC";
	case GITS_CMD_MAPTI:	return "MAPTI";
	case GITS_CMD_MAPI:	return "MAPI";
	case GITS_CMD_MOVI:	return "MOVI";
	case GITS_CMD_DISCARD:	return "DISCARD";
	case GITS_CMD_INT:	return "INT";
	case GITS_CMD_CLEAR:	return "CLEAR";
	case GITS_CMD_INV:	return "INV";
	case GITS_CMD_INVALL:	return "INVALL";
	case GITS_CMD_SYNC:	return "SYNC";
	case GITS_CMD_MOVALL:	return "MOVALL";
	default:		return "other";
	}
}

static struct hw_dte *dte_find(u32 devid)
{
	unsigned int i;

	for (i = 0; i < hw.nr_dte; i++) {
		if (hw.dte[i].devid == devid)
			return &hw.dte[i];
	}

	return NULL;
}

static void dte_clear(u32 devid)
{
	struct hw_dte *d = dte_find(devid);

	if (d) {
		*d = hw.dte[--hw.nr_dte];
		dirty = true;
	}
}

static void dte_set(u32 devid, u8 size, u64 itt)
{
	struct hw_dte *d = dte_find(devid);

	dirty = true;
	if (!d) {
		/* Only hypervisor-accepted MAPDs get here: its record table is smaller. */
		if (hw.nr_dte == HW_MAX_DTE)
			oracle_fail("more than %d DTEs valid: records cannot cover them",
				    HW_MAX_DTE);
		d = &hw.dte[hw.nr_dte++];
	}
	d->devid = devid;
	d->size = size;
	d->itt = itt;
}

static struct mpage *page_of(u64 pfn)
{
	if (pfn < MODEL_PFN_BASE || pfn >= MODEL_PFN_BASE + MODEL_NR_PAGES)
		return NULL;

	return &pg[pfn - MODEL_PFN_BASE];
}

/* The ownership oracle: the ITS may only touch ITT memory pinned for it. */
static void its_mem_access(u64 addr, u64 len, bool write, const char *why, u32 devid)
{
	u64 a[2] = { addr, addr + len - 1 };
	int i;

	for (i = 0; i < 2; i++) {
		u64 pfn = a[i] >> MODEL_PAGE_SHIFT;
		struct mpage *p = page_of(pfn);

		if (!p)
			oracle_fail("ITS %s of an ITE (%s, devid %#x) at %#llx: %s",
				    write ? "write" : "read", why, devid, (unsigned long long)a[i],
				    "outside the pinnable pages");
		if (p->owner != OWN_HOST)
			oracle_fail("ITS %s of an ITE (%s, devid %#x) at %#llx: page owned by %s",
				    write ? "write" : "read", why, devid, (unsigned long long)a[i],
				    owner_name[p->owner]);
		if (!p->ref)
			oracle_fail("ITS %s of an ITE (%s, devid %#x) at %#llx: %s",
				    write ? "write" : "read", why, devid, (unsigned long long)a[i],
				    "host page not pinned");
	}
	if (write)
		stats.ite_writes++;
	else
		stats.ite_reads++;
}

/* A DTE or CTE write: only ever to the hypervisor's own tables. */
static void its_table_write(u64 pfn)
{
	struct mpage *p = page_of(pfn);

	if (!p || p->owner != OWN_HYP)
		oracle_fail("ITS table write to pfn %#llx not owned by the hypervisor",
			    (unsigned long long)pfn);
}

static bool rdbase_valid(u64 rd)
{
	u32 i;

	for (i = 0; i < hw.nr_targets; i++) {
		if (hw.targets[i] == rd)
			return true;
	}

	return false;
}

static bool lpi_valid(u64 intid)
{
	return intid >= GIC_LPI_OFFSET && intid < BIT_ULL(hw.lpi_bits);
}

/*
 * What reaches the ITS must be something the validator could have built:
 * an allowed opcode, nothing outside its fields, IDs within limits.
 */
static void check_reencoded(const u64 *c, const char *where)
{
	u8 op = c[0] & 0xff;
	u64 m[4] = { 0xff, 0, 0, 0 };
	u64 devid = c[0] >> 32, eventid = c[1] & 0xffffffff, icid = c[2] & 0xffff;
	u64 rd = (c[2] >> 16) & GENMASK_ULL(35, 0);
	bool v = c[2] >> 63;
	int i;

	switch (op) {
	case GITS_CMD_MAPD:
		m[0] |= GENMASK_ULL(63, 32);
		m[1] = GENMASK_ULL(4, 0);
		m[2] = GENMASK_ULL(51, 8) | BIT_ULL(63);
		if (devid >= hw.nr_devids)
			oracle_fail("%s MAPD devid %#llx out of range", where,
				    (unsigned long long)devid);
		if (v && (c[1] & 31) > hw.idbits)
			oracle_fail("%s MAPD size %llu > ID_bits", where,
				    (unsigned long long)(c[1] & 31));
		break;
	case GITS_CMD_MAPC:
		m[2] = GENMASK_ULL(15, 0) | GENMASK_ULL(51, 16) | BIT_ULL(63);
		if (icid >= hw.nr_icids || (v && !rdbase_valid(rd)))
			oracle_fail("%s MAPC icid %#llx rdbase %#llx invalid", where,
				    (unsigned long long)icid, (unsigned long long)rd);
		break;
	case GITS_CMD_MAPTI:
	case GITS_CMD_MAPI:
	case GITS_CMD_MOVI:
		m[0] |= GENMASK_ULL(63, 32);
		m[1] = op == GITS_CMD_MAPTI ? ~0ULL : GENMASK_ULL(31, 0);
		m[2] = GENMASK_ULL(15, 0);
		if (icid >= hw.nr_icids)
			oracle_fail("%s %s icid %#llx invalid", where, opname(op),
				    (unsigned long long)icid);
		if (op == GITS_CMD_MAPTI && !lpi_valid(c[1] >> 32))
			oracle_fail("%s MAPTI pINTID %#llx not an LPI", where,
				    (unsigned long long)(c[1] >> 32));
		if (op == GITS_CMD_MAPI && !lpi_valid(eventid))
			oracle_fail("%s MAPI EventID %#llx not an LPI", where,
				    (unsigned long long)eventid);
		break;
	case GITS_CMD_DISCARD:
	case GITS_CMD_INT:
	case GITS_CMD_CLEAR:
	case GITS_CMD_INV:
		m[0] |= GENMASK_ULL(63, 32);
		m[1] = GENMASK_ULL(31, 0);
		break;
	case GITS_CMD_INVALL:
		m[2] = GENMASK_ULL(15, 0);
		if (icid >= hw.nr_icids)
			oracle_fail("%s INVALL icid %#llx invalid", where,
				    (unsigned long long)icid);
		break;
	case GITS_CMD_SYNC:
		m[2] = GENMASK_ULL(51, 16);
		if (!rdbase_valid(rd))
			oracle_fail("%s SYNC rdbase %#llx invalid", where, (unsigned long long)rd);
		break;
	case GITS_CMD_MOVALL:
		/*
		 * Moves and clears whole redistributor pending tables, which
		 * this model cannot follow: the validator refuses it.
		 */
		oracle_fail("%s MOVALL reached the ITS", where);
	default:
		oracle_fail("%s opcode %#x reached the ITS", where, op);
	}

	for (i = 0; i < 4; i++) {
		if (c[i] & ~m[i])
			oracle_fail("%s %s: DW%d bits %#llx outside its fields",
				    where, opname(op), i,
				    (unsigned long long)(c[i] & ~m[i]));
	}
}

/* One command, as the ITS executes it: its own checks, its own tables. */
static void hw_exec(const u64 *c)
{
	u8 op = c[0] & 0xff;
	u32 devid = c[0] >> 32;
	u32 eventid = c[1] & 0xffffffff;
	u64 intid = op == GITS_CMD_MAPI ? eventid : c[1] >> 32;
	u64 icid = c[2] & 0xffff;
	struct hw_dte *d;

	check_reencoded(c, "executed");
	TRACE("    its: %s devid %#x ev %#x\n", opname(op), devid, eventid);

	switch (op) {
	case GITS_CMD_MAPD:
		if (devid >= hw.nr_devids || (c[1] & 31) > hw.idbits) {
			stats.hw_errors++;
			return;
		}
		its_table_write(PFN_DT);
		stats.dte_writes++;
		if (c[2] >> 63)
			dte_set(devid, c[1] & 31, c[2] & GENMASK_ULL(51, 8));
		else
			dte_clear(devid);
		return;
	case GITS_CMD_MAPC:
		if (icid >= hw.nr_icids) {
			stats.hw_errors++;
			return;
		}
		if (icid >= hw.hcc) {
			its_table_write(PFN_CT);
			stats.cte_writes++;
		}
		return;
	case GITS_CMD_MAPTI:
	case GITS_CMD_MAPI:
	case GITS_CMD_MOVI:
	case GITS_CMD_DISCARD:
	case GITS_CMD_INT:
	case GITS_CMD_CLEAR:
	case GITS_CMD_INV:
		d = dte_find(devid);
		if (devid >= hw.nr_devids || !d || eventid >= BIT_ULL(d->size + 1) ||
		    (op == GITS_CMD_MAPTI || op == GITS_CMD_MAPI ? !lpi_valid(intid) : false) ||
		    (op == GITS_CMD_MAPTI || op == GITS_CMD_MAPI || op == GITS_CMD_MOVI ?
		     icid >= hw.nr_icids : false)) {
			/* A command error: the ITS writes nothing. */
			stats.hw_errors++;
			return;
		}
		its_mem_access(d->itt + (u64)eventid * hw.esz, hw.esz,
			       op == GITS_CMD_MAPTI || op == GITS_CMD_MAPI || op == GITS_CMD_MOVI ||
			       op == GITS_CMD_DISCARD, opname(op), devid);
		return;
	case GITS_CMD_SYNC:
	case GITS_CMD_INVALL:
		return;
	default:
		/* Never reached: check_reencoded() allows nothing else. */
		stats.noted++;
		return;
	}
}

/* The ITS reads the queue from CREADR up to CWRITER, while enabled on a valid queue. */
static void hw_step(unsigned int k)
{
	if (!(hw.cbaser & GITS_CBASER_VALID))
		return;

	while (k-- && hw.enabled && hw.creadr != hw.cwriter) {
		hw_exec(cmdq + hw.creadr / 8);
		hw.creadr = (hw.creadr + ITS_CMD_BYTES) % emu.qsize;
	}
}

/* A device's MSI: the ITS looks the event up, reading the ITE. */
static void hw_translate(u32 devid, u32 eventid)
{
	struct hw_dte *d = dte_find(devid);

	if (!hw.enabled || !d || eventid >= BIT_ULL(d->size + 1))
		return;
	its_mem_access(d->itt + (u64)eventid * hw.esz, hw.esz, false, "MSI", devid);
}

/* Quiescent: disabled, and no transaction in flight (IHI 0069H, GITS_CTLR). */
static bool hw_quiescent(void)
{
	return !hw.enabled && !hw.quiesce_wait;
}

/*
 * The ITS is powered down and up again with the system. Firmware (TF-A's
 * gicv3_its_save_disable() and gicv3_its_restore(), for example) disables
 * it, then on resume either does nothing, so that the registers are lost,
 * or writes GITS_CBASER back, which resets GITS_CREADR to 0, then
 * GITS_CWRITER, the GITS_BASERn and maybe GITS_CTLR; or the registers
 * survive. The tables are in memory and survive.
 */
static void hw_power_cycle(u8 s)
{
	bool enabled = hw.enabled;

	hw.enabled = false;
	hw.quiesce_wait = 0;
	switch (s & 3) {
	case 0:
		hw.cbaser = 0;
		hw.cwriter = 0;
		hw.creadr = 0;
		if (s & 4)
			memset(hw.baser, 0, sizeof(hw.baser));
		break;
	case 1:
		hw.creadr = 0;
		hw.enabled = enabled && (s & 8);
		break;
	default:
		hw.enabled = enabled && (s & 8);
		break;
	}
	stats.power_cycles++;
}

u64 hw_mmio_read(u64 offset)
{
	switch (offset) {
	case GITS_CTLR:
		if (hw.enabled)
			return GITS_CTLR_ENABLE;
		return hw_quiescent() ? GITS_CTLR_QUIESCENT : 0;
	case GITS_CREADR:
		if (hw.creadr_glitches) {
			hw.creadr_glitches--;
			stats.creadr_glitches++;
			return hw.creadr_bogus;
		}
		return hw.creadr;
	case GITS_CWRITER:
		return hw.cwriter;
	case GITS_CBASER:
		return hw.cbaser;
	case GITS_BASER ... GITS_BASER + (GITS_BASER_NR_REGS - 1) * sizeof(u64):
		return hw.baser[(offset - GITS_BASER) / sizeof(u64)];
	default:
		oracle_fail("hypervisor read of unmodelled ITS register %#llx",
			    (unsigned long long)offset);
	}
}

void hw_mmio_write(u64 offset, u64 val)
{
	unsigned int n;

	switch (offset) {
	case GITS_CTLR:
		if (hw.enabled && !(val & GITS_CTLR_ENABLE))
			hw.quiesce_wait = hw.next_quiesce_wait;
		hw.enabled = val & GITS_CTLR_ENABLE;
		return;
	case GITS_CWRITER:
		/* Retry restarts a stalled ITS: this one never stalls. */
		if (val & 1)
			stats.retries++;
		val &= ~1ULL;
		if (val & ~GENMASK_ULL(19, 5) || val >= emu.qsize)
			oracle_fail("CWRITER %#llx outside the queue", (unsigned long long)val);
		hw.cwriter = val;
		return;
	case GITS_CBASER:
		/* UNPREDICTABLE unless quiescent (IHI 0069H, GITS_CBASER). */
		if (!hw_quiescent())
			oracle_fail("GITS_CBASER written with the ITS %s",
				    hw.enabled ? "enabled" : "not quiescent");
		if (val != hw_cbaser0)
			oracle_fail("GITS_CBASER changed to %#llx", (unsigned long long)val);
		/* CREADR goes to 0: whatever was not executed is dropped. */
		if (hw.cbaser == hw_cbaser0)
			stats.dropped += its_queue_used(hw.creadr, hw.cwriter, emu.qsize) /
					 ITS_CMD_BYTES;
		stats.cbaser_resets++;
		hw.cbaser = val;
		hw.creadr = 0;
		return;
	case GITS_BASER ... GITS_BASER + (GITS_BASER_NR_REGS - 1) * sizeof(u64):
		n = (offset - GITS_BASER) / sizeof(u64);
		/* The ITS may be using the tables until it is quiescent. */
		if (!hw_quiescent())
			oracle_fail("GITS_BASER%u written with the ITS %s", n,
				    hw.enabled ? "enabled" : "not quiescent");
		if (val != hw_baser0[n])
			oracle_fail("GITS_BASER%u changed to %#llx", n, (unsigned long long)val);
		hw.baser[n] = val;
		stats.baser_writes++;
		return;
	default:
		oracle_fail("hypervisor write of unmodelled ITS register %#llx",
			    (unsigned long long)offset);
	}
}

/* ---- mem_protect.c, on the model pages ----------------------------------- */

static bool range_in_model(u64 pfn, u64 nr)
{
	return nr && pfn >= MODEL_PFN_BASE && pfn < MODEL_PFN_BASE + MODEL_NR_PAGES &&
	       nr <= MODEL_PFN_BASE + MODEL_NR_PAGES - pfn;
}

/* A host page pinned for a device: DEVICE_PINNED, refcount > 0. */
static bool page_pinned(const struct mpage *p)
{
	return p->owner == OWN_HOST && p->ref;
}

/* mem_protect.c: host_pin_device_pages(), for a claim or for a device's own pin */
static int host_pin_device_pages(u64 pfn, u64 nr_pages, bool claim)
{
	u64 i;

	if (!range_in_model(pfn, nr_pages))
		return -22;
	for (i = 0; i < nr_pages; i++) {
		struct mpage *p = page_of(pfn + i);

		/* A page is claimed once at most, and a device only named claimed ones. */
		if (claim ? p->owner != OWN_HOST || p->claims : !page_pinned(p) || !p->claims)
			return -1;
		if (p->ref == 0xffff)
			return -16;
	}
	for (i = 0; i < nr_pages; i++) {
		page_of(pfn + i)->ref++;
		page_of(pfn + i)->claims += claim;
	}
	dirty = true;

	return 0;
}

/* mem_protect.c: __pkvm_host_claim_device_pages() */
int __pkvm_host_claim_device_pages(u64 pfn, u64 nr_pages)
{
	return host_pin_device_pages(pfn, nr_pages, true);
}

/* mem_protect.c: __pkvm_host_ref_device_pages() */
int __pkvm_host_ref_device_pages(u64 pfn, u64 nr_pages)
{
	return host_pin_device_pages(pfn, nr_pages, false);
}

/* mem_protect.c: __pkvm_host_release_device_pages() */
int __pkvm_host_release_device_pages(u64 pfn, u64 nr_pages)
{
	u64 i;

	if (!range_in_model(pfn, nr_pages))
		return -22;
	for (i = 0; i < nr_pages; i++) {
		if (!page_pinned(page_of(pfn + i)) || !page_of(pfn + i)->claims)
			return -1;
	}
	for (i = 0; i < nr_pages; i++) {
		page_of(pfn + i)->claims--;
		page_of(pfn + i)->ref--;
	}
	dirty = true;

	return 0;
}

/* mem_protect.c: __pkvm_host_unpin_device_pages(); its WARN_ON is an oracle failure. */
void __pkvm_host_unpin_device_pages(u64 pfn, u64 nr_pages)
{
	u64 i;

	for (i = 0; i < nr_pages; i++) {
		struct mpage *p = page_of(pfn + i);

		if (!p || !page_pinned(p))
			oracle_fail("unpin of pfn %#llx, which is not pinned",
				    (unsigned long long)(pfn + i));
		if (p->ref == p->claims)
			oracle_fail("unpin of pfn %#llx drops a pin its claims hold",
				    (unsigned long long)(pfn + i));
		p->ref--;
	}
	dirty = true;
}

/*
 * __pkvm_host_donate_guest() / __pkvm_host_donate_hyp(): only pages the
 * host owns exclusively (PKVM_PAGE_OWNED, so never a pinned one) move.
 */
static int host_donate(u64 pfn, u64 nr, u8 to)
{
	u64 i;

	if (!range_in_model(pfn, nr))
		return -22;
	for (i = 0; i < nr; i++) {
		struct mpage *p = page_of(pfn + i);

		if (p->owner != OWN_HOST || p->ref) {
			stats.donations_refused++;
			return -1;
		}
	}
	for (i = 0; i < nr; i++)
		page_of(pfn + i)->owner = to;
	stats.donations_ok++;
	dirty = true;

	return 0;
}

/* A pVM torn down, or __pkvm_hyp_donate_host(): the page comes back. */
static void host_reclaim(u64 pfn)
{
	struct mpage *p = page_of(pfn);

	if (!p || pfn == PFN_DT || pfn == PFN_CT)
		return;
	if (p->owner != OWN_HOST && p->ref)
		oracle_fail("pfn %#llx owned by %s has pins", (unsigned long long)pfn,
			    owner_name[p->owner]);
	p->owner = OWN_HOST;
	dirty = true;
}

/* The ITT claim hypercalls, with the model's own count of what they pinned. */
static int host_claim(u64 pfn, u64 nr)
{
	int ret = pkvm_its_claim_itt(pfn, nr);
	u64 i;

	if (!ret) {
		if (!range_in_model(pfn, nr))
			oracle_fail("claim of pfn %#llx+%llu outside pinnable pages accepted",
				    (unsigned long long)pfn, (unsigned long long)nr);
		for (i = 0; i < nr; i++) {
			if (claim_pins[pfn + i - MODEL_PFN_BASE]++)
				oracle_fail("pfn %#llx claimed twice",
					    (unsigned long long)(pfn + i));
		}
	}

	return ret;
}

static int host_release(u64 pfn, u64 nr)
{
	int ret = pkvm_its_release_itt(pfn, nr);
	u64 i;

	if (!ret) {
		for (i = 0; i < nr; i++) {
			if (!claim_pins[pfn + i - MODEL_PFN_BASE]--)
				oracle_fail("release of pfn %#llx+%llu never claimed",
					    (unsigned long long)pfn, (unsigned long long)nr);
		}
	}

	return ret;
}

/* ---- invariants ---------------------------------------------------------- */

static struct vc_rec recs[MODEL_DEV_SLOTS_MAX];

/*
 * @full: also compare the claims each page counts with the model's own
 * count, and look for duplicate records, which no pin count shows.
 */
static ORACLE_NOCOV void check_invariants(bool full)
{
	unsigned int expect[MODEL_NR_PAGES];
	unsigned int nr, i, j;
	u64 p;

	memcpy(expect, claim_pins, sizeof(expect));
	nr = vc_records(&emu.cmds, recs, MODEL_DEV_SLOTS_MAX);

	if (full) {
		for (i = 0; i < MODEL_NR_PAGES; i++) {
			if (pg[i].claims != claim_pins[i])
				oracle_fail("pfn %#llx counts %u claims, %u were granted",
					    (unsigned long long)(MODEL_PFN_BASE + i), pg[i].claims,
					    claim_pins[i]);
		}
		for (i = 0; i < nr; i++) {
			for (j = 0; j < i; j++) {
				if (recs[j].devid == recs[i].devid)
					oracle_fail("two records for devid %#x", recs[i].devid);
			}
		}
	}
	for (i = 0; i < nr; i++) {
		if (!range_in_model(recs[i].itt_pfn, recs[i].itt_nr_pages))
			oracle_fail("device %#x holds ITT pfn %#llx+%llu outside pinnable pages",
				    recs[i].devid, (unsigned long long)recs[i].itt_pfn,
				    (unsigned long long)recs[i].itt_nr_pages);
		for (p = 0; p < recs[i].itt_nr_pages; p++)
			expect[recs[i].itt_pfn + p - MODEL_PFN_BASE]++;
	}

	for (i = 0; i < MODEL_NR_PAGES; i++) {
		if (pg[i].ref && pg[i].owner != OWN_HOST)
			oracle_fail("pinned pfn %#llx owned by %s",
				    (unsigned long long)(MODEL_PFN_BASE + i),
				    owner_name[pg[i].owner]);
		if (pg[i].ref != expect[i])
			oracle_fail("pfn %#llx has %u pins, claims and devices account for %u",
				    (unsigned long long)(MODEL_PFN_BASE + i), pg[i].ref, expect[i]);
	}

	/*
	 * Whatever the ITS may write must be held by a record, whole. Built
	 * with -DORACLE_ACCESS_ONLY, only the ITS's accesses are checked: to
	 * show what a broken record leads to.
	 */
	for (i = 0; i < hw.nr_dte && !ORACLE_ACCESS_ONLY; i++) {
		const struct hw_dte *d = &hw.dte[i];
		u64 first = d->itt >> MODEL_PAGE_SHIFT;
		u64 last = (d->itt + BIT_ULL(d->size + 1) * hw.esz - 1) >> MODEL_PAGE_SHIFT;

		for (j = 0; j < nr; j++) {
			if (recs[j].devid == d->devid)
				break;
		}
		if (j == nr)
			oracle_fail("valid DTE devid %#x (ITT %#llx) has no hypervisor record",
				    d->devid, (unsigned long long)d->itt);
		if (first < recs[j].itt_pfn || last >= recs[j].itt_pfn + recs[j].itt_nr_pages)
			oracle_fail("DTE devid %#x ITT pfns %#llx-%#llx %s %#llx+%llu",
				    d->devid, (unsigned long long)first, (unsigned long long)last,
				    "not within pinned", (unsigned long long)recs[j].itt_pfn,
				    (unsigned long long)recs[j].itt_nr_pages);
	}
}

/* ---- host operations ----------------------------------------------------- */

static u64 nslots(void)
{
	return emu.qsize / ITS_CMD_BYTES;
}

static void host_put(u64 off, const u64 *c)
{
	memcpy(shadow + off / 8, c, ITS_CMD_BYTES);
}

static void host_append(const u64 *c)
{
	host_put(hp, c);
	hp = its_queue_next(hp, emu.qsize);
}

static bool host_cwriter(u64 val)
{
	u64 old = emu.cwriter, off;
	bool ok = its_queue_write_cwriter(&emu, val);

	TRACE("  cwriter %#llx -> %s, refused so far %llu\n", (unsigned long long)val,
	      ok ? "ok" : "rejected", (unsigned long long)vc_nr_refused(&emu.cmds));
	if (ok) {
		for (off = old; off != (val & ~1ULL); off = its_queue_next(off, emu.qsize))
			check_reencoded(cmdq + off / 8, "written");
	}

	return ok;
}

static void drain(void)
{
	hw_step(~0u);
}

static bool dte_recorded(u32 devid, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		if (recs[i].devid == devid)
			return true;
	}

	return false;
}

/* Linux's its_restore_enable(): the queue starts over at 0, then the tables. */
static bool driver_resume(void)
{
	unsigned int n;

	its_queue_write_ctlr(&emu, 0);
	hw.quiesce_wait = 0;
	if (!its_queue_write_cbaser(&emu))
		return false;
	hp = 0;
	its_queue_write_cwriter(&emu, 0);
	for (n = 0; n < GITS_BASER_NR_REGS; n++)
		its_queue_write_baser(&emu, n);

	return its_queue_write_ctlr(&emu, GITS_CTLR_ENABLE);
}

/*
 * The driver's shutdown: unmap every device it may have mapped (those the
 * hypervisor records, and those the ITS still has), let the ITS execute
 * everything, release every claim. Nothing may be left behind.
 */
static ORACLE_NOCOV void teardown(void)
{
	unsigned int nr, i;
	u32 devs[MODEL_DEV_SLOTS_MAX + HW_MAX_DTE];
	unsigned int nd = 0;

	op_cur = "teardown";
	/*
	 * While CREADR lies the queue keeps pins it cannot prove released:
	 * the hardware must behave for the final accounting to balance.
	 */
	hw.creadr_glitches = 0;
	if (!its_queue_write_ctlr(&emu, GITS_CTLR_ENABLE) && !driver_resume()) {
		/*
		 * Commands were pending when the ITS stopped: it stays off,
		 * and what the records pin stays pinned. Only the invariants
		 * can be checked.
		 */
		stats.dead++;
		check_invariants(true);
		return;
	}
	drain();
	hp = emu.cwriter;

	nr = vc_records(&emu.cmds, recs, MODEL_DEV_SLOTS_MAX);
	for (i = 0; i < nr; i++)
		devs[nd++] = recs[i].devid;
	for (i = 0; i < hw.nr_dte; i++) {
		if (!dte_recorded(hw.dte[i].devid, nr))
			devs[nd++] = hw.dte[i].devid;
	}

	for (i = 0; i < nd; i++) {
		u64 c[4] = { GITS_CMD_MAPD | (u64)devs[i] << 32, 0, 0, 0 };

		host_append(c);
		/* Keep a free slot, as the driver does. */
		if (its_queue_next(hp, emu.qsize) == hw.creadr || i == nd - 1) {
			if (!host_cwriter(hp))
				oracle_fail("end of input: CWRITER refused with a drained queue");
			drain();
		}
	}
	/* Another CWRITER write lets the queue retire what was executed. */
	if (!host_cwriter(hp))
		oracle_fail("end of input: CWRITER refused");
	drain();
	its_queue_read_creadr(&emu);

	nr = vc_records(&emu.cmds, recs, MODEL_DEV_SLOTS_MAX);
	if (nr)
		oracle_fail("end of input: %u device records left (devid %#x)", nr, recs[0].devid);
	if (hw.nr_dte)
		oracle_fail("end of input: %u DTEs left valid", hw.nr_dte);
	check_invariants(true);

	for (i = 0; i < MODEL_NR_PAGES; i++) {
		while (claim_pins[i]) {
			if (host_release(MODEL_PFN_BASE + i, 1))
				oracle_fail("end of input: release of a live claim failed");
		}
	}
	for (i = 0; i < MODEL_NR_PAGES; i++) {
		if (pg[i].ref)
			oracle_fail("end of input: pfn %#llx still has %u pins",
				    (unsigned long long)(MODEL_PFN_BASE + i), pg[i].ref);
	}
}

/* MAPD V=1 for consecutive devids, or MAPTI for consecutive events. */
static void host_burst(void)
{
	u8 s = get8();
	unsigned int n = (s >> 1) % 64 + 1, i;
	u32 devid = gen_devid();
	u64 itt = gen_itt() & GENMASK_ULL(51, 8);
	u8 size = get8() & 3;

	for (i = 0; i < n; i++) {
		u64 c[4] = { 0 };

		if (s & 1) {
			c[0] = GITS_CMD_MAPD | (u64)(devid + i) << 32;
			c[1] = size;
			c[2] = itt | BIT_ULL(63);
		} else {
			c[0] = GITS_CMD_MAPTI | (u64)devid << 32;
			c[1] = i | (u64)(GIC_LPI_OFFSET + i) << 32;
		}
		host_append(c);
	}
}

enum {
	OP_APPEND, OP_PUT, OP_CWRITER, OP_STEP, OP_CTLR, OP_CBASER, OP_CREADR, OP_CLAIM,
	OP_RELEASE, OP_DONATE, OP_RECLAIM, OP_MSI, OP_BURST, OP_TEARDOWN, OP_BASER,
	OP_GLITCH, OP_POWER, OP_RESUME, OP_GROW, NR_OPS
};

static const char *const op_names[] = {
	"append", "put", "cwriter", "step", "ctlr", "cbaser", "creadr", "claim",
	"release", "donate", "reclaim", "msi", "burst", "teardown", "baser", "glitch",
	"power", "resume", "grow",
};

/* Weights of the operations; bytes >= OP_RAW_BASE select OP_RAW_BASE + op directly. */
static const u8 op_weights[32] = {
	OP_APPEND, OP_APPEND, OP_APPEND, OP_APPEND, OP_APPEND, OP_APPEND, OP_APPEND, OP_APPEND,
	OP_PUT, OP_CWRITER, OP_CWRITER, OP_CWRITER, OP_CWRITER, OP_CWRITER,
	OP_STEP, OP_STEP, OP_STEP, OP_STEP, OP_STEP, OP_CTLR, OP_CBASER, OP_CREADR,
	OP_CLAIM, OP_CLAIM, OP_RELEASE, OP_DONATE, OP_DONATE, OP_RECLAIM, OP_MSI, OP_MSI,
	OP_BURST, OP_TEARDOWN,
};

#define OP_RAW_BASE	0xe0

static void do_op(void)
{
	u8 b = get8();
	int op = b >= OP_RAW_BASE ? (b - OP_RAW_BASE) % NR_OPS : op_weights[b % 32];
	u64 c[4], val, pfn, nr;
	u8 s;

	op_cur = op_names[op];
	TRACE("#%u %s\n", op_idx, op_cur);

	switch (op) {
	case OP_APPEND:
		gen_cmd(c);
		TRACE("  slot %#llx: %016llx %016llx %016llx %016llx\n", (unsigned long long)hp,
		      (unsigned long long)c[0], (unsigned long long)c[1],
		      (unsigned long long)c[2], (unsigned long long)c[3]);
		host_append(c);
		break;
	case OP_PUT:
		val = (get8() % nslots()) * ITS_CMD_BYTES;
		gen_cmd(c);
		host_put(val, c);
		break;
	case OP_CWRITER:
		s = get8();
		switch (s & 3) {
		case 0: case 1:
			val = hp;
			break;
		case 2:
			val = (get8() % nslots()) * ITS_CMD_BYTES;
			break;
		default:
			val = get32();
			break;
		}
		/* Retry: the queue must pass it on, and never count it as an offset. */
		if (s & 8)
			val |= 1;
		host_cwriter(val);
		/* The driver sometimes re-reads its position (after a timeout, say). */
		if (s & 4)
			hp = emu.cwriter;
		break;
	case OP_STEP:
		s = get8();
		hw_step(s == 0xff ? ~0u : (s & 15) + 1u);
		break;
	case OP_CTLR:
		s = get8();
		/* A disable may leave transactions in flight for a few operations. */
		hw.next_quiesce_wait = (s >> 1) & 3;
		its_queue_write_ctlr(&emu, s);
		break;
	case OP_CBASER:
		/* Refused (ignored) unless quiescent with every command executed. */
		val = stats.cbaser_resets;
		its_queue_write_cbaser(&emu);
		if (val == stats.cbaser_resets)
			stats.cbaser_ignored++;
		/* Linux's its_restore_enable(): the queue starts over at 0. */
		hp = 0;
		if (get8() & 1)
			host_cwriter(0);
		break;
	case OP_CREADR:
		its_queue_read_creadr(&emu);
		break;
	case OP_CLAIM:
		pfn = gen_pfn();
		nr = gen_nr_pages();
		s = host_claim(pfn, nr) ? 1 : 0;
		TRACE("  claim %#llx+%llu -> %s\n", (unsigned long long)pfn,
		      (unsigned long long)nr, s ? "refused" : "ok");
		break;
	case OP_RELEASE:
		s = get8();
		if (s & 1) {
			/* From the k-th claimed page, as many as the input says. */
			unsigned int i, k = s >> 3;

			for (i = 0; i < MODEL_NR_PAGES; i++) {
				if (claim_pins[i] && !k--) {
					host_release(MODEL_PFN_BASE + i, 1 + (s >> 1 & 3));
					break;
				}
			}
		} else {
			pfn = gen_pfn();
			host_release(pfn, gen_nr_pages());
		}
		break;
	case OP_DONATE:
		s = get8();
		pfn = gen_pfn();
		host_donate(pfn, 1 + ((s >> 1) & 3), s & 1 ? OWN_PVM : OWN_HYP);
		break;
	case OP_RECLAIM:
		host_reclaim(gen_pfn());
		break;
	case OP_MSI:
		val = gen_devid();
		hw_translate(val, gen_eventid());
		break;
	case OP_BURST:
		host_burst();
		break;
	case OP_TEARDOWN:
		teardown();
		break;
	case OP_BASER:
		/* Linux's its_restore_enable() restores every GITS_BASERn. */
		its_queue_write_baser(&emu, get8() & 7);
		break;
	case OP_GLITCH:
		/*
		 * Broken hardware reports a CREADR outside the queue for the next
		 * reads: the queue must keep its last sane value.
		 */
		s = get8();
		hw.creadr_glitches = 1 + (s & 3);
		hw.creadr_bogus = emu.qsize + ((u64)(s >> 2) << 5);
		if (s & 0x80)
			hw.creadr_bogus |= BIT_ULL(32) | 1;
		break;
	case OP_POWER:
		s = get8();
		/* Linux's its_save_disable(); an attacker suspends without it. */
		if (s & 1) {
			its_queue_write_ctlr(&emu, 0);
			hw.quiesce_wait = 0;
		}
		/*
		 * Through PSCI SYSTEM_SUSPEND, which the hypervisor sees
		 * (pkvm_its_system_suspend()), or a power-down it does not see.
		 * Firmware that then enables the ITS behind its back is the
		 * one case the queue cannot tell from progress: not modelled.
		 */
		if (s & 2)
			its_queue_suspend(&emu, true);
		hw_power_cycle(s & 2 ? s >> 2 : (s >> 2) & ~8);
		if (s & 2)
			its_queue_suspend(&emu, false);
		break;
	case OP_RESUME:
		driver_resume();
		break;
	case OP_GROW:
		/* The host gives the records a larger table, at any time. */
		its_emu_grow_model(&emu);
		break;
	}
}

/* ---- the fuzz target ----------------------------------------------------- */

static const u64 devbits_tab[8] = { 1, 3, 5, 8, 9, 16, 20, 32 };
static const u64 dt_tab[4] = { 64, 1024, 1ULL << 20, 1ULL << 34 };
static const u64 idbits_tab[8] = { 1, 4, 7, 9, 13, 15, 23, 31 };
static const u64 esz_tab[8] = { 8, 8, 12, 16, 1, 3, 4, 5 };
static const u64 ct_tab[4] = { 0, 4, 64, 1ULL << 17 };

/* The redistributors: a 128 KiB stride, GICv3 without VLPIs. */
#define MODEL_RDIST_BASE	0x2f100000ULL
#define MODEL_RDIST_STRIDE	0x20000ULL

/*
 * Three bytes describe the machine:
 *  b0: queue size (bit 0), Devbits (3:1), Device Table size (5:4), PTA (6);
 *  b1: ID_bits (2:0), ITT entry size (5:3), Collection Table size (7:6);
 *  b2: HCC (0), redistributors (2:1), GICR_PROPBASER.IDbits + 1 = 14..24 (7:3).
 * The redistributors' IDbits is independent of the ITS's ID_bits, as on
 * hardware, and spare bits of b2 carry it so that older inputs keep their
 * meaning.
 */
static void machine_init(void)
{
	u8 b0 = get8(), b1 = get8(), b2 = get8();
	u64 qsize = (1 + (b0 & 1)) * 4096;
	unsigned int i;

	memset(pg, 0, sizeof(pg));
	memset(claim_pins, 0, sizeof(claim_pins));
	pg[PFN_DT - MODEL_PFN_BASE].owner = OWN_HYP;
	pg[PFN_CT - MODEL_PFN_BASE].owner = OWN_HYP;
	for (i = PVM_FIRST; i < MODEL_NR_PAGES; i++)
		pg[i].owner = OWN_PVM;

	memset(&hwid, 0, sizeof(hwid));
	hwid.devbits = devbits_tab[(b0 >> 1) & 7];
	hwid.dt_entries = dt_tab[(b0 >> 4) & 3];
	hwid.typer = b0 & BIT(6) ? GITS_TYPER_PTA : 0;
	hwid.idbits = idbits_tab[b1 & 7];
	hwid.itt_entry_size = esz_tab[(b1 >> 3) & 7];
	hwid.ct_entries = ct_tab[(b1 >> 6) & 3];
	hwid.hcc = b2 & 1 ? 0 : 2;
	hwid.nr_rdists = 1 + ((b2 >> 1) & 3);
	for (i = 0; i < hwid.nr_rdists; i++) {
		hwid.rdist_phys[i] = MODEL_RDIST_BASE + i * MODEL_RDIST_STRIDE;
		/* Processor numbers need not follow the frames: count down. */
		hwid.rdist_typer[i] = (u64)(hwid.nr_rdists - 1 - i) << 8;
		hwid.rdist_propbaser[i] = 13 + (b2 >> 3) % 11;
	}

	memset(&hw, 0, sizeof(hw));
	hw.enabled = true;
	hw.cbaser = BIT_ULL(63) | 0x40000000ULL | (qsize / 4096 - 1);
	for (i = 0; i < GITS_BASER_NR_REGS; i++)
		hw.baser[i] = i < 2 ? BIT_ULL(63) | pa(MODEL_PFN_BASE + i) |
				      (u64)(i ? 4 : 1) << 56 : 0;
	hw_cbaser0 = hw.cbaser;
	memcpy(hw_baser0, hw.baser, sizeof(hw_baser0));
	hw.nr_devids = BIT_ULL(hwid.devbits) < hwid.dt_entries ? BIT_ULL(hwid.devbits) :
								  hwid.dt_entries;
	hw.hcc = hwid.hcc;
	hw.nr_icids = hwid.ct_entries > hwid.hcc ? hwid.ct_entries : hwid.hcc;
	if (hw.nr_icids > BIT_ULL(16))
		hw.nr_icids = BIT_ULL(16);
	hw.idbits = hwid.idbits;
	hw.lpi_bits = 14 + (b2 >> 3) % 11;
	hw.esz = hwid.itt_entry_size;
	/* RDbase: the frame's address >> 16 with PTA, its processor number without. */
	hw.nr_targets = hwid.nr_rdists;
	for (i = 0; i < hw.nr_targets; i++)
		hw.targets[i] = hwid.typer & GITS_TYPER_PTA ?
				(MODEL_RDIST_BASE + i * MODEL_RDIST_STRIDE) >> 16 :
				hw.nr_targets - 1 - i;

	memset(cmdq, 0, sizeof(cmdq));
	memset(shadow, 0, sizeof(shadow));
	hp = 0;
	if (its_emu_setup_model(&emu, &hwid, cmdq, shadow, qsize, hw.cbaser))
		oracle_fail("setup of the model ITS failed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (trace < 0)
		trace = !!getenv("FUZZ_TRACE");

	in_p = data;
	in_n = size;
	op_idx = 0;
	op_cur = "init";
	machine_init();
	dirty = false;
	check_invariants(true);

	while (in_n) {
		do_op();
		if (hw.quiesce_wait)
			hw.quiesce_wait--;
		if (dirty || op_idx % FULL_CHECK_EVERY == FULL_CHECK_EVERY - 1)
			check_invariants(op_idx % FULL_CHECK_EVERY == FULL_CHECK_EVERY - 1);
		dirty = false;
		op_idx++;
	}

	teardown();
	TRACE("stats: ite w %llu r %llu, dte %llu, cte %llu, hw errors %llu, noted %llu\n",
	      (unsigned long long)stats.ite_writes, (unsigned long long)stats.ite_reads,
	      (unsigned long long)stats.dte_writes, (unsigned long long)stats.cte_writes,
	      (unsigned long long)stats.hw_errors, (unsigned long long)stats.noted);
	TRACE("stats: dropped %llu, refused %llu, donations ok %llu refused %llu\n",
	      (unsigned long long)stats.dropped, (unsigned long long)vc_nr_refused(&emu.cmds),
	      (unsigned long long)stats.donations_ok, (unsigned long long)stats.donations_refused);
	TRACE("stats: cbaser ignored %llu reset %llu, baser %llu, retries %llu, glitches %llu\n",
	      (unsigned long long)stats.cbaser_ignored, (unsigned long long)stats.cbaser_resets,
	      (unsigned long long)stats.baser_writes, (unsigned long long)stats.retries,
	      (unsigned long long)stats.creadr_glitches);
	TRACE("stats: power cycles %llu, ITS left off %llu\n",
	      (unsigned long long)stats.power_cycles, (unsigned long long)stats.dead);

	return 0;
}
