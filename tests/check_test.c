/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_test.c - `gridrun check` (runtime/check.c) and Kconfig-notes/.
 *
 * Configs are generated in a scratch directory, plain and gzip'd (written
 * with zlib), so the lookup and the report are tested without depending on
 * the node's kernel; the "node" tests then read this kernel's own config.
 * GRIDRUN_SRC (default ".") locates Kconfig-notes/.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include "kselftest_harness.h"

#include "check.h"
#include "error.h"

/* TH_LOG a multi-line text one line at a time, so every line stays a TAP comment. */
#define LOG_TEXT(text) do { \
	const char *_p = (text); \
	while (_p && *_p) { \
		int _n = (int)strcspn(_p, "\n"); \
		TH_LOG("%.*s", _n, _p); \
		_p += _n + (_p[_n] == '\n'); \
	} \
} while (0)

static int write_file(const char *path, int gz, const char *text)
{
	if (gz) {
		gzFile f = gzopen(path, "wb");

		if (!f)
			return -1;
		if (gzwrite(f, text, strlen(text)) != (int)strlen(text)) {
			gzclose(f);
			return -1;
		}
		return gzclose(f) == Z_OK ? 0 : -1;
	}
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Report into a malloc'd string. */
static int report(const char *config, char **text, struct gr_error **err)
{
	size_t size = 0;
	FILE *f = open_memstream(text, &size);
	int r;

	if (!f)
		return -errno;
	r = gr_check_report(f, config, err);
	fclose(f);
	return r;
}

/* Whether some line of text matches the extended regex re. */
static int has_line(const char *text, const char *re)
{
	regex_t rx;
	int r;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB))
		return 0;
	r = regexec(&rx, text, 0, NULL, 0) == 0;
	regfree(&rx);
	return r;
}

/* The status column of NAME's line, e.g. "present"; "" when absent. */
static void status_of(const char *text, const char *name, char st[32])
{
	char want[128];
	const char *p;

	snprintf(want, sizeof(want), "\n  %s ", name);
	st[0] = '\0';
	p = strstr(text, want);
	if (p && sscanf(p + strlen(want), " %31s", st) != 1)
		st[0] = '\0';
}

/* A config with every option of the table =y, except `except` (not set). */
static char *full_config(const char *except)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	const char *o;

	fprintf(f, "#\n# Automatically generated file; DO NOT EDIT.\n");
	for (size_t i = 0; (o = gr_check_kconfig_option(i)); i++) {
		if (except && !strcmp(o, except))
			fprintf(f, "# %s is not set\n", o);
		else
			fprintf(f, "%s=y\n", o);
	}
	fclose(f);
	return text;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

FIXTURE(kconfig) {
	char dir[64];
	char path[128];
};

FIXTURE_VARIANT(kconfig) {
	int gz;
};

FIXTURE_VARIANT_ADD(kconfig, plain) { .gz = 0 };
FIXTURE_VARIANT_ADD(kconfig, gzip) { .gz = 1 };

FIXTURE_SETUP(kconfig)
{
	strcpy(self->dir, "/tmp/gridrun-check-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/config%s", self->dir,
		 variant->gz ? ".gz" : "");
}

