/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * job-read.c - a running job's cgroup figures, for gridrun-exporter
 * (jobs-int.h): which usage files, how they are opened (once, below a kept
 * fd of the job directory's parent, on a hierarchy libcgroup lists) and
 * re-read with pread(), how they are parsed, and the reader threads that
 * share one scrape's jobs. The files and how they are read follow the
 * backends (cgroups/cg-v1.c, cg-v2.c), so that a job's last scrape and its
 * accounting record agree: v1 CPU is cpuacct.usage (exact) split in the
 * proportion of usage_user to usage_sys, as the record's is.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cg-discover.h"
#include "cgroups.h"
#include "jobs-int.h"
#include "util.h"

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
	[F1_MEM_STAT] = { 1, C_MEMORY, "memory.stat" },
	/* never kept open: opened, read and closed only when memory.stat's
	 * hierarchical_memory_limit (the least of the limits of the job and
	 * its ancestors) is not "none", so that a job without a limit costs
	 * one file fewer (job_limit_read()) */
	[F1_MEM_MAX] = { 1, C_MEMORY, "memory.limit_in_bytes" },
};

/* The cgroup hierarchies, by device, from libcgroup (cg-discover.h): the
 * first call costs tens of ms (at start), a later one ~0.2 ms. */
void gr_jobs_load_mounts(struct gr_jobs *j)
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

static void *mounts_loader(void *data)
{
	gr_jobs_load_mounts(data);
	return NULL;
}

void gr_jobs_mounts_start(struct gr_jobs *j)
{
	j->mounts_loading = pthread_create(&j->mounts_loader, NULL, mounts_loader, j) == 0;
	if (!j->mounts_loading)
		gr_jobs_load_mounts(j);
}

void gr_jobs_mounts_wait(struct gr_jobs *j)
{
	if (j->mounts_loading)
		pthread_join(j->mounts_loader, NULL);
	j->mounts_loading = false;
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
		gr_jobs_load_mounts(j);
	}
	return NULL;
}

void gr_job_close(struct gr_jobs *j, struct job *jb)
{
	int v[F_COUNT];
	size_t nv = 0, held;

	/* the open ones, in order */
	for (int f = 0; f < F_COUNT; f++) {
		int fd = jb->fd[f];
		size_t k = nv;

		jb->fd[f] = -1;
		if (fd < 0)
			continue;
		for (; k > 0 && v[k - 1] > fd; k--)
			v[k] = v[k - 1];
		v[k] = fd;
		nv++;
	}
	/* every fd of a run is the job's: close_range() closes no other */
	for (size_t a = 0, b; a < nv; a = b) {
		for (b = a + 1; b < nv && v[b] == v[b - 1] + 1; b++)
			;
		if (b - a == 1 || syscall(SYS_close_range, (unsigned)v[a], (unsigned)v[b - 1], 0) < 0)
			for (size_t i = a; i < b; i++)
				close(v[i]);
	}
	held = jb->opened ? nv : 0;
	if (held) {
		pthread_mutex_lock(&j->lock);
		j->nfds -= held;
		pthread_mutex_unlock(&j->lock);
	}
	jb->opened = false;
	jb->limit_read = false;
	jb->cpu_known = false;
	jb->mem_dir = -1;
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
		if (j->parents[i].len == n && !memcmp(j->parents[i].path, path, n))
			return &j->parents[i];
	if (j->fds_private || j->nparents == PARENTS_MAX || !(p->path = strndup(path, n)))
		return NULL;
	p->len = n;
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

static bool file_wanted(const struct job *jb, int f, const struct mount *m)
{
	return f != F1_MEM_MAX && files[f].version == m->version && (m->version == 1 ? (files[f].ctl & m->ctl) != 0 : true) &&
	       jb->fd[f] == -1;
}

/* The usage files of the job directory `path`, opened straight below the
 * kept fd of its parent (one open each, where opening the directory first
 * costs an open and a close more per directory: 5 of a v1 job's 15 opens);
 * how many, or -1 when none could be (the directory gone, the parent not
 * kept): then the caller opens the directory itself. 0: nothing is read
 * on this hierarchy (v1 cpu, beside cpuacct), so it is not looked at: an
 * open and a close per job that a one-shot spent for nothing. */
static int job_files_below_parent(struct gr_jobs *j, struct job *jb, const char *path, unsigned *ctl)
{
	/* "gridrun-ID/FILE": ID one plain component (job_dir_ok(): no "/",
	 * never "." or ".."), FILE one of files[]; with no symlink followed
	 * and no mount crossed, that can only be the job directory's file.
	 * RESOLVE_BENEATH would add nothing here but its cost, the parent
	 * kept as the walk's root and the result checked against it
	 * (path_is_under()) on every open: 3-5% of an open and close, two
	 * threads on 1000 jobs' files (BENCHMARKS.md, session 12). */
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };
	const char *base = strrchr(path, '/') + 1;
	size_t bl = strlen(base);
	const struct parent *p;
	struct mount m = { 0 };
	char name[512];
	int pfd = -1, opened = 0, fd[F_COUNT];

	pthread_mutex_lock(&j->lock);
	if ((p = parent_of(j, path))) {
		pfd = p->fd;
		m = p->m;
	}
	pthread_mutex_unlock(&j->lock);
	if (pfd < 0 || m.version != jb->version)
		return -1;
	*ctl = m.ctl;
	bool ok = true, wanted = false;

	for (int f = 0; f < F_COUNT; f++) {
		fd[f] = -1;
		wanted |= file_wanted(jb, f, &m);
	}
	if (!wanted)
		return 0;
	/* "BASE/": the file names go after it */
	if (bl + 2 > sizeof(name))
		return -1;
	memcpy(name, base, bl);
	name[bl] = '/';
	for (int f = 0; f < F_COUNT && ok; f++) {
		size_t fl = strlen(files[f].name);

		if (!file_wanted(jb, f, &m))
			continue;
		ok = bl + 1 + fl < sizeof(name);
		if (ok)
			memcpy(name + bl + 1, files[f].name, fl + 1);
		fd[f] = ok ? (int)syscall(SYS_openat2, pfd, name, &how, sizeof(how)) : -1;
		if (fd[f] >= 0)
			opened++;
		else if (errno != ENOENT)
			ok = false;
	}
	for (int f = 0; f < F_COUNT; f++) {
		if (!ok || !opened) {
			if (fd[f] >= 0)
				close(fd[f]);
		} else if (file_wanted(jb, f, &m)) {
			/* the directory is there: a file missing is its controller off */
			jb->fd[f] = fd[f] >= 0 ? fd[f] : FD_ABSENT;
		}
	}
	return ok && opened ? opened : -1;
}

