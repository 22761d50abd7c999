/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lease-reclaim.c - what a range's last tenant may have left, settled before
 * the range can be leased again (lease.h, threats S33 and S20): processes
 * that hold one of its ids, and the files of the sandbox it was handed.
 *
 * Holders: a task holds the range when any of its real, effective, saved or
 * fs uids or gids (/proc/PID/task/TID/status, as seen from the init user
 * namespace: host ids) lies in it. A pilot that setns()es into its job's
 * user namespace and calls setresuid(0, 0, 0) becomes host uid FIRST; so
 * does anything a job left running. Zombies hold nothing. Only processes
 * with such a task are ever signalled, and only through a pidfd opened
 * before their ids are read again: a kill that succeeds hit a process that
 * was alive (so not replaced by a reused pid) when its ids were seen in the
 * range. The candidates to judge come from one read of the pinned BPF task
 * iterator when it can be read (lease-iter.c: the tasks with an id in
 * range, ~0.1 ms with 1000 processes), else from a walk of every process
 * in /proc, which GRIDRUN_DEBUG's line for each scan names. Cost of that
 * walk: one pass is O(processes on the node); where the kernel has
 * PIDFD_GET_INFO (6.13) a process of one thread is judged by its eight ids
 * from a pidfd (~10 us) and only one with an id in range has its status
 * formatted (~20 us): a scan with 1000 other processes, 24 -> 12.5 ms.
 * /proc/PID's owner (the euid, or root for a non-dumpable task) is no such
 * shortcut: a real or saved uid in the range is enough to hold it.
 *
 * Sandbox: re-opened by its noted path with RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS, and used only when it is still the same directory
 * (device, inode, mount id); then handover.c's walk back. A sandbox that is
 * gone or replaced cannot be walked: its files may be anywhere, so the range
 * stays blocked (an admin who knows better removes N.quarantine).
 *
 * Privilege: root mode runs this as root; gridrun-helper runs it for release
 * (and its walk back of the sandbox) and gc with euid 0 and CAP_KILL, CAP_CHOWN, CAP_DAC_READ_SEARCH
 * and CAP_FOWNER (helper.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "handover.h"
#include "lease-int.h"
#include "util.h"

/* A status text with an id in [lo, hi) (and no zombie's). */
static bool status_holds(const char *buf, unsigned long long lo, unsigned long long hi)
{
	const char *line = strstr(buf, "\nState:\t");

	if (line && (line[8] == 'Z' || line[8] == 'X'))
		return false;
	for (int k = 0; k < 2; k++) {
		unsigned long long ids[4];

		line = strstr(buf, k ? "\nGid:" : "\nUid:");
		if (!line || sscanf(line + 5, "%llu %llu %llu %llu", &ids[0], &ids[1], &ids[2], &ids[3]) != 4)
			continue;
		for (int i = 0; i < 4; i++)
			if (ids[i] >= lo && ids[i] < hi)
				return true;
	}
	return false;
}

/* The status of task dfd/name holds an id in [lo, hi). */
static bool task_holds(int dfd, const char *name, unsigned long long lo, unsigned long long hi)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char buf[4096];
	ssize_t n = fd >= 0 ? gr_read_full(fd, buf, sizeof(buf) - 1) : -1;

	if (n <= 0)
		return false;
	buf[n] = '\0';
	return status_holds(buf, lo, hi);
}

/* Kill process pid, whose task dir is taskfd and whose task tid held the
 * range, once its ids are seen in the range again after its pidfd exists. */
static void kill_holder(pid_t pid, int taskfd, const char *tid, unsigned long long lo, unsigned long long hi)
{
	char status[300];
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0)
		return;
	snprintf(status, sizeof(status), "%s/status", tid);
	if (task_holds(taskfd, status, lo, hi))
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
}

/* dfd/name (a /proc/PID/status) is of a process with one thread: true,
 * and when it holds the range, counted in *found and *one set. */
static bool single_thread(int dfd, const char *name, unsigned long long lo, unsigned long long hi,
			  int *found, pid_t *one)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char buf[4096];
	const char *t;
	ssize_t n = fd >= 0 ? gr_read_full(fd, buf, sizeof(buf) - 1) : -1;

	if (n <= 0)
		return true;   /* gone */
	buf[n] = '\0';
	t = strstr(buf, "\nThreads:\t");
	if (!t || strncmp(t + 10, "1\n", 2))
		return false;
	if (status_holds(buf, lo, hi)) {
		(*found)++;
		*one = (pid_t)atoi(name);
	}
	return true;
}

