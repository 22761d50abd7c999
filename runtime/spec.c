/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spec.c - load and validate a job spec (the contract is in spec.h).
 *
 * jansson parses (JSON_REJECT_DUPLICATES); this file walks the tree once,
 * member by member in document order, so the error reported is the first
 * one in the text. The walk, the positions and the message format are in
 * spec-pos.c; this file and spec-linux.c (the "linux" and "gridrun"
 * objects; spec-internal.h between them) are the schema.
 *
 * Message conventions ("FILE:LINE:COL: PATH: WHAT"):
 *  - An unknown or missing member is a fault of its object: PATH is the
 *    object's ("json" for the document), LINE:COL the unknown name, or the
 *    object for a missing member: `process: missing required key "args"`.
 *  - Any other fault is reported at the offending value.
 *  - JSON syntax errors (a duplicate member is one) have PATH "json" and
 *    jansson's position and text.
 *  - File errors carry no position: "open spec `x.json`: strerror".
 *
 * OCI compatibility (spec-oci.c has the list): the members that runc spec,
 * runc spec --rootless, crun spec and Slurm's rewrite of them carry are
 * accepted where gridrun provides or can honour them (the standard mounts,
 * process.terminal and process.capabilities with a notice, oomScoreAdj,
 * user.umask, uid/gid mappings that map process.user, deny-only device
 * rules, cgroupsPath with a notice). Still refused, because gridrun cannot
 * honour them: noNewPrivileges false, root.readonly false (the root is
 * always read-only), process.user.additionalGids and a namespace "path"
 * (joining). An OCI member gridrun does not implement is "not supported"
 * (gr_spec_oci_unsupported()); any other member not in design §4 is an
 * unknown key. linux.seccomp (an object) and gridrun.seccomp_profile (a
 * name or an absolute path) exclude each other; the profile itself is
 * checked by the seccomp loader (gr-seccomp.h) before the job starts.
 *
 * Decisions beyond the design:
 *  - Paths are normalised ("//" collapsed, trailing "/" dropped); "." and
 *    ".." components are refused, not resolved (gr_spec_get_path()).
 *  - Spec mounts always get GR_MNT_NOSUID|GR_MNT_NODEV (design §6).
 *  - gridrun.network absent but "network" listed in linux.namespaces means
 *    "none"; an explicit "host" beside a listed network namespace is an error.
 *  - Names (job_id, account, pool, rootfs) never start with '.', so none of
 *    them can be "." or ".." where the runtime makes a file name of it.
 *  - resources.any is set when some limit differs from "unset" (an explicit
 *    quota or pids limit of -1 alone does not count).
 *  - rlimits are plain JSON integers, so RLIM_INFINITY (2^64-1) cannot be
 *    written: jansson refuses integers above 2^63-1.
 *  - Spec files are limited to 4 MiB. A NULL name reads "<spec>" in messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "spec.h"
#include "spec-internal.h"
#include "util.h"

#define SPEC_MAX_SIZE (4u << 20)

static bool bool_is(json_t *v, bool want)
{
	return json_is_boolean(v) && json_is_true(v) == want;
}

int gr_spec_get_strv(struct gr_spec_walk *w, json_t *v, enum strv_kind kind,
		     char ***out, size_t *count)
{
	static const char *const what[] = {
		[STRV_ARGS] = "expected a non-empty array of strings",
		[STRV_ENV] = "expected an array of \"NAME=value\" strings",
		[STRV_PATHS] = "expected an array of absolute paths",
	};
	json_t *e;
	size_t i;
	int r;

	if (!json_is_array(v) || (kind == STRV_ARGS && json_array_size(v) == 0))
		return gr_spec_fail(w, "%s", what[kind]);
	*out = calloc(json_array_size(v) + 1, sizeof(char *));
	if (!*out)
		return gr_spec_oom(w);
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);

		gr_spec_push(w, NULL, i);
		if (kind == STRV_PATHS)
			r = gr_spec_get_path(w, e, &(*out)[i]);
		else if (!s)
			r = gr_spec_fail(w, "expected a string");
		else if (kind == STRV_ARGS && i == 0 && !*s)
			r = gr_spec_fail(w, "expected a non-empty string, the program to run");
		else if (kind == STRV_ENV && (s[0] == '=' || !strchr(s, '=')))
			r = gr_spec_fail(w, "expected \"NAME=value\" with a non-empty NAME");
		else
			r = gr_spec_dup(w, s, &(*out)[i]);
		if (r < 0)
			return r;
		*count = i + 1;
		gr_spec_pop(w);
	}
	return 0;
}

