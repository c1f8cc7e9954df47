/* SPDX-License-Identifier: GPL-2.0+ WITH Linux-syscall-note */
/*
 * sitemh: site multihoming for stub networks (draft-shyam-site-multi-38).
 *
 * The user-space interface of the sitemh module. Configuration is per network namespace
 * through sysctl (the same under net.ipv6. with IPv6 addresses):
 *
 *   net.ipv4.ip_num_domains        IPCTL_NUM_DOMAINS: number of IP domains, 0..SITEMH_MAX_DOMAINS
 *   net.ipv4.ip_domain.N.net_addr  IPCTL_DOMAIN: DOMAIN_NET_ADDR, DOMAIN_NET_MASK,
 *   net.ipv4.ip_domain.N.net_mask    DOMAIN_DEF_ROUTER (0.0.0.0 / :: = private domain)
 *   net.ipv4.ip_domain.N.def_router
 *   net.ipv4.ip_domain.N.{bandwidth,gross_bandwidth,path_bandwidth,unused_bandwidth}
 *                                  the provider path's bandwidths in kbit/s (draft 2.1.1:
 *                                  allocated to the customer, gross allocated to all
 *                                  customers, AVAILABLE_PATH_BANDWIDTH, unused allocation)
 *   net.ipv4.ip_domain.N.hops      NUMBER_OF_IS_HOPS
 *   net.ipv4.ip_domain.N.latency   MINIMUM_PATH_LATENCY in microseconds
 *   net.ipv4.ip_use_homeaddr       IPCTL_USE_HOMEADDR: 1 selects ip_home_addr
 *   net.ipv4.ip_home_addr          the node's home (or provider-independent) address
 *   net.ipv4.ip_path_probe_ms      > 0: address selection echo-probes every candidate pair
 *                                  and waits this long (ms) for the round-trip times
 *   net.ipv4.sitemh_ce.uplink      a CE router's interface to its PE (empty: not a CE)
 *   net.ipv4.sitemh_ce.pe_addr     the PE's address, reported in link-failure notices:
 *                                  IPv4, IPv6, or one of each separated by a space
 *                                  (an IPv6-only PE is probed over IPv6)
 *   net.ipv4.sitemh_ce.lan         the interfaces (space-separated, up to 4) to broadcast
 *                                  the notices on
 *   net.ipv4.sitemh_ce.peers       the peer CE routers (space-separated, up to 4) to send
 *                                  keepalives to and watch (code 2 when one falls silent)
 *   net.ipv4.sitemh_ce.peers6      the same peers' IPv6 addresses, in the same order: IPv6
 *                                  notices name them so, and IPv6 keepalives go to them
 *   net.ipv4.sitemh_ce.keepalive_ms     keepalive interval (default 100; 0: off)
 *   net.ipv4.sitemh_ce.keepalive_misses intervals without a keepalive before a peer is
 *                                  declared failed (default 3); also unanswered PE probes
 *                                  before the uplink counts as failed
 *   net.ipv4.sitemh_ce.pe_probe_ms echo-probe interval of the PE (default 0: off), for
 *                                  failures that leave the link up
 *   net.ipv4.sitemh_lf.retries     transmissions of SET_ALT_ROUTE (default 5)
 *   net.ipv4.sitemh_lf.retry_ms    interval between them (default 0: twice the smoothed RTT)
 *   net.ipv4.sitemh_lf.failback_ms quiet time after a recovery before moved connections go
 *                                  back to their own pair (default 2000; 0: never)
 *   net.ipv4.sitemh_lf.probe_ms    how long the candidate routes of connections that must
 *                                  move are echo-probed before the proposal (default 100;
 *                                  0: not probed; best effort takes the fastest)
 *   net.ipv4.sitemh_lf.events_own  1: unprivileged listeners of the events' "own" group
 *                                  hear their connections move; 0: nothing goes to "own"
 *                                  (default: module parameter events_own, 1)
 *   net.ipv4.sitemh_lf.auto_ports  the service ports opportunistic protection (auto) is
 *                                  limited to, both families: up to 8 ports or ranges,
 *                                  "22 443 8000-8080" (default empty: every port)
 *   net.ipv4.sitemh_lf.auto_cgroup the cgroup (v2 path in the writer's cgroup namespace,
 *                                  "/system.slice/nginx.service") whose sockets, and its
 *                                  descendants', auto is limited to, both families
 *                                  (default empty: every socket; ENOENT if no such
 *                                  cgroup, EOPNOTSUPP without CONFIG_SOCK_CGROUP_DATA)
 *   net.ipv6.sitemh_lf.auto_ports, net.ipv6.sitemh_lf.auto_cgroup
 *                                  the same two limits (one value each for both
 *                                  families, shown and set through either file)
 *
 * The draft's new system calls become socket options, because a module can add neither
 * system calls nor SOL_SOCKET options: netfilter lets a module answer getsockopt() at
 * level IPPROTO_IP / IPPROTO_IPV6 for option numbers the IP layer does not use. The
 * application header <sitemh.h> (include/sitemh.h) wraps them in the draft's functions.
 */
