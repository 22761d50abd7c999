/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * error.h - the gridrun error model.
 *
 * Contract: a function that can fail returns int (>= 0 on success, -errno on
 * failure) and, on failure, fills *err with a freshly allocated struct gr_error
 * (errno plus a human-readable message). Callers add context in front of the
 * message with gr_error_prefix() ("userns: write uid_map: ..."), never print it
 * themselves inside the library, and free it with gr_error_free() (or the
 * _cleanup_gr_error_ attribute). Passing err == NULL is allowed: the message is
 * then dropped.
 *
 * The `code` field carries the gridrun exit code the CLI should use (125 for a
 * gridrun error, 126 not executable, 127 not found); 0 means "use 125".
 */
#ifndef GRIDRUN_ERROR_H
#define GRIDRUN_ERROR_H

#include <stdarg.h>

struct gr_error {
	int errnum;   /* positive errno, or 0 when the failure is not a syscall's */
	int code;     /* exit code the CLI should use, 0 = GR_EXIT_ERROR */
	char *msg;
};

enum {
	GR_EXIT_ERROR = 125,
	GR_EXIT_NOEXEC = 126,
	GR_EXIT_NOTFOUND = 127,
};

/* Fill *err (if err) and return -errnum (or -EINVAL when errnum is 0). */
int gr_error_set(struct gr_error **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Like gr_error_set, appending ": strerror(errnum)" to the message. */
int gr_error_sys(struct gr_error **err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Put "context: " in front of (*err)->msg; returns -(*err)->errnum or -EINVAL. */
int gr_error_prefix(struct gr_error **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int gr_error_vset(struct gr_error **err, int errnum, const char *fmt, va_list ap);
void gr_error_free(struct gr_error *e);
void gr_error_freep(struct gr_error **e);
/* Exit code for a failure described by e (125 when e is NULL or code unset). */
int gr_error_exit_code(const struct gr_error *e);

#define _cleanup_gr_error_ __attribute__((cleanup(gr_error_freep)))

#endif
