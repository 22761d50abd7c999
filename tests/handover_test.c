// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * handover_test - the sandbox hand-over (runtime/handover.h) on its own:
 * the chown walk changes exactly the entries it should (never a symlink's
 * target outside the tree, never another filesystem mounted inside, never
 * another owner's file), clears set-id bits on the way back, refuses a tree
 * deeper than its limit; the idmapped mount shows the owner's files as the
 * job's and stores the job's as the owner's, where the kernel and the
 * filesystem allow it (ext4, xfs, btrfs, tmpfs from Linux 6.3) and fails
 * cleanly where they do not (the v2 lane's guest runs from an overlay).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"
#include "handover.h"

#define OWNER 4321u
#define OTHER_OWNER 4322u

static uid_t first(void)
{
	return GT_FIRST;
}

static void mkfile(const char *dir, const char *name, uid_t uid, mode_t mode)
{
	char *p = gt_write(dir, name, "x\n");

	if (chown(p, uid, uid) < 0 || chmod(p, mode) < 0)
		abort();
	free(p);
}

static uid_t owner_of(const char *dir, const char *name)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (lstat(p, &st) < 0)
		return (uid_t)-2;
	return st.st_uid;
}

static mode_t mode_of(const char *dir, const char *name)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) < 0 ? 0 : st.st_mode & 07777;
}

FIXTURE(ho) {
	char *dir, *sbx;
	int fd;
	struct gr_handover h;
};

FIXTURE_SETUP(ho)
{
	struct gr_error *err = NULL;

	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->sbx, "%s/sbx", self->dir));
	gt_mkdirs(self->sbx, 0700, OWNER, OWNER);
	self->fd = open(self->sbx, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, gr_handover_plan(OWNER, OWNER, first(), 65536, 0, 0, &self->h, &err));
}

FIXTURE_TEARDOWN(ho)
{
	close(self->fd);
	gt_rm_rf(self->dir);
	free(self->sbx);
	free(self->dir);
}

TEST_F(ho, plan_never_hands_over_root_or_the_range_itself)
{
	struct gr_error *err = NULL;
	struct gr_handover h;

	EXPECT_EQ(1, gr_handover_plan(0, 0, first(), 65536, 0, 0, &h, &err));
	EXPECT_EQ(1, gr_handover_plan(first() + 7, 5, first(), 65536, 0, 0, &h, &err));
	/* group 0 is not handed over, the owner is */
	EXPECT_EQ(0, gr_handover_plan(OWNER, 0, first(), 65536, 1, 2, &h, &err));
	EXPECT_EQ((gid_t)-1, h.group);
	EXPECT_EQ(first() + 1, h.uid);
	EXPECT_EQ(first() + 2, h.gid);
	/* ids outside the range: an error naming them */
	EXPECT_GT(0, gr_handover_plan(OWNER, OWNER, first(), 65536, 65536, 0, &h, &err));
	ASSERT_NE(NULL, err);
	EXPECT_NE(NULL, strstr(err->msg, "ids 65536:0 are outside the range")) TH_LOG("%s", err->msg);
	gr_error_free(err);
}

