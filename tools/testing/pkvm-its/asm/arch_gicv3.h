/* SPDX-License-Identifier: GPL-2.0-only */
/* Nothing of the CPU interface accessors is needed in userspace. */
