/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * starter.c - the stand-in for condor_starter (starter.h has what it does
 * and where each behaviour comes from).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gt.h"
#include "starter.h"

static const char *const v1_controllers[6] = { "memory", "cpu", "cpuacct", "pids", "freezer", "blkio" };

static void die(const char *what)
{
	fprintf(stderr, "starter stand-in: %s: %s\n", what, strerror(errno));
	abort();
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		die("vasprintf");
	va_end(ap);
	return s;
}

static void put(const char *dir, const char *file, const char *v)
{
	char *p = fmt("%s/%s", dir, file);
	int fd = open(p, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, v, strlen(v)) < 0) {
		fprintf(stderr, "starter stand-in: write %s to %s: %s\n", v, p, strerror(errno));
		abort();
	}
	close(fd);
	free(p);
}

/* Best effort, as the starter's own writes (it logs and carries on). */
static void try_put(const char *dir, const char *file, const char *v)
{
	char *p = fmt("%s/%s", dir, file);
	int fd = open(p, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		(void)!write(fd, v, strlen(v));
		close(fd);
	}
	free(p);
}

/* ---- ads, as fPrintAd writes them ---- */

/* An old-syntax string: only `"` escaped (compat_classad / sink.cpp). */
static char *q(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 3), *o = out;

	*o++ = '"';
	for (; *s; s++) {
		if (*s == '"')
			*o++ = '\\';
		*o++ = *s;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

struct ad_line { char *name, *line; };

static int cmp_line(const void *a, const void *b)
{
	return strcasecmp(((const struct ad_line *)a)->name, ((const struct ad_line *)b)->name);
}

/* Write base + extra ("Name = value\n" lines; extra wins), sorted. */
static void write_ad(const char *path, const char *base, const char *extra, uid_t uid)
{
	struct ad_line l[128];
	size_t n = 0;
	char *all = fmt("%s%s", extra ? extra : "", base);
	FILE *f;

	for (char *save = NULL, *t = strtok_r(all, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		char *name = strndup(t, strcspn(t, " ="));
		bool dup = false;

		for (size_t i = 0; i < n; i++)
			dup |= !strcasecmp(l[i].name, name);
		if (dup || n == 128) {
			free(name);
			continue;
		}
		l[n].name = name;
		l[n++].line = t;
	}
	qsort(l, n, sizeof(l[0]), cmp_line);
	f = fopen(path, "we");
	if (!f)
		die(path);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s\n", l[i].line);
		free(l[i].name);
	}
	fclose(f);
	if (chown(path, uid, uid) < 0)
		die("chown ad");
	free(all);
}

/* ---- cgroups ---- */

static char *own_cgroup_v2(void)
{
	char *text = gt_read("/proc/self/cgroup"), *p, *out;

	p = text ? strstr(text, "0::") : NULL;
	if (!p)
		die("no v2 entry in /proc/self/cgroup");
	p += 3;
	p[strcspn(p, "\n")] = '\0';
	out = fmt("/sys/fs/cgroup%s", strcmp(p, "/") ? p : "");
	free(text);
	return out;
}

/* The directory of this process's cgroup in the v1 hierarchy of c. */
static char *own_cgroup_v1(const char *c)
{
	char *mi = gt_read("/proc/self/mountinfo"), *cg = gt_read("/proc/self/cgroup"), *mnt = NULL, *own = NULL, *out;

	for (char *save = NULL, *line = strtok_r(mi, "\n", &save); line && !mnt; line = strtok_r(NULL, "\n", &save)) {
		char m[512], fs[32], super[512];
		char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %511s", m) != 1 ||
		    sscanf(dash + 3, "%31s %*s %511s", fs, super) != 2 || strcmp(fs, "cgroup"))
			continue;
		for (char *s2 = NULL, *o = strtok_r(super, ",", &s2); o; o = strtok_r(NULL, ",", &s2))
			if (!strcmp(o, c))
				mnt = strdup(m);
	}
	for (char *save = NULL, *line = strtok_r(cg, "\n", &save); line && !own; line = strtok_r(NULL, "\n", &save)) {
		char *ctrls = strchr(line, ':'), *path = ctrls ? strchr(ctrls + 1, ':') : NULL;

		if (!path)
			continue;
		*path++ = '\0';
		for (char *s2 = NULL, *o = strtok_r(ctrls + 1, ",", &s2); o; o = strtok_r(NULL, ",", &s2))
			if (!strcmp(o, c))
				own = strdup(path);
	}
	if (!mnt || !own)
		die(c);
	out = fmt("%s%s", mnt, strcmp(own, "/") ? own : "");
	free(mi);
	free(cg);
	free(mnt);
	free(own);
	return out;
}

