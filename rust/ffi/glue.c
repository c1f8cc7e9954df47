// SPDX-License-Identifier: GPL-2.0
/* See glue.h. */
#include <net/ip6_tunnel.h>
#include <net/ip6_checksum.h>
#include <net/ip_tunnels.h>

#include "glue.h"

/* --- Kernel structures read for Rust ------------------------------------------------ */

/*
 * Why C: fields of kernel structures and static inline accessors (skb_rtable,
 * netdev_notifier_info_to_dev) that the bindings do not reach, or whose layout follows
 * the kernel configuration. No decisions.
 */

/* Whether the packet's current IPv4 route is plain unicast (not local, broadcast,
 * multicast): only those are candidates for source-domain routing. */
bool sitemh_skb_route_is_unicast4(const struct sk_buff *skb)
{
	const struct rtable *rt = skb_rtable(skb);

	return rt && rt->rt_type == RTN_UNICAST;
}

int sitemh_netdev_ifindex(const struct net_device *dev)
{
	return dev->ifindex;
}

const char *sitemh_netdev_name(const struct net_device *dev)
{
	return dev->name;
}

/* --- Per-CPU counters ---------------------------------------------------------------- */

/*
 * Why C: the per-CPU accessors (this_cpu_inc, per_cpu_ptr) are macros. Counters that
 * packets bump are per CPU, so the packet path writes no cache line another CPU shares.
 */
u64 __percpu *sitemh_counters_new(unsigned int n)
{
	return __alloc_percpu_gfp(n * sizeof(u64), sizeof(u64), GFP_KERNEL_ACCOUNT);
}

void sitemh_counters_free(u64 __percpu *counters)
{
	free_percpu(counters);
}

void sitemh_counter_inc(u64 __percpu *counters, unsigned int index)
{
	this_cpu_inc(counters[index]);
}

u64 sitemh_counter_sum(u64 __percpu *counters, unsigned int index)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(counters, cpu)[index]);
	return sum;
}

void sitemh_counter_reset(u64 __percpu *counters, unsigned int index)
{
	int cpu;

	for_each_possible_cpu(cpu)
		WRITE_ONCE(per_cpu_ptr(counters, cpu)[index], 0);
}

/* --- Addresses and routes of a namespace -------------------------------------------- */

/*
 * Why C: RCU walks with the kernel's iterator macros (for_each_netdev_rcu,
 * in_dev_for_each_ifa_rcu), the IPv6 address list under its lock, route look-ups and
 * the generation counters. Which addresses and pairs to use is decided in
 * rust/logic/select.rs.
 */

int sitemh_local_addrs(struct net *net, int family, struct sitemh_local_addr *out, int max)
{
	struct net_device *dev;
	int n = 0;

	rcu_read_lock();
	for_each_netdev_rcu(net, dev) {
		if (!(dev->flags & IFF_UP) || (dev->flags & IFF_LOOPBACK))
			continue;
		if (family == AF_INET) {
			struct in_device *in_dev = __in_dev_get_rcu(dev);
			const struct in_ifaddr *ifa;

			if (!in_dev)
				continue;
			in_dev_for_each_ifa_rcu(ifa, in_dev) {
				if (n == max)
					goto out;
				memset(out[n].addr, 0, sizeof(out[n].addr));
				memcpy(out[n].addr, &ifa->ifa_local, 4);
				out[n].ifindex = dev->ifindex;
				n++;
			}
		} else if (family == AF_INET6) {
			struct inet6_dev *idev = __in6_dev_get(dev);
			const struct inet6_ifaddr *ifp;

			if (!idev)
				continue;
			read_lock_bh(&idev->lock);
			list_for_each_entry(ifp, &idev->addr_list, if_list) {
				if (ifp->flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED))
					continue;
				if (n == max)
					break;
				memcpy(out[n].addr, &ifp->addr, 16);
				out[n].ifindex = dev->ifindex;
				n++;
			}
			read_unlock_bh(&idev->lock);
		}
	}
out:
	rcu_read_unlock();
	return n;
}

int sitemh_route_oif(struct net *net, int family, const u8 *addr, int ifindex, int *oif)
{
	if (family == AF_INET) {
		struct flowi4 fl4 = { .flowi4_oif = ifindex };
		struct rtable *rt;

		memcpy(&fl4.daddr, addr, 4);
		rt = ip_route_output_key(net, &fl4);
		if (IS_ERR(rt))
			return PTR_ERR(rt);
		*oif = rt->dst.dev->ifindex;
		ip_rt_put(rt);
		return 0;
	}
	if (family == AF_INET6) {
		struct flowi6 fl6 = { .flowi6_oif = ifindex };
		struct dst_entry *dst;
		int err;

		memcpy(&fl6.daddr, addr, 16);
		dst = ip6_route_output(net, NULL, &fl6);
		err = dst->error;
		if (!err)
			*oif = dst->dev->ifindex;
		dst_release(dst);
		return err;
	}
	return -EAFNOSUPPORT;
}

u64 sitemh_selection_genid(struct net *net, int family)
{
	u32 routes, addrs;

	/* An interface going up or down changes the routes too (fib_netdev_event,
	 * addrconf_ifdown); an IPv6 address becomes usable after DAD together with its
	 * local route. */
	if (family == AF_INET) {
		routes = rt_genid_ipv4(net);
		addrs = atomic_read(&net->ipv4.dev_addr_genid);
	} else {
		routes = rt_genid_ipv6(net);
		addrs = atomic_read(&net->ipv6.dev_addr_genid);
	}
	return (u64)routes << 32 | (u32)(addrs + READ_ONCE(net->dev_base_seq));
}

