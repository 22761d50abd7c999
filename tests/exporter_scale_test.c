/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exporter_scale_test - gridrun-exporter with a hundred jobs (issue 13's
 * scrape cost): past a few dozen jobs their cgroups are read by one thread
 * per CPU, a v1 job whose cpuacct.usage has not moved keeps the user/system
 * split it had instead of reading cpuacct.usage_all again, job directories
 * are opened below a kept fd of their parent, and a --textfile one-shot
 * keeps no pidfd and no file open. None of that may change a figure: two
 * HTTP scrapes and several one-shots of the same quiet jobs give the same job
 * lines (memory now aside), start times to the ns, and each job shows what its cgroup holds
 * (three with a stopped process that spent CPU first, the rest empty) and the start its
 * supervisor recorded in its state entry. Entries whose state.json is a FIFO, a
 * symlink to a real job's or a directory list no job and hold up no one-shot.
 *
 * The jobs are what a supervisor leaves: real job cgroups (gr_cgroup_create(),
 * beneath this process's cgroup, v1 or v2) and state entries naming them and
 * one live supervisor (a child that sleeps). Everything is removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "cgroups.h"
#include "gt.h"
#include "spec.h"
#include "state.h"
#undef ARRAY_SIZE   /* util.h has its own */
#include "util.h"

#define JOBS 100
#define BUSY 3                  /* jobs 0..BUSY-1 hold a stopped process */
#define ONE_SHOTS 3
/* The realtime clock stepped forward by 1.5 ms (an NTP step) since the
 * supervisors recorded their start: what they recorded is the start. */
#define STEP_NS 1500000ULL

struct world {
	char *dir, *state;
	pid_t sup, busy[BUSY], exporter;
	struct gr_cgroup *cg[JOBS];
	char id[JOBS][48];
};

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A child that spends ~100 ms of CPU in the cgroup at paths, then stops. */
static pid_t busy_in(const char **paths, size_t n)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0 || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		struct timespec t0, t;
		volatile unsigned long x = 0;

		close(p[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (read(p[0], &c, 1) != 1)
			_exit(1);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
		do {
			for (int i = 0; i < 100000; i++)
				x += (unsigned long)i;
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
		} while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < 100000000L);
		raise(SIGSTOP);
		pause();
		_exit(0);
	}
	close(p[0]);
	for (size_t i = 0; i < n; i++) {
		char *procs = NULL, pid_s[16];
		int fd;

		snprintf(pid_s, sizeof(pid_s), "%d", (int)pid);
		if (asprintf(&procs, "%s/cgroup.procs", paths[i]) < 0)
			abort();
		fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, pid_s, strlen(pid_s)) < 0)
			pid = -pid;   /* the caller fails */
		if (fd >= 0)
			close(fd);
		free(procs);
	}
	if (write(p[1], "g", 1) != 1)
		abort();
	close(p[1]);
	return pid;
}

static void world_free(struct world *w)
{
	if (w->exporter > 0) {
		kill(w->exporter, SIGKILL);
		waitpid(w->exporter, NULL, 0);
	}
	for (int i = 0; i < BUSY; i++)
		if (w->busy[i] > 0) {
			kill(w->busy[i], SIGKILL);
			waitpid(w->busy[i], NULL, 0);
		}
	if (w->sup > 0) {
		kill(w->sup, SIGKILL);
		waitpid(w->sup, NULL, 0);
	}
	for (int i = 0; i < JOBS; i++)
		if (w->cg[i])
			gr_cgroup_destroy(w->cg[i], NULL);
	gt_rm_rf(w->dir);
	free(w->dir);
	free(w->state);
}

static const char *exporter_bin(void)
{
	static char path[4096];
	const char *b = getenv("GRIDRUN_BUILD");

	snprintf(path, sizeof(path), "%s/gridrun-exporter", b && *b ? b : "build");
	return path;
}

/* GET url's body by curl, or NULL. */
static char *fetch(const char *url)
{
	char *cmd = NULL, *text = NULL;
	size_t len = 0;
	FILE *in, *out;
	char buf[65536];
	size_t n;

	if (asprintf(&cmd, "curl -sf %s", url) < 0 || !(in = popen(cmd, "r")) || !(out = open_memstream(&text, &len)))
		abort();
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(out);
	if (pclose(in) != 0) {
		free(text);
		text = NULL;
	}
	free(cmd);
	return text;
}

/* The job lines of an exposition (every "gridrun_job_" sample), in order,
 * but those of memory now: the kernel frees a stopped job's last objects in
 * its own time (270336 -> 12288 bytes between two scrapes, seen once). */
