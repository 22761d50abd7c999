/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spank_task_test - the runner of gridrun_spank.so (slurm/spank-task.h)
 * without Slurm: the task's hand-over from this process, and as `gridrun`
 * a script that writes a record to its fd 3 as gridrun would.
 *
 * In one-uid mode gridrun runs with the user's ids, so the user's other
 * processes can rewrite its fd 3 (/proc/PID/fd/3 of their own process):
 * root keeps in record_dir only a JSON object naming this task's job, never
 * whatever the user wrote there (another job's record, or not a record).
 * job_epilog's keeping of the records gc wrote for SIGKILLed tasks
 * (spank-lost.c): only this job's, only lost ones, never over a record.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "../slurm/spank-task.c"
#include "../slurm/spank-lost.c"

#include "kselftest_harness.h"

#define JOB "slurm-7.0.1"

FIXTURE(runner) {
	char dir[64], records[96];
};

FIXTURE_SETUP(runner)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/gridrun-spank.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, chmod(self->dir, 0755));
	snprintf(self->records, sizeof(self->records), "%s/records", self->dir);
	ASSERT_EQ(0, mkdir(self->records, 0755));
}

FIXTURE_TEARDOWN(runner)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	(void)!system(cmd);
}

/* `gridrun` that writes rec to fd 3 and exits 0; then one task through the
 * runner (one-uid mode, this process's own ids); the runner's status. */
static int run_task(const char *dir, const char *records, const char *rec)
{
	char fake[128], recfile[128];
	struct gr_slurm_plan plan = { .uid = getuid(), .gid = getgid(), .job_id = JOB, .record_dir = records,
				      .grace = 1 };
	char *argv[] = { (char *)"true", NULL }, *env[] = { (char *)"A=1", NULL };
	FILE *f;
	int sock, status = -1;
	pid_t runner;

	snprintf(recfile, sizeof(recfile), "%s/rec.json", dir);
	snprintf(fake, sizeof(fake), "%s/gridrun", dir);
	f = fopen(recfile, "w");
	if (!f || fputs(rec, f) < 0 || fclose(f))
		return -1;
	f = fopen(fake, "w");
	if (!f || fprintf(f, "#!/bin/sh\ncat '%s' >&3\n", recfile) < 0 || fclose(f) || chmod(fake, 0755))
		return -1;
	plan.gridrun = fake;
	snprintf(plan.user, sizeof(plan.user), "tester");
	if (gr_slurm_runner_start(&plan, &sock, &runner) < 0)
		return -1;
	if (gr_slurm_task_send(sock, "/", 1, argv, env) < 0)
		return -1;
	/* open until the runner ends: its close is the task's death */
	if (waitpid(runner, &status, 0) != runner)
		status = -1;
	close(sock);
	return status;
}

static bool kept(const char *records)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/" JOB ".json", records);
	return access(path, F_OK) == 0;
}

TEST_F(runner, the_tasks_own_record_is_kept)
{
	int status = run_task(self->dir, self->records, "{\"job_id\": \"" JOB "\", \"reason\": \"exited\", "
							"\"exit_code\": 3, \"signal\": null}");

	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(3, WEXITSTATUS(status));
	EXPECT_TRUE(kept(self->records));
}

TEST_F(runner, another_jobs_record_is_not_kept)
{
	int status = run_task(self->dir, self->records, "{\"job_id\": \"slurm-1.0.0\", \"reason\": \"exited\", "
							"\"exit_code\": 0, \"signal\": null}");

	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_FALSE(kept(self->records));
}

TEST_F(runner, what_is_not_a_record_is_not_kept)
{
	int status = run_task(self->dir, self->records, "#!/bin/sh\n# not JSON at all\n");

	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_FALSE(kept(self->records));
	status = run_task(self->dir, self->records, "[\"" JOB "\"]");
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_FALSE(kept(self->records));
}

