// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * seccomp_merge_test - one filter per job (runtime/seccomp-merge.c): the
 * profile with the set-id guard merged in answers, for every input, what
 * the kernel answers for the guard stacked under the profile.
 *
 * The programs run here in a small interpreter of seccomp's classic BPF
 * over crafted struct seccomp_data: every number 0..511 on x86-64, x32 and
 * i386, a foreign architecture, and argument grids with and without
 * S_ISUID/S_ISGID and O_CREAT/O_TMPFILE, for grid-default, strict, a
 * permissive profile with ERRNO, LOG, TRACE, TRAP and kills, and a
 * hand-written program with USER_NOTIF and data bits. The interpreter also
 * says whether the kernel's action cache could answer without the
 * arguments: the merged program must be cacheable exactly where the pair
 * was. Then real jobs: one filter, and the newer filter's errno on a tie.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"
#include "gr-seccomp.h"
#include "gt-seccomp.h"

#define X32_BIT 0x40000000u
#ifndef __O_TMPFILE
#define __O_TMPFILE 020000000
#endif

/*
 * The return value of p on d. *args: p read an argument (the action cache
 * cannot answer it); *bad: an instruction outside the subset the merged
 * program may use, or a jump out of p.
 */
static uint32_t run(const struct sock_filter *p, size_t n, const struct seccomp_data *d,
		    bool *args, bool *bad)
{
	uint32_t a = 0;

	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *in = &p[pc];
		size_t next = 0;

		switch (in->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (in->k % 4 || in->k + 4 > sizeof(*d))
				goto bad;
			if (in->k >= offsetof(struct seccomp_data, instruction_pointer))
				*args = true;
			memcpy(&a, (const char *)d + in->k, 4);
			continue;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= in->k;
			continue;
		case BPF_RET | BPF_K:
			return in->k;
		case BPF_JMP | BPF_JA:
			next = in->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			next = a == in->k ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			next = a > in->k ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			next = a >= in->k ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			next = a & in->k ? in->jt : in->jf;
			break;
		default:
			goto bad;
		}
		if (pc + 1 + next >= n)
			goto bad;
		pc += next;
	}
bad:
	*bad = true;
	return 0xbad;
}

/* What the kernel returns for the filters, newest first (seccomp_run_filters). */
static uint32_t kernel_answer(const uint32_t *rets, size_t n)
{
	uint32_t ret = SECCOMP_RET_ALLOW;

	for (size_t i = 0; i < n; i++)
		if ((int32_t)(rets[i] & SECCOMP_RET_ACTION_FULL) < (int32_t)(ret & SECCOMP_RET_ACTION_FULL))
			ret = rets[i];
	return ret;
}

struct tally {
	long inputs, differ, cached_pair, cached_merged;
};

static void compare(struct __test_metadata *_metadata, const struct gr_seccomp *profile,
		    const struct gr_seccomp *merged, const struct seccomp_data *d, struct tally *t)
{
	size_t gn;
	const struct sock_filter *guard = gr_seccomp_guard(&gn);
	bool args[3] = { false }, bad = false;
	uint32_t r[2], want, got;

	r[0] = run(profile->insns, profile->ninsns, d, &args[0], &bad);
	r[1] = run(guard, gn, d, &args[1], &bad);
	want = kernel_answer(r, 2);
	got = run(merged->insns, merged->ninsns, d, &args[2], &bad);
	ASSERT_FALSE(bad);
	t->inputs++;
	if (got != want && t->differ++ < 10)
		TH_LOG("arch %#x nr %#x args %#llx %#llx %#llx %#llx: merged %#x, stacked %#x "
		       "(profile %#x, guard %#x)", d->arch, d->nr, (unsigned long long)d->args[0],
		       (unsigned long long)d->args[1], (unsigned long long)d->args[2],
		       (unsigned long long)d->args[3], got, want, r[0], r[1]);
	t->cached_pair += !args[0] && !args[1] && want == SECCOMP_RET_ALLOW;
	t->cached_merged += !args[2] && got == SECCOMP_RET_ALLOW;
}

