// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lease_test.c - leases of uid ranges (runtime/lease.c): acquire, release,
 * quarantine, gc, accounts, exhaustion, concurrency, dead and garbled
 * leases, the lease directory's mode, layout changes and the time of a
 * cycle. S33 (no range leased while a process holds its ids or its user
 * namespace) is in s33_lease_test.c; the fixture is tests/lib/gt-pool.h.
 *
 * It drives the library on real files in a scratch lease directory, with
 * holders that are real processes (forked children, some of them
 * SIGKILLed). Pools start at gt_pool_first() (3000000000 and up, per test
 * process), far from any account.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fiemap.h>
#include <linux/loop.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "config.h"
#include "gt.h"
#include "gt-world.h"
#include "lease.h"
#include "gt-pool.h"

/* A child that acquires a lease with itself as holder, reports the index on
 * `report`, then waits for a byte on `hold` (or dies) and releases. */
static pid_t holder(const struct gr_pool *pool, const char *job, int report[2], int hold[2])
{
	pid_t pid = fork();

	if (pid == 0) {
		struct gr_error *err = NULL;
		struct gr_lease l;
		int r, idx;
		char c;

		close(report[0]);
		if (hold)
			close(hold[1]);
		r = gr_lease_acquire(pool, "atlas001", job, getpid(), &l, &err);
		idx = r < 0 ? -1 : (int)l.index;
		if (write(report[1], &idx, sizeof(idx)) != sizeof(idx))
			_exit(3);
		if (r < 0)
			_exit(2);
		if (hold && read(hold[0], &c, 1) < 0)
			_exit(4);
		_exit(gr_lease_release(pool, &l, &err) < 0 ? 5 : 0);
	}
	return pid;
}

TEST_F(pool, acquire_writes_a_complete_lease_in_a_private_dir)
{
	struct gr_error *err = NULL;
	struct gr_lease a, b, on_disk;
	struct stat st;
	char *path, *text, *boot;
	int l, q, o;

	configure(_metadata, self, 4, 600);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "job.1", getpid(), &a, &err))
		TH_LOG("%s", err->msg);
	EXPECT_EQ(0, a.index);
	EXPECT_EQ(FIRST, a.first);
	EXPECT_EQ(65536, a.count);
	EXPECT_STREQ("job.1", a.job_id);
	EXPECT_STREQ("atlas001", a.account);
	EXPECT_EQ(getpid(), a.holder_pid);
	EXPECT_EQ(gr_proc_starttime(getpid()), a.holder_start);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas002", "job.2", getpid(), &b, &err));
	EXPECT_EQ(1, b.index);
	EXPECT_EQ(FIRST + 65536, b.first);
	/* what is on disk is the lease, complete */
	ASSERT_EQ(0, gr_lease_read(self->pool, 0, &on_disk, &err));
	EXPECT_EQ(0, memcmp(&a, &on_disk, sizeof(a)));
	text = gt_read(path = pool_file(self, "0.lease"));
	boot = gt_read("/proc/sys/kernel/random/boot_id");
	boot[strcspn(boot, "\n")] = '\0';
	ASSERT_NE(NULL, text);
	EXPECT_NE(NULL, strstr(text, boot));
	EXPECT_NE(NULL, strstr(text, "\"holder_start\":"));
	EXPECT_NE(NULL, strstr(text, "\"leased_at\":"));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
	free(text);
	free(boot);
	free(path);
	/* the lease dir and the pool's dir: root's alone */
	ASSERT_EQ(0, stat(self->leases, &st));
	EXPECT_EQ(040700, st.st_mode & 0177777);
	EXPECT_EQ(0, st.st_uid);
	path = pool_file(self, "");
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(040700, st.st_mode & 0177777);
	free(path);
	ASSERT_EQ(0, pool_entries(self, &l, &q, &o));
	EXPECT_EQ(2, l);
	EXPECT_EQ(0, o);   /* no temp file left */
	EXPECT_EQ(0, gr_lease_release(self->pool, &a, &err));
	EXPECT_EQ(0, gr_lease_release(self->pool, &b, &err));
}

/* path's first extent is still delayed (no block allocated yet, so
 * nothing was written back): 1; 0 allocated; -1 cannot tell (FIEMAP). */
