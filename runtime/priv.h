/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * priv.h - the privileged steps of a job, one backend chosen once (issue 15).
 *
 * A job needs four privileged operations: lease a uid range (and hand the
 * sandbox over to it), write its init's maps onto it, release it (after
 * walking the sandbox back), collect a pool's dead leases. The hand-over and
 * its walk back are part of the lease and the release, and in helper mode
 * the lease and the maps are one step (lease_map), so that helper mode runs
 * gridrun-helper twice a job (lease-map, release), not five times. As root gridrun does them
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
struct gr_lsm_denials;

struct gr_priv_ops {
	const char *name;   /* "root" or "helper" */
	/* before anything is created: may spec lease (gridrun.pool, .account)?
	 * *pool: the configured pool (root) or NULL (the helper has its own) */
	int (*may_lease)(const struct gr_spec *spec, struct gr_config *cfg, const struct gr_pool **pool,
			 struct gr_error **err);
	/* pool: the configured pool (root), or NULL (the helper reads its own
	 * configuration and finds pool_name there). jh: NULL, or a sandbox
	 * opened by gr_job_handover_open() (jh->dirfd < 0: none), handed over
	 * to the lease's range for the inner ids jh->u:jh->g when its owner is
	 * the caller's (helper) or neither 0 nor in the range (root); then
	 * jh->mntfd is an idmapped mount, or the chown is noted in the lease
	 * and jh->dirfd kept for the walk back (gr_job_handover_done()). A
	 * hand-over that fails releases the lease again: an error leaves none. */
	int (*lease)(const struct gr_pool *pool, const char *pool_name, const char *account,
		     const char *job_id, struct gr_lease *lease, struct gr_job_handover *jh,
		     struct gr_error **err);
	/*
	 * The maps of the job's init, exactly the lease. NULL for root: the
	 * supervisor writes them itself (gr_userns_from_parent()) after it
	 * attached the child to its cgroup; the helper's are written before
	 * (supervisor.h: a v1 non-root writer moves only its own uid's tasks).
	 */
	int (*map)(const struct gr_lease *lease, pid_t pid, int pidfd, const struct gr_userns_plan *plan,
		   struct gr_error **err);
	/*
	 * lease and map in one step, once the job's init exists (held before
	 * its maps, attached to its cgroup): the lease (pool_name, job_id, jh as
	 * for lease) and the maps of pid (held by pidfd) onto it, and where the
	 * BPF LSM is loaded the job registered with it for the lease (*reg, as
	 * lsm_add sets it, with reg->at_release: release unregisters it). An
	 * error leaves no lease and no mount. NULL for root, which leases
	 * before the clone (lease) and writes the maps itself.
	 */
	int (*lease_map)(const char *pool_name, const char *job_id, pid_t pid, int pidfd, struct gr_lease *lease,
			 struct gr_job_handover *jh, struct gr_lsm_reg *reg, struct gr_error **err);
	/*
	 * The job whose maps map wrote, registered with the BPF LSM for the
	 * lease (lsm.h: 1 registered, 0 not loaded). NULL for root: the
	 * supervisor registers it itself (gr_lsm_register()).
	 */
	int (*lsm_add)(const struct gr_lease *lease, pid_t pid, int pidfd, struct gr_lsm_reg *reg,
		       struct gr_error **err);
	/* jh: NULL, or the lease's hand-over: a chown (jh->dirfd >= 0) is
	 * walked back first (the range's processes killed, the files the
	 * caller's again, the lease's note removed); one that cannot finish
	 * leaves the range blocked (1), as the release's own walk back of the
	 * noted sandbox does (lease.h). *den (may be NULL): the denials of the
	 * BPF LSM entries of the range it dropped (the helper's, after its
	 * kill; loaded false when none; root's supervisor unregisters its own) */
	int (*release)(const struct gr_pool *pool, const struct gr_lease *lease, struct gr_job_handover *jh,
		       struct gr_lsm_denials *den, struct gr_error **err);
	/* adds what it did to *st */
	int (*gc)(const struct gr_pool *pool, struct gr_lease_gc_stats *st, struct gr_error **err);
	/* gc of every pool of cfg this caller may collect (gridrun gc) */
	int (*gc_all)(const struct gr_config *cfg, struct gr_lease_gc_stats *st, struct gr_error **err);
};

extern const struct gr_priv_ops gr_priv_root;
extern const struct gr_priv_ops gr_priv_helper;

/* root when the effective uid is 0, else the helper. */
const struct gr_priv_ops *gr_priv_choose(void);

#endif
