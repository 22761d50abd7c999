/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exporter_test - gridrun-exporter's server end to end: real jobs of the
 * real gridrun binary and the real exporter on loopback; the bad clients the
 * exporter must outlive (malformed and huge requests, a slow client, a
 * thousand connections, jobs ending during scrapes); textfile mode; an
 * unprivileged exporter; the node-wide record copies the per-account
 * counters come from. What the metrics say (promtool, Prometheus, the
 * cAdvisor-like families, the layers, LSM denials) is exporter_metrics_test's;
 * the fixture is tests/lib/gt-exporter.h. The same tests run on this host's
 * cgroup v1 and in the cgroup v2 guest (tests/vm/). Job ids end in this
 * process's pid: job cgroups are named by id, node-wide.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/landlock.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "lsm.h"
#include "gt-exporter.h"

TEST_F_TIMEOUT(ex, malformed_and_huge_requests_get_bounded_answers, 300)
{
	static const char *const bad[] = {
		"GARBAGE\r\n\r\n", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "GET\r\n\r\n",
		"GET /metrics HTTP/7.0\r\n\r\n", "GET /metrics HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n",
	};
	size_t big = 10u << 20;
	char *req = malloc(big + 64), *resp = NULL;
	long long t;
	int st;

	ASSERT_NE(NULL, req);
	ASSERT_LT(0, exporter_start(self, -1, "--timeout", "2"));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		t = now_ms();
		st = status_of(self->port, bad[i]);
		EXPECT_LE(0, st) TH_LOG("bad request %zu: no answer within 10 s", i);
		EXPECT_NE(200, st) TH_LOG("bad request %zu was served", i);
		EXPECT_GT(5000, now_ms() - t);
	}
	EXPECT_EQ(405, status_of(self->port, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"));
	EXPECT_EQ(404, status_of(self->port, "GET /nope HTTP/1.0\r\n\r\n"));
	EXPECT_EQ(400, status_of(self->port, "GET /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"));
	EXPECT_EQ(200, http(self->port, "HEAD /metrics HTTP/1.0\r\n\r\n", 26, 5000, &resp));
	EXPECT_EQ(NULL, strstr(resp, "# HELP"));
	free(resp);
	/* a 10 MB header, then a 10 MB request line */
	t = now_ms();
	strcpy(req, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + strlen(req), 'a', big - strlen(req));
	strcpy(req + big, "\r\n\r\n");
	st = status_of(self->port, req);
	EXPECT_TRUE(st == 431 || st == 413 || st == 0) TH_LOG("10 MB header: %d", st);
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', big - 5);
	strcpy(req + big, " HTTP/1.1\r\n\r\n");
	st = status_of(self->port, req);
	EXPECT_TRUE(st == 414 || st == 431 || st == 0) TH_LOG("10 MB request line: %d", st);
	EXPECT_GT(10000, now_ms() - t);
	free(req);
	/* a request that never ends is closed after --timeout */
	t = now_ms();
	EXPECT_EQ(0, status_of(self->port, "GET /metrics HTTP/1.1\r\nHost: x\r\n"));
	EXPECT_GT(5000, now_ms() - t);
	resp = get(self->port, "/metrics");
	ASSERT_NE(NULL, resp) TH_LOG("the exporter no longer answers");
	free(resp);
	ASSERT_EQ(-1, gt_wait(self->exporter, 0));
}

TEST_F_TIMEOUT(ex, a_slow_client_is_cut_and_others_are_served_meanwhile, 300)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	long long t = now_ms(), cut = -1;
	char *text;

	ASSERT_LT(0, exporter_start(self, -1, "--timeout", "2"));
	a.sin_port = htons(self->port);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&a, sizeof(a)));
	/* one byte a second: libmicrohttpd alone would wait for ever */
	for (size_t i = 0; i < sizeof(req) - 1 && cut < 0; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char c;

		if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1 || (poll(&p, 1, 1000) == 1 && recv(fd, &c, 1, 0) <= 0))
			cut = now_ms() - t;
		if (i == 1) {
			text = get(self->port, "/metrics");
			EXPECT_NE(NULL, text) TH_LOG("not served while a slow client trickles");
			free(text);
		}
	}
	close(fd);
	TH_LOG("the slow client was cut after %lld ms", cut);
	ASSERT_LE(1500, cut);
	ASSERT_GT(6000, cut);
	text = get(self->port, "/metrics");
	ASSERT_NE(NULL, text);
	free(text);
}

