// SPDX-License-Identifier: LGPL-2.1-or-later
/* The draft's calls over the sitemh module's socket options; see include/sitemh.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "sitemh.h"

int sitemh_rank_pairs(int sockfd, int family, const void *dsts, int ndst, void *answer,
		      socklen_t answer_len)
{
	socklen_t len = answer_len;
	int level;

	if (ndst < 1 || ndst > SITEMH_MAX_DESTS || !dsts || !answer) {
		errno = EINVAL;
		return -1;
	}
	if (family == AF_INET) {
		struct sitemh_pairs *req = answer;

		if (answer_len < sizeof(*req)) {
			errno = EINVAL;
			return -1;
		}
		memset(req, 0, sizeof(*req));
		memcpy(req->dst, dsts, ndst * sizeof(struct in_addr));
		req->ndst = ndst;
		level = IPPROTO_IP;
	} else if (family == AF_INET6) {
		struct sitemh_pairs6 *req = answer;

		if (answer_len < sizeof(*req)) {
			errno = EINVAL;
			return -1;
		}
		memset(req, 0, sizeof(*req));
		memcpy(req->dst, dsts, ndst * sizeof(struct in6_addr));
		req->ndst = ndst;
		level = IPPROTO_IPV6;
	} else {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (getsockopt(sockfd, level, SITEMH_SO_PAIRS, answer, &len) < 0)
		return -1;
	return (int)len;
}

/* One answer buffer per thread: the biggest answer (IPv6, every pair). */
static __thread union {
	struct sitemh_pairs v4;
	struct sitemh_pairs6 v6;
	char room[sizeof(struct sitemh_pairs6) +
		  SITEMH_MAX_PAIRS * sizeof(struct sitemh_ranked_pair6)];
} answer;

int getsrcaddr(int sockfd, struct in_addr *dst, struct in_addr *src)
{
	struct sitemh_srcaddrs req;
	socklen_t len = sizeof(req);
	unsigned int i;

	if (!dst || !src) {
		errno = EFAULT;
		return -1;
	}
	req.dst = *dst;
	if (getsockopt(sockfd, IPPROTO_IP, SITEMH_SO_SRCADDRS, &req, &len) < 0)
		return -1;
	for (i = 0; i < req.nsrc && i < SITEMH_MAX_SOURCES; i++)
		src[i] = req.src[i];
	return (int)i;
}

int getsrcaddr6(int sockfd, struct in6_addr *dst, struct in6_addr *src)
{
	struct sitemh_srcaddrs6 req;
	socklen_t len = sizeof(req);
	unsigned int i;

	if (!dst || !src) {
		errno = EFAULT;
		return -1;
	}
	req.dst = *dst;
	if (getsockopt(sockfd, IPPROTO_IPV6, SITEMH_SO_SRCADDRS, &req, &len) < 0)
		return -1;
	for (i = 0; i < req.nsrc && i < SITEMH_MAX_SOURCES; i++)
		src[i] = req.src[i];
	return (int)i;
}

/* What gethostbynamewithsrcaddr{,6} returns: the resolved name and addresses. */
static __thread struct {
	struct hostent host;
	char name[NI_MAXHOST];
	char *aliases[1];
	char *addr_list[SITEMH_MAX_DESTS + 1];
	struct in6_addr addrs[SITEMH_MAX_DESTS];
} resolved;

