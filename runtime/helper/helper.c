/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * helper.c - gridrun-helper's entry, request parser and privilege handling.
 * The contract, the request grammar and the order of privilege changes are
 * in helper.h; the steps themselves are in helper-act.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <linux/securebits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper-int.h"
#include "util.h"

int gr_helper_fail(struct gr_error **err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = gr_error_vset(err, errnum, fmt, ap);
	va_end(ap);
	if (err && *err)
		(*err)->code = code;
	return r;
}

/* A decimal in [min, max]: digits only, no sign, space or leading zero. */
static int parse_number(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 10 || strspn(s, "0123456789") != n || (s[0] == '0' && n > 1))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

static bool job_id_ok(const char *id)
{
	size_t n = strlen(id);

	return n >= 1 && n <= GR_JOB_ID_MAX && id[0] != '.' &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

#define USAGE GR_HELPER_USAGE

#define bad(err, ...) gr_helper_fail(err, GR_HELPER_EXIT_USAGE, EINVAL, __VA_ARGS__)

/* An argument as an error may quote it: at most 40 bytes, printable ASCII
 * only (a newline must not split the one line, nor an escape reach a tty). */
static const char *shown(const char *arg, char buf[48])
{
	size_t i;

	for (i = 0; arg[i] && i < 40; i++)
		buf[i] = arg[i] >= 0x20 && arg[i] < 0x7f ? arg[i] : '?';
	strcpy(buf + i, arg[i] ? "..." : "");
	return buf;
}

int gr_helper_parse(int argc, char *const argv[], struct gr_helper_req *req, struct gr_error **err)
{
	/* nargs, or (with the sandbox) nargs_sbx */
	static const struct { const char *name; enum gr_helper_op op; int nargs, nargs_sbx; } ops[] = {
		{ "lease", GR_HELPER_LEASE, 2, 4 }, { "map", GR_HELPER_MAP, 3, 3 },
		{ "release", GR_HELPER_RELEASE, 2, 3 }, { "gc", GR_HELPER_GC, 1, 1 },
		{ "lsm-add", GR_HELPER_LSM_ADD, 3, 3 }, { "lsm-del", GR_HELPER_LSM_DEL, 2, 2 },
		{ "lease-map", GR_HELPER_LEASE_MAP, 3, 5 },
	};
	unsigned long v;
	char q[48];
	int r, ids;

	memset(req, 0, sizeof(*req));
	if (argc < 2 || !argv || !argv[1])
		return gr_helper_fail(err, GR_HELPER_EXIT_USAGE, EINVAL, "no request (" USAGE ")");
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (!strcmp(argv[1], ops[i].name)) {
			req->op = ops[i].op;
			req->sandbox = ops[i].nargs_sbx != ops[i].nargs && argc == ops[i].nargs_sbx + 2;
			if (argc != ops[i].nargs + 2 && !req->sandbox)
				return gr_helper_fail(err, GR_HELPER_EXIT_USAGE, EINVAL,
						      ops[i].nargs_sbx != ops[i].nargs ?
						      "%s takes %d or %d arguments, not %d (" USAGE ")" :
						      "%s takes %d argument(s), not %d (" USAGE ")",
						      ops[i].name, ops[i].nargs,
						      ops[i].nargs_sbx != ops[i].nargs ? ops[i].nargs_sbx : argc - 2,
						      argc - 2);
		}
	if (!req->op)
		return gr_helper_fail(err, GR_HELPER_EXIT_USAGE, EINVAL, "unknown request (" USAGE ")");
	if (!gr_config_name_ok(argv[2]))
		return bad(err, "POOL: `%s` is not a pool name", shown(argv[2], q));
	snprintf(req->pool, sizeof(req->pool), "%s", argv[2]);
	switch (req->op) {
	case GR_HELPER_LEASE:
	case GR_HELPER_LEASE_MAP:
		if (!job_id_ok(argv[3]))
			return bad(err, "JOB_ID: `%s` is not a job id", shown(argv[3], q));
		snprintf(req->job_id, sizeof(req->job_id), "%s", argv[3]);
		ids = 4;
		if (req->op == GR_HELPER_LEASE_MAP) {
			r = parse_number(argv[4], GR_HELPER_PID_MAX, &v);
			if (r < 0 || v == 0)
				return bad(err, "PID: `%s` is not a pid (1-4194304)", shown(argv[4], q));
			req->pid = (pid_t)v;
			ids = 5;
		}
		if (!req->sandbox)
			break;
		if (parse_number(argv[ids], GR_POOL_LAST_UID, &v) < 0)
			return bad(err, "UID: `%s` is not an id inside the range", shown(argv[ids], q));
		req->uid = (uid_t)v;
		if (parse_number(argv[ids + 1], GR_POOL_LAST_UID, &v) < 0)
			return bad(err, "GID: `%s` is not an id inside the range", shown(argv[ids + 1], q));
		req->gid = (gid_t)v;
		break;
	case GR_HELPER_MAP:
	case GR_HELPER_RELEASE:
	case GR_HELPER_LSM_ADD:
	case GR_HELPER_LSM_DEL:
		r = parse_number(argv[3], GR_POOL_MAX_RANGES - 1, &v);
		if (r < 0)
			return bad(err, "INDEX: `%s` is not a range index (0-65535)", shown(argv[3], q));
		req->index = (unsigned)v;
		if (req->op == GR_HELPER_RELEASE && req->sandbox && strcmp(argv[4], "sandbox"))
			return bad(err, "release: `%s` is not `sandbox`", shown(argv[4], q));
		if (req->op == GR_HELPER_RELEASE || req->op == GR_HELPER_LSM_DEL)
			break;
		r = parse_number(argv[4], GR_HELPER_PID_MAX, &v);
		if (r < 0 || v == 0)
			return bad(err, "PID: `%s` is not a pid (1-4194304)", shown(argv[4], q));
		req->pid = (pid_t)v;
		break;
	case GR_HELPER_GC:
		break;
	}
	return 0;
}

/* fds 0-2 open (a closed one would be reused by the first file we open). */
static int sane_fds(struct gr_error **err)
{
	for (;;) {
		int fd = open("/dev/null", O_RDWR);

		if (fd < 0)
			return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "open /dev/null");
		if (fd > 2) {
			close(fd);
			break;
		}
	}
	/* fd 4 too until the request is known (gr_helper_narrow() closes it
	 * unless it is lease-map's sandbox) */
	if (syscall(SYS_close_range, GR_HELPER_SBXFD + 1, ~0U, 0) < 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "close_range");
	return 0;
}

