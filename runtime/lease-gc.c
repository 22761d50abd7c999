/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lease-gc.c - gc, listing and the `gridrun ps` table of leases, and
 * whether a lease's holder still runs; the protocol is described in lease.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lease-int.h"
#include "util.h"

const char *gr_lease_boot_id(void)
{
	static char id[40];

	if (!id[0]) {
		_cleanup_close_ int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? gr_read_full(fd, id, sizeof(id) - 1) : -1;

		id[n > 0 ? n : 0] = '\0';
		id[strcspn(id, "\n")] = '\0';
	}
	return id;
}

/* The start time of pid (field 22) and whether it is a zombie; -ESRCH when
 * it is gone, another -errno when /proc could not tell. */
int gr_lease_proc_stat(pid_t pid, unsigned long long *start, bool *zombie)
{
	char path[64], buf[1024], state;
	_cleanup_close_ int fd = -1;
	ssize_t n;
	char *p;

	if (pid == getpid()) {   /* we run; our start time as the supervisor read it */
		*start = gr_proc_starttime(pid);
		*zombie = false;
		if (*start)
			return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = gr_read_full(fd, buf, sizeof(buf) - 1);
	if (n == 0 || n == -ESRCH)
		return -ESRCH;
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	/* comm may hold spaces and ')': the fields go on after the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
			 &state, start) != 2)
		return -EIO;
	*zombie = state == 'Z' || state == 'X';
	return 0;
}

/* The holder of l still runs (when /proc cannot tell, it is taken as alive). */
bool gr_lease_holder_alive(const struct gr_lease *l)
{
	unsigned long long start = 0;
	bool zombie = false;
	int r;

	if (strcmp(l->boot_id, gr_lease_boot_id()))
		return false;
	r = gr_lease_proc_stat(l->holder_pid, &start, &zombie);
	if (r == -ESRCH)
		return false;
	return r < 0 || (!zombie && start == l->holder_start);
}

/* Ids of every task on the node that fall in [lo, hi). */
struct idset {
	unsigned long long *v;
	size_t n, cap;
};

static void scan_task(int taskfd, unsigned long long lo, unsigned long long hi, struct idset *set)
{
	char buf[4096], *line;
	_cleanup_close_ int fd = openat(taskfd, "status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? gr_read_full(fd, buf, sizeof(buf) - 1) : -1;

	if (n <= 0)
		return;
	buf[n] = '\0';
	/* a zombie holds nothing and can do nothing: its ids do not count */
	line = strstr(buf, "\nState:\t");
	if (line && (line[8] == 'Z' || line[8] == 'X'))
		return;
	for (line = buf; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		unsigned long long ids[4];

		if ((strncmp(line, "Uid:", 4) && strncmp(line, "Gid:", 4)) ||
		    sscanf(line + 4, "%llu %llu %llu %llu", &ids[0], &ids[1], &ids[2], &ids[3]) != 4)
			continue;
		for (int i = 0; i < 4; i++) {
			if (ids[i] < lo || ids[i] >= hi)
				continue;
			if (set->n == set->cap) {
				unsigned long long *v = realloc(set->v, (set->cap * 2 + 16) * sizeof(*v));

				if (!v)
					return;
				set->v = v;
				set->cap = set->cap * 2 + 16;
			}
			set->v[set->n++] = ids[i];
		}
	}
}

static int scan_ids(unsigned long long lo, unsigned long long hi, struct idset *set)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;

	if (!proc)
		return -errno;
	while ((de = readdir(proc))) {
		_cleanup_close_ int tfd = -1;
		struct dirent *te;
		char path[300];
		DIR *tasks;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/task", de->d_name);
		tfd = openat(dirfd(proc), path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		tasks = tfd >= 0 ? fdopendir(tfd) : NULL;
		if (!tasks)
			continue;
		tfd = -1;
		while ((te = readdir(tasks))) {
			_cleanup_close_ int fd = -1;

			if (te->d_name[0] < '1' || te->d_name[0] > '9')
				continue;
			fd = openat(dirfd(tasks), te->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0)
				scan_task(fd, lo, hi, set);
		}
		closedir(tasks);
	}
	closedir(proc);
	return 0;
}

static bool any_in(const struct idset *set, unsigned long long lo, unsigned long long hi)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i] >= lo && set->v[i] < hi)
			return true;
	return false;
}

