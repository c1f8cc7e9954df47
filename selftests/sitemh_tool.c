// SPDX-License-Identifier: GPL-2.0
/*
 * Test and demo tool for the sitemh application interface (include/sitemh.h).
 *
 *   sitemh_tool srcaddr [-6] [-t TOS] DST        getsrcaddr: one source per line
 *   sitemh_tool pairs [-6] [-t TOS] NAME         gethostbynamewithsrcaddr: ranked pairs
 *   sitemh_tool rank [-6] [-t TOS] NAME          the same with what the ranking weighed
 *   sitemh_tool udp-server [-6] PORT draft|plain echo server: replies with
 *                                                sendwithsrcaddr to recvwithdstaddr's dst
 *                                                (draft) or sendto to recvfrom's (plain)
 *   sitemh_tool udp-client [-6] SRC DST PORT     sends one datagram from SRC, prints the
 *                                                source address of the reply
 *   sitemh_tool udp-server PORT careof           as draft, printing per datagram
 *                                                "from F fromcl C dst D dstcl E" (care-of
 *                                                addresses, - for none) and answering
 *                                                with dstcladdr as srccladdr
 *   sitemh_tool careof [-6] ADDR                 SITEMH_SO_CAREOF: the care-of address of
 *                                                the home address ADDR (- for none)
 *   sitemh_tool bind-careof HOME CAREOF          sendwithsrcaddr with dstcladdr CAREOF to
 *                                                HOME (discard port): binds them; prints
 *                                                "ok" or the errno's name
 *   sitemh_tool bad-input                        every malformed call gets its errno
 *   sitemh_tool bad-switchover ADDR              malformed SO_LFROUTES / SO_SEQPARAM /
 *                                                SO_LFSTAT calls on a connection from ADDR
 *                                                (a local address) to itself
 *   sitemh_tool bench [-6] DST N                 ns per getsrcaddr call and per connect()
 *                                                of a UDP socket (the kernel's own source
 *                                                selection), N calls each
 *   sitemh_tool serve ADDR PORT                  TCP echo of one octet per connection:
 *                                                accepts, reads one, writes it back,
 *                                                closes; until killed
 *   sitemh_tool connects SRC DST PORT N          N TCP connections from SRC to serve at
 *                                                DST: connect, one octet there and back,
 *                                                close; prints "connections N ns_per T"
 *                                                (CLOCK_MONOTONIC: guest time under icount)
 *   sitemh_tool churn ADDR N                     N TCP connections from ADDR to itself,
 *                                                each registered with SITEMH_SO_LFROUTES
 *                                                and closed at once
 *   sitemh_tool hold ADDR N                      up to N connected UDP sockets from ADDR
 *                                                to itself registered with
 *                                                SITEMH_SO_LFROUTES; prints "registered K"
 *                                                and the first refusal's errno ("refused
 *                                                ENOBUFS", or "refused none"), then holds
 *                                                them until killed
 *   sitemh_tool raw4 SRC DST TTL HEX...          sends each HEX (an ICMP message, checksum
 *                                                included) from SRC to DST with TTL
 *   sitemh_tool raw6 IFACE SRC HOPS HEX...       sends each HEX (an ICMPv6 message; the
 *                                                socket fills in the checksum) from SRC to
 *                                                all nodes on IFACE with hop limit HOPS
 *   (raw4 and raw6 let the selftests forge packets without a Python start, which costs
 *   seconds in the test VM)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sitemh.h>

static int family = AF_INET;
static int tos = -1;

static int open_socket(int type)
{
	int fd = socket(family, type, 0);

	if (fd < 0) {
		perror("socket");
		exit(2);
	}
	if (tos >= 0) {
		int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
		int name = family == AF_INET ? IP_TOS : IPV6_TCLASS;

		if (setsockopt(fd, level, name, &tos, sizeof(tos)) < 0) {
			perror("setsockopt TOS");
			exit(2);
		}
	}
	return fd;
}

static const char *text(const void *addr)
{
	static char buf[4][INET6_ADDRSTRLEN];
	static int next;
	char *out = buf[next++ % 4];

	return inet_ntop(family, addr, out, INET6_ADDRSTRLEN);
}

static int parse(const char *s, void *addr)
{
	if (inet_pton(family, s, addr) != 1) {
		fprintf(stderr, "not an address: %s\n", s);
		exit(2);
	}
	return 0;
}

/* getsrcaddr (SITEMH_SO_SRCADDRS) must give the sources SITEMH_SO_PAIRS ranks for the same
 * destination, in the same order: 0 if so, else 1 with a line saying so. */
