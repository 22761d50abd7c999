/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config-ids.c - no pool may hold an id that NSS, /etc/subuid, /etc/subgid
 * or the kernel's overflow ids name (config.h), and the stamp that spares a
 * job start the enumeration of passwd and group.
 *
 * Enumerating passwd and group through NSS loads every module nsswitch.conf
 * names (libnss_systemd: +0.8 MiB held by a supervisor for its job's life),
 * costs ~3.5 ms here and grows with the directories. It is the same answer
 * every time until one of its inputs changes, so after a full check that
 * passed, root (or whoever owns the lease directory) writes LEASE_DIR/
 * .ids-checked: the inputs' (dev, ino, size, mtime, ctime) - /etc/passwd,
 * /etc/group, /etc/subuid, /etc/subgid, /etc/nsswitch.conf - and the
 * pools' layout (name, first uid, ranges, range size), which is all of the
 * configuration the check reads. Not the configuration file's identity:
 * two files with the same pools and lease directory (a site's default and
 * a --config copy; the bench's rows) share one stamp instead of each
 * rewriting it for the other and enumerating at every start. A later check
 * whose key is the same and whose stamp is younger than
 * GR_CONFIG_IDS_STAMP_MAX_AGE does no NSS call at all, neither the
 * enumeration nor the getpwuid()/getgrgid() of the pools' end points (those
 * load the same modules, ~3 ms). What the files do not show - an account of
 * a directory that does not enumerate (sssd, LDAP, systemd's userdb) - is
 * seen by the next full check, at most that age later; config.h already
 * tells sites to keep pools far from any directory's allocation.
 *
 * The stamp is trusted only in a directory owned by the effective uid and
 * closed to others (lease.c's own rule for the lease directory), reached
 * without a symlink (openat2 RESOLVE_NO_SYMLINKS), as a
 * regular file of that uid, mode 0600, one link: whoever could write it
 * could switch the check off. It is written through the directory's fd (a
 * private temporary file renamed over it); it is never created where a job
 * or a pilot can write, and only in a lease directory that exists (the
 * first lease creates it). Inputs are stat()ed before they are read, so a
 * change during a check keys the stamp with the old state: the next check
 * is full again. The kernel's overflow ids are read every time (sysctl can
 * change them; two small reads), when a pool could hold one (none that
 * config.c loads can: they start at 65536, past the sysctl's 65535).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config-int.h"
#include "util.h"

#define STAMP ".ids-checked"
#define STAMP_MAX 8192

static unsigned enumerations;

unsigned gr_config_ids_enumerations(void)
{
	return enumerations;
}

static unsigned long long pool_end(const struct gr_pool *pool)
{
	return (unsigned long long)pool->first_uid + (unsigned long long)pool->ranges * pool->range_size;
}

__attribute__((format(printf, 3, 4)))
static int pool_fail(const struct gr_pool *pool, struct gr_error **err, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	return gr_error_set(err, EINVAL, "%s:%u: pool %s: %s", pool->file, pool->line, pool->name, msg);
}

static const struct gr_pool *pool_holding(const struct gr_config *cfg, unsigned long long id)
{
	for (size_t i = 0; i < cfg->npools; i++)
		if (id >= cfg->pools[i].first_uid && id < pool_end(&cfg->pools[i]))
			return &cfg->pools[i];
	return NULL;
}

#define EXTENT(pool) (pool)->first_uid, pool_end(pool) - 1

int gr_config_check_overlaps(const struct gr_config *cfg, struct gr_error **err)
{
	for (size_t i = 1; i < cfg->npools; i++)
		for (size_t j = 0; j < i; j++) {
			const struct gr_pool *a = &cfg->pools[i], *b = &cfg->pools[j];

			if (a->first_uid < pool_end(b) && b->first_uid < pool_end(a))
				return pool_fail(a, err, "uids %u-%llu overlap pool %s (uids %u-%llu, line %u)",
						 EXTENT(a), b->name, EXTENT(b), b->line);
		}
	return 0;
}

static int check_passwd(const struct gr_config *cfg, const struct passwd *pw, struct gr_error **err)
{
	const struct gr_pool *pool;

	if ((pool = pool_holding(cfg, pw->pw_uid)))
		return pool_fail(pool, err, "uids %u-%llu include uid %u of account `%s`",
				 EXTENT(pool), (unsigned)pw->pw_uid, pw->pw_name);
	if ((pool = pool_holding(cfg, pw->pw_gid)))
		return pool_fail(pool, err, "gids %u-%llu include gid %u, the primary group of account `%s`",
				 EXTENT(pool), (unsigned)pw->pw_gid, pw->pw_name);
	return 0;
}

static int check_group(const struct gr_config *cfg, const struct group *g, struct gr_error **err)
{
	const struct gr_pool *pool = pool_holding(cfg, g->gr_gid);

	if (pool)
		return pool_fail(pool, err, "gids %u-%llu include gid %u of group `%s`",
				 EXTENT(pool), (unsigned)g->gr_gid, g->gr_name);
	return 0;
}

/* /etc/subuid, /etc/subgid: "name:start:count" lines. */
static int check_subids(const struct gr_config *cfg, const char *path, struct gr_error **err)
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL, *line;

	if (gr_read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[256];
		unsigned long long start, count;

		if (sscanf(line, "%255[^:]:%llu:%llu", name, &start, &count) != 3 || !count)
			continue;
		for (size_t i = 0; i < cfg->npools; i++) {
			const struct gr_pool *pool = &cfg->pools[i];

			if (start < pool_end(pool) && pool->first_uid < start + count)
				return pool_fail(pool, err, "ids %u-%llu overlap %s range %llu-%llu of `%s`",
						 EXTENT(pool), path, start, start + count - 1, name);
		}
	}
	return 0;
}

/* The kernel keeps its overflow ids at or below 65535 (sysctl refuses more),
 * where no pool of a loaded configuration starts (GR_POOL_MIN_FIRST_UID):
 * the files are read only for a pool that could hold one. */
#define OVERFLOW_ID_MAX 65535u

static int check_overflow(const struct gr_config *cfg, struct gr_error **err)
{
	static const char *const overflow[] = { "/proc/sys/kernel/overflowuid", "/proc/sys/kernel/overflowgid" };
	bool any = false;

	for (size_t i = 0; i < cfg->npools; i++)
		any |= cfg->pools[i].first_uid <= OVERFLOW_ID_MAX;
	for (size_t i = 0; any && i < ARRAY_SIZE(overflow); i++) {
		_cleanup_free_ char *v = NULL;
		const struct gr_pool *pool;

		if (gr_read_file_at(AT_FDCWD, overflow[i], &v, NULL, NULL) < 0)
			continue;
		pool = pool_holding(cfg, strtoull(v, NULL, 10));
		if (pool)
			return pool_fail(pool, err, "ids %u-%llu include the kernel's overflow id %llu (%s)",
					 EXTENT(pool), strtoull(v, NULL, 10), overflow[i]);
	}
	return 0;
}

/* What NSS and the subid files say: the work the stamp spares. */
static int check_directories(const struct gr_config *cfg, struct gr_error **err)
{
	const struct passwd *pw;
	const struct group *g;
	int r = 0;

	enumerations++;
	setpwent();
	while (r == 0 && (pw = getpwent()))
		r = check_passwd(cfg, pw, err);
	endpwent();
	setgrent();
	while (r == 0 && (g = getgrent()))
		r = check_group(cfg, g, err);
	endgrent();
	/* directories that do not enumerate (sssd's default) still answer lookups */
	for (size_t i = 0; r == 0 && i < cfg->npools; i++) {
		uid_t ends[2] = { cfg->pools[i].first_uid, (uid_t)(pool_end(&cfg->pools[i]) - 1) };

		for (size_t j = 0; r == 0 && j < 2; j++) {
			if ((pw = getpwuid(ends[j])))
				r = check_passwd(cfg, pw, err);
			if (r == 0 && (g = getgrgid(ends[j])))
				r = check_group(cfg, g, err);
		}
	}
	if (r == 0)
		r = check_subids(cfg, "/etc/subuid", err);
	if (r == 0)
		r = check_subids(cfg, "/etc/subgid", err);
	return r;
}

static void key_stat(FILE *f, const char *name, const struct stat *st)
{
	fprintf(f, "%s %llu %llu %lld %lld.%09ld %lld.%09ld\n", name, (unsigned long long)st->st_dev,
		(unsigned long long)st->st_ino, (long long)st->st_size, (long long)st->st_mtim.tv_sec,
		st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

/* The stamp's contents for cfg and the inputs as they are now; NULL when
 * an input cannot be told (then there is no stamp: the check is full). */
static char *stamp_key(const struct gr_config *cfg)
{
	static const char *const inputs[] = { "/etc/passwd", "/etc/group", "/etc/subuid", "/etc/subgid",
					      "/etc/nsswitch.conf" };
	char *key = NULL;
	size_t size = 0;
	bool ok = cfg->file != NULL && cfg->file_stat.st_ino != 0;
	FILE *f;

	if (!ok)
		return NULL;
	f = open_memstream(&key, &size);
	if (!f)
		return NULL;
	fprintf(f, "gridrun ids stamp 2\n");
	for (size_t i = 0; ok && i < ARRAY_SIZE(inputs); i++) {
		struct stat st;

		if (stat(inputs[i], &st) == 0)
			key_stat(f, inputs[i], &st);
		else if (errno == ENOENT)
			fprintf(f, "%s -\n", inputs[i]);
		else
			ok = false;
	}
	for (size_t i = 0; i < cfg->npools; i++)
		fprintf(f, "pool %s %u %u %u\n", cfg->pools[i].name, (unsigned)cfg->pools[i].first_uid,
			cfg->pools[i].ranges, cfg->pools[i].range_size);
	if (fclose(f) != 0 || !ok || size >= STAMP_MAX) {
		free(key);
		return NULL;
	}
	return key;
}

/* The lease directory, when it exists and only its owner, we, may use it;
 * no symlink anywhere on its path (a path with one just has no stamp). */
static int open_stamp_dir(const struct gr_config *cfg)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	struct stat st;
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, cfg->lease_dir, &how, sizeof(how));

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

static bool stamp_matches(int dfd, const char *key)
{
	_cleanup_close_ int fd = openat(dfd, STAMP, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	char buf[STAMP_MAX + 1];
	unsigned long long now = gr_realtime_ns(), at;
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 07777) != 0600 || st.st_nlink != 1)
		return false;
	at = (unsigned long long)st.st_mtim.tv_sec * 1000000000ull + (unsigned long long)st.st_mtim.tv_nsec;
	if (at > now || now - at >= GR_CONFIG_IDS_STAMP_MAX_AGE * 1000000000ull)
		return false;
	n = gr_read_full(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return !strcmp(buf, key);
}

/* Best effort: without a stamp the next check is full, nothing worse. */
static void stamp_write(int dfd, const char *key)
{
	char tmp[64];
	unsigned rnd = 0;
	_cleanup_close_ int fd = -1;

	(void)!getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
	snprintf(tmp, sizeof(tmp), STAMP ".tmp.%d.%08x", (int)getpid(), rnd);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (fchmod(fd, 0600) < 0 || gr_write_all(fd, key, strlen(key)) != (ssize_t)strlen(key) ||
	    renameat(dfd, tmp, dfd, STAMP) < 0)
		unlinkat(dfd, tmp, 0);
}

int gr_config_ids_check(const struct gr_config *cfg, bool full, struct gr_error **err)
{
	_cleanup_free_ char *key = NULL;
	_cleanup_close_ int dfd = -1;
	int r;

	if (!cfg->npools)
		return 0;
	r = check_overflow(cfg, err);
	if (r < 0)
		return r;
	key = stamp_key(cfg);
	if (key)
		dfd = open_stamp_dir(cfg);
	if (dfd >= 0 && !full && stamp_matches(dfd, key))
		return 0;
	r = check_directories(cfg, err);
	if (r == 0 && dfd >= 0)
		stamp_write(dfd, key);
	return r;
}
