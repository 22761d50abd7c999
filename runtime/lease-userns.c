/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lease-userns.c - holders of a range's user namespaces (threats S33,
 * issue 12): what lease-reclaim.c's id scan cannot see.
 *
 * A job's user namespace maps exactly its range (the helper or root-mode
 * gridrun wrote the map). While that namespace lives, whoever may enter it
 * can become host uid FIRST later: in helper mode the pilot owns it, so a
 * pilot process that keeps an fd of /proc/JOB/ns/user (or of any namespace
 * the job's user namespace owns: NS_GET_USERNS gives the user namespace
 * back), or bind-mounts it, setns()es into it after the range has gone to
 * the next tenant. Its ids are the pilot's until then: no id scan sees it.
 *
 * A user namespace "is the range's" when it, or its ancestor just below our
 * own (the init) user namespace, has a non-empty uid or gid map that lies
 * wholly inside [first, first+count): only a privileged writer maps other
 * ids than its owner's, and gridrun maps exactly a lease; a wider map (a
 * root container's identity map) is someone else's. The map of a namespace
 * no process is in is read by a short-lived child that setns()es into it
 * and reads /proc/self/uid_map (shown in the parent's, here host, ids).
 * Namespaces are compared by (st_dev, st_ino) of nsfs, never by file handle
 * (name_to_handle_at gives ESTALE outside the host PID namespace).
 *
 * A process holds a range's namespace when (a) its own user namespace is one
 * (or below one), (b) an open fd (O_PATH too) is an nsfs file whose user
 * namespace (its own, or NS_GET_USERNS's) is one, or (c) a mount namespace
 * it is in has an nsfs mount of one. (a) and (b) are SIGKILLed through a
 * pidfd after the holding is seen again; (c) cannot be undone from outside
 * safely (unmounting by a path the pilot controls), so the range stays
 * blocked and the line says where the mount is. An fd of a mount namespace
 * no process is in cannot be searched for such mounts: it blocks too.
 *
 * Privilege: /proc/PID/ns/ and /proc/PID/fd/ need ptrace read access to
 * every process (CAP_SYS_PTRACE), the child's setns() CAP_SYS_ADMIN: root
 * mode has both; gridrun-helper keeps them for release and gc (helper.c).
 * Without CAP_SYS_PTRACE the range is blocked ("cannot look"); a process
 * an LSM still keeps from us (EACCES with it) is not the pilot's, and is
 * counted in the debug line only.
 * Cost: two passes; the first reads each process's ns/user link (and the
 * maps of a foreign namespace once), the second its ns/mnt link, its fd
 * directory and one readlink per fd (nsfs ones opened), each distinct mount
 * namespace's mountinfo once, and forks only for a user namespace no process
 * is in. Namespaces judged and mount namespaces read are kept in growing
 * hash sets, so a node with thousands of jobs judges each namespace once.
 * The fds dominate: ~4-5 us per fd on the shared 2-CPU host whatever the
 * call (readlink, fstatat and statx through /proc/PID/fd cost the same), so
 * a process with 10 000 sockets adds ~50 ms to every release; 2000 sleeping
 * processes with 3 fds each added ~0.3 s at load 50 (GRIDRUN_DEBUG prints
 * each scan). Acquire does not scan again (lease.c).
 *
 * Who has to be looked at (issue 13: why no process is skipped). Entering
 * the range's user namespace J (setns) needs CAP_SYS_ADMIN in it: a process
 * in J or below it, or one in J's parent (our) namespace whose euid is J's
 * owner, or that has CAP_SYS_ADMIN there. J's owner is root in root mode,
 * the pilot in helper mode. Opening a job process's /proc/PID/ns files needs
 * ptrace read access to it: its own ids (the range's: the id scan kills
 * those first) or CAP_SYS_PTRACE over J (root; in helper mode the pilot,
 * which owns J). So only root, the range and (helper mode) the pilot can
 * enter J or open it. But anyone can hold it: the job passes an nsfs fd over
 * any unix socket it reaches (SCM_RIGHTS), and a root process that opened
 * one keeps it across setresuid() to any uid (s33_lease_test's lingerer, uid
 * 23456, does exactly that in root mode, and must be killed). A holder
 * that cannot enter J keeps it alive, and acquire trusts that a settled
 * range has no live namespace: it could hand the fd on, in helper mode to
 * the pilot, who can enter. Hence every process's fds are read where J is
 * the pilot's (helper mode, and gc after a crash, which cannot tell whose J
 * was); in root mode, where the supervisor saw J is root's (lease.h's
 * userns_root: its owner our uid 0, its parent our namespace), no holder can
 * ever enter J or hand it to anyone who can, so its release scans nothing
 * here (issue 13: 2-3 ms a release on an idle node, 0.4 s at 1000 jobs).
 * Skipping processes by uid (e.g. /proc/PID's owner, the euid of a
 * dumpable process) would let a third uid keep J for the pilot. It would
 * not widen what the pilot can already do alone (the socket-queue and
 * socket cases below), which is why it remains an option for the lead.
 * Also tried and rejected: taking a file handle of J at map time and
 * skipping the scan when open_by_handle_at() says it is stale (6.18 has
 * nsfs file handles): it says ESTALE for a live namespace when the caller
 * is outside the host PID namespace (seen here), and kernels that count
 * "active" namespace references refuse one a socket can still reach
 * (below): stale does not mean gone.
 * Not seen: an nsfs fd parked in a unix socket's queue (SCM_RIGHTS in
 * flight) is in no process's fd table; nothing in /proc shows it. Nor a
 * socket of a network namespace that J owns (the job's own, "network":
 * "none"): SIOCGSKNS gives the namespace back, NS_GET_USERNS gives J, and
 * its owner (the pilot) can setns() into J although no nsfs fd or process
 * of J is left (checked on 6.18). Both keep J alive, and J's own life is
 * what release asks the kernel last, where it can tell it (lease-nsalive.c:
 * helper mode, 6.18's nsfs file handles, the host PID namespace).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fsstat.h"
#include "lease-int.h"
#include "util.h"

/* A set of nsfs inode numbers (never 0), each with a flag: open addressing,
 * grown at half full, so that a node with thousands of namespaces costs no
 * re-judging (a fixed table that filled up made every later namespace
 * judged again, and a mount namespace past it looked like one no process
 * is in). */
struct ino_set {
	unsigned long long *key;
	bool *val;
	size_t cap, n;
};

static size_t ino_slot(const struct ino_set *t, unsigned long long ino)
{
	size_t i = (size_t)((ino * 0x9E3779B97F4A7C15ull) >> 20) & (t->cap - 1);

	while (t->key[i] && t->key[i] != ino)
		i = (i + 1) & (t->cap - 1);
	return i;
}

/* the flag of ino, or -1 when it is not in t */
static int ino_get(const struct ino_set *t, unsigned long long ino)
{
	size_t i;

	if (!t->cap)
		return -1;
	i = ino_slot(t, ino);
	return t->key[i] ? t->val[i] : -1;
}

/* -ENOMEM when it cannot grow (the caller then judges again) */
static int ino_put(struct ino_set *t, unsigned long long ino, bool val)
{
	size_t i;

	if (!ino)
		return 0;
	if (2 * (t->n + 1) > t->cap) {
		struct ino_set g = { .cap = t->cap ? 2 * t->cap : 256 };

		g.key = calloc(g.cap, sizeof(*g.key));
		g.val = calloc(g.cap, sizeof(*g.val));
		if (!g.key || !g.val) {
			free(g.key);
			free(g.val);
			return -ENOMEM;
		}
		for (size_t j = 0; j < t->cap; j++)
			if (t->key[j]) {
				size_t k = ino_slot(&g, t->key[j]);

				g.key[k] = t->key[j];
				g.val[k] = t->val[j];
				g.n++;
			}
		free(t->key);
		free(t->val);
		*t = g;
	}
	i = ino_slot(t, ino);
	if (!t->key[i])
		t->n++;
	t->key[i] = ino;
	t->val[i] = val;
	return 0;
}

static void ino_clear(struct ino_set *t)
{
	if (t->cap) {
		memset(t->key, 0, t->cap * sizeof(*t->key));
		t->n = 0;
	}
}

static void ino_free(struct ino_set *t)
{
	free(t->key);
	free(t->val);
	*t = (struct ino_set){ 0 };
}

struct ns_scan {
	unsigned long long lo, hi;
	unsigned long long self_user;     /* our user namespace's inode */
	int procfd;
	bool kill;
	pid_t self;
	/* user namespaces judged: inode -> holds */
	struct ino_set seen;
	/* mount namespaces whose mountinfo was read; mount ns fds to check after */
	struct ino_set mnt;
	unsigned long long mnt_fd[16];
	pid_t mnt_fd_pid[16];
	int nmnt_fd;
	int holders;                      /* processes that hold by (a) or (b) */
	unsigned uninspectable;           /* processes an LSM keeps from us */
	pid_t one;
	char why[GR_LEASE_BLOCKED_MAX];   /* (c) or what could not be inspected */
	unsigned procs, fds;
};

static const char *const ns_names[] = { "user:[", "mnt:[", "net:[", "pid:[", "ipc:[", "uts:[",
					"cgroup:[", "time:[" };

/* "TYPE:[INO]" of an nsfs link: its inode, 0 when it is no namespace */
static unsigned long long ns_link_ino(const char *link, bool *is_mnt)
{
	for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++)
		if (!strncmp(link, ns_names[i], strlen(ns_names[i]))) {
			if (is_mnt)
				*is_mnt = i == 1;
			return strtoull(link + strlen(ns_names[i]), NULL, 10);
		}
	return 0;
}

