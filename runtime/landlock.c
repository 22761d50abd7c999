/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "landlock.h"
#include "util.h"

/* Newer than Debian 12's linux-libc-dev (6.1): the kernel's UAPI values. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

/* struct landlock_ruleset_attr as of ABI 6; older kernels accept the longer
 * struct as long as the fields they do not know are zero. */
struct ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define FS_FILE_WRITE (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
		       LANDLOCK_ACCESS_FS_IOCTL_DEV)
#define FS_ALL_WRITE (FS_FILE_WRITE | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
		      LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR | \
		      LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | \
		      LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | \
		      LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM | \
		      LANDLOCK_ACCESS_FS_REFER)

/* The write rights ABI abi knows: best effort, what it lacks is not handled. */
static uint64_t handled_fs(int abi)
{
	uint64_t h = FS_ALL_WRITE;

	if (abi < 2)
		h &= ~LANDLOCK_ACCESS_FS_REFER;
	if (abi < 3)
		h &= ~LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi < 5)
		h &= ~LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return h;
}

int gr_landlock_abi(void)
{
	static int abi;

	if (!abi) {
		long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

		abi = v > 0 ? (int)v : -(errno ? errno : ENOSYS);
	}
	return abi;
}

int gr_landlock_plan(const struct gr_spec *spec, bool site_off)
{
	if (site_off || spec->landlock == GR_LANDLOCK_OFF)
		return 0;
	return gr_landlock_abi();
}

/* Beneath the job's "/": the job's own paths, no symlink followed. */
static int open_in_job(const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static int add_fd(int rfd, int fd, uint64_t access)
{
	struct landlock_path_beneath_attr pb = { .allowed_access = access, .parent_fd = fd };

	if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		return -errno;
	return 0;
}

static int add_path(int rfd, const char *path, uint64_t access, bool optional, struct gr_error **err)
{
	_cleanup_close_ int fd = open_in_job(path);
	struct stat st;
	int r;

	if (fd < 0) {
		if (optional && fd == -ENOENT)
			return 0;
		return gr_error_sys(err, -fd, "landlock: open `%s`", path);
	}
	if (fstat(fd, &st) < 0)
		return gr_error_sys(err, errno, "landlock: stat `%s`", path);
	/* a rule on a non-directory may hold only the rights of files */
	if (!S_ISDIR(st.st_mode))
		access &= FS_FILE_WRITE;
	r = add_fd(rfd, fd, access);
	if (r < 0)
		return gr_error_sys(err, -r, "landlock: allow writes beneath `%s`", path);
	return 0;
}

/*
 * The job's stdio passes through (design §3). A regular file or a device
 * open for writing may be reopened by path (/dev/stdout): allow writing that
 * inode, which the job can write through the fd anyway. Pipes and sockets
 * are not Landlock's (EBADFD on their fds) and need no rule.
 */
static int add_stdio(int rfd, uint64_t handled, struct gr_error **err)
{
	for (int fd = 0; fd < 3; fd++) {
		struct stat st;
		int fl = fcntl(fd, F_GETFL), r;

		if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY || (fl & O_PATH) || fstat(fd, &st) < 0)
			continue;
		if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
			continue;
		r = add_fd(rfd, fd, handled & FS_FILE_WRITE);
		if (r < 0 && r != -EBADFD)
			return gr_error_sys(err, -r, "landlock: allow writes to stdio fd %d", fd);
	}
	return 0;
}

int gr_landlock_ruleset_in_child(const struct gr_spec *spec, int abi, struct gr_error **err)
{
	/* /dev/mqueue: mq_open(O_CREAT) and mq_unlink() go through the path
	 * hooks on the IPC namespace's internal mount of the same superblock */
	static const char *const tmpfs[] = { "/tmp", "/var/tmp", "/run", "/dev/shm", "/dev/mqueue" };
	static const char *const devs[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/random",
					    "/dev/urandom", "/dev/tty", "/dev/pts" };
	struct ruleset_attr attr = { .handled_access_fs = handled_fs(abi) };
	_cleanup_close_ int rfd = -1;
	uint64_t all = attr.handled_access_fs;

	if (abi >= GR_LANDLOCK_ABI_SCOPE)
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
	rfd = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rfd < 0)
		return gr_error_sys(err, errno, "landlock: create the ruleset (ABI %d)", abi);
	if (spec->sandbox && add_path(rfd, spec->sandbox, all, false, err) < 0)
		return -(*err)->errnum;
	for (size_t i = 0; i < ARRAY_SIZE(tmpfs); i++)
		if (add_path(rfd, tmpfs[i], all, false, err) < 0)
			return -(*err)->errnum;
	for (size_t i = 0; i < spec->nmounts; i++)
		if (!(spec->mounts[i].flags & GR_MNT_RDONLY) &&
		    add_path(rfd, spec->mounts[i].destination, all, false, err) < 0)
			return -(*err)->errnum;
	/* /dev/tty may be absent on a node without one (optional) */
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++)
		if (add_path(rfd, devs[i], all & FS_FILE_WRITE, true, err) < 0)
			return -(*err)->errnum;
	if (add_stdio(rfd, all, err) < 0)
		return -(*err)->errnum;
	return TAKE_FD(rfd);
}

int gr_landlock_restrict_in_child(int rulesetfd, struct gr_error **err)
{
	if (syscall(SYS_landlock_restrict_self, rulesetfd, 0) < 0)
		return gr_error_sys(err, errno, "landlock: restrict the job");
	return 0;
}

const char *gr_landlock_describe(int abi, char *buf, size_t len)
{
	if (abi > 0)
		snprintf(buf, len, "ABI %d: writes only to the sandbox, tmpfs, rw mounts and devices%s; "
			 "abstract unix sockets and signals %s", abi,
			 abi < 2 ? " (no cross-directory rename: ABI 2)" : "",
			 abi >= GR_LANDLOCK_ABI_SCOPE ? "scoped to the job"
			 : "not scoped: not available (needs ABI 6, Linux 6.12)");
	else if (abi == -ENOSYS)
		snprintf(buf, len, "not available: kernel built without CONFIG_SECURITY_LANDLOCK");
	else if (abi == -EOPNOTSUPP)
		snprintf(buf, len, "not available: landlock is not in the kernel's lsm= list");
	else if (abi < 0)
		snprintf(buf, len, "not available: %s", strerror(-abi));
	else
		snprintf(buf, len, "off (turned off by the site or the spec)");
	return buf;
}
