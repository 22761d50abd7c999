/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fsstat.c - stats that never wait on another mount's file system; see fsstat.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsstat.h"
#include "util.h"

/* file systems whose getattr ignores AT_STATX_DONT_SYNC: their inode is the truth */
static const char *const local_types[] = { "tmpfs", "ramfs", "devtmpfs", "ext2", "ext3", "ext4", "xfs",
					   "btrfs", "f2fs" };

int gr_mountinfo_next(const char **pos, struct gr_mountinfo_line *l)
{
	for (const char *line = *pos; line && *line; line = *pos) {
		const char *end = strchr(line, '\n'), *f[5], *dash, *p = line;
		char *rest;

		*pos = end ? end + 1 : line + strlen(line);
		/* fields 1-5: id, parent id, major:minor, root, mount point */
		for (int i = 0; i < 5; i++) {
			f[i] = p;
			p += strcspn(p, " \n");
			if (*p != ' ')
				goto next;
			p++;
		}
		/* the mount point escapes its blanks (\040): " - " is the separator */
		dash = strstr(p - 1, " - ");
		if (!dash || (end && dash > end))
			continue;
		l->id = strtoull(f[0], &rest, 10);
		if (rest == f[0] || *rest != ' ' || sscanf(f[2], "%u:%u", &l->major, &l->minor) != 2)
			continue;
		l->root = f[3];
		l->root_len = (size_t)(f[4] - 1 - f[3]);
		l->point = f[4];
		l->point_len = strcspn(f[4], " ");
		snprintf(l->type, sizeof(l->type), "%.*s", (int)strcspn(dash + 3, " \n"), dash + 3);
		return 1;
next:;
	}
	return 0;
}

/* mount id mnt's type in mountinfo */
static int type_of(const char *mountinfo, unsigned long long mnt, char *type, size_t size)
{
	struct gr_mountinfo_line l;

	while (gr_mountinfo_next(&mountinfo, &l))
		if (l.id == mnt) {
			snprintf(type, size, "%s", l.type);
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
