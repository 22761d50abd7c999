/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * job_api_test - the job API of the library (issue 15, section 1): the state
 * entry of a job (state.h) has one format and one parser, used by run, ps,
 * kill, gc, gridrun-exporter and gridrun-condor. Formatting a struct and
 * parsing the text gives the same struct; a truncated or garbled entry, or
 * one whose fields have the wrong type, is an error that leaves nothing
 * allocated.
 *
 * The job's life (job.h): gr_job_prepare() of a bad spec leaves nothing
 * (no state entry, no cgroup, no lease); a started job that is signalled
 * ends with its record written and its state gone; gr_job_end() twice is
 * safe; `gridrun kill` reaches the job; gc finds a stale job's cgroup; and
 * runtime/main.c stays a thin map of argv onto gr_job_*. Starting and
 * holding a job, and a failure after its start, are job_start_test's; the
 * `life` fixture is tests/lib/gt-life.h.
 */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "kselftest_harness.h"
#include "cg-discover.h"
#include "cg-internal.h"
#include "cgroups.h"
#include "config.h"
#include "gt.h"
#include "gt-world.h"
#include "job.h"
#include "state.h"
#include "supervisor.h"
#include "gt-life.h"

static struct gr_job_state full(void)
{
	static char *cgs[] = { "/sys/fs/cgroup/memory/gridrun/gridrun-j1",
			       "/sys/fs/cgroup/cpu,cpuacct/gridrun/gridrun-j1" };
	struct gr_job_state st = {
		.job_id = "j1", .supervisor_pid = 4242, .supervisor_start = 987654321ULL,
		.supervisor_start_epoch_ns = 1796000000123000000ULL,
		.spec = "job.json", .pid = 4243, .pid_start = 987654399ULL, .running = true, .account = "atlas",
		.has_lease = true, .lease = { .pool = "pilots", .index = 7, .first = 200000, .count = 65536 },
		.cgroup_version = 1, .ncgroups = 2,
		.freezer = "/sys/fs/cgroup/freezer/gridrun/gridrun-j1",
		.has_layers = true, .landlock = 7, .lsm = true,
	};

	st.cgroups[0] = cgs[0];
	st.cgroups[1] = cgs[1];
	return st;
}

static int streq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same(const struct gr_job_state *a, const struct gr_job_state *b)
{
	if (!streq(a->job_id, b->job_id) || a->supervisor_pid != b->supervisor_pid ||
	    a->supervisor_start != b->supervisor_start ||
	    a->supervisor_start_epoch_ns != b->supervisor_start_epoch_ns || !streq(a->spec, b->spec) ||
	    a->pid != b->pid || a->pid_start != b->pid_start || a->running != b->running || a->held != b->held ||
	    !streq(a->account, b->account) ||
	    a->has_lease != b->has_lease || a->cgroup_version != b->cgroup_version ||
	    a->ncgroups != b->ncgroups || !streq(a->freezer, b->freezer) || a->has_layers != b->has_layers ||
	    a->landlock != b->landlock || a->lsm != b->lsm)
		return 0;
	if (a->has_lease && (!streq(a->lease.pool, b->lease.pool) || a->lease.index != b->lease.index ||
			     a->lease.first != b->lease.first || a->lease.count != b->lease.count))
		return 0;
	for (size_t i = 0; i < a->ncgroups; i++)
		if (!streq(a->cgroups[i], b->cgroups[i]))
			return 0;
	return 1;
}

TEST(state_round_trip_full)
{
	struct gr_job_state in = full(), out;
	struct gr_error *err = NULL;
	char *text = NULL;

	ASSERT_EQ(0, gr_job_state_format(&in, &text, &err));
	ASSERT_EQ(0, gr_job_state_parse(text, 0, &out, &err)) TH_LOG("%s", err->msg);
	EXPECT_TRUE(same(&in, &out)) TH_LOG("%s", text);
	gr_job_state_free(&out);
	free(text);
}

