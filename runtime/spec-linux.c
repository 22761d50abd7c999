/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spec-linux.c - the "linux" and "gridrun" objects of a job spec, and how
 * linux.namespaces and gridrun.network decide each other. Part of the spec
 * parser: conventions and decisions in spec.c, shared state in
 * spec-internal.h.
 */
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "spec-internal.h"
#include "util.h"

static int get_positive(struct gr_spec_walk *w, json_t *v, bool minus_one, long long *out)
{
	return gr_spec_get_int(w, v, 1, LLONG_MAX, minus_one,
			       minus_one ? "expected a positive integer or -1" :
			       "expected a positive integer", out);
}

/* --- linux ----------------------------------------------------------- */

static const struct {
	const char *name;
	int flag;
} ns_names[] = {
	/* the first four are mandatory when the list is given */
	{ "user", CLONE_NEWUSER }, { "mount", CLONE_NEWNS }, { "pid", CLONE_NEWPID },
	{ "ipc", CLONE_NEWIPC },   { "uts", CLONE_NEWUTS },  { "network", CLONE_NEWNET },
	{ "cgroup", CLONE_NEWCGROUP },
};

static int namespace_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct spec_ctx *c = ctx(w);
	const char *s = json_string_value(v);
	char q[GR_SPEC_QUOTE_BUF];
	size_t k;

	if (streq(key, "path"))
		return gr_spec_fail(w, "joining an existing namespace is not supported");
	if (!streq(key, "type"))
		return gr_spec_unknown_key(w);
	for (k = 0; s && k < ARRAY_SIZE(ns_names); k++)
		if (streq(s, ns_names[k].name))
			break;
	if (!s || k == ARRAY_SIZE(ns_names))
		return gr_spec_fail(w, "%s%s%sexpected user, mount, pid, ipc, uts, network "
				    "or cgroup", s ? "unknown namespace type " : "",
				    s ? gr_spec_quote(s, q) : "", s ? ", " : "");
	if (c->spec->namespaces & ns_names[k].flag)
		return gr_spec_fail(w, "duplicate namespace %s", gr_spec_quote(s, q));
	c->spec->namespaces |= ns_names[k].flag;
	c->ns_have_type = true;
	return 0;
}

static int namespace_element(struct gr_spec_walk *w, size_t i, json_t *v)
{
	int r;

	(void)i;
	ctx(w)->ns_have_type = false;
	r = gr_spec_each_member(w, v, "expected an object", namespace_member);
	if (r == 0 && !ctx(w)->ns_have_type)
		r = gr_spec_fail(w, "missing required key \"type\"");
	return r;
}

static int parse_namespaces(struct gr_spec_walk *w, json_t *v)
{
	struct spec_ctx *c = ctx(w);
	int r;

	c->ns_listed = true;
	r = gr_spec_each_element(w, v, "expected an array of namespace objects",
				 namespace_element);
	/* the job always gets a user namespace (design §2); runc's rootful
	 * config.json lists none, which gridrun then adds */
	c->spec->namespaces |= CLONE_NEWUSER;
	for (size_t k = 1; r == 0 && k < 4; k++)
		if (!(c->spec->namespaces & ns_names[k].flag))
			r = gr_spec_fail(w, "missing the \"%s\" namespace (mount, pid and ipc "
					 "are required; user is always used)", ns_names[k].name);
	return r;
}

static int memory_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct gr_resources *res = &ctx(w)->spec->resources;

	if (streq(key, "limit"))
		return get_positive(w, v, false, &res->memory_limit);
	if (streq(key, "swap"))
		return get_positive(w, v, false, &res->memory_swap);
	return gr_spec_unknown_key(w);
}

static int cpu_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct gr_resources *res = &ctx(w)->spec->resources;
	long long n = 0;
	int r;

	if (streq(key, "quota"))
		return get_positive(w, v, true, &res->cpu_quota);
	if (!streq(key, "period") && !streq(key, "shares"))
		return gr_spec_unknown_key(w);
	r = get_positive(w, v, false, &n);
	if (streq(key, "period"))
		res->cpu_period = (unsigned long long)n;
	else
		res->cpu_shares = (unsigned long long)n;
	return r;
}