static int readlink_at(int dfd, const char *name, char *buf, size_t size)
{
	ssize_t n = readlinkat(dfd, name, buf, size - 1);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/* The first thing that blocks the range, in one line */
__attribute__((format(printf, 2, 3)))
static void note_why(struct ns_scan *s, const char *fmt, ...)
{
	va_list ap;

	if (s->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

/* Every extent of a map text lies in [lo, hi), and there is one. */
static bool map_inside(const char *text, unsigned long long lo, unsigned long long hi)
{
	unsigned long long in, out, count;
	int n = 0, extents = 0;

	while (sscanf(text, " %llu %llu %llu%n", &in, &out, &count, &n) == 3) {
		if (out < lo || out + count > hi)
			return false;
		extents++;
		text += n;
	}
	return extents > 0;
}

/* A child in user namespace fd reads its maps: 1 the range's, 0 not, <0 error */
int gr_lease_map_of(int fd, unsigned long long lo, unsigned long long hi)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char buf[2][4096];

		for (int i = 0; i < 2; i++) {
			int m;
			ssize_t n;

			if (i == 0 && setns(fd, CLONE_NEWUSER) < 0)
				_exit(2);
			m = open(i ? "/proc/self/gid_map" : "/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
			n = m >= 0 ? gr_read_full(m, buf[i], sizeof(buf[i]) - 1) : -1;
			if (n < 0)
				_exit(2);
			buf[i][n] = '\0';
		}
		_exit(map_inside(buf[0], lo, hi) || map_inside(buf[1], lo, hi) ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
		return -EPERM;
	return WEXITSTATUS(status);
}

/* The maps of pid's user namespace, in our ids: 1 the range's, 0 not, <0 error */
static int map_of_process(const struct ns_scan *s, const char *dir)
{
	bool inside = false;

	for (int i = 0; i < 2; i++) {
		char path[300];
		_cleanup_free_ char *text = NULL;

		snprintf(path, sizeof(path), "%s/%s", dir, i ? "gid_map" : "uid_map");
		if (gr_read_file_at(s->procfd, path, &text, NULL, NULL) < 0)
			return -ESRCH;
		inside = inside || map_inside(text, s->lo, s->hi);
	}
	return inside;
}

static int seen_lookup(const struct ns_scan *s, unsigned long long ino)
{
	return ino_get(&s->seen, ino);
}

static void seen_add(struct ns_scan *s, unsigned long long ino, bool holds)
{
	(void)ino_put(&s->seen, ino, holds);   /* no room: judged again when met again */
}

static unsigned long long fd_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) < 0 ? 0 : (unsigned long long)st.st_ino;
}

/* An open nsfs fd: 1 when its user namespace is the range's, 0 when not, <0 error */
static int judge_fd(struct ns_scan *s, int fd)
{
	_cleanup_close_ int cur = -1;
	unsigned long long first_ino;
	struct statfs sf;
	int type, r;

	if (fstatfs(fd, &sf) < 0 || sf.f_type != NSFS_MAGIC)
		return -EINVAL;
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type < 0)
		return -errno;
	cur = type == CLONE_NEWUSER ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : ioctl(fd, NS_GET_USERNS);
	if (cur < 0)
		return errno == EPERM ? 0 : -errno;   /* owned outside our namespace */
	first_ino = fd_ino(cur);
	r = seen_lookup(s, first_ino);
	if (r >= 0)
		return r;
	/* up to the ancestor just below ours: the one whose map is in host ids */
	for (int depth = 0; depth < 40; depth++) {
		unsigned long long ino = fd_ino(cur);
		int parent;

		if (!ino || ino == s->self_user) {
			seen_add(s, first_ino, false);
			return 0;
		}
		parent = ioctl(cur, NS_GET_PARENT);
		if (parent < 0) {
			if (errno != EPERM)
				return -errno;
			seen_add(s, first_ino, false);   /* not below ours */
			return 0;
		}
		if (fd_ino(parent) == s->self_user) {
			close(parent);
			break;
		}
		close(cur);
		cur = parent;
	}
	r = seen_lookup(s, fd_ino(cur));
	if (r < 0)
		r = gr_lease_map_of(cur, s->lo, s->hi);
	if (r < 0)
		return r;
	seen_add(s, fd_ino(cur), r);
	seen_add(s, first_ino, r);
	return r;
}

/* dfd/name is an nsfs link whose namespace is the range's (ino: its inode) */
static int judge_link(struct ns_scan *s, int dfd, const char *name, unsigned long long ino)
{
	_cleanup_close_ int fd = -1;
	int r = seen_lookup(s, ino);

	if (r >= 0 || ino == s->self_user)
		return r > 0;
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fd_ino(fd) != ino)
		return -ESRCH;   /* changed meanwhile: the next pass sees it */
	return judge_fd(s, fd);
}

