/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jobs-int.h - what the collector's job files share: jobs.c (the state
 * directory, the supervisors' pidfds, one scrape's list) and job-read.c
 * (each job's cgroup files and the reader threads). exporter.h says what is
 * read and trusted. Locking: during gr_jobs_read_all() the readers share j
 * and take j->lock for mounts, nfds and parents; each job is read by one
 * thread only. The state files are listed the same way (gr_jobs_each()),
 * the threads taking j->lock for wds too.
 */
#ifndef GRIDRUN_EXPORTER_JOBS_INT_H
#define GRIDRUN_EXPORTER_JOBS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "exporter.h"

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
	/* F1_MEM_STAT before F1_MEM_MAX: its hierarchical_memory_limit says
	 * whether the limit file need be opened at all (job-read.c) */
	F1_CPU, F1_CPU_ALL, F1_MEM, F1_MEM_PEAK, F1_OOM, F1_PIDS, F1_IO, F1_FREEZER, F1_MEM_STAT, F1_MEM_MAX,
	F_COUNT
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
	int pidfd;                    /* the supervisor, in gr_jobs.ep; -1: none (see alive) */
	int wd;                       /* inotify watch of its directory, -1: none */
	unsigned checked;             /* == gr_jobs.check_gen: looked at since its last event */
	bool alive;
	uint64_t start_time;          /* ns since the epoch, 0: unknown */
	char *labels;
	size_t labels_len;
	char *layers;                 /* gr_job_sample.layers; NULL: not in the state */
	int version;                  /* 0: no cgroup listed */
	char *dirs[JOB_DIRS_MAX];
	size_t ndirs;
	int fd[F_COUNT];              /* open, -1 (closed) or FD_ABSENT; never F1_MEM_MAX */
	int mem_dir;                  /* v1: dirs[] index of the memory directory, -1: none */
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
	bool mounts_loading;          /* mounts_loader runs gr_jobs_load_mounts() */
	pthread_t mounts_loader;
	size_t nfds, budget;          /* fds held by the cache, and how many it may */
	pthread_mutex_t lock;         /* mounts, nfds, parents: the readers share them */
	struct parent {
		char *path;
		size_t len;               /* strlen(path) */
		int fd;
		struct mount m;
	} parents[PARENTS_MAX];
	size_t nparents;
	/* during a one-shot's reads (gr_jobs_read_all()) each reader thread
	 * has an fd table of its own: no parent is opened meanwhile, as its
	 * fd would be one thread's only */
	bool fds_private;
	unsigned gen;
	bool dir_warned;
	bool once;                    /* a one-shot: nothing kept for a next scrape */
	unsigned readers;             /* threads reading cgroups (1..READERS_MAX) */
	int ep;                       /* epoll set of the supervisors' pidfds, -1: none */
	int ino;                      /* inotify: the directory and each job's, -1: none */
	int dir_wd;                   /* the state directory's watch, -1: none */
	dev_t dir_dev;                /* the state directory watched */
	ino_t dir_ino;
	bool listed;                  /* the entries are the map's until an event says otherwise */
	unsigned check_gen;           /* bumped: every job is looked at again */
	struct gr_map wds;            /* inotify watch (decimal) -> job */
	/* this scrape's running jobs, kept (grown) across scrapes */
	struct job **alive;
	struct gr_job_sample *out;
	size_t cap;
};

void gr_jobs_warn(bool *once, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The cgroup hierarchies, by device, from libcgroup (cg-discover.h). */
void gr_jobs_load_mounts(struct gr_jobs *j);
/* The same, begun on a thread of its own where one can be had (else done
 * now), for a one-shot: its first ~1.5 ms run beside the listing, which
 * needs no hierarchy. gr_jobs_mounts_wait() before mounts, nmounts or
 * mounts_fresh are touched again (a no-op when none runs). */
void gr_jobs_mounts_start(struct gr_jobs *j);
void gr_jobs_mounts_wait(struct gr_jobs *j);
/* Close the job's usage files (the cache's count kept): runs of
 * consecutive fds with one close_range() each, as a one-shot's reader opens
 * a job's files (gr_jobs_read_all()); a run is only ever the job's own. */
void gr_job_close(struct gr_jobs *j, struct job *jb);
/* fn(j, v[i], buf, arg) for each of the n jobs, by one thread per CPU
 * (j->readers) when there are READER_MIN_JOBS or more, each job by one;
 * buf: READ_BUF bytes of the calling thread's (NULL: none could be had). */
typedef void gr_job_fn(struct gr_jobs *j, struct job *jb, char *buf, void *arg);
void gr_jobs_each(struct gr_jobs *j, struct job **v, size_t n, gr_job_fn *fn, void *arg);
/* Read the n jobs' figures into each jb->s, jb->read_rc 0 or -errno. A
 * one-shot's reader threads (and the caller's) unshare their fd tables
 * first (fds_private), so that a job's files are one run of fds. */
void gr_jobs_read_all(struct gr_jobs *j, struct job **v, size_t n);

#endif
