// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lease_iter_test.c - the holder scans through the pinned BPF task iterator
 * (runtime/lease-iter.c, kmod-optional/gridrun_tasks.bpf.c): the S33 holder
 * checks (tests/lib/gt-pool.h) pass with their candidates taken from the
 * iterator, and the scan walks /proc instead when the pin is absent, not on
 * bpffs, not root's, or the range lies below the iterator's floor of 65536.
 *
 * Each test runs in a private mount namespace with its own bpf filesystem on
 * /sys/fs/bpf (GRIDRUN_LSM_PIN=/sys/fs/bpf/gridrun): the pins go with the
 * namespace, and nothing is left behind. `gridrun-lsm load` pins the
 * iterator with the LSM (the v2 guest); on a kernel that refuses BPF LSM
 * programs (this host), `load-tasks` pins it alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt-pool.h"
#include "lease-int.h"
#include "../kmod-optional/gridrun-lsm.h"

#define PIN "/sys/fs/bpf/gridrun"

static int cmp_pid(const void *x, const void *y)
{
	pid_t p = *(const pid_t *)x, q = *(const pid_t *)y;

	return (p > q) - (p < q);
}

/* Our own bpffs on /sys/fs/bpf in our own mount namespace, and with
 * `tasks` the iterator pinned there (by `load`, else `load-tasks`). */
static void private_bpffs(struct __test_metadata *_metadata, bool tasks)
{
	char *lsm = strdup(gt_f("%s/gridrun-lsm", getenv("GRIDRUN_BUILD")));
	char *load[] = { lsm, "--pin", PIN, "load", NULL };
	char *load_tasks[] = { lsm, "--pin", PIN, "load-tasks", NULL };
	struct gt_result r = { 0 };

	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	ASSERT_EQ(0, mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"));
	if (access("/sys/kernel/security/lsm", R_OK) < 0)
		(void)mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	setenv("GRIDRUN_LSM_PIN", PIN, 1);
	if (!tasks)
		return;
	gt_run_argv(load, -1, &r);
	if (r.status != 0) {
		EXPECT_NE(NULL, strstr(r.err, "refuses BPF LSM programs")) TH_LOG("%s", r.err);
		gt_result_free(&r);
		gt_run_argv(load_tasks, -1, &r);
	}
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	ASSERT_EQ(0, access(PIN "/tasks", F_OK));
	gt_result_free(&r);
	free(lsm);
}

/* gr_lease_holders() of range 0 with GRIDRUN_DEBUG=1: its result, its
 * debug line in *line (malloc'd). */
static int holders_debug(uid_t first, unsigned long count, pid_t *one, char **line)
{
	char *path = strdup(gt_f("/tmp/gr-iter-debug.%d", (int)getpid()));
	int saved = dup(2), fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), n;

	setenv("GRIDRUN_DEBUG", "1", 1);
	fflush(stderr);
	dup2(fd, 2);
	n = gr_lease_holders(first, count, false, one);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	unsetenv("GRIDRUN_DEBUG");
	*line = gt_read(path);
	unlink(path);
	free(path);
	return n;
}

/* Passes since *iter0 / *proc0 were taken. */
static void passes_since(unsigned long iter0, unsigned long proc0, unsigned long *iter, unsigned long *proc)
{
	gr_lease_holder_passes(iter, proc);
	*iter -= iter0;
	*proc -= proc0;
}

/*
 * S33 through the iterator: the holder by any id slot or any thread, and a
 * range held at its release and at its next acquire, are found, and every
 * pass took its candidates from the iterator (none walked /proc): from the
 * holder scan program where it is pinned (every pass), and in the second
 * test, with it unpinned, from the iterator's read. An iterator that
 * skipped threads other than leaders, or one id slot, fails this (tried:
 * both, by editing gridrun_tasks.bpf.c).
 */
