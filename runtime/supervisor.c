/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gr-seccomp.h"
#include "init.h"
#include "landlock.h"
#include "memtrim.h"
#include "supervisor.h"
#include "helper.h"
#include "lsm.h"
#include "mnt-template.h"
#include "util.h"

const char *gr_reason_name(enum gr_reason r)
{
	switch (r) {
	case GR_REASON_EXITED: return "exited";
	case GR_REASON_SIGNALED: return "signaled";
	case GR_REASON_OOM: return "oom";
	case GR_REASON_KILLED_BY_REQUEST: return "killed_by_request";
	case GR_REASON_SETUP_ERROR: return "setup_error";
	case GR_REASON_SUPERVISOR_LOST: return "supervisor_lost";
	}
	return "unknown";
}

int gr_run_exit_status(const struct gr_run_result *res)
{
	switch (res->reason) {
	case GR_REASON_SIGNALED:
	case GR_REASON_KILLED_BY_REQUEST:
	case GR_REASON_OOM:
		return 128 + res->signal;
	default:
		return res->exit_code;
	}
}

static pid_t clone3_job(int flags, int *pidfd, int cgroupfd)
{
	struct clone_args args = {
		.flags = (unsigned)flags | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
	};

	if (cgroupfd >= 0) {
		/* accounted from the first instruction (5.7) */
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)cgroupfd;
	}
	return syscall(SYS_clone3, &args, sizeof(args));
}

