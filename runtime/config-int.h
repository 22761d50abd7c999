/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config-int.h - what config.c (the parser) shares with config-ids.c (the
 * pools' id checks and their stamp); not for other modules. See config.h.
 */
#ifndef GRIDRUN_CONFIG_INT_H
#define GRIDRUN_CONFIG_INT_H

#include <stdbool.h>

#include "config.h"

/* Pools do not overlap each other. */
int gr_config_check_overlaps(const struct gr_config *cfg, struct gr_error **err);
/* The NSS, overflow-id and subid checks of config.h; full: enumerate even
 * when the stamp matches (and renew it). */
int gr_config_ids_check(const struct gr_config *cfg, bool full, struct gr_error **err);

#endif
