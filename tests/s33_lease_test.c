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
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt-pool.h"
#include "lease-int.h"

/* S33: a range is never leased while a process holds one of its ids
 * (gt-pool.h; lease_iter_test runs it through the task iterator) */
TEST_F(pool, S33_a_range_is_never_leased_while_a_process_holds_its_ids)
{
	never_leased_while_held(_metadata, self);
}

struct lingerer {
	const char *ns;   /* the job's /proc/PID/ns/user */
	bool by_mount;
	const char *mnt_file;
};

static int lingerer_setup(int ready, void *arg)
{
	const struct lingerer *l = arg;
	int fd = open(l->ns, O_RDONLY | O_CLOEXEC);
	char path[64];

	if (fd < 0 || setresgid(23456, 23456, 23456) < 0 || setresuid(23456, 23456, 23456) < 0)
		return 1;
	if (l->by_mount) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount(path, l->mnt_file, NULL, MS_BIND, NULL) < 0)
			return 1;
		close(fd);
	}
	return 0;
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
		/* never outlives the test (an orphan would hold its stdout open) */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		close(p[0]);
		close(p[1]);   /* made: the map comes next */
		close(q[1]);
		if (read(q[0], &c, 1) < 0)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	close(q[0]);
	/* EOF once it has its namespace (or died): no guess at how long an
	 * unshare takes on a loaded node */
	if (job < 0 || read(p[0], &c, 1) != 0)
		abort();
	close(p[0]);
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)job);
	snprintf(map, sizeof(map), "0 %u 65536\n", FIRST);
	for (int i = 0; i < 2; i++) {   /* one write each, as the kernel wants */
		int fd = open(gt_f("/proc/%d/%s", (int)job, i ? "gid_map" : "uid_map"), O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map))
			abort();
		close(fd);
	}
	pid = gt_fork_ready(lingerer_setup, &(struct lingerer){ path, by_mount, mnt_file });
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

static int as_pilot(int ready, void *arg)
{
	(void)ready;
	(void)arg;
	return setresgid(23456, 23456, 23456) < 0 || setresuid(23456, 23456, 23456) < 0;
}

/* A process of the pilot's (23456) that keeps whatever fds it inherited,
 * such as a job's nsfs fd, until the test kills it; once it has its ids. */
static pid_t pilot_keeps(void)
{
	return gt_fork_ready(as_pilot, NULL);
}

/* A child in a user namespace of its own, made as uid `as` (0: root's,
 * else a pilot's), with one more below it when `nested`; mapped to range 0
 * by root; paused. Its own namespace is the deepest. */
static pid_t ns_child(uid_t as, bool nested)
{
	char map[64], c;
	int p[2], q[2], r[2];
	pid_t pid;

	if (pipe(p) < 0 || pipe(q) < 0 || pipe(r) < 0)
		abort();
	pid_t parent = getpid();

	pid = fork();
	if (pid == 0) {
		close(p[0]);
		close(q[1]);
		close(r[0]);
		/* dies with the test, so that an abort leaves no holder paused
		 * for ever; a change of uid clears the setting, so again after */
		if ((as && (setresgid(as, as, as) < 0 || setresuid(as, as, as) < 0)) ||
		    prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent || unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		close(p[1]);   /* made: the map comes next */
		/* nested: as its uid 0 (the range's first), as a job would */
		if (read(q[0], &c, 1) < 0 ||
		    (nested && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0 ||
				prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent ||
				unshare(CLONE_NEWUSER) < 0)))
			_exit(1);
		if (write(r[1], "k", 1) != 1)   /* done */
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	close(q[0]);
	close(r[1]);
	if (pid < 0 || read(p[0], &c, 1) != 0)
		abort();
	snprintf(map, sizeof(map), "0 %u 65536\n", FIRST);
	for (int i = 0; i < 2; i++) {
		int fd = open(gt_f("/proc/%d/%s", (int)pid, i ? "gid_map" : "uid_map"), O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map))
			abort();
		close(fd);
	}
	close(q[1]);   /* EOF: go on (and unshare again when nested) */
	if (read(r[0], &c, 1) != 1)
		abort();   /* it failed: a dead one tells nothing */
	close(p[0]);
	close(r[0]);
	return pid;
}

