/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * condor-job.h - what gridrun-condor knows of an HTCondor job: the starter's
 * environment and the job and machine ads, and the gridrun spec made of them.
 *
 * Inputs (the starter's PublishToEnv, ../shared/htcondor-contract.md §1):
 *   _CONDOR_SCRATCH_DIR   required, absolute: the sandbox
 *   _CONDOR_JOB_AD        required: Owner, ClusterId, ProcId (required);
 *                         RequestCpus, RequestMemory, KillSig, RemoveKillSig,
 *                         HoldKillSig, CheckpointSig, x509UserProxy,
 *                         x509userproxysubject, x509UserProxyVOName (optional)
 *   _CONDOR_MACHINE_AD    optional (absent: no slot figures): Cpus, Memory
 *   _CONDOR_SLOT, _CONDOR_JOB_IWD, _CONDOR_CHIRP_CONFIG  optional
 * An ad that is malformed, or a required attribute missing or mistyped, is
 * an error naming the file, line and attribute (classad.h).
 *
 * The spec (gr_condor_spec()):
 *   process.args   the job's argv as the starter gave it (argv[1..] of the
 *                  wrapper: the absolute job path, then its arguments)
 *   process.env    the wrapper's environment, unchanged (it is the job's)
 *   process.cwd    the wrapper's cwd (the starter's Iwd or scratch)
 *   hostname       the node's: jobs and pilots report where they ran
 *   gridrun        job_id "condor-CLUSTER.PROC-SLOT" (unique on the node:
 *                  one job a slot; two schedds may share CLUSTER.PROC),
 *                  sandbox = scratch (its parent, the starter's dir_<pid>,
 *                  is covered, so the job sees neither its neighbours nor
 *                  the starter's own files), accounting = "fd:N"
 *                  with N = record_fd, the write end of a pipe the
 *                  wrapper holds (never a file the job can write: S35),
 *                  and pool + account when the site
 *                  configuration maps the job to a pool
 *   mounts         Iwd read-write when it lies outside the scratch dir (a
 *                  job without file transfer works in its shared Iwd); the
 *                  job's copy of the Chirp config (below), read-only at
 *                  $_CONDOR_CHIRP_CONFIG's own path
 *   annotations    condor.* : owner, slot, cpus, memory, VO, proxy subject
 * No resource limit is added: HTCondor's slice keeps the only hard memory
 * limit (memory.max = the slot's Memory) and the cpu weight, so its OOM ->
 * Hold policy and its accounting stay as they are (design: one limit, one
 * policy). RequestCpus/Cpus and RequestMemory/Memory go to annotations.
 *
 * condor_chirp inside the job (gr_condor_chirp_share()): the client reads
 * $_CONDOR_CHIRP_CONFIG and talks to the starter's server on the host's
 * loopback (the spec keeps the host network). In the nested layout the
 * starter writes the config in dir_<pid>/user/, which the sandbox hides,
 * with mode 0700 & ~umask (io_proxy.cpp). A job that is not the slot user
 * (a leased range; nobody under a root-run wrapper) could not read it, and
 * gridrun clones bind sources with the job's identity, so a bind of user/
 * would fail for it too. The wrapper therefore copies the config, as it is,
 * to SCRATCH/.gridrun-chirp.config with mode 0444 (in the sandbox, which
 * the job's identity reaches; no other job sees it, their sandboxes cover
 * EXECUTE), and the spec binds the copy read-only at the config's own path;
 * the environment is left as it is. The wrapper removes the copy once
 * gridrun has exited, before the starter transfers the output; both steps
 * act through scratch_fd (opened at load, before the job),
 * never by path (S31). A config in
 * the scratch dir (STARTER_NESTED_SCRATCH = false) is in the sandbox
 * already, and one outside EXECUTE/dir_<pid> is not the starter's: both
 * are left alone.
 *
 * Pool mapping (gr_condor_pick_pool()): the first [pool] of the site
 * configuration, in file order, whose accounts list the job's account and
 * whose vos (if any) list the job's VO. The account is the name of the
 * user the wrapper runs as (the slot user, whom gridrun-helper will check);
 * only when the wrapper runs as root (tests, a root-run starter) is it the
 * ad's Owner. No pool matches: the job runs without one (one-uid mode).
 */
#ifndef GRIDRUN_CONDOR_JOB_H
#define GRIDRUN_CONDOR_JOB_H

#include "classad.h"
#include "config.h"
#include "error.h"

struct gr_condor_job {
	char *scratch, *iwd, *slot, *chirp_config;
	char *owner;
	long long cluster, proc;
	long long request_cpus, cpus;          /* -1: unknown */
	long long request_memory_mb, memory_mb;
	int kill_sig, remove_kill_sig, hold_kill_sig, checkpoint_sig; /* 0: not in the ad */
	char *proxy, *proxy_subject, *vo;
	char *account;                         /* whom pools are matched against */
	const struct gr_pool *pool;            /* NULL: none matched */
	char *job_id;
	int record_fd;                         /* gridrun's "fd:N" for the record; -1: none */
	int scratch_fd;                        /* the scratch dir (O_PATH), opened at load */
	char *chirp_copy;                      /* SCRATCH/.gridrun-chirp.config; NULL: none */
};

#define GR_CONDOR_CHIRP_COPY ".gridrun-chirp.config"

/* From the environment and the ads; cfg may be NULL (no pools). */
int gr_condor_job_load(const struct gr_config *cfg, struct gr_condor_job **out, struct gr_error **err);
void gr_condor_job_free(struct gr_condor_job *job);
void gr_condor_job_freep(struct gr_condor_job **job);
#define _cleanup_gr_condor_job_ __attribute__((cleanup(gr_condor_job_freep)))

/* Write the job's copy of the Chirp config and set job->chirp_copy, when
 * the config is hidden from the sandbox (above); 0 with it NULL when there
 * is nothing to do. On failure nothing is left behind. */
int gr_condor_chirp_share(struct gr_condor_job *job, struct gr_error **err);
/* Remove the copy (gr_condor_job_free() does it too). */
void gr_condor_chirp_unshare(struct gr_condor_job *job);

/* The spec JSON (malloc'd) for argv (NULL-terminated, argv[0] the job) and envp. */
char *gr_condor_spec(const struct gr_condor_job *job, char *const argv[], char *const envp[],
		     const char *cwd, struct gr_error **err);

/* The pool for account/vo (vo may be NULL), or NULL. */
const struct gr_pool *gr_condor_pick_pool(const struct gr_config *cfg, const char *account, const char *vo);

/* A signal as KillSig is written: "SIGTERM", "TERM" or "15"; 0 if not one. */
int gr_condor_signal(const char *name);

#endif