static void s33_through_the_pins(struct __test_metadata *_metadata, struct _test_data_pool *self, bool scan)
{
	unsigned long iter0, proc0, iter, proc, scans0;
	char *line = NULL;
	pid_t pid, one = 0;
	int status;

	private_bpffs(_metadata, true);
	if (!scan)
		(void)unlink(PIN "/scan");
	scan = access(PIN "/scan", F_OK) == 0;
	gr_lease_holder_passes(&iter0, &proc0);
	scans0 = gr_lease_holder_scans();
	any_id_or_thread_found(_metadata, self);
	never_leased_while_held(_metadata, self);
	passes_since(iter0, proc0, &iter, &proc);
	EXPECT_LE(10, iter);
	EXPECT_EQ(0, proc);
	EXPECT_EQ(scan ? iter : 0, gr_lease_holder_scans() - scans0);
	/* and GRIDRUN_DEBUG says which way a scan went */
	pid = squatter(true);
	EXPECT_EQ(1, holders_debug(FIRST, 65536, &one, &line));
	EXPECT_EQ(pid, one);
	EXPECT_STREQ(gt_f("gridrun: debug: lease: holders of %u-%u: %s: 1\n", FIRST, FIRST + 65535,
			  scan ? "holder scan" : "task iterator"), line);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	free(line);
}

TEST_F(pool, S33_holders_are_found_through_the_task_iterator)
{
	s33_through_the_pins(_metadata, self, true);
}

TEST_F(pool, S33_holders_are_found_through_the_iterator_alone)
{
	s33_through_the_pins(_metadata, self, false);
}

/*
 * A leased `gridrun run` (root mode, strace -f) makes these reads once or
 * not at all (issue 13: a leased range within 5% of plain): where the
 * holder scan is pinned, each scan is one BPF_PROG_TEST_RUN and the
 * iterator is never read; else each read of the pin is one read(2), since
 * its end record ends it (fails without: a second read that returns 0); a scan with no candidate opens no /proc
 * (fails without: an O_PATH open of /proc); the supervisor's own
 * /proc/PID/stat is read once (fails without: the acquire reads it again);
 * the kernel's overflow ids are not read, since no pool can hold one (fails
 * without: both files); the acquire reads the pool's directory through its
 * own fd (fails without: an open of "."; the pool's first use, which
 * counts its files, is before the traced run), and leaves a temp file of the
 * right length uncut (fails without: an ftruncate).
 */
