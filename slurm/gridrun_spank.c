// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gridrun_spank.so - a SPANK plugin that runs every Slurm task in its own
 * gridrun sandbox (slurm/README.md; the task/runner pair: spank-task.h).
 *
 * plugstack.conf:
 *   required /usr/local/lib/gridrun/gridrun_spank.so [default=on|optin]
 *       [pool=NAME] [profile=NAME] [config=PATH] [gridrun=PATH]
 *       [record_dir=DIR] [grace=SECONDS]
 * srun/sbatch/salloc: --gridrun[=PROFILE] (a seccomp profile by name).
 *
 * Hooks:
 *  init (every context)     parse the arguments (a bad one: one line naming
 *                           it, and the plugin stack fails), register the option
 *  task_init_privileged     (slurmstepd, root) decide and fork the runner
 *  task_init                (slurmstepd, the user) hand the task over; never
 *                           returns for a wrapped task
 *  job_epilog               (slurmd, root) `gridrun gc` as root, and as the
 *                           job's user for its one-uid runs' state; after
 *                           each, the records that gc wrote for tasks
 *                           Slurm SIGKILLed go to record_dir (spank-task.h)
 *
 * Which tasks: every task of an srun step with default=on, those of steps
 * asked with --gridrun with default=optin. Never the batch script, the
 * extern or the interactive step: a batch script is the job's own pilot -
 * it must reach munged (`/run/munge`, private in a sandbox) as the user's
 * own uid (munge refuses a namespace's 0) to call srun - so it runs as
 * Slurm starts it, and each srun step it starts is wrapped, task by task
 * (the option set on sbatch reaches those steps through the environment).
 *
 * Mode: where gridrun's site configuration lists the user in a pool
 * (pool=NAME: in that pool only; else the first listing the user), gridrun
 * runs as root with that pool and the user as account, so two tasks get
 * two leased ranges; otherwise it runs as the user (one-uid mode).
 */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <slurm/slurm.h>
#include <slurm/spank.h>

#include "spank-task.h"
#include "util.h"

SPANK_PLUGIN(gridrun, 1);

#define CONFIG_DEFAULT "/etc/gridrun/gridrun.conf"
#define GRIDRUN_DEFAULT "/usr/local/bin/gridrun"

static struct {
	bool default_on;
	char *pool, *profile, *config, *gridrun, *record_dir;
	unsigned grace;
	bool asked;                /* --gridrun given */
	char *asked_profile;
} arg = { .grace = 2 };

/* the task's end of the socketpair and the runner, between the two hooks */
static int task_sock = -1;
static pid_t task_runner = -1;

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || s[0] == '.')
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int opt_gridrun(int val, const char *optarg, int remote)
{
	(void)val;
	(void)remote;
	arg.asked = true;
	/* srun in an sbatch job gets the option from the environment, where
	 * Slurm 22.05 writes an absent optional value as "(null)" */
	if (optarg && *optarg && strcmp(optarg, "(null)")) {
		if (!name_ok(optarg)) {
			slurm_error("gridrun_spank: --gridrun=%s: not a profile name ([A-Za-z0-9._-], up to 32)", optarg);
			return -1;
		}
		free(arg.asked_profile);
		arg.asked_profile = strdup(optarg);
	}
	return 0;
}

static struct spank_option gridrun_option = {
	(char *)"gridrun", (char *)"[profile]",
	(char *)"Run each task in its own gridrun sandbox (seccomp profile PROFILE, else the site's).",
	2, 0, opt_gridrun,
};

static int set_string(char **slot, const char *v, bool path)
{
	if (!*v || (path && v[0] != '/') || (!path && !name_ok(v)))
		return -1;
	free(*slot);
	return (*slot = strdup(v)) ? 0 : -1;
}

static int parse_arg(const char *a)
{
	const char *v = strchr(a, '=');
	size_t k = v ? (size_t)(v - a) : strlen(a);
	char *end;

	if (!v)
		return -1;
	v++;
	if (k == 7 && !strncmp(a, "default", k)) {
		if (strcmp(v, "on") && strcmp(v, "optin"))
			return -1;
		arg.default_on = !strcmp(v, "on");
		return 0;
	}
	if (k == 5 && !strncmp(a, "grace", k)) {
		unsigned long g = strtoul(v, &end, 10);

		if (!*v || *end || g > 3600)
			return -1;
		arg.grace = (unsigned)g;
		return 0;
	}
	if (k == 4 && !strncmp(a, "pool", k))
		return set_string(&arg.pool, v, false);
	if (k == 7 && !strncmp(a, "profile", k))
		return set_string(&arg.profile, v, false);
	if (k == 6 && !strncmp(a, "config", k))
		return set_string(&arg.config, v, true);
	if (k == 7 && !strncmp(a, "gridrun", k))
		return set_string(&arg.gridrun, v, true);
	if (k == 10 && !strncmp(a, "record_dir", k))
		return set_string(&arg.record_dir, v, true);
	return -1;
}

