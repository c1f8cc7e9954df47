// SPDX-License-Identifier: GPL-2.0
/*
 * A TLS-over-TCP transfer that hands its session's security parameters to the sitemh
 * module (SITEMH_SO_SEQPARAM) and its alternative address pairs (SITEMH_SO_LFROUTES), so
 * a test can fail a provider link mid-transfer and check that the connection moves and
 * the application never notices; with -d the same for a DTLS flow over connected UDP
 * sockets, which may lose datagrams during the switchover but must carry on after it.
 *
 *   sitemh_tls server [-6] [-1|-3] [-u] [-d|-m] BIND_ADDR PORT [ROUTES...]
 *       accepts one connection, reads until close_notify, prints
 *       "bytes N sha256 HEX", "maxgap_ms M" (longest pause between two reads after the
 *       first byte) and "stall_at_ms T" (when, since the first byte, that pause began),
 *       then returns the digest to the client. Prints "listening" once connections can come.
 *   sitemh_tls client [-6] [-1|-3] [-u] [-d|-m] [-r KBIT_S] SRC_ADDR DST_ADDR PORT BYTES [ROUTES...]
 *       connects from SRC_ADDR, prints "ready" once the module knows the connection,
 *       sends BYTES bytes of pseudo-random data, at most KBIT_S kbit/s with -r, ends
 *       them with close_notify and checks the server's digest: "digest match" (exit 0)
 *       or "digest MISMATCH" (exit 1).
 *
 *   -6  IPv6 (options at level IPPROTO_IPV6)   -1  TLS 1.2 (SITEMH_SEQPARAM_TLS12)
 *   -u  unprotected: no sitemh socket option   -3  TLS 1.3 (SITEMH_SEQPARAM_EXPORTER), default
 *   -m  MPTCP: the TCP sockets are IPPROTO_MPTCP (for comparisons with in-kernel MPTCP,
 *       usually with -u)
 *   -d  datagrams: DTLS 1.2 over connected UDP sockets (-1 and -3 choose the seqparam form)
 *   ROUTES  "LOCAL,PEER" address pairs, from this end's point of view, best first; none:
 *       the library's sitemh_protect_ssl() hands over the keys alone and the module
 *       carries the routes (it exchanges the two ends' addresses).
 *
 * With -d the server binds a UDP socket, prints "listening", connects it to whoever sends
 * the first datagram (the ClientHello) and completes the handshake on it. The client
 * sends BYTES bytes as records of at most 1200 bytes: an 8-byte big-endian sequence
 * number, then pseudo-random bytes that follow from it alone, so that every record can be
 * checked on its own. After the last it repeats an "end" record with the number of data
 * records (5 times 50 ms apart, then every second) until the server answers with its
 * counts over the same association. Both ends print
 *   "datagrams sent N received R lost L dup D", "bad B tail_missing M", "maxgap_ms G"
 * (the longest pause between two data records at the server; the server adds
 * "stall_at_ms T"), and the client "send_errors E (first ERRNO)" if the socket refused
 * some datagrams (an ICMP error or a missing route: those count as lost). B counts records
 * whose content did not match their sequence number, M the records missing among the
 * last 100 (the flow must have recovered by its end). The client prints "verify ok" and
 * exits 0 if B and M are 0, else "verify FAILED" and exits 1; the server exits 0 if B is
 * 0. Either end fails after IO_TIMEOUT_S (30) seconds without an answer.
 *
 * Unless -u, both ends print "in_use I switches S" and "routes N LOCAL,PEER..." from
 * getsockopt(SITEMH_SO_LFROUTES) before they exit (I is "own" while the connection uses
 * its own addresses). Exit 1 on
 * any failure, with the failed step on stderr; 2 on a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <linux/sitemh.h>
#include "sitemh.h"

/* Long enough to ride out a switchover, short enough that a dead connection fails. */
#define IO_TIMEOUT_S	30
/* 16 KiB is TLS's largest record: one SSL_write / SSL_read per record. */
#define CHUNK		16384
#define DIGEST_LEN	32

/*
 * -d: a record's payload at most. With DTLS's 37 octets (AES-GCM) and the UDP and IP
 * headers it stays well below a 1500-octet path MTU: one record, one datagram.
 */
#define DGRAM_MAX	1200
#define DGRAM_HDR	8			/* the big-endian sequence number */
#define DGRAM_END	UINT64_MAX		/* "end", then the number of data records */
#define DGRAM_SUMMARY	(UINT64_MAX - 1)	/* the server's counts (enum summary) */
#define DGRAM_MAX_SEQ	(1ULL << 28)		/* bounds the server's bitmap (32 MiB) */
#define DGRAM_TAIL	100			/* the last records, which must all arrive */
#define END_FAST	5			/* "end" records 50 ms apart, then 1 s apart */

/* The fields of the server's summary record, 8-byte big-endian numbers each. */
enum summary {
	S_TAG,			/* DGRAM_SUMMARY */
	S_SENT,			/* the client's number of data records, from its "end" */
	S_RECEIVED,		/* distinct records received intact */
	S_DUP,			/* repeated ones */
	S_BAD,			/* records whose content did not match their sequence number */
	S_TAIL_MISSING,		/* records missing among the last DGRAM_TAIL */
	S_MAXGAP_US,		/* longest pause between two data records */
	S_STALL_AT_US,		/* when, since the first, it began */
	S_N
};

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP	262
#endif