static void kill_leader(pid_t pid, int procfd, const char *dir, unsigned long long lo, unsigned long long hi)
{
	char status[300];
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0)
		return;
	snprintf(status, sizeof(status), "%s/status", dir);
	if (task_holds(procfd, status, lo, hi))
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
}

/*
 * PIDFD_GET_INFO (6.13): a process's eight ids without the kernel formatting
 * its whole status (memory, signals, capabilities: ~2x the cost). Debian 12's
 * headers predate it, hence the local copy of the first (64-byte) version.
 */
struct gr_pidfd_info {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
#define GR_PIDFD_GET_INFO _IOWR(0xFF, 11, struct gr_pidfd_info)
#define GR_PIDFD_INFO_CREDS (1ull << 1)

static bool no_pidfd_info;   /* the kernel has no PIDFD_GET_INFO: status only */

/*
 * A cheap verdict on process pid (name in procfd): 0 when it has one
 * thread and none of its ids lies in [lo, hi); 1 when status must decide
 * (ids in range, a zombie perhaps, more threads, or no PIDFD_GET_INFO);
 * -ESRCH when it is gone. Threads can hold other ids than their leader's
 * (a raw setresuid(2) changes one thread), so only a process whose task
 * directory counts one thread is judged by its leader's ids.
 */
static int quick_verdict(int procfd, const char *name, unsigned long long lo, unsigned long long hi)
{
	struct gr_pidfd_info info = { .mask = GR_PIDFD_INFO_CREDS };
	unsigned long long ids[8];
	_cleanup_close_ int pidfd = -1;
	char path[300];
	struct statx sx;

	if (no_pidfd_info)
		return 1;
	snprintf(path, sizeof(path), "%s/task", name);
	/* the task directory's link count is 2 plus its threads (fs/proc/base.c) */
	if (statx(procfd, path, AT_SYMLINK_NOFOLLOW, STATX_NLINK, &sx) < 0)
		return errno == ENOENT ? -ESRCH : 1;
	if (sx.stx_nlink != 3)
		return 1;
	pidfd = (int)syscall(SYS_pidfd_open, atoi(name), 0);
	if (pidfd < 0)
		return errno == ESRCH ? -ESRCH : 1;
	if (ioctl(pidfd, GR_PIDFD_GET_INFO, &info) < 0) {
		if (errno == ENOTTY || errno == EINVAL)
			no_pidfd_info = true;
		return errno == ESRCH ? -ESRCH : 1;
	}
	if (!(info.mask & GR_PIDFD_INFO_CREDS))
		return 1;
	ids[0] = info.ruid; ids[1] = info.euid; ids[2] = info.suid; ids[3] = info.fsuid;
	ids[4] = info.rgid; ids[5] = info.egid; ids[6] = info.sgid; ids[7] = info.fsgid;
	for (int i = 0; i < 8; i++)
		if (ids[i] >= lo && ids[i] < hi)
			return 1;
	/* a thread created since the count is a later change, as a
	 * process created after the pass is: the kill loop's next pass */
	return 0;
}

/* Whether process name (in procfd) holds an id in [lo, hi): counted in
 * *found, *one set, and with kill SIGKILLed after its ids are seen in the
 * range again through a pidfd. */
static void judge_process(int procfd, const char *name, unsigned long long lo, unsigned long long hi,
			  bool kill, int *found, pid_t *one)
{
	_cleanup_close_ int taskfd = -1;
	struct dirent *te;
	char path[300];
	DIR *tasks;

	if (quick_verdict(procfd, name, lo, hi) <= 0)
		return;
	/* then: a process of one thread is its leader's status */
	snprintf(path, sizeof(path), "%s/status", name);
	if (single_thread(procfd, path, lo, hi, found, one)) {
		if (kill && *one == (pid_t)atoi(name))
			kill_leader(*one, procfd, name, lo, hi);
		return;
	}
	snprintf(path, sizeof(path), "%s/task", name);
	taskfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	tasks = taskfd >= 0 ? fdopendir(taskfd) : NULL;
	if (!tasks)
		return;
	taskfd = -1;
	while ((te = readdir(tasks))) {
		if (te->d_name[0] < '1' || te->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/status", te->d_name);
		if (!task_holds(dirfd(tasks), path, lo, hi))
			continue;
		(*found)++;
		*one = (pid_t)atoi(name);
		if (kill)
			kill_holder(*one, dirfd(tasks), te->d_name, lo, hi);
		break;
	}
	closedir(tasks);
}

/* How the passes went, in this process (gr_lease_holder_passes()). */
static unsigned long passes_iter, passes_proc, passes_scan;

void gr_lease_holder_passes(unsigned long *iter, unsigned long *proc)
{
	*iter = passes_iter;
	*proc = passes_proc;
}

unsigned long gr_lease_holder_scans(void)
{
	return passes_scan;
}

/* One pass: how many processes hold an id in [lo, hi). The candidates come
 * from the pinned task iterator (lease-iter.c) when it can be read, else
 * from a walk of /proc (*why says why not); each is judged the same way. */
static int holders_pass(unsigned long long lo, unsigned long long hi, bool kill, pid_t *one, const char **why,
			bool *scanned)
{
	_cleanup_free_ pid_t *cand = NULL;
	int found = 0, n = gr_lease_iter_candidates(lo, hi, &cand, why, scanned);
	struct dirent *de;
	DIR *proc;

	if (n >= 0) {
		/* no candidate (the usual answer): no /proc to open */
		_cleanup_close_ int procfd = n ? open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;

		if (n && procfd < 0)
			return -errno;
		passes_iter++;
		passes_scan += *scanned;
		for (int i = 0; i < n; i++) {
			char name[16];

			snprintf(name, sizeof(name), "%d", (int)cand[i]);
			judge_process(procfd, name, lo, hi, kill, &found, one);
		}
		return found;
	}
	passes_proc++;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((de = readdir(proc)))
		if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
			judge_process(dirfd(proc), de->d_name, lo, hi, kill, &found, one);
	closedir(proc);
	return found;
}

int gr_lease_holders(uid_t first, unsigned long count, bool kill, pid_t *one)
{
	unsigned long long lo = first, hi = lo + count;
	unsigned long long deadline = gr_now_ns() + 2 * NS;
	const char *why = NULL;
	bool scanned = false;
	pid_t dummy;
	int n;

	if (!one)
		one = &dummy;
	n = holders_pass(lo, hi, kill, one, &why, &scanned);
	if (getenv("GRIDRUN_DEBUG"))
		fprintf(stderr, "gridrun: debug: lease: holders of %llu-%llu: %s%s%s: %d\n", lo, hi - 1,
			why ? "/proc walk (" : scanned ? "holder scan" : "task iterator", why ? why : "",
			why ? ")" : "", n);
	/* SIGKILL takes a moment (exit, then a zombie that holds nothing);
	 * what a holder forked meanwhile is found by the next pass */
	for (long wait_us = 500; kill && n > 0 && gr_now_ns() < deadline; wait_us *= 2) {
		struct timespec ts = { 0, (wait_us < 100000 ? wait_us : 100000) * 1000 };

		nanosleep(&ts, NULL);
		n = holders_pass(lo, hi, true, one, &why, &scanned);
	}
	return n;
}

int gr_lease_kill_holders(uid_t first, unsigned long count, struct gr_error **err)
{
	pid_t one = 0;
	int left = gr_lease_holders(first, count, true, &one);

	if (left == 0)
		return 0;
	return gr_error_set(err, left < 0 ? -left : EBUSY, "%d process(es) with the range's ids are "
			    "left (pid %d)", left, (int)one);
}

static int openat2_path(const char *path)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

static int identity(int fd, unsigned long long *dev, unsigned long long *ino, unsigned long long *mnt)
{
	struct statx sx;

	/* no cached attribute: never a request to a FUSE daemon (fsstat.h) */
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, STATX_INO | STATX_MNT_ID,
		  &sx) < 0)
		return -errno;
	*dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	*ino = sx.stx_ino;
	*mnt = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
	return 0;
}

