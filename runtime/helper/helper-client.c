/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helper-client.c - the unprivileged supervisor's side of gridrun-helper
 * (helper.h): run it with an empty environment, stdin /dev/null, the
 * target's pidfd (map, lease-map) or the sandbox directory (lease, release)
 * as fd 3, lease-map's sandbox directory as fd 4, and nothing else open; its one stdout line is the answer (stdout is a unix
 * socket, so that "sandbox" can pass a mount with it), its one stderr line the
 * error (without "gridrun-helper: ").
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handover.h"
#include "helper.h"
#include "lsm.h"
#include "util.h"

#ifndef GR_HELPER_PATH
#define GR_HELPER_PATH "/usr/local/libexec/gridrun/gridrun-helper"
#endif

const char *gr_helper_path(void)
{
	const char *p = getenv("GRIDRUN_HELPER");

	return p && *p ? p : GR_HELPER_PATH;
}

/*
 * posix_spawn() (a vfork-style clone in glibc): no copy of this process's
 * page tables per helper run, which a fork of the supervisor would cost on
 * every job (and helper mode runs the helper twice a job: lease-map,
 * release, which register and unregister the job with the BPF LSM too).
 * The child gets stdin /dev/null, out and errfd as stdout and stderr, fd3
 * (if >= 0) as fd 3, fd4 (if >= 0, with fd3) as fd 4, nothing else, an
 * empty signal mask and environment. fd4 must not be 3 (call() sees to it:
 * the dup2 onto 3 would replace it before it is read).
 */
