/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * oci.c - the OCI runtime verbs (the contract is in oci.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"
#include "oci.h"
#include "state.h"
#include "supervisor.h"
#include "util.h"

#define OCI_VERSION "1.0.2"
#define STATE_MAX (64 * 1024)

static char *arg_bundle;    /* run --bundle (absolute once resolved) */
static char *arg_pid_file;  /* run --pid-file (absolute) */
static bool bundle_given;
static int pid_dirfd = -1;  /* --pid-file's directory, checked (open_pid_dir) */

static int open2(int dirfd, const char *path, int flags, unsigned long long resolve);

static char *absolute(const char *p)
{
	char cwd[PATH_MAX];
	char *out = NULL;

	if (p[0] == '/')
		return strdup(p);
	if (!getcwd(cwd, sizeof(cwd)) || asprintf(&out, "%s/%s", cwd, p) < 0)
		return NULL;
	return out;
}

int gr_oci_take_run_option(int argc, char **argv, int *i)
{
	const char *a = argv[*i], *v = NULL;
	char **dst;

	if (!strncmp(a, "--bundle=", 9) || !strncmp(a, "--pid-file=", 11)) {
		v = strchr(a, '=') + 1;
	} else if ((!strcmp(a, "--bundle") || !strcmp(a, "-b") || !strcmp(a, "--pid-file")) &&
		   *i + 1 < argc) {
		v = argv[++*i];
	} else {
		return 0;
	}
	dst = a[2] == 'p' ? &arg_pid_file : &arg_bundle;
	free(*dst);
	*dst = absolute(v);
	if (dst == &arg_bundle)
		bundle_given = true;
	return 1;
}

/* An OCI id becomes a job id and a file name in the state directory. */
static int check_id(const char *id, struct gr_error **err)
{
	size_t n = strlen(id);

	if (n == 0 || n > 128 || id[0] == '.' || id[0] == '-' || strspn(id,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n ||
	    !strcmp(id, GR_STATE_RECORDS))
		return gr_error_set(err, EINVAL, "container id `%s`: must be 1-128 of [A-Za-z0-9._-], "
				    "not starting with '.' or '-' (and not \"" GR_STATE_RECORDS "\")", id);
	return 0;
}

/*
 * --pid-file's directory, opened without following symlinks, must be the
 * caller's or root's and writable by no one else: root never creates or
 * renames a file by path in a directory a user can write (a user could
 * swap the name for a symlink, or move the directory). The file is then
 * written beneath that fd.
 */
static int open_pid_dir(struct gr_error **err)
{
	char *slash = strrchr(arg_pid_file, '/');
	_cleanup_free_ char *dir = strndup(arg_pid_file, slash && slash != arg_pid_file ? (size_t)(slash - arg_pid_file) : 1);
	struct stat st;

	if (!dir || !slash || !slash[1] || !strcmp(slash + 1, ".") || !strcmp(slash + 1, ".."))
		return gr_error_set(err, EINVAL, "--pid-file `%s`: not a file name", arg_pid_file);
	pid_dirfd = open2(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (pid_dirfd < 0)
		return gr_error_sys(err, errno, "--pid-file `%s`: its directory", arg_pid_file);
	if (fstat(pid_dirfd, &st) < 0 || (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022))
		return gr_error_set(err, EPERM, "--pid-file `%s`: its directory must be owned by uid %u or root "
				    "and writable by no one else", arg_pid_file, (unsigned)geteuid());
	return 0;
}

int gr_oci_run_target(const char *arg, bool oci, char **spec_path, const char **job_id, struct gr_error **err)
{
	size_t n = strlen(arg);
	struct stat st;
	char *real;

	*job_id = NULL;
	if (!oci && !bundle_given && !arg_pid_file &&
	    (strchr(arg, '/') || (n > 5 && !strcmp(arg + n - 5, ".json") && stat(arg, &st) == 0))) {
		*spec_path = strdup(arg);
		return *spec_path ? 0 : gr_error_sys(err, ENOMEM, "run");
	}
	if (check_id(arg, err) < 0)
		return -EINVAL;
	if (arg_pid_file && open_pid_dir(err) < 0)
		return -EPERM;
	if (!arg_bundle && !(arg_bundle = absolute(".")))
		return gr_error_sys(err, errno ? errno : ENOMEM, "bundle: the working directory");
	if (!arg_bundle || !(real = realpath(arg_bundle, NULL)))
		return gr_error_sys(err, errno ? errno : ENOMEM, "bundle `%s`", arg_bundle ? arg_bundle : "");
	free(arg_bundle);
	arg_bundle = real;
	if (asprintf(spec_path, "%s/config.json", arg_bundle) < 0)
		return gr_error_sys(err, ENOMEM, "run");
	*job_id = arg;
	return 1;
}

const char *gr_oci_bundle(void)
{
	return arg_bundle;
}

int gr_oci_started(pid_t pid, struct gr_error **err)
{
	const char *name = arg_pid_file ? strrchr(arg_pid_file, '/') + 1 : NULL;
	_cleanup_close_ int fd = -1;
	char buf[32], tmp[300];
	ssize_t r;

	if (!arg_pid_file || pid_dirfd < 0)
		return 0;
	snprintf(buf, sizeof(buf), "%d", (int)pid);
	snprintf(tmp, sizeof(tmp), ".%.200s.tmp.%d", name, (int)getpid());
	fd = openat(pid_dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return gr_error_sys(err, errno, "--pid-file `%s`", arg_pid_file);
	r = gr_write_all(fd, buf, strlen(buf));
	if (r < 0 || renameat(pid_dirfd, tmp, pid_dirfd, name) < 0) {
		r = r < 0 ? -r : errno;
		unlinkat(pid_dirfd, tmp, 0);
		return gr_error_sys(err, (int)r, "--pid-file `%s`", arg_pid_file);
	}
	return 0;
}

/* ---- create: the supervisor detached from its caller -------------------- */

static int detach_fd = -1;   /* the child's end: closed with a byte once the job is created */

int gr_oci_detach(int *status, struct gr_error **err)
{
	int p[2], st;
	pid_t pid;
	char c;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return gr_error_sys(err, errno, "create: pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return gr_error_sys(err, errno, "create: fork");
	}
	if (pid == 0) {
		close(p[0]);
		detach_fd = p[1];
		/* its own session: the caller's terminal and process group are not its */
		if (setsid() < 0)
			return gr_error_sys(err, errno, "create: setsid");
		return 0;
	}
	close(p[1]);
	do
		n = read(p[0], &c, 1);
	while (n < 0 && errno == EINTR);
	close(p[0]);
	if (n == 1) {   /* created: the supervisor runs on */
		*status = 0;
		return 1;
	}
	/* it failed, and said why on the stderr we share */
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : GR_EXIT_ERROR;
	if (*status == 0)
		*status = GR_EXIT_ERROR;
	return 1;
}

void gr_oci_detached(void)
{
	if (detach_fd < 0)
		return;
	(void)!write(detach_fd, "1", 1);
	close(detach_fd);
	detach_fd = -1;
}

/* ---- finding a job by its id ------------------------------------------ */

struct oci_job {
	char *json;       /* its state file */
	uid_t owner;
	int pidfd;        /* the supervisor, checked */
	unsigned live;    /* live entries of the id found (>1: ambiguous) */
};

static void oci_job_done(struct oci_job *j)
{
	free(j->json);
	if (j->pidfd >= 0)
		close(j->pidfd);
}

static int open2(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = { .flags = (unsigned long long)(flags | O_CLOEXEC), .resolve = resolve };

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* The real uid of pid, or (uid_t)-1. */
static uid_t proc_ruid(pid_t pid)
{
	_cleanup_free_ char *text = NULL;
	char path[64];
	const char *u;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (gr_read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0 || !(u = strstr(text, "\nUid:")))
		return (uid_t)-1;
	return (uid_t)strtoul(u + 5, NULL, 10);
}

/*
 * A pidfd of the supervisor state_json names, when that process is alive,
 * started when recorded (the pidfd is opened first, so the process checked
 * is the one it holds: no pid reuse between check and signal) and runs
 * with owner's real uid (any, for root's own directory); else -1.
 */
static int supervisor_pidfd(const char *state_json, uid_t owner, bool any_uid)
{
	json_t *o = json_loads(state_json, 0, NULL);
	json_int_t pid = 0, start = 0;
	int fd = -1;

	if (o && json_unpack(o, "{s:I, s:I}", "supervisor_pid", &pid, "supervisor_start", &start) == 0 &&
	    pid > 0 && pid <= INT_MAX && start > 0) {
		fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		if (fd >= 0 && (gr_proc_starttime((pid_t)pid) != (unsigned long long)start ||
				(!any_uid && proc_ruid((pid_t)pid) != owner))) {
			close(fd);
			fd = -1;
		}
	}
	json_decref(o);
	return fd;
}

/* ID's state in the directory open at dirfd, owned by owner. */
static void look_in(int dirfd, uid_t owner, bool any_uid, const char *id, struct oci_job *j)
{
	const unsigned long long res = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	_cleanup_close_ int ed = -1, fd = -1;
	_cleanup_free_ char *text = NULL;
	struct stat st;
	ssize_t n;
	int pidfd;

	ed = open2(dirfd, id, O_RDONLY | O_DIRECTORY, res);
	if (ed < 0)
		return;
	fd = open2(ed, "state.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK, res);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != owner || st.st_size > STATE_MAX)
		return;
	text = malloc(STATE_MAX + 1);
	if (!text || (n = gr_read_full(fd, text, STATE_MAX)) < 0)
		return;
	text[n] = '\0';
	pidfd = supervisor_pidfd(text, owner, any_uid);
	if (pidfd < 0) {
		if (!j->json)   /* a stale entry: only its bundle is of use */
			j->json = TAKE_PTR(text);
		return;
	}
	if (j->live++ == 0) {
		free(j->json);
		j->json = TAKE_PTR(text);
		j->pidfd = pidfd;
		j->owner = owner;
	} else {
		close(pidfd);
	}
}

/* A user's default state directory (state.h), when it is that user's. */
static void look_in_user_dir(const char *path, uid_t uid, const char *id, struct oci_job *j)
{
	_cleanup_close_ int fd = open2(AT_FDCWD, path, O_RDONLY | O_DIRECTORY,
				       RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid && uid != 0 &&
	    !(st.st_mode & 022))
		look_in(fd, uid, false, id, j);
}

static bool uid_name(const char *s, uid_t *uid)
{
	char *end;
	unsigned long v;

	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	v = strtoul(s, &end, 10);
	*uid = (uid_t)v;
	return v < UINT_MAX;
}

static int oci_find(const char *id, struct oci_job *j, struct gr_error **err)
{
	_cleanup_free_ char *own = NULL;
	struct dirent *de;
	DIR *d;

	*j = (struct oci_job){ .pidfd = -1 };
	if (check_id(id, err) < 0)
		return -EINVAL;
	if (gr_state_dir(&own, NULL) == 0) {
		_cleanup_close_ int fd = open2(AT_FDCWD, own, O_RDONLY | O_DIRECTORY,
					       RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);

		if (fd >= 0)
			look_in(fd, geteuid(), geteuid() == 0, id, j);
	}
	if (geteuid() != 0)
		return 0;
	if ((d = opendir("/run/user"))) {
		while ((de = readdir(d))) {
			char path[300];
			uid_t uid;

			if (!uid_name(de->d_name, &uid))
				continue;
			snprintf(path, sizeof(path), "/run/user/%s/gridrun", de->d_name);
			look_in_user_dir(path, uid, id, j);
		}
		closedir(d);
	}
	if ((d = opendir("/tmp"))) {
		while ((de = readdir(d))) {
			char path[300];
			uid_t uid;

			if (strncmp(de->d_name, "gridrun-", 8) || !uid_name(de->d_name + 8, &uid))
				continue;
			snprintf(path, sizeof(path), "/tmp/%s", de->d_name);
			look_in_user_dir(path, uid, id, j);
		}
		closedir(d);
	}
	return 0;
}

/* ---- the verbs ---------------------------------------------------------- */

static int oci_fail(struct gr_error *e)
{
	fprintf(stderr, "gridrun: %s\n", e && e->msg ? e->msg : "unknown error");
	return gr_error_exit_code(e);
}

/* A live entry's OCI status: "created" until the job's program runs. */
static const char *live_status(const char *json, bool *held)
{
	_cleanup_gr_job_state_ struct gr_job_state st = { 0 };

	*held = false;
	if (!json || gr_job_state_parse(json, GR_JOB_STATE_PARTIAL, &st, NULL) < 0)
		return "created";
	*held = st.held;
	return st.running && st.pid > 0 ? "running" : "created";
}

static int cmd_state(const char *id)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	struct oci_job j;
	json_t *st = NULL, *out;
	const char *bundle = NULL;
	json_int_t pid = 0;
	bool held;

	if (oci_find(id, &j, &err) < 0)
		return oci_fail(err);
	if (j.json && (st = json_loads(j.json, 0, NULL)))
		json_unpack(st, "{s?s, s?I}", "bundle", &bundle, "pid", &pid);
	out = json_pack("{s:s, s:s, s:s}", "ociVersion", OCI_VERSION, "id", id, "status",
			!j.live ? "stopped" : live_status(j.json, &held));
	if (j.live && pid > 0)
		json_object_set_new(out, "pid", json_integer(pid));
	if (bundle)
		json_object_set_new(out, "bundle", json_string(bundle));
	if (j.live)
		json_object_set_new(out, "owner", json_integer(j.owner));
	json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(out);
	json_decref(st);
	oci_job_done(&j);
	return 0;
}

static int signal_job(const char *id, int sig, const char *what, struct gr_error **err)
{
	struct oci_job j;
	int r = 0;

	if (oci_find(id, &j, err) < 0)
		return -EINVAL;
	if (j.live > 1)
		r = gr_error_set(err, ENOTUNIQ, "%s: job `%s` runs under more than one uid; refusing to guess",
				 what, id);
	else if (j.live) {
		/* SIGKILL to the job's init, checked (job.h) */
		_cleanup_gr_job_state_ struct gr_job_state st = { 0 };

		gr_job_state_parse(j.json, GR_JOB_STATE_PARTIAL, &st, NULL);
		if (!st.job_id)
			st.job_id = strdup(id);
		r = gr_job_signal_pidfd(&st, j.pidfd, sig, true, err);
		if (r < 0)
			gr_error_prefix(err, "%s", what);
	}
	if (r == 0 && j.live)
		r = TAKE_FD(j.pidfd);
	oci_job_done(&j);
	return r;
}

int gr_oci_signal(const char *name)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "TERM", SIGTERM }, { "INT", SIGINT }, { "HUP", SIGHUP }, { "QUIT", SIGQUIT },
		{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "KILL", SIGKILL }, { "CONT", SIGCONT },
		{ "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
	};
	char *end;
	long n;

	if (!strncmp(name, "SIG", 3))
		name += 3;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		if (!strcmp(name, sigs[i].name))
			return sigs[i].sig;
	n = strtol(name, &end, 10);
	return *name && !*end && n > 0 && n < 65 ? (int)n : -1;
}

static bool wait_gone(int pidfd, int seconds)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, seconds * 1000) > 0;
}

static int cmd_oci_kill(const char *id, const char *signame)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	int sig = gr_oci_signal(signame ? signame : "TERM"), r;

	if (sig <= 0) {
		gr_error_set(&err, EINVAL, "kill: unknown signal `%s`", signame);
		return oci_fail(err);
	}
	r = signal_job(id, sig, "kill", &err);
	if (r < 0)
		return oci_fail(err);
	if (r > 0)
		close(r);
	return 0;
}

