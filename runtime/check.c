/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check.c - `gridrun check` (design §2, §10); contract in check.h. The
 * kernel config files are read by kconfig.c.
 *
 * Decisions:
 *  - "Required" means the default job cannot start without it, in any mode:
 *    user, PID, IPC and UTS namespaces (the spec's default set; mount
 *    namespaces have no Kconfig option), procfs, tmpfs, devpts and mqueue
 *    (mountns.c mounts all four unconditionally), seccomp filters (the
 *    grid-default profile always loads), and the syscalls supervisor.c, init.c and
 *    mountns.c call without a fallback (clone3, pidfds, the new mount API,
 *    openat2, close_range's CLOSE_RANGE_CLOEXEC, mount_setattr): in effect a
 *    5.12 kernel. Everything else degrades limits, accounting or an option.
 *  - Kconfig tells what was built, the running kernel what is usable now. So
 *    the report also probes each syscall (with arguments the kernel rejects
 *    before doing anything: only ENOSYS means absent, or filtered), the
 *    sysctls, the active LSMs, and finally unshare(user|mnt|pid|ipc|uts) in a
 *    forked child, as this process and, when we are root, as uid 65534. That
 *    last probe decides helper and unprivileged mode: it also catches
 *    Ubuntu's AppArmor userns restriction, container seccomp filters and
 *    chroots, which no sysctl shows.
 *  - The helper's path is fixed at build time (GRIDRUN_HELPER_PATH) and never
 *    taken from the environment: check reports what a run would use.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cg-discover.h"
#include "check.h"
#include "kconfig.h"
#include "landlock.h"
#include "lease.h"
#include "lsm.h"
#include "util.h"

#ifndef GRIDRUN_HELPER_PATH
#define GRIDRUN_HELPER_PATH "/usr/local/libexec/gridrun/gridrun-helper"
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
/* lsm_list_modules(2), 6.8: the same number on every architecture but alpha */
#ifndef __NR_lsm_list_modules
#define __NR_lsm_list_modules 461
#endif

#define KV(a, b) GR_KCONFIG_KV(a, b)
#define PROBE_UID 65534 /* nobody: the unprivileged caller of the unshare probe */
#define HELPER GRIDRUN_HELPER_PATH

enum st { ST_UNKNOWN, ST_PRESENT, ST_MODULE, ST_MISSING, ST_DISABLED, ST_NA };
static const char *const st_name[] = {
	"unknown", "present", "module", "missing", "disabled", "n/a",
};

enum { M_ROOT = 1, M_HELPER = 2, M_UNPRIV = 4, M_ALL = 7 };
static const char *const mode_name[] = { "root", "helper", "unprivileged" };

enum cg_mode { CG_NONE, CG_V1, CG_HYBRID, CG_V2 };

/* How an option is recognised in the running kernel when there is no config. */
enum probe { P_NONE, P_PATH, P_NS, P_PROCFS, P_FS, P_SECCOMP, P_CTL, P_BPFLSM, P_LANDLOCK };

struct kopt {
	const char *name;
	bool required;      /* no mode works without it */
	unsigned since;     /* a separate option from this kernel on, 0 always */
	const char *gives, *without;
	enum probe probe;
	const char *arg;
};

static const struct kopt kopts[] = {
	{ "CONFIG_NAMESPACES", true, 0, "namespaces", "no namespaces at all", P_NS, NULL },
	{ "CONFIG_USER_NS", true, 0, "user namespaces: the job's own uid/gid map",
	  "no user namespace: no job can start", P_PATH, "/proc/self/ns/user" },
	{ "CONFIG_PID_NS", true, 0, "PID namespace: own init, kill-all on exit",
	  "no PID namespace: jobs would see host processes", P_PATH, "/proc/self/ns/pid" },
	{ "CONFIG_IPC_NS", true, 0, "IPC namespace: private SysV IPC and mqueues",
	  "no IPC namespace: jobs would share SysV IPC", P_PATH, "/proc/self/ns/ipc" },
	{ "CONFIG_UTS_NS", true, 0, "UTS namespace: per-job hostname",
	  "no UTS namespace: the default spec's uts namespace fails", P_PATH, "/proc/self/ns/uts" },
	{ "CONFIG_PROC_FS", true, 0, "procfs: the job's /proc, uid_map writes",
	  "no procfs: no uid map, no /proc in the job", P_PROCFS, NULL },
	{ "CONFIG_TMPFS", true, 0, "tmpfs: /dev, /tmp, /var/tmp, /run, /dev/shm",
	  "no tmpfs: the job's mount tree cannot be built", P_FS, "tmpfs" },
	{ "CONFIG_UNIX98_PTYS", true, 0, "devpts: a private /dev/pts per job",
	  "no devpts: the job's /dev cannot be built", P_FS, "devpts" },
	{ "CONFIG_POSIX_MQUEUE", true, 0, "mqueue: the job's /dev/mqueue",
	  "no mqueue fs: the job's /dev cannot be built", P_FS, "mqueue" },
	{ "CONFIG_SECCOMP", true, 0, "seccomp",
	  "no seccomp: the job's syscall filter cannot load", P_SECCOMP, NULL },
	{ "CONFIG_SECCOMP_FILTER", true, 0, "seccomp BPF filters (grid-default profile)",
	  "no seccomp filters: the job's profile cannot load", P_PATH,
	  "/proc/sys/kernel/seccomp/actions_avail" },
	/* limits and exact accounting */
	{ "CONFIG_CGROUPS", false, 0, "cgroups: limits, exact accounting, kill-all",
	  "no limits, no exact accounting, no suspend", P_PATH, "/proc/self/cgroup" },
	{ "CONFIG_MEMCG", false, 0, "memory limit, peak, OOM events",
	  "no memory limit; memory_peak_bytes, oom_killed unknown", P_CTL, "memory" },
	{ "CONFIG_MEMCG_V1", false, KV(6, 11), "v1 memory controller (v1/hybrid nodes)",
	  "v1/hybrid nodes: no memory limit or peak", P_NONE, NULL },
	{ "CONFIG_CGROUP_PIDS", false, 0, "pids limit and peak",
	  "no process limit (fork bombs); pids_peak unknown", P_CTL, "pids" },
	{ "CONFIG_CGROUP_FREEZER", false, 0, "v1 freezer: suspend, race-free kill-all",
	  "v1/hybrid: no suspend, kill-all best effort", P_CTL, "freezer" },
	{ "CONFIG_CGROUP_SCHED", false, 0, "cpu controller", "no CPU quota or weight", P_CTL, "cpu" },
	{ "CONFIG_FAIR_GROUP_SCHED", false, 0, "CPU weight (cpu.weight, cpu.shares)",
	  "specs with a CPU weight fail", P_NONE, NULL },
	{ "CONFIG_CFS_BANDWIDTH", false, 0, "CPU quota (cpu.max, cpu.cfs_quota_us)",
	  "specs with a CPU quota fail", P_NONE, NULL },
	{ "CONFIG_CGROUP_CPUACCT", false, 0, "v1 cpuacct: the job's user/system CPU time",
	  "v1/hybrid: cpu_user_ns, cpu_system_ns unknown", P_CTL, "cpuacct" },
	{ "CONFIG_BLK_CGROUP", false, 0, "io limits, io_read/write_bytes",
	  "no io limits; io bytes unknown", P_CTL, "blkio" },
	{ "CONFIG_BLK_DEV_THROTTLING", false, 0, "io bps/iops limits (io.max, blkio.throttle.*)",
	  "specs with blockIO throttles fail unless optional", P_NONE, NULL },
	{ "CONFIG_BFQ_GROUP_IOSCHED", false, 0, "io weights (BFQ: io.bfq.weight, blkio.bfq.weight)",
	  "specs with blockIO weights fail unless optional", P_NONE, NULL },
	/* optional features */
	{ "CONFIG_NET_NS", false, 0, "network namespace (gridrun.network none)",
	  "jobs with network none fail; host network works", P_PATH, "/proc/self/ns/net" },
	{ "CONFIG_TIME_NS", false, 0, "time namespace, when a spec asks for one",
	  "specs asking for a time namespace fail", P_PATH, "/proc/self/ns/time" },
	{ "CONFIG_BPF_SYSCALL", false, 0, "bpf(2), for the optional BPF LSM policy", "the optional BPF LSM policy cannot load",
	  P_PATH, "/proc/sys/kernel/unprivileged_bpf_disabled" },
	{ "CONFIG_BPF_LSM", false, 0, "BPF LSM hooks, for the optional BPF LSM policy",
	  "the optional BPF LSM policy cannot load", P_BPFLSM, NULL },
	{ "CONFIG_DEBUG_INFO_BTF", false, 0, "kernel BTF, for the optional BPF LSM policy",
	  "the optional BPF LSM policy cannot load", P_PATH, "/sys/kernel/btf/vmlinux" },
	{ "CONFIG_SECURITY_PATH", false, 0, "path LSM hooks, for the BPF LSM's set-id rules",
	  "the optional BPF LSM policy cannot load", P_NONE, NULL },
	{ "CONFIG_SECURITY_LANDLOCK", false, 0, "Landlock: a job writes only its own places",
	  "jobs run without the Landlock layer (writes limited by the mount tree alone)",
	  P_LANDLOCK, NULL },
};

struct sysctl_rule {
	const char *name;
	const char *op;     /* ">=" or "==" */
	long long value;
	bool absent_ok;     /* exists only on some kernels; absent means no restriction */
	unsigned lost;      /* modes lost when the rule fails */
	const char *why;
};

static const struct sysctl_rule sysctls[] = {
	{ "user.max_user_namespaces", ">=", 1, false, M_ALL, "user namespaces, root included" },
	{ "user.max_mnt_namespaces", ">=", 1, false, M_ALL, "mount namespaces" },
	{ "user.max_pid_namespaces", ">=", 1, false, M_ALL, "PID namespaces" },
	{ "user.max_ipc_namespaces", ">=", 1, false, M_ALL, "IPC namespaces" },
	{ "user.max_uts_namespaces", ">=", 1, false, M_ALL, "UTS namespaces" },
	{ "user.max_net_namespaces", ">=", 1, false, 0, "network none" },
	{ "kernel.unprivileged_userns_clone", "==", 1, true, M_HELPER | M_UNPRIV,
	  "user namespaces for non-root (Debian patch)" },
	{ "kernel.apparmor_restrict_unprivileged_userns", "==", 0, true, M_HELPER | M_UNPRIV,
	  "non-root userns keep capabilities (Ubuntu)" },
};

/* Syscalls and cgroup v2 files, with the kernel that brought them. */
enum iface { I_CLONE3, I_PIDFD_SIGNAL, I_WAITID_PIDFD, I_FSOPEN, I_OPENAT2, I_CLOSE_RANGE,
	     I_MOUNT_SETATTR, I_FILE, I_NSFS_HANDLE };

struct kiface {
	const char *name;
	unsigned since;
	bool required;
	enum iface probe;
	const char *v2file; /* a cgroup v2 file: n/a on v1 and hybrid nodes; NULL */
	const char *use;
};

static const struct kiface kifaces[] = {
	{ "clone3", KV(5, 3), true, I_CLONE3, NULL, "job created in its namespaces with a pidfd" },
	{ "pidfd_send_signal", KV(5, 1), true, I_PIDFD_SIGNAL, NULL, "signals never hit a reused pid" },
	{ "waitid(P_PIDFD)", KV(5, 4), true, I_WAITID_PIDFD, NULL, "reaping the job by its pidfd" },
	{ "fsopen/open_tree/move_mount", KV(5, 2), true, I_FSOPEN, NULL, "mount tree built by fds" },
	{ "openat2", KV(5, 6), true, I_OPENAT2, NULL, "mount targets never follow symlinks" },
	{ "close_range(CLOEXEC)", KV(5, 11), true, I_CLOSE_RANGE, NULL, "no stray fd reaches the job" },
	{ "mount_setattr", KV(5, 12), true, I_MOUNT_SETATTR, NULL, "ro/nosuid/nodev mounts, idmaps" },
	{ "CLONE_INTO_CGROUP", KV(5, 7), false, I_FILE, "", "job accounted from its first instruction" },
	{ "cgroup.freeze", KV(5, 2), false, I_FILE, "cgroup.freeze", "suspend/resume" },
	{ "cgroup.kill", KV(5, 14), false, I_FILE, "cgroup.kill", "kill-all (else freeze+kill)" },
	{ "memory.peak", KV(5, 19), false, I_FILE, "memory.peak", "exact memory peak (else sampled)" },
	{ "pids.peak", KV(6, 1), false, I_FILE, "pids.peak", "exact pids_peak (else sampled)" },
	{ "nsfs file handles", KV(6, 18), false, I_NSFS_HANDLE, NULL,
	  "a range's user namespace kept by an fd in flight keeps it quarantined" },
};

struct node {
	struct utsname uts;
	unsigned kver;              /* running kernel, KV() */
	const char *config;         /* config file read, NULL when probed */
	char boot[96];              /* /boot/config-RELEASE */
	unsigned config_kver;       /* from the config's "# Linux/ARCH X.Y.Z" line, 0 */
	enum st kst[ARRAY_SIZE(kopts)];
	enum cg_mode cg;
	char v2root[32];            /* mount point of the v2 hierarchy, "" none */
	char own_v2[512];           /* our cgroup in it, "" unknown */
	const struct gr_cg_discovery *disc;  /* libcgroup's view (cg-discover.h); NULL: it failed */
	char lsm[256];              /* active LSMs, "" unknown */
	const char *lsm_src;
	char fatal[512];            /* names of the missing required items */
	bool lost[3];               /* per mode_name[] */
	char why[3][160];
};

const char *gr_check_kconfig_option(size_t i)
{
	return i < ARRAY_SIZE(kopts) ? kopts[i].name : NULL;
}

const char *gr_check_sysctl_rule(size_t i, char *buf, size_t len)
{
	if (i >= ARRAY_SIZE(sysctls) || len == 0)
		return NULL;
	snprintf(buf, len, "%s %s %lld%s", sysctls[i].name, sysctls[i].op, sysctls[i].value,
		 sysctls[i].absent_ok ? " absent-ok" : "");
	return buf;
}

static bool path_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Whether word is a whole (space, comma or newline separated) word of list. */
static bool has_word(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += len)
		if ((p == list || strchr(" ,\n\t", p[-1])) && strchr(" ,\n\t", p[len]))
			return true;
	return false;
}

