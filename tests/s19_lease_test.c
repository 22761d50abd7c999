// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * s19_lease_test - S19 (cross-job theft under one VO account) for two jobs
 * of the same account that run at once in LEASED ranges, in root mode and in
 * helper mode (the pilot runs gridrun; gridrun-helper leases and maps).
 * Each job's sandbox is 0700 and holds a 0600 mock proxy, both its range's.
 *
 * Two layers are attacked. Inside job B (its namespaces): A's /tmp, /dev/shm,
 * SysV shm, POSIX mq, abstract unix socket, sandbox, proxy, environ, signals,
 * ptrace and kill(-1) must all be out of reach. Then, as if B had escaped
 * every namespace, a host process with B's host uid (its range's uid 0)
 * tries A's sandbox and proxy, /proc/A/environ, mem, root and ns, ptrace,
 * kill and kill(-1): the uid alone must refuse all of it. A must finish
 * normally, and the pilot's own 0600 proxy is unreadable by both ranges.
 * The jobs use "network": "none": the abstract socket namespace belongs to
 * the network namespace, so jobs sharing the host's network share it (no
 * uid check applies to abstract sockets; README says so).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"

#define RANGE 65536u

struct s19 {
	struct __test_metadata *md;
	bool helper;
};

/* job ids name cgroups too: unique per test process */
static const char *job_id(const char *name)
{
	static char id[2][64];
	int i = name[0] == 'a' ? 0 : 1;

	snprintf(id[i], sizeof(id[i]), "s19%s-%d", name, (int)getppid());
	return id[i];
}

static char *job_spec(const struct gt_world *w, const char *name, const char *sbx, const char *script)
{
	json_t *o = json_pack("{s:{s:[sss], s:[ss]}, s:[{s:s, s:s, s:[ss]}],"
			      " s:{s:s, s:s, s:s, s:s, s:s}}",
			      "process", "args", "/bin/sh", "-c", script,
			      "env", "PATH=/usr/bin:/bin", "SECRET=token-of-the-job",
			      "mounts", "destination", "/run/gr-probe", "source", gt_probe(), "options", "bind", "ro",
			      "gridrun", "job_id", job_id(name), "pool", "atlas", "account", "atlas001", "sandbox", sbx,
			      "network", "none");
	char *text = json_dumps(o, 0), *file, *path;

	if (!o || !text || asprintf(&file, "%s.json", name) < 0)
		abort();
	path = gt_write(w->dir, file, "%s", text);
	chmod(path, 0644);
	json_decref(o);
	free(text);
	free(file);
	return path;
}

static char *sandbox(const struct gt_world *w, const char *name, uid_t owner)
{
	char *p;

	if (asprintf(&p, "%s/execute/%s", w->dir, name) < 0)
		abort();
	gt_mkdirs(p, 0700, -1, -1);
	if (chown(p, owner, owner) < 0)   /* gt_mkdirs() takes ids as int */
		abort();
	return p;
}

static char *owned_file(const char *dir, const char *name, const char *text, uid_t owner)
{
	char *p = gt_write(dir, name, "%s", text);

	if (chown(p, owner, owner) < 0 || chmod(p, 0600) < 0)
		abort();
	return p;
}

static int state_pid(const char *state, const char *job)
{
	char *p, *t;
	json_t *o;
	int pid = 0;

	if (asprintf(&p, "%s/%s/state.json", state, job) < 0)
		abort();
	t = gt_read(p);
	o = t ? json_loads(t, 0, NULL) : NULL;
	pid = o ? (int)json_integer_value(json_object_get(o, "pid")) : 0;
	json_decref(o);
	free(t);
	free(p);
	return pid;
}

static unsigned long long outer_first(int pid)
{
	char path[64], *t;
	unsigned long long in = 1, out = 0, n;

	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	t = gt_read(path);
	if (!t || sscanf(t, "%llu %llu %llu", &in, &out, &n) != 3 || in != 0)
		out = 0;
	free(t);
	return out;
}

