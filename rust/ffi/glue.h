/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hand-written C glue for what bindgen cannot express well: fields of structures that the
 * kernel crate only knows as opaque (struct rtable embeds struct dst_entry, which
 * `kernel::bindings` declares without fields), walks over RCU- or lock-protected kernel
 * lists, and kernel-socket plumbing. Every symbol starts with sitemh_.
 *
 * Addresses cross this boundary as 16 octets in network byte order: an IPv4 address in
 * the first four.
 */
#ifndef SITEMH_GLUE_H
#define SITEMH_GLUE_H

#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/inetdevice.h>
#include <linux/skbuff.h>
#include <linux/net.h>
#include <linux/percpu.h>
#include <net/addrconf.h>
#include <net/checksum.h>
#include <net/dst.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/ip6_route.h>
#include <net/route.h>
#include <net/sock.h>
#include <linux/unaligned.h>
#include <linux/delay.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/tcp.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <crypto/aes-gcm.h>
#include <crypto/utils.h>

bool sitemh_skb_route_is_unicast4(const struct sk_buff *skb);

/* n per-CPU u64 counters, zeroed, or NULL; bumped from any context, summed over CPUs. */
u64 __percpu *sitemh_counters_new(unsigned int n);
void sitemh_counters_free(u64 __percpu *counters);
void sitemh_counter_inc(u64 __percpu *counters, unsigned int index);
u64 sitemh_counter_sum(u64 __percpu *counters, unsigned int index);
void sitemh_counter_reset(u64 __percpu *counters, unsigned int index);
int sitemh_netdev_ifindex(const struct net_device *dev);
const char *sitemh_netdev_name(const struct net_device *dev);

/* The device of a netdevice notifier event: its index, and whether it can carry traffic
 * (up, running, carrier). */
int sitemh_notifier_ifindex(struct netdev_notifier_info *info);
bool sitemh_notifier_usable(struct netdev_notifier_info *info);

/* An IPv4 packet's protocol and TTL, and whether it is our own looped-back broadcast;
 * unless only_proto is set and differs from the packet's protocol (then 0 is returned
 * at once), copies up to len octets of its transport header and payload into buf.
 * Returns the transport length, or -1 for a fragment. */
int sitemh_skb_ipv4_transport(const struct sk_buff *skb, u8 only_proto, u8 *proto, u8 *ttl,
			      bool *looped, int *iif, u8 *buf, int len);

/* Sends an ICMP message (msg, len octets, checksum included) to the limited broadcast
 * address out of interface ifindex, with TTL 255 (receivers check it, as for neighbour
 * discovery, so that no off-link sender can forge it), from the interface's address; with
 * hdrincl, msg is a whole IPv4 packet, header included (for a router relaying a CE's
 * notice under the CE's address). Process context. */
int sitemh_send_icmp4_broadcast(struct net *net, int ifindex, bool hdrincl, const u8 *msg,
				int len);

/* One unicast address of an interface that is up (loopback excluded). */
struct sitemh_local_addr {
	u8 addr[16];
	int ifindex;
};

/* The namespace's usable addresses of one family (AF_INET or AF_INET6) into out[0..max);
 * returns how many were written. IPv6 addresses still tentative (DAD) are left out. */
int sitemh_local_addrs(struct net *net, int family, struct sitemh_local_addr *out, int max);

/* The interface the route to addr leaves by (the draft's rtalloc); ifindex scopes a
 * link-local IPv6 address (0: none). Returns 0 or a negative errno. */
int sitemh_route_oif(struct net *net, int family, const u8 *addr, int ifindex, int *oif);

/* A number that changes whenever the namespace's routes (any table, any rule), its
 * addresses of one family or its interfaces change: what address selection read from
 * them is still true while the number stays the same. */
u64 sitemh_selection_genid(struct net *net, int family);

/* The socket's TOS (IPv4) or traffic class (IPv6), its namespace and its family. */
u8 sitemh_sock_tos(const struct sock *sk);
struct net *sitemh_sock_net(const struct sock *sk);
int sitemh_sock_family(const struct sock *sk);

/* The draft's echo probe (2.1.1): sitemh_probe_rtts in glue_probe.h. */

/* --- Switchover (draft 2.1.2) ------------------------------------------------------- */

/* A connected TCP or UDP IPv4 socket's tuple (network byte order), read under the socket
 * lock. Returns 0, -EPROTONOSUPPORT (not TCP/UDP over IPv4) or -ENOTCONN. Sleeps. */
int sitemh_sock_tuple4(struct sock *sk, u8 *proto, __be32 *saddr, __be32 *daddr,
		       __be16 *sport, __be16 *dport);