static void close_all(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static void result_from_status(struct gr_run_result *res, int status)
{
	if (WIFSIGNALED(status)) {
		res->reason = GR_REASON_SIGNALED;
		res->signal = WTERMSIG(status);
		res->exit_code = 0;
	} else {
		res->reason = GR_REASON_EXITED;
		res->exit_code = WEXITSTATUS(status);
		res->signal = 0;
	}
}

/* A started job (gr_run_start() to gr_run_wait()); "the supervisor". */
struct gr_run {
	unsigned long long t0;           /* gr_run_start() began */
	unsigned long long t_clone0;     /* just before clone3: res->wall_ns */
	int syncfd, sigfd, pidfd;
	struct gr_cgroup *cg;
	pid_t pid;
	bool exec_done, have_result, ready;
	bool held;                       /* GR_RUN_HOLD: sync #3 not sent yet */
	bool killed_held;                /* ended before its release: the program never ran */
	bool exited;                     /* init's pidfd said it ended (not yet reaped) */
	bool sync_open;
	bool killed_by_request;          /* the grace period ran out, or gr_run_cancel() */
	bool stopped_by_signal;          /* suspended by SIGTSTP to init, not the freezer */
	bool trimmed;                    /* gr_memtrim_now() done */
	unsigned long long kill_deadline; /* CLOCK_MONOTONIC ns, 0 = none */
	int sample_ms;                   /* pids sampling period, backing off */
	struct gr_error *child_err;
	struct gr_run_result *res;
	const struct gr_run_hooks *hooks;
	const char *job_id;
	struct gr_lsm_reg lsm;
	sigset_t oldmask;
};

/* Whether init's next message, already queued, says the job's main process
 * ended (#5): a short job's end, read in the same wake-up as its exec. */
static bool main_end_queued(struct gr_run *s)
{
	struct gr_sync_msg m;
	ssize_t n;

	do
		n = recv(s->syncfd, &m, sizeof(m), MSG_PEEK | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(m) && m.step == GR_SYNC_MAIN_EXITED;
}

/* Handle one sync packet from the child; returns -EPIPE at EOF. */
static int on_sync(struct gr_run *s, int flags)
{
	struct gr_sync_msg m;
	ssize_t n;

	/*
	 * ECONNRESET: the child closed its end with a message of ours unread
	 * (#1b, sent while its setup was failing). The kernel reports that
	 * once, then hands out what the child sent before: its ERROR.
	 */
	do
		n = recv(s->syncfd, &m, sizeof(m), flags);
	while (n < 0 && (errno == EINTR || errno == ECONNRESET));
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	if ((size_t)n != sizeof(m))
		return -EPROTO;
	m.text[sizeof(m.text) - 1] = '\0';
	switch (m.step) {
	case GR_SYNC_READY:
		/* sync #2 READY: child -> parent, the mount tree is built; init waits for #3 (held: until released) */
		s->ready = true;
		break;
	case GR_SYNC_EXEC_DONE:
		/* sync #4 EXEC_DONE: child -> parent, the job's program runs */
		s->exec_done = true;
		s->res->t_exec = gr_now_ns() - s->t0;
		/* after #3 only: the caller's "running" (state.h); not for a
		 * program that has ended already (#5 queued behind #4) */
		if (s->hooks && s->hooks->exec_done && !s->child_err && !main_end_queued(s) &&
		    s->hooks->exec_done(s->hooks->data, &s->child_err) < 0) {
			if (!s->child_err)
				gr_error_set(&s->child_err, EIO, "the job's start hook failed");
			syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
		}
		break;
	case GR_SYNC_MAIN_EXITED:
		/* sync #5 MAIN_EXITED: child -> parent, the main process ended; thaw before init kills the rest */
		/* a frozen process (v1 freezer) cannot die; thaw the whole tree,
		 * sub-cgroups included, before init kills what is left */
		gr_cgroup_thaw_tree(s->cg);
		break;
	case GR_SYNC_RESULT:
		/* sync #6 RESULT: child -> parent, the main process's status and rusage */
		s->res->t_result = gr_now_ns() - s->t0;
		s->have_result = true;
		s->res->main = m.result;
		s->res->have_rusage = true;
		break;
	case GR_SYNC_ERROR:
		if (!s->child_err) {
			gr_error_set(&s->child_err, m.errnum, "%s", m.text);
			s->child_err->code = m.code;
		}
		break;
	default:
		return -EPROTO;
	}
	return 0;
}

/* Grace between a forwarded TERM/INT and kill-all: GRIDRUN_KILL_GRACE
 * seconds (decimal), 10 by default. */
static unsigned long long kill_grace_ns(void)
{
	const char *v = getenv("GRIDRUN_KILL_GRACE");
	double secs = v && *v ? strtod(v, NULL) : 10.0;

	if (secs < 0 || secs > 86400)
		secs = 10.0;
	return (unsigned long long)(secs * 1e9);
}

static void suspend_job(struct gr_run *s, bool frozen)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;

	/* the cgroup freezer stops every process at once, and nothing in the
	 * job can undo it; without one, init stops its whole namespace */
	if (gr_cgroup_freezer_path(s->cg) && gr_cgroup_freeze(s->cg, frozen, &e) == 0) {
		/* a freeze that once timed out (v1 can stay FREEZING while the
		 * job exits) fell back to TSTP below: the thaw alone would
		 * leave init stopped and the supervisor waiting for ever */
		if (!frozen && s->stopped_by_signal)
			syscall(SYS_pidfd_send_signal, s->pidfd, SIGCONT, NULL, 0);
		s->stopped_by_signal = false;
		return;
	}
	syscall(SYS_pidfd_send_signal, s->pidfd, frozen ? SIGTSTP : SIGCONT, NULL, 0);
	s->stopped_by_signal = frozen;
}

/* A held job ends before its program ever ran (delete or kill of an OCI
 * "created" job, gr_run_cancel()): nothing to be graceful about. */
static void kill_held(struct gr_run *s)
{
	s->killed_held = true;
	syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
}

static void on_signals(struct gr_run *s)
{
	struct signalfd_siginfo si;

	while (read(s->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if ((int)si.ssi_signo == GR_RUN_START_SIGNAL) {
			/* `gridrun start` (oci.h); once started, it means nothing */
			if (s->held)
				gr_run_release(s, NULL);
			continue;
		}
		if (si.ssi_signo == SIGTSTP || si.ssi_signo == SIGCONT) {
			suspend_job(s, si.ssi_signo == SIGTSTP);
			continue;
		}
		if (s->held && si.ssi_signo != SIGUSR1 && si.ssi_signo != SIGUSR2) {
			kill_held(s);
			continue;
		}
		syscall(SYS_pidfd_send_signal, s->pidfd, si.ssi_signo, NULL, 0);
		if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && !s->kill_deadline)
			s->kill_deadline = gr_now_ns() + kill_grace_ns();
	}
}

/* The job did not end within the grace period: kill all of it. */
static void kill_after_grace(struct gr_run *s)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;
	unsigned killed;

	s->killed_by_request = true;
	s->kill_deadline = 0;
	/* a frozen job cannot die: thaw first (v2's cgroup.kill needs no thaw) */
	if (gr_cgroup_freezer_path(s->cg))
		gr_cgroup_freeze(s->cg, false, &e);
	gr_error_free(TAKE_PTR(e));
	syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
	gr_cgroup_kill_all(s->cg, &killed, &e);
}