/* Open the job's usage files; 0, or -errno when no directory could be. */
static int job_open(struct gr_jobs *j, struct job *jb)
{
	size_t opened = 0;
	int r = 0;

	gr_job_close(j, jb);
	/* any directory missing: the job's cgroup is being removed */
	for (size_t d = 0; d < jb->ndirs && r == 0; d++) {
		struct mount mount = { 0 };
		unsigned ctl = 0;
		int below = job_files_below_parent(j, jb, jb->dirs[d], &ctl);
		_cleanup_close_ int dfd = -1;
		const struct mount *m = &mount;

		if (below >= 0) {
			opened += (size_t)below;
			if (jb->version == 1 && (ctl & C_MEMORY))
				jb->mem_dir = (int)d;
			continue;
		}
		dfd = job_dir_open(j, jb->dirs[d], &mount);

		if (dfd < 0) {
			r = dfd;
			break;
		}
		if (mount.version != jb->version) {
			gr_jobs_warn(&jb->warned, "job `%s`: `%s` is not on a cgroup v%d filesystem", jb->id, jb->dirs[d],
			     jb->version);
			continue;
		}
		if (jb->version == 1 && (mount.ctl & C_MEMORY))
			jb->mem_dir = (int)d;
		for (int f = 0; f < F_COUNT && r == 0; f++) {
			if (!file_wanted(jb, f, m))
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
		gr_job_close(j, jb);
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

/* tmp: v1 cpuacct total, user, system; inactive file bytes and whether
 * read; v1 hierarchical memory limit and whether read */
static void parse_file(struct gr_job_sample *s, int f, const char *t, uint64_t tmp[7])
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
		if (f == F1_MEM_STAT) {
			v = keyed(t, "hierarchical_memory_limit", &ok);
			tmp[5] = v;
			tmp[6] = ok;
		}
		break;
	case F1_CPU:
		cpu1[0] = strtoull(t, NULL, 10);
		break;
	case F1_CPU_ALL:
		/* "cpu user system" then one "N USER SYSTEM" line per CPU */
		for (const char *p = strchr(t, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
			char *cpu_end, *u_end, *y_end;
			unsigned long long u, y;

			/* "N USER SYSTEM": three numbers, or the line is skipped */
			strtoull(p + 1, &cpu_end, 10);
			u = strtoull(cpu_end, &u_end, 10);
			y = strtoull(u_end, &y_end, 10);
			if (cpu_end != p + 1 && u_end != cpu_end && y_end != u_end) {
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

/* v1 memory.limit_in_bytes of the job's memory directory (jb->mem_dir,
 * which job_open() found on the memory hierarchy), opened as the files
 * kept open are (below the kept parent fd, else from /), read into buf and
 * closed: its length, -ENOENT when it is not there, or -errno. */
static ssize_t job_limit_read(struct gr_jobs *j, struct job *jb, char *buf)
{
	struct open_how below = { .flags = O_RDONLY | O_CLOEXEC,
				  .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
					     RESOLVE_NO_XDEV };
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	const char *dir = jb->dirs[jb->mem_dir], *name = files[F1_MEM_MAX].name;
	const struct parent *p;
	char path[4096 + 64];
	int pfd = -1, fd = -1;
	ssize_t n;

	pthread_mutex_lock(&j->lock);
	if ((p = parent_of(j, dir)))
		pfd = p->fd;
	pthread_mutex_unlock(&j->lock);
	if (pfd >= 0 && snprintf(path, sizeof(path), "%s/%s", strrchr(dir, '/') + 1, name) < (int)sizeof(path))
		fd = (int)syscall(SYS_openat2, pfd, path, &below, sizeof(below));
	if (fd < 0 && snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path))
		fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	n = pread(fd, buf, READ_BUF - 1, 0);
	if (n < 0)
		n = -errno;
	close(fd);
	return n;
}

/* Read the job's figures into jb->s (buf: READ_BUF bytes, the caller
 * thread's); -errno when the cgroup is gone. */
static int job_read(struct gr_jobs *j, struct job *jb, char *buf)
{
	uint64_t cpu1[7] = { 0 };
	unsigned have1 = 0;
	int r = 0;

	if (!jb->opened && (r = job_open(j, jb)) < 0)
		return r;
	jb->s = (struct gr_job_sample){ .job_id = jb->id, .labels = jb->labels, .labels_len = jb->labels_len,
					.layers = jb->layers };
	for (int f = 0; f < F_COUNT && r == 0; f++) {
		ssize_t n;

		/* v1 memory.limit_in_bytes is never open: its turn below */
		if (jb->fd[f] < 0 && (f != F1_MEM_MAX || jb->mem_dir < 0))
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
		if (f == F1_MEM_MAX) {
			/* memory.stat, read just before, says that neither the
			 * job nor an ancestor has a limit (PAGE_COUNTER_MAX
			 * pages, > 2^62, as parse_file() takes it): then the
			 * job's own is none either. The file missing where
			 * memory.stat was read means the directory went since:
			 * the job is gone, as a failed read says (never half
			 * there); else the memory controller is off there. */
			bool none = cpu1[6] && cpu1[5] >= 1ULL << 62;

			n = none ? 0 : job_limit_read(j, jb, buf);
			if (none || (n == -ENOENT && jb->fd[F1_MEM_STAT] < 0)) {
				jb->limit_read = true;
				jb->limit_set = false;
				continue;
			}
		} else {
			n = pread(jb->fd[f], buf, READ_BUF - 1, 0);
			if (n < 0)
				n = -errno;
		}
		if (n < 0) {
			r = (int)n;      /* ENODEV: removed under us */
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
		gr_job_close(j, jb);
	return r;
}

/* The work of one scrape on its jobs, shared out among threads (each
 * takes the next job): listing them (their state files) and reading their
 * cgroups; on a busy node that is nearly all of a scrape's time, most of it
 * in the kernel (seq_file formatting, opens), and jobs are independent. */
struct readers {
	struct gr_jobs *j;
	struct job **v;
	size_t n, next;
	gr_job_fn *fn;
	void *arg;
};

static void *reader(void *data)
{
	struct readers *rd = data;
	char *buf = malloc(READ_BUF);

	/* a copy of the table as it is: the kept parents are in it. Should
	 * it fail, the table stays shared, which is only slower. */
	if (rd->j->fds_private)
		(void)unshare(CLONE_FILES);

	for (size_t i; (i = __atomic_fetch_add(&rd->next, 1, __ATOMIC_RELAXED)) < rd->n; )
		rd->fn(rd->j, rd->v[i], buf, rd->arg);
	free(buf);
	return NULL;
}

void gr_jobs_each(struct gr_jobs *j, struct job **v, size_t n, gr_job_fn *fn, void *arg)
{
	struct readers rd = { j, v, n, 0, fn, arg };
	pthread_t t[READERS_MAX];
	unsigned extra = 0;

	for (; n >= READER_MIN_JOBS && extra + 1 < j->readers; extra++)
		if (pthread_create(&t[extra], NULL, reader, &rd) != 0)
			break;
	reader(&rd);
	for (unsigned i = 0; i < extra; i++)
		pthread_join(t[i], NULL);
}

static void read_one(struct gr_jobs *j, struct job *jb, char *buf, void *arg)
{
	(void)arg;
	jb->read_rc = !buf ? -ENOMEM : !jb->labels || !jb->version ? -ENOENT : job_read(j, jb, buf);
}

/* A one-shot's reads: each thread with an fd table of its own, where a
 * job's files are opened as one run of fds (closed with one close_range(),
 * 11 017 -> ~4 000 closes at 1000 v1 jobs) and no thread contends for the
 * table's lock or reference. The parents are opened first, so that the
 * copies all have them; none is opened meanwhile (a job whose parent is not
 * kept opens its directory from /, as when the parents are all taken). The
 * daemon keeps its files for later scrapes and shares its table. */
void gr_jobs_read_all(struct gr_jobs *j, struct job **v, size_t n)
{
	bool private = j->once && n >= READER_MIN_JOBS && j->readers > 1;

	if (private) {
		pthread_mutex_lock(&j->lock);
		for (size_t i = 0; i < n; i++)
			for (size_t d = 0; v[i]->labels && d < v[i]->ndirs; d++)
				parent_of(j, v[i]->dirs[d]);
		j->fds_private = true;
		pthread_mutex_unlock(&j->lock);
	}
	gr_jobs_each(j, v, n, read_one, NULL);
	j->fds_private = false;
}
