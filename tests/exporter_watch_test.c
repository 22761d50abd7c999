/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exporter_watch_test - what the HTTP exporter keeps between scrapes may
 * not make it miss a change: it looks at a state file only after inotify
 * reported an event in its job's directory, lists the state directory only
 * after an entry came or went, and hears of ended supervisors from an epoll
 * set of their pidfds. Each change below must show in the very next scrape:
 * a state file replaced (new labels), replaced by a FIFO and back, a new
 * entry, an entry removed, a supervisor that ended, the whole state
 * directory replaced by another. Jobs that come and go leave no fd behind.
 * A v1 job's cpu directory (nothing is read there) is not opened: a job
 * whose cpu directory went is read as before. A v1 job's memory limit file
 * is read only where memory.stat says some limit applies, and never kept
 * open; the limits shown are the same.
 *
 * The jobs are what a supervisor leaves, as in exporter_scale_test: real
 * job cgroups (v1 or v2) and state entries, each with its own live
 * "supervisor" (a child that sleeps); the exporter and the scratch
 * directory are gt-exporter.h's `ex` fixture's. A test removes its jobs at
 * its end; one that fails half-way leaves its supervisors to the fixture's
 * teardown, whose gc removes the cgroups the state still names.
 */
#include <dirent.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "cgroups.h"
#include "gt-exporter.h"
#include "state.h"
#undef ARRAY_SIZE   /* util.h has its own */
#include "util.h"

#define JOBS 4

/* A fake job: its cgroup, its "supervisor" (self->jobs[k], which the
 * fixture's teardown ends, then gc removes what the state still names). */
struct wjob {
	char id[48];
	unsigned long long start;
	struct gr_cgroup *cg;
};
static struct wjob wj[JOBS];

/* The state entry of job k, with this account. */
static char *state_json(FIXTURE_DATA(ex) *self, int k, const char *account)
{
	struct gr_job_state st = { .job_id = wj[k].id, .supervisor_pid = self->jobs[k],
				   .supervisor_start = wj[k].start,
				   .supervisor_start_epoch_ns = 1700000000000000000ULL, .account = (char *)account };
	const char *paths[8];
	char *json = NULL;
	size_t n = gr_cgroup_paths(wj[k].cg, paths, 8);

	st.cgroup_version = gr_cgroup_version(wj[k].cg);
	st.ncgroups = n;
	for (size_t i = 0; i < n; i++)
		st.cgroups[i] = (char *)paths[i];
	if (gr_job_state_format(&st, &json, NULL) < 0)
		return NULL;
	return json;
}

/* Job k (named name): its cgroup and supervisor, made once, and its state
 * entry in self->state. */
static int job_make(FIXTURE_DATA(ex) *self, int k, const char *name, const char *account)
{
	struct gr_resources res = { 0 };
	struct gr_error *err = NULL;
	char *json;
	int r;

	snprintf(wj[k].id, sizeof(wj[k].id), "watch-%s-%d", name, (int)getpid());
	if (!wj[k].cg && gr_cgroup_create(wj[k].id, &res, &wj[k].cg, &err) < 0) {
		fprintf(stderr, "cgroup %s: %s\n", wj[k].id, err->msg);
		gr_error_free(err);
		return -1;
	}
	if (self->jobs[k] <= 0) {
		pid_t pid = fork();

		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			pause();
			_exit(0);
		}
		self->jobs[k] = pid;
		if (!self->ids[k])
			self->ids[k] = strdup(wj[k].id);
		if (self->njobs <= k)
			self->njobs = k + 1;
		nap(20);
		wj[k].start = gr_proc_starttime(pid);
	}
	json = state_json(self, k, account);
	r = json ? gr_state_claim(self->state, wj[k].id, json, &err) : -1;
	if (r < 0 && err) {
		fprintf(stderr, "claim %s: %s\n", wj[k].id, err->msg);
		gr_error_free(err);
	}
	free(json);
	return r;
}

/* The supervisor of job k ends. */
static void sup_end(FIXTURE_DATA(ex) *self, int k)
{
	if (self->jobs[k] > 0) {
		kill(self->jobs[k], SIGKILL);
		waitpid(self->jobs[k], NULL, 0);
	}
	self->jobs[k] = 0;
}

/* Everything the test made, on its way out. */
static void jobs_end(FIXTURE_DATA(ex) *self)
{
	for (int k = 0; k < JOBS; k++) {
		sup_end(self, k);
		gr_state_release(self->state, wj[k].id);
		if (wj[k].cg)
			gr_cgroup_destroy(wj[k].cg, NULL);
		wj[k].cg = NULL;
	}
}

