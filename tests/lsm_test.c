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
 * Helper mode runs in a world (gt-world.h: a setuid gridrun-helper, a pilot
 * uid) with its own bpf filesystem on /sys/fs/bpf, where the helper, which
 * reads no environment, finds the pins.
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"
#include "gt-helper.h"
#include "gt-lsm.h"
#include "lsm.h"
#include <linux/types.h>
#include "../kmod-optional/gridrun-lsm.h"

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
	char *bpf = strdup(self->pin);

	lsm_cmd(self, "unload", -1, &r);
	gt_result_free(&r);
	gt_result_free(&self->res);
	/* the bpffs first: rm cannot remove a mount point (it was left behind) */
	if (bpf && strrchr(bpf, '/'))
		*strrchr(bpf, '/') = '\0';
	if (bpf)
		umount2(bpf, MNT_DETACH);
	free(bpf);
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
	char *spec, *sp;
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
	*init = state_init(sp);
	ASSERT_LT(0, *init) TH_LOG("no state at %s", sp);
	usleep(200000);   /* past exec */
	free(sp);
	free(spec);
	return pid;
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

/* Job A: one-uid (nobody, like every job gridrun runs as root without a
 * pool) so that uids do not separate it from job B; host pid of its main
 * process (a sleeping python that also serves an abstract stream socket and
 * an abstract datagram socket named after `tag`). */
static const char victim_py[] =
	"import socket, sys, time\n"
	"s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind('\\0gr-lsm-s-' + sys.argv[1]); s.listen(8)\n"
	"d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d.bind('\\0gr-lsm-d-' + sys.argv[1])\n"
	"time.sleep(60)\n";

static pid_t start_victim(struct __test_metadata *_metadata, struct _test_data_lsm *self,
			  const char *job_id, pid_t *main_pid)
{
	json_t *spec = json_pack("{s:{s:[ssss],s:[s]}, s:{s:s,s:b}}",
				 "process", "args", "/usr/bin/python3", "-c", victim_py, gt_marker(),
				 "env", "PATH=/usr/bin:/bin", "gridrun", "job_id", job_id, "landlock", 0);
	char *text = json_dumps(spec, 0), *path = gt_write(self->dir, "victim.json", "%s\n", text);
	char *sp, *unix_names, want[128];
	pid_t pid, init;

	pid = gt_start_spec(path, -1);
	ASSERT_LT(0, pid);
	ASSERT_LE(0, asprintf(&sp, "%s/%s/state.json", self->state, job_id));
	init = state_init(sp);
	ASSERT_LT(0, init) TH_LOG("no state at %s", sp);
	*main_pid = first_child(init);
	ASSERT_LT(0, *main_pid);
	/* serving once both names show in the (host network's) socket table */
	snprintf(want, sizeof(want), "@gr-lsm-d-%s", gt_marker());
	for (int i = 0; i < 200; i++) {
		unix_names = gt_read("/proc/net/unix");
		if (unix_names && strstr(unix_names, want)) {
			free(unix_names);
			break;
		}
		free(unix_names);
		usleep(50000);
	}
	free(sp);
	free(path);
	free(text);
	json_decref(spec);
	return pid;
}

static void stop_victim(struct __test_metadata *_metadata, pid_t pid)
{
	kill(pid, SIGTERM);
	EXPECT_NE(-1, gt_wait(pid, 30000));
}

/* Whether the LSM loads here; unloaded again either way. On a kernel that
 * refuses it, load() has asserted the one-line refusal. */
static bool loadable(struct __test_metadata *_metadata, struct _test_data_lsm *self)
{
	struct gt_result r = { 0 };

	if (!load(_metadata, self))
		return false;
	EXPECT_EQ(0, lsm_cmd(self, "unload", -1, &r));
	gt_result_free(&r);
	self->loaded = false;
	return true;
}

/* S19: job B connects to job A's abstract sockets (both on the host
 * network); its own abstract socket stays usable. */
