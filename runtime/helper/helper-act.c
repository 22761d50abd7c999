/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helper-act.c - gridrun-helper's steps (helper.h). Each one is safe to
 * offer an unprivileged caller because:
 *  - lease: the account is the caller's real uid's own name, the pool must
 *    allow it (site configuration, root's file at a build-time path), the
 *    holder is the caller itself, and lease.c never hands out a taken range.
 *    Its sandbox hand-over: only a directory the caller owns (fd 3, opened
 *    by the caller, so one it can reach, checked before the lease is taken),
 *    only to the lease just taken, only the caller's uid and primary gid
 *    (never 0: the caller is not root, and no pool holds an account's ids);
 *    the walk's rules are handover.h's. A hand-over that fails releases the
 *    lease it took, as its caller would.
 *  - map: it writes only the range the caller itself holds, onto the
 *    caller's own child in a user namespace the caller created; the range
 *    comes from the lease file, is checked against the pool's layout and
 *    again by the map writer (count > 0, no host uid 0, nothing past
 *    4294967294), and the kernel checks the writer (euid = the caller) owns
 *    the target's user namespace. It notes that namespace's nsfs file handle
 *    in the lease (release then waits for the namespace's end), one per
 *    lease, and checks after the write that the noted one got the map.
 *  - lease-map: exactly lease and then map, in one run: the target passes
 *    every check of map (check_target()) and the sandbox every check of
 *    lease before anything is leased; the lease is the caller's because
 *    this run took it for the caller, and its first write already notes
 *    the target's namespace (map notes it before its write too); the maps
 *    are written and checked with map's two effective capabilities, as map
 *    does. Any failure after the lease releases it (as a hand-over failure
 *    does), so the caller never holds a lease it was refused. Its last step
 *    is lsm-add's, on the lease it just took (the target checked as above).
 *  - release: only of a lease the caller holds. It SIGKILLs only processes
 *    that hold an id of that range (by pidfd, ids re-checked: no pid reuse)
 *    and walks back only the sandbox the helper itself noted in the lease
 *    (lease-reclaim.c); it drops the BPF LSM's entries of that range,
 *    none of whose processes is left, and prints their denials (what
 *    lsm-del does, after the same kill), while the range is still the
 *    caller's lease (gr_lease_hold(): never the next job's entries). With
 *    "sandbox", the walk back through fd 3 first: only ids of the
 *    caller's own lease become the caller's, after the processes holding
 *    them are killed.
 *  - gc: lease.c's gc, which only ever reclaims dead holders' leases and
 *    ends quarantines no task needs; it settles them as release does.
 *  - lsm-add: it only ever adds restrictions, and only to the caller's own
 *    job: the target is checked as for map (the caller's child, its uid, a
 *    user namespace of its own, held by the pidfd), so the key (that
 *    namespace's inode number, unique among live namespaces) cannot be
 *    another job's, and the range written is the caller's own lease. The
 *    entries it drops first are those of that same lease, and only when
 *    no process holds an id of the range (a dead supervisor's; a live job's
 *    entry makes it refuse), so a caller holds at most one entry per lease
 *    and cannot fill the map (GR_LSM_MAX_JOBS) that other jobs need.
 *  - lsm-del: it lifts the LSM's rules only from the caller's own lease's
 *    range, and only after every process holding an id of it is killed
 *    (as release does): a pilot cannot unregister its job and then take
 *    the range's ids behind it (S33). lsm-del, lsm-add and release kill
 *    and drop only while they hold the lease (gr_lease_hold()): a lease
 *    read, released behind the helper's back and taken again by the next
 *    job, would make them kill and unregister that job.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fsstat.h"
#include "handover.h"
#include "helper-int.h"
#include "lsm.h"
#include "userns.h"
#include "util.h"

struct step {
	const struct gr_helper_caller *c;
	const struct gr_helper_req *req;
	struct gr_config *cfg;
	const struct gr_pool *pool;
	char account[GR_NAME_MAX + 1];
};

static int load_pool(struct step *s, struct gr_error **err)
{
	struct passwd *pw = getpwuid(s->c->uid);
	int r, r2;

	if (!pw || !gr_config_name_ok(pw->pw_name))
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EPERM,
				      "uid %u has no account name usable for a pool", (unsigned)s->c->uid);
	snprintf(s->account, sizeof(s->account), "%s", pw->pw_name);
	/* as root: config.c then insists the file is root's and not writable by others */
	r = gr_helper_as_root(true, s->c, err);
	if (r < 0)
		return r;
	r = gr_config_load(GR_CONFIG_DEFAULT, 0, &s->cfg, err);
	r2 = gr_helper_as_root(false, s->c, r < 0 ? NULL : err);
	if (r < 0) {
		(*err)->code = GR_HELPER_EXIT_FAILED;
		return r;
	}
	if (r2 < 0)
		return r2;
	r = gr_config_pool_for(s->cfg, s->req->pool, s->account, &s->pool, err);
	if (r < 0)
		(*err)->code = GR_HELPER_EXIT_REFUSED;
	return r;
}

static int boot_id(char *buf, size_t size)
{
	_cleanup_close_ int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? gr_read_full(fd, buf, size - 1) : -1;

	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The lease of req->index, which must be the caller's and fit the pool. */
static int callers_lease(struct step *s, struct gr_lease *l, struct gr_error **err)
{
	const struct gr_pool *p = s->pool;
	unsigned index = s->req->index;
	char boot[40];
	int r, r2;

	if (index >= p->ranges)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, ERANGE, "pool %s has no range %u (it has %u)",
				      p->name, index, p->ranges);
	r = gr_helper_as_root(true, s->c, err);
	if (r < 0)
		return r;
	r = gr_lease_read(p, index, l, err);
	r2 = gr_helper_as_root(false, s->c, r < 0 ? NULL : err);
	if (r < 0) {
		(*err)->code = GR_HELPER_EXIT_REFUSED;
		return r;
	}
	if (r2 < 0)
		return r2;
	if (boot_id(boot, sizeof(boot)) < 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, EIO, "cannot read the boot id");
	if (l->holder_pid != s->c->pid || l->holder_start != s->c->start || strcmp(l->boot_id, boot) ||
	    strcmp(l->account, s->account))
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EPERM,
				      "pool %s: range %u is not leased by the caller (pid %d)", p->name,
				      index, (int)s->c->pid);
	if (l->index != index || l->count != p->range_size ||
	    (unsigned long long)l->first != (unsigned long long)p->first_uid + (unsigned long long)index * p->range_size)
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, EINVAL,
				      "pool %s: the lease of range %u does not match the pool's layout",
				      p->name, index);
	return 0;
}

