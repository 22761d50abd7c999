/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seccomp-profile.c - an OCI seccomp profile (the JSON schema and its rules
 * in gr-seccomp.h) into a libseccomp filter context. seccomp.c finds profiles,
 * exports the filter and installs it.
 *
 * The profile is walked once in document order (spec-pos.h), collecting
 * the rules; only when all of it is valid is the context built, because
 * "defaultAction" may come after the rules it decides about. libseccomp
 * accepts some things silently that would surprise the profile's author
 * (two rules for one syscall where one has no args: the one without wins),
 * so those are refused here, at the name that makes the rule a duplicate.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "gr-seccomp.h"
#include "util.h"

#define MAX_ERRNO_RET 4095
#define MAX_ARGS 6

enum act { ACT_KILL_THREAD, ACT_KILL_PROCESS, ACT_TRAP, ACT_ERRNO, ACT_TRACE, ACT_ALLOW, ACT_LOG };

static const struct {
	const char *name;
	enum act act;
} action_names[] = {
	{ "SCMP_ACT_KILL", ACT_KILL_THREAD },     { "SCMP_ACT_KILL_THREAD", ACT_KILL_THREAD },
	{ "SCMP_ACT_KILL_PROCESS", ACT_KILL_PROCESS }, { "SCMP_ACT_TRAP", ACT_TRAP },
	{ "SCMP_ACT_ERRNO", ACT_ERRNO },          { "SCMP_ACT_TRACE", ACT_TRACE },
	{ "SCMP_ACT_ALLOW", ACT_ALLOW },          { "SCMP_ACT_LOG", ACT_LOG },
};