int gr_lease_sandbox_of(int dirfd, uid_t owner, gid_t group, struct gr_lease_sandbox *sbx,
			struct gr_error **err)
{
	char link[64];
	ssize_t n;
	int r;

	memset(sbx, 0, sizeof(*sbx));
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = readlink(link, sbx->path, sizeof(sbx->path) - 1);
	if (n < 0)
		return gr_error_sys(err, errno, "lease: the sandbox's path");
	if (n >= (ssize_t)sizeof(sbx->path) - 1 || sbx->path[0] != '/')
		return gr_error_set(err, ENAMETOOLONG, "lease: the sandbox's path `%.64s` cannot be noted "
				    "for its walk back", sbx->path);
	r = identity(dirfd, &sbx->dev, &sbx->ino, &sbx->mnt_id);
	if (r < 0)
		return gr_error_sys(err, -r, "lease: statx the sandbox");
	sbx->owner = owner;
	sbx->group = group;
	return 0;
}

/* The noted sandbox walked back to its owner; <0 with why not in buf. */
static int walk_back(const struct gr_lease *l, uid_t first, unsigned long count, char *why, size_t size)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;
	const struct gr_lease_sandbox *b = &l->sandbox;
	unsigned long long dev, ino, mnt;
	struct gr_handover h;
	struct gr_handover_count n = { 0 };
	_cleanup_close_ int fd = openat2_path(b->path);
	int r;

	if (fd < 0 || identity(fd, &dev, &ino, &mnt) < 0 || dev != b->dev || ino != b->ino ||
	    (b->mnt_id && mnt != b->mnt_id)) {
		snprintf(why, size, "its sandbox `%.120s` is gone or is another directory now, and may hold "
			 "files of the range", b->path);
		return -ENOENT;
	}
	r = gr_handover_plan(b->owner, b->group, first, count, 0, 0, &h, &e);
	if (r == 0)
		r = gr_handover_chown(fd, &h, true, &n, &e);
	else if (r > 0)
		r = 0;   /* nothing was handed over */
	if (r < 0)
		snprintf(why, size, "the walk back of its sandbox `%.120s` did not finish: %s", b->path,
			 e ? e->msg : strerror(-r));
	return r;
}

