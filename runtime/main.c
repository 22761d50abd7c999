/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gridrun - the command line.
 *
 *   gridrun run SPEC.json | gridrun SPEC.json    run one job, exit with its status
 *   gridrun check                                kernel features and isolation mode
 *   gridrun ps                                   running jobs (state directory), leases
 *   gridrun gc                                   remove what crashed runs left, leases too
 * run, ps and gc take --config PATH: the site configuration (config.h).
 * run takes --spec-name NAME: NAME, not SPEC.json, in messages about the
 * spec (FILE of "FILE:LINE:COL", the state's "spec"), for a spec handed
 * over as /dev/fd/N or /dev/stdin (gridrun-condor's).
 *   gridrun suspend ID | resume ID               freeze / thaw a running job
 *   gridrun kill ID SIGNAL                       signal a running job
 *   gridrun seccomp dump PROFILE                 a profile's filter as libseccomp PFC
 *   gridrun help [COMMAND] | COMMAND --help      usage (cli-help.c); an unknown command
 *                                                or option is one line, exit 125
 *
 * Exit status of run: the job's exit code; 128+N when it was killed by signal
 * N; 125 when gridrun itself failed (bad spec, setup error); 126 when the
 * program is not executable; 127 when it is not found.
 * Errors are printed once, on one line: spec errors as
 * "FILE:LINE:COL: json.path: message", all others as "gridrun: message".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cli-help.h"
#include "config.h"
#include "gr-seccomp.h"
#include "handover.h"
#include "landlock.h"
#include "lsm.h"
#include "helper.h"
#include "lease.h"
#include "oci.h"
#include "record.h"
#include "supervisor.h"
#include "spec.h"
#include "state.h"
#include "util.h"

static void usage(FILE *out)
{
	fputs("usage: gridrun run [--config PATH] [--spec-name NAME] SPEC.json\n"
	      "       gridrun run [--bundle DIR] [--pid-file F] ID | state ID | delete [--force] ID\n"
	      "       gridrun kill [--all] ID [SIGNAL]   (OCI runtime verbs)\n"
	      "       gridrun SPEC.json\n"
	      "       gridrun suspend ID | resume ID | kill ID SIGNAL\n"
	      "       gridrun seccomp dump PROFILE   (a name, or a path with a '/')\n"
	      "       gridrun check | ps | gc | --version | --help\n"
	      "       (run, ps and gc take --config PATH: the site configuration)\n"
	      "exit status of run: the job's; 128+N if killed by signal N;\n"
	      "  125 gridrun error, 126 not executable, 127 not found\n", out);
}

static int fail(struct gr_error *e)
{
	fprintf(stderr, "gridrun: %s\n", e && e->msg ? e->msg : "unknown error");
	return gr_error_exit_code(e);
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

static const char *arg_config;            /* --config PATH */
static const char *arg_spec_name;         /* run --spec-name NAME */
static bool arg_json;                     /* ps --format json */
static struct gr_config *site_config;     /* loaded once, in main() */
static const struct gr_lease *run_lease;  /* the job's lease, for its state */
static struct gr_lease_gc_stats lease_gc; /* what gc did to leases */

/* The job's state entry as it stands (state.h owns the format). */
static char *state_json(const char *job_id, const struct gr_spec *spec, pid_t pid,
			const struct gr_cgroup *cg, const struct gr_run_result *res)
{
	const char *paths[GR_JOB_STATE_CGROUPS_MAX];
	struct gr_job_state st = {
		.job_id = (char *)job_id,
		.supervisor_pid = getpid(),
		.supervisor_start = gr_proc_starttime(getpid()),
		.spec = (char *)spec->file,
		.pid = pid > 0 ? pid : 0,
		.pid_start = pid > 0 ? gr_proc_starttime(pid) : 0,
		.account = (char *)spec->account,
		.bundle = (char *)gr_oci_bundle(),   /* `gridrun run [--bundle B] ID` (oci.h) */
		.has_lease = run_lease != NULL,
	};
	char *text;

	if (run_lease) {
		st.lease.pool = (char *)run_lease->pool;
		st.lease.index = run_lease->index;
		st.lease.first = run_lease->first;
		st.lease.count = run_lease->count;
	}
	if (cg) {
		st.cgroup_version = gr_cgroup_version(cg);
		st.ncgroups = gr_cgroup_paths(cg, paths, ARRAY_SIZE(paths));
		memcpy(st.cgroups, paths, sizeof(paths));
		st.freezer = (char *)gr_cgroup_freezer_path(cg);
	}
	if (res) {
		st.has_layers = true;
		st.landlock = res->landlock;
		st.lsm = res->lsm.loaded;
	}
	/* st borrows every string: no gr_job_state_free() */
	if (gr_job_state_format(&st, &text, NULL) < 0)
		return NULL;
	return text;
}

struct run_ctx {
	const char *state_dir;
	const char *job_id;
	const struct gr_spec *spec;
	const struct gr_run_result *res;   /* gr_run()'s, for the state's layers */
};

/* Optional limits this node cannot enforce, one line each. (No state
 * write here: a crash before the job starts leaves a cgroup that gc finds
 * by its name.) */
static int on_cgroup_ready(void *data, const struct gr_cgroup *cg, struct gr_error **err)
{
	struct run_ctx *c = data;
	const char *na = gr_cgroup_not_applied(cg);

	(void)err;
	for (const char *l = na; l && *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != '\0'))
		fprintf(stderr, "gridrun: job %s: optional limit not applied: %.*s\n", c->job_id,
			(int)strcspn(l, "\n"), l);
	return 0;
}

static int on_started(void *data, pid_t pid, int pidfd, const struct gr_cgroup *cg, struct gr_error **err)
{
	struct run_ctx *c = data;
	_cleanup_free_ char *json = state_json(c->job_id, c->spec, pid, cg, c->res);

	(void)pidfd;
	/* OCI --pid-file (oci.h) */
	if (gr_oci_started(pid, err) < 0)
		return -EIO;
	return gr_state_update(c->state_dir, c->job_id, json, err);
}

/* gc: a stale entry's cgroups go with it (only gridrun-* job dirs); if one
 * cannot go yet, the entry stays so that the next gc tries again. */
static int remove_stale_cgroups(const struct gr_job_state *st)
{
	int r = 0;

	for (size_t i = 0; i < st->ncgroups; i++) {
		_cleanup_gr_error_ struct gr_error *e = NULL;

		if (gr_cgroup_remove_path(st->cgroups[i], &e) < 0) {
			fprintf(stderr, "gridrun: gc: %s, keeping its state for the next gc\n", e->msg);
			r = -EBUSY;
		}
	}
	/* killed before the state named its cgroup: find it by its name */
	if (st->job_id) {
		_cleanup_gr_error_ struct gr_error *e = NULL;

		if (gr_cgroup_remove_job(st->job_id, &e) < 0) {
			fprintf(stderr, "gridrun: gc: %s, keeping its state for the next gc\n", e->msg);
			r = -EBUSY;
		}
	}
	return r;
}

/* run, ps and gc take --config PATH (or --config=PATH) anywhere after the
 * command, run also --spec-name NAME (or --spec-name=NAME). */
static int take_options(int argc, char **argv)
{
	bool run = !strcmp(argv[1], "run");
	int n = 2;

	if (!run && strcmp(argv[1], "ps") && strcmp(argv[1], "gc"))
		return argc;
	for (int i = 2; i < argc; i++) {
		if (!strncmp(argv[i], "--config=", 9)) {
			arg_config = argv[i] + 9;
		} else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			arg_config = argv[++i];
		} else if (run && !strncmp(argv[i], "--spec-name=", 12)) {
			arg_spec_name = argv[i] + 12;
		} else if (run && !strcmp(argv[i], "--spec-name") && i + 1 < argc) {
			arg_spec_name = argv[++i];
		} else if (run && gr_oci_take_run_option(argc, argv, &i)) {
			/* --bundle, -b, --pid-file (oci.h) */
		} else if (!strcmp(argv[1], "ps") && (!strcmp(argv[i], "--format=json") ||
			   (!strcmp(argv[i], "--format") && i + 1 < argc && !strcmp(argv[i + 1], "json") && ++i))) {
			arg_json = true;
		} else if (!strcmp(argv[1], "ps") && (!strcmp(argv[i], "--format=table") ||
			   (!strcmp(argv[i], "--format") && i + 1 < argc && !strcmp(argv[i + 1], "table") && ++i))) {
			arg_json = false;
		} else {
			argv[n++] = argv[i];
		}
	}
	argv[n] = NULL;
	return n;
}

/* The site configuration; as root, its state_dir and cgroup_base apply
 * unless the environment (tests) names others. */
static int load_site_config(bool run_cmd, struct gr_error **err)
{
	/* run: the pools' NSS checks only when the spec leases (check_pool()) */
	int r = gr_config_load_cli_flags(arg_config, run_cmd ? GR_CONFIG_IDS_LATER : 0, &site_config, err);

	if (r == 0 && geteuid() == 0 && site_config->state_dir)
		setenv("GRIDRUN_STATE_DIR", site_config->state_dir, 0);
	if (r == 0 && geteuid() == 0)
		gr_cgroup_set_base(site_config->cgroup_base);
	return r;
}

struct job_lease {
	const struct gr_pool *pool;  /* NULL: the spec names no pool, or via_helper */
	bool via_helper;             /* not root: gridrun-helper leases and maps (helper.h) */
	struct gr_lease lease;
	struct gr_uid_range range;
	bool held;
};

/* gridrun.pool, checked before anything is created. */
static int check_pool(const struct gr_spec *spec, const struct gr_pool **pool, struct gr_error **err)
{
	*pool = NULL;
	if (!spec->pool)
		return 0;
	/* S20: what a job writes through a rw bind of a host directory would
	 * stay the range's, out of reach of the sandbox's walk back */
	for (size_t i = 0; i < spec->nmounts; i++)
		if (spec->mounts[i].type == GR_MOUNT_BIND && !(spec->mounts[i].flags & GR_MNT_RDONLY))
			return gr_error_set(err, EPERM, "%s: mounts[%zu]: a read-write bind of `%s` is refused "
					    "with a leased range (gridrun.pool): files the job left there "
					    "would stay the range's; add \"ro\"", spec->file, i,
					    spec->mounts[i].source);
	if (geteuid() != 0) {
		/* helper mode: the helper leases for the caller's own account */
		struct passwd *pw = getpwuid(getuid());

		if (spec->account && (!pw || strcmp(pw->pw_name, spec->account)))
			return gr_error_set(err, EPERM, "%s: gridrun.account: `%s` is not the caller's "
					    "account; gridrun-helper leases only for the caller's own",
					    spec->file, spec->account);
		return 0;
	}
	/* the configuration's own error, as ps and gc give it */
	if (gr_config_check_ids(site_config, err) < 0)
		return -EINVAL;
	if (gr_config_pool_for(site_config, spec->pool, spec->account, pool, err) < 0)
		return gr_error_prefix(err, "%s", spec->file);
	return 0;
}

static void release_job_lease(struct job_lease *jl)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;
	int r;

	if (!jl->held)
		return;
	/* gr_run() left no process of the job: the range goes to quarantine */
	r = jl->via_helper ? gr_helper_release(jl->lease.pool, jl->lease.index, &e) :
			     gr_lease_release(jl->pool, &jl->lease, &e);
	if (r < 0)
		fprintf(stderr, "gridrun: %s, ignoring (gridrun gc reclaims it)\n", e->msg);
	else if (r > 0)   /* released, but what the job left is not settled (lease.h) */
		fprintf(stderr, "gridrun: %s\n", e->msg);
	jl->held = false;
	run_lease = NULL;
}