static int delayed(const char *path)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent ext[1];
	} f = { .fm = { .fm_length = ~0ULL, .fm_extent_count = 1 } };
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = -1;

	if (fd < 0)
		return -1;
	if (ioctl(fd, FS_IOC_FIEMAP, &f.fm) == 0 && f.fm.fm_mapped_extents == 1)
		r = !!(f.ext[0].fe_flags & FIEMAP_EXTENT_DELALLOC);
	close(fd);
	return r;
}

/* On ext4 (the default lease dir's filesystem on a Debian host) an acquire
 * leaves the new lease's data to the kernel's flusher: its temp file is
 * never truncated to 0, which would make ext4 write the data back at its
 * close (auto_da_alloc), in the acquirer's time (issue 13). The lease dir is
 * a fresh ext4 on a loop device, mounted in this test's own mount
 * namespace, so that the test runs alike wherever /tmp is (tmpfs in the v2
 * guest). Fails with set_contents()'s ftruncate(fd, 0) first (tried: the
 * extent of 0.lease is allocated when the acquire returns). */
TEST_F(pool, acquire_leaves_the_leases_data_to_the_flusher_on_ext4)
{
	struct gr_error *err = NULL;
	struct gr_lease a;
	struct statfs sf;
	char *img = strdup(gt_f("%s/ext4.img", self->dir)), *path, dev[64], cmd[128];
	int fd, loopfd;

	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	fd = open(img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 32 << 20));
	close(fd);
	loopfd = gt_loop_attach(img, dev, sizeof(dev));
	ASSERT_LE(0, loopfd) TH_LOG("no loop device: %s", strerror(errno));
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F %s >/dev/null 2>&1", dev);
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(0, mkdir(self->leases, 0700));
	ASSERT_EQ(0, mount(dev, self->leases, "ext4", MS_NOSUID | MS_NODEV, NULL)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, chmod(self->leases, 0700));
	ASSERT_EQ(0, statfs(self->leases, &sf));
	ASSERT_EQ(0xEF53, sf.f_type);
	configure(_metadata, self, 4, 0);
	path = pool_file(self, "0.lease");
	for (int i = 0; i < 2; i++) {   /* the pool's first acquire, and another */
		ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "job.1", getpid(), &a, &err))
			TH_LOG("%s", err->msg);
		ASSERT_EQ(0, a.index);
		EXPECT_EQ(1, delayed(path)) TH_LOG("acquire %d", i);
		ASSERT_EQ(0, gr_lease_release(self->pool, &a, &err)) TH_LOG("%s", err->msg);
	}
	umount2(self->leases, MNT_DETACH);
	ioctl(loopfd, LOOP_CLR_FD);
	close(loopfd);
	free(path);
	free(img);
	gr_error_free(err);
}

/* path is the inode old was, private, and holds the lease of job now (cut
 * to its length), nothing of job before's. */
static void same_file_rewritten(struct __test_metadata *_metadata, const char *path, const struct stat *old,
				const char *now_job, const char *before_job)
{
	struct stat now;
	char *text;

	ASSERT_EQ(0, stat(path, &now));
	EXPECT_EQ(old->st_ino, now.st_ino);
	EXPECT_EQ(1, now.st_nlink);
	EXPECT_EQ(0600, now.st_mode & 07777);
	text = gt_read(path);
	ASSERT_NE(NULL, text);
	EXPECT_NE(NULL, strstr(text, gt_f("\"job_id\":\"%s\"", now_job)));
	EXPECT_EQ(NULL, strstr(text, before_job));
	EXPECT_EQ('}', text[strlen(text) - 1]) TH_LOG("%s", text);
	free(text);
}

/* A release keeps its lease's file as the pool's .spare and the next
 * acquire writes its lease into it: no inode made and freed per lease (on
 * ext4 without a journal each new one also searched past the inodes freed
 * in the last seconds; issue 13). Seen by an fd kept on the released
 * 0.lease: the next 0.lease is that same inode, with the new lease in it.
 * Fails with the release's unlinkat() back (another inode). */
