// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * s20_leftover_test.c - S20 (runtime/lease-leftover.c): what a process with
 * a range's ids leaves where the host's users can reach it keeps the range
 * in a blocked quarantine, one line naming it, until the admin removes it
 * and `gridrun gc` finds none: an inode in /run/lock, a POSIX message queue
 * (seen whether or not /dev/mqueue is mounted: this host has none, the v2
 * guest has one), and SysV shared memory, message queues and semaphore
 * sets, also one its creator gave away; a file in a directory the site
 * names in leftover_dirs. The object is made by a process
 * that takes range 0's ids and exits, as a lingerer's work outlives it.
 * Root mode drives the library; helper mode runs the same scan (the file
 * case there is s33_helper_test's S20 test). The fixture: tests/lib/gt-pool.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt-pool.h"

#define UID (FIRST + 7)
#define GID (FIRST + 9)

enum obj { FILE_IN_DIR, MQUEUE, SHM, SHM_GIVEN_AWAY, MSG, SEM };

/* where FILE_IN_DIR makes its file */
static const char *file_dir = "/run/lock";

/* A name of this test process's own, for the file and the queue (fixed
 * at its first use, before the maker forks). */
static const char *name(void)
{
	static char n[64];

	if (!n[0])
		snprintf(n, sizeof(n), "gt-s20-%d", (int)getpid());
	return n;
}

/* what makes it, as a process with only range 0's ids: its id (SysV), else 0; <0 failed */
static int make(enum obj what)
{
	struct shmid_ds ds;

	switch (what) {
	case FILE_IN_DIR: {
		int fd = open(gt_f("%s/%s", file_dir, name()), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		return fd < 0 || fchmod(fd, 0644) < 0 ? -1 : 0;
	}
	case MQUEUE:
		return mq_open(gt_f("/%s", name()), O_RDWR | O_CREAT | O_EXCL, 0600, NULL) == (mqd_t)-1 ? -1 : 0;
	case SHM:
		return shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	case SHM_GIVEN_AWAY: {
		/* IPC_SET: the creator names any owner; it keeps the rights of one */
		int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);

		if (id < 0 || shmctl(id, IPC_STAT, &ds) < 0)
			return -1;
		ds.shm_perm.uid = 0;
		ds.shm_perm.gid = 0;
		return shmctl(id, IPC_SET, &ds) < 0 ? -1 : id;
	}
	case MSG:
		return msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	case SEM:
		return semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	}
	return -1;
}

static int make_as_range(enum obj what)
{
	int p[2], id = -1;
	pid_t pid;

	if (!name()[0] || pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (setgroups(0, NULL) < 0 || setresgid(GID, GID, GID) < 0 || setresuid(UID, UID, UID) < 0)
			_exit(1);
		id = make(what);
		if (write(p[1], &id, sizeof(id)) != sizeof(id))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &id, sizeof(id)) != sizeof(id))
		id = -1;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return id;
}

static void remove_it(enum obj what, int id)
{
	switch (what) {
	case FILE_IN_DIR: unlink(gt_f("%s/%s", file_dir, name())); break;
	case MQUEUE: mq_unlink(gt_f("/%s", name())); break;
	case SHM: case SHM_GIVEN_AWAY: shmctl(id, IPC_RMID, NULL); break;
	case MSG: msgctl(id, IPC_RMID, NULL); break;
	case SEM: semctl(id, 0, IPC_RMID); break;
	}
}

#define SYSV "%d (owner %u, group %u, creator %u, creator's group %u) is its; remove it (ipcrm) and run `gridrun gc`"

/* What the blocked line says of it. */
static const char *line_of(enum obj what, int id)
{
	switch (what) {
	case FILE_IN_DIR:
		return gt_f("`%s/%s` (owner %u, group %u, mode 0644) is its; remove it and run `gridrun gc`",
			    file_dir, name(), UID, GID);
	case MQUEUE:
		return gt_f("POSIX message queue `/%s` (owner %u, group %u, mode 0600) is its; remove it and "
			    "run `gridrun gc`", name(), UID, GID);
	case SHM:
		return gt_f("SysV shared memory segment " SYSV, id, UID, GID, UID, GID);
	case SHM_GIVEN_AWAY:
		return gt_f("SysV shared memory segment " SYSV, id, 0, 0, UID, GID);
	case MSG:
		return gt_f("SysV message queue " SYSV, id, UID, GID, UID, GID);
	case SEM:
		return gt_f("SysV semaphore set " SYSV, id, UID, GID, UID, GID);
	}
	return "";
}

/*
 * The range's last tenant leaves it: the release says blocked, naming it;
 * neither time (quarantine_seconds 0) nor the next acquirer's gc frees the
 * range; once the admin has removed it, gc does.
 */
