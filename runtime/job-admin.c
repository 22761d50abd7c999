/* SPDX-License-Identifier: GPL-2.0-or-later */
/* job-admin.c - jobs by id and the node's housekeeping: ps, kill, suspend,
 * resume, gc and the CLI's site configuration (job.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "config.h"
#include "job-int.h"
#include "mnt-template.h"
#include "priv.h"
#include "state.h"
#include "util.h"

int gr_job_config_load(const char *path, unsigned use, struct gr_config **cfg, struct gr_error **err)
{
	/* run: the pools' NSS checks only when the spec leases (gr_job_prepare());
	 * gc as root: the full check that refreshes the stamp starts trust */
	unsigned flags = (use & GR_JOB_CONFIG_RUN) ? GR_CONFIG_IDS_LATER
			 : (use & GR_JOB_CONFIG_GC) && geteuid() == 0 ? GR_CONFIG_IDS_FULL : 0;
	int r = gr_config_load_cli_flags(path, flags, cfg, err);

	if (r == 0 && geteuid() == 0 && (*cfg)->state_dir)
		setenv("GRIDRUN_STATE_DIR", (*cfg)->state_dir, 0);
	if (r == 0 && geteuid() == 0)
		gr_cgroup_set_base((*cfg)->cgroup_base);
	return r;
}

int gr_job_gc_pool(const struct gr_pool *p, struct gr_lease_gc_stats *st, struct gr_error **err)
{
	return gr_priv_choose()->gc(p, st, err);
}

/* gc: a stale entry's cgroups go with it (only gridrun-* job dirs); if one
 * cannot go yet, the entry stays so that the next gc tries again. */
static int remove_stale_cgroups(const struct gr_job_state *st, struct gr_job_stale *c)
{
	const struct gr_job_options *opts = c->opts;
	int r = 0;

	for (size_t i = 0; i < st->ncgroups; i++) {
		_cleanup_gr_error_ struct gr_error *e = NULL;

		if (gr_cgroup_remove_path(st->cgroups[i], &e) < 0) {
			gr_job_say(opts, "gc: %s, keeping its state for the next gc", e->msg);
			r = -EBUSY;
		}
	}
	/* killed before the state named its cgroup: find it by its name */
	if (st->job_id) {
		_cleanup_gr_error_ struct gr_error *e = NULL;

		if (c->libcgroup && c->disc_state == 0)
			c->disc_state = gr_cg_discover(&c->disc, NULL) == 0 ? 1 : -1;
		if (gr_cgroup_remove_job(st->job_id, c->disc_state > 0 ? &c->disc : NULL, &e) < 0) {
			gr_job_say(opts, "gc: %s, keeping its state for the next gc", e->msg);
			r = -EBUSY;
		}
	}
	return r;
}

/* gc: a stale entry's job gets the record its supervisor never wrote
 * (job-lost.c), then its lease goes to quarantine with its cgroups;
 * gr_lease_gc() reclaims exactly the leases whose holder is dead, this
 * supervisor's too. */
int gr_job_on_stale(void *data, const char *json)
{
	struct gr_job_stale *c = data;
	_cleanup_gr_job_state_ struct gr_job_state st = { 0 };
	int r;

	if (gr_job_state_parse(json, GR_JOB_STATE_PARTIAL, &st, NULL) < 0)
		return 0;
	/* from the cgroup's counters: before it goes */
	gr_job_lost_record(c->state_dir, &st, c->opts);
	r = remove_stale_cgroups(&st, c);
	if (st.has_lease) {
		_cleanup_gr_error_ struct gr_error *e = NULL;
		const struct gr_pool *p = gr_config_pool(c->cfg, st.lease.pool);

		if (!p)
			gr_job_say(c->opts, "gc: pool `%s` of a stale job's lease is not configured, ignoring",
				   st.lease.pool);
		else if (gr_job_gc_pool(p, &c->lease_gc, &e) < 0)
			gr_job_say(c->opts, "gc: %s, ignoring", e->msg);
	}
	return r;
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

int gr_job_gc(const struct gr_config *cfg, const struct gr_job_options *opts, struct gr_job_gc_stats *out,
	      struct gr_error **err)
{
	struct gr_job_stale stale = { .cfg = cfg, .opts = opts, .libcgroup = true };
	_cleanup_free_ char *dir = NULL;
	int r, tstale = 0;

	memset(out, 0, sizeof(*out));
	r = gr_state_dir(&dir, err);
	stale.state_dir = dir;
	if (r == 0)
		r = gr_state_gc(dir, &out->removed, gr_job_on_stale, &stale, err);
	gr_cg_discovery_free(&stale.disc);
	if (r < 0)
		return r;
	out->swept = true;
	out->copies = prune_record_copies(dir);
	/* a template the mounts have moved away from (mnt-template.h) is
	 * remade, from the namespace it was made from only */
	if (geteuid() == 0 && (tstale = gr_mnt_template_stale(dir)) == 1) {
		_cleanup_gr_error_ struct gr_error *te = NULL;

		if (gr_mnt_template_make(dir, &te) == 0)
			out->template_remade = true;
		else
			gr_job_say(opts, "gc: %s", te->msg);
	} else if (tstale == 2) {
		gr_job_say(opts, "gc: the mount template was made from another mount namespace than this gc's; "
			   "not remade here (run `gridrun template` where jobs start)");
	}
	if (cfg->npools) {
		out->pools = true;
		if ((r = gr_priv_choose()->gc_all(cfg, &stale.lease_gc, err)) < 0)
			return r;
		out->reclaimed = stale.lease_gc.reclaimed;
		out->freed = stale.lease_gc.freed;
	}
	return 0;
}

int gr_job_template(bool remove, char **state_dir, struct gr_error **err)
{
	int r = gr_state_dir(state_dir, err);

	if (r < 0)
		return r;
	return remove ? gr_mnt_template_remove(*state_dir, err) : gr_mnt_template_make(*state_dir, err);
}

struct list_ctx {
	void (*cb)(void *data, const char *job_id, const struct gr_job_state *st, bool alive);
	void *data;
};

static void list_one(void *data, const char *job_id, const char *json, bool alive)
{
	struct list_ctx *c = data;
	_cleanup_gr_job_state_ struct gr_job_state st = { 0 };

	gr_job_state_parse(json, GR_JOB_STATE_PARTIAL, &st, NULL);
	c->cb(c->data, job_id, &st, alive);
}

int gr_job_list(void (*cb)(void *data, const char *job_id, const struct gr_job_state *st, bool alive),
		void *data, struct gr_error **err)
{
	struct list_ctx c = { .cb = cb, .data = data };
	_cleanup_free_ char *dir = NULL;
	int r;

	if ((r = gr_state_dir(&dir, err)) < 0)
		return r;
	return gr_state_list(dir, list_one, &c, err);
}

int gr_job_lease_report(FILE *out, const struct gr_config *cfg, struct gr_error **err)
{
	return gr_lease_report(out, cfg, err);
}

/* The parent pid of pid, or 0. */
static pid_t proc_ppid(pid_t pid)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (gr_read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0 || !(p = strrchr(text, ')')))
		return 0;
	/* ") S PPID": comm may hold anything, the fields after the last ')' not */
	return (pid_t)strtol(p + 3, NULL, 10);
}

