/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * job_start_test - starting a job through the job API (job.h, issue 15):
 * gr_job_start() returns with the job running (its init alive, its cgroup
 * made, its state entry naming it); a held job (opts.hold, OCI "created")
 * runs only when released; a failure once the job's process exists leaves
 * nothing behind but its range's quarantine; gr_run()'s exec_done hook (the
 * "running" state) is skipped for a program that has ended already. The rest of the job API
 * (the state entry's format, prepare, signals, end, kill, gc, structure)
 * is job_api_test's; the fixture is tests/lib/gt-life.h.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "cg-discover.h"
#include "cg-internal.h"
#include "cgroups.h"
#include "config.h"
#include "gt.h"
#include "gt-world.h"
#include "job.h"
#include "state.h"
#include "supervisor.h"
#include "gt-life.h"

/* The job's state entry, parsed (st zeroed when there is none). */
static int entry(struct _test_data_life *self, const char *id, struct gr_job_state *st)
{
	char *text = gt_read(gt_f("%s/%s/state.json", self->state, id));
	int r;

	memset(st, 0, sizeof(*st));
	if (!text)
		return -ENOENT;
	r = gr_job_state_parse(text, 0, st, NULL);
	free(text);
	return r;
}

/* gr_job_start() returns with the job running (until_exec): before
 * gr_job_wait() its init lives, its cgroup exists and its state entry says
 * running with that pid; the job goes on by itself, and wait collects its
 * status. */
TEST_F_TIMEOUT(life, start_returns_with_the_job_running, 60)
{
	struct gr_job_options opts = { .say = said, .data = self->said, .until_exec = true };
	struct gr_error *err = NULL;
	struct gr_job *job = NULL;
	struct gr_job_state st;
	char *args = NULL, *spec, *go = strdup(gt_f("%s/go", self->sbx));
	int status = -1;

	ASSERT_LE(0, asprintf(&args, "[\"/bin/sh\", \"-c\", \"while [ ! -e %s ]; do sleep 0.02; done; exit 7\"]", go));
	spec = life_spec(self, "api-live", args, NULL);
	ASSERT_EQ(0, gr_job_prepare_path(spec, self->cfg, &opts, &job, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(0, gr_job_start(job, &err)) TH_LOG("%s", err->msg);
	/* running, and not waited for */
	EXPECT_EQ(NULL, gr_job_result(job));
	ASSERT_EQ(0, entry(self, "api-live", &st));
	EXPECT_TRUE(st.running);
	EXPECT_LT(0, st.pid);
	EXPECT_EQ(0, kill(st.pid, 0)) TH_LOG("the job's init %d is not alive", st.pid);
	EXPECT_EQ(getpid(), st.supervisor_pid);
	EXPECT_LT(0, gt_cgroup_dirs("api-live"));
	usleep(200 * 1000);
	EXPECT_EQ(0, kill(st.pid, 0));   /* still waiting for go */
	free(gt_write(self->sbx, "go", "%s", ""));
	ASSERT_EQ(0, gr_job_wait(job, &status, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(7, status);
	EXPECT_EQ(GR_REASON_EXITED, gr_job_result(job)->reason);
	EXPECT_EQ(0, gr_job_end(job, &err));
	EXPECT_NE(0, kill(st.pid, 0));
	nothing_left(_metadata, self, "api-live");
	gr_job_state_free(&st);
	gr_job_free(job);
	free(spec);
	free(args);
	free(go);
}

/* Held before its exec (opts.hold, OCI "created"): the entry names init
 * but says not running, the program has not run; gr_job_release() lets it
 * exec, and it runs to its end. */
TEST_F_TIMEOUT(life, a_held_job_runs_only_when_released, 60)
{
	struct gr_job_options opts = { .say = said, .data = self->said, .hold = true };
	struct gr_error *err = NULL;
	struct gr_job *job = NULL;
	struct gr_job_state st;
	char *args = NULL, *spec, *ran = strdup(gt_f("%s/ran", self->sbx));
	int status = -1;

	ASSERT_LE(0, asprintf(&args, "[\"/bin/sh\", \"-c\", \"touch %s\"]", ran));
	spec = life_spec(self, "api-held", args, NULL);
	ASSERT_EQ(0, gr_job_prepare_path(spec, self->cfg, &opts, &job, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(0, gr_job_start(job, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(0, entry(self, "api-held", &st));
	EXPECT_FALSE(st.running);
	EXPECT_TRUE(st.held);
	EXPECT_LT(0, st.pid);
	EXPECT_EQ(0, kill(st.pid, 0));
	usleep(300 * 1000);
	EXPECT_NE(0, access(ran, F_OK)) TH_LOG("the held job's program ran");
	ASSERT_EQ(0, gr_job_release(job, &err));
	ASSERT_EQ(0, gr_job_wait(job, &status, &err)) TH_LOG("%s", err->msg);
	EXPECT_EQ(0, status);
	EXPECT_EQ(0, access(ran, F_OK));
	EXPECT_EQ(0, gr_job_end(job, &err));
	nothing_left(_metadata, self, "api-held");
	gr_job_state_free(&st);
	gr_job_free(job);
	free(spec);
	free(args);
	free(ran);
}

/* Leases held in the pools (N.lease files; a released range's quarantine
 * stays, lease.h). */
static int leases_held(struct _test_data_life *self)
{
	char line[64] = "";
	FILE *f = popen(gt_f("find '%s' -name '*.lease' | wc -l", self->leases), "r");

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	pclose(f);
	return atoi(line);
}

/* nothing_left() for a job that leased: the quarantine stays */
static void nothing_left_leased(struct __test_metadata *_metadata, struct _test_data_life *self, const char *id)
{
	EXPECT_GE(0, gt_count_dir(self->state));
	EXPECT_EQ(0, gt_cgroup_dirs(id));
	EXPECT_EQ(0, leases_held(self));
}

static int fail_started(void *data, pid_t pid, struct gr_error **err)
{
	*(pid_t *)data = pid;
	return gr_error_set(err, EIO, "refused by the test");
}

/* Failures once the job's process exists leave nothing behind: a started
 * hook that fails (start returns its error, the init it saw is gone), and
 * a started job ended without wait (gr_job_end() kills and reaps it; its
 * record says killed_by_request; a held one never ran its program). */
TEST_F_TIMEOUT(life, failure_after_start_leaves_nothing, 60)
{
	pid_t seen = 0;
	struct gr_job_options bad = { .started = fail_started, .data = &seen };
	struct gr_job_options held = { .say = said, .data = self->said, .hold = true };
	struct gr_job_options live = { .say = said, .data = self->said, .until_exec = true };
	struct gr_error *err = NULL;
	struct gr_job *job = NULL;
	struct gr_job_state st;
	char *args = NULL, *spec, *ran = strdup(gt_f("%s/ran", self->sbx)), *rec = strdup(gt_f("%s/record.json", self->sbx));
	json_t *o;

	ASSERT_LE(0, asprintf(&args, "[\"/bin/sh\", \"-c\", \"touch %s; sleep 30\"]", ran));
	spec = life_spec(self, "api-fail", args, "\"pool\": \"atlas\", \"account\": \"root\"");
	ASSERT_EQ(0, gr_job_prepare_path(spec, self->cfg, &bad, &job, &err)) TH_LOG("%s", err->msg);
	EXPECT_GT(0, gr_job_start(job, &err));
	ASSERT_NE(NULL, err);
	EXPECT_STREQ("refused by the test", err->msg);
	gr_error_free(err);
	err = NULL;
	EXPECT_LT(0, seen);
	EXPECT_NE(0, kill(seen, 0)) TH_LOG("init %d of a failed start lives", seen);
	nothing_left_leased(_metadata, self, "api-fail");
	EXPECT_EQ(0, gr_job_end(job, &err));
	gr_job_free(job);
	nothing_left_leased(_metadata, self, "api-fail");

	ASSERT_EQ(0, gr_job_prepare_path(spec, self->cfg, &held, &job, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(0, gr_job_start(job, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(0, entry(self, "api-fail", &st));
	EXPECT_EQ(1, leases_held(self));
	EXPECT_EQ(0, gr_job_end(job, &err));
	EXPECT_NE(0, kill(st.pid, 0));
	EXPECT_NE(0, access(ran, F_OK)) TH_LOG("the held job's program ran");
	nothing_left_leased(_metadata, self, "api-fail");
	o = json_load_file(rec, 0, NULL);
	ASSERT_NE(NULL, o) TH_LOG("no record at %s", rec);
	EXPECT_STREQ("killed_by_request", json_string_value(json_object_get(o, "reason")));
	json_decref(o);
	unlink(rec);
	gr_job_state_free(&st);
	gr_job_free(job);

	ASSERT_EQ(0, gr_job_prepare_path(spec, self->cfg, &live, &job, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(0, gr_job_start(job, &err)) TH_LOG("%s", err->msg);
	ASSERT_EQ(0, entry(self, "api-fail", &st));
	EXPECT_TRUE(st.running);
	gr_job_free(job);   /* never waited for */
	EXPECT_NE(0, kill(st.pid, 0));
	nothing_left_leased(_metadata, self, "api-fail");
	o = json_load_file(rec, 0, NULL);
	ASSERT_NE(NULL, o) TH_LOG("no record at %s", rec);
	EXPECT_STREQ("killed_by_request", json_string_value(json_object_get(o, "reason")));
	json_decref(o);
	gr_job_state_free(&st);
	free(spec);
	free(args);
	free(ran);
	free(rec);
}

/* gr_run()'s exec_done hook (supervisor.h) for a program that is still
 * running when the supervisor hears of its exec, and not for one whose end
 * init has reported already (#5 queued behind #4): the job's "running"
 * state write, which its end would undo at once. The started hook holds
 * the supervisor until the job's init has exited (its pidfd is readable:
 * everything it sent is queued) for /bin/true, and 300 ms for `sleep 3`,
 * which still runs then. */
struct exec_done_probe {
	bool until_init_exits;
	int calls;
};

static int hold_started(void *data, pid_t pid, int pidfd, const struct gr_cgroup *cg, struct gr_error **err)
{
	const struct exec_done_probe *p = data;
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	(void)pid, (void)cg, (void)err;
	if (p->until_init_exits)
		poll(&pfd, 1, 30000);
	else
		usleep(300 * 1000);
	return 0;
}

static int count_exec_done(void *data, struct gr_error **err)
{
	(void)err;
	((struct exec_done_probe *)data)->calls++;
	return 0;
}

static int exec_done_calls(struct __test_metadata *_metadata, const char *id, const char *args, bool until_init_exits)
{
	char *text = NULL;
	struct gr_spec *spec = NULL;
	struct gr_error *err = NULL;
	struct gr_run_result res;
	struct exec_done_probe probe = { .until_init_exits = until_init_exits };
	const struct gr_run_hooks hooks = { .started = hold_started, .exec_done = count_exec_done,
					    .data = &probe };

	if (asprintf(&text, "{\"process\": {\"args\": %s, \"env\": [\"PATH=/usr/bin:/bin\"]}}", args) < 0)
		abort();
	EXPECT_EQ(0, gr_spec_load_string(text, strlen(text), "exec-done.json", &spec, &err))
		TH_LOG("%s", err->msg);
	if (spec) {
		EXPECT_EQ(0, gr_run(spec, id, &hooks, &res, &err)) TH_LOG("%s", err->msg);
		EXPECT_EQ(GR_REASON_EXITED, res.reason);
		EXPECT_EQ(0, res.exit_code);
	}
	gr_spec_free(spec);
	gr_error_free(err);
	free(text);
	return probe.calls;
}

TEST_F_TIMEOUT(life, exec_done_only_while_the_program_runs, 90)
{
	EXPECT_EQ(0, exec_done_calls(_metadata, "api-exec-true", "[\"/bin/true\"]", true));
	EXPECT_EQ(1, exec_done_calls(_metadata, "api-exec-sleep", "[\"/bin/sleep\", \"3\"]", false));
	EXPECT_EQ(0, gt_cgroup_dirs("api-exec-true"));
	EXPECT_EQ(0, gt_cgroup_dirs("api-exec-sleep"));
}

TEST_HARNESS_MAIN