#ifndef _UAPI_LINUX_SITEMH_H
#define _UAPI_LINUX_SITEMH_H

#include <linux/types.h>
#include <linux/in.h>
#include <linux/in6.h>

/* The draft's limit on the IP domains of one site (per address family and namespace). */
#define SITEMH_MAX_DOMAINS	16

/*
 * The DHCPv4 option that carries a site's IPv4 domain table to its hosts ("sitemh-domains",
 * from the site-specific range 224..254 of RFC 3942). Encoded like RFC 3442's classless
 * static routes; per domain, in order:
 *   1 octet   prefix length, 0..32
 *   N octets  the prefix's significant octets, N = (length + 7) / 8 (host bits zero)
 *   4 octets  the domain's default router; 0.0.0.0 for a private domain
 * At most SITEMH_MAX_DOMAINS domains, no prefix twice, nothing after the last domain.
 * Example: 10.99.0.0/16 private is 10 0a 63 00 00 00 00. The client hook
 * (etc/dhcp/dhclient-exit-hooks.d/sitemh) writes it to net.ipv4.ip_domain_table.
 */
#define SITEMH_DHCP_OPTION_DOMAINS	224

/* The draft's ICMP type for "link failure" messages, and its codes. */
#define SITEMH_ICMP_LINK_FAILURE	41
#define SITEMH_ICMP_LINKFAILURE_CE_PE_LINK		1	/* gateway: the PE */
#define SITEMH_ICMP_LINKFAILURE_CE_FAILURE		2	/* gateway: the failed CE */
#define SITEMH_ICMP_LINKFAILURE_SET_ALT_ROUTE		3
#define SITEMH_ICMP_LINKFAILURE_ALT_ROUTE_ESTABLISHED	4
/* sitemh's addition (the draft is silent on recovery): the link in gateway works again. */
#define SITEMH_ICMP_LINKFAILURE_LINK_RESTORED		5
/* sitemh's addition: keepalive between peer CE routers (unicast, TTL 255; gateway: the
 * addressee). */
#define SITEMH_ICMP_LINKFAILURE_KEEPALIVE		6
/* sitemh's addition: route lists carried by the module (SITEMH_SO_SEQPARAM without
 * SITEMH_SO_LFROUTES), sealed with the connection's keys; see the switchover below. */
#define SITEMH_ICMP_LINKFAILURE_ROUTE_LIST		10
#define SITEMH_ICMP_LINKFAILURE_ROUTE_LIST_ACK		11
/* sitemh's addition: key agreement for connections protected without their application
 * (net.ipv4.sitemh_lf.auto, net.ipv6.sitemh_lf.auto); see the switchover below. */
#define SITEMH_ICMP_LINKFAILURE_KEY_OFFER		12
#define SITEMH_ICMP_LINKFAILURE_KEY_ANSWER		13

/*
 * struct sitemh_addr_pair - one (source, destination) address pair (the draft's
 * struct addr_pair), in network byte order.
 * @src: local address.
 * @dst: peer address.
 */
struct sitemh_addr_pair {
	struct in_addr src;
	struct in_addr dst;
};

/*
 * struct sitemh_addr_pair6 - the IPv6 form of struct sitemh_addr_pair.
 * @src: local address.
 * @dst: peer address.
 */