static int parse_args(int ac, char **av)
{
	arg.default_on = true;
	for (int i = 0; i < ac; i++)
		if (parse_arg(av[i]) < 0) {
			slurm_error("gridrun_spank: plugstack argument `%s`: expected default=on|optin, pool=NAME, "
				    "profile=NAME, config=/PATH, gridrun=/PATH, record_dir=/PATH or grace=SECONDS (0-3600)",
				    av[i]);
			return -1;
		}
	return 0;
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	spank_context_t ctx = spank_context();

	if (parse_args(ac, av) < 0)
		return -1;
	if (ctx == S_CTX_LOCAL || ctx == S_CTX_ALLOCATOR || ctx == S_CTX_REMOTE)
		return spank_option_register(sp, &gridrun_option) == ESPANK_SUCCESS ? 0 : -1;
	return 0;
}

/* ---- site configuration: which pool lists the user ---- */

struct pool_pick {
	const char *user, *want;
	char section[64];
	char *found;
	bool in_pool;
	char *record_dir;
	char *state_dir;
};

static int pool_entry(void *user, const char *section, const char *name, const char *value)
{
	struct pool_pick *p = user;
	const char *pool = !strncmp(section, "pool ", 5) ? section + 5 : NULL;

	if (!strcmp(section, "runtime") && !strcmp(name, "record_dir") && !p->record_dir)
		p->record_dir = strdup(value);
	if (!strcmp(section, "runtime") && !strcmp(name, "state_dir") && !p->state_dir)
		p->state_dir = strdup(value);
	if (!pool || strcmp(name, "accounts") || p->found || (p->want && strcmp(pool, p->want)))
		return 1;
	for (const char *s = value; *s;) {
		size_t n = strcspn(s, " \t");

		if (n == strlen(p->user) && !strncmp(s, p->user, n)) {
			p->found = strdup(pool);
			break;
		}
		s += n;
		s += strspn(s, " \t");
	}
	return 1;
}

/* gridrun checks the whole file again when it runs (as root: root's file,
 * pools clear of every account); this only picks the mode. */
static void site_config(const char *file, const char *user, char **pool, char **record_dir, char **state_dir)
{
	struct pool_pick p = { .user = user, .want = arg.pool };

	if (access(file, F_OK) == 0 && ini_parse(file, pool_entry, &p) != 0)
		slurm_error("gridrun_spank: %s: cannot read it; no pool", file);
	*pool = p.found;
	*record_dir = p.record_dir;
	if (state_dir)
		*state_dir = p.state_dir;
	else
		free(p.state_dir);
}

static bool wrapped_step(spank_t sp)
{
	uint32_t step = 0;

	if (spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS)
		return false;
	if (step == SLURM_BATCH_SCRIPT || step == SLURM_EXTERN_CONT || step == SLURM_INTERACTIVE_STEP)
		return false;
	return arg.default_on || arg.asked;
}