/* Three jobs (a, b, c) and the exporter. */
static int start(FIXTURE_DATA(ex) *self)
{
	chmod(self->dir, 0755);
	if (mkdir(self->state, 0755) < 0 || job_make(self, 0, "a", "acct") < 0 || job_make(self, 1, "b", "acct") < 0 ||
	    job_make(self, 2, "c", "acct") < 0)
		return -1;
	return exporter_start(self, -1, NULL, NULL) > 0 ? 0 : -1;
}

/* A fresh scrape (one younger than 200 ms would be served again). */
static char *scrape(FIXTURE_DATA(ex) *self)
{
	nap(250);
	return get(self->port, "/metrics");
}

/* The account label job jb has in text, "" when it is not listed. */
static const char *account_of(const char *text, const struct wjob *jb)
{
	static char acct[64];
	char key[128];
	const char *p;

	snprintf(key, sizeof(key), "\ngridrun_job_pids{job_id=\"%s\",account=\"", jb->id);
	p = text ? strstr(text, key) : NULL;
	acct[0] = '\0';
	if (p)
		snprintf(acct, sizeof(acct), "%.*s", (int)strcspn(p + strlen(key), "\""), p + strlen(key));
	return acct;
}

static int running(const char *text)
{
	const char *p = text ? strstr(text, "\ngridrun_jobs_running ") : NULL;

	return p ? atoi(p + strlen("\ngridrun_jobs_running ")) : -1;
}

/* The exporter's fds but sockets (connections come and go on their own);
 * with a name, only those on a file of that name. */
static int fds_named(pid_t pid, const char *name)
{
	char path[64], link[4096], target[256];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && (de = readdir(d))) {
		ssize_t k;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
		k = readlink(link, target, sizeof(target) - 1);
		if (k > 0)
			target[k] = '\0';
		n += k > 0 && strncmp(target, "socket:", 7) &&
		     (!name || (strrchr(target, '/') && !strcmp(strrchr(target, '/') + 1, name)));
	}
	if (d)
		closedir(d);
	return n;
}

static int fds_of(pid_t pid)
{
	return fds_named(pid, NULL);
}

/* state_dir/id/state.json replaced (renamed over) by a FIFO, or back by json. */
static int replace_state(const char *state_dir, const char *id, const char *json)
{
	char tmp[4096], path[4096];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/%s/.replace.tmp", state_dir, id);
	snprintf(path, sizeof(path), "%s/%s/state.json", state_dir, id);
	if (!json) {
		if (mkfifo(tmp, 0644) < 0)
			return -1;
	} else {
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, json, strlen(json)) != (ssize_t)strlen(json))
			return -1;
		close(fd);
	}
	return rename(tmp, path);
}

TEST_F_TIMEOUT(ex, every_change_shows_in_the_next_scrape, 120)
{
	struct wjob *a = &wj[0], *b = &wj[1], *c = &wj[2], *d = &wj[3];
	char *text, *json, old[4096];

	ASSERT_EQ(0, start(self));
	text = scrape(self);
	ASSERT_NE(NULL, text);
	EXPECT_EQ(3, running(text));
	EXPECT_STREQ("acct", account_of(text, a));
	free(text);

	/* the state file replaced, as gridrun replaces it (rename over) */
	json = state_json(self, 0, "other");
	ASSERT_NE(NULL, json);
	ASSERT_EQ(0, replace_state(self->state, a->id, json));
	free(json);
	text = scrape(self);
	EXPECT_STREQ("other", account_of(text, a)) TH_LOG("a replaced state file was not read again");
	EXPECT_EQ(3, running(text));
	free(text);

	/* a FIFO put in its place: not a job; a state file back: a job again */
	ASSERT_EQ(0, replace_state(self->state, b->id, NULL));
	text = scrape(self);
	EXPECT_STREQ("", account_of(text, b));
	EXPECT_EQ(2, running(text));
	free(text);
	json = state_json(self, 1, "back");
	ASSERT_NE(NULL, json);
	ASSERT_EQ(0, replace_state(self->state, b->id, json));
	free(json);
	text = scrape(self);
	EXPECT_STREQ("back", account_of(text, b)) TH_LOG("a state file back after a FIFO was not seen");
	EXPECT_EQ(3, running(text));
	free(text);

	/* an entry made, an entry removed */
	ASSERT_EQ(0, job_make(self, 3, "d", "new"));
	gr_state_release(self->state, c->id);
	text = scrape(self);
	EXPECT_STREQ("new", account_of(text, d)) TH_LOG("a new entry was not listed");
	EXPECT_STREQ("", account_of(text, c)) TH_LOG("a removed entry is still listed");
	EXPECT_EQ(3, running(text));
	free(text);

	/* a supervisor ended (its pidfd in the epoll set) */
	sup_end(self, 3);
	text = scrape(self);
	EXPECT_STREQ("", account_of(text, d)) TH_LOG("an ended supervisor's job is still listed");
	EXPECT_EQ(2, running(text));
	free(text);

	/* the whole directory replaced by another with an entry of the same
	 * name (a new inode: what was watched is not this directory) */
	snprintf(old, sizeof(old), "%s/state.old", self->dir);
	ASSERT_EQ(0, rename(self->state, old));
	ASSERT_EQ(0, mkdir(self->state, 0755));
	ASSERT_EQ(0, job_make(self, 0, "a", "third"));
	text = scrape(self);
	EXPECT_STREQ("third", account_of(text, a)) TH_LOG("the new state directory's entry was not read");
	EXPECT_STREQ("", account_of(text, b));
	EXPECT_EQ(1, running(text));
	free(text);
	/* and it is watched in turn */
	json = state_json(self, 0, "fourth");
	ASSERT_NE(NULL, json);
	ASSERT_EQ(0, replace_state(self->state, a->id, json));
	free(json);
	text = scrape(self);
	EXPECT_STREQ("fourth", account_of(text, a));
	free(text);
	gt_rm_rf(old);
	jobs_end(self);
}

