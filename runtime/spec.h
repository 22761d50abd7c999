/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spec.h - the job spec: the OCI config.json subset of design §4, plus the
 * "gridrun" object. Parsed with jansson (JSON_REJECT_DUPLICATES).
 *
 * Contract:
 *  - gr_spec_load_file()/gr_spec_load_string() either return 0 and a fully
 *    validated spec, or a negative errno and exactly one error whose message is
 *        FILE:LINE:COL: json.path: what is wrong
 *    e.g. "spec.json:12:7: process.args: expected a non-empty array of strings".
 *    LINE and COL are 1-based and point at the offending value (at the key
 *    for an unknown key; at jansson's position for a JSON syntax error, whose
 *    json.path is then the literal "json"). Nothing is created on the system
 *    by parsing; the parser is pure apart from reading the file.
 *  - Unknown keys are errors everywhere except inside "annotations" (whose
 *    values must be strings, as in OCI).
 *  - Defaults are filled in, so the runtime never has to guess: cwd "/",
 *    root.path "/", uid/gid 0, namespaces user+mount+pid+ipc+uts (and net
 *    when gridrun.network is "none"), network "host".
 *  - Everything the runtime cannot honour yet is rejected here with a clear
 *    message rather than silently ignored (see the .c file for the list).
 */
#ifndef GRIDRUN_SPEC_H
#define GRIDRUN_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

struct gr_rlimit {
	int resource;            /* RLIMIT_* */
	unsigned long long soft; /* RLIM_INFINITY allowed */
	unsigned long long hard;
};

/* Mount option bits of a spec mount (destination is inside the job). */
enum {
	GR_MNT_RDONLY = 1 << 0,
	GR_MNT_NOSUID = 1 << 1,
	GR_MNT_NODEV = 1 << 2,
	GR_MNT_NOEXEC = 1 << 3,
	GR_MNT_RECURSIVE = 1 << 4, /* "rbind" */
};

#define GR_MNT_MODE_SET 0x10000u

enum gr_mount_type {
	GR_MOUNT_BIND,  /* type "bind" or absent with "bind"/"rbind" in options */
	GR_MOUNT_TMPFS, /* type "tmpfs" (source ignored) */
};

struct gr_mount {
	enum gr_mount_type type;
	char *destination;  /* absolute, normalised (no "//", ".", ".." , no trailing "/") */
	char *source;       /* absolute host path for binds, NULL for tmpfs */
	unsigned flags;     /* GR_MNT_*; binds are always nosuid,nodev in the job */
	unsigned long long size; /* tmpfs size in bytes from "size=N[kmg]", 0 = default */
	unsigned mode;      /* tmpfs "mode=OCTAL" | GR_MNT_MODE_SET; 0: 1777 */
};

/* gridrun.landlock (landlock.h); absent: the site's setting decides */
enum gr_landlock_mode {
	GR_LANDLOCK_DEFAULT,
	GR_LANDLOCK_ON,      /* true: as the default; cannot override a site's `off` */
	GR_LANDLOCK_OFF,     /* false */
};

enum gr_network {
	GR_NET_HOST, /* share the host network namespace */
	GR_NET_NONE, /* new net namespace with only loopback, up */
};

/*
 * Each limit of linux.resources, by its OCI path below linux.resources; the
 * names (gr_limit_name()) are what gridrun.optional_limits lists.
 */
enum gr_limit {
	GR_LIM_MEMORY_LIMIT,   /* "memory.limit" */
	GR_LIM_MEMORY_SWAP,    /* "memory.swap" */
	GR_LIM_CPU_SHARES,     /* "cpu.shares" */
	GR_LIM_CPU_QUOTA,      /* "cpu.quota" */
	GR_LIM_CPU_PERIOD,     /* "cpu.period" */
	GR_LIM_PIDS_LIMIT,     /* "pids.limit" */
	GR_LIM_BLKIO_WEIGHT,   /* "blockIO.weight" */
	GR_LIM_BLKIO_LEAF_WEIGHT,  /* "blockIO.leafWeight", also a device's leafWeight */
	GR_LIM_BLKIO_WEIGHT_DEVICE,
	GR_LIM_BLKIO_READ_BPS, /* "blockIO.throttleReadBpsDevice"; the four */
	GR_LIM_BLKIO_WRITE_BPS,  /* throttles in this order (GR_BLKIO_THROTTLE_*) */
	GR_LIM_BLKIO_READ_IOPS,
	GR_LIM_BLKIO_WRITE_IOPS,
	GR_LIM_COUNT
};

