/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli-help.c - help texts of the gridrun command line (cli-help.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

#include "cli-help.h"

static const struct {
	const char *name, *synopsis, *text;
} commands[] = {
	{ "run", "run [--config PATH] [--spec-name NAME] [--sandbox-fd N] SPEC.json | run [--bundle DIR] [--pid-file F] ID",
	  "Run one job in a fresh sandbox as SPEC.json says, wait for it, write its\n"
	  "accounting record and clean up. `gridrun SPEC.json` is the same.\n"
	  "The OCI form: DIR/config.json (DIR: --bundle, else the working directory)\n"
	  "is the spec and ID the job id; ARG is a spec when it contains a '/' or\n"
	  "is an existing *.json file and neither --bundle nor --pid-file is given.\n"
	  "  --bundle DIR, -b  the OCI bundle\n"
	  "  --pid-file F      write the job's pid to F once it has started\n"
	  "  --config PATH     the site configuration (default /etc/gridrun/gridrun.conf)\n"
	  "  --spec-name NAME  call the spec NAME in messages (for /dev/fd/N, /dev/stdin)\n"
	  "  --sandbox-fd N    fd N is the sandbox directory the caller checked; a run\n"
	  "                    that hands the sandbox over refuses if the path names\n"
	  "                    another directory now\n"
	  "Exit status: the job's; 128+N if killed by signal N; 125 gridrun error,\n"
	  "126 not executable, 127 not found.\n" },
	{ "create", "create [--config PATH] [--bundle|-b DIR] [--pid-file F] ID",
	  "The OCI create: set up the job of the bundle DIR (default: the working\n"
	  "directory) as run would, and hold it before its program's exec (state\n"
	  "\"created\", pid: its init); exit 0 with its supervisor running on in its\n"
	  "own session, with create's stdin, stdout and stderr (the job's). `gridrun\n"
	  "start ID` lets it run; `gridrun delete ID` ends it unstarted.\n"
	  "  --bundle DIR, -b  the OCI bundle\n"
	  "  --pid-file F      write the job's pid (its init) to F before create exits\n"
	  "Exit status: 0 created; 125 gridrun error (nothing left behind).\n" },
	{ "start", "start ID",
	  "The OCI start: the job ID held by `gridrun create` execs its program; start\n"
	  "returns once it runs (or ended), within GRIDRUN_OCI_START_WAIT seconds (30).\n"
	  "Exit status: 0; 125 for an unknown or ended ID, or one started already. As\n"
	  "root it also finds a job a user created.\n" },
	{ "check", "check",
	  "Report the kernel options, sysctls and interfaces gridrun relies on, and the\n"
	  "isolation mode (root, helper, unprivileged) this node reaches.\n" },
	{ "ps", "ps [--config PATH] [--format table|json]",
	  "List the jobs of the state directory (running or stale) and the leases.\n"
	  "  --format json     one JSON array of {job_id, pid, state, spec} on stdout\n" },
	{ "gc", "gc [--config PATH]",
	  "Remove what crashed runs left: stale state entries, record copies older\n"
	  "than an hour, leases of dead holders, ended quarantines.\n" },
	{ "template", "template [remove]",
	  "As root: make (or remake) the state directory's template mount namespace,\n"
	  "the host's tree that root-mode jobs are then cloned from instead of each\n"
	  "cloning \"/\" and pivoting into it (faster starts on a busy node); a job\n"
	  "uses it only while the mounts it sees are those it was made from. `gc`\n"
	  "remakes a stale one; `template remove` removes it.\n" },
	{ "suspend", "suspend ID", "Freeze the running job ID (its whole cgroup).\n" },
	{ "resume", "resume ID", "Thaw the suspended job ID.\n" },
	{ "kill", "kill [--all|-a] ID [SIGNAL]",
	  "Send SIGNAL (a name such as TERM, or a number) to the job ID through its\n"
	  "supervisor; TERM and INT start the grace period before everything is killed.\n"
	  "The OCI form (--all, or no SIGNAL: TERM) exits 0 for an unknown or ended ID,\n"
	  "and as root also finds a job a user started.\n" },
	{ "state", "state ID",
	  "Print the OCI state of ID as JSON (ociVersion, id, status created|running|\n"
	  "stopped, pid, bundle, owner); an unknown ID is \"stopped\", exit 0. As root\n"
	  "it also finds a job a user started.\n" },
	{ "delete", "delete [--force|-f] ID",
	  "Forget the ended job ID (nothing to do: its supervisor cleans up); a job\n"
	  "created and never started is ended at once, and leaves nothing. With\n"
	  "--force, a running one is sent TERM, then KILL if its supervisor has not\n"
	  "ended within GRIDRUN_OCI_DELETE_WAIT seconds (30); without --force it is\n"
	  "refused (exit 125). Unknown ID: exit 0. As root it also finds a job a user\n"
	  "started.\n" },
	{ "seccomp", "seccomp dump PROFILE",
	  "Print a seccomp profile's filter as libseccomp PFC, for review. PROFILE is\n"
	  "a built-in name (grid-default, strict) or a path with a '/'.\n" },
	{ "help", "help [COMMAND]", "Print the overview, or COMMAND's help.\n" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

bool gr_cli_is_command(const char *name)
{
	for (size_t i = 0; name && i < NCOMMANDS; i++)
		if (!strcmp(name, commands[i].name))
			return true;
	return false;
}

bool gr_cli_wants_help(const char *arg)
{
	return arg && (!strcmp(arg, "--help") || !strcmp(arg, "-h"));
}

int gr_cli_help(FILE *out, const char *command)
{
	if (!command) {
		fputs("usage: gridrun COMMAND [ARGS...] | gridrun SPEC.json | --version | --help\n\ncommands:\n", out);
		for (size_t i = 0; i < NCOMMANDS; i++)
			fprintf(out, "  gridrun %s\n", commands[i].synopsis);
		fputs("\n`gridrun help COMMAND` or `gridrun COMMAND --help` says more.\n", out);
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(command, commands[i].name)) {
			fprintf(out, "usage: gridrun %s\n\n%s", commands[i].synopsis, commands[i].text);
			return 0;
		}
	return -ENOENT;
}

/* help, COMMAND --help, and an unknown command or option named in one
 * line; -1: none of these, go on. */
int gr_cli_words(int argc, char **argv)
{
	const char *cmd = argv[1];

	if (!strcmp(cmd, "help")) {
		if (argc > 3 || gr_cli_help(stdout, gr_cli_wants_help(argv[2]) ? "help" : argv[2]) < 0) {
			fprintf(stderr, "gridrun: help: unknown command `%s` (see gridrun help)\n", argv[argc > 3 ? 3 : 2]);
			return GR_EXIT_ERROR;
		}
		return 0;
	}
	if (gr_cli_is_command(cmd)) {
		for (int i = 2; i < argc; i++)
			if (gr_cli_wants_help(argv[i]))
				return gr_cli_help(stdout, cmd) < 0 ? GR_EXIT_ERROR : 0;
		return -1;
	}
	if (cmd[0] == '-' && cmd[1]) {
		fprintf(stderr, "gridrun: unknown option `%s` (see gridrun help)\n", cmd);
		return GR_EXIT_ERROR;
	}
	/* gridrun SPEC.json: a word that names no file and does not look like
	 * a spec's path is a mistyped command, not a spec */
	bool spec = access(cmd, F_OK) == 0 || strchr(cmd, '/') ||
		    (strlen(cmd) >= 5 && !strcmp(cmd + strlen(cmd) - 5, ".json"));

	if (!spec) {
		fprintf(stderr, "gridrun: unknown command `%s` (see gridrun help)\n", cmd);
		return GR_EXIT_ERROR;
	}
	if (argc > 2) {
		fprintf(stderr, "gridrun: `%s`: more arguments belong to `gridrun run [OPTIONS] SPEC.json` "
			"(see gridrun help run)\n", cmd);
		return GR_EXIT_ERROR;
	}
	return -1;
}

/* What take_options left that looks like an option is none of COMMAND's
 * (kill's SIGNAL may be "-9"). */
int gr_cli_unknown_option(int argc, char **argv)
{
	for (int i = 2; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1] && !(!strcmp(argv[1], "kill") && i == 3)) {
			fprintf(stderr, "gridrun: %s: unknown option `%s` (see gridrun help %s)\n", argv[1], argv[i],
				argv[1]);
			return GR_EXIT_ERROR;
		}
	return -1;
}
