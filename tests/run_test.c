/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run_test - `gridrun run SPEC` end to end: exit status, identity, the mount
 * tree, the process environment and the accounting record, as root and as
 * an unprivileged user. Each test runs the real binary on a real spec.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"

#define UNPRIV_UID 23456

FIXTURE(job) {
	char *dir;
	char *state;
	struct gt_result res;
};

FIXTURE_SETUP(job)
{
	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
	memset(&self->res, 0, sizeof(self->res));
}

FIXTURE_TEARDOWN(job)
{
	gt_result_free(&self->res);
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->state);
}

/* Run /bin/sh -c SCRIPT in a default job. */
static void run_sh(struct _test_data_job *self, const char *script, const char *extra,
		   const char *gr_extra)
{
	json_t *args = json_pack("[sss]", "/bin/sh", "-c", script);
	char *a = json_dumps(args, JSON_COMPACT);
	char *spec = gt_spec(self->dir, a, extra, gr_extra);

	gt_result_free(&self->res);
	gt_run_spec(spec, &self->res);
	free(spec);
	free(a);
	json_decref(args);
}

TEST_F(job, exit_code_passes_through)
{
	run_sh(self, "exit 7", NULL, NULL);
	ASSERT_EQ(7, self->res.status) TH_LOG("stderr: %s", self->res.err);
	run_sh(self, "exit 0", NULL, NULL);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
}

TEST_F(job, killed_by_signal_is_128_plus_n)
{
	run_sh(self, "kill -KILL $$", NULL, NULL);
	ASSERT_EQ(128 + 9, self->res.status);
	run_sh(self, "kill -SEGV $$", NULL, NULL);
	ASSERT_EQ(128 + 11, self->res.status);
}

TEST_F(job, not_found_is_127_and_not_executable_126)
{
	char *spec = gt_spec(self->dir, "[\"/no/such/program\"]", NULL, NULL);

	gt_run_spec(spec, &self->res);
	EXPECT_EQ(127, self->res.status);
	EXPECT_STREQ("gridrun: exec `/no/such/program`: No such file or directory\n", self->res.err);
	free(spec);
	gt_result_free(&self->res);
	spec = gt_spec(self->dir, "[\"no-such-program-on-path\"]", NULL, NULL);
	gt_run_spec(spec, &self->res);
	EXPECT_EQ(127, self->res.status);
	free(spec);
	gt_result_free(&self->res);
	/* exists, not executable */
	spec = gt_spec(self->dir, "[\"/etc/passwd\"]", NULL, NULL);
	gt_run_spec(spec, &self->res);
	EXPECT_EQ(126, self->res.status);
	EXPECT_STREQ("gridrun: exec `/etc/passwd`: Permission denied\n", self->res.err);
	free(spec);
}

TEST_F(job, path_is_searched_in_the_jobs_env)
{
	run_sh(self, "exec true", NULL, NULL);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	gt_result_free(&self->res);
	{
		char *spec = gt_spec(self->dir, "[\"echo\", \"found\"]", NULL, NULL);

		gt_run_spec(spec, &self->res);
		free(spec);
	}
	ASSERT_EQ(0, self->res.status);
	ASSERT_STREQ("found\n", self->res.out);
}

TEST_F(job, root_mode_maps_the_job_to_nobody_never_root)
{
	run_sh(self, "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '", NULL, NULL);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_STREQ("0\n0\n 0 65534 1\n 0 65534 1\n", self->res.out);
}

TEST_F(job, process_user_sets_the_inner_ids)
{
	{
		char *spec = gt_write(self->dir, "user.json",
			"{\"process\": {\"args\": [\"/bin/sh\", \"-c\", \"id -u; id -g; id -G\"],"
			" \"env\": [\"PATH=/usr/bin:/bin\"], \"user\": {\"uid\": 1000, \"gid\": 1001}}}");

		gt_result_free(&self->res);
		gt_run_spec(spec, &self->res);
		free(spec);
	}
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	/* root's supplementary groups were dropped: only the one mapped gid */
	ASSERT_STREQ("1000\n1001\n1001\n", self->res.out);
}

TEST_F(job, pid_1_is_gridruns_init_and_the_job_sees_only_itself)
{
	run_sh(self, "echo $$; cat /proc/1/comm; ls /proc | grep -c '^[0-9]'", NULL, NULL);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	/* sh (2), init (1), and the ls and grep of the pipeline */
	ASSERT_EQ(0, strncmp(self->res.out, "2\ngridrun\n", 10)) TH_LOG("out: %s", self->res.out);
	ASSERT_GE(4, atoi(self->res.out + 10));
}