static int family = AF_INET;
static int level = IPPROTO_IP;
static int tls12;
static int protect = 1;
static int dgram;		/* -d: DTLS over UDP */
static int mptcp;		/* -m: MPTCP instead of TCP */
static double handshake_start;	/* now_ms() when the DTLS handshake began */
static const char *role = "?";
static int conn_fd = -1;	/* the connection, for the SITEMH_SO_LFROUTES report at exit */

static union {
	struct sitemh_addr_pair v4[SITEMH_MAX_LFROUTES];
	struct sitemh_addr_pair6 v6[SITEMH_MAX_LFROUTES];
} routes;
static int n_routes;

static _Noreturn void usage_exit(void)
{
	fprintf(stderr,
		"usage: sitemh_tls server [-6] [-1|-3] [-u] [-d|-m] BIND_ADDR PORT [LOCAL,PEER...]\n"
		"       sitemh_tls client [-6] [-1|-3] [-u] [-d|-m] [-r KBIT_S] SRC_ADDR DST_ADDR PORT\n"
		"                         BYTES [LOCAL,PEER...]\n");
	exit(2);
}

/* Where the connection is now: printed on failure too, as a clue to what went wrong. */
static void lf_report(void)
{
	union {
		struct sitemh_lfroutes v4;
		struct sitemh_lfroutes6 v6;
	} r;
	socklen_t len = family == AF_INET ? sizeof(r.v4) : sizeof(r.v6);

	if (!protect || conn_fd < 0)
		return;
	if (getsockopt(conn_fd, level, SITEMH_SO_LFROUTES, &r, &len) < 0) {
		printf("in_use ? switches ? (getsockopt SITEMH_SO_LFROUTES: %s)\n",
		       strerrorname_np(errno));
		return;
	}
	/* in_use and switches lie at the same offsets in both forms. */
	if (r.v4.in_use == SITEMH_LFROUTE_OWN)
		printf("in_use own switches %u\n", r.v4.switches);
	else
		printf("in_use %u switches %u\n", r.v4.in_use, r.v4.switches);
	/* The routes as the module holds them ("routes N LOCAL,PEER..."). */
	printf("routes %u", r.v4.n_routes);
	for (unsigned int i = 0; i < r.v4.n_routes && i < SITEMH_MAX_LFROUTES; i++) {
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

		if (family == AF_INET) {
			inet_ntop(AF_INET, &r.v4.routes[i].src, a, sizeof(a));
			inet_ntop(AF_INET, &r.v4.routes[i].dst, b, sizeof(b));
		} else {
			inet_ntop(AF_INET6, &r.v6.routes[i].src, a, sizeof(a));
			inet_ntop(AF_INET6, &r.v6.routes[i].dst, b, sizeof(b));
		}
		printf(" %s,%s", a, b);
	}
	printf("\n");
}

static _Noreturn void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sitemh_tls %s: ", role);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	lf_report();
	exit(1);
}

static _Noreturn void die_errno(const char *step)
{
	int e = errno;

	fail("%s: %s (%s)", step, strerrorname_np(e), strerror(e));
}

/* Call right after the failed SSL call, before anything else can change errno. */
static _Noreturn void die_ssl(SSL *ssl, int ret, const char *step)
{
	int e = errno, err = SSL_get_error(ssl, ret);

	switch (err) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		/* A blocking socket only "wants" more once SO_RCVTIMEO / SO_SNDTIMEO expire. */
		if (e == EAGAIN)
			fail("%s: no progress for %d s (EAGAIN)", step, IO_TIMEOUT_S);
		/* fall through */
	case SSL_ERROR_SYSCALL:
		fail("%s: SSL_ERROR_SYSCALL: %s", step, e ? strerrorname_np(e) : "EOF");
	case SSL_ERROR_ZERO_RETURN:
		fail("%s: the peer closed the TLS session early", step);
	case SSL_ERROR_SSL:
		fail("%s: SSL_ERROR_SSL", step);	/* OpenSSL's reason follows */
	default:
		fail("%s: SSL error %d", step, err);
	}
}

/*
 * SSL_write (@write) or SSL_read of @len bytes; 0 once the peer's close_notify is in,
 * exit naming @step on any failure. With a socket timeout set, a stop and continue
 * (SIGSTOP, a debugger) fails a blocked call with EINTR, which OpenSSL reports as
 * WANT_*: that call is repeated.
 */
