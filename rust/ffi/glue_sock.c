// SPDX-License-Identifier: GPL-2.0
/*
 * See glue_sock.h. Why C: walks of the TCP and UDP socket hash tables under RCU
 * (SLAB_TYPESAFE_BY_RCU sockets, nulls lists) with the kernel's match helpers, and
 * memzero_explicit(). Whether a socket found owns the tuple (another connection, another
 * user's listener) is judged here, on the socket read under RCU without a reference.
 */
#include <linux/cgroup.h>
#include <linux/random.h>
#include <linux/string.h>
#include <net/inet6_hashtables.h>
#include <net/inet_hashtables.h>
#include <net/ipv6.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tls.h>
#include <net/udp.h>

#include "glue_sock.h"

/*
 * Whether an established, time-wait or half-open TCP socket has the tuple. The walk of
 * __inet_lookup_established() without its reference: taking one here would make the
 * caller drop it, and the last reference of a socket must not go with interrupts off.
 * TCP sockets are SLAB_TYPESAFE_BY_RCU, so a matching entry may be a socket reused for
 * another connection since the walk began; it matched the tuple when it was read, which
 * is the answer wanted (somebody owns it). The nulls value restarts a walk that strayed
 * into another chain.
 */
static bool tcp_established4(const struct net *net, __be32 laddr, u16 hnum, __be32 raddr,
			     __be16 rport, int dif, const struct sock *self)
{
	const __portpair ports = INET_COMBINED_PORTS(rport, hnum);
	INET_ADDR_COOKIE(acookie, raddr, laddr);
	struct inet_hashinfo *hashinfo = net->ipv4.tcp_death_row.hashinfo;
	const struct hlist_nulls_node *node;
	struct inet_ehash_bucket *head;
	unsigned int hash, slot;
	struct sock *sk;

	hash = inet_ehashfn(net, laddr, hnum, raddr, rport);
	slot = hash & hashinfo->ehash_mask;
	head = &hashinfo->ehash[slot];
begin:
	sk_nulls_for_each_rcu(sk, node, &head->chain) {
		if (sk->sk_hash != hash || !inet_match(net, sk, acookie, ports, dif, 0))
			continue;
		if (sk != self)
			return true;
	}
	if (get_nulls_value(node) != slot)
		goto begin;
	return false;
}

/* Whether @sk, a listener or an unconnected UDP socket, belongs to another user. */
static bool other_user(const struct sock *sk, const struct sock *self)
{
	return sk != self && !uid_eq(sk_uid(sk), sk_uid(self));
}

/* Whether @sk, the UDP socket the tuple's packets would reach, takes it from @self. */
static bool udp_taken(const struct sock *sk, const struct sock *self)
{
	if (!sk || sk == self)
		return false;
	/* A connected UDP socket is TCP_ESTABLISHED. */
	return READ_ONCE(sk->sk_state) == TCP_ESTABLISHED || other_user(sk, self);
}

bool sitemh_tuple_taken4(struct net *net, u8 proto, __be32 laddr, __be16 lport,
			 __be32 raddr, __be16 rport, int dif, const struct sock *self)
{
	bool taken = false;
	struct sock *sk;

	rcu_read_lock();
	if (proto == IPPROTO_TCP) {
		taken = tcp_established4(net, laddr, ntohs(lport), raddr, rport, dif, self);
		if (!taken) {
			/* Listeners are freed after a grace period: no reference needed. */
			sk = __inet_lookup_listener(net, NULL, 0, raddr, rport, laddr,
						    ntohs(lport), dif, 0);
			taken = sk && other_user(sk, self);
		}
	} else if (proto == IPPROTO_UDP) {
		/* No reference taken: UDP sockets are freed after a grace period. */
		sk = __udp4_lib_lookup(net, raddr, rport, laddr, lport, dif, 0, NULL);
		taken = udp_taken(sk, self);
	}
	rcu_read_unlock();
	return taken;
}

