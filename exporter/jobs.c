/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jobs.c - the running jobs, for gridrun-exporter: the state directory's
 * entries (parsed again only when replaced), their supervisors (a pidfd
 * each, in one epoll set: a scrape hears of those that ended) and one
 * scrape's list; their cgroup figures are job-read.c's (jobs-int.h).
 * exporter.h says what is read, what is trusted and what is kept between
 * scrapes.
 *
 * The daemon watches the state directory and each job's directory with
 * inotify, so that a scrape looks only at what changed: the directory is
 * listed again only after an entry came or went (or a listing left one
 * out), and a job's state file is looked at (fstatat, parsed if replaced)
 * only after an event in its directory. Whatever inotify cannot promise
 * falls back to looking: a job without a watch (the watch limit reached,
 * no inotify), a queue overflow or a state directory replaced (its inode
 * changed) make every job be looked at as before.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "jobs-int.h"
#include "state.h"
#include "util.h"

void gr_jobs_warn(bool *once, const char *fmt, ...)
{
	va_list ap;

	if (*once)
		return;
	*once = true;
	va_start(ap, fmt);
	fputs("gridrun-exporter: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(", ignoring\n", stderr);
	va_end(ap);
}

/* Only gridrun's own job directory, CG_ROOT...gridrun-<job-id>, plainly named. */
static bool job_dir_ok(const char *path, const char *job_id)
{
	const char *base = strrchr(path, '/');

	if (strncmp(path, CG_ROOT, strlen(CG_ROOT)) || strlen(path) >= 4096 || !base ||
	    strncmp(base + 1, "gridrun-", 8) || strcmp(base + 9, job_id))
		return false;
	for (const char *p = path + 1; *p; ) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n + (p[n] == '/');
	}
	return true;
}

static void job_unwatch(struct gr_jobs *j, struct job *jb)
{
	if (jb->pidfd >= 0) {
		close(jb->pidfd);
		pthread_mutex_lock(&j->lock);
		j->nfds--;
		pthread_mutex_unlock(&j->lock);
	}
	jb->pidfd = -1;
	jb->alive = false;
}

/* Events that may mean a new entry or a new state file: anything but reads. */
#define DIR_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
#define JOB_DIR_EVENTS (DIR_EVENTS | IN_MODIFY | IN_CLOSE_WRITE)
#define EPOLL_BATCH 64

static void wd_key(char key[16], int wd)
{
	snprintf(key, 16, "%d", wd);
}

/* Every job is looked at again, and the directory listed: what inotify
 * said since is not the whole story (an overflow, a new directory). */
static void jobs_look_again(struct gr_jobs *j)
{
	if (++j->check_gen == 0)
		j->check_gen = 1;
	j->listed = false;
}

/* Watch the job's directory: from here on, any change to its state file is
 * an event. Called by the listing threads (the map under j->lock). A watch
 * another entry holds (a directory renamed) is not shared: this job then
 * has none and is looked at every scrape. */
static void job_dir_watch(struct gr_jobs *j, struct job *jb)
{
	char path[4096], key[16];
	bool taken;
	int wd;

	if (snprintf(path, sizeof(path), "%s/%s", j->state_dir, jb->id) >= (int)sizeof(path))
		return;
	wd = inotify_add_watch(j->ino, path, JOB_DIR_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW);
	if (wd < 0)
		return;   /* ENOSPC: the watch limit; looked at every scrape */
	wd_key(key, wd);
	pthread_mutex_lock(&j->lock);
	taken = gr_map_get(&j->wds, key) != NULL;
	if (!taken && gr_map_put(&j->wds, key, jb) == 0)
		jb->wd = wd;
	pthread_mutex_unlock(&j->lock);
}

/* Called where the map is not shared (between the threads' turns). */
static void job_dir_unwatch(struct gr_jobs *j, struct job *jb)
{
	char key[16];

	if (jb->wd < 0)
		return;
	wd_key(key, jb->wd);
	if (gr_map_get(&j->wds, key) == jb) {
		gr_map_del(&j->wds, key);
		inotify_rm_watch(j->ino, jb->wd);
	}
	jb->wd = -1;
}

