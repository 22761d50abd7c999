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
 * CPU is the whole tree's, from a cgroup: every run gets a fresh cgroup
 * (startbench.PID.run, beneath the driver's own cgroup in the cpuacct
 * hierarchy on v1, in the unified one on v2) that the child joins just before
 * the exec (a write to cgroup.procs, timed in every row alike). After wait4()
 * the driver waits until no process is left in that cgroup or beneath it,
 * reads cpuacct.usage (v1) or cpu.stat usage_usec (v2), removes what the
 * command left beneath it (empty cgroups) and the cgroup itself. wait4()'s
 * rusage counts only what the child reaped: a PID 1 or a daemon that nobody
 * waits for (bwrap's PID 1 with --unshare-pid is one) escapes it, and a
 * runtime that leaves work to such a process looked cheaper than it is. The
 * wall time still ends with wait4(), what a batch system sees; the next run
 * starts only after the tree is gone. The TSV keeps wait4()'s figure too.
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
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

struct row {
	const char *label;
	char **argv;
	char **env;      /* NAME=VALUE for putenv, NULL-terminated, or NULL */
	int become;      /* run as uid:gid */
	uid_t uid;
	gid_t gid;
	int required;
	double *wall_ms; /* one per measured run */
	double *cpu_ms;	 /* the whole tree's, from the run's cgroup */
	long maxrss_kib;
	int done;
	int failed;
	char why[512];
};

static int devnull = -1;

/* the driver's own cgroup (cpuacct on v1, unified on v2), the run's name in it */
static int cg_base = -1;
static int cg_v2;
static char cg_run[64];
static volatile sig_atomic_t stop_sig;

static double ts_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

static double tv_ms(const struct timeval *t)
{
	return (double)t->tv_sec * 1e3 + (double)t->tv_usec / 1e3;
}

/* The controllers field of a /proc/self/cgroup line names CTRL (v1). */
static int names_controller(const char *list, size_t len, const char *ctrl)
{
	size_t n = strlen(ctrl);

	for (const char *s = list; s < list + len;) {
		const char *e = memchr(s, ',', (size_t)(list + len - s));

		if (!e)
			e = list + len;
		if ((size_t)(e - s) == n && !memcmp(s, ctrl, n))
			return 1;
		s = e + 1;
	}
	return 0;
}

/*
 * Where the cgroup hierarchy that counts CPU is mounted: /sys/fs/cgroup on
 * v2, else the v1 mount whose super options name cpuacct (from mountinfo:
 * "cpuacct" alone on this host, "cpu,cpuacct" co-mounted on others).
 */
static int cg_mount(char *mnt, size_t len)
{
	struct statfs sf;
	char line[4096];
	FILE *f;
	int found = 0;

	if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
		cg_v2 = 1;
		snprintf(mnt, len, "/sys/fs/cgroup");
		return 0;
	}
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - "), *fields[5] = { 0 }, *save = NULL, *opts, *o;
		int i = 0;

		if (!sep)
			continue;
		/* before " - ": id parent major:minor root MOUNTPOINT ... */
		for (char *t = strtok_r(line, " ", &save); t && i < 5; t = strtok_r(NULL, " ", &save))
			fields[i++] = t;
		/* after it: FSTYPE SOURCE SUPER-OPTIONS */
		if (i < 5 || strncmp(sep + 3, "cgroup ", 7))
			continue;
		opts = strrchr(sep + 3, ' ');
		if (!opts)
			continue;
		opts++;
		opts[strcspn(opts, "\n")] = '\0';
		for (o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
			if (!strcmp(o, "cpuacct"))
				found = 1;
		if (found)
			snprintf(mnt, len, "%s", fields[4]);
	}
	fclose(f);
	return found ? 0 : -1;
}