/* Resolves name into resolved (at most SITEMH_MAX_DESTS distinct addresses). */
static int resolve(const char *name, int family)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_CANONNAME };
	struct addrinfo *res, *ai;
	size_t len = family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr);
	int n = 0, i, err;

	err = getaddrinfo(name, NULL, &hints, &res);
	if (err) {
		h_errno = err == EAI_AGAIN ? TRY_AGAIN : HOST_NOT_FOUND;
		errno = 0;
		return -1;
	}
	for (ai = res; ai && n < SITEMH_MAX_DESTS; ai = ai->ai_next) {
		const void *addr = family == AF_INET ?
			(const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
			(const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		for (i = 0; i < n; i++)
			if (!memcmp(&resolved.addrs[i], addr, len))
				break;
		if (i == n)
			memcpy(&resolved.addrs[n++], addr, len);
	}
	memset(resolved.name, 0, sizeof(resolved.name));
	strncpy(resolved.name, res->ai_canonname ? res->ai_canonname : name,
		sizeof(resolved.name) - 1);
	freeaddrinfo(res);
	for (i = 0; i < n; i++)
		resolved.addr_list[i] = (char *)&resolved.addrs[i];
	resolved.addr_list[n] = NULL;
	resolved.aliases[0] = NULL;
	resolved.host.h_name = resolved.name;
	resolved.host.h_aliases = resolved.aliases;
	resolved.host.h_addrtype = family;
	resolved.host.h_length = (int)len;
	resolved.host.h_addr_list = resolved.addr_list;
	return n;
}

struct hostent *gethostbynamewithsrcaddr(int sockfd, const char *name, int *ndst,
					 struct addr_pair *dst)
{
	struct in_addr dsts[SITEMH_MAX_DESTS];
	int i, n;

	if (!name || !ndst || !dst) {
		errno = EFAULT;
		return NULL;
	}
	n = resolve(name, AF_INET);
	if (n < 0)
		return NULL;
	for (i = 0; i < n; i++)
		memcpy(&dsts[i], &resolved.addrs[i], sizeof(dsts[i]));
	if (sitemh_rank_pairs(sockfd, AF_INET, dsts, n, &answer, sizeof(answer)) < 0)
		return NULL;
	for (i = 0; i < (int)answer.v4.npairs; i++) {
		dst[i].src = answer.v4.pair[i].pair.src;
		dst[i].dst = answer.v4.pair[i].pair.dst;
	}
	*ndst = (int)answer.v4.npairs;
	return &resolved.host;
}

struct hostent *gethostbynamewithsrcaddr6(int sockfd, const char *name, int *ndst,
					  struct addr_pair6 *dst)
{
	int i, n;

	if (!name || !ndst || !dst) {
		errno = EFAULT;
		return NULL;
	}
	n = resolve(name, AF_INET6);
	if (n < 0)
		return NULL;
	if (sitemh_rank_pairs(sockfd, AF_INET6, resolved.addrs, n, &answer, sizeof(answer)) < 0)
		return NULL;
	for (i = 0; i < (int)answer.v6.npairs; i++) {
		dst[i].src = answer.v6.pair[i].pair.src;
		dst[i].dst = answer.v6.pair[i].pair.dst;
	}
	*ndst = (int)answer.v6.npairs;
	return &resolved.host;
}

/* Stores a local address (from IP_PKTINFO / IPV6_PKTINFO) as a sockaddr. */
static void put_addr(struct sockaddr *sa, socklen_t *salen, int family, const void *addr,
		     in_port_t port)
{
	struct sockaddr_storage ss = { .ss_family = family };
	socklen_t len;

	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		memcpy(&sin->sin_addr, addr, 4);
		sin->sin_port = port;
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		memcpy(&sin6->sin6_addr, addr, 16);
		sin6->sin6_port = port;
		len = sizeof(*sin6);
	}
	memcpy(sa, &ss, len < *salen ? len : *salen);
	*salen = len;
}

/* The care-of address of the home address sa (this host's or a bound peer's), into
 * cl/cllen (length 0 if there is none). */
