// SPDX-License-Identifier: GPL-2.0
/*
 * See glue_events.h. Why C: struct genl_family and the netlink attribute helpers are
 * static inline functions and macros over a structure the family registration keeps.
 */
#include <linux/cred.h>
#include <linux/uidgid.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "../../include/uapi/linux/sitemh.h"

#include "glue_events.h"

enum sitemh_mcgrp {
	SITEMH_MCGRP_EVENTS,
	SITEMH_MCGRP_OWN,
};

static const struct genl_multicast_group sitemh_mcgrps[] = {
	[SITEMH_MCGRP_EVENTS] = { .name = SITEMH_GENL_MCGRP_EVENTS, .flags = GENL_MCAST_CAP_NET_ADMIN },
	[SITEMH_MCGRP_OWN] = { .name = SITEMH_GENL_MCGRP_OWN },
};

static struct genl_family sitemh_genl_family __ro_after_init = {
	.name = SITEMH_GENL_NAME,
	.version = SITEMH_GENL_VERSION,
	.maxattr = SITEMH_A_MAX,
	.netnsok = true,
	.module = THIS_MODULE,
	.mcgrps = sitemh_mcgrps,
	.n_mcgrps = ARRAY_SIZE(sitemh_mcgrps),
	.resv_start_op = SITEMH_CMD_EVENT + 1,
};

int sitemh_events_register(void)
{
	return genl_register_family(&sitemh_genl_family);
}

void sitemh_events_unregister(void)
{
	genl_unregister_family(&sitemh_genl_family);
}

static const u8 addr_attr[SITEMH_EVADDR_COUNT] = {
	[SITEMH_EVADDR_ROUTER] = SITEMH_A_ROUTER,
	[SITEMH_EVADDR_GATEWAY] = SITEMH_A_GATEWAY,
	[SITEMH_EVADDR_LADDR] = SITEMH_A_LADDR,
	[SITEMH_EVADDR_FADDR] = SITEMH_A_FADDR,
	[SITEMH_EVADDR_OLD_SADDR] = SITEMH_A_OLD_SADDR,
	[SITEMH_EVADDR_OLD_DADDR] = SITEMH_A_OLD_DADDR,
	[SITEMH_EVADDR_NEW_SADDR] = SITEMH_A_NEW_SADDR,
	[SITEMH_EVADDR_NEW_DADDR] = SITEMH_A_NEW_DADDR,
	[SITEMH_EVADDR_HOME] = SITEMH_A_HOME,
	[SITEMH_EVADDR_CAREOF] = SITEMH_A_CAREOF,
	[SITEMH_EVADDR_PREFIX] = SITEMH_A_PREFIX,
};

static bool has(const struct sitemh_event *ev, int attr)
{
	return ev->present & (1U << attr);
}

static struct sk_buff *event_message(struct net *net, const struct sitemh_event *ev)
{
	int alen = ev->family == AF_INET6 ? 16 : 4;
	struct sk_buff *skb;
	void *hdr;
	int i;

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_ATOMIC);
	if (!skb)
		return NULL;
	hdr = genlmsg_put(skb, 0, 0, &sitemh_genl_family, 0, SITEMH_CMD_EVENT);
	if (!hdr)
		goto cancel;
	if (nla_put_u8(skb, SITEMH_A_EVENT, ev->type) ||
	    (has(ev, SITEMH_A_FAMILY) && nla_put_u8(skb, SITEMH_A_FAMILY, ev->family)) ||
	    (has(ev, SITEMH_A_CODE) && nla_put_u8(skb, SITEMH_A_CODE, ev->code)) ||
	    (has(ev, SITEMH_A_DOMAIN) && nla_put_u8(skb, SITEMH_A_DOMAIN, ev->domain)) ||
	    (has(ev, SITEMH_A_IFINDEX) && nla_put_u32(skb, SITEMH_A_IFINDEX, ev->ifindex)) ||
	    (has(ev, SITEMH_A_PROTO) && nla_put_u8(skb, SITEMH_A_PROTO, ev->proto)) ||
	    (has(ev, SITEMH_A_LPORT) && nla_put_u16(skb, SITEMH_A_LPORT, ev->lport)) ||
	    (has(ev, SITEMH_A_FPORT) && nla_put_u16(skb, SITEMH_A_FPORT, ev->fport)) ||
	    (has(ev, SITEMH_A_PREFIX_LEN) && nla_put_u8(skb, SITEMH_A_PREFIX_LEN, ev->prefix_len)))
		goto cancel;
	/* The owner as the namespace's user namespace sees it. */
	if (has(ev, SITEMH_A_UID) &&
	    nla_put_u32(skb, SITEMH_A_UID,
			from_kuid_munged(net->user_ns, KUIDT_INIT(ev->uid))))
		goto cancel;
	for (i = 0; i < SITEMH_EVADDR_COUNT; i++) {
		if (has(ev, addr_attr[i]) && nla_put(skb, addr_attr[i], alen, ev->addrs[i]))
			goto cancel;
	}
	genlmsg_end(skb, hdr);
	return skb;
cancel:
	nlmsg_free(skb);
	return NULL;
}

/* The "own" group's filter: non-zero skips the listener @dsk (another user's socket). */
static int other_owner(struct sock *dsk, struct sk_buff *skb, void *data)
{
	const u32 *uid = data;

	return __kuid_val(sk_uid(dsk)) != *uid;
}

void sitemh_event_announce(struct net *net, const struct sitemh_event *ev, bool own_group)
{
	bool all = genl_has_listeners(&sitemh_genl_family, net, SITEMH_MCGRP_EVENTS);
	bool own = own_group && has(ev, SITEMH_A_UID) &&
		   genl_has_listeners(&sitemh_genl_family, net, SITEMH_MCGRP_OWN);
	struct sk_buff *skb;
	u32 uid = ev->uid;

	if (!all && !own)
		return;
	skb = event_message(net, ev);
	if (!skb)
		return;
	if (own) {
		struct sk_buff *copy = all ? skb_clone(skb, GFP_ATOMIC) : skb;

		if (copy)
			genlmsg_multicast_netns_filtered(&sitemh_genl_family, net, copy, 0,
							 SITEMH_MCGRP_OWN, GFP_ATOMIC,
							 other_owner, &uid);
		if (!all)
			return;
	}
	genlmsg_multicast_netns(&sitemh_genl_family, net, skb, 0, SITEMH_MCGRP_EVENTS, GFP_ATOMIC);
}
