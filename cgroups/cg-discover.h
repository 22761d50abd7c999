/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cg-discover.h - which cgroup hierarchies and controllers the node has,
 * found through libcgroup (Debian 12: libcgroup 2.0.2), for the long-running
 * and admin paths: gridrun-exporter (which hierarchy a job's directory is
 * on), `gridrun check` (which controllers are there, and where) and
 * `gridrun gc` (where a stale job's cgroup directories are).
 *
 * Never on a job's start: libcgroup's first cgroup_init() in a process costs
 * tens of ms here (BENCHMARKS.md; it zeroes ~2.4 MB of static tables and
 * reads /proc/cgroups and /proc/mounts), more than the rest of a start, so
 * the backends (cg-v1.c, cg-v2.c) keep reading /proc/self/mountinfo
 * themselves. A later call in the same process costs ~0.2 ms: the exporter
 * calls again when a job's directory is on a filesystem it does not know.
 *
 * What libcgroup 2.0.2 does not give, and is added here:
 *  - which cgroup version a mount point is: taken from its filesystem's
 *    magic (statfs), and its device (stat) to match a directory against it;
 *  - a cgroup2 mount whose cgroup.controllers is empty is not listed (a
 *    v1 node's /sys/fs/cgroup/unified with every controller on v1, or a v2
 *    root with none enabled): /sys/fs/cgroup and /sys/fs/cgroup/unified are
 *    added when they are cgroup2 and missing, with no controllers.
 * libcgroup's own configuration (cgconfig.conf, cgrules) is not read.
 */
#ifndef GRIDRUN_CG_DISCOVER_H
#define GRIDRUN_CG_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

#include "error.h"

struct gr_cg_hierarchy {
	char path[256];             /* its mount point */
	dev_t dev;
	int version;                /* 1 or 2 */
	char controllers[256];      /* "cpu,cpuacct" (v1: as mounted; v2: its
				     * cgroup.controllers as libcgroup lists them); "" none */
	char own[256];              /* v1: this process's cgroup in it ("/a/b"), from
				     * cgroup_get_current_controller_path(); "" unknown */
};

struct gr_cg_controller {
	char name[32];
	int hierarchy;              /* /proc/cgroups: 0 not on a v1 hierarchy */
	bool enabled;               /* 0: switched off with cgroup_disable= */
};

struct gr_cg_discovery {
	struct gr_cg_hierarchy *h;
	size_t nh;
	struct gr_cg_controller *c; /* every controller the kernel has */
	size_t nc;
	unsigned long long init_ns; /* what this call's cgroup_init() took */
};

/* Fill *d (malloc'd arrays; gr_cg_discovery_free()). No cgroup filesystem
 * mounted is 0 with nh == 0 (the controllers still listed); any other libcgroup failure is -EIO naming it. */
int gr_cg_discover(struct gr_cg_discovery *d, struct gr_error **err);
void gr_cg_discovery_free(struct gr_cg_discovery *d);
#define _cleanup_gr_cg_discovery_ __attribute__((cleanup(gr_cg_discovery_free)))
/* The hierarchy mounted with controller (v1) or offering it (v2), or NULL. */
const struct gr_cg_hierarchy *gr_cg_discovery_find(const struct gr_cg_discovery *d, const char *controller);
/*
 * gc's "where would job cgroup `name` (gridrun-<id>) be" on v1, from d:
 * MOUNT/OWN/name, or MOUNT/BASE/name with a cgroup_base, in each hierarchy
 * with a controller gridrun uses (one path per hierarchy, malloc'd into
 * paths). -1 when libcgroup's answer cannot be used and the backend must
 * look itself (cg-v1.c, /proc/self/mountinfo): a hierarchy whose MOUNT/OWN
 * is not our cgroup's directory. libcgroup 2.0.2 reads /proc/mounts, which
 * has no mount root: it cannot tell a subtree mounted at MOUNT (a container
 * without a cgroup namespace) from the whole hierarchy, so OWN is then
 * wrong; and cgroup_get_current_controller_path() has no answer for the v2
 * "0::" line (ECGROUPNOTEXIST here), so v2 keeps the backend's own reading.
 * Cost (hybrid v1 host, CPU, median of 7 processes): the discovery 0.6 ms
 * once, then 0.03 ms per stale job, against 0.085 ms per stale job for the
 * backend's own mountinfo parse (its first 0.16 ms). `gridrun ps` looks up
 * no controller or mount at all (state entries only), so has nothing to move.
 */
ssize_t gr_cg_discovery_job_paths(const struct gr_cg_discovery *d, const char *name, char **paths, size_t max);
/* cgroup_init() calls made by this process (for tests: never on a job's
 * start). */
unsigned gr_cg_discover_inits(void);

#endif
