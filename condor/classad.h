/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * classad.h - HTCondor's old ClassAd text format, as the starter writes
 * $_CONDOR_JOB_AD (.job.ad) and $_CONDOR_MACHINE_AD (.machine.ad).
 *
 * The format (fPrintAd over the old-syntax unparser): one attribute a line,
 *     Name = value
 * sorted, names case-insensitive. Values are classified, never evaluated:
 *  - string   "..." where \" is a quote and every other backslash is a
 *             literal backslash (the old lexer's rule: "C:\dir\x" is
 *             C:\dir\x). A newline inside the quotes is part of the string
 *             (the unparser writes it raw), so a string may span lines.
 *  - integer  [-]digits, 64-bit; out of range is an error
 *  - real     [-]digits with '.' and/or an exponent, or real("NaN"),
 *             real("INF"), real("-INF") as the unparser writes them
 *  - boolean  true / false (any case)
 *  - undefined, error (any case)
 *  - expr     anything else (Requirements, lists, nested ads, a string
 *             followed by an operator): kept as its text, for the record
 * Blank lines are ignored.
 *
 * Contract: gr_classad_parse() returns 0 and the whole ad, or a negative
 * errno and exactly one one-line error "FILE:LINE: what is wrong", naming the
 * attribute where there is one: a line without " = ", a name that is not an
 * identifier ([A-Za-z_][A-Za-z0-9_]*), an empty value, an unterminated
 * string, a NUL byte, a duplicate name (in any case), an integer that does
 * not fit. A malformed ad is the wrapper's setup error, never guessed at.
 * Parsing is pure: no I/O beyond gr_classad_load()'s read of the file.
 */
#ifndef GRIDRUN_CLASSAD_H
#define GRIDRUN_CLASSAD_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum gr_ca_type {
	GR_CA_STRING,
	GR_CA_INT,
	GR_CA_REAL,
	GR_CA_BOOL,
	GR_CA_UNDEFINED,
	GR_CA_ERROR,
	GR_CA_EXPR,
};

struct gr_ca_attr {
	char *name;              /* as written */
	enum gr_ca_type type;
	char *text;              /* the value as written (trimmed) */
	char *str;               /* GR_CA_STRING: the decoded string */
	long long i;             /* GR_CA_INT */
	double d;                /* GR_CA_REAL (and GR_CA_INT, converted) */
	bool b;                  /* GR_CA_BOOL */
	unsigned line;
};

struct gr_classad {
	char *file;              /* the name used in messages */
	struct gr_ca_attr *attrs;
	size_t nattrs;
};

int gr_classad_parse(const char *text, size_t len, const char *name,
		     struct gr_classad **out, struct gr_error **err);
/* Read and parse a file; `name` (may be NULL: the path) is used in messages. */
int gr_classad_load(const char *path, const char *name, struct gr_classad **out,
		    struct gr_error **err);
void gr_classad_free(struct gr_classad *ad);
void gr_classad_freep(struct gr_classad **ad);
#define _cleanup_gr_classad_ __attribute__((cleanup(gr_classad_freep)))

/* The attribute called name (case-insensitive), or NULL. */
const struct gr_ca_attr *gr_classad_get(const struct gr_classad *ad, const char *name);

/*
 * Typed lookups: 0 and the value; -ENOENT (no error filled) when the ad has
 * no such attribute or it is undefined; -EINVAL with "FILE:LINE: Name:
 * expected ..." when it has another type. gr_classad_int() also takes a
 * real with an integral value (HTCondor writes RequestMemory = 2048 but a
 * user's +Attr = 2048.0 is legal).
 */
int gr_classad_string(const struct gr_classad *ad, const char *name, const char **out,
		      struct gr_error **err);
int gr_classad_int(const struct gr_classad *ad, const char *name, long long *out,
		   struct gr_error **err);

#endif