TEST_F(job, tmp_var_tmp_dev_shm_and_run_are_private)
{
	char *host = gt_write("/tmp", "gridrun-test-host-file", "host\n");

	run_sh(self, "ls -A /tmp /var/tmp /dev/shm; ls -A /run; echo mine > /tmp/gridrun-test-job-file && echo wrote",
	       NULL, NULL);
	unlink(host);
	free(host);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_STREQ("/dev/shm:\n\n/tmp:\n\n/var/tmp:\ngr-probe\nwrote\n", self->res.out);
	ASSERT_NE(0, access("/tmp/gridrun-test-job-file", F_OK));
}

TEST_F(job, root_is_read_only)
{
	run_sh(self, "touch /etc/gridrun-ro 2>&1; touch /usr/gridrun-ro 2>&1; "
		     "awk '$5 == \"/\" { print $6 }' /proc/self/mountinfo | cut -d, -f1", NULL, NULL);
	ASSERT_EQ(0, self->res.status);
	ASSERT_NE(NULL, strstr(self->res.out, "touch: cannot touch '/etc/gridrun-ro': Read-only file system\n"));
	ASSERT_NE(NULL, strstr(self->res.out, "touch: cannot touch '/usr/gridrun-ro': Read-only file system\n"));
	ASSERT_NE(NULL, strstr(self->res.out, "\nro\n")) TH_LOG("out: %s", self->res.out);
	ASSERT_NE(0, access("/etc/gridrun-ro", F_OK));
}

TEST_F(job, sandbox_is_writable_and_sibling_sandboxes_are_invisible)
{
	char *sbx, *sib, *script, *gr, *res;

	ASSERT_LE(0, asprintf(&sbx, "%s/execute/dir_1", self->dir));
	ASSERT_LE(0, asprintf(&sib, "%s/execute/dir_2", self->dir));
	gt_mkdirs(sbx, 0700, 65534, 65534);
	gt_mkdirs(sib, 0755, -1, -1);
	free(gt_write(sib, "x509up_u1000", "proxy\n"));
	ASSERT_LE(0, asprintf(&script, "ls -A %s/execute; echo out > %s/result; cat %s/x509up_u1000 2>&1; pwd",
			      self->dir, sbx, sib));
	ASSERT_LE(0, asprintf(&gr, "\"sandbox\": \"%s\"", sbx));
	run_sh(self, script, NULL, gr);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_EQ(0, strncmp(self->res.out, "dir_1\ncat: ", 11)) TH_LOG("out: %s", self->res.out);
	ASSERT_NE(NULL, strstr(self->res.out, "No such file or directory\n/\n"));
	res = gt_read(strcat(strcpy(malloc(strlen(sbx) + 8), sbx), "/result"));
	ASSERT_NE(NULL, res);
	ASSERT_STREQ("out\n", res);
	free(res);
	free(sbx);
	free(sib);
	free(script);
	free(gr);
}

TEST_F(job, hostname_env_cwd_and_rlimits_are_exactly_as_given)
{
	char *spec = gt_write(self->dir, "env.json",
		"{\"process\": {\"args\": [\"/bin/sh\", \"-c\", \"cat /proc/sys/kernel/hostname; pwd; ulimit -n; ulimit -Hn; env | sort\"],"
		" \"env\": [\"PATH=/usr/bin:/bin\", \"A=1\", \"B=two words\"], \"cwd\": \"/usr/share\","
		" \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": 100, \"hard\": 200}]},"
		" \"hostname\": \"job-42\"}");

	gt_run_spec(spec, &self->res);
	free(spec);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	/* sh adds PWD to what env prints; nothing else may appear */
	ASSERT_STREQ("job-42\n/usr/share\n100\n200\nA=1\nB=two words\nPATH=/usr/bin:/bin\nPWD=/usr/share\n",
		     self->res.out);
}

TEST_F(job, stdio_passes_through_unchanged)
{
	run_sh(self, "readlink /proc/self/fd/1 /proc/self/fd/2 | cut -d: -f1; echo to-stderr >&2", NULL, NULL);
	ASSERT_EQ(0, self->res.status);
	ASSERT_STREQ("pipe\npipe\n", self->res.out);
	ASSERT_STREQ("to-stderr\n", self->res.err);
}

TEST_F(job, network_none_has_only_loopback_and_it_is_up)
{
	run_sh(self, "ip -o link show | cut -d: -f2; ip -o link show lo | grep -c ',UP,'",
	       NULL, "\"network\": \"none\"");
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_STREQ(" lo\n1\n", self->res.out);
}