/* Kill pid once link dfd/name is seen to be namespace ino again, through a pidfd
 * opened first (so a process that was alive then). */
static void kill_if_still(pid_t pid, int dfd, const char *name, unsigned long long ino)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	char link[64];

	if (pidfd >= 0 && readlink_at(dfd, name, link, sizeof(link)) == 0 && ns_link_ino(link, NULL) == ino)
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
}

static void holder_found(struct ns_scan *s, pid_t pid, int dfd, const char *name, unsigned long long ino)
{
	unsigned long long start;
	bool zombie = false;

	/* a zombie keeps its credentials (so its user namespace) until reaped,
	 * but can never use them */
	if (gr_lease_proc_stat(pid, &start, &zombie) == -ESRCH || zombie)
		return;
	s->holders++;
	s->one = pid;
	if (s->kill)
		kill_if_still(pid, dfd, name, ino);
}

/* mountpoint text of mountinfo (octal escapes) unescaped in place */
static void unescape(char *p)
{
	char *o = p;

	for (; *p; p++, o++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else
			*o = *p;
	}
	*o = '\0';
}

/* A FUSE mount point of mountinfo text at or above path mp (unescaped),
 * into fmp; false if none. The walk to mp would look names up in that file
 * system, whose daemon, a user's, may never answer (S36, fsstat.h). */