/*
 * What entry resets, as execve(2) left it, from one read of /proc/self/status
 * instead of a system call a signal and one a capability (issue 13: 64
 * rt_sigaction and 48 PR_CAPBSET_READ calls, ~0.1 ms a run): the signals
 * inherited ignored (execve reset every handled one to SIG_DFL; an ignored
 * one stays ignored, so only those need resetting) and the bounding set. ok
 * false (no procfs, a short read): entry asks of every signal and capability.
 */
struct self_view {
	bool ok;
	unsigned long long sig_ign, cap_bnd;
};

/* The hex mask after key ("\nSigIgn:\t") in text. */
static int hex_field(const char *text, const char *key, unsigned long long *out)
{
	const char *p = strstr(text, key);
	char *end;

	if (!p)
		return -ENOENT;
	p += strlen(key);
	errno = 0;
	*out = strtoull(p, &end, 16);
	return end == p || errno || *end != '\n' ? -EINVAL : 0;
}

static void read_self(struct self_view *v)
{
	char buf[8192];
	size_t n = 0;
	ssize_t r = 0;
	struct statfs sf;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	v->ok = false;
	if (fd < 0)
		return;
	if (fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC)
		while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
			n += (size_t)r;
	close(fd);
	if (r != 0 || n == 0)   /* a read error, full buffer, or not procfs */
		return;
	buf[n] = '\0';
	v->ok = hex_field(buf, "\nSigIgn:\t", &v->sig_ign) == 0 &&
		hex_field(buf, "\nCapBnd:\t", &v->cap_bnd) == 0;
}

