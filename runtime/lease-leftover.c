/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lease-leftover.c - what a lingerer of a range left where the host's users
 * can reach it (threats S20, issue 12 V5(c)).
 *
 * A job's /tmp, /var/tmp, /run and /dev/shm are tmpfs of its own and its IPC
 * namespace is its own, so no job process writes the host's. A process that
 * entered the range's user namespace from outside (helper mode without the
 * BPF LSM: the pilot owns that namespace) is host uid FIRST there, and can
 * leave a setuid-to-the-range binary or a FIFO for the range's next tenant,
 * or an IPC object the next tenant's processes may open as their own. Release
 * kills it (lease-userns.c); what it made stays. So, after the holders are
 * dead, release and gc look for any of these whose owner or group lies in
 * the range, and keep the range "blocked" with one line naming the first one
 * found, until a `gridrun gc` finds none (an admin removes it: gridrun does
 * not guess whether it is evidence or garbage, and never removes anything):
 *  - inodes in the world-writable directories leftover_dirs[]: /tmp,
 *    /var/tmp, /dev/shm and /run/lock (Debian's 1777 lock directory, which
 *    /var/lock links to); each is opened as a root of its own, since each
 *    may be a mount of its own;
 *  - POSIX message queues of the caller's IPC namespace (the host's), read
 *    from a detached mount of its mqueue file system (fsopen + fsmount: the
 *    kernel hands out the namespace's one superblock), so they are seen
 *    whether or not /dev/mqueue is mounted (this host: not; the v2 guest: it
 *    is);
 *  - SysV shared memory segments, message queues and semaphore sets of that
 *    IPC namespace (/proc/sysvipc/shm, msg, sem) whose owner, group,
 *    creator or creator's group lies in the range (IPC_SET lets the creator
 *    give an object away and keep owner rights to it: the creator counts);
 *  - inodes in the directories the site names in [runtime] leftover_dirs
 *    (config.c checks each is absolute and reached through no symlink): a
 *    key, not a guess, because gridrun cannot tell which of a node's file
 *    systems every user may write, and reading them all at each release
 *    would cost what a scratch file system holds; the admin can tell.
 * Not covered: world-writable directories the site does not name (a
 * scratch file system, /var/crash), IPC namespaces other than the
 * caller's (a job's own dies with it; one kept by an nsfs mount is what
 * lease-userns.c looks for), and kernel keys of the range (/proc/keys).
 * All of it is the caller's view: its mount namespace's /tmp, its IPC
 * namespace. So whatever frees ranges must see the node's own: the gc unit
 * has no PrivateTmp or other namespace of its own (tests/install.t).
 *
 * Where the range could write: the top level of each directory (all of them
 * are sticky and world-writable), anything below a directory of the range
 * (which is found itself, at its own level), and below directories that are
 * writable by others. So each top level is read in full, and only
 * other-writable directories are entered, to GR_LEFTOVER_DEPTH levels. Each
 * step is fd-relative: entries are judged by statx(AT_SYMLINK_NOFOLLOW)
 * (fsstat.h: a mount point, on another mount than the directory, is passed
 * over before its file system is asked anything, since a user's FUSE
 * daemon may never answer: S36), directories opened with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV) from the one that listed them, so no symlink is followed
 * and no mount is crossed (a directory on another mount is not the host's
 * /tmp: what a mount point hides is not judged either). Nothing is
 * changed, only read.
 * A scan that meets more than GR_LEFTOVER_ENTRIES entries or deeper
 * other-writable directories, or cannot look at the message queues or at
 * /proc/sysvipc, cannot promise anything: it blocks the range and says so
 * (a local user can make that happen to every range, a denial of service
 * that `gridrun ps` names; a range reused with a leftover is worse).
 * Cost: one readdir and one statx per entry (on a file system not known
 * to be local, an O_PATH open and two: fsstat.h), one read of mountinfo,
 * one detached mount, three small /proc reads. On the test host (kernel 6.18, 2 CPUs under a load
 * of 17 to 40; 57 to 80 entries in the four directories, no IPC objects),
 * the time GRIDRUN_DEBUG=1 prints, over 200 to 300 calls in a row: at
 * b347964 (3 directories) min 176-212 us, median 193-259 us; now min
 * 296-345 us, median 332-614 us; of that the detached mqueue mount ~70 us
 * and the three /proc reads ~25 us. The namespace scan before it
 * (lease-userns.c) takes ~2 s per release on the same host (3100
 * processes, 1000 user namespaces); GRIDRUN_DEBUG=1
 * prints both for each release.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fsstat.h"
#include "lease-int.h"
#include "util.h"