/*
 * Without a kernel peak counter (pids.peak, before 6.13) the supervisor
 * samples pids.current: every 100 ms for the first second, when fork
 * storms happen, then backing off to every 5 s, so that a node running a
 * thousand long jobs is not woken ten thousand times a second.
 */
#define SAMPLE_FIRST_MS 100
#define SAMPLE_MAX_MS 5000
#define TRIM_AFTER_NS 1000000000ull

static int poll_timeout(struct gr_run *s)
{
	int t;

	if (!s->sample_ms)
		s->sample_ms = SAMPLE_FIRST_MS;
	else if (gr_now_ns() - s->t0 > 1000000000ull && s->sample_ms < SAMPLE_MAX_MS)
		s->sample_ms = s->sample_ms * 2 > SAMPLE_MAX_MS ? SAMPLE_MAX_MS : s->sample_ms * 2;
	/* where the kernel keeps the peak the supervisor sleeps until something happens */
	t = gr_cgroup_needs_sampling(s->cg) ? s->sample_ms : -1;
	/* one wake-up, TRIM_AFTER_NS into a job that still runs, to give back
	 * what setting it up made resident (memtrim.h); short jobs never pay */
	if (!s->trimmed && s->exec_done) {
		unsigned long long now = gr_now_ns();
		int left = now - s->t0 >= TRIM_AFTER_NS ? 0 : (int)((s->t0 + TRIM_AFTER_NS - now) / 1000000 + 1);

		if (t < 0 || left < t)
			t = left;
	}

	if (s->kill_deadline) {
		unsigned long long now = gr_now_ns();
		int left = now >= s->kill_deadline ? 0 : (int)((s->kill_deadline - now) / 1000000 + 1);

		if (t < 0 || left < t)
			t = left;
	}
	return t;
}

/* Run until the job's init has exited (s->exited), or with until_exec
 * until its program runs. */
static void supervise(struct gr_run *s, bool until_exec)
{
	while (!s->exited && !(until_exec && s->exec_done)) {
		struct pollfd p[3] = {
			{ .fd = s->pidfd, .events = POLLIN },
			{ .fd = s->sigfd, .events = POLLIN },
			{ .fd = s->sync_open ? s->syncfd : -1, .events = POLLIN },
		};

		int n = poll(p, 3, poll_timeout(s));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			s->exited = true;
			break;
		}
		gr_cgroup_sample(s->cg);
		if (!s->trimmed && s->exec_done && gr_now_ns() - s->t0 >= TRIM_AFTER_NS) {
			gr_memtrim_now();
			s->trimmed = true;
		}
		if (p[1].revents)
			on_signals(s);
		if (s->kill_deadline && gr_now_ns() >= s->kill_deadline)
			kill_after_grace(s);
		if (p[2].revents && on_sync(s, 0) < 0)
			s->sync_open = false;
		if (p[0].revents)
			s->exited = true;
	}
}

/* The job's init has exited: what it still queued, then its wait status. */
static int reap(struct gr_run *s)
{
	siginfo_t info;

	while (s->sync_open && on_sync(s, MSG_DONTWAIT) == 0)
		;
	memset(&info, 0, sizeof(info));
	while (waitid(P_PIDFD, s->pidfd, &info, WEXITED) < 0 && errno == EINTR)
		;
	if (info.si_code == CLD_EXITED)
		return W_EXITCODE(info.si_status, 0);
	return info.si_status & 0x7f; /* killed or dumped: the signal */
}

/* Empty the job's cgroup, read its usage, remove it; OOM decides the reason. */
static int finish_cgroup(struct gr_run *s, struct gr_run_result *res, int r, struct gr_error **err)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;
	unsigned killed = 0;

	if (!s->cg)
		return r;
	/* the PID namespace is gone, so this finds nothing unless something
	 * escaped it; it is the guarantee, not the mechanism */
	gr_cgroup_kill_all(s->cg, &killed, &e);
	gr_error_free(TAKE_PTR(e));
	if (gr_cgroup_usage(s->cg, &res->cg, &e) < 0)
		gr_error_free(TAKE_PTR(e));
	if (res->cg.oom_kills > 0 && res->reason == GR_REASON_SIGNALED && res->signal == SIGKILL)
		res->reason = GR_REASON_OOM;
	if (gr_cgroup_destroy(TAKE_PTR(s->cg), &e) < 0 && r >= 0) {
		r = gr_error_set(err, e->errnum, "%s", e->msg);
	}
	return r;
}