#if IS_ENABLED(CONFIG_IPV6)
/* tcp_established4() for IPv6 (the walk of __inet6_lookup_established()). */
static bool tcp_established6(const struct net *net, const struct in6_addr *laddr, u16 hnum,
			     const struct in6_addr *raddr, __be16 rport, int dif,
			     const struct sock *self)
{
	const __portpair ports = INET_COMBINED_PORTS(rport, hnum);
	struct inet_hashinfo *hashinfo = net->ipv4.tcp_death_row.hashinfo;
	const struct hlist_nulls_node *node;
	struct inet_ehash_bucket *head;
	unsigned int hash, slot;
	struct sock *sk;

	hash = inet6_ehashfn(net, laddr, hnum, raddr, rport);
	slot = hash & hashinfo->ehash_mask;
	head = &hashinfo->ehash[slot];
begin:
	sk_nulls_for_each_rcu(sk, node, &head->chain) {
		if (sk->sk_hash != hash || !inet6_match(net, sk, raddr, laddr, ports, dif, 0))
			continue;
		if (sk != self)
			return true;
	}
	if (get_nulls_value(node) != slot)
		goto begin;
	return false;
}
#endif

bool sitemh_tuple_taken6(struct net *net, u8 proto, const u8 *laddr, __be16 lport,
			 const u8 *raddr, __be16 rport, int dif, const struct sock *self)
{
#if IS_ENABLED(CONFIG_IPV6)
	struct in6_addr local, remote;
	bool taken = false;
	struct sock *sk;

	memcpy(&local, laddr, sizeof(local));
	memcpy(&remote, raddr, sizeof(remote));
	rcu_read_lock();
	if (proto == IPPROTO_TCP) {
		taken = tcp_established6(net, &local, ntohs(lport), &remote, rport, dif, self);
		if (!taken) {
			sk = inet6_lookup_listener(net, NULL, 0, &remote, rport, &local,
						   ntohs(lport), dif, 0);
			taken = sk && other_user(sk, self);
		}
	} else if (proto == IPPROTO_UDP) {
		sk = __udp6_lib_lookup(net, &remote, rport, &local, lport, dif, 0, NULL);
		taken = udp_taken(sk, self);
	}
	rcu_read_unlock();
	return taken;
#else
	return false;
#endif
}

u32 sitemh_sock_uid(const struct sock *sk)
{
	return __kuid_val(sk_uid(sk));
}

void sitemh_memzero_explicit(void *buf, size_t len)
{
	memzero_explicit(buf, len);
}

/*
 * Opportunistic protection (rust/switchover/agree.rs): the sockets behind a SYN leaving
 * the host and behind an offer, and the peer's initial sequence number. Why C: the
 * socket behind an skb, the established-table look-up with its reference, and the fields
 * of struct tcp_sock.
 */
struct sock *sitemh_skb_tcp_sock(const struct sk_buff *skb)
{
	struct sock *sk = skb->sk;

	if (!sk || !sk_fullsock(sk) || sk->sk_protocol != IPPROTO_TCP)
		return NULL;
	return sk;
}

/* A full socket in ESTABLISHED, or NULL with the reference dropped. */
static struct sock *established_or_put(struct sock *sk)
{
	if (!sk)
		return NULL;
	if (sk_fullsock(sk) && READ_ONCE(sk->sk_state) == TCP_ESTABLISHED)
		return sk;
	sock_gen_put(sk);
	return NULL;
}

struct sock *sitemh_tcp_established_sock4(struct net *net, __be32 laddr, __be16 lport,
					  __be32 raddr, __be16 rport)
{
	struct sock *sk;

	rcu_read_lock();
	sk = __inet_lookup_established(net, raddr, rport, laddr, ntohs(lport), 0, 0);
	rcu_read_unlock();
	return established_or_put(sk);
}

#if IS_ENABLED(CONFIG_IPV6)
struct sock *sitemh_tcp_established_sock6(struct net *net, const u8 *laddr, __be16 lport,
					  const u8 *raddr, __be16 rport)
{
	struct sock *sk;

	rcu_read_lock();
	sk = __inet6_lookup_established(net, (const struct in6_addr *)raddr, rport,
					(const struct in6_addr *)laddr, ntohs(lport), 0, 0);
	rcu_read_unlock();
	return established_or_put(sk);
}
#else
struct sock *sitemh_tcp_established_sock6(struct net *net, const u8 *laddr, __be16 lport,
					  const u8 *raddr, __be16 rport)
{
	return NULL;
}
#endif

int sitemh_tcp_phase(const struct sock *sk)
{
	switch (READ_ONCE(sk->sk_state)) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:
		return 1;
	case TCP_ESTABLISHED:
		return 2;
	default:
		return 0;
	}
}

u32 sitemh_tcp_peer_isn(const struct sock *sk)
{
	const struct tcp_sock *tp;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	tp = tcp_sk(sk);
	/* rcv_nxt starts at the ISN + 1 (the SYN), and each octet received since is
	 * counted in bytes_received (tcp_rcv_nxt_update()). */
	return READ_ONCE(tp->rcv_nxt) - (u32)READ_ONCE(tp->bytes_received) - 1;
}