/* A claim before the lease and the start: no pid, lease, account or cgroups. */
TEST(state_round_trip_claim)
{
	struct gr_job_state in = { .job_id = "claim-only", .supervisor_pid = 1, .supervisor_start = 5,
				   .spec = "s.json" }, out;
	struct gr_error *err = NULL;
	char *text = NULL;

	ASSERT_EQ(0, gr_job_state_format(&in, &text, &err));
	EXPECT_EQ(NULL, strstr(text, "\"pid\"")) TH_LOG("%s", text);
	EXPECT_EQ(NULL, strstr(text, "lease")) TH_LOG("%s", text);
	EXPECT_EQ(NULL, strstr(text, "running")) TH_LOG("%s", text);
	EXPECT_EQ(NULL, strstr(text, "layers")) TH_LOG("%s", text);
	ASSERT_EQ(0, gr_job_state_parse(text, 0, &out, &err));
	EXPECT_TRUE(same(&in, &out)) TH_LOG("%s", text);
	gr_job_state_free(&out);
	free(text);
}

/* The text earlier gridrun wrote (same keys, same order) still parses. */
TEST(state_parses_existing_entries)
{
	const char *text = "{\"job_id\": \"j1\", \"supervisor_pid\": 10, \"supervisor_start\": 20, "
			   "\"spec\": \"a.json\", \"pid\": 11, \"pid_start\": 21, \"account\": \"cms\", "
			   "\"lease\": {\"pool\": \"p\", \"index\": 3, \"first\": 100000, \"count\": 65536}, "
			   "\"cgroup_version\": 2, \"cgroups\": [\"/sys/fs/cgroup/x/gridrun-j1\"], "
			   "\"freezer\": \"/sys/fs/cgroup/x/gridrun-j1\", \"future_key\": [1]}";
	struct gr_job_state st;
	struct gr_error *err = NULL;
	char *again = NULL;

	ASSERT_EQ(0, gr_job_state_parse(text, 0, &st, &err)) TH_LOG("%s", err->msg);
	EXPECT_STREQ("j1", st.job_id);
	EXPECT_EQ(10, st.supervisor_pid);
	EXPECT_EQ(20ULL, st.supervisor_start);
	EXPECT_EQ(11, st.pid);
	EXPECT_STREQ("cms", st.account);
	EXPECT_TRUE(st.has_lease);
	EXPECT_STREQ("p", st.lease.pool);
	EXPECT_EQ(3U, st.lease.index);
	EXPECT_EQ(100000U, st.lease.first);
	EXPECT_EQ(2, st.cgroup_version);
	ASSERT_EQ(1U, st.ncgroups);
	EXPECT_STREQ("/sys/fs/cgroup/x/gridrun-j1", st.cgroups[0]);
	/* format writes the known keys in the order above */
	ASSERT_EQ(0, gr_job_state_format(&st, &again, &err));
	EXPECT_EQ(0, strncmp(text, again, strlen(again) - 1)) TH_LOG("%s", again);
	gr_job_state_free(&st);
	free(again);
}

/* Every prefix of a valid entry is an error (truncated write) and every
 * field of the wrong type or out of range is one too, naming the field. */
TEST(state_truncated_or_garbled_is_error)
{
	static const char *bad[] = {
		"", "null", "[]", "\"j1\"",
		"{\"supervisor_pid\": 1, \"supervisor_start\": 2}",
		"{\"job_id\": \"j\", \"supervisor_start\": 2}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1}",
		"{\"job_id\": 5, \"supervisor_pid\": 1, \"supervisor_start\": 2}",
		"{\"job_id\": \"j\", \"supervisor_pid\": \"1\", \"supervisor_start\": 2}",
		"{\"job_id\": \"j\", \"supervisor_pid\": -1, \"supervisor_start\": 2}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"pid\": 1.5}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"supervisor_start_epoch_ns\": -1}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"cgroups\": [\"/a\", 3]}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"cgroups\": \"/a\"}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"cgroup_version\": 3}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"lease\": {\"index\": 1}}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"lease\": "
			"{\"pool\": \"p\", \"index\": -4}}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"account\": {}}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"running\": 1}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"layers\": {\"landlock\": 7}}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"layers\": "
			"{\"landlock\": \"on\", \"lsm\": false}}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"layers\": true}",
		"{\"job_id\": \"j\", \"job_id\": \"k\", \"supervisor_pid\": 1, \"supervisor_start\": 2}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"cgroups\": "
			"[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}",
	};
	struct gr_job_state in = full(), st;
	char *text = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gr_error *err = NULL;

		memset(&st, 0xa5, sizeof(st));
		EXPECT_EQ(-EINVAL, gr_job_state_parse(bad[i], 0, &st, &err)) TH_LOG("accepted: %s", bad[i]);
		EXPECT_NE(NULL, err);
		EXPECT_EQ(NULL, st.job_id);
		EXPECT_EQ(0U, st.ncgroups);
		gr_error_free(err);
	}
	ASSERT_EQ(0, gr_job_state_format(&in, &text, NULL));
	for (size_t n = 0; n < strlen(text); n++) {
		char *cut = strndup(text, n);

		ASSERT_NE(NULL, cut);
		EXPECT_EQ(-EINVAL, gr_job_state_parse(cut, 0, &st, NULL)) TH_LOG("accepted prefix %zu", n);
		EXPECT_EQ(NULL, st.job_id);
		free(cut);
	}
	free(text);
}