/* --- process --------------------------------------------------------- */

static int user_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct gr_spec *spec = ctx(w)->spec;
	long long id;
	int r;

	if (streq(key, "additionalGids"))
		return gr_spec_fail_key(w, "additionalGids is not supported: "
					"gridrun sets no supplementary groups");
	if (streq(key, "umask")) {
		r = gr_spec_get_int(w, v, 0, 0777, false, "expected an integer from 0 to 0777 "
				    "(511)", &id);
		spec->umask = (int)id;
		return r;
	}
	if (!streq(key, "uid") && !streq(key, "gid"))
		return gr_spec_unknown_key(w);
	/* (uid_t)-1 means "leave unchanged" to the set*id() calls */
	r = gr_spec_get_int(w, v, 0, 4294967294LL, false,
			    "expected an integer from 0 to 4294967294", &id);
	if (r == 0 && streq(key, "uid"))
		spec->uid = (uid_t)id;
	else if (r == 0)
		spec->gid = (gid_t)id;
	return r;
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "RLIMIT_AS", RLIMIT_AS },             { "RLIMIT_CORE", RLIMIT_CORE },
	{ "RLIMIT_CPU", RLIMIT_CPU },           { "RLIMIT_DATA", RLIMIT_DATA },
	{ "RLIMIT_FSIZE", RLIMIT_FSIZE },       { "RLIMIT_LOCKS", RLIMIT_LOCKS },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },   { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
	{ "RLIMIT_NICE", RLIMIT_NICE },         { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },       { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },     { "RLIMIT_RTTIME", RLIMIT_RTTIME },
	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

static int rlimit_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct spec_ctx *c = ctx(w);
	const char *s = json_string_value(v);
	char q[GR_SPEC_QUOTE_BUF];
	long long n = 0;
	size_t k;
	int r;

	if (streq(key, "soft") || streq(key, "hard")) {
		r = gr_spec_get_int(w, v, 0, LLONG_MAX, false,
				    "expected a non-negative integer", &n);
		if (streq(key, "soft"))
			c->rl->soft = (unsigned long long)n;
		else
			c->rl->hard = (unsigned long long)n;
		c->rl_have |= streq(key, "soft") ? 2 : 4;
		return r;
	}
	if (!streq(key, "type"))
		return gr_spec_unknown_key(w);
	if (!s)
		return gr_spec_fail(w, "expected an RLIMIT_* name");
	for (k = 0; k < ARRAY_SIZE(rlimit_names); k++)
		if (streq(s, rlimit_names[k].name))
			break;
	if (k == ARRAY_SIZE(rlimit_names))
		return gr_spec_fail(w, "unknown rlimit %s", gr_spec_quote(s, q));
	if (c->rl_seen & (1u << rlimit_names[k].resource))
		return gr_spec_fail(w, "duplicate rlimit %s", gr_spec_quote(s, q));
	c->rl_seen |= 1u << rlimit_names[k].resource;
	c->rl->resource = rlimit_names[k].resource;
	c->rl_have |= 1;
	return 0;
}

static int rlimit_element(struct gr_spec_walk *w, size_t i, json_t *v)
{
	struct spec_ctx *c = ctx(w);
	int r;

	c->rl = &c->spec->rlimits[i];
	c->rl_have = 0;
	r = gr_spec_each_member(w, v, "expected an object", rlimit_member);
	if (r < 0)
		return r;
	c->spec->nrlimits = i + 1;
	if (!(c->rl_have & 1))
		return gr_spec_fail(w, "missing required key \"type\"");
	if (!(c->rl_have & 4))
		return gr_spec_fail(w, "missing required key \"hard\"");
	if (!(c->rl_have & 2))
		return gr_spec_fail(w, "missing required key \"soft\"");
	if (c->rl->soft > c->rl->hard) {
		gr_spec_push(w, "soft", 0);
		return gr_spec_fail(w, "soft limit %llu is above the hard limit %llu",
				    c->rl->soft, c->rl->hard);
	}
	return 0;
}

