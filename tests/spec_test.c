// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * spec_test.c - the job-spec parser (runtime/spec.c, runtime/spec-pos.c).
 *
 * The bad-spec corpus lives in tests/specs/bad: every NN-name.json has an
 * NN-name.err holding the exact one-line error expected. The expected text
 * names FILE as the plain file name ("07-empty-args.json:3:13: ..."): the
 * corpus test chdir()s into tests/specs/bad and loads each spec by that
 * relative name, so the .err files read as what a user sees after
 * `cd tests/specs/bad && gridrun run 07-empty-args.json`. The harness forks
 * every TEST, so the chdir() stays inside it.
 *
 * The corpus is found under $GRIDRUN_SRC (the repository root, "." if unset).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"

/* TEST() declares a "variant" parameter most tests never use; -isystem hides
 * that from gcc but not from clang (make CC=clang). */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#include "error.h"
#include "spec-pos.h"
#include "spec.h"

#if defined(__SANITIZE_ADDRESS__)
#define GR_TEST_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GR_TEST_LSAN 1
#endif
#endif

#ifdef GR_TEST_LSAN
#include <sanitizer/lsan_interface.h>
/*
 * The harness ends each forked test with _exit(), which skips
 * LeakSanitizer's check at exit: under `make asan` run it by hand.
 */
static int leaks(void)
{
	return __lsan_do_recoverable_leak_check();
}
#else
static int leaks(void)
{
	return 0;
}
#endif

static const char *src_dir(void)
{
	const char *s = getenv("GRIDRUN_SRC");

	return s && *s ? s : ".";
}

/* Whole file into a NUL-terminated buffer; NULL (errno set) on failure. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t n = 0;

	if (!f)
		return NULL;
	buf = malloc(1 << 20);
	if (buf)
		n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = n;
	}
	return buf;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Check one corpus entry; returns NULL when it behaves, else a description.
 * Both loaders must fail with -EINVAL, leave *out NULL and give exactly the
 * expected message, on one line.
 */
static char *check_bad(const char *dir, const char *json, const char *expected, void *arg)
{
	char *text, *res = NULL;
	struct gr_spec *spec = (struct gr_spec *)1;
	struct gr_error *err = NULL;
	size_t len = 0;
	int r;

	(void)dir, (void)arg;   /* the test runs in dir: messages name the file as given */
	text = slurp(json, &len);
	if (!text) {
		if (asprintf(&res, "cannot read %s", json) < 0)
			abort();
		goto out;
	}
	r = gr_spec_load_file(json, NULL, &spec, &err);
	if (r != -EINVAL || spec || !err || strcmp(err->msg, expected) != 0 ||
	    strchr(err->msg, '\n')) {
		if (asprintf(&res, "%s: load_file r=%d spec=%p\n  expected: %s\n  got:      %s",
			     json, r, (void *)spec, expected, err ? err->msg : "(no error)") < 0)
			abort();
		goto out;
	}
	gr_error_free(err);
	err = NULL;
	r = gr_spec_load_string(text, len, json, &spec, &err);
	if (r != -EINVAL || spec || !err || strcmp(err->msg, expected) != 0) {
		if (asprintf(&res, "%s: load_string r=%d\n  expected: %s\n  got:      %s",
			     json, r, expected, err ? err->msg : "(no error)") < 0)
			abort();
	}
out:
	gr_spec_free(spec == (struct gr_spec *)1 ? NULL : spec);
	gr_error_free(err);
	free(text);
	return res;
}

TEST(bad_corpus)
{
	int checked, failed;
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/tests/specs/bad", src_dir());
	ASSERT_EQ(0, chdir(dir)) TH_LOG("chdir %s: %s (set GRIDRUN_SRC)", dir, strerror(errno));
	checked = gt_corpus(".", ".json", check_bad, NULL, &failed);
	EXPECT_LE(40, checked);
	EXPECT_EQ(0, failed);
}

