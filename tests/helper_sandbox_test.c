// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * helper_sandbox_test - helper mode's sandbox hand-over (runtime/handover.h,
 * gridrun-helper's lease with UID GID and release with "sandbox"), attacked and used from
 * an unprivileged pilot uid: only the caller's own directory, only to its
 * own lease, only ids inside the range; back, only the lease's ids; the
 * chown way end to end (the idmap way is helper_test's run); and
 * gridrun-condor run by a slot user with an account in a pool: helper mode
 * end to end, the scratch dir handed to the leased range.
 *
 * Each test runs in a small world (tests/lib/gt-world.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"
#include "gt-helper.h"
#include "starter.h"

/* The same with sandbox_handover = chown: the sandbox is the range's while
 * the job runs, the pilot's again after it. */
static void run_with_chown(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *state = pilot_env(w), *spec, *sbx;
	char *argv[] = { (char *)gt_gridrun(), "run", NULL, NULL };
	struct gt_result res = { 0 };
	struct stat st;

	spec = pilot_spec(w, "c1", "stat -c %u:%g $SBX; mkdir $SBX/d; touch $SBX/d/f; "
			  "cp /bin/true $SBX/t; chmod 4755 $SBX/t 2>/dev/null || true");
	argv[2] = spec;
	ASSERT_LE(0, asprintf(&sbx, "%s/execute/c1", w->dir));
	free(gt_write(sbx, "input", "x\n"));
	ASSERT_EQ(0, chown(gt_f("%s/input", sbx), PILOT, PILOT));
	setenv("GRIDRUN_DEBUG", "1", 1);
	gt_run_argv(argv, PILOT, &res);
	unsetenv("GRIDRUN_DEBUG");
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ("0:0\n", res.out);
	/* sbx and input there, sbx input d f t back */
	EXPECT_NE(NULL, strstr(res.err, "sandbox hand-over chown, 7 entries")) TH_LOG("%s", res.err);
	for (int i = 0; i < 5; i++) {
		static const char *const names[] = { ".", "input", "d", "d/f", "t" };

		ASSERT_EQ(0, lstat(gt_f("%s/%s", sbx, names[i]), &st));
		EXPECT_EQ(PILOT, st.st_uid) TH_LOG("%s", names[i]);
		EXPECT_EQ(PILOT, st.st_gid) TH_LOG("%s", names[i]);
	}
	/* nothing the job made runs as the pilot */
	ASSERT_EQ(0, stat(gt_f("%s/t", sbx), &st));
	EXPECT_EQ(0, st.st_mode & (S_ISUID | S_ISGID));
	gt_result_free(&res);
	free(sbx);
	free(spec);
	free(state);
}

TEST(helper_mode_sandbox_handover_by_chown_and_back)
{
	in_world_env(_metadata, 2, run_with_chown, "GT_WORLD_HANDOVER", "chown");
}

/*
 * S20 (b) in helper mode: the pilot's supervisor is SIGKILLed while the job
 * runs (chown hand-over: the sandbox is the range's; idmap: it stays the
 * pilot's). The pilot's own `gridrun gc` (gridrun-helper gc) reclaims the
 * dead holder's lease, kills the job and finishes the walk back the lease
 * recorded: the pilot has its sandbox back, without set-id bits, and the
 * range, which no task holds any more, is leased again at once.
 */
static void crash_mid_job(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *state = pilot_env(w), *spec, *next, *sbx, *ready;
	char *gc[] = { (char *)gt_gridrun(), "gc", NULL }, *run[] = { (char *)gt_gridrun(), "run", NULL, NULL };
	struct gt_result res = { 0 };
	struct stat st;
	bool idmap;
	pid_t sup;

	spec = pilot_spec(w, "k1", "mkdir $SBX/d; touch $SBX/d/f; cp /bin/true $SBX/t; "
			  "chmod 4755 $SBX/t 2>/dev/null; touch $SBX/ready; while :; do sleep 1; done");
	ASSERT_LE(0, asprintf(&sbx, "%s/execute/k1", w->dir));
	ASSERT_LE(0, asprintf(&ready, "%s/ready", sbx));
	idmap = gt_idmap_expected(sbx) && !getenv("GT_WORLD_HANDOVER");
	sup = gt_start_spec(spec, PILOT);
	ASSERT_TRUE(gt_wait_file(ready, 20000));
	ASSERT_EQ(0, stat(gt_f("%s/d/f", sbx), &st));
	EXPECT_EQ(idmap ? PILOT : FIRST, st.st_uid);
	ASSERT_EQ(0, kill(sup, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, gt_wait(sup, 20000));
	gt_run_argv(gc, PILOT, &res);
	EXPECT_EQ(0, res.status) TH_LOG("%s", res.err);
	EXPECT_NE(NULL, strstr(res.out, "reclaimed 1 lease(s) of dead holders, ended 1 quarantine(s)"))
		TH_LOG("%s", res.out);
	gt_result_free(&res);
	for (int i = 0; i < 5; i++) {
		static const char *const names[] = { ".", "d", "d/f", "t", "ready" };

		ASSERT_EQ(0, lstat(gt_f("%s/%s", sbx, names[i]), &st));
		EXPECT_EQ(PILOT, st.st_uid) TH_LOG("%s", names[i]);
		EXPECT_EQ(PILOT, st.st_gid) TH_LOG("%s", names[i]);
	}
	ASSERT_EQ(0, stat(gt_f("%s/t", sbx), &st));
	EXPECT_EQ(0, st.st_mode & (S_ISUID | S_ISGID));
	/* no task holds the range any more: that gc ended its quarantine too */
	next = pilot_spec(w, "k2", "true");
	run[2] = next;
	gt_run_argv(run, PILOT, &res);
	EXPECT_EQ(0, res.status) TH_LOG("%s", res.err);
	gt_result_free(&res);
	free(next);
	free(ready);
	free(sbx);
	free(spec);
	free(state);
}

/* the harness's plain TEST has a fixed 30 s timeout */
FIXTURE(crash) {};
FIXTURE_SETUP(crash) {}
FIXTURE_TEARDOWN(crash) {}

TEST_F_TIMEOUT(crash, S20_helper_gc_after_a_sigkilled_supervisor_gives_the_chown_sandbox_back, 120)
{
	in_world_env(_metadata, 1, crash_mid_job, "GT_WORLD_HANDOVER", "chown");
}

TEST_F_TIMEOUT(crash, S20_helper_gc_after_a_sigkilled_supervisor_gives_the_idmapped_sandbox_back, 120)
{
	in_world(_metadata, 1, crash_mid_job);
}

/* lease with the sandbox and release with it, asked directly: only the
 * caller's own directory (checked before anything is leased), only its own
 * lease, only ids inside the range (else the lease goes again); back: only
 * the range's ids. */
static void sandbox_requests(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *mine, *mine2, *theirs, *file;
	int status;
	pid_t pid;

	ASSERT_LE(0, asprintf(&mine, "%s/execute/s1", w->dir));
	ASSERT_LE(0, asprintf(&mine2, "%s/execute/s1-2", w->dir));
	ASSERT_LE(0, asprintf(&theirs, "%s/execute/s2", w->dir));
	gt_mkdirs(mine, 0700, PILOT, PILOT);
	gt_mkdirs(mine2, 0700, PILOT, PILOT);
	gt_mkdirs(theirs, 0700, OTHER, OTHER);
	file = gt_write(mine, "f", "x\n");
	ASSERT_EQ(0, chown(file, PILOT, PILOT));
	pid = fork();
	if (pid == 0) {
		int dfd, d2fd, ffd, tfd;
		struct hres r;
		const char *ok[] = { "lease", "atlas", "s1", "0", "0", NULL };

		dfd = open(mine, O_PATH | O_DIRECTORY);
		d2fd = open(mine2, O_PATH | O_DIRECTORY);
		ffd = open(file, O_PATH);
		tfd = open(theirs, O_PATH | O_DIRECTORY);
		become(PILOT);
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: fd 3: no sandbox directory\n", "lease", "atlas", "s0", "0", "0");
		EXPECT_HELPER(w, ffd, 64, "gridrun-helper: fd 3: no sandbox directory\n", "lease", "atlas", "s0", "0", "0");
		EXPECT_HELPER(w, tfd, 77, "gridrun-helper: the sandbox (fd 3) is owned by uid 23457, not by the caller\n",
			      "lease", "atlas", "s0", "0", "0");
		EXPECT_HELPER(w, dfd, 64, "gridrun-helper: GID: `-1` is not an id inside the range\n",
			      "lease", "atlas", "s0", "0", "-1");
		EXPECT_HELPER(w, dfd, 64, "gridrun-helper: lease takes 2 or 4 arguments, not 3 (usage: gridrun-helper "
			      "lease POOL JOB_ID [UID GID] | map POOL INDEX PID | "
			      "lease-map POOL JOB_ID PID [UID GID] | release POOL INDEX [sandbox] | "
			      "gc POOL | lsm-add POOL INDEX PID | lsm-del POOL INDEX)\n",
			      "lease", "atlas", "s0", "0");
		/* none of them leased: the real one gets range 0; idmap where
		 * the filesystem allows it, else chown */
		helper(w, ok, dfd, &r);
		EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
		EXPECT_STREQ(gt_f("0 %u 65536 %s\n", FIRST, gt_idmap_expected(mine) ? "idmap" : "chown 2 0"), r.out);
		EXPECT_STREQ("", r.err);
		/* ids outside the range: known only once leased (range 1), which
		 * goes again at once (another directory of the pilot's: after a
		 * chown above, the first one is range 0's) */
		EXPECT_HELPER(w, d2fd, 64, gt_f("gridrun-helper: sandbox: sandbox hand-over: ids 65536:0 are outside "
					       "the range %u+65536\n", FIRST + 65536), "lease", "atlas", "s2", "65536", "0");
		EXPECT_HELPER(w, -1, 77, "gridrun-helper: pool atlas: range 1 is not leased\n", "release", "atlas", "1");
		/* release's walk back takes only the literal word */
		EXPECT_HELPER(w, dfd, 64, "gridrun-helper: release: `frob` is not `sandbox`\n",
			      "release", "atlas", "0", "frob");
		EXPECT_HELPER(w, tfd, 77, "gridrun-helper: the sandbox (fd 3) is owned by uid 23457, not by the caller\n",
			      "release", "atlas", "0", "sandbox");
		_exit(_metadata->passed ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* release with the sandbox: the range's ids become the pilot's, another
	 * range's stay (after a chown above, the directory is the pilot's again first) */
	ASSERT_EQ(0, chown(mine, PILOT, PILOT));
	ASSERT_EQ(0, chown(file, PILOT, PILOT));
	free(gt_write(mine, "job", "x\n"));
	ASSERT_EQ(0, chown(gt_f("%s/job", mine), FIRST + 2 * 65536 + 5, FIRST + 2 * 65536 + 5));
	free(gt_write(mine, "next", "x\n"));
	ASSERT_EQ(0, chown(gt_f("%s/next", mine), FIRST + 3 * 65536 + 5, FIRST + 3 * 65536 + 5));
	pid = fork();
	if (pid == 0) {
		const char *lease[] = { "lease", "atlas", "s1b", NULL };
		char idx[16];
		unsigned index = 9, first = 0;
		struct hres r;
		int dfd = open(mine, O_PATH | O_DIRECTORY);
		struct stat st;

		become(PILOT);
		/* ranges 0 and 1 are in quarantine (600 s): this one is 2 */
		helper(w, lease, -1, &r);
		ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
		ASSERT_EQ(2, sscanf(r.out, "%u %u", &index, &first));
		ASSERT_EQ(2, index);
		snprintf(idx, sizeof(idx), "%u", index);
		helper(w, (const char *[]){ "release", "atlas", idx, "sandbox", NULL }, dfd, &r);
		EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
		EXPECT_STREQ("walked 1\n", r.out);
		/* the file of this lease's range is the pilot's, the other range's is not */
		ASSERT_EQ(0, stat(gt_f("%s/job", mine), &st));
		EXPECT_EQ(PILOT, st.st_uid);
		EXPECT_EQ(PILOT, st.st_gid);
		ASSERT_EQ(0, stat(gt_f("%s/next", mine), &st));
		EXPECT_EQ(FIRST + 3 * 65536 + 5, st.st_uid);
		/* and the lease went with it */
		EXPECT_HELPER(w, -1, 77, "gridrun-helper: pool atlas: range 2 is not leased\n", "release", "atlas", idx);
		_exit(_metadata->passed ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	free(file);
	free(mine2);
	free(mine);
	free(theirs);
}

TEST(S18_sandbox_handover_only_of_the_callers_own_directory_to_its_own_lease)
{
	in_world(_metadata, 4, sandbox_requests);
}

/*
 * S18/S19: a pilot with a supplementary group (cms001's, 23457): its job
 * has none (the one "allow" of helper mode is for this drop) and cannot
 * read a file that only that group may read; it cannot set groups itself.
 */
static void no_pilot_groups(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *state = pilot_env(w), *spec, *secret;
	char *argv[] = { (char *)gt_gridrun(), "run", NULL, NULL };
	struct gt_result res = { 0 };
	struct statfs etc;

	/* outside /tmp (private in the job), in the read-only root the job
	 * sees: the world's own /etc, a tmpfs (gt-world.h), reachable by the
	 * pilot wherever the build directory is (a 0700 clone's is not) */
	ASSERT_EQ(0, statfs("/etc", &etc));
	ASSERT_EQ(TMPFS_MAGIC, etc.f_type);
	ASSERT_LE(0, asprintf(&secret, "/etc/group-secret.%d", (int)getpid()));
	free(gt_write("/etc", gt_f("group-secret.%d", (int)getpid()), "s\n"));
	ASSERT_EQ(0, chown(secret, 0, OTHER));
	ASSERT_EQ(0, chmod(secret, 0640));
	spec = pilot_spec(w, "g1", gt_f("cat /proc/self/setgroups; grep '^Groups:' /proc/self/status | tr -d ' \\t'; "
					 "cat %s 2>/dev/null || echo no-read", secret));
	argv[2] = spec;
	/* the pilot itself can read it */
	setenv("GT_SUPPLEMENTARY_GID", gt_f("%d", OTHER), 1);
	gt_run_argv((char *[]){ "/bin/cat", secret, NULL }, PILOT, &res);
	EXPECT_STREQ("s\n", res.out);
	gt_result_free(&res);
	gt_run_argv(argv, PILOT, &res);
	unsetenv("GT_SUPPLEMENTARY_GID");
	unlink(secret);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ("allow\nGroups:\nno-read\n", res.out);
	gt_result_free(&res);
	free(secret);
	free(spec);
	free(state);
}

TEST(S18_helper_mode_job_holds_none_of_the_pilots_groups)
{
	in_world(_metadata, 2, no_pilot_groups);
}

/*
 * V6 in helper mode, idmapped sandbox: what the job stores is stored as the
 * pilot's, so a set-id bit would make a setuid-pilot binary. chmod 6755 of
 * a dash copy and mkdir of a setgid directory are refused (the seccomp
 * guard), and nothing set-id is on the host afterwards.
 */
static void no_setid_left(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *state = pilot_env(w), *spec, *sbx;
	char *argv[] = { (char *)gt_gridrun(), "run", NULL, NULL };
	struct gt_result res = { 0 };
	struct stat st;

	spec = pilot_spec(w, "v6", "cp /bin/dash $SBX/tool; chmod 6755 $SBX/tool 2>/dev/null || echo chmod-refused; "
			  "mkdir -m 2755 $SBX/gdir 2>/dev/null || echo mkdir-refused");
	ASSERT_LE(0, asprintf(&sbx, "%s/execute/v6", w->dir));
	argv[2] = spec;
	gt_run_argv(argv, PILOT, &res);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_NE(NULL, strstr(res.out, "chmod-refused\n")) TH_LOG("out: %s", res.out);
	EXPECT_NE(NULL, strstr(res.out, "mkdir-refused\n")) TH_LOG("out: %s", res.out);
	ASSERT_EQ(0, lstat(gt_f("%s/tool", sbx), &st));
	EXPECT_EQ(PILOT, st.st_uid);
	EXPECT_EQ(0, st.st_mode & (S_ISUID | S_ISGID));
	if (lstat(gt_f("%s/gdir", sbx), &st) == 0)
		EXPECT_EQ(0, st.st_mode & S_ISGID);
	gt_result_free(&res);
	free(sbx);
	free(spec);
	free(state);
}

TEST(V6_helper_mode_idmapped_sandbox_keeps_no_setid_file)
{
	in_world(_metadata, 2, no_setid_left);
}

/*
 * A sandbox whose group is not the pilot's primary group (a group the
 * pilot is in, setgid so that what is made there stays that group's): the
 * job writes its sandbox, and what it made is the pilot's afterwards.
 */
static void sandbox_of_another_group(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *state = pilot_env(w), *spec, *sbx;
	char *argv[] = { (char *)gt_gridrun(), "run", NULL, NULL };
	struct gt_result res = { 0 };
	struct stat st;

	spec = pilot_spec(w, "og", "touch $SBX/f && mkdir $SBX/d && echo wrote");
	ASSERT_LE(0, asprintf(&sbx, "%s/execute/og", w->dir));
	ASSERT_EQ(0, chown(sbx, PILOT, OTHER));
	ASSERT_EQ(0, chmod(sbx, 02770));
	argv[2] = spec;
	setenv("GT_SUPPLEMENTARY_GID", gt_f("%d", OTHER), 1);
	gt_run_argv(argv, PILOT, &res);
	unsetenv("GT_SUPPLEMENTARY_GID");
	if (getenv("GT_WORLD_HANDOVER") && !strcmp(getenv("GT_WORLD_HANDOVER"), "idmap")) {
		/* an idmap can map one group: refused before the job, in one line */
		EXPECT_EQ(125, res.status);
		EXPECT_STREQ("", res.out);
		EXPECT_NE(NULL, strstr(res.err, "is not the account's primary group")) TH_LOG("%s", res.err);
		EXPECT_EQ(NULL, strchr(res.err, '\n') ? strchr(strchr(res.err, '\n') + 1, '\n') : "no line")
			TH_LOG("%s", res.err);
		EXPECT_NE(0, lstat(gt_f("%s/f", sbx), &st));
		goto out;
	}
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ("wrote\n", res.out);
	ASSERT_EQ(0, lstat(gt_f("%s/f", sbx), &st));
	EXPECT_EQ(PILOT, st.st_uid);
	EXPECT_EQ(OTHER, st.st_gid);
out:
	gt_result_free(&res);
	free(sbx);
	free(spec);
	free(state);
}

TEST(V6_sandbox_of_another_group_than_the_pilots_is_writable_auto)
{
	in_world(_metadata, 2, sandbox_of_another_group);
}

TEST(V6_sandbox_of_another_group_than_the_pilots_is_refused_by_idmap)
{
	in_world_env(_metadata, 2, sandbox_of_another_group, "GT_WORLD_HANDOVER", "idmap");
}

TEST(V6_sandbox_of_another_group_than_the_pilots_is_writable_chown)
{
	in_world_env(_metadata, 2, sandbox_of_another_group, "GT_WORLD_HANDOVER", "chown");
}

/*
 * gridrun-condor run by the starter as a slot user that is an account of a
 * pool (atlas001): helper mode end to end. The job runs as its lease's uid
 * 0, owns its scratch dir (handed over), what it makes there is the slot
 * user's after it, and the usage says so.
 */
static void condor_in_helper_mode(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *state = pilot_env(w), *env[6], *out, *v, *made;
	/* and condor_chirp from the job reaches the starter (gr-probe speaks it) */
	char *argv[] = { "/bin/sh", "-c", "id -u; stat -c %u:%g \"$_CONDOR_SCRATCH_DIR\"; "
			 "echo made > \"$_CONDOR_SCRATCH_DIR/made\"; tr -s ' ' < /proc/self/uid_map; "
			 "\"$_CONDOR_SCRATCH_DIR/gr-probe\" chirp ChirpJobProgress '\"from-the-job\"'",
			 "job", NULL };
	struct st_chirp_update u;
	struct st_starter st;
	struct st_exit ex = { 0 };
	struct stat sb;

	env[0] = "PATH=/usr/bin:/bin";
	ASSERT_LE(0, asprintf(&env[1], "GRIDRUN_HELPER=%s", w->helper));
	ASSERT_LE(0, asprintf(&env[2], "GRIDRUN_STATE_DIR=%s", state));
	env[3] = "GRIDRUN_CONDOR_CHIRP_INTERVAL=0.3";
	env[4] = "GRIDRUN_DEBUG=1";
	env[5] = NULL;
	st_setup(&st, w->dir, "slot1_1", PILOT, 512, NULL, ST_CHIRP_OK);
	/* where HTCondor puts a transferred executable */
	ASSERT_EQ(0, system(gt_f("cp '%s' '%s/gr-probe' && chown %u:%u '%s/gr-probe'", gt_probe(), st.scratch,
				 PILOT, PILOT, st.scratch)));
	st_start(&st, argv, env);
	ASSERT_TRUE(st_wait(&st, 120000, &ex));
	EXPECT_FALSE(ex.wrapper_failed) TH_LOG("%s; stderr: %s", ex.failure, gt_read(st.err));
	EXPECT_FALSE(ex.by_signal);
	EXPECT_EQ(0, ex.code) TH_LOG("out: %s err: %s", gt_read(st.out), gt_read(st.err));
	out = gt_read(st.out);
	ASSERT_NE(NULL, out);
	EXPECT_EQ(0, strncmp(gt_f("0\n0:0\n 0 %u 65536\n", FIRST), out, strlen(gt_f("0\n0:0\n 0 %u 65536\n", FIRST)))) TH_LOG("stderr: %s", gt_read(st.err));
	EXPECT_NE(NULL, strstr(gt_read(st.err), gt_idmap_expected(st.scratch) ? "sandbox hand-over idmap"
									     : "sandbox hand-over chown"))
		TH_LOG("%s", gt_read(st.err));
	ASSERT_TRUE(st_chirp(&st, "ChirpJobProgress", &u));
	EXPECT_STREQ("\"from-the-job\"", u.value);
	ASSERT_TRUE(st_chirp(&st, "ChirpGridrunIsolation", &u));
	EXPECT_STREQ("\"helper\"", u.value);
	ASSERT_TRUE(st_chirp(&st, "ChirpGridrunUidRange", &u));
	EXPECT_STREQ(gt_f("\"%u-%u\"", FIRST, FIRST + 65535), u.value);
	ASSERT_LE(0, asprintf(&made, "%s/made", st.scratch));
	ASSERT_EQ(0, stat(made, &sb));
	EXPECT_EQ(PILOT, sb.st_uid);
	EXPECT_EQ(PILOT, sb.st_gid);
	ASSERT_EQ(0, stat(st.scratch, &sb));
	EXPECT_EQ(PILOT, sb.st_uid);
	EXPECT_EQ(0, st_teardown(&st)) TH_LOG("cgroup dirs left behind");
	st_exit_free(&ex);
	v = out;
	free(v);
	free(made);
	free(env[1]);
	free(env[2]);
	free(state);
}

TEST(condor_slot_user_of_a_pool_runs_in_helper_mode_with_its_scratch_dir_handed_over)
{
	in_world(_metadata, 2, condor_in_helper_mode);
}

TEST_HARNESS_MAIN