static int process_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct gr_spec *spec = ctx(w)->spec;
	int r;

	if (streq(key, "args"))
		return gr_spec_get_strv(w, v, STRV_ARGS, &spec->args, &spec->nargs);
	if (streq(key, "env"))
		return gr_spec_get_strv(w, v, STRV_ENV, &spec->env, &spec->nenv);
	if (streq(key, "cwd")) {
		r = gr_spec_get_path(w, v, &spec->cwd);
		/* cwd=/proc/self/fd/N reached the host in CVE-2024-21626 (threat S02) */
		if (r == 0 && gr_spec_path_under(spec->cwd, "/proc"))
			r = gr_spec_fail(w, "must not be /proc or under it");
		return r;
	}
	if (streq(key, "user"))
		return gr_spec_each_member(w, v, "expected an object", user_member);
	if (streq(key, "rlimits")) {
		if (!json_is_array(v))
			return gr_spec_fail(w, "expected an array of rlimit objects");
		spec->rlimits = calloc(json_array_size(v) + 1, sizeof(*spec->rlimits));
		if (!spec->rlimits)
			return gr_spec_oom(w);
		return gr_spec_each_element(w, v, "", rlimit_element);
	}
	if (streq(key, "noNewPrivileges"))
		return bool_is(v, true) ? 0 :
			gr_spec_fail(w, "must be true: gridrun always sets no_new_privs");
	if (streq(key, "terminal")) {
		if (!json_is_boolean(v))
			return gr_spec_fail(w, "expected true or false");
		if (json_is_true(v))
			spec->ignored |= GR_SPEC_IGNORED_TERMINAL;
		return 0;
	}
	if (streq(key, "capabilities"))
		return gr_spec_each_member(w, v, "expected an object", gr_spec_oci_capability);
	if (streq(key, "oomScoreAdj")) {
		long long n;

		r = gr_spec_get_int(w, v, -1000, 1000, false,
				    "expected an integer from -1000 to 1000", &n);
		spec->oom_score_adj = (int)n;
		spec->has_oom_score_adj = r == 0;
		return r;
	}
	return gr_spec_oci_unsupported(w, "process", key);
}

/* --- root, hostname, mounts ------------------------------------------ */

static int root_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct gr_spec *spec = ctx(w)->spec;

	if (streq(key, "path"))
		return gr_spec_oci_root_path(w, v, spec->bundle, &spec->root_path);
	if (streq(key, "readonly"))
		return bool_is(v, true) ? 0 :
			gr_spec_fail(w, "must be true: the root is always read-only");
	return gr_spec_unknown_key(w);
}

static int parse_hostname(struct gr_spec_walk *w, json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 64 || s[0] == '-' || s[0] == '.' ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-") != n)
		return gr_spec_fail(w, "expected 1 to 64 characters from [A-Za-z0-9.-], "
				    "not starting with '-' or '.'");
	return gr_spec_dup(w, s, &ctx(w)->spec->hostname);
}

/* "size=N[kKmMgG]" in bytes; 0 when malformed, zero or overflowing. */
static unsigned long long parse_size(const char *s)
{
	unsigned long long n = 0, mult = 1;
	const char *p = s + 5;

	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (ULLONG_MAX - 9) / 10)
			return 0;
		n = n * 10 + (unsigned long long)(*p - '0');
	}
	if (*p && strchr("kKmMgG", *p)) {
		mult = 1ULL << (*p == 'k' || *p == 'K' ? 10 : *p == 'm' || *p == 'M' ? 20 : 30);
		p++;
	}
	if (*p || n > ULLONG_MAX / mult)
		return 0;
	return n * mult;
}

