/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroupns.c - the job sees only its own cgroups (threats H4); see cgroupns.h.
 *
 * Ordering: /proc/self/cgroup is read before unshare(CLONE_NEWCGROUP), while
 * it still shows host paths, to tell the job's hierarchies by their
 * gridrun-<id> component. The namespace is entered only once init is in the
 * job's cgroups (on v1 it attaches itself first thing, cgroups.h): a
 * namespace entered earlier would be rooted at the supervisor's cgroup,
 * whose subtree holds the other jobs. Fresh cgroupfs mounts made in a
 * non-initial cgroup namespace are rooted at that namespace's cgroup
 * (cgroup_do_get_tree()), and v1 lets a namespace mount only hierarchies
 * that already exist. On v1 the supervisor's clones of the job's
 * directories (gr_cgroup_view_fds()) are the same mounts - the hierarchy's
 * superblock, rooted at the job's cgroup - made without cgroup_mutex; a
 * hierarchy with no clone of its superblock (st_dev) gets a fresh mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgroupns.h"
#include "util.h"

#define CG_ATTRS (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
#define CG_DIR "/sys/fs/cgroup"

/* True if the comma list `list` holds `tok` (length n). */
static bool has_token(const char *list, const char *tok, size_t n)
{
	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		size_t len = strcspn(p, ",");

		if (len == n && !strncmp(p, tok, n))
			return true;
	}
	return false;
}

/*
 * The controller field ("memory", "cpu,cpuacct", "name=x"; "" for v2) of
 * every /proc/self/cgroup line whose path has the component gridrun-<id>,
 * as "\n"-separated entries of `out` (each ends with '\n').
 */
static int job_hierarchies(const char *job_id, char **out, struct gr_error **err)
{
	_cleanup_free_ char *text = NULL;
	char comp[96];
	size_t cap, len = 0;
	int r;

	r = gr_read_file_at(AT_FDCWD, "/proc/self/cgroup", &text, NULL, err);
	if (r < 0)
		return r;
	snprintf(comp, sizeof(comp), "/gridrun-%s", job_id);
	cap = strlen(text) + 1;
	*out = calloc(1, cap);
	if (!*out)
		return gr_error_sys(err, ENOMEM, "cgroup namespace");
	for (char *line = text, *next; line && *line; line = next) {
		char *ctl, *path, *p;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		ctl = strchr(line, ':');
		path = ctl ? strchr(ctl + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		ctl++;
		p = strstr(path, comp);
		if (!p || (p[strlen(comp)] && p[strlen(comp)] != '/'))
			continue;
		len += (size_t)snprintf(*out + len, cap - len, "%s\n", ctl);
	}
	return 0;
}

/* Whether the mount with super options `superopts` is the hierarchy `ctl`. */
static bool is_hierarchy(const char *fstype, const char *superopts, const char *ctl, size_t n)
{
	if (!n)
		return !strcmp(fstype, "cgroup2");
	if (strcmp(fstype, "cgroup"))
		return false;
	for (size_t i = 0; i < n;) {
		size_t len = strcspn(ctl + i, ",\n");

		if (len > n - i)
			len = n - i;
		if (!has_token(superopts, ctl + i, len))
			return false;
		i += len + 1;
	}
	return true;
}

/* A fresh, read-only mount of the hierarchy `ctl` (n chars; "" = v2). */
static int fresh_cgroupfs(const char *ctl, size_t n, struct gr_error **err)
{
	_cleanup_close_ int fsfd = fsopen(n ? "cgroup" : "cgroup2", FSOPEN_CLOEXEC);
	int mfd;

	if (fsfd < 0)
		return gr_error_sys(err, errno, "cgroup namespace: fsopen");
	for (size_t i = 0; i < n;) {
		size_t len = strcspn(ctl + i, ",\n");
		char tok[64];

		snprintf(tok, sizeof(tok), "%.*s", (int)len, ctl + i);
		i += len + 1;
		if (!strncmp(tok, "name=", 5) ? fsconfig(fsfd, FSCONFIG_SET_STRING, "name", tok + 5, 0) < 0
					      : fsconfig(fsfd, FSCONFIG_SET_FLAG, tok, NULL, 0) < 0)
			return gr_error_sys(err, errno, "cgroup namespace: cgroup option %s", tok);
	}
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return gr_error_sys(err, errno, "cgroup namespace: mount the hierarchy %.*s",
				    (int)n, n ? ctl : "v2");
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, CG_ATTRS);
	if (mfd < 0)
		return gr_error_sys(err, errno, "cgroup namespace: fsmount");
	return mfd;
}

