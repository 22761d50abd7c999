// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * helper_test - gridrun-helper (runtime/helper/helper.h), the setuid step of helper
 * mode, attacked from an unprivileged pilot uid: S18 (strict request; a map
 * only for the caller's own child and lease, refused for counts, signs and
 * overflows, someone else's pid, a mismatched or reused pid; the map written
 * is the lease exactly), S16 (no ptrace; no uid 0 or capability after the
 * step) and gridrun run in helper mode end to end.
 *
 * Each test runs in a small world (tests/lib/gt-world.h): a setuid-root
 * copy of the helper, private /etc, /proc and PID namespace, numeric pilots.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <limits.h>
#include <sys/random.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"
#include "gt-helper.h"
#include "helper.h"

/* ---- S18: the request ---- */

static void bad_requests(struct __test_metadata *_metadata, const struct gt_world *w)
{
	pid_t pid = fork();
	char *dir;


	if (pid == 0) {
		become(PILOT);
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: unknown request (usage: gridrun-helper lease POOL JOB_ID "
			      "[UID GID] | map POOL INDEX PID | "
			      "lease-map POOL JOB_ID PID [UID GID] | release POOL INDEX [sandbox] | gc POOL | "
			      "lsm-add POOL INDEX PID | lsm-del POOL INDEX)\n", "frob");
		/* the old separate hand-over requests are gone (the lease and the release do it) */
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: unknown request (usage: gridrun-helper lease POOL JOB_ID "
			      "[UID GID] | map POOL INDEX PID | "
			      "lease-map POOL JOB_ID PID [UID GID] | release POOL INDEX [sandbox] | gc POOL | "
			      "lsm-add POOL INDEX PID | lsm-del POOL INDEX)\n", "sandbox", "atlas", "0", "0", "0");
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: map takes 3 argument(s), not 2 (usage: gridrun-helper "
			      "lease POOL JOB_ID [UID GID] | map POOL INDEX PID | "
			      "lease-map POOL JOB_ID PID [UID GID] | release POOL INDEX [sandbox] | "
			      "gc POOL | lsm-add POOL INDEX PID | lsm-del POOL INDEX)\n", "map", "atlas", "0");
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: release takes 2 or 3 arguments, not 4 (usage: gridrun-helper "
			      "lease POOL JOB_ID [UID GID] | map POOL INDEX PID | "
			      "lease-map POOL JOB_ID PID [UID GID] | release POOL INDEX [sandbox] | "
			      "gc POOL | lsm-add POOL INDEX PID | lsm-del POOL INDEX)\n", "release", "atlas", "0", "a", "b");
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: INDEX: `-1` is not a range index (0-65535)\n",
			      "map", "atlas", "-1", "5");
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: INDEX: `65536` is not a range index (0-65535)\n",
			      "map", "atlas", "65536", "5");
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: INDEX: `18446744073709551617` is not a range index (0-65535)\n",
			      "release", "atlas", "18446744073709551617");
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: INDEX: `01` is not a range index (0-65535)\n",
			      "release", "atlas", "01");
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: INDEX: ` 1` is not a range index (0-65535)\n",
			      "release", "atlas", " 1");
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: PID: `0` is not a pid (1-4194304)\n", "map", "atlas", "0", "0");
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: PID: `+5` is not a pid (1-4194304)\n", "map", "atlas", "0", "+5");
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: PID: `4294967297` is not a pid (1-4194304)\n",
			      "map", "atlas", "0", "4294967297");
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: POOL: `../atlas` is not a pool name\n", "gc", "../atlas");
		EXPECT_HELPER(w, -1, 64, "gridrun-helper: JOB_ID: `.j` is not a job id\n", "lease", "atlas", ".j");
		/* an index past the pool's ranges, a pool that does not exist, an account it does not allow */
		EXPECT_HELPER(w, -1, 77, "gridrun-helper: pool atlas has no range 4 (it has 4)\n", "release", "atlas", "4");
		EXPECT_HELPER(w, -1, 77, "gridrun-helper: gridrun.pool: no pool `cms` in `/etc/gridrun/gridrun.conf`\n", "lease", "cms", "j");
		_exit(_metadata->passed ? 0 : 1);
	}
	EXPECT_EQ(0, gt_wait(pid, 60000));
	pid = fork();
	if (pid == 0) {
		become(OTHER);
		EXPECT_HELPER(w, -1, 77, "gridrun-helper: pool atlas: account `cms001` may not lease from it "
			      "(accounts: atlas001)\n", "lease", "atlas", "j");
		_exit(_metadata->passed ? 0 : 1);
	}
	EXPECT_EQ(0, gt_wait(pid, 60000));
	/* nothing was leased */
	ASSERT_LE(0, asprintf(&dir, "%s/atlas", w->leases));
	EXPECT_TRUE(gt_count_dir(dir) <= 3) TH_LOG("%d entries", gt_count_dir(dir));
	free(dir);
}

