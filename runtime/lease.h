/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lease.h - leases of subordinate uid ranges from a pool (design §5).
 *
 * A pool (config.h) is cut into `ranges` ranges of `range_size` host uids
 * (and the same gids); range N is first_uid + N * range_size. Its state lives
 * in LEASE_DIR/POOL/ (both 0700, owned by root, checked on every open):
 *   N.lease        range N is leased. JSON: pool, index, first, count, job_id,
 *                  account, holder_pid, holder_start (/proc/PID/stat field
 *                  22), boot_id (/proc/sys/kernel/random/boot_id), leased_at.
 *                  While its sandbox may hold files of the range (the chown
 *                  hand-over was begun and its walk back has not finished),
 *                  also "sandbox": {path, dev, ino, mnt_id, owner, group}:
 *                  where it is (the path as the hand-over saw it, and the
 *                  directory's identity, to re-open it without following
 *                  a symlink and to know it is the same one) and to whom its
 *                  files go back. Noted before the walk to the range starts,
 *                  removed once a walk back has finished. "userns": the
 *                  nsfs file handle of the job's user namespace, noted by
 *                  the helper's map (lease-nsalive.c); kept in the
 *                  quarantine until that namespace is seen to have ended.
 *   N.quarantine   range N was released (or reclaimed) at released_at; the
 *                  same fields as the lease it ended, and "blocked": why the
 *                  range cannot be leased again yet (a process still holds
 *                  one of its ids; its sandbox's walk back cannot finish).
 *   .layout        "first_uid ranges range_size" the files were made for.
 *   .lock          flock(2): acquirers share it; a layout change takes it alone.
 *   .gclock        flock(2): releases share it; gc takes it alone.
 *   .tmp.PID.RAND  a file being written; never a lease.
 *   .spare         a released lease's file, kept for the next temp file (at
 *                  most one: a release renames N.lease to it unless it
 *                  exists, a writer renames it to its own .tmp name and then
 *                  replaces its contents). A new file per lease cost an
 *                  inode made at acquire and freed at release, which on
 *                  ext4 without a journal also searches past every inode
 *                  freed in the last seconds (recently_deleted()).
 *   .spare.N       range N's spare: the file of its quarantine that ended
 *                  (or of its lease, when .spare exists), at most one a
 *                  range; range N's next quarantine (or lease note) is
 *                  written into it. Helper mode writes a quarantine at
 *                  nearly every release ("pending", lease-nsalive.c), so
 *                  without it each of its jobs made an inode and a gc freed
 *                  it (issue 13). Taken and checked as .spare is.
 *
 * Guarantees and how they are kept:
 *  - A lease is never half-written: it is written in full to a private temp
 *    file (O_CREAT|O_EXCL|O_NOFOLLOW), then link()ed to N.lease, which fails
 *    with EEXIST when the range is taken. That link is what makes two live
 *    leases of one range impossible, also between acquirers that run at the
 *    same time (they only share the lock).
 *  - A range is free when N.lease does not exist and N.quarantine does not
 *    exist or has expired. The acquirer checks the quarantine again after
 *    its link succeeded (a job may have started and ended meanwhile) and
 *    backs off, unlinking only its own N.lease.
 *  - Only two things ever remove N.lease: its holder's release, and gc for a
 *    holder that is dead (pid gone, a zombie, or its start time or the boot
 *    id differ); an acquirer that backs off removes only the N.lease it has
 *    just linked. gc holds .gclock alone, so it races neither a release (which
 *    could otherwise replace a quarantine gc has judged) nor another gc, and
 *    an acquirer can never link while the dead lease is still there. gc
 *    never touches a lease whose holder lives. Acquirers take no lock that
 *    a release or gc takes: under contention they only ever retry a link.
 *  - Release writes N.quarantine first, then removes N.lease (renamed to
 *    .spare, or unlinked): a crash in between leaves a dead holder's lease,
 *    which gc reclaims. A spare's file may be written again at once, so
 *    whoever opened it as N.lease before may read another lease in it; only
 *    a reader that holds N.lease against its removal (its release under
 *    the range's lock, gc under .gclock alone, the holder itself) acts on
 *    what it reads; `gridrun ps` only shows it.
 *  - What the last tenant may have left (lease-reclaim.c), settled by every
 *    release and every reclaim by gc, before N.quarantine is written: every
 *    process with any of the range's ids (real, effective, saved, fs; uid
 *    or gid; /proc/PID/task/TID/status, so host ids) is SIGKILLed through
 *    a pidfd, and the sandbox noted in the lease is walked back. What cannot
 *    be settled (a holder that does not die, a walk that cannot finish, a
 *    sandbox gone) makes the quarantine "blocked", whatever
 *    quarantine_seconds says (also 0): no time ends it, only a gc that
 *    settles it (each gc retries). Settling also finds whoever could enter
 *    a user namespace of the range again (lease-userns.c, S33; not in root
 *    mode, where only root could: struct gr_lease's userns_root): a process
 *    in one, or holding one by an nsfs fd, is SIGKILLed; an nsfs mount of
 *    one keeps the quarantine blocked, and its line says where; so does
 *    a noted user namespace that still lives after that (lease-nsalive.c),
 *    and what the range left where the host's users reach it, owner or
 *    group in the range (lease-leftover.c; named, never removed): an inode
 *    in /tmp, /var/tmp, /dev/shm, /run/lock or a directory of the site's
 *    leftover_dirs, a POSIX message queue, or a SysV shared memory segment,
 *    message queue or semaphore set (its creator's ids count too) of the
 *    host's IPC namespace. (A release in root mode of a confined job, whose
 *    ids no process outside its ended PID namespace could hold, and which
 *    could write no place the host's users reach, kills no holder and looks
 *    for none of these: struct gr_lease's confined. gc looks for the
 *    leftovers of all its ranges whose namespaces are gone, and whose ids
 *    its own scan saw no task hold, in one scan of the pool. Nor does a release
 *    without a walk back whose noted user namespace still lives: that
 *    range is "pending" at once, and the gc that settles it kills its
 *    holders first; while the namespace lives its owner could enter it
 *    again after any kill, so only that gc can settle it.) Not looked for:
 *    world-writable directories the site does not name, IPC namespaces
 *    other than the caller's. An acquirer
 *    also scans for holders of a range's ids before it keeps the
 *    range; one it finds blocks the range, and the acquirer goes on to the
 *    next. (It does not scan for namespaces again: a namespace nothing
 *    held when its range was settled is freed for good.)
 *  - A quarantine ends after quarantine_seconds (CLOCK_REALTIME), or when gc
 *    sees no task on the node (/proc/PID/task/TID/status, all four uids and
 *    gids; zombies do not count) with an id in the range; quarantines made
 *    after gc's scan began are not judged by it. Every such scan for the
 *    holders of a range's ids (acquire, release, gc) takes its candidates
 *    from one run of the BPF holder scan (DIR/scan, kernels 6.7 on: only
 *    the processes with an id in the range) or else one read of the BPF
 *    task iterator (DIR/tasks: the tasks with an id >= 65536), both pinned
 *    by `gridrun-lsm` (lease-iter.c), instead of reading every process's
 *    status in /proc, and judges each as before: one scan, 97 processes
 *    2.8 -> 0.075 ms, ~3150 107-149 -> 8-9 ms (1.2-2.4 ms since the
 *    program reads by plain loads; 0.16-0.26 ms by the holder scan). A
 *    garbled file (a crash of the node while it was written) is judged by
 *    its mtime: a lease from an earlier boot is reclaimed, one from this
 *    boot is left alone.
 *  - A change of a pool's layout (first_uid, ranges, range_size) is refused
 *    while any of its ranges is leased or in quarantine.
 * Exhaustion is "pool atlas exhausted (64 of 64 ranges leased)" (with ", N in
 * quarantine" when some are), after one gc pass, and leaves nothing behind.
 * The code: lease.c (files, acquire, release), lease-gc.c (gc, listing),
 * lease-json.c (the files' contents).
 *
 * Who calls what: root-mode `gridrun run` acquires with its own pid as the
 * holder and releases after the job; the setuid helper (helper mode) would
 * acquire with the caller's pid as holder, and release only a lease whose
 * holder_pid and holder_start are its caller's (gr_lease_read() first).
 */
#ifndef GRIDRUN_LEASE_H
#define GRIDRUN_LEASE_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "error.h"
#include "userns.h"

#define GR_JOB_ID_MAX 64
#define GR_LEASE_PATH_MAX 4096
#define GR_LEASE_BLOCKED_MAX 256
#define GR_LEASE_USERNS_MAX 80

/* A sandbox whose walk back is owed (see N.lease above). */
struct gr_lease_sandbox {
	char path[GR_LEASE_PATH_MAX];
	unsigned long long dev, ino, mnt_id;
	uid_t owner;
	gid_t group;                  /* (gid_t)-1: groups were not handed over */
};

struct gr_lease {
	char pool[GR_NAME_MAX + 1];
	unsigned index;
	uid_t first;                  /* host uid (and gid) of the range's inner 0 */
	unsigned count;
	char job_id[GR_JOB_ID_MAX + 1];
	char account[GR_NAME_MAX + 1];
	pid_t holder_pid;
	unsigned long long holder_start;
	char boot_id[40];
	unsigned long long leased_at; /* CLOCK_REALTIME ns */
	bool has_sandbox;
	struct gr_lease_sandbox sandbox;
	char blocked[GR_LEASE_BLOCKED_MAX];   /* quarantine only: "" or why it stays */
	char userns[GR_LEASE_USERNS_MAX];     /* the job's user namespace's nsfs file handle
					       * (lease-nsalive.c); "" none noted, "?" one
					       * that could not be identified */
	bool userns_root;                     /* in memory only, never in a file: the job's
					       * supervisor saw (gr_lease_userns_root()) that
					       * the job's user namespace is a child of its
					       * own owned by its root (root mode), which no
					       * unprivileged process can enter: its release
					       * looks for no holder of that namespace */
	bool confined;                        /* in memory only, like userns_root (job.c):
					       * the job could write no place of the host's
					       * its idmapped sandbox (no writable bind, no
					       * chown hand-over, an IPC namespace of its
					       * own); with userns_root, its release looks
					       * for no holder and no leftover
					       * (gr_lease_settle()) */
};

enum gr_lease_state {
	GR_LEASE_HELD,
	GR_LEASE_DEAD,                /* its holder is dead: gc reclaims it */
	GR_LEASE_QUARANTINE,
};

struct gr_lease_info {
	enum gr_lease_state state;
	struct gr_lease lease;        /* in quarantine: the last holder's */
	unsigned long long released_at, free_at;   /* quarantine only, CLOCK_REALTIME ns;
						    * blocked: free_at is ULLONG_MAX */
};

struct gr_lease_gc_stats {
	unsigned reclaimed;           /* dead holders' leases moved to quarantine */
	unsigned freed;               /* quarantines ended */
	unsigned debris;              /* temp files of dead writers removed */
};

int gr_lease_acquire(const struct gr_pool *pool, const char *account, const char *job_id,
		     pid_t holder_pid, struct gr_lease *lease, struct gr_error **err);
/* The same with the nsfs file handle of the user namespace about to be
 * mapped (gr_lease_userns_handle()) noted in N.lease from the start, as
 * gr_lease_note_userns() would note it (helper lease-map: one write fewer). */
int gr_lease_acquire_noted(const struct gr_pool *pool, const char *account, const char *job_id,
			   pid_t holder_pid, const char *userns, struct gr_lease *lease, struct gr_error **err);
/* Release a lease into quarantine; refused unless N.lease is still exactly it.
 * 1: released, but the quarantine is blocked (err says why). */
int gr_lease_release(const struct gr_pool *pool, const struct gr_lease *lease, struct gr_error **err);
/* N.lease is still exactly lease, and stays so (its release, a note and gc
 * wait) until *lockfd is closed; close it before releasing. For what may
 * only be done to the range while it is the caller's (the helper's kill of
 * its holders and drop of its BPF LSM entries): once N.lease is gone, the
 * range may be the next job's. */
int gr_lease_hold(const struct gr_pool *pool, const struct gr_lease *lease, int *lockfd, struct gr_error **err);
/* Range index's lease as it is on disk; -ENOENT when it is not leased. */
int gr_lease_read(const struct gr_pool *pool, unsigned index, struct gr_lease *lease,
		  struct gr_error **err);
int gr_lease_gc(const struct gr_pool *pool, struct gr_lease_gc_stats *stats, struct gr_error **err);
/* Every lease and quarantine of the pool, by index. */
int gr_lease_list(const struct gr_pool *pool,
		  void (*cb)(void *data, const struct gr_lease_info *info), void *data,
		  struct gr_error **err);
void gr_lease_range(const struct gr_lease *lease, struct gr_uid_range *range);

/* Note in lease's N.lease (still exactly it) the sandbox whose walk back
 * will be owed (sbx), or that none is owed any more (sbx NULL). */
int gr_lease_note_sandbox(const struct gr_pool *pool, const struct gr_lease *lease,
			  const struct gr_lease_sandbox *sbx, struct gr_error **err);
/* Note in lease's N.lease the nsfs file handle of the user namespace about
 * to be mapped; refused (-EEXIST) when one is noted already (a lease maps
 * one namespace). replace: "?" over a noted one whose map check failed. */
int gr_lease_note_userns(const struct gr_pool *pool, const struct gr_lease *lease, const char *handle,
			 bool replace, struct gr_error **err);
/* The nsfs file handle of user namespace nsfd (text, for the lease);
 * -EOPNOTSUPP without nsfs file handles, -EXDEV outside the host's PID
 * namespace (the kernel would not answer for it there). */
int gr_lease_userns_handle(int nsfd, char *out, size_t size);
/* User namespace nsfd is a child of ours whose uid or gid map lies wholly
 * in [first, first+count): 1, 0 not, <0 error (a fork, lease-userns.c). */
int gr_lease_userns_mapped(int nsfd, uid_t first, unsigned long count);
/* Process pid's user namespace is a child of ours owned by our uid 0: 1,
 * 0 not (or cannot tell), for struct gr_lease's userns_root. Entering it
 * (setns) needs CAP_SYS_ADMIN in it, which only a process in it or below it
 * (all of them have the range's ids, and die by the holder scan) or our own
 * root (or one more privileged) has; so whoever merely holds it (an nsfs fd,
 * a bind mount, an fd in flight) can do nothing with it (lease-userns.c). */
int gr_lease_userns_root(pid_t pid);
/* This kernel, here (in the host's PID namespace), can tell whether a noted
 * user namespace still lives (`gridrun check`). */
bool gr_lease_userns_handles(void);
/* The sandbox at dirfd as a lease notes it (its path from /proc/self/fd). */
int gr_lease_sandbox_of(int dirfd, uid_t owner, gid_t group, struct gr_lease_sandbox *sbx,
			struct gr_error **err);
/* Processes with an id in [first, first+count): with kill, SIGKILLed (by
 * pidfd, after re-checking their ids) until none is left or a bound of
 * about two seconds passes. Returns how many are left (0: none), *one one
 * of them; -errno when /proc cannot be read. */
int gr_lease_holders(uid_t first, unsigned long count, bool kill, pid_t *one);
/* How many of this process's holder passes took their candidates from the
 * pinned task iterator and how many walked /proc (for tests and bench). */
void gr_lease_holder_passes(unsigned long *iter, unsigned long *proc);
/* How many of the first (iter) ran the pinned holder scan program (DIR/scan,
 * gridrun_scan.bpf.c) rather than reading the iterator (tests, bench). */
unsigned long gr_lease_holder_scans(void);
/* The same with kill, as an error: 0 when none is left, else -errno with
 * "N process(es) with the range's ids are left (pid P)" (-EBUSY) or why
 * /proc could not be read. Before a walk back or an LSM entry's removal:
 * no task of the range may add files behind it or outlive it. */
int gr_lease_kill_holders(uid_t first, unsigned long count, struct gr_error **err);

/* For the CLI: gc of every pool; a table of every pool's leases (gridrun ps). */
int gr_lease_gc_all(const struct gr_config *cfg, struct gr_lease_gc_stats *stats, struct gr_error **err);
int gr_lease_report(FILE *out, const struct gr_config *cfg, struct gr_error **err);

#endif
