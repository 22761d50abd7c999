/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gt.h - helpers for gridrun's tests: scratch directories, spec files, and
 * running the real gridrun binary ($GRIDRUN) with captured output.
 *
 * Every helper aborts the test process on an unexpected failure of the test
 * machinery itself (not of gridrun), so a broken fixture never passes.
 */
#ifndef GRIDRUN_GT_H
#define GRIDRUN_GT_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct gt_result {
	int status;      /* exit code, or 128+N when killed by signal N */
	char *out;       /* captured stdout (NUL-terminated) */
	char *err;       /* captured stderr */
};

/* Absolute path of the gridrun binary under test ($GRIDRUN). */
const char *gt_gridrun(void);
/* Absolute path of the probe binary run inside jobs ($GRIDRUN_BUILD/tests/gr-probe). */
const char *gt_probe(void);
/* Repo root ($GRIDRUN_SRC, default "."). */
const char *gt_src(void);

/* Fresh 0755 directory /tmp/gridrun-test.XXXXXX; caller frees and gt_rm_rf()s. */
char *gt_tmpdir(void);
/* rm -rf of a /tmp/gridrun-test.* directory only, never leaving its mount:
 * a bind mount inside it (of /etc, say) is skipped, not emptied through. */
void gt_rm_rf(const char *path);
/* mkdir -p (parents 0755), the last with mode, chowned to uid/gid (-1: leave). */
void gt_mkdirs(const char *path, mode_t mode, uid_t uid, gid_t gid);
/* Write a file (printf format); returns its malloc'd path dir/name. */
char *gt_write(const char *dir, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Read a whole file; NULL if missing. */
char *gt_read(const char *path);
/* Whether this kernel allows idmapped mounts on path's filesystem (ext4,
 * xfs, btrfs from 5.12; tmpfs from 6.3): which way gridrun's "auto"
 * sandbox hand-over must take (runtime/handover.h). */
bool gt_idmap_expected(const char *path);

/*
 * Spec for a job running ARGS_JSON (a JSON array text) with
 * env PATH=/usr/bin:/bin and the probe bound read-only at /run/gr-probe;
 * EXTRA is spliced into the top-level object (e.g. "\"hostname\":\"x\"",
 * may be NULL), GRIDRUN_EXTRA into the "gridrun" object (may be NULL).
 */
char *gt_spec(const char *dir, const char *args_json, const char *extra, const char *gridrun_extra);

/* Run argv (argv[0] absolute), with stdin from /dev/null; as uid if >= 0
 * (no supplementary group, or $GT_SUPPLEMENTARY_GID alone). */
void gt_run_argv(char *const argv[], int as_uid, struct gt_result *res);
/* gridrun run SPEC */
void gt_run_spec(const char *spec, struct gt_result *res);
void gt_result_free(struct gt_result *res);

/* Start gridrun run SPEC in the background; returns its pid (stdio /dev/null). */
pid_t gt_start_spec(const char *spec, int as_uid);
/*
 * Fork a holder: the child runs setup(ready, arg), where ready is the write
 * end of a pipe the parent reads. setup returns 0 once the child holds what
 * it should (the child then closes ready and waits for a signal), else the
 * status the child exits with. setup may close ready itself (from another
 * thread, say) and never return. Returns the child once ready is closed
 * everywhere: it is ready, or it has died.
 */
pid_t gt_fork_ready(int (*setup)(int ready, void *arg), void *arg);   /* dies with its parent */
/* Wait for pid; returns exit code or 128+signal. timeout_ms < 0: forever; -1 on timeout. */
int gt_wait(pid_t pid, int timeout_ms);
/* Wait until file exists (poll); true if it appeared within timeout_ms. */
bool gt_wait_file(const char *path, int timeout_ms);
/* Count host processes whose cmdline contains marker. */
int gt_count_procs(const char *marker);
/* Count processes whose cmdline contains marker, waiting up to timeout_ms for 0. */
int gt_wait_no_procs(const char *marker, int timeout_ms);
/* Number of entries (not . or .., nor the state directory's records/ of
 * finished jobs) in a directory; -1 if it does not exist. */
int gt_count_dir(const char *path);
/*
 * Run ARGS as job JOB_ID with sandbox SBX and its accounting record at REC
 * (removed first); RESOURCES is the linux.resources object's text and
 * GRIDRUN_EXTRA more members of "gridrun" (each may be NULL). The spec goes
 * to DIR. Returns the record (NULL when none was written); res is freed
 * first, then filled.
 */
json_t *gt_run_job(const char *dir, const char *sbx, const char *rec, const char *job_id,
		   const char *args, const char *resources, const char *gridrun_extra,
		   struct gt_result *res);
/* An integer member of a JSON object (0 when missing). */
long long gt_json_int(const json_t *o, const char *key);

/* Directories named gridrun-<job_id> anywhere under /sys/fs/cgroup (depth <= 5). */
int gt_cgroup_dirs(const char *job_id);
/* A unique marker string for this test process. */
const char *gt_marker(void);

/* The raw-syscall probe ($GRIDRUN_BUILD/tests/gr-sysprobe). */
const char *gt_sysprobe(void);
/* As gt_spec(), binding gr-sysprobe read-only at /run/gr-sysprobe too. */
char *gt_spec_sys(const char *dir, const char *args_json, const char *extra, const char *gridrun_extra);

/*
 * A corpus of bad inputs: DIR holds NAME.EXT files (ext with its dot), each
 * with NAME.err, the one line it must fail with. check(dir, name, expected,
 * arg) judges one input: NULL when it behaves, else a malloc'd description.
 * An .err without its input, or an input without its .err, is a problem too
 * (it would silently test nothing). Each problem is printed as a TAP
 * comment. Returns how many inputs were judged (-1: DIR unreadable);
 * *failed counts the problems.
 */
/* Attach img to a free loop device (autoclear; its path into dev); retried
 * when another process takes the one it was given first. The loop device's
 * fd, -1 when none could be had. */
int gt_loop_attach(const char *img, char *dev, size_t len);

typedef char *gt_corpus_check(const char *dir, const char *name, const char *expected, void *arg);
int gt_corpus(const char *dir, const char *ext, gt_corpus_check *check, void *arg, int *failed);

#endif
