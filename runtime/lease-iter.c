/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lease-iter.c - the candidates for a range's holders from the pinned BPF
 * holder scan (kmod-optional/gridrun_scan.bpf.c, DIR/scan) or task iterator
 * (kmod-optional/gridrun_tasks.bpf.c, DIR/tasks), both pinned by
 * `gridrun-lsm load` or `load-tasks` in DIR as runtime/lsm.c finds it,
 * instead of a walk of every process in /proc (lease-reclaim.c).
 *
 * The holder scan, where the kernel loaded it (the open-coded task iterator,
 * 6.7 on), is asked first: one BPF_OBJ_GET of the pin (BPF_F_PATH_FD, 6.5)
 * and one BPF_PROG_TEST_RUN with a struct gr_lsm_scan. The program walks
 * every thread of the node under RCU and writes only the tgids of the live
 * tasks with an id in [lo, hi): no PID lookup and reference per thread as
 * the iterator's read costs, and a few bytes back. Its answer is trusted
 * only when it ran to its end (magic), had room for every holder (full 0)
 * and the caller is in the initial PID namespace (level 0: the program sees
 * every task of the node, and its tgids are the initial namespace's);
 * otherwise, or when the pin is absent (Debian's 6.1) or the run fails, the
 * iterator is read as before, the same rules applying to it.
 *
 * One open(2) and a few read(2)s of the iterator's pin run it over every
 * task (thread) of our PID namespace; it writes a record for each task with any
 * of its eight ids at or above GR_LSM_TASK_MIN_ID (65536: config.c refuses a
 * pool below it, and a range below it is never asked of the iterator), then
 * an end record. The result is only a list of candidates: lease-reclaim.c
 * judges and kills each of them exactly as its /proc walk does (its status
 * and a pidfd), never on the iterator's word.
 *
 * The iterator must never make a scan say "none" where /proc would find a
 * holder, so any doubt is a -errno and the caller walks /proc:
 *  - the pin directory is not a directory on a bpf filesystem owned by root
 *    and writable by root alone, or the pin is not root's on bpffs (a
 *    setuid gridrun-helper clears its environment first, and
 *    gr_lsm_pin_dir() reads GRIDRUN_LSM_PIN with secure_getenv: its caller
 *    cannot point it elsewhere);
 *  - the read fails, is cut short (no end record, a partial record, a record
 *    of another layout) or is larger than any node's tasks (64 MiB);
 *  - the reader is not in the initial PID namespace (the end record says
 *    its level): the records number tasks as that namespace does, and so do
 *    /proc and pidfd_open(2) only there.
 * Cost: the kernel visits every task either way, but formats and copies 48
 * bytes only for the tasks with a high id, and we open no file per process;
 * the holder scan visits each for about a sixth of the iterator's cost
 * (kmod-optional/README.md: ~0.05 against ~0.30 us a thread here).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/openat2.h>
#include <linux/types.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lease-int.h"
#include "lsm.h"
#include "util.h"
#include "../kmod-optional/gridrun-lsm.h"

#define BPF_FS_MAGIC_GR 0xcafe4a11
#define READ_MAX (64u << 20)

_Static_assert(sizeof(struct gr_lsm_task) == 48, "the iterator's record is 48 bytes");
_Static_assert(sizeof(struct gr_lsm_scan) <= 65535, "BPF_PROG_TEST_RUN takes a context of 64 KiB at most");

/* fd is on bpffs, root's, and (mode) writable by root alone; its stat in *st. */
static bool roots_on_bpffs(int fd, struct stat *st)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && sf.f_type == BPF_FS_MAGIC_GR && fstat(fd, st) == 0 &&
	       st->st_uid == 0 && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* The pin directory, opened O_PATH after its checks; -errno, *why. */
static int open_pin_dir(const char **why)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int dfd = (int)syscall(SYS_openat2, AT_FDCWD, gr_lsm_pin_dir(), &how, sizeof(how));
	struct stat st;

	if (dfd < 0) {
		*why = errno == ENOENT ? "no pin directory" : "the pin directory cannot be opened";
		return -errno;
	}
	if (!roots_on_bpffs(dfd, &st)) {
		*why = "the pin directory is not root's on a bpf filesystem";
		return -EPERM;
	}
	return TAKE_FD(dfd);
}

/* The iterator's pin in dfd, opened for reading (which starts an
 * iteration); -errno, *why. */
