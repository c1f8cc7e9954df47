// SPDX-License-Identifier: GPL-2.0
/* See glue.h. */
#include "glue.h"

/* Whether the packet's current IPv4 route is plain unicast (not local, broadcast,
 * multicast): only those are candidates for source-domain routing. */
bool sitemh_skb_route_is_unicast4(const struct sk_buff *skb)
{
	const struct rtable *rt = skb_rtable(skb);

	return rt && rt->rt_type == RTN_UNICAST;
}

struct dst_entry *sitemh_rtable_dst(struct rtable *rt)
{
	return &rt->dst;
}

int sitemh_dst_error(const struct dst_entry *dst)
{
	return dst->error;
}

int sitemh_netdev_ifindex(const struct net_device *dev)
{
	return dev->ifindex;
}

const char *sitemh_netdev_name(const struct net_device *dev)
{
	return dev->name;
}
