// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fuse_test - S36, its I/O vector (runtime/fsstat.h): a FUSE file system
 * whose daemon never answers, mounted where gridrun reads entries while it
 * holds a pool's locks, must not stall it. A user with user_allow_other in
 * /etc/fuse.conf mounts one through the setuid fusermount3, allow_other, on
 * a directory of its own: /tmp/x, or one in its sandbox. Here root mounts
 * it raw (open /dev/fuse, mount "fuse" with fd=N, allow_other, user_id the
 * pilot's) and never reads the fd: every request to it waits. Each case
 * runs in a child in a mount namespace of its own (the mount is never on
 * the host's /tmp, and ends with the child), bounded: a child that has not
 * finished after BOUND_MS is killed (a fatal signal ends a FUSE wait) and
 * the test fails. Without the fix each of them hangs there.
 * The cases: the leftover scan of release and gc with the mount in /tmp
 * (root mode: lease-leftover.c), the hand-over walk with the mount inside
 * the sandbox, and a sandbox that is itself on FUSE, refused with one line
 * (handover.c). Helper mode: helper_fuse_test. The mount: tests/lib/gt-fuse.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt-pool.h"
#include "gt-fuse.h"
#include "handover.h"

#define PILOT GT_PILOT
#define BOUND_MS GT_FUSE_BOUND_MS

struct tmp_case {
	struct _test_data_pool *self;
	struct gr_lease *a;
	const char *mnt, *file;
};

/* A file of the range in /tmp blocks the release; a FUSE mount point
 * beside it is passed over; once the file is gone gc frees the range. */
static int release_and_gc(void *arg)
{
	struct tmp_case *c = arg;
	struct gr_lease_gc_stats st = { 0 };
	struct gr_error *err = NULL;
	int fd, r;

	if (gt_fuse_mount(c->mnt) < 0)
		return 10;
	fd = open(c->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || fchown(fd, FIRST + 7, FIRST + 7) < 0)
		return 11;
	close(fd);
	r = gr_lease_release(c->self->pool, c->a, &err);
	if (r != 1 || !strstr(err ? err->msg : "", gt_f("`%s` (owner %u, group %u, mode 0644) is its", c->file,
							FIRST + 7, FIRST + 7))) {
		fprintf(stderr, "release: %d %s\n", r, err ? err->msg : "");
		return 12;
	}
	gr_error_free(err);
	err = NULL;
	unlink(c->file);
	r = gr_lease_gc(c->self->pool, &st, &err);
	if (r != 0 || st.freed != 1) {
		fprintf(stderr, "gc: %d, freed %u: %s\n", r, (unsigned)st.freed, err ? err->msg : "");
		return 13;
	}
	return 0;
}

TEST_F_TIMEOUT(pool, S36_a_fuse_mount_in_tmp_does_not_hang_the_release_or_gc, 60)
{
	struct gr_error *err = NULL;
	struct tmp_case c = { .self = self };
	struct gr_lease a;
	char mnt[64], file[64];

	configure(_metadata, self, 1, 0);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	/* the pilot's directory in the host's /tmp; the mount on it is the child's only */
	snprintf(mnt, sizeof(mnt), "/tmp/gt-s36-fuse-%d", (int)getpid());
	snprintf(file, sizeof(file), "/tmp/gt-s36-file-%d", (int)getpid());
	ASSERT_EQ(0, mkdir(mnt, 0755));
	ASSERT_EQ(0, chown(mnt, PILOT, PILOT));
	c.a = &a;
	c.mnt = mnt;
	c.file = file;
	EXPECT_EQ(0, gt_fuse_bounded(release_and_gc, &c)) TH_LOG("-1: still waiting after %d ms", BOUND_MS);
	unlink(file);
	rmdir(mnt);
}

struct walk_case {
	const char *sbx, *mnt;
	const struct gr_handover *h;
	unsigned long changed[2];
	char msg[400];
};

/* The walk there and back over a sandbox with a FUSE mount point in it
 * (mnt: the sandbox's directory "m"), or of a sandbox on FUSE (mnt: the
 * sandbox): the walk's error line into msg; 0 when both walks finished. */
static int walk_there_and_back(void *arg)
{
	struct walk_case *c = arg;
	struct gr_error *err = NULL;
	struct gr_handover_count n = { 0 };
	int fd, dirfd, r;

	fd = gt_fuse_mount(c->mnt);
	dirfd = open(c->sbx, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || dirfd < 0)
		return 10;
	for (int back = 0; back < 2; back++) {
		r = gr_handover_chown(dirfd, c->h, back, &n, &err);
		if (r < 0) {
			/* the parent reads it from the shared page */
			snprintf(c->msg, sizeof(c->msg), "%s", err->msg);
			return 20 + back;
		}
		c->changed[back] = n.changed;
	}
	return 0;
}

/* the case's result shared with its child */
static struct walk_case *shared_case(void)
{
	struct walk_case *c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return c == MAP_FAILED ? NULL : c;
}

TEST_F_TIMEOUT(pool, S36_a_fuse_mount_in_the_sandbox_does_not_hang_the_walk_there_and_back, 60)
{
	struct walk_case *c = shared_case();
	struct gr_error *err = NULL;
	struct gr_handover h;
	char *sbx = strdup(gt_f("%s/sbx", self->dir)), *m = strdup(gt_f("%s/sbx/m", self->dir));

	ASSERT_NE(NULL, c);
	gt_mkdirs(sbx, 0755, PILOT, PILOT);
	gt_mkdirs(m, 0755, PILOT, PILOT);
	free(gt_write(sbx, "f", "x\n"));
	ASSERT_EQ(0, chown(gt_f("%s/f", sbx), PILOT, PILOT));
	ASSERT_EQ(0, gr_handover_plan(PILOT, PILOT, FIRST, 65536, 0, 0, &h, &err));
	*c = (struct walk_case){ .sbx = sbx, .mnt = m, .h = &h };
	EXPECT_EQ(0, gt_fuse_bounded(walk_there_and_back, c)) TH_LOG("-1: still waiting after %d ms; %s", BOUND_MS, c->msg);
	/* sbx and f there and back; m, the mount point, is not walked */
	EXPECT_EQ(2, c->changed[0]);
	EXPECT_EQ(2, c->changed[1]);
	munmap(c, sizeof(*c));
	free(sbx);
	free(m);
}

TEST_F_TIMEOUT(pool, S36_a_sandbox_on_fuse_is_refused_with_one_line, 60)
{
	struct walk_case *c = shared_case();
	struct gr_error *err = NULL;
	struct gr_handover h;
	char *sbx = strdup(gt_f("%s/sbx", self->dir));

	ASSERT_NE(NULL, c);
	gt_mkdirs(sbx, 0755, PILOT, PILOT);
	ASSERT_EQ(0, gr_handover_plan(PILOT, PILOT, FIRST, 65536, 0, 0, &h, &err));
	*c = (struct walk_case){ .sbx = sbx, .mnt = sbx, .h = &h };
	EXPECT_EQ(20, gt_fuse_bounded(walk_there_and_back, c)) TH_LOG("-1: still waiting after %d ms", BOUND_MS);
	EXPECT_STREQ("sandbox hand-over: the sandbox is on a FUSE file system (fuse), whose daemon answers for "
		     "every owner and can stall the walk: not walked", c->msg);
	munmap(c, sizeof(*c));
	free(sbx);
}

struct ns_case {
	struct _test_data_pool *self;
	struct gr_lease *a;
	const char *dir;
	bool chroot;            /* the lingerer's root: dir/GT_FUSE_SUBDIR */
};

/* a process of the range's user namespace (mapped as gridrun maps it) until killed */
static int job_setup(int ready, void *arg)
{
	return prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || unshare(CLONE_NEWUSER) < 0 ? 1 : 0;
}

/* the pilot keeps the job's namespace by a bind mount at arg[1] (in a mount
 * namespace of its own, below the FUSE mount, whose daemon answers then),
 * and, with arg[2], chroots there */
static int lingerer_setup(int ready, void *arg)
{
	const char **where = arg;
	int fd = open(where[0], O_RDONLY | O_CLOEXEC);
	char path[64];

	if (fd < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || setresgid(PILOT, PILOT, PILOT) < 0 ||
	    setresuid(PILOT, PILOT, PILOT) < 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(path, where[1], NULL, MS_BIND, NULL) < 0) {
		fprintf(stderr, "lingerer: bind %s: %s\n", where[1], strerror(errno));
		return 1;
	}
	close(fd);
	if (where[2] && (chroot(where[2]) < 0 || chdir("/") < 0)) {
		fprintf(stderr, "lingerer: chroot %s: %s\n", where[2], strerror(errno));
		return 1;
	}
	return 0;
}

static int release_past_nsfs(void *arg)
{
	struct ns_case *c = arg;
	struct gt_fuse_daemon d;
	struct gr_error *err = NULL;
	const char *where[3], *want;
	char map[64], ns[64], x[320], sub[300];
	pid_t job, lingerer;
	int r;

	if (gt_fuse_answer(c->dir, &d) < 0)
		return 10;
	job = gt_fork_ready(job_setup, NULL);
	snprintf(map, sizeof(map), "0 %u 65536\n", FIRST);
	for (int i = 0; i < 2; i++) {
		int fd = open(gt_f("/proc/%d/%s", (int)job, i ? "gid_map" : "uid_map"), O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map))
			return 11;
		close(fd);
	}
	snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int)job);
	snprintf(sub, sizeof(sub), "%s/%s", c->dir, GT_FUSE_SUBDIR);
	snprintf(x, sizeof(x), "%s/x", c->chroot ? sub : c->dir);
	where[0] = ns;
	where[1] = x;
	where[2] = c->chroot ? sub : NULL;
	lingerer = gt_fork_ready(lingerer_setup, where);
	kill(job, SIGKILL);
	waitpid(job, NULL, 0);
	/* from here on the daemon never answers; x is cached for no time */
	gt_fuse_stop(&d);
	r = gr_lease_release(c->self->pool, c->a, &err);
	if (c->chroot)
		want = gt_f("cannot tell whether the nsfs mount in the mount namespace of pid %d at `/x` keeps its "
			    "user namespace: that process's root is on a file system gridrun does not ask (fuse)",
			    (int)lingerer);
	else
		want = gt_f("cannot tell whether the nsfs mount in the mount namespace of pid %d at `%s` keeps its "
			    "user namespace: it is below a FUSE mount at `%s`, which gridrun does not ask",
			    (int)lingerer, x, c->dir);
	if (r != 1 || !strstr(err ? err->msg : "", want)) {
		fprintf(stderr, "release: %d %s\n", r, err ? err->msg : "");
		return 12;
	}
	gr_error_free(err);
	kill(lingerer, SIGKILL);
	waitpid(lingerer, NULL, 0);
	return 0;
}

