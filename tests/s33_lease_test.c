// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * s33_lease_test.c - S33 (runtime/lease-reclaim.c, lease-userns.c): a range
 * is never leased while a process holds one of its ids (by any id slot or
 * any thread) or its user namespace (by an fd or a bind mount), on a busy
 * node too; the release kills such a holder, gc settles what it cannot.
 * The rest of the lease tests are in lease_test.c; the fixture is
 * tests/lib/gt-pool.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt-pool.h"

/* S33: a range is never leased while a process holds one of its ids
 * (gt-pool.h; lease_iter_test runs it through the task iterator) */
TEST_F(pool, S33_a_range_is_never_leased_while_a_process_holds_its_ids)
{
	never_leased_while_held(_metadata, self);
}

/*
 * A job's user namespace, mapped to range 0 as gridrun maps it, kept past
 * its job by a lingering process (uid 23456: a pilot's, none of the range's
 * ids) that holds an fd of it, or has bind-mounted it in a mount namespace
 * of its own: returns the lingerer, once it holds the namespace alone.
 */
static pid_t userns_lingerer(bool by_mount, const char *mnt_file)
{
	int p[2], q[2];
	char c, path[64], map[64];
	pid_t job, pid;

	if (pipe(p) < 0 || pipe(q) < 0)
		abort();
	job = fork();
	if (job == 0) {   /* the job: a user namespace of its own, waits for its map */
		close(p[0]);
		close(p[1]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		close(q[1]);
		if (read(q[0], &c, 1) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(q[0]);
	for (int i = 0; i < 200; i++, usleep(5000)) {
		char self[64], its[64];

		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)job);
		if (readlink(path, its, sizeof(its)) > 0 && readlink("/proc/self/ns/user", self, sizeof(self)) > 0 &&
		    strncmp(its, self, sizeof(its)))
			break;
	}
	snprintf(map, sizeof(map), "0 %u 65536\n", FIRST);
	for (int i = 0; i < 2; i++) {   /* one write each, as the kernel wants */
		int fd = open(gt_f("/proc/%d/%s", (int)job, i ? "gid_map" : "uid_map"), O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map))
			abort();
		close(fd);
	}
	pid = fork();
	if (pid == 0) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		close(p[0]);
		if (fd < 0 || setresgid(23456, 23456, 23456) < 0 || setresuid(23456, 23456, 23456) < 0)
			_exit(1);
		if (by_mount) {
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ||
			    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			    mount(path, mnt_file, NULL, MS_BIND, NULL) < 0)
				_exit(1);
			close(fd);
		}
		close(p[1]);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 0)
		abort();
	close(p[0]);
	/* the job ends: only the lingerer keeps its namespace */
	kill(job, SIGKILL);
	waitpid(job, NULL, 0);
	close(q[1]);
	return pid;
}

/*
 * S33 on a busy node: past 256 user and mount namespaces (a node with
 * hundreds of jobs) the scan still knows every mount namespace a process is
 * in, so an fd of one of them (here of the last one made) is no "mount
 * namespace no process is in", which would block the range. (The scan
 * kept 256 of each and then took such an fd for a hidden one.)
 */
#define BUSY_NS 300
TEST_F(pool, S33_the_scan_keeps_every_namespace_past_256)
{
	struct gr_error *err = NULL;
	pid_t kids[BUSY_NS + 1];
	struct gr_lease a;
	int p[2], n = 0;
	char c;

	configure(_metadata, self, 1, 0);
	ASSERT_EQ(0, pipe(p));
	for (; n < BUSY_NS; n++) {
		kids[n] = fork();
		ASSERT_LE(0, kids[n]);
		if (kids[n] == 0) {   /* a namespace pair of its own, unmapped */
			close(p[0]);
			if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 || write(p[1], "x", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
	}
	for (int i = 0; i < BUSY_NS; i++)
		ASSERT_EQ(1, read(p[0], &c, 1));
	/* another process keeps an fd of the last mount namespace */
	kids[n] = fork();
	ASSERT_LE(0, kids[n]);
	if (kids[n] == 0) {
		int fd = open(gt_f("/proc/%d/ns/mnt", (int)kids[BUSY_NS - 1]), O_RDONLY | O_CLOEXEC);

		if (fd < 0 || write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	n++;
	EXPECT_EQ(1, read(p[0], &c, 1));
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	EXPECT_EQ(0, gr_lease_release(self->pool, &a, &err)) TH_LOG("%s", err ? err->msg : "");
	for (int i = 0; i < n; i++) {
		kill(kids[i], SIGKILL);
		waitpid(kids[i], NULL, 0);
	}
	close(p[0]);
	close(p[1]);
	gr_error_free(err);
}

/*
 * S33 in root mode: the release kills a process that holds the range's user
 * namespace by an fd (it could enter it later and be host uid FIRST), and a
 * bind mount of it, which gridrun does not unmount, keeps the range
 * quarantined (whatever quarantine_seconds says) until gc finds it gone.
 */
TEST_F(pool, S33_a_range_is_never_leased_while_its_user_namespace_is_held)
{
	struct gr_error *err = NULL;
	struct gr_lease a, b;
	char *mnt_file, *q, *text;
	int status;
	pid_t pid;

	configure(_metadata, self, 1, 0);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	pid = userns_lingerer(false, NULL);
	ASSERT_EQ(0, gr_lease_release(self->pool, &a, &err)) TH_LOG("%s", err ? err->msg : "");
	ASSERT_EQ(pid, waitpid(pid, &status, WNOHANG)) TH_LOG("the fd holder outlived the release");
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) TH_LOG("status 0x%x", status);
	/* by a mount: blocked, one line naming it; no time ends it, gc does once it is gone */
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err));
	mnt_file = gt_write(self->dir, "hold", "x");
	ASSERT_EQ(0, chown(mnt_file, 23456, 23456));
	pid = userns_lingerer(true, mnt_file);
	EXPECT_EQ(1, gr_lease_release(self->pool, &b, &err));
	ASSERT_NE(NULL, err);
	EXPECT_NE(NULL, strstr(err->msg, gt_f("pool atlas: range 0 stays in quarantine until `gridrun gc` settles it: "
					      "its user namespace is kept by an nsfs mount in the mount namespace "
					      "of pid %d, at `%s`", (int)pid, mnt_file))) TH_LOG("%s", err->msg);
	gr_error_free(err);
	err = NULL;
	EXPECT_EQ(-EAGAIN, gr_lease_acquire(self->pool, "atlas001", "c", getpid(), &b, &err));
	ASSERT_LE(0, asprintf(&q, "%s/atlas/0.quarantine", self->leases));
	text = gt_read(q);
	EXPECT_NE(NULL, text ? strstr(text, "\"blocked\":\"its user namespace is kept by an nsfs mount") : NULL);
	free(text);
	gr_error_free(err);
	err = NULL;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	EXPECT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "c", getpid(), &b, &err)) TH_LOG("%s", err ? err->msg : "");
	EXPECT_EQ(0, b.index);
	gr_error_free(err);
	free(mnt_file);
	free(q);
}


/* S33: a holder by any id slot or any thread is found (gt-pool.h) */
TEST_F(pool, S33_a_holder_by_any_id_or_any_thread_is_found)
{
	any_id_or_thread_found(_metadata, self);
}

TEST_HARNESS_MAIN