/* --- Socket fields ------------------------------------------------------------------ */

/*
 * Why C: inet_sk() and inet6_sk() casts and READ_ONCE of socket fields.
 */

u8 sitemh_sock_tos(const struct sock *sk)
{
	const struct ipv6_pinfo *np;

	if (sk->sk_family == AF_INET6) {
		np = inet6_sk(sk);
		return np ? np->tclass : 0;
	}
	return READ_ONCE(inet_sk(sk)->tos);
}

struct net *sitemh_sock_net(const struct sock *sk)
{
	return sock_net(sk);
}

int sitemh_sock_family(const struct sock *sk)
{
	return sk->sk_family;
}

/* The echo probes (sitemh_probe_rtts) are in glue_probe.c. */

/* Device notifier information: netdev_notifier_info_to_dev() is a static inline. */
int sitemh_notifier_ifindex(struct netdev_notifier_info *info)
{
	return netdev_notifier_info_to_dev(info)->ifindex;
}

bool sitemh_notifier_usable(struct netdev_notifier_info *info)
{
	const struct net_device *dev = netdev_notifier_info_to_dev(info);

	return netif_running(dev) && netif_carrier_ok(dev);
}

/* --- Reading packets ---------------------------------------------------------------- */

/*
 * Why C: skb access (skb_copy_bits, skb_header_pointer) over data that may be paged.
 * The octets read are parsed in Rust.
 */

int sitemh_skb_ipv4_transport(const struct sk_buff *skb, u8 only_proto, u8 *proto, u8 *ttl,
			      bool *looped, int *iif, u8 *buf, int len)
{
	const struct iphdr *iph = ip_hdr(skb);
	int thoff = skb_network_offset(skb) + iph->ihl * 4;
	int tlen = ntohs(iph->tot_len) - iph->ihl * 4;

	*proto = iph->protocol;
	*ttl = iph->ttl;
	*looped = skb->pkt_type == PACKET_LOOPBACK;
	*iif = skb->skb_iif ? skb->skb_iif : (skb->dev ? skb->dev->ifindex : 0);
	if (only_proto && iph->protocol != only_proto)
		return 0;
	if (ip_is_fragment(iph) || tlen < 0 || thoff > skb->len)
		return -1;
	tlen = min_t(int, tlen, skb->len - thoff);
	if (skb_copy_bits(skb, thoff, buf, min(len, tlen)))
		return -1;
	return tlen;
}

/* --- Sending ICMP ------------------------------------------------------------------- */

/*
 * Why C: kernel sockets (sock_create_kern, kernel_sendmsg). The messages come written
 * from Rust (rust/logic/linkfail.rs, rust/logic/relay.rs).
 */

/* The relay's own IPv4 header, with hdrincl, comes written (rust/logic/relay.rs). */
int sitemh_send_icmp4_broadcast(struct net *net, int ifindex, bool hdrincl, const u8 *msg,
				int len)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_BROADCAST),
	};
	struct msghdr hdr = { .msg_name = &to, .msg_namelen = sizeof(to),
			      .msg_flags = MSG_DONTWAIT };
	struct kvec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct socket *sock;
	int err;

	if (len < 0)
		return -EINVAL;
	/* IPPROTO_RAW implies IP_HDRINCL: the header goes out as it is (the kernel fills in
	 * the identification and the checksum). */
	err = sock_create_kern(net, AF_INET, SOCK_RAW, hdrincl ? IPPROTO_RAW : IPPROTO_ICMP,
			       &sock);
	if (err)
		return err;
	sock_set_flag(sock->sk, SOCK_BROADCAST);
	inet_sk(sock->sk)->uc_ttl = 255;
	err = sock_bindtoindex(sock->sk, ifindex, true);
	if (!err)
		err = kernel_sendmsg(sock, &hdr, &iov, 1, iov.iov_len);
	sock_release(sock);
	return err < 0 ? err : 0;
}

/* --- Connected sockets -------------------------------------------------------------- */

/*
 * Why C: lock_sock, socket references, TCP internals (the retransmission timer,
 * __tcp_send_ack) and copy_from_sockptr. When to kick a socket is decided in
 * rust/switchover/.
 */

int sitemh_sock_tuple4(struct sock *sk, u8 *proto, __be32 *saddr, __be32 *daddr,
		       __be16 *sport, __be16 *dport)
{
	int err = 0;

	if (sk->sk_family != AF_INET ||
	    (sk->sk_protocol != IPPROTO_TCP && sk->sk_protocol != IPPROTO_UDP) ||
	    sk->sk_type == SOCK_RAW)
		return -EPROTONOSUPPORT;
	lock_sock(sk);
	/* A connected UDP socket is TCP_ESTABLISHED too. */
	if (sk->sk_state != TCP_ESTABLISHED) {
		err = -ENOTCONN;
	} else {
		*proto = sk->sk_protocol;
		*saddr = inet_sk(sk)->inet_saddr;
		*daddr = sk->sk_daddr;
		*sport = inet_sk(sk)->inet_sport;
		*dport = sk->sk_dport;
	}
	release_sock(sk);
	return err;
}

