/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroup_test - limits, exact accounting, OOM and fork bombs through the
 * job's cgroup. The same tests run on this host's cgroup v1 (hybrid) and in
 * the pure cgroup v2 guest (tests/vm/); nothing here names a version.
 * Suspend, kill, gc and the cgroup's place are in cgroup_life_test; the
 * fixture is tests/lib/gt-cg.h.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-cg.h"

static double file_cpu_ns(const char *path)
{
	char *s = gt_read(path);
	double v = -1;

	if (s && !strncmp(s, "cpu_ns ", 7))
		v = atof(s + 7);
	free(s);
	return v;
}

/*
 * The job's cgroup is charged from the first instruction of the job's init
 * (clone3 CLONE_INTO_CGROUP on v2; attach before sync #1 on v1), so it also
 * holds init's own CPU: the mount tree, fork, reaping. GRIDRUN_DEBUG=1 makes
 * gridrun say how much that was, measured by init itself in the same run,
 * so the cgroup's figure can be taken apart exactly:
 *     cgroup = init + main process (wait4) + what escaped wait4.
 */
static double init_ns(const char *err)
{
	const char *p = strstr(err ? err : "", ": init used ");

	return p ? atof(p + strlen(": init used ")) : -1;
}

TEST_F(cg, cpu_of_a_daemonized_grandchild_is_counted)
{
	double burned, cg_ns, main_ns, init, daemon_ns;
	char *args, *burned_path;

	setenv("GRIDRUN_DEBUG", "1", 1);
	/* the grandchild escapes wait(): setsid, double fork, burns 2 s and
	 * exits on its own while main sleeps and never waits for it (main only
	 * watches for its report, then gives it time to exit). 2 s rather than
	 * the issue's ~0.5 s: under the emulated v2 lane each process's exit
	 * and a starved vCPU's stolen time cost 20-50 ms that are in the cgroup
	 * but in no clock */
	ASSERT_LE(0, asprintf(&burned_path, "%s/burned", self->sbx));
	ASSERT_LE(0, asprintf(&args, "[\"/bin/sh\", \"-c\", \"(setsid /run/gr-probe burn 1 2.0 > %s &); "
			      "while [ ! -s %s ]; do sleep 1; done; sleep 0.5; exit 0\"]",
			      burned_path, burned_path));
	run_job(self, "cg-daemon", args, NULL);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_NE(NULL, self->record);
	burned = file_cpu_ns(burned_path);
	ASSERT_LT(1.9e9, burned);
	cg_ns = rec_int(self, "cpu_user_ns") + rec_int(self, "cpu_system_ns");
	main_ns = rec_int(self, "rusage_user_ns") + rec_int(self, "rusage_system_ns");
	init = init_ns(self->res.err);
	ASSERT_LE(0, init) TH_LOG("stderr: %s", self->res.err);
	daemon_ns = cg_ns - main_ns - init;
	TH_LOG("burned %.0f ns; cgroup %.0f ns = init %.0f + main %.0f + escaped %.0f",
	       burned, cg_ns, init, main_ns, daemon_ns);
	ASSERT_LT(burned * 0.95, daemon_ns);
	ASSERT_GT(burned * 1.05, daemon_ns);
	/* wait4() of the main process never saw it: had it, main's figure
	 * would exceed the burn itself (it is sh and sleep alone: ~15 ms here,
	 * 0.2-0.8 s in the emulated guest, where each program start costs
	 * ~100 ms and a starved vCPU's stolen time is charged to it) */
	ASSERT_GT(burned * 0.9, main_ns);
	ASSERT_LT(0, rec_int(self, "cgroup_version"));
	ASSERT_EQ(0, gt_cgroup_dirs("cg-daemon"));
	free(args);
	free(burned_path);
}

