/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroups.h - the job's cgroup: limits, exact accounting, kill-all.
 *
 * One interface, two backends (design §7), picked once per call of
 * gr_cgroup_create() by the filesystem magic of /sys/fs/cgroup:
 *  - v2 (cgroup2fs at /sys/fs/cgroup): the job cgroup is a child of the
 *    base ($GRIDRUN_CGROUP_BASE, else gr_cgroup_set_base()'s, a path below /sys/fs/cgroup, else the
 *    cgroup gridrun runs in). The job is cloned straight into it with
 *    clone3(CLONE_INTO_CGROUP): accounted from its first instruction.
 *  - v1 (legacy, or hybrid as on EL7/EL8 and on our own CI host): one
 *    directory per hierarchy (cpu, cpuacct, memory, pids, freezer, blkio),
 *    each beneath the base's cgroup path in that hierarchy if a base is
 *    configured, else beneath the cgroup gridrun runs in *in that hierarchy*, found
 *    in /proc/self/mountinfo and /proc/self/cgroup. The job's init attaches
 *    itself first thing (gr_cgroup_attach_self()), so the job's program runs attached.
 * Nothing is ever created outside those bases, and only gridrun's own job
 * directories (named gridrun-<job-id>) are ever removed. A job directory
 * that exists already is another job's: gr_cgroup_create() fails with
 * -EEXIST and neither joins nor removes it (a killed supervisor's leftover
 * is gc's: gr_cgroup_remove_job()). 
 *
 * Limits (linux.resources): memory limit and swap, cpu quota/period and
 * shares (weight on v2), pids limit, blockIO weights (BFQ: io.bfq.weight on
 * v2, blkio.bfq.weight or CFQ's blkio.weight on v1) and throttles (io.max;
 * blkio.throttle.*). A limit the node cannot enforce (cg-limits.c says how
 * that is told) is an error naming the field, and gr_cgroup_create() leaves
 * no cgroup behind - unless the spec lists it in gridrun.optional_limits:
 * then it is left out and gr_cgroup_not_applied() says so.
 *
 * Without a limit to enforce, a cgroup is best effort: if the caller may not
 * create one (an unprivileged account on a v1 host), gr_cgroup_create()
 * returns 0 with *out = NULL and the record says cgroup_version null.
 *
 * Usage is read after the job's init has exited and before the cgroup is
 * removed, so the CPU of every process the job ever started, daemons that
 * escaped wait() included, is in it.
 */
#ifndef GRIDRUN_CGROUPS_H
#define GRIDRUN_CGROUPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

struct gr_cgroup;

struct gr_cgroup_usage {
	int version;                 /* 1 or 2 */
	bool cpu_known;
	uint64_t cpu_user_ns, cpu_system_ns;
	bool memory_known;
	uint64_t memory_peak_bytes;
	bool pids_known;
	uint64_t pids_peak;
	bool io_known;
	uint64_t io_read_bytes, io_write_bytes;
	uint64_t oom_kills;          /* processes the kernel OOM-killed in the job */
	uint64_t pids_max_hits;      /* forks refused at pids.max */
};

/* Create the job cgroup gridrun-<job_id> and apply res. */
/* The site config's cgroup_base (NULL: none; the string must outlive every
 * job), given once before the first gr_cgroup_create(); a non-empty
 * $GRIDRUN_CGROUP_BASE still wins (tests, gridrun-condor's slice). */
void gr_cgroup_set_base(const char *base);
int gr_cgroup_create(const char *job_id, const struct gr_resources *res,
		     struct gr_cgroup **out, struct gr_error **err);
int gr_cgroup_version(const struct gr_cgroup *cg);
/* v2: a directory fd for clone3(CLONE_INTO_CGROUP); v1: -1. */
int gr_cgroup_clone_fd(const struct gr_cgroup *cg);
/* v1: move pid into every hierarchy's job directory; v2: nothing to do. */
int gr_cgroup_attach(struct gr_cgroup *cg, pid_t pid, struct gr_error **err);
/*
 * The job's start on v1: the supervisor opens the job directory's `tasks`
 * file of every hierarchy for writing (O_CLOEXEC) into fds[0..max) before
 * it clones the job's init, and returns how many (v2, no cgroup: 0); init,
 * still single-threaded and with the supervisor's uid, moves itself into
 * each with gr_cgroup_attach_self() before anything else, and closes them.
 * Why not gr_cgroup_attach() from the supervisor: moving another process
 * (a pid written to cgroup.procs or tasks) takes the kernel's global
 * cgroup_threadgroup_rwsem for writing, and that write lock waits for an
 * RCU grace period whenever it was idle - once per job: 1 to 11 ms on this
 * 2-CPU host, on the job's start path. A single thread moving itself ("0"
 * to `tasks`) is exempt from that lock (kernel/cgroup/cgroup.c,
 * cgroup_procs_write_start(), since 5.17). The kernel checks the write
 * against the credentials the file was opened with, so the opener's rights
 * decide, as for cgroup.procs.
 */
#define GR_CGROUP_ATTACH_MAX 8
int gr_cgroup_attach_fds(struct gr_cgroup *cg, int *fds, size_t max, struct gr_error **err);
/* In the cloned child: "0" to each of fds[0..n), then closes them all. */
int gr_cgroup_attach_self(const int *fds, size_t n, struct gr_error **err);
/*
 * v1: a detached, read-only (nosuid, nodev, noexec) clone of the job
 * directory of every hierarchy (open_tree OPEN_TREE_CLONE, O_CLOEXEC) into
 * fds[0..max), for the job's /sys/fs/cgroup (cgroupns.h); returns how many
 * (v2, no cgroup: 0). The same mount as a fresh cgroupfs mount in the job's
 * cgroup namespace (its superblock, rooted at the job's directory), without
 * the kernel's cgroup_mutex that each fresh v1 mount takes: on a node
 * starting and ending many jobs that lock is what such a mount waits for.
 * Best effort: where the clones cannot be made (an unprivileged supervisor
 * may not clone mounts) it returns 0 and init mounts the hierarchies.
 */
#define GR_CGROUP_VIEW_MAX 8
int gr_cgroup_view_fds(struct gr_cgroup *cg, int *fds, size_t max, struct gr_error **err);
/* Sample counters that have no kernel peak (v1 pids); cheap, call often. */
void gr_cgroup_sample(struct gr_cgroup *cg);
/* Whether the supervisor must sample (no pids.peak on this kernel): else it
 * needs no periodic wake-up at all. */
bool gr_cgroup_needs_sampling(struct gr_cgroup *cg);
int gr_cgroup_freeze(struct gr_cgroup *cg, bool frozen, struct gr_error **err);
/* Thaw the job cgroup and every sub-cgroup in it (best effort). */
void gr_cgroup_thaw_tree(struct gr_cgroup *cg);
/* SIGKILL everything in the job cgroup (frozen first on v1); *killed counts. */
int gr_cgroup_kill_all(struct gr_cgroup *cg, unsigned *killed, struct gr_error **err);
int gr_cgroup_usage(struct gr_cgroup *cg, struct gr_cgroup_usage *u, struct gr_error **err);
/*
 * The same reading from another process (gridrun-condor's live updates,
 * cg-usage.c): the job's cgroup directories as its state entry lists them
 * ("cgroup_version", "cgroups"), each of which must be a directory called
 * gridrun-<job_id> below /sys/fs/cgroup on a cgroup filesystem of that
 * version, opened without following symlinks; anything else is -EINVAL.
 * The figures come from the backend's own usage() above.
 */
int gr_cgroup_usage_read(int version, const char *const *paths, size_t n, const char *job_id,
			 struct gr_cgroup_usage *u, struct gr_error **err);
/* v1 CPU as every reader reports it: the exact cpuacct.usage (total) split
 * in the proportion of the tick-based cpuacct.usage_user to usage_sys. */
void gr_cgroup_v1_cpu_split(uint64_t total, uint64_t user, uint64_t sys, uint64_t *user_ns,
			    uint64_t *sys_ns);
/* Kill what is left, remove the directories - sub-cgroups first, depth
 * first - retrying while the kernel still tears the cgroup down; free cg.
 * NULL is a no-op. */
int gr_cgroup_destroy(struct gr_cgroup *cg, struct gr_error **err);
/* The optional limits (gridrun.optional_limits) this node could not
 * enforce and that were left out, one "linux.resources.NAME: why" a line;
 * NULL when every limit was applied. */
const char *gr_cgroup_not_applied(const struct gr_cgroup *cg);
/* Host path of the job cgroup (v2) or of its memory hierarchy dir (v1). */
const char *gr_cgroup_path(const struct gr_cgroup *cg);
/* Every directory of the job cgroup (v1: one per hierarchy), for the state
 * file; returns how many were stored in paths[0..max). */
size_t gr_cgroup_paths(const struct gr_cgroup *cg, const char **paths, size_t max);
/* The directory whose freezing stops the whole job (v2: the job cgroup,
 * v1: its freezer dir), NULL if none. */
const char *gr_cgroup_freezer_path(const struct gr_cgroup *cg);

/*
 * From another process, by path (gridrun suspend/resume, gc). The path must
 * name a gridrun job cgroup: a directory called gridrun-* below
 * /sys/fs/cgroup; anything else is refused.
 */
int gr_cgroup_freeze_path(int version, const char *path, bool frozen, struct gr_error **err);
/* Remove a job cgroup a crashed supervisor left (only if empty). */
int gr_cgroup_remove_path(const char *path, struct gr_error **err);
/* Remove every directory of job job_id's cgroup that exists, wherever this
 * process would have created it: for a supervisor killed between creating
 * the cgroup and recording it. Returns how many were removed. disc (gc's,
 * cg-discover.h; NULL on a job's start) says where the v1 hierarchies and
 * our cgroup in each are, instead of /proc/self/mountinfo. */
struct gr_cg_discovery;
int gr_cgroup_remove_job(const char *job_id, const struct gr_cg_discovery *disc, struct gr_error **err);

#endif