int sitemh_copy_from_sockptr(u8 *dst, sockptr_t src, unsigned int len)
{
	return copy_from_sockptr(dst, src, len) ? -EFAULT : 0;
}

void sitemh_sock_hold(struct sock *sk)
{
	sock_hold(sk);
}

void sitemh_sock_put(struct sock *sk)
{
	sock_put(sk);
}

bool sitemh_sock_closed(const struct sock *sk)
{
	int state = READ_ONCE(sk->sk_state);

	if (sk->sk_protocol == IPPROTO_UDP)
		return state != TCP_ESTABLISHED || sock_flag(sk, SOCK_DEAD);
	return state == TCP_CLOSE;
}

u32 sitemh_sock_srtt_us(const struct sock *sk)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	return READ_ONCE(tcp_sk(sk)->srtt_us) >> 3;
}

void sitemh_sock_kick(struct sock *sk)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return;
	lock_sock(sk);
	if (sk->sk_state != TCP_CLOSE && sk->sk_state != TCP_LISTEN) {
		/* Fire the retransmission timer now: the head of the queue goes out again over
		 * the new pair (the timer's usual loss recovery), instead of after RTO and
		 * backoff. */
		if (tcp_sk(sk)->packets_out)
			inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, 0, TCP_RTO_MAX);
		/* And acknowledge at once over the new pair: an end with nothing in flight (the
		 * receiver of a transfer) would stay silent until more data came, while its
		 * peer's retransmission, acknowledged over the dead pair, waits for the RTO. */
		__tcp_send_ack(sk, tcp_sk(sk)->rcv_nxt, 0);
		/* And acknowledge what comes over the new pair at once for a while (quick-ACK
		 * mode, as TCP itself enters after a gap, tcp_enter_quickack_mode): the
		 * sender's fired timer restarts it from a window of one segment, and a delayed
		 * ACK of that one segment held every moved transfer for 40 ms (HZ=250). */
		inet_csk(sk)->icsk_ack.quick = max_t(u8, inet_csk(sk)->icsk_ack.quick,
						     TCP_MAX_QUICKACKS);
		inet_csk_exit_pingpong_mode(sk);
		inet_csk(sk)->icsk_ack.ato = TCP_ATO_MIN;
	}
	release_sock(sk);
}

/* --- Rewriting IPv4 packets --------------------------------------------------------- */

/*
 * Why C: skb writability and surgery (skb_ensure_writable, skb_cow_head, skb_push), the
 * incremental checksum helpers that keep the skb's checksum state, route look-ups
 * (ip_route_me_harder) and the compiled IP options (IPCB). The addresses and the option
 * octets come from Rust (rust/logic/stacking.rs, rust/logic/switchover.rs).
 */

/* The checksum of the transport header at thoff, if the packet carries one to fix. */
static __sum16 *sitemh_l4_check(struct sk_buff *skb, u8 proto, unsigned int thoff)
{
	if (proto == IPPROTO_TCP) {
		if (skb_ensure_writable(skb, thoff + sizeof(struct tcphdr)))
			return ERR_PTR(-ENOMEM);
		return &((struct tcphdr *)(skb->data + thoff))->check;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *uh;

		if (skb_ensure_writable(skb, thoff + sizeof(struct udphdr)))
			return ERR_PTR(-ENOMEM);
		uh = (struct udphdr *)(skb->data + thoff);
		/* UDP over IPv4 may carry no checksum (0): leave it so. */
		if (!uh->check && skb->ip_summed != CHECKSUM_PARTIAL)
			return NULL;
		return &uh->check;
	}
	return NULL;
}

int sitemh_ipv4_options(const struct sk_buff *skb, u8 *out, unsigned int max)
{
	const struct iphdr *iph = ip_hdr(skb);
	unsigned int len;

	/* ihl is checked first: below 5 the subtraction would wrap. */
	if (iph->ihl < 5)
		return -EINVAL;
	len = iph->ihl * 4 - sizeof(*iph);
	if (len > max)
		return -EINVAL;
	if (len && skb_copy_bits(skb, skb_network_offset(skb) + sizeof(*iph), out, len))
		return -EINVAL;
	return len;
}

int sitemh_ipv4_push_option(struct sk_buff *skb, const u8 *opt, unsigned int len)
{
	struct iphdr *iph = ip_hdr(skb);
	unsigned int hlen = iph->ihl * 4;

	if (!len || len % 4 || hlen + len > 60)
		return -EMSGSIZE;
	/* A packet that carries options already (IP_OPTIONS, say) is not stacked: the
	 * stack's compiled view of them (IPCB(skb)->opt: offsets of RR, TS, SRR, CIPSO) would
	 * point to the wrong octets once ours go in front, and icmp_send() echoes options
	 * from those offsets into a 40-octet buffer. */
	if (iph->ihl != 5)
		return -EOPNOTSUPP;
	if (skb_network_offset(skb) != 0)
		return -EINVAL;
	if (skb_cow_head(skb, len))
		return -ENOMEM;
	/* As CIPSO does: the header moves towards the head, the options go after its first
	 * 20 octets, the transport header stays where it is. */
	iph = ip_hdr(skb);
	skb_push(skb, len);
	memmove(skb->data, iph, sizeof(*iph));
	skb_reset_network_header(skb);
	iph = ip_hdr(skb);
	memcpy((u8 *)iph + sizeof(*iph), opt, len);
	iph->ihl += len / 4;
	iph_set_totlen(iph, skb->len);
	ip_send_check(iph);
	/* The compiled options now describe the header as it is: our option alone, which
	 * records nothing a router or icmp_send() would fill in or echo (cf. upstream's
	 * "ipv4: recompile ip options in ipv4_link_failure"). */
	memset(&IPCB(skb)->opt, 0, sizeof(IPCB(skb)->opt));
	IPCB(skb)->opt.optlen = len;
	return 0;
}

