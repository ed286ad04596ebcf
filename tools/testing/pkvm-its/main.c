// SPDX-License-Identifier: GPL-2.0-only
/*
 * Table-driven tests of the pKVM ITS command validator, run in userspace
 * against the hypervisor's own source (its_cmd.c). Each case starts from a
 * fresh ITS with a few devices mapped, queues one command and checks:
 *  - the verdict (accepted or the reason of the refusal);
 *  - the command that would reach the ITS: re-encoded from checked fields
 *    only (RES0 bits cleared), or a SYNC to the first redistributor;
 *  - which host pages are pinned for the ITS, and when they are released.
 * Then every opcode, the ITT pinning life cycle, the queue arithmetic and
 * the proxied queue against a fake ITS.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bits.h>
#include <linux/hash.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/irqchip/arm-gic-v3.h>

#include <nvhe/its_cmd.h>

#define NR_PFNS		1024
/* Pages of a "protected guest": the host does not own them. */
#define GUEST_PFN	0x100

/* Device records: the size of the hypervisor's smallest table. */
#define NR_SLOTS	256

static unsigned int pins[NR_PFNS];
static struct its_dev_rec slots[NR_SLOTS];
static struct its_cmd_state st;
/* RDbase of the two redistributors the commands may name. */
static const u64 targets[] = { 0, 1 };
static int failures, checks;

static int fake_pin(u64 pfn, u64 nr_pages)
{
	u64 i;

	if (pfn >= NR_PFNS || nr_pages > NR_PFNS - pfn)
		return -1;
	for (i = pfn; i < pfn + nr_pages; i++) {
		if (i == GUEST_PFN)
			return -1;
	}
	for (i = pfn; i < pfn + nr_pages; i++)
		pins[i]++;

	return 0;
}

static void fake_unpin(u64 pfn, u64 nr_pages)
{
	u64 i;

	for (i = pfn; i < pfn + nr_pages; i++) {
		if (!pins[i]) {
			printf("# unpin of unpinned pfn %#llx\n", (unsigned long long)i);
			failures++;
			continue;
		}
		pins[i]--;
	}
}

static const struct its_cmd_mem_ops fake_mem = {
	.pin	= fake_pin,
	.unpin	= fake_unpin,
};

static void expect(int cond, const char *name, const char *what)
{
	checks++;
	if (!cond) {
		failures++;
		printf("not ok - %s: %s\n", name, what);
	}
}

/* Encoders, written independently of the validator's decoders. */
#define CMD(op, dw0, dw1, dw2, dw3)	{ (u64)(op) | (dw0), (dw1), (dw2), (dw3) }
#define DEV(d)				((u64)(d) << 32)
#define EV(e)				((u64)(e))
#define LPI(i)				((u64)(i) << 32)
#define ICID(c)				((u64)(c))
#define RD(r)				((u64)(r) << 16)
#define ITT(a)				((u64)(a) & GENMASK_ULL(51, 8))
#define V				BIT_ULL(63)

/*
 * A fresh ITS: 64 DeviceIDs, 4 collections, 16 EventID bits, 16 LPI bits,
 * 8-byte ITEs, 4 KiB pages, two redistributors (processor numbers 0, 1).
 * Device 1 maps 32 events at pfn 1; device 2 maps 2^16 events at pfn 16.
 */
static void init_state(struct its_cmd_state *s)
{
	memset(s, 0, sizeof(*s));
	memset(pins, 0, sizeof(pins));
	memset(slots, 0, sizeof(slots));
	s->dev = slots;
	s->nr_slots = NR_SLOTS;
	s->mem = &fake_mem;
	s->lim.nr_devids = 64;
	s->lim.nr_icids = 4;
	s->lim.max_size = 15;
	s->lim.lpi_bits = 16;
	s->lim.itt_entry_size = 8;
	s->lim.page_shift = 12;
	s->lim.nr_targets = ARRAY_SIZE(targets);
	s->lim.targets = targets;
	s->seq = 2048;
}

static void reset(void)
{
	init_state(&st);
	if (its_cmd_map_dev(&st, 1, 4, 0x1000) || its_cmd_map_dev(&st, 2, 15, 0x10000)) {
		printf("Bail out! cannot map the initial devices\n");
		exit(1);
	}
}

struct tcase {
	const char		*name;
	u64			in[4];
	enum its_cmd_reason	want;
	u64			out[4];		/* checked when @want is OK */
};

