/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "cg-discover.h"
#include "cg-internal.h"
#include "util.h"

/* the site config's cgroup_base, set once by the CLI before any job */
static const char *configured_base;

void gr_cgroup_set_base(const char *base)
{
	configured_base = base;
}

int gr_cg_base(const char **rel, struct gr_error **err)
{
	const char *env = getenv("GRIDRUN_CGROUP_BASE");
	size_t n = strlen(GR_CG_ROOT);

	*rel = NULL;
	if (!env || !*env)
		env = configured_base;
	if (!env || !*env)
		return 0;
	if (strncmp(env, GR_CG_ROOT, n) || (env[n] && env[n] != '/') || strstr(env, "/..") ||
	    strstr(env, "//"))
		return gr_error_set(err, EINVAL, "cgroup base (cgroup_base, GRIDRUN_CGROUP_BASE) `%s` "
				    "is not a path below " GR_CG_ROOT, env);
	*rel = env + n;
	return 0;
}

int gr_cg_write(int dirfd, const char *file, const char *value, struct gr_error **err)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return gr_error_sys(err, errno, "open `%s`", file);
	n = write(fd, value, strlen(value));
	if (n < 0)
		return gr_error_sys(err, errno, "write `%s` to `%s`", value, file);
	return 0;
}

int gr_cg_read(int dirfd, const char *file, char *buf, size_t len)
{
	_cleanup_close_ int fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = gr_read_full(fd, buf, len - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return (int)n;
}

long long gr_cg_keyed(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, klen) && p[klen] == ' ')
			return strtoll(p + klen + 1, NULL, 10);
	return -1;
}

/* Call fn on every directory below path, deepest first (not on path itself). */
static void walk_below(const char *path, void (*fn)(const char *dir, void *data), void *data, int depth)
{
	DIR *d;
	struct dirent *de;

	if (depth > 32 || !(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		_cleanup_free_ char *sub = NULL;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (asprintf(&sub, "%s/%s", path, de->d_name) < 0)
			continue;
		walk_below(sub, fn, data, depth + 1);
		fn(sub, data);
	}
	closedir(d);
}

static int rmdir_one(const char *path, struct gr_error **err)
{
	struct timespec ts = { 0, 1000000 }; /* 1 ms, doubling */

	/* the kernel frees a cgroup only after its last task is reaped and
	 * fully exited (containerd #11087): EBUSY for a moment is normal */
	for (int i = 0; i < 12; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
		if (ts.tv_nsec < 256000000)
			ts.tv_nsec *= 2;
	}
	return gr_error_sys(err, errno, "remove cgroup `%s`", path);
}

static void rmdir_sub(const char *dir, void *data)
{
	(void)data;
	rmdir_one(dir, NULL);
}

int gr_cg_exists(const char *path, struct gr_error **err)
{
	return gr_error_set(err, EEXIST, "`%s` exists: a job with this id is running (under another "
			    "user or state directory), or a killed one left it (gridrun gc removes that)", path);
}

int gr_cg_rmdir_retry(const char *path, struct gr_error **err)
{
	/* most jobs make no sub-cgroup: try first, read the directory only
	 * when the kernel says EBUSY (sub-cgroups, made by a delegated job or
	 * by a test, go first; or tasks still exiting, which rmdir_one()
	 * waits out) */
	if (rmdir(path) == 0 || errno == ENOENT)
		return 0;
	walk_below(path, rmdir_sub, NULL, 0);
	return rmdir_one(path, err);
}

struct procs_acc {
	pid_t *pids;
	size_t n;
};

static void add_procs(const char *dir, void *data)
{
	struct procs_acc *acc = data;
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ pid_t *p = NULL;
	size_t n = 0;
	pid_t *na;

	if (fd < 0 || gr_cg_procs(fd, &p, &n) < 0 || n == 0)
		return;
	na = realloc(acc->pids, (acc->n + n) * sizeof(pid_t));
	if (!na)
		return;
	memcpy(na + acc->n, p, n * sizeof(pid_t));
	acc->pids = na;
	acc->n += n;
}

int gr_cg_procs_tree(const char *path, pid_t **pids, size_t *n)
{
	struct procs_acc acc = { 0 };

	add_procs(path, &acc);
	walk_below(path, add_procs, &acc, 0);
	*pids = acc.pids;
	*n = acc.n;
	return 0;
}

static void thaw_one(const char *dir, void *data)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int version = *(int *)data;

	if (fd >= 0)
		gr_cg_write(fd, version == 2 ? "cgroup.freeze" : "freezer.state",
			    version == 2 ? "0" : "THAWED", NULL);
}

