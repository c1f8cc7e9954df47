/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Source-domain routing of one packet: the route to the domain's default router, looked
 * up as ip_route_me_harder() looks a packet's route up (mark, uid, VRF, DSCP, the socket's
 * bound device, IPsec), so that rerouting never takes a packet out of its IPsec tunnel,
 * its VRF or the device its socket is bound to.
 */
#ifndef SITEMH_GLUE_ROUTE_H
#define SITEMH_GLUE_ROUTE_H

#include <linux/skbuff.h>
#include <net/net_namespace.h>

/* What sitemh_reroute4/6 did with the packet, when they did not fail. */
enum sitemh_reroute {
	/* The packet now goes to the domain's router. */
	SITEMH_REROUTE_DONE = 0,
	/* The packet keeps the route the stack gave it: it is bound for an IPsec transform
	 * (its transformed packet comes back through LOCAL_OUT and is routed by source then),
	 * it is in a VRF whose table does not reach the router, or its socket is bound to a
	 * device other than the one the router is reached on. */
	SITEMH_REROUTE_KEPT = 1,
};

/* One domain's route to its router, read by packets without a reference (glue_route.c). */
struct sitemh_route_cache;

/* An empty cache, or NULL (no memory). */
struct sitemh_route_cache *sitemh_route_cache_new(void);
/* Frees cache (NULL: nothing) once no reader can reach it any more. */
void sitemh_route_cache_free(struct sitemh_route_cache *cache);
/* The plain flow's route to gateway (IPv4) with one reference owned by the caller, from
 * cache or looked up and cached; an ERR_PTR when there is no route. */
struct dst_entry *sitemh_route_cache_get4(struct net *net, struct sitemh_route_cache *cache,
					  __be32 gateway);
/* The same for IPv6: gateway is 16 octets, reached on ifindex (0: any). */
struct dst_entry *sitemh_route_cache_get6(struct net *net, struct sitemh_route_cache *cache,
					  const u8 *gateway, int ifindex);

/*
 * Gives the IPv4 packet skb (at LOCAL_OUT, or at FORWARD if forward) the route to gateway
 * as a known next hop, keeping its destination address. cache holds the route of the
 * plain flow (no mark-, uid- or port-keyed rules, no VRF, no bound device), which is all
 * most packets need: a forwarded one gets it without a reference taken. Returns an enum
 * sitemh_reroute, or a negative errno when there is no route to the router or IPsec policy
 * refuses the rerouted flow (drop the packet then).
 * Call from a netfilter hook (RCU read side).
 */
int sitemh_reroute4(struct net *net, struct sk_buff *skb, struct sitemh_route_cache *cache,
		    __be32 gateway, bool forward);

/* The same for IPv6; gateway is 16 octets, ifindex the interface it is reached on (needed
 * for a link-local router) or 0. */
int sitemh_reroute6(struct net *net, struct sk_buff *skb, struct sitemh_route_cache *cache,
		    const u8 *gateway, int ifindex, bool forward);

#endif /* SITEMH_GLUE_ROUTE_H */
