/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * state-scan.c - a state entry read in one pass, without jansson, when it
 * has the plain shape gridrun writes; anything else is left to the jansson
 * path (state-scan.h says what is taken).
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state-scan.h"

enum kind { STR, INT, BOOL, LIST, LEASE, LAYERS };

struct key {
	const char *name;
	enum kind kind;
	long long min, max;
};

/* The top level's keys, parse_fields()'s types and ranges. */
enum {
	K_JOB_ID, K_SUP_PID, K_SUP_START, K_SUP_EPOCH, K_SPEC, K_PID, K_PID_START, K_RUNNING, K_HELD,
	K_ACCOUNT, K_BUNDLE, K_CG_VERSION, K_CGROUPS, K_FREEZER, K_LEASE, K_LAYERS, K_ACCOUNTING,
	K_STARTED_NS, K_ISOLATION, K_UID_FIRST, K_UID_COUNT, K_COUNT
};
static const struct key top[K_COUNT] = {
	[K_JOB_ID] = { "job_id", STR, 0, 0 },
	[K_SUP_PID] = { "supervisor_pid", INT, 0, INT32_MAX },
	[K_SUP_START] = { "supervisor_start", INT, 0, INT64_MAX },
	[K_SUP_EPOCH] = { "supervisor_start_epoch_ns", INT, 0, INT64_MAX },
	[K_SPEC] = { "spec", STR, 0, 0 },
	[K_PID] = { "pid", INT, 0, INT32_MAX },
	[K_PID_START] = { "pid_start", INT, 0, INT64_MAX },
	[K_RUNNING] = { "running", BOOL, 0, 0 },
	[K_HELD] = { "held", BOOL, 0, 0 },
	[K_ACCOUNT] = { "account", STR, 0, 0 },
	[K_BUNDLE] = { "bundle", STR, 0, 0 },
	[K_CG_VERSION] = { "cgroup_version", INT, 0, 2 },
	[K_CGROUPS] = { "cgroups", LIST, 0, 0 },
	[K_FREEZER] = { "freezer", STR, 0, 0 },
	[K_LEASE] = { "lease", LEASE, 0, 0 },
	[K_LAYERS] = { "layers", LAYERS, 0, 0 },
	[K_ACCOUNTING] = { "accounting", STR, 0, 0 },
	[K_STARTED_NS] = { "started_ns", INT, 0, INT64_MAX },
	[K_ISOLATION] = { "isolation", STR, 0, 0 },
	[K_UID_FIRST] = { "uid_first", INT, 0, UINT32_MAX },
	[K_UID_COUNT] = { "uid_count", INT, 0, UINT32_MAX },
};

enum { L_POOL, L_INDEX, L_FIRST, L_COUNT, L_N };
static const struct key lease_keys[L_N] = {
	[L_POOL] = { "pool", STR, 0, 0 },
	[L_INDEX] = { "index", INT, 0, UINT32_MAX },
	[L_FIRST] = { "first", INT, 0, UINT32_MAX },
	[L_COUNT] = { "count", INT, 0, UINT32_MAX },
};

enum { Y_LANDLOCK, Y_LSM, Y_N };
static const struct key layer_keys[Y_N] = {
	[Y_LANDLOCK] = { "landlock", INT, -4095, INT32_MAX },
	[Y_LSM] = { "lsm", BOOL, 0, 0 },
};

/* One value as scanned: a string's bounds, an integer or a boolean. */
struct val {
	const char *s;
	size_t n;
	long long i;
	bool b;
};

static void ws(const char **p)
{
	while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
		(*p)++;
}

/* A string of printable ASCII, no escape: what jansson reads the same. */
static bool str(const char **p, struct val *v)
{
	const char *q = *p;

	if (*q != '"')
		return false;
	v->s = ++q;
	while (*q >= 0x20 && *q <= 0x7e && *q != '"' && *q != '\\')
		q++;
	if (*q != '"')
		return false;
	v->n = (size_t)(q - v->s);
	*p = q + 1;
	return true;
}

/* -?[1-9][0-9]* or 0, within long long, not followed by a fraction or an
 * exponent (jansson would make it a real). "-0" is left to jansson. */