static int spawn(const char *path, char *const argv[], int fd3, int fd4, int out, int errfd, pid_t *pid)
{
	char *const envp[] = { NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	int r;

	sigemptyset(&none);
	if ((r = posix_spawn_file_actions_init(&fa)) != 0)
		return r;
	if ((r = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return r;
	}
	/* dup2 onto the same number clears FD_CLOEXEC (POSIX 2017, glibc >= 2.29) */
	if (!(r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) &&
	    !(r = posix_spawn_file_actions_adddup2(&fa, out, 1)) &&
	    !(r = posix_spawn_file_actions_adddup2(&fa, errfd, 2)) &&
	    !(r = fd3 >= 0 ? posix_spawn_file_actions_adddup2(&fa, fd3, GR_HELPER_PIDFD) : 0) &&
	    !(r = fd3 >= 0 && fd4 >= 0 ? posix_spawn_file_actions_adddup2(&fa, fd4, GR_HELPER_SBXFD) : 0) &&
	    !(r = posix_spawn_file_actions_addclosefrom_np(&fa, fd3 < 0 ? GR_HELPER_PIDFD :
							    fd4 < 0 ? GR_HELPER_SBXFD : GR_HELPER_SBXFD + 1)) &&
	    !(r = posix_spawnattr_setsigmask(&at, &none)))
		r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	if (r == 0)
		r = posix_spawn(pid, path, &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

/* The answer on the stdout socket, and the one fd it may carry (into *rfd
 * if rfd, else closed). */
static void drain_answer(int fd, char *buf, size_t size, int *rfd)
{
	size_t used = 0;

	for (;;) {
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u;
		char sink[256];
		struct iovec iov = { .iov_base = used + 1 < size ? buf + used : sink,
				     .iov_len = used + 1 < size ? size - used - 1 : sizeof(sink) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf) };
		ssize_t n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL; c; c = CMSG_NXTHDR(&m, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; (i + 1) * sizeof(int) <= c->cmsg_len - CMSG_LEN(0); i++) {
				int got;

				memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (rfd && *rfd < 0)
					*rfd = got;
				else
					close(got);
			}
		}
		if (n <= 0)
			break;
		if (used + 1 < size)
			used += (size_t)n;
	}
	buf[used] = '\0';
}

static void drain(int fd, char *buf, size_t size)
{
	size_t used = 0;
	char sink[256];
	ssize_t n;

	for (;;) {
		if (used + 1 < size)
			n = read(fd, buf + used, size - used - 1);
		else
			n = read(fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (used + 1 < size)
			used += (size_t)n;
	}
	buf[used] = '\0';
}

static int call2(char *const argv[], int pidfd, int fd4, char *out, size_t outsz, int *rfd,
		 struct gr_error **err)
{
	const char *path = gr_helper_path();
	_cleanup_close_ int high = -1;
	int po[2], pe[2], status, r;
	char msg[512];
	pid_t pid;

	if (rfd)
		*rfd = -1;
	/* spawn() would dup2 over fd 3 before it reads fd4 from there */
	if (fd4 == GR_HELPER_PIDFD) {
		high = fcntl(fd4, F_DUPFD_CLOEXEC, GR_HELPER_SBXFD + 1);
		if (high < 0)
			return gr_error_sys(err, errno, "helper: dup");
		fd4 = high;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, po) < 0)
		return gr_error_sys(err, errno, "helper: socketpair");
	if (pipe2(pe, O_CLOEXEC) < 0) {
		close(po[0]);
		close(po[1]);
		return gr_error_sys(err, errno, "helper: pipe");
	}
	r = spawn(path, argv, pidfd, fd4, po[1], pe[1], &pid);
	close(po[1]);
	close(pe[1]);
	if (r != 0) {
		close(po[0]);
		close(pe[0]);
		return gr_error_sys(err, r, "cannot run gridrun-helper `%s` (a pool needs root, or gridrun-helper "
				    "installed)", path);
	}
	/* one short line each: the pipes never fill */
	drain_answer(po[0], out, outsz, rfd);
	drain(pe[0], msg, sizeof(msg));
	close(po[0]);
	close(pe[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return gr_error_sys(err, errno, "helper: wait");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (rfd && *rfd >= 0) {
		close(*rfd);
		*rfd = -1;
	}
	msg[strcspn(msg, "\n")] = '\0';
	if (!msg[0])
		snprintf(msg, sizeof(msg), "gridrun-helper: `%s` failed (status 0x%x)", path, status);
	return gr_error_set(err, WIFEXITED(status) && WEXITSTATUS(status) == GR_HELPER_EXIT_EXHAUSTED ?
			    EAGAIN : EPERM, "%s",
			    strncmp(msg, "gridrun-helper: ", 16) ? msg : msg + 16);
}

static int call(char *const argv[], int pidfd, char *out, size_t outsz, int *rfd, struct gr_error **err)
{
	return call2(argv, pidfd, -1, out, outsz, rfd, err);
}

/* lease's and lease-map's answer (helper.h), into *l */
static int lease_answer(const char *out, const char *pool, const char *job_id, int dirfd, int *mntfd,
			struct gr_handover_count *count, struct gr_lease *l, struct gr_error **err)
{
	unsigned index, first, count_;
	unsigned long n = 0, linked = 0;
	char way[8] = "";
	int len = 0;

	if (sscanf(out, "%u %u %u%n", &index, &first, &count_, &len) != 3)
		goto bad;
	if (dirfd < 0 && strcmp(out + len, "\n"))
		goto bad;
	if (dirfd >= 0) {
		int len2 = 0;

		if (sscanf(out + len, " %5s%n", way, &len2) != 1)
			goto bad;
		len += len2;
		if (!strcmp(way, "idmap") && *mntfd >= 0 && !strcmp(out + len, "\n"))
			goto ok;
		if (*mntfd >= 0)
			close(TAKE_FD(*mntfd));
		len2 = 0;
		if (strcmp(way, "chown") || sscanf(out + len, " %lu %lu\n%n", &n, &linked, &len2) != 2 ||
		    out[len + len2])
			goto bad;
		*count = (struct gr_handover_count){ .changed = n, .linked = linked };
	}
ok:
	memset(l, 0, sizeof(*l));
	snprintf(l->pool, sizeof(l->pool), "%s", pool);
	snprintf(l->job_id, sizeof(l->job_id), "%s", job_id);
	l->index = index;
	l->first = first;
	l->count = count_;
	l->holder_pid = getpid();
	return 0;
bad:
	/* an answer we cannot read: the lease is ours, but unusable; gc's
	 * once we are gone (the helper releases only a lease it is asked to) */
	if (dirfd >= 0 && *mntfd >= 0)
		close(TAKE_FD(*mntfd));
	return gr_error_set(err, EPROTO, "helper: unexpected answer `%.40s`", out);
}

int gr_helper_lease(const char *pool, const char *job_id, int dirfd, uid_t uid, gid_t gid, int *mntfd,
		    struct gr_handover_count *count, struct gr_lease *l, struct gr_error **err)
{
	char u[16], g[16], out[160];
	char *const argv[] = { "gridrun-helper", "lease", (char *)pool, (char *)job_id,
			       dirfd >= 0 ? u : NULL, g, NULL };
	int r;

	snprintf(u, sizeof(u), "%u", (unsigned)uid);
	snprintf(g, sizeof(g), "%u", (unsigned)gid);
	if (dirfd >= 0)
		*count = (struct gr_handover_count){ 0 };
	r = call(argv, dirfd, out, sizeof(out), dirfd >= 0 ? mntfd : NULL, err);
	return r < 0 ? r : lease_answer(out, pool, job_id, dirfd, mntfd, count, l, err);
}

int gr_helper_lease_map(const char *pool, const char *job_id, pid_t pid, int pidfd, int dirfd, uid_t uid,
			gid_t gid, int *mntfd, struct gr_handover_count *count, struct gr_lease *l,
			struct gr_lsm_reg *reg, struct gr_error **err)
{
	char p[16], u[16], g[16], out[192], *lsm;
	char *const argv[] = { "gridrun-helper", "lease-map", (char *)pool, (char *)job_id, p,
			       dirfd >= 0 ? u : NULL, g, NULL };
	unsigned long long key = 0;
	int n = 0, r;

	snprintf(p, sizeof(p), "%d", (int)pid);
	snprintf(u, sizeof(u), "%u", (unsigned)uid);
	snprintf(g, sizeof(g), "%u", (unsigned)gid);
	if (dirfd >= 0)
		*count = (struct gr_handover_count){ 0 };
	r = call2(argv, pidfd, dirfd, out, sizeof(out), dirfd >= 0 ? mntfd : NULL, err);
	if (r < 0)
		return r;
	/* the LSM's line, after lease's: the job's key */
	lsm = strchr(out, '\n');
	if (lsm && lsm[1]) {
		if (sscanf(lsm + 1, "lsm %llu\n%n", &key, &n) != 1 || lsm[1 + n] || !key) {
			if (dirfd >= 0 && *mntfd >= 0)
				close(TAKE_FD(*mntfd));
			return gr_error_set(err, EPROTO, "helper: unexpected answer `%.40s`", lsm + 1);
		}
		lsm[1] = '\0';
	}
	r = lease_answer(out, pool, job_id, dirfd, mntfd, count, l, err);
	if (r < 0 || !reg)
		return r;
	reg->job = key;
	reg->via_helper = reg->at_release = key != 0;
	reg->index = l->index;
	snprintf(reg->pool, sizeof(reg->pool), "%s", pool);
	return 0;
}

int gr_helper_map(const char *pool, unsigned index, pid_t pid, int pidfd, struct gr_error **err)
{
	char idx[16], p[16], out[16];
	char *const argv[] = { "gridrun-helper", "map", (char *)pool, idx, p, NULL };

	snprintf(idx, sizeof(idx), "%u", index);
	snprintf(p, sizeof(p), "%d", (int)pid);
	return call(argv, pidfd, out, sizeof(out), NULL, err);
}

int gr_helper_lsm_add(const char *pool, unsigned index, pid_t pid, int pidfd, struct gr_lsm_reg *reg,
		      struct gr_error **err)
{
	char idx[16], p[16], out[32];
	char *const argv[] = { "gridrun-helper", "lsm-add", (char *)pool, idx, p, NULL };
	unsigned long long key;
	int n = 0, r;

	if (pid <= 0 || !gr_lsm_maybe_loaded())
		return 0;
	snprintf(idx, sizeof(idx), "%u", index);
	snprintf(p, sizeof(p), "%d", (int)pid);
	r = call(argv, pidfd, out, sizeof(out), NULL, err);
	if (r < 0)
		return gr_error_prefix(err, "lsm");
	if (sscanf(out, "%llu\n%n", &key, &n) != 1 || out[n])
		return gr_error_set(err, EPROTO, "helper: unexpected answer `%.40s`", out);
	if (key == 0)
		return 0;
	reg->job = key;
	reg->via_helper = true;
	reg->index = index;
	snprintf(reg->pool, sizeof(reg->pool), "%s", pool);
	return 1;
}

/* "denials TOTAL N0 .. N16\n" at line into *out; *next after it. */
static int denials_answer(const char *line, const char **next, struct gr_lsm_denials *out)
{
	unsigned long long v[GR_LSM_HOOKS + 1];
	const char *q = line + 7;
	int n = 0;

	if (strncmp(line, "denials", 7))
		return -EPROTO;
	for (unsigned i = 0; i <= GR_LSM_HOOKS; i++) {
		if (sscanf(q, " %llu%n", &v[i], &n) != 1)
			return -EPROTO;
		q += n;
	}
	if (*q != '\n')
		return -EPROTO;
	*next = q + 1;
	out->loaded = true;
	out->total = v[0];
	for (unsigned h = 0; h < GR_LSM_HOOKS; h++)
		out->hook[h] = v[h + 1];
	return 0;
}

int gr_helper_lsm_del(struct gr_lsm_reg *reg, struct gr_lsm_denials *out, struct gr_error **err)
{
	char idx[16], ans[512];
	char *const argv[] = { "gridrun-helper", "lsm-del", reg->pool, idx, NULL };
	const char *q;
	int r;

	memset(out, 0, sizeof(*out));
	if (!reg->via_helper || !reg->job)
		return 0;
	reg->job = 0;
	reg->via_helper = false;
	snprintf(idx, sizeof(idx), "%u", reg->index);
	r = call(argv, -1, ans, sizeof(ans), NULL, err);
	if (r < 0)
		return gr_error_prefix(err, "lsm");
	if (!strcmp(ans, "none\n"))
		return 0;
	if (denials_answer(ans, &q, out) < 0 || *q) {
		memset(out, 0, sizeof(*out));
		return gr_error_set(err, EPROTO, "helper: unexpected answer `%.40s`", ans);
	}
	return 1;
}

int gr_helper_release(const char *pool, unsigned index, int dirfd, unsigned long *walked,
		      struct gr_lsm_denials *den, struct gr_error **err)
{
	char idx[16], out[1024];
	char *const argv[] = { "gridrun-helper", "release", (char *)pool, idx, dirfd >= 0 ? "sandbox" : NULL, NULL };
	struct gr_lsm_denials d = { 0 };
	char *p = out;
	const char *q;
	int r, len = 0;

	snprintf(idx, sizeof(idx), "%u", index);
	if (den)
		memset(den, 0, sizeof(*den));
	r = call(argv, dirfd, out, sizeof(out), NULL, err);
	if (r < 0)
		return r;
	if (dirfd >= 0) {
		unsigned long n = 0;

		if (sscanf(out, "walked %lu\n%n", &n, &len) != 1 || !len)
			return gr_error_set(err, EPROTO, "helper: unexpected answer `%.40s`", out);
		if (walked)
			*walked = n;
		p += len;
	}
	if (!strncmp(p, "denials", 7)) {
		if (denials_answer(p, &q, &d) < 0)
			return gr_error_set(err, EPROTO, "helper: unexpected answer `%.40s`", p);
		p += q - p;
		if (den)
			*den = d;
	}
	if (!p[0])
		return 0;
	if (strncmp(p, "blocked: ", 9))
		return gr_error_set(err, EPROTO, "helper: unexpected answer `%.40s`", out);
	p[strcspn(p, "\n")] = '\0';
	gr_error_set(err, EBUSY, "%s", p + 9);
	return 1;
}

int gr_helper_gc(const char *pool, struct gr_lease_gc_stats *st, struct gr_error **err)
{
	char *const argv[] = { "gridrun-helper", "gc", (char *)pool, NULL };
	unsigned reclaimed, freed;
	char out[64];
	int n = 0, r;

	r = call(argv, -1, out, sizeof(out), NULL, err);
	if (r < 0)
		return r;
	if (sscanf(out, "%u %u\n%n", &reclaimed, &freed, &n) != 2 || out[n])
		return gr_error_set(err, EPROTO, "helper: unexpected answer `%.40s`", out);
	if (st) {
		st->reclaimed += reclaimed;
		st->freed += freed;
	}
	return 0;
}
