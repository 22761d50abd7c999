/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gr-probe - run inside a gridrun job by the tests; each subcommand makes
 * one attempt (often an attack) and prints what happened on stdout, one
 * "key value" per line, so the test asserts on the outcome, not on a shell's
 * wording. Errors print the errno name (EPERM, ...) or "ok".
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <pthread.h>
#include <time.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int ok, int e)
{
	if (ok)
		return "ok";
	switch (e) {
	case EPERM: return "EPERM";
	case EACCES: return "EACCES";
	case EROFS: return "EROFS";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	case ESRCH: return "ESRCH";
	case ENOSYS: return "ENOSYS";
	case EIO: return "EIO";
	case ENOSPC: return "ENOSPC";
	case EBADF: return "EBADF";
	case ECONNREFUSED: return "ECONNREFUSED";
	}
	return strerror(e);
}

static int cmd_status(void)
{
	static const char *const keys[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:",
					    "NoNewPrivs:", "Seccomp:" };
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];

	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f))
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (!strncmp(line, keys[i], strlen(keys[i])))
				fputs(line, stdout);
	fclose(f);
	return 0;
}

static int cmd_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return 1;
	printf("fds");
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
			printf(" %s", de->d_name);
	printf("\n");
	closedir(d);
	return 0;
}

static int cmd_tty(void)
{
	char c = 'x';
	int r;

	r = ioctl(0, TIOCSTI, &c);
	printf("tiocsti %s\n", ename(r == 0, errno));
	/* CVE-2019-10063: the high bits must not slip past a filter */
	r = ioctl(0, (0x123UL << 32) | TIOCSTI, &c);
	printf("tiocsti_high %s\n", ename(r == 0, errno));
	c = 0; /* TIOCL_ subcode 0 */
	r = ioctl(0, TIOCLINUX, &c);
	printf("tioclinux %s\n", ename(r == 0, errno));
	printf("sid %d pid %d\n", (int)getsid(0), (int)getpid());
	return 0;
}

static int cmd_ids(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	getresuid(&r, &e, &s);
	getresgid(&rg, &eg, &sg);
	printf("uid %u %u %u\ngid %u %u %u\n", r, e, s, rg, eg, sg);
	return 0;
}

static int cmd_ipc_create(const char *name)
{
	char mq[64];
	int id = shmget(0x6772 /* "gr" */, 4096, IPC_CREAT | 0666);
	mqd_t q;

	printf("shm %s\n", ename(id >= 0, errno));
	snprintf(mq, sizeof(mq), "/%s", name);
	q = mq_open(mq, O_CREAT | O_RDWR, 0666, NULL);
	printf("mq %s\n", ename(q != (mqd_t)-1, errno));
	return 0;
}

static int cmd_ipc_check(const char *name)
{
	char mq[64];
	int id = shmget(0x6772, 0, 0);

	printf("shm_visible %s\n", id >= 0 ? "yes" : "no");
	snprintf(mq, sizeof(mq), "/%s", name);
	printf("mq_visible %s\n", mq_open(mq, O_RDONLY) != (mqd_t)-1 ? "yes" : "no");
	return 0;
}

static int cmd_unshare(void)
{
	int r;

	r = unshare(CLONE_NEWNET);
	printf("unshare_net %s\n", ename(r == 0, errno));
	r = open("/proc/sys/user/max_user_namespaces", O_WRONLY);
	printf("write_max_userns %s\n", ename(r >= 0 && write(r, "0", 1) == 1, errno));
	return 0;
}

static int cmd_signal(int pid)
{
	int r = kill(pid, 0);

	printf("kill %s\n", ename(r == 0, errno));
	r = ptrace(PTRACE_ATTACH, pid, 0, 0);
	printf("ptrace %s\n", ename(r == 0, errno));
	return 0;
}

/* An abstract unix socket @NAME: listen on it (until killed), or connect to it. */
static int cmd_abstract(const char *name, bool listen_on)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "%s", name);
	if (!listen_on) {
		r = connect(fd, (struct sockaddr *)&a, len);
		printf("connect %s\n", ename(r == 0, errno));
		return 0;
	}
	r = bind(fd, (struct sockaddr *)&a, len) == 0 ? listen(fd, 8) : -1;
	printf("listen %s\n", ename(r == 0, errno));
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c >= 0)
			close(c);
	}
}

