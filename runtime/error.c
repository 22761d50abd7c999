/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

int gr_error_vset(struct gr_error **err, int errnum, const char *fmt, va_list ap)
{
	int r = errnum > 0 ? -errnum : -EINVAL;
	struct gr_error *e;

	if (!err)
		return r;
	e = calloc(1, sizeof(*e));
	if (!e)
		abort(); /* out of memory while reporting an error: nothing sane left */
	e->errnum = errnum;
	if (vasprintf(&e->msg, fmt, ap) < 0)
		abort();
	gr_error_free(*err);
	*err = e;
	return r;
}

int gr_error_set(struct gr_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = gr_error_vset(err, errnum, fmt, ap);
	va_end(ap);
	return r;
}

int gr_error_sys(struct gr_error **err, int errnum, const char *fmt, ...)
{
	char *what = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		abort();
	va_end(ap);
	r = gr_error_set(err, errnum, "%s: %s", what, strerror(errnum));
	free(what);
	return r;
}

int gr_error_prefix(struct gr_error **err, const char *fmt, ...)
{
	char *ctx = NULL, *msg = NULL;
	va_list ap;

	if (!err || !*err)
		return -EINVAL;
	va_start(ap, fmt);
	if (vasprintf(&ctx, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (asprintf(&msg, "%s: %s", ctx, (*err)->msg) < 0)
		abort();
	free(ctx);
	free((*err)->msg);
	(*err)->msg = msg;
	return (*err)->errnum > 0 ? -(*err)->errnum : -EINVAL;
}

void gr_error_free(struct gr_error *e)
{
	if (!e)
		return;
	free(e->msg);
	free(e);
}

void gr_error_freep(struct gr_error **e)
{
	gr_error_free(*e);
	*e = NULL;
}

int gr_error_exit_code(const struct gr_error *e)
{
	return e && e->code ? e->code : GR_EXIT_ERROR;
}