TEST_F_TIMEOUT(ex, a_thousand_concurrent_connections_get_bounded_answers, 300)
{
	enum { N = 1000 };
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct pollfd *p = calloc(N, sizeof(*p));
	bool *ok = calloc(N, sizeof(*ok));
	int served = 0, open_ = N;
	long long t;
	char *text;

	ASSERT_TRUE(p && ok);
	ASSERT_LT(0, exporter_start(self, -1, NULL, NULL));
	job_start(self, "conc", "atlas001", NULL);
	free(scrape_until(self, "gridrun_jobs_running 1\n", 20000));
	a.sin_port = htons(self->port);
	t = now_ms();
	for (int i = 0; i < N; i++) {
		p[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		ASSERT_LE(0, p[i].fd);
		/* refused at once is an answer too: poll() then says so */
		connect(p[i].fd, (struct sockaddr *)&a, sizeof(a));
		p[i].events = POLLIN;
	}
	for (int i = 0; i < N; i++) {
		struct pollfd w = { .fd = p[i].fd, .events = POLLOUT };

		if (poll(&w, 1, 10000) == 1 && (w.revents & POLLOUT))
			send(p[i].fd, req, sizeof(req) - 1, MSG_NOSIGNAL);
	}
	/* every connection ends: with a 200, or closed at once over the limits */
	while (open_ > 0 && now_ms() - t < 60000) {
		char buf[4096];

		poll(p, N, 1000);
		open_ = 0;
		for (int i = 0; i < N; i++) {
			ssize_t n = 0;

			if (p[i].fd < 0)
				continue;
			if (p[i].revents)
				n = recv(p[i].fd, buf, sizeof(buf), 0);
			if (n > 0 && !ok[i] && !strncmp(buf, "HTTP/1.1 200", 12)) {
				ok[i] = true;
				served++;
			}
			if (!p[i].revents || n > 0 || (n < 0 && errno == EAGAIN)) {
				open_++;
				continue;
			}
			close(p[i].fd);
			p[i].fd = -1;
		}
	}
	TH_LOG("%d of %d connections were served, all ended after %lld ms", served, N, now_ms() - t);
	for (int i = 0; i < N; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	free(p);
	free(ok);
	ASSERT_EQ(0, open_);
	ASSERT_LT(0, served);
	text = get(self->port, "/metrics");
	ASSERT_NE(NULL, text) TH_LOG("the exporter no longer answers");
	EXPECT_NE(NULL, strstr(text, "gridrun_jobs_running 1\n"));
	free(text);
	ASSERT_EQ(-1, gt_wait(self->exporter, 0));
}

TEST_F_TIMEOUT(ex, jobs_ending_during_scrapes_are_whole_or_absent, 300)
{
	enum { N = 12 };
	int seen = 0, scrapes = 0, lines;
	char *text, *ids[N];
	pid_t pids[N];
	bool done = false;

	ASSERT_LT(0, exporter_start(self, -1, NULL, NULL));
	job_start(self, "ref", "atlas001", NULL);
	text = scrape_until(self, S(self, "gridrun_job_frozen{job_id=\"%s\"", self->ids[0]), 20000);
	lines = lines_of(text, self->ids[0]);
	free(text);
	ASSERT_LE(5, lines);
	for (int i = 0; i < N; i++) {
		char *spec;

		ids[i] = S(self, "mid%d-%d", i, (int)getpid());
		spec = gt_spec(self->dir, "[\"/bin/sh\", \"-c\", \"sleep 0.2\"]", NULL,
			       S(self, "\"job_id\": \"%s\", \"account\": \"cms002\"", ids[i]));
		pids[i] = gt_start_spec(spec, -1);
		free(spec);
	}
	/* every scrape is whole: each job in it has as many lines as the reference */
	for (long long t = now_ms(); !done && now_ms() - t < 60000; scrapes++) {
		text = get(self->port, "/metrics");
		ASSERT_NE(NULL, text) TH_LOG("a scrape failed while jobs ended");
		for (int i = 0; i < N; i++) {
			if (!lines_of(text, ids[i]))
				continue;
			seen++;
			EXPECT_EQ(lines, lines_of(text, ids[i])) TH_LOG("%s", text);
		}
		EXPECT_EQ(lines, lines_of(text, self->ids[0]));
		free(text);
		done = true;
		for (int i = 0; i < N; i++) {
			if (pids[i] > 0 && gt_wait(pids[i], 0) >= 0)
				pids[i] = 0;
			done = done && !pids[i];
		}
	}
	TH_LOG("%d scrapes, %d short jobs seen in them", scrapes, seen);
	ASSERT_TRUE(done);
}

/* A scrape's shape: its lines without the sample values. */
static char *shape(const char *text)
{
	char *s = strdup(text), *w = s;

	for (char *line = s, *nl; line && *line; line = nl) {
		size_t n = strcspn(line, "\n");

		nl = line[n] ? line + n + 1 : NULL;
		if (line[0] != '#' && memrchr(line, ' ', n))
			n = (char *)memrchr(line, ' ', n) - line;
		memmove(w, line, n);
		w += n;
		*w++ = '\n';
	}
	*w = '\0';
	return s;
}

TEST_F_TIMEOUT(ex, textfile_mode_writes_the_same_exposition_atomically, 300)
{
	char *out = S(self, "%s/textfile", self->dir), *prom = S(self, "%s/gridrun.prom", out), *text, *a, *b;
	char *argv[] = { (char *)exporter_bin(), "--textfile", prom, "--state-dir", self->state, NULL };
	int changes = 0, reads = 0;
	struct gt_result r;
	struct stat st;
	pid_t pid;

	gt_mkdirs(out, 0755, -1, -1);
	ASSERT_LT(0, exporter_start(self, -1, NULL, NULL));
	job_start(self, "tf", "atlas001", NULL);
	text = scrape_until(self, S(self, "gridrun_job_frozen{job_id=\"%s\"", self->ids[0]), 20000);
	gt_run_argv(argv, -1, &r);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	gt_result_free(&r);
	ASSERT_EQ(0, stat(prom, &st));
	EXPECT_EQ(0644, st.st_mode & 07777);
	b = gt_read(prom);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(0, promtool_check(self, b));
	a = shape(text);
	free(text);
	text = shape(b);
	EXPECT_NE(NULL, strstr(a, S(self, "gridrun_job_frozen{job_id=\"%s\"", self->ids[0])));
	EXPECT_STREQ(a, text);
	free(a);
	free(b);
	free(text);
	/* every second: each read sees one whole scrape, each written anew (rename) */
	pid = fork();
	if (pid == 0) {
		execl(exporter_bin(), exporter_bin(), "--textfile", prom, "--interval", "1", "--state-dir",
		      self->state, (char *)NULL);
		_exit(121);
	}
	for (long long t = now_ms(); now_ms() - t < 3500; nap(5), reads++) {
		ino_t ino = st.st_ino;
		size_t n;

		text = gt_read(prom);
		ASSERT_NE(NULL, text);
		n = strlen(text);
		EXPECT_EQ(0, strncmp(text, "# HELP gridrun_job_cpu_user_seconds_total ", 42));
		EXPECT_TRUE(n > 1 && text[n - 1] == '\n' && memrchr(text, '\n', n - 1) &&
			    !strncmp((char *)memrchr(text, '\n', n - 1) + 1, "gridrun_exporter_scrape_duration_seconds ", 41));
		free(text);
		if (stat(prom, &st) == 0 && st.st_ino != ino)
			changes++;
	}
	kill(pid, SIGTERM);
	ASSERT_EQ(0, gt_wait(pid, 5000));
	TH_LOG("%d reads, %d replacements", reads, changes);
	EXPECT_LE(2, changes);
	EXPECT_EQ(1, gt_count_dir(out)) TH_LOG("temp files left beside %s", prom);
}

/* libmicrohttpd is loaded only to serve (exporter/mhd.h): a one-shot runs
 * where it cannot be loaded at all, and the HTTP mode says why it cannot
 * serve, instead of the loader refusing to start either. */
TEST_F_TIMEOUT(ex, a_one_shot_runs_without_libmicrohttpd, 300)
{
	char *lib = S(self, "%s/lib", self->dir), *prom = S(self, "%s/gridrun.prom", self->dir), *text;
	char *one[] = { (char *)exporter_bin(), "--textfile", prom, "--state-dir", self->state, NULL };
	char *http[] = { (char *)exporter_bin(), "--listen", "127.0.0.1:0", "--state-dir", self->state, NULL };
	struct gt_result r;

	gt_mkdirs(lib, 0755, -1, -1);
	gt_mkdirs(self->state, 0755, -1, -1);
	/* what the loader finds first by that name: not a library */
	free(gt_write(lib, "libmicrohttpd.so.12", "not a library\n"));
	setenv("LD_LIBRARY_PATH", lib, 1);
	gt_run_argv(one, -1, &r);
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
	gt_result_free(&r);
	text = gt_read(prom);
	ASSERT_NE(NULL, text);
	EXPECT_NE(NULL, strstr(text, "\ngridrun_jobs_running 0\n"));
	free(text);
	gt_run_argv(http, -1, &r);
	unsetenv("LD_LIBRARY_PATH");
	EXPECT_EQ(1, r.status) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "cannot load libmicrohttpd")) TH_LOG("%s", r.err);
	gt_result_free(&r);
}

