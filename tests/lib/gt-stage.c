/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gt-stage.c - what the tests run as other uids must be reachable by them.
 *
 * Tests run gridrun as a pilot or an unprivileged user, gridrun-exporter
 * and gridrun-condor as other uids, and have gridrun (as that uid) bind the
 * probes into jobs. From a clone under a 0700 directory (root cloning into
 * /root/src) none of that is reachable, and every such exec ended in the
 * fixtures' status 121 with no word. So, before main(), a test binary
 * running as root asks uid 65534 (no groups) to access(X_OK) $GRIDRUN and
 * $GRIDRUN_BUILD's binaries; if any is out of its reach, all of them are
 * copied into a scratch directory of the test binary's own (gt_tmpdir(),
 * 0755, laid out as the build directory) and $GRIDRUN and $GRIDRUN_BUILD
 * point there, so that every helper and every child agrees. The process
 * that made it removes it at exit (the harness's test children end with
 * _exit()). Staging that fails is one line on stderr and exit 1; a
 * reachable build (the usual case) is used in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gt.h"

#define GT_OTHER_UID 65534

/* build-relative paths of what other uids run; "gridrun" stands for $GRIDRUN */
static const char *const staged[] = {
	"gridrun", "gridrun-helper", "gridrun-exporter", "gridrun-condor", "tests/gr-probe", "tests/gr-sysprobe",
};
#define NSTAGED (sizeof(staged) / sizeof(staged[0]))

static char *stage_dir;
static pid_t stage_pid;

static void fail(const char *what, const char *path)
{
	fprintf(stderr, "# the test uids cannot reach the binaries under test and staging them failed: %s `%s`: %s\n",
		what, path, strerror(errno));
	exit(1);
}

/* Whether uid GT_OTHER_UID, without groups, may execute each of paths. */
static bool others_reach(char *const paths[], size_t n)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		fail("fork", "");
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(GT_OTHER_UID, GT_OTHER_UID, GT_OTHER_UID) < 0 ||
		    setresuid(GT_OTHER_UID, GT_OTHER_UID, GT_OTHER_UID) < 0)
			_exit(2);
		for (size_t i = 0; i < n; i++)
			if (paths[i] && access(paths[i], X_OK) < 0)
				_exit(1);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			fail("waitpid", "");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		fail("open", from);
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	if (out < 0)
		fail("create", to);
	while ((n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0)) > 0)
		;
	if (n < 0)
		fail("copy to", to);
	if (fchmod(out, 0755) < 0 || close(out) < 0)
		fail("chmod", to);
	close(in);
}

static void unstage(void)
{
	if (stage_dir && getpid() == stage_pid)
		gt_rm_rf(stage_dir);
}

__attribute__((constructor)) static void gt_stage(void)
{
	const char *build = getenv("GRIDRUN_BUILD") && *getenv("GRIDRUN_BUILD") ? getenv("GRIDRUN_BUILD") : "build";
	char *from[NSTAGED] = { NULL }, *tests;
	struct stat st;

	if (geteuid() != 0)
		return;     /* no test switches uid then */
	for (size_t i = 0; i < NSTAGED; i++) {
		char *p = NULL;

		if (i == 0)
			p = realpath(gt_gridrun(), NULL);
		else if (asprintf(&p, "%s/%s", build, staged[i]) >= 0 && stat(p, &st) < 0) {
			free(p);
			p = NULL;   /* not built here (e.g. an ASan build without it) */
		}
		from[i] = p;
	}
	if (!from[0] || others_reach(from, NSTAGED)) {
		for (size_t i = 0; i < NSTAGED; i++)
			free(from[i]);
		return;
	}
	stage_dir = gt_tmpdir();
	stage_pid = getpid();
	atexit(unstage);
	if (asprintf(&tests, "%s/tests", stage_dir) < 0 || mkdir(tests, 0755) < 0)
		fail("mkdir", stage_dir);
	for (size_t i = 0; i < NSTAGED; i++) {
		char *to;

		if (!from[i])
			continue;
		if (asprintf(&to, "%s/%s", stage_dir, staged[i]) < 0)
			fail("asprintf", staged[i]);
		copy_file(from[i], to);
		if (i == 0 && setenv("GRIDRUN", to, 1) < 0)
			fail("setenv", to);
		free(to);
		free(from[i]);
	}
	free(tests);
	if (setenv("GRIDRUN_BUILD", stage_dir, 1) < 0)
		fail("setenv", stage_dir);
	if (!others_reach((char *[]){ stage_dir }, 1))
		fail("reach", stage_dir);
}
