/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Handing the GICv3 ITS command queues over to a more privileged agent, the
 * pKVM hypervisor, which from then on forwards checked commands from a
 * shadow queue that the ITS driver writes instead.
 */
#ifndef __LINUX_IRQCHIP_ARM_GIC_V3_ITS_HANDOVER_H
#define __LINUX_IRQCHIP_ARM_GIC_V3_ITS_HANDOVER_H

#include <linux/types.h>

struct its_cmdq_handover_dev {
	u32		devid;
	u32		size;		/* MAPD Size: log2(number of events) - 1 */
	phys_addr_t	itt;
};

struct its_cmdq_handover {
	phys_addr_t	base;		/* ITS control frame */
	phys_addr_t	cmdq;		/* queue programmed in GITS_CBASER */
	phys_addr_t	shadow;		/* queue the driver will write */
	size_t		cmdq_size;
	/*
	 * A page whose first 64-bit word the new owner keeps at a GITS_CREADR
	 * value the ITS has reached, for the driver to read instead of the
	 * register; never ahead of the ITS.
	 */
	phys_addr_t	status;
	bool		cmdq_flush;	/* driver cleans commands to the PoC */
	unsigned int	nr_devices;
	const struct its_cmdq_handover_dev *devices;	/* already mapped */
};

/* Called with the ITS lock, a raw spinlock, held: must not allocate. */
typedef int (*its_cmdq_handover_fn_t)(const struct its_cmdq_handover *h);

/* Told about memory the driver sets aside for ITTs, and gives back. */
struct its_itt_ops {
	int	(*claim)(phys_addr_t pa, size_t size);
	void	(*release)(phys_addr_t pa, size_t size);
};

#ifdef CONFIG_ARM_GIC_V3_ITS
void its_handover_begin(void);
void its_handover_end(void);
int its_claim_itt_memory(const struct its_itt_ops *ops);
int its_handover_cmdq(its_cmdq_handover_fn_t fn);
#else
static inline void its_handover_begin(void)
{
}

static inline void its_handover_end(void)
{
}

static inline int its_claim_itt_memory(const struct its_itt_ops *ops)
{
	return 0;
}

static inline int its_handover_cmdq(its_cmdq_handover_fn_t fn)
{
	return 0;
}
#endif

/* Where the redistributors are, for an agent that takes them all. */
int gic_v3_get_redist_regions(phys_addr_t *base, bool *single, unsigned int max,
			      u64 *stride);
unsigned int gic_v3_nr_redists(unsigned int *nr_regions);
bool gic_v3_is_probed(void);
bool gic_v3_dist_has_lpis(void);

#endif /* __LINUX_IRQCHIP_ARM_GIC_V3_ITS_HANDOVER_H */
