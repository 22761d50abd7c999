/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cg-v1.c - the cgroup v1 backend (legacy and hybrid hierarchies).
 *
 * Each controller's mount point comes from /proc/self/mountinfo and the
 * cgroup gridrun runs in within that hierarchy from /proc/self/cgroup (read
 * once per job; or the configured base, see cg-internal.h's gr_cg_base(); libcgroup's cgroup_init() did the same in 3-4 ms a job by
 * zeroing 2.4 MB of tables, as much as the rest of the start); the job
 * directory gridrun-<job-id> is created
 * beneath it, once per hierarchy (co-mounted controllers such as
 * "cpu,cpuacct" share one). Controllers: cpu, cpuacct, memory, pids,
 * freezer, blkio; a hierarchy the node lacks is skipped unless a requested
 * limit needs it.
 *
 * Kill-all has no cgroup.kill here: freeze the job (freezer.state FROZEN, so
 * nothing can fork while we look), SIGKILL every pid listed, thaw, and wait
 * for the cgroup to empty. Without a freezer hierarchy the kill is repeated
 * until nothing is left.
 * pids has no peak counter before 6.13: the supervisor samples pids.current.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cg-internal.h"
#include "util.h"

const char *const gr_cg_v1_controllers[GR_CG_V1_CONTROLLERS] = { "memory", "cpu", "cpuacct", "pids", "freezer", "blkio" };
#define v1_controllers gr_cg_v1_controllers

static struct gr_cg_v1_dir *dir_for(struct gr_cgroup *cg, const char *controller)
{
	for (size_t i = 0; i < cg->nv1; i++) {
		const char *c = cg->v1[i].controllers;
		size_t n = strlen(controller);

		for (const char *p = strstr(c, controller); p; p = strstr(p + 1, controller))
			if ((p == c || p[-1] == ',') && (p[n] == ',' || !p[n]))
				return &cg->v1[i];
	}
	return NULL;
}

/* What /proc/self/mountinfo and /proc/self/cgroup say, read once per job. */
struct v1_discovery {
	char *mountinfo;
	char *own;
};

/*
 * Mount point of the v1 hierarchy holding `controller`, and the root of that
 * mount within the hierarchy (not "/" when a subtree is mounted). Lines:
 * "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - cgroup SOURCE SUPEROPTS".
 */
static bool find_mount(const char *mountinfo, const char *controller, char **mnt, char **root)
{
	for (const char *line = mountinfo; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		char r[4096], m[4096], fstype[64], super[1024];
		const char *dash = strstr(line, " - ");
		const char *eol = strchr(line, '\n');

		if (!dash || (eol && dash > eol))
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fstype, super) != 2 || strcmp(fstype, "cgroup"))
			continue;
		for (char *save = NULL, *opt = strtok_r(super, ",", &save); opt; opt = strtok_r(NULL, ",", &save)) {
			if (!strcmp(opt, controller)) {
				*mnt = strdup(m);
				*root = strdup(r);
				return *mnt && *root;
			}
		}
	}
	return false;
}

/* Our cgroup in the hierarchy with `controller`: "N:ctrl,ctrl:/path". */
static char *own_path(const char *own, const char *controller)
{
	size_t n = strlen(controller);

	for (const char *line = own; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		const char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;

		if (!p)
			continue;
		for (const char *w = c + 1; w < p; w = strchr(w, ',') && strchr(w, ',') < p ? strchr(w, ',') + 1 : p)
			if (!strncmp(w, controller, n) && (w[n] == ',' || w + n == p))
				return strndup(p + 1, strcspn(p + 1, "\n"));
	}
	return NULL;
}

/* The job directory `name` in the hierarchy of `controller`: 1 and *path,
 * 0 when the hierarchy is not mounted, or -errno. */
