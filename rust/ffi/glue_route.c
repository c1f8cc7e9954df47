// SPDX-License-Identifier: GPL-2.0
/*
 * Why C: route look-ups with the kernel's flow structures, the policy rules, VRF (l3mdev)
 * and xfrm helpers, many of them static inline, and a route published under RCU that
 * packets carry without a reference (skb_dst_set_noref). Which domain's router a packet
 * goes to is decided in Rust (rust/logic/domain.rs); what is here is how the kernel
 * reroutes one.
 *
 * See glue_route.h. The model is ip_route_me_harder() (net/ipv4/netfilter.c) and
 * ip6_route_me_harder() (net/ipv6/netfilter.c): the flow carries the packet's mark, its
 * socket's uid, its VRF and DSCP, and the new route goes through xfrm_lookup(), so IPsec
 * policy applies to the rerouted flow exactly as it applies to any other.
 *
 * Three kinds of packet keep the route the stack gave them:
 * - one whose route is an IPsec bundle (dst->xfrm): the stack has already decided that it
 *   leaves through a tunnel (xfrm_lookup at LOCAL_OUT, xfrm_route_forward before FORWARD).
 *   Its transformed packet comes back through LOCAL_OUT (xfrm_output_resume) with the
 *   tunnel's outer addresses, and that one is routed by its outer source;
 * - one routed in a VRF when the VRF's table does not reach the domain's router, or whose
 *   route points at the VRF device itself (the VRF driver routes it again);
 * - one whose socket is bound to a device (SO_BINDTODEVICE, or a VRF) other than the one
 *   the router is reached on.
 */
#include <linux/netdevice.h>
#include <net/dst.h>
#include <net/fib_rules.h>
#include <net/flow_dissector.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/ip6_fib.h>
#include <net/ip6_route.h>
#include <net/ip_fib.h>
#include <net/ipv6.h>
#include <net/l3mdev.h>
#include <net/route.h>
#include <net/sock.h>
#include <net/xfrm.h>

#include "glue_route.h"

/*
 * The VRF of dev (l3mdev_master_ifindex_rcu()), without the call for a device that is
 * neither a VRF nor one of its ports: what every packet of a site without VRFs passes.
 */
static inline int sitemh_dev_l3mdev(const struct net_device *dev)
{
	if (!dev || !(dev->priv_flags & (IFF_L3MDEV_MASTER | IFF_L3MDEV_SLAVE)))
		return 0;
	return l3mdev_master_ifindex_rcu(dev);
}

/*
 * The VRF (l3mdev master ifindex, 0: none) the packet is routed in, judged from the
 * device of its route as ip_route_me_harder() does; a forwarded packet must also have
 * arrived in that VRF. Returns -1 when the packet keeps its route: the route points at a
 * VRF device itself (the VRF driver routes the packet again in its table and passes it
 * through LOCAL_OUT once more, with a route on one of its ports), or the packet crosses
 * VRFs by a route leak the operator set up.
 */
static int sitemh_packet_l3mdev(const struct sk_buff *skb, const struct dst_entry *old,
				bool forward)
{
	const struct net_device *dev = dst_dev_rcu(old);
	int l3mdev;

	if (!dev || netif_is_l3_master(dev))
		return -1;
	l3mdev = sitemh_dev_l3mdev(dev);
	if (forward && skb->dev && sitemh_dev_l3mdev(skb->dev) != l3mdev)
		return -1;
	return l3mdev;
}

/*
 * The full socket a local packet comes from, or NULL (forwarded, no socket, or a time-wait
 * or request socket, which have no bound device, uid or policy of their own to honour).
 */
static struct sock *sitemh_packet_sock(const struct sk_buff *skb, bool forward)
{
	struct sock *sk = forward ? NULL : sk_to_full_sk(skb->sk);

	return sk && sk_fullsock(sk) ? sk : NULL;
}

/*
 * Whether the route new, found for a packet in VRF l3mdev from a socket bound to oif (0:
 * none), may replace the packet's route: it stays in the packet's VRF, and leaves by the
 * bound device (or a port of the VRF the socket is bound to).
 */
