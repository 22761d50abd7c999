/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cg-discover.c - the node's cgroup hierarchies through libcgroup;
 * cg-discover.h says for whom, and what is added to libcgroup's answer.
 */
#include <errno.h>
#include <libcgroup.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "cg-discover.h"
#include "cg-internal.h"
#include "util.h"

static unsigned inits;

unsigned gr_cg_discover_inits(void)
{
	return inits;
}

static int grow(void **v, size_t n, size_t size)
{
	void *p;

	if (n & 15)
		return 0;
	p = realloc(*v, (n + 16) * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	return 0;
}

/* The hierarchy mounted at path, added (from its statfs/stat) if new. */
static int hierarchy_at(struct gr_cg_discovery *d, const char *path, struct gr_cg_hierarchy **out)
{
	struct gr_cg_hierarchy h = { 0 };
	struct statfs sfs;
	struct stat st;

	*out = NULL;
	for (size_t i = 0; i < d->nh; i++)
		if (!strcmp(d->h[i].path, path)) {
			*out = &d->h[i];
			return 0;
		}
	if (strlen(path) >= sizeof(h.path) || statfs(path, &sfs) < 0 || stat(path, &st) < 0)
		return 0;   /* unmounted meanwhile, or a path we will not hold */
	if (sfs.f_type == CGROUP2_SUPER_MAGIC)
		h.version = 2;
	else if (sfs.f_type == CGROUP_SUPER_MAGIC)
		h.version = 1;
	else
		return 0;
	strcpy(h.path, path);
	h.dev = st.st_dev;
	if (grow((void **)&d->h, d->nh, sizeof(*d->h)) < 0)
		return -ENOMEM;
	d->h[d->nh] = h;
	*out = &d->h[d->nh++];
	return 0;
}

static int mounts(struct gr_cg_discovery *d)
{
	static const char *const v2_places[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	struct cgroup_mount_point mp;
	struct gr_cg_hierarchy *h;
	void *it = NULL;
	int r;

	for (r = cgroup_get_controller_begin(&it, &mp); r == 0; r = cgroup_get_controller_next(&it, &mp)) {
		size_t len;

		if (hierarchy_at(d, mp.path, &h) < 0) {
			cgroup_get_controller_end(&it);
			return -ENOMEM;
		}
		if (!h)
			continue;
		len = strlen(h->controllers);
		snprintf(h->controllers + len, sizeof(h->controllers) - len, "%s%s", len ? "," : "", mp.name);
		if (h->version == 1 && !h->own[0]) {
			char *own = NULL;

			/* /proc/self/cgroup's line for the controller */
			if (cgroup_get_current_controller_path(getpid(), mp.name, &own) == 0 && own &&
			    strlen(own) < sizeof(h->own))
				strcpy(h->own, own);
			free(own);
		}
	}
	cgroup_get_controller_end(&it);
	if (r != ECGEOF)
		return -EIO;
	/* cgroup2 mounts libcgroup leaves out (cg-discover.h) */
	for (size_t i = 0; i < ARRAY_SIZE(v2_places); i++) {
		struct statfs sfs;

		if (statfs(v2_places[i], &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC &&
		    hierarchy_at(d, v2_places[i], &h) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int controllers(struct gr_cg_discovery *d)
{
	struct controller_data cd;
	void *it = NULL;
	int r;

	for (r = cgroup_get_all_controller_begin(&it, &cd); r == 0; r = cgroup_get_all_controller_next(&it, &cd)) {
		if (grow((void **)&d->c, d->nc, sizeof(*d->c)) < 0) {
			cgroup_get_all_controller_end(&it);
			return -ENOMEM;
		}
		snprintf(d->c[d->nc].name, sizeof(d->c[d->nc].name), "%.31s", cd.name);
		d->c[d->nc].hierarchy = cd.hierarchy;
		d->c[d->nc++].enabled = cd.enabled != 0;
	}
	cgroup_get_all_controller_end(&it);
	return r == ECGEOF ? 0 : -EIO;
}

int gr_cg_discover(struct gr_cg_discovery *d, struct gr_error **err)
{
	unsigned long long t0 = gr_now_ns();
	int init, r;

	memset(d, 0, sizeof(*d));
	inits++;
	init = cgroup_init();
	d->init_ns = gr_now_ns() - t0;
	if (init != 0 && init != ECGROUPNOTMOUNTED)
		return gr_error_set(err, EIO, "cgroups: libcgroup cgroup_init(): %s", cgroup_strerror(init));
	/* /proc/cgroups: listed whether mounted or not */
	r = controllers(d);
	if (r == 0 && init == 0)
		r = mounts(d);
	if (r < 0) {
		gr_cg_discovery_free(d);
		return r == -ENOMEM ? gr_error_sys(err, ENOMEM, "cgroups: discovery")
				    : gr_error_set(err, EIO, "cgroups: libcgroup could not list the controllers");
	}
	return 0;
}

void gr_cg_discovery_free(struct gr_cg_discovery *d)
{
	free(d->h);
	free(d->c);
	memset(d, 0, sizeof(*d));
}

const struct gr_cg_hierarchy *gr_cg_discovery_find(const struct gr_cg_discovery *d, const char *controller)
{
	size_t n = strlen(controller);

	for (size_t i = 0; i < d->nh; i++)
		for (const char *p = d->h[i].controllers; (p = strstr(p, controller)); p += n)
			if ((p == d->h[i].controllers || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
				return &d->h[i];
	return NULL;
}

ssize_t gr_cg_discovery_job_paths(const struct gr_cg_discovery *d, const char *name, char **paths, size_t max)
{
	const char *base = NULL;
	size_t n = 0;

	if (gr_cg_base(&base, NULL) < 0)
		return -1;
	for (size_t i = 0; i < d->nh; i++) {
		const struct gr_cg_hierarchy *h = &d->h[i];
		bool ours = false;
		char dir[600];
		struct stat st;

		for (size_t k = 0; h->version == 1 && k < GR_CG_V1_CONTROLLERS; k++)
			ours = ours || gr_cg_discovery_find(d, gr_cg_v1_controllers[k]) == h;
		if (!ours)
			continue;
		/* libcgroup's OWN must be our cgroup's directory under MOUNT */
		if (!h->own[0] || snprintf(dir, sizeof(dir), "%s%s", h->path, h->own) >= (int)sizeof(dir) ||
		    stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || n == max)
			goto fallback;
		if (asprintf(&paths[n], "%s%s/%s", h->path,
			     base ? base : strcmp(h->own, "/") ? h->own : "", name) < 0)
			goto fallback;
		n++;
	}
	return (ssize_t)n;
fallback:
	while (n)
		free(paths[--n]);
	return -1;
}