/* Lease a range, held by this supervisor, and name it in the job's state. */
static int lease_for_job(const struct gr_spec *spec, const char *state_dir, const char *job_id,
			 struct job_lease *jl, struct gr_error **err)
{
	_cleanup_free_ char *json = NULL;
	int r;

	if (jl->via_helper)
		r = gr_helper_lease(spec->pool, job_id, &jl->lease, err);
	else
		r = gr_lease_acquire(jl->pool, spec->account, job_id, getpid(), &jl->lease, err);
	if (r < 0)
		return r;
	jl->held = true;
	gr_lease_range(&jl->lease, &jl->range);
	run_lease = &jl->lease;
	json = state_json(job_id, spec, 0, NULL, NULL);
	r = json ? gr_state_update(state_dir, job_id, json, err) : gr_error_sys(err, ENOMEM, "state");
	if (r < 0)
		release_job_lease(jl);
	return r;
}

/* helper mode: gridrun-helper writes the maps of the job's init, which must
 * be exactly our lease (it checks that too). */
static int helper_write_maps(void *data, pid_t pid, int pidfd, const struct gr_userns_plan *plan,
			     struct gr_error **err)
{
	const struct job_lease *jl = data;

	(void)plan;
	return gr_helper_map(jl->lease.pool, jl->lease.index, pid, pidfd, err);
}

