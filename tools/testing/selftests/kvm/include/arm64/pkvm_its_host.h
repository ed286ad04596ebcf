/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host side of the pKVM ITS isolation tests (arm64/pkvm_its_*): a library.
 *
 * The tests play a compromised, root host kernel that attacks protected VMs
 * (pVMs) through the GICv3/v4 ITS and the redistributors' LPI tables: the GIC
 * writes memory by physical address, without any stage-2 translation. This
 * library gives them what a root user has:
 *  - the GIC frames, its command queue and its tables through /dev/mem, and
 *    the physical address of any page of the process through
 *    /proc/self/pagemap;
 *  - ITS commands sent behind the host driver's back, in one lap of the
 *    driver's command queue so that the queue ends where the driver expects;
 *  - a victim pVM whose pages hold a canary, and health checks of the system
 *    (an MSI of a virtio device is delivered, the ITS driver's commands still
 *    complete, another pVM runs);
 *  - a runner that gives each attack a fresh victim and judges it: blocked
 *    (the test passes), landed (it fails), or not expressible on this GIC
 *    (it is skipped, with the reason), and that shows the hypervisor's
 *    pkvm_*_refuse trace events of each case where the hypervisor has them;
 *  - case selection from the kernel command line, pkvmits.attack=<name>,...
 *    (see pkvm_its_init()).
 */
#ifndef SELFTEST_KVM_PKVM_ITS_HOST_H
#define SELFTEST_KVM_PKVM_ITS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/compiler.h>
#include <linux/types.h>

#include "gic_v3.h"
#include "gic_v3_its.h"
#include "processor.h"

#define MAX_RD			64

/*
 * The victim's target memory: NR_TARGET pages, each of which the guest either
 * touches in phase A (before the host attacks), in phase B (when the attack
 * asks for it), or never (it then stays the host's).
 */
#define TARGET_PAGE_SIZE	SZ_4K
#define NR_TARGET		128
#define TARGET_WORDS		(TARGET_PAGE_SIZE / sizeof(u64))
#define TARGET_MASK_WORDS	(NR_TARGET / 64)
#define TARGET_PAGE		37
#define LATE_PAGE		96
#define LATE_PAGE2		112
#define NR_HOST_PAGES		4

enum pkvm_its_layout {
	LAYOUT_ALL,	/* the guest owns every page from phase A on */
	LAYOUT_ODD,	/* the guest owns the odd pages, the host the even ones */
	LAYOUT_LATE,	/* the guest takes LATE_PAGE and LATE_PAGE2 in phase B */
	LAYOUT_NONE,	/* no victim: the case only says why the GIC cannot run it */
};

/* An ITS table, as its GITS_BASER<n> describes it */
struct its_table {
	int idx;		/* GITS_BASER<idx>, -1 if none */
	int indirect;
	u64 baser;
	u64 pa;			/* flat or level-1 table */
	u64 size;		/* its size in bytes */
	u32 psz;		/* page size */
	u32 esz;		/* entry size */
	u64 nr_ids;		/* IDs it can hold */
};

/* What the GIC looks like, found through /dev/mem */
struct pkvm_its_gic {
	u64 its_pa, gicd_pa, gicr_pa, gicr_size, gicr_stride;
	const char *source;
	void *its, *gicd;
	void *rd[MAX_RD];
	u64 rd_pa[MAX_RD];
	u32 rd_cpu[MAX_RD];
	int nr_rd;
	int version;		/* 3 or 4 */
	u64 typer;
	u32 dev_bits, id_bits, cid_bits, ite_size;
	int pta, vlpis, v41;
	int qemu;		/* QEMU's "virt" machine */
	int unprobed;		/* the kernel did not probe the ITS: nothing programmed */
	u32 cq_slots;
	u64 *cq;
	struct its_table dt, ct, vt;
	u64 rd0_target;		/* RDbase field for redistributor 0 */
	u32 lpi_limit;
	u32 top_devid;		/* highest DeviceID nothing uses */
	u32 my_icid;		/* an unused collection */
};

extern struct pkvm_its_gic host_gic;

enum pkvm_its_status {
	ATTACK_RAN,
	ATTACK_NA,		/* this GIC cannot express the attack */
	ATTACK_ERROR,		/* the test itself broke */
};

/* What a case found, handed from the process that ran it to the judge */
struct attack_result {
	int status;
	int victim_changed;
	int victim_lost;
	int denied;		/* signal a host access raised */
	int its_failed;		/* the ITS did not complete commands */
	int donation_refused;
	int diverged;		/* the hypervisor's records and the ITS disagree */
	int unchecked;		/* the GIC took what the hypervisor must refuse */
	int victim_phase;	/* the attack is over, the victim runs again */
	u64 bad, first, val;
	char reason[256];
};

struct victim {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	u8 *hva;
	u64 pa[NR_TARGET];	/* physical address of each target page */
	u64 touch[2][TARGET_MASK_WORDS];
	int stage;		/* last stage the guest reached */
	u64 bad, first, val;	/* what the guest found at the end */
};