static int job_dir_path(const struct v1_discovery *disc, const char *controller, const char *name,
			char **path, struct gr_error **err)
{
	_cleanup_free_ char *own = NULL, *mount = NULL, *root = NULL;
	const char *rel, *base;
	int r;

	if (!find_mount(disc->mountinfo, controller, &mount, &root))
		return 0; /* not mounted on this node */
	r = gr_cg_base(&base, err);
	if (r < 0)
		return r;
	own = base ? strdup(*base ? base : "/") : own_path(disc->own, controller);
	if (!own)
		return gr_error_set(err, ENOENT, "find our own %s cgroup in /proc/self/cgroup", controller);
	/* a mount of a subtree shows our path relative to its root */
	rel = own;
	if (strcmp(root, "/") && !strncmp(own, root, strlen(root)) &&
	    (own[strlen(root)] == '/' || !own[strlen(root)]))
		rel = own + strlen(root);
	else if (strcmp(root, "/") && base)
		return gr_error_set(err, EINVAL, "cgroup base `%s%s` is outside the part of the %s "
				    "hierarchy mounted here (`%s`)", GR_CG_ROOT, base, controller, root);
	if (!*rel)
		rel = "/";
	if (asprintf(path, "%s%s/%s", mount, strcmp(rel, "/") ? rel : "", name) < 0)
		return gr_error_sys(err, ENOMEM, "cgroup path");
	return 1;
}

static int add_dir(struct gr_cgroup *cg, const struct v1_discovery *disc, const char *controller,
		   const char *name, struct gr_error **err)
{
	_cleanup_free_ char *path = NULL;
	struct gr_cg_v1_dir *d;
	int r;

	r = job_dir_path(disc, controller, name, &path, err);
	if (r <= 0)
		return r;
	for (size_t i = 0; i < cg->nv1; i++) {
		if (!strcmp(cg->v1[i].path, path)) {
			/* co-mounted with a controller we already have */
			char *c = NULL;

			if (asprintf(&c, "%s,%s", cg->v1[i].controllers, controller) < 0)
				return gr_error_sys(err, ENOMEM, "cgroup");
			free(cg->v1[i].controllers);
			cg->v1[i].controllers = c;
			return 0;
		}
	}
	if (cg->nv1 == GR_CG_V1_MAX)
		return gr_error_set(err, E2BIG, "too many cgroup hierarchies");
	/* an existing one is another job's (or a killed job's, for gc): never
	 * taken over, nor removed (cgroups.h) */
	if (mkdir(path, 0755) < 0)
		return errno == EEXIST ? gr_cg_exists(path, err) : gr_error_sys(err, errno, "create `%s`", path);
	d = &cg->v1[cg->nv1++];
	d->controllers = strdup(controller);
	d->path = TAKE_PTR(path);
	d->dirfd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dirfd < 0 || !d->controllers)
		return gr_error_sys(err, errno ? errno : ENOMEM, "open `%s`", d->path);
	return 0;
}

/* Apply limit lim through file of the hierarchy of controller. */
static int limit_in(struct gr_cgroup *cg, const struct gr_resources *res, enum gr_limit lim,
		    const char *controller, const char *file, const char *value, const char *missing,
		    struct gr_error **err)
{
	struct gr_cg_v1_dir *d = dir_for(cg, controller);
	char why[64];

	snprintf(why, sizeof(why), "no %s hierarchy is mounted", controller);
	return gr_cg_limit(cg, res, lim, d ? d->dirfd : -1, d ? d->path : "", file, value,
			   d ? missing : why, err);
}