TEST_F_TIMEOUT(ex, jobs_that_come_and_go_leave_no_fd_behind, 120)
{
	static const char *const names[] = { "a", "b", "c" };
	char *text;
	int with3, without;

	ASSERT_EQ(0, start(self));
	text = scrape(self);
	ASSERT_EQ(3, running(text));
	free(text);
	with3 = fds_of(self->exporter);
	for (int i = 0; i < 3; i++)
		gr_state_release(self->state, wj[i].id);
	text = scrape(self);
	ASSERT_EQ(0, running(text));
	free(text);
	without = fds_of(self->exporter);
	EXPECT_LT(without, with3);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 3; i++)
			ASSERT_EQ(0, job_make(self, i, names[i], "acct"));
		text = scrape(self);
		EXPECT_EQ(3, running(text));
		free(text);
		EXPECT_EQ(with3, fds_of(self->exporter)) TH_LOG("round %d", round);
		for (int i = 0; i < 3; i++)
			gr_state_release(self->state, wj[i].id);
		text = scrape(self);
		EXPECT_EQ(0, running(text));
		free(text);
		EXPECT_EQ(without, fds_of(self->exporter)) TH_LOG("round %d", round);
	}
	jobs_end(self);
}

/* v1 only: the cpu hierarchy holds nothing the exporter reads. */
TEST_F_TIMEOUT(ex, a_v1_cpu_directory_is_not_opened, 120)
{
	const char *paths[8], *cpu = NULL;
	char *cmd, *prom, *text;
	size_t n;

	ASSERT_EQ(0, start(self));
	if (gr_cgroup_version(wj[0].cg) != 1) {
		TH_LOG("cgroup v2: no cpu directory of its own");
		jobs_end(self);
		return;
	}
	n = gr_cgroup_paths(wj[0].cg, paths, 8);
	for (size_t i = 0; i < n; i++)
		if (strstr(paths[i], "/cpu/"))
			cpu = paths[i];
	ASSERT_NE(NULL, cpu) TH_LOG("no v1 cpu hierarchy on this node");
	ASSERT_EQ(0, rmdir(cpu));
	prom = S(self, "%s/one.prom", self->dir);
	cmd = S(self, "timeout -s KILL 60 %s --textfile %s --state-dir %s", exporter_bin(), prom, self->state);
	ASSERT_EQ(0, system(cmd));
	text = gt_read(prom);
	EXPECT_STREQ("acct", account_of(text, &wj[0])) TH_LOG("a job without its cpu directory was dropped");
	EXPECT_NE(NULL, strstr(text, "\ngridrun_exporter_jobs_unreadable 0\n"));
	free(text);
	text = scrape(self);
	EXPECT_STREQ("acct", account_of(text, &wj[0]));
	free(text);
	jobs_end(self);
}

/* The value of job id's memory limit series in text, "" when it has none. */
static const char *limit_of(const char *text, const char *id)
{
	static char v[32];
	char key[128];
	const char *p;

	snprintf(key, sizeof(key), "\ngridrun_job_memory_limit_bytes{job_id=\"%s\",", id);
	p = text ? strstr(text, key) : NULL;
	v[0] = '\0';
	if (p && (p = strchr(p + 1, '}')))
		snprintf(v, sizeof(v), "%.*s", (int)strcspn(p + 2, "\n"), p + 2);
	return v;
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	close(fd);
	return r;
}