struct attack_ctx {
	struct attack_result *res;
	struct victim v;
	u32 devid;
	u32 lpi;
	u8 *host;		/* NR_HOST_PAGES pages of the host, pinned */
	u64 host_pa[NR_HOST_PAGES];

	/* state to put back if the attack is interrupted */
	int ctlr_off;
	int baser_idx;
	u64 baser_saved;
	int cbaser_changed;
	u64 cbaser_saved;
	u32 cq_slot_saved;
	void *pendbaser_rd;
	u64 pendbaser_saved;
	u64 *l1e;
	u64 l1e_saved;
};

struct pkvm_its_attack {
	const char *name;
	void (*fn)(struct attack_ctx *c);
	enum pkvm_its_layout layout;
	int id;			/* picks DeviceIDs and LPIs no other case uses */
	bool unprobed_its;	/* needs an ITS that the kernel did not probe */
};

enum pkvm_its_verdict {
	PKVM_ITS_BLOCKED,
	PKVM_ITS_LANDED,
	PKVM_ITS_NA,
	PKVM_ITS_ERROR,
};

/*
 * Accesses to what the hypervisor may emulate: one plain load or store each.
 * The compiler could fold the address arithmetic of a READ_ONCE() into a load
 * with writeback, which leaves no syndrome (ESR_ELx.ISV = 0) to emulate it by:
 * the access would be refused for how it was encoded, not for what it does.
 */
static inline u32 rd32(void *base, u64 off)
{
	u32 val = __raw_readl(base + off);

	barrier();
	return val;
}

static inline u64 rd64(void *base, u64 off)
{
	u64 val = __raw_readq(base + off);

	barrier();
	return val;
}

/* Earlier stores (e.g. to the command queue) are ordered before the write. */
static inline void wr32(void *base, u64 off, u32 val)
{
	dsb(sy);
	__raw_writel(val, base + off);
	barrier();
}

static inline void wr64(void *base, u64 off, u64 val)
{
	dsb(sy);
	__raw_writeq(val, base + off);
	barrier();
}

/* /dev/mem, /proc/self/pagemap, files */
void *map_phys(u64 pa, size_t len);
u64 pagemap_pa(void *va);
bool phys_zero(u64 pa, u32 len);
bool touch_phys(u64 pa);
int write_file(const char *path, const char *val);
ssize_t read_file(const char *path, void *buf, size_t len);
u64 now_us(void);

/*
 * Under a kernel that takes the GIC away from the host, host accesses through
 * /dev/mem may fault: guarded() runs @fn(@arg) and returns the signal if a
 * guarded access faulted, else 0. Calls nest.
 */
int guarded(void (*fn)(void *arg), void *arg);

struct store64 {
	u64 *addr;
	u64 val;
};

void store64(void *arg);
void load64(void *arg);

/* The command queue, used behind the host driver's back */
u32 queue_slot(u32 reg);
void queue_put(u32 slot, const struct its_cmd_block *c);
int its_wait_read(u32 slot);
int its_wait_idle(u32 *slot);
int its_sync_to(u32 from, u32 to);
int its_send(struct attack_ctx *c, const struct its_cmd_block *cmds, u32 n);
int its_disable(struct attack_ctx *c);
void its_enable(struct attack_ctx *c);
void its_restore(void *arg);
void its_foreign_queue(struct attack_ctx *c);

/* ITS tables */
u64 *table_l1e(struct its_table *t, u64 id);
u64 *table_entry(struct its_table *t, u64 id);

/*
 * QEMU's Device Table entry, IMPLEMENTATION DEFINED: 8 bytes, Valid in bit 0
 * and ITT_addr[51:8] in bits [49:6]. Only steps that rewrite Device Table
 * entries in memory need it; elsewhere they are skipped.
 */
#define QEMU_DTE_VALID		BIT_ULL(0)
#define QEMU_DTE_ITT		GENMASK_ULL(49, 6)

bool its_dte_format_is_qemu(void);
u64 qemu_dte(u64 itt_pa);

/* The victim pVM and the attack's context */
int page_in(const u64 *mask, int page);
int victim_donate(struct attack_ctx *c);
int pick_pending_page(struct attack_ctx *c, u32 limit, u64 *table, u32 *intid);
u64 itt_space(struct attack_ctx *c, u32 len);
int rng_pci_function(char *bdf, size_t len);
void rng_rebind(const char *bdf);
__printf(3, 4) void attack_set(struct attack_ctx *c, int status, const char *fmt, ...);

/* Set up once by main(), before the harness forks its tests */
char **pkvm_its_init(int *argc, char **argv);
/* NULL if the attacks can run here, else why not (the tests then skip) */
const char *pkvm_its_unsupported(void);
enum pkvm_its_verdict pkvm_its_run(const struct pkvm_its_attack *a, char *why, size_t len);

#endif /* SELFTEST_KVM_PKVM_ITS_HOST_H */