static const char *ename(int r)
{
	return r >= 0 ? "ok" : errno == EACCES ? "EACCES" : errno == EPERM ? "EPERM" :
	       errno == ESRCH ? "ESRCH" : errno == ENOENT ? "ENOENT" : "other";
}

/* As host uid `as` (a range's uid 0), with no namespace in the way. */
static void bypass(const char *sa, int apid, const char *pilot_proxy, uid_t as, bool signals,
		   char *out, size_t size)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		abort();
	pid = fork();
	if (pid == 0) {
		char path[128], buf[2048];
		size_t n = 0;

		gt_become(as);
#define TRY(what, expr) n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s %s\n", what, ename(expr))
		snprintf(path, sizeof(path), "%s/x509up", sa);
		TRY("proxy", open(path, O_RDONLY));
		TRY("sandbox", open(sa, O_RDONLY | O_DIRECTORY));
		snprintf(path, sizeof(path), "/proc/%d/environ", apid);
		TRY("environ", open(path, O_RDONLY));
		snprintf(path, sizeof(path), "/proc/%d/mem", apid);
		TRY("mem", open(path, O_RDONLY));
		snprintf(path, sizeof(path), "/proc/%d/root/tmp/secret-a", apid);
		TRY("tmp", open(path, O_RDONLY));
		snprintf(path, sizeof(path), "/proc/%d/ns/ipc", apid);
		TRY("ipcns", open(path, O_RDONLY));
		TRY("pilot_proxy", open(pilot_proxy, O_RDONLY));
		TRY("ptrace", (int)ptrace(PTRACE_ATTACH, apid, NULL, NULL));
		if (signals) {
			TRY("kill", kill(apid, SIGKILL));
			/* 0 whenever another process exists, even if none could be
			 * signalled (kernel/signal.c): A's survival is the test */
			kill(-1, SIGKILL);
		}
		_exit(write(p[1], buf, n) == (ssize_t)n ? 0 : 1);
	}
	close(p[1]);
	memset(out, 0, size);
	if (read(p[0], out, size - 1) < 0)
		abort();
	close(p[0]);
	if (gt_wait(pid, 20000) != 0)
		abort();
}