static int v1_limits(struct gr_cgroup *cg, const struct gr_resources *res, struct gr_error **err)
{
	struct gr_cg_v1_dir *blkio = dir_for(cg, "blkio");
	char v[64];

	if (res->memory_limit > 0) {
		snprintf(v, sizeof(v), "%lld", res->memory_limit);
		if (limit_in(cg, res, GR_LIM_MEMORY_LIMIT, "memory", "memory.limit_in_bytes", v, NULL, err) < 0)
			return -EINVAL;
	}
	if (res->memory_swap > 0) {
		/* OCI's swap and v1's memsw are both memory+swap */
		snprintf(v, sizeof(v), "%lld", res->memory_swap);
		if (limit_in(cg, res, GR_LIM_MEMORY_SWAP, "memory", "memory.memsw.limit_in_bytes", v,
			     "no swap accounting (swapaccount=0 or no CONFIG_MEMCG_SWAP)", err) < 0)
			return -EINVAL;
	}
	if (res->cpu_period > 0) {
		snprintf(v, sizeof(v), "%llu", res->cpu_period);
		if (limit_in(cg, res, GR_LIM_CPU_PERIOD, "cpu", "cpu.cfs_period_us", v, NULL, err) < 0)
			return -EINVAL;
	}
	if (res->cpu_quota > 0) {
		snprintf(v, sizeof(v), "%lld", res->cpu_quota);
		if (limit_in(cg, res, GR_LIM_CPU_QUOTA, "cpu", "cpu.cfs_quota_us", v, NULL, err) < 0)
			return -EINVAL;
	}
	if (res->cpu_shares > 0) {
		snprintf(v, sizeof(v), "%llu", res->cpu_shares);
		if (limit_in(cg, res, GR_LIM_CPU_SHARES, "cpu", "cpu.shares", v, NULL, err) < 0)
			return -EINVAL;
	}
	if (res->pids_limit > 0) {
		snprintf(v, sizeof(v), "%lld", res->pids_limit);
		if (limit_in(cg, res, GR_LIM_PIDS_LIMIT, "pids", "pids.max", v, NULL, err) < 0)
			return -EINVAL;
	}
	{
		/* BFQ's files, else CFQ's (EL7) */
		const struct gr_cg_io_files io = {
			.dirfd = blkio ? blkio->dirfd : -1, .dir = blkio ? blkio->path : "",
			.missing = blkio ? NULL : "no blkio hierarchy is mounted",
			.weight = { "blkio.bfq.weight", "blkio.weight" },
			.weight_device = { "blkio.bfq.weight_device", "blkio.weight_device" },
			.leaf_weight = "blkio.leaf_weight", .leaf_weight_device = "blkio.leaf_weight_device",
			.throttle = { "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
				      "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device" },
			.throttle_key = { "", "", "", "" },
		};

		return gr_cg_io_limits(cg, res, &io, err);
	}
}

static int v1_create(struct gr_cgroup *cg, const char *name, const struct gr_resources *res,
		     struct gr_error **err)
{
	struct v1_discovery disc = { 0 };
	int r;

	r = gr_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &disc.mountinfo, NULL, err);
	if (r >= 0)
		r = gr_read_file_at(AT_FDCWD, "/proc/self/cgroup", &disc.own, NULL, err);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(v1_controllers); i++)
		r = add_dir(cg, &disc, v1_controllers[i], name, err);
	free(disc.mountinfo);
	free(disc.own);
	if (r < 0)
		return r;
	if (cg->nv1 == 0)
		return gr_error_set(err, ENOENT, "no cgroup v1 hierarchy is mounted");
	{
		struct gr_cg_v1_dir *m = dir_for(cg, "memory");

		cg->path = strdup(m ? m->path : cg->v1[0].path);
	}
	return v1_limits(cg, res, err);
}

static int v1_attach(struct gr_cgroup *cg, pid_t pid, struct gr_error **err)
{
	char v[32];

	snprintf(v, sizeof(v), "%d", (int)pid);
	for (size_t i = 0; i < cg->nv1; i++)
		if (gr_cg_write(cg->v1[i].dirfd, "cgroup.procs", v, err) < 0)
			return gr_error_prefix(err, "attach %d to `%s`", (int)pid, cg->v1[i].path);
	return 0;
}

