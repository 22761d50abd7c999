/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "state-scan.h"
#include "state.h"
#include "util.h"

#define STATE_FILE "state.json"
#define CLAIM_PREFIX ".claim."
/* on DIR: how many entries the last gc left (gr_state_gc_if_due) */
#define GC_XATTR "user.gridrun.gc"
/* tmpfs keeps user.* xattrs only from Linux 6.6 on, trusted.* always (root) */
#define GC_XATTR_ROOT "trusted.gridrun.gc"

int gr_state_dir(char **out, struct gr_error **err)
{
	const char *env = getenv("GRIDRUN_STATE_DIR");
	_cleanup_free_ char *dir = NULL;
	struct stat st;

	if (env && *env)
		dir = strdup(env);
	else if (geteuid() == 0)
		dir = strdup("/run/gridrun");
	else if (getenv("XDG_RUNTIME_DIR") && *getenv("XDG_RUNTIME_DIR"))
		(void)!asprintf(&dir, "%s/gridrun", getenv("XDG_RUNTIME_DIR"));
	else
		(void)!asprintf(&dir, "/tmp/gridrun-%u", (unsigned)geteuid());
	if (!dir)
		return gr_error_sys(err, ENOMEM, "state directory");
	if (dir[0] != '/')
		return gr_error_set(err, EINVAL, "state directory `%s` is not an absolute path", dir);
	/*
	 * 0755, and 0644 state files: gridrun-exporter reads them as an
	 * unprivileged user. Nothing in them is secret - job id, account,
	 * pool, the spec's path, pids, cgroup paths; without hidepid, any local
	 * user sees as much in /proc (the supervisor's argv, /proc/PID/cgroup).
	 * Only the owner may write. An existing directory keeps its mode.
	 */
	if (mkdir(dir, 0755) == 0)
		(void)!chmod(dir, 0755); /* whatever the umask */
	else if (errno != EEXIST)
		return gr_error_sys(err, errno, "create state directory `%s`", dir);
	if (lstat(dir, &st) < 0)
		return gr_error_sys(err, errno, "state directory `%s`", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return gr_error_set(err, EPERM,
				    "state directory `%s` must be a directory owned by uid %u and writable only by it",
				    dir, (unsigned)geteuid());
	*out = TAKE_PTR(dir);
	return 0;
}

/* Remove DIR/name: its state file and any half-written temporary beside it. */
static int remove_entry(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd >= 0) {
		DIR *d = fdopendir(fd);
		struct dirent *de;

		if (!d) {
			close(fd);
		} else {
			while ((de = readdir(d)))
				if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
					unlinkat(fd, de->d_name, 0);
			closedir(d);
		}
	}
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

static int write_state(int dirfd, const char *name, const char *json, struct gr_error **err)
{
	_cleanup_close_ int fd = -1;
	char tmp[64];
	ssize_t r;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", STATE_FILE, (int)getpid());
	fd = openat(dirfd, name, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return gr_error_sys(err, errno, "state: open `%s`", name);
	{
		_cleanup_close_ int f = openat(fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);

		if (f < 0 || fchmod(f, 0644) < 0) /* readable by the exporter (gr_state_dir) */
			return gr_error_sys(err, errno, "state: create `%s/%s`", name, tmp);
		r = gr_write_all(f, json, strlen(json));
		if (r < 0)
			return gr_error_sys(err, (int)-r, "state: write `%s/%s`", name, tmp);
	}
	if (renameat(fd, tmp, fd, STATE_FILE) < 0)
		return gr_error_sys(err, errno, "state: rename `%s/%s`", name, tmp);
	return 0;
}

/* The supervisor recorded in state_json is alive (same pid and start time). */
static bool holder_alive(const char *state_json)
{
	json_t *root = json_loads(state_json, 0, NULL);
	json_int_t pid = 0, start = 0;
	bool alive = false;

	if (root && json_unpack(root, "{s:I, s:I}", "supervisor_pid", &pid,
				"supervisor_start", &start) == 0 && pid > 0)
		alive = gr_proc_starttime((pid_t)pid) == (unsigned long long)start;
	json_decref(root);
	return alive;
}

/* Entry is stale: its holder is gone (for a claim in progress: by its name). */
static bool entry_stale(int dirfd, const char *name)
{
	_cleanup_free_ char *json = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", name, STATE_FILE);
	if (gr_read_file_at(dirfd, path, &json, NULL, NULL) == 0)
		return !holder_alive(json);
	if (!strncmp(name, CLAIM_PREFIX, strlen(CLAIM_PREFIX))) {
		/* .claim.<pid>.<rand>: not yet written */
		pid_t pid = (pid_t)strtol(name + strlen(CLAIM_PREFIX), NULL, 10);

		return pid <= 0 || gr_proc_starttime(pid) == 0;
	}
	/* a job directory always has its state file: one without is debris */
	return true;
}

int gr_state_claim(const char *dir, const char *job_id, const char *state_json,
		   struct gr_error **err)
{
	return gr_state_claim_gc(dir, job_id, state_json, NULL, NULL, err);
}

/* A stale entry of the id being claimed: what it names goes first (gc's
 * on_stale); 0 when it may be replaced. */
static int collect_stale(int dirfd, const char *job_id,
			 int (*on_stale)(void *data, const char *state_json), void *data)
{
	_cleanup_free_ char *json = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", job_id, STATE_FILE);
	if (!on_stale || gr_read_file_at(dirfd, path, &json, NULL, NULL) < 0)
		return 0;
	return on_stale(data, json) < 0 ? -EBUSY : 0;
}

int gr_state_claim_gc(const char *dir, const char *job_id, const char *state_json,
		      int (*on_stale)(void *data, const char *state_json), void *data,
		      struct gr_error **err)
{
	_cleanup_close_ int dirfd = -1;
	char claim[96];
	unsigned rnd = 0;
	int r, tries;

	dirfd = open(dir, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dirfd < 0)
		return gr_error_sys(err, errno, "state: open `%s`", dir);
	(void)!getrandom(&rnd, sizeof(rnd), 0);
	snprintf(claim, sizeof(claim), CLAIM_PREFIX "%d.%08x", (int)getpid(), rnd);
	if (!strcmp(job_id, GR_STATE_RECORDS))
		return gr_error_set(err, EINVAL, "job id `%s` is reserved (the state directory's record copies)",
				    job_id);
	/* 0755 whatever the umask: it becomes the job's entry (gr_state_dir) */
	if (mkdirat(dirfd, claim, 0755) < 0 || fchmodat(dirfd, claim, 0755, 0) < 0)
		return gr_error_sys(err, errno, "state: create `%s/%s`", dir, claim);
	r = write_state(dirfd, claim, state_json, err);
	for (tries = 0; r >= 0 && tries < 2; tries++) {
		int e;

		if (renameat2(dirfd, claim, dirfd, job_id, RENAME_NOREPLACE) == 0)
			return 0;
		e = errno;   /* entry_stale() reads files: errno is not kept */
		if (e != EEXIST || !entry_stale(dirfd, job_id)) {
			r = e == EEXIST
				    ? gr_error_set(err, EEXIST, "job `%s` is already running (state in `%s/%s`)",
						   job_id, dir, job_id)
				    : gr_error_sys(err, e, "state: claim `%s`", job_id);
			break;
		}
		if (collect_stale(dirfd, job_id, on_stale, data) < 0) {
			r = gr_error_set(err, EBUSY, "job `%s`: what a killed job of this id left cannot be "
					 "removed yet (state in `%s/%s`)", job_id, dir, job_id);
			break;
		}
		remove_entry(dirfd, job_id);
	}
	remove_entry(dirfd, claim);
	return r < 0 ? r : gr_error_set(err, EEXIST, "job `%s`: cannot claim its state", job_id);
}

int gr_state_update(const char *dir, const char *job_id, const char *state_json,
		    struct gr_error **err)
{
	_cleanup_close_ int dirfd = open(dir, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (dirfd < 0)
		return gr_error_sys(err, errno, "state: open `%s`", dir);
	return write_state(dirfd, job_id, state_json, err);
}

void gr_state_release(const char *dir, const char *job_id)
{
	_cleanup_close_ int dirfd = open(dir, O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (dirfd >= 0)
		remove_entry(dirfd, job_id);
}

int gr_state_list(const char *dir, void (*cb)(void *data, const char *job_id,
					       const char *state_json, bool alive),
		  void *data, struct gr_error **err)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return gr_error_sys(err, errno, "state: open `%s`", dir);
	while ((de = readdir(d))) {
		_cleanup_free_ char *json = NULL;
		char path[512];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", de->d_name, STATE_FILE);
		if (gr_read_file_at(dirfd(d), path, &json, NULL, NULL) < 0)
			continue;
		cb(data, de->d_name, json, holder_alive(json));
	}
	closedir(d);
	return 0;
}

int gr_state_read(const char *dir, const char *job_id, char **json, struct gr_error **err)
{
	_cleanup_free_ char *path = NULL, *text = NULL;

	if (!job_id[0] || strchr(job_id, '/') || job_id[0] == '.')
		return gr_error_set(err, EINVAL, "`%s` is not a job id", job_id);
	if (asprintf(&path, "%s/%s/" STATE_FILE, dir, job_id) < 0)
		return gr_error_sys(err, ENOMEM, "state");
	if (gr_read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0 || !holder_alive(text))
		return gr_error_set(err, ESRCH, "no running job `%s` in `%s`", job_id, dir);
	*json = TAKE_PTR(text);
	return 0;
}

/* The state JSON of entry `name`, or NULL. */
static char *entry_json(int dirfd, const char *name)
{
	char *json = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", name, STATE_FILE);
	if (gr_read_file_at(dirfd, path, &json, NULL, NULL) < 0)
		return NULL;
	return json;
}

/* Collect what is stale in the directory open at fd (which this takes);
 * then note on it how many entries it left. */
static void collect(int fd, struct gr_state_gc_stats *st,
		    int (*on_stale)(void *data, const char *state_json), void *data)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	struct stat sb;
	char mark[24];

	if (!d) {
		close(fd);
		return;
	}
	st->ran = true;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, GR_STATE_RECORDS) ||
		    !strcmp(de->d_name, GR_STATE_MNT_TEMPLATE))
			continue;
		st->read++;
		if (!entry_stale(dirfd(d), de->d_name))
			continue;
		if (on_stale) {
			_cleanup_free_ char *json = entry_json(dirfd(d), de->d_name);

			if (json && on_stale(data, json) < 0)
				continue;
		}
		if (remove_entry(dirfd(d), de->d_name) == 0)
			st->removed++;
	}
	/* entries that started meanwhile are live: counting them is right */
	if (fstat(dirfd(d), &sb) == 0 && sb.st_nlink >= 2) {
		snprintf(mark, sizeof(mark), "%llu", (unsigned long long)sb.st_nlink - 2);
		if (fsetxattr(dirfd(d), GC_XATTR, mark, strlen(mark), 0) < 0)
			(void)fsetxattr(dirfd(d), GC_XATTR_ROOT, mark, strlen(mark), 0);
	}
	closedir(d); /* and with it the flock */
}