static const char unix_py[] =
	"import socket, sys\n"
	"def t(name, f):\n"
	"    try:\n"
	"        f(); print(name, 'ok')\n"
	"    except OSError as e:\n"
	"        print(name, e.strerror)\n"
	"m = sys.argv[1]\n"
	"t('connect', lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect('\\0gr-lsm-s-' + m))\n"
	"t('sendto', lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'x', '\\0gr-lsm-d-' + m))\n"
	"own = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); own.bind('\\0gr-lsm-own-' + m); own.listen(1)\n"
	"t('own', lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect('\\0gr-lsm-own-' + m))\n";

static void unix_attack(struct __test_metadata *_metadata, struct _test_data_lsm *self,
			const char *rec, const char *sfx, const char *want)
{
	json_t *spec = json_pack("{s:{s:[ssss],s:[s]}, s:{s:s,s:s,s:b}}",
				 "process", "args", "/usr/bin/python3", "-c", unix_py, gt_marker(),
				 "env", "PATH=/usr/bin:/bin", "gridrun", "job_id", sfx, "accounting", rec,
				 "landlock", 0);
	char ja[32], *text = json_dumps(spec, 0), *path = gt_write(self->dir, "unix.json", "%s\n", text);
	pid_t pid, target;

	snprintf(ja, sizeof(ja), "lsm.ua%s", sfx);
	pid = start_victim(_metadata, self, ja, &target);
	gt_result_free(&self->res);
	gt_run_spec(path, &self->res);
	EXPECT_EQ(0, self->res.status) TH_LOG("%s", self->res.err);
	EXPECT_STREQ(want, self->res.out) TH_LOG("%s", self->res.err);
	stop_victim(_metadata, pid);
	free(path);
	free(text);
	json_decref(spec);
}

TEST_F_TIMEOUT(lsm, S19_no_abstract_unix_socket_across_jobs, 600)
{
	char *rec;
	json_t *o, *d;

	ASSERT_LE(0, asprintf(&rec, "%s/rec.json", self->dir));
	unix_attack(_metadata, self, rec, "lsm.ub1", "connect ok\nsendto ok\nown ok\n");
	if (!load(_metadata, self))
		return;
	unix_attack(_metadata, self, rec, "lsm.ub2",
		    "connect Operation not permitted\nsendto Operation not permitted\nown ok\n");
	o = read_record(rec);
	ASSERT_NE(NULL, o);
	d = json_object_get(o, "lsm_denials");
	EXPECT_EQ(1, gt_json_int(d, "unix_stream_connect"));
	EXPECT_EQ(1, gt_json_int(d, "unix_may_send"));
	json_decref(o);
	free(rec);
}

/*
 * Some hooks stand behind other layers that already stop a real job:
 * gridrun gives a job no capability to mount or use bpf() with (and the LSM
 * refuses the nested user namespace that would give one, previous test),
 * and the seccomp set-id guard (gr-seccomp.h) refuses set-id modes before
 * any LSM is asked. The LSM is the layer that holds when those fail (a
 * kernel bug, a call the filter cannot see), so these tests take the other
 * layers away: a root task of the test, without seccomp, stands in for a job
 * task that got past them. It is registered and tagged by gr_lsm_register(),
 * exactly as gridrun registers a job's init, then exec's the attack (which
 * arms the tag). Unregistered, the same task succeeds. d NULL: the
 * registration is left behind, as by a supervisor that was killed.
 */
static const char mount_py[] =
	"import ctypes, os, sys\n"
	"libc = ctypes.CDLL(None, use_errno=True)\n"
	"def t(name, r):\n"
	"    print(name, 'ok' if r >= 0 else os.strerror(ctypes.get_errno()))\n"
	"m = sys.argv[1].encode()\n"
	"t('mount', libc.mount(b'none', m, b'tmpfs', 0, None))\n"
	"fd = libc.syscall(428, -100, b'/tmp', 1 | 0x80000)\n"       /* open_tree(OPEN_TREE_CLONE) */
	"t('move_mount', libc.syscall(429, fd, b'', -100, m, 4) if fd >= 0 else fd)\n"
	"attr = (ctypes.c_uint32 * 5)(2, 4, 4, 1, 0)\n"             /* an array map */
	"t('bpf', libc.syscall(321, 0, attr, 20))\n";