/* A small text file into buf, NUL-terminated, trailing newlines removed. */
static int read_small(const char *path, char *buf, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = gr_read_full(fd, buf, len - 1);
	if (n < 0)
		return n;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return 0;
}

/* ---- kernel config files (read by kconfig.c) ---- */

static void report_cb(const char *name, const char *value, void *data)
{
	enum st *kst = data;

	for (size_t i = 0; i < ARRAY_SIZE(kopts); i++)
		if (!strcmp(name, kopts[i].name))
			kst[i] = !strcmp(value, "m") ? ST_MODULE :
				 !strcmp(value, "n") ? ST_MISSING : ST_PRESENT;
}

/* ---- probes of the running kernel ---- */

/*
 * A controller is there if the v2 root offers it or libcgroup lists it
 * (from /proc/cgroups; enabled 0: switched off by cgroup_disable=). Newer
 * kernels hide from /proc/cgroups what cannot be used on v1, hence both.
 */
static enum st probe_controller(const struct node *n, const char *name)
{
	char buf[2048], path[64];

	snprintf(path, sizeof(path), "%s/cgroup.controllers", n->v2root);
	if (n->v2root[0] && read_small(path, buf, sizeof(buf)) == 0 &&
	    has_word(buf, strcmp(name, "blkio") ? name : "io"))
		return ST_PRESENT;
	if (!n->disc || !n->disc->nc)
		return path_exists("/proc/self/cgroup") ? ST_UNKNOWN : ST_MISSING;
	for (size_t i = 0; i < n->disc->nc; i++)
		if (!strcmp(n->disc->c[i].name, name))
			return n->disc->c[i].enabled ? ST_PRESENT : ST_DISABLED;
	return ST_MISSING;
}