struct sitemh_addr_pair6 {
	struct in6_addr src;
	struct in6_addr dst;
};

/*
 * Socket option numbers, at level IPPROTO_IP for IPv4 and IPPROTO_IPV6 for IPv6.
 * sitemh reserves SITEMH_SO_BASE .. SITEMH_SO_BASE + 15 ('S' 'H' = 0x5348: far from the
 * ranges of iptables (64..), arptables (96..), ebtables (128..) and IPVS (1024+64..)).
 * Loading the module fails with EBUSY if another module holds any of them.
 */
#define SITEMH_SO_BASE		0x5348
/* getsockopt: rank the address pairs for some destinations (struct sitemh_pairs{,6}). */
#define SITEMH_SO_PAIRS		(SITEMH_SO_BASE + 0)

/* Limits of one SITEMH_SO_PAIRS call. */
#define SITEMH_MAX_SOURCES	16
#define SITEMH_MAX_DESTS	16
#define SITEMH_MAX_PAIRS	(SITEMH_MAX_SOURCES * SITEMH_MAX_DESTS)

/* What the socket's TOS / traffic class asked for (struct sitemh_pairs.service). */
#define SITEMH_SERVICE_BEST_EFFORT	0	/* widest-shortest path */
#define SITEMH_SERVICE_LOW_LATENCY	1	/* guaranteed / controlled load: lowest latency */

/* struct sitemh_rank_info.flags */
#define SITEMH_RANK_MEASURED	0x1	/* latency_us is half a measured round trip */
#define SITEMH_RANK_DOWN	0x2	/* the path is known to be down: ranked last */

/*
 * struct sitemh_rank_info - what the ranking weighed for one pair (0: unknown).
 * @bandwidth: effective available bandwidth of the source's provider path, kbit/s
 *             (draft 2.1.1: customer / gross * AVAILABLE_PATH_BANDWIDTH, capped by the
 *             customer's unused bandwidth).
 * @hops: NUMBER_OF_IS_HOPS of the path.
 * @latency_us: one-way latency in microseconds, measured or configured.
 * @flags: SITEMH_RANK_*.
 * @reserved: 0.
 */
struct sitemh_rank_info {
	__u64 bandwidth;
	__u32 hops;
	__u32 latency_us;
	__u32 flags;
	__u32 reserved;
};

/* struct sitemh_ranked_pair{,6} - a pair and its ranking data. */
struct sitemh_ranked_pair {
	struct sitemh_addr_pair pair;
	struct sitemh_rank_info info;
};

struct sitemh_ranked_pair6 {
	struct sitemh_addr_pair6 pair;
	struct sitemh_rank_info info;
};

/*
 * struct sitemh_pairs - request and answer of getsockopt(IPPROTO_IP, SITEMH_SO_PAIRS).
 * The caller passes optlen = sizeof(struct sitemh_pairs) + room for n answers *
 * sizeof(struct sitemh_ranked_pair); optlen < sizeof(struct sitemh_pairs) is EINVAL.
 * @ndst: in: destinations in @dst, 1..SITEMH_MAX_DESTS (else EINVAL).
 * @npairs: out: pairs written to @pair, best first.
 * @available: out: pairs found (more than @npairs if @pair had too little room).
 * @service: out: SITEMH_SERVICE_* chosen from the socket's TOS.
 * @dst: in: the destinations (the addresses a name resolved to).
 * @pair: out: the ranked pairs.
 *
 * Errors: EINVAL (bad lengths or counts), EFAULT, ENETUNREACH (no usable source or no
 * route), ENOMEM. The module follows draft sections 2.3.1 (one destination: getsrcaddr)
 * and 2.3.2 (several: gethostbynamewithsrcaddr).
 */
struct sitemh_pairs {
	__u32 ndst;
	__u32 npairs;
	__u32 available;
	__u32 service;
	struct in_addr dst[SITEMH_MAX_DESTS];
	struct sitemh_ranked_pair pair[];
};