TEST_F(pool, a_leased_run_reads_the_pin_once_a_scan_and_its_own_start_once)
{
	char *trace = strdup(gt_f("%s/run.trace", self->dir)), *spec, *text, *line, *save = NULL;
	char *argv[] = { "/usr/bin/strace", "-f", "-qq", "-e", "trace=openat,openat2,read,close,ftruncate,bpf", "-o", trace,
			 (char *)gt_gridrun(), "run", NULL, NULL };
	int sup = 0, tasks_fd = -1, pins = 0, reads = 0, proc_opens = 0, stats = 0, overflow = 0, dots = 0, cuts = 0;
	int runs = 0;
	char own_stat[64] = "";

	if (access(argv[0], X_OK) < 0)
		SKIP(return, "no strace");
	private_bpffs(_metadata, true);
	configure(_metadata, self, 4, 0);
	spec = gt_spec(self->dir, "[\"/bin/true\"]", NULL, "\"pool\": \"atlas\", \"account\": \"atlas001\"");
	argv[9] = spec;
	gt_run_argv(argv + 7, -1, &self->res);   /* the pool's first use (its layout) first */
	ASSERT_EQ(0, self->res.status) TH_LOG("%s", self->res.err);
	gt_result_free(&self->res);
	setenv("LSAN_OPTIONS", "detect_leaks=0", 1);   /* no leak check under ptrace */
	gt_run_argv(argv, -1, &self->res);
	unsetenv("LSAN_OPTIONS");
	ASSERT_EQ(0, self->res.status) TH_LOG("%s", self->res.err);
	text = gt_read(trace);
	ASSERT_NE(NULL, text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int pid = atoi(line), fd;
		const char *call = strchr(line, ' ');

		if (!sup) {
			sup = pid;
			snprintf(own_stat, sizeof(own_stat), "\"/proc/%d/stat\"", sup);
		}
		if (pid != sup || !call)
			continue;
		call += strspn(call, " ");
		overflow += strstr(call, "/proc/sys/kernel/overflow") != NULL;
		stats += strstr(call, own_stat) != NULL;
		proc_opens += !strncmp(call, "openat(AT_FDCWD, \"/proc\", ", 26);
		dots += !strncmp(call, "openat(", 7) && strstr(call, ", \".\", ") != NULL;
		cuts += !strncmp(call, "ftruncate(", 10);
		runs += !strncmp(call, "bpf(BPF_PROG_TEST_RUN, ", 23);
		if (!strncmp(call, "openat(", 7) && strstr(call, ", \"tasks\", O_RDONLY") &&
		    sscanf(strstr(call, ") = ") + 4, "%d", &fd) == 1) {
			tasks_fd = fd;
			pins++;
		} else if (tasks_fd >= 0 && !strncmp(call, gt_f("read(%d, ", tasks_fd), strlen(gt_f("read(%d, ", tasks_fd)))) {
			reads++;
		} else if (tasks_fd >= 0 && !strncmp(call, gt_f("close(%d)", tasks_fd), strlen(gt_f("close(%d)", tasks_fd)))) {
			tasks_fd = -1;
		}
	}
	if (access(PIN "/scan", F_OK) == 0) {   /* the holder scan answers, one run a scan */
		EXPECT_LE(1, runs);
		EXPECT_EQ(0, pins);
	} else {
		EXPECT_LE(1, pins);
		EXPECT_EQ(0, runs);
	}
	EXPECT_EQ(pins, reads);
	EXPECT_EQ(0, proc_opens);
	EXPECT_EQ(1, stats);
	EXPECT_EQ(0, overflow);
	EXPECT_EQ(0, dots);
	EXPECT_EQ(0, cuts);
	free(text);
	free(spec);
	free(trace);
}

/* The holders of the new test's range, each of one kind; ids from 3700000000. */
#define SCAN_LO 3700000000u
#define SCAN_HI (SCAN_LO + 1000)

static void *thread_holds(void *arg)
{
	int *ready = arg;

	/* the raw call changes this thread alone (glibc's would change all) */
	if (syscall(SYS_setresuid, SCAN_LO + 3, SCAN_LO + 3, SCAN_LO + 3) == 0)
		close(*ready);
	pause();
	return NULL;
}

static void *thread_idles(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

/* 0 saved uid only, 1 fs gid only, 2 one thread of three, 3 hi itself
 * (outside), 4 lo - 1 (outside), 5 a zombie's child, 6 nothing */
static int scan_holder(int ready, void *arg)
{
	int kind = *(int *)arg;
	pthread_t t;

	switch (kind) {
	case 0: return setresuid(0, 0, SCAN_LO + 1) ? 1 : 0;
	case 1: setfsgid(SCAN_LO + 2); return setfsgid(SCAN_LO + 2) == (int)(SCAN_LO + 2) ? 0 : 1;
	case 2:
		if (pthread_create(&t, NULL, thread_idles, NULL) || pthread_create(&t, NULL, thread_holds, &ready))
			return 1;
		pause();
		return 1;
	case 3: return setresgid(SCAN_HI, SCAN_HI, SCAN_HI) ? 1 : 0;
	case 4: return setresuid(SCAN_LO - 1, SCAN_LO - 1, SCAN_LO - 1) ? 1 : 0;
	case 5:   /* a child that exits holding SCAN_LO + 4, left a zombie */
		if (fork() == 0) {
			if (setresuid(SCAN_LO + 4, SCAN_LO + 4, SCAN_LO + 4) == 0)
				_exit(0);
			_exit(1);
		}
		usleep(100 * 1000);
		return 0;
	}
	return 0;
}

/* Kernel release at least major.minor. */
static bool kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	return uname(&u) == 0 && sscanf(u.release, "%d.%d", &ma, &mi) == 2 &&
	       (ma > major || (ma == major && mi >= minor));
}

