/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * security_test - attacks from ../shared/threats.md that the foundation
 * must already stop: S02 (host fd or cwd leaking in), S07 (terminal
 * injection), S11 (leftover capabilities, setuid gain), S12 (no nested
 * user or net namespace), S19 (job B against a concurrently running job
 * A, as far as namespaces reach). Each test runs the attack inside a real
 * job with the gr-probe helper and asserts the outcome.
 */
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"

FIXTURE(sec) {
	char *dir, *state;
	struct gt_result res;
};

FIXTURE_SETUP(sec)
{
	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
	memset(&self->res, 0, sizeof(self->res));
}

FIXTURE_TEARDOWN(sec)
{
	gt_result_free(&self->res);
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->state);
}

static char *sh_spec(const char *dir, const char *script, const char *extra, const char *gr)
{
	json_t *args = json_pack("[sss]", "/bin/sh", "-c", script);
	char *a = json_dumps(args, JSON_COMPACT);
	char *spec = gt_spec(dir, a, extra, gr);

	free(a);
	json_decref(args);
	return spec;
}

TEST_F(sec, S02_no_host_fd_or_cwd_reaches_the_job)
{
	int leak = open("/etc/hostname", O_RDONLY); /* deliberately inheritable */
	char *spec;

	ASSERT_LE(3, leak);
	ASSERT_EQ(0, chdir(self->dir));
	spec = sh_spec(self->dir, "/run/gr-probe fds; pwd -P; ls /proc/1/fd >/dev/null 2>&1 || echo init-fds-hidden",
		       NULL, NULL);
	gt_run_spec(spec, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_STREQ("fds 0 1 2\n/\ninit-fds-hidden\n", self->res.out);
	close(leak);
	free(spec);
}

TEST_F(sec, S02_cwd_under_proc_is_refused)
{
	char *spec = gt_write(self->dir, "cwd.json",
			      "{\"process\": {\"args\": [\"/bin/true\"], \"cwd\": \"/proc/self/fd/7\"}}");

	gt_run_spec(spec, &self->res);
	ASSERT_EQ(125, self->res.status);
	ASSERT_NE(NULL, strstr(self->res.err, "process.cwd: ")) TH_LOG("stderr: %s", self->res.err);
	free(spec);
}

TEST_F(sec, S07_no_terminal_injection_and_own_session)
{
	char *spec = sh_spec(self->dir, "exec /run/gr-probe tty", NULL, NULL);
	int master, slave, out[2], status, queued = -1;
	char buf[4096] = "";
	ssize_t n;
	pid_t pid;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	ASSERT_LE(0, master);
	ASSERT_EQ(0, grantpt(master));
	ASSERT_EQ(0, unlockpt(master));
	ASSERT_EQ(0, pipe(out));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* the pilot: its own session with the pty as controlling tty */
		setsid();
		slave = open(ptsname(master), O_RDWR);
		if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
			_exit(120);
		dup2(slave, 0);
		dup2(out[1], 1);
		execl(gt_gridrun(), gt_gridrun(), "run", spec, (char *)NULL);
		_exit(121);
	}
	close(out[1]);
	for (size_t len = 0; len < sizeof(buf) - 1; len += n) {
		n = read(out[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("out: %s", buf);
	ASSERT_EQ(NULL, strstr(buf, "tiocsti ok"));
	ASSERT_EQ(NULL, strstr(buf, "tiocsti_high ok"));
	ASSERT_EQ(NULL, strstr(buf, "tioclinux ok"));
	ASSERT_NE(NULL, strstr(buf, "tiocsti ")) TH_LOG("out: %s", buf);
	/* the job leads its own session (pid 2 in its namespace) */
	ASSERT_NE(NULL, strstr(buf, "sid 2 pid 2\n")) TH_LOG("out: %s", buf);
	/* nothing reached the pilot's input queue */
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	ASSERT_LE(0, slave);
	ASSERT_EQ(0, ioctl(slave, FIONREAD, &queued));
	ASSERT_EQ(0, queued);
	close(slave);
	close(master);
	close(out[0]);
	free(spec);
}

/*
 * S03 (runc's CVE-2016-9962: its init ptraced by the container). gridrun
 * never injects a process into a running job (there is no exec-into), so
 * the only process of gridrun's inside the job's namespaces is its init,
 * pid 1: non-dumpable from sync #1 on, capability-free. The job, uid 0 of
 * its namespace, tries it again and again while init is busy reaping its
 * children and a signal is in flight, and gets nothing: no ptrace, no
 * /proc/1 mem, environ, fds, exe or cwd.
 */
TEST_F(sec, S03_init_cannot_be_ptraced_or_read_by_the_job)
{
	char *spec = sh_spec(self->dir,
			     "trap 'echo got-usr1' USR1; (sleep 0.1; kill -USR1 $$) & "
			     "for i in 1 2 3; do /run/gr-probe signal 1; done | sort | uniq -c | tr -s ' '; wait; "
			     "cat /proc/1/environ >/dev/null 2>&1 || echo no-environ; "
			     "cat /proc/1/mem >/dev/null 2>&1 || echo no-mem; "
			     "ls /proc/1/fd >/dev/null 2>&1 || echo no-fd; "
			     "readlink /proc/1/exe >/dev/null 2>&1 || echo no-exe; "
			     "readlink /proc/1/cwd >/dev/null 2>&1 || echo no-cwd", NULL, NULL);

	/* Landlock ABI 6+ (runtime/landlock.h) also scopes signals: init is
	 * outside the job's domain, so even the kill is refused there */
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1U << 0);
	const char *want = abi >= 6
		? " 3 kill EPERM\n 3 ptrace EPERM\ngot-usr1\nno-environ\nno-mem\nno-fd\nno-exe\nno-cwd\n"
		: " 3 kill ok\n 3 ptrace EPERM\ngot-usr1\nno-environ\nno-mem\nno-fd\nno-exe\nno-cwd\n";

	gt_run_spec(spec, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_STREQ(want, self->res.out);
	free(spec);
}

TEST_F(sec, S11_no_capabilities_in_job_or_init_and_no_new_privs)
{
	static const char zero_caps[] =
		"CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
		"CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n";
	char *spec = sh_spec(self->dir,
			     "/run/gr-probe status | grep -v Seccomp; "
			     "grep -E '^(Cap|NoNewPrivs)' /proc/1/status", NULL, NULL);
	char *want;

	gt_run_spec(spec, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_LE(0, asprintf(&want, "%s%s", zero_caps, zero_caps));
	ASSERT_STREQ(want, self->res.out);
	free(want);
	free(spec);
}

TEST_F(sec, S11_setuid_root_binary_gains_nothing)
{
	char *suid, *extra, *spec;
	char cmd[8192];

	/* a root-owned setuid copy of the probe, bound into the job */
	ASSERT_LE(0, asprintf(&suid, "%s/suid-probe", self->dir));
	snprintf(cmd, sizeof(cmd), "cp %s %s && chown 0:0 %s && chmod 4755 %s", gt_probe(), suid, suid, suid);
	ASSERT_EQ(0, system(cmd));
	ASSERT_LE(0, asprintf(&extra,
		"\"mounts\": [{\"destination\": \"/run/gr-probe\", \"source\": \"%s\", \"options\": [\"bind\", \"ro\"]},"
		" {\"destination\": \"/run/suid-probe\", \"source\": \"%s\", \"options\": [\"bind\"]}]",
		gt_probe(), suid));
	spec = gt_write(self->dir, "suid.json",
			"{\"process\": {\"args\": [\"/run/suid-probe\", \"ids\"], \"user\": {\"uid\": 1000, \"gid\": 1000}}, %s}",
			extra);
	gt_run_spec(spec, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_STREQ("uid 1000 1000 1000\ngid 1000 1000 1000\n", self->res.out);
	free(suid);
	free(extra);
	free(spec);
}

TEST_F(sec, S12_no_nested_userns_or_netns)
{
	char *spec = sh_spec(self->dir, "/run/gr-probe unshare; unshare -U true 2>/dev/null || echo nested_userns denied",
			     NULL, NULL);

	/* no capability for a new net namespace, and grid-default's seccomp
	 * filter denies the nested user namespace that would grant one
	 * (tests/seccomp_test.c covers every way in) */
	gt_run_spec(spec, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_NE(NULL, strstr(self->res.out, "unshare_net EPERM\n")) TH_LOG("out: %s", self->res.out);
	ASSERT_EQ(NULL, strstr(self->res.out, "write_max_userns ok"));
	ASSERT_NE(NULL, strstr(self->res.out, "nested_userns denied\n")) TH_LOG("out: %s", self->res.out);
	free(spec);
}

TEST_F(sec, S19_job_b_sees_nothing_of_concurrent_job_a)
{
	char *sa, *sb, *ready_a, *done_a, *script_a, *script_b, *gra, *grb, *spec_a, *spec_b;
	pid_t a;

	ASSERT_LE(0, asprintf(&sa, "%s/execute/dir_a", self->dir));
	ASSERT_LE(0, asprintf(&sb, "%s/execute/dir_b", self->dir));
	gt_mkdirs(sa, 0700, 65534, 65534);
	gt_mkdirs(sb, 0700, 65534, 65534);
	free(gt_write(sa, "x509up", "proxy-of-a\n"));
	ASSERT_LE(0, asprintf(&ready_a, "%s/ready", sa));
	ASSERT_LE(0, asprintf(&done_a, "%s/done", sa));
	ASSERT_LE(0, asprintf(&script_a,
		"echo a > /tmp/secret-a; echo a > /dev/shm/secret-a; /run/gr-probe ipc-create gra > %s/ipc; "
		"echo $(cat /proc/self/stat | cut -d' ' -f1) > %s; "
		"n=0; while [ ! -e %s ] && [ $n -lt 1000 ]; do sleep 0.01; n=$((n+1)); done; cat /tmp/secret-a",
		sa, ready_a, done_a));
	ASSERT_LE(0, asprintf(&gra, "\"sandbox\": \"%s\"", sa));
	spec_a = sh_spec(self->dir, script_a, NULL, gra);
	a = gt_start_spec(spec_a, -1);
	ASSERT_TRUE(gt_wait_file(ready_a, 5000));
	{
		/* A really holds the objects B must not see */
		char *ipc_path, *ipc;

		ASSERT_LE(0, asprintf(&ipc_path, "%s/ipc", sa));
		ipc = gt_read(ipc_path);
		ASSERT_STREQ("shm ok\nmq ok\n", ipc ? ipc : "");
		free(ipc);
		free(ipc_path);
	}

	ASSERT_LE(0, asprintf(&script_b,
		"ls -A /tmp /dev/shm | grep -c secret; /run/gr-probe ipc-check gra; ls /proc | grep -c '^[0-9]'; "
		"ls -A %s/execute; cat %s/x509up 2>/dev/null || echo no-proxy; "
		"/run/gr-probe signal %d",
		self->dir, sa, (int)a));
	ASSERT_LE(0, asprintf(&grb, "\"sandbox\": \"%s\"", sb));
	spec_b = sh_spec(self->dir, script_b, NULL, grb);
	gt_run_spec(spec_b, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	/* ls /proc: init, sh, ls, grep at most */
	ASSERT_EQ(0, strncmp(self->res.out, "0\nshm_visible no\nmq_visible no\n",
			     strlen("0\nshm_visible no\nmq_visible no\n")))
		TH_LOG("out: %s", self->res.out);
	ASSERT_NE(NULL, strstr(self->res.out, "\ndir_b\nno-proxy\nkill ESRCH\nptrace ESRCH\n"))
		TH_LOG("out: %s", self->res.out);

	/* A is untouched and finishes normally */
	free(gt_write(sa, "done", "\n"));
	ASSERT_EQ(0, gt_wait(a, 10000));
	free(sa); free(sb); free(ready_a); free(done_a); free(script_a); free(script_b);
	free(gra); free(grb); free(spec_a); free(spec_b);
}

TEST_HARNESS_MAIN
