/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gt-helper.h - what the helper-mode tests share (helper_test,
 * helper_sandbox_test): a world per test (gt-world.h), gridrun-helper run
 * directly with a hostile environment and its answer captured
 * (EXPECT_HELPER), and the pilot's gridrun run in helper mode. Include it
 * after kselftest_harness.h.
 */
#ifndef GRIDRUN_GT_HELPER_H
#define GRIDRUN_GT_HELPER_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gt.h"
#include "gt-world.h"

#define FIRST GT_FIRST
#define PILOT GT_PILOT
#define OTHER GT_OTHER

struct world_ctx {
	struct __test_metadata *md;
	void (*body)(struct __test_metadata *, const struct gt_world *);
};

static inline void world_main(void *arg, const struct gt_world *w)
{
	struct world_ctx *c = arg;

	c->body(c->md, w);
	_exit(c->md->passed ? 0 : 1);
}

/* Run body in a fresh world (gt-world.h); the test fails when its pid 1 does. */
static inline void in_world_as(struct __test_metadata *_metadata, unsigned ranges,
			void (*body)(struct __test_metadata *, const struct gt_world *), bool filecaps)
{
	struct world_ctx c = { _metadata, body };
	int status = gt_world_run(ranges, filecaps, world_main, &c);

	EXPECT_EQ(0, status) TH_LOG("the world's pid 1 ended with status %d", status);
}

static inline void in_world(struct __test_metadata *_metadata, unsigned ranges,
		     void (*body)(struct __test_metadata *, const struct gt_world *))
{
	in_world_as(_metadata, ranges, body, false);
}

/* in_world() with NAME=VALUE in the test's environment (GT_WORLD_HANDOVER,
 * GT_WORLD_HOST_PID: gt-world.h), unset again after */
static inline void in_world_env(struct __test_metadata *_metadata, unsigned ranges,
				void (*body)(struct __test_metadata *, const struct gt_world *),
				const char *name, const char *value)
{
	setenv(name, value, 1);
	in_world(_metadata, ranges, body);
	unsetenv(name);
}

#define become gt_become

struct target_how {
	bool userns;
	int uid;
};

static inline int target_setup(int ready, void *arg)
{
	const struct target_how *how = arg;

	if (how->uid >= 0)
		become((uid_t)how->uid);
	if (how->userns && unshare(CLONE_NEWUSER) < 0)
		return 95;
	return 0;
}

/* A target or holder ends: SIGKILLed and reaped. */
static inline void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* /proc/PID/NAME's text (malloc'd), or NULL */
static inline char *proc_file(pid_t pid, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	return gt_read(path);
}

/* A child of the caller (as uid, if not -1), in a new user namespace if
 * asked, waiting for its map; *pidfd holds it. */
static inline pid_t gt_target(int *pidfd, bool userns, int uid)
{
	struct target_how how = { userns, uid };
	pid_t pid = gt_fork_ready(target_setup, &how);

	*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return pid;
}

/* This kernel has nsfs file handles (6.18: name_to_handle_at on an nsfs
 * file) and we are in the host's PID namespace (its inode is fixed), where
 * the kernel answers for another namespace's handle. */
static inline bool gt_nsfs_handles(void)
{
	char buf[sizeof(struct file_handle) + 64];
	struct file_handle *fh = (struct file_handle *)buf;
	struct stat st;
	int mnt;

	fh->handle_bytes = 64;
	return name_to_handle_at(AT_FDCWD, "/proc/self/ns/user", fh, &mnt, AT_SYMLINK_FOLLOW) == 0 &&
	       stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == 0xEFFFFFFCu;
}

struct hres {
	int status;
	char out[512], err[512];
};

