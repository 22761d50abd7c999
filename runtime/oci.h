/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * oci.h - the OCI runtime verbs in the runc/crun form (issue 15), as
 * Slurm's oci.conf calls them (examples/slurm/oci.conf):
 *
 *   gridrun run [--bundle|-b DIR] [--pid-file F] ID
 *   gridrun create [--bundle|-b DIR] [--pid-file F] ID
 *   gridrun start ID
 *   gridrun state ID
 *   gridrun kill [--all|-a] ID [SIGNAL]        (SIGNAL defaults to TERM)
 *   gridrun delete [--force|-f] ID
 *
 * run: BUNDLE (default: the working directory) holds config.json, the spec;
 * ID becomes the job id (over any gridrun.job_id). `gridrun run ARG` without
 * --bundle or --pid-file keeps its old meaning when ARG contains a '/' or
 * ends in ".json" and names an existing file: then ARG is the spec. Anything
 * else is an OCI container id. The bundle's absolute path goes into the
 * job's state entry as "bundle"; --pid-file gets the job's pid (its init, as
 * the host sees it) once it has started.
 *
 * state/kill/delete find ID's state entry (state.h). The caller's own state
 * directory first; root also looks in every user's default one
 * (/run/user/UID/gridrun and /tmp/gridrun-UID), since Slurm runs
 * RunTimeRun as the job's user but RunTimeQuery/Kill/Delete as root. A
 * user's directory is opened with openat2(RESOLVE_NO_SYMLINKS|
 * RESOLVE_NO_MAGICLINKS), must be owned by that UID and writable by it
 * alone; the entry and its state.json are opened beneath it
 * (RESOLVE_BENEATH, no symlinks), and the file must be a regular file of
 * the same owner. The entry is believed only about a process of its owner:
 * the supervisor it names is opened as a pidfd, and then its start time
 * must equal the recorded one and its real uid the directory's owner (so a
 * user cannot make root signal someone else's process by writing a state
 * file, and a reused pid is not signalled). Signals go through that pidfd.
 * Nothing below a user's directory is ever created, changed or removed by
 * root: a stale entry there stays for that user's next start or gc. Two
 * live jobs of one ID under different uids: kill and delete refuse
 * (ambiguous), state reports the first.
 *
 * All verbs are idempotent: state of an unknown or finished ID prints
 * {"ociVersion", "id", "status": "stopped"} and exits 0, kill and delete of
 * one do nothing and exit 0. delete of a running job needs --force: it
 * sends TERM (the supervisor's grace period, then it kills the cgroup and
 * cleans up), waits up to GRIDRUN_OCI_DELETE_WAIT seconds (default 30)
 * for the supervisor to end, then sends KILL.
 *
 * create (gr_oci_detach()): create forks; the child, in its own session,
 * is the job's supervisor: it runs the job as run does, with the job held
 * before its exec (gr_job_options.hold, job.h; sync #2 READY, sync.h) and
 * its entry saying "held"; once the started hook wrote --pid-file it tells
 * create, which exits 0. stdio stays create's (the job's). A failure
 * before that is the child's one line on the shared stderr, and create
 * exits with the child's status (nothing left: gr_job_start()'s contract).
 * start finds the entry as kill does (the supervisor's pidfd checked) and
 * sends GR_RUN_START_SIGNAL (supervisor.h) through it: a held supervisor
 * releases the job (sync #3), any other ignores it. Not a FIFO in the
 * state directory as runc's exec.fifo: root would have to open a file in
 * a user's directory, and the pidfd check already proves the supervisor.
 * start then polls the entry until it is no longer "created" (running, or
 * gone), within GRIDRUN_OCI_START_WAIT seconds (30). Errors, exit 125: an
 * unknown or ended id, a started one, one not held (run's own, or still
 * being set up). delete of a held job needs no --force: TERM, INT, HUP or
 * QUIT to a held supervisor kill init at once (its program never ran).
 * status is "created" until the job's program has been exec'd (the
 * supervisor marks the entry "running" after sync #4, supervisor.h), and
 * "running" after; "pid" is the job's init once it exists. kill's signals go to the supervisor, which forwards them (TERM and
 * INT start its grace period), except KILL, which it could not forward:
 * that goes to the job's init (checked: its start time, and that its parent
 * is the checked supervisor), whose death ends the PID namespace, and the
 * supervisor then ends the job as usual (cgroup, record, state). --all is
 * accepted: the end of the job kills its whole cgroup anyway.
 */
#ifndef GRIDRUN_OCI_H
#define GRIDRUN_OCI_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct json_t;

/* take_options() of `run`: argv[*i] (and its value) is --bundle, -b or
 * --pid-file: 1 (and *i moved past it), else 0. */
int gr_oci_take_run_option(int argc, char **argv, int *i);
/* `run ARG` (oci: `create ID`, always an id): 0 and *spec_path = ARG when ARG is a spec; 1 with *spec_path =
 * BUNDLE/config.json and *job_id = ARG when it is an OCI id; -errno. */
int gr_oci_run_target(const char *arg, bool oci, char **spec_path, const char **job_id, struct gr_error **err);
/* The run's absolute bundle path, NULL for a plain spec. */
const char *gr_oci_bundle(void);
/* The job started as pid: write --pid-file. */
int gr_oci_started(pid_t pid, struct gr_error **err);
/* create: fork; the child (returns 0) is the job's supervisor, in its own
 * session, and calls gr_oci_detached() once the job is created; the parent
 * (returns 1) waits for that, or for the child's end, and *status is its
 * exit status (0: created; the child printed any error). */
int gr_oci_detach(int *status, struct gr_error **err);
void gr_oci_detached(void);
/* A signal by name (TERM, SIGTERM, ...) or number 1-64; -1 if none. */
int gr_oci_signal(const char *name);
/* state, delete and kill in the OCI form: its exit status, or -1 (not one). */
int gr_oci_main(int argc, char **argv);

#endif