void gr_cgroup_thaw_tree(struct gr_cgroup *cg)
{
	const char *top = gr_cgroup_freezer_path(cg);
	int version;

	if (!top)
		return;
	version = cg->ops->version;
	walk_below(top, thaw_one, &version, 0);
	thaw_one(top, &version);
}

int gr_cg_procs(int dirfd, pid_t **pids, size_t *n)
{
	_cleanup_free_ char *text = NULL;
	size_t cap = 0, cnt = 0;
	pid_t *arr = NULL;
	char *p, *end;

	if (gr_read_file_at(dirfd, "cgroup.procs", &text, NULL, NULL) < 0)
		return -errno ? -errno : -EIO;
	for (p = text; *p; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		if (cnt == cap) {
			pid_t *na = realloc(arr, (cap = cap ? cap * 2 : 16) * sizeof(*arr));

			if (!na) {
				free(arr);
				return -ENOMEM;
			}
			arr = na;
		}
		arr[cnt++] = (pid_t)v;
	}
	*pids = arr;
	*n = cnt;
	return 0;
}

void gr_cg_pids_sample(struct gr_cgroup *cg, int dirfd)
{
	char buf[64];

	/* where the kernel keeps the peak (pids.peak, v1 and v2, 6.13) there
	 * is nothing to sample, nor where there is no pids controller */
	if (!cg->pids_peak_kept)
		cg->pids_peak_kept = dirfd < 0 || faccessat(dirfd, "pids.peak", F_OK, 0) == 0 ? 1 : -1;
	if (cg->pids_peak_kept > 0)
		return;
	if (gr_cg_read(dirfd, "pids.current", buf, sizeof(buf)) > 0) {
		uint64_t cur = strtoull(buf, NULL, 10);

		if (cur > cg->pids_peak_sampled)
			cg->pids_peak_sampled = cur;
	}
}

void gr_cg_pids_usage(struct gr_cgroup *cg, int dirfd, struct gr_cgroup_usage *u)
{
	char buf[64];
	long long v;

	if (dirfd < 0)
		return;
	gr_cg_pids_sample(cg, dirfd);
	if (gr_cg_read(dirfd, "pids.peak", buf, sizeof(buf)) > 0) {
		u->pids_known = true;
		u->pids_peak = strtoull(buf, NULL, 10);
	} else if (gr_cg_read(dirfd, "pids.current", buf, sizeof(buf)) > 0) {
		/* no pids.peak (before 6.13): the supervisor's samples */
		u->pids_known = true;
		u->pids_peak = cg->pids_peak_sampled;
	}
	if (gr_cg_read(dirfd, "pids.events", buf, sizeof(buf)) > 0 && (v = gr_cg_keyed(buf, "max")) > 0) {
		/* a refused fork means the job stood exactly at pids.max */
		u->pids_max_hits = v;
		if (gr_cg_read(dirfd, "pids.max", buf, sizeof(buf)) > 0 && strncmp(buf, "max", 3) &&
		    strtoull(buf, NULL, 10) > u->pids_peak)
			u->pids_peak = strtoull(buf, NULL, 10);
	}
}

static const struct gr_cgroup_ops *pick_backend(void)
{
	struct statfs sfs;

	if (statfs("/sys/fs/cgroup", &sfs) < 0)
		return NULL;
	if (sfs.f_type == CGROUP2_SUPER_MAGIC)
		return &gr_cg_v2_ops;
	/* tmpfs with v1 hierarchies below it: legacy or hybrid */
	if (sfs.f_type == TMPFS_MAGIC)
		return &gr_cg_v1_ops;
	return NULL;
}

static bool limits_requested(const struct gr_resources *res)
{
	return res && res->any;
}

int gr_cgroup_create(const char *job_id, const struct gr_resources *res,
		     struct gr_cgroup **out, struct gr_error **err)
{
	const struct gr_cgroup_ops *ops = pick_backend();
	_cleanup_free_ char *name = NULL;
	struct gr_cgroup *cg;
	int r;