int gr_state_gc(const char *dir, unsigned *removed,
		int (*on_stale)(void *data, const char *state_json), void *data,
		struct gr_error **err)
{
	struct gr_state_gc_stats st = { 0 };
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return gr_error_sys(err, errno, "state: open `%s`", dir);
	(void)flock(fd, LOCK_EX);
	collect(fd, &st, on_stale, data);
	if (removed)
		*removed = st.removed;
	return 0;
}

/*
 * An entry goes stale only when its supervisor dies without releasing it
 * (SIGKILL, a crash), so a start need not read every entry to find the few
 * stale ones (that made N starts cost O(N^2)). The number of entries is
 * st_nlink - 2 of the directory (every entry is a subdirectory; one
 * fstat), and a gc notes on the directory how many it left. A start collects
 * only when the entries grew by more than an eighth, or fell below half, of
 * that: between two such gcs at least an eighth of the count of starts (or
 * half of it of ends) happened, so that a start reads at most about nine
 * entries, amortised, however many jobs run. On an idle node (the last gc
 * left nothing) the first entry makes the next start collect, as R1 wants;
 * on a busy one what a crash left waits for a start that collects or for
 * `gridrun gc` (its timer), and a stale entry of the very job id is
 * replaced at its claim in any case. A directory that counts no
 * subdirectories (btrfs: st_nlink 1) or keeps no xattrs (tmpfs before 6.6
 * for a caller other than root) is collected on
 * every start. One such gc at a time: a start that finds another collecting
 * leaves it to that one.
 */