/* The pilot's lingerer keeps the range's namespace by a bind mount below
 * a FUSE mount (chroot: and lives chrooted into that mount), whose daemon
 * stops answering: the release must neither hang nor free the range. */
static void ns_scan_case(struct __test_metadata *_metadata, struct _test_data_pool *self, bool chroot)
{
	struct gr_error *err = NULL;
	struct ns_case c = { .self = self, .chroot = chroot };
	struct gr_lease a;
	char *dir = strdup(gt_f("%s/fz", self->dir));

	configure(_metadata, self, 1, 0);
	gt_mkdirs(dir, 0755, PILOT, PILOT);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	c.a = &a;
	c.dir = dir;
	EXPECT_EQ(0, gt_fuse_bounded(release_past_nsfs, &c)) TH_LOG("-1: still waiting after %d ms", BOUND_MS);
	free(dir);
}

/*
 * lease-userns.c walks to each nsfs mount of a range's namespace to judge
 * it: below a user's FUSE mount that walk looks names up there, and the
 * daemon need only answer until the mount is made. Such a mount is not
 * walked to: the range stays blocked, one line naming both.
 */
TEST_F_TIMEOUT(pool, S36_a_fuse_mount_above_an_nsfs_mount_does_not_hang_the_namespace_scan, 60)
{
	ns_scan_case(_metadata, self, false);
}

/* The same with the pilot's lingerer chrooted into a directory of the FUSE
 * mount: its mountinfo leaves that mount out (its root lies above the
 * process's), so the prefix rule above sees no FUSE mount, and the walk
 * from its root would look `x` up there. Its root's file system is told by
 * its device instead, and not walked. */
TEST_F_TIMEOUT(pool, S36_a_lingerer_chrooted_inside_a_fuse_mount_does_not_hang_the_namespace_scan, 60)
{
	ns_scan_case(_metadata, self, true);
}

TEST_HARNESS_MAIN
