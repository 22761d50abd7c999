// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pool_gc_test - root-mode jobs in leased uid ranges whose supervisor is
 * SIGKILLed, through the real binary: `gridrun gc` reclaims exactly the dead
 * supervisor's lease, S20 (gc walks a chown sandbox back; a sandbox deeper
 * than the walk keeps its range), and R2 (concurrent starts from a full
 * pool with supervisors killed at random leak nothing). The fixture and the
 * site configuration are tests/lib/gt-pool-run.h's, as in pool_run_test.
 */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"
#include "gt-pool-run.h"

TEST_F(pool, a_sigkilled_supervisors_lease_is_reclaimed_by_gc_and_no_other)
{
	char *spec[2], *ready[2], *lease_b, *mark;
	const char *names[2] = { "killed", "alive" };
	struct stat before, after;
	pid_t pid[2];

	configure(self, 2);
	for (int i = 0; i < 2; i++) {
		char *r;

		spec[i] = job(self, names[i], WAIT_SCRIPT, 0777, 0, NULL);
		ASSERT_LE(0, asprintf(&r, "execute/%s/ready", names[i]));
		ready[i] = path_in(self->dir, r);
		free(r);
		pid[i] = gt_start_spec(spec[i], -1);
		ASSERT_TRUE(gt_wait_file(ready[i], 20000));
	}
	lease_b = path_in(self->leases, "atlas/1.lease");
	ASSERT_EQ(0, stat(lease_b, &before));
	ASSERT_EQ(0, kill(pid[0], SIGKILL));
	EXPECT_EQ(128 + SIGKILL, gt_wait(pid[0], 20000));
	ASSERT_LE(0, asprintf(&mark, "mark-killed-%d", (int)getpid()));
	EXPECT_EQ(0, gt_wait_no_procs(mark, 20000));
	/* its init too: it dies with the supervisor (PDEATHSIG) */
	EXPECT_TRUE(wait_no_tasks_in(FIRST, 65536, 20000));
	/* the dead supervisor's lease is still there until gc */
	EXPECT_EQ(2, count_files(self, ".lease"));
	gridrun_cmd("gc", &self->res);
	EXPECT_EQ(0, self->res.status) TH_LOG("%s", self->res.err);
	EXPECT_STREQ("gridrun gc: removed 1 stale state entry\n"
		     "gridrun gc: reclaimed 1 lease(s) of dead holders, ended 1 quarantine(s)\n", self->res.out);
	EXPECT_EQ(1, count_files(self, ".lease"));
	EXPECT_EQ(0, count_files(self, ".quarantine"));
	/* the live job's lease is the very same file */
	ASSERT_EQ(0, stat(lease_b, &after));
	EXPECT_EQ(before.st_ino, after.st_ino);
	EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	free(gt_write(self->dir, "execute/alive/go", "%s", ""));
	EXPECT_EQ(0, gt_wait(pid[1], 20000));
	EXPECT_EQ(0, count_files(self, ".lease"));
	for (int i = 0; i < 2; i++) {
		free(spec[i]);
		free(ready[i]);
	}
	free(lease_b);
	free(mark);
}

/* S20 (b): chown hand-over, supervisor SIGKILLed while the job runs: the
 * lease noted the sandbox, so `gridrun gc` walks it back (nothing is left
 * the range's, the setuid copy is the owner's without its set-id bits). */
TEST_F(pool, S20_gc_walks_back_the_sandbox_of_a_sigkilled_supervisor)
{
	char *spec, *ready, *conf, *sbx;
	struct stat st;
	pid_t pid;

	conf = gt_write(self->dir, "gridrun.conf", "[runtime]\nlease_dir = %s\nsandbox_handover = chown\n\n"
			"[pool atlas]\nfirst_uid = %u\nranges = 1\naccounts = atlas001\nquarantine_seconds = 0\n",
			self->leases, FIRST);
	chmod(conf, 0644);
	setenv("GRIDRUN_CONFIG", conf, 1);
	spec = job(self, "crash", "mkdir $SBX/d; cp /bin/dash $SBX/d/sh; chmod 6755 $SBX/d/sh; " WAIT_SCRIPT,
		   0700, UNPRIV_UID, NULL);
	ready = path_in(self->dir, "execute/crash/ready");
	sbx = path_in(self->dir, "execute/crash");
	pid = gt_start_spec(spec, -1);
	ASSERT_TRUE(gt_wait_file(ready, 20000));
	ASSERT_EQ(0, stat(gt_f("%s/d/sh", sbx), &st));
	EXPECT_EQ(FIRST, st.st_uid);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, gt_wait(pid, 20000));
	EXPECT_TRUE(wait_no_tasks_in(FIRST, 65536, 20000));
	gridrun_cmd("gc", &self->res);
	EXPECT_EQ(0, self->res.status) TH_LOG("%s", self->res.err);
	for (int i = 0; i < 4; i++) {
		static const char *const names[] = { ".", "d", "d/sh", "ready" };

		ASSERT_EQ(0, lstat(gt_f("%s/%s", sbx, names[i]), &st));
		EXPECT_EQ(UNPRIV_UID, st.st_uid) TH_LOG("%s", names[i]);
	}
	ASSERT_EQ(0, stat(gt_f("%s/d/sh", sbx), &st));
	EXPECT_EQ(0, st.st_mode & (S_ISUID | S_ISGID));
	free(conf);
	free(sbx);
	free(ready);
	free(spec);
}

