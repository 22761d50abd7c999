/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check.h - `gridrun check`: what this node's kernel gives gridrun, and which
 * isolation mode (design §2) this invocation can reach. Kconfig-notes/ is the
 * prose and machine-readable twin of the tables in check.c; tests/check_test.c
 * asserts that Kconfig-notes/config and Kconfig-notes/sysctl list exactly what
 * gr_check_kconfig_option() and gr_check_sysctl_rule() return.
 *
 * Report layout (stable, one item per line, greppable):
 *   section headers start in column 0; items are
 *     "  NAME<pad> STATUS<pad> note"
 *   with NAME padded to 30 columns and STATUS to 10 (sysctls carry their value
 *   in an extra column). The last line is always "isolation: MODE" or
 *   "isolation: none (reason)", MODE one of root, helper, unprivileged.
 *
 * Kernel options come from, in order: config_override (a plain or gzip'd
 * config file; "" means "read no file, probe the running kernel"),
 * /proc/config.gz, /boot/config-$(uname -r), else probes of the running
 * kernel (some options cannot be probed and show as "unknown"). Sysctls,
 * syscalls, LSMs, cgroups and the isolation mode are always those of the
 * running kernel and of this process. The config files are read by
 * kconfig.h, which also declares gr_check_kconfig_lookup().
 */
#ifndef GRIDRUN_CHECK_H
#define GRIDRUN_CHECK_H

#include <stddef.h>
#include <stdio.h>

#include "error.h"
#include "kconfig.h"

/*
 * Print the report to out. Returns 0 when the node can run gridrun in some
 * mode (every "required" option and kernel interface present, no sysctl that
 * forbids user namespaces to everyone), else a negative errno (-EOPNOTSUPP)
 * and an error whose message names everything that is missing. An unreadable
 * config_override, or a write error on out, is also an error.
 */
int gr_check_report(FILE *out, const char *config_override, struct gr_error **err);

/*
 * The "Site configuration" section (check-site.c): the site configuration
 * ($GRIDRUN_CONFIG, else the default file, when there is one) with the full
 * pool-ids check whatever the stamp says, as `gridrun gc` does as root; as
 * root it refreshes LEASE_DIR/.ids-checked. A problem is printed as an item
 * ("PROBLEM", the file, line, pool and what is in the way) and returned.
 */
int gr_check_site(FILE *out, struct gr_error **err);

/* The i-th option of the compiled-in table ("CONFIG_USER_NS"), NULL past the end. */
const char *gr_check_kconfig_option(size_t i);

/*
 * The i-th sysctl rule formatted as in Kconfig-notes/sysctl:
 * "NAME OP VALUE" or "NAME OP VALUE absent-ok" (OP is ">=" or "=="), into buf.
 * Returns buf, or NULL past the end.
 */
const char *gr_check_sysctl_rule(size_t i, char *buf, size_t len);

#endif
