/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gt-pool.h - what lease_test and s33_lease_test share: the `pool` fixture
 * (a scratch lease directory and state directory), the site configuration
 * with pool atlas that configure() (re)writes, a look at the pool directory's
 * entries, the holders of range 0's ids that the scans must find, and the
 * S33 checks that s33_lease_test and lease_iter_test both run.
 * Include it after kselftest_harness.h.
 */
#ifndef GRIDRUN_GT_POOL_H
#define GRIDRUN_GT_POOL_H

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "gt.h"
#include "gt-world.h"
#include "lease.h"

/* from util.h, whose ARRAY_SIZE the harness defines too */
unsigned long long gr_now_ns(void);
unsigned long long gr_proc_starttime(pid_t pid);

#pragma GCC diagnostic ignored "-Wunused-parameter"

#define FIRST GT_FIRST

FIXTURE(pool) {
	char *dir, *leases, *conf;
	struct gr_config *cfg;
	const struct gr_pool *pool;
	struct gt_result res;
};

FIXTURE_SETUP(pool)
{
	char *state;

	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->leases, "%s/leases", self->dir));
	ASSERT_LE(0, asprintf(&state, "%s/state", self->dir));
	setenv("GRIDRUN_STATE_DIR", state, 1);
	free(state);
	memset(&self->res, 0, sizeof(self->res));
}

FIXTURE_TEARDOWN(pool)
{
	gt_result_free(&self->res);
	gr_config_free(self->cfg);
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->leases);
	free(self->conf);
}

/* (Re)write the site configuration: pool atlas of `ranges` ranges of 65536;
 * runtime: more [runtime] lines ("" for none). */
static inline void configure_with(struct __test_metadata *_metadata, struct _test_data_pool *self,
				  unsigned ranges, unsigned quarantine, const char *runtime)
{
	struct gr_error *err = NULL;

	free(self->conf);
	self->conf = gt_write(self->dir, "gridrun.conf",
			      "[runtime]\nlease_dir = %s\n%s\n[pool atlas]\nfirst_uid = %u\nranges = %u\n"
			      "accounts = atlas001 atlas002\nquarantine_seconds = %u\n\n"
			      "[pool closed]\nfirst_uid = %u\nranges = 1\n",
			      self->leases, runtime, FIRST, ranges, quarantine, FIRST + 4194304);
	ASSERT_EQ(0, chmod(self->conf, 0644));
	setenv("GRIDRUN_CONFIG", self->conf, 1);
	gr_config_free(self->cfg);
	self->cfg = NULL;
	ASSERT_EQ(0, gr_config_load(self->conf, 0, &self->cfg, &err)) TH_LOG("%s", err->msg);
	self->pool = gr_config_pool(self->cfg, "atlas");
}

static inline void configure(struct __test_metadata *_metadata, struct _test_data_pool *self,
			     unsigned ranges, unsigned quarantine)
{
	configure_with(_metadata, self, ranges, quarantine, "");
}

static inline char *pool_file(struct _test_data_pool *self, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/atlas/%s", self->leases, name) < 0)
		abort();
	return p;
}

static inline bool pool_has(struct _test_data_pool *self, const char *name)
{
	char *p = pool_file(self, name);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

/* Entries of the pool directory other than its locks, .layout and spares. */
static inline int pool_entries(struct _test_data_pool *self, int *leases, int *quarantines, int *other)
{
	char *d = pool_file(self, "");
	DIR *dir = opendir(d);
	struct dirent *de;

	*leases = *quarantines = *other = 0;
	free(d);
	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		size_t n = strlen(de->d_name);

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, ".lock") || !strcmp(de->d_name, ".gclock") ||
		    !strcmp(de->d_name, ".layout") || !strncmp(de->d_name, ".spare", 6))
			continue;
		if (n > 6 && !strcmp(de->d_name + n - 6, ".lease"))
			(*leases)++;
		else if (n > 11 && !strcmp(de->d_name + n - 11, ".quarantine"))
			(*quarantines)++;
		else
			(*other)++;
	}
	closedir(dir);
	return 0;
}


/* How a holder keeps an id of range 0 while its leader looks clean. */
enum hold_by { BY_SAVED_UID, BY_FS_UID, BY_SAVED_GID, BY_FS_GID, BY_ONE_THREAD, BY_ALL_UIDS, BY_ALL_GIDS };

static inline void *thread_takes_uid(void *arg)
{
	int *ready = arg;

	/* the raw call changes this thread alone (glibc's would change all) */
	if (syscall(SYS_setresuid, FIRST + 7, FIRST + 7, FIRST + 7) == 0)
		close(*ready);
	pause();
	return NULL;
}