TEST_F_TIMEOUT(ex, an_unprivileged_exporter_reads_root_jobs, 300)
{
	char *path, *text, *series;
	struct stat st;

	job_start(self, "up", "atlas001", NULL);
	path = S(self, "%s/%s/state.json", self->state, self->ids[0]);
	ASSERT_TRUE(gt_wait_file(path, 20000));
	ASSERT_EQ(0, stat(self->state, &st));
	EXPECT_EQ(0755, st.st_mode & 07777);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0644, st.st_mode & 07777);
	ASSERT_LT(0, exporter_start(self, UNPRIV_UID, NULL, NULL));
	series = S(self, "gridrun_job_memory_peak_bytes{job_id=\"%s\",account=\"atlas001\",pool=\"\"} ", self->ids[0]);
	text = scrape_until(self, series, 20000);
	EXPECT_NE(NULL, strstr(text, series)) TH_LOG("%s", text);
	EXPECT_NE(NULL, strstr(text, S(self, "gridrun_job_cpu_user_seconds_total{job_id=\"%s\"", self->ids[0])));
	EXPECT_NE(NULL, strstr(text, "gridrun_jobs_running 1\n"));
	EXPECT_NE(NULL, strstr(text, "gridrun_exporter_jobs_unreadable 0\n"));
	free(text);
}

