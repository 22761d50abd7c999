/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * records.c - finished jobs, summed per account, from the node-wide copies
 * of their accounting records (DIR/records/<job-id>.json, runtime/job.c).
 *
 * Each copy counts once: a copy is known by its name, inode and mtime (a job
 * id run again replaces its copy with a new inode, and counts again). The
 * copies present when the exporter starts are the baseline and never count:
 * the counters are "since the exporter started", as Prometheus' counters
 * expect. A copy whose job is still listed as running is not final yet (the
 * supervisor writes it just before it removes its state entry) and is taken
 * in at a later scrape. The directory is not listed again while its mtime
 * has not changed, once that mtime is old enough to be trusted (timestamps
 * are coarse: two renames in one tick share one mtime).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exporter.h"
#include "state.h"
#include "util.h"

#define RECORD_MAX (64u << 10)
#define MTIME_TRUST_NS 100000000ull   /* 100 ms: far above a timestamp tick */

static const char *const reasons[] = { "exited", "signaled", "oom", "killed_by_request", "setup_error",
					"supervisor_lost", "other" };
#define NREASONS ARRAY_SIZE(reasons)

struct account {
	uint64_t jobs[NREASONS];
	uint64_t cpu_user_ns, cpu_system_ns, io_read, io_write, wall_ns, oom_killed;
	uint64_t lsm_denials;        /* summed over the record's hooks; null counts 0 */
};

struct seen {
	ino_t ino;
	struct timespec mtim;
	unsigned gen;
};

struct gr_records {
	char *dir;
	struct gr_map seen;          /* file name -> struct seen */
	struct gr_map accounts;      /* account -> struct account */
	unsigned gen;
	bool baseline;               /* the first listing: remember, do not count */
	bool pending;                /* a copy waits for its job to end */
	bool trusted;                /* mtim below is old enough to rely on */
	struct timespec mtim;        /* of the directory at the last listing */
	bool warned;
};

int gr_records_new(const char *state_dir, struct gr_records **out)
{
	struct gr_records *r = calloc(1, sizeof(*r));

	if (!r || asprintf(&r->dir, "%s/" GR_STATE_RECORDS, state_dir) < 0) {
		free(r);
		return -ENOMEM;
	}
	r->baseline = true;
	gr_records_update(r, NULL);
	r->baseline = false;
	*out = r;
	return 0;
}

static void free_value(void *data, const char *key, void *value)
{
	(void)data;
	(void)key;
	free(value);
}

void gr_records_free(struct gr_records *r)
{
	if (!r)
		return;
	gr_map_each(&r->seen, free_value, NULL);
	gr_map_each(&r->accounts, free_value, NULL);
	gr_map_done(&r->seen);
	gr_map_done(&r->accounts);
	free(r->dir);
	free(r);
}

static uint64_t num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* Add one record to its account's sums; false if it is not a record. */
static bool take(struct gr_records *r, const char *text)
{
	json_t *o = json_loads(text, 0, NULL), *acc, *v;
	const char *name = "", *reason, *key;
	struct account *a;
	size_t i;

	if (!json_is_object(o) || !json_is_string(json_object_get(o, "job_id")) ||
	    !json_is_string(json_object_get(o, "reason"))) {
		json_decref(o);
		return false;
	}
	acc = json_object_get(o, "account");
	if (json_is_string(acc))
		name = json_string_value(acc);
	a = gr_map_get(&r->accounts, name);
	if (!a && (!(a = calloc(1, sizeof(*a))) || gr_map_put(&r->accounts, name, a) < 0)) {
		free(a);
		json_decref(o);
		return true;   /* out of memory: this one goes uncounted */
	}
	reason = json_string_value(json_object_get(o, "reason"));
	for (i = 0; i < NREASONS - 1 && strcmp(reason, reasons[i]); i++)
		;
	a->jobs[i]++;
	a->cpu_user_ns += num(o, "cpu_user_ns");
	a->cpu_system_ns += num(o, "cpu_system_ns");
	a->io_read += num(o, "io_read_bytes");
	a->io_write += num(o, "io_write_bytes");
	a->wall_ns += num(o, "wall_ns");
	a->oom_killed += json_is_true(json_object_get(o, "oom_killed"));
	json_object_foreach(json_object_get(o, "lsm_denials"), key, v)
		if (json_is_integer(v) && json_integer_value(v) > 0)
			a->lsm_denials += (uint64_t)json_integer_value(v);
	json_decref(o);
	return true;
}

static bool gone(void *data, const char *key, void *value)
{
	struct gr_records *r = data;
	struct seen *s = value;

	(void)key;
	if (s->gen == r->gen)
		return false;
	free(s);
	return true;
}

