// SPDX-License-Identifier: GPL-2.0-only
/*
 * Validation of ITS commands queued by the host, for the pKVM ITS proxy.
 *
 * Every command is decoded from a private copy, checked against limits the
 * hypervisor read from the ITS itself and against its own record of device
 * mappings, then re-encoded from the checked fields only, so that RES0 and
 * unknown bits never reach the ITS. A command is either:
 *  - accepted: the re-encoded command is returned;
 *  - refused:  a SYNC to a known redistributor takes its slot, so that the
 *    queue keeps moving and the host driver sees its command complete.
 *
 * The ITS is a bus master that writes the Device and Collection Tables and
 * the ITTs named by commands. The ITT of a mapped device is pinned (it can
 * no longer be donated to a guest or to the hypervisor) from the MAPD V=1
 * until the ITS has executed the matching MAPD V=0, as recorded here, not as
 * described by the host's command.
 *
 * This file builds both at EL2 and in userspace (tools/testing/pkvm-its).
 */

#include <linux/align.h>
#include <linux/array_size.h>
#include <linux/bitfield.h>
#include <linux/bits.h>
#include <linux/compiler.h>
#include <linux/hash.h>
#include <linux/irqchip/arm-gic-v3.h>
#include <linux/log2.h>

#include <nvhe/its_cmd.h>

/*
 * Fields of a command, in CPU byte order (its_queue_copy_cmd() converts
 * from the queue's little-endian): GITS_CMD_DW<dw>_<field> in arm-gic-v3.h.
 */
#define cmd_get(cmd, dw, field)		FIELD_GET(GITS_CMD_DW##dw##_##field, (cmd)[dw])
/* Only ever ORs into a zeroed command: every other bit stays RES0. */
#define cmd_set(cmd, dw, field, val)	((cmd)[dw] |= FIELD_PREP(GITS_CMD_DW##dw##_##field, (val)))

/* Not used by Linux, hence not in arm-gic-v3.h (IHI 0069H, VMAPI). */
#define ITS_CMD_VMAPI		GITS_CMD_GICv4(GITS_CMD_MAPI)

/*
 * Device records are an open-addressing hash table on the DeviceID with
 * linear probing: a command finds its device in a few probes, however many
 * devices are mapped, as long as the table has room to spare. Its owner
 * sizes it (@nr_slots, a power of 2) and moves it to a larger one when it
 * fills up: see its_cmd_move_devs(). A run of used slots always ends at a
 * free one while the table is not full (free_dev() keeps runs unbroken).
 * No record is more than ITS_CMD_MAX_DISPLACEMENT slots past its home:
 * alloc_dev() finds no slot for one that would be, and free_dev() only
 * ever moves records closer to home; so a lookup stops there.
 */
static u32 dev_home(const struct its_cmd_state *st, u32 devid)
{
	/* hash_32() needs at least one bit; no table has none. */
	return st->nr_slots > 1 ? hash_32(devid, ilog2(st->nr_slots)) : 0;
}

/* Slots a lookup may need to look at: home, and what may be past it. */
static u32 dev_probes(const struct its_cmd_state *st)
{
	return min_t(u32, st->nr_slots, ITS_CMD_MAX_DISPLACEMENT + 1);
}

static u32 dev_next(const struct its_cmd_state *st, u32 i)
{
	return (i + 1) & (st->nr_slots - 1);
}

static struct its_dev_rec *find_dev(struct its_cmd_state *st, u32 devid)
{
	u32 i = dev_home(st, devid), n;

	for (n = 0; n < dev_probes(st); n++, i = dev_next(st, i)) {
		if (st->dev[i].state == ITS_DEV_FREE)
			return NULL;
		if (st->dev[i].devid == devid)
			return &st->dev[i];
	}

	return NULL;
}

/*
 * The slot for @devid, which find_dev() did not find; NULL when there is
 * none close enough to its home.
 */
static struct its_dev_rec *alloc_dev(struct its_cmd_state *st, u32 devid)
{
	u32 i = dev_home(st, devid), n;

	for (n = 0; n < dev_probes(st); n++, i = dev_next(st, i)) {
		if (st->dev[i].state == ITS_DEV_FREE)
			return &st->dev[i];
	}

	return NULL;
}

/*
 * Free the slot of @dev, then close the hole: a record further along the
 * run moves into it unless its home lies between the hole and itself
 * (backward-shift deletion, so no lookup ever stops early at the hole).
 * The slot of @dev may then hold another record. The walk ends at the
 * first free slot, or once it is further from the hole than any record
 * lies from its home: none from there on can move into it, however long
 * the run is.
 */