TEST(S18_bad_requests_are_refused_with_one_line_and_nothing_leased)
{
	in_world(_metadata, 4, bad_requests);
}

/* ---- S18: the map ---- */

/* The one extent of a map file, as "INNER OUTER COUNT" */
static bool one_extent(pid_t pid, const char *name, char *buf, size_t size)
{
	char *t = proc_file(pid, name);
	unsigned long long a, b, c;
	int n = 0;
	bool ok = t && sscanf(t, "%llu %llu %llu\n%n", &a, &b, &c, &n) == 3 && t[n] == '\0';

	if (ok)
		snprintf(buf, size, "%llu %llu %llu", a, b, c);
	free(t);
	return ok;
}

static void maps_as_pilot(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char want[256], got[64], *t;
	int tfd, t2fd, t3fd, init_fd, null_fd, dp[2];
	pid_t t1, t2, t3, d, me = getpid();
	const char *lease[] = { "lease", "atlas", "job-c", NULL };
	struct hres r;

	become(PILOT);
	helper(w, lease, -1, &r);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	EXPECT_STREQ(gt_f("0 %u 65536\n", FIRST), r.out);
	/* another job of the same account holds range 1 */
	ASSERT_EQ(0, pipe(dp));
	d = fork();
	if (d == 0) {
		const char *l2[] = { "lease", "atlas", "job-d", NULL };
		struct hres r2;

		helper(w, l2, -1, &r2);
		if (write(dp[1], r2.out, strlen(r2.out) + 1) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	ASSERT_LT(0, read(dp[0], got, sizeof(got)));
	EXPECT_STREQ(gt_f("1 %u 65536\n", FIRST + 65536), got);

	t1 = gt_target(&tfd, true, -1);
	snprintf(got, sizeof(got), "%d", (int)t1);
	EXPECT_HELPER(w, tfd, 0, "", "map", "atlas", "0", got);
	ASSERT_TRUE(one_extent(t1, "uid_map", want, sizeof(want)));
	EXPECT_STREQ(gt_f("0 %u 65536", FIRST), want);
	ASSERT_TRUE(one_extent(t1, "gid_map", want, sizeof(want)));
	EXPECT_STREQ(gt_f("0 %u 65536", FIRST), want);
	t = proc_file(t1, "setgroups");
	EXPECT_STREQ("allow\n", t);
	free(t);

	t2 = gt_target(&t2fd, true, -1);
	snprintf(got, sizeof(got), "%d", (int)t2);
	snprintf(want, sizeof(want), "gridrun-helper: pool atlas: range 1 is not leased by the caller (pid %d)\n", (int)me);
	EXPECT_HELPER(w, t2fd, 77, want, "map", "atlas", "1", got);
	EXPECT_HELPER(w, t2fd, 77, "gridrun-helper: pool atlas: range 2 is not leased\n", "map", "atlas", "2", got);
	snprintf(want, sizeof(want), "gridrun-helper: fd 3 is the pidfd of pid %d, not of pid %d\n", (int)t1, (int)t2);
	EXPECT_HELPER(w, tfd, 77, want, "map", "atlas", "0", got);
	EXPECT_HELPER(w, -1, 64, "gridrun-helper: fd 3: no pidfd of the target\n", "map", "atlas", "0", got);
	null_fd = open("/dev/null", O_RDONLY);
	EXPECT_HELPER(w, null_fd, 64, "gridrun-helper: fd 3 is not a pidfd\n", "map", "atlas", "0", got);
	/* someone else's process: root's pid 1 */
	init_fd = (int)syscall(SYS_pidfd_open, 1, 0);
	ASSERT_LE(0, init_fd);
	EXPECT_HELPER(w, init_fd, 77, "gridrun-helper: pid 1 is not the caller's child\n", "map", "atlas", "0", "1");
	/* the caller's child, but in the caller's own user namespace */
	t3 = gt_target(&t3fd, false, -1);
	snprintf(got, sizeof(got), "%d", (int)t3);
	snprintf(want, sizeof(want), "gridrun-helper: pid %d is not in a user namespace of its own\n", (int)t3);
	EXPECT_HELPER(w, t3fd, 77, want, "map", "atlas", "0", got);
	/* none of the refusals wrote anything */
	t = proc_file(t2, "uid_map");
	EXPECT_STREQ("", t);
	free(t);
	/* release: only the caller's own lease */
	snprintf(want, sizeof(want), "gridrun-helper: pool atlas: range 1 is not leased by the caller (pid %d)\n", (int)me);
	EXPECT_HELPER(w, -1, 77, want, "release", "atlas", "1");
	EXPECT_HELPER(w, -1, 0, "", "release", "atlas", "0");
	EXPECT_HELPER(w, -1, 77, "gridrun-helper: pool atlas: range 0 is not leased\n", "release", "atlas", "0");
	reap(t1);
	reap(t2);
	reap(t3);
	reap(d);
	_exit(_metadata->passed ? 0 : 1);
}

/* A pid reused between the caller's pidfd and the request: the world's pid
 * 1 is root, so the next pid can be forced (ns_last_pid). */
static void reused_pid(struct __test_metadata *_metadata, const struct gt_world *w)
{
	const char *lease[] = { "lease", "atlas", "job-r", NULL };
	char pid_s[16], want[128], idx[16];
	int afd, bfd;
	pid_t a, b;
	struct hres r;
	FILE *f;

	a = gt_target(&afd, true, PILOT);
	ASSERT_LE(0, afd);
	reap(a);
	f = fopen("/proc/sys/kernel/ns_last_pid", "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "%d", (int)a - 1);
	ASSERT_EQ(0, fclose(f));
	b = gt_target(&bfd, true, PILOT);
	ASSERT_EQ(a, b);
	become(PILOT);
	helper(w, lease, -1, &r);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)a);
	ASSERT_EQ(1, sscanf(r.out, "%15s", idx));
	/* the old pidfd names a process that is gone: pid a is now someone else */
	EXPECT_HELPER(w, afd, 77, "gridrun-helper: the process of fd 3 is gone\n", "map", "atlas", idx, pid_s);
	snprintf(want, sizeof(want), "/proc/%d/uid_map", (int)b);
	EXPECT_STREQ("", gt_read(want));
	EXPECT_HELPER(w, bfd, 0, "", "map", "atlas", idx, pid_s);
	reap(b);
}

static void maps(struct __test_metadata *_metadata, const struct gt_world *w)
{
	pid_t pid = fork();
	char *dir;

	if (pid == 0)
		maps_as_pilot(_metadata, w);
	EXPECT_EQ(0, gt_wait(pid, 60000));
	/* the quarantine of range 0 and the lease of the dead job-d are root's */
	ASSERT_LE(0, asprintf(&dir, "%s/atlas/0.quarantine", w->leases));
	EXPECT_NE(NULL, gt_read(dir));
	free(dir);
	pid = fork();
	if (pid == 0) {
		reused_pid(_metadata, w);
		_exit(_metadata->passed ? 0 : 1);
	}
	EXPECT_EQ(0, gt_wait(pid, 60000));
}

TEST(S18_maps_are_the_callers_lease_exactly_on_its_own_child_held_by_pidfd)
{
	in_world(_metadata, 4, maps);
}

TEST(S18_the_same_with_file_capabilities_instead_of_setuid_root)
{
	in_world_as(_metadata, 4, maps, true);
}

/* ---- the BPF LSM in helper mode (lsm-add, lsm-del) ---- */

/*
 * lsm-add registers only the caller's own child (held by pidfd, in a user
 * namespace of its own, still with the caller's uid) with the caller's own
 * lease; lsm-del lifts only the caller's own lease's entries. Every refusal
 * comes before the LSM is consulted, so it is the same whether the LSM is
 * loaded (the v2 guest) or not (this host, where the kernel refuses BPF LSM
 * programs): there lsm-add answers "0" (not loaded) and lsm-del "none".
 */
static void lsm_as_pilot(struct __test_metadata *_metadata, const struct gt_world *w)
{
	const char *lease[] = { "lease", "atlas", "job-l", NULL };
	char pid_s[16], want[160], idx[16], other[16];
	int tfd, t2fd, t3fd, init_fd, dp[2];
	pid_t t1, t2, t3, d, me = getpid();
	struct hres r;

	become(PILOT);
	helper(w, lease, -1, &r);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	ASSERT_EQ(1, sscanf(r.out, "%15s", idx));
	/* another supervisor of the same account holds the next range */
	ASSERT_EQ(0, pipe(dp));
	d = fork();
	if (d == 0) {
		const char *l2[] = { "lease", "atlas", "job-m", NULL };
		struct hres r2;

		helper(w, l2, -1, &r2);
		if (write(dp[1], r2.out, strlen(r2.out) + 1) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	ASSERT_LT(0, read(dp[0], want, sizeof(want)));
	ASSERT_EQ(1, sscanf(want, "%15s", other));

	t1 = gt_target(&tfd, true, -1);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)t1);
	/* grammar */
	EXPECT_HELPER(w, tfd, 64, "gridrun-helper: lsm-add takes 3 argument(s), not 2 (" GR_HELPER_USAGE ")\n",
		      "lsm-add", "atlas", idx);
	EXPECT_HELPER(w, tfd, 64, "gridrun-helper: PID: `0` is not a pid (1-4194304)\n", "lsm-add", "atlas", idx, "0");
	EXPECT_HELPER(w, -1, 64, "gridrun-helper: lsm-del takes 2 argument(s), not 3 (" GR_HELPER_USAGE ")\n",
		      "lsm-del", "atlas", idx, pid_s);
	/* a range the caller does not hold: another supervisor's, or nobody's */
	snprintf(want, sizeof(want), "gridrun-helper: pool atlas: range %s is not leased by the caller (pid %d)\n",
		 other, (int)me);
	EXPECT_HELPER(w, tfd, 77, want, "lsm-add", "atlas", other, pid_s);
	EXPECT_HELPER(w, -1, 77, want, "lsm-del", "atlas", other);
	EXPECT_HELPER(w, tfd, 77, "gridrun-helper: pool atlas: range 3 is not leased\n", "lsm-add", "atlas", "3", pid_s);
	EXPECT_HELPER(w, -1, 77, "gridrun-helper: pool atlas: range 3 is not leased\n", "lsm-del", "atlas", "3");
	/* a foreign pid: root's pid 1, with its own pidfd */
	init_fd = (int)syscall(SYS_pidfd_open, 1, 0);
	ASSERT_LE(0, init_fd);
	EXPECT_HELPER(w, init_fd, 77, "gridrun-helper: pid 1 is not the caller's child\n", "lsm-add", "atlas", idx, "1");
	/* a pid that is not the pidfd's, no pidfd at all */
	t2 = gt_target(&t2fd, true, -1);
	snprintf(want, sizeof(want), "gridrun-helper: fd 3 is the pidfd of pid %d, not of pid %d\n", (int)t2, (int)t1);
	EXPECT_HELPER(w, t2fd, 77, want, "lsm-add", "atlas", idx, pid_s);
	EXPECT_HELPER(w, -1, 64, "gridrun-helper: fd 3: no pidfd of the target\n", "lsm-add", "atlas", idx, pid_s);
	/* the caller's child in the caller's own user namespace: the key
	 * would be the pilot's own namespace */
	t3 = gt_target(&t3fd, false, -1);
	snprintf(pid_s, sizeof(pid_s), "%d", (int)t3);
	snprintf(want, sizeof(want), "gridrun-helper: pid %d is not in a user namespace of its own\n", (int)t3);
	EXPECT_HELPER(w, t3fd, 77, want, "lsm-add", "atlas", idx, pid_s);
	/* the caller's own child and lease: accepted; the LSM is not loaded here */
	snprintf(pid_s, sizeof(pid_s), "%d", (int)t1);
	{
		const char *add[] = { "lsm-add", "atlas", idx, pid_s, NULL };
		const char *del[] = { "lsm-del", "atlas", idx, NULL };

		helper(w, add, tfd, &r);
		EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
		EXPECT_STREQ("0\n", r.out);
		EXPECT_STREQ("", r.err);
		/* lsm-del kills what holds the range's ids: none here (t1 has no map) */
		helper(w, del, -1, &r);
		EXPECT_EQ(0, r.status) TH_LOG("stderr: %s", r.err);
		EXPECT_STREQ("none\n", r.out);
		EXPECT_EQ(0, kill(t1, 0));
	}
	EXPECT_HELPER(w, -1, 0, "", "release", "atlas", idx);
	reap(t1);
	reap(t2);
	reap(t3);
	reap(d);
	close(init_fd);
	_exit(_metadata->passed ? 0 : 1);
}

static void lsm_requests(struct __test_metadata *_metadata, const struct gt_world *w)
{
	pid_t pid = fork();

	if (pid == 0)
		lsm_as_pilot(_metadata, w);
	EXPECT_EQ(0, gt_wait(pid, 60000));
}

TEST(S18_lsm_add_only_for_the_callers_own_child_and_lease_lsm_del_only_its_lease)
{
	in_world(_metadata, 4, lsm_requests);
}

TEST(S18_the_lsm_requests_with_file_capabilities_instead_of_setuid_root)
{
	in_world_as(_metadata, 4, lsm_requests, true);
}

/* ---- S16 ---- */

static void after_the_step(struct __test_metadata *_metadata, const struct gt_world *w)
{
	int p[2], ready[2], go[2], status;
	pid_t c, h = 0;
	char buf[4096], *st, path[64];

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	c = fork();
	if (c == 0) {
		become(PILOT);
		/* stdout: a full pipe, so the helper blocks in its one write,
		 * which comes after it has dropped everything */
		if (pipe(p) < 0 || fcntl(p[1], F_SETPIPE_SZ, 4096) < 0 || fcntl(p[1], F_SETFL, O_NONBLOCK) < 0)
			_exit(2);
		memset(buf, 'x', sizeof(buf));
		while (write(p[1], buf, sizeof(buf)) > 0)
			;
		fcntl(p[1], F_SETFL, 0);
		h = fork();
		if (h == 0) {
			char *argv[] = { "gridrun-helper", "gc", "atlas", NULL }, *envp[] = { NULL };

			dup2(p[1], 1);
			/* left ignored by the caller: the helper resets them, and
			 * libc's own 32 and 33, which its sigaction() refuses
			 * (an ASan-built caller left them so) */
			struct {
				void (*handler)(int);
				unsigned long flags;
				void (*restorer)(void);
				unsigned long mask;
			} ign = { .handler = SIG_IGN };

			signal(SIGTERM, SIG_IGN);
			signal(SIGUSR1, SIG_IGN);
			if (syscall(SYS_rt_sigaction, 32, &ign, NULL, sizeof(ign.mask)) < 0 ||
			    syscall(SYS_rt_sigaction, 33, &ign, NULL, sizeof(ign.mask)) < 0)
				_exit(95);
			execve(w->helper, argv, envp);
			_exit(96);
		}
		if (write(ready[1], &h, sizeof(h)) != sizeof(h) || read(go[0], buf, 1) != 1)
			_exit(3);
		snprintf(path, sizeof(path), "/proc/%d/status", (int)h);
		st = gt_read(path);
		ASSERT_NE(NULL, st);
		EXPECT_NE(NULL, strstr(st, "\nUid:\t23456\t23456\t23456\t23456\n")) TH_LOG("%s", st);
		EXPECT_NE(NULL, strstr(st, "\nGid:\t23456\t23456\t23456\t23456\n"));
		EXPECT_NE(NULL, strstr(st, "\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n"
				       "CapEff:\t0000000000000000\nCapBnd:\t00000000002800ed\n"
				       "CapAmb:\t0000000000000000\n"));
		/* no signal blocked, and only SIGXFSZ and the terminal's stops
		 * (SIGTSTP, SIGTTIN, SIGTTOU: S36) ignored */
		EXPECT_NE(NULL, strstr(st, "\nSigBlk:\t0000000000000000\nSigIgn:\t0000000001380000\n")) TH_LOG("%s", st);
		free(st);
		/* non-dumpable: ptrace and /proc/PID/mem refused */
		errno = 0;
		EXPECT_EQ(-1, ptrace(PTRACE_ATTACH, h, NULL, NULL));
		EXPECT_EQ(EPERM, errno);
		EXPECT_EQ(-1, ptrace(PTRACE_SEIZE, h, NULL, NULL));
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)h);
		EXPECT_EQ(-1, open(path, O_RDONLY));
		/* let it finish */
		while (read(p[0], buf, sizeof(buf)) == sizeof(buf))
			if (waitpid(h, &status, WNOHANG) == h)
				break;
		_exit(_metadata->passed ? 0 : 1);
	}
	ASSERT_EQ(sizeof(h), read(ready[0], &h, sizeof(h)));
	/* root watches until the helper sits in write(2) on fd 1 */
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)h);
	for (int i = 0; i < 2000; i++) {
		st = gt_read(path);
		if (st && !strncmp(st, "1 0x1 ", 6)) {
			free(st);
			break;
		}
		free(st);
		usleep(5000);
	}
	st = gt_read(path);
	EXPECT_EQ(0, strncmp(st, "1 0x1 ", 6)) TH_LOG("syscall: %s", st);
	free(st);
	ASSERT_EQ(1, write(go[1], "g", 1));
	EXPECT_EQ(0, gt_wait(c, 60000));
}

