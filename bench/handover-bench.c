/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * handover-bench - what the sandbox hand-over of a leased job costs
 * (runtime/handover.h), the idmapped mount against the chown walk, for a
 * sandbox of 10 000 files: 100 directories of 100 small files, owned by a
 * uid outside any pool, made in a fresh directory under PARENT (/tmp):
 *
 *   build/bench/handover-bench [-p PARENT] [-i IDMAP_RUNS] [-c CHOWN_RUNS]
 *
 * As root. Times, with the library's own calls: gr_handover_idmap() (clone
 * of the sandbox's mount, the idmap's user namespace, mount_setattr) and the
 * close() that dissolves the detached mount, IDMAP_RUNS (20) times each; and
 * gr_handover_chown() to the range and back, CHOWN_RUNS (5) times each,
 * alternating, every walk checked to change all 10 101 entries. Prints a
 * Markdown table (median, min, max in ms) on stdout and removes the sandbox.
 * Exit status: 0, 1 when a hand-over failed, 2 on usage or setup errors.
 *
 * The idmapped mount is never attached: what a job start adds to it is one
 * move_mount(), as for any bind mount of the sandbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "handover.h"

#define DIRS 100
#define FILES 100
#define ENTRIES (1 + DIRS + DIRS * FILES) /* the sandbox itself, its directories and files */
#define OWNER 3899998u                    /* outside the pools of bench/run.sh */
#define FIRST 3920000000u                 /* a range of 65536 no pool of bench/run.sh holds */
#define RANGE 65536u

static char top[4096];

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static void cleanup(void)
{
	if (top[0] && nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		fprintf(stderr, "handover-bench: remove %s: %s\n", top, strerror(errno));
	top[0] = '\0';
}

static int die(int status, const char *what)
{
	fprintf(stderr, "handover-bench: %s: %s\n", what, strerror(errno));
	cleanup();
	return status;
}

/* DIRS directories of FILES files of 2 bytes, all OWNER:OWNER, under dirfd */
static int make_tree(int dirfd)
{
	char name[32];

	for (int d = 0; d < DIRS; d++) {
		int dfd;

		snprintf(name, sizeof(name), "d%02d", d);
		if (mkdirat(dirfd, name, 0755) < 0 || fchownat(dirfd, name, OWNER, OWNER, AT_SYMLINK_NOFOLLOW) < 0)
			return -1;
		dfd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return -1;
		for (int f = 0; f < FILES; f++) {
			int fd;

			snprintf(name, sizeof(name), "f%02d", f);
			fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0 || write(fd, "x\n", 2) != 2 || fchown(fd, OWNER, OWNER) < 0 || close(fd) < 0) {
				close(dfd);
				return -1;
			}
		}
		close(dfd);
	}
	return fchown(dirfd, OWNER, OWNER);
}

static const char *fs_name(int dirfd)
{
	static char buf[32];
	struct statfs s;

	if (fstatfs(dirfd, &s) < 0)
		return "an unknown filesystem";
	switch ((unsigned long)s.f_type) {
	case EXT4_SUPER_MAGIC:
		return "ext4";
	case XFS_SUPER_MAGIC:
		return "xfs";
	case BTRFS_SUPER_MAGIC:
		return "btrfs";
	case TMPFS_MAGIC:
		return "tmpfs";
	}
	snprintf(buf, sizeof(buf), "filesystem 0x%lx", (unsigned long)s.f_type);
	return buf;
}

static void row(const char *what, double *ms, int n, const char *entries)
{
	qsort(ms, (size_t)n, sizeof(double), cmp_double);
	printf("| %s | %d | %.3f | %.3f | %.3f | %s |\n", what, n,
	       n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2, ms[0], ms[n - 1], entries);
}

static void usage(void)
{
	fputs("usage: handover-bench [-p PARENT] [-i IDMAP_RUNS] [-c CHOWN_RUNS]\n", stderr);
	exit(2);
}

static int count_arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < 1 || v > 10000)
		usage();
	return (int)v;
}

