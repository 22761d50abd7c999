/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * oci_test - OCI config.json compatibility (runtime/spec-oci.c): the
 * config.json of `runc spec`, `runc spec --rootless` and `crun spec`,
 * generated here at test time (never committed) and changed only in
 * process.args, loads and runs; so does Slurm's rewrite of it. The rootfs
 * is a scratch directory holding a copy of the static busybox.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "spec.h"

FIXTURE(bundle) {
	char *dir;   /* the bundle: config.json and rootfs/ */
	char *state;
	char *config;
	struct gt_result res;
};

FIXTURE_VARIANT(bundle) {
	const char *generate; /* run in the bundle directory */
	bool terminal;        /* the generated process.terminal */
};

FIXTURE_VARIANT_ADD(bundle, runc) {
	.generate = "runc spec", .terminal = true,
};
FIXTURE_VARIANT_ADD(bundle, runc_rootless) {
	.generate = "runc spec --rootless", .terminal = true,
};
FIXTURE_VARIANT_ADD(bundle, crun) {
	.generate = "crun spec", .terminal = true,
};

static void make_rootfs(struct __test_metadata *_metadata, const char *bundle)
{
	/* no /proc, /dev, /tmp, ...: gridrun creates the mount targets, as runc */
	static const char *const dirs[] = { "bin" };
	char path[PATH_MAX], cmd[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/rootfs", bundle);
	ASSERT_EQ(0, mkdir(path, 0755));
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/rootfs/%s", bundle, dirs[i]);
		ASSERT_EQ(0, mkdir(path, 0755)) TH_LOG("mkdir %s: %s", path, strerror(errno));
	}
	snprintf(cmd, sizeof(cmd), "cp /bin/busybox '%s/rootfs/bin/busybox'", bundle);
	ASSERT_EQ(0, system(cmd));
}

FIXTURE_SETUP(bundle)
{
	char cmd[PATH_MAX + 64];

	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	ASSERT_LE(0, asprintf(&self->config, "%s/config.json", self->dir));
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
	memset(&self->res, 0, sizeof(self->res));
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s", self->dir, variant->generate);
	ASSERT_EQ(0, system(cmd)) TH_LOG("`%s` failed (scripts/install-deps.sh installs runc and crun)",
					 variant->generate);
	make_rootfs(_metadata, self->dir);
}

FIXTURE_TEARDOWN(bundle)
{
	gt_result_free(&self->res);
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->state);
	free(self->config);
}

/* Set process.args (and merge extra into process) of the generated config.json. */
static void set_args(struct __test_metadata *_metadata, const char *config, const char *script,
		     const char *process_extra)
{
	json_error_t jerr;
	json_t *root = json_load_file(config, 0, &jerr);
	json_t *proc;

	ASSERT_NE(NULL, root) TH_LOG("%s: %s", config, jerr.text);
	proc = json_object_get(root, "process");
	ASSERT_NE(NULL, proc);
	ASSERT_EQ(0, json_object_set_new(proc, "args", json_pack("[ssss]", "/bin/busybox", "sh",
								   "-c", script)));
	if (process_extra) {
		json_t *extra = json_loads(process_extra, 0, &jerr);

		ASSERT_NE(NULL, extra) TH_LOG("%s", jerr.text);
		ASSERT_EQ(0, json_object_update(proc, extra));
		json_decref(extra);
	}
	ASSERT_EQ(0, json_dump_file(root, config, JSON_INDENT(8)));
	json_decref(root);
}

TEST_F(bundle, loads_unmodified_but_args)
{
	_cleanup_gr_spec_ struct gr_spec *spec = NULL;
	struct gr_error *err = NULL;
	char real[PATH_MAX], want[PATH_MAX + 8];

	set_args(_metadata, self->config, "true", NULL);
	ASSERT_EQ(0, gr_spec_load_file(self->config, NULL, &spec, &err))
		TH_LOG("%s", err->msg);
	ASSERT_NE(NULL, realpath(self->dir, real));
	snprintf(want, sizeof(want), "%s/rootfs", real);
	/* "rootfs" is relative to the bundle, the spec file's directory */
	EXPECT_STREQ(want, spec->root_path);
	EXPECT_STREQ(real, spec->bundle);
	/* the seven standard mounts are gridrun's own, none is added */
	EXPECT_EQ(0u, spec->nmounts);
	EXPECT_TRUE(spec->namespaces & CLONE_NEWUSER);
	EXPECT_TRUE(spec->ignored & GR_SPEC_IGNORED_CAPS);
	EXPECT_TRUE(spec->ignored & GR_SPEC_IGNORED_SYSFS);
	EXPECT_EQ(variant->terminal, !!(spec->ignored & GR_SPEC_IGNORED_TERMINAL));
	EXPECT_EQ(1u, spec->nrlimits);
}