/*
 * S20 (a): chown hand-over, the job leaves a setuid copy of dash deeper
 * than the walk's limit (GR_HANDOVER_MAX_DEPTH): the walk back cannot
 * reach it, so the range is not leased again (the next job of the pool
 * finds it exhausted), `gridrun gc` keeps it while the file is there, and
 * once the tree is gone gc settles the range and a job gets it again.
 */
TEST_F_TIMEOUT(pool, S20_a_sandbox_deeper_than_the_walk_keeps_its_range, 120)
{
	char *spec, *next, *conf, *sbx, *deep;
	struct stat st;

	conf = gt_write(self->dir, "gridrun.conf", "[runtime]\nlease_dir = %s\nsandbox_handover = chown\n\n"
			"[pool atlas]\nfirst_uid = %u\nranges = 1\naccounts = atlas001\nquarantine_seconds = 0\n",
			self->leases, FIRST);
	chmod(conf, 0644);
	setenv("GRIDRUN_CONFIG", conf, 1);
	spec = job(self, "deep", "cd $SBX; i=0; while [ $i -lt 520 ]; do mkdir d; cd d; i=$((i+1)); done; "
		   "cp /bin/dash sh; echo made", 0700, UNPRIV_UID, NULL);
	sbx = path_in(self->dir, "execute/deep");
	gt_run_spec(spec, &self->res);
	EXPECT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	EXPECT_STREQ("made\n", self->res.out);
	/* said in short lines naming the depth, not one name per level */
	EXPECT_NE(NULL, strstr(self->res.err, "sandbox hand-over back: the sandbox is deeper than 512 directories\n"))
		TH_LOG("stderr: %s", self->res.err);
	EXPECT_EQ(NULL, strstr(self->res.err, "d: d: ")) TH_LOG("stderr: %s", self->res.err);
	/* where it is, the dash copy still belongs to the range */
	deep = strdup(sbx);
	for (int i = 0; i < 520; i++) {
		char *d = path_in(deep, "d");

		free(deep);
		deep = d;
	}
	{
		char *f = path_in(deep, "sh");
		int dfd = open(sbx, O_PATH | O_DIRECTORY);

		/* the path is longer than PATH_MAX for no one: 520 * 2 bytes */
		ASSERT_LE(0, dfd);
		ASSERT_EQ(0, fstatat(dfd, f + strlen(sbx) + 1, &st, AT_SYMLINK_NOFOLLOW));
		close(dfd);
		EXPECT_LE(FIRST, st.st_uid);
		free(f);
	}
	gt_result_free(&self->res);
	/* the range is not leased again while the file is there */
	next = job(self, "next", "echo ran", 0700, UNPRIV_UID, NULL);
	gt_run_spec(next, &self->res);
	EXPECT_EQ(125, self->res.status) TH_LOG("out %s err %s", self->res.out, self->res.err);
	EXPECT_STREQ("gridrun: pool atlas exhausted (0 of 1 ranges leased, 1 in quarantine)\n", self->res.err);
	EXPECT_STREQ("", self->res.out);
	gt_result_free(&self->res);
	gridrun_cmd("gc", &self->res);
	gt_result_free(&self->res);
	gt_run_spec(next, &self->res);
	EXPECT_EQ(125, self->res.status) TH_LOG("after gc: out %s err %s", self->res.out, self->res.err);
	gt_result_free(&self->res);
	/* the deep tree gone (the test's own scratch dir), gc walks the
	 * sandbox back and settles the range */
	gt_rm_rf(gt_f("%s/d", sbx));
	gridrun_cmd("gc", &self->res);
	EXPECT_EQ(0, self->res.status) TH_LOG("%s", self->res.err);
	gt_result_free(&self->res);
	gt_run_spec(next, &self->res);
	EXPECT_EQ(0, self->res.status) TH_LOG("%s", self->res.err);
	EXPECT_STREQ("ran\n", self->res.out);
	free(deep);
	free(conf);
	free(sbx);
	free(next);
	free(spec);
}