TEST_F(ho, chown_walk_changes_exactly_the_owners_entries_and_gives_them_back)
{
	struct gr_error *err = NULL;
	struct gr_handover_count n = { 0 };
	char *outside_dir, *sub, *deep;

	/* outside the tree: a file of OWNER that a symlink inside points to */
	ASSERT_LE(0, asprintf(&outside_dir, "%s/outside", self->dir));
	gt_mkdirs(outside_dir, 0755, OWNER, OWNER);
	mkfile(outside_dir, "target", OWNER, 0644);
	ASSERT_LE(0, asprintf(&sub, "%s/sub", self->sbx));
	gt_mkdirs(sub, 0755, OWNER, OWNER);
	ASSERT_LE(0, asprintf(&deep, "%s/sub/a/b/c", self->sbx));
	gt_mkdirs(deep, 0700, OWNER, OWNER);
	ASSERT_EQ(0, chown(gt_f("%s/sub/a", self->sbx), OWNER, OWNER));
	ASSERT_EQ(0, chown(gt_f("%s/sub/a/b", self->sbx), OWNER, OWNER));
	mkfile(self->sbx, "file", OWNER, 0600);
	mkfile(deep, "leaf", OWNER, 0600);
	mkfile(sub, "others", OTHER_OWNER, 0644);
	ASSERT_EQ(0, symlink("../outside/target", gt_f("%s/link", self->sbx)));
	ASSERT_EQ(0, lchown(gt_f("%s/link", self->sbx), OWNER, OWNER));
	/* a filesystem mounted inside: not the sandbox's, never walked */
	gt_mkdirs(gt_f("%s/mnt", self->sbx), 0755, OWNER, OWNER);
	ASSERT_EQ(0, mount("t", gt_f("%s/mnt", self->sbx), "tmpfs", 0, "mode=0755"));
	mkfile(gt_f("%s/mnt", self->sbx), "onmnt", 0, 0644);
	ASSERT_EQ(0, chown(gt_f("%s/mnt/onmnt", self->sbx), OWNER, OWNER));

	ASSERT_EQ(0, gr_handover_chown(self->fd, &self->h, false, &n, &err)) TH_LOG("%s", err->msg);
	/* sbx, sub, a, b, c, file, leaf, link */
	EXPECT_EQ(8, n.changed);
	EXPECT_EQ(first(), owner_of(self->sbx, "."));
	EXPECT_EQ(first(), owner_of(self->sbx, "file"));
	EXPECT_EQ(first(), owner_of(self->sbx, "link"));
	EXPECT_EQ(first(), owner_of(self->sbx, "sub/a/b/c/leaf"));
	EXPECT_EQ(OTHER_OWNER, owner_of(self->sbx, "sub/others"));
	EXPECT_EQ(OWNER, owner_of(outside_dir, "target"));
	EXPECT_EQ(OWNER, owner_of(self->sbx, "mnt/onmnt"));

	/* the job's own files, one of them set-user-ID, one of another id of its range */
	mkfile(deep, "made", first(), 04755);
	mkfile(self->sbx, "made2", first() + 1000, 0644);
	EXPECT_EQ(04755, mode_of(deep, "made"));
	ASSERT_EQ(0, gr_handover_chown(self->fd, &self->h, true, &n, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(10, n.changed);
	EXPECT_EQ(OWNER, owner_of(self->sbx, "."));
	EXPECT_EQ(OWNER, owner_of(self->sbx, "sub/a/b/c/leaf"));
	EXPECT_EQ(OWNER, owner_of(deep, "made"));
	EXPECT_EQ(OWNER, owner_of(self->sbx, "made2"));
	EXPECT_EQ(0755, mode_of(deep, "made")) TH_LOG("the set-user-ID bit must not survive the way back");
	EXPECT_EQ(OTHER_OWNER, owner_of(self->sbx, "sub/others"));
	EXPECT_EQ(OWNER, owner_of(outside_dir, "target"));
	umount2(gt_f("%s/mnt", self->sbx), MNT_DETACH);
	free(outside_dir);
	free(sub);
	free(deep);
}

TEST_F(ho, chown_walk_refuses_a_tree_deeper_than_its_limit)
{
	struct gr_error *err = NULL;
	int fd = open(self->sbx, O_RDONLY | O_DIRECTORY);

	ASSERT_LE(0, fd);
	for (int i = 0; i < GR_HANDOVER_MAX_DEPTH + 2; i++) {
		int next;

		ASSERT_EQ(0, mkdirat(fd, "d", 0755));
		ASSERT_EQ(0, fchownat(fd, "d", OWNER, OWNER, 0));
		next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
		ASSERT_LE(0, next);
		close(fd);
		fd = next;
	}
	close(fd);
	EXPECT_GT(0, gr_handover_chown(self->fd, &self->h, false, NULL, &err));
	ASSERT_NE(NULL, err);
	EXPECT_NE(NULL, strstr(err->msg, "deeper than 512 directories")) TH_LOG("%s", err->msg);
	gr_error_free(err);
}

TEST_F(ho, idmapped_mount_where_the_filesystem_allows_it_else_a_clean_error)
{
	struct gr_error *err = NULL;
	bool expected = gt_idmap_expected(self->sbx);
	int mfd, status;
	pid_t pid;

	mkfile(self->sbx, "mine", OWNER, 0600);
	mfd = gr_handover_idmap(self->fd, &self->h, &err);
	if (!expected) {
		EXPECT_GT(0, mfd);
		ASSERT_NE(NULL, err);
		EXPECT_NE(NULL, strstr(err->msg, "idmap: ")) TH_LOG("%s", err->msg);
		gr_error_free(err);
		return;
	}
	ASSERT_LE(0, mfd) TH_LOG("%s", err ? err->msg : "");
	/* attach it over the sandbox itself in a private mount namespace */
	pid = fork();
	if (pid == 0) {
		struct stat st;
		int fd;

		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    move_mount(mfd, "", AT_FDCWD, self->sbx, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			_exit(2);
		/* the owner's file is the range's */
		if (stat(gt_f("%s/mine", self->sbx), &st) < 0 || st.st_uid != first() || st.st_gid != first())
			_exit(3);
		/* the range's new file is stored as the owner's */
		if (setresgid(first(), first(), first()) < 0 || setresuid(first(), first(), first()) < 0)
			_exit(4);
		fd = open(gt_f("%s/new", self->sbx), O_CREAT | O_WRONLY | O_EXCL, 0600);
		if (fd < 0)
			_exit(5);
		close(fd);
		_exit(0);
	}
	close(mfd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(OWNER, owner_of(self->sbx, "new"));
	EXPECT_EQ(OWNER, owner_of(self->sbx, "mine"));
}

TEST_F(ho, auto_falls_back_to_chown_only_where_idmap_cannot_be)
{
	struct gr_error *err = NULL;
	struct gr_handover_count n = { 0 };
	int mfd = -1;

	ASSERT_EQ(0, gr_handover_begin(self->fd, &self->h, GR_HANDOVER_AUTO, &mfd, &n, &err))
		TH_LOG("%s", err->msg);
	if (gt_idmap_expected(self->sbx)) {
		EXPECT_LE(0, mfd);
		EXPECT_EQ(0, n.changed);
		EXPECT_EQ(OWNER, owner_of(self->sbx, "."));
		close(mfd);
	} else {
		EXPECT_EQ(-1, mfd);
		EXPECT_EQ(1, n.changed);
		EXPECT_EQ(first(), owner_of(self->sbx, "."));
	}
	/* forced idmap where it cannot be: an error, nothing changed */
	if (!gt_idmap_expected(self->sbx)) {
		ASSERT_EQ(0, gr_handover_chown(self->fd, &self->h, true, &n, &err));
		EXPECT_GT(0, gr_handover_begin(self->fd, &self->h, GR_HANDOVER_IDMAP, &mfd, &n, &err));
		ASSERT_NE(NULL, err);
		EXPECT_NE(NULL, strstr(err->msg, "sandbox hand-over: idmap: ")) TH_LOG("%s", err->msg);
		EXPECT_EQ(OWNER, owner_of(self->sbx, "."));
		gr_error_free(err);
	}
}

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

/* S32's attacker: swaps dir/a and dir/b as fast as it can, until killed. */
static pid_t swapper(const char *dir)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			syscall(SYS_renameat2, fd, "a", fd, "b", RENAME_EXCHANGE);
	}
	return pid;
}

/*
 * S32: while both walks run, again and again, `a` (the owner's file, then
 * the range's) and `b` (a hard link to a root 0666 file outside the
 * sandbox) are swapped by renameat2(RENAME_EXCHANGE). The root file never
 * changes owner, group or mode. Before the walk acted on the inode it
 * checked (statx by name, fchownat by name), the root file was the range's
 * within a few hundred walks.
 */
TEST_F(ho, S32_walks_racing_a_swap_with_a_hard_link_change_no_inode_they_did_not_check)
{
	struct gr_error *err = NULL;
	struct gr_handover_count n;
	char *outside = strdup(gt_f("%s/outside", self->dir)), *rootf;
	unsigned long long end;
	unsigned walks = 0;
	struct stat st;
	int status;
	pid_t pid;

	gt_mkdirs(outside, 0755, 0, 0);
	rootf = gt_write(outside, "root-file", "root's\n");
	ASSERT_EQ(0, chown(rootf, 0, 0));
	ASSERT_EQ(0, chmod(rootf, 0666));
	ASSERT_EQ(0, link(rootf, gt_f("%s/b", self->sbx)));
	mkfile(self->sbx, "a", OWNER, 0644);
	pid = swapper(self->sbx);
	ASSERT_LT(0, pid);
	for (end = now_ms() + 4000; now_ms() < end; walks++) {
		for (int back = 0; back < 2; back++) {
			if (gr_handover_chown(self->fd, &self->h, back, &n, &err) < 0) {
				TH_LOG("walk %u: %s", walks, err->msg);
				gr_error_free(err);
				err = NULL;
			}
			ASSERT_EQ(0, stat(rootf, &st));
			if (st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 07777) != 0666)
				break;
		}
		if (st.st_uid != 0 || st.st_gid != 0 || (st.st_mode & 07777) != 0666)
			break;
	}
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, st.st_uid) TH_LOG("the root file became uid %u's after %u walks each way",
				       (unsigned)st.st_uid, walks);
	EXPECT_EQ(0, st.st_gid);
	EXPECT_EQ(0666, st.st_mode & 07777);
	EXPECT_LT(100, walks) TH_LOG("only %u walks each way: no race to speak of", walks);
	/* whichever name it has now, the owner's file is the owner's after the way back */
	ASSERT_EQ(0, gr_handover_chown(self->fd, &self->h, true, &n, &err));
	EXPECT_EQ(OWNER, owner_of(self->sbx, owner_of(self->sbx, "a") == 0 ? "b" : "a"));
	free(rootf);
	free(outside);
}

