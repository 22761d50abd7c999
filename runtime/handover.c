/* SPDX-License-Identifier: GPL-2.0-or-later */
/* handover.c - the sandbox to the leased range and back; see handover.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsstat.h"
#include "handover.h"
#include "util.h"

static bool in_range(const struct gr_handover *h, unsigned long id)
{
	return id >= h->first && id - h->first < h->count;
}

int gr_handover_plan(uid_t owner, gid_t group, uid_t first, unsigned long count, uid_t u, gid_t g,
		     struct gr_handover *h, struct gr_error **err)
{
	if (u >= count || g >= count || first == 0)
		return gr_error_set(err, ERANGE, "sandbox hand-over: ids %u:%u are outside the range %u+%lu",
				    (unsigned)u, (unsigned)g, (unsigned)first, count);
	*h = (struct gr_handover){ .owner = owner, .group = group, .uid = first + u, .gid = first + g,
				   .first = first, .count = count };
	if (owner == 0 || in_range(h, owner))
		return 1;
	if (group == 0 || in_range(h, group))
		h->group = (gid_t)-1;
	return 0;
}

/*
 * The idmap's process shares our fd table (CLONE_FILES): it opens its own
 * user namespace there (no ptrace access check: gridrun-helper is
 * non-dumpable and has no CAP_SYS_PTRACE), says which fd over the pipe,
 * and waits until told to go.
 */
struct holder_pipes {
	int ready[2], go[2];
};

static int holder(void *arg)
{
	struct holder_pipes *hp = arg;
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
	char c;

	(void)!syscall(SYS_write, hp->ready[1], &fd, sizeof(fd));
	(void)!syscall(SYS_read, hp->go[0], &c, 1);
	return 0;
}

/* A user namespace whose maps are OWNER -> uid and GROUP -> gid: the idmap. */
static int idmap_userns(const struct gr_handover *h, struct gr_error **err)
{
	struct holder_pipes hp = { { -1, -1 }, { -1, -1 } };
	int nsfd = -1, status, r = 0;
	char path[64], map[64];
	pid_t pid;

	if (pipe2(hp.ready, O_CLOEXEC) < 0 || pipe2(hp.go, O_CLOEXEC) < 0) {
		r = gr_error_sys(err, errno, "idmap: pipe");
		goto out;
	}
#ifdef __SANITIZE_ADDRESS__
	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | CLONE_FILES | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid == 0)
		_exit(holder(&hp));
#else
	{
		/* no copy of the address space (fork is dear here): it only waits */
		static char stack[16384] __attribute__((aligned(16)));

		pid = clone(holder, stack + sizeof(stack), CLONE_VM | CLONE_FILES | CLONE_NEWUSER | SIGCHLD, &hp);
	}
#endif
	if (pid < 0) {
		r = gr_error_sys(err, errno, "idmap: new user namespace");
		goto out;
	}
	if (gr_read_full(hp.ready[0], &nsfd, sizeof(nsfd)) != sizeof(nsfd) || nsfd < 0) {
		nsfd = -1;
		r = gr_error_set(err, EIO, "idmap: open the new user namespace");
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)h->owner, (unsigned)h->uid);
	if (r >= 0)
		r = gr_write_file_at(AT_FDCWD, path, map, err);
	if (r >= 0) {
		snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
		if (h->group != (gid_t)-1)
			snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)h->group, (unsigned)h->gid);
		else  /* a gid map is needed; one no file of the sandbox has */
			snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)h->gid, (unsigned)h->gid);
		r = gr_write_file_at(AT_FDCWD, path, map, err);
	}
	(void)!write(hp.go[1], "g", 1);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
out:
	for (int i = 0; i < 2; i++) {
		if (hp.ready[i] >= 0)
			close(hp.ready[i]);
		if (hp.go[i] >= 0)
			close(hp.go[i]);
	}
	if (r < 0) {
		if (nsfd >= 0)
			close(nsfd);
		return gr_error_prefix(err, "idmap");
	}
	return nsfd;
}

