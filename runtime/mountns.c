/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mountns.h"
#include "util.h"

/* No O_NOFOLLOW with these: it would open a symlink itself (O_PATH) instead
 * of failing; RESOLVE_NO_SYMLINKS refuses every symlink with ELOOP. */
#define BENEATH (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
#define JOB_ATTRS (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)

static const char *const default_masked[] = {
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi", "/sys/firmware",
	"/sys/devices/virtual/powercap",
};

static const char *const default_readonly[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

static const struct {
	const char *name, *target;
} dev_links[] = {
	{ "ptmx", "pts/ptmx" }, { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
	{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" }, { "core", "/proc/kcore" },
};

static int openat_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.resolve = BENEATH,
	};
	int fd;

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	do
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	return fd < 0 ? -errno : fd;
}

/*
 * Open PATH beneath rootfd as an O_PATH fd, creating missing components
 * (directories, and the last one as a file when !dir). Creation can only
 * succeed inside our own tmpfs mounts: the root itself is read-only.
 */
static int ensure_path(int rootfd, const char *path, bool dir, struct gr_error **err)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int cur = -1;
	char *comp, *save = NULL;

	if (!copy)
		return gr_error_sys(err, ENOMEM, "mount target `%s`", path);
	cur = openat_beneath(rootfd, "", O_PATH | O_DIRECTORY);
	if (cur < 0)
		return gr_error_sys(err, -cur, "open the new root");
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		bool last = !save || !*save;
		int fd = openat_beneath(cur, comp, O_PATH);

		if (fd == -ENOENT) {
			int r = (!last || dir) ? mkdirat(cur, comp, 0755) : 0;

			if (!r && last && !dir) {
				int f = openat(cur, comp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);

				r = f < 0 ? -1 : close(f);
			}
			if (r < 0 && errno != EEXIST) {
				if (errno == EROFS)
					return gr_error_set(err, ENOENT,
							    "mount target `%s` does not exist in the read-only root",
							    path);
				return gr_error_sys(err, errno, "create mount target `%s`", path);
			}
			fd = openat_beneath(cur, comp, O_PATH);
		}
		if (fd < 0) {
			if (fd == -ELOOP || fd == -EXDEV)
				return gr_error_set(err, -fd,
						    "mount target `%s` leads through a symlink or out of the root, refusing",
						    path);
			return gr_error_sys(err, -fd, "open mount target `%s`", path);
		}
		close(cur);
		cur = fd;
	}
	return TAKE_FD(cur);
}