static void free_dev(struct its_cmd_state *st, struct its_dev_rec *dev)
{
	const u32 mask = st->nr_slots - 1;
	u32 hole = dev - st->dev, i, home;

	st->dev[hole].state = ITS_DEV_FREE;
	for (i = dev_next(st, hole); st->dev[i].state != ITS_DEV_FREE; i = dev_next(st, i)) {
		if (((i - hole) & mask) > ITS_CMD_MAX_DISPLACEMENT)
			break;
		home = dev_home(st, st->dev[i].devid);
		if (((i - home) & mask) < ((i - hole) & mask))
			continue;
		st->dev[hole] = st->dev[i];
		st->dev[i].state = ITS_DEV_FREE;
		hole = i;
	}
}

/**
 * its_cmd_move_devs() - Move the device records to a new table
 * @st: the validator state; its current table may be empty (no slots)
 * @dev: the new table, @nr_slots records, all ITS_DEV_FREE
 * @nr_slots: a power of 2, larger than the current table
 *
 * The records keep their state, ITT pins included: only where they are
 * found changes. The caller owns both tables and frees the one not in use.
 *
 * Return: false, leaving @st as it was, if @nr_slots is not acceptable or
 * a record would lie too far from its home in the new table.
 */
bool its_cmd_move_devs(struct its_cmd_state *st, struct its_dev_rec *dev, u32 nr_slots)
{
	struct its_cmd_state old = { .dev = st->dev, .nr_slots = st->nr_slots };
	struct its_dev_rec *slot;
	u32 i;

	if (!nr_slots || (nr_slots & (nr_slots - 1)) || nr_slots <= st->nr_slots)
		return false;

	st->dev = dev;
	st->nr_slots = nr_slots;
	for (i = 0; i < old.nr_slots; i++) {
		if (old.dev[i].state == ITS_DEV_FREE)
			continue;
		slot = alloc_dev(st, old.dev[i].devid);
		if (!slot) {
			st->dev = old.dev;
			st->nr_slots = old.nr_slots;
			return false;
		}
		*slot = old.dev[i];
	}

	return true;
}

static void its_cmd_zero(u64 *out)
{
	unsigned int i;

	for (i = 0; i < ITS_CMD_DWORDS; i++)
		out[i] = 0;
}

static bool check_devid(const struct its_cmd_state *st, u32 devid)
{
	return devid < st->lim.nr_devids;
}

static bool check_icid(const struct its_cmd_state *st, u32 icid)
{
	return icid < st->lim.nr_icids;
}

/*
 * An LPI the redistributors' tables cover: 8192 <= INTID < 2^lpi_bits,
 * where lpi_bits comes from their GICR_PROPBASER.IDbits. What a
 * redistributor does with an INTID beyond its tables is the
 * implementation's business, so no command may name one. (An ITE that the
 * host writes into its own ITT memory still can: see "Not covered" in
 * Documentation/virt/kvm/arm/pkvm.rst.)
 */
static bool check_lpi(const struct its_cmd_state *st, u64 intid)
{
	return intid >= GIC_LPI_OFFSET && intid < BIT_ULL(st->lim.lpi_bits);
}

/*
 * Put RDbase values in the order check_rdbase() needs, ascending, in place.
 * Redistributors are found in address order, and firmware numbers them in
 * that order too: an insertion sort only does real work for odd firmware,
 * once, at handover.
 */
void its_cmd_sort_targets(u64 *targets, u32 nr)
{
	u32 i, j;

	for (i = 1; i < nr; i++) {
		u64 v = targets[i];

		for (j = i; j && targets[j - 1] > v; j--)
			targets[j] = targets[j - 1];
		targets[j] = v;
	}
}

/* The first of @nr sorted @targets that is not below @rdbase, or @nr. */
u32 its_cmd_target_index(const u64 *targets, u32 nr, u64 rdbase)
{
	u32 lo = 0, hi = nr;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (targets[mid] < rdbase)
			lo = mid + 1;
		else
			hi = mid;
	}

	return lo;
}

/*
 * RDbase must name one of the redistributors the driver handed over: a
 * binary search, as lim.targets is sorted, for machines with thousands.
 */
static bool check_rdbase(const struct its_cmd_state *st, u64 rdbase)
{
	u32 i = its_cmd_target_index(st->lim.targets, st->lim.nr_targets, rdbase);

	return i < st->lim.nr_targets && st->lim.targets[i] == rdbase;
}

/* An ITT of 2^(Size + 1) entries, as MAPD defines it (IHI 0069H, MAPD). */
static u64 itt_bytes(const struct its_cmd_state *st, u8 size)
{
	return BIT_ULL(size + 1) * st->lim.itt_entry_size;
}