static void chown_path(const char *dir, const char *file, uid_t uid)
{
	char *p = file ? fmt("%s/%s", dir, file) : strdup(dir);

	if (chown(p, uid, uid) < 0)
		die(p);
	free(p);
}

/* Per process, random: a test in a PID namespace of its own is pid 1 like
 * every other such test, and their slots' cgroups must not meet. */
static unsigned tag(void)
{
	static unsigned t;

	while (!t)
		if (getrandom(&t, sizeof(t), 0) != sizeof(t))
			die("getrandom");
	return t;
}

static void setup_v2(struct st_starter *s)
{
	char *own = own_cgroup_v2(), *htc, *mangled = strdup(s->execute), buf[64];

	for (char *c = mangled; *c; c++)
		if (*c == '/')
			*c = '_';
	s->cg_top = fmt("%s/condor-standin-%d-%08x-%s", own, (int)getpid(), tag(), s->slot);
	htc = fmt("%s/htcondor", s->cg_top);
	s->slice = fmt("%s/%s_%s.slice", htc, mangled, s->slot);
	s->scope = fmt("%s/%s_%s.scope", s->slice, mangled, s->slot);
	/* makeCgroup: interior nodes get the controllers for their children */
	if (mkdir(s->cg_top, 0755) < 0 || mkdir(htc, 0755) < 0 || mkdir(s->slice, 0755) < 0 ||
	    mkdir(s->scope, 0755) < 0)
		die("mkdir cgroup");
	try_put(s->cg_top, "cgroup.subtree_control", "+cpu +io +memory +pids");
	try_put(htc, "cgroup.subtree_control", "+cpu +io +memory +pids");
	try_put(s->slice, "cgroup.subtree_control", "+cpu +io +memory +pids");
	snprintf(buf, sizeof(buf), "%lld", s->memory_mb * 1024 * 1024);
	put(s->slice, "memory.max", buf);
	snprintf(buf, sizeof(buf), "%lld", 100 * s->cpus);
	put(s->slice, "cpu.weight", buf);
	put(s->slice, "memory.oom.group", "1");
	/* delegation: "any job can further subdivide" */
	chown_path(s->slice, NULL, s->uid);
	chown_path(s->slice, "cgroup.procs", s->uid);
	chown_path(s->slice, "cgroup.subtree_control", s->uid);
	free(own);
	free(htc);
	free(mangled);
}

static void setup_v1(struct st_starter *s)
{
	for (size_t i = 0; i < 6; i++) {
		char *own = own_cgroup_v1(v1_controllers[i]);

		s->v1[i] = fmt("%s/condor-standin-%d-%08x-%s", own, (int)getpid(), tag(), s->slot);
		if (mkdir(s->v1[i], 0755) < 0)
			die("mkdir v1 cgroup");
		chown_path(s->v1[i], NULL, s->uid);
		chown_path(s->v1[i], "cgroup.procs", s->uid);
		chown_path(s->v1[i], "tasks", s->uid);
		free(own);
	}
	{
		char buf[64];

		snprintf(buf, sizeof(buf), "%lld", s->memory_mb * 1024 * 1024);
		put(s->v1[0], "memory.limit_in_bytes", buf);
	}
}

/* ---- the chirp server (io_proxy, loopback) ---- */

static bool read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 3000) <= 0 || read(fd, buf + n, 1) != 1)
			return false;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return true;
}

static void record_update(struct st_starter *s, const char *name, const char *value)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nupdates; i++) {
		if (!strcmp(s->updates[i].name, name)) {
			snprintf(s->updates[i].value, sizeof(s->updates[i].value), "%.191s", value);
			s->updates[i].count++;
			pthread_mutex_unlock(&s->lock);
			return;
		}
	}
	if (s->nupdates < ST_MAX_CHIRP) {
		struct st_chirp_update *u = &s->updates[s->nupdates++];

		snprintf(u->name, sizeof(u->name), "%.63s", name);
		snprintf(u->value, sizeof(u->value), "%.191s", value);
		u->count = 1;
	}
	pthread_mutex_unlock(&s->lock);
}