static int cmd_delete(const char *id, bool force)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	const char *w = getenv("GRIDRUN_OCI_DELETE_WAIT");
	int wait_s = w && *w ? atoi(w) : 30, fd;
	struct oci_job j;

	if (!force) {
		bool live, held;

		if (oci_find(id, &j, &err) < 0)
			return oci_fail(err);
		live = j.live;
		/* created by `gridrun create`, never started: ended like --force
		 * (its program never ran, the supervisor kills it at once) */
		force = live && !strcmp(live_status(j.json, &held), "created") && held;
		oci_job_done(&j);
		if (!live)
			return 0;
		if (!force) {
			gr_error_set(&err, EBUSY, "delete: job `%s` is running (kill it first, or delete --force)", id);
			return oci_fail(err);
		}
	}
	fd = signal_job(id, SIGTERM, "delete", &err);
	if (fd < 0)
		return oci_fail(err);
	if (fd > 0 && !wait_gone(fd, wait_s)) {
		int k = signal_job(id, SIGKILL, "delete", &err);

		if (k > 0)
			close(k);
		if (k >= 0 && !wait_gone(fd, 10))
			gr_error_set(&err, ETIMEDOUT, "delete: the supervisor of `%s` did not end", id);
	}
	if (fd > 0)
		close(fd);
	return err ? oci_fail(err) : 0;
}

