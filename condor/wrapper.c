// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gridrun-condor - HTCondor's USER_JOB_WRAPPER: runs the starter's job under
 * `gridrun run` and reports its usage back to the job ad over Chirp.
 *
 *   gridrun-condor /abs/path/of/job [ARGS...]      (argv as the starter builds it)
 *
 * The starter runs it as the slot user, in the job's environment, cwd and
 * stdio (../shared/htcondor-contract.md §1). It builds the spec from the
 * environment and the ads (condor-job.h), then runs `gridrun run` as its
 * child - it stays the starter's JobPid, so that:
 *  - signals: TERM INT HUP QUIT USR1 USR2 (gridrun's supervisor forwards
 *    them to the job) and TSTP/CONT (freeze/thaw) go to gridrun; KillSig,
 *    RemoveKillSig, HoldKillSig and CheckpointSig of the ad are caught
 *    too, and one outside that set reaches the job as SIGTERM (gridrun's
 *    init cannot deliver others; said once at start). Suspension needs no
 *    signal: HTCondor freezes the cgroup tree, the sandbox with it.
 *  - the job's status comes back unchanged: its exit code, or its fatal
 *    signal re-raised on the wrapper (core dumps off), so the starter's
 *    ExitBySignal/ExitSignal are the job's. gridrun's 128+N convention is
 *    undone by reading the accounting record, not guessed from the code.
 *  - cgroups: on v2, when the wrapper sits in HTCondor's NAME.slice/
 *    NAME.scope pair, GRIDRUN_CGROUP_BASE is the .slice, so the job cgroup
 *    is a sibling of the .scope, inside the delegated tree whose memory.max,
 *    freezer, cgroup.kill and cpu.stat are HTCondor's; elsewhere (v1, no
 *    HTCondor layout) gridrun's default: beneath the wrapper's own cgroups.
 *  - usage: every GRIDRUN_CONDOR_CHIRP_INTERVAL seconds (default 60; 0:
 *    never) the job cgroup's CPU and memory peak, and once before exit the
 *    accounting record's figures, go to the starter as Chirp delayed
 *    updates (ChirpGridrun*, chirp.h). No chirp config, or a failing
 *    server: logged on stderr, ignoring; the record stays in the scratch dir.
 *  - grace: GRIDRUN_KILL_GRACE is 86400 unless set, so that HTCondor's
 *    vacate timer, not gridrun's 10 s, ends a job that ignores KillSig.
 *  - condor_chirp in the job: the spec keeps the host network (the
 *    starter's server is on the host's loopback), and a Chirp config that
 *    the sandbox hides reaches the job as a copy bound at its own path,
 *    removed once gridrun has exited (condor-job.h).
 * Setup failures (its own, or gridrun's exit 125 before the job ran): one
 * line in $_CONDOR_WRAPPER_ERROR_FILE and on stderr, exit 125; gridrun's
 * messages about the spec name it "<gridrun-condor spec of JOB_ID>" (run
 * --spec-name), not the /dev/fd/N it is read from. The starter
 * then requeues the job (Idle). The file is never created otherwise. A job
 * that is not executable or not found (gridrun's 126/127) exits so, as a
 * shell wrapper's `exec "$@"` would.
 * It refuses to run as PID 1 (USE_PID_NAMESPACES = true would make it the
 * namespace's init and expect a status file it does not write).
 * gridrun is $GRIDRUN, else the `gridrun` beside this binary.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#include "chirp.h"
#include "condor-job.h"
#include "job.h"
#include "state.h"
#include "usage.h"
#include "cli-help.h"
#include "util.h"

extern char **environ;

/* gridrun's supervisor forwards these (runtime/init.c), TSTP/CONT freeze/thaw */
static const int passed_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGTSTP, SIGCONT };

static bool passed(int sig)
{
	for (size_t i = 0; i < ARRAY_SIZE(passed_signals); i++)
		if (passed_signals[i] == sig)
			return true;
	return false;
}

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
	va_list ap;

	fputs("gridrun-condor: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The starter's failure channel: one line, then exit 125 (job requeued). */
static int setup_failed(const char *msg)
{
	const char *path = getenv("_CONDOR_WRAPPER_ERROR_FILE");

	log_line("%s", msg);
	if (path && *path) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);

		if (fd >= 0) {
			dprintf(fd, "gridrun-condor: %s\n", msg);
			close(fd);
		} else {
			log_line("cannot write $_CONDOR_WRAPPER_ERROR_FILE `%s`: %s", path, strerror(errno));
		}
	}
	return GR_EXIT_ERROR;
}

static int fail_err(struct gr_error *e)
{
	return setup_failed(e && e->msg ? e->msg : "out of memory");
}

/* v2 with HTCondor's X.slice/X.scope: the .slice; else NULL (gridrun's default). */
static char *htcondor_slice(void)
{
	_cleanup_free_ char *text = NULL;
	struct statfs sf;
	char *p, *nl, *slash, *out = NULL;

	if (statfs("/sys/fs/cgroup", &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC ||
	    gr_read_file_at(AT_FDCWD, "/proc/self/cgroup", &text, NULL, NULL) < 0)
		return NULL;
	p = strstr(text, "0::/");
	if (!p || (p != text && p[-1] != '\n'))
		return NULL;
	p += 3;
	if ((nl = strchr(p, '\n')))
		*nl = '\0';
	slash = strrchr(p, '/');
	if (!slash || slash == p || strlen(slash) < 7 || strcmp(slash + strlen(slash) - 6, ".scope"))
		return NULL;
	*slash = '\0';
	if (strlen(p) < 6 || strcmp(p + strlen(p) - 6, ".slice"))
		return NULL;
	return asprintf(&out, "/sys/fs/cgroup%s", p) < 0 ? NULL : out;
}

static char *gridrun_path(void)
{
	char self[PATH_MAX];
	ssize_t n;
	char *out = NULL;

	if (getenv("GRIDRUN") && *getenv("GRIDRUN"))
		return strdup(getenv("GRIDRUN"));
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return strdup("/usr/local/bin/gridrun");
	self[n] = '\0';
	return asprintf(&out, "%s/gridrun", dirname(self)) < 0 ? NULL : out;
}

struct wrapper {
	struct gr_condor_job *job;
	char *state_dir;
	bool chirp_ok, chirp_failed_once;
	struct gr_chirp chirp;
	struct gr_condor_usage peak;   /* what the periodic updates saw */
	int record_rd;                 /* read end of gridrun's "fd:N" record pipe */
	off_t err_start;               /* stderr (a regular file) before gridrun ran; -1 */
};

static void chirp_send(struct wrapper *w, const struct gr_chirp_attr *a, size_t n, const char *what)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;

	if (!w->chirp_ok)
		return;
	if (gr_chirp_send(&w->chirp, a, n, 2000, &e) < 0 && !w->chirp_failed_once) {
		w->chirp_failed_once = true;
		log_line("%s usage update: %s, ignoring (gridrun's record goes to stderr at the end)", what, e->msg);
	}
}

static void chirp_periodic(struct wrapper *w)
{
	struct gr_condor_usage u;
	struct gr_chirp_attr a[3];

	if (!w->chirp_ok || gr_condor_live_usage(w->state_dir, w->job->job_id, &u, NULL) < 0)
		return;
	if (u.memory_known && u.memory_peak_bytes > w->peak.memory_peak_bytes)
		w->peak.memory_peak_bytes = u.memory_peak_bytes;
	gr_chirp_value_u64(&a[0], "ChirpGridrunCpuUserUsec", u.cpu_known, u.cpu_user_usec);
	gr_chirp_value_u64(&a[1], "ChirpGridrunCpuSysUsec", u.cpu_known, u.cpu_sys_usec);
	gr_chirp_value_u64(&a[2], "ChirpGridrunMemoryPeakBytes", u.memory_known, w->peak.memory_peak_bytes);
	chirp_send(w, a, ARRAY_SIZE(a), "periodic");
}

static void chirp_final(struct wrapper *w, const struct gr_condor_record *rec, const char *text)
{
	struct gr_chirp_attr a[7];
	char range[64];

	if (!w->chirp_ok) {
		log_line("no Chirp (%s), usage not sent to the job ad; gridrun's record: %s",
			 w->job->chirp_config ? "its config is unusable" : "_CONDOR_CHIRP_CONFIG is not set", text);
		return;
	}
	snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)rec->uid_first,
		 (unsigned long long)(rec->uid_first + rec->uid_count - 1));
	gr_chirp_value_u64(&a[0], "ChirpGridrunCpuUserUsec", rec->u.cpu_known, rec->u.cpu_user_usec);
	gr_chirp_value_u64(&a[1], "ChirpGridrunCpuSysUsec", rec->u.cpu_known, rec->u.cpu_sys_usec);
	gr_chirp_value_u64(&a[2], "ChirpGridrunMemoryPeakBytes", rec->u.memory_known, rec->u.memory_peak_bytes);
	gr_chirp_value_bool(&a[3], "ChirpGridrunOomKilled", rec->oom_killed);
	gr_chirp_value_u64(&a[4], "ChirpGridrunKilledAtEnd", rec->killed_at_end_known, rec->killed_at_end);
	gr_chirp_value_string(&a[5], "ChirpGridrunIsolation", rec->isolation);
	gr_chirp_value_string(&a[6], "ChirpGridrunUidRange", rec->uid_count ? range : NULL);
	w->chirp_failed_once = false;
	chirp_send(w, a, ARRAY_SIZE(a), "final");
	if (w->chirp_failed_once)
		log_line("gridrun's record: %s", text);
}

