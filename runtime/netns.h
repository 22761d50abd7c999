/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netns.h - the job's own network namespace (gridrun.network "none").
 *
 * gr_netns_in_child() runs in the child after the namespace exists and while
 * it still holds CAP_NET_ADMIN there: it brings loopback up over rtnetlink
 * (libnl-route-3), so "none" means "loopback only", not "no network stack".
 */
#ifndef GRIDRUN_NETNS_H
#define GRIDRUN_NETNS_H

#include "error.h"

int gr_netns_in_child(struct gr_error **err);

#endif