int gr_handover_idmap(int dirfd, const struct gr_handover *h, struct gr_error **err)
{
	_cleanup_close_ int nsfd = -1, mfd = -1;
	struct mount_attr a = { .attr_set = MOUNT_ATTR_IDMAP };

	mfd = open_tree(dirfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (mfd < 0)
		return gr_error_sys(err, errno, "idmap: clone the sandbox's mount");
	nsfd = idmap_userns(h, err);
	if (nsfd < 0)
		return nsfd;
	a.userns_fd = (unsigned long long)nsfd;
	if (mount_setattr(mfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
		return gr_error_sys(err, errno, "idmap: the sandbox's filesystem or kernel has no idmapped mounts");
	return TAKE_FD(mfd);
}

/*
 * What the walk needs of an entry, always read from an fd on it, and the
 * change is made on that fd: the inode decided on is the inode changed
 * (threat S32: a statx by name then an fchownat by name let a
 * renameat2(RENAME_EXCHANGE) put a hard link to a root file under the name
 * in between). The mount is told by its mount id, not st_dev: on overlayfs
 * a directory has the overlay's st_dev and a file its upper or lower
 * layer's, within one mount.
 */
struct entry {
	uid_t uid;
	gid_t gid;
	mode_t mode;
	unsigned nlink;
	unsigned long long ino;
};

/* 1: fd is on another mount than here's (nothing asked of its file
 * system: fsstat.h, S36), 0: e read, -errno */
static int entry_of(const struct gr_fs_here *here, int fd, struct entry *e)
{
	struct statx stx;
	int r = gr_fs_statx(here, fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
			    STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID | STATX_INO, &stx);

	if (r != 0)
		return r;
	*e = (struct entry){ .uid = stx.stx_uid, .gid = stx.stx_gid, .mode = stx.stx_mode,
			     .nlink = stx.stx_nlink, .ino = stx.stx_ino };
	return 0;
}

struct walk {
	const struct gr_handover *h;
	bool back;
	struct gr_fs_here here;   /* the sandbox's mount */
	struct gr_handover_count n;
	unsigned long failed;        /* entries that could not be changed */
	int first_errno;
	char first_name[256];
};

/*
 * The ids an entry gets, or false: none. Only an entry of the expected
 * owner changes at all, group included (H1: a root file of group GROUP is
 * not the job's to have): OWNER's to the range; back, the range's, and
 * OWNER's entries still in a group of the range (a walk cut short).
 */
static bool wanted(const struct walk *w, const struct entry *st, uid_t *u, gid_t *g)
{
	const struct gr_handover *h = w->h;

	*u = (uid_t)-1;
	*g = (gid_t)-1;
	if (!w->back) {
		if (st->uid != h->owner)
			return false;
		*u = h->uid;
		if (h->group != (gid_t)-1 && st->gid == h->group)
			*g = h->gid;
		return true;
	}
	if (in_range(h, st->uid))
		*u = h->owner;
	else if (st->uid != h->owner)
		return false;
	if (in_range(h, st->gid))
		*g = h->group != (gid_t)-1 ? h->group : (gid_t)h->owner;
	return *u != (uid_t)-1 || *g != (gid_t)-1;
}

/* The entry open at fd (O_PATH|O_NOFOLLOW, or a directory), as read into st. */
static void fix(int fd, const char *name, const struct entry *st, struct walk *w)
{
	uid_t u;
	gid_t g;

	if (!wanted(w, st, &u, &g))
		return;
	/*
	 * A file with another name may have it outside the sandbox (a file of
	 * OWNER's elsewhere, linked in): it is never handed to the range; the
	 * job cannot write it. Going back, an inode of the range is given back
	 * wherever its other names are: that is the point of the way back, and
	 * only the range's inodes (checked here, on the fd) are changed.
	 */
	if (!w->back && !S_ISDIR(st->mode) && st->nlink > 1) {
		w->n.linked++;
		return;
	}
	/* on an O_PATH fd of a symlink, the symlink itself: never its target */
	if (fchownat(fd, "", u, g, AT_EMPTY_PATH) < 0) {
		/* the rest of the tree still goes */
		if (!w->failed++) {
			w->first_errno = errno;
			snprintf(w->first_name, sizeof(w->first_name), "%s", name);
		}
		return;
	}
	w->n.changed++;
}

struct names {
	struct sub {
		char *name;
		unsigned long long ino;
	} *v;
	size_t n, cap;
};

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i].name);
	free(ns->v);
}

static int names_add(struct names *ns, const char *name, unsigned long long ino)
{
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 16;
		struct sub *v = realloc(ns->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ns->v = v;
		ns->cap = cap;
	}
	ns->v[ns->n].name = strdup(name);
	if (!ns->v[ns->n].name)
		return -ENOMEM;
	ns->v[ns->n++].ino = ino;
	return 0;
}

/* Entries of the directory fd (which stays open): non-directories are fixed
 * at once, directories collected for the caller to descend into. */