static void leftover_blocks(struct __test_metadata *_metadata, struct _test_data_pool *self, enum obj what)
{
	struct gr_lease_gc_stats st = { 0 };
	struct gr_error *err = NULL;
	struct gr_lease a, b;
	int id;

	if (!self->cfg)
		configure(_metadata, self, 1, 0);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	id = make_as_range(what);
	ASSERT_LE(0, id) TH_LOG("the range's process could not make it");
	/* from here on no ASSERT until it is removed: a failure leaves nothing behind */
	EXPECT_EQ(1, gr_lease_release(self->pool, &a, &err));
	EXPECT_NE(NULL, strstr(err ? err->msg : "", gt_f("pool atlas: range 0 stays in quarantine until "
							 "`gridrun gc` settles it: %s", line_of(what, id))))
		TH_LOG("%s", err ? err->msg : "released unblocked");
	gr_error_free(err);
	err = NULL;
	EXPECT_EQ(-EAGAIN, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err));
	gr_error_free(err);
	err = NULL;
	EXPECT_EQ(0, gr_lease_gc(self->pool, &st, &err));
	EXPECT_EQ(0, st.freed);
	EXPECT_TRUE(pool_has(self, "0.quarantine"));
	remove_it(what, id);
	ASSERT_EQ(0, gr_lease_gc(self->pool, &st, &err));
	EXPECT_EQ(1, st.freed);
	EXPECT_FALSE(pool_has(self, "0.quarantine"));
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(0, b.index);
	EXPECT_EQ(0, gr_lease_release(self->pool, &b, &err)) TH_LOG("%s", err ? err->msg : "");
	gr_error_free(err);
}

/* Debian's /run/lock (1777; /var/lock links to it). The v2 guest's /run
 * starts empty: there the scan meets no /run/lock and blocks nothing. */
TEST_F_TIMEOUT(pool, S20_a_file_of_the_range_in_run_lock_keeps_it_quarantined, 120)
{
	struct gr_error *err = NULL;
	struct gr_lease a;
	struct stat st;

	if (lstat("/run/lock", &st) < 0) {
		ASSERT_EQ(ENOENT, errno);
		TH_LOG("no /run/lock here: the scan passes over it");
		configure(_metadata, self, 1, 0);
		ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
		EXPECT_EQ(0, gr_lease_release(self->pool, &a, &err)) TH_LOG("%s", err ? err->msg : "");
		gr_error_free(err);
		return;
	}
	ASSERT_TRUE(S_ISDIR(st.st_mode) && (st.st_mode & 01777) == 01777) TH_LOG("mode %o", st.st_mode);
	leftover_blocks(_metadata, self, FILE_IN_DIR);
}

/* A site's own world-writable directory, named in leftover_dirs; the scan
 * does not enter it otherwise (its parent is not other-writable). */
TEST_F_TIMEOUT(pool, S20_a_file_of_the_range_in_a_site_leftover_dir_keeps_it_quarantined, 120)
{
	char *scratch = NULL;

	ASSERT_LE(0, asprintf(&scratch, "%s/scratch", self->dir));
	ASSERT_EQ(0, chmod(self->dir, 0711));
	ASSERT_EQ(0, mkdir(scratch, 0700));
	ASSERT_EQ(0, chmod(scratch, 01777));
	configure_with(_metadata, self, 1, 0, gt_f("leftover_dirs = /nonexistent-gt-s20 %s\n", scratch));
	file_dir = scratch;
	leftover_blocks(_metadata, self, FILE_IN_DIR);
	free(scratch);
}

TEST_F_TIMEOUT(pool, S20_a_posix_message_queue_of_the_range_keeps_it_quarantined, 120)
{
	leftover_blocks(_metadata, self, MQUEUE);
}

TEST_F_TIMEOUT(pool, S20_a_sysv_shm_segment_of_the_range_keeps_it_quarantined, 120)
{
	leftover_blocks(_metadata, self, SHM);
}

TEST_F_TIMEOUT(pool, S20_a_sysv_shm_segment_the_range_made_and_gave_away_keeps_it_quarantined, 120)
{
	leftover_blocks(_metadata, self, SHM_GIVEN_AWAY);
}

TEST_F_TIMEOUT(pool, S20_a_sysv_message_queue_of_the_range_keeps_it_quarantined, 120)
{
	leftover_blocks(_metadata, self, MSG);
}

TEST_F_TIMEOUT(pool, S20_a_sysv_semaphore_set_of_the_range_keeps_it_quarantined, 120)
{
	leftover_blocks(_metadata, self, SEM);
}

TEST_HARNESS_MAIN
