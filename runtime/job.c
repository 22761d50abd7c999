/* SPDX-License-Identifier: GPL-2.0-or-later */
/* job.c - one job's life: prepare, start, wait, end (job.h). */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "handover.h"
#include "job-int.h"
#include "landlock.h"
#include "lease.h"
#include "lsm.h"
#include "mnt-template.h"
#include "priv.h"
#include "record.h"
#include "spec.h"
#include "state.h"
#include "supervisor.h"
#include "util.h"

struct gr_job {
	struct gr_spec *spec;
	struct gr_config *cfg;
	struct gr_job_options opts;
	char *job_id;
	char *state_dir;
	const struct gr_priv_ops *priv;
	const struct gr_pool *pool;      /* root: the configured pool; NULL: none, or the helper's */
	bool leases;                     /* the spec names a pool */
	struct gr_lease lease;
	struct gr_uid_range range;
	bool lease_held;
	bool lease_at_maps;              /* helper mode: leased with the maps (priv.h's lease_map) */
	struct gr_lsm_reg lsm_reg;       /* ... and registered with the BPF LSM by the same run */
	bool lease_refused;              /* ... and that lease failed: no job was tried */
	struct gr_job_handover jh;
	bool handover_held;
	/* the record's directory, opened before the job (record.h, S31) */
	struct gr_record_dest rec;
	bool claimed, ran, ended;
	struct gr_run_hooks hooks;       /* gr_run_start() keeps a pointer */
	int mnt_template;                /* during gr_run_start(): mnt-template.h */
	struct gr_run *run;              /* started, not yet waited for */
	struct gr_run_result res;
	pid_t init_pid;                  /* from the started hook, for exec_done */
	pid_t init_start_pid;            /* init_start is this pid's /proc start time */
	unsigned long long init_start;
	const struct gr_cgroup *cg;
};

void gr_job_say(const struct gr_job_options *opts, const char *fmt, ...)
{
	_cleanup_free_ char *line = NULL;
	va_list ap;
	int n;

	if (!opts || !opts->say)
		return;
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n >= 0)
		opts->say(opts->data, line);
	else
		line = NULL;
}

const char *gr_job_id(const struct gr_job *job)
{
	return job->job_id;
}

const struct gr_run_result *gr_job_result(const struct gr_job *job)
{
	return job->ran ? &job->res : NULL;
}

/* What this build cannot honour yet is refused, never silently ignored. */
static int check_supported(const struct gr_spec *spec, struct gr_error **err)
{
	if (spec->rootfs)
		return gr_error_set(err, ENOTSUP,
				    "%s: gridrun.rootfs: named root filesystems need the site configuration, not available in this build yet",
				    spec->file);
	return 0;
}

/*
 * The site's defaults for what the spec leaves open (config.h): a pids limit
 * (optional: where no cgroup can enforce it, e.g. unprivileged on v1, the
 * job runs without and gridrun says so), and the size of the job's private
 * tmpfs mounts: its memory limit, else the site's tmpfs_size.
 */
static void apply_site_defaults(struct gr_spec *spec, const struct gr_config *cfg)
{
	struct gr_resources *res = &spec->resources;

	if (res->pids_limit == -1 && cfg && cfg->default_pids_limit > 0) {
		res->pids_limit = cfg->default_pids_limit;
		res->set |= 1u << GR_LIM_PIDS_LIMIT;
		res->optional |= 1u << GR_LIM_PIDS_LIMIT;
		res->any = true;
	}
	spec->tmpfs_size = res->memory_limit > 0 ? (unsigned long long)res->memory_limit
						 : cfg ? cfg->tmpfs_size : 0;
}

/* Index of the spec's first read-write bind, or -1. */
static ssize_t rw_bind(const struct gr_spec *spec)
{
	for (size_t i = 0; i < spec->nmounts; i++)
		if (spec->mounts[i].type == GR_MOUNT_BIND && !(spec->mounts[i].flags & GR_MNT_RDONLY))
			return (ssize_t)i;
	return -1;
}

