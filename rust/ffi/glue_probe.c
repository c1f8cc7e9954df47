// SPDX-License-Identifier: GPL-2.0
/* See glue_probe.h. */
#include <linux/cred.h>
#include <linux/delay.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/net.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <net/sock.h>

#include "glue_probe.h"

/* --- Device events, deferred off RTNL ----------------------------------------------- */

/*
 * Why C: the netdevice notifier runs under RTNL; it records under a BH-safe spinlock
 * and queues delayed work. The handler (rust/netns.rs and below) decides what a change
 * means and when to be called again.
 */

struct sitemh_netdev_watch {
	struct notifier_block nb;
	struct delayed_work work;
	struct net *net;
	sitemh_netdev_fn fn;
	const void *ctx;
	/* Protects what follows; taken by the notifier (RTNL held) and the work item. */
	spinlock_t lock;
	bool dying;
	bool overflowed;
	u32 events;
	int n;
	struct sitemh_dev_change pending[SITEMH_DEV_BATCH];
};

static int sitemh_netdev_watch_event(struct notifier_block *nb, unsigned long event, void *ptr)
{
	struct sitemh_netdev_watch *w = container_of(nb, struct sitemh_netdev_watch, nb);
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	bool unregistering = event == NETDEV_UNREGISTER, usable, queue;
	int i;

	switch (event) {
	case NETDEV_UP:
	case NETDEV_DOWN:
	case NETDEV_CHANGE:
	case NETDEV_UNREGISTER:
		break;
	default:
		return NOTIFY_DONE;
	}
	usable = !unregistering && netif_running(dev) && netif_carrier_ok(dev);
	/* Under RTNL: record and queue, nothing else (no allocation, no grace period). */
	spin_lock_bh(&w->lock);
	queue = !w->dying;
	if (queue) {
		w->events++;
		for (i = 0; i < w->n && w->pending[i].ifindex != dev->ifindex; i++)
			;
		if (i == w->n && w->n == SITEMH_DEV_BATCH) {
			w->overflowed = true;
		} else {
			if (i == w->n) {
				w->pending[i] = (struct sitemh_dev_change){ .ifindex = dev->ifindex };
				w->n++;
			}
			w->pending[i].usable = usable;
			w->pending[i].lost |= !usable;
			w->pending[i].unregistering |= unregistering;
		}
		mod_delayed_work(system_wq, &w->work, 0);
	}
	spin_unlock_bh(&w->lock);
	return NOTIFY_DONE;
}

static void sitemh_netdev_watch_run(struct work_struct *work)
{
	struct sitemh_netdev_watch *w = container_of(to_delayed_work(work),
						     struct sitemh_netdev_watch, work);
	struct sitemh_dev_change changes[SITEMH_DEV_BATCH];
	bool overflowed;
	unsigned int again_ms;
	u32 events;
	int n;

	spin_lock_bh(&w->lock);
	if (w->dying) {
		spin_unlock_bh(&w->lock);
		return;
	}
	n = w->n;
	memcpy(changes, w->pending, n * sizeof(changes[0]));
	overflowed = w->overflowed;
	events = w->events;
	w->n = 0;
	w->overflowed = false;
	w->events = 0;
	spin_unlock_bh(&w->lock);

	again_ms = w->fn(w->ctx, changes, n, overflowed, events);
	if (!again_ms)
		return;
	spin_lock_bh(&w->lock);
	/* Sooner if an event queued it meanwhile: queue_delayed_work keeps a pending run. */
	if (!w->dying)
		queue_delayed_work(system_wq, &w->work, msecs_to_jiffies(again_ms));
	spin_unlock_bh(&w->lock);
}

int sitemh_netdev_watch_new(struct net *net, sitemh_netdev_fn fn, const void *ctx,
			    struct sitemh_netdev_watch **out)
{
	struct sitemh_netdev_watch *w = kzalloc(sizeof(*w), GFP_KERNEL);
	int err;

	if (!w)
		return -ENOMEM;
	w->nb.notifier_call = sitemh_netdev_watch_event;
	INIT_DELAYED_WORK(&w->work, sitemh_netdev_watch_run);
	spin_lock_init(&w->lock);
	w->net = net;
	w->fn = fn;
	w->ctx = ctx;
	/* Replays NETDEV_UP for the devices that are up: recorded like any event. */
	err = register_netdevice_notifier_net(net, &w->nb);
	if (err) {
		kfree(w);
		return err;
	}
	*out = w;
	return 0;
}

