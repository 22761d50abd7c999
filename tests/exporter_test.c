/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exporter_test - gridrun-exporter end to end: real jobs of the real gridrun
 * binary, the real exporter, promtool and a real Prometheus server (Debian's
 * prometheus package), all on loopback; the bad clients the exporter must
 * outlive; textfile mode; an unprivileged exporter; the node-wide record
 * copies the per-account counters come from. The same tests run on this
 * host's cgroup v1 and in the cgroup v2 guest (tests/vm/). Job ids end in
 * this process's pid: job cgroups are named by id, node-wide.
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
static char *S(struct _test_data_ex *self, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *S(struct _test_data_ex *self, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (self->nstrs == MAX_STRS || vasprintf(&s, fmt, ap) < 0)
		abort();   /* the test machinery, not the exporter */
	va_end(ap);
	return self->strs[self->nstrs++] = s;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void nap(int ms)
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
static bool release(struct _test_data_ex *self, int i)
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

static void stop(pid_t pid, int sig, int ms)
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

static const char *exporter_bin(void)
{
	static char path[4096];
	const char *b = getenv("GRIDRUN_BUILD");

	snprintf(path, sizeof(path), "%s/gridrun-exporter", b && *b ? b : "build");
	return path;
}

/* Start the exporter (as uid if >= 0) on 127.0.0.1, a free port, with up
 * to two more arguments; its port, or 0 if it never said it serves. */
static int exporter_start(struct _test_data_ex *self, int as_uid, const char *a1, const char *a2)
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
static int http(int port, const char *req, size_t len, int timeout_ms, char **out)
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

static int status_of(int port, const char *req)
{
	return http(port, req, strlen(req), 10000, NULL);
}

/* GET path: the body (malloc'd), or NULL unless the status is 200. */
static char *get(int port, const char *path)
{
	char req[8192], *resp = NULL, *body = NULL;

	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (http(port, req, strlen(req), 20000, &resp) == 200 && strstr(resp, "\r\n\r\n"))
		body = strdup(strstr(resp, "\r\n\r\n") + 4);
	free(resp);
	return body;
}

/* How many sample lines carry job_id="id". */
static int lines_of(const char *text, const char *id)
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

static int job_start(struct _test_data_ex *self, const char *name, const char *account, const char *before)
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
static int job_end(struct _test_data_ex *self, int i)
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
static char *scrape_until(struct _test_data_ex *self, const char *needle, int timeout_ms)
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

static json_t *record_of(struct _test_data_ex *self, int i)
{
	return json_load_file(S(self, "%s/%s.rec", self->dir, self->ids[i]), 0, NULL);
}

static int promtool_check(struct _test_data_ex *self, const char *text)
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

static const char *const families[] = {
	"gridrun_job_cpu_user_seconds_total counter", "gridrun_job_cpu_system_seconds_total counter",
	"gridrun_job_memory_bytes gauge", "gridrun_job_memory_peak_bytes gauge", "gridrun_job_pids gauge",
	"gridrun_job_oom_kills_total counter", "gridrun_job_io_read_bytes_total counter",
	"gridrun_job_io_written_bytes_total counter", "gridrun_job_frozen gauge", "gridrun_jobs_running gauge",
	"gridrun_pool_ranges gauge", "gridrun_account_jobs_finished_total counter",
	"gridrun_account_cpu_user_seconds_total counter", "gridrun_account_cpu_system_seconds_total counter",
	"gridrun_account_wall_seconds_total counter", "gridrun_account_io_read_bytes_total counter",
	"gridrun_account_io_written_bytes_total counter", "gridrun_account_oom_killed_jobs_total counter",
};

static char *seconds(struct _test_data_ex *self, json_t *rec, const char *key)
{
	long long ns = json_integer_value(json_object_get(rec, key));

	return S(self, "%lld.%09lld", ns / 1000000000, ns % 1000000000);
}

TEST_F_TIMEOUT(ex, promtool_passes_while_jobs_run_and_accounts_sum_their_records, 300)
{
	const char *acct[2] = { "atlas001", "cms002" };
	char *text;

	ASSERT_LT(0, exporter_start(self, -1, NULL, NULL));
	job_start(self, "pt-a", acct[0], "/run/gr-probe burn 1 0.2");
	job_start(self, "pt-c", acct[1], NULL);
	/* a job's entry exists from its claim; its cgroup figures from its start
	 * (the started hook): wait for the second job's, not only its count */
	text = scrape_until(self, S(self, "gridrun_job_pids{job_id=\"%s\",account=\"cms002\",pool=\"\"} ",
				    self->ids[1]), 20000);
	ASSERT_NE(NULL, strstr(text, "gridrun_jobs_running 2\n")) TH_LOG("%s", text);
	ASSERT_NE(NULL, strstr(text, S(self, "gridrun_job_pids{job_id=\"%s\",account=\"cms002\",pool=\"\"} ",
				      self->ids[1]))) TH_LOG("%s", text);
	ASSERT_EQ(0, promtool_check(self, text));
	for (size_t i = 0; i < ARRAY_SIZE(families); i++) {
		int n = (int)(strchr(families[i], ' ') - families[i]);

		EXPECT_NE(NULL, strstr(text, S(self, "# HELP %.*s ", n, families[i]))) TH_LOG("%s", families[i]);
		EXPECT_NE(NULL, strstr(text, S(self, "# TYPE %s\n", families[i]))) TH_LOG("%s", families[i]);
	}
	free(text);
	/* both end: the accounts' counters are exactly their records' figures */
	ASSERT_EQ(0, job_end(self, 0));
	ASSERT_EQ(0, job_end(self, 1));
	text = scrape_until(self, "{account=\"cms002\",reason=\"exited\"} 1\n", 20000);
	ASSERT_NE(NULL, strstr(text, "gridrun_jobs_running 0\n")) TH_LOG("%s", text);
	EXPECT_EQ(0, lines_of(text, self->ids[0]));
	for (int i = 0; i < 2; i++) {
		json_t *rec = record_of(self, i);

		ASSERT_NE(NULL, rec);
		EXPECT_NE(NULL, strstr(text, S(self, "gridrun_account_jobs_finished_total{account=\"%s\",reason=\"exited\"} 1\n",
					      acct[i]))) TH_LOG("%s", text);
		EXPECT_NE(NULL, strstr(text, S(self, "gridrun_account_cpu_user_seconds_total{account=\"%s\"} %s\n",
					      acct[i], seconds(self, rec, "cpu_user_ns"))));
		EXPECT_NE(NULL, strstr(text, S(self, "gridrun_account_cpu_system_seconds_total{account=\"%s\"} %s\n",
					      acct[i], seconds(self, rec, "cpu_system_ns"))));
		EXPECT_NE(NULL, strstr(text, S(self, "gridrun_account_wall_seconds_total{account=\"%s\"} %s\n",
					      acct[i], seconds(self, rec, "wall_ns"))));
		json_decref(rec);
	}
	EXPECT_EQ(0, promtool_check(self, text));
	free(text);
}

/* Prometheus' answer to an instant query: the first result's value, or NAN. */
static double promql(int port, const char *query)
{
	char path[2048] = "/api/v1/query?query=", *body;
	size_t n = strlen(path);
	json_t *o, *v;
	double r = NAN;

	for (const unsigned char *q = (const unsigned char *)query; *q && n < sizeof(path) - 4; q++)
		n += snprintf(path + n, sizeof(path) - n, isalnum(*q) || strchr("-_.~", *q) ? "%c" : "%%%02X", *q);
	body = get(port, path);
	o = body ? json_loads(body, 0, NULL) : NULL;
	v = json_object_get(json_array_get(json_object_get(json_object_get(o, "data"), "result"), 0), "value");
	if (json_is_string(json_array_get(v, 1)))
		r = strtod(json_string_value(json_array_get(v, 1)), NULL);
	json_decref(o);
	free(body);
	return r;
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = 0;

	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &l) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

TEST_F_TIMEOUT(ex, prometheus_sees_the_jobs_cpu_within_2_percent_of_its_record, 300)
{
	char *done = S(self, "%s/burnt", self->sbx), *q, *cfg;
	char *argv[] = { "/bin/sh", "-c", NULL, NULL };
	int pport = free_port();
	double cpu, acct = NAN, rec_s;
	time_t t_done;
	json_t *rec;

	ASSERT_LT(0, exporter_start(self, -1, NULL, NULL));
	cfg = gt_write(self->dir, "prometheus.yml",
		       "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
		       "scrape_configs:\n  - job_name: gridrun\n    static_configs:\n"
		       "      - targets: ['127.0.0.1:%d']\n", self->port);
	argv[2] = S(self, "exec prometheus --config.file=%s --storage.tsdb.path=%s/tsdb "
		    "--web.listen-address=127.0.0.1:%d --log.level=warn >%s/prometheus.log 2>&1",
		    cfg, self->dir, pport, self->dir);
	free(cfg);
	self->prom = fork();
	if (self->prom == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			_exit(122);
		execv(argv[0], argv);
		_exit(121);
	}
	/* 3 s of CPU, a mark, then nothing until released: the last scrapes
	 * see the job's final figure while it still runs */
	job_start(self, "prom", "atlas001", S(self, "/run/gr-probe burn 1 3.0 >/dev/null && touch %s", done));
	ASSERT_TRUE(gt_wait_file(done, 60000));
	t_done = time(NULL);
	q = S(self, "timestamp(gridrun_job_cpu_system_seconds_total{job_id=\"%s\"})", self->ids[0]);
	for (long long t = now_ms(); now_ms() - t < 60000 && !(promql(pport, q) > t_done + 1.5); )
		nap(250);
	ASSERT_LT(t_done + 1.5, promql(pport, q)) TH_LOG("Prometheus did not scrape the job after its burn");
	cpu = promql(pport, S(self, "sum(gridrun_job_cpu_user_seconds_total{job_id=\"%s\"}) + "
			      "sum(gridrun_job_cpu_system_seconds_total{job_id=\"%s\"})", self->ids[0], self->ids[0]));
	ASSERT_EQ(0, job_end(self, 0));
	rec = record_of(self, 0);
	ASSERT_NE(NULL, rec);
	rec_s = (json_integer_value(json_object_get(rec, "cpu_user_ns")) +
		 json_integer_value(json_object_get(rec, "cpu_system_ns"))) / 1e9;
	json_decref(rec);
	TH_LOG("Prometheus: %.6f s of CPU while it ran; its record: %.6f s", cpu, rec_s);
	ASSERT_LT(fabs(cpu - rec_s), 0.02 * rec_s);
	ASSERT_LT(2.9, cpu);
	/* once it ended, its account's counters carry it, to the nanosecond */
	for (long long t = now_ms(); now_ms() - t < 30000 && isnan(acct); nap(250))
		acct = promql(pport, "gridrun_account_cpu_user_seconds_total{account=\"atlas001\"} + "
				     "gridrun_account_cpu_system_seconds_total{account=\"atlas001\"}");
	ASSERT_LT(fabs(acct - rec_s), 1e-6) TH_LOG("the account's counters: %.9f s", acct);
}

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

/* #17: the cAdvisor-like families of a running job. */
static double sample_of(const char *text, const char *family, const char *id)
{
	char *needle;
	const char *p;
	double v = NAN;

	if (asprintf(&needle, "\n%s{job_id=\"%s\"", family, id) < 0)
		abort();
	if ((p = strstr(text, needle)) && (p = strchr(p + 1, '}')))
		v = atof(p + 2);
	free(needle);
	return v;
}

static double realtime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* What the kernel says of job i's memory: usage less inactive file pages,
 * from its cgroup's files as the state entry names them; -1 if unread. */
static double kernel_working_set(struct _test_data_ex *self, int i)
{
	json_t *st = json_load_file(S(self, "%s/%s/state.json", self->state, self->ids[i]), 0, NULL), *v;
	double ws = -1;
	size_t k;

	json_array_foreach(json_object_get(st, "cgroups"), k, v) {
		const char *d = json_string_value(v);
		bool v1 = strstr(d, "/memory/") != NULL;
		char *use = gt_read(S(self, "%s/%s", d, v1 ? "memory.usage_in_bytes" : "memory.current"));
		char *stat = gt_read(S(self, "%s/memory.stat", d));
		const char *key = v1 ? "\ntotal_inactive_file " : "\ninactive_file ";
		const char *p = stat ? strstr(stat, key) : NULL;

		if (use && p && (v1 || json_integer_value(json_object_get(st, "cgroup_version")) == 2))
			ws = atof(use) - atof(p + strlen(key));
		free(use);
		free(stat);
		if (ws >= 0)
			break;
	}
	json_decref(st);
	return ws;
}

/* Its memory limit (none: no series), its working set (usage less inactive
 * file pages, as the kernel counts them at that moment: a job that wrote
 * 32 MiB and then only waits changes neither; whether fresh file pages are
 * inactive depends on the kernel's LRU, MGLRU counts them active), and its
 * start time, to 10 ms (a clock tick), not to the second (/proc/stat's
 * btime); promtool still passes. */
TEST_F_TIMEOUT(ex, a_job_shows_its_memory_limit_working_set_and_start_time, 300)
{
	char *done = S(self, "%s/written", self->sbx), *text;
	double limit, ws, mem, start, t0, t1, kws;

	ASSERT_LT(0, exporter_start(self, -1, NULL, NULL));
	t0 = realtime_s();
	job_extra = "\"linux\": {\"resources\": {\"memory\": {\"limit\": 268435456}}}";
	job_start(self, "cadv", "atlas001",
		  S(self, "dd if=/dev/zero of=%s/data bs=1M count=32 2>/dev/null && touch %s", self->sbx, done));
	job_start(self, "nolimit", "atlas001", NULL);
	ASSERT_TRUE(gt_wait_file(done, 60000));
	t1 = realtime_s();
	text = scrape_until(self, S(self, "gridrun_job_frozen{job_id=\"%s\"", self->ids[1]), 20000);
	kws = kernel_working_set(self, 0);
	limit = sample_of(text, "gridrun_job_memory_limit_bytes", self->ids[0]);
	ws = sample_of(text, "gridrun_job_memory_working_set_bytes", self->ids[0]);
	mem = sample_of(text, "gridrun_job_memory_bytes", self->ids[0]);
	start = sample_of(text, "gridrun_job_start_time_seconds", self->ids[0]);
	TH_LOG("limit %.0f working set %.0f (kernel %.0f) memory %.0f start %.3f (test %.3f to %.3f)", limit, ws,
	       kws, mem, start, t0, t1);
	EXPECT_EQ(268435456.0, limit);
	EXPECT_TRUE(isnan(sample_of(text, "gridrun_job_memory_limit_bytes", self->ids[1])))
		TH_LOG("an unlimited job has no limit series");
	EXPECT_FALSE(isnan(sample_of(text, "gridrun_job_memory_working_set_bytes", self->ids[1])));
	EXPECT_LE(0, ws);
	EXPECT_GE(mem, ws);
	EXPECT_LE(32 << 20, mem);     /* the data written is charged to the job */
	ASSERT_LE(0, kws);
	EXPECT_GT(1 << 20, fabs(ws - kws)) TH_LOG("not usage less inactive_file");
	/* the supervisor started after t0; one clock tick of slack */
	EXPECT_LE(t0 - 0.011, start);
	EXPECT_GE(t1, start);
	EXPECT_EQ(0, promtool_check(self, text));
	free(text);
	ASSERT_EQ(0, job_end(self, 0));
	ASSERT_EQ(0, job_end(self, 1));
}

/* The layers in effect, as the supervisor wrote them into the state entry:
 * Landlock with the kernel's ABI, or off when the spec turns it off; the BPF
 * LSM on only where it is loaded (this host refuses BPF LSM programs). */
TEST_F_TIMEOUT(ex, a_job_shows_the_kernel_layers_in_effect, 300)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	bool lsm = access(S(self, "%s/jobs", gr_lsm_pin_dir()), F_OK) == 0;
	const char *lsm_l = lsm ? "on" : "off";
	char *text, *want0, *want1;

	ASSERT_LT(0, exporter_start(self, -1, NULL, NULL));
	job_start(self, "layers", "atlas001", NULL);
	job_gridrun = "\"landlock\": false";
	job_start(self, "nolandlock", "atlas001", NULL);
	want0 = abi > 0 ? S(self, "landlock=\"on\",landlock_abi=\"%ld\",lsm=\"%s\"} 1\n", abi, lsm_l)
			: S(self, "landlock=\"unavailable\",landlock_abi=\"\",lsm=\"%s\"} 1\n", lsm_l);
	want0 = S(self, "gridrun_job_layers_info{job_id=\"%s\",account=\"atlas001\",pool=\"\",%s", self->ids[0], want0);
	want1 = S(self, "gridrun_job_layers_info{job_id=\"%s\",account=\"atlas001\",pool=\"\","
			"landlock=\"off\",landlock_abi=\"\",lsm=\"%s\"} 1\n", self->ids[1], lsm_l);
	text = scrape_until(self, "gridrun_job_layers_info{job_id=\"nolandlock", 20000);
	free(text);
	text = scrape_until(self, "gridrun_job_layers_info{job_id=\"layers", 20000);
	EXPECT_NE(NULL, strstr(text, want0)) TH_LOG("want %s in\n%s", want0, text);
	EXPECT_NE(NULL, strstr(text, want1)) TH_LOG("want %s", want1);
	EXPECT_EQ(0, promtool_check(self, text));
	free(text);
	ASSERT_EQ(0, job_end(self, 0));
	ASSERT_EQ(0, job_end(self, 1));
}

/* The records' lsm_denials, summed per account over every hook: copies that
 * appear after the exporter started, one with denials (as a node with the
 * BPF LSM loaded writes them; this host cannot load it) and one with null. */
TEST_F_TIMEOUT(ex, accounts_sum_the_lsm_denials_of_their_records, 300)
{
	char *recs = S(self, "%s/records", self->state), *text, *spec;
	struct gt_result r;
	int pid = (int)getpid();

	/* a real job first: the state and records directories as gridrun makes them */
	spec = gt_spec(self->dir, "[\"/bin/true\"]", NULL, S(self, "\"job_id\": \"lsmreal-%d\"", pid));
	gt_run_spec(spec, &r);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	gt_result_free(&r);
	free(spec);
	ASSERT_LT(0, exporter_start(self, -1, NULL, NULL));
	free(scrape_until(self, "gridrun_jobs_running 0\n", 20000));
	free(gt_write(self->dir, "a.tmp", "{\"job_id\": \"lsm1-%d\", \"reason\": \"exited\", \"account\": \"cms009\", "
		 "\"lsm_denials\": {\"task_kill\": 2, \"ptrace_access_check\": 3}}", pid));
	ASSERT_EQ(0, rename(S(self, "%s/a.tmp", self->dir), S(self, "%s/lsm1-%d.json", recs, pid)));
	free(gt_write(self->dir, "b.tmp", "{\"job_id\": \"lsm2-%d\", \"reason\": \"exited\", \"account\": \"cms009\", "
		 "\"lsm_denials\": {\"task_kill\": 4}}", pid));
	ASSERT_EQ(0, rename(S(self, "%s/b.tmp", self->dir), S(self, "%s/lsm2-%d.json", recs, pid)));
	free(gt_write(self->dir, "c.tmp", "{\"job_id\": \"lsm3-%d\", \"reason\": \"exited\", \"account\": \"cms010\", "
		 "\"lsm_denials\": null}", pid));
	ASSERT_EQ(0, rename(S(self, "%s/c.tmp", self->dir), S(self, "%s/lsm3-%d.json", recs, pid)));
	text = scrape_until(self, "{account=\"cms010\",reason=\"exited\"} 1\n", 20000);
	EXPECT_NE(NULL, strstr(text, "gridrun_account_lsm_denials_total{account=\"cms009\"} 9\n")) TH_LOG("%s", text);
	EXPECT_NE(NULL, strstr(text, "gridrun_account_lsm_denials_total{account=\"cms010\"} 0\n"));
	EXPECT_EQ(0, promtool_check(self, text));
	free(text);
}

TEST_HARNESS_MAIN
