/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spec-resources.c - linux.resources.blockIO and gridrun.optional_limits.
 * Part of the spec parser: conventions in spec.c, shared state in
 * spec-internal.h.
 *
 * blockIO follows OCI: weight and leafWeight (10..1000), weightDevice
 * entries {major, minor, weight?, leafWeight?} (at least one of the two),
 * and the four throttle lists of {major, minor, rate}. Decisions:
 *  - major is 0..4095 and minor 0..1048575 (the kernel's dev_t), rate is a
 *    positive integer (bytes or operations per second; the IOPS ones fit in
 *    32 bits, as v1 keeps them): "no limit" is said by leaving the entry out.
 *  - One device appears at most once per list; a list holds at most
 *    GR_BLKIO_MAX_DEVICES entries.
 *
 * gridrun.optional_limits is an array of limit names, the OCI paths below
 * linux.resources ("memory.swap", "blockIO.weight", ...; gr_limit_name()):
 * a listed limit the node cannot enforce is left out and reported instead of
 * failing the job. A name not in the table is an error (a typo must not
 * silently make a limit optional), so is a duplicate. Listing a limit the
 * spec does not set is allowed: a site's template may list the same names
 * for every job.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "spec-internal.h"
#include "util.h"

static const char *const limit_names[GR_LIM_COUNT] = {
	[GR_LIM_MEMORY_LIMIT] = "memory.limit",
	[GR_LIM_MEMORY_SWAP] = "memory.swap",
	[GR_LIM_CPU_SHARES] = "cpu.shares",
	[GR_LIM_CPU_QUOTA] = "cpu.quota",
	[GR_LIM_CPU_PERIOD] = "cpu.period",
	[GR_LIM_PIDS_LIMIT] = "pids.limit",
	[GR_LIM_BLKIO_WEIGHT] = "blockIO.weight",
	[GR_LIM_BLKIO_LEAF_WEIGHT] = "blockIO.leafWeight",
	[GR_LIM_BLKIO_WEIGHT_DEVICE] = "blockIO.weightDevice",
	[GR_LIM_BLKIO_READ_BPS] = "blockIO.throttleReadBpsDevice",
	[GR_LIM_BLKIO_WRITE_BPS] = "blockIO.throttleWriteBpsDevice",
	[GR_LIM_BLKIO_READ_IOPS] = "blockIO.throttleReadIOPSDevice",
	[GR_LIM_BLKIO_WRITE_IOPS] = "blockIO.throttleWriteIOPSDevice",
};

const char *gr_limit_name(enum gr_limit lim)
{
	return (unsigned)lim < GR_LIM_COUNT ? limit_names[lim] : NULL;
}

void gr_spec_resources_settle(struct gr_resources *res)
{
	unsigned set = 0;

	set |= (res->memory_limit != -1) << GR_LIM_MEMORY_LIMIT;
	set |= (res->memory_swap != -1) << GR_LIM_MEMORY_SWAP;
	set |= (res->cpu_shares != 0) << GR_LIM_CPU_SHARES;
	set |= (res->cpu_quota != -1) << GR_LIM_CPU_QUOTA;
	set |= (res->cpu_period != 0) << GR_LIM_CPU_PERIOD;
	set |= (res->pids_limit != -1) << GR_LIM_PIDS_LIMIT;
	set |= (res->blkio_weight != 0) << GR_LIM_BLKIO_WEIGHT;
	set |= (res->blkio_leaf_weight != 0) << GR_LIM_BLKIO_LEAF_WEIGHT;
	for (size_t i = 0; i < res->nweight_devices; i++) {
		set |= (res->weight_devices[i].value != 0) << GR_LIM_BLKIO_WEIGHT_DEVICE;
		set |= (res->weight_devices[i].leaf_weight != 0) << GR_LIM_BLKIO_LEAF_WEIGHT;
	}
	for (int t = 0; t < GR_BLKIO_THROTTLES; t++)
		set |= (res->nthrottle[t] != 0) << (GR_LIM_BLKIO_READ_BPS + t);
	res->set = set;
	res->any = set != 0;
}

static int get_weight(struct gr_spec_walk *w, json_t *v, unsigned *out)
{
	long long n = 0;
	int r = gr_spec_get_int(w, v, 10, 1000, false, "expected an integer from 10 to 1000", &n);

	*out = (unsigned)n;
	return r;
}

static int device_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	struct spec_ctx *c = ctx(w);
	struct gr_blkio_dev *d = c->blkio_dev;
	bool weights = c->blkio_list < 0;
	long long n = 0;
	int r;

	if (streq(key, "major")) {
		r = gr_spec_get_int(w, v, 0, 4095, false, "expected a device major number (0 to 4095)", &n);
		d->major = (unsigned)n;
		c->blkio_have |= 1;
	} else if (streq(key, "minor")) {
		r = gr_spec_get_int(w, v, 0, 1048575, false,
				    "expected a device minor number (0 to 1048575)", &n);
		d->minor = (unsigned)n;
		c->blkio_have |= 2;
	} else if (weights && streq(key, "weight")) {
		unsigned u = 0;

		r = get_weight(w, v, &u);
		d->value = u;
		c->blkio_have |= 4;
	} else if (weights && streq(key, "leafWeight")) {
		r = get_weight(w, v, &d->leaf_weight);
		c->blkio_have |= 8;
	} else if (!weights && streq(key, "rate")) {
		bool iops = c->blkio_list == GR_BLKIO_READ_IOPS || c->blkio_list == GR_BLKIO_WRITE_IOPS;

		r = gr_spec_get_int(w, v, 1, iops ? UINT_MAX - 1 : LLONG_MAX, false,
				    iops ? "expected a positive integer below 4294967295" :
				    "expected a positive integer", &n);
		d->value = (unsigned long long)n;
		c->blkio_have |= 4;
	} else {
		return gr_spec_unknown_key(w);
	}
	return r;
}

