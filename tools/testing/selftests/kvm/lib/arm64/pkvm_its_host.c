// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host side of the pKVM ITS isolation tests: the GIC through
 * /dev/mem, ITS commands behind the host driver's back, the victim pVM, the
 * health checks and the runner that judges each attack. See
 * include/arm64/pkvm_its_host.h.
 *
 * Sending ITS commands behind the host driver's back. The driver owns the
 * command queue and keeps its own write pointer. Commands are only sent when
 * the queue is idle (GITS_CREADR == GITS_CWRITER), and always move the queue
 * through one whole lap: the queue is filled with SYNC commands, ours last,
 * and GITS_CWRITER is advanced in two steps back to where it started. The ITS
 * then stops where the driver expects it, and the driver's next commands go
 * where they would have gone anyway. The queue is little-endian, like the
 * command words written into it (its_cmd_write()).
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/align.h>
#include <linux/bitfield.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "pkvm_its_host.h"
#include "test_util.h"
#include "ucall.h"

/* QEMU "virt" machine, used when the devicetree does not tell */
#define VIRT_GICD_BASE		0x08000000ULL
#define VIRT_GICR_BASE		0x080a0000ULL
#define VIRT_GICR_SIZE		0x00f60000ULL
#define VIRT_ITS_BASE		0x08080000ULL

#define DT_BASE			"/sys/firmware/devicetree/base"
#define ITS_TIMEOUT_US		1000000
#define CASE_TIMEOUT_MS		60000

#define RNG_DRIVER		"/sys/bus/virtio/drivers/virtio_rng"
#define VIRTIO_PCI_DRIVER	"/sys/bus/pci/drivers/virtio-pci"
#define RNG_QUALITY		"/sys/class/misc/hw_random/rng_quality"

#define HYP_TRACE		"/sys/kernel/tracing/remotes/hypervisor"
#define HYP_TRACE_EVENTS	HYP_TRACE "/events/hypervisor"
#define HYP_TRACE_EVENT		"_refuse"	/* pkvm_*_refuse events */
#define HYP_TRACE_MAX_LINES	20

#define CANARY(i)		(0xca9a4e5c00000000ULL | (i))

#define STAGE_A			1
#define STAGE_B			2
#define STAGE_CHECK		3

struct pkvm_its_gic host_gic;

static int devmem_fd = -1;
static int pagemap_fd = -1;

/* System health, 1 ok, 0 broken, -1 cannot tell */
struct health {
	int msi;
	int driver;
	int pvm;
};

/* Shared by the tests, which the harness runs in processes of their own */
static struct pkvm_its_shared {
	int summary_printed;
	int have_baseline;
	struct health baseline;	/* after the last case, or before the first */
} *shared;

/* Which target pages the guest touches in phases A and B */
static u64 guest_touch[2][TARGET_MASK_WORDS];

int page_in(const u64 *mask, int page)
{
	return !!(mask[page / 64] & BIT_ULL(page % 64));
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

/* Fill the pages with the canary, let the host attack, and check the canary. */
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

/* Map @len bytes of physical memory at @pa, uncached */
void *map_phys(u64 pa, size_t len)
{
	u64 base = pa & ~(u64)(getpagesize() - 1);
	void *p;

	p = mmap(NULL, len + pa - base, PROT_READ | PROT_WRITE, MAP_SHARED, devmem_fd, base);
	if (p == MAP_FAILED)
		return NULL;
	return p + (pa - base);
}

u64 now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

/* Physical address of a page of this process, 0 if unknown */
u64 pagemap_pa(void *va)
{
	u64 ent;
	off_t off = ((unsigned long)va / getpagesize()) * sizeof(ent);

	if (pread(pagemap_fd, &ent, sizeof(ent), off) != sizeof(ent))
		return 0;
	if (!(ent & BIT_ULL(63)))
		return 0;
	return (ent & GENMASK_ULL(54, 0)) * getpagesize();
}

int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), r;

	if (fd < 0)
		return -errno;
	r = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

ssize_t read_file(const char *path, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	close(fd);
	return n;
}