TEST_F(pool, a_released_leases_file_is_the_next_acquires)
{
	struct gr_error *err = NULL;
	struct gr_lease a, b;
	struct stat old;
	char *path;
	int fd, l, q, o;

	configure(_metadata, self, 4, 0);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "job.spare1", getpid(), &a, &err))
		TH_LOG("%s", err->msg);
	path = pool_file(self, "0.lease");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &old));
	ASSERT_EQ(0, gr_lease_release(self->pool, &a, &err)) TH_LOG("%s", err->msg);
	EXPECT_TRUE(pool_has(self, ".spare"));
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "job.spare2", getpid(), &b, &err))
		TH_LOG("%s", err->msg);
	ASSERT_EQ(0, b.index);
	EXPECT_FALSE(pool_has(self, ".spare"));
	same_file_rewritten(_metadata, path, &old, "job.spare2", "job.spare1");
	ASSERT_EQ(0, pool_entries(self, &l, &q, &o));
	EXPECT_EQ(1, l);
	EXPECT_EQ(0, o);
	EXPECT_EQ(0, gr_lease_release(self->pool, &b, &err));
	close(fd);
	free(path);
	gr_error_free(err);
}

/* A quarantine's file that ends is kept as its range's spare (.spare.N),
 * and the range's next quarantine is written into it: no inode made per
 * quarantine and freed when it ends (helper mode writes one at every
 * release: its namespace is still ending, "pending"; issue 13). Seen by an
 * fd kept on the first 0.quarantine: the second is that same inode. Fails
 * with the unlinkat() of an ended quarantine back (another inode). */
TEST_F(pool, an_ended_quarantines_file_is_its_ranges_next_quarantine)
{
	struct gr_error *err = NULL;
	struct gr_lease a, b;
	struct stat old;
	char *path;
	int fd, l, q, o;

	configure(_metadata, self, 1, 1);
	path = pool_file(self, "0.quarantine");
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "job.q1", getpid(), &a, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(0, gr_lease_release(self->pool, &a, &err)) TH_LOG("%s", err->msg);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fstat(fd, &old));
	usleep(1100000);   /* the quarantine (1 s) ends; the next acquire retires it */
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "job.q2", getpid(), &b, &err)) TH_LOG("%s", err->msg);
	EXPECT_FALSE(pool_has(self, "0.quarantine"));
	EXPECT_TRUE(pool_has(self, ".spare.0"));
	ASSERT_EQ(0, gr_lease_release(self->pool, &b, &err)) TH_LOG("%s", err->msg);
	EXPECT_FALSE(pool_has(self, ".spare.0"));
	same_file_rewritten(_metadata, path, &old, "job.q2", "job.q1");
	ASSERT_EQ(0, pool_entries(self, &l, &q, &o));
	EXPECT_EQ(0, l);
	EXPECT_EQ(1, q);
	EXPECT_EQ(0, o);
	close(fd);
	free(path);
	gr_error_free(err);
}

/* A .spare that is not a private file of ours (another link to it, another
 * mode) is never written: it goes, and the acquire makes a file of its own.
 * Fails without take_spare()'s checks (the other name's contents change). */
TEST_F(pool, a_spare_that_is_not_private_is_not_written)
{
	struct gr_error *err = NULL;
	struct gr_lease a;
	char *spare = pool_file(self, ".spare"), *other = pool_file(self, "kept"), *lease, *text;
	struct stat st;
	int fd;

	configure(_metadata, self, 4, 0);
	lease = pool_file(self, "0.lease");
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "job.1", getpid(), &a, &err));
	ASSERT_EQ(0, gr_lease_release(self->pool, &a, &err));
	unlink(spare);
	for (int k = 0; k < 2; k++) {   /* 0: two links; 1: mode 0644 */
		fd = open(k ? spare : other, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		ASSERT_LE(0, fd);
		ASSERT_EQ(5, write(fd, "kept\n", 5));
		ASSERT_EQ(0, fchmod(fd, k ? 0644 : 0600));
		close(fd);
		if (k == 0)
			ASSERT_EQ(0, link(other, spare));
		ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "job.2", getpid(), &a, &err))
			TH_LOG("%s", err->msg);
		EXPECT_FALSE(pool_has(self, ".spare"));
		ASSERT_EQ(0, stat(lease, &st));
		EXPECT_EQ(0600, st.st_mode & 07777) TH_LOG("case %d", k);
		EXPECT_EQ(1, st.st_nlink) TH_LOG("case %d", k);
		if (k == 0) {
			text = gt_read(other);
			EXPECT_STREQ("kept\n", text);
			free(text);
			unlink(other);
		}
		ASSERT_EQ(0, gr_lease_release(self->pool, &a, &err));
		unlink(spare);   /* the released lease's */
	}
	free(lease);
	free(spare);
	free(other);
	gr_error_free(err);
}

