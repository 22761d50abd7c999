/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "cgroups.h"
#include "cgroupns.h"
#include "gr-seccomp.h"
#include "init.h"
#include "landlock.h"
#include "mountns.h"
#include "netns.h"
#include "sync.h"
#include "util.h"

const int gr_forwarded_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
const unsigned gr_nforwarded_signals = ARRAY_SIZE(gr_forwarded_signals);

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static void noop_handler(int sig)
{
	(void)sig;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Every fd above stdio but keep[0..n) (-1 entries are nothing); sorts keep. */
static int close_fds_except(int *keep, size_t n)
{
	unsigned from = 3;

	qsort(keep, n, sizeof(*keep), cmp_int);
	for (size_t k = 0; k < n; k++) {
		if (keep[k] < 3 || (unsigned)keep[k] < from)
			continue;
		if ((unsigned)keep[k] > from && close_range(from, (unsigned)keep[k] - 1, 0) < 0)
			return -errno;
		from = (unsigned)keep[k] + 1;
	}
	if (close_range(from, ~0U, 0) < 0)
		return -errno;
	return 0;
}

static const char *spec_path_env(const struct gr_spec *spec)
{
	for (size_t i = 0; i < spec->nenv; i++)
		if (!strncmp(spec->env[i], "PATH=", 5))
			return spec->env[i] + 5;
	return DEFAULT_PATH;
}

/* execve, searching PATH of the job's env when args[0] has no '/'. */
static int exec_job(const struct gr_spec *spec, struct gr_error **err)
{
	const char *prog = spec->args[0];
	const char *path, *p;
	int saw_eacces = 0;
	char buf[PATH_MAX];

	if (strchr(prog, '/')) {
		execve(prog, spec->args, spec->env);
		goto fail;
	}
	path = spec_path_env(spec);
	for (p = path;; p = strchr(p, ':') + 1) {
		size_t len = strcspn(p, ":");

		if (len == 0)
			snprintf(buf, sizeof(buf), "%s", prog);
		else
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, prog);
		execve(buf, spec->args, spec->env);
		if (errno == EACCES)
			saw_eacces = 1;
		else if (errno != ENOENT && errno != ENOTDIR)
			goto fail;
		if (!p[len])
			break;
	}
	errno = saw_eacces ? EACCES : ENOENT;
fail:
	{
		int e = errno;
		int r = gr_error_sys(err, e, "exec `%s`", prog);

		(*err)->code = (e == ENOENT || e == ENOTDIR) ? GR_EXIT_NOTFOUND : GR_EXIT_NOEXEC;
		return r;
	}
}

static int job_prepare(const struct gr_spec *spec, struct gr_error **err)
{
	sigset_t none;
	int sig;

	/* init blocked and caught signals: the job starts with defaults */
	for (sig = 1; sig < _NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (setsid() < 0)
		return gr_error_sys(err, errno, "setsid");
	for (size_t i = 0; i < spec->nrlimits; i++) {
		const struct gr_rlimit *l = &spec->rlimits[i];
		struct rlimit rl = { .rlim_cur = l->soft, .rlim_max = l->hard };

		if (setrlimit(l->resource, &rl) < 0)
			return gr_error_sys(err, errno, "process.rlimits[%zu]: set limit %d to %llu/%llu",
					    i, l->resource, l->soft, l->hard);
	}
	if (chdir(spec->cwd) < 0)
		return gr_error_sys(err, errno, "process.cwd `%s`", spec->cwd);
	/* OCI process.user.umask and process.oomScoreAdj (spec-oci.c) */
	if (gr_spec_oci_apply_in_child(spec, err) < 0)
		return -1;
	if (gr_caps_drop_in_child(err) < 0)
		return -1;
	/* stdio passes through; everything else is gone at exec */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return gr_error_sys(err, errno, "close inherited fds");
	return 0;
}

__attribute__((noreturn)) static void job_main(const struct gr_spec *spec,
						const struct gr_seccomp *filter, int rulesetfd,
						int errfd)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	struct gr_sync_msg m = { .step = GR_SYNC_ERROR };

	/* Landlock after no_new_privs (which landlock_restrict_self() needs
	 * without CAP_SYS_ADMIN) and before seccomp, so that no profile can
	 * deny its syscalls; seccomp last: only the execve (and its PATH
	 * search) runs filtered, none of gridrun's setup */
	if (job_prepare(spec, &err) >= 0 &&
	    (rulesetfd < 0 || gr_landlock_restrict_in_child(rulesetfd, &err) >= 0) &&
	    gr_seccomp_install_in_child(filter, &err) >= 0)
		exec_job(spec, &err);
	m.errnum = err ? err->errnum : 0;
	m.code = gr_error_exit_code(err);
	snprintf(m.text, sizeof(m.text), "%s", err ? err->msg : "job setup failed");
	(void)!write(errfd, &m, sizeof(m));
	_exit(m.code);
}

