// SPDX-License-Identifier: GPL-2.0-or-later
/* spank-task.c - the task/runner pair of gridrun_spank.so (spank-task.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "spank-task.h"
#include "util.h"

#define MSG_MAX (16u << 20)     /* argv + environment; ARG_MAX is far below */

/* What slurmstepd's signal_container sends (scancel, srun's ^C, --signal). */
static const int job_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGTSTP, SIGCONT,
				   SIGALRM, SIGPIPE };

static void set_job_signals(void (*how)(int))
{
	for (size_t i = 0; i < ARRAY_SIZE(job_signals); i++)
		signal(job_signals[i], how);
}

static void __attribute__((noreturn)) exit_like(int status)
{
	if (WIFSIGNALED(status))
		gr_exit_like_signal(WTERMSIG(status));
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : GR_EXIT_ERROR);
}

static int wait_for(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return W_EXITCODE(GR_EXIT_ERROR, 0);
	return status;
}

int gr_slurm_task_send(int sock, const char *cwd, int argc, char **argv, char **env)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	char num[16];
	const char *head[] = { cwd, num };
	union { char b[CMSG_SPACE(3 * sizeof(int))]; struct cmsghdr h; } ctl = { 0 };
	int fds[3] = { STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO };
	uint32_t n;
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c;

	snprintf(num, sizeof(num), "%d", argc);
	for (int i = 0; i < 2 + argc || (env && env[i - 2 - argc]); i++) {
		const char *s = i < 2 ? head[i] : i < 2 + argc ? argv[i - 2] : env[i - 2 - argc];
		size_t l = strlen(s) + 1;

		if (len + l > MSG_MAX)
			return -E2BIG;
		if (len + l > cap) {
			char *nb = realloc(buf, cap = (len + l) * 2);

			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		memcpy(buf + len, s, l);
		len += l;
	}
	n = (uint32_t)len;
	iov = (struct iovec){ &n, sizeof(n) };
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(sock, &m, MSG_NOSIGNAL) != sizeof(n))
		return -errno ?: -EIO;
	return gr_write_all(sock, buf, len) < 0 ? -EIO : 0;
}

void gr_slurm_task_wait(pid_t runner)
{
	/* the signals reach the runner and gridrun as well (the whole tree);
	 * this process is the pid slurmstepd waits for: it must outlive them */
	set_job_signals(SIG_IGN);
	exit_like(wait_for(runner));
}

/* ---- the runner (root) ---- */

struct task_msg {
	int fd[3];
	char *buf;
	char *cwd;
	char **argv;               /* NULL-terminated, into buf */
	char **env;
};

static int recv_task(int sock, struct task_msg *t)
{
	union { char b[CMSG_SPACE(3 * sizeof(int))]; struct cmsghdr h; } ctl;
	uint32_t n = 0;
	struct iovec iov = { &n, sizeof(n) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c;
	ssize_t r;
	size_t nstr = 0, argc, i;
	char *p, *end;

	do
		r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (r < 0 && errno == EINTR);
	c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(t->fd)))
		memcpy(t->fd, CMSG_DATA(c), sizeof(t->fd));
	if (r != sizeof(n))
		return r == 0 ? -ENODATA : -EPROTO;  /* ENODATA: the task died before task_init */
	if (t->fd[2] < 0 || (m.msg_flags & MSG_CTRUNC) || n == 0 || n > MSG_MAX)
		return -EPROTO;
	if (!(t->buf = malloc(n + 1)) || gr_read_full(sock, t->buf, n) != (ssize_t)n)
		return -EPROTO;
	t->buf[n] = '\0';
	end = t->buf + n;
	if (end[-1] != '\0')
		return -EPROTO;
	for (p = t->buf; p < end; p += strlen(p) + 1)
		nstr++;
	t->cwd = t->buf;
	p = t->cwd + strlen(t->cwd) + 1;
	if (nstr < 3 || t->cwd[0] != '/')
		return -EPROTO;
	argc = strtoul(p, &end, 10);
	if (*end || argc < 1 || argc > nstr - 2)
		return -EPROTO;
	p += strlen(p) + 1;
	if (!(t->argv = calloc(argc + 1, sizeof(char *))) || !(t->env = calloc(nstr - 2 - argc + 1, sizeof(char *))))
		return -ENOMEM;
	for (i = 0; i < nstr - 2; i++, p += strlen(p) + 1)
		*(i < argc ? &t->argv[i] : &t->env[i - argc]) = p;
	return 0;
}

