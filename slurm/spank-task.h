/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spank-task.h - how gridrun_spank.so runs one Slurm task in gridrun
 * (slurm/README.md has the site's view).
 *
 * slurmstepd forks one child per task. That child calls the plugin's
 * task_init_privileged as root, then setuid()s to the user, dup()s the
 * task's stdio onto 0-2, builds the task's final environment (SLURM_PROCID,
 * SLURM_LOCALID, MPI and GRES variables...) and calls task_init as the user
 * right before its execve(). Root is needed for a pool (a leased range and
 * root's cgroups); the final environment and stdio exist only after root is
 * gone. So a wrapped task is two processes:
 *
 *   task     (the pid slurmstepd waits for; the user after task_init_privileged)
 *   └ runner (forked by task_init_privileged; stays root)
 *     └ gridrun run ... (root with a pool; else the user's ids, one-uid mode)
 *
 * In task_init the task sends the runner, over a socketpair made before the
 * fork, its stdio (SCM_RIGHTS), cwd, argv and environment
 * (gr_slurm_task_send), then never returns: it waits for the runner and ends
 * as it does (gr_slurm_task_wait): the job's exit code, or the job's fatal
 * signal re-raised on itself, so slurmstepd records `0:N` as without gridrun.
 * What the task sends is the user's to choose anyway (their job's argv and
 * environment); everything that decides privilege - uid, pool, profile,
 * record place, job id - the runner took as root from slurmstepd before the
 * task lost root (struct gr_slurm_plan). The task is not dumpable (it changed
 * uid), so other processes of the user cannot ptrace it to forge a message.
 *
 * The runner builds the spec (process = what the task sent; sandbox and
 * process.cwd = the task's cwd; job_id slurm-JOB.STEP.TASK; record to
 * fd:3, a memfd) and hands it to gridrun as /dev/fd/4 of a memfd: no file a
 * user could write is ever read as a spec. With a pool the cwd must be the
 * user's own directory, reached without symlinks; the directory it checked
 * goes to gridrun as fd 5 (run --sandbox-fd 5), and gridrun hands over
 * nothing if the path names another one by then (the user renamed a
 * directory on it: a race the user can run in their own tree). After
 * gridrun exits the runner reads the record, stores it (as root, by dir fd,
 * in a root-owned directory: only a JSON object naming this task's job, for
 * in one-uid mode the user's other processes can rewrite gridrun's fd 3, and
 * its figures are then the user's word) and exits so that the task can
 * mirror it. A failure of its own: one line
 * `gridrun_spank: ...` on the task's stderr, exit 125.
 *
 * Signals: scancel signals every process of the step (proctrack/linuxproc:
 * the whole tree), gridrun's supervisor and the job included. Task and runner
 * ignore the catchable ones and wait: gridrun forwards TERM, kills what is
 * left after GRIDRUN_KILL_GRACE (the plugin's grace=, below KillWait) and
 * cleans up; whatever SIGKILL after KillWait leaves, job_epilog's
 * `gridrun gc` removes. The task keeps its end of the socketpair open until
 * it ends: a user who kills their own task closes it, and the runner then
 * ends gridrun as scancel would (TERM, KILL after the grace), so nothing
 * goes on outside the step. (The runner's parent-death signal cannot: the
 * kernel sends it with the dead task's credentials, the user's, which may
 * not signal root.) gridrun dies with the runner (its parent-death signal,
 * set after a one-uid gridrun's ids change, which would clear it).
 */
#ifndef GRIDRUN_SPANK_TASK_H
#define GRIDRUN_SPANK_TASK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Everything decided as root, before the fork. */
struct gr_slurm_plan {
	uid_t uid;
	gid_t gid;
	gid_t *gids;               /* supplementary groups, for one-uid mode */
	int ngids;
	char user[64];
	char job_id[64];           /* slurm-JOB.STEP.TASK */
	const char *gridrun;       /* the gridrun binary */
	const char *config;        /* the site configuration (NULL: gridrun's default) */
	const char *pool;          /* NULL: one-uid mode as the user */
	const char *profile;       /* seccomp profile, NULL: gridrun's default */
	const char *record_dir;    /* NULL: the record is not kept */
	unsigned grace;            /* GRIDRUN_KILL_GRACE, seconds */
};

/* PATH, a directory that root owns and nobody else may write (no symlink
 * as its last component), opened O_RDONLY: its fd, or -errno (-EPERM: it
 * is not root's alone). */
int gr_slurm_root_dir_open(const char *path);

/* RECORD_DIR/JOB_ID.json, written atomically by root through the
 * directory's fd, only where the directory is root's and nobody else may
 * write it (else *why says so); an existing one is replaced only with
 * replace. 0, or -errno. */
int gr_slurm_keep_record(const char *record_dir, const char *job_id, const char *text, size_t len, bool replace,
			 const char **why);

/* job_epilog, after a `gridrun gc` (spank-lost.c): the records gc wrote
 * for tasks of job JOB whose runner and gridrun Slurm SIGKILLed (the step
 * outlived KillWait). The runner's record went to gridrun's fd 3, which
 * died with them, so gc (job-lost.c) wrote only its copy in its state
 * directory's records/, reason "supervisor_lost", usage from the job
 * cgroup's counters (null without one). Each copy there of a task of JOB
 * (slurm-JOB.*.json naming that job id, with that reason) goes to
 * RECORD_DIR as the runner would have kept it (the copy's account and pool
 * keys removed), never over a record already there. Whose copies: OWNER 0,
 * root's gc's (pool mode): root-owned regular files in a directory only
 * root may write. Else the user OWNER's gc's (one-uid mode: gridrun ran
 * with the user's ids, as their gc does): regular files of the user in a
 * records/ directory of theirs that no one else may write, reached with no
 * symlink on its path; such a record is the user's word, as the runner's
 * record of a one-uid task is (README "What a task gets"). At most 4096
 * entries are looked at. The number kept; each failure is one line
 * through say. */
unsigned gr_slurm_keep_lost_records(const char *state_dir, uid_t owner, const char *record_dir, uint32_t job,
				    void (*say)(const char *line));
/* gridrun's state directory (state.h) for a user whose environment has no
 * XDG_RUNTIME_DIR, as the one-uid runner's gridrun and job_epilog's gc of
 * that user run: /tmp/gridrun-UID. */
#define GR_SLURM_USER_STATE_FMT "/tmp/gridrun-%u"

/* task_init_privileged: fork the runner; *sock is the task's end. */
int gr_slurm_runner_start(const struct gr_slurm_plan *plan, int *sock, pid_t *runner);
/* task_init: hand the runner what it needs; 0 or -errno. On success keep
 * sock open until the task ends (its close is the task's death to the
 * runner); on failure close it. */
int gr_slurm_task_send(int sock, const char *cwd, int argc, char **argv, char **env);
/* task_init: wait for the runner and end as it did; never returns. */
void gr_slurm_task_wait(pid_t runner) __attribute__((noreturn));

#endif
