/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * usage.h - a job's usage for gridrun-condor's Chirp updates.
 *
 * While the job runs: gr_condor_live_usage() reads the job's cgroup, found
 * through its entry in gridrun's state directory (state.h: "cgroups",
 * "cgroup_version") with gr_cgroup_usage_read(), the supervisor's own
 * reader, so the live figures and the record's agree. -ENOENT (no error filled) while the job has no
 * entry or no cgroup yet.
 *
 * At the end: gr_condor_record_parse() reads gridrun's accounting record
 * (record.h) as gridrun wrote it on the wrapper's pipe ("fd:N", never a
 * file the job could forge: S35), the figures the final update reports
 * exactly. Text that is not the JSON object gridrun writes is an error.
 */
#ifndef GRIDRUN_CONDOR_USAGE_H
#define GRIDRUN_CONDOR_USAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct gr_condor_usage {
	bool cpu_known, memory_known;
	uint64_t cpu_user_usec, cpu_sys_usec;
	uint64_t memory_peak_bytes;
};

struct gr_condor_record {
	char reason[24];            /* exited signaled oom killed_by_request setup_error supervisor_lost */
	int exit_code;              /* -1: null */
	int signal;                 /* 0: null */
	struct gr_condor_usage u;
	bool oom_killed;
	bool killed_at_end_known;
	uint64_t killed_at_end;
	char isolation[24];
	uint64_t uid_first, uid_count;
};

int gr_condor_live_usage(const char *state_dir, const char *job_id, struct gr_condor_usage *u,
			 struct gr_error **err);
int gr_condor_record_parse(const char *text, struct gr_condor_record *rec, struct gr_error **err);

#endif
