// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lsm_helper_test - gridrun-helper's side of the BPF LSM (helper.h: lsm-del,
 * and release dropping a range's entries) against real pinned BPF maps of
 * the LSM's layout (kmod-optional/gridrun-lsm.h). Creating maps needs no BPF
 * LSM (this host refuses its programs, not maps), so the unregistering and
 * the denials it hands back are tested on every kernel; registering (lsm-add,
 * which needs the programs' task storage map) is lsm_test's, in the v2 guest.
 *
 * The world (gt-world.h) gets its own bpf filesystem on /sys/fs/bpf, where
 * the helper, which reads no environment, looks for the pins.
 */
#include <errno.h>
#include <sched.h>
#include <linux/bpf.h>
#include <linux/types.h>
#include <stdint.h>
#include <sys/mount.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"
/* its pilot_env()/pilot_spec() are for tests that run gridrun itself */
#pragma GCC diagnostic ignored "-Wunused-function"
#include "gt-helper.h"
#include "lsm.h"
#include "../kmod-optional/gridrun-lsm.h"

static int sys_bpf(int cmd, union bpf_attr *a)
{
	return (int)syscall(SYS_bpf, cmd, a, sizeof(*a));
}

static int map_pinned(const char *name, unsigned key, unsigned val, unsigned max)
{
	union bpf_attr a;
	char path[128];
	int fd;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_HASH;
	a.key_size = key;
	a.value_size = val;
	a.max_entries = max;
	fd = sys_bpf(BPF_MAP_CREATE, &a);
	if (fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/sys/fs/bpf/gridrun/%s", name);
	memset(&a, 0, sizeof(a));
	a.pathname = (uintptr_t)path;
	a.bpf_fd = (unsigned)fd;
	if (sys_bpf(BPF_OBJ_PIN, &a) < 0)
		return -errno;
	return fd;
}

static int map_set(int fd, const void *k, const void *v)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (unsigned)fd;
	a.key = (uintptr_t)k;
	a.value = (uintptr_t)v;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0 ? -errno : 0;
}

static bool map_has(int fd, const void *k, void *v)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (unsigned)fd;
	a.key = (uintptr_t)k;
	a.value = (uintptr_t)v;
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) == 0;
}

static void job(int jobs, int denials, uint64_t key, unsigned range, uint64_t kills)
{
	struct gr_lsm_job j = { .uid_first = GT_FIRST + range * 65536, .uid_count = 65536,
				.gid_first = GT_FIRST + range * 65536, .gid_count = 65536 };
	struct gr_lsm_denial_key dk = { .job = key, .hook = GR_LSM_KILL };
	struct gr_lsm_denial_key sk = { .job = key, .hook = GR_LSM_SETUID };
	uint64_t one = 1;

	if (map_set(jobs, &key, &j) < 0 || map_set(denials, &dk, &kills) < 0 || map_set(denials, &sk, &one) < 0)
		abort();
}

/* the world's own bpf filesystem with the maps "jobs" and "denials" pinned
 * where the helper looks (no "tags": that needs the programs' BTF) */
