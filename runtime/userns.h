/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * userns.h - the job's user namespace: who the job is, inside and outside.
 *
 * Modes (design §2), chosen by gr_userns_plan():
 *  - root: gridrun runs as host root. Until leased subordinate ranges exist
 *    (the pools issue), the job is mapped onto the overflow identity
 *    nobody:nogroup (65534:65534), one uid, never onto host root. The parent
 *    writes the maps; setgroups stays "allow" only so that the child can
 *    drop root's supplementary groups (setgroups(0, NULL)) before anything
 *    else; the job can then only ever hold its one mapped gid.
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

struct gr_userns_plan {
	enum gr_isolation mode;
	uid_t inner_uid, outer_uid;   /* one-uid mapping: inner -> outer, count 1 */
	gid_t inner_gid, outer_gid;
	unsigned long count;
	bool setgroups_allow;
};

const char *gr_isolation_name(enum gr_isolation mode);
int gr_userns_plan(uid_t inner_uid, gid_t inner_gid, struct gr_userns_plan *plan,
		   struct gr_error **err);
int gr_userns_from_parent(pid_t pid, int pidfd, const struct gr_userns_plan *plan,
			  struct gr_error **err);
int gr_userns_in_child(const struct gr_userns_plan *plan, struct gr_error **err);

#endif