TEST_F(bundle, runs_with_gridrun_and_says_what_it_ignores)
{
	char *argv[] = { (char *)gt_gridrun(), "run", self->config, NULL };

	set_args(_metadata, self->config, "echo in-job; test -x /bin/busybox && echo rootfs", NULL);
	gt_run_argv(argv, -1, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	EXPECT_STREQ("in-job\nrootfs\n", self->res.out);
	/* one notice line for the capabilities, none an error */
	EXPECT_NE(NULL, strstr(self->res.err, "gridrun: notice: ")) TH_LOG("%s", self->res.err);
	EXPECT_NE(NULL, strstr(self->res.err, "process.capabilities: gridrun grants no capabilities"));
}

TEST_F(bundle, umask_and_oom_score_adj_are_applied)
{
	char *argv[] = { (char *)gt_gridrun(), "run", self->config, NULL };

	set_args(_metadata, self->config, "umask; cat /proc/self/oom_score_adj",
		 "{\"oomScoreAdj\": 500, \"user\": {\"uid\": 0, \"gid\": 0, \"umask\": 63}}");
	gt_run_argv(argv, -1, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	EXPECT_STREQ("0077\n500\n", self->res.out);
}

/* Slurm 22.05's rewrite: the submitter's whole environment appended
 * (duplicates included), terminal false, root.path BUNDLE/rootfs, and
 * "type": "none" binds with rbind for batch steps. */
TEST_F(bundle, slurm_rewrite_runs_and_the_last_env_value_wins)
{
	char *argv[] = { (char *)gt_gridrun(), "run", self->config, NULL };
	char real[PATH_MAX], extra[3 * PATH_MAX], *data;
	json_t *root, *mounts;

	ASSERT_NE(NULL, realpath(self->dir, real));
	data = gt_write(self->dir, "data", "slurm-data\n");
	snprintf(extra, sizeof(extra),
		 "{\"terminal\": false, \"env\": [\"PATH=/bin\", \"A=first\", \"HOME=/\", \"A=second\", "
		 "\"PATH=/bin:/usr/bin\"]}");
	set_args(_metadata, self->config, "echo $A; echo $PATH; cat /mnt/data; env | grep -c '^A='",
		 extra);
	root = json_load_file(self->config, 0, NULL);
	ASSERT_NE(NULL, root);
	snprintf(extra, sizeof(extra), "%s/rootfs", real);
	json_object_set_new(json_object_get(root, "root"), "path", json_string(extra));
	mounts = json_object_get(root, "mounts");
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:[s,s]}", "destination", "/mnt",
						"type", "none", "source", self->dir,
						"options", "rbind", "ro"));
	ASSERT_EQ(0, json_dump_file(root, self->config, JSON_INDENT(8)));
	json_decref(root);
	free(data);

	gt_run_argv(argv, -1, &self->res);
	ASSERT_EQ(0, self->res.status) TH_LOG("stderr: %s", self->res.err);
	EXPECT_STREQ("second\n/bin:/usr/bin\nslurm-data\n1\n", self->res.out);
	EXPECT_EQ(NULL, strstr(self->res.err, "process.terminal"));
}

TEST_F(bundle, an_explicit_bundle_resolves_a_relative_root_path)
{
	_cleanup_gr_spec_ struct gr_spec *spec = NULL;
	struct gr_error *err = NULL;
	char real[PATH_MAX], want[PATH_MAX + 16], *elsewhere;

	set_args(_metadata, self->config, "true", NULL);
	/* the spec file somewhere else, the bundle given (ociverbs' --bundle) */
	ASSERT_LE(0, asprintf(&elsewhere, "%s/state-copy.json", self->dir));
	ASSERT_EQ(0, rename(self->config, elsewhere));
	ASSERT_EQ(0, mkdir(self->state, 0700));
	ASSERT_NE(NULL, realpath(self->dir, real));
	ASSERT_EQ(0, gr_spec_load_bundle(elsewhere, NULL, self->state, &spec, &err))
		TH_LOG("%s", err->msg);
	snprintf(want, sizeof(want), "%s/state/rootfs", real);
	EXPECT_STREQ(want, spec->root_path);
	free(elsewhere);
}

/*
 * Attack: the rootfs is the submitter's; a symlink in it to a host
 * directory must not make gridrun (root) create a mount target there.
 */
