/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who owns an on-wire tuple: the check that keeps a tracked connection from being moved or translated onto another socket's traffic
 * (rust/switchover/). The ownership checks hold no reference when they return and may be
 * called in any context, interrupts off included (they only read RCU-protected tables);
 * the functions of opportunistic protection say what they take.
 */
#ifndef SITEMH_GLUE_SOCK_H
#define SITEMH_GLUE_SOCK_H

#include <linux/types.h>

struct net;
struct sock;

/*
 * Whether a socket other than @self would receive the packets of the tuple: @proto
 * (IPPROTO_TCP, IPPROTO_UDP) from @raddr:@rport to @laddr:@lport (network byte order),
 * arriving on interface @dif (0: any). Taken means: an established (or time-wait, or
 * half-open) TCP socket or a connected UDP socket with exactly that tuple; or a TCP
 * listener or an unconnected UDP socket bound to @laddr (or the wildcard) and @lport
 * whose owner is another user than @self's. A listener or unconnected socket of the same
 * user leaves the tuple free: a server's own listener stands behind every connection it
 * accepted, and only that user's new connections could be affected.
 */
bool sitemh_tuple_taken4(struct net *net, u8 proto, __be32 laddr, __be16 lport,
			 __be32 raddr, __be16 rport, int dif, const struct sock *self);
/* The same for IPv6; the addresses are 16 octets each. */
bool sitemh_tuple_taken6(struct net *net, u8 proto, const u8 *laddr, __be16 lport,
			 const u8 *raddr, __be16 rport, int dif, const struct sock *self);

/* The kernel uid that owns @sk (for per-user quotas). */
u32 sitemh_sock_uid(const struct sock *sk);

/*
 * Opportunistic protection. sitemh_skb_tcp_sock(): the full TCP socket that sends @skb
 * (LOCAL_OUT), no reference taken (the packet holds it for the hook); NULL otherwise.
 * sitemh_tcp_established_sock{4,6}(): the ESTABLISHED TCP socket of the tuple (@laddr:
 * @lport local, @raddr:@rport the peer, network byte order), with a reference
 * (sitemh_sock_put), or NULL; process context. sitemh_tcp_phase(): 1 while connecting
 * (SYN_SENT, SYN_RECV), 2 once ESTABLISHED, 0 otherwise.
 * sitemh_tcp_peer_isn(): the initial sequence number of a TCP socket's peer (valid
 * until the peer's FIN). sitemh_random_bytes(): @len random octets.
 */
struct sk_buff;
struct sock *sitemh_skb_tcp_sock(const struct sk_buff *skb);
struct sock *sitemh_tcp_established_sock4(struct net *net, __be32 laddr, __be16 lport,
					  __be32 raddr, __be16 rport);
struct sock *sitemh_tcp_established_sock6(struct net *net, const u8 *laddr, __be16 lport,
					  const u8 *raddr, __be16 rport);
int sitemh_tcp_phase(const struct sock *sk);
u32 sitemh_tcp_peer_isn(const struct sock *sk);
void sitemh_random_bytes(u8 *buf, size_t len);

/*
 * Kernel TLS keys used on demand (issue 19, `sitemh_lf.ktls`). sitemh_sock_has_tls_ulp():
 * whether @sk (a full TCP socket) has the "tls" upper-layer protocol; a hint read without
 * the socket's lock, for the packet path. sitemh_ktls_secrets(): copies the key, salt and
 * IV of the socket's kTLS transmit state to @tx and of its receive state to @rx (@max
 * octets each at most) and returns how many octets each holds; -ENOENT when the socket
 * does not use kTLS in both directions, -EOPNOTSUPP when its cipher is not one the
 * module derives from (AES-GCM-128, AES-GCM-256, ChaCha20-Poly1305). Takes the socket's
 * lock: process context. Without CONFIG_TLS: false and -ENOENT.
 */
bool sitemh_sock_has_tls_ulp(const struct sock *sk);
int sitemh_ktls_secrets(struct sock *sk, u8 *tx, u8 *rx, unsigned int max);

/*
 * Opportunistic protection limited to a cgroup (`sitemh_lf.auto_cgroup`).
 * sitemh_cgroup_get(): a reference on the cgroup at @path (NUL-terminated) of the
 * default hierarchy, in the calling task's cgroup namespace, into @out; -ENOENT or
 * -ENOTDIR as cgroup_get_from_path() says, -EOPNOTSUPP on a kernel whose sockets do not
 * remember their cgroup (no CONFIG_SOCK_CGROUP_DATA). Process context.
 * sitemh_cgroup_put(): drops that reference; any context. sitemh_sock_in_cgroup():
 * whether @sk was created in @cgrp or one of its descendants (an accepted socket: where its
 * listener was); any context, @sk and @cgrp held.
 */
struct cgroup;
int sitemh_cgroup_get(const char *path, struct cgroup **out);
void sitemh_cgroup_put(struct cgroup *cgrp);
bool sitemh_sock_in_cgroup(struct sock *sk, struct cgroup *cgrp);

/* Zeroes @len octets at @buf in a way the compiler cannot leave out (key material). */
void sitemh_memzero_explicit(void *buf, size_t len);

#endif /* SITEMH_GLUE_SOCK_H */