static void sane_signals(const struct self_view *v)
{
	/* the kernel's struct sigaction: glibc's sigaction() refuses its own
	 * signals (32, 33), which a caller can leave ignored all the same */
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		unsigned long mask;
	} dfl = { .handler = SIG_DFL };
	sigset_t none;

	for (int s = 1; s < NSIG; s++)
		if (!v->ok || (s <= 64 && (v->sig_ign >> (s - 1) & 1)))
			(void)syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof(dfl.mask)); /* KILL, STOP: EINVAL */
	signal(SIGXFSZ, SIG_IGN);
	/* a terminal stops its foreground group with no permission asked (S36) */
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * S36: the caller's scheduling is not the helper's. A caller that made
 * itself SCHED_IDLE or nice 19 before the exec (its own right) would have
 * the helper hold the pool's locks at that weight, behind everything else
 * of the caller's slot. With CAP_SYS_NICE (every capability until step 2
 * when setuid root; the file-capability list has it) the step runs
 * SCHED_OTHER at nice -20: its work is milliseconds long. The caller cannot
 * change either afterwards: the kernel asks its uid to be the helper's real
 * or effective uid (step 3, and euid 0 while the lease files are touched).
 * Best effort where the install gives no CAP_SYS_NICE.
 */
static const cap_value_t entry_only[] = { CAP_SYS_NICE };   /* step 1's; gone in step 2 */

static void sane_sched(void)
{
	struct sched_param none = { 0 };
	cap_t c;

	if (sched_setscheduler(0, SCHED_OTHER, &none) == 0 && setpriority(PRIO_PROCESS, 0, -20) == 0)
		return;
	/* file capabilities: permitted, not effective */
	c = cap_get_proc();
	if (c && cap_set_flag(c, CAP_EFFECTIVE, 1, entry_only, CAP_SET) == 0 && cap_set_proc(c) == 0) {
		(void)sched_setscheduler(0, SCHED_OTHER, &none);
		(void)setpriority(PRIO_PROCESS, 0, -20);
	}
	cap_free(c);
}

/*
 * What any request may need: CAP_SETUID and CAP_SETGID (euid 0 for the lease
 * files, the maps), CAP_KILL (release and gc kill the processes
 * that hold a range's ids: lease-reclaim.c), and for the sandbox hand-over
 * (and its walk back by release and gc) (handover.h) CAP_CHOWN,
 * CAP_DAC_READ_SEARCH, CAP_FOWNER (a chown that clears a set-user-ID bit
 * changes the mode too) and CAP_SYS_ADMIN (open_tree, idmapped mounts);
 * lease, release and gc also CAP_SYS_PTRACE (the /proc/PID/ns and /proc/PID/fd
 * links of every process) and CAP_SYS_ADMIN (a child's setns() into a user
 * namespace to read its map) to find who holds the range's user namespace
 * (lease-userns.c).
 * gr_helper_narrow() keeps only the parsed request's.
 */
static cap_value_t kept[] = { CAP_SETUID, CAP_SETGID, CAP_KILL, CAP_CHOWN, CAP_DAC_READ_SEARCH,
			      CAP_FOWNER, CAP_SYS_ADMIN, CAP_SYS_PTRACE };
static int nkept = 2;   /* until narrow_caps() found the others */
/* lsm-add and lsm-del (helper.h): not a prefix of kept[], so their own set */
static bool lsm_caps, lsm_sys_admin, lsm_kill;
/* lease-map and release: CAP_SYS_ADMIN beside kept[0..nkept) where it is
 * permitted, for the LSM's pins (lease-map registers the job, release drops
 * the range's entries), as lsm-add and lsm-del keep it */
static bool also_sys_admin;

static bool is_kept(cap_value_t v)
{
	for (int i = 0; i < (int)ARRAY_SIZE(kept); i++)
		if (kept[i] == v)
			return true;
	return false;
}

/* permitted and effective = kept[0..nkept), or the lsm requests' own set
 * (effective empty if !raise) */