TEST_F(bundle, a_symlink_in_the_rootfs_never_leads_a_target_outside)
{
	char *argv[] = { (char *)gt_gridrun(), "run", self->config, NULL };
	char outside[PATH_MAX], link[PATH_MAX], victim[PATH_MAX + 8];
	json_t *root;

	set_args(_metadata, self->config, "true", NULL);
	snprintf(outside, sizeof(outside), "%s/outside", self->dir);
	ASSERT_EQ(0, mkdir(outside, 0755));
	snprintf(link, sizeof(link), "%s/rootfs/mnt", self->dir);
	ASSERT_EQ(0, symlink(outside, link));
	root = json_load_file(self->config, 0, NULL);
	ASSERT_NE(NULL, root);
	json_array_append_new(json_object_get(root, "mounts"),
			      json_pack("{s:s, s:s, s:s, s:[s]}", "destination", "/mnt/sub",
					"type", "tmpfs", "source", "tmpfs", "options", "nosuid"));
	ASSERT_EQ(0, json_dump_file(root, self->config, JSON_INDENT(8)));
	json_decref(root);

	gt_run_argv(argv, -1, &self->res);
	snprintf(victim, sizeof(victim), "%s/sub", outside);
	EXPECT_NE(0, access(victim, F_OK)) TH_LOG("gridrun created %s through the rootfs's symlink",
						   victim);
	/* the symlink resolves inside the rootfs, where nothing is mounted over it */
	EXPECT_NE(0, self->res.status);
	EXPECT_NE(NULL, strstr(self->res.err, "/mnt/sub")) TH_LOG("stderr: %s", self->res.err);
}

TEST(a_relative_root_path_without_a_bundle_is_refused)
{
	static const char text[] = "{\"process\": {\"args\": [\"x\"]}, \"root\": {\"path\": \"rootfs\"}}";
	struct gr_spec *spec = NULL;
	struct gr_error *err = NULL;

	ASSERT_EQ(-EINVAL, gr_spec_load_string(text, strlen(text), "s.json", &spec, &err));
	EXPECT_STREQ("s.json:1:47: root.path: a relative path needs a bundle directory (give the "
		     "spec as a file or the bundle explicitly)", err->msg);
	gr_error_free(err);
}

TEST(tmpfs_mode_and_none_binds_are_parsed)
{
	static const char text[] =
		"{\"process\": {\"args\": [\"x\"]}, \"mounts\": ["
		"{\"destination\": \"/scratch\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", "
		"\"options\": [\"mode=0700\", \"size=1m\"]},"
		"{\"destination\": \"/data\", \"type\": \"none\", \"source\": \"/srv\", \"options\": [\"rbind\"]},"
		"{\"destination\": \"/opt/x\", \"source\": \"/opt\", \"options\": [\"bind\"]}]}";
	_cleanup_gr_spec_ struct gr_spec *spec = NULL;
	struct gr_error *err = NULL;

	ASSERT_EQ(0, gr_spec_load_string(text, strlen(text), "s.json", &spec, &err))
		TH_LOG("%s", err->msg);
	ASSERT_EQ(3u, spec->nmounts);
	EXPECT_EQ(GR_MOUNT_TMPFS, spec->mounts[0].type);
	EXPECT_EQ(0700u | GR_MNT_MODE_SET, spec->mounts[0].mode);
	EXPECT_EQ(GR_MOUNT_BIND, spec->mounts[1].type);
	EXPECT_TRUE(spec->mounts[1].flags & GR_MNT_RECURSIVE);
	EXPECT_EQ(GR_MOUNT_BIND, spec->mounts[2].type);
	EXPECT_FALSE(spec->mounts[2].flags & GR_MNT_RECURSIVE);
}

TEST(a_tmpfs_mode_reaches_the_job)
{
	char *dir = gt_tmpdir(), *state, *spec;
	struct gt_result res = { 0 };

	ASSERT_LE(0, asprintf(&state, "%s/state", dir));
	setenv("GRIDRUN_STATE_DIR", state, 1);
	spec = gt_spec(dir, "[\"/bin/sh\", \"-c\", \"stat -c %a /tmp/scratch\"]",
		       "\"hostname\": \"t\", \"linux\": {\"namespaces\": [{\"type\": \"mount\"}, "
		       "{\"type\": \"pid\"}, {\"type\": \"ipc\"}, {\"type\": \"uts\"}]}", NULL);
	/* gt_spec's mounts with one tmpfs more */
	{
		json_t *root = json_load_file(spec, 0, NULL);

		ASSERT_NE(NULL, root);
		json_array_append_new(json_object_get(root, "mounts"),
				      json_pack("{s:s, s:s, s:[s]}", "destination", "/tmp/scratch",
						"type", "tmpfs", "options", "mode=0710"));
		ASSERT_EQ(0, json_dump_file(root, spec, 0));
		json_decref(root);
	}
	gt_run_spec(spec, &res);
	EXPECT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_STREQ("710\n", res.out);
	gt_result_free(&res);
	gt_rm_rf(dir);
	free(dir);
	free(state);
	free(spec);
}

TEST_HARNESS_MAIN
