/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * io_test - linux.resources.blockIO and gridrun.optional_limits, through the
 * job's cgroup, on this host's cgroup v1 and in the cgroup v2 guest alike.
 *
 * Each test makes its own block device: a loop device (autoclear) over a
 * sparse file in its scratch directory, with ext4 on it, mounted in a mount
 * namespace of the test's own, so nothing of it outlives the test even if
 * it crashes; the teardown unmounts and detaches it anyway. The host's real
 * disks are never touched: the only scheduler ever changed is the loop
 * device's. The jobs do O_DIRECT I/O (gr-probe dio), so every byte is a bio
 * on that device, where the throttle and the io counters see it.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/loop.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"

#define MIB (1LL << 20)
/* the throttle the tests set: low enough for any loop device to beat it
 * by far, even under the guest's software emulation (whose loop device
 * wrote at 4.3 to 6 MiB/s on some CI runs) */
#define RATE (1 * MIB)
#define DIO_MIB 4

FIXTURE(io) {
	char *dir, *state, *img, *mnt, *sbx, *rec;
	char dev[32];
	unsigned major, minor;
	int loopfd;
	struct gt_result res;
	json_t *record;
};

static char *sched_path(struct _test_data_io *self)
{
	static char p[96];

	snprintf(p, sizeof(p), "/sys/block/%s/queue/scheduler", self->dev + 5);
	return p;
}

static int set_scheduler(struct _test_data_io *self, const char *sched)
{
	int fd = open(sched_path(self), O_WRONLY | O_CLOEXEC);
	int r = fd >= 0 && write(fd, sched, strlen(sched)) == (ssize_t)strlen(sched) ? 0 : -errno;

	if (fd >= 0)
		close(fd);
	return r;
}

FIXTURE_SETUP(io)
{
	char cmd[256];
	struct stat st;
	int fd;

	self->dir = gt_tmpdir();
	self->loopfd = -1;
	self->record = NULL;
	memset(&self->res, 0, sizeof(self->res));
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	ASSERT_LE(0, asprintf(&self->img, "%s/disk.img", self->dir));
	ASSERT_LE(0, asprintf(&self->mnt, "%s/disk", self->dir));
	ASSERT_LE(0, asprintf(&self->sbx, "%s/disk/execute/dir_1", self->dir));
	ASSERT_LE(0, asprintf(&self->rec, "%s/record.json", self->dir));
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
	/* the mount goes away with this test's mount namespace */
	ASSERT_EQ(0, unshare(CLONE_NEWNS));
	ASSERT_EQ(0, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	fd = open(self->img, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 96 * MIB));
	close(fd);
	self->loopfd = gt_loop_attach(self->img, self->dev, sizeof(self->dev));
	ASSERT_LE(0, self->loopfd) TH_LOG("no loop device: %s", strerror(errno));
	ASSERT_EQ(0, stat(self->dev, &st));
	self->major = major(st.st_rdev);
	self->minor = minor(st.st_rdev);
	/* no journal: jbd2's own writes would blur what the job wrote */
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F -O ^has_journal %s >/dev/null 2>&1", self->dev);
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(0, mkdir(self->mnt, 0755));
	ASSERT_EQ(0, mount(self->dev, self->mnt, "ext4", MS_NOSUID | MS_NODEV, NULL)) TH_LOG("%s", strerror(errno));
	gt_mkdirs(self->sbx, 0700, 65534, 65534);
}

FIXTURE_TEARDOWN(io)
{
	gt_result_free(&self->res);
	json_decref(self->record);
	if (self->loopfd >= 0) {
		/* the loop device goes back to the kernel's default for it */
		set_scheduler(self, "none");
		umount2(self->mnt, MNT_DETACH);
		ioctl(self->loopfd, LOOP_CLR_FD);
		close(self->loopfd);
	}
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->state);
	free(self->img);
	free(self->mnt);
	free(self->sbx);
	free(self->rec);
}


/* Some block device of the node uses BFQ. */
static bool bfq_in_use(void)
{
	FILE *p = popen("cat /sys/block/*/queue/scheduler 2>/dev/null | grep -c '\\[bfq\\]'", "r");
	int n = 0;

	if (!p || fscanf(p, "%d", &n) != 1)
		n = 0;
	if (p)
		pclose(p);
	return n > 0;
}