static void put_careof(int sockfd, const struct sockaddr *sa, struct sockaddr *cl,
		       socklen_t *cllen)
{
	struct sitemh_careof req = { 0 };
	struct sitemh_careof6 req6 = { 0 };
	socklen_t len = sizeof(req), len6 = sizeof(req6);

	if (!cllen)
		return;
	if (cl && sa && sa->sa_family == AF_INET) {
		req.home = ((const struct sockaddr_in *)sa)->sin_addr;
		if (getsockopt(sockfd, IPPROTO_IP, SITEMH_SO_CAREOF, &req, &len) == 0 &&
		    req.careof.s_addr) {
			put_addr(cl, cllen, AF_INET, &req.careof, 0);
			return;
		}
	} else if (cl && sa && sa->sa_family == AF_INET6) {
		req6.home = ((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (getsockopt(sockfd, IPPROTO_IPV6, SITEMH_SO_CAREOF, &req6, &len6) == 0 &&
		    !IN6_IS_ADDR_UNSPECIFIED(&req6.careof)) {
			put_addr(cl, cllen, AF_INET6, &req6.careof, 0);
			return;
		}
	}
	*cllen = 0;
}

/* SITEMH_SO_CAREOF set for home address home and care-of address cl (same family). */
static int set_careof(int sockfd, const struct sockaddr *home, const struct sockaddr *cl)
{
	if (!home || !cl || home->sa_family != cl->sa_family) {
		errno = EINVAL;
		return -1;
	}
	if (home->sa_family == AF_INET) {
		struct sitemh_careof req = {
			.home = ((const struct sockaddr_in *)home)->sin_addr,
			.careof = ((const struct sockaddr_in *)cl)->sin_addr,
		};

		return setsockopt(sockfd, IPPROTO_IP, SITEMH_SO_CAREOF, &req, sizeof(req));
	}
	if (home->sa_family == AF_INET6) {
		struct sitemh_careof6 req = {
			.home = ((const struct sockaddr_in6 *)home)->sin6_addr,
			.careof = ((const struct sockaddr_in6 *)cl)->sin6_addr,
		};

		return setsockopt(sockfd, IPPROTO_IPV6, SITEMH_SO_CAREOF, &req, sizeof(req));
	}
	errno = EAFNOSUPPORT;
	return -1;
}

ssize_t recvwithdstaddr(int sockfd, char *buf, size_t nbytes, int flags,
			struct sockaddr *from, socklen_t *fromlen,
			struct sockaddr *fromcladdr, socklen_t *fromcladdrlen,
			struct sockaddr *dst, socklen_t *dstlen,
			struct sockaddr *dstcladdr, socklen_t *dstcladdrlen)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			 CMSG_SPACE(sizeof(struct in_pktinfo))];
	} control;
	struct sockaddr_storage local;
	socklen_t local_len = sizeof(local);
	struct iovec iov = { .iov_base = buf, .iov_len = nbytes };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.buf, .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cmsg;
	int on = 1, found = 0;
	ssize_t n;

	if ((from && !fromlen) || (dst && !dstlen)) {
		errno = EFAULT;
		return -1;
	}
	if (getsockname(sockfd, (struct sockaddr *)&local, &local_len) < 0)
		return -1;
	/* Ask for the datagram's destination; both for a dual-stack IPv6 socket. */
	if (local.ss_family == AF_INET6)
		setsockopt(sockfd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
	if (setsockopt(sockfd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0 &&
	    local.ss_family == AF_INET)
		return -1;
	msg.msg_name = from;
	msg.msg_namelen = from ? *fromlen : 0;
	n = recvmsg(sockfd, &msg, flags);
	if (n < 0)
		return n;
	if (from)
		*fromlen = msg.msg_namelen;
	put_careof(sockfd, from, fromcladdr, fromcladdrlen);
	if (!dst) {
		if (dstcladdrlen)
			*dstcladdrlen = 0;
		return n;
	}
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg && !found; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		in_port_t port = local.ss_family == AF_INET ?
			((struct sockaddr_in *)&local)->sin_port :
			((struct sockaddr_in6 *)&local)->sin6_port;

		if (cmsg->cmsg_level == IPPROTO_IP && cmsg->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo info;

			memcpy(&info, CMSG_DATA(cmsg), sizeof(info));
			put_addr(dst, dstlen, AF_INET, &info.ipi_addr, port);
			found = 1;
		} else if (cmsg->cmsg_level == IPPROTO_IPV6 && cmsg->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo info;

			memcpy(&info, CMSG_DATA(cmsg), sizeof(info));
			put_addr(dst, dstlen, AF_INET6, &info.ipi6_addr, port);
			found = 1;
		}
	}
	if (!found) {
		/* A connected or bound socket: its own address is the destination. */
		memcpy(dst, &local, local_len < *dstlen ? local_len : *dstlen);
		*dstlen = local_len;
	}
	put_careof(sockfd, dst, dstcladdr, dstcladdrlen);
	return n;
}

ssize_t sendwithsrcaddr(int sockfd, char *buf, size_t nbytes, int flags,
			struct sockaddr *to, socklen_t tolen,
			struct sockaddr *dstcladdr, socklen_t dstcladdrlen,
			struct sockaddr *src, socklen_t srclen,
			struct sockaddr *srccladdr, socklen_t srccladdrlen)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = nbytes };
	struct msghdr msg = { .msg_name = to, .msg_namelen = tolen,
			      .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	/* Care-of addresses: the destination's is bound for the namespace (CAP_NET_ADMIN);
	 * the source's must be the one configured. */
	if (dstcladdr && dstcladdrlen && set_careof(sockfd, to, dstcladdr) < 0)
		return -1;
	if (srccladdr && srccladdrlen && set_careof(sockfd, src, srccladdr) < 0)
		return -1;
	if (!src)
		return sendto(sockfd, buf, nbytes, flags, to, tolen);
	memset(&control, 0, sizeof(control));
	msg.msg_control = control.buf;
	cmsg = (struct cmsghdr *)control.buf;
	if (src->sa_family == AF_INET && srclen >= sizeof(struct sockaddr_in)) {
		struct in_pktinfo info = { 0 };

		info.ipi_spec_dst = ((struct sockaddr_in *)src)->sin_addr;
		cmsg->cmsg_level = IPPROTO_IP;
		cmsg->cmsg_type = IP_PKTINFO;
		cmsg->cmsg_len = CMSG_LEN(sizeof(info));
		memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
		msg.msg_controllen = CMSG_SPACE(sizeof(info));
	} else if (src->sa_family == AF_INET6 && srclen >= sizeof(struct sockaddr_in6)) {
		struct in6_pktinfo info = { 0 };

		info.ipi6_addr = ((struct sockaddr_in6 *)src)->sin6_addr;
		cmsg->cmsg_level = IPPROTO_IPV6;
		cmsg->cmsg_type = IPV6_PKTINFO;
		cmsg->cmsg_len = CMSG_LEN(sizeof(info));
		memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
		msg.msg_controllen = CMSG_SPACE(sizeof(info));
	} else {
		errno = EINVAL;
		return -1;
	}
	return sendmsg(sockfd, &msg, flags);
}