static json_t *strings(char **v)
{
	json_t *a = json_array();

	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

static char *make_spec(const struct gr_slurm_plan *plan, const struct task_msg *t, mode_t job_umask)
{
	char host[HOST_NAME_MAX + 1] = "localhost";
	json_t *o, *g;
	char *text;

	gethostname(host, sizeof(host) - 1);
	g = json_pack("{s:s, s:s, s:s, s:s}", "job_id", plan->job_id, "sandbox", t->cwd, "accounting", "fd:3",
		      /* srun, PMI and the job's data servers are on the node's network */
		      "network", "host");
	if (plan->pool) {
		json_object_set_new(g, "pool", json_string(plan->pool));
		json_object_set_new(g, "account", json_string(plan->user));
	}
	if (plan->profile)
		json_object_set_new(g, "seccomp_profile", json_string(plan->profile));
	o = json_pack("{s:s, s:{s:o, s:o, s:s, s:{s:i}}, s:s, s:o}", "ociVersion", "1.0.2", "process", "args",
		      strings(t->argv), "env", strings(t->env), "cwd", t->cwd, "user", "umask", (int)job_umask,
		      "hostname", host, "gridrun", g);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/* The sandbox a leased range gets (handed over to it by root's gridrun)
 * must be the user's own: never a directory of someone else that the user
 * can name. Reached without symlinks. The checked directory (an O_PATH fd)
 * goes to gridrun as --sandbox-fd: the user may rename directories on the
 * path (their own tree) between this check and gridrun's open, and gridrun
 * then refuses rather than hand over what the path names by then. */
static int check_sandbox(const struct gr_slurm_plan *plan, const char *cwd, int errfd)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, AT_FDCWD, cwd, &how, sizeof(how));
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return dprintf(errfd, "gridrun_spank: the working directory `%s` (the sandbox): %s\n", cwd,
			       strerror(errno)), -1;
	if (st.st_uid != plan->uid)
		return dprintf(errfd, "gridrun_spank: the working directory `%s` (the sandbox) is not %s's own "
			       "(owner uid %u)\n", cwd, plan->user, (unsigned)st.st_uid), -1;
	return TAKE_FD(fd);
}