/* DeviceID, EventID: the device must be mapped and the event in its ITT. */
static enum its_cmd_reason check_event(struct its_cmd_state *st, const u64 *in)
{
	u32 devid = cmd_get(in, 0, DEVICEID);
	u32 eventid = cmd_get(in, 1, EVENTID);
	struct its_dev_rec *dev;

	if (!check_devid(st, devid))
		return ITS_CMD_BAD_DEVID;

	dev = find_dev(st, devid);
	if (!dev || dev->state != ITS_DEV_MAPPED)
		return ITS_CMD_DEV_UNMAPPED;

	if (eventid >= BIT_ULL(dev->size + 1))
		return ITS_CMD_BAD_EVENTID;

	return ITS_CMD_OK;
}

static void encode_event(const u64 *in, u64 *out)
{
	cmd_set(out, 0, OPCODE, cmd_get(in, 0, OPCODE));
	cmd_set(out, 0, DEVICEID, cmd_get(in, 0, DEVICEID));
	cmd_set(out, 1, EVENTID, cmd_get(in, 1, EVENTID));
}

/*
 * Record @devid as mapped to the ITT at @itt, pinning every page the ITS
 * may write, including a partial first and last one.
 */
enum its_cmd_reason its_cmd_map_dev(struct its_cmd_state *st, u32 devid, u8 size, u64 itt)
{
	struct its_dev_rec *dev;
	u64 first, last;

	if (!check_devid(st, devid))
		return ITS_CMD_BAD_DEVID;
	if (size > st->lim.max_size)
		return ITS_CMD_BAD_SIZE;
	if (itt & ~GITS_CMD_DW2_ITT_ADDR)
		return ITS_CMD_BAD_ITT;

	/* A second V=1 would orphan the pinned ITT of the first one. */
	if (find_dev(st, devid))
		return ITS_CMD_DEV_BUSY;

	/*
	 * At most half full, and no record far from home: lookups stay
	 * short, whatever the host maps.
	 */
	if (st->nr_devs >= st->nr_slots / 2)
		return ITS_CMD_DEV_TABLE_FULL;
	dev = alloc_dev(st, devid);
	if (!dev)
		return ITS_CMD_DEV_TABLE_FULL;

	first = itt >> st->lim.page_shift;
	last = (itt + itt_bytes(st, size) - 1) >> st->lim.page_shift;
	if (last - first + 1 > ITS_CMD_MAX_ITT_PAGES || st->mem->pin(first, last - first + 1))
		return ITS_CMD_BAD_ITT;

	dev->devid = devid;
	dev->size = size;
	dev->itt_pfn = first;
	dev->itt_nr_pages = last - first + 1;
	dev->state = ITS_DEV_MAPPED;
	st->nr_devs++;
	st->nr_itt_pages += dev->itt_nr_pages;

	return ITS_CMD_OK;
}

static enum its_cmd_reason mapd_map(struct its_cmd_state *st, u32 devid,
				    const u64 *in, u64 *out)
{
	u8 size = cmd_get(in, 1, SIZE);
	u64 itt = in[2] & GITS_CMD_DW2_ITT_ADDR;
	enum its_cmd_reason ret;

	ret = its_cmd_map_dev(st, devid, size, itt);
	if (ret)
		return ret;

	cmd_set(out, 1, SIZE, size);
	out[2] |= itt;
	cmd_set(out, 2, VALID, 1);

	return ITS_CMD_OK;
}

/*
 * The records waiting for their MAPD V=0 to execute form a list in queue
 * order, linked by DeviceID (records move, DeviceIDs do not), so that
 * retiring them never walks the table.
 */
static void queue_unmap(struct its_cmd_state *st, struct its_dev_rec *dev)
{
	if (st->nr_unmapping++)
		find_dev(st, st->unmap_tail)->next_unmap = dev->devid;
	else
		st->unmap_head = dev->devid;
	st->unmap_tail = dev->devid;
}

/* MAPD: map or unmap a DeviceID to an ITT. */
static enum its_cmd_reason handle_mapd(struct its_cmd_state *st, const u64 *in, u64 *out)
{
	u32 devid = cmd_get(in, 0, DEVICEID);
	struct its_dev_rec *dev;

	if (!check_devid(st, devid))
		return ITS_CMD_BAD_DEVID;

	cmd_set(out, 0, OPCODE, GITS_CMD_MAPD);
	cmd_set(out, 0, DEVICEID, devid);

	if (cmd_get(in, 2, VALID))
		return mapd_map(st, devid, in, out);

