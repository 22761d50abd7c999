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
 * the waiter ends the wait. No libfuse needed. gt_fuse_answer() answers for
 * a while: a root directory holding one file, every name it is asked for,
 * but GT_FUSE_SUBDIR, a directory (holding the same), all cached for no
 * time (so each later lookup asks again), until gt_fuse_stop().
 */
#ifndef GRIDRUN_GT_FUSE_H
#define GRIDRUN_GT_FUSE_H

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/stat.h>
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

struct gt_fuse_daemon {
	int fd;
	volatile int stop;      /* set (gt_fuse_stop()): no more reads */
	pthread_t thread;
};

/* node 3 is a directory too (GT_FUSE_SUBDIR), every other name a file */
#define GT_FUSE_SUBDIR "sub"

static inline void gt_fuse_attr(struct fuse_attr *a, uint64_t ino)
{
	*a = (struct fuse_attr){ .ino = ino, .mode = ino == FUSE_ROOT_ID || ino == 3 ? S_IFDIR | 0755 : S_IFREG | 0644,
				 .nlink = 1, .uid = GT_PILOT, .gid = GT_PILOT };
}

static inline void *gt_fuse_serve(void *arg)
{
	struct gt_fuse_daemon *d = arg;
	static char in[1 << 17];

	for (;;) {
		const struct fuse_in_header *h = (const void *)in;
		struct {
			struct fuse_out_header h;
			union {
				struct fuse_init_out init;
				struct fuse_entry_out entry;
				struct fuse_attr_out attr;
			};
		} out;
		size_t len = sizeof(out.h);
		struct pollfd pfd = { .fd = d->fd, .events = POLLIN };
		ssize_t n;

		/* stopped: never read again. A request read and not answered
		 * would wait out even SIGKILL (fs/fuse/dev.c
		 * request_wait_answer()); one never read ends with it. */
		if (poll(&pfd, 1, 50) < 0 && errno != EINTR)
			return NULL;
		if (d->stop)
			return NULL;
		if (!(pfd.revents & POLLIN))
			continue;
		n = read(d->fd, in, sizeof(in));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < (ssize_t)sizeof(*h))
			return NULL;    /* the connection ended */
		memset(&out, 0, sizeof(out));
		out.h.unique = h->unique;
		switch (h->opcode) {
		case FUSE_INIT:
			out.init = (struct fuse_init_out){ .major = FUSE_KERNEL_VERSION,
							   .minor = FUSE_KERNEL_MINOR_VERSION, .max_write = 4096 };
			len += sizeof(out.init);
			break;
		case FUSE_LOOKUP:
			out.entry.nodeid = (size_t)n > sizeof(*h) && !strcmp(in + sizeof(*h), GT_FUSE_SUBDIR) ? 3 : 2;
			out.entry.generation = 1;
			gt_fuse_attr(&out.entry.attr, out.entry.nodeid);
			len += sizeof(out.entry);
			break;
		case FUSE_GETATTR:
			gt_fuse_attr(&out.attr.attr, h->nodeid);
			len += sizeof(out.attr);
			break;
		case FUSE_FORGET:
		case FUSE_BATCH_FORGET:
			continue;       /* no reply wanted */
		default:
			out.h.error = -ENOSYS;
		}
		out.h.len = (uint32_t)len;
		if (write(d->fd, &out, len) < 0 && errno == ENODEV)
			return NULL;
	}
}

/* As gt_fuse_mount(), with a daemon thread that answers until d->stop. */
static inline int gt_fuse_answer(const char *dir, struct gt_fuse_daemon *d)
{
	d->stop = 0;
	d->fd = gt_fuse_mount(dir);
	if (d->fd >= 0 && pthread_create(&d->thread, NULL, gt_fuse_serve, d) != 0) {
		close(d->fd);
		d->fd = -1;
	}
	return d->fd;
}

/* From now on the daemon reads nothing (nothing it read is left unanswered). */
static inline void gt_fuse_stop(struct gt_fuse_daemon *d)
{
	d->stop = 1;
	pthread_join(d->thread, NULL);
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