int gr_lease_settle(const struct gr_pool *pool, struct gr_lease *l, bool patient, unsigned clear)
{
	uid_t first = pool->first_uid + l->index * pool->range_size;
	char why[GR_LEASE_BLOCKED_MAX];
	bool gone = false;
	pid_t one = 0;
	int n, alive = -1;

	l->blocked[0] = '\0';
	/*
	 * Root mode, a confined job (lease.h's userns_root and confined): every
	 * process that could hold one of the range's ids was in the job's PID
	 * namespace, for none but root can enter its user namespace; the kernel
	 * killed and released them all before the job's init could be reaped,
	 * which came before this release. And none could leave a way back to
	 * the ids (a setuid file, an IPC object) where the host's users reach
	 * it: the root is read-only, /tmp and the rest are the job's tmpfs, its
	 * IPC namespace died with it, it had no writable bind, and its sandbox,
	 * if any, was idmapped: the job's files there are the owner's on disk
	 * (a setuid file of a job's own mounts gives no one its owner's ids,
	 * job.c's job_confined()). So no holder, namespace or leftover scan;
	 * the next acquire still scans for holders (lease.h). gc, which cannot
	 * know this, scans in full.
	 */
	if (l->userns_root && l->confined) {
		if (getenv("GRIDRUN_DEBUG"))
			fprintf(stderr, "gridrun: debug: lease: range %u: a confined job of root's: no holder, "
				"namespace or leftover scan\n", (unsigned)first);
		goto ns_gone;
	}
	/* a noted namespace that is gone leaves no way to the range's ids but
	 * root's: a pool-wide scan that just saw none of them (gc) then stands
	 * for the holder scan (a task that took one since would be in that
	 * namespace, or below it, and keep it alive) */
	if (l->userns[0] && !l->userns_root) {
		alive = gr_lease_userns_alive(l->userns, false, why, sizeof(why));
		gone = alive == 0;
	}
	/*
	 * A release (not patient) with no walk back to do, whose namespace
	 * still lives (its last references go ~50 ms after the job's end, so
	 * nearly always in helper mode): "pending" at once, without the holder
	 * scan. That scan would settle nothing: while the namespace lives,
	 * whoever holds it (the pilot owns it) can enter it again after any
	 * kill, so the range stays blocked either way, and the gc that settles
	 * it scans for and kills the range's holders first (retry_blocked()).
	 * No one else gets the range meanwhile. Issue 13: one scan of every
	 * process on the node fewer per helper-mode job.
	 */
	if (alive > 0 && !patient && !l->has_sandbox) {
		snprintf(l->blocked, sizeof(l->blocked), "%s", why);
		return 2;
	}
	/* first the holders: none may race the walk back with new files */
	if (gone && (clear & GR_SETTLE_IDS)) {
		n = 0;
		if (getenv("GRIDRUN_DEBUG"))
			fprintf(stderr, "gridrun: debug: lease: range %u: its user namespace is gone and gc saw "
				"none of its ids: no holder scan\n", (unsigned)first);
	} else {
		n = gr_lease_holders(first, pool->range_size, true, &one);
	}
	if (n != 0) {
		if (n < 0)
			snprintf(l->blocked, sizeof(l->blocked), "cannot tell whether a process holds its "
				 "ids: %s", strerror(-n));
		else
			snprintf(l->blocked, sizeof(l->blocked), "%d process(es) that hold its ids did not "
				 "die (pid %d)", n, (int)one);
		return 1;
	}
	/* then whoever could enter its user namespace again (lease-userns.c),
	 * unless no one but root can (root mode: lease.h's userns_root), or the
	 * kernel says the noted one is gone already: a lease maps one namespace,
	 * and one nothing holds has no process, fd or mount left to find */
	if (l->userns_root) {
		if (getenv("GRIDRUN_DEBUG"))
			fprintf(stderr, "gridrun: debug: lease: range %u: its user namespace is root's: no "
				"holder of it is looked for\n", (unsigned)first);
		goto ns_gone;
	}
	if (gone) {
		l->userns[0] = '\0';
		goto ns_gone;
	}
	/* a release with no walk back to do does not look for its holders
	 * either: the namespace is most likely still ending (its last
	 * references go after the job's end), and the range stays "pending"
	 * until the next gc, which looks for them if it still lives (asked
	 * again here only when the first ask above could not tell) */
	if (l->userns[0] && !patient && !l->has_sandbox) {
		alive = gr_lease_userns_alive(l->userns, false, l->blocked, sizeof(l->blocked));

		if (alive > 0)
			return 2;
		if (alive < 0)
			return 1;
		l->userns[0] = '\0';
		goto ns_gone;
	}
	n = gr_lease_ns_holders(first, pool->range_size, true, &one, why, sizeof(why));
	if (n != 0) {
		if (n == -EBUSY)
			snprintf(l->blocked, sizeof(l->blocked), "%s", why);
		else if (n < 0)
			snprintf(l->blocked, sizeof(l->blocked), "cannot tell whether a process holds its "
				 "user namespace: %s", strerror(-n));
		else
			snprintf(l->blocked, sizeof(l->blocked), "%d process(es) that hold its user namespace "
				 "did not die (pid %d)", n, (int)one);
		return 1;
	}
	/* then whether the namespace lives on where no scan sees it (lease-nsalive.c) */
	if (l->userns[0]) {
		alive = gr_lease_userns_alive(l->userns, true, l->blocked, sizeof(l->blocked));
		if (alive != 0)
			return 1;
		l->userns[0] = '\0';
	} else if (getenv("GRIDRUN_DEBUG") && !gr_lease_userns_handles()) {
		fprintf(stderr, "gridrun: debug: lease: range %u: this kernel has no nsfs file handles: a user "
			"namespace kept by an fd in flight cannot be seen\n", (unsigned)first);
	}
ns_gone:
	if (l->has_sandbox && walk_back(l, first, pool->range_size, l->blocked, sizeof(l->blocked)) < 0)
		return 1;
	l->has_sandbox = false;
	if (l->userns_root && l->confined)
		return 0;
	/* and what a lingerer may have left where the host's users write:
	 * seen already when gc's one scan of the pool found nothing after this
	 * range's namespace was gone and no task had its ids (clear) */
	if (gone && (clear & GR_SETTLE_IDS) && (clear & GR_SETTLE_LEFTOVERS)) {
		if (getenv("GRIDRUN_DEBUG"))
			fprintf(stderr, "gridrun: debug: lease: range %u: gc's leftover scan of the pool found none "
				"after its namespace was gone\n", (unsigned)first);
		return 0;
	}
	if (gr_lease_leftovers(first, pool->range_size, pool->leftover_dirs, l->blocked, sizeof(l->blocked)))
		return 1;
	return 0;
}