	/*
	 * The ITT stays pinned until the ITS has consumed this command: see
	 * its_cmd_retire(). An unmap of an unknown device is harmless.
	 */
	dev = find_dev(st, devid);
	if (dev && dev->state == ITS_DEV_MAPPED) {
		dev->state = ITS_DEV_UNMAPPING;
		dev->unmap_seq = st->seq;
		queue_unmap(st, dev);
	} else if (dev) {
		return ITS_CMD_DEV_BUSY;
	}

	return ITS_CMD_OK;
}

/* MAPC: map or unmap a collection to a redistributor. */
static enum its_cmd_reason handle_mapc(struct its_cmd_state *st, const u64 *in, u64 *out)
{
	u32 icid = cmd_get(in, 2, ICID);
	u64 rdbase = cmd_get(in, 2, RDBASE);
	bool valid = cmd_get(in, 2, VALID);

	if (!check_icid(st, icid))
		return ITS_CMD_BAD_ICID;
	if (valid && !check_rdbase(st, rdbase))
		return ITS_CMD_BAD_RDBASE;

	cmd_set(out, 0, OPCODE, GITS_CMD_MAPC);
	cmd_set(out, 2, ICID, icid);
	if (valid) {
		cmd_set(out, 2, RDBASE, rdbase);
		cmd_set(out, 2, VALID, 1);
	}

	return ITS_CMD_OK;
}

/* MAPTI, MAPI: map an event to a physical LPI and a collection. */
static enum its_cmd_reason handle_mapti(struct its_cmd_state *st, const u64 *in, u64 *out)
{
	u8 op = cmd_get(in, 0, OPCODE);
	u32 icid = cmd_get(in, 2, ICID);
	enum its_cmd_reason ret;
	u64 intid;

	ret = check_event(st, in);
	if (ret)
		return ret;

	/* MAPI uses the EventID as the LPI INTID (IHI 0069H, MAPI). */
	intid = op == GITS_CMD_MAPTI ? cmd_get(in, 1, PINTID) : cmd_get(in, 1, EVENTID);
	if (!check_lpi(st, intid))
		return ITS_CMD_BAD_INTID;
	if (!check_icid(st, icid))
		return ITS_CMD_BAD_ICID;

	encode_event(in, out);
	if (op == GITS_CMD_MAPTI)
		cmd_set(out, 1, PINTID, intid);
	cmd_set(out, 2, ICID, icid);

	return ITS_CMD_OK;
}

/* MOVI: retarget an event to another collection. */
static enum its_cmd_reason handle_movi(struct its_cmd_state *st, const u64 *in, u64 *out)
{
	u32 icid = cmd_get(in, 2, ICID);
	enum its_cmd_reason ret;

	ret = check_event(st, in);
	if (ret)
		return ret;
	if (!check_icid(st, icid))
		return ITS_CMD_BAD_ICID;

	encode_event(in, out);
	cmd_set(out, 2, ICID, icid);

	return ITS_CMD_OK;
}

/* DISCARD, INT, CLEAR, INV: act on one mapped event. */
static enum its_cmd_reason handle_event(struct its_cmd_state *st, const u64 *in, u64 *out)
{
	enum its_cmd_reason ret;

	ret = check_event(st, in);
	if (ret)
		return ret;

	encode_event(in, out);

	return ITS_CMD_OK;
}

/* INVALL: re-read the configuration of every LPI of a collection. */
static enum its_cmd_reason handle_invall(struct its_cmd_state *st, const u64 *in, u64 *out)
{
	u32 icid = cmd_get(in, 2, ICID);

	if (!check_icid(st, icid))
		return ITS_CMD_BAD_ICID;

	cmd_set(out, 0, OPCODE, GITS_CMD_INVALL);
	cmd_set(out, 2, ICID, icid);

	return ITS_CMD_OK;
}

/* SYNC: wait for the effects of earlier commands on one redistributor. */
static enum its_cmd_reason handle_sync(struct its_cmd_state *st, const u64 *in, u64 *out)
{
	u64 rdbase = cmd_get(in, 2, RDBASE);

	if (!check_rdbase(st, rdbase))
		return ITS_CMD_BAD_RDBASE;

	cmd_set(out, 0, OPCODE, GITS_CMD_SYNC);
	cmd_set(out, 2, RDBASE, rdbase);

	return ITS_CMD_OK;
}

/*
 * The stand-in for a refused command: a SYNC to the redistributor the
 * caller picked, the one of the CPU at work, which is powered up (a SYNC
 * to a redistributor that is powered down may stall some ITSs).
 */