static int set_caps(bool keep, bool raise, struct gr_error **err)
{
	cap_value_t set[ARRAY_SIZE(kept)];
	cap_t c = cap_init();
	int r = 0, n = 0;

	if (!c)
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "cap_init");
	if (lsm_caps) {
		set[n++] = CAP_SETUID;
		set[n++] = CAP_SETGID;
		if (lsm_kill)
			set[n++] = CAP_KILL;
		if (lsm_sys_admin)
			set[n++] = CAP_SYS_ADMIN;
	} else {
		for (; n < nkept; n++)
			set[n] = kept[n];
		if (also_sys_admin && nkept < (int)ARRAY_SIZE(kept))
			set[n++] = CAP_SYS_ADMIN;
	}
	if (keep && (cap_set_flag(c, CAP_PERMITTED, n, set, CAP_SET) < 0 ||
		     (raise && cap_set_flag(c, CAP_EFFECTIVE, n, set, CAP_SET) < 0)))
		r = gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "cap_set_flag");
	if (r == 0 && cap_set_proc(c) < 0)
		r = gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "set capabilities");
	cap_free(c);
	return r;
}

static bool have_cap(cap_t c, cap_value_t v)
{
	cap_flag_value_t f = CAP_CLEAR;

	return cap_get_flag(c, v, CAP_PERMITTED, &f) == 0 && f == CAP_SET;
}

static int raise_setpcap(void)
{
	cap_t c = cap_get_proc();
	cap_value_t v = CAP_SETPCAP;
	int r;

	if (!c)
		return -1;
	r = cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET);
	if (r == 0)
		r = cap_set_proc(c);
	cap_free(c);
	return r;
}

/* Only kept[] permitted; the rest leave the bounding set too when we can
 * (setuid-root: CAP_SETPCAP), so nothing exec'd could get them. */
static int narrow_caps(const struct self_view *view, struct gr_error **err)
{
	cap_t c = cap_get_proc();
	bool setuid_ok, setpcap;

	if (!c)
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "cap_get_proc");
	setuid_ok = have_cap(c, CAP_SETUID) && have_cap(c, CAP_SETGID);
	setpcap = have_cap(c, CAP_SETPCAP);
	/* the hand-over's capabilities only if all are there (file
	 * capabilities may grant just the two the leases need) */
	nkept = 2;
	if (have_cap(c, CAP_KILL))
		nkept = 3;
	if (nkept == 3 && have_cap(c, CAP_CHOWN) && have_cap(c, CAP_DAC_READ_SEARCH) &&
	    have_cap(c, CAP_FOWNER) && have_cap(c, CAP_SYS_ADMIN) && have_cap(c, CAP_SYS_PTRACE))
		nkept = (int)ARRAY_SIZE(kept);
	cap_free(c);
	if (!setuid_ok)
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, EPERM,
				      "not installed setuid-root or with file capabilities (cap_setuid,cap_setgid at least)");
	if (setpcap) {
		if (raise_setpcap() < 0)
			return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "raise CAP_SETPCAP");
		/* the bounding set's members (view), else every supported one */
		for (cap_value_t v = 0; view->ok ? v < 64 : CAP_IS_SUPPORTED(v); v++)
			if ((!view->ok || (view->cap_bnd >> v & 1)) && !is_kept(v) && cap_drop_bound(v) < 0)
				return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "drop bounding set");
		/* exec can never make this process (or a child) root again */
		if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
			  SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, 0, 0, 0) < 0)
			return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "securebits");
	}
	/* one prctl (libcap's cap_reset_ambient() first asks of each capability);
	 * EINVAL: a kernel without ambient capabilities, so none to clear */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "clear ambient capabilities");
	return set_caps(true, true, err);
}

