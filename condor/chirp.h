/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chirp.h - Chirp delayed job-attribute updates to the starter's I/O proxy.
 *
 * $_CONDOR_CHIRP_CONFIG names a file "<ip> <port> <cookie>\n" (the starter's
 * io_proxy.cpp writes it; the address is loopback). The protocol, as
 * condor_chirp's client speaks it: one TCP connection; each request is one
 * line, each reply one line holding a decimal result, 0 for success and
 * negative for an error:
 *     cookie <cookie>\n                         -> 0
 *     set_job_attr_delayed <Name> <expr>\n      -> 0
 * Delayed updates need no want_io_proxy; the starter ships them with its
 * next update to the shadow and with the job-exit update. Names must match
 * CHIRP_DELAYED_UPDATE_PREFIX (default Chirp*), hence ChirpGridrun*.
 *
 * Contract: gr_chirp_load() parses the file strictly (an IPv4 address, a
 * port 1-65535, a cookie of printable characters without blanks) or fails
 * with one line naming the file. gr_chirp_send() connects, presents the
 * cookie and sends every attribute, each step bounded by timeout_ms; any
 * refusal or failure is an error naming the step and the attribute, and
 * stops the update (the caller logs it and carries on: usage reports never
 * fail a job). Values are ClassAd expression text: the gr_chirp_value_*()
 * helpers format integers, booleans, strings (quoted, \ and " escaped) and
 * undefined.
 */
#ifndef GRIDRUN_CHIRP_H
#define GRIDRUN_CHIRP_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct gr_chirp {
	char addr[16];              /* dotted IPv4 */
	unsigned port;
	char cookie[256];
};

struct gr_chirp_attr {
	const char *name;
	char value[160];             /* ClassAd expression text */
};

int gr_chirp_load(const char *path, struct gr_chirp *out, struct gr_error **err);
int gr_chirp_send(const struct gr_chirp *c, const struct gr_chirp_attr *attrs, size_t n,
		  int timeout_ms, struct gr_error **err);

void gr_chirp_value_u64(struct gr_chirp_attr *a, const char *name, bool known, uint64_t v);
void gr_chirp_value_bool(struct gr_chirp_attr *a, const char *name, bool v);
/* s NULL: undefined */
void gr_chirp_value_string(struct gr_chirp_attr *a, const char *name, const char *s);

#endif
