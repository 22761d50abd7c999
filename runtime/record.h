/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * record.h - the accounting record (design §7).
 *
 * One JSON object with exactly the keys of design §7, null where unknown and
 * never omitted, written atomically (temp file in the same directory, then
 * rename) to the path in gridrun.accounting, or in one write to an inherited
 * fd for "fd:N". Until the cgroup backends exist, the cgroup figures
 * (cpu_*_ns, memory_peak_bytes, pids_peak, io_*) and cgroup_version are null:
 * the record says "unknown" rather than guessing. The record gc writes for
 * a job whose supervisor died (reason "supervisor_lost", job-lost.c) has
 * ended_at and wall_ns null too: when the supervisor died is not known.
 */
#ifndef GRIDRUN_RECORD_H
#define GRIDRUN_RECORD_H

#include "error.h"
#include "supervisor.h"
#include "spec.h"

/*
 * Where the record goes, fixed before the job starts (threats S31): the job
 * may replace any directory it can write on the record's path by a symlink
 * while it runs, so nothing is looked up by path afterwards. For a path,
 * gr_record_open() opens the record's directory O_PATH from "/" with
 * openat2(RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) (a symlink anywhere
 * in it is refused, one line), notes its owner, and checks that the name is
 * absent or a regular file. gr_record_write() then creates a randomly named
 * temp file in that directory fd (O_CREAT | O_EXCL | O_NOFOLLOW), fsyncs it
 * and renameat()s it over the name within the same fd: a directory the job
 * moved keeps the record, one it removed makes the write fail (ENOENT),
 * never a write elsewhere. As root, in a directory owned by another user,
 * the write is done by a short-lived child with that owner's uid and gid
 * (no supplementary groups), so root creates nothing in a user's directory.
 * For "fd:N", the fd is checked open and made close-on-exec (no helper or
 * job inherits it; the job's init closes it anyway).
 */
struct gr_record_dest {
	int fd;          /* "fd:N": N; -1 otherwise */
	int dirfd;       /* the record's directory (O_PATH); -1: none */
	char *name;      /* the record's last component */
	const char *path;
	uid_t uid;       /* the directory's owner when it was opened */
	gid_t gid;
};
#define GR_RECORD_DEST_INIT { .fd = -1, .dirfd = -1 }

/* The record as a JSON text (malloc'd). */
char *gr_record_format(const char *job_id, const struct gr_run_result *res);
/* Before the job: fill dest from spec->accounting (nothing when unset). */
int gr_record_open(const struct gr_spec *spec, struct gr_record_dest *dest, struct gr_error **err);
/* The same for the path of a record (absolute), file naming its origin in
 * messages: gc's record of a lost supervisor (job-lost.c) opens the
 * directory as the supervisor did, as late as it can; dest->path borrows path. */
int gr_record_open_path(const char *path, const char *file, struct gr_record_dest *dest, struct gr_error **err);
int gr_record_write(const struct gr_record_dest *dest, const char *job_id,
		    const struct gr_run_result *res, struct gr_error **err);
void gr_record_close(struct gr_record_dest *dest);

/*
 * The node-wide copy of a job's record, STATE_DIR/records/<job-id>.json
 * (state.h), for gridrun-exporter's per-account counters: written by every
 * end of a job that ran, whether or not its spec asked for a record (the
 * supervisor's, job.c, and gc's for a lost supervisor, job-lost.c),
 * atomically but without fsync (the state dir is /run: a crash loses it
 * anyway), 0644 as the state is (nothing secret), and before the job's
 * state entry goes, so that a copy whose job is no longer listed is final.
 * Its keys: the record's, then account and pool (NULL: null). `gridrun gc`
 * prunes copies older than an hour.
 */
int gr_record_copy_write(const char *state_dir, const char *job_id, const struct gr_run_result *res,
			 const char *account, const char *pool, struct gr_error **err);
/* The copy of job_id's record is that of the run that started at
 * started_ns (its started_at, to the ms): the run's record was written. */
bool gr_record_copy_of_run(const char *state_dir, const char *job_id, unsigned long long started_ns);
/* The file dest names (gr_record_open_path()) is the record its supervisor
 * wrote of job_id's run that started at started_ns (its job_id and
 * started_at, to the ms; a reason other than supervisor_lost): a regular
 * file, no symlink, under 64 KiB, whose owner is none of the job's ids
 * [job_first, job_first + job_count), since a job may write where its
 * record goes and forge one. gc keeps such a record (job-lost.c). */
bool gr_record_of_run_at(const struct gr_record_dest *dest, const char *job_id, unsigned long long started_ns,
			 uid_t job_first, unsigned job_count);

#endif