int gr_state_gc_if_due(const char *dir, struct gr_state_gc_stats *st,
		       int (*on_stale)(void *data, const char *state_json), void *data,
		       struct gr_error **err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	unsigned long long last;
	struct stat sb;
	char mark[24];
	ssize_t n;

	memset(st, 0, sizeof(*st));
	if (fd < 0)
		return gr_error_sys(err, errno, "state: open `%s`", dir);
	n = fgetxattr(fd, GC_XATTR, mark, sizeof(mark) - 1);
	if (n < 0)
		n = fgetxattr(fd, GC_XATTR_ROOT, mark, sizeof(mark) - 1);
	if (fstat(fd, &sb) == 0 && sb.st_nlink >= 2 && n > 0) {
		mark[n] = '\0';
		last = strtoull(mark, NULL, 10);
		st->entries = (unsigned)(sb.st_nlink - 2);
		st->last = (unsigned)last;
		if (st->entries <= last + last / 8 && st->entries * 2ull >= last) {
			close(fd);
			return 0;
		}
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return 0;
	}
	collect(fd, st, on_stale, data);
	return 0;
}

void gr_job_state_free(struct gr_job_state *st)
{
	free(st->job_id);
	free(st->spec);
	free(st->account);
	free(st->bundle);
	free(st->lease.pool);
	for (size_t i = 0; i < st->ncgroups; i++)
		free(st->cgroups[i]);
	free(st->freezer);
	free(st->accounting);
	free(st->isolation);
	memset(st, 0, sizeof(*st));
}

