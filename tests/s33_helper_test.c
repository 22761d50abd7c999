// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * s33_helper_test - S33 (a pilot outlives its range) in helper mode with two
 * pilots in one pool: `[pool shared]` with `accounts = atlas001 cms001`
 * (pilot A and pilot B), one range, quarantine_seconds = 3 (issue 12, V3).
 *
 * Pilot A owns its job's user namespace, so a process of pilot A can enter
 * it at any time while it lives, call setresuid(0, 0, 0) and be host uid
 * FIRST: the range's, and the next tenant's. Attacked three ways:
 *  - it enters while the job runs and lingers: release kills it;
 *  - it keeps only an fd of /proc/JOB/ns/user (its ids are pilot A's until
 *    it uses it): release kills it too (lease-userns.c), and pilot B's job,
 *    which gets the range after the quarantine, is never signalled by it;
 *  - it bind-mounts the namespace in a mount namespace of its own: gridrun
 *    cannot undo that, so the range stays quarantined (one line says where),
 *    pilot B gets "exhausted", and gets the range after the holder is gone
 *    and `gridrun gc` has settled it;
 *  - it sends the fd to itself over a unix socket and closes it (the fd is
 *    only in flight, in no fd table): the namespace's life keeps the range
 *    quarantined (lease-nsalive.c) until it drains the socket; on a kernel
 *    without nsfs file handles, `gridrun check` says that this is not seen;
 *  - (S20) it enters and leaves a setuid file of the range in the host's
 *    /tmp: release kills it, the file keeps the range quarantined (one line
 *    names it) until it is removed and gc looks again.
 * Each runs in a world (tests/lib/gt-world.h) with its private /proc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"
#include "gt-helper.h"

/* pool shared: past atlas's ranges in this test process's block of 64 */
#define SHARED_FIRST (GT_FIRST + 32u * 65536u)

static void shared_pool(void)
{
	setenv("GT_WORLD_POOLS", gt_f("\n[pool shared]\nfirst_uid = %u\nranges = 1\n"
				      "accounts = atlas001 cms001\nquarantine_seconds = 3\n", SHARED_FIRST), 1);
}

/* a spec of pool shared for account (uid), its sandbox w->dir/execute/name */
static char *shared_spec(const struct gt_world *w, const char *name, const char *account, uid_t uid,
			 const char *script)
{
	return pool_spec(w, "shared", account, uid, name, script, false);
}

/* The environment of pilot uid: the world's helper, a state dir of its own */
static void as_pilot(const struct gt_world *w, uid_t uid)
{
	free(pilot_env_of(w, uid, gt_f("state-%u", (unsigned)uid)));
}

/* A live process with real uid first (a job process of the range; the
 * job's shell when sh: gridrun's init is not dumpable); 0: none */
static pid_t range_process_named(uid_t first, const char *comm)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	while (d && !found && (de = readdir(d))) {
		char path[300], *t, *u, *st;
		unsigned uid;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
		t = gt_read(path);
		u = t ? strstr(t, "\nUid:\t") : NULL;
		st = t ? strstr(t, "\nState:\t") : NULL;
		if (u && st && st[8] != 'Z' && sscanf(u + 6, "%u", &uid) == 1 && uid == first &&
		    (!comm || !strncmp(t, gt_f("Name:\t%s\n", comm), strlen(comm) + 7)))
			found = (pid_t)atoi(de->d_name);
		free(t);
	}
	if (d)
		closedir(d);
	return found;
}

static pid_t range_process(uid_t first)
{
	return range_process_named(first, NULL);
}

enum hold { HOLD_ENTERED, HOLD_FD, HOLD_MOUNT, HOLD_IN_FLIGHT, HOLD_LEAVES };

/* HOLD_LEAVES: where the entered lingerer leaves a setuid file of the range */
static char *leave_path;