static const struct {
	const char *name;
	enum scmp_compare op;
} op_names[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
	{ "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
	{ "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static const struct {
	const char *name;
	uint32_t arch;
} arch_names[] = {
	{ "SCMP_ARCH_X86", SCMP_ARCH_X86 },           { "SCMP_ARCH_X86_64", SCMP_ARCH_X86_64 },
	{ "SCMP_ARCH_X32", SCMP_ARCH_X32 },           { "SCMP_ARCH_ARM", SCMP_ARCH_ARM },
	{ "SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64 },   { "SCMP_ARCH_MIPS", SCMP_ARCH_MIPS },
	{ "SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64 },     { "SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32 },
	{ "SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL },     { "SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64 },
	{ "SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32 }, { "SCMP_ARCH_PPC", SCMP_ARCH_PPC },
	{ "SCMP_ARCH_PPC64", SCMP_ARCH_PPC64 },       { "SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE },
	{ "SCMP_ARCH_S390", SCMP_ARCH_S390 },         { "SCMP_ARCH_S390X", SCMP_ARCH_S390X },
	{ "SCMP_ARCH_PARISC", SCMP_ARCH_PARISC },     { "SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64 },
	{ "SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64 },
};

/* SECCOMP_FILTER_FLAG_* of <linux/seccomp.h>, by value: seccomp(2) takes them. */
static const struct {
	const char *name;
	unsigned flag;
} flag_names[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", 1u << 0 },
	{ "SECCOMP_FILTER_FLAG_LOG", 1u << 1 },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", 1u << 2 },
};

struct rule {
	json_t *names;           /* the document's array, alive while building */
	int *nrs;                /* resolved, one per name */
	enum act act;
	long long errno_ret;     /* -1: not given */
	bool have_act;
	struct scmp_arg_cmp args[MAX_ARGS];
	unsigned nargs;
	unsigned args_have;      /* of the element being parsed: 1 index, 2 value, 4 op */
	bool inactive;           /* Docker's includes/excludes leave it out for this job */
	bool conditional;        /* it has includes/excludes that name something */
	long long errno_name;    /* Podman's "errno" name, as a number; -1: not given */
};

struct prof {
	struct gr_spec_walk w;   /* first: the callbacks get &p->w */
	bool have_default;
	enum act def_act;
	long long def_errno;     /* -1: not given */
	uint32_t arches[ARRAY_SIZE(arch_names)];
	size_t narches;
	unsigned flags;
	struct rule *rules;
	size_t nrules;
	struct rule *cur;        /* the rule being parsed */
	long long def_errno_name; /* Podman's "defaultErrno"; -1: not given */
	bool in_excludes, listed; /* while resolving a rule's includes/excludes */
	bool archmap;             /* the profile has Docker's archMap (top_member) */
};

static struct prof *prof(struct gr_spec_walk *w)
{
	return (struct prof *)w;
}

static bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static int get_action(struct gr_spec_walk *w, json_t *v, enum act *out)
{
	const char *s = json_string_value(v);
	char q[GR_SPEC_QUOTE_BUF];

	if (!s)
		return gr_spec_fail(w, "expected an action name such as \"SCMP_ACT_ALLOW\"");
	for (size_t k = 0; k < ARRAY_SIZE(action_names); k++) {
		if (streq(s, action_names[k].name)) {
			*out = action_names[k].act;
			return 0;
		}
	}
	if (streq(s, "SCMP_ACT_NOTIFY"))
		return gr_spec_fail(w, "SCMP_ACT_NOTIFY needs a notification listener, "
				    "which gridrun does not support");
	return gr_spec_fail(w, "unknown action %s, expected SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, "
			    "SCMP_ACT_KILL_PROCESS, SCMP_ACT_KILL_THREAD, SCMP_ACT_KILL, "
			    "SCMP_ACT_TRAP, SCMP_ACT_TRACE or SCMP_ACT_LOG", gr_spec_quote(s, q));
}

static int get_errno_ret(struct gr_spec_walk *w, json_t *v, long long *out)
{
	return gr_spec_get_int(w, v, 0, MAX_ERRNO_RET, false,
			       "expected an errno value from 0 to 4095", out);
}

/* Podman's "errno": a name such as "EPERM" (glibc's names); must agree with
 * errnoRet where both are given. */
static int get_errno_name(struct gr_spec_walk *w, json_t *v, long long *out)
{
	const char *s = json_string_value(v);
	char q[GR_SPEC_QUOTE_BUF];

	for (int e = 1; s && e <= MAX_ERRNO_RET; e++) {
		const char *n = strerrorname_np(e);

		if (n && streq(n, s)) {
			*out = e;
			return 0;
		}
	}
	if (!s)
		return gr_spec_fail(w, "expected an errno name such as \"EPERM\"");
	return gr_spec_fail(w, "unknown errno name %s", gr_spec_quote(s, q));
}

static int errno_agree(struct gr_spec_walk *w, const char *key, long long name, long long *ret)
{
	if (name < 0)
		return 0;
	if (*ret >= 0 && *ret != name) {
		gr_spec_push(w, key, 0);
		return gr_spec_fail(w, "says %s, errnoRet %lld: give one errno", strerrorname_np((int)name), *ret);
	}
	*ret = name;
	return 0;
}

/* A 64-bit argument value: a JSON integer, negative ones as two's complement. */
static int get_value(struct gr_spec_walk *w, json_t *v, scmp_datum_t *out)
{
	if (!json_is_integer(v))
		return gr_spec_fail(w, "expected an integer");
	*out = (scmp_datum_t)json_integer_value(v);
	return 0;
}

static bool errno_action(enum act a)
{
	return a == ACT_ERRNO || a == ACT_TRACE;
}

static uint32_t scmp_action(enum act a, long long errno_ret)
{
	uint16_t data = errno_ret < 0 ? EPERM : (uint16_t)errno_ret;

	switch (a) {
	case ACT_KILL_THREAD: return SCMP_ACT_KILL_THREAD;
	case ACT_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
	case ACT_TRAP: return SCMP_ACT_TRAP;
	case ACT_ERRNO: return SCMP_ACT_ERRNO(data);
	case ACT_TRACE: return SCMP_ACT_TRACE(data);
	case ACT_LOG: return SCMP_ACT_LOG;
	case ACT_ALLOW: break;
	}
	return SCMP_ACT_ALLOW;
}

/* --- architectures, flags ------------------------------------------- */

static int arch_element(struct gr_spec_walk *w, size_t i, json_t *v)
{
	struct prof *p = prof(w);
	const char *s = json_string_value(v);
	char q[GR_SPEC_QUOTE_BUF];
	size_t k;

	(void)i;
	if (!s)
		return gr_spec_fail(w, "expected an architecture name such as \"SCMP_ARCH_X86_64\"");
	for (k = 0; k < ARRAY_SIZE(arch_names); k++)
		if (streq(s, arch_names[k].name))
			break;
	if (k == ARRAY_SIZE(arch_names))
		return gr_spec_fail(w, "unknown architecture %s", gr_spec_quote(s, q));
	for (size_t j = 0; j < p->narches; j++)
		if (p->arches[j] == arch_names[k].arch)
			return gr_spec_fail(w, "duplicate architecture %s", gr_spec_quote(s, q));
	p->arches[p->narches++] = arch_names[k].arch;
	return 0;
}

static int flag_element(struct gr_spec_walk *w, size_t i, json_t *v)
{
	struct prof *p = prof(w);
	const char *s = json_string_value(v);
	char q[GR_SPEC_QUOTE_BUF];

	(void)i;
	for (size_t k = 0; s && k < ARRAY_SIZE(flag_names); k++) {
		if (!streq(s, flag_names[k].name))
			continue;
		if (p->flags & flag_names[k].flag)
			return gr_spec_fail(w, "duplicate flag %s", gr_spec_quote(s, q));
		p->flags |= flag_names[k].flag;
		return 0;
	}
	return gr_spec_fail(w, "%s%s%sexpected SECCOMP_FILTER_FLAG_TSYNC, SECCOMP_FILTER_FLAG_LOG "
			    "or SECCOMP_FILTER_FLAG_SPEC_ALLOW", s ? "unknown flag " : "",
			    s ? gr_spec_quote(s, q) : "", s ? ", " : "");
}

/*
 * Docker's archMap: {architecture, subArchitectures} per native
 * architecture; the entry of this one adds it and its sub-architectures
 * (as Docker's loader turns it into "architectures"; runc, crun the same).
 * Names are checked in every entry; an architecture the profile also lists
 * is not a duplicate here.
 */
static int archmap_arch(struct gr_spec_walk *w, json_t *v, bool add)
{
	struct prof *p = prof(w);
	const char *s = json_string_value(v);
	char q[GR_SPEC_QUOTE_BUF];
	size_t k, j;

	for (k = 0; s && k < ARRAY_SIZE(arch_names); k++)
		if (streq(s, arch_names[k].name))
			break;
	if (!s || k == ARRAY_SIZE(arch_names))
		return gr_spec_fail(w, "%s%s", s ? "unknown architecture " : "expected an architecture name",
				    s ? gr_spec_quote(s, q) : "");
	for (j = 0; add && j < p->narches; j++)
		if (p->arches[j] == arch_names[k].arch)
			break;
	if (add && j == p->narches)
		p->arches[p->narches++] = arch_names[k].arch;
	return 0;
}

static int archmap_sub(struct gr_spec_walk *w, size_t i, json_t *v)
{
	(void)i;
	return archmap_arch(w, v, prof(w)->listed);
}

static int archmap_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct prof *p = prof(w);

	if (streq(key, "architecture")) {
		p->listed = false;
		for (size_t k = 0; json_is_string(v) && k < ARRAY_SIZE(arch_names); k++)
			if (streq(json_string_value(v), arch_names[k].name))
				p->listed = arch_names[k].arch == seccomp_arch_native();
		return archmap_arch(w, v, p->listed);
	}
	if (streq(key, "subArchitectures"))
		return gr_spec_each_element(w, v, "expected an array of architecture names", archmap_sub);
	return gr_spec_unknown_key(w);
}

static int archmap_element(struct gr_spec_walk *w, size_t i, json_t *v)
{
	(void)i;
	prof(w)->listed = false;
	return gr_spec_each_member(w, v, "expected an object {architecture, subArchitectures}", archmap_member);
}

/* --- syscalls[] ------------------------------------------------------ */

/*
 * A name this libseccomp does not know (newer than it: mseal, statmount,
 * ...) is skipped, as runc and crun do, where it cannot be a typo: it has
 * the shape of a syscall name and the profile is one of those that name
 * calls for several kernels (Docker's and Podman's say so with an archMap).
 * Where no kernel this libseccomp knows has it, no rule could match it on
 * them either. The notice is a debug line (GRIDRUN_DEBUG), as runc's.
 */
static bool skip_unknown(struct gr_spec_walk *w, const char *name)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;
	struct gr_error **keep = w->err;
	const struct scmp_version *v = seccomp_version();

	if (!prof(w)->archmap || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name))
		return false;
	if (getenv("GRIDRUN_DEBUG")) {
		w->err = &e;
		gr_spec_fail(w, "syscall `%s` is unknown to libseccomp %u.%u.%u, skipped", name,
			     v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0);
		w->err = keep;
		fprintf(stderr, "gridrun: debug: seccomp: %s\n", e ? e->msg : name);
	}
	return true;
}

static int name_element(struct gr_spec_walk *w, size_t i, json_t *v)
{
	struct rule *r = prof(w)->cur;
	const char *s = json_string_value(v);
	char q[GR_SPEC_QUOTE_BUF];
	int nr;

	if (!s || !*s)
		return gr_spec_fail(w, "expected a syscall name");
	/* names of other architectures resolve to libseccomp's negative
	 * pseudo numbers and are valid; only names no architecture has fail */
	nr = seccomp_syscall_resolve_name(s);
	if (nr == __NR_SCMP_ERROR && !skip_unknown(w, s))
		return gr_spec_fail(w, "unknown syscall %s", gr_spec_quote(s, q));
	for (size_t k = 0; k < i && nr != __NR_SCMP_ERROR; k++)
		if (r->nrs[k] == nr)
			return gr_spec_fail(w, "duplicate syscall %s (also names[%zu])",
					    gr_spec_quote(s, q), k);
	r->nrs[i] = nr;
	return 0;
}

static int arg_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct rule *r = prof(w)->cur;
	struct scmp_arg_cmp *a = &r->args[r->nargs];
	const char *s = json_string_value(v);
	char q[GR_SPEC_QUOTE_BUF];
	long long n;
	int ret;

	if (streq(key, "index")) {
		ret = gr_spec_get_int(w, v, 0, MAX_ARGS - 1, false,
				      "expected an argument index from 0 to 5", &n);
		a->arg = (unsigned)n;
		r->args_have |= 1;
		return ret;
	}
	if (streq(key, "value")) {
		r->args_have |= 2;
		return get_value(w, v, &a->datum_a);
	}
	if (streq(key, "valueTwo"))
		return get_value(w, v, &a->datum_b);
	if (!streq(key, "op"))
		return gr_spec_unknown_key(w);
	for (size_t k = 0; s && k < ARRAY_SIZE(op_names); k++) {
		if (streq(s, op_names[k].name)) {
			a->op = op_names[k].op;
			r->args_have |= 4;
			return 0;
		}
	}
	return gr_spec_fail(w, "%s%s%sexpected SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, SCMP_CMP_EQ, "
			    "SCMP_CMP_GE, SCMP_CMP_GT or SCMP_CMP_MASKED_EQ",
			    s ? "unknown operator " : "", s ? gr_spec_quote(s, q) : "", s ? ", " : "");
}

static int arg_element(struct gr_spec_walk *w, size_t i, json_t *v)
{
	struct rule *r = prof(w)->cur;
	struct scmp_arg_cmp *a = &r->args[i];
	int ret;

	r->nargs = (unsigned)i;
	r->args_have = 0;
	*a = (struct scmp_arg_cmp){ 0 };
	ret = gr_spec_each_member(w, v, "expected an argument comparison object", arg_member);
	if (ret < 0)
		return ret;
	if (!(r->args_have & 1))
		return gr_spec_fail(w, "missing required key \"index\"");
	if (!(r->args_have & 2))
		return gr_spec_fail(w, "missing required key \"value\"");
	if (!(r->args_have & 4))
		return gr_spec_fail(w, "missing required key \"op\"");
	r->nargs = (unsigned)i + 1;
	/* datum_b is non-zero only when "valueTwo" was given: point at it */
	if (a->op != SCMP_CMP_MASKED_EQ && a->datum_b) {
		gr_spec_push(w, "valueTwo", 0);
		return gr_spec_fail(w, "only SCMP_CMP_MASKED_EQ uses valueTwo");
	}
	if (a->op == SCMP_CMP_MASKED_EQ && (a->datum_b & ~a->datum_a)) {
		gr_spec_push(w, "valueTwo", 0);
		return gr_spec_fail(w, "has bits outside the mask in \"value\": the comparison "
				    "can never be true");
	}
	for (size_t k = 0; k < i; k++) {
		if (r->args[k].arg == a->arg) {
			gr_spec_push(w, "index", 0);
			return gr_spec_fail(w, "argument %u is already compared in args[%zu] "
					    "(one comparison per argument and rule)", a->arg, k);
		}
	}
	return 0;
}

/*
 * Docker's includes/excludes, resolved for the job as Docker and runc do
 * (profiles/seccomp/seccomp_linux.go): the job has no capabilities, runs on
 * this architecture (Go's name for it) and this kernel. A rule whose
 * includes do not all hold, or one of whose excludes holds, is left out.
 */
static const char *go_arch(void)
{
	switch (seccomp_arch_native()) {
	case SCMP_ARCH_X86_64: return "amd64";
	case SCMP_ARCH_X86: return "386";
	case SCMP_ARCH_AARCH64: return "arm64";
	case SCMP_ARCH_ARM: return "arm";
	case SCMP_ARCH_PPC64LE: return "ppc64le";
	case SCMP_ARCH_S390X: return "s390x";
	case SCMP_ARCH_RISCV64: return "riscv64";
	}
	return "";
}

static int arch_listed(struct gr_spec_walk *w, size_t i, json_t *v)
{
	struct prof *p = prof(w);

	(void)i;
	if (!json_is_string(v))
		return gr_spec_fail(w, "expected an architecture name such as \"amd64\"");
	p->listed |= streq(json_string_value(v), go_arch());
	return 0;
}

static int cap_listed(struct gr_spec_walk *w, size_t i, json_t *v)
{
	(void)i;
	if (!json_is_string(v) || strncmp(json_string_value(v), "CAP_", 4))
		return gr_spec_fail(w, "expected a capability name such as \"CAP_SYS_ADMIN\"");
	prof(w)->listed = true;
	return 0;
}

static int condition_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct prof *p = prof(w);
	struct utsname u;
	unsigned maj, min, kmaj = 0, kmin = 0;
	char tail;
	int r;

	p->listed = false;
	if (streq(key, "caps") || streq(key, "arches")) {
		bool caps = streq(key, "caps");

		r = gr_spec_each_element(w, v, caps ? "expected an array of capability names" :
					 "expected an array of architecture names",
					 caps ? cap_listed : arch_listed);
		if (r < 0 || !json_array_size(v))
			return r;
		/* caps: the job holds none, so an included one never holds and
		 * an excluded one never excludes */
		if (p->in_excludes ? p->listed && !caps : !(p->listed && !caps))
			p->cur->inactive = true;
		return 0;
	}
	if (!streq(key, "minKernel"))
		return gr_spec_unknown_key(w);
	if (!json_is_string(v) || sscanf(json_string_value(v), "%u.%u%c", &maj, &min, &tail) != 2)
		return gr_spec_fail(w, "expected a kernel version such as \"4.8\"");
	if (uname(&u) == 0)
		sscanf(u.release, "%u.%u", &kmaj, &kmin);
	if ((kmaj > maj || (kmaj == maj && kmin >= min)) == p->in_excludes)
		p->cur->inactive = true;
	return 0;
}

static int rule_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct rule *r = prof(w)->cur;

	if (streq(key, "names")) {
		if (!json_is_array(v) || json_array_size(v) == 0)
			return gr_spec_fail(w, "expected a non-empty array of syscall names");
		r->names = v;
		r->nrs = calloc(json_array_size(v), sizeof(*r->nrs));
		if (!r->nrs)
			return gr_spec_oom(w);
		return gr_spec_each_element(w, v, "", name_element);
	}
	if (streq(key, "action")) {
		r->have_act = true;
		return get_action(w, v, &r->act);
	}
	if (streq(key, "errnoRet"))
		return get_errno_ret(w, v, &r->errno_ret);
	if (streq(key, "args")) {
		if (json_is_null(v))
			return 0;   /* Docker writes "args": null */
		if (!json_is_array(v) || json_array_size(v) > MAX_ARGS)
			return gr_spec_fail(w, "expected an array of at most 6 argument comparisons");
		return gr_spec_each_element(w, v, "", arg_element);
	}
	if (streq(key, "comment"))
		return json_is_string(v) ? 0 : gr_spec_fail(w, "expected a string");
	if (streq(key, "errno"))
		return get_errno_name(w, v, &r->errno_name);
	if (streq(key, "includes") || streq(key, "excludes")) {
		prof(w)->in_excludes = streq(key, "excludes");
		r->conditional |= json_object_size(v) > 0;
		return gr_spec_each_member(w, v, "expected an object of caps, arches and minKernel",
					   condition_member);
	}
	return gr_spec_unknown_key(w);
}

static bool same_args(const struct rule *a, const struct rule *b)
{
	if (a->nargs != b->nargs)
		return false;
	for (unsigned i = 0; i < a->nargs; i++) {
		unsigned j;

		for (j = 0; j < b->nargs; j++)
			if (b->args[j].arg == a->args[i].arg)
				break;
		if (j == b->nargs || b->args[j].op != a->args[i].op ||
		    b->args[j].datum_a != a->args[i].datum_a ||
		    b->args[j].datum_b != a->args[i].datum_b)
			return false;
	}
	return true;
}

static void skip_duplicate(struct gr_spec_walk *w, const char *name, size_t k)
{
	if (getenv("GRIDRUN_DEBUG"))
		fprintf(stderr, "gridrun: debug: seccomp: %s: `%s` already has a rule in syscalls[%zu], "
			"which decides (a conditional rule's duplicate)\n", w->file, name, k);
}

/* The rule just parsed against the earlier ones, name by name. */
static int check_duplicates(struct gr_spec_walk *w, size_t idx)
{
	struct prof *p = prof(w);
	struct rule *r = &p->rules[idx];
	char q[GR_SPEC_QUOTE_BUF];

	for (size_t i = 0; i < json_array_size(r->names); i++) {
		const char *name = json_string_value(json_array_get(r->names, i));
		const char *what = NULL, *why = "";
		size_t k;

		for (k = 0; k < idx && !what && r->nrs[i] != __NR_SCMP_ERROR; k++) {
			const struct rule *o = &p->rules[k];
			size_t j;

			for (j = 0; j < json_array_size(o->names); j++)
				if (o->nrs[j] == r->nrs[i])
					break;
			if (o->inactive || j == json_array_size(o->names))
				continue;
			if (scmp_action(o->act, o->errno_ret) == scmp_action(r->act, r->errno_ret) &&
			    same_args(o, r)) {
				/* the same rule again (Podman's socket rule):
				 * nothing changes, it is added once */
				r->nrs[i] = __NR_SCMP_ERROR;
				break;
			} else if (!o->nargs && !r->nargs && (o->conditional || r->conditional)) {
				/* Docker's and Podman's profiles say a call twice where
				 * a condition adds a rule for jobs without some
				 * capability (Podman: setns, unshare allowed, then
				 * EPERM without CAP_SYS_ADMIN): the first rule
				 * decides, as libseccomp (and so runc, crun) do */
				skip_duplicate(w, name, k);
				r->nrs[i] = __NR_SCMP_ERROR;
				break;
			} else if (!o->nargs && !r->nargs) {
				what = "a rule";
			} else if (!o->nargs) {
				what = "a rule without args";
				why = ", which would override this one";
			} else if (!r->nargs) {
				what = "rules with args";
				why = ", which this rule without args would override";
			} else if (same_args(o, r)) {
				what = "a rule with the same args";
			}
		}
		if (what) {
			gr_spec_push(w, "names", 0);
			gr_spec_push(w, NULL, i);
			return gr_spec_fail(w, "%s already has %s in syscalls[%zu]%s",
					    gr_spec_quote(name, q), what, k - 1, why);
		}
	}
	return 0;
}

static int rule_element(struct gr_spec_walk *w, size_t i, json_t *v)
{
	struct prof *p = prof(w);
	struct rule *r = &p->rules[i];
	int ret;

	p->cur = r;
	r->errno_ret = -1;
	r->errno_name = -1;
	p->nrules = i + 1;
	ret = gr_spec_each_member(w, v, "expected a rule object", rule_member);
	if (ret < 0)
		return ret;
	if (!r->names)
		return gr_spec_fail(w, "missing required key \"names\"");
	if (!r->have_act)
		return gr_spec_fail(w, "missing required key \"action\"");
	if (errno_agree(w, "errno", r->errno_name, &r->errno_ret) < 0)
		return -EINVAL;
	if (r->errno_ret >= 0 && !errno_action(r->act)) {
		gr_spec_push(w, "errnoRet", 0);
		return gr_spec_fail(w, "applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE only");
	}
	return r->inactive ? 0 : check_duplicates(w, i);
}

/* --- the profile object ---------------------------------------------- */

static int top_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct prof *p = prof(w);

	if (streq(key, "defaultAction")) {
		p->have_default = true;
		return get_action(w, v, &p->def_act);
	}
	if (streq(key, "defaultErrnoRet"))
		return get_errno_ret(w, v, &p->def_errno);
	if (streq(key, "defaultErrno"))
		return get_errno_name(w, v, &p->def_errno_name);
	if (streq(key, "archMap")) {
		p->archmap = true;
		return gr_spec_each_element(w, v, "expected an array of {architecture, subArchitectures}",
					    archmap_element);
	}
	if (streq(key, "architectures"))
		return gr_spec_each_element(w, v, "expected an array of architecture names",
					    arch_element);
	if (streq(key, "flags"))
		return gr_spec_each_element(w, v, "expected an array of flag names", flag_element);
	if (streq(key, "syscalls")) {
		if (!json_is_array(v))
			return gr_spec_fail(w, "expected an array of rule objects");
		p->rules = calloc(json_array_size(v) + 1, sizeof(*p->rules));
		if (!p->rules)
			return gr_spec_oom(w);
		return gr_spec_each_element(w, v, "", rule_element);
	}
	if (streq(key, "listenerPath") || streq(key, "listenerMetadata"))
		return gr_spec_fail_key(w, "seccomp notification listeners are not supported");
	return gr_spec_unknown_key(w);
}

