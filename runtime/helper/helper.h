/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helper.h - gridrun-helper: the privileged step of helper mode (design §2).
 *
 * gridrun-helper is the only privileged code when an unprivileged pilot
 * account runs jobs with a pool. It is installed setuid-root (or with the
 * file capabilities; see README for the seven) and is run by the
 * gridrun supervisor, its caller, once per step. Its whole request is argv;
 * the environment is cleared before anything else, and nothing is read from
 * it. The site configuration is GR_CONFIG_DEFAULT, fixed at build time.
 *
 *   gridrun-helper lease POOL JOB_ID
 *       leases a free range of POOL for the caller's account (its real uid's
 *       name in NSS, never an argument) with the caller as holder; prints
 *       "INDEX FIRST COUNT\n".
 *   gridrun-helper lease POOL JOB_ID UID GID     (fd 3: the sandbox directory)
 *       the same, and in the same run hands the caller's own directory (its
 *       owner must be the caller) to ids FIRST+UID, FIRST+GID of that lease
 *       (handover.h; the way is the configuration's sandbox_handover): the
 *       caller's uid and primary gid become the job's; a chown is noted in
 *       the lease first (its walk back is owed). fd 3 is checked before
 *       anything is leased; a hand-over that fails after it releases the
 *       lease again (walking back what it noted). Prints "INDEX FIRST COUNT
 *       idmap\n" and passes the detached idmapped mount as SCM_RIGHTS on
 *       stdout (which must be a unix socket), or prints "INDEX FIRST COUNT
 *       chown N L\n" (N entries changed, L files with more than one link
 *       left the caller's).
 *   gridrun-helper map POOL INDEX PID          (fd 3: a pidfd of PID)
 *       writes setgroups "allow", uid_map and gid_map "0 FIRST COUNT" of
 *       PID: exactly the lease of range INDEX, which must be held by the
 *       caller (holder pid, its start time, this boot, its account). PID
 *       must be the caller's own child (PPid), run with the caller's uid, be
 *       in a user namespace of its own, and be the process of the pidfd.
 *   gridrun-helper lease-map POOL JOB_ID PID [UID GID]
 *                          (fd 3: a pidfd of PID; fd 4: the sandbox directory)
 *       lease (with UID GID: lease ... UID GID, its hand-over through fd 4)
 *       and map of the new range onto PID in one run, for a supervisor that
 *       created its job's init first (held before its maps): one setuid
 *       run fewer per job. PID is checked as for map (the caller's own
 *       child, its uid, a user namespace of its own, the pidfd's process)
 *       and fd 4 as for lease before anything is leased; the nsfs file
 *       handle of PID's user namespace is in the lease from its first write
 *       (as map notes it); the maps are written with map's effective
 *       capabilities only (CAP_SETUID, CAP_SETGID) and checked as map
 *       checks them. A failure after the lease releases it again (walking
 *       back the hand-over), so a refused or failed lease-map leaves no
 *       lease and no mount; a range whose maps were written but whose map
 *       check then failed goes to a blocked quarantine, as map's would at
 *       its release. Last, where the BPF LSM is loaded, it registers the
 *       job as lsm-add does (its failure is lease-map's). Prints what lease
 *       prints (and passes the mount alike), then "lsm KEY\n" if it
 *       registered the job: no lsm-add run.
 *   gridrun-helper release POOL INDEX [sandbox]   (fd 3: the sandbox directory)
 *       puts the caller's lease of range INDEX into quarantine, after
 *       killing every process that holds an id of the range and walking
 *       back the sandbox noted in the lease (lease.h; a "pending" range,
 *       whose noted user namespace still lives, is left to the gc that
 *       settles it, which kills them first); prints nothing, or
 *       "blocked: WHY\n" when that could not be settled (the range then
 *       stays in quarantine until a gc settles it).
 *       With "sandbox", first the chown's walk back through fd 3 (a
 *       directory owned by the caller or by an id of the range): the
 *       processes holding the range's ids are killed, then every entry under
 *       fd 3 owned by an id of the lease becomes the caller's, then the
 *       lease's note goes; prints "walked N\n" before the line above. A walk
 *       back that cannot finish is left to the release's own walk back of the
 *       noted sandbox, which blocks the range if it cannot finish either.
 *       The BPF LSM's entries of the range (lease-map's or lsm-add's) go
 *       too, after the kill and before the lease (while the range is still
 *       the caller's), and their denials are printed as lsm-del prints
 *       them ("denials ...\n", between "walked" and "blocked"): no lsm-del
 *       run. Where CAP_SYS_ADMIN is not permitted, only if the kernel lets
 *       bpf() reach the pins without it (6.1 and 6.18 as tested do; else
 *       the next lease-map or lsm-add of the range drops them).
 *   gridrun-helper gc POOL
 *       reclaims leases of dead holders and ends quarantines (lease.h; it
 *       never touches a live holder's lease), for an account of the pool;
 *       reclaiming settles as release does, and blocked quarantines are
 *       retried (so a SIGKILLed supervisor's sandbox comes back).
 *   gridrun-helper lsm-add POOL INDEX PID      (fd 3: a pidfd of PID)
 *       registers PID's job with the BPF LSM (lsm.h): the inode number of
 *       PID's user namespace as the job, the caller's lease of range INDEX
 *       as its range, PID tagged by the pidfd. PID is checked as for map
 *       (the caller's own child, its uid, a user namespace of its own, the
 *       pidfd's process), so it runs before sync #1, and, where the LSM
 *       may be loaded, PID's user namespace must be mapped within the lease
 *       (map wrote it; 77 otherwise). An entry left for the
 *       same range is dropped first if no process holds an id of the range
 *       (a dead supervisor's), else refused (77): one entry per lease.
 *       lsm-add, lsm-del and release kill and drop only while the range is
 *       still the caller's lease (lease.h's gr_lease_hold()).
 *       Prints "KEY\n", or "0\n" when the LSM is not loaded.
 *   gridrun-helper lsm-del POOL INDEX
 *       kills every process holding an id of the caller's lease of range
 *       INDEX (as release does: an unregistered job must have no task
 *       left), then removes the LSM's entries for that range and their
 *       denial counts; prints "none\n" (nothing registered, or the LSM is
 *       not loaded) or "denials TOTAL N0 .. N16\n" (per hook, lsm.h).
 * Only lease-map with UID GID takes fd 4; every other request has it closed
 * right after the parse, as every fd above 4 is at entry.
 * POOL is a configuration name, JOB_ID a lease job id ([A-Za-z0-9._-]{1,64},
 * no leading '.'), INDEX a decimal below the pool's ranges, PID a decimal in
 * 1..4194304 (PID_MAX_LIMIT), UID and GID decimals below the range's size;
 * no sign, space, leading zero or other argument.
 *
 * Exit status: 0 done; 64 bad request (argv); 77 refused (not the caller's
 * child, lease or pool; the caller is root); 75 pool exhausted; 71 the step
 * failed (configuration, install, system error). Anything but 0 comes with
 * exactly one line on stderr, "gridrun-helper: what is wrong", and leaves
 * nothing behind (the one exception: should the final check of step 4 fail
 * after a lease was taken, that lease is its caller's and gc reclaims it
 * once the caller has ended).
 *
 * Privilege, in order (gr_helper_enter() runs before argv is looked at):
 *  1. non-dumpable, environment cleared, umask 077, fds 0-2 present and all
 *     fds above 4 closed, signal dispositions and mask reset (SIGXFSZ
 *     ignored: a write past the caller's RLIMIT_FSIZE is an error, not death;
 *     SIGTSTP, SIGTTIN and SIGTTOU too: a terminal sends them unasked, S36;
 *     execve left only the ignored ones to reset, which one read of
 *     /proc/self/status names, with the bounding set of step 2), and
 *     scheduling SCHED_OTHER at nice -20 whatever the caller's (S36; with
 *     CAP_SYS_NICE, which step 2 drops).
 *  2. capabilities: only CAP_SETUID, CAP_SETGID, CAP_KILL and, for the
 *     sandbox hand-over, CAP_CHOWN, CAP_DAC_READ_SEARCH, CAP_FOWNER and
 *     CAP_SYS_ADMIN stay permitted (every other one leaves the bounding set
 *     too when installed setuid-root), ambient cleared, no inheritable. Once
 *     the request is parsed, gr_helper_narrow() keeps only its own: SETUID
 *     and SETGID for map; all of them for lease, lease-map, release and gc (they kill a
 *     range's holders, look for its user namespaces, hand sandboxes over
 *     and walk them back; with "sandbox" all must be permitted);
 *     (and CAP_SYS_ADMIN, if permitted, for lease-map and release too);
 *     SETUID, SETGID and CAP_SYS_ADMIN (if permitted) for lsm-add, and
 *     CAP_KILL as well for lsm-del: the pinned maps are root's (euid 0 to
 *     open them), and kernels before 6.5 refuse every bpf() command without
 *     CAP_BPF or CAP_SYS_ADMIN while unprivileged BPF is disabled.
 *  3. effective uid and all gids become the caller's; real and saved uid
 *     become 0, so that the caller can neither signal nor prlimit the
 *     helper while it holds a pool's locks (S36, helper-shield.c), and it
 *     is refused where the caller could freeze it (a cgroup the caller can
 *     write). The lease files (root's, 0700) are then touched with euid 0
 *     for the moment of each file operation only (CAP_SETUID), and the maps
 *     are written with the caller's euid, so that the kernel itself also
 *     requires the target's user namespace to be the caller's own.
 *  4. gr_helper_leave() before anything is printed: real, effective and
 *     saved uid the caller's, no capability in any set, no 0 in any uid or
 *     gid slot, non-dumpable again (a uid change
 *     resets it to fs.suid_dumpable), and it checks all of that.
 * Pid reuse: the target is held by the caller's pidfd (fd 3). Its pid
 * (fdinfo) must be PID; /proc/PID is opened, checked (parent, uid, user
 * namespace), and only then is the pidfd checked to be alive: the pidfd
 * existed before the open, so a live pidfd means /proc/PID was its process.
 * The uid_map write opens /proc/PID anew and repeats that check (userns.h).
 */
#ifndef GRIDRUN_HELPER_H
#define GRIDRUN_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "lease.h"

#define GR_HELPER_PIDFD 3
#define GR_HELPER_SBXFD 4   /* lease-map's sandbox directory */
#define GR_HELPER_PID_MAX 4194304

enum {
	GR_HELPER_EXIT_OK = 0,
	GR_HELPER_EXIT_USAGE = 64,
	GR_HELPER_EXIT_FAILED = 71,
	GR_HELPER_EXIT_EXHAUSTED = 75,
	GR_HELPER_EXIT_REFUSED = 77,
};

enum gr_helper_op {
	GR_HELPER_LEASE = 1,
	GR_HELPER_MAP,
	GR_HELPER_RELEASE,
	GR_HELPER_GC,
	GR_HELPER_LSM_ADD,
	GR_HELPER_LSM_DEL,
	GR_HELPER_LEASE_MAP,
};

struct gr_helper_req {
	enum gr_helper_op op;
	char pool[GR_NAME_MAX + 1];
	char job_id[GR_JOB_ID_MAX + 1];   /* lease, lease-map */
	unsigned index;                   /* map, release, lsm-add, lsm-del */
	pid_t pid;                        /* map, lsm-add, lease-map */
	bool sandbox;                     /* lease UID GID, release sandbox: fd 3;
					   * lease-map UID GID: fd 4 */
	uid_t uid;                        /* lease's sandbox: inside the range */
	gid_t gid;
};

/* Who runs the helper: its parent, held by pidfd from entry on. */
struct gr_helper_caller {
	pid_t pid;
	int pidfd;
	unsigned long long start;         /* /proc/PID/stat field 22 */
	uid_t uid;
	gid_t gid;
};

/* The requests, for errors and --help. */
#define GR_HELPER_USAGE "usage: gridrun-helper lease POOL JOB_ID [UID GID] | map POOL INDEX PID | " \
	"lease-map POOL JOB_ID PID [UID GID] | release POOL INDEX [sandbox] | gc POOL | " \
	"lsm-add POOL INDEX PID | lsm-del POOL INDEX"

/* Steps 1-3 above; err->code is the exit status on failure. */
int gr_helper_enter(struct gr_helper_caller *caller, struct gr_error **err);
/* Step 1's environment part: nothing of the caller's environment is left. */
void gr_helper_clean_env(void);
/* Pure: argv (argv[0] is the program) to a request; err->code is 64. */
int gr_helper_parse(int argc, char *const argv[], struct gr_helper_req *req, struct gr_error **err);
/* Step 2's narrowing to what req needs (after the parse). */
int gr_helper_narrow(const struct gr_helper_req *req, struct gr_error **err);
/* Do the request; out gets the line to print on success (may be empty),
 * *outfd an fd to pass with it (or -1). */
int gr_helper_act(const struct gr_helper_caller *caller, const struct gr_helper_req *req,
		  char *out, size_t outsz, int *outfd, struct gr_error **err);
/* Step 4 (caller as gr_helper_enter() left it); a failure is the helper's
 * (exit 71). */
int gr_helper_leave(const struct gr_helper_caller *caller, struct gr_error **err);

/* S36 (helper-shield.c): the first file of this process's cgroup, or of an
 * ancestor (v2: cgroup.freeze, cgroup.procs; v1: freezer.state), that uid
 * (with gid and this process's supplementary groups) could write, and so
 * freeze the process or move it where it could: 1, the file's path in
 * file; 0 when there is none. The helper refuses such a caller for a pool
 * shared with another account; `gridrun check` reports it to the account. */
int gr_helper_freezer_file(uid_t uid, gid_t gid, char *file, size_t size, struct gr_error **err);

/* The caller's side (helper-client.c): run the helper at $GRIDRUN_HELPER,
 * else GR_HELPER_PATH; its failure line becomes err's message. */
const char *gr_helper_path(void);
/* dirfd >= 0: the sandbox handed over in the same run, to inner ids uid:gid;
 * *mntfd the idmapped mount, or -1 when the helper chowned (*count: what it
 * did). dirfd < 0: mntfd and count unused. */
struct gr_handover_count;
int gr_helper_lease(const char *pool, const char *job_id, int dirfd, uid_t uid, gid_t gid, int *mntfd,
		    struct gr_handover_count *count, struct gr_lease *lease, struct gr_error **err);
int gr_helper_map(const char *pool, unsigned index, pid_t pid, int pidfd, struct gr_error **err);
/* lease-map: gr_helper_lease() and gr_helper_map() of pid (held by pidfd)
 * in one run; dirfd, uid, gid, *mntfd, *count and *lease as for
 * gr_helper_lease(). *reg (if not NULL) as gr_helper_lsm_add() sets it when
 * the helper registered the job with the BPF LSM (reg->at_release: its
 * release unregisters it), else cleared. */
struct gr_lsm_reg;
struct gr_lsm_denials;
int gr_helper_lease_map(const char *pool, const char *job_id, pid_t pid, int pidfd, int dirfd, uid_t uid,
			gid_t gid, int *mntfd, struct gr_handover_count *count, struct gr_lease *lease,
			struct gr_lsm_reg *reg, struct gr_error **err);
/* 1: released, but blocked (err says why). dirfd >= 0: a chown's walk back
 * through it first (*walked: entries changed). *den (if not NULL): the
 * denials of the BPF LSM entries the release dropped (den->loaded false
 * when there were none). */
int gr_helper_release(const char *pool, unsigned index, int dirfd, unsigned long *walked,
		      struct gr_lsm_denials *den, struct gr_error **err);
/* adds what gc did to *st (may be NULL) */
int gr_helper_gc(const char *pool, struct gr_lease_gc_stats *st, struct gr_error **err);
/* The BPF LSM in helper mode, for a job whose lease and maps came from
 * gr_helper_map() (lease-map registers its own). gr_helper_lsm_add()
 * registers the job whose init pid is, with the lease (pool, index) its
 * maps were written for (priv.h's lsm_add, through the supervisor's lsm_add hook), before sync #1
 * (the helper checks the target still runs as the caller). 1 registered (reg
 * says how to undo it: the lease is kept there, per run), 0 not loaded,
 * -errno with *err (the job must not start). No helper is run when the pins
 * are absent (stat, no privilege).
 * gr_helper_lsm_del() undoes it after the job's last task is gone, with the
 * denials into *out; nothing when reg is not the helper's. */
int gr_helper_lsm_add(const char *pool, unsigned index, pid_t pid, int pidfd, struct gr_lsm_reg *reg,
		      struct gr_error **err);
int gr_helper_lsm_del(struct gr_lsm_reg *reg, struct gr_lsm_denials *out, struct gr_error **err);

#endif
