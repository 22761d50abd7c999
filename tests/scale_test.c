/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scale_test - what a start costs on a busy node: with many live jobs in the
 * state directory, a start reads none of their entries (state.c), yet on an
 * idle node it still collects what a killed supervisor left (R1,
 * lifecycle_test). GRIDRUN_SCALE_N live entries (300). What the kernel does
 * per job for every process or superblock on the node: a job's end walks
 * the host's processes (kill(-1)) only for what the job left; the masked
 * directories make one superblock, and so do /tmp, /var/tmp, /run and
 * /dev/shm; no job's mount reaches the host or
 * another job; a sleeping job's supervisor does not wake.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
/* util.h (ARRAY_SIZE clashes with the harness) */
unsigned long long gr_proc_starttime(pid_t pid);

FIXTURE(scale) {
	char *dir, *state;
};

FIXTURE_SETUP(scale)
{
	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	gt_mkdirs(self->state, 0755, -1, -1);
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
}

FIXTURE_TEARDOWN(scale)
{
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->state);
}

/* n entries held by this (live) process, as a supervisor writes them */
static void live_entries(const char *state, int n)
{
	unsigned long long start = gr_proc_starttime(getpid());

	for (int i = 0; i < n; i++) {
		char *d, *p;

		if (asprintf(&d, "%s/live-%d", state, i) < 0)
			abort();
		gt_mkdirs(d, 0755, -1, -1);
		p = gt_write(d, "state.json", "{\"job_id\": \"live-%d\", \"supervisor_pid\": %d, "
			     "\"supervisor_start\": %llu, \"spec\": \"x\"}", i, (int)getpid(), start);
		free(p);
		free(d);
	}
}

TEST_F(scale, a_start_reads_no_live_entry)
{
	const char *v = getenv("GRIDRUN_SCALE_N");
	int n = v && atoi(v) > 0 ? atoi(v) : 300;
	char *gc_argv[] = { (char *)gt_gridrun(), "gc", NULL };
	char *spec, *want;
	struct gt_result res;

	live_entries(self->state, n);
	gt_run_argv(gc_argv, -1, &res);
	ASSERT_EQ(0, res.status) TH_LOG("%s", res.err);
	ASSERT_STREQ("gridrun gc: removed 0 stale state entries\n", res.out);
	gt_result_free(&res);

	setenv("GRIDRUN_DEBUG", "1", 1);
	spec = gt_spec(self->dir, "[\"/bin/true\"]", NULL, "\"job_id\": \"scale-1\"");
	gt_run_spec(spec, &res);
	unsetenv("GRIDRUN_DEBUG");
	ASSERT_EQ(0, res.status) TH_LOG("%s", res.err);
	/* the n entries, none of them read (no job ended yet: no records/) */
	ASSERT_LE(0, asprintf(&want, "gridrun: debug: job scale-1: state gc skipped: %d entries, %d after "
			      "the last gc, 0 read, 0 removed\n", n, n));
	EXPECT_NE(NULL, strstr(res.err, want)) TH_LOG("stderr: %s", res.err);
	EXPECT_EQ(n, gt_count_dir(self->state));
	gt_result_free(&res);
	free(want);
	free(spec);
}

/* Whether a run of spec, traced, signalled the whole namespace (kill(-1)):
 * 1 or 0, -1 when the run failed. */
static int traced_kill_all(const char *dir, const char *spec)
{
	char *trace, *text, *argv[] = { "/usr/bin/strace", "-f", "-qq", "-e", "trace=kill", "-o", NULL,
					(char *)gt_gridrun(), "run", (char *)spec, NULL };
	struct gt_result res;
	int all;

	if (asprintf(&trace, "%s/kill.trace", dir) < 0)
		abort();
	argv[6] = trace;
	/* a sanitizer build's leak check cannot run under ptrace */
	setenv("LSAN_OPTIONS", "detect_leaks=0", 1);
	gt_run_argv(argv, -1, &res);
	unsetenv("LSAN_OPTIONS");
	text = gt_read(trace);
	if (res.status != 0 || !text)
		fprintf(stderr, "# strace gridrun run: status %d: %s\n", res.status, res.err);
	all = res.status != 0 || !text ? -1 : strstr(text, "kill(-1, ") != NULL;
	gt_result_free(&res);
	unlink(trace);
	free(trace);
	free(text);
	return all;
}

