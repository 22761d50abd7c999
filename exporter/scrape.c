/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * scrape.c - one whole exposition (text format 0.0.4), and the small
 * helpers the collector's files share.
 *
 * Every family has its HELP and TYPE lines in every scrape, samples or not,
 * so a scrape's shape never depends on what runs. Names follow Prometheus'
 * conventions: base units (seconds, bytes), `_total` on counters. CPU
 * seconds are printed exactly, as the nanoseconds they are counted in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exporter.h"
#include "lease.h"
#include "util.h"

/* --- text buffer --- */

/* Room for n more bytes and the NUL: where they go, or NULL (oom). */
static char *buf_room(struct gr_buf *b, size_t n)
{
	if (b->oom)
		return NULL;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	return b->p + b->len;
}

void gr_buf_add(struct gr_buf *b, const char *s, size_t n)
{
	char *p = buf_room(b, n);

	if (!p)
		return;
	memcpy(p, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void gr_buf_puts(struct gr_buf *b, const char *s)
{
	gr_buf_add(b, s, strlen(s));
}

void gr_buf_printf(struct gr_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
	} else if ((size_t)n < sizeof(small)) {
		gr_buf_add(b, small, (size_t)n);
	} else {
		char *big = NULL;

		va_start(ap, fmt);
		if (vasprintf(&big, fmt, ap) < 0)
			b->oom = true;
		else
			gr_buf_add(b, big, (size_t)n);
		va_end(ap);
		free(big);
	}
}

void gr_buf_label(struct gr_buf *b, const char *value)
{
	for (const char *p = value; *p; ) {
		size_t n = strcspn(p, "\\\"\n");

		gr_buf_add(b, p, n);
		p += n;
		if (!*p)
			break;
		gr_buf_add(b, *p == '\n' ? "\\n" : *p == '"' ? "\\\"" : "\\\\", 2);
		p++;
	}
}

/* --- string-keyed map --- */

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

void *gr_map_get(const struct gr_map *m, const char *key)
{
	if (!m->nb)
		return NULL;
	for (struct gr_map_entry *e = m->b[hash(key) & (m->nb - 1)]; e; e = e->next)
		if (!strcmp(e->key, key))
			return e->value;
	return NULL;
}

int gr_map_put(struct gr_map *m, const char *key, void *value)
{
	struct gr_map_entry *e;
	size_t i;

	if (m->n + 1 > m->nb) {
		size_t nb = m->nb ? m->nb * 2 : 64;
		struct gr_map_entry **b = calloc(nb, sizeof(*b));

		if (!b)
			return -ENOMEM;
		for (i = 0; i < m->nb; i++)
			while ((e = m->b[i])) {
				m->b[i] = e->next;
				e->next = b[hash(e->key) & (nb - 1)];
				b[hash(e->key) & (nb - 1)] = e;
			}
		free(m->b);
		m->b = b;
		m->nb = nb;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(key))) {
		free(e);
		return -ENOMEM;
	}
	e->value = value;
	i = hash(key) & (m->nb - 1);
	e->next = m->b[i];
	m->b[i] = e;
	m->n++;
	return 0;
}

void *gr_map_del(struct gr_map *m, const char *key)
{
	if (!m->nb)
		return NULL;
	for (struct gr_map_entry **pp = &m->b[hash(key) & (m->nb - 1)], *e; (e = *pp); pp = &e->next)
		if (!strcmp(e->key, key)) {
			void *v = e->value;

			*pp = e->next;
			free(e->key);
			free(e);
			m->n--;
			return v;
		}
	return NULL;
}

void gr_map_each(const struct gr_map *m, void (*fn)(void *data, const char *key, void *value), void *data)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct gr_map_entry *e = m->b[i]; e; e = e->next)
			fn(data, e->key, e->value);
}

void gr_map_filter(struct gr_map *m, bool (*drop)(void *data, const char *key, void *value), void *data)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct gr_map_entry **pp = &m->b[i], *e; (e = *pp); ) {
			if (drop(data, e->key, e->value)) {
				*pp = e->next;
				free(e->key);
				free(e);
				m->n--;
			} else {
				pp = &e->next;
			}
		}
}

void gr_map_done(struct gr_map *m)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct gr_map_entry *e = m->b[i], *next; e; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	free(m->b);
	*m = (struct gr_map){ 0 };
}

/* --- small files --- */

int gr_read_small_fd(int fd, size_t max, char **out)
{
	_cleanup_free_ char *buf = malloc(max + 1);
	size_t len = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = gr_read_full(fd, buf + len, max + 1 - len);

		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	buf[len] = '\0';
	*out = TAKE_PTR(buf);
	return 0;
}

