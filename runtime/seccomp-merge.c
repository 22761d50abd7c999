/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * seccomp-merge.c - the profile's filter and the set-id guard as one
 * program (gr-seccomp.h, gr_seccomp_add_guard).
 *
 * Two stacked filters cost the job a second seccomp(2) (JIT, action cache,
 * attach: ~0.2 ms) and every uncached syscall a second run. One program
 * gives the kernel's answer for the pair. The kernel runs every filter and
 * keeps the strictest action; of two of the same kind (two ERRNOs, two
 * TRACEs) the newer filter's, and the profile is the newer one
 * (kernel/seccomp.c, seccomp_run_filters; stacked() below).
 *
 * How: the profile's program runs first, unchanged but for its returns.
 * For each distinct value A the profile returns, a copy of the guard in
 * which every return G is replaced by stacked(G, A) gives the pair's answer
 * wherever the profile says A. Where the profile has compared the
 * architecture on every path to a return (libseccomp does so first), the
 * copy is made for that architecture: the guard's own tests of it are
 * decided. Then it is simplified: an instruction from which every path
 * returns the same value becomes that return, and what is then unreachable
 * goes. For A = KILL_PROCESS the copy is one return, so the profile's
 * return stays; for ERRNO, TRAP or KILL_THREAD under a known architecture
 * too (the guard only kills other architectures); under an unknown one
 * its architecture test is left; for ALLOW, LOG and TRACE the guard's part
 * for that architecture (grid-default: 629 + 68 instructions, not 629 +
 * 135). A return that needs a copy becomes a JA (32-bit reach) to it,
 * appended after the profile: one instruction for one, so no jump of the
 * profile moves. One copy per distinct (value, architecture).
 *
 * The result uses what the two programs use, plus JA: so a syscall both
 * answer ALLOW from the number and architecture alone still does so, and the
 * kernel's action cache (seccomp_is_const_allow) still keeps it.
 *
 * Not merged, and then stacked as before: an empty program, one that
 * returns A or X (libseccomp's never do) or a result above the kernel's
 * 4096 instructions.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gr-seccomp.h"
#include "util.h"

#define MAX_INSNS 4096 /* BPF_MAXINSNS */
#define NONE UINT64_MAX
#define UNREACHED (UINT64_MAX - 1)

static bool is_ret(const struct sock_filter *in)
{
	return BPF_CLASS(in->code) == BPF_RET;
}

/* The kernel's answer when the older filter says older and the newer one newer. */
static uint32_t stacked(uint32_t older, uint32_t newer)
{
	uint32_t ret = SECCOMP_RET_ALLOW;

	if ((int32_t)(newer & SECCOMP_RET_ACTION_FULL) < (int32_t)(ret & SECCOMP_RET_ACTION_FULL))
		ret = newer;
	if ((int32_t)(older & SECCOMP_RET_ACTION_FULL) < (int32_t)(ret & SECCOMP_RET_ACTION_FULL))
		ret = older;
	return ret;
}

/* Where in[i] may go next, in a program of n: targets[0..return value). */
static size_t successors(const struct sock_filter *in, size_t i, size_t *t)
{
	if (is_ret(&in[i]))
		return 0;
	if (BPF_CLASS(in[i].code) != BPF_JMP) {
		t[0] = i + 1;
		return 1;
	}
	if (BPF_OP(in[i].code) == BPF_JA) {
		t[0] = i + 1 + in[i].k;
		return 1;
	}
	t[0] = i + 1 + in[i].jt;
	t[1] = i + 1 + in[i].jf;
	return 2;
}

/*
 * What is known of the architecture where each instruction of p begins: its
 * value, NONE (not known) or UNREACHED; and whether A holds it (a_arch).
 * start: at the first instruction. One pass forward, as every jump goes.
 */
static void arch_known(const struct sock_filter *p, size_t n, uint64_t start, uint64_t *arch,
		       bool *a_arch)
{
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		arch[i] = UNREACHED;
		a_arch[i] = true;
	}
	arch[0] = start;
	a_arch[0] = false;
	for (size_t i = 0; i < n; i++) {
		size_t t[2], ns;
		uint64_t to[2] = { arch[i], arch[i] };
		bool aa = a_arch[i];

		if (arch[i] == UNREACHED)
			continue;
		if (p[i].code == (BPF_LD | BPF_W | BPF_ABS))
			aa = p[i].k == offsetof(struct seccomp_data, arch);
		else if (BPF_CLASS(p[i].code) != BPF_JMP)
			aa = false; /* may have changed A */
		else if (p[i].code == (BPF_JMP | BPF_JEQ | BPF_K) && aa)
			to[0] = p[i].k;
		ns = successors(p, i, t);
		for (size_t j = 0; j < ns; j++) {
			if (t[j] >= n)
				continue;
			arch[t[j]] = arch[t[j]] == UNREACHED || arch[t[j]] == to[j] ? to[j] : NONE;
			a_arch[t[j]] = a_arch[t[j]] && aa;
		}
	}
}

