/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gt.h"

static void die(const char *what)
{
	fprintf(stderr, "# test machinery failed: %s: %s\n", what, strerror(errno));
	abort();
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

const char *gt_gridrun(void)
{
	return env_or("GRIDRUN", "build/gridrun");
}

const char *gt_probe(void)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/tests/gr-probe", env_or("GRIDRUN_BUILD", "build"));
	return path;
}

const char *gt_src(void)
{
	return env_or("GRIDRUN_SRC", ".");
}

char *gt_tmpdir(void)
{
	char *d = strdup("/tmp/gridrun-test.XXXXXX");

	if (!d || !mkdtemp(d))
		die("mkdtemp");
	if (chmod(d, 0755) < 0)
		die("chmod");
	return d;
}

static uint64_t mnt_id_at(int dirfd, const char *name)
{
	struct statx stx;

	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID))
		return 0;
	return stx.stx_mnt_id;
}

/* Remove what is below dirfd, never leaving its mount: a bind mount inside
 * a test directory (of /etc, say) is skipped, not emptied through. */
static void rm_below(int dirfd, uint64_t mnt)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;

	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d))) {
		int fd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (mnt_id_at(dirfd, de->d_name) != mnt)
			continue; /* another mount: leave it alone */
		if (de->d_type == DT_DIR) {
			fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd >= 0)
				rm_below(fd, mnt);
			unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd, de->d_name, 0);
		}
	}
	closedir(d);
}

void gt_rm_rf(const char *path)
{
	uint64_t mnt;
	int fd;

	/* only ever the tests' own scratch directories */
	if (!path || strncmp(path, "/tmp/gridrun-test.", 18) || strstr(path, "/.."))
		return;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	mnt = mnt_id_at(AT_FDCWD, path);
	if (!mnt) {
		close(fd);
		return;
	}
	rm_below(fd, mnt);
	rmdir(path);
}

void gt_mkdirs(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	char *p = strdup(path), *s;

	if (!p)
		die("strdup");
	for (s = p + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;

			*s = '\0';
			if (mkdir(p, c ? 0755 : mode) < 0 && errno != EEXIST)
				die(p);
			*s = c;
			if (!c)
				break;
		}
	}
	if (chmod(path, mode) < 0 || ((int)uid >= 0 && chown(path, uid, gid) < 0))
		die(path);
	free(p);
}

char *gt_write(const char *dir, const char *name, const char *fmt, ...)
{
	char *path = NULL;
	va_list ap;
	FILE *f;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		die("asprintf");
	f = fopen(path, "w");
	if (!f)
		die(path);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	if (fclose(f) != 0)
		die(path);
	return path;
}

char *gt_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	if (getdelim(&buf, &len, '\0', f) < 0) {
		free(buf);
		buf = strdup("");
	}
	fclose(f);
	return buf;
}

char *gt_spec(const char *dir, const char *args_json, const char *extra, const char *gridrun_extra)
{
	static int n;
	char name[64];

	snprintf(name, sizeof(name), "spec-%d-%d.json", (int)getpid(), n++);
	return gt_write(dir, name,
			"{\n"
			"  \"ociVersion\": \"1.0.2\",\n"
			"  \"process\": {\"args\": %s, \"env\": [\"PATH=/usr/bin:/bin\"], \"cwd\": \"/\"},\n"
			"  \"mounts\": [{\"destination\": \"/run/gr-probe\", \"source\": \"%s\", \"options\": [\"bind\", \"ro\"]}]%s%s,\n"
			"  \"gridrun\": {%s}\n"
			"}\n",
			args_json, gt_probe(), extra ? ",\n  " : "", extra ? extra : "",
			gridrun_extra ? gridrun_extra : "");
}

static char *drain(int fd)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (!buf)
				die("realloc");
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	return buf;
}