static int v1_attach_fds(struct gr_cgroup *cg, int *fds, size_t max, struct gr_error **err)
{
	size_t n = 0;

	for (size_t i = 0; i < cg->nv1; i++) {
		int fd = n < max ? openat(cg->v1[i].dirfd, "tasks", O_WRONLY | O_CLOEXEC | O_NOFOLLOW) : -1;

		if (fd < 0) {
			int e = n < max ? errno : E2BIG;

			while (n > 0)
				close(fds[--n]);
			return gr_error_sys(err, e, "open `%s/tasks`", cg->v1[i].path);
		}
		fds[n++] = fd;
	}
	return (int)n;
}

static int v1_view_fds(struct gr_cgroup *cg, int *fds, size_t max, struct gr_error **err)
{
	/* private: a clone of the host's (shared) cgroup mount would join its
	 * peer group, and mounts would propagate between the job and the host */
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					     MOUNT_ATTR_NOEXEC, .propagation = MS_PRIVATE };
	size_t n = 0;

	(void)err;
	for (size_t i = 0; i < cg->nv1 && n < max; i++) {
		int fd = open_tree(cg->v1[i].dirfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);

		/* not a failure: an unprivileged supervisor (a delegated
		 * cgroup) may not clone mounts, and init mounts the hierarchy
		 * itself, the same view, as it does for any clone missing */
		if (fd < 0 || mount_setattr(fd, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0) {
			if (fd >= 0)
				close(fd);
			while (n > 0)
				close(fds[--n]);
			return 0;
		}
		fds[n++] = fd;
	}
	return (int)n;
}

static void v1_sample(struct gr_cgroup *cg)
{
	struct gr_cg_v1_dir *d = dir_for(cg, "pids");

	gr_cg_pids_sample(cg, d ? d->dirfd : -1);
}

static int set_freezer(struct gr_cg_v1_dir *d, const char *state, struct gr_error **err)
{
	struct timespec ts = { 0, 1000000 };
	char buf[32];

	if (gr_cg_write(d->dirfd, "freezer.state", state, err) < 0)
		return gr_error_prefix(err, "`%s`", d->path);
	for (int i = 0; i < 5000; i++) {
		if (gr_cg_read(d->dirfd, "freezer.state", buf, sizeof(buf)) > 0 && !strncmp(buf, state, strlen(state)))
			return 0;
		nanosleep(&ts, NULL);
	}
	return gr_error_set(err, ETIMEDOUT, "`%s` did not reach %s", d->path, state);
}

static int v1_freeze(struct gr_cgroup *cg, bool frozen, struct gr_error **err)
{
	struct gr_cg_v1_dir *d = dir_for(cg, "freezer");

	if (!d)
		return gr_error_set(err, ENOTSUP, "no freezer hierarchy on this node");
	return set_freezer(d, frozen ? "FROZEN" : "THAWED", err);
}