/* What gridrun wrote on the record pipe (it has exited: all of it is in
 * the pipe, one write of less than PIPE_BUF); NULL: nothing. */
static char *read_record(int fd)
{
	char buf[8192];
	ssize_t n = 0, r;

	while (n < (ssize_t)sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += r;
	}
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return n > 0 ? strdup(buf) : NULL;
}

/* gridrun's own last line on the job's stderr, when that is a file (the
 * starter opens it write-only: it is read again through /proc/self/fd/2). */
static char *gridrun_message(const struct wrapper *w)
{
	_cleanup_close_ int fd = -1;
	char buf[8192], *line, *out = NULL;
	struct stat st;
	ssize_t n;
	off_t from;

	if (w->err_start < 0 || fstat(STDERR_FILENO, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= w->err_start)
		return NULL;
	fd = open("/proc/self/fd/2", O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return NULL;
	from = st.st_size - w->err_start > (off_t)sizeof(buf) - 1 ? st.st_size - (off_t)sizeof(buf) + 1 : w->err_start;
	n = pread(fd, buf, sizeof(buf) - 1, from);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	line = strrchr(buf, '\n');
	line = line ? line + 1 : buf;
	if (!strncmp(line, "gridrun: ", 9))
		line += 9;
	return *line && asprintf(&out, "gridrun: %s", line) >= 0 ? out : NULL;
}

/* Child: exec gridrun run SPEC; an exec failure goes back over errfd. */
static void exec_gridrun(const char *gridrun, const char *spec_path, const char *spec_name,
			 const sigset_t *oldmask, pid_t parent, int errfd, const char *slice)
{
	char *const argv[] = { (char *)"gridrun", (char *)"run", (char *)"--spec-name", (char *)spec_name,
			       (char *)spec_path, NULL };
	int e;

	sigprocmask(SIG_SETMASK, oldmask, NULL);
	/* the wrapper SIGKILLed (KillSig = SIGKILL): gridrun and the job go too */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(GR_EXIT_ERROR);
	if (slice)
		setenv("GRIDRUN_CGROUP_BASE", slice, 1);
	/* HTCondor's MachineMaxVacateTime, not gridrun's 10 s, decides when a
	 * job that ignores KillSig is killed (Kill_Family) */
	setenv("GRIDRUN_KILL_GRACE", "86400", 0);
	execve(gridrun, argv, environ);
	e = errno;
	(void)!write(errfd, &e, sizeof(e));
	_exit(GR_EXIT_ERROR);
}

/* Forward signals, chirp periodically, until gridrun exits; its wait status. */
static int supervise(struct wrapper *w, pid_t pid, int sigfd, const int *map)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), tfd = -1;
	const char *iv = getenv("GRIDRUN_CONDOR_CHIRP_INTERVAL");
	double secs = iv && *iv ? strtod(iv, NULL) : 60.0;
	int status = 0;

	if (secs > 0 && secs < 86400 && w->chirp_ok) {
		long long ns = (long long)(secs * 1e9);
		struct itimerspec it = { .it_interval = { ns / 1000000000, ns % 1000000000 },
					 .it_value = { ns / 1000000000, ns % 1000000000 } };

		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (tfd >= 0)
			timerfd_settime(tfd, 0, &it, NULL);
	}
	for (;;) {
		struct pollfd p[3] = { { .fd = pidfd, .events = POLLIN }, { .fd = sigfd, .events = POLLIN },
				       { .fd = tfd, .events = POLLIN } };
		struct signalfd_siginfo si;
		uint64_t ticks;

		if (poll(p, 3, pidfd < 0 ? 100 : -1) < 0 && errno != EINTR)
			break;
		while (read(sigfd, &si, sizeof(si)) == sizeof(si))
			kill(pid, map[si.ssi_signo]);
		if (p[2].revents && read(tfd, &ticks, sizeof(ticks)) == sizeof(ticks))
			chirp_periodic(w);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* What the starter must see, from gridrun's wait status and its record. */
static int finish(struct wrapper *w, int status, int exec_errno)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;
	_cleanup_free_ char *msg = NULL, *text = read_record(w->record_rd);
	struct gr_condor_record rec;
	bool have = text && gr_condor_record_parse(text, &rec, &e) == 0;
	bool ran = have && strcmp(rec.reason, "setup_error");

	/* gone before the starter transfers the output (gr_exit_like_signal()
	 * below skips every cleanup) */
	gr_condor_chirp_unshare(w->job);
	if (exec_errno) {
		(void)!asprintf(&msg, "cannot run gridrun: %s", strerror(exec_errno));
		return setup_failed(msg ? msg : "cannot run gridrun");
	}
	/* only gridrun's own record says the job ran; then its status is the
	 * job's even if gridrun failed afterwards (S35: not the wrapper's
	 * failure, no requeue) */
	if ((!have && WIFEXITED(status) && WEXITSTATUS(status) == GR_EXIT_ERROR) ||
	    (have && !ran && rec.exit_code == GR_EXIT_ERROR)) {
		msg = gridrun_message(w);
		return setup_failed(msg ? msg : "gridrun could not start the job (exit 125; its message is on the job's stderr)");
	}
	if (!have) {
		log_line("%s, ignoring: no usage sent", e ? e->msg : "gridrun reported no accounting record");
		if (WIFSIGNALED(status))
			gr_exit_like_signal(WTERMSIG(status)); /* e.g. the slice's OOM group kill */
		return WIFEXITED(status) ? WEXITSTATUS(status) : GR_EXIT_ERROR;
	}
	if (ran && WIFEXITED(status) && WEXITSTATUS(status) == GR_EXIT_ERROR)
		log_line("gridrun failed after the job ran (its message is above); the job's own status is passed on");
	chirp_final(w, &rec, text);
	fflush(stderr);
	if (strcmp(rec.reason, "exited") && strcmp(rec.reason, "setup_error") && rec.signal > 0)
		gr_exit_like_signal(rec.signal);
	return rec.exit_code >= 0 ? rec.exit_code : GR_EXIT_ERROR;
}

int main(int argc, char **argv)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	_cleanup_gr_config_ struct gr_config *cfg = NULL;
	_cleanup_gr_condor_job_ struct gr_condor_job *job = NULL;
	_cleanup_free_ char *spec = NULL, *spec_name = NULL, *gridrun = NULL, *slice = NULL, *state_dir = NULL;
	_cleanup_close_ int memfd = -1, sigfd = -1, record_rd = -1, record_wr = -1;
	int recpipe[2], errpipe[2], map[NSIG] = { 0 }, exec_errno = 0, status;
	struct wrapper w = { .err_start = -1 };
	char spec_path[64], cwd[PATH_MAX];
	sigset_t mask, oldmask;
	struct stat st;
	pid_t pid, self = getpid();

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		puts("usage: gridrun-condor /absolute/job [ARGS...]\n\n"
		     "HTCondor's USER_JOB_WRAPPER: turns the job ad ($_CONDOR_JOB_AD) into a gridrun\n"
		     "spec, runs the job with `gridrun run` ($GRIDRUN, else the gridrun beside this\n"
		     "binary) and reports its usage back to the job ad over Chirp.\n"
		     "Configuration: /etc/gridrun/gridrun.conf ($GRIDRUN_CONFIG).");
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("gridrun-condor %s\n", GRIDRUN_VERSION);
		return 0;
	}
	if (argc < 2 || argv[1][0] != '/')
		return setup_failed("usage: gridrun-condor /absolute/job [ARGS...] (HTCondor's USER_JOB_WRAPPER)");
	if (self == 1)
		return setup_failed("running as PID 1: set USE_PID_NAMESPACES = false with USER_JOB_WRAPPER");
	/* the site configuration as `gridrun run` takes it (job.h): its state_dir too */
	if (gr_job_config_load(NULL, 0, &cfg, &err) < 0 || gr_condor_job_load(cfg, &job, &err) < 0)
		return fail_err(err);
	if (!getcwd(cwd, sizeof(cwd)))
		return setup_failed("cannot tell the job's working directory");
	/* condor_chirp in the job; the copy goes with job on every return */
	if (gr_condor_chirp_share(job, &err) < 0)
		log_line("%s, ignoring (condor_chirp in the job will not find the starter)", err->msg);
	gr_error_free(TAKE_PTR(err));
	/* the record comes from gridrun alone, on a pipe (S35); gridrun
	 * inherits the write end as fd:N, the job never does (gridrun's init
	 * closes every fd but its own, record.h) */
	if (pipe2(recpipe, O_CLOEXEC) < 0)
		return setup_failed("cannot make the record pipe");
	record_rd = recpipe[0];
	record_wr = recpipe[1];
	/* read once gridrun is gone; never wait for a straggler holding it */
	fcntl(record_rd, F_SETFL, O_NONBLOCK);
	job->record_fd = record_wr;
	spec = gr_condor_spec(job, argv + 1, environ, cwd, &err);
	if (!spec || gr_state_dir(&state_dir, &err) < 0)
		return fail_err(err);
	/* what gridrun's messages about the spec name instead of /dev/fd/N */
	if (asprintf(&spec_name, "<gridrun-condor spec of %s>", job->job_id) < 0)
		return setup_failed("out of memory");
	gridrun = gridrun_path();
	slice = htcondor_slice();
	memfd = memfd_create("gridrun-condor-spec", 0);
	if (!gridrun || memfd < 0 || gr_write_all(memfd, spec, strlen(spec)) < 0 || lseek(memfd, 0, SEEK_SET) < 0)
		return setup_failed("cannot hand the spec to gridrun");
	snprintf(spec_path, sizeof(spec_path), "/dev/fd/%d", memfd);

	w.job = job;
	w.state_dir = state_dir;
	w.record_rd = record_rd;
	if (job->chirp_config && gr_chirp_load(job->chirp_config, &w.chirp, &err) == 0)
		w.chirp_ok = true;
	else if (err)
		log_line("%s, ignoring", err->msg);
	gr_error_free(TAKE_PTR(err));
	if (fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode))
		w.err_start = st.st_size;

	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(passed_signals); i++) {
		sigaddset(&mask, passed_signals[i]);
		map[passed_signals[i]] = passed_signals[i];
	}
	{
		const int ad_sigs[] = { job->kill_sig, job->remove_kill_sig, job->hold_kill_sig, job->checkpoint_sig };

		for (size_t i = 0; i < ARRAY_SIZE(ad_sigs); i++) {
			int s = ad_sigs[i];

			if (s <= 0 || s == SIGKILL || s == SIGSTOP || passed(s))
				continue;
			log_line("signal %s of the job ad cannot reach the job through gridrun; it gets SIGTERM",
				 sigabbrev_np(s) ? sigabbrev_np(s) : "?");
			sigaddset(&mask, s);
			map[s] = SIGTERM;
		}
	}
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0 || pipe2(errpipe, O_CLOEXEC) < 0)
		return setup_failed("signalfd/pipe failed");
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return setup_failed("cannot fork");
	if (pid == 0) {
		close(errpipe[0]);
		if (fcntl(record_wr, F_SETFD, 0) < 0)
			_exit(GR_EXIT_ERROR);
		exec_gridrun(gridrun, spec_path, spec_name, &oldmask, self, errpipe[1], slice);
	}
	close(errpipe[1]);
	close(TAKE_FD(memfd));
	/* EOF on the pipe once gridrun is gone */
	close(TAKE_FD(record_wr));
	if (read(errpipe[0], &exec_errno, sizeof(exec_errno)) != sizeof(exec_errno))
		exec_errno = 0;
	close(errpipe[0]);
	status = supervise(&w, pid, sigfd, map);
	return finish(&w, status, exec_errno);
}