static int move_to(int mfd, int dirfd, const char *name, const char *what, struct gr_error **err)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
	_cleanup_close_ int t = *name ? (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how))
				      : fcntl(dirfd, F_DUPFD_CLOEXEC, 0);

	if (t < 0)
		return gr_error_sys(err, errno, "cgroup namespace: open %s", what);
	if (move_mount(mfd, "", t, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return gr_error_sys(err, errno, "cgroup namespace: mount %s", what);
	return 0;
}

/* The job's hierarchy matching a mount, as (ctl, n); false if not the job's. */
static bool job_match(const char *hier, const char *fstype, const char *superopts, const char **ctl, size_t *n)
{
	for (const char *h = hier; *h; h = strchr(h, '\n') + 1) {
		size_t len = strcspn(h, "\n");

		if (is_hierarchy(fstype, superopts, h, len)) {
			*ctl = h;
			*n = len;
			return true;
		}
	}
	return false;
}

/* The clone among views[0..n) of the hierarchy whose superblock is dev,
 * taken out of views (-1 there); -1 when there is none. */
static int take_view(int *views, size_t n, dev_t dev)
{
	struct stat st;

	for (size_t i = 0; i < n; i++) {
		if (views[i] >= 0 && fstat(views[i], &st) == 0 && st.st_dev == dev) {
			int fd = views[i];

			views[i] = -1;
			return fd;
		}
	}
	return -1;
}

/* Mount the new view in the detached tmpfs `tfd` (v1/hybrid). */
static int fill_tmpfs(int tfd, char *mountinfo, const char *hier, int *views, size_t nviews,
		      struct gr_error **err)
{
	for (char *line = mountinfo, *next; line && *line; line = next) {
		char mnt[256], fstype[32], superopts[256], *dash;
		const char *name, *ctl;
		unsigned maj, min;
		size_t n;
		int r, mfd;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %u:%u %*s %255s", &maj, &min, mnt) != 3 ||
		    sscanf(dash + 3, "%31s %*s %255s", fstype, superopts) != 2)
			continue;
		if (strncmp(mnt, CG_DIR "/", sizeof(CG_DIR)) || strchr(mnt + sizeof(CG_DIR), '/') ||
		    (strcmp(fstype, "cgroup") && strcmp(fstype, "cgroup2")))
			continue;
		name = mnt + sizeof(CG_DIR);
		if (mkdirat(tfd, name, 0555) < 0 && errno != EEXIST)
			return gr_error_sys(err, errno, "cgroup namespace: directory %s", name);
		if (!job_match(hier, fstype, superopts, &ctl, &n))
			continue;
		mfd = take_view(views, nviews, makedev(maj, min));
		if (mfd < 0)
			mfd = fresh_cgroupfs(ctl, n, err);
		if (mfd < 0)
			return mfd;
		r = move_to(mfd, tfd, name, name, err);
		close(mfd);
		if (r < 0)
			return r;
	}
	return 0;
}

int gr_cgroupns_in_child(const char *job_id, int *views, size_t nviews, struct gr_error **err)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	_cleanup_free_ char *hier = NULL, *mountinfo = NULL;
	_cleanup_close_ int target = -1, fsfd = -1, tfd = -1;
	struct statfs sfs;
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	int r;

	if (!job_id)
		return 0;
	target = (int)syscall(SYS_openat2, AT_FDCWD, CG_DIR, &how, sizeof(how));
	r = job_hierarchies(job_id, &hier, err);
	if (r < 0)
		return r;
	if (unshare(CLONE_NEWCGROUP) < 0)
		return gr_error_sys(err, errno, "cgroup namespace: unshare");
	if (target < 0)
		return 0;    /* a root without /sys/fs/cgroup: nothing to cover */
	if (fstatfs(target, &sfs) < 0)
		return gr_error_sys(err, errno, "cgroup namespace: statfs " CG_DIR);
	if (sfs.f_type == 0x63677270 /* CGROUP2_SUPER_MAGIC */) {
		/* pure v2: the job's cgroup is the new mount's root */
		int mfd = fresh_cgroupfs("", 0, err);

		if (mfd < 0)
			return mfd;
		r = move_to(mfd, target, "", CG_DIR, err);
		close(mfd);
		return r;
	}
	r = gr_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &mountinfo, NULL, err);
	if (r < 0)
		return r;
	fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fsfd < 0 || fsconfig(fsfd, FSCONFIG_SET_STRING, "mode", "0555", 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "size", "64k", 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (tfd = fsmount(fsfd, FSMOUNT_CLOEXEC, CG_ATTRS & ~MOUNT_ATTR_RDONLY)) < 0)
		return gr_error_sys(err, errno, "cgroup namespace: tmpfs for " CG_DIR);
	r = fill_tmpfs(tfd, mountinfo, hier, views, nviews, err);
	if (r < 0)
		return r;
	/* read-only only now: the directories above were made in it */
	if (mount_setattr(tfd, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0)
		return gr_error_sys(err, errno, "cgroup namespace: read-only " CG_DIR);
	return move_to(tfd, target, "", CG_DIR, err);
}