static void unwatch_value(void *data, const char *key, void *value)
{
	(void)key;
	job_dir_unwatch(data, value);
}

/* The state directory is another (or gone): its jobs' directories are
 * watched anew, and every job looked at. */
static void jobs_forget(struct gr_jobs *j)
{
	gr_map_each(&j->jobs, unwatch_value, j);
	jobs_look_again(j);
}

/* What changed since the last scrape, as the inotify queue says. */
static void jobs_drain_events(struct gr_jobs *j)
{
	union {
		struct inotify_event ev;
		char b[8192];
	} u;
	ssize_t n;

	while ((n = read(j->ino, u.b, sizeof(u.b))) > 0 || (n < 0 && errno == EINTR)) {
		for (const char *p = u.b; n > 0 && p < u.b + n; ) {
			const struct inotify_event *ev = (const void *)p;
			struct job *jb;
			char key[16];

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				jobs_look_again(j);
			} else if (ev->wd == j->dir_wd) {
				j->listed = false;
				if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
					if (!(ev->mask & IN_IGNORED))
						inotify_rm_watch(j->ino, j->dir_wd);
					j->dir_wd = -1;
					jobs_forget(j);
				}
			} else {
				wd_key(key, ev->wd);
				if ((jb = gr_map_get(&j->wds, key))) {
					jb->checked = 0;
					/* the directory went (its watch with it) or
					 * moved away: the entry's name is watched anew */
					if (ev->mask & IN_IGNORED) {
						gr_map_del(&j->wds, key);
						jb->wd = -1;
					} else if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
						job_dir_unwatch(j, jb);
					}
				}
			}
		}
	}
	if (n < 0 && errno != EAGAIN)
		jobs_look_again(j);
}

/* The state directory as opened for this scrape: watched (again, if it is
 * not the one watched before). */
static void jobs_dir_watch(struct gr_jobs *j, const struct stat *st)
{
	if (st->st_ino != j->dir_ino || st->st_dev != j->dir_dev) {
		if (j->dir_wd >= 0)
			inotify_rm_watch(j->ino, j->dir_wd);
		j->dir_wd = -1;
		j->dir_ino = st->st_ino;
		j->dir_dev = st->st_dev;
		jobs_forget(j);
	}
	if (j->dir_wd < 0) {
		j->dir_wd = inotify_add_watch(j->ino, j->state_dir, DIR_EVENTS | IN_ONLYDIR);
		j->listed = false;
	}
}

static void job_free(struct gr_jobs *j, struct job *jb)
{
	gr_job_close(j, jb);
	job_unwatch(j, jb);
	job_dir_unwatch(j, jb);
	for (size_t i = 0; i < jb->ndirs; i++)
		free(jb->dirs[i]);
	free(jb->labels);
	free(jb->layers);
	free(jb->id);
	free(jb);
}

/* The supervisor as a pidfd, if it is the one the state names (pid reuse),
 * in j->ep (closing the pidfd takes it out again). */
