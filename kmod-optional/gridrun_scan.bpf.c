/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gridrun_scan.bpf.c - the holder scan of a leased range in one program run
 * (site opt-in, see README.md): gridrun-lsm pins it as DIR/scan next to the
 * task iterator (gridrun_tasks.bpf.c), and runtime/lease-iter.c runs it by
 * BPF_PROG_TEST_RUN with a struct gr_lsm_scan (gridrun-lsm.h) as context.
 *
 * Why a second program: reading the pinned iter/task link costs the kernel a
 * PID lookup and a task reference per thread (task_seq_get_next:
 * find_ge_pid, get_pid_task, pid_nr_ns), most of a scan on a node of
 * thousands of threads, and it returns every task with a high id for user
 * space to filter. The open-coded task iterator (bpf_iter_task_*, 6.7 on)
 * follows the thread list under RCU instead, and the range is filtered here,
 * so only the holders' tgids come back. A kernel without those kfuncs
 * refuses this object at load; the loader then pins the iterator alone and
 * the reader uses it (Debian's 6.1).
 *
 * The ids are the objective credentials (real_cred), as the iterator and
 * /proc/PID/task/TID/status give them; a task that has exited (exit_state)
 * holds nothing. Threads of a process come one after another, so a tgid is
 * written once a run; the reader still sorts and dedups.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "gridrun-lsm.h"

char LICENSE[] SEC("license") = "GPL";

extern int bpf_iter_task_new(struct bpf_iter_task *it, struct task_struct *task, unsigned int flags) __ksym;
extern struct task_struct *bpf_iter_task_next(struct bpf_iter_task *it) __ksym;
extern void bpf_iter_task_destroy(struct bpf_iter_task *it) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

static __always_inline bool in(__u32 v, __u32 lo, __u32 hi)
{
	return v >= lo && v < hi;
}

/*
 * The verifier lets a program write its context only at a constant offset
 * from the context's own register (clang would merge the copies of a switch
 * into one through a computed pointer, which it refuses), so the tgids
 * gather in a page on the stack, and a full page goes to its place in
 * ctx->tgids by stores written out in asm, each at a constant offset. It is
 * a global function, verified once on its own: inlined, its sixteen ways
 * would multiply the states of the loop that calls it.
 */
#define PAGE 16
#define PAGES (GR_LSM_SCAN_MAX / PAGE)
#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))

struct gr_page {
	__u32 tgid[PAGE];
};

__noinline int gr_scan_put(struct gr_lsm_scan *ctx __arg_ctx, __u32 page, const struct gr_page *buf)
{
	if (!buf)
		return 0;
#pragma unroll
	for (int p = 0; p < PAGES; p++) {
		if (p != page)
			continue;
#pragma unroll
		for (int i = 0; i < PAGE; i++)
			asm volatile("*(u32 *)(%[c] + %[o]) = %[v]"
				     :: [c] "r"(ctx), [o] "i"(__builtin_offsetof(struct gr_lsm_scan, tgids) + (p * PAGE + i) * 4),
					[v] "r"(buf->tgid[i]) : "memory");
	}
	return 0;
}

SEC("syscall")
int gr_scan(struct gr_lsm_scan *ctx)
{
	struct task_struct *me = bpf_get_current_task_btf(), *t;
	/*
	 * n starts from the context (0, the reader's), not from a constant, and
	 * the place in the page is k, not n % PAGE: a count the verifier knows,
	 * or one that indexes the stack, is precise, and it would then walk the
	 * loop once for every value of it instead of seeing the loop's state
	 * repeat. k takes 16 values, n stays unknown to it.
	 */
	__u32 lo = ctx->lo, hi = ctx->hi, n = ctx->n, k = 0, visited = 0, full = 0, last = 0;
	struct bpf_iter_task it;
	struct gr_page buf = {};

	bpf_rcu_read_lock();
	bpf_iter_task_new(&it, NULL, BPF_TASK_ITER_ALL_THREADS);
	while ((t = bpf_iter_task_next(&it))) {
		const struct cred *c = t->real_cred;
		__u32 tgid;

		visited++;
		if (!c || t->exit_state)
			continue;
		if (!(in(c->uid.val, lo, hi) || in(c->euid.val, lo, hi) || in(c->suid.val, lo, hi) ||
		      in(c->fsuid.val, lo, hi) || in(c->gid.val, lo, hi) || in(c->egid.val, lo, hi) ||
		      in(c->sgid.val, lo, hi) || in(c->fsgid.val, lo, hi)))
			continue;
		tgid = t->tgid;
		if (tgid == last)   /* tgid 0 (idle) is no thread of the list */
			continue;
		if (n >= GR_LSM_SCAN_MAX) {
			full = 1;
			continue;
		}
		buf.tgid[k & (PAGE - 1)] = tgid;
		if (k == PAGE - 1) {
			gr_scan_put(ctx, n / PAGE, &buf);
			k = 0;
		} else {
			k++;
		}
		last = tgid;
		n++;
	}
	bpf_iter_task_destroy(&it);
	bpf_rcu_read_unlock();
	if (k)
		gr_scan_put(ctx, n / PAGE, &buf);
	ctx->n = n;
	ctx->full = full;
	ctx->visited = visited;
	ctx->level = me->thread_pid->level;
	ctx->magic = GR_LSM_SCAN_DONE;
	return 0;
}