/* ps, kill, suspend and gc take what an entry has (as before the move);
 * the exporter does not. A wrong type is an error either way. */
TEST(state_partial_entries)
{
	const char *text = "{\"supervisor_pid\": 12, \"pid\": 4242, \"spec\": \"/a/spec.json\"}";
	struct gr_job_state st;

	EXPECT_EQ(-EINVAL, gr_job_state_parse(text, 0, &st, NULL));
	ASSERT_EQ(0, gr_job_state_parse(text, GR_JOB_STATE_PARTIAL, &st, NULL));
	EXPECT_EQ(NULL, st.job_id);
	EXPECT_EQ(12, st.supervisor_pid);
	EXPECT_EQ(4242, st.pid);
	EXPECT_STREQ("/a/spec.json", st.spec);
	gr_job_state_free(&st);
	EXPECT_EQ(-EINVAL, gr_job_state_parse("{\"pid\": \"7\"}", GR_JOB_STATE_PARTIAL, &st, NULL));
	EXPECT_EQ(-EINVAL, gr_job_state_parse("{\"pid\": 7", GR_JOB_STATE_PARTIAL, &st, NULL));
}

TEST(state_format_needs_job_id)
{
	struct gr_job_state st = { .supervisor_pid = 1 };
	struct gr_error *err = NULL;
	char *text = (char *)"x";

	EXPECT_EQ(-EINVAL, gr_job_state_format(&st, &text, &err));
	EXPECT_EQ(NULL, text);
	gr_error_free(err);
}

/* Structure: parsing the site config does not pull the sandbox hand-over
 * (privileged code) into whatever links config.o: config.o names no
 * handover.c symbol it does not define itself. */
TEST(config_does_not_need_handover)
{
	const char *build = getenv("GRIDRUN_BUILD");
	char *cmd = NULL, line[256];
	unsigned seen = 0, undefined = 0;
	FILE *f;

	ASSERT_NE(NULL, build) TH_LOG("GRIDRUN_BUILD is not set");
	ASSERT_LT(0, asprintf(&cmd, "nm '%s/runtime/config.o'", build));
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, " gr_handover_") || strstr(line, " gr_job_handover_")) {
			seen++;
			if (strstr(line, " U "))
				undefined++;
			TH_LOG("%s", line);
		}
	}
	EXPECT_EQ(0, pclose(f));
	EXPECT_EQ(2U, seen);   /* gr_handover_way_parse/name, defined here */
	EXPECT_EQ(0U, undefined);
	free(cmd);
}

/* The site config's cgroup_base reaches the cgroup code as a parameter, not
 * through the environment; $GRIDRUN_CGROUP_BASE (tests, gridrun-condor's
 * slice) still wins, and a bad base is refused naming the setting. */