static int same_as_ranked_pairs(int fd, const void *dst, const void *src, int n)
{
	static char room[sizeof(struct sitemh_pairs6) +
			 SITEMH_MAX_SOURCES * sizeof(struct sitemh_ranked_pair6)];
	struct sitemh_pairs *p4 = (struct sitemh_pairs *)room;
	struct sitemh_pairs6 *p6 = (struct sitemh_pairs6 *)room;
	size_t alen = family == AF_INET ? 4 : 16;
	int i, npairs;

	if (sitemh_rank_pairs(fd, family, dst, 1, room, sizeof(room)) < 0) {
		printf("# SITEMH_SO_PAIRS: %s\n", strerrorname_np(errno));
		return 1;
	}
	npairs = family == AF_INET ? (int)p4->npairs : (int)p6->npairs;
	for (i = 0; i < n && i < npairs; i++) {
		const void *p = family == AF_INET ? (const void *)&p4->pair[i].pair.src
						  : (const void *)&p6->pair[i].pair.src;

		if (memcmp(p, (const char *)src + i * alen, alen))
			break;
	}
	if (npairs != n || i != n) {
		printf("# getsrcaddr and SITEMH_SO_PAIRS disagree (%d and %d sources)\n", n, npairs);
		return 1;
	}
	return 0;
}

static int cmd_srcaddr(const char *dst_text)
{
	struct in6_addr dst, src[SITEMH_MAX_SOURCES];
	int fd = open_socket(SOCK_DGRAM), n, i;

	parse(dst_text, &dst);
	n = family == AF_INET ? getsrcaddr(fd, (struct in_addr *)&dst, (struct in_addr *)src)
			      : getsrcaddr6(fd, &dst, src);
	if (n < 0) {
		printf("error %s\n", strerrorname_np(errno));
		return 1;
	}
	for (i = 0; i < n; i++)
		printf("%s\n", family == AF_INET ? text(&((struct in_addr *)src)[i]) : text(&src[i]));
	return same_as_ranked_pairs(fd, &dst, src, n);
}

static int cmd_pairs(const char *name)
{
	static struct addr_pair p4[SITEMH_MAX_PAIRS];
	static struct addr_pair6 p6[SITEMH_MAX_PAIRS];
	int fd = open_socket(SOCK_DGRAM), n = 0, i;
	struct hostent *h;

	h = family == AF_INET ? gethostbynamewithsrcaddr(fd, name, &n, p4)
			      : gethostbynamewithsrcaddr6(fd, name, &n, p6);
	if (!h) {
		printf("error %s\n", errno ? strerrorname_np(errno) : hstrerror(h_errno));
		return 1;
	}
	printf("# %s\n", h->h_name);
	for (i = 0; i < n; i++) {
		if (family == AF_INET)
			printf("%s %s\n", text(&p4[i].src), text(&p4[i].dst));
		else
			printf("%s %s\n", text(&p6[i].src), text(&p6[i].dst));
	}
	return 0;
}

static int cmd_rank(const char *name)
{
	static union {
		struct sitemh_pairs v4;
		struct sitemh_pairs6 v6;
		char room[sizeof(struct sitemh_pairs6) +
			  SITEMH_MAX_PAIRS * sizeof(struct sitemh_ranked_pair6)];
	} a;
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_DGRAM }, *res, *ai;
	struct in6_addr dsts[SITEMH_MAX_DESTS];
	int fd = open_socket(SOCK_DGRAM), n = 0, i;

	if (getaddrinfo(name, NULL, &hints, &res)) {
		printf("error unresolvable\n");
		return 1;
	}
	for (ai = res; ai && n < SITEMH_MAX_DESTS; ai = ai->ai_next, n++) {
		if (family == AF_INET)
			((struct in_addr *)dsts)[n] = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else
			dsts[n] = ((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
	}
	freeaddrinfo(res);
	if (sitemh_rank_pairs(fd, family, dsts, n, &a, sizeof(a)) < 0) {
		printf("error %s\n", strerrorname_np(errno));
		return 1;
	}
	printf("# service %s, %u of %u pairs\n",
	       a.v4.service == SITEMH_SERVICE_LOW_LATENCY ? "low-latency" : "best-effort",
	       a.v4.npairs, a.v4.available);
	for (i = 0; i < (int)a.v4.npairs; i++) {
		const struct sitemh_rank_info *r;
		const char *s, *d;

		if (family == AF_INET) {
			r = &a.v4.pair[i].info;
			s = text(&a.v4.pair[i].pair.src);
			d = text(&a.v4.pair[i].pair.dst);
		} else {
			r = &a.v6.pair[i].info;
			s = text(&a.v6.pair[i].pair.src);
			d = text(&a.v6.pair[i].pair.dst);
		}
		printf("%s %s bandwidth=%llu hops=%u latency_us=%u%s%s\n", s, d,
		       (unsigned long long)r->bandwidth, r->hops, r->latency_us,
		       r->flags & SITEMH_RANK_MEASURED ? " measured" : "",
		       r->flags & SITEMH_RANK_DOWN ? " down" : "");
	}
	return 0;
}

static void make_sockaddr(struct sockaddr_storage *ss, socklen_t *len, const char *addr,
			  int port)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		parse(addr, &sin->sin_addr);
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		parse(addr, &sin6->sin6_addr);
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
	}
}

