/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup-bench - what a job's cgroup costs the supervisor: create (with a
 * memory and pids limit), read the usage, destroy, N times; prints the
 * median and p90 in microseconds and the cgroup version. Run as root on
 * the host (v1 here) and in the v2 guest:
 *   build/bench/cgroup-bench 200
 *   tests/vm/run.sh -- build/bench/cgroup-bench 200
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200, version = 0;
	struct gr_resources res = { .memory_limit = 256 << 20, .memory_swap = -1, .cpu_quota = -1,
				    .pids_limit = 512, .any = 1 };
	double *us = calloc(n > 0 ? n : 1, sizeof(double));

	if (n <= 0 || !us)
		return 2;
	for (int i = 0; i < n; i++) {
		struct gr_error *err = NULL;
		struct gr_cgroup_usage u;
		struct gr_cgroup *cg = NULL;
		struct timespec a, b;
		char id[64];

		snprintf(id, sizeof(id), "bench-%d-%d", (int)getpid(), i);
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (gr_cgroup_create(id, &res, &cg, &err) < 0 || !cg ||
		    gr_cgroup_usage(cg, &u, &err) < 0 || (version = gr_cgroup_version(cg), 0) ||
		    gr_cgroup_destroy(cg, &err) < 0) {
			fprintf(stderr, "cgroup-bench: %s\n", err ? err->msg : "no cgroup");
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3;
	}
	qsort(us, n, sizeof(double), cmp);
	printf("cgroup v%d: create+usage+destroy over %d jobs: median %.0f us, p90 %.0f us\n",
	       version, n, us[n / 2], us[n * 9 / 10]);
	free(us);
	return 0;
}