/*
 * Fault guard: such a fault means that the host was denied that access,
 * which is not an error of the test.
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

int guarded(void (*fn)(void *arg), void *arg)
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

void store64(void *arg)
{
	struct store64 *st = arg;

	wr64(st->addr, 0, st->val);
}

void load64(void *arg)
{
	struct store64 *st = arg;

	st->val = rd64(st->addr, 0);
}

/* Whether the @len bytes at @pa are all zero, through /dev/mem */
bool phys_zero(u64 pa, u32 len)
{
	u8 *p = map_phys(pa, len);
	u32 i;

	TEST_ASSERT(p, "Cannot map 0x%lx", pa);
	for (i = 0; i < len && !READ_ONCE(p[i]); i++)
		;
	return i == len;
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
bool touch_phys(u64 pa)
{
	void *p = map_phys(pa, sizeof(u32));

	if (!p)
		return false;
	guarded(read_word, p);
	munmap((void *)((uintptr_t)p & ~(uintptr_t)(getpagesize() - 1)), getpagesize());
	return true;
}

/* Command queue access, as a root user does it */
u32 queue_slot(u32 reg)
{
	return FIELD_GET(GITS_CQUEUE_OFFSET, reg);
}

void queue_put(u32 slot, const struct its_cmd_block *c)
{
	its_cmd_write(host_gic.cq + (slot % host_gic.cq_slots) * (ITS_CMD_SIZE / sizeof(u64)), c);
}

/* Wait until the ITS has read up to @slot. */
int its_wait_read(u32 slot)
{
	u64 end = now_us() + ITS_TIMEOUT_US;
	u32 creadr;

	for (;;) {
		creadr = rd32(host_gic.its, GITS_CREADR);
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
int its_wait_idle(u32 *slot)
{
	u64 end = now_us() + ITS_TIMEOUT_US;
	u32 cwriter, creadr;

	for (;;) {
		cwriter = rd32(host_gic.its, GITS_CWRITER);
		creadr = rd32(host_gic.its, GITS_CREADR);
		if (queue_slot(cwriter) == queue_slot(creadr) &&
		    !(creadr & GITS_CREADR_STALLED)) {
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
static int its_post(u32 from, u32 count, const struct its_cmd_block *tail, u32 n)
{
	u32 i, to = (from + count) % host_gic.cq_slots;
	struct its_cmd_block sync;

	its_cmd_sync(&sync, host_gic.rd0_target);
	for (i = 0; i < count - n; i++)
		queue_put(from + i, &sync);
	for (i = 0; i < n; i++)
		queue_put(from + count - n + i, &tail[i]);

	wr32(host_gic.its, GITS_CWRITER, to * ITS_CMD_SIZE);
	return its_wait_read(to);
}

/* Move the ITS from slot @from to slot @to through SYNC commands. */
int its_sync_to(u32 from, u32 to)
{
	u32 q = host_gic.cq_slots, count;
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
static int __its_send(const struct its_cmd_block *cmds, u32 n)
{
	u32 q = host_gic.cq_slots, half = q / 2, w;
	int r;

	r = its_wait_idle(&w);
	if (!r)
		r = its_post(w, half, NULL, 0);
	if (!r)
		r = its_post((w + half) % q, q - half, cmds, n);
	return r;
}

int its_send(struct attack_ctx *c, const struct its_cmd_block *cmds, u32 n)
{
	int r = __its_send(cmds, n);

	if (r) {
		c->res->its_failed = r;
		ksft_print_msg("ITS did not complete the commands: %s\n", strerror(-r));
	}
	return r;
}

static int its_ctlr_set(bool enable)
{
	u32 ctlr = rd32(host_gic.its, GITS_CTLR);
	u64 end = now_us() + ITS_TIMEOUT_US;

	if (enable) {
		wr32(host_gic.its, GITS_CTLR, ctlr | GITS_CTLR_ENABLE);
		return 0;
	}

	wr32(host_gic.its, GITS_CTLR, ctlr & ~GITS_CTLR_ENABLE);
	while (!(rd32(host_gic.its, GITS_CTLR) & GITS_CTLR_QUIESCENT)) {
		if (now_us() > end)
			return -ETIMEDOUT;
		sched_yield();
	}
	return 0;
}

int its_disable(struct attack_ctx *c)
{
	int r;

	c->ctlr_off = 1;
	r = its_ctlr_set(false);
	if (r)
		ksft_print_msg("ITS not quiescent after disabling it\n");
	return r;
}

void its_enable(struct attack_ctx *c)
{
	its_ctlr_set(true);
}

/* Undo whatever an interrupted attack left behind */
void its_restore(void *arg)
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
		wr64(host_gic.its, GITS_BASER + 8 * c->baser_idx, c->baser_saved);
		c->baser_idx = -1;
	}
	if (c->cbaser_changed) {
		/* GITS_CREADR went back to 0: bring it to the driver's slot. */
		its_disable(c);
		wr64(host_gic.its, GITS_CBASER, c->cbaser_saved);
		slot = queue_slot(rd32(host_gic.its, GITS_CREADR));
		wr32(host_gic.its, GITS_CWRITER, slot * ITS_CMD_SIZE);
		its_enable(c);
		c->cbaser_changed = 0;
		if (its_sync_to(slot, c->cq_slot_saved))
			ksft_print_msg("could not resynchronise the command queue\n");
	}
	if (c->ctlr_off)
		its_enable(c);
}

/*
 * Point GITS_CBASER at a one-page queue of the host (host page 0), run MAPD
 * with its ITT in the victim's page and MAPTI from there, and put the
 * driver's queue back.
 */
void its_foreign_queue(struct attack_ctx *c)
{
	struct its_cmd_block cmd[3];
	u64 val;
	u32 w;
	int i;

	its_cmd_mapd(&cmd[0], c->devid, c->v.pa[TARGET_PAGE], 0, true);
	its_cmd_mapti(&cmd[1], c->devid, 0, c->lpi, 0);
	its_cmd_mapd(&cmd[2], c->devid, 0, 0, false);
	for (i = 0; i < 3; i++)
		its_cmd_write(c->host + i * ITS_CMD_SIZE, &cmd[i]);

	if (its_wait_idle(&w)) {
		c->res->its_failed = -EBUSY;
		return;
	}

	c->cbaser_saved = rd64(host_gic.its, GITS_CBASER);
	c->cq_slot_saved = w;
	val = c->cbaser_saved & ~(GITS_CBASER_PHYS_ADDR | GITS_CBASER_SIZE);
	val |= c->host_pa[0] | GITS_CBASER_VALID;

	its_disable(c);
	c->cbaser_changed = 1;
	wr64(host_gic.its, GITS_CBASER, val);
	wr32(host_gic.its, GITS_CWRITER, 0);
	its_enable(c);
	ksft_print_msg("GITS_CBASER 0x%lx -> 0x%lx (read back 0x%lx)\n", c->cbaser_saved, val,
		       rd64(host_gic.its, GITS_CBASER));

	wr32(host_gic.its, GITS_CWRITER, 3 * ITS_CMD_SIZE);
	if (its_wait_read(3))
		ksft_print_msg("the ITS did not run the foreign queue\n");

	its_restore(c);
}

/* Location of the level-1 entry for @id in an indirect table */
u64 *table_l1e(struct its_table *t, u64 id)
{
	u64 *l1 = map_phys(t->pa, t->size);
	u64 epp = t->psz / t->esz;

	if (!l1 || id / epp >= t->size / 8)
		return NULL;
	return &l1[id / epp];
}

u64 *table_entry(struct its_table *t, u64 id)
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
	if (!(l2 & GITS_LVL1_ENTRY_VALID))
		return NULL;
	base = map_phys(l2 & GITS_LVL1_ENTRY_ADDR, t->psz);
	return base ? (u64 *)(base + (id % (t->psz / t->esz)) * t->esz) : NULL;
}

/*
 * Device Table entries are IMPLEMENTATION DEFINED. Only QEMU's "virt"
 * machine, with 8-byte entries, has a format these tests know.
 */
bool its_dte_format_is_qemu(void)
{
	return host_gic.qemu && host_gic.dt.esz == 8;
}

/* A valid QEMU Device Table entry for an ITT at @itt_pa */
u64 qemu_dte(u64 itt_pa)
{
	return QEMU_DTE_VALID | FIELD_PREP(QEMU_DTE_ITT, itt_pa >> 8);
}

__printf(3, 4) void attack_set(struct attack_ctx *c, int status, const char *fmt, ...)
{
	va_list ap;

	c->res->status = status;
	va_start(ap, fmt);
	vsnprintf(c->res->reason, sizeof(c->res->reason), fmt, ap);
	va_end(ap);
}

/*
 * A guest page that a 64 KiB aligned LPI pending table can reach: LPI IDs
 * below @limit (<= 64K) only reach its first 8 KiB, and LPI 8192 is byte 1024.
 * Return the page, the table base and an INTID whose bit is in the page, in a
 * byte that is zero in the guest's canary.
 */
int pick_pending_page(struct attack_ctx *c, u32 limit, u64 *table, u32 *intid)
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

/* The PCI function of the virtio-rng device, as "0000:00:02.0" */
int rng_pci_function(char *bdf, size_t len)
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

/* Probe the virtio-rng function afresh: its ITT is allocated anew. */
void rng_rebind(const char *bdf)
{
	write_file(VIRTIO_PCI_DRIVER "/unbind", bdf);
	write_file(VIRTIO_PCI_DRIVER "/bind", bdf);
	/* As pkvm_its_init() does, for the new device */
	write_file(RNG_QUALITY, "0\n");
}

/*
 * ITT space the hypervisor accepts. A hypervisor may let the ITS write only
 * pages that the host's ITS driver claimed for ITTs. A root user finds one by
 * rebinding the virtio-rng PCI function: the driver maps the device again,
 * and its MAPD, with the ITT address, shows in the command queue. The driver
 * takes small ITTs from the start of pool pages; the cases use the end of the
 * page, where it is unused (zero).
 */
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

	for (s = from; s != to; s = (s + 1) % host_gic.cq_slots) {
		cmd = host_gic.cq + s * (ITS_CMD_SIZE / sizeof(u64));
		if (FIELD_GET(ITS_CMD_OPCODE, le64toh(READ_ONCE(cmd[0]))) == GITS_CMD_MAPD &&
		    (le64toh(READ_ONCE(cmd[2])) & ITS_CMD_VALID))
			itt = le64toh(READ_ONCE(cmd[2])) & ITS_CMD_ITT_ADDR;
	}
	ksft_print_msg("rebound %s: the driver's MAPD has ITT 0x%lx\n", bdf, itt);
	return itt;
}

/* @len bytes for ITTs, in a page of the driver's ITTs if possible */
u64 itt_space(struct attack_ctx *c, u32 len)
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
		pa = pagemap_pa(v->hva + p * TARGET_PAGE_SIZE);
		if (!pa)
			return -ENOENT;
		if (pa != v->pa[p])
			ksft_print_msg("victim: page %d moved from 0x%lx to 0x%lx\n",
				       p, v->pa[p], pa);
		v->pa[p] = pa;
	}
	return 0;
}

static void victim_create(struct victim *v, enum pkvm_its_layout layout)
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
		v->pa[p] = pagemap_pa(v->hva + p * TARGET_PAGE_SIZE);
		TEST_ASSERT(v->pa[p], "No physical address in /proc/self/pagemap (not root?)");
	}
}

