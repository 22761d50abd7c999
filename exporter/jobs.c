/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jobs.c - the running jobs and their cgroup usage, for gridrun-exporter.
 * exporter.h says what is read, what is trusted and what is kept between
 * scrapes. The usage files and how they are read follow the backends
 * (cgroups/cg-v1.c, cg-v2.c), so that a job's last scrape and its
 * accounting record agree: v1 CPU is cpuacct.usage (exact) split in the
 * proportion of usage_user to usage_sys, as the record's is.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cg-discover.h"
#include "cgroups.h"
#include "exporter.h"
#include "state.h"
#include "util.h"

#define CG_ROOT "/sys/fs/cgroup/"
#define STATE_MAX (64u << 10)
#define JOB_DIRS_MAX 8
#define FD_ABSENT (-2)            /* the file does not exist (controller off) */
#define FD_RESERVE 1024           /* fds kept for connections and the rest */
#define READERS_MAX 4             /* threads reading jobs' cgroups in one scrape */
#define READER_MIN_JOBS 64        /* fewer jobs: one thread */
#define READ_BUF (64u << 10)
#define PARENTS_MAX 16            /* directories job cgroups are made in */

enum ctl { C_CPUACCT = 1, C_MEMORY = 2, C_PIDS = 4, C_FREEZER = 8, C_BLKIO = 16 };

enum file_id {
	F2_CPU, F2_MEM, F2_MEM_PEAK, F2_PIDS, F2_MEM_EVENTS, F2_IO, F2_EVENTS, F2_MEM_MAX, F2_MEM_STAT,
	F1_CPU, F1_CPU_ALL, F1_MEM, F1_MEM_PEAK, F1_OOM, F1_PIDS, F1_IO, F1_FREEZER, F1_MEM_MAX, F1_MEM_STAT,
	F_COUNT
};

static const struct {
	int version;
	unsigned ctl;                 /* v1: the hierarchy that has it */
	const char *name;
} files[F_COUNT] = {
	[F2_CPU] = { 2, 0, "cpu.stat" },
	[F2_MEM] = { 2, 0, "memory.current" },
	[F2_MEM_PEAK] = { 2, 0, "memory.peak" },
	[F2_PIDS] = { 2, 0, "pids.current" },
	[F2_MEM_EVENTS] = { 2, 0, "memory.events" },
	[F2_IO] = { 2, 0, "io.stat" },
	[F2_EVENTS] = { 2, 0, "cgroup.events" },
	[F2_MEM_MAX] = { 2, 0, "memory.max" },
	[F2_MEM_STAT] = { 2, 0, "memory.stat" },
	[F1_CPU] = { 1, C_CPUACCT, "cpuacct.usage" },
	/* per CPU user and system ns in one file: the same figures as
	 * cpuacct.usage_user and usage_sys, one read fewer per job */
	[F1_CPU_ALL] = { 1, C_CPUACCT, "cpuacct.usage_all" },
	[F1_MEM] = { 1, C_MEMORY, "memory.usage_in_bytes" },
	[F1_MEM_PEAK] = { 1, C_MEMORY, "memory.max_usage_in_bytes" },
	[F1_OOM] = { 1, C_MEMORY, "memory.oom_control" },
	[F1_PIDS] = { 1, C_PIDS, "pids.current" },
	[F1_IO] = { 1, C_BLKIO, "blkio.throttle.io_service_bytes" },
	[F1_FREEZER] = { 1, C_FREEZER, "freezer.state" },
	[F1_MEM_MAX] = { 1, C_MEMORY, "memory.limit_in_bytes" },
	[F1_MEM_STAT] = { 1, C_MEMORY, "memory.stat" },
};

struct mount {
	dev_t dev;
	int version;
	unsigned ctl;
};

