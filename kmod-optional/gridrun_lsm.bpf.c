/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gridrun_lsm.bpf.c - the BPF LSM of gridrun (site opt-in, see README.md).
 *
 * Every program returns 0 for a task that is in no registered job and
 * touches no registered job: a map miss allows. What it refuses (-EPERM),
 * counting each refusal per job and hook in "denials":
 *   task_fix_setuid/setgid  a task outside a job taking an id of the job's
 *                           leased range in the job's user namespace
 *                           (the pilot's setns + setresuid, threats V3);
 *   task_kill, ptrace_access_check, ptrace_traceme
 *                           a signal or a ptrace between two jobs (also in
 *                           one-uid mode, where uids do not separate them);
 *   userns_create, sb_mount, move_mount, bpf
 *                           from an armed job task, whatever seccomp allowed;
 *   path_chmod, path_mknod, path_mkdir
 *                           a set-id bit asked for by an armed job task:
 *                           chmod/fchmod(at), open(O_CREAT), mknod, mkdir
 *                           (threat S34; on any filesystem, sandbox or not);
 *   unix_stream_connect, unix_may_send
 *                           an armed job task reaching a unix socket that
 *                           another job created (abstract names are shared
 *                           by all jobs on the host network, threat S19);
 *                           sockets of the host and of its own job stay open;
 *   path_mknod, path_mkdir, path_symlink, path_link
 *                           an inode named with a leased range's ids (the
 *                           task's fsuid or fsgid in a registered job's
 *                           range) anywhere but the job's own places: a
 *                           filesystem of the job's user namespace (its
 *                           tmpfs mounts), an idmapped mount (the sandbox
 *                           handed over by idmap), or a mount whose root the
 *                           range owns (the sandbox handed over by chown).
 * Needs CONFIG_SECURITY_PATH for the path_* hooks (Debian and EL kernels
 * have it: AppArmor and TOMOYO use them).
 * CO-RE: vmlinux.h comes from the build host's BTF; libbpf relocates the
 * field offsets against the target kernel's BTF at load time. All hooks
 * used exist in 6.1 (userns_create is the youngest, 6.1).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "gridrun-lsm.h"

#define EPERM 1
#define ENOMEM 12
#define S_ISUID 04000
#define S_ISGID 02000

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GR_LSM_MAX_JOBS);
	__type(key, __u64);
	__type(value, struct gr_lsm_job);
} jobs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct gr_lsm_tag);
} tags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GR_LSM_MAX_JOBS * GR_LSM_NHOOKS);
	__type(key, struct gr_lsm_denial_key);
	__type(value, __u64);
} denials SEC(".maps");

static __always_inline int deny(__u64 job, __u32 hook)
{
	struct gr_lsm_denial_key k = { .job = job, .hook = hook };
	__u64 one = 1, *n = bpf_map_lookup_elem(&denials, &k);

	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&denials, &k, &one, BPF_NOEXIST);
	return -EPERM;
}

static __always_inline struct gr_lsm_tag *tag_of(struct task_struct *t)
{
	return bpf_task_storage_get(&tags, t, 0, 0);
}

/* an armed task of a job that is still registered: the job's key, else 0 */
static __always_inline __u64 armed_job(void)
{
	struct gr_lsm_tag *tag = tag_of(bpf_get_current_task_btf());

	if (!tag || !tag->armed || !bpf_map_lookup_elem(&jobs, &tag->job))
		return 0;
	return tag->job;
}

