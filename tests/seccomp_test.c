// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * seccomp_test - the job's syscall filter: the profile loader
 * (runtime/seccomp*.c), the shipped profiles (seccomp-profiles/) and the
 * filter in real jobs, against threats S07-S10 and S12.
 *
 * Two kinds of evidence. The compiled filters are run here through a small
 * classic-BPF interpreter on crafted seccomp_data, so every verdict can be
 * checked exhaustively (every i386 and x32 number, 2^16 ioctl commands...)
 * whatever this kernel offers. And real jobs run gr-sysprobe, which makes
 * the raw calls; denied calls are made with a stacked SECCOMP_RET_TRACE
 * filter so that they could not run even if the job's filter allowed them
 * (gr-sysprobe.c says how EPERM and "allowed" are told apart).
 *
 * The bad-profile corpus is tests/seccomp/bad/NN-name.json with the exact
 * one-line message in NN-name.err, FILE being the plain file name.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"

#include "gr-seccomp.h"
#include "gt-seccomp.h"
#include "gt.h"

#define RET_KILL_PROCESS 0x80000000u
#define RET_ALLOW 0x7fff0000u
#define RET_ERRNO(e) (0x00050000u | (e))
#define X32_BIT 0x40000000u
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
		  CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

/* --- a classic BPF interpreter, enough for libseccomp's programs ------ */

