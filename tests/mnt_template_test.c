/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mnt_template_test - the template mount namespace (mnt-template.h, issue
 * 13): a job cloned from it sees the tree a job built the usual way sees,
 * read-only, with its sandbox writable; a template the mounts have moved
 * away from is not used and gc remakes it; only a 0700 directory of root's
 * is trusted; remove leaves no mount. Each test runs in a private mount
 * namespace of its own, so no pin reaches the host.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"

#define COPY "mount template: the job's namespace is a copy of it"

FIXTURE(tmpl) {
	char *dir, *state;
};

FIXTURE_SETUP(tmpl)
{
	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	gt_mkdirs(self->state, 0755, -1, -1);
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
	setenv("GRIDRUN_DEBUG", "1", 1);
}

FIXTURE_TEARDOWN(tmpl)
{
	char *argv[] = { (char *)gt_gridrun(), "template", "remove", NULL };
	struct gt_result res;

	gt_run_argv(argv, -1, &res);
	gt_result_free(&res);
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->state);
}

static void gridrun(const char *verb, const char *arg, struct gt_result *res)
{
	char *argv[] = { (char *)gt_gridrun(), (char *)verb, (char *)arg, NULL };

	gt_run_argv(argv, -1, res);
}

/* The job's mounts, without ids: root, mount point, options, type; sorted. */
#define MOUNTS "[\"/bin/sh\", \"-c\", \"awk '{ for (i = 7; $i != \\\"-\\\"; i++) ; print $4, $5, $6, $(i + 1) }' " \
	       "/proc/self/mountinfo | sort; touch /usr/gr-x 2>/dev/null || echo root-ro\"]"

TEST_F(tmpl, a_job_from_the_template_sees_the_tree_a_job_without_it_sees)
{
	char *spec = gt_spec(self->dir, MOUNTS, NULL, NULL);
	struct gt_result plain, made, from;

	gt_run_spec(spec, &plain);
	ASSERT_EQ(0, plain.status) TH_LOG("stderr: %s", plain.err);
	EXPECT_NE(NULL, strstr(plain.err, "mount template: none"));
	EXPECT_EQ(NULL, strstr(plain.err, COPY));
	gridrun("template", NULL, &made);
	ASSERT_EQ(0, made.status) TH_LOG("stderr: %s", made.err);
	gt_run_spec(spec, &from);
	ASSERT_EQ(0, from.status) TH_LOG("stderr: %s", from.err);
	EXPECT_NE(NULL, strstr(from.err, COPY)) TH_LOG("stderr: %s", from.err);
	EXPECT_NE(NULL, strstr(from.out, "root-ro\n"));
	EXPECT_NE(NULL, strstr(from.out, "/ / ro,"));
	EXPECT_STREQ(plain.out, from.out);
	gt_result_free(&plain);
	gt_result_free(&made);
	gt_result_free(&from);
	free(spec);
}

TEST_F(tmpl, a_sandbox_job_from_the_template_writes_its_sandbox_and_nothing_else)
{
	char *sbx, *extra, *spec, *path, *args;
	struct gt_result made, res;
	struct stat st;

	ASSERT_LE(0, asprintf(&sbx, "%s/sbx", self->dir));
	gt_mkdirs(sbx, 0777, -1, -1);   /* no pool: no hand-over, the job writes as itself */
	ASSERT_LE(0, asprintf(&extra, "\"sandbox\": \"%s\"", sbx));
	ASSERT_LE(0, asprintf(&args, "[\"/bin/sh\", \"-c\", \"echo out > %s/f && echo wrote; "
			      "touch /etc/gr-x 2>/dev/null || echo etc-ro; mount -o remount,rw / 2>/dev/null || "
			      "echo no-rw; head -c 3 /dev/zero | wc -c\"]", sbx));
	spec = gt_spec(self->dir, args, NULL, extra);
	gridrun("template", NULL, &made);
	ASSERT_EQ(0, made.status) TH_LOG("stderr: %s", made.err);
	gt_run_spec(spec, &res);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_NE(NULL, strstr(res.err, COPY));
	EXPECT_STREQ("wrote\netc-ro\nno-rw\n3\n", res.out);
	ASSERT_LE(0, asprintf(&path, "%s/f", sbx));
	EXPECT_EQ(0, stat(path, &st));
	gt_result_free(&made);
	gt_result_free(&res);
	free(path);
	free(spec);
	free(extra);
	free(args);
	free(sbx);
}

/* gridrun template, which must succeed */
static void make_template(struct __test_metadata *_metadata)
{
	struct gt_result made;

	gridrun("template", NULL, &made);
	ASSERT_EQ(0, made.status) TH_LOG("stderr: %s", made.err);
	gt_result_free(&made);
}

/* A job of spec that succeeds and says `want` (GRIDRUN_DEBUG) */
static void job_says(struct __test_metadata *_metadata, const char *spec, const char *want)
{
	struct gt_result res;

	gt_run_spec(spec, &res);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_NE(NULL, strstr(res.err, want)) TH_LOG("want `%s`; stderr: %s", want, res.err);
	gt_result_free(&res);
}