FIXTURE_TEARDOWN(kconfig)
{
	nftw(self->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TEST_F(kconfig, lookup_values)
{
	static const char head[] =
		"#\n# Linux/x86 6.1.0 Kernel Configuration\n#\n"
		"CONFIG_SECCOMP_FILTER=y\n"
		"CONFIG_SECCOMP=y\n"
		"CONFIG_USER_NS=y\n"
		"CONFIG_BTRFS_FS=m\n"
		"# CONFIG_SECURITY_APPARMOR is not set\n"
		"CONFIG_LSM=\"landlock,lockdown,bpf\"\n"
		"CONFIG_NR_CPUS=512\n"
		"CONFIG_TWICE=y\n"
		"CONFIG_CMDLINE=\"";
	char *text = malloc(sizeof(head) + 10000 + 64), value[16384];
	struct gr_error *err = NULL;
	int r;

	ASSERT_NE(NULL, text);
	strcpy(text, head);
	memset(text + strlen(text), 'x', 10000);
	strcpy(text + sizeof(head) - 1 + 10000, "\"\n# CONFIG_TWICE is not set\nCONFIG_LAST=y");
	ASSERT_EQ(0, write_file(self->path, variant->gz, text));
	free(text);

	static const struct { const char *opt, *want; int r; } cases[] = {
		{ "CONFIG_USER_NS", "y", 1 },
		{ "USER_NS", "y", 1 },                 /* prefix optional */
		{ "CONFIG_SECCOMP", "y", 1 },          /* not CONFIG_SECCOMP_FILTER's line */
		{ "CONFIG_BTRFS_FS", "m", 1 },
		{ "CONFIG_SECURITY_APPARMOR", "n", 1 },
		{ "CONFIG_LSM", "landlock,lockdown,bpf", 1 },
		{ "CONFIG_NR_CPUS", "512", 1 },
		{ "CONFIG_TWICE", "n", 1 },            /* the last mention wins */
		{ "CONFIG_LAST", "y", 1 },             /* after a 10 kB line, no final newline */
		{ "CONFIG_SEC", "", 0 },
		{ "CONFIG_NOPE", "", 0 },
		{ "CONFIG_X86", "", 0 },               /* only in the header comment */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(value, "junk");
		r = gr_check_kconfig_lookup(self->path, cases[i].opt, value, 64, &err);
		ASSERT_EQ(cases[i].r, r) {
			TH_LOG("%s: %s", cases[i].opt, err ? err->msg : "");
		}
		EXPECT_STREQ(cases[i].want, value) {
			TH_LOG("%s", cases[i].opt);
		}
	}

	r = gr_check_kconfig_lookup(self->path, "CONFIG_CMDLINE", value, sizeof(value), &err);
	ASSERT_EQ(1, r);
	EXPECT_EQ((size_t)10000, strlen(value));
	r = gr_check_kconfig_lookup(self->path, "CONFIG_CMDLINE", value, 64, &err);
	ASSERT_EQ(-ERANGE, r);
	ASSERT_NE(NULL, strstr(err->msg, "CONFIG_CMDLINE"));
	gr_error_free(err);
}

TEST_F(kconfig, lookup_errors)
{
	struct gr_error *err = NULL;
	char value[64], bad[160];
	int r;

	r = gr_check_kconfig_lookup(self->path, "CONFIG_USER_NS", value, sizeof(value), &err);
	ASSERT_EQ(-ENOENT, r);
	ASSERT_NE(NULL, strstr(err->msg, self->path));

	ASSERT_EQ(0, write_file(self->path, variant->gz, "just some text\nno options\n"));
	r = gr_check_kconfig_lookup(self->path, "CONFIG_USER_NS", value, sizeof(value), &err);
	ASSERT_EQ(-EINVAL, r);
	ASSERT_NE(NULL, strstr(err->msg, "not a kernel config"));

	/* a gzip header followed by garbage: a read error, not "not found" */
	snprintf(bad, sizeof(bad), "%s/bad.gz", self->dir);
	ASSERT_EQ(0, write_file(bad, 0, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-garbage"));
	r = gr_check_kconfig_lookup(bad, "CONFIG_USER_NS", value, sizeof(value), &err);
	ASSERT_GT(0, r);
	ASSERT_NE(NULL, strstr(err->msg, "bad.gz"));
	gr_error_free(err);
}

TEST_F(kconfig, report_without_user_ns)
{
	char *config = full_config("CONFIG_USER_NS"), *out = NULL, st[32];
	struct gr_error *err = NULL;
	int r;

	ASSERT_EQ(0, write_file(self->path, variant->gz, config));
	free(config);
	r = report(self->path, &out, &err);
	ASSERT_EQ(-EOPNOTSUPP, r);
	ASSERT_NE(NULL, err);
	EXPECT_NE(NULL, strstr(err->msg, "CONFIG_USER_NS")) {
		TH_LOG("%s", err->msg);
	}
	EXPECT_TRUE(has_line(out, "^  CONFIG_USER_NS +missing +every mode lost: "));
	status_of(out, "CONFIG_PID_NS", st);
	EXPECT_STREQ("present", st);
	EXPECT_TRUE(has_line(out, "^  root +lost +CONFIG_USER_NS missing$"));
	EXPECT_TRUE(has_line(out, "^isolation: none \\(.*CONFIG_USER_NS missing.*\\)$")) {
		LOG_TEXT(out);
	}
	free(out);
	gr_error_free(err);
}

TEST_F(kconfig, report_complete_config)
{
	char *config = full_config(NULL), *out = NULL;
	struct gr_error *err = NULL;
	int r;

	ASSERT_EQ(0, write_file(self->path, variant->gz, config));
	free(config);
	r = report(self->path, &out, &err);
	ASSERT_EQ(0, r) {
		TH_LOG("%s", err ? err->msg : "");
		LOG_TEXT(out);
	}
	EXPECT_TRUE(has_line(out, "^Kernel options \\(/tmp/gridrun-check-"));
	EXPECT_FALSE(has_line(out, "^  CONFIG_[A-Z0-9_]+ +missing"));
	if (geteuid() == 0) {
		EXPECT_TRUE(has_line(out, "^isolation: root$"));
	}
	free(out);
}

TEST(report_bad_override)
{
	struct gr_error *err = NULL;
	char *out = NULL;
	int r;

	r = report("/nonexistent/kconfig", &out, &err);
	ASSERT_EQ(-ENOENT, r);
	EXPECT_NE(NULL, strstr(err->msg, "/nonexistent/kconfig"));
	free(out);
	gr_error_free(err);
}

/* This node's own config (/proc/config.gz or /boot/config-RELEASE). */
TEST(report_this_node)
{
	struct gr_error *err = NULL;
	char *out = NULL;
	const char *last;
	int r;

	r = report(NULL, &out, &err);
	ASSERT_EQ(0, r) {
		TH_LOG("%s", err ? err->msg : "");
		LOG_TEXT(out);
	}
	if (access("/proc/config.gz", R_OK) == 0) {
		EXPECT_TRUE(has_line(out, "^Kernel options \\(/proc/config.gz\\)$"));
	}
	EXPECT_TRUE(has_line(out, "^  CONFIG_USER_NS +present +"));
	EXPECT_TRUE(has_line(out, "^  mode +(v1|hybrid|v2) "));
	/* the summary is the last line */
	ASSERT_GT(strlen(out), 1);
	out[strlen(out) - 1] = '\0';
	last = strrchr(out, '\n');
	ASSERT_NE(NULL, last);
	if (geteuid() == 0) {
		EXPECT_STREQ("\nisolation: root", last);
	} else {
		EXPECT_EQ(0, strncmp(last, "\nisolation: ", 12));
	}
	if (getenv("GRIDRUN_CHECK_SHOW"))
		LOG_TEXT(out);
	free(out);
}

/*
 * The report is read by an administrator: no threat-table ids (S04, R3,
 * H4...) nor names of the source tree (kmod-optional/) in any line.
 */
/* #15: the Cgroups section lists every cgroup hierarchy of this node, as
 * libcgroup finds it, with its version and mount point: each cgroup and
 * cgroup2 mount of /proc/self/mountinfo with a controller (v1: the first
 * controller it names is in its row's name). */
TEST(report_lists_the_cgroup_hierarchies_libcgroup_finds)
{
	static const char *const known[] = { "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer",
					     "blkio", "pids", "hugetlb", "net_cls", "net_prio", "perf_event",
					     "rdma", "misc" };
	struct gr_error *err = NULL;
	char *out = NULL, line[4096];
	int mounts = 0;
	FILE *f;

	ASSERT_EQ(0, report(NULL, &out, &err)) TH_LOG("%s", err ? err->msg : "");
	f = fopen("/proc/self/mountinfo", "re");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		char mnt[1024], fstype[64], super[1024], re[4096], ctl[1100] = "";
		const char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fstype, super) != 2)
			continue;
		if (!strcmp(fstype, "cgroup")) {
			for (char *save = NULL, *o = strtok_r(super, ",", &save); o && !ctl[0];
			     o = strtok_r(NULL, ",", &save))
				for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
					if (!strcmp(o, known[i]))
						snprintf(ctl, sizeof(ctl), "([a-z_]+,)*%s(,[a-z_]+)*", o);
			if (!ctl[0])
				continue;   /* a named hierarchy (systemd's): no controller */
			snprintf(re, sizeof(re), "^  %s +v1 +%s$", ctl, mnt);
		} else if (!strcmp(fstype, "cgroup2")) {
			snprintf(re, sizeof(re), "^  [^ ]+ +v2 +%s$", mnt);
		} else {
			continue;
		}
		mounts++;
		EXPECT_TRUE(has_line(out, re)) TH_LOG("no row %s", re);
	}
	fclose(f);
	EXPECT_LT(0, mounts);
	if (getenv("GRIDRUN_CHECK_SHOW"))
		LOG_TEXT(out);
	free(out);
}

TEST(report_speaks_to_admin)
{
	struct gr_error *err = NULL;
	char *out = NULL;
	int r;

	r = report(NULL, &out, &err);
	ASSERT_EQ(0, r) {
		TH_LOG("%s", err ? err->msg : "");
	}
	EXPECT_FALSE(has_line(out, "(^|[^A-Za-z0-9_])[SRH][0-9]{1,3}([^A-Za-z0-9_]|$)")) {
		LOG_TEXT(out);
	}
	EXPECT_EQ(NULL, strstr(out, "kmod")) {
		LOG_TEXT(out);
	}
	free(out);
	gr_error_free(err);
}

/*
 * Probing the running kernel never contradicts its own config. Without a
 * config file (e.g. Debian's kernel in the VM lane: no IKCONFIG_PROC) there is
 * nothing to compare with; the probed report must then stand on its own.
 */
TEST(probe_agrees_with_config)
{
	char *probed = NULL, *configured = NULL, a[32], b[32], boot[300];
	const char *config = NULL, *o;
	struct gr_error *err = NULL;
	struct utsname u;

	ASSERT_EQ(0, uname(&u));
	snprintf(boot, sizeof(boot), "/boot/config-%s", u.release);
	if (access("/proc/config.gz", R_OK) == 0)
		config = "/proc/config.gz";
	else if (access(boot, R_OK) == 0)
		config = boot;
	ASSERT_EQ(0, report("", &probed, &err)) {
		TH_LOG("%s", err->msg);
	}
	EXPECT_TRUE(has_line(probed, "^Kernel options \\(probed"));
	EXPECT_TRUE(has_line(probed, "^  CONFIG_USER_NS +present "));
	if (!config) {
		TH_LOG("no kernel config file on this node: probed report only");
		free(probed);
		return;
	}
	ASSERT_EQ(0, report(config, &configured, &err));
	for (size_t i = 0; (o = gr_check_kconfig_option(i)); i++) {
		status_of(configured, o, a);
		status_of(probed, o, b);
		ASSERT_NE(0, a[0]);
		ASSERT_NE(0, b[0]);
		/* "unknown" is allowed: some options cannot be probed */
		if (strcmp(b, "unknown")) {
			EXPECT_STREQ(a, b) {
				TH_LOG("%s: %s says %s, the probe %s", o, config, a, b);
			}
		}
	}
	free(probed);
	free(configured);
}

/* As a non-root caller: root mode is lost, and says why. */
TEST(report_as_nobody)
{
	struct gr_error *err = NULL;
	char *out = NULL;

	if (geteuid() != 0)
		SKIP(return, "needs root to drop to uid 65534");
	ASSERT_EQ(0, setgroups(0, NULL));
	ASSERT_EQ(0, setresgid(65534, 65534, 65534));
	ASSERT_EQ(0, setresuid(65534, 65534, 65534));
	ASSERT_EQ(0, report(NULL, &out, &err)) {
		TH_LOG("%s", err ? err->msg : "");
	}
	EXPECT_TRUE(has_line(out, "^  root +lost +not running as root$"));
	EXPECT_TRUE(has_line(out, "^isolation: (helper|unprivileged|none \\(.*\\))$"));
	EXPECT_FALSE(has_line(out, "^isolation: root"));
	free(out);
}

/* Names in a Kconfig-notes file: "NAME=..." lines, or whole lines normalised. */
static int read_notes(const char *file, int whole, char names[][96], int max)
{
	const char *src = getenv("GRIDRUN_SRC");
	char path[512], line[256];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/Kconfig-notes/%s", src ? src : ".", file);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && n < max) {
		char *tok, *save = NULL;

		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (!whole) {
			snprintf(names[n++], 96, "%.95s", line);
			continue;
		}
		/* one space between words, so that the file may be aligned */
		names[n][0] = '\0';
		for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
			snprintf(names[n] + strlen(names[n]), 96 - strlen(names[n]), "%s%s",
				 names[n][0] ? " " : "", tok);
		n++;
	}
	fclose(f);
	return n;
}

