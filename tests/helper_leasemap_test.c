// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * helper_leasemap_test - gridrun-helper's lease-map (runtime/helper/helper.h):
 * the lease and the maps of the caller's child in one run, attacked from an
 * unprivileged pilot uid. Every refusal of map (the target) and of lease
 * (the sandbox, the request) is a refusal of lease-map too, before anything
 * is leased (S18); the maps are the new lease exactly and its first write
 * notes the target's user namespace; a failure after the lease gives it back;
 * and gridrun run in helper mode runs the helper twice a job (lease-map,
 * release), not three times (issue 13).
 *
 * Each test runs in a small world (tests/lib/gt-world.h), as helper_test.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"
#include "gt-helper.h"
#include "helper.h"

#define USAGE_LINE "(usage: gridrun-helper lease POOL JOB_ID [UID GID] | map POOL INDEX PID | " \
	"lease-map POOL JOB_ID PID [UID GID] | release POOL INDEX [sandbox] | gc POOL | " \
	"lsm-add POOL INDEX PID | lsm-del POOL INDEX)\n"

/* the helper with fd 3 = fd3 and fd 4 = fd4 */
#define EXPECT_HELPER4(w, fd3, fd4, want_status, want_err, ...) do { \
		const char *_a[] = { __VA_ARGS__, NULL }; \
		struct hres _r; \
		helper_fds(w, _a, fd3, fd4, &_r); \
		EXPECT_EQ(want_status, _r.status) TH_LOG("stderr: %s", _r.err); \
		EXPECT_STREQ(want_err, _r.err); \
	} while (0)

static const char *pid_s(pid_t pid)
{
	return gt_f("%d", (int)pid);
}

/* pool atlas holds neither a lease nor a quarantine */
static void expect_nothing_leased(struct __test_metadata *_metadata, const struct gt_world *w)
{
	for (unsigned i = 0; i < w->ranges; i++) {
		char *l, *q;

		ASSERT_LE(0, asprintf(&l, "%s/atlas/%u.lease", w->leases, i));
		ASSERT_LE(0, asprintf(&q, "%s/atlas/%u.quarantine", w->leases, i));
		EXPECT_EQ(-1, access(l, F_OK)) TH_LOG("%s", l);
		EXPECT_EQ(-1, access(q, F_OK)) TH_LOG("%s", q);
		free(l);
		free(q);
	}
}

/* ---- S18: every refusal of map and lease, before anything is leased ---- */

