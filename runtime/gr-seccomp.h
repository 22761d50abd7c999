/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gr-seccomp.h - the job's syscall filter (design §8): OCI/Docker seccomp
 * profiles, compiled with libseccomp in the supervisor, installed in the job
 * right before execve. Code: seccomp-profile.c (the JSON schema) and
 * seccomp.c (finding, compiling, installing). The header is not called
 * seccomp.h because with -Iruntime that name would hide libseccomp's.
 *
 * Which profile: the spec's inline linux.seccomp object, else the profile
 * named by gridrun.seccomp_profile, else "grid-default". A name NAME is
 * NAME.json in $GRIDRUN_SECCOMP_DIR, else in GR_SECCOMP_DIR (set by the
 * Makefile: $(PREFIX)/share/gridrun/seccomp); the profiles shipped in
 * seccomp-profiles/ are also built into the binary and are used when the
 * directory has no NAME.json (a file in the directory wins). There is no
 * way to run a job unfiltered short of writing a profile that allows
 * everything: gridrun has no built-in "unconfined".
 *
 * The format is the OCI runtime spec's (config-linux.md, "seccomp"):
 *   defaultAction (required), defaultErrnoRet, architectures, flags
 *   (SECCOMP_FILTER_FLAG_TSYNC, _LOG, _SPEC_ALLOW), and syscalls[] with
 *   names (required), action (required), errnoRet, args[] of {index,
 *   value, valueTwo, op}, plus Docker's free-text "comment". Actions:
 *   SCMP_ACT_KILL (= _KILL_THREAD), SCMP_ACT_KILL_THREAD, _KILL_PROCESS,
 *   _TRAP, _ERRNO, _TRACE, _ALLOW, _LOG; errnoRet (0..4095, default EPERM)
 *   applies to _ERRNO and _TRACE only. Ops: SCMP_CMP_NE, _LT, _LE, _EQ,
 *   _GE, _GT, _MASKED_EQ (value is the mask, valueTwo the masked value).
 *   Values are JSON integers; jansson stops at 2^63-1, so larger values are
 *   written as their negative two's complement (-1 = 0xffffffffffffffff).
 * Refused, with "FILE:LINE:COL: PATH: message" as for specs (spec-pos.h):
 *   unknown keys, syscall names, actions, ops, architectures and flags,
 *   wrong types, SCMP_ACT_NOTIFY and listenerPath (no notification
 *   listener), an argument compared twice in one rule, valueTwo with an op
 *   other than _MASKED_EQ or with bits outside the mask, and duplicate rules
 *   that would change the meaning. A syscall may have one rule without args, or
 *   any number of rules with distinct args, never both: libseccomp would
 *   silently let the rule without args override the others (a profile that
 *   "allows ioctl, but not TIOCSTI" that way would allow TIOCSTI).
 *   A rule whose action is the default action is checked but not added
 *   (libseccomp refuses it; the filter is the same without it).
 * Docker's and Podman's profiles load as shipped, as runc and crun load
 *   them (seccomp-profile.c): archMap (this architecture's entry adds it
 *   and its sub-architectures), defaultErrno and a rule's errno (glibc's
 *   names; they must agree with the *ErrnoRet beside them), includes and
 *   excludes resolved for the job (no capabilities, this architecture by
 *   Go's name, this kernel for minKernel). In a profile with an archMap, a
 *   lower-case name this libseccomp does not know (newer calls) is skipped
 *   with a GRIDRUN_DEBUG notice; the same rule twice is added once; a rule
 *   without args that a condition duplicates keeps the first (libseccomp's
 *   choice). gridrun.seccomp_profile may name such a file by absolute path;
 *   a file named by path must be regular and readable by everyone.
 *
 * The filter checks the architecture first. The machine's own architecture
 * is always in it; the others only when the profile lists them. Anything
 * else - i386 through int 0x80, x32 (syscall numbers with bit 0x40000000,
 * which libseccomp routes to the bad-architecture action) - kills the
 * process with SIGSYS (SCMP_ACT_KILL_PROCESS): such a call never runs, and
 * a 32-bit program in the job fails loudly rather than with odd errnos.
 *
 * The filter is a binary tree of syscall numbers (SCMP_FLTATR_CTL_OPTIMIZE
 * 2): calls the kernel's action cache cannot answer (argument rules, denied
 * calls) walk ~10 comparisons, not a list of ~300.
 *
 * When: compiled to classic BPF in the supervisor at the start of gr_run(),
 * before any cgroup, namespace or process exists (an error: exit 125; an
 * inline profile's messages point into the spec file, at
 * "linux.seccomp..."), and the set-id guard merged into it (below): one
 * filter per job; installed with seccomp(2) in the job's
 * main process after the capability drop and no_new_privs, as the last step:
 * only the execve (and its PATH search) runs filtered, gridrun's own setup
 * never. The job's init (PID 1) is not filtered: it runs only gridrun's code
 * (reap, forward signals, kill the rest), holds no capability and is not
 * dumpable, so nothing in the job can trace or drive it.
 */