static void s19(void *arg, const struct gt_world *w)
{
	struct s19 *c = arg;
	struct __test_metadata *_metadata = c->md;
	int as = c->helper ? GT_PILOT : -1, apid;
	uid_t ua = GT_FIRST, ub = GT_FIRST + RANGE;
	char *state, *sa, *sb, *pdir, *pproxy, *script_a, *script_b, *spec_a, *spec_b, *ready, *abs_path, *abs;
	char *argv[] = { (char *)gt_gridrun(), "run", NULL, NULL }, got[2048];
	const char *want_bypass = "proxy EACCES\nsandbox EACCES\nenviron EACCES\nmem EACCES\ntmp EACCES\n"
				  "ipcns EACCES\npilot_proxy EACCES\nptrace EPERM\nkill EPERM\n";
	struct gt_result res = { 0 };
	pid_t a;

	/* the supervisors' own things */
	if (asprintf(&state, "%s/state", w->dir) < 0 || asprintf(&pdir, "%s/pilot", w->dir) < 0)
		abort();
	gt_mkdirs(state, 0700, c->helper ? GT_PILOT : 0, c->helper ? GT_PILOT : 0);
	gt_mkdirs(pdir, 0755, GT_PILOT, GT_PILOT);
	pproxy = owned_file(pdir, "x509up_u23456", "proxy-of-the-pilot\n", GT_PILOT);
	setenv("GRIDRUN_STATE_DIR", state, 1);
	setenv("GRIDRUN_HELPER", w->helper, 1);
	unsetenv("GRIDRUN_CONFIG");
	/* A starts first, so it leases range 0 and B range 1; each sandbox is its range's */
	sa = sandbox(w, "a", ua);
	sb = sandbox(w, "b", ub);
	free(owned_file(sa, "x509up", "proxy-of-a\n", ua));
	free(owned_file(sb, "x509up", "proxy-of-b\n", ub));
	if (asprintf(&script_a, "SA=%s; echo a > /tmp/secret-a; echo a > /dev/shm/secret-a; "
		     "/run/gr-probe ipc-create gra > $SA/ipc; /run/gr-probe abstract-listen gr-a > $SA/abs & "
		     "while ! grep -q listen $SA/abs; do sleep 0.01; done; /run/gr-probe abstract-connect gr-a >> $SA/abs; "
		     "touch $SA/ready; while [ ! -e $SA/done ]; do sleep 0.02; done; cat /tmp/secret-a $SA/x509up", sa) < 0)
		abort();
	spec_a = job_spec(w, "a", sa, script_a);
	a = gt_start_spec(spec_a, as);
	if (asprintf(&ready, "%s/ready", sa) < 0 || asprintf(&abs_path, "%s/abs", sa) < 0)
		abort();
	ASSERT_TRUE(gt_wait_file(ready, 20000));
	/* A really holds what B must not reach */
	abs = gt_read(abs_path);
	EXPECT_STREQ("listen ok\nconnect ok\n", abs);
	apid = state_pid(state, job_id("a"));
	ASSERT_LT(0, apid);
	EXPECT_EQ(ua, outer_first(apid));

	/* layer 1: B, inside its own namespaces */
	if (asprintf(&script_b, "ls -A /tmp /dev/shm | grep -c secret; /run/gr-probe ipc-check gra; "
		     "/run/gr-probe abstract-connect gr-a; cat %s/x509up 2>/dev/null || echo no-proxy; "
		     "ls %s >/dev/null 2>&1 || echo no-sandbox; cat /proc/%d/environ 2>/dev/null || echo no-environ; "
		     "cat %s 2>/dev/null || echo no-pilot-proxy; id -u; sed -n 1p /proc/self/uid_map | tr -s ' '; "
		     "/run/gr-probe signal %d; exec /run/gr-probe kill-all", sa, sa, apid, pproxy, apid) < 0)
		abort();
	spec_b = job_spec(w, "b", sb, script_b);
	argv[2] = spec_b;
	gt_run_argv(argv, as, &res);
	EXPECT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ(gt_f("0\nshm_visible no\nmq_visible no\nconnect ECONNREFUSED\nno-proxy\nno-sandbox\nno-environ\n"
			  "no-pilot-proxy\n0\n 0 %u 65536\nkill ESRCH\nptrace ESRCH\nkill_all ESRCH\n", ub), res.out);

	/* layer 2: B's host uid with every namespace bypassed; and A's own uid
	 * against the pilot's proxy */
	bypass(sa, apid, pproxy, ub, true, got, sizeof(got));
	EXPECT_STREQ(want_bypass, got);
	EXPECT_EQ(0, kill(apid, 0));
	/* A's own uid (which may signal A, of course) against B's and the pilot's */
	bypass(sb, apid, pproxy, ua, false, got, sizeof(got));
	EXPECT_NE(NULL, strstr(got, "proxy EACCES\nsandbox EACCES\n")) TH_LOG("%s", got);
	EXPECT_NE(NULL, strstr(got, "pilot_proxy EACCES\n")) TH_LOG("%s", got);

	/* A is untouched and finishes normally */
	EXPECT_EQ(ua, outer_first(apid));
	free(gt_write(sa, "done", "\n"));
	EXPECT_EQ(0, gt_wait(a, 20000));
	gt_result_free(&res);
	free(state); free(sa); free(sb); free(pdir); free(pproxy); free(script_a); free(script_b);
	free(spec_a); free(spec_b); free(ready); free(abs_path); free(abs);
	_exit(_metadata->passed ? 0 : 1);
}

TEST(S19_cross_job_theft_between_leased_jobs_root_mode)
{
	struct s19 c = { _metadata, false };

	EXPECT_EQ(0, gt_world_run(2, false, s19, &c));
}

TEST(S19_cross_job_theft_between_leased_jobs_helper_mode)
{
	struct s19 c = { _metadata, true };

	EXPECT_EQ(0, gt_world_run(2, false, s19, &c));
}

TEST_HARNESS_MAIN
