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
#include <stdlib.h>
#include <string.h>

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

/* --- syscalls[] ------------------------------------------------------ */

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
	if (nr == __NR_SCMP_ERROR)
		return gr_spec_fail(w, "unknown syscall %s", gr_spec_quote(s, q));
	for (size_t k = 0; k < i; k++)
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
		if (!json_is_array(v) || json_array_size(v) > MAX_ARGS)
			return gr_spec_fail(w, "expected an array of at most 6 argument comparisons");
		return gr_spec_each_element(w, v, "", arg_element);
	}
	if (streq(key, "comment"))
		return json_is_string(v) ? 0 : gr_spec_fail(w, "expected a string");
	if (streq(key, "includes") || streq(key, "excludes"))
		return gr_spec_fail_key(w, "Docker's \"%s\" is not supported: list only the "
					"rules that apply (gridrun's jobs have no capabilities)", key);
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

		for (k = 0; k < idx && !what; k++) {
			const struct rule *o = &p->rules[k];
			size_t j;

			for (j = 0; j < json_array_size(o->names); j++)
				if (o->nrs[j] == r->nrs[i])
					break;
			if (j == json_array_size(o->names))
				continue;
			if (!o->nargs && !r->nargs) {
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
	p->nrules = i + 1;
	ret = gr_spec_each_member(w, v, "expected a rule object", rule_member);
	if (ret < 0)
		return ret;
	if (!r->names)
		return gr_spec_fail(w, "missing required key \"names\"");
	if (!r->have_act)
		return gr_spec_fail(w, "missing required key \"action\"");
	if (r->errno_ret >= 0 && !errno_action(r->act)) {
		gr_spec_push(w, "errnoRet", 0);
		return gr_spec_fail(w, "applies to SCMP_ACT_ERRNO and SCMP_ACT_TRACE only");
	}
	return check_duplicates(w, i);
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
		if (act == def)
			continue;
		for (size_t n = 0; n < json_array_size(ru->names); n++) {
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
	struct prof p = { .w = *w, .def_errno = -1 };
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