static int open_pin(int dfd, const char **why)
{
	_cleanup_close_ int fd = openat(dfd, "tasks", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	if (fd < 0) {
		*why = errno == ENOENT ? "no task iterator pinned" : "the task iterator cannot be opened";
		return -errno;
	}
	if (!roots_on_bpffs(fd, &st) || !S_ISREG(st.st_mode)) {
		*why = "the task iterator's pin is not root's on a bpf filesystem";
		return -EPERM;
	}
	return TAKE_FD(fd);
}

#ifndef BPF_F_PATH_FD
#define BPF_F_PATH_FD (1U << 14)   /* 6.5; Debian 12's headers predate it */
#endif

/* bpf(2) BPF_OBJ_GET relative to a directory fd, as 6.5 lays it out. */
struct obj_get_attr {
	__aligned_u64 pathname;
	__u32 bpf_fd;
	__u32 file_flags;
	__s32 path_fd;
};

/* The holder scan of [lo, hi) by the program pinned as dfd's "scan": its
 * tgids in *scan (unsorted), or -errno (-ENOENT: not pinned). The pin must
 * be a regular file of root's on bpffs (the directory is root's alone, so
 * nobody else can swap it), the program a syscall program named gr_scan. */
static int run_scan(int dfd, unsigned long long lo, unsigned long long hi, struct gr_lsm_scan *scan)
{
	struct obj_get_attr get = { .pathname = (uintptr_t)"scan", .file_flags = BPF_F_PATH_FD, .path_fd = dfd };
	struct bpf_prog_info info = { 0 };
	union bpf_attr a;
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (fstatat(dfd, "scan", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_uid != 0)
		return -EPERM;
	fd = (int)syscall(SYS_bpf, BPF_OBJ_GET, &get, sizeof(get));
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = (__u32)fd;
	a.info.info_len = sizeof(info);
	a.info.info = (uintptr_t)&info;
	if (syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) < 0)
		return -errno;
	if (info.type != BPF_PROG_TYPE_SYSCALL || strcmp(info.name, "gr_scan"))
		return -EPROTO;
	if (hi > UINT32_MAX)
		return -ERANGE;
	memset(scan, 0, sizeof(*scan));
	scan->lo = (__u32)lo;
	scan->hi = (__u32)hi;
	memset(&a, 0, sizeof(a));
	a.test.prog_fd = (__u32)fd;
	a.test.ctx_in = (uintptr_t)scan;
	a.test.ctx_size_in = sizeof(*scan);
	if (syscall(SYS_bpf, BPF_PROG_TEST_RUN, &a, sizeof(a)) < 0)
		return -errno;
	if (a.test.retval != 0 || scan->magic != GR_LSM_SCAN_DONE || scan->n > GR_LSM_SCAN_MAX)
		return -EIO;
	if (scan->full)
		return -E2BIG;
	if (scan->level != 0)
		return -EXDEV;
	return (int)scan->n;
}

/* The records read so far end with the end record: the iteration is over
 * (a task's record never has the end's magic), no read(2) more is needed. */
static bool ended(const char *b, size_t len)
{
	struct gr_lsm_task r;

	if (len == 0 || len % sizeof(r))
		return false;
	memcpy(&r, b + len - sizeof(r), sizeof(r));
	return r.magic == GR_LSM_TASKS_END;
}

/* One whole read of fd into *buf (malloc'd), up to its end record; its length or -errno. */
static ssize_t read_all(int fd, char **buf)
{
	size_t size = 64 << 10, len = 0;
	char *b = malloc(size);

	if (!b)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == size) {
			char *nb = size < READ_MAX ? realloc(b, size * 2) : NULL;

			if (!nb) {
				free(b);
				return size < READ_MAX ? -ENOMEM : -EFBIG;
			}
			b = nb;
			size *= 2;
		}
		n = read(fd, b + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			free(b);
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (ended(b, len))
			break;
	}
	*buf = b;
	return (ssize_t)len;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Sorts out[0..n) and leaves each tgid once: how many are left. */
static size_t sort_unique(pid_t *out, size_t n)
{
	size_t m = 0;

	qsort(out, n, sizeof(*out), cmp_pid);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || out[m - 1] != out[i])
			out[m++] = out[i];
	return m;
}

/* The candidates from the holder scan in dfd: how many, or -errno (then the
 * iterator is read). */
static int scan_candidates(int dfd, unsigned long long lo, unsigned long long hi, pid_t **tgids)
{
	_cleanup_free_ struct gr_lsm_scan *scan = malloc(sizeof(*scan));
	int n = scan ? run_scan(dfd, lo, hi, scan) : -ENOMEM;
	pid_t *out;

	if (n < 0)
		return n;
	out = malloc((n ? (size_t)n : 1) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		out[i] = (pid_t)scan->tgids[i];
	*tgids = out;
	return (int)sort_unique(out, (size_t)n);
}

int gr_lease_iter_candidates(unsigned long long lo, unsigned long long hi, pid_t **tgids, const char **why,
			     bool *scanned)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct gr_lsm_task r;
	size_t nrec, n = 0;
	pid_t *out;
	ssize_t len;
	int m;

	*tgids = NULL;
	*scanned = false;
	if (lo < GR_LSM_TASK_MIN_ID) {   /* the iterator leaves out tasks with only such ids */
		*why = "the range lies below 65536";
		return -ERANGE;
	}
	dfd = open_pin_dir(why);
	if (dfd < 0)
		return dfd;
	m = scan_candidates(dfd, lo, hi, tgids);
	if (m >= 0) {
		*scanned = true;
		*why = NULL;
		return m;
	}
	fd = open_pin(dfd, why);
	if (fd < 0)
		return fd;
	len = read_all(fd, &buf);
	if (len < 0) {
		*why = "the task iterator's read failed";
		return (int)len;
	}
	nrec = (size_t)len / sizeof(r);
	if (nrec == 0 || (size_t)len % sizeof(r)) {
		*why = "the task iterator's read is cut short";
		return -EIO;
	}
	memcpy(&r, buf + (nrec - 1) * sizeof(r), sizeof(r));
	if (r.magic != GR_LSM_TASKS_END) {
		*why = "the task iterator's read has no end";
		return -EIO;
	}
	if (r.pid != 0) {
		*why = "not in the initial PID namespace";
		return -EXDEV;
	}
	out = malloc(nrec * sizeof(*out));
	if (!out) {
		*why = "no memory";
		return -ENOMEM;
	}
	for (size_t i = 0; i + 1 < nrec; i++) {
		bool holds = false;

		memcpy(&r, buf + i * sizeof(r), sizeof(r));
		if (r.magic != GR_LSM_TASK) {
			free(out);
			*why = "the task iterator wrote a record of another layout";
			return -EIO;
		}
		for (int k = 0; k < 8; k++)
			holds |= r.ids[k] >= lo && r.ids[k] < hi;
		/* a zombie holds nothing, as its status says (lease-reclaim.c) */
		if (holds && !r.exit_state)
			out[n++] = (pid_t)r.tgid;
	}
	*tgids = out;
	*why = NULL;
	return (int)sort_unique(out, n);
}
