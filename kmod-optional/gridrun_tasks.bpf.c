/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gridrun_tasks.bpf.c - the task iterator of gridrun (site opt-in, see
 * README.md): gridrun-lsm pins it as DIR/tasks, and runtime/lease-iter.c
 * reads it for the tasks that may hold an id of a leased range. It is a
 * program of its own (not in gridrun_lsm.bpf.c) because it needs no BPF
 * LSM: `gridrun-lsm load-tasks` pins it alone on a kernel that has none or
 * refuses LSM programs. Task iterators exist since 5.8; CO-RE as the LSM.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "gridrun-lsm.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * One record per task that may hold an id of a leased range (gridrun-lsm.h).
 * Every pool lies at or above GR_LSM_TASK_MIN_ID (config.c refuses one
 * below), so a task with all eight ids below it holds no range and is left
 * out. The
 * ids are those /proc/PID/task/TID/status shows a host reader: the objective
 * credentials (real_cred), as kuids. The last call (no task) writes the end
 * record, which tells the reader its read is complete.
 *
 * The fields are read by plain loads through the task's BTF pointer (the
 * verifier makes them faulting loads, CO-RE relocated by vmlinux.h's
 * preserve_access_index), not by BPF_CORE_READ(), whose every field is a
 * bpf_probe_read_kernel() call: 14 helper calls a task cost ~0.9 us of the
 * ~1.2 us a task took (3100 tasks: a read of the pin 3.7 -> 0.85 ms, the
 * same as a program that does nothing; lease_iter_test checks there is no
 * such call).
 */
SEC("iter/task")
int gr_tasks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *t = ctx->task;
	struct gr_lsm_task rec = { .magic = GR_LSM_TASK };
	const struct cred *c;
	__u32 max = 0;

	if (!t) {
		struct task_struct *me = bpf_get_current_task_btf();

		rec.magic = GR_LSM_TASKS_END;
		rec.tgid = (__u32)ctx->meta->seq_num;
		rec.pid = me->thread_pid->level;
		bpf_seq_write(seq, &rec, sizeof(rec));
		return 0;
	}
	c = t->real_cred;
	rec.ids[0] = c->uid.val;
	rec.ids[1] = c->euid.val;
	rec.ids[2] = c->suid.val;
	rec.ids[3] = c->fsuid.val;
	rec.ids[4] = c->gid.val;
	rec.ids[5] = c->egid.val;
	rec.ids[6] = c->sgid.val;
	rec.ids[7] = c->fsgid.val;
	for (int i = 0; i < 8; i++)
		if (rec.ids[i] > max)
			max = rec.ids[i];
	if (max < GR_LSM_TASK_MIN_ID)
		return 0;
	rec.tgid = t->tgid;
	rec.pid = t->pid;
	rec.exit_state = t->exit_state;
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