/* fd over unix socket s (SCM_RIGHTS): sent (fd >= 0) or received (returned) */
static int pass_fd(int s, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char c = 'f';
	struct iovec iov = { &c, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	memset(u.buf, 0, sizeof(u.buf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	if (fd >= 0) {
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		return sendmsg(s, &m, 0) == 1 ? 0 : -1;
	}
	if (recvmsg(s, &m, MSG_CMSG_CLOEXEC) != 1 || !(cm = CMSG_FIRSTHDR(&m)) || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * Pilot A's lingering process: holds job jpid's user namespace (how), says
 * 'k' on up (or 'e' and why), then waits for a pid on down, enters the
 * namespace, becomes its uid 0 and SIGKILLs that pid: writes the errno of
 * kill (0: it hit). The process runs until killed.
 */
static pid_t lingerer(enum hold how, pid_t jpid, const char *mnt_file, int *up, int *down)
{
	int u[2], d[2];
	pid_t pid;

	if (pipe(u) < 0 || pipe(d) < 0)
		abort();
	pid = fork();
	if (pid == 0) {
		char path[64];
		int fd, err = 0, sp[2] = { -1, -1 };
		pid_t victim;

		close(u[0]);
		close(d[1]);
		become(PILOT);
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)jpid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			err = errno;
		if (!err && (how == HOLD_ENTERED || how == HOLD_LEAVES) &&
		    (setns(fd, CLONE_NEWUSER) < 0 || setresuid(0, 0, 0) < 0))
			err = errno;
		if (!err && how == HOLD_LEAVES) {   /* host uid FIRST now: a setuid-to-the-range file */
			int t = open(leave_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);

			/* the BPF LSM, where loaded, refuses the set-id bit to the job's
			 * namespace: a plain file of the range is a leftover all the same */
			if (t < 0 || (fchmod(t, 04755) < 0 && (errno != EPERM || fchmod(t, 0755) < 0)))
				err = errno;
			close(t);
		}
		if (!err && how == HOLD_MOUNT) {
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ||
			    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
			    mount(path, mnt_file, NULL, MS_BIND, NULL) < 0)
				err = errno;
			close(fd);
			fd = -1;
		}
		if (!err && how == HOLD_IN_FLIGHT) {   /* sent to itself: the fd is only in flight */
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 || pass_fd(sp[0], fd) < 0)
				err = errno ? errno : EIO;
			close(fd);
			fd = -1;
		}
		if (err) {
			dprintf(u[1], "e%s", strerror(err));
			_exit(1);
		}
		if (write(u[1], "k", 1) != 1 || read(d[0], &victim, sizeof(victim)) != sizeof(victim))
			_exit(1);
		if (how == HOLD_MOUNT)   /* back through its own mount namespace's file */
			fd = open(mnt_file, O_RDONLY | O_CLOEXEC);
		if (how == HOLD_IN_FLIGHT) {   /* received back; victim 0: only drained */
			fd = pass_fd(sp[1], -1);
			close(sp[0]);
			close(sp[1]);
			if (!victim) {
				close(fd);
				fd = -1;
				if (write(u[1], &err, sizeof(err)) != sizeof(err))
					_exit(1);
				pause();
			}
		}
		if (how != HOLD_ENTERED && (fd < 0 || setns(fd, CLONE_NEWUSER) < 0 || setresuid(0, 0, 0) < 0))
			err = errno ? errno : EBADF;
		if (!err && kill(victim, SIGKILL) < 0)
			err = errno;
		if (write(u[1], &err, sizeof(err)) != sizeof(err))
			_exit(1);
		pause();
		_exit(0);
	}
	close(u[1]);
	close(d[0]);
	*up = u[0];
	*down = d[1];
	return pid;
}

/* Pilot A's job, held by a lingerer made while it runs; the job then ends. */
static pid_t job_a_with_lingerer(struct __test_metadata *_metadata, const struct gt_world *w, enum hold how,
				 int *up, int *down, struct gt_result *res)
{
	char *spec = shared_spec(w, "a", "atlas001", PILOT,
				 "touch $SBX/ready; while [ ! -e $SBX/go ]; do sleep 0.05; done");
	char *ready, *go, *mnt_file, buf[128] = "";
	pid_t sup, jpid = 0, l;
	ssize_t n;

	if (asprintf(&ready, "%s/execute/a/ready", w->dir) < 0 || asprintf(&go, "%s/execute/a/go", w->dir) < 0 ||
	    asprintf(&mnt_file, "%s/hold", w->dir) < 0)
		abort();
	free(gt_write(w->dir, "hold", "x"));
	if (chown(mnt_file, PILOT, PILOT) < 0)
		abort();
	signal(SIGPIPE, SIG_IGN);   /* a lingerer killed early closes its pipe */
	as_pilot(w, PILOT);
	sup = gt_start_spec(spec, PILOT);
	EXPECT_TRUE(gt_wait_file(ready, 20000));
	for (int i = 0; i < 100 && !jpid; i++, usleep(20000))
		jpid = range_process_named(SHARED_FIRST, "sh");
	EXPECT_NE(0, jpid);
	l = lingerer(how, jpid, mnt_file, up, down);
	n = read(*up, buf, sizeof(buf) - 1);
	EXPECT_EQ(1, n) TH_LOG("the lingerer: %s", buf);
	EXPECT_EQ('k', buf[0]);
	/* the job ends; its supervisor releases the range through the helper */
	free(gt_write(w->dir, "execute/a/go", "go"));
	res->status = gt_wait(sup, 30000);
	free(spec);
	free(ready);
	free(go);
	free(mnt_file);
	return l;
}

/* Pilot B's job, once pilot A's quarantine (3 s) is over */
static pid_t job_b(const struct gt_world *w, const char *name)
{
	char *spec = shared_spec(w, name, "cms001", OTHER,
				 "touch $SBX/ready; while [ ! -e $SBX/go ]; do sleep 0.05; done");
	pid_t sup;

	as_pilot(w, OTHER);
	sup = gt_start_spec(spec, OTHER);
	free(spec);
	return sup;
}

/* Pilot B's job NAME (job_b()), seen running in the range: its supervisor
 * in *sup; returns the job's process (0: none seen). */
static pid_t b_job_in_range(struct __test_metadata *_metadata, const struct gt_world *w, const char *name,
			    pid_t *sup)
{
	char *ready;
	pid_t bpid = 0;

	*sup = job_b(w, name);
	ASSERT_LE(0, asprintf(&ready, "%s/execute/%s/ready", w->dir, name));
	EXPECT_TRUE(gt_wait_file(ready, 20000));
	for (int i = 0; i < 100 && !bpid; i++, usleep(20000))
		bpid = range_process(SHARED_FIRST);
	EXPECT_NE(0, bpid);
	free(ready);
	return bpid;
}

/* After A: pilot B's job runs in the range; the lingerer (if alive) tries to kill it. */
static void b_survives(struct __test_metadata *_metadata, const struct gt_world *w, pid_t l, int up, int down)
{
	pid_t sup, bpid;
	int err = -1, status = 0;

	sleep(4);
	bpid = b_job_in_range(_metadata, w, "b", &sup);
	/* the attack: a dead lingerer reads nothing and answers nothing */
	if (write(down, &bpid, sizeof(bpid)) == sizeof(bpid) && read(up, &err, sizeof(err)) == sizeof(err))
		EXPECT_NE(0, err) TH_LOG("pilot A's lingerer became range uid 0 and killed pilot B's job");
	EXPECT_EQ(l, waitpid(l, &status, WNOHANG)) TH_LOG("pilot A's lingerer outlived the release");
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) TH_LOG("status %#x", status);
	free(gt_write(w->dir, "execute/b/go", "go"));
	EXPECT_EQ(0, gt_wait(sup, 30000));
	kill(l, SIGKILL);
	waitpid(l, NULL, 0);
}

/* Pilot A's job ends with a lingerer that holds its namespace as asked; pilot B's job survives it. */
static void killed_at_release(struct __test_metadata *_metadata, const struct gt_world *w, enum hold how)
{
	struct gt_result res = { 0 };
	int up, down;
	pid_t l = job_a_with_lingerer(_metadata, w, how, &up, &down, &res);

	EXPECT_EQ(0, res.status);
	b_survives(_metadata, w, l, up, down);
}

static void entered(struct __test_metadata *_metadata, const struct gt_world *w)
{
	killed_at_release(_metadata, w, HOLD_ENTERED);
}

static void by_fd(struct __test_metadata *_metadata, const struct gt_world *w)
{
	killed_at_release(_metadata, w, HOLD_FD);
}

/* pilot uid runs argv (gridrun ...): exit status 125 and one line, or 0 */
static void pilot_runs(struct __test_metadata *_metadata, char *const argv[], uid_t uid, int status,
		       const char *err)
{
	struct gt_result out = { 0 };

	gt_run_argv(argv, (int)uid, &out);
	EXPECT_EQ(status, out.status) TH_LOG("%s", out.err);
	if (err)
		EXPECT_STREQ(err, out.err);
	gt_result_free(&out);
}

/* Past the quarantine's 3 s, the range (quarantine file q) is still
 * blocked: pilot B's job finds the pool exhausted, and B's gc leaves it. */
static void b_finds_it_blocked(struct __test_metadata *_metadata, const struct gt_world *w, const char *q)
{
	char *run[] = { (char *)gt_gridrun(), "run", NULL, NULL }, *gc[] = { (char *)gt_gridrun(), "gc", NULL };

	sleep(4);
	as_pilot(w, OTHER);
	run[2] = shared_spec(w, "b1", "cms001", OTHER, "true");
	pilot_runs(_metadata, run, OTHER, 125, "gridrun: pool shared exhausted (0 of 1 ranges leased, 1 in quarantine)\n");
	pilot_runs(_metadata, gc, OTHER, 0, NULL);
	EXPECT_EQ(0, access(q, F_OK));
	free(run[2]);
}

/* Once what blocked the range is gone: B's gc settles it, and B's next job runs in it. */
static void b_gets_it_after_gc(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *gc[] = { (char *)gt_gridrun(), "gc", NULL };
	struct gt_result out = { 0 };
	pid_t sup;

	gt_run_argv(gc, OTHER, &out);
	EXPECT_EQ(0, out.status) TH_LOG("%s", out.err);
	EXPECT_NE(NULL, strstr(out.out, "ended 1 quarantine(s)")) TH_LOG("%s", out.out);
	gt_result_free(&out);
	b_job_in_range(_metadata, w, "b2", &sup);
	free(gt_write(w->dir, "execute/b2/go", "go"));
	EXPECT_EQ(0, gt_wait(sup, 30000));
}

static void by_mount(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *q, *text;
	struct gt_result res = { 0 };
	int up, down;
	pid_t l = job_a_with_lingerer(_metadata, w, HOLD_MOUNT, &up, &down, &res);

	EXPECT_EQ(0, res.status);
	/* released into a blocked quarantine, which says where the mount is */
	ASSERT_LE(0, asprintf(&q, "%s/shared/0.quarantine", w->leases));
	text = gt_read(q);
	ASSERT_NE(NULL, text);
	EXPECT_NE(NULL, strstr(text, gt_f("kept by an nsfs mount in the mount namespace of pid %d, at `%s/hold`",
					  (int)l, w->dir))) TH_LOG("%s", text);
	free(text);
	/* no time ends it: pilot B finds the pool exhausted, with one line,
	 * and gc cannot settle it while the mount lives either */
	b_finds_it_blocked(_metadata, w, q);
	/* the holder's mount namespace ends with it: gc settles the range, B gets it */
	kill(l, SIGKILL);
	waitpid(l, NULL, 0);
	b_gets_it_after_gc(_metadata, w);
	free(q);
}

static void in_flight(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *gc[] = { (char *)gt_gridrun(), "gc", NULL }, *check[] = { (char *)gt_gridrun(), "check", NULL };
	char *q, *text;
	struct gt_result res = { 0 }, out = { 0 };
	int up, down, err = -1;
	pid_t l, none = 0;

	if (!gt_nsfs_handles()) {
		/* no means to see it: gridrun says so, as its README does */
		gt_run_argv(check, PILOT, &out);
		EXPECT_NE(NULL, strstr(out.out, "nsfs file handles")) TH_LOG("%s", out.out);
		EXPECT_NE(NULL, strstr(out.out, "missing    since 6.18  not seen: a range's user namespace kept "
				       "alive by an nsfs fd in flight")) TH_LOG("%s", out.out);
		gt_result_free(&out);
		return;
	}
	l = job_a_with_lingerer(_metadata, w, HOLD_IN_FLIGHT, &up, &down, &res);
	EXPECT_EQ(0, res.status);
	/* the fd is in no fd table: the lingerer lives, and so does the namespace */
	EXPECT_EQ(0, waitpid(l, NULL, WNOHANG));
	ASSERT_LE(0, asprintf(&q, "%s/shared/0.quarantine", w->leases));
	/* the release did not wait on the job's exit path: pending; gc asks
	 * for its end patiently, and blocks it */
	text = gt_read(q);
	ASSERT_NE(NULL, text);
	EXPECT_NE(NULL, strstr(text, "\"blocked\":\"pending: its user namespace was still ending at release"))
		TH_LOG("%s", text);
	free(text);
	pilot_runs(_metadata, gc, PILOT, 0, NULL);
	text = gt_read(q);
	ASSERT_NE(NULL, text);
	EXPECT_NE(NULL, strstr(text, "its user namespace still lives after every process that held it was "
			       "killed")) TH_LOG("%s", text);
	free(text);
	/* no time ends it: pilot B finds the pool exhausted, and gc cannot settle it */
	b_finds_it_blocked(_metadata, w, q);
	/* pilot A drains the socket and closes it: the namespace ends, gc settles it */
	EXPECT_EQ(sizeof(none), (size_t)write(down, &none, sizeof(none)));
	EXPECT_EQ(sizeof(err), (size_t)read(up, &err, sizeof(err)));
	b_gets_it_after_gc(_metadata, w);
	kill(l, SIGKILL);
	waitpid(l, NULL, 0);
	free(q);
}

/* S20(c): what an entered lingerer leaves in the host's /tmp keeps the range quarantined */
static void leaves(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *gc[] = { (char *)gt_gridrun(), "gc", NULL }, *run[] = { (char *)gt_gridrun(), "run", NULL, NULL };
	char *dir, *q, *text;
	struct gt_result res = { 0 }, out = { 0 };
	int up, down, status = 0;
	pid_t l;

	/* below a directory others may write (the scan enters those), not at the top */
	dir = strdup("/tmp/gt-s20-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(dir)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, chmod(dir, 0777));
	ASSERT_LE(0, asprintf(&leave_path, "%s/tool", dir));
	l = job_a_with_lingerer(_metadata, w, HOLD_LEAVES, &up, &down, &res);
	EXPECT_EQ(0, res.status);
	EXPECT_EQ(l, waitpid(l, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) TH_LOG("status %#x", status);
	ASSERT_LE(0, asprintf(&q, "%s/shared/0.quarantine", w->leases));
	text = gt_read(q);
	ASSERT_NE(NULL, text);
	EXPECT_NE(NULL, strstr(text, gt_f("`%s` (owner %u, group %u, mode ", leave_path, SHARED_FIRST,
					  (unsigned)PILOT))) TH_LOG("%s", text);
	EXPECT_NE(NULL, strstr(text, "755) is its; remove it and run `gridrun gc`")) TH_LOG("%s", text);
	free(text);
	/* no time ends it, nor gc while the file is there */
	b_finds_it_blocked(_metadata, w, q);
	/* the admin removes it: gc ends the quarantine, B's job runs in the range */
	EXPECT_EQ(0, unlink(leave_path));
	gt_run_argv(gc, OTHER, &out);
	EXPECT_NE(NULL, strstr(out.out, "ended 1 quarantine(s)")) TH_LOG("%s", out.out);
	gt_result_free(&out);
	run[2] = shared_spec(w, "b1", "cms001", OTHER, "true");
	pilot_runs(_metadata, run, OTHER, 0, NULL);
	rmdir(dir);
	free(run[2]);
	free(dir);
	free(q);
	free(leave_path);
}

/* A lease maps one user namespace: the map notes its nsfs file handle (kernel
 * 6.18, the host's PID namespace) and refuses a second namespace for the
 * lease; where nothing can be noted, nothing is refused either. */
static void one_namespace(struct __test_metadata *_metadata, const struct gt_world *w)
{
	const char *lease[] = { "lease", "atlas", "job-o", NULL };
	char *check[] = { (char *)gt_gridrun(), "check", NULL }, p1[16], p2[16];
	struct gt_result out = { 0 };
	int fd1, fd2;
	pid_t t1, t2;
	struct hres r;

	/* gridrun check says which it is */
	gt_run_argv(check, PILOT, &out);
	EXPECT_NE(NULL, strstr(out.out, gt_nsfs_handles() ? "nsfs file handles              present" :
			       "nsfs file handles              missing    since 6.18  not seen")) TH_LOG("%s", out.out);
	gt_result_free(&out);
	become(PILOT);
	helper(w, lease, -1, &r);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	t1 = gt_target(&fd1, true, -1);
	t2 = gt_target(&fd2, true, -1);
	snprintf(p1, sizeof(p1), "%d", (int)t1);
	snprintf(p2, sizeof(p2), "%d", (int)t2);
	EXPECT_HELPER(w, fd1, 0, "", "map", "atlas", "0", p1);
	if (gt_nsfs_handles())
		EXPECT_HELPER(w, fd2, 77, "gridrun-helper: pool atlas: range 0 is mapped already (a lease maps one "
			      "user namespace)\n", "map", "atlas", "0", p2);
	else
		EXPECT_HELPER(w, fd2, 0, "", "map", "atlas", "0", p2);
	kill(t1, SIGKILL);
	kill(t2, SIGKILL);
	waitpid(t1, NULL, 0);
	waitpid(t2, NULL, 0);
}

/* Our own references (the supervisor's fds, the idmapped sandbox's mount,
 * the job's mount namespace torn down after it) do not outlive the job for
 * long: the release, which does not wait for the namespace's end (quietly
 * pending where it still ends), and the next gc leave a plain job's range in
 * an ordinary quarantine, its noted user namespace seen to have ended. */
static void plain_release(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *run[] = { (char *)gt_gridrun(), "run", NULL, NULL }, *q, *text;
	char *gc[] = { (char *)gt_gridrun(), "gc", NULL };
	struct gt_result out = { 0 };

	as_pilot(w, PILOT);
	run[2] = shared_spec(w, "p1", "atlas001", PILOT, "echo x > $SBX/out");
	pilot_runs(_metadata, run, PILOT, 0, "");
	ASSERT_LE(0, asprintf(&q, "%s/shared/0.quarantine", w->leases));
	/* right after the release: an ordinary quarantine, or a pending one */
	text = gt_read(q);
	ASSERT_NE(NULL, text);
	EXPECT_TRUE(!strstr(text, "\"blocked\"") || strstr(text, "\"blocked\":\"pending: ")) TH_LOG("%s", text);
	free(text);
	/* gc settles it: no task needs the range, its quarantine ends */
	gt_run_argv(gc, PILOT, &out);
	EXPECT_EQ(0, out.status) TH_LOG("%s", out.err);
	EXPECT_NE(NULL, strstr(out.out, "ended 1 quarantine(s)")) TH_LOG("%s", out.out);
	EXPECT_NE(0, access(q, F_OK));
	gt_result_free(&out);
	free(run[2]);
	free(q);
}

/* the harness's plain TEST has a fixed 30 s timeout */
FIXTURE(s33) {};
FIXTURE_SETUP(s33) { shared_pool(); }
FIXTURE_TEARDOWN(s33) {}

TEST_F_TIMEOUT(s33, S33_helper_a_pilot_inside_its_jobs_user_namespace_is_killed_at_release, 120)
{
	in_world(_metadata, 1, entered);
}

TEST_F_TIMEOUT(s33, S33_helper_a_pilot_holding_its_jobs_user_namespace_by_fd_is_killed_at_release, 120)
{
	in_world(_metadata, 1, by_fd);
}

TEST_F_TIMEOUT(s33, S33_helper_an_nsfs_mount_of_the_user_namespace_keeps_the_range_quarantined, 120)
{
	in_world(_metadata, 1, by_mount);
}


TEST_F_TIMEOUT(s33, S33_helper_a_user_namespace_kept_by_an_fd_in_flight_keeps_the_range_quarantined, 120)
{
	/* the kernel answers for a namespace's life only in the host's PID namespace */
	in_world_env(_metadata, 1, in_flight, "GT_WORLD_HOST_PID", "1");
}

TEST_F_TIMEOUT(s33, S20_helper_a_setuid_file_a_lingerer_leaves_in_host_tmp_keeps_the_range_quarantined, 120)
{
	in_world(_metadata, 1, leaves);
}

TEST_F_TIMEOUT(s33, S33_helper_a_lease_maps_one_user_namespace, 120)
{
	/* outside the host's PID namespace nothing can be noted, and check says so */
	in_world(_metadata, 1, one_namespace);
	in_world_env(_metadata, 1, one_namespace, "GT_WORLD_HOST_PID", "1");
}

TEST_F_TIMEOUT(s33, S33_helper_a_plain_jobs_range_is_released_unblocked_host_pid, 120)
{
	setenv("GT_WORLD_HOST_PID", "1", 1);
	in_world(_metadata, 1, plain_release);
	in_world_env(_metadata, 1, plain_release, "GT_WORLD_HANDOVER", "chown");
	unsetenv("GT_WORLD_HOST_PID");
}

TEST_HARNESS_MAIN