/* struct sitemh_pairs6 - the same at level IPPROTO_IPV6. */
struct sitemh_pairs6 {
	__u32 ndst;
	__u32 npairs;
	__u32 available;
	__u32 service;
	struct in6_addr dst[SITEMH_MAX_DESTS];
	struct sitemh_ranked_pair6 pair[];
};

/*
 * getsockopt: the draft's getsrcaddr in one call (struct sitemh_srcaddrs{,6}): the sources
 * SITEMH_SO_PAIRS ranks for one destination, in the same order, without the ranking data,
 * so that a caller choosing its source per connection copies a few octets only.
 */
#define SITEMH_SO_SRCADDRS	(SITEMH_SO_BASE + 4)

/*
 * struct sitemh_srcaddrs - request and answer of getsockopt(IPPROTO_IP,
 * SITEMH_SO_SRCADDRS); optlen < sizeof(struct sitemh_srcaddrs) is EINVAL.
 * @nsrc: out: sources written to @src, best first.
 * @service: out: SITEMH_SERVICE_* chosen from the socket's TOS.
 * @dst: in: the destination.
 * @src: out: the sources.
 *
 * Errors: as SITEMH_SO_PAIRS.
 */
struct sitemh_srcaddrs {
	__u32 nsrc;
	__u32 service;
	struct in_addr dst;
	struct in_addr src[SITEMH_MAX_SOURCES];
};

/* struct sitemh_srcaddrs6 - the same at level IPPROTO_IPV6. */
struct sitemh_srcaddrs6 {
	__u32 nsrc;
	__u32 service;
	struct in6_addr dst;
	struct in6_addr src[SITEMH_MAX_SOURCES];
};

/*
 * Home addresses (draft 2.2, 2.3.4): the care-of address a home address travels under,
 * for recvwithdstaddr()/sendwithsrcaddr()'s care-of parameters. IPv6: level IPPROTO_IPV6
 * with struct sitemh_careof6.
 *
 * getsockopt(fd, IPPROTO_IP, SITEMH_SO_CAREOF, struct sitemh_careof *, &len)
 *   @home in: this host's home address (answer: its care-of address while it is away) or
 *   a peer's (answer: the care-of address the peer's binding holds); @careof out,
 *   0.0.0.0 if there is none.
 * setsockopt(fd, IPPROTO_IP, SITEMH_SO_CAREOF, struct sitemh_careof *, sizeof)
 *   binds a peer's home address to its care-of address, as a stacked packet from the peer
 *   would: the namespace's packets to @home then go to @careof. That redirects every
 *   socket's traffic, so it needs CAP_NET_ADMIN (else EPERM). @careof 0.0.0.0 forgets
 *   the peer's binding. For this host's own home address it only checks that @careof is
 *   the one in force (else EINVAL): the configured net.ipv4.sitemh_home.careof_addr, or,
 *   without one, the address found on the interfaces when packets reach the home
 *   address through a home agent's tunnel.
 *
 * Errors: EINVAL (short option, an address no node can have as its home), EPERM.
 */
#define SITEMH_SO_CAREOF	(SITEMH_SO_BASE + 5)

struct sitemh_careof {
	struct in_addr home;
	struct in_addr careof;
};

struct sitemh_careof6 {
	struct in6_addr home;
	struct in6_addr careof;
};