static void refusals_as_pilot(struct __test_metadata *_metadata, const struct gt_world *w, const char *sbx)
{
	int tfd, t2fd, t3fd, afd, init_fd, null_fd, root_fd, sbx_fd;
	pid_t t1, t2, t3, a;
	char *t;

	become(PILOT);
	t1 = gt_target(&tfd, true, -1);
	t2 = gt_target(&t2fd, true, -1);
	t3 = gt_target(&t3fd, false, -1);
	a = gt_target(&afd, true, -1);
	ASSERT_LE(0, tfd);
	/* the request */
	EXPECT_HELPER(w, tfd, 64, "gridrun-helper: lease-map takes 3 or 5 arguments, not 2 " USAGE_LINE,
		      "lease-map", "atlas", "j");
	EXPECT_HELPER(w, tfd, 64, "gridrun-helper: lease-map takes 3 or 5 arguments, not 4 " USAGE_LINE,
		      "lease-map", "atlas", "j", pid_s(t1), "0");
	EXPECT_HELPER(w, tfd, 64, "gridrun-helper: JOB_ID: `.j` is not a job id\n", "lease-map", "atlas", ".j",
		      pid_s(t1));
	EXPECT_HELPER(w, tfd, 64, "gridrun-helper: PID: `0` is not a pid (1-4194304)\n", "lease-map", "atlas",
		      "j", "0");
	EXPECT_HELPER(w, tfd, 64, "gridrun-helper: PID: `+5` is not a pid (1-4194304)\n", "lease-map", "atlas",
		      "j", "+5");
	EXPECT_HELPER(w, tfd, 64, "gridrun-helper: PID: `4294967297` is not a pid (1-4194304)\n", "lease-map",
		      "atlas", "j", "4294967297");
	EXPECT_HELPER(w, tfd, 64, "gridrun-helper: GID: `-1` is not an id inside the range\n", "lease-map",
		      "atlas", "j", pid_s(t1), "0", "-1");
	EXPECT_HELPER(w, tfd, 77, "gridrun-helper: gridrun.pool: no pool `cms` in `/etc/gridrun/gridrun.conf`\n",
		      "lease-map", "cms", "j", pid_s(t1));
	/* the target, as map checks it */
	EXPECT_HELPER(w, -1, 64, "gridrun-helper: fd 3: no pidfd of the target\n", "lease-map", "atlas", "j",
		      pid_s(t1));
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	EXPECT_HELPER(w, null_fd, 64, "gridrun-helper: fd 3 is not a pidfd\n", "lease-map", "atlas", "j",
		      pid_s(t1));
	EXPECT_HELPER(w, tfd, 77, gt_f("gridrun-helper: fd 3 is the pidfd of pid %d, not of pid %d\n", (int)t1,
				       (int)t2), "lease-map", "atlas", "j", pid_s(t2));
	init_fd = (int)syscall(SYS_pidfd_open, 1, 0);
	ASSERT_LE(0, init_fd);
	EXPECT_HELPER(w, init_fd, 77, "gridrun-helper: pid 1 is not the caller's child\n", "lease-map", "atlas",
		      "j", "1");
	EXPECT_HELPER(w, t3fd, 77, gt_f("gridrun-helper: pid %d is not in a user namespace of its own\n", (int)t3),
		      "lease-map", "atlas", "j", pid_s(t3));
	/* a pidfd whose process is gone (its pid may be anyone's next) */
	reap(a);
	EXPECT_HELPER(w, afd, 77, "gridrun-helper: the process of fd 3 is gone\n", "lease-map", "atlas", "j",
		      pid_s(a));
	/* the sandbox, as lease checks it, on fd 4 */
	EXPECT_HELPER4(w, tfd, -1, 64, "gridrun-helper: fd 4: no sandbox directory\n", "lease-map", "atlas", "j",
		       pid_s(t1), "0", "0");
	root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	EXPECT_HELPER4(w, tfd, root_fd, 77, "gridrun-helper: the sandbox (fd 4) is owned by uid 0, not by the "
		       "caller\n", "lease-map", "atlas", "j", pid_s(t1), "0", "0");
	/* the caller's own sandbox, but a target that is no child of the caller */
	sbx_fd = open(sbx, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, sbx_fd);
	EXPECT_HELPER4(w, init_fd, sbx_fd, 77, "gridrun-helper: pid 1 is not the caller's child\n", "lease-map",
		       "atlas", "j", "1", "0", "0");
	/* none of them wrote a map */
	t = proc_file(t1, "uid_map");
	EXPECT_STREQ("", t);
	free(t);
	t = proc_file(t2, "uid_map");
	EXPECT_STREQ("", t);
	free(t);
	reap(t1);
	reap(t2);
	reap(t3);
	_exit(_metadata->passed ? 0 : 1);
}

static void refusals(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *sbx;
	pid_t pid;

	ASSERT_LE(0, asprintf(&sbx, "%s/execute/refused", w->dir));
	gt_mkdirs(sbx, 0700, PILOT, PILOT);
	pid = fork();
	if (pid == 0)
		refusals_as_pilot(_metadata, w, sbx);
	EXPECT_EQ(0, gt_wait(pid, 60000));
	/* an account the pool does not allow */
	pid = fork();
	if (pid == 0) {
		int tfd;
		pid_t t;

		become(OTHER);
		t = gt_target(&tfd, true, -1);
		EXPECT_HELPER(w, tfd, 77, "gridrun-helper: pool atlas: account `cms001` may not lease from it "
			      "(accounts: atlas001)\n", "lease-map", "atlas", "j", pid_s(t));
		reap(t);
		_exit(_metadata->passed ? 0 : 1);
	}
	EXPECT_EQ(0, gt_wait(pid, 60000));
	expect_nothing_leased(_metadata, w);
	free(sbx);
}

TEST(S18_lease_map_is_refused_as_map_and_lease_are_and_leases_nothing)
{
	in_world(_metadata, 4, refusals);
}

/* ---- the lease, its maps, its noted namespace ---- */

static bool one_extent_is(pid_t pid, const char *name, unsigned first)
{
	char *t = proc_file(pid, name);
	bool ok = t && !strcmp(t, gt_f("%10u %10u %10u\n", 0u, first, 65536u));

	free(t);
	return ok;
}