static bool sitemh_route_fits(const struct dst_entry *new, int l3mdev, int oif)
{
	const struct net_device *dev = dst_dev_rcu(new);
	int master;

	if (!dev)
		return false;
	master = sitemh_dev_l3mdev(dev);
	if (master != l3mdev)
		return false;
	return !oif || oif == dev->ifindex || oif == master;
}

/*
 * Whether an IPsec policy may apply to a packet of sk (NULL: forwarded) in net: the
 * namespace has output policies, blocks by default, or the socket has its own policy.
 * Otherwise xfrm_lookup() would return the route unchanged, and the flow dissection that
 * feeds it is saved.
 */
static bool sitemh_xfrm_may_apply(const struct net *net, const struct sock *sk)
{
#ifdef CONFIG_XFRM
	return READ_ONCE(net->xfrm.policy_count[XFRM_POLICY_OUT]) ||
	       READ_ONCE(net->xfrm.policy_default[XFRM_POLICY_OUT]) != XFRM_USERPOLICY_ACCEPT ||
	       (sk && rcu_access_pointer(sk->sk_policy[XFRM_POLICY_OUT]));
#else
	return false;
#endif
}

/*
 * Whether the namespace's IPv4 policy rules are the default ones (local, main, default):
 * then the destination alone selects the route, and the plain flow's cached route is every
 * flow's route to the router. fib_has_custom_rules says in one read that no rule was ever
 * added; once one was, the flag stays, and the list is walked (three entries when it is
 * back to the defaults; a custom rule usually comes first otherwise).
 */
static bool sitemh_rules_default4(const struct net *net)
{
#ifdef CONFIG_IP_MULTIPLE_TABLES
	const struct fib_rule *rule;

	if (!READ_ONCE(net->ipv4.fib_has_custom_rules))
		return true;
	list_for_each_entry_rcu(rule, &net->ipv4.rules_ops->rules_list, list)
		if (!fib4_rule_default(rule))
			return false;
#endif
	return true;
}

/* The same for IPv6. */
static bool sitemh_rules_default6(const struct net *net)
{
#ifdef CONFIG_IPV6_MULTIPLE_TABLES
	const struct fib_rule *rule;

	if (!READ_ONCE(net->ipv6.fib6_has_custom_rules))
		return true;
	list_for_each_entry_rcu(rule, &net->ipv6.fib6_rules_ops->rules_list, list)
		if (!fib6_rule_default(rule))
			return false;
#endif
	return true;
}

/*
 * Sets new as the route of skb: with one reference the caller owned, or (noref) without a
 * reference, from a route cache, under RCU. Then runs IPsec policy over the rerouted flow
 * unless the packet is the product of a transform already (transformed is the family's
 * IPSKB_XFRM_TRANSFORMED), as ip_route_me_harder() does. Returns 0 or a negative errno
 * (the packet is dropped then).
 */
static __always_inline int sitemh_set_route(struct net *net, struct sk_buff *skb,
					    struct dst_entry *new, bool noref,
					    const struct sock *sk, unsigned short family,
					    bool transformed)
{
	unsigned int hh_len;

	skb_dst_drop(skb);
	if (noref)
		skb_dst_set_noref(skb, new);
	else
		skb_dst_set(skb, new);

#ifdef CONFIG_XFRM
	if (!transformed && sitemh_xfrm_may_apply(net, sk)) {
		struct flowi fl;

		/* xfrm_lookup() consumes a reference: take one for a cached route (it fails
		 * only for a route whose last reference is gone). */
		if (!skb_dst_force(skb))
			return -EHOSTUNREACH;
		/* Decoded with the new route in place: the flow's oif is its device, as for
		 * ip_route_me_harder(). */
		if (xfrm_decode_session(net, skb, &fl, family) == 0) {
			struct dst_entry *dst = skb_dst(skb);

			/* xfrm_lookup() consumes the reference the packet held. */
			skb_dstref_steal(skb);
			dst = xfrm_lookup(net, dst, &fl, sk, 0);
			if (IS_ERR(dst))
				return PTR_ERR(dst);
			skb_dst_set(skb, dst);
		}
	}
#endif

	/* A different device may need more room for its link-layer header. */
	hh_len = skb_dst_dev(skb)->hard_header_len;
	if (skb_headroom(skb) < hh_len &&
	    pskb_expand_head(skb, HH_DATA_ALIGN(hh_len - skb_headroom(skb)), 0, GFP_ATOMIC))
		return -ENOMEM;
	return 0;
}