TEST_F(pool, release_quarantines_and_the_next_job_gets_another_range)
{
	struct gr_error *err = NULL;
	struct gr_lease a, b, c;
	char *text;

	configure(_metadata, self, 4, 600);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	ASSERT_EQ(0, gr_lease_release(self->pool, &a, &err)) TH_LOG("%s", err->msg);
	EXPECT_FALSE(pool_has(self, "0.lease"));
	EXPECT_TRUE(pool_has(self, "0.quarantine"));
	text = gt_read(pool_file(self, "0.quarantine"));
	EXPECT_NE(NULL, strstr(text, "\"released_at\":"));
	EXPECT_NE(NULL, strstr(text, "\"job_id\":\"a\""));
	free(text);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err));
	EXPECT_EQ(1, b.index);
	/* releasing twice, or a lease that is not ours: refused */
	EXPECT_EQ(-ENOENT, gr_lease_release(self->pool, &a, &err));
	c = b;
	snprintf(c.job_id, sizeof(c.job_id), "someone-else");
	EXPECT_EQ(-EPERM, gr_lease_release(self->pool, &c, &err));
	EXPECT_STREQ("pool atlas: range 1 is no longer job someone-else's lease (it is job b's), not releasing it",
		     err->msg);
	EXPECT_TRUE(pool_has(self, "1.lease"));
	gr_error_free(err);
}

TEST_F(pool, quarantine_ends_after_its_cool_down)
{
	struct gr_error *err = NULL;
	struct gr_lease a, b, c;
	struct timespec ts = { 1, 200 * 1000 * 1000 };

	configure(_metadata, self, 4, 1);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	ASSERT_EQ(0, gr_lease_release(self->pool, &a, &err));
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err));
	EXPECT_EQ(1, b.index);
	nanosleep(&ts, NULL);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "c", getpid(), &c, &err));
	EXPECT_EQ(0, c.index);
	EXPECT_FALSE(pool_has(self, "0.quarantine"));
}

TEST_F(pool, gc_ends_a_quarantine_only_when_no_task_has_an_id_in_the_range)
{
	struct gr_error *err = NULL;
	struct gr_lease_gc_stats st = { 0 };
	struct gr_lease a, b;
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	configure(_metadata, self, 2, 600);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	ASSERT_EQ(0, gr_lease_release(self->pool, &a, &err));
	for (int i = 0; i < 2; i++) {
		pid_t pid = squatter(i == 0);

		nanosleep(&ts, NULL);
		memset(&st, 0, sizeof(st));
		ASSERT_EQ(0, gr_lease_gc(self->pool, &st, &err));
		EXPECT_EQ(0, st.freed) TH_LOG("a task with a %s in the range", i == 0 ? "uid" : "gid");
		EXPECT_TRUE(pool_has(self, "0.quarantine"));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	ASSERT_EQ(0, gr_lease_gc(self->pool, &st, &err));
	EXPECT_EQ(1, st.freed);
	EXPECT_FALSE(pool_has(self, "0.quarantine"));
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err));
	EXPECT_EQ(0, b.index);
}

TEST_F(pool, the_account_must_be_allowed)
{
	struct gr_error *err = NULL;
	struct gr_lease l;
	const struct gr_pool *closed;
	int le, q, o;

	configure(_metadata, self, 2, 600);
	EXPECT_EQ(-EPERM, gr_lease_acquire(self->pool, "cms001", "j", getpid(), &l, &err));
	EXPECT_STREQ("pool atlas: account `cms001` may not lease from it (accounts: atlas001 atlas002)",
		     err->msg);
	closed = gr_config_pool(self->cfg, "closed");
	EXPECT_EQ(-EPERM, gr_lease_acquire(closed, "atlas001", "j", getpid(), &l, &err));
	EXPECT_NE(NULL, strstr(err->msg, "pool closed: no account may lease from it (its accounts in `"));
	EXPECT_EQ(-EINVAL, gr_lease_acquire(self->pool, "atlas001", "../x", getpid(), &l, &err));
	EXPECT_STREQ("lease: `../x` is not a job id", err->msg);
	EXPECT_EQ(-1, pool_entries(self, &le, &q, &o));   /* nothing was created */
	gr_error_free(err);
}