static const char *sockaddr_text(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return text(&((const struct sockaddr_in *)ss)->sin_addr);
	return text(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* An IPv4 address of a sockaddr of length len, "-" if there is none. */
static const char *show4(const struct sockaddr_storage *sa, socklen_t len, char *buf)
{
	if (!len || sa->ss_family != AF_INET)
		return "-";
	return inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
			 INET_ADDRSTRLEN);
}

/* The draft's UDP server with the care-of parameters. */
static int cmd_udp_server_careof(int port)
{
	struct sockaddr_storage local, from, fromcl, dst, dstcl;
	char buf[1500], a[4][INET_ADDRSTRLEN];
	socklen_t len;
	int fd = open_socket(SOCK_DGRAM), one = 1;

	make_sockaddr(&local, &len, "0.0.0.0", port);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&local, len) < 0) {
		perror("bind");
		return 2;
	}
	for (;;) {
		socklen_t fromlen = sizeof(from), fromcllen = sizeof(fromcl), dstlen = sizeof(dst),
			  dstcllen = sizeof(dstcl);
		ssize_t n;

		n = recvwithdstaddr(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen,
				    (struct sockaddr *)&fromcl, &fromcllen, (struct sockaddr *)&dst,
				    &dstlen, (struct sockaddr *)&dstcl, &dstcllen);
		if (n < 0) {
			perror("recvwithdstaddr");
			continue;
		}
		printf("from %s fromcl %s dst %s dstcl %s\n", show4(&from, fromlen, a[0]),
		       show4(&fromcl, fromcllen, a[1]), show4(&dst, dstlen, a[2]),
		       show4(&dstcl, dstcllen, a[3]));
		fflush(stdout);
		n = sendwithsrcaddr(fd, buf, n, 0, (struct sockaddr *)&from, fromlen, NULL, 0,
				    (struct sockaddr *)&dst, dstlen, (struct sockaddr *)&dstcl,
				    dstcllen);
		if (n < 0)
			perror("sendwithsrcaddr");
	}
}

static int cmd_careof(const char *addr)
{
	struct sitemh_careof req = { 0 };
	struct sitemh_careof6 req6 = { 0 };
	socklen_t len = family == AF_INET ? sizeof(req) : sizeof(req6);
	char buf[INET6_ADDRSTRLEN];
	int fd = open_socket(SOCK_DGRAM), rc;

	if (inet_pton(family, addr, family == AF_INET ? (void *)&req.home : (void *)&req6.home) != 1)
		return 2;
	if (family == AF_INET)
		rc = getsockopt(fd, IPPROTO_IP, SITEMH_SO_CAREOF, &req, &len);
	else
		rc = getsockopt(fd, IPPROTO_IPV6, SITEMH_SO_CAREOF, &req6, &len);
	if (rc < 0) {
		printf("error %s\n", strerrorname_np(errno));
		return 1;
	}
	if (family == AF_INET)
		printf("%s\n", req.careof.s_addr ? inet_ntop(AF_INET, &req.careof, buf, sizeof(buf)) : "-");
	else
		printf("%s\n", IN6_IS_ADDR_UNSPECIFIED(&req6.careof) ? "-" :
		       inet_ntop(AF_INET6, &req6.careof, buf, sizeof(buf)));
	return 0;
}

static int cmd_bind_careof(const char *home, const char *careof)
{
	struct sockaddr_storage to, cl;
	socklen_t tolen, cllen;
	int fd = open_socket(SOCK_DGRAM);

	make_sockaddr(&to, &tolen, home, 9);
	make_sockaddr(&cl, &cllen, careof, 0);
	if (sendwithsrcaddr(fd, "sitemh", 6, 0, (struct sockaddr *)&to, tolen,
			    (struct sockaddr *)&cl, cllen, NULL, 0, NULL, 0) < 0) {
		printf("error %s\n", strerrorname_np(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}

static int cmd_udp_server(int port, int draft)
{
	struct sockaddr_storage local, from, dst;
	socklen_t len;
	char buf[1500];
	int fd = open_socket(SOCK_DGRAM), one = 1;

	make_sockaddr(&local, &len, family == AF_INET ? "0.0.0.0" : "::", port);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&local, len) < 0) {
		perror("bind");
		return 2;
	}
	for (;;) {
		socklen_t fromlen = sizeof(from), dstlen = sizeof(dst);
		ssize_t n;

		if (draft) {
			n = recvwithdstaddr(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
					    &fromlen, NULL, NULL, (struct sockaddr *)&dst, &dstlen,
					    NULL, NULL);
			if (n >= 0)
				n = sendwithsrcaddr(fd, buf, n, 0, (struct sockaddr *)&from, fromlen,
						    NULL, 0, (struct sockaddr *)&dst, dstlen, NULL, 0);
		} else {
			n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen);
			if (n >= 0)
				n = sendto(fd, buf, n, 0, (struct sockaddr *)&from, fromlen);
		}
		if (n < 0)
			perror(draft ? "draft echo" : "plain echo");
	}
}

