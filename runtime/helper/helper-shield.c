/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helper-shield.c - the caller must not be able to stop the helper (S36).
 *
 * A request holds its pool's locks while it works: .gclock shared for a
 * release, a note or a hold of the lease, alone for gc (lease.h). A helper
 * its caller stops there stalls every other account's gc of the pool (and an
 * acquirer at a full pool, which runs gc), or every release. So the caller
 * must have no way to stop it:
 *  - kill(2) (and prlimit(2), and a cgroup v1 move) need the caller's uid as
 *    the target's real or saved uid: step 3 keeps both 0 (helper.h);
 *  - a terminal's ^Z, ^\ and background I/O signals need no permission:
 *    step 1 ignores SIGTSTP, SIGTTIN and SIGTTOU;
 *  - a frozen cgroup stops every process in it, and a pilot may run in a
 *    cgroup of its own (the batch system's delegated slot, design §7).
 *    Frozen, the helper would stall only its own account where the pool is
 *    the account's alone; for a pool shared with another account,
 *    gr_helper_unfreezable() refuses to run in a cgroup the caller could
 *    freeze, or (cgroup v2 asks no uid of a moved process) move the helper
 *    out of into one it can freeze: the file that allows it is named, and
 *    the remedy (a pool of the account's own, or a cgroup it cannot write).
 * A debugger cannot attach (the helper is not dumpable: S16).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "helper-int.h"
#include "util.h"

struct who {
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
};

/* Could the caller write this file (as its owner it could chmod it first)? */
static bool caller_may_write(const struct stat *st, const struct who *w)
{
	if (st->st_uid == w->uid)
		return true;
	if (st->st_gid == w->gid)
		return st->st_mode & S_IWGRP;
	for (int i = 0; i < w->ngroups; i++)
		if (st->st_gid == w->groups[i])
			return st->st_mode & S_IWGRP;
	return st->st_mode & S_IWOTH;
}

/* The mount of this hierarchy at dir, if it is one of type magic. */
static bool mounted(const char *dir, long magic)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 && sf.f_type == magic;
}

/* cgroup path (as /proc/self/cgroup names it) below mount: the first of
 * files[] of it or of an ancestor that the caller could write, into file:
 * 1; 0 when there is none. */
static int check_path(const char *mount, const char *path, const char *const files[], const struct who *w,
		      char *file, size_t size, struct gr_error **err)
{
	char dir[PATH_MAX];
	struct stat st;
	size_t n;

	if (snprintf(dir, sizeof(dir), "%s%s", mount, path) >= (int)sizeof(dir))
		return gr_error_set(err, ENAMETOOLONG, "this process's cgroup path is too long");
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		dir[--n] = '\0';
	for (;;) {
		for (int i = 0; files[i]; i++) {
			if (snprintf(file, size, "%s/%s", dir, files[i]) >= (int)size)
				return gr_error_set(err, ENAMETOOLONG, "this process's cgroup path is too long");
			if (fstatat(AT_FDCWD, file, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;   /* the root has no cgroup.freeze */
			if (caller_may_write(&st, w))
				return 1;
		}
		if (strlen(dir) <= strlen(mount))
			return 0;
		*strrchr(dir, '/') = '\0';
	}
}

int gr_helper_freezer_file(uid_t uid, gid_t gid, char *file, size_t size, struct gr_error **err)
{
	static const char *const v2_files[] = { "cgroup.freeze", "cgroup.procs", NULL };
	static const char *const v1_files[] = { "freezer.state", NULL };
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ gid_t *groups = NULL;
	struct who w = { .uid = uid, .gid = gid };
	const char *v2 = NULL;
	char *save = NULL;
	int r = 0;

	w.ngroups = getgroups(0, NULL);
	w.groups = w.ngroups > 0 ? calloc((size_t)w.ngroups, sizeof(gid_t)) : NULL;
	groups = w.groups;
	if (w.ngroups < 0 || (w.ngroups > 0 && (!w.groups || (w.ngroups = getgroups(w.ngroups, w.groups)) < 0)))
		return gr_error_sys(err, errno ? errno : ENOMEM, "getgroups");
	r = gr_read_file_at(AT_FDCWD, "/proc/self/cgroup", &text, NULL, NULL);
	if (r < 0)
		return gr_error_sys(err, -r, "read /proc/self/cgroup");
	if (mounted("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC))
		v2 = "/sys/fs/cgroup";
	else if (mounted("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC))
		v2 = "/sys/fs/cgroup/unified";
	/* "ID:CONTROLLERS:PATH" a line: 0::PATH is v2, a list with freezer v1's */
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *ctl = strchr(line, ':'), *path;
		bool freezer = false;

		if (!ctl)
			continue;
		*ctl++ = '\0';
		path = strchr(ctl, ':');
		if (!path || path[1] != '/')
			continue;
		*path++ = '\0';
		for (char *s = ctl, *e; *s; s = *e ? e + 1 : e) {
			e = s + strcspn(s, ",");
			if (e - s == 7 && !strncmp(s, "freezer", 7))
				freezer = true;
		}
		if (!strcmp(line, "0") && !*ctl && v2)
			r = check_path(v2, path, v2_files, &w, file, size, err);
		else if (freezer && mounted("/sys/fs/cgroup/freezer", CGROUP_SUPER_MAGIC))
			r = check_path("/sys/fs/cgroup/freezer", path, v1_files, &w, file, size, err);
		if (r != 0)
			return r;
	}
	return 0;
}

int gr_helper_unfreezable(const struct gr_helper_caller *c, const struct gr_pool *pool, const char *account,
			  struct gr_error **err)
{
	const char *other = NULL;
	char file[PATH_MAX + 32];
	int r;

	for (size_t i = 0; i < pool->naccounts && !other; i++)
		if (strcmp(pool->accounts[i], account))
			other = pool->accounts[i];
	if (!other)
		return 0;   /* frozen, it would stall only its own account */
	r = gr_helper_freezer_file(c->uid, c->gid, file, sizeof(file), err);
	if (r < 0) {
		/* a cgroup too deep to check is refused like one the caller can write */
		if (err && *err)
			(*err)->code = r == -ENAMETOOLONG ? GR_HELPER_EXIT_REFUSED : GR_HELPER_EXIT_FAILED;
		return r;
	}
	if (r > 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EPERM,
				      "uid %u can write %s: it could freeze this helper while it holds the locks of "
				      "pool %s, which account %s shares (give the account a pool of its own, or run "
				      "it in a cgroup it cannot write)", (unsigned)c->uid, file, pool->name, other);
	return 0;
}
