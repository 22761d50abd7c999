/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spec-pos.h - where a spec value sits in its text, and how to complain
 * about it: the schema-free half of the spec parser (spec.c is the schema).
 *
 * jansson reports a line and column only for syntax errors; once a document
 * has loaded, its values no longer know where they came from. A parser walks
 * the jansson tree with a struct gr_spec_walk, which keeps the path (member
 * names and array indexes) to the current value; on an error the original
 * text is rescanned along that path to find LINE:COL for the one message
 * format of spec.h, "FILE:LINE:COL: PATH: WHAT".
 *
 * PATH is "process.args[0]"; a member name that is not plain [A-Za-z0-9_-]
 * (or is long) is written as ["org.example"]; the document itself is "json".
 * Columns count Unicode characters, not bytes, as jansson's do, so syntax
 * and validation errors use the same scale. Only '\n' starts a line (as in
 * jansson).
 *
 * The scanner never reads outside [text, text + len), whatever the text
 * holds: on malformed input it stops and reports the deepest place it
 * reached. It is iterative, so nesting depth costs no stack.
 */
#ifndef GRIDRUN_SPEC_POS_H
#define GRIDRUN_SPEC_POS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "error.h"

/* One step of a path: an object member (key != NULL) or an array element. */
struct gr_spec_path_elem {
	const char *key;
	size_t index;
};

struct gr_spec_pos {
	unsigned line;
	unsigned col;
};

/*
 * Find the value at path (depth steps from the top-level value) in text. With
 * at_key, the last step must be a member and its name's position is returned
 * instead of its value's. Member names are compared after decoding their JSON
 * escapes, so "\u0070rocess" is found as "process".
 * Returns 0 when the whole path was found; -ENOENT when only a prefix was
 * (pos is then the deepest value reached, at worst the top-level value).
 */
int gr_spec_pos_find(const char *text, size_t len,
		     const struct gr_spec_path_elem *path, size_t depth,
		     bool at_key, struct gr_spec_pos *pos);

/* Line and column of byte offset off (clamped to len). */
struct gr_spec_pos gr_spec_pos_at(const char *text, size_t len, size_t off);

#define GR_SPEC_QUOTE_CHARS 64
#define GR_SPEC_QUOTE_BUF (GR_SPEC_QUOTE_CHARS * 6 + 16)

/* s as a one-line quoted string of at most GR_SPEC_QUOTE_CHARS characters. */
const char *gr_spec_quote(const char *s, char buf[GR_SPEC_QUOTE_BUF]);

/*
 * A JSON syntax error at jansson's line, column and byte position, with
 * jansson's text. For a duplicate member (dup_key) the message names the
 * member as it is written in the text. Returns -EINVAL.
 */
int gr_spec_syntax_error(struct gr_error **err, const char *file, const char *text,
			 size_t len, int line, int col, int position, bool dup_key,
			 const char *jansson_text);

#define GR_SPEC_PATH_MAX 8

struct gr_spec_walk {
	const char *text;   /* the whole document, as given to jansson */
	size_t len;
	const char *file;   /* FILE in messages */
	struct gr_error **err;
	struct gr_spec_path_elem path[GR_SPEC_PATH_MAX];
	size_t depth;       /* path[0..depth) leads to the current value */
};

/* Step into member key (key != NULL) or element index; gr_spec_pop() back. */
void gr_spec_push(struct gr_spec_walk *w, const char *key, size_t index);
void gr_spec_pop(struct gr_spec_walk *w);

/*
 * Fail at the current value ("PATH: WHAT" at its position). All of these
 * fill *w->err and return a negative errno (-EINVAL, -ENOMEM).
 */
int gr_spec_fail(struct gr_spec_walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Fail at the name of the current member; PATH is its object's. */
int gr_spec_fail_key(struct gr_spec_walk *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "unknown key \"name\"", at the name. */
int gr_spec_unknown_key(struct gr_spec_walk *w);
int gr_spec_oom(struct gr_spec_walk *w);

/*
 * Call fn for each member (in document order) or element of v with its path
 * pushed; stop at the first error. When v is not an object (an array), fail
 * at v with the message what.
 */
int gr_spec_each_member(struct gr_spec_walk *w, json_t *v, const char *what,
			int (*fn)(struct gr_spec_walk *w, const char *key, json_t *v));
int gr_spec_each_element(struct gr_spec_walk *w, json_t *v, const char *what,
			 int (*fn)(struct gr_spec_walk *w, size_t i, json_t *v));

/* Typed getters for the current value v; on a mismatch they fail at it. */
/* An integer in [min, max], or -1 when minus_one; else fail with msg. */
int gr_spec_get_int(struct gr_spec_walk *w, json_t *v, long long min, long long max,
		    bool minus_one, const char *msg, long long *out);
/* A copy of string s. */
int gr_spec_dup(struct gr_spec_walk *w, const char *s, char **out);
/*
 * An absolute path, normalised: "//" collapsed, trailing "/" dropped. "." and
 * ".." components are refused, not resolved: without the filesystem the path
 * will be used on, resolving them would be a guess.
 */
int gr_spec_get_path(struct gr_spec_walk *w, json_t *v, char **out);
/* path (normalised) is top or beneath it. */
bool gr_spec_path_under(const char *path, const char *top);
/* 1..max characters of [A-Za-z0-9._-], not starting with '.' (never "." or ".."). */
int gr_spec_get_name(struct gr_spec_walk *w, json_t *v, size_t max, char **out);

#endif
