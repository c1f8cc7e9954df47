/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C glue for device events handled off RTNL, echo probes (selection's and the CE's probe
 * of its PE), the right to ping, and a workqueue for work that may block for long.
 * Every symbol starts with sitemh_. Addresses cross as 16 octets in network byte order,
 * an IPv4 address in the first four, as in glue.h.
 */
#ifndef SITEMH_GLUE_PROBE_H
#define SITEMH_GLUE_PROBE_H

#include <linux/netdevice.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>

/* --- Device events, deferred off RTNL ------------------------------------------------ */

/* What happened to one device since the last batch: whether it can carry traffic now (up,
 * running, carrier), whether it could not at some event in between (a flap that ended
 * usable still reports the failure), and whether it is going away. */
struct sitemh_dev_change {
	int ifindex;
	bool usable;
	bool lost;
	bool unregistering;
};

/* Most devices one batch names; beyond that the batch says "overflowed". */
#define SITEMH_DEV_BATCH 16

struct sitemh_netdev_watch;

/* Called from a work item (process context, RTNL not held) with the devices that changed
 * since the last call, coalesced per device; overflowed: more devices changed than
 * listed; events: notifier events folded into the batch. Returns in how many
 * milliseconds to be called again (with an empty batch unless more happened), 0: not. */
typedef unsigned int (*sitemh_netdev_fn)(const void *ctx, const struct sitemh_dev_change *changes,
					 int n, bool overflowed, u32 events);

/* Watches the device events of net (NETDEV_UP, _DOWN, _CHANGE, _UNREGISTER): the notifier,
 * which runs under RTNL, only records the event and queues the work item. 0 and *out, or
 * a negative errno. */
int sitemh_netdev_watch_new(struct net *net, sitemh_netdev_fn fn, const void *ctx,
			    struct sitemh_netdev_watch **out);
/* Marks the watch as going away (events from now on are ignored: unregistering the
 * notifier replays NETDEV_DOWN and NETDEV_UNREGISTER for every device, which are no
 * news), unregisters it, cancels and waits for the work item, frees it. */
void sitemh_netdev_watch_free(struct sitemh_netdev_watch *w);

/* Whether device ifindex of net can carry traffic now (up, running, carrier). */
bool sitemh_netdev_usable(struct net *net, int ifindex);
/* The hardware type (ARPHRD_*) of device ifindex of net, or -ENODEV. */
int sitemh_netdev_type(struct net *net, int ifindex);

/* --- Echo probes --------------------------------------------------------------------- */

/* Octets of the echo request sent per pair. */
#define SITEMH_ECHO_LEN 8

/* The draft's echo probe (2.1.1): one ICMP echo request per pair (src[i] -> dst[i]), with
 * a random identifier per call and a random sequence number per pair, then waits up to
 * timeout_ms for the replies. request(family, id, seq, echo) writes the request
 * (SITEMH_ECHO_LEN octets); is_reply(family, from, dst[i], pkt, len, id, seq) tells
 * whether a packet read from pair i's raw socket, whose sender's address is from (16
 * octets; NULL if of another family), is the reply to it. sent_ns[i] and reply_ns[i] are
 * the monotonic times (ktime_get_ns) the request went out and its reply came, 0 if it
 * was not sent or no reply came. Returns 0 or a negative errno. Sleeps. */
int sitemh_probe_rtts(struct net *net, int family, const u8 (*src)[16], const u8 (*dst)[16],
		      int n, unsigned int timeout_ms,
		      void (*request)(int family, u16 id, u16 seq, u8 *echo),
		      bool (*is_reply)(int family, const u8 *from, const u8 *dst, const u8 *pkt,
				       int len, u16 id, u16 seq),
		      u64 *sent_ns, u64 *reply_ns);

/* Whether the current task may send echo requests in net, as an ICMP socket of its own
 * would let it: its effective or a supplementary group within net.ipv4.ping_group_range,
 * or CAP_NET_RAW in the namespace's user namespace. */
bool sitemh_may_ping(struct net *net);

/* --- Work that may block for long ---------------------------------------------------- */

/* The module's own workqueue for it (never system_wq, whose workers it would hold):
 * created at load, destroyed at unload after every long work is stopped. */
int sitemh_long_wq_create(void);
void sitemh_long_wq_destroy(void);

struct sitemh_long_work;

/* A work item on that workqueue calling fn(ctx); queueing it while queued does nothing. */
struct sitemh_long_work *sitemh_long_work_new(void (*fn)(const void *ctx), const void *ctx);
void sitemh_long_work_queue(struct sitemh_long_work *w);
/* Waits for a run in progress; queueing does nothing from now on. */
void sitemh_long_work_stop(struct sitemh_long_work *w);
void sitemh_long_work_free(struct sitemh_long_work *w);

#endif /* SITEMH_GLUE_PROBE_H */