static uint32_t bpf_run(const struct gr_seccomp *f, const struct seccomp_data *d, int *bad)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };

	for (size_t pc = 0; pc < f->ninsns; pc++) {
		const struct sock_filter *in = &f->insns[pc];
		uint32_t k = in->k, src = BPF_SRC(in->code) == BPF_X ? x : k;
		int taken;

		switch (BPF_CLASS(in->code)) {
		case BPF_LD:
			if (BPF_MODE(in->code) == BPF_ABS && BPF_SIZE(in->code) == BPF_W &&
			    k % 4 == 0 && k + 4 <= sizeof(*d))
				memcpy(&a, (const char *)d + k, 4);
			else if (BPF_MODE(in->code) == BPF_IMM)
				a = k;
			else if (BPF_MODE(in->code) == BPF_MEM && k < BPF_MEMWORDS)
				a = mem[k];
			else
				goto bad;
			break;
		case BPF_LDX:
			if (BPF_MODE(in->code) == BPF_IMM)
				x = k;
			else if (BPF_MODE(in->code) == BPF_MEM && k < BPF_MEMWORDS)
				x = mem[k];
			else
				goto bad;
			break;
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				goto bad;
			mem[k] = BPF_CLASS(in->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			switch (BPF_OP(in->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_AND: a &= src; break;
			case BPF_OR: a |= src; break;
			case BPF_LSH: a <<= src & 31; break;
			case BPF_RSH: a >>= src & 31; break;
			default: goto bad;
			}
			break;
		case BPF_JMP:
			if (BPF_OP(in->code) == BPF_JA) {
				pc += k;
				break;
			}
			switch (BPF_OP(in->code)) {
			case BPF_JEQ: taken = a == src; break;
			case BPF_JGT: taken = a > src; break;
			case BPF_JGE: taken = a >= src; break;
			case BPF_JSET: taken = (a & src) != 0; break;
			default: goto bad;
			}
			pc += taken ? in->jt : in->jf;
			break;
		case BPF_RET:
			return BPF_RVAL(in->code) == BPF_A ? a : k;
		case BPF_MISC:
			if (BPF_MISCOP(in->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		default:
			goto bad;
		}
	}
bad:
	*bad = 1;
	return 0;
}

static uint32_t verdict(const struct gr_seccomp *f, uint32_t arch, uint32_t nr, uint64_t a0, uint64_t a1)
{
	struct seccomp_data d = { .nr = (int)nr, .arch = arch, .args = { a0, a1 } };
	int bad = 0;
	uint32_t v = bpf_run(f, &d, &bad);

	return bad ? 0xdeadu : v;
}

static uint64_t rnd64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int nr_of(const char *name)
{
	return seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);
}

/* The names of grid-default's rules without args that have this action and errnoRet. */
static json_t *profile_names(const char *action, int errno_ret)
{
	char path[PATH_MAX];
	json_t *p, *rule, *names = json_array();
	size_t i;

	snprintf(path, sizeof(path), "%s/seccomp-profiles/grid-default.json", gt_src());
	p = json_load_file(path, 0, NULL);
	json_array_foreach(json_object_get(p, "syscalls"), i, rule) {
		json_t *e = json_object_get(rule, "errnoRet");

		if (strcmp(json_string_value(json_object_get(rule, "action")), action) ||
		    json_object_get(rule, "args") || (e ? json_integer_value(e) : -1) != errno_ret)
			continue;
		json_array_extend(names, json_object_get(rule, "names"));
	}
	json_decref(p);
	return names;
}

/* --- the loader ---------------------------------------------------------- */

/* One bad profile: the loader must refuse it with exactly the expected line. */
static char *check_bad_profile(const char *dir, const char *name, const char *expected, void *arg)
{
	struct gr_seccomp *f = NULL;
	struct gr_error *err = NULL;
	char *text = gt_read(name), *problem = NULL;   /* the test runs in dir */

	(void)dir, (void)arg;
	if (!text) {
		if (asprintf(&problem, "%s: cannot read it", name) < 0)
			abort();
	} else if (gr_seccomp_load_text(text, strlen(text), name, &f, &err) != -EINVAL || f ||
		   strcmp(err->msg, expected) || strchr(err->msg, '\n')) {
		if (asprintf(&problem, "%s\n  expected: %s\n  got:      %s", name, expected,
			     err ? err->msg : "(loaded)") < 0)
			abort();
	}
	gr_seccomp_free(f);
	gr_error_free(err);
	free(text);
	return problem;
}

TEST(bad_profile_corpus)
{
	int checked, failed;
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/tests/seccomp/bad", gt_src());
	ASSERT_EQ(0, chdir(dir)) TH_LOG("chdir %s: %s (set GRIDRUN_SRC)", dir, strerror(errno));
	checked = gt_corpus(".", ".json", check_bad_profile, NULL, &failed);
	EXPECT_LE(15, checked);
	EXPECT_EQ(0, failed);
}

/* The built-in filters are the shipped files, compiled as gridrun would now. */
TEST(builtin_profiles_are_the_shipped_files)
{
	ASSERT_LE(2, gr_seccomp_nbuiltins);
	for (size_t i = 0; i < gr_seccomp_nbuiltins; i++) {
		const struct gr_seccomp_builtin *b = &gr_seccomp_builtins[i];
		struct gr_seccomp *f = NULL;
		struct gr_error *err = NULL;
		char path[PATH_MAX], *text;

		snprintf(path, sizeof(path), "%s/seccomp-profiles/%s.json", gt_src(), b->name);
		text = gt_read(path);
		ASSERT_NE(NULL, text) TH_LOG("%s", path);
		ASSERT_EQ(strlen(text), b->len) TH_LOG("%s: rebuild (make)", path);
		ASSERT_EQ(0, memcmp(text, b->text, b->len));
		ASSERT_EQ(0, gr_seccomp_load_text(text, strlen(text), path, &f, &err))
			TH_LOG("%s", err->msg);
		ASSERT_EQ(b->ninsns, f->ninsns);
		ASSERT_EQ(0, memcmp(b->insns, f->insns, f->ninsns * sizeof(*f->insns)));
		ASSERT_EQ(b->flags, f->flags);
		gr_seccomp_free(f);
		free(text);
	}
}

TEST(filter_checks_the_architecture_first)
{
	static const uint32_t foreign[] = { SCMP_ARCH_X86, SCMP_ARCH_X32, SCMP_ARCH_AARCH64, 0 };

	for (size_t i = 0; i < gr_seccomp_nbuiltins; i++) {
		struct gr_seccomp *f = gt_seccomp_builtin(_metadata, gr_seccomp_builtins[i].name);

		ASSERT_NE(NULL, f);
		ASSERT_EQ(BPF_LD | BPF_W | BPF_ABS, f->insns[0].code);
		ASSERT_EQ(offsetof(struct seccomp_data, arch), f->insns[0].k);
		for (uint32_t nr = 0; nr < 1024; nr++) {
			/* i386 (int 0x80), anything unknown: killed, whatever the number */
			for (size_t a = 0; a < ARRAY_SIZE(foreign); a++) {
				ASSERT_EQ(RET_KILL_PROCESS, verdict(f, foreign[a], nr, 0, 0))
					TH_LOG("%s: arch 0x%x nr %u", gr_seccomp_builtins[i].name, foreign[a], nr);
			}
			/* x32: the x86-64 arch with bit 30 in the number */
			ASSERT_EQ(RET_KILL_PROCESS, verdict(f, SCMP_ARCH_X86_64, nr | X32_BIT, 0, 0))
				TH_LOG("%s: x32 nr %u", gr_seccomp_builtins[i].name, nr);
		}
		ASSERT_EQ(RET_KILL_PROCESS, verdict(f, SCMP_ARCH_X86_64, 0x7ffffffe, 0, 0));
		ASSERT_NE(RET_ALLOW, verdict(f, SCMP_ARCH_X86_64, 0xffffffff, 0, 0));
		ASSERT_EQ(RET_ALLOW, verdict(f, SCMP_ARCH_X86_64, nr_of("read"), 0, 0));
		ASSERT_EQ(RET_ERRNO(ENOSYS), verdict(f, SCMP_ARCH_X86_64, 1000, 0, 0));
		ASSERT_EQ(RET_ERRNO(ENOSYS), verdict(f, SCMP_ARCH_X86_64, nr_of("clone3"), 0, 0));
		gr_seccomp_free(f);
	}
}

/* Listing an architecture lets its entry point in, and only that one. */
TEST(listed_architectures_are_allowed)
{
	static const char text[] =
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,"
		" \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\"],"
		" \"syscalls\": [{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\"}]}";
	struct gr_seccomp *f = NULL;
	struct gr_error *err = NULL;

	ASSERT_EQ(0, gr_seccomp_load_text(text, strlen(text), "arches.json", &f, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(RET_ALLOW, verdict(f, SCMP_ARCH_X86, 20 /* i386 getpid */, 0, 0));
	EXPECT_EQ(RET_ERRNO(ENOSYS), verdict(f, SCMP_ARCH_X86, 1 /* i386 exit */, 0, 0));
	EXPECT_EQ(RET_ALLOW, verdict(f, SCMP_ARCH_X86_64, 39, 0, 0));
	EXPECT_EQ(RET_KILL_PROCESS, verdict(f, SCMP_ARCH_X86_64, 39 | X32_BIT, 0, 0));
	gr_seccomp_free(f);
}

TEST(grid_default_verdicts)
{
	static const uint64_t highs[] = { 0, 1, 0x123, 0xffffffff };
	struct gr_seccomp *f = gt_seccomp_builtin(_metadata, "grid-default");
	json_t *denied = profile_names("SCMP_ACT_ERRNO", EPERM), *allowed = profile_names("SCMP_ACT_ALLOW", -1);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	json_t *v;
	size_t i;

	ASSERT_NE(NULL, f);
	ASSERT_LE(40, json_array_size(denied));
	ASSERT_LE(250, json_array_size(allowed));
	json_array_foreach(denied, i, v) {
		ASSERT_EQ(RET_ERRNO(EPERM), verdict(f, SCMP_ARCH_X86_64, nr_of(json_string_value(v)),
						    rnd64(&seed), rnd64(&seed))) TH_LOG("%s", json_string_value(v));
	}
	json_array_foreach(allowed, i, v) {
		ASSERT_EQ(RET_ALLOW, verdict(f, SCMP_ARCH_X86_64, nr_of(json_string_value(v)), 0, 0))
			TH_LOG("%s", json_string_value(v));
	}
	/* clone and unshare: any namespace flag is EPERM, in any combination */
	for (int b = 0; b < 32; b++) {
		uint64_t bit = 1ull << b, hi = rnd64(&seed) << 32;
		uint32_t want = (bit & NS_FLAGS) ? RET_ERRNO(EPERM) : RET_ALLOW;

		EXPECT_EQ(want, verdict(f, SCMP_ARCH_X86_64, nr_of("clone"), hi | bit | SIGCHLD, 0)) TH_LOG("bit %d", b);
		EXPECT_EQ(want, verdict(f, SCMP_ARCH_X86_64, nr_of("clone"), bit | 0x3d0f00, 0)) TH_LOG("bit %d", b);
		if (bit == CLONE_NEWTIME)
			want = RET_ERRNO(EPERM);
		EXPECT_EQ(want, verdict(f, SCMP_ARCH_X86_64, nr_of("unshare"), hi | bit, 0)) TH_LOG("bit %d", b);
	}
	/* ioctl: only the low 32 bits of cmd count (CVE-2019-10063) */
	for (uint64_t cmd = 0; cmd < 0x20000; cmd++) {
		uint64_t c = cmd | (rnd64(&seed) << 32);
		uint32_t lo = (uint32_t)c;
		uint32_t want = lo == TIOCSTI || lo == TIOCLINUX ? RET_ERRNO(EPERM) : RET_ALLOW;

		ASSERT_EQ(want, verdict(f, SCMP_ARCH_X86_64, nr_of("ioctl"), 0, c)) TH_LOG("cmd 0x%llx", (unsigned long long)c);
	}
	for (int k = 0; k < 200000; k++) {
		uint64_t c = rnd64(&seed);
		uint32_t lo = (uint32_t)c;

		ASSERT_EQ(lo == TIOCSTI || lo == TIOCLINUX ? RET_ERRNO(EPERM) : RET_ALLOW,
			  verdict(f, SCMP_ARCH_X86_64, nr_of("ioctl"), 0, c));
	}
	for (i = 0; i < ARRAY_SIZE(highs); i++) {
		EXPECT_EQ(RET_ERRNO(EPERM), verdict(f, SCMP_ARCH_X86_64, nr_of("ioctl"), 0, highs[i] << 32 | TIOCSTI));
		EXPECT_EQ(RET_ERRNO(EPERM), verdict(f, SCMP_ARCH_X86_64, nr_of("ioctl"), 0, highs[i] << 32 | TIOCLINUX));
	}
	/* personality: the harmless ones, the query; the dangerous bits EPERM */
	EXPECT_EQ(RET_ALLOW, verdict(f, SCMP_ARCH_X86_64, nr_of("personality"), 0xffffffff, 0));
	EXPECT_EQ(RET_ALLOW, verdict(f, SCMP_ARCH_X86_64, nr_of("personality"), PER_LINUX, 0));
	EXPECT_EQ(RET_ALLOW, verdict(f, SCMP_ARCH_X86_64, nr_of("personality"), ADDR_NO_RANDOMIZE, 0));
	EXPECT_EQ(RET_ALLOW, verdict(f, SCMP_ARCH_X86_64, nr_of("personality"), PER_LINUX32, 0));
	EXPECT_EQ(RET_ERRNO(EPERM), verdict(f, SCMP_ARCH_X86_64, nr_of("personality"), READ_IMPLIES_EXEC, 0));
	EXPECT_EQ(RET_ERRNO(EPERM), verdict(f, SCMP_ARCH_X86_64, nr_of("personality"), MMAP_PAGE_ZERO | PER_LINUX, 0));
	EXPECT_EQ(RET_ERRNO(EPERM), verdict(f, SCMP_ARCH_X86_64, nr_of("personality"), ADDR_LIMIT_3GB, 0));
	EXPECT_NE(RET_ALLOW, verdict(f, SCMP_ARCH_X86_64, nr_of("personality"), 0x80400000, 0));
	EXPECT_NE(RET_ALLOW, verdict(f, SCMP_ARCH_X86_64, nr_of("personality"), PER_BSD, 0));
	/* socket families; the kernel reads an int */
	for (uint64_t fam = 0; fam < 64; fam++) {
		bool ok = fam == AF_UNIX || fam == AF_INET || fam == AF_INET6 || fam == AF_NETLINK;

		EXPECT_EQ(ok, RET_ALLOW == verdict(f, SCMP_ARCH_X86_64, nr_of("socket"), fam | 1ull << 40, 0))
			TH_LOG("family %d", (int)fam);
		EXPECT_EQ(fam == AF_UNIX, RET_ALLOW == verdict(f, SCMP_ARCH_X86_64, nr_of("socketpair"), fam, 0));
	}
	json_decref(denied);
	json_decref(allowed);
	gr_seccomp_free(f);
}

/* --- real jobs -------------------------------------------------------------- */

FIXTURE(job) {
	char *dir, *state;
	struct gt_result res;
};

FIXTURE_SETUP(job)
{
	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
	unsetenv("GRIDRUN_SECCOMP_DIR");
	memset(&self->res, 0, sizeof(self->res));
}

FIXTURE_TEARDOWN(job)
{
	gt_result_free(&self->res);
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->state);
}

/* Run /bin/sh -c SCRIPT (gr-sysprobe at /run/gr-sysprobe); returns the spec's path. */
static char *run_sh(struct _test_data_job *self, const char *script, const char *extra, const char *gr)
{
	json_t *args = json_pack("[sss]", "/bin/sh", "-c", script);
	char *a = json_dumps(args, JSON_COMPACT);
	char *spec = gt_spec_sys(self->dir, a, extra, gr);

	gt_result_free(&self->res);
	gt_run_spec(spec, &self->res);
	free(a);
	json_decref(args);
	return spec;
}

#define RUN_OK(script) do { \
	free(run_sh(self, (script), NULL, NULL)); \
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err); \
} while (0)

static int count(const char *s, const char *what)
{
	int n = 0;

	for (; (s = strstr(s, what)); s += strlen(what))
		n++;
	return n;
}

/* Does this kernel have the i386 entry point at all? (Some have it off.) */
static bool host_has_int80(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		long r;

		/* where it faults, die of the signal quietly (not by ASan's report) */
		signal(SIGSEGV, SIG_DFL);
		__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
		_exit(r == getpid() ? 0 : 1);
	}
	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST_F_TIMEOUT(job, S08_denied_syscalls_never_run_by_any_entry_point, 300)
{
	json_t *names = profile_names("SCMP_ACT_ERRNO", EPERM), *args = json_pack("[ss]", "/run/gr-sysprobe", "deny");
	const char *int80 = host_has_int80() ? "SIGSYS" : "SIGSEGV";
	char *spec, *a, line[256];
	json_t *v;
	size_t i;

	json_array_append_new(names, json_string("getpid")); /* allowed: the control */
	json_array_foreach(names, i, v) {
		const char *n = json_string_value(v);
		int nr32 = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, n);

		snprintf(line, sizeof(line), "%s:%d:%d", n, nr_of(n), nr32 < 0 ? -1 : nr32);
		json_array_append_new(args, json_string(line));
	}
	a = json_dumps(args, JSON_COMPACT);
	spec = gt_spec_sys(self->dir, a, NULL, NULL);
	gt_run_spec(spec, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	TH_LOG("int 0x80 on this kernel: %s", host_has_int80() ? "present" :
	       "absent (it faults; the i386 branch is checked in filter_checks_the_architecture_first)");
	json_array_foreach(names, i, v) {
		const char *n = json_string_value(v);

		snprintf(line, sizeof(line), "%s native %s\n", n, strcmp(n, "getpid") ? "EPERM" : "allowed");
		EXPECT_NE(NULL, strstr(self->res.out, line)) TH_LOG("want %s", line);
		snprintf(line, sizeof(line), "%s x32 SIGSYS\n", n);
		EXPECT_NE(NULL, strstr(self->res.out, line)) TH_LOG("want %s", line);
		if (seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, n) >= 0) {
			snprintf(line, sizeof(line), "%s int80 %s\n", n, int80);
			EXPECT_NE(NULL, strstr(self->res.out, line)) TH_LOG("want %s", line);
		}
	}
	/* nothing but the control was allowed */
	EXPECT_EQ(1, count(self->res.out, " allowed\n")) TH_LOG("out: %s", self->res.out);
	free(a);
	free(spec);
	json_decref(names);
	json_decref(args);
}