/* A pool's gc: lease.c's as root, gridrun-helper's otherwise. */
static int gc_pool(const struct gr_pool *p, struct gr_lease_gc_stats *st, struct gr_error **err)
{
	return geteuid() == 0 ? gr_lease_gc(p, st, err) : gr_helper_gc(p->name, st, err);
}

/* gc: a stale entry's lease goes to quarantine with its cgroups; gr_lease_gc()
 * reclaims exactly the leases whose holder is dead, this supervisor's too. */
static int on_stale_entry(void *data, const char *json)
{
	const struct gr_config *cfg = data;
	_cleanup_gr_job_state_ struct gr_job_state st = { 0 };
	int r;

	if (gr_job_state_parse(json, GR_JOB_STATE_PARTIAL, &st, NULL) < 0)
		return 0;
	r = remove_stale_cgroups(&st);
	if (st.has_lease) {
		_cleanup_gr_error_ struct gr_error *e = NULL;
		const struct gr_pool *p = gr_config_pool(cfg, st.lease.pool);

		if (!p)
			fprintf(stderr, "gridrun: gc: pool `%s` of a stale job's lease is not configured, ignoring\n",
				st.lease.pool);
		else if (gc_pool(p, &lease_gc, &e) < 0)
			fprintf(stderr, "gridrun: gc: %s, ignoring\n", e->msg);
	}
	return r;
}

