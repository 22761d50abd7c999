/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cg-v2.c - the cgroup v2 (unified) backend.
 *
 * The job cgroup is BASE/gridrun-<job-id>. Controllers are enabled in BASE's
 * cgroup.subtree_control one by one; a controller the base cannot delegate
 * (not in its cgroup.controllers, or BASE holds processes and is not the
 * root: the "no internal processes" rule) is only an error when a requested
 * limit needs it. cpu.stat, cgroup.kill and cgroup.freeze need no controller.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cg-internal.h"
#include "util.h"

#define CG2_ROOT GR_CG_ROOT

static int own_cgroup(char **out, struct gr_error **err)
{
	_cleanup_free_ char *text = NULL;
	char *p, *nl;

	if (gr_read_file_at(AT_FDCWD, "/proc/self/cgroup", &text, NULL, err) < 0)
		return -EIO;
	p = strstr(text, "0::");
	if (!p || (p != text && p[-1] != '\n'))
		return gr_error_set(err, ENOENT, "no cgroup v2 entry in /proc/self/cgroup");
	p += 3;
	nl = strchr(p, '\n');
	if (nl)
		*nl = '\0';
	if (asprintf(out, "%s%s", CG2_ROOT, strcmp(p, "/") ? p : "") < 0)
		return gr_error_sys(err, ENOMEM, "cgroup path");
	return 0;
}

static int base_path(char **out, struct gr_error **err)
{
	const char *rel;
	int r = gr_cg_base(&rel, err);

	if (r < 0)
		return r;
	if (rel) {
		if (asprintf(out, "%s%s", CG2_ROOT, rel) < 0)
			return gr_error_sys(err, ENOMEM, "cgroup base");
		return 0;
	}
	return own_cgroup(out, err);
}