/* A job's end signals the processes it left, and only then: kill(-1) walks
 * every process on the host, not the namespace's (init.c). */
TEST_F(scale, an_end_walks_the_hosts_processes_only_for_what_the_job_left)
{
	char *plain = gt_spec(self->dir, "[\"/bin/true\"]", NULL, NULL);
	char *left = gt_spec(self->dir, "[\"/bin/sh\", \"-c\", \"sleep 30 & exit 0\"]", NULL, NULL);

	EXPECT_EQ(0, traced_kill_all(self->dir, plain));
	EXPECT_EQ(1, traced_kill_all(self->dir, left));
	free(plain);
	free(left);
}

/* The syscalls of a traced run of spec (strace -c -f): total calls, -1 on failure. */
static long traced_syscalls(const char *dir, const char *spec)
{
	char *trace, *text, *p, *argv[] = { "/usr/bin/strace", "-f", "-c", "-o", NULL,
					(char *)gt_gridrun(), "run", (char *)spec, NULL };
	struct gt_result res;
	long calls = -1;

	if (asprintf(&trace, "%s/count.trace", dir) < 0)
		abort();
	argv[4] = trace;
	setenv("LSAN_OPTIONS", "detect_leaks=0", 1);
	gt_run_argv(argv, -1, &res);
	unsetenv("LSAN_OPTIONS");
	text = gt_read(trace);
	/* the last line: "100.00 SECONDS USECS/CALL CALLS [ERRORS] total" */
	p = text ? strstr(text, "100.00 ") : NULL;
	if (res.status == 0 && p && sscanf(p, "%*s %*s %*s %ld", &calls) != 1)
		calls = -1;
	if (res.status != 0)
		fprintf(stderr, "# strace gridrun run: status %d: %s\n", res.status, res.err);
	gt_result_free(&res);
	unlink(trace);
	free(trace);
	free(text);
	return calls;
}

/* The pid of the first child of pid, 0 if none within timeout_ms. */
static pid_t first_child(pid_t pid, int timeout_ms)
{
	char path[64], *kids;
	pid_t kid = 0;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	for (int t = 0; !kid && t < timeout_ms; t += 20) {
		kids = gt_read(path);
		kid = kids ? atoi(kids) : 0;
		free(kids);
		if (!kid)
			usleep(20 * 1000);
	}
	return kid;
}

/*
 * A start makes as many syscalls while jobs run as on an idle node: nothing
 * in gridrun walks the state directory, /proc or the jobs' cgroups per
 * start. (The state gc, amortised, reads entries only when their number
 * grew: the start after the jobs started takes it, untraced.)
 */
TEST_F(scale, a_start_makes_no_more_syscalls_while_jobs_run)
{
	enum { JOBS = 40 };
	char *plain = gt_spec(self->dir, "[\"/bin/true\"]", NULL, NULL);
	char *sleeper = gt_spec(self->dir, "[\"/bin/sleep\", \"60\"]", NULL, NULL);
	struct gt_result res;
	pid_t sup[JOBS];
	long idle, busy;

	gt_run_spec(plain, &res);
	gt_result_free(&res);
	idle = traced_syscalls(self->dir, plain);
	ASSERT_LT(0, idle);
	for (int i = 0; i < JOBS; i++)
		sup[i] = gt_start_spec(sleeper, -1);
	for (int i = 0; i < JOBS; i++) {
		pid_t init = first_child(sup[i], 20000);

		EXPECT_LT(0, init);
		EXPECT_LT(0, init > 0 ? first_child(init, 20000) : 0);
	}
	gt_run_spec(plain, &res);
	EXPECT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	gt_result_free(&res);
	busy = traced_syscalls(self->dir, plain);
	for (int i = 0; i < JOBS; i++)
		kill(sup[i], SIGTERM);
	for (int i = 0; i < JOBS; i++)
		gt_wait(sup[i], 20000);
	/* a few of slack: EINTR retries, a poll that wakes twice */
	EXPECT_LE(busy, idle + idle / 20);
	TH_LOG("%ld syscalls idle, %ld with %d jobs running", idle, busy, JOBS);
	free(plain);
	free(sleeper);
}