TEST(S16_helper_cannot_be_ptraced_and_keeps_no_uid_0_or_capability)
{
	in_world(_metadata, 4, after_the_step);
}

/* ---- gridrun run in helper mode ---- */


static void run_in_helper_mode(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *state = pilot_env(w), *spec, *path, *rec;
	char *argv[] = { (char *)gt_gridrun(), "run", NULL, NULL };
	struct gt_result res = { 0 };
	struct stat st;

	spec = pilot_spec(w, "h1", "cat /proc/self/uid_map /proc/self/gid_map | tr -s ' '; id -u; "
			  "stat -c %u:%g $SBX; touch $SBX/mine; stat -c %u:%g $SBX/mine");
	argv[2] = spec;
	setenv("GRIDRUN_DEBUG", "1", 1);
	gt_run_argv(argv, PILOT, &res);
	unsetenv("GRIDRUN_DEBUG");
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	/* the pilot's sandbox is the job's own (handover.h) ... */
	EXPECT_STREQ(gt_f(" 0 %u 65536\n 0 %u 65536\n0\n0:0\n0:0\n", FIRST, FIRST), res.out);
	EXPECT_NE(NULL, strstr(res.err, gt_idmap_expected(w->dir) ? "sandbox hand-over idmap, 0 entries"
								  : "sandbox hand-over chown, "))
		TH_LOG("%s", res.err);
	/* ... and after the job, what it made is the pilot's */
	ASSERT_LE(0, asprintf(&path, "%s/execute/h1/mine", w->dir));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(PILOT, st.st_uid);
	EXPECT_EQ(PILOT, st.st_gid);
	free(path);
	ASSERT_LE(0, asprintf(&path, "%s/execute/h1/record.json", w->dir));
	rec = gt_read(path);
	ASSERT_NE(NULL, rec);
	EXPECT_NE(NULL, strstr(rec, gt_f("\"isolation\":\"helper\",\"uid_range\":{\"first\":%u,\"count\":65536}", FIRST)))
		TH_LOG("%s", rec);
	free(rec);
	free(path);
	/* released through the helper: root's quarantine, no lease */
	ASSERT_LE(0, asprintf(&path, "%s/atlas/0.quarantine", w->leases));
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0, st.st_uid);
	free(path);
	ASSERT_LE(0, asprintf(&path, "%s/atlas/0.lease", w->leases));
	EXPECT_EQ(-1, access(path, F_OK));
	free(path);
	EXPECT_EQ(0, gt_count_dir(state));
	gt_result_free(&res);
	free(spec);
	free(state);
}

