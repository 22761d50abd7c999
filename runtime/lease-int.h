/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lease-int.h - what lease.c (acquire, release, the files) shares with
 * lease-gc.c (gc, listing); not for other modules. See lease.h.
 */
#ifndef GRIDRUN_LEASE_INT_H
#define GRIDRUN_LEASE_INT_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "lease.h"

#define NS 1000000000ull
#define TMP_PREFIX ".tmp."
#define SPARE ".spare"
#define SPARE_N ".spare.%u"   /* range N's spare (lease.h) */
#define NO_INDEX (~0u)

/* This boot's id (/proc/sys/kernel/random/boot_id, read once); "" if unreadable. */
const char *gr_lease_boot_id(void);
/* pid's start time and whether it is a zombie; -ESRCH when it is gone. */
int gr_lease_proc_stat(pid_t pid, unsigned long long *start, bool *zombie);
/* The holder of l runs (same boot, pid, start time; not a zombie). */
bool gr_lease_holder_alive(const struct gr_lease *l);
/* l as a lease file's JSON (with released_at when not 0), malloc'd;
 * NULL when it cannot be encoded (lease-json.c). */
char *gr_lease_json(const struct gr_lease *l, unsigned long long released_at);
/* A lease or quarantine file; -ENOENT if absent, -EINVAL if garbled. */
int gr_lease_read_entry(int dfd, const char *name, struct gr_lease *l, unsigned long long *released_at,
			struct stat *st);
/* LEASE_DIR/POOL as a checked fd; -ENOENT (without err) when absent and !create. */
int gr_lease_open_pool(const struct gr_pool *pool, bool create, int *out, struct gr_error **err);
/* flock(2) op on dfd/name (".lock" or ".gclock"), opened into *lockfd. */
int gr_lease_lock(int dfd, const char *name, int op, int *lockfd, struct gr_error **err);
/* Range index is in a quarantine that has not ended at now (*free_at: when it does). */
bool gr_lease_quarantined(int dfd, const struct gr_pool *pool, unsigned index, unsigned long long now,
			  unsigned long long *free_at);
/* "N<suffix>" with N < ranges: 0 and N in *index. */
int gr_lease_entry_index(const char *name, unsigned ranges, const char *suffix, unsigned *index);
/* A spare (lease.h's SPARE or SPARE_N), renamed to name: ours alone from
 * then on; -1 when there is none (or it is not one of ours: it goes). */
int gr_lease_take_spare(int dfd, const char *spare, const char *name);
/* dfd/name, a lease or quarantine file of range index that is ours alone
 * to remove: kept as the range's spare (SPARE_N) unless it has one, else
 * unlinked; -1 with errno if neither could be done. */
int gr_lease_retire(int dfd, const char *name, unsigned index);
/* Write l (with released_at when not 0) to dfd/name atomically. */
int gr_lease_put_entry(int dfd, const char *name, const struct gr_lease *l, unsigned long long released_at,
		       struct gr_error **err);
/* Settle what l's tenant may have left (lease-reclaim.c): its range's
 * holders killed, its noted sandbox walked back (then l->has_sandbox is
 * cleared). 0: settled; 1: l->blocked says what is not; 2 (only when not
 * patient, a release): its noted user namespace still lived and there is
 * no sandbox to walk back: l->blocked says "pending", and the next gc looks
 * for its holders (the release does not). clear (gc's, else 0):
 * GR_SETTLE_IDS, the caller's scan, just before, saw no task with an id of
 * the range (gc's pool-wide one): with a noted namespace that is gone, no
 * holder scan is needed then; GR_SETTLE_LEFTOVERS as well, its noted
 * namespace was gone before a leftover scan of the whole pool that found
 * none (after that ids scan): no leftover scan of the range either (no task
 * could have had its ids since). */
enum { GR_SETTLE_IDS = 1, GR_SETTLE_LEFTOVERS = 2 };
int gr_lease_settle(const struct gr_pool *pool, struct gr_lease *l, bool patient, unsigned clear);
/* Processes that hold a user namespace of [first, first+count)
 * (lease-userns.c): in it, by an nsfs fd or (why) by an nsfs mount. With
 * kill, the first two are SIGKILLed (pidfd) until none is left or about two
 * seconds pass. Returns how many are left (*one one of them); -EBUSY with
 * why set when none is, but a mount keeps one or something could not be
 * inspected; another -errno when /proc cannot be read. */
int gr_lease_ns_holders(uid_t first, unsigned long count, bool kill, pid_t *one, char *why, size_t size);
/* A child reads the maps of user namespace fd: 1 when one lies wholly in
 * [lo, hi), 0 when not, <0 error (lease-userns.c). */
int gr_lease_map_of(int fd, unsigned long long lo, unsigned long long hi);
/* The noted user namespace (gr_lease.userns) still lives (lease-nsalive.c):
 * 1 alive (patient: after about a second of asking; else at one question),
 * 0 gone, -errno (-EBUSY: cannot tell); why says it when not 0. */
int gr_lease_userns_alive(const char *handle, bool patient, char *why, size_t size);
/* What [first, first+count) left where the host's users reach it (owner or
 * group in the range): an inode in /tmp, /var/tmp, /dev/shm, /run/lock or
 * one of dirs (NULL-terminated, may be NULL: the site's leftover_dirs), a
 * POSIX message queue or a SysV IPC object (lease-leftover.c): 1 with why
 * naming it, or saying the scan could not finish; 0 none. */
int gr_lease_leftovers(uid_t first, unsigned long count, char *const *dirs, char *why, size_t size);
/* The processes (tgids, sorted, each once, malloc'd into *tgids) with a
 * task that had an id in [lo, hi) and was no zombie, by one run of the
 * pinned BPF holder scan (*scanned true) or else one read of the pinned
 * task iterator (lease-iter.c): only candidates, to be judged by /proc and
 * a pidfd. Returns how many; -errno with *why (static) when neither can be
 * trusted (absent, not root's on bpffs, a read or run that failed or was
 * cut short, not in the initial PID namespace) or lo < 65536: then only a
 * walk of /proc can tell. */
int gr_lease_iter_candidates(unsigned long long lo, unsigned long long hi, pid_t **tgids, const char **why,
			     bool *scanned);
/* With .gclock held: settle l, write N.quarantine for it, then remove N.lease. */
int gr_lease_quarantine(int dfd, const struct gr_pool *pool, const struct gr_lease *l,
			struct gr_error **err);

#endif