int sitemh_ipv4_blank_options(struct sk_buff *skb, unsigned int off, unsigned int len)
{
	unsigned int nhoff = skb_network_offset(skb);
	struct iphdr *iph = ip_hdr(skb);

	/* ihl is checked first: below 5 the bound would wrap. */
	if (iph->ihl < 5 || len > 40 || off > 40 || off + len > iph->ihl * 4 - sizeof(*iph))
		return -EINVAL;
	if (skb_ensure_writable(skb, nhoff + iph->ihl * 4))
		return -ENOMEM;
	iph = ip_hdr(skb);
	memset((u8 *)iph + sizeof(*iph) + off, IPOPT_NOOP, len);
	ip_send_check(iph);
	return 0;
}

/* --- TCP MSS ------------------------------------------------------------------------ */

/*
 * Why C: making the TCP header writable and the checksum update (the skb's checksum
 * state). Which packets are SYNs, the walk of their options and the new MSS are the
 * caller's (rust/logic/tcp.rs).
 */
int sitemh_tcp_header(struct sk_buff *skb, bool ipv6, unsigned int len, u8 **th)
{
	unsigned int thoff;

	*th = NULL;
	if (ipv6) {
		if (ipv6_hdr(skb)->nexthdr != IPPROTO_TCP)
			return 0;
		thoff = skb_network_offset(skb) + sizeof(struct ipv6hdr);
	} else {
		const struct iphdr *iph = ip_hdr(skb);

		if (iph->protocol != IPPROTO_TCP || (iph->frag_off & htons(IP_OFFSET)))
			return 0;
		thoff = skb_network_offset(skb) + iph->ihl * 4;
	}
	if (skb_ensure_writable(skb, thoff + len))
		return -ENOMEM;
	*th = skb->data + thoff;
	return 0;
}

void sitemh_tcp_mss_changed(struct sk_buff *skb, u8 *th, u16 old, u16 new)
{
	inet_proto_csum_replace2(&((struct tcphdr *)th)->check, skb, htons(old), htons(new),
				 false);
}

/* --- IPv6 routing header ------------------------------------------------------------ */

/*
 * Why C: skb surgery (skb_cow_head, skb_push, skb_pull, the header moved in place), the
 * payload length of BIG TCP packets and ip6_route_me_harder. The routing header's
 * octets are written and parsed in Rust (rust/logic/stacking.rs).
 */

int sitemh_ipv6_routing_header(const struct sk_buff *skb, u8 *out, unsigned int max)
{
	unsigned int off = skb_network_offset(skb) + sizeof(struct ipv6hdr), len;
	const u8 *rh;
	u8 head[2];

	if (ipv6_hdr(skb)->nexthdr != NEXTHDR_ROUTING)
		return 0;
	rh = skb_header_pointer(skb, off, sizeof(head), head);
	if (!rh)
		return -EINVAL;
	len = min((rh[1] + 1) * 8, max);
	if (skb_copy_bits(skb, off, out, len))
		return -EINVAL;
	return len;
}

/* The payload length of an IPv6 packet whose header starts the skb, from its length: a
 * BIG TCP packet (longer than IPV6_MAXPLEN, the stack then writes 0) keeps 0, which an
 * addition to the old field would have turned into the header's length. */
static void sitemh_ipv6_set_payload_len(struct sk_buff *skb)
{
	unsigned int plen = skb->len - sizeof(struct ipv6hdr);

	ipv6_hdr(skb)->payload_len = plen > IPV6_MAXPLEN ? 0 : htons(plen);
}

int sitemh_ipv6_push_routing_header(struct net *net, struct sk_buff *skb, const u8 *saddr,
				    const u8 *daddr, u8 *rh, unsigned int len)
{
	struct ipv6hdr *ip6h = ipv6_hdr(skb);

	/* A routing header has 8 octets at least, and says its own length in its second. */
	if (len < 8 || len % 8 || len != (rh[1] + 1) * 8u || skb_network_offset(skb) != 0)
		return -EINVAL;
	/* The routing header comes after a hop-by-hop options header: not handled. */
	if (ip6h->nexthdr == NEXTHDR_HOP)
		return -EOPNOTSUPP;
	if (skb_cow_head(skb, len))
		return -ENOMEM;
	ip6h = ipv6_hdr(skb);
	rh[0] = ip6h->nexthdr;
	skb_push(skb, len);
	memmove(skb->data, ip6h, sizeof(*ip6h));
	skb_reset_network_header(skb);
	ip6h = ipv6_hdr(skb);
	memcpy((u8 *)ip6h + sizeof(*ip6h), rh, len);
	ip6h->nexthdr = NEXTHDR_ROUTING;
	sitemh_ipv6_set_payload_len(skb);
	/* Upper-layer checksums stay as the socket computed them, over the home addresses:
	 * RFC 8200 section 8.1 and RFC 6275 section 6.4 for the type 2 routing header. */
	memcpy(&ip6h->saddr, saddr, 16);
	memcpy(&ip6h->daddr, daddr, 16);
	return ip6_route_me_harder(net, skb->sk, skb);
}