static bool below_fuse(const char *text, const char *mp, char *fmp, size_t size)
{
	struct gr_mountinfo_line l;
	char m[4 * 4096];   /* a path's every byte escaped */
	size_t n;

	while (gr_mountinfo_next(&text, &l)) {
		if (!gr_fs_type_fuse(l.type))
			continue;
		if (l.point_len >= sizeof(m)) {   /* no such path: not ours to walk below */
			snprintf(fmp, size, "%.*s", (int)l.point_len, l.point);
			return true;
		}
		memcpy(m, l.point, l.point_len);
		m[l.point_len] = '\0';
		unescape(m);
		n = strlen(m);
		if (!strncmp(mp, m, n) && (mp[n] == '/' || mp[n] == '\0' || !strcmp(m, "/"))) {
			snprintf(fmp, size, "%.100s", m);   /* for the line: its start will do */
			return true;
		}
	}
	return false;
}

/* The type of the file system with device maj:min in mountinfo text, into
 * type; false if no line has it. */
static bool type_by_dev(const char *text, unsigned maj, unsigned min, char *type, size_t size)
{
	struct gr_mountinfo_line l;

	while (gr_mountinfo_next(&text, &l))
		if (l.major == maj && l.minor == min) {
			snprintf(type, size, "%s", l.type);
			return true;
		}
	return false;
}