static bool integer(const char **p, struct val *v)
{
	const char *q = *p;
	unsigned long long u = 0;
	bool neg = *q == '-';
	int digits = 0;

	q += neg;
	if (*q < '0' || *q > '9' || (*q == '0' && (neg || (q[1] >= '0' && q[1] <= '9'))))
		return false;
	for (; *q >= '0' && *q <= '9'; q++) {
		if (++digits > 19)
			return false;
		u = u * 10 + (unsigned)(*q - '0');
	}
	if (*q == '.' || *q == 'e' || *q == 'E' || u > LLONG_MAX)
		return false;
	v->i = neg ? -(long long)u : (long long)u;
	*p = q;
	return true;
}

static bool boolean(const char **p, struct val *v)
{
	if (!strncmp(*p, "true", 4)) {
		v->b = true;
		*p += 4;
	} else if (!strncmp(*p, "false", 5)) {
		v->b = false;
		*p += 5;
	} else {
		return false;
	}
	/* "truex" is not true: the next character must end the token */
	return !((**p >= 'a' && **p <= 'z') || (**p >= 'A' && **p <= 'Z') || (**p >= '0' && **p <= '9'));
}

static bool scalar(const char **p, const struct key *k, struct val *v)
{
	switch (k->kind) {
	case STR:
		return str(p, v);
	case INT:
		return integer(p, v) && v->i >= k->min && v->i <= k->max;
	case BOOL:
		return boolean(p, v);
	default:
		return false;
	}
}

/* At `open`: it is taken, and the space after it; 1 when the container is
 * empty (its `close` taken too), 0 when not, -1 when *p is not `open`. */
static int container(const char **p, char open, char close)
{
	if (**p != open)
		return -1;
	(*p)++;
	ws(p);
	if (**p != close)
		return 0;
	(*p)++;
	return 1;
}

/* After a member or an element: 1 at `close` (taken), 0 after a comma
 * (taken, and the space after it), -1 at anything else. */
static int after_item(const char **p, char close)
{
	ws(p);
	if (**p == close) {
		(*p)++;
		return 1;
	}
	if (**p != ',')
		return -1;
	(*p)++;
	ws(p);
	return 0;
}

static char *val_dup(const struct val *v)
{
	return strndup(v->s, v->n);
}

/*
 * An object (*p at its "{"), each key one of keys[0..n), at most once: its
 * value scanned into vals[] (or handed to nested() for LIST, LEASE and
 * LAYERS), seen[] set. *p ends after its "}".
 */
typedef bool nested_fn(const char **p, int k, void *arg);
static bool members(const char **p, const struct key *keys, int n, struct val *vals, bool *seen, nested_fn *nested,
		    void *arg)
{
	int r = container(p, '{', '}');

	if (r != 0)
		return r == 1;
	for (;;) {
		struct val name;
		int k;

		if (!str(p, &name))
			return false;
		for (k = 0; k < n; k++)
			if (strlen(keys[k].name) == name.n && !memcmp(keys[k].name, name.s, name.n))
				break;
		/* an unknown key, or one again (jansson refuses duplicates) */
		if (k == n || seen[k])
			return false;
		seen[k] = true;
		ws(p);
		if (**p != ':')
			return false;
		(*p)++;
		ws(p);
		if (keys[k].kind == LIST || keys[k].kind == LEASE || keys[k].kind == LAYERS ? !nested(p, k, arg)
											   : !scalar(p, &keys[k], &vals[k]))
			return false;
		if ((r = after_item(p, '}')) != 0)
			return r == 1;
	}
}

struct top_scan {
	struct gr_job_state *st;
	struct val lease[L_N], layers[Y_N];
	bool lease_seen[L_N], layers_seen[Y_N];
};