/* Run ARGS with BLKIO (the blockIO object's members) and GRIDRUN_EXTRA. */
static void run_io(struct _test_data_io *self, const char *job_id, const char *args, const char *blkio,
		   const char *gridrun_extra)
{
	char *res = NULL;

	if (blkio && asprintf(&res, "{\"blockIO\": {%s}}", blkio) < 0)
		abort();
	json_decref(self->record);
	self->record = gt_run_job(self->dir, self->sbx, self->rec, job_id, args, res, gridrun_extra, &self->res);
	free(res);
}

static long long rec_int(struct _test_data_io *self, const char *key)
{
	return gt_json_int(self->record, key);
}

/* gr-probe dio's figures: bytes moved per second. */
static double dio_rate(const char *out)
{
	const char *b = strstr(out ? out : "", "bytes "), *s = strstr(out ? out : "", "seconds ");

	return b && s && atof(s + 8) > 0 ? atof(b + 6) / atof(s + 8) : -1;
}

static char *dio_args(struct _test_data_io *self, const char *op)
{
	char *a;

	if (asprintf(&a, "[\"/run/gr-probe\", \"dio\", \"%s\", \"%s/data\", \"%d\"]", op, self->sbx, DIO_MIB) < 0)
		abort();
	return a;
}

static char *throttle(struct _test_data_io *self, const char *list, long long rate)
{
	char *t;

	if (asprintf(&t, "\"%s\": [{\"major\": %u, \"minor\": %u, \"rate\": %lld}]", list, self->major,
		     self->minor, rate) < 0)
		abort();
	return t;
}

/*
 * OP ("read" or "write") DIO_MIB MiB with O_DIRECT, once free and once with
 * LIST throttled to RATE: the throttle, not the device, sets the pace, and
 * each record holds the bytes the job moved and little else (reads: a bit
 * more for the probe's own start, which is not on the loop device).
 */
static void check_throttle(struct __test_metadata *_metadata, struct _test_data_io *self, const char *op,
			   const char *list)
{
	bool rd = !strcmp(op, "read");
	const char *mine = rd ? "io_read_bytes" : "io_write_bytes", *other = rd ? "io_write_bytes" : "io_read_bytes";
	char *args = dio_args(self, op), *wargs = dio_args(self, "write"), *t = throttle(self, list, RATE), job[32];
	double rate[2];

	if (rd) {
		run_io(self, "io-prep", wargs, NULL, NULL);
		ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s out: %s", self->res.err, self->res.out);
	}
	/* throttled first: on v1 since Linux 6.10 blk-throttle counts a device's
	 * bytes only once a throttle was set on it (blk_should_throtl(): no
	 * counting before the device's first rule), and this loop device is new
	 * (README: the record's io_* on v1) */
	for (int i = 1; i >= 0; i--) {
		snprintf(job, sizeof(job), "io-%s-%s", op, i ? "bps" : "free");
		run_io(self, job, args, i ? t : NULL, NULL);
		ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s out: %s", self->res.err, self->res.out);
		rate[i] = dio_rate(self->res.out);
		ASSERT_NE(NULL, self->record);
		EXPECT_LE(DIO_MIB * MIB, rec_int(self, mine));
		EXPECT_GE(DIO_MIB * MIB + (rd ? 2 : 1) * MIB, rec_int(self, mine));
		EXPECT_GE(MIB, rec_int(self, other));
		EXPECT_EQ(0, gt_cgroup_dirs(job));
	}
	TH_LOG("%s: unthrottled %.2f MiB/s; throttled to %.2f MiB/s: achieved %.3f MiB/s (%.1f%%)",
	       op, rate[0] / MIB, (double)RATE / MIB, rate[1] / MIB, 100 * rate[1] / RATE);
	/* the device alone is well above the limit, so that the throttle is
	 * what sets the pace below: twice it at least (the v2 guest's emulated
	 * loop device writes at 4.3 to 6 MiB/s on some runs, hundreds on the
	 * host) */
	ASSERT_LT(2.0 * RATE, rate[0]);
	/* the limit holds; and it is the limit asked for, not one off by a unit
	 * (a busy emulated guest may fall well below it, never above) */
	ASSERT_GT(1.10 * RATE, rate[1]);
	ASSERT_LT(0.30 * RATE, rate[1]);
	free(args);
	free(wargs);
	free(t);
}

TEST_F_TIMEOUT(io, write_bps_throttle_limits_throughput_and_the_record_counts_the_bytes, 180)
{
	check_throttle(_metadata, self, "write", "throttleWriteBpsDevice");
}