/* Let the guest take its phase-B pages; a failure means the host refused it. */
int victim_donate(struct attack_ctx *c)
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
		attack_set(c, ATTACK_NA, "no physical address of the guest's new pages in pagemap");
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
		c->host_pa[i] = pagemap_pa(c->host + i * getpagesize());
		TEST_ASSERT(c->host_pa[i], "No physical address of a host page");
	}
}

/*
 * DeviceIDs and LPIs of the cases: per case @k, at the top of what the Device
 * Table and the LPI tables cover, where the host's devices never are.
 */
static void pick_ids(struct attack_ctx *c, int k)
{
	c->devid = host_gic.top_devid - 2 * k;
	c->lpi = host_gic.lpi_limit - 1 - k;
}

/* The victim's verdict on the canary, after the attack */
static void victim_check(struct attack_ctx *c)
{
	struct attack_result *res = c->res;

	if (!res->donation_refused && c->v.stage < STAGE_B && victim_run(&c->v, STAGE_B))
		res->donation_refused = 1;
	if (res->donation_refused) {
		ksft_print_msg("the guest could not take its pages: the host refused them\n");
		return;
	}
	if (victim_run(&c->v, STAGE_CHECK)) {
		res->victim_lost = 1;
		return;
	}
	res->bad = c->v.bad;
	res->first = c->v.first;
	res->val = c->v.val;
	res->victim_changed = !!res->bad;
	if (res->bad)
		ksft_print_msg("victim: %lu words changed, page %lu at 0x%lx: 0x%lx\n",
			       res->bad, res->first / TARGET_WORDS,
			       (res->first % TARGET_WORDS) * 8, res->val);
}

