/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * record.h - the accounting record (design §7).
 *
 * One JSON object with exactly the keys of design §7, null where unknown and
 * never omitted, written atomically (temp file in the same directory, then
 * rename) to the path in gridrun.accounting, or in one write to an inherited
 * fd for "fd:N". Until the cgroup backends exist, the cgroup figures
 * (cpu_*_ns, memory_peak_bytes, pids_peak, io_*) and cgroup_version are null:
 * the record says "unknown" rather than guessing.
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
int gr_record_write(const struct gr_record_dest *dest, const char *job_id,
		    const struct gr_run_result *res, struct gr_error **err);
void gr_record_close(struct gr_record_dest *dest);

#endif