/*
 * The route cache of one domain: the plain flow's route to the domain's router (only the
 * default policy rules, so mark, uid, DSCP, ports and source do not select a table; no VRF;
 * no bound device), published under RCU with one reference the cache owns. The packet path
 * reads it without taking a reference (skb_dst_set_noref, as the input path's routes are
 * set): the hooks run under rcu_read_lock, and a route whose last reference goes is freed
 * only after a grace period (dst_release). Writers (a packet that found the route stale,
 * a table change) replace it under the lock.
 */
struct sitemh_route_cache {
	struct dst_entry __rcu *dst;
	/* IPv6: the route's cookie, for its validity check (0 for IPv4). */
	u32 cookie;
	spinlock_t lock;
};

struct sitemh_route_cache *sitemh_route_cache_new(void)
{
	struct sitemh_route_cache *cache = kzalloc(sizeof(*cache), GFP_KERNEL_ACCOUNT);

	if (cache)
		spin_lock_init(&cache->lock);
	return cache;
}

void sitemh_route_cache_free(struct sitemh_route_cache *cache)
{
	if (!cache)
		return;
	/* No reader of the cache is left (the caller's contract); a packet that still
	 * carries the route without a reference is inside an RCU read side, and
	 * dst_release() frees the route only a grace period after its last reference. */
	dst_release(rcu_dereference_protected(cache->dst, true));
	kfree(cache);
}

/* The cached route if it is still valid, without a reference; call under RCU. */
static struct dst_entry *sitemh_route_cache_peek(struct sitemh_route_cache *cache)
{
	struct dst_entry *dst = rcu_dereference(cache->dst);

	if (dst && READ_ONCE(dst->obsolete) && !dst->ops->check(dst, READ_ONCE(cache->cookie)))
		return NULL;
	return dst;
}

/* Caches dst (the caller keeps its own reference) in place of the route cached before. */
static void sitemh_route_cache_store(struct sitemh_route_cache *cache, struct dst_entry *dst,
				     u32 cookie)
{
	struct dst_entry *old;

	dst_hold(dst);
	spin_lock_bh(&cache->lock);
	WRITE_ONCE(cache->cookie, cookie);
	old = rcu_replace_pointer(cache->dst, dst, lockdep_is_held(&cache->lock));
	spin_unlock_bh(&cache->lock);
	dst_release(old);
}

/* The plain IPv4 flow's route to gateway, looked up (one reference owned) or an ERR_PTR. */
static struct dst_entry *sitemh_plain_route4(struct net *net, __be32 gateway)
{
	struct flowi4 fl4 = {
		.daddr = gateway,
		.flowi4_flags = FLOWI_FLAG_KNOWN_NH,
	};
	struct rtable *rt = ip_route_output_key(net, &fl4);

	return IS_ERR(rt) ? ERR_CAST(rt) : &rt->dst;
}

/* The same for IPv6, reached on ifindex (0: any). */
static struct dst_entry *sitemh_plain_route6(struct net *net, const struct in6_addr *gateway,
					     int ifindex)
{
	struct flowi6 fl6 = {
		.daddr = *gateway,
		.flowi6_oif = ifindex,
		.flowi6_flags = FLOWI_FLAG_KNOWN_NH,
	};
	struct dst_entry *dst = ip6_route_output_flags(net, NULL, &fl6, 0);
	int err = dst->error;

	if (err) {
		dst_release(dst);
		return ERR_PTR(err);
	}
	return dst;
}

/* The cookie that validates dst later (IPv6 routes; 0 for IPv4). */
static u32 sitemh_route_cookie(struct dst_entry *dst, unsigned short family)
{
	return family == AF_INET6 ? rt6_get_cookie(dst_rt6_info(dst)) : 0;
}