static int device_element(struct gr_spec_walk *w, size_t i, json_t *v)
{
	struct spec_ctx *c = ctx(w);
	struct gr_resources *res = &c->spec->resources;
	bool weights = c->blkio_list < 0;
	struct gr_blkio_dev **arr = weights ? &res->weight_devices : &res->throttle[c->blkio_list];
	size_t *n = weights ? &res->nweight_devices : &res->nthrottle[c->blkio_list];
	struct gr_blkio_dev *na;
	int r;

	if (i >= GR_BLKIO_MAX_DEVICES)
		return gr_spec_fail(w, "more than %d devices", GR_BLKIO_MAX_DEVICES);
	na = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (!na)
		return gr_spec_oom(w);
	*arr = na;
	c->blkio_dev = &na[*n];
	memset(c->blkio_dev, 0, sizeof(*c->blkio_dev));
	(*n)++;
	c->blkio_have = 0;
	r = gr_spec_each_member(w, v, "expected an object", device_member);
	if (r < 0)
		return r;
	if (!(c->blkio_have & 1))
		return gr_spec_fail(w, "missing required key \"major\"");
	if (!(c->blkio_have & 2))
		return gr_spec_fail(w, "missing required key \"minor\"");
	if (!weights && !(c->blkio_have & 4))
		return gr_spec_fail(w, "missing required key \"rate\"");
	if (weights && !(c->blkio_have & (4 | 8)))
		return gr_spec_fail(w, "expected \"weight\" or \"leafWeight\"");
	for (size_t k = 0; k + 1 < *n; k++)
		if (na[k].major == c->blkio_dev->major && na[k].minor == c->blkio_dev->minor)
			return gr_spec_fail(w, "device %u:%u is listed twice", na[k].major, na[k].minor);
	return 0;
}

static int blkio_member(struct gr_spec_walk *w, const char *key, json_t *v)
{
	static const char *const throttles[GR_BLKIO_THROTTLES] = {
		"throttleReadBpsDevice", "throttleWriteBpsDevice",
		"throttleReadIOPSDevice", "throttleWriteIOPSDevice",
	};
	struct spec_ctx *c = ctx(w);
	struct gr_resources *res = &c->spec->resources;

	if (streq(key, "weight"))
		return get_weight(w, v, &res->blkio_weight);
	if (streq(key, "leafWeight"))
		return get_weight(w, v, &res->blkio_leaf_weight);
	c->blkio_list = -2;
	if (streq(key, "weightDevice"))
		c->blkio_list = -1;
	for (int t = 0; t < GR_BLKIO_THROTTLES; t++)
		if (streq(key, throttles[t]))
			c->blkio_list = t;
	if (c->blkio_list == -2)
		return gr_spec_unknown_key(w);
	return gr_spec_each_element(w, v, "expected an array of device objects", device_element);
}

int gr_spec_blkio(struct gr_spec_walk *w, json_t *v)
{
	return gr_spec_each_member(w, v, "expected an object", blkio_member);
}

static int optional_element(struct gr_spec_walk *w, size_t i, json_t *v)
{
	struct gr_resources *res = &ctx(w)->spec->resources;
	const char *s = json_string_value(v);
	char q[GR_SPEC_QUOTE_BUF];
	int k;

	(void)i;
	if (!s)
		return gr_spec_fail(w, "expected a limit name such as \"memory.swap\"");
	for (k = 0; k < GR_LIM_COUNT; k++)
		if (streq(s, limit_names[k]))
			break;
	if (k == GR_LIM_COUNT)
		return gr_spec_fail(w, "unknown limit %s, expected a path below linux.resources: "
				    "memory.limit, memory.swap, cpu.shares, cpu.quota, cpu.period, "
				    "pids.limit, blockIO.weight, blockIO.leafWeight, "
				    "blockIO.weightDevice or blockIO.throttle{Read,Write}{Bps,IOPS}Device",
				    gr_spec_quote(s, q));
	if (res->optional & (1u << k))
		return gr_spec_fail(w, "%s is listed twice", gr_spec_quote(s, q));
	res->optional |= 1u << k;
	return 0;
}

int gr_spec_optional_limits(struct gr_spec_walk *w, json_t *v)
{
	return gr_spec_each_element(w, v, "expected an array of limit names", optional_element);
}
