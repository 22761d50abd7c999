/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lease.c - leases of uid ranges: the files, acquire and release; the
 * protocol is described in lease.h, gc and listing are in lease-gc.c, the
 * files' contents in lease-json.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lease-int.h"
#include "util.h"

static bool job_id_ok(const char *id)
{
	size_t n = strlen(id);

	return n >= 1 && n <= GR_JOB_ID_MAX && id[0] != '.' &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* A directory that only its owner (root) may enter, created when asked;
 * -ENOENT without err when it is absent and !create. */
static int open_private_dir(int at, const char *path, bool create, int *out, struct gr_error **err)
{
	struct stat st;
	int fd;

	fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && !create)
		return -ENOENT;
	if (fd < 0 && errno == ENOENT) {
		if (mkdirat(at, path, 0700) < 0 && errno != EEXIST)
			return gr_error_sys(err, errno, "lease: create `%s`", path);
		fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		return gr_error_sys(err, errno, "lease: open `%s`", path);
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return gr_error_set(err, EPERM, "lease: `%s` must be a directory owned by uid %u "
				    "and accessible only by it (mode 0700)", path, (unsigned)geteuid());
	}
	*out = fd;
	return 0;
}

/* LEASE_DIR/POOL as an fd; -ENOENT (without err) when absent and !create. */
int gr_lease_open_pool(const struct gr_pool *pool, bool create, int *out, struct gr_error **err)
{
	_cleanup_close_ int top = -1;
	int r;

	r = open_private_dir(AT_FDCWD, pool->lease_dir, false, &top, err);
	if (r == -ENOENT && create) {
		_cleanup_free_ char *p = strdup(pool->lease_dir);

		if (!p)
			return gr_error_sys(err, ENOMEM, "lease");
		/* parents as a package would make them; the last two are private */
		for (char *s = p + 1; *s; s++)
			if (*s == '/') {
				*s = '\0';
				if (mkdir(p, 0755) < 0 && errno != EEXIST)
					return gr_error_sys(err, errno, "lease: create `%s`", p);
				*s = '/';
			}
		r = open_private_dir(AT_FDCWD, pool->lease_dir, true, &top, err);
	}
	if (r < 0)
		return r;
	r = open_private_dir(top, pool->name, create, out, err);
	return r < 0 && r != -ENOENT ? gr_error_prefix(err, "pool %s", pool->name) : r;
}

/* flock(2) on dfd/name: ".lock" (layout) or ".gclock" (release and gc). */
int gr_lease_lock(int dfd, const char *name, int op, int *lockfd, struct gr_error **err)
{
	if (*lockfd < 0) {
		*lockfd = openat(dfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (*lockfd < 0)
			return gr_error_sys(err, errno, "lease: open lock");
	}
	while (flock(*lockfd, op) < 0)
		if (errno != EINTR)
			return gr_error_sys(err, errno, "lease: lock");
	return 0;
}

/* Create a private temp file in dfd, or take a spare (range index's
 * first, unless NO_INDEX); its name goes to name. Its contents are
 * whatever it held: set_contents() replaces them. */
static int temp_file(int dfd, char *name, size_t size, unsigned index, struct gr_error **err)
{
	unsigned rnd = 0;
	char spare[32];
	int fd = -1;

	(void)!getrandom(&rnd, sizeof(rnd), 0);
	snprintf(name, size, TMP_PREFIX "%d.%08x", (int)getpid(), rnd);
	snprintf(spare, sizeof(spare), SPARE_N, index);
	if (index != NO_INDEX)
		fd = gr_lease_take_spare(dfd, spare, name);
	if (fd < 0)
		fd = gr_lease_take_spare(dfd, SPARE, name);
	if (fd >= 0)
		return fd;
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return gr_error_sys(err, errno, "lease: create temp file");
	return fd;
}

/*
 * Replace the file's contents (it is not linked anywhere yet): written, then
 * cut to its length (what an earlier attempt wrote may have been longer).
 * Never a truncation to 0 first: on ext4 that marks the file for writeback at
 * its close (auto_da_alloc, for programs that rewrite a file in place), so
 * every acquire started a disk write in its own time (~0.1 ms of CPU). A
 * lease's data need not be on disk: a crash leaves a lease of an earlier
 * boot, whole or garbled, and both are reclaimed (lease.h).
 */
static int set_contents(int fd, const char *text)
{
	size_t len = strlen(text);
	ssize_t n = pwrite(fd, text, len, 0);
	struct stat st;

	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	/* a new file or a spare of the same length (the usual lease) is cut
	 * already: an ftruncate(2) costs ext4 more than an fstat(2) */
	if (fstat(fd, &st) == 0 && st.st_size == (off_t)len)
		return 0;
	return ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
}

/* Write text to dfd/name atomically (temp file, rename over); index: the
 * range whose spare to take first (NO_INDEX: none). */
static int put_file(int dfd, const char *name, const char *text, unsigned index, struct gr_error **err)
{
	char tmp[64];
	_cleanup_close_ int fd = temp_file(dfd, tmp, sizeof(tmp), index, err);
	int r;

	if (fd < 0)
		return fd;
	r = set_contents(fd, text);
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		return gr_error_sys(err, -r, "lease: write `%s`", name);
	}
	return 0;
}

