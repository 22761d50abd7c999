/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * util.h - cleanup attributes and small fd helpers shared by every module.
 *
 * Ownership: a variable marked _cleanup_close_ starts at -1 and is closed when
 * it leaves scope; hand it out with TAKE_FD(). _cleanup_free_ frees; hand out
 * with TAKE_PTR(). The I/O helpers retry on EINTR and treat short transfers as
 * the caller expects (full or error).
 */
#ifndef GRIDRUN_UTIL_H
#define GRIDRUN_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "error.h"

static inline void gr_freep(void *p)
{
	free(*(void **)p);
}

static inline void gr_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

#define _cleanup_free_ __attribute__((cleanup(gr_freep)))
#define _cleanup_close_ __attribute__((cleanup(gr_closep)))

#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Write all of buf or fail with -errno (EPIPE style short writes become -EIO). */
ssize_t gr_write_all(int fd, const void *buf, size_t len);
/* Read up to len bytes, retrying on EINTR; returns bytes read (0 on EOF) or -errno. */
ssize_t gr_read_full(int fd, void *buf, size_t len);
/* Read a whole (small) file into a NUL-terminated malloc'd buffer. */
int gr_read_file_at(int dirfd, const char *path, char **out, size_t *len, struct gr_error **err);
/* Write a string to an existing file (e.g. /proc/PID/uid_map), all at once. */
int gr_write_file_at(int dirfd, const char *path, const char *s, struct gr_error **err);
/* Atomically replace path with contents (temp file in the same dir, fsync,
 * rename): readers see the old or the new file, and a crash leaves one whole. */
int gr_write_file_atomic(const char *path, const char *contents, mode_t mode, struct gr_error **err);
/* The same without the fsync: atomic for readers, not durable across a crash
 * (for copies kept in /run, where a crash loses them anyway). */
int gr_write_file_replace(const char *path, const char *contents, mode_t mode, struct gr_error **err);
/* CLOCK_MONOTONIC / CLOCK_REALTIME in nanoseconds. */
unsigned long long gr_now_ns(void);
unsigned long long gr_realtime_ns(void);
/* Format a CLOCK_REALTIME ns value as 2026-11-24T12:00:00.000Z into buf (>= 32 bytes). */
/* A wrapper's exit as if it had died of the job's signal SIG, so that its
 * parent (HTCondor's starter, slurmstepd) records the signal: no core dump,
 * the default action restored and unblocked, then raised; 128+SIG if the
 * signal does not kill. */
void gr_exit_like_signal(int sig) __attribute__((noreturn));
void gr_format_utc_ms(unsigned long long ns, char *buf, size_t len);
/* Process start time (field 22 of /proc/PID/stat, clock ticks since boot); 0 if gone.
 * Our own is read once and kept (per pid: a fork's child reads its own). */
unsigned long long gr_proc_starttime(pid_t pid);

/* A /proc start time (clock ticks since boot) in ns since the epoch, to the
 * ms: the realtime clock less the boot-time clock (when the machine booted
 * by today's realtime clock; /proc/stat's btime is truncated to the second)
 * plus the ticks. 0 for 0 ticks. It follows steps of the realtime clock
 * (slewing moves both clocks alike), and each call reads the clocks anew. */
unsigned long long gr_start_epoch_ns(unsigned long long ticks);

#endif