/*
 * Root mode (lease.h's userns_root): a job's user namespace that gridrun
 * made as root, a child of its own, can be entered by no one but root. The
 * kernel is asked while the job lives: root's child says yes; a namespace a
 * pilot made, or one below the job's, says no (those keep the full scan).
 * Such a release looks for no holder of the namespace: a process of
 * another uid that keeps an fd of it lives on, cannot setns() into it, and
 * the range is leased again at once. (Without the flag carried into the
 * release, the scan kills the holder: the test fails.)
 */
TEST_F(pool, S33_root_mode_a_namespace_only_root_can_enter_needs_no_holder_scan)
{
	struct gr_error *err = NULL;
	struct gr_lease a, b;
	int to[2], from[2], e = 0;
	pid_t job, pilots, nested, holder;
	char c;

	configure(_metadata, self, 1, 0);
	pilots = ns_child(23456, false);
	nested = ns_child(0, true);
	job = ns_child(0, false);
	EXPECT_EQ(0, gr_lease_userns_root(pilots));
	EXPECT_EQ(0, gr_lease_userns_root(nested));
	EXPECT_EQ(1, gr_lease_userns_root(job));
	for (pid_t *p = (pid_t[]){ pilots, nested, 0 }; *p; p++) {
		kill(*p, SIGKILL);
		waitpid(*p, NULL, 0);
	}
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	a.userns_root = gr_lease_userns_root(job) == 1;
	ASSERT_EQ(0, pipe(to));
	ASSERT_EQ(0, pipe(from));
	holder = fork();
	if (holder == 0) {   /* opens the namespace as root, keeps it as 23456 */
		int fd = open(gt_f("/proc/%d/ns/user", (int)job), O_RDONLY | O_CLOEXEC);

		if (fd < 0 || setresgid(23456, 23456, 23456) < 0 || setresuid(23456, 23456, 23456) < 0)
			_exit(1);
		if (write(from[1], "k", 1) != 1 || read(to[0], &c, 1) != 1)
			_exit(1);
		e = setns(fd, CLONE_NEWUSER) < 0 ? errno : 0;
		if (write(from[1], &e, sizeof(e)) != sizeof(e))
			_exit(1);
		pause();
		_exit(0);
	}
	ASSERT_EQ(1, read(from[0], &c, 1));
	kill(job, SIGKILL);   /* the job ends: only the holder keeps its namespace */
	waitpid(job, NULL, 0);
	setenv("GRIDRUN_DEBUG", "1", 1);
	EXPECT_EQ(0, gr_lease_release(self->pool, &a, &err)) TH_LOG("%s", err ? err->msg : "");
	unsetenv("GRIDRUN_DEBUG");
	EXPECT_EQ(0, waitpid(holder, NULL, WNOHANG)) TH_LOG("the release looked for the namespace's holders");
	ASSERT_EQ(1, write(to[1], "t", 1));
	ASSERT_EQ((ssize_t)sizeof(e), read(from[0], &e, sizeof(e)));
	EXPECT_EQ(EPERM, e) TH_LOG("the holder entered root's namespace: errno %d", e);
	EXPECT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err)) TH_LOG("%s", err ? err->msg : "");
	EXPECT_EQ(0, b.index);
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	gr_error_free(err);
}

/* The real binary marks its own (root mode) job's namespace so; a job as
 * gt_spec() makes it is confined too (lease.h: no writable bind, which a
 * leased job cannot have, no chown hand-over), and its release scans for
 * nothing; one with a sandbox handed over by chown is not
 * (s20_leftover_test has the attack). */