TEST_F(job, S09_threads_and_fork_work_clone3_falls_back)
{
	RUN_OK("exec /run/gr-sysprobe clone");
	ASSERT_STREQ("pthread ok\nfork ok\nposix_spawn ok\nclone3 ENOSYS\nclone3_newuser ENOSYS\n"
		     "clone_newuser EPERM\nclone_newnet EPERM\nclone_newns EPERM\n"
		     "unshare_newuser_newnet EPERM\nunshare_fs_files ok\nsyscall1000 ENOSYS\n", self->res.out);
}

TEST_F(job, S10_a_tracer_cannot_rewrite_into_a_denied_call)
{
	RUN_OK("for t in getpid unshare x32-unshare keyctl 1000; do /run/gr-sysprobe ptrace $t; done");
	/* getpid: the rewrite itself works; the others are checked after it */
	ASSERT_STREQ("ptrace rewritten yes child own-pid same-userns\n"
		     "ptrace rewritten yes child EPERM same-userns\n"
		     "ptrace rewritten yes child SIGSYS\n"
		     "ptrace rewritten yes child EPERM same-userns\n"
		     "ptrace rewritten yes child ENOSYS same-userns\n", self->res.out);
}

TEST_F(job, S12_no_nested_user_or_net_namespace)
{
	RUN_OK("exec /run/gr-sysprobe nested");
	ASSERT_EQ(0, strncmp("unshare_newuser EPERM\nunshare_newnet EPERM\nunshare_newuser_newnet EPERM\n"
			     "clone_newuser_newnet EPERM\nwrite_max_user_namespaces ", self->res.out,
			     strlen("unshare_newuser EPERM\nunshare_newnet EPERM\nunshare_newuser_newnet EPERM\n"
				    "clone_newuser_newnet EPERM\nwrite_max_user_namespaces ")))
		TH_LOG("out: %s", self->res.out);
	ASSERT_EQ(NULL, strstr(self->res.out, "write_max_user_namespaces ok"));
}

