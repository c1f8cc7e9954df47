/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who owns an on-wire tuple: the check that keeps a tracked connection from being moved or translated onto another socket's traffic
 * (rust/switchover/). Every function here holds no reference when it returns and may be
 * called in any context, interrupts off included (it only reads RCU-protected tables).
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

/* Zeroes @len octets at @buf in a way the compiler cannot leave out (key material). */
void sitemh_memzero_explicit(void *buf, size_t len);

#endif /* SITEMH_GLUE_SOCK_H */