TEST(cgroup_base_is_a_parameter)
{
	struct gr_error *err = NULL;
	const char *rel = "x";

	unsetenv("GRIDRUN_CGROUP_BASE");
	ASSERT_EQ(0, gr_cg_base(&rel, &err));
	EXPECT_EQ(NULL, rel);
	gr_cgroup_set_base("/sys/fs/cgroup/site.slice");
	ASSERT_EQ(0, gr_cg_base(&rel, &err));
	EXPECT_STREQ("/site.slice", rel);
	EXPECT_EQ(NULL, getenv("GRIDRUN_CGROUP_BASE"));
	ASSERT_EQ(0, setenv("GRIDRUN_CGROUP_BASE", "/sys/fs/cgroup/condor.slice", 1));
	ASSERT_EQ(0, gr_cg_base(&rel, &err));
	EXPECT_STREQ("/condor.slice", rel);
	unsetenv("GRIDRUN_CGROUP_BASE");
	gr_cgroup_set_base("/etc/x");
	EXPECT_EQ(-EINVAL, gr_cg_base(&rel, &err));
	ASSERT_NE(NULL, err);
	EXPECT_NE(NULL, strstr(err->msg, "cgroup_base")) TH_LOG("%s", err->msg);
	gr_error_free(err);
	gr_cgroup_set_base(NULL);
}

/* main.o calls none of the job's modules directly: only gr_job_*, gr_cli_*,
 * gr_oci_* (the OCI verbs), gr_error_*, check and seccomp dump, and printing. */
TEST(main_stays_thin)
{
	static const char *const banned[] = { "gr_lease_", "gr_userns_", "gr_cgroup_", "gr_supervisor_",
					       "gr_run", "gr_helper_", "gr_state_", "gr_record_", "gr_priv_",
					       "gr_handover_", "gr_job_handover_", "gr_spec_", "gr_config_" };
	const char *build = getenv("GRIDRUN_BUILD");
	char *cmd = NULL, line[256];
	unsigned undefined = 0, job = 0, bad = 0;
	FILE *f;

	ASSERT_NE(NULL, build) TH_LOG("GRIDRUN_BUILD is not set");
	ASSERT_LT(0, asprintf(&cmd, "nm '%s/runtime/main.o'", build));
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		const char *name = strstr(line, " U ");

		if (!name)
			continue;
		name += 3;
		undefined++;
		if (!strncmp(name, "gr_job_", 7))
			job++;
		for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
			if (!strncmp(name, banned[i], strlen(banned[i]))) {
				bad++;
				TH_LOG("main.o calls %s", name);
			}
	}
	EXPECT_EQ(0, pclose(f));
	EXPECT_LT(10U, undefined);   /* nm read the object */
	EXPECT_LE(8U, job);          /* prepare, start, wait, end, ... */
	EXPECT_EQ(0U, bad);
	free(cmd);
}


/* The record's timestamps (util.h's gr_format_utc_ms(), arithmetic instead
 * of gmtime_r, which loads the local time zone): the same text as
 * gmtime_r() for the last second of every day from 1970 to 2400, leap days
 * and centuries included, with the milliseconds. */
TEST(utc_timestamps_match_gmtime)
{
	char want[64], got[64];
	unsigned bad = 0;

	for (unsigned long long day = 0; day < 157054; day++) {
		unsigned long long secs = day * 86400 + 86399 - day % 3600, ns = secs * 1000000000ull + day % 1000 * 1000000 + 999999;
		time_t t = (time_t)secs;
		struct tm tm;

		gmtime_r(&t, &tm);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(day % 1000));
		gr_format_utc_ms(ns, got, sizeof(got));
		if (strcmp(want, got) && bad++ < 3)
			TH_LOG("%llu ns: %s, gmtime_r: %s", ns, got, want);
	}
	EXPECT_EQ(0U, bad);
	gr_format_utc_ms(951782399999000000ull, got, sizeof(got));
	EXPECT_STREQ("2000-02-28T23:59:59.999Z", got);
	gr_format_utc_ms(951782400000000000ull, got, sizeof(got));
	EXPECT_STREQ("2000-02-29T00:00:00.000Z", got);
}

/* A spec that does not parse, one refused by prepare's checks (a rw bind
 * with a leased range, a named rootfs): an error, no job, nothing left. */