/* gridrun.pool, checked before anything is created. */
static int check_pool(const struct gr_spec *spec, struct gr_config *cfg, const struct gr_priv_ops *priv,
		      const struct gr_pool **pool, struct gr_error **err)
{
	ssize_t i;

	*pool = NULL;
	if (!spec->pool)
		return 0;
	/* S20: what a job writes through a rw bind of a host directory would
	 * stay the range's, out of reach of the sandbox's walk back */
	i = rw_bind(spec);
	if (i >= 0)
		return gr_error_set(err, EPERM, "%s: mounts[%zd]: a read-write bind of `%s` is refused "
				    "with a leased range (gridrun.pool): files the job left there "
				    "would stay the range's; add \"ro\"", spec->file, i, spec->mounts[i].source);
	return priv->may_lease(spec, cfg, pool, err);
}

int gr_job_load_spec(const char *path, const struct gr_job_options *opts, struct gr_spec **spec,
		     struct gr_error **err)
{
	int r = gr_spec_load_file(path, opts ? opts->spec_name : NULL, spec, err);

	if (r < 0)
		return r;
	/* OCI keys accepted but not honoured: one notice line each (spec-oci.c) */
	for (unsigned b = 1; b; b <<= 1)
		if (((*spec)->ignored & b) && gr_spec_notice_text(b))
			gr_job_say(opts, "notice: %s: %s", (*spec)->file, gr_spec_notice_text(b));
	return 0;
}

int gr_job_prepare(struct gr_spec *spec, struct gr_config *cfg, const struct gr_job_options *opts,
		   struct gr_job **out, struct gr_error **err)
{
	struct gr_job *job = calloc(1, sizeof(*job));
	int r;

	*out = NULL;
	if (!job) {
		gr_spec_free(spec);
		return gr_error_sys(err, ENOMEM, "job");
	}
	job->spec = spec;
	job->cfg = cfg;
	if (opts)
		job->opts = *opts;
	job->rec = (struct gr_record_dest)GR_RECORD_DEST_INIT;
	job->jh = (struct gr_job_handover){ .mntfd = -1, .dirfd = -1, .way = "none" };
	job->mnt_template = -1;
	job->lsm_reg = (struct gr_lsm_reg)GR_LSM_REG_INIT;
	job->ended = true;   /* nothing to end until gr_job_start() */
	/* the privilege backend, once: root does it, else gridrun-helper */
	job->priv = gr_priv_choose();
	r = check_supported(spec, err);
	if (r >= 0)
		r = gr_record_open(spec, &job->rec, err);
	if (r >= 0)
		r = check_pool(spec, cfg, job->priv, &job->pool, err);
	if (r < 0)
		goto fail;
	apply_site_defaults(spec, cfg);
	job->leases = spec->pool != NULL;
	if (job->opts.job_id) {   /* `gridrun run ID` (oci.h) */
		job->job_id = strdup(job->opts.job_id);
	} else if (spec->job_id) {
		job->job_id = strdup(spec->job_id);
	} else {
		unsigned long long rnd = 0;

		(void)!getrandom(&rnd, sizeof(rnd), 0);
		if (asprintf(&job->job_id, "gr-%016llx", rnd) < 0)
			job->job_id = NULL;
	}
	if (!job->job_id) {
		r = gr_error_sys(err, ENOMEM, "job id");
		goto fail;
	}
	r = gr_state_dir(&job->state_dir, err);
	if (r < 0)
		goto fail;
	*out = job;
	return 0;
fail:
	gr_job_free(job);
	return r;
}

int gr_job_prepare_path(const char *path, struct gr_config *cfg, const struct gr_job_options *opts,
			struct gr_job **out, struct gr_error **err)
{
	struct gr_spec *spec = NULL;
	int r;

	*out = NULL;
	r = gr_job_load_spec(path, opts, &spec, err);
	if (r < 0)
		return r;
	return gr_job_prepare(spec, cfg, opts, out, err);
}

/* This supervisor's start in ns since the epoch, computed on the first call
 * and the same in every later version of its state entry: every reader shows
 * the value the supervisor recorded, where each computing it anew from the
 * clocks could land on either side of a ms boundary, and would follow a later
 * step of the realtime clock (NTP's first sync, `date -s`), which moves
 * realtime less boottime by the step (slewing moves both clocks alike).
 * Recorded, it says when the job started by the clock of that moment, as the
 * batch system's own logs do. */