TEST_F_TIMEOUT(lsm, no_mount_or_bpf_from_a_job_task_whatever_it_may, 600)
{
	struct gr_lsm_denials d;

	if (!loadable(_metadata, self))
		return;
	gt_mkdirs(gt_f("%s/mnt", self->dir), 0755, -1, -1);
	standin(_metadata, false, mount_py, gt_f("%s/mnt", self->dir), -1,
		"mount ok\nmove_mount ok\nbpf ok\n", &d);
	EXPECT_FALSE(d.loaded);
	ASSERT_TRUE(load(_metadata, self));
	standin(_metadata, true, mount_py, gt_f("%s/mnt", self->dir), -1,
		     "mount Operation not permitted\nmove_mount Operation not permitted\n"
		     "bpf Operation not permitted\n", &d);
	EXPECT_TRUE(d.loaded);
	EXPECT_EQ(3, d.total);
	EXPECT_EQ(1, d.hook[GR_LSM_MOUNT]);
	EXPECT_EQ(1, d.hook[GR_LSM_MOVE_MOUNT]);
	EXPECT_EQ(1, d.hook[GR_LSM_BPF]);
}

/* S34: every way to a set-id inode, past the seccomp guard */
static const char setid_py[] =
	"import os, sys\n"
	"def t(name, f):\n"
	"    try:\n"
	"        f(); print(name, 'ok')\n"
	"    except OSError as e:\n"
	"        print(name, e.strerror)\n"
	"d = sys.argv[1]\n"
	"open(d + '/f', 'w').close()\n"
	"t('chmod', lambda: os.chmod(d + '/f', 0o4755))\n"
	"t('chmod-g', lambda: os.chmod(d + '/f', 0o2755))\n"
	"t('creat', lambda: os.close(os.open(d + '/g', os.O_CREAT | os.O_WRONLY, 0o4755)))\n"
	"t('mknod', lambda: os.mknod(d + '/h', 0o100000 | 0o4755))\n"
	"t('mkdir', lambda: os.mkdir(d + '/k', 0o2755))\n"
	"print('set-id', sorted(n for n in os.listdir(d) if os.stat(d + '/' + n).st_mode & 0o6000))\n";

TEST_F_TIMEOUT(lsm, S34_no_set_id_bit_from_a_job_task_however_it_tries, 600)
{
	struct gr_lsm_denials d;

	if (!loadable(_metadata, self))
		return;
	gt_mkdirs(gt_f("%s/id1", self->dir), 0755, -1, -1);
	gt_mkdirs(gt_f("%s/id2", self->dir), 0755, -1, -1);
	standin(_metadata, false, setid_py, gt_f("%s/id1", self->dir), -1,
		"chmod ok\nchmod-g ok\ncreat ok\nmknod ok\nmkdir ok\nset-id ['f', 'g', 'h']\n", &d);
	ASSERT_TRUE(load(_metadata, self));
	standin(_metadata, true, setid_py, gt_f("%s/id2", self->dir), -1,
		"chmod Operation not permitted\nchmod-g Operation not permitted\n"
		"creat Operation not permitted\nmknod Operation not permitted\n"
		"mkdir Operation not permitted\nset-id []\n", &d);
	EXPECT_EQ(5, d.total);
	EXPECT_EQ(2, d.hook[GR_LSM_CHMOD]);
	EXPECT_EQ(2, d.hook[GR_LSM_MKNOD]);
	EXPECT_EQ(1, d.hook[GR_LSM_MKDIR]);
}