static int ssl_io(SSL *ssl, int write, void *buf, int len, const char *step)
{
	for (;;) {
		int ret = write ? SSL_write(ssl, buf, len) : SSL_read(ssl, buf, len), e, err;

		if (ret > 0)
			return ret;
		if (ret == 0 && (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN))
			return 0;
		e = errno;
		err = SSL_get_error(ssl, ret);
		if (e != EINTR || (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)) {
			errno = e;
			die_ssl(ssl, ret, step);
		}
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void parse(const char *s, void *addr)
{
	if (inet_pton(family, s, addr) != 1) {
		fprintf(stderr, "not an address: %s\n", s);
		usage_exit();
	}
}

static socklen_t make_sockaddr(struct sockaddr_storage *ss, const char *addr, int port)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		parse(addr, &sin->sin_addr);
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	parse(addr, &((struct sockaddr_in6 *)ss)->sin6_addr);
	((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	return sizeof(struct sockaddr_in6);
}

/* Parsed even with -u, so that the control run takes the same command line. */
static void parse_routes(int argc, char **argv)
{
	int i;

	if (argc > SITEMH_MAX_LFROUTES)
		usage_exit();
	for (i = 0; i < argc; i++) {
		char *comma = strchr(argv[i], ',');

		if (!comma)
			usage_exit();
		*comma = '\0';
		if (family == AF_INET) {
			parse(argv[i], &routes.v4[i].src);
			parse(comma + 1, &routes.v4[i].dst);
		} else {
			parse(argv[i], &routes.v6[i].src);
			parse(comma + 1, &routes.v6[i].dst);
		}
	}
	n_routes = argc;
}

/* TCP, or MPTCP with -m. */
static int stream_socket(void)
{
	int fd = socket(family, SOCK_STREAM, mptcp ? IPPROTO_MPTCP : 0);

	if (fd < 0)
		die_errno(mptcp ? "socket IPPROTO_MPTCP" : "socket");
	return fd;
}

static void tune_socket(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		die_errno("setsockopt SO_RCVTIMEO/SO_SNDTIMEO");
	if (dgram)
		return;
	/*
	 * Nagle would hold each record's tail for the peer's delayed ACK (40 ms and more),
	 * which shows up in maxgap_ms and bunches the paced writes: send records as written.
	 */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		die_errno("setsockopt TCP_NODELAY");
}

/* A throw-away self-signed certificate: the test is about the transport, not trust. */
static void add_self_signed(SSL_CTX *ctx)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");	/* much quicker to make than RSA */
	X509 *crt = X509_new();
	X509_NAME *name;

	if (!key || !crt)
		fail("generating the key and certificate");
	name = X509_get_subject_name(crt);
	if (!X509_set_version(crt, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(crt), 1) ||
	    !X509_gmtime_adj(X509_getm_notBefore(crt), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(crt), 24 * 3600) ||
	    !X509_set_pubkey(crt, key) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					(const unsigned char *)"sitemh-test", -1, -1, 0) ||
	    !X509_set_issuer_name(crt, name) || !X509_sign(crt, key, EVP_sha256()) ||
	    SSL_CTX_use_certificate(ctx, crt) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)
		fail("making the self-signed certificate");
	X509_free(crt);
	EVP_PKEY_free(key);
}

/* The context of either end, TLS or (-d) DTLS, pinned to protocol version @ver. */
static SSL_CTX *new_ctx(const SSL_METHOD *method, int server, int ver)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, ver) ||
	    !SSL_CTX_set_max_proto_version(ctx, ver))
		fail("SSL_CTX setup");
	if (server)
		add_self_signed(ctx);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

/*
 * DTLS resends a lost flight of the handshake by itself, after 1 s, then doubling up to
 * 8 s; the handshake fails once it has taken IO_TIMEOUT_S, as a TCP one would.
 */
static unsigned int dtls_timer(SSL *ssl, unsigned int us)
{
	if (SSL_in_init(ssl) && now_ms() - handshake_start > IO_TIMEOUT_S * 1e3)
		fail("DTLS handshake: no answer for %d s", IO_TIMEOUT_S);
	if (!us)
		return 1000000;
	return us < 4000000 ? us * 2 : 8000000;
}

/* A connected UDP socket's BIO: told the peer, it uses send(), not sendto(). */
static BIO *dgram_bio(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	BIO_ADDR *peer = BIO_ADDR_new();
	BIO *bio = BIO_new_dgram(fd, BIO_NOCLOSE);
	int ok;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		die_errno("getpeername");
	if (!peer || !bio)
		fail("BIO_new_dgram");
	if (family == AF_INET)
		ok = BIO_ADDR_rawmake(peer, AF_INET, &sin->sin_addr, sizeof(sin->sin_addr),
				      sin->sin_port);
	else
		ok = BIO_ADDR_rawmake(peer, AF_INET6, &sin6->sin6_addr, sizeof(sin6->sin6_addr),
				      sin6->sin6_port);
	if (!ok || BIO_ctrl_set_connected(bio, peer) != 1)
		fail("BIO_ctrl_set_connected");
	BIO_ADDR_free(peer);	/* the BIO keeps a copy */
	return bio;
}