struct self_start {
	unsigned long long ticks;        /* /proc/self/stat's starttime */
	unsigned long long epoch_ns;
};

static const struct self_start *self_start(void)
{
	static pid_t pid;
	static struct self_start st;

	/* read once per process: every state write needs it, and it never changes */
	if (pid != getpid()) {
		st.ticks = gr_proc_starttime(getpid());
		st.epoch_ns = gr_start_epoch_ns(st.ticks);
		pid = getpid();
	}
	return &st;
}

/* The start time of the job's init, read once (it is our child, held by
 * pidfd in gr_run(): the pid cannot be reused while the job runs). */
static unsigned long long init_start(struct gr_job *job, pid_t pid)
{
	if (job->init_start_pid != pid) {
		job->init_start = gr_proc_starttime(pid);
		job->init_start_pid = pid;
	}
	return job->init_start;
}

/* The job's state entry as it stands (state.h owns the format). */
static char *state_json(struct gr_job *job, pid_t pid, const struct gr_cgroup *cg, bool running)
{
	const char *paths[GR_JOB_STATE_CGROUPS_MAX];
	struct gr_job_state st = {
		.job_id = job->job_id,
		.supervisor_pid = getpid(),
		.supervisor_start = self_start()->ticks,
		.supervisor_start_epoch_ns = self_start()->epoch_ns,
		.spec = (char *)job->spec->file,
		.pid = pid > 0 ? pid : 0,
		.pid_start = pid > 0 ? init_start(job, pid) : 0,
		.running = running,
		/* until the exec: `gridrun start` may release it (oci.h) */
		.held = job->opts.hold && pid > 0 && !running,
		.account = (char *)job->spec->account,
		.bundle = (char *)job->opts.bundle,
		.has_lease = job->lease_held,
	};
	char *text;

	if (job->lease_held) {
		st.lease.pool = (char *)job->lease.pool;
		st.lease.index = job->lease.index;
		st.lease.first = job->lease.first;
		st.lease.count = job->lease.count;
	}
	if (cg) {
		st.cgroup_version = gr_cgroup_version(cg);
		st.ncgroups = gr_cgroup_paths(cg, paths, ARRAY_SIZE(paths));
		memcpy(st.cgroups, paths, sizeof(paths));
		st.freezer = (char *)gr_cgroup_freezer_path(cg);
	}
	if (pid > 0) {
		/* the kernel layers gr_run() put in place (the exporter's layers_info) */
		st.has_layers = true;
		st.landlock = job->res.landlock;
		st.lsm = job->res.lsm.loaded;
		/* gc's record should this supervisor die (job-lost.c) */
		st.accounting = job->rec.dirfd >= 0 ? (char *)job->rec.path : NULL;
		st.started_ns = job->res.started_ns;
		st.isolation = (char *)gr_isolation_name(job->res.ids.mode);
		st.uid_first = job->res.ids.outer_uid;
		st.uid_count = (unsigned)job->res.ids.count;
	}
	/* st borrows every string: no gr_job_state_free() */
	if (gr_job_state_format(&st, &text, NULL) < 0)
		return NULL;
	return text;
}

static void release_lease(struct gr_job *job)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;
	struct gr_lsm_denials den;
	int r;

	if (!job->lease_held)
		return;
	/* gr_run() left no process of the job: the range goes to quarantine,
	 * and lease-map's BPF LSM entry with it (its denials are the job's) */
	r = job->priv->release(job->pool, &job->lease, &job->jh, job->lsm_reg.at_release ? &den : NULL, &e);
	if (job->lsm_reg.at_release) {
		job->res.lsm = den;
		job->lsm_reg.at_release = false;
	}
	if (r < 0)
		gr_job_say(&job->opts, "%s, ignoring (gridrun gc reclaims it)", e->msg);
	else if (r > 0)   /* released, but what the job left is not settled (lease.h) */
		gr_job_say(&job->opts, "%s", e->msg);
	job->lease_held = false;
}

