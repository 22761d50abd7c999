/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * landlock_test - the job's Landlock domain (runtime/landlock.h), against
 * the real gridrun binary.
 *
 * Each attack runs twice: with the layer (the default) it must fail, with
 * "gridrun.landlock": false (or the site's `landlock = off`) the same job
 * must succeed - so the mount tree and the job's ids alone would let it
 * through, and it is Landlock that stops it. The kernel's ABI is read here
 * with the raw syscall, not taken from gridrun. Where the kernel lacks a
 * piece (no Landlock, or ABI < 6 for scoping: the v2 guest's Debian 6.1 has
 * ABI 2), the test asserts gridrun's own "not available" report instead.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"

static int kernel_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, 1U << 0 /* _VERSION */);

	return v > 0 ? (int)v : -errno;
}

FIXTURE(ll) {
	char *dir, *state, *sbx, *rw;
	struct gt_result res;
};

FIXTURE_SETUP(ll)
{
	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	ASSERT_LE(0, asprintf(&self->sbx, "%s/sbx/job", self->dir));
	ASSERT_LE(0, asprintf(&self->rw, "%s/rw", self->dir));
	/* writable by whatever uid the job maps to: only Landlock says no */
	gt_mkdirs(self->sbx, 0777, -1, -1);
	gt_mkdirs(self->rw, 0777, -1, -1);
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
	setenv("GRIDRUN_DEBUG", "1", 1);
	memset(&self->res, 0, sizeof(self->res));
}

FIXTURE_TEARDOWN(ll)
{
	gt_result_free(&self->res);
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->state);
	free(self->sbx);
	free(self->rw);
}

/* A job running script with sh; the sandbox, an rw bind of self->rw at
 * /mnt (a directory of the read-only root, beneath no other writable
 * place), the probe; gridrun_extra goes into "gridrun". */
static char *ll_spec(const char *dir, const char *sbx, const char *rw, const char *script,
		     const char *gridrun_extra)
{
	static int n;
	json_t *spec = json_pack("{s:{s:[sss],s:[s,s],s:s}, s:[{s:s,s:s,s:[ss]},{s:s,s:s,s:[ss]}], s:{s:s}}",
				 "process", "args", "/bin/sh", "-c", script,
				 "env", "PATH=/usr/bin:/bin", "SBX=", "cwd", "/",
				 "mounts",
				 "destination", "/run/gr-probe", "source", gt_probe(), "options", "bind", "ro",
				 "destination", "/mnt", "source", rw, "options", "bind", "rw",
				 "gridrun", "sandbox", sbx);
	char name[64], *text, *path;

	/* SBX=<the sandbox> in the job's env */
	json_array_set_new(json_object_get(json_object_get(spec, "process"), "env"), 1,
			   json_sprintf("SBX=%s", sbx));
	if (gridrun_extra) {
		json_t *extra = json_loads(gridrun_extra, 0, NULL);

		json_object_update(json_object_get(spec, "gridrun"), extra);
		json_decref(extra);
	}
	text = json_dumps(spec, JSON_INDENT(2));
	snprintf(name, sizeof(name), "spec-%d.json", n++);
	path = gt_write(dir, name, "%s\n", text);
	free(text);
	json_decref(spec);
	return path;
}

static const char write_script[] =
	"w() { if (echo x > \"$2\") 2>/dev/null; then echo \"$1 ok\"; else echo \"$1 no\"; fi; }; "
	"w sandbox $SBX/f; w tmp /tmp/f; w vartmp /var/tmp/f; w run /run/f; w shm /dev/shm/f; "
	"w bind /mnt/f; w null /dev/null; w comm /proc/self/comm; "
	"mkdir $SBX/d && mv $SBX/f $SBX/d/f && echo rename ok; "
	"/run/gr-probe ipc-create gr-ll | grep mq";

static const char writes_allowed[] =
	"sandbox ok\ntmp ok\nvartmp ok\nrun ok\nshm ok\nbind ok\nnull ok\n";

static const char rest[] = "rename ok\nmq ok\n";

/* The job's own places stay writable (POSIX message queues too, which go
 * through the same hooks); /proc/self/comm - the job's own, so its ids may
 * write it, on a read-write procfs - is not one of them and is refused. */
