/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * state.h - the state directory of running jobs (design §1).
 *
 * One directory per running job, DIR/<job-id>/, holding state.json (written
 * atomically). A job id is claimed by building the directory under a private
 * name and renaming it into place with RENAME_NOREPLACE, so two supervisors
 * can never both hold one id and a half-written claim is never visible under
 * the id. Every claim records the supervisor's pid and start time; an entry
 * whose supervisor is gone (or whose pid was reused: the start time differs)
 * is stale, and gr_state_gc() removes it. `gridrun run` calls
 * gr_state_gc_if_due() before it claims: on an idle node the next start
 * garbage-collects what a SIGKILLed supervisor left (threat R1),
 * idempotently; on a busy one a start collects only when the number of
 * entries has grown by an eighth since the last gc (or fallen by half), so
 * that no start's work grows with the number of running jobs (state.c).
 *
 * DIR is $GRIDRUN_STATE_DIR, else /run/gridrun for root, else
 * $XDG_RUNTIME_DIR/gridrun, else /tmp/gridrun-<uid>; it is created 0755
 * (entries 0755, state files 0644: gridrun-exporter reads them unprivileged,
 * and they hold nothing secret) and must be owned by the caller and not
 * group/world-writable.
 *
 * DIR/records/ is not a job: it holds a copy of each finished job's
 * accounting record for gridrun-exporter (runtime/job.c); gc leaves it to
 * `gridrun gc`, and no job may take the id "records".
 */
#ifndef GRIDRUN_STATE_H
#define GRIDRUN_STATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

#define GR_STATE_RECORDS "records"
/* the template mount namespace (mnt-template.h): no job's entry, never gc's */
#define GR_STATE_MNT_TEMPLATE ".mnt-template"

/*
 * The state entry of one job, DIR/<job-id>/state.json: the one definition of
 * its fields. `gridrun run` formats it (claim, lease, start), and run's gc,
 * ps, kill, suspend/resume, gridrun-exporter and gridrun-condor parse it here
 * and nowhere else. Strings are malloc'd and owned by the struct.
 */
#define GR_JOB_STATE_CGROUPS_MAX 8
struct gr_job_state {
	char *job_id;
	pid_t supervisor_pid;
	unsigned long long supervisor_start;  /* gr_proc_starttime() */
	/* The same start in ns since the epoch (gr_start_epoch_ns()), computed
	 * once by the supervisor and written in every version of its entry, so
	 * that every reader (each gridrun-exporter process) shows the same value;
	 * 0: not recorded (an entry of an older gridrun). */
	unsigned long long supervisor_start_epoch_ns;
	char *spec;                           /* the spec's name (NULL: none) */
	pid_t pid;                            /* the job's init; 0 before start */
	unsigned long long pid_start;
	bool running;                         /* the job's program was exec'd (sync #4):
					       * OCI "running"; before, "created" */
	bool held;                            /* held before its exec until `gridrun start`
					       * (gridrun create, oci.h) */
	char *account;                        /* NULL: none */
	char *bundle;                         /* an OCI bundle (oci.h); NULL: none */
	bool has_lease;
	struct {
		char *pool;
		unsigned index;
		uid_t first;
		unsigned count;
	} lease;
	int cgroup_version;                   /* 0: no cgroups named yet */
	size_t ncgroups;
	char *cgroups[GR_JOB_STATE_CGROUPS_MAX];
	char *freezer;                        /* NULL: none */
	/* The kernel layers in effect for the job, known once it started
	 * (gr_run() decides them before its started hook); "layers" in the
	 * JSON, absent before: {"landlock": N, "lsm": true|false}. */
	bool has_layers;
	int landlock;                         /* gr_landlock_plan(): > 0 the ABI applied, 0 turned
					       * off by site or spec, < 0 not available (-errno) */
	bool lsm;                             /* registered with gridrun's BPF LSM (lsm.h) */
	/* What gc needs to write the record of a job whose supervisor died
	 * (job-lost.c), known once it started and written with "pid":
	 * "accounting", the record's path (NULL: none, or "fd:N", which
	 * nothing outlives the supervisor to write to); "started_ns", the
	 * record's started_at (CLOCK_REALTIME ns, 0: not recorded, an entry
	 * of an older gridrun); "isolation" and "uid_first"/"uid_count", its
	 * isolation and uid_range. */
	char *accounting;
	unsigned long long started_ns;
	char *isolation;
	uid_t uid_first;
	unsigned uid_count;
};
/* The entry's JSON text (malloc'd); -ENOMEM or -EINVAL (no job_id). */
int gr_job_state_format(const struct gr_job_state *st, char **text, struct gr_error **err);
/* Parse an entry: job_id, supervisor_pid and supervisor_start are required
 * (unless flags has GR_JOB_STATE_PARTIAL: ps, kill, suspend and gc take what
 * an entry has), every known field must have its type, unknown fields are
 * ignored. Anything else (not JSON, truncated, a field of the wrong type) is
 * -EINVAL and leaves *st zeroed. */