static void pins(struct __test_metadata *_metadata, int *jobs, int *denials)
{
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	ASSERT_EQ(0, mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"));
	ASSERT_EQ(0, mkdir("/sys/fs/bpf/gridrun", 0700));
	*jobs = map_pinned("jobs", sizeof(uint64_t), sizeof(struct gr_lsm_job), GR_LSM_MAX_JOBS);
	ASSERT_LE(0, *jobs) TH_LOG("create the jobs map: %s", strerror(-*jobs));
	*denials = map_pinned("denials", sizeof(struct gr_lsm_denial_key), sizeof(uint64_t),
			      GR_LSM_MAX_JOBS * GR_LSM_NHOOKS);
	ASSERT_LE(0, *denials) TH_LOG("create the denials map: %s", strerror(-*denials));
}

static void unregister(struct __test_metadata *_metadata, const struct gt_world *w)
{
	int jobs, denials, go[2], done[2];
	struct gr_lsm_job j;
	uint64_t k = 111, other = 222, late = 333, n;
	struct gr_lsm_denial_key dk = { .job = 222, .hook = GR_LSM_KILL };
	pid_t c;

	pins(_metadata, &jobs, &denials);
	job(jobs, denials, k, 0, 3);        /* the pilot's job, in range 0 */
	job(jobs, denials, other, 1, 5);    /* another's, in range 1 */
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	c = fork();
	if (c == 0) {
		const char *lease[] = { "lease", "atlas", "job-u", NULL };
		const char *del[] = { "lsm-del", "atlas", "0", NULL };
		const char *rel[] = { "release", "atlas", "0", NULL };
		struct hres r;
		char b;

		become(PILOT);
		helper(w, lease, -1, &r);
		ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
		ASSERT_EQ(0, strncmp(r.out, "0 ", 2)) TH_LOG("%s", r.out);
		/* not the caller's lease: refused, nothing removed */
		EXPECT_HELPER(w, -1, 77, "gridrun-helper: pool atlas: range 1 is not leased\n", "lsm-del", "atlas", "1");
		/* its own: the entry goes, and its denials come back per hook */
		helper(w, del, -1, &r);
		EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
		EXPECT_STREQ("denials 4 1 0 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", r.out);
		helper(w, del, -1, &r);
		EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
		EXPECT_STREQ("none\n", r.out);
		/* an entry lsm-del did not remove (lease-map's, or a killed
		 * supervisor's): release, which hands back its denials */
		if (write(done[1], "d", 1) != 1 || read(go[0], &b, 1) != 1)
			_exit(2);
		helper(w, rel, -1, &r);
		EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
		EXPECT_STREQ("denials 2 1 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", r.out);
		_exit(_metadata->passed ? 0 : 1);
	}
	{
		char b;

		ASSERT_EQ(1, read(done[0], &b, 1));
	}
	EXPECT_FALSE(map_has(jobs, &k, &j));
	/* the other job's entry and counts are untouched */
	ASSERT_TRUE(map_has(jobs, &other, &j));
	EXPECT_EQ(GT_FIRST + 65536, j.uid_first);
	ASSERT_TRUE(map_has(denials, &dk, &n));
	EXPECT_EQ(5, n);
	job(jobs, denials, late, 0, 1);
	ASSERT_EQ(1, write(go[1], "g", 1));
	EXPECT_EQ(0, gt_wait(c, 60000));
	EXPECT_FALSE(map_has(jobs, &late, &j));
	EXPECT_TRUE(map_has(jobs, &other, &j));
	close(jobs);
	close(denials);
}

TEST(S33_lsm_del_and_release_unregister_only_the_callers_range_and_return_its_denials)
{
	in_world(_metadata, 2, unregister);
}

TEST(S33_the_same_with_file_capabilities_instead_of_setuid_root)
{
	in_world_as(_metadata, 2, unregister, true);
}

/*
 * lsm-add drops an entry of the caller's lease only when no process holds
 * an id of the range (a dead supervisor's job): a live job's entry makes it
 * refuse, or the pilot could unregister its running job by registering any
 * child, and take the job's ids behind it (S33).
 */
static void add_while_running(struct __test_metadata *_metadata, const struct gt_world *w)
{
	int jobs, denials, go[2], done[2];
	struct gr_lsm_job j;
	uint64_t k = 111;
	pid_t holder, c;
	char b;

	pins(_metadata, &jobs, &denials);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	c = fork();
	if (c == 0) {
		const char *lease[] = { "lease", "atlas", "job-a", NULL };
		char pid_s[16], want[160];
		int ready[2], pidfd;
		struct hres r;
		pid_t t;

		become(PILOT);
		helper(w, lease, -1, &r);
		ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
		ASSERT_EQ(0, strncmp(r.out, "0 ", 2)) TH_LOG("%s", r.out);
		/* root starts the registered job's task meanwhile */
		if (write(done[1], "l", 1) != 1 || read(go[0], &holder, sizeof(holder)) != sizeof(holder))
			_exit(2);
		/* the new job's init: the caller's child in a user namespace of its own */
		ASSERT_EQ(0, pipe(ready));
		t = fork();
		if (t == 0) {
			close(ready[0]);
			if (unshare(CLONE_NEWUSER) < 0)
				_exit(95);
			close(ready[1]);
			pause();
			_exit(0);
		}
		close(ready[1]);
		ASSERT_EQ(0, read(ready[0], &b, 1));
		pidfd = (int)syscall(SYS_pidfd_open, t, 0);
		ASSERT_LE(0, pidfd);
		snprintf(pid_s, sizeof(pid_s), "%d", (int)t);
		snprintf(want, sizeof(want), "gridrun-helper: pool atlas: range 0: its registered job still runs "
			 "(pid %d)\n", (int)holder);
		EXPECT_HELPER(w, pidfd, 77, want, "lsm-add", "atlas", "0", pid_s);
		if (write(done[1], "d", 1) != 1 || read(go[0], &b, 1) != 1)
			_exit(2);
		/* its task gone: a dead job's entry, dropped; registering then
		 * needs the programs' "tags", which only gridrun-lsm load pins */
		EXPECT_HELPER(w, pidfd, 71, "gridrun-helper: lsm: open the pinned maps under /sys/fs/bpf/gridrun: "
			      "No such file or directory\n", "lsm-add", "atlas", "0", pid_s);
		kill(t, SIGKILL);
		waitpid(t, NULL, 0);
		EXPECT_HELPER(w, -1, 0, "", "release", "atlas", "0");
		_exit(_metadata->passed ? 0 : 1);
	}
	ASSERT_EQ(1, read(done[0], &b, 1));
	job(jobs, denials, k, 0, 0);
	holder = fork();
	if (holder == 0) {   /* the registered job's task, with an id of range 0 */
		if (setresgid(GT_FIRST + 5, GT_FIRST + 5, GT_FIRST + 5) < 0 ||
		    setresuid(GT_FIRST + 5, GT_FIRST + 5, GT_FIRST + 5) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	usleep(100000);   /* past its setresuid */
	ASSERT_EQ(sizeof(holder), write(go[1], &holder, sizeof(holder)));
	ASSERT_EQ(1, read(done[0], &b, 1));
	EXPECT_TRUE(map_has(jobs, &k, &j));   /* the live job's entry stayed */
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	ASSERT_EQ(1, write(go[1], "g", 1));
	EXPECT_EQ(0, gt_wait(c, 60000));
	EXPECT_FALSE(map_has(jobs, &k, &j));
	close(jobs);
	close(denials);
}

TEST(S33_lsm_add_does_not_unregister_a_running_job_of_the_lease)
{
	in_world(_metadata, 2, add_while_running);
}

static int take_range_gid(int ready, void *arg)
{
	(void)ready;
	(void)arg;
	return setresgid(GT_FIRST + 9, GT_FIRST + 9, GT_FIRST + 9) < 0;
}

/*
 * A release whose noted user namespace still lives is "pending" and makes
 * no holder scan (lease-reclaim.c, issue 13); it still drops the range's
 * BPF LSM entries, so it kills the range's holders itself first: none is
 * left running unrestricted (S33, as lsm-del). Here lease-map's target
 * keeps the namespace alive through the release, and a task with a gid of
 * the range is there. Fails without the kill in do_release() (with nsfs
 * file handles; without them nothing is noted and the release scans).
 */
static void pending_release_kills_before_drop(struct __test_metadata *_metadata, const struct gt_world *w)
{
	int jobs, denials, status, go[2], done[2];
	struct gr_lsm_job j;
	uint64_t k = 444;
	pid_t c, squat;
	char b;

	pins(_metadata, &jobs, &denials);
	job(jobs, denials, k, 0, 2);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	c = fork();
	if (c == 0) {
		const char *lease[] = { "lease", "atlas", "job-p", NULL };
		struct hres r;
		char pid[16];
		int tfd;
		pid_t t;

		become(PILOT);
		helper(w, lease, -1, &r);
		ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
		ASSERT_EQ(0, strncmp(r.out, "0 ", 2)) TH_LOG("%s", r.out);
		/* map, not lease-map: that would register the job, which
		 * needs the LSM's programs; its note of the namespace is the same */
		t = gt_target(&tfd, true, -1);
		snprintf(pid, sizeof(pid), "%d", (int)t);
		EXPECT_HELPER(w, tfd, 0, "", "map", "atlas", "0", pid);
		if (write(done[1], "d", 1) != 1 || read(go[0], &b, 1) != 1)
			_exit(2);
		/* t (and so its namespace) lives on through the release */
		EXPECT_HELPER(w, -1, 0, "", "release", "atlas", "0");
		reap(t);
		_exit(_metadata->passed ? 0 : 1);
	}
	ASSERT_EQ(1, read(done[0], &b, 1));
	squat = gt_fork_ready(take_range_gid, NULL);   /* after the lease's own scan */
	ASSERT_EQ(1, write(go[1], "g", 1));
	EXPECT_EQ(0, gt_wait(c, 60000));
	EXPECT_FALSE(map_has(jobs, &k, &j));
	EXPECT_EQ(squat, waitpid(squat, &status, WNOHANG)) TH_LOG("the range's entry went with its holder alive");
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) TH_LOG("status 0x%x", status);
	kill(squat, SIGKILL);
	waitpid(squat, NULL, 0);
	close(jobs);
	close(denials);
}

TEST(S33_a_pending_release_kills_the_ranges_holders_before_it_drops_their_entries)
{
	/* in the host's PID namespace, where the helper notes namespaces */
	in_world_env(_metadata, 2, pending_release_kills_before_drop, "GT_WORLD_HOST_PID", "1");
}

TEST_HARNESS_MAIN