int gr_lease_put_entry(int dfd, const char *name, const struct gr_lease *l, unsigned long long released_at,
		       struct gr_error **err)
{
	_cleanup_free_ char *text = gr_lease_json(l, released_at);

	if (!text)
		return gr_error_set(err, EINVAL, "lease: `%s`: cannot encode it (a sandbox path that is not UTF-8?)",
				    name);
	return put_file(dfd, name, text, l->index, err);
}

bool gr_lease_quarantined(int dfd, const struct gr_pool *pool, unsigned index, unsigned long long now,
			  unsigned long long *free_at)
{
	char name[32];
	struct gr_lease l;
	unsigned long long rel = 0;
	struct stat st;
	int r;

	snprintf(name, sizeof(name), "%u.quarantine", index);
	r = gr_lease_read_entry(dfd, name, &l, &rel, &st);
	if (r == -ENOENT)
		return false;
	if (r < 0 && r != -EINVAL)   /* cannot tell: it stays */
		rel = now;
	else if (r < 0 || !rel)      /* garbled: released when it was written */
		rel = (unsigned long long)st.st_mtim.tv_sec * NS + (unsigned long long)st.st_mtim.tv_nsec;
	else if (l.blocked[0] || l.has_sandbox) {   /* no time ends it, only gc */
		if (free_at)
			*free_at = ~0ull;
		return true;
	}
	if (free_at)
		*free_at = rel + pool->quarantine_seconds * NS;
	return rel + pool->quarantine_seconds * NS > now;
}

int gr_lease_entry_index(const char *name, unsigned ranges, const char *suffix, unsigned *index)
{
	char *end;
	unsigned long i;

	if (name[0] < '0' || name[0] > '9')
		return -EINVAL;
	i = strtoul(name, &end, 10);
	if (strcmp(end, suffix) || i >= ranges || (name[0] == '0' && end != name + 1))
		return -EINVAL;
	*index = (unsigned)i;
	return 0;
}

/* Which ranges have a lease or a quarantine; returns the number of entries.
 * Read from the pool's own fd (rewound; nothing else reads it as a
 * directory), not a new one through opendir(3): 4 system calls fewer. */
static int snapshot(int dfd, const struct gr_pool *pool, unsigned char *held, unsigned char *quar)
{
	char buf[8192] __attribute__((aligned(8)));
	unsigned index;
	int n = 0;

	memset(held, 0, pool->ranges);
	memset(quar, 0, pool->ranges);
	if (lseek(dfd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		long got = syscall(SYS_getdents64, dfd, buf, sizeof(buf));

		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		for (long off = 0; off < got;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);

			if (gr_lease_entry_index(de->d_name, pool->ranges, ".lease", &index) == 0)
				held[index] = 1, n++;
			else if (gr_lease_entry_index(de->d_name, pool->ranges, ".quarantine", &index) == 0)
				quar[index] = 1, n++;
			off += de->d_reclen;
		}
	}
	return n;
}