/*
 * Link-failure switchover (draft 2.1.2): the draft's SO_LFROUTES and SO_SEQPARAM, at level
 * IPPROTO_IP (IPv4 connections) or IPPROTO_IPV6 (IPv6), on a connected TCP or UDP socket.
 * Only the socket's owner (whoever holds the descriptor) can set them; the module forgets
 * them when the socket closes.
 * A namespace tracks at most 131072 connections per family, and at most
 * net.ipv4.sitemh_lf.user_quota (default 16384) of one user unless the caller has
 * CAP_NET_ADMIN over the namespace: beyond, setting an option of a new connection fails
 * with ENOBUFS.
 *
 * setsockopt(fd, IPPROTO_IP, SITEMH_SO_LFROUTES, routes, n * sizeof(struct sitemh_addr_pair))
 *   the draft's inp_lf_routes: every (local, peer) pair the connection may move to, best
 *   first (usually the m*n pairs of gethostbynamewithsrcaddr). Sets inp_lf_stat to
 *   SITEMH_STAT_ALTER. 1..SITEMH_MAX_LFROUTES pairs; every local address must be the
 *   host's own (on an interface, or its configured home address, ip_home_addr, whose
 *   pair travels stacked). IPv6: struct sitemh_addr_pair6.
 *   A route whose tuple on the wire (the route's addresses with the socket's protocol
 *   and ports) belongs to another socket is refused with EADDRINUSE: an established or
 *   half-open TCP socket or a connected UDP socket with that tuple, or a TCP listener or
 *   unconnected UDP socket of another user bound to the route's local address (or the
 *   wildcard) and the port. The same holds before every move and for every translated
 *   packet: a connection never moves onto, nor are packets translated to or from, a
 *   tuple another socket owns (or another tracked connection uses), nor a local address
 *   the host no longer has.
 * setsockopt(fd, IPPROTO_IP, SITEMH_SO_LFSTAT, &int, sizeof(int))
 *   inp_lf_stat: SITEMH_STAT_DO_NOT_ALTER keeps the connection where it is.
 * getsockopt(fd, IPPROTO_IP, SITEMH_SO_LFROUTES, struct sitemh_lfroutes{,6} *, &len)
 *   the routes and the pair in use.
 * setsockopt(fd, IPPROTO_IP, SITEMH_SO_SEQPARAM, struct sitemh_seqparam *, sizeof)
 *   inp_seq_params: the TLS session's security parameters; the module derives from them
 *   the keys that protect SET_ALT_ROUTE / ALT_ROUTE_ESTABLISHED (both ends derive the same,
 *   see below). Without them the connection is never moved.
 *   Set without SITEMH_SO_LFROUTES (sitemh's addition), the connection's routes are
 *   carried by the module: both ends tell each other their addresses in their domains
 *   in sealed route lists (codes 10 and 11, below), and the routes are the socket's own
 *   pair first, then every (local, peer) of the two lists; inp_lf_stat becomes
 *   SITEMH_STAT_ALTER. This end's list: the socket's own address first, then the host's
 *   other addresses in domains of the same kind (with a default router, or private), at
 *   most SITEMH_MAX_ROUTE_LIST; sent SITEMH_ROUTE_LIST_FIRST_MS after the keys, then
 *   repeated at doubling intervals from SITEMH_ROUTE_LIST_RETRY_MS until answered, at
 *   most SITEMH_ROUTE_LIST_TRIES times, and sent again whenever the host's addresses
 *   in its domains change. SITEMH_SO_LFROUTES set afterwards replaces the carried routes
 *   (the draft's behaviour); getsockopt(SITEMH_SO_LFROUTES) shows the routes either way.
 *
 * Key derivation (rust/logic/kdf.rs): key_block (40 octets) is
 *   SITEMH_SEQPARAM_TLS12:    PRF(master_secret, "sitemh link failure",
 *                                 server_random + client_random), the TLS 1.2 PRF (SHA-256);
 *   SITEMH_SEQPARAM_EXPORTER: the keying material exported from the session (RFC 5705,
 *                             RFC 8446 section 7.5) with label SITEMH_EXPORTER_LABEL, no
 *                             context, 40 octets;
 * cut as client write key (16), server write key (16), client salt (4), server salt (4).
 * Messages are AES-128-GCM records; nonce = the sender's salt + 8-octet sequence number.
 * They travel as ICMP type icmp_type (module parameter, the draft's 41) for IPv4
 * connections and as ICMPv6 type icmp6_type (default 200, informational) for IPv6 ones.
 * A code 3/4 message (all integers big-endian; A = 4 octets for IPv4, 16 for IPv6):
 *   ICMP header (8: type, code, checksum, 4 zero octets);
 *   id_pcb in clear: protocol (1), 3 zero octets, sender's address (A), receiver's (A),
 *     sender's port (2), receiver's port (2);
 *   record header: content type 41 (1), version 0x0303 (2), length of the rest (2);
 *   explicit nonce (8): the sender's sequence number;
 *   ciphertext of: code (1), 3 zero octets, timestamp (8: the sender's monotonic clock in
 *     ms when it sealed the message), alternate source (A), alternate destination (A);
 *   tag (16). The authenticated data is everything before the nonce, checksum zeroed.
 * (The timestamp is sitemh's addition, wire version 2: a message that arrives more than
 * 3 s, plus 0.1% of the time since, later than the peer's newest accepted message says it
 * should is refused, so a copy held back cannot be played later.) A message is accepted
 * only from the peer's address on the proposed pair (SET_ALT_ROUTE: the alternate source;
 * ALT_ROUTE_ESTABLISHED: the alternate destination), and only for a connection whose
 * keys open it.
 * A route list (code 10, SITEMH_ICMP_LINKFAILURE_ROUTE_LIST) and its answer (code 11,
 * SITEMH_ICMP_LINKFAILURE_ROUTE_LIST_ACK, carrying the answerer's addresses) are sealed
 * the same way, with the same sequence numbers, replay window and timestamps, and travel
 * over the pair in use; the ciphertext is: code (1), the number n of addresses (1,
 * 1..SITEMH_MAX_ROUTE_LIST), 2 zero octets, timestamp (8), the sender's n addresses (A
 * each, distinct, non-zero; its own address first). The answer names the connection as
 * the list did (as code 4 does). An end whose application set SITEMH_SO_LFROUTES answers
 * with the local addresses of its routes and keeps them.
 *
 * Opportunistic protection (sitemh's addition): with net.ipv4.sitemh_lf.auto=1 (IPv4
 * connections) or net.ipv6.sitemh_lf.auto=1 (IPv6), per namespace, CAP_NET_ADMIN to set,
 * every TCP connection a local socket opens is protected without any call: once it is
 * established, the module offers the peer an ephemeral X25519 key (code 12,
 * SITEMH_ICMP_LINKFAILURE_KEY_OFFER, over the connection's pair, repeated like a route
 * list); a peer module with auto on answers (code 13, SITEMH_ICMP_LINKFAILURE_KEY_ANSWER)
 * if the offer names one of its established connections with the initial sequence number
 * its socket saw, and both derive the connection's keys; the route lists follow as for
 * SITEMH_SO_SEQPARAM without SITEMH_SO_LFROUTES. With net.ipv4.sitemh_lf.auto_ports set,
 * only connections to those service ports are offered keys (the SYN's destination port)
 * and only offers for them are answered (this end's port); with net.ipv4.sitemh_lf.auto_cgroup
 * set, only sockets created in that cgroup or below it (an accepted socket: where its
 * listener was) offer and answer. A peer that never answers leaves the
 * connection unprotected (counted auto_unanswered in /proc/net/sitemh). Keys set with
 * SITEMH_SO_SEQPARAM replace agreed ones. The messages (all integers big-endian):
 *   ICMP header (8: type, code, checksum, 4 zero octets);
 *   id_pcb as the offering end names the connection (its address and port first), in
 *     both messages;
 *   version 1 (1), 3 zero octets, the offering end's initial sequence number (4), the
 *     sender's X25519 public key (32);
 *   code 13 only: confirmation (16), the first 16 octets of HMAC-SHA256(confirmation key,
 *     "sitemh answer" + offer's key + answer's key).
 * Keys: the TLS 1.2 PRF (SHA-256) of the X25519 shared secret, label "sitemh auto keys",
 * seed offer's key + answer's key + id_pcb + ISN, gives 72 octets: the 40-octet key_block
 * below (the offering end is the client) and the 32-octet confirmation key. Off-path
 * hosts cannot move or hijack a connection so protected; an active attacker on the path
 * when the connection is set up can (as with MPTCP and TCP itself): the TLS-keyed mode
 * stays the strong one.
 *
 * Kernel TLS (sitemh's addition): with net.ipv4.sitemh_lf.ktls=1 (net.ipv6.sitemh_lf.ktls=1
 * for IPv6), per namespace, CAP_NET_ADMIN to set, a TCP connection whose sockets use kernel
 * TLS in both directions (TCP_ULP "tls", TLS_TX and TLS_RX; AES-GCM-128, AES-GCM-256 or
 * ChaCha20-Poly1305) is protected in the TLS-keyed mode without any call and without a
 * message: each end derives key_block (below; the end whose transmit secret is the lower
 * is the client) as the TLS 1.2 PRF of its two directions' secrets in order, each the key,
 * salt and IV of struct tls12_crypto_info_*, lower first, label "sitemh ktls", no seed.
 * The route lists follow. A connection tracked already keeps its keys.
 */