/*
 * The node-wide copy of the record, DIR/records/<job-id>.json (state.h), for
 * gridrun-exporter's per-account counters: written whether or not the spec
 * asked for a record, atomically but without fsync (the state dir is
 * /run: a crash loses it anyway), 0644 as the state is (nothing secret), and
 * before the job's state entry goes, so that a copy whose job is no longer
 * listed is final. Its keys: the record's, then account and pool. `gridrun
 * gc` prunes copies older than an hour.
 */
static void write_record_copy(const char *state_dir, const char *job_id, const struct gr_spec *spec,
			      const struct gr_run_result *res)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;
	_cleanup_free_ char *text = gr_record_format(job_id, res), *out = NULL, *dir = NULL, *path = NULL;
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;

	if (o) {
		json_object_set_new(o, "account", spec->account ? json_string(spec->account) : json_null());
		json_object_set_new(o, "pool", spec->pool ? json_string(spec->pool) : json_null());
		out = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
		json_decref(o);
	}
	if (!out || asprintf(&dir, "%s/" GR_STATE_RECORDS, state_dir) < 0 ||
	    asprintf(&path, "%s/%s.json", dir, job_id) < 0) {
		fprintf(stderr, "gridrun: record copy of job %s: out of memory, ignoring\n", job_id);
		return;
	}
	if (mkdir(dir, 0755) == 0)
		(void)!chmod(dir, 0755);
	if (gr_write_file_replace(path, out, 0644, &e) < 0 || chmod(path, 0644) < 0)
		fprintf(stderr, "gridrun: record copy `%s`: %s, ignoring\n", path, e ? e->msg : strerror(errno));
}