TEST_F(pool, exhaustion_is_one_clear_error_and_leaves_nothing)
{
	struct gr_error *err = NULL;
	struct gr_lease a, b, c;
	int l, q, o;
	pid_t pid;

	configure(_metadata, self, 2, 600);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err));
	EXPECT_EQ(-EAGAIN, gr_lease_acquire(self->pool, "atlas001", "c", getpid(), &c, &err));
	EXPECT_STREQ("pool atlas exhausted (2 of 2 ranges leased)", err->msg);
	ASSERT_EQ(0, pool_entries(self, &l, &q, &o));
	EXPECT_EQ(2, l);
	EXPECT_EQ(0, q);
	EXPECT_EQ(0, o);
	/* S33: a task that holds an id of the range is killed by the release
	 * (status: SIGKILL), so the full pool's own gc pass frees the range */
	pid = squatter(true);
	ASSERT_EQ(0, gr_lease_release(self->pool, &a, &err));
	ASSERT_EQ(pid, waitpid(pid, &o, WNOHANG)) TH_LOG("the holder outlived the release");
	EXPECT_TRUE(WIFSIGNALED(o) && WTERMSIG(o) == SIGKILL) TH_LOG("status 0x%x", o);
	EXPECT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "c", getpid(), &c, &err));
	EXPECT_EQ(0, c.index);
	gr_error_free(err);
}

/* R2: 64 holders at once from a pool of 64, then a 65th. */
TEST_F(pool, R2_64_concurrent_acquisitions_get_distinct_ranges)
{
	int report[2], hold[2], seen[64] = { 0 }, l, q, o;
	struct gr_error *err = NULL;
	struct gr_lease extra;
	pid_t pids[64];

	configure(_metadata, self, 64, 0);
	ASSERT_EQ(0, pipe(report));
	ASSERT_EQ(0, pipe(hold));
	for (int i = 0; i < 64; i++) {
		char job[16];

		snprintf(job, sizeof(job), "r2.%d", i);
		pids[i] = holder(self->pool, job, report, hold);
		ASSERT_LT(0, pids[i]);
	}
	close(report[1]);
	close(hold[0]);
	for (int i = 0; i < 64; i++) {
		int idx = -1;

		ASSERT_EQ(sizeof(idx), read(report[0], &idx, sizeof(idx)));
		ASSERT_LE(0, idx) TH_LOG("an acquisition failed");
		ASSERT_GT(64, idx);
		EXPECT_EQ(0, seen[idx]) TH_LOG("range %d leased twice", idx);
		seen[idx]++;
	}
	EXPECT_EQ(-EAGAIN, gr_lease_acquire(self->pool, "atlas001", "r2.65", getpid(), &extra, &err));
	EXPECT_STREQ("pool atlas exhausted (64 of 64 ranges leased)", err->msg);
	ASSERT_EQ(0, pool_entries(self, &l, &q, &o));
	EXPECT_EQ(64, l);
	EXPECT_EQ(0, o);
	close(hold[1]);   /* all release */
	for (int i = 0; i < 64; i++) {
		int status;

		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_EQ(0, status);
	}
	ASSERT_EQ(0, pool_entries(self, &l, &q, &o));
	EXPECT_EQ(0, l + q + o);
	close(report[0]);
	gr_error_free(err);
}