static int cmd_udp_client(const char *src, const char *dst, int port)
{
	struct sockaddr_storage local, peer, from;
	socklen_t llen, plen, fromlen = sizeof(from);
	struct pollfd pfd;
	char buf[64];
	int fd = open_socket(SOCK_DGRAM);

	make_sockaddr(&local, &llen, src, 0);
	make_sockaddr(&peer, &plen, dst, port);
	if (bind(fd, (struct sockaddr *)&local, llen) < 0) {
		perror("bind");
		return 2;
	}
	if (sendto(fd, "sitemh", 6, 0, (struct sockaddr *)&peer, plen) < 0) {
		printf("error %s\n", strerrorname_np(errno));
		return 1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 3000) != 1) {
		printf("no reply\n");
		return 1;
	}
	if (recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fromlen) < 0) {
		printf("error %s\n", strerrorname_np(errno));
		return 1;
	}
	printf("%s\n", sockaddr_text(&from));
	return 0;
}

/* One malformed call and the errno it must fail with. */
static int expect(const char *what, int rc, int want)
{
	int got = rc < 0 ? errno : 0;

	printf("%-58s %-12s %s\n", what, rc < 0 ? strerrorname_np(got) : "success",
	       got == want ? "ok" : "WRONG");
	return got == want ? 0 : 1;
}

