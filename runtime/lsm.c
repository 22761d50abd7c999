/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lsm.h"
#include "util.h"
#include "../kmod-optional/gridrun-lsm.h"

_Static_assert(GR_LSM_HOOKS == GR_LSM_NHOOKS, "lsm.h and gridrun-lsm.h disagree on the hooks");

static const char *const hook_names[GR_LSM_HOOKS] = {
	[GR_LSM_SETUID] = "task_fix_setuid",   [GR_LSM_SETGID] = "task_fix_setgid",
	[GR_LSM_KILL] = "task_kill",           [GR_LSM_PTRACE] = "ptrace",
	[GR_LSM_USERNS] = "userns_create",     [GR_LSM_MOUNT] = "sb_mount",
	[GR_LSM_MOVE_MOUNT] = "move_mount",    [GR_LSM_BPF] = "bpf",
	[GR_LSM_CHMOD] = "path_chmod",         [GR_LSM_MKNOD] = "path_mknod",
	[GR_LSM_MKDIR] = "path_mkdir",         [GR_LSM_UNIX_CONNECT] = "unix_stream_connect",
	[GR_LSM_UNIX_SEND] = "unix_may_send",
	[GR_LSM_PLACE_MKNOD] = "path_mknod_outside",   [GR_LSM_PLACE_MKDIR] = "path_mkdir_outside",
	[GR_LSM_PLACE_SYMLINK] = "path_symlink_outside", [GR_LSM_PLACE_LINK] = "path_link_outside",
};

const char *gr_lsm_hook_name(unsigned hook)
{
	return hook < GR_LSM_HOOKS ? hook_names[hook] : "?";
}

const char *gr_lsm_pin_dir(void)
{
	/* never the environment of a set-id caller's (gridrun-helper clears
	 * its environment anyway): the pins decide whose ranges are scanned */
	const char *p = secure_getenv("GRIDRUN_LSM_PIN");

	return p && p[0] == '/' ? p : "/sys/fs/bpf/gridrun";
}

static int bpf_sys(int cmd, union bpf_attr *a)
{
	return (int)syscall(SYS_bpf, cmd, a, sizeof(*a));
}

static int obj_get(const char *name)
{
	char path[4096];
	union bpf_attr a;

	snprintf(path, sizeof(path), "%s/%s", gr_lsm_pin_dir(), name);
	memset(&a, 0, sizeof(a));
	a.pathname = (uintptr_t)path;
	a.file_flags = 0;
	return bpf_sys(BPF_OBJ_GET, &a);
}

static int map_update(int fd, const void *key, const void *val, uint64_t flags)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = fd;
	a.key = (uintptr_t)key;
	a.value = (uintptr_t)val;
	a.flags = flags;
	return bpf_sys(BPF_MAP_UPDATE_ELEM, &a) < 0 ? -errno : 0;
}

static int map_op(int cmd, int fd, const void *key, void *val)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = fd;
	a.key = (uintptr_t)key;
	a.value = (uintptr_t)val;
	return bpf_sys(cmd, &a) < 0 ? -errno : 0;
}

static void read_counts(int denials_fd, uint64_t job, struct gr_lsm_denials *out, bool remove)
{
	memset(out, 0, sizeof(*out));
	out->loaded = true;
	for (unsigned h = 0; h < GR_LSM_HOOKS; h++) {
		struct gr_lsm_denial_key k = { .job = job, .hook = h };
		uint64_t n = 0;

		if (map_op(BPF_MAP_LOOKUP_ELEM, denials_fd, &k, &n) == 0) {
			out->hook[h] = n;
			out->total += n;
			if (remove)
				(void)map_op(BPF_MAP_DELETE_ELEM, denials_fd, &k, NULL);
		}
	}
}