/* One copy, listed now: count it if it is new and final. */
static void consider(struct gr_records *r, const struct gr_jobs *jobs, int dfd, const char *name)
{
	size_t n = strlen(name);
	struct seen *s = gr_map_get(&r->seen, name);
	_cleanup_free_ char *text = NULL, *job_id = NULL;
	struct stat st;

	if (n <= 5 || strcmp(name + n - 5, ".json") ||
	    fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return;   /* temp files of a copy being written, and the like */
	if (s && s->ino == st.st_ino && s->mtim.tv_sec == st.st_mtim.tv_sec &&
	    s->mtim.tv_nsec == st.st_mtim.tv_nsec) {
		s->gen = r->gen;
		return;
	}
	job_id = strndup(name, n - 5);
	if (!job_id)
		return;
	if (!r->baseline && jobs && gr_jobs_running(jobs, job_id)) {
		r->pending = true;
		return;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s || gr_map_put(&r->seen, name, s) < 0) {
			free(s);
			return;
		}
	}
	s->ino = st.st_ino;
	s->mtim = st.st_mtim;
	s->gen = r->gen;
	if (r->baseline)
		return;
	if (gr_read_small_at(dfd, name, RECORD_MAX, &text) < 0 || !take(r, text)) {
		if (!r->warned)
			fprintf(stderr, "gridrun-exporter: `%s/%s` is not an accounting record, ignoring\n",
				r->dir, name);
		r->warned = true;
	}
}

void gr_records_update(struct gr_records *r, const struct gr_jobs *jobs)
{
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(r->dir);

	if (!d)
		return;   /* no job has finished here yet */
	if (fstat(dirfd(d), &st) < 0 ||
	    (r->trusted && !r->pending && st.st_mtim.tv_sec == r->mtim.tv_sec &&
	     st.st_mtim.tv_nsec == r->mtim.tv_nsec)) {
		closedir(d);
		return;
	}
	r->mtim = st.st_mtim;
	r->trusted = gr_realtime_ns() > (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
					(unsigned long long)st.st_mtim.tv_nsec + MTIME_TRUST_NS;
	r->pending = false;
	r->gen++;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			consider(r, jobs, dirfd(d), de->d_name);
	closedir(d);
	gr_map_filter(&r->seen, gone, r);
}

struct fmt {
	const struct gr_records *r;
	const char **names;
	size_t n;
};

static void add_name(void *data, const char *key, void *value)
{
	struct fmt *f = data;

	(void)value;
	f->names[f->n++] = key;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void account_label(struct gr_buf *b, const char *metric, const char *account)
{
	gr_buf_puts(b, metric);
	gr_buf_puts(b, "{account=\"");
	gr_buf_label(b, account);
	gr_buf_puts(b, "\"");
}

void gr_records_format(const struct gr_records *r, struct gr_buf *b)
{
	static const struct {
		const char *name, *help;
		bool ns;
		size_t off;
	} sums[] = {
		{ "gridrun_account_cpu_user_seconds_total", "User-mode CPU time of the account's finished jobs.",
		  true, offsetof(struct account, cpu_user_ns) },
		{ "gridrun_account_cpu_system_seconds_total", "Kernel CPU time of the account's finished jobs.",
		  true, offsetof(struct account, cpu_system_ns) },
		{ "gridrun_account_wall_seconds_total", "Wall-clock time of the account's finished jobs.",
		  true, offsetof(struct account, wall_ns) },
		{ "gridrun_account_io_read_bytes_total", "Bytes the account's finished jobs read from block devices.",
		  false, offsetof(struct account, io_read) },
		{ "gridrun_account_io_written_bytes_total",
		  "Bytes the account's finished jobs wrote to block devices.", false, offsetof(struct account, io_write) },
		{ "gridrun_account_oom_killed_jobs_total", "Finished jobs of the account that lost a process to the "
		  "OOM killer.", false, offsetof(struct account, oom_killed) },
		{ "gridrun_account_lsm_denials_total", "Operations gridrun's BPF LSM refused to the account's finished "
		  "jobs (their records' lsm_denials, every hook).", false, offsetof(struct account, lsm_denials) },
	};
	struct fmt f = { r, calloc(r->accounts.n + 1, sizeof(char *)), 0 };

	if (!f.names) {
		b->oom = true;
		return;
	}
	gr_map_each(&r->accounts, add_name, &f);
	qsort(f.names, f.n, sizeof(*f.names), by_name);
	gr_buf_puts(b, "# HELP gridrun_account_jobs_finished_total Jobs of the account that finished since the "
		       "exporter started, by the reason they ended.\n"
		       "# TYPE gridrun_account_jobs_finished_total counter\n");
	for (size_t i = 0; i < f.n; i++) {
		const struct account *a = gr_map_get(&r->accounts, f.names[i]);

		for (size_t k = 0; k < NREASONS; k++) {
			if (!a->jobs[k])
				continue;
			account_label(b, "gridrun_account_jobs_finished_total", f.names[i]);
			gr_buf_printf(b, ",reason=\"%s\"} %llu\n", reasons[k], (unsigned long long)a->jobs[k]);
		}
	}
	for (size_t s = 0; s < ARRAY_SIZE(sums); s++) {
		gr_buf_printf(b, "# HELP %s %s (Since the exporter started.)\n# TYPE %s counter\n", sums[s].name,
			      sums[s].help, sums[s].name);
		for (size_t i = 0; i < f.n; i++) {
			const struct account *a = gr_map_get(&r->accounts, f.names[i]);
			uint64_t v = *(const uint64_t *)((const char *)a + sums[s].off);

			account_label(b, sums[s].name, f.names[i]);
			if (sums[s].ns)
				gr_buf_printf(b, "} %llu.%09llu\n", (unsigned long long)(v / 1000000000u),
					      (unsigned long long)(v % 1000000000u));
			else
				gr_buf_printf(b, "} %llu\n", (unsigned long long)v);
		}
	}
	free(f.names);
}