TEST_F(ll, writes_only_to_the_jobs_places)
{
	int abi = kernel_abi();
	char *spec = ll_spec(self->dir, self->sbx, self->rw, write_script, NULL);
	char want[512], *sbx2, *rw2;

	gt_run_spec(spec, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	if (abi <= 0) {
		/* no Landlock here: said plainly, and the job runs without it */
		ASSERT_NE(NULL, strstr(self->res.err, "landlock: not available: ")) TH_LOG("%s", self->res.err);
		ASSERT_NE(NULL, strstr(self->res.out, "comm ok"));
		free(spec);
		return;
	}
	snprintf(want, sizeof(want), "%scomm no\n%s", writes_allowed, rest);
	EXPECT_STREQ(want, self->res.out) TH_LOG("stderr: %s", self->res.err);
	snprintf(want, sizeof(want), "landlock: ABI %d: writes only to", abi);
	EXPECT_NE(NULL, strstr(self->res.err, want)) TH_LOG("stderr: %s", self->res.err);
	free(spec);

	/* the same job without the layer, in fresh places: nothing else stops it */
	ASSERT_LE(0, asprintf(&sbx2, "%s/sbx/job2", self->dir));
	ASSERT_LE(0, asprintf(&rw2, "%s/rw2", self->dir));
	gt_mkdirs(sbx2, 0777, -1, -1);
	gt_mkdirs(rw2, 0777, -1, -1);
	spec = ll_spec(self->dir, sbx2, rw2, write_script, "{\"landlock\": false}");
	gt_result_free(&self->res);
	gt_run_spec(spec, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	snprintf(want, sizeof(want), "%scomm ok\n%s", writes_allowed, rest);
	EXPECT_STREQ(want, self->res.out);
	EXPECT_NE(NULL, strstr(self->res.err, "landlock: off (turned off by the site or the spec)"));
	free(spec);
	free(sbx2);
	free(rw2);
}

/* [runtime] landlock = off in the site configuration turns it off too. */
TEST_F(ll, site_setting_turns_it_off)
{
	char *spec = ll_spec(self->dir, self->sbx, self->rw,
			     "if (echo x >/proc/self/comm) 2>/dev/null; then echo writable; fi", NULL);
	char *conf = gt_write(self->dir, "gridrun.conf", "[runtime]\nlandlock = off\n");
	char *argv[] = { (char *)gt_gridrun(), "run", "--config", conf, spec, NULL };

	ASSERT_EQ(0, chmod(conf, 0644));
	gt_run_argv(argv, -1, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	EXPECT_STREQ("writable\n", self->res.out);
	EXPECT_NE(NULL, strstr(self->res.err, "landlock: off (turned off by the site or the spec)"))
		TH_LOG("stderr: %s", self->res.err);
	free(conf);
	free(spec);
}

/*
 * The job's stdio passes through; a shell reopens it by path
 * (`>/dev/stderr`, i.e. /proc/self/fd/2). A pilot's log outside the
 * sandbox must stay reachable that way: the layer allows that one inode.
 */
TEST_F(ll, stdio_file_outside_the_sandbox_can_be_reopened)
{
	char *spec = ll_spec(self->dir, self->sbx, self->rw, "echo via-path >/dev/stderr", NULL);
	char *log = gt_write(self->dir, "job.log", "%s", "");
	char *cmd, *text;
	char *argv[] = { "/bin/sh", "-c", NULL, NULL };

	unsetenv("GRIDRUN_DEBUG");
	ASSERT_EQ(0, chmod(log, 0666));
	ASSERT_LE(0, asprintf(&cmd, "exec %s run %s 2>>%s", gt_gridrun(), spec, log));
	argv[2] = cmd;
	gt_run_argv(argv, -1, &self->res);
	text = gt_read(log);
	ASSERT_NE(NULL, text);
	EXPECT_EQ(0, self->res.status) TH_LOG("log: %s", text);
	EXPECT_NE(NULL, strstr(text, "via-path\n")) TH_LOG("log: %s", text);
	free(text);
	free(cmd);
	free(log);
	free(spec);
}

/* A listener outside the job, on the host network the job shares. */
static int abstract_listener(const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "%s", name);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, 8) < 0)
		return -1;
	return fd;
}

static const char no_scoping[] = "abstract unix sockets and signals not scoped: not available "
				 "(needs ABI 6, Linux 6.12)";

/*
 * A scoping attack: with the layer, on ABI 6+, the job prints scoped; below
 * ABI 6 it prints open and gridrun says why; without the layer it prints
 * open on every kernel.
 */
static void scope_attack(struct __test_metadata *_metadata, FIXTURE_DATA(ll) *self,
			 const char *script, const char *scoped, const char *open)
{
	int abi = kernel_abi();
	char *spec = ll_spec(self->dir, self->sbx, self->rw, script, NULL);

	gt_run_spec(spec, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	if (abi >= 6) {
		EXPECT_STREQ(scoped, self->res.out);
	} else {
		/* the hole stays open here, and gridrun says so */
		EXPECT_STREQ(open, self->res.out);
		EXPECT_NE(NULL, strstr(self->res.err, abi > 0 ? no_scoping : "landlock: not available: "))
			TH_LOG("stderr: %s", self->res.err);
	}
	free(spec);

	spec = ll_spec(self->dir, self->sbx, self->rw, script, "{\"landlock\": false}");
	gt_result_free(&self->res);
	gt_run_spec(spec, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	EXPECT_STREQ(open, self->res.out);
	free(spec);
}

TEST_F(ll, abstract_unix_socket_outside_the_job_is_refused)
{
	char name[64], script[128];
	int fd;

	snprintf(name, sizeof(name), "gridrun-ll-%d", (int)getpid());
	fd = abstract_listener(name);
	ASSERT_LE(0, fd);
	snprintf(script, sizeof(script), "/run/gr-probe abstract-connect %s", name);
	scope_attack(_metadata, self, script, "connect EPERM\n", "connect ok\n");
	close(fd);
}

/* The job's init is outside the job's domain (gridrun's, not the job's):
 * the job cannot signal it; its own processes it can. */
TEST_F(ll, signal_outside_the_job_is_refused)
{
	scope_attack(_metadata, self,
		     "if kill -0 1 2>/dev/null; then echo init ok; else echo init no; fi; "
		     "sleep 5 & if kill -TERM $! 2>/dev/null; then echo own ok; fi",
		     "init no\nown ok\n", "init ok\nown ok\n");
}

TEST_HARNESS_MAIN