static int v1_kill_all(struct gr_cgroup *cg, unsigned *killed, struct gr_error **err)
{
	struct gr_cg_v1_dir *f = dir_for(cg, "freezer");
	struct gr_cg_v1_dir *d = f ? f : (cg->nv1 ? &cg->v1[0] : NULL);
	struct timespec ts = { 0, 1000000 };
	int r;

	if (!d)
		return 0;
	for (int round = 0; round < 2000; round++) {
		_cleanup_free_ pid_t *pids = NULL;
		size_t n = 0;

		if (gr_cg_procs_tree(d->path, &pids, &n) < 0)
			break;
		if (n == 0) {
			cg->emptied = true;
			break;
		}
		if (f && set_freezer(f, "FROZEN", err) < 0)
			return -ETIMEDOUT;
		/* re-read: nothing can fork while frozen */
		free(pids);
		pids = NULL;
		gr_cg_procs_tree(d->path, &pids, &n);
		if (round == 0)
			*killed = n;
		for (size_t i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		/* thaw all of it, sub-cgroups a job froze itself included: a
		 * frozen task only dies once thawed (runc #2105) */
		if (f && (r = set_freezer(f, "THAWED", err)) < 0)
			return r;
		gr_cgroup_thaw_tree(cg);
		nanosleep(&ts, NULL);
	}
	return 0;
}

static int v1_usage(struct gr_cgroup *cg, struct gr_cgroup_usage *u, struct gr_error **err)
{
	struct gr_cg_v1_dir *d;
	char buf[4096];
	long long v;

	(void)err;
	if ((d = dir_for(cg, "cpuacct")) && gr_cg_read(d->dirfd, "cpuacct.usage", buf, sizeof(buf)) > 0) {
		uint64_t total = strtoull(buf, NULL, 10), user = 0, sys = 0;

		if (gr_cg_read(d->dirfd, "cpuacct.usage_user", buf, sizeof(buf)) > 0)
			user = strtoull(buf, NULL, 10);
		if (gr_cg_read(d->dirfd, "cpuacct.usage_sys", buf, sizeof(buf)) > 0)
			sys = strtoull(buf, NULL, 10);
		u->cpu_known = true;
		gr_cgroup_v1_cpu_split(total, user, sys, &u->cpu_user_ns, &u->cpu_system_ns);
	}
	if ((d = dir_for(cg, "memory"))) {
		if (gr_cg_read(d->dirfd, "memory.max_usage_in_bytes", buf, sizeof(buf)) > 0) {
			u->memory_known = true;
			u->memory_peak_bytes = strtoull(buf, NULL, 10);
		}
		if (gr_cg_read(d->dirfd, "memory.oom_control", buf, sizeof(buf)) > 0 &&
		    (v = gr_cg_keyed(buf, "oom_kill")) > 0)
			u->oom_kills = v;
	}
	d = dir_for(cg, "pids");
	gr_cg_pids_usage(cg, d ? d->dirfd : -1, u);
	if ((d = dir_for(cg, "blkio")) &&
	    gr_cg_read(d->dirfd, "blkio.throttle.io_service_bytes", buf, sizeof(buf)) >= 0) {
		u->io_known = true;
		for (char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
			char dev[32], op[16];
			unsigned long long n;

			if (sscanf(p, "%31s %15s %llu", dev, op, &n) != 3)
				continue;
			if (!strcmp(op, "Read"))
				u->io_read_bytes += n;
			else if (!strcmp(op, "Write"))
				u->io_write_bytes += n;
		}
	}
	return 0;
}

static int v1_remove(struct gr_cgroup *cg, struct gr_error **err)
{
	int r = 0;

	for (size_t i = 0; i < cg->nv1; i++) {
		struct gr_cg_v1_dir *d = &cg->v1[i];

		if (d->dirfd >= 0)
			close(d->dirfd);
		if (d->path && gr_cg_rmdir_retry(d->path, r < 0 ? NULL : err) < 0)
			r = -EBUSY;
		free(d->path);
		free(d->controllers);
	}
	cg->nv1 = 0;
	return r;
}

static size_t v1_paths_for(const char *name, char **paths, size_t max)
{
	struct v1_discovery disc = { 0 };
	size_t n = 0;

	if (gr_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &disc.mountinfo, NULL, NULL) == 0 &&
	    gr_read_file_at(AT_FDCWD, "/proc/self/cgroup", &disc.own, NULL, NULL) == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(v1_controllers) && n < max; i++) {
			char *p = NULL;
			bool dup = false;

			if (job_dir_path(&disc, v1_controllers[i], name, &p, NULL) <= 0)
				continue;
			for (size_t j = 0; j < n; j++)
				dup = dup || !strcmp(paths[j], p);
			if (dup)
				free(p);
			else
				paths[n++] = p;
		}
	}
	free(disc.mountinfo);
	free(disc.own);
	return n;
}

const struct gr_cgroup_ops gr_cg_v1_ops = {
	.version = 1,
	.create = v1_create,
	.attach = v1_attach,
	.attach_fds = v1_attach_fds,
	.view_fds = v1_view_fds,
	.sample = v1_sample,
	.freeze = v1_freeze,
	.kill_all = v1_kill_all,
	.usage = v1_usage,
	.remove = v1_remove,
	.paths_for = v1_paths_for,
};
