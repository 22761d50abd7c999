/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * supervisor.h - the supervisor: one job's life from clone3() to the record.
 *
 * gr_run() (gr_run_start() then gr_run_wait()) creates the job cgroup gridrun-<job_id> with the spec's limits
 * (cgroups/cgroups.h), then the job's PID 1 with clone3() in new user,
 * mount, PID, IPC and UTS namespaces (net when the spec asks, cgroup if
 * listed) - straight into the cgroup on v2; on v1 init moves itself into it
 * first thing (gr_cgroup_attach_self()), before it waits for sync #1 -
 * holding it by pidfd; writes its uid/gid maps; that is gr_run_start(), which
 * returns once the job's init exists (the started hook ran) and sync #3 is
 * sent (GR_RUN_UNTIL_EXEC: once the program was exec'd, sync #4; GR_RUN_HOLD:
 * init built the mount tree, sync #2, and is held before sync #3 until
 * gr_run_release() or GR_RUN_START_SIGNAL). gr_run_wait() forwards TERM, INT, HUP,
 * QUIT, USR1 and USR2 to it while it runs; SIGTSTP freezes the whole job
 * (cgroup freezer; without a cgroup, init stops its namespace) and SIGCONT
 * thaws it. After a forwarded TERM or INT the job has GRIDRUN_KILL_GRACE
 * seconds (default 10) to end before everything in it is killed (reason
 * GR_REASON_KILLED_BY_REQUEST). It waits for the job. At the end it
 * kills whatever is left in the cgroup, reads the usage into res->cg and
 * removes the cgroup. A job whose process the kernel OOM-killed ends with
 * reason GR_REASON_OOM. It returns 0 when the job
 * ran, whatever its status (see res), or a negative errno with *err when
 * gridrun itself failed; err->code is then the exit code to use (125, 126
 * not executable, 127 not found) and res still describes the attempt, with
 * reason GR_REASON_SETUP_ERROR, for the accounting record.
 * While held, TERM, INT, HUP and QUIT end the job at once (SIGKILL to init:
 * its program never ran; reason GR_REASON_KILLED_BY_REQUEST), and so does
 * gr_run_cancel(); a held init killed from outside ends it as SIGNALED.
 * gr_run_start() blocks gr_run_signals() and gr_run_wait() restores the
 * mask the caller had; a failed gr_run_start() has restored it and left
 * nothing (no process, cgroup or LSM entry), as gr_run_wait() leaves nothing.
 * The calling process's signal mask is restored before gr_run() returns:
 * a caller that still has to write the record blocks gr_run_signals()
 * itself first (gr_job_start(), job.h), or a signal that arrives during the
 * teardown kills it when the mask is restored, before the record.
 * It leaves nothing behind: no process (the PID namespace dies with its
 * init, the cgroup is emptied), no mount (all of them live in the job's
 * mount namespace), no cgroup.
 */
#ifndef GRIDRUN_SUPERVISOR_H
#define GRIDRUN_SUPERVISOR_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cgroups.h"
#include "lsm.h"
#include "error.h"
#include "spec.h"
#include "sync.h"
#include "userns.h"

enum gr_reason {
	GR_REASON_EXITED,
	GR_REASON_SIGNALED,
	GR_REASON_OOM,
	GR_REASON_KILLED_BY_REQUEST,
	GR_REASON_SETUP_ERROR,
	/* never gr_run()'s: gc's record of a job whose supervisor died
	 * (job-lost.c); exit_code, signal, ended_at, wall_ns and rusage null */
	GR_REASON_SUPERVISOR_LOST,
};

struct gr_run_result {
	enum gr_reason reason;
	int exit_code;               /* valid for EXITED (and SETUP_ERROR: 125/126/127) */
	int signal;                  /* valid for SIGNALED, 0 otherwise */
	unsigned long long started_ns;  /* CLOCK_REALTIME */
	unsigned long long ended_ns;
	unsigned long long wall_ns;     /* CLOCK_MONOTONIC difference */
	bool have_rusage;
	struct gr_sync_result main;  /* the main process: rusage, killed_at_end */
	struct gr_userns_plan ids;
	pid_t pid;                   /* host pid of the job's init */
	struct gr_cgroup_usage cg;   /* version 0: the job had no cgroup */
	int landlock;                /* gr_landlock_plan(): > 0 the ABI applied, 0 turned off,
				      * < 0 not available (-errno) */
	struct gr_lsm_denials lsm;   /* the BPF LSM's refusals (lsm.h); .loaded false: not loaded.
				      * landlock and lsm.loaded are set before hooks->started */
	/* CLOCK_MONOTONIC ns since gr_run() began, for GRIDRUN_DEBUG: */
	unsigned long long t_clone, t_maps, t_exec, t_result, t_exit, t_done;
};

