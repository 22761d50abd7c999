/* SPDX-License-Identifier: GPL-2.0-or-later */
/* priv.c - the two privilege backends of a job (priv.h). */
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#include "handover.h"
#include "helper.h"
#include "lease.h"
#include "lsm.h"
#include "priv.h"
#include "spec.h"
#include "userns.h"
#include "util.h"

static int root_may_lease(const struct gr_spec *spec, struct gr_config *cfg, const struct gr_pool **pool,
			  struct gr_error **err)
{
	if (!cfg)
		return gr_error_set(err, EINVAL, "%s: gridrun.pool: no site configuration", spec->file);
	/* the configuration's own error, as ps and gc give it */
	if (gr_config_check_ids(cfg, err) < 0)
		return -EINVAL;
	if (gr_config_pool_for(cfg, spec->pool, spec->account, pool, err) < 0)
		return gr_error_prefix(err, "%s", spec->file);
	return 0;
}

/* A hand-over that failed after the lease: the lease goes again (its
 * release walks back what a chown noted), the hand-over's error stays. */
static int undo_lease(const struct gr_pool *pool, const struct gr_lease *lease, int r)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;

	(void)gr_lease_release(pool, lease, &e);   /* not released: gc reclaims it */
	return r;
}

static int root_lease(const struct gr_pool *pool, const char *pool_name, const char *account,
		      const char *job_id, struct gr_lease *lease, struct gr_job_handover *jh,
		      struct gr_error **err)
{
	struct gr_handover_count n = { 0 };
	int r, handed = 0;

	(void)pool_name;
	/* held by this supervisor: a lease whose holder died is gc's */
	r = gr_lease_acquire(pool, account, job_id, getpid(), lease, err);
	if (r < 0 || !jh || jh->dirfd < 0)
		return r;
	r = gr_handover_plan(jh->owner, jh->group, lease->first, lease->count, jh->u, jh->g, &jh->h, err);
	if (r == 0) {
		r = gr_job_handover_start(jh->dirfd, &jh->h, jh->want, pool, lease, &jh->mntfd, &n, err);
		handed = 1;
	}
	if (r < 0)
		return undo_lease(pool, lease, gr_error_prefix(err, "sandbox `%s`", jh->path));
	gr_job_handover_done(jh, handed, &n);
	return 0;
}

static int root_release(const struct gr_pool *pool, const struct gr_lease *lease, struct gr_job_handover *jh,
			struct gr_lsm_denials *den, struct gr_error **err)
{
	if (den)
		memset(den, 0, sizeof(*den));
	if (jh && jh->dirfd >= 0) {
		_cleanup_gr_error_ struct gr_error *e = NULL;
		unsigned long long t0 = gr_now_ns();
		struct gr_handover_count n = { 0 };
		/* no process left with the range's ids can add files behind the walk */
		int r = gr_lease_kill_holders(lease->first, lease->count, &e);

		if (r >= 0)
			r = gr_handover_chown(jh->dirfd, &jh->h, true, &n, &e);
		/* walked back: no walk back is owed any more (lease.h); one that did
		 * not finish is the release's own walk back of the noted sandbox,
		 * which blocks the range if it cannot finish either */
		if (r >= 0)
			(void)gr_lease_note_sandbox(pool, lease, NULL, &e);
		gr_job_handover_walked(jh, t0, n.changed);
	}
	return gr_lease_release(pool, lease, err);
}

static int root_gc(const struct gr_pool *pool, struct gr_lease_gc_stats *st, struct gr_error **err)
{
	return gr_lease_gc(pool, st, err);
}

static int root_gc_all(const struct gr_config *cfg, struct gr_lease_gc_stats *st, struct gr_error **err)
{
	return gr_lease_gc_all(cfg, st, err);
}

const struct gr_priv_ops gr_priv_root = {
	.name = "root",
	.may_lease = root_may_lease,
	.lease = root_lease,
	.map = NULL,   /* the supervisor's gr_userns_from_parent() */
	.release = root_release,
	.gc = root_gc,
	.gc_all = root_gc_all,
};

/* The helper leases for the caller's own account, from its own configuration. */
static int helper_may_lease(const struct gr_spec *spec, struct gr_config *cfg, const struct gr_pool **pool,
			    struct gr_error **err)
{
	struct passwd *pw = getpwuid(getuid());

	(void)cfg;
	*pool = NULL;
	if (spec->account && (!pw || strcmp(pw->pw_name, spec->account)))
		return gr_error_set(err, EPERM, "%s: gridrun.account: `%s` is not the caller's "
				    "account; gridrun-helper leases only for the caller's own",
				    spec->file, spec->account);
	return 0;
}

/* One helper run: the lease (and with pid > 0 the maps of pid, lease-map),
 * and the sandbox when it is the caller's (the helper would refuse
 * another's; root mode hands over any owner's). */
