/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gt-lsm.h - what lsm_test's attacks share: the V3 step (setns into a job's
 * user namespace, then set*id to its range's first id), a job's record and
 * main process, and the stand-in (a root task of the test, registered and
 * tagged by gr_lsm_register() as gridrun registers a job's init, that exec's
 * an attack script; lsm_test.c says why), a descriptor handed over an
 * abstract unix socket, and a pilot's job in helper mode (gt-helper.h).
 * Include it after kselftest_harness.h and gt-helper.h.
 */
#ifndef GRIDRUN_GT_LSM_H
#define GRIDRUN_GT_LSM_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

#include "gt.h"
#include "lsm.h"

/* V3: a task outside the job enters its user namespace and takes uid 0
 * there, i.e. the first kuid of the leased range. 0 or the errno. */
static int setns_setresuid(pid_t init, bool gid)
{
	char path[64];
	int status, fd;
	pid_t c;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)init);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	c = fork();
	if (c == 0) {
		if (setns(fd, CLONE_NEWUSER) < 0)
			_exit(100);
		if (gid ? setresgid(0, 0, 0) : setresuid(0, 0, 0))
			_exit(errno);
		_exit(0);
	}
	close(fd);
	waitpid(c, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

static json_t *read_record(const char *rec)
{
	char *text = gt_read(rec);
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	return o;
}

/* The host pid of a job's init from its state entry at sp, waiting up to
 * ten seconds for it to appear; 0 if it does not. */
static pid_t state_init(const char *sp)
{
	pid_t init = 0;

	for (int i = 0; i < 200 && !init; i++) {
		json_t *o;

		usleep(50000);
		o = read_record(sp);
		init = (pid_t)gt_json_int(o, "pid");
		json_decref(o);
	}
	return init;
}

/* the first child of host pid `init` (the job's main process), 0 if none */
static pid_t first_child(pid_t init)
{
	char path[64], *text;
	pid_t c = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)init, (int)init);
	for (int i = 0; i < 100 && !c; i++) {
		text = gt_read(path);
		c = text ? (pid_t)atoi(text) : 0;
		free(text);
		if (!c)
			usleep(50000);
	}
	return c;
}

/* uid >= 0: the stand-in runs as that uid (and gid); reg false: not
 * registered. d NULL: the registration is left behind. */
static void standin(struct __test_metadata *_metadata, bool reg, const char *script, const char *arg,
		    int uid, const char *want, struct gr_lsm_denials *d)
{
	struct gr_lsm_reg lr = GR_LSM_REG_INIT;
	struct gr_userns_plan ids = { .mode = GR_ISOLATION_ROOT, .count = 1 };
	struct gr_error *err = NULL;
	char *out;
	int go[2], outp[2], status, pidfd;
	pid_t c;

	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(outp, O_CLOEXEC));
	c = fork();
	ASSERT_LE(0, c);
	if (c == 0) {
		char b;

		/* the write end must be the parent's alone: EOF if it fails */
		close(go[1]);
		close(outp[0]);
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(120);
		if (uid >= 0 && (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
				 setresuid(uid, uid, uid) < 0))
			_exit(122);
		dup2(outp[1], 1);
		if (read(go[0], &b, 1) != 1)
			_exit(121);
		execl("/usr/bin/python3", "python3", "-c", script, arg, (char *)NULL);
		_exit(127);
	}
	close(go[0]);
	close(outp[1]);
	pidfd = (int)syscall(SYS_pidfd_open, c, 0);
	ASSERT_LE(0, pidfd);
	if (reg)
		ASSERT_EQ(1, gr_lsm_register(&lr, c, pidfd, &ids, &err)) TH_LOG("%s", err ? err->msg : "");
	ASSERT_EQ(1, write(go[1], "g", 1));
	close(go[1]);
	out = calloc(1, 4096);
	for (size_t n = 0; n < 4095;) {
		ssize_t k = read(outp[0], out + n, 4095 - n);

		if (k <= 0)
			break;
		n += (size_t)k;
	}
	close(outp[0]);
	waitpid(c, &status, 0);
	EXPECT_EQ(0, status);
	EXPECT_STREQ(want, out);
	if (d) {
		gr_lsm_unregister(&lr, d);
	} else {   /* as a supervisor killed before it unregistered */
		close(lr.jobs_fd);
		close(lr.denials_fd);
	}
	close(pidfd);
	free(out);
}

/* the pilot's side: hand one connection a descriptor of dir, then exit */
static pid_t serve_dir(struct __test_metadata *_metadata, const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, len = snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "gr-lsm-fd-%s", gt_marker());
	pid_t c;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	EXPECT_EQ(0, bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)));
	EXPECT_EQ(0, listen(fd, 1));
	c = fork();
	if (c == 0) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u = { 0 };
		struct iovec iov = { .iov_base = "d", .iov_len = 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf) };
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), conn;

		alarm(60);
		conn = accept(fd, NULL, NULL);
		u.h.cmsg_level = SOL_SOCKET;
		u.h.cmsg_type = SCM_RIGHTS;
		u.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&u.h), &dfd, sizeof(int));
		_exit(dfd < 0 || conn < 0 || sendmsg(conn, &m, 0) != 1);
	}
	close(fd);
	return c;
}

static pid_t start_pilot_job(struct __test_metadata *_metadata, const struct gt_world *w, const char *name,
			     pid_t *init, pid_t *main_pid)
{
	/* the job's own sandbox stays writable (the LSM's rule on new inodes) */
	char *spec = pilot_spec(w, name, "echo up > $SBX/up; sleep 30"), *sp;
	pid_t pid = gt_start_spec(spec, PILOT);

	ASSERT_LT(0, pid);
	ASSERT_LE(0, asprintf(&sp, "%s/pstate/%s/state.json", w->dir, name));
	*init = state_init(sp);
	ASSERT_LT(0, *init) TH_LOG("no state at %s", sp);
	*main_pid = first_child(*init);
	ASSERT_LT(0, *main_pid);
	usleep(200000);   /* past exec */
	free(sp);
	free(spec);
	return pid;
}

static json_t *stop_pilot_job(struct __test_metadata *_metadata, const struct gt_world *w, pid_t pid,
			      const char *name)
{
	json_t *o;

	kill(pid, SIGTERM);
	EXPECT_NE(-1, gt_wait(pid, 30000));
	o = read_record(gt_f("%s/execute/%s/record.json", w->dir, name));
	EXPECT_NE(NULL, o);
	return o;
}

/* as the pilot: V3 against its own job, through its main process (init
 * is not dumpable); 0 or the errno */
static int pilot_setns_setresuid(pid_t init)
{
	int status;
	pid_t c = fork();

	if (c == 0) {
		become(PILOT);
		_exit(setns_setresuid(init, false));
	}
	waitpid(c, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

#endif