/*
 * S19: a task of one job signals and ptraces (pidfd_getfd: a ptrace access
 * check) the main process of another. Two jobs' pid namespaces are
 * siblings, so no job can name the other's tasks (and the kernel refuses a
 * pidfd across them); nor may a task ptrace into a sibling user namespace.
 * The stand-ins, each registered as a job of its own, run in the host's pid
 * namespace: the signal as nobody, the uid of the victim (a one-uid job, as
 * every job gridrun runs as root without a pool), where the uid does not
 * tell the jobs apart; the ptrace as root, whom the kernel lets ptrace
 * anything. Nothing but the LSM stops either.
 */
static const char kill_py[] =
	"import os, signal, sys\n"
	"try:\n"
	"    os.kill(int(sys.argv[1]), signal.SIGCONT); print('kill ok')\n"
	"except OSError as e:\n"
	"    print('kill', e.strerror)\n";
static const char getfd_py[] =
	"import ctypes, os, sys\n"
	"libc = ctypes.CDLL(None, use_errno=True)\n"
	"fd = libc.syscall(438, os.pidfd_open(int(sys.argv[1])), 1, 0)\n"   /* pidfd_getfd(pidfd, 1, 0) */
	"print('getfd', 'ok' if fd >= 0 else os.strerror(ctypes.get_errno()))\n";

TEST_F_TIMEOUT(lsm, S19_no_signal_or_ptrace_across_jobs_even_one_uid, 600)
{
	struct gr_lsm_denials d;
	pid_t pid, target;
	char arg[16];

	if (!loadable(_metadata, self))
		return;
	pid = start_victim(_metadata, self, "lsm.k1", &target);
	snprintf(arg, sizeof(arg), "%d", (int)target);
	standin(_metadata, false, kill_py, arg, GR_OVERFLOW_ID, "kill ok\n", &d);
	standin(_metadata, false, getfd_py, arg, -1, "getfd ok\n", &d);
	stop_victim(_metadata, pid);
	ASSERT_TRUE(load(_metadata, self));
	pid = start_victim(_metadata, self, "lsm.k2", &target);   /* registered now */
	snprintf(arg, sizeof(arg), "%d", (int)target);
	standin(_metadata, true, kill_py, arg, GR_OVERFLOW_ID, "kill Operation not permitted\n", &d);
	EXPECT_EQ(1, d.total);
	EXPECT_EQ(1, d.hook[GR_LSM_KILL]);
	standin(_metadata, true, getfd_py, arg, -1, "getfd Operation not permitted\n", &d);
	EXPECT_EQ(1, d.total);
	EXPECT_EQ(1, d.hook[GR_LSM_PTRACE]);
	/* the victim survived, and still runs */
	EXPECT_EQ(0, kill(target, 0));
	stop_victim(_metadata, pid);
}

/* R1: a supervisor killed before it unregistered leaves its job in the
 * maps. Namespace inode numbers are reused: the next job under the same
 * number (here: the same stand-in key) must start, and count from 0. */
TEST_F_TIMEOUT(lsm, a_dead_supervisors_registration_does_not_block_the_next_job, 600)
{
	const char *denied = "mount Operation not permitted\nmove_mount Operation not permitted\n"
			     "bpf Operation not permitted\n";
	struct gr_lsm_denials d;

	if (!load(_metadata, self))
		return;
	gt_mkdirs(gt_f("%s/mnt", self->dir), 0755, -1, -1);
	standin(_metadata, true, mount_py, gt_f("%s/mnt", self->dir), -1, denied, NULL);
	standin(_metadata, true, mount_py, gt_f("%s/mnt", self->dir), -1, denied, &d);
	EXPECT_TRUE(d.loaded);
	EXPECT_EQ(3, d.total);
}

/*
 * S33 (files): a job of the pool (one range: its uid 1000 is host uid FIRST + 1000)
 * writes its own places, then a world-writable host directory that the
 * pilot (the test) hands it as a file descriptor over an abstract unix
 * socket, Landlock off: only the LSM stands in the way of files with the
 * range's ids left on the host (gridrun already refuses read-write binds
 * with a lease). way: the sandbox hand-over.
 */