/*
 * start: a job that `gridrun create` holds goes on to its exec. The
 * supervisor (checked as for kill) gets GR_RUN_START_SIGNAL; start returns
 * once the entry says running, or the job ended (within
 * GRIDRUN_OCI_START_WAIT seconds, default 30).
 */
static int cmd_start(const char *id)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	const char *w = getenv("GRIDRUN_OCI_START_WAIT");
	int wait_ms = (w && *w ? atoi(w) : 30) * 1000;
	const char *status;
	struct oci_job j;
	bool held;

	if (oci_find(id, &j, &err) < 0)
		return oci_fail(err);
	status = j.live ? live_status(j.json, &held) : "stopped";
	if (j.live > 1)
		gr_error_set(&err, ENOTUNIQ, "start: job `%s` runs under more than one uid; refusing to guess", id);
	else if (!j.live)
		gr_error_set(&err, ESRCH, "start: no job `%s` (never created, or ended)", id);
	else if (strcmp(status, "created") || !held)
		gr_error_set(&err, EALREADY, "start: job `%s` is %s, not held by `gridrun create`", id,
			     strcmp(status, "created") ? "started already" : "still being set up");
	else if (syscall(SYS_pidfd_send_signal, j.pidfd, GR_RUN_START_SIGNAL, NULL, 0) < 0)
		gr_error_sys(&err, errno, "start: job `%s`", id);
	oci_job_done(&j);
	if (err)
		return oci_fail(err);
	/* until its program runs (or it ended: a failed exec is the supervisor's to record) */
	for (int ms = 0;; ms += 10) {
		if (oci_find(id, &j, &err) < 0)
			return oci_fail(err);
		status = j.live ? live_status(j.json, &held) : "stopped";
		oci_job_done(&j);
		if (strcmp(status, "created"))
			return 0;
		if (ms >= wait_ms) {
			gr_error_set(&err, ETIMEDOUT, "start: job `%s` did not start within %d s", id, wait_ms / 1000);
			return oci_fail(err);
		}
		usleep(10 * 1000);
	}
}

