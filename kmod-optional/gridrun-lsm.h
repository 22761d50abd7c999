/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gridrun-lsm.h - the layout shared by the BPF LSM programs
 * (gridrun_lsm.bpf.c), their loader (gridrun-lsm.c) and gridrun's
 * registration (runtime/lsm.c). Plain fixed-width types only: it is
 * included by the BPF side (vmlinux.h) and by user space (<stdint.h>).
 *
 * A job is keyed by the inode number of its user namespace. Its tasks carry
 * a tag in task storage: gridrun sets it on the job's init (by pidfd) before
 * init forks anything, and task_alloc copies it to every child. A tag is
 * "armed" from the first exec on, so gridrun's own setup in init (mounts,
 * set*id to the job's identity) runs before any rule applies to the job.
 */
#ifndef GRIDRUN_LSM_LAYOUT_H
#define GRIDRUN_LSM_LAYOUT_H

#define GR_LSM_MAX_JOBS 4096

/* map "jobs": userns inum -> what the job was given */
struct gr_lsm_job {
	__u32 uid_first, uid_count;   /* kuids of the leased range (count 0: one-uid mode) */
	__u32 gid_first, gid_count;
};

/* map "tags" (task storage): the job a task belongs to */
struct gr_lsm_tag {
	__u64 job;       /* userns inum */
	__u32 armed;     /* 1 after the task (or an ancestor in the job) exec'd */
	__u32 pad;
};

enum gr_lsm_hook {
	GR_LSM_SETUID,
	GR_LSM_SETGID,
	GR_LSM_KILL,
	GR_LSM_PTRACE,
	GR_LSM_USERNS,
	GR_LSM_MOUNT,
	GR_LSM_MOVE_MOUNT,
	GR_LSM_BPF,
	GR_LSM_CHMOD,        /* path_chmod with a set-id bit */
	GR_LSM_MKNOD,        /* path_mknod (mknod, open O_CREAT) with a set-id bit */
	GR_LSM_MKDIR,        /* path_mkdir with a set-id bit */
	GR_LSM_UNIX_CONNECT, /* unix_stream_connect to another job's socket */
	GR_LSM_UNIX_SEND,    /* unix_may_send to another job's socket */
	GR_LSM_PLACE_MKNOD,  /* path_mknod (mknod, open O_CREAT, bind) with the range's ids outside the job's places */
	GR_LSM_PLACE_MKDIR,  /* path_mkdir, the same */
	GR_LSM_PLACE_SYMLINK,/* path_symlink, the same */
	GR_LSM_PLACE_LINK,   /* path_link, the same */
	GR_LSM_NHOOKS,
};

/* map "denials": (job, hook) -> count */
struct gr_lsm_denial_key {
	__u64 job;
	__u32 hook;
	__u32 pad;
};

/*
 * The pinned task iterator (DIR/tasks, gr_tasks in gridrun_lsm.bpf.c):
 * open(2) + read(2) of the pin runs it over every task (thread) of the
 * reader's PID namespace and returns these records, one per task whose
 * objective credentials (task->real_cred, host kuids/kgids) have any id at
 * or above GR_LSM_TASK_MIN_ID, then one GR_LSM_TASKS_END record: its tgid
 * is the number of tasks visited, its pid the reader's PID namespace level.
 * A read without the end record is incomplete (runtime/lease-iter.c).
 */
#define GR_LSM_TASK_MIN_ID 65536u   /* config.c refuses a pool below it */
#define GR_LSM_TASK 0x6b736174u      /* "task" */
#define GR_LSM_TASKS_END 0x21646e65u /* "end!" */

struct gr_lsm_task {
	__u32 magic;       /* GR_LSM_TASK or GR_LSM_TASKS_END */
	__u32 tgid, pid;   /* as the init PID namespace numbers them */
	__u32 exit_state;  /* task->exit_state: non-zero for a zombie or a dead task */
	__u32 ids[8];      /* uid, euid, suid, fsuid, gid, egid, sgid, fsgid */
};

/*
 * The pinned holder scan (DIR/scan, gr_scan in gridrun_scan.bpf.c, a
 * BPF_PROG_TYPE_SYSCALL program; kernels with the open-coded task iterator,
 * 6.7 on): runtime/lease-iter.c runs it with BPF_PROG_TEST_RUN, this struct
 * as its context. In: the range [lo, hi) of host kuids/kgids. The program
 * walks every thread of the node under RCU and writes the tgid of each live
 * task (exit_state 0) with any of its eight objective ids in the range, once
 * a run of threads of one process; out: n tgids, visited, the caller's PID
 * namespace level, and full when more holders were found than fit (the
 * answer is then incomplete). magic is GR_LSM_SCAN_DONE when it ran to the
 * end: the kernel copies the context back even for a program that stopped
 * early, so a reader trusts nothing without it.
 */
#define GR_LSM_SCAN_MAX 1024
#define GR_LSM_SCAN_DONE 0x6e616373u /* "scan" */

struct gr_lsm_scan {
	__u32 lo, hi;      /* in */
	__u32 magic;       /* out: GR_LSM_SCAN_DONE (in: 0) */
	__u32 visited;     /* out: threads visited */
	__u32 level;       /* out: the caller's PID namespace level */
	__u32 full;        /* out: 1 when holders were left out for want of room */
	__u32 n;           /* out: tgids[0..n) written */
	__u32 pad;
	__u32 tgids[GR_LSM_SCAN_MAX];
};

#endif