static const struct tcase cases[] = {
	/* MAPD */
	{ "mapd map", CMD(GITS_CMD_MAPD, DEV(5), 4, ITT(0x3000) | V, 0), ITS_CMD_OK,
	  CMD(GITS_CMD_MAPD, DEV(5), 4, ITT(0x3000) | V, 0) },
	{ "mapd last devid", CMD(GITS_CMD_MAPD, DEV(63), 0, ITT(0x3000) | V, 0), ITS_CMD_OK,
	  CMD(GITS_CMD_MAPD, DEV(63), 0, ITT(0x3000) | V, 0) },
	{ "mapd devid past table", CMD(GITS_CMD_MAPD, DEV(64), 0, ITT(0x3000) | V, 0),
	  ITS_CMD_BAD_DEVID },
	{ "mapd devid 2^32-1", CMD(GITS_CMD_MAPD, DEV(0xffffffff), 0, ITT(0x3000) | V, 0),
	  ITS_CMD_BAD_DEVID },
	{ "mapd size at ID_bits", CMD(GITS_CMD_MAPD, DEV(6), 15, ITT(0x40000) | V, 0), ITS_CMD_OK,
	  CMD(GITS_CMD_MAPD, DEV(6), 15, ITT(0x40000) | V, 0) },
	{ "mapd size past ID_bits", CMD(GITS_CMD_MAPD, DEV(6), 16, ITT(0x40000) | V, 0),
	  ITS_CMD_BAD_SIZE },
	{ "mapd itt in guest page", CMD(GITS_CMD_MAPD, DEV(6), 0, ITT(GUEST_PFN << 12) | V, 0),
	  ITS_CMD_BAD_ITT },
	/* 64 x 8 bytes from 0xff00 spill into the guest page 0x100. */
	{ "mapd itt spills into guest page",
	  CMD(GITS_CMD_MAPD, DEV(6), 5, ITT((GUEST_PFN << 12) - 0x100) | V, 0), ITS_CMD_BAD_ITT },
	{ "mapd itt ends before guest page",
	  CMD(GITS_CMD_MAPD, DEV(6), 4, ITT((GUEST_PFN << 12) - 0x100) | V, 0), ITS_CMD_OK,
	  CMD(GITS_CMD_MAPD, DEV(6), 4, ITT((GUEST_PFN << 12) - 0x100) | V, 0) },
	{ "mapd itt past PA range", CMD(GITS_CMD_MAPD, DEV(6), 0, ITT(NR_PFNS << 12) | V, 0),
	  ITS_CMD_BAD_ITT },
	{ "mapd second map", CMD(GITS_CMD_MAPD, DEV(1), 4, ITT(0x5000) | V, 0), ITS_CMD_DEV_BUSY },
	{ "mapd unmap", CMD(GITS_CMD_MAPD, DEV(1), 0, 0, 0), ITS_CMD_OK,
	  CMD(GITS_CMD_MAPD, DEV(1), 0, 0, 0) },
	{ "mapd unmap unknown", CMD(GITS_CMD_MAPD, DEV(9), 0, 0, 0), ITS_CMD_OK,
	  CMD(GITS_CMD_MAPD, DEV(9), 0, 0, 0) },
	{ "mapd res0 cleared",
	  CMD(GITS_CMD_MAPD, DEV(5) | 0xffff00, GENMASK_ULL(63, 5) | 4,
	      ITT(0x3000) | V | GENMASK_ULL(62, 52) | 0xff, ~0ULL), ITS_CMD_OK,
	  CMD(GITS_CMD_MAPD, DEV(5), 4, ITT(0x3000) | V, 0) },
	/* MAPC */
	{ "mapc", CMD(GITS_CMD_MAPC, 0, 0, ICID(3) | RD(1) | V, 0), ITS_CMD_OK,
	  CMD(GITS_CMD_MAPC, 0, 0, ICID(3) | RD(1) | V, 0) },
	{ "mapc icid past table", CMD(GITS_CMD_MAPC, 0, 0, ICID(4) | RD(1) | V, 0),
	  ITS_CMD_BAD_ICID },
	{ "mapc unknown rdbase", CMD(GITS_CMD_MAPC, 0, 0, ICID(0) | RD(2) | V, 0),
	  ITS_CMD_BAD_RDBASE },
	{ "mapc unmap drops rdbase", CMD(GITS_CMD_MAPC, DEV(7), ~0ULL, ICID(2) | RD(9), 0),
	  ITS_CMD_OK, CMD(GITS_CMD_MAPC, 0, 0, ICID(2), 0) },
	/* MAPTI, MAPI */
	{ "mapti", CMD(GITS_CMD_MAPTI, DEV(1), EV(31) | LPI(8192), ICID(1), 0), ITS_CMD_OK,
	  CMD(GITS_CMD_MAPTI, DEV(1), EV(31) | LPI(8192), ICID(1), 0) },
	{ "mapti last lpi", CMD(GITS_CMD_MAPTI, DEV(1), EV(0) | LPI(65535), ICID(0), 0),
	  ITS_CMD_OK, CMD(GITS_CMD_MAPTI, DEV(1), EV(0) | LPI(65535), ICID(0), 0) },
	{ "mapti eventid past itt", CMD(GITS_CMD_MAPTI, DEV(1), EV(32) | LPI(8192), 0, 0),
	  ITS_CMD_BAD_EVENTID },
	{ "mapti sgi/spi intid", CMD(GITS_CMD_MAPTI, DEV(1), EV(0) | LPI(8191), 0, 0),
	  ITS_CMD_BAD_INTID },
	{ "mapti intid past lpi bits", CMD(GITS_CMD_MAPTI, DEV(1), EV(0) | LPI(65536), 0, 0),
	  ITS_CMD_BAD_INTID },
	{ "mapti icid past table", CMD(GITS_CMD_MAPTI, DEV(1), EV(0) | LPI(8192), ICID(4), 0),
	  ITS_CMD_BAD_ICID },
	{ "mapti unmapped device", CMD(GITS_CMD_MAPTI, DEV(3), EV(0) | LPI(8192), 0, 0),
	  ITS_CMD_DEV_UNMAPPED },
	{ "mapti devid past table", CMD(GITS_CMD_MAPTI, DEV(64), EV(0) | LPI(8192), 0, 0),
	  ITS_CMD_BAD_DEVID },
	{ "mapi", CMD(GITS_CMD_MAPI, DEV(2), EV(8192) | LPI(5), ICID(1) | RD(3), 0), ITS_CMD_OK,
	  CMD(GITS_CMD_MAPI, DEV(2), EV(8192), ICID(1), 0) },
	{ "mapi eventid not an lpi", CMD(GITS_CMD_MAPI, DEV(2), EV(8191), 0, 0),
	  ITS_CMD_BAD_INTID },
	/* MOVI and the single-event commands */
	{ "movi", CMD(GITS_CMD_MOVI, DEV(1), EV(3) | LPI(77), ICID(2) | V, ~0ULL), ITS_CMD_OK,
	  CMD(GITS_CMD_MOVI, DEV(1), EV(3), ICID(2), 0) },
	{ "movi icid past table", CMD(GITS_CMD_MOVI, DEV(1), EV(3), ICID(0xffff), 0),
	  ITS_CMD_BAD_ICID },
	{ "movi eventid past itt", CMD(GITS_CMD_MOVI, DEV(1), EV(32), ICID(0), 0),
	  ITS_CMD_BAD_EVENTID },
	{ "discard", CMD(GITS_CMD_DISCARD, DEV(2), EV(65535), ~0ULL, 0), ITS_CMD_OK,
	  CMD(GITS_CMD_DISCARD, DEV(2), EV(65535), 0, 0) },
	{ "discard eventid past itt", CMD(GITS_CMD_DISCARD, DEV(2), EV(65536), 0, 0),
	  ITS_CMD_BAD_EVENTID },
	{ "int", CMD(GITS_CMD_INT, DEV(1), EV(1), 0, 0), ITS_CMD_OK,
	  CMD(GITS_CMD_INT, DEV(1), EV(1), 0, 0) },
	{ "int unmapped device", CMD(GITS_CMD_INT, DEV(4), EV(1), 0, 0), ITS_CMD_DEV_UNMAPPED },
	{ "clear", CMD(GITS_CMD_CLEAR, DEV(1), EV(31), 0, 0), ITS_CMD_OK,
	  CMD(GITS_CMD_CLEAR, DEV(1), EV(31), 0, 0) },
	{ "clear eventid past itt", CMD(GITS_CMD_CLEAR, DEV(1), EV(32), 0, 0),
	  ITS_CMD_BAD_EVENTID },
	{ "inv", CMD(GITS_CMD_INV, DEV(1), EV(0) | LPI(1), 0, 0), ITS_CMD_OK,
	  CMD(GITS_CMD_INV, DEV(1), EV(0), 0, 0) },
	{ "inv devid past table", CMD(GITS_CMD_INV, DEV(1000), EV(0), 0, 0), ITS_CMD_BAD_DEVID },
	/* Collection and redistributor commands */
	{ "invall", CMD(GITS_CMD_INVALL, DEV(1), 0, ICID(3) | RD(1), 0), ITS_CMD_OK,
	  CMD(GITS_CMD_INVALL, 0, 0, ICID(3), 0) },
	{ "invall icid past table", CMD(GITS_CMD_INVALL, 0, 0, ICID(4), 0), ITS_CMD_BAD_ICID },
	{ "sync", CMD(GITS_CMD_SYNC, 0, 0, RD(1) | ICID(5), 0), ITS_CMD_OK,
	  CMD(GITS_CMD_SYNC, 0, 0, RD(1), 0) },
	{ "sync unknown rdbase", CMD(GITS_CMD_SYNC, 0, 0, RD(0x8000), 0), ITS_CMD_BAD_RDBASE },
	/* MOVALL rewrites whole pending tables and Linux never sends it. */
	{ "movall", CMD(GITS_CMD_MOVALL, 0, 0, RD(0), RD(1)), ITS_CMD_BAD_OPCODE },
	/* GICv4 is refused wholesale; see its_cmd.c */
	{ "vmapp", CMD(GITS_CMD_VMAPP, 0, 0, RD(0) | V, 0), ITS_CMD_GICV4 },
	{ "vmapti", CMD(GITS_CMD_VMAPTI, DEV(1), EV(0), 0, 0), ITS_CMD_GICV4 },
	{ "vsgi", CMD(GITS_CMD_VSGI, 0, 0, 0, 0), ITS_CMD_GICV4 },
	{ "reserved 0x00", CMD(0x00, 0, 0, 0, 0), ITS_CMD_BAD_OPCODE },
	{ "reserved 0xff", CMD(0xff, DEV(1), 0, 0, 0), ITS_CMD_BAD_OPCODE },
};

