// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * classad.c - the old ClassAd text format (classad.h has the contract).
 *
 * One pass over the text: a name, " = ", then the value up to the end of
 * the line, where a newline inside a quoted string does not end it. The
 * attributes are then sorted by name (case-insensitively), which finds
 * duplicates and makes lookups a binary search.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "classad.h"
#include "util.h"

struct ca_parser {
	const char *s;
	size_t len, pos;
	unsigned line;
	const char *file;
	struct gr_classad *ad;
	size_t cap;
};

static bool is_name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/*
 * Decode a quoted string starting at s[0] == '"' within s[0..n): returns
 * the index just past the closing quote, or 0 if it is unterminated. *out
 * (if out) gets the decoded text: \" is a quote, any other backslash is
 * itself.
 */
static size_t decode_string(const char *s, size_t n, char **out)
{
	char *d = out ? malloc(n) : NULL;
	size_t j = 0;

	if (out && !d)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == '"') {
			if (d)
				d[j++] = '"';
			i++;
		} else if (s[i] == '"') {
			if (d) {
				d[j] = '\0';
				*out = d;
			}
			return i + 1;
		} else if (d) {
			d[j++] = s[i];
		}
	}
	free(d);
	return 0;
}

/* [-]digits with a '.' and/or an exponent, nothing else. */
static bool looks_real(const char *t)
{
	const char *p = t + (*t == '-');
	size_t digits = 0;
	bool dot = false, exp = false;

	for (; isdigit((unsigned char)*p); p++)
		digits++;
	if (*p == '.') {
		dot = true;
		for (p++; isdigit((unsigned char)*p); p++)
			digits++;
	}
	if (digits && (*p == 'e' || *p == 'E')) {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		exp = true;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return digits && (dot || exp) && !*p;
}

static bool looks_int(const char *t)
{
	const char *p = t + (*t == '-');

	if (!*p)
		return false;
	for (; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

static int classify(struct ca_parser *p, struct gr_ca_attr *a, struct gr_error **err)
{
	const char *t = a->text;
	size_t n = strlen(t);

	if (t[0] == '"') {
		size_t end = decode_string(t, n, NULL);

		if (end == n) {
			a->type = GR_CA_STRING;
			if (!decode_string(t, n, &a->str))
				return gr_error_sys(err, ENOMEM, "%s:%u: %s", p->file, a->line, a->name);
			return 0;
		}
		/* "a" + "b", "x" =?= Y ...: an expression (end == 0 cannot happen:
		 * the line scanner only ends a value outside quotes) */
	} else if (!strcasecmp(t, "true") || !strcasecmp(t, "false")) {
		a->type = GR_CA_BOOL;
		a->b = !strcasecmp(t, "true");
		return 0;
	} else if (!strcasecmp(t, "undefined")) {
		a->type = GR_CA_UNDEFINED;
		return 0;
	} else if (!strcasecmp(t, "error")) {
		a->type = GR_CA_ERROR;
		return 0;
	} else if (looks_int(t)) {
		errno = 0;
		a->i = strtoll(t, NULL, 10);
		if (errno == ERANGE)
			return gr_error_set(err, ERANGE, "%s:%u: %s: integer %s does not fit in 64 bits",
					    p->file, a->line, a->name, t);
		a->type = GR_CA_INT;
		a->d = (double)a->i;
		return 0;
	} else if (looks_real(t)) {
		a->type = GR_CA_REAL;
		a->d = strtod(t, NULL);
		return 0;
	} else if (!strcmp(t, "real(\"NaN\")") || !strcmp(t, "real(\"INF\")") || !strcmp(t, "real(\"-INF\")")) {
		a->type = GR_CA_REAL;
		a->d = t[6] == 'N' ? NAN : t[6] == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	a->type = GR_CA_EXPR;
	return 0;
}

static void attr_done(struct gr_ca_attr *a)
{
	free(a->name);
	free(a->text);
	free(a->str);
}

static bool at_eol(const struct ca_parser *p)
{
	return p->pos >= p->len || p->s[p->pos] == '\n';
}

/* white space as the ClassAd lexer's isspace(), but a newline ends a line */
static bool is_blank(char c)
{
	return c != '\n' && isspace((unsigned char)c);
}

static void skip_blanks(struct ca_parser *p)
{
	while (p->pos < p->len && is_blank(p->s[p->pos]))
		p->pos++;
}

/* One "Name = value" (or a blank line); p->pos is at the start of a line. */
static int parse_line(struct ca_parser *p, struct gr_error **err)
{
	size_t nstart, nend, vstart, vend;
	unsigned line = p->line;
	bool quoted = false;
	struct gr_ca_attr *a;

	skip_blanks(p);
	if (at_eol(p))
		goto next_line;
	nstart = p->pos;
	if (!is_name_start(p->s[p->pos]))
		return gr_error_set(err, EINVAL, "%s:%u: expected an attribute name", p->file, line);
	while (p->pos < p->len && is_name_char(p->s[p->pos]))
		p->pos++;
	nend = p->pos;
	skip_blanks(p);
	if (p->pos >= p->len || p->s[p->pos] != '=' ||
	    (p->pos + 1 < p->len && p->s[p->pos + 1] == '='))
		return gr_error_set(err, EINVAL, "%s:%u: %.*s: expected `Name = value`", p->file, line,
				    (int)(nend - nstart), p->s + nstart);
	p->pos++;
	skip_blanks(p);
	vstart = p->pos;
	/* the value runs to the end of the line, a quoted newline included */
	for (; p->pos < p->len; p->pos++) {
		char c = p->s[p->pos];

		if (quoted && c == '\\' && p->pos + 1 < p->len && p->s[p->pos + 1] == '"')
			p->pos++;
		else if (c == '"')
			quoted = !quoted;
		else if (c == '\n' && quoted)
			p->line++;
		else if (c == '\n')
			break;
	}
	if (quoted)
		return gr_error_set(err, EINVAL, "%s:%u: %.*s: unterminated string", p->file, line,
				    (int)(nend - nstart), p->s + nstart);
	vend = p->pos;
	while (vend > vstart && is_blank(p->s[vend - 1]))
		vend--;
	if (vend == vstart)
		return gr_error_set(err, EINVAL, "%s:%u: %.*s: empty value", p->file, line,
				    (int)(nend - nstart), p->s + nstart);

	if (p->ad->nattrs == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct gr_ca_attr *n = realloc(p->ad->attrs, cap * sizeof(*n));

		if (!n)
			return gr_error_sys(err, ENOMEM, "%s:%u", p->file, line);
		p->ad->attrs = n;
		p->cap = cap;
	}
	a = &p->ad->attrs[p->ad->nattrs];
	memset(a, 0, sizeof(*a));
	a->line = line;
	a->name = strndup(p->s + nstart, nend - nstart);
	a->text = strndup(p->s + vstart, vend - vstart);
	if (!a->name || !a->text) {
		attr_done(a);
		return gr_error_sys(err, ENOMEM, "%s:%u", p->file, line);
	}
	if (classify(p, a, err) < 0) {
		attr_done(a);
		return -EINVAL;
	}
	p->ad->nattrs++;
next_line:
	if (p->pos < p->len) {
		p->pos++;
		p->line++;
	}
	return 0;
}

static int cmp_attr(const void *x, const void *y)
{
	const struct gr_ca_attr *a = x, *b = y;
	int c = strcasecmp(a->name, b->name);

	return c ? c : (a->line > b->line) - (a->line < b->line);
}

int gr_classad_parse(const char *text, size_t len, const char *name,
		     struct gr_classad **out, struct gr_error **err)
{
	struct gr_classad *ad = calloc(1, sizeof(*ad));
	struct ca_parser p = { .s = text, .len = len, .line = 1, .ad = ad };
	const char *nul = memchr(text, '\0', len);
	int r = 0;

	*out = NULL;
	if (!ad || !(ad->file = strdup(name))) {
		gr_classad_free(ad);
		return gr_error_sys(err, ENOMEM, "%s", name);
	}
	p.file = ad->file;
	if (nul) {
		unsigned line = 1;

		for (const char *c = text; c < nul; c++)
			line += *c == '\n';
		gr_classad_free(ad);
		return gr_error_set(err, EINVAL, "%s:%u: NUL byte in the ad", name, line);
	}
	while (p.pos < p.len && r == 0)
		r = parse_line(&p, err);
	if (r == 0 && ad->nattrs > 1) {
		qsort(ad->attrs, ad->nattrs, sizeof(*ad->attrs), cmp_attr);
		for (size_t i = 1; i < ad->nattrs; i++) {
			if (!strcasecmp(ad->attrs[i - 1].name, ad->attrs[i].name)) {
				r = gr_error_set(err, EINVAL, "%s:%u: %s: duplicate attribute (also on line %u)",
						 name, ad->attrs[i].line, ad->attrs[i].name, ad->attrs[i - 1].line);
				break;
			}
		}
	}
	if (r < 0) {
		gr_classad_free(ad);
		return r;
	}
	*out = ad;
	return 0;
}

int gr_classad_load(const char *path, const char *name, struct gr_classad **out,
		    struct gr_error **err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	r = gr_read_file_at(AT_FDCWD, path, &text, &len, err);
	if (r < 0)
		return r;
	return gr_classad_parse(text, len, name ? name : path, out, err);
}

void gr_classad_free(struct gr_classad *ad)
{
	if (!ad)
		return;
	for (size_t i = 0; i < ad->nattrs; i++)
		attr_done(&ad->attrs[i]);
	free(ad->attrs);
	free(ad->file);
	free(ad);
}

void gr_classad_freep(struct gr_classad **ad)
{
	gr_classad_free(*ad);
}

static int cmp_key(const void *key, const void *elem)
{
	return strcasecmp(key, ((const struct gr_ca_attr *)elem)->name);
}

const struct gr_ca_attr *gr_classad_get(const struct gr_classad *ad, const char *name)
{
	if (!ad || !ad->nattrs)
		return NULL;
	return bsearch(name, ad->attrs, ad->nattrs, sizeof(*ad->attrs), cmp_key);
}

static const char *type_name(enum gr_ca_type t)
{
	switch (t) {
	case GR_CA_STRING: return "a string";
	case GR_CA_INT: return "an integer";
	case GR_CA_REAL: return "a real";
	case GR_CA_BOOL: return "a boolean";
	case GR_CA_UNDEFINED: return "undefined";
	case GR_CA_ERROR: return "error";
	case GR_CA_EXPR: return "an expression";
	}
	return "?";
}

int gr_classad_string(const struct gr_classad *ad, const char *name, const char **out,
		      struct gr_error **err)
{
	const struct gr_ca_attr *a = gr_classad_get(ad, name);

	if (!a || a->type == GR_CA_UNDEFINED)
		return -ENOENT;
	if (a->type != GR_CA_STRING)
		return gr_error_set(err, EINVAL, "%s:%u: %s: expected a string, found %s `%s`",
				    ad->file, a->line, a->name, type_name(a->type), a->text);
	*out = a->str;
	return 0;
}

int gr_classad_int(const struct gr_classad *ad, const char *name, long long *out,
		   struct gr_error **err)
{
	const struct gr_ca_attr *a = gr_classad_get(ad, name);

	if (!a || a->type == GR_CA_UNDEFINED)
		return -ENOENT;
	if (a->type == GR_CA_INT) {
		*out = a->i;
		return 0;
	}
	if (a->type == GR_CA_REAL && a->d == floor(a->d) && fabs(a->d) < 9.0e18) {
		*out = (long long)a->d;
		return 0;
	}
	return gr_error_set(err, EINVAL, "%s:%u: %s: expected an integer, found %s `%s`",
			    ad->file, a->line, a->name, type_name(a->type), a->text);
}