static int in_list(char names[][96], int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return 1;
	return 0;
}

TEST(notes_config_matches_table)
{
	static char names[128][96];
	char want[96];
	const char *o;
	size_t i;
	int n;

	n = read_notes("config", 0, names, 128);
	ASSERT_LT(0, n) {
		TH_LOG("cannot read Kconfig-notes/config (set GRIDRUN_SRC): %s", strerror(-n));
	}
	for (i = 0; (o = gr_check_kconfig_option(i)); i++) {
		snprintf(want, sizeof(want), "%s=y", o);
		EXPECT_TRUE(in_list(names, n, want)) {
			TH_LOG("Kconfig-notes/config lacks %s", want);
		}
	}
	EXPECT_EQ(n, (int)i) {
		TH_LOG("Kconfig-notes/config has %d lines, the table %zu options", n, i);
	}
}

TEST(notes_sysctl_matches_table)
{
	static char rules[64][96];
	char buf[96];
	size_t i;
	int n;

	n = read_notes("sysctl", 1, rules, 64);
	ASSERT_LT(0, n);
	for (i = 0; gr_check_sysctl_rule(i, buf, sizeof(buf)); i++) {
		EXPECT_TRUE(in_list(rules, n, buf)) {
			TH_LOG("Kconfig-notes/sysctl lacks \"%s\"", buf);
		}
	}
	EXPECT_EQ(n, (int)i);
}

TEST(notes_readme_mentions_everything)
{
	const char *src = getenv("GRIDRUN_SRC"), *o;
	char path[512], buf[96], want[128];
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/Kconfig-notes/README.md", src ? src : ".");
	f = fopen(path, "re");
	ASSERT_NE(NULL, f);
	ASSERT_LT(0, getdelim(&text, &len, '\0', f));
	fclose(f);
	for (size_t i = 0; (o = gr_check_kconfig_option(i)); i++) {
		snprintf(want, sizeof(want), "`%s`", o);
		EXPECT_NE(NULL, strstr(text, want)) {
			TH_LOG("README.md does not explain %s", o);
		}
	}
	for (size_t i = 0; gr_check_sysctl_rule(i, buf, sizeof(buf)); i++) {
		snprintf(want, sizeof(want), "`%.*s`", (int)strcspn(buf, " "), buf);
		EXPECT_NE(NULL, strstr(text, want)) {
			TH_LOG("README.md does not explain %s", want);
		}
	}
	free(text);
}

TEST_HARNESS_MAIN