static void serve(struct st_starter *s, int fd)
{
	char line[512], name[64];
	int off = 0;

	if (!read_line(fd, line, sizeof(line)))
		return;
	if (strncmp(line, "cookie ", 7) || strcmp(line + 7, s->cookie)) {
		s->bad_cookies++;
		(void)!write(fd, "-1\n", 3);
		return;
	}
	(void)!write(fd, "0\n", 2);
	while (read_line(fd, line, sizeof(line))) {
		/* io_proxy_handler: the name, then the rest of the line is the expression */
		if (sscanf(line, "set_job_attr_delayed %63s %n", name, &off) != 1 || !off) {
			(void)!write(fd, "-1\n", 3);
			continue;
		}
		/* CHIRP_DELAYED_UPDATE_PREFIX = Chirp* */
		if (s->chirp_mode == ST_CHIRP_REFUSE || strncasecmp(name, "Chirp", 5)) {
			(void)!write(fd, "-5\n", 3);
			continue;
		}
		record_update(s, name, line + off);
		(void)!write(fd, "0\n", 2);
	}
}

static void *chirp_thread(void *arg)
{
	struct st_starter *s = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = s->listen_fd, .events = POLLIN }, { .fd = s->wake[0], .events = POLLIN } };
		int c;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!p[0].revents)
			continue;
		c = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0) {
			serve(s, c);
			close(c);
		}
	}
	return NULL;
}

static void setup_chirp(struct st_starter *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	unsigned char rnd[16];
	FILE *f;

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		die("getrandom");
	for (size_t i = 0; i < sizeof(rnd); i++)
		sprintf(s->cookie + 2 * i, "%02x", rnd[i]);
	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(s->listen_fd, (struct sockaddr *)&sa, &len) < 0)
		die("chirp socket");
	if (s->chirp_mode == ST_CHIRP_NONE) {
		/* a port nobody listens on: the server is gone */
		close(s->listen_fd);
		s->listen_fd = -1;
	} else if (listen(s->listen_fd, 8) < 0 || pipe2(s->wake, O_CLOEXEC) < 0 ||
		   pthread_create(&s->thread, NULL, chirp_thread, s)) {
		die("chirp listen");
	}
	f = fopen(s->chirp_config, "we");
	if (!f)
		die("chirp config");
	fprintf(f, "127.0.0.1 %u %s\n", (unsigned)ntohs(sa.sin_port), s->cookie);
	fclose(f);
	if (chown(s->chirp_config, s->uid, s->uid) < 0 || chmod(s->chirp_config, 0600) < 0)
		die("chown chirp config");
}

/* ---- the slot ---- */

void st_setup(struct st_starter *s, const char *tmp, const char *slot, uid_t uid, long long memory_mb,
	      const char *job_ad_lines, enum st_chirp_mode chirp)
{
	struct statfs sf;
	char *base, *sub = q("/DC=org/DC=example/CN=Pilot \"A\" C:\\x");
	char *slotname = fmt("%s@wn.example.org", slot), *qname = q(slotname), *qscratch;
	static unsigned seq;

	memset(s, 0, sizeof(*s));
	s->slot = slot;
	s->uid = uid;
	s->memory_mb = memory_mb;
	s->cpus = 1;
	s->chirp_mode = chirp;
	s->listen_fd = s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->execute = fmt("%s/execute", tmp);
	s->dir = fmt("%s/dir_%d%u", s->execute, (int)getpid(), seq++);
	s->scratch = fmt("%s/scratch", s->dir);
	s->user = fmt("%s/user", s->dir);
	s->htcondor = fmt("%s/htcondor", s->dir);
	gt_mkdirs(s->dir, 0755, 0, 0);
	/* the job's own dirs are the slot user's; a root-run wrapper's scratch
	 * stays traversable for the leased range (gridrun-helper hands it over) */
	gt_mkdirs(s->scratch, uid ? 0700 : 0755, (int)uid, (int)uid);
	gt_mkdirs(s->user, 0700, (int)uid, (int)uid);
	gt_mkdirs(s->htcondor, 0700, 0, 0);
	s->job_ad = fmt("%s/.job.ad", s->scratch);
	s->machine_ad = fmt("%s/.machine.ad", s->scratch);
	s->chirp_config = fmt("%s/.chirp.config", s->user);
	s->error_file = fmt("%s/.job_wrapper_failure", s->scratch);
	s->out = fmt("%s/_condor_stdout", s->scratch);
	s->err = fmt("%s/_condor_stderr", s->scratch);
	qscratch = q(s->scratch);

	base = fmt("Args = \"\"\nClusterId = 4711\nCmd = \"/bin/sh\"\nCurrentHosts = 1\nEnvironment = \"\"\n"
		   "Err = \"_condor_stderr\"\nExitBySignal = false\nIn = \"/dev/null\"\nIwd = %s\n"
		   "JobUniverse = 5\nKillSig = \"SIGTERM\"\nMyType = \"Job\"\nOut = \"_condor_stdout\"\n"
		   "Owner = \"atlas001\"\nProcId = %u\nRequestCpus = 1\nRequestDisk = 1024\nRequestMemory = %lld\n"
		   "Requirements = (TARGET.Arch == \"X86_64\") && (TARGET.OpSys == \"LINUX\") && "
		   "(TARGET.Memory >= RequestMemory)\nTargetType = \"Machine\"\n"
		   "User = \"atlas001@submit.example.org\"\nx509UserProxy = \"/home/atlas001/x509up_u1000\"\n"
		   "x509userproxysubject = %s\nx509UserProxyVOName = \"atlas\"\nWantCheckpointSignal = false\n",
		   qscratch, seq, memory_mb, sub);
	write_ad(s->job_ad, base, job_ad_lines, uid);
	free(base);
	base = fmt("Arch = \"X86_64\"\nCpus = 1\nMemory = %lld\nName = %s\nOpSys = \"LINUX\"\nSlotID = 1\n"
		   "Start = true\nTotalSlotCpus = 1.0\n", memory_mb, qname);
	write_ad(s->machine_ad, base, NULL, uid);
	free(base);
	free(sub);
	free(slotname);
	free(qname);
	free(qscratch);

	if (statfs("/sys/fs/cgroup", &sf) < 0)
		die("statfs /sys/fs/cgroup");
	s->version = sf.f_type == CGROUP2_SUPER_MAGIC ? 2 : 1;
	if (s->version == 2)
		setup_v2(s);
	else
		setup_v1(s);
	setup_chirp(s);
}

