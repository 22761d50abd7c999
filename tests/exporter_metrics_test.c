/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exporter_metrics_test - what gridrun-exporter's metrics say, end to end:
 * real jobs of the real gridrun binary, the real exporter, promtool and a
 * real Prometheus server (Debian's prometheus package), all on loopback.
 * Every family passes promtool and the accounts sum their records; the job's
 * CPU as Prometheus sees it; the cAdvisor-like families (memory limit,
 * working set, start time); the kernel layers in effect; the accounts' LSM
 * denials. The server's behaviour (bad clients, textfile mode, an
 * unprivileged exporter, record copies) is exporter_test's; the fixture is
 * tests/lib/gt-exporter.h. The same tests run on this host's cgroup v1 and
 * in the cgroup v2 guest (tests/vm/). Job ids end in this process's pid:
 * job cgroups are named by id, node-wide.
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
	char *text, *pids[2];

	ASSERT_LT(0, exporter_start(self, -1, NULL, NULL));
	job_start(self, "pt-a", acct[0], "/run/gr-probe burn 1 0.2");
	job_start(self, "pt-c", acct[1], NULL);
	/* A job's entry exists from its claim, its cgroup figures from its
	 * start (the started hook). job_start() does not wait for gridrun, so
	 * the second job may start before the first claims (a slow guest):
	 * each job's figures are waited for, then both must be in one scrape */
	for (int i = 0; i < 2; i++)
		pids[i] = S(self, "gridrun_job_pids{job_id=\"%s\",account=\"%s\",pool=\"\"} ", self->ids[i], acct[i]);
	free(scrape_until(self, pids[0], 20000));
	text = scrape_until(self, pids[1], 20000);
	ASSERT_NE(NULL, strstr(text, "gridrun_jobs_running 2\n")) TH_LOG("%s", text);
	ASSERT_NE(NULL, strstr(text, pids[0])) TH_LOG("%s", text);
	ASSERT_NE(NULL, strstr(text, pids[1])) TH_LOG("%s", text);
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
 * btime), to the ns what the supervisor recorded in its state entry (so
 * that every exporter process shows the same); promtool still passes. */
TEST_F_TIMEOUT(ex, a_job_shows_its_memory_limit_working_set_and_start_time, 300)
{
	char *done = S(self, "%s/written", self->sbx), *text;
	double limit, ws, mem, start, t0, t1, kws;
	char *entry, *line, want[80];
	json_t *st;
	json_int_t rec;

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
	ws = sample_of(text, "gridrun_job_memory_working_set_bytes", self->ids[0]);
	/* the kernel's LRU (and its batched memcg statistics) may still move a
	 * little between the exporter's read and ours on a busy node: a few
	 * fresh scrapes (the exporter serves one younger than 200 ms again)
	 * until the two agree; usage alone would stay ~32 MiB off */
	for (int i = 0; i < 20 && fabs(ws - kws) >= 1 << 20; i++) {
		nap(250);
		free(text);
		text = scrape_until(self, S(self, "gridrun_job_frozen{job_id=\"%s\"", self->ids[1]), 20000);
		kws = kernel_working_set(self, 0);
		ws = sample_of(text, "gridrun_job_memory_working_set_bytes", self->ids[0]);
	}
	limit = sample_of(text, "gridrun_job_memory_limit_bytes", self->ids[0]);
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
	entry = gt_read(S(self, "%s/%s/state.json", self->state, self->ids[0]));
	ASSERT_NE(NULL, entry);
	st = json_loads(entry, 0, NULL);
	ASSERT_NE(NULL, st);
	rec = json_integer_value(json_object_get(st, "supervisor_start_epoch_ns"));
	json_decref(st);
	free(entry);
	ASSERT_LT(0, rec) TH_LOG("the state entry records no start");
	snprintf(want, sizeof(want), "\ngridrun_job_start_time_seconds{job_id=\"%s\",", self->ids[0]);
	line = strstr(text, want);
	line = line ? strstr(line, "} ") : NULL;
	ASSERT_NE(NULL, line);
	snprintf(want, sizeof(want), "%lld.%09lld\n", (long long)(rec / 1000000000), (long long)(rec % 1000000000));
	EXPECT_EQ(0, strncmp(line + 2, want, strlen(want))) TH_LOG("%.30s, recorded %s", line, want);
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