static struct gr_spec *load_good(struct __test_metadata *_metadata, const char *name)
{
	struct gr_error *err = NULL;
	struct gr_spec *spec = NULL;
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/tests/specs/good/%s", src_dir(), name);
	r = gr_spec_load_file(path, NULL, &spec, &err);
	EXPECT_EQ(0, r) TH_LOG("%s", err ? err->msg : "?");
	gr_error_free(err);
	return spec;
	EXPECT_EQ(0, leaks());
}

#define DEFAULT_NS (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS)

TEST(minimal_gets_defaults)
{
	_cleanup_gr_spec_ struct gr_spec *spec = load_good(_metadata, "minimal.json");

	ASSERT_NE(NULL, spec);
	ASSERT_TRUE(has_suffix(spec->file, "tests/specs/good/minimal.json"));
	EXPECT_NULL(spec->oci_version);
	ASSERT_EQ(1u, spec->nargs);
	EXPECT_STREQ("/bin/true", spec->args[0]);
	EXPECT_NULL(spec->args[1]);
	ASSERT_NE(NULL, spec->env);
	EXPECT_EQ(0u, spec->nenv);
	EXPECT_NULL(spec->env[0]);
	EXPECT_STREQ("/", spec->cwd);
	EXPECT_EQ((uid_t)0, spec->uid);
	EXPECT_EQ((gid_t)0, spec->gid);
	EXPECT_EQ(0u, spec->nrlimits);
	EXPECT_STREQ("/", spec->root_path);
	EXPECT_NULL(spec->hostname);
	EXPECT_EQ(0u, spec->nmounts);
	EXPECT_EQ(DEFAULT_NS, spec->namespaces);
	EXPECT_EQ(0u, spec->nmasked_paths);
	EXPECT_EQ(0u, spec->nreadonly_paths);
	EXPECT_FALSE(spec->resources.any);
	EXPECT_EQ(-1, spec->resources.memory_limit);
	EXPECT_EQ(-1, spec->resources.memory_swap);
	EXPECT_EQ(-1, spec->resources.cpu_quota);
	EXPECT_EQ(0u, spec->resources.cpu_period);
	EXPECT_EQ(0u, spec->resources.cpu_shares);
	EXPECT_EQ(-1, spec->resources.pids_limit);
	EXPECT_NULL(spec->job_id);
	EXPECT_NULL(spec->account);
	EXPECT_NULL(spec->pool);
	EXPECT_NULL(spec->sandbox);
	EXPECT_NULL(spec->rootfs);
	EXPECT_EQ(GR_NET_HOST, spec->network);
	EXPECT_NULL(spec->accounting);
	EXPECT_EQ(-1, spec->accounting_fd);
	EXPECT_EQ(GR_LANDLOCK_DEFAULT, spec->landlock);
	EXPECT_EQ(0, leaks());
}