/* The keys in the order earlier gridrun wrote them, so that entries read the
 * same to people and scripts across the move. */
int gr_job_state_format(const struct gr_job_state *st, char **text, struct gr_error **err)
{
	json_t *o;

	*text = NULL;
	if (!st->job_id)
		return gr_error_set(err, EINVAL, "job state: no job_id");
	o = json_pack("{s:s, s:I, s:I}", "job_id", st->job_id,
		      "supervisor_pid", (json_int_t)st->supervisor_pid,
		      "supervisor_start", (json_int_t)st->supervisor_start);
	if (!o)
		return gr_error_sys(err, ENOMEM, "job state");
	if (st->supervisor_start_epoch_ns)
		json_object_set_new(o, "supervisor_start_epoch_ns", json_integer((json_int_t)st->supervisor_start_epoch_ns));
	if (st->spec)
		json_object_set_new(o, "spec", json_string(st->spec));
	if (st->pid > 0) {
		json_object_set_new(o, "pid", json_integer(st->pid));
		json_object_set_new(o, "pid_start", json_integer((json_int_t)st->pid_start));
	}
	if (st->running)
		json_object_set_new(o, "running", json_true());
	if (st->held)
		json_object_set_new(o, "held", json_true());
	if (st->account)
		json_object_set_new(o, "account", json_string(st->account));
	if (st->bundle)
		json_object_set_new(o, "bundle", json_string(st->bundle));
	if (st->has_lease)
		json_object_set_new(o, "lease", json_pack("{s:s, s:I, s:I, s:I}", "pool",
							  st->lease.pool ? st->lease.pool : "",
							  "index", (json_int_t)st->lease.index,
							  "first", (json_int_t)st->lease.first,
							  "count", (json_int_t)st->lease.count));
	if (st->cgroup_version) {
		json_t *a = json_array();

		for (size_t i = 0; a && i < st->ncgroups; i++)
			json_array_append_new(a, json_string(st->cgroups[i]));
		json_object_set_new(o, "cgroup_version", json_integer(st->cgroup_version));
		json_object_set_new(o, "cgroups", a);
		if (st->freezer)
			json_object_set_new(o, "freezer", json_string(st->freezer));
	}
	if (st->has_layers)
		json_object_set_new(o, "layers", json_pack("{s:i, s:b}", "landlock", st->landlock,
							   "lsm", st->lsm));
	if (st->accounting)
		json_object_set_new(o, "accounting", json_string(st->accounting));
	if (st->started_ns)
		json_object_set_new(o, "started_ns", json_integer((json_int_t)st->started_ns));
	if (st->isolation) {
		json_object_set_new(o, "isolation", json_string(st->isolation));
		json_object_set_new(o, "uid_first", json_integer((json_int_t)st->uid_first));
		json_object_set_new(o, "uid_count", json_integer((json_int_t)st->uid_count));
	}
	*text = json_dumps(o, JSON_PRESERVE_ORDER);
	json_decref(o);
	return *text ? 0 : gr_error_sys(err, ENOMEM, "job state");
}

