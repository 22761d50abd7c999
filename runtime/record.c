/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "record.h"
#include "state.h"
#include "util.h"

static json_t *ns_or_null(bool known, unsigned long long ns)
{
	return known ? json_integer((json_int_t)ns) : json_null();
}

#define cg_or_null(res, known, v) ns_or_null((res)->cg.version && (res)->cg.known, (v))

/* "lsm_denials": the BPF LSM's refusals per hook, null when it was not loaded */
static void gr_record_add_lsm(json_t *o, const struct gr_run_result *res)
{
	json_t *d;

	if (!res->lsm.loaded) {
		json_object_set_new(o, "lsm_denials", json_null());
		return;
	}
	d = json_object();
	for (unsigned h = 0; h < GR_LSM_HOOKS; h++)
		if (res->lsm.hook[h])
			json_object_set_new(d, gr_lsm_hook_name(h), json_integer((json_int_t)res->lsm.hook[h]));
	json_object_set_new(o, "lsm_denials", d);
}

char *gr_record_format(const char *job_id, const struct gr_run_result *res)
{
	char started[40], ended[40];
	bool ran = res->reason != GR_REASON_SETUP_ERROR;
	/* gc's record of a lost supervisor: when the job ended is not known */
	bool lost = res->reason == GR_REASON_SUPERVISOR_LOST;
	json_t *o;
	char *text;

	gr_format_utc_ms(res->started_ns, started, sizeof(started));
	gr_format_utc_ms(res->ended_ns, ended, sizeof(ended));
	o = json_object();
	json_object_set_new(o, "job_id", json_string(job_id));
	json_object_set_new(o, "reason", json_string(gr_reason_name(res->reason)));
	json_object_set_new(o, "exit_code",
			    res->reason == GR_REASON_EXITED || res->reason == GR_REASON_SETUP_ERROR
				    ? json_integer(res->exit_code) : json_null());
	json_object_set_new(o, "signal", res->signal ? json_integer(res->signal) : json_null());
	json_object_set_new(o, "oom_killed", json_boolean(res->cg.oom_kills > 0));
	json_object_set_new(o, "wall_ns", lost ? json_null() : json_integer((json_int_t)res->wall_ns));
	json_object_set_new(o, "cpu_user_ns", cg_or_null(res, cpu_known, res->cg.cpu_user_ns));
	json_object_set_new(o, "cpu_system_ns", cg_or_null(res, cpu_known, res->cg.cpu_system_ns));
	json_object_set_new(o, "rusage_user_ns", ns_or_null(res->have_rusage, res->main.ru_utime_ns));
	json_object_set_new(o, "rusage_system_ns", ns_or_null(res->have_rusage, res->main.ru_stime_ns));
	json_object_set_new(o, "memory_peak_bytes", cg_or_null(res, memory_known, res->cg.memory_peak_bytes));
	json_object_set_new(o, "pids_peak", cg_or_null(res, pids_known, res->cg.pids_peak));
	json_object_set_new(o, "io_read_bytes", cg_or_null(res, io_known, res->cg.io_read_bytes));
	json_object_set_new(o, "io_write_bytes", cg_or_null(res, io_known, res->cg.io_write_bytes));
	json_object_set_new(o, "killed_at_end",
			    ran && res->have_rusage ? json_integer(res->main.killed_at_end) : json_null());
	json_object_set_new(o, "started_at", json_string(started));
	json_object_set_new(o, "ended_at", lost ? json_null() : json_string(ended));
	json_object_set_new(o, "cgroup_version", res->cg.version ? json_integer(res->cg.version) : json_null());
	json_object_set_new(o, "isolation", json_string(gr_isolation_name(res->ids.mode)));
	json_object_set_new(o, "uid_range", json_pack("{s:I, s:I}", "first", (json_int_t)res->ids.outer_uid,
						      "count", (json_int_t)res->ids.count));
	gr_record_add_lsm(o, res);
	text = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	json_decref(o);
	return text;
}

/* The name must be absent or a regular file: renameat() replaces it, and
 * must never swap a device or a symlink for a file. */
