/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gt-exporter.h - what exporter_test and exporter_metrics_test share: the
 * `ex` fixture (a scratch state directory, the jobs it starts and the
 * exporter, all ended by its teardown), the exporter started on a free
 * loopback port, raw HTTP and scrapes, real jobs of the real gridrun binary
 * held on a fifo, their records, and promtool's check of a scrape.
 * Include it after kselftest_harness.h.
 */
#ifndef GRIDRUN_GT_EXPORTER_H
#define GRIDRUN_GT_EXPORTER_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gt.h"

#define UNPRIV_UID 23457
#define MAX_JOBS 8
#define MAX_STRS 128

FIXTURE(ex) {
	char *dir, *state, *sbx;
	pid_t exporter, prom;
	int port;
	pid_t jobs[MAX_JOBS];
	char *ids[MAX_JOBS];
	int njobs;
	char *strs[MAX_STRS];         /* what S() made, freed by the teardown */
	int nstrs;
};

/* A formatted string the fixture owns. */
static inline char *S(struct _test_data_ex *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline char *S(struct _test_data_ex *self, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (self->nstrs == MAX_STRS || vasprintf(&s, fmt, ap) < 0)
		abort();   /* the test machinery, not the exporter */
	va_end(ap);
	return self->strs[self->nstrs++] = s;
}

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void nap(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

FIXTURE_SETUP(ex)
{
	struct rlimit rl;

	memset(self, 0, sizeof(*self));
	self->dir = gt_tmpdir();
	self->state = S(self, "%s/state", self->dir);
	self->sbx = S(self, "%s/execute/dir_1", self->dir);
	gt_mkdirs(self->sbx, 0700, 65534, 65534);
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
	/* the thousand-connection test holds a thousand sockets */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
}

/* Let job i end: its `read` from its fifo returns. */
static inline bool release(struct _test_data_ex *self, int i)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/go-%s", self->sbx, self->ids[i]);
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;   /* no reader yet */
	(void)!write(fd, "\n", 1);
	close(fd);
	return true;
}

static inline void stop(pid_t pid, int sig, int ms)
{
	if (pid <= 0)
		return;
	kill(pid, sig);
	if (gt_wait(pid, ms) < 0) {
		kill(pid, SIGKILL);
		gt_wait(pid, -1);
	}
}

FIXTURE_TEARDOWN(ex)
{
	bool killed = false;

	for (int i = 0; i < self->njobs; i++) {
		if (self->jobs[i] > 0 && (!release(self, i) || gt_wait(self->jobs[i], 5000) < 0)) {
			/* TERM is forwarded to the job, whose sh ends at once */
			stop(self->jobs[i], SIGTERM, 15000);
			killed = true;
		}
		free(self->ids[i]);
	}
	if (killed) {
		char *argv[] = { (char *)gt_gridrun(), "gc", NULL };
		struct gt_result r;

		gt_run_argv(argv, -1, &r);
		gt_result_free(&r);
	}
	stop(self->exporter, SIGTERM, 5000);
	stop(self->prom, SIGTERM, 10000);
	gt_rm_rf(self->dir);
	free(self->dir);
	for (int i = 0; i < self->nstrs; i++)
		free(self->strs[i]);
}

static inline const char *exporter_bin(void)
{
	static char path[4096];
	const char *b = getenv("GRIDRUN_BUILD");

	snprintf(path, sizeof(path), "%s/gridrun-exporter", b && *b ? b : "build");
	return path;
}

/* Start the exporter (as uid if >= 0) on 127.0.0.1, a free port, with up
 * to two more arguments; its port, or 0 if it never said it serves. */
static inline int exporter_start(struct _test_data_ex *self, int as_uid, const char *a1, const char *a2)
{
	char *errpath = S(self, "%s/exporter.err", self->dir);
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR), err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(null, 0);
		dup2(null, 1);
		dup2(err, 2);
		if (as_uid >= 0 && (setgroups(0, NULL) < 0 || setresgid(as_uid, as_uid, as_uid) < 0 ||
				    setresuid(as_uid, as_uid, as_uid) < 0))
			_exit(122);
		/* a test that dies takes its exporter with it */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			_exit(122);
		execl(exporter_bin(), exporter_bin(), "--listen", "127.0.0.1:0", "--state-dir", self->state,
		      a1, a2, (char *)NULL);
		_exit(121);
	}
	self->exporter = pid;
	for (long long t = now_ms(); now_ms() - t < 20000; nap(20)) {
		char *text = gt_read(errpath), *p = text ? strstr(text, "serving http://127.0.0.1:") : NULL;
		int port = p ? atoi(p + strlen("serving http://127.0.0.1:")) : 0;

		free(text);
		if (port > 0)
			return self->port = port;
	}
	return 0;
}

/*
 * Send req to 127.0.0.1:port, read the answer until the server closes.
 * Returns the HTTP status; 0 when the server closed without an answer; -1
 * when it did not end within timeout_ms. *out (may be NULL) gets the answer.
 */
