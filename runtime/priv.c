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
#include "priv.h"
#include "spec.h"
#include "userns.h"

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

static int root_lease(const struct gr_pool *pool, const char *pool_name, const char *account,
		      const char *job_id, struct gr_lease *lease, struct gr_error **err)
{
	(void)pool_name;
	/* held by this supervisor: a lease whose holder died is gc's */
	return gr_lease_acquire(pool, account, job_id, getpid(), lease, err);
}

static int root_release(const struct gr_pool *pool, const struct gr_lease *lease, struct gr_error **err)
{
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

static int root_sandbox(struct gr_job_handover *jh, int dirfd, uid_t owner, gid_t group, uid_t u, gid_t g,
			struct gr_handover_count *n, struct gr_error **err)
{
	int r = gr_handover_plan(owner, group, jh->lease->first, jh->lease->count, u, g, &jh->h, err);

	if (r != 0)
		return r < 0 ? r : 0;
	r = gr_job_handover_start(dirfd, &jh->h, jh->want, jh->pool, jh->lease, &jh->mntfd, n, err);
	return r < 0 ? r : 1;
}

static int root_unsandbox(struct gr_job_handover *jh, struct gr_handover_count *n, struct gr_error **err)
{
	/* no process left with the range's ids can add files behind the walk */
	int r = gr_lease_kill_holders(jh->lease->first, jh->lease->count, err);

	if (r >= 0)
		r = gr_handover_chown(jh->dirfd, &jh->h, true, n, err);
	/* walked back: no walk back is owed any more (lease.h) */
	if (r >= 0)
		r = gr_lease_note_sandbox(jh->pool, jh->lease, NULL, err);
	return r;
}

const struct gr_priv_ops gr_priv_root = {
	.name = "root",
	.may_lease = root_may_lease,
	.lease = root_lease,
	.map = NULL,   /* the supervisor's gr_userns_from_parent() */
	.release = root_release,
	.gc = root_gc,
	.gc_all = root_gc_all,
	.sandbox = root_sandbox,
	.unsandbox = root_unsandbox,
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

static int helper_lease(const struct gr_pool *pool, const char *pool_name, const char *account,
			const char *job_id, struct gr_lease *lease, struct gr_error **err)
{
	(void)pool;
	(void)account;
	return gr_helper_lease(pool_name, job_id, lease, err);
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

static int helper_release(const struct gr_pool *pool, const struct gr_lease *lease, struct gr_error **err)
{
	(void)pool;
	return gr_helper_release(lease->pool, lease->index, err);
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

static int helper_sandbox(struct gr_job_handover *jh, int dirfd, uid_t owner, gid_t group, uid_t u, gid_t g,
			  struct gr_handover_count *n, struct gr_error **err)
{
	int r;

	(void)group;
	if (owner != getuid())
		return 0;   /* not the caller's: the helper would refuse it */
	r = gr_helper_sandbox(jh->lease->pool, jh->lease->index, u, g, dirfd, &jh->mntfd, n, err);
	return r < 0 ? r : 1;
}

static int helper_unsandbox(struct gr_job_handover *jh, struct gr_handover_count *n, struct gr_error **err)
{
	return gr_helper_unsandbox(jh->lease->pool, jh->lease->index, jh->dirfd, &n->changed, err);
}

const struct gr_priv_ops gr_priv_helper = {
	.name = "helper",
	.may_lease = helper_may_lease,
	.lease = helper_lease,
	.map = helper_map,
	.lsm_add = helper_lsm_add,
	.release = helper_release,
	.gc = helper_gc,
	.gc_all = helper_gc_all,
	.sandbox = helper_sandbox,
	.unsandbox = helper_unsandbox,
};

const struct gr_priv_ops *gr_priv_choose(void)
{
	return geteuid() == 0 ? &gr_priv_root : &gr_priv_helper;
}
