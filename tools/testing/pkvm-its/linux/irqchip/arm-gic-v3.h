/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Only the register and command encodings of the kernel header: its C
 * declarations need kernel types the harness does not have.
 */
#ifndef __PKVM_ITS_TEST_ARM_GIC_V3_H
#define __PKVM_ITS_TEST_ARM_GIC_V3_H

#define __ASSEMBLER__
#include "../../../../../include/linux/irqchip/arm-gic-v3.h"
#undef __ASSEMBLER__

#endif