static int list(int fd, struct walk *w, struct names *dirs, struct gr_error **err)
{
	int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (dup_fd < 0)
		return gr_error_sys(err, errno, "open directory");
	d = fdopendir(dup_fd);
	if (!d) {
		close(dup_fd);
		return gr_error_sys(err, errno, "fdopendir");
	}
	while (r == 0 && (errno = 0, de = readdir(d))) {
		_cleanup_close_ int efd = -1;
		struct entry st;
		int e;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* O_PATH: no open of a device or FIFO, no permission needed */
		efd = openat(fd, de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (efd < 0) {
			if (errno != ENOENT)    /* gone under the walk: nothing to hand over */
				r = gr_error_sys(err, errno, "open `%s`", de->d_name);
			continue;
		}
		e = entry_of(&w->here, efd, &st);
		if (e < 0) {
			r = gr_error_sys(err, -e, "stat `%s`", de->d_name);
			continue;
		}
		if (e > 0)
			continue;     /* a mount point: not the sandbox's mount */
		if (!S_ISDIR(st.mode))
			fix(efd, de->d_name, &st, w);
		else if (names_add(dirs, de->d_name, st.ino) < 0)
			r = gr_error_sys(err, ENOMEM, "walk");
	}
	if (r == 0 && errno)
		r = gr_error_sys(err, errno, "readdir");
	closedir(d);
	return r;
}

/* fd: a directory already checked to be on the sandbox's mount; its entries and subtrees. */
static int walk_dir(int fd, struct walk *w, unsigned depth, struct gr_error **err)
{
	struct names dirs = { 0 };
	int r;

	if (depth > GR_HANDOVER_MAX_DEPTH)
		return gr_error_set(err, ELOOP, "the sandbox is deeper than %u directories",
				    GR_HANDOVER_MAX_DEPTH);
	r = list(fd, w, &dirs, err);
	for (size_t i = 0; r == 0 && i < dirs.n; i++) {
		_cleanup_close_ int sub = -1;
		struct entry st;

		sub = openat(fd, dirs.v[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
				r = gr_error_sys(err, errno, "open `%s`", dirs.v[i].name);
			continue;
		}
		/* the directory listed, not one swapped in since */
		if (entry_of(&w->here, sub, &st) != 0 || st.ino != dirs.v[i].ino)
			continue;
		fix(sub, dirs.v[i].name, &st, w);
		r = walk_dir(sub, w, depth + 1, err);
		/* not the depth error (the only ELOOP that comes up here): 512
		 * names before it made a line of kilobytes */
		if (r < 0 && r != -ELOOP)
			gr_error_prefix(err, "%s", dirs.v[i].name);
	}
	names_free(&dirs);
	return r;
}

int gr_handover_chown(int dirfd, const struct gr_handover *h, bool back, struct gr_handover_count *n,
		      struct gr_error **err)
{
	_cleanup_close_ int fd = -1;
	struct walk w = { .h = h, .back = back };
	struct rlimit nofile;
	struct entry st;
	int r;

	/* a FUSE daemon decides every owner the walk would read, and by never
	 * answering (from the open of the sandbox on) it could stall the walk
	 * (S36): told from the caller's fd (O_PATH will do), without a request */
	r = gr_fs_here_of(dirfd, &w.here);
	if (r == 0 && w.here.fuse)
		return gr_error_set(err, EMEDIUMTYPE, "sandbox hand-over%s: the sandbox is on a FUSE file "
				    "system (%s), whose daemon answers for every owner and can stall the walk: "
				    "not walked", back ? " back" : "", w.here.type);
	if (r == -ENOENT)
		return gr_error_set(err, EXDEV, "sandbox hand-over%s: the sandbox is on a mount of another "
				    "mount namespace: not walked", back ? " back" : "");
	if (r >= 0 && (fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return gr_error_sys(err, errno, "sandbox hand-over: open the sandbox");
	if (r >= 0)
		r = entry_of(&w.here, fd, &st);
	if (r != 0)
		return gr_error_sys(err, r < 0 ? -r : EIO, "sandbox hand-over: stat the sandbox");
	/* one fd per level: the caller's soft limit must not cut a deep tree */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	fix(fd, ".", &st, &w);
	r = walk_dir(fd, &w, 1, err);
	if (n)
		*n = w.n;
	if (r == 0 && w.failed) {
		char more[48] = "";

		if (w.failed > 1)
			snprintf(more, sizeof(more), " (and %lu more)", w.failed - 1);
		r = gr_error_sys(err, w.first_errno, "chown `%s`%s", w.first_name, more);
	}
	if (r < 0)
		return gr_error_prefix(err, "sandbox hand-over%s", back ? " back" : "");
	return 0;
}

int gr_handover_begin(int dirfd, const struct gr_handover *h, enum gr_handover_way way,
		      int *mntfd, struct gr_handover_count *n, struct gr_error **err)
{
	*mntfd = -1;
	*n = (struct gr_handover_count){ 0 };
	if (way != GR_HANDOVER_CHOWN) {
		_cleanup_gr_error_ struct gr_error *e = NULL;
		int fd = gr_handover_idmap(dirfd, h, way == GR_HANDOVER_IDMAP ? err : &e);

		if (fd >= 0) {
			*mntfd = fd;
			return 0;
		}
		if (way == GR_HANDOVER_IDMAP)
			return gr_error_prefix(err, "sandbox hand-over");
		/* the kernel or filesystem cannot: the walk does what it would */
		if (fd != -EINVAL && fd != -EOPNOTSUPP && fd != -ENOSYS && fd != -EPERM) {
			*err = TAKE_PTR(e);
			return gr_error_prefix(err, "sandbox hand-over");
		}
	}
	return gr_handover_chown(dirfd, h, false, n, err);
}
