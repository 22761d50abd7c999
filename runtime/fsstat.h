/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fsstat.h - stats of entries in directories others can write, that never
 * wait for a file system someone else serves (threat S36, its I/O vector).
 *
 * A pilot, or any local user through the setuid fusermount3 where
 * /etc/fuse.conf has user_allow_other, can mount a FUSE file system whose
 * daemon never answers on a directory it owns (/tmp/x, a directory of its
 * sandbox). Every request to it then waits, killable only by a fatal
 * signal: a stat of that mount point by root, or by gridrun-helper, held
 * a pool's .gclock for good. The mount point is told first, without a
 * request: statx(AT_STATX_DONT_SYNC) makes FUSE answer from its inode cache
 * (fs/fuse/dir.c fuse_update_get_attr(); Linux 4.11 to 6.18), and the mount
 * id (STATX_MNT_ID, Linux 5.8) comes from the VFS. An entry on another
 * mount than the scanned directory's is the caller's to skip ("another
 * mount: not ours to judge"), its attributes never asked for. On the
 * directory's own mount the stat is the synced one where the file system
 * keeps attributes in a cache (NFS, CIFS, FUSE, any type not named below:
 * an O_PATH open of the entry, then both statx on that fd, so that no
 * mount point put under the name in between is asked) and the first one
 * alone on the local file systems, which ignore the flag (tmpfs, ramfs,
 * devtmpfs, ext2/3/4, xfs, btrfs, f2fs): one statx per entry, as before.
 * The directory's own file system type comes from /proc/self/mountinfo, by
 * its mount id: statfs would ask a FUSE daemon too (FUSE_STATFS).
 * Not covered: a FUSE daemon that answers the mount's owner only is never
 * asked by root or by the helper (real and saved uid 0): the kernel refuses
 * them (EACCES) without a request, unless the mount has allow_other.
 */
#ifndef GRIDRUN_FSSTAT_H
#define GRIDRUN_FSSTAT_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

struct gr_fs_here {
	unsigned long long mnt;   /* the directory's mount id */
	bool sync;                /* its file system may answer a stat from a cache */
	bool fuse;                /* its file system is FUSE (fuse, fuseblk, fuse.*) */
	char type[64];            /* its type, as mountinfo names it */
};

/* One line of /proc/PID/mountinfo text (proc(5)), as gridrun reads it:
 * root and point are not NUL-terminated and keep mountinfo's octal escapes
 * (\040); type is cut at 63 bytes. */
struct gr_mountinfo_line {
	unsigned long long id;
	unsigned major, minor;
	const char *root, *point;
	size_t root_len, point_len;
	char type[64];
};
/* The next well-formed line at *pos (moved past it): 1, or 0 at the end of
 * the text. Lines that are not in mountinfo's shape are skipped. */
int gr_mountinfo_next(const char **pos, struct gr_mountinfo_line *l);

/* Whether a mountinfo type is FUSE's (fuse, fuseblk, fuse.*). */
bool gr_fs_type_fuse(const char *type);

/* The mount of fd (a directory, O_PATH is enough) and its file system's
 * type, without a request to that file system: 0, or -errno; -ENOENT (with
 * h->mnt set) for a mount not in the caller's mount namespace (a detached
 * one, or one of another namespace reached through an fd). */
int gr_fs_here_of(int fd, struct gr_fs_here *h);

/* The same with /proc/self/mountinfo's text read already (one read for
 * many directories: ~50 us each on the test host). */
int gr_fs_here_in(int fd, const char *mountinfo, struct gr_fs_here *h);

/* The mount id of fd: 0, or -errno (errno set too). */
int gr_fs_mnt_id(int fd, unsigned long long *mnt);

/* statx(dirfd, name, flags, mask | STATX_MNT_ID) as above: 0 with stx
 * filled (on h's mount); 1 when the entry is on another mount (stx holds
 * only its mount id and what the kernel had cached); -errno (-ENOSYS when
 * the kernel gives no mount id). flags may hold AT_EMPTY_PATH. */
int gr_fs_statx(const struct gr_fs_here *h, int dirfd, const char *name, int flags, unsigned mask,
		struct statx *stx);

#endif