/* S01: every /proc/PID/exe, and every /proc/PID/fd/N naming a gridrun
 * binary, opened for writing; prints how many were tried, how many opened. */
static int cmd_exe_write(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int tried = 0, opened = 0, init_tried = 0;

	while (d && (de = readdir(d))) {
		char path[300], link[PATH_MAX];
		DIR *fds;
		struct dirent *fe;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/exe", de->d_name);
		for (int flags = O_WRONLY; flags <= O_RDWR; flags++) {
			int fd = open(path, flags | O_CLOEXEC);

			tried++;
			init_tried |= !strcmp(de->d_name, "1");
			if (fd >= 0) {
				opened++;
				printf("opened %s\n", path);
				close(fd);
			}
		}
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		fds = opendir(path);
		while (fds && (fe = readdir(fds))) {
			char fpath[600];
			ssize_t n;

			snprintf(fpath, sizeof(fpath), "%s/%s", path, fe->d_name);
			n = readlink(fpath, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (!strstr(link, "gridrun"))
				continue;
			tried++;
			if (open(fpath, O_WRONLY | O_CLOEXEC) >= 0) {
				opened++;
				printf("opened %s -> %s\n", fpath, link);
			}
		}
		if (fds)
			closedir(fds);
	}
	if (d)
		closedir(d);
	printf("exe_write tried %s opened %d\n", init_tried && tried > 2 ? "init and others" : "too little", opened);
	return 0;
}

/* kill(-1, SIGKILL): every process this one may signal, but itself and init. */
static int cmd_kill_all(void)
{
	int r = kill(-1, SIGKILL);

	printf("kill_all %s\n", ename(r == 0, errno));
	return 0;
}

static double cputime(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *burn_thread(void *arg)
{
	double until = *(double *)arg;
	volatile unsigned long x = 0;

	while (cputime(CLOCK_THREAD_CPUTIME_ID) < until)
		for (int i = 0; i < 10000; i++)
			x += i;
	return NULL;
}

/* Burn SECONDS of CPU in N threads; print the process's CPU time. */
static int cmd_burn(int nthreads, double seconds)
{
	pthread_t t[64];
	double each = seconds / nthreads;

	if (nthreads < 1 || nthreads > 64)
		return 2;
	for (int i = 1; i < nthreads; i++)
		pthread_create(&t[i], NULL, burn_thread, &each);
	burn_thread(&each);
	for (int i = 1; i < nthreads; i++)
		pthread_join(t[i], NULL);
	printf("cpu_ns %.0f\n", cputime(CLOCK_PROCESS_CPUTIME_ID) * 1e9);
	return 0;
}

/* Burn CPU until FILE exists, then exit 0. */
static int cmd_spin(const char *file)
{
	volatile unsigned long x = 0;

	while (access(file, F_OK) != 0)
		for (int i = 0; i < 1000000; i++)
			x += i;
	return 0;
}

/* Touch memory until the kernel says no (or kills us). */
static int cmd_eat(void)
{
	for (size_t mb = 0;; mb++) {
		char *p = malloc(1 << 20);

		if (!p) {
			printf("eat stopped at %zu MiB\n", mb);
			return 1;
		}
		memset(p, 1, 1 << 20);
	}
}

/* Fork sleeping children until fork fails; report how many and why. */
static int cmd_forkbomb(void)
{
	int n = 0;

	for (;;) {
		pid_t p = fork();

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			printf("forked %d %s\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno));
			return 0;
		}
		if (++n > 100000)
			return 1;
	}
}

/*
 * dio write|read FILE MIB: MIB MiB of O_DIRECT I/O in 256 KiB blocks, so
 * every byte is a bio on the device (no page cache); prints the bytes moved
 * and the seconds from the first block to the last.
 */
static int cmd_dio(const char *op, const char *path, int mib)
{
	const size_t block = 256 << 10;
	int wr = !strcmp(op, "write");
	struct timespec t0, t1;
	long long done = 0;
	void *buf;
	int fd;

	if (posix_memalign(&buf, 4096, block))
		return 1;
	memset(buf, 0x5a, block);
	fd = open(path, wr ? O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT : O_RDONLY | O_DIRECT, 0600);
	if (fd < 0) {
		printf("open %s\n", ename(0, errno));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (done < (long long)mib << 20) {
		ssize_t n = wr ? write(fd, buf, block) : read(fd, buf, block);

		if (n <= 0) {
			printf("%s %s\n", op, n == 0 ? "EOF" : ename(0, errno));
			return 1;
		}
		done += n;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(fd);
	printf("bytes %lld\nseconds %.6f\n", done,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(buf);
	return 0;
}

/* One reply line of a Chirp server: its result, or -1000 when none came. */
static int chirp_reply(FILE *f)
{
	char line[64];

	return fgets(line, sizeof(line), f) ? atoi(line) : -1000;
}

/*
 * condor_chirp set_job_attr_delayed NAME VALUE, as HTCondor's chirp client
 * does it: the server's "<ip> <port> <cookie>" from $_CONDOR_CHIRP_CONFIG,
 * one TCP connection, "cookie C" then the request, each answered by a line
 * holding a decimal result (0: success).
 */
static int cmd_chirp(const char *name, const char *value)
{
	const char *path = getenv("_CONDOR_CHIRP_CONFIG");
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char addr[64], cookie[256];
	unsigned port;
	FILE *f = path ? fopen(path, "re") : NULL, *s;
	int fd, r;

	printf("config %s\n", ename(f != NULL, path ? errno : ENOENT));
	if (!f)
		return 1;
	r = fscanf(f, "%63s %u %255s", addr, &port, cookie);
	fclose(f);
	if (r != 3 || port > 65535 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		printf("config malformed\n");
		return 1;
	}
	sa.sin_port = htons((unsigned short)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	r = fd >= 0 ? connect(fd, (struct sockaddr *)&sa, sizeof(sa)) : -1;
	printf("connect %s\n", ename(r == 0, errno));
	if (r < 0 || !(s = fdopen(fd, "r+")))
		return 1;
	fprintf(s, "cookie %s\n", cookie);
	fflush(s);
	printf("cookie %d\n", chirp_reply(s));
	fprintf(s, "set_job_attr_delayed %s %s\n", name, value);
	fflush(s);
	printf("set_job_attr_delayed %d\n", chirp_reply(s));
	fclose(s);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "status"))
		return cmd_status();
	if (!strcmp(cmd, "fds"))
		return cmd_fds();
	if (!strcmp(cmd, "tty"))
		return cmd_tty();
	if (!strcmp(cmd, "ids"))
		return cmd_ids();
	if (!strcmp(cmd, "ipc-create") && argc > 2)
		return cmd_ipc_create(argv[2]);
	if (!strcmp(cmd, "ipc-check") && argc > 2)
		return cmd_ipc_check(argv[2]);
	if (!strcmp(cmd, "unshare"))
		return cmd_unshare();
	if (!strcmp(cmd, "burn") && argc > 3)
		return cmd_burn(atoi(argv[2]), atof(argv[3]));
	if (!strcmp(cmd, "spin") && argc > 2)
		return cmd_spin(argv[2]);
	if (!strcmp(cmd, "eat"))
		return cmd_eat();
	if (!strcmp(cmd, "dio") && argc > 4)
		return cmd_dio(argv[2], argv[3], atoi(argv[4]));
	if (!strcmp(cmd, "forkbomb"))
		return cmd_forkbomb();
	if (!strcmp(cmd, "abstract-listen") && argc > 2)
		return cmd_abstract(argv[2], true);
	if (!strcmp(cmd, "abstract-connect") && argc > 2)
		return cmd_abstract(argv[2], false);
	if (!strcmp(cmd, "exe-write"))
		return cmd_exe_write();
	if (!strcmp(cmd, "kill-all"))
		return cmd_kill_all();
	if (!strcmp(cmd, "signal") && argc > 2)
		return cmd_signal(atoi(argv[2]));
	if (!strcmp(cmd, "chirp") && argc > 3)
		return cmd_chirp(argv[2], argv[3]);
	fprintf(stderr, "gr-probe: unknown command `%s`\n", cmd);
	return 2;
}