/* Merge profile (left as it is) and compare on every input of the grid; the merged length. */
static size_t equivalent(struct __test_metadata *_metadata, const struct gr_seccomp *profile)
{
	static const uint32_t arches[] = { AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, 0 };
	static const uint64_t vals[] = {
		0, 0755, 04755, 02755, 01777, S_IFREG | 06755, O_CREAT | O_WRONLY,
		__O_TMPFILE | O_RDWR, 0xffffffff00000000ull | 0644,
	};
	const size_t nv = sizeof(vals) / sizeof(vals[0]);
	struct gr_seccomp merged = { .flags = profile->flags, .ninsns = 0 };
	struct gr_error *err = NULL;
	struct tally t = { 0 };
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	merged.insns = malloc(profile->ninsns * sizeof(*merged.insns));
	if (!merged.insns)
		abort();
	memcpy(merged.insns, profile->insns, profile->ninsns * sizeof(*merged.insns));
	merged.ninsns = profile->ninsns;
	ASSERT_EQ(1, gr_seccomp_add_guard(&merged, &err));
	ASSERT_TRUE(merged.has_guard);
	EXPECT_EQ(profile->flags, merged.flags);
	ASSERT_GE(4096, merged.ninsns);
	ASSERT_EQ(BPF_RET | BPF_K, merged.insns[merged.ninsns - 1].code);
	for (size_t ai = 0; ai < sizeof(arches) / sizeof(arches[0]); ai++) {
		for (uint32_t i = 0; i < 1024 + 3; i++) {
			struct seccomp_data d = { .arch = arches[ai] };

			/* 0..511, x32's 0..511 (on every arch: a number is a number), odd ones */
			d.nr = (int)(i < 512 ? i : i < 1024 ? (i - 512) | X32_BIT :
				     i == 1024 ? 0xffffffffu : i == 1025 ? 0x7fffffffu : X32_BIT - 1);
			for (size_t g = 0; g < nv * nv * nv; g++) {
				d.args[1] = vals[g % nv];
				d.args[2] = vals[g / nv % nv];
				d.args[3] = vals[g / nv / nv];
				compare(_metadata, profile, &merged, &d, &t);
			}
			for (int k = 0; k < 16; k++) {
				for (int j = 0; j < 6; j++) {
					seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
					d.args[j] = k < 8 ? seed : seed & 0xffffffffu;
				}
				compare(_metadata, profile, &merged, &d, &t);
			}
		}
	}
	TH_LOG("%zu + guard -> %zu instructions; %ld inputs; cached ALLOW (arch, nr) x args: "
	       "pair %ld, merged %ld", profile->ninsns, merged.ninsns, t.inputs, t.cached_pair,
	       t.cached_merged);
	EXPECT_EQ(0, t.differ);
	EXPECT_EQ(t.cached_pair, t.cached_merged);
	EXPECT_LT(0, t.cached_merged);
	free(merged.insns);
	return merged.ninsns;
}

/* Where the profile has checked the architecture, the guard's copy does not check it again. */
static void shorter_than_both(struct __test_metadata *_metadata, const struct gr_seccomp *f)
{
	size_t gn, len;

	gr_seccomp_guard(&gn);
	len = equivalent(_metadata, f);
	EXPECT_GT(f->ninsns + gn, len);
}

TEST(grid_default_merged_answers_as_the_stacked_pair)
{
	struct gr_seccomp *f = gt_seccomp_builtin(_metadata, "grid-default");

	ASSERT_NE(NULL, f);
	ASSERT_FALSE(f->has_guard);
	shorter_than_both(_metadata, f);
	gr_seccomp_free(f);
}

