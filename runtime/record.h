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

/* The record as a JSON text (malloc'd). */
char *gr_record_format(const char *job_id, const struct gr_run_result *res);
/* The record's path, if any, is absent or a regular file: it is replaced
 * with rename(), which must never swap a device or a symlink for a file. */
int gr_record_path_ok(const struct gr_spec *spec, struct gr_error **err);
int gr_record_write(const struct gr_spec *spec, const char *job_id,
		    const struct gr_run_result *res, struct gr_error **err);

#endif
