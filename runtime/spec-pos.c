/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spec-pos.c - positions, messages and the tree walk of the spec parser.
 *
 * The position finder is a forward scanner over the raw text: it knows just
 * enough JSON to step over strings (honouring escapes), containers (by
 * counting brackets outside strings) and scalars. Every read is
 * bounds-checked, so text jansson would reject cannot make it misbehave; it
 * only stops early.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec-pos.h"

struct scanner {
	const char *text;
	size_t len;
	size_t i;
};

static bool at_end(const struct scanner *s)
{
	return s->i >= s->len;
}

static char peek(const struct scanner *s)
{
	return at_end(s) ? '\0' : s->text[s->i];
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(struct scanner *s)
{
	while (!at_end(s) && is_ws(s->text[s->i]))
		s->i++;
}

/* At a '"': step past the closing quote. */
static bool skip_string(struct scanner *s)
{
	s->i++;
	while (!at_end(s)) {
		char c = s->text[s->i++];

		if (c == '"')
			return true;
		if (c == '\\') {
			if (at_end(s))
				return false;
			s->i++;
		}
	}
	return false;
}

/* Step over one value of any kind; containers without recursion. */
static bool skip_value(struct scanner *s)
{
	size_t depth = 0;

	skip_ws(s);
	if (at_end(s))
		return false;
	do {
		char c = s->text[s->i];

		if (c == '"') {
			if (!skip_string(s))
				return false;
		} else if (c == '[' || c == '{') {
			depth++;
			s->i++;
		} else if (c == ']' || c == '}') {
			if (depth == 0)
				return false;
			depth--;
			s->i++;
		} else if (depth > 0) {
			s->i++;
		} else {
			/* a scalar: true, 12.5e3, null ... */
			while (!at_end(s) && !is_ws(peek(s)) && !strchr(",:]}", peek(s)))
				s->i++;
			return true;
		}
	} while (depth > 0 && !at_end(s));
	return depth == 0;
}

static int hex4(const struct scanner *s, size_t at, unsigned *out)
{
	unsigned v = 0;

	if (at + 4 > s->len)
		return -EINVAL;
	for (size_t k = at; k < at + 4; k++) {
		char c = s->text[k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -EINVAL;
	}
	*out = v;
	return 0;
}

static size_t utf8_encode(unsigned cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * At a '"': decode the string as jansson does and compare it with key, then
 * step past it. Decoding matters: a member may be spelt with escapes.
 */
static bool string_equals(struct scanner *s, const char *key, bool *eq)
{
	size_t klen = strlen(key), k = 0;
	bool same = true;

	s->i++;
	while (!at_end(s)) {
		char c = s->text[s->i++], buf[4];
		size_t n = 1;

		if (c == '"') {
			*eq = same && k == klen;
			return true;
		}
		buf[0] = c;
		if (c == '\\') {
			if (at_end(s))
				return false;
			c = s->text[s->i++];
			switch (c) {
			case 'b': buf[0] = '\b'; break;
			case 'f': buf[0] = '\f'; break;
			case 'n': buf[0] = '\n'; break;
			case 'r': buf[0] = '\r'; break;
			case 't': buf[0] = '\t'; break;
			case 'u': {
				unsigned cp, lo;

				if (hex4(s, s->i, &cp) < 0)
					return false;
				s->i += 4;
				/* a UTF-16 surrogate pair is one character */
				if (cp >= 0xd800 && cp <= 0xdbff &&
				    s->i + 6 <= s->len && s->text[s->i] == '\\' &&
				    s->text[s->i + 1] == 'u' &&
				    hex4(s, s->i + 2, &lo) == 0 &&
				    lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					s->i += 6;
				}
				n = utf8_encode(cp, buf);
				break;
			}
			default:
				buf[0] = c; /* '"', '\\' and '/' stand for themselves */
				break;
			}
		}
		if (same) {
			if (k + n > klen || memcmp(key + k, buf, n) != 0)
				same = false;
			else
				k += n;
		}
	}
	return false;
}

/* At an object: move to the value of member key; *keyoff = its name. */
static bool find_member(struct scanner *s, const char *key, size_t *keyoff)
{
	if (peek(s) != '{')
		return false;
	s->i++;
	for (;;) {
		bool eq = false;

		skip_ws(s);
		if (peek(s) != '"')
			return false;
		*keyoff = s->i;
		if (!string_equals(s, key, &eq))
			return false;
		skip_ws(s);
		if (peek(s) != ':')
			return false;
		s->i++;
		skip_ws(s);
		if (eq)
			return true;
		if (!skip_value(s))
			return false;
		skip_ws(s);
		if (peek(s) != ',')
			return false;
		s->i++;
	}
}

/* At an array: move to element index. */
static bool find_element(struct scanner *s, size_t index)
{
	if (peek(s) != '[')
		return false;
	s->i++;
	skip_ws(s);
	for (size_t n = 0; n < index; n++) {
		if (!skip_value(s))
			return false;
		skip_ws(s);
		if (peek(s) != ',')
			return false;
		s->i++;
		skip_ws(s);
	}
	return !at_end(s) && peek(s) != ']';
}

struct gr_spec_pos gr_spec_pos_at(const char *text, size_t len, size_t off)
{
	struct gr_spec_pos pos = { .line = 1, .col = 1 };

	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\n') {
			pos.line++;
			pos.col = 1;
		} else if ((c & 0xc0) != 0x80) {
			/* count characters: skip UTF-8 continuation bytes */
			pos.col++;
		}
	}
	return pos;
}

int gr_spec_pos_find(const char *text, size_t len,
		     const struct gr_spec_path_elem *path, size_t depth,
		     bool at_key, struct gr_spec_pos *pos)
{
	struct scanner s = { .text = text, .len = len, .i = 0 };
	size_t found;

	skip_ws(&s);
	found = s.i;
	for (size_t d = 0; d < depth; d++) {
		size_t keyoff = 0;

		if (path[d].key) {
			if (!find_member(&s, path[d].key, &keyoff))
				goto partial;
			if (at_key && d + 1 == depth) {
				*pos = gr_spec_pos_at(text, len, keyoff);
				return 0;
			}
		} else if (!find_element(&s, path[d].index)) {
			goto partial;
		}
		found = s.i;
	}
	*pos = gr_spec_pos_at(text, len, found);
	return 0;
partial:
	*pos = gr_spec_pos_at(text, len, found);
	return -ENOENT;
}

/*
 * The start of the raw string token that ends right before byte end (where
 * jansson's position points after a duplicate member name), or -ENOENT.
 */
static long string_before(const char *text, size_t len, size_t end)
{
	if (end < 2 || end > len || text[end - 1] != '"')
		return -ENOENT;
	for (size_t k = end - 1; k-- > 0;) {
		size_t bs = 0;

		if (text[k] != '"')
			continue;
		while (bs < k && text[k - 1 - bs] == '\\')
			bs++;
		/* an odd run of backslashes escapes the quote */
		if (bs % 2 == 0)
			return (long)k;
	}
	return -ENOENT;
}

const char *gr_spec_quote(const char *s, char buf[GR_SPEC_QUOTE_BUF])
{
	size_t o = 0, n = 0;

	buf[o++] = '"';
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		/* cut between characters, never inside a UTF-8 sequence */
		if ((ch & 0xc0) != 0x80 && n++ == GR_SPEC_QUOTE_CHARS) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(buf + o, 7, "\\u%04x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static bool plain_key(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");

	return n > 0 && s[n] == '\0' && n <= GR_SPEC_QUOTE_CHARS;
}

static void format_path(const struct gr_spec_path_elem *path, size_t depth,
			char *buf, size_t size)
{
	char q[GR_SPEC_QUOTE_BUF];
	size_t o = 0;

	snprintf(buf, size, "json");
	for (size_t d = 0; d < depth && o < size; d++) {
		if (!path[d].key)
			o += (size_t)snprintf(buf + o, size - o, "[%zu]", path[d].index);
		else if (plain_key(path[d].key))
			o += (size_t)snprintf(buf + o, size - o, "%s%s", d ? "." : "",
					      path[d].key);
		else
			o += (size_t)snprintf(buf + o, size - o, "[%s]",
					      gr_spec_quote(path[d].key, q));
	}
}

static int error_at(struct gr_spec_walk *w, bool at_key, const char *what)
{
	char where[GR_SPEC_PATH_MAX * (GR_SPEC_QUOTE_BUF + 8)];
	struct gr_spec_pos pos;
	size_t shown = w->depth;

	/* an unknown member is a fault of its object: name the object */
	if (at_key && shown > 0)
		shown--;
	/* -ENOENT cannot happen on text jansson accepted; if it ever does,
	 * the nearest enclosing value is the best position there is */
	gr_spec_pos_find(w->text, w->len, w->path, w->depth, at_key, &pos);
	format_path(w->path, shown, where, sizeof(where));
	return gr_error_set(w->err, EINVAL, "%s:%u:%u: %s: %s", w->file, pos.line, pos.col,
			    where, what);
}

int gr_spec_syntax_error(struct gr_error **err, const char *file, const char *text,
			 size_t len, int line, int col, int position, bool dup_key,
			 const char *jansson_text)
{
	unsigned l = line > 0 ? (unsigned)line : 1, c = col > 0 ? (unsigned)col : 1;
	char what[1024];
	size_t o = 0;
	long start;

	if (dup_key && position > 0 &&
	    (start = string_before(text, len, (size_t)position)) >= 0) {
		size_t n = (size_t)position - (size_t)start;
		const char *more = "";

		/* a string token has no raw control characters; if this one
		 * has, the position did not point where it should */
		for (size_t k = 0; k < n; k++)
			if ((unsigned char)text[start + (long)k] < 0x20)
				goto plain;

		/* the raw token is valid one-line JSON; keep it short */
		if (n > 80) {
			for (n = 76; n > 0 && ((unsigned char)text[start + (long)n] & 0xc0) == 0x80;)
				n--;
			more = "...\"";
		}
		return gr_error_set(err, EINVAL, "%s:%u:%u: json: duplicate key %.*s%s",
				    file, l, c, (int)n, text + start, more);
	}
plain:
	/* jansson quotes the token near the error: keep the message one line */
	for (const char *p = jansson_text; *p && o < sizeof(what) - 8; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(what + o, 7, "\\u%04x", ch);
		else
			what[o++] = (char)ch;
	}
	what[o] = '\0';
	return gr_error_set(err, EINVAL, "%s:%u:%u: json: %s", file, l, c, what);
}

/* --- the walk -------------------------------------------------------- */

void gr_spec_push(struct gr_spec_walk *w, const char *key, size_t index)
{
	if (w->depth >= GR_SPEC_PATH_MAX)
		abort(); /* the schema in spec.c is 5 deep at most */
	w->path[w->depth++] = (struct gr_spec_path_elem){ .key = key, .index = index };
}

void gr_spec_pop(struct gr_spec_walk *w)
{
	w->depth--;
}

int gr_spec_oom(struct gr_spec_walk *w)
{
	return gr_error_set(w->err, ENOMEM, "%s: out of memory", w->file);
}

static int vfail(struct gr_spec_walk *w, bool at_key, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static int vfail(struct gr_spec_walk *w, bool at_key, const char *fmt, va_list ap)
{
	char *what = NULL;
	int r;

	if (vasprintf(&what, fmt, ap) < 0)
		return gr_spec_oom(w);
	r = error_at(w, at_key, what);
	free(what);
	return r;
}

int gr_spec_fail(struct gr_spec_walk *w, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(w, false, fmt, ap);
	va_end(ap);
	return r;
}

int gr_spec_fail_key(struct gr_spec_walk *w, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(w, true, fmt, ap);
	va_end(ap);
	return r;
}

int gr_spec_unknown_key(struct gr_spec_walk *w)
{
	char q[GR_SPEC_QUOTE_BUF];

	return gr_spec_fail_key(w, "unknown key %s", gr_spec_quote(w->path[w->depth - 1].key, q));
}

int gr_spec_each_member(struct gr_spec_walk *w, json_t *v, const char *what,
			int (*fn)(struct gr_spec_walk *w, const char *key, json_t *v))
{
	const char *key;
	json_t *e;
	int r;

	if (!json_is_object(v))
		return gr_spec_fail(w, "%s", what);
	/* jansson (>= 2.8) iterates in insertion, i.e. document, order */
	json_object_foreach(v, key, e) {
		gr_spec_push(w, key, 0);
		r = fn(w, key, e);
		if (r < 0)
			return r;
		gr_spec_pop(w);
	}
	return 0;
}

int gr_spec_each_element(struct gr_spec_walk *w, json_t *v, const char *what,
			 int (*fn)(struct gr_spec_walk *w, size_t i, json_t *v))
{
	json_t *e;
	size_t i;
	int r;

	if (!json_is_array(v))
		return gr_spec_fail(w, "%s", what);
	json_array_foreach(v, i, e) {
		gr_spec_push(w, NULL, i);
		r = fn(w, i, e);
		if (r < 0)
			return r;
		gr_spec_pop(w);
	}
	return 0;
}

int gr_spec_get_int(struct gr_spec_walk *w, json_t *v, long long min, long long max,
		    bool minus_one, const char *msg, long long *out)
{
	long long n = json_integer_value(v);

	if (!json_is_integer(v) || ((n < min || n > max) && !(minus_one && n == -1)))
		return gr_spec_fail(w, "%s", msg);
	*out = n;
	return 0;
}

int gr_spec_dup(struct gr_spec_walk *w, const char *s, char **out)
{
	*out = strdup(s);
	return *out ? 0 : gr_spec_oom(w);
}

static int normalise_path(const char *s, char **out)
{
	char *p, *q;

	p = q = malloc(strlen(s) + 2);
	if (!p)
		return -ENOMEM;
	while (*s) {
		const char *e;
		size_t n;

		while (*s == '/')
			s++;
		if (!*s)
			break;
		e = strchrnul(s, '/');
		n = (size_t)(e - s);
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
			free(p);
			return -EINVAL;
		}
		*q++ = '/';
		memcpy(q, s, n);
		q += n;
		s = e;
	}
	if (q == p)
		*q++ = '/';
	*q = '\0';
	*out = p;
	return 0;
}

int gr_spec_get_path(struct gr_spec_walk *w, json_t *v, char **out)
{
	const char *s = json_string_value(v);
	int r;

	if (!s || s[0] != '/')
		return gr_spec_fail(w, "expected an absolute path");
	if (strlen(s) >= PATH_MAX)
		return gr_spec_fail(w, "expected a path shorter than %d bytes", PATH_MAX);
	r = normalise_path(s, out);
	if (r == -ENOMEM)
		return gr_spec_oom(w);
	if (r < 0)
		return gr_spec_fail(w, "expected a path without \".\" or \"..\" components");
	return 0;
}

bool gr_spec_path_under(const char *path, const char *top)
{
	size_t n = strlen(top);

	return strncmp(path, top, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int gr_spec_get_name(struct gr_spec_walk *w, json_t *v, size_t max, char **out)
{
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max || s[0] == '.' ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") != n)
		return gr_spec_fail(w, "expected 1 to %zu characters from [A-Za-z0-9._-], "
				    "not starting with '.'", max);
	return gr_spec_dup(w, s, out);
}