struct job {
	char *id;
	ino_t ino;                    /* of the state file last parsed */
	struct timespec mtim;
	pid_t sup_pid;
	unsigned long long sup_start;
	int pidfd;                    /* the supervisor; -1: none (see alive) */
	bool alive;
	uint64_t start_time;          /* ns since the epoch, 0: unknown */
	char *labels;
	char *layers;                 /* gr_job_sample.layers; NULL: not in the state */
	int version;                  /* 0: no cgroup listed */
	char *dirs[JOB_DIRS_MAX];
	size_t ndirs;
	int fd[F_COUNT];              /* open, -1 (closed) or FD_ABSENT */
	bool opened;                  /* fd[] are open (and cached) */
	bool limit_read, limit_set;   /* the memory limit, read since they were opened */
	uint64_t limit;
	/* v1: cpuacct.usage and the user/system ns of usage_all that went with
	 * it; the same usage again means no task ran, so the same split */
	bool cpu_known;
	uint64_t cpu_prev[3];
	int read_rc;                  /* of this scrape's job_read() */
	bool warned;
	unsigned gen;
	struct gr_job_sample s;
};

struct gr_jobs {
	char *state_dir;
	struct gr_map jobs;
	struct mount *mounts;
	size_t nmounts;
	bool mounts_fresh;            /* reloaded during this scrape */
	size_t nfds, budget;          /* fds held by the cache, and how many it may */
	pthread_mutex_t lock;         /* mounts, nfds, parents: the readers share them */
	struct parent {
		char *path;
		int fd;
		struct mount m;
	} parents[PARENTS_MAX];
	size_t nparents;
	unsigned gen;
	bool dir_warned;
	bool once;                    /* a one-shot: nothing kept for a next scrape */
	unsigned readers;             /* threads reading cgroups (1..READERS_MAX) */
	/* this scrape's running jobs, kept (grown) across scrapes */
	struct job **alive;
	struct pollfd *pfd;
	struct gr_job_sample *out;
	size_t cap;
};

static void warn(bool *once, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(bool *once, const char *fmt, ...)
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

/* The cgroup hierarchies, by device, from libcgroup (cg-discover.h): the
 * first call costs tens of ms (at start), a later one ~0.2 ms. */
static void load_mounts(struct gr_jobs *j)
{
	static const struct { const char *name; unsigned ctl; } c[] = {
		{ "cpuacct", C_CPUACCT }, { "memory", C_MEMORY }, { "pids", C_PIDS },
		{ "freezer", C_FREEZER }, { "blkio", C_BLKIO },
	};
	struct gr_cg_discovery d;
	struct mount *v;

	j->nmounts = 0;
	j->mounts_fresh = true;
	if (gr_cg_discover(&d, NULL) < 0)
		return;
	v = d.nh ? realloc(j->mounts, d.nh * sizeof(*v)) : NULL;
	if (v)
		j->mounts = v;
	for (size_t i = 0; v && i < d.nh; i++) {
		struct mount m = { .dev = d.h[i].dev, .version = d.h[i].version };

		for (size_t k = 0; m.version == 1 && k < ARRAY_SIZE(c); k++)
			if (gr_cg_discovery_find(&d, c[k].name) == &d.h[i])
				m.ctl |= c[k].ctl;
		j->mounts[j->nmounts++] = m;
	}
	gr_cg_discovery_free(&d);
}

static const struct mount *mount_of(struct gr_jobs *j, dev_t dev)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < j->nmounts; i++)
			if (j->mounts[i].dev == dev)
				return &j->mounts[i];
		/* a hierarchy mounted since: look again, once per scrape */
		if (j->mounts_fresh)
			break;
		load_mounts(j);
	}
	return NULL;
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

static void job_close(struct gr_jobs *j, struct job *jb)
{
	size_t held = 0;

	for (int f = 0; f < F_COUNT; f++) {
		if (jb->fd[f] >= 0) {
			close(jb->fd[f]);
			held += jb->opened;
		}
		jb->fd[f] = -1;
	}
	if (held) {
		pthread_mutex_lock(&j->lock);
		j->nfds -= held;
		pthread_mutex_unlock(&j->lock);
	}
	jb->opened = false;
	jb->limit_read = false;
	jb->cpu_known = false;
}

static void job_unwatch(struct gr_jobs *j, struct job *jb)
{
	if (jb->pidfd >= 0) {
		close(jb->pidfd);
		j->nfds--;
	}
	jb->pidfd = -1;
	jb->alive = false;
}

