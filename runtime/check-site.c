/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check-site.c - the "Site configuration" section of `gridrun check`
 * (check.h): the site configuration, when there is one, loaded the way
 * `gridrun gc` loads it as root, with the full check of the pools against
 * every account, group, /etc/subuid and /etc/subgid range whatever the stamp
 * says (config-ids.c). As root that check refreshes LEASE_DIR/.ids-checked,
 * which job starts trust instead of enumerating passwd and group themselves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "util.h"

#define ITEM "  %-30s %-10s "

/* Is LEASE_DIR/.ids-checked at least as young as since (realtime ns)? */
static bool stamp_fresh(const struct gr_config *cfg, unsigned long long since)
{
	_cleanup_free_ char *path = NULL;
	struct stat st;

	if (asprintf(&path, "%s/.ids-checked", cfg->lease_dir) < 0 || lstat(path, &st) < 0)
		return false;
	return (unsigned long long)st.st_mtim.tv_sec * 1000000000ull + (unsigned long long)st.st_mtim.tv_nsec >=
	       since / 1000000000ull * 1000000000ull;
}

int gr_check_site(FILE *out, struct gr_error **err)
{
	_cleanup_gr_config_ struct gr_config *cfg = NULL;
	unsigned long long t0 = gr_realtime_ns();
	unsigned before = gr_config_ids_enumerations();
	struct gr_error *e = NULL;
	const char *env = getenv("GRIDRUN_CONFIG");

	fprintf(out, "\nSite configuration (%s)\n", env && *env ? env : GR_CONFIG_DEFAULT);
	if (gr_config_load_cli_flags(NULL, GR_CONFIG_IDS_FULL, &cfg, &e) < 0) {
		fprintf(out, ITEM "%s\n", "configuration", "PROBLEM", e->msg);
		fprintf(out, ITEM "%s\n", "consequence", "", "until it is fixed gridrun refuses ps, gc and every job "
			"that leases (a syntax error: every job); a pool holding an account's, group's or "
			"subordinate range's ids must move (first_uid), or they must");
		if (err)
			*err = e;
		else
			gr_error_free(e);
		return gr_error_prefix(err, "check: site configuration");
	}
	if (!cfg->file) {
		fprintf(out, ITEM "%s\n", "configuration", "none", "no file: no pools, built-in defaults");
		return 0;
	}
	fprintf(out, ITEM "%zu\n", "pools", "defined", cfg->npools);
	for (size_t i = 0; i < cfg->npools; i++) {
		const struct gr_pool *p = &cfg->pools[i];

		fprintf(out, "  pool %-25s %-10s uids %u-%llu, %u ranges of %u\n", p->name, "ok", (unsigned)p->first_uid,
			(unsigned long long)p->first_uid + (unsigned long long)p->ranges * p->range_size - 1,
			p->ranges, p->range_size);
	}
	if (!cfg->npools)
		return 0;
	fprintf(out, ITEM "no account, group, /etc/subuid or /etc/subgid range or overflow id in a pool%s\n",
		"pool ids", "clear", gr_config_ids_enumerations() > before ? " (passwd and group enumerated now)" : "");
	if (stamp_fresh(cfg, t0))
		fprintf(out, ITEM "%s/.ids-checked: job starts trust this check for %llu s while the files "
			"are unchanged\n", "ids stamp", "refreshed", cfg->lease_dir, GR_CONFIG_IDS_STAMP_MAX_AGE);
	else
		fprintf(out, ITEM "%s\n", "ids stamp", "not kept", geteuid() == 0
			? "the lease directory does not exist yet (the first lease makes it) or is not root's alone"
			: "only the lease directory's owner (root) keeps it: job starts check in full");
	return 0;
}