TEST(strict_merged_answers_as_the_stacked_pair)
{
	struct gr_seccomp *f = gt_seccomp_builtin(_metadata, "strict");

	ASSERT_NE(NULL, f);
	shorter_than_both(_metadata, f);
	gr_seccomp_free(f);
}

/* Allows what it does not name, on four architectures, with every kind of answer. */
#define PERMISSIVE "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_LOG\"], " \
	"\"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\", \"SCMP_ARCH_AARCH64\"], " \
	"\"syscalls\": [" \
	"{\"names\": [\"chmod\", \"fchmodat\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}," \
	"{\"names\": [\"creat\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1}," \
	"{\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_LOG\"}," \
	"{\"names\": [\"openat\"], \"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 7}," \
	"{\"names\": [\"open\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 22, \"args\": " \
	"[{\"index\": 1, \"value\": 64, \"valueTwo\": 64, \"op\": \"SCMP_CMP_MASKED_EQ\"}]}," \
	"{\"names\": [\"fchmod\"], \"action\": \"SCMP_ACT_TRAP\"}," \
	"{\"names\": [\"mknod\"], \"action\": \"SCMP_ACT_KILL_THREAD\"}," \
	"{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_KILL_PROCESS\"}]}"

TEST(a_permissive_profile_merged_answers_as_the_stacked_pair)
{
	struct gr_seccomp *f = NULL;
	struct gr_error *err = NULL;

	ASSERT_EQ(0, gr_seccomp_load_text(PERMISSIVE, strlen(PERMISSIVE), "permissive.json", &f, &err))
		TH_LOG("%s", err->msg);
	EXPECT_EQ(SECCOMP_FILTER_FLAG_LOG, f->flags);
	equivalent(_metadata, f);
	gr_seccomp_free(f);
}

/*
 * The guard's own filter had no flags, so where the kernel ties the
 * speculative store bypass mitigation to seccomp it was forced on; merged,
 * a profile's SPEC_ALLOW must not take it off (LOG stays the profile's).
 */