static int lease_run(const char *pool_name, const char *job_id, pid_t pid, int pidfd, struct gr_lease *lease,
		     struct gr_job_handover *jh, struct gr_lsm_reg *reg, struct gr_error **err)
{
	struct gr_handover_count n = { 0 };
	bool handed = jh && jh->dirfd >= 0 && jh->owner == getuid();
	int r;

	if (pid > 0)
		r = gr_helper_lease_map(pool_name, job_id, pid, pidfd, handed ? jh->dirfd : -1, handed ? jh->u : 0,
					handed ? jh->g : 0, handed ? &jh->mntfd : NULL, handed ? &n : NULL, lease,
					reg, err);
	else if (handed)
		r = gr_helper_lease(pool_name, job_id, jh->dirfd, jh->u, jh->g, &jh->mntfd, &n, lease, err);
	else
		r = gr_helper_lease(pool_name, job_id, -1, 0, 0, NULL, NULL, lease, err);
	if (r >= 0 && jh)
		gr_job_handover_done(jh, handed, &n);
	/* the helper says "sandbox: WHY" of the hand-over (it knows fd 3 only) */
	if (r < 0 && handed && *err && (*err)->msg && !strncmp((*err)->msg, "sandbox: ", 9)) {
		_cleanup_gr_error_ struct gr_error *e = TAKE_PTR(*err);

		r = gr_error_set(err, e->errnum, "sandbox `%s`: %s", jh->path, e->msg + 9);
		(*err)->code = e->code;
	}
	return r;
}

static int helper_lease(const struct gr_pool *pool, const char *pool_name, const char *account,
			const char *job_id, struct gr_lease *lease, struct gr_job_handover *jh,
			struct gr_error **err)
{
	(void)pool;
	(void)account;
	return lease_run(pool_name, job_id, 0, -1, lease, jh, NULL, err);
}

/* The helper checks pid as map does, and that the maps are exactly the lease it took. */
static int helper_lease_map(const char *pool_name, const char *job_id, pid_t pid, int pidfd,
			    struct gr_lease *lease, struct gr_job_handover *jh, struct gr_lsm_reg *reg,
			    struct gr_error **err)
{
	if (pid <= 0 || pidfd < 0)
		return gr_error_set(err, EINVAL, "lease-map: no process to map");
	return lease_run(pool_name, job_id, pid, pidfd, lease, jh, reg, err);
}

/* The helper checks that the maps are exactly the caller's lease. */
static int helper_map(const struct gr_lease *lease, pid_t pid, int pidfd, const struct gr_userns_plan *plan,
		      struct gr_error **err)
{
	(void)plan;
	return gr_helper_map(lease->pool, lease->index, pid, pidfd, err);
}

static int helper_lsm_add(const struct gr_lease *lease, pid_t pid, int pidfd, struct gr_lsm_reg *reg,
			  struct gr_error **err)
{
	return gr_helper_lsm_add(lease->pool, lease->index, pid, pidfd, reg, err);
}

/* One helper run: the chown's walk back through the sandbox (fd 3), then the release. */
static int helper_release(const struct gr_pool *pool, const struct gr_lease *lease, struct gr_job_handover *jh,
			  struct gr_lsm_denials *den, struct gr_error **err)
{
	unsigned long long t0 = gr_now_ns();
	unsigned long n = 0;
	int r;

	(void)pool;
	if (!jh || jh->dirfd < 0)
		return gr_helper_release(lease->pool, lease->index, -1, NULL, den, err);
	r = gr_helper_release(lease->pool, lease->index, jh->dirfd, &n, den, err);
	gr_job_handover_walked(jh, t0, n);
	return r;
}

static int helper_gc(const struct gr_pool *pool, struct gr_lease_gc_stats *st, struct gr_error **err)
{
	return gr_helper_gc(pool->name, st, err);
}

/* A pilot's gc: only the pools its account may lease from (the helper
 * refuses the others; they are not this pilot's business). */
static int helper_gc_all(const struct gr_config *cfg, struct gr_lease_gc_stats *st, struct gr_error **err)
{
	struct passwd *pw = getpwuid(getuid());
	int r;

	for (size_t i = 0; i < cfg->npools; i++) {
		_cleanup_gr_error_ struct gr_error *e = NULL;

		if (!pw || gr_pool_check_account(&cfg->pools[i], pw->pw_name, &e) < 0)
			continue;
		if ((r = helper_gc(&cfg->pools[i], st, err)) < 0)
			return r;
	}
	return 0;
}

const struct gr_priv_ops gr_priv_helper = {
	.name = "helper",
	.may_lease = helper_may_lease,
	.lease = helper_lease,
	.map = helper_map,
	.lease_map = helper_lease_map,
	.lsm_add = helper_lsm_add,
	.release = helper_release,
	.gc = helper_gc,
	.gc_all = helper_gc_all,
};

const struct gr_priv_ops *gr_priv_choose(void)
{
	return geteuid() == 0 ? &gr_priv_root : &gr_priv_helper;
}