TEST_F(job, proc_is_fresh_with_masked_and_read_only_paths)
{
	run_sh(self, "cat /proc/timer_list /proc/keys | wc -c; ls -A /proc/acpi /sys/firmware | grep -c '^[^/]'; "
		     "awk '$5 ~ /^\\/(proc\\/(keys|timer_list|acpi)|sys\\/firmware)$/' /proc/self/mountinfo | wc -l; "
		     "(echo x > /proc/sys/kernel/hostname) 2>/dev/null || echo ro-sys; "
		     "echo h 2>/dev/null > /proc/sysrq-trigger || echo ro-sysrq", NULL, NULL);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_STREQ("0\n0\n4\nro-sys\nro-sysrq\n", self->res.out);
}

TEST_F(job, dev_is_minimal_and_read_only)
{
	run_sh(self, "ls -A /dev | tr '\\n' ' '; echo; echo x > /dev/null && echo null-ok; "
		     "touch /dev/new 2>/dev/null || echo dev-ro; test -c /dev/pts/ptmx && echo pts-ok; "
		     "touch /sys/x 2>/dev/null || echo sys-ro",
	       NULL, NULL);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_STREQ("core fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero \n"
		     "null-ok\ndev-ro\npts-ok\nsys-ro\n", self->res.out);
}

TEST_F(job, accounting_record_has_every_key)
{
	static const char *const keys[] = {
		"job_id", "reason", "exit_code", "signal", "oom_killed", "wall_ns", "cpu_user_ns",
		"cpu_system_ns", "rusage_user_ns", "rusage_system_ns", "memory_peak_bytes",
		"pids_peak", "io_read_bytes", "io_write_bytes", "killed_at_end", "started_at",
		"ended_at", "cgroup_version", "isolation", "uid_range", "lsm_denials",
	};
	char *gr, *path;
	json_t *rec;

	ASSERT_LE(0, asprintf(&path, "%s/record.json", self->dir));
	ASSERT_LE(0, asprintf(&gr, "\"job_id\": \"1234.0\", \"accounting\": \"%s\"", path));
	run_sh(self, "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 3", NULL, gr);
	ASSERT_EQ(3, self->res.status);
	rec = json_load_file(path, 0, NULL);
	ASSERT_NE(NULL, rec);
	ASSERT_EQ(ARRAY_SIZE(keys), json_object_size(rec));
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *key = keys[i];

		ASSERT_NE(NULL, json_object_get(rec, key)) TH_LOG("missing %s", key);
	}
	EXPECT_STREQ("1234.0", json_string_value(json_object_get(rec, "job_id")));
	EXPECT_STREQ("exited", json_string_value(json_object_get(rec, "reason")));
	EXPECT_EQ(3, json_integer_value(json_object_get(rec, "exit_code")));
	EXPECT_TRUE(json_is_null(json_object_get(rec, "signal")));
	EXPECT_TRUE(json_is_false(json_object_get(rec, "oom_killed")));
	EXPECT_LT(0, json_integer_value(json_object_get(rec, "wall_ns")));
	EXPECT_LT(0, json_integer_value(json_object_get(rec, "rusage_user_ns")) +
		     json_integer_value(json_object_get(rec, "rusage_system_ns")));
	EXPECT_EQ(0, json_integer_value(json_object_get(rec, "killed_at_end")));
	EXPECT_STREQ("root", json_string_value(json_object_get(rec, "isolation")));
	EXPECT_EQ(65534, json_integer_value(json_object_get(json_object_get(rec, "uid_range"), "first")));
	EXPECT_EQ(1, json_integer_value(json_object_get(json_object_get(rec, "uid_range"), "count")));
	EXPECT_EQ(24, strlen(json_string_value(json_object_get(rec, "started_at"))));
	json_decref(rec);

	run_sh(self, "kill -TERM $$", NULL, gr);
	ASSERT_EQ(128 + 15, self->res.status);
	rec = json_load_file(path, 0, NULL);
	ASSERT_NE(NULL, rec);
	EXPECT_STREQ("signaled", json_string_value(json_object_get(rec, "reason")));
	EXPECT_EQ(15, json_integer_value(json_object_get(rec, "signal")));
	EXPECT_TRUE(json_is_null(json_object_get(rec, "exit_code")));
	json_decref(rec);
	free(gr);
	free(path);
}

