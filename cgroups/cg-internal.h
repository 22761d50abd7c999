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
/* The v1 controllers gridrun makes job directories for (cg-v1.c). */
#define GR_CG_V1_CONTROLLERS 6
extern const char *const gr_cg_v1_controllers[GR_CG_V1_CONTROLLERS];

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
	int pids_peak_kept;           /* the kernel keeps pids.peak: 1, it does not: -1, unknown: 0 */
	char *not_applied;            /* optional limits left out: "linux.resources.X: why\n"... */
	bool emptied;                 /* kill_all found no task (v1): none can come back, as
				       * only a member forks into it and the job cannot
				       * attach (cgroupfs is read-only inside) */
};

struct gr_cgroup_ops {
	int version;
	int (*create)(struct gr_cgroup *cg, const char *name, const struct gr_resources *res,
		      struct gr_error **err);
	int (*attach)(struct gr_cgroup *cg, pid_t pid, struct gr_error **err);
	/* v1: open the `tasks` files for gr_cgroup_attach_self(); NULL: nothing to attach */
	int (*attach_fds)(struct gr_cgroup *cg, int *fds, size_t max, struct gr_error **err);
	/* v1: detached read-only clones of the job directories; NULL: none */
	int (*view_fds)(struct gr_cgroup *cg, int *fds, size_t max, struct gr_error **err);
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

#define GR_CG_ROOT "/sys/fs/cgroup"

/*
 * The configured base ($GRIDRUN_CGROUP_BASE if set: tests, gridrun-condor's
 * slice; else what gr_cgroup_set_base() was given): an absolute path below /sys/fs/cgroup. *rel is
 * its cgroup path, the part after /sys/fs/cgroup ("" for the root itself,
 * else "/a/b"), or NULL when no base is configured. The same cgroup path is
 * used on v2 (BASE itself) and in every v1 hierarchy (MOUNT/a/b), as
 * HTCondor's BASE_CGROUP is; the base must exist (it is the admin's, gridrun
 * never creates or removes it). A path with "/.." or outside
 * /sys/fs/cgroup is an error.
 */
int gr_cg_base(const char **rel, struct gr_error **err);

/* Small file helpers relative to a cgroup directory fd. */
int gr_cg_write(int dirfd, const char *file, const char *value, struct gr_error **err);
int gr_cg_read(int dirfd, const char *file, char *buf, size_t len);
/* "key value" lines (cpu.stat, memory.events, ...): value of key, or -1. */
long long gr_cg_keyed(const char *text, const char *key);
/* A job's cgroup directory path exists already: -EEXIST, saying so. */
int gr_cg_exists(const char *path, struct gr_error **err);
/* Remove a cgroup directory and every sub-cgroup below it (deepest first),
 * retrying while the kernel is still tearing them down. */
int gr_cg_rmdir_retry(const char *path, struct gr_error **err);
/* PIDs in the cgroup at path and every sub-cgroup below it. */
int gr_cg_procs_tree(const char *path, pid_t **pids, size_t *n);
/* PIDs listed in cgroup.procs of dirfd (malloc'd array), count in *n. */
int gr_cg_procs(int dirfd, pid_t **pids, size_t *n);

/* The pids controller's files in dirfd (both versions): sample pids.current
 * into cg->pids_peak_sampled; fill u's pids figures (pids.peak where the
 * kernel has it, else the samples; pids.max when a fork was refused there). */
void gr_cg_pids_sample(struct gr_cgroup *cg, int dirfd);
void gr_cg_pids_usage(struct gr_cgroup *cg, int dirfd, struct gr_cgroup_usage *u);

/*
 * Apply limit lim of res: write value to file in dirfd (dir names it in
 * messages). A failure that means this node cannot enforce the limit - the
 * file, controller or hierarchy is missing (dirfd < 0, ENOENT; missing then
 * says why if not NULL), or the kernel refuses it for that device (ENODEV,
 * EOPNOTSUPP) - goes to gr_cg_unenforceable(). Any other failure (a value
 * the kernel refuses) is an error naming the field.
 */
int gr_cg_limit(struct gr_cgroup *cg, const struct gr_resources *res, enum gr_limit lim,
		int dirfd, const char *dir, const char *file, const char *value,
		const char *missing, struct gr_error **err);
/* Limit lim cannot be enforced here, for the reason fmt: noted in
 * cg->not_applied and 0 when res marks it optional, else an error naming
 * the field and the marker that would allow it. */
int gr_cg_unenforceable(struct gr_cgroup *cg, const struct gr_resources *res, enum gr_limit lim,
			struct gr_error **err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Some block device uses the BFQ scheduler (the only weight-capable one
 * since Linux 5.0): without one, an IO weight is accepted and does nothing. */
bool gr_cg_bfq_in_use(void);
/* The blockIO limits of res through the backend's files (io.bfq.weight,
 * io.max on v2; blkio.bfq.weight, blkio.throttle.* on v1). */
struct gr_cg_io_files {
	int dirfd;                 /* -1: no io/blkio controller */
	const char *dir;
	const char *missing;       /* why dirfd is -1 or the files may be missing */
	const char *weight[2];     /* weight files, first that exists wins */
	const char *weight_device[2];
	const char *leaf_weight, *leaf_weight_device; /* NULL: no such thing */
	const char *throttle[GR_BLKIO_THROTTLES];     /* files (v2: all "io.max") */
	const char *throttle_key[GR_BLKIO_THROTTLES]; /* v2: "rbps=", ...; v1: "" */
};
int gr_cg_io_limits(struct gr_cgroup *cg, const struct gr_resources *res,
		    const struct gr_cg_io_files *f, struct gr_error **err);

#endif
