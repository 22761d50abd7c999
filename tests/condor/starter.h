/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * starter.h - a stand-in for condor_starter, built from
 * ../shared/htcondor-contract.md (HTCondor is not packaged for Debian 12),
 * driving the real build/gridrun-condor as USER_JOB_WRAPPER:
 *  - the nested scratch layout EXECUTE/dir_<pid>/{scratch,user,htcondor}
 *    (STARTER_NESTED_SCRATCH, default since 24.9), .job.ad and .machine.ad
 *    in scratch, .chirp.config in user/;
 *  - the ads written as fPrintAd does: sorted by name (case-insensitively),
 *    strings quoted with only `"` escaped (backslashes raw);
 *  - the environment of Starter::PublishToEnv (contract §1) plus the job's
 *    own environment;
 *  - cgroups: v2 BASE/htcondor/<EXECUTE with / -> _>_<slot>.slice/<same>.scope,
 *    interior nodes with "+cpu +io +memory +pids", the wrapper in .scope,
 *    memory.max = Memory, cpu.weight = 100 x Cpus, memory.oom.group = 1 on
 *    .slice, and .slice + its cgroup.procs + cgroup.subtree_control chowned
 *    to the slot user (delegation); v1 a job directory beneath the test's own
 *    cgroup in each of memory cpu cpuacct pids freezer blkio, chowned, with
 *    memory.limit_in_bytes = Memory. BASE is the cgroup the test runs in.
 *  - a loopback Chirp server that checks the cookie and records
 *    set_job_attr_delayed (names must match Chirp*);
 *  - the control paths: vacate = KillSig to the wrapper, wait, then
 *    Kill_Family (freeze, cgroup.kill / SIGKILL every pid of the tree,
 *    thaw); suspend = freeze the job cgroup (v2 .slice, v1 freezer dir);
 *    the wrapper's exit as JobReaper sees it: the error file's existence
 *    (requeue), ExitBySignal/ExitSignal/ExitCode, and v2 OOM (memory.events
 *    oom_kill|oom_group_kill > 0 and the wrapper SIGKILLed => Hold).
 * Test helpers abort on a broken fixture, as gt.h's do.
 */
#ifndef GRIDRUN_TEST_STARTER_H
#define GRIDRUN_TEST_STARTER_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#define ST_MAX_CHIRP 64

struct st_chirp_update {
	char name[64];
	char value[192];
	unsigned count;              /* how many times it was set */
};

enum st_chirp_mode { ST_CHIRP_OK, ST_CHIRP_REFUSE, ST_CHIRP_NONE };

struct st_starter {
	char *execute, *dir, *scratch, *user, *htcondor;
	char *job_ad, *machine_ad, *chirp_config, *error_file, *out, *err;
	const char *slot;
	const char *iwd;             /* _CONDOR_JOB_IWD; NULL: the scratch dir (set after st_setup) */
	uid_t uid;                   /* the slot user (0: the wrapper runs as root) */
	int version;                 /* 1 or 2 */
	char *cg_top;                /* the tree the stand-in made (removed at the end) */
	char *slice, *scope;         /* v2 */
	char *v1[6];                 /* v1 job dirs: memory cpu cpuacct pids freezer blkio */
	long long memory_mb, cpus;
	pid_t pid;                   /* the wrapper (JobPid) */
	bool pid_ns;                 /* USE_PID_NAMESPACES = true: the wrapper is PID 1 */
	/* chirp */
	enum st_chirp_mode chirp_mode;
	int listen_fd, wake[2];
	char cookie[40];
	pthread_t thread;
	pthread_mutex_t lock;
	struct st_chirp_update updates[ST_MAX_CHIRP];
	unsigned nupdates, bad_cookies;
};

/* What the starter concludes when the wrapper is reaped. */
struct st_exit {
	bool wrapper_failed;         /* the error file exists: requeue (Idle) */
	char *failure;               /* its text, newlines replaced by '|' */
	bool by_signal;              /* ExitBySignal */
	int signal, code;            /* ExitSignal / ExitCode */
	bool held_oom;               /* v2: OOM and SIGKILL => Hold (JobOutOfResources) */
};

/* Make the slot: dirs, ads (job_ad_lines: "Name = value\n" lines, any
 * order, added to the base ad), cgroups, chirp server. */
void st_setup(struct st_starter *s, const char *tmp, const char *slot, uid_t uid, long long memory_mb,
	      const char *job_ad_lines, enum st_chirp_mode chirp);
/* Start the wrapper on job_argv (argv[0] absolute) with the job's extra
 * env (NULL-terminated, may be NULL). */
void st_start(struct st_starter *s, char *const job_argv[], char *const job_env[]);
/* Reap the wrapper (timeout_ms < 0: forever); false on timeout. Then the
 * starter's end: Kill_Family of whatever is left. */
bool st_wait(struct st_starter *s, int timeout_ms, struct st_exit *ex);
/* Vacate: sig to the wrapper, up to grace_ms for it to exit, then Kill_Family. */
void st_vacate(struct st_starter *s, int sig, int grace_ms, struct st_exit *ex);
void st_suspend(struct st_starter *s, bool frozen);
/* CPU as HTCondor reads it from the job cgroup, in us: v2 cpu.stat of the
 * .slice, v1 cpuacct.stat (USER_HZ ticks) of the cpuacct job dir. */
unsigned long long st_cpu_usec(struct st_starter *s);
/* v2: the .scope's part of it (the wrapper and gridrun's supervisor); v1: 0. */
unsigned long long st_scope_cpu_usec(struct st_starter *s);
/* A recorded Chirp update (copy), or false. */
bool st_chirp(struct st_starter *s, const char *name, struct st_chirp_update *out);
/* Processes left in the slot's cgroup tree. */
int st_procs_left(struct st_starter *s);
/* Everything gone: processes, cgroups (rmdir must succeed: nothing of
 * gridrun's may be left), chirp server. Returns the cgroup dirs that
 * could not be removed. */
int st_teardown(struct st_starter *s);
void st_exit_free(struct st_exit *ex);

#endif