static int cmd_bad_input(void)
{
	static char big[sizeof(struct sitemh_pairs6) + 64 * sizeof(struct sitemh_ranked_pair6)];
	struct sitemh_pairs *p4 = (struct sitemh_pairs *)big;
	struct sitemh_pairs6 *p6 = (struct sitemh_pairs6 *)big;
	int fd4 = socket(AF_INET, SOCK_DGRAM, 0), fd6 = socket(AF_INET6, SOCK_DGRAM, 0);
	socklen_t len;
	int bad = 0, n;

	memset(big, 0, sizeof(big));
	len = sizeof(struct sitemh_pairs) - 1;
	bad |= expect("IPv4: optlen one short of the header",
		      getsockopt(fd4, IPPROTO_IP, SITEMH_SO_PAIRS, big, &len), EINVAL);
	len = 0;
	bad |= expect("IPv4: optlen 0", getsockopt(fd4, IPPROTO_IP, SITEMH_SO_PAIRS, big, &len),
		      EINVAL);
	len = sizeof(struct sitemh_pairs);
	p4->ndst = 0;
	bad |= expect("IPv4: no destination",
		      getsockopt(fd4, IPPROTO_IP, SITEMH_SO_PAIRS, big, &len), EINVAL);
	p4->ndst = SITEMH_MAX_DESTS + 1;
	bad |= expect("IPv4: too many destinations",
		      getsockopt(fd4, IPPROTO_IP, SITEMH_SO_PAIRS, big, &len), EINVAL);
	p4->ndst = 1;
	bad |= expect("IPv4: NULL buffer",
		      getsockopt(fd4, IPPROTO_IP, SITEMH_SO_PAIRS, NULL, &len), EFAULT);
	bad |= expect("IPv4: buffer at an unmapped address",
		      getsockopt(fd4, IPPROTO_IP, SITEMH_SO_PAIRS, (void *)16, &len), EFAULT);
	len = sizeof(struct sitemh_pairs);
	bad |= expect("IPv4: unknown option in sitemh's range",
		      getsockopt(fd4, IPPROTO_IP, SITEMH_SO_BASE + 9, big, &len), ENOPROTOOPT);
	bad |= expect("IPv4: option just past sitemh's range",
		      getsockopt(fd4, IPPROTO_IP, SITEMH_SO_BASE + 16, big, &len), ENOPROTOOPT);
	bad |= expect("IPv4: setsockopt of the get-only option",
		      setsockopt(fd4, IPPROTO_IP, SITEMH_SO_PAIRS, big, len), ENOPROTOOPT);
	len = sizeof(struct sitemh_srcaddrs) - 1;
	bad |= expect("IPv4: SRCADDRS optlen one short",
		      getsockopt(fd4, IPPROTO_IP, SITEMH_SO_SRCADDRS, big, &len), EINVAL);
	len = sizeof(struct sitemh_srcaddrs);
	bad |= expect("IPv4: SRCADDRS NULL buffer",
		      getsockopt(fd4, IPPROTO_IP, SITEMH_SO_SRCADDRS, NULL, &len), EFAULT);
	bad |= expect("IPv4: setsockopt of SRCADDRS",
		      setsockopt(fd4, IPPROTO_IP, SITEMH_SO_SRCADDRS, big, len), ENOPROTOOPT);
	len = sizeof(struct sitemh_srcaddrs6) - 1;
	bad |= expect("IPv6: SRCADDRS optlen one short",
		      getsockopt(fd6, IPPROTO_IPV6, SITEMH_SO_SRCADDRS, big, &len), EINVAL);
	len = sizeof(struct sitemh_pairs6) - 1;
	bad |= expect("IPv6: optlen one short of the header",
		      getsockopt(fd6, IPPROTO_IPV6, SITEMH_SO_PAIRS, big, &len), EINVAL);
	len = sizeof(struct sitemh_pairs6);
	p6->ndst = 0;
	bad |= expect("IPv6: no destination",
		      getsockopt(fd6, IPPROTO_IPV6, SITEMH_SO_PAIRS, big, &len), EINVAL);
	bad |= expect("library: NULL destination",
		      getsrcaddr(fd4, NULL, (struct in_addr *)big), EFAULT);
	bad |= expect("library: bad family",
		      sitemh_rank_pairs(fd4, AF_UNIX, big, 1, big, sizeof(big)), EAFNOSUPPORT);
	errno = 0;
	n = 0;
	h_errno = 0;
	{
		struct hostent *h = gethostbynamewithsrcaddr(fd4, "no-such-host.invalid", &n,
							     (struct addr_pair *)big);
		int ok = !h && (h_errno == HOST_NOT_FOUND || h_errno == TRY_AGAIN);

		printf("%-58s %-12s %s\n", "library: unresolvable name",
		       h ? "success" : hstrerror(h_errno), ok ? "ok" : "WRONG");
		bad |= !ok;
	}
	/* Room for no answer at all: a valid call that reports how many pairs exist. */
	memset(big, 0, sizeof(big));
	p4->ndst = 1;
	inet_pton(AF_INET, "192.0.2.200", &p4->dst[0]);
	len = sizeof(struct sitemh_pairs);
	n = getsockopt(fd4, IPPROTO_IP, SITEMH_SO_PAIRS, big, &len);
	printf("%-58s npairs=%u available=%u len=%u %s\n", "IPv4: no room for answers", p4->npairs,
	       p4->available, len, n == 0 && p4->npairs == 0 && len == sizeof(*p4) ? "ok" : "WRONG");
	bad |= !(n == 0 && p4->npairs == 0 && len == sizeof(*p4));
	return bad;
}

/* A TCP connection of this host to itself on addr: both ends' descriptors. */
static int self_connection(const char *addr, int *client, int *server)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);

	if (lfd < 0 || inet_pton(AF_INET, addr, &sin.sin_addr) != 1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len))
		return -1;
	*client = socket(AF_INET, SOCK_STREAM, 0);
	if (*client < 0 || connect(*client, (struct sockaddr *)&sin, sizeof(sin)))
		return -1;
	*server = accept(lfd, NULL, NULL);
	close(lfd);
	return *server < 0 ? -1 : 0;
}

/* Malformed switchover calls (SO_LFROUTES, SO_SEQPARAM, SO_LFSTAT) on a connection from
 * addr (one of the host's addresses) to itself; then one valid call, read back. */
