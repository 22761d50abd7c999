/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check-site.c - the "Site configuration" section of `gridrun check`
 * (check.h): the site configuration, when there is one, loaded the way
 * `gridrun gc` loads it as root, with the full check of the pools against
 * every account, group, /etc/subuid and /etc/subgid range whatever the stamp
 * says (config-ids.c). As root that check refreshes LEASE_DIR/.ids-checked,
 * which job starts trust instead of enumerating passwd and group themselves.
 *
 * Pools shared by accounts (S36): gridrun-helper refuses such a pool to a
 * caller that could freeze its cgroup (helper-shield.c). Run by an account,
 * check asks the same question of its own cgroup, the one its jobs start
 * from when it runs in the batch slot, and names the file; run by root,
 * which cannot know where the accounts run, it says so for each such pool.
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "helper/helper.h"
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

/* Another account than name allowed in pool p, or NULL. */
static const char *other_account(const struct gr_pool *p, const char *name)
{
	bool mine = false;
	const char *other = NULL;

	for (size_t i = 0; i < p->naccounts; i++) {
		if (!strcmp(p->accounts[i], name))
			mine = true;
		else if (!other)
			other = p->accounts[i];
	}
	return mine ? other : NULL;
}

/* S36: the pools this account shares with another, and whether its helper
 * would refuse them from this cgroup (a PROBLEM, returned). */
static int shared_pools(FILE *out, const struct gr_config *cfg, struct gr_error **err)
{
	char file[PATH_MAX + 32], name[64];
	const struct passwd *pw;
	uid_t uid = getuid();
	int frz = 2, r = 0;

	if (uid == 0) {
		for (size_t i = 0; i < cfg->npools; i++) {
			const struct gr_pool *p = &cfg->pools[i];

			if (p->naccounts < 2)
				continue;
			snprintf(name, sizeof(name), "pool %s", p->name);
			fprintf(out, ITEM "by %zu accounts: their helper refuses it to a caller that can "
				"write the freezer of its cgroup (cgroup.freeze, cgroup.procs, freezer.state); "
				"`gridrun check` run by an account where its jobs start tells\n", name, "shared",
				p->naccounts);
		}
		return 0;
	}
	pw = getpwuid(uid);
	for (size_t i = 0; pw && i < cfg->npools; i++) {
		const struct gr_pool *p = &cfg->pools[i];
		const char *other = other_account(p, pw->pw_name);

		if (!other)
			continue;
		if (frz == 2) {   /* once: the answer is this process's, not the pool's */
			struct gr_error *e = NULL;

			frz = gr_helper_freezer_file(uid, getgid(), file, sizeof(file), &e);
			if (frz < 0)
				snprintf(file, sizeof(file), "%s", e ? e->msg : "?");
			gr_error_free(e);
		}
		snprintf(name, sizeof(name), "pool %s", p->name);
		if (frz < 0)
			fprintf(out, ITEM "with account %s; whether this cgroup can be frozen by uid %u is "
				"unknown: %s\n", name, "unknown", other, (unsigned)uid, file);
		else if (frz == 0)
			fprintf(out, ITEM "with account %s; uid %u cannot freeze this cgroup: helper mode "
				"may lease here\n", name, "shared", other, (unsigned)uid);
		else {
			fprintf(out, ITEM "uid %u can write %s: gridrun-helper refuses this pool here, as it could "
				"freeze the helper while it holds the locks of pool %s, which account %s shares "
				"(give the account a pool of its own, or run it in a cgroup it cannot write)\n",
				name, "PROBLEM", (unsigned)uid, file, p->name, other);
			if (r == 0)
				r = gr_error_set(err, EPERM, "pool %s: uid %u can write %s: helper mode refuses "
						 "the pool here", p->name, (unsigned)uid, file);
		}
	}
	return r;
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
	if (shared_pools(out, cfg, err) < 0)
		return gr_error_prefix(err, "check: site configuration");
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