TEST_F(job, setup_error_is_recorded)
{
	char *path, *spec;
	json_t *rec;

	ASSERT_LE(0, asprintf(&path, "%s/record.json", self->dir));
	spec = gt_write(self->dir, "nf.json",
			"{\"process\": {\"args\": [\"/no/such\"]}, \"gridrun\": {\"accounting\": \"%s\"}}", path);
	gt_run_spec(spec, &self->res);
	ASSERT_EQ(127, self->res.status);
	rec = json_load_file(path, 0, NULL);
	ASSERT_NE(NULL, rec);
	EXPECT_STREQ("setup_error", json_string_value(json_object_get(rec, "reason")));
	EXPECT_EQ(127, json_integer_value(json_object_get(rec, "exit_code")));
	json_decref(rec);
	free(path);
	free(spec);
}

TEST_F(job, bad_spec_is_one_line_exit_125_and_leaves_nothing)
{
	char *spec = gt_write(self->dir, "bad.json",
			      "{\n  \"process\": {\n    \"args\": []\n  }\n}\n");
	char *want;

	gt_run_spec(spec, &self->res);
	ASSERT_EQ(125, self->res.status);
	ASSERT_LE(0, asprintf(&want, "%s:3:13: process.args: expected a non-empty array of strings\n", spec));
	ASSERT_STREQ(want, self->res.err);
	ASSERT_STREQ("", self->res.out);
	/* nothing created: not even the state directory */
	ASSERT_EQ(-1, gt_count_dir(self->state));
	free(want);
	free(spec);
}

TEST_F(job, gridrun_spec_without_run_works)
{
	char *spec = gt_spec(self->dir, "[\"/bin/sh\", \"-c\", \"exit 5\"]", NULL, NULL);
	char *argv[] = { (char *)gt_gridrun(), spec, NULL };

	gt_run_argv(argv, -1, &self->res);
	ASSERT_EQ(5, self->res.status) TH_LOG("stderr: %s", self->res.err);
	free(spec);
}

