/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ITS command validation for the pKVM ITS proxy.
 *
 * Kept free of hypervisor dependencies so that it also builds in userspace
 * (tools/testing/pkvm-its): page ownership is reached through struct
 * its_cmd_mem_ops only.
 */

#ifndef __KVM_NVHE_ITS_CMD_H__
#define __KVM_NVHE_ITS_CMD_H__

#include <linux/bits.h>
#include <linux/irqchip/arm-gic-v3.h>
#include <linux/sizes.h>
#include <linux/types.h>

#define ITS_CMD_BYTES		32
#define ITS_CMD_DWORDS		(ITS_CMD_BYTES / sizeof(u64))

/*
 * Pages one ITT may span: the driver's largest ITT (2^16 events of up to
 * 16 bytes) is 1 MiB. The bound also caps the work of one MAPD at EL2.
 */
#define ITS_CMD_MAX_ITT_PAGES	(SZ_1M / SZ_4K)

enum its_cmd_reason {
	ITS_CMD_OK,
	ITS_CMD_BAD_OPCODE,
	ITS_CMD_GICV4,
	ITS_CMD_BAD_DEVID,
	ITS_CMD_BAD_SIZE,
	ITS_CMD_DEV_UNMAPPED,
	ITS_CMD_DEV_BUSY,
	ITS_CMD_DEV_TABLE_FULL,
	ITS_CMD_BAD_ITT,
	ITS_CMD_BAD_EVENTID,
	ITS_CMD_BAD_INTID,
	ITS_CMD_BAD_ICID,
	ITS_CMD_BAD_RDBASE,
	ITS_CMD_NR_REASONS,
};

/*
 * Pin/unpin host pages for the ITS. pin() must atomically check that the
 * host owns every page and move them to a state that cannot be donated to a
 * guest or to the hypervisor; it returns 0 or a negative error.
 */
struct its_cmd_mem_ops {
	int (*pin)(u64 pfn, u64 nr_pages);
	void (*unpin)(u64 pfn, u64 nr_pages);
};

/* Limits of one ITS, taken from hardware registers, never from the host. */
struct its_cmd_limits {
	u64	nr_devids;		/* Device Table capacity, up to 2^32 */
	u32	nr_icids;		/* collections (HCC + Collection Table) */
	u8	max_size;		/* GITS_TYPER.ID_bits: MAPD Size limit */
	u8	lpi_bits;		/* INTIDs below BIT(lpi_bits): see check_lpi() */
	u8	itt_entry_size;		/* GITS_TYPER.ITT_entry_size + 1 */
	u8	page_shift;
	u32	nr_targets;
	const u64 *targets;		/* valid RDbase fields, ascending */
};

enum its_dev_state {
	ITS_DEV_FREE,
	ITS_DEV_MAPPED,
	ITS_DEV_UNMAPPING,	/* MAPD V=0 queued, not yet executed */
};

/*
 * A record lies at most this many slots past its home: a lookup probes no
 * more slots than that, whatever DeviceIDs the host chooses (it picks
 * them, and the hash is public). At most half full, a table of DeviceIDs
 * as PCI assigns them stays far below it.
 */
#define ITS_CMD_MAX_DISPLACEMENT	64

struct its_dev_rec {
	u32	devid;
	u8	state;
	u8	size;
	u32	itt_nr_pages;		/* at most ITS_CMD_MAX_ITT_PAGES */
	u32	next_unmap;		/* DeviceID unmapped next, in queue order */
	u64	itt_pfn;
	u64	unmap_seq;		/* queue position of the MAPD V=0 */
};

struct its_cmd_state {
	struct its_cmd_limits		lim;
	const struct its_cmd_mem_ops	*mem;
	struct its_dev_rec		*dev;		/* see find_dev() */
	u32				nr_slots;	/* in dev[], a power of 2 */
	/* Records in ITS_DEV_UNMAPPING, oldest first, linked by next_unmap. */
	u32				nr_unmapping;
	u32				unmap_head;
	u32				unmap_tail;
	u32				nr_devs;	/* records in use */
	u64				nr_itt_pages;	/* pinned by the records in use */
	u64				seq;	/* commands written so far */
	/* Index in lim.targets[] of the stand-in SYNCs: its_cmd_encode_sync() */
	u32				sync_target;
	u64				nr_refused;
};

enum its_cmd_reason its_cmd_check(struct its_cmd_state *st, const u64 *in, u64 *out);
u32 its_cmd_error(u8 opcode, enum its_cmd_reason why);
enum its_cmd_reason its_cmd_map_dev(struct its_cmd_state *st, u32 devid, u8 size, u64 itt);
void its_cmd_encode_sync(const struct its_cmd_state *st, u64 *out);
void its_cmd_sort_targets(u64 *targets, u32 nr);
u32 its_cmd_target_index(const u64 *targets, u32 nr, u64 rdbase);
void its_cmd_retire(struct its_cmd_state *st, u64 done_seq);
bool its_cmd_move_devs(struct its_cmd_state *st, struct its_dev_rec *dev, u32 nr_slots);

/* Command queue arithmetic: byte offsets in a queue of @qsize bytes. */
bool its_queue_offset_valid(u64 off, u64 qsize);
u64 its_queue_used(u64 rd, u64 wr, u64 qsize);
u64 its_queue_next(u64 off, u64 qsize);

/*
 * The ITS registers the queue code uses: GITS_CTLR (32-bit), GITS_CBASER,
 * GITS_CWRITER, GITS_CREADR and GITS_BASERn (64-bit); and, for an ITS that
 * does not snoop CPU caches, cleaning queue slots to the PoC.
 */
struct its_queue_hw_ops {
	u64 (*read)(void *hw, u32 offset);
	void (*write)(void *hw, u32 offset, u64 val);
	void (*clean)(void *hw, void *addr, size_t size);
	/* Optional: told about each refused command, as the host wrote it. */
	void (*refused)(void *hw, const u64 *cmd, enum its_cmd_reason why);
};

/*
 * A command queue proxied by the hypervisor: the host writes @shadow, the
 * ITS reads @cmdq at the same offsets, and a command only reaches @cmdq
 * once checked. Every slot outside [creadr, cwriter) of @cmdq holds the
 * stand-in SYNC: see its_queue_scrub().
 */
struct its_queue {
	struct its_cmd_state		cmds;
	const struct its_queue_hw_ops	*hw;
	void				*hw_priv;
	__le64				*cmdq;		/* read by the ITS, hypervisor-owned */
	const __le64			*shadow;	/* written by the host */
	u64				qsize;
	u64				cbaser;		/* programmed by the hypervisor */
	u64				baser[GITS_BASER_NR_REGS];
	u64				cwriter;	/* host's view of GITS_CWRITER */
	u64				creadr;		/* how far the ITS was seen to read */
	u64				*published;	/* creadr, for the host to read */
	bool				stopped;	/* see its_queue_stop() */
	bool				suspending;	/* see its_queue_suspend() */
	bool				flush;		/* ITS does not snoop the queue */
};

bool its_queue_init(struct its_queue *q);
bool its_queue_write_cwriter(struct its_queue *q, u64 val);
bool its_queue_write_cbaser(struct its_queue *q);
bool its_queue_write_baser(struct its_queue *q, unsigned int n);
bool its_queue_write_ctlr(struct its_queue *q, u32 val);
void its_queue_stop(struct its_queue *q);
void its_queue_suspend(struct its_queue *q, bool suspending);
u64 its_queue_read_creadr(struct its_queue *q);

#endif /* __KVM_NVHE_ITS_CMD_H__ */