void gr_run_signals(sigset_t *set)
{
	sigemptyset(set);
	for (unsigned i = 0; i < gr_nforwarded_signals; i++)
		sigaddset(set, gr_forwarded_signals[i]);
	/* TSTP freezes the job instead of stopping the supervisor; CONT thaws */
	sigaddset(set, SIGTSTP);
	sigaddset(set, SIGCONT);
	/* `gridrun start` releases a held job (oci.h) */
	sigaddset(set, GR_RUN_START_SIGNAL);
}


/* Wait for sync #2 (a held job): 0, or the child's error / its death. */
static int wait_ready(struct gr_run *s, struct gr_error **err)
{
	while (!s->ready && !s->child_err && s->sync_open)
		if (on_sync(s, 0) < 0)
			s->sync_open = false;
	if (s->ready)
		return 0;
	if (s->child_err) {
		int r = -(s->child_err->errnum ? s->child_err->errnum : EINVAL);

		if (err) {
			gr_error_free(*err);
			*err = TAKE_PTR(s->child_err);
		}
		return r;
	}
	return gr_error_set(err, EPIPE, "the job's init died during setup");
}

/* The end of every run, failed or not: the cgroup emptied and removed,
 * the BPF LSM's entry gone, the mask restored, s freed. */
static int run_finish(struct gr_run *s, int r, struct gr_error **err)
{
	struct gr_run_result *res = s->res;

	r = finish_cgroup(s, res, r, err);
	/* the job's tasks are gone */
	if (s->lsm.at_release) {
		/* lease-map's registration: the lease's release drops it, with its
		 * denials (job.c), no helper run here */
	} else if (s->lsm.via_helper) {
		struct gr_error *le = NULL;

		/* the job ran: a failure here costs only its record's count */
		if (gr_helper_lsm_del(&s->lsm, &res->lsm, &le) < 0 && getenv("GRIDRUN_DEBUG"))
			fprintf(stderr, "gridrun: debug: job %s: bpf lsm: %s, ignoring\n", s->job_id, le->msg);
		gr_error_free(le);
	} else {
		gr_lsm_unregister(&s->lsm, &res->lsm);
	}
	res->t_done = gr_now_ns() - s->t0;
	gr_error_free(s->child_err);
	if (s->syncfd >= 0)
		close(s->syncfd);
	if (s->sigfd >= 0)
		close(s->sigfd);
	if (s->pidfd >= 0)
		close(s->pidfd);
	sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
	free(s);
	return r;
}