void its_cmd_encode_sync(const struct its_cmd_state *st, u64 *out)
{
	u32 t = st->sync_target < st->lim.nr_targets ? st->sync_target : 0;

	its_cmd_zero(out);
	cmd_set(out, 0, OPCODE, GITS_CMD_SYNC);
	cmd_set(out, 2, RDBASE, st->lim.targets[t]);
}

static enum its_cmd_reason dispatch(struct its_cmd_state *st, const u64 *in, u64 *out)
{
	u8 op = cmd_get(in, 0, OPCODE);

	switch (op) {
	case GITS_CMD_MAPD:
		return handle_mapd(st, in, out);
	case GITS_CMD_MAPC:
		return handle_mapc(st, in, out);
	case GITS_CMD_MAPTI:
	case GITS_CMD_MAPI:
		return handle_mapti(st, in, out);
	case GITS_CMD_MOVI:
		return handle_movi(st, in, out);
	case GITS_CMD_DISCARD:
	case GITS_CMD_INT:
	case GITS_CMD_CLEAR:
	case GITS_CMD_INV:
		return handle_event(st, in, out);
	case GITS_CMD_INVALL:
		return handle_invall(st, in, out);
	case GITS_CMD_SYNC:
		return handle_sync(st, in, out);
	/*
	 * MOVALL makes a redistributor move, and clear, the pending bits of
	 * every LPI it holds. Linux never sends it: refuse it rather than
	 * reason about a whole pending table changing under a running VM.
	 */
	case GITS_CMD_MOVALL:
		return ITS_CMD_BAD_OPCODE;
	/*
	 * GICv4 commands write vPE Table entries and virtual pending tables.
	 * KVM does not use GICv4 in protected mode ("GICv4 support disabled"),
	 * so none of them is expected: refuse them rather than half-check them.
	 */
	case GITS_CMD_VMAPP:
	case GITS_CMD_VMAPTI:
	case ITS_CMD_VMAPI:
	case GITS_CMD_VMOVI:
	case GITS_CMD_VMOVP:
	case GITS_CMD_VSYNC:
	case GITS_CMD_VINVALL:
	case GITS_CMD_VSGI:
	case GITS_CMD_INVDB:
		return ITS_CMD_GICV4;
	default:
		return ITS_CMD_BAD_OPCODE;
	}
}

/*
 * Where the architecture names the same mistake (IHI 0069H, 6.3 "ITS
 * command error encodings"), the error an ITS would report for it: a
 * refusal is then told in the terms of the GIC specification, not only
 * in this validator's. Only the range and mapping checks of the mapping
 * commands have one; a refusal about page ownership has none.
 */
static const struct {
	u8			opcode;
	enum its_cmd_reason	why;
	u32			error;
} its_cmd_errors[] = {
	{ GITS_CMD_MAPD,	ITS_CMD_BAD_DEVID,	E_ITS_MAPD_DEVICE_OOR },
	{ GITS_CMD_MAPD,	ITS_CMD_BAD_SIZE,	E_ITS_MAPD_ITTSIZE_OOR },
	{ GITS_CMD_MAPC,	ITS_CMD_BAD_ICID,	E_ITS_MAPC_COLLECTION_OOR },
	{ GITS_CMD_MAPC,	ITS_CMD_BAD_RDBASE,	E_ITS_MAPC_PROCNUM_OOR },
	{ GITS_CMD_MAPTI,	ITS_CMD_DEV_UNMAPPED,	E_ITS_MAPTI_UNMAPPED_DEVICE },
	{ GITS_CMD_MAPTI,	ITS_CMD_BAD_EVENTID,	E_ITS_MAPTI_ID_OOR },
	{ GITS_CMD_MAPTI,	ITS_CMD_BAD_INTID,	E_ITS_MAPTI_PHYSICALID_OOR },
};

/* The architected error for refusing @opcode for @why, or 0 if none fits. */
u32 its_cmd_error(u8 opcode, enum its_cmd_reason why)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(its_cmd_errors); i++) {
		if (its_cmd_errors[i].opcode == opcode && its_cmd_errors[i].why == why)
			return its_cmd_errors[i].error;
	}

	return 0;
}

/*
 * Check the command @in (already copied out of host reach) and write what
 * must go to the ITS in @out. Always advances the queue position: a refused
 * command is replaced, never dropped.
 */
enum its_cmd_reason its_cmd_check(struct its_cmd_state *st, const u64 *in, u64 *out)
{
	enum its_cmd_reason ret;

	its_cmd_zero(out);
	ret = dispatch(st, in, out);
	if (ret != ITS_CMD_OK) {
		its_cmd_encode_sync(st, out);
		st->nr_refused++;
	}
	st->seq++;

	return ret;
}

