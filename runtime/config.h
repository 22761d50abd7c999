/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.h - the site configuration, /etc/gridrun/gridrun.conf (design §5).
 *
 * INI, parsed with libinih:
 *     [runtime]     state_dir, lease_dir, cgroup_base   (absolute paths, all optional),
 *                   sandbox_handover (auto | idmap | chown; handover.h: how a
 *                   leased job gets its sandbox; auto: idmap where possible),
 *                   tmpfs_size (bytes, or N[kmg]; at least 1 MiB: the size of
 *                   each private tmpfs of a job without a memory limit, see
 *                   mountns.h; unset: the kernel's default, half of the RAM),
 *                   default_pids_limit (1-4194304: linux.resources.pids.limit
 *                   of a spec that sets none; unset: no default)
 *                   landlock (on | off; landlock.h: on where the kernel has it)
 *                   record_dir (absolute; where gridrun_spank.so keeps the
 *                   records of Slurm tasks; gridrun itself does not use it)
 *     [pool NAME]   first_uid, ranges (required); range_size (65536),
 *                   accounts (space-separated; empty or absent: nobody may lease),
 *                   quarantine_seconds (600), vos (space-separated VO names:
 *                   gridrun-condor maps a job to this pool only when its
 *                   proxy's VO is listed; empty or absent: any VO)
 *     [rootfs NAME] path
 * examples/gridrun.conf is a commented sample.
 *
 * Contract: gr_config_load() returns 0 and a fully checked configuration, or
 * a negative errno and one error "FILE:LINE: section: key: what is wrong",
 * e.g. "gridrun.conf:12: pool atlas: first_uid: expected a number". FILE is
 * the path as given. Unknown sections and keys, duplicate sections and keys,
 * and indented lines are errors (inih would read an indented key as a
 * continuation of the one above it, silently).
 *
 * Pools are checked when the file is loaded, so that a bad pool never leases:
 *  - first_uid >= 65536: the 16-bit id space holds root, the system and
 *    regular accounts of every distribution, nobody/nogroup (65534) and
 *    (uid16_t)-1; no pool may ever hand those out, whatever NSS says.
 *  - the last uid, first_uid + ranges * range_size - 1, is at most
 *    4294967294: 4294967295 is (uid_t)-1, which no map extent may contain
 *    (kubelet #139916), and the sum is computed in 64 bits (no wrap, #141345).
 *  - 1 <= ranges <= 65536, range_size >= 1, quarantine_seconds <= 30 days.
 *  - pools do not overlap each other.
 *  - no pool holds the uid or the primary gid of an account, or the gid of a
 *    group, that NSS lists (getpwent()/getgrent(), plus getpwuid()/getgrgid()
 *    of each pool's first and last id, because sssd and LDAP often do not
 *    enumerate), nor the kernel's overflow uid/gid, nor a range of
 *    /etc/subuid or /etc/subgid (whose owner could map it with newuidmap).
 *    A network account created after the load is not seen: choose pools far
 *    from any directory's allocation (CVE-2024-56433); see examples/.
 *    The NSS and subid part is spared while a stamp in lease_dir says it
 *    passed for the same pools, passwd, group, subuid, subgid and
 *    nsswitch.conf less than GR_CONFIG_IDS_STAMP_MAX_AGE ago (config-ids.c
 *    says how it is kept and why it can be trusted); GR_CONFIG_IDS_FULL
 *    always checks. While the stamp holds, these checks make no NSS call.
 *
 * Which file: gr_config_load_cli() takes --config PATH, else
 * $GRIDRUN_CONFIG, else GR_CONFIG_DEFAULT; only the default may be missing
 * (no pools). The setuid helper must call gr_config_load(GR_CONFIG_DEFAULT,
 * ...) with its build-time path and never look at the environment.
 * When loaded by root, the file must be a regular file owned by root and
 * writable by nobody else: whoever can write it decides which uids jobs get.
 * state_dir and cgroup_base are root mode's (the CLI applies them when it
 * runs as root, unless GRIDRUN_STATE_DIR / GRIDRUN_CGROUP_BASE say otherwise);
 * lease_dir is the root of the lease files (lease.h).
 */
#ifndef GRIDRUN_CONFIG_H
#define GRIDRUN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"

/* How a sandbox is handed over to a leased range (sandbox_handover; the
 * hand-over itself is handover.h's: the config parser must not pull the
 * privileged code in, gridrun-exporter links it). */
enum gr_handover_way {
	GR_HANDOVER_AUTO = 0,   /* idmap where the kernel and filesystem allow, else chown */
	GR_HANDOVER_IDMAP,      /* idmap or fail */
	GR_HANDOVER_CHOWN,      /* always chown */
};
int gr_handover_way_parse(const char *s, enum gr_handover_way *way);
const char *gr_handover_way_name(enum gr_handover_way way);

#ifndef GR_CONFIG_DEFAULT
#define GR_CONFIG_DEFAULT "/etc/gridrun/gridrun.conf"
#endif
#define GR_LEASE_DIR_DEFAULT "/var/lib/gridrun/leases"

#define GR_POOL_MIN_FIRST_UID 65536u
#define GR_POOL_MAX_RANGES 65536u
#define GR_POOL_LAST_UID 4294967294u         /* (uid_t)-1 is never an id */
#define GR_POOL_RANGE_SIZE_DEFAULT 65536u
#define GR_POOL_QUARANTINE_DEFAULT 600u
#define GR_POOL_QUARANTINE_MAX (30u * 86400u)
#define GR_NAME_MAX 32                       /* pool, rootfs and account names */

struct gr_pool {
	char *name;                  /* [A-Za-z0-9._-]{1,32}, not starting with '.' */
	uid_t first_uid;             /* ranges are first_uid + i * range_size, i < ranges */
	unsigned ranges;
	unsigned range_size;
	char **accounts;             /* NULL-terminated; none: nobody may lease */
	size_t naccounts;
	unsigned quarantine_seconds;
	char **vos;                  /* NULL-terminated, may be NULL; gridrun-condor's VO filter */
	size_t nvos;
	const char *lease_dir;       /* the configuration's lease_dir */
	char *const *leftover_dirs;  /* the configuration's leftover_dirs (may be NULL) */
	const char *file;            /* the configuration's file, for messages */
	unsigned line;               /* of its [pool NAME] header */
};

struct gr_rootfs {
	char *name;
	char *path;
	unsigned line;
};

struct gr_config {
	char *file;                  /* as given; NULL when no file was read */
	char *state_dir;             /* NULL: not set */
	char *lease_dir;             /* always set: GR_LEASE_DIR_DEFAULT unless given */
	char *cgroup_base;           /* NULL: not set */
	char *record_dir;            /* NULL: not set; read by slurm/gridrun_spank.so */
	enum gr_handover_way handover; /* sandbox_handover (handover.h): auto unless given */
	unsigned long long tmpfs_size; /* bytes; 0: not set */
	long long default_pids_limit;  /* 0: not set */
	bool landlock_off;           /* landlock = off: no job gets the Landlock layer */
	char **leftover_dirs;        /* NULL-terminated, may be NULL: the site's other
				      * directories every user may write (lease-leftover.c) */
	size_t nleftover_dirs;
	struct gr_pool *pools;
	size_t npools;
	struct gr_rootfs *rootfs;
	size_t nrootfs;
	bool ids_unchecked;          /* loaded with GR_CONFIG_IDS_LATER, not yet checked */
	struct stat file_stat;       /* of file as it was read (no stamp without a file) */
};

enum {
	GR_CONFIG_OPTIONAL = 1 << 0, /* a missing file is an empty configuration */
	/* the pools' NSS, overflow-id and subid checks wait for
	 * gr_config_check_ids(): `gridrun run` of a spec that names no pool
	 * enumerates no passwd/group (nor loads libnss_* into a supervisor that
	 * lives as long as its job); one that leases checks before it does */
	GR_CONFIG_IDS_LATER = 1 << 1,
	/* enumerate passwd and group even when the stamp is fresh */
	GR_CONFIG_IDS_FULL = 1 << 2,
};

/* A stamp older than this is not trusted (seconds): what directories that
 * do not enumerate add is seen at most this late (config-ids.c). */
#define GR_CONFIG_IDS_STAMP_MAX_AGE 600ull

int gr_config_load(const char *path, unsigned flags, struct gr_config **out, struct gr_error **err);
/* The CLI's choice of file (see above); explicit may be NULL. */
int gr_config_load_cli(const char *explicit_path, struct gr_config **out, struct gr_error **err);
/* As gr_config_load_cli(), with flags (GR_CONFIG_IDS_LATER). */
int gr_config_load_cli_flags(const char *explicit_path, unsigned flags, struct gr_config **out,
			     struct gr_error **err);
/* The checks GR_CONFIG_IDS_LATER left out, once; 0 when done or not needed. */
int gr_config_check_ids(struct gr_config *cfg, struct gr_error **err);
/* How many times this process enumerated passwd and group (for tests). */
unsigned gr_config_ids_enumerations(void);
void gr_config_free(struct gr_config *cfg);
void gr_config_freep(struct gr_config **cfg);
#define _cleanup_gr_config_ __attribute__((cleanup(gr_config_freep)))

const struct gr_pool *gr_config_pool(const struct gr_config *cfg, const char *name);
/* The pool named by a spec, which account may lease from: 0, or an error
 * naming the pool and what is wrong ("no pool ...", "account ... may not"). */
int gr_config_pool_for(const struct gr_config *cfg, const char *name, const char *account,
		       const struct gr_pool **pool, struct gr_error **err);
/* 0 when account may lease from pool, else an error saying why not. */
int gr_pool_check_account(const struct gr_pool *pool, const char *account, struct gr_error **err);
/* A name as pools, rootfs and accounts use (as the spec's): [A-Za-z0-9._-]{1,32}, no leading '.'. */
bool gr_config_name_ok(const char *name);

#endif