static const char place_py[] =
	"import os, socket, sys\n"
	"def t(name, f):\n"
	"    try:\n"
	"        f(); print(name, 'ok')\n"
	"    except OSError as e:\n"
	"        print(name, e.strerror)\n"
	"for name, d in (('sandbox', sys.argv[1]), ('tmp', '/tmp'), ('shm', '/dev/shm')):\n"
	"    t(name, lambda: open(d + '/f', 'w').close())\n"
	"s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect('\\0gr-lsm-fd-' + sys.argv[2])\n"
	"d = socket.recv_fds(s, 1, 1)[1][0]\n"
	"t('creat', lambda: os.close(os.open('f', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=d)))\n"
	"t('mkdir', lambda: os.mkdir('d', dir_fd=d))\n"
	"t('symlink', lambda: os.symlink('f', 'l', dir_fd=d))\n"
	"t('link', lambda: os.link('mine', 'h', src_dir_fd=d, dst_dir_fd=d))\n";

static json_t *place_job(struct __test_metadata *_metadata, struct _test_data_lsm *self, const char *way,
			 const char *base, const char *job_id, const char *want, long long *left)
{
	char *conf = gt_write(self->dir, "place.conf",
			      "[runtime]\nlease_dir = %s\nsandbox_handover = %s\n\n[pool atlas]\n"
			      "first_uid = %u\nranges = 1\naccounts = atlas001\nquarantine_seconds = 0\n",
			      self->leases, way, GT_FIRST);
	char *sbx, *pub, *rec, *text, *path, *argv[6];
	json_t *spec, *o;
	struct stat st;
	pid_t server;

	if (asprintf(&sbx, "%s/execute/%s", base, job_id) < 0 || asprintf(&pub, "%s/pub", self->dir) < 0 ||
	    asprintf(&rec, "%s/%s.json", self->dir, job_id) < 0)
		abort();
	spec = json_pack("{s:{s:[sssss],s:[s],s:{s:i,s:i}}, s:{s:s,s:s,s:s,s:s,s:s,s:b}}",
			 "process", "args", "/usr/bin/python3", "-c", place_py, sbx, gt_marker(),
			 "env", "PATH=/usr/bin:/bin", "user", "uid", 1000, "gid", 1000,
			 "gridrun", "pool", "atlas", "account", "atlas001", "job_id", job_id,
			 "sandbox", sbx, "accounting", rec, "landlock", 0);
	text = json_dumps(spec, 0);
	path = gt_write(self->dir, "place.json", "%s\n", text);
	gt_mkdirs(sbx, 0700, 65534, 65534);
	gt_mkdirs(pub, 01777, -1, -1);
	/* a file of the job's there, for link (protected_hardlinks) */
	free(gt_write(pub, "mine", "x\n"));
	EXPECT_EQ(0, chown(gt_f("%s/mine", pub), GT_FIRST + 1000, GT_FIRST + 1000));
	server = serve_dir(_metadata, pub);
	argv[0] = (char *)gt_gridrun();
	argv[1] = "run";
	argv[2] = "--config";
	argv[3] = conf;
	argv[4] = path;
	argv[5] = NULL;
	gt_result_free(&self->res);
	gt_run_argv(argv, -1, &self->res);
	EXPECT_EQ(0, self->res.status) TH_LOG("%s", self->res.err);
	EXPECT_STREQ(want, self->res.out) TH_LOG("%s", self->res.err);
	EXPECT_EQ(0, gt_wait(server, 30000));
	o = read_record(rec);
	EXPECT_NE(NULL, o) TH_LOG("no record");
	/* the owner of what the job left in the host directory, -1 nothing */
	*left = stat(gt_f("%s/f", pub), &st) == 0 ? (long long)st.st_uid : -1;
	gt_rm_rf(pub);
	free(sbx);
	free(pub);
	free(rec);
	free(path);
	free(text);
	free(conf);
	json_decref(spec);
	return o;
}