/* gc: record copies (and temp files) older than an hour. */
static unsigned prune_record_copies(const char *state_dir)
{
	_cleanup_free_ char *dir = NULL;
	time_t cutoff = time(NULL) - 3600;
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	if (asprintf(&dir, "%s/" GR_STATE_RECORDS, state_dir) < 0 || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] != '.' && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    !S_ISDIR(st.st_mode) && st.st_mtime < cutoff && unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static int cmd_run(const char *path, const char *oci_id)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	_cleanup_gr_spec_ struct gr_spec *spec = NULL;
	_cleanup_free_ char *state_dir = NULL, *job_id = NULL, *json = NULL;
	struct gr_run_result res;
	struct run_ctx ctx;
	struct gr_run_hooks hooks = { .cgroup_ready = on_cgroup_ready, .started = on_started, .data = &ctx };
	struct job_lease jl = { 0 };
	struct gr_job_handover jh;
	/* the record's directory, opened before the job (record.h, S31) */
	__attribute__((cleanup(gr_record_close))) struct gr_record_dest rec = GR_RECORD_DEST_INIT;
	struct gr_state_gc_stats gc;
	sigset_t sigs;
	int r, status;

	if (gr_spec_load_file(path, arg_spec_name, &spec, &err) < 0) {
		fprintf(stderr, "%s\n", err->msg);
		return GR_EXIT_ERROR;
	}
	/* OCI keys accepted but not honoured: one notice line each (spec-oci.c) */
	for (unsigned b = 1; b; b <<= 1)
		if ((spec->ignored & b) && gr_spec_notice_text(b))
			fprintf(stderr, "gridrun: notice: %s: %s\n", spec->file, gr_spec_notice_text(b));
	if (check_supported(spec, &err) < 0 || gr_record_open(spec, &rec, &err) < 0 ||
	    check_pool(spec, &jl.pool, &err) < 0)
		return fail(err);
	apply_site_defaults(spec, site_config);
	jl.via_helper = spec->pool && geteuid() != 0;
	if (oci_id) {   /* `gridrun run ID` (oci.h) */
		job_id = strdup(oci_id);
	} else if (spec->job_id) {
		job_id = strdup(spec->job_id);
	} else {
		unsigned long long rnd = 0;

		(void)!getrandom(&rnd, sizeof(rnd), 0);
		(void)!asprintf(&job_id, "gr-%016llx", rnd);
	}
	if (!job_id)
		return fail(NULL);
	if (gr_state_dir(&state_dir, &err) < 0 ||
	    gr_state_gc_if_due(state_dir, &gc, on_stale_entry, site_config, &err) < 0)
		return fail(err);
	if (getenv("GRIDRUN_DEBUG"))
		fprintf(stderr, "gridrun: debug: job %s: state gc %s: %u entries, %u after the last gc, "
			"%u read, %u removed\n", job_id, gc.ran ? "ran" : "skipped", gc.entries, gc.last,
			gc.read, gc.removed);
	/*
	 * From the claim to exit the supervisor's signals stay blocked (gr_run()
	 * reads them from a signalfd while the job runs): one that arrives
	 * while it tears down, or while the record and the state are written,
	 * stays pending and dies with the process, which exits with the job's
	 * status having written its record and removed its state. One that
	 * arrives before the job starts reaches the job when it does.
	 */
	gr_run_signals(&sigs);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	json = state_json(job_id, spec, 0, NULL, NULL);
	if (gr_state_claim(state_dir, job_id, json, &err) < 0)
		return fail(err);
	if ((jl.pool || jl.via_helper) && lease_for_job(spec, state_dir, job_id, &jl, &err) < 0) {
		gr_state_release(state_dir, job_id);
		return fail(err);
	}
	hooks.range = jl.held ? &jl.range : NULL;
	if (jl.held && jl.via_helper) {
		hooks.write_maps = helper_write_maps;
		hooks.maps_data = &jl;
	}
	/* the sandbox to the leased range (handover.h) */
	if (gr_job_handover_begin(&jh, spec->sandbox, jl.pool, jl.held ? &jl.lease : NULL, jl.via_helper,
				  site_config ? site_config->handover : GR_HANDOVER_AUTO, spec->uid, spec->gid,
				  &err) < 0) {
		release_job_lease(&jl);
		gr_state_release(state_dir, job_id);
		return fail(err);
	}
	hooks.sandbox_mnt = jh.mntfd >= 0 ? &jh.mntfd : NULL;
	hooks.landlock_off = site_config && site_config->landlock_off;

	ctx = (struct run_ctx){ .state_dir = state_dir, .job_id = job_id, .spec = spec, .res = &res };
	r = gr_run(spec, job_id, &hooks, &res, &err);
	gr_job_handover_end(&jh);
	if (getenv("GRIDRUN_DEBUG")) {
		char ll[256];

		fprintf(stderr, "gridrun: debug: job %s: sandbox hand-over %s, %lu entries, %.3f ms\n", job_id,
			jh.way, jh.changed, jh.ns / 1e6);
		fprintf(stderr, "gridrun: debug: job %s: landlock: %s\n", job_id,
			gr_landlock_describe(res.landlock, ll, sizeof(ll)));
		gr_lsm_debug(job_id, &res.lsm);   /* lsm.h: the BPF LSM's denials */
	}
	release_job_lease(&jl);
	status = r < 0 ? gr_error_exit_code(err) : gr_run_exit_status(&res);
	if (r < 0) {
		res.exit_code = status;
		fail(err);
		gr_error_free(TAKE_PTR(err));
	}
	if (r >= 0 && getenv("GRIDRUN_DEBUG") && res.have_rusage)
		fprintf(stderr, "gridrun: debug: job %s: init used %llu ns of CPU\n", job_id,
			(unsigned long long)(res.main.init_utime_ns + res.main.init_stime_ns));
	if (getenv("GRIDRUN_DEBUG"))
		fprintf(stderr, "gridrun: debug: job %s: timeline ms: cloned %.3f, maps %.3f, exec %.3f, "
			"ended %.3f, init gone %.3f, cgroup removed %.3f\n", job_id,
			res.t_clone / 1e6, res.t_maps / 1e6, res.t_exec / 1e6, res.t_result / 1e6,
			res.t_exit / 1e6, res.t_done / 1e6);
	/* what ended or limited the job, said once for the batch system's log */
	if (r >= 0 && res.reason == GR_REASON_OOM)
		fprintf(stderr, "gridrun: job %s was killed by the kernel's OOM killer (memory limit)\n", job_id);
	if (r >= 0 && res.cg.pids_max_hits)
		fprintf(stderr, "gridrun: job %s hit its pids limit: %llu fork(s) refused\n", job_id,
			(unsigned long long)res.cg.pids_max_hits);
	if (gr_record_write(&rec, job_id, &res, &err) < 0) {
		fail(err);
		if (r >= 0)
			status = GR_EXIT_ERROR;
	}
	write_record_copy(state_dir, job_id, spec, &res);
	gr_state_release(state_dir, job_id);
	return status;
}

