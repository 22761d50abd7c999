/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lease-leftover.c - inodes of a range left in the host's world-writable
 * directories (threats S20, issue 12 V5(c)).
 *
 * A job's /tmp, /var/tmp and /dev/shm are tmpfs of its own, so no job
 * process writes the host's. A process that entered the range's user
 * namespace from outside (helper mode without the BPF LSM: the pilot owns
 * that namespace) is host uid FIRST there, and can leave in the host's /tmp a
 * setuid-to-the-range binary or a FIFO for the range's next tenant. Release
 * kills it (lease-userns.c); what it made stays. So, after the holders are
 * dead, release and gc look in GR_LEFTOVER_DIRS for any inode whose owner or
 * group lies in the range, and keep the range "blocked" with one line naming
 * the first one found, until a `gridrun gc` finds none (an admin removes it:
 * gridrun does not guess whether it is evidence or garbage).
 *
 * Where the range could write: the top level of each directory (all of them
 * are sticky and world-writable), anything below a directory of the range
 * (which is found itself, at its own level), and below directories that are
 * writable by others. So each top level is read in full, and only
 * other-writable directories are entered, to GR_LEFTOVER_DEPTH levels. Each
 * step is fd-relative: entries are judged by fstatat(AT_SYMLINK_NOFOLLOW),
 * directories opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) from the one that listed them, so
 * no symlink is followed and no mount is crossed (a directory on another
 * mount is not the host's /tmp). Nothing is changed, only read.
 * A scan that meets more than GR_LEFTOVER_ENTRIES entries or deeper
 * other-writable directories cannot promise anything: it blocks the range
 * and says so (a local user can make that happen to every range, a denial
 * of service that `gridrun ps` names; a range reused with a leftover is
 * worse).
 * Cost: one readdir and one fstatat per entry; on the test host (60 entries
 * in /tmp) ~100 us per release.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lease-int.h"
#include "util.h"

static const char *const leftover_dirs[] = { "/tmp", "/var/tmp", "/dev/shm" };

#define GR_LEFTOVER_DEPTH 8
#define GR_LEFTOVER_ENTRIES 100000u

struct leftover_scan {
	unsigned long long lo, hi;
	unsigned entries;
	char *why;
	size_t size;
};

static bool in_range(const struct leftover_scan *s, const struct stat *st)
{
	return ((unsigned long long)st->st_uid >= s->lo && (unsigned long long)st->st_uid < s->hi) ||
	       ((unsigned long long)st->st_gid >= s->lo && (unsigned long long)st->st_gid < s->hi);
}

static int open_below(int dfd, const char *name)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
					   RESOLVE_NO_XDEV };

	return (int)syscall(SYS_openat2, dfd, name, &how, sizeof(how));
}

/* Directory dfd (path, for the line): 1 with why set when a leftover is
 * found or the scan cannot finish, 0 when none is there. Consumes dfd. */
static int scan_dir(struct leftover_scan *s, int dfd, const char *path, int depth)
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
		struct stat st;
		int fd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (++s->entries > GR_LEFTOVER_ENTRIES) {
			snprintf(s->why, s->size, "cannot finish the scan for its files in `%s`: more than %u "
				 "entries", path, GR_LEFTOVER_ENTRIES);
			r = 1;
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;   /* gone */
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (in_range(s, &st)) {
			snprintf(s->why, s->size, "`%.150s` (owner %u, group %u, mode %04o) is its; remove it "
				 "and run `gridrun gc`", sub, (unsigned)st.st_uid, (unsigned)st.st_gid,
				 (unsigned)(st.st_mode & 07777));
			r = 1;
			break;
		}
		if (!S_ISDIR(st.st_mode) || !(st.st_mode & S_IWOTH))
			continue;
		if (depth >= GR_LEFTOVER_DEPTH) {
			snprintf(s->why, s->size, "cannot finish the scan for its files below `%.150s`: "
				 "writable directories deeper than %d levels", sub, GR_LEFTOVER_DEPTH);
			r = 1;
			break;
		}
		fd = open_below(dirfd(d), de->d_name);
		if (fd >= 0)   /* another mount (EXDEV) or gone: not ours to judge */
			r = scan_dir(s, fd, sub, depth + 1);
	}
	closedir(d);
	return r;
}

int gr_lease_leftovers(uid_t first, unsigned long count, char *why, size_t size)
{
	struct leftover_scan s = { .lo = first, .hi = (unsigned long long)first + count, .why = why,
				   .size = size };
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	unsigned long long t0 = gr_now_ns();
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(leftover_dirs); i++) {
		int fd = (int)syscall(SYS_openat2, AT_FDCWD, leftover_dirs[i], &how, sizeof(how));

		if (fd >= 0)   /* absent, or a symlink: not a place a job could write */
			r = scan_dir(&s, fd, leftover_dirs[i], 1);
	}
	if (getenv("GRIDRUN_DEBUG"))
		fprintf(stderr, "gridrun: debug: lease: leftover scan of range %u: %u entries, %llu us\n",
			(unsigned)first, s.entries, (gr_now_ns() - t0) / 1000);
	return r;
}
