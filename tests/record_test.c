/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * record_test - S31 against the accounting record (issue 12, V1): while the
 * job runs, it replaces a directory on the record's path
 * (SANDBOX/a/b/record.json) by a symlink to a directory it must not reach
 * through gridrun: root-only in root mode, the caller's own private
 * directory in one-uid mode. At each depth it can write (a, and a/b),
 * moving the directory away (the record must land in it, under its new
 * name) or removing it (the write must fail, one line, exit 125). The
 * target's files stay as they were and nothing is added to it. Helper
 * mode (a pilot's gridrun, the job in a leased range): the target is the
 * pilot's own private directory.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"
#include "gt-helper.h"

#define UNPRIV_UID 23456
#define NOBODY 65534

FIXTURE(rec) {
	char *dir, *sbx, *target, *victim;
	struct gt_result res;
};

FIXTURE_VARIANT(rec) {
	bool unpriv;     /* one-uid mode: gridrun run by UNPRIV_UID */
	int depth;       /* 1: a is replaced; 2: a/b */
	bool remove;     /* rm -rf instead of mv */
};

FIXTURE_VARIANT_ADD(rec, root_depth1_moved) { .unpriv = false, .depth = 1 };
FIXTURE_VARIANT_ADD(rec, root_depth2_moved) { .unpriv = false, .depth = 2 };
FIXTURE_VARIANT_ADD(rec, root_depth1_removed) { .unpriv = false, .depth = 1, .remove = true };
FIXTURE_VARIANT_ADD(rec, root_depth2_removed) { .unpriv = false, .depth = 2, .remove = true };
FIXTURE_VARIANT_ADD(rec, one_uid_depth1_moved) { .unpriv = true, .depth = 1 };
FIXTURE_VARIANT_ADD(rec, one_uid_depth2_moved) { .unpriv = true, .depth = 2 };
FIXTURE_VARIANT_ADD(rec, one_uid_depth1_removed) { .unpriv = true, .depth = 1, .remove = true };

static char *cat(const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s/%s", a, b) < 0)
		abort();
	return s;
}

FIXTURE_SETUP(rec)
{
	uid_t job = variant->unpriv ? UNPRIV_UID : NOBODY;
	uid_t owner = variant->unpriv ? UNPRIV_UID : 0;
	char *p, *state;

	memset(&self->res, 0, sizeof(self->res));
	self->dir = gt_tmpdir();
	state = cat(self->dir, "state");
	gt_mkdirs(state, 0700, owner, owner);
	setenv("GRIDRUN_STATE_DIR", state, 1);
	free(state);
	self->sbx = cat(self->dir, "sbx");
	gt_mkdirs(self->sbx, 0755, job, job);
	p = cat(self->sbx, "a");
	gt_mkdirs(p, 0755, job, job);
	free(p);
	p = cat(self->sbx, "a/b");
	gt_mkdirs(p, 0755, job, job);
	free(p);
	/* the directory the symlink points at, and a file in it of its owner's,
	 * where the record would land: target/record.json (depth 2) or
	 * target/b/record.json (depth 1) */
	self->target = cat(self->dir, "target");
	gt_mkdirs(self->target, 0700, owner, owner);
	p = cat(self->target, "b");
	gt_mkdirs(p, 0700, owner, owner);
	self->victim = gt_write(p, "record.json", "victim\n");
	free(p);
	p = gt_write(self->target, "record.json", "victim\n");
	ASSERT_EQ(0, chown(p, owner, owner));
	ASSERT_EQ(0, chmod(p, 0600));
	free(p);
	ASSERT_EQ(0, chown(self->victim, owner, owner));
	ASSERT_EQ(0, chmod(self->victim, 0600));
}

FIXTURE_TEARDOWN(rec)
{
	gt_result_free(&self->res);
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->sbx);
	free(self->target);
	free(self->victim);
}

/* Entries below dir, recursively, as "name name/sub ..." */
static void list(const char *dir, const char *pre, char *out, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	while (d && (de = readdir(d))) {
		char *sub, *name;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (asprintf(&name, "%s%s", pre, de->d_name) < 0 || asprintf(&sub, "%s/%s", dir, de->d_name) < 0)
			abort();
		snprintf(out + strlen(out), size - strlen(out), "%s ", name);
		if (de->d_type == DT_DIR) {
			char *p2;

			if (asprintf(&p2, "%s/", name) < 0)
				abort();
			list(sub, p2, out, size);
			free(p2);
		}
		free(sub);
		free(name);
	}
	if (d)
		closedir(d);
}