static inline int http(int port, const char *req, size_t len, int timeout_ms, char **out)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	long long end = now_ms() + timeout_ms;
	size_t got = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = -1;

	if (!buf || fd < 0)
		abort();
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		status = 0;
		goto out;
	}
	for (size_t sent = 0; sent < len; ) {
		ssize_t n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);

		if (n <= 0)
			break;   /* the server closed: read what it said */
		sent += (size_t)n;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (now_ms() >= end || poll(&p, 1, (int)(end - now_ms())) <= 0)
			goto out;
		if (got + 1 == cap && !(buf = realloc(buf, cap *= 2)))
			abort();
		n = recv(fd, buf + got, cap - got - 1, 0);
		if (n <= 0)
			break;
		got += n;
	}
	buf[got] = '\0';
	status = !strncmp(buf, "HTTP/1.", 7) ? atoi(buf + 9) : 0;
out:
	close(fd);
	buf[got] = '\0';
	if (out)
		*out = buf;
	else
		free(buf);
	return status;
}

static inline int status_of(int port, const char *req)
{
	return http(port, req, strlen(req), 10000, NULL);
}

/* GET path: the body (malloc'd), or NULL unless the status is 200. */
static inline char *get(int port, const char *path)
{
	char req[8192], *resp = NULL, *body = NULL;

	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (http(port, req, strlen(req), 20000, &resp) == 200 && strstr(resp, "\r\n\r\n"))
		body = strdup(strstr(resp, "\r\n\r\n") + 4);
	free(resp);
	return body;
}

/* How many sample lines carry job_id="id". */
static inline int lines_of(const char *text, const char *id)
{
	char needle[256];
	int n = 0;

	snprintf(needle, sizeof(needle), "{job_id=\"%s\",", id);
	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* Start job NAME-<pid> of account: /bin/sh -c "BEFORE; read x < its fifo". */
static const char *job_extra;     /* the next job_start()'s top-level spec members, or NULL */
static const char *job_gridrun;   /* and more members of its "gridrun" object */

static inline int job_start(struct _test_data_ex *self, const char *name, const char *account, const char *before)
{
	int i = self->njobs++;
	char *id, *fifo, *spec;
	json_t *a;
	char *args;

	if (i >= MAX_JOBS || asprintf(&id, "%s-%d", name, (int)getpid()) < 0)
		abort();
	fifo = S(self, "%s/go-%s", self->sbx, id);
	if (mkfifo(fifo, 0666) < 0 || chmod(fifo, 0666) < 0)
		abort();
	a = json_pack("[sss]", "/bin/sh", "-c", S(self, "%s%sread x < %s", before ? before : "", before ? "; " : "", fifo));
	args = json_dumps(a, JSON_COMPACT);
	spec = gt_spec(self->dir, args, job_extra,
		       S(self, "\"job_id\": \"%s\", \"account\": \"%s\", \"sandbox\": \"%s\", \"accounting\": \"%s/%s.rec\"%s%s",
			 id, account, self->sbx, self->dir, id, job_gridrun ? ", " : "", job_gridrun ? job_gridrun : ""));
	job_extra = job_gridrun = NULL;
	self->ids[i] = id;
	self->jobs[i] = gt_start_spec(spec, -1);
	free(spec);
	free(args);
	json_decref(a);
	return i;
}

/* Release job i and wait for its supervisor: its exit status. */
static inline int job_end(struct _test_data_ex *self, int i)
{
	int st;

	for (long long t = now_ms(); !release(self, i) && now_ms() - t < 20000; )
		nap(20);
	st = gt_wait(self->jobs[i], 20000);
	if (st >= 0)
		self->jobs[i] = 0;
	return st;
}

/* Scrape until the text contains needle (or timeout_ms passed): the last scrape. */
static inline char *scrape_until(struct _test_data_ex *self, const char *needle, int timeout_ms)
{
	char *text = NULL;

	for (long long t = now_ms(); now_ms() - t < timeout_ms; nap(50)) {
		free(text);
		text = get(self->port, "/metrics");
		if (text && strstr(text, needle))
			break;
	}
	return text ? text : strdup("");
}

static inline json_t *record_of(struct _test_data_ex *self, int i)
{
	return json_load_file(S(self, "%s/%s.rec", self->dir, self->ids[i]), 0, NULL);
}

static inline int promtool_check(struct _test_data_ex *self, const char *text)
{
	char *file = gt_write(self->dir, "scrape.prom", "%s", text);
	char *argv[] = { "/bin/sh", "-c", S(self, "promtool check metrics < '%s' 2>&1", file), NULL };
	struct gt_result r;
	int st;

	gt_run_argv(argv, -1, &r);
	if (r.status != 0 || r.out[0])
		fprintf(stderr, "# promtool: %s\n", r.out);
	st = r.out[0] ? -1 : r.status;
	free(file);
	gt_result_free(&r);
	return st;
}

#endif
