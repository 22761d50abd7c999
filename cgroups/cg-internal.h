/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cg-internal.h - what the cgroup backends share. Each backend fills one
 * struct gr_cgroup_ops; cgroups.c picks it once and never asks "v1 or v2?"
 * again.
 */
#ifndef GRIDRUN_CG_INTERNAL_H
#define GRIDRUN_CG_INTERNAL_H

#include "cgroups.h"

#define GR_CG_V1_MAX 8

struct gr_cg_v1_dir {
	char *controllers;   /* e.g. "memory" or "cpu,cpuacct" (co-mounted) */
	char *path;          /* the job's directory in that hierarchy */
	int dirfd;
};

struct gr_cgroup {
	const struct gr_cgroup_ops *ops;
	char *path;                   /* v2: job dir; v1: memory dir (or first) */
	int dirfd;                    /* v2: job dir, O_RDONLY|O_DIRECTORY */
	struct gr_cg_v1_dir v1[GR_CG_V1_MAX];
	size_t nv1;
	uint64_t pids_peak_sampled;
};

struct gr_cgroup_ops {
	int version;
	int (*create)(struct gr_cgroup *cg, const char *name, const struct gr_resources *res,
		      struct gr_error **err);
	int (*attach)(struct gr_cgroup *cg, pid_t pid, struct gr_error **err);
	void (*sample)(struct gr_cgroup *cg);
	int (*freeze)(struct gr_cgroup *cg, bool frozen, struct gr_error **err);
	int (*kill_all)(struct gr_cgroup *cg, unsigned *killed, struct gr_error **err);
	int (*usage)(struct gr_cgroup *cg, struct gr_cgroup_usage *u, struct gr_error **err);
	int (*remove)(struct gr_cgroup *cg, struct gr_error **err);
	/* Where a job cgroup called name is, or would be (for gc). */
	size_t (*paths_for)(const char *name, char **paths, size_t max);
};

extern const struct gr_cgroup_ops gr_cg_v1_ops;
extern const struct gr_cgroup_ops gr_cg_v2_ops;

/* Small file helpers relative to a cgroup directory fd. */
int gr_cg_write(int dirfd, const char *file, const char *value, struct gr_error **err);
int gr_cg_read(int dirfd, const char *file, char *buf, size_t len);
/* "key value" lines (cpu.stat, memory.events, ...): value of key, or -1. */
long long gr_cg_keyed(const char *text, const char *key);
/* Remove a cgroup directory and every sub-cgroup below it (deepest first),
 * retrying while the kernel is still tearing them down. */
int gr_cg_rmdir_retry(const char *path, struct gr_error **err);
/* PIDs in the cgroup at path and every sub-cgroup below it. */
int gr_cg_procs_tree(const char *path, pid_t **pids, size_t *n);
/* PIDs listed in cgroup.procs of dirfd (malloc'd array), count in *n. */
int gr_cg_procs(int dirfd, pid_t **pids, size_t *n);

#endif
