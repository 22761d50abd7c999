/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gt-fuse.h - what fuse_test and helper_fuse_test share (S36, I/O): a raw
 * FUSE mount whose daemon never answers, and a child given a bounded time
 * in a mount namespace of its own. Include it after kselftest_harness.h.
 *
 * The mount is root's (open /dev/fuse, mount "fuse" with fd=N), as a user
 * with user_allow_other makes one through fusermount3: allow_other, the
 * pilot's user_id and group_id. Nobody reads the fd, so every request to
 * the file system waits; closing the fd (the last one) or a fatal signal to
 * the waiter ends the wait. No libfuse needed.
 */
#ifndef GRIDRUN_GT_FUSE_H
#define GRIDRUN_GT_FUSE_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "gt.h"
#include "gt-world.h"

#define GT_FUSE_BOUND_MS 10000

/* As root: the never-answering FUSE mount on dir; the /dev/fuse fd (its
 * close ends the connection), or -1 with the step on stderr. */
static inline int gt_fuse_mount(const char *dir)
{
	char opts[160];
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "open /dev/fuse: %s\n", strerror(errno));
		return -1;
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=%u,group_id=%u,allow_other", fd, GT_PILOT,
		 GT_PILOT);
	if (mount("gridrun-test", dir, "fuse", MS_NOSUID | MS_NODEV, opts) < 0) {
		fprintf(stderr, "mount fuse on %s: %s\n", dir, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* fn(arg) in a child with a mount namespace of its own (its mounts end with
 * it, never on the host's), given GT_FUSE_BOUND_MS: its exit status, or -1
 * when it had not finished (then killed: a fatal signal ends a FUSE wait). */
static inline int gt_fuse_bounded(int (*fn)(void *arg), void *arg)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -2;
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(99);
		_exit(fn(arg));
	}
	status = gt_wait(pid, GT_FUSE_BOUND_MS);
	if (status == -1) {
		kill(pid, SIGKILL);
		gt_wait(pid, -1);
	}
	return status;
}

#endif