/* Lease a range, held by this supervisor, with the sandbox handed over to
 * it (handover.h). The job's state names it from its next write (the
 * job's init, a moment later); a supervisor that dies before has a dead
 * holder's lease, which gc reclaims (lease.h) as it would from the state. */
static int lease_for_job(struct gr_job *job, struct gr_error **err)
{
	const struct gr_spec *spec = job->spec;
	int r;

	r = gr_job_handover_open(&job->jh, spec->sandbox, job->opts.sandbox_fd > 2 ? job->opts.sandbox_fd : -1,
				 job->cfg ? job->cfg->handover : GR_HANDOVER_AUTO, spec->uid, spec->gid, err);
	if (r < 0)
		return r;
	/* helper mode: one helper run leases and maps once the job's init
	 * exists (lease_and_map()); the state names the lease from then on */
	if (job->priv->lease_map) {
		job->lease_at_maps = true;
		job->handover_held = true;
		return 0;
	}
	r = job->priv->lease(job->pool, spec->pool, spec->account, job->job_id, &job->lease, &job->jh, err);
	if (r < 0) {
		gr_job_handover_done(&job->jh, 0, NULL);
		return r;
	}
	job->handover_held = true;
	job->lease_held = true;
	gr_lease_range(&job->lease, &job->range);
	return 0;
}

/* The idmapped mount goes; a chown's walk back is the release's. */
static void end_handover(struct gr_job *job)
{
	if (!job->handover_held)
		return;
	gr_job_handover_end(&job->jh);
	job->handover_held = false;
}

/* Optional limits this node cannot enforce, one line each. (No state
 * write here: a crash before the job starts leaves a cgroup that gc finds
 * by its name.) */
static int on_cgroup_ready(void *data, const struct gr_cgroup *cg, struct gr_error **err)
{
	struct gr_job *job = data;
	const char *na = gr_cgroup_not_applied(cg);

	(void)err;
	for (const char *l = na; l && *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != '\0'))
		gr_job_say(&job->opts, "job %s: optional limit not applied: %.*s", job->job_id,
			   (int)strcspn(l, "\n"), l);
	return 0;
}

/*
 * Could the job write nowhere the host's users reach (lease.h's confined)?
 * A setuid file runs with its owner's ids only from a mount of the exec's
 * own mount namespace (mnt_may_suid()), and a job's own mounts are not the
 * host's; so what matters is what the host sees of the job's writes: a
 * bind that is not read-only (check_pool() refuses one with a lease), a
 * sandbox whose files are the range's on disk while the job runs (chown;
 * an idmapped one shows the owner's ids), or an IPC namespace shared with
 * the host (the spec requires one of the job's own). The set-id guard
 * (seccomp-guard.c) keeps even a chown sandbox free of set-id files; it is
 * counted out all the same, its release walks it anyway.
 */
static bool job_confined(const struct gr_job *job)
{
	const struct gr_spec *spec = job->spec;
	const int own = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC;

	if ((spec->namespaces & own) != own)
		return false;
	if (spec->sandbox && !(job->jh.way && !strcmp(job->jh.way, "idmap")))
		return false;
	return rw_bind(spec) < 0;
}

static int on_started(void *data, pid_t pid, int pidfd, const struct gr_cgroup *cg, struct gr_error **err)
{
	struct gr_job *job = data;
	_cleanup_free_ char *json = state_json(job, pid, cg, false);

	(void)pidfd;
	job->init_pid = pid;
	job->cg = cg;
	/* root mode: the namespace is ours, no unprivileged holder matters (lease.h) */
	if (job->lease_held) {
		job->lease.userns_root = gr_lease_userns_root(pid) == 1;
		job->lease.confined = job_confined(job);
	}
	/* OCI --pid-file (oci.h) */
	if (job->opts.started && job->opts.started(job->opts.data, pid, err) < 0)
		return -EIO;
	return gr_state_update(job->state_dir, job->job_id, json, err);
}

