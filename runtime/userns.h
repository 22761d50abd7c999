/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * userns.h - the job's user namespace: who the job is, inside and outside.
 *
 * Modes (design §2), chosen by gr_userns_plan():
 *  - root: gridrun runs as host root. Without gridrun.pool, the job is
 *    mapped onto the overflow identity
 *    nobody:nogroup (65534:65534), one uid, never onto host root. The parent
 *    writes the maps. The supervisor has dropped its own supplementary
 *    groups before clone3() (gr_userns_drop_groups()), so the child starts
 *    with none and setgroups is "deny" (threat S18): the job can only ever
 *    hold its one mapped gid.
 *  - root with a leased range (gridrun.pool, lease.h): the map is
 *    "0 FIRST COUNT" for uids and gids, exactly the lease, and the job runs
 *    as the spec's inner uid/gid (0 by default), which must lie in it. The
 *    map writer refuses a range of count 0, one that contains host uid 0 or
 *    runs past 4294967294 ((uid_t)-1 is never an id), whatever the caller.
 *    No groups, setgroups "deny", as above.
 *  - helper: the same leased map, for a supervisor that is not root: the
 *    setuid gridrun-helper writes it (helper.h), as the caller's euid,
 *    through gr_userns_from_parent(). Here setgroups stays "allow", the one
 *    deviation from S18's "deny", and the child drops every supplementary
 *    group as its first act: the supervisor is the unprivileged pilot, which
 *    cannot drop its groups before clone3(), and "deny" would leave the
 *    pilot's groups (which open the pilot's own group-readable files, and
 *    every other job's files stored with the pilot's gid) in every job. This
 *    is what shadow's newgidmap does for a delegated subordinate range
 *    (it writes "deny" only where /etc/subgid asks for it). After the drop
 *    the job holds no capability, so it can never call setgroups; and as
 *    for CVE-2014-8989/CVE-2018-7169 (dropping a group to pass a
 *    permission that denies that group), the job is a stranger that gets
 *    "other" permissions like any new account: a site must not rely on a
 *    mode that denies the pilot's group but allows others to keep jobs out.
 *  - unprivileged: one-uid mapping of the caller's uid/gid; setgroups is
 *    "deny" as the kernel requires (CVE-2014-8989), so the caller's
 *    supplementary groups stay with the job. Privacy between jobs of one
 *    account then rests on the mount, PID and IPC namespaces alone.
 *
 * gr_userns_from_parent() writes the maps of the child held by pidfd: it
 * opens /proc/PID first, then checks through the pidfd that the child is
 * still alive, so a recycled pid can never be written to; every write goes
 * through a procfs fd (fstatfs PROC_SUPER_MAGIC, threat S06).
 * gr_userns_in_child() switches the child to its mapped identity; it must run
 * right after sync #1 and before the child touches any file.
 */
#ifndef GRIDRUN_USERNS_H
#define GRIDRUN_USERNS_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

#define GR_OVERFLOW_ID 65534

enum gr_isolation {
	GR_ISOLATION_ROOT,
	GR_ISOLATION_HELPER,
	GR_ISOLATION_UNPRIVILEGED,
};

/* A leased range of host ids: first .. first + count - 1, uids and gids. */
struct gr_uid_range {
	uid_t first;
	unsigned long count;
};

struct gr_userns_plan {
	enum gr_isolation mode;
	uid_t inner_uid, outer_uid;   /* the job's identity inside; the map's first outer id */
	gid_t inner_gid, outer_gid;
	uid_t map_inner_uid;          /* the map: map_inner.. -> outer.., count ids */
	gid_t map_inner_gid;          /* (inner_* for one-uid maps, 0 for a range) */
	unsigned long count;
	bool setgroups_allow;
};

const char *gr_isolation_name(enum gr_isolation mode);
/* range: a leased range to map (root, or helper mode when not root), or
 * NULL for the one-uid maps. */
int gr_userns_plan(uid_t inner_uid, gid_t inner_gid, const struct gr_uid_range *range,
		   struct gr_userns_plan *plan, struct gr_error **err);
/* Helper mode before its range is leased (the lease and the maps are one
 * step, priv.h's lease_map): what the child needs of the plan (helper mode's
 * setgroups, the inner ids), count 0 until gr_userns_plan() with the lease. */
void gr_userns_plan_pending(uid_t inner_uid, gid_t inner_gid, struct gr_userns_plan *plan);
int gr_userns_from_parent(pid_t pid, int pidfd, const struct gr_userns_plan *plan,
			  struct gr_error **err);
int gr_userns_in_child(const struct gr_userns_plan *plan, struct gr_error **err);
/* Root mode: the supervisor drops its supplementary groups (before clone3()). */
int gr_userns_drop_groups(const struct gr_userns_plan *plan, struct gr_error **err);

#endif
