// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cg-usage.c - the one cgroup usage reader for processes that do not own
 * the job's struct gr_cgroup (gridrun-condor's live updates; cgroups.h has
 * the contract). It opens the directories a state entry lists and runs the
 * very backend ->usage() the supervisor runs for the record, so a live
 * figure and the record's can only differ by what the job did in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "cg-internal.h"
#include "util.h"

void gr_cgroup_v1_cpu_split(uint64_t total, uint64_t user, uint64_t sys, uint64_t *user_ns,
			    uint64_t *sys_ns)
{
	/* cpuacct.usage is exact (scheduler ns); usage_user/usage_sys are the
	 * same time split by where each tick found the task: keep the exact
	 * total and split it in their proportion */
	*user_ns = user + sys ? (uint64_t)((long double)total * user / (user + sys)) : total;
	*sys_ns = total - *user_ns;
}

/* A directory of job job_id's cgroup: GR_CG_ROOT/.../gridrun-<job_id>, opened
 * without following symlinks, on a cgroup filesystem of that version. */
static int open_job_dir(int version, const char *path, const char *job_id, struct gr_error **err)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	const char *base = strrchr(path, '/');
	struct statfs sfs;
	int fd;

	if (strncmp(path, GR_CG_ROOT "/", sizeof(GR_CG_ROOT)) || strstr(path, "/..") || !base ||
	    strncmp(base + 1, "gridrun-", 8) || strcmp(base + 9, job_id))
		return gr_error_set(err, EINVAL, "cgroup `%s`: not job %s's cgroup", path, job_id);
	fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0)
		return gr_error_sys(err, errno, "open cgroup `%s`", path);
	if (fstatfs(fd, &sfs) < 0 ||
	    sfs.f_type != (version == 2 ? CGROUP2_SUPER_MAGIC : CGROUP_SUPER_MAGIC)) {
		close(fd);
		return gr_error_set(err, EINVAL, "cgroup `%s`: not on a cgroup v%d filesystem", path, version);
	}
	return fd;
}

int gr_cgroup_usage_read(int version, const char *const *paths, size_t n, const char *job_id,
			 struct gr_cgroup_usage *u, struct gr_error **err)
{
	struct gr_cgroup cg = { .dirfd = -1, .ops = version == 2 ? &gr_cg_v2_ops : &gr_cg_v1_ops };
	int r = 0;

	memset(u, 0, sizeof(*u));
	u->version = version;
	if ((version != 1 && version != 2) || n == 0 || (version == 2 && n != 1) || n > GR_CG_V1_MAX)
		return gr_error_set(err, EINVAL, "cgroup_version %d with %zu directories", version, n);
	for (size_t i = 0; i < n && r >= 0; i++) {
		int fd = open_job_dir(version, paths[i], job_id, err);

		if (fd < 0) {
			r = fd;
		} else if (version == 2) {
			cg.dirfd = fd;
			cg.path = (char *)paths[i];
		} else {
			/* a v1 hierarchy is mounted at GR_CG_ROOT/<its controllers> */
			const char *c = paths[i] + sizeof(GR_CG_ROOT), *slash = strchr(c, '/');
			struct gr_cg_v1_dir *d = &cg.v1[cg.nv1++];

			d->dirfd = fd;
			d->path = (char *)paths[i];
			if (!(d->controllers = strndup(c, slash ? (size_t)(slash - c) : strlen(c))))
				r = gr_error_set(err, ENOMEM, "cgroup `%s`", paths[i]);
			if (!cg.path && !strcmp(d->controllers ? d->controllers : "", "memory"))
				cg.path = d->path;
		}
	}
	if (r >= 0) {
		if (!cg.path)
			cg.path = (char *)paths[0];
		r = cg.ops->usage(&cg, u, err);
	}
	if (cg.dirfd >= 0)
		close(cg.dirfd);
	for (size_t i = 0; i < cg.nv1; i++) {
		close(cg.v1[i].dirfd);
		free(cg.v1[i].controllers);
	}
	return r;
}
