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

#endif
