// SPDX-License-Identifier: GPL-2.0
/*
 * A TLS-over-TCP transfer that hands its session's security parameters to the sitemh
 * module (SITEMH_SO_SEQPARAM) and its alternative address pairs (SITEMH_SO_LFROUTES), so
 * a test can fail a provider link mid-transfer and check that the connection moves and
 * the application never notices.
 *
 *   sitemh_tls server [-6] [-1|-3] [-u] BIND_ADDR PORT ROUTES...
 *       accepts one connection, reads until close_notify, prints
 *       "bytes N sha256 HEX", "maxgap_ms M" (longest pause between two reads after the
 *       first byte) and "stall_at_ms T" (when, since the first byte, that pause began),
 *       then returns the digest to the client. Prints "listening" once connections can come.
 *   sitemh_tls client [-6] [-1|-3] [-u] [-r KBIT_S] SRC_ADDR DST_ADDR PORT BYTES ROUTES...
 *       connects from SRC_ADDR, prints "ready" once the module knows the connection,
 *       sends BYTES bytes of pseudo-random data, at most KBIT_S kbit/s with -r, ends
 *       them with close_notify and checks the server's digest: "digest match" (exit 0)
 *       or "digest MISMATCH" (exit 1).
 *
 *   -6  IPv6 (options at level IPPROTO_IPV6)   -1  TLS 1.2 (SITEMH_SEQPARAM_TLS12)
 *   -u  unprotected: no sitemh socket option   -3  TLS 1.3 (SITEMH_SEQPARAM_EXPORTER), default
 *   ROUTES  "LOCAL,PEER" address pairs, from this end's point of view, best first.
 *
 * Unless -u, both ends print "in_use I switches S" from getsockopt(SITEMH_SO_LFROUTES)
 * before they exit (I is "own" while the connection uses its own addresses). Exit 1 on
 * any failure, with the failed step on stderr; 2 on a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
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

/* Long enough to ride out a switchover, short enough that a dead connection fails. */
#define IO_TIMEOUT_S	30
/* 16 KiB is TLS's largest record: one SSL_write / SSL_read per record. */
#define CHUNK		16384
#define DIGEST_LEN	32

static int family = AF_INET;
static int level = IPPROTO_IP;
static int tls12;
static int protect = 1;
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
		"usage: sitemh_tls server [-6] [-1|-3] [-u] BIND_ADDR PORT LOCAL,PEER...\n"
		"       sitemh_tls client [-6] [-1|-3] [-u] [-r KBIT_S] SRC_ADDR DST_ADDR PORT BYTES\n"
		"                         LOCAL,PEER...\n");
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

	if (argc < 1 || argc > SITEMH_MAX_LFROUTES)
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

static void tune_socket(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		die_errno("setsockopt SO_RCVTIMEO/SO_SNDTIMEO");
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

static SSL *new_ssl(int server, int fd)
{
	/* Pin one version, so the seqparam form always matches what was negotiated. */
	int ver = tls12 ? TLS1_2_VERSION : TLS1_3_VERSION;
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	SSL *ssl;

	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, ver) ||
	    !SSL_CTX_set_max_proto_version(ctx, ver))
		fail("SSL_CTX setup");
	if (server)
		add_self_signed(ctx);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1)
		fail("SSL_new");
	SSL_CTX_free(ctx);	/* the SSL holds its own reference */
	return ssl;
}

/* Give the module the session's keys, then the routes: LFROUTES arms the switchover. */
static void protect_connection(SSL *ssl, int fd, int entity)
{
	struct sitemh_seqparam sp = { .entity = entity };
	size_t len;

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

	lfd = socket(family, SOCK_STREAM, 0);
	if (lfd < 0)
		die_errno("socket");
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

/* Sleep until @sent bytes are due at @kbits kbit/s since @start_ns (CLOCK_MONOTONIC). */
static void pace(double start_ns, uint64_t sent, long kbits)
{
	/* An absolute schedule keeps the average rate exact; a stall is caught up after. */
	double due = start_ns + sent * 8e6 / kbits;
	struct timespec ts = { .tv_sec = (time_t)(due / 1e9) };

	ts.tv_nsec = (long)(due - ts.tv_sec * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
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

	fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0)
		die_errno("socket");
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

int main(int argc, char **argv)
{
	const char *cmd;
	long kbits = 0;
	int opt;

	/* A reset connection must be a reported error, not a silent death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	/* Line-buffered even into a pipe or file: a script waits for "ready". */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage_exit();
	cmd = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "613ur:")) != -1) {
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
	if (!strcmp(cmd, "server") && argc >= 3 && !kbits) {
		role = "server";
		parse_routes(argc - 2, argv + 2);
		return run_server(argv[0], atoi(argv[1]));
	}
	if (!strcmp(cmd, "client") && argc >= 5) {
		role = "client";
		parse_routes(argc - 4, argv + 4);
		return run_client(argv[0], argv[1], atoi(argv[2]), parse_bytes(argv[3]), kbits);
	}
	usage_exit();
}