/* Is controller c listed (as a word) in text? */
static bool has_word(const char *text, const char *c)
{
	size_t n = strlen(c);

	for (const char *p = strstr(text, c); p; p = strstr(p + 1, c))
		if ((p == text || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return true;
	return false;
}

static const char *const wanted[] = { "memory", "pids", "cpu", "io" };

/*
 * Enable what the base can give its children. A controller it cannot give
 * is not an error here: each limit that needs it then fails to apply, and
 * why[i] (for wanted[i]) says why.
 */
static void enable_controllers(int basefd, char why[][160])
{
	char have[512] = "", enabled[512] = "";

	gr_cg_read(basefd, "cgroup.controllers", have, sizeof(have));
	gr_cg_read(basefd, "cgroup.subtree_control", enabled, sizeof(enabled));
	for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
		const char *c = wanted[i];
		char plus[16];
		_cleanup_gr_error_ struct gr_error *e = NULL;

		why[i][0] = '\0';
		if (has_word(enabled, c))
			continue;
		snprintf(plus, sizeof(plus), "+%s", c);
		if (!has_word(have, c))
			snprintf(why[i], 160, "the %s controller is not available to the base cgroup", c);
		else if (gr_cg_write(basefd, "cgroup.subtree_control", plus, &e) < 0)
			snprintf(why[i], 160, "enable the %s controller in the base cgroup: %s", c, e->msg);
	}
}

static int set_limits(struct gr_cgroup *cg, const struct gr_resources *res, char why[][160],
		      struct gr_error **err)
{
	int fd = cg->dirfd;
	const char *dir = cg->path;
	char v[64];
#define MISSING(i) (why[i][0] ? why[i] : NULL)

	if (res->memory_limit > 0) {
		snprintf(v, sizeof(v), "%lld", res->memory_limit);
		if (gr_cg_limit(cg, res, GR_LIM_MEMORY_LIMIT, fd, dir, "memory.max", v, MISSING(0), err) < 0)
			return -EINVAL;
	}
	if (res->memory_swap > 0) {
		/* OCI's swap is memory+swap; v2's memory.swap.max is swap alone */
		long long swap = res->memory_swap - (res->memory_limit > 0 ? res->memory_limit : 0);

		snprintf(v, sizeof(v), "%lld", swap > 0 ? swap : 0);
		if (gr_cg_limit(cg, res, GR_LIM_MEMORY_SWAP, fd, dir, "memory.swap.max", v,
				why[0][0] ? why[0] : "no swap accounting (swapaccount=0 or no CONFIG_MEMCG_SWAP)",
				err) < 0)
			return -EINVAL;
	}
	if (res->cpu_quota > 0 || res->cpu_period > 0) {
		unsigned long long period = res->cpu_period ? res->cpu_period : 100000;

		if (res->cpu_quota > 0)
			snprintf(v, sizeof(v), "%lld %llu", res->cpu_quota, period);
		else
			snprintf(v, sizeof(v), "max %llu", period);
		if (gr_cg_limit(cg, res, res->cpu_quota > 0 ? GR_LIM_CPU_QUOTA : GR_LIM_CPU_PERIOD, fd, dir,
				"cpu.max", v, MISSING(2), err) < 0)
			return -EINVAL;
	}
	if (res->cpu_shares > 0) {
		/* the OCI runtimes' mapping of shares [2, 262144] onto weight [1, 10000] */
		unsigned long long s = res->cpu_shares < 2 ? 2 : res->cpu_shares > 262144 ? 262144 : res->cpu_shares;

		snprintf(v, sizeof(v), "%llu", 1 + ((s - 2) * 9999) / 262142);
		if (gr_cg_limit(cg, res, GR_LIM_CPU_SHARES, fd, dir, "cpu.weight", v, MISSING(2), err) < 0)
			return -EINVAL;
	}
	if (res->pids_limit > 0) {
		snprintf(v, sizeof(v), "%lld", res->pids_limit);
		if (gr_cg_limit(cg, res, GR_LIM_PIDS_LIMIT, fd, dir, "pids.max", v, MISSING(1), err) < 0)
			return -EINVAL;
	}
	{
		const struct gr_cg_io_files io = {
			.dirfd = fd, .dir = dir, .missing = MISSING(3),
			.weight = { "io.bfq.weight" }, .weight_device = { "io.bfq.weight" },
			.throttle = { "io.max", "io.max", "io.max", "io.max" },
			.throttle_key = { "rbps=", "wbps=", "riops=", "wiops=" },
		};

		return gr_cg_io_limits(cg, res, &io, err);
	}
#undef MISSING
}

static int v2_create(struct gr_cgroup *cg, const char *name, const struct gr_resources *res,
		     struct gr_error **err)
{
	_cleanup_free_ char *base = NULL;
	_cleanup_close_ int basefd = -1;
	char why[ARRAY_SIZE(wanted)][160];
	int r;

	r = base_path(&base, err);
	if (r < 0)
		return r;
	basefd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (basefd < 0)
		return gr_error_sys(err, errno, "open base `%s`", base);
	enable_controllers(basefd, why);
	if (asprintf(&cg->path, "%s/%s", base, name) < 0)
		return gr_error_sys(err, ENOMEM, "cgroup path");
	if (mkdirat(basefd, name, 0755) < 0) {
		/* another job's (or a killed job's, for gc): never taken over, nor
		 * removed by this job's clean-up (cgroups.h) */
		int e = errno;
		_cleanup_free_ char *path = TAKE_PTR(cg->path);

		return e == EEXIST ? gr_cg_exists(path, err) : gr_error_sys(err, e, "create `%s`", path);
	}
	cg->dirfd = openat(basefd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->dirfd < 0)
		return gr_error_sys(err, errno, "open `%s`", cg->path);
	return set_limits(cg, res, why, err);
}

/* Wait until cgroup.events says key is val (populated 0, frozen 1, ...). */
static int wait_event(int dirfd, const char *key, long long val, int timeout_ms)
{
	_cleanup_close_ int fd = openat(dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	char buf[256];

	if (fd < 0)
		return -errno;
	for (int waited = 0;; ) {
		struct pollfd p = { .fd = fd, .events = POLLPRI };
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

		if (n < 0)
			return -errno;
		buf[n] = '\0';
		if (gr_cg_keyed(buf, key) == val)
			return 0;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		/* cgroup.events signals a change with POLLPRI; poll in slices
		 * anyway, a change between pread and poll must not be lost */
		poll(&p, 1, 10);
		waited += 10;
	}
}

static int v2_freeze(struct gr_cgroup *cg, bool frozen, struct gr_error **err)
{
	int r = gr_cg_write(cg->dirfd, "cgroup.freeze", frozen ? "1" : "0", err);

	if (r < 0)
		return r;
	r = wait_event(cg->dirfd, "frozen", frozen ? 1 : 0, 5000);
	if (r < 0)
		return gr_error_sys(err, -r, "wait for `%s` to %s", cg->path, frozen ? "freeze" : "thaw");
	return 0;
}

static int v2_kill_all(struct gr_cgroup *cg, unsigned *killed, struct gr_error **err)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	int r;

	if (gr_cg_procs_tree(cg->path, &pids, &n) == 0)
		*killed = n;
	if (n == 0)
		return 0;
	/* cgroup.kill (5.14) reaches every process in the subtree, even one in
	 * a sub-cgroup the job froze itself (runc #2105) */
	r = gr_cg_write(cg->dirfd, "cgroup.kill", "1", err);
	if (r < 0)
		return gr_error_prefix(err, "kill the job in `%s`", cg->path);
	r = wait_event(cg->dirfd, "populated", 0, 5000);
	if (r < 0)
		return gr_error_sys(err, -r, "wait for `%s` to empty", cg->path);
	return 0;
}

static void v2_sample(struct gr_cgroup *cg)
{
	gr_cg_pids_sample(cg, cg->dirfd);
}

static int v2_usage(struct gr_cgroup *cg, struct gr_cgroup_usage *u, struct gr_error **err)
{
	char buf[4096];
	long long v;

	if (gr_cg_read(cg->dirfd, "cpu.stat", buf, sizeof(buf)) < 0)
		return gr_error_sys(err, errno, "read `%s/cpu.stat`", cg->path);
	u->cpu_known = true;
	u->cpu_user_ns = (uint64_t)gr_cg_keyed(buf, "user_usec") * 1000;
	u->cpu_system_ns = (uint64_t)gr_cg_keyed(buf, "system_usec") * 1000;
	if (gr_cg_read(cg->dirfd, "memory.peak", buf, sizeof(buf)) > 0) {
		u->memory_known = true;
		u->memory_peak_bytes = strtoull(buf, NULL, 10);
	}
	if (gr_cg_read(cg->dirfd, "memory.events", buf, sizeof(buf)) > 0 &&
	    (v = gr_cg_keyed(buf, "oom_kill")) > 0)
		u->oom_kills = v;
	gr_cg_pids_usage(cg, cg->dirfd, u);
	if (gr_cg_read(cg->dirfd, "io.stat", buf, sizeof(buf)) >= 0) {
		u->io_known = true;
		for (char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
			char *r = strstr(p, "rbytes="), *w = strstr(p, "wbytes="), *nl = strchr(p, '\n');

			if (r && (!nl || r < nl))
				u->io_read_bytes += strtoull(r + 7, NULL, 10);
			if (w && (!nl || w < nl))
				u->io_write_bytes += strtoull(w + 7, NULL, 10);
		}
	}
	return 0;
}

static int v2_remove(struct gr_cgroup *cg, struct gr_error **err)
{
	if (cg->dirfd >= 0) {
		close(cg->dirfd);
		cg->dirfd = -1;
	}
	if (!cg->path)
		return 0;
	return gr_cg_rmdir_retry(cg->path, err);
}

static size_t v2_paths_for(const char *name, char **paths, size_t max)
{
	_cleanup_free_ char *base = NULL;

	if (max < 1 || base_path(&base, NULL) < 0 || asprintf(&paths[0], "%s/%s", base, name) < 0)
		return 0;
	return 1;
}

const struct gr_cgroup_ops gr_cg_v2_ops = {
	.version = 2,
	.create = v2_create,
	.sample = v2_sample,
	.freeze = v2_freeze,
	.kill_all = v2_kill_all,
	.usage = v2_usage,
	.remove = v2_remove,
	.paths_for = v2_paths_for,
};