/* Open our own cgroup in the hierarchy that counts CPU, into cg_base. */
static int cg_open_base(void)
{
	char mnt[512], line[4096], path[4608];
	FILE *f;
	int found = 0;

	if (cg_mount(mnt, sizeof(mnt)) < 0) {
		fprintf(stderr, "startbench: no cgroup hierarchy with cpuacct (v1) or cgroup2 at /sys/fs/cgroup\n");
		return -1;
	}
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -1;
	/* "ID:CONTROLLERS:PATH": "0::PATH" on v2, the line naming cpuacct on v1 */
	while (!found && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;

		if (!p)
			continue;
		p[strcspn(p, "\n")] = '\0';
		if (cg_v2 ? (!strncmp(line, "0::", 3)) : names_controller(c + 1, (size_t)(p - c - 1), "cpuacct")) {
			snprintf(path, sizeof(path), "%s%s", mnt, p + 1);
			found = 1;
		}
	}
	fclose(f);
	if (!found) {
		fprintf(stderr, "startbench: our own cgroup is not in /proc/self/cgroup\n");
		return -1;
	}
	cg_base = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_base < 0) {
		fprintf(stderr, "startbench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	snprintf(cg_run, sizeof(cg_run), "startbench.%d.run", (int)getpid());
	return 0;
}

/* Read a small cgroup file at DIRFD into BUF; its length, or -1. */
static ssize_t cg_read(int dirfd, const char *name, char *buf, size_t len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/*
 * Whether a process is left in the cgroup at DIRFD or beneath it. v2 says so
 * in cgroup.events; v1 has no such file: cgroup.procs of each cgroup of the
 * subtree (gridrun's job cgroups are beneath the run's while they exist).
 */
static int cg_populated(int dirfd)
{
	char buf[4096];
	DIR *d;
	struct dirent *e;
	int fd, busy;

	if (cg_v2)
		return cg_read(dirfd, "cgroup.events", buf, sizeof(buf)) < 0 || !strstr(buf, "populated 0");
	busy = cg_read(dirfd, "cgroup.procs", buf, sizeof(buf)) != 0;
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 1;
	}
	while (!busy && (e = readdir(d)))
		if (e->d_type == DT_DIR && strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			busy = sub < 0 ? errno != ENOENT : cg_populated(sub);
			if (sub >= 0)
				close(sub);
		}
	closedir(d);
	return busy;
}

/* Remove the (empty) cgroups beneath DIRFD, innermost first. */
static void cg_prune(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)))
		if (e->d_type == DT_DIR && strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (sub >= 0) {
				cg_prune(sub);
				close(sub);
			}
			unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
		}
	closedir(d);
}

/* Remove the run's cgroup and anything the command left beneath it. */
static void cg_remove_run(void)
{
	int fd = openat(cg_base, cg_run, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		cg_prune(fd);
		close(fd);
	}
	unlinkat(cg_base, cg_run, AT_REMOVEDIR);
}

/* A fresh cgroup for one run: the fd of its cgroup.procs for the child to
 * join, and of the cgroup itself in *dirfd; -1 with errno set. */