/* copy_from_sockptr: 0 or -EFAULT. */
int sitemh_copy_from_sockptr(u8 *dst, sockptr_t src, unsigned int len);
void sitemh_sock_hold(struct sock *sk);
void sitemh_sock_put(struct sock *sk);
/* Whether the connection is over: TCP closed, or a UDP socket released or disconnected. */
bool sitemh_sock_closed(const struct sock *sk);
/* TCP's smoothed round trip in microseconds; 0 for UDP or without a sample. */
u32 sitemh_sock_srtt_us(const struct sock *sk);
/* A TCP connection just moved to a working path: retransmit what is in flight now
 * instead of when the retransmission timer expires (as MPTCP reinjects on a subflow
 * failure), and acknowledge what arrived. Nothing for UDP. Sleeps. */
void sitemh_sock_kick(struct sock *sk);

/* The packet's (IPv6 with ipv6: past the extension headers) TCP or UDP ports (network byte
 * order); false for other protocols and for fragments after the first. */
bool sitemh_skb_ports(const struct sk_buff *skb, bool ipv6, u8 *proto, __be16 *sport,
		      __be16 *dport);
/* Rewrites the packet's addresses to saddr/daddr (4 octets each, or 16 with ipv6), fixing
 * the IPv4 header checksum and the TCP/UDP checksum as NAT does (pseudo-header,
 * CHECKSUM_PARTIAL and GSO packets included); with reroute, looks its route up again
 * (locally generated packets). Returns 0 or a negative errno (then drop the packet):
 * -EINVAL if the packet is not of the family ipv6 says. */
int sitemh_translate(struct net *net, struct sk_buff *skb, bool ipv6, const u8 *saddr,
		     const u8 *daddr, bool reroute);

/* Copies the IPv4 packet's options (the octets after the first 20) into out; returns
 * their length (0: none) or a negative errno if the header is not all there. */
int sitemh_ipv4_options(const struct sk_buff *skb, u8 *out, unsigned int max);
/* Inserts the option of len octets (a multiple of 4) in front of the IPv4 packet's other
 * options, fixing the header length, total length and header checksum (GSO and
 * CHECKSUM_PARTIAL packets included: the transport header does not move). Returns 0 or a
 * negative errno (-EMSGSIZE: the header would exceed 60 octets). */
int sitemh_ipv4_push_option(struct sk_buff *skb, const u8 *opt, unsigned int len);
/* Overwrites len octets of the IPv4 options from off (counted from the options' start)
 * with no-operation options, fixing the header checksum, so that nothing after this hook
 * reads them. Returns 0 or a negative errno. */
int sitemh_ipv4_blank_options(struct sk_buff *skb, unsigned int off, unsigned int len);
/* The TCP header of the packet (IPv4, or TCP right after the IPv6 header with ipv6), its
 * first len octets made writable: *th points to them, NULL when the packet is no TCP or
 * a later IPv4 fragment. Returns 0 or -ENOMEM (the octets are not all there). Any
 * earlier pointer into the packet is stale afterwards. */
int sitemh_tcp_header(struct sk_buff *skb, bool ipv6, unsigned int len, u8 **th);
/* Fixes the TCP checksum of the header at th (from sitemh_tcp_header) for the MSS
 * option's value going from old to new, as the TCPMSS target does. */
void sitemh_tcp_mss_changed(struct sk_buff *skb, u8 *th, u16 old, u16 new);
/* Whether addr is one of the namespace's local IPv4 addresses. */
bool sitemh_ipv4_is_local(struct net *net, __be32 addr);
/* Copies the routing header right after the IPv6 header (at most max octets) into out;
 * returns its length, 0 if there is none there, or a negative errno. */
int sitemh_ipv6_routing_header(const struct sk_buff *skb, u8 *out, unsigned int max);
/* Inserts the routing header rh of len octets (a multiple of 8; its next header octet is
 * filled in) after the IPv6 header, sets the addresses to saddr/daddr (16 octets each)
 * and looks the route up again. Upper-layer checksums stay over the addresses the socket
 * used (RFC 6275 section 6.4). -EOPNOTSUPP after a hop-by-hop header. */
int sitemh_ipv6_push_routing_header(struct net *net, struct sk_buff *skb, const u8 *saddr,
				    const u8 *daddr, u8 *rh, unsigned int len);
/* Removes the routing header of len octets right after the IPv6 header and sets the
 * addresses to saddr/daddr (PRE_ROUTING). */
int sitemh_ipv6_pull_routing_header(struct sk_buff *skb, const u8 *saddr, const u8 *daddr,
				    unsigned int len);
/* Whether addr (16 octets) is one of the namespace's IPv6 addresses. */
bool sitemh_ipv6_is_local(struct net *net, const u8 *addr);
/* The local end of the IP-in-IP tunnel (ipip, or ip6tnl in either mode) a decapsulated
 * packet arrived on, in out (16 octets, IPv4 in the first four): 1, or 0 if it did not
 * arrive on one or the tunnel has no fixed local address. */