TEST_F_TIMEOUT(io, read_bps_throttle_limits_throughput_and_the_record_counts_the_bytes, 180)
{
	check_throttle(_metadata, self, "read", "throttleReadBpsDevice");
}

/* The job prints its own cgroup's weight files: the root of its view of
 * each hierarchy (a cgroup namespace, read-only; H4). */
#define SHOW_WEIGHTS \
	"[\"/bin/sh\", \"-c\", \"for d in /sys/fs/cgroup /sys/fs/cgroup/*; do " \
	"for f in io.bfq.weight blkio.bfq.weight blkio.bfq.weight_device; do " \
	"[ -e $d/$f ] && { echo $f; cat $d/$f; }; done; done; exit 0\"]"

/*
 * Whether this kernel has BFQ at all: writing "bfq" to the loop device's
 * scheduler loads the module if BFQ is modular (elevator_get()), so EINVAL
 * with no "bfq" among the offered schedulers means BFQ is not built (as on
 * this host's kernel: # CONFIG_IOSCHED_BFQ is not set). 1: BFQ set on the
 * loop device; 0: no BFQ here; -errno: the probe itself failed.
 */
static int loop_to_bfq(struct _test_data_io *self)
{
	int r = set_scheduler(self, "bfq");
	char *offered;

	if (r != -EINVAL)
		return r < 0 ? r : 1;
	offered = gt_read(sched_path(self));
	r = offered && !strstr(offered, "bfq") ? 0 : -EINVAL;
	free(offered);
	return r;
}

/* Where the kernel has no BFQ, no device can weigh I/O: gridrun refuses
 * each weight in one line naming it (cgroups/cg-limits.c), leaves nothing
 * behind, and `gridrun check` says so beforehand (runtime/check.c). */
static void check_weights_refused(struct __test_metadata *_metadata, struct _test_data_io *self)
{
	/* the cgroup-wide weight is checked against the schedulers in use; a
	 * device's weight is refused by the kernel (no BFQ file) */
	static const struct { const char *job, *field, *why; } cases[] = {
		{ "io-weight", "blockIO.weight", "no block device here uses the BFQ IO scheduler" },
		{ "io-weight-dev", "blockIO.weightDevice", "does not exist" },
	};
	char *argv[] = { (char *)gt_gridrun(), "check", NULL }, *blkio[2], want[256], hint[128];
	struct gt_result chk = { 0 };
	const char *row;

	ASSERT_LE(0, asprintf(&blkio[0], "\"weight\": 500"));
	ASSERT_LE(0, asprintf(&blkio[1], "\"weightDevice\": [{\"major\": %u, \"minor\": %u, \"weight\": 300}]",
			      self->major, self->minor));
	for (size_t i = 0; i < 2; i++) {
		run_io(self, cases[i].job, SHOW_WEIGHTS, blkio[i], NULL);
		TH_LOG("no BFQ in this kernel: %s", self->res.err);
		ASSERT_EQ(125, self->res.status) TH_LOG("stderr: %s out: %s", self->res.err, self->res.out);
		snprintf(want, sizeof(want), ": linux.resources.%s: this node cannot enforce it: ", cases[i].field);
		snprintf(hint, sizeof(hint), "(list \"%s\" in gridrun.optional_limits to run without it)\n",
			 cases[i].field);
		ASSERT_NE(NULL, strstr(self->res.err, want)) TH_LOG("want %s\nstderr: %s", want, self->res.err);
		ASSERT_NE(NULL, strstr(strstr(self->res.err, want), cases[i].why)) TH_LOG("stderr: %s", self->res.err);
		ASSERT_NE(NULL, strstr(self->res.err, hint)) TH_LOG("stderr: %s", self->res.err);
		/* one line; the job never ran */
		EXPECT_EQ(strlen(self->res.err) - 1, (size_t)(strchr(self->res.err, '\n') - self->res.err));
		EXPECT_EQ(NULL, strstr(self->res.out, "weight"));
		EXPECT_EQ(0, gt_cgroup_dirs(cases[i].job));
		EXPECT_EQ(0, gt_count_dir(self->state));
		ASSERT_NE(NULL, self->record);
		EXPECT_STREQ("setup_error", json_string_value(json_object_get(self->record, "reason")));
		free(blkio[i]);
	}
	/* and `gridrun check` told the admin beforehand */
	gt_run_argv(argv, -1, &chk);
	row = strstr(chk.out ? chk.out : "", "CONFIG_BFQ_GROUP_IOSCHED ");
	ASSERT_NE(NULL, row) TH_LOG("check: %s", chk.out);
	EXPECT_NE(0, strncmp(row + strcspn(row, " ") + strspn(row + strcspn(row, " "), " "), "present", 7))
		TH_LOG("check: %.120s", row);
	EXPECT_NE(NULL, strstr(row, "specs with blockIO weights fail unless optional\n")) TH_LOG("check: %.120s", row);
	gt_result_free(&chk);
}

