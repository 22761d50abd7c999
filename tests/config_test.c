// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * config_test.c - the site configuration (runtime/config.c).
 *
 * The bad-config corpus lives in tests/configs/bad: every NN-name.conf has
 * an NN-name.err holding the exact one-line error expected, naming the file
 * by its plain name. Each is copied into a scratch directory (a config read
 * by root must be owned by root, whoever owns the checkout) and loaded from
 * there by that name, by the library and by `gridrun ps --config NAME`.
 *
 * The NSS checks are tested against real NSS, in a forked child whose own
 * mount namespace has a tmpfs on /etc with copies of the files NSS reads
 * (see nss_child()); the host's /etc is only ever read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "check.h"
#include "config.h"
#include "gt.h"
#include "gt-world.h"
#include "job.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"

static char *slurp(const char *path)
{
	return gt_read(path);
}

/* Copy src into dir/name, 0644. */
static void copy_to(const char *src, const char *dir, const char *name)
{
	char *text = slurp(src), *dst;

	if (!text)
		abort();
	dst = gt_write(dir, name, "%s", text);
	if (chmod(dst, 0644) < 0)
		abort();
	free(dst);
	free(text);
}

/* gridrun ps --config PATH (stdout and stderr captured). */
static void ps_config(const char *path, struct gt_result *res)
{
	char *argv[] = { (char *)gt_gridrun(), "ps", "--config", (char *)path, NULL };

	gt_run_argv(argv, -1, res);
}

FIXTURE(conf) {
	char *dir;
	struct gt_result res;
};

FIXTURE_SETUP(conf)
{
	char *state;

	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&state, "%s/state", self->dir));
	setenv("GRIDRUN_STATE_DIR", state, 1);
	unsetenv("GRIDRUN_CONFIG");
	free(state);
	memset(&self->res, 0, sizeof(self->res));
}

FIXTURE_TEARDOWN(conf)
{
	gt_result_free(&self->res);
	gt_rm_rf(self->dir);
	free(self->dir);
}

/* One corpus entry (already in cwd); NULL when it behaves, else what is wrong. */
static char *check_bad(const char *conf, const char *expected)
{
	struct gr_config *cfg = NULL;
	struct gr_error *err = NULL;
	struct gt_result res = { 0 };
	char *want = NULL, *problem = NULL;
	int r;

	r = gr_config_load(conf, 0, &cfg, &err);
	if (r >= 0 || cfg || !err || strcmp(err->msg, expected) || strchr(err->msg, '\n')) {
		if (asprintf(&problem, "%s: load r=%d\n  expected: %s\n  got:      %s", conf, r, expected,
			     err ? err->msg : "(no error)") < 0)
			abort();
		goto out;
	}
	ps_config(conf, &res);
	if (asprintf(&want, "gridrun: %s\n", expected) < 0)
		abort();
	if (res.status != 125 || strcmp(res.err, want) || strcmp(res.out, "")) {
		if (asprintf(&problem, "%s: gridrun ps --config exited %d\n  expected: %s  got:      %s",
			     conf, res.status, want, res.err) < 0)
			abort();
	}
out:
	gt_result_free(&res);
	gr_config_free(cfg);
	gr_error_free(err);
	free(want);
	return problem;
}

