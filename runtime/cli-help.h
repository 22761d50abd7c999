/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cli-help.h - the gridrun command line's help texts and the names it
 * knows, in one place: `gridrun help [COMMAND]`, `gridrun COMMAND --help`
 * (stdout, exit 0) and the one-line answer to an unknown command or option.
 */
#ifndef GRIDRUN_CLI_HELP_H
#define GRIDRUN_CLI_HELP_H

#include <stdbool.h>
#include <stdio.h>

#define GRIDRUN_VERSION "0.1.0"

/* Whether name is one of gridrun's subcommands ("help" included). */
bool gr_cli_is_command(const char *name);
/* Print the help of command (NULL: the overview) to out; -ENOENT (and
 * nothing printed) when there is no such command. */
int gr_cli_help(FILE *out, const char *command);
/* Whether arg asks for help ("--help", "-h"). */
bool gr_cli_wants_help(const char *arg);
/* help, COMMAND --help, and an unknown command or option named in one
 * line on stderr: the exit status (0, or 125); -1: none of these (argv[1]
 * is a command, or a spec's path). argc >= 2. */
int gr_cli_words(int argc, char **argv);
/* After a command's own options are taken: an argument that looks like an
 * option is named in one line, 125; -1: none. */
int gr_cli_unknown_option(int argc, char **argv);

#endif