TEST_F(job, S07_tiocsti_and_tioclinux_denied_by_the_filter)
{
	/* stdin is /dev/null: without the filter these would be ENOTTY */
	RUN_OK("exec /run/gr-sysprobe ioctl");
	ASSERT_STREQ("tiocsti EPERM\ntiocsti_0x123_high EPERM\ntiocsti_all_high EPERM\n"
		     "tioclinux EPERM\ntioclinux_high EPERM\ntcgets ENOTTY\ntiocgwinsz ENOTTY\n"
		     "fionread_pipe ok 3\n", self->res.out);
}

TEST_F(job, personality_and_socket_argument_filters)
{
	RUN_OK("/run/gr-sysprobe personality; /run/gr-sysprobe socket");
	ASSERT_STREQ("query ok\naddr_no_randomize ok\nlinux ok\nread_implies_exec EPERM\n"
		     "mmap_page_zero EPERM\nsvr4 EPERM\n"
		     "unix ok\ninet ok\ninet6 ok\nnetlink ok\nalg ENOSYS\nvsock ENOSYS\npacket ENOSYS\n"
		     "socketpair_unix ok\n", self->res.out);
}

TEST_F(job, the_job_is_filtered_its_init_is_not)
{
	RUN_OK("grep '^Seccomp:' /proc/self/status /proc/1/status");
	ASSERT_STREQ("/proc/self/status:Seccomp:\t2\n/proc/1/status:Seccomp:\t0\n", self->res.out);
}