static const char *const leftover_dirs[] = { "/tmp", "/var/tmp", "/dev/shm", "/run/lock" };

#define GR_LEFTOVER_DEPTH 8
#define GR_LEFTOVER_ENTRIES 100000u

struct leftover_scan {
	unsigned long long lo, hi;
	unsigned entries;
	const char *kind;             /* what an entry is, for the line: "" for a file */
	const char *mountinfo;        /* /proc/self/mountinfo's text, read once (fsstat.h) */
	char *why;
	size_t size;
};

static bool id_in(const struct leftover_scan *s, unsigned long long id)
{
	return id >= s->lo && id < s->hi;
}

static int open_below(int dfd, const char *name)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
					   RESOLVE_NO_XDEV };

	return (int)syscall(SYS_openat2, dfd, name, &how, sizeof(how));
}

static int too_many(struct leftover_scan *s, const char *where)
{
	if (++s->entries <= GR_LEFTOVER_ENTRIES)
		return 0;
	snprintf(s->why, s->size, "cannot finish the scan for its files in `%s`: more than %u entries",
		 where, GR_LEFTOVER_ENTRIES);
	return 1;
}

/* Directory dfd (path, for the line) on the mount here: 1 with why set
 * when a leftover is found or the scan cannot finish, 0 when none is
 * there. Consumes dfd. */
static int scan_dir(struct leftover_scan *s, const struct gr_fs_here *here, int dfd, const char *path,
		    int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		close(dfd);
		return 0;   /* gone: nothing left there */
	}
	while (r == 0 && (de = readdir(d))) {
		char sub[PATH_MAX];
		struct statx st;
		int fd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((r = too_many(s, path)))
			break;
		/* a mount point (a FUSE daemon of a user's may never answer, S36),
		 * or gone: another mount is not ours to judge (fsstat.h) */
		if (gr_fs_statx(here, dirfd(d), de->d_name, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE |
				STATX_UID | STATX_GID, &st) != 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (id_in(s, st.stx_uid) || id_in(s, st.stx_gid)) {
			snprintf(s->why, s->size, "%s`%.150s` (owner %u, group %u, mode %04o) is its; remove it "
				 "and run `gridrun gc`", s->kind, sub, (unsigned)st.stx_uid, (unsigned)st.stx_gid,
				 (unsigned)(st.stx_mode & 07777));
			r = 1;
			break;
		}
		if (!S_ISDIR(st.stx_mode) || !(st.stx_mode & S_IWOTH))
			continue;
		if (depth >= GR_LEFTOVER_DEPTH) {
			snprintf(s->why, s->size, "cannot finish the scan for its files below `%.150s`: "
				 "writable directories deeper than %d levels", sub, GR_LEFTOVER_DEPTH);
			r = 1;
			break;
		}
		fd = open_below(dirfd(d), de->d_name);
		if (fd >= 0)   /* gone: nothing to judge */
			r = scan_dir(s, here, fd, sub, depth + 1);
	}
	closedir(d);
	return r;
}

/* The POSIX message queues of the caller's IPC namespace: its mqueue file
 * system's one superblock (the kernel keys it by the namespace), mounted
 * nowhere, read through the new mount's fd, and gone with that fd. */
static int scan_mqueues(struct leftover_scan *s)
{
	_cleanup_close_ int fc = -1, mnt = -1;
	const char *step = "fsopen";
	int fd, r;

	fc = (int)syscall(SYS_fsopen, "mqueue", FSOPEN_CLOEXEC);
	if (fc < 0 && errno == ENODEV)
		return 0;   /* a kernel without POSIX message queues */
	if (fc >= 0) {
		step = "fsconfig";
		if (syscall(SYS_fsconfig, fc, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) {
			step = "fsmount";
			mnt = (int)syscall(SYS_fsmount, fc, FSMOUNT_CLOEXEC,
					   MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					   MOUNT_ATTR_NOEXEC);
		}
	}
	if (mnt >= 0) {
		/* detached, so in no mountinfo: a file system of the kernel's own */
		struct gr_fs_here here = { .sync = false };

		step = "open";
		fd = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && (r = gr_fs_mnt_id(fd, &here.mnt)) < 0) {
			close(fd);
			fd = -1;
			errno = -r;
			step = "statx";
		}
		if (fd >= 0) {
			s->kind = "POSIX message queue ";
			r = scan_dir(s, &here, fd, "", 1);
			s->kind = "";
			return r;
		}
	}
	snprintf(s->why, s->size, "cannot look for its POSIX message queues: %s: %s", step, strerror(errno));
	return 1;
}