	*out = NULL;
	if (!ops) {
		if (limits_requested(res))
			return gr_error_set(err, ENOTSUP, "cgroup: no cgroup filesystem at /sys/fs/cgroup, "
						     "cannot enforce linux.resources");
		return 0;
	}
	if (asprintf(&name, "gridrun-%s", job_id) < 0)
		return gr_error_sys(err, ENOMEM, "cgroup");
	cg = calloc(1, sizeof(*cg));
	if (!cg)
		return gr_error_sys(err, ENOMEM, "cgroup");
	cg->ops = ops;
	cg->dirfd = -1;
	r = ops->create(cg, name, res, err);
	if (r < 0) {
		bool denied = r == -EACCES || r == -EPERM || r == -EROFS;

		ops->remove(cg, NULL);
		free(cg->path);
		free(cg->not_applied);
		free(cg);
		if (denied && !limits_requested(res)) {
			/* best effort: an unprivileged caller on a v1 host */
			gr_error_free(err ? TAKE_PTR(*err) : NULL);
			return 0;
		}
		return gr_error_prefix(err, "cgroup v%d", ops->version);
	}
	*out = cg;
	return 0;
}

int gr_cgroup_version(const struct gr_cgroup *cg)
{
	return cg ? cg->ops->version : 0;
}

int gr_cgroup_clone_fd(const struct gr_cgroup *cg)
{
	return cg && cg->ops->version == 2 ? cg->dirfd : -1;
}

const char *gr_cgroup_path(const struct gr_cgroup *cg)
{
	return cg ? cg->path : NULL;
}

int gr_cgroup_attach(struct gr_cgroup *cg, pid_t pid, struct gr_error **err)
{
	return cg && cg->ops->attach ? cg->ops->attach(cg, pid, err) : 0;
}

int gr_cgroup_attach_fds(struct gr_cgroup *cg, int *fds, size_t max, struct gr_error **err)
{
	return cg && cg->ops->attach_fds ? cg->ops->attach_fds(cg, fds, max, err) : 0;
}

int gr_cgroup_view_fds(struct gr_cgroup *cg, int *fds, size_t max, struct gr_error **err)
{
	return cg && cg->ops->view_fds ? cg->ops->view_fds(cg, fds, max, err) : 0;
}

int gr_cgroup_attach_self(const int *fds, size_t n, struct gr_error **err)
{
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		ssize_t w = r >= 0 ? write(fds[i], "0", 1) : 1;

		if (w != 1)
			r = gr_error_sys(err, w < 0 ? errno : EIO, "attach to the job's cgroup (`tasks` %zu of %zu)",
					 i + 1, n);
		close(fds[i]);
	}
	return r;
}

void gr_cgroup_sample(struct gr_cgroup *cg)
{
	if (cg && cg->ops->sample)
		cg->ops->sample(cg);
}

bool gr_cgroup_needs_sampling(struct gr_cgroup *cg)
{
	if (!cg || !cg->ops->sample)
		return false;
	if (!cg->pids_peak_kept)
		cg->ops->sample(cg);
	return cg->pids_peak_kept < 0;
}

int gr_cgroup_freeze(struct gr_cgroup *cg, bool frozen, struct gr_error **err)
{
	if (!cg)
		return gr_error_set(err, ENOTSUP, "no cgroup: cannot %s the job", frozen ? "freeze" : "thaw");
	return cg->ops->freeze(cg, frozen, err);
}

int gr_cgroup_kill_all(struct gr_cgroup *cg, unsigned *killed, struct gr_error **err)
{
	*killed = 0;
	return cg ? cg->ops->kill_all(cg, killed, err) : 0;
}

int gr_cgroup_usage(struct gr_cgroup *cg, struct gr_cgroup_usage *u, struct gr_error **err)
{
	memset(u, 0, sizeof(*u));
	if (!cg)
		return 0;
	u->version = cg->ops->version;
	return cg->ops->usage(cg, u, err);
}