/*
 * The ITS has executed every command before queue position @done_seq:
 * release the ITTs whose MAPD V=0 is among them, oldest first.
 */
void its_cmd_retire(struct its_cmd_state *st, u64 done_seq)
{
	while (st->nr_unmapping) {
		struct its_dev_rec *dev = find_dev(st, st->unmap_head);

		/* The head is always recorded; if not, keep its pin. */
		if (!dev || dev->unmap_seq >= done_seq)
			break;

		st->unmap_head = dev->next_unmap;
		st->nr_unmapping--;
		st->mem->unpin(dev->itt_pfn, dev->itt_nr_pages);
		st->nr_devs--;
		st->nr_itt_pages -= dev->itt_nr_pages;
		free_dev(st, dev);
	}
}

/* CWRITER/CREADR hold a 32-byte aligned offset in bits [19:5] (IHI 0069H, GITS_CWRITER). */
bool its_queue_offset_valid(u64 off, u64 qsize)
{
	return !(off & ~GITS_CMDQ_OFFSET) && off < qsize;
}

/* Bytes of commands written but not yet read, accounting for wrap-around. */
u64 its_queue_used(u64 rd, u64 wr, u64 qsize)
{
	return wr >= rd ? wr - rd : qsize - rd + wr;
}

u64 its_queue_next(u64 off, u64 qsize)
{
	off += ITS_CMD_BYTES;

	return off == qsize ? 0 : off;
}

/*
 * The proxied queue. Its rules, which the device records depend on:
 *  - a command is retired (its_cmd_retire()) only once GITS_CREADR has
 *    moved past it, and GITS_CREADR is only believed while the ITS runs
 *    on the registers the hypervisor programmed and enabled, when it lies
 *    between where the ITS was last seen and GITS_CWRITER; never while
 *    the queue is stopped (its_queue_stop());
 *  - a slot is overwritten with the stand-in SYNC as soon as its command is
 *    retired: an ITS that runs the queue again from an older offset (a
 *    firmware that restores GITS_CBASER and GITS_CWRITER after a power-down
 *    resets GITS_CREADR to 0) finds nothing the records do not account for;
 *  - GITS_CBASER is reset only when the ITS executed every command, and
 *    the ITS is only enabled on the queue and tables the hypervisor set.
 */
static u64 its_queue_hw_read(struct its_queue *q, u32 offset)
{
	return q->hw->read(q->hw_priv, offset);
}

static void its_queue_hw_write(struct its_queue *q, u32 offset, u64 val)
{
	q->hw->write(q->hw_priv, offset, val);
}

/* Between where the ITS was last seen and GITS_CWRITER, both included. */
static bool its_queue_creadr_plausible(struct its_queue *q, u64 rd)
{
	return its_queue_offset_valid(rd, q->qsize) &&
	       its_queue_used(q->creadr, rd, q->qsize) <=
	       its_queue_used(q->creadr, q->cwriter, q->qsize);
}

/*
 * Tell the host how far the ITS read, in memory it can read without a
 * trap. Never ahead of the ITS: a stale value only sends the host to the
 * register.
 */
static void its_queue_publish(struct its_queue *q)
{
	if (q->published)
		WRITE_ONCE(*q->published, q->creadr);
}

/* Write one command into the slot at @off of the real queue. */
static void its_queue_put(struct its_queue *q, u64 off, const u64 *cmd)
{
	__le64 *dst = q->cmdq + off / sizeof(u64);
	unsigned int i;

	for (i = 0; i < ITS_CMD_DWORDS; i++)
		WRITE_ONCE(dst[i], cpu_to_le64(cmd[i]));

	if (q->flush)
		q->hw->clean(q->hw_priv, dst, ITS_CMD_BYTES);
}

static void its_queue_scrub(struct its_queue *q, u64 off)
{
	u64 sync[ITS_CMD_DWORDS];

	its_cmd_encode_sync(&q->cmds, sync);
	its_queue_put(q, off, sync);
}

/*
 * Catch up with the ITS: scrub the slots it read since last time, then
 * release what their commands pinned. A GITS_CREADR outside the window can
 * only come from broken or reset hardware, and never moves the records.
 */
