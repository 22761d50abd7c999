/* SPDX-License-Identifier: GPL-2.0-or-later */
/* handover-job.c - a run's sandbox hand-over, by the job's privilege backend (handover.h, priv.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handover.h"
#include "priv.h"
#include "lease.h"
#include "util.h"

int gr_job_handover_start(int dirfd, const struct gr_handover *h, enum gr_handover_way way,
			  const struct gr_pool *pool, const struct gr_lease *lease, int *mntfd,
			  struct gr_handover_count *n, struct gr_error **err)
{
	struct gr_lease_sandbox sbx;
	int r;

	if (way != GR_HANDOVER_CHOWN) {
		_cleanup_gr_error_ struct gr_error *e = NULL;

		r = gr_handover_begin(dirfd, h, GR_HANDOVER_IDMAP, mntfd, n,
				      way == GR_HANDOVER_IDMAP ? err : &e);
		if (r >= 0 || way == GR_HANDOVER_IDMAP)
			return r;
		/* as gr_handover_begin(): the kernel or filesystem cannot, so chown */
		if (r != -EINVAL && r != -EOPNOTSUPP && r != -ENOSYS && r != -EPERM) {
			*err = TAKE_PTR(e);
			return r;
		}
	}
	/* noted before the first chown: a crash mid-walk leaves a lease that says where */
	r = gr_lease_sandbox_of(dirfd, h->owner, h->group, &sbx, err);
	if (r >= 0)
		r = gr_lease_note_sandbox(pool, lease, &sbx, err);
	if (r < 0)
		return gr_error_prefix(err, "sandbox hand-over");
	return gr_handover_begin(dirfd, h, GR_HANDOVER_CHOWN, mntfd, n, err);
}

int gr_job_handover_open(struct gr_job_handover *jh, const char *sandbox, int checked, enum gr_handover_way way,
			 uid_t u, gid_t g, struct gr_error **err)
{
	_cleanup_close_ int fd = -1;
	struct stat st, ck;

	*jh = (struct gr_job_handover){ .mntfd = -1, .dirfd = -1, .want = way, .u = u, .g = g,
					.way = "none", .t0 = gr_now_ns() };
	if (!sandbox)
		return 0;
	fd = open(sandbox, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return gr_error_sys(err, errno, "sandbox `%s`", sandbox);
	if (checked >= 0 && (fstat(checked, &ck) < 0 || ck.st_dev != st.st_dev || ck.st_ino != st.st_ino))
		return gr_error_set(err, ESTALE, "sandbox `%s` is not the directory the caller checked (--sandbox-fd %d): "
				    "renamed since, refusing", sandbox, checked);
	jh->path = sandbox;
	jh->owner = st.st_uid;
	jh->group = st.st_gid;
	jh->dirfd = TAKE_FD(fd);
	return 0;
}

void gr_job_handover_done(struct gr_job_handover *jh, int handed, const struct gr_handover_count *n)
{
	if (handed > 0) {
		jh->changed = n->changed;
		jh->linked = n->linked;
		jh->way = jh->mntfd >= 0 ? "idmap" : "chown";
	}
	/* kept only while a chown is to be walked back */
	if ((handed <= 0 || jh->mntfd >= 0) && jh->dirfd >= 0)
		close(TAKE_FD(jh->dirfd));
	jh->ns = handed > 0 ? gr_now_ns() - jh->t0 : 0;
}

int gr_job_handover_clone(struct gr_job_handover *jh, struct gr_error **err)
{
	if (jh->mntfd >= 0 || jh->dirfd < 0)
		return 0;   /* idmap (the mount exists), or no chown to see */
	jh->mntfd = (int)open_tree(jh->dirfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
	if (jh->mntfd < 0)
		return gr_error_sys(err, errno, "sandbox `%s`: clone of the directory handed over", jh->path);
	return 0;
}

void gr_job_handover_end(struct gr_job_handover *jh)
{
	if (jh->mntfd >= 0)
		close(TAKE_FD(jh->mntfd));
}

void gr_job_handover_walked(struct gr_job_handover *jh, unsigned long long t0, unsigned long n)
{
	if (jh->dirfd >= 0)
		close(TAKE_FD(jh->dirfd));
	jh->changed += n;
	jh->ns += gr_now_ns() - t0;
}