static char **job_environment(struct st_starter *s, char *const job_env[])
{
	char **env = calloc(64, sizeof(*env));
	size_t n = 0;

	/* Starter::PublishToEnv */
	env[n++] = strdup("BATCH_SYSTEM=HTCondor");
	env[n++] = fmt("_CONDOR_JOB_IWD=%s", s->iwd ? s->iwd : s->scratch);
	env[n++] = strdup("_CONDOR_JOB_PIDS=");
	env[n++] = strdup("_CONDOR_BIN=/usr/bin");
	env[n++] = fmt("CONDOR_STARTER_PID=%d", (int)getpid());
	env[n++] = fmt("_CONDOR_SCRATCH_DIR=%s", s->scratch);
	env[n++] = fmt("_CONDOR_SLOT=%s", s->slot);
	env[n++] = fmt("_CONDOR_JOB_AD=%s", s->job_ad);
	env[n++] = fmt("_CONDOR_MACHINE_AD=%s", s->machine_ad);
	env[n++] = fmt("_CONDOR_CHIRP_CONFIG=%s", s->chirp_config);
	env[n++] = strdup("_CHIRP_DELAYED_UPDATE_PREFIX=Chirp*");
	env[n++] = fmt("_CONDOR_WRAPPER_ERROR_FILE=%s", s->error_file);
	env[n++] = fmt("TMPDIR=%s", s->scratch);
	env[n++] = fmt("TMP=%s", s->scratch);
	env[n++] = fmt("TEMP=%s", s->scratch);
	env[n++] = fmt("OMP_NUM_THREADS=%lld", s->cpus);
	env[n++] = fmt("MKL_NUM_THREADS=%lld", s->cpus);
	for (size_t i = 0; job_env && job_env[i] && n < 63; i++)
		env[n++] = strdup(job_env[i]);
	env[n] = NULL;
	return env;
}

static void enter_cgroups(struct st_starter *s)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (s->version == 2) {
		put(s->scope, "cgroup.procs", pid);
		return;
	}
	for (size_t i = 0; i < 6; i++)
		put(s->v1[i], "cgroup.procs", pid);
}