TEST(full_spec_fills_every_field)
{
	_cleanup_gr_spec_ struct gr_spec *spec = load_good(_metadata, "full.json");
	const unsigned always = GR_MNT_NOSUID | GR_MNT_NODEV;

	ASSERT_NE(NULL, spec);
	EXPECT_STREQ("1.0.2", spec->oci_version);
	ASSERT_EQ(3u, spec->nargs);
	EXPECT_STREQ("/bin/sh", spec->args[0]);
	EXPECT_STREQ("./job.sh", spec->args[2]);
	EXPECT_NULL(spec->args[3]);
	ASSERT_EQ(3u, spec->nenv);
	EXPECT_STREQ("EMPTY=", spec->env[1]);
	EXPECT_STREQ("X=a=b", spec->env[2]);
	EXPECT_NULL(spec->env[3]);
	EXPECT_STREQ("/srv/job", spec->cwd);
	EXPECT_EQ((uid_t)1000, spec->uid);
	EXPECT_EQ((gid_t)100, spec->gid);

	ASSERT_EQ(2u, spec->nrlimits);
	EXPECT_EQ(RLIMIT_NOFILE, spec->rlimits[0].resource);
	EXPECT_EQ(1024u, spec->rlimits[0].soft);
	EXPECT_EQ(4096u, spec->rlimits[0].hard);
	EXPECT_EQ(RLIMIT_CORE, spec->rlimits[1].resource);
	EXPECT_EQ(0u, spec->rlimits[1].hard);

	EXPECT_STREQ("/srv/images/el9", spec->root_path);
	EXPECT_STREQ("job-42.example", spec->hostname);

	ASSERT_EQ(3u, spec->nmounts);
	EXPECT_EQ(GR_MOUNT_BIND, spec->mounts[0].type);
	EXPECT_STREQ("/cvmfs", spec->mounts[0].destination);
	EXPECT_STREQ("/cvmfs", spec->mounts[0].source);
	EXPECT_EQ(always | GR_MNT_RECURSIVE | GR_MNT_RDONLY, spec->mounts[0].flags);
	EXPECT_EQ(0u, spec->mounts[0].size);
	EXPECT_EQ(GR_MOUNT_TMPFS, spec->mounts[1].type);
	EXPECT_STREQ("/scratch", spec->mounts[1].destination);
	EXPECT_NULL(spec->mounts[1].source);
	EXPECT_EQ(always | GR_MNT_NOEXEC, spec->mounts[1].flags);
	EXPECT_EQ(64ULL << 20, spec->mounts[1].size);
	/* "type" before "destination", trailing "/", "rw" after "ro" */
	EXPECT_EQ(GR_MOUNT_BIND, spec->mounts[2].type);
	EXPECT_STREQ("/data/in", spec->mounts[2].destination);
	EXPECT_STREQ("/srv/data", spec->mounts[2].source);
	EXPECT_EQ(always, spec->mounts[2].flags);

	EXPECT_EQ(DEFAULT_NS | CLONE_NEWCGROUP | CLONE_NEWNET, spec->namespaces);
	ASSERT_EQ(2u, spec->nmasked_paths);
	EXPECT_STREQ("/proc/keys", spec->masked_paths[1]);
	EXPECT_NULL(spec->masked_paths[2]);
	ASSERT_EQ(1u, spec->nreadonly_paths);
	EXPECT_STREQ("/proc/sys", spec->readonly_paths[0]);

	EXPECT_TRUE(spec->resources.any);
	EXPECT_EQ(2147483648LL, spec->resources.memory_limit);
	EXPECT_EQ(4294967296LL, spec->resources.memory_swap);
	EXPECT_EQ(200000, spec->resources.cpu_quota);
	EXPECT_EQ(100000u, spec->resources.cpu_period);
	EXPECT_EQ(1024u, spec->resources.cpu_shares);
	EXPECT_EQ(512, spec->resources.pids_limit);

	EXPECT_STREQ("1234.0", spec->job_id);
	EXPECT_STREQ("atlas001", spec->account);
	EXPECT_STREQ("atlas", spec->pool);
	EXPECT_STREQ("/var/lib/condor/execute/dir_1234", spec->sandbox);
	EXPECT_STREQ("el9", spec->rootfs);
	EXPECT_EQ(GR_NET_NONE, spec->network);
	EXPECT_STREQ("fd:5", spec->accounting);
	EXPECT_EQ(5, spec->accounting_fd);
	EXPECT_EQ(GR_LANDLOCK_OFF, spec->landlock);
	EXPECT_EQ(0, leaks());
}

TEST(network_none_adds_netns_to_defaults)
{
	_cleanup_gr_spec_ struct gr_spec *spec = load_good(_metadata, "network-none.json");

	ASSERT_NE(NULL, spec);
	EXPECT_EQ(GR_NET_NONE, spec->network);
	EXPECT_EQ(DEFAULT_NS | CLONE_NEWNET, spec->namespaces);
	EXPECT_EQ(0u, spec->nenv);
	EXPECT_STREQ("/var/log/gridrun/acct.json", spec->accounting);
	EXPECT_EQ(-1, spec->accounting_fd);
	EXPECT_EQ(0, leaks());
}