TEST_F(pool, S33_root_mode_gridrun_skips_the_namespace_scan)
{
	char *sbx = strdup(gt_f("%s/sbx", self->dir)), *spec;

	ASSERT_EQ(0, mkdir(sbx, 0700));
	ASSERT_EQ(0, chown(sbx, 23456, 23456));
	configure_with(_metadata, self, 1, 0, "sandbox_handover = chown\n");
	for (int chowned = 0; chowned <= 1; chowned++) {
		spec = gt_spec(self->dir, "[\"/bin/true\"]", NULL,
			       chowned ? gt_f("\"pool\": \"atlas\", \"account\": \"atlas001\", \"sandbox\": \"%s\"", sbx) :
			       "\"pool\": \"atlas\", \"account\": \"atlas001\"");
		setenv("GRIDRUN_DEBUG", "1", 1);
		gt_result_free(&self->res);
		gt_run_spec(spec, &self->res);
		unsetenv("GRIDRUN_DEBUG");
		free(spec);
		ASSERT_EQ(0, self->res.status) TH_LOG("%s", self->res.err);
		EXPECT_EQ(NULL, strstr(self->res.err, "user namespace scan")) TH_LOG("%s", self->res.err);
		if (!chowned) {
			EXPECT_NE(NULL, strstr(self->res.err, gt_f("lease: range %u: a confined job of root's: no "
								   "holder, namespace or leftover scan", FIRST)))
				TH_LOG("%s", self->res.err);
			EXPECT_EQ(NULL, strstr(self->res.err, "leftover scan of range")) TH_LOG("%s", self->res.err);
			continue;
		}
		EXPECT_NE(NULL, strstr(self->res.err, "sandbox hand-over chown")) TH_LOG("%s", self->res.err);
		EXPECT_NE(NULL, strstr(self->res.err, gt_f("lease: range %u: its user namespace is root's: no holder "
							   "of it is looked for", FIRST))) TH_LOG("%s", self->res.err);
		EXPECT_NE(NULL, strstr(self->res.err, gt_f("leftover scan of range %u", FIRST)))
			TH_LOG("%s", self->res.err);
	}
	free(sbx);
}

/*
 * Root mode, a confined job (lease.h's confined: no writable bind, no chown
 * hand-over, its own IPC namespace): no process outside its PID namespace
 * can hold its ids, so its release scans for nothing. Here a squatter that
 * such a job could not have made holds one: the release leaves it be (the
 * flags are what skip the scan: with either alone, the release kills it),
 * and the next acquire still finds it and kills it before the range is
 * leased again.
 */
TEST_F(pool, S33_root_mode_a_confined_jobs_release_scans_nothing_and_the_next_acquire_still_does)
{
	struct gr_error *err = NULL;
	struct gr_lease a, b;
	int status;
	pid_t pid;

	configure(_metadata, self, 1, 0);
	for (int flags = 1; flags <= 2; flags++) {
		ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
		a.userns_root = flags == 1;
		a.confined = flags == 2;
		pid = squatter(false);
		ASSERT_EQ(0, gr_lease_release(self->pool, &a, &err)) TH_LOG("%s", err->msg);
		ASSERT_EQ(pid, waitpid(pid, &status, WNOHANG)) TH_LOG("flags %d: not killed", flags);
	}
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	a.userns_root = a.confined = true;
	pid = squatter(false);
	setenv("GRIDRUN_DEBUG", "1", 1);
	EXPECT_EQ(0, gr_lease_release(self->pool, &a, &err)) TH_LOG("%s", err ? err->msg : "");
	unsetenv("GRIDRUN_DEBUG");
	EXPECT_EQ(0, waitpid(pid, &status, WNOHANG)) TH_LOG("the confined job's release scanned for holders");
	EXPECT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err)) TH_LOG("%s", err ? err->msg : "");
	ASSERT_EQ(pid, waitpid(pid, &status, WNOHANG)) TH_LOG("the holder lives on while its range is leased");
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) TH_LOG("status 0x%x", status);
	EXPECT_EQ(0, gr_lease_release(self->pool, &b, &err));
	gr_error_free(err);
}


/* fd 2 into a file while fn runs; its text */
static char *stderr_of(void (*fn)(void *), void *arg)
{
	char path[] = "/tmp/gr-s33-err.XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	char *text;

	if (fd < 0 || saved < 0)
		abort();
	fflush(stderr);
	dup2(fd, 2);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	text = gt_read(path);
	unlink(path);
	return text;
}

struct gc_call { const struct gr_pool *pool; int r; };

static void call_gc(void *arg)
{
	struct gc_call *c = arg;
	struct gr_error *err = NULL;

	c->r = gr_lease_gc(c->pool, NULL, &err);
	gr_error_free(err);
}

