/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

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

static int send_msg(int fd, const struct gr_sync_msg *m)
{
	ssize_t n;

	do
		n = send(fd, m, sizeof(*m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == sizeof(*m) ? 0 : -EIO;
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

int gr_sync_recv(int fd, struct gr_sync_msg *msg, struct gr_error **err)
{
	ssize_t n;

	do
		n = recv(fd, msg, sizeof(*msg), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return gr_error_sys(err, errno, "sync: receive");
	if (n == 0)
		return -EPIPE;
	if ((size_t)n != sizeof(*msg))
		return gr_error_set(err, EPROTO, "sync: short message (%zd bytes)", n);
	msg->text[sizeof(msg->text) - 1] = '\0';
	return 0;
}

int gr_sync_wait(int fd, enum gr_sync_step step, struct gr_sync_msg *msg, struct gr_error **err)
{
	struct gr_sync_msg local;
	int r;

	if (!msg)
		msg = &local;
	r = gr_sync_recv(fd, msg, err);
	if (r == -EPIPE)
		return gr_error_set(err, EPIPE, "sync: the other side died before step %s",
				    step_name(step));
	if (r < 0)
		return r;
	if (msg->step == GR_SYNC_ERROR) {
		r = gr_error_set(err, msg->errnum, "%s", msg->text);
		if (err && *err)
			(*err)->code = msg->code;
		return r;
	}
	if (msg->step != (int)step)
		return gr_error_set(err, EPROTO, "sync: expected step %s, got %s",
				    step_name(step), step_name(msg->step));
	return 0;
}
