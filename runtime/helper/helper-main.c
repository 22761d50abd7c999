/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gridrun-helper - the privileged step of helper mode; see runtime/helper.h
 * for the request, the exit codes and the order of privilege changes.
 * Nothing is printed before every privilege is gone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/socket.h>
#include <grp.h>
#include <unistd.h>

#include "helper.h"

/* The answer line with fd attached (SCM_RIGHTS): stdout must be a socket. */
static int send_with_fd(const char *out, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = (void *)out, .iov_len = strlen(out) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c;
	ssize_t n;

	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(STDOUT_FILENO, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)iov.iov_len ? 0 : -1;
}

static int finish(const struct gr_helper_caller *caller, struct gr_error *e, const char *out, int outfd)
{
	_cleanup_gr_error_ struct gr_error *leave = NULL;

	/* step 4 on every path, before anything is printed */
	if (gr_helper_leave(caller, &leave) < 0) {
		fprintf(stderr, "gridrun-helper: %s\n", leave->msg);
		return GR_HELPER_EXIT_FAILED;
	}
	if (e) {
		fprintf(stderr, "gridrun-helper: %s\n", e->msg ? e->msg : "failed");
		return e->code ? e->code : GR_HELPER_EXIT_FAILED;
	}
	if (outfd >= 0) {
		if (send_with_fd(out, outfd) == 0)
			return GR_HELPER_EXIT_OK;
		fprintf(stderr, "gridrun-helper: cannot pass the sandbox's mount: stdout is not a unix socket\n");
		return GR_HELPER_EXIT_FAILED;
	}
	fputs(out, stdout);
	return fflush(stdout) == 0 ? GR_HELPER_EXIT_OK : GR_HELPER_EXIT_FAILED;
}

/* --help answers whoever asks, root included, without a request: every
 * privilege is dropped for good first (the real ids, no capabilities), as
 * on every other path nothing is printed before. */
static int help(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	cap_t none = cap_init();
	int r = none && setgroups(0, NULL) == 0 ? 0 : -1;

	/* setgroups needs CAP_SETGID: a caller without it keeps its groups */
	if (r < 0 && errno == EPERM)
		r = 0;
	if (r < 0 || !none || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0 || cap_set_proc(none) < 0) {
		cap_free(none);
		fprintf(stderr, "gridrun-helper: cannot drop privileges: %s\n", strerror(errno));
		return GR_HELPER_EXIT_FAILED;
	}
	cap_free(none);
	printf("%s\n(gridrun runs it in helper mode; README.md says how to install it)\n",
	       GR_HELPER_USAGE);
	return fflush(stdout) == 0 ? GR_HELPER_EXIT_OK : GR_HELPER_EXIT_FAILED;
}

int main(int argc, char **argv)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	struct gr_helper_caller caller = { .pid = 0, .pidfd = -1, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	struct gr_helper_req req;
	char out[1024] = "";
	int outfd = -1;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return help();
	if (gr_helper_enter(&caller, &err) < 0 || gr_helper_parse(argc, argv, &req, &err) < 0 ||
	    gr_helper_narrow(&req, &err) < 0 ||
	    gr_helper_act(&caller, &req, out, sizeof(out), &outfd, &err) < 0)
		return finish(&caller, err, out, -1);
	return finish(&caller, NULL, out, outfd);
}