/* fd 3 is a pidfd of pid (and so, while it lives, pid is not a reused one). */
static int pidfd_is(pid_t pid, struct gr_error **err)
{
	_cleanup_free_ char *info = NULL;
	const char *p;
	char link[64], *end;
	long got;
	ssize_t n;

	n = readlink("/proc/self/fd/3", link, sizeof(link) - 1);
	if (n < 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_USAGE, EBADF, "fd 3: no pidfd of the target");
	link[n] = '\0';
	if (strcmp(link, "anon_inode:[pidfd]"))
		return gr_helper_fail(err, GR_HELPER_EXIT_USAGE, EBADF, "fd 3 is not a pidfd");
	/* "Pid:\t-1" once the process is gone (reaped) */
	if (gr_read_file_at(AT_FDCWD, "/proc/self/fdinfo/3", &info, NULL, NULL) < 0 ||
	    !(p = strstr(info, "\nPid:\t")))
		return gr_helper_fail(err, GR_HELPER_EXIT_USAGE, EBADF, "fd 3 is not a pidfd");
	errno = 0;
	got = strtol(p + 6, &end, 10);
	if (errno || end == p + 6 || *end != '\n' || got <= 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, ESRCH, "the process of fd 3 is gone");
	if (got != (long)pid)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, ESRCH,
				      "fd 3 is the pidfd of pid %ld, not of pid %d", got, (int)pid);
	return 0;
}

/* pid is the caller's own child, with the caller's uid, in a user namespace
 * of its own, and it is the process of the pidfd (fd 3). */