/* gridrun gc, which must succeed; whether it says it remade the template */
static bool gc_remade(struct __test_metadata *_metadata)
{
	struct gt_result gc;
	bool remade;

	gridrun("gc", NULL, &gc);
	EXPECT_EQ(0, gc.status) TH_LOG("stderr: %s", gc.err);
	remade = strstr(gc.out, "remade the stale mount template") != NULL;
	gt_result_free(&gc);
	return remade;
}

TEST_F(tmpl, a_template_the_mounts_moved_away_from_is_not_used_and_gc_remakes_it)
{
	char *spec = gt_spec(self->dir, "[\"/bin/true\"]", NULL, NULL), *extra;

	make_template(_metadata);
	ASSERT_LE(0, asprintf(&extra, "%s/extra", self->dir));
	gt_mkdirs(extra, 0755, -1, -1);
	ASSERT_EQ(0, mount("gr-extra", extra, "tmpfs", 0, "size=64k"));
	job_says(_metadata, spec, "mount template: stale");
	EXPECT_TRUE(gc_remade(_metadata));
	job_says(_metadata, spec, COPY);
	umount2(extra, MNT_DETACH);
	free(extra);
	free(spec);
}

/* A gc in a mount namespace of its own (a private /tmp: a unit's
 * PrivateTmp, an admin's shell under pam_namespace) sees other mounts than
 * the namespace the template was made from: it leaves the template as it
 * is, and says so, instead of remaking it from mounts no supervisor of the
 * jobs' namespace sees (which left every job without it). */
TEST_F(tmpl, a_gc_in_another_mount_namespace_leaves_the_template_as_it_is)
{
	char *spec = gt_spec(self->dir, "[\"/bin/true\"]", NULL, NULL), *priv;
	pid_t c;
	int status = -1;

	make_template(_metadata);
	ASSERT_LE(0, asprintf(&priv, "%s/private-tmp", self->dir));
	gt_mkdirs(priv, 0755, -1, -1);
	c = fork();
	ASSERT_LE(0, c);
	if (c == 0) {
		struct gt_result gc;
		bool left;

		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("gr-private-tmp", priv, "tmpfs", 0, "size=64k") < 0)
			_exit(2);
		gridrun("gc", NULL, &gc);
		left = gc.status == 0 && !strstr(gc.out, "remade the stale mount template") &&
		       strstr(gc.err, "gridrun: gc: the mount template was made from another mount namespace than "
			      "this gc's; not remade here (run `gridrun template` where jobs start)");
		if (!left)
			fprintf(stderr, "gc: %d\nout: %s\nerr: %s\n", gc.status, gc.out, gc.err);
		_exit(left ? 0 : 1);
	}
	ASSERT_EQ(c, waitpid(c, &status, 0));
	EXPECT_EQ(0, status);
	/* here, where it was made, it is still the jobs' */
	job_says(_metadata, spec, COPY);
	EXPECT_FALSE(gc_remade(_metadata));
	free(priv);
	free(spec);
}

/* Trusted only in a directory no one else may enter; gc and job starts
 * leave it as it is (the state gc takes no non-job entry for debris). */
TEST_F(tmpl, only_a_directory_of_roots_alone_is_trusted_and_gc_keeps_it)
{
	char *spec = gt_spec(self->dir, "[\"/bin/true\"]", NULL, NULL), *tdir;

	make_template(_metadata);
	ASSERT_LE(0, asprintf(&tdir, "%s/.mnt-template", self->state));
	ASSERT_EQ(0, chmod(tdir, 0755));
	job_says(_metadata, spec, "mount template: none");
	ASSERT_EQ(0, chmod(tdir, 0700));
	EXPECT_FALSE(gc_remade(_metadata));
	job_says(_metadata, spec, COPY);
	free(tdir);
	free(spec);
}

TEST_F(tmpl, remove_leaves_no_mount_and_only_root_makes_one)
{
	struct gt_result made, rm, again, user;
	char *info, *tdir;
	struct stat st;

	gridrun("template", NULL, &made);
	ASSERT_EQ(0, made.status) TH_LOG("stderr: %s", made.err);
	info = gt_read("/proc/self/mountinfo");
	ASSERT_NE(NULL, info);
	EXPECT_NE(NULL, strstr(info, "/.mnt-template/ns "));
	free(info);
	gridrun("template", "remove", &rm);
	ASSERT_EQ(0, rm.status) TH_LOG("stderr: %s", rm.err);
	EXPECT_NE(NULL, strstr(rm.out, "removed"));
	info = gt_read("/proc/self/mountinfo");
	ASSERT_NE(NULL, info);
	EXPECT_EQ(NULL, strstr(info, "/.mnt-template/"));
	free(info);
	ASSERT_LE(0, asprintf(&tdir, "%s/.mnt-template", self->state));
	EXPECT_NE(0, stat(tdir, &st));
	gridrun("template", "remove", &again);
	EXPECT_EQ(0, again.status);
	EXPECT_NE(NULL, strstr(again.out, "there was none"));
	{
		char *argv[] = { (char *)gt_gridrun(), "template", NULL };

		gt_run_argv(argv, 65534, &user);
	}
	EXPECT_EQ(125, user.status);
	EXPECT_EQ(0, stat("/proc/self", &st));
	gt_result_free(&made);
	gt_result_free(&rm);
	gt_result_free(&again);
	gt_result_free(&user);
	free(tdir);
}

TEST_HARNESS_MAIN
