/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lost_record_test - R1's accounting: a job whose supervisor is SIGKILLed
 * after the job started gets its record from `gridrun gc`
 * (runtime/job-lost.c): at the spec's path, reason supervisor_lost, the CPU
 * the job burned from its cgroup's counters, the cgroup gone; never through
 * a symlink the job put on the record's path (S31), which gc says in one
 * line; and never over the record a supervisor wrote before it died, even
 * when it died before the copy of it in the state directory, but over one
 * the job could have forged there.
 */
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"

FIXTURE(lost) {
	char *dir, *state, *sbx;
	char id[64];
};

FIXTURE_SETUP(lost)
{
	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	ASSERT_LE(0, asprintf(&self->sbx, "%s/execute/dir_1", self->dir));
	gt_mkdirs(self->sbx, 0700, 65534, 65534);
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
	snprintf(self->id, sizeof(self->id), "lost-%d-%ld", (int)getpid(), (long)time(NULL));
}

FIXTURE_TEARDOWN(lost)
{
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->state);
	free(self->sbx);
}

static char *path_in(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

/* The spec of job self->id: sh -c SCRIPT ($0 the test's marker) in the
 * sandbox, its record at REC. */
static char *lost_spec(struct _test_data_lost *self, const char *script, const char *rec)
{
	json_t *args = json_pack("[ssss]", "/bin/sh", "-c", script, gt_marker());
	char *a = json_dumps(args, JSON_COMPACT), *gr, *spec;

	if (asprintf(&gr, "\"job_id\": \"%s\", \"sandbox\": \"%s\", \"accounting\": \"%s\"", self->id, self->sbx,
		     rec) < 0)
		abort();
	spec = gt_spec(self->dir, a, NULL, gr);
	free(gr);
	free(a);
	json_decref(args);
	return spec;
}

/* The state entry STATE_FILE once it says the job runs (malloc'd), or
 * what it said last (NULL: never read) after 2 s. */
static char *running_entry(const char *state_file)
{
	char *saved = NULL;

	for (int i = 0; i < 200 && !(saved && strstr(saved, "\"running\"")); i++) {
		free(saved);
		saved = gt_read(state_file);
		usleep(10000);
	}
	return saved;
}

/* Start the spec, wait for the job's SBX/ready, SIGKILL its supervisor:
 * the job dies with it, its state entry stays. */
static void start_and_lose(struct __test_metadata *_metadata, struct _test_data_lost *self, const char *spec)
{
	char *ready = path_in(self->sbx, "ready");
	pid_t pid = gt_start_spec(spec, -1);

	ASSERT_TRUE(gt_wait_file(ready, 20000));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(128 + SIGKILL, gt_wait(pid, 5000));
	ASSERT_EQ(0, gt_wait_no_procs(gt_marker(), 5000));
	ASSERT_EQ(1, gt_count_dir(self->state));
	free(ready);
}

static void gc(struct gt_result *res)
{
	char *argv[] = { (char *)gt_gridrun(), "gc", NULL };

	gt_run_argv(argv, -1, res);
}

static json_t *record_copy(struct _test_data_lost *self)
{
	char *path;
	json_t *o;

	if (asprintf(&path, "%s/records/%s.json", self->state, self->id) < 0)
		abort();
	o = json_load_file(path, 0, NULL);
	free(path);
	return o;
}

/* ~300 ms of CPU in the job's shell (until its own utime + stime say so),
 * then SIGKILL to the supervisor: gc writes the record from the cgroup. */
TEST_F_TIMEOUT(lost, gc_writes_the_record_of_a_killed_supervisor, 120)
{
	long tck = sysconf(_SC_CLK_TCK), ticks = (tck * 3 + 9) / 10;
	char *script, *spec, *rec = path_in(self->sbx, "rec.json");
	long long cpu, burned = ticks * 1000000000LL / tck;
	struct gt_result res;
	struct stat st;
	json_t *o, *copy;

	ASSERT_LE(0, asprintf(&script,
		"while :; do read -r a b c d e f g h i j k l m u s rest < /proc/$$/stat; "
		"[ $((u + s)) -ge %ld ] && break; done; touch %s/ready; while :; do sleep 1; done",
		ticks, self->sbx));
	spec = lost_spec(self, script, rec);
	start_and_lose(_metadata, self, spec);
	ASSERT_NE(0, access(rec, F_OK));
	gc(&res);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ("gridrun gc: removed 1 stale state entry\n", res.out);
	EXPECT_STREQ("", res.err);
	o = json_load_file(rec, 0, NULL);
	ASSERT_NE(NULL, o) TH_LOG("no record at %s", rec);
	EXPECT_STREQ(self->id, json_string_value(json_object_get(o, "job_id")));
	EXPECT_STREQ("supervisor_lost", json_string_value(json_object_get(o, "reason")));
	cpu = gt_json_int(o, "cpu_user_ns") + gt_json_int(o, "cpu_system_ns");
	EXPECT_LE(burned, cpu) TH_LOG("the job burned %lld ns of CPU, the record says %lld", burned, cpu);
	EXPECT_TRUE(json_is_integer(json_object_get(o, "memory_peak_bytes")));
	EXPECT_LT(0, gt_json_int(o, "memory_peak_bytes"));
	EXPECT_TRUE(json_is_integer(json_object_get(o, "cgroup_version")));
	/* what only the supervisor knew, and when it ended, are null */
	EXPECT_TRUE(json_is_null(json_object_get(o, "exit_code")));
	EXPECT_TRUE(json_is_null(json_object_get(o, "signal")));
	EXPECT_TRUE(json_is_null(json_object_get(o, "rusage_user_ns")));
	EXPECT_TRUE(json_is_null(json_object_get(o, "killed_at_end")));
	EXPECT_TRUE(json_is_null(json_object_get(o, "ended_at")));
	EXPECT_TRUE(json_is_null(json_object_get(o, "wall_ns")));
	EXPECT_TRUE(json_is_string(json_object_get(o, "started_at")));
	EXPECT_STREQ("root", json_string_value(json_object_get(o, "isolation")));
	EXPECT_EQ(65534, gt_json_int(json_object_get(o, "uid_range"), "first"));
	/* design §7's keys, no more */
	EXPECT_EQ(21, json_object_size(o));
	/* written as the directory's owner (record.h) */
	ASSERT_EQ(0, stat(rec, &st));
	EXPECT_EQ(65534, st.st_uid);
	/* the exporter's copy says the same */
	copy = record_copy(self);
	ASSERT_NE(NULL, copy);
	EXPECT_STREQ("supervisor_lost", json_string_value(json_object_get(copy, "reason")));
	EXPECT_EQ(cpu, gt_json_int(copy, "cpu_user_ns") + gt_json_int(copy, "cpu_system_ns"));
	EXPECT_EQ(0, gt_cgroup_dirs(self->id));
	EXPECT_EQ(0, gt_count_dir(self->state));
	json_decref(copy);
	json_decref(o);
	gt_result_free(&res);
	free(script);
	free(spec);
	free(rec);
}

/* S31: the job swaps its record directory for a symlink to one it cannot
 * write, then loses its supervisor: gc writes nothing through it, and says
 * so in one line; the exporter's copy is written all the same. */
TEST_F_TIMEOUT(lost, gc_writes_no_record_through_a_symlink, 120)
{
	char *out = path_in(self->sbx, "out"), *old = path_in(self->sbx, "out.old");
	char *secret = path_in(self->dir, "secret"), *rec = path_in(out, "rec.json");
	char *script, *spec, *old_rec = path_in(old, "rec.json");
	struct gt_result res;
	const char *nl;
	json_t *copy;

	gt_mkdirs(out, 0755, 65534, 65534);
	gt_mkdirs(secret, 0700, 0, 0);
	ASSERT_LE(0, asprintf(&script, "mv %s %s && ln -s %s %s && touch %s/ready; while :; do sleep 1; done",
			      out, old, secret, out, self->sbx));
	spec = lost_spec(self, script, rec);
	start_and_lose(_metadata, self, spec);
	gc(&res);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ("gridrun gc: removed 1 stale state entry\n", res.out);
	/* one line, naming the job and the symlink */
	nl = strchr(res.err, '\n');
	EXPECT_TRUE(nl && !nl[1]) TH_LOG("stderr: %s", res.err);
	EXPECT_NE(NULL, strstr(res.err, self->id)) TH_LOG("stderr: %s", res.err);
	EXPECT_NE(NULL, strstr(res.err, "symlink")) TH_LOG("stderr: %s", res.err);
	EXPECT_EQ(0, gt_count_dir(secret));
	EXPECT_NE(0, access(old_rec, F_OK));
	copy = record_copy(self);
	ASSERT_NE(NULL, copy);
	EXPECT_STREQ("supervisor_lost", json_string_value(json_object_get(copy, "reason")));
	EXPECT_EQ(0, gt_cgroup_dirs(self->id));
	json_decref(copy);
	gt_result_free(&res);
	free(script);
	free(spec);
	free(out);
	free(old);
	free(secret);
	free(rec);
	free(old_rec);
}

/* A supervisor that wrote its record and died before its state entry went
 * (the entry put back as it was while the job ran): gc leaves the record. */
TEST_F_TIMEOUT(lost, gc_never_overwrites_the_supervisors_record, 120)
{
	char *rec = path_in(self->sbx, "rec.json"), *go = path_in(self->sbx, "go"), *ready = path_in(self->sbx, "ready");
	char *entry, *state_file, *script, *spec, *saved = NULL, *written, *copy_before, *copy_path;
	struct gt_result res;
	json_t *o;
	pid_t pid;

	ASSERT_LE(0, asprintf(&entry, "%s/%s", self->state, self->id));
	ASSERT_LE(0, asprintf(&state_file, "%s/state.json", entry));
	ASSERT_LE(0, asprintf(&copy_path, "%s/records/%s.json", self->state, self->id));
	ASSERT_LE(0, asprintf(&script, "touch %s/ready; while [ ! -e %s ]; do sleep 0.05; done; exit 3",
			      self->sbx, go));
	spec = lost_spec(self, script, rec);
	pid = gt_start_spec(spec, -1);
	ASSERT_TRUE(gt_wait_file(ready, 20000));
	saved = running_entry(state_file);
	ASSERT_NE(NULL, saved);
	/* the entry names what gc would need to write a record of its own */
	ASSERT_NE(NULL, strstr(saved, "\"started_ns\"")) TH_LOG("%s", saved);
	ASSERT_NE(NULL, strstr(saved, "\"accounting\"")) TH_LOG("%s", saved);
	free(gt_write(self->sbx, "go", "go\n"));
	ASSERT_EQ(3, gt_wait(pid, 10000));
	written = gt_read(rec);
	ASSERT_NE(NULL, written);
	copy_before = gt_read(copy_path);
	ASSERT_NE(NULL, copy_before);
	/* killed after its record, before its entry went */
	ASSERT_EQ(0, gt_count_dir(self->state));
	ASSERT_EQ(0, mkdir(entry, 0755));
	free(gt_write(entry, "state.json", "%s", saved));
	gc(&res);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ("gridrun gc: removed 1 stale state entry\n", res.out);
	{
		char *after = gt_read(rec), *copy_after = gt_read(copy_path);

		EXPECT_STREQ(written, after);
		EXPECT_STREQ(copy_before, copy_after);
		free(after);
		free(copy_after);
	}
	o = json_loads(written, 0, NULL);
	ASSERT_NE(NULL, o);
	EXPECT_STREQ("exited", json_string_value(json_object_get(o, "reason")));
	EXPECT_EQ(3, gt_json_int(o, "exit_code"));
	EXPECT_EQ(0, gt_count_dir(self->state));
	json_decref(o);
	gt_result_free(&res);
	free(saved);
	free(written);
	free(copy_before);
	free(copy_path);
	free(entry);
	free(state_file);
	free(script);
	free(spec);
	free(rec);
	free(go);
	free(ready);
}

/* The supervisor killed between its record's rename and the copy in
 * STATE/records (strace's SIGKILL at the copy's mkdir of records/): the
 * record, in a directory root owns, is its supervisor's, and gc keeps it;
 * it writes only the copy. Before, gc wrote its own over it. */
TEST_F_TIMEOUT(lost, gc_keeps_a_record_written_just_before_the_supervisor_died, 120)
{
	char *out = path_in(self->dir, "out"), *rec = path_in(out, "rec.json");
	char *records = path_in(self->state, "records"), *spec, *written, *after;
	struct gt_result res;
	json_t *o, *copy;
	int status, null;
	pid_t pid;

	gt_mkdirs(out, 0755, 0, 0);
	spec = lost_spec(self, "exit 3", rec);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		dup2(null, 1);
		setenv("LSAN_OPTIONS", "detect_leaks=0", 1);   /* no leak check under ptrace */
		execlp("strace", "strace", "-f", "-qq", "-o", "/dev/null", "-P", records, "-e", "trace=mkdir", "-e",
		       "inject=mkdir:signal=KILL", gt_gridrun(), "run", spec, (char *)NULL);
		_exit(127);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_NE(127, WIFEXITED(status) ? WEXITSTATUS(status) : 0);
	ASSERT_EQ(0, gt_wait_no_procs(gt_marker(), 5000));
	/* the record written, no copy, the entry left */
	written = gt_read(rec);
	ASSERT_NE(NULL, written);
	ASSERT_NE(0, access(records, F_OK));
	ASSERT_EQ(1, gt_count_dir(self->state));
	gc(&res);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ("gridrun gc: removed 1 stale state entry\n", res.out);
	EXPECT_STREQ("", res.err);
	after = gt_read(rec);
	EXPECT_STREQ(written, after);
	o = json_loads(after ? after : "", 0, NULL);
	ASSERT_NE(NULL, o);
	EXPECT_STREQ("exited", json_string_value(json_object_get(o, "reason")));
	EXPECT_EQ(3, gt_json_int(o, "exit_code"));
	/* the exporter's copy is gc's */
	copy = record_copy(self);
	ASSERT_NE(NULL, copy);
	EXPECT_STREQ("supervisor_lost", json_string_value(json_object_get(copy, "reason")));
	EXPECT_EQ(0, gt_count_dir(self->state));
	EXPECT_EQ(0, gt_cgroup_dirs(self->id));
	json_decref(copy);
	json_decref(o);
	gt_result_free(&res);
	free(written);
	free(after);
	free(spec);
	free(records);
	free(rec);
	free(out);
}

/* The attack: where its record goes is the job's to write (its sandbox),
 * and it puts there a record of its own run, as the supervisor's would be
 * (its job_id and started_at, read here from the state entry), that says
 * it used nothing; then its supervisor is killed. gc cannot tell that file
 * from the supervisor's (the job's uid owns it), so it writes its own. */
TEST_F_TIMEOUT(lost, gc_replaces_a_record_the_job_could_have_forged, 120)
{
	char *rec = path_in(self->sbx, "rec.json"), *ready = path_in(self->sbx, "ready");
	char *state_file, *script, *spec, *saved = NULL, started[40], ms[8];
	struct gt_result res;
	unsigned long long ns;
	struct tm tm;
	time_t secs;
	json_t *st, *o;
	pid_t pid;

	ASSERT_LE(0, asprintf(&state_file, "%s/%s/state.json", self->state, self->id));
	ASSERT_LE(0, asprintf(&script, "touch %s; while :; do sleep 1; done", ready));
	spec = lost_spec(self, script, rec);
	pid = gt_start_spec(spec, -1);
	ASSERT_TRUE(gt_wait_file(ready, 20000));
	saved = running_entry(state_file);
	st = json_loads(saved ? saved : "", 0, NULL);
	ASSERT_NE(NULL, st) TH_LOG("%s", saved);
	ns = (unsigned long long)gt_json_int(st, "started_ns");
	ASSERT_LT(0, (long long)ns);
	/* it runs as the sandbox's owner: the forgery is that uid's */
	EXPECT_EQ(65534, gt_json_int(st, "uid_first"));
	EXPECT_EQ(1, gt_json_int(st, "uid_count"));
	secs = (time_t)(ns / 1000000000ull);
	gmtime_r(&secs, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ms, sizeof(ms), ".%03uZ", (unsigned)(ns / 1000000ull % 1000));
	strcat(started, ms);
	free(gt_write(self->sbx, "rec.json",
		      "{\"job_id\":\"%s\",\"reason\":\"exited\",\"exit_code\":0,\"cpu_user_ns\":0,"
		      "\"cpu_system_ns\":0,\"started_at\":\"%s\"}\n", self->id, started));
	ASSERT_EQ(0, chown(rec, 65534, 65534));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(128 + SIGKILL, gt_wait(pid, 5000));
	ASSERT_EQ(0, gt_wait_no_procs(gt_marker(), 5000));
	gc(&res);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ("gridrun gc: removed 1 stale state entry\n", res.out);
	o = json_load_file(rec, 0, NULL);
	ASSERT_NE(NULL, o);
	EXPECT_STREQ("supervisor_lost", json_string_value(json_object_get(o, "reason")));
	EXPECT_STREQ(started, json_string_value(json_object_get(o, "started_at")));
	EXPECT_TRUE(json_is_null(json_object_get(o, "exit_code")));
	EXPECT_EQ(21, json_object_size(o));
	json_decref(o);
	json_decref(st);
	gt_result_free(&res);
	free(saved);
	free(state_file);
	free(script);
	free(spec);
	free(rec);
	free(ready);
}

TEST_HARNESS_MAIN