/* Temp files of writers that are gone. */
static bool debris(const char *name)
{
	unsigned long long start;
	bool zombie;
	long pid;

	if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)))
		return false;
	pid = strtol(name + strlen(TMP_PREFIX), NULL, 10);
	return pid <= 0 || gr_lease_proc_stat((pid_t)pid, &start, &zombie) == -ESRCH;
}

int gr_lease_take_spare(int dfd, const char *spare, const char *name)
{
	struct stat st;
	int fd;

	if (renameat(dfd, spare, dfd, name) < 0)
		return -1;
	fd = openat(dfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    (st.st_mode & 07777) == 0600 && st.st_nlink == 1)
		return fd;
	if (fd >= 0)
		close(fd);
	unlinkat(dfd, name, 0);
	return -1;
}

int gr_lease_retire(int dfd, const char *name, unsigned index)
{
	char spare[32];

	snprintf(spare, sizeof(spare), SPARE_N, index);
	if (renameat2(dfd, name, dfd, spare, RENAME_NOREPLACE) == 0)
		return 0;
	return unlinkat(dfd, name, 0);
}

/* Pass 1 of gc: dead holders' leases into quarantine, debris away. */
static int gc_dead(int dfd, const struct gr_pool *pool, struct gr_lease_gc_stats *st,
		   struct gr_error **err)
{
	_cleanup_close_ int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int r = 0;

	if (!d)
		return gr_error_sys(err, errno, "lease: read pool %s", pool->name);
	fd = -1;
	while (r == 0 && (de = readdir(d))) {
		struct gr_lease l;
		struct stat sb;
		unsigned index;
		int e;

		if (debris(de->d_name)) {
			if (unlinkat(dirfd(d), de->d_name, 0) == 0)
				st->debris++;
			continue;
		}
		if (gr_lease_entry_index(de->d_name, ~0u, ".lease", &index) < 0)
			continue;
		e = gr_lease_read_entry(dirfd(d), de->d_name, &l, NULL, &sb);
		if (e == -EINVAL) {
			/* garbled (a crash of the node while it was written): only a
			 * lease from before this boot can be judged, by its time */
			struct timespec boot;

			if (clock_gettime(CLOCK_BOOTTIME, &boot) < 0 ||
			    sb.st_mtim.tv_sec >= time(NULL) - boot.tv_sec)
				continue;
			memset(&l, 0, sizeof(l));
			l.index = index;
		} else if (e < 0 || gr_lease_holder_alive(&l) || l.index != index) {
			continue;
		}
		r = gr_lease_quarantine(dirfd(d), pool, &l, err);
		if (r == 0)
			st->reclaimed++;
	}
	closedir(d);
	return r;
}

/* A blocked quarantine (lease.h) settled again: 1 while it stays blocked;
 * 2 settled, and its quarantine_seconds are over: the caller retires the
 * file as it is (no rewrite, which took a spare or made a file, and freed
 * the old one, for each range a full pool's gc settled; issue 13).
 * clear: what gc's pool-wide scans saw of the range (gr_lease_settle()). */
static int retry_blocked(int dfd, const struct gr_pool *pool, const char *name, unsigned clear,
			 unsigned long long now)
{
	unsigned long long rel = 0;
	struct gr_lease q;
	int blocked;

	if (gr_lease_read_entry(dfd, name, &q, &rel, NULL) < 0 || (!q.blocked[0] && !q.has_sandbox))
		return 0;
	blocked = gr_lease_settle(pool, &q, true, clear);
	if (blocked == 0 && rel && rel + pool->quarantine_seconds * NS <= now)
		return 2;
	/* settled: an ordinary quarantine from its release on */
	gr_lease_put_entry(dfd, name, &q, rel, NULL);
	return blocked;
}

/*
 * Which blocked quarantines' noted namespaces are gone now (gone[index]),
 * and then whether one leftover scan of the whole pool finds nothing: 1
 * when it does not, so that those ranges need no leftover scan of their
 * own (issue 13: helper mode leaves nearly every range "pending", and gc
 * settled each with its own scan of /tmp and the rest: 64 scans a gc). A
 * range whose namespace ends only after this scan, or whose ids gc's scan
 * saw, is scanned on its own as before: a task may have had its ids after
 * this scan began.
 */
