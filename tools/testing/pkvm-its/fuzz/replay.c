// SPDX-License-Identifier: GPL-2.0
/*
 * Replays files or directories of inputs through LLVMFuzzerTestOneInput()
 * without libFuzzer: for "make regress" (any C compiler) and "make cov".
 * An oracle failure aborts, so the exit status says whether all passed.
 */

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned int nr_inputs;

static int run_file(const char *path)
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* Name it first: an oracle failure aborts without returning. */
	if (getenv("REPLAY_VERBOSE"))
		fprintf(stderr, "replay %s (%zu bytes)\n", path, n);
	LLVMFuzzerTestOneInput(buf, n);
	nr_inputs++;

	return 0;
}

static int run_path(const char *path)
{
	char sub[4096];
	struct dirent *de;
	struct stat sb;
	int ret = 0;
	DIR *d;

	if (stat(path, &sb)) {
		perror(path);
		return 1;
	}
	if (!S_ISDIR(sb.st_mode))
		return run_file(path);

	d = opendir(path);
	if (!d) {
		perror(path);
		return 1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		ret |= run_path(sub);
	}
	closedir(d);

	return ret;
}

int main(int argc, char **argv)
{
	int i, ret = 0;

	for (i = 1; i < argc; i++)
		ret |= run_path(argv[i]);
	printf("replayed %u inputs, no oracle failure\n", nr_inputs);

	return ret;
}
