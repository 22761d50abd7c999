/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cgroupns.h - the job's own cgroup view (threats H4).
 *
 * Contract: gr_cgroupns_in_child() runs in init, after pivot_root, once
 * init is in the job's cgroups (cgroups.h), before the job exists. It enters a new cgroup namespace, so that init's cgroups are
 * the namespace's root and /proc/<pid>/cgroup shows "/" for the job, and
 * covers /sys/fs/cgroup with a fresh read-only view:
 *   - pure v2: a cgroup2 mount, which shows the job's cgroup as its root;
 *   - v1/hybrid: a read-only tmpfs with one directory per host hierarchy;
 *     the hierarchies the job is in (a path component `gridrun-<job_id>`
 *     in /proc/self/cgroup) get the supervisor's clone of the job's
 *     directory in that hierarchy (views[0..nviews), gr_cgroup_view_fds();
 *     a clone used is -1 after) or else a fresh cgroupfs mount of it, which
 *     is the same mount: rooted at the job's cgroup; the others stay empty.
 *     The caller closes what is left in views.
 * Nothing of the host's tree (other jobs' gridrun-<id> directories) is
 * reachable through the new mounts. A root without /sys/fs/cgroup is left
 * as it is. Returns 0 or -errno with *err set.
 */
#ifndef GR_CGROUPNS_H
#define GR_CGROUPNS_H

#include "error.h"

#include <stddef.h>

int gr_cgroupns_in_child(const char *job_id, int *views, size_t nviews, struct gr_error **err);

#endif