static const struct pkvm_its_attack *current_attack;

static void attack_fn(void *arg)
{
	current_attack->fn(arg);
}

/* Runs in a process of its own: one victim, one attack, the victim's verdict. */
static void attack_child(const struct pkvm_its_attack *a, struct attack_result *res)
{
	struct attack_ctx c = { .res = res, .baser_idx = -1 };
	int sig, r;

	/* /proc/self/pagemap stays the parent's if opened before fork(). */
	close(pagemap_fd);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	TEST_ASSERT(pagemap_fd >= 0, "Cannot open /proc/self/pagemap");

	if (host_gic.unprobed && !a->unprobed_its) {
		attack_set(&c, ATTACK_NA, "the kernel did not probe the ITS in this boot");
		return;
	}
	if (a->layout == LAYOUT_NONE) {
		a->fn(&c);
		return;
	}

	host_pages_init(&c);
	pick_ids(&c, a->id);
	victim_create(&c.v, a->layout);

	r = victim_run(&c.v, STAGE_A);
	if (r == -EPERM && host_gic.unprobed) {
		/* The isolation failed closed: no protected VM to attack. */
		ksft_print_msg("the hypervisor refused the protected VM (%s)\n", strerror(-r));
		kvm_vm_free(c.v.vm);
		return;
	}
	if (r) {
		attack_set(&c, ATTACK_ERROR, "the victim did not start");
		return;
	}
	if (victim_update_pa(&c.v, 0)) {
		attack_set(&c, ATTACK_ERROR, "no physical address of the guest's pages in pagemap");
		return;
	}
	ksft_print_msg("victim page %d at 0x%lx, DeviceID 0x%x, LPI %u\n", TARGET_PAGE,
		       c.v.pa[TARGET_PAGE], c.devid, c.lpi);

	current_attack = a;
	sig = guarded(attack_fn, &c);
	if (sig) {
		res->denied = sig;
		ksft_print_msg("host access denied: signal %d at %p\n", sig, fault_addr);
		if (guarded(its_restore, &c))
			ksft_print_msg("could not restore the ITS\n");
	}

	res->victim_phase = 1;
	victim_check(&c);
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

/* Health checks */
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

/* Read from /dev/hwrng, in a child process in case the read never returns */
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

	cwriter0 = rd32(host_gic.its, GITS_CWRITER);
	for (i = 0; i < 2; i++) {
		snprintf(mask, sizeof(mask), "%x\n", 1 << i);
		write_file(path, mask);
	}
	write_file(path, orig);

	cwriter = rd32(host_gic.its, GITS_CWRITER);
	creadr = rd32(host_gic.its, GITS_CREADR);
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
		_exit(0);
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

/* Discovery, from the devicetree and the GIC's own registers */
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

	host_gic.gicd_pa = VIRT_GICD_BASE;
	host_gic.gicr_pa = VIRT_GICR_BASE;
	host_gic.gicr_size = VIRT_GICR_SIZE;
	host_gic.its_pa = VIRT_ITS_BASE;
	host_gic.source = "QEMU virt defaults";

	if (!dt_find_child(DT_BASE, "arm,gic-v3", node, sizeof(node)))
		return;
	ac = dt_u32(DT_BASE, "#address-cells", 2);
	sc = dt_u32(DT_BASE, "#size-cells", 1);
	cac = dt_u32(node, "#address-cells", ac);
	csc = dt_u32(node, "#size-cells", sc);
	if (dt_reg(node, ac, sc, 0, &host_gic.gicd_pa, &size) ||
	    dt_reg(node, ac, sc, 1, &host_gic.gicr_pa, &host_gic.gicr_size))
		return;
	host_gic.gicr_stride = dt_u32(node, "redistributor-stride", 0);
	host_gic.source = "devicetree";
	host_gic.qemu = dt_compatible(DT_BASE, "linux,dummy-virt");

	/* The virt machine's intc has an empty "ranges": identity mapping. */
	if (dt_find_child(node, "arm,gic-v3-its", its, sizeof(its)))
		dt_reg(its, cac, csc, 0, &host_gic.its_pa, &size);
}