static SSL *new_ssl(int server, int fd)
{
	SSL_CTX *ctx;
	SSL *ssl;

	/* Pin one version, so the seqparam form always matches what was negotiated. */
	if (dgram)
		ctx = new_ctx(server ? DTLS_server_method() : DTLS_client_method(), server,
			      DTLS1_2_VERSION);
	else
		ctx = new_ctx(server ? TLS_server_method() : TLS_client_method(), server,
			      tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
	ssl = SSL_new(ctx);
	if (!ssl)
		fail("SSL_new");
	if (dgram) {
		BIO *bio = dgram_bio(fd);

		SSL_set_bio(ssl, bio, bio);	/* the SSL owns the BIO, the fd stays ours */
		DTLS_set_timer_cb(ssl, dtls_timer);
	} else if (SSL_set_fd(ssl, fd) != 1) {
		fail("SSL_new");
	}
	SSL_CTX_free(ctx);	/* the SSL holds its own reference */
	return ssl;
}

/* Give the module the session's keys, then the routes: LFROUTES arms the switchover. */
static void protect_connection(SSL *ssl, int fd, int entity)
{
	struct sitemh_seqparam sp = { .entity = entity };
	size_t len;
	int err;

	if (protect && !n_routes) {
		err = sitemh_protect_ssl(ssl);
		if (err)
			fail("sitemh_protect_ssl: %s", strerror(-err));
		return;
	}

	/* Derived with -u too, so the control run exercises the same TLS calls. */
	if (tls12) {
		sp.form = SITEMH_SEQPARAM_TLS12;
		if (SSL_SESSION_get_master_key(SSL_get_session(ssl), sp.master_secret,
					       sizeof(sp.master_secret)) != sizeof(sp.master_secret) ||
		    SSL_get_client_random(ssl, sp.client_random, sizeof(sp.client_random)) !=
		    sizeof(sp.client_random) ||
		    SSL_get_server_random(ssl, sp.server_random, sizeof(sp.server_random)) !=
		    sizeof(sp.server_random))
			fail("reading the TLS 1.2 security parameters");
	} else {
		sp.form = SITEMH_SEQPARAM_EXPORTER;
		if (SSL_export_keying_material(ssl, sp.exported, SITEMH_EXPORTER_LEN,
					       SITEMH_EXPORTER_LABEL, strlen(SITEMH_EXPORTER_LABEL),
					       NULL, 0, 0) != 1)
			fail("SSL_export_keying_material");
	}
	if (protect) {
		if (setsockopt(fd, level, SITEMH_SO_SEQPARAM, &sp, sizeof(sp)) < 0)
			die_errno("setsockopt SITEMH_SO_SEQPARAM");
		len = n_routes * (family == AF_INET ? sizeof(routes.v4[0]) : sizeof(routes.v6[0]));
		if (setsockopt(fd, level, SITEMH_SO_LFROUTES, &routes, len) < 0)
			die_errno("setsockopt SITEMH_SO_LFROUTES");
	}
	OPENSSL_cleanse(&sp, sizeof(sp));
}

static void print_digest(uint64_t bytes, const unsigned char *md)
{
	int i;

	printf("bytes %llu sha256 ", (unsigned long long)bytes);
	for (i = 0; i < DIGEST_LEN; i++)
		printf("%02x", md[i]);
	printf("\n");
}

static int run_server(const char *addr, int port)
{
	static unsigned char buf[CHUNK];
	unsigned char md[DIGEST_LEN];
	double first = 0, last = 0, maxgap = 0, stall_at = 0;
	struct sockaddr_storage ss;
	socklen_t sslen = make_sockaddr(&ss, addr, port);
	uint64_t total = 0;
	EVP_MD_CTX *hash = EVP_MD_CTX_new();
	int lfd, fd, one = 1, ret;
	SSL *ssl;

	lfd = stream_socket();
	if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die_errno("setsockopt SO_REUSEADDR");
	if (bind(lfd, (struct sockaddr *)&ss, sslen) < 0)
		die_errno("bind");
	if (listen(lfd, 1) < 0)
		die_errno("listen");
	printf("listening\n");
	/* No timeout here: when the client comes is the test script's business. */
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die_errno("accept");
	/* MPTCP joins further subflows through the listener: it stays open until exit. */
	if (!mptcp)
		close(lfd);
	conn_fd = fd;
	tune_socket(fd);
	ssl = new_ssl(1, fd);
	ret = SSL_accept(ssl);
	if (ret != 1)
		die_ssl(ssl, ret, "TLS handshake (SSL_accept)");
	protect_connection(ssl, fd, SITEMH_ENTITY_SERVER);

	if (!hash || !EVP_DigestInit_ex(hash, EVP_sha256(), NULL))
		fail("EVP_DigestInit_ex");
	for (;;) {
		double now;

		ret = ssl_io(ssl, 0, buf, sizeof(buf), "SSL_read of the data");
		if (!ret)
			break;	/* close_notify: the client has sent everything */
		/* The longest pause between reads is how long a switchover stalled the stream. */
		now = now_ms();
		if (!total) {
			first = now;
		} else if (now - last > maxgap) {
			maxgap = now - last;
			stall_at = last - first;
		}
		last = now;
		total += ret;
		EVP_DigestUpdate(hash, buf, ret);
	}
	if (!EVP_DigestFinal_ex(hash, md, NULL))
		fail("EVP_DigestFinal_ex");
	print_digest(total, md);
	printf("maxgap_ms %.0f\nstall_at_ms %.0f\n", maxgap, stall_at);

	ssl_io(ssl, 1, md, sizeof(md), "SSL_write of the digest");
	/* The client's close_notify is in: this sends ours and completes the shutdown. */
	ret = SSL_shutdown(ssl);
	if (ret < 0)
		die_ssl(ssl, ret, "SSL_shutdown");
	lf_report();
	SSL_free(ssl);
	EVP_MD_CTX_free(hash);
	close(fd);
	return 0;
}

/* xorshift64: cheap, deterministic data that no layer can compress. */
static void fill(unsigned char *buf, size_t len, uint64_t *state)
{
	size_t i;

	for (i = 0; i < len; i += sizeof(*state)) {
		*state ^= *state << 13;
		*state ^= *state >> 7;
		*state ^= *state << 17;
		memcpy(buf + i, state, sizeof(*state));
	}
}

/*
 * SIGUSR1 ends the pacing: the rest goes at once. A test that paces a transfer to outlive
 * a series of failures ends it when the series is over, not when the pace says.
 */
static volatile sig_atomic_t unpaced;

static void unpace(int sig)
{
	(void)sig;
	unpaced = 1;
}

/* Sleep until @sent bytes are due at @kbits kbit/s since @start_ns (CLOCK_MONOTONIC). */
static void pace(double start_ns, uint64_t sent, long kbits)
{
	/* An absolute schedule keeps the average rate exact; a stall is caught up after. */
	double due = start_ns + sent * 8e6 / kbits;
	struct timespec ts = { .tv_sec = (time_t)(due / 1e9) };

	ts.tv_nsec = (long)(due - ts.tv_sec * 1e9);
	/* A signal handler always interrupts clock_nanosleep (EINTR), SA_RESTART or not. */
	while (!unpaced && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static uint64_t parse_bytes(const char *s)
{
	char *end;
	uint64_t n = strtoull(s, &end, 10);

	if (end == s || *end)
		usage_exit();
	return n;
}

static int run_client(const char *src, const char *dst, int port, uint64_t bytes, long kbits)
{
	static unsigned char buf[CHUNK];
	unsigned char md[DIGEST_LEN], reply[DIGEST_LEN], rest[64];
	struct sockaddr_storage local, peer;
	socklen_t llen = make_sockaddr(&local, src, 0), plen = make_sockaddr(&peer, dst, port);
	EVP_MD_CTX *hash = EVP_MD_CTX_new();
	uint64_t state = 1, sent = 0;
	int fd, ret, got = 0;
	double start_ns;
	SSL *ssl;

	fd = stream_socket();
	tune_socket(fd);	/* SO_SNDTIMEO bounds connect() too */
	if (bind(fd, (struct sockaddr *)&local, llen) < 0)
		die_errno("bind");
	if (connect(fd, (struct sockaddr *)&peer, plen) < 0)
		die_errno("connect");
	conn_fd = fd;
	ssl = new_ssl(0, fd);
	ret = SSL_connect(ssl);
	if (ret != 1)
		die_ssl(ssl, ret, "TLS handshake (SSL_connect)");
	protect_connection(ssl, fd, SITEMH_ENTITY_CLIENT);
	printf("ready\n");

	if (!hash || !EVP_DigestInit_ex(hash, EVP_sha256(), NULL))
		fail("EVP_DigestInit_ex");
	start_ns = now_ms() * 1e6;
	while (sent < bytes) {
		int len = bytes - sent < CHUNK ? (int)(bytes - sent) : CHUNK;

		fill(buf, CHUNK, &state);
		EVP_DigestUpdate(hash, buf, len);
		if (kbits)
			pace(start_ns, sent, kbits);
		ssl_io(ssl, 1, buf, len, "SSL_write of the data");	/* all of it: blocking */
		sent += len;
	}
	if (!EVP_DigestFinal_ex(hash, md, NULL))
		fail("EVP_DigestFinal_ex");
	/*
	 * TCP's half-close is TLS's close_notify: it ends the data (the server reads until
	 * it) while our read side stays open for the reply (RFC 8446 section 6.1; OpenSSL
	 * allows the same under TLS 1.2).
	 */
	ret = SSL_shutdown(ssl);
	if (ret < 0)
		die_ssl(ssl, ret, "SSL_shutdown (sending close_notify)");
	while (got < DIGEST_LEN) {
		ret = ssl_io(ssl, 0, reply + got, DIGEST_LEN - got, "SSL_read of the server's digest");
		if (!ret)
			fail("the server closed the session without sending its digest");
		got += ret;
	}
	/* Read up to the server's close_notify: data left unread when the socket closes
	 * would make TCP send a reset instead of a FIN. */
	while (ssl_io(ssl, 0, rest, sizeof(rest), "SSL_read of the server's close_notify") > 0)
		;
	print_digest(sent, md);
	ret = memcmp(md, reply, DIGEST_LEN) ? 1 : 0;
	printf("digest %s\n", ret ? "MISMATCH" : "match");
	lf_report();
	SSL_free(ssl);
	EVP_MD_CTX_free(hash);
	close(fd);
	return ret;
}

/*
 * -d: datagrams. What a switchover may make a connected UDP socket report, once, for one
 * datagram: an ICMP error from the failed path (a reject rule's port unreachable, an
 * administrative prohibition, ...) or a route that is briefly missing. DTLS drops the
 * record that met it and goes on: the datagram is lost, no more.
 */
static int transient(int e)
{
	switch (e) {
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case ENOBUFS:
	case EPERM:		/* a netfilter drop on the way out */
		return 1;
	default:
		return 0;
	}
}

static void set_rcvtimeo(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die_errno("setsockopt SO_RCVTIMEO");
}

/*
 * SSL_write of one DTLS record: 1 once sent, 0 (and the errno in @err) if the socket
 * refused it for a reason in transient(); exit naming @step on anything else. EINTR as
 * in ssl_io().
 */
static int dgram_write(SSL *ssl, const void *buf, int len, int *err, const char *step)
{
	for (;;) {
		int ret = SSL_write(ssl, buf, len), e, ssl_err;

		if (ret > 0)
			return 1;
		e = errno;
		ssl_err = SSL_get_error(ssl, ret);
		if (ssl_err == SSL_ERROR_SYSCALL && transient(e)) {
			*err = e;
			ERR_clear_error();
			return 0;
		}
		if (e != EINTR ||
		    (ssl_err != SSL_ERROR_WANT_READ && ssl_err != SSL_ERROR_WANT_WRITE)) {
			errno = e;
			die_ssl(ssl, ret, step);
		}
	}
}

/*
 * SSL_read of one DTLS record into @buf: its length, 0 once the peer's close_notify is in,
 * -1 when SO_RCVTIMEO passes without a record. Errors in transient() are passed over; so
 * is a "want read" that is no timeout (a signal, a record DTLS discarded). Anything else
 * exits naming @step.
 */
static int dgram_read(SSL *ssl, void *buf, int len, const char *step)
{
	for (;;) {
		int ret, e, ssl_err;

		errno = 0;
		ret = SSL_read(ssl, buf, len);
		if (ret > 0)
			return ret;
		if (ret == 0 && (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN))
			return 0;
		e = errno;
		ssl_err = SSL_get_error(ssl, ret);
		if (ssl_err == SSL_ERROR_WANT_READ && e == EAGAIN)
			return -1;
		if (ssl_err == SSL_ERROR_SYSCALL && transient(e)) {
			ERR_clear_error();
			continue;
		}
		if ((ssl_err != SSL_ERROR_WANT_READ && ssl_err != SSL_ERROR_WANT_WRITE) ||
		    e == EAGAIN) {
			errno = e;
			die_ssl(ssl, ret, step);
		}
	}
}

static void put_be64(unsigned char *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

static uint64_t get_be64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

/*
 * Data record @seq: the sequence number, then DGRAM_MAX - DGRAM_HDR pseudo-random bytes
 * from xorshift64 seeded with the sequence number alone (never 0: an odd multiplier is
 * invertible, and seq + 1 is not 0 below DGRAM_END).
 */
static void make_record(unsigned char *rec, uint64_t seq)
{
	uint64_t state = (seq + 1) * 0x9e3779b97f4a7c15ULL;

	put_be64(rec, seq);
	fill(rec + DGRAM_HDR, DGRAM_MAX - DGRAM_HDR, &state);
}

/* What the server has seen of the data records. */
struct tally {
	unsigned char *seen;	/* a bit per sequence number */
	uint64_t seen_len;	/* bytes of @seen */
	uint64_t received, dup, bad;
	double first, last, maxgap, stall_at;
};

static int seen(const struct tally *t, uint64_t seq)
{
	return seq / 8 < t->seen_len && (t->seen[seq / 8] & (1u << (seq % 8)));
}

/* Check a data record against its sequence number, count it, time its arrival. */
static void tally_record(struct tally *t, const unsigned char *rec, int len)
{
	static unsigned char want[DGRAM_MAX];
	uint64_t seq = get_be64(rec);
	double now = now_ms();

	if (len > DGRAM_MAX || seq >= DGRAM_MAX_SEQ) {
		t->bad++;
		return;
	}
	make_record(want, seq);
	if (memcmp(rec, want, len)) {
		t->bad++;
		return;
	}
	/* The longest pause between records is how long a switchover stalled the flow. */
	if (!t->received && !t->dup) {
		t->first = now;
	} else if (now - t->last > t->maxgap) {
		t->maxgap = now - t->last;
		t->stall_at = t->last - t->first;
	}
	t->last = now;
	if (seen(t, seq)) {
		t->dup++;
		return;
	}
	if (seq / 8 >= t->seen_len) {
		uint64_t n = t->seen_len ? t->seen_len : 4096;
		unsigned char *p;

		while (n <= seq / 8)
			n *= 2;
		p = realloc(t->seen, n);
		if (!p)
			fail("realloc of the sequence bitmap (%llu bytes)", (unsigned long long)n);
		memset(p + t->seen_len, 0, n - t->seen_len);
		t->seen = p;
		t->seen_len = n;
	}
	t->seen[seq / 8] |= 1u << (seq % 8);
	t->received++;
}

/* The counts of @t once the client has sent @sent data records, in @s (enum summary). */
static void summarize(struct tally *t, uint64_t sent, uint64_t *s)
{
	uint64_t seq, from = sent > DGRAM_TAIL ? sent - DGRAM_TAIL : 0;

	/* Numbers the client never sent would be as wrong as a bad record. */
	for (seq = sent; seq < t->seen_len * 8; seq++) {
		if (seen(t, seq)) {
			t->received--;
			t->bad++;
		}
	}
	s[S_TAG] = DGRAM_SUMMARY;
	s[S_SENT] = sent;
	s[S_RECEIVED] = t->received;
	s[S_DUP] = t->dup;
	s[S_BAD] = t->bad;
	s[S_TAIL_MISSING] = 0;
	for (seq = from; seq < sent; seq++)
		s[S_TAIL_MISSING] += !seen(t, seq);
	s[S_MAXGAP_US] = (uint64_t)(t->maxgap * 1e3);
	s[S_STALL_AT_US] = (uint64_t)(t->stall_at * 1e3);
}

static void print_summary(const uint64_t *s)
{
	printf("datagrams sent %llu received %llu lost %llu dup %llu\n",
	       (unsigned long long)s[S_SENT], (unsigned long long)s[S_RECEIVED],
	       (unsigned long long)(s[S_SENT] - s[S_RECEIVED]), (unsigned long long)s[S_DUP]);
	printf("bad %llu tail_missing %llu\n", (unsigned long long)s[S_BAD],
	       (unsigned long long)s[S_TAIL_MISSING]);
	printf("maxgap_ms %.0f\n", s[S_MAXGAP_US] / 1e3);
}

static int run_dgram_server(const char *addr, int port)
{
	static unsigned char rec[CHUNK];	/* room for any record: a long one is bad */
	unsigned char reply[S_N * 8];
	struct sockaddr_storage ss, from;
	socklen_t sslen = make_sockaddr(&ss, addr, port), flen = sizeof(from);
	struct tally t = { 0 };
	uint64_t s[S_N];
	int fd, one = 1, ret, i, err;
	char c;
	SSL *ssl;

	fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0)
		die_errno("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die_errno("setsockopt SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&ss, sslen) < 0)
		die_errno("bind");
	printf("listening\n");
	/*
	 * No timeout here, as for accept(). The first datagram, the ClientHello, names the
	 * client and stays queued for SSL_accept; no cookie exchange: one client only.
	 */
	if (recvfrom(fd, &c, sizeof(c), MSG_PEEK, (struct sockaddr *)&from, &flen) < 0)
		die_errno("recvfrom MSG_PEEK");
	if (connect(fd, (struct sockaddr *)&from, flen) < 0)
		die_errno("connect");
	conn_fd = fd;
	tune_socket(fd);
	ssl = new_ssl(1, fd);
	handshake_start = now_ms();
	ret = SSL_accept(ssl);
	if (ret != 1)
		die_ssl(ssl, ret, "DTLS handshake (SSL_accept)");
	protect_connection(ssl, fd, SITEMH_ENTITY_SERVER);

	/* Data records until the first "end"; SO_RCVTIMEO (IO_TIMEOUT_S) bounds the silence. */
	for (;;) {
		ret = dgram_read(ssl, rec, sizeof(rec), "SSL_read of a datagram");
		if (ret < 0)
			fail("no datagram for %d s", IO_TIMEOUT_S);
		if (!ret)
			fail("the client closed the DTLS session before its end record");
		if (ret < DGRAM_HDR) {
			t.bad++;
			continue;
		}
		if (get_be64(rec) != DGRAM_END) {
			tally_record(&t, rec, ret);
			continue;
		}
		if (ret != 2 * DGRAM_HDR)
			fail("an end record of %d bytes", ret);
		break;
	}
	summarize(&t, get_be64(rec + DGRAM_HDR), s);
	print_summary(s);
	printf("stall_at_ms %.0f\n", s[S_STALL_AT_US] / 1e3);
	for (i = 0; i < S_N; i++)
		put_be64(reply + i * 8, s[i]);

	/*
	 * Answer every "end" (the client repeats it until an answer comes through) until its
	 * close_notify or IO_TIMEOUT_S of silence: it may have gone without one, which may be
	 * lost like any datagram. Data records late behind the "end" no longer count.
	 */
	do {
		if (ret >= DGRAM_HDR && get_be64(rec) == DGRAM_END)
			dgram_write(ssl, reply, sizeof(reply), &err, "SSL_write of the summary");
		ret = dgram_read(ssl, rec, sizeof(rec), "SSL_read after the summary");
	} while (ret > 0);
	/* Completes the shutdown if the client's close_notify came; nobody waits for ours. */
	if (!ret)
		SSL_shutdown(ssl);
	ERR_clear_error();
	lf_report();
	SSL_free(ssl);
	free(t.seen);
	close(fd);
	return s[S_BAD] ? 1 : 0;
}

static int run_dgram_client(const char *src, const char *dst, int port, uint64_t bytes,
			    long kbits)
{
	static unsigned char rec[CHUNK];
	unsigned char end[2 * DGRAM_HDR];
	struct sockaddr_storage local, peer;
	socklen_t llen = make_sockaddr(&local, src, 0), plen = make_sockaddr(&peer, dst, port);
	uint64_t s[S_N], sent = 0, nrec = 0, send_errors = 0;
	int fd, ret, i, err, first_err = 0, tries = 0;
	double start_ns, deadline;
	SSL *ssl;

	fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0)
		die_errno("socket");
	tune_socket(fd);
	if (bind(fd, (struct sockaddr *)&local, llen) < 0)
		die_errno("bind");
	if (connect(fd, (struct sockaddr *)&peer, plen) < 0)
		die_errno("connect");
	conn_fd = fd;
	ssl = new_ssl(0, fd);
	handshake_start = now_ms();
	ret = SSL_connect(ssl);
	if (ret != 1)
		die_ssl(ssl, ret, "DTLS handshake (SSL_connect)");
	protect_connection(ssl, fd, SITEMH_ENTITY_CLIENT);
	printf("ready\n");

	start_ns = now_ms() * 1e6;
	while (sent < bytes) {
		int len = bytes - sent < DGRAM_MAX ? (int)(bytes - sent) : DGRAM_MAX;

		if (len < DGRAM_HDR)
			len = DGRAM_HDR;	/* a short tail still carries its number */
		make_record(rec, nrec);
		if (kbits)
			pace(start_ns, sent, kbits);
		if (!dgram_write(ssl, rec, len, &err, "SSL_write of a datagram") &&
		    !send_errors++)
			first_err = err;
		sent += len;
		nrec++;
	}

	/* "end" until the server's summary comes back, over whatever path is in use by then. */
	put_be64(end, DGRAM_END);
	put_be64(end + DGRAM_HDR, nrec);
	deadline = now_ms() + IO_TIMEOUT_S * 1e3;
	for (;;) {
		if (now_ms() > deadline)
			fail("no summary from the server for %d s", IO_TIMEOUT_S);
		if (tries < END_FAST + 1)
			set_rcvtimeo(fd, tries < END_FAST ? 50 : 1000);
		tries++;
		dgram_write(ssl, end, sizeof(end), &err, "SSL_write of the end record");
		ret = dgram_read(ssl, rec, sizeof(rec), "SSL_read of the summary");
		if (ret < 0)
			continue;
		if (!ret)
			fail("the server closed the DTLS session without a summary");
		if (ret != (int)sizeof(s) || get_be64(rec) != DGRAM_SUMMARY)
			fail("a record of %d bytes instead of the summary", ret);
		break;
	}
	for (i = 0; i < S_N; i++)
		s[i] = get_be64(rec + i * 8);
	if (s[S_SENT] != nrec)
		fail("the server counted %llu records sent, not %llu",
		     (unsigned long long)s[S_SENT], (unsigned long long)nrec);
	/* The server lingers for this; if it is lost, it gives up on its own. */
	ret = SSL_shutdown(ssl);
	if (ret < 0 && !(SSL_get_error(ssl, ret) == SSL_ERROR_SYSCALL && transient(errno)))
		die_ssl(ssl, ret, "SSL_shutdown (sending close_notify)");
	ERR_clear_error();
	if (send_errors)
		printf("send_errors %llu (first %s)\n", (unsigned long long)send_errors,
		       strerrorname_np(first_err));
	print_summary(s);
	ret = s[S_BAD] || s[S_TAIL_MISSING] || s[S_RECEIVED] > nrec ? 1 : 0;
	printf("verify %s\n", ret ? "FAILED" : "ok");
	lf_report();
	SSL_free(ssl);
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	const char *cmd;
	long kbits = 0;
	int opt;

	/* A reset connection must be a reported error, not a silent death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	{
		struct sigaction sa = { .sa_handler = unpace, .sa_flags = SA_RESTART };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
	/* Line-buffered even into a pipe or file: a script waits for "ready". */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage_exit();
	cmd = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "613udmr:")) != -1) {
		switch (opt) {
		case '6':
			family = AF_INET6;
			level = IPPROTO_IPV6;
			break;
		case '1':
			tls12 = 1;
			break;
		case '3':
			tls12 = 0;
			break;
		case 'u':
			protect = 0;
			break;
		case 'd':
			dgram = 1;
			break;
		case 'm':
			mptcp = 1;
			break;
		case 'r':
			kbits = strtol(optarg, NULL, 10);
			if (kbits <= 0)
				usage_exit();
			break;
		default:
			usage_exit();
		}
	}
	argv += optind;
	argc -= optind;
	if (dgram && mptcp)
		usage_exit();
	if (!strcmp(cmd, "server") && argc >= 2 && !kbits) {
		role = "server";
		parse_routes(argc - 2, argv + 2);
		if (dgram)
			return run_dgram_server(argv[0], atoi(argv[1]));
		return run_server(argv[0], atoi(argv[1]));
	}
	if (!strcmp(cmd, "client") && argc >= 4) {
		role = "client";
		parse_routes(argc - 4, argv + 4);
		if (dgram)
			return run_dgram_client(argv[0], argv[1], atoi(argv[2]),
						parse_bytes(argv[3]), kbits);
		return run_client(argv[0], argv[1], atoi(argv[2]), parse_bytes(argv[3]), kbits);
	}
	usage_exit();
}