/* The user kills their own task (its socket closes): the runner ends
 * gridrun (here one that ignores TERM: KILL after the grace) and itself,
 * rather than go on with the job outside the step. */
TEST_F(runner, the_tasks_death_ends_gridrun)
{
	char fake[128];
	struct gr_slurm_plan plan = { .uid = getuid(), .gid = getgid(), .job_id = JOB, .grace = 1 };
	char *argv[] = { (char *)"true", NULL }, *env[] = { (char *)"A=1", NULL };
	FILE *f;
	int sock, status, i;
	pid_t runner;

	snprintf(fake, sizeof(fake), "%s/gridrun", self->dir);
	f = fopen(fake, "w");
	ASSERT_NE(NULL, f);
	fputs("#!/bin/sh\ntrap '' TERM\nexec sleep 60\n", f);
	ASSERT_EQ(0, fclose(f));
	ASSERT_EQ(0, chmod(fake, 0755));
	plan.gridrun = fake;
	ASSERT_EQ(0, gr_slurm_runner_start(&plan, &sock, &runner));
	ASSERT_EQ(0, gr_slurm_task_send(sock, "/", 1, argv, env));
	usleep(300000);
	ASSERT_EQ(0, waitpid(runner, &status, WNOHANG));   /* gridrun runs */
	close(sock);
	for (i = 0; i < 150 && waitpid(runner, &status, WNOHANG) == 0; i++)
		usleep(100000);
	if (i == 150)
		kill(runner, SIGKILL);
	ASSERT_LT(i, 150) TH_LOG("the runner was still waiting for gridrun 15 s after the task's end");
	EXPECT_GE(i, 40);   /* TERM ignored: KILL only after grace + 5 s */
}

static unsigned said;
static void count_say(const char *line)
{
	(void)line;
	said++;
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		abort();
}