static int check_name(const struct gr_record_dest *d, const char *file, struct gr_error **err)
{
	struct stat st;

	if (fstatat(d->dirfd, d->name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISREG(st.st_mode))
		return 0;
	return gr_error_set(err, EEXIST, "%s: gridrun.accounting: `%s` exists and is not a regular file "
			    "(the record replaces a file; give fd:N to write to an open pipe or device)",
			    file, d->path);
}

int gr_record_open_path(const char *path, const char *file, struct gr_record_dest *d, struct gr_error **err)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(path, '/');
	struct stat st;
	int fd;

	*d = (struct gr_record_dest)GR_RECORD_DEST_INIT;
	d->path = path;
	if (!slash || path[0] != '/')
		return gr_error_set(err, EINVAL, "%s: gridrun.accounting: `%s` is not an absolute path", file, path);
	dir = slash == path ? strdup("/") : strndup(path, slash - path);
	d->name = strdup(slash + 1);
	if (!dir || !d->name)
		return gr_error_sys(err, ENOMEM, "accounting record");
	if (!*d->name || !strcmp(d->name, ".") || !strcmp(d->name, ".."))
		return gr_error_set(err, EINVAL, "%s: gridrun.accounting: `%s` does not name a file", file, path);
	fd = (int)syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
	if (fd < 0 && errno == ELOOP)
		return gr_error_set(err, ELOOP, "%s: gridrun.accounting: the directory `%s` has a symlink in its path "
				    "(the record is never written through a symlink; give the real path)",
				    file, dir);
	if (fd < 0)
		return gr_error_sys(err, errno, "%s: gridrun.accounting: directory `%s`", file, dir);
	d->dirfd = fd;
	if (fstat(fd, &st) < 0)
		return gr_error_sys(err, errno, "%s: gridrun.accounting: directory `%s`", file, dir);
	d->uid = st.st_uid;
	d->gid = st.st_gid;
	return check_name(d, file, err);
}

int gr_record_open(const struct gr_spec *spec, struct gr_record_dest *d, struct gr_error **err)
{
	*d = (struct gr_record_dest)GR_RECORD_DEST_INIT;
	if (!spec->accounting)
		return 0;
	if (spec->accounting_fd >= 0) {
		if (fcntl(spec->accounting_fd, F_SETFD, FD_CLOEXEC) < 0)
			return gr_error_set(err, EBADF, "%s: gridrun.accounting: fd %d is not open",
					    spec->file, spec->accounting_fd);
		d->fd = spec->accounting_fd;
		return 0;
	}
	return gr_record_open_path(spec->accounting, spec->file, d, err);
}

void gr_record_close(struct gr_record_dest *d)
{
	gr_closep(&d->dirfd);
	d->dirfd = -1;
	free(TAKE_PTR(d->name));
}

/* temp file, fsync, renameat: all within the directory fd. Returns 0 or
 * -errno with *step naming what failed. */
