/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gt-life.h - what job_api_test and job_start_test share: the `life`
 * fixture (a scratch directory with a state directory, a sandbox and a site
 * configuration with pool atlas for root, loaded as `gridrun run` loads
 * it), said() that collects what a job says, a job's spec, and the check
 * that nothing of a job is left on the node (state entry, cgroup, lease).
 * Include it after kselftest_harness.h.
 */
#ifndef GRIDRUN_GT_LIFE_H
#define GRIDRUN_GT_LIFE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "gt.h"
#include "job.h"

FIXTURE(life) {
	char *dir, *state, *sbx, *leases;
	struct gr_config *cfg;
	char said[4096];
};

static inline void said(void *data, const char *line)
{
	char *buf = data;
	size_t n = strlen(buf);

	snprintf(buf + n, 4096 - n, "%s\n", line);
}

FIXTURE_SETUP(life)
{
	struct gr_error *err = NULL;
	char *conf;

	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	ASSERT_LE(0, asprintf(&self->leases, "%s/leases", self->dir));
	ASSERT_LE(0, asprintf(&self->sbx, "%s/execute/dir_1", self->dir));
	gt_mkdirs(self->sbx, 0700, 65534, 65534);
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
	conf = gt_write(self->dir, "gridrun.conf", "[runtime]\nlease_dir = %s\n\n[pool atlas]\n"
			"first_uid = 3000000\nranges = 2\naccounts = root\n", self->leases);
	chmod(conf, 0644);
	ASSERT_EQ(0, gr_job_config_load(conf, GR_JOB_CONFIG_RUN, &self->cfg, &err)) TH_LOG("%s", err->msg);
	free(conf);
	self->said[0] = '\0';
}

FIXTURE_TEARDOWN(life)
{
	gr_config_free(self->cfg);
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->state);
	free(self->leases);
	free(self->sbx);
}

static inline char *life_spec(struct _test_data_life *self, const char *job_id, const char *args, const char *gr_extra)
{
	char *gr, *spec;

	if (asprintf(&gr, "\"job_id\": \"%s\", \"sandbox\": \"%s\", \"accounting\": \"%s/record.json\"%s%s",
		     job_id, self->sbx, self->sbx, gr_extra ? ", " : "", gr_extra ? gr_extra : "") < 0)
		abort();
	spec = gt_spec(self->dir, args, NULL, gr);
	free(gr);
	return spec;
}

/* Nothing of the job on the node: state entry, cgroup, lease. */
static inline void nothing_left(struct __test_metadata *_metadata, struct _test_data_life *self, const char *id)
{
	EXPECT_GE(0, gt_count_dir(self->state));
	EXPECT_EQ(0, gt_cgroup_dirs(id));
	EXPECT_GE(0, gt_count_dir(self->leases));
}

#endif