/* The record replaces its path with rename(): never a device (or a link). */
TEST_F(job, an_accounting_path_that_is_not_a_regular_file_is_refused_before_the_job)
{
	struct stat st;

	run_sh(self, "echo the-job-ran", NULL, "\"accounting\": \"/dev/null\"");
	EXPECT_EQ(125, self->res.status);
	EXPECT_STREQ("", self->res.out);
	EXPECT_NE(NULL, strstr(self->res.err, ": gridrun.accounting: `/dev/null` exists and is not a regular file"))
		TH_LOG("%s", self->res.err);
	ASSERT_EQ(0, stat("/dev/null", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_TRUE(gt_count_dir(self->state) <= 0);   /* nothing, or not even the dir */
}

TEST_F(job, state_is_removed_after_the_job)
{
	run_sh(self, "ls /proc/1 >/dev/null", NULL, "\"job_id\": \"st.1\"");
	ASSERT_EQ(0, self->res.status);
	ASSERT_EQ(0, gt_count_dir(self->state));
}

/* A pool without root needs gridrun-helper: without one, one line, 125, nothing left. */
TEST_F(job, a_pool_without_root_or_helper_is_one_clear_error)
{
	char *spec, *state;
	char *argv[] = { (char *)gt_gridrun(), "run", NULL, NULL };

	ASSERT_LE(0, asprintf(&state, "%s/ustate", self->dir));
	gt_mkdirs(state, 0700, UNPRIV_UID, UNPRIV_UID);
	setenv("GRIDRUN_STATE_DIR", state, 1);
	setenv("GRIDRUN_HELPER", "/nonexistent/gridrun-helper", 1);
	spec = gt_write(self->dir, "pool.json", "{\"process\": {\"args\": [\"/bin/true\"]}, "
			"\"gridrun\": {\"pool\": \"atlas\"}}");
	chmod(spec, 0644);
	argv[2] = spec;
	gt_run_argv(argv, UNPRIV_UID, &self->res);
	unsetenv("GRIDRUN_HELPER");
	EXPECT_EQ(125, self->res.status);
	EXPECT_STREQ("gridrun: cannot run gridrun-helper `/nonexistent/gridrun-helper` (a pool needs root, or "
		     "gridrun-helper installed): No such file or directory\n", self->res.err);
	EXPECT_EQ(0, gt_count_dir(state));
	free(spec);
	free(state);
}

TEST_F(job, unprivileged_user_gets_a_one_uid_mapping)
{
	char *spec, *state, *rec_path, *rec;
	char *argv[4];

	/* an account with no privilege at all, as a pilot's would be */
	ASSERT_LE(0, asprintf(&state, "%s/ustate", self->dir));
	gt_mkdirs(state, 0700, UNPRIV_UID, UNPRIV_UID);
	setenv("GRIDRUN_STATE_DIR", state, 1);
	ASSERT_LE(0, asprintf(&rec_path, "%s/rec.json", state));
	spec = gt_write(self->dir, "unpriv.json",
			"{\"process\": {\"args\": [\"/bin/sh\", \"-c\", "
			"\"id -u; cat /proc/self/uid_map /proc/self/setgroups | tr -s ' '; echo $$; "
			"touch /etc/x 2>/dev/null || echo ro\"], \"env\": [\"PATH=/usr/bin:/bin\"]},"
			" \"gridrun\": {\"network\": \"none\", \"accounting\": \"%s\"}}", rec_path);
	chmod(spec, 0644);
	argv[0] = (char *)gt_gridrun();
	argv[1] = "run";
	argv[2] = spec;
	argv[3] = NULL;
	gt_run_argv(argv, UNPRIV_UID, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_STREQ("0\n 0 23456 1\ndeny\n2\nro\n", self->res.out);
	rec = gt_read(rec_path);
	ASSERT_NE(NULL, rec);
	ASSERT_NE(NULL, strstr(rec, "\"isolation\":\"unprivileged\""));
	ASSERT_NE(NULL, strstr(rec, "\"uid_range\":{\"first\":23456,\"count\":1}"));
	free(rec);
	free(rec_path);
	free(spec);
	free(state);
}

TEST_F(job, setup_error_in_the_child_is_reported_and_leaves_nothing)
{
	char *spec = gt_spec(self->dir, "[\"/bin/true\"]",
		"\"hostname\": \"setup-err\"", NULL);
	char *bad = gt_write(self->dir, "missing-target.json",
		"{\"process\": {\"args\": [\"/bin/sh\", \"-c\", \"sleep 100\", \"%s\"]},\n"
		" \"mounts\": [{\"destination\": \"/no-such-dir-gridrun/x\", \"source\": \"/usr\", \"options\": [\"bind\"]}]}",
		gt_marker());

	gt_run_spec(bad, &self->res);
	ASSERT_EQ(125, self->res.status);
	ASSERT_STREQ("gridrun: mounts[0] `/no-such-dir-gridrun/x`: mount target `/no-such-dir-gridrun/x` "
		     "does not exist in the read-only root\n", self->res.err);
	/* no process, no state entry, nothing mounted on the host */
	ASSERT_EQ(0, gt_count_procs(gt_marker()));
	ASSERT_EQ(0, gt_count_dir(self->state));
	ASSERT_NE(0, access("/no-such-dir-gridrun", F_OK));
	free(spec);
	free(bad);
}

TEST_F(job, S04_mount_target_through_a_symlink_is_refused)
{
	/* on merged-/usr Debian, /lib is a symlink to usr/lib */
	char *bad;
	struct stat st;

	ASSERT_EQ(0, lstat("/lib", &st));
	ASSERT_TRUE(S_ISLNK(st.st_mode)) TH_LOG("this test needs /lib to be a symlink (merged /usr)");
	bad = gt_write(self->dir, "symlink-target.json",
		"{\"process\": {\"args\": [\"/bin/true\"]},\n"
		" \"mounts\": [{\"destination\": \"/lib/x86_64-linux-gnu\", \"source\": \"%s\", \"options\": [\"bind\"]}]}",
		self->dir);
	gt_run_spec(bad, &self->res);
	ASSERT_EQ(125, self->res.status);
	ASSERT_NE(NULL, strstr(self->res.err, "leads through a symlink or out of the root, refusing"))
		TH_LOG("stderr: %s", self->res.err);
	free(bad);
}

/* 100 starts: minutes under the emulated v2 lane, past the default 30 s */
TEST_F_TIMEOUT(job, unprivileged_start_never_races_the_map_writes, 600)
{
	char *spec, *state;
	char *argv[4];

	/* the child must stay dumpable until its maps are written: a child that
	 * was too quick once made the supervisor's writes fail with EACCES */
	ASSERT_LE(0, asprintf(&state, "%s/ustate", self->dir));
	gt_mkdirs(state, 0700, UNPRIV_UID, UNPRIV_UID);
	setenv("GRIDRUN_STATE_DIR", state, 1);
	spec = gt_write(self->dir, "race.json", "{\"process\": {\"args\": [\"/bin/true\"]}}");
	chmod(spec, 0644);
	argv[0] = (char *)gt_gridrun();
	argv[1] = "run";
	argv[2] = spec;
	argv[3] = NULL;
	for (int i = 0; i < 100; i++) {
		gt_result_free(&self->res);
		gt_run_argv(argv, UNPRIV_UID, &self->res);
		ASSERT_EQ(0, self->res.status) TH_LOG("run %d: %s", i, self->res.err);
	}
	free(spec);
	free(state);
}

TEST_HARNESS_MAIN