void st_start(struct st_starter *s, char *const job_argv[], char *const job_env[])
{
	char *wrapper = fmt("%s/gridrun-condor", getenv("GRIDRUN_BUILD") ? getenv("GRIDRUN_BUILD") : "build");
	char **env = job_environment(s, job_env);
	size_t n = 0;
	char **argv;

	while (job_argv[n])
		n++;
	argv = calloc(n + 2, sizeof(*argv));
	argv[0] = wrapper; /* args.InsertArg(wrapper, 0) */
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = job_argv[i];
	s->pid = fork();
	if (s->pid < 0)
		die("fork");
	if (s->pid == 0) {
		int in = open("/dev/null", O_RDONLY), out, err;
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		enter_cgroups(s);
		out = open(s->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		err = open(s->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || out < 0 || err < 0 || fchown(out, s->uid, s->uid) < 0 || fchown(err, s->uid, s->uid) < 0)
			_exit(120);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		if (s->pid_ns) {
			/* the wrapper becomes PID 1 of a new namespace; this
			 * process passes its status on */
			pid_t c;
			int status;

			if (unshare(CLONE_NEWPID) < 0 || (c = fork()) < 0)
				_exit(124);
			if (c > 0) {
				if (waitpid(c, &status, 0) != c)
					_exit(124);
				_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			}
		}
		/* PRIV_USER_FINAL */
		if (s->uid && (setgroups(0, NULL) < 0 || setresgid(s->uid, s->uid, s->uid) < 0 ||
			       setresuid(s->uid, s->uid, s->uid) < 0))
			_exit(122);
		if (chdir(s->scratch) < 0)
			_exit(123);
		execve(argv[0], argv, env);
		_exit(121);
	}
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
	free(argv);
	free(wrapper);
}

/* ---- Kill_Family and friends ---- */

/* Signal (sig > 0) or count every pid of the tree at dir; returns the count. */
static int walk_tree(const char *dir, int sig)
{
	char *procs = fmt("%s/cgroup.procs", dir), *text = gt_read(procs);
	int n = 0;
	DIR *d;
	struct dirent *de;

	for (char *save = NULL, *t = text ? strtok_r(text, "\n", &save) : NULL; t; t = strtok_r(NULL, "\n", &save)) {
		n++;
		if (sig > 0)
			kill(atoi(t), sig);
	}
	free(text);
	free(procs);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		char *sub;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = fmt("%s/%s", dir, de->d_name);
		n += walk_tree(sub, sig);
		free(sub);
	}
	if (d)
		closedir(d);
	return n;
}

int st_procs_left(struct st_starter *s)
{
	int n = 0;

	if (s->version == 2)
		return s->slice ? walk_tree(s->slice, 0) : 0;
	for (size_t i = 0; i < 6; i++)
		n += s->v1[i] ? walk_tree(s->v1[i], 0) : 0;
	return n;
}

void st_suspend(struct st_starter *s, bool frozen)
{
	char *state = s->version == 2 ? fmt("%s/cgroup.events", s->slice) : fmt("%s/freezer.state", s->v1[4]);

	if (s->version == 2)
		put(s->slice, "cgroup.freeze", frozen ? "1" : "0");
	else
		put(s->v1[4], "freezer.state", frozen ? "FROZEN" : "THAWED");
	/* Suspend_Family returns at once; the tests look once it took effect */
	for (int i = 0; frozen && i < 2000; i++) {
		char *t = gt_read(state);
		bool done = t && (s->version == 2 ? strstr(t, "frozen 1") != NULL : !strncmp(t, "FROZEN", 6));

		free(t);
		if (done)
			break;
		usleep(10000);
	}
	free(state);
}

/* killCgroupTree: freeze, cgroup.kill, SIGKILL every pid, thaw; wait <= 5 s. */
static void kill_family(struct st_starter *s)
{
	st_suspend(s, true);
	if (s->version == 2)
		try_put(s->slice, "cgroup.kill", "1");
	for (size_t i = 0; i < 6; i++) {
		const char *d = s->version == 2 ? (i ? NULL : s->slice) : s->v1[i];

		if (d)
			walk_tree(d, SIGKILL);
	}
	st_suspend(s, false);
	for (int i = 0; i < 3000 && st_procs_left(s); i++)
		usleep(10000);
}

static unsigned long long key_value(const char *path, const char *key)
{
	char *text = gt_read(path), *p;
	unsigned long long v = 0;

	if (!text)
		return 0;
	for (p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, strlen(key)) && p[strlen(key)] == ' ') {
			v = strtoull(p + strlen(key) + 1, NULL, 10);
			break;
		}
	free(text);
	return v;
}