TEST(landlock_true_is_not_the_default)
{
	_cleanup_gr_spec_ struct gr_spec *spec = load_good(_metadata, "landlock-on.json");

	ASSERT_NE(NULL, spec);
	EXPECT_EQ(GR_LANDLOCK_ON, spec->landlock);
	EXPECT_EQ(0, leaks());
}

/* What `runc spec --rootless`, trimmed, looks like: accepted as is. */
TEST(oci_style_spec)
{
	_cleanup_gr_spec_ struct gr_spec *spec = load_good(_metadata, "oci-trimmed.json");

	ASSERT_NE(NULL, spec);
	/* a listed network namespace without gridrun.network means "none" */
	EXPECT_EQ(GR_NET_NONE, spec->network);
	EXPECT_EQ(DEFAULT_NS | CLONE_NEWNET, spec->namespaces);
	ASSERT_EQ(1u, spec->nmounts);
	EXPECT_EQ(GR_MOUNT_TMPFS, spec->mounts[0].type);
	EXPECT_NULL(spec->mounts[0].source);
	EXPECT_EQ(65536ULL << 10, spec->mounts[0].size);
	EXPECT_EQ(5u, spec->nmasked_paths);
	EXPECT_FALSE(spec->resources.any);
	EXPECT_EQ(0, leaks());
}

TEST(block_io_and_optional_limits)
{
	static const char text[] =
		"{\"process\": {\"args\": [\"x\"]}, \"linux\": {\"resources\": {\"blockIO\": {"
		"\"weight\": 500, \"leafWeight\": 10,"
		"\"weightDevice\": [{\"major\": 8, \"minor\": 16, \"weight\": 1000}, "
		"{\"major\": 8, \"minor\": 0, \"leafWeight\": 20}],"
		"\"throttleReadBpsDevice\": [{\"major\": 7, \"minor\": 3, \"rate\": 1048576}],"
		"\"throttleWriteIOPSDevice\": [{\"major\": 4095, \"minor\": 1048575, \"rate\": 4294967294}]}}},"
		"\"gridrun\": {\"optional_limits\": [\"blockIO.weight\", \"memory.swap\"]}}";
	struct gr_spec *spec = NULL;
	struct gr_resources *r;

	ASSERT_EQ(0, gr_spec_load_string(text, strlen(text), "io.json", &spec, NULL));
	r = &spec->resources;
	EXPECT_EQ(500u, r->blkio_weight);
	EXPECT_EQ(10u, r->blkio_leaf_weight);
	ASSERT_EQ(2u, r->nweight_devices);
	EXPECT_EQ(8u, r->weight_devices[0].major);
	EXPECT_EQ(16u, r->weight_devices[0].minor);
	EXPECT_EQ(1000ULL, r->weight_devices[0].value);
	EXPECT_EQ(0u, r->weight_devices[0].leaf_weight);
	EXPECT_EQ(0ULL, r->weight_devices[1].value);
	EXPECT_EQ(20u, r->weight_devices[1].leaf_weight);
	ASSERT_EQ(1u, r->nthrottle[GR_BLKIO_READ_BPS]);
	EXPECT_EQ(7u, r->throttle[GR_BLKIO_READ_BPS][0].major);
	EXPECT_EQ(3u, r->throttle[GR_BLKIO_READ_BPS][0].minor);
	EXPECT_EQ(1048576ULL, r->throttle[GR_BLKIO_READ_BPS][0].value);
	EXPECT_EQ(0u, r->nthrottle[GR_BLKIO_WRITE_BPS]);
	EXPECT_EQ(0u, r->nthrottle[GR_BLKIO_READ_IOPS]);
	ASSERT_EQ(1u, r->nthrottle[GR_BLKIO_WRITE_IOPS]);
	EXPECT_EQ(4294967294ULL, r->throttle[GR_BLKIO_WRITE_IOPS][0].value);
	EXPECT_EQ((1u << GR_LIM_BLKIO_WEIGHT) | (1u << GR_LIM_BLKIO_LEAF_WEIGHT) |
		  (1u << GR_LIM_BLKIO_WEIGHT_DEVICE) | (1u << GR_LIM_BLKIO_READ_BPS) |
		  (1u << GR_LIM_BLKIO_WRITE_IOPS), r->set);
	EXPECT_TRUE(r->any);
	/* a limit may be optional without being set (a site's template) */
	EXPECT_EQ((1u << GR_LIM_BLKIO_WEIGHT) | (1u << GR_LIM_MEMORY_SWAP), r->optional);
	EXPECT_STREQ("blockIO.throttleWriteIOPSDevice", gr_limit_name(GR_LIM_BLKIO_WRITE_IOPS));
	EXPECT_NULL(gr_limit_name(GR_LIM_COUNT));
	gr_spec_free(spec);
	EXPECT_EQ(0, leaks());
}