static inline void drain(int fd, char *buf, size_t size)
{
	size_t used = 0;
	ssize_t n;

	while (used + 1 < size && (n = read(fd, buf + used, size - used - 1)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	close(fd);
}

/* Run the helper as the calling process's child, fd 3 = fd3 and fd 4 = fd4
 * (-1: none; fd4 must not be 3). */
static inline void helper_fds(const struct gt_world *w, const char *const args[], int fd3, int fd4,
			      struct hres *res)
{
	char *argv[8] = { "gridrun-helper" };
	int po[2], pe[2], status;
	pid_t pid;

	for (int i = 0; args[i] && i < 6; i++)
		argv[i + 1] = (char *)args[i];
	/* stdout a unix socket, as gridrun gives it (a mount may come with it) */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, po) < 0 || pipe(pe) < 0)
		abort();
	pid = fork();
	if (pid == 0) {
		char *envp[] = { "GRIDRUN_CONFIG=/tmp/evil.conf", "LD_PRELOAD=/tmp/evil.so", NULL };

		dup2(po[1], 1);
		dup2(pe[1], 2);
		if (fd3 >= 0) {
			dup2(fd3, 3);
			fcntl(3, F_SETFD, 0);
		} else
			close(3);
		if (fd4 >= 0) {
			dup2(fd4, 4);
			fcntl(4, F_SETFD, 0);
		} else
			close(4);
		syscall(SYS_close_range, 5, ~0U, 0);
		execve(w->helper, argv, envp);
		_exit(96);
	}
	close(po[1]);
	close(pe[1]);
	drain(po[0], res->out, sizeof(res->out));
	drain(pe[0], res->err, sizeof(res->err));
	waitpid(pid, &status, 0);
	res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static inline void helper(const struct gt_world *w, const char *const args[], int fd3, struct hres *res)
{
	helper_fds(w, args, fd3, -1, res);
}

#define EXPECT_HELPER(w, fd3, want_status, want_err, ...) do { \
		const char *_a[] = { __VA_ARGS__, NULL }; \
		struct hres _r; \
		helper(w, _a, fd3, &_r); \
		EXPECT_EQ(want_status, _r.status) TH_LOG("stderr: %s", _r.err); \
		EXPECT_STREQ(want_err, _r.err); \
	} while (0)

/* Pilot uid's environment for gridrun: the world's helper, a state dir
 * w->dir/NAME of its own, returned. */
static inline char *pilot_env_of(const struct gt_world *w, uid_t uid, const char *name)
{
	char *state;

	if (asprintf(&state, "%s/%s", w->dir, name) < 0)
		abort();
	gt_mkdirs(state, 0700, uid, uid);
	setenv("GRIDRUN_HELPER", w->helper, 1);
	setenv("GRIDRUN_STATE_DIR", state, 1);
	unsetenv("GRIDRUN_CONFIG");
	return state;
}

/* The pilot's environment for gridrun: the test's helper, its own state dir. */
static inline char *pilot_env(const struct gt_world *w)
{
	return pilot_env_of(w, PILOT, "pstate");
}

/* A spec of POOL for ACCOUNT running sh -c 'SBX=<sandbox>; SCRIPT' as job
 * NAME, its sandbox w->dir/execute/NAME (0700, uid's) and, if asked, its
 * accounting record there (record.json). */
static inline char *pool_spec(const struct gt_world *w, const char *pool, const char *account, uid_t uid,
			      const char *name, const char *script, bool record)
{
	char *sbx, *args, *gr, *spec, *esc;

	if (asprintf(&sbx, "%s/execute/%s", w->dir, name) < 0)
		abort();
	gt_mkdirs(sbx, 0700, uid, uid);
	if (asprintf(&esc, "SBX=%s; %s", sbx, script) < 0 ||
	    asprintf(&args, "[\"/bin/sh\", \"-c\", \"%s\"]", esc) < 0 ||
	    asprintf(&gr, "\"job_id\": \"%s\", \"pool\": \"%s\", \"account\": \"%s\", \"sandbox\": \"%s\"%s%s%s",
		     name, pool, account, sbx, record ? ", \"accounting\": \"" : "", record ? sbx : "",
		     record ? "/record.json\"" : "") < 0)
		abort();
	spec = gt_spec(w->dir, args, NULL, gr);
	chmod(spec, 0644);
	free(sbx);
	free(esc);
	free(args);
	free(gr);
	return spec;
}

/* A job of pool atlas for the pilot (atlas001), with its record */
static inline char *pilot_spec(const struct gt_world *w, const char *name, const char *script)
{
	return pool_spec(w, "atlas", "atlas001", PILOT, name, script, true);
}

#endif
