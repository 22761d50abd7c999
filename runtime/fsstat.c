/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsstat.c - stats that never wait on another mount's file system; see fsstat.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fsstat.h"
#include "util.h"

/* file systems whose getattr ignores AT_STATX_DONT_SYNC: their inode is the truth */
static const char *const local_types[] = { "tmpfs", "ramfs", "devtmpfs", "ext2", "ext3", "ext4", "xfs",
					   "btrfs", "f2fs" };

/* mount id mnt's line of mountinfo: its type after " - " into type */
static int type_of(const char *mountinfo, unsigned long long mnt, char *type, size_t size)
{
	for (const char *line = mountinfo; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *dash, *end;
		char *rest;
		unsigned long long id = strtoull(line, &rest, 10);

		if (rest == line || id != mnt || *rest != ' ')
			continue;
		/* the mount point escapes its blanks (\040): " - " is the separator */
		dash = strstr(line, " - ");
		end = strchr(line, '\n');
		if (!dash || (end && dash > end))
			return -EINVAL;
		dash += 3;
		snprintf(type, size, "%.*s", (int)strcspn(dash, " \n"), dash);
		return 0;
	}
	return -ENOENT;
}

int gr_fs_mnt_id(int fd, unsigned long long *mnt)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) < 0)
		return -errno;
	if (!(stx.stx_mask & STATX_MNT_ID)) {
		errno = ENOSYS;     /* Linux < 5.8 */
		return -ENOSYS;
	}
	*mnt = stx.stx_mnt_id;
	return 0;
}

bool gr_fs_type_fuse(const char *type)
{
	return !strcmp(type, "fuse") || !strcmp(type, "fuseblk") || !strncmp(type, "fuse.", 5);
}

int gr_fs_here_in(int fd, const char *mountinfo, struct gr_fs_here *h)
{
	int r;

	*h = (struct gr_fs_here){ .sync = true };
	r = gr_fs_mnt_id(fd, &h->mnt);
	if (r >= 0)
		r = type_of(mountinfo, h->mnt, h->type, sizeof(h->type));
	if (r < 0)
		return r;
	h->fuse = gr_fs_type_fuse(h->type);
	for (size_t i = 0; i < ARRAY_SIZE(local_types); i++)
		if (!strcmp(h->type, local_types[i]))
			h->sync = false;
	return 0;
}

int gr_fs_here_of(int fd, struct gr_fs_here *h)
{
	_cleanup_free_ char *mountinfo = NULL;
	int r = gr_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &mountinfo, NULL, NULL);

	if (r < 0) {
		*h = (struct gr_fs_here){ .sync = true };
		return r;
	}
	return gr_fs_here_in(fd, mountinfo, h);
}

int gr_fs_statx(const struct gr_fs_here *h, int dirfd, const char *name, int flags, unsigned mask,
		struct statx *stx)
{
	_cleanup_close_ int fd = -1;

	mask |= STATX_MNT_ID;
	if (h->sync && *name) {
		/* the synced stat on an fd known to be on h's mount: by name, a
		 * mount point could have been put there in between. O_PATH
		 * crosses into a mounted root without a request. */
		fd = openat(dirfd, name, O_PATH | O_CLOEXEC | ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0));
		if (fd < 0)
			return -errno;
		dirfd = fd;
		name = "";
		flags |= AT_EMPTY_PATH;
	}
	if (statx(dirfd, name, flags | AT_STATX_DONT_SYNC, mask, stx) < 0)
		return -errno;
	if (!(stx->stx_mask & STATX_MNT_ID))
		return -ENOSYS;
	if (stx->stx_mnt_id != h->mnt)
		return 1;
	if (h->sync && statx(dirfd, name, flags, mask, stx) < 0)
		return -errno;
	return 0;
}