/*
 * The holder scan program (DIR/scan, 6.7 on) finds exactly the processes
 * the iterator's read finds: one holding only a saved uid, one only an fs
 * gid, one whose third thread alone holds an id (its leader and second
 * thread nothing); not one at hi or at lo - 1, nor a zombie. Where the
 * kernel has the open-coded task iterator the scan must be pinned and must
 * answer (fails without it: no scan pin, or *scanned false); the iterator
 * (the pin removed) gives the same list. On an older kernel (the v2
 * guest's 6.1) the loader pins no scan and the iterator alone is checked.
 */
TEST_F(pool, the_holder_scan_finds_what_the_iterator_finds)
{
	pid_t pids[7], *a = NULL, *b = NULL, want[3];
	const char *why = NULL;
	bool scanned = true;
	int n, m, status;

	private_bpffs(_metadata, true);
	for (int k = 0; k < 7; k++)
		pids[k] = gt_fork_ready(scan_holder, &k);
	for (int k = 0; k < 3; k++)
		want[k] = pids[k];
	qsort(want, 3, sizeof(*want), cmp_pid);
	if (kernel_at_least(6, 7)) {
		ASSERT_EQ(0, access(PIN "/scan", F_OK)) TH_LOG("the loader pinned no holder scan");
		n = gr_lease_iter_candidates(SCAN_LO, SCAN_HI, &a, &why, &scanned);
		EXPECT_TRUE(scanned);
		ASSERT_EQ(3, n) TH_LOG("%s", why ? why : "");
		EXPECT_EQ(0, memcmp(want, a, sizeof(want)));
		ASSERT_EQ(0, unlink(PIN "/scan"));
	} else {
		EXPECT_NE(0, access(PIN "/scan", F_OK));
	}
	m = gr_lease_iter_candidates(SCAN_LO, SCAN_HI, &b, &why, &scanned);
	EXPECT_FALSE(scanned);
	ASSERT_EQ(3, m) TH_LOG("%s", why ? why : "");
	EXPECT_EQ(0, memcmp(want, b, sizeof(want)));
	for (int k = 0; k < 7; k++) {
		kill(pids[k], SIGKILL);
		waitpid(pids[k], &status, 0);
	}
	free(a);
	free(b);
}

static int holds_lo(int ready, void *arg)
{
	(void)ready;
	(void)arg;
	return setresuid(SCAN_LO + 10, SCAN_LO + 10, SCAN_LO + 10) ? 1 : 0;
}

/*
 * The scan has room for GR_LSM_SCAN_MAX (1024) processes: with exactly that
 * many holders it answers them all, each page of its context in place;
 * with one more it says it is full and the iterator's read answers instead,
 * all 1025 (fails when a full scan is taken as the answer: 1024). A kernel
 * before 6.7 (the v2 guest) must have no scan pinned, and that is all.
 */
TEST_F(pool, a_scan_with_more_holders_than_room_leaves_the_answer_to_the_iterator)
{
	enum { N = GR_LSM_SCAN_MAX + 1 };
	pid_t *pids = calloc(N, sizeof(*pids)), *a = NULL;
	const char *why = NULL;
	bool scanned = false;
	int n, status;

	private_bpffs(_metadata, true);
	if (!kernel_at_least(6, 7)) {   /* the v2 guest's 6.1: no scan, the iterator answers */
		EXPECT_NE(0, access(PIN "/scan", F_OK));
		free(pids);
		return;
	}
	ASSERT_EQ(0, access(PIN "/scan", F_OK)) TH_LOG("the loader pinned no holder scan");
	for (int k = 0; k < N - 1; k++)
		pids[k] = gt_fork_ready(holds_lo, NULL);
	n = gr_lease_iter_candidates(SCAN_LO, SCAN_HI, &a, &why, &scanned);
	ASSERT_EQ(N - 1, n) TH_LOG("%s", why ? why : "");
	EXPECT_TRUE(scanned);
	{   /* every page of the context was copied out right */
		pid_t *want = malloc((N - 1) * sizeof(*want));

		memcpy(want, pids, (N - 1) * sizeof(*want));
		qsort(want, N - 1, sizeof(*want), cmp_pid);
		EXPECT_EQ(0, memcmp(want, a, (N - 1) * sizeof(*want)));
		free(want);
	}
	free(a);
	a = NULL;
	pids[N - 1] = gt_fork_ready(holds_lo, NULL);
	n = gr_lease_iter_candidates(SCAN_LO, SCAN_HI, &a, &why, &scanned);
	EXPECT_EQ(N, n) TH_LOG("%s", why ? why : "");
	EXPECT_FALSE(scanned);
	for (int k = 0; k < N; k++)
		kill(pids[k], SIGKILL);
	for (int k = 0; k < N; k++)
		waitpid(pids[k], &status, 0);
	free(a);
	free(pids);
}