static int cmd_bad_switchover(const char *addr)
{
	struct sitemh_addr_pair routes[SITEMH_MAX_LFROUTES + 1];
	struct sitemh_seqparam param;
	struct sitemh_lfroutes got;
	int udp = socket(AF_INET, SOCK_DGRAM, 0), fd6 = socket(AF_INET6, SOCK_STREAM, 0);
	int c, s, bad = 0, i, stat;
	socklen_t len;

	if (self_connection(addr, &c, &s)) {
		perror("self connection");
		return 1;
	}
	for (i = 0; i <= SITEMH_MAX_LFROUTES; i++) {
		inet_pton(AF_INET, addr, &routes[i].src);
		inet_pton(AF_INET, addr, &routes[i].dst);
	}
	memset(&param, 0, sizeof(param));
	param.form = SITEMH_SEQPARAM_EXPORTER;
	param.entity = SITEMH_ENTITY_CLIENT;

	bad |= expect("LFROUTES: unconnected UDP socket",
		      setsockopt(udp, IPPROTO_IP, SITEMH_SO_LFROUTES, routes, sizeof(routes[0])),
		      ENOTCONN);
	bad |= expect("LFROUTES: no route",
		      setsockopt(c, IPPROTO_IP, SITEMH_SO_LFROUTES, routes, 0), EINVAL);
	bad |= expect("LFROUTES: length not a multiple of a pair",
		      setsockopt(c, IPPROTO_IP, SITEMH_SO_LFROUTES, routes, 7), EINVAL);
	bad |= expect("LFROUTES: more than SITEMH_MAX_LFROUTES",
		      setsockopt(c, IPPROTO_IP, SITEMH_SO_LFROUTES, routes, sizeof(routes)), EINVAL);
	inet_pton(AF_INET, "192.0.2.254", &routes[1].src);
	bad |= expect("LFROUTES: a local address that is not ours",
		      setsockopt(c, IPPROTO_IP, SITEMH_SO_LFROUTES, routes, 2 * sizeof(routes[0])),
		      EADDRNOTAVAIL);
	bad |= expect("LFROUTES: NULL value",
		      setsockopt(c, IPPROTO_IP, SITEMH_SO_LFROUTES, NULL, sizeof(routes[0])), EFAULT);
	bad |= expect("LFROUTES: an IPv4 pair on an IPv6 socket",
		      setsockopt(fd6, IPPROTO_IPV6, SITEMH_SO_LFROUTES, routes,
				 sizeof(struct sitemh_addr_pair)), EINVAL);
	bad |= expect("SEQPARAM: one octet short",
		      setsockopt(c, IPPROTO_IP, SITEMH_SO_SEQPARAM, &param, sizeof(param) - 1), EINVAL);
	param.form = 3;
	bad |= expect("SEQPARAM: unknown form",
		      setsockopt(c, IPPROTO_IP, SITEMH_SO_SEQPARAM, &param, sizeof(param)), EINVAL);
	param.form = SITEMH_SEQPARAM_TLS12;
	param.entity = 2;
	bad |= expect("SEQPARAM: unknown entity",
		      setsockopt(c, IPPROTO_IP, SITEMH_SO_SEQPARAM, &param, sizeof(param)), EINVAL);
	param.entity = SITEMH_ENTITY_SERVER;
	param.reserved[1] = 1;
	bad |= expect("SEQPARAM: reserved octets not zero",
		      setsockopt(c, IPPROTO_IP, SITEMH_SO_SEQPARAM, &param, sizeof(param)), EINVAL);
	stat = 2;
	bad |= expect("LFSTAT: neither 0 nor 1",
		      setsockopt(c, IPPROTO_IP, SITEMH_SO_LFSTAT, &stat, sizeof(stat)), EINVAL);
	bad |= expect("LFSTAT: short value",
		      setsockopt(c, IPPROTO_IP, SITEMH_SO_LFSTAT, &stat, 2), EINVAL);
	len = sizeof(got);
	bad |= expect("LFROUTES: read back on a socket with none",
		      getsockopt(c, IPPROTO_IP, SITEMH_SO_LFROUTES, &got, &len), ENOENT);
	/* Nothing above registered the connection; now a valid call does. */
	bad |= expect("LFROUTES: one valid route",
		      setsockopt(c, IPPROTO_IP, SITEMH_SO_LFROUTES, routes, sizeof(routes[0])), 0);
	len = sizeof(got);
	bad |= expect("LFROUTES: read back",
		      getsockopt(c, IPPROTO_IP, SITEMH_SO_LFROUTES, &got, &len), 0);
	i = len == sizeof(got) && got.stat == SITEMH_STAT_ALTER && got.n_routes == 1 &&
	    got.in_use == SITEMH_LFROUTE_OWN && got.switches == 0 &&
	    !memcmp(&got.routes[0], &routes[0], sizeof(routes[0]));
	printf("%-58s stat=%u n=%u in_use=%u %s\n", "LFROUTES: what was set", got.stat,
	       got.n_routes, got.in_use, i ? "ok" : "WRONG");
	bad |= !i;
	stat = SITEMH_STAT_DO_NOT_ALTER;
	bad |= expect("LFSTAT: do not alter",
		      setsockopt(c, IPPROTO_IP, SITEMH_SO_LFSTAT, &stat, sizeof(stat)), 0);
	len = sizeof(got);
	getsockopt(c, IPPROTO_IP, SITEMH_SO_LFROUTES, &got, &len);
	printf("%-58s stat=%u %s\n", "LFSTAT: read back", got.stat,
	       got.stat == SITEMH_STAT_DO_NOT_ALTER ? "ok" : "WRONG");
	bad |= got.stat != SITEMH_STAT_DO_NOT_ALTER;
	close(c);
	close(s);
	return bad;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int cmd_churn(const char *addr_text, long n)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	struct sitemh_addr_pair route;
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	long i;

	parse(addr_text, &a.sin_addr);
	route.src = a.sin_addr;
	route.dst = a.sin_addr;
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 64) ||
	    getsockname(l, (struct sockaddr *)&a, &alen)) {
		perror("listener");
		return 2;
	}
	for (i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0), s = -1;

		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) ||
		    (s = accept(l, NULL, NULL)) < 0) {
			printf("connection %ld: %s\n", i, strerrorname_np(errno));
			return 1;
		}
		if (setsockopt(c, IPPROTO_IP, SITEMH_SO_LFROUTES, &route, sizeof(route))) {
			printf("connection %ld: SITEMH_SO_LFROUTES: %s\n", i, strerrorname_np(errno));
			return 1;
		}
		/* A reset rather than a FIN: no TIME_WAIT holds the ports of 100,000 of them. */
		setsockopt(s, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
		close(s);
		close(c);
	}
	printf("churned %ld\n", n);
	return 0;
}