static int usage_error(const char *what)
{
	fprintf(stderr, "gridrun: usage: gridrun %s (see gridrun help)\n", what);
	return GR_EXIT_ERROR;
}

int gr_oci_main(int argc, char **argv)
{
	const char *cmd = argv[1], *pos[3] = { 0 };
	bool flag = false;
	int n = 0;

	if (strcmp(cmd, "state") && strcmp(cmd, "delete") && strcmp(cmd, "kill") && strcmp(cmd, "start"))
		return -1;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if ((!strcmp(cmd, "kill") && (!strcmp(a, "--all") || !strcmp(a, "-a"))) ||
		    (!strcmp(cmd, "delete") && (!strcmp(a, "--force") || !strcmp(a, "-f"))))
			flag = true;
		else if (a[0] == '-' && a[1] && !(!strcmp(cmd, "kill") && n == 1))
			return fprintf(stderr, "gridrun: %s: unknown option `%s` (see gridrun help %s)\n", cmd,
				       a, cmd), GR_EXIT_ERROR;
		else if (n < 3)
			pos[n++] = a;
		else
			n++;
	}
	if (!strcmp(cmd, "state"))
		return n == 1 ? cmd_state(pos[0]) : usage_error("state ID");
	if (!strcmp(cmd, "start"))
		return n == 1 ? cmd_start(pos[0]) : usage_error("start ID");
	if (!strcmp(cmd, "delete"))
		return n == 1 ? cmd_delete(pos[0], flag) : usage_error("delete [--force] ID");
	/* `kill ID SIGNAL` without --all stays main.c's (its errors for an
	 * unknown id); the OCI form is `kill --all ...` or `kill ID` */
	if (!flag && n == 2)
		return -1;
	return n == 1 || n == 2 ? cmd_oci_kill(pos[0], pos[1]) : usage_error("kill [--all] ID [SIGNAL]");
}
