// SPDX-License-Identifier: GPL-2.0
/*
 * make bench: what one entry into the hypervisor costs, the floor of any
 * design that checks each batch of ITS commands at EL2.
 *
 * Reads GITS_TYPER through /dev/mem in a loop. On the unpatched base the
 * read goes straight to the ITS; with the series the control frame belongs
 * to the hypervisor, so every read traps to EL2, is emulated there and
 * returns. A null system call is timed alongside, to compare boots on a
 * machine whose speed varies.
 *
 * usage: trap-cost ITS_PHYS_ADDR [LOOPS]
 * Prints "BENCH trap_cost: its_read_ns=N syscall_ns=N".
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define GITS_TYPER	0x0008
#define ROUNDS		5

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of ROUNDS timings: a round the host machine stalled is dropped. */
static double median(double *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp_double);
	return v[ROUNDS / 2];
}

int main(int argc, char **argv)
{
	double its_ns[ROUNDS], sys_ns[ROUNDS], t;
	volatile uint32_t *its;
	uint32_t typer = 0;
	long loops, i;
	uint64_t pa;
	int fd, r;

	if (argc < 2) {
		fprintf(stderr, "usage: %s ITS_PHYS_ADDR [LOOPS]\n", argv[0]);
		return 2;
	}
	pa = strtoull(argv[1], NULL, 0);
	loops = argc > 2 ? atol(argv[2]) : 100000;

	fd = open("/dev/mem", O_RDONLY | O_SYNC);
	if (fd < 0) {
		perror("/dev/mem");
		return 1;
	}
	its = mmap(NULL, 0x10000, PROT_READ, MAP_SHARED, fd, pa);
	if (its == MAP_FAILED) {
		perror("mmap");
		return 1;
	}

	for (r = 0; r < ROUNDS; r++) {
		t = now_ns();
		for (i = 0; i < loops; i++)
			syscall(SYS_getppid);
		sys_ns[r] = (now_ns() - t) / loops;

		t = now_ns();
		for (i = 0; i < loops; i++)
			typer = its[GITS_TYPER / sizeof(*its)];
		its_ns[r] = (now_ns() - t) / loops;
	}

	printf("BENCH trap_cost: its_read_ns=%.0f syscall_ns=%.0f (GITS_TYPER 0x%x)\n",
	       median(its_ns), median(sys_ns), typer);
	return 0;
}