TEST(helper_mode_job_runs_in_its_lease_and_releases_it)
{
	in_world(_metadata, 2, run_in_helper_mode);
}


/* One start too many from the full pool: its one line, exit 125. */
static void expect_exhausted(struct __test_metadata *_metadata, const struct gt_world *w, const char *name)
{
	char *spec = pilot_spec(w, name, "true"), *want;
	char *argv[] = { (char *)gt_gridrun(), "run", spec, NULL };
	struct gt_result res = { 0 };

	gt_run_argv(argv, PILOT, &res);
	EXPECT_EQ(125, res.status);
	ASSERT_LE(0, asprintf(&want, "gridrun: pool atlas exhausted (%u of %u ranges leased)\n", w->ranges, w->ranges));
	EXPECT_STREQ(want, res.err);
	gt_result_free(&res);
	free(want);
	free(spec);
}

static void exhausted_and_gc(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *state = pilot_env(w), *spec, *ready, *path;
	char *gc[] = { (char *)gt_gridrun(), "gc", NULL };
	struct gt_result res = { 0 };
	pid_t holder;

	spec = pilot_spec(w, "holder", "touch $SBX/ready; sleep 600");
	holder = gt_start_spec(spec, PILOT);
	free(spec);
	ASSERT_LE(0, asprintf(&ready, "%s/execute/holder/ready", w->dir));
	ASSERT_TRUE(gt_wait_file(ready, 20000));
	expect_exhausted(_metadata, w, "second");
	/* the supervisor dies: its lease stays until gc, which the pilot runs */
	ASSERT_EQ(0, kill(holder, SIGKILL));
	EXPECT_EQ(128 + SIGKILL, gt_wait(holder, 20000));
	gt_run_argv(gc, PILOT, &res);
	EXPECT_EQ(0, res.status) TH_LOG("%s", res.err);
	EXPECT_NE(NULL, strstr(res.out, "gridrun gc: reclaimed 1 lease(s) of dead holders")) TH_LOG("%s", res.out);
	ASSERT_LE(0, asprintf(&path, "%s/atlas/0.lease", w->leases));
	EXPECT_EQ(-1, access(path, F_OK));
	gt_result_free(&res);
	free(path);
	free(ready);
	free(state);
}