/* Whether a walk from rootfd, pid's root, could ask a FUSE daemon (S36):
 * its root is on FUSE, or on a file system we cannot tell. mountinfo
 * leaves out a mount whose root is above the process's (a chroot below a
 * mount's root), so that mount is told by its device, in the process's
 * mountinfo text or in ours (a copy in another namespace shares the
 * superblock); its statx is answered from the cache (fsstat.h). The type
 * (or why not) into type. */
static bool root_unaskable(int rootfd, const char *text, char *type, size_t size)
{
	_cleanup_free_ char *ours = NULL;
	struct gr_fs_here h;
	struct statx st;

	if (gr_fs_here_in(rootfd, text, &h) == 0) {
		snprintf(type, size, "%s", h.type);
		return h.fuse;
	}
	if (statx(rootfd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &st) < 0) {
		snprintf(type, size, "statx: %s", strerror(errno));
		return true;
	}
	if (!type_by_dev(text, st.stx_dev_major, st.stx_dev_minor, type, size) &&
	    (gr_read_file_at(AT_FDCWD, "/proc/self/mountinfo", &ours, NULL, NULL) < 0 ||
	     !type_by_dev(ours, st.stx_dev_major, st.stx_dev_minor, type, size))) {
		snprintf(type, size, "device %u:%u, in no mountinfo", st.stx_dev_major, st.stx_dev_minor);
		return true;
	}
	return gr_fs_type_fuse(type);
}

