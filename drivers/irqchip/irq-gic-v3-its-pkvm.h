/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Between the GICv3 ITS driver and the handover of its command queues to
 * pKVM (irq-gic-v3-its-pkvm.c).
 */
#ifndef _IRQ_GIC_V3_ITS_PKVM_H
#define _IRQ_GIC_V3_ITS_PKVM_H

#include <linux/irqchip/arm-gic-v3-its-handover.h>
#include <linux/types.h>

struct gen_pool;

/* One ITS's command queue on its way to the new owner. */
struct its_pkvm_cmdq {
	struct its_cmdq_handover	h;		/* what the new owner is told */
	void				*shadow;	/* the queue the driver writes next */
	u64				*status;	/* the published GITS_CREADR */
	struct its_cmdq_handover_dev	*devices;
	unsigned int			max_devices;
	bool				offered;	/* see its_pkvm_cmdq_take() */
};

int its_pkvm_cmdq_prepare(struct its_pkvm_cmdq *q, int node, unsigned int nr_devices);
int its_pkvm_cmdq_add_device(struct its_pkvm_cmdq *q, u32 devid, unsigned int nr_ites,
			     void *itt);
int its_pkvm_cmdq_take(struct its_pkvm_cmdq *q);
void its_pkvm_cmdq_release(struct its_pkvm_cmdq *q);

/* ITT memory, told to the new owner once there is one. */
void its_pkvm_start_claims(const struct its_itt_ops *ops);
int its_pkvm_claim_itt(phys_addr_t pa, size_t size);
void its_pkvm_release_itt(phys_addr_t pa, size_t size);

/* A walk of the ITT memory so far, see its_claim_itts(). */
struct its_itt_walk {
	int		ret;
	unsigned int	nr_claimed;
	bool		undo;
};

void its_pkvm_walk_pool(struct its_itt_walk *w, struct gen_pool *pool);
void its_pkvm_walk_dev_itt(struct its_itt_walk *w, void *itt, size_t itt_sz);

/*
 * In irq-gic-v3-its.c, between its_handover_begin() and its_handover_end():
 * claim the ITT memory so far, hand every ITS's queue over.
 */
int its_claim_itts(const struct its_itt_ops *ops);
int its_swap_cmdqs(void);

#endif /* _IRQ_GIC_V3_ITS_PKVM_H */