/*
 * The job is started like posix_spawn() does it: clone(CLONE_VM |
 * CLONE_VFORK) on a stack of its own. init is suspended until the job has
 * exec'd (or failed), so the child may use init's memory as if it were init;
 * nothing is copied, which saves the page-table copy and the copy-on-write
 * faults of a fork(), about a millisecond per job. The child has its own
 * file table, signal dispositions, credentials and seccomp filter (none of
 * CLONE_FILES, CLONE_SIGHAND, CLONE_THREAD), so what it changes stays its own.
 */
#define JOB_STACK_SIZE (1024 * 1024)

struct job_start {
	const struct gr_spec *spec;
	const struct gr_seccomp *filter;
	int rulesetfd;                    /* -1: no Landlock domain */
	int close_fds[3];
	int errfd;
};

static int job_entry(void *data)
{
	const struct job_start *js = data;

	for (int i = 0; i < 3; i++)
		close(js->close_fds[i]);
	job_main(js->spec, js->filter, js->rulesetfd, js->errfd);
}

static pid_t start_job(struct job_start *js, struct gr_error **err)
{
	char *stack = mmap(NULL, JOB_STACK_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	pid_t pid;

	if (stack == MAP_FAILED)
		return gr_error_sys(err, errno, "map the job's start stack");
	/* a guard page below it */
	if (mprotect(stack, 4096, PROT_NONE) < 0) {
		munmap(stack, JOB_STACK_SIZE);
		return gr_error_sys(err, errno, "map the job's start stack");
	}
#ifdef __SANITIZE_ADDRESS__
	/* ASan cannot follow a switch to a stack it did not make (it warns on
	 * the job's stderr): sanitizer builds start the job with a plain fork */
	pid = fork();
	if (pid == 0)
		job_entry(js);
#else
	pid = clone(job_entry, stack + JOB_STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, js);
#endif
	if (pid < 0)
		gr_error_sys(err, errno, "start the job");
	/* the child has exec'd or exited: its stack is free again */
	munmap(stack, JOB_STACK_SIZE);
	return pid;
}

static void ns_from_timeval(const struct timeval *tv, uint64_t *ns)
{
	*ns = (uint64_t)tv->tv_sec * 1000000000ull + (uint64_t)tv->tv_usec * 1000ull;
}

/*
 * Kill whatever is left in the namespace; returns how many were killed.
 * kill(-1) costs a walk of every process on the host (the kernel looks at
 * each to find the namespace's), which on a node running 1000 jobs made
 * every job's end cost more: it is skipped when init has no child left.
 * Every process of the namespace that the job started descends from init,
 * and an orphan is re-parented to init before its parent can be reaped,
 * so no child means no process of the job. (One that entered the
 * namespace from outside by setns() has its parent outside; the kernel
 * kills it when init exits, as before, but it was never the job's.)
 */
static int kill_the_rest(void)
{
	int killed = 0;
	pid_t p;

	/* reap what already ended by itself: not "killed at end" */
	while ((p = waitpid(-1, NULL, WNOHANG | __WALL)) > 0)
		;
	if (p < 0 && errno == ECHILD)
		return 0;
	/* as init of the namespace, kill(-1) reaches every process in it */
	if (kill(-1, SIGKILL) < 0 && errno == ESRCH)
		return 0;
	for (;;) {
		p = waitpid(-1, NULL, __WALL);

		if (p > 0)
			killed++;
		else if (errno != EINTR)
			break;
	}
	return killed;
}

__attribute__((noreturn)) static void init_loop(const struct gr_child_ctx *ctx, pid_t job, int sfd)
{
	struct gr_sync_result res = { 0 };
	bool done = false;

	while (!done) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n != sizeof(si)) {
			if (n < 0 && errno == EINTR)
				continue;
			_exit(GR_EXIT_ERROR);
		}
		if (si.ssi_signo == SIGTSTP || si.ssi_signo == SIGCONT) {
			/* suspend without a cgroup freezer: stop (or continue)
			 * every process of the namespace, init excepted */
			kill(-1, si.ssi_signo == SIGTSTP ? SIGSTOP : SIGCONT);
			continue;
		}
		if (si.ssi_signo != SIGCHLD) {
			kill(job, si.ssi_signo);
			continue;
		}
		for (;;) {
			struct rusage ru;
			int status;
			pid_t p = wait4(-1, &status, WNOHANG | __WALL, &ru);

			if (p <= 0)
				break;
			if (p == job) {
				res.wait_status = status;
				ns_from_timeval(&ru.ru_utime, &res.ru_utime_ns);
				ns_from_timeval(&ru.ru_stime, &res.ru_stime_ns);
				res.ru_maxrss_kb = ru.ru_maxrss;
				done = true;
				break;
			}
		}
	}
	/* sync #5 MAIN_EXITED: child -> parent, the main process ended; thaw before init kills the rest */
	gr_sync_send(ctx->syncfd, GR_SYNC_MAIN_EXITED, NULL);
	res.killed_at_end = kill_the_rest();
	{
		struct rusage self;

		getrusage(RUSAGE_SELF, &self);
		ns_from_timeval(&self.ru_utime, &res.init_utime_ns);
		ns_from_timeval(&self.ru_stime, &res.init_stime_ns);
	}
	/* sync #6 RESULT: child -> parent, the main process's status and rusage */
	gr_sync_send_result(ctx->syncfd, &res, NULL);
	_exit(0);
}