static int check_target(const struct gr_helper_caller *c, pid_t pid, struct gr_error **err)
{
	_cleanup_close_ int procfd = -1;
	_cleanup_free_ char *status = NULL;
	unsigned long ppid, uid[4];
	struct stat mine, its;
	char path[64];
	int r;

	r = pidfd_is(pid, err);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	procfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (procfd < 0 || gr_read_file_at(procfd, "status", &status, NULL, NULL) < 0 ||
	    gr_helper_status_field(status, "PPid:", &ppid, 1) < 0 ||
	    gr_helper_status_field(status, "Uid:", uid, 4) < 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, ESRCH, "pid %d is gone", (int)pid);
	if (ppid != (unsigned long)c->pid)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EPERM,
				      "pid %d is not the caller's child", (int)pid);
	for (int i = 0; i < 4; i++)
		if (uid[i] != c->uid)
			return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EPERM,
					      "pid %d does not run as the caller's uid %u", (int)pid,
					      (unsigned)c->uid);
	if (stat("/proc/self/ns/user", &mine) < 0 || fstatat(procfd, "ns/user", &its, 0) < 0 ||
	    (mine.st_dev == its.st_dev && mine.st_ino == its.st_ino))
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EPERM,
				      "pid %d is not in a user namespace of its own", (int)pid);
	/* /proc/PID was opened while the pidfd existed: alive now, it was that process */
	if (syscall(SYS_pidfd_send_signal, GR_HELPER_PIDFD, 0, NULL, 0) < 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, ESRCH, "the process of fd 3 is gone");
	return 0;
}

/* The sandbox directory's fd: 4 for lease-map (fd 3 is its pidfd), else 3 */
static int sbxfd(const struct step *s)
{
	return s->req->op == GR_HELPER_LEASE_MAP ? GR_HELPER_SBXFD : GR_HELPER_PIDFD;
}

/* fd 3 (4): a directory; owned by the caller (or, going back, by it or the range) */
static int sandbox_fd(struct step *s, const struct gr_lease *l, bool back, struct gr_error **err)
{
	struct gr_fs_here here;
	struct stat st;

	/* before any stat of it: its FUSE daemon could keep that from ending (S36) */
	if (gr_fs_here_of(sbxfd(s), &here) == 0 && here.fuse)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EMEDIUMTYPE,
				      "the sandbox (fd %d) is on a FUSE file system (%s), whose daemon answers "
				      "for every owner: not handed over", sbxfd(s), here.type);
	if (fstat(sbxfd(s), &st) < 0 || !S_ISDIR(st.st_mode))
		return gr_helper_fail(err, GR_HELPER_EXIT_USAGE, EBADF, "fd %d: no sandbox directory", sbxfd(s));
	if (st.st_uid != s->c->uid &&
	    !(back && l && st.st_uid >= l->first && st.st_uid - l->first < l->count))
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EPERM,
				      "the sandbox (fd %d) is owned by uid %u, not by the caller", sbxfd(s),
				      (unsigned)st.st_uid);
	return 0;
}

/*
 * The way for fd 3: the idmap maps only the caller's primary group: a
 * sandbox of another group would show an unmapped group in the job, and the
 * VFS refuses every write to an inode with an unmapped id (EACCES). chown
 * hands the owner over and leaves the group, so auto takes it; idmap refuses.
 */
static int sandbox_way(struct step *s, enum gr_handover_way *way, struct gr_error **err)
{
	struct stat st;

	*way = s->cfg->handover;
	if (*way != GR_HANDOVER_CHOWN && fstat(sbxfd(s), &st) == 0 && st.st_gid != s->c->gid) {
		if (*way == GR_HANDOVER_IDMAP)
			return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EACCES,
					      "the sandbox's group (gid %u) is not the account's primary group "
					      "(gid %u), which the idmapped sandbox would need to be writable: "
					      "chgrp it, or set sandbox_handover = chown",
					      (unsigned)st.st_gid, (unsigned)s->c->gid);
		*way = GR_HANDOVER_CHOWN;
	}
	return 0;
}

/* fd 3 to the range of l, just leased (as euid 0 for the lease file's note) */
static int hand_over(struct step *s, const struct gr_lease *l, enum gr_handover_way way, int *mntfd,
		     struct gr_handover_count *n, struct gr_error **err)
{
	struct gr_handover h;
	int r, r2;

