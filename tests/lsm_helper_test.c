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
#include <poll.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

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
		EXPECT_HELPER(w, pidfd, 0, "", "map", "atlas", "0", pid_s);
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

/*
 * release drops the range's entries while the range is still its lease:
 * once N.lease is gone (kept as the spare, the quarantine ended by gc), a
 * new lease of the range registers the next job, and a drop after that
 * would remove the new job's entry (it runs without the LSM's rules) and
 * hand its denials to the old job's record. The pilot can stop its helper
 * there (the helper's real uid is the pilot's); here root holds it by
 * ptrace at its first bpf(BPF_MAP_DELETE_ELEM), and the pilot meanwhile
 * runs gc and leases again, as its next job's lease-map would.
 */
static void racing_next(struct __test_metadata *_metadata, const struct gt_world *w, const char *op)
{
	int jobs, denials, cmd[2], ans[2], go[2], hp[2], status;
	uint64_t k = 111, next = 444;
	struct gr_lsm_job j;
	bool held = false;
	unsigned idx = 99;
	pid_t c, h;
	char b;

	pins(_metadata, &jobs, &denials);
	ASSERT_EQ(0, pipe(cmd));
	ASSERT_EQ(0, pipe(ans));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(hp));
	c = fork();
	if (c == 0) {
		const char *lease1[] = { "lease", "atlas", "job-1", NULL };
		const char *lease2[] = { "lease", "atlas", "job-2", NULL };
		const char *gc[] = { "gc", "atlas", NULL };
		char rel_out[512] = "", pid_s[16] = "";
		int po[2], pidfd = -1;
		struct hres r;
		pid_t hh;

		become(PILOT);
		helper(w, lease1, -1, &r);
		ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
		ASSERT_EQ(0, strncmp(r.out, "0 ", 2)) TH_LOG("%s", r.out);
		if (write(ans[1], "l", 1) != 1 || read(cmd[0], &b, 1) != 1)
			_exit(2);
		/* op on range 0, started when root holds it by ptrace; lsm-add's
		 * target: the caller's child in a user namespace of its own */
		if (!strcmp(op, "lsm-add")) {
			snprintf(pid_s, sizeof(pid_s), "%d", (int)gt_target(&pidfd, true, -1));
			EXPECT_HELPER(w, pidfd, 0, "", "map", "atlas", "0", pid_s);
		}
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, po));
		hh = fork();
		if (hh == 0) {
			char *argv[] = { "gridrun-helper", (char *)op, "atlas", "0", pid_s[0] ? pid_s : NULL, NULL };
			/* (an ASan build's leak check cannot run under ptrace) */
			char *envp[] = { "ASAN_OPTIONS=detect_leaks=0", NULL };

			/* root attaches meanwhile: the exec is traced */
			while (read(go[0], &b, 1) < 0 && errno == EINTR)
				;
			dup2(po[1], 1);
			dup2(po[1], 2);
			if (pidfd >= 0) {
				dup2(pidfd, 3);
				fcntl(3, F_SETFD, 0);
			}
			syscall(SYS_close_range, pidfd >= 0 ? 4 : 3, ~0U, 0);
			execve(w->helper, argv, envp);
			_exit(96);
		}
		close(po[1]);
		if (write(hp[1], &hh, sizeof(hh)) != sizeof(hh))
			_exit(2);
		/* "n": the release is at its first delete; "x": it ended */
		if (read(cmd[0], &b, 1) != 1)
			_exit(2);
		/* meanwhile gc and the next lease, which may have to wait for it */
		if (b == 'n') {
			const char *rel[] = { "release", "atlas", "0", NULL };

			if (strcmp(op, "release")) {   /* the op's lease ends meanwhile */
				helper(w, rel, -1, &r);
				EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
			}
			helper(w, gc, -1, &r);
			EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
			helper(w, lease2, -1, &r);
			ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
			if (write(ans[1], r.out, 1) != 1)
				_exit(2);
		}
		drain(po[0], rel_out, sizeof(rel_out));
		ASSERT_EQ(hh, waitpid(hh, &status, 0));
		if (pidfd >= 0) {
			/* it dropped the dead job's entry; registering then needs
			 * the programs' "tags", which only gridrun-lsm load pins */
			EXPECT_EQ(71, WEXITSTATUS(status));
			EXPECT_STREQ("gridrun-helper: lsm: open the pinned maps under /sys/fs/bpf/gridrun: "
				     "No such file or directory\n", rel_out);
		} else {
			EXPECT_EQ(0, status);
			/* the old job's denials only */
			EXPECT_STREQ("denials 4 1 0 3 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", rel_out);
		}
		_exit(_metadata->passed ? 0 : 1);
	}
	ASSERT_EQ(1, read(ans[0], &b, 1));
	job(jobs, denials, k, 0, 3);
	ASSERT_EQ(1, write(cmd[1], "r", 1));
	ASSERT_EQ(sizeof(h), read(hp[0], &h, sizeof(h)));
	ASSERT_EQ(0, ptrace(PTRACE_ATTACH, h, 0, 0)) TH_LOG("attach %d: %s", (int)h, strerror(errno));
	ASSERT_EQ(h, waitpid(h, &status, __WALL));
	ASSERT_EQ(0, ptrace(PTRACE_SETOPTIONS, h, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL));
	ASSERT_EQ(0, ptrace(PTRACE_SYSCALL, h, 0, 0));
	ASSERT_EQ(1, write(go[1], "g", 1));
	for (;;) {
		struct __ptrace_syscall_info si;
		int sig = 0;

		ASSERT_EQ(h, waitpid(h, &status, __WALL));
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
			memset(&si, 0, sizeof(si));
			if (!held && ptrace(PTRACE_GET_SYSCALL_INFO, h, sizeof(si), &si) > 0 &&
			    si.op == PTRACE_SYSCALL_INFO_ENTRY && si.entry.nr == SYS_bpf &&
			    si.entry.args[0] == BPF_MAP_DELETE_ELEM) {
				struct pollfd pf = { .fd = ans[0], .events = POLLIN };

				held = true;
				ASSERT_EQ(1, write(cmd[1], "n", 1));
				/* the next job of the new lease, registered (if it got one meanwhile) */
				if (poll(&pf, 1, 3000) == 1) {
					ASSERT_EQ(1, read(ans[0], &b, 1));
					idx = (unsigned)(b - '0');
					job(jobs, denials, next, idx, 0);
				}
			}
		} else if (WSTOPSIG(status) != SIGTRAP) {
			sig = WSTOPSIG(status);
		}
		ASSERT_EQ(0, ptrace(PTRACE_SYSCALL, h, 0, sig));
	}
	if (!held)
		ASSERT_EQ(1, write(cmd[1], "x", 1));
	ASSERT_TRUE(held);
	if (idx == 99) {   /* it had to wait for the release: registered now */
		ASSERT_EQ(1, read(ans[0], &b, 1));
		idx = (unsigned)(b - '0');
		job(jobs, denials, next, idx, 0);
	}
	EXPECT_EQ(0, gt_wait(c, 60000));
	EXPECT_FALSE(map_has(jobs, &k, &j));
	/* the next job keeps its entry, whichever range it got */
	EXPECT_TRUE(map_has(jobs, &next, &j)) TH_LOG("%s of range 0 dropped range %u's new job", op, idx);
	close(jobs);
	close(denials);
}

