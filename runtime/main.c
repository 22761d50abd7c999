/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gridrun - the command line.
 *
 *   gridrun run SPEC.json | gridrun SPEC.json    run one job, exit with its status
 *   gridrun check                                kernel features and isolation mode
 *   gridrun ps                                   running jobs (state directory), leases
 *   gridrun gc                                   remove what crashed runs left, leases too
 * run, ps and gc take --config PATH: the site configuration (config.h).
 * run takes --spec-name NAME: NAME, not SPEC.json, in messages about the
 * spec (FILE of "FILE:LINE:COL", the state's "spec"), for a spec handed
 * over as /dev/fd/N or /dev/stdin (gridrun-condor's), and --sandbox-fd N:
 * fd N is the directory its caller checked as the spec's gridrun.sandbox
 * (gridrun_spank's root runner: the user's own); the run hands over only
 * that one (handover.h, gr_job_handover_open()).
 *   gridrun suspend ID | resume ID               freeze / thaw a running job
 *   gridrun kill ID SIGNAL                       signal a running job
 *   gridrun seccomp dump PROFILE                 a profile's filter as libseccomp PFC
 *   gridrun help [COMMAND] | COMMAND --help      usage (cli-help.c); an unknown command
 *                                                or option is one line, exit 125
 *
 * Exit status of run: the job's exit code; 128+N when it was killed by signal
 * N; 125 when gridrun itself failed (bad spec, setup error); 126 when the
 * program is not executable; 127 when it is not found.
 * Errors are printed once, on one line: spec errors as
 * "FILE:LINE:COL: json.path: message", all others as "gridrun: message".
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli-help.h"
#include "config.h"
#include "gr-seccomp.h"
#include "job.h"
#include "oci.h"
#include "state.h"
#include "util.h"

static void usage(FILE *out)
{
	fputs("usage: gridrun run [--config PATH] [--spec-name NAME] [--sandbox-fd N] SPEC.json\n"
	      "       gridrun run [--bundle DIR] [--pid-file F] ID | state ID | delete [--force] ID\n"
	      "       gridrun kill [--all] ID [SIGNAL]   (OCI runtime verbs)\n"
	      "       gridrun SPEC.json\n"
	      "       gridrun suspend ID | resume ID | kill ID SIGNAL\n"
	      "       gridrun seccomp dump PROFILE   (a name, or a path with a '/')\n"
	      "       gridrun check | ps | gc | --version | --help\n"
	      "       (run, ps and gc take --config PATH: the site configuration)\n"
	      "exit status of run: the job's; 128+N if killed by signal N;\n"
	      "  125 gridrun error, 126 not executable, 127 not found\n", out);
}

static int fail(struct gr_error *e)
{
	fprintf(stderr, "gridrun: %s\n", e && e->msg ? e->msg : "unknown error");
	return gr_error_exit_code(e);
}

static const char *arg_config;            /* --config PATH */
static const char *arg_spec_name;         /* run --spec-name NAME */
static int arg_sandbox_fd;                /* run --sandbox-fd N: N (3 or more); 0 none, -1 bad */
static bool arg_json;                     /* ps --format json */
static struct gr_config *site_config;     /* loaded once, in main() */

/* What the library says without failing (job.h): one line each. */
static void say(void *data, const char *line)
{
	(void)data;
	fprintf(stderr, "gridrun: %s\n", line);
}

/* run, ps and gc take --config PATH (or --config=PATH) anywhere after the
 * command, run also --spec-name NAME (or --spec-name=NAME). */
static int take_options(int argc, char **argv)
{
	bool run = !strcmp(argv[1], "run") || !strcmp(argv[1], "create");
	int n = 2;

	if (!run && strcmp(argv[1], "ps") && strcmp(argv[1], "gc"))
		return argc;
	for (int i = 2; i < argc; i++) {
		if (!strncmp(argv[i], "--config=", 9)) {
			arg_config = argv[i] + 9;
		} else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			arg_config = argv[++i];
		} else if (run && !strncmp(argv[i], "--spec-name=", 12)) {
			arg_spec_name = argv[i] + 12;
		} else if (run && !strcmp(argv[i], "--spec-name") && i + 1 < argc) {
			arg_spec_name = argv[++i];
		} else if (run && (!strncmp(argv[i], "--sandbox-fd=", 13) ||
				   (!strcmp(argv[i], "--sandbox-fd") && i + 1 < argc))) {
			const char *v = argv[i][12] == '=' ? argv[i] + 13 : argv[++i];
			char *end;
			long fd = strtol(v, &end, 10);

			arg_sandbox_fd = *v >= '0' && *v <= '9' && !*end && fd > 2 && fd < INT_MAX ? (int)fd : -1;
		} else if (run && gr_oci_take_run_option(argc, argv, &i)) {
			/* --bundle, -b, --pid-file (oci.h) */
		} else if (!strcmp(argv[1], "ps") && (!strcmp(argv[i], "--format=json") ||
			   (!strcmp(argv[i], "--format") && i + 1 < argc && !strcmp(argv[i + 1], "json") && ++i))) {
			arg_json = true;
		} else if (!strcmp(argv[1], "ps") && (!strcmp(argv[i], "--format=table") ||
			   (!strcmp(argv[i], "--format") && i + 1 < argc && !strcmp(argv[i + 1], "table") && ++i))) {
			arg_json = false;
		} else {
			argv[n++] = argv[i];
		}
	}
	argv[n] = NULL;
	return n;
}

/* OCI --pid-file (oci.h) */
static int oci_started(void *data, pid_t pid, struct gr_error **err)
{
	(void)data;
	return gr_oci_started(pid, err);
}

/* run, or create (oci.h): the job held before its exec, its supervisor
 * detached from the caller until the job ends */
static int cmd_run(const char *path, const char *oci_id, bool create)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	_cleanup_gr_job_ struct gr_job *job = NULL;
	struct gr_spec *spec = NULL;
	const struct gr_job_options opts = { .spec_name = arg_spec_name, .job_id = oci_id,
					     .bundle = gr_oci_bundle(), .started = oci_started, .say = say,
					     .hold = create, .sandbox_fd = arg_sandbox_fd };
	int r, status;

	/* kept from whatever gridrun itself starts (the job closes all others) */
	if (arg_sandbox_fd < 0 || (arg_sandbox_fd && fcntl(arg_sandbox_fd, F_SETFD, FD_CLOEXEC) < 0)) {
		fputs("gridrun: --sandbox-fd: expected an open file descriptor, 3 or more\n", stderr);
		return GR_EXIT_ERROR;
	}

	if (create && (r = gr_oci_detach(&status, &err)) != 0)
		return r < 0 ? fail(err) : status;
	if (gr_job_load_spec(path, &opts, &spec, &err) < 0) {
		fprintf(stderr, "%s\n", err->msg);
		return GR_EXIT_ERROR;
	}
	if (gr_job_prepare(spec, site_config, &opts, &job, &err) < 0 || gr_job_start(job, &err) < 0)
		return fail(err);
	gr_oci_detached();   /* create: held; `gridrun start` lets it go on */
	r = gr_job_wait(job, &status, &err);
	if (r < 0) {
		fail(err);
		gr_error_free(TAKE_PTR(err));
	}
	if (gr_job_end(job, &err) < 0) {
		fail(err);
		if (r >= 0)
			status = GR_EXIT_ERROR;
	}
	return status;
}

