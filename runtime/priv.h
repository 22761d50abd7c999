/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * priv.h - the privileged steps of a job, one backend chosen once (issue 15).
 *
 * A job needs six privileged operations: lease a uid range, write its
 * init's maps onto it, release it, collect a pool's dead leases, hand the
 * sandbox over to the range and walk it back. As root gridrun does them
 * itself (gr_priv_root: lease.c, userns.c, handover.c); unprivileged it asks
 * gridrun-helper (gr_priv_helper: helper-client.c), which checks each
 * request against the caller's account and lease (helper.h). gr_job_prepare()
 * picks one with gr_priv_choose(); no other code asks which mode it is in.
 *
 * Every operation returns >= 0 or -errno with *err. release returns 1 when
 * the range was released but what the job left is not settled (lease.h).
 */
#ifndef GRIDRUN_PRIV_H
#define GRIDRUN_PRIV_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct gr_config;
struct gr_pool;
struct gr_spec;
struct gr_lease;
struct gr_lease_gc_stats;
struct gr_userns_plan;
struct gr_job_handover;
struct gr_handover_count;
struct gr_lsm_reg;

struct gr_priv_ops {
	const char *name;   /* "root" or "helper" */
	/* before anything is created: may spec lease (gridrun.pool, .account)?
	 * *pool: the configured pool (root) or NULL (the helper has its own) */
	int (*may_lease)(const struct gr_spec *spec, struct gr_config *cfg, const struct gr_pool **pool,
			 struct gr_error **err);
	/* pool: the configured pool (root), or NULL (the helper reads its own
	 * configuration and finds pool_name there) */
	int (*lease)(const struct gr_pool *pool, const char *pool_name, const char *account,
		     const char *job_id, struct gr_lease *lease, struct gr_error **err);
	/*
	 * The maps of the job's init, exactly the lease. NULL for root: the
	 * supervisor writes them itself (gr_userns_from_parent()) after it
	 * attached the child to its cgroup; the helper's are written before
	 * (supervisor.h: a v1 non-root writer moves only its own uid's tasks).
	 */
	int (*map)(const struct gr_lease *lease, pid_t pid, int pidfd, const struct gr_userns_plan *plan,
		   struct gr_error **err);
	/*
	 * The job whose maps map wrote, registered with the BPF LSM for the
	 * lease (lsm.h: 1 registered, 0 not loaded). NULL for root: the
	 * supervisor registers it itself (gr_lsm_register()).
	 */
	int (*lsm_add)(const struct gr_lease *lease, pid_t pid, int pidfd, struct gr_lsm_reg *reg,
		       struct gr_error **err);
	int (*release)(const struct gr_pool *pool, const struct gr_lease *lease, struct gr_error **err);
	/* adds what it did to *st */
	int (*gc)(const struct gr_pool *pool, struct gr_lease_gc_stats *st, struct gr_error **err);
	/* gc of every pool of cfg this caller may collect (gridrun gc) */
	int (*gc_all)(const struct gr_config *cfg, struct gr_lease_gc_stats *st, struct gr_error **err);
	/*
	 * The sandbox dirfd (owned by the caller, uid owner) handed over to the
	 * lease's range for inner ids u:g: 1 done (*mntfd an idmapped mount, or
	 * -1 when chowned: jh->h then says how to walk back), 0 nothing to do.
	 */
	int (*sandbox)(struct gr_job_handover *jh, int dirfd, uid_t owner, gid_t group, uid_t u, gid_t g,
		       struct gr_handover_count *n, struct gr_error **err);
	/* the walk back of a chown hand-over, after the job is gone */
	int (*unsandbox)(struct gr_job_handover *jh, struct gr_handover_count *n, struct gr_error **err);
};

extern const struct gr_priv_ops gr_priv_root;
extern const struct gr_priv_ops gr_priv_helper;

/* root when the effective uid is 0, else the helper. */
const struct gr_priv_ops *gr_priv_choose(void);

#endif