static int count_lines(const char *path)
{
	char *text = gt_read(path);
	int n = 0;

	for (char *p = text; p && *p; p++)
		n += *p == '\n';
	free(text);
	return text ? n : -1;
}

/*
 * With 1000 jobs a mount that propagated out of a job would reach the
 * host's table and every other job's. On a host whose mounts are shared
 * (systemd's), a job's copy is a slave: nothing of it goes back to the host
 * nor, through the host, to another job. This test's own mount namespace
 * stands for such a host.
 */
TEST_F(scale, a_jobs_mounts_reach_neither_the_host_nor_another_job)
{
	char *sleeper = gt_spec(self->dir, "[\"/bin/sleep\", \"30\"]", NULL, NULL);
	char *counter = gt_spec(self->dir, "[\"/bin/sh\", \"-c\", \"grep -c . /proc/self/mountinfo\"]",
				NULL, NULL);
	char *job_mounts, path[64], *alone;
	struct gt_result res;
	pid_t sup, init, job;
	int host;

	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	/* private first: never a peer of the real host's mounts */
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL));
	host = count_lines("/proc/self/mountinfo");
	ASSERT_LT(0, host);
	gt_run_spec(counter, &res);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	alone = strdup(res.out);
	gt_result_free(&res);

	sup = gt_start_spec(sleeper, -1);
	init = first_child(sup, 10000);
	ASSERT_LT(0, init);
	job = first_child(init, 10000);
	ASSERT_LT(0, job);
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)job);
	job_mounts = gt_read(path);
	ASSERT_NE(NULL, job_mounts);
	/* the job's root is a slave of the host's, none of its mounts a peer */
	EXPECT_NE(NULL, strstr(job_mounts, " master:")) TH_LOG("%s", job_mounts);
	EXPECT_EQ(NULL, strstr(job_mounts, " shared:")) TH_LOG("%s", job_mounts);
	EXPECT_EQ(host, count_lines("/proc/self/mountinfo"));
	/* another job sees as many mounts as one alone does */
	gt_run_spec(counter, &res);
	EXPECT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ(alone, res.out);
	gt_result_free(&res);

	kill(sup, SIGTERM);
	EXPECT_NE(-1, gt_wait(sup, 20000));
	EXPECT_EQ(host, count_lines("/proc/self/mountinfo"));
	free(job_mounts);
	free(alone);
	free(counter);
	free(sleeper);
}

/*
 * Each superblock a job makes costs the kernel a step at every memory
 * cgroup's removal on the node (memcg_reparent_list_lrus()): the masked
 * directories show one empty read-only tmpfs, not one each.
 */
TEST_F(scale, the_masked_directories_share_one_superblock)
{
	char *spec = gt_spec(self->dir, "[\"/bin/sh\", \"-c\", \"stat -c %d /proc/acpi /sys/firmware /usr/share/doc / "
			     "| sort -u | wc -l; ls -A /usr/share/doc | wc -l; touch /sys/firmware/x 2>/dev/null "
			     "|| echo ro\"]", "\"linux\": {\"maskedPaths\": [\"/usr/share/doc\"]}", NULL);
	struct gt_result res;

	gt_run_spec(spec, &res);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	/* the three masks one device, the root another; empty, read-only */
	EXPECT_STREQ("2\n0\nro\n", res.out);
	gt_result_free(&res);
	free(spec);
}

/*
 * The same for the job's writable tmpfs: /tmp, /var/tmp, /run and /dev/shm
 * are one superblock (a directory each), with their own modes, and still
 * four mounts (no hard link between them).
 */
