/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gt-pool-run.h - what pool_run_test and pool_gc_test share: the `pool`
 * fixture of root-mode jobs in leased ranges (a scratch directory with the
 * lease and state directories), the site configuration with pool atlas that
 * configure() writes, job specs of account atlas001, a look at the pool
 * directory and at the node's tasks, and a job's host map. Include it after
 * kselftest_harness.h. (gt-pool.h is lease_test's fixture, of the library.)
 */
#ifndef GRIDRUN_GT_POOL_RUN_H
#define GRIDRUN_GT_POOL_RUN_H

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gt.h"
#include "gt-world.h"

#define FIRST GT_FIRST
#define UNPRIV_UID 23456

FIXTURE(pool) {
	char *dir, *leases, *state;
	struct gt_result res;
};

FIXTURE_SETUP(pool)
{
	self->dir = gt_tmpdir();
	ASSERT_LE(0, asprintf(&self->leases, "%s/leases", self->dir));
	ASSERT_LE(0, asprintf(&self->state, "%s/state", self->dir));
	setenv("GRIDRUN_STATE_DIR", self->state, 1);
	memset(&self->res, 0, sizeof(self->res));
}

FIXTURE_TEARDOWN(pool)
{
	gt_result_free(&self->res);
	gt_rm_rf(self->dir);
	free(self->dir);
	free(self->leases);
	free(self->state);
}

static inline void configure(struct _test_data_pool *self, unsigned ranges)
{
	char *conf = gt_write(self->dir, "gridrun.conf",
			      "[runtime]\nlease_dir = %s\n\n[pool atlas]\nfirst_uid = %u\nranges = %u\n"
			      "accounts = atlas001\nquarantine_seconds = 600\n",
			      self->leases, FIRST, ranges);

	chmod(conf, 0644);
	setenv("GRIDRUN_CONFIG", conf, 1);
	free(conf);
}

static inline char *path_in(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

/* A spec for job NAME (job id NAME-<test pid>: job ids name cgroups, which
 * other checkouts' test runs on the node may hold) of account atlas001 in pool atlas, running sh -c
 * SCRIPT with $0 = "mark-NAME-<test pid>", in sandbox DIR/execute/NAME
 * (made with mode and owner uid). SBX in the script is that sandbox. */
static inline char *job(struct _test_data_pool *self, const char *name, const char *script, mode_t mode,
		 uid_t owner, const char *extra_gr)
{
	char *sbx, *mark, *body, *gr, *a, *spec;
	json_t *args;

	if (asprintf(&sbx, "%s/execute/%s", self->dir, name) < 0 ||
	    asprintf(&mark, "mark-%s-%d", name, (int)getpid()) < 0 ||
	    asprintf(&body, "SBX=%s; %s", sbx, script) < 0 ||
	    asprintf(&gr, "\"job_id\": \"%s-%d\", \"pool\": \"atlas\", \"account\": \"atlas001\", "
		     "\"sandbox\": \"%s\"%s", name, (int)getpid(), sbx, extra_gr ? extra_gr : "") < 0)
		abort();
	gt_mkdirs(sbx, mode, -1, -1);
	if (chown(sbx, owner, owner) < 0)   /* gt_mkdirs() takes ids as int */
		abort();
	args = json_pack("[ssss]", "/bin/sh", "-c", body, mark);
	a = json_dumps(args, JSON_COMPACT);
	spec = gt_spec(self->dir, a, NULL, gr);
	json_decref(args);
	free(a);
	free(gr);
	free(body);
	free(mark);
	free(sbx);
	return spec;
}

static inline void gridrun_cmd(const char *cmd, struct gt_result *res)
{
	char *argv[] = { (char *)gt_gridrun(), (char *)cmd, NULL };

	gt_run_argv(argv, -1, res);
}

/* Count the pool's N.lease and N.quarantine files; -1 if no pool dir. */
static inline int count_files(struct _test_data_pool *self, const char *suffix)
{
	char *d = path_in(self->leases, "atlas");
	DIR *dir = opendir(d);
	struct dirent *de;
	int n = 0;

	free(d);
	if (!dir)
		return -1;
	while ((de = readdir(dir)))
		if (strlen(de->d_name) > strlen(suffix) &&
		    !strcmp(de->d_name + strlen(de->d_name) - strlen(suffix), suffix))
			n++;
	closedir(dir);
	return n;
}

/* Wait until no task on the node has a uid or gid from first on (count ids). */
static inline bool wait_no_tasks_in(unsigned long long first, unsigned long long count, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		DIR *d = opendir("/proc");
		struct dirent *de;
		bool found = false;

		while (d && !found && (de = readdir(d))) {
			char path[300], *st, *l;

			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
			st = gt_read(path);
			for (l = st; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
				unsigned long long a, b, c, e;

				if ((!strncmp(l, "Uid:", 4) || !strncmp(l, "Gid:", 4)) &&
				    sscanf(l + 4, "%llu %llu %llu %llu", &a, &b, &c, &e) == 4)
					for (int i = 0; i < 4; i++) {
						unsigned long long v = i == 0 ? a : i == 1 ? b : i == 2 ? c : e;

						found |= v >= first && v < first + count;
					}
			}
			free(st);
		}
		if (d)
			closedir(d);
		if (!found)
			return true;
		usleep(20000);
	}
	return false;
}

#define WAIT_SCRIPT "touch $SBX/ready; while [ ! -e $SBX/go ]; do sleep 0.02; done"

/* The job's init pid from its state, or 0. */
static inline int job_pid(struct _test_data_pool *self, const char *name)
{
	char *p, *text;
	json_t *o;
	int pid = 0;

	if (asprintf(&p, "%s/%s-%d/state.json", self->state, name, (int)getpid()) < 0)
		abort();
	text = gt_read(p);
	o = text ? json_loads(text, 0, NULL) : NULL;
	if (o)
		pid = (int)json_integer_value(json_object_get(o, "pid"));
	json_decref(o);
	free(text);
	free(p);
	return pid;
}

/* The host's view of a job's uid_map: its one extent. */
static inline bool host_map(int pid, unsigned long long *inner, unsigned long long *first,
		     unsigned long long *count)
{
	char path[64], *text;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%d/uid_map", pid);
	text = gt_read(path);
	ok = text && sscanf(text, "%llu %llu %llu", inner, first, count) == 3 && !strchr(strchr(text, '\n') + 1, ' ');
	free(text);
	return ok;
}

#endif