int gr_lsm_loaded(void)
{
	int fd = obj_get("jobs");

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

int gr_lsm_register(struct gr_lsm_reg *reg, pid_t pid, int pidfd, const struct gr_userns_plan *ids,
		    struct gr_error **err)
{
	return gr_lsm_register_key(reg, pid, 0, pidfd, ids, err);
}

int gr_lsm_register_key(struct gr_lsm_reg *reg, pid_t pid, uint64_t key, int pidfd,
			const struct gr_userns_plan *ids, struct gr_error **err)
{
	_cleanup_close_ int jobs = -1, tags = -1, denials = -1;
	struct gr_lsm_job job = { 0 };
	struct gr_lsm_tag tag = { 0 };
	int r;

	jobs = obj_get("jobs");
	if (jobs < 0)
		return 0;   /* not loaded: nothing changes for the job */
	tags = obj_get("tags");
	denials = obj_get("denials");
	if (tags < 0 || denials < 0)
		return gr_error_sys(err, errno, "lsm: open the pinned maps under %s", gr_lsm_pin_dir());
	/* init is ours and stopped at sync #3: its pid cannot be reused
	 * before the pidfd check below, which proves it was still init */
	r = key ? 0 : gr_lsm_job_key(pid, &key, err);
	if (r < 0)
		return r;
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return gr_error_sys(err, errno, "lsm: the job's init is gone");
	/* a range only when one was leased: one-uid maps map the caller's own ids */
	if (ids->mode != GR_ISOLATION_UNPRIVILEGED && ids->count > 1) {
		job.uid_first = ids->outer_uid;
		job.gid_first = ids->outer_gid;
		job.uid_count = job.gid_count = (uint32_t)ids->count;
	}
	/* the tag first: init may be taking the job's ids in its namespace
	 * right now (after sync #1), and once the job is in "jobs" an untagged
	 * task doing that is refused */
	tag.job = key;
	r = map_update(tags, &pidfd, &tag, BPF_ANY);
	if (r < 0)
		return gr_error_sys(err, -r, "lsm: tag the job's init");
	/* An entry already under this key is a dead job's: namespace inode
	 * numbers are unique among live namespaces, and this one is our own
	 * child's. Its supervisor was killed before it unregistered (R1): the
	 * number may be reused, and must not keep the next job from starting,
	 * nor lend it the dead job's counts. */
	{
		struct gr_lsm_denials stale;

		read_counts(denials, key, &stale, true);
	}
	r = map_update(jobs, &key, &job, BPF_ANY);
	if (r < 0)
		return gr_error_sys(err, -r, "lsm: register the job (user namespace %llu)",
				    (unsigned long long)key);
	reg->job = key;
	reg->jobs_fd = TAKE_FD(jobs);
	reg->denials_fd = TAKE_FD(denials);
	return 1;
}

void gr_lsm_unregister(struct gr_lsm_reg *reg, struct gr_lsm_denials *out)
{
	memset(out, 0, sizeof(*out));
	if (!reg->job)
		return;
	read_counts(reg->denials_fd, reg->job, out, true);
	(void)map_op(BPF_MAP_DELETE_ELEM, reg->jobs_fd, &reg->job, NULL);
	gr_closep(&reg->jobs_fd);
	gr_closep(&reg->denials_fd);
	reg->jobs_fd = reg->denials_fd = -1;
	reg->job = 0;
}

void gr_lsm_reg_close(struct gr_lsm_reg *reg)
{
	gr_closep(&reg->jobs_fd);
	gr_closep(&reg->denials_fd);
	reg->jobs_fd = reg->denials_fd = -1;
}

static int walk_range(uint32_t first, uint32_t count, bool remove, struct gr_lsm_denials *out,
		      struct gr_error **err);

int gr_lsm_drop_range(uint32_t first, uint32_t count, struct gr_lsm_denials *out, struct gr_error **err)
{
	return walk_range(first, count, true, out, err);
}

int gr_lsm_count_range(uint32_t first, uint32_t count, struct gr_error **err)
{
	return walk_range(first, count, false, NULL, err);
}

static int walk_range(uint32_t first, uint32_t count, bool remove, struct gr_lsm_denials *out,
		      struct gr_error **err)
{
	_cleanup_close_ int jobs = -1, denials = -1;
	uint64_t key, next, *prev = NULL;
	int n = 0, r;

	if (out)
		memset(out, 0, sizeof(*out));
	jobs = obj_get("jobs");
	if (jobs < 0)
		return 0;
	denials = obj_get("denials");
	if (denials < 0)
		return gr_error_sys(err, errno, "lsm: open the pinned maps under %s", gr_lsm_pin_dir());
	if (out)
		out->loaded = true;
	/* a deleted key restarts the walk (GET_NEXT_KEY after a deleted key
	 * starts over on a hash map anyway); the map holds at most
	 * GR_LSM_MAX_JOBS entries, so the walk ends */
	for (unsigned steps = 0; steps < 4 * GR_LSM_MAX_JOBS; steps++) {
		struct gr_lsm_job val;
		struct gr_lsm_denials d;

		r = map_op(BPF_MAP_GET_NEXT_KEY, jobs, prev, &next);
		if (r == -ENOENT)
			break;
		if (r < 0)
			return gr_error_sys(err, -r, "lsm: walk the registered jobs");
		key = next;
		prev = &key;
		if (map_op(BPF_MAP_LOOKUP_ELEM, jobs, &key, &val) < 0 || val.uid_first != first ||
		    val.uid_count != count || count == 0)
			continue;
		if (!remove) {
			n++;
			continue;
		}
		read_counts(denials, key, &d, true);
		r = map_op(BPF_MAP_DELETE_ELEM, jobs, &key, NULL);
		if (r < 0 && r != -ENOENT)
			return gr_error_sys(err, -r, "lsm: remove job %llu", (unsigned long long)key);
		n++;
		prev = NULL;
		if (out) {
			out->total += d.total;
			for (unsigned h = 0; h < GR_LSM_HOOKS; h++)
				out->hook[h] += d.hook[h];
		}
	}
	return n;
}

int gr_lsm_maybe_loaded(void)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/jobs", gr_lsm_pin_dir());
	return stat(path, &st) < 0 && errno == ENOENT ? 0 : 1;
}