static char *get(const char *dir, const char *name)
{
	_cleanup_free_ char *path = NULL;
	char *text = NULL;

	if (asprintf(&path, "%s/%s", dir, name) < 0 || gr_read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return NULL;
	return text;
}

#define LOST(id) "{\"job_id\": \"" id "\", \"reason\": \"supervisor_lost\", \"exit_code\": null, " \
		 "\"cpu_user_ns\": 5, \"account\": \"acct\", \"pool\": \"p\"}"

TEST_F(runner, the_epilog_keeps_the_jobs_lost_records_only_and_never_over_a_record)
{
	char state[128], copies[160], link[200];
	_cleanup_free_ char *one = NULL, *four = NULL;

	snprintf(state, sizeof(state), "%s/state", self->dir);
	snprintf(copies, sizeof(copies), "%s/records", state);
	ASSERT_EQ(0, mkdir(state, 0755));
	ASSERT_EQ(0, mkdir(copies, 0755));
	put(copies, "slurm-7.0.1.json", LOST("slurm-7.0.1"));
	put(copies, "slurm-7.0.2.json", "{\"job_id\": \"slurm-7.0.2\", \"reason\": \"exited\", \"exit_code\": 0}");
	put(copies, "slurm-8.0.0.json", LOST("slurm-8.0.0"));
	put(copies, "slurm-7.0.3.json", LOST("slurm-7.0.9"));
	put(copies, "slurm-7.0.4.json", LOST("slurm-7.0.4"));
	put(self->records, "slurm-7.0.4.json", "the runner's own\n");
	snprintf(link, sizeof(link), "%s/slurm-7.0.5.json", copies);
	ASSERT_EQ(0, symlink("slurm-7.0.1.json", link));
	said = 0;
	EXPECT_EQ(1u, gr_slurm_keep_lost_records(state, 0, self->records, 7, count_say));
	EXPECT_EQ(0u, said);
	one = get(self->records, "slurm-7.0.1.json");
	ASSERT_NE(NULL, one);
	EXPECT_STREQ("{\"job_id\":\"slurm-7.0.1\",\"reason\":\"supervisor_lost\",\"exit_code\":null,\"cpu_user_ns\":5}", one);
	four = get(self->records, "slurm-7.0.4.json");
	EXPECT_STREQ("the runner's own\n", four);
	for (int i = 0; i < 4; i++) {
		static const char *const not_kept[] = { "slurm-7.0.2.json", "slurm-8.0.0.json", "slurm-7.0.3.json",
							"slurm-7.0.5.json" };
		char path[256];

		snprintf(path, sizeof(path), "%s/%s", self->records, not_kept[i]);
		EXPECT_NE(0, access(path, F_OK)) TH_LOG("%s kept", not_kept[i]);
	}
	/* a copy directory someone else may write proves nothing: one line, none kept */
	snprintf(link, sizeof(link), "%s/slurm-7.0.1.json", self->records);
	ASSERT_EQ(0, unlink(link));
	ASSERT_EQ(0, chmod(copies, 0775));
	EXPECT_EQ(0u, gr_slurm_keep_lost_records(state, 0, self->records, 7, count_say));
	EXPECT_EQ(1u, said);
}

/* One-uid mode: the user's gc's copies in the user's own state directory,
 * the user's regular files only, in a records/ directory of theirs that no
 * one else may write, reached with no symlink on its path. */
TEST_F(runner, the_epilog_keeps_a_users_lost_records_from_their_own_directory_only)
{
	const uid_t user = 4242;
	char state[128], copies[160], path[256], link[200];
	_cleanup_free_ char *one = NULL;

	snprintf(state, sizeof(state), "%s/user-state", self->dir);
	snprintf(copies, sizeof(copies), "%s/records", state);
	ASSERT_EQ(0, mkdir(state, 0755));
	ASSERT_EQ(0, mkdir(copies, 0755));
	put(copies, "slurm-9.0.0.json", LOST("slurm-9.0.0"));
	put(copies, "slurm-9.0.1.json", LOST("slurm-9.0.1"));   /* stays root's: not the user's word */
	snprintf(path, sizeof(path), "%s/slurm-9.0.0.json", copies);
	ASSERT_EQ(0, chown(path, user, user));
	ASSERT_EQ(0, chown(copies, user, user));
	ASSERT_EQ(0, chown(state, user, user));
	said = 0;
	EXPECT_EQ(1u, gr_slurm_keep_lost_records(state, user, self->records, 9, count_say));
	EXPECT_EQ(0u, said);
	one = get(self->records, "slurm-9.0.0.json");
	ASSERT_NE(NULL, one);
	EXPECT_STREQ("{\"job_id\":\"slurm-9.0.0\",\"reason\":\"supervisor_lost\",\"exit_code\":null,\"cpu_user_ns\":5}", one);
	snprintf(path, sizeof(path), "%s/slurm-9.0.1.json", self->records);
	EXPECT_NE(0, access(path, F_OK));
	/* another user's directory: none kept, one line */
	snprintf(path, sizeof(path), "%s/slurm-9.0.0.json", self->records);
	ASSERT_EQ(0, unlink(path));
	EXPECT_EQ(0u, gr_slurm_keep_lost_records(state, 4343, self->records, 9, count_say));
	EXPECT_EQ(1u, said);
	/* a symlink on the path to the user's records (the user's to make): none kept, one line */
	snprintf(link, sizeof(link), "%s/via-link", self->dir);
	ASSERT_EQ(0, symlink(state, link));
	EXPECT_EQ(0u, gr_slurm_keep_lost_records(link, user, self->records, 9, count_say));
	EXPECT_EQ(2u, said);
	EXPECT_NE(0, access(path, F_OK));
	/* a records/ directory others may write: none kept, one line */
	ASSERT_EQ(0, chmod(copies, 0777));
	EXPECT_EQ(0u, gr_slurm_keep_lost_records(state, user, self->records, 9, count_say));
	EXPECT_EQ(3u, said);
	EXPECT_NE(0, access(path, F_OK));
}

TEST_HARNESS_MAIN