/* cms001 may lease from no pool of the world's: its gc says nothing of atlas */
static void gc_by_an_outsider(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *state = pilot_env(w), *other_state;
	char *gc[] = { (char *)gt_gridrun(), "gc", NULL };
	struct gt_result res = { 0 };

	ASSERT_LE(0, asprintf(&other_state, "%s/ostate", w->dir));
	gt_mkdirs(other_state, 0700, OTHER, OTHER);
	setenv("GRIDRUN_STATE_DIR", other_state, 1);
	gt_run_argv(gc, OTHER, &res);
	EXPECT_EQ(0, res.status) TH_LOG("%s", res.err);
	EXPECT_STREQ("", res.err);
	EXPECT_STREQ("gridrun gc: removed 0 stale state entries\n"
		     "gridrun gc: reclaimed 0 lease(s) of dead holders, ended 0 quarantine(s)\n", res.out);
	gt_result_free(&res);
	free(other_state);
	free(state);
}

TEST(helper_mode_gc_by_a_pilot_is_quiet_about_pools_it_is_not_in)
{
	in_world(_metadata, 1, gc_by_an_outsider);
}

TEST(helper_mode_exhaustion_is_one_line_and_gc_reclaims_a_dead_supervisors_lease)
{
	in_world(_metadata, 1, exhausted_and_gc);
}