static void ps_line(void *data, const char *job_id, const struct gr_job_state *st, bool alive)
{
	(void)data;
	printf("%-24s %8lld  %-7s %s\n", job_id, (long long)st->pid, alive ? "running" : "stale",
	       st->spec ? st->spec : "-");
}

static void ps_json(void *data, const char *job_id, const struct gr_job_state *st, bool alive)
{
	json_t *all = data;

	json_array_append_new(all, json_pack("{s:s, s:I, s:s, s:s?}", "job_id", job_id, "pid", (json_int_t)st->pid,
					     "state", alive ? "running" : "stale", "spec", st->spec));
}

static int cmd_ps(void)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;

	if (arg_json) {
		json_t *all = json_array();
		int r = all ? gr_job_list(ps_json, all, &err) : gr_error_sys(&err, ENOMEM, "ps");

		if (r >= 0 && json_dumpf(all, stdout, JSON_INDENT(2)) == 0)
			putchar('\n');
		json_decref(all);
		return r < 0 ? fail(err) : 0;
	}
	printf("%-24s %8s  %-7s %s\n", "JOB", "PID", "STATE", "SPEC");
	if (gr_job_list(ps_line, NULL, &err) < 0)
		return fail(err);
	if (gr_job_lease_report(stdout, site_config, &err) < 0)
		fprintf(stderr, "gridrun: ps: %s, ignoring\n", err->msg);
	return 0;
}

static int cmd_gc(void)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	const struct gr_job_options opts = { .say = say };
	struct gr_job_gc_stats st;
	int r = gr_job_gc(site_config, &opts, &st, &err);

	if (!st.swept)
		return fail(err);
	printf("gridrun gc: removed %u stale state entr%s\n", st.removed, st.removed == 1 ? "y" : "ies");
	if (st.copies)
		printf("gridrun gc: removed %u record cop%s older than an hour\n", st.copies,
		       st.copies == 1 ? "y" : "ies");
	if (st.template_remade)
		printf("gridrun gc: remade the stale mount template\n");
	if (r < 0)
		return fail(err);
	if (st.pools)
		printf("gridrun gc: reclaimed %u lease(s) of dead holders, ended %u quarantine(s)\n",
		       st.reclaimed, st.freed);
	return 0;
}

