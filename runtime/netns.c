/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "netns.h"

int gr_netns_in_child(struct gr_error **err)
{
	struct rtnl_link *lo = NULL, *change = NULL;
	struct nl_sock *sk;
	int r = 0;

	sk = nl_socket_alloc();
	if (!sk)
		return gr_error_sys(err, ENOMEM, "netns: allocate netlink socket");
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		r = gr_error_set(err, EIO, "netns: connect rtnetlink: %s", nl_geterror(r));
		goto out;
	}
	/* no lookup round trip: the loopback device of a new network
	 * namespace is always interface 1 (LOOPBACK_IFINDEX) */
	lo = rtnl_link_alloc();
	if (!lo) {
		r = gr_error_sys(err, ENOMEM, "netns: allocate link");
		goto out;
	}
	rtnl_link_set_ifindex(lo, 1);
	change = rtnl_link_alloc();
	if (!change) {
		r = gr_error_sys(err, ENOMEM, "netns: allocate link");
		goto out;
	}
	rtnl_link_set_flags(change, IFF_UP);
	r = rtnl_link_change(sk, lo, change, 0);
	if (r < 0) {
		r = gr_error_set(err, EPERM, "netns: bring loopback up: %s", nl_geterror(r));
		goto out;
	}
	r = 0;
out:
	if (change)
		rtnl_link_put(change);
	if (lo)
		rtnl_link_put(lo);
	nl_socket_free(sk);
	return r;
}