TEST_F(scale, the_job_tmpfs_mounts_share_one_superblock)
{
	char *spec = gt_spec(self->dir, "[\"/bin/sh\", \"-c\", \"stat -c %d /tmp /var/tmp /run /dev/shm | sort -u | "
			     "wc -l; stat -c %a /tmp /var/tmp /run /dev/shm; touch /tmp/a; ln /tmp/a /dev/shm/a "
			     "2>/dev/null || echo apart\"]", NULL, NULL);
	struct gt_result res;

	gt_run_spec(spec, &res);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ("1\n1777\n1777\n755\n1777\napart\n", res.out);
	gt_result_free(&res);
	free(spec);
}

/*
 * /dev and the masked directories are directories of that tmpfs too (two
 * superblocks fewer per job), read-only: /dev holds its nodes and links,
 * the masks stay empty, and nothing can be created in either.
 */
TEST_F(scale, dev_and_the_masks_are_directories_of_the_job_tmpfs)
{
	char *spec = gt_spec(self->dir, "[\"/bin/sh\", \"-c\", \"stat -c %d /tmp /dev /proc/acpi /sys/firmware | "
			     "sort -u | wc -l; stat -c %a /dev /proc/acpi; ls -A /proc/acpi | wc -l; "
			     "touch /dev/x 2>/dev/null || echo dev-ro; mkdir /proc/acpi/x 2>/dev/null || echo mask-ro; "
			     "echo x >/dev/null && head -c 4 /dev/zero | wc -c; readlink /dev/stdin\"]", NULL, NULL);
	struct gt_result res;

	gt_run_spec(spec, &res);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ("1\n755\n555\n0\ndev-ro\nmask-ro\n4\n/proc/self/fd/0\n", res.out);
	gt_result_free(&res);
	free(spec);
}

static long voluntary_switches(pid_t pid)
{
	char path[64], *text, *p;
	long n = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = gt_read(path);
	if (text && (p = strstr(text, "voluntary_ctxt_switches:")))
		n = strtol(p + strlen("voluntary_ctxt_switches:"), NULL, 10);
	free(text);
	return n;
}

/* Whether the pids cgroup of pid has pids.peak (v1 or v2): -1 unknown. */
static int has_pids_peak(pid_t pid)
{
	char path[64], *text, *line, *save = NULL, *f;
	int r = -1;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	text = gt_read(path);
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		char *rel = strchr(line, ':') ? strchr(strchr(line, ':') + 1, ':') : NULL;
		bool v1 = strstr(line, ":pids:") != NULL;

		if (!rel || (!v1 && strncmp(line, "0::", 3)))
			continue;
		if (asprintf(&f, "/sys/fs/cgroup%s%s/pids.peak", v1 ? "/pids" : "", rel + 1) < 0)
			abort();
		r = access(f, F_OK) == 0;
		free(f);
		if (v1)
			break;
	}
	free(text);
	return r;
}

/* The supervisor of a sleeping job: where the kernel keeps pids.peak it
 * never wakes (no sampling); elsewhere it samples, backing off. */
TEST_F(scale, a_sleeping_jobs_supervisor_does_not_wake)
{
	char *spec = gt_spec(self->dir, "[\"/bin/sleep\", \"2\"]", NULL, NULL), *kids, path[64];
	long before, after;
	pid_t sup, init;
	int peak;

	sup = gt_start_spec(spec, -1);
	usleep(500 * 1000);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)sup, (int)sup);
	kids = gt_read(path);
	init = kids ? atoi(kids) : 0;
	free(kids);
	ASSERT_LT(0, init);
	peak = has_pids_peak(init);
	ASSERT_LE(0, peak);
	before = voluntary_switches(sup);
	sleep(1);
	after = voluntary_switches(sup);
	ASSERT_LE(0, before);
	if (peak) {
		EXPECT_GE(1, after - before);
	} else {
		EXPECT_GT(12, after - before);
	}
	TH_LOG("pids.peak %s: %ld wakeups in 1 s", peak ? "kept" : "absent", after - before);
	EXPECT_EQ(0, gt_wait(sup, 20000));
	free(spec);
}

TEST_HARNESS_MAIN