	r = gr_handover_plan(s->c->uid, s->c->gid, l->first, l->count, s->req->uid, s->req->gid, &h, err);
	if (r < 0) {
		(*err)->code = GR_HELPER_EXIT_USAGE;
		return r;
	}
	if (r > 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EPERM, "the caller's ids are in the range");
	r = gr_helper_as_root(true, s->c, err);
	if (r < 0)
		return r;
	r = gr_job_handover_start(sbxfd(s), &h, way, s->pool, l, mntfd, n, err);
	r2 = gr_helper_as_root(false, s->c, r < 0 ? NULL : err);
	if (r < 0) {
		(*err)->code = GR_HELPER_EXIT_FAILED;
		return r;
	}
	if (r2 < 0 && *mntfd >= 0)
		close(TAKE_FD(*mntfd));
	return r2;
}

/* A step after the lease failed: the caller gets no lease. It goes as its
 * release would (walking back what the hand-over noted); one that cannot
 * go is gc's. */
static void drop_lease(struct step *s, const struct gr_lease *l)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;

	if (gr_helper_as_root(true, s->c, &e) >= 0) {
		(void)gr_lease_release(s->pool, l, &e);
		(void)gr_helper_as_root(false, s->c, NULL);
	}
}

/* lease and lease-map: the sandbox checked before anything is leased, a
 * range leased for the caller (with userns noted from the start, if not
 * NULL), the sandbox handed over to it; *mntfd the idmapped mount or -1 */
static int take_lease(struct step *s, const char *userns, struct gr_lease *l, int *mntfd,
		      struct gr_handover_count *n, struct gr_error **err)
{
	enum gr_handover_way way = GR_HANDOVER_AUTO;
	int r, r2;

	*mntfd = -1;
	if (s->req->sandbox && ((r = sandbox_fd(s, NULL, false, err)) < 0 || (r = sandbox_way(s, &way, err)) < 0))
		return r;
	r = gr_helper_as_root(true, s->c, err);
	if (r < 0)
		return r;
	r = gr_lease_acquire_noted(s->pool, s->account, s->req->job_id, s->c->pid, userns, l, err);
	r2 = gr_helper_as_root(false, s->c, r < 0 ? NULL : err);
	if (r < 0) {
		(*err)->code = r == -EAGAIN ? GR_HELPER_EXIT_EXHAUSTED : GR_HELPER_EXIT_FAILED;
		return r;
	}
	if (r2 >= 0 && s->req->sandbox) {
		r2 = hand_over(s, l, way, mntfd, n, err);
		if (r2 < 0)
			gr_error_prefix(err, "sandbox");
	}
	if (r2 < 0)
		drop_lease(s, l);
	return r2;
}

static void lease_answer(const struct step *s, const struct gr_lease *l, int mntfd,
			 const struct gr_handover_count *n, char *out, size_t outsz)
{
	if (!s->req->sandbox)
		snprintf(out, outsz, "%u %u %u\n", l->index, (unsigned)l->first, l->count);
	else if (mntfd >= 0)
		snprintf(out, outsz, "%u %u %u idmap\n", l->index, (unsigned)l->first, l->count);
	else
		snprintf(out, outsz, "%u %u %u chown %lu %lu\n", l->index, (unsigned)l->first, l->count,
			 n->changed, n->linked);
}

static int do_lease(struct step *s, char *out, size_t outsz, int *outfd, struct gr_error **err)
{
	struct gr_handover_count n = { 0 };
	struct gr_lease l;
	int r, mntfd = -1;

	r = take_lease(s, NULL, &l, &mntfd, &n, err);
	if (r < 0)
		return r;
	*outfd = mntfd;
	lease_answer(s, &l, mntfd, &n, out, outsz);
	return 0;
}

/* map and lsm-add: the caller's lease, its own child as the target, and
 * the maps that lease gives (a failure of the plan is the helper's) */
static int leased_target(struct step *s, struct gr_lease *l, struct gr_uid_range *range,
			 struct gr_userns_plan *plan, struct gr_error **err)
{
	int r;

	r = callers_lease(s, l, err);
	if (r < 0)
		return r;
	r = check_target(s->c, s->req->pid, err);
	if (r < 0)
		return r;
	gr_lease_range(l, range);
	r = gr_userns_plan(0, 0, range, plan, err);
	if (r < 0)
		(*err)->code = GR_HELPER_EXIT_FAILED;
	return r;
}

