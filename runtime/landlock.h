/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * landlock.h - the job's Landlock domain: the unprivileged kernel layer
 * (issue 14), on by default where the kernel has Landlock.
 *
 * What the job may write. Landlock handles only the write side of the
 * filesystem (reads and execution stay the mount tree's business, mountns.h):
 *   - everything (create, remove, write, truncate, link/rename across
 *     directories) beneath its sandbox, /tmp, /var/tmp, /run, /dev/shm,
 *     /dev/mqueue (its own IPC namespace's; mq_open(O_CREAT) goes through
 *     the same path hooks) and each spec mount that is not read-only (rw
 *     binds, tmpfs);
 *   - write, truncate and device ioctls (no creation, no removal) of
 *     /dev/null zero full random urandom tty and /dev/pts (so /dev/ptmx),
 *     and of the regular files or character devices the job's stdio is open
 *     on for writing (a shell's `>/dev/stderr` reopens them through
 *     /proc/self/fd: the pilot's log may live outside the sandbox).
 * Everything else is refused with EACCES even where the mount and the job's
 * ids would allow it. Today that is chiefly /proc, which is mounted
 * read-write: /proc/self/mem (writes through read-only mappings, the
 * Dirty COW family's door), comm, oom_score_adj, attr/, timerslack_ns,
 * clear_refs... Cost: pthread_setname_np() of another thread (glibc writes
 * /proc/self/task/N/comm; naming oneself uses prctl) and raising one's own
 * oom_score_adj fail with EACCES; a site whose jobs need them sets
 * `landlock = off` or the spec `"landlock": false`. And it is whatever a
 * later mount-tree bug or spec feature would make writable by mistake.
 * Scoping (ABI 6, Linux 6.12): the job cannot connect to an abstract unix
 * socket, nor signal a process, outside its own domain: not its init, not a
 * listener of the host or of another job sharing the host network.
 *
 * ABI: the best the kernel offers, rights it does not know dropped (best
 * effort, as the Landlock documentation recommends): ABI 1 cannot allow
 * link/rename across directories (REFER, ABI 2), so on 5.13-5.18 kernels
 * such a rename fails with EXDEV even inside the sandbox (mv copies);
 * TRUNCATE needs ABI 3, IOCTL_DEV ABI 5, scoping ABI 6. The kernel lacking
 * Landlock (ENOSYS: not built; EOPNOTSUPP: not in lsm=) is not an error: the
 * job runs without the layer and gr_landlock_describe() says so.
 *
 * Ordering (init.c): the ruleset is built by init after pivot_root (the
 * paths are the job's), the job applies it after dropping its capabilities
 * and setting no_new_privs (landlock_restrict_self() requires one of
 * no_new_privs or CAP_SYS_ADMIN) and before seccomp, so no seccomp profile
 * can deny gridrun the landlock_* syscalls. init itself stays outside the
 * domain (it must signal and reap the job). The paths are opened O_PATH with
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS before any of the job's code
 * has run: a symlink planted in a sandbox cannot widen the allow list.
 *
 * No libc wrapper: the three syscalls through syscall(2).
 */
#ifndef GRIDRUN_LANDLOCK_H
#define GRIDRUN_LANDLOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "spec.h"

/* The first ABI with LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET and _SIGNAL. */
#define GR_LANDLOCK_ABI_SCOPE 6

/* The running kernel's Landlock ABI (>= 1), or -ENOSYS (not built),
 * -EOPNOTSUPP (built, not enabled by lsm=), another -errno. Cached. */
int gr_landlock_abi(void);

/*
 * What a job gets: the ABI to use (> 0); 0 when the site (`[runtime]
 * landlock = off`) or the spec (`gridrun.landlock: false`) turned the layer
 * off; gr_landlock_abi()'s -errno when the kernel has no Landlock (the job
 * then runs without it). Only > 0 means "applied".
 */
int gr_landlock_plan(const struct gr_spec *spec, bool site_off);

/* In init, after pivot_root: the ruleset for the spec's job at ABI abi (>= 1).
 * Returns a close-on-exec ruleset fd or -errno with *err naming the path. */
int gr_landlock_ruleset_in_child(const struct gr_spec *spec, int abi, struct gr_error **err);

/* In the job, after no_new_privs and before seccomp. */
int gr_landlock_restrict_in_child(int rulesetfd, struct gr_error **err);

/* One line, for GRIDRUN_DEBUG and `gridrun check`: what the layer does at
 * abi (gr_landlock_plan()'s or gr_landlock_abi()'s result), or why it is off
 * ("not available: ..." for a kernel without it). */
const char *gr_landlock_describe(int abi, char *buf, size_t len);

#endif