TEST(a_profiles_spec_allow_does_not_survive_the_merge)
{
	static const char text[] = "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": "
				   "[\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\", \"SECCOMP_FILTER_FLAG_LOG\"], "
				   "\"syscalls\": []}";
	struct gr_seccomp *f = NULL;
	struct gr_error *err = NULL;

	ASSERT_EQ(0, gr_seccomp_load_text(text, strlen(text), "spec-allow.json", &f, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(1, gr_seccomp_add_guard(f, &err));
	EXPECT_TRUE(f->has_guard);
	EXPECT_EQ(SECCOMP_FILTER_FLAG_LOG, f->flags);
	gr_seccomp_free(f);
}

/* Returns libseccomp would not write: USER_NOTIF, data bits on ALLOW, TRAP, KILL. */
TEST(every_action_merged_answers_as_the_stacked_pair)
{
	static const uint32_t answers[] = {
		SECCOMP_RET_ALLOW | 1, SECCOMP_RET_USER_NOTIF, SECCOMP_RET_LOG, SECCOMP_RET_TRACE | 3,
		SECCOMP_RET_ERRNO | EACCES, SECCOMP_RET_ERRNO | EPERM, SECCOMP_RET_TRAP | 5,
		SECCOMP_RET_KILL_THREAD, SECCOMP_RET_KILL_PROCESS, 0x00070000 /* no such action */,
	};
	const size_t na = sizeof(answers) / sizeof(answers[0]);
	struct sock_filter p[2 + 2 * 10 + 1];
	struct gr_seccomp f = { .insns = p, .ninsns = 0 };

	/* number nr modulo 16 picks an answer; ALLOW for the rest */
	p[f.ninsns++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	p[f.ninsns++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 15);
	for (size_t i = 0; i < na; i++) {
		p[f.ninsns++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)i, 0, 1);
		p[f.ninsns++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, answers[i]);
	}
	p[f.ninsns++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	equivalent(_metadata, &f);
}

/* Seccomp_filters: in /proc/self/status, or -1. */
static int filters(void)
{
	char *st = gt_read("/proc/self/status"), *p = st ? strstr(st, "Seccomp_filters:") : NULL;
	int n = p ? atoi(p + strlen("Seccomp_filters:")) : -1;

	free(st);
	return n;
}

TEST(a_program_that_returns_a_register_is_left_to_be_stacked)
{
	struct sock_filter p[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1000, 0, 1), /* no such call */
		BPF_STMT(BPF_RET | BPF_A, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter copy[4];
	struct gr_seccomp f = { .insns = copy, .ninsns = 4 };
	struct gr_error *err = NULL;

	char *dir = gt_tmpdir();
	int status;
	pid_t pid;

	memcpy(copy, p, sizeof(p));
	EXPECT_EQ(0, gr_seccomp_add_guard(&f, &err));
	EXPECT_FALSE(f.has_guard);
	EXPECT_EQ(4, f.ninsns);
	EXPECT_EQ(0, memcmp(copy, p, sizeof(p)));
	/* installed, it goes over the guard alone: a set-id chmod still fails */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *file = NULL;
		int fd;

		if (asprintf(&file, "%s/f", dir) < 0 || (fd = open(file, O_CREAT | O_WRONLY, 0644)) < 0)
			_exit(2);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || gr_seccomp_install_in_child(&f, &err) < 0)
			_exit(3);
		_exit(filters() != 2 ? 4 : chmod(file, 04755) == 0 || errno != EPERM ? 5 :
		      chmod(file, 0755) != 0 ? 6 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status) TH_LOG("status %#x", status);
	gt_rm_rf(dir);
	free(dir);
}

/* --- real jobs ---------------------------------------------------------- */

static void job(struct __test_metadata *_metadata, const char *script, const char *extra,
		struct gt_result *res)
{
	char *dir = gt_tmpdir(), *spec, *args;

	setenv("GRIDRUN_STATE_DIR", gt_f("%s/state", dir), 1);
	unsetenv("GRIDRUN_SECCOMP_DIR");
	ASSERT_LE(0, asprintf(&args, "[\"/bin/sh\", \"-c\", \"%s\"]", script));
	spec = gt_spec(dir, args, extra, NULL);
	gt_run_spec(spec, res);
	EXPECT_EQ(0, res->status) TH_LOG("stderr: %s", res->err);
	gt_rm_rf(dir);
	free(dir);
	free(spec);
	free(args);
}

TEST(a_job_has_one_filter)
{
	struct gt_result res = { 0 };

	job(_metadata, "grep ^Seccomp_filters: /proc/self/status", NULL, &res);
	EXPECT_STREQ("Seccomp_filters:\t1\n", res.out);
	gt_result_free(&res);
}

#define EACCES_CHMOD "\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": " \
	"[{\"names\": [\"chmod\", \"fchmod\", \"fchmodat\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13}]}}"

TEST(the_profiles_errno_wins_a_tie_the_guards_where_the_profile_allows)
{
	struct gt_result res = { 0 };

	job(_metadata, "export LC_ALL=C; cd /tmp && touch f && chmod 4755 f; "
	    "mkdir -m 2755 d; mkdir -m 755 e && echo mkdir-ok; "
	    "grep ^Seccomp_filters: /proc/self/status", EACCES_CHMOD, &res);
	EXPECT_NE(NULL, strstr(res.err, "chmod: changing permissions of 'f': Permission denied"))
		TH_LOG("%s", res.err);
	EXPECT_NE(NULL, strstr(res.err, "mkdir: cannot create directory 'd': Operation not permitted"))
		TH_LOG("%s", res.err);
	EXPECT_STREQ("mkdir-ok\nSeccomp_filters:\t1\n", res.out);
	gt_result_free(&res);
}

TEST_HARNESS_MAIN