TEST_F_TIMEOUT(lsm, S33_no_inode_with_the_ranges_ids_outside_the_jobs_places, 600)
{
	static const char mine[] = "sandbox ok\ntmp ok\nshm ok\n";
	static const char all_ok[] = "creat ok\nmkdir ok\nsymlink ok\nlink ok\n";
	static const char refused[] = "creat Operation not permitted\nmkdir Operation not permitted\n"
				      "symlink Operation not permitted\nlink Operation not permitted\n";
	const char *ways[] = { "chown", "auto", "idmap" };
	char *want_ok, *want_no, *disk, dev[64];
	const char *img;
	int fd, loopfd;
	long long left;
	json_t *o, *d;

	ASSERT_LE(0, asprintf(&want_ok, "%s%s", mine, all_ok));
	ASSERT_LE(0, asprintf(&want_no, "%s%s", mine, refused));

	/* without the LSM: the range's files are left in the host directory */
	o = place_job(_metadata, self, "chown", self->dir, "lsm.pl0", want_ok, &left);
	EXPECT_EQ(GT_FIRST + 1000, left);
	EXPECT_TRUE(json_is_null(json_object_get(o, "lsm_denials")));
	json_decref(o);
	if (!load(_metadata, self))
		return;
	/* idmap: the sandbox on ext4, which 6.1 can idmap (the guest's /tmp cannot) */
	img = gt_f("%s/disk.img", self->dir);
	disk = strdup(gt_f("%s/disk", self->dir));
	fd = open(img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 64 << 20));
	close(fd);
	loopfd = gt_loop_attach(img, dev, sizeof(dev));
	ASSERT_LE(0, loopfd) TH_LOG("no loop device: %s", strerror(errno));
	ASSERT_EQ(0, system(gt_f("mkfs.ext4 -q -F %s >/dev/null 2>&1", dev)));
	gt_mkdirs(disk, 0755, -1, -1);
	ASSERT_EQ(0, mount(dev, disk, "ext4", MS_NOSUID | MS_NODEV, NULL)) TH_LOG("%s", strerror(errno));
	for (unsigned i = 0; i < 3; i++) {
		char id[16];

		snprintf(id, sizeof(id), "lsm.pl%u", i + 1);
		o = place_job(_metadata, self, ways[i], i == 2 ? disk : self->dir, id, want_no, &left);
		EXPECT_EQ(-1, left);
		d = json_object_get(o, "lsm_denials");
		EXPECT_EQ(1, gt_json_int(d, "path_mknod_outside")) TH_LOG("way %s", ways[i]);
		EXPECT_EQ(1, gt_json_int(d, "path_mkdir_outside"));
		EXPECT_EQ(1, gt_json_int(d, "path_symlink_outside"));
		EXPECT_EQ(1, gt_json_int(d, "path_link_outside"));
		EXPECT_EQ(4, json_object_size(d)) TH_LOG("no other denial");
		json_decref(o);
	}
	umount2(disk, MNT_DETACH);
	close(loopfd);
	free(disk);
	free(want_ok);
	free(want_no);
}

/*
 * Helper mode (gridrun-helper lsm-add, lsm-del): the pilot's job is
 * registered although the pilot cannot open the pins. Without the LSM the
 * pilot's V3/S33 (setns into its job's user namespace, setresuid to the
 * range's first id) and a kill from another job (a registered root
 * stand-in, which uids do not stop) work; with it both are refused, and
 * the job's record counts its own denial (the helper's lsm-del brought it);
 * the job still writes its sandbox (as handed over by the world's helper).
 * Where the kernel refuses BPF LSM programs: gridrun-lsm's refusal, and the
 * helper-mode job runs as before, its record saying the LSM was not loaded.
 */