/*
 * Helper mode's namespace (a pilot's, noted by its handle): a release that
 * finds it alive (here: a pilot process keeps an fd of it) leaves the range
 * "pending" and looks for no holder (the next gc does); once the namespace
 * is gone and gc's pool-wide scan saw none of the range's ids, gc settles
 * the range without a holder scan of its own. Without nsfs file handles
 * (Debian's 6.1) nothing is noted, and the release kills the holder itself.
 */
TEST_F(pool, S33_a_pilots_living_namespace_is_pending_at_release_and_settled_by_gc)
{
	struct gr_error *err = NULL;
	struct gc_call gc = { 0 };
	struct gr_lease a, b;
	char handle[GR_LEASE_USERNS_MAX], *q, *out;
	int fd, status;
	bool handles = gr_lease_userns_handles();
	pid_t job, holder;

	configure(_metadata, self, 1, 0);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	job = ns_child(23456, false);
	fd = open(gt_f("/proc/%d/ns/user", (int)job), O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	if (handles) {
		ASSERT_EQ(0, gr_lease_userns_handle(fd, handle, sizeof(handle)));
		ASSERT_EQ(0, gr_lease_note_userns(self->pool, &a, handle, false, &err)) TH_LOG("%s", err->msg);
	}
	holder = pilot_keeps();   /* the pilot's process keeps the namespace (fd) */
	close(fd);
	kill(job, SIGKILL);
	waitpid(job, NULL, 0);
	EXPECT_EQ(0, gr_lease_release(self->pool, &a, &err)) TH_LOG("%s", err ? err->msg : "");
	if (!handles) {
		/* nothing noted: the release's own scan ended the holder */
		EXPECT_EQ(holder, waitpid(holder, &status, WNOHANG));
		EXPECT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err));
		gr_error_free(err);
		return;
	}
	EXPECT_EQ(0, waitpid(holder, NULL, WNOHANG)) TH_LOG("the release looked for the namespace's holders");
	q = gt_read(pool_file(self, "0.quarantine"));
	EXPECT_NE(NULL, q ? strstr(q, "\"blocked\":\"pending: ") : NULL) TH_LOG("%s", q ? q : "no quarantine");
	free(q);
	/* the holder goes; so does the namespace, soon after */
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
	for (int i = 0; i < 400 && gr_lease_userns_alive(handle, false, q = (char[160]){ 0 }, 160) > 0; i++)
		usleep(5000);
	gc.pool = self->pool;
	setenv("GRIDRUN_DEBUG", "1", 1);
	out = stderr_of(call_gc, &gc);
	unsetenv("GRIDRUN_DEBUG");
	EXPECT_EQ(0, gc.r);
	EXPECT_NE(NULL, out ? strstr(out, gt_f("lease: range %u: its user namespace is gone and gc saw none of its "
					       "ids: no holder scan", FIRST)) : NULL) TH_LOG("%s", out ? out : "");
	EXPECT_FALSE(pool_has(self, "0.quarantine"));
	EXPECT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err)) TH_LOG("%s", err ? err->msg : "");
	free(out);
	gr_error_free(err);
}


/*
 * Issue 13: a release whose noted namespace still lives (helper mode's
 * usual case: its last references go tens of ms after the job) is
 * "pending" at once and makes no holder scan: the pilot could enter that
 * namespace again after any kill, so the range stays blocked either way.
 * A task holding one of the range's ids then lives on until the gc that
 * settles the range, and that gc kills it before the range is free.
 */