static inline int hold_setup(int ready, void *arg)
{
	enum hold_by how = *(enum hold_by *)arg;
	pthread_t t;
	int r = 0;

	switch (how) {
	case BY_SAVED_UID: r = setresuid(0, 0, FIRST + 7); break;
	case BY_FS_UID: setfsuid(FIRST + 7); r = setfsuid(FIRST + 7) == (int)(FIRST + 7) ? 0 : -1; break;
	case BY_SAVED_GID: r = setresgid(0, 0, FIRST + 9); break;
	case BY_FS_GID: setfsgid(FIRST + 9); r = setfsgid(FIRST + 9) == (int)(FIRST + 9) ? 0 : -1; break;
	case BY_ALL_UIDS: r = setresuid(FIRST + 7, FIRST + 7, FIRST + 7); break;
	case BY_ALL_GIDS: r = setresgid(FIRST + 9, FIRST + 9, FIRST + 9); break;
	case BY_ONE_THREAD:
		if (pthread_create(&t, NULL, thread_takes_uid, &ready) != 0)
			return 1;
		pause();
	}
	return r ? 1 : 0;
}

static inline pid_t partial_holder(enum hold_by how)
{
	return gt_fork_ready(hold_setup, &how);
}

/* A task with a uid (or gid) in range 0, there when this returns. */
static inline pid_t squatter(bool as_uid)
{
	return partial_holder(as_uid ? BY_ALL_UIDS : BY_ALL_GIDS);
}

/*
 * S33, the checks s33_lease_test runs through the /proc walk and
 * lease_iter_test through the task iterator: a range is never leased while
 * a process holds one of its ids, whatever quarantine_seconds says (0
 * here): the release kills the one that held it during the lease; one that
 * appears later (a pilot entering its old job's user namespace) blocks the
 * range for the next acquirer, and gc settles it by killing that process.
 */
static inline void never_leased_while_held(struct __test_metadata *_metadata, struct _test_data_pool *self)
{
	struct gr_error *err = NULL;
	struct gr_lease a, b;
	int status;
	pid_t pid;

	configure(_metadata, self, 1, 0);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	pid = squatter(false);
	ASSERT_EQ(0, gr_lease_release(self->pool, &a, &err));
	ASSERT_EQ(pid, waitpid(pid, &status, WNOHANG)) TH_LOG("the holder outlived the release");
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) TH_LOG("status 0x%x", status);
	/* one that appears while the range is free blocks it; the acquirer's
	 * own gc pass (root) kills it before the range is leased */
	pid = squatter(true);
	EXPECT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err));
	ASSERT_EQ(pid, waitpid(pid, &status, WNOHANG)) TH_LOG("the holder lives on while its range is leased");
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) TH_LOG("status 0x%x", status);
	gr_error_free(err);
}

/*
 * S33: the holder scan misses no holder, neither by its cheap verdict (the
 * leader's ids by PIDFD_GET_INFO, lease-reclaim.c) nor by the task
 * iterator's candidates: an id in range in the saved or fs slot only, with
 * euid 0 (whose /proc/PID the kernel shows as root's), or in one thread of
 * a process whose leader holds nothing, is found and killed.
 */
static inline void any_id_or_thread_found(struct __test_metadata *_metadata, struct _test_data_pool *self)
{
	static const char *what[] = { "saved uid", "fs uid", "saved gid", "fs gid", "one thread's uids" };

	configure(_metadata, self, 1, 0);
	for (int how = BY_SAVED_UID; how <= BY_ONE_THREAD; how++) {
		pid_t pid = partial_holder(how), one = 0, w;
		int status, waited = 0;

		EXPECT_EQ(1, gr_lease_holders(FIRST, 65536, false, &one)) TH_LOG("a holder by its %s", what[how]);
		EXPECT_EQ(pid, one) TH_LOG("a holder by its %s", what[how]);
		EXPECT_EQ(0, gr_lease_holders(FIRST, 65536, true, &one)) TH_LOG("a holder by its %s", what[how]);
		/* gone but a zombie once the scan returned 0; where one thread held
		 * the ids, that thread is gone then, and its leader (which holds
		 * none) ends a moment later, with the group's exit (seen once in
		 * ~60 runs through the task iterator, in the ASan build) */
		while ((w = waitpid(pid, &status, WNOHANG)) == 0 && how == BY_ONE_THREAD && waited++ < 1000)
			usleep(1000);
		EXPECT_EQ(pid, w) {
			TH_LOG("a holder by its %s: not a zombie", what[how]);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("a holder by its %s: status 0x%x", what[how], status);
	}
	EXPECT_EQ(0, gr_lease_holders(FIRST, 65536, false, NULL));
}

#endif