TEST(S33_a_pending_release_kills_the_ranges_holders_before_it_drops_their_entries)
{
	/* in the host's PID namespace, where the helper notes namespaces */
	in_world_env(_metadata, 2, pending_release_kills_before_drop, "GT_WORLD_HOST_PID", "1");
}

static void release_racing_next(struct __test_metadata *_metadata, const struct gt_world *w)
{
	racing_next(_metadata, w, "release");
}

TEST(S33_release_drops_only_its_own_jobs_entries_not_the_next_lease_of_the_range)
{
	in_world(_metadata, 2, release_racing_next);
}

/* lsm-del read the caller's lease without holding it: the pilot released
 * the range behind it, and lsm-del dropped the next lease's job (and
 * killed its tasks, had they held the range's ids yet) */
static void lsm_del_racing_next(struct __test_metadata *_metadata, const struct gt_world *w)
{
	racing_next(_metadata, w, "lsm-del");
}

TEST(S33_lsm_del_drops_only_its_own_jobs_entries_not_the_next_lease_of_the_range)
{
	in_world(_metadata, 2, lsm_del_racing_next);
}

/* lsm-add (and lease-map's registration) drops a dead job's entries of
 * the caller's lease first: not those of the range's next lease */
static void lsm_add_racing_next(struct __test_metadata *_metadata, const struct gt_world *w)
{
	racing_next(_metadata, w, "lsm-add");
}

