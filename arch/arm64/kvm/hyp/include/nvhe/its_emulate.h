/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef __KVM_NVHE_ITS_EMULATE_H__
#define __KVM_NVHE_ITS_EMULATE_H__

#include <linux/types.h>

int pkvm_its_init(u64 pfn, u64 desc_pages, u64 nr_pages);
void pkvm_its_system_suspend(void);
void pkvm_its_system_resume(void);
int pkvm_its_isolate(u64 nr_its);
bool pkvm_its_isolated(void);
int pkvm_its_claim_itt(u64 pfn, u64 nr_pages);
int pkvm_its_release_itt(u64 pfn, u64 nr_pages);
int pkvm_its_grow_devs(u64 id, u64 pfn, u64 nr_pages);

#endif /* __KVM_NVHE_ITS_EMULATE_H__ */