static int decode(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

static void become(int as_uid)
{
	const char *extra = getenv("GT_SUPPLEMENTARY_GID");
	gid_t g = extra ? (gid_t)strtoul(extra, NULL, 10) : 0;

	if (as_uid < 0)
		return;
	if (setgroups(extra ? 1 : 0, &g) < 0 || setresgid(as_uid, as_uid, as_uid) < 0 ||
	    setresuid(as_uid, as_uid, as_uid) < 0)
		_exit(122);
}

void gt_run_argv(char *const argv[], int as_uid, struct gt_result *res)
{
	int out[2], err[2], status;
	pid_t pid;

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		become(as_uid);
		execv(argv[0], argv);
		fprintf(stderr, "gt: exec `%s` as uid %d: %s\n", argv[0], as_uid, strerror(errno));
		_exit(121);
	}
	close(out[1]);
	close(err[1]);
	/* stderr is small; read stdout first, then stderr */
	res->out = drain(out[0]);
	res->err = drain(err[0]);
	close(out[0]);
	close(err[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	res->status = decode(status);
}

void gt_run_spec(const char *spec, struct gt_result *res)
{
	char *argv[] = { (char *)gt_gridrun(), "run", (char *)spec, NULL };

	gt_run_argv(argv, -1, res);
}

void gt_result_free(struct gt_result *res)
{
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

pid_t gt_start_spec(const char *spec, int as_uid)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		if (!getenv("GT_VERBOSE"))
			dup2(null, 2);
		become(as_uid);
		/* a test that dies (an abort, a timeout) takes its jobs with it:
		 * gridrun's supervisor dies, and so the job (R1). Armed after
		 * become(), which would clear it. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(121);
		execl(gt_gridrun(), gt_gridrun(), "run", spec, (char *)NULL);
		fprintf(stderr, "gt: exec `%s` as uid %d: %s\n", gt_gridrun(), as_uid, strerror(errno));
		_exit(121);
	}
	return pid;
}

pid_t gt_fork_ready(int (*setup)(int ready, void *arg), void *arg)
{
	int p[2], r;
	char c;
	pid_t pid;

	if (pipe(p) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		/* it never outlives the test: a holder left by a failed
		 * assertion would keep the test's stdout open, and prove would
		 * wait for it for ever. Set again after setup: a change of the
		 * effective or fs ids clears it (prctl(2)). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		r = setup(p[1], arg);
		if (r)
			_exit(r);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[1]);
		pause();
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 0)
		die("a holder wrote to its ready pipe");
	close(p[0]);
	return pid;
}

int gt_wait(pid_t pid, int timeout_ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int status, waited = 0;

	for (;;) {
		pid_t r = waitpid(pid, &status, timeout_ms < 0 ? 0 : WNOHANG);

		if (r == pid)
			return decode(status);
		if (r < 0 && errno != EINTR)
			die("waitpid");
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return -1;
		nanosleep(&ts, NULL);
		waited += 10;
	}
}

bool gt_wait_file(const char *path, int timeout_ms)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		if (access(path, F_OK) == 0)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

int gt_count_procs(const char *marker)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		die("opendir /proc");
	while ((de = readdir(d))) {
		char path[300], buf[4096];
		ssize_t len;
		int fd;

		if (de->d_name[0] < '0' || de->d_name[0] > '9' || atoi(de->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (ssize_t i = 0; i < len; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[len] = '\0';
		if (strstr(buf, marker))
			n++;
	}
	closedir(d);
	return n;
}

int gt_wait_no_procs(const char *marker, int timeout_ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int n = gt_count_procs(marker);

	for (int waited = 0; n > 0 && waited < timeout_ms; waited += 10) {
		nanosleep(&ts, NULL);
		n = gt_count_procs(marker);
	}
	return n;
}

int gt_count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "records"))
			n++;
	closedir(d);
	return n;
}

const char *gt_marker(void)
{
	static char m[64];

	if (!m[0])
		snprintf(m, sizeof(m), "gtmark%d%ld", (int)getpid(), (long)time(NULL));
	return m;
}

const char *gt_sysprobe(void)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/tests/gr-sysprobe", env_or("GRIDRUN_BUILD", "build"));
	return path;
}

char *gt_spec_sys(const char *dir, const char *args_json, const char *extra, const char *gridrun_extra)
{
	static int n;
	char name[64];

	snprintf(name, sizeof(name), "sysspec-%d-%d.json", (int)getpid(), n++);
	return gt_write(dir, name,
			"{\n"
			"  \"ociVersion\": \"1.0.2\",\n"
			"  \"process\": {\"args\": %s, \"env\": [\"PATH=/usr/bin:/bin\"], \"cwd\": \"/\"},\n"
			"  \"mounts\": [{\"destination\": \"/run/gr-probe\", \"source\": \"%s\", \"options\": [\"bind\", \"ro\"]},\n"
			"             {\"destination\": \"/run/gr-sysprobe\", \"source\": \"%s\", \"options\": [\"bind\", \"ro\"]}]%s%s,\n"
			"  \"gridrun\": {%s}\n"
			"}\n",
			args_json, gt_probe(), gt_sysprobe(), extra ? ",\n  " : "", extra ? extra : "",
			gridrun_extra ? gridrun_extra : "");
}

int gt_cgroup_dirs(const char *job_id)
{
	char cmd[256], line[512];
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "find /sys/fs/cgroup -maxdepth 5 -type d -name 'gridrun-%s' 2>/dev/null", job_id);
	p = popen(cmd, "r");
	if (!p)
		die("popen");
	while (fgets(line, sizeof(line), p))
		n++;
	pclose(p);
	return n;
}

json_t *gt_run_job(const char *dir, const char *sbx, const char *rec, const char *job_id,
		   const char *args, const char *resources, const char *gridrun_extra,
		   struct gt_result *res)
{
	char *extra = NULL, *gr = NULL, *spec;
	json_t *record;

	unlink(rec);
	if (resources && asprintf(&extra, "\"linux\": {\"resources\": %s}", resources) < 0)
		die("asprintf");
	if (asprintf(&gr, "\"job_id\": \"%s\", \"sandbox\": \"%s\", \"accounting\": \"%s\"%s%s", job_id,
		     sbx, rec, gridrun_extra ? ", " : "", gridrun_extra ? gridrun_extra : "") < 0)
		die("asprintf");
	spec = gt_spec(dir, args, extra, gr);
	gt_result_free(res);
	gt_run_spec(spec, res);
	record = json_load_file(rec, 0, NULL);
	free(spec);
	free(extra);
	free(gr);
	return record;
}

long long gt_json_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && !strcmp(s + n - m, suffix);
}

int gt_corpus(const char *dir, const char *ext, gt_corpus_check *check, void *arg, int *failed)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort), checked = 0;

	*failed = 0;
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char *other = NULL, *expected = NULL, *problem = NULL;

		if (ends_with(name, ".err")) {
			if (asprintf(&other, "%s/%.*s%s", dir, (int)(strlen(name) - 4), name, ext) < 0)
				abort();
			if (access(other, F_OK) != 0 && asprintf(&problem, "%s has no %s", name, other) < 0)
				abort();
		} else if (ends_with(name, ext)) {
			if (asprintf(&other, "%s/%.*s.err", dir, (int)(strlen(name) - strlen(ext)), name) < 0)
				abort();
			expected = gt_read(other);
			if (!expected) {
				if (asprintf(&problem, "%s has no %s", name, other) < 0)
					abort();
			} else {
				expected[strcspn(expected, "\n")] = '\0';
				problem = check(dir, name, expected, arg);
			}
			checked++;
		}
		if (problem) {
			fprintf(stderr, "# %s\n", problem);
			++*failed;
		}
		free(problem);
		free(expected);
		free(other);
		free(names[i]);
	}
	free(names);
	return checked;
}

bool gt_idmap_expected(const char *path)
{
	struct statfs sfs;
	struct utsname u;
	int major = 0, minor = 0;

	if (statfs(path, &sfs) < 0 || uname(&u) < 0)
		return false;
	sscanf(u.release, "%d.%d", &major, &minor);
	if (major < 5 || (major == 5 && minor < 12))
		return false;
	switch ((unsigned long)sfs.f_type) {
	case EXT4_SUPER_MAGIC:
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
		return true;
	case TMPFS_MAGIC:
		return major > 6 || (major == 6 && minor >= 3);
	}
	return false;
}

/* Attach img to a free loop device; retried when another process takes the
 * one we were given first. */
int gt_loop_attach(const char *img, char *dev, size_t len)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	int ffd = open(img, O_RDWR | O_CLOEXEC);
	int lfd = -1;

	for (int i = 0; ctl >= 0 && ffd >= 0 && i < 20 && lfd < 0; i++) {
		struct loop_config cfg = { .fd = ffd, .info = { .lo_flags = LO_FLAGS_AUTOCLEAR } };
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);

		if (n < 0)
			break;
		snprintf(dev, len, "/dev/loop%d", n);
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd >= 0 && ioctl(lfd, LOOP_CONFIGURE, &cfg) < 0) {
			close(lfd);
			lfd = -1;
		}
	}
	if (ctl >= 0)
		close(ctl);
	if (ffd >= 0)
		close(ffd);
	return lfd;
}