static int cg_new_run(int *dirfd)
{
	int procs;

	cg_remove_run(); /* a leftover of ours, if an earlier run was cut short */
	if (mkdirat(cg_base, cg_run, 0755) < 0)
		return -1;
	*dirfd = openat(cg_base, cg_run, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return -1;
	procs = openat(*dirfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (procs < 0) {
		close(*dirfd);
		return -1;
	}
	return procs;
}

/*
 * After wait4(): wait (up to 60 s) until nothing is left in the run's cgroup,
 * then its CPU so far in ms; -1 when it does not empty or cannot be read.
 */
static double cg_run_cpu(int dirfd)
{
	struct timespec nap = { 0, 200000 };
	char buf[4096], *u;
	int i;

	for (i = 0; cg_populated(dirfd); i++) {
		if (i == 300000) {
			errno = EBUSY;
			return -1;
		}
		nanosleep(&nap, NULL);
	}
	if (!cg_v2)
		return cg_read(dirfd, "cpuacct.usage", buf, sizeof(buf)) > 0 ? strtod(buf, NULL) / 1e6 : -1;
	if (cg_read(dirfd, "cpu.stat", buf, sizeof(buf)) <= 0 || !(u = strstr(buf, "usage_usec ")))
		return -1;
	return strtod(u + 11, NULL) / 1e3;
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
static void exec_child(const struct row *r, int out, int cg_procs)
{
	if (dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	/* "0": the writer itself; before the ids change, while we may */
	if (cg_procs >= 0 && write(cg_procs, "0", 1) != 1) {
		dprintf(2, "startbench: cannot join the run's cgroup: %s\n", strerror(errno));
		_exit(126);
	}
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
 * -1 with the status in *status (or errno set when fork/wait or the cgroup
 * failed). *cpu is the cgroup's, *cpu_wait4 what wait4() reported.
 */
static int timed_run(const struct row *r, double *wall, double *cpu, double *cpu_wait4, long *maxrss,
		     int *status)
{
	struct timespec t0, t1;
	struct rusage ru;
	pid_t pid, w;
	int procs, cg = -1, saved;

	procs = cg_new_run(&cg);
	if (procs < 0) {
		saved = errno;
		cg_remove_run();
		errno = saved ? saved : EIO;
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0)
		exec_child(r, devnull, procs);
	saved = errno;
	close(procs);
	if (pid < 0) {
		close(cg);
		cg_remove_run();
		errno = saved;
		return -1;
	}
	do
		w = wait4(pid, status, 0, &ru);
	while (w < 0 && errno == EINTR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	saved = errno;
	*cpu = cg_run_cpu(cg);
	if (*cpu < 0 && w >= 0)
		saved = errno ? errno : EIO;
	close(cg);
	cg_remove_run();
	if (w < 0 || *cpu < 0) {
		errno = saved;
		return -1;
	}
	if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
		errno = 0;
		return -1;
	}
	*wall = ts_ms(&t0, &t1);
	*cpu_wait4 = tv_ms(&ru.ru_utime) + tv_ms(&ru.ru_stime);
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
		exec_child(r, p[1], -1);
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

static void on_signal(int sig)
{
	stop_sig = sig;
}

static void usage(void)
{
	fputs("usage: startbench [-n RUNS] [-w WARMUP] [-o TSV] [-x LABEL] ROW...\n"
	      "       ROW := [-u UID[:GID]] [-e NAME=VALUE]... {-r|-R} LABEL COMMAND [ARG...] --\n"
	      "       (-R: a required row; -u, -e: the row's ids and environment;\n"
	      "       -x: also the ratios to that row's medians)\n",
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
	const char *tsv_path = NULL, *vs_label = NULL;
	FILE *tsv = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	struct row *rows, next = { 0 };  /* next: -u and -e seen for the row to come */
	char **envs;
	int nenv = 0;
	double ref = 0, vs_wall = 0, vs_cpu = 0;

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
		} else if (!strcmp(argv[i], "-x") && i + 1 < argc) {
			vs_label = argv[i + 1];
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
	/* no SA_RESTART: the run in progress ends, its cgroup is removed, then we exit */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (cg_open_base() < 0)
		return 2;
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
		fputs("round\trow\twall_ms\tcpu_ms\tcpu_wait4_ms\tmaxrss_kib\n", tsv);
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
			double wall, cpu, cpu_wait4;
			long rss;
			int status = 0;

			if (r->failed)
				continue;
			if (timed_run(r, &wall, &cpu, &cpu_wait4, &rss, &status) < 0) {
				if (stop_sig)
					break;
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
				fprintf(tsv, "%d\t%s\t%.4f\t%.3f\t%.3f\t%ld\n", round + 1, r->label, wall, cpu,
					cpu_wait4, rss);
			if (stop_sig)
				break;
		}
		if (stop_sig) {
			fprintf(stderr, "startbench: signal %d, stopped\n", (int)stop_sig);
			return 2;
		}
	}
	if (tsv)
		fclose(tsv);

	for (k = 0; vs_label && k < nrows; k++)
		if (!strcmp(rows[k].label, vs_label) && !rows[k].failed && rows[k].done) {
			qsort(rows[k].wall_ms, (size_t)rows[k].done, sizeof(double), cmp_double);
			qsort(rows[k].cpu_ms, (size_t)rows[k].done, sizeof(double), cmp_double);
			vs_wall = median(rows[k].wall_ms, rows[k].done);
			vs_cpu = median(rows[k].cpu_ms, rows[k].done);
		}
	printf("| command | runs | median ms | p90 ms | × %s | CPU ms (median) | peak RSS KiB", rows[0].label);
	if (vs_label)
		printf(" | × %s | CPU × %s", vs_label, vs_label);
	printf(" |\n|---|--:|--:|--:|--:|--:|--:|%s\n", vs_label ? "--:|--:|" : "");
	for (k = 0; k < nrows; k++) {
		struct row *r = &rows[k];
		double med, cpu;

		if (r->failed) {
			printf("| %s | %d/%d | **did not run** — %s | – | – | – | –%s |\n", r->label, r->done, runs,
			       r->why, vs_label ? " | – | –" : "");
			bad_required |= r->required;
			continue;
		}
		qsort(r->wall_ms, (size_t)r->done, sizeof(double), cmp_double);
		qsort(r->cpu_ms, (size_t)r->done, sizeof(double), cmp_double);
		med = median(r->wall_ms, r->done);
		cpu = median(r->cpu_ms, r->done);
		if (k == 0)
			ref = med;
		printf("| %s | %d | %.2f | %.2f | ", r->label, r->done, med,
		       percentile(r->wall_ms, r->done, 90));
		if (ref > 0)
			printf("%.1f", med / ref);
		else
			printf("–");
		printf(" | %.2f | %ld", cpu, r->maxrss_kib);
		if (vs_label && vs_wall > 0 && vs_cpu > 0)
			printf(" | %.2f | %.2f", med / vs_wall, cpu / vs_cpu);
		else if (vs_label)
			printf(" | – | –");
		printf(" |\n");
	}
	return bad_required ? 1 : 0;
}