TEST_F_TIMEOUT(ex, record_copies_are_kept_for_the_exporter_and_gc_prunes_old_ones, 300)
{
	char *argv[] = { (char *)gt_gridrun(), "gc", NULL };
	char *id1 = S(self, "rc1-%d", (int)getpid()), *id2 = S(self, "rc2-%d", (int)getpid());
	char *old = S(self, "%s/records/%s.json", self->state, id1), *young = S(self, "%s/records/%s.json", self->state, id2);
	struct timespec ts[2] = { { time(NULL) - 3700, 0 }, { time(NULL) - 3700, 0 } };
	struct gt_result r;
	struct stat st;
	char *spec, *text;
	json_t *o;

	/* no gridrun.accounting: the copy is written all the same */
	spec = gt_spec(self->dir, "[\"/bin/true\"]", NULL, S(self, "\"job_id\": \"%s\", \"account\": \"lhcb003\"", id1));
	gt_run_spec(spec, &r);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	gt_result_free(&r);
	free(spec);
	ASSERT_EQ(0, stat(old, &st));
	EXPECT_EQ(0644, st.st_mode & 07777);
	o = json_load_file(old, 0, NULL);
	ASSERT_NE(NULL, o);
	EXPECT_EQ(23, json_object_size(o));
	EXPECT_STREQ("lhcb003", json_string_value(json_object_get(o, "account")));
	EXPECT_TRUE(json_is_null(json_object_get(o, "pool")));
	EXPECT_STREQ("exited", json_string_value(json_object_get(o, "reason")));
	json_decref(o);
	/* over an hour old: gc takes it, and only it */
	ASSERT_EQ(0, utimensat(AT_FDCWD, old, ts, 0));
	spec = gt_spec(self->dir, "[\"/bin/true\"]", NULL, S(self, "\"job_id\": \"%s\"", id2));
	gt_run_spec(spec, &r);
	gt_result_free(&r);
	free(spec);
	gt_run_argv(argv, -1, &r);
	EXPECT_STREQ("gridrun gc: removed 0 stale state entries\n"
		     "gridrun gc: removed 1 record copy older than an hour\n", r.out);
	gt_result_free(&r);
	EXPECT_NE(0, access(old, F_OK));
	EXPECT_EQ(0, access(young, F_OK));
	/* no job may take the copies' directory name */
	spec = gt_spec(self->dir, "[\"/bin/true\"]", NULL, "\"job_id\": \"records\"");
	gt_run_spec(spec, &r);
	EXPECT_EQ(125, r.status);
	EXPECT_NE(NULL, strstr(r.err, "reserved")) TH_LOG("%s", r.err);
	gt_result_free(&r);
	free(spec);
	EXPECT_EQ(0, access(young, F_OK));
	/* copies there before the exporter started are not counted */
	ASSERT_LT(0, exporter_start(self, -1, NULL, NULL));
	text = get(self->port, "/metrics");
	ASSERT_NE(NULL, text);
	EXPECT_EQ(NULL, strstr(text, "gridrun_account_jobs_finished_total{"));
	free(text);
}

TEST_HARNESS_MAIN