/* sitemh_cached_route() when the cache holds no valid route: looked up and cached. */
static noinline struct dst_entry *sitemh_cache_route(struct net *net,
						     struct sitemh_route_cache *cache,
						     unsigned short family, const void *gateway,
						     int ifindex)
{
	struct dst_entry *dst;

	dst = family == AF_INET6 ? sitemh_plain_route6(net, gateway, ifindex) :
				   sitemh_plain_route4(net, *(const __be32 *)gateway);
	if (IS_ERR(dst))
		return dst;
	sitemh_route_cache_store(cache, dst, sitemh_route_cookie(dst, family));
	/* The cache's reference keeps it until a grace period after it is replaced. */
	dst_release(dst);
	return dst;
}

/*
 * The plain flow's route to gateway for a packet: from the cache without a reference, or
 * looked up and cached. Call under RCU; the route stays valid until it ends. Returns an
 * ERR_PTR when there is no route to the router. Inline on the packet path, which finds
 * the route cached: no call frame per packet.
 */
static __always_inline struct dst_entry *sitemh_cached_route(struct net *net,
							     struct sitemh_route_cache *cache,
							     unsigned short family,
							     const void *gateway, int ifindex)
{
	struct dst_entry *dst = sitemh_route_cache_peek(cache);

	if (likely(dst))
		return dst;
	return sitemh_cache_route(net, cache, family, gateway, ifindex);
}

struct dst_entry *sitemh_route_cache_get4(struct net *net, struct sitemh_route_cache *cache,
					  __be32 gateway)
{
	struct dst_entry *dst;

	rcu_read_lock();
	dst = sitemh_cached_route(net, cache, AF_INET, &gateway, 0);
	if (!IS_ERR(dst) && !dst_hold_safe(dst))
		dst = ERR_PTR(-EHOSTUNREACH);
	rcu_read_unlock();
	return dst;
}

struct dst_entry *sitemh_route_cache_get6(struct net *net, struct sitemh_route_cache *cache,
					  const u8 *gateway, int ifindex)
{
	struct dst_entry *dst;
	struct in6_addr gw;

	memcpy(&gw, gateway, sizeof(gw));
	rcu_read_lock();
	dst = sitemh_cached_route(net, cache, AF_INET6, &gw, ifindex);
	if (!IS_ERR(dst) && !dst_hold_safe(dst))
		dst = ERR_PTR(-EHOSTUNREACH);
	rcu_read_unlock();
	return dst;
}

/*
 * The cached route for a packet (see sitemh_cached_route()). A forwarded packet is routed
 * on inside the softirq that received it, an RCU read side, until it leaves or is queued
 * (queueing takes a reference, as for the input path's routes): it carries the route
 * without one (*noref set). A local packet may leave after its hook's read side ended
 * (ip_send_skb() calls dst_output() after LOCAL_OUT returns): it takes a reference.
 */
static __always_inline struct dst_entry *
sitemh_packet_cached_route(struct net *net, struct sitemh_route_cache *cache, unsigned short family,
			   const void *gateway, int ifindex, bool forward, bool *noref)
{
	struct dst_entry *dst = sitemh_cached_route(net, cache, family, gateway, ifindex);

	if (IS_ERR(dst))
		return dst;
	if (forward)
		*noref = true;
	else if (!dst_hold_safe(dst))
		return ERR_PTR(-EHOSTUNREACH);
	return dst;
}

/*
 * The end both families share: new, found for a packet in VRF l3mdev from a socket bound
 * to oif (0: none), with a reference unless noref, replaces the packet's route if it fits
 * (sitemh_route_fits); otherwise the packet keeps its own.
 */
static __always_inline int sitemh_reroute_with(struct net *net, struct sk_buff *skb,
					       struct dst_entry *new, bool noref, int l3mdev,
					       int oif, const struct sock *sk,
					       unsigned short family, bool transformed)
{
	if (!sitemh_route_fits(new, l3mdev, oif)) {
		if (!noref)
			dst_release(new);
		return SITEMH_REROUTE_KEPT;
	}
	return sitemh_set_route(net, skb, new, noref, sk, family, transformed) ?:
	       SITEMH_REROUTE_DONE;
}