static int cmd_serve(const char *addr_text, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);

	parse(addr_text, &a.sin_addr);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 128)) {
		perror("listener");
		return 2;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int s = accept(l, NULL, NULL);
		char octet;

		if (s < 0)
			continue;
		if (read(s, &octet, 1) == 1 && write(s, &octet, 1) != 1)
			perror("write");
		close(s);
	}
}

static int cmd_connects(const char *src_text, const char *dst_text, int port, long n)
{
	struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
	double t0;
	long i;

	parse(src_text, &src.sin_addr);
	parse(dst_text, &dst.sin_addr);
	dst.sin_port = htons(port);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		char octet = 'x';

		if (c < 0 || bind(c, (struct sockaddr *)&src, sizeof(src)) ||
		    connect(c, (struct sockaddr *)&dst, sizeof(dst)) || write(c, &octet, 1) != 1 ||
		    read(c, &octet, 1) != 1) {
			printf("connection %ld: %s\n", i, strerrorname_np(errno));
			return 1;
		}
		close(c);
	}
	printf("connections %ld ns_per %.0f\n", n, (now_ns() - t0) / n);
	return 0;
}

static int cmd_hold(const char *addr_text, long n)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	struct sitemh_addr_pair route;
	const char *refusal = "none";
	long i;

	parse(addr_text, &a.sin_addr);
	to.sin_addr = a.sin_addr;
	route.src = a.sin_addr;
	route.dst = a.sin_addr;
	for (i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_DGRAM, 0);

		if (c < 0 || bind(c, (struct sockaddr *)&a, sizeof(a)) ||
		    connect(c, (struct sockaddr *)&to, sizeof(to))) {
			printf("socket %ld: %s\n", i, strerrorname_np(errno));
			return 1;
		}
		if (setsockopt(c, IPPROTO_IP, SITEMH_SO_LFROUTES, &route, sizeof(route))) {
			refusal = strerrorname_np(errno);
			close(c);
			break;
		}
	}
	printf("registered %ld\nrefused %s\n", i, refusal);
	fflush(stdout);
	for (;;)
		pause();
}

static int cmd_bench(const char *dst_text, long n)
{
	struct sockaddr_storage peer;
	struct in6_addr dst, src[SITEMH_MAX_SOURCES];
	socklen_t plen;
	int fd = open_socket(SOCK_DGRAM);
	double t0, t_select, t_connect;
	long i;

	parse(dst_text, &dst);
	make_sockaddr(&peer, &plen, dst_text, 9);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		int got = family == AF_INET
			? getsrcaddr(fd, (struct in_addr *)&dst, (struct in_addr *)src)
			: getsrcaddr6(fd, &dst, src);
		if (got < 1) {
			printf("error %s\n", strerrorname_np(errno));
			return 1;
		}
	}
	t_select = (now_ns() - t0) / n;
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (connect(fd, (struct sockaddr *)&peer, plen) < 0) {
			printf("error %s\n", strerrorname_np(errno));
			return 1;
		}
	}
	t_connect = (now_ns() - t0) / n;
	printf("getsrcaddr_ns %.0f connect_ns %.0f\n", t_select, t_connect);
	return 0;
}

/* The octets of the hexadecimal HEX into BUF (at most SIZE); their count, -1 if HEX is
 * not an even number of hexadecimal digits or too long. */
static ssize_t unhex(const char *hex, unsigned char *buf, size_t size)
{
	size_t i, n = strlen(hex);

	if (n % 2 || n / 2 > size)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned int octet;

		if (sscanf(hex + 2 * i, "%2x", &octet) != 1)
			return -1;
		buf[i] = (unsigned char)octet;
	}
	return (ssize_t)(n / 2);
}