static void run_case(const struct tcase *c)
{
	static const u64 sync0[4] = CMD(GITS_CMD_SYNC, 0, 0, RD(0), 0);
	u64 out[4];
	u64 refused;
	enum its_cmd_reason ret;

	reset();
	refused = st.nr_refused;
	ret = its_cmd_check(&st, c->in, out);

	expect(ret == c->want, c->name, "verdict");
	if (ret == ITS_CMD_OK) {
		expect(!memcmp(out, c->out, sizeof(out)), c->name, "re-encoded command");
		expect(st.nr_refused == refused, c->name, "not counted");
	} else {
		expect(!memcmp(out, sync0, sizeof(out)), c->name, "replaced by a SYNC");
		expect(st.nr_refused == refused + 1, c->name, "counted");
	}
	expect(st.seq == 2049, c->name, "queue position advanced");
}

/*
 * Many redistributors, numbered against address order: sorted, every one
 * is found by the validator's binary search, and no value between them.
 */
static void test_many_targets(void)
{
	static u64 many[300];
	u64 sync[4] = CMD(GITS_CMD_SYNC, 0, 0, 0, 0), out[4];
	bool sorted = true, found = true, gaps = true;
	u32 i;

	for (i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = 2 * (ARRAY_SIZE(many) - i);
	its_cmd_sort_targets(many, ARRAY_SIZE(many));
	for (i = 1; i < ARRAY_SIZE(many); i++)
		sorted &= many[i - 1] < many[i];
	expect(sorted, "targets", "sorted ascending");

	reset();
	st.lim.targets = many;
	st.lim.nr_targets = ARRAY_SIZE(many);
	for (i = 1; i <= 2 * ARRAY_SIZE(many) + 1; i++) {
		sync[2] = RD(i);
		if (i % 2)
			gaps &= its_cmd_check(&st, sync, out) == ITS_CMD_BAD_RDBASE;
		else
			found &= its_cmd_check(&st, sync, out) == ITS_CMD_OK;
	}
	expect(found, "targets", "every redistributor found");
	expect(gaps, "targets", "none between them accepted");
	init_state(&st);
}

static bool opcode_is_architected(unsigned int op)
{
	switch (op) {
	case 0x01: case 0x03: case 0x04: case 0x05: case 0x08: case 0x09:
	case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x0e: case 0x0f:
	case 0x21: case 0x22: case 0x23: case 0x25: case 0x29: case 0x2a:
	case 0x2b: case 0x2d: case 0x2e:
		return true;
	}

	return false;
}

/* Every one of the 256 opcodes: reserved ones are refused as such. */
static void test_all_opcodes(void)
{
	unsigned int op;
	char name[32];

	for (op = 0; op < 256; op++) {
		u64 in[4] = CMD(op, DEV(2), EV(8192) | LPI(8192), RD(0) | ICID(0), RD(0));
		enum its_cmd_reason ret;
		u64 out[4];

		reset();
		snprintf(name, sizeof(name), "opcode %#04x", op);
		ret = its_cmd_check(&st, in, out);
		if (!opcode_is_architected(op))
			expect(ret == ITS_CMD_BAD_OPCODE, name, "reserved refused");
		else if (op & 0x20)
			expect(ret == ITS_CMD_GICV4, name, "GICv4 refused");
		else if (op == GITS_CMD_MOVALL)
			expect(ret == ITS_CMD_BAD_OPCODE, name, "MOVALL refused");
		else
			expect(ret == ITS_CMD_OK || ret == ITS_CMD_DEV_BUSY, name,
			       "GICv3 command accepted");
	}
}

/* The ITT stays pinned until the ITS has executed the MAPD V=0. */
static void test_itt_lifecycle(void)
{
	u64 unmap[4] = CMD(GITS_CMD_MAPD, DEV(1), 0, 0, 0);
	u64 remap[4] = CMD(GITS_CMD_MAPD, DEV(1), 4, ITT(0x1000) | V, 0);
	u64 cross[4] = CMD(GITS_CMD_MAPD, DEV(7), 5, ITT(0x4f00) | V, 0);
	u64 out[4], seq;

	reset();
	expect(pins[1] == 1, "itt", "pinned by the initial map");

	/* Two pages for 512 bytes starting 256 bytes before a boundary. */
	expect(its_cmd_check(&st, cross, out) == ITS_CMD_OK, "itt", "map across pages");
	expect(pins[4] == 1 && pins[5] == 1 && !pins[6], "itt", "both pages pinned");

	seq = st.seq;
	expect(its_cmd_check(&st, unmap, out) == ITS_CMD_OK, "itt", "unmap queued");
	its_cmd_retire(&st, seq);
	expect(pins[1] == 1, "itt", "still pinned before the ITS read the unmap");
	expect(its_cmd_check(&st, remap, out) == ITS_CMD_DEV_BUSY, "itt",
	       "remap refused while the unmap is pending");
	its_cmd_retire(&st, seq + 1);
	expect(pins[1] == 0, "itt", "released once the unmap executed");
	its_cmd_retire(&st, seq + 100);
	expect(pins[1] == 0, "itt", "released only once");
	expect(its_cmd_check(&st, remap, out) == ITS_CMD_OK, "itt", "remap after unmap");
	expect(pins[1] == 1, "itt", "pinned again");

	/* A device table full of mappings refuses more, without pinning. */
	reset();
	st.lim.nr_devids = 1024;
	for (seq = 0; seq < NR_SLOTS / 2 - 2; seq++)
		expect(its_cmd_map_dev(&st, 10 + seq, 0, 0x200000 + seq * 0x100) == ITS_CMD_OK,
		       "itt", "fill the records");
	expect(its_cmd_check(&st, cross, out) == ITS_CMD_DEV_TABLE_FULL, "itt",
	       "record table at most half full");
	expect(!pins[4] && !pins[5], "itt", "nothing pinned when full");
}

/*
 * Moving the records to a larger table, as the hypervisor does when the
 * host gives it one: every device is still found, nothing is pinned or
 * released, and the new room is usable.
 */
static void test_move_devs(void)
{
	static struct its_dev_rec big[4 * NR_SLOTS];
	u64 unmap[4] = CMD(GITS_CMD_MAPD, DEV(10), 0, 0, 0);
	u64 out[4], seq;
	unsigned int i, busy = 0;
	bool ok = true;

	reset();
	st.lim.nr_devids = 4096;
	for (i = 0; i < NR_SLOTS / 2 - 2; i++)
		ok &= its_cmd_map_dev(&st, 10 + i, 0, 0x200000 + i * 0x100) == ITS_CMD_OK;
	seq = st.seq;
	ok &= its_cmd_check(&st, unmap, out) == ITS_CMD_OK;
	expect(ok, "move", "a half-full table, one device unmapping");

	expect(!its_cmd_move_devs(&st, big, NR_SLOTS), "move", "not to a table as small");
	expect(!its_cmd_move_devs(&st, big, 3 * NR_SLOTS), "move", "not to a table of 3 * 2^n");
	memset(big, 0, sizeof(big));
	expect(its_cmd_move_devs(&st, big, 4 * NR_SLOTS) && st.dev == big &&
	       st.nr_slots == 4 * NR_SLOTS, "move", "to a table four times larger");

	for (i = 0; i < 4 * NR_SLOTS; i++)
		busy += big[i].state != ITS_DEV_FREE;
	expect(busy == NR_SLOTS / 2, "move", "every record moved");
	for (i = 1; i < NR_SLOTS / 2 - 2; i++) {
		u64 cmd[4] = CMD(GITS_CMD_INT, DEV(10 + i), EV(0), 0, 0);

		ok &= its_cmd_check(&st, cmd, out) == ITS_CMD_OK;
	}
	expect(ok, "move", "every mapped device found");
	expect(pins[1] == 1 && pins[16] == 1 && pins[0x200] == 16, "move", "pins unchanged");
	expect(its_cmd_map_dev(&st, 10, 0, 0x300000) == ITS_CMD_DEV_BUSY, "move",
	       "the unmapping device still busy");
	its_cmd_retire(&st, seq);
	expect(pins[0x200] == 16, "move", "its unmap not retired before it executed");
	its_cmd_retire(&st, seq + 1);
	expect(pins[0x200] == 15 && st.nr_devs == NR_SLOTS / 2 - 1, "move",
	       "its unmap retires from the new table");
	for (i = 0; i < NR_SLOTS; i++)
		ok &= its_cmd_map_dev(&st, 1000 + i, 0, 0x300000 + i * 0x100) == ITS_CMD_OK;
	expect(ok && st.nr_devs == NR_SLOTS + NR_SLOTS / 2 - 1, "move", "room for more devices");
	for (i = 0; st.nr_devs < 2 * NR_SLOTS; i++)
		ok &= its_cmd_map_dev(&st, 2000 + i, 0, 0x380000) == ITS_CMD_OK;
	expect(ok && its_cmd_map_dev(&st, 1999, 0, 0x380000) == ITS_CMD_DEV_TABLE_FULL,
	       "move", "and at most half full again");
}

/*
 * DeviceIDs the host picks so that they all hash to the same few slots
 * (the hash is public): the records stay within ITS_CMD_MAX_DISPLACEMENT
 * of home, so that no lookup walks a long run; the ones that would not
 * are refused, and the unmaps of those mapped retire in queue order.
 */
#define CD_SLOTS	4096

static void test_colliding_devids(void)
{
	static struct its_dev_rec table[CD_SLOTS];
	static u32 mapped[CD_SLOTS];
	unsigned int i, nr = 0, refused = 0, far = 0, found = 0;
	u64 out[4], seq;
	u32 id;

	init_state(&st);
	memset(table, 0, sizeof(table));
	st.dev = table;
	st.nr_slots = CD_SLOTS;
	st.lim.nr_devids = BIT_ULL(20);
	for (id = 0; id < BIT(20) && nr + refused < 200; id++) {
		u64 map[4] = CMD(GITS_CMD_MAPD, DEV(id), 0, ITT(0x1000) | V, 0);
		enum its_cmd_reason r;

		if (hash_32(id, ilog2(CD_SLOTS)) >= 4)
			continue;
		r = its_cmd_check(&st, map, out);
		if (r == ITS_CMD_OK)
			mapped[nr++] = id;
		else
			refused += r == ITS_CMD_DEV_TABLE_FULL;
	}
	for (i = 0; i < CD_SLOTS; i++) {
		if (table[i].state != ITS_DEV_FREE &&
		    ((i - hash_32(table[i].devid, ilog2(CD_SLOTS))) & (CD_SLOTS - 1)) >
		    ITS_CMD_MAX_DISPLACEMENT)
			far++;
	}
	expect(nr + refused == 200 && refused && !far, "collide",
	       "colliding DeviceIDs: records near home, the others refused");
	for (i = 0; i < nr; i++) {
		u64 cmd[4] = CMD(GITS_CMD_INT, DEV(mapped[i]), EV(0), 0, 0);

		found += its_cmd_check(&st, cmd, out) == ITS_CMD_OK;
	}
	expect(found == nr, "collide", "every mapped one found");

	seq = st.seq;
	for (i = 0; i < nr; i++) {
		u64 unmap[4] = CMD(GITS_CMD_MAPD, DEV(mapped[i]), 0, 0, 0);

		its_cmd_check(&st, unmap, out);
	}
	its_cmd_retire(&st, seq + nr / 2);
	expect(st.nr_unmapping == nr - nr / 2 && st.nr_devs == nr - nr / 2 &&
	       pins[1] == nr - nr / 2, "collide",
	       "unmaps retire in queue order, only those executed");
	its_cmd_retire(&st, st.seq);
	expect(!st.nr_unmapping && !st.nr_devs && !pins[1], "collide", "then all of them");
}

/* Limits that must not be truncated or outgrown. */
static void test_limits(void)
{
	u64 full[4] = CMD(GITS_CMD_MAPD, DEV(0xffffffff), 0, ITT(0x3000) | V, 0);
	u64 out[4];

	/* 32 DeviceID bits: 2^32 devices, which a u32 would make 0. */
	reset();
	st.lim.nr_devids = BIT_ULL(32);
	expect(its_cmd_check(&st, full, out) == ITS_CMD_OK, "limits", "DeviceID 2^32-1 mapped");

	/* An ITT of 2 MiB (2^18 events of 8 bytes) is past what one MAPD may pin. */
	reset();
	st.lim.max_size = 31;
	expect(its_cmd_map_dev(&st, 9, 17, 0x200000) == ITS_CMD_BAD_ITT, "limits",
	       "ITT over 1 MiB refused");
	expect(!pins[0x200], "limits", "nothing pinned for it");
	expect(its_cmd_map_dev(&st, 9, 16, 0x200000) == ITS_CMD_OK, "limits",
	       "ITT of 1 MiB mapped");
}

static void test_queue(void)
{
	const u64 q = 0x10000;

	expect(its_queue_offset_valid(0, q), "queue", "0 valid");
	expect(its_queue_offset_valid(q - 32, q), "queue", "last slot valid");
	expect(!its_queue_offset_valid(q, q), "queue", "end invalid");
	expect(!its_queue_offset_valid(0x20 | 1, q), "queue", "Retry bit refused");
	expect(!its_queue_offset_valid(0x30, q), "queue", "unaligned refused");
	expect(!its_queue_offset_valid(BIT_ULL(20), q), "queue", "bit 20 refused");
	expect(!its_queue_offset_valid(BIT_ULL(32), q), "queue", "upper half refused");
	expect(its_queue_next(q - 32, q) == 0, "queue", "next wraps");
	expect(its_queue_next(0, q) == 32, "queue", "next");
	expect(its_queue_used(0, 0, q) == 0, "queue", "empty");
	expect(its_queue_used(32, 0, q) == q - 32, "queue", "full after wrap");
	expect(its_queue_used(q - 64, 64, q) == 128, "queue", "wrapped span");
	expect(its_queue_used(64, q - 32, q) == q - 96, "queue", "plain span");
}

/* The ITS registers the queue code reads and writes. */
static struct {
	u64	ctlr, cbaser, cwriter, creadr;
	u64	baser[GITS_BASER_NR_REGS];
} hw;

static u64 *fake_reg(u32 offset)
{
	switch (offset) {
	case GITS_CTLR:
		return &hw.ctlr;
	case GITS_CBASER:
		return &hw.cbaser;
	case GITS_CWRITER:
		return &hw.cwriter;
	case GITS_CREADR:
		return &hw.creadr;
	default:
		return &hw.baser[(offset - GITS_BASER) / sizeof(u64) % GITS_BASER_NR_REGS];
	}
}

static u64 fake_read(void *priv, u32 offset)
{
	return *fake_reg(offset);
}

static void fake_write(void *priv, u32 offset, u64 val)
{
	*fake_reg(offset) = val;
	/* Writing GITS_CBASER resets GITS_CREADR (IHI 0069H, GITS_CBASER). */
	if (offset == GITS_CBASER)
		hw.creadr = 0;
}

static const struct its_queue_hw_ops fake_hw = {
	.read	= fake_read,
	.write	= fake_write,
};

#define QSIZE		4096
/* Queues are little-endian, like the host this runs on. */
static __le64 cmdq[QSIZE / 8], shadow[QSIZE / 8];
static struct its_queue queue;

static bool slot_is_sync(u64 off)
{
	return (cmdq[off / 8] & 0xff) == GITS_CMD_SYNC;
}

static bool queue_all_sync(void)
{
	u64 off;

	for (off = 0; off < QSIZE; off += ITS_CMD_BYTES) {
		if (!slot_is_sync(off))
			return false;
	}

	return true;
}

/* An enabled ITS with an empty queue at offset @at, no device mapped. */
static void queue_reset(u64 at)
{
	memset(&queue, 0, sizeof(queue));
	memset(&hw, 0, sizeof(hw));
	memset(cmdq, 0xa5, sizeof(cmdq));
	memset(shadow, 0, sizeof(shadow));
	init_state(&queue.cmds);
	queue.hw = &fake_hw;
	queue.cmdq = cmdq;
	queue.shadow = shadow;
	queue.qsize = QSIZE;
	hw.cbaser = GITS_CBASER_VALID | 0x80000000ULL;
	hw.baser[0] = GITS_BASER_VALID | 0x90000000ULL;
	queue.cbaser = hw.cbaser;
	memcpy(queue.baser, hw.baser, sizeof(hw.baser));
	hw.ctlr = GITS_CTLR_ENABLE;
	hw.cwriter = at;
	hw.creadr = at;
	expect(its_queue_init(&queue), "queue", "init");
}

/* The host maps device 3 to an ITT at pfn 0x20 and unmaps it again. */
static void queue_map_unmap(void)
{
	u64 map[4] = CMD(GITS_CMD_MAPD, DEV(3), 4, ITT(0x20000) | V, 0);
	u64 unmap[4] = CMD(GITS_CMD_MAPD, DEV(3), 0, 0, 0);
	u64 wr = queue.cwriter;

	memcpy(shadow + wr / 8, map, sizeof(map));
	memcpy(shadow + its_queue_next(wr, QSIZE) / 8, unmap, sizeof(unmap));
	expect(its_queue_write_cwriter(&queue, its_queue_next(its_queue_next(wr, QSIZE), QSIZE)),
	       "queue", "two commands written");
	expect(pins[0x20] == 1, "queue", "ITT pinned by the queued MAPD");
}

/*
 * The proxied queue: retired slots hold SYNCs, so that an ITS running the
 * queue again (firmware restoring GITS_CBASER and GITS_CWRITER after a
 * power-down) cannot execute an old MAPD against an ITT since released;
 * GITS_CREADR is only believed forward, and not while the ITS is stopped.
 */
static void test_queue_replay(void)
{
	int i;

	queue_reset(0x40);
	expect(queue_all_sync(), "replay", "slots not in use scrubbed at handover");

	queue_map_unmap();
	expect(!slot_is_sync(0x40) && !slot_is_sync(0x60), "replay", "commands in the queue");
	hw.creadr = 0x80;	/* the ITS executed both */
	expect(its_queue_read_creadr(&queue) == 0x80, "replay", "host sees them done");
	expect(pins[0x20] == 0, "replay", "ITT released");
	expect(queue_all_sync(), "replay", "retired slots scrubbed");

	/* GITS_CREADR going backwards (replay, reset) moves nothing. */
	hw.creadr = 0;
	expect(its_queue_read_creadr(&queue) == 0x80, "replay", "CREADR backwards ignored");

	/* Linux's suspend: disable, wait for Quiescent; then firmware restores. */
	hw.creadr = 0x80;
	expect(its_queue_write_ctlr(&queue, 0), "replay", "disable");
	hw.ctlr = GITS_CTLR_QUIESCENT;
	hw.creadr = 0;
	expect(!its_queue_write_ctlr(&queue, GITS_CTLR_ENABLE), "replay",
	       "enable refused after GITS_CREADR moved while stopped");
	expect(its_queue_write_cbaser(&queue), "replay", "resume: GITS_CBASER reset");
	expect(queue.cwriter == 0 && hw.cwriter == 0, "replay", "queue starts over");
	expect(its_queue_write_ctlr(&queue, GITS_CTLR_ENABLE), "replay", "resume: enable");

	/* Commands pending when the ITS stops are never taken as executed. */
	queue_reset(0x40);
	queue_map_unmap();
	hw.ctlr = GITS_CTLR_QUIESCENT;
	its_queue_stop(&queue);
	hw.creadr = queue.cwriter;
	its_queue_read_creadr(&queue);
	expect(pins[0x20] == 1, "replay", "stopped ITS: ITT stays pinned");
	expect(!its_queue_write_cbaser(&queue), "replay",
	       "queue reset refused with commands pending");
	hw.cbaser = 0;
	expect(!its_queue_write_ctlr(&queue, GITS_CTLR_ENABLE), "replay",
	       "enable refused on a lost GITS_CBASER");
	hw.cbaser = queue.cbaser;
	hw.baser[0] = 0;
	expect(!its_queue_write_ctlr(&queue, GITS_CTLR_ENABLE), "replay",
	       "enable refused on a lost GITS_BASER");
	expect(its_queue_write_baser(&queue, 0) && hw.baser[0] == queue.baser[0], "replay",
	       "GITS_BASER restored");
	hw.creadr = 0x40;
	expect(its_queue_write_ctlr(&queue, GITS_CTLR_ENABLE), "replay",
	       "enable where the ITS stopped");
	hw.creadr = 0x80;
	its_queue_read_creadr(&queue);
	expect(pins[0x20] == 0, "replay", "ITT released once executed");

	/*
	 * A window that wraps past 0 and a power-down the hypervisor did not
	 * see: firmware writes GITS_CBASER back (GITS_CREADR to 0, inside the
	 * window) and GITS_CWRITER, and leaves the ITS disabled. Whether or
	 * not the host disabled the ITS first, nothing is retired.
	 */
	for (i = 0; i < 2; i++) {
		queue_reset(QSIZE - 32);
		queue_map_unmap();
		expect(queue.cwriter == 32, "replay", "window wraps past 0");
		if (i)
			expect(its_queue_write_ctlr(&queue, 0), "replay", "host disables");
		hw.ctlr = GITS_CTLR_QUIESCENT;
		hw.creadr = 0;
		its_queue_read_creadr(&queue);
		expect(pins[0x20] == 1, "replay", "reset GITS_CREADR not taken for progress");
		expect(!its_queue_write_ctlr(&queue, GITS_CTLR_ENABLE), "replay",
		       "enable refused where the ITS did not stop");
	}

	/* An enable cannot slip in while the system suspends. */
	queue_reset(0x40);
	its_queue_suspend(&queue, true);
	expect(!its_queue_write_ctlr(&queue, GITS_CTLR_ENABLE), "replay",
	       "enable refused while suspending");
	its_queue_suspend(&queue, false);
	expect(its_queue_write_ctlr(&queue, GITS_CTLR_ENABLE), "replay",
	       "enable once back, where the ITS stopped");
}

/*
 * The device records, a hash table with deletions that move records about,
 * against a plain model: random maps, unmaps and retires up to random queue
 * positions, over DeviceIDs whose homes (hash_32(id, 8)) all fall in slots
 * 254, 255 and 0, so that every record sits in one long run across the end
 * of the table; then every device is found (INT accepted) exactly when the
 * model says it is mapped, with one pin each.
 */
#define DT_IDS		512

static void test_dev_table(void)
{
	static u64 unmap_seq[DT_IDS];
	static u8 model[DT_IDS];	/* 0: unmapped, 1: mapped, 2: unmapping */
	static u32 ids[DT_IDS];
	unsigned int round, d, mapped = 0, pinned = 0;
	u64 out[4], done = 0;
	bool ok = true;
	u32 id, home;

	for (id = 0, d = 0; d < DT_IDS; id++) {
		home = hash_32(id, ilog2(NR_SLOTS));
		if (home >= NR_SLOTS - 2 || home == 0)
			ids[d++] = id;
	}

	init_state(&st);
	st.lim.nr_devids = BIT_ULL(32);
	memset(model, 0, sizeof(model));
	srand(1);
	for (round = 0; round < 20000; round++) {
		d = rand() % DT_IDS;
		if (model[d] == 0) {
			u64 map[4] = CMD(GITS_CMD_MAPD, DEV(ids[d]), 0,
					 ITT(0x200000 + d * 0x100) | V, 0);
			enum its_cmd_reason r = its_cmd_check(&st, map, out);

			if (r == ITS_CMD_OK)
				model[d] = 1;
			else
				ok &= r == ITS_CMD_DEV_TABLE_FULL;
		} else if (model[d] == 1) {
			u64 unmap[4] = CMD(GITS_CMD_MAPD, DEV(ids[d]), 0, 0, 0);

			unmap_seq[d] = st.seq;
			ok &= its_cmd_check(&st, unmap, out) == ITS_CMD_OK;
			model[d] = 2;
		}
		/* Now and then the ITS catches up with part of what is queued. */
		if (rand() % 8 == 0) {
			done += rand() % (st.seq - done + 1);
			its_cmd_retire(&st, done);
			for (d = 0; d < DT_IDS; d++) {
				if (model[d] == 2 && unmap_seq[d] < done)
					model[d] = 0;
			}
		}
		for (d = 0; d < DT_IDS && !(round % 97); d++) {
			u64 cmd[4] = CMD(GITS_CMD_INT, DEV(ids[d]), EV(0), 0, 0);
			enum its_cmd_reason r = its_cmd_check(&st, cmd, out);

			ok &= model[d] == 1 ? r == ITS_CMD_OK : r == ITS_CMD_DEV_UNMAPPED;
		}
	}
	/* One page pinned per mapped device, nothing for the others. */
	its_cmd_retire(&st, st.seq);
	for (d = 0; d < DT_IDS; d++)
		mapped += model[d] == 1;
	for (d = 0x200; d < 0x200 + DT_IDS * 0x100 / 0x1000; d++)
		pinned += pins[d];
	expect(ok, "devices", "records follow maps, unmaps and retires in one long run");
	expect(pinned == mapped, "devices", "one pin per mapped device");
	expect(st.nr_devs == mapped && st.nr_itt_pages == pinned, "devices",
	       "the counts the proxy traces match");
}

/* Refusals carry the architected error where the GIC specification has one. */
static void test_errors(void)
{
	enum its_cmd_reason why;
	unsigned int op;
	u32 err;

	expect(its_cmd_error(GITS_CMD_MAPD, ITS_CMD_BAD_DEVID) == E_ITS_MAPD_DEVICE_OOR,
	       "errors", "MAPD DeviceID out of range");
	expect(its_cmd_error(GITS_CMD_MAPTI, ITS_CMD_BAD_INTID) == E_ITS_MAPTI_PHYSICALID_OOR,
	       "errors", "MAPTI pINTID out of range");
	expect(its_cmd_error(GITS_CMD_MAPC, ITS_CMD_BAD_RDBASE) == E_ITS_MAPC_PROCNUM_OOR,
	       "errors", "MAPC RDbase out of range");
	expect(its_cmd_error(GITS_CMD_MAPD, ITS_CMD_BAD_ITT) == 0,
	       "errors", "an ITT the host does not own has no architected error");
	expect(its_cmd_error(GITS_CMD_SYNC, ITS_CMD_BAD_OPCODE) == 0,
	       "errors", "no error for an opcode without one");

	/* An E_ITS_* code carries its command's opcode in bits [15:8]. */
	for (op = 0; op < 256; op++) {
		for (why = ITS_CMD_OK; why < ITS_CMD_NR_REASONS; why++) {
			err = its_cmd_error(op, why);
			expect(!err || ((err >> 8) & 0xff) == op, "errors",
			       "an error names the refused command");
		}
	}
}

int main(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		run_case(&cases[i]);
	test_all_opcodes();
	test_itt_lifecycle();
	test_limits();
	test_queue();
	test_queue_replay();
	test_errors();
	test_dev_table();
	test_move_devs();
	test_many_targets();
	test_colliding_devids();

	printf("%s: %d checks, %d failures\n", failures ? "FAIL" : "PASS", checks, failures);

	return failures ? 1 : 0;
}