/*
 * H1 and hard links: to the range, only the owner's entries change, group
 * included (a root file of the owner's group stays root's and the
 * group's); a file of the owner's with a second name (here outside the
 * sandbox) stays the owner's and is counted. Back, a file of the range
 * with two names is given back (once), a root file with a range group is
 * left alone.
 */
TEST_F(ho, H1_only_the_expected_owners_entries_change_and_linked_files_stay_the_owners)
{
	struct gr_error *err = NULL;
	struct gr_handover_count n = { 0 };
	char *outside = strdup(gt_f("%s/outside", self->dir));
	struct stat st;

	gt_mkdirs(outside, 0755, OWNER, OWNER);
	mkfile(self->sbx, "root-grp", 0, 0644);
	ASSERT_EQ(0, chown(gt_f("%s/root-grp", self->sbx), 0, OWNER));
	mkfile(self->sbx, "mine", OWNER, 0644);
	mkfile(outside, "elsewhere", OWNER, 0600);
	ASSERT_EQ(0, link(gt_f("%s/elsewhere", outside), gt_f("%s/linked", self->sbx)));

	ASSERT_EQ(0, gr_handover_chown(self->fd, &self->h, false, &n, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(2, n.changed);       /* . and mine */
	EXPECT_EQ(1, n.linked);
	ASSERT_EQ(0, lstat(gt_f("%s/root-grp", self->sbx), &st));
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(OWNER, st.st_gid) TH_LOG("a root file of the owner's group was given the range's group");
	ASSERT_EQ(0, lstat(gt_f("%s/elsewhere", outside), &st));
	EXPECT_EQ(OWNER, st.st_uid) TH_LOG("a file with a name outside the sandbox was handed to the range");
	EXPECT_EQ(OWNER, st.st_gid);
	EXPECT_EQ(first(), owner_of(self->sbx, "mine"));

	/* the job's: a file with two names; root's, with a group of the range */
	mkfile(self->sbx, "made", first() + 3, 0644);
	ASSERT_EQ(0, link(gt_f("%s/made", self->sbx), gt_f("%s/made2", self->sbx)));
	mkfile(self->sbx, "root-range-grp", 0, 0644);
	ASSERT_EQ(0, chown(gt_f("%s/root-range-grp", self->sbx), 0, first() + 3));
	ASSERT_EQ(0, gr_handover_chown(self->fd, &self->h, true, &n, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(3, n.changed);       /* ., mine, made (made2 is the same inode) */
	EXPECT_EQ(0, n.linked);
	EXPECT_EQ(OWNER, owner_of(self->sbx, "made2"));
	ASSERT_EQ(0, lstat(gt_f("%s/root-range-grp", self->sbx), &st));
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(first() + 3, st.st_gid);
	free(outside);
}

TEST_HARNESS_MAIN