int gr_read_small_at(int dirfd, const char *name, size_t max, char **out)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	return gr_read_small_fd(fd, max, out);
}

/* --- the collector --- */

struct gr_collector {
	struct gr_jobs *jobs;
	struct gr_records *records;
	const struct gr_config *cfg;
	bool *pool_warned;
	size_t last_cap;              /* of the last scrape's text */
};

int gr_collect_new(const char *state_dir, const struct gr_config *cfg, bool once, struct gr_collector **out,
		   struct gr_error **err)
{
	struct gr_collector *c = calloc(1, sizeof(*c));

	if (!c || gr_jobs_new(state_dir, once, &c->jobs) < 0 || gr_records_new(state_dir, &c->records) < 0 ||
	    !(c->pool_warned = calloc(cfg ? cfg->npools + 1 : 1, sizeof(bool)))) {
		gr_collect_free(c);
		return gr_error_sys(err, ENOMEM, "collector");
	}
	c->cfg = cfg;
	*out = c;
	return 0;
}

void gr_collect_free(struct gr_collector *c)
{
	if (!c)
		return;
	gr_jobs_free(c->jobs);
	gr_records_free(c->records);
	free(c->pool_warned);
	free(c);
}

static const struct {
	enum gr_job_metric m;
	const char *name, *type, *help;
} job_families[] = {
	{ GR_M_CPU_USER, "gridrun_job_cpu_user_seconds_total", "counter",
	  "CPU time the running job's cgroup has spent in user mode." },
	{ GR_M_CPU_SYSTEM, "gridrun_job_cpu_system_seconds_total", "counter",
	  "CPU time the running job's cgroup has spent in the kernel." },
	{ GR_M_MEMORY, "gridrun_job_memory_bytes", "gauge",
	  "Memory the running job's cgroup uses now, page cache included." },
	{ GR_M_MEMORY_PEAK, "gridrun_job_memory_peak_bytes", "gauge",
	  "Most memory the running job's cgroup has used." },
	{ GR_M_PIDS, "gridrun_job_pids", "gauge", "Tasks (processes and threads) in the running job's cgroup." },
	{ GR_M_OOM_KILLS, "gridrun_job_oom_kills_total", "counter",
	  "Processes of the running job that the kernel's OOM killer killed." },
	{ GR_M_IO_READ, "gridrun_job_io_read_bytes_total", "counter",
	  "Bytes the running job's cgroup has read from block devices." },
	{ GR_M_IO_WRITE, "gridrun_job_io_written_bytes_total", "counter",
	  "Bytes the running job's cgroup has written to block devices." },
	{ GR_M_FROZEN, "gridrun_job_frozen", "gauge", "1 while the running job is frozen (suspended), else 0." },
	{ GR_M_MEMORY_LIMIT, "gridrun_job_memory_limit_bytes", "gauge",
	  "Memory limit of the running job's cgroup; absent when unlimited." },
	{ GR_M_WORKING_SET, "gridrun_job_memory_working_set_bytes", "gauge",
	  "Memory the running job's cgroup uses less inactive file pages (cAdvisor's working set)." },
	{ GR_M_START_TIME, "gridrun_job_start_time_seconds", "gauge",
	  "When the running job's supervisor started, in seconds since the epoch." },
};

/* v in decimal at p, zero-padded to width digits (0: as many as it has);
 * the end. At most 20 digits. */
static char *u64_put(char *p, uint64_t v, int width)
{
	char d[24];
	int i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v || (int)sizeof(d) - i < width);
	memcpy(p, d + i, sizeof(d) - (size_t)i);
	return p + sizeof(d) - (size_t)i;
}

/* One line `NAME{LABELS} VALUE`, VALUE as seconds.nanoseconds when ns:
 * 13 a job, so one bounds check each, not one per piece. */
static void sample_line(struct gr_buf *b, const char *name, size_t nl, const char *labels, size_t ll, uint64_t v,
			bool ns)
{
	char *p = buf_room(b, nl + ll + 48), *start = p;

	if (!p)
		return;
	memcpy(p, name, nl);
	p += nl;
	*p++ = '{';
	memcpy(p, labels, ll);
	p += ll;
	*p++ = '}';
	*p++ = ' ';
	if (ns) {
		p = u64_put(p, v / 1000000000u, 0);
		*p++ = '.';
		p = u64_put(p, v % 1000000000u, 9);
	} else {
		p = u64_put(p, v, 0);
	}
	*p++ = '\n';
	*p = '\0';
	b->len += (size_t)(p - start);
}