static int init_setup(const struct gr_child_ctx *ctx, struct gr_error **err)
{
	const struct gr_spec *spec = ctx->spec;
	const char *hostname = spec->hostname ? spec->hostname : "gridrun";
	struct gr_mount_plan plan = {
		.root_path = spec->root_path,
		.sandbox = spec->sandbox,
		.sandbox_mnt = ctx->sandbox_mnt,
		.sandbox_cover = spec->sandbox_cover,
		.mounts = spec->mounts,
		.nmounts = spec->nmounts,
		.masked_paths = spec->masked_paths,
		.nmasked_paths = spec->nmasked_paths,
		.readonly_paths = spec->readonly_paths,
		.nreadonly_paths = spec->nreadonly_paths,
		.tmpfs_size = spec->tmpfs_size,
		.template_root = ctx->mnt_template,
	};
	struct gr_mount_sources src;
	int mnt = -1;
	int r;

	/* sync #1 MAPS_DONE: parent -> child, uid_map/gid_map written */
	/* (with the sandbox's idmapped mount, when the helper made it after our clone) */
	if (gr_sync_wait_fd(ctx->syncfd, GR_SYNC_MAPS_DONE, NULL, &mnt, err) < 0)
		return -1;
	if (mnt >= 0 && plan.sandbox_mnt < 0)
		plan.sandbox_mnt = mnt;
	else if (mnt >= 0)
		close(mnt);
	/*
	 * Only now: a non-dumpable process's /proc/PID files belong to root, so
	 * an unprivileged supervisor could not have written our maps. From here
	 * on, nothing in the job can ptrace init or read its /proc entries.
	 */
	/* OCI (spec-oci.c): oomScoreAdj while still dumpable */
	if (gr_spec_oci_oom_in_child(spec, err) < 0)
		return -1;
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		return gr_error_sys(err, errno, "set non-dumpable");
	/* still with the supervisor's ids: sources are the caller's to reach */
	if (gr_mountns_sources(&plan, &src, err) < 0)
		return -1;
	if (gr_userns_in_child(&ctx->ids, err) < 0)
		return -1;
	/*
	 * Changing uids cleared the parent-death signal (commit_creds()): arm it
	 * again, then make sure the supervisor did not die in between - its end
	 * of the sync socket would have hung up.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return gr_error_sys(err, errno, "set the parent-death signal");
	{
		struct pollfd p = { .fd = ctx->syncfd, .events = POLLRDHUP };

		if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP)))
			return gr_error_set(err, EPIPE, "the supervisor died during setup");
	}
	/* a failure from here on ends this process, sources and all */
	if (sethostname(hostname, strlen(hostname)) < 0)
		return gr_error_sys(err, errno, "sethostname `%s`", hostname);
	if ((spec->namespaces & CLONE_NEWNET) && gr_netns_in_child(err) < 0)
		return -1;
	if (gr_mountns_in_child(&plan, &src, err) < 0)
		return -1;
	/* sync #2 READY: child -> parent, the mount tree is built; init waits for #3 (held: until released) */
	if (gr_sync_send(ctx->syncfd, GR_SYNC_READY, err) < 0)
		return -1;
	/* sync #3 ATTACHED: parent -> child, init is in the job's cgroups, the job not yet forked */
	if (gr_sync_wait(ctx->syncfd, GR_SYNC_ATTACHED, NULL, err) < 0)
		return -1;
	/* H4: only now, attached, can init's cgroups become the namespace's root */
	r = gr_cgroupns_in_child(ctx->job_id, ctx->view_fds, ctx->nviews, err);
	for (size_t i = 0; i < ctx->nviews; i++)
		if (ctx->view_fds[i] >= 0)
			close(ctx->view_fds[i]);
	return r;
}

