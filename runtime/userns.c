/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "userns.h"
#include "util.h"

const char *gr_isolation_name(enum gr_isolation mode)
{
	switch (mode) {
	case GR_ISOLATION_ROOT: return "root";
	case GR_ISOLATION_HELPER: return "helper";
	case GR_ISOLATION_UNPRIVILEGED: return "unprivileged";
	}
	return "unknown";
}

/* S18: whatever the caller computed, never map host root, (uid_t)-1, or nothing. */
static int plan_range(const struct gr_uid_range *range, struct gr_userns_plan *plan,
		      struct gr_error **err)
{
	unsigned long long end = (unsigned long long)range->first + range->count;

	if (range->count == 0 || range->first == 0 || end - 1 > 4294967294ull)
		return gr_error_set(err, ERANGE, "userns: refusing to map uid range %u+%lu",
				    (unsigned)range->first, range->count);
	if (plan->inner_uid >= range->count || plan->inner_gid >= range->count)
		return gr_error_set(err, ERANGE, "userns: process.user %u:%u is outside the leased range "
				    "(inner ids 0-%lu)", (unsigned)plan->inner_uid,
				    (unsigned)plan->inner_gid, range->count - 1);
	/* not root: gridrun-helper writes the maps (helper.h) */
	plan->mode = geteuid() == 0 ? GR_ISOLATION_ROOT : GR_ISOLATION_HELPER;
	plan->outer_uid = range->first;
	plan->outer_gid = range->first;
	plan->map_inner_uid = 0;
	plan->map_inner_gid = 0;
	plan->count = range->count;
	/* root mode: the supervisor drops its own groups before the clone
	 * (gr_userns_drop_groups()), so setgroups can be denied for good;
	 * helper mode: see userns.h */
	plan->setgroups_allow = plan->mode == GR_ISOLATION_HELPER;
	return 0;
}

int gr_userns_plan(uid_t inner_uid, gid_t inner_gid, const struct gr_uid_range *range,
		   struct gr_userns_plan *plan, struct gr_error **err)
{
	*plan = (struct gr_userns_plan){
		.inner_uid = inner_uid,
		.inner_gid = inner_gid,
		.map_inner_uid = inner_uid,
		.map_inner_gid = inner_gid,
		.count = 1,
	};
	if (range)
		return plan_range(range, plan, err);
	if (geteuid() == 0) {
		plan->mode = GR_ISOLATION_ROOT;
		plan->outer_uid = GR_OVERFLOW_ID;
		plan->outer_gid = GR_OVERFLOW_ID;
		plan->setgroups_allow = false;
	} else {
		plan->mode = GR_ISOLATION_UNPRIVILEGED;
		plan->outer_uid = geteuid();
		plan->outer_gid = getegid();
		plan->setgroups_allow = false;
	}
	return 0;
}

void gr_userns_plan_pending(uid_t inner_uid, gid_t inner_gid, struct gr_userns_plan *plan)
{
	*plan = (struct gr_userns_plan){ .mode = GR_ISOLATION_HELPER, .inner_uid = inner_uid,
					 .inner_gid = inner_gid, .setgroups_allow = true };
}

static int write_proc_file(int procfd, const char *name, const char *text, struct gr_error **err)
{
	_cleanup_close_ int fd = -1;
	struct statfs sfs;
	ssize_t n;

	fd = openat(procfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return gr_error_sys(err, errno, "open `%s`", name);
	if (fstatfs(fd, &sfs) < 0)
		return gr_error_sys(err, errno, "fstatfs `%s`", name);
	if (sfs.f_type != PROC_SUPER_MAGIC)
		return gr_error_set(err, EXDEV, "`%s` is not on procfs", name);
	n = write(fd, text, strlen(text));
	if (n < 0)
		return gr_error_sys(err, errno, "write `%s`", name);
	if ((size_t)n != strlen(text))
		return gr_error_set(err, EIO, "write `%s`: short write", name);
	return 0;
}

int gr_userns_from_parent(pid_t pid, int pidfd, const struct gr_userns_plan *plan,
			  struct gr_error **err)
{
	_cleanup_close_ int procfd = -1;
	char path[64], map[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	procfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (procfd < 0)
		return gr_error_sys(err, errno, "userns: open `%s`", path);
	/* The dir was opened first: if the pidfd's process is alive now, the
	 * dir is that process's and cannot be a recycled pid's. */
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return gr_error_sys(err, errno, "userns: child %d is gone", (int)pid);

	r = write_proc_file(procfd, "setgroups", plan->setgroups_allow ? "allow" : "deny", err);
	if (r < 0)
		return gr_error_prefix(err, "userns");
	snprintf(map, sizeof(map), "%u %u %lu\n", plan->map_inner_uid, plan->outer_uid, plan->count);
	r = write_proc_file(procfd, "uid_map", map, err);
	if (r < 0)
		return gr_error_prefix(err, "userns");
	snprintf(map, sizeof(map), "%u %u %lu\n", plan->map_inner_gid, plan->outer_gid, plan->count);
	r = write_proc_file(procfd, "gid_map", map, err);
	if (r < 0)
		return gr_error_prefix(err, "userns");
	return 0;
}

int gr_userns_in_child(const struct gr_userns_plan *plan, struct gr_error **err)
{
	/*
	 * The child was created by the supervisor and still carries its kuid:
	 * host root in root mode. Switch to the mapped identity before touching
	 * any file. Capabilities in the new namespace survive this (the inner
	 * uid is either ns-root or not root at all; see cap_emulate_setxuid()).
	 */
	if (plan->setgroups_allow && setgroups(0, NULL) < 0)
		return gr_error_sys(err, errno, "userns: drop supplementary groups");
	if (setresgid(plan->inner_gid, plan->inner_gid, plan->inner_gid) < 0)
		return gr_error_sys(err, errno, "userns: setresgid %u", plan->inner_gid);
	if (setresuid(plan->inner_uid, plan->inner_uid, plan->inner_uid) < 0)
		return gr_error_sys(err, errno, "userns: setresuid %u", plan->inner_uid);
	return 0;
}

int gr_userns_drop_groups(const struct gr_userns_plan *plan, struct gr_error **err)
{
	if (plan->mode != GR_ISOLATION_ROOT)
		return 0;
	if (setgroups(0, NULL) < 0)
		return gr_error_sys(err, errno, "userns: drop the supervisor's supplementary groups");
	return 0;
}
