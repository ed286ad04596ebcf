/* SPDX-License-Identifier: GPL-2.0-only */
/* The kernel's ARRAY_SIZE(): the tools' linux/kernel.h has it. */
#include <linux/kernel.h>