static int pids_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	if (streq(key, "limit"))
		return get_positive(w, v, true, &ctx(w)->spec->resources.pids_limit);
	return gr_spec_unknown_key(w);
}

static int resources_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct gr_resources *res = &ctx(w)->spec->resources;
	int r;

	if (streq(key, "memory"))
		r = gr_spec_each_member(w, v, "expected an object", memory_member);
	else if (streq(key, "cpu"))
		r = gr_spec_each_member(w, v, "expected an object", cpu_member);
	else if (streq(key, "pids"))
		r = gr_spec_each_member(w, v, "expected an object", pids_member);
	else if (streq(key, "blockIO"))
		r = gr_spec_blkio(w, v);
	else if (streq(key, "devices"))
		return gr_spec_oci_devices(w, v);
	else
		return gr_spec_oci_unsupported(w, "resources", key);
	gr_spec_resources_settle(res);
	return r;
}

/* Keep the whole document: the loader reads the profile at "linux.seccomp"
 * and its messages then point into the spec file. */
static int parse_seccomp(struct gr_spec_walk *w, json_t *v)
{
	struct gr_spec *spec = ctx(w)->spec;

	if (!json_is_object(v))
		return gr_spec_fail(w, "expected an OCI seccomp profile object");
	if (spec->seccomp_profile)
		return gr_spec_fail(w, "conflicts with gridrun.seccomp_profile: give one or the other");
	spec->seccomp_doc = malloc(w->len + 1);
	if (!spec->seccomp_doc)
		return gr_spec_oom(w);
	memcpy(spec->seccomp_doc, w->text, w->len);
	spec->seccomp_doc[w->len] = '\0';
	spec->seccomp_doc_len = w->len;
	return 0;
}

int gr_spec_linux_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct gr_spec *spec = ctx(w)->spec;

	if (streq(key, "namespaces"))
		return parse_namespaces(w, v);
	if (streq(key, "resources"))
		return gr_spec_each_member(w, v, "expected an object", resources_member);
	if (streq(key, "maskedPaths"))
		return gr_spec_get_strv(w, v, STRV_PATHS, &spec->masked_paths,
					&spec->nmasked_paths);
	if (streq(key, "readonlyPaths"))
		return gr_spec_get_strv(w, v, STRV_PATHS, &spec->readonly_paths,
					&spec->nreadonly_paths);
	if (streq(key, "seccomp"))
		return parse_seccomp(w, v);
	if (streq(key, "uidMappings") || streq(key, "gidMappings"))
		return gr_spec_oci_mappings(w, key, v);
	if (streq(key, "cgroupsPath"))
		return gr_spec_oci_cgroups_path(w, v);
	return gr_spec_oci_unsupported(w, "linux", key);
}

/* --- gridrun --------------------------------------------------------- */

static int parse_accounting(struct gr_spec_walk *w, json_t *v)
{
	const char *msg = "expected an absolute path or \"fd:N\" with N >= 3";
	struct gr_spec *spec = ctx(w)->spec;
	const char *s = json_string_value(v);
	long long fd = 0;

	if (s && s[0] == '/')
		return gr_spec_get_path(w, v, &spec->accounting);
	if (!s || strncmp(s, "fd:", 3) != 0 || !s[3] ||
	    strspn(s + 3, "0123456789") != strlen(s + 3))
		return gr_spec_fail(w, "%s", msg);
	for (const char *p = s + 3; *p && fd <= INT_MAX; p++)
		fd = fd * 10 + (*p - '0');
	/* 0-2 are the job's stdio, never the place for the record */
	if (fd < 3 || fd > INT_MAX)
		return gr_spec_fail(w, "%s", msg);
	spec->accounting_fd = (int)fd;
	return gr_spec_dup(w, s, &spec->accounting);
}