static void job_free(struct gr_jobs *j, struct job *jb)
{
	job_close(j, jb);
	job_unwatch(j, jb);
	for (size_t i = 0; i < jb->ndirs; i++)
		free(jb->dirs[i]);
	free(jb->labels);
	free(jb->layers);
	free(jb->id);
	free(jb);
}

/* The supervisor as a pidfd, if it is the one the state names (pid reuse). */
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
	if (fd >= 0)
		j->nfds++;
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
	if (b.oom)
		free(b.p);
}

/* A /proc starttime (clock ticks since boot) in ns since the epoch: the
 * realtime clock less the boot-time clock is when the machine booted
 * (/proc/stat's btime is truncated to the second), plus the ticks. The two
 * clock reads are tens of ns apart, a different amount each time: rounded
 * to the ms (a tick is 1-10 ms), the same job shows the same start in every
 * scrape and every exporter, one-shots included. */
static uint64_t start_epoch_ns(unsigned long long ticks)
{
	long hz = sysconf(_SC_CLK_TCK);
	struct timespec rt, bt;
	long long boot;

	if (!ticks || hz <= 0 || clock_gettime(CLOCK_REALTIME, &rt) < 0 || clock_gettime(CLOCK_BOOTTIME, &bt) < 0)
		return 0;
	boot = (rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
	boot = (boot + 500000) / 1000000 * 1000000;
	return (uint64_t)boot + ticks / (unsigned long long)hz * 1000000000ULL +
	       ticks % (unsigned long long)hz * 1000000000ULL / (unsigned long long)hz;
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
		warn(&jb->warned, "job `%s`: its state file is not gridrun's", jb->id);
		job_close(j, jb);
		job_unwatch(j, jb);
		return;
	}
	job_set_labels(jb, st.account ? st.account : "", st.has_lease ? st.lease.pool : "");
	job_set_layers(jb, &st);
	if (st.supervisor_pid != jb->sup_pid || st.supervisor_start != jb->sup_start || jb->pidfd < 0) {
		jb->sup_pid = st.supervisor_pid;
		jb->sup_start = st.supervisor_start;
		jb->start_time = start_epoch_ns(jb->sup_start);
		job_watch(j, jb);
	}
	for (i = 0; i < st.ncgroups; i++) {
		if (n < JOB_DIRS_MAX && job_dir_ok(st.cgroups[i], jb->id))
			dirs[n++] = st.cgroups[i];
		else
			warn(&jb->warned, "job `%s`: cgroup %s is not a gridrun job cgroup", jb->id, st.cgroups[i]);
	}
	if (st.cgroup_version != 1 && st.cgroup_version != 2)
		n = 0;
	same = n == jb->ndirs && st.cgroup_version == jb->version;
	for (i = 0; same && i < n; i++)
		same = !strcmp(dirs[i], jb->dirs[i]);
	if (!same) {
		job_close(j, jb);
		for (i = 0; i < jb->ndirs; i++)
			free(jb->dirs[i]);
		jb->ndirs = 0;
		for (i = 0; i < n; i++)
			if ((jb->dirs[jb->ndirs] = strdup(dirs[i])))
				jb->ndirs++;
		jb->version = st.cgroup_version;
	}
}

/* The parent of a job directory (job_dir_ok() vouched for its path), kept
 * open with the hierarchy it is on, or NULL. Called with j->lock held. */
static const struct parent *parent_of(struct gr_jobs *j, const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	size_t n = (size_t)(strrchr(path, '/') - path);
	struct parent *p = &j->parents[j->nparents];
	const struct mount *m;
	struct stat st;

	for (size_t i = 0; i < j->nparents; i++)
		if (!strncmp(j->parents[i].path, path, n) && !j->parents[i].path[n])
			return &j->parents[i];
	if (j->nparents == PARENTS_MAX || !(p->path = strndup(path, n)))
		return NULL;
	p->fd = (int)syscall(SYS_openat2, AT_FDCWD, p->path, &how, sizeof(how));
	if (p->fd >= 0 && fstat(p->fd, &st) == 0 && (m = mount_of(j, st.st_dev))) {
		p->m = *m;
		j->nparents++;
		return p;
	}
	if (p->fd >= 0)
		close(p->fd);
	free(p->path);
	return NULL;
}

