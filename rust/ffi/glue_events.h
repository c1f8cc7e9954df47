/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C glue for the generic netlink family "sitemh" (include/uapi/linux/sitemh.h, "Events"):
 * its registration and one call that announces an event. Addresses cross as 16 octets in
 * network byte order, an IPv4 address in the first four, as in glue.h.
 */
#ifndef SITEMH_GLUE_EVENTS_H
#define SITEMH_GLUE_EVENTS_H

#include <linux/types.h>
#include <net/net_namespace.h>

/* The addresses an event may carry, by their slot in sitemh_event.addrs. */
enum sitemh_event_addr {
	SITEMH_EVADDR_ROUTER,
	SITEMH_EVADDR_GATEWAY,
	SITEMH_EVADDR_LADDR,
	SITEMH_EVADDR_FADDR,
	SITEMH_EVADDR_OLD_SADDR,
	SITEMH_EVADDR_OLD_DADDR,
	SITEMH_EVADDR_NEW_SADDR,
	SITEMH_EVADDR_NEW_DADDR,
	SITEMH_EVADDR_HOME,
	SITEMH_EVADDR_CAREOF,
	SITEMH_EVADDR_PREFIX,
	SITEMH_EVADDR_COUNT,
};

/*
 * One event. @present: a bit per enum sitemh_attr value (1 << SITEMH_A_*) for each
 * attribute to send; SITEMH_A_EVENT is always sent. @uid (a kuid value) is the owner of
 * the event's socket when SITEMH_A_UID is present: the "own" group gets the event only
 * then, and only its listeners of that user.
 */
struct sitemh_event {
	u32 present;
	u8 type;
	u8 family;
	u8 code;
	u8 domain;
	u8 proto;
	u8 prefix_len;
	u16 lport;
	u16 fport;
	u32 ifindex;
	u32 uid;
	u8 addrs[SITEMH_EVADDR_COUNT][16];
};

/* Registers the family (module init). 0 or a negative errno. */
int sitemh_events_register(void);
/* Unregisters it (module exit). */
void sitemh_events_unregister(void);
/*
 * Announces @ev to the listeners of @net, if there are any; any context (atomic
 * allocation). An event nobody listens to costs a look at the group; one that cannot be
 * allocated is lost (listeners see a gap, as with any netlink multicast).
 * @own_groups: whether the "own" group may get it (net.ipv4.sitemh_lf.events_own).
 */
void sitemh_event_announce(struct net *net, const struct sitemh_event *ev, bool own_group);

#endif /* SITEMH_GLUE_EVENTS_H */
