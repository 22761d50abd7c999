/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scale_test - what a start costs on a busy node: with many live jobs in the
 * state directory, a start reads none of their entries (state.c), yet on an
 * idle node it still collects what a killed supervisor left (R1,
 * lifecycle_test). GRIDRUN_SCALE_N live entries (300).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
/* util.h (ARRAY_SIZE clashes with the harness) */
unsigned long long gr_proc_starttime(pid_t pid);

FIXTURE(scale) {
	char *dir, *state;
};

FIXTURE_SETUP(scale)
{
	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	gt_mkdirs(self->state, 0755, -1, -1);
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
}

FIXTURE_TEARDOWN(scale)
{
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->state);
}

/* n entries held by this (live) process, as a supervisor writes them */
static void live_entries(const char *state, int n)
{
	unsigned long long start = gr_proc_starttime(getpid());

	for (int i = 0; i < n; i++) {
		char *d, *p;

		if (asprintf(&d, "%s/live-%d", state, i) < 0)
			abort();
		gt_mkdirs(d, 0755, -1, -1);
		p = gt_write(d, "state.json", "{\"job_id\": \"live-%d\", \"supervisor_pid\": %d, "
			     "\"supervisor_start\": %llu, \"spec\": \"x\"}", i, (int)getpid(), start);
		free(p);
		free(d);
	}
}

TEST_F(scale, a_start_reads_no_live_entry)
{
	const char *v = getenv("GRIDRUN_SCALE_N");
	int n = v && atoi(v) > 0 ? atoi(v) : 300;
	char *gc_argv[] = { (char *)gt_gridrun(), "gc", NULL };
	char *spec, *want;
	struct gt_result res;

	live_entries(self->state, n);
	gt_run_argv(gc_argv, -1, &res);
	ASSERT_EQ(0, res.status) TH_LOG("%s", res.err);
	ASSERT_STREQ("gridrun gc: removed 0 stale state entries\n", res.out);
	gt_result_free(&res);

	setenv("GRIDRUN_DEBUG", "1", 1);
	spec = gt_spec(self->dir, "[\"/bin/true\"]", NULL, "\"job_id\": \"scale-1\"");
	gt_run_spec(spec, &res);
	unsetenv("GRIDRUN_DEBUG");
	ASSERT_EQ(0, res.status) TH_LOG("%s", res.err);
	/* the n entries, none of them read (no job ended yet: no records/) */
	ASSERT_LE(0, asprintf(&want, "gridrun: debug: job scale-1: state gc skipped: %d entries, %d after "
			      "the last gc, 0 read, 0 removed\n", n, n));
	EXPECT_NE(NULL, strstr(res.err, want)) TH_LOG("stderr: %s", res.err);
	EXPECT_EQ(n, gt_count_dir(self->state));
	gt_result_free(&res);
	free(want);
	free(spec);
}

TEST_HARNESS_MAIN