int gr_run_start(const struct gr_spec *spec, const char *job_id, const struct gr_run_hooks *hooks,
		 unsigned flags, struct gr_run_result *res, struct gr_run **out, struct gr_error **err)
{
	_cleanup_gr_seccomp_ struct gr_seccomp *filter = NULL;
	struct gr_run *s;
	int sv[2] = { -1, -1 };
	sigset_t mask;
	siginfo_t info;
	int attach_fds[GR_CGROUP_ATTACH_MAX], nattach, view_fds[GR_CGROUP_VIEW_MAX], nviews;
	struct gr_mnt_home home;
	bool templ = false;
	int r;

	*out = NULL;
	memset(res, 0, sizeof(*res));
	res->reason = GR_REASON_SETUP_ERROR;
	res->exit_code = GR_EXIT_ERROR;
	s = calloc(1, sizeof(*s));
	if (!s)
		return gr_error_sys(err, ENOMEM, "supervisor");
	*s = (struct gr_run){ .t0 = gr_now_ns(), .syncfd = -1, .sigfd = -1, .pidfd = -1, .res = res,
			      .hooks = hooks, .job_id = job_id, .lsm = GR_LSM_REG_INIT, .sync_open = true };
	/* the job's seccomp filter, compiled before anything exists (design §8) */
	r = gr_seccomp_for_spec(spec, &filter, err);
	if (r >= 0 && hooks && hooks->range_at_maps)
		gr_userns_plan_pending(spec->uid, spec->gid, &res->ids);
	else if (r >= 0)
		r = gr_userns_plan(spec->uid, spec->gid, hooks ? hooks->range : NULL, &res->ids, err);
	if (r < 0) {
		free(s);
		return r;
	}
	res->landlock = gr_landlock_plan(spec, hooks && hooks->landlock_off);

	gr_run_signals(&mask);
	sigprocmask(SIG_BLOCK, &mask, &s->oldmask);
	s->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->sigfd < 0)
		return run_finish(s, gr_error_sys(err, errno, "signalfd"), err);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return run_finish(s, gr_error_sys(err, errno, "socketpair"), err);
	s->syncfd = sv[0];

	r = gr_cgroup_create(job_id, &spec->resources, &s->cg, err);
	if (r >= 0 && s->cg && hooks && hooks->cgroup_ready)
		r = hooks->cgroup_ready(hooks->data, s->cg, err);
	/* root: the job starts without our groups, and setgroups is denied */
	if (r >= 0)
		r = gr_userns_drop_groups(&res->ids, err);
	if (r < 0) {
		close(sv[1]);
		return run_finish(s, r, err);
	}
	/* v1: init attaches itself (cgroups.h), first thing, with our ids; its
	 * /sys/fs/cgroup gets our clones of the job's directories (cgroupns.h) */
	nattach = gr_cgroup_attach_fds(s->cg, attach_fds, ARRAY_SIZE(attach_fds), err);
	nviews = nattach < 0 ? 0 : gr_cgroup_view_fds(s->cg, view_fds, ARRAY_SIZE(view_fds), err);
	if (nattach < 0 || nviews < 0) {
		close(sv[1]);
		close_all(attach_fds, nattach);
		return run_finish(s, nattach < 0 ? nattach : nviews, err);
	}
	res->started_ns = gr_realtime_ns();
	s->t_clone0 = gr_now_ns();
	/* from the template (mnt-template.h): our mount namespace for the clone alone */
	if (hooks && hooks->mnt_template && *hooks->mnt_template >= 0) {
		struct gr_error *te = NULL;

		templ = gr_mnt_template_enter(*hooks->mnt_template, &home, &te) == 0;
		if (getenv("GRIDRUN_DEBUG"))
			fprintf(stderr, "gridrun: debug: job %s: %s\n", job_id,
				templ ? "mount template: the job's namespace is a copy of it" : te->msg);
		gr_error_free(te);
	}
	s->pid = clone3_job(spec->namespaces, &s->pidfd, gr_cgroup_clone_fd(s->cg));
	if (templ && s->pid != 0 && (r = gr_mnt_template_leave(&home, err)) < 0) {
		/* never go on in the template's namespace */
		if (s->pid > 0) {
			syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
			while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
				;
			close(s->pidfd);
		}
		s->pidfd = -1;
		close(sv[1]);
		close_all(attach_fds, nattach);
		close_all(view_fds, nviews);
		return run_finish(s, r, err);
	}
	if (templ && s->pid == 0) {
		/* the host's root and namespace are not init's to hold */
		gr_mnt_template_drop(&home);
		close(*hooks->mnt_template);
	}
	if (s->pid < 0) {
		r = gr_error_sys(err, errno, "clone3 into new namespaces");
		s->pidfd = -1;
		close(sv[1]);
		close_all(attach_fds, nattach);
		close_all(view_fds, nviews);
		return run_finish(s, r, err);
	}
	res->t_clone = gr_now_ns() - s->t0;
	if (s->pid == 0) {
		struct gr_child_ctx ctx = { .spec = spec, .job_id = job_id, .ids = res->ids, .syncfd = sv[1],
					    .seccomp = filter, .landlock_abi = res->landlock,
					    .sandbox_mnt = hooks && hooks->sandbox_mnt ? *hooks->sandbox_mnt : -1,
					    .attach_fds = attach_fds, .nattach = (size_t)nattach,
					    .view_fds = view_fds, .nviews = (size_t)nviews, .mnt_template = templ };

		close(sv[0]);
		gr_init_main(&ctx);
	}
	close(sv[1]);
	close_all(attach_fds, nattach);
	close_all(view_fds, nviews);
	res->pid = s->pid;

	/* the maps: by the helper in helper mode, else by this process */
	if (hooks && hooks->write_maps) {
		r = hooks->write_maps(hooks->maps_data, s->pid, s->pidfd, &res->ids, err);
		/* the BPF LSM through gridrun-helper (lsm-add), before sync #1:
		 * the helper checks init still runs as us, as for the maps */
		if (r >= 0 && hooks->lsm_add)
			r = hooks->lsm_add(hooks->maps_data, s->pid, s->pidfd, &s->lsm, err);
	} else {
		r = gr_userns_from_parent(s->pid, s->pidfd, &res->ids, err);
	}
	/* sync #1 MAPS_DONE: parent -> child, uid_map/gid_map written */
	/* (not written: the child gets EOF and exits); with the sandbox's
	 * idmapped mount when it was made after the clone (range_at_maps) */
	if (r >= 0)
		r = gr_sync_send_fd(s->syncfd, GR_SYNC_MAPS_DONE,
				    hooks && hooks->range_at_maps && hooks->sandbox_mnt ? *hooks->sandbox_mnt : -1, err);
	res->t_maps = gr_now_ns() - s->t0;
	/* the BPF LSM (lsm.h), if loaded: before sync #3, after which init forks the job
	 * (helper mode registered it with the maps, above) */
	if (r >= 0 && !(hooks && hooks->write_maps))
		r = gr_lsm_register(&s->lsm, s->pid, s->pidfd, &res->ids, err);
	/* known from here on, for the started hook (the job's state entry) */
	res->lsm.loaded = r >= 0 && s->lsm.job != 0;
	/* held: init has built its mount tree, only the exec is left */
	if (r >= 0 && (flags & GR_RUN_HOLD))
		r = wait_ready(s, err);
	s->held = true;
	if (r >= 0 && !(flags & GR_RUN_HOLD))
		gr_run_release(s, NULL);
	if (r >= 0 && hooks && hooks->started)
		r = hooks->started(hooks->data, s->pid, s->pidfd, s->cg, err);
	if (r < 0) {
		syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
		while (waitid(P_PIDFD, s->pidfd, &info, WEXITED) < 0 && errno == EINTR)
			;
		return run_finish(s, r, err);
	}
	if ((flags & GR_RUN_UNTIL_EXEC) && !s->held)
		supervise(s, true);
	*out = s;
	return 0;
}