TEST_F(pool, gc_reclaims_exactly_the_leases_of_sigkilled_holders)
{
	int report[2], hold[2], idx[8];
	struct gr_lease_gc_stats st = { 0 };
	struct gr_error *err = NULL;
	struct stat before[8], after;
	pid_t pids[8];

	configure(_metadata, self, 8, 600);
	ASSERT_EQ(0, pipe(report));
	ASSERT_EQ(0, pipe(hold));
	for (int i = 0; i < 8; i++) {
		char job[16];

		snprintf(job, sizeof(job), "k.%d", i);
		pids[i] = holder(self->pool, job, report, hold);
		ASSERT_EQ(sizeof(int), read(report[0], &idx[i], sizeof(int)));
		ASSERT_EQ(i, idx[i]);
	}
	for (int i = 0; i < 8; i++) {
		char name[32], *p;

		snprintf(name, sizeof(name), "%d.lease", i);
		p = pool_file(self, name);
		ASSERT_EQ(0, stat(p, &before[i]));
		free(p);
	}
	for (int i = 1; i < 8; i += 2)
		kill(pids[i], SIGKILL);
	/* a zombie holder is dead too: gc before and after reaping */
	ASSERT_EQ(0, gr_lease_gc(self->pool, &st, &err));
	for (int i = 1; i < 8; i += 2)
		waitpid(pids[i], NULL, 0);
	ASSERT_EQ(0, gr_lease_gc(self->pool, &st, &err));
	EXPECT_EQ(4, st.reclaimed);
	EXPECT_EQ(4, st.freed);   /* no task had an id in those ranges */
	for (int i = 0; i < 8; i++) {
		char name[32], *p;

		snprintf(name, sizeof(name), "%d.lease", i);
		p = pool_file(self, name);
		if (i % 2) {
			EXPECT_NE(0, access(p, F_OK));
		} else {
			/* untouched: the very same file */
			ASSERT_EQ(0, stat(p, &after));
			EXPECT_EQ(before[i].st_ino, after.st_ino);
			EXPECT_EQ(before[i].st_mtim.tv_nsec, after.st_mtim.tv_nsec);
		}
		free(p);
	}
	close(hold[1]);
	for (int i = 0; i < 8; i += 2) {
		int status;

		waitpid(pids[i], &status, 0);
		EXPECT_EQ(0, status);
	}
	close(hold[0]);
	close(report[0]);
	close(report[1]);
}

/* Rewrite field `key` of a lease file (a JSON number or string). */
static void edit_lease(struct _test_data_pool *self, const char *name, const char *key, json_t *v)
{
	char *p = pool_file(self, name);
	json_t *o = json_load_file(p, 0, NULL);

	if (!o)
		abort();
	json_object_set_new(o, key, v);
	json_dump_file(o, p, JSON_COMPACT);
	json_decref(o);
	free(p);
}

TEST_F(pool, a_lease_from_another_boot_or_a_reused_pid_is_dead)
{
	struct gr_error *err = NULL;
	struct gr_lease_gc_stats st = { 0 };
	struct gr_lease a, b, c;

	configure(_metadata, self, 4, 600);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err));
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "c", getpid(), &c, &err));
	edit_lease(self, "0.lease", "boot_id", json_string("00000000-0000-0000-0000-000000000000"));
	edit_lease(self, "1.lease", "holder_start", json_integer((json_int_t)a.holder_start + 1));
	ASSERT_EQ(0, gr_lease_gc(self->pool, &st, &err));
	EXPECT_EQ(2, st.reclaimed);
	EXPECT_FALSE(pool_has(self, "0.lease"));
	EXPECT_FALSE(pool_has(self, "1.lease"));
	EXPECT_TRUE(pool_has(self, "2.lease"));
}

TEST_F(pool, debris_of_dead_writers_goes_and_garbled_leases_of_this_boot_stay)
{
	struct gr_error *err = NULL;
	struct gr_lease_gc_stats st = { 0 };
	struct gr_lease a;
	char name[64];
	pid_t dead = fork();

	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	configure(_metadata, self, 4, 600);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	snprintf(name, sizeof(name), ".tmp.%d.0000abcd", (int)dead);
	free(gt_write(self->leases, "atlas/.tmp.1.x", "{}"));   /* pid 1 lives */
	free(gt_write(self->leases, "atlas/3.lease", "{\"garbled"));
	{
		char *p;

		ASSERT_LE(0, asprintf(&p, "atlas/%s", name));
		free(gt_write(self->leases, p, "{}"));
		free(p);
	}
	ASSERT_EQ(0, gr_lease_gc(self->pool, &st, &err));
	EXPECT_EQ(1, st.debris);
	EXPECT_EQ(0, st.reclaimed);
	EXPECT_FALSE(pool_has(self, name));
	EXPECT_TRUE(pool_has(self, ".tmp.1.x"));
	EXPECT_TRUE(pool_has(self, "3.lease"));   /* written this boot: cannot be judged */
	EXPECT_TRUE(pool_has(self, "0.lease"));
}