/* Note handle (or "?" over the noted one) in the caller's lease, as root */
static int note_userns(struct step *s, const struct gr_lease *l, const char *handle, struct gr_error **err)
{
	int r, r2;

	r = gr_helper_as_root(true, s->c, err);
	if (r < 0)
		return r;
	r = gr_lease_note_userns(s->pool, l, handle, !strcmp(handle, "?"), err);
	r2 = gr_helper_as_root(false, s->c, r < 0 ? NULL : err);
	if (r < 0) {
		(*err)->code = r == -EEXIST ? GR_HELPER_EXIT_REFUSED : GR_HELPER_EXIT_FAILED;
		return r;
	}
	return r2;
}

/* *nsfd: the user namespace of the request's pid, opened while the process
 * of the pidfd (GR_HELPER_PIDFD) lives, so that it is that process's. */
static int open_target_userns(struct step *s, int *nsfd, struct gr_error **err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)s->req->pid);
	*nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (*nsfd < 0 || syscall(SYS_pidfd_send_signal, GR_HELPER_PIDFD, 0, NULL, 0) < 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, ESRCH, "pid %d is gone", (int)s->req->pid);
	return 0;
}

/* The target's user namespace, about to be mapped (lease-nsalive.c): *nsfd
 * kept to check after the map that this namespace is the one that got it,
 * handle its nsfs file handle for the lease (a lease maps one namespace).
 * *nsfd -1 and handle "": this kernel, here, cannot tell a namespace's life
 * (said by `gridrun check`), nothing is noted. */
static int target_userns(struct step *s, int *nsfd, char *handle, size_t size, struct gr_error **err)
{
	int r;

	handle[0] = '\0';
	r = open_target_userns(s, nsfd, err);
	if (r < 0)
		return r;
	r = gr_lease_userns_handle(*nsfd, handle, size);
	if (r == -EOPNOTSUPP || r == -EXDEV) {
		close(*nsfd);
		*nsfd = -1;
		handle[0] = '\0';
		return 0;
	}
	if (r < 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, -r, "the nsfs file handle of pid %d's user "
				      "namespace", (int)s->req->pid);
	return 0;
}

/* The maps of the lease l onto the target, with map's capabilities only;
 * then the check that they went to the namespace nsfd (whose handle is
 * noted), or the lease says it cannot know which namespace has the range
 * (blocked at release) */
static int write_maps(struct step *s, const struct gr_lease *l, int nsfd, struct gr_error **err)
{
	struct gr_userns_plan plan;
	struct gr_uid_range range;
	bool moved = false;
	int r, r2;

	gr_lease_range(l, &range);
	r = gr_userns_plan(0, 0, &range, &plan, err);
	if (r < 0) {
		(*err)->code = GR_HELPER_EXIT_FAILED;
		return r;
	}
	r = gr_helper_map_caps(true, err);
	if (r < 0)
		return r;
	r = gr_userns_from_parent(s->req->pid, GR_HELPER_PIDFD, &plan, err);
	if (r < 0)
		(*err)->code = GR_HELPER_EXIT_FAILED;
	else if (nsfd >= 0 && gr_lease_userns_mapped(nsfd, l->first, l->count) != 1)
		moved = true;
	r2 = gr_helper_map_caps(false, r < 0 ? NULL : err);
	if (r < 0 || r2 < 0)
		return r < 0 ? r : r2;
	if (!moved)
		return 0;
	r = note_userns(s, l, "?", err);
	return r < 0 ? r : gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EPERM, "pid %d left the user namespace "
					  "it was mapped in; range %u stays quarantined after release",
					  (int)s->req->pid, l->index);
}

static int do_map(struct step *s, struct gr_error **err)
{
	char handle[GR_LEASE_USERNS_MAX];
	struct gr_userns_plan plan;
	struct gr_uid_range range;
	struct gr_lease l;
	_cleanup_close_ int nsfd = -1;
	int r;

	r = leased_target(s, &l, &range, &plan, err);
	if (r >= 0)
		r = target_userns(s, &nsfd, handle, sizeof(handle), err);
	if (r >= 0 && handle[0])
		r = note_userns(s, &l, handle, err);
	return r < 0 ? r : write_maps(s, &l, nsfd, err);
}

/* The BPF LSM's entry for the job of the caller's lease l, whose init is
 * the target (checked as for map, held by the pidfd): lsm-add's step and
 * lease-map's last. *job its key (the inode number of the target's user
 * namespace), 0 when the LSM is not loaded. */