static int move_high(int fd)
{
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

/* Child: gridrun run with stdio 0-2, the record as fd 3, the spec as fd 4
 * and the checked sandbox (a pool's, sandbox >= 0) as fd 5. */
static void exec_gridrun(const struct gr_slurm_plan *plan, const struct task_msg *t, int rec, int spec, int sandbox)
{
	int fds[6] = { move_high(t->fd[0]), move_high(t->fd[1]), move_high(t->fd[2]), move_high(rec), move_high(spec),
		       move_high(sandbox) };
	int nfd = sandbox >= 0 ? 6 : 5;
	char grace[32], spec_name[96];
	char *env[] = { (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", grace, NULL };
	const char *argv[12];
	int n = 0;
	sigset_t none;
	pid_t runner = getppid();

	for (int i = 0; i < nfd; i++)
		if (fds[i] < 0 || dup2(fds[i], i) < 0)
			_exit(GR_EXIT_ERROR);
	syscall(SYS_close_range, nfd, ~0U, 0);
	set_job_signals(SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (!plan->pool && (setgroups(plan->ngids, plan->gids) < 0 || setresgid(plan->gid, plan->gid, plan->gid) < 0 ||
			    setresuid(plan->uid, plan->uid, plan->uid) < 0)) {
		dprintf(2, "gridrun_spank: cannot become uid %u: %s\n", (unsigned)plan->uid, strerror(errno));
		_exit(GR_EXIT_ERROR);
	}
	/* after the ids: changing them clears the parent-death signal, and a
	 * one-uid gridrun left running when its user kills the task (and so
	 * the runner) would be reparented out of the step, its job with it
	 * (proctrack/linuxproc tracks the step by parentage) */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != runner)
		_exit(GR_EXIT_ERROR);
	snprintf(grace, sizeof(grace), "GRIDRUN_KILL_GRACE=%u", plan->grace);
	snprintf(spec_name, sizeof(spec_name), "<gridrun_spank spec of %s>", plan->job_id);
	argv[n++] = "gridrun";
	argv[n++] = "run";
	if (plan->config) {
		argv[n++] = "--config";
		argv[n++] = plan->config;
	}
	argv[n++] = "--spec-name";
	argv[n++] = spec_name;
	if (sandbox >= 0) {
		argv[n++] = "--sandbox-fd";
		argv[n++] = "5";
	}
	argv[n++] = "/dev/fd/4";
	argv[n] = NULL;
	execve(plan->gridrun, (char **)argv, env);
	dprintf(2, "gridrun_spank: cannot run gridrun `%s`: %s\n", plan->gridrun, strerror(errno));
	_exit(errno == ENOENT ? GR_EXIT_NOTFOUND : GR_EXIT_ERROR);
}

/* Wait for gridrun. If the task ends first (its end of sock closes: the
 * user may kill their own task), end gridrun as scancel would: TERM, then
 * KILL once the grace is over. The runner's PR_SET_PDEATHSIG cannot: the
 * kernel sends it with the dying parent's credentials, and the task is the
 * user's by then, not allowed to signal root; the runner and its job went
 * on, reparented out of the step. */
static int wait_gridrun(pid_t pid, int sock, unsigned grace)
{
	_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p[2] = { { .fd = pfd, .events = POLLIN }, { .fd = sock, .events = POLLIN } };
	int timeout = -1, n;
	char c;

	while (pfd >= 0) {
		n = poll(p, 2, timeout);
		if ((n < 0 && errno != EINTR) || (n > 0 && p[0].revents))
			break;
		if (n == 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (n > 0 && p[1].revents && ((p[1].revents & (POLLHUP | POLLERR)) || read(sock, &c, 1) <= 0)) {
			kill(pid, SIGTERM);
			p[1].fd = -1;
			timeout = (int)(grace + 5) * 1000;
		}
	}
	return wait_for(pid);
}

int gr_slurm_root_dir_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

int gr_slurm_keep_record(const char *record_dir, const char *job_id, const char *text, size_t len, bool replace,
			 const char **why)
{
	_cleanup_close_ int dfd = gr_slurm_root_dir_open(record_dir), fd = -1;
	char tmp[96], name[96];
	int e;

	if (dfd < 0) {
		e = -dfd;
		*why = e == EPERM ? "is not root's alone" : strerror(e);
		return -e;
	}
	*why = NULL;
	snprintf(tmp, sizeof(tmp), ".%s.tmp", job_id);
	snprintf(name, sizeof(name), "%s.json", job_id);
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || gr_write_all(fd, text, len) < 0 || fsync(fd) < 0 ||
	    renameat2(dfd, tmp, dfd, name, replace ? 0 : RENAME_NOREPLACE) < 0) {
		e = errno;
		unlinkat(dfd, tmp, 0);
		return -e;
	}
	return 0;
}

static void keep_record(const struct gr_slurm_plan *plan, const char *text, size_t len, int errfd)
{
	const char *why;
	int r = gr_slurm_keep_record(plan->record_dir, plan->job_id, text, len, true, &why);

	if (r < 0 && why)
		dprintf(errfd, "gridrun_spank: record_dir `%s` %s, ignoring\n", plan->record_dir, why);
	else if (r < 0)
		dprintf(errfd, "gridrun_spank: record %s/%s.json: %s, ignoring\n", plan->record_dir, plan->job_id,
			strerror(-r));
}

static void runner_fail(int errfd, const char *what, int e)
{
	if (errfd >= 0)
		dprintf(errfd, "gridrun_spank: %s: %s\n", what, strerror(e));
	_exit(GR_EXIT_ERROR);
}

static void __attribute__((noreturn)) runner_main(const struct gr_slurm_plan *plan, int sock)
{
	struct task_msg t = { .fd = { -1, -1, -1 } };
	_cleanup_free_ char *spec = NULL, *rec = NULL;
	int specfd, recfd, sandbox = -1, r, status;
	mode_t job_umask;
	json_t *o, *sig;
	struct stat st;
	pid_t pid;

	/* slurmstepd set the user's umask (SLURM_UMASK, from srun's
	 * environment) before it forked the task: it is the job's, not root's
	 * gridrun's, whose records (0644), lease-dir parents and cgroup
	 * directories would otherwise be made as the user chose */
	job_umask = umask(022);
	set_job_signals(SIG_IGN);
	/* only while the task is still root (slurmstepd's own failure before it
	 * drops it): after that the kernel's check refuses the user's signal to
	 * root, and wait_gridrun() watches the socket instead */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	r = recv_task(sock, &t);
	if (r == -ENODATA)
		_exit(GR_EXIT_ERROR);   /* slurmstepd's own error is the task's */
	if (r < 0)
		runner_fail(t.fd[2], "bad hand-over from the task", -r);
	if (plan->pool && (sandbox = check_sandbox(plan, t.cwd, t.fd[2])) < 0)
		_exit(GR_EXIT_ERROR);
	spec = make_spec(plan, &t, job_umask);
	specfd = memfd_create("gridrun-slurm-spec", MFD_CLOEXEC);
	recfd = memfd_create("gridrun-slurm-record", MFD_CLOEXEC);
	if (!spec || specfd < 0 || recfd < 0 || gr_write_all(specfd, spec, strlen(spec)) < 0 ||
	    lseek(specfd, 0, SEEK_SET) < 0)
		runner_fail(t.fd[2], "cannot hand the spec to gridrun", errno ?: ENOMEM);
	pid = fork();
	if (pid < 0)
		runner_fail(t.fd[2], "fork", errno);
	if (pid == 0)
		exec_gridrun(plan, &t, recfd, specfd, sandbox);
	status = wait_gridrun(pid, sock, plan->grace);
	if (fstat(recfd, &st) < 0 || st.st_size <= 0 || st.st_size > (1 << 20) || !(rec = malloc(st.st_size + 1)) ||
	    pread(recfd, rec, st.st_size, 0) != st.st_size)
		exit_like(status);      /* no record: gridrun could not run at all */
	rec[st.st_size] = '\0';
	o = json_loads(rec, 0, NULL);
	/* one-uid mode: gridrun ran with the user's ids, and their other
	 * processes can rewrite its fd 3 (/proc/PID/fd/3): root keeps a record
	 * of this task, never another job's or what is no record at all */
	if (plan->record_dir && json_is_object(o) &&
	    !strcmp(json_string_value(json_object_get(o, "job_id")) ?: "", plan->job_id))
		keep_record(plan, rec, st.st_size, t.fd[2]);
	else if (plan->record_dir)
		dprintf(t.fd[2], "gridrun_spank: the record gridrun wrote is not a JSON object with job_id %s, "
			"not kept\n", plan->job_id);
	/* gridrun's 128+N is undone from the record, not guessed from the code:
	 * a job may exit 137 itself */
	sig = json_object_get(o, "signal");
	if (json_is_integer(sig) && json_integer_value(sig) > 0 && json_integer_value(sig) < NSIG &&
	    strcmp(json_string_value(json_object_get(o, "reason")) ?: "", "exited"))
		gr_exit_like_signal((int)json_integer_value(sig));
	if (json_is_integer(json_object_get(o, "exit_code")))
		_exit((int)json_integer_value(json_object_get(o, "exit_code")) & 0xff);
	exit_like(status);
}

int gr_slurm_runner_start(const struct gr_slurm_plan *plan, int *sock, pid_t *runner)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (pid == 0) {
		close(sv[0]);
		runner_main(plan, sv[1]);
	}
	close(sv[1]);
	*sock = sv[0];
	*runner = pid;
	return 0;
}