int sitemh_tunnel_local(const struct sk_buff *skb, u8 *out);

/* Whether the ICMP message of the IPv4 packet (with ipv6: the ICMPv6 message after the
 * IPv6 extension headers, its sum over the pseudo-header) has a correct checksum. */
bool sitemh_icmp_sum_ok(const struct sk_buff *skb, bool ipv6);
/* Rewrites the addresses of the IPv4 header quoted by the packet's ICMP error (the caller
 * parsed it) to saddr/daddr, fixing the quoted IP header's checksum and the ICMP checksum,
 * so that the error finds the socket that sent the quoted packet. Returns 0 or a negative
 * errno (then drop the packet): -EINVAL if the packet is no ICMP. */
int sitemh_translate_icmp_quote4(struct sk_buff *skb, __be32 saddr, __be32 daddr);

/* Sends an ICMP message (checksum included) from saddr (0: the route's choice) to daddr,
 * with TTL ttl (0: the default). Process context. */
int sitemh_send_icmp4(struct net *net, __be32 saddr, __be32 daddr, int ttl, const u8 *msg,
		      int len);

/* --- Switchover over IPv6: the same as the IPv4 calls above, addresses as 16 octets. ---- */

/* The IPv6 packet's transport protocol (past extension headers), hop limit, whether it was
 * looped back, its input interface and transport length; copies the transport's first
 * octets into buf as sitemh_skb_ipv4_transport does. -1 for a later fragment or a broken
 * header chain. */
int sitemh_skb_ipv6_transport(const struct sk_buff *skb, u8 only_proto, u8 *proto,
			      u8 *hoplimit, bool *looped, int *iif, u8 *buf, int len);
/* As sitemh_translate_icmp_quote4, for the IPv6 header an ICMPv6 error quotes. */
int sitemh_translate_icmp_quote6(struct sk_buff *skb, const u8 *saddr, const u8 *daddr);
/* Sends an ICMPv6 message (the socket computes its checksum) from saddr (NULL: the route's
 * choice) to daddr, out of ifindex (0: any; it also scopes link-local and multicast
 * addresses) with hop limit hops (0: the default). With nonlocal, saddr need not be an
 * address of this host (a relay sends a CE's notice under the CE's address, as the IPv4
 * relay's header-included broadcast does). Process context. */
int sitemh_send_icmp6(struct net *net, const u8 *saddr, const u8 *daddr, int ifindex,
		      int hops, bool nonlocal, const u8 *msg, int len);
/* A connected TCP or UDP IPv6 socket's tuple; -EAFNOSUPPORT for IPv4-mapped peers. */
int sitemh_sock_tuple6(struct sock *sk, u8 *proto, u8 *saddr, u8 *daddr, __be16 *sport,
		       __be16 *dport);

/* AES-128-GCM with a 16-octet tag (lib/crypto). The key is prepared once; every call is
 * fine in any context. */
struct sitemh_aead;
struct sitemh_aead *sitemh_aead_new(const u8 *key16);
void sitemh_aead_free(struct sitemh_aead *aead);
/* In place: buf (len octets) becomes ciphertext, tag receives 16 octets. */
void sitemh_aead_seal(const struct sitemh_aead *aead, const u8 *nonce12, const u8 *ad,
		      int ad_len, u8 *buf, int len, u8 *tag);
/* In place; returns 0, or -EBADMSG (buf then holds nothing usable). */
int sitemh_aead_open(const struct sitemh_aead *aead, const u8 *nonce12, const u8 *ad,
		     int ad_len, u8 *buf, int len, const u8 *tag);

/* A work item that runs fn(ctx) in process context when armed; arming again while it is
 * pending only ever brings it forward. Armed from any context. */
struct sitemh_ticker;
struct sitemh_ticker *sitemh_ticker_new(void (*fn)(const void *ctx), const void *ctx);
void sitemh_ticker_arm(struct sitemh_ticker *t, unsigned int ms);
/* Waits for a run in progress; later arming does nothing. */
void sitemh_ticker_stop(struct sitemh_ticker *t);
void sitemh_ticker_free(struct sitemh_ticker *t);
void sitemh_cond_resched(void);
/* Milliseconds of the monotonic clock. */
u64 sitemh_now_ms(void);
/* Wall-clock time in ns (CLOCK_REALTIME), comparable with packet timestamps. */
u64 sitemh_real_ns(void);

/* Whether the IPv6 stack takes router advertisements on interface @ifindex of @net (its
 * accept_ra, and accept_ra=2 when forwarding), as ndisc does. False for no such device. */
bool sitemh_ipv6_accepts_ra(struct net *net, int ifindex);

#endif /* SITEMH_GLUE_H */