/* ---- R2 in helper mode ---- */

static int r2_pid(const char *state, int i)
{
	char path[PATH_MAX], *t, *p;
	int pid = 0;

	snprintf(path, sizeof(path), "%s/r2-%d/state.json", state, i);
	t = gt_read(path);
	p = t ? strstr(t, "\"pid\":") : NULL;
	if (p)
		pid = atoi(p + 6);
	free(t);
	return pid;
}

/* Every live job's host uid_map is one extent of the pool, pairwise disjoint. */
static int disjoint(struct __test_metadata *_metadata, const char *state, const bool *alive, int n)
{
	unsigned long long first[64];
	char buf[64];
	int seen = 0;

	for (int i = 0; i < n; i++) {
		unsigned long long in, out, count;
		int pid = alive[i] ? r2_pid(state, i) : 0;

		if (pid <= 0 || !one_extent(pid, "uid_map", buf, sizeof(buf)) ||
		    sscanf(buf, "%llu %llu %llu", &in, &out, &count) != 3)
			continue;
		EXPECT_EQ(65536, count);
		EXPECT_EQ(0, (out - FIRST) % 65536);
		for (int j = 0; j < seen; j++)
			EXPECT_NE(first[j], out) TH_LOG("two live jobs share uids from %llu", out);
		first[seen++] = out;
	}
	return seen;
}