TEST_F(pool, S33_a_pending_release_scans_for_no_holder_and_its_gc_kills_them_first)
{
	struct gr_error *err = NULL;
	struct gr_lease a, b;
	char handle[GR_LEASE_USERNS_MAX], why[160];
	unsigned long iter0, proc0, iter1, proc1;
	int fd, status;
	pid_t job, keeper, squat;

	configure(_metadata, self, 1, 0);
	ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "a", getpid(), &a, &err));
	if (!gr_lease_userns_handles()) {
		/* no nsfs file handles (6.1): nothing is noted, nothing pending,
		 * and the release's own scan kills the holder */
		squat = squatter(false);
		EXPECT_EQ(0, gr_lease_release(self->pool, &a, &err));
		ASSERT_EQ(squat, waitpid(squat, &status, WNOHANG)) TH_LOG("the holder outlived the release");
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) TH_LOG("status 0x%x", status);
		gr_error_free(err);
		return;
	}
	job = ns_child(23456, false);
	fd = open(gt_f("/proc/%d/ns/user", (int)job), O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gr_lease_userns_handle(fd, handle, sizeof(handle)));
	ASSERT_EQ(0, gr_lease_note_userns(self->pool, &a, handle, false, &err)) TH_LOG("%s", err->msg);
	keeper = pilot_keeps();   /* the pilot's process keeps the namespace (fd) alive */
	close(fd);
	kill(job, SIGKILL);
	waitpid(job, NULL, 0);
	squat = squatter(false);   /* and a task with one of the range's ids */
	gr_lease_holder_passes(&iter0, &proc0);
	EXPECT_EQ(0, gr_lease_release(self->pool, &a, &err)) TH_LOG("%s", err ? err->msg : "");
	gr_lease_holder_passes(&iter1, &proc1);
	EXPECT_EQ(iter0 + proc0, iter1 + proc1) TH_LOG("the pending release scanned for holders");
	EXPECT_EQ(0, waitpid(squat, &status, WNOHANG)) TH_LOG("the pending release killed a holder");
	EXPECT_TRUE(pool_has(self, "0.quarantine"));
	/* the namespace ends; gc's pool-wide scan sees the squatter's id, so
	 * it settles the range by a holder scan, which kills it */
	kill(keeper, SIGKILL);
	waitpid(keeper, NULL, 0);
	for (int i = 0; i < 400 && gr_lease_userns_alive(handle, false, why, sizeof(why)) > 0; i++)
		usleep(5000);
	EXPECT_EQ(0, gr_lease_gc(self->pool, NULL, &err)) TH_LOG("%s", err ? err->msg : "");
	ASSERT_EQ(squat, waitpid(squat, &status, WNOHANG)) TH_LOG("gc freed the range with its holder alive");
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) TH_LOG("status 0x%x", status);
	EXPECT_FALSE(pool_has(self, "0.quarantine"));
	EXPECT_EQ(0, gr_lease_acquire(self->pool, "atlas001", "b", getpid(), &b, &err)) TH_LOG("%s", err ? err->msg : "");
	EXPECT_EQ(0, gr_lease_release(self->pool, &b, &err));
	gr_error_free(err);
}


/* A lease of the pool's, released "pending": its noted namespace is kept
 * alive by a process of the pilot's (returned; killing it ends the
 * namespace), its handle in handle. */
static pid_t pending_lease(struct __test_metadata *_metadata, struct _test_data_pool *self, const char *job_id,
			   char *handle, size_t size)
{
	struct gr_error *err = NULL;
	struct gr_lease a;
	int fd;
	pid_t job, keeper;

	EXPECT_EQ(0, gr_lease_acquire(self->pool, "atlas001", job_id, getpid(), &a, &err));
	job = ns_child(23456, false);
	fd = open(gt_f("/proc/%d/ns/user", (int)job), O_RDONLY | O_CLOEXEC);
	EXPECT_LE(0, fd);
	EXPECT_EQ(0, gr_lease_userns_handle(fd, handle, size));
	EXPECT_EQ(0, gr_lease_note_userns(self->pool, &a, handle, false, &err));
	keeper = pilot_keeps();
	close(fd);
	kill(job, SIGKILL);
	waitpid(job, NULL, 0);
	EXPECT_EQ(0, gr_lease_release(self->pool, &a, &err));
	gr_error_free(err);
	return keeper;
}