int slurm_spank_task_init_privileged(spank_t sp, int ac, char **av)
{
	static struct gr_slurm_plan plan;
	static char *pool, *record_dir;
	struct passwd pw, *pwp = NULL;
	char pwbuf[4096];
	uint32_t job = 0, step = 0, task = 0;
	int r;

	(void)ac;
	(void)av;
	if (spank_context() != S_CTX_REMOTE || !wrapped_step(sp))
		return 0;
	if (spank_get_item(sp, S_JOB_UID, &plan.uid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_GID, &plan.gid) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_ID, &job) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_STEPID, &step) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_TASK_GLOBAL_ID, &task) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_SUPPLEMENTARY_GIDS, &plan.gids, &plan.ngids) != ESPANK_SUCCESS) {
		slurm_error("gridrun_spank: cannot read the task's ids from slurmstepd");
		return -1;
	}
	if (getpwuid_r(plan.uid, &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 || !pwp ||
	    strlen(pw.pw_name) >= sizeof(plan.user)) {
		slurm_error("gridrun_spank: uid %u has no account name", (unsigned)plan.uid);
		return -1;
	}
	strcpy(plan.user, pw.pw_name);
	snprintf(plan.job_id, sizeof(plan.job_id), "slurm-%u.%u.%u", job, step, task);
	plan.config = arg.config;
	site_config(arg.config ? arg.config : CONFIG_DEFAULT, plan.user, &pool, &record_dir, NULL);
	plan.pool = pool;
	plan.record_dir = arg.record_dir ? arg.record_dir : record_dir;
	plan.gridrun = arg.gridrun ? arg.gridrun : GRIDRUN_DEFAULT;
	plan.profile = arg.asked_profile ? arg.asked_profile : arg.profile;
	plan.grace = arg.grace;
	r = gr_slurm_runner_start(&plan, &task_sock, &task_runner);
	if (r < 0) {
		slurm_error("gridrun_spank: %s: cannot start the runner: %s", plan.job_id, strerror(-r));
		return -1;
	}
	return 0;
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	char cwd[PATH_MAX], **argv = NULL, **env = NULL;
	int argc = 0, r;

	(void)ac;
	(void)av;
	if (task_runner < 0)
		return 0;
	if (!getcwd(cwd, sizeof(cwd)) || spank_get_item(sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS ||
	    spank_get_item(sp, S_JOB_ENV, &env) != ESPANK_SUCCESS) {
		r = -EINVAL;
	} else {
		r = gr_slurm_task_send(task_sock, cwd, argc, argv, env);
	}
	/* sent: the socket stays open until this process ends, which is how
	 * the runner learns of it (spank-task.h); not sent: the runner's EOF */
	if (r < 0) {
		close(task_sock);
		dprintf(STDERR_FILENO, "gridrun_spank: cannot hand the task to gridrun: %s\n", strerror(-r));
	}
	gr_slurm_task_wait(task_runner);
}

/* `gridrun gc` as uid (0: root's state, leases and cgroups; else that user's
 * one-uid state). */
static void run_gc(uid_t uid, gid_t gid)
{
	const char *gridrun = arg.gridrun ? arg.gridrun : GRIDRUN_DEFAULT;
	const char *argv[] = { "gridrun", "gc", arg.config && !uid ? "--config" : NULL, arg.config, NULL };
	char *env[] = { (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		if (uid && (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0))
			_exit(GR_EXIT_ERROR);
		execve(gridrun, (char **)argv, env);
		_exit(GR_EXIT_ERROR);
	}
	if (pid < 0)
		return;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		slurm_error("gridrun_spank: job_epilog: `%s gc` as uid %u failed (status 0x%x)", gridrun,
			    (unsigned)uid, status);
}

static void say_error(const char *line)
{
	slurm_error("%s", line);
}

/* After each gc, the records it wrote for tasks Slurm SIGKILLed with their
 * runner go where the runner would have kept them (spank-task.h): root's,
 * from gridrun's state directory as root's gc found it (the site's, else
 * its default for root), then the user's, from their one-uid state. */
int slurm_spank_job_epilog(spank_t sp, int ac, char **av)
{
	_cleanup_free_ char *pool = NULL, *record_dir = NULL, *state_dir = NULL;
	const char *records;
	char user_state[64];
	uint32_t job = 0;
	uid_t uid = 0;
	struct passwd *pw;

	/* slurmd calls no slurm_spank_init before the job script hooks */
	if (parse_args(ac, av) < 0)
		return -1;
	if (spank_get_item(sp, S_JOB_ID, &job) != ESPANK_SUCCESS)
		job = 0;
	site_config(arg.config ? arg.config : CONFIG_DEFAULT, "", &pool, &record_dir, &state_dir);
	records = arg.record_dir ? arg.record_dir : record_dir;
	run_gc(0, 0);
	if (job)
		gr_slurm_keep_lost_records(state_dir ? state_dir : "/run/gridrun", 0, records, job, say_error);
	if (spank_get_item(sp, S_JOB_UID, &uid) == ESPANK_SUCCESS && uid && (pw = getpwuid(uid))) {
		run_gc(uid, pw->pw_gid);
		snprintf(user_state, sizeof(user_state), GR_SLURM_USER_STATE_FMT, (unsigned)uid);
		if (job)
			gr_slurm_keep_lost_records(user_state, uid, records, job, say_error);
	}
	return 0;
}