/*
 * v1: a job's memory.limit_in_bytes is read only where memory.stat's
 * hierarchical_memory_limit (the least of its own and its ancestors'
 * limits) says there is one, and is never kept open. Job a has no limit
 * anywhere; job b none of its own, under a cgroup limited to 512 MiB (its
 * state names only its memory directory, below that cgroup); job c its own
 * 256 MiB. Only c has a limit series, in a one-shot and a scrape alike.
 */
TEST_F_TIMEOUT(ex, a_v1_limit_file_is_read_only_below_a_limit, 120)
{
	const char *paths[8], *mem = NULL;
	char *prom, *text, *cmd, *json = NULL, *holder = NULL, *bdir = NULL;
	struct gr_job_state st = { 0 };
	struct gr_error *err = NULL;
	size_t n;

	chmod(self->dir, 0755);
	ASSERT_EQ(0, mkdir(self->state, 0755));
	ASSERT_EQ(0, job_make(self, 0, "a", "acct"));
	ASSERT_EQ(0, job_make(self, 2, "c", "acct"));
	if (gr_cgroup_version(wj[0].cg) != 1) {
		TH_LOG("cgroup v2: memory.max is read as before");
		jobs_end(self);
		return;
	}
	n = gr_cgroup_paths(wj[2].cg, paths, 8);
	for (size_t i = 0; i < n; i++)
		if (strstr(paths[i], "/memory/"))
			mem = paths[i];
	ASSERT_NE(NULL, mem) TH_LOG("no v1 memory hierarchy on this node");
	ASSERT_EQ(0, write_file(mem, "memory.limit_in_bytes", "268435456"));
	/* job b: a supervisor, a memory directory below a limited holder */
	ASSERT_EQ(0, job_make(self, 1, "b", "acct"));
	holder = S(self, "%.*s/exp-limit-%d", (int)(strrchr(mem, '/') - mem), mem, (int)getpid());
	bdir = S(self, "%s/gridrun-%s", holder, wj[1].id);
	ASSERT_EQ(0, mkdir(holder, 0755));
	ASSERT_EQ(0, write_file(holder, "memory.limit_in_bytes", "536870912"));
	ASSERT_EQ(0, mkdir(bdir, 0755));
	st = (struct gr_job_state){ .job_id = wj[1].id, .supervisor_pid = self->jobs[1], .supervisor_start = wj[1].start,
				    .supervisor_start_epoch_ns = 1700000000000000000ULL, .account = "acct",
				    .cgroup_version = 1, .ncgroups = 1, .cgroups = { bdir } };
	ASSERT_EQ(0, gr_job_state_format(&st, &json, &err));
	ASSERT_EQ(0, replace_state(self->state, wj[1].id, json));
	free(json);

	prom = S(self, "%s/one.prom", self->dir);
	cmd = S(self, "timeout -s KILL 60 %s --textfile %s --state-dir %s", exporter_bin(), prom, self->state);
	ASSERT_EQ(0, system(cmd));
	ASSERT_GT(exporter_start(self, -1, NULL, NULL), 0);
	for (int pass = 0; pass < 2; pass++) {
		text = pass ? scrape(self) : gt_read(prom);
		EXPECT_EQ(3, running(text)) TH_LOG("pass %d", pass);
		/* b has only its memory directory: no pids series */
		EXPECT_NE(NULL, strstr(text, S(self, "\ngridrun_job_memory_bytes{job_id=\"%s\",", wj[1].id)))
			TH_LOG("job b, pass %d", pass);
		EXPECT_STREQ("", limit_of(text, wj[0].id)) TH_LOG("job a, pass %d", pass);
		EXPECT_STREQ("", limit_of(text, wj[1].id)) TH_LOG("job b, pass %d", pass);
		EXPECT_STREQ("268435456", limit_of(text, wj[2].id)) TH_LOG("job c, pass %d", pass);
		free(text);
	}
	/* what the daemon keeps open: memory.stat of each, no limit file */
	EXPECT_EQ(3, fds_named(self->exporter, "memory.stat"));
	EXPECT_EQ(0, fds_named(self->exporter, "memory.limit_in_bytes"));
	gr_state_release(self->state, wj[1].id);
	rmdir(bdir);
	rmdir(holder);
	jobs_end(self);
}

TEST_HARNESS_MAIN