static int lsm_register(struct step *s, const struct gr_lease *l, uint64_t *job, struct gr_error **err)
{
	struct gr_lsm_reg reg = GR_LSM_REG_INIT;
	struct gr_userns_plan plan;
	struct gr_uid_range range;
	uint64_t key = 0;
	int r, r2, held = -1;

	*job = 0;
	gr_lease_range(l, &range);
	r = gr_userns_plan(0, 0, &range, &plan, err);
	/* the key as the caller (check_target's own view of the child): as
	 * euid 0 without CAP_SYS_PTRACE, its /proc/PID/ns is not ours to read */
	if (r >= 0)
		r = gr_lsm_job_key(s->req->pid, &key, err);
	if (r < 0) {
		(*err)->code = GR_HELPER_EXIT_FAILED;
		return r;
	}
	/* euid 0 for the pins (root's, under /sys/fs/bpf: the environment that
	 * could have named other pins is gone, helper.h step 1) */
	r = gr_helper_as_root(true, s->c, err);
	if (r < 0)
		return r;
	/* an entry of this lease is a dead job's only if no process holds an
	 * id of the range: dropping a live job's would let the pilot take its
	 * ids behind it (S33), as lsm-del without its kill would; and only
	 * while the range is the caller's lease (else another's job's) */
	r = gr_lsm_loaded() ? gr_lease_hold(s->pool, l, &held, err) : 0;
	if (r >= 0)
		r = gr_lsm_count_range((uint32_t)l->first, (uint32_t)l->count, err);
	if (r > 0) {
		pid_t one = 0;
		int left = gr_lease_holders(l->first, l->count, false, &one);

		if (left != 0)
			r = gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, left < 0 ? -left : EBUSY,
					   "pool %s: range %u: its registered job still runs (pid %d)",
					   s->pool->name, l->index, (int)one);
	}
	if (r >= 0)
		r = gr_lsm_drop_range((uint32_t)l->first, (uint32_t)l->count, NULL, err);
	if (r >= 0)
		r = gr_lsm_register_key(&reg, s->req->pid, key, GR_HELPER_PIDFD, &plan, err);
	gr_lsm_reg_close(&reg);
	gr_closep(&held);
	r2 = gr_helper_as_root(false, s->c, r < 0 ? NULL : err);
	if (r < 0) {
		if ((*err)->code != GR_HELPER_EXIT_REFUSED)
			(*err)->code = GR_HELPER_EXIT_FAILED;
		return r;
	}
	*job = r > 0 ? reg.job : 0;
	return r2;
}

/* lease-map (helper.h): map's checks of the target before anything is
 * leased, its namespace noted in the lease's first write, lease's steps,
 * then map's write and check; a failure after the lease drops it again */
static int do_lease_map(struct step *s, char *out, size_t outsz, int *outfd, struct gr_error **err)
{
	struct gr_handover_count n = { 0 };
	char handle[GR_LEASE_USERNS_MAX];
	_cleanup_close_ int nsfd = -1;
	struct gr_lease l;
	uint64_t job = 0;
	int r, mntfd = -1;

	r = check_target(s->c, s->req->pid, err);
	if (r >= 0)
		r = target_userns(s, &nsfd, handle, sizeof(handle), err);
	if (r >= 0)
		r = take_lease(s, handle[0] ? handle : NULL, &l, &mntfd, &n, err);
	if (r < 0)
		return r;
	r = write_maps(s, &l, nsfd, err);
	if (r >= 0)
		r = lsm_register(s, &l, &job, err);
	if (r < 0) {
		if (mntfd >= 0)
			close(mntfd);
		drop_lease(s, &l);
		return r;
	}
	*outfd = mntfd;
	lease_answer(s, &l, mntfd, &n, out, outsz);
	if (job) {
		size_t len = strlen(out);

		snprintf(out + len, outsz - len, "lsm %llu\n", (unsigned long long)job);
	}
	return 0;
}

/* release's "sandbox": the chown's walk back through fd 3, as euid 0;
 * *walked what it changed. A failure is left to the release's own walk back
 * of the noted sandbox (the lease keeps its note). */
static void walk_back(struct step *s, const struct gr_lease *l, unsigned long *walked)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;
	struct gr_handover h;
	struct gr_handover_count n = { 0 };
	int r;

	if (gr_handover_plan(s->c->uid, s->c->gid, l->first, l->count, 0, 0, &h, &e) != 0)
		return;
	/* no process left with the range's ids can add files behind the walk */
	r = gr_lease_kill_holders(l->first, l->count, &e);
	if (r >= 0)
		r = gr_handover_chown(GR_HELPER_PIDFD, &h, true, &n, &e);
	/* walked back: no walk back is owed any more (lease.h) */
	if (r >= 0)
		(void)gr_lease_note_sandbox(s->pool, l, NULL, &e);
	*walked = n.changed;
}