/* Does a conditional jump (K) with A = a jump to jt? -1: not one we know. */
static int jumps_true(const struct sock_filter *in, uint32_t a)
{
	switch (in->code) {
	case BPF_JMP | BPF_JEQ | BPF_K: return a == in->k;
	case BPF_JMP | BPF_JGT | BPF_K: return a > in->k;
	case BPF_JMP | BPF_JGE | BPF_K: return a >= in->k;
	case BPF_JMP | BPF_JSET | BPF_K: return (a & in->k) != 0;
	default: return -1;
	}
}

/*
 * The guard for a known architecture arch (or NONE), into out (room for n):
 * its tests of the architecture decided. scratch and a_arch: for n.
 */
static void guard_for_arch(const struct sock_filter *guard, size_t n, uint64_t arch,
			   struct sock_filter *out, uint64_t *scratch, bool *a_arch)
{
	memcpy(out, guard, n * sizeof(*out));
	arch_known(out, n, arch, scratch, a_arch);
	for (size_t i = 0; i < n; i++) {
		int yes = scratch[i] < UNREACHED && a_arch[i] ? jumps_true(&out[i], (uint32_t)scratch[i]) : -1;

		if (yes >= 0)
			out[i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, yes ? out[i].jt : out[i].jf, 0, 0);
	}
}

/*
 * That guard (guard_for_arch) with its returns G made stacked(G, action),
 * simplified, into out (room for n); its length. uniform and keep are
 * scratch for n.
 */
static size_t guard_copy(const struct sock_filter *guard, size_t n, uint32_t action,
			 struct sock_filter *out, uint64_t *uniform, size_t *keep)
{
	size_t t[2], m = 0;

	memcpy(out, guard, n * sizeof(*out));
	/* backwards: every jump goes forward */
	for (size_t i = n; i-- > 0;) {
		size_t ns = successors(out, i, t);

		uniform[i] = NONE;
		if (is_ret(&out[i]))
			uniform[i] = out[i].k = stacked(out[i].k, action);
		else if ((ns == 1 && (BPF_CLASS(out[i].code) == BPF_JMP ||
				      out[i].code == (BPF_LD | BPF_W | BPF_ABS) ||
				      out[i].code == (BPF_ALU | BPF_AND | BPF_K))) ||
			 (ns == 2 && t[0] < n && t[1] < n && uniform[t[0]] == uniform[t[1]]))
			uniform[i] = t[0] < n ? uniform[t[0]] : NONE;
		if (uniform[i] != NONE)
			out[i] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, (uint32_t)uniform[i]);
	}
	/* what is reachable, renumbered: keep[i] is i's new index + 1, or 0 */
	memset(keep, 0, n * sizeof(*keep));
	keep[0] = 1;
	for (size_t i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		keep[i] = ++m;
		for (size_t j = 0, ns = successors(out, i, t); j < ns; j++)
			if (t[j] < n)
				keep[t[j]] = 1;
	}
	for (size_t i = 0, o = 0; i < n; i++) {
		size_t ns;

		if (!keep[i])
			continue;
		ns = successors(out, i, t);
		out[o] = out[i];
		if (ns && BPF_CLASS(out[i].code) == BPF_JMP && BPF_OP(out[i].code) == BPF_JA)
			out[o].k = (uint32_t)(keep[t[0]] - keep[i] - 1);
		else if (ns == 2) {
			out[o].jt = (uint8_t)(keep[t[0]] - keep[i] - 1);
			out[o].jf = (uint8_t)(keep[t[1]] - keep[i] - 1);
		}
		o++;
	}
	return m;
}