TEST(load_string_names_the_source)
{
	static const char bad[] = "{\"process\": {\"args\": [\"x\"], \"env\": [\"=x\"]}}";
	struct gr_spec *spec = NULL;
	struct gr_error *err = NULL;

	ASSERT_EQ(-EINVAL, gr_spec_load_string(bad, strlen(bad), "job.json", &spec, &err));
	EXPECT_STREQ("job.json:1:37: process.env[0]: expected \"NAME=value\" with a non-empty NAME",
		     err->msg);
	gr_error_free(err);
	err = NULL;
	/* the length is honoured: the text need not be NUL-terminated */
	ASSERT_EQ(-EINVAL, gr_spec_load_string(bad, 12, NULL, &spec, &err));
	EXPECT_STREQ("<spec>:1:12: json: unexpected token near end of file", err->msg);
	gr_error_free(err);
	EXPECT_NULL(spec);
	ASSERT_EQ(0, gr_spec_load_string("{\"process\":{\"args\":[\"x\"]}}", 26, "s", &spec,
					 NULL));
	EXPECT_STREQ("s", spec->file);
	gr_spec_free(spec);
	EXPECT_EQ(0, leaks());
}

TEST(load_file_errors)
{
	struct gr_spec *spec = NULL;
	struct gr_error *err = NULL;

	EXPECT_EQ(-ENOENT, gr_spec_load_file("/nonexistent/spec.json", NULL, &spec, &err));
	EXPECT_STREQ("open spec `/nonexistent/spec.json`: No such file or directory", err->msg);
	EXPECT_NULL(spec);
	gr_error_free(err);
	err = NULL;
	EXPECT_EQ(-EISDIR, gr_spec_load_file("/", NULL, &spec, &err));
	gr_error_free(err);
	err = NULL;
	/* bigger than the 4 MiB limit, read in full before refusing */
	EXPECT_EQ(-EFBIG, gr_spec_load_file("/dev/zero", NULL, &spec, &err));
	EXPECT_NULL(spec);
	gr_error_free(err);
	EXPECT_EQ(0, leaks());
}

/* A spec read from /dev/fd/N (gridrun run --spec-name) reads as the name it is given. */
TEST(load_file_names_the_spec_as_asked)
{
	static const char bad[] = "{\"process\": {\"args\": [\"x\"], \"env\": [\"=x\"]}}";
	struct gr_spec *spec = NULL;
	struct gr_error *err = NULL;
	int fd = memfd_create("spec", MFD_CLOEXEC);
	char path[64];

	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)strlen(bad), write(fd, bad, strlen(bad)));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ASSERT_EQ(-EINVAL, gr_spec_load_file(path, "<spec of job 7>", &spec, &err));
	EXPECT_STREQ("<spec of job 7>:1:37: process.env[0]: expected \"NAME=value\" with a non-empty NAME",
		     err->msg);
	gr_error_free(err);
	err = NULL;
	ASSERT_EQ(0, ftruncate(fd, 0));
	ASSERT_EQ(26, pwrite(fd, "{\"process\":{\"args\":[\"x\"]}}", 26, 0));
	ASSERT_EQ(0, gr_spec_load_file(path, "<spec of job 7>", &spec, NULL));
	EXPECT_STREQ("<spec of job 7>", spec->file);
	gr_spec_free(spec);
	spec = NULL;
	/* reading the file is about the file: its path */
	EXPECT_EQ(-ENOENT, gr_spec_load_file("/nonexistent/spec.json", "<spec of job 7>", &spec, &err));
	EXPECT_STREQ("open spec `/nonexistent/spec.json`: No such file or directory", err->msg);
	gr_error_free(err);
	close(fd);
	EXPECT_EQ(0, leaks());
}