/* the job's program runs: its state says so (OCI "running", oci.h) */
static int on_exec_done(void *data, struct gr_error **err)
{
	struct gr_job *job = data;
	_cleanup_free_ char *json = state_json(job, job->init_pid, job->cg, true);

	return json ? gr_state_update(job->state_dir, job->job_id, json, err) : gr_error_sys(err, ENOMEM, "state");
}

/* The lease and the maps of the job's init in one helper run (priv.h's
 * lease_map): init exists, held before its maps, in its cgroup. */
static int lease_and_map(struct gr_job *job, pid_t pid, int pidfd, struct gr_userns_plan *plan,
			 struct gr_error **err)
{
	int r;

	job->jh.t0 = gr_now_ns();
	r = job->priv->lease_map(job->spec->pool, job->job_id, pid, pidfd, &job->lease, &job->jh, &job->lsm_reg,
				 err);
	if (r < 0) {
		/* nothing of the job ran: no record, as for a lease refused before the clone */
		job->lease_refused = true;
		gr_job_handover_done(&job->jh, 0, NULL);
		return r;
	}
	job->lease_held = true;
	gr_lease_range(&job->lease, &job->range);
	/* the child was cloned with the pending plan: the range is known now */
	return gr_userns_plan(job->spec->uid, job->spec->gid, &job->range, plan, err);
}

static int write_maps(void *data, pid_t pid, int pidfd, struct gr_userns_plan *plan, struct gr_error **err)
{
	struct gr_job *job = data;

	if (job->lease_at_maps)
		return lease_and_map(job, pid, pidfd, plan, err);
	return job->priv->map(&job->lease, pid, pidfd, plan, err);
}

static int lsm_add(void *data, pid_t pid, int pidfd, struct gr_lsm_reg *reg, struct gr_error **err)
{
	const struct gr_job *job = data;

	/* lease-map registered it in its run (unregistered by the release) */
	if (job->lease_at_maps) {
		*reg = job->lsm_reg;
		return reg->job != 0;
	}
	return job->priv->lsm_add(&job->lease, pid, pidfd, reg, err);
}

/* gr_run_start() with the job's hooks: its process exists when it returns
 * (opts->hold: held before its exec; opts->until_exec: its program runs). */
static int run_start(struct gr_job *job, struct gr_error **err)
{
	unsigned flags = job->opts.hold ? GR_RUN_HOLD : job->opts.until_exec ? GR_RUN_UNTIL_EXEC : 0;
	int r;

	job->hooks = (struct gr_run_hooks){ .cgroup_ready = on_cgroup_ready, .started = on_started,
					    .exec_done = on_exec_done, .data = job };
	job->hooks.range = job->lease_held || job->lease_at_maps ? &job->range : NULL;
	job->hooks.range_at_maps = job->lease_at_maps;
	if ((job->lease_held || job->lease_at_maps) && job->priv->map) {
		job->hooks.write_maps = write_maps;
		job->hooks.lsm_add = job->priv->lsm_add ? lsm_add : NULL;
		job->hooks.maps_data = job;
	}
	/* root mode, chown: the job mounts the directory handed over, by fd */
	if (job->handover_held && !job->lease_at_maps && geteuid() == 0) {
		r = gr_job_handover_clone(&job->jh, err);
		if (r < 0)
			return r;
	}
	job->hooks.sandbox_mnt = job->jh.mntfd >= 0 || job->lease_at_maps ? &job->jh.mntfd : NULL;
	job->hooks.landlock_off = job->cfg && job->cfg->landlock_off;
	/* the host's tree as the root: from the template, if there is one fit for us */
	if ((job->spec->namespaces & CLONE_NEWNS) && !strcmp(job->spec->root_path, "/")) {
		const char *why;

		job->mnt_template = gr_mnt_template_open(job->state_dir, &why);
		if (getenv("GRIDRUN_DEBUG"))
			fprintf(stderr, "gridrun: debug: job %s: mount template: %s\n", job->job_id, why);
		job->hooks.mnt_template = job->mnt_template >= 0 ? &job->mnt_template : NULL;
	}
	r = gr_run_start(job->spec, job->job_id, &job->hooks, flags, &job->res, &job->run, err);
	if (job->mnt_template >= 0)
		close(TAKE_FD(job->mnt_template));
	job->hooks.mnt_template = NULL;
	return r;
}