/* Hooks a caller may set (all optional). cgroup_ready: the job cgroup exists
 * (before any process is in it); started: the job's init exists; exec_done:
 * the job's program has been exec'd (sync #4), called from the supervisor's
 * loop - unless init's report that it has ended already (#5) is queued
 * behind #4: a program that ran and ended before the supervisor could say
 * it runs is not said to run (a /bin/true job skips the "running" state
 * write the caller would undo at once). A hook's error ends the job
 * (SIGKILL) and is gr_run()'s. */
struct gr_run_hooks {
	int (*cgroup_ready)(void *data, const struct gr_cgroup *cg, struct gr_error **err);
	int (*started)(void *data, pid_t pid, int pidfd, const struct gr_cgroup *cg, struct gr_error **err);
	int (*exec_done)(void *data, struct gr_error **err);
	void *data;
	/* not a hook: the leased range to map the job onto, or NULL */
	const struct gr_uid_range *range;
	/* writes the maps instead of gr_userns_from_parent() (helper mode);
	 * with range_at_maps it leases the range first and fills in plan */
	int (*write_maps)(void *data, pid_t pid, int pidfd, struct gr_userns_plan *plan,
			  struct gr_error **err);
	/* not a hook: write_maps leases the range (helper mode's lease-map,
	 * priv.h): range is filled in by it, the child is cloned with
	 * gr_userns_plan_pending(), and a *sandbox_mnt that write_maps made
	 * reaches the child with sync #1 */
	bool range_at_maps;
	/* with write_maps: registers the job with the BPF LSM instead of
	 * gr_lsm_register() (helper mode, gridrun-helper lsm-add), right after
	 * the maps; 1 registered (reg filled), 0 not loaded */
	int (*lsm_add)(void *data, pid_t pid, int pidfd, struct gr_lsm_reg *reg, struct gr_error **err);
	void *maps_data;
	/* not a hook: the sandbox's idmapped mount for the job (handover.h), or NULL */
	const int *sandbox_mnt;
	/* not a hook: the site turned the Landlock layer off (landlock.h) */
	bool landlock_off;
	/* not a hook: the template mount namespace to clone the job from
	 * (mnt-template.h), or NULL; a refused setns() clones it as without */
	const int *mnt_template;
};

/* `gridrun start ID` sends this to a held job's supervisor (oci.h). */
#define GR_RUN_START_SIGNAL (SIGRTMIN + 2)
#define GR_RUN_HOLD 1u        /* held before the job's exec (sync #3) */
#define GR_RUN_UNTIL_EXEC 2u  /* gr_run_start() returns once the program runs (not with HOLD) */
struct gr_run;
/* spec, job_id, hooks and res must outlive the run (until gr_run_wait()). */
int gr_run_start(const struct gr_spec *spec, const char *job_id, const struct gr_run_hooks *hooks,
		 unsigned flags, struct gr_run_result *res, struct gr_run **out, struct gr_error **err);
/* A held job goes on to its exec (no-op otherwise). */
int gr_run_release(struct gr_run *run, struct gr_error **err);
bool gr_run_held(const struct gr_run *run);
/* SIGKILL to the job's init, which gr_run_wait() then reaps as killed by request. */
void gr_run_cancel(struct gr_run *run);
/* Supervises to the end; frees run. Returns as gr_run(). */
int gr_run_wait(struct gr_run *run, struct gr_error **err);
int gr_run(const struct gr_spec *spec, const char *job_id, const struct gr_run_hooks *hooks,
	   struct gr_run_result *res, struct gr_error **err);
/* The signals gr_run() blocks and handles while the job runs: the forwarded
 * ones (TERM, INT, HUP, QUIT, USR1, USR2), TSTP, CONT and GR_RUN_START_SIGNAL. */
void gr_run_signals(sigset_t *set);

/* The exit status gridrun's CLI uses for a finished job (128+N for signal N). */
int gr_run_exit_status(const struct gr_run_result *res);
const char *gr_reason_name(enum gr_reason r);

#endif
