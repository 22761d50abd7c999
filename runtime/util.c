/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

ssize_t gr_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += n;
	}
	return done;
}

ssize_t gr_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += n;
	}
	return done;
}

int gr_read_file_at(int dirfd, const char *path, char **out, size_t *len, struct gr_error **err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t cap = 4096, used = 0;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return gr_error_sys(err, errno, "open `%s`", path);
	buf = malloc(cap);
	if (!buf)
		return gr_error_sys(err, ENOMEM, "read `%s`", path);
	for (;;) {
		ssize_t n;

		if (used + 1 >= cap) {
			char *nb;

			if (cap >= (64u << 20))
				return gr_error_set(err, EFBIG, "read `%s`: file too large", path);
			nb = realloc(buf, cap * 2);
			if (!nb)
				return gr_error_sys(err, ENOMEM, "read `%s`", path);
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return gr_error_sys(err, errno, "read `%s`", path);
		}
		if (n == 0)
			break;
		used += n;
	}
	buf[used] = '\0';
	if (len)
		*len = used;
	*out = TAKE_PTR(buf);
	return 0;
}

int gr_write_file_at(int dirfd, const char *path, const char *s, struct gr_error **err)
{
	_cleanup_close_ int fd = -1;
	ssize_t n;

	fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return gr_error_sys(err, errno, "open `%s`", path);
	/* one write(): files like uid_map accept a single write only */
	n = write(fd, s, strlen(s));
	if (n < 0)
		return gr_error_sys(err, errno, "write `%s`", path);
	if ((size_t)n != strlen(s))
		return gr_error_set(err, EIO, "write `%s`: short write", path);
	return 0;
}

static int write_replace(const char *path, const char *contents, mode_t mode, bool durable,
			 struct gr_error **err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	ssize_t r;

	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return gr_error_sys(err, ENOMEM, "write `%s`", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return gr_error_sys(err, errno, "create `%s`", tmp);
	r = gr_write_all(fd, contents, strlen(contents));
	if (r < 0 || (durable && fsync(fd) < 0)) {
		int e = r < 0 ? (int)-r : errno;

		unlink(tmp);
		return gr_error_sys(err, e, "write `%s`", tmp);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		return gr_error_sys(err, e, "rename `%s` to `%s`", tmp, path);
	}
	return 0;
}

int gr_write_file_atomic(const char *path, const char *contents, mode_t mode, struct gr_error **err)
{
	return write_replace(path, contents, mode, true, err);
}

int gr_write_file_replace(const char *path, const char *contents, mode_t mode, struct gr_error **err)
{
	return write_replace(path, contents, mode, false, err);
}

static unsigned long long clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

unsigned long long gr_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

unsigned long long gr_realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

/* Rounded to the ms (a tick is 1-10 ms): a value near a ms boundary can
 * still land on either side in two calls, which is why a job's supervisor
 * computes its own once and records it (state.h, supervisor_start_epoch_ns)
 * rather than every reader computing it anew. */
unsigned long long gr_start_epoch_ns(unsigned long long ticks)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct timespec rt, bt;
	long long boot;

	if (!ticks || hz <= 0 || clock_gettime(CLOCK_REALTIME, &rt) < 0 || clock_gettime(CLOCK_BOOTTIME, &bt) < 0)
		return 0;
	boot = (rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
	boot = (boot + 500000) / 1000000 * 1000000;
	return (unsigned long long)boot + ticks / (unsigned long long)hz * 1000000000ULL +
	       ticks % (unsigned long long)hz * 1000000000ULL / (unsigned long long)hz;
}

/*
 * By arithmetic, not gmtime_r(): glibc's first gmtime_r() of a process loads
 * the local time zone (/etc/localtime: open, two fstat, read, parse) that a
 * UTC timestamp never needs, and the supervisor formats its record's two
 * only once per run. The proleptic Gregorian calendar from the days since
 * 1970-01-01, in 400-year eras (146097 days) starting on March 1st so that
 * a leap day ends its year.
 */
void gr_format_utc_ms(unsigned long long ns, char *buf, size_t len)
{
	unsigned long long secs = ns / 1000000000ull, days = secs / 86400, sod = secs % 86400;
	unsigned long long z = days + 719468, era = z / 146097, doe = z % 146097;
	unsigned long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	unsigned day = (unsigned)(doy - (153 * mp + 2) / 5 + 1), month = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	unsigned long long year = yoe + era * 400 + (month <= 2);

	snprintf(buf, len, "%04llu-%02u-%02uT%02u:%02u:%02u.%03uZ", year, month, day, (unsigned)(sod / 3600),
		 (unsigned)(sod / 60 % 60), (unsigned)(sod % 60), (unsigned)((ns / 1000000ull) % 1000));
}

unsigned long long gr_proc_starttime(pid_t pid)
{
	static pid_t self;                    /* our own, read once: it never changes */
	static unsigned long long self_start;
	char path[64], buf[1024];
	_cleanup_close_ int fd = -1;
	unsigned long long start = 0;
	ssize_t n;
	char *p;
	int field;

	if (self && pid == self && self == getpid())
		return self_start;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* one read: the kernel makes the whole line on the first (seq_file),
	 * where reading on to the end costs a second read per process */
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may contain spaces and ')': fields restart after the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* after ")" comes field 3 (state); starttime is field 22 */
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	if (start && pid == getpid()) {
		self_start = start;
		self = pid;
	}
	return start;
}

void gr_exit_like_signal(int sig)
{
	struct rlimit none = { 0, 0 };
	sigset_t s;

	setrlimit(RLIMIT_CORE, &none);
	signal(sig, SIG_DFL);
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	raise(sig);
	_exit(128 + sig);
}