#ifndef GRIDRUN_SECCOMP_H
#define GRIDRUN_SECCOMP_H

#include <jansson.h>
#include <linux/filter.h>
#include <stddef.h>
#include <seccomp.h>

#include "error.h"
#include "spec-pos.h"
#include "spec.h"

#define GR_SECCOMP_DEFAULT "grid-default"

/* A compiled filter, ready for seccomp(SECCOMP_SET_MODE_FILTER). */
struct gr_seccomp {
	struct sock_filter *insns;
	size_t ninsns;
	unsigned flags; /* SECCOMP_FILTER_FLAG_* */
	bool has_guard; /* the set-id guard is merged in (gr_seccomp_add_guard) */
};

/* The filter for a job: inline linux.seccomp, the named profile, or
 * grid-default, with the set-id guard merged in where it can be. */
int gr_seccomp_for_spec(const struct gr_spec *spec, struct gr_seccomp **out, struct gr_error **err);
/* A profile by name (see above), or by path when name contains a '/'. */
int gr_seccomp_load(const char *name, struct gr_seccomp **out, struct gr_error **err);
/* A profile document; file names it in messages. */
int gr_seccomp_load_text(const char *text, size_t len, const char *file,
			 struct gr_seccomp **out, struct gr_error **err);
/* Write libseccomp's pseudo filter code (PFC) of a profile (as for gr_seccomp_load) to fd. */
int gr_seccomp_dump(const char *name, int fd, struct gr_error **err);
/* In the job, last before execve; needs no_new_privs. A NULL filter fails.
 * One seccomp(2) with the filter's flags when the guard is merged in;
 * otherwise the guard alone goes first, under the profile. */
int gr_seccomp_install_in_child(const struct gr_seccomp *f, struct gr_error **err);

/*
 * The set-id guard (seccomp-guard.c, threat S34): a fixed program that makes
 * chmod, fchmod, fchmodat, fchmodat2, mkdir(at), mknod(at), creat and
 * open(at) with O_CREAT/O_TMPFILE fail with EPERM when their mode has
 * S_ISUID or S_ISGID, openat2 with ENOSYS and io_uring_setup with EPERM;
 * everything else it allows (the profile decides). Not part of any profile
 * and not shown by `gridrun seccomp dump`.
 *
 * gr_seccomp_add_guard (seccomp-merge.c) rewrites f into one program whose
 * answer is, for every input, the kernel's for the guard stacked under f
 * (the strictest action wins; of the same kind, f's): no profile can allow
 * what the guard denies, and a job costs one filter. Done in the
 * supervisor at every start (gr_seccomp_for_spec), not at build time: a
 * spec's own profile needs it there anyway, it takes some 10-40 us (the
 * child saves ~100 us), nothing is allocated in the job's child, and the
 * built-in filters stay libseccomp's own (tests compare them with a fresh
 * compile). 1: merged (f->has_guard); 0: f
 * cannot be merged (empty, returns A or X, or the result would exceed 4096
 * instructions) and is left as it is, to be installed over the guard
 * alone; <0: out of memory.
 */
const struct sock_filter *gr_seccomp_guard(size_t *ninsns);
int gr_seccomp_guard_install_in_child(struct gr_error **err);
int gr_seccomp_add_guard(struct gr_seccomp *f, struct gr_error **err);
/* The profile directory: $GRIDRUN_SECCOMP_DIR or GR_SECCOMP_DIR. */
const char *gr_seccomp_dir(void);
void gr_seccomp_free(struct gr_seccomp *f);
void gr_seccomp_freep(struct gr_seccomp **f);
#define _cleanup_gr_seccomp_ __attribute__((cleanup(gr_seccomp_freep)))

/*
 * The profiles of seccomp-profiles/, built in: their text, and their filter
 * as compiled at build time (seccomp-profiles/builtin-gen.c), because
 * libseccomp takes ~4 ms for grid-default, at every job start. A profile
 * file whose text is byte for byte a built-in one's uses that filter too;
 * tests/seccomp_test.c checks that it equals a fresh compile.
 */
struct gr_seccomp_builtin {
	const char *name;   /* "grid-default" */
	const char *source; /* "seccomp-profiles/grid-default.json", FILE in messages */
	const char *text;
	size_t len;
	const struct sock_filter *insns;
	size_t ninsns;
	unsigned flags;
};
extern const struct gr_seccomp_builtin gr_seccomp_builtins[];
extern const size_t gr_seccomp_nbuiltins;

/* seccomp-profile.c: the profile at w's current value v into a new libseccomp
 * context (the walk's path is the prefix of every message). */
int gr_seccomp_build(struct gr_spec_walk *w, json_t *v, scmp_filter_ctx *ctx, unsigned *flags);
void gr_seccomp_releasep(scmp_filter_ctx *ctx);

#endif
