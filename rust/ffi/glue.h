/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hand-written C glue for what bindgen cannot express well: fields of structures that the
 * kernel crate only knows as opaque (struct rtable embeds struct dst_entry, which
 * `kernel::bindings` declares without fields). Every symbol starts with sitemh_.
 */
#ifndef SITEMH_GLUE_H
#define SITEMH_GLUE_H

#include <linux/skbuff.h>
#include <net/dst.h>
#include <net/route.h>

bool sitemh_skb_route_is_unicast4(const struct sk_buff *skb);
struct dst_entry *sitemh_rtable_dst(struct rtable *rt);
int sitemh_dst_error(const struct dst_entry *dst);
int sitemh_netdev_ifindex(const struct net_device *dev);
const char *sitemh_netdev_name(const struct net_device *dev);

#endif /* SITEMH_GLUE_H */
