// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the ITS command validator costs per command, apart from the trap
 * that brings a batch to EL2: its_cmd.c built for the host, -O2, no
 * sanitizers, against a page-ownership stub as cheap as the hypervisor's
 * fast path. Reports; never asserts.
 *
 *   make -C tools/testing/pkvm-its bench
 */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/bits.h>
#include <linux/kernel.h>
#include <linux/irqchip/arm-gic-v3.h>

#include <nvhe/its_cmd.h>

#define NR_PFNS		4096
#define ROUNDS		200000

static unsigned short pins[NR_PFNS];
static struct its_cmd_state st;
/* RDbase of the two redistributors the commands may name. */
static const u64 targets[] = { 0, 1 };

static int stub_pin(u64 pfn, u64 nr_pages)
{
	u64 i;

	if (pfn >= NR_PFNS || nr_pages > NR_PFNS - pfn)
		return -1;
	for (i = pfn; i < pfn + nr_pages; i++)
		pins[i]++;

	return 0;
}

static void stub_unpin(u64 pfn, u64 nr_pages)
{
	u64 i;

	for (i = pfn; i < pfn + nr_pages; i++)
		pins[i]--;
}

static const struct its_cmd_mem_ops stub_mem = {
	.pin	= stub_pin,
	.unpin	= stub_unpin,
};

/* An ITS as Linux sets one up: 16 DeviceID bits, 2 redistributors. */
static void setup(void)
{
	memset(&st, 0, sizeof(st));
	st.mem = &stub_mem;
	st.lim.nr_devids = BIT(16);
	st.lim.nr_icids = 2;
	st.lim.max_size = 15;
	st.lim.lpi_bits = 16;
	st.lim.itt_entry_size = 8;
	st.lim.page_shift = 12;
	st.lim.nr_targets = ARRAY_SIZE(targets);
	st.lim.targets = targets;
	st.seq = 2048;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#define DEV(d)		((u64)(d) << 32)

/* Checks @n commands of @cmds in turn, ROUNDS times: nanoseconds per command. */
static double run(const u64 (*cmds)[4], unsigned int n, bool retire)
{
	u64 out[4];
	double t0;
	unsigned int r, i;

	t0 = now_ns();
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < n; i++)
			its_cmd_check(&st, cmds[i], out);
		if (retire)
			its_cmd_retire(&st, st.seq);
	}

	return (now_ns() - t0) / ((double)ROUNDS * n);
}

int main(void)
{
	/* What an MSI affinity change queues. */
	static const u64 movi_sync[][4] = {
		{ GITS_CMD_MOVI | DEV(1), 3, 1, 0 },
		{ GITS_CMD_SYNC, 0, 1ULL << 16, 0 },
	};
	/* Mapping one more event of a mapped device. */
	static const u64 mapti[][4] = {
		{ GITS_CMD_MAPTI | DEV(1), 5 | (8192ULL + 5) << 32, 0, 0 },
	};
	/* A device with 2^11 events of 8 bytes (a 4-page ITT) coming and going. */
	static const u64 mapd[][4] = {
		{ GITS_CMD_MAPD | DEV(2), 10, 0x100000ULL | BIT_ULL(63), 0 },
		{ GITS_CMD_MAPD | DEV(2), 0, 0, 0 },
	};

	setup();
	if (its_cmd_map_dev(&st, 1, 4, 0x10000)) {
		printf("cannot map the device\n");
		return 1;
	}

	printf("MOVI+SYNC:             %6.1f ns per command\n", run(movi_sync, 2, false));
	printf("MAPTI:                 %6.1f ns per command\n", run(mapti, 1, false));
	printf("MAPD V=1 (4-page ITT), MAPD V=0, retire: %6.1f ns per command\n",
	       run(mapd, 2, true));
	printf("refused so far: %llu (must be 0)\n", (unsigned long long)st.nr_refused);

	return 0;
}
