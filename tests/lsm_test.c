/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lsm_test - gridrun's BPF LSM (kmod-optional/, runtime/lsm.h), against the
 * real gridrun and gridrun-lsm binaries.
 *
 * Each test runs in a private mount namespace with its own bpf filesystem
 * (GRIDRUN_LSM_PIN points there): the programs stay attached only while
 * their pinned links exist, so the LSM goes when the test process does,
 * even if it fails half-way; teardown unloads it first anyway.
 * Each attack runs first without the LSM (it must succeed: nothing else
 * stops it), then with it loaded (EPERM, and the job's record counts the
 * denial per hook). Where the kernel refuses BPF LSM programs (this host's
 * kernel loads no LSM or tracing program, even for root), the test asserts
 * gridrun-lsm's one-line refusal and that jobs run as before; the positive
 * path runs in the v2 guest (tests/vm/, booted with lsm=...,bpf).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"

FIXTURE(lsm) {
	char *dir, *state, *pin, *conf, *leases, *lsm_bin;
	bool loaded;          /* gridrun-lsm load succeeded */
	struct gt_result res;
};

static int lsm_cmd(struct _test_data_lsm *self, const char *verb, int as_uid, struct gt_result *res)
{
	char *argv[] = { self->lsm_bin, "--pin", self->pin, (char *)verb, NULL };

	gt_run_argv(argv, as_uid, res);
	return res->status;
}

FIXTURE_SETUP(lsm)
{
	char *bpf;

	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	ASSERT_LE(0, asprintf(&self->leases, "%s/leases", self->dir));
	ASSERT_LE(0, asprintf(&bpf, "%s/bpf", self->dir));
	ASSERT_LE(0, asprintf(&self->pin, "%s/gridrun", bpf));
	ASSERT_LE(0, asprintf(&self->lsm_bin, "%s/gridrun-lsm", getenv("GRIDRUN_BUILD")));
	gt_mkdirs(bpf, 0700, -1, -1);
	gt_mkdirs(self->leases, 0700, -1, -1);
	/* our own bpffs (and securityfs to read the LSM list), in our own mount ns */
	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	ASSERT_EQ(0, mount("bpf", bpf, "bpf", 0, "mode=0700"));
	if (access("/sys/kernel/security/lsm", R_OK) < 0)
		(void)mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	self->conf = gt_write(self->dir, "gridrun.conf",
			      "[runtime]\nlease_dir = %s\n\n[pool atlas]\nfirst_uid = %u\nranges = 2\n"
			      "accounts = atlas001\nquarantine_seconds = 0\n", self->leases, GT_FIRST);
	ASSERT_EQ(0, chmod(self->leases, 0700));
	ASSERT_EQ(0, chmod(self->conf, 0644));
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
	setenv("GRIDRUN_LSM_PIN", self->pin, 1);
	memset(&self->res, 0, sizeof(self->res));
	free(bpf);
}

FIXTURE_TEARDOWN(lsm)
{
	struct gt_result r = { 0 };

	lsm_cmd(self, "unload", -1, &r);
	gt_result_free(&r);
	gt_result_free(&self->res);
	gt_rm_rf(self->dir);
}

/* Load the LSM; false (having asserted the kernel's refusal, said in one
 * line) where this kernel loads no BPF LSM program. */
static bool load(struct __test_metadata *_metadata, struct _test_data_lsm *self)
{
	struct gt_result r = { 0 };
	int st = lsm_cmd(self, "load", -1, &r);

	if (st != 0) {
		EXPECT_EQ(1, st);
		EXPECT_NE(NULL, strstr(r.err, "gridrun-lsm: the kernel refuses BPF LSM programs"))
			TH_LOG("%s", r.err);
		EXPECT_EQ(r.err + strlen(r.err) - 1, strchr(r.err, '\n')) TH_LOG("not one line: %s", r.err);
		gt_result_free(&r);
		EXPECT_EQ(3, lsm_cmd(self, "status", -1, &r));
		gt_result_free(&r);
		return false;
	}
	gt_result_free(&r);
	EXPECT_EQ(0, lsm_cmd(self, "status", -1, &r));
	EXPECT_NE(NULL, strstr(r.out, "bpf lsm: active; gridrun lsm: loaded")) TH_LOG("%s", r.out);
	gt_result_free(&r);
	self->loaded = true;
	return true;
}

/* A job of the pool (a leased range) that waits for `stop` in the sandbox
 * to appear; returns gridrun's pid, *init the host pid of the job's init. */
static pid_t start_job(struct __test_metadata *_metadata, struct _test_data_lsm *self,
		       const char *job_id, const char *rec, pid_t *init)
{
	char *spec, *sp, *text;
	pid_t pid;

	spec = gt_write(self->dir, "spec.json",
			"{\"process\": {\"args\": [\"/bin/sh\", \"-c\", \"echo up; sleep 30\"], "
			"\"env\": [\"PATH=/usr/bin:/bin\"]}, "
			"\"gridrun\": {\"pool\": \"atlas\", \"account\": \"atlas001\", \"job_id\": \"%s\", "
			"\"accounting\": \"%s\"}}", job_id, rec);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execl(gt_gridrun(), "gridrun", "run", "--config", self->conf, spec, (char *)NULL);
		_exit(127);
	}
	ASSERT_LT(0, pid);
	ASSERT_LE(0, asprintf(&sp, "%s/%s/state.json", self->state, job_id));
	*init = 0;
	for (int i = 0; i < 200 && !*init; i++) {
		json_t *o;

		usleep(50000);
		text = gt_read(sp);
		o = text ? json_loads(text, 0, NULL) : NULL;
		*init = (pid_t)gt_json_int(o, "pid");
		json_decref(o);
		free(text);
	}
	ASSERT_LT(0, *init) TH_LOG("no state at %s", sp);
	usleep(200000);   /* past exec */
	free(sp);
	free(spec);
	return pid;
}