static enum st probe_kopt(const struct node *n, const struct kopt *k)
{
	static const char *const ns[] = { "user", "pid", "ipc", "uts", "net" };
	char path[PATH_MAX], buf[4096];
	struct statfs sfs;

	switch (k->probe) {
	case P_NONE: /* MEMCG_V1, FAIR_GROUP_SCHED, CFS_BANDWIDTH: no reliable trace */
		return ST_UNKNOWN;
	case P_PATH:
		return path_exists(k->arg) ? ST_PRESENT : ST_MISSING;
	case P_NS:
		for (size_t i = 0; i < ARRAY_SIZE(ns); i++) {
			snprintf(path, sizeof(path), "/proc/self/ns/%s", ns[i]);
			if (path_exists(path))
				return ST_PRESENT;
		}
		return ST_MISSING;
	case P_PROCFS:
		return statfs("/proc", &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC ? ST_PRESENT : ST_MISSING;
	case P_FS: /* lines are "nodev\tNAME" or "\tNAME" */
		if (read_small("/proc/filesystems", buf, sizeof(buf) - 1) < 0)
			return ST_UNKNOWN;
		strcat(buf, "\n");
		snprintf(path, sizeof(path), "\t%s\n", k->arg);
		return strstr(buf, path) ? ST_PRESENT : ST_MISSING;
	case P_SECCOMP:
		return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL ? ST_MISSING : ST_PRESENT;
	case P_CTL:
		return probe_controller(n, k->arg);
	case P_BPFLSM: /* built but not active looks the same as not built */
		return has_word(n->lsm, "bpf") ? ST_PRESENT : ST_UNKNOWN;
	case P_LANDLOCK:
		return gr_landlock_abi() == -ENOSYS ? ST_MISSING : ST_PRESENT;
	}
	return ST_UNKNOWN;
}

/* 1 present, 0 missing, -1 cannot tell (decide by kernel version). */
static int probe_iface(const struct node *n, const struct kiface *k)
{
	_cleanup_close_ int pidfd = -1;
	char path[PATH_MAX];
	siginfo_t si;
	long r = -1;

	if (k->probe == I_PIDFD_SIGNAL || k->probe == I_WAITID_PIDFD) {
		pidfd = syscall(SYS_pidfd_open, getpid(), 0);
		if (pidfd < 0)
			return -1;
	}
	switch (k->probe) {
	case I_CLONE3: /* size 0 is below CLONE_ARGS_SIZE_VER0: EINVAL */
		r = syscall(SYS_clone3, NULL, 0);
		break;
	case I_PIDFD_SIGNAL:
		r = syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0);
		break;
	case I_WAITID_PIDFD: /* not our child: ECHILD when P_PIDFD is known, EINVAL before */
		return !(waitid(P_PIDFD, pidfd, &si, WEXITED | WNOHANG) < 0 && errno == EINVAL);
	case I_FSOPEN: /* EPERM without CAP_SYS_ADMIN, EINVAL (bad flags) with it */
		r = syscall(SYS_fsopen, NULL, ~0U);
		break;
	case I_OPENAT2: /* size 0 is below OPEN_HOW_SIZE_VER0: EINVAL */
		r = syscall(SYS_openat2, AT_FDCWD, "/", NULL, 0);
		break;
	case I_CLOSE_RANGE: /* an empty range above any fd: EINVAL when the flag is unknown */
		return syscall(SYS_close_range, ~0U, ~0U, CLOSE_RANGE_CLOEXEC) == 0;
	case I_MOUNT_SETATTR: /* size 0 is below MOUNT_ATTR_SIZE_VER0: EINVAL */
		r = syscall(SYS_mount_setattr, -1, NULL, 0, NULL, 0);
		break;
	case I_NSFS_HANDLE: /* as release asks (lease-nsalive.c) */
		return gr_lease_userns_handles();
	case I_FILE: /* v2 files exist in non-root cgroups only */
		if (!k->v2file[0] || !n->own_v2[0] || !strcmp(n->own_v2, "/"))
			return -1;
		snprintf(path, sizeof(path), "%s%s/%s", n->v2root, n->own_v2, k->v2file);
		return path_exists(path) ? 1 : -1;
	}
	if (r >= 0 && (k->probe == I_FSOPEN || k->probe == I_OPENAT2))
		close(r);
	return !(r < 0 && errno == ENOSYS);
}