int gr_run_release(struct gr_run *s, struct gr_error **err)
{
	(void)err;
	if (!s->held)
		return 0;
	s->held = false;
	/* a child whose setup failed meanwhile is gone: gr_run_wait() reads why */
	/* sync #3 ATTACHED: parent -> child, init is in the job's cgroups, the job not yet forked */
	(void)gr_sync_send(s->syncfd, GR_SYNC_ATTACHED, NULL);
	return 0;
}

void gr_run_cancel(struct gr_run *s)
{
	if (s->held) {
		kill_held(s);
		return;
	}
	s->killed_by_request = true;
	syscall(SYS_pidfd_send_signal, s->pidfd, SIGKILL, NULL, 0);
}

bool gr_run_held(const struct gr_run *s)
{
	return s->held;
}

int gr_run_wait(struct gr_run *s, struct gr_error **err)
{
	struct gr_run_result *res = s->res;
	int r, status;

	supervise(s, false);
	status = reap(s);
	res->t_exit = gr_now_ns() - s->t0;
	res->ended_ns = gr_realtime_ns();
	res->wall_ns = gr_now_ns() - s->t_clone0;
	if (s->child_err && !s->killed_held) {
		/* setup failed inside: the child's message, word for word */
		r = -(s->child_err->errnum ? s->child_err->errnum : EINVAL);
		res->exit_code = gr_error_exit_code(s->child_err);
		if (err) {
			gr_error_free(*err);
			*err = TAKE_PTR(s->child_err);
		}
	} else if (s->have_result) {
		result_from_status(res, res->main.wait_status);
		r = 0;
	} else if (s->exec_done || s->killed_held) {
		/* init itself was killed: by us after the grace period, or from
		 * outside; or, held, before the job's program ever ran */
		result_from_status(res, status);
		if ((s->killed_by_request || s->killed_held) && res->reason == GR_REASON_SIGNALED)
			res->reason = GR_REASON_KILLED_BY_REQUEST;
		r = 0;
	} else if (s->held && !s->child_err && WIFSIGNALED(status)) {
		/* a held job's init killed from outside (OCI kill KILL, oci.h) */
		result_from_status(res, status);
		r = 0;
	} else {
		r = gr_error_set(err, EPIPE, "the job's init died during setup (status 0x%x)", status);
	}
	return run_finish(s, r, err);
}

int gr_run(const struct gr_spec *spec, const char *job_id, const struct gr_run_hooks *hooks,
	   struct gr_run_result *res, struct gr_error **err)
{
	struct gr_run *s;
	int r = gr_run_start(spec, job_id, hooks, 0, res, &s, err);

	return r < 0 ? r : gr_run_wait(s, err);
}