static bool top_nested(const char **p, int k, void *arg)
{
	struct top_scan *ts = arg;
	struct gr_job_state *st = ts->st;
	int r;

	if (k == K_LEASE) {
		st->has_lease = true;
		return members(p, lease_keys, L_N, ts->lease, ts->lease_seen, NULL, NULL) && ts->lease_seen[L_POOL];
	}
	if (k == K_LAYERS) {
		st->has_layers = true;
		return members(p, layer_keys, Y_N, ts->layers, ts->layers_seen, NULL, NULL) &&
		       ts->layers_seen[Y_LANDLOCK] && ts->layers_seen[Y_LSM];
	}
	/* cgroups: an array of at most GR_JOB_STATE_CGROUPS_MAX strings */
	if ((r = container(p, '[', ']')) != 0)
		return r == 1;
	for (;;) {
		struct val v;

		if (st->ncgroups == GR_JOB_STATE_CGROUPS_MAX || !str(p, &v))
			return false;
		if (!(st->cgroups[st->ncgroups] = val_dup(&v)))
			return false;   /* out of memory: jansson's path says so */
		st->ncgroups++;
		if ((r = after_item(p, ']')) != 0)
			return r == 1;
	}
}

static bool set_str(const struct val *vals, const bool *seen, int k, char **out)
{
	if (!seen[k])
		return true;
	*out = val_dup(&vals[k]);
	return *out != NULL;
}

int gr_job_state_scan(const char *text, unsigned flags, struct gr_job_state *st)
{
	struct top_scan ts = { .st = st };
	struct val v[K_COUNT] = { 0 };
	bool seen[K_COUNT] = { false };
	const char *p = text;
	bool ok;

	memset(st, 0, sizeof(*st));
	ws(&p);
	ok = members(&p, top, K_COUNT, v, seen, top_nested, &ts);
	if (ok) {
		ws(&p);
		ok = *p == '\0';
	}
	if (ok && !(flags & GR_JOB_STATE_PARTIAL))
		ok = seen[K_JOB_ID] && seen[K_SUP_PID] && seen[K_SUP_START];
	ok = ok && set_str(v, seen, K_JOB_ID, &st->job_id) && set_str(v, seen, K_SPEC, &st->spec) &&
	     set_str(v, seen, K_ACCOUNT, &st->account) && set_str(v, seen, K_BUNDLE, &st->bundle) &&
	     set_str(v, seen, K_FREEZER, &st->freezer) && set_str(v, seen, K_ACCOUNTING, &st->accounting) &&
	     set_str(v, seen, K_ISOLATION, &st->isolation) &&
	     (!st->has_lease || set_str(ts.lease, ts.lease_seen, L_POOL, &st->lease.pool));
	if (!ok) {
		gr_job_state_free(st);
		memset(st, 0, sizeof(*st));
		return 0;
	}
	st->supervisor_pid = seen[K_SUP_PID] ? (pid_t)v[K_SUP_PID].i : 0;
	st->supervisor_start = seen[K_SUP_START] ? (unsigned long long)v[K_SUP_START].i : 0;
	st->supervisor_start_epoch_ns = seen[K_SUP_EPOCH] ? (unsigned long long)v[K_SUP_EPOCH].i : 0;
	st->pid = seen[K_PID] ? (pid_t)v[K_PID].i : 0;
	st->pid_start = seen[K_PID_START] ? (unsigned long long)v[K_PID_START].i : 0;
	st->running = seen[K_RUNNING] && v[K_RUNNING].b;
	st->held = seen[K_HELD] && v[K_HELD].b;
	st->cgroup_version = seen[K_CG_VERSION] ? (int)v[K_CG_VERSION].i : 0;
	st->started_ns = seen[K_STARTED_NS] ? (unsigned long long)v[K_STARTED_NS].i : 0;
	st->uid_first = seen[K_UID_FIRST] ? (uid_t)v[K_UID_FIRST].i : 0;
	st->uid_count = seen[K_UID_COUNT] ? (unsigned)v[K_UID_COUNT].i : 0;
	if (st->has_lease) {
		st->lease.index = ts.lease_seen[L_INDEX] ? (unsigned)ts.lease[L_INDEX].i : 0;
		st->lease.first = ts.lease_seen[L_FIRST] ? (uid_t)ts.lease[L_FIRST].i : 0;
		st->lease.count = ts.lease_seen[L_COUNT] ? (unsigned)ts.lease[L_COUNT].i : 0;
	}
	if (st->has_layers) {
		st->landlock = (int)ts.layers[Y_LANDLOCK].i;
		st->lsm = ts.layers[Y_LSM].b;
	}
	return 1;
}