/* All live jobs' host uid maps are pairwise disjoint; returns how many. */
static int check_disjoint(struct __test_metadata *_metadata, struct _test_data_pool *self, int n,
			  const bool *alive)
{
	unsigned long long first[64], count[64], in;
	int seen = 0;

	for (int i = 0; i < n; i++) {
		char name[16];
		int p;

		if (!alive[i])
			continue;
		snprintf(name, sizeof(name), "r2-%d", i);
		p = job_pid(self, name);
		if (p <= 0 || !host_map(p, &in, &first[seen], &count[seen]))
			continue;
		EXPECT_EQ(65536, count[seen]);
		EXPECT_EQ(0, (first[seen] - FIRST) % 65536);
		for (int j = 0; j < seen; j++)
			EXPECT_TRUE(first[seen] + count[seen] <= first[j] || first[j] + count[j] <= first[seen])
				TH_LOG("jobs share uids %llu", first[seen]);
		seen++;
	}
	return seen;
}

/* R2: a full pool's worth of concurrent starts (64), a start too many,
 * random supervisors SIGKILLed; the live maps stay disjoint, nothing leaks. */
TEST_F_TIMEOUT(pool, R2_concurrent_starts_with_random_kills_leak_nothing, 900)
{
	const int n = gt_r2_jobs();
	bool alive[GT_R2_MAX];
	pid_t pid[GT_R2_MAX];
	char *spec, *want;
	unsigned char rnd[GT_R2_MAX];

	configure(self, (unsigned)n);
	for (int i = 0; i < n; i++) {
		char name[16];

		snprintf(name, sizeof(name), "r2-%d", i);
		spec = job(self, name, WAIT_SCRIPT, 0777, 0, NULL);
		pid[i] = gt_start_spec(spec, -1);
		alive[i] = true;
		free(spec);
	}
	for (int i = 0; i < n; i++) {
		char r[64], *p;

		snprintf(r, sizeof(r), "execute/r2-%d/ready", i);
		p = path_in(self->dir, r);
		ASSERT_TRUE(gt_wait_file(p, 300000)) TH_LOG("job %d never started", i);
		free(p);
	}
	EXPECT_EQ(n, check_disjoint(_metadata, self, n, alive));
	EXPECT_EQ(n, count_files(self, ".lease"));
	spec = job(self, "r2-extra", "true", 0777, 0, NULL);
	gt_run_spec(spec, &self->res);
	EXPECT_EQ(125, self->res.status);
	ASSERT_LE(0, asprintf(&want, "gridrun: pool atlas exhausted (%d of %d ranges leased)\n", n, n));
	EXPECT_STREQ(want, self->res.err);
	/* kill about a third of the supervisors, sampling the maps as they go */
	ASSERT_EQ(sizeof(rnd), getrandom(rnd, sizeof(rnd), 0));
	for (int i = 0; i < n; i++) {
		if (rnd[i] % 3)
			continue;
		kill(pid[i], SIGKILL);
		alive[i] = false;
		check_disjoint(_metadata, self, n, alive);
	}
	EXPECT_EQ(0, gt_r2_finish(self->dir, pid, alive, n));
	for (int i = 0; i < n; i++) {
		char mark[48];

		snprintf(mark, sizeof(mark), "mark-r2-%d-%d", i, (int)getpid());
		EXPECT_EQ(0, gt_wait_no_procs(mark, 60000));
	}
	EXPECT_TRUE(wait_no_tasks_in(FIRST, 65536ull * n, 60000));
	gt_result_free(&self->res);
	gridrun_cmd("gc", &self->res);
	EXPECT_EQ(0, self->res.status);
	/* no lease leaked, and with no task left in them, no quarantine either */
	EXPECT_EQ(0, count_files(self, ".lease"));
	EXPECT_EQ(0, count_files(self, ".quarantine"));
	EXPECT_EQ(0, gt_count_dir(self->state));
	free(spec);
	free(want);
}

TEST_HARNESS_MAIN