static void its_queue_advance(struct its_queue *q)
{
	u64 rd, pending;

	if (q->stopped)
		return;

	/*
	 * A reset or a power-down puts GITS_CREADR back to 0, or firmware
	 * restores the queue registers with it: an offset the window may
	 * contain, which would retire commands the ITS never ran. Both leave
	 * the ITS disabled (IHI 0069H, GITS_CTLR), and the hypervisor only
	 * disables it itself, when the host asks: an ITS found disabled went
	 * through something the hypervisor did not see.
	 */
	if (!(its_queue_hw_read(q, GITS_CTLR) & GITS_CTLR_ENABLE)) {
		q->stopped = true;
		return;
	}

	rd = its_queue_hw_read(q, GITS_CREADR) & GITS_CMDQ_OFFSET;
	if (!its_queue_creadr_plausible(q, rd))
		return;

	for (; q->creadr != rd; q->creadr = its_queue_next(q->creadr, q->qsize))
		its_queue_scrub(q, q->creadr);

	pending = its_queue_used(rd, q->cwriter, q->qsize) / ITS_CMD_BYTES;
	its_cmd_retire(&q->cmds, q->cmds.seq - pending);
	its_queue_publish(q);
}

/*
 * A disabled ITS executes no command (IHI 0069H, GITS_CTLR), and one that
 * is powered down loses its queue registers or has firmware restore them,
 * GITS_CREADR included. So when the host disables the ITS, or the system
 * suspends, GITS_CREADR is believed one last time while the ITS still
 * runs on the hypervisor's registers, and then no longer moves the records
 * until the ITS is enabled again, exactly where it stopped.
 */
void its_queue_stop(struct its_queue *q)
{
	its_queue_advance(q);
	q->stopped = true;
}

/*
 * The system is about to suspend, and no enable may slip in before it has:
 * the queue stays stopped until the host enables the ITS again after
 * @suspending is cleared, whether the suspend happened or failed.
 */
void its_queue_suspend(struct its_queue *q, bool suspending)
{
	if (suspending)
		its_queue_stop(q);
	q->suspending = suspending;
}

/* Disabled, and done with everything it was doing (IHI 0069H, GITS_CTLR). */
static bool its_queue_hw_quiescent(struct its_queue *q)
{
	u32 ctlr = its_queue_hw_read(q, GITS_CTLR);

	return !(ctlr & GITS_CTLR_ENABLE) && (ctlr & GITS_CTLR_QUIESCENT);
}

/*
 * Once @q is filled in, and the limits and targets of q->cmds are set:
 * adopt the hardware's queue offsets and scrub every slot not waiting to
 * be executed, since commands queued before the handover are not recorded.
 */
bool its_queue_init(struct its_queue *q)
{
	u64 off, free;

	/*
	 * Start counting one queue in, so that "written minus pending" cannot
	 * wrap below zero because of commands posted before the handover.
	 */
	q->cmds.seq = q->qsize / ITS_CMD_BYTES;
	q->cwriter = its_queue_hw_read(q, GITS_CWRITER) & GITS_CMDQ_OFFSET;
	q->creadr = its_queue_hw_read(q, GITS_CREADR) & GITS_CMDQ_OFFSET;
	if (!its_queue_offset_valid(q->cwriter, q->qsize) ||
	    !its_queue_offset_valid(q->creadr, q->qsize))
		return false;

	free = q->qsize - its_queue_used(q->creadr, q->cwriter, q->qsize);
	for (off = q->cwriter; free; free -= ITS_CMD_BYTES, off = its_queue_next(off, q->qsize))
		its_queue_scrub(q, off);
	its_queue_publish(q);

	return true;
}

static void its_queue_copy_cmd(struct its_queue *q, u64 off)
{
	const __le64 *src = q->shadow + off / sizeof(u64);
	u64 in[ITS_CMD_DWORDS], out[ITS_CMD_DWORDS];
	enum its_cmd_reason why;
	unsigned int i;

	/* Check a private copy: the host can rewrite the shadow at any time. */
	for (i = 0; i < ITS_CMD_DWORDS; i++)
		in[i] = le64_to_cpu(READ_ONCE(src[i]));

	why = its_cmd_check(&q->cmds, in, out);
	if (why != ITS_CMD_OK && q->hw->refused)
		q->hw->refused(q->hw_priv, in, why);
	its_queue_put(q, off, out);
}

/*
 * Whether commands up to @val fit. CWRITER == CREADR means empty, so one
 * slot always stays free (IHI 0069H, GITS_CREADR): the host may not
 * overwrite commands the ITS has not read.
 */
static bool its_queue_has_room(struct its_queue *q, u64 val)
{
	u64 room = q->qsize - ITS_CMD_BYTES - its_queue_used(q->creadr, q->cwriter, q->qsize);

	return its_queue_used(q->cwriter, val, q->qsize) <= room;
}

/*
 * The host published commands up to @val: forward them all, then let the
 * ITS see them with a single write to GITS_CWRITER. Retry, which restarts
 * a stalled ITS, is passed on.
 */
