/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sitemh application interface: the calls of draft-shyam-site-multi-38 (sections 2 and
 * 2.1) for programs on a multihomed site. Link with -lsitemh (lib/sitemh.c); the module
 * answers through socket options (see <linux/sitemh.h>).
 *
 * Deviations from the draft, all forced by Linux:
 *  - The calls are library functions over getsockopt(IPPROTO_IP / IPPROTO_IPV6,
 *    SITEMH_SO_PAIRS), not system calls; a module can add neither system calls nor
 *    SOL_SOCKET options.
 *  - getsrcaddr() writes at most SITEMH_MAX_SOURCES addresses and
 *    gethostbynamewithsrcaddr() at most SITEMH_MAX_PAIRS pairs: size the arrays so.
 *  - sendwithsrcaddr()/recvwithdstaddr() use the kernel's IP_PKTINFO / IPV6_PKTINFO
 *    (which already carry a per-datagram source and destination); their care-of address
 *    parameters come from and go to SITEMH_SO_CAREOF (NULL is allowed).
 *  - IPv6 has its own variants (suffix 6) with struct in6_addr / struct addr_pair6.
 * Errors: -1 (or NULL) with errno; gethostbynamewithsrcaddr() sets h_errno instead when
 * the name does not resolve.
 */
#ifndef SITEMH_H
#define SITEMH_H

#include <linux/sitemh.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The draft's struct addr_pair (same layout as struct sitemh_addr_pair). */
struct addr_pair {
	struct in_addr src;
	struct in_addr dst;
};

struct addr_pair6 {
	struct in6_addr src;
	struct in6_addr dst;
};

/*
 * getsrcaddr - the usable source addresses for dst, best first (draft 2.1, 2.3.1).
 * The socket's TOS chooses the ranking (set it first). src must have room for
 * SITEMH_MAX_SOURCES addresses. Returns their number, or -1 with errno (ENETUNREACH: no
 * usable source; ENOPROTOOPT: the sitemh module is not loaded).
 */
int getsrcaddr(int sockfd, struct in_addr *dst, struct in_addr *src);
int getsrcaddr6(int sockfd, struct in6_addr *dst, struct in6_addr *src);

/*
 * gethostbynamewithsrcaddr - resolve name (system resolver: /etc/hosts, DNS) and rank
 * every (source, destination) pair, best first, into dst (room for SITEMH_MAX_PAIRS);
 * *ndst gets their number. Returns a hostent in thread-local storage, valid until the
 * thread's next call, or NULL: errno 0 and h_errno set if the name did not resolve,
 * else errno (as getsrcaddr).
 */
struct hostent *gethostbynamewithsrcaddr(int sockfd, const char *name, int *ndst,
					 struct addr_pair *dst);
struct hostent *gethostbynamewithsrcaddr6(int sockfd, const char *name, int *ndst,
					  struct addr_pair6 *dst);

/*
 * recvwithdstaddr - recvfrom() that also reports the local address the datagram was sent
 * to (dst). fromcladdr/dstcladdr, when given, receive the care-of addresses of from and
 * dst if they are home addresses (the peer's binding, this host's care-of address while
 * away); their length is set to 0 when there is none. Works on UDP and raw sockets of
 * both families.
 */
ssize_t recvwithdstaddr(int sockfd, char *buf, size_t nbytes, int flags,
			struct sockaddr *from, socklen_t *fromlen,
			struct sockaddr *fromcladdr, socklen_t *fromcladdrlen,
			struct sockaddr *dst, socklen_t *dstlen,
			struct sockaddr *dstcladdr, socklen_t *dstcladdrlen);

/*
 * sendwithsrcaddr - sendto() from the local address src (as sendto() when src is NULL).
 * dstcladdr, if given, binds the home address to to that care-of address for the
 * namespace (SITEMH_SO_CAREOF: CAP_NET_ADMIN, else EPERM; the unspecified address forgets
 * the binding); srccladdr, if given, must be this host's care-of address in force for its
 * home address src (else EINVAL); each of
 * the same family as the address it goes with (else EINVAL).
 */
ssize_t sendwithsrcaddr(int sockfd, char *buf, size_t nbytes, int flags,
			struct sockaddr *to, socklen_t tolen,
			struct sockaddr *dstcladdr, socklen_t dstcladdrlen,
			struct sockaddr *src, socklen_t srclen,
			struct sockaddr *srccladdr, socklen_t srccladdrlen);

/*
 * sitemh_rank_pairs - the raw call: family AF_INET (dsts: struct in_addr[ndst], answer:
 * struct sitemh_pairs) or AF_INET6 (struct in6_addr[], struct sitemh_pairs6); answer_len
 * includes the room for the ranked pairs. Returns the answer length or -1 with errno.
 */
int sitemh_rank_pairs(int sockfd, int family, const void *dsts, int ndst, void *answer,
		      socklen_t answer_len);

/* OpenSSL's SSL (declared here so that this header needs no OpenSSL headers). */
struct ssl_st;

/*
 * sitemh_protect_ssl - protects the connection of an OpenSSL session against the failure
 * of a provider link, in one call after the handshake: hands the session's security
 * parameters to the module (SITEMH_SO_SEQPARAM: TLS 1.3 exports the keying material,
 * TLS 1.2 and DTLS 1.2 give the master secret and randoms) at the socket's family's
 * level, and leaves the routes to the module, which exchanges both ends' addresses with
 * the peer (see SITEMH_SO_SEQPARAM in <linux/sitemh.h>). Both ends call it. The session
 * must use a socket (SSL_set_fd, or a socket or datagram BIO). Returns 0, or a negative
 * errno (also left in errno): EINVAL (no session), EAGAIN (handshake not finished),
 * EBADF (no socket), EAFNOSUPPORT, EPROTONOSUPPORT (another protocol version), EIO
 * (OpenSSL refused the parameters), or the module's error (ENOPROTOOPT: not loaded).
 * Never aborts. In libsitemh; programs that call it link OpenSSL (-lssl -lcrypto).
 */
int sitemh_protect_ssl(struct ssl_st *ssl);

#ifdef __cplusplus
}
#endif

#endif /* SITEMH_H */