int gr_spec_gridrun_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct gr_spec *spec = ctx(w)->spec;
	const char *s = json_string_value(v);
	int r;

	if (streq(key, "job_id")) {
		/* the id becomes an argument of gridrun kill/suspend/resume and of
		 * gridrun-helper: one that starts with '-' would read as an option */
		if (s && s[0] == '-')
			return gr_spec_fail(w, "must not start with '-' (it would read as an option "
					    "of gridrun kill, suspend and resume)");
		return gr_spec_get_name(w, v, 64, &spec->job_id);
	}
	if (streq(key, "account"))
		return gr_spec_get_name(w, v, 32, &spec->account);
	if (streq(key, "pool"))
		return gr_spec_get_name(w, v, 32, &spec->pool);
	if (streq(key, "rootfs"))
		return gr_spec_get_name(w, v, 32, &spec->rootfs);
	if (streq(key, "sandbox")) {
		r = gr_spec_get_path(w, v, &spec->sandbox);
		if (r < 0)
			return r;
		/* the sandbox's parent is covered in the job (design §6): never "/" */
		if (!strchr(spec->sandbox + 1, '/'))
			return gr_spec_fail(w, "expected a path at least two levels deep "
					    "(its parent must not be \"/\")");
		return 0;
	}
	if (streq(key, "sandbox_cover")) {
		r = gr_spec_get_path(w, v, &spec->sandbox_cover);
		if (r < 0)
			return r;
		if (!strcmp(spec->sandbox_cover, "/"))
			return gr_spec_fail(w, "must not be \"/\"");
		return 0;
	}
	if (streq(key, "network")) {
		ctx(w)->network_set = true;
		if (!s || (!streq(s, "host") && !streq(s, "none")))
			return gr_spec_fail(w, "expected \"host\" or \"none\"");
		spec->network = streq(s, "none") ? GR_NET_NONE : GR_NET_HOST;
		return 0;
	}
	if (streq(key, "accounting"))
		return parse_accounting(w, v);
	if (streq(key, "optional_limits"))
		return gr_spec_optional_limits(w, v);
	if (streq(key, "landlock")) {
		if (!json_is_boolean(v))
			return gr_spec_fail(w, "expected true or false");
		spec->landlock = json_is_true(v) ? GR_LANDLOCK_ON : GR_LANDLOCK_OFF;
		return 0;
	}
	if (streq(key, "seccomp_profile")) {
		if (spec->seccomp_doc)
			return gr_spec_fail(w, "conflicts with linux.seccomp: give one or the other");
		/* a name (gr-seccomp.h), or a profile file by absolute path
		 * (Podman's /usr/share/containers/seccomp.json) */
		if (json_is_string(v) && json_string_value(v)[0] == '/')
			return gr_spec_get_path(w, v, &spec->seccomp_profile);
		return gr_spec_get_name(w, v, 64, &spec->seccomp_profile);
	}
	return gr_spec_unknown_key(w);
}

/* Namespaces and network decide each other; see spec.c's header comment. */
int gr_spec_resolve_network(struct spec_ctx *c)
{
	struct gr_spec *spec = c->spec;
	bool listed_net = spec->namespaces & CLONE_NEWNET;

	if (!c->ns_listed) {
		spec->namespaces = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
				   CLONE_NEWIPC | CLONE_NEWUTS;
		if (spec->network == GR_NET_NONE)
			spec->namespaces |= CLONE_NEWNET;
		return 0;
	}
	if (!c->network_set) {
		if (listed_net)
			spec->network = GR_NET_NONE;
		return 0;
	}
	if (spec->network == (listed_net ? GR_NET_NONE : GR_NET_HOST))
		return 0;
	gr_spec_push(&c->w, "gridrun", 0);
	gr_spec_push(&c->w, "network", 0);
	if (!listed_net)
		return gr_spec_fail(&c->w, "\"none\" needs a \"network\" entry in "
				    "linux.namespaces");
	return gr_spec_fail(&c->w, "\"host\" conflicts with the \"network\" entry in "
			    "linux.namespaces");
}