static bool pool_leftovers_clear(int dfd, const struct gr_pool *pool, unsigned char *gone)
{
	_cleanup_close_ int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char why[GR_LEASE_BLOCKED_MAX];
	struct dirent *de;
	bool any = false;

	if (!d)
		return false;
	fd = -1;
	while ((de = readdir(d))) {
		struct gr_lease q;
		unsigned index;

		if (gr_lease_entry_index(de->d_name, pool->ranges, ".quarantine", &index) < 0 ||
		    gr_lease_read_entry(dirfd(d), de->d_name, &q, NULL, NULL) < 0 || !q.blocked[0] ||
		    !q.userns[0] || q.userns_root || q.has_sandbox)
			continue;
		gone[index] = gr_lease_userns_alive(q.userns, false, why, sizeof(why)) == 0;
		any = any || gone[index];
	}
	closedir(d);
	return any && gr_lease_leftovers(pool->first_uid, (unsigned long)pool->ranges * pool->range_size,
					 pool->leftover_dirs, why, sizeof(why)) == 0;
}

/* Pass 2 of gc: quarantines that expired, or whose range no task uses. */
static int gc_quarantine(int dfd, const struct gr_pool *pool, const struct idset *ids,
			 unsigned long long scan_start, struct gr_lease_gc_stats *st)
{
	_cleanup_close_ int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_free_ unsigned char *gone = calloc(pool->ranges, 1);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	unsigned long long now = gr_realtime_ns();
	bool left_clear = ids && gone && pool_leftovers_clear(dfd, pool, gone);
	struct dirent *de;

	if (!d)
		return -errno;
	fd = -1;
	while ((de = readdir(d))) {
		unsigned long long free_at = 0, first;
		char name[32];
		unsigned index, clear;
		int blocked;

		if (gr_lease_entry_index(de->d_name, pool->ranges, ".quarantine", &index) < 0)
			continue;
		snprintf(name, sizeof(name), "%u.lease", index);
		if (faccessat(dirfd(d), name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		first = (unsigned long long)pool->first_uid + (unsigned long long)index * pool->range_size;
		clear = ids && !any_in(ids, first, first + pool->range_size) ? GR_SETTLE_IDS : 0;
		if (clear && left_clear && gone[index])
			clear |= GR_SETTLE_LEFTOVERS;
		blocked = retry_blocked(dirfd(d), pool, de->d_name, clear, now);
		if (blocked == 1)
			continue;
		if (blocked == 0 && gr_lease_quarantined(dirfd(d), pool, index, now, &free_at) &&
		    (!ids || free_at - pool->quarantine_seconds * NS >= scan_start ||
		     any_in(ids, first, first + pool->range_size)))
			continue;
		if (gr_lease_retire(dirfd(d), de->d_name, index) == 0)
			st->freed++;
	}
	closedir(d);
	return 0;
}

int gr_lease_gc(const struct gr_pool *pool, struct gr_lease_gc_stats *stats, struct gr_error **err)
{
	_cleanup_close_ int dfd = -1, lockfd = -1;
	struct gr_lease_gc_stats st = { 0 };
	struct idset ids = { 0 };
	unsigned long long scan_start;
	bool scanned;
	int r;

	r = gr_lease_open_pool(pool, false, &dfd, err);
	if (r == -ENOENT)
		goto done;
	if (r < 0)
		return r;
	r = gr_lease_lock(dfd, ".gclock", LOCK_EX, &lockfd, err);
	if (r < 0)
		return r;
	r = gc_dead(dfd, pool, &st, err);
	flock(lockfd, LOCK_UN);
	if (r < 0)
		return r;
	/* the scan is slow on a busy node: acquirers go on meanwhile */
	scan_start = gr_realtime_ns();
	scanned = scan_ids(pool->first_uid, (unsigned long long)pool->first_uid +
			   (unsigned long long)pool->ranges * pool->range_size, &ids) == 0;
	if ((r = gr_lease_lock(dfd, ".gclock", LOCK_EX, &lockfd, err)) < 0) {
		free(ids.v);
		return r;
	}
	gc_quarantine(dfd, pool, scanned ? &ids : NULL, scan_start, &st);
	free(ids.v);
done:
	if (stats) {
		stats->reclaimed += st.reclaimed;
		stats->freed += st.freed;
		stats->debris += st.debris;
	}
	return 0;
}

static int cmp_info(const void *a, const void *b)
{
	const struct gr_lease_info *x = a, *y = b;

	return x->lease.index < y->lease.index ? -1 : x->lease.index > y->lease.index;
}

int gr_lease_list(const struct gr_pool *pool,
		  void (*cb)(void *data, const struct gr_lease_info *info), void *data,
		  struct gr_error **err)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ struct gr_lease_info *infos = NULL;
	unsigned long long now = gr_realtime_ns();
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r;

	r = gr_lease_open_pool(pool, false, &dfd, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	d = fdopendir(TAKE_FD(dfd));
	if (!d)
		return gr_error_sys(err, errno, "lease: read pool %s", pool->name);
	while ((de = readdir(d))) {
		struct gr_lease_info info = { 0 };
		unsigned index;
		bool is_lease = gr_lease_entry_index(de->d_name, ~0u, ".lease", &index) == 0;

		if (!is_lease && gr_lease_entry_index(de->d_name, ~0u, ".quarantine", &index) < 0)
			continue;
		if (gr_lease_read_entry(dirfd(d), de->d_name, &info.lease, &info.released_at, NULL) < 0)
			memset(&info.lease, 0, sizeof(info.lease));
		info.lease.index = index;
		if (is_lease) {
			info.state = gr_lease_holder_alive(&info.lease) ? GR_LEASE_HELD : GR_LEASE_DEAD;
		} else {
			info.state = GR_LEASE_QUARANTINE;
			gr_lease_quarantined(dirfd(d), pool, index, now, &info.free_at);
		}
		if (n == cap) {
			struct gr_lease_info *v = realloc(infos, (cap * 2 + 16) * sizeof(*v));

			if (!v) {
				closedir(d);
				return gr_error_sys(err, ENOMEM, "lease");
			}
			infos = v;
			cap = cap * 2 + 16;
		}
		infos[n++] = info;
	}
	closedir(d);
	qsort(infos, n, sizeof(*infos), cmp_info);
	for (size_t i = 0; i < n; i++)
		cb(data, &infos[i]);
	return 0;
}

int gr_lease_gc_all(const struct gr_config *cfg, struct gr_lease_gc_stats *stats, struct gr_error **err)
{
	for (size_t i = 0; i < cfg->npools; i++) {
		int r = gr_lease_gc(&cfg->pools[i], stats, err);

		if (r < 0)
			return r;
	}
	return 0;
}

struct report {
	FILE *out;
	const struct gr_pool *pool;
};

static void report_line(void *data, const struct gr_lease_info *info)
{
	static const char *const states[] = { "leased", "dead", "quarantine" };
	const struct report *rep = data;
	unsigned long long first = (unsigned long long)rep->pool->first_uid +
				   (unsigned long long)info->lease.index * rep->pool->range_size;
	char when[GR_LEASE_BLOCKED_MAX + 16] = "-", holder[32] = "-";
	const char *state = states[info->state];

	if (info->state == GR_LEASE_QUARANTINE && info->lease.blocked[0]) {
		state = "blocked";
		snprintf(when, sizeof(when), "never: %s", info->lease.blocked);
	} else if (info->state == GR_LEASE_QUARANTINE && info->lease.has_sandbox) {
		state = "blocked";
		snprintf(when, sizeof(when), "never: its sandbox is not walked back yet");
	} else if (info->state == GR_LEASE_QUARANTINE)
		gr_format_utc_ms(info->free_at, when, sizeof(when));
	else if (info->lease.holder_pid)
		snprintf(holder, sizeof(holder), "%d", (int)info->lease.holder_pid);
	fprintf(rep->out, "%-16s %10llu-%-10llu %-10s %-24s %-8s %s\n", rep->pool->name, first,
		first + rep->pool->range_size - 1, state,
		info->lease.job_id[0] ? info->lease.job_id : "?", holder, when);
}

int gr_lease_report(FILE *out, const struct gr_config *cfg, struct gr_error **err)
{
	if (!cfg->npools)
		return 0;
	fprintf(out, "\n%-16s %-21s %-10s %-24s %-8s %s\n", "POOL", "RANGE", "LEASE", "JOB", "HOLDER",
		"FREE AT");
	for (size_t i = 0; i < cfg->npools; i++) {
		struct report rep = { out, &cfg->pools[i] };
		int r = gr_lease_list(&cfg->pools[i], report_line, &rep, err);

		if (r < 0)
			return r;
	}
	return 0;
}