static int write_in_dir(const struct gr_record_dest *d, const char *line, const char **step)
{
	char tmp[NAME_MAX + 1];
	_cleanup_close_ int fd = -1;
	ssize_t w;

	for (int i = 0; i < 8 && fd < 0; i++) {
		unsigned long long rnd = 0;

		(void)!getrandom(&rnd, sizeof(rnd), 0);
		snprintf(tmp, sizeof(tmp), ".%.200s.%016llx", d->name, rnd);
		fd = openat(d->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	*step = "create a temp file in";
	if (fd < 0)
		return -errno;
	w = gr_write_all(fd, line, strlen(line));
	*step = "write";
	if (w >= 0 && fsync(fd) < 0)
		w = -errno;
	if (w >= 0 && renameat(d->dirfd, tmp, d->dirfd, d->name) < 0) {
		w = -errno;
		*step = "rename the record into";
	}
	if (w < 0)
		unlinkat(d->dirfd, tmp, 0);
	return w < 0 ? (int)w : 0;
}

/* As the directory's owner: a child with its uid and gid alone. */
static int write_as_owner(const struct gr_record_dest *d, const char *line, const char **step)
{
	static const char *const steps[] = { "create a temp file in", "write", "rename the record into",
					      "take the owner's ids for" };
	int p[2], msg[2] = { 0, 0 }, status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		const char *s = steps[3];
		int r = -EPERM;

		close(p[0]);
		if (setgroups(0, NULL) == 0 && setresgid(d->gid, d->gid, d->gid) == 0 &&
		    setresuid(d->uid, d->uid, d->uid) == 0)
			r = write_in_dir(d, line, &s);
		else
			r = -errno;
		for (int i = 0; i < 4; i++)
			if (s == steps[i])
				msg[0] = i;
		msg[1] = r;
		(void)!write(p[1], msg, sizeof(msg));
		_exit(0);
	}
	close(p[1]);
	if (gr_read_full(p[0], msg, sizeof(msg)) != sizeof(msg)) {
		msg[0] = 3;
		msg[1] = -EIO;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*step = steps[msg[0] >= 0 && msg[0] < 4 ? msg[0] : 3];
	return msg[1];
}

int gr_record_write(const struct gr_record_dest *d, const char *job_id,
		    const struct gr_run_result *res, struct gr_error **err)
{
	_cleanup_free_ char *text = NULL, *line = NULL;
	const char *step = "";
	ssize_t w;
	int r;

	if (d->fd < 0 && d->dirfd < 0)
		return 0;
	text = gr_record_format(job_id, res);
	if (!text || asprintf(&line, "%s\n", text) < 0)
		return gr_error_sys(err, ENOMEM, "accounting record");
	if (d->fd >= 0) {
		w = gr_write_all(d->fd, line, strlen(line));
		if (w < 0)
			return gr_error_sys(err, (int)-w, "accounting: write to fd %d", d->fd);
		return 0;
	}
	/* checked before the job ran; again, as the job may have changed it */
	if (check_name(d, "accounting", err) < 0)
		return -EEXIST;
	r = geteuid() == 0 && d->uid != 0 ? write_as_owner(d, line, &step) : write_in_dir(d, line, &step);
	if (r < 0)
		return gr_error_sys(err, -r, "accounting: %s the directory of `%s`", step, d->path);
	return 0;
}

int gr_record_copy_write(const char *state_dir, const char *job_id, const struct gr_run_result *res,
			 const char *account, const char *pool, struct gr_error **err)
{
	_cleanup_free_ char *text = gr_record_format(job_id, res), *out = NULL, *dir = NULL, *path = NULL;
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;

	if (o) {
		json_object_set_new(o, "account", account ? json_string(account) : json_null());
		json_object_set_new(o, "pool", pool ? json_string(pool) : json_null());
		out = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
		json_decref(o);
	}
	if (!out || asprintf(&dir, "%s/" GR_STATE_RECORDS, state_dir) < 0 ||
	    asprintf(&path, "%s/%s.json", dir, job_id) < 0)
		return gr_error_sys(err, ENOMEM, "record copy of job %s", job_id);
	if (mkdir(dir, 0755) == 0)
		(void)!chmod(dir, 0755);
	if (gr_write_file_replace(path, out, 0644, err) < 0)
		return gr_error_prefix(err, "record copy `%s`", path);
	if (chmod(path, 0644) < 0)
		return gr_error_sys(err, errno, "record copy `%s`", path);
	return 0;
}

/* TEXT is a record (or its copy) of job_id's run that started at
 * started_ns: its job_id and its started_at, to the ms; with not_lost, a
 * reason other than gc's supervisor_lost. */
static bool text_of_run(const char *text, const char *job_id, unsigned long long started_ns, bool not_lost)
{
	json_t *o = json_loads(text, 0, NULL);
	const char *id = json_string_value(json_object_get(o, "job_id"));
	const char *at = json_string_value(json_object_get(o, "started_at"));
	const char *reason = json_string_value(json_object_get(o, "reason"));
	char started[40];
	bool same;

	gr_format_utc_ms(started_ns, started, sizeof(started));
	same = id && at && !strcmp(id, job_id) && !strcmp(at, started) &&
	       (!not_lost || (reason && strcmp(reason, "supervisor_lost")));
	json_decref(o);
	return same;
}

bool gr_record_copy_of_run(const char *state_dir, const char *job_id, unsigned long long started_ns)
{
	_cleanup_free_ char *path = NULL, *text = NULL;

	if (asprintf(&path, "%s/" GR_STATE_RECORDS "/%s.json", state_dir, job_id) < 0 ||
	    gr_read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0)
		return false;
	return text_of_run(text, job_id, started_ns, false);
}

/* A record of a run is at most this long (design §7's keys: ~1 KiB). */
#define RECORD_MAX 65536

bool gr_record_of_run_at(const struct gr_record_dest *d, const char *job_id, unsigned long long started_ns,
			 uid_t job_first, unsigned job_count)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	struct stat st;
	ssize_t n;

	/* the job's ids unknown (an older gridrun's entry): no file is proof */
	if (d->dirfd < 0 || !d->name || !job_count)
		return false;
	/* a regular file before the open too: root opens no device or FIFO a
	 * job put there (O_NONBLOCK for one swapped in since); the inode read
	 * is the one fstat() checks */
	if (fstatat(d->dirfd, d->name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return false;
	fd = openat(d->dirfd, d->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size >= RECORD_MAX)
		return false;
	/* a file one of the job's own ids owns may be the job's forgery */
	if (st.st_uid >= job_first && (unsigned long long)st.st_uid - job_first < job_count)
		return false;
	if (!(text = malloc(RECORD_MAX)) || (n = gr_read_full(fd, text, RECORD_MAX - 1)) <= 0)
		return false;
	text[n] = '\0';
	return text_of_run(text, job_id, started_ns, true);
}