static int dup_opt(json_t *v, char **out)
{
	if (!v)
		return 0;
	if (!json_is_string(v))
		return -EINVAL;
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

static int int_opt(json_t *v, long long min, long long max, long long *out)
{
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return -EINVAL;
	*out = json_integer_value(v);
	return 0;
}

static int bool_opt(json_t *v, bool *out)
{
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return -EINVAL;
	*out = json_is_true(v);
	return 0;
}

static int parse_fields(json_t *o, unsigned flags, struct gr_job_state *st, const char **bad)
{
	long long sp = 0, ss = 0, se = 0, pid = 0, ps = 0, ver = 0, idx = 0, first = 0, count = 0, ll = 0;
	long long sn = 0, uf = 0, uc = 0;
	json_t *lease = json_object_get(o, "lease"), *a = json_object_get(o, "cgroups"), *v;
	json_t *layers = json_object_get(o, "layers");
	size_t i;
	int r = 0;

#define FIELD(name, call) if (r >= 0 && (r = (call)) < 0) *bad = (name)
	*bad = "job_id";
	if (!(flags & GR_JOB_STATE_PARTIAL) &&
	    (!json_is_string(json_object_get(o, "job_id")) || !json_object_get(o, "supervisor_pid") ||
	     !json_object_get(o, "supervisor_start")))
		return -EINVAL;
	FIELD("job_id", dup_opt(json_object_get(o, "job_id"), &st->job_id));
	FIELD("supervisor_pid", int_opt(json_object_get(o, "supervisor_pid"), 0, INT32_MAX, &sp));
	FIELD("supervisor_start", int_opt(json_object_get(o, "supervisor_start"), 0, INT64_MAX, &ss));
	FIELD("supervisor_start_epoch_ns", int_opt(json_object_get(o, "supervisor_start_epoch_ns"), 0, INT64_MAX, &se));
	FIELD("spec", dup_opt(json_object_get(o, "spec"), &st->spec));
	FIELD("pid", int_opt(json_object_get(o, "pid"), 0, INT32_MAX, &pid));
	FIELD("pid_start", int_opt(json_object_get(o, "pid_start"), 0, INT64_MAX, &ps));
	FIELD("running", bool_opt(json_object_get(o, "running"), &st->running));
	FIELD("held", bool_opt(json_object_get(o, "held"), &st->held));
	FIELD("account", dup_opt(json_object_get(o, "account"), &st->account));
	FIELD("bundle", dup_opt(json_object_get(o, "bundle"), &st->bundle));
	FIELD("cgroup_version", int_opt(json_object_get(o, "cgroup_version"), 0, 2, &ver));
	FIELD("freezer", dup_opt(json_object_get(o, "freezer"), &st->freezer));
	FIELD("accounting", dup_opt(json_object_get(o, "accounting"), &st->accounting));
	FIELD("started_ns", int_opt(json_object_get(o, "started_ns"), 0, INT64_MAX, &sn));
	FIELD("isolation", dup_opt(json_object_get(o, "isolation"), &st->isolation));
	FIELD("uid_first", int_opt(json_object_get(o, "uid_first"), 0, UINT32_MAX, &uf));
	FIELD("uid_count", int_opt(json_object_get(o, "uid_count"), 0, UINT32_MAX, &uc));
	if (r >= 0 && lease) {
		*bad = "lease";
		if (!json_is_object(lease) || !json_is_string(json_object_get(lease, "pool")))
			return -EINVAL;
		st->has_lease = true;
		FIELD("lease.pool", dup_opt(json_object_get(lease, "pool"), &st->lease.pool));
		FIELD("lease.index", int_opt(json_object_get(lease, "index"), 0, UINT32_MAX, &idx));
		FIELD("lease.first", int_opt(json_object_get(lease, "first"), 0, UINT32_MAX, &first));
		FIELD("lease.count", int_opt(json_object_get(lease, "count"), 0, UINT32_MAX, &count));
	}
	if (r >= 0 && layers) {
		*bad = "layers";
		if (!json_is_object(layers) || !json_is_integer(json_object_get(layers, "landlock")) ||
		    !json_is_boolean(json_object_get(layers, "lsm")))
			return -EINVAL;
		st->has_layers = true;
		st->lsm = json_is_true(json_object_get(layers, "lsm"));
		FIELD("layers.landlock", int_opt(json_object_get(layers, "landlock"), -4095, INT32_MAX, &ll));
	}
	if (r >= 0 && a) {
		*bad = "cgroups";
		if (!json_is_array(a) || json_array_size(a) > GR_JOB_STATE_CGROUPS_MAX)
			return -EINVAL;
		json_array_foreach(a, i, v) {
			if (!json_is_string(v))
				return -EINVAL;
			if ((r = dup_opt(v, &st->cgroups[i])) < 0)
				return r;
			st->ncgroups++;
		}
	}
#undef FIELD
	if (r < 0)
		return r;
	st->supervisor_pid = (pid_t)sp;
	st->supervisor_start = (unsigned long long)ss;
	st->supervisor_start_epoch_ns = (unsigned long long)se;
	st->pid = (pid_t)pid;
	st->pid_start = (unsigned long long)ps;
	st->cgroup_version = (int)ver;
	st->landlock = (int)ll;
	st->started_ns = (unsigned long long)sn;
	st->uid_first = (uid_t)uf;
	st->uid_count = (unsigned)uc;
	st->lease.index = (unsigned)idx;
	st->lease.first = (uid_t)first;
	st->lease.count = (unsigned)count;
	return 0;
}

int gr_job_state_parse(const char *text, unsigned flags, struct gr_job_state *st, struct gr_error **err)
{
	json_error_t je;
	json_t *o;
	const char *bad = NULL;
	int r;

	/* the shape gridrun writes, in one pass; else jansson decides */
	if (!(flags & GR_JOB_STATE_NO_SCAN) && gr_job_state_scan(text, flags, st) == 1)
		return 0;
	memset(st, 0, sizeof(*st));
	o = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return gr_error_set(err, EINVAL, "job state: not JSON: %s", je.text);
	r = json_is_object(o) ? parse_fields(o, flags, st, &bad) : (bad = "(top level)", -EINVAL);
	json_decref(o);
	if (r < 0) {
		gr_job_state_free(st);
		return r == -ENOMEM ? gr_error_sys(err, ENOMEM, "job state")
				    : gr_error_set(err, EINVAL, "job state: field `%s` missing or of the wrong type", bad);
	}
	return 0;
}