void sitemh_netdev_watch_free(struct sitemh_netdev_watch *w)
{
	if (!w)
		return;
	spin_lock_bh(&w->lock);
	w->dying = true;
	spin_unlock_bh(&w->lock);
	/* Replays NETDEV_DOWN and NETDEV_UNREGISTER for every device: ignored (dying). */
	unregister_netdevice_notifier_net(w->net, &w->nb);
	disable_delayed_work_sync(&w->work);
	kfree(w);
}

/* Device state: looked up under RCU, read with netif_running() and friends. */

bool sitemh_netdev_usable(struct net *net, int ifindex)
{
	struct net_device *dev;
	bool usable;

	rcu_read_lock();
	dev = dev_get_by_index_rcu(net, ifindex);
	usable = dev && netif_running(dev) && netif_carrier_ok(dev);
	rcu_read_unlock();
	return usable;
}

int sitemh_netdev_type(struct net *net, int ifindex)
{
	struct net_device *dev;
	int type = -ENODEV;

	rcu_read_lock();
	dev = dev_get_by_index_rcu(net, ifindex);
	if (dev)
		type = dev->type;
	rcu_read_unlock();
	return type;
}

/* --- Echo probes -------------------------------------------------------------------- */

/*
 * Why C: raw kernel sockets, the clock, random numbers and sleeping. What goes on the
 * wire, which packet counts as a reply and the round trip it gives are decided by the
 * caller (request, is_reply; rust/logic/probe.rs).
 */

static int sitemh_probe_send(struct socket *sock, int family, const u8 *dst,
			     const u8 echo[SITEMH_ECHO_LEN])
{
	struct sockaddr_storage to = {};
	struct msghdr msg = { .msg_name = &to, .msg_flags = MSG_DONTWAIT };
	struct kvec iov = { .iov_base = (void *)echo, .iov_len = SITEMH_ECHO_LEN };

	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&to;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, dst, 4);
		msg.msg_namelen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&to;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, dst, 16);
		msg.msg_namelen = sizeof(*sin6);
	}
	return kernel_sendmsg(sock, &msg, &iov, 1, SITEMH_ECHO_LEN);
}

/* Reads one packet from sock into buf: its length and its sender's address (16 octets,
 * *same_family false if the sender was of another family), -EAGAIN when there is nothing
 * to read. */
static int sitemh_probe_recv(struct socket *sock, int family, u8 *buf, int size, u8 *from,
			     bool *same_family)
{
	struct sockaddr_storage addr = {};
	struct kvec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = { .msg_name = &addr, .msg_namelen = sizeof(addr),
			      .msg_flags = MSG_DONTWAIT };
	int len;

	len = kernel_recvmsg(sock, &msg, &iov, 1, size, MSG_DONTWAIT);
	/* Nothing (more) to read from this socket for now. */
	if (len < 0)
		return -EAGAIN;
	memset(from, 0, 16);
	*same_family = addr.ss_family == family;
	if (addr.ss_family == AF_INET)
		memcpy(from, &((const struct sockaddr_in *)&addr)->sin_addr, 4);
	else if (addr.ss_family == AF_INET6)
		memcpy(from, &((const struct sockaddr_in6 *)&addr)->sin6_addr, 16);
	return len;
}

int sitemh_probe_rtts(struct net *net, int family, const u8 (*src)[16], const u8 (*dst)[16],
		      int n, unsigned int timeout_ms,
		      void (*request)(int family, u16 id, u16 seq, u8 *echo),
		      bool (*is_reply)(int family, const u8 *from, const u8 *dst, const u8 *pkt,
				       int len, u16 id, u16 seq),
		      u64 *sent_ns, u64 *reply_ns)
{
	struct socket **socks;
	u16 *seqs, id;
	u64 deadline;
	int i, err = 0, pending = 0;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (n <= 0)
		return 0;
	socks = kcalloc(n, sizeof(*socks), GFP_KERNEL);
	seqs = kcalloc(n, sizeof(*seqs), GFP_KERNEL);
	if (!socks || !seqs) {
		err = -ENOMEM;
		goto out;
	}
	/* Unpredictable to anyone off the path: a forged reply must guess 32 bits. */
	id = get_random_u16();
	for (i = 0; i < n; i++)
		seqs[i] = get_random_u16();
	/* One raw socket per pair, bound to its source: the reply comes back to it. */
	for (i = 0; i < n; i++) {
		struct sockaddr_storage local = {};
		int addrlen;

		sent_ns[i] = 0;
		reply_ns[i] = 0;
		err = sock_create_kern(net, family, SOCK_RAW,
				       family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6, &socks[i]);
		if (err) {
			socks[i] = NULL;
			goto out;
		}
		if (family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&local;

			sin->sin_family = AF_INET;
			memcpy(&sin->sin_addr, src[i], 4);
			addrlen = sizeof(*sin);
		} else {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&local;

			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, src[i], 16);
			addrlen = sizeof(*sin6);
		}
		/* A source that is not local (a home address) cannot be probed: no answer. */
		if (kernel_bind(socks[i], (struct sockaddr_unsized *)&local, addrlen)) {
			sock_release(socks[i]);
			socks[i] = NULL;
		}
	}
	err = 0;
	for (i = 0; i < n; i++) {
		u8 echo[SITEMH_ECHO_LEN];

		request(family, id, seqs[i], echo);
		sent_ns[i] = ktime_get_ns();
		/* An unroutable pair just gets no answer. */
		if (socks[i] && sitemh_probe_send(socks[i], family, dst[i], echo) >= 0)
			pending++;
		else
			sent_ns[i] = 0;
	}
	deadline = ktime_get_ns() + (u64)timeout_ms * NSEC_PER_MSEC;
	while (pending > 0 && ktime_get_ns() < deadline) {
		bool idle = true;

		for (i = 0; i < n; i++) {
			u8 buf[128], from[16];
			bool same_family;
			int len;

			if (!socks[i])
				continue;
			/* Raw sockets see every ICMP message to their address: match it. */
			while ((len = sitemh_probe_recv(socks[i], family, buf, sizeof(buf), from,
							&same_family)) != -EAGAIN) {
				const u8 *sender = same_family ? from : NULL;

				idle = false;
				if (!sent_ns[i] || reply_ns[i] ||
				    !is_reply(family, sender, dst[i], buf, len, id, seqs[i]))
					continue;
				reply_ns[i] = ktime_get_ns();
				pending--;
			}
		}
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		if (idle)
			usleep_range(200, 400);
	}