/* A job's cgroup directory and the hierarchy it is on (version 0: none
 * known): one lookup below its parent's fd, on the parent's filesystem
 * (RESOLVE_NO_XDEV), instead of a walk from / and an fstat; else (a
 * parent removed and made again, say) from /. -errno when it is gone. */
static int job_dir_open(struct gr_jobs *j, const char *path, struct mount *m)
{
	struct open_how below = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				  .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
					     RESOLVE_NO_XDEV };
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	const struct parent *p;
	const struct mount *known;
	struct stat st;
	int pfd = -1, dfd;

	pthread_mutex_lock(&j->lock);
	if ((p = parent_of(j, path))) {
		pfd = p->fd;
		*m = p->m;
	}
	pthread_mutex_unlock(&j->lock);
	if (pfd >= 0 && (dfd = (int)syscall(SYS_openat2, pfd, strrchr(path, '/') + 1, &below, sizeof(below))) >= 0)
		return dfd;
	dfd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (dfd < 0 || fstat(dfd, &st) < 0) {
		int e = -errno;

		if (dfd >= 0)
			close(dfd);
		return e;
	}
	pthread_mutex_lock(&j->lock);
	known = mount_of(j, st.st_dev);
	*m = known ? *known : (struct mount){ 0 };
	pthread_mutex_unlock(&j->lock);
	return dfd;
}

/* Open the job's usage files; 0, or -errno when no directory could be. */
static int job_open(struct gr_jobs *j, struct job *jb)
{
	size_t opened = 0;
	int r = 0;

	job_close(j, jb);
	/* any directory missing: the job's cgroup is being removed */
	for (size_t d = 0; d < jb->ndirs && r == 0; d++) {
		struct mount mount = { 0 };
		_cleanup_close_ int dfd = job_dir_open(j, jb->dirs[d], &mount);
		const struct mount *m = &mount;

		if (dfd < 0) {
			r = dfd;
			break;
		}
		if (mount.version != jb->version) {
			warn(&jb->warned, "job `%s`: `%s` is not on a cgroup v%d filesystem", jb->id, jb->dirs[d],
			     jb->version);
			continue;
		}
		for (int f = 0; f < F_COUNT && r == 0; f++) {
			if (files[f].version != m->version || (m->version == 1 && !(files[f].ctl & m->ctl)) ||
			    jb->fd[f] != -1)
				continue;
			jb->fd[f] = openat(dfd, files[f].name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (jb->fd[f] >= 0)
				opened++;
			else if (errno == ENOENT)
				jb->fd[f] = FD_ABSENT;   /* its controller is off */
			else
				r = -errno;
		}
	}
	if (r == 0 && !opened)
		r = -ENOENT;
	if (r < 0) {
		job_close(j, jb);
		return r;
	}
	pthread_mutex_lock(&j->lock);
	if (!j->once && j->nfds + opened <= j->budget) {
		jb->opened = true;
		j->nfds += opened;
	}
	pthread_mutex_unlock(&j->lock);
	return 0;
}

static uint64_t keyed(const char *text, const char *key, bool *found)
{
	size_t n = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, n) && p[n] == ' ') {
			*found = true;
			return strtoull(p + n + 1, NULL, 10);
		}
	*found = false;
	return 0;
}

static void set(struct gr_job_sample *s, enum gr_job_metric m, uint64_t v)
{
	s->v[m] = v;
	s->have |= 1u << m;
}

