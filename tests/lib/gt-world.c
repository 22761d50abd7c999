// SPDX-License-Identifier: GPL-2.0-or-later
/* gt-world.c - see gt-world.h. */
#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gt.h"
#include "gt-world.h"

static void need(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "gt-world: %s: %s\n", what, strerror(errno));
		abort();
	}
}

static char *slurp(const char *path)
{
	char *t = gt_read(path);

	need(t != NULL, path);
	return t;
}

static void put_etc(const char *name, const char *text)
{
	char *p = gt_write("/etc", name, "%s", text);

	need(chmod(p, 0644) == 0, "chmod");
	free(p);
}

/* pid 1 of the world: private mounts, /etc and /proc of its own */
static void build_world(const struct gt_world *w)
{
	char *pw = NULL, *gr = NULL, *nss = slurp("/etc/nsswitch.conf");

	if (asprintf(&pw, "%satlas001:x:%d:%d::/nonexistent:/bin/false\ncms001:x:%d:%d::/nonexistent:/bin/false\n",
		     slurp("/etc/passwd"), GT_PILOT, GT_PILOT, GT_OTHER, GT_OTHER) < 0 ||
	    asprintf(&gr, "%satlas001:x:%d:\ncms001:x:%d:\n", slurp("/etc/group"), GT_PILOT, GT_OTHER) < 0 ||
	    unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/etc", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0 ||
	    (!getenv("GT_WORLD_HOST_PID") &&
	     mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0))
		_exit(99);
	put_etc("nsswitch.conf", nss);
	put_etc("passwd", pw);
	put_etc("group", gr);
	gt_mkdirs("/etc/gridrun", 0755, 0, 0);
	free(gt_write("/etc/gridrun", "gridrun.conf",
		      "[runtime]\nlease_dir = %s\n%s%s%s\n[pool atlas]\nfirst_uid = %u\nranges = %u\n"
		      "accounts = atlas001\nquarantine_seconds = 600\n%s", w->leases,
		      getenv("GT_WORLD_HANDOVER") ? "sandbox_handover = " : "",
		      getenv("GT_WORLD_HANDOVER") ? getenv("GT_WORLD_HANDOVER") : "",
		      getenv("GT_WORLD_HANDOVER") ? "\n" : "", GT_FIRST, w->ranges,
		      getenv("GT_WORLD_POOLS") ? getenv("GT_WORLD_POOLS") : ""));
	need(chmod("/etc/gridrun/gridrun.conf", 0644) == 0, "chmod");
	free(pw);
	free(gr);
	free(nss);
}

unsigned gt_pool_first(void)
{
	const char *e = getenv("GRIDRUN_TEST_FIRST_UID");
	char buf[16];
	unsigned v;

	if (e)
		return (unsigned)strtoul(e, NULL, 10);
	v = 3000000000u + (unsigned)(getpid() % 256) * 4194304u;
	snprintf(buf, sizeof(buf), "%u", v);
	setenv("GRIDRUN_TEST_FIRST_UID", buf, 1);
	return v;
}

const char *gt_f(const char *fmt, ...)
{
	static char bufs[8][1024];
	static unsigned next;
	char *b = bufs[next++ % 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}

int gt_world_run(unsigned ranges, bool filecaps, void (*fn)(void *arg, const struct gt_world *w), void *arg)
{
	struct gt_world w = { .dir = gt_tmpdir(), .ranges = ranges };
	const char *build = getenv("GRIDRUN_BUILD") ? getenv("GRIDRUN_BUILD") : "build";
	char *src, *cmd, *bindir = NULL;
	struct statvfs vfs;
	int status;
	pid_t pid;

	gt_pool_first();   /* fixed before the world's pid 1, whose pid is 1 */
	need(asprintf(&w.leases, "%s/leases", w.dir) > 0 && asprintf(&src, "%s/gridrun-helper", build) > 0,
	     "asprintf");
	/* the setuid copy needs a filesystem without nosuid: the scratch dir's,
	 * else a directory of the test's own in the build dir */
	need(statvfs(w.dir, &vfs) == 0, "statvfs");
	if (vfs.f_flag & ST_NOSUID) {
		need(asprintf(&bindir, "%s/helper-test.XXXXXX", build) > 0 && mkdtemp(bindir) &&
		     chmod(bindir, 0755) == 0 && asprintf(&w.helper, "%s/gridrun-helper", bindir) > 0,
		     "helper dir in the build dir");
	} else {
		need(asprintf(&w.helper, "%s/bin/gridrun-helper", w.dir) > 0, "asprintf");
		gt_mkdirs(w.helper, 0755, 0, 0);
		rmdir(w.helper);
	}
	need(asprintf(&cmd, "cp '%s' '%s'", src, w.helper) > 0 && system(cmd) == 0, "copy the helper");
	need(chown(w.helper, 0, 0) == 0 && chmod(w.helper, filecaps ? 0755 : 04755) == 0, "install the helper");
	if (filecaps) {
		free(cmd);
		/* as README says, from the one list make install installs */
		need(asprintf(&cmd, "PATH=$PATH:/usr/sbin:/sbin setcap \"$(cat '%s/contrib/gridrun-helper.caps')\" '%s'",
			      gt_src(), w.helper) > 0 &&
		     system(cmd) == 0, "setcap");
	}
	pid = fork();
	need(pid >= 0, "fork");
	if (pid == 0) {
		pid_t init;

		/* the world's pid 1 is a child of this one */
		if (!getenv("GT_WORLD_HOST_PID") && unshare(CLONE_NEWPID) < 0)
			_exit(98);
		init = fork();
		if (init == 0) {
			build_world(&w);
			fn(arg, &w);
			_exit(0);
		}
		_exit(init > 0 ? gt_wait(init, -1) : 98);
	}
	status = gt_wait(pid, -1);
	gt_rm_rf(w.dir);
	if (bindir) {
		unlink(w.helper);
		rmdir(bindir);
		free(bindir);
	}
	free(src);
	free(cmd);
	free(w.dir);
	free(w.helper);
	free(w.leases);
	return status;
}

void gt_become(uid_t uid)
{
	/* dumpable again, as a pilot's exec'd process is (the uid change reset it) */
	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0 ||
	    prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		_exit(97);
}

int gt_r2_jobs(void)
{
	const char *e = getenv("GRIDRUN_R2_JOBS");
	int n = e && *e ? atoi(e) : GT_R2_MAX;

	return n < 8 ? 8 : n > GT_R2_MAX ? GT_R2_MAX : n;
}

int gt_r2_finish(const char *dir, const pid_t *pid, const bool *alive, int n)
{
	int bad = 0;

	for (int i = 0; i < n; i++) {
		char go[64];

		if (!alive[i]) {
			bad += gt_wait(pid[i], 60000) != 128 + SIGKILL;
			continue;
		}
		snprintf(go, sizeof(go), "execute/r2-%d/go", i);
		free(gt_write(dir, go, "%s", ""));
	}
	for (int i = 0; i < n; i++)
		if (alive[i])
			bad += gt_wait(pid[i], 120000) != 0;
	return bad;
}