static int mount_option(struct gr_spec_walk *w, size_t i, json_t *v)
{
	static const struct {
		const char *name;
		unsigned set, clear;
	} opts[] = {
		{ "bind", 0, GR_MNT_RECURSIVE },  { "rbind", GR_MNT_RECURSIVE, 0 },
		{ "ro", GR_MNT_RDONLY, 0 },       { "rw", 0, GR_MNT_RDONLY },
		{ "nosuid", GR_MNT_NOSUID, 0 },   { "nodev", GR_MNT_NODEV, 0 },
		{ "noexec", GR_MNT_NOEXEC, 0 },
	};
	struct spec_ctx *c = ctx(w);
	const char *s = json_string_value(v);
	char q[GR_SPEC_QUOTE_BUF];

	(void)i;
	if (!s)
		return gr_spec_fail(w, "expected a string");
	for (size_t k = 0; k < ARRAY_SIZE(opts); k++) {
		if (!streq(s, opts[k].name))
			continue;
		if (k < 2 && c->mount_tmpfs)
			return gr_spec_fail(w, "\"bind\" and \"rbind\" apply to bind mounts only");
		c->mount->flags = (c->mount->flags & ~opts[k].clear) | opts[k].set;
		return 0;
	}
	if (!strncmp(s, "mode=", 5)) {
		char *end;
		unsigned long mode = strtoul(s + 5, &end, 8);

		if (!c->mount_tmpfs)
			return gr_spec_fail(w, "\"mode=\" applies to tmpfs mounts only");
		if (!s[5] || *end || s[5] == '-' || s[5] == '+' || mode > 07777)
			return gr_spec_fail(w, "expected \"mode=\" and an octal mode up to 7777");
		c->mount->mode = (unsigned)mode | GR_MNT_MODE_SET;
		return 0;
	}
	if (strncmp(s, "size=", 5) != 0)
		return gr_spec_fail(w, "unknown option %s (expected bind, rbind, ro, rw, "
				    "nosuid, nodev, noexec, mode=OCTAL or size=N)", gr_spec_quote(s, q));
	if (!c->mount_tmpfs)
		return gr_spec_fail(w, "\"size=\" applies to tmpfs mounts only");
	c->mount->size = parse_size(s);
	if (!c->mount->size)
		return gr_spec_fail(w, "expected \"size=N\" with N > 0 and an optional "
				    "k, m or g suffix");
	return 0;
}

static int mount_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct spec_ctx *c = ctx(w);
	struct gr_mount *m = c->mount;
	const char *s = json_string_value(v);
	int r;

	if (streq(key, "destination")) {
		r = gr_spec_get_path(w, v, &m->destination);
		if (r < 0)
			return r;
		if (streq(m->destination, "/"))
			return gr_spec_fail(w, "must not be \"/\" (see root.path)");
		if (gr_spec_path_under(m->destination, "/proc") ||
		    gr_spec_path_under(m->destination, "/dev") ||
		    gr_spec_path_under(m->destination, "/sys"))
			return gr_spec_fail(w, "must not be /proc, /dev, /sys or under them: "
					    "gridrun mounts those itself");
		return 0;
	}
	if (streq(key, "source")) {
		if (!c->mount_tmpfs)
			return gr_spec_get_path(w, v, &m->source);
		/* ignored for tmpfs, where OCI specs usually say "tmpfs" */
		return s ? 0 : gr_spec_fail(w, "expected a string");
	}
	if (streq(key, "type")) {
		if (s && streq(s, "tmpfs"))
			m->type = GR_MOUNT_TMPFS;
		/* "none" is runc's and Slurm's name for a bind */
		else if (!s || (!streq(s, "bind") && !streq(s, "none")))
			return gr_spec_fail(w, "expected \"bind\", \"none\" (a bind) or \"tmpfs\"");
		return 0;
	}
	if (streq(key, "options"))
		return gr_spec_each_element(w, v, "expected an array of strings", mount_option);
	return gr_spec_unknown_key(w);
}

static int mount_element(struct gr_spec_walk *w, size_t i, json_t *v)
{
	struct spec_ctx *c = ctx(w);
	struct gr_spec *spec = c->spec;
	const char *type = json_string_value(json_object_get(v, "type"));
	int r;

	/* gridrun's own /proc, /dev, ...: checked, not added (spec-oci.c) */
	r = gr_spec_oci_std_mount(w, v);
	if (r != 0)
		return r < 0 ? r : 0;
	/* options and source depend on the type, wherever "type" is written */
	(void)i;
	c->mount = &spec->mounts[spec->nmounts];
	c->mount_tmpfs = type && streq(type, "tmpfs");
	i = spec->nmounts++;
	r = gr_spec_each_member(w, v, "expected an object", mount_member);
	if (r < 0)
		return r;
	if (!c->mount->destination)
		return gr_spec_fail(w, "missing required key \"destination\"");
	if (!c->mount_tmpfs && !c->mount->source)
		return gr_spec_fail(w, "missing key \"source\", required for bind mounts");
	c->mount->flags |= GR_MNT_NOSUID | GR_MNT_NODEV;
	for (size_t k = 0; k < i; k++) {
		if (!streq(spec->mounts[k].destination, c->mount->destination))
			continue;
		gr_spec_push(w, "destination", 0);
		return gr_spec_fail(w, "duplicate destination, already used by mounts[%zu]", k);
	}
	return 0;
}