TEST_F_TIMEOUT(io, weights_are_applied_where_the_device_uses_bfq, 180)
{
	char *blkio, want[64];
	int bfq = loop_to_bfq(self);

	ASSERT_LE(0, bfq) TH_LOG("%s: %s", sched_path(self), strerror(-bfq));
	if (!bfq) {
		check_weights_refused(_metadata, self);
		return;
	}
	ASSERT_LE(0, asprintf(&blkio, "\"weight\": 500, \"weightDevice\": [{\"major\": %u, \"minor\": %u, \"weight\": 300}]",
			      self->major, self->minor));
	run_io(self, "io-weight", SHOW_WEIGHTS, blkio, NULL);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	TH_LOG("the job's weight files:\n%s", self->res.out);
	snprintf(want, sizeof(want), "\n%u:%u 300\n", self->major, self->minor);
	/* v2: io.bfq.weight "default 500" + device lines; v1: blkio.bfq.weight
	 * "500" and blkio.bfq.weight_device */
	ASSERT_TRUE(strstr(self->res.out, "io.bfq.weight\ndefault 500\n") ||
		    strstr(self->res.out, "blkio.bfq.weight\n500\n")) TH_LOG("out: %s", self->res.out);
	ASSERT_NE(NULL, strstr(self->res.out, want)) TH_LOG("out: %s", self->res.out);
	EXPECT_EQ(NULL, strstr(self->res.err, "not applied"));
	free(blkio);
}