static int attach(int mntfd, int targetfd, const char *what, struct gr_error **err)
{
	if (move_mount(mntfd, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return gr_error_sys(err, errno, "mount `%s`", what);
	return 0;
}

/* Mount a fresh filesystem of `type` with string options (key, value, ...). */
static int new_fs(const char *type, const char *const *opts, unsigned attrs, struct gr_error **err)
{
	_cleanup_close_ int fsfd = -1;
	int mfd;

	fsfd = fsopen(type, FSOPEN_CLOEXEC);
	if (fsfd < 0)
		return gr_error_sys(err, errno, "fsopen %s", type);
	for (; opts && opts[0]; opts += 2) {
		int r = opts[1] ? fsconfig(fsfd, FSCONFIG_SET_STRING, opts[0], opts[1], 0)
				: fsconfig(fsfd, FSCONFIG_SET_FLAG, opts[0], NULL, 0);
		if (r < 0)
			return gr_error_sys(err, errno, "%s option %s", type, opts[0]);
	}
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return gr_error_sys(err, errno, "create %s", type);
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, attrs);
	if (mfd < 0)
		return gr_error_sys(err, errno, "fsmount %s", type);
	return mfd;
}

static int set_attrs(int mfd, unsigned set, bool recursive, const char *what, struct gr_error **err)
{
	struct mount_attr a = { .attr_set = set };

	if (mount_setattr(mfd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof(a)) < 0)
		return gr_error_sys(err, errno, "set mount attributes of `%s`", what);
	return 0;
}

/* Detached copy of the host path `path` (resolved now, in the host view). */
static int clone_host(const char *path, bool recursive, unsigned attrs, struct gr_error **err)
{
	_cleanup_close_ int fd = -1;

	fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
	if (fd < 0)
		return gr_error_sys(err, errno, "clone `%s`", path);
	if (attrs && set_attrs(fd, attrs, recursive, path, err) < 0)
		return -(*err)->errnum;
	return TAKE_FD(fd);
}

static int mount_fs_at(int rootfd, const char *target, const char *type, const char *const *opts,
		       unsigned attrs, struct gr_error **err)
{
	_cleanup_close_ int tfd = -1, mfd = -1;

	tfd = ensure_path(rootfd, target, true, err);
	if (tfd < 0)
		return tfd;
	mfd = new_fs(type, opts, attrs, err);
	if (mfd < 0)
		return gr_error_prefix(err, "mount %s on `%s`", type, target);
	if (attach(mfd, tfd, target, err) < 0)
		return -(*err)->errnum;
	return TAKE_FD(mfd);
}

/*
 * The job's one writable tmpfs: /tmp, /var/tmp, /run and /dev/shm are a
 * directory each of it, bound in place (issue 13: a superblock is made and
 * torn down per job, ~0.1-0.2 ms each, and every memory cgroup's removal on
 * the node walks them all; H2: their size= bounds the four together, which
 * the job's memory limit bounds anyway). Binds of one superblock are still
 * separate mounts: no link() or rename() crosses between them (EXDEV).
 * A detached mount cannot be cloned before Linux 6.15 (open_tree: EINVAL on
 * 6.1), so the tmpfs is first attached at /run, and its `run` directory is
 * bound last, over it: below that bind lies only the tmpfs's own root, whose
 * directories the job has anyway.
 */
static const struct { const char *dir, *target; mode_t mode; } job_dirs[] = {
	{ "shm", "/dev/shm", 01777 }, { "tmp", "/tmp", 01777 }, { "var-tmp", "/var/tmp", 01777 },
	{ "run", "/run", 0755 },
};

/*
 * The same superblock holds /dev (`dev`: read-only once populated) and the
 * one empty directory every masked directory shows (`empty`, 0555), bound
 * read-only: two superblocks fewer per job. Neither is writable through any
 * mount the job can reach: their binds are read-only, and the tmpfs's own
 * root, the one writable way to them, lies under the /run bind, which the
 * job cannot unmount (no capability; in a user namespace of its own, the
 * copied mounts are locked together).
 */
static const struct { const char *dir; mode_t mode; } ro_dirs[] = { { "dev", 0755 }, { "empty", 0555 } };

static int job_tmpfs(int rootfd, const char *size, struct gr_error **err)
{
	const char *opts[] = { "mode", "0755", size ? "size" : NULL, size, NULL };
	int mfd = mount_fs_at(rootfd, "/run", "tmpfs", opts, JOB_ATTRS, err);

	if (mfd < 0)
		return mfd;
	for (size_t i = 0; i < ARRAY_SIZE(job_dirs) + ARRAY_SIZE(ro_dirs); i++) {
		bool rw = i < ARRAY_SIZE(job_dirs);
		const char *dir = rw ? job_dirs[i].dir : ro_dirs[i - ARRAY_SIZE(job_dirs)].dir;
		mode_t mode = rw ? job_dirs[i].mode : ro_dirs[i - ARRAY_SIZE(job_dirs)].mode;

		/* fresh and ours alone: nothing else can reach it yet; chmod past the umask */
		if (mkdirat(mfd, dir, 0700) < 0 || fchmodat(mfd, dir, mode, 0) < 0) {
			close(mfd);
			return gr_error_sys(err, errno, "the job's tmpfs: make `%s`", dir);
		}
	}
	return mfd;
}

/* A detached bind of directory `dir` of the job's tmpfs, with mount
 * attributes set and clr (the tmpfs's own are JOB_ATTRS). */
static int job_dir_bind(int jobfs, const char *dir, unsigned set, unsigned clr, struct gr_error **err)
{
	struct mount_attr a = { .attr_set = set, .attr_clr = clr };
	_cleanup_close_ int mfd = open_tree(jobfs, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);

	if (mfd < 0)
		return gr_error_sys(err, errno, "bind `%s` of the job's tmpfs", dir);
	if (mount_setattr(mfd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		return gr_error_sys(err, errno, "set mount attributes of `%s` of the job's tmpfs", dir);
	return TAKE_FD(mfd);
}

/* Bind the job's tmpfs's directories in place: from..to of job_dirs. */
static int bind_job_dirs(int rootfd, int jobfs, size_t from, size_t to, struct gr_error **err)
{
	for (size_t i = from; i < to && i < ARRAY_SIZE(job_dirs); i++) {
		_cleanup_close_ int src = -1, tfd = -1;

		src = open_tree(jobfs, job_dirs[i].dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (src < 0)
			return gr_error_sys(err, errno, "bind `%s` of the job's tmpfs", job_dirs[i].dir);
		tfd = ensure_path(rootfd, job_dirs[i].target, true, err);
		if (tfd < 0)
			return tfd;
		if (attach(src, tfd, job_dirs[i].target, err) < 0)
			return -(*err)->errnum;
	}
	return 0;
}

/* Clones of the host's device nodes, first thing: the host's /dev is still
 * reachable (the old root is not gone; from the template, "/" is neither
 * read-only nor nodev yet, nor /dev covered). All or none: 0 or -errno. */
static int clone_dev_nodes(int nodes[], struct gr_error **err)
{
	int r = 0;

	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		char host[32];

		snprintf(host, sizeof(host), "/dev/%s", dev_nodes[i]);
		nodes[i] = r < 0 ? -1 : clone_host(host, false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
		if (nodes[i] < 0 && r == 0)
			r = nodes[i];
	}
	if (r < 0)
		for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++)
			if (nodes[i] >= 0)
				close(nodes[i]);
	return r;
}

/* /dev: the job tmpfs's `dev`, the nodes (clone_dev_nodes(), taken), links,
 * devpts, /dev/shm, mqueue. */
static int setup_dev(int rootfd, int jobfs, int nodes[], struct gr_error **err)
{
	static const char *const pts_opts[] = { "newinstance", NULL, "ptmxmode", "0666", "mode", "0620", NULL };
	_cleanup_close_ int devfd = -1, dirfd = -1;
	size_t i;
	int r = 0;

	/* the job's tmpfs's `dev` (job_tmpfs()): nosuid, noexec, as a /dev tmpfs was */
	if (r == 0)
		r = devfd = job_dir_bind(jobfs, "dev", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NODEV, err);
	if (r >= 0)
		r = dirfd = ensure_path(rootfd, "/dev", true, err);
	if (r >= 0 && attach(devfd, dirfd, "/dev", err) < 0)
		r = -(*err)->errnum;
	for (i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		_cleanup_close_ int src = nodes[i], tfd = -1;
		char target[32];

		snprintf(target, sizeof(target), "/dev/%s", dev_nodes[i]);
		if (r < 0)
			continue;   /* and close the rest */
		r = tfd = ensure_path(rootfd, target, false, err);
		if (r >= 0 && attach(src, tfd, target, err) < 0)
			r = -(*err)->errnum;
	}
	if (r < 0)
		return r;
	for (i = 0; i < ARRAY_SIZE(dev_links); i++)
		if (symlinkat(dev_links[i].target, devfd, dev_links[i].name) < 0)
			return gr_error_sys(err, errno, "symlink /dev/%s", dev_links[i].name);
	r = mount_fs_at(rootfd, "/dev/pts", "devpts", pts_opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
	if (r < 0)
		return r;
	close(r);
	r = bind_job_dirs(rootfd, jobfs, 0, 1, err);   /* /dev/shm */
	if (r < 0)
		return r;
	r = mount_fs_at(rootfd, "/dev/mqueue", "mqueue", NULL, JOB_ATTRS | MOUNT_ATTR_NOEXEC, err);
	if (r < 0)
		return r;
	close(r);
	/* populated: nobody creates device files or anything else here now */
	return set_attrs(devfd, MOUNT_ATTR_RDONLY, false, "/dev", err);
}

/* The cover's fd goes to *coverp: read-only once the spec's mounts (which
 * may have targets in it) are made. */
static int setup_sandbox(int rootfd, const char *sandbox, const char *cover, int srcfd, int *coverp,
			 struct gr_error **err)
{
	static const char *const cover_opts[] = { "mode", "0755", "size", "65536", NULL };
	_cleanup_free_ char *parent = strdup(sandbox), *rel = NULL;
	_cleanup_close_ int coverfd = -1, tfd = -1;
	char *slash;
	size_t n;

	if (!parent)
		return gr_error_sys(err, ENOMEM, "sandbox");
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return gr_error_set(err, EINVAL, "sandbox `%s`: its parent must not be /", sandbox);
	*slash = '\0';
	if (cover) {
		n = strlen(cover);
		if (n < 2 || strncmp(sandbox, cover, n) || sandbox[n] != '/')
			return gr_error_set(err, EINVAL, "sandbox `%s`: `%s` is not above it", sandbox, cover);
		free(parent);
		parent = strdup(cover);
		if (!parent)
			return gr_error_sys(err, ENOMEM, "sandbox");
	}
	rel = strdup(sandbox + strlen(parent) + 1);
	if (!rel)
		return gr_error_sys(err, ENOMEM, "sandbox");
	/* cover the directory of all sandboxes: no sibling is even visible */
	coverfd = mount_fs_at(rootfd, parent, "tmpfs", cover_opts, JOB_ATTRS | MOUNT_ATTR_NOEXEC, err);
	if (coverfd < 0)
		return gr_error_prefix(err, "sandbox");
	/* the way down to the sandbox, in the cover */
	tfd = ensure_path(coverfd, rel, true, err);
	if (tfd < 0)
		return gr_error_prefix(err, "sandbox");
	if (attach(srcfd, tfd, sandbox, err) < 0)
		return gr_error_prefix(err, "sandbox");
	*coverp = TAKE_FD(coverfd);
	return 0;
}

static int setup_spec_mount(int rootfd, const struct gr_mount *m, int srcfd, unsigned long long bound,
			    struct gr_error **err)
{
	_cleanup_close_ int tfd = -1, mfd = -1;

	if (m->type == GR_MOUNT_TMPFS) {
		char size[32], mode[8];
		const char *opts[] = { "mode", mode, m->size || bound ? "size" : NULL, size, NULL };
		unsigned attrs = JOB_ATTRS | (m->flags & GR_MNT_NOEXEC ? MOUNT_ATTR_NOEXEC : 0) |
				 (m->flags & GR_MNT_RDONLY ? MOUNT_ATTR_RDONLY : 0);

		snprintf(size, sizeof(size), "%llu", m->size ? m->size : bound);
		/* spec "mode=" (spec.h); the mount attrs keep nosuid/nodev whatever the mode */
		snprintf(mode, sizeof(mode), "%o", m->mode & GR_MNT_MODE_SET ? m->mode & 07777 : 01777);
		mfd = mount_fs_at(rootfd, m->destination, "tmpfs", opts, attrs, err);
		return mfd < 0 ? mfd : 0;
	}
	{
		struct stat st;

		if (fstat(srcfd, &st) < 0)
			return gr_error_sys(err, errno, "stat source of `%s`", m->destination);
		tfd = ensure_path(rootfd, m->destination, S_ISDIR(st.st_mode), err);
	}
	if (tfd < 0)
		return tfd;
	return attach(srcfd, tfd, m->destination, err);
}

/*
 * Cover `path` (if it exists). Every masked directory shows the one empty
 * read-only directory of the job's tmpfs, `*dirmask` (-1 until the first
 * is mounted; the caller closes it): a superblock costs the kernel at each memory cgroup's
 * removal a step per superblock on the node (memcg_reparent_list_lrus(),
 * under cgroup_mutex), so with 1000 jobs each one a job makes counts. The
 * copies are clones of the first once it is attached in this namespace,
 * which open_tree() allows on every kernel that has it; cloning a detached
 * mount is not allowed everywhere.
 */
static int mask_path(int rootfd, int jobfs, const char *path, int *dirmask, struct gr_error **err)
{
	_cleanup_close_ int tfd = -1, mfd = -1;
	struct stat st;
	int r;

	tfd = openat_beneath(rootfd, path, O_PATH);
	if (tfd == -ENOENT)
		return 0; /* nothing to hide */
	if (tfd < 0)
		return gr_error_sys(err, -tfd, "mask `%s`", path);
	if (fstat(tfd, &st) < 0)
		return gr_error_sys(err, errno, "mask `%s`", path);
	if (S_ISDIR(st.st_mode) && *dirmask >= 0) {
		mfd = open_tree(*dirmask, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (mfd < 0)
			return gr_error_sys(err, errno, "mask `%s`", path);
	} else if (S_ISDIR(st.st_mode)) {
		/* the job's tmpfs's `empty` (job_tmpfs()) */
		mfd = job_dir_bind(jobfs, "empty", JOB_ATTRS | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC, 0, err);
		if (mfd < 0)
			return gr_error_prefix(err, "mask `%s`", path);
	} else {
		/* files are covered by the job's own /dev/null, already in place */
		mfd = open_tree(rootfd, "dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (mfd < 0)
			return gr_error_sys(err, errno, "mask `%s`", path);
	}
	r = attach(mfd, tfd, path, err);
	if (r == 0 && S_ISDIR(st.st_mode) && *dirmask < 0)
		*dirmask = TAKE_FD(mfd);
	return r;
}

static int readonly_path(int rootfd, const char *path, struct gr_error **err)
{
	_cleanup_close_ int tfd = -1, mfd = -1;

	tfd = openat_beneath(rootfd, path, O_PATH);
	if (tfd == -ENOENT)
		return 0;
	if (tfd < 0)
		return gr_error_sys(err, -tfd, "read-only `%s`", path);
	mfd = open_tree(tfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (mfd < 0)
		return gr_error_sys(err, errno, "read-only `%s`", path);
	if (set_attrs(mfd, MOUNT_ATTR_RDONLY | JOB_ATTRS, true, path, err) < 0)
		return -(*err)->errnum;
	return attach(mfd, tfd, path, err);
}

static int pivot_into(int rootfd, struct gr_error **err)
{
	/* pivot_root(".", "."): the old root ends up stacked on the new one and
	 * is detached at once; no directory for it is needed (pivot_root(2)). */
	if (fchdir(rootfd) < 0)
		return gr_error_sys(err, errno, "chdir to the new root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return gr_error_sys(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return gr_error_sys(err, errno, "detach the old root");
	if (chdir("/") < 0)
		return gr_error_sys(err, errno, "chdir /");
	return 0;
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

void gr_mount_sources_close(struct gr_mount_sources *src)
{
	if (src->root >= 0)
		close(src->root);
	if (src->sandbox >= 0)
		close(src->sandbox);
	if (src->binds)
		close_all(src->binds, src->n);
	free(src->binds);
	*src = (struct gr_mount_sources){ .root = -1, .sandbox = -1 };
}

int gr_mountns_sources(const struct gr_mount_plan *plan, struct gr_mount_sources *src, struct gr_error **err)
{
	size_t i;

	*src = (struct gr_mount_sources){ .root = -1, .sandbox = -1 };
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return gr_error_sys(err, errno, "mount: make / a recursive slave");

	/* Every host source is cloned now, before anything shadows it; from
	 * the template, "/" itself is the root (made read-only once these are
	 * cloned: a sandbox clone keeps its own flags) */
	if (!plan->template_root) {
		src->root = clone_host(plan->root_path, true, MOUNT_ATTR_RDONLY | JOB_ATTRS, err);
		if (src->root < 0)
			return gr_error_prefix(err, "root");
	}
	if (plan->sandbox) {
		if (plan->sandbox_mnt >= 0) {
			src->sandbox = plan->sandbox_mnt;
			if (set_attrs(src->sandbox, JOB_ATTRS, true, plan->sandbox, err) < 0)
				goto fail_sandbox;
		} else {
			src->sandbox = clone_host(plan->sandbox, true, JOB_ATTRS, err);
			if (src->sandbox < 0)
				goto fail_sandbox;
		}
	}
	src->binds = calloc(plan->nmounts + 1, sizeof(int));
	if (!src->binds) {
		gr_mount_sources_close(src);
		return gr_error_sys(err, ENOMEM, "mounts");
	}
	src->n = plan->nmounts;
	for (i = 0; i < plan->nmounts; i++)
		src->binds[i] = -1;
	for (i = 0; i < plan->nmounts; i++) {
		const struct gr_mount *m = &plan->mounts[i];
		unsigned attrs = JOB_ATTRS | (m->flags & GR_MNT_RDONLY ? MOUNT_ATTR_RDONLY : 0) |
				 (m->flags & GR_MNT_NOEXEC ? MOUNT_ATTR_NOEXEC : 0);

		if (m->type != GR_MOUNT_BIND)
			continue;
		src->binds[i] = clone_host(m->source, m->flags & GR_MNT_RECURSIVE, attrs, err);
		if (src->binds[i] < 0) {
			gr_mount_sources_close(src);
			return gr_error_prefix(err, "mounts[%zu]", i);
		}
	}
	return 0;
fail_sandbox:
	if (plan->sandbox_mnt >= 0)
		src->sandbox = -1;     /* the caller's */
	gr_mount_sources_close(src);
	return gr_error_prefix(err, "sandbox");
}

int gr_mountns_in_child(const struct gr_mount_plan *plan, struct gr_mount_sources *src,
			struct gr_error **err)
{
	char size[32];
	/* without size= each tmpfs may take half of the host's RAM (H2) */
	const char *sz = plan->tmpfs_size ? size : NULL;
	_cleanup_close_ int rootfd = TAKE_FD(src->root), sandboxfd = TAKE_FD(src->sandbox), scratchfd = -1,
			    coverfd = -1, dirmask = -1, jobfs = -1;
	_cleanup_free_ int *srcfds = TAKE_PTR(src->binds);
	int nodes[ARRAY_SIZE(dev_nodes)];
	bool have_nodes = false;
	size_t i;
	int r;

	snprintf(size, sizeof(size), "%llu", plan->tmpfs_size);
	r = clone_dev_nodes(nodes, err);
	if (r < 0)
		goto out;
	have_nodes = true;
	if (plan->template_root) {
		/* 2'. The template's copy: its root is the host's tree, as the
		 * clone below would be; read-only and nosuid, nodev from here on */
		rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		r = rootfd < 0 ? gr_error_sys(err, errno, "open the template's root")
			       : set_attrs(rootfd, MOUNT_ATTR_RDONLY | JOB_ATTRS, true, "/", err);
		if (r < 0)
			goto out;
		goto kernel_fs;
	}
	/* 2. Attach the new root over /tmp of this (private) namespace. */
	{
		_cleanup_close_ int hostroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

		scratchfd = hostroot < 0 ? -errno
					 : openat_beneath(hostroot, "tmp", O_PATH | O_DIRECTORY);
	}
	if (scratchfd < 0) {
		r = gr_error_sys(err, -scratchfd, "mount: open /tmp to attach the new root");
		goto out;
	}
	r = attach(rootfd, scratchfd, "new root", err);
	if (r < 0)
		goto out;

	/* 3. Kernel filesystems and private tmpfs. */
kernel_fs:
	r = mount_fs_at(rootfd, "/proc", "proc", NULL, JOB_ATTRS | MOUNT_ATTR_NOEXEC, err);
	if (r < 0)
		goto out;
	close(r);
	jobfs = r = job_tmpfs(rootfd, sz, err);
	if (r >= 0) {
		have_nodes = false;   /* setup_dev() takes them */
		r = setup_dev(rootfd, jobfs, nodes, err);
	}
	if (r >= 0)   /* /tmp, /var/tmp, then /run over the tmpfs's root */
		r = bind_job_dirs(rootfd, jobfs, 1, ARRAY_SIZE(job_dirs), err);
	if (r < 0)
		goto out;

	/* 4. The sandbox, then the spec's mounts, in order. */
	if (plan->sandbox) {
		r = setup_sandbox(rootfd, plan->sandbox, plan->sandbox_cover, sandboxfd, &coverfd, err);
		if (r < 0)
			goto out;
	}
	for (i = 0; i < plan->nmounts; i++) {
		r = setup_spec_mount(rootfd, &plan->mounts[i], srcfds[i], plan->tmpfs_size, err);
		if (r < 0) {
			gr_error_prefix(err, "mounts[%zu] `%s`", i, plan->mounts[i].destination);
			goto out;
		}
	}
	if (coverfd >= 0 && (r = set_attrs(coverfd, MOUNT_ATTR_RDONLY, false, "the sandboxes' cover", err)) < 0)
		goto out;

	/* 5. Hide and freeze what the job must not read or write. */
	for (i = 0; i < ARRAY_SIZE(default_masked); i++)
		if ((r = mask_path(rootfd, jobfs, default_masked[i], &dirmask, err)) < 0)
			goto out;
	for (i = 0; i < plan->nmasked_paths; i++)
		if ((r = mask_path(rootfd, jobfs, plan->masked_paths[i], &dirmask, err)) < 0)
			goto out;
	for (i = 0; i < ARRAY_SIZE(default_readonly); i++)
		if ((r = readonly_path(rootfd, default_readonly[i], err)) < 0)
			goto out;
	for (i = 0; i < plan->nreadonly_paths; i++)
		if ((r = readonly_path(rootfd, plan->readonly_paths[i], err)) < 0)
			goto out;

	if (!plan->template_root)
		r = pivot_into(rootfd, err);
	else if (chdir("/") < 0)
		r = gr_error_sys(err, errno, "chdir /");
out:
	close_all(srcfds, plan->nmounts);
	if (have_nodes)
		close_all(nodes, ARRAY_SIZE(dev_nodes));
	return r;
}
