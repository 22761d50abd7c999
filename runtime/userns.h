/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * userns.h - the job's user namespace: who the job is, inside and outside.
 *
 * Modes (design §2), chosen by gr_userns_plan():
 *  - root: gridrun runs as host root. Without gridrun.pool, the job is
 *    mapped onto the overflow identity
 *    nobody:nogroup (65534:65534), one uid, never onto host root. The parent
 *    writes the maps; setgroups stays "allow" only so that the child can
 *    drop root's supplementary groups (setgroups(0, NULL)) before anything
 *    else; the job can then only ever hold its one mapped gid.
 *  - root with a leased range (gridrun.pool, lease.h): the map is
 *    "0 FIRST COUNT" for uids and gids, exactly the lease, and the job runs
 *    as the spec's inner uid/gid (0 by default), which must lie in it. The
 *    map writer refuses a range of count 0, one that contains host uid 0 or
 *    runs past 4294967294 ((uid_t)-1 is never an id), whatever the caller.
 *    setgroups stays "allow", and the child drops every supplementary group
 *    as its first act, as above. Writing "deny" instead would leave the
 *    child unable to drop them, so the supervisor would have to drop them
 *    before clone3(): fine for root, but in helper mode the supervisor is
 *    the unprivileged pilot, which cannot, and the pilot's groups (which may
 *    open the pilot's own files) would leak into every job. With "allow" the
 *    job can afterwards only set groups among its own range's gids, which
 *    open nothing of anyone else's. As for CVE-2014-8989 (dropping a group to
 *    pass a permission that denies that group): the job starts with no
 *    group to drop, and a fresh range is a stranger that gets "other"
 *    permissions like any new account; a mode that denies the caller's
 *    group but allows others never kept strangers out.
 *  - helper: the same leased map, for a supervisor that is not root: the
 *    setuid gridrun-helper writes it (helper.h), as the caller's euid with
 *    only CAP_SETUID/CAP_SETGID, through gr_userns_from_parent().
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
int gr_userns_from_parent(pid_t pid, int pidfd, const struct gr_userns_plan *plan,
			  struct gr_error **err);
int gr_userns_in_child(const struct gr_userns_plan *plan, struct gr_error **err);

#endif