TEST_F_TIMEOUT(job, a_scientific_workload_runs_unchanged, 300)
{
	RUN_OK("set -e; cd /tmp\n"
	       "printf '#include <stdio.h>\\nint main(void) { printf(\"compiled %%d\\\\n\", 6 * 7); return 0; }\\n' > x.c\n"
	       "gcc -O2 -o x x.c && ./x\n"
	       "python3 -c '\n"
	       "import threading, multiprocessing\n"
	       "def sq(x):\n"
	       "    return x * x\n"
	       "out = []\n"
	       "ts = [threading.Thread(target=out.append, args=(i,)) for i in range(4)]\n"
	       "[t.start() for t in ts]; [t.join() for t in ts]\n"
	       "with multiprocessing.Pool(2) as p:\n"
	       "    print(\"threads\", sorted(out), \"pool\", p.map(sq, range(5)))\n"
	       "'\n"
	       "echo $(( $(seq 1 1000 | sort -rn | head -n 3 | paste -sd+) ))\n");
	ASSERT_STREQ("compiled 42\nthreads [0, 1, 2, 3] pool [0, 1, 4, 9, 16]\n2997\n", self->res.out);
}

TEST_F_TIMEOUT(job, profiles_by_name_from_the_directory_or_built_in_and_inline, 300)
{
	char *pdir, *spec, *want;
	const char *extra = "\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
			    "\"syscalls\": [{\"names\": [\"getpgrp\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 79}]}}";
	const char *bad = "\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ERRNO\", "
			  "\"syscalls\": [{\"names\": [\"read\"], \"action\": \"ALLOW\"}]}}";

	ASSERT_LE(0, asprintf(&pdir, "%s/profiles", self->dir));
	gt_mkdirs(pdir, 0755, -1, -1);
	free(gt_write(pdir, "custom.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
		      "[{\"names\": [\"getpgrp\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 77}]}\n"));
	setenv("GRIDRUN_SECCOMP_DIR", pdir, 1);
	free(run_sh(self, "/run/gr-sysprobe call 111", NULL, "\"seccomp_profile\": \"custom\""));
	EXPECT_STREQ("call errno77\n", self->res.out) TH_LOG("stderr: %s", self->res.err);
	/* a file in the directory wins over the built-in profile of that name */
	free(gt_write(pdir, "grid-default.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
		      "[{\"names\": [\"getpgrp\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 78}]}\n"));
	free(run_sh(self, "/run/gr-sysprobe call 111", NULL, NULL));
	EXPECT_STREQ("call errno78\n", self->res.out) TH_LOG("stderr: %s", self->res.err);
	free(run_sh(self, "/run/gr-sysprobe call 111", extra, NULL));
	EXPECT_STREQ("call errno79\n", self->res.out) TH_LOG("stderr: %s", self->res.err);
	/* strict is built in: threads yes, sockets, fork and ioctl no. gridrun's
	 * own setup (mounts, pivot_root, setsid...) ran unfiltered before it.
	 * (The probe is built without sanitizers, so nothing of ASan needs fork.) */
	spec = gt_spec_sys(self->dir, "[\"/run/gr-sysprobe\", \"compute\"]", NULL,
			   "\"seccomp_profile\": \"strict\"");
	gt_result_free(&self->res);
	gt_run_spec(spec, &self->res);
	free(spec);
	EXPECT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	EXPECT_STREQ("threads ok 15005000\nwrite_output ok\nsocket ENOSYS\nfork ENOSYS\nioctl ENOSYS\n",
		     self->res.out);
	/* errors: 125, nothing left behind */
	spec = run_sh(self, "true", NULL, "\"seccomp_profile\": \"nope\"");
	EXPECT_EQ(125, self->res.status);
	ASSERT_LE(0, asprintf(&want, "gridrun: %s: gridrun.seccomp_profile: no seccomp profile `nope`: "
			      "no %s/nope.json and none built in\n", spec, pdir));
	EXPECT_STREQ(want, self->res.err);
	free(want);
	free(spec);
	spec = run_sh(self, "true", bad, NULL);
	EXPECT_EQ(125, self->res.status);
	/* the spec's extra member starts on line 6, column 3 */
	ASSERT_LE(0, asprintf(&want, "gridrun: %s:6:%d: linux.seccomp.syscalls[0].action: unknown action \"ALLOW\", ",
			      spec, (int)(strstr(bad, "\"ALLOW\"") - bad) + 3));
	EXPECT_EQ(0, strncmp(want, self->res.err, strlen(want))) TH_LOG("want %s\ngot  %s", want, self->res.err);
	EXPECT_GE(0, gt_count_dir(self->state));
	free(want);
	free(spec);
	free(pdir);
}