/* --- annotations ----------------------------------------------------- */

static int annotation_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	(void)key;
	return json_is_string(v) ? 0 : gr_spec_fail(w, "expected a string");
}

/* --- top level ------------------------------------------------------- */

static int top_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct gr_spec *spec = ctx(w)->spec;
	const char *s = json_string_value(v);
	int r;

	if (streq(key, "ociVersion")) {
		if (!s || strncmp(s, "1.", 2) != 0)
			return gr_spec_fail(w, "expected a string starting with \"1.\"");
		return gr_spec_dup(w, s, &spec->oci_version);
	}
	if (streq(key, "process")) {
		r = gr_spec_each_member(w, v, "expected an object", process_member);
		if (r == 0 && !spec->args)
			r = gr_spec_fail(w, "missing required key \"args\"");
		return r;
	}
	if (streq(key, "root"))
		return gr_spec_each_member(w, v, "expected an object", root_member);
	if (streq(key, "hostname"))
		return parse_hostname(w, v);
	if (streq(key, "mounts")) {
		if (!json_is_array(v))
			return gr_spec_fail(w, "expected an array of mount objects");
		spec->mounts = calloc(json_array_size(v) + 1, sizeof(*spec->mounts));
		if (!spec->mounts)
			return gr_spec_oom(w);
		return gr_spec_each_element(w, v, "", mount_element);
	}
	if (streq(key, "linux"))
		return gr_spec_each_member(w, v, "expected an object", gr_spec_linux_member);
	if (streq(key, "annotations"))
		return gr_spec_each_member(w, v, "expected an object with string values",
					   annotation_member);
	if (streq(key, "gridrun"))
		return gr_spec_each_member(w, v, "expected an object", gr_spec_gridrun_member);
	return gr_spec_oci_unsupported(w, "", key);
}

static int parse_spec(struct spec_ctx *c, json_t *root)
{
	struct gr_spec *spec = c->spec;
	int r;

	r = gr_spec_each_member(&c->w, root, "expected a JSON object at the top level",
				top_member);
	if (r < 0)
		return r;
	if (!json_object_get(root, "process"))
		return gr_spec_fail(&c->w, "missing required key \"process\"");
	r = gr_spec_resolve_network(c);
	if (r < 0)
		return r;
	if (spec->sandbox_cover) {
		size_t n = strlen(spec->sandbox_cover);

		if (!spec->sandbox || strncmp(spec->sandbox, spec->sandbox_cover, n) || spec->sandbox[n] != '/') {
			gr_spec_push(&c->w, "gridrun", 0);
			gr_spec_push(&c->w, "sandbox_cover", 0);
			return gr_spec_fail(&c->w, "must be a directory above gridrun.sandbox");
		}
	}
	if (!spec->env && !(spec->env = calloc(1, sizeof(char *))))
		return gr_spec_oom(&c->w);
	gr_spec_oci_env_dedup(spec);
	if (!spec->cwd && gr_spec_dup(&c->w, "/", &spec->cwd) < 0)
		return -ENOMEM;
	if (!spec->root_path && gr_spec_dup(&c->w, "/", &spec->root_path) < 0)
		return -ENOMEM;
	return 0;
}

static int load_string(const char *text, size_t len, const char *name, const char *bundle,
		       struct gr_spec **out, struct gr_error **err)
{
	struct spec_ctx c = { 0 };
	const char *nul;
	json_error_t jerr;
	json_t *root;
	size_t i;
	int r;