int gr_helper_narrow(const struct gr_helper_req *req, struct gr_error **err)
{
	bool handover = req->sandbox;   /* lease, lease-map or release with the sandbox */
	/* lease looks for holders of a range before keeping it, as gc does */
	bool settles = req->op == GR_HELPER_RELEASE || req->op == GR_HELPER_GC || req->op == GR_HELPER_LEASE ||
		       req->op == GR_HELPER_LEASE_MAP;
	cap_t c;

	/* fd 4 is lease-map's sandbox, and no other request's */
	if (!(req->op == GR_HELPER_LEASE_MAP && req->sandbox))
		close(GR_HELPER_SBXFD);

	if (handover && nkept < (int)ARRAY_SIZE(kept))
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, EPERM,
				      "the sandbox hand-over needs cap_kill, cap_chown, cap_dac_read_search, "
				      "cap_fowner, cap_sys_admin and cap_sys_ptrace (installed with "
				      "cap_setuid,cap_setgid only?)");
	/* map needs the first two; lease, release and gc all (as many as
	 * are there: without CAP_KILL a holder left, without CAP_SYS_PTRACE a
	 * user namespace that cannot be looked for, keeps its range blocked,
	 * never leased) */
	if (req->op == GR_HELPER_LSM_ADD || req->op == GR_HELPER_LSM_DEL) {
		/* SETUID/SETGID for euid 0 (the pins are root's), SYS_ADMIN where
		 * permitted (bpf() before 6.5), KILL for lsm-del's holders */
		c = cap_get_proc();
		if (!c)
			return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "cap_get_proc");
		lsm_sys_admin = have_cap(c, CAP_SYS_ADMIN);
		lsm_kill = req->op == GR_HELPER_LSM_DEL && have_cap(c, CAP_KILL);
		cap_free(c);
		if (req->op == GR_HELPER_LSM_DEL && !lsm_kill)
			return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, EPERM,
					      "lsm-del needs cap_kill (installed with cap_setuid,cap_setgid only?)");
		lsm_caps = true;
	} else if (!handover && !settles) {
		nkept = 2;
	} else if (req->op == GR_HELPER_LEASE_MAP || req->op == GR_HELPER_RELEASE) {
		c = cap_get_proc();
		if (!c)
			return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "cap_get_proc");
		also_sys_admin = have_cap(c, CAP_SYS_ADMIN);
		cap_free(c);
	}
	return set_caps(true, true, err);
}

/* "Key:\tN N ..." of a /proc/PID/status text: the first n numbers. */
int gr_helper_status_field(const char *text, const char *key, unsigned long *vals, int n)
{
	size_t klen = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = l + klen;

		if (strncmp(l, key, klen))
			continue;
		for (int i = 0; i < n; i++) {
			char *end;

			errno = 0;
			vals[i] = strtoul(p, &end, 10);
			if (end == p || errno)
				return -EINVAL;
			p = end;
		}
		return 0;
	}
	return -ENOENT;
}

void gr_helper_clean_env(void)
{
	clearenv();
}

int gr_helper_enter(struct gr_helper_caller *c, struct gr_error **err)
{
	struct rlimit no_core = { 0, 0 };
	uid_t ruid = getuid();
	gid_t rgid = getgid();
	_cleanup_free_ char *status = NULL;
	unsigned long uids[2];
	struct self_view view;
	char path[64];
	int r;

	/* 1: before anything else, so nothing below can be watched or steered */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	gr_helper_clean_env();
	umask(077);
	setrlimit(RLIMIT_CORE, &no_core);
	read_self(&view);
	sane_signals(&view);
	sane_sched();
	*c = (struct gr_helper_caller){ .pidfd = -1, .uid = ruid, .gid = rgid };
	r = sane_fds(err);
	if (r < 0)
		return r;
	/* 2 */
	r = narrow_caps(&view, err);
	if (r < 0)
		return r;
	if (ruid == 0 || rgid == 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EPERM,
				      "the caller's uid or gid is 0: root mode needs no helper");
	/* 3: keep CAP_SETUID/SETGID across the uid change, then re-raise them
	 * (leaving euid 0 clears the effective set); real and saved uid 0, so
	 * that the caller cannot signal the helper (helper-shield.c) */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setresgid(rgid, rgid, rgid) < 0 ||
	    setresuid(0, ruid, 0) < 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "become the caller");
	r = set_caps(true, true, err);
	if (r < 0)
		return r;
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	c->pid = getppid();
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	/* never on fd 3 or 4, which are the request's (absent: the request is refused) */
	if (c->pidfd >= 0 && c->pidfd <= GR_HELPER_SBXFD) {
		int high = fcntl(c->pidfd, F_DUPFD_CLOEXEC, 10);

		close(c->pidfd);
		c->pidfd = high;
	}
	/* pinned: if our parent is still the one we asked about, the pidfd is its */
	if (c->pidfd < 0 || getppid() != c->pid)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, ESRCH, "the caller is gone");
	c->start = gr_proc_starttime(c->pid);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)c->pid);
	r = gr_read_file_at(AT_FDCWD, path, &status, NULL, NULL);
	if (r >= 0)
		r = gr_helper_status_field(status, "Uid:", uids, 2);
	if (r < 0 || c->start == 0 || syscall(SYS_pidfd_send_signal, c->pidfd, 0, NULL, 0) < 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, ESRCH, "the caller is gone");
	if (uids[0] != ruid || uids[1] != ruid)
		return gr_helper_fail(err, GR_HELPER_EXIT_REFUSED, EPERM,
				      "the caller (pid %d) does not run as uid %u", (int)c->pid,
				      (unsigned)ruid);
	return 0;
}

