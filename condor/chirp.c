// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * chirp.c - Chirp delayed updates over loopback (chirp.h has the contract).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chirp.h"
#include "util.h"

int gr_chirp_load(const char *path, struct gr_chirp *out, struct gr_error **err)
{
	_cleanup_free_ char *text = NULL;
	struct in_addr ia;
	char addr[64], cookie[512], extra[2];
	unsigned port;
	int r;

	memset(out, 0, sizeof(*out));
	r = gr_read_file_at(AT_FDCWD, path, &text, NULL, err);
	if (r < 0)
		return gr_error_prefix(err, "chirp config");
	if (sscanf(text, "%63s %u %511s %1s", addr, &port, cookie, extra) != 3 ||
	    inet_pton(AF_INET, addr, &ia) != 1 || port < 1 || port > 65535 || strlen(cookie) >= sizeof(out->cookie))
		return gr_error_set(err, EINVAL, "chirp config `%s`: expected \"<ipv4> <port> <cookie>\"", path);
	for (const char *c = cookie; *c; c++)
		if (*c < 0x21 || *c > 0x7e)
			return gr_error_set(err, EINVAL, "chirp config `%s`: the cookie is not printable", path);
	inet_ntop(AF_INET, &ia, out->addr, sizeof(out->addr));
	out->port = port;
	memcpy(out->cookie, cookie, strlen(cookie) + 1);
	return 0;
}

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

/* Send line, read one reply line, return its result (or -errno). */
static int command(int fd, const char *line, int timeout_ms, int *result)
{
	char reply[64];
	size_t got = 0;
	ssize_t n, w = gr_write_all(fd, line, strlen(line));

	if (w < 0)
		return (int)w;
	while (got < sizeof(reply) - 1) {
		int r = wait_fd(fd, POLLIN, timeout_ms);

		if (r < 0)
			return r;
		n = read(fd, reply + got, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		if (reply[got] == '\n')
			break;
		got++;
	}
	reply[got] = '\0';
	if (got == 0 || got == sizeof(reply) - 1)
		return -EPROTO;
	*result = atoi(reply);
	return 0;
}

static int connect_to(const struct gr_chirp *c, int timeout_ms, struct gr_error **err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c->port) };
	int r, soerr = 0;
	socklen_t len = sizeof(soerr);

	if (fd < 0)
		return gr_error_sys(err, errno, "chirp: socket");
	inet_pton(AF_INET, c->addr, &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINPROGRESS)
			return gr_error_sys(err, errno, "chirp: connect to %s:%u", c->addr, c->port);
		r = wait_fd(fd, POLLOUT, timeout_ms);
		if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr)
			r = -soerr;
		if (r < 0)
			return gr_error_sys(err, -r, "chirp: connect to %s:%u", c->addr, c->port);
	}
	return TAKE_FD(fd);
}

int gr_chirp_send(const struct gr_chirp *c, const struct gr_chirp_attr *attrs, size_t n,
		  int timeout_ms, struct gr_error **err)
{
	_cleanup_close_ int fd = -1;
	char line[512];
	int r, result = 0;

	fd = connect_to(c, timeout_ms, err);
	if (fd < 0)
		return fd;
	snprintf(line, sizeof(line), "cookie %s\n", c->cookie);
	r = command(fd, line, timeout_ms, &result);
	if (r < 0)
		return gr_error_sys(err, -r, "chirp: cookie");
	if (result != 0)
		return gr_error_set(err, EACCES, "chirp: the server refused the cookie (%d)", result);
	for (size_t i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "set_job_attr_delayed %s %s\n", attrs[i].name, attrs[i].value);
		r = command(fd, line, timeout_ms, &result);
		if (r < 0)
			return gr_error_sys(err, -r, "chirp: set_job_attr_delayed %s", attrs[i].name);
		if (result != 0)
			return gr_error_set(err, EPERM, "chirp: set_job_attr_delayed %s: refused (%d)",
					    attrs[i].name, result);
	}
	return 0;
}

void gr_chirp_value_u64(struct gr_chirp_attr *a, const char *name, bool known, uint64_t v)
{
	a->name = name;
	if (known)
		snprintf(a->value, sizeof(a->value), "%" PRIu64, v);
	else
		snprintf(a->value, sizeof(a->value), "undefined");
}

void gr_chirp_value_bool(struct gr_chirp_attr *a, const char *name, bool v)
{
	a->name = name;
	snprintf(a->value, sizeof(a->value), "%s", v ? "true" : "false");
}

void gr_chirp_value_string(struct gr_chirp_attr *a, const char *name, const char *s)
{
	size_t j = 0;

	a->name = name;
	if (!s) {
		snprintf(a->value, sizeof(a->value), "undefined");
		return;
	}
	a->value[j++] = '"';
	for (; *s && j < sizeof(a->value) - 3; s++) {
		if (*s == '"' || *s == '\\')
			a->value[j++] = '\\';
		a->value[j++] = (*s == '\n' || *s == '\r') ? ' ' : *s;
	}
	a->value[j++] = '"';
	a->value[j] = '\0';
}