int gr_cgroup_destroy(struct gr_cgroup *cg, struct gr_error **err)
{
	unsigned killed;
	int r;

	if (!cg)
		return 0;
	/* the end of a job already emptied it (finish_cgroup()): a second
	 * look would read its cgroup.procs and directory for nothing */
	r = cg->emptied ? 0 : cg->ops->kill_all(cg, &killed, err);
	if (r >= 0)
		r = cg->ops->remove(cg, err);
	else
		cg->ops->remove(cg, NULL);
	free(cg->path);
	free(cg->not_applied);
	free(cg);
	return r;
}

const char *gr_cgroup_not_applied(const struct gr_cgroup *cg)
{
	return cg ? cg->not_applied : NULL;
}

size_t gr_cgroup_paths(const struct gr_cgroup *cg, const char **paths, size_t max)
{
	size_t n = 0;

	if (!cg)
		return 0;
	if (cg->ops->version == 2) {
		if (max > 0 && cg->path)
			paths[n++] = cg->path;
		return n;
	}
	for (size_t i = 0; i < cg->nv1 && n < max; i++)
		paths[n++] = cg->v1[i].path;
	return n;
}

const char *gr_cgroup_freezer_path(const struct gr_cgroup *cg)
{
	if (!cg)
		return NULL;
	if (cg->ops->version == 2)
		return cg->path;
	for (size_t i = 0; i < cg->nv1; i++)
		if (strstr(cg->v1[i].controllers, "freezer"))
			return cg->v1[i].path;
	return NULL;
}

/* Only ever act on our own job directories. */
static int check_job_path(const char *path, struct gr_error **err)
{
	const char *base = strrchr(path, '/');

	if (strncmp(path, "/sys/fs/cgroup/", 15) || strstr(path, "/..") || !base ||
	    strncmp(base + 1, "gridrun-", 8))
		return gr_error_set(err, EPERM, "`%s` is not a gridrun job cgroup, refusing", path);
	return 0;
}

int gr_cgroup_freeze_path(int version, const char *path, bool frozen, struct gr_error **err)
{
	_cleanup_close_ int fd = -1;
	const char *file = version == 2 ? "cgroup.freeze" : "freezer.state";
	const char *value = version == 2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
	struct timespec ts = { 0, 1000000 };
	char buf[512];

	if (check_job_path(path, err) < 0)
		return -EPERM;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return gr_error_sys(err, errno, "open `%s`", path);
	if (gr_cg_write(fd, file, value, err) < 0)
		return gr_error_prefix(err, "`%s`", path);
	/* done when the kernel says so, not when the write returns */
	for (int i = 0; i < 5000; i++) {
		if (version == 2) {
			if (gr_cg_read(fd, "cgroup.events", buf, sizeof(buf)) > 0 &&
			    gr_cg_keyed(buf, "frozen") == (frozen ? 1 : 0))
				return 0;
		} else if (gr_cg_read(fd, "freezer.state", buf, sizeof(buf)) > 0 &&
			   !strncmp(buf, value, strlen(value))) {
			return 0;
		}
		nanosleep(&ts, NULL);
	}
	return gr_error_set(err, ETIMEDOUT, "`%s` did not %s", path, frozen ? "freeze" : "thaw");
}

int gr_cgroup_remove_path(const char *path, struct gr_error **err)
{
	if (check_job_path(path, err) < 0)
		return -EPERM;
	return gr_cg_rmdir_retry(path, err);
}

int gr_cgroup_remove_job(const char *job_id, const struct gr_cg_discovery *disc, struct gr_error **err)
{
	const struct gr_cgroup_ops *ops = pick_backend();
	_cleanup_free_ char *name = NULL;
	char *paths[GR_CG_V1_MAX];
	ssize_t found = -1;
	size_t n;
	int removed = 0, r = 0;

	if (!ops || asprintf(&name, "gridrun-%s", job_id) < 0)
		return 0;
	if (disc && ops->version == 1)
		found = gr_cg_discovery_job_paths(disc, name, paths, GR_CG_V1_MAX);
	n = found >= 0 ? (size_t)found : ops->paths_for(name, paths, GR_CG_V1_MAX);
	for (size_t i = 0; i < n; i++) {
		if (access(paths[i], F_OK) == 0) {
			if (gr_cgroup_remove_path(paths[i], r < 0 ? NULL : err) < 0)
				r = -EBUSY;
			else
				removed++;
		}
		free(paths[i]);
	}
	return r < 0 ? r : removed;
}