#define SITEMH_SO_LFROUTES	(SITEMH_SO_BASE + 1)
#define SITEMH_SO_SEQPARAM	(SITEMH_SO_BASE + 2)
#define SITEMH_SO_LFSTAT	(SITEMH_SO_BASE + 3)

#define SITEMH_MAX_LFROUTES	16
/* Route lists carried by the module: addresses per end, and their transmissions. */
#define SITEMH_MAX_ROUTE_LIST		4
#define SITEMH_ROUTE_LIST_FIRST_MS	100
#define SITEMH_ROUTE_LIST_RETRY_MS	200
#define SITEMH_ROUTE_LIST_TRIES		6

/* inp_lf_stat */
#define SITEMH_STAT_DO_NOT_ALTER	0
#define SITEMH_STAT_ALTER		1

/* struct sitemh_lfroutes.in_use when the connection still uses its own addresses. */
#define SITEMH_LFROUTE_OWN	0xff

/*
 * struct sitemh_lfroutes - answer of getsockopt(IPPROTO_IP, SITEMH_SO_LFROUTES).
 * @stat: SITEMH_STAT_*.
 * @n_routes: routes in @routes (inp_lf_n_routes).
 * @in_use: index in @routes of the pair the connection uses on the wire, or
 *          SITEMH_LFROUTE_OWN (the socket's own addresses).
 * @switches: how many times the connection moved.
 * @routes: the routes, as set.
 */
