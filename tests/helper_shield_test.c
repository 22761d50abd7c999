// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * helper_shield_test - S36: a pilot stops its own gridrun-helper while the
 * helper holds its pool's .gclock, and so stalls every other account's gc
 * (or every release) of the pool (runtime/helper/helper-shield.c).
 *
 * Root (the world's pid 1) holds .gclock shared, as a release in progress
 * does, so that the pilot's `gridrun-helper gc atlas` waits for it in
 * flock(2) (root watches /proc/PID/syscall). The pilot, which gave itself
 * SCHED_IDLE and nice 19 before the exec, then tries each way to stop or
 * slow it: kill(2) with SIGSTOP and SIGTSTP, setpriority(2) and
 * sched_setscheduler(2), ^Z on the helper's own controlling terminal, and
 * (its own test) a cgroup the pilot can write.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"
#include "gt-helper.h"

/* the pool directory and its files exist: the pilot leases range 0 once
 * (its holder, a child that ends, leaves a lease for gc to reclaim) */
static void lease_once(struct __test_metadata *_metadata, const struct gt_world *w)
{
	pid_t c = fork();

	ASSERT_LE(0, c);
	if (c == 0) {
		const char *a[] = { "lease", "atlas", "s36", NULL };
		struct hres r;

		become(PILOT);
		helper(w, a, -1, &r);
		_exit(r.status);
	}
	ASSERT_EQ(0, gt_wait(c, 30000));
}

/* root's shared flock of the pool's .gclock (a release in progress) */
static int hold_gclock(const struct gt_world *w)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/atlas/.gclock", w->leases);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0 && flock(fd, LOCK_SH) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* root: until the helper waits in flock(2) (73 on x86-64) */
static bool waits_in_flock(pid_t h)
{
	char want[16];

	snprintf(want, sizeof(want), "%d ", (int)SYS_flock);
	for (int i = 0; i < 2000; i++) {
		char *st = proc_file(h, "syscall");
		bool in = st && !strncmp(st, want, strlen(want));

		free(st);
		if (in)
			return true;
		usleep(5000);
	}
	return false;
}

/* /proc/PID/stat's state letter */
static char state_of(pid_t pid)
{
	char *st = proc_file(pid, "stat"), *p = st ? strrchr(st, ')') : NULL, s = '?';

	if (p && p[1] == ' ')
		s = p[2];
	free(st);
	return s;
}

/* /proc/PID/stat's field n (1-based, n > 2) as a number; -999 if none */
static long stat_field(pid_t pid, int n)
{
	char *st = proc_file(pid, "stat"), *p = st ? strrchr(st, ')') : NULL;
	long v = -999;

	for (int f = 2; p && f < n; f++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtol(p + 1, NULL, 10);
	free(st);
	return v;
}

struct tries {
	int stop_errno, tstp_errno, nice_errno, sched_errno;
	char state;   /* the helper's, after the tries */
};

/* The pilot's side: start `gridrun-helper gc atlas` (on a terminal of its
 * own if tty), tell root its pid, wait for root's go, try to stop it, report
 * (tries), wake it should it be stopped, and exit with its status. */
static void pilot(const struct gt_world *w, bool tty, int to_root, int from_root)
{
	struct tries t = { 0, 0, 0, 0, '?' };
	struct sched_param none = { 0 };
	int master = -1, slave = -1, status;
	char go;
	pid_t h;

	become(PILOT);
	/* its own right: the lowest weight there is, which an exec keeps */
	if (setpriority(PRIO_PROCESS, 0, 19) < 0 || sched_setscheduler(0, SCHED_IDLE, &none) < 0)
		_exit(89);
	if (tty) {
		/* as a shell does job control: a session whose terminal is the
		 * pty, the helper in a process group of its own made the
		 * foreground one (not orphaned: its parent, the pilot, is in
		 * the session, so the kernel does stop it on ^Z) */
		master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (setsid() < 0 || master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
		    (slave = open(ptsname(master), O_RDWR | O_CLOEXEC)) < 0)
			_exit(90);
	}
	h = fork();
	if (h == 0) {
		char *argv[] = { "gridrun-helper", "gc", "atlas", NULL }, *envp[] = { NULL };
		int fd = tty ? slave : open("/dev/null", O_RDWR);

		if (tty)
			setpgid(0, 0);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		syscall(SYS_close_range, 3, ~0U, 0);
		execve(w->helper, argv, envp);
		_exit(96);
	}
	if (tty) {
		setpgid(h, h);
		if (tcsetpgrp(slave, h) < 0)
			_exit(91);
	}
	if (write(to_root, &h, sizeof(h)) != sizeof(h) || read(from_root, &go, 1) != 1)
		_exit(92);
	if (tty) {
		/* ^Z: the terminal sends SIGTSTP to its foreground group */
		if (write(master, "\032", 1) != 1)
			_exit(93);
	} else {
		t.stop_errno = kill(h, SIGSTOP) < 0 ? errno : 0;
		t.tstp_errno = kill(h, SIGTSTP) < 0 ? errno : 0;
		t.nice_errno = setpriority(PRIO_PROCESS, h, 19) < 0 ? errno : 0;
		t.sched_errno = sched_setscheduler(h, SCHED_IDLE, &none) < 0 ? errno : 0;
	}
	usleep(200000);
	t.state = state_of(h);
	if (write(to_root, &t, sizeof(t)) != sizeof(t))
		_exit(94);
	kill(h, SIGCONT);   /* fails as the stops did; else a stopped helper goes on */
	if (waitpid(h, &status, 0) != h)
		_exit(95);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static void try_to_stop(struct __test_metadata *_metadata, const struct gt_world *w, bool tty)
{
	unsigned uid[4] = { 1, 1, 1, 1 };
	int up[2], down[2], lockfd;
	struct tries t;
	char *st;
	pid_t c, h;

	lease_once(_metadata, w);
	lockfd = hold_gclock(w);
	ASSERT_LE(0, lockfd);
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	c = fork();
	ASSERT_LE(0, c);
	if (c == 0) {
		close(lockfd);
		pilot(w, tty, up[1], down[0]);
	}
	close(up[1]);
	close(down[0]);
	ASSERT_EQ(sizeof(h), read(up[0], &h, sizeof(h)));
	ASSERT_TRUE(waits_in_flock(h));
	/* while it waits: real and saved uid 0 (effective 0 too, for the
	 * lease files, until the lock is its) */
	st = proc_file(h, "status");
	ASSERT_NE(NULL, st);
	ASSERT_NE(NULL, strstr(st, "\nUid:"));
	EXPECT_EQ(4, sscanf(strstr(st, "\nUid:"), "\nUid: %u %u %u %u", &uid[0], &uid[1], &uid[2], &uid[3]));
	EXPECT_EQ(0, uid[0]);
	EXPECT_EQ(0, uid[2]);
	free(st);
	ASSERT_EQ(1, write(down[1], "g", 1));
	ASSERT_EQ(sizeof(t), read(up[0], &t, sizeof(t)));
	if (!tty) {
		EXPECT_EQ(EPERM, t.stop_errno);
		EXPECT_EQ(EPERM, t.tstp_errno);
		EXPECT_EQ(EPERM, t.nice_errno);
		EXPECT_EQ(EPERM, t.sched_errno);
	}
	/* not the weight its caller gave itself: SCHED_OTHER (41: policy), nice -20 (19) */
	EXPECT_EQ(SCHED_OTHER, stat_field(h, 41));
	EXPECT_EQ(-20, stat_field(h, 19));
	/* still waiting for the lock, not stopped holding its place */
	EXPECT_EQ('S', t.state);
	EXPECT_EQ('S', state_of(h));
	/* the lock is free: the helper's gc goes on and reclaims the lease */
	close(lockfd);
	EXPECT_EQ(0, gt_wait(c, 30000));
	close(up[0]);
	close(down[1]);
}

static void by_kill(struct __test_metadata *_metadata, const struct gt_world *w)
{
	try_to_stop(_metadata, w, false);
}

static void by_terminal(struct __test_metadata *_metadata, const struct gt_world *w)
{
	try_to_stop(_metadata, w, true);
}

TEST(S36_the_caller_can_neither_signal_nor_slow_its_helper_while_it_waits_for_the_pool_lock)
{
	in_world(_metadata, 1, by_kill);
}

TEST(S36_the_same_with_file_capabilities_instead_of_setuid_root)
{
	in_world_as(_metadata, 1, by_kill, true);
}

TEST(S36_a_terminal_cannot_stop_the_helper_either)
{
	in_world(_metadata, 1, by_terminal);
}

/* ---- a cgroup the pilot can write ---- */

/* A new cgroup below this process's own (v2, else v1's freezer) in dir,
 * the file the pilot is given (v2: cgroup.procs, as a delegation gives
 * it, from which it could move the helper into a child it freezes; v1:
 * freezer.state) in file. */
static bool pilot_cgroup(char *dir, size_t size, const char **file)
{
	char *self = gt_read("/proc/self/cgroup"), *line, *end;
	const char *base = "/sys/fs/cgroup", *key = "0::";
	struct statfs sf;
	bool v2, made;

	if (!self || statfs(base, &sf) < 0) {
		free(self);
		return false;
	}
	v2 = sf.f_type == CGROUP2_SUPER_MAGIC;
	if (!v2) {
		base = "/sys/fs/cgroup/freezer";
		key = ":freezer:";
	}
	*file = v2 ? "cgroup.procs" : "freezer.state";
	/* v2: the one line "0::PATH"; v1: "N:freezer:PATH" */
	line = v2 ? (strncmp(self, key, 3) ? NULL : self) : strstr(self, key);
	if (line) {
		line += strlen(key);
		if ((end = strchr(line, '\n')))
			*end = '\0';
		unsigned rnd = 0;

		(void)!getrandom(&rnd, sizeof(rnd), 0);   /* the world's pid is 1 */
		snprintf(dir, size, "%s%s/gridrun-s36-%08x", base, strcmp(line, "/") ? line : "", rnd);
	}
	made = line && mkdir(dir, 0755) == 0;
	free(self);
	return made;
}

/* child(arg, fd) in a child process moved to cgroup dir first (NULL: left
 * in root's, which only root can write); what it writes to fd into out
 * (it _exits); its exit status */
static int in_cgroup(struct __test_metadata *_metadata, const char *dir, void (*child)(const void *arg, int fd),
		     const void *arg, char *out, size_t size)
{
	int go[2], back[2], st = -1;
	pid_t c;

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(back));
	c = fork();
	if (c == 0) {
		char g;

		close(go[1]);
		close(back[0]);
		if (read(go[0], &g, 1) != 1)
			_exit(90);
		child(arg, back[1]);
		_exit(91);
	}
	close(go[0]);
	close(back[1]);
	if (c > 0) {
		if (dir)
			free(gt_write(dir, "cgroup.procs", "%d", (int)c));
		EXPECT_EQ(1, write(go[1], "g", 1));
		drain(back[0], out, size);
		st = gt_wait(c, 60000);
	} else {
		close(back[0]);
	}
	close(go[1]);
	return st;
}

struct gc_req {
	const struct gt_world *w;
	const char *pool;
};

/* the pilot's `gridrun-helper gc POOL`: "STATUS STDERR" to fd */
static void pilot_gc(const void *arg, int fd)
{
	const struct gc_req *q = arg;
	const char *a[] = { "gc", q->pool, NULL };
	struct hres r;

	become(PILOT);
	helper(q->w, a, -1, &r);
	dprintf(fd, "%d %s", r.status, r.err);
	_exit(0);
}

/* root's cgroup dir below its own, with file the pilot's; the pilot runs
 * `gridrun-helper gc POOL` in it; "STATUS STDERR" of it into msg */
static void gc_in(struct __test_metadata *_metadata, const struct gt_world *w, const char *dir,
		  const char *pool, char *msg, size_t size)
{
	struct gc_req q = { w, pool };

	EXPECT_EQ(0, in_cgroup(_metadata, dir, pilot_gc, &q, msg, size));
}

/* The pilot runs its helper in a cgroup whose cgroup.procs (v2: it could
 * move the helper into a child cgroup it owns and freeze that) or
 * freezer.state (v1) it owns: for pool shared, which cms001 shares, that is
 * refused before any lock is taken; for atlas, the pilot's account's alone,
 * it is not (frozen, the helper would stall only the pilot's own jobs). */
static void frozen(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char dir[512], path[600], msg[600] = "", own[600] = "", grp[600] = "";
	const char *file, *want;

	lease_once(_metadata, w);
	ASSERT_TRUE(pilot_cgroup(dir, sizeof(dir), &file)) TH_LOG("cannot make a cgroup below ours");
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	EXPECT_EQ(0, chown(path, PILOT, PILOT));
	gc_in(_metadata, w, dir, "shared", msg, sizeof(msg));
	gc_in(_metadata, w, dir, "atlas", own, sizeof(own));
	/* root's, but writable by the pilot's group: the same */
	EXPECT_EQ(0, chown(path, 0, PILOT));
	EXPECT_EQ(0, chmod(path, 0664));
	gc_in(_metadata, w, dir, "shared", grp, sizeof(grp));
	EXPECT_EQ(0, rmdir(dir)) TH_LOG("rmdir %s: %s", dir, strerror(errno));
	want = gt_f("77 gridrun-helper: uid %d can write %s: it could freeze this helper while it holds the "
		    "locks of pool shared, which account cms001 shares (give the account a pool of its own, "
		    "or run it in a cgroup it cannot write)\n", PILOT, path);
	EXPECT_STREQ(want, msg);
	EXPECT_STREQ(want, grp);
	EXPECT_EQ(0, strncmp(own, "0 ", 2)) TH_LOG("%s", own);
}

TEST(S36_the_helper_refuses_a_cgroup_its_caller_could_freeze_for_a_shared_pool)
{
	setenv("GT_WORLD_POOLS", gt_f("\n[pool shared]\nfirst_uid = %u\nranges = 1\naccounts = atlas001 cms001\n",
				      GT_FIRST + 32u * 65536u), 1);
	in_world(_metadata, 1, frozen);
	unsetenv("GT_WORLD_POOLS");
}

/* `gridrun check` by uid (0: root), its output to fd */
static void check_as(const void *arg, int fd)
{
	uid_t uid = *(const uid_t *)arg;

	if (uid)
		become(uid);
	unsetenv("GRIDRUN_CONFIG");
	dup2(fd, 1);
	dup2(fd, 2);
	execl(gt_gridrun(), "gridrun", "check", (char *)NULL);
}

/* `gridrun check` by uid (0: root) in dir (NULL: root's cgroup, which only
 * root can write); its exit status, its output into out */
static int check_in(struct __test_metadata *_metadata, const char *dir, uid_t uid, char *out, size_t size)
{
	return in_cgroup(_metadata, dir, check_as, &uid, out, size);
}

/* The account learns it before its first job: `gridrun check`, run by the
 * pilot where the helper would refuse the shared pool, names the pool and
 * the file as a PROBLEM (exit 125); in root's cgroup the same pool is fine;
 * atlas, the account's alone, is never listed; root is told what to ask. */
static void check_tells(struct __test_metadata *_metadata, const struct gt_world *w)
{
	static char there[65536], here[65536], asroot[65536];
	char dir[512], path[600];
	const char *file, *want;
	int st_there, st_here, st_root;

	(void)w;
	ASSERT_TRUE(pilot_cgroup(dir, sizeof(dir), &file)) TH_LOG("cannot make a cgroup below ours");
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	EXPECT_EQ(0, chown(path, PILOT, PILOT));
	st_there = check_in(_metadata, dir, PILOT, there, sizeof(there));
	st_here = check_in(_metadata, NULL, PILOT, here, sizeof(here));
	st_root = check_in(_metadata, NULL, 0, asroot, sizeof(asroot));
	EXPECT_EQ(0, rmdir(dir)) TH_LOG("rmdir %s: %s", dir, strerror(errno));

	want = gt_f("\n  pool shared                    PROBLEM    uid %d can write %s: gridrun-helper refuses "
		    "this pool here, as it could freeze the helper while it holds the locks of pool shared, "
		    "which account cms001 shares (give the account a pool of its own, or run it in a cgroup it "
		    "cannot write)\n", PILOT, path);
	EXPECT_NE(NULL, strstr(there, want)) TH_LOG("%s", there);
	EXPECT_EQ(125, st_there);
	EXPECT_NE(NULL, strstr(there, gt_f("gridrun: check: site configuration: pool shared: uid %d can write "
					   "%s: helper mode refuses the pool here\n", PILOT, path))) TH_LOG("%s", there);

	want = gt_f("\n  pool shared                    shared     with account cms001; uid %d cannot freeze this "
		    "cgroup: helper mode may lease here\n", PILOT);
	EXPECT_NE(NULL, strstr(here, want)) TH_LOG("%s", here);
	EXPECT_EQ(0, st_here) TH_LOG("%s", here);

	EXPECT_NE(NULL, strstr(asroot, "\n  pool shared                    shared     by 2 accounts: "
			       "their helper refuses it to a caller that can write the freezer of its cgroup"))
		TH_LOG("%s", asroot);
	EXPECT_EQ(0, st_root) TH_LOG("%s", asroot);
	/* atlas (atlas001's alone) is nobody's shared pool */
	for (int i = 0; i < 2; i++) {
		want = gt_f("  pool %-25s %-10s", "atlas", i ? "PROBLEM" : "shared");
		EXPECT_EQ(NULL, strstr(there, want));
		EXPECT_EQ(NULL, strstr(here, want));
		EXPECT_EQ(NULL, strstr(asroot, want));
	}
}

TEST(S36_check_tells_the_account_where_its_helper_would_refuse_a_shared_pool)
{
	setenv("GT_WORLD_POOLS", gt_f("\n[pool shared]\nfirst_uid = %u\nranges = 1\naccounts = atlas001 cms001\n",
				      GT_FIRST + 32u * 65536u), 1);
	in_world(_metadata, 1, check_tells);
	unsetenv("GT_WORLD_POOLS");
}

TEST_HARNESS_MAIN