static void maps_as_pilot(struct __test_metadata *_metadata, const struct gt_world *w, const char *sbx)
{
	const char *a1[] = { "lease-map", "atlas", "job-a", NULL, NULL };
	const char *a2[] = { "lease-map", "atlas", "job-b", NULL, "0", "0", NULL };
	int tfd, t2fd, t3fd, sbx_fd;
	pid_t t1, t2, t3;
	const char *want;
	struct hres r;
	char *t;

	become(PILOT);
	t1 = gt_target(&tfd, true, -1);
	a1[3] = pid_s(t1);
	helper(w, a1, tfd, &r);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	EXPECT_STREQ(gt_f("0 %u 65536\n", FIRST), r.out);
	EXPECT_TRUE(one_extent_is(t1, "uid_map", FIRST));
	EXPECT_TRUE(one_extent_is(t1, "gid_map", FIRST));
	t = proc_file(t1, "setgroups");
	EXPECT_STREQ("allow\n", t);
	free(t);
	/* the lease's first write noted t1's namespace: a lease maps one, so
	 * map refuses another child of the caller onto it */
	t2 = gt_target(&t2fd, true, -1);
	if (gt_nsfs_handles()) {
		EXPECT_HELPER(w, t2fd, 77, "gridrun-helper: pool atlas: range 0 is mapped already (a lease maps "
			      "one user namespace)\n", "map", "atlas", "0", pid_s(t2));
		t = proc_file(t2, "uid_map");
		EXPECT_STREQ("", t);
		free(t);
	}
	/* with the sandbox on fd 4, handed over to the next range */
	t3 = gt_target(&t3fd, true, -1);
	sbx_fd = open(sbx, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, sbx_fd);
	a2[3] = pid_s(t3);
	helper_fds(w, a2, t3fd, sbx_fd, &r);
	ASSERT_EQ(0, r.status) TH_LOG("%s", r.err);
	want = gt_idmap_expected(sbx) ? gt_f("1 %u 65536 idmap\n", FIRST + 65536) :
					gt_f("1 %u 65536 chown ", FIRST + 65536);
	EXPECT_EQ(0, strncmp(r.out, want, strlen(want))) TH_LOG("%s", r.out);
	EXPECT_TRUE(one_extent_is(t3, "uid_map", FIRST + 65536));
	/* both are the caller's leases, released as any */
	EXPECT_HELPER(w, -1, 0, "", "release", "atlas", "0");
	EXPECT_HELPER(w, -1, 0, "", "release", "atlas", "1");
	reap(t1);
	reap(t2);
	reap(t3);
	_exit(_metadata->passed ? 0 : 1);
}

static void maps(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *sbx, *path, *text;
	pid_t pid;

	ASSERT_LE(0, asprintf(&sbx, "%s/execute/lm", w->dir));
	gt_mkdirs(sbx, 0700, PILOT, PILOT);
	pid = fork();
	if (pid == 0)
		maps_as_pilot(_metadata, w, sbx);
	EXPECT_EQ(0, gt_wait(pid, 60000));
	/* the quarantine keeps the namespace noted at the lease's first write */
	ASSERT_LE(0, asprintf(&path, "%s/atlas/0.quarantine", w->leases));
	text = gt_read(path);
	ASSERT_NE(NULL, text);
	if (gt_nsfs_handles())
		EXPECT_NE(NULL, strstr(text, "\"userns\":\"")) TH_LOG("%s", text);
	free(text);
	free(path);
	free(sbx);
}

TEST(lease_map_maps_the_new_lease_exactly_and_notes_the_namespace_first)
{
	/* the kernel answers for a namespace's handle only in the host's PID namespace */
	in_world_env(_metadata, 4, maps, "GT_WORLD_HOST_PID", "1");
	in_world(_metadata, 4, maps);
}

TEST(lease_map_maps_the_new_lease_exactly_with_file_capabilities)
{
	in_world_as(_metadata, 4, maps, true);
}

/* ---- a failure after the lease gives it back ---- */