/* V3: a task outside the job enters its user namespace and takes uid 0
 * there, i.e. the first kuid of the leased range. 0 or the errno. */
static int setns_setresuid(pid_t init, bool gid)
{
	char path[64];
	int status, fd;
	pid_t c;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)init);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	c = fork();
	if (c == 0) {
		if (setns(fd, CLONE_NEWUSER) < 0)
			_exit(100);
		if (gid ? setresgid(0, 0, 0) : setresuid(0, 0, 0))
			_exit(errno);
		_exit(0);
	}
	close(fd);
	waitpid(c, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

static json_t *stop_job(struct __test_metadata *_metadata, pid_t pid, const char *rec)
{
	char *text;
	json_t *o;

	kill(pid, SIGTERM);
	EXPECT_NE(-1, gt_wait(pid, 30000));
	text = gt_read(rec);
	o = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return o;
}

TEST_F(lsm, a_task_outside_the_job_cannot_take_an_id_of_its_range)
{
	char *rec;
	pid_t pid, init;
	json_t *o, *d;

	ASSERT_LE(0, asprintf(&rec, "%s/rec.json", self->dir));
	/* without the LSM: the pilot's V3 works (root here stands in for it) */
	pid = start_job(_metadata, self, "lsm.v3a", rec, &init);
	EXPECT_EQ(0, setns_setresuid(init, false));
	EXPECT_EQ(0, setns_setresuid(init, true));
	o = stop_job(_metadata, pid, rec);
	ASSERT_NE(NULL, o);
	EXPECT_TRUE(json_is_null(json_object_get(o, "lsm_denials")));
	json_decref(o);
	if (!load(_metadata, self))
		return;
	pid = start_job(_metadata, self, "lsm.v3b", rec, &init);
	EXPECT_EQ(EPERM, setns_setresuid(init, false));
	EXPECT_EQ(EPERM, setns_setresuid(init, true));
	EXPECT_EQ(EPERM, setns_setresuid(init, false));
	o = stop_job(_metadata, pid, rec);
	ASSERT_NE(NULL, o);
	d = json_object_get(o, "lsm_denials");
	EXPECT_EQ(2, gt_json_int(d, "task_fix_setuid"));
	EXPECT_EQ(1, gt_json_int(d, "task_fix_setgid"));
	json_decref(o);
	free(rec);
}

/* A nested user namespace (and a mount in it): the job may, with a seccomp
 * profile that allows it, until the LSM is loaded. */
static const char nest_py[] =
	"import ctypes, os\n"
	"libc = ctypes.CDLL(None, use_errno=True)\n"
	"if libc.unshare(0x10000000 | 0x00020000) != 0:\n"   /* CLONE_NEWUSER | CLONE_NEWNS */
	"    print('userns', os.strerror(ctypes.get_errno())); raise SystemExit\n"
	"r = libc.mount(b'none', b'/mnt', b'tmpfs', 0, None)\n"
	"print('mount', 'ok' if r == 0 else os.strerror(ctypes.get_errno()))\n";

/* seccomp allows everything and Landlock (which refuses mounts) is off:
 * only the LSM stands in the way */
static void nest(struct __test_metadata *_metadata, struct _test_data_lsm *self, const char *job_id,
		 const char *rec, const char *want)
{
	json_t *spec = json_pack("{s:{s:[sss],s:[s]}, s:{s:{s:s}}, s:{s:s,s:s,s:b}}",
				 "process", "args", "/usr/bin/python3", "-c", nest_py, "env", "PATH=/usr/bin:/bin",
				 "linux", "seccomp", "defaultAction", "SCMP_ACT_ALLOW",
				 "gridrun", "job_id", job_id, "accounting", rec, "landlock", 0);
	char *text = json_dumps(spec, 0), *path = gt_write(self->dir, "nest.json", "%s\n", text);

	gt_result_free(&self->res);
	gt_run_spec(path, &self->res);
	EXPECT_EQ(0, self->res.status) TH_LOG("%s", self->res.err);
	EXPECT_STREQ(want, self->res.out) TH_LOG("%s", self->res.err);
	free(path);
	free(text);
	json_decref(spec);
}

TEST_F(lsm, a_job_cannot_nest_a_user_namespace_or_mount)
{
	char *rec, *text;
	json_t *o, *d;

	ASSERT_LE(0, asprintf(&rec, "%s/rec.json", self->dir));
	nest(_metadata, self, "lsm.ns1", rec, "mount ok\n");
	if (!load(_metadata, self))
		return;
	nest(_metadata, self, "lsm.ns2", rec, "userns Operation not permitted\n");
	text = gt_read(rec);
	o = text ? json_loads(text, 0, NULL) : NULL;
	ASSERT_NE(NULL, o) TH_LOG("no record");
	d = json_object_get(o, "lsm_denials");
	EXPECT_EQ(1, gt_json_int(d, "userns_create"));
	json_decref(o);
	free(text);
	free(rec);
}

TEST_F(lsm, loading_needs_root)
{
	struct gt_result r = { 0 };

	EXPECT_EQ(1, lsm_cmd(self, "load", 65534, &r));
	EXPECT_STREQ("gridrun-lsm: load needs root (CAP_BPF, CAP_SYS_ADMIN, CAP_MAC_ADMIN)\n", r.err);
	gt_result_free(&r);
	EXPECT_EQ(3, lsm_cmd(self, "status", -1, &r));
	gt_result_free(&r);
}

TEST_HARNESS_MAIN