int gr_job_start(struct gr_job *job, struct gr_error **err)
{
	struct gr_job_stale stale = { .cfg = job->cfg, .opts = &job->opts, .state_dir = job->state_dir };
	struct gr_state_gc_stats gc;
	_cleanup_free_ char *json = NULL;
	const struct gr_spec *spec = job->spec;
	sigset_t sigs;
	int r;

	if (job->claimed || job->ran)
		return gr_error_set(err, EALREADY, "job %s: started already", job->job_id);
	r = gr_state_gc_if_due(job->state_dir, &gc, gr_job_on_stale, &stale, err);
	if (r < 0)
		return r;
	if (getenv("GRIDRUN_DEBUG"))
		fprintf(stderr, "gridrun: debug: job %s: state gc %s: %u entries, %u after the last gc, "
			"%u read, %u removed\n", job->job_id, gc.ran ? "ran" : "skipped", gc.entries, gc.last,
			gc.read, gc.removed);
	/*
	 * From the claim to exit the supervisor's signals stay blocked (gr_run()
	 * reads them from a signalfd while the job runs): one that arrives
	 * while it tears down, or while the record and the state are written,
	 * stays pending and dies with the process, which exits with the job's
	 * status having written its record and removed its state. One that
	 * arrives before the job starts reaches the job when it does.
	 */
	/* an OCI bundle's missing mount targets, as the bundle's owner: before
	 * anything of the job's exists, so a failure leaves nothing behind */
	r = gr_spec_oci_make_targets(spec, err);
	if (r < 0)
		return r;
	gr_run_signals(&sigs);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	json = state_json(job, 0, NULL, false);
	if (json) {
		/* a stale entry of this id (a killed job's) goes with its cgroups first */
		r = gr_state_claim_gc(job->state_dir, job->job_id, json, gr_job_on_stale, &stale, err);
	} else {
		r = gr_error_sys(err, ENOMEM, "state");
	}
	if (r < 0)
		return r;
	job->claimed = true;
	job->ended = false;
	if (job->leases) {
		r = lease_for_job(job, err);
		if (r < 0)
			goto fail;
	}
	if (job->jh.linked)
		gr_job_say(&job->opts, "sandbox `%s`: %lu file%s with more than one link stay%s the owner's "
			   "(not handed over: the job cannot write %s)", spec->sandbox, job->jh.linked,
			   job->jh.linked > 1 ? "s" : "", job->jh.linked > 1 ? "" : "s",
			   job->jh.linked > 1 ? "them" : "it");
	r = run_start(job, err);
	if (r < 0) {
		/* it was tried: gr_job_end() writes its record (setup_error);
		 * not when its lease was refused (helper mode leases after the
		 * clone, root mode before: the same outcome) */
		job->ran = !job->lease_refused;
		job->res.exit_code = gr_error_exit_code(err ? *err : NULL);
		end_handover(job);
		goto fail;
	}
	return 0;
fail:
	end_handover(job);
	release_lease(job);
	gr_state_release(job->state_dir, job->job_id);
	job->claimed = false;
	job->ended = !job->ran;
	return r;
}

static void debug_after_run(const struct gr_job *job, int r)
{
	const struct gr_run_result *res = &job->res;

	if (r >= 0 && res->have_rusage)
		fprintf(stderr, "gridrun: debug: job %s: init used %llu ns of CPU\n", job->job_id,
			(unsigned long long)(res->main.init_utime_ns + res->main.init_stime_ns));
	fprintf(stderr, "gridrun: debug: job %s: timeline ms: cloned %.3f, maps %.3f, exec %.3f, "
		"ended %.3f, init gone %.3f, cgroup removed %.3f\n", job->job_id,
		res->t_clone / 1e6, res->t_maps / 1e6, res->t_exec / 1e6, res->t_result / 1e6,
		res->t_exit / 1e6, res->t_done / 1e6);
}

