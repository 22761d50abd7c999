// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * seccomp_guard_test - the set-id guard (runtime/seccomp-guard.c, threat
 * S34): on its own, every way of asking for S_ISUID/S_ISGID fails with
 * EPERM (x86-64 and x32 numbers), openat2 with ENOSYS, io_uring_setup with
 * EPERM, and the same calls without set-id bits work; end to end, a job in
 * a pool's sandbox (idmap where the filesystem allows it, and chown) that
 * copies dash and chmods it 6755, makes set-id dirs, files and nodes, and
 * cp -p's a setuid binary, leaves nothing set-id behind, even under a
 * profile that allows everything.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "gt.h"
#include "gt-world.h"
#include "gr-seccomp.h"

#define X32_BIT 0x40000000L
#define OWNER 4321

/* In a child under the guard alone: the errno of each call (0: it worked). */
static void guarded(struct __test_metadata *_metadata, const char *dir)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct gr_error *err = NULL;
		struct open_how how = { .flags = O_CREAT | O_WRONLY, .mode = 04755 };
		int fd, bad = 0;

		if (chdir(dir) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    gr_seccomp_guard_install_in_child(&err) < 0)
			_exit(99);
		fd = open("f", O_CREAT | O_WRONLY, 0755);
#define DENIED(call, e) do { errno = 0; if ((call) != -1 || errno != (e)) { \
		fprintf(stderr, "%s: errno %d\n", #call, errno); bad++; } } while (0)
#define WORKS(call) do { if ((call) < 0) { fprintf(stderr, "%s: %m\n", #call); bad++; } } while (0)
		DENIED(chmod("f", 04755), EPERM);
		DENIED(chmod("f", 02755), EPERM);
		DENIED(fchmod(fd, 06755), EPERM);
		DENIED(fchmodat(AT_FDCWD, "f", 04755, 0), EPERM);
		DENIED(syscall(452 /* fchmodat2 */, AT_FDCWD, "f", 02755, 0), EPERM);
		DENIED(open("o", O_CREAT | O_WRONLY, 04755), EPERM);
		DENIED(openat(AT_FDCWD, "o", O_CREAT | O_WRONLY, 02755), EPERM);
		DENIED(open(".", O_TMPFILE | O_WRONLY, 04755), EPERM);
		DENIED(creat("o", 06755), EPERM);
		DENIED(mkdir("d", 02755), EPERM);
		DENIED(mkdirat(AT_FDCWD, "d", 04755), EPERM);
		DENIED(mknod("n", S_IFREG | 04755, 0), EPERM);
		DENIED(mknodat(AT_FDCWD, "n", S_IFREG | 02755, 0), EPERM);
		DENIED(syscall(SYS_openat2, AT_FDCWD, "o", &how, sizeof(how)), ENOSYS);
		DENIED(syscall(SYS_io_uring_setup, 4, NULL), EPERM);
		/* x32's numbers: the filter sees them before the kernel refuses them */
		DENIED(syscall(SYS_chmod | X32_BIT, "f", 04755), EPERM);
		DENIED(syscall(SYS_openat | X32_BIT, AT_FDCWD, "o", O_CREAT | O_WRONLY, 04755), EPERM);
		/* no set-id bit: all as usual (sticky too) */
		WORKS(chmod("f", 0700));
		WORKS(fchmod(fd, 0755));
		WORKS(open("o", O_CREAT | O_WRONLY, 0644));
		WORKS(open("f", O_RDONLY, 04755));   /* no O_CREAT: the mode means nothing */
		WORKS(mkdir("d", 01777));
		WORKS(mknod("n", S_IFREG | 0644, 0));
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) TH_LOG("status %#x", status);
}

TEST(guard_denies_every_set_id_mode_and_nothing_else)
{
	char *dir = gt_tmpdir();

	guarded(_metadata, dir);
	gt_rm_rf(dir);
	free(dir);
}

TEST(guard_i386_numbers_are_asm_unistd_32s)
{
	/* seccomp-guard.c writes them down: they must be the kernel's */
	char *h = gt_read("/usr/include/x86_64-linux-gnu/asm/unistd_32.h");
	static const struct { const char *name; int nr; } t[] = {
		{ "open", 5 }, { "creat", 8 }, { "mknod", 14 }, { "chmod", 15 }, { "mkdir", 39 },
		{ "fchmod", 94 }, { "openat", 295 }, { "mkdirat", 296 }, { "mknodat", 297 },
		{ "fchmodat", 306 }, { "io_uring_setup", 425 }, { "openat2", 437 },
	};

	ASSERT_NE(NULL, h);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		EXPECT_NE(NULL, strstr(h, gt_f("#define __NR_%s %d\n", t[i].name, t[i].nr))) {
			TH_LOG("%s", t[i].name);
		}
	}
	free(h);
}

