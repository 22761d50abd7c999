/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * job-lost.c - the record of a job whose supervisor died (threat R1).
 *
 * Contract (gr_job_lost_record(), job-int.h): gc hands it each stale state
 * entry (gr_job_on_stale(), job-admin.c) before the job's cgroups are
 * removed. For the entry of a job that started (its init's "pid" is known)
 * and says when ("started_ns", state.h; an entry of an older gridrun does
 * not, and gets no record), it writes the record the supervisor never wrote,
 * with the keys of design §7 and reason "supervisor_lost":
 *  - cpu_*_ns, memory_peak_bytes, pids_peak, io_*_bytes and oom_killed from
 *    the job cgroup's counters, read by the backend's own usage() that the
 *    supervisor runs for its record (gr_cgroup_usage_read(), cgroups.h):
 *    every process the job started is in them. Null where they cannot be
 *    read: the job had no cgroup, or the supervisor had removed it already
 *    (it died in its teardown, after the cgroup and before the record);
 *  - exit_code, signal, rusage_*_ns and killed_at_end null: only the dead
 *    supervisor saw them; lsm_denials null (the BPF LSM's counts went with
 *    the job's registration);
 *  - ended_at and wall_ns null: the supervisor died at a moment nobody
 *    recorded, and gc runs minutes (its timer) or hours (the next start)
 *    after it; the time gc found the entry would overstate the job's wall
 *    time by as much, and a batch system would take it as exact;
 *  - started_at, cgroup_version, isolation and uid_range from the entry,
 *    the values the supervisor would have written.
 * Where: to the entry's "accounting" path (a path only: "fd:N" dies with
 * the supervisor), opened and written as the supervisor writes its own
 * (gr_record_open_path(), gr_record_write(), record.h; S31): no symlink on
 * the directory's path, written as the directory's owner. A refusal is one
 * line through opts->say, and nothing is written there. Then the copy in
 * DIR/records/ for gridrun-exporter (gr_record_copy_write()), whatever the
 * spec asked, as the supervisor does.
 * Never twice: the copy in DIR/records/ of this very run (its started_at,
 * which the entry's started_ns gives to the ms) says the run's record was
 * written, by its supervisor (which writes the copy right after its record)
 * or by an earlier gc (which writes the copy also when the record could not
 * be written, e.g. its cgroup was still busy and the entry stayed): then
 * nothing is written. The copy is in the state directory, which only
 * gridrun's caller can write; the record's own file is not proof, as a job
 * may write there. A supervisor killed in the microseconds between its
 * record's rename and its copy left no copy, but its record: gc keeps a
 * record at the entry's path that is of this run (its job_id and
 * started_at) and not gc's, in a file none of the job's ids owns, as the
 * job could have forged one (gr_record_of_run_at(), record.h), and writes
 * only the copy. Where the job's ids own the record (a job run as the
 * directory's owner, an unprivileged caller's job), or the entry predates
 * uid_first/uid_count, gc cannot tell and writes its own over it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups.h"
#include "job-int.h"
#include "record.h"
#include "state.h"
#include "supervisor.h"
#include "userns.h"
#include "util.h"

static enum gr_isolation isolation_of(const char *name)
{
	static const enum gr_isolation modes[] = { GR_ISOLATION_ROOT, GR_ISOLATION_HELPER,
						   GR_ISOLATION_UNPRIVILEGED };

	for (size_t i = 0; name && i < ARRAY_SIZE(modes); i++)
		if (!strcmp(name, gr_isolation_name(modes[i])))
			return modes[i];
	/* gridrun writes it with started_ns, without which no record is
	 * written: only a hand-made entry lacks it */
	return GR_ISOLATION_UNPRIVILEGED;
}

/* The job cgroup's counters, or none (cgroup_version alone) where they
 * cannot be read. */
static void lost_usage(const struct gr_job_state *st, struct gr_cgroup_usage *u)
{
	const char *paths[GR_JOB_STATE_CGROUPS_MAX];

	memset(u, 0, sizeof(*u));
	if (!st->cgroup_version || !st->ncgroups)
		return;
	for (size_t i = 0; i < st->ncgroups; i++)
		paths[i] = st->cgroups[i];
	if (gr_cgroup_usage_read(st->cgroup_version, paths, st->ncgroups, st->job_id, u, NULL) < 0) {
		memset(u, 0, sizeof(*u));
		u->version = st->cgroup_version;
	}
}

void gr_job_lost_record(const char *state_dir, const struct gr_job_state *st, const struct gr_job_options *opts)
{
	_cleanup_gr_error_ struct gr_error *e = NULL, *ce = NULL;
	struct gr_run_result res = { .reason = GR_REASON_SUPERVISOR_LOST };
	const char *id = st->job_id;
	bool debug = getenv("GRIDRUN_DEBUG") != NULL;

	if (!state_dir || !id || !*id || id[0] == '.' || strchr(id, '/') || st->pid <= 0 || !st->started_ns)
		return;
	if (gr_record_copy_of_run(state_dir, id, st->started_ns)) {
		if (debug)
			fprintf(stderr, "gridrun: debug: gc: job %s: its record was written (its copy in %s/"
				GR_STATE_RECORDS "), not again\n", id, state_dir);
		return;
	}
	res.started_ns = st->started_ns;
	res.ids.mode = isolation_of(st->isolation);
	res.ids.outer_uid = st->uid_first;
	res.ids.count = st->uid_count;
	res.pid = st->pid;
	lost_usage(st, &res.cg);
	if (st->accounting) {
		struct gr_record_dest dest = GR_RECORD_DEST_INIT;
		int r = gr_record_open_path(st->accounting, st->spec ? st->spec : id, &dest, &e);

		if (r >= 0 && gr_record_of_run_at(&dest, id, st->started_ns, st->uid_first, st->uid_count)) {
			/* killed between its record's rename and its copy */
			if (debug)
				fprintf(stderr, "gridrun: debug: gc: job %s: its supervisor wrote its record `%s` "
					"before it was lost; kept\n", id, st->accounting);
		} else {
			if (r >= 0)
				r = gr_record_write(&dest, id, &res, &e);
			if (r < 0)
				gr_job_say(opts, "gc: job %s: its supervisor was lost, and so is its record: %s", id,
					   e->msg);
			else if (debug)
				fprintf(stderr, "gridrun: debug: gc: job %s: its supervisor was lost; record written "
					"to `%s`\n", id, st->accounting);
		}
		gr_record_close(&dest);
	}
	if (gr_record_copy_write(state_dir, id, &res, st->account, st->has_lease ? st->lease.pool : NULL, &ce) < 0)
		gr_job_say(opts, "gc: job %s: %s, ignoring", id, ce->msg);
}