int gr_lsm_job_key(pid_t pid, uint64_t *job, struct gr_error **err)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat(path, &st) < 0)
		return gr_error_sys(err, errno, "lsm: the job's user namespace (%s)", path);
	*job = st.st_ino;
	return 0;
}

int gr_lsm_read_denials(uint64_t job, struct gr_lsm_denials *out, struct gr_error **err)
{
	_cleanup_close_ int jobs = -1, denials = -1;
	struct gr_lsm_job val;

	memset(out, 0, sizeof(*out));
	jobs = obj_get("jobs");
	if (jobs < 0)
		return 0;
	if (map_op(BPF_MAP_LOOKUP_ELEM, jobs, &job, &val) < 0)
		return 0;   /* not registered (or gone): no figure */
	denials = obj_get("denials");
	if (denials < 0)
		return gr_error_sys(err, errno, "lsm: open the pinned maps under %s", gr_lsm_pin_dir());
	read_counts(denials, job, out, false);
	return 1;
}

void gr_lsm_debug(const char *job_id, const struct gr_lsm_denials *d)
{
	if (!d->loaded) {
		fprintf(stderr, "gridrun: debug: job %s: bpf lsm: not loaded\n", job_id);
		return;
	}
	fprintf(stderr, "gridrun: debug: job %s: bpf lsm: %llu denial(s)", job_id, d->total);
	for (unsigned h = 0; h < GR_LSM_HOOKS; h++)
		if (d->hook[h])
			fprintf(stderr, " %s=%llu", hook_names[h], d->hook[h]);
	fputc('\n', stderr);
}