static void table_probe(struct its_table *t, int idx, u64 baser)
{
	static const u32 psz[] = { SZ_4K, SZ_16K, SZ_64K, SZ_64K };
	u64 nr_l1;

	t->idx = idx;
	t->baser = baser;
	t->indirect = !!(baser & GITS_BASER_INDIRECT);
	t->psz = psz[FIELD_GET(GITS_BASER_PAGE_SIZE_MASK, baser)];
	t->esz = GITS_BASER_ENTRY_SIZE(baser);
	t->size = GITS_BASER_NR_PAGES(baser) * t->psz;
	if (t->psz == SZ_64K)
		t->pa = GITS_BASER_ADDR_48_to_52(baser);
	else
		t->pa = baser & GITS_BASER_PHYS_ADDR_4K;
	nr_l1 = t->size / 8;
	t->nr_ids = t->indirect ? nr_l1 * (t->psz / t->esz) : t->size / t->esz;
}

static void gic_probe_tables(void)
{
	u64 baser;
	int i;

	host_gic.dt.idx = -1;
	host_gic.ct.idx = -1;
	host_gic.vt.idx = -1;
	for (i = 0; i < GITS_BASER_NR_REGS; i++) {
		baser = rd64(host_gic.its, GITS_BASER + 8 * i);
		if (!(baser & GITS_BASER_VALID))
			continue;
		switch (GITS_BASER_TYPE(baser)) {
		case GITS_BASER_TYPE_DEVICE:
			table_probe(&host_gic.dt, i, baser);
			break;
		case GITS_BASER_TYPE_COLLECTION:
			table_probe(&host_gic.ct, i, baser);
			break;
		case GITS_BASER_TYPE_VCPU:
			table_probe(&host_gic.vt, i, baser);
			break;
		}
	}
}

/* The ITS registers: without them there is nothing to attack. */
static void gic_probe_its(void *arg)
{
	u64 cbaser, typer;
	int *ok = arg;
	u32 pidr2;

	pidr2 = rd32(host_gic.its, GITS_PIDR2) & GIC_PIDR2_ARCH_MASK;
	typer = rd64(host_gic.its, GITS_TYPER);
	if ((pidr2 != GIC_PIDR2_ARCH_GICv3 && pidr2 != GIC_PIDR2_ARCH_GICv4) ||
	    !(typer & GITS_TYPER_PLPIS))
		return;

	host_gic.typer = typer;
	host_gic.id_bits = FIELD_GET(GITS_TYPER_IDBITS, typer) + 1;
	host_gic.dev_bits = FIELD_GET(GITS_TYPER_DEVBITS, typer) + 1;
	host_gic.ite_size = FIELD_GET(GITS_TYPER_ITT_ENTRY_SIZE, typer) + 1;
	host_gic.cid_bits = typer & GITS_TYPER_CIL ?
			    FIELD_GET(GITS_TYPER_CIDBITS, typer) + 1 : 16;
	host_gic.pta = !!(typer & GITS_TYPER_PTA);
	host_gic.vlpis = !!(typer & GITS_TYPER_VLPIS);
	host_gic.v41 = !!(typer & GITS_TYPER_VMAPP);
	host_gic.version = pidr2 == GIC_PIDR2_ARCH_GICv4 || host_gic.vlpis ? 4 : 3;
	gic_probe_tables();

	cbaser = rd64(host_gic.its, GITS_CBASER);
	if (!(cbaser & GITS_CBASER_VALID)) {
		/* Disabled, with no queue: no driver ever programmed it. */
		host_gic.unprobed = !(rd32(host_gic.its, GITS_CTLR) & GITS_CTLR_ENABLE);
		*ok = host_gic.unprobed;
		return;
	}
	host_gic.cq_slots = GITS_BASER_NR_PAGES(cbaser) * SZ_4K / ITS_CMD_SIZE;
	host_gic.cq = map_phys(GITS_CBASER_ADDRESS(cbaser), host_gic.cq_slots * ITS_CMD_SIZE);
	if (!host_gic.cq || host_gic.dt.idx < 0)
		return;

	/*
	 * Defaults for what the redistributors and the tables tell below: the
	 * top of the first level-2 page of the Device Table, the top LPI of the
	 * ITS, redistributor 0 as processor 0, the last collection.
	 */
	host_gic.top_devid = min_t(u64, host_gic.dt.indirect ?
				   host_gic.dt.psz / host_gic.dt.esz : host_gic.dt.nr_ids,
				   BIT(host_gic.dev_bits)) - 1;
	host_gic.lpi_limit = BIT(host_gic.id_bits);
	host_gic.my_icid = min_t(u64, host_gic.ct.idx >= 0 ? host_gic.ct.nr_ids :
				 GITS_TYPER_HCC(typer), BIT(host_gic.cid_bits)) - 1;
	*ok = 1;
}