/* "memory.swap" for GR_LIM_MEMORY_SWAP, ...; NULL when out of range. */
const char *gr_limit_name(enum gr_limit lim);

enum { GR_BLKIO_READ_BPS, GR_BLKIO_WRITE_BPS, GR_BLKIO_READ_IOPS, GR_BLKIO_WRITE_IOPS,
       GR_BLKIO_THROTTLES };

/* One entry of blockIO.weightDevice or of a throttle list. */
struct gr_blkio_dev {
	unsigned major, minor;
	unsigned long long value; /* weight (10..1000; 0 unset) or rate per second */
	unsigned leaf_weight;     /* weightDevice's leafWeight, 0 unset */
};

#define GR_BLKIO_MAX_DEVICES 64

/* Resource limits (linux.resources); -1 / 0 = not set. Applied by cgroups/. */
struct gr_resources {
	long long memory_limit;  /* bytes, -1 unset */
	long long memory_swap;   /* bytes, -1 unset */
	long long cpu_quota;     /* us, -1 unset */
	unsigned long long cpu_period; /* us, 0 unset */
	unsigned long long cpu_shares; /* 0 unset */
	long long pids_limit;    /* -1 unset */
	unsigned blkio_weight;   /* 10..1000, 0 unset */
	unsigned blkio_leaf_weight;
	struct gr_blkio_dev *weight_devices;  /* each with a weight and/or a leafWeight */
	size_t nweight_devices;
	struct gr_blkio_dev *throttle[GR_BLKIO_THROTTLES]; /* value = bytes or ops per second */
	size_t nthrottle[GR_BLKIO_THROTTLES];
	unsigned set;            /* 1 << GR_LIM_* of every limit the spec sets */
	unsigned optional;       /* 1 << GR_LIM_* listed in gridrun.optional_limits */
	bool any;                /* set != 0 */
};

struct gr_spec {
	char *file;              /* the name used in error messages */
	char *oci_version;

	/* process */
	char **args;             /* NULL-terminated, nargs >= 1, args[0] non-empty */
	size_t nargs;
	char **env;              /* NULL-terminated, each "NAME=value", NAME non-empty */
	size_t nenv;
	char *cwd;               /* absolute, normalised; must not be under /proc */
	uid_t uid;               /* process.user.uid inside the job */
	gid_t gid;
	struct gr_rlimit *rlimits;
	size_t nrlimits;

	/* root */
	char *root_path;         /* absolute host path; "/" by default */

	char *hostname;          /* NULL: keep "gridrun" default chosen by runtime */

	struct gr_mount *mounts;
	size_t nmounts;

	/* linux */
	int namespaces;          /* CLONE_NEW* bits */
	char **masked_paths;     /* extra to the defaults, NULL-terminated */
	size_t nmasked_paths;
	char **readonly_paths;
	size_t nreadonly_paths;
	struct gr_resources resources;
	unsigned long long tmpfs_size; /* size= of the job's private tmpfs (mountns.h), 0 =
					* the kernel's default; not in the spec: the CLI sets
					* it from the memory limit or the site's tmpfs_size */

	/* gridrun */
	char *job_id;            /* [A-Za-z0-9._-]{1,64}, not starting with '.'; NULL = generated */
	char *account;
	char *pool;
	char *sandbox;           /* absolute host path, depth >= 2 ("/a/b"); NULL = none */
	char *sandbox_cover;     /* the ancestor of sandbox covered in the job; NULL = its parent */
	char *rootfs;            /* name from the site config; NULL = none */
	enum gr_network network;
	char *accounting;        /* a path, or "fd:N"; NULL = no record */
	int accounting_fd;       /* N of "fd:N", -1 otherwise */

