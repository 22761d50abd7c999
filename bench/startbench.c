/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * startbench - start-to-exit time of several commands, side by side.
 *
 *   startbench [-n RUNS] [-w WARMUP] [-o TSV] ROW...
 *   ROW := [-u UID[:GID]] [-e NAME=VALUE]... {-r | -R} LABEL COMMAND [ARG...] --
 *
 * Each measured run is clock_gettime(CLOCK_MONOTONIC) just before fork(),
 * then execvp(COMMAND) in the child with stdin, stdout and stderr on
 * /dev/null, then wait4() in the parent and the clock again. The rows are
 * interleaved round-robin (run 1 of every row, then run 2 of every row, ...)
 * so that machine noise hits every row alike; WARMUP rounds go first and
 * are not counted. Within each round the rows run in a fresh pseudo-random
 * order (fixed seed), so that what a row leaves behind (kernel work deferred
 * to workers, such as namespace and cgroup teardown) does not always land on
 * the same next row.
 *
 * -u and -e belong to the row they precede: in its child, just before the
 * exec (so no extra exec is timed), the supplementary groups are dropped and
 * the real, effective and saved gid and uid become GID (default: UID) and UID
 * (setgroups, setresgid, setresuid: the driver must be root for that), and
 * each NAME=VALUE is put into the environment (putenv), replacing NAME.
 *
 * Every run must exit 0. The first run that does not ends its row: the
 * command is run once more with its output captured, and the row reports the
 * status and the first line of what the command printed. -R marks a row as
 * required: the exit status is 1 when a required row failed (2 on usage
 * errors), 0 otherwise, even if an optional (-r) row failed.
 *
 * Output on stdout: a Markdown table, the first row is the reference (the
 * "× LABEL" column divides each median by its median). Peak RSS is the largest
 * ru_maxrss that wait4() reported over the row's runs: the high-water resident
 * set of the largest single process in the child's tree among those reaped
 * inside it (the kernel folds reaped descendants' maxrss into their reaper),
 * so for a supervisor it is the biggest of supervisor, its children and the
 * job, not their sum. -o also writes one line per run (TSV) for further study.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct row {
	const char *label;
	char **argv;
	char **env;      /* NAME=VALUE for putenv, NULL-terminated, or NULL */
	int become;      /* run as uid:gid */
	uid_t uid;
	gid_t gid;
	int required;
	double *wall_ms; /* one per measured run */
	double *cpu_ms;	 /* user + system, from wait4 */
	long maxrss_kib;
	int done;
	int failed;
	char why[512];
};

static int devnull = -1;

static double ts_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static double tv_ms(const struct timeval *t)
{
	return (double)t->tv_sec * 1e3 + (double)t->tv_usec / 1e3;
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status 0x%x", status);
}

/* In the child: stdio as given, the row's ids and environment, then exec;
 * never returns. Groups first, then gids, then uids: after setresuid there
 * is no privilege left to change the others. */
static void exec_child(const struct row *r, int out)
{
	if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	if (r->become && (setgroups(0, NULL) < 0 || setresgid(r->gid, r->gid, r->gid) < 0 ||
			  setresuid(r->uid, r->uid, r->uid) < 0)) {
		dprintf(2, "startbench: cannot become %u:%u: %s\n", (unsigned)r->uid, (unsigned)r->gid,
			strerror(errno));
		_exit(126);
	}
	for (char **e = r->env; e && *e; e++)
		if (putenv(*e) != 0)
			_exit(126);
	execvp(r->argv[0], r->argv);
	dprintf(2, "startbench: cannot execute %s: %s\n", r->argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/*
 * One timed run. Returns 0 and fills the sample when it exited 0; otherwise
 * -1 with the status in *status (or errno set when fork/wait failed).
 */
static int timed_run(const struct row *r, double *wall, double *cpu, long *maxrss, int *status)
{
	struct timespec t0, t1;
	struct rusage ru;
	pid_t pid, w;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		exec_child(r, devnull);
	do
		w = wait4(pid, status, 0, &ru);
	while (w < 0 && errno == EINTR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (w < 0)
		return -1;
	if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
		errno = 0;
		return -1;
	}
	*wall = ts_ms(&t0, &t1);
	*cpu = tv_ms(&ru.ru_utime) + tv_ms(&ru.ru_stime);
	*maxrss = ru.ru_maxrss;
	return 0;
}

/* After a failure: run once more, capture the output, keep its first line. */
static void diagnose(const struct row *r, char *line, size_t len)
{
	char buf[4096];
	size_t have = 0;
	int p[2], status;
	pid_t pid;
	ssize_t n;
	char *s, *e;

	line[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0)
		exec_child(r, p[1]);
	close(p[1]);
	while (have < sizeof(buf) - 1 && (n = read(p[0], buf + have, sizeof(buf) - 1 - have)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		have += (size_t)n;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	buf[have] = '\0';
	/* first non-blank line, without the trailing newline */
	for (s = buf; *s; s = e + (*e != '\0')) {
		e = strchrnul(s, '\n');
		while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
			s++;
		if (s < e) {
			snprintf(line, len, "%.*s", (int)(e - s), s);
			break;
		}
	}
	/* Markdown: no pipes or backticks inside a table cell */
	for (s = line; *s; s++)
		if (*s == '|' || *s == '`')
			*s = '\'';
}

static void fail_row(struct row *r, int round, int status, int warm)
{
	char st[128], first[320];

	if (errno)
		snprintf(st, sizeof(st), "%s", strerror(errno));
	else
		describe_status(status, st, sizeof(st));
	diagnose(r, first, sizeof(first));
	snprintf(r->why, sizeof(r->why), "%s run %d: %s%s%s", warm ? "warm-up" : "measured", round + 1, st,
		 first[0] ? ": " : "", first);
	r->failed = 1;
	fprintf(stderr, "startbench: %s: FAILED, row aborted (%s)\n", r->label, r->why);
}

/* xorshift32: a fixed sequence, so that runs are comparable */
static unsigned rnd(void)
{
	static unsigned x = 2463534242u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return x;
}

static void shuffle(int *v, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(rnd() % (unsigned)(i + 1)), t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median (mean of the middle two for even n) of a sorted array. */
static double median(const double *v, int n)
{
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest-rank percentile of a sorted array. */
static double percentile(const double *v, int n, int pct)
{
	int k = (pct * n + 99) / 100;

	return v[k < 1 ? 0 : k - 1];
}

static void usage(void)
{
	fputs("usage: startbench [-n RUNS] [-w WARMUP] [-o TSV] ROW...\n"
	      "       ROW := [-u UID[:GID]] [-e NAME=VALUE]... {-r|-R} LABEL COMMAND [ARG...] --\n"
	      "       (-R: a required row; -u, -e: the row's ids and environment)\n",
	      stderr);
	exit(2);
}

static int parse_count(const char *s, int min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > 1000000)
		usage();
	return (int)v;
}

/* UID[:GID], decimal; GID defaults to UID. Never 0 or (uid_t)-1: -u is for
 * becoming someone else, and -1 would mean "leave unchanged" to setres*id. */
static void parse_ids(const char *s, uid_t *uid, gid_t *gid)
{
	unsigned long u, g;
	char *end;

	errno = 0;
	u = strtoul(s, &end, 10);
	g = u;
	if (!errno && *end == ':' && end[1] >= '0' && end[1] <= '9')
		g = strtoul(end + 1, &end, 10);
	if (errno || *end || !(s[0] >= '0' && s[0] <= '9') || u == 0 || g == 0 || u >= 4294967295ul ||
	    g >= 4294967295ul)
		usage();
	*uid = (uid_t)u;
	*gid = (gid_t)g;
}

int main(int argc, char **argv)
{
	int runs = 200, warmup = 5, nrows = 0, i, j, k, bad_required = 0, *order;
	const char *tsv_path = NULL;
	FILE *tsv = NULL;
	struct row *rows, next = { 0 };  /* next: -u and -e seen for the row to come */
	char **envs;
	int nenv = 0;
	double ref = 0;

	rows = calloc((size_t)argc, sizeof(*rows));
	envs = calloc((size_t)argc * 2, sizeof(*envs)); /* each row's, NULL-terminated */
	if (!rows || !envs)
		return 2;
	for (i = 1; i < argc;) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc) {
			runs = parse_count(argv[i + 1], 1);
			i += 2;
		} else if (!strcmp(argv[i], "-w") && i + 1 < argc) {
			warmup = parse_count(argv[i + 1], 0);
			i += 2;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			tsv_path = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "-u") && i + 1 < argc) {
			parse_ids(argv[i + 1], &next.uid, &next.gid);
			next.become = 1;
			i += 2;
		} else if (!strcmp(argv[i], "-e") && i + 1 < argc) {
			if (strchr(argv[i + 1], '=') == NULL || argv[i + 1][0] == '=')
				usage();
			if (!next.env)
				next.env = &envs[nenv];
			envs[nenv++] = argv[i + 1];
			i += 2;
		} else if ((!strcmp(argv[i], "-r") || !strcmp(argv[i], "-R")) && i + 2 < argc) {
			struct row *r = &rows[nrows++];

			*r = next;
			next = (struct row){ 0 };
			if (r->env)
				nenv++; /* the NULL that ends this row's list */
			r->required = argv[i][1] == 'R';
			r->label = argv[i + 1];
			r->argv = &argv[i + 2];
			for (i += 2; i < argc && strcmp(argv[i], "--"); i++)
				;
			if (i == argc || &argv[i] == r->argv)
				usage(); /* no terminating "--", or no command */
			argv[i++] = NULL; /* the row's argv ends here */
		} else {
			usage();
		}
	}
	if (nrows == 0 || next.become || next.env)
		usage(); /* no row, or -u/-e with no row after them */
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		perror("startbench: /dev/null");
		return 2;
	}
	if (tsv_path) {
		tsv = fopen(tsv_path, "we");
		if (!tsv) {
			fprintf(stderr, "startbench: %s: %s\n", tsv_path, strerror(errno));
			return 2;
		}
		fputs("round\trow\twall_ms\tcpu_ms\tmaxrss_kib\n", tsv);
	}
	order = calloc((size_t)nrows, sizeof(int));
	if (!order)
		return 2;
	for (k = 0; k < nrows; k++) {
		order[k] = k;
		rows[k].wall_ms = calloc((size_t)runs, sizeof(double));
		rows[k].cpu_ms = calloc((size_t)runs, sizeof(double));
		if (!rows[k].wall_ms || !rows[k].cpu_ms)
			return 2;
	}
	fprintf(stderr, "startbench: %d rows, %d warm-up + %d measured rounds, round-robin in shuffled order\n", nrows,
		warmup, runs);

	for (i = 0; i < warmup + runs; i++) {
		int warm = i < warmup, round = warm ? i : i - warmup;

		shuffle(order, nrows);
		for (j = 0; j < nrows; j++) {
			struct row *r = &rows[order[j]];
			double wall, cpu;
			long rss;
			int status = 0;

			if (r->failed)
				continue;
			if (timed_run(r, &wall, &cpu, &rss, &status) < 0) {
				fail_row(r, round, status, warm);
				continue;
			}
			if (warm)
				continue;
			r->wall_ms[r->done] = wall;
			r->cpu_ms[r->done] = cpu;
			if (rss > r->maxrss_kib)
				r->maxrss_kib = rss;
			r->done++;
			if (tsv)
				fprintf(tsv, "%d\t%s\t%.4f\t%.3f\t%ld\n", round + 1, r->label, wall, cpu, rss);
		}
	}
	if (tsv)
		fclose(tsv);

	printf("| command | runs | median ms | p90 ms | × %s | CPU ms (median) | peak RSS KiB |\n",
	       rows[0].label);
	printf("|---|--:|--:|--:|--:|--:|--:|\n");
	for (k = 0; k < nrows; k++) {
		struct row *r = &rows[k];
		double med;

		if (r->failed) {
			printf("| %s | %d/%d | **did not run** — %s | – | – | – | – |\n", r->label, r->done, runs,
			       r->why);
			bad_required |= r->required;
			continue;
		}
		qsort(r->wall_ms, (size_t)r->done, sizeof(double), cmp_double);
		qsort(r->cpu_ms, (size_t)r->done, sizeof(double), cmp_double);
		med = median(r->wall_ms, r->done);
		if (k == 0)
			ref = med;
		printf("| %s | %d | %.2f | %.2f | ", r->label, r->done, med,
		       percentile(r->wall_ms, r->done, 90));
		if (ref > 0)
			printf("%.1f", med / ref);
		else
			printf("–");
		printf(" | %.2f | %ld |\n", median(r->cpu_ms, r->done), r->maxrss_kib);
	}
	return bad_required ? 1 : 0;
}
