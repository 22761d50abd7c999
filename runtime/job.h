/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * job.h - one job's life as one library API (issue 15, part 1).
 *
 * The CLI (runtime/main.c) and the tests call these, in order (gridrun-condor
 * runs `gridrun run` as its child, and shares only gr_job_config_load()):
 *
 *   gr_job_load_spec()   the spec file (or gr_job_prepare_path(): both steps)
 *   gr_job_prepare()     checks, site defaults, the job id resolved once, the
 *                        privilege backend chosen once (priv.h), the record's
 *                        directory opened (record.h). Creates nothing.
 *   gr_job_start()       blocks gr_run_signals() in the calling thread, then
 *                        claims the state entry, leases a range (gridrun.pool),
 *                        hands the sandbox over and starts the job
 *                        (gr_run_start(), supervisor.h: its cgroup, its init
 *                        cloned into the namespaces, the maps, the sync steps
 *                        up to its exec, the started hook: the state entry
 *                        names its init). It returns once the job's init
 *                        exists; with opts->until_exec once its program was
 *                        exec'd (the entry says running); with opts->hold once
 *                        init has built the mount tree and is held before the
 *                        exec (OCI "created"), until gr_job_release() or the
 *                        `gridrun start` signal reaches gr_job_wait(). On
 *                        failure it undoes all of it (no process, cgroup,
 *                        lease, hand-over, state entry); the attempt's record
 *                        (setup_error) is still written by gr_job_end().
 *                        Between start and wait the job runs unsupervised:
 *                        signals to this process stay pending until wait
 *                        reads them, so call gr_job_wait() soon.
 *   gr_job_release()     a held job goes on to its exec.
 *   gr_job_wait()        supervises the job to its end (forwarded signals,
 *                        grace period, freezer, cgroup removed), walks the
 *                        hand-over back, releases the lease; *status is the
 *                        CLI's exit status. A held job that is never released
 *                        waits here until its start signal or its end.
 *   gr_job_end()         a job started but not waited for is killed and
 *                        waited for first; then the record written (the
 *                        spec's and the node's copy), and whatever is still
 *                        held released: hand-over, lease, state entry. Safe twice and on every path; a job that
 *                        never ran has no record.
 *   gr_job_free()        gr_job_end() if not yet done, then the memory.
 *
 * Ownership: gr_job_prepare() takes the spec (freed by gr_job_free(), also
 * on failure); the config and the option strings are borrowed and must
 * outlive the job (a spec that leases completes the config's deferred
 * id checks in place, config.h). On failure every call leaves nothing behind: no state
 * entry, no lease, no cgroup, no hand-over.
 *
 * The signals of gr_run_signals() stay blocked after gr_job_end(): one that
 * arrived during the teardown is still pending, and the CLI exits with the
 * job's status with it pending (supervisor.h); a caller that goes on
 * unblocks them itself.
 *
 * Everything one run needs is in its job object and the hooks gr_job_wait()
 * passes to gr_run() (the lease for the helper's map and lsm-add, the
 * sandbox's mount): the library keeps no per-run static state, so a process
 * may run jobs one after another, each with its own lease.
 *
 * Errors are returned (-errno) with *err; the library never prints, except
 * GRIDRUN_DEBUG lines. What a caller should tell its user without failing
 * (notices of the spec, optional limits not applied, an ignored error of a
 * release) goes to opts->say, one line each, without a "gridrun: " prefix.
 *
 * Jobs by id (job-admin.c), for ps, kill, suspend, resume and gc: the state
 * entry (state.h) names the supervisor to signal and the freezer to use.
 */
#ifndef GRIDRUN_JOB_H
#define GRIDRUN_JOB_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "error.h"

struct gr_config;
struct gr_spec;
struct gr_job;
struct gr_job_state;
struct gr_run_result;

struct gr_job_options {
	const char *spec_name;   /* FILE in messages about the spec (gr_job_load_spec()) */
	const char *job_id;      /* an OCI container id; NULL: the spec's gridrun.job_id, else random */
	const char *bundle;      /* an OCI bundle, for the state entry; NULL: none */
	/* the job's init exists (OCI --pid-file); an error ends the run */
	int (*started)(void *data, pid_t pid, struct gr_error **err);
	bool hold;               /* gr_job_start() leaves the job held before its exec */
	bool until_exec;         /* gr_job_start() returns once the program runs */
	/* > 2: the caller's fd of the sandbox it checked (run --sandbox-fd,
	 * gr_job_handover_open()); 0: none */
	int sandbox_fd;
	/* one line for the user (see above); NULL: dropped */
	void (*say)(void *data, const char *line);
	void *data;
};

/* The spec at path (opts->spec_name in messages); its accepted-but-ignored
 * OCI keys are said through opts->say. The error is the spec's own line,
 * "FILE:LINE:COL: json.path: message", printed as it is. */
int gr_job_load_spec(const char *path, const struct gr_job_options *opts, struct gr_spec **spec,
		     struct gr_error **err);
int gr_job_prepare(struct gr_spec *spec, struct gr_config *cfg, const struct gr_job_options *opts,
		   struct gr_job **out, struct gr_error **err);
/* gr_job_load_spec() and gr_job_prepare(). */
int gr_job_prepare_path(const char *path, struct gr_config *cfg, const struct gr_job_options *opts,
			struct gr_job **out, struct gr_error **err);
int gr_job_start(struct gr_job *job, struct gr_error **err);
int gr_job_release(struct gr_job *job, struct gr_error **err);
/* 0 when the job ran (whatever its status), < 0 when gridrun failed: *status
 * is then the error's exit code (125, 126, 127) and the result says
 * GR_REASON_SETUP_ERROR, for the record. */
int gr_job_wait(struct gr_job *job, int *status, struct gr_error **err);
/* < 0: the record could not be written (everything else was still done). */
int gr_job_end(struct gr_job *job, struct gr_error **err);
void gr_job_free(struct gr_job *job);
void gr_job_freep(struct gr_job **job);
#define _cleanup_gr_job_ __attribute__((cleanup(gr_job_freep)))

const char *gr_job_id(const struct gr_job *job);
/* After gr_job_wait(): what happened (supervisor.h); NULL before. */
const struct gr_run_result *gr_job_result(const struct gr_job *job);

/* A running job: its supervisor forwards sig (TERM and INT start the grace
 * period). For this process's own job that is started but not yet waited
 * for, the signal stays pending until gr_job_wait() supervises it, and is
 * then forwarded (a held job is ended by TERM, INT, HUP or QUIT). */
int gr_job_signal(const struct gr_job *job, int sig, struct gr_error **err);
int gr_job_suspend(const struct gr_job *job, struct gr_error **err);
int gr_job_resume(const struct gr_job *job, struct gr_error **err);

/* The same by job id, from its state entry (gridrun kill, suspend, resume):
 * its supervisor through a pidfd checked by its start time (ESRCH: none). */
int gr_job_signal_id(const char *job_id, int sig, struct gr_error **err);
int gr_job_freeze_id(const char *job_id, bool frozen, struct gr_error **err);
/*
 * What both of those, and the OCI verbs (oci.c), send a signal through: st
 * is the job's state entry and sup_pidfd a pidfd of its supervisor that the
 * caller checked (pid and start time, and whose it is). With kill_init,
 * SIGKILL goes to the job's init instead (checked by its start time and
 * parent): the supervisor cannot forward it, and ends the job as usual
 * when its init is killed. A job that ended meanwhile is no error.
 */
int gr_job_signal_pidfd(const struct gr_job_state *st, int sup_pidfd, int sig, bool kill_init,
			struct gr_error **err);

/* The site configuration for the CLI: as root, its state_dir and cgroup_base
 * apply unless the environment (tests) names others. use: 0 (ps, the condor
 * wrapper), or one of: */
enum {
	GR_JOB_CONFIG_RUN = 1,      /* the pools' NSS checks wait until a spec leases */
	GR_JOB_CONFIG_GC = 2,       /* as root: the full passwd/group/subid check,
				     * whatever the stamp says, and the stamp refreshed
				     * (config-ids.c); jobs' starts trust it */
};
int gr_job_config_load(const char *path, unsigned use, struct gr_config **cfg, struct gr_error **err);

/* gridrun ps: every entry, parsed (partial entries too), and whether its
 * supervisor lives; then the pools' leases as a table on out. */
int gr_job_list(void (*cb)(void *data, const char *job_id, const struct gr_job_state *st, bool alive),
		void *data, struct gr_error **err);
int gr_job_lease_report(FILE *out, const struct gr_config *cfg, struct gr_error **err);

/* gridrun gc: stale entries with their cgroups and leases, record copies
 * older than an hour, then every pool's leases this caller may collect. */
struct gr_job_gc_stats {
	bool swept;              /* the state dir was collected (even if the pools then failed) */
	unsigned removed;        /* stale state entries */
	unsigned copies;         /* record copies pruned */
	bool template_remade;    /* the mount template was stale (mnt-template.h) */
	bool pools;              /* the configuration has pools: the next two apply */
	unsigned reclaimed;      /* leases of dead holders */
	unsigned freed;          /* quarantines ended */
};
int gr_job_gc(const struct gr_config *cfg, const struct gr_job_options *opts, struct gr_job_gc_stats *st,
	      struct gr_error **err);
/* gridrun template [remove]: make (or remake) or remove the state
 * directory's template mount namespace (mnt-template.h); *state_dir is set
 * to it (the caller frees it). remove: 1 if there was one, else 0. */
int gr_job_template(bool remove, char **state_dir, struct gr_error **err);

#endif