/* raw4 / raw6: every HEX message in order, from one socket. */
static int send_raw(int ipv6, const char *iface, const char *src, const char *dst, int ttl,
		    char **hex, int count)
{
	struct sockaddr_storage from = { 0 }, to = { 0 };
	unsigned char buf[1500];
	socklen_t len;
	int fd, i;

	if (ipv6) {
		struct sockaddr_in6 *f = (struct sockaddr_in6 *)&from, *t = (struct sockaddr_in6 *)&to;
		unsigned int index = if_nametoindex(iface);

		f->sin6_family = t->sin6_family = AF_INET6;
		f->sin6_scope_id = t->sin6_scope_id = index;
		if (!index || inet_pton(AF_INET6, src, &f->sin6_addr) != 1 ||
		    inet_pton(AF_INET6, dst, &t->sin6_addr) != 1)
			return 2;
		len = sizeof(*f);
		fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
		if (fd >= 0 && (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof(ttl)) ||
				setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl)) ||
				setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof(index))))
			goto fail;
	} else {
		struct sockaddr_in *f = (struct sockaddr_in *)&from, *t = (struct sockaddr_in *)&to;

		f->sin_family = t->sin_family = AF_INET;
		if (inet_pton(AF_INET, src, &f->sin_addr) != 1 ||
		    inet_pton(AF_INET, dst, &t->sin_addr) != 1)
			return 2;
		len = sizeof(*f);
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
		if (fd >= 0 && setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)))
			goto fail;
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&from, len))
		goto fail;
	for (i = 0; i < count; i++) {
		ssize_t n = unhex(hex[i], buf, sizeof(buf));

		if (n < 0) {
			fprintf(stderr, "not a message: %s\n", hex[i]);
			close(fd);
			return 2;
		}
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&to, len) != n)
			goto fail;
	}
	close(fd);
	return 0;
fail:
	perror("raw");
	if (fd >= 0)
		close(fd);
	return 1;
}

int main(int argc, char **argv)
{
	int opt;
	const char *cmd;

	if (argc < 2)
		goto usage;
	cmd = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "6t:")) != -1) {
		switch (opt) {
		case '6':
			family = AF_INET6;
			break;
		case 't':
			tos = (int)strtol(optarg, NULL, 0);
			break;
		default:
			goto usage;
		}
	}
	argv += optind;
	argc -= optind;
	if (!strcmp(cmd, "srcaddr") && argc == 1)
		return cmd_srcaddr(argv[0]);
	if (!strcmp(cmd, "pairs") && argc == 1)
		return cmd_pairs(argv[0]);
	if (!strcmp(cmd, "rank") && argc == 1)
		return cmd_rank(argv[0]);
	if (!strcmp(cmd, "udp-server") && argc == 2 && !strcmp(argv[1], "careof"))
		return cmd_udp_server_careof(atoi(argv[0]));
	if (!strcmp(cmd, "udp-server") && argc == 2)
		return cmd_udp_server(atoi(argv[0]), !strcmp(argv[1], "draft"));
	if (!strcmp(cmd, "careof") && argc == 1)
		return cmd_careof(argv[0]);
	if (!strcmp(cmd, "bind-careof") && argc == 2)
		return cmd_bind_careof(argv[0], argv[1]);
	if (!strcmp(cmd, "udp-client") && argc == 3)
		return cmd_udp_client(argv[0], argv[1], atoi(argv[2]));
	if (!strcmp(cmd, "bad-input") && argc == 0)
		return cmd_bad_input();
	if (!strcmp(cmd, "bad-switchover") && argc == 1)
		return cmd_bad_switchover(argv[0]);
	if (!strcmp(cmd, "bench") && argc == 2)
		return cmd_bench(argv[0], atol(argv[1]));
	if (!strcmp(cmd, "churn") && argc == 2)
		return cmd_churn(argv[0], atol(argv[1]));
	if (!strcmp(cmd, "serve") && argc == 2)
		return cmd_serve(argv[0], atoi(argv[1]));
	if (!strcmp(cmd, "connects") && argc == 4)
		return cmd_connects(argv[0], argv[1], atoi(argv[2]), atol(argv[3]));
	if (!strcmp(cmd, "hold") && argc == 2)
		return cmd_hold(argv[0], atol(argv[1]));
	if (!strcmp(cmd, "raw4") && argc >= 4)
		return send_raw(0, NULL, argv[0], argv[1], atoi(argv[2]), argv + 3, argc - 3);
	if (!strcmp(cmd, "raw6") && argc >= 4)
		return send_raw(1, argv[0], argv[1], "ff02::1", atoi(argv[2]), argv + 3, argc - 3);
usage:
	fprintf(stderr, "usage: see the comment at the top of sitemh_tool.c\n");
	return 2;
}
