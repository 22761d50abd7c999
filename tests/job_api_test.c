/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * job_api_test - the job API of the library (issue 15, section 1): the state
 * entry of a job (state.h) has one format and one parser, used by run, ps,
 * kill, gc, gridrun-exporter and gridrun-condor. Formatting a struct and
 * parsing the text gives the same struct; a truncated or garbled entry, or
 * one whose fields have the wrong type, is an error that leaves nothing
 * allocated.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "cg-internal.h"
#include "cgroups.h"
#include "state.h"

static struct gr_job_state full(void)
{
	static char *cgs[] = { "/sys/fs/cgroup/memory/gridrun/gridrun-j1",
			       "/sys/fs/cgroup/cpu,cpuacct/gridrun/gridrun-j1" };
	struct gr_job_state st = {
		.job_id = "j1", .supervisor_pid = 4242, .supervisor_start = 987654321ULL,
		.spec = "job.json", .pid = 4243, .pid_start = 987654399ULL, .account = "atlas",
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
	    a->supervisor_start != b->supervisor_start || !streq(a->spec, b->spec) ||
	    a->pid != b->pid || a->pid_start != b->pid_start || !streq(a->account, b->account) ||
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
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"cgroups\": [\"/a\", 3]}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"cgroups\": \"/a\"}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"cgroup_version\": 3}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"lease\": {\"index\": 1}}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"lease\": "
			"{\"pool\": \"p\", \"index\": -4}}",
		"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 2, \"account\": {}}",
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

TEST_HARNESS_MAIN
