/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exporter.h - gridrun-exporter's collector: what one scrape reads, kept
 * between scrapes so that a scrape of 1 000 jobs stays in a few ms.
 *
 * One scrape (gr_collect_scrape()) is built whole in memory, then served or
 * written; nothing is streamed, so a job that ends half-way through is either
 * in it with all its figures or absent, never half there.
 *
 * Sources, all read-only:
 *  - the state directory (runtime/state.h): DIR/<job-id>/state.json of each
 *    job. A job is running while its supervisor lives: a pidfd per supervisor
 *    (checked against its start time once), in an epoll set a scrape asks
 *    which ended. A state file is parsed again only when it was replaced
 *    (inode or mtime differ). The daemon watches DIR and each job's
 *    directory with inotify (jobs.c): DIR is listed again only after an
 *    entry came or went, a state file is looked at only after an event in
 *    its directory; a job without a watch (the per-user watch limit), a
 *    queue overflow or another DIR make it look at everything, as a
 *    one-shot always does. Not seen: a file bind-mounted over a state file,
 *    or one written in place through a hard link elsewhere (root's doing,
 *    in root's directory; gridrun replaces state files by rename).
 *  - each running job's cgroup directories, as its state file lists them,
 *    but only directories called gridrun-<job-id> below /sys/fs/cgroup,
 *    opened without following symlinks and on a cgroup filesystem whose
 *    hierarchy (v1: its controllers) libcgroup lists (cg-discover.h): looked
 *    up at start and again when a directory is on a device not seen; anything
 *    else in a state file is ignored. A v1 directory on a hierarchy none of
 *    the files below is on (cpu, beside cpuacct) is not opened at all. The usage files are opened once and
 *    re-read with pread() (a cgroup file regenerates at offset 0): a pread is
 *    ~4 us here, an open+read+close ~10 us. But v1 memory.limit_in_bytes is
 *    never kept: it is opened, read and closed, once per open of the others,
 *    and only when memory.stat's hierarchical_memory_limit (the least of the
 *    job's and its ancestors' limits) is not "none"; otherwise the job's own
 *    is none too. A read that fails (the cgroup was
 *    removed: ENODEV) drops the job from that scrape and reopens next time.
 *    While more than the fd budget (RLIMIT_NOFILE less a reserve for
 *    connections) would be open, the rest are opened and closed per scrape.
 *  - DIR/records/<job-id>.json, the node-wide copies of finished jobs'
 *    accounting records (runtime/job.c): summed per account, each once,
 *    starting with those that appear after the exporter started. A copy
 *    whose job is still listed as running is not final yet and waits.
 *  - the site configuration's pools and their lease directories (lease.h),
 *    when this user may read them (they are root's, 0700): leases in use and
 *    free per pool; absent lease directories mean nothing leased.
 */
#ifndef GRIDRUN_EXPORTER_H
#define GRIDRUN_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

#define GR_EXPORTER_VERSION "0.1.0"

struct gr_collector;

/* cfg may be NULL (no pools); it must outlive the collector. once: for a
 * single scrape (--textfile without --interval): no pidfd watches a
 * supervisor (its start time is read once), no file stays open. */
int gr_collect_new(const char *state_dir, const struct gr_config *cfg, bool once, struct gr_collector **out,
		   struct gr_error **err);
void gr_collect_free(struct gr_collector *c);
/* One whole exposition (text format 0.0.4), malloc'd, in *text. */
int gr_collect_scrape(struct gr_collector *c, char **text, size_t *len, struct gr_error **err);

/* --- internals shared by the collector's files --- */

/* A growable text buffer; on allocation failure it stays failed (oom). */
struct gr_buf {
	char *p;
	size_t len, cap;
	bool oom;
};
void gr_buf_add(struct gr_buf *b, const char *s, size_t n);
void gr_buf_puts(struct gr_buf *b, const char *s);
void gr_buf_printf(struct gr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A label value, escaped as the text format wants (\\, \", \n). */
void gr_buf_label(struct gr_buf *b, const char *value);

/* A small string-keyed hash map; values are owned by the caller. */
struct gr_map_entry {
	struct gr_map_entry *next;
	char *key;
	void *value;
};
struct gr_map {
	struct gr_map_entry **b;
	size_t nb, n;
};
void *gr_map_get(const struct gr_map *m, const char *key);
int gr_map_put(struct gr_map *m, const char *key, void *value);
void *gr_map_del(struct gr_map *m, const char *key);
/* Call fn on each value; fn may not change the map. */
void gr_map_each(const struct gr_map *m, void (*fn)(void *data, const char *key, void *value), void *data);
/* Remove the entries for which drop() says true (drop frees the value). */
void gr_map_filter(struct gr_map *m, bool (*drop)(void *data, const char *key, void *value), void *data);
void gr_map_done(struct gr_map *m);

/* Read a small file (at most max bytes; more is -EFBIG): 0 and a
 * NUL-terminated *out, or -errno. _at: relative to dirfd, no symlink at its
 * last component. */
int gr_read_small_fd(int fd, size_t max, char **out);
int gr_read_small_at(int dirfd, const char *name, size_t max, char **out);

/* Per running job: what the job families show (jobs.c). */
enum gr_job_metric {
	GR_M_CPU_USER,      /* ns */
	GR_M_CPU_SYSTEM,    /* ns */
	GR_M_MEMORY,
	GR_M_MEMORY_PEAK,
	GR_M_PIDS,
	GR_M_OOM_KILLS,
	GR_M_IO_READ,
	GR_M_IO_WRITE,
	GR_M_FROZEN,
	GR_M_MEMORY_LIMIT,  /* absent when unlimited */
	GR_M_WORKING_SET,   /* memory less inactive file pages, as cAdvisor's */
	GR_M_START_TIME,    /* ns since the epoch: the supervisor's start */
	GR_M_COUNT
};

struct gr_job_sample {
	const char *job_id;
	const char *labels;            /* job_id="..",account="..",pool=".." */
	size_t labels_len;
	const char *layers;            /* landlock="on|off|unavailable",landlock_abi="N",
					* lsm="on|off"; NULL: the state does not say */
	uint64_t v[GR_M_COUNT];
	unsigned have;                 /* bit (1 << metric) when v[metric] was read */
};

struct gr_jobs;
int gr_jobs_new(const char *state_dir, bool once, struct gr_jobs **out);
void gr_jobs_free(struct gr_jobs *j);
/*
 * List and read the running jobs: *samples (sorted by job id) holds the
 * jobs whose cgroup could be read, *running counts every running job,
 * *unreadable those of them whose cgroup could not be read. The samples
 * and the array are j's: valid until the next call. With more than a few
 * dozen jobs the cgroups are read by up to one thread per CPU (at most 4).
 */
int gr_jobs_scrape(struct gr_jobs *j, struct gr_job_sample **samples, size_t *n, unsigned *running,
		   unsigned *unreadable, struct gr_error **err);
/* Was job_id listed as running by the last gr_jobs_scrape()? */
bool gr_jobs_running(const struct gr_jobs *j, const char *job_id);

/* Finished jobs' records, summed per account (records.c). */
struct gr_records;
int gr_records_new(const char *state_dir, struct gr_records **out);
void gr_records_free(struct gr_records *r);
/* Take in the copies that appeared since, unless their job still runs. */
void gr_records_update(struct gr_records *r, const struct gr_jobs *jobs);
/* The per-account families, HELP and TYPE included. */
void gr_records_format(const struct gr_records *r, struct gr_buf *b);

#endif