TEST_F(pool, a_lease_dir_others_can_enter_is_refused)
{
	struct gr_error *err = NULL;
	struct gr_lease a;
	char *want;

	configure(_metadata, self, 4, 600);
	ASSERT_EQ(0, mkdir(self->leases, 0755));
	EXPECT_EQ(-EPERM, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	ASSERT_LE(0, asprintf(&want, "lease: `%s` must be a directory owned by uid 0 and accessible "
			      "only by it (mode 0700)", self->leases));
	EXPECT_STREQ(want, err ? err->msg : "");
	free(want);
	gr_error_free(err);
}

TEST_F(pool, a_layout_change_waits_until_the_pool_is_idle)
{
	struct gr_error *err = NULL;
	struct gr_lease a, b;
	char *want;

	configure(_metadata, self, 4, 0);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	configure(_metadata, self, 8, 0);
	EXPECT_EQ(-EBUSY, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err));
	ASSERT_LE(0, asprintf(&want, "pool atlas: its layout in `%s` (first_uid %u, ranges 8, "
			      "range_size 65536) differs from the one its 1 lease file(s) were made for "
			      "(first_uid %u, ranges 4, range_size 65536); let those jobs end and "
			      "run `gridrun gc` before changing a pool", self->conf, FIRST, FIRST));
	EXPECT_STREQ(want, err ? err->msg : "");
	configure(_metadata, self, 4, 0);
	ASSERT_EQ(0, gr_lease_release(self->pool, &a, &err));
	configure(_metadata, self, 8, 0);
	EXPECT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err));
	free(want);
	gr_error_free(err);
}

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/* 64 processes (or 1, for comparison), each doing acquire+release cycles
 * at once against a pool of 64; prints median and p99 for the closing note. */
static void time_cycles(struct __test_metadata *_metadata, const struct gr_pool *pool, int procs,
			int cycles)
{
	unsigned long long *all = calloc((size_t)procs * cycles, sizeof(*all));
	int p[2], go[2];
	size_t n = 0;

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, pipe(go));
	for (int i = 0; i < procs; i++) {
		if (fork() == 0) {
			unsigned long long *t = calloc(cycles, sizeof(*t));
			struct gr_error *err = NULL;
			char c;

			close(go[1]);
			if (read(go[0], &c, 1) < 0)
				_exit(3);
			for (int k = 0; k < cycles; k++) {
				unsigned long long t0 = gr_now_ns();
				struct gr_lease l;
				char job[32];

				snprintf(job, sizeof(job), "bench.%d.%d", i, k);
				if (gr_lease_acquire(pool, "atlas001", job, getpid(), &l, &err) < 0 ||
				    gr_lease_release(pool, &l, &err) < 0)
					_exit(2);
				t[k] = gr_now_ns() - t0;
			}
			_exit(write(p[1], t, sizeof(*t) * cycles) == (ssize_t)(sizeof(*t) * cycles) ? 0 : 4);
		}
	}
	close(p[1]);
	close(go[0]);
	close(go[1]);   /* all start at once */
	for (int i = 0; i < procs; i++) {
		int status;

		ASSERT_EQ(sizeof(*all) * cycles, read(p[0], all + n, sizeof(*all) * cycles));
		n += cycles;
		wait(&status);
		EXPECT_EQ(0, status);
	}
	close(p[0]);
	qsort(all, n, sizeof(*all), cmp_ull);
	printf("# lease+release, %d process(es) at once on %ld CPU(s): %zu cycles, median %.1f us, "
	       "p99 %.1f us, max %.1f us\n", procs, sysconf(_SC_NPROCESSORS_ONLN), n, all[n / 2] / 1e3,
	       all[n * 99 / 100] / 1e3, all[n - 1] / 1e3);
	fflush(stdout);
	free(all);
}

/* each acquire and release scans /proc for holders of the range (S33):
 * ~3.5 ms a cycle on the host, 15-31 ms in the emulated guest (6.1: no
 * PIDFD_GET_INFO; 31 ms with the host loaded), where 90 s ran out for the
 * 1780 cycles. Release also scans every process's namespaces and fds for
 * the range's user namespaces (lease-userns.c): on the shared 2-CPU host
 * with ~150 processes and ~1300 fds, median 36 ms a cycle, p99 166 ms.
 * 2026-12-07: the 1780 cycles (500 alone, 64 x 20) ran past 180 s in the
 * guest twice; 840 now (200 alone, 64 x 10), what the output says. */
TEST_F_TIMEOUT(pool, lease_and_release_time_alone_and_under_64_way_contention, 180)
{
	configure(_metadata, self, 64, 0);
	time_cycles(_metadata, self->pool, 1, 200);
	time_cycles(_metadata, self->pool, 64, 10);
}

TEST_HARNESS_MAIN