static void gic_probe_gicd(void *arg)
{
	if (host_gic.gicd &&
	    (rd32(host_gic.gicd, GICD_PIDR2) & GIC_PIDR2_ARCH_MASK) == GIC_PIDR2_ARCH_GICv4)
		host_gic.version = 4;
}

static void gic_probe_rd(void *arg)
{
	u64 map_size, typer;
	void *gicr;
	int i;

	if (!host_gic.gicr_stride) {
		gicr = map_phys(host_gic.gicr_pa, SZ_64K);
		if (!gicr)
			return;
		host_gic.gicr_stride = rd64(gicr, GICR_TYPER) & GICR_TYPER_VLPIS ?
				       GICR_FRAME_SIZE_V4 : GICR_FRAME_SIZE_V3;
	}
	map_size = min_t(u64, host_gic.gicr_size, host_gic.gicr_stride * MAX_RD);
	gicr = map_phys(host_gic.gicr_pa, map_size);
	if (!gicr)
		return;
	host_gic.rd[0] = gicr;
	host_gic.rd_pa[0] = host_gic.gicr_pa;

	for (i = 0; i < MAX_RD && (i + 1) * host_gic.gicr_stride <= map_size; i++) {
		typer = rd64(gicr + i * host_gic.gicr_stride, GICR_TYPER);
		host_gic.rd[i] = gicr + i * host_gic.gicr_stride;
		host_gic.rd_pa[i] = host_gic.gicr_pa + i * host_gic.gicr_stride;
		host_gic.rd_cpu[i] = GICR_TYPER_CPU_NUMBER(typer);
		host_gic.nr_rd = i + 1;
		if (typer & GICR_TYPER_LAST)
			break;
	}
	host_gic.rd0_target = host_gic.pta ? host_gic.rd_pa[0] >> 16 : host_gic.rd_cpu[0];
	host_gic.lpi_limit = min_t(u64, host_gic.lpi_limit,
				   BIT(FIELD_GET(GICR_PROPBASER_IDBITS_MASK,
						 rd64(host_gic.rd[0], GICR_PROPBASER)) + 1));
}

/* DeviceIDs the host's devices do not use: the top of the first level-2 page. */
static void gic_probe_devids(void *arg)
{
	u64 *l1 = map_phys(host_gic.dt.pa, host_gic.dt.size);
	u64 epp = host_gic.dt.psz / host_gic.dt.esz;
	int i;

	for (i = 0; host_gic.dt.indirect && l1 && i < host_gic.dt.size / 8; i++) {
		if (READ_ONCE(l1[i]) & GITS_LVL1_ENTRY_VALID) {
			host_gic.top_devid = min_t(u64, (i + 1) * epp, BIT(host_gic.dev_bits)) - 1;
			break;
		}
	}
}

static void gic_print_summary(void)
{
	if (host_gic.unprobed)
		ksft_print_msg("the ITS at 0x%lx is disabled and has no queue: not probed\n",
			       host_gic.its_pa);
	ksft_print_msg("GICv%d, from the %s: ITS at 0x%lx, %d redistributors\n",
		       host_gic.version, host_gic.source, host_gic.its_pa, host_gic.nr_rd);
	ksft_print_msg("%u-bit DeviceIDs, %u-bit EventIDs, %u-byte ITEs, PTA=%d, %u-slot queue\n",
		       host_gic.dev_bits, host_gic.id_bits, host_gic.ite_size, host_gic.pta,
		       host_gic.cq_slots);
}