/* tmp: v1 cpuacct total, user, system; inactive file bytes and whether read */
static void parse_file(struct gr_job_sample *s, int f, const char *t, uint64_t tmp[5])
{
	uint64_t *cpu1 = tmp;
	bool ok, ok2;
	uint64_t v, w;

	switch (f) {
	case F2_CPU:
		v = keyed(t, "user_usec", &ok);
		w = keyed(t, "system_usec", &ok2);
		if (ok && ok2) {
			set(s, GR_M_CPU_USER, v * 1000);
			set(s, GR_M_CPU_SYSTEM, w * 1000);
		}
		break;
	case F2_MEM: case F1_MEM:
		set(s, GR_M_MEMORY, strtoull(t, NULL, 10));
		break;
	case F2_MEM_PEAK: case F1_MEM_PEAK:
		set(s, GR_M_MEMORY_PEAK, strtoull(t, NULL, 10));
		break;
	case F2_PIDS: case F1_PIDS:
		set(s, GR_M_PIDS, strtoull(t, NULL, 10));
		break;
	case F2_MEM_EVENTS: case F1_OOM:
		if ((v = keyed(t, "oom_kill", &ok)), ok)
			set(s, GR_M_OOM_KILLS, v);
		break;
	case F2_EVENTS:
		if ((v = keyed(t, "frozen", &ok)), ok)
			set(s, GR_M_FROZEN, v ? 1 : 0);
		break;
	case F1_FREEZER:
		set(s, GR_M_FROZEN, !strncmp(t, "FROZEN", 6));
		break;
	case F2_MEM_MAX: case F1_MEM_MAX:
		/* v2 "max"; v1 has no word for it: PAGE_COUNTER_MAX pages, > 2^62 */
		if (t[0] >= '0' && t[0] <= '9' && (v = strtoull(t, NULL, 10)) < (1ULL << 62))
			set(s, GR_M_MEMORY_LIMIT, v);
		break;
	case F2_MEM_STAT: case F1_MEM_STAT:
		/* v1's hierarchical figure is total_inactive_file */
		if ((v = keyed(t, f == F2_MEM_STAT ? "inactive_file" : "total_inactive_file", &ok)), ok) {
			tmp[3] = v;
			tmp[4] = 1;
		}
		break;
	case F1_CPU:
		cpu1[0] = strtoull(t, NULL, 10);
		break;
	case F1_CPU_ALL:
		/* "cpu user system" then one "N USER SYSTEM" line per CPU */
		for (const char *p = strchr(t, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
			unsigned long long u, y;

			if (sscanf(p + 1, "%*u %llu %llu", &u, &y) == 2) {
				cpu1[1] += u;
				cpu1[2] += y;
			}
		}
		break;
	case F2_IO: case F1_IO:
		v = w = 0;
		for (const char *p = t; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
			const char *nl = strchr(p, '\n'), *r, *x;
			char dev[32], op[16];
			unsigned long long n;

			if (f == F2_IO) {
				/* "MAJ:MIN rbytes=N wbytes=N rios=N ..." */
				if ((r = strstr(p, " rbytes=")) && (!nl || r < nl))
					v += strtoull(r + 8, NULL, 10);
				if ((x = strstr(p, " wbytes=")) && (!nl || x < nl))
					w += strtoull(x + 8, NULL, 10);
			} else if (sscanf(p, "%31s %15s %llu", dev, op, &n) == 3) {
				/* "MAJ:MIN Read N" ...; the last line is "Total N" */
				if (!strcmp(op, "Read"))
					v += n;
				else if (!strcmp(op, "Write"))
					w += n;
			}
		}
		set(s, GR_M_IO_READ, v);
		set(s, GR_M_IO_WRITE, w);
		break;
	}
}

/* Read the job's figures into jb->s (buf: READ_BUF bytes, the caller
 * thread's); -errno when the cgroup is gone. */
static int job_read(struct gr_jobs *j, struct job *jb, char *buf)
{
	uint64_t cpu1[5] = { 0 };
	unsigned have1 = 0;
	int r = 0;

	if (!jb->opened && (r = job_open(j, jb)) < 0)
		return r;
	jb->s = (struct gr_job_sample){ .job_id = jb->id, .labels = jb->labels, .layers = jb->layers };
	for (int f = 0; f < F_COUNT && r == 0; f++) {
		ssize_t n;

		if (jb->fd[f] < 0)
			continue;
		/* the limit is set before the job starts: read once per open */
		if ((f == F2_MEM_MAX || f == F1_MEM_MAX) && jb->opened && jb->limit_read) {
			if (jb->limit_set)
				set(&jb->s, GR_M_MEMORY_LIMIT, jb->limit);
			continue;
		}
		/* usage_all comes right after usage (files[]) */
		if (f == F1_CPU_ALL && (have1 & 1) && jb->cpu_known && cpu1[0] == jb->cpu_prev[0]) {
			cpu1[1] = jb->cpu_prev[1];
			cpu1[2] = jb->cpu_prev[2];
			continue;
		}
		n = pread(jb->fd[f], buf, READ_BUF - 1, 0);
		if (n < 0) {
			r = -errno;      /* ENODEV: removed under us */
			break;
		}
		buf[n] = '\0';
		if (f == F1_CPU || f == F1_CPU_ALL)
			have1 |= 1u << (f - F1_CPU);
		parse_file(&jb->s, f, buf, cpu1);
		if (f == F2_MEM_MAX || f == F1_MEM_MAX) {
			jb->limit_read = true;
			jb->limit_set = (jb->s.have >> GR_M_MEMORY_LIMIT) & 1;
			jb->limit = jb->s.v[GR_M_MEMORY_LIMIT];
		}
	}
	if (r == 0 && (have1 & 1)) {
		uint64_t u, y;

		memcpy(jb->cpu_prev, cpu1, sizeof(jb->cpu_prev));
		jb->cpu_known = jb->opened;

		gr_cgroup_v1_cpu_split(cpu1[0], cpu1[1], cpu1[2], &u, &y);
		set(&jb->s, GR_M_CPU_USER, u);
		set(&jb->s, GR_M_CPU_SYSTEM, y);
	}
	if (r == 0 && cpu1[4] && (jb->s.have & (1u << GR_M_MEMORY)))
		set(&jb->s, GR_M_WORKING_SET, jb->s.v[GR_M_MEMORY] > cpu1[3] ? jb->s.v[GR_M_MEMORY] - cpu1[3] : 0);
	if (r == 0 && jb->start_time)
		set(&jb->s, GR_M_START_TIME, jb->start_time);
	if (!jb->opened || r < 0)
		job_close(j, jb);
	return r;
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
	j->readers = cpus < 1 ? 1 : cpus > READERS_MAX ? READERS_MAX : (unsigned)cpus;
	j->budget = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 2 * FD_RESERVE
			    ? (size_t)(rl.rlim_cur - FD_RESERVE) : 0;
	load_mounts(j);
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
	gr_map_each(&j->jobs, free_job_value, j);
	gr_map_done(&j->jobs);
	pthread_mutex_destroy(&j->lock);
	for (size_t i = 0; i < j->nparents; i++) {
		close(j->parents[i].fd);
		free(j->parents[i].path);
	}
	free(j->alive);
	free(j->pfd);
	free(j->out);
	free(j->mounts);
	free(j->state_dir);
	free(j);
}

/* The job entry `name` as listed now, parsed again if its state file changed. */
static void job_list(struct gr_jobs *j, int dfd, const char *name)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	struct job *jb = gr_map_get(&j->jobs, name);
	char path[300];
	struct stat st;
	_cleanup_free_ char *text = NULL;
	int fd;

	if (snprintf(path, sizeof(path), "%s/state.json", name) >= (int)sizeof(path) ||
	    fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return;   /* a claim being made, or debris for gc */
	if (!jb) {
		jb = calloc(1, sizeof(*jb));
		if (!jb || !(jb->id = strdup(name)) || gr_map_put(&j->jobs, name, jb) < 0) {
			if (jb)
				free(jb->id);
			free(jb);
			return;
		}
		jb->pidfd = -1;
		for (int f = 0; f < F_COUNT; f++)
			jb->fd[f] = -1;
	}
	jb->gen = j->gen;
	if (jb->labels && st.st_ino == jb->ino && st.st_mtim.tv_sec == jb->mtim.tv_sec &&
	    st.st_mtim.tv_nsec == jb->mtim.tv_nsec)
		return;
	fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > STATE_MAX) {
		if (fd >= 0)
			close(fd);
		return;
	}
	jb->ino = st.st_ino;
	jb->mtim = st.st_mtim;
	if (gr_read_small_fd(fd, STATE_MAX, &text) == 0)
		job_parse(j, jb, text);
	close(fd);
}