static void ps_line(void *data, const char *job_id, const char *json, bool alive)
{
	_cleanup_gr_job_state_ struct gr_job_state st = { 0 };

	(void)data;
	gr_job_state_parse(json, GR_JOB_STATE_PARTIAL, &st, NULL);
	printf("%-24s %8lld  %-7s %s\n", job_id, (long long)st.pid, alive ? "running" : "stale",
	       st.spec ? st.spec : "-");
}

static void ps_json(void *data, const char *job_id, const char *json, bool alive)
{
	_cleanup_gr_job_state_ struct gr_job_state st = { 0 };
	json_t *all = data;

	gr_job_state_parse(json, GR_JOB_STATE_PARTIAL, &st, NULL);
	json_array_append_new(all, json_pack("{s:s, s:I, s:s, s:s?}", "job_id", job_id, "pid", (json_int_t)st.pid,
					     "state", alive ? "running" : "stale", "spec", st.spec));
}

static int cmd_ps(void)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	_cleanup_free_ char *dir = NULL;

	if (gr_state_dir(&dir, &err) < 0)
		return fail(err);
	if (arg_json) {
		json_t *all = json_array();
		int r = all ? gr_state_list(dir, ps_json, all, &err) : gr_error_sys(&err, ENOMEM, "ps");

		if (r >= 0 && json_dumpf(all, stdout, JSON_INDENT(2)) == 0)
			putchar('\n');
		json_decref(all);
		return r < 0 ? fail(err) : 0;
	}
	printf("%-24s %8s  %-7s %s\n", "JOB", "PID", "STATE", "SPEC");
	if (gr_state_list(dir, ps_line, NULL, &err) < 0)
		return fail(err);
	if (gr_lease_report(stdout, site_config, &err) < 0)
		fprintf(stderr, "gridrun: ps: %s, ignoring\n", err->msg);
	return 0;
}