const char *pkvm_its_unsupported(void)
{
	static char why[128];
	int ok = 0, quiet;

	if (getpagesize() != TARGET_PAGE_SIZE)
		return "the victim's layout needs 4 KiB pages";
	if (!kvm_supports_protected_vms())
		return "KVM cannot create protected VMs (kvm-arm.mode is not protected)";

	devmem_fd = open("/dev/mem", O_RDWR | O_SYNC);
	if (devmem_fd < 0) {
		snprintf(why, sizeof(why), "cannot open /dev/mem: %s", strerror(errno));
		return why;
	}
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0)
		return "cannot open /proc/self/pagemap";

	install_fault_handler();
	gic_find();
	host_gic.its = map_phys(host_gic.its_pa, GITS_CTRL_FRAME_SIZE);
	host_gic.gicd = map_phys(host_gic.gicd_pa, SZ_64K);
	if (host_gic.its && guarded(gic_probe_its, &ok))
		ok = 0;
	if (!ok) {
		snprintf(why, sizeof(why),
			 "/dev/mem does not reach the ITS at 0x%lx and its queue (STRICT_DEVMEM?)",
			 host_gic.its_pa);
		return why;
	}
	quiet = shared->summary_printed++;
	if (guarded(gic_probe_gicd, NULL) && !quiet)
		ksft_print_msg("GICD_PIDR2 not readable\n");
	if (guarded(gic_probe_rd, NULL) && !quiet)
		ksft_print_msg("redistributors not readable\n");
	if (!host_gic.unprobed && guarded(gic_probe_devids, NULL) && !quiet)
		ksft_print_msg("level-1 Device Table not readable\n");
	if (!quiet)
		gic_print_summary();
	return NULL;
}

/*
 * Hypervisor tracing: the refusals of the hypervisor, as its pkvm_*_refuse
 * trace events (refused ITS commands, refused register accesses), shown
 * with the case that caused them. Never a verdict by itself.
 */
static void hyp_trace_enable_events(void)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	dir = opendir(HYP_TRACE_EVENTS);
	while (dir && (d = readdir(dir))) {
		if (strncmp(d->d_name, "pkvm_", strlen("pkvm_")) ||
		    !strstr(d->d_name, HYP_TRACE_EVENT))
			continue;
		snprintf(path, sizeof(path), "%s/%s/enable", HYP_TRACE_EVENTS, d->d_name);
		if (write_file(path, "1"))
			ksft_print_msg("hypervisor trace: cannot enable %s\n", d->d_name);
	}
	if (dir)
		closedir(dir);
}

/* The time stamp of a trace line: "[cpu]\t  204.927373: event ..." */
static double hyp_trace_stamp(const char *line)
{
	const char *p = strchr(line, ']');

	return p ? strtod(p + 1, NULL) : 0;
}

/*
 * Reading "trace" does not consume it, and it cannot be cleared: a case's
 * events are those after the latest one when it starts.
 */
static double hyp_trace_since;

static double hyp_trace_latest(void)
{
	char *line = NULL;
	double t, latest = 0;
	size_t len = 0;
	FILE *f;

	f = fopen(HYP_TRACE "/trace", "r");
	if (!f)
		return 0;
	while (getline(&line, &len, f) > 0) {
		t = hyp_trace_stamp(line);
		if (t > latest)
			latest = t;
	}
	free(line);
	fclose(f);
	return latest;
}

static bool hyp_trace_begin(void)
{
	struct stat st;

	if (stat(HYP_TRACE, &st) || !S_ISDIR(st.st_mode)) {
		ksft_print_msg("hypervisor trace: not available\n");
		return false;
	}
	hyp_trace_enable_events();
	write_file(HYP_TRACE "/tracing_on", "1");
	hyp_trace_since = hyp_trace_latest();
	return true;
}

static void hyp_trace_end(bool on)
{
	char *line = NULL;
	size_t len = 0;
	int n = 0;
	FILE *f;

	if (!on)
		return;
	f = fopen(HYP_TRACE "/trace", "r");
	if (!f) {
		ksft_print_msg("hypervisor trace: cannot read it: %s\n", strerror(errno));
		return;
	}
	while (getline(&line, &len, f) > 0) {
		if (!strstr(line, HYP_TRACE_EVENT) || hyp_trace_stamp(line) <= hyp_trace_since)
			continue;
		if (n++ < HYP_TRACE_MAX_LINES)
			ksft_print_msg("hyp: %s", line);
	}
	free(line);
	fclose(f);
	ksft_print_msg("hypervisor trace: %d refusals%s\n", n,
		       n > HYP_TRACE_MAX_LINES ? ", the first ones shown" : "");
}

/* The health checks' verdict: what worked before the case and no longer does */
static bool health_broke(const struct health *before, const struct health *after)
{
	return (before->msi > 0 && !after->msi) || (before->driver > 0 && !after->driver) ||
	       (before->pvm && !after->pvm);
}