static void helper_mode(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *lsm_bin, *argv[6], arg[16], *log, *wrap, *runs;
	struct gr_lsm_denials d;
	struct gt_result r = { 0 };
	pid_t pid, init, main_pid;
	json_t *o, *den;
	int st;

	ASSERT_LE(0, asprintf(&lsm_bin, "%s/gridrun-lsm", getenv("GRIDRUN_BUILD")));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	ASSERT_EQ(0, mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"));
	if (access("/sys/kernel/security/lsm", R_OK) < 0)
		(void)mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	setenv("GRIDRUN_LSM_PIN", "/sys/fs/bpf/gridrun", 1);
	free(pilot_env(w));
	/* the helper's runs, noted by a wrapper the pilot runs in its place */
	log = gt_write(w->dir, "runs.log", "%s", "");
	ASSERT_EQ(0, chown(log, PILOT, PILOT));
	wrap = gt_write(w->dir, "wrap.sh", "#!/bin/sh\necho \"$1\" >>%s\nexec %s \"$@\"\n", log, w->helper);
	ASSERT_EQ(0, chmod(wrap, 0755));
	setenv("GRIDRUN_HELPER", wrap, 1);
	argv[0] = lsm_bin;
	argv[1] = "--pin";
	argv[2] = "/sys/fs/bpf/gridrun";
	argv[4] = NULL;

	/* without the LSM */
	pid = start_pilot_job(_metadata, w, "lh1", &init, &main_pid);
	EXPECT_EQ(0, pilot_setns_setresuid(main_pid));
	snprintf(arg, sizeof(arg), "%d", (int)main_pid);
	standin(_metadata, false, kill_py, arg, -1, "kill ok\n", &d);
	o = stop_pilot_job(_metadata, w, pid, "lh1");
	EXPECT_TRUE(json_is_null(json_object_get(o, "lsm_denials")));
	json_decref(o);
	/* the pilot cannot see whether the LSM is loaded (/sys/fs/bpf is 0700):
	 * still no run of its own for it */
	runs = gt_read(log);
	EXPECT_STREQ("lease-map\nrelease\n", runs);
	free(runs);
	ASSERT_EQ(0, truncate(log, 0));

	argv[3] = "load";
	gt_run_argv(argv, -1, &r);
	st = r.status;
	if (st != 0) {
		EXPECT_EQ(1, st);
		EXPECT_NE(NULL, strstr(r.err, "gridrun-lsm: the kernel refuses BPF LSM programs")) TH_LOG("%s", r.err);
		gt_result_free(&r);
		free(lsm_bin);
		free(log);
		free(wrap);
		return;
	}
	gt_result_free(&r);
	pid = start_pilot_job(_metadata, w, "lh2", &init, &main_pid);
	EXPECT_EQ(EPERM, pilot_setns_setresuid(main_pid));
	snprintf(arg, sizeof(arg), "%d", (int)main_pid);
	standin(_metadata, true, kill_py, arg, -1, "kill Operation not permitted\n", &d);
	EXPECT_EQ(1, d.hook[GR_LSM_KILL]);
	EXPECT_EQ(0, kill(main_pid, 0));   /* the victim still runs */
	o = stop_pilot_job(_metadata, w, pid, "lh2");
	EXPECT_EQ(0, access(gt_f("%s/execute/lh2/up", w->dir), F_OK)) TH_LOG("the job could not write its sandbox");
	den = json_object_get(o, "lsm_denials");
	EXPECT_TRUE(json_is_object(den)) TH_LOG("lsm_denials is not an object");
	EXPECT_EQ(1, gt_json_int(den, "task_fix_setuid"));
	json_decref(o);
	/* lease-map registered the job and the release unregistered it, with
	 * its denials: no lsm-add or lsm-del run (ba421fb made four runs) */
	runs = gt_read(log);
	EXPECT_STREQ("lease-map\nrelease\n", runs);
	free(runs);
	/* the release removed the job: nothing of it is left in the map */
	{
		struct gr_error *err = NULL;

		EXPECT_EQ(0, gr_lsm_drop_range(FIRST, 65536, NULL, &err));
	}
	argv[3] = "unload";
	gt_run_argv(argv, -1, &r);
	EXPECT_EQ(0, r.status) TH_LOG("%s", r.err);
	gt_result_free(&r);
	free(lsm_bin);
	free(log);
	free(wrap);
}

TEST(S33_helper_mode_jobs_are_registered_by_the_helper_and_their_denials_recorded)
{
	in_world(_metadata, 2, helper_mode);
}

TEST_HARNESS_MAIN
