/* SPDX-License-Identifier: GPL-2.0-or-later */
/* job-int.h - what job.c and job-admin.c share (job.h). */
#ifndef GRIDRUN_JOB_INT_H
#define GRIDRUN_JOB_INT_H

#include "cg-discover.h"
#include "job.h"
#include "lease.h"

/* One line through opts->say (printf-like). */
void gr_job_say(const struct gr_job_options *opts, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* gc of stale state entries: their cgroups, and their pools' dead leases
 * (gr_state_gc()'s on_stale, data a struct gr_job_stale). */
struct gr_job_stale {
	const struct gr_config *cfg;
	const struct gr_job_options *opts;
	const char *state_dir;        /* the gc's: its records/ copies (job-lost.c) */
	struct gr_lease_gc_stats lease_gc;
	/* gr_job_gc() only (never a job's start, cg-discover.h): find the v1
	 * hierarchies through libcgroup, once, at the first stale entry */
	bool libcgroup;
	int disc_state;               /* 0 not yet, 1 disc filled, -1 failed */
	struct gr_cg_discovery disc;
};
int gr_job_on_stale(void *data, const char *json);
/* gc: the record of a stale entry's job, whose supervisor died (job-lost.c
 * has the contract), before its cgroups are removed. */
struct gr_job_state;
void gr_job_lost_record(const char *state_dir, const struct gr_job_state *st, const struct gr_job_options *opts);
/* A pool's gc by the caller's privilege backend (priv.h). */
int gr_job_gc_pool(const struct gr_pool *p, struct gr_lease_gc_stats *st, struct gr_error **err);

#endif