/* The nsfs mounts of pid's mount namespace; a range's one is noted in why. */
static void scan_mounts(struct ns_scan *s, pid_t pid, const char *dir)
{
	_cleanup_free_ char *all = NULL;
	_cleanup_close_ int rootfd = -1;
	struct gr_mountinfo_line l;
	const char *pos;
	char path[300], rtype[64] = "";
	bool unaskable = false;

	snprintf(path, sizeof(path), "%s/mountinfo", dir);
	if (gr_read_file_at(s->procfd, path, &all, NULL, NULL) < 0)
		return;   /* gone */
	for (pos = all; gr_mountinfo_next(&pos, &l);) {
		char root[128], mp[4096], fmp[128];
		struct open_how how = { .flags = O_RDONLY | O_CLOEXEC,
					.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
		unsigned long long ino;
		_cleanup_close_ int fd = -1;
		int r;

		if (strcmp(l.type, "nsfs"))
			continue;
		snprintf(root, sizeof(root), "%.*s", (int)l.root_len, l.root);
		ino = ns_link_ino(root, NULL);
		if (!ino || ino == s->self_user || seen_lookup(s, ino) == 0)
			continue;
		/* a longer one names no path: its open fails below, and the range stays blocked */
		snprintf(mp, sizeof(mp), "%.*s", (int)l.point_len, l.point);
		unescape(mp);
		if (below_fuse(all, mp, fmp, sizeof(fmp))) {
			note_why(s, "cannot tell whether the nsfs mount in the mount namespace of pid %d at `%.100s` "
				 "keeps its user namespace: it is below a FUSE mount at `%.100s`, which gridrun does "
				 "not ask", (int)pid, mp, fmp);
			continue;
		}
		if (rootfd < 0) {
			snprintf(path, sizeof(path), "%s/root", dir);
			rootfd = openat(s->procfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
			unaskable = rootfd >= 0 && root_unaskable(rootfd, all, rtype, sizeof(rtype));
		}
		if (unaskable) {
			note_why(s, "cannot tell whether the nsfs mount in the mount namespace of pid %d at `%.100s` "
				 "keeps its user namespace: that process's root is on a file system gridrun does "
				 "not ask (%.60s)", (int)pid, mp, rtype);
			continue;
		}
		fd = rootfd >= 0 ? (int)syscall(SYS_openat2, rootfd, mp, &how, sizeof(how)) : -1;
		r = fd >= 0 && fd_ino(fd) == ino ? judge_fd(s, fd) : -EACCES;
		if (r > 0)
			note_why(s, "its user namespace is kept by an nsfs mount in the mount namespace of "
				 "pid %d, at `%.100s`, which gridrun does not unmount; unmount it and run "
				 "`gridrun gc`", (int)pid, mp);
		else if (r < 0 && seen_lookup(s, ino) < 0)
			note_why(s, "cannot tell whether the nsfs mount in the mount namespace of pid %d "
				 "at `%.100s` keeps its user namespace", (int)pid, mp);
	}
}

/* Phase 1, one process: (a) its user namespace, judged by its own maps
 * (so that phase 2 forks only for namespaces no process is in). */
static void scan_userns(struct ns_scan *s, const char *dir)
{
	pid_t pid = (pid_t)atoi(dir);
	char path[300], link[64];
	unsigned long long ino;
	int r;

	s->procs++;
	snprintf(path, sizeof(path), "%s/ns/user", dir);
	r = readlink_at(s->procfd, path, link, sizeof(link));
	if (r == -EACCES || r == -EPERM)
		s->uninspectable++;
	if (r < 0)
		return;   /* gone, or guarded by an LSM from CAP_SYS_PTRACE (not the pilot's) */
	ino = ns_link_ino(link, NULL);
	if (ino == s->self_user)
		return;
	r = seen_lookup(s, ino);
	if (r < 0) {
		r = map_of_process(s, dir);
		if (r < 0)
			return;   /* gone */
		seen_add(s, ino, r);
	}
	if (r > 0)
		holder_found(s, pid, s->procfd, path, ino);
}

/* Phase 2, one process: (c) its mount namespace's mounts, (b) its fds. */
static void scan_process(struct ns_scan *s, const char *dir)
{
	pid_t pid = (pid_t)atoi(dir);
	char path[300], link[64];
	unsigned long long ino;
	_cleanup_close_ int fdfd = -1;
	struct dirent *de;
	DIR *fds;
	int r;

	snprintf(path, sizeof(path), "%s/ns/mnt", dir);
	if (readlink_at(s->procfd, path, link, sizeof(link)) == 0) {
		ino = ns_link_ino(link, NULL);
		if (ino_get(&s->mnt, ino) < 0) {
			/* no room: its mounts are read again when met again, and a
			 * mount namespace fd of it may be taken for one no process is in */
			(void)ino_put(&s->mnt, ino, true);
			scan_mounts(s, pid, dir);
		}
	}
	snprintf(path, sizeof(path), "%s/fd", dir);
	fdfd = openat(s->procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fds = fdfd >= 0 ? fdopendir(fdfd) : NULL;
	if (!fds)
		return;
	fdfd = -1;
	while ((de = readdir(fds))) {
		bool is_mnt = false;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		s->fds++;
		if (readlink_at(dirfd(fds), de->d_name, link, sizeof(link)) < 0)
			continue;
		ino = ns_link_ino(link, &is_mnt);
		if (!ino || ino == s->self_user)
			continue;
		r = judge_link(s, dirfd(fds), de->d_name, ino);
		if (r > 0) {
			holder_found(s, pid, dirfd(fds), de->d_name, ino);
			break;
		}
		if (r < 0 && r != -ESRCH && r != -ENOENT && r != -EACCES && r != -EPERM)
			note_why(s, "cannot tell whether pid %d holds its user namespace by an fd: %s",
				 (int)pid, strerror(-r));
		if (is_mnt && s->nmnt_fd < (int)ARRAY_SIZE(s->mnt_fd)) {
			s->mnt_fd_pid[s->nmnt_fd] = pid;
			s->mnt_fd[s->nmnt_fd++] = ino;
		}
	}
	closedir(fds);
}

static int ns_pass(struct ns_scan *s)
{
	DIR *proc;
	struct dirent *de;

	s->holders = 0;
	s->uninspectable = 0;
	s->why[0] = '\0';
	ino_clear(&s->mnt);
	s->nmnt_fd = 0;
	for (int phase = 1; phase <= 2; phase++) {
		/* a fresh open: a dup would share the offset */
		proc = fdopendir(openat(s->procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
		if (!proc)
			return -errno;
		while ((de = readdir(proc)))
			if (de->d_name[0] >= '1' && de->d_name[0] <= '9' && atoi(de->d_name) != s->self)
				(phase == 1 ? scan_userns : scan_process)(s, de->d_name);
		closedir(proc);
	}
	/* a mount namespace only an fd keeps: its mounts are nowhere in /proc */
	for (int i = 0; i < s->nmnt_fd; i++) {
		if (ino_get(&s->mnt, s->mnt_fd[i]) < 0)
			note_why(s, "pid %d keeps by an fd a mount namespace no process is in, which may "
				 "hold an nsfs mount of its user namespace", (int)s->mnt_fd_pid[i]);
	}
	return s->holders;
}

/* CAP_SYS_PTRACE is effective: every /proc/PID/ns and fd link but an LSM's is ours to read */
static bool ptrace_capable(void)
{
	_cleanup_free_ char *text = NULL;
	const char *eff;
	unsigned long long caps = 0;

	if (gr_read_file_at(AT_FDCWD, "/proc/self/status", &text, NULL, NULL) < 0)
		return false;
	eff = strstr(text, "\nCapEff:\t");
	return eff && sscanf(eff + 9, "%llx", &caps) == 1 && (caps & (1ull << 19));
}

int gr_lease_ns_holders(uid_t first, unsigned long count, bool kill, pid_t *one, char *why, size_t size)
{
	struct ns_scan *s = calloc(1, sizeof(*s));
	unsigned long long t0 = gr_now_ns(), deadline = t0 + 2 * NS;
	char link[64];
	int n;

	if (!s)
		return -ENOMEM;
	s->lo = first;
	s->hi = (unsigned long long)first + count;
	s->kill = kill;
	s->self = getpid();
	s->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->procfd < 0 || readlink_at(AT_FDCWD, "/proc/self/ns/user", link, sizeof(link)) < 0) {
		n = -errno;
		goto out;
	}
	s->self_user = ns_link_ino(link, NULL);
	if (!ptrace_capable()) {
		if (why && size)
			snprintf(why, size, "cannot look for processes that hold its user namespace without "
				 "CAP_SYS_PTRACE");
		n = -EBUSY;
		goto out;
	}
	n = ns_pass(s);
	for (long wait_us = 500; kill && n > 0 && gr_now_ns() < deadline; wait_us *= 2) {
		struct timespec ts = { 0, (wait_us < 100000 ? wait_us : 100000) * 1000 };

		nanosleep(&ts, NULL);
		n = ns_pass(s);
	}
	if (one)
		*one = s->one;
	if (why && size)
		snprintf(why, size, "%s", s->why);
	if (n == 0 && s->why[0])
		n = -EBUSY;
	if (getenv("GRIDRUN_DEBUG"))
		fprintf(stderr, "gridrun: debug: lease: user namespace scan of range %u: %u processes, %u fds, "
			"%zu namespace(s) judged, %u not inspectable, %llu us\n", (unsigned)first, s->procs, s->fds,
			s->seen.n, s->uninspectable,
			(gr_now_ns() - t0) / 1000);
out:
	if (s->procfd >= 0)
		close(s->procfd);
	ino_free(&s->seen);
	ino_free(&s->mnt);
	free(s);
	return n;
}