/* One /proc/sysvipc file: an object whose uid, gid, cuid or cgid (host ids:
 * root reads them in the initial user namespace) is the range's. The
 * columns are found by the header's names, as their order differs by file. */
static int scan_sysv(struct leftover_scan *s, const char *file, const char *id_col, const char *kind)
{
	enum { ID, UID, GID, CUID, CGID, NCOLS };
	const char *names[NCOLS] = { id_col, "uid", "gid", "cuid", "cgid" };
	int col[NCOLS] = { -1, -1, -1, -1, -1 };
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(file, "re");
	int r = 0;

	if (!f) {
		if (errno == ENOENT)
			return 0;   /* a kernel without SysV IPC */
		snprintf(s->why, s->size, "cannot look for its %ss: `%s`: %s", kind, file, strerror(errno));
		return 1;
	}
	if (getline(&line, &cap, f) > 0) {
		char *save = NULL, *t = strtok_r(line, " \t\n", &save);

		for (int i = 0; t; i++, t = strtok_r(NULL, " \t\n", &save))
			for (int c = 0; c < NCOLS; c++)
				if (!strcmp(t, names[c]))
					col[c] = i;
	}
	for (int c = 0; c < NCOLS; c++)
		if (col[c] < 0) {
			snprintf(s->why, s->size, "cannot look for its %ss: `%s` has no %s column", kind, file,
				 names[c]);
			fclose(f);
			return 1;
		}
	while (r == 0 && getline(&line, &cap, f) > 0) {
		unsigned long long v[NCOLS] = { 0 };
		char *save = NULL, *t = strtok_r(line, " \t\n", &save);
		bool ours = false;

		if ((r = too_many(s, file)))
			break;
		for (int i = 0; t; i++, t = strtok_r(NULL, " \t\n", &save))
			for (int c = 0; c < NCOLS; c++)
				if (col[c] == i)
					v[c] = strtoull(t, NULL, 10);
		for (int c = UID; c < NCOLS; c++)
			ours = ours || id_in(s, v[c]);
		if (ours) {
			snprintf(s->why, s->size, "%s %llu (owner %llu, group %llu, creator %llu, creator's group "
				 "%llu) is its; remove it (ipcrm) and run `gridrun gc`", kind, v[ID], v[UID], v[GID],
				 v[CUID], v[CGID]);
			r = 1;
		}
	}
	fclose(f);
	return r;
}

/* One directory, opened as a root of its own (absent, or a symlink: not a
 * place the range could write through that name). */
static int scan_root(struct leftover_scan *s, const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	struct gr_fs_here here = { .sync = true };

	if (fd < 0)
		return 0;
	/* a type not found: its entries stat synced, as any not known local */
	if ((!s->mountinfo || gr_fs_here_in(fd, s->mountinfo, &here) < 0) && gr_fs_mnt_id(fd, &here.mnt) < 0) {
		snprintf(s->why, s->size, "cannot finish the scan for its files in `%s`: statx: %s", path,
			 strerror(errno));
		close(fd);
		return 1;
	}
	return scan_dir(s, &here, fd, path, 1);
}

int gr_lease_leftovers(uid_t first, unsigned long count, char *const *dirs, char *why, size_t size)
{
	struct leftover_scan s = { .lo = first, .hi = (unsigned long long)first + count, .kind = "",
				   .why = why, .size = size };
	unsigned long long t0 = gr_now_ns();
	_cleanup_free_ char *mountinfo = NULL;
	int r = 0;

	/* without it, every directory's entries are stat'ed synced, as on a file
	 * system not known to be local */
	if (gr_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &mountinfo, NULL, NULL) >= 0)
		s.mountinfo = mountinfo;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(leftover_dirs); i++)
		r = scan_root(&s, leftover_dirs[i]);
	for (size_t i = 0; r == 0 && dirs && dirs[i]; i++)
		r = scan_root(&s, dirs[i]);
	if (r == 0)
		r = scan_mqueues(&s);
	if (r == 0)
		r = scan_sysv(&s, "/proc/sysvipc/shm", "shmid", "SysV shared memory segment");
	if (r == 0)
		r = scan_sysv(&s, "/proc/sysvipc/msg", "msqid", "SysV message queue");
	if (r == 0)
		r = scan_sysv(&s, "/proc/sysvipc/sem", "semid", "SysV semaphore set");
	if (getenv("GRIDRUN_DEBUG"))
		fprintf(stderr, "gridrun: debug: lease: leftover scan of range %u: %u entries, %llu us\n",
			(unsigned)first, s.entries, (gr_now_ns() - t0) / 1000);
	return r;
}