TEST_F(job, dump_prints_the_architecture_check_first)
{
	char *argv[] = { (char *)gt_gridrun(), "seccomp", "dump", "grid-default", NULL };
	char *bad_argv[] = { (char *)gt_gridrun(), "seccomp", "dump", NULL, NULL };
	const char *first_if, *tiocsti;
	char *path;

	gt_run_argv(argv, -1, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	first_if = strstr(self->res.out, "\nif ");
	ASSERT_NE(NULL, first_if);
	ASSERT_EQ(0, strncmp(first_if, "\nif ($arch == 3221225534)\n", 26));
	ASSERT_NE(NULL, strstr(self->res.out, "  action ERRNO(38);\n# invalid architecture action\naction KILL_PROCESS;\n"));
	/* TIOCSTI: the low 32 bits of cmd, then EPERM */
	tiocsti = strstr(self->res.out, "if ($a1.lo32 & 0xffffffff == 21522)\n");
	ASSERT_NE(NULL, tiocsti);
	tiocsti += strcspn(tiocsti, "\n") + 1;
	ASSERT_EQ(0, strncmp(tiocsti + strspn(tiocsti, " "), "action ERRNO(1);\n", 17));
	ASSERT_LE(0, asprintf(&path, "%s/tests/seccomp/bad/08-unknown-syscall.json", gt_src()));
	bad_argv[3] = path;
	gt_result_free(&self->res);
	gt_run_argv(bad_argv, -1, &self->res);
	EXPECT_EQ(125, self->res.status);
	EXPECT_NE(NULL, strstr(self->res.err, "08-unknown-syscall.json:3:35: syscalls[0].names[1]: unknown syscall \"frobnicate\"\n"));
	free(path);
}

/*
 * Docker's and Podman's profiles as Debian ships them (fetched by
 * tests/seccomp/fetch-real.sh into the build dir, never committed), named
 * by absolute path: they load as runc and crun load them (archMap,
 * defaultErrno, per-rule errno, includes/excludes resolved for a job
 * without capabilities on this arch and kernel), a shell pipeline runs
 * under each, and a call each one denies is denied as it says.
 */
TEST_F_TIMEOUT(job, docker_and_podman_profiles_load_as_shipped, 300)
{
	static const struct { const char *file, *calls, *want; } cases[] = {
		/* keyctl: not allowed; nr 1000, no call: both get the default,
		 * EPERM (defaultErrnoRet null) */
		{ "docker.json", "/run/gr-sysprobe call 250; /run/gr-sysprobe call 1000", "call EPERM\ncall EPERM\n" },
		/* bpf: EPERM from the rule that excludes CAP_SYS_ADMIN holders;
		 * kexec_load: listed EPERM ("errno"); nr 1000: the
		 * defaultErrno, ENOSYS */
		{ "podman.json", "/run/gr-sysprobe call 321; /run/gr-sysprobe call 246; /run/gr-sysprobe call 1000",
		  "call EPERM\ncall EPERM\ncall ENOSYS\n" },
	};
	const char *build = getenv("GRIDRUN_BUILD") && *getenv("GRIDRUN_BUILD") ? getenv("GRIDRUN_BUILD") : "build";
	char *cmd, *dir, *gr, *script, *want;

	ASSERT_LE(0, asprintf(&dir, "%s/real-seccomp", build));
	ASSERT_LE(0, asprintf(&cmd, "sh '%s/tests/seccomp/fetch-real.sh' '%s'", gt_src(), dir));
	ASSERT_EQ(0, system(cmd)) TH_LOG("could not fetch the profiles (needs apt): %s", cmd);
	for (size_t i = 0; i < 2; i++) {
		ASSERT_LE(0, asprintf(&gr, "\"seccomp_profile\": \"%s/%s\"", dir, cases[i].file));
		if (gr[20] != '/') {
			/* a relative GRIDRUN_BUILD: the spec wants an absolute path */
			char *abs = realpath(dir, NULL);

			ASSERT_NE(NULL, abs);
			free(gr);
			ASSERT_LE(0, asprintf(&gr, "\"seccomp_profile\": \"%s/%s\"", abs, cases[i].file));
			free(abs);
		}
		ASSERT_LE(0, asprintf(&script, "seq 1 1000 | sort -rn | head -n 3 | paste -sd+; %s", cases[i].calls));
		ASSERT_LE(0, asprintf(&want, "1000+999+998\n%s", cases[i].want));
		free(run_sh(self, script, NULL, gr));
		EXPECT_EQ(0, self->res.status) TH_LOG("%s: stderr: %s", cases[i].file, self->res.err);
		EXPECT_STREQ(want, self->res.out) TH_LOG("%s: stderr: %s", cases[i].file, self->res.err);
		free(gr);
		free(script);
		free(want);
	}
	free(cmd);
	free(dir);
}

/* A name this libseccomp does not know is skipped, with a debug notice,
 * in a profile that names calls for several kernels (an archMap); without
 * one it is an error (tests/seccomp/bad/08-unknown-syscall). */
TEST_F(job, names_newer_than_libseccomp_are_skipped_with_a_notice)
{
	char *path = gt_write(self->dir, "new.json",
			      "{\"defaultAction\": \"SCMP_ACT_ERRNO\",\n"
			      " \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\", \"subArchitectures\": []}],\n"
			      " \"syscalls\": [{\"names\": [\"read\", \"mseal\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"}]}\n");
	char *argv[] = { (char *)gt_gridrun(), "seccomp", "dump", path, NULL }, *want;

	chmod(path, 0644);
	setenv("GRIDRUN_DEBUG", "1", 1);
	gt_run_argv(argv, -1, &self->res);
	unsetenv("GRIDRUN_DEBUG");
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_LE(0, asprintf(&want, "gridrun: debug: seccomp: %s:3:34: syscalls[0].names[1]: syscall `mseal` "
			      "is unknown to libseccomp ", path));
	EXPECT_EQ(0, strncmp(want, self->res.err, strlen(want))) TH_LOG("want %s\ngot  %s", want, self->res.err);
	EXPECT_NE(NULL, strstr(self->res.out, "\"read\"")) TH_LOG("%s", self->res.out);
	EXPECT_NE(NULL, strstr(self->res.out, "\"write\""));
	/* a file by path must be one everyone may read: gridrun may be root */
	chmod(path, 0600);
	gt_result_free(&self->res);
	gt_run_argv(argv, -1, &self->res);
	EXPECT_EQ(125, self->res.status);
	free(want);
	ASSERT_LE(0, asprintf(&want, "gridrun: seccomp profile `%s`: not a regular file readable by everyone\n", path));
	EXPECT_STREQ(want, self->res.err);
	free(want);
	free(path);
}

TEST_HARNESS_MAIN