struct sitemh_lfroutes {
	__u8 stat;
	__u8 n_routes;
	__u8 in_use;
	__u8 switches;
	struct sitemh_addr_pair routes[SITEMH_MAX_LFROUTES];
};

struct sitemh_lfroutes6 {
	__u8 stat;
	__u8 n_routes;
	__u8 in_use;
	__u8 switches;
	struct sitemh_addr_pair6 routes[SITEMH_MAX_LFROUTES];
};

/* struct sitemh_seqparam.form */
#define SITEMH_SEQPARAM_TLS12		1
#define SITEMH_SEQPARAM_EXPORTER	2
/* struct sitemh_seqparam.entity: RFC 5246 ConnectionEnd */
#define SITEMH_ENTITY_SERVER		0
#define SITEMH_ENTITY_CLIENT		1

#define SITEMH_EXPORTER_LABEL	"EXPORTER-sitemh-link-failure"
#define SITEMH_EXPORTER_LEN	40

/*
 * struct sitemh_seqparam - the draft's SecParams (RFC 5246 section 6.1 SecurityParameters).
 * @form: SITEMH_SEQPARAM_TLS12 (@master_secret and both randoms) or
 *        SITEMH_SEQPARAM_EXPORTER (@exported; TLS 1.3, or TLS 1.2 with RFC 5705).
 * @entity: which end of the TLS session this socket is (SITEMH_ENTITY_*).
 * @reserved: 0.
 * @master_secret, @client_random, @server_random: SecurityParameters' own fields.
 * @exported: SITEMH_EXPORTER_LEN octets exported with SITEMH_EXPORTER_LABEL.
 */
struct sitemh_seqparam {
	__u8 form;
	__u8 entity;
	__u8 reserved[2];
	__u8 master_secret[48];
	__u8 client_random[32];
	__u8 server_random[32];
	__u8 exported[SITEMH_EXPORTER_LEN];
};

/*
 * Events: the generic netlink family SITEMH_GENL_NAME (version 1) announces, per network
 * namespace, what changed: link notices sent and accepted, domains marked down and up,
 * connections moved and failed back, bindings learned and expired, domains learned from
 * router advertisements and lapsed. Messages are SITEMH_CMD_EVENT with the attributes
 * below (SITEMH_A_EVENT always; the others as the event has them). Addresses are in
 * network byte order, 4 octets for AF_INET and 16 for AF_INET6 (SITEMH_A_FAMILY).
 *
 * Multicast groups:
 *   SITEMH_GENL_MCGRP_EVENTS ("events"): every event of the namespace; joining needs
 *     CAP_NET_ADMIN over the namespace.
 *   SITEMH_GENL_MCGRP_OWN ("own"): only the events about sockets of the listener's own
 *     user (connections moved and failed back); anyone may join.
 *     net.ipv4.sitemh_lf.events_own=0 (CAP_NET_ADMIN, per namespace; the module
 *     parameter events_own gives its starting value) turns it off: nothing is sent on it.
 */
