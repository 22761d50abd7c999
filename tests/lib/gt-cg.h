/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gt-cg.h - what cgroup_test and cgroup_life_test share: the `cg` fixture
 * (a scratch directory with a state directory, a sandbox for uid 65534 and
 * the path of the accounting record) and its runs of a job through the real
 * binary. Include it after kselftest_harness.h.
 */
#ifndef GRIDRUN_GT_CG_H
#define GRIDRUN_GT_CG_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt.h"

FIXTURE(cg) {
	char *dir, *state, *sbx, *rec;
	struct gt_result res;
	json_t *record;
};

FIXTURE_SETUP(cg)
{
	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	ASSERT_LE(0, asprintf(&self->sbx, "%s/execute/dir_1", self->dir));
	ASSERT_LE(0, asprintf(&self->rec, "%s/record.json", self->dir));
	gt_mkdirs(self->sbx, 0700, 65534, 65534);
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
	memset(&self->res, 0, sizeof(self->res));
	self->record = NULL;
}

FIXTURE_TEARDOWN(cg)
{
	gt_result_free(&self->res);
	json_decref(self->record);
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->state);
	free(self->sbx);
	free(self->rec);
}

/* Run ARGS (JSON array text) with RESOURCES (JSON object text or NULL). */
static inline void run_job(struct _test_data_cg *self, const char *job_id, const char *args, const char *resources)
{
	json_decref(self->record);
	self->record = gt_run_job(self->dir, self->sbx, self->rec, job_id, args, resources, NULL, &self->res);
}

static inline long long rec_int(struct _test_data_cg *self, const char *key)
{
	return gt_json_int(self->record, key);
}

#endif