/* UserProc::JobReaper and the OOM check. */
static void reaped(struct st_starter *s, int status, struct st_exit *ex)
{
	char *failure = gt_read(s->error_file);

	memset(ex, 0, sizeof(*ex));
	if (failure) {
		ex->wrapper_failed = true;
		for (char *c = failure; *c; c++)
			if (*c == '\n')
				*c = '|';
		ex->failure = failure;
	}
	ex->by_signal = WIFSIGNALED(status);
	ex->signal = ex->by_signal ? WTERMSIG(status) : 0;
	ex->code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
	if (ex->by_signal && ex->signal == SIGKILL) {
		char *ev = s->version == 2 ? fmt("%s/memory.events", s->slice) : fmt("%s/memory.oom_control", s->v1[0]);

		ex->held_oom = key_value(ev, "oom_kill") > 0 || key_value(ev, "oom_group_kill") > 0;
		free(ev);
	}
	kill_family(s);
}

bool st_wait(struct st_starter *s, int timeout_ms, struct st_exit *ex)
{
	int status;

	for (int waited = 0;; waited += 10) {
		pid_t r = waitpid(s->pid, &status, WNOHANG);

		if (r == s->pid)
			break;
		if (r < 0)
			die("waitpid");
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return false;
		usleep(10000);
	}
	s->pid = 0;
	reaped(s, status, ex);
	return true;
}

void st_vacate(struct st_starter *s, int sig, int grace_ms, struct st_exit *ex)
{
	int status;

	/* ShutdownGraceful: a plain kill() of JobPid */
	kill(s->pid, sig);
	if (st_wait(s, grace_ms, ex))
		return;
	/* MachineMaxVacateTime is over: ShutdownFast */
	kill_family(s);
	if (waitpid(s->pid, &status, 0) != s->pid)
		die("waitpid after Kill_Family");
	s->pid = 0;
	reaped(s, status, ex);
}

unsigned long long st_cpu_usec(struct st_starter *s)
{
	char *p;
	unsigned long long v;

	if (s->version == 2) {
		p = fmt("%s/cpu.stat", s->slice);
		v = key_value(p, "user_usec") + key_value(p, "system_usec");
	} else {
		long hz = sysconf(_SC_CLK_TCK);

		p = fmt("%s/cpuacct.stat", s->v1[2]);
		v = (key_value(p, "user") + key_value(p, "system")) * 1000000ull / (unsigned long long)hz;
	}
	free(p);
	return v;
}

unsigned long long st_scope_cpu_usec(struct st_starter *s)
{
	char *p;
	unsigned long long v;

	if (s->version != 2)
		return 0;
	p = fmt("%s/cpu.stat", s->scope);
	v = key_value(p, "user_usec") + key_value(p, "system_usec");
	free(p);
	return v;
}

bool st_chirp(struct st_starter *s, const char *name, struct st_chirp_update *out)
{
	bool found = false;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nupdates && !found; i++)
		if (!strcmp(s->updates[i].name, name)) {
			*out = s->updates[i];
			found = true;
		}
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* trimCgroupTree: depth first. */
static int rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int failed = 0;

	while (d && (de = readdir(d))) {
		char *sub;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		sub = fmt("%s/%s", dir, de->d_name);
		failed += rm_tree(sub);
		free(sub);
	}
	if (d)
		closedir(d);
	for (int i = 0; i < 1000 && rmdir(dir) < 0 && errno == EBUSY; i++)
		usleep(10000);
	if (access(dir, F_OK) == 0) {
		fprintf(stderr, "starter stand-in: cannot remove %s: %s\n", dir, strerror(errno));
		failed++;
	}
	return failed;
}

int st_teardown(struct st_starter *s)
{
	int failed = 0;

	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	kill_family(s);
	if (s->version == 2 && s->cg_top)
		failed += rm_tree(s->cg_top);
	for (size_t i = 0; s->version == 1 && i < 6; i++)
		if (s->v1[i])
			failed += rm_tree(s->v1[i]);
	if (s->wake[1] >= 0) {
		(void)!write(s->wake[1], "x", 1);
		pthread_join(s->thread, NULL);
		close(s->wake[0]);
		close(s->wake[1]);
	}
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s->execute); free(s->dir); free(s->scratch); free(s->user); free(s->htcondor);
	free(s->job_ad); free(s->machine_ad); free(s->chirp_config); free(s->error_file);
	free(s->out); free(s->err); free(s->cg_top); free(s->slice); free(s->scope);
	for (size_t i = 0; i < 6; i++)
		free(s->v1[i]);
	return failed;
}

void st_exit_free(struct st_exit *ex)
{
	free(ex->failure);
	ex->failure = NULL;
}