/*
 * A pidfd of the job's init (its "pid"), for SIGKILL: the supervisor
 * cannot forward what it cannot catch, while a killed init takes the
 * whole PID namespace with it and the supervisor then ends the job as
 * usual (cgroup, record, state). Believed only when, after the pidfd is
 * open, the process started when recorded and is a child of the checked
 * supervisor (its uid is the lease's, not the owner's). Else -1.
 */
static int init_pidfd(const struct gr_job_state *st, int sup_pidfd)
{
	int fd = -1;

	if (st->pid > 0 && st->pid_start > 0 && st->supervisor_pid > 0) {
		fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
		if (fd >= 0 && (gr_proc_starttime(st->pid) != st->pid_start ||
				proc_ppid(st->pid) != st->supervisor_pid ||
				syscall(SYS_pidfd_send_signal, sup_pidfd, 0, NULL, 0) < 0)) {
			close(fd);
			fd = -1;
		}
	}
	return fd;
}

int gr_job_signal_pidfd(const struct gr_job_state *st, int sup_pidfd, int sig, bool kill_init,
			struct gr_error **err)
{
	_cleanup_close_ int ifd = sig == SIGKILL && kill_init ? init_pidfd(st, sup_pidfd) : -1;

	/* ESRCH: it ended meanwhile (as kill() of a zombie, no error) */
	if (syscall(SYS_pidfd_send_signal, ifd >= 0 ? ifd : sup_pidfd, sig, NULL, 0) < 0 && errno != ESRCH)
		return gr_error_sys(err, errno, "signal the %s of `%s`", ifd >= 0 ? "init" : "supervisor",
				    st->job_id ? st->job_id : "?");
	return 0;
}

/* A pidfd of the entry's supervisor, opened first and then checked by its
 * start time (no pid reuse between check and signal); else -1. */
static int supervisor_pidfd(const struct gr_job_state *st)
{
	int fd;

	if (st->supervisor_pid <= 0 || !st->supervisor_start)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, st->supervisor_pid, 0);
	if (fd >= 0 && gr_proc_starttime(st->supervisor_pid) != st->supervisor_start) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The entry of a running job, for suspend, resume and kill. */
static int read_job_state(const char *job_id, struct gr_job_state *st, struct gr_error **err)
{
	_cleanup_free_ char *dir = NULL, *text = NULL;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = gr_state_dir(&dir, err)) < 0 || (r = gr_state_read(dir, job_id, &text, err)) < 0)
		return r;
	/* an entry of the wrong shape: no supervisor to ask (ESRCH below) */
	gr_job_state_parse(text, GR_JOB_STATE_PARTIAL, st, NULL);
	return 0;
}

/* The supervisor that st names, through a checked pidfd. */
static int signal_supervisor(const struct gr_job_state *st, const char *job_id, int sig, struct gr_error **err)
{
	_cleanup_close_ int fd = supervisor_pidfd(st);

	if (fd < 0)
		return gr_error_sys(err, ESRCH, "signal the supervisor of `%s`", job_id);
	/* KILL to the job's init, which the supervisor outlives to clean up
	 * (a killed supervisor would leave the entry and cgroups to gc) */
	return gr_job_signal_pidfd(st, fd, sig, true, err);
}

/* Freeze the job's cgroup, or ask its supervisor (SIGTSTP/SIGCONT). */
int gr_job_freeze_id(const char *job_id, bool frozen, struct gr_error **err)
{
	_cleanup_gr_job_state_ struct gr_job_state st = { 0 };
	int r;

	if ((r = read_job_state(job_id, &st, err)) < 0)
		return r;
	if (st.freezer && st.cgroup_version)
		return gr_cgroup_freeze_path(st.cgroup_version, st.freezer, frozen, err);
	return signal_supervisor(&st, job_id, frozen ? SIGTSTP : SIGCONT, err);
}

/* The job's supervisor forwards it (TERM/INT start the grace period). */
int gr_job_signal_id(const char *job_id, int sig, struct gr_error **err)
{
	_cleanup_gr_job_state_ struct gr_job_state st = { 0 };
	int r;

	if ((r = read_job_state(job_id, &st, err)) < 0)
		return r;
	return signal_supervisor(&st, job_id, sig, err);
}