static void job_watch(struct gr_jobs *j, struct job *jb)
{
	int fd;

	job_unwatch(j, jb);
	if (jb->sup_pid <= 0 || gr_proc_starttime(jb->sup_pid) != jb->sup_start)
		return;
	if (j->once) {
		jb->alive = true;   /* one look is all a single scrape needs */
		return;
	}
	fd = (int)syscall(SYS_pidfd_open, jb->sup_pid, 0);
	/* checked again once the pidfd pins the process */
	if (fd >= 0 && gr_proc_starttime(jb->sup_pid) != jb->sup_start) {
		close(fd);
		return;
	}
	if (fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = jb };

		if (epoll_ctl(j->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0) {
		pthread_mutex_lock(&j->lock);
		j->nfds++;
		pthread_mutex_unlock(&j->lock);
	}
	jb->pidfd = fd;
	jb->alive = true;   /* without a pidfd (EMFILE): by start time, each scrape */
}

static void job_set_labels(struct job *jb, const char *account, const char *pool)
{
	struct gr_buf b = { 0 };

	gr_buf_puts(&b, "job_id=\"");
	gr_buf_label(&b, jb->id);
	gr_buf_puts(&b, "\",account=\"");
	gr_buf_label(&b, account);
	gr_buf_puts(&b, "\",pool=\"");
	gr_buf_label(&b, pool);
	gr_buf_puts(&b, "\"");
	free(jb->labels);
	jb->labels = b.oom ? NULL : b.p;
	jb->labels_len = b.oom ? 0 : b.len;
	if (b.oom)
		free(b.p);
	/* the buffer starts at 4 KiB: kept so, a job's labels spread the
	 * heap (and a one-shot's page faults) over a page each */
	else if ((b.p = realloc(jb->labels, b.len + 1)))
		jb->labels = b.p;
}

/* The info labels of the kernel layers the supervisor put in the state. */
static void job_set_layers(struct job *jb, const struct gr_job_state *st)
{
	char *l = NULL;

	if (st->has_layers &&
	    /* %.0d: nothing for 0 */
	    asprintf(&l, "landlock=\"%s\",landlock_abi=\"%.0d\",lsm=\"%s\"",
		     st->landlock > 0 ? "on" : st->landlock == 0 ? "off" : "unavailable",
		     st->landlock > 0 ? st->landlock : 0, st->lsm ? "on" : "off") < 0)
		l = NULL;
	free(jb->layers);
	jb->layers = l;
}

/* Take in a new version of the job's state file (state.c parses it). */
static void job_parse(struct gr_jobs *j, struct job *jb, const char *text)
{
	_cleanup_gr_job_state_ struct gr_job_state st = { 0 };
	char *dirs[JOB_DIRS_MAX];
	size_t n = 0, i;
	bool same;

	if (gr_job_state_parse(text, 0, &st, NULL) < 0 || strcmp(st.job_id, jb->id)) {
		gr_jobs_warn(&jb->warned, "job `%s`: its state file is not gridrun's", jb->id);
		gr_job_close(j, jb);
		job_unwatch(j, jb);
		return;
	}
	job_set_labels(jb, st.account ? st.account : "", st.has_lease ? st.lease.pool : "");
	job_set_layers(jb, &st);
	if (st.supervisor_pid != jb->sup_pid || st.supervisor_start != jb->sup_start || jb->pidfd < 0) {
		jb->sup_pid = st.supervisor_pid;
		jb->sup_start = st.supervisor_start;
		jb->start_time = 0;
		job_watch(j, jb);
	}
	/* The start the supervisor recorded (state.h): the same in every
	 * exporter process and every scrape, whatever the clocks did since.
	 * An older gridrun's entry has none: computed here, to the ms, it can
	 * differ by 1 ms from another process's and follows clock steps. */
	if (st.supervisor_start_epoch_ns)
		jb->start_time = st.supervisor_start_epoch_ns;
	else if (!jb->start_time)
		jb->start_time = gr_start_epoch_ns(jb->sup_start);
	for (i = 0; i < st.ncgroups; i++) {
		if (n < JOB_DIRS_MAX && job_dir_ok(st.cgroups[i], jb->id))
			dirs[n++] = st.cgroups[i];
		else
			gr_jobs_warn(&jb->warned, "job `%s`: cgroup %s is not a gridrun job cgroup", jb->id, st.cgroups[i]);
	}
	if (st.cgroup_version != 1 && st.cgroup_version != 2)
		n = 0;
	same = n == jb->ndirs && st.cgroup_version == jb->version;
	for (i = 0; same && i < n; i++)
		same = !strcmp(dirs[i], jb->dirs[i]);
	if (!same) {
		gr_job_close(j, jb);
		for (i = 0; i < jb->ndirs; i++)
			free(jb->dirs[i]);
		jb->ndirs = 0;
		for (i = 0; i < n; i++)
			if ((jb->dirs[jb->ndirs] = strdup(dirs[i])))
				jb->ndirs++;
		jb->version = st.cgroup_version;
	}
}

int gr_jobs_new(const char *state_dir, bool once, struct gr_jobs **out)
{
	struct gr_jobs *j = calloc(1, sizeof(*j));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct rlimit rl;

	if (!j || !(j->state_dir = strdup(state_dir))) {
		free(j);
		return -ENOMEM;
	}
	pthread_mutex_init(&j->lock, NULL);
	j->once = once;
	/* a one-shot keeps nothing: neither watches nor an epoll set */
	j->ino = once ? -1 : inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	j->ep = once ? -1 : epoll_create1(EPOLL_CLOEXEC);
	j->dir_wd = -1;
	j->check_gen = 1;
	j->readers = cpus < 1 ? 1 : cpus > READERS_MAX ? READERS_MAX : (unsigned)cpus;
	j->budget = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 2 * FD_RESERVE
			    ? (size_t)(rl.rlim_cur - FD_RESERVE) : 0;
	if (once)
		gr_jobs_mounts_start(j);
	else
		gr_jobs_load_mounts(j);
	*out = j;
	return 0;
}

static void free_job_value(void *data, const char *key, void *value)
{
	(void)key;
	job_free(data, value);
}

void gr_jobs_free(struct gr_jobs *j)
{
	if (!j)
		return;
	gr_jobs_mounts_wait(j);
	gr_map_each(&j->jobs, free_job_value, j);
	gr_map_done(&j->jobs);
	gr_map_done(&j->wds);
	if (j->ino >= 0)
		close(j->ino);
	if (j->ep >= 0)
		close(j->ep);
	pthread_mutex_destroy(&j->lock);
	for (size_t i = 0; i < j->nparents; i++) {
		close(j->parents[i].fd);
		free(j->parents[i].path);
	}
	free(j->alive);
	free(j->out);
	free(j->mounts);
	free(j->state_dir);
	free(j);
}

/* The entry `name` as listed: its job, made the first time. */
static struct job *job_get(struct gr_jobs *j, const char *name)
{
	struct job *jb = gr_map_get(&j->jobs, name);

	if (jb)
		return jb;
	jb = calloc(1, sizeof(*jb));
	if (!jb || !(jb->id = strdup(name)) || gr_map_put(&j->jobs, name, jb) < 0) {
		if (jb)
			free(jb->id);
		free(jb);
		return NULL;
	}
	jb->pidfd = -1;
	jb->wd = -1;
	for (int f = 0; f < F_COUNT; f++)
		jb->fd[f] = -1;
	jb->mem_dir = -1;
	return jb;
}

/* A listed job's state file, parsed again if it changed; the job is kept
 * (jb->gen) only while its state.json is a regular file. Called by one
 * thread per CPU (gr_jobs_each()), each job by one; buf: READ_BUF bytes of
 * the calling thread's, or NULL. */
static void job_look(struct gr_jobs *j, struct job *jb, char *buf, void *arg)
{
	/* O_NONBLOCK: a FIFO put there does not hold up a scrape */
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int dfd = *(const int *)arg;
	char path[300];
	struct stat st;
	_cleanup_free_ char *text = NULL;
	const char *t = NULL;
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/state.json", jb->id) >= (int)sizeof(path))
		return;
	/* parsed before: read again only when replaced; else the open and
	 * its fstat are all the looking it needs (a one-shot's every job) */
	if (jb->labels) {
		if (fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			return;   /* a claim being made, or debris for gc */
		jb->gen = j->gen;
		if (st.st_ino == jb->ino && st.st_mtim.tv_sec == jb->mtim.tv_sec &&
		    st.st_mtim.tv_nsec == jb->mtim.tv_nsec)
			return;
	}
	fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	jb->gen = j->gen;
	if (st.st_size > STATE_MAX) {
		close(fd);
		return;
	}
	jb->ino = st.st_ino;
	jb->mtim = st.st_mtim;
	/* entries are replaced, never rewritten: one read of its size is all
	 * of it (a short read of a regular file is its end) */
	n = buf ? pread(fd, buf, READ_BUF - 1, 0) : -1;
	if (n >= 0 && n == st.st_size && n < (ssize_t)READ_BUF - 1) {
		buf[n] = '\0';
		t = buf;
	} else if (lseek(fd, 0, SEEK_SET) == 0 && gr_read_small_fd(fd, STATE_MAX, &text) == 0) {
		t = text;
	}
	if (t)
		job_parse(j, jb, t);
	close(fd);
}

/* job_look(), watched first when it can be: a job looked at after its
 * watch was set is known until the next event in its directory. */
static void job_list(struct gr_jobs *j, struct job *jb, char *buf, void *arg)
{
	if (j->ino >= 0 && jb->wd < 0)
		job_dir_watch(j, jb);
	job_look(j, jb, buf, arg);
	jb->checked = jb->gen == j->gen && jb->wd >= 0 ? j->check_gen : 0;
}

static bool stale(void *data, const char *key, void *value)
{
	struct gr_jobs *j = data;
	struct job *jb = value;

	(void)key;
	if (jb->gen == j->gen)
		return false;
	/* the next listing brings it back if its state file comes back */
	j->listed = false;
	job_free(j, jb);
	return true;
}

static int by_id(const void *a, const void *b)
{
	return strcmp(((const struct gr_job_sample *)a)->job_id, ((const struct gr_job_sample *)b)->job_id);
}

struct scan {
	struct gr_jobs *j;
	struct job **v;
	size_t n;
};

static void collect(void *data, const char *key, void *value)
{
	struct scan *sc = data;
	struct job *jb = value;

	(void)key;
	if (jb->alive)
		sc->v[sc->n++] = jb;
}

static void collect_all(void *data, const char *key, void *value)
{
	struct scan *sc = data;

	(void)key;
	sc->v[sc->n++] = value;
}

/* The per-scrape arrays, for n jobs, kept from one scrape to the next. */
static int reserve(struct gr_jobs *j, size_t n)
{
	void *a, *o;

	if (n <= j->cap)
		return 0;
	n = n < 64 ? 64 : n + n / 2;
	a = realloc(j->alive, n * sizeof(*j->alive));
	if (a)
		j->alive = a;
	o = a ? realloc(j->out, n * sizeof(*j->out)) : NULL;
	if (!o)
		return -ENOMEM;
	j->out = o;
	j->cap = n;
	return 0;
}

int gr_jobs_scrape(struct gr_jobs *j, struct gr_job_sample **samples, size_t *n, unsigned *running,
		   unsigned *unreadable, struct gr_error **err)
{
	struct job **alive;
	struct gr_job_sample *out;
	struct scan sc = { j, NULL, 0 };
	struct dirent *de;
	struct stat st;
	size_t nl = 0, nd = 0, np2 = 0, k = 0;
	bool lost;
	DIR *d;
	int dfd;

	*samples = NULL;
	*n = 0;
	*running = *unreadable = 0;
	j->gen++;
	if (!j->mounts_loading)
		j->mounts_fresh = false;
	if (j->ino >= 0)
		jobs_drain_events(j);
	d = opendir(j->state_dir);
	if (!d && errno != ENOENT)
		return gr_error_sys(err, errno, "state: open `%s`", j->state_dir);
	if (d && fstat(dirfd(d), &st) < 0) {
		closedir(d);
		return gr_error_sys(err, errno, "state: `%s`", j->state_dir);
	}
	if (d && (st.st_mode & 022)) {
		/* gridrun itself refuses such a directory (state.c): anyone could fake jobs */
		gr_jobs_warn(&j->dir_warned, "state directory `%s` is group or world writable, not reading it",
		     j->state_dir);
		closedir(d);
		d = NULL;
	}
	if (d && j->ino >= 0)
		jobs_dir_watch(j, &st);
	/* the entries: listed again only when they may have changed */
	if (d && j->listed) {
		if (reserve(j, j->jobs.n + 1) < 0) {
			closedir(d);
			return gr_error_sys(err, ENOMEM, "scrape");
		}
		sc.v = j->alive;
		gr_map_each(&j->jobs, collect_all, &sc);
		nl = sc.n;
	}
	lost = false;
	while (d && !j->listed && (de = readdir(d))) {
		struct job *jb;

		if (de->d_name[0] == '.' || !strcmp(de->d_name, GR_STATE_RECORDS) ||
		    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		if ((jb = job_get(j, de->d_name)) && reserve(j, nl + 1) == 0)
			j->alive[nl++] = jb;
		else
			lost = true;
	}
	/* a listing that leaves no one out (stale() says) holds until an event */
	if (d)
		j->listed = j->dir_wd >= 0 && !lost;
	/* the state files that may have changed, read and parsed by threads */
	for (size_t i = 0; i < nl; i++) {
		struct job *jb = j->alive[i];

		if (jb->labels && jb->wd >= 0 && jb->checked == j->check_gen)
			jb->gen = j->gen;
		else
			j->alive[nd++] = jb;
	}
	if (d) {
		dfd = dirfd(d);
		gr_jobs_each(j, j->alive, nd, job_list, &dfd);
		closedir(d);
	}
	gr_map_filter(&j->jobs, stale, j);

	/* who still runs: the supervisors that ended are the ready pidfds */
	for (int ne = EPOLL_BATCH; j->ep >= 0 && ne == EPOLL_BATCH; ) {
		struct epoll_event ev[EPOLL_BATCH];

		ne = epoll_wait(j->ep, ev, EPOLL_BATCH, 0);
		if (ne < 0 && errno == EINTR) {
			ne = EPOLL_BATCH;
			continue;
		}
		if (ne < 0)
			return gr_error_sys(err, errno, "scrape: epoll_wait");
		for (int i = 0; i < ne; i++) {
			struct job *jb = ev[i].data.ptr;

			/* closing the pidfd takes it out of the set */
			job_unwatch(j, jb);
			gr_job_close(j, jb);
		}
	}
	if (reserve(j, j->jobs.n + 1) < 0)
		return gr_error_sys(err, ENOMEM, "scrape");
	alive = sc.v = j->alive;
	sc.n = 0;
	out = j->out;
	gr_map_each(&j->jobs, collect, &sc);
	for (size_t i = 0; i < sc.n; i++) {
		struct job *jb = alive[i];
		/* a one-shot looked at each just now (job_watch()); without a
		 * pidfd (EMFILE), by its start time */
		bool gone = jb->pidfd < 0 && !j->once && gr_proc_starttime(jb->sup_pid) != jb->sup_start;

		if (gone) {
			job_unwatch(j, jb);
			gr_job_close(j, jb);
		} else {
			alive[np2++] = jb;
		}
	}
	/* a one-shot's hierarchies, loaded meanwhile (gr_jobs_new()) */
	if (j->mounts_loading) {
		gr_jobs_mounts_wait(j);
		j->mounts_fresh = false;
	}
	gr_jobs_read_all(j, alive, np2);
	for (size_t i = 0; i < np2; i++) {
		struct job *jb = alive[i];

		(*running)++;
		if (jb->read_rc < 0) {
			(*unreadable) += jb->version != 0;
			continue;
		}
		out[k++] = jb->s;
	}
	qsort(out, k, sizeof(*out), by_id);
	*samples = out;
	*n = k;
	return 0;
}

bool gr_jobs_running(const struct gr_jobs *j, const char *job_id)
{
	const struct job *jb = gr_map_get(&j->jobs, job_id);

	return jb && jb->alive && jb->gen == j->gen;
}