static int parse(struct prof *p, json_t *v)
{
	int r;

	r = gr_spec_each_member(&p->w, v, "expected a seccomp profile object", top_member);
	if (r < 0)
		return r;
	if (!p->have_default)
		return gr_spec_fail(&p->w, "missing required key \"defaultAction\"");
	if (errno_agree(&p->w, "defaultErrno", p->def_errno_name, &p->def_errno) < 0)
		return -EINVAL;
	if (p->def_errno >= 0 && !errno_action(p->def_act)) {
		gr_spec_push(&p->w, "defaultErrnoRet", 0);
		return gr_spec_fail(&p->w, "applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE only");
	}
	return 0;
}

static int fail_rule(struct prof *p, size_t i, size_t name, int r)
{
	gr_spec_push(&p->w, "syscalls", 0);
	gr_spec_push(&p->w, NULL, i);
	gr_spec_push(&p->w, "names", 0);
	gr_spec_push(&p->w, NULL, name);
	return gr_spec_fail(&p->w, "libseccomp refused the rule: %s", strerror(-r));
}

void gr_seccomp_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
	*ctx = NULL;
}

static int build(struct prof *p, scmp_filter_ctx *out)
{
	__attribute__((cleanup(gr_seccomp_releasep))) scmp_filter_ctx ctx = NULL;
	uint32_t def = scmp_action(p->def_act, p->def_errno);
	int r;

	ctx = seccomp_init(def);
	if (!ctx)
		return gr_error_set(p->w.err, ENOMEM, "%s: seccomp: libseccomp could not start a filter",
				    p->w.file);
	/* i386, x32 and any architecture the profile does not list: SIGSYS */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		return gr_error_sys(p->w.err, -r, "%s: seccomp: set the bad-architecture action",
				    p->w.file);
	/* a binary tree of syscall numbers instead of a list of ~300 checks:
	 * what the kernel's action cache cannot answer (argument rules, denied
	 * calls) walks ~9 comparisons instead of up to ~300 */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (r < 0)
		return gr_error_sys(p->w.err, -r, "%s: seccomp: choose the binary tree layout",
				    p->w.file);
	for (size_t i = 0; i < p->narches; i++) {
		r = seccomp_arch_add(ctx, p->arches[i]);
		if (r < 0 && r != -EEXIST)
			return gr_error_sys(p->w.err, -r, "%s: seccomp: add architecture 0x%x",
					    p->w.file, p->arches[i]);
	}
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *ru = &p->rules[i];
		uint32_t act = scmp_action(ru->act, ru->errno_ret);

		/* libseccomp refuses it, and the default does the same */
		if (act == def || ru->inactive)
			continue;
		for (size_t n = 0; n < json_array_size(ru->names); n++) {
			if (ru->nrs[n] == __NR_SCMP_ERROR)
				continue;
			r = seccomp_rule_add_array(ctx, act, ru->nrs[n], ru->nargs, ru->args);
			if (r < 0)
				return fail_rule(p, i, n, r);
		}
	}
	*out = TAKE_PTR(ctx);
	return 0;
}

int gr_seccomp_build(struct gr_spec_walk *w, json_t *v, scmp_filter_ctx *ctx, unsigned *flags)
{
	struct prof p = { .w = *w, .def_errno = -1, .def_errno_name = -1 };
	int r;

	*ctx = NULL;
	r = parse(&p, v);
	if (r >= 0)
		r = build(&p, ctx);
	if (r >= 0)
		*flags = p.flags;
	for (size_t i = 0; i < p.nrules; i++)
		free(p.rules[i].nrs);
	free(p.rules);
	return r;
}