bool its_queue_write_cwriter(struct its_queue *q, u64 val)
{
	u64 retry = val & GITS_CWRITER_RETRY;
	u64 off;

	val &= ~GITS_CWRITER_RETRY;
	if (!its_queue_offset_valid(val, q->qsize))
		return false;

	/*
	 * The last look at the ITS, after the previous batch, usually shows
	 * room enough; only look again when it does not.
	 */
	if (!its_queue_has_room(q, val)) {
		its_queue_advance(q);
		if (!its_queue_has_room(q, val))
			return false;
	}

	for (off = q->cwriter; off != val; off = its_queue_next(off, q->qsize))
		its_queue_copy_cmd(q, off);

	q->cwriter = val;
	its_queue_hw_write(q, GITS_CWRITER, val | retry);

	/*
	 * One look at how far the ITS got, never a wait: the host then often
	 * finds its batch done without reading GITS_CREADR itself.
	 */
	its_queue_advance(q);

	return true;
}

/*
 * Both queues advance in lockstep, so the host sees how far the ITS read
 * its commands, as the hypervisor last believed it.
 */
u64 its_queue_read_creadr(struct its_queue *q)
{
	u64 stalled = its_queue_hw_read(q, GITS_CREADR) & GITS_CREADR_STALLED;

	its_queue_advance(q);

	return q->creadr | stalled;
}

/*
 * Linux programs GITS_CBASER again on resume, with the ITS disabled. Put
 * the hypervisor's own queue back; the host's CWRITER view follows.
 *
 * Writing GITS_CBASER resets GITS_CREADR to 0, and the ITS drops whatever
 * it had not executed (IHI 0069H, GITS_CBASER). The device records must
 * follow what the ITS executed, not what it was given: a dropped MAPD V=0
 * retired as done would unpin an ITT the Device Table still names. So the
 * queue is only reset once the ITS is quiescent and was seen to execute
 * every command before it stopped; any other write is refused.
 */
bool its_queue_write_cbaser(struct its_queue *q)
{
	if (!its_queue_hw_quiescent(q) || q->creadr != q->cwriter)
		return false;

	its_queue_hw_write(q, GITS_CBASER, q->cbaser);
	q->cwriter = 0;
	q->creadr = 0;
	its_queue_hw_write(q, GITS_CWRITER, 0);
	its_queue_publish(q);

	return true;
}

/*
 * GITS_BASERn are only rewritten on resume: restore the hypervisor's copy,
 * once the ITS no longer uses the tables (IHI 0069H, GITS_BASER<n>).
 */
bool its_queue_write_baser(struct its_queue *q, unsigned int n)
{
	if (n >= GITS_BASER_NR_REGS || !its_queue_hw_quiescent(q))
		return false;

	its_queue_hw_write(q, GITS_BASER + n * sizeof(u64), q->baser[n]);

	return true;
}

/* The queue and table registers hold what the hypervisor programmed. */
static bool its_queue_hw_intact(struct its_queue *q)
{
	u64 rd = its_queue_hw_read(q, GITS_CREADR) & GITS_CMDQ_OFFSET;
	u64 wr = its_queue_hw_read(q, GITS_CWRITER) & GITS_CMDQ_OFFSET;
	unsigned int n;

	if (its_queue_hw_read(q, GITS_CBASER) != q->cbaser || wr != q->cwriter)
		return false;

	/*
	 * A stopped or disabled ITS did not move: it is where it was last
	 * seen. Only a running one may have gone further.
	 */
	if ((q->stopped || !(its_queue_hw_read(q, GITS_CTLR) & GITS_CTLR_ENABLE)) ?
	    rd != q->creadr : !its_queue_creadr_plausible(q, rd))
		return false;

	for (n = 0; n < GITS_BASER_NR_REGS; n++) {
		if (its_queue_hw_read(q, GITS_BASER + n * sizeof(u64)) != q->baser[n])
			return false;
	}

	return true;
}

/*
 * Only Enabled is the host's to change (IHI 0069H, GITS_CTLR), and only on
 * the queue and tables the hypervisor programmed: after a power-down, a
 * reset or firmware may have left others, which the ITS would start using.
 * Never while the system is suspending: see its_queue_suspend().
 */
bool its_queue_write_ctlr(struct its_queue *q, u32 val)
{
	if (!(val & GITS_CTLR_ENABLE)) {
		its_queue_stop(q);
		its_queue_hw_write(q, GITS_CTLR, 0);
		return true;
	}

	if (q->suspending || !its_queue_hw_intact(q))
		return false;

	its_queue_hw_write(q, GITS_CTLR, GITS_CTLR_ENABLE);
	q->stopped = false;

	return true;
}