static bool stale(void *data, const char *key, void *value)
{
	struct gr_jobs *j = data;
	struct job *jb = value;

	(void)key;
	if (jb->gen == j->gen)
		return false;
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

/* The cgroup reads of one scrape, shared out among threads (each takes the
 * next job): on a busy node they are most of a scrape's time, nearly all of
 * it in the kernel (seq_file formatting), and jobs are independent. */
struct readers {
	struct gr_jobs *j;
	struct job **v;
	size_t n, next;
};

static void *reader(void *data)
{
	struct readers *rd = data;
	char *buf = malloc(READ_BUF);

	for (size_t i; (i = __atomic_fetch_add(&rd->next, 1, __ATOMIC_RELAXED)) < rd->n; ) {
		struct job *jb = rd->v[i];

		jb->read_rc = !buf ? -ENOMEM : !jb->labels || !jb->version ? -ENOENT : job_read(rd->j, jb, buf);
	}
	free(buf);
	return NULL;
}

static void read_all(struct gr_jobs *j, struct job **v, size_t n)
{
	struct readers rd = { j, v, n, 0 };
	pthread_t t[READERS_MAX];
	unsigned extra = 0;

	for (; n >= READER_MIN_JOBS && extra + 1 < j->readers; extra++)
		if (pthread_create(&t[extra], NULL, reader, &rd) != 0)
			break;
	reader(&rd);
	for (unsigned i = 0; i < extra; i++)
		pthread_join(t[i], NULL);
}

/* The per-scrape arrays, for n jobs, kept from one scrape to the next. */
static int reserve(struct gr_jobs *j, size_t n)
{
	void *a, *p, *o;

	if (n <= j->cap)
		return 0;
	n = n < 64 ? 64 : n + n / 2;
	a = realloc(j->alive, n * sizeof(*j->alive));
	if (a)
		j->alive = a;
	p = a ? realloc(j->pfd, n * sizeof(*j->pfd)) : NULL;
	if (p)
		j->pfd = p;
	o = p ? realloc(j->out, n * sizeof(*j->out)) : NULL;
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
	struct pollfd *pfd;
	struct gr_job_sample *out;
	struct scan sc = { j, NULL, 0 };
	struct dirent *de;
	struct stat st;
	size_t np = 0, np2 = 0, k = 0;
	DIR *d;

	*samples = NULL;
	*n = 0;
	*running = *unreadable = 0;
	j->gen++;
	j->mounts_fresh = false;
	d = opendir(j->state_dir);
	if (!d && errno != ENOENT)
		return gr_error_sys(err, errno, "state: open `%s`", j->state_dir);
	if (d && fstat(dirfd(d), &st) == 0 && (st.st_mode & 022)) {
		/* gridrun itself refuses such a directory (state.c): anyone could fake jobs */
		warn(&j->dir_warned, "state directory `%s` is group or world writable, not reading it",
		     j->state_dir);
		closedir(d);
		d = NULL;
	}
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && strcmp(de->d_name, GR_STATE_RECORDS) &&
		    (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN))
			job_list(j, dirfd(d), de->d_name);
	if (d)
		closedir(d);
	gr_map_filter(&j->jobs, stale, j);

	/* who still runs: one poll over every supervisor's pidfd */
	if (reserve(j, j->jobs.n + 1) < 0)
		return gr_error_sys(err, ENOMEM, "scrape");
	alive = sc.v = j->alive;
	pfd = j->pfd;
	out = j->out;
	gr_map_each(&j->jobs, collect, &sc);
	for (size_t i = 0; i < sc.n; i++)
		if (alive[i]->pidfd >= 0)
			pfd[np++] = (struct pollfd){ .fd = alive[i]->pidfd, .events = POLLIN };
	if (np && poll(pfd, np, 0) < 0)
		return gr_error_sys(err, errno, "scrape: poll");
	for (size_t i = 0, p = 0; i < sc.n; i++) {
		struct job *jb = alive[i];
		/* a one-shot looked at each just now (job_watch()) */
		bool gone = jb->pidfd >= 0 ? (pfd[p++].revents & (POLLIN | POLLHUP | POLLERR)) != 0
			    : !j->once && gr_proc_starttime(jb->sup_pid) != jb->sup_start;

		if (gone) {
			job_unwatch(j, jb);
			job_close(j, jb);
		} else {
			alive[np2++] = jb;
		}
	}
	read_all(j, alive, np2);
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