static int cmd_gc(void)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	_cleanup_free_ char *dir = NULL;
	unsigned removed = 0;

	if (gr_state_dir(&dir, &err) < 0 || gr_state_gc(dir, &removed, on_stale_entry, site_config, &err) < 0)
		return fail(err);
	printf("gridrun gc: removed %u stale state entr%s\n", removed, removed == 1 ? "y" : "ies");
	removed = prune_record_copies(dir);
	if (removed)
		printf("gridrun gc: removed %u record cop%s older than an hour\n", removed, removed == 1 ? "y" : "ies");
	if (site_config->npools) {
		if (geteuid() == 0 && gr_lease_gc_all(site_config, &lease_gc, &err) < 0)
			return fail(err);
		/* a pilot's gc: only the pools its account may lease from (the
		 * helper refuses the others; they are not this pilot's business) */
		struct passwd *pw = geteuid() != 0 ? getpwuid(getuid()) : NULL;

		for (size_t i = 0; geteuid() != 0 && i < site_config->npools; i++) {
			_cleanup_gr_error_ struct gr_error *e = NULL;

			if (!pw || gr_pool_check_account(&site_config->pools[i], pw->pw_name, &e) < 0)
				continue;
			if (gc_pool(&site_config->pools[i], &lease_gc, &err) < 0)
				return fail(err);
		}
		printf("gridrun gc: reclaimed %u lease(s) of dead holders, ended %u quarantine(s)\n",
		       lease_gc.reclaimed, lease_gc.freed);
	}
	return 0;
}

/* The entry of a running job, for suspend, resume and kill. */
static int read_job_state(const char *job_id, struct gr_job_state *st, struct gr_error **err)
{
	_cleanup_free_ char *dir = NULL, *text = NULL;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = gr_state_dir(&dir, err)) < 0 || (r = gr_state_read(dir, job_id, &text, err)) < 0)
		return r;
	/* an entry of the wrong shape: no supervisor to ask (as before: ESRCH below) */
	gr_job_state_parse(text, GR_JOB_STATE_PARTIAL, st, NULL);
	return 0;
}

/* gridrun suspend|resume ID: freeze the job's cgroup, or ask its supervisor. */
static int cmd_suspend(const char *job_id, bool frozen)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	_cleanup_gr_job_state_ struct gr_job_state st = { 0 };
	int r = 0;

	if (read_job_state(job_id, &st, &err) < 0)
		return fail(err);
	errno = 0;
	if (st.freezer && st.cgroup_version)
		r = gr_cgroup_freeze_path(st.cgroup_version, st.freezer, frozen, &err);
	else if (st.supervisor_pid <= 0 || kill(st.supervisor_pid, frozen ? SIGTSTP : SIGCONT) < 0)
		r = gr_error_sys(&err, errno ? errno : ESRCH, "signal the supervisor of `%s`", job_id);
	return r < 0 ? fail(err) : 0;
}