int main(int argc, char **argv)
{
	const char *parent = "/tmp";
	int idmap_runs = 20, chown_runs = 5, opt, dirfd, r = 0;
	double *made, *closed, *to, *back;
	char entries[32];
	struct gr_handover h;
	struct gr_error *err = NULL;
	struct stat st;

	while ((opt = getopt(argc, argv, "p:i:c:")) != -1) {
		if (opt == 'p')
			parent = optarg;
		else if (opt == 'i')
			idmap_runs = count_arg(optarg);
		else if (opt == 'c')
			chown_runs = count_arg(optarg);
		else
			usage();
	}
	if (optind != argc)
		usage();
	made = calloc((size_t)idmap_runs, sizeof(double));
	closed = calloc((size_t)idmap_runs, sizeof(double));
	to = calloc((size_t)chown_runs, sizeof(double));
	back = calloc((size_t)chown_runs, sizeof(double));
	if (!made || !closed || !to || !back)
		return 2;
	if (geteuid() != 0) {
		fputs("handover-bench: must run as root\n", stderr);
		return 2;
	}
	if (gr_handover_plan(OWNER, OWNER, FIRST, RANGE, 0, 0, &h, &err) != 0) {
		fprintf(stderr, "handover-bench: plan: %s\n", err ? err->msg : "nothing to hand over");
		return 2;
	}
	snprintf(top, sizeof(top), "%s/gridrun-handover.XXXXXX", parent);
	if (!mkdtemp(top)) {
		top[0] = '\0';
		return die(2, parent);
	}
	dirfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || make_tree(dirfd) < 0)
		return die(2, "make the sandbox");
	fprintf(stderr, "handover-bench: %d entries in %s (%s); %d idmapped mounts, %d chown walks each way\n",
		ENTRIES, top, fs_name(dirfd), idmap_runs, chown_runs);

	for (int i = 0; i < idmap_runs && r == 0; i++) {
		double t0 = now_ms(), t1;
		int mfd = gr_handover_idmap(dirfd, &h, &err);

		t1 = now_ms();
		if (mfd < 0) {
			r = mfd;
			break;
		}
		/* through the mount, the owner's files are the job's */
		if (i == 0 && (fstatat(mfd, "d00/f00", &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_uid != FIRST ||
			       st.st_gid != FIRST)) {
			close(mfd);
			r = gr_error_set(&err, EIO, "the idmapped mount does not show the files as %u:%u", FIRST,
					 FIRST);
			break;
		}
		close(mfd);
		made[i] = t1 - t0;
		closed[i] = now_ms() - t1;
	}
	for (int i = 0; i < chown_runs; i++) {
		struct gr_handover_count c1 = { 0 }, c2 = { 0 };
		double t0 = now_ms(), t1, t2;

		if (gr_handover_chown(dirfd, &h, false, &c1, &err) < 0) {
			fprintf(stderr, "handover-bench: chown to the range: %s\n", err->msg);
			cleanup();
			return 1;
		}
		t1 = now_ms();
		if (gr_handover_chown(dirfd, &h, true, &c2, &err) < 0) {
			fprintf(stderr, "handover-bench: chown back: %s\n", err->msg);
			cleanup();
			return 1;
		}
		t2 = now_ms();
		if (c1.changed != ENTRIES || c2.changed != ENTRIES) {
			fprintf(stderr, "handover-bench: the walks changed %lu and %lu entries, not %d each\n",
				c1.changed, c2.changed, ENTRIES);
			cleanup();
			return 1;
		}
		to[i] = t1 - t0;
		back[i] = t2 - t1;
	}
	snprintf(entries, sizeof(entries), "%d", ENTRIES);
	printf("| %d files in %d directories, on %s | runs | median ms | min ms | max ms | entries changed |\n",
	       DIRS * FILES, DIRS, fs_name(dirfd));
	printf("|---|--:|--:|--:|--:|--:|\n");
	if (r == 0) {
		row("idmapped mount: made (`gr_handover_idmap`)", made, idmap_runs, "–");
		row("idmapped mount: released (`close`)", closed, idmap_runs, "–");
	} else {
		printf("| idmapped mount | 0/%d | **not possible here** — %s | – | – | – |\n", idmap_runs, err->msg);
		gr_error_free(err);
	}
	row("chown walk to the range (`gr_handover_chown`)", to, chown_runs, entries);
	row("chown walk back", back, chown_runs, entries);
	close(dirfd);
	cleanup();
	return r == 0 ? 0 : 1;
}