int sitemh_ipv6_pull_routing_header(struct sk_buff *skb, const u8 *saddr, const u8 *daddr,
				    unsigned int len)
{
	unsigned int nhoff = skb_network_offset(skb);
	struct ipv6hdr *ip6h;
	u8 next;

	if (nhoff != 0 || ipv6_hdr(skb)->nexthdr != NEXTHDR_ROUTING || len < 8 || len % 8)
		return -EINVAL;
	if (skb_ensure_writable(skb, sizeof(*ip6h) + len))
		return -ENOMEM;
	ip6h = ipv6_hdr(skb);
	/* Only the whole header goes: the length it states is the length taken out. */
	if ((((u8 *)ip6h)[sizeof(*ip6h) + 1] + 1) * 8u != len)
		return -EINVAL;
	next = ((u8 *)ip6h)[sizeof(*ip6h)];
	if (skb->ip_summed == CHECKSUM_COMPLETE)
		skb->ip_summed = CHECKSUM_NONE;
	memmove(skb->data + len, ip6h, sizeof(*ip6h));
	skb_pull(skb, len);
	skb_reset_network_header(skb);
	skb_set_transport_header(skb, sizeof(*ip6h));
	ip6h = ipv6_hdr(skb);
	ip6h->nexthdr = next;
	sitemh_ipv6_set_payload_len(skb);
	memcpy(&ip6h->saddr, saddr, 16);
	memcpy(&ip6h->daddr, daddr, 16);
	return 0;
}

/* --- Local addresses ---------------------------------------------------------------- */

/*
 * Why C: the address look-ups ipv6_chk_addr() and inet_addr_type().
 */

bool sitemh_ipv6_is_local(struct net *net, const u8 *addr)
{
	return ipv6_chk_addr(net, (const struct in6_addr *)addr, NULL, 0);
}

bool sitemh_ipv4_is_local(struct net *net, __be32 addr)
{
	return inet_addr_type(net, addr) == RTN_LOCAL;
}

/* --- ICMP errors about a connection ------------------------------------------------- */

/*
 * Why C: the checksum over the whole message (which may be paged) and the rewrite of a
 * writable packet. Which messages are errors and what connection they quote is the
 * caller's to say (rust/logic/icmp_error.rs), from the octets
 * sitemh_skb_ipv{4,6}_transport copies. The IPv6 half is in the IPv6 group below.
 */

/* Where the ICMP message of an IPv4 packet starts. */
static unsigned int sitemh_icmp_off4(const struct sk_buff *skb)
{
	return skb_network_offset(skb) + ip_hdr(skb)->ihl * 4;
}

int sitemh_translate_icmp_quote4(struct sk_buff *skb, __be32 saddr, __be32 daddr)
{
	unsigned int icmpoff = sitemh_icmp_off4(skb), qoff;
	struct icmphdr *ih;
	struct iphdr *qh;

	qoff = icmpoff + sizeof(struct icmphdr);
	if (ip_hdr(skb)->protocol != IPPROTO_ICMP)
		return -EINVAL;
	if (skb_ensure_writable(skb, qoff + sizeof(struct iphdr)))
		return -ENOMEM;
	qh = (struct iphdr *)(skb->data + qoff);
	csum_replace4(&qh->check, qh->saddr, saddr);
	csum_replace4(&qh->check, qh->daddr, daddr);
	qh->saddr = saddr;
	qh->daddr = daddr;
	/* The quoted transport checksum is left as it is: nobody checks a quote's. */
	ih = (struct icmphdr *)(skb->data + icmpoff);
	ih->checksum = 0;
	ih->checksum = csum_fold(skb_checksum(skb, icmpoff, skb->len - icmpoff, 0));
	/* Whatever the device computed no longer holds; ICMP checks the new sum itself. */
	skb->ip_summed = CHECKSUM_NONE;
	return 0;
}

/* Sending ICMP (group above, with the broadcast): from and to one address. */
int sitemh_send_icmp4(struct net *net, __be32 saddr, __be32 daddr, int ttl, const u8 *msg,
		      int len)
{
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_addr.s_addr = saddr };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = daddr };
	struct msghdr hdr = { .msg_name = &to, .msg_namelen = sizeof(to),
			      .msg_flags = MSG_DONTWAIT };
	struct kvec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct socket *sock;
	int err;

	err = sock_create_kern(net, AF_INET, SOCK_RAW, IPPROTO_ICMP, &sock);
	if (err)
		return err;
	if (ttl)
		inet_sk(sock->sk)->uc_ttl = ttl;
	if (saddr)
		err = kernel_bind(sock, (struct sockaddr_unsized *)&from, sizeof(from));
	if (!err)
		err = kernel_sendmsg(sock, &hdr, &iov, 1, len);
	sock_release(sock);
	return err < 0 ? err : 0;
}

/* --- AEAD --------------------------------------------------------------------------- */

/*
 * Why C: the kernel's AES-GCM library (aes_gcm_*), which has no Rust binding. Nonces,
 * records and keys are built in Rust (rust/logic/linkfail.rs, rust/logic/kdf.rs).
 */