/* gridrun kill ID SIG: the job's supervisor forwards it (TERM/INT start the grace period). */
static int cmd_kill(const char *job_id, const char *signame)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	_cleanup_gr_job_state_ struct gr_job_state st = { 0 };
	int sig;

	sig = gr_oci_signal(signame);   /* one signal table: oci.c's */
	if (sig <= 0) {
		gr_error_set(&err, EINVAL, "unknown signal `%s`", signame);
		return fail(err);
	}
	if (read_job_state(job_id, &st, &err) < 0)
		return fail(err);
	errno = 0;
	if (st.supervisor_pid <= 0 || kill(st.supervisor_pid, sig) < 0) {
		gr_error_sys(&err, errno ? errno : ESRCH, "signal the supervisor of `%s`", job_id);
		return fail(err);
	}
	return 0;
}

/* The filter of a profile, for review (gr-seccomp.h says which file a name is). */
static int cmd_seccomp_dump(const char *profile)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;

	fflush(stdout);
	if (gr_seccomp_dump(profile, STDOUT_FILENO, &err) < 0)
		return fail(err);
	return 0;
}

static int cmd_check(void)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;

	if (gr_check_report(stdout, getenv("GRIDRUN_KCONFIG"), &err) < 0)
		return fail(err);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int r;

	if (!cmd) {
		usage(stderr);
		return GR_EXIT_ERROR;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("gridrun %s\n", GRIDRUN_VERSION);
		return 0;
	}
	r = gr_cli_words(argc, argv);
	if (r != -1)
		return r;
	if (strcmp(cmd, "check") && strcmp(cmd, "seccomp")) {
		_cleanup_gr_error_ struct gr_error *err = NULL;

		argc = take_options(argc, argv);
		if (load_site_config(!strcmp(cmd, "run") || (argc == 2 && cmd[0] != '-' &&
						      strcmp(cmd, "ps") && strcmp(cmd, "gc")), &err) < 0)
			return fail(err);
	}
	r = gr_oci_main(argc, argv);   /* state, delete, kill --all (oci.h) */
	if (r != -1)
		return r;
	r = gr_cli_unknown_option(argc, argv);
	if (r != -1)
		return r;
	if (!strcmp(cmd, "run")) {
		_cleanup_gr_error_ struct gr_error *err = NULL;
		_cleanup_free_ char *path = NULL;
		const char *oci_id;

		if (argc != 3 || (arg_spec_name && !*arg_spec_name)) {
			usage(stderr);
			return GR_EXIT_ERROR;
		}
		/* SPEC.json, or an OCI container id and its bundle (oci.h) */
		if (gr_oci_run_target(argv[2], &path, &oci_id, &err) < 0)
			return fail(err);
		return cmd_run(path, oci_id);
	}
	if (argc == 2 && !strcmp(cmd, "check"))
		return cmd_check();
	if (argc == 2 && !strcmp(cmd, "ps"))
		return cmd_ps();
	if (argc == 2 && !strcmp(cmd, "gc"))
		return cmd_gc();
	if (argc == 3 && (!strcmp(cmd, "suspend") || !strcmp(cmd, "resume")))
		return cmd_suspend(argv[2], !strcmp(cmd, "suspend"));
	if (argc == 4 && !strcmp(cmd, "kill"))
		return cmd_kill(argv[2], argv[3]);
	if (argc == 4 && !strcmp(cmd, "seccomp") && !strcmp(argv[2], "dump"))
		return cmd_seccomp_dump(argv[3]);
	if (argc == 2 && cmd[0] != '-' && strcmp(cmd, "check") && strcmp(cmd, "ps") && strcmp(cmd, "gc") &&
	    strcmp(cmd, "suspend") && strcmp(cmd, "resume") && strcmp(cmd, "kill") &&
	    strcmp(cmd, "seccomp"))
		return cmd_run(cmd, NULL);
	usage(stderr);
	return GR_EXIT_ERROR;
}