TEST(unusual_member_names_in_messages)
{
	static const char text[] =
		"{\"process\": {\"args\": [\"x\"]},\n"
		" \"annotations\": {\"a\\\"b\\u0001\": 1}}";
	static const char text2[] = "{\"process\": {\"args\": [\"x\"]}, \"\\n\": 1}";
	struct gr_spec *spec = NULL;
	struct gr_error *err = NULL;

	ASSERT_EQ(-EINVAL, gr_spec_load_string(text, strlen(text), "t", &spec, &err));
	EXPECT_STREQ("t:2:32: annotations[\"a\\\"b\\u0001\"]: expected a string", err->msg);
	gr_error_free(err);
	err = NULL;
	ASSERT_EQ(-EINVAL, gr_spec_load_string(text2, strlen(text2), "t", &spec, &err));
	EXPECT_STREQ("t:1:30: json: unknown key \"\\u000a\"", err->msg);
	gr_error_free(err);
	EXPECT_EQ(0, leaks());
}

/* The position finder on its own: escapes, UTF-8 columns, keys, misses. */
TEST(position_finder)
{
	static const char text[] =
		"{ \"a\\u00e9\\ud83d\\ude00\": [1, {\"x\": [ ] }, \"\\\"]\"],\n"
		"  \"\xc3\xa9\": {\"k\": \"\xe2\x82\xac\", \"m\": {\"n\": null}}}";
	struct gr_spec_path_elem p1[] = { { .key = "a\xc3\xa9\xf0\x9f\x98\x80" }, { .index = 2 } };
	struct gr_spec_path_elem p2[] = { { .key = "\xc3\xa9" }, { .key = "m" }, { .key = "n" } };
	struct gr_spec_path_elem p3[] = { { .key = "\xc3\xa9" }, { .key = "k" } };
	struct gr_spec_path_elem p4[] = { { .key = "\xc3\xa9" }, { .key = "zz" } };
	struct gr_spec_path_elem p5[] = { { .key = "a\xc3\xa9\xf0\x9f\x98\x80" }, { .index = 1 },
					  { .key = "x" }, { .index = 0 } };
	size_t len = strlen(text);
	struct gr_spec_pos pos;

	ASSERT_EQ(0, gr_spec_pos_find(text, len, p1, 2, false, &pos));
	EXPECT_EQ(1u, pos.line);
	EXPECT_EQ(43u, pos.col);
	ASSERT_EQ(0, gr_spec_pos_find(text, len, p2, 3, false, &pos));
	EXPECT_EQ(2u, pos.line);
	EXPECT_EQ(30u, pos.col);
	ASSERT_EQ(0, gr_spec_pos_find(text, len, p3, 2, true, &pos));
	EXPECT_EQ(2u, pos.line);
	EXPECT_EQ(9u, pos.col);
	ASSERT_EQ(0, gr_spec_pos_find(text, len, p2, 0, false, &pos));
	EXPECT_EQ(1u, pos.col);
	/* misses report the deepest value found */
	EXPECT_EQ(-ENOENT, gr_spec_pos_find(text, len, p4, 2, false, &pos));
	EXPECT_EQ(2u, pos.line);
	EXPECT_EQ(8u, pos.col);
	EXPECT_EQ(-ENOENT, gr_spec_pos_find(text, len, p5, 4, false, &pos));
	EXPECT_EQ(1u, pos.line);
	EXPECT_EQ(36u, pos.col);
	/* truncated text: never reads past len */
	EXPECT_EQ(-ENOENT, gr_spec_pos_find(text, 20, p1, 2, false, &pos));
	EXPECT_EQ(1u, pos.col);
	EXPECT_EQ(0, leaks());
}

TEST_HARNESS_MAIN