/*
 * A "scan" pin that is not the holder scan program (here the task iterator's
 * link, moved there from a second load) gives no answer: the reader checks
 * the object's type and name, and a scan that fails for any reason leaves
 * the answer to the iterator's read, which finds the holder (fails when a
 * failed scan is returned as the answer: "/proc walk (scan failed)"; the
 * type check alone it cannot tell, since the kernel refuses to run a link
 * as a program as well).
 */
TEST_F(pool, a_scan_pin_of_another_kind_is_not_run)
{
	char *lsm = strdup(gt_f("%s/gridrun-lsm", getenv("GRIDRUN_BUILD")));
	char *load[] = { lsm, "--pin", "/sys/fs/bpf/other", "load-tasks", NULL };
	struct gt_result r = { 0 };
	char *line = NULL;
	pid_t pid, one = 0;
	int status;

	configure(_metadata, self, 1, 0);
	private_bpffs(_metadata, true);
	gt_run_argv(load, -1, &r);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	gt_result_free(&r);
	(void)unlink(PIN "/scan");
	ASSERT_EQ(0, rename("/sys/fs/bpf/other/tasks", PIN "/scan"));
	pid = squatter(true);
	EXPECT_EQ(1, holders_debug(FIRST, 65536, &one, &line));
	EXPECT_EQ(pid, one);
	EXPECT_STREQ(gt_f("gridrun: debug: lease: holders of %u-%u: task iterator: 1\n", FIRST, FIRST + 65535), line);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	free(line);
	free(lsm);
}

/* A pool's range can never lie below the iterator's floor: config.c
 * refuses it; a range asked of the scan below it is walked in /proc. */
TEST_F(pool, a_range_below_65536_is_never_asked_of_the_iterator)
{
	struct gr_config *cfg = NULL;
	struct gr_error *err = NULL;
	char *conf = gt_write(self->dir, "low.conf", "[pool low]\nfirst_uid = %u\nranges = 1\n",
			      GR_LSM_TASK_MIN_ID - 1);
	char *line = NULL;
	pid_t one = 0;

	ASSERT_EQ(0, chmod(conf, 0644));
	EXPECT_EQ(-EINVAL, gr_config_load(conf, 0, &cfg, &err));
	EXPECT_NE(NULL, err ? strstr(err->msg, "first_uid: 65535 is below 65536") : NULL);
	gr_error_free(err);
	gr_config_free(cfg);
	private_bpffs(_metadata, true);
	/* our own uid 0 lies in [0, 65536): found by the walk, not the iterator */
	EXPECT_LE(1, holders_debug(0, GR_LSM_TASK_MIN_ID, &one, &line));
	{
		const char *want = "gridrun: debug: lease: holders of 0-65535: /proc walk (the range lies below 65536): ";

		EXPECT_EQ(0, line ? strncmp(line, want, strlen(want)) : -1) TH_LOG("%s", line);
	}
	free(line);
	free(conf);
}

/* Nothing pinned, a directory not on bpffs (with a `tasks` that claims no
 * task holds anything), a pin directory not root's: each scan walks /proc,
 * says why, and finds the holder. */
