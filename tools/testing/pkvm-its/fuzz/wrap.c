// SPDX-License-Identifier: GPL-2.0
/*
 * The oracles of fuzz.c read the validator's limits and device records
 * through these few functions only: when struct its_cmd_state changes
 * (nr_devids widening, a new record state, limits moving elsewhere), this
 * is the file to adapt.
 */

#include "harness.h"

void vc_limits(const struct its_cmd_state *st, struct vc_limits *l)
{
	l->nr_devids = st->lim.nr_devids;
	l->nr_icids = st->lim.nr_icids;
	l->max_size = st->lim.max_size;
	l->lpi_bits = st->lim.lpi_bits;
	l->itt_entry_size = st->lim.itt_entry_size;
	l->nr_targets = st->lim.nr_targets;
	l->targets = st->lim.targets;
}

unsigned int vc_records(const struct its_cmd_state *st, struct vc_rec *out, unsigned int max)
{
	unsigned int i, n = 0;

	for (i = 0; i < st->nr_slots && n < max; i++) {
		const struct its_dev_rec *d = &st->dev[i];

		/* Any state but FREE holds the ITT pins. */
		if (d->state == ITS_DEV_FREE)
			continue;
		out[n].devid = d->devid;
		out[n].unmapping = d->state != ITS_DEV_MAPPED;
		out[n].size = d->size;
		out[n].itt_pfn = d->itt_pfn;
		out[n].itt_nr_pages = d->itt_nr_pages;
		n++;
	}

	return n;
}

u64 vc_nr_refused(const struct its_cmd_state *st)
{
	return st->nr_refused;
}