out:
	if (socks)
		for (i = 0; i < n; i++)
			if (socks[i])
				sock_release(socks[i]);
	kfree(socks);
	kfree(seqs);
	return err;
}

/*
 * Why C: credentials (current_egid, the supplementary groups) and the namespace's
 * ping_group_range under its seqlock, as ping sockets read them.
 */
bool sitemh_may_ping(struct net *net)
{
	struct group_info *groups;
	kgid_t low, high, gid = current_egid();
	unsigned int seq;
	bool may = false;
	int i;

	if (ns_capable_noaudit(net->user_ns, CAP_NET_RAW))
		return true;
	do {
		seq = read_seqbegin(&net->ipv4.ping_group_range.lock);
		low = net->ipv4.ping_group_range.range[0];
		high = net->ipv4.ping_group_range.range[1];
	} while (read_seqretry(&net->ipv4.ping_group_range.lock, seq));
	if (gid_lte(low, gid) && gid_lte(gid, high))
		return true;
	groups = get_current_groups();
	for (i = 0; i < groups->ngroups && !may; i++)
		may = gid_lte(low, groups->gid[i]) && gid_lte(groups->gid[i], high);
	put_group_info(groups);
	return may;
}

/* --- Work that may block for long --------------------------------------------------- */

/*
 * Why C: the module's own workqueue and work items. What runs is the Rust caller's.
 */

static struct workqueue_struct *sitemh_long_wq;

int sitemh_long_wq_create(void)
{
	sitemh_long_wq = alloc_workqueue("sitemh_long", WQ_UNBOUND, 0);
	return sitemh_long_wq ? 0 : -ENOMEM;
}

void sitemh_long_wq_destroy(void)
{
	if (sitemh_long_wq)
		destroy_workqueue(sitemh_long_wq);
	sitemh_long_wq = NULL;
}

struct sitemh_long_work {
	struct work_struct work;
	void (*fn)(const void *ctx);
	const void *ctx;
};

static void sitemh_long_work_run(struct work_struct *work)
{
	struct sitemh_long_work *w = container_of(work, struct sitemh_long_work, work);

	w->fn(w->ctx);
}

struct sitemh_long_work *sitemh_long_work_new(void (*fn)(const void *ctx), const void *ctx)
{
	struct sitemh_long_work *w = kzalloc(sizeof(*w), GFP_KERNEL);

	if (!w)
		return NULL;
	INIT_WORK(&w->work, sitemh_long_work_run);
	w->fn = fn;
	w->ctx = ctx;
	return w;
}

void sitemh_long_work_queue(struct sitemh_long_work *w)
{
	/* The workqueue exists from load to unload; system_long_wq stands in for a state
	 * made without the module (KUnit). */
	queue_work(sitemh_long_wq ?: system_long_wq, &w->work);
}

void sitemh_long_work_stop(struct sitemh_long_work *w)
{
	disable_work_sync(&w->work);
}

void sitemh_long_work_free(struct sitemh_long_work *w)
{
	if (!w)
		return;
	disable_work_sync(&w->work);
	kfree(w);
}