static void r2(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *state = pilot_env(w), *spec, *dir;
	char *gc[] = { (char *)gt_gridrun(), "gc", NULL };
	struct gt_result res = { 0 };
	unsigned char rnd[64];
	bool alive[GT_R2_MAX];
	pid_t pid[GT_R2_MAX];
	const int n = gt_r2_jobs();
	int killed = 0;

	for (int i = 0; i < n; i++) {
		char name[16];

		snprintf(name, sizeof(name), "r2-%d", i);
		spec = pilot_spec(w, name, "touch $SBX/ready; while [ ! -e $SBX/go ]; do sleep 0.05; done");
		pid[i] = gt_start_spec(spec, PILOT);
		alive[i] = true;
		free(spec);
	}
	for (int i = 0; i < n; i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/execute/r2-%d/ready", w->dir, i);
		ASSERT_TRUE(gt_wait_file(p, 300000)) TH_LOG("job %d never started", i);
	}
	EXPECT_EQ(n, disjoint(_metadata, state, alive, n));
	expect_exhausted(_metadata, w, "r2-extra");
	/* kill about a third of the supervisors, sampling the maps as they go */
	ASSERT_EQ(sizeof(rnd), getrandom(rnd, sizeof(rnd), 0));
	for (int i = 0; i < n; i++) {
		if (rnd[i] % 3)
			continue;
		kill(pid[i], SIGKILL);
		alive[i] = false;
		killed++;
		disjoint(_metadata, state, alive, n);
	}
	EXPECT_EQ(0, gt_r2_finish(w->dir, pid, alive, n));
	/* the pilot's gc reclaims exactly the killed supervisors' leases */
	gt_run_argv(gc, PILOT, &res);
	EXPECT_EQ(0, res.status) TH_LOG("%s", res.err);
	ASSERT_LE(0, asprintf(&dir, "gridrun gc: reclaimed %d lease(s)", killed));
	EXPECT_NE(NULL, strstr(res.out, dir)) TH_LOG("%s", res.out);
	free(dir);
	ASSERT_LE(0, asprintf(&dir, "%s/atlas", w->leases));
	for (int i = 0; i < n; i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/%d.lease", dir, i);
		EXPECT_EQ(-1, access(p, F_OK)) TH_LOG("range %d is still leased", i);
	}
	free(dir);
	gt_result_free(&res);
	free(state);
}