static enum pkvm_its_verdict judge(const struct attack_result *res, bool child_ok, bool broke,
				   char *why, size_t len)
{
	bool landed = broke || (child_ok && (res->victim_changed || res->victim_lost ||
					     res->diverged || res->unchecked));

	if (landed) {
		snprintf(why, len, "attack landed:%s%s%s%s%s%s",
			 res->victim_changed ? " the victim's memory changed;" : "",
			 res->victim_lost ? " the victim no longer runs;" : "",
			 res->diverged ? " the hypervisor's records and the ITS disagree;" : "",
			 res->unchecked ? " the GIC took what the hypervisor must refuse;" : "",
			 broke ? " the system broke (see health);" : "",
			 res->denied ? " (some host accesses were denied)" : "");
		return PKVM_ITS_LANDED;
	}
	if (!child_ok || res->status == ATTACK_ERROR) {
		snprintf(why, len, "test error: %s", child_ok ? res->reason :
			 "the case did not finish");
		ksft_print_msg("%s\n", why);
		return PKVM_ITS_ERROR;
	}
	snprintf(why, len, "%s", res->reason);
	if (res->status == ATTACK_NA)
		return PKVM_ITS_NA;
	return PKVM_ITS_BLOCKED;
}

enum pkvm_its_verdict pkvm_its_run(const struct pkvm_its_attack *a, char *why, size_t len)
{
	struct attack_result *res;
	struct health after;
	enum pkvm_its_verdict v;
	bool trace, child_ok, broke = false;
	int status;
	pid_t pid;

	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		   -1, 0);
	TEST_ASSERT(res != MAP_FAILED, "mmap() failed");
	memset(res, 0, sizeof(*res));

	if (a->layout != LAYOUT_NONE && !shared->have_baseline) {
		check_health(&shared->baseline);
		if (shared->baseline.msi <= 0)
			ksft_print_msg("no working virtio MSI to start with: not checked\n");
		shared->have_baseline = 1;
	}

	trace = hyp_trace_begin();
	fflush(stdout);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork() failed");
	if (!pid) {
		attack_child(a, res);
		fflush(stdout);
		_exit(0);
	}
	status = wait_child(pid, CASE_TIMEOUT_MS);
	child_ok = status == 0;
	if (status == -1 && res->victim_phase) {
		/* The attack was over: a victim that never comes back is lost. */
		ksft_print_msg("the victim did not come back within %d s\n",
			       CASE_TIMEOUT_MS / 1000);
		res->victim_lost = 1;
		child_ok = true;
	} else if (status == -1) {
		ksft_print_msg("the case ran past %d s and was killed\n", CASE_TIMEOUT_MS / 1000);
	} else if (WIFSIGNALED(status)) {
		ksft_print_msg("the case died of signal %d\n", WTERMSIG(status));
	} else if (status) {
		ksft_print_msg("the case exited with status %d\n", WEXITSTATUS(status));
	}

	/* A case with no victim did nothing that could break the system. */
	if (a->layout != LAYOUT_NONE) {
		check_health(&after);
		broke = health_broke(&shared->baseline, &after);
		shared->baseline = after;
	}
	hyp_trace_end(trace);

	v = judge(res, child_ok, broke, why, len);
	munmap(res, sizeof(*res));
	return v;
}

static void restore_rng_quality(void)
{
	static char quality[16];
	static pid_t owner;
	ssize_t n;

	if (!owner) {
		/* First call: keep the hwrng kthread away while the ITS is disturbed. */
		owner = getpid();
		n = read_file(RNG_QUALITY, quality, sizeof(quality) - 1);
		if (n <= 0)
			return;
		quality[n] = 0;
		write_file(RNG_QUALITY, "0\n");
		atexit(restore_rng_quality);
		return;
	}
	if (getpid() == owner && quality[0])
		write_file(RNG_QUALITY, quality);
}

/*
 * pkvmits.attack=<name>[,<name>...] on the kernel command line, when the
 * test has no arguments, selects cases as "-t <name>" would: a boot can run
 * one case of each test binary without knowing which binary has it.
 */
static char **cmdline_filter(int *argc, char **argv)
{
	static char cmdline[4096];
	char *tok, *save, *list = NULL, **args;
	int n = 1;
	ssize_t len;

	if (*argc > 1)
		return argv;
	len = read_file("/proc/cmdline", cmdline, sizeof(cmdline) - 1);
	cmdline[len > 0 ? len : 0] = 0;
	for (tok = strtok_r(cmdline, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
		if (!strncmp(tok, "pkvmits.attack=", 15))
			list = tok + 15;
	if (!list || !*list)
		return argv;

	args = calloc(2 + 2 * (strlen(list) + 1), sizeof(*args));
	TEST_ASSERT(args, "calloc() failed");
	args[0] = argv[0];
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		args[n++] = "-t";
		args[n++] = tok;
	}
	*argc = n;
	return args;
}

char **pkvm_its_init(int *argc, char **argv)
{
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(shared != MAP_FAILED, "mmap() failed");
	memset(shared, 0, sizeof(*shared));
	restore_rng_quality();
	return cmdline_filter(argc, argv);
}
