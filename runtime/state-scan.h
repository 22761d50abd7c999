/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * state-scan.h - gr_job_state_parse()'s fast path (state-scan.c): a state
 * entry in the plain shape gridrun writes it, read without building a
 * jansson tree (~28 us an entry here, which a one-shot of the exporter pays
 * for each of 1 000 jobs, as gc and ps do).
 *
 * Contract: gr_job_state_scan() takes an entry only when it is sure to give
 * exactly what the jansson path gives (state.c, parse_fields()): one JSON
 * object, any whitespace, only the known keys each at most once, strings of
 * printable ASCII without escapes, integers without fraction, exponent or
 * leading zero, every field of its type and within its range, the required
 * ones there. Then *st is filled as gr_job_state_parse() documents and it
 * returns 1. Anything else returns 0 with *st zeroed, and the jansson path
 * decides (and says why an entry is refused); it never refuses an entry.
 */
#ifndef GRIDRUN_STATE_SCAN_H
#define GRIDRUN_STATE_SCAN_H

#include "state.h"

int gr_job_state_scan(const char *text, unsigned flags, struct gr_job_state *st);

#endif