/* ---- S01 ---- */

static char *digests(const struct gt_world *w)
{
	char *cmd, buf[512] = "";
	FILE *f;
	size_t n;

	if (asprintf(&cmd, "sha256sum '%s' '%s'", gt_gridrun(), w->helper) < 0 || !(f = popen(cmd, "r")))
		abort();
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	pclose(f);
	free(cmd);
	return strdup(buf);
}

/* The job loops over /proc/PID/exe and the fds naming gridrun, for writing,
 * while its supervisor (and in helper mode the helper) started it. */
static void s01(struct __test_metadata *_metadata, const struct gt_world *w, int as)
{
	char *state = pilot_env(w), *spec, *before = digests(w), *after;
	char *argv[] = { (char *)gt_gridrun(), "run", NULL, NULL };
	struct gt_result res = { 0 };
	const char *line = "exe_write tried init and others opened 0\n";

	if (as < 0)
		ASSERT_EQ(0, chown(state, 0, 0));   /* root mode's state dir is root's */
	spec = pilot_spec(w, "s01", "for i in 1 2 3 4 5; do /run/gr-probe exe-write; done");
	argv[2] = spec;
	gt_run_argv(argv, as, &res);
	EXPECT_EQ(0, res.status) TH_LOG("%s", res.err);
	for (int i = 0; i < 5; i++) {
		EXPECT_EQ(0, strncmp(res.out + i * strlen(line), line, strlen(line))) TH_LOG("%s", res.out);
	}
	EXPECT_EQ(5 * strlen(line), strlen(res.out));
	after = digests(w);
	EXPECT_STREQ(before, after);
	gt_result_free(&res);
	free(before);
	free(after);
	free(spec);
	free(state);
}

static void s01_helper(struct __test_metadata *_metadata, const struct gt_world *w)
{
	s01(_metadata, w, PILOT);
}

static void s01_root(struct __test_metadata *_metadata, const struct gt_world *w)
{
	s01(_metadata, w, -1);
}

TEST(S01_job_cannot_open_gridrun_or_the_helper_for_writing_helper_mode)
{
	in_world(_metadata, 2, s01_helper);
}

TEST(S01_job_cannot_open_gridrun_for_writing_root_mode_leased)
{
	in_world(_metadata, 2, s01_root);
}

/* the harness's plain TEST has a fixed 30 s timeout: a fixture-less TEST_F */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

TEST_F_TIMEOUT(slow, R2_helper_mode_64_concurrent_starts_with_random_kills, 900)
{
	in_world(_metadata, (unsigned)gt_r2_jobs(), r2);
}

TEST_HARNESS_MAIN