/*
 * Nothing of the release is skipped for what the kernel already guarantees
 * here (issue 13 looked): the end of the job's init emptied its PID
 * namespace (the kernel kills and reaps every task of it first), and the job
 * ran in its own cgroup, but a process holding the range's ids can live
 * outside both: one the pilot setns()ed into the job's user namespace (the
 * pilot owns that namespace, unlike root mode's, where lease-reclaim.c
 * skips the namespace scan for struct gr_lease's userns_root), or one that
 * ran a set-user-ID file of a range id the job left on a filesystem the host
 * mounts without nosuid. Only the holder scan finds them. The namespace's
 * end (its nsfs handle) does not stand for that scan either (the second
 * kind needs no namespace); gc alone skips it, when its pool-wide scan has
 * just seen none of the range's ids (gr_lease_settle()).
 */
/* "denials TOTAL N0 .. N16\n" (helper.h) of d into out */
static void denials_line(const struct gr_lsm_denials *d, char *out, size_t outsz)
{
	int len = snprintf(out, outsz, "denials %llu", d->total);

	for (unsigned h = 0; h < GR_LSM_HOOKS && len > 0 && (size_t)len < outsz; h++)
		len += snprintf(out + len, outsz - (size_t)len, " %llu", d->hook[h]);
	if (len > 0 && (size_t)len < outsz)
		snprintf(out + len, outsz - (size_t)len, "\n");
}

static int do_release(struct step *s, char *out, size_t outsz, struct gr_error **err)
{
	_cleanup_gr_error_ struct gr_error *blocked = NULL;
	struct gr_lsm_denials d;
	struct gr_lease l;
	unsigned long walked = 0;
	size_t len = 0;
	int r, r2, held = -1;

	r = callers_lease(s, &l, err);
	if (r >= 0 && s->req->sandbox)
		r = sandbox_fd(s, &l, true, err);
	if (r < 0)
		return r;
	r = gr_helper_as_root(true, s->c, err);
	if (r < 0)
		return r;
	if (s->req->sandbox) {
		walk_back(s, &l, &walked);
		len = (size_t)snprintf(out, outsz, "walked %lu\n", walked);
	}
	/* the range's BPF LSM entries (lease-map's registration; a dead
	 * supervisor's), after the kill, and their denials for the job's
	 * record: no lsm-del run. While the range is still the caller's
	 * lease (held): once N.lease is gone, gc may end its quarantine and
	 * the next job register the range, whose entry a drop after the
	 * release would remove. Best effort: a kernel that refuses bpf()
	 * without CAP_SYS_ADMIN (file capabilities without it) leaves them,
	 * and the next lease-map of the range drops them. */
	if (gr_lsm_count_range((uint32_t)l.first, (uint32_t)l.count, NULL) > 0)
		r = gr_lease_hold(s->pool, &l, &held, err);
	if (held >= 0 && gr_lease_kill_holders(l.first, l.count, NULL) == 0 &&
	    gr_lsm_drop_range((uint32_t)l.first, (uint32_t)l.count, &d, NULL) > 0) {
		denials_line(&d, out + len, outsz - len);
		len += strlen(out + len);
	}
	gr_closep(&held);
	if (r >= 0)
		r = gr_lease_release(s->pool, &l, err);
	if (r > 0) {   /* released into a blocked quarantine: said, not failed */
		blocked = TAKE_PTR(*err);
		r = 0;
	}
	if (blocked)
		snprintf(out + len, outsz - len, "blocked: %s\n", blocked->msg);
	r2 = gr_helper_as_root(false, s->c, r < 0 ? NULL : err);
	if (r < 0)
		(*err)->code = GR_HELPER_EXIT_FAILED;
	return r < 0 ? r : r2;
}