struct sitemh_aead {
	struct aes_gcm_key key;
};

struct sitemh_aead *sitemh_aead_new(const u8 *key16)
{
	struct sitemh_aead *aead = kzalloc(sizeof(*aead), GFP_KERNEL);

	if (!aead)
		return NULL;
	if (aes_gcm_preparekey(&aead->key, key16, 16, 16)) {
		kfree(aead);
		return NULL;
	}
	return aead;
}

void sitemh_aead_free(struct sitemh_aead *aead)
{
	kfree_sensitive(aead);
}

void sitemh_aead_seal(const struct sitemh_aead *aead, const u8 *nonce12, const u8 *ad,
		      int ad_len, u8 *buf, int len, u8 *tag)
{
	aes_gcm_encrypt(buf, buf, len, tag, ad, ad_len, nonce12, &aead->key);
}

int sitemh_aead_open(const struct sitemh_aead *aead, const u8 *nonce12, const u8 *ad,
		     int ad_len, u8 *buf, int len, const u8 *tag)
{
	return aes_gcm_decrypt(buf, buf, len, tag, ad, ad_len, nonce12, &aead->key);
}

/* --- Timers and clocks -------------------------------------------------------------- */

/*
 * Why C: delayed work, jiffies and the ticker's IRQ-safe lock (it may be armed from any
 * context). When to run and what to do is the Rust caller's: a ticker only never
 * postpones a run that is due sooner.
 */

struct sitemh_ticker {
	struct delayed_work work;
	/* When the armed run is due, and whether one is armed: the timer's own expiry is
	 * stale once the work was queued at once. */
	spinlock_t lock;
	unsigned long due;
	bool armed;
	void (*fn)(const void *ctx);
	const void *ctx;
};

static void sitemh_ticker_run(struct work_struct *work)
{
	struct sitemh_ticker *t = container_of(to_delayed_work(work), struct sitemh_ticker, work);
	unsigned long flags;

	spin_lock_irqsave(&t->lock, flags);
	t->armed = false;
	spin_unlock_irqrestore(&t->lock, flags);
	t->fn(t->ctx);
}

struct sitemh_ticker *sitemh_ticker_new(void (*fn)(const void *ctx), const void *ctx)
{
	struct sitemh_ticker *t = kzalloc(sizeof(*t), GFP_KERNEL);

	if (!t)
		return NULL;
	INIT_DELAYED_WORK(&t->work, sitemh_ticker_run);
	spin_lock_init(&t->lock);
	t->fn = fn;
	t->ctx = ctx;
	return t;
}

void sitemh_ticker_arm(struct sitemh_ticker *t, unsigned int ms)
{
	unsigned long delay = msecs_to_jiffies(ms), when = jiffies + delay, flags;

	spin_lock_irqsave(&t->lock, flags);
	/* Never postpone a run that is due earlier. */
	if (!t->armed || time_after(t->due, when)) {
		t->armed = true;
		t->due = when;
		mod_delayed_work(system_wq, &t->work, delay);
	}
	spin_unlock_irqrestore(&t->lock, flags);
}

void sitemh_ticker_stop(struct sitemh_ticker *t)
{
	disable_delayed_work_sync(&t->work);
}

void sitemh_ticker_free(struct sitemh_ticker *t)
{
	if (!t)
		return;
	disable_delayed_work_sync(&t->work);
	kfree(t);
}

/* Why C: cond_resched() is a macro. Long walks in process context (the switchover's
 * table, 100,000 connections) let others run between their batches. */
void sitemh_cond_resched(void)
{
	cond_resched();
}

u64 sitemh_now_ms(void)
{
	return div_u64(ktime_get_ns(), NSEC_PER_MSEC);
}

u64 sitemh_real_ns(void)
{
	return ktime_get_real_ns();
}

/* --- Tunnel devices ----------------------------------------------------------------- */

/*
 * Why C: a driver's private data (netdev_priv), read by the driver's kind.
 */

int sitemh_tunnel_local(const struct sk_buff *skb, u8 *out)
{
	const struct net_device *dev = skb->dev;

	memset(out, 0, 16);
	if (!dev || !dev->rtnl_link_ops)
		return 0;
	/* The driver tells whose private data follows the net_device. */
	if (!strcmp(dev->rtnl_link_ops->kind, "ipip")) {
		const struct ip_tunnel *t = netdev_priv(dev);

		if (!t->parms.iph.saddr)
			return 0;
		memcpy(out, &t->parms.iph.saddr, 4);
		return 1;
	}
	if (!strcmp(dev->rtnl_link_ops->kind, "ip6tnl")) {
		const struct ip6_tnl *t = netdev_priv(dev);

		if (ipv6_addr_any(&t->parms.laddr))
			return 0;
		memcpy(out, &t->parms.laddr, 16);
		return 1;
	}
	return 0;
}

/* --- Switchover over IPv6 ----------------------------------------------------------- */

/*
 * Why C: ipv6_find_hdr() over the extension headers, skb writability, the checksum
 * helpers (csum_ipv6_magic over the pseudo-header), route look-ups and kernel sockets.
 * What to translate is decided in Rust (rust/logic/switchover.rs,
 * rust/logic/icmp_error.rs).
 */