TEST_F(pool, the_proc_walk_is_taken_when_the_iterator_cannot_be_trusted)
{
	static const struct { const char *why; } cases[] = {
		{ "no task iterator pinned" },
		{ "the pin directory is not root's on a bpf filesystem" },
		{ "the pin directory is not root's on a bpf filesystem" },
	};
	struct gr_lsm_task end = { .magic = GR_LSM_TASKS_END };
	unsigned long iter0, proc0, iter, proc;
	char *fake = strdup(gt_f("%s/fake", self->dir));

	configure(_metadata, self, 1, 0);
	private_bpffs(_metadata, false);
	ASSERT_EQ(0, mkdir(PIN, 0700));
	gt_mkdirs(fake, 0700, -1, -1);
	gt_write(fake, "tasks", "%s", "");
	{
		int fd = open(gt_f("%s/tasks", fake), O_WRONLY | O_TRUNC | O_CLOEXEC);

		ASSERT_EQ((ssize_t)sizeof(end), write(fd, &end, sizeof(end)));
		close(fd);
	}
	for (unsigned c = 0; c < 3; c++) {
		pid_t pid = squatter(false), one = 0;
		char *line = NULL;
		int status;

		if (c == 1)
			setenv("GRIDRUN_LSM_PIN", fake, 1);
		if (c == 2) {   /* the iterator pinned, in a directory a user owns */
			private_bpffs(_metadata, true);
			ASSERT_EQ(0, chown(PIN, 23456, 23456));
		}
		gr_lease_holder_passes(&iter0, &proc0);
		EXPECT_EQ(1, holders_debug(FIRST, 65536, &one, &line)) TH_LOG("case %u", c);
		EXPECT_EQ(pid, one) TH_LOG("case %u", c);
		EXPECT_STREQ(gt_f("gridrun: debug: lease: holders of %u-%u: /proc walk (%s): 1\n", FIRST,
				  FIRST + 65535, cases[c].why), line);
		passes_since(iter0, proc0, &iter, &proc);
		EXPECT_EQ(0, iter) TH_LOG("case %u", c);
		EXPECT_EQ(1, proc) TH_LOG("case %u", c);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		free(line);
	}
	free(fake);
}

/* The bpftool at hand (the build's), or NULL. */
static const char *bpftool(void)
{
	return access("/usr/sbin/bpftool", X_OK) == 0 ? "/usr/sbin/bpftool" :
	       system("command -v bpftool >/dev/null 2>&1") == 0 ? "bpftool" : NULL;
}

/*
 * The iterator's program reads a task's ids by plain loads, with no
 * bpf_probe_read_kernel() call (BPF_CORE_READ()'s way: 14 calls a task,
 * most of a scan's cost on a node of 3000 tasks; gridrun_tasks.bpf.c).
 * The program as the kernel runs it (bpftool's dump of the pinned link's
 * program) calls bpf_seq_write() and no bpf_probe_read_kernel(). Fails
 * with BPF_CORE_READ() (tried: 14 calls).
 */
TEST(the_task_iterator_makes_no_probe_read_call)
{
	const char *tool = bpftool();
	unsigned prog_id = 0, probe_reads = 0, seq_writes = 0;
	char line[512];
	FILE *f;

	if (!tool)
		SKIP(return, "no bpftool");
	private_bpffs(_metadata, true);
	f = popen(gt_f("%s -j link show pinned %s/tasks", tool, PIN), "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "\"prog_id\":");

		if (p)
			sscanf(p + strlen("\"prog_id\":"), "%u", &prog_id);
	}
	pclose(f);
	ASSERT_NE(0, prog_id);
	f = popen(gt_f("%s prog dump xlated id %u", tool, prog_id), "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		probe_reads += strstr(line, "call bpf_probe_read") != NULL;
		seq_writes += strstr(line, "call bpf_seq_write") != NULL;
	}
	pclose(f);
	EXPECT_LE(1, seq_writes);
	EXPECT_EQ(0, probe_reads);
}

TEST_HARNESS_MAIN
