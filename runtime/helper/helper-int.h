/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helper-int.h - what helper.c (entry, parser, privileges) shares with
 * helper-act.c (the steps); not for other modules. See helper.h.
 */
#ifndef GRIDRUN_HELPER_INT_H
#define GRIDRUN_HELPER_INT_H

#include <stdbool.h>

#include "helper.h"

/* gr_error_set() with err->code = code (the helper's exit status). */
int gr_helper_fail(struct gr_error **err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* euid/egid 0 (on) for the lease files, or back to the caller's with
 * CAP_SETUID/CAP_SETGID effective again. */
int gr_helper_as_root(bool on, const struct gr_helper_caller *c, struct gr_error **err);
/* Only CAP_SETUID and CAP_SETGID effective (on), or all permitted again. */
int gr_helper_map_caps(bool on, struct gr_error **err);
/* The refusal, for a pool shared with another account, where the caller
 * could freeze the helper: its cgroup, or an ancestor, is one the caller
 * can write (helper-shield.c; exit 77). */
int gr_helper_unfreezable(const struct gr_helper_caller *c, const struct gr_pool *pool, const char *account,
			  struct gr_error **err);
/* The first n numbers after "Key:" in a /proc/PID/status text. */
int gr_helper_status_field(const char *text, const char *key, unsigned long *vals, int n);

#endif
