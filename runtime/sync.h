/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sync.h - parent/child synchronisation over one SOCK_SEQPACKET pair.
 *
 * Every message is one packet: a step number, and for failures the errno,
 * the exit code and the message text, so an error in the child reaches the
 * supervisor word for word. Both sides name the step they expect; a short
 * read or EOF means "the other side died before step N" and is an error.
 *
 * The steps of a job's life, in order (design §3). Step N is GR_SYNC_* = N,
 * and both sides (supervisor.c, init.c) mark it with the same comment,
 * "sync #N NAME: ..." (job_api_test checks it):
 *   #1 MAPS_DONE   parent -> child: uid_map/gid_map written; in helper mode
 *                  with the sandbox's idmapped mount (SCM_RIGHTS) when the
 *                  helper made it after the clone (lease-map, priv.h)
 *   #2 READY       child  -> parent: init built the job's mount tree and
 *                  waits for #3; a job held before its exec (OCI create,
 *                  GR_RUN_HOLD in supervisor.h) stays here until released
 *   #3 ATTACHED    parent -> child: the child is in the job's cgroups. On
 *                  cgroup v1 the parent attaches it while the child builds
 *                  its mount tree; the child forks the job only after this,
 *                  so the job runs in its cgroups from its first instruction
 *                  (on v2 clone3 put the child there already)
 *   #4 EXEC_DONE   child  -> parent: the job's program has been exec'd
 *   #5 MAIN_EXITED child  -> parent: the main process ended; init is about
 *                  to kill the rest (the parent thaws the job's cgroup tree
 *                  now, or a frozen process could never die)
 *   #6 RESULT      child  -> parent: the job's main process ended (status,
 *                  rusage of the main process, processes killed at the end)
 *   ERROR          child  -> parent: instead of #2 or #4, setup failed
 */
#ifndef GRIDRUN_SYNC_H
#define GRIDRUN_SYNC_H

#include <stdint.h>

#include "error.h"

enum gr_sync_step {
	GR_SYNC_MAPS_DONE = 1,
	GR_SYNC_READY = 2,
	GR_SYNC_ATTACHED = 3,
	GR_SYNC_EXEC_DONE = 4,
	GR_SYNC_MAIN_EXITED = 5,
	GR_SYNC_RESULT = 6,
	GR_SYNC_ERROR = 100,
};

struct gr_sync_result {
	int32_t wait_status;      /* as from waitpid() of the job's main process */
	int32_t killed_at_end;    /* processes still alive when main ended */
	uint64_t ru_utime_ns;     /* wait4() rusage of the main process */
	uint64_t ru_stime_ns;
	int64_t ru_maxrss_kb;
	uint64_t init_utime_ns;   /* init's own CPU (setup, reaping): it is in */
	uint64_t init_stime_ns;   /* the job's cgroup too, but not in rusage */
};

#define GR_SYNC_TEXT_MAX 1024

struct gr_sync_msg {
	int32_t step;
	int32_t errnum;
	int32_t code;
	int32_t pad;
	struct gr_sync_result result;
	char text[GR_SYNC_TEXT_MAX];
};

/* Send a plain step. */
int gr_sync_send(int fd, enum gr_sync_step step, struct gr_error **err);
/* Send a plain step with passfd (if >= 0) attached. */
int gr_sync_send_fd(int fd, enum gr_sync_step step, int passfd, struct gr_error **err);
/* Send a failure: errnum/code/message of e (or of the given values). */
int gr_sync_send_error(int fd, const struct gr_error *e);
int gr_sync_send_result(int fd, const struct gr_sync_result *res, struct gr_error **err);
/* Receive one message. Returns 0 and fills *msg; -EPIPE on EOF. */
int gr_sync_recv(int fd, struct gr_sync_msg *msg, struct gr_error **err);
/*
 * Wait for `step`. An ERROR message becomes *err (word for word, with its
 * exit code); another step or EOF is an error naming the step awaited.
 */
int gr_sync_wait(int fd, enum gr_sync_step step, struct gr_sync_msg *msg, struct gr_error **err);
/* The same, and the fd a gr_sync_send_fd() attached into *rfd (else -1;
 * O_CLOEXEC). */
int gr_sync_wait_fd(int fd, enum gr_sync_step step, struct gr_sync_msg *msg, int *rfd, struct gr_error **err);

#endif
