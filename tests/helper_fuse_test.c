// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * helper_fuse_test - S36, its I/O vector, in helper mode (runtime/fsstat.h):
 * gridrun-helper's release walks the chown hand-over back while it holds
 * the pool; a FUSE mount whose daemon never answers (allow_other, the
 * pilot's: tests/lib/gt-fuse.h) sits in the sandbox, and the walk passes
 * over it and finishes; a sandbox that is itself on FUSE is refused with
 * one line before anything is leased. Each runs in a small world
 * (tests/lib/gt-world.h), whose mount namespace holds the mount.
 * Root mode, and the leftover scan: fuse_test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"
#include "gt-helper.h"
#include "gt-fuse.h"

/*
 * The job makes $SBX/m and f; root mounts FUSE on m while the job runs;
 * the job ends and the helper's release walks the sandbox back. Without
 * the fix the walk's stat of m waits for good: gridrun run is still there
 * after the bound, until the connection is closed.
 */
static void fuse_in_sandbox(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *state = pilot_env(w), *spec, *sbx, *ready, *m;
	struct stat st;
	int fd, status;
	pid_t sup;

	spec = pilot_spec(w, "f1", "mkdir $SBX/m; touch $SBX/f; touch $SBX/ready; "
			  "while [ ! -e $SBX/go ]; do sleep 0.1; done");
	ASSERT_LE(0, asprintf(&sbx, "%s/execute/f1", w->dir));
	ASSERT_LE(0, asprintf(&ready, "%s/ready", sbx));
	ASSERT_LE(0, asprintf(&m, "%s/m", sbx));
	sup = gt_start_spec(spec, PILOT);
	ASSERT_TRUE(gt_wait_file(ready, 30000));
	fd = gt_fuse_mount(m);
	ASSERT_LE(0, fd);
	free(gt_write(sbx, "go", "\n"));
	status = gt_wait(sup, 3 * GT_FUSE_BOUND_MS);
	EXPECT_EQ(0, status) TH_LOG("-1: gridrun run still waits after %d ms", 3 * GT_FUSE_BOUND_MS);
	/* ends any wait for the daemon */
	close(fd);
	if (status == -1)
		gt_wait(sup, 30000);
	EXPECT_EQ(0, umount2(m, MNT_DETACH));
	for (int i = 0; i < 3; i++) {
		static const char *const names[] = { ".", "f", "ready" };

		ASSERT_EQ(0, lstat(gt_f("%s/%s", sbx, names[i]), &st));
		EXPECT_EQ(PILOT, st.st_uid) TH_LOG("%s", names[i]);
	}
	free(m);
	free(ready);
	free(sbx);
	free(spec);
	free(state);
}

FIXTURE(fuse) {};
FIXTURE_SETUP(fuse) {}
FIXTURE_TEARDOWN(fuse) {}

TEST_F_TIMEOUT(fuse, S36_a_fuse_mount_in_the_sandbox_does_not_hang_the_helpers_walk_back, 120)
{
	in_world_env(_metadata, 1, fuse_in_sandbox, "GT_WORLD_HANDOVER", "chown");
}

/* The sandbox is the FUSE mount: gridrun-helper's lease refuses it, and
 * so does a release that would walk it back. (The pilot's own gridrun run
 * would wait in its own fstat of the sandbox: that stalls the pilot alone,
 * which can end it; the helper is asked directly here.) */
static void sandbox_on_fuse(struct __test_metadata *_metadata, const struct gt_world *w)
{
	static const char want[] = "gridrun-helper: the sandbox (fd 3) is on a FUSE file system (fuse), whose "
				   "daemon answers for every owner: not handed over\n";
	char *sbx;
	int fd, dfd, status;
	pid_t c;

	ASSERT_LE(0, asprintf(&sbx, "%s/execute/f2", w->dir));
	gt_mkdirs(sbx, 0700, PILOT, PILOT);
	fd = gt_fuse_mount(sbx);
	ASSERT_LE(0, fd);
	dfd = open(sbx, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, dfd);
	c = fork();
	ASSERT_LE(0, c);
	if (c == 0) {
		struct hres r;

		become(PILOT);
		helper(w, (const char *[]){ "lease", "atlas", "f2", "0", "0", NULL }, dfd, &r);
		if (r.status != 77 || strcmp(r.err, want)) {
			fprintf(stderr, "lease: %d %s", r.status, r.err);
			_exit(1);
		}
		helper(w, (const char *[]){ "lease", "atlas", "f2", NULL }, -1, &r);
		if (r.status != 0 || strncmp(r.out, "0 ", 2)) {
			fprintf(stderr, "lease: %d %s", r.status, r.err);
			_exit(2);
		}
		helper(w, (const char *[]){ "release", "atlas", "0", "sandbox", NULL }, dfd, &r);
		if (r.status != 77 || strcmp(r.err, want)) {
			fprintf(stderr, "release: %d %s", r.status, r.err);
			_exit(3);
		}
		_exit(0);
	}
	status = gt_wait(c, 3 * GT_FUSE_BOUND_MS);
	EXPECT_EQ(0, status) TH_LOG("-1: gridrun-helper still waits after %d ms", 3 * GT_FUSE_BOUND_MS);
	/* ends any wait for the daemon */
	close(fd);
	if (status == -1)
		gt_wait(c, 30000);
	close(dfd);
	EXPECT_EQ(0, umount2(sbx, MNT_DETACH));
	free(sbx);
}

TEST_F_TIMEOUT(fuse, S36_a_sandbox_on_fuse_is_refused_by_the_helper_with_one_line, 120)
{
	in_world_env(_metadata, 1, sandbox_on_fuse, "GT_WORLD_HANDOVER", "chown");
}

TEST_HARNESS_MAIN
