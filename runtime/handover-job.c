/* SPDX-License-Identifier: GPL-2.0-or-later */
/* handover-job.c - a run's sandbox hand-over, by gridrun or gridrun-helper (handover.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handover.h"
#include "helper.h"
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

int gr_job_handover_begin(struct gr_job_handover *jh, const char *sandbox, const struct gr_pool *pool,
			  const struct gr_lease *lease, bool via_helper, enum gr_handover_way way, uid_t u, gid_t g,
			  struct gr_error **err)
{
	_cleanup_close_ int fd = -1;
	unsigned long long t0 = gr_now_ns();
	struct gr_handover_count n = { 0 };
	struct stat st;
	int r;

	*jh = (struct gr_job_handover){ .mntfd = -1, .dirfd = -1, .via_helper = via_helper,
					.pool = pool, .lease = lease, .way = "none" };
	if (!sandbox || !lease)
		return 0;
	/* as the caller: a sandbox it cannot reach is not handed over */
	fd = open(sandbox, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return gr_error_sys(err, errno, "sandbox `%s`", sandbox);
	if (via_helper) {
		if (st.st_uid != getuid())
			return 0;   /* not the caller's: the helper would refuse it */
	} else {
		r = gr_handover_plan(st.st_uid, st.st_gid, lease->first, lease->count, u, g, &jh->h, err);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (via_helper)
		r = gr_helper_sandbox(lease->pool, lease->index, u, g, fd, &jh->mntfd, &n, err);
	else
		r = gr_job_handover_start(fd, &jh->h, way, pool, lease, &jh->mntfd, &n, err);
	if (r < 0)
		return gr_error_prefix(err, "sandbox `%s`", sandbox);
	jh->changed = n.changed;
	jh->linked = n.linked;
	if (n.linked)
		fprintf(stderr, "gridrun: sandbox `%s`: %lu file%s with more than one link stay%s the owner's "
			"(not handed over: the job cannot write %s)\n", sandbox, n.linked, n.linked > 1 ? "s" : "",
			n.linked > 1 ? "" : "s", n.linked > 1 ? "them" : "it");
	jh->way = jh->mntfd >= 0 ? "idmap" : "chown";
	if (jh->mntfd < 0)
		jh->dirfd = TAKE_FD(fd);
	jh->ns = gr_now_ns() - t0;
	return 0;
}

void gr_job_handover_end(struct gr_job_handover *jh)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;
	unsigned long long t0 = gr_now_ns();
	struct gr_handover_count n = { 0 };
	int r;

	if (jh->mntfd >= 0)
		close(TAKE_FD(jh->mntfd));
	if (jh->dirfd < 0)
		return;
	if (jh->via_helper) {
		r = gr_helper_unsandbox(jh->lease->pool, jh->lease->index, jh->dirfd, &n.changed, &e);
	} else {
		/* no process left with the range's ids can add files behind the walk */
		pid_t one = 0;
		int left = gr_lease_holders(jh->lease->first, jh->lease->count, true, &one);

		r = left != 0 ? gr_error_set(&e, left < 0 ? -left : EBUSY, "%d process(es) with the range's "
					     "ids are left (pid %d)", left, (int)one)
			      : gr_handover_chown(jh->dirfd, &jh->h, true, &n, &e);
		/* walked back: no walk back is owed any more (lease.h) */
		if (r >= 0)
			r = gr_lease_note_sandbox(jh->pool, jh->lease, NULL, &e);
	}
	if (r < 0)
		fprintf(stderr, "gridrun: the sandbox stays the leased range's, and the range in quarantine "
			"until `gridrun gc` walks it back: %s\n", e->msg);
	close(TAKE_FD(jh->dirfd));
	jh->changed += n.changed;
	jh->ns += gr_now_ns() - t0;
}