	enum gr_landlock_mode landlock; /* gridrun.landlock (landlock.h) */

	/* seccomp (runtime/seccomp.h); neither set: the "grid-default" profile */
	char *seccomp_profile;   /* gridrun.seccomp_profile, a name as job_id; NULL = none */
	char *seccomp_doc;       /* linux.seccomp given (an object): a copy of the whole spec
				  * text, NUL-terminated, which the profile loader reads at
				  * "linux.seccomp", so its messages point into the spec */
	size_t seccomp_doc_len;

	/* OCI compatibility (spec-oci.c) */
	char *bundle;            /* absolute; relative root.path is below it; NULL for a string */
	unsigned ignored;        /* GR_SPEC_IGNORED_*: accepted, not honoured, one notice each */
	int oom_score_adj;       /* process.oomScoreAdj, with has_oom_score_adj */
	bool has_oom_score_adj;
	int umask;               /* process.user.umask, -1 = unset (the caller's) */
};

enum {
	GR_SPEC_IGNORED_CAPS = 1 << 0,
	GR_SPEC_IGNORED_TERMINAL = 1 << 1,
	GR_SPEC_IGNORED_SYSFS = 1 << 2,
	GR_SPEC_IGNORED_MAPPINGS = 1 << 3,
	GR_SPEC_IGNORED_CGROUPS_PATH = 1 << 4,
};

/* The one-line notice for one GR_SPEC_IGNORED_* bit ("json.path: what"), NULL if none. */
const char *gr_spec_notice_text(unsigned bit);

/* In the job's process before execve: process.user.umask. */
int gr_spec_oci_apply_in_child(const struct gr_spec *spec, struct gr_error **err);
/*
 * process.oomScoreAdj, in init while it is still dumpable (a non-dumpable
 * process's /proc files belong to host root) and before its ids change; the
 * job inherits it. Raising needs no privilege; lowering below the
 * supervisor's fails with EACCES, reported as such.
 */
int gr_spec_oci_oom_in_child(const struct gr_spec *spec, struct gr_error **err);
/*
 * At the job's start (gr_job_start(), before any lease, in the caller's
 * mount namespace): in a bundle's rootfs (spec->bundle set and root.path
 * neither "/" nor the host's root by another name), create each missing
 * mount target (gridrun's own and the spec's) as runc does, as the bundle
 * directory's owner: root running a user's bundle forks a child with that
 * user's uid, gid and no groups, so it makes nothing the user could not, and
 * the job's own ids (a leased range) need no write access to the rootfs.
 * The bundle is opened without following a symlink and a rootfs below it
 * from its fd with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), so the
 * owner taken is that of the directory the rootfs lies in; every lookup in
 * the rootfs is openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS) from its fd,
 * so a symlink in it never leads a creation outside. Nothing missing: no
 * fork, no creation.
 */
int gr_spec_oci_make_targets(const struct gr_spec *spec, struct gr_error **err);

/* name is FILE in the messages about the spec's text (NULL: path); those
 * about reading the file name path. */
int gr_spec_load_file(const char *path, const char *name, struct gr_spec **out, struct gr_error **err);
/* The same with the OCI bundle directory given (gridrun run --bundle); NULL:
 * the spec file's directory. A relative root.path is relative to it. */
int gr_spec_load_bundle(const char *path, const char *name, const char *bundle,
			struct gr_spec **out, struct gr_error **err);
/* name is used as FILE in messages. */
int gr_spec_load_string(const char *text, size_t len, const char *name,
			struct gr_spec **out, struct gr_error **err);
void gr_spec_free(struct gr_spec *spec);
void gr_spec_freep(struct gr_spec **spec);
#define _cleanup_gr_spec_ __attribute__((cleanup(gr_spec_freep)))

#endif