#define GR_JOB_STATE_PARTIAL 0x1u
/* The same result by jansson only, without the one-pass scan of an entry in
 * the shape gridrun writes (state-scan.h): for tests that compare the two. */
#define GR_JOB_STATE_NO_SCAN 0x2u
int gr_job_state_parse(const char *text, unsigned flags, struct gr_job_state *st, struct gr_error **err);
void gr_job_state_free(struct gr_job_state *st);
#define _cleanup_gr_job_state_ __attribute__((cleanup(gr_job_state_free)))

int gr_state_dir(char **out, struct gr_error **err);
/* Claim job_id; state_json becomes DIR/<job_id>/state.json. */
int gr_state_claim(const char *dir, const char *job_id, const char *state_json,
		   struct gr_error **err);
/* The same; a stale entry of job_id (its supervisor gone) is first handed
 * to on_stale (as gr_state_gc()'s, e.g. to remove the cgroups it names) and
 * replaced only when that succeeds. */
int gr_state_claim_gc(const char *dir, const char *job_id, const char *state_json,
		      int (*on_stale)(void *data, const char *state_json), void *data,
		      struct gr_error **err);
int gr_state_update(const char *dir, const char *job_id, const char *state_json,
		    struct gr_error **err);
void gr_state_release(const char *dir, const char *job_id);
/* Remove stale entries; *removed (may be NULL) counts them. on_stale (may be
 * NULL) sees each stale entry's state JSON first (e.g. to remove the job
 * cgroup it names); when it fails, the entry stays for the next gc, since it
 * may be the only record of what is left (a cgroup whose last task is still
 * exiting). */
int gr_state_gc(const char *dir, unsigned *removed,
		int (*on_stale)(void *data, const char *state_json), void *data,
		struct gr_error **err);
struct gr_state_gc_stats {
	unsigned entries;   /* DIR's subdirectories when the start looked (0: unknown) */
	unsigned last;      /* how many the last gc left */
	bool ran;           /* this call collected */
	unsigned read;      /* entries it judged (each: its state file, its holder's /proc) */
	unsigned removed;
};
/* gr_state_gc() when due (see above), else nothing; *st says which. */
int gr_state_gc_if_due(const char *dir, struct gr_state_gc_stats *st,
		       int (*on_stale)(void *data, const char *state_json), void *data,
		       struct gr_error **err);
/* The state JSON of a running job (malloc'd); -ESRCH if no such live job. */
int gr_state_read(const char *dir, const char *job_id, char **json, struct gr_error **err);
/* List entries (job ids) with their supervisor's liveness, for `gridrun ps`. */
int gr_state_list(const char *dir, void (*cb)(void *data, const char *job_id,
					       const char *state_json, bool alive),
		  void *data, struct gr_error **err);

#endif
