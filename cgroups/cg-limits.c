/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cg-limits.c - applying one limit, for both backends, and the blockIO
 * limits (cg-internal.h has the contract).
 *
 * "This node cannot enforce it" is decided by the kernel, never guessed from
 * a version number: the file, controller or hierarchy is missing (ENOENT,
 * or no directory at all), or the kernel refuses the value for that device
 * (ENODEV: no such whole disk; EOPNOTSUPP: e.g. a BFQ weight for a device
 * whose scheduler is not BFQ). Two limits are checked before writing, as
 * the kernel takes them and then does nothing:
 *  - blockIO.weight, a cgroup-wide weight: only BFQ enforces weights since
 *    CFQ left Linux (5.0); the BFQ file exists as soon as BFQ is built in or
 *    loaded, so unless some block device uses BFQ the weight would be a
 *    no-op. v2's io.weight (iocost) is not used: it is inert unless the
 *    admin enabled io.cost.qos for a device.
 *  - blockIO.leafWeight: CFQ only (v1 blkio.leaf_weight); no file, no
 *    enforcement, on anything newer.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg-internal.h"
#include "util.h"

int gr_cg_unenforceable(struct gr_cgroup *cg, const struct gr_resources *res, enum gr_limit lim,
			struct gr_error **err, const char *fmt, ...)
{
	_cleanup_free_ char *why = NULL;
	const char *name = gr_limit_name(lim);
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&why, fmt, ap);
	va_end(ap);
	if (n < 0)
		return gr_error_sys(err, ENOMEM, "cgroup");
	if (!(res->optional & (1u << lim)))
		return gr_error_set(err, ENOTSUP, "linux.resources.%s: this node cannot enforce it: %s "
				    "(list \"%s\" in gridrun.optional_limits to run without it)",
				    name, why, name);
	{
		char *all = NULL;

		if (asprintf(&all, "%slinux.resources.%s: %s\n", cg->not_applied ? cg->not_applied : "",
			     name, why) < 0)
			return gr_error_sys(err, ENOMEM, "cgroup");
		free(cg->not_applied);
		cg->not_applied = all;
	}
	return 0;
}

int gr_cg_limit(struct gr_cgroup *cg, const struct gr_resources *res, enum gr_limit lim,
		int dirfd, const char *dir, const char *file, const char *value,
		const char *missing, struct gr_error **err)
{
	_cleanup_gr_error_ struct gr_error *e = NULL;
	int errnum;

	if (dirfd < 0)
		return gr_cg_unenforceable(cg, res, lim, err, "%s", missing ? missing : "no controller");
	if (gr_cg_write(dirfd, file, value, &e) == 0)
		return 0;
	errnum = e->errnum;
	if (errnum == ENOENT)
		return gr_cg_unenforceable(cg, res, lim, err, "%s%s`%s` does not exist",
					   missing ? missing : "", missing ? ": " : "", file);
	if (errnum == ENODEV || errnum == EOPNOTSUPP)
		return gr_cg_unenforceable(cg, res, lim, err, "`%s` refused `%s`: %s%s", file, value,
					   strerror(errnum),
					   errnum == EOPNOTSUPP && strstr(file, "weight") ?
					   " (the device's IO scheduler is not BFQ)" : "");
	return gr_error_set(err, errnum, "linux.resources.%s: `%s/%s`: %s", gr_limit_name(lim), dir,
			    file, e->msg);
}

bool gr_cg_bfq_in_use(void)
{
	DIR *d = opendir("/sys/block");
	struct dirent *de;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char path[512], buf[256];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/queue/scheduler", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		found = fgets(buf, sizeof(buf), f) && strstr(buf, "[bfq]");
		fclose(f);
	}
	closedir(d);
	return found;
}

/* Write value to the first of files[] that exists. */
static int limit_first(struct gr_cgroup *cg, const struct gr_resources *res, enum gr_limit lim,
		       const struct gr_cg_io_files *f, const char *const files[2], const char *value,
		       struct gr_error **err)
{
	const char *file = files[0];

