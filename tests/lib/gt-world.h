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

#define GT_FIRST 3000000000u
#define GT_PILOT 23456          /* atlas001, allowed in pool atlas */
#define GT_OTHER 23457          /* cms001, not allowed */

struct gt_world {
	char *dir;              /* scratch dir (gt_tmpdir()) */
	char *helper;           /* the privileged copy of gridrun-helper */
	char *leases;           /* the pool's lease_dir */
	unsigned ranges;
};

/* Run fn(arg, w) as the world's pid 1 (it should _exit()); returns pid 1's
 * exit status (128+N if killed by signal N). Everything is removed after. */
int gt_world_run(unsigned ranges, bool filecaps, void (*fn)(void *arg, const struct gt_world *w), void *arg);
/* setresuid/setresgid to uid (groups dropped), dumpable as an exec'd process is. */
void gt_become(uid_t uid);

#endif