TEST_F_TIMEOUT(io, all_four_throttles_reach_the_cgroup, 180)
{
	static const char *const lists[] = { "throttleReadBpsDevice", "throttleWriteBpsDevice",
					     "throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
	static const long long rates[] = { 3 * MIB, 5 * MIB, 700, 900 };
	char *blkio = strdup(""), want[128];

	for (int i = 0; i < 4; i++) {
		char *t = throttle(self, lists[i], rates[i]), *b;

		ASSERT_LE(0, asprintf(&b, "%s%s%s", blkio, i ? ", " : "", t));
		free(blkio);
		free(t);
		blkio = b;
	}
	run_io(self, "io-four",
	       "[\"/bin/sh\", \"-c\", \"for d in /sys/fs/cgroup /sys/fs/cgroup/*; do "
	       "for f in io.max blkio.throttle.read_bps_device blkio.throttle.write_bps_device "
	       "blkio.throttle.read_iops_device blkio.throttle.write_iops_device; do "
	       "[ -e $d/$f ] && { echo $f; cat $d/$f; }; done; done; exit 0\"]", blkio, NULL);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	TH_LOG("the job's throttle files:\n%s", self->res.out);
	if (strstr(self->res.out, "io.max\n")) {
		snprintf(want, sizeof(want), "io.max\n%u:%u rbps=%lld wbps=%lld riops=%lld wiops=%lld\n",
			 self->major, self->minor, rates[0], rates[1], rates[2], rates[3]);
		ASSERT_NE(NULL, strstr(self->res.out, want));
	} else {
		static const char *const files[] = { "read_bps", "write_bps", "read_iops", "write_iops" };

		for (int i = 0; i < 4; i++) {
			snprintf(want, sizeof(want), "blkio.throttle.%s_device\n%u:%u %lld\n", files[i],
				 self->major, self->minor, rates[i]);
			ASSERT_NE(NULL, strstr(self->res.out, want)) TH_LOG("want %s", want);
		}
	}
	free(blkio);
}

TEST_F_TIMEOUT(io, a_limit_the_node_cannot_enforce_fails_naming_it_and_leaves_nothing, 180)
{
	char *blkio;

	/* the loop device keeps "none": BFQ cannot weigh its I/O */
	ASSERT_EQ(0, set_scheduler(self, "none"));
	ASSERT_LE(0, asprintf(&blkio, "\"weightDevice\": [{\"major\": %u, \"minor\": %u, \"weight\": 300}]",
			      self->major, self->minor));
	run_io(self, "io-noenf", "[\"/bin/true\"]", blkio, NULL);
	TH_LOG("%s: %s", sched_path(self), self->res.err);
	ASSERT_EQ(125, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_NE(NULL, strstr(self->res.err, ": linux.resources.blockIO.weightDevice: this node cannot enforce it: "))
		TH_LOG("stderr: %s", self->res.err);
	ASSERT_NE(NULL, strstr(self->res.err, "(list \"blockIO.weightDevice\" in gridrun.optional_limits to run without it)\n"))
		TH_LOG("stderr: %s", self->res.err);
	/* one line */
	EXPECT_EQ(strlen(self->res.err) - 1, (size_t)(strchr(self->res.err, '\n') - self->res.err));
	EXPECT_EQ(0, gt_cgroup_dirs("io-noenf"));
	EXPECT_EQ(0, gt_count_dir(self->state));
	/* the record of a job that never started */
	ASSERT_NE(NULL, self->record);
	EXPECT_STREQ("setup_error", json_string_value(json_object_get(self->record, "reason")));
	EXPECT_EQ(125, rec_int(self, "exit_code"));
	/* a leaf weight is CFQ's, gone from Linux since 5.0: no node here has it */
	run_io(self, "io-leaf", "[\"/bin/true\"]", "\"leafWeight\": 100", NULL);
	ASSERT_EQ(125, self->res.status) TH_LOG("stderr: %s", self->res.err);
	ASSERT_NE(NULL, strstr(self->res.err, ": linux.resources.blockIO.leafWeight: this node cannot enforce it: "))
		TH_LOG("stderr: %s", self->res.err);
	EXPECT_EQ(0, gt_cgroup_dirs("io-leaf"));
	EXPECT_EQ(0, gt_count_dir(self->state));
	free(blkio);
}

TEST_F_TIMEOUT(io, an_optional_limit_is_left_out_and_said_so_the_rest_applies, 180)
{
	char *blkio, *t = throttle(self, "throttleWriteBpsDevice", RATE), *args = dio_args(self, "write");
	double rate;
	bool bfq_before;

	ASSERT_EQ(0, set_scheduler(self, "none"));
	ASSERT_LE(0, asprintf(&blkio, "\"weight\": 200, \"leafWeight\": 100, "
			      "\"weightDevice\": [{\"major\": %u, \"minor\": %u, \"weight\": 300}], %s",
			      self->major, self->minor, t));
	bfq_before = bfq_in_use();
	run_io(self, "io-opt", args, blkio,
	       "\"optional_limits\": [\"blockIO.weightDevice\", \"blockIO.leafWeight\", \"memory.swap\", "
	       "\"blockIO.weight\"]");
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	/* a cgroup-wide weight needs some device on BFQ; without one (as on
	 * both lanes, unless another test just set one) it is not applied */
	if (!bfq_before && !bfq_in_use())
		ASSERT_NE(NULL, strstr(self->res.err, "gridrun: job io-opt: optional limit not applied: "
				       "linux.resources.blockIO.weight: no block device here uses the BFQ IO scheduler"))
			TH_LOG("stderr: %s", self->res.err);
	ASSERT_NE(NULL, strstr(self->res.err, "gridrun: job io-opt: optional limit not applied: "
			       "linux.resources.blockIO.leafWeight: ")) TH_LOG("stderr: %s", self->res.err);
	ASSERT_NE(NULL, strstr(self->res.err, "gridrun: job io-opt: optional limit not applied: "
			       "linux.resources.blockIO.weightDevice: ")) TH_LOG("stderr: %s", self->res.err);
	/* the throttle beside them still holds */
	rate = dio_rate(self->res.out);
	TH_LOG("stderr: %s; write throttled to %.2f MiB/s: achieved %.3f MiB/s", self->res.err,
	       (double)RATE / MIB, rate / MIB);
	ASSERT_GT(1.10 * RATE, rate);
	ASSERT_NE(NULL, self->record);
	EXPECT_STREQ("exited", json_string_value(json_object_get(self->record, "reason")));
	EXPECT_EQ(0, gt_cgroup_dirs("io-opt"));
	free(blkio);
	free(t);
	free(args);
}

TEST_HARNESS_MAIN
