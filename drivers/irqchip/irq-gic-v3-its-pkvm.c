// SPDX-License-Identifier: GPL-2.0-only
/*
 * Handing the GICv3 ITS command queues over to the pKVM hypervisor.
 *
 * Once KVM runs in protected mode, the host kernel is no longer trusted
 * with the ITS, a bus master that writes memory the host names. pKVM takes
 * each command queue over once, at late init: from then on the driver
 * writes its commands into a shadow queue, which the hypervisor checks and
 * forwards to the real one. This file prepares what the hypervisor is told
 * (the queues, the devices already mapped, the memory set aside for ITTs);
 * irq-gic-v3-its.c only walks its ITSs and devices under its own locks and
 * switches to the shadow queue.
 */

#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/genalloc.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "irq-gic-v3-its-pkvm.h"

static its_cmdq_handover_fn_t handover_fn __initdata;
/* Set once at handover, read where the driver allocates ITTs, on any CPU. */
static const struct its_itt_ops *itt_ops;

/*
 * A hypervisor that polices the ITS only lets it write ITT memory claimed
 * for the purpose: every page the driver sets aside for ITTs (pool pages,
 * which are never freed, and large ITTs, which are) is claimed, and a page
 * the claim refuses is not used.
 */
int its_pkvm_claim_itt(phys_addr_t pa, size_t size)
{
	const struct its_itt_ops *ops = READ_ONCE(itt_ops);

	return ops ? ops->claim(pa, size) : 0;
}

void its_pkvm_release_itt(phys_addr_t pa, size_t size)
{
	const struct its_itt_ops *ops = READ_ONCE(itt_ops);

	if (ops)
		ops->release(pa, size);
}

/* Called with every ITS's dev_alloc_lock held: no ITT comes or goes. */
void __init its_pkvm_start_claims(const struct its_itt_ops *ops)
{
	WRITE_ONCE(itt_ops, ops);
}

/*
 * Each range of ITT memory so far, in the same order every time: claimed,
 * or, to undo a walk that failed part-way, the ones it claimed released.
 */
static void __init its_pkvm_walk_range(struct its_itt_walk *w, phys_addr_t pa, size_t size)
{
	if (w->undo) {
		if (w->nr_claimed) {
			its_pkvm_release_itt(pa, size);
			w->nr_claimed--;
		}
	} else if (!w->ret) {
		w->ret = its_pkvm_claim_itt(pa, size);
		if (!w->ret)
			w->nr_claimed++;
	}
}

static void __init its_pkvm_walk_chunk(struct gen_pool *pool, struct gen_pool_chunk *chunk,
				       void *data)
{
	its_pkvm_walk_range(data, virt_to_phys((void *)chunk->start_addr),
			    chunk->end_addr - chunk->start_addr + 1);
}

/* The pool's pages so far; a page added later is claimed as it is added. */
void __init its_pkvm_walk_pool(struct its_itt_walk *w, struct gen_pool *pool)
{
	gen_pool_for_each_chunk(pool, its_pkvm_walk_chunk, w);
}

/* A device's ITT so far, unless it is a pool chunk (walked with the pool). */
void __init its_pkvm_walk_dev_itt(struct its_itt_walk *w, void *itt, size_t itt_sz)
{
	if (itt_sz >= PAGE_SIZE)
		its_pkvm_walk_range(w, virt_to_phys(itt), PAGE_SIZE << get_order(itt_sz));
}

/**
 * its_pkvm_cmdq_prepare() - Allocate what one ITS's handover needs
 * @q: the queue the driver described (base, cmdq, cmdq_size, cmdq_flush)
 * @node: NUMA node of the ITS
 * @nr_devices: devices mapped on it, which the new owner must adopt
 *
 * Everything is allocated here, before the ITS lock is taken: the lock is
 * a raw spinlock, under which neither the driver nor the new owner may
 * allocate. its_pkvm_cmdq_release() frees what was not handed over.
 *
 * Return: 0, or -ENOMEM.
 */
int __init its_pkvm_cmdq_prepare(struct its_pkvm_cmdq *q, int node, unsigned int nr_devices)
{
	struct page *shadow, *status;

	shadow = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO, get_order(q->h.cmdq_size));
	status = alloc_pages_node(node, GFP_KERNEL | __GFP_ZERO, 0);
	q->devices = kcalloc(nr_devices ?: 1, sizeof(*q->devices), GFP_KERNEL);
	q->shadow = shadow ? page_address(shadow) : NULL;
	q->status = status ? page_address(status) : NULL;
	if (!q->shadow || !q->status || !q->devices)
		return -ENOMEM;

	q->max_devices = nr_devices;
	q->h.shadow = virt_to_phys(q->shadow);
	q->h.status = virt_to_phys(q->status);
	q->h.devices = q->devices;

	return 0;
}

/* One device the ITS already knows: the MAPD the driver sent for it. */
int __init its_pkvm_cmdq_add_device(struct its_pkvm_cmdq *q, u32 devid, unsigned int nr_ites,
				    void *itt)
{
	struct its_cmdq_handover_dev *d;

	/* The caller counted the devices under the lock it still holds. */
	if (WARN_ON_ONCE(q->h.nr_devices == q->max_devices))
		return -EINVAL;

	d = &q->devices[q->h.nr_devices++];
	d->devid = devid;
	d->size = ilog2(nr_ites) - 1;
	d->itt = virt_to_phys(itt);

	return 0;
}

/*
 * Called with the ITS lock held, so that no command is in flight: offers
 * the queue to the new owner, which takes it (0) or leaves it.
 */
int __init its_pkvm_cmdq_take(struct its_pkvm_cmdq *q)
{
	/*
	 * The new owner may keep the shadow queue and the status page even
	 * when it fails half-way: once offered, they are never freed.
	 */
	q->offered = true;

	return handover_fn(&q->h);
}

/* Frees the shadow queue and status page unless they were offered. */
void __init its_pkvm_cmdq_release(struct its_pkvm_cmdq *q)
{
	kfree(q->devices);
	if (q->offered)
		return;
	if (q->shadow)
		free_pages((unsigned long)q->shadow, get_order(q->h.cmdq_size));
	if (q->status)
		free_page((unsigned long)q->status);
}

/**
 * its_claim_itt_memory() - Tell the new owner about the memory set aside for ITTs
 * @ops: told about every page of it so far, and from now on
 *
 * Used once by pKVM at late init, after its_handover_begin() and before
 * its_handover_cmdq(): all ITT memory is claimed before any queue is
 * handed over, so that whatever the handover of one ITS does, every ITT is
 * released as it was claimed, and so that the new owner can size what it
 * keeps per device from it.
 *
 * Return: 0, or the first error; the claim operations are then not used.
 */
int __init its_claim_itt_memory(const struct its_itt_ops *ops)
{
	return its_claim_itts(ops);
}

/**
 * its_handover_cmdq() - Give the command queue of every ITS away
 * @fn: called with the ITS lock (a raw spinlock) held, so it must not
 *	allocate; takes the queue described in its argument and returns 0,
 *	or fails, and the driver then carries on with its own queue
 *
 * Used once by pKVM at late init, when the list of ITSs no longer changes,
 * before its_handover_end().
 *
 * Return: 0 when every ITS was handed over, or the first error: the ITSs
 * before it were handed over, the ones after it were not, and the one that
 * failed is left as @fn left it (the driver keeps its own queue).
 */
int __init its_handover_cmdq(its_cmdq_handover_fn_t fn)
{
	handover_fn = fn;

	return its_swap_cmdqs();
}