static unsigned count_of(const char *text, const char *what)
{
	unsigned n = 0;

	for (const char *p = text; p && (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/*
 * Issue 13: gc settles ranges whose namespaces are gone and whose ids no
 * task has with one leftover scan of the whole pool, not one each (helper
 * mode leaves nearly every range "pending", so a full pool's gc made 64
 * scans of /tmp and the rest). A leftover of one range still keeps that
 * range blocked: then each range is scanned on its own. Fails without
 * pool_leftovers_clear() (three scans of ranges, none of the pool), and
 * with retry_blocked() rewriting a settled range's file before it goes
 * (.spare.0 another inode than 0.quarantine was). Without nsfs file
 * handles nothing is pending: each release's own scan is checked instead.
 */
TEST_F(pool, S20_gc_settles_gone_pending_ranges_with_one_leftover_scan_of_the_pool)
{
	char handle[3][GR_LEASE_USERNS_MAX], why[160], *out, leftover[64];
	struct gc_call gc = { 0 };
	struct stat q0, sp0;
	pid_t keeper[3];
	int fd;

	configure(_metadata, self, 3, 0);
	snprintf(leftover, sizeof(leftover), "/tmp/gr-s20-leftover.%d", (int)getpid());
	if (!gr_lease_userns_handles()) {
		/* no nsfs file handles (6.1): nothing is pending, and each
		 * release scans for its own range's leftovers */
		struct gr_error *err = NULL;
		struct gr_lease l[3];
		char *q;

		fd = open(leftover, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, fchown(fd, FIRST + 65536, FIRST + 65536));
		close(fd);
		for (int i = 0; i < 3; i++)
			ASSERT_EQ(0, gr_lease_acquire(self->pool, "atlas001", gt_f("job%d", i), getpid(), &l[i], &err));
		for (int i = 0; i < 3; i++)
			gr_lease_release(self->pool, &l[i], &err);
		q = gt_read(pool_file(self, "1.quarantine"));
		EXPECT_NE(NULL, q ? strstr(q, leftover) : NULL) TH_LOG("%s", q ? q : "no 1.quarantine");
		EXPECT_FALSE(pool_has(self, "0.quarantine") || pool_has(self, "2.quarantine"));
		free(q);
		unlink(leftover);
		gr_error_free(err);
		return;
	}
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 3; i++)
			keeper[i] = pending_lease(_metadata, self, gt_f("job%d", i), handle[i], sizeof(handle[i]));
		ASSERT_TRUE(pool_has(self, "0.quarantine") && pool_has(self, "1.quarantine") &&
			    pool_has(self, "2.quarantine"));
		for (int i = 0; i < 3; i++) {
			kill(keeper[i], SIGKILL);
			waitpid(keeper[i], NULL, 0);
		}
		for (int i = 0; i < 3; i++)
			for (int k = 0; k < 400 && gr_lease_userns_alive(handle[i], false, why, sizeof(why)) > 0; k++)
				usleep(5000);
		if (round == 1) {   /* a leftover of range 1 in the host's /tmp */
			fd = open(leftover, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			ASSERT_LE(0, fd);
			ASSERT_EQ(0, fchown(fd, FIRST + 65536, FIRST + 65536));
			close(fd);
		}
		ASSERT_EQ(0, stat(pool_file(self, "0.quarantine"), &q0));
		gc.pool = self->pool;
		setenv("GRIDRUN_DEBUG", "1", 1);
		out = stderr_of(call_gc, &gc);
		unsetenv("GRIDRUN_DEBUG");
		EXPECT_EQ(0, gc.r);
		if (round == 0) {
			/* a settled range's file is kept as it was, as its spare:
			 * no rewrite before it goes */
			ASSERT_EQ(0, stat(pool_file(self, ".spare.0"), &sp0));
			EXPECT_EQ(q0.st_ino, sp0.st_ino);
			EXPECT_EQ(1, count_of(out, "leftover scan of range ")) TH_LOG("%s", out);
			EXPECT_EQ(1, count_of(out, gt_f("leftover scan of range %u:", FIRST))) TH_LOG("%s", out);
			EXPECT_EQ(3, count_of(out, "gc's leftover scan of the pool found none")) TH_LOG("%s", out);
			EXPECT_FALSE(pool_has(self, "0.quarantine") || pool_has(self, "1.quarantine") ||
				     pool_has(self, "2.quarantine"));
		} else {
			char *q = gt_read(pool_file(self, "1.quarantine"));

			EXPECT_EQ(0, count_of(out, "gc's leftover scan of the pool found none")) TH_LOG("%s", out);
			EXPECT_FALSE(pool_has(self, "0.quarantine") || pool_has(self, "2.quarantine"));
			EXPECT_NE(NULL, q ? strstr(q, leftover) : NULL) TH_LOG("%s", q ? q : "no 1.quarantine");
			free(q);
			unlink(leftover);
		}
		free(out);
	}
}


TEST_HARNESS_MAIN
