/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spec-internal.h - what the files of the spec parser share; nothing outside
 * runtime/spec*.c includes it. spec.c holds the top level, process, root,
 * hostname, mounts and annotations, and the loading; spec-linux.c the
 * "linux" and "gridrun" objects. spec-pos.h is the walk under both.
 *
 * Guarantees, the same as for the parser's static functions before the
 * split: each member function is called by gr_spec_each_member() with its
 * member pushed on the walk, fills ctx(w)->spec, and returns 0 or the
 * negative errno of the one error it reported through the walk
 * (gr_spec_fail() and friends). Whatever it allocated is attached to the
 * spec before it can fail, so gr_spec_free() releases it either way.
 */
#ifndef GRIDRUN_SPEC_INTERNAL_H
#define GRIDRUN_SPEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <jansson.h>

#include "spec.h"
#include "spec-pos.h"

struct spec_ctx {
	struct gr_spec_walk w; /* first: the callbacks get &ctx->w */
	struct gr_spec *spec;
	bool ns_listed;        /* linux.namespaces was given */
	bool network_set;      /* gridrun.network was given */
	/* the array element being parsed */
	struct gr_rlimit *rl;
	unsigned rl_seen;      /* 1 << RLIMIT_* of each type so far */
	unsigned rl_have;      /* members of *rl given: 1 type, 2 soft, 4 hard */
	struct gr_mount *mount;
	bool mount_tmpfs;      /* its "type" says tmpfs (read ahead of the walk) */
	bool ns_have_type;
	/* the blockIO device entry being parsed (spec-resources.c) */
	int blkio_list;        /* -1 weightDevice, else GR_BLKIO_* */
	struct gr_blkio_dev *blkio_dev;
	unsigned blkio_have;   /* members given: 1 major, 2 minor, 4 weight/rate, 8 leafWeight */
	/* uid/gidMappings (spec-oci.c) */
	long long map_first, map_size, map_cur;
	bool map_covered;
};

static inline struct spec_ctx *ctx(struct gr_spec_walk *w)
{
	return (struct spec_ctx *)w;
}

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

enum strv_kind { STRV_ARGS, STRV_ENV, STRV_PATHS };

/* A NULL-terminated string vector, attached to *out before it is filled. */
int gr_spec_get_strv(struct gr_spec_walk *w, json_t *v, enum strv_kind kind,
		     char ***out, size_t *count);

/* spec-linux.c: the members of "linux" and of "gridrun". */
int gr_spec_linux_member(struct gr_spec_walk *w, const char *key, json_t *v);
int gr_spec_gridrun_member(struct gr_spec_walk *w, const char *key, json_t *v);

/* spec-resources.c: linux.resources.blockIO and gridrun.optional_limits;
 * gr_spec_resources_settle() recomputes resources.set and .any. */
int gr_spec_blkio(struct gr_spec_walk *w, json_t *v);
int gr_spec_optional_limits(struct gr_spec_walk *w, json_t *v);
void gr_spec_resources_settle(struct gr_resources *res);

/*
 * After the walk: the default namespaces when linux.namespaces was not given,
 * else gridrun.network from or checked against a listed "network" entry
 * (spec.c's header comment). Fails at gridrun.network.
 */
int gr_spec_resolve_network(struct spec_ctx *c);

/* spec-oci.c: OCI members accepted for compatibility (its header). */
int gr_spec_oci_unsupported(struct gr_spec_walk *w, const char *object, const char *key);
int gr_spec_oci_capability(struct gr_spec_walk *w, const char *key, json_t *v);
/* 1: a standard mount gridrun provides (checked, not to be added), 0: not one */
int gr_spec_oci_std_mount(struct gr_spec_walk *w, json_t *v);
int gr_spec_oci_devices(struct gr_spec_walk *w, json_t *v);
int gr_spec_oci_mappings(struct gr_spec_walk *w, const char *key, json_t *v);
int gr_spec_oci_cgroups_path(struct gr_spec_walk *w, json_t *v);
int gr_spec_oci_root_path(struct gr_spec_walk *w, json_t *v, const char *bundle, char **out);
void gr_spec_oci_env_dedup(struct gr_spec *spec);

#endif