#define SITEMH_GENL_NAME		"sitemh"
#define SITEMH_GENL_VERSION		1
#define SITEMH_GENL_MCGRP_EVENTS	"events"
#define SITEMH_GENL_MCGRP_OWN		"own"

enum sitemh_genl_cmd {
	SITEMH_CMD_UNSPEC,
	SITEMH_CMD_EVENT,
	__SITEMH_CMD_MAX,
};

enum sitemh_event_type {
	SITEMH_EVENT_UNSPEC,
	SITEMH_EVENT_NOTICE_SENT,	/* a CE sent a notice: CODE, GATEWAY, IFINDEX */
	SITEMH_EVENT_NOTICE_RECEIVED,	/* a host accepted a new one: CODE, ROUTER, GATEWAY */
	SITEMH_EVENT_DOMAIN_DOWN,	/* a notice marked DOMAIN down */
	SITEMH_EVENT_DOMAIN_UP,		/* its mark went (restored, or lapsed) */
	SITEMH_EVENT_CONN_MOVED,	/* PROTO, LADDR, LPORT, FADDR, FPORT, OLD_*, NEW_*, UID */
	SITEMH_EVENT_CONN_FAILED_BACK,	/* the same, back on the socket's own pair */
	SITEMH_EVENT_BINDING_LEARNED,	/* HOME, CAREOF */
	SITEMH_EVENT_BINDING_EXPIRED,	/* HOME, CAREOF */
	SITEMH_EVENT_DOMAIN_LEARNED,	/* PREFIX, PREFIX_LEN, ROUTER, IFINDEX */
	SITEMH_EVENT_DOMAIN_EXPIRED,	/* PREFIX, PREFIX_LEN, ROUTER, IFINDEX */
	__SITEMH_EVENT_MAX,
};

enum sitemh_attr {
	SITEMH_A_UNSPEC,
	SITEMH_A_EVENT,		/* u8: enum sitemh_event_type */
	SITEMH_A_FAMILY,	/* u8: AF_INET or AF_INET6 */
	SITEMH_A_CODE,		/* u8: the notice's ICMP code */
	SITEMH_A_DOMAIN,	/* u8: the domain's index (ip_domain.<n>) */
	SITEMH_A_ROUTER,	/* address: the notice's sender, a learned domain's router */
	SITEMH_A_GATEWAY,	/* address: the notice's gateway field (PE or failed CE) */
	SITEMH_A_IFINDEX,	/* u32 */
	SITEMH_A_PROTO,		/* u8: IPPROTO_TCP or IPPROTO_UDP */
	SITEMH_A_LADDR,		/* address: the socket's own local address */
	SITEMH_A_LPORT,		/* u16, host byte order */
	SITEMH_A_FADDR,		/* address: the socket's own peer address */
	SITEMH_A_FPORT,		/* u16, host byte order */
	SITEMH_A_OLD_SADDR,	/* address: the pair the connection used before */
	SITEMH_A_OLD_DADDR,
	SITEMH_A_NEW_SADDR,	/* address: the pair it uses now */
	SITEMH_A_NEW_DADDR,
	SITEMH_A_UID,		/* u32: the socket's owner, as the namespace's user sees it */
	SITEMH_A_HOME,		/* address: a binding's home address */
	SITEMH_A_CAREOF,	/* address: its care-of address */
	SITEMH_A_PREFIX,	/* address: a learned domain's network */
	SITEMH_A_PREFIX_LEN,	/* u8 */
	__SITEMH_A_MAX,
};
#define SITEMH_A_MAX (__SITEMH_A_MAX - 1)

#endif /* _UAPI_LINUX_SITEMH_H */
