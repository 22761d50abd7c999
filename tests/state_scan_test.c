/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * state_scan_test - gr_job_state_parse()'s one-pass scan (state-scan.h)
 * gives what its jansson path gives, for every text: the entries gridrun
 * writes (gr_job_state_format() of full, bare, leased and layered entries,
 * and the fields a lost supervisor's record needs),
 * hand-written ones with other whitespace, key orders and edge values, and
 * every variant of them with one byte cut off, removed, doubled or replaced
 * by one of the characters JSON's grammar turns on. Each is parsed with and
 * without GR_JOB_STATE_NO_SCAN, with and without GR_JOB_STATE_PARTIAL: the
 * return and every field must be equal. The entries gridrun writes are
 * taken by the scan itself (it returns 1), so that they skip jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "kselftest_harness.h"
#include "state-scan.h"
#include "state.h"

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same(const struct gr_job_state *a, const struct gr_job_state *b)
{
	bool eq = str_eq(a->job_id, b->job_id) && a->supervisor_pid == b->supervisor_pid &&
		  a->supervisor_start == b->supervisor_start &&
		  a->supervisor_start_epoch_ns == b->supervisor_start_epoch_ns && str_eq(a->spec, b->spec) &&
		  a->pid == b->pid && a->pid_start == b->pid_start && a->running == b->running && a->held == b->held &&
		  str_eq(a->account, b->account) && str_eq(a->bundle, b->bundle) && a->has_lease == b->has_lease &&
		  str_eq(a->lease.pool, b->lease.pool) && a->lease.index == b->lease.index &&
		  a->lease.first == b->lease.first && a->lease.count == b->lease.count &&
		  a->cgroup_version == b->cgroup_version && a->ncgroups == b->ncgroups &&
		  str_eq(a->freezer, b->freezer) && a->has_layers == b->has_layers && a->landlock == b->landlock &&
		  a->lsm == b->lsm && str_eq(a->accounting, b->accounting) && a->started_ns == b->started_ns &&
		  str_eq(a->isolation, b->isolation) && a->uid_first == b->uid_first && a->uid_count == b->uid_count;

	for (size_t i = 0; eq && i < GR_JOB_STATE_CGROUPS_MAX; i++)
		eq = str_eq(a->cgroups[i], b->cgroups[i]);
	return eq;
}

/* Both paths on text, both flag sets: how many disagreed (logged). */
static int disagreements(struct __test_metadata *_metadata, const char *text)
{
	int bad = 0;

	for (unsigned partial = 0; partial <= GR_JOB_STATE_PARTIAL; partial += GR_JOB_STATE_PARTIAL) {
		struct gr_job_state a, b;
		int ra = gr_job_state_parse(text, partial, &a, NULL);
		int rb = gr_job_state_parse(text, partial | GR_JOB_STATE_NO_SCAN, &b, NULL);

		if (ra != rb || !same(&a, &b)) {
			TH_LOG("differ (%d vs %d, partial %u): %s", ra, rb, partial, text);
			bad++;
		}
		gr_job_state_free(&a);
		gr_job_state_free(&b);
	}
	return bad;
}

static const char *const written_by_hand[] = {
	"{\"job_id\":\"j1\",\"supervisor_pid\":1,\"supervisor_start\":0}",
	" \t\r\n{ \"supervisor_start\" : 9223372036854775807 ,\n\"job_id\" : \"j\", \"supervisor_pid\": 2147483647 } \n",
	"{\"job_id\": \"j\", \"supervisor_pid\": 2147483648, \"supervisor_start\": 1}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 9223372036854775808}",
	"{\"job_id\": \"j\", \"supervisor_pid\": -0, \"supervisor_start\": 1}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 01, \"supervisor_start\": 1}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1.0, \"supervisor_start\": 1e3}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"job_id\": \"k\"}",
	"{\"job_id\": \"j\\u0041\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"account\": \"\xc3\xa9t\xc3\xa9\"}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"other\": {\"x\": [1, null]}}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"spec\": null}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"running\": true, \"held\": false}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"running\": truex}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"cgroup_version\": 3}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"cgroups\": []}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, "
	"\"cgroups\": [\"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\", \"8\"]}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, "
	"\"cgroups\": [\"1\", \"2\", \"3\", \"4\", \"5\", \"6\", \"7\", \"8\", \"9\"]}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"lease\": {}}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"lease\": {\"pool\": \"p\", \"count\": 4294967295}}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"lease\": {\"pool\": \"p\", \"first\": 4294967296}}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"layers\": {\"landlock\": -4095, \"lsm\": true}}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"layers\": {\"landlock\": -4096, \"lsm\": true}}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"layers\": {\"landlock\": 3}}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"accounting\": \"/a/r.json\", "
	"\"started_ns\": 9223372036854775807, \"isolation\": \"helper\", \"uid_first\": 0, \"uid_count\": 4294967295}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"uid_first\": 4294967296}",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1, \"started_ns\": -1, \"accounting\": 3}",
	"{\"job_id\": 5, \"supervisor_pid\": 1, \"supervisor_start\": 1}",
	"{\"supervisor_pid\": 1}",
	"{}",
	"[]",
	"",
	"{\"job_id\": \"j\", \"supervisor_pid\": 1, \"supervisor_start\": 1}{}",
};

/* One byte of a text changed in the ways a parser can trip on. */
static const char swaps[] = "\"\\,:{}[] 0-1.eatfnx\t";

static int mutants(struct __test_metadata *_metadata, const char *text)
{
	size_t n = strlen(text);
	char *m = malloc(n + 2);
	int bad = 0;

	for (size_t i = 0; m && i <= n && bad < 5; i++) {
		/* cut off at i, without byte i, byte i doubled */
		memcpy(m, text, i);
		m[i] = '\0';
		bad += disagreements(_metadata, m);
		if (i == n)
			break;
		memcpy(m + i, text + i + 1, n - i);
		bad += disagreements(_metadata, m);
		memcpy(m + i, text + i, n - i + 1);
		memmove(m + i + 1, m + i, n - i + 1);
		bad += disagreements(_metadata, m);
		memcpy(m, text, n + 1);
		for (const char *c = swaps; *c; c++) {
			m[i] = *c;
			bad += disagreements(_metadata, m);
		}
		m[i] = (char)0xc3;
		bad += disagreements(_metadata, m);
	}
	free(m);
	return bad;
}

static char *written(struct gr_job_state *st)
{
	char *text = NULL;

	return gr_job_state_format(st, &text, NULL) == 0 ? text : NULL;
}

TEST(what_gridrun_writes_is_scanned_as_jansson_reads_it)
{
	char *cgroups[] = { "/sys/fs/cgroup/memory/a/gridrun-j", "/sys/fs/cgroup/cpuacct/gridrun-j",
			    "/sys/fs/cgroup/pids/gridrun-j" };
	struct gr_job_state full = {
		.job_id = "gr-002cec8400d5de59", .supervisor_pid = 29398, .supervisor_start = 2366941,
		.supervisor_start_epoch_ns = 1796613482308000000ULL, .spec = "/tmp/x/spec.json", .pid = 29414,
		.pid_start = 2366947, .running = true, .held = true, .account = "atlas001", .bundle = "/b",
		.has_lease = true, .lease = { "pool-a", 3, 3700000000u, 65536 }, .cgroup_version = 1, .ncgroups = 3,
		.freezer = "/sys/fs/cgroup/freezer/gridrun-j", .has_layers = true, .landlock = -95, .lsm = true,
		.accounting = "/var/lib/condor/execute/dir_1/.gridrun.json", .started_ns = 1796613482311000123ULL,
		.isolation = "root", .uid_first = 3700000000u, .uid_count = 65536,
	};
	struct gr_job_state bare = { .job_id = "j", .supervisor_pid = 1, .supervisor_start = 1 };
	struct gr_job_state *entries[] = { &full, &bare };

	for (size_t i = 0; i < 3; i++)
		full.cgroups[i] = cgroups[i];
	for (size_t i = 0; i < ARRAY_SIZE(entries); i++) {
		char *text = written(entries[i]);
		struct gr_job_state st;

		ASSERT_NE(NULL, text);
		/* the scan takes it, and gives what was written */
		ASSERT_EQ(1, gr_job_state_scan(text, 0, &st)) TH_LOG("%s", text);
		EXPECT_TRUE(same(&st, entries[i])) TH_LOG("%s", text);
		gr_job_state_free(&st);
		EXPECT_EQ(0, disagreements(_metadata, text));
		EXPECT_EQ(0, mutants(_metadata, text));
		free(text);
	}
}

TEST(entries_written_by_hand_are_read_alike)
{
	for (size_t i = 0; i < ARRAY_SIZE(written_by_hand); i++) {
		EXPECT_EQ(0, disagreements(_metadata, written_by_hand[i]));
		EXPECT_EQ(0, mutants(_metadata, written_by_hand[i]));
	}
}

TEST_HARNESS_MAIN