/* The offset and protocol of the IPv6 packet's transport header, past extension headers;
 * false for a fragment after the first or a header chain that is not all there. */
static bool sitemh_ipv6_thoff(const struct sk_buff *skb, unsigned int *thoff, u8 *proto)
{
	unsigned int off = 0;
	unsigned short frag_off = 0;
	int flags = 0, nexthdr;

	nexthdr = ipv6_find_hdr(skb, &off, -1, &frag_off, &flags);
	if (nexthdr < 0 || frag_off)
		return false;
	*thoff = off;
	*proto = nexthdr;
	return true;
}

int sitemh_skb_ipv6_transport(const struct sk_buff *skb, u8 only_proto, u8 *proto,
			      u8 *hoplimit, bool *looped, int *iif, u8 *buf, int len)
{
	unsigned int thoff;
	int tlen;

	*proto = 0;
	*hoplimit = ipv6_hdr(skb)->hop_limit;
	*looped = skb->pkt_type == PACKET_LOOPBACK;
	*iif = skb->skb_iif ? skb->skb_iif : (skb->dev ? skb->dev->ifindex : 0);
	if (!sitemh_ipv6_thoff(skb, &thoff, proto))
		return -1;
	if (only_proto && *proto != only_proto)
		return 0;
	if (thoff > skb->len)
		return -1;
	tlen = skb->len - thoff;
	if (skb_copy_bits(skb, thoff, buf, min(len, tlen)))
		return -1;
	return tlen;
}

/* Both families' translation (group: address translation, above), after the IPv6
 * helpers it needs. */

/* The transport header's offset and protocol; false for an IPv4 fragment after the first,
 * or an IPv6 one or a broken header chain: then only the addresses change. */
static bool sitemh_thoff(const struct sk_buff *skb, bool ipv6, unsigned int *thoff, u8 *proto)
{
	const struct iphdr *iph;

	if (ipv6)
		return sitemh_ipv6_thoff(skb, thoff, proto);
	iph = ip_hdr(skb);
	*proto = iph->protocol;
	*thoff = skb_network_offset(skb) + iph->ihl * 4;
	return !(iph->frag_off & htons(IP_OFFSET));
}

/* IPv4: the addresses, the header checksum and the transport checksum's share of them. */
static void sitemh_set_addrs4(struct sk_buff *skb, __sum16 *check, const u8 *saddr,
			      const u8 *daddr)
{
	struct iphdr *iph = ip_hdr(skb);
	__be32 s, d;

	memcpy(&s, saddr, 4);
	memcpy(&d, daddr, 4);
	if (check) {
		inet_proto_csum_replace4(check, skb, iph->saddr, s, true);
		inet_proto_csum_replace4(check, skb, iph->daddr, d, true);
	}
	csum_replace4(&iph->check, iph->saddr, s);
	csum_replace4(&iph->check, iph->daddr, d);
	iph->saddr = s;
	iph->daddr = d;
}

/* IPv6: the addresses and the transport checksum's share of them (no header checksum). */
static void sitemh_set_addrs6(struct sk_buff *skb, __sum16 *check, const u8 *saddr,
			      const u8 *daddr)
{
	struct ipv6hdr *ip6h = ipv6_hdr(skb);

	if (check) {
		inet_proto_csum_replace16(check, skb, ip6h->saddr.s6_addr32,
					  (const __be32 *)saddr, true);
		inet_proto_csum_replace16(check, skb, ip6h->daddr.s6_addr32,
					  (const __be32 *)daddr, true);
	}
	memcpy(&ip6h->saddr, saddr, 16);
	memcpy(&ip6h->daddr, daddr, 16);
}

bool sitemh_skb_ports(const struct sk_buff *skb, bool ipv6, u8 *proto, __be16 *sport,
		      __be16 *dport)
{
	unsigned int thoff;
	__be16 ports[2], *p;

	if (!sitemh_thoff(skb, ipv6, &thoff, proto))
		return false;
	if (*proto != IPPROTO_TCP && *proto != IPPROTO_UDP)
		return false;
	p = skb_header_pointer(skb, thoff, sizeof(ports), ports);
	if (!p)
		return false;
	*sport = p[0];
	*dport = p[1];
	return true;
}

int sitemh_translate(struct net *net, struct sk_buff *skb, bool ipv6, const u8 *saddr,
		     const u8 *daddr, bool reroute)
{
	unsigned int hlen = ipv6 ? sizeof(struct ipv6hdr) : sizeof(struct iphdr);
	unsigned int thoff = 0;
	__sum16 *check = NULL;
	u8 proto = 0;

	if (skb_ensure_writable(skb, skb_network_offset(skb) + hlen))
		return -ENOMEM;
	/* The version nibble sits at the same place in both headers. */
	if (ip_hdr(skb)->version != (ipv6 ? 6 : 4))
		return -EINVAL;
	if (sitemh_thoff(skb, ipv6, &thoff, &proto)) {
		check = sitemh_l4_check(skb, proto, thoff);
		if (IS_ERR(check))
			return PTR_ERR(check);
	}
	if (ipv6)
		sitemh_set_addrs6(skb, check, saddr, daddr);
	else
		sitemh_set_addrs4(skb, check, saddr, daddr);
	if (check && proto == IPPROTO_UDP && !*check)
		*check = CSUM_MANGLED_0;
	if (!reroute)
		return 0;
	if (ipv6)
		return ip6_route_me_harder(net, skb->sk, skb);
	return ip_route_me_harder(net, skb->sk, skb, RTN_UNSPEC);
}