TEST_F_TIMEOUT(rec, S31_record_path_replaced_by_a_symlink_while_the_job_runs, 120)
{
	char *script, *gr, *spec, *rec = cat(self->sbx, "a/b/record.json"), *moved, *v;
	char before[1024] = "", after[1024] = "";
	const char *which = variant->depth == 1 ? "a" : "a/b";
	const char *to = variant->depth == 1 ? self->target : self->target;
	char *argv[] = { (char *)gt_gridrun(), "run", NULL, NULL };
	struct stat st;
	json_t *args, *o;

	list(self->target, "", before, sizeof(before));
	if (asprintf(&script, "cd %s && %s %s %s && ln -s %s %s && echo replaced", self->sbx,
		     variant->remove ? "rm -rf" : "mv", which, variant->remove ? "" : (variant->depth == 1 ? "a.old" : "a/b.old"),
		     to, which) < 0 ||
	    asprintf(&gr, "\"sandbox\": \"%s\", \"accounting\": \"%s\"", self->sbx, rec) < 0)
		abort();
	args = json_pack("[sss]", "/bin/sh", "-c", script);
	v = json_dumps(args, JSON_COMPACT);
	spec = gt_spec(self->dir, v, NULL, gr);
	chmod(spec, 0644);
	argv[2] = spec;
	gt_run_argv(argv, variant->unpriv ? UNPRIV_UID : -1, &self->res);
	ASSERT_STREQ("replaced\n", self->res.out) TH_LOG("stderr: %s", self->res.err);

	/* the target: the same entries, its files untouched */
	list(self->target, "", after, sizeof(after));
	EXPECT_STREQ(before, after);
	free(v);
	v = gt_read(self->victim);
	EXPECT_STREQ("victim\n", v);
	free(v);
	moved = cat(self->target, "record.json");
	v = gt_read(moved);
	EXPECT_STREQ("victim\n", v);
	free(v);
	free(moved);

	if (variant->remove) {
		/* the directory is gone: the write fails cleanly, said once */
		EXPECT_EQ(125, self->res.status);
		EXPECT_NE(NULL, strstr(self->res.err, "gridrun: accounting: create a temp file in the directory of `"))
			TH_LOG("stderr: %s", self->res.err);
	} else {
		/* the record is in the directory gridrun opened, under its new name */
		EXPECT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
		moved = cat(self->sbx, variant->depth == 1 ? "a.old/b/record.json" : "a/b.old/record.json");
		o = json_load_file(moved, 0, NULL);
		ASSERT_NE(NULL, o) TH_LOG("no record at %s; stderr: %s", moved, self->res.err);
		EXPECT_STREQ("exited", json_string_value(json_object_get(o, "reason")));
		json_decref(o);
		/* written with the directory owner's ids, not root's */
		ASSERT_EQ(0, stat(moved, &st));
		EXPECT_EQ(variant->unpriv ? UNPRIV_UID : NOBODY, st.st_uid);
		free(moved);
	}
	json_decref(args);
	free(script); free(gr); free(spec); free(rec);
}

/* A symlink on the path before the job: refused, one line, nothing run. */
TEST_F(rec, a_symlink_in_the_record_path_is_refused_before_the_job)
{
	char *link = cat(self->dir, "link"), *gr, *spec;

	ASSERT_EQ(0, symlink(self->sbx, link));
	if (asprintf(&gr, "\"accounting\": \"%s/a/record.json\"", link) < 0)
		abort();
	spec = gt_spec(self->dir, "[\"/bin/echo\", \"the-job-ran\"]", NULL, gr);
	gt_run_spec(spec, &self->res);
	EXPECT_EQ(125, self->res.status);
	EXPECT_STREQ("", self->res.out);
	EXPECT_NE(NULL, strstr(self->res.err, "gridrun.accounting: the directory `")) TH_LOG("%s", self->res.err);
	EXPECT_NE(NULL, strstr(self->res.err, "` has a symlink in its path")) TH_LOG("%s", self->res.err);
	free(link); free(gr); free(spec);
}

static void helper_mode_s31(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *state = pilot_env(w), *spec, *sbx, *target, *gr, *script, *a, *v;
	char *argv[] = { (char *)gt_gridrun(), "run", NULL, NULL };
	char before[512] = "", after[512] = "";
	struct gt_result res = { 0 };
	json_t *args, *o;

	/* makes execute/s31, the pilot's (its own spec is not used) */
	free(pilot_spec(w, "s31", "true"));
	sbx = strdup(gt_f("%s/execute/s31", w->dir));
	target = strdup(gt_f("%s/pilot-private", w->dir));
	gt_mkdirs(gt_f("%s/a", sbx), 0755, PILOT, PILOT);
	gt_mkdirs(target, 0700, PILOT, PILOT);
	v = gt_write(target, "record.json", "victim\n");
	ASSERT_EQ(0, chown(v, PILOT, PILOT));
	ASSERT_EQ(0, chmod(v, 0600));
	free(v);
	list(target, "", before, sizeof(before));
	ASSERT_LE(0, asprintf(&script, "cd %s && mv a a.old && ln -s %s a && echo replaced", sbx, target));
	ASSERT_LE(0, asprintf(&gr, "\"job_id\": \"s31\", \"pool\": \"atlas\", \"account\": \"atlas001\", "
			      "\"sandbox\": \"%s\", \"accounting\": \"%s/a/record.json\"", sbx, sbx));
	args = json_pack("[sss]", "/bin/sh", "-c", script);
	a = json_dumps(args, JSON_COMPACT);
	spec = gt_spec(w->dir, a, NULL, gr);
	chmod(spec, 0644);
	argv[2] = spec;
	gt_run_argv(argv, PILOT, &res);
	EXPECT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ("replaced\n", res.out) TH_LOG("stderr: %s", res.err);
	list(target, "", after, sizeof(after));
	EXPECT_STREQ(before, after);
	v = gt_read(gt_f("%s/record.json", target));
	EXPECT_STREQ("victim\n", v);
	free(v);
	o = json_load_file(gt_f("%s/a.old/record.json", sbx), 0, NULL);
	EXPECT_NE(NULL, o) TH_LOG("no record in the moved directory; stderr: %s", res.err);
	json_decref(o);
	json_decref(args);
	gt_result_free(&res);
	free(state); free(spec); free(sbx); free(target); free(gr); free(script); free(a);
}

TEST(S31_helper_mode_record_path_replaced_by_a_symlink_to_the_pilots_dir)
{
	in_world(_metadata, 2, helper_mode_s31);
}

TEST_HARNESS_MAIN