SEC("lsm/task_alloc")
int BPF_PROG(gr_task_alloc, struct task_struct *task, unsigned long clone_flags)
{
	struct gr_lsm_tag *parent = tag_of(bpf_get_current_task_btf()), *child;

	if (!parent)
		return 0;
	child = bpf_task_storage_get(&tags, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	/* a job's fork that cannot carry the tag fails: no untagged job task */
	if (!child)
		return -ENOMEM;
	child->job = parent->job;
	child->armed = parent->armed;
	return 0;
}

/* The tag arms at the job's first exec: before it, init runs gridrun's own
 * setup (its mount tree, set*id to the job's identity). */
SEC("lsm/bprm_committed_creds")
int BPF_PROG(gr_bprm_committed, struct linux_binprm *bprm)
{
	struct gr_lsm_tag *tag = tag_of(bpf_get_current_task_btf());

	if (tag)
		tag->armed = 1;
	return 0;
}

static __always_inline bool in_range(__u32 id, __u32 first, __u32 count)
{
	return count && id - first < count;
}

/* a task not of the job whose user namespace the new creds are in */
static __always_inline __u64 foreign_job(struct cred *new, struct gr_lsm_job **job)
{
	__u64 key = BPF_CORE_READ(new, user_ns, ns.inum);
	struct gr_lsm_tag *tag;

	*job = bpf_map_lookup_elem(&jobs, &key);
	if (!*job)
		return 0;
	tag = tag_of(bpf_get_current_task_btf());
	if (tag && tag->job == key)
		return 0;
	return key;
}

SEC("lsm/task_fix_setuid")
int BPF_PROG(gr_fix_setuid, struct cred *new, const struct cred *old, int flags)
{
	struct gr_lsm_job *job;
	__u64 key = foreign_job(new, &job);

	if (!key)
		return 0;
	if (in_range(new->uid.val, job->uid_first, job->uid_count) ||
	    in_range(new->euid.val, job->uid_first, job->uid_count) ||
	    in_range(new->suid.val, job->uid_first, job->uid_count) ||
	    in_range(new->fsuid.val, job->uid_first, job->uid_count))
		return deny(key, GR_LSM_SETUID);
	return 0;
}

SEC("lsm/task_fix_setgid")
int BPF_PROG(gr_fix_setgid, struct cred *new, const struct cred *old, int flags)
{
	struct gr_lsm_job *job;
	__u64 key = foreign_job(new, &job);

	if (!key)
		return 0;
	if (in_range(new->gid.val, job->gid_first, job->gid_count) ||
	    in_range(new->egid.val, job->gid_first, job->gid_count) ||
	    in_range(new->sgid.val, job->gid_first, job->gid_count) ||
	    in_range(new->fsgid.val, job->gid_first, job->gid_count))
		return deny(key, GR_LSM_SETGID);
	return 0;
}

/* two tasks of two different jobs: the caller's job, else 0 */
static __always_inline __u64 across_jobs(struct task_struct *other)
{
	struct gr_lsm_tag *me = tag_of(bpf_get_current_task_btf()), *them;

	if (!me)
		return 0;
	them = tag_of(other);
	if (!them || them->job == me->job)
		return 0;
	return me->job;
}

SEC("lsm/task_kill")
int BPF_PROG(gr_task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred)
{
	__u64 key;

	/* cred set: SIGIO/SIGURG on behalf of a file owner, not current's act */
	if (cred)
		return 0;
	key = across_jobs(p);
	return key ? deny(key, GR_LSM_KILL) : 0;
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(gr_ptrace_access, struct task_struct *child, unsigned int mode)
{
	__u64 key = across_jobs(child);

	return key ? deny(key, GR_LSM_PTRACE) : 0;
}

SEC("lsm/ptrace_traceme")
int BPF_PROG(gr_ptrace_traceme, struct task_struct *parent)
{
	__u64 key = across_jobs(parent);

	return key ? deny(key, GR_LSM_PTRACE) : 0;
}

SEC("lsm/userns_create")
int BPF_PROG(gr_userns_create, const struct cred *cred)
{
	__u64 key = armed_job();

	return key ? deny(key, GR_LSM_USERNS) : 0;
}

SEC("lsm/sb_mount")
int BPF_PROG(gr_sb_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data)
{
	__u64 key = armed_job();

	return key ? deny(key, GR_LSM_MOUNT) : 0;
}

SEC("lsm/move_mount")
int BPF_PROG(gr_move_mount, const struct path *from_path, const struct path *to_path)
{
	__u64 key = armed_job();

	return key ? deny(key, GR_LSM_MOVE_MOUNT) : 0;
}

SEC("lsm/bpf")
int BPF_PROG(gr_bpf, int cmd, union bpf_attr *attr, unsigned int size)
{
	__u64 key = armed_job();

	return key ? deny(key, GR_LSM_BPF) : 0;
}

/* A set-id bit in a mode an armed job task asks for. chmod(2) and the
 * creating calls are the only ways to a new set-id inode: chown and
 * write clear the bits, and rename or link only move an inode the job
 * could not have made set-id. Checked before DAC, so the job's other
 * errors do not mask the count. */
static __always_inline int setid_mode(umode_t mode, __u32 hook)
{
	__u64 key;

	if (!(mode & (S_ISUID | S_ISGID)))
		return 0;
	key = armed_job();
	return key ? deny(key, hook) : 0;
}

SEC("lsm/path_chmod")
int BPF_PROG(gr_path_chmod, const struct path *path, umode_t mode)
{
	return setid_mode(mode, GR_LSM_CHMOD);
}

/*
 * Where a task with a leased range's ids may name a new inode (S33: a
 * file with the range's ids outlives the job and belongs to the range's
 * next lease). The job whose range it is: the task's user namespace's
 * (a task inside the job, or one that entered its namespace), and only if
 * its fsuid or fsgid, the ids a new inode gets, is in that job's range. (No
 * task with an id of the range is anywhere else: the job nests no user
 * namespace once armed, whoever entered it cannot create one, its ids being
 * unmapped there, nor take the range's ids, task_fix_setuid above.) Its places, decided by the mount the name is made on
 * (the path_* hooks are the ones that know the mount):
 *  - a filesystem the job's user namespace owns: its /tmp, /dev/shm, spec
 *    tmpfs mounts (a job mounts nothing once armed, sb_mount above);
 *  - an idmapped mount: only root makes one of a host filesystem, and
 *    gridrun's is the sandbox's hand-over; what is created there gets the
 *    mount's mapped ids on disk (the sandbox owner's), not the range's;
 *  - a mount whose root directory the range owns on disk: the sandbox
 *    handed over by chown (a bind of any other directory the range owns
 *    could only hold what the range made there, which this rule refuses).
 * Anything else - a read-write bind of a host directory, a host directory
 * reached through a passed file descriptor - is refused. The job's mounts
 * are fixed before its first exec, so the mount tells where the name is.
 */
#define PROC_USER_INIT_INO 0xEFFFFFFDU

struct vfsmount___v61 {   /* 6.1-6.2: the idmapping is a user namespace */
	struct user_namespace *mnt_userns;
} __attribute__((preserve_access_index));

static __always_inline __u64 range_job(struct gr_lsm_job **job)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 key = BPF_CORE_READ(t, cred, user_ns, ns.inum);
	__u32 fsuid = BPF_CORE_READ(t, cred, fsuid.val), fsgid = BPF_CORE_READ(t, cred, fsgid.val);

	*job = bpf_map_lookup_elem(&jobs, &key);
	if (!*job)
		return 0;
	if (!in_range(fsuid, (*job)->uid_first, (*job)->uid_count) &&
	    !in_range(fsgid, (*job)->gid_first, (*job)->gid_count))
		return 0;
	return key;
}

static __always_inline bool idmapped(struct vfsmount *mnt)
{
	if (bpf_core_field_exists(struct vfsmount___v61, mnt_userns)) {
		struct vfsmount___v61 *m = (void *)mnt;

		return BPF_CORE_READ(m, mnt_userns, ns.inum) != PROC_USER_INIT_INO;
	}
	/* 6.5+: nop_mnt_idmap (not idmapped) has no extent */
	if (bpf_core_field_exists(struct mnt_idmap, uid_map))
		return BPF_CORE_READ(mnt, mnt_idmap, uid_map.nr_extents) != 0;
	return false;
}

static __always_inline int job_place(const struct path *dir, __u32 hook)
{
	struct gr_lsm_job *job = NULL;
	__u64 key = range_job(&job);
	struct vfsmount *mnt;
	__u32 owner;

	if (!key || !job)
		return 0;
	mnt = BPF_CORE_READ(dir, mnt);
	if (BPF_CORE_READ(mnt, mnt_sb, s_user_ns, ns.inum) == key || idmapped(mnt))
		return 0;
	owner = BPF_CORE_READ(mnt, mnt_root, d_inode, i_uid.val);
	if (in_range(owner, job->uid_first, job->uid_count))
		return 0;
	return deny(key, hook);
}

SEC("lsm/path_mknod")
int BPF_PROG(gr_path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode,
	     unsigned int dev)
{
	return setid_mode(mode, GR_LSM_MKNOD) ?: job_place(dir, GR_LSM_PLACE_MKNOD);
}

SEC("lsm/path_mkdir")
int BPF_PROG(gr_path_mkdir, const struct path *dir, struct dentry *dentry, umode_t mode)
{
	return setid_mode(mode, GR_LSM_MKDIR) ?: job_place(dir, GR_LSM_PLACE_MKDIR);
}

SEC("lsm/path_symlink")
int BPF_PROG(gr_path_symlink, const struct path *dir, struct dentry *dentry, const char *old_name)
{
	return job_place(dir, GR_LSM_PLACE_SYMLINK);
}

SEC("lsm/path_link")
int BPF_PROG(gr_path_link, struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry)
{
	return job_place(new_dir, GR_LSM_PLACE_LINK);
}

/* The job that created a socket: the user namespace of the creds its
 * file was opened with (every job has its own, and cannot nest one),
 * when that is a registered job; else 0. Sockets carry no task tag, and
 * their creator may be gone while the socket lives on. */
static __always_inline __u64 sock_job(struct sock *sk)
{
	__u64 key = BPF_CORE_READ(sk, sk_socket, file, f_cred, user_ns, ns.inum);

	return key && bpf_map_lookup_elem(&jobs, &key) ? key : 0;
}

static __always_inline int unix_peer(struct sock *other, __u32 hook)
{
	__u64 me = armed_job(), them;

	if (!me)
		return 0;
	them = sock_job(other);
	return them && them != me ? deny(me, hook) : 0;
}

SEC("lsm/unix_stream_connect")
int BPF_PROG(gr_unix_connect, struct sock *sock, struct sock *other, struct sock *newsk)
{
	return unix_peer(other, GR_LSM_UNIX_CONNECT);
}

SEC("lsm/unix_may_send")
int BPF_PROG(gr_unix_send, struct socket *sock, struct socket *other)
{
	return unix_peer(BPF_CORE_READ(other, sk), GR_LSM_UNIX_SEND);
}