/* One bad config, copied into the test's dir (cwd): messages name it as given. */
static char *check_bad_copy(const char *corpus, const char *name, const char *expected, void *dir)
{
	char path[2 * PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", corpus, name);
	copy_to(path, dir, name);
	return check_bad(name, expected);
}

TEST_F(conf, bad_corpus)
{
	int checked, failed;
	char rel[PATH_MAX], corpus[PATH_MAX];

	/* absolute: the checks run in the test's dir */
	snprintf(rel, sizeof(rel), "%s/tests/configs/bad", gt_src());
	ASSERT_NE(NULL, realpath(rel, corpus)) TH_LOG("%s: %s (set GRIDRUN_SRC)", rel, strerror(errno));
	ASSERT_EQ(0, chdir(self->dir));
	checked = gt_corpus(corpus, ".conf", check_bad_copy, self->dir, &failed);
	ASSERT_LT(0, checked) TH_LOG("%s: %s (set GRIDRUN_SRC)", corpus, strerror(errno));
	EXPECT_LE(30, checked);
	EXPECT_EQ(0, failed);
}

TEST_F(conf, example_config_loads)
{
	struct gr_config *cfg = NULL;
	struct gr_error *err = NULL;
	char src[PATH_MAX], *path;

	snprintf(src, sizeof(src), "%s/examples/gridrun.conf", gt_src());
	copy_to(src, self->dir, "gridrun.conf");
	ASSERT_LE(0, asprintf(&path, "%s/gridrun.conf", self->dir));
	ASSERT_EQ(0, gr_config_load(path, 0, &cfg, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(2, cfg->npools);
	EXPECT_STREQ("/run/gridrun", cfg->state_dir);
	EXPECT_STREQ("/var/lib/gridrun/leases", cfg->lease_dir);
	EXPECT_EQ(NULL, cfg->cgroup_base);
	EXPECT_FALSE(cfg->landlock_off);
	EXPECT_STREQ("atlas", cfg->pools[0].name);
	EXPECT_EQ(3000000000u, cfg->pools[0].first_uid);
	EXPECT_EQ(64, cfg->pools[0].ranges);
	EXPECT_EQ(65536, cfg->pools[0].range_size);
	EXPECT_EQ(600, cfg->pools[0].quarantine_seconds);
	ASSERT_EQ(2, cfg->pools[0].naccounts);
	EXPECT_STREQ("atlas002", cfg->pools[0].accounts[1]);
	EXPECT_STREQ("cms", cfg->pools[1].name);
	EXPECT_EQ(3004194304u, cfg->pools[1].first_uid);
	ASSERT_EQ(1, cfg->nrootfs);
	EXPECT_STREQ("/srv/images/el9", cfg->rootfs[0].path);
	gr_config_free(cfg);
	free(path);
}

TEST_F(conf, defaults_comments_bom_and_crlf)
{
	char *want;
	struct gr_config *cfg = NULL;
	struct gr_error *err = NULL;
	char *path = gt_write(self->dir, "c.conf",
			      "\xef\xbb\xbf# comment\r\n; another\r\n\r\n"
			      "[pool atlas] ; trailing comment\r\n"
			      "first_uid = 3000000000 ; the first\r\n"
			      "ranges=2\r\n"
			      "   # an indented comment is fine\r\n"
			      "accounts =\r\n");

	chmod(path, 0644);
	ASSERT_EQ(0, gr_config_load(path, 0, &cfg, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(1, cfg->npools);
	EXPECT_EQ(3000000000u, cfg->pools[0].first_uid);
	EXPECT_EQ(2, cfg->pools[0].ranges);
	EXPECT_EQ(GR_POOL_RANGE_SIZE_DEFAULT, cfg->pools[0].range_size);
	EXPECT_EQ(GR_POOL_QUARANTINE_DEFAULT, cfg->pools[0].quarantine_seconds);
	EXPECT_EQ(0, cfg->pools[0].naccounts);
	EXPECT_STREQ(GR_LEASE_DIR_DEFAULT, cfg->lease_dir);
	EXPECT_STREQ(cfg->lease_dir, cfg->pools[0].lease_dir);
	/* an empty accounts list: nobody may lease */
	EXPECT_EQ(-EPERM, gr_pool_check_account(&cfg->pools[0], "atlas001", &err));
	ASSERT_LE(0, asprintf(&want, "pool atlas: no account may lease from it (its accounts in "
			      "`%s` are empty)", path));
	EXPECT_STREQ(want, err->msg);
	free(want);
	gr_error_free(err);
	gr_config_free(cfg);
	free(path);
}

TEST_F(conf, highest_valid_extent_is_accepted)
{
	struct gr_config *cfg = NULL;
	struct gr_error *err = NULL;
	/* the last uid is 4294967294; one more would be (uid_t)-1 (06-reaches-uid-max) */
	char *path = gt_write(self->dir, "c.conf", "[pool top]\nfirst_uid = 4294901759\nranges = 1\n"
			      "[pool low]\nfirst_uid = 65536\nranges = 1\nrange_size = 1\n");

	chmod(path, 0644);
	ASSERT_EQ(0, gr_config_load(path, 0, &cfg, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(4294901759u, cfg->pools[0].first_uid);
	gr_config_free(cfg);
	free(path);
}

TEST_F(conf, missing_files)
{
	struct gr_config *cfg = NULL;
	struct gr_error *err = NULL;

	/* the default file may be missing: no pools */
	ASSERT_EQ(0, gr_config_load("/nonexistent/gridrun.conf", GR_CONFIG_OPTIONAL, &cfg, &err));
	EXPECT_EQ(0, cfg->npools);
	EXPECT_EQ(NULL, cfg->file);
	EXPECT_STREQ(GR_LEASE_DIR_DEFAULT, cfg->lease_dir);
	gr_config_free(cfg);
	/* one named explicitly may not, by --config or by GRIDRUN_CONFIG */
	ps_config("/nonexistent/gridrun.conf", &self->res);
	EXPECT_EQ(125, self->res.status);
	EXPECT_STREQ("gridrun: open config `/nonexistent/gridrun.conf`: No such file or directory\n",
		     self->res.err);
	gt_result_free(&self->res);
	setenv("GRIDRUN_CONFIG", "/nonexistent/env.conf", 1);
	{
		char *argv[] = { (char *)gt_gridrun(), "gc", NULL };

		gt_run_argv(argv, -1, &self->res);
	}
	EXPECT_EQ(125, self->res.status);
	EXPECT_STREQ("gridrun: open config `/nonexistent/env.conf`: No such file or directory\n",
		     self->res.err);
}

TEST_F(conf, a_config_others_can_write_is_refused)
{
	char *path = gt_write(self->dir, "c.conf", "[pool atlas]\nfirst_uid = 3000000000\nranges = 1\n");
	char *want;

	ASSERT_EQ(0, chmod(path, 0664));
	ps_config(path, &self->res);
	ASSERT_LE(0, asprintf(&want, "gridrun: config `%s` must be owned by root and writable only by it "
			      "(it is owned by uid 0, mode 0664)\n", path));
	EXPECT_EQ(125, self->res.status);
	EXPECT_STREQ(want, self->res.err);
	free(want);
	gt_result_free(&self->res);
	ASSERT_EQ(0, chmod(path, 0644));
	ASSERT_EQ(0, chown(path, 1000, 1000));
	ps_config(path, &self->res);
	ASSERT_LE(0, asprintf(&want, "gridrun: config `%s` must be owned by root and writable only by it "
			      "(it is owned by uid 1000, mode 0644)\n", path));
	EXPECT_EQ(125, self->res.status);
	EXPECT_STREQ(want, self->res.err);
	free(want);
	free(path);
}

/* leftover_dirs: each an absolute directory reached through no symlink
 * (the leftover scan opens none); one absent now is read once it is there. */
TEST_F(conf, leftover_dirs_are_directories_reached_through_no_symlink)
{
	struct gr_config *cfg = NULL;
	struct gr_error *err = NULL;
	const char *real = gt_f("%s/scratch", self->dir), *link = gt_f("%s/lnk", self->dir);
	char *path;

	ASSERT_EQ(0, mkdir(real, 01777));
	ASSERT_EQ(0, symlink(".", link));
	path = gt_write(self->dir, "c.conf", "[runtime]\nleftover_dirs = %s  %s/absent\n\n"
			"[pool atlas]\nfirst_uid = 3000000000\nranges = 1\n", real, self->dir);
	ASSERT_EQ(0, gr_config_load(path, 0, &cfg, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(2, cfg->nleftover_dirs);
	EXPECT_STREQ(real, cfg->leftover_dirs[0]);
	EXPECT_STREQ(gt_f("%s/absent", self->dir), cfg->leftover_dirs[1]);
	EXPECT_EQ(NULL, cfg->leftover_dirs[2]);
	EXPECT_TRUE(cfg->pools[0].leftover_dirs == cfg->leftover_dirs);
	gr_config_free(cfg);
	cfg = NULL;
	free(path);
	path = gt_write(self->dir, "c.conf", "[runtime]\nleftover_dirs = %s/scratch\n", link);
	EXPECT_EQ(-EINVAL, gr_config_load(path, 0, &cfg, &err));
	EXPECT_STREQ(gt_f("%s:2: runtime: leftover_dirs: `%s/scratch` is reached through a symlink (the scan "
			  "follows none: name the directory it points to)", path, link), err ? err->msg : "");
	gr_error_free(err);
	gr_config_free(cfg);
	free(path);
}

TEST_F(conf, pool_and_account_rules)
{
	struct gr_config *cfg = NULL, *none = NULL;
	struct gr_error *err = NULL;
	const struct gr_pool *pool = NULL;
	char *path = gt_write(self->dir, "c.conf", "[pool atlas]\nfirst_uid = 3000000000\nranges = 1\n"
			      "accounts = atlas001  atlas002\n");
	char *want;

	chmod(path, 0644);
	ASSERT_EQ(0, gr_config_load(path, 0, &cfg, &err));
	EXPECT_EQ(0, gr_config_pool_for(cfg, "atlas", "atlas002", &pool, &err));
	EXPECT_EQ(&cfg->pools[0], pool);
	EXPECT_EQ(-EPERM, gr_config_pool_for(cfg, "atlas", "cms001", &pool, &err));
	EXPECT_STREQ("pool atlas: account `cms001` may not lease from it (accounts: atlas001 atlas002)",
		     err->msg);
	EXPECT_EQ(-EINVAL, gr_config_pool_for(cfg, "atlas", NULL, &pool, &err));
	EXPECT_STREQ("gridrun.pool `atlas` needs gridrun.account: the pool's accounts decide who may lease",
		     err->msg);
	EXPECT_EQ(-ENOENT, gr_config_pool_for(cfg, "cms", "atlas001", &pool, &err));
	ASSERT_LE(0, asprintf(&want, "gridrun.pool: no pool `cms` in `%s`", path));
	EXPECT_STREQ(want, err->msg);
	ASSERT_EQ(0, gr_config_load("/nonexistent/gridrun.conf", GR_CONFIG_OPTIONAL, &none, &err));
	EXPECT_EQ(-ENOENT, gr_config_pool_for(none, "atlas", "atlas001", &pool, &err));
	EXPECT_STREQ("gridrun.pool: no pool `atlas`: there is no site configuration "
		     "(`/etc/gridrun/gridrun.conf` does not exist)", err->msg);
	gr_error_free(err);
	gr_config_free(cfg);
	gr_config_free(none);
	free(want);
	free(path);
}

/*
 * NSS against a private /etc. A forked child moves into its own mount
 * namespace and mounts an empty tmpfs on /etc holding copies of the real
 * nsswitch.conf, passwd and group (plus the test's lines), and the test's
 * subuid and subgid; nothing of the host is bound anywhere, so no cleanup
 * can ever reach the real /etc. The child loads the config with the library
 * and runs `gridrun ps --config` there, and reports both through a pipe.
 */
struct nss_result {
	char lib[1024];       /* the library's error message, or "(accepted)" */
	int status;           /* gridrun's exit status */
	char err[1024];       /* gridrun's stderr */
};

static void put_etc(const char *name, const char *text)
{
	char *p = gt_write("/etc", name, "%s", text ? text : "");

	if (chmod(p, 0644) < 0)
		abort();
	free(p);
}

static void nss_child(int fd, const char *conf, const char *passwd, const char *group,
		      const char *subuid, const char *subgid)
{
	char *real_passwd = slurp("/etc/passwd"), *real_group = slurp("/etc/group");
	char *nsswitch = slurp("/etc/nsswitch.conf"), *pw = NULL, *gr = NULL;
	struct gr_config *cfg = NULL;
	struct gr_error *err = NULL;
	struct nss_result out = { 0 };
	struct gt_result res = { 0 };

	if (!real_passwd || !real_group || asprintf(&pw, "%s%s", real_passwd, passwd) < 0 ||
	    asprintf(&gr, "%s%s", real_group, group) < 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/etc", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		_exit(99);
	put_etc("nsswitch.conf", nsswitch);
	put_etc("passwd", pw);
	put_etc("group", gr);
	put_etc("subuid", subuid);
	put_etc("subgid", subgid);
	if (gr_config_load(conf, 0, &cfg, &err) < 0)
		snprintf(out.lib, sizeof(out.lib), "%s", err->msg);
	else
		snprintf(out.lib, sizeof(out.lib), "(accepted)");
	ps_config(conf, &res);
	out.status = res.status;
	snprintf(out.err, sizeof(out.err), "%s", res.err);
	_exit(write(fd, &out, sizeof(out)) == sizeof(out) ? 0 : 98);
}

#define POOL_CONF "[pool atlas]\nfirst_uid = 3000000000\nranges = 64\naccounts = atlas001\n"

/* Load POOL_CONF with that NSS, by the library and through gridrun; both
 * must say want (NULL: both must accept it). */
static void expect_nss(struct __test_metadata *_metadata, const char *dir, const char *passwd,
		       const char *group, const char *subuid, const char *subgid, const char *want)
{
	char *path = gt_write(dir, "nss.conf", POOL_CONF), *line = NULL, *out = NULL;
	struct nss_result got = { 0 };
	int p[2], status;
	pid_t pid;

	chmod(path, 0644);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(p[0]);
		nss_child(p[1], path, passwd, group, subuid, subgid);
	}
	close(p[1]);
	ASSERT_EQ(sizeof(got), read(p[0], &got, sizeof(got)));
	close(p[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	if (want) {
		ASSERT_LE(0, asprintf(&line, "%s:1: pool atlas: %s", path, want));
		ASSERT_LE(0, asprintf(&out, "gridrun: %s\n", line));
		EXPECT_STREQ(line, got.lib);
		EXPECT_EQ(125, got.status);
		EXPECT_STREQ(out, got.err);
	} else {
		EXPECT_STREQ("(accepted)", got.lib);
		EXPECT_EQ(0, got.status) TH_LOG("%s", got.err);
	}
	free(line);
	free(out);
	free(path);
}

/*
 * A run whose spec names no pool enumerates no NSS: with an account inside
 * pool atlas in the private /etc, it runs all the same, while a run that
 * leases from the pool, and `gridrun ps`, refuse the configuration.
 */
struct lazy_result {
	int plain, pooled, ps;
	char pooled_err[1024];
};

static void lazy_child(int fd, const char *conf, const char *plain_spec, const char *pool_spec)
{
	char *pw = NULL, *real = slurp("/etc/passwd");
	char *plain[] = { (char *)gt_gridrun(), "run", "--config", (char *)conf, (char *)plain_spec, NULL };
	char *pooled[] = { (char *)gt_gridrun(), "run", "--config", (char *)conf, (char *)pool_spec, NULL };
	struct lazy_result out = { 0 };
	struct gt_result res = { 0 };

	if (!real || asprintf(&pw, "%sgridtest:x:3000000005:5000::/nonexistent:/usr/sbin/nologin\n", real) < 0 ||
	    unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/etc", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		_exit(99);
	put_etc("nsswitch.conf", "passwd: files\ngroup: files\n");
	put_etc("passwd", pw);
	put_etc("group", "root:x:0:\n");
	gt_run_argv(plain, -1, &res);
	out.plain = res.status;
	gt_result_free(&res);
	gt_run_argv(pooled, -1, &res);
	out.pooled = res.status;
	snprintf(out.pooled_err, sizeof(out.pooled_err), "%s", res.err);
	gt_result_free(&res);
	ps_config(conf, &res);
	out.ps = res.status;
	_exit(write(fd, &out, sizeof(out)) == sizeof(out) ? 0 : 98);
}

TEST_F(conf, a_run_without_a_pool_does_not_enumerate_nss)
{
	char *path = gt_write(self->dir, "lazy.conf", POOL_CONF), *want;
	char *plain = gt_spec(self->dir, "[\"/bin/true\"]", NULL, NULL);
	char *pooled = gt_spec(self->dir, "[\"/bin/true\"]", NULL, "\"pool\": \"atlas\", \"account\": \"atlas001\"");
	struct lazy_result got = { 0 };
	int p[2], status;
	pid_t pid;

	chmod(path, 0644);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(p[0]);
		lazy_child(p[1], path, plain, pooled);
	}
	close(p[1]);
	ASSERT_EQ(sizeof(got), read(p[0], &got, sizeof(got)));
	close(p[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	EXPECT_EQ(0, got.plain);
	EXPECT_EQ(125, got.pooled);
	ASSERT_LE(0, asprintf(&want, "gridrun: %s:1: pool atlas: uids 3000000000-3004194303 include uid "
			      "3000000005 of account `gridtest`\n", path));
	EXPECT_STREQ(want, got.pooled_err);
	EXPECT_EQ(125, got.ps);
	free(want);
	free(path);
	free(plain);
	free(pooled);
}

TEST_F(conf, nss_account_in_a_pool_is_refused)
{
	expect_nss(_metadata, self->dir, "gridtest:x:3000000005:5000::/nonexistent:/usr/sbin/nologin\n",
		   "", "", "", "uids 3000000000-3004194303 include uid 3000000005 of account `gridtest`");
}

TEST_F(conf, nss_primary_group_in_a_pool_is_refused)
{
	expect_nss(_metadata, self->dir, "gridtest2:x:5001:3000000009::/nonexistent:/usr/sbin/nologin\n",
		   "", "", "",
		   "gids 3000000000-3004194303 include gid 3000000009, the primary group of account `gridtest2`");
}

TEST_F(conf, nss_group_in_a_pool_is_refused)
{
	expect_nss(_metadata, self->dir, "", "gridgrp:x:3004194303:\n", "", "",
		   "gids 3000000000-3004194303 include gid 3004194303 of group `gridgrp`");
}

TEST_F(conf, subuid_range_in_a_pool_is_refused)
{
	expect_nss(_metadata, self->dir, "", "", "alice:100000:65536\nbob:2999999999:2\n", "",
		   "ids 3000000000-3004194303 overlap /etc/subuid range 2999999999-3000000000 of `bob`");
}

TEST_F(conf, subgid_range_in_a_pool_is_refused)
{
	expect_nss(_metadata, self->dir, "", "", "", "carol:3004194303:65536\n",
		   "ids 3000000000-3004194303 overlap /etc/subgid range 3004194303-3004259838 of `carol`");
}

TEST_F(conf, nss_ids_right_beside_a_pool_are_fine)
{
	expect_nss(_metadata, self->dir,
		   "below:x:2999999999:2999999999::/nonexistent:/usr/sbin/nologin\n"
		   "above:x:3004194304:3004194304::/nonexistent:/usr/sbin/nologin\n",
		   "below:x:2999999999:\nabove:x:3004194304:\n",
		   "alice:100000:65536\nbob:3004194304:65536\n", "dave:2999934464:65536\n", NULL);
}

/*
 * The ids stamp (config-ids.c): a full check that passed leaves
 * LEASE_DIR/.ids-checked, and a load that finds it fresh for the same
 * inputs enumerates nothing; a changed input, a stamp others could have
 * written, one too old, or GR_CONFIG_IDS_FULL make the check full again.
 * Counted with gr_config_ids_enumerations(), in a child with a private /etc.
 */
#define STAMP_STEPS 14
struct stamp_result {
	int ok[STAMP_STEPS];          /* 1: accepted */
	unsigned n[STAMP_STEPS];      /* enumerations after the step */
	unsigned mode;                /* of the stamp after the first load */
	char refused[1024];
};

static int stamp_load(const char *conf, unsigned flags, char *msg, size_t size)
{
	struct gr_config *cfg = NULL;
	struct gr_error *err = NULL;
	int ok = gr_config_load(conf, flags & ~GR_CONFIG_IDS_LATER, &cfg, &err) == 0;

	if (ok && (flags & GR_CONFIG_IDS_LATER))
		ok = gr_config_check_ids(cfg, &err) == 0;
	if (!ok && msg)
		snprintf(msg, size, "%s", err->msg);
	gr_error_free(err);
	gr_config_free(cfg);
	return ok;
}

static void stamp_child(int fd, const char *dir, const char *conf, const char *linked)
{
	char *real = slurp("/etc/passwd"), *pw = NULL, *stamp = NULL, *leases = NULL;
	struct stamp_result out = { 0 };
	struct timespec old[2] = { { time(NULL) - GR_CONFIG_IDS_STAMP_MAX_AGE - 5, 0 },
				   { time(NULL) - GR_CONFIG_IDS_STAMP_MAX_AGE - 5, 0 } };
	struct stat st;
	int i = 0;

	if (!real || asprintf(&pw, "%sgridtest:x:3000000005:5000::/nonexistent:/usr/sbin/nologin\n", real) < 0 ||
	    asprintf(&stamp, "%s/leases/.ids-checked", dir) < 0 || asprintf(&leases, "%s/leases", dir) < 0 ||
	    unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/etc", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		_exit(99);
	put_etc("nsswitch.conf", "passwd: files\ngroup: files\n");
	put_etc("passwd", real);
	put_etc("group", "root:x:0:\n");
#define STEP(flags) (out.ok[i] = stamp_load(conf, (flags), out.refused, sizeof(out.refused)), \
		     out.n[i] = gr_config_ids_enumerations(), i++)
	STEP(0);                                        /* 0: full, writes the stamp */
	out.mode = stat(stamp, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 1;
	STEP(0);                                        /* 1: stamp */
	STEP(GR_CONFIG_IDS_LATER);                      /* 2: stamp (gridrun run's way) */
	STEP(GR_CONFIG_IDS_FULL);                       /* 3: full */
	chmod(stamp, 0644);
	STEP(0);                                        /* 4: not trusted: full, rewritten */
	STEP(0);                                        /* 5: stamp */
	utimensat(AT_FDCWD, stamp, old, 0);
	STEP(0);                                        /* 6: too old: full */
	put_etc("passwd", pw);
	STEP(GR_CONFIG_IDS_LATER);                      /* 7: passwd changed: full, refused */
	out.refused[sizeof(out.refused) - 1] = '\0';
	{
		char keep[sizeof(out.refused)];

		memcpy(keep, out.refused, sizeof(keep));
		STEP(0);                                /* 8: still refused: no stamp was written */
		put_etc("passwd", real);
		STEP(0);                                /* 9: full, accepted */
		chmod(leases, 0755);
		STEP(0);                                /* 10: a directory others may read: full */
		STEP(0);                                /* 11: and again */
		chmod(leases, 0700);
		conf = linked;
		STEP(0);                                /* 12: lease_dir through a symlink: */
		STEP(0);                                /* 13: no stamp, full each time */
		memcpy(out.refused, keep, sizeof(keep));
	}
#undef STEP
	_exit(write(fd, &out, sizeof(out)) == sizeof(out) ? 0 : 98);
}

TEST_F(conf, the_ids_stamp_spares_the_enumeration_until_an_input_changes)
{
	static const int ok[STAMP_STEPS] = { 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1 };
	static const unsigned n[STAMP_STEPS] = { 1, 1, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	char *leases, *path, *want, *link, *linked;
	struct stamp_result got = { 0 };
	int p[2], status;
	pid_t pid;

	ASSERT_LE(0, asprintf(&leases, "%s/leases", self->dir));
	ASSERT_EQ(0, mkdir(leases, 0700));
	path = gt_write(self->dir, "stamp.conf", "[runtime]\nlease_dir = %s\n\n" POOL_CONF, leases);
	chmod(path, 0644);
	ASSERT_LE(0, asprintf(&link, "%s/link", self->dir));
	ASSERT_EQ(0, symlink(self->dir, link));
	linked = gt_write(self->dir, "linked.conf", "[runtime]\nlease_dir = %s/leases\n\n" POOL_CONF, link);
	chmod(linked, 0644);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(p[0]);
		stamp_child(p[1], self->dir, path, linked);
	}
	close(p[1]);
	ASSERT_EQ(sizeof(got), read(p[0], &got, sizeof(got)));
	close(p[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	EXPECT_EQ(0600, got.mode);
	for (int i = 0; i < STAMP_STEPS; i++) {
		EXPECT_EQ(ok[i], got.ok[i]) TH_LOG("step %d", i);
		EXPECT_EQ(n[i], got.n[i]) TH_LOG("step %d", i);
	}
	ASSERT_LE(0, asprintf(&want, "%s:4: pool atlas: uids 3000000000-3004194303 include uid "
			      "3000000005 of account `gridtest`", path));
	EXPECT_STREQ(want, got.refused);
	free(want);
	free(path);
	free(linked);
	free(link);
	free(leases);
}

/*
 * The stamp is keyed by the pools, not by the file that named them: a
 * second configuration with the same pools and lease directory (a --config
 * copy of the site's) trusts the first one's stamp, while one whose pool
 * layout differs checks in full. Before, each file's identity was part of
 * the key and two such files made every start enumerate.
 */
static void shared_stamp_child(int fd, const char *const conf[4])
{
	unsigned n[5];
	int ok = 1;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/etc", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		_exit(99);
	put_etc("nsswitch.conf", "passwd: files\ngroup: files\n");
	put_etc("passwd", "root:x:0:0::/root:/bin/sh\n");
	put_etc("group", "root:x:0:\n");
	for (int i = 0; i < 5; i++) {
		ok &= stamp_load(conf[i < 4 ? i : 0], 0, NULL, 0);
		n[i] = gr_config_ids_enumerations();
	}
	if (!ok)
		_exit(97);
	_exit(write(fd, n, sizeof(n)) == sizeof(n) ? 0 : 98);
}

TEST_F(conf, configurations_with_the_same_pools_share_the_ids_stamp)
{
	/* a: full; b (a copy), c (the same pools written otherwise): the stamp;
	 * d (another first_uid): full, and its stamp is d's; a again: full */
	static const unsigned want[5] = { 1, 1, 1, 2, 3 };
	const char *conf[4];
	char *leases;
	unsigned got[5] = { 0 };
	int p[2], status;
	pid_t pid;

	ASSERT_LE(0, asprintf(&leases, "%s/leases", self->dir));
	ASSERT_EQ(0, mkdir(leases, 0700));
	conf[0] = gt_write(self->dir, "a.conf", "[runtime]\nlease_dir = %s\n\n" POOL_CONF, leases);
	conf[1] = gt_write(self->dir, "b.conf", "[runtime]\nlease_dir = %s\n\n" POOL_CONF, leases);
	conf[2] = gt_write(self->dir, "c.conf", "# the same pools\n[runtime]\nlease_dir = %s\n\n"
			   "[pool atlas]\nranges = 64\nfirst_uid = 3000000000\naccounts = atlas001 atlas002\n",
			   leases);
	conf[3] = gt_write(self->dir, "d.conf", "[runtime]\nlease_dir = %s\n\n"
			   "[pool atlas]\nfirst_uid = 3100000000\nranges = 64\naccounts = atlas001\n", leases);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, chmod(conf[i], 0644));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(p[0]);
		shared_stamp_child(p[1], conf);
	}
	close(p[1]);
	ASSERT_EQ(sizeof(got), read(p[0], got, sizeof(got)));
	close(p[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	for (int i = 0; i < 5; i++) {
		EXPECT_EQ(want[i], got[i]) TH_LOG("load %d", i);
	}
	for (int i = 0; i < 4; i++)
		free((char *)conf[i]);
	free(leases);
}

/*
 * gridrun check and gridrun gc as root force the full ids check (issue 17):
 * with a fresh stamp that a job start or ps trusts, gr_check_site() and the
 * CLI's gc load enumerate passwd and group again and refresh the stamp; a
 * pool holding an account's uid is a PROBLEM line in check's report naming
 * the file, line, pool and account, and an error. In a child with a private
 * /etc, counted with gr_config_ids_enumerations().
 */
struct admin_result {
	unsigned n[6];                /* enumerations after each step */
	int ok[6];
	int stamp_newer;              /* check rewrote the stamp (mtime moved on) */
	char report[2048], problem[2048];
};

static int site_report(char *buf, size_t size)
{
	struct gr_error *err = NULL;
	FILE *f = fmemopen(buf, size, "w");
	int r;

	if (!f)
		_exit(97);
	r = gr_check_site(f, &err);
	fclose(f);
	buf[size - 1] = '\0';
	gr_error_free(err);
	return r == 0;
}

static void admin_child(int fd, const char *dir, const char *conf)
{
	char *real = slurp("/etc/passwd"), *pw = NULL, *stamp = NULL;
	struct admin_result out = { 0 };
	struct timespec before[2] = { { time(NULL) - 100, 0 }, { time(NULL) - 100, 0 } };
	struct gr_config *cfg = NULL;
	struct gr_error *err = NULL;
	struct stat st;
	int i = 0;

	if (!real || asprintf(&pw, "%sgridtest:x:3000000005:5000::/nonexistent:/usr/sbin/nologin\n", real) < 0 ||
	    asprintf(&stamp, "%s/leases/.ids-checked", dir) < 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/etc", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		_exit(99);
	put_etc("nsswitch.conf", "passwd: files\ngroup: files\n");
	put_etc("passwd", real);
	put_etc("group", "root:x:0:\n");
	setenv("GRIDRUN_CONFIG", conf, 1);
#define STEP(expr) (out.ok[i] = (expr), out.n[i] = gr_config_ids_enumerations(), i++)
	STEP(stamp_load(conf, 0, NULL, 0));                             /* 0: full, stamp written */
	STEP(stamp_load(conf, 0, NULL, 0));                             /* 1: the stamp spares it */
	utimensat(AT_FDCWD, stamp, before, 0);
	STEP(site_report(out.report, sizeof(out.report)));              /* 2: check: full */
	out.stamp_newer = stat(stamp, &st) == 0 && st.st_mtime > before[0].tv_sec;
	STEP(gr_job_config_load(conf, GR_JOB_CONFIG_GC, &cfg, &err) == 0); /* 3: gc as root: full */
	gr_config_free(cfg);
	STEP(gr_job_config_load(conf, 0, &cfg, &err) == 0);             /* 4: ps: the stamp */
	gr_config_free(cfg);
	put_etc("passwd", pw);
	STEP(site_report(out.problem, sizeof(out.problem)));            /* 5: refused, said */
#undef STEP
	_exit(write(fd, &out, sizeof(out)) == sizeof(out) ? 0 : 98);
}

TEST_F(conf, check_and_gc_as_root_force_the_full_ids_check)
{
	static const int ok[6] = { 1, 1, 1, 1, 1, 0 };
	static const unsigned n[6] = { 1, 1, 2, 3, 3, 4 };
	char *leases, *path, *want;
	struct admin_result got = { 0 };
	int p[2], status;
	pid_t pid;

	ASSERT_LE(0, asprintf(&leases, "%s/leases", self->dir));
	ASSERT_EQ(0, mkdir(leases, 0700));
	path = gt_write(self->dir, "admin.conf", "[runtime]\nlease_dir = %s\n\n" POOL_CONF, leases);
	chmod(path, 0644);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(p[0]);
		admin_child(p[1], self->dir, path);
	}
	close(p[1]);
	ASSERT_EQ(sizeof(got), read(p[0], &got, sizeof(got)));
	close(p[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	for (int i = 0; i < 6; i++) {
		EXPECT_EQ(ok[i], got.ok[i]) TH_LOG("step %d", i);
		EXPECT_EQ(n[i], got.n[i]) TH_LOG("step %d", i);
	}
	EXPECT_EQ(1, got.stamp_newer);
	EXPECT_NE(NULL, strstr(got.report, "  pool atlas                     ok         uids 3000000000-3004194303"))
		TH_LOG("%s", got.report);
	EXPECT_NE(NULL, strstr(got.report, "  pool ids                       clear      "));
	EXPECT_NE(NULL, strstr(got.report, "  ids stamp                      refreshed  "));
	ASSERT_LE(0, asprintf(&want, "  configuration                  PROBLEM    %s:4: pool atlas: uids "
			      "3000000000-3004194303 include uid 3000000005 of account `gridtest`\n", path));
	EXPECT_NE(NULL, strstr(got.problem, want)) TH_LOG("%s", got.problem);
	free(want);
	free(path);
	free(leases);
}

TEST_HARNESS_MAIN