int gr_job_release(struct gr_job *job, struct gr_error **err)
{
	if (!job->run)
		return gr_error_set(err, EINVAL, "job %s: not started", job->job_id);
	return gr_run_release(job->run, err);
}

int gr_job_wait(struct gr_job *job, int *status, struct gr_error **err)
{
	bool debug = getenv("GRIDRUN_DEBUG") != NULL;
	int r;

	*status = GR_EXIT_ERROR;
	if (!job->run)
		return gr_error_set(err, EINVAL, "job %s: not started", job->job_id);
	r = gr_run_wait(TAKE_PTR(job->run), err);
	job->ran = true;
	end_handover(job);
	/* the release walks a chown hand-over back: the line below counts both ways */
	release_lease(job);
	if (debug) {
		char ll[256];

		fprintf(stderr, "gridrun: debug: job %s: sandbox hand-over %s, %lu entries, %.3f ms\n",
			job->job_id, job->jh.way, job->jh.changed, job->jh.ns / 1e6);
		fprintf(stderr, "gridrun: debug: job %s: landlock: %s\n", job->job_id,
			gr_landlock_describe(job->res.landlock, ll, sizeof(ll)));
		gr_lsm_debug(job->job_id, &job->res.lsm);   /* lsm.h: the BPF LSM's denials */
	}
	*status = r < 0 ? gr_error_exit_code(err ? *err : NULL) : gr_run_exit_status(&job->res);
	if (r < 0)
		job->res.exit_code = *status;
	if (debug)
		debug_after_run(job, r);
	/* what ended or limited the job, said once for the batch system's log */
	if (r >= 0 && job->res.reason == GR_REASON_OOM)
		gr_job_say(&job->opts, "job %s was killed by the kernel's OOM killer (memory limit)", job->job_id);
	if (r >= 0 && job->res.cg.pids_max_hits)
		gr_job_say(&job->opts, "job %s hit its pids limit: %llu fork(s) refused", job->job_id,
			   (unsigned long long)job->res.cg.pids_max_hits);
	return r;
}

/* The node-wide copy of the record, for gridrun-exporter (record.h). */
static void write_record_copy(const struct gr_job *job)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;

	if (gr_record_copy_write(job->state_dir, job->job_id, &job->res, job->spec->account, job->spec->pool, &e) < 0)
		gr_job_say(&job->opts, "%s, ignoring", e->msg);
}

int gr_job_end(struct gr_job *job, struct gr_error **err)
{
	int r = 0;

	if (!job || job->ended)
		return 0;
	/* started but not waited for: the job is ended (killed) and reaped,
	 * then what start took goes back */
	if (job->run) {
		_cleanup_gr_error_ struct gr_error *e = NULL;
		int status;

		gr_run_cancel(job->run);
		if (gr_job_wait(job, &status, &e) < 0)
			gr_job_say(&job->opts, "job %s: %s", job->job_id, e->msg);
	}
	job->ended = true;
	end_handover(job);
	release_lease(job);
	if (job->ran) {
		r = gr_record_write(&job->rec, job->job_id, &job->res, err);
		write_record_copy(job);
	}
	if (job->claimed)
		gr_state_release(job->state_dir, job->job_id);
	job->claimed = false;
	return r;
}

void gr_job_free(struct gr_job *job)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;

	if (!job)
		return;
	if (gr_job_end(job, &e) < 0)
		gr_job_say(&job->opts, "%s, ignoring", e->msg);
	gr_record_close(&job->rec);
	gr_spec_free(job->spec);
	free(job->job_id);
	free(job->state_dir);
	free(job);
}

void gr_job_freep(struct gr_job **job)
{
	gr_job_free(*job);
	*job = NULL;
}

int gr_job_signal(const struct gr_job *job, int sig, struct gr_error **err)
{
	return gr_job_signal_id(job->job_id, sig, err);
}

int gr_job_suspend(const struct gr_job *job, struct gr_error **err)
{
	return gr_job_freeze_id(job->job_id, true, err);
}

int gr_job_resume(const struct gr_job *job, struct gr_error **err)
{
	return gr_job_freeze_id(job->job_id, false, err);
}
