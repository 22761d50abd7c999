/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * init.h - the child side of a job: PID 1 of the job's PID namespace.
 *
 * gr_init_main() runs in the process clone3() created in the new namespaces
 * and never returns. In order (design §3, steps 5-7):
 *   on v1 it moves itself into the job's cgroups (gr_cgroup_attach_self());
 *   parent-death signal SIGKILL and non-dumpable (the job can never ptrace
 *   or read its init), every inherited fd but stdio and the sync socket
 *   closed; sync #1 (maps written); switch to the mapped ids; hostname;
 *   loopback (own net namespace); the mount tree and pivot_root; sync #2
 *   (ready) and #3 (attached: a held job waits here for its release); then fork
 *   the job's main process, which calls setsid() (threat S07: no controlling
 *   terminal, so TIOCSTI on the pilot's tty fails), sets rlimits and cwd,
 *   drops every capability and sets no_new_privs, marks every fd but stdio
 *   close-on-exec, enters its Landlock domain (landlock.h; the ruleset is
 *   built by init after pivot_root, init itself stays outside), installs the
 *   seccomp filter (gr-seccomp.h; init itself stays unfiltered) and execs process.args with exactly process.env. A failure
 *   before exec comes back over a close-on-exec pipe as a structured error
 *   (code 126 not executable, 127 not found, 125 otherwise) and is passed to
 *   the supervisor word for word.
 * As init it then holds no capability either; it forwards TERM, INT, HUP,
 * QUIT, USR1 and USR2 to the main process, reaps every orphan, and when the
 * main process ends it SIGKILLs everything left in the namespace, counts it,
 * and sends the main process's status and rusage to the supervisor (#6).
 * If the supervisor dies at any point, the parent-death signal kills init and
 * with it the whole PID namespace.
 */
#ifndef GRIDRUN_INIT_H
#define GRIDRUN_INIT_H

#include "spec.h"
#include "userns.h"

struct gr_seccomp;

struct gr_child_ctx {
	const struct gr_spec *spec;
	const char *job_id;               /* names the job's cgroups (cgroupns.h) */
	struct gr_userns_plan ids;
	int syncfd;
	int sandbox_mnt;                  /* -1, or the sandbox's idmapped mount */
	const struct gr_seccomp *seccomp; /* installed last in the job, never in init */
	int landlock_abi;                 /* > 0: the job's Landlock domain at that ABI */
	const int *attach_fds;            /* v1: the job cgroup's `tasks` files (cgroups.h), */
	size_t nattach;                   /* init moves itself into them first */
	int *view_fds;                    /* v1: clones of the job's cgroup directories for */
	size_t nviews;                    /* its /sys/fs/cgroup (cgroupns.h), kept until then */
	bool mnt_template;                /* cloned from the template mount namespace: its
					   * root is the job's (mnt-template.h), no pivot */
};

/* The signals the supervisor and init forward to the job. */
extern const int gr_forwarded_signals[];
extern const unsigned gr_nforwarded_signals;

__attribute__((noreturn)) void gr_init_main(const struct gr_child_ctx *ctx);

#endif
