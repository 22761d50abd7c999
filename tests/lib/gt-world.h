/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gt-world.h - a small world for helper-mode tests: a setuid-root (or
 * file-capability) copy of gridrun-helper, and a child in new PID and mount
 * namespaces whose /etc is a fresh tmpfs holding copies of nsswitch.conf,
 * passwd and group plus the pilots' lines, and the helper's build-time
 * /etc/gridrun/gridrun.conf (pool atlas from GT_FIRST, accounts atlas001).
 * The host's /etc is never touched. The pilots are plain numeric uids.
 * Like gt.h, it aborts when the test machinery itself fails.
 */
#ifndef GRIDRUN_GT_WORLD_H
#define GRIDRUN_GT_WORLD_H

#include <stdbool.h>
#include <sys/types.h>

/* The first uid of the tests' pools: 3000000000 + (pid % 256) * 4194304,
 * fixed per test process by the first call ($GRIDRUN_TEST_FIRST_UID, so
 * that children agree), so that test runs of several checkouts on one node
 * do not lease the same host uids (a task of one run in the other's range
 * would keep its quarantines). */
unsigned gt_pool_first(void);
#define GT_FIRST gt_pool_first()
#define GT_PILOT 23456          /* atlas001, allowed in pool atlas */
#define GT_OTHER 23457          /* cms001, not allowed */

struct gt_world {
	char *dir;              /* scratch dir (gt_tmpdir()) */
	char *helper;           /* the privileged copy of gridrun-helper */
	char *leases;           /* the pool's lease_dir */
	unsigned ranges;
};

/* Run fn(arg, w) as the world's pid 1 (it should _exit()); returns pid 1's
 * exit status (128+N if killed by signal N). Everything is removed after.
 * $GT_WORLD_HANDOVER, if set, is the configuration's sandbox_handover;
 * $GT_WORLD_POOLS, if set, is appended to it (more [pool] sections).
 * $GT_WORLD_HOST_PID, if set, keeps the host's PID namespace and /proc (what
 * the kernel answers only there: nsfs file handles); fn then ends what it
 * started itself. */
int gt_world_run(unsigned ranges, bool filecaps, void (*fn)(void *arg, const struct gt_world *w), void *arg);
/* R2's end: wait for each killed supervisor (128+SIGKILL), let each live
 * job r2-I go (touch DIR/execute/r2-I/go) and wait for it (0); returns how
 * many ended otherwise. */
int gt_r2_finish(const char *dir, const pid_t *pid, const bool *alive, int n);
/* R2's number of concurrent starts, a full pool's worth: $GRIDRUN_R2_JOBS
 * (8 to GT_R2_MAX), else GT_R2_MAX (tests/vm/lane.t asks for fewer: each
 * start is slow under software emulation). */
#define GT_R2_MAX 64
int gt_r2_jobs(void);
/* printf into one of 8 static buffers, for expected strings */
const char *gt_f(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* setresuid/setresgid to uid (groups dropped), dumpable as an exec'd process is. */
void gt_become(uid_t uid);

#endif
