/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mnt-template.c - the template mount namespace; see mnt-template.h.
 *
 * Everything below the state directory is reached from fds: the directory
 * by openat2(RESOLVE_NO_SYMLINKS), its entries by name from it. It is the
 * state directory owner's alone (0700), as the state directory is writable
 * by its owner alone (state.h), so nobody else can swap `ns` or `mountinfo`.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mnt-template.h"
#include "util.h"

#define NS_FILE "ns"
#define INFO_FILE "mountinfo"
#define INFO_TMP "mountinfo.tmp"
/* HEADER TEMPLATE_NS_INO MAKER_NS_INO: the pinned namespace, and the mount
 * namespace its maker ran in (whose mounts the rest of the file lists) */
#define HEADER "gridrun mount template 2 "

static int open_beneath(int dirfd, const char *path, int flags)
{
	struct open_how how = { .flags = (unsigned)flags | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/* STATE_DIR/.mnt-template, ours and closed to others; -errno if not. */
static int open_dir(const char *state_dir, bool create)
{
	_cleanup_close_ int sfd = open_beneath(AT_FDCWD, state_dir, O_PATH | O_DIRECTORY);
	struct stat st;
	int fd;

	if (sfd < 0)
		return sfd;
	if (create && mkdirat(sfd, GR_MNT_TEMPLATE_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	fd = open_beneath(sfd, GR_MNT_TEMPLATE_DIR, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* The pinned namespace, if `ns` is one (not the empty file it is mounted on). */
static int open_ns(int dirfd)
{
	int fd = openat(dirfd, NS_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The inode of this process's mount namespace; 0 if it cannot be told. */
static unsigned long long own_ns(void)
{
	struct stat st;

	return stat("/proc/self/ns/mnt", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* The record's first line for namespace nsfd made from this process's
 * namespace, into head (size 96); its length, or -1. */
static int header(int nsfd, char *head, size_t size)
{
	struct stat st;

	if (fstat(nsfd, &st) < 0)
		return -1;
	return snprintf(head, size, HEADER "%llu %llu\n", (unsigned long long)st.st_ino, own_ns());
}

/* The template's record (rec, rlen: INFO_FILE's text; NULL: none) names
 * namespace nsfd, made from this process's mount namespace, and the
 * mounts seen now. */
static bool matches(const char *rec, size_t rlen, int nsfd)
{
	_cleanup_free_ char *now = NULL;
	size_t nlen = 0;
	char head[96];
	int n = rec ? header(nsfd, head, sizeof(head)) : -1;

	if (n <= 0 || gr_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &now, &nlen, NULL) < 0)
		return false;
	return rlen == (size_t)n + nlen && !memcmp(rec, head, (size_t)n) && !memcmp(rec + n, now, nlen);
}

/* The maker's mount namespace the record rec names; 0 when it names none
 * (an older record, or none at all). */
static unsigned long long maker_ns(const char *rec)
{
	unsigned long long tmpl = 0, maker = 0;

	if (!rec || sscanf(rec, HEADER "%llu %llu\n", &tmpl, &maker) != 2)
		return 0;
	return maker;
}

int gr_mnt_template_open(const char *state_dir, const char **why)
{
	_cleanup_close_ int dirfd = -1, nsfd = -1;
	_cleanup_free_ char *rec = NULL;
	size_t rlen = 0;

	*why = "none";
	if (geteuid() != 0)
		return -1;
	dirfd = open_dir(state_dir, false);
	if (dirfd < 0)
		return -1;
	nsfd = open_ns(dirfd);
	if (nsfd < 0)
		return -1;
	if (gr_read_file_at(dirfd, INFO_FILE, &rec, &rlen, NULL) < 0 || !matches(rec, rlen, nsfd)) {
		*why = "stale: the mounts this process sees changed since it was made (gridrun gc remakes it)";
		return -1;
	}
	*why = "found";
	return TAKE_FD(nsfd);
}

int gr_mnt_template_stale(const char *state_dir)
{
	_cleanup_close_ int dirfd = open_dir(state_dir, false), nsfd = -1;
	_cleanup_free_ char *rec = NULL;
	unsigned long long maker;
	size_t rlen = 0;

	if (dirfd < 0)
		return 0;
	(void)gr_read_file_at(dirfd, INFO_FILE, &rec, &rlen, NULL);   /* none (rec NULL): stale */
	nsfd = open_ns(dirfd);
	if (nsfd >= 0 && matches(rec, rlen, nsfd))
		return 0;
	maker = maker_ns(rec);
	return maker && maker != own_ns() ? 2 : 1;
}

/* The template's process: a private copy of our namespace, pivoted into a
 * recursive clone of "/" (attached over its /tmp first, as mountns.c
 * does). It says so on `ready` and lives until `hold` closes. */
__attribute__((noreturn)) static void template_child(int ready, int hold, int cpu)
{
	_cleanup_close_ int root = -1, tmp = -1;
	char c;

	if (cpu >= 0) {
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		(void)sched_setaffinity(0, sizeof(one), &one);
	}
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		_exit(1);
	root = (int)open_tree(AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	tmp = open_beneath(AT_FDCWD, "/tmp", O_PATH | O_DIRECTORY);
	if (root < 0 || tmp < 0 || move_mount(root, "", tmp, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0 ||
	    fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0)
		_exit(2);
	if (write(ready, "k", 1) != 1)
		_exit(3);
	while (read(hold, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* Unmount whatever is mounted on `ns` (a remade template replaces it). */
static void unpin(int dirfd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d/" NS_FILE, dirfd);
	for (int i = 0; i < 16 && umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0; i++)
		;
}

static int record(int dirfd, struct gr_error **err)
{
	_cleanup_free_ char *now = NULL;
	_cleanup_close_ int nsfd = open_ns(dirfd), fd = -1;
	char head[96];
	size_t nlen = 0;
	int n = nsfd < 0 ? -1 : header(nsfd, head, sizeof(head));

	if (n <= 0)
		return gr_error_set(err, EIO, "mount template: the pinned namespace cannot be opened");
	if (gr_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &now, &nlen, err) < 0)
		return -1;
	(void)unlinkat(dirfd, INFO_TMP, 0);
	fd = openat(dirfd, INFO_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || gr_write_all(fd, head, (size_t)n) != n || gr_write_all(fd, now, nlen) != (ssize_t)nlen ||
	    renameat(dirfd, INFO_TMP, dirfd, INFO_FILE) < 0)
		return gr_error_sys(err, errno, "mount template: record its mounts");
	return 0;
}

/*
 * One try: a template process (on cpu, if >= 0) and its namespace pinned
 * on `ns`. 1 done; 0 the kernel took the namespace for a loop (below); else
 * -errno with err set.
 *
 * Why tries: the kernel refuses to bind a mount namespace's file into a
 * namespace whose id is not smaller (mnt_ns_loop(): a loop of pins could
 * otherwise keep both alive), and on 6.18 namespace ids come from per-CPU
 * batches, so a namespace made now may get a smaller id than ours (seen:
 * 720378 against 722757). A namespace made on the CPU that took the newest
 * batch is above every older one: each CPU is tried in turn.
 */
static int make_once(int dirfd, int cpu, struct gr_error **err)
{
	int ready[2] = { -1, -1 }, hold[2] = { -1, -1 }, status, r = 0;
	char c, src[64], dst[64];
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(hold, O_CLOEXEC) < 0) {
		r = gr_error_sys(err, errno, "mount template: pipe");
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = gr_error_sys(err, errno, "mount template: fork");
		goto out;
	}
	if (pid == 0) {
		close(ready[0]);
		close(hold[1]);
		template_child(ready[1], hold[0], cpu);
	}
	close(TAKE_FD(ready[1]));
	close(TAKE_FD(hold[0]));
	if (read(ready[0], &c, 1) != 1) {
		r = gr_error_set(err, EIO, "mount template: its namespace could not be built");
	} else {
		unpin(dirfd);
		snprintf(src, sizeof(src), "/proc/%d/ns/mnt", (int)pid);
		snprintf(dst, sizeof(dst), "/proc/self/fd/%d/" NS_FILE, dirfd);
		if (mount(src, dst, NULL, MS_BIND, NULL) == 0)
			r = 1;
		else if (errno != EINVAL)
			r = gr_error_sys(err, errno, "mount template: pin its namespace");
	}
	close(TAKE_FD(hold[1]));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
out:
	for (int i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (hold[i] >= 0)
			close(hold[i]);
	}
	return r;
}

int gr_mnt_template_make(const char *state_dir, struct gr_error **err)
{
	_cleanup_close_ int dirfd = -1, pinfd = -1;
	cpu_set_t cpus;
	int r = 0, tries = 0;

	if (geteuid() != 0)
		return gr_error_set(err, EPERM, "mount template: only root makes one");
	dirfd = open_dir(state_dir, true);
	if (dirfd < 0)
		return gr_error_sys(err, -dirfd, "mount template: `%s/" GR_MNT_TEMPLATE_DIR "` (a 0700 directory "
				    "of the state directory's owner, no symlink)", state_dir);
	if (flock(dirfd, LOCK_EX) < 0)
		return gr_error_sys(err, errno, "mount template: lock");
	pinfd = openat(dirfd, NS_FILE, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (pinfd < 0)
		return gr_error_sys(err, errno, "mount template: `" NS_FILE "`");
	if (sched_getaffinity(0, sizeof(cpus), &cpus) < 0)
		CPU_ZERO(&cpus);
	/* first where we are; then each CPU we may run on, twice over */
	for (int round = 0; r == 0 && round < 3; round++)
		for (int cpu = round ? 0 : -1; r == 0 && cpu < CPU_SETSIZE && tries < 64; cpu++) {
			if (cpu >= 0 && !CPU_ISSET(cpu, &cpus))
				continue;
			tries++;
			r = make_once(dirfd, cpu, err);
			if (cpu < 0)
				break;
		}
	if (r == 0)
		r = gr_error_set(err, ELOOP, "mount template: the kernel took every new namespace's pin for a loop "
				 "(%d tries)", tries);
	if (r > 0 && (r = record(dirfd, err)) < 0)
		unpin(dirfd);
	return r < 0 ? r : 0;
}

int gr_mnt_template_remove(const char *state_dir, struct gr_error **err)
{
	_cleanup_close_ int sfd = open_beneath(AT_FDCWD, state_dir, O_PATH | O_DIRECTORY), dirfd = -1, nsfd = -1;
	bool had;

	if (sfd == -ENOENT)
		return 0;
	dirfd = open_dir(state_dir, false);
	if (dirfd == -ENOENT)
		return 0;
	if (dirfd < 0)
		return gr_error_sys(err, -dirfd, "mount template: `%s/" GR_MNT_TEMPLATE_DIR "`", state_dir);
	if (flock(dirfd, LOCK_EX) < 0)
		return gr_error_sys(err, errno, "mount template: lock");
	nsfd = open_ns(dirfd);
	had = nsfd >= 0;
	if (nsfd >= 0)
		close(TAKE_FD(nsfd));
	unpin(dirfd);
	if ((nsfd = open_ns(dirfd)) >= 0)
		return gr_error_set(err, EBUSY, "mount template: `" NS_FILE "` stays mounted");
	(void)unlinkat(dirfd, INFO_FILE, 0);
	(void)unlinkat(dirfd, INFO_TMP, 0);
	(void)unlinkat(dirfd, NS_FILE, 0);
	if (unlinkat(sfd, GR_MNT_TEMPLATE_DIR, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return gr_error_sys(err, errno, "mount template: remove `%s/" GR_MNT_TEMPLATE_DIR "`", state_dir);
	return had;
}

void gr_mnt_template_drop(struct gr_mnt_home *home)
{
	if (home->ns >= 0)
		close(home->ns);
	if (home->root >= 0)
		close(home->root);
	if (home->cwd >= 0)
		close(home->cwd);
	*home = (struct gr_mnt_home){ .ns = -1, .root = -1, .cwd = -1 };
}

int gr_mnt_template_enter(int tmpl, struct gr_mnt_home *home, struct gr_error **err)
{
	int e;

	*home = (struct gr_mnt_home){ .ns = -1, .root = -1, .cwd = -1 };
	home->ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	home->root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	home->cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (home->ns >= 0 && home->root >= 0 && home->cwd >= 0 && setns(tmpl, CLONE_NEWNS) == 0)
		return 0;
	e = errno;
	gr_mnt_template_drop(home);
	return gr_error_sys(err, e, "mount template: enter it");
}

int gr_mnt_template_leave(struct gr_mnt_home *home, struct gr_error **err)
{
	int r = 0;

	if (setns(home->ns, CLONE_NEWNS) < 0 || fchdir(home->root) < 0 || chroot(".") < 0 || fchdir(home->cwd) < 0)
		r = gr_error_sys(err, errno, "mount template: back to the supervisor's mount namespace");
	gr_mnt_template_drop(home);
	return r;
}