__attribute__((noreturn)) void gr_init_main(const struct gr_child_ctx *ctx)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	struct sigaction sa = { .sa_handler = noop_handler };
	struct gr_sync_msg m;
	sigset_t mask;
	int errpipe[2], sfd;
	pid_t job;
	ssize_t n;
	int rulesetfd = -1;

	/* The supervisor's death kills init and so the namespace (R1). The
	 * supervisor cannot have died yet unnoticed: its end of the sync socket
	 * would read EOF at sync #1. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* v1: into the job's cgroups before anything else, still single-threaded
	 * and with the supervisor's ids (cgroups.h); the job forks from here */
	if (gr_cgroup_attach_self(ctx->attach_fds, ctx->nattach, &err) < 0)
		goto fail;
	{
		int keep[2 + GR_CGROUP_VIEW_MAX];
		size_t nkeep = 0;

		keep[nkeep++] = ctx->syncfd;
		keep[nkeep++] = ctx->sandbox_mnt;
		for (size_t i = 0; i < ctx->nviews && i < GR_CGROUP_VIEW_MAX; i++)
			keep[nkeep++] = ctx->view_fds[i];
		if (close_fds_except(keep, nkeep) < 0)
			_exit(GR_EXIT_ERROR);
	}

	/* Signals from the ancestor namespace reach an init only if it has a
	 * handler; keep them blocked and read them from a signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	for (unsigned i = 0; i < gr_nforwarded_signals; i++) {
		sigaction(gr_forwarded_signals[i], &sa, NULL);
		sigaddset(&mask, gr_forwarded_signals[i]);
	}
	sigaction(SIGTSTP, &sa, NULL);
	sigaddset(&mask, SIGTSTP);
	sigaction(SIGCONT, &sa, NULL);
	sigaddset(&mask, SIGCONT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		gr_error_sys(&err, errno, "signalfd");
		goto fail;
	}

	if (init_setup(ctx, &err) < 0)
		goto fail;
	/* the job's paths, after pivot_root and before any of its code ran */
	if (ctx->landlock_abi > 0 &&
	    (rulesetfd = gr_landlock_ruleset_in_child(ctx->spec, ctx->landlock_abi, &err)) < 0)
		goto fail;

	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		gr_error_sys(&err, errno, "pipe");
		goto fail;
	}
	{
		struct job_start js = { .spec = ctx->spec, .filter = ctx->seccomp, .errfd = errpipe[1],
					.rulesetfd = rulesetfd,
					.close_fds = { errpipe[0], sfd, ctx->syncfd } };

		job = start_job(&js, &err);
	}
	close(errpipe[1]);
	if (rulesetfd >= 0)
		close(rulesetfd);
	if (job < 0) {
		close(errpipe[0]);
		goto fail;
	}
	do
		n = read(errpipe[0], &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	close(errpipe[0]);
	if (n == sizeof(m)) {
		/* the job never started: pass its error on word for word */
		m.text[sizeof(m.text) - 1] = '\0';
		waitpid(job, NULL, 0);
		send(ctx->syncfd, &m, sizeof(m), MSG_NOSIGNAL);
		_exit(m.code);
	}
	/* sync #4 EXEC_DONE: child -> parent, the job's program runs */
	/* (sent once exec closed the CLOEXEC pipe with EOF) */
	if (gr_sync_send(ctx->syncfd, GR_SYNC_EXEC_DONE, &err) < 0)
		goto fail_job;
	/* init itself needs no privilege to reap and kill in its namespace */
	if (gr_caps_drop_in_child(&err) < 0)
		goto fail_job;
	init_loop(ctx, job, sfd);

fail_job:
	kill(job, SIGKILL);
fail:
	gr_sync_send_error(ctx->syncfd, err);
	_exit(gr_error_exit_code(err));
}