	*out = NULL;
	name = name ? name : "<spec>";
	if (!text)
		len = 0;
	c.w = (struct gr_spec_walk){ .text = text, .len = len, .file = name, .err = err };
	for (i = 0; i < len; i++)
		if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
			break;
	if (i == len)
		return gr_error_set(err, EINVAL, "%s:1:1: json: empty file, expected a JSON object",
				    name);
	/* jansson skips some raw NUL bytes between tokens, which also shifts
	 * the positions it reports: refuse them first (JSON has none) */
	nul = memchr(text, '\0', len);
	if (nul) {
		struct gr_spec_pos pos = gr_spec_pos_at(text, len, (size_t)(nul - text));

		return gr_error_set(err, EINVAL, "%s:%u:%u: json: unexpected NUL byte",
				    name, pos.line, pos.col);
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root)
		return gr_spec_syntax_error(err, name, text, len, jerr.line, jerr.column,
					    jerr.position,
					    json_error_code(&jerr) == json_error_duplicate_key,
					    jerr.text);
	c.spec = calloc(1, sizeof(*c.spec));
	if (!c.spec || !(c.spec->file = strdup(name)) ||
	    (bundle && !(c.spec->bundle = strdup(bundle)))) {
		if (c.spec)
			free(c.spec->file);
		free(c.spec);
		json_decref(root);
		return gr_spec_oom(&c.w);
	}
	c.spec->accounting_fd = -1;
	c.spec->umask = -1;
	c.spec->network = GR_NET_HOST;
	c.spec->resources = (struct gr_resources){
		.memory_limit = -1, .memory_swap = -1, .cpu_quota = -1, .pids_limit = -1,
	};
	r = parse_spec(&c, root);
	json_decref(root);
	if (r < 0) {
		gr_spec_free(c.spec);
		return r;
	}
	*out = c.spec;
	return 0;
}

int gr_spec_load_string(const char *text, size_t len, const char *name,
			struct gr_spec **out, struct gr_error **err)
{
	return load_string(text, len, name, NULL, out, err);
}

int gr_spec_load_file(const char *path, const char *name, struct gr_spec **out, struct gr_error **err)
{
	return gr_spec_load_bundle(path, name, NULL, out, err);
}

int gr_spec_load_bundle(const char *path, const char *name, const char *bundle,
			struct gr_spec **out, struct gr_error **err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL, *dir = NULL, *real = NULL;
	size_t len = 0, cap = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return gr_error_sys(err, errno, "open spec `%s`", path);
	for (;;) {
		ssize_t n;

		if (len > SPEC_MAX_SIZE)
			return gr_error_set(err, EFBIG, "read spec `%s`: larger than %u bytes",
					    path, SPEC_MAX_SIZE);
		if (len == cap) {
			char *p = realloc(buf, cap = cap ? cap * 2 : 16384);

			if (!p)
				return gr_error_set(err, ENOMEM, "read spec `%s`: out of memory", path);
			buf = p;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return gr_error_sys(err, errno, "read spec `%s`", path);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	/* the bundle, absolute: by default the spec file's directory */
	if (!bundle) {
		const char *slash = strrchr(path, '/');

		dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
		if (!dir)
			return gr_error_set(err, ENOMEM, "read spec `%s`: out of memory", path);
		bundle = dir;
	}
	real = realpath(bundle, NULL);
	if (!real)
		return gr_error_sys(err, errno, "bundle directory `%s`", bundle);
	return load_string(buf, len, name ? name : path, real, out, err);
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

void gr_spec_free(struct gr_spec *spec)
{
	if (!spec)
		return;
	for (size_t i = 0; i < spec->nmounts; i++) {
		free(spec->mounts[i].destination);
		free(spec->mounts[i].source);
	}
	strv_free(spec->args);
	strv_free(spec->env);
	strv_free(spec->masked_paths);
	strv_free(spec->readonly_paths);

	void *owned[] = {
		spec->file, spec->bundle, spec->oci_version, spec->cwd, spec->root_path, spec->hostname,
		spec->job_id, spec->account, spec->pool, spec->sandbox, spec->sandbox_cover, spec->rootfs,
		spec->accounting, spec->rlimits, spec->mounts, spec->seccomp_profile,
		spec->seccomp_doc, spec->resources.weight_devices,
		spec->resources.throttle[0], spec->resources.throttle[1],
		spec->resources.throttle[2], spec->resources.throttle[3], spec,
	};

	for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
		free(owned[i]);
}

void gr_spec_freep(struct gr_spec **spec)
{
	gr_spec_free(*spec);
	*spec = NULL;
}
