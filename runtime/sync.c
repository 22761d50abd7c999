/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sync.h"

static const char *step_name(int step)
{
	switch (step) {
	case GR_SYNC_MAPS_DONE: return "#1 maps written";
	case GR_SYNC_READY: return "#2 mount tree built";
	case GR_SYNC_ATTACHED: return "#3 in the job's cgroups";
	case GR_SYNC_EXEC_DONE: return "#4 job started";
	case GR_SYNC_MAIN_EXITED: return "#5 main process ended";
	case GR_SYNC_RESULT: return "#6 job ended";
	case GR_SYNC_ERROR: return "error";
	}
	return "unknown";
}

union fd_cmsg {
	struct cmsghdr h;
	char buf[CMSG_SPACE(sizeof(int))];
};

/* one packet; passfd >= 0 goes with it (SCM_RIGHTS) */
static int send_msg_fd(int fd, const struct gr_sync_msg *m, int passfd)
{
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	union fd_cmsg u;
	ssize_t n;

	if (passfd >= 0) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &passfd, sizeof(int));
	}
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == sizeof(*m) ? 0 : -EIO;
}

static int send_msg(int fd, const struct gr_sync_msg *m)
{
	return send_msg_fd(fd, m, -1);
}

int gr_sync_send_fd(int fd, enum gr_sync_step step, int passfd, struct gr_error **err)
{
	struct gr_sync_msg m = { .step = step };
	int r = send_msg_fd(fd, &m, passfd);

	if (r < 0)
		return gr_error_sys(err, -r, "sync: send step %s", step_name(step));
	return 0;
}

int gr_sync_send(int fd, enum gr_sync_step step, struct gr_error **err)
{
	struct gr_sync_msg m = { .step = step };
	int r = send_msg(fd, &m);

	if (r < 0)
		return gr_error_sys(err, -r, "sync: send step %s", step_name(step));
	return 0;
}

int gr_sync_send_error(int fd, const struct gr_error *e)
{
	struct gr_sync_msg m = { .step = GR_SYNC_ERROR };

	m.errnum = e ? e->errnum : 0;
	m.code = e ? e->code : 0;
	snprintf(m.text, sizeof(m.text), "%s", e && e->msg ? e->msg : "unknown error");
	return send_msg(fd, &m);
}

int gr_sync_send_result(int fd, const struct gr_sync_result *res, struct gr_error **err)
{
	struct gr_sync_msg m = { .step = GR_SYNC_RESULT, .result = *res };
	int r = send_msg(fd, &m);

	if (r < 0)
		return gr_error_sys(err, -r, "sync: send result");
	return 0;
}

/* one packet; an fd that came with it into *rfd (if rfd, else closed) */
static int recv_msg_fd(int fd, struct gr_sync_msg *msg, int *rfd, struct gr_error **err)
{
	struct iovec iov = { .iov_base = msg, .iov_len = sizeof(*msg) };
	union fd_cmsg u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf) };
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
		int got;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
			continue;
		memcpy(&got, CMSG_DATA(c), sizeof(int));
		if (rfd && *rfd < 0)
			*rfd = got;
		else
			close(got);
	}
	if (n < 0)
		return gr_error_sys(err, errno, "sync: receive");
	if (n == 0)
		return -EPIPE;
	if ((size_t)n != sizeof(*msg))
		return gr_error_set(err, EPROTO, "sync: short message (%zd bytes)", n);
	msg->text[sizeof(msg->text) - 1] = '\0';
	return 0;
}

int gr_sync_recv(int fd, struct gr_sync_msg *msg, struct gr_error **err)
{
	return recv_msg_fd(fd, msg, NULL, err);
}

int gr_sync_wait(int fd, enum gr_sync_step step, struct gr_sync_msg *msg, struct gr_error **err)
{
	return gr_sync_wait_fd(fd, step, msg, NULL, err);
}

int gr_sync_wait_fd(int fd, enum gr_sync_step step, struct gr_sync_msg *msg, int *rfd, struct gr_error **err)
{
	struct gr_sync_msg local;
	int r;

	if (!msg)
		msg = &local;
	if (rfd)
		*rfd = -1;
	r = recv_msg_fd(fd, msg, rfd, err);
	if (r == -EPIPE) {
		r = gr_error_set(err, EPIPE, "sync: the other side died before step %s", step_name(step));
	} else if (r >= 0 && msg->step == GR_SYNC_ERROR) {
		r = gr_error_set(err, msg->errnum, "%s", msg->text);
		if (err && *err)
			(*err)->code = msg->code;
	} else if (r >= 0 && msg->step != (int)step) {
		r = gr_error_set(err, EPROTO, "sync: expected step %s, got %s", step_name(step),
				 step_name(msg->step));
	}
	if (r < 0 && rfd && *rfd >= 0) {
		close(*rfd);
		*rfd = -1;
	}
	return r;
}