/* gridrun template [remove]: the state directory's template mount namespace. */
static int cmd_template(bool remove)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	_cleanup_free_ char *dir = NULL;
	int r = gr_job_template(remove, &dir, &err);

	if (r < 0)
		return fail(err);
	printf("gridrun template: %s %s/" GR_STATE_MNT_TEMPLATE "\n",
	       remove ? (r ? "removed" : "there was none in") : "made", dir);
	return 0;
}

/* gridrun suspend|resume ID: freeze the job's cgroup, or ask its supervisor. */
static int cmd_suspend(const char *job_id, bool frozen)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;

	return gr_job_freeze_id(job_id, frozen, &err) < 0 ? fail(err) : 0;
}

/* gridrun kill ID SIG: the job's supervisor forwards it (TERM/INT start the grace period). */
static int cmd_kill(const char *job_id, const char *signame)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;
	int sig;

	sig = gr_oci_signal(signame);   /* one signal table: oci.c's */
	if (sig <= 0) {
		gr_error_set(&err, EINVAL, "unknown signal `%s`", signame);
		return fail(err);
	}
	return gr_job_signal_id(job_id, sig, &err) < 0 ? fail(err) : 0;
}

/* The filter of a profile, for review (gr-seccomp.h says which file a name is). */
static int cmd_seccomp_dump(const char *profile)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;

	fflush(stdout);
	if (gr_seccomp_dump(profile, STDOUT_FILENO, &err) < 0)
		return fail(err);
	return 0;
}

static int cmd_check(void)
{
	_cleanup_gr_error_ struct gr_error *err = NULL;

	if (gr_check_report(stdout, getenv("GRIDRUN_KCONFIG"), &err) < 0)
		return fail(err);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	int r;

	if (!cmd) {
		usage(stderr);
		return GR_EXIT_ERROR;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("gridrun %s\n", GRIDRUN_VERSION);
		return 0;
	}
	r = gr_cli_words(argc, argv);
	if (r != -1)
		return r;
	if (strcmp(cmd, "check") && strcmp(cmd, "seccomp")) {
		_cleanup_gr_error_ struct gr_error *err = NULL;
		bool run;

		argc = take_options(argc, argv);
		run = !strcmp(cmd, "run") || !strcmp(cmd, "create") ||
		      (argc == 2 && cmd[0] != '-' && strcmp(cmd, "ps") && strcmp(cmd, "gc") &&
		       strcmp(cmd, "template"));
		if (gr_job_config_load(arg_config, run ? GR_JOB_CONFIG_RUN : !strcmp(cmd, "gc") ? GR_JOB_CONFIG_GC : 0,
				       &site_config, &err) < 0)
			return fail(err);
	}
	r = gr_oci_main(argc, argv);   /* state, delete, kill --all (oci.h) */
	if (r != -1)
		return r;
	r = gr_cli_unknown_option(argc, argv);
	if (r != -1)
		return r;
	if (!strcmp(cmd, "run") || !strcmp(cmd, "create")) {
		_cleanup_gr_error_ struct gr_error *err = NULL;
		_cleanup_free_ char *path = NULL;
		bool create = !strcmp(cmd, "create");
		const char *oci_id;

		if (argc != 3 || (arg_spec_name && !*arg_spec_name)) {
			usage(stderr);
			return GR_EXIT_ERROR;
		}
		/* SPEC.json, or an OCI container id and its bundle (oci.h); create: always an id */
		if (gr_oci_run_target(argv[2], create, &path, &oci_id, &err) < 0)
			return fail(err);
		return cmd_run(path, oci_id, create);
	}
	if (argc == 2 && !strcmp(cmd, "check"))
		return cmd_check();
	if (argc == 2 && !strcmp(cmd, "ps"))
		return cmd_ps();
	if (argc == 2 && !strcmp(cmd, "gc"))
		return cmd_gc();
	if (!strcmp(cmd, "template") && (argc == 2 || (argc == 3 && !strcmp(argv[2], "remove"))))
		return cmd_template(argc == 3);
	if (argc == 3 && (!strcmp(cmd, "suspend") || !strcmp(cmd, "resume")))
		return cmd_suspend(argv[2], !strcmp(cmd, "suspend"));
	if (argc == 4 && !strcmp(cmd, "kill"))
		return cmd_kill(argv[2], argv[3]);
	if (argc == 4 && !strcmp(cmd, "seccomp") && !strcmp(argv[2], "dump"))
		return cmd_seccomp_dump(argv[3]);
	if (argc == 2 && cmd[0] != '-' && strcmp(cmd, "check") && strcmp(cmd, "ps") && strcmp(cmd, "gc") &&
	    strcmp(cmd, "template") &&
	    strcmp(cmd, "suspend") && strcmp(cmd, "resume") && strcmp(cmd, "kill") &&
	    strcmp(cmd, "seccomp"))
		return cmd_run(cmd, NULL, false);
	usage(stderr);
	return GR_EXIT_ERROR;
}