TEST(S33_lsm_add_drops_only_its_own_leases_entries_not_the_next_lease_of_the_range)
{
	in_world(_metadata, 2, lsm_add_racing_next);
}

/*
 * lsm-add keys the job by its target's user namespace: a target that
 * passes map's checks (the caller's child, the caller's uid, a namespace
 * not the caller's) may still be a pilot's process that setns()ed into
 * another of its jobs' namespaces (the pilot owns them). Registered for
 * this lease's range, it would take over that job's entry, which lsm-del
 * or release of this lease then drop: the other job runs unconfined.
 */
static void add_other_namespace(struct __test_metadata *_metadata, const struct gt_world *w)
{
	int jobs, denials;
	pid_t c;

	pins(_metadata, &jobs, &denials);
	c = fork();
	if (c == 0) {
		const char *lease_a[] = { "lease", "atlas", "job-a", NULL };
		const char *lease_b[] = { "lease", "atlas", "job-b", NULL };
		char pid_b[16], pid_t_s[16], want[160], path[64], b;
		int pfd_b, pfd_t, nsfd, ready[2];
		struct hres r;
		pid_t init_b, t;

		become(PILOT);
		helper(w, lease_a, -1, &r);
		ASSERT_EQ(0, strncmp(r.out, "0 ", 2)) TH_LOG("%s %s", r.out, r.err);
		helper(w, lease_b, -1, &r);
		ASSERT_EQ(0, strncmp(r.out, "1 ", 2)) TH_LOG("%s %s", r.out, r.err);
		/* job b's init, mapped to range 1 */
		init_b = gt_target(&pfd_b, true, -1);
		snprintf(pid_b, sizeof(pid_b), "%d", (int)init_b);
		EXPECT_HELPER(w, pfd_b, 0, "", "map", "atlas", "1", pid_b);
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)init_b);
		nsfd = open(path, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, nsfd);
		/* the pilot's process in job b's namespace, as lsm-add's target for range 0 */
		ASSERT_EQ(0, pipe(ready));
		t = fork();
		if (t == 0) {
			if (setns(nsfd, CLONE_NEWUSER) < 0)
				_exit(95);
			close(ready[1]);
			pause();
			_exit(0);
		}
		close(ready[1]);
		ASSERT_EQ(0, read(ready[0], &b, 1));
		pfd_t = (int)syscall(SYS_pidfd_open, t, 0);
		ASSERT_LE(0, pfd_t);
		snprintf(pid_t_s, sizeof(pid_t_s), "%d", (int)t);
		snprintf(want, sizeof(want), "gridrun-helper: pid %d is not in the user namespace mapped to range 0\n",
			 (int)t);
		EXPECT_HELPER(w, pfd_t, 77, want, "lsm-add", "atlas", "0", pid_t_s);
		kill(t, SIGKILL);
		kill(init_b, SIGKILL);
		_exit(_metadata->passed ? 0 : 1);
	}
	EXPECT_EQ(0, gt_wait(c, 60000));
	close(jobs);
	close(denials);
}

TEST(S33_lsm_add_refuses_a_target_in_another_jobs_user_namespace)
{
	in_world(_metadata, 2, add_other_namespace);
}

TEST_HARNESS_MAIN