static char *job_lines(const char *text)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, "gridrun_job_", 12) && strncmp(p, "gridrun_job_memory_bytes{", 25) &&
		    strncmp(p, "gridrun_job_memory_working_set_bytes{", 37))
			fprintf(f, "%.*s\n", (int)strcspn(p, "\n"), p);
	fclose(f);
	return out;
}

static double sample(const char *text, const char *family, const char *id)
{
	char key[256];
	const char *p;

	snprintf(key, sizeof(key), "\n%s{job_id=\"%s\",", family, id);
	p = strstr(text, key);
	p = p ? strstr(p, "} ") : NULL;
	return p ? strtod(p + 2, NULL) : -1;
}

/* The value of family's sample for job id, as text (malloc'd), NULL if none. */
static char *sample_text(const char *text, const char *family, const char *id)
{
	char key[256];
	const char *p;

	snprintf(key, sizeof(key), "\n%s{job_id=\"%s\",", family, id);
	p = strstr(text, key);
	p = p ? strstr(p, "} ") : NULL;
	return p ? strndup(p + 2, strcspn(p + 2, "\n")) : NULL;
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* A fixture only for the timeout: in the emulated v2 guest on a loaded host
 * the scrapes and one-shots take more than the harness's default 30 s. */
FIXTURE(scale) {};
FIXTURE_SETUP(scale) {}
FIXTURE_TEARDOWN(scale) {}

TEST_F_TIMEOUT(scale, a_hundred_jobs_read_alike_by_threads_reuse_and_one_shot, 300)
{
	struct world w = { 0 };
	struct gr_resources res = { 0 };
	struct gr_error *err = NULL;
	char *errpath, *url = NULL, *s1 = NULL, *s2 = NULL, *one = NULL, *prom = NULL, *cmd = NULL;
	char *l1, *l2, *lo, want[64];
	unsigned long long start, recorded;
	int port = 0;

	w.dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&w.state, "%s/state", w.dir));
	ASSERT_EQ(0, mkdir(w.state, 0755));
	chmod(w.dir, 0755);
	w.sup = fork();
	ASSERT_LE(0, w.sup);
	if (w.sup == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	sleep_ms(20);
	start = gr_proc_starttime(w.sup);
	ASSERT_NE(0, start);
	/* as the supervisor records it (runtime/job.c), before the step */
	recorded = gr_start_epoch_ns(start) - STEP_NS;
	snprintf(want, sizeof(want), "%llu.%09llu", recorded / 1000000000ULL, recorded % 1000000000ULL);
	for (int i = 0; i < JOBS; i++) {
		struct gr_job_state st = { .supervisor_pid = w.sup, .supervisor_start = start,
					   .supervisor_start_epoch_ns = recorded, .account = "acct" };
		const char *paths[8];
		char *json = NULL;
		size_t n;

		snprintf(w.id[i], sizeof(w.id[i]), "scale-%03d-%d", i, (int)getpid());
		ASSERT_EQ(0, gr_cgroup_create(w.id[i], &res, &w.cg[i], &err)) TH_LOG("%s", err->msg);
		ASSERT_NE(NULL, w.cg[i]);
		n = gr_cgroup_paths(w.cg[i], paths, 8);
		ASSERT_LT(0, n);
		st.job_id = w.id[i];
		st.cgroup_version = gr_cgroup_version(w.cg[i]);
		st.ncgroups = n;
		for (size_t k = 0; k < n; k++)
			st.cgroups[k] = (char *)paths[k];
		ASSERT_EQ(0, gr_job_state_format(&st, &json, &err));
		ASSERT_EQ(0, gr_state_claim(w.state, w.id[i], json, &err)) TH_LOG("%s", err->msg);
		free(json);
		if (i < BUSY) {
			w.busy[i] = busy_in(paths, n);
			ASSERT_LT(0, w.busy[i]);
		}
	}
	/* every busy child stopped: the jobs are quiet from here on */
	for (int i = 0; i < BUSY; i++) {
		int status;

		ASSERT_EQ(w.busy[i], waitpid(w.busy[i], &status, WUNTRACED));
		ASSERT_TRUE(WIFSTOPPED(status));
	}

	ASSERT_LE(0, asprintf(&errpath, "%s/exporter.err", w.dir));
	w.exporter = fork();
	ASSERT_LE(0, w.exporter);
	if (w.exporter == 0) {
		int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(e, 2);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(exporter_bin(), exporter_bin(), "--listen", "127.0.0.1:0", "--state-dir", w.state, (char *)NULL);
		_exit(121);
	}
	for (int t = 0; t < 1000 && !port; t++, sleep_ms(20)) {
		char *text = gt_read(errpath), *p = text ? strstr(text, "serving http://127.0.0.1:") : NULL;

		port = p ? atoi(p + strlen("serving http://127.0.0.1:")) : 0;
		free(text);
	}
	ASSERT_LT(0, port);
	ASSERT_LE(0, asprintf(&url, "http://127.0.0.1:%d/metrics", port));
	s1 = fetch(url);
	sleep_ms(400);          /* a scrape younger than 200 ms is served again */
	s2 = fetch(url);
	ASSERT_NE(NULL, s1);
	ASSERT_NE(NULL, s2);
	ASSERT_LE(0, asprintf(&prom, "%s/one.prom", w.dir));
	/* an exporter stuck on a FIFO fails the test, not the suite (KILL: it
	 * blocks TERM during a scrape) */
	ASSERT_LE(0, asprintf(&cmd, "timeout -s KILL 60 %s --textfile %s --state-dir %s", exporter_bin(), prom, w.state));
	ASSERT_EQ(0, system(cmd));
	one = gt_read(prom);
	ASSERT_NE(NULL, one);

	EXPECT_EQ(JOBS, count(s2, "\ngridrun_job_pids{"));
	EXPECT_NE(NULL, strstr(s2, "\ngridrun_jobs_running 100\n"));
	EXPECT_NE(NULL, strstr(s2, "\ngridrun_exporter_jobs_unreadable 0\n"));
	for (int i = 0; i < JOBS; i++) {
		double cpu = sample(s2, "gridrun_job_cpu_user_seconds_total", w.id[i]) +
			     sample(s2, "gridrun_job_cpu_system_seconds_total", w.id[i]);

		EXPECT_EQ(i < BUSY ? 1 : 0, sample(s2, "gridrun_job_pids", w.id[i])) TH_LOG("%s", w.id[i]);
		if (i < BUSY) {
			EXPECT_LT(0.05, cpu) TH_LOG("%s: %f s", w.id[i], cpu);
		} else {
			EXPECT_EQ(0, cpu) TH_LOG("%s: %f s", w.id[i], cpu);
		}
	}
	/* start times: the supervisor's record, to the ns, in every process
	 * (b347964 computed them in each exporter from today's clocks, rounded
	 * to the ms: 1 ms apart between two processes, seen once in the guest) */
	for (int i = 0; i < JOBS; i++) {
		char *a = sample_text(s2, "gridrun_job_start_time_seconds", w.id[i]);

		EXPECT_STREQ(want, a ? a : "(none)") TH_LOG("%s", w.id[i]);
		free(a);
	}
	l1 = job_lines(s1);
	l2 = job_lines(s2);
	lo = job_lines(one);
	EXPECT_STREQ(l1, l2);
	EXPECT_STREQ(l2, lo);
	/* debris a one-shot opens without looking first (no parsed entry) */
	{
		char p[4096], target[300];

		snprintf(p, sizeof(p), "%s/fifo-job", w.state);
		ASSERT_EQ(0, mkdir(p, 0755));
		snprintf(p, sizeof(p), "%s/fifo-job/state.json", w.state);
		ASSERT_EQ(0, mkfifo(p, 0644));
		snprintf(p, sizeof(p), "%s/link-job", w.state);
		ASSERT_EQ(0, mkdir(p, 0755));
		snprintf(p, sizeof(p), "%s/link-job/state.json", w.state);
		snprintf(target, sizeof(target), "../%s/state.json", w.id[0]);
		ASSERT_EQ(0, symlink(target, p));
		snprintf(p, sizeof(p), "%s/dir-job", w.state);
		ASSERT_EQ(0, mkdir(p, 0755));
		snprintf(p, sizeof(p), "%s/dir-job/state.json", w.state);
		ASSERT_EQ(0, mkdir(p, 0755));
	}
	for (int k = 0; k < ONE_SHOTS; k++) {
		char *again, *la;

		ASSERT_EQ(0, system(cmd));
		again = gt_read(prom);
		ASSERT_NE(NULL, again);
		la = job_lines(again);
		EXPECT_STREQ(l2, la) TH_LOG("one-shot %d", k + 2);
		EXPECT_NE(NULL, strstr(again, "\ngridrun_jobs_running 100\n"));
		free(la);
		free(again);
	}
	/* and the HTTP exporter, which parses the new entries the same way */
	sleep_ms(400);
	free(s1);
	s1 = fetch(url);
	ASSERT_NE(NULL, s1);
	free(l1);
	l1 = job_lines(s1);
	EXPECT_STREQ(l2, l1);
	EXPECT_NE(NULL, strstr(s1, "\ngridrun_jobs_running 100\n"));
	free(l1);
	free(l2);
	free(lo);
	free(s1);
	free(s2);
	free(one);
	free(prom);
	free(cmd);
	free(url);
	free(errpath);
	world_free(&w);
}

TEST_HARNESS_MAIN