static void family(struct gr_buf *b, const char *name, const char *type, const char *help)
{
	gr_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

struct pool_count {
	unsigned in_use, quarantine;
};

static void count_lease(void *data, const struct gr_lease_info *info)
{
	struct pool_count *pc = data;

	if (info->state != GR_LEASE_QUARANTINE)
		pc->in_use++;   /* held, or a dead holder's until gc reclaims it */
	else if (info->free_at > gr_realtime_ns())
		pc->quarantine++;
}

static void format_pools(struct gr_collector *c, struct gr_buf *b)
{
	family(b, "gridrun_pool_ranges", "gauge",
	       "Subordinate uid ranges of the pool: state=\"in_use\" (leased), \"quarantine\" or \"free\".");
	for (size_t i = 0; c->cfg && i < c->cfg->npools; i++) {
		const struct gr_pool *p = &c->cfg->pools[i];
		struct pool_count pc = { 0 };
		struct gr_error *e = NULL;
		unsigned used;

		/* a missing lease directory is a pool nothing was ever leased from */
		if (gr_lease_list(p, count_lease, &pc, &e) < 0) {
			if (!c->pool_warned[i])
				fprintf(stderr, "gridrun-exporter: pool %s: %s, leaving it out (lease directories are "
					"root's)\n", p->name, e->msg);
			c->pool_warned[i] = true;
			gr_error_free(e);
			continue;
		}
		used = pc.in_use + pc.quarantine;
		for (int s = 0; s < 3; s++) {
			static const char *const names[] = { "in_use", "quarantine", "free" };
			unsigned v = s == 0 ? pc.in_use : s == 1 ? pc.quarantine : used < p->ranges ? p->ranges - used : 0;

			gr_buf_puts(b, "gridrun_pool_ranges{pool=\"");
			gr_buf_label(b, p->name);
			gr_buf_printf(b, "\",state=\"%s\"} %u\n", names[s], v);
		}
	}
}

int gr_collect_scrape(struct gr_collector *c, char **text, size_t *len, struct gr_error **err)
{
	unsigned long long t0 = gr_now_ns();
	struct gr_job_sample *s;
	struct gr_buf b = { 0 };
	unsigned running, unreadable;
	size_t n;
	int r;

	/* as big as the last one: no growing and copying ~1 MB as it is built */
	if (c->last_cap && (b.p = malloc(c->last_cap)))
		b.cap = c->last_cap;
	r = gr_jobs_scrape(c->jobs, &s, &n, &running, &unreadable, err);
	if (r < 0) {
		free(b.p);
		return r;
	}
	gr_records_update(c->records, c->jobs);
	for (size_t f = 0; f < ARRAY_SIZE(job_families); f++) {
		enum gr_job_metric m = job_families[f].m;
		bool ns = m == GR_M_CPU_USER || m == GR_M_CPU_SYSTEM || m == GR_M_START_TIME;

		size_t nl = strlen(job_families[f].name);

		family(&b, job_families[f].name, job_families[f].type, job_families[f].help);
		for (size_t i = 0; i < n; i++)
			if (s[i].have & (1u << m))
				sample_line(&b, job_families[f].name, nl, s[i].labels, s[i].labels_len, s[i].v[m], ns);
	}
	family(&b, "gridrun_job_layers_info", "gauge",
	       "The kernel layers in effect for the running job: landlock=\"on\" (landlock_abi: its ABI), "
	       "\"off\" (turned off by the site or the spec) or \"unavailable\"; lsm=\"on\" when gridrun's BPF LSM "
	       "guards it. Always 1.");
	for (size_t i = 0; i < n; i++) {
		if (!s[i].layers)
			continue;
		gr_buf_add(&b, "gridrun_job_layers_info{", 24);
		gr_buf_add(&b, s[i].labels, s[i].labels_len);
		gr_buf_add(&b, ",", 1);
		gr_buf_puts(&b, s[i].layers);
		gr_buf_add(&b, "} 1\n", 4);
	}
	family(&b, "gridrun_jobs_running", "gauge", "Jobs whose supervisor is alive in the state directory.");
	gr_buf_printf(&b, "gridrun_jobs_running %u\n", running);
	format_pools(c, &b);
	gr_records_format(c->records, &b);
	family(&b, "gridrun_exporter_jobs_unreadable", "gauge",
	       "Running jobs whose cgroup could not be read in this scrape (one being removed, or no permission).");
	gr_buf_printf(&b, "gridrun_exporter_jobs_unreadable %u\n", unreadable);
	family(&b, "gridrun_exporter_scrape_duration_seconds", "gauge",
	       "How long the exporter took to build this scrape.");
	gr_buf_printf(&b, "gridrun_exporter_scrape_duration_seconds %.6f\n", (gr_now_ns() - t0) / 1e9);
	if (b.oom) {
		free(b.p);
		return gr_error_sys(err, ENOMEM, "scrape");
	}
	c->last_cap = b.cap;
	*text = b.p;
	*len = b.len;
	return 0;
}