/* Any S_ISUID/S_ISGID under dir: the first such path, else NULL. */
static char *setid_under(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char *found = NULL;

	while (d && !found && (de = readdir(d))) {
		char *p;
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
			abort();
		if (lstat(p, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)))
			found = strdup(p);
		else if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			found = setid_under(p);
		free(p);
	}
	if (d)
		closedir(d);
	return found;
}

#define SCRIPT \
	"cp /bin/dash $SBX/tool; chmod 6755 $SBX/tool; echo chmod=$?; " \
	"mkdir -m 2755 $SBX/d 2>/dev/null; echo mkdir=$?; " \
	"install -m 4755 /bin/dash $SBX/inst 2>/dev/null; echo install=$?; " \
	"cp -p /bin/su $SBX/su 2>/dev/null; echo cp-p-made=$(test -e $SBX/su && echo y); " \
	"chmod 1777 $SBX/tool && echo sticky-ok"

/* Root mode, a pool, the sandbox an account's: the job leaves nothing set-id. */
static void pool_job(struct __test_metadata *_metadata, const char *way, const char *seccomp)
{
	char *dir = gt_tmpdir(), *sbx, *spec, *conf, *gr, *args, *found;
	struct gt_result res = { 0 };

	ASSERT_LE(0, asprintf(&sbx, "%s/execute/j", dir));
	gt_mkdirs(sbx, 0700, OWNER, OWNER);
	conf = gt_write(dir, "gridrun.conf", "[runtime]\nlease_dir = %s/leases\nsandbox_handover = %s\n\n"
			"[pool atlas]\nfirst_uid = %u\nranges = 1\naccounts = atlas001\nquarantine_seconds = 0\n",
			dir, way, GT_FIRST);
	chmod(conf, 0644);
	setenv("GRIDRUN_CONFIG", conf, 1);
	setenv("GRIDRUN_STATE_DIR", gt_f("%s/state", dir), 1);
	ASSERT_LE(0, asprintf(&args, "[\"/bin/sh\", \"-c\", \"SBX=%s; %s\"]", sbx, SCRIPT));
	ASSERT_LE(0, asprintf(&gr, "\"job_id\": \"setid-%s-%d\", \"pool\": \"atlas\", \"account\": \"atlas001\", "
			      "\"sandbox\": \"%s\"", way, (int)getpid(), sbx));
	spec = gt_spec(dir, args, seccomp, gr);
	setenv("GRIDRUN_DEBUG", "1", 1);
	gt_run_spec(spec, &res);
	unsetenv("GRIDRUN_DEBUG");
	unsetenv("GRIDRUN_CONFIG");
	EXPECT_EQ(0, res.status) TH_LOG("stderr: %s", res.err);
	EXPECT_NE(NULL, strstr(res.err, gt_f("sandbox hand-over %s", way))) TH_LOG("%s", res.err);
	EXPECT_NE(NULL, strstr(res.out, "chmod=1\nmkdir=1\ninstall=1\n")) TH_LOG("out: %s", res.out);
	EXPECT_NE(NULL, strstr(res.out, "sticky-ok\n")) TH_LOG("out: %s", res.out);
	found = setid_under(sbx);
	EXPECT_EQ(NULL, found) TH_LOG("%s is set-id on the host after the job (%s)", found, way);
	free(found);
	gt_result_free(&res);
	gt_rm_rf(dir);
	free(dir);
	free(sbx);
	free(spec);
	free(conf);
	free(gr);
	free(args);
}

TEST(S34_pool_job_in_an_idmapped_sandbox_leaves_nothing_set_id)
{
	char *dir = gt_tmpdir();
	bool idmap = gt_idmap_expected(dir);

	gt_rm_rf(dir);
	free(dir);
	/* where the filesystem has no idmapped mounts (the v2 lane's overlay), auto is chown */
	pool_job(_metadata, idmap ? "idmap" : "chown", NULL);
}

TEST(S34_pool_job_in_a_chowned_sandbox_leaves_nothing_set_id)
{
	pool_job(_metadata, "chown", NULL);
}

TEST(S34_a_profile_that_allows_everything_does_not_lift_the_guard)
{
	char *dir = gt_tmpdir();
	bool idmap = gt_idmap_expected(dir);

	gt_rm_rf(dir);
	free(dir);
	pool_job(_metadata, idmap ? "idmap" : "chown",
		 "\"linux\": {\"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\"}}");
}

TEST_HARNESS_MAIN