/* Leases and quarantines of any index (also past today's ranges). */
static int count_entries(int dfd)
{
	_cleanup_close_ int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	int n = 0;

	if (!d)
		return -errno;
	fd = -1;
	while ((de = readdir(d))) {
		unsigned index;

		if (gr_lease_entry_index(de->d_name, ~0u, ".lease", &index) == 0 ||
		    gr_lease_entry_index(de->d_name, ~0u, ".quarantine", &index) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* The pool's .layout; false when it is missing. */
static bool read_layout(int dfd, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dfd, ".layout", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n = fd >= 0 ? gr_read_full(fd, buf, size - 1) : -1;

	buf[n > 0 ? n : 0] = '\0';
	return fd >= 0;
}

/* Hold the shared lock with .layout matching the pool (see lease.h). */
static int lock_layout(int dfd, const struct gr_pool *pool, int *lockfd, struct gr_error **err)
{
	char want[96], have[96];
	int r;

	snprintf(want, sizeof(want), "%u %u %u\n", (unsigned)pool->first_uid, pool->ranges, pool->range_size);
	for (int tries = 0; tries < 5; tries++) {
		bool exists;
		int entries;

		r = gr_lease_lock(dfd, ".lock", LOCK_SH, lockfd, err);
		if (r < 0)
			return r;
		if (read_layout(dfd, have, sizeof(have)) && !strcmp(have, want))
			return 0;
		/* first use or a new layout: decided with the pool to ourselves */
		flock(*lockfd, LOCK_UN);
		r = gr_lease_lock(dfd, ".lock", LOCK_EX, lockfd, err);
		if (r < 0)
			return r;
		exists = read_layout(dfd, have, sizeof(have));
		entries = count_entries(dfd);
		if ((!exists || strcmp(have, want)) && entries != 0) {
			unsigned a = 0, b = 0, c = 0;

			flock(*lockfd, LOCK_UN);
			if (!exists)
				return gr_error_set(err, EBUSY, "pool %s: `%s/%s/.layout` is missing, and %d "
						    "lease file(s) are there: refusing to guess which layout "
						    "they were made for", pool->name, pool->lease_dir,
						    pool->name, entries);
			sscanf(have, "%u %u %u", &a, &b, &c);
			return gr_error_set(err, EBUSY, "pool %s: its layout in `%s` (first_uid %u, ranges %u, "
					    "range_size %u) differs from the one its %d lease file(s) were made "
					    "for (first_uid %u, ranges %u, range_size %u); let those jobs end "
					    "and run `gridrun gc` before changing a pool", pool->name,
					    pool->file, (unsigned)pool->first_uid, pool->ranges,
					    pool->range_size, entries, a, b, c);
		}
		if (!exists || strcmp(have, want)) {
			r = put_file(dfd, ".layout", want, NO_INDEX, err);
			if (r < 0)
				return r;
		}
		flock(*lockfd, LOCK_UN);
	}
	return gr_error_set(err, EBUSY, "pool %s: its layout keeps changing", pool->name);
}

void gr_lease_range(const struct gr_lease *lease, struct gr_uid_range *range)
{
	range->first = lease->first;
	range->count = lease->count;
}

struct attempt {
	int dfd, tmpfd;
	const char *tmp;
	unsigned char *held, *quar;
	unsigned leased, quarantined;
	bool raced;                   /* another process changed what we saw */
};

/* With range l->index linked to us (so no release or gc touches it): when a
 * process holds one of its ids, its quarantine (the last tenant's, else one
 * naming us) says so, and true. */
static bool block_if_held(int dfd, const struct gr_lease *l, const char *qname)
{
	struct gr_lease q;
	unsigned long long rel = 0;
	pid_t one = 0;
	char why[GR_LEASE_BLOCKED_MAX] = "";
	int n = gr_lease_holders(l->first, l->count, false, &one);

	/* Not the range's user namespaces (lease-userns.c, ~20-60 ms a scan):
	 * every release and every gc reclaim settled them before N.lease went
	 * (or the quarantine stays blocked), and a namespace nothing held then
	 * is freed for good; nothing can take a new reference to it. */
	if (n == 0)
		return false;
	if (gr_lease_read_entry(dfd, qname, &q, &rel, NULL) < 0) {
		q = *l;
		rel = gr_realtime_ns();
	}
	if (n == -EBUSY && why[0])
		snprintf(q.blocked, sizeof(q.blocked), "%s", why);
	else if (n < 0)
		snprintf(q.blocked, sizeof(q.blocked), "cannot tell whether a process holds its ids: %s",
			 strerror(-n));
	else
		snprintf(q.blocked, sizeof(q.blocked), "%d process(es) hold its ids (pid %d)", n, (int)one);
	gr_lease_put_entry(dfd, qname, &q, rel, NULL);
	return true;
}

/* One pass over the ranges: 1 when range l->index is now ours, 0 when none
 * was free, or a negative errno. */
static int try_ranges(const struct gr_pool *pool, struct attempt *a, struct gr_lease *l,
		      struct gr_error **err)
{
	unsigned long long now = gr_realtime_ns();
	int r = snapshot(a->dfd, pool, a->held, a->quar);

	a->leased = a->quarantined = 0;
	a->raced = false;
	if (r < 0)
		return gr_error_sys(err, -r, "lease: read pool %s", pool->name);
	for (unsigned i = 0; i < pool->ranges; i++) {
		_cleanup_free_ char *text = NULL;
		char name[32], qname[32];

		if (a->held[i]) {
			a->leased++;
			continue;
		}
		if (a->quar[i] && gr_lease_quarantined(a->dfd, pool, i, now, NULL)) {
			a->quarantined++;
			continue;
		}
		l->index = i;
		l->first = pool->first_uid + i * pool->range_size;
		l->leased_at = gr_realtime_ns();
		text = gr_lease_json(l, 0);
		if (!text || set_contents(a->tmpfd, text) < 0)
			return gr_error_sys(err, text ? errno : ENOMEM, "lease: write temp file");
		snprintf(name, sizeof(name), "%u.lease", i);
		if (linkat(a->dfd, a->tmp, a->dfd, name, 0) < 0) {
			if (errno != EEXIST)
				return gr_error_sys(err, errno, "lease: link `%s`", name);
			a->leased++;
			a->raced = true;
			continue;
		}
		/* range i is ours; a job may have come and gone since the snapshot */
		snprintf(qname, sizeof(qname), "%u.quarantine", i);
		if (gr_lease_quarantined(a->dfd, pool, i, gr_realtime_ns(), NULL)) {
			unlinkat(a->dfd, name, 0);
			a->quarantined++;
			a->raced = true;
			continue;
		}
		/* a process of the last tenant still holds an id: the range waits for gc */
		if (block_if_held(a->dfd, l, qname)) {
			unlinkat(a->dfd, name, 0);
			a->quarantined++;
			continue;
		}
		if (a->quar[i] || pool->quarantine_seconds)
			gr_lease_retire(a->dfd, qname, i);
		return 1;
	}
	return 0;
}

int gr_lease_acquire(const struct gr_pool *pool, const char *account, const char *job_id,
		     pid_t holder_pid, struct gr_lease *lease, struct gr_error **err)
{
	return gr_lease_acquire_noted(pool, account, job_id, holder_pid, NULL, lease, err);
}

int gr_lease_acquire_noted(const struct gr_pool *pool, const char *account, const char *job_id,
			   pid_t holder_pid, const char *userns, struct gr_lease *lease, struct gr_error **err)
{
	_cleanup_close_ int dfd = -1, lockfd = -1, tmpfd = -1;
	_cleanup_free_ unsigned char *held = NULL, *quar = NULL;
	struct gr_lease l = { 0 };
	struct attempt a = { 0 };
	bool zombie = false, gc_done = false;
	char tmp[64];
	int r;

	r = gr_pool_check_account(pool, account, err);
	if (r < 0)
		return r;
	if (!job_id_ok(job_id))
		return gr_error_set(err, EINVAL, "lease: `%s` is not a job id", job_id);
	if (gr_lease_proc_stat(holder_pid, &l.holder_start, &zombie) < 0 || zombie)
		return gr_error_set(err, ESRCH, "lease: holder pid %d is not running", (int)holder_pid);
	if (!gr_lease_boot_id()[0])
		return gr_error_set(err, EIO, "lease: cannot read /proc/sys/kernel/random/boot_id");
	snprintf(l.pool, sizeof(l.pool), "%s", pool->name);
	snprintf(l.job_id, sizeof(l.job_id), "%s", job_id);
	snprintf(l.account, sizeof(l.account), "%s", account);
	snprintf(l.boot_id, sizeof(l.boot_id), "%s", gr_lease_boot_id());
	l.holder_pid = holder_pid;
	l.count = pool->range_size;
	if (userns && snprintf(l.userns, sizeof(l.userns), "%s", userns) >= (int)sizeof(l.userns))
		return gr_error_set(err, ENAMETOOLONG, "lease: the user namespace's handle is too long");
	held = malloc(pool->ranges);
	quar = malloc(pool->ranges);
	if (!held || !quar)
		return gr_error_sys(err, ENOMEM, "lease");
	r = gr_lease_open_pool(pool, true, &dfd, err);
	if (r < 0)
		return r;
	r = lock_layout(dfd, pool, &lockfd, err);
	if (r < 0)
		return r;
	tmpfd = temp_file(dfd, tmp, sizeof(tmp), NO_INDEX, err);
	if (tmpfd < 0)
		return tmpfd;
	a = (struct attempt){ .dfd = dfd, .tmpfd = tmpfd, .tmp = tmp, .held = held, .quar = quar };
	for (int pass = 0; pass < 64; pass++) {
		r = try_ranges(pool, &a, &l, err);
		if (r != 0)
			break;
		if (a.raced)   /* others took what we saw free: look again */
			continue;
		if (gc_done)
			break;
		/* full: a dead holder's range or an empty quarantine may be free */
		r = gr_lease_gc(pool, NULL, err);
		if (r < 0)
			break;
		gc_done = true;
	}
	if (r == 1) {
		*lease = l;
		r = 0;
	} else if (r == 0 && a.quarantined) {
		r = gr_error_set(err, EAGAIN, "pool %s exhausted (%u of %u ranges leased, %u in quarantine)",
				 pool->name, a.leased, pool->ranges, a.quarantined);
	} else if (r == 0) {
		r = gr_error_set(err, EAGAIN, "pool %s exhausted (%u of %u ranges leased)",
				 pool->name, a.leased, pool->ranges);
	}
	unlinkat(dfd, tmp, 0);
	return r;
}

int gr_lease_read(const struct gr_pool *pool, unsigned index, struct gr_lease *lease,
		  struct gr_error **err)
{
	_cleanup_close_ int dfd = -1;
	char name[32];
	int r;

	r = gr_lease_open_pool(pool, false, &dfd, err);
	if (r == -ENOENT)
		return gr_error_set(err, ENOENT, "pool %s: range %u is not leased", pool->name, index);
	if (r < 0)
		return r;
	snprintf(name, sizeof(name), "%u.lease", index);
	r = gr_lease_read_entry(dfd, name, lease, NULL, NULL);
	/* another index: a file released meanwhile and taken again (.spare) */
	if (r == -ENOENT || (r == 0 && lease->index != index))
		return gr_error_set(err, ENOENT, "pool %s: range %u is not leased", pool->name, index);
	if (r < 0)
		return gr_error_sys(err, -r, "pool %s: read `%s`", pool->name, name);
	return 0;
}

static bool same_lease(const struct gr_lease *a, const struct gr_lease *b)
{
	return a->index == b->index && a->first == b->first && a->count == b->count &&
	       a->holder_pid == b->holder_pid && a->holder_start == b->holder_start &&
	       a->leased_at == b->leased_at && !strcmp(a->job_id, b->job_id) &&
	       !strcmp(a->boot_id, b->boot_id) && !strcmp(a->pool, b->pool);
}

/* With the pool locked alone: settled, N.quarantine, then no N.lease. */
int gr_lease_quarantine(int dfd, const struct gr_pool *pool, const struct gr_lease *l,
			struct gr_error **err)
{
	struct gr_lease q = *l;
	char name[32], qname[32];
	int r, blocked;

	snprintf(name, sizeof(name), "%u.lease", l->index);
	snprintf(qname, sizeof(qname), "%u.quarantine", l->index);
	blocked = gr_lease_settle(pool, &q, false, 0);
	if (pool->quarantine_seconds || blocked) {
		r = gr_lease_put_entry(dfd, qname, &q, gr_realtime_ns(), err);
		if (r < 0)
			return r;
	}
	/* kept as the spare when there is none, else as the range's (never
	 * over one: a rename over a file makes ext4 write the renamed one back
	 * at once, auto_da_alloc) */
	if (renameat2(dfd, name, dfd, SPARE, RENAME_NOREPLACE) < 0 && gr_lease_retire(dfd, name, l->index) < 0)
		return gr_error_sys(err, errno, "lease: remove `%s`", name);
	if (blocked == 2) {   /* pending: quietly, the next gc settles it */
		if (getenv("GRIDRUN_DEBUG"))
			fprintf(stderr, "gridrun: debug: pool %s: range %u: %s\n", pool->name, l->index, q.blocked);
		return 0;
	}
	if (blocked) {
		gr_error_set(err, EBUSY, "pool %s: range %u stays in quarantine until `gridrun gc` settles "
			     "it: %s", pool->name, l->index, q.blocked);
		return 1;
	}
	return 0;
}

/* N.lease, which must be exactly lease, locked for release (or a note). */
static int open_own_lease(const struct gr_pool *pool, const struct gr_lease *lease, const char *what,
			  int *dfd, int *lockfd, struct gr_lease *now, struct gr_error **err)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1 };
	char name[32];
	int r;

	r = gr_lease_open_pool(pool, false, dfd, err);
	if (r == -ENOENT)
		return gr_error_set(err, ENOENT, "pool %s: lease of range %u is gone", pool->name, lease->index);
	if (r < 0)
		return r;
	r = gr_lease_lock(*dfd, ".gclock", LOCK_SH, lockfd, err);
	if (r < 0)
		return r;
	/* notes and the release of a range read, change and write its N.lease: one
	 * at a time (a note must neither lose another's field nor bring a released
	 * lease back); an OFD lock on byte N of .gclock, apart from its flock */
	fl.l_start = lease->index;
	while (fcntl(*lockfd, F_OFD_SETLKW, &fl) < 0)
		if (errno != EINTR)
			return gr_error_sys(err, errno, "lease: lock range %u of pool %s", lease->index, pool->name);
	snprintf(name, sizeof(name), "%u.lease", lease->index);
	r = gr_lease_read_entry(*dfd, name, now, NULL, NULL);
	if (r < 0)
		return gr_error_sys(err, -r, "pool %s: %s range %u: read `%s`", pool->name, what,
				    lease->index, name);
	if (!same_lease(now, lease))
		return gr_error_set(err, EPERM, "pool %s: range %u is no longer job %s's lease "
				    "(it is job %s's), not %s it", pool->name, lease->index,
				    lease->job_id, now->job_id, what);
	return 0;
}

int gr_lease_release(const struct gr_pool *pool, const struct gr_lease *lease, struct gr_error **err)
{
	_cleanup_close_ int dfd = -1, lockfd = -1;
	struct gr_lease now;
	int r;

	r = open_own_lease(pool, lease, "releasing", &dfd, &lockfd, &now, err);
	if (r < 0)
		return r;
	/* what is on disk, with the sandbox a walk back is owed for; and what
	 * only the live supervisor knows (lease.h: never in a file, so a gc
	 * after its crash judges the namespace in full) */
	now.userns_root = lease->userns_root;
	now.confined = lease->confined;
	return gr_lease_quarantine(dfd, pool, &now, err);
}

int gr_lease_hold(const struct gr_pool *pool, const struct gr_lease *lease, int *lockfd, struct gr_error **err)
{
	_cleanup_close_ int dfd = -1;
	struct gr_lease now;
	int r;

	*lockfd = -1;
	r = open_own_lease(pool, lease, "holding", &dfd, lockfd, &now, err);
	if (r < 0) {
		gr_closep(lockfd);   /* leaves the number */
		*lockfd = -1;
	}
	return r;
}

int gr_lease_note_sandbox(const struct gr_pool *pool, const struct gr_lease *lease,
			  const struct gr_lease_sandbox *sbx, struct gr_error **err)
{
	_cleanup_close_ int dfd = -1, lockfd = -1;
	struct gr_lease now;
	char name[32];
	int r;

	r = open_own_lease(pool, lease, "noting the sandbox of", &dfd, &lockfd, &now, err);
	if (r < 0)
		return r;
	now.has_sandbox = sbx != NULL;
	if (sbx)
		now.sandbox = *sbx;
	snprintf(name, sizeof(name), "%u.lease", lease->index);
	return gr_lease_put_entry(dfd, name, &now, 0, err);
}

int gr_lease_note_userns(const struct gr_pool *pool, const struct gr_lease *lease, const char *handle,
			 bool replace, struct gr_error **err)
{
	_cleanup_close_ int dfd = -1, lockfd = -1;
	struct gr_lease now;
	char name[32];
	int r;

	r = open_own_lease(pool, lease, "noting the user namespace of", &dfd, &lockfd, &now, err);
	if (r < 0)
		return r;
	if (now.userns[0] && !replace)
		return gr_error_set(err, EEXIST, "pool %s: range %u is mapped already (a lease maps one user "
				    "namespace)", pool->name, lease->index);
	snprintf(now.userns, sizeof(now.userns), "%s", handle);
	snprintf(name, sizeof(name), "%u.lease", lease->index);
	return gr_lease_put_entry(dfd, name, &now, 0, err);
}