static int do_gc(struct step *s, char *out, size_t outsz, struct gr_error **err)
{
	struct gr_lease_gc_stats st = { 0 };
	int r, r2;

	r = gr_helper_as_root(true, s->c, err);
	if (r < 0)
		return r;
	r = gr_lease_gc(s->pool, &st, err);
	r2 = gr_helper_as_root(false, s->c, r < 0 ? NULL : err);
	if (r < 0) {
		(*err)->code = GR_HELPER_EXIT_FAILED;
		return r;
	}
	snprintf(out, outsz, "%u %u\n", st.reclaimed, st.freed);
	return r2;
}

/* lsm-add's target is in the user namespace the caller's lease l was mapped
 * to (map): the key is that namespace's. check_target() alone lets through
 * a pilot's process that setns()ed into another job's namespace (the pilot
 * owns it), whose entry the registration would take over for l's range,
 * and lsm-del or release of l then drop: that job unconfined. */
static int mapped_to_lease(struct step *s, const struct gr_lease *l, struct gr_error **err)
{
	_cleanup_close_ int nsfd = -1;
	int r = open_target_userns(s, &nsfd, err);

	if (r < 0)
		return r;
	if (gr_lease_userns_mapped(nsfd, l->first, l->count) != 1)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EPERM, "pid %d is not in the user namespace "
				      "mapped to range %u", (int)s->req->pid, l->index);
	return 0;
}

static int do_lsm_add(struct step *s, char *out, size_t outsz, struct gr_error **err)
{
	struct gr_userns_plan plan;
	struct gr_uid_range range;
	struct gr_lease l;
	uint64_t job = 0;
	int r;

	r = leased_target(s, &l, &range, &plan, err);
	/* (where the LSM cannot be loaded, nothing is registered); with the
	 * caller's euid the pins (root's) may be out of sight, so only "maybe":
	 * lsm_register() asks gr_lsm_loaded() again with euid 0 */
	if (r >= 0 && gr_lsm_maybe_loaded())
		r = mapped_to_lease(s, &l, err);
	if (r >= 0)
		r = lsm_register(s, &l, &job, err);
	if (r < 0)
		return r;
	snprintf(out, outsz, "%llu\n", (unsigned long long)job);
	return 0;
}

static int do_lsm_del(struct step *s, char *out, size_t outsz, struct gr_error **err)
{
	struct gr_lsm_denials d;
	struct gr_lease l;
	int r, r2, held = -1;

	r = callers_lease(s, &l, err);
	if (r < 0)
		return r;
	r = gr_helper_as_root(true, s->c, err);
	if (r < 0)
		return r;
	/* no task of the range may outlive its registration (S33); the range
	 * still the caller's lease meanwhile (its holders are the job's) */
	r = gr_lease_hold(s->pool, &l, &held, err);
	if (r >= 0)
		r = gr_lease_kill_holders(l.first, l.count, err);
	if (r >= 0)
		r = gr_lsm_drop_range((uint32_t)l.first, (uint32_t)l.count, &d, err);
	gr_closep(&held);
	r2 = gr_helper_as_root(false, s->c, r < 0 ? NULL : err);
	if (r < 0) {
		(*err)->code = GR_HELPER_EXIT_FAILED;
		return r;
	}
	if (r == 0)
		snprintf(out, outsz, "none\n");
	else
		denials_line(&d, out, outsz);
	return r2;
}

int gr_helper_act(const struct gr_helper_caller *c, const struct gr_helper_req *req,
		  char *out, size_t outsz, int *outfd, struct gr_error **err)
{
	struct step s = { .c = c, .req = req };
	int r;

	out[0] = '\0';
	*outfd = -1;
	r = load_pool(&s, err);
	if (r >= 0)
		r = gr_helper_unfreezable(c, s.pool, s.account, err);
	if (r >= 0) {
		switch (req->op) {
		case GR_HELPER_LEASE: r = do_lease(&s, out, outsz, outfd, err); break;
		case GR_HELPER_MAP: r = do_map(&s, err); break;
		case GR_HELPER_LEASE_MAP: r = do_lease_map(&s, out, outsz, outfd, err); break;
		case GR_HELPER_RELEASE: r = do_release(&s, out, outsz, err); break;
		case GR_HELPER_GC: r = do_gc(&s, out, outsz, err); break;
		case GR_HELPER_LSM_ADD: r = do_lsm_add(&s, out, outsz, err); break;
		case GR_HELPER_LSM_DEL: r = do_lsm_del(&s, out, outsz, err); break;
		}
	}
	gr_config_free(s.cfg);
	return r;
}