/* lease-map's map write with map's own effective set (helper.h): CAP_SETUID
 * and CAP_SETGID only; the others stay permitted (on false: effective again),
 * for the release that undoes a lease whose map failed. */
int gr_helper_map_caps(bool on, struct gr_error **err)
{
	cap_t c;
	int r = 0;

	if (!on)
		return set_caps(true, true, err);
	c = cap_get_proc();
	if (!c || cap_clear_flag(c, CAP_EFFECTIVE) < 0 || cap_set_flag(c, CAP_EFFECTIVE, 2, kept, CAP_SET) < 0 ||
	    cap_set_proc(c) < 0)
		r = gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "map's capabilities");
	cap_free(c);
	return r;
}

/* For the lease files, which are root's: euid 0 (and egid 0) for one step. */
int gr_helper_as_root(bool on, const struct gr_helper_caller *c, struct gr_error **err)
{
	int r;

	if (on) {
		if (setresgid(-1, 0, -1) < 0 || setresuid(-1, 0, -1) < 0)
			return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "euid 0 for the lease files");
		return 0;
	}
	/* gid first: CAP_SETGID is effective only while euid is 0 */
	if (setresgid(-1, c->gid, -1) < 0 || setresuid(-1, c->uid, -1) < 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "back to the caller's euid");
	r = set_caps(true, true, err);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return r;
}

int gr_helper_leave(const struct gr_helper_caller *caller, struct gr_error **err)
{
	uid_t u[3];
	gid_t g[3];
	cap_t c, empty;
	bool clean;
	int r;

	/* step 3 kept real and saved uid 0: the caller's in all three now */
	if (caller->uid != 0 && caller->uid != (uid_t)-1 && caller->gid != 0 && caller->gid != (gid_t)-1 &&
	    (set_caps(true, true, err) < 0 || setresgid(caller->gid, caller->gid, caller->gid) < 0 ||
	     setresuid(caller->uid, caller->uid, caller->uid) < 0))
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "become the caller");
	r = set_caps(false, false, err);
	if (r < 0)
		return r;
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (getresuid(&u[0], &u[1], &u[2]) < 0 || getresgid(&g[0], &g[1], &g[2]) < 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, errno, "getresuid");
	c = cap_get_proc();
	empty = cap_init();
	clean = c && empty && cap_compare(c, empty) == 0 &&
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_SETUID, 0, 0) == 0;
	cap_free(c);
	cap_free(empty);
	for (int i = 0; i < 3; i++)
		clean = clean && u[i] != 0 && g[i] != 0 && setfsuid((uid_t)-1) != 0 &&
			setfsgid((gid_t)-1) != 0;
	if (!clean || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return gr_helper_fail(err, GR_HELPER_EXIT_FAILED, EPERM, "privileges are still held after the step");
	return 0;
}