int gr_seccomp_add_guard(struct gr_seccomp *f, struct gr_error **err)
{
	_cleanup_free_ struct sock_filter *out = NULL, *folded = NULL;
	_cleanup_free_ uint64_t *uniform = NULL, *arch = NULL;
	_cleanup_free_ size_t *keep = NULL, *rets = NULL;
	_cleanup_free_ bool *done = NULL, *a_arch = NULL;
	size_t gn, n = f->ninsns, len = n, nrets = 0;
	uint64_t folded_for = UNREACHED;
	const struct sock_filter *guard = gr_seccomp_guard(&gn);

	if (f->has_guard)
		return 1;
	if (n == 0 || n > MAX_INSNS)
		return 0;
	/* the profile, the copies so far (at most MAX_INSNS in all), one more */
	out = malloc((MAX_INSNS + gn) * sizeof(*out));
	uniform = malloc(gn * sizeof(*uniform));
	keep = malloc(gn * sizeof(*keep));
	folded = malloc(gn * sizeof(*folded));
	rets = malloc(n * sizeof(*rets));
	done = calloc(n, sizeof(*done));
	arch = malloc(n * sizeof(*arch));
	a_arch = malloc((n > gn ? n : gn) * sizeof(*a_arch));
	if (!out || !uniform || !keep || !folded || !rets || !done || !arch || !a_arch)
		return gr_error_set(err, ENOMEM, "seccomp: out of memory");
	for (size_t i = 0; i < n; i++) {
		if (!is_ret(&f->insns[i]))
			continue;
		if (BPF_RVAL(f->insns[i].code) != BPF_K)
			return 0;
		rets[nrets++] = i;
	}
	memcpy(out, f->insns, n * sizeof(*out));
	arch_known(f->insns, n, NONE, arch, a_arch);
	for (size_t r = 0; r < nrets; r++) {
		size_t i = rets[r], m, at = len;
		uint32_t action = f->insns[i].k;
		uint64_t a = arch[i] == UNREACHED ? NONE : arch[i];

		if (done[r])
			continue;
		if (len > MAX_INSNS)
			return 0;
		if (a != folded_for)
			guard_for_arch(guard, gn, folded_for = a, folded, uniform, a_arch);
		m = guard_copy(folded, gn, action, out + len, uniform, keep);
		if (m > 1)
			len += m;
		/* every return of this value and architecture: a jump to the copy, or its one return */
		for (size_t q = r; q < nrets; q++) {
			size_t j = rets[q];

			if (f->insns[j].k != action || arch[j] != arch[i])
				continue;
			done[q] = true;
			out[j] = m > 1 ? (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, (uint32_t)(at - j - 1), 0, 0)
				       : out[at];
		}
	}
	if (len > MAX_INSNS)
		return 0;
	free(f->insns);
	f->insns = TAKE_PTR(out);
	f->ninsns = len;
	f->has_guard = true;
	/* the guard's own filter had no flags: a profile's SPEC_ALLOW must not
	 * take the speculative store bypass mitigation from the job, which
	 * that filter forced where the kernel ties it to seccomp */
	f->flags &= ~(unsigned)SECCOMP_FILTER_FLAG_SPEC_ALLOW;
	return 1;
}