TEST_F(life, prepare_with_a_bad_spec_leaves_nothing)
{
	const struct gr_job_options opts = { .say = said, .data = self->said };
	struct gr_error *err = NULL;
	struct gr_job *job = (struct gr_job *)1;
	char *bad = gt_write(self->dir, "bad.json", "{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [}\n");
	char *rw, *rootfs, *host = gt_tmpdir();

	EXPECT_GT(0, gr_job_prepare_path(bad, self->cfg, &opts, &job, &err));
	EXPECT_EQ(NULL, job);
	ASSERT_NE(NULL, err);
	EXPECT_NE(NULL, strstr(err->msg, "bad.json:")) TH_LOG("%s", err->msg);
	gr_error_free(err);
	err = NULL;
	nothing_left(_metadata, self, "api-bad");

	rw = gt_write(self->dir, "rw.json",
		      "{\"ociVersion\": \"1.0.2\", \"process\": {\"args\": [\"/bin/true\"], \"cwd\": \"/\"},\n"
		      " \"mounts\": [{\"destination\": \"/data\", \"source\": \"%s\", \"options\": [\"bind\"]}],\n"
		      " \"gridrun\": {\"job_id\": \"api-bad\", \"sandbox\": \"%s\", \"pool\": \"atlas\"}}\n",
		      host, self->sbx);
	job = (struct gr_job *)1;
	EXPECT_EQ(-EPERM, gr_job_prepare_path(rw, self->cfg, &opts, &job, &err));
	EXPECT_EQ(NULL, job);
	ASSERT_NE(NULL, err);
	EXPECT_NE(NULL, strstr(err->msg, "read-write bind")) TH_LOG("%s", err->msg);
	gr_error_free(err);
	err = NULL;
	nothing_left(_metadata, self, "api-bad");

	rootfs = life_spec(self, "api-bad", "[\"/bin/true\"]", "\"rootfs\": \"el9\"");
	job = (struct gr_job *)1;
	EXPECT_EQ(-ENOTSUP, gr_job_prepare_path(rootfs, self->cfg, &opts, &job, &err));
	EXPECT_EQ(NULL, job);
	gr_error_free(err);
	err = NULL;
	nothing_left(_metadata, self, "api-bad");
	gt_rm_rf(host);
	free(host);
	free(bad);
	free(rw);
	free(rootfs);
}

/* A stale entry of job_id whose supervisor is dead, and its cgroup made
 * (as a supervisor killed before it recorded the cgroup leaves it). */