/*
 * unshare(user|mnt|pid|ipc|uts), the namespaces of every job, in a forked
 * child, after dropping to PROBE_UID when asked: 0 ok, -errno, 1 child died.
 */
static int probe_unshare(bool as_nobody)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (as_nobody && (setgroups(0, NULL) < 0 || setresgid(PROBE_UID, PROBE_UID, PROBE_UID) < 0 ||
				  setresuid(PROBE_UID, PROBE_UID, PROBE_UID) < 0))
			_exit(255);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
			_exit(errno > 0 && errno < 254 ? errno : 254);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(status) || WEXITSTATUS(status) >= 254)
		return 1;
	return -WEXITSTATUS(status);
}

static const char *probe_text(int r)
{
	return r == 0 ? "ok" : r == 1 ? "probe child died" : strerror(-r);
}

/* Whether the helper would give privilege: setuid-root or file capabilities. */
static bool helper_state(char *why, size_t len)
{
	const char *what = NULL;
	struct statvfs vfs;
	struct stat st;
	bool ok = false;

	if (stat(HELPER, &st) < 0)
		what = errno == ENOENT ? "not installed" : strerror(errno);
	else if (!S_ISREG(st.st_mode))
		what = "not a regular file";
	/* the kernel ignores setuid bits and file capabilities on nosuid mounts */
	else if (statvfs(HELPER, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
		what = "on a nosuid mount";
	else if (access(HELPER, X_OK) < 0)
		what = "not executable by this user";
	else if ((ok = st.st_uid == 0 && (st.st_mode & S_ISUID)))
		what = "setuid-root";
	else if ((ok = getxattr(HELPER, "security.capability", NULL, 0) > 0))
		what = "file capabilities";
	else
		what = "neither setuid-root nor with file capabilities";
	snprintf(why, len, "%s: %s", HELPER, what);
	return ok;
}

/* ---- the report ---- */

__attribute__((format(printf, 3, 4)))
static void lose(struct node *n, unsigned mask, const char *fmt, ...)
{
	va_list ap;

	for (int m = 0; m < 3; m++) {
		if (!(mask & (1U << m)) || n->lost[m])
			continue;
		n->lost[m] = true;
		va_start(ap, fmt);
		vsnprintf(n->why[m], sizeof(n->why[m]), fmt, ap);
		va_end(ap);
	}
}

static void add_fatal(struct node *n, const char *what)
{
	size_t len = strlen(n->fatal);

	snprintf(n->fatal + len, sizeof(n->fatal) - len, "%s%s", len ? ", " : "", what);
	lose(n, M_ALL, "%s missing", what);
}

static void node_cgroups(struct node *n)
{
	char buf[4096], *line, *save = NULL;
	struct statfs sfs;

	n->cg = CG_NONE;
	if (statfs("/sys/fs/cgroup", &sfs) == 0) {
		if (sfs.f_type == CGROUP2_SUPER_MAGIC)
			n->cg = CG_V2;
		else if (sfs.f_type == CGROUP_SUPER_MAGIC)
			n->cg = CG_V1;
		else if (sfs.f_type == TMPFS_MAGIC) /* v1 hierarchies below, v2 maybe at unified */
			n->cg = statfs("/sys/fs/cgroup/unified", &sfs) == 0 &&
				sfs.f_type == CGROUP2_SUPER_MAGIC ? CG_HYBRID : CG_V1;
	}
	if (n->cg == CG_V2 || n->cg == CG_HYBRID)
		strcpy(n->v2root, n->cg == CG_V2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/unified");
	if (read_small("/proc/self/cgroup", buf, sizeof(buf)) < 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (!strncmp(line, "0::", 3))
			snprintf(n->own_v2, sizeof(n->own_v2), "%s", line + 3);
}

static void node_lsm(struct node *n)
{
	static const char *const names[] = { /* LSM_ID_* from 100 on, uapi/linux/lsm.h */
		"capability", "selinux", "smack", "tomoyo", "apparmor", "yama", "loadpin",
		"safesetid", "lockdown", "bpf", "landlock", "ima", "evm", "ipe",
	};
	uint64_t ids[32];
	uint32_t size = sizeof(ids);
	long cnt = -1;

	if (read_small("/sys/kernel/security/lsm", n->lsm, sizeof(n->lsm)) == 0) {
		n->lsm_src = "securityfs";
		return;
	}
	n->lsm[0] = '\0';
#ifndef __alpha__
	cnt = syscall(__NR_lsm_list_modules, ids, &size, 0);
#endif
	for (long i = 0; i < cnt && i < (long)ARRAY_SIZE(ids); i++) {
		size_t len = strlen(n->lsm);
		uint64_t id = ids[i] - 100;

		snprintf(n->lsm + len, sizeof(n->lsm) - len, "%s%s", i ? "," : "",
			 id < ARRAY_SIZE(names) ? names[id] : "?");
	}
	if (cnt > 0)
		n->lsm_src = "lsm_list_modules";
}

static int node_init(struct node *n, const char *override, const struct gr_cg_discovery *disc,
		     struct gr_error **err)
{
	unsigned a = 0, b = 0;
	int r;

	memset(n, 0, sizeof(*n));
	n->disc = disc;
	if (uname(&n->uts) < 0)
		return gr_error_sys(err, errno, "uname");
	sscanf(n->uts.release, "%u.%u", &a, &b);
	n->kver = KV(a, b);
	node_cgroups(n);
	node_lsm(n);

	n->config = gr_kconfig_find(override, n->uts.release, n->boot, sizeof(n->boot));
	for (size_t i = 0; i < ARRAY_SIZE(kopts); i++)
		n->kst[i] = n->config ? ST_MISSING : probe_kopt(n, &kopts[i]);
	if (n->config) {
		r = gr_kconfig_scan(n->config, report_cb, n->kst, &n->config_kver, err);
		if (r < 0)
			return gr_error_prefix(err, "kernel config");
	}
	for (size_t i = 0; i < ARRAY_SIZE(kopts); i++) {
		unsigned kv = n->config ? n->config_kver : n->kver;

		if (kopts[i].since && kv && kv < kopts[i].since)
			n->kst[i] = ST_NA;
		/* built, but switched off with cgroup_disable= on this boot */
		if (!override && n->kst[i] == ST_PRESENT && kopts[i].probe == P_CTL &&
		    probe_controller(n, kopts[i].arg) == ST_DISABLED)
			n->kst[i] = ST_DISABLED;
	}
	return 0;
}

__attribute__((format(printf, 4, 5)))
static void row(FILE *out, const char *name, const char *status, const char *fmt, ...)
{
	va_list ap;

	fprintf(out, "  %-30s %-10s ", name, status);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

static void print_kconfig(FILE *out, struct node *n)
{
	fprintf(out, "\nKernel options (%s)\n", n->config ? n->config : "probed: no config file");
	for (size_t i = 0; i < ARRAY_SIZE(kopts); i++) {
		const struct kopt *k = &kopts[i];
		bool bad = n->kst[i] == ST_MISSING || n->kst[i] == ST_DISABLED;

		row(out, k->name, st_name[n->kst[i]], "%s%s", bad && k->required ? "every mode lost: " : "",
		    bad ? k->without : n->kst[i] == ST_NA ? "part of MEMCG before 6.11" : k->gives);
		if (bad && k->required)
			add_fatal(n, k->name);
	}
}

static void print_sysctls(FILE *out, struct node *n)
{
	fprintf(out, "\nSysctls\n");
	for (size_t i = 0; i < ARRAY_SIZE(sysctls); i++) {
		const struct sysctl_rule *s = &sysctls[i];
		char path[128], val[64], label[256] = "", *p, *end;
		long long v;
		bool ok;
		int r;

		snprintf(path, sizeof(path), "/proc/sys/%s", s->name);
		for (p = path + strlen("/proc/sys/"); *p; p++)
			if (*p == '.')
				*p = '/';
		r = read_small(path, val, sizeof(val));
		if (r == -ENOENT && s->absent_ok) {
			fprintf(out, "  %-46s %-10s %-7s not on this kernel: no such restriction\n",
				s->name, "absent", "ok");
			continue;
		} else if (r < 0) {
			fprintf(out, "  %-46s %-10s %-7s cannot read: %s\n", s->name, "?", "unknown",
				strerror(-r));
			continue;
		}
		errno = 0;
		v = strtoll(val, &end, 10);
		ok = !errno && end != val && (!strcmp(s->op, ">=") ? v >= s->value : v == s->value);
		/* Ubuntu: a profile may grant "userns,"; the unshare probe then decides */
		if (!ok && !strcmp(s->name, "kernel.apparmor_restrict_unprivileged_userns") &&
		    read_small("/proc/self/attr/apparmor/current", label, sizeof(label)) == 0 &&
		    strncmp(label, "unconfined", 10)) {
			fprintf(out, "  %-46s %-10s %-7s confined by `%s`: needs `userns,` there\n",
				s->name, val, "profile", label);
			continue;
		}
		fprintf(out, "  %-46s %-10s %-7s needs %s %lld: %s%s\n", s->name, val, ok ? "ok" : "blocks",
			s->op, s->value, ok ? "" : s->lost == M_ALL ? "every mode lost: " :
			s->lost ? "helper, unprivileged lost: " : "", s->why);
		if (!ok && s->lost == M_ALL)
			add_fatal(n, s->name);
		else if (!ok && s->lost)
			lose(n, s->lost, "%s=%s", s->name, val);
	}
}

static void print_ifaces(FILE *out, struct node *n)
{
	fprintf(out, "\nKernel interfaces (kernel %s; gridrun needs >= 5.12)\n", n->uts.release);
	for (size_t i = 0; i < ARRAY_SIZE(kifaces); i++) {
		const struct kiface *k = &kifaces[i];
		const char *note = k->use;
		int p = probe_iface(n, k);
		enum st st;

		if (k->v2file && n->cg != CG_V2) {
			st = ST_NA;
			note = "cgroup v2 only; this node uses the v1 backend";
		} else if (p >= 0) {
			st = p ? ST_PRESENT : ST_MISSING;
			if (!p && k->probe == I_NSFS_HANDLE)
				note = "not seen: a range's user namespace kept alive by an nsfs fd in flight "
				       "(SCM_RIGHTS), or not in the host's PID namespace";
			else if (!p && n->kver >= k->since)
				note = "ENOSYS on a kernel that has it: a seccomp filter?";
		} else {
			st = n->kver >= k->since ? ST_PRESENT : ST_MISSING;
		}
		row(out, k->name, st_name[st], "since %u.%-3u %s%s", k->since / 1000, k->since % 1000,
		    st == ST_MISSING && k->required ? "every mode lost: " : "", note);
		if (st == ST_MISSING && k->required)
			add_fatal(n, k->name);
	}
}

static void print_lsm_cgroups(FILE *out, const struct node *n)
{
	static const char *const mode[] = { "none", "v1", "hybrid", "v2" };
	static const char *const note[] = {
		"no cgroup filesystem at /sys/fs/cgroup: no limits, no exact accounting",
		"legacy: one hierarchy per controller; v1 backend",
		"v1 controllers, v2 at /sys/fs/cgroup/unified; v1 backend",
		"unified; v2 backend",
	};
	char path[PATH_MAX], ctl[512] = "", ll[256];
	int abi = gr_landlock_abi();

	fprintf(out, "\nLSMs\n");
	if (n->lsm[0])
		row(out, "active", "known", "%s (%s)", n->lsm, n->lsm_src);
	else
		row(out, "active", "unknown", "no securityfs at /sys/kernel/security, kernel < 6.8");
	row(out, "bpf", !n->lsm[0] ? "unknown" : has_word(n->lsm, "bpf") ? "active" : "inactive",
	    "the optional BPF LSM policy needs bpf in the lsm= list");
	row(out, "gridrun-lsm", gr_lsm_loaded() ? "loaded" : "not loaded", "%s (gridrun-lsm load)",
	    gr_lsm_pin_dir());
	row(out, "landlock", abi > 0 ? "active" : abi == -ENOSYS ? "missing" : "inactive", "%s",
	    gr_landlock_describe(abi, ll, sizeof(ll)));

	fprintf(out, "\nCgroups\n");
	row(out, "mode", mode[n->cg], "%s", note[n->cg]);
	if (!n->disc)
		row(out, "hierarchies", "unknown", "libcgroup could not list them");
	for (size_t i = 0; n->disc && i < n->disc->nh; i++)
		row(out, n->disc->h[i].controllers[0] ? n->disc->h[i].controllers : "(no controllers)",
		    n->disc->h[i].version == 2 ? "v2" : "v1", "%s", n->disc->h[i].path);
	if (!n->v2root[0])
		return;
	snprintf(path, sizeof(path), "%s/cgroup.controllers", n->v2root);
	read_small(path, ctl, sizeof(ctl));
	row(out, "v2 controllers", ctl[0] ? "listed" : "none", "%s",
	    ctl[0] ? ctl : "(all bound to v1 hierarchies, or none enabled)");
	snprintf(path, sizeof(path), "%s%s", n->v2root, n->own_v2);
	if (n->own_v2[0])
		row(out, "own v2 cgroup", access(path, W_OK) == 0 ? "writable" : "read-only", "%s",
		    n->own_v2);
}

static void print_isolation(FILE *out, struct node *n)
{
	static const char *const gives[] = {
		"privileged steps done by gridrun itself",
		"leased uid ranges (the account must be allowed in gridrun.conf)",
		"one-uid map: privacy rests on mount/PID/IPC namespaces only",
	};
	uid_t euid = geteuid();
	char helper[PATH_MAX + 64], who[32];
	bool helper_ok = helper_state(helper, sizeof(helper));
	int ns_self = probe_unshare(false);
	int ns_unpriv = euid == 0 ? probe_unshare(true) : ns_self;
	int mode;

	fprintf(out, "\nIsolation (euid %u)\n", (unsigned)euid);
	row(out, "gridrun-helper", helper_ok ? "usable" : "no", "%s", helper);
	snprintf(who, sizeof(who), "namespaces as uid %u", (unsigned)euid);
	row(out, who, ns_self ? "fail" : "ok", "unshare(user,mnt,pid,ipc,uts): %s", probe_text(ns_self));
	snprintf(who, sizeof(who), "namespaces as uid %u", PROBE_UID);
	if (euid == 0)
		row(out, who, ns_unpriv ? "fail" : "ok", "unshare(user,mnt,pid,ipc,uts): %s",
		    probe_text(ns_unpriv));

	if (euid != 0)
		lose(n, M_ROOT, "not running as root");
	else if (ns_self)
		lose(n, M_ROOT, "unshare as root: %s", probe_text(ns_self));
	if (!helper_ok)
		lose(n, M_HELPER, "%s", helper);
	if (ns_unpriv)
		lose(n, M_HELPER | M_UNPRIV, "unshare as non-root: %s", probe_text(ns_unpriv));
	for (int m = 0; m < 3; m++)
		row(out, mode_name[m], n->lost[m] ? "lost" : "available", "%s",
		    n->lost[m] ? n->why[m] : gives[m]);

	/* the mode this invocation gets: root when root, else the helper, else one uid */
	if (euid == 0)
		mode = n->lost[0] ? -1 : 0;
	else
		mode = !n->lost[1] ? 1 : !n->lost[2] ? 2 : -1;
	if (mode >= 0)
		fprintf(out, "isolation: %s\n", mode_name[mode]);
	else if (euid == 0)
		fprintf(out, "isolation: none (%s)\n", n->why[0]);
	else
		fprintf(out, "isolation: none (helper: %s; unprivileged: %s)\n", n->why[1], n->why[2]);
}

int gr_check_report(FILE *out, const char *config_override, struct gr_error **err)
{
	_cleanup_free_ struct node *n = calloc(1, sizeof(*n));
	_cleanup_gr_cg_discovery_ struct gr_cg_discovery disc = { 0 };
	_cleanup_gr_error_ struct gr_error *site_err = NULL;
	bool have_disc;
	int r, site;

	if (!n)
		return gr_error_set(err, ENOMEM, "check: out of memory");
	/* the controllers and where they are mounted, through libcgroup */
	have_disc = gr_cg_discover(&disc, NULL) == 0;
	r = node_init(n, config_override, have_disc ? &disc : NULL, err);
	if (r < 0)
		return gr_error_prefix(err, "check");
	fprintf(out, "gridrun check: kernel %s %s\n", n->uts.release, n->uts.machine);
	print_kconfig(out, n);
	print_sysctls(out, n);
	print_ifaces(out, n);
	print_lsm_cgroups(out, n);
	site = gr_check_site(out, &site_err);
	print_isolation(out, n);
	if (fflush(out) != 0 || ferror(out))
		return gr_error_sys(err, errno ? errno : EIO, "check: write the report");
	if (n->fatal[0])
		return gr_error_set(err, EOPNOTSUPP, "check: this node cannot run gridrun: missing %s",
				    n->fatal);
	if (site < 0 && err)
		*err = TAKE_PTR(site_err);
	return site;
}