static __sum16 sitemh_icmp6_sum(const struct sk_buff *skb, unsigned int icmpoff)
{
	const struct ipv6hdr *ip6h = ipv6_hdr(skb);
	unsigned int len = skb->len - icmpoff;

	return csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, len, IPPROTO_ICMPV6,
			       skb_checksum(skb, icmpoff, len, 0));
}

/* Both families' check, after the IPv6 helpers it needs (group: ICMP errors, above). */
bool sitemh_icmp_sum_ok(const struct sk_buff *skb, bool ipv6)
{
	unsigned int off;
	u8 proto;

	if (!ipv6) {
		off = sitemh_icmp_off4(skb);
		return off <= skb->len &&
		       !csum_fold(skb_checksum(skb, off, skb->len - off, 0));
	}
	if (!sitemh_ipv6_thoff(skb, &off, &proto) || proto != IPPROTO_ICMPV6 || off > skb->len)
		return false;
	return !sitemh_icmp6_sum(skb, off);
}

int sitemh_translate_icmp_quote6(struct sk_buff *skb, const u8 *saddr, const u8 *daddr)
{
	unsigned int icmpoff, qoff;
	struct icmp6hdr *ih;
	struct ipv6hdr *qh;
	u8 proto;

	if (!sitemh_ipv6_thoff(skb, &icmpoff, &proto) || proto != IPPROTO_ICMPV6)
		return -EINVAL;
	qoff = icmpoff + sizeof(struct icmp6hdr);
	if (skb_ensure_writable(skb, qoff + sizeof(struct ipv6hdr)))
		return -ENOMEM;
	qh = (struct ipv6hdr *)(skb->data + qoff);
	memcpy(&qh->saddr, saddr, 16);
	memcpy(&qh->daddr, daddr, 16);
	ih = (struct icmp6hdr *)(skb->data + icmpoff);
	ih->icmp6_cksum = 0;
	ih->icmp6_cksum = sitemh_icmp6_sum(skb, icmpoff);
	skb->ip_summed = CHECKSUM_NONE;
	return 0;
}

int sitemh_send_icmp6(struct net *net, const u8 *saddr, const u8 *daddr, int ifindex,
		      int hops, bool nonlocal, const u8 *msg, int len)
{
	struct sockaddr_in6 from = { .sin6_family = AF_INET6, .sin6_scope_id = ifindex };
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_scope_id = ifindex };
	struct msghdr hdr = { .msg_name = &to, .msg_namelen = sizeof(to),
			      .msg_flags = MSG_DONTWAIT };
	struct kvec iov = { .iov_base = (void *)msg, .iov_len = len };
	struct socket *sock;
	int err;

	memcpy(&to.sin6_addr, daddr, 16);
	err = sock_create_kern(net, AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, &sock);
	if (err)
		return err;
	/* A raw ICMPv6 socket fills in the checksum (over the pseudo-header) itself. */
	if (hops) {
		inet6_sk(sock->sk)->hop_limit = hops;
		inet6_sk(sock->sk)->mcast_hops = hops;
	}
	if (ifindex)
		err = sock_bindtoindex(sock->sk, ifindex, true);
	if (!err && saddr) {
		memcpy(&from.sin6_addr, saddr, 16);
		if (nonlocal)
			inet_set_bit(FREEBIND, sock->sk);
		err = kernel_bind(sock, (struct sockaddr_unsized *)&from, sizeof(from));
	}
	if (!err)
		err = kernel_sendmsg(sock, &hdr, &iov, 1, len);
	sock_release(sock);
	return err < 0 ? err : 0;
}

int sitemh_sock_tuple6(struct sock *sk, u8 *proto, u8 *saddr, u8 *daddr, __be16 *sport,
		       __be16 *dport)
{
	int err = 0;

	if (sk->sk_family != AF_INET6 ||
	    (sk->sk_protocol != IPPROTO_TCP && sk->sk_protocol != IPPROTO_UDP) ||
	    sk->sk_type == SOCK_RAW)
		return -EPROTONOSUPPORT;
	lock_sock(sk);
	if (sk->sk_state != TCP_ESTABLISHED) {
		err = -ENOTCONN;
	} else if (ipv6_addr_v4mapped(&sk->sk_v6_daddr)) {
		/* IPv4 through an IPv6 socket: its packets are IPv4, the IPv4 options' job. */
		err = -EAFNOSUPPORT;
	} else {
		*proto = sk->sk_protocol;
		memcpy(saddr, &inet6_sk(sk)->saddr, 16);
		memcpy(daddr, &sk->sk_v6_daddr, 16);
		*sport = inet_sk(sk)->inet_sport;
		*dport = sk->sk_dport;
	}
	release_sock(sk);
	return err;
}

bool sitemh_ipv6_accepts_ra(struct net *net, int ifindex)
{
	struct net_device *dev;
	struct inet6_dev *idev;
	bool accepts = false;

	rcu_read_lock();
	dev = dev_get_by_index_rcu(net, ifindex);
	idev = dev ? __in6_dev_get(dev) : NULL;
	if (idev)
		accepts = ipv6_accept_ra(idev);
	rcu_read_unlock();
	return accepts;
}