static void map_fails_as_pilot(struct __test_metadata *_metadata, const struct gt_world *w)
{
	const char *a[] = { "lease-map", "atlas", "job-f", NULL, NULL };
	char *path;
	struct hres r;
	int tfd, fd;
	pid_t t;

	become(PILOT);
	/* every check of the target passes, but the pilot has mapped its
	 * child itself (its own uid), so the helper's write fails after the
	 * lease was taken */
	t = gt_target(&tfd, true, -1);
	ASSERT_LE(0, asprintf(&path, "/proc/%d/uid_map", (int)t));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, dprintf(fd, "0 %d 1\n", PILOT));
	close(fd);
	a[3] = pid_s(t);
	helper(w, a, tfd, &r);
	EXPECT_EQ(71, r.status) TH_LOG("%s", r.err);
	EXPECT_EQ(0, strncmp(r.err, "gridrun-helper: ", 16)) TH_LOG("%s", r.err);
	EXPECT_EQ(r.err + strlen(r.err) - 1, strchr(r.err, '\n')) TH_LOG("%s", r.err);
	EXPECT_STREQ("", r.out);
	reap(t);
	free(path);
	_exit(_metadata->passed ? 0 : 1);
}

static void map_fails(struct __test_metadata *_metadata, const struct gt_world *w)
{
	char *path;
	pid_t pid = fork();

	if (pid == 0)
		map_fails_as_pilot(_metadata, w);
	EXPECT_EQ(0, gt_wait(pid, 60000));
	/* no lease is left: it went to quarantine, as a release would */
	ASSERT_LE(0, asprintf(&path, "%s/atlas/0.lease", w->leases));
	EXPECT_EQ(-1, access(path, F_OK));
	free(path);
	ASSERT_LE(0, asprintf(&path, "%s/atlas/0.quarantine", w->leases));
	EXPECT_EQ(0, access(path, F_OK));
	free(path);
}

TEST(lease_map_that_fails_after_the_lease_leaves_no_lease)
{
	in_world(_metadata, 2, map_fails);
}

/* ---- gridrun run: two helper runs a job ---- */

/* bpf: a bpf filesystem of the world's own on /sys/fs/bpf, mode 0700 as
 * systemd mounts it, with no LSM pinned: the pilot cannot see whether the
 * LSM is loaded. lease-map registers and release unregisters where it is,
 * so this costs no helper run either (an lsm-add run did, before). */
static void runs_of_a_job(struct __test_metadata *_metadata, const struct gt_world *w, bool bpf)
{
	char *state = pilot_env(w), *spec, *wrap, *log, *runs;
	char *argv[] = { (char *)gt_gridrun(), "run", NULL, NULL };
	struct gt_result res = { 0 };

	/* a wrapper the pilot runs in place of the helper: it notes the request
	 * and execs the privileged copy (same pid: the caller is unchanged) */
	log = gt_write(w->dir, "runs.log", "%s", "");
	ASSERT_EQ(0, chown(log, PILOT, PILOT));
	wrap = gt_write(w->dir, "wrap.sh", "#!/bin/sh\necho \"$1\" >>%s\nexec %s \"$@\"\n", log, w->helper);
	ASSERT_EQ(0, chmod(wrap, 0755));
	setenv("GRIDRUN_HELPER", wrap, 1);
	if (bpf) {
		ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
		ASSERT_EQ(0, mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"));
	}
	spec = pilot_spec(w, "two", "cat /proc/self/uid_map | tr -s ' '; touch $SBX/mine");
	argv[2] = spec;
	gt_run_argv(argv, PILOT, &res);
	ASSERT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ(gt_f(" 0 %u 65536\n", FIRST), res.out);
	runs = gt_read(log);
	ASSERT_NE(NULL, runs);
	EXPECT_STREQ("lease-map\nrelease\n", runs);
	gt_result_free(&res);
	free(runs);
	free(spec);
	free(wrap);
	free(log);
	free(state);
}

static void two_runs(struct __test_metadata *_metadata, const struct gt_world *w)
{
	runs_of_a_job(_metadata, w, false);
}

TEST(helper_mode_job_runs_the_helper_twice_lease_map_and_release)
{
	in_world(_metadata, 2, two_runs);
}

/* Fails on ba421fb: lease-map, lsm-add, release. */
static void two_runs_bpf(struct __test_metadata *_metadata, const struct gt_world *w)
{
	runs_of_a_job(_metadata, w, true);
}

TEST(helper_mode_job_runs_the_helper_twice_where_the_pilot_cannot_see_the_lsm_pins)
{
	in_world(_metadata, 2, two_runs_bpf);
}

TEST_HARNESS_MAIN