int sitemh_reroute4(struct net *net, struct sk_buff *skb, struct sitemh_route_cache *cache,
		    __be32 gateway, bool forward)
{
	const struct iphdr *iph = ip_hdr(skb);
	struct dst_entry *old = skb_dst(skb);
	struct sock *sk = sitemh_packet_sock(skb, forward);
	struct dst_entry *new;
	bool noref = false;
	int l3mdev, oif;

	if (!old || dst_xfrm(old))
		return SITEMH_REROUTE_KEPT;
	l3mdev = sitemh_packet_l3mdev(skb, old, forward);
	if (l3mdev < 0)
		return SITEMH_REROUTE_KEPT;
	oif = sk ? READ_ONCE(sk->sk_bound_dev_if) : 0;

	if (!l3mdev && !oif && sitemh_rules_default4(net)) {
		new = sitemh_packet_cached_route(net, cache, AF_INET, &gateway, 0, forward,
						 &noref);
		if (IS_ERR(new))
			return PTR_ERR(new);
	} else {
		/* The bound device is not part of the flow: a look-up constrained to it
		 * "succeeds" on-link when the router is elsewhere. The router's own device
		 * is compared with it instead (sitemh_route_fits). */
		struct flowi4 fl4 = {
			.daddr = gateway,
			.saddr = iph->saddr,
			.flowi4_flags = FLOWI_FLAG_KNOWN_NH | FLOWI_FLAG_ANYSRC |
					(sk ? inet_sk_flowi_flags(sk) : 0),
			.flowi4_l3mdev = l3mdev,
			.flowi4_mark = skb->mark,
			.flowi4_uid = sock_net_uid(net, sk),
			.flowi4_dscp = ip4h_dscp(iph),
		};
		struct flow_keys flkeys;
		struct rtable *rt;

		fib4_rules_early_flow_dissect(net, skb, &fl4, &flkeys);
		rt = ip_route_output_key(net, &fl4);
		if (IS_ERR(rt))
			/* Outside the VRF's table or the bound device, the packet's own
			 * route stands; elsewhere, no route to the router drops it. */
			return (l3mdev || oif) ? SITEMH_REROUTE_KEPT : PTR_ERR(rt);
		new = &rt->dst;
	}
	return sitemh_reroute_with(net, skb, new, noref, l3mdev, oif, sk, AF_INET,
				   IPCB(skb)->flags & IPSKB_XFRM_TRANSFORMED);
}

int sitemh_reroute6(struct net *net, struct sk_buff *skb, struct sitemh_route_cache *cache,
		    const u8 *gateway, int ifindex, bool forward)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	struct dst_entry *old = skb_dst(skb);
	struct sock *sk = sitemh_packet_sock(skb, forward);
	struct in6_addr gw;
	struct dst_entry *new;
	bool noref = false;
	int l3mdev, oif, err;

	memcpy(&gw, gateway, sizeof(gw));
	if (!old || dst_xfrm(old))
		return SITEMH_REROUTE_KEPT;
	l3mdev = sitemh_packet_l3mdev(skb, old, forward);
	if (l3mdev < 0)
		return SITEMH_REROUTE_KEPT;
	oif = sk ? READ_ONCE(sk->sk_bound_dev_if) : 0;

	if (!l3mdev && !oif && sitemh_rules_default6(net)) {
		new = sitemh_packet_cached_route(net, cache, AF_INET6, &gw, ifindex, forward,
						 &noref);
		if (IS_ERR(new))
			return PTR_ERR(new);
	} else {
		struct flowi6 fl6 = {
			.daddr = gw,
			.saddr = ip6h->saddr,
			.flowi6_oif = ifindex,
			.flowi6_flags = FLOWI_FLAG_KNOWN_NH,
			.flowi6_l3mdev = l3mdev,
			.flowi6_mark = skb->mark,
			.flowi6_uid = sock_net_uid(net, sk),
			.flowlabel = ip6_flowinfo(ip6h),
		};
		struct flow_keys flkeys;

		fib6_rules_early_flow_dissect(net, skb, &fl6, &flkeys);
		new = ip6_route_output(net, NULL, &fl6);
		err = new->error;
		if (err) {
			dst_release(new);
			return (l3mdev || oif) ? SITEMH_REROUTE_KEPT : err;
		}
	}
	return sitemh_reroute_with(net, skb, new, noref, l3mdev, oif, sk, AF_INET6,
				   IP6CB(skb)->flags & IP6SKB_XFRM_TRANSFORMED);
}