	if (f->dirfd >= 0 && files[1] && faccessat(f->dirfd, files[0], F_OK, 0) < 0)
		file = files[1];
	return gr_cg_limit(cg, res, lim, f->dirfd, f->dir, file, value, f->missing, err);
}

#define LEAF_GONE "leaf weights were CFQ's, gone since Linux 5.0"

static int weights(struct gr_cgroup *cg, const struct gr_resources *res, const struct gr_cg_io_files *f,
		   struct gr_error **err)
{
	char v[64];

	if (res->blkio_weight) {
		snprintf(v, sizeof(v), "%u", res->blkio_weight);
		if (!gr_cg_bfq_in_use()) {
			if (gr_cg_unenforceable(cg, res, GR_LIM_BLKIO_WEIGHT, err,
						"no block device here uses the BFQ IO scheduler, "
						"the only one that enforces weights") < 0)
				return -ENOTSUP;
		} else if (limit_first(cg, res, GR_LIM_BLKIO_WEIGHT, f, f->weight, v, err) < 0) {
			return -ENOTSUP;
		}
	}
	if (res->blkio_leaf_weight) {
		snprintf(v, sizeof(v), "%u", res->blkio_leaf_weight);
		if (!f->leaf_weight) {
			if (gr_cg_unenforceable(cg, res, GR_LIM_BLKIO_LEAF_WEIGHT, err,
						"cgroup v2 has no leaf weight") < 0)
				return -ENOTSUP;
		} else if (gr_cg_limit(cg, res, GR_LIM_BLKIO_LEAF_WEIGHT, f->dirfd, f->dir, f->leaf_weight, v,
				f->missing ? f->missing : LEAF_GONE, err) < 0)
			return -ENOTSUP;
	}
	for (size_t i = 0; i < res->nweight_devices; i++) {
		const struct gr_blkio_dev *d = &res->weight_devices[i];

		if (d->value) {
			snprintf(v, sizeof(v), "%u:%u %llu", d->major, d->minor, d->value);
			if (limit_first(cg, res, GR_LIM_BLKIO_WEIGHT_DEVICE, f, f->weight_device, v, err) < 0)
				return -ENOTSUP;
		}
		if (d->leaf_weight && !f->leaf_weight_device) {
			if (gr_cg_unenforceable(cg, res, GR_LIM_BLKIO_LEAF_WEIGHT, err,
						"cgroup v2 has no leaf weight") < 0)
				return -ENOTSUP;
		} else if (d->leaf_weight) {
			snprintf(v, sizeof(v), "%u:%u %u", d->major, d->minor, d->leaf_weight);
			if (gr_cg_limit(cg, res, GR_LIM_BLKIO_LEAF_WEIGHT, f->dirfd, f->dir,
					f->leaf_weight_device, v, f->missing ? f->missing : LEAF_GONE, err) < 0)
				return -ENOTSUP;
		}
	}
	return 0;
}

int gr_cg_io_limits(struct gr_cgroup *cg, const struct gr_resources *res,
		    const struct gr_cg_io_files *f, struct gr_error **err)
{
	if (weights(cg, res, f, err) < 0)
		return -ENOTSUP;
	for (int t = 0; t < GR_BLKIO_THROTTLES; t++) {
		for (size_t i = 0; i < res->nthrottle[t]; i++) {
			const struct gr_blkio_dev *d = &res->throttle[t][i];
			char v[96];

			snprintf(v, sizeof(v), "%u:%u %s%llu", d->major, d->minor, f->throttle_key[t], d->value);
			if (gr_cg_limit(cg, res, GR_LIM_BLKIO_READ_BPS + t, f->dirfd, f->dir, f->throttle[t], v,
					f->missing, err) < 0)
				return -ENOTSUP;
		}
	}
	return 0;
}