TEST_F(cg, cpu_of_four_threads_is_exact_within_2_percent)
{
	double burned, cg_ns, init;

	setenv("GRIDRUN_DEBUG", "1", 1);
	/* 2 s rather than the 1 s: the exit of four threads and their
	 * process comes after the probe's last clock read and costs ~30 ms in
	 * the emulated v2 guest (under 1 ms on the host) */
	run_job(self, "cg-threads", "[\"/run/gr-probe\", \"burn\", \"4\", \"2.0\"]", NULL);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_EQ(0, strncmp(self->res.out, "cpu_ns ", 7));
	/* the probe's CPU clock covers its whole life, pre-exec setup included */
	burned = atof(self->res.out + 7);
	cg_ns = rec_int(self, "cpu_user_ns") + rec_int(self, "cpu_system_ns");
	init = init_ns(self->res.err);
	ASSERT_LE(0, init) TH_LOG("stderr: %s", self->res.err);
	TH_LOG("probe cputime %.0f ns; cgroup %.0f ns, of which init %.0f ns", burned, cg_ns, init);
	ASSERT_LT(burned * 0.98, cg_ns - init);
	ASSERT_GT(burned * 1.02, cg_ns - init);
}

TEST_F(cg, R4_memory_bomb_is_oom_killed_and_reported)
{
	run_job(self, "cg-oom", "[\"/run/gr-probe\", \"eat\"]", "{\"memory\": {\"limit\": 67108864}}");
	ASSERT_EQ(128 + 9, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_NE(NULL, self->record);
	EXPECT_STREQ("oom", json_string_value(json_object_get(self->record, "reason")));
	EXPECT_TRUE(json_is_true(json_object_get(self->record, "oom_killed")));
	EXPECT_EQ(9, rec_int(self, "signal"));
	EXPECT_GE(67108864 + 4096, rec_int(self, "memory_peak_bytes"));
	EXPECT_LT(60 << 20, rec_int(self, "memory_peak_bytes"));
	ASSERT_NE(NULL, strstr(self->res.err, "gridrun: job cg-oom was killed by the kernel's OOM killer"));
	ASSERT_EQ(0, gt_cgroup_dirs("cg-oom"));
}

TEST_F(cg, R4_dev_shm_fill_is_oom_killed)
{
	run_job(self, "cg-shm", "[\"/bin/dd\", \"if=/dev/zero\", \"of=/dev/shm/fill\", \"bs=1M\", \"count=256\"]",
		"{\"memory\": {\"limit\": 67108864}}");
	ASSERT_NE(0, self->res.status);
	ASSERT_NE(NULL, self->record);
	EXPECT_TRUE(json_is_true(json_object_get(self->record, "oom_killed")));
	ASSERT_EQ(0, gt_cgroup_dirs("cg-shm"));
}

TEST_F(cg, R4_a_16MiB_limit_still_starts_a_job)
{
	run_job(self, "cg-small", "[\"/bin/sh\", \"-c\", \"echo started\"]", "{\"memory\": {\"limit\": 16777216}}");
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_STREQ("started\n", self->res.out);
	EXPECT_TRUE(json_is_false(json_object_get(self->record, "oom_killed")));
}

TEST_F(cg, R3_fork_bomb_stops_at_pids_max)
{
	run_job(self, "cg-forks", "[\"/run/gr-probe\", \"forkbomb\"]", "{\"pids\": {\"limit\": 32}}");
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	/* init, the probe and 30 children */
	ASSERT_STREQ("forked 30 EAGAIN\n", self->res.out);
	ASSERT_NE(NULL, strstr(self->res.err, "gridrun: job cg-forks hit its pids limit: "))
		TH_LOG("stderr: %s", self->res.err);
	EXPECT_LE(30, rec_int(self, "pids_peak"));
	EXPECT_GE(32, rec_int(self, "pids_peak"));
	/* the 30 sleeping children were killed at the end */
	EXPECT_EQ(30, rec_int(self, "killed_at_end"));
	ASSERT_EQ(0, gt_cgroup_dirs("cg-forks"));
}

/* The job's own cgroup directory in its view: the root of the pids
 * hierarchy's mount (v1: /sys/fs/cgroup/pids, v2: /sys/fs/cgroup). */
#define OWN_PIDS_DIR \
	"d=/sys/fs/cgroup; [ -e $d/pids.max ] || d=$(dirname $(ls /sys/fs/cgroup/*/pids.max | head -1)); "

TEST_F(cg, S13_S14_cgroupfs_is_read_only_inside)
{
	run_job(self, "cg-ro",
		"[\"/bin/sh\", \"-c\", \"" OWN_PIDS_DIR
		"echo $$ 2>/dev/null > /sys/fs/cgroup/cgroup.procs || echo procs-denied; "
		"mkdir $d/gridrun-sibling 2>/dev/null || echo mkdir-denied; "
		"for f in memory.max memory.limit_in_bytes pids.max; do [ -e $d/$f ] && { echo max 2>/dev/null > $d/$f || echo $f-denied; }; done; "
		"echo limit $(cat $d/pids.max)\"]",
		"{\"pids\": {\"limit\": 64}, \"memory\": {\"limit\": 268435456}}");
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_NE(NULL, strstr(self->res.out, "procs-denied\nmkdir-denied\n")) TH_LOG("out: %s", self->res.out);
	ASSERT_NE(NULL, strstr(self->res.out, "pids.max-denied\n")) TH_LOG("out: %s", self->res.out);
	/* the view's root is the job's own cgroup: its limit, not the host's */
	ASSERT_NE(NULL, strstr(self->res.out, "limit 64\n")) TH_LOG("out: %s", self->res.out);
}

/*
 * H4: a job does not learn the host's cgroup paths: /proc/self/cgroup says
 * "/" in every hierarchy, and neither its own nor a concurrently running
 * job's gridrun-<id> directory is anywhere under /sys/fs/cgroup.
 */
TEST_F(cg, H4_a_job_sees_no_other_jobs_cgroup)
{
	char *gr, *spec, *args, *ready, *stop, *rec2;
	pid_t other;

	ASSERT_LE(0, asprintf(&ready, "%s/ready", self->sbx));
	ASSERT_LE(0, asprintf(&stop, "%s/stop", self->sbx));
	ASSERT_LE(0, asprintf(&rec2, "%s/other.json", self->dir));
	ASSERT_LE(0, asprintf(&args, "[\"/bin/sh\", \"-c\", \"touch %s; while [ ! -e %s ]; do sleep 0.1; done\"]",
			      ready, stop));
	ASSERT_LE(0, asprintf(&gr, "\"job_id\": \"cg-h4-other\", \"sandbox\": \"%s\", \"accounting\": \"%s\"",
			      self->sbx, rec2));
	spec = gt_spec(self->dir, args, "\"linux\": {\"resources\": {\"pids\": {\"limit\": 64}}}", gr);
	other = gt_start_spec(spec, -1);
	ASSERT_TRUE(gt_wait_file(ready, 20000));
	/* the other job's cgroup exists on the host meanwhile */
	ASSERT_LT(0, gt_cgroup_dirs("cg-h4-other"));
	run_job(self, "cg-h4",
		"[\"/bin/sh\", \"-c\", \"sed 's/^[0-9]*:[^:]*://' /proc/self/cgroup | sort -u; "
		"find /sys/fs/cgroup -maxdepth 6 -name 'gridrun-*' | sed 's/^/seen /'; "
		"ls /sys/fs/cgroup/*/pids.max /sys/fs/cgroup/pids.max 2>/dev/null | wc -l\"]",
		"{\"pids\": {\"limit\": 64}}");
	free(gt_write(self->sbx, "stop", "x"));
	EXPECT_EQ(0, gt_wait(other, 20000));
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	TH_LOG("the job's view:\n%s", self->res.out);
	/* one path, "/", in every hierarchy; nothing seen; its own pids.max */
	ASSERT_STREQ("/\n1\n", self->res.out);
	ASSERT_EQ(0, gt_cgroup_dirs("cg-h4-other"));
	free(gr);
	free(spec);
	free(args);
	free(ready);
	free(stop);
	free(rec2);
}

/* A site configuration in the fixture's directory, for this test's runs. */
static void site_config(struct _test_data_cg *self, const char *text)
{
	char *conf = gt_write(self->dir, "gridrun.conf", "%s", text);

	setenv("GRIDRUN_CONFIG", conf, 1);
	free(conf);
}

/* Each private tmpfs's size= as the job sees it, then a write past it. */
#define TMPFS_SIZES_THEN(write) \
	"[\"/bin/sh\", \"-c\", \"for m in /tmp /var/tmp /run /dev/shm; do " \
	"grep \\\"^none $m tmpfs \\\" /proc/self/mounts | tail -1 | grep -o 'size=[0-9]*k' || echo $m-unbounded; done; " \
	write " 2>&1 | grep -o 'No space left on device'; exit 0\"]"

TEST_F(cg, H2_private_tmpfs_is_bounded_by_the_site_tmpfs_size)
{
	site_config(self, "[runtime]\ntmpfs_size = 8m\n");
	run_job(self, "cg-tmpfs-site", TMPFS_SIZES_THEN("dd if=/dev/zero of=/tmp/fill bs=1M count=16"), NULL);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_STREQ("size=8192k\nsize=8192k\nsize=8192k\nsize=8192k\nNo space left on device\n",
		     self->res.out);
}

TEST_F(cg, H2_private_tmpfs_is_bounded_by_the_memory_limit)
{
	/* the memory limit wins over the site's size; fallocate asks for the
	 * whole size at once, so the bound answers before the memcg could */
	site_config(self, "[runtime]\ntmpfs_size = 8m\n");
	run_job(self, "cg-tmpfs-mem", TMPFS_SIZES_THEN("fallocate -l 80m /dev/shm/fill"),
		"{\"memory\": {\"limit\": 67108864}}");
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_STREQ("size=65536k\nsize=65536k\nsize=65536k\nsize=65536k\nNo space left on device\n",
		     self->res.out);
}

TEST_F(cg, H3_site_default_pids_limit_stops_a_fork_bomb)
{
	site_config(self, "[runtime]\ndefault_pids_limit = 32\n");
	run_job(self, "cg-pids-default", "[\"/run/gr-probe\", \"forkbomb\"]", NULL);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	/* init, the probe and 30 children: pids.max is the site's 32 */
	ASSERT_STREQ("forked 30 EAGAIN\n", self->res.out);
	ASSERT_NE(NULL, strstr(self->res.err, "gridrun: job cg-pids-default hit its pids limit: "))
		TH_LOG("stderr: %s", self->res.err);
	EXPECT_GE(32, rec_int(self, "pids_peak"));
}

TEST_F(cg, H3_a_spec_pids_limit_wins_over_the_site_default)
{
	site_config(self, "[runtime]\ndefault_pids_limit = 32\n");
	run_job(self, "cg-pids-spec", "[\"/run/gr-probe\", \"forkbomb\"]", "{\"pids\": {\"limit\": 16}}");
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_STREQ("forked 14 EAGAIN\n", self->res.out);
}

TEST_F(cg, a_limit_error_leaves_no_cgroup)
{
	/* a cpu period the kernel refuses (below 1 ms) */
	run_job(self, "cg-bad", "[\"/bin/true\"]", "{\"cpu\": {\"quota\": 500, \"period\": 100}}");
	ASSERT_EQ(125, self->res.status);
	ASSERT_NE(NULL, strstr(self->res.err, "gridrun: cgroup v")) TH_LOG("stderr: %s", self->res.err);
	ASSERT_EQ(0, gt_cgroup_dirs("cg-bad"));
	ASSERT_EQ(0, gt_count_dir(self->state));
}

TEST_HARNESS_MAIN