static void leave_stale(struct __test_metadata *_metadata, struct _test_data_life *self, const char *job_id)
{
	struct gr_job_state st = { .job_id = (char *)job_id, .supervisor_start = 1 };
	struct gr_resources res = { 0 };
	struct gr_cgroup *cg = NULL;
	struct gr_error *err = NULL;
	char *json = NULL;
	pid_t dead = fork();

	ASSERT_LE(0, dead);
	if (dead == 0)
		_exit(0);
	ASSERT_EQ(dead, waitpid(dead, NULL, 0));
	st.supervisor_pid = dead;
	mkdir(self->state, 0755);
	ASSERT_EQ(0, gr_job_state_format(&st, &json, &err));
	ASSERT_EQ(0, gr_state_claim(self->state, job_id, json, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(0, gr_cgroup_create(job_id, &res, &cg, &err)) TH_LOG("%s", err->msg);
	ASSERT_NE(NULL, cg);
	free(cg);               /* forgotten, not removed: gc's to find */
	free(json);
	ASSERT_LT(0, gt_cgroup_dirs(job_id));
}

/* Issue 15: gc finds a stale job's cgroup through libcgroup (cg-discover.h),
 * while a job's start never calls cgroup_init(), not even when it clears a
 * stale entry of its own id (counted by gr_cg_discover_inits()). */
TEST_F_TIMEOUT(life, gc_uses_libcgroup_and_a_start_never_inits_it, 60)
{
	const struct gr_job_options opts = { .say = said, .data = self->said };
	struct gr_job_gc_stats gc;
	struct gr_error *err = NULL;
	struct gr_job *job = NULL;
	char id[64], stale[64], *spec;
	int status = -1;

	snprintf(id, sizeof(id), "api-lc-%d", (int)getpid());
	snprintf(stale, sizeof(stale), "api-lc-gc-%d", (int)getpid());
	spec = life_spec(self, id, "[\"/bin/true\"]", NULL);
	leave_stale(_metadata, self, id);
	ASSERT_EQ(0, gr_job_prepare_path(spec, self->cfg, &opts, &job, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(0, gr_job_start(job, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(0, gr_job_wait(job, &status, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(0, status);
	EXPECT_EQ(0, gr_job_end(job, &err));
	gr_job_free(job);
	EXPECT_EQ(0, gr_cg_discover_inits());
	nothing_left(_metadata, self, id);

	leave_stale(_metadata, self, stale);
	ASSERT_EQ(0, gr_job_gc(self->cfg, &opts, &gc, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(1, gc.removed);
	EXPECT_EQ(1, gr_cg_discover_inits());
	EXPECT_EQ(0, gt_cgroup_dirs(stale));
	EXPECT_GE(0, gt_count_dir(self->state));
	free(spec);
}

/* Signalled after gr_job_start() (the CLI's `gridrun kill` would be the
 * same: its supervisor is this process): the signal reaches the job when
 * it runs, the job ends by it, and gr_job_end() writes its record and
 * removes its state entry and cgroup. */
TEST_F_TIMEOUT(life, a_started_job_that_is_signalled_ends_with_its_record, 60)
{
	const struct gr_job_options opts = { .say = said, .data = self->said };
	struct gr_error *err = NULL;
	struct gr_job *job = NULL;
	char *spec = life_spec(self, "api-sig", "[\"/bin/sh\", \"-c\", \"sleep 30\"]", NULL);
	char *rec = NULL;
	time_t t0 = time(NULL);
	json_t *o;
	int status = -1;

	ASSERT_LE(0, asprintf(&rec, "%s/record.json", self->sbx));
	ASSERT_EQ(0, gr_job_prepare_path(spec, self->cfg, &opts, &job, &err)) TH_LOG("%s", err->msg);
	EXPECT_STREQ("api-sig", gr_job_id(job));
	ASSERT_EQ(0, gr_job_start(job, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(1, gt_count_dir(self->state));   /* claimed */
	ASSERT_EQ(0, gr_job_signal(job, SIGTERM, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(0, gr_job_wait(job, &status, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(128 + SIGTERM, status);
	EXPECT_GT(20, time(NULL) - t0);
	ASSERT_NE(NULL, gr_job_result(job));
	EXPECT_EQ(SIGTERM, gr_job_result(job)->signal);
	EXPECT_EQ(0, gr_job_end(job, &err));
	nothing_left(_metadata, self, "api-sig");
	o = json_load_file(rec, 0, NULL);
	ASSERT_NE(NULL, o) TH_LOG("no record at %s", rec);
	EXPECT_STREQ("api-sig", json_string_value(json_object_get(o, "job_id")));
	json_decref(o);
	gr_job_free(job);
	free(spec);
	free(rec);
}

/* gr_job_end() twice, and gr_job_free() after it, do nothing more: the
 * record is written once; ending a job that was only prepared writes none. */
TEST_F_TIMEOUT(life, end_twice_is_safe, 60)
{
	const struct gr_job_options opts = { .say = said, .data = self->said };
	struct gr_error *err = NULL;
	struct gr_job *job = NULL;
	char *spec = life_spec(self, "api-end", "[\"/bin/true\"]", NULL);
	char *rec = NULL, *first;
	int status = -1;

	ASSERT_LE(0, asprintf(&rec, "%s/record.json", self->sbx));
	ASSERT_EQ(0, gr_job_prepare_path(spec, self->cfg, &opts, &job, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(0, gr_job_end(job, &err));   /* never started: nothing to end */
	EXPECT_NE(0, access(rec, F_OK));
	EXPECT_EQ(NULL, gr_job_result(job));
	ASSERT_EQ(0, gr_job_start(job, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(0, gr_job_wait(job, &status, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(0, status);
	EXPECT_EQ(0, gr_job_end(job, &err));
	first = gt_read(rec);
	ASSERT_NE(NULL, first);
	unlink(rec);
	EXPECT_EQ(0, gr_job_end(job, &err));
	EXPECT_NE(0, access(rec, F_OK));   /* not written again */
	EXPECT_EQ(-EINVAL, gr_job_wait(job, &status, &err));   /* ended: no second run */
	gr_error_free(err);
	gr_job_free(job);
	EXPECT_NE(0, access(rec, F_OK));
	nothing_left(_metadata, self, "api-end");
	free(first);
	free(spec);
	free(rec);
}

/* `gridrun kill ID SIGNAL` reaches the job through its supervisor (a pidfd
 * checked by the entry's start time): the job ends by the signal, with
 * its record; an id with no live job is one line, exit 125. */
TEST_F_TIMEOUT(life, kill_by_id_through_the_cli, 60)
{
	char *argv[] = { (char *)gt_gridrun(), "kill", "api-kill", "TERM", NULL };
	char *ready = NULL, *rec = NULL, *args = NULL, *spec;
	struct gt_result res = { 0 };
	time_t t0;
	json_t *o;
	pid_t pid;

	ASSERT_LE(0, asprintf(&ready, "%s/ready", self->sbx));
	ASSERT_LE(0, asprintf(&rec, "%s/record.json", self->sbx));
	ASSERT_LE(0, asprintf(&args, "[\"/bin/sh\", \"-c\", \"touch %s; sleep 30\"]", ready));
	spec = life_spec(self, "api-kill", args, NULL);
	pid = gt_start_spec(spec, -1);
	ASSERT_TRUE(gt_wait_file(ready, 10000));
	t0 = time(NULL);
	gt_run_argv(argv, -1, &res);
	EXPECT_EQ(0, res.status) TH_LOG("%s", res.err);
	EXPECT_EQ(128 + SIGTERM, gt_wait(pid, 20000));
	EXPECT_GT(15, time(NULL) - t0);
	o = json_load_file(rec, 0, NULL);
	ASSERT_NE(NULL, o) TH_LOG("no record at %s", rec);
	EXPECT_STREQ("api-kill", json_string_value(json_object_get(o, "job_id")));
	json_decref(o);
	nothing_left(_metadata, self, "api-kill");
	gt_result_free(&res);
	gt_run_argv(argv, -1, &res);   /* gone now */
	EXPECT_EQ(125, res.status);
	EXPECT_NE(NULL, strstr(res.err, "gridrun: ")) TH_LOG("%s", res.err);
	EXPECT_EQ(NULL, strchr(strchr(res.err, '\n') ? strchr(res.err, '\n') + 1 : "", '\n'));
	gt_result_free(&res);
	free(spec);
	free(args);
	free(ready);
	free(rec);
}

/* The comment "sync #N NAME: ..." of a file, malloc'd, or NULL. */
static char *sync_comment(const char *text, unsigned step, const char *name)
{
	char key[64];
	const char *a, *b;

	snprintf(key, sizeof(key), "/* sync #%u %s: ", step, name);
	a = strstr(text, key);
	b = a ? strstr(a, "*/") : NULL;
	return b ? strndup(a, (size_t)(b - a + 2)) : NULL;
}

/* Sync steps are numbered 1..N in order in sync.h, and each is marked with
 * the same comment on both sides, the supervisor's and init's. */
TEST(sync_steps_numbered_on_both_sides)
{
	char *sync = gt_read(gt_f("%s/runtime/sync.h", gt_src()));
	char *init = gt_read(gt_f("%s/runtime/init.c", gt_src()));
	char *sup = gt_read(gt_f("%s/runtime/supervisor.c", gt_src()));
	const char *p;
	unsigned steps = 0;

	ASSERT_NE(NULL, sync);
	ASSERT_NE(NULL, init);
	ASSERT_NE(NULL, sup);
	p = strstr(sync, "enum gr_sync_step {");
	ASSERT_NE(NULL, p);
	for (;;) {
		char name[32], *a, *b;
		unsigned n;

		p = strstr(p, "GR_SYNC_");
		if (!p || sscanf(p, "GR_SYNC_%31[A-Z_] = %u,", name, &n) != 2 || !strcmp(name, "ERROR"))
			break;
		EXPECT_EQ(steps + 1, n) TH_LOG("GR_SYNC_%s = %u out of order", name, n);
		steps++;
		a = sync_comment(init, n, name);
		b = sync_comment(sup, n, name);
		EXPECT_NE(NULL, a) TH_LOG("init.c has no comment \"sync #%u %s: ...\"", n, name);
		EXPECT_NE(NULL, b) TH_LOG("supervisor.c has no comment \"sync #%u %s: ...\"", n, name);
		if (a && b)
			EXPECT_STREQ(a, b);
		free(a);
		free(b);
		p += 8;
	}
	EXPECT_EQ(6U, steps);
	EXPECT_EQ(NULL, strstr(init, "sync #1b"));
	EXPECT_EQ(NULL, strstr(sup, "sync #1b"));
	free(sync);
	free(init);
	free(sup);
}

TEST_HARNESS_MAIN