void sitemh_random_bytes(u8 *buf, size_t len)
{
	get_random_bytes(buf, len);
}

/* --- Kernel TLS keys ---------------------------------------------------------------- */

bool sitemh_sock_has_tls_ulp(const struct sock *sk)
{
#if IS_ENABLED(CONFIG_TLS)
	const struct tcp_ulp_ops *ulp;

	if (sk->sk_protocol != IPPROTO_TCP || !sk_fullsock(sk))
		return false;
	ulp = READ_ONCE(inet_csk(sk)->icsk_ulp_ops);
	/* The operations are the ULP module's static data, pinned while a socket uses them. */
	return ulp && !strcmp(ulp->name, "tls");
#else
	return false;
#endif
}

#if IS_ENABLED(CONFIG_TLS)
/* Key, salt and IV of one direction's crypto state into @out; their length, or an errno. */
static int ktls_material(const union tls_crypto_context *c, u8 *out, unsigned int max)
{
	const u8 *key, *salt, *iv;
	unsigned int key_len, salt_len, iv_len;

/* The three parts of the crypto info of member @m of the union. */
#define KTLS_PARTS(m)                                                              \
	do {                                                                        \
		key = c->m.key, key_len = sizeof(c->m.key);                           \
		salt = c->m.salt, salt_len = sizeof(c->m.salt);                       \
		iv = c->m.iv, iv_len = sizeof(c->m.iv);                               \
	} while (0)
	switch (c->info.cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		KTLS_PARTS(aes_gcm_128);
		break;
	case TLS_CIPHER_AES_GCM_256:
		KTLS_PARTS(aes_gcm_256);
		break;
	case TLS_CIPHER_CHACHA20_POLY1305:
		KTLS_PARTS(chacha20_poly1305);
		break;
	default:
		return -EOPNOTSUPP;
	}
#undef KTLS_PARTS
	if (key_len + salt_len + iv_len > max)
		return -EOPNOTSUPP;
	memcpy(out, key, key_len);
	memcpy(out + key_len, salt, salt_len);
	memcpy(out + key_len + salt_len, iv, iv_len);
	return key_len + salt_len + iv_len;
}
#endif

int sitemh_ktls_secrets(struct sock *sk, u8 *tx, u8 *rx, unsigned int max)
{
#if IS_ENABLED(CONFIG_TLS)
	struct tls_context *ctx;
	int tx_len, rx_len, ret;

	if (!sitemh_sock_has_tls_ulp(sk))
		return -ENOENT;
	/* The ULP's context and its crypto state change only under the socket's lock. */
	lock_sock(sk);
	ctx = tls_get_ctx(sk);
	if (!ctx || ctx->tx_conf == TLS_BASE || ctx->rx_conf == TLS_BASE) {
		ret = -ENOENT;
		goto out;
	}
	tx_len = ktls_material(&ctx->crypto_send, tx, max);
	rx_len = ktls_material(&ctx->crypto_recv, rx, max);
	if (tx_len < 0)
		ret = tx_len;
	else if (rx_len < 0)
		ret = rx_len;
	else
		ret = tx_len == rx_len ? tx_len : -EOPNOTSUPP;
out:
	release_sock(sk);
	if (ret < 0) {
		memzero_explicit(tx, max);
		memzero_explicit(rx, max);
	}
	return ret;
#else
	return -ENOENT;
#endif
}

int sitemh_cgroup_get(const char *path, struct cgroup **out)
{
#ifdef CONFIG_SOCK_CGROUP_DATA
	struct cgroup *cgrp = cgroup_get_from_path(path);

	if (IS_ERR(cgrp))
		return PTR_ERR(cgrp);
	*out = cgrp;
	return 0;
#else
	return -EOPNOTSUPP;
#endif
}

void sitemh_cgroup_put(struct cgroup *cgrp)
{
#ifdef CONFIG_SOCK_CGROUP_DATA
	cgroup_put(cgrp);
#endif
}

bool sitemh_sock_in_cgroup(struct sock *sk, struct cgroup *cgrp)
{
#ifdef CONFIG_SOCK_CGROUP_DATA
	/* Request and time-wait sockets have no cgroup data. */
	return sk_fullsock(sk) &&
	       cgroup_is_descendant(sock_cgroup_ptr(&sk->sk_cgrp_data), cgrp);
#else
	return false;
#endif
}
