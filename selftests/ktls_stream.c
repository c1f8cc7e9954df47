// SPDX-License-Identifier: GPL-2.0
/*
 * A kernel TLS stream, as a kTLS-enabled TLS library leaves a connection after its
 * handshake: TCP_ULP "tls", then TLS_TX and TLS_RX with the session's AES-GCM-128 keys.
 * The handshake itself is left out (the two ends are given the keys on the command line:
 * the kernel's record layer is what is under test), and there is no sitemh code here: with
 * net.ipv4.sitemh_lf.ktls=1 the module protects the connection on its own (issue 19).
 *
 *   ktls_stream server ADDR PORT KEYS
 *   ktls_stream client [-r KBIT/S] BIND ADDR PORT BYTES KEYS
 *
 * KEYS: 96 hex digits, the client's write key, salt and IV (16 + 4 + 4 octets: the IV's
 * first 4 octets; the rest is 0) then the server's, as a library derives them from its
 * master secret. The client sends BYTES of pseudo-random data through kTLS (paced at
 * KBIT/S), the server reads them; each prints "bytes N sha256 HEX" (the server also
 * "listening" first, the client "ready" once kTLS is on). Exit 0 on success.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef TCP_ULP
#define TCP_ULP 31
#endif
#ifndef SOL_TLS
#define SOL_TLS 282
#endif

static int hex_octets(const char *hex, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = v;
	}
	return 0;
}

/* One direction's state as a library hands it to the kernel. */
static void crypto_info(struct tls12_crypto_info_aes_gcm_128 *ci, const unsigned char *k)
{
	memset(ci, 0, sizeof(*ci));
	ci->info.version = TLS_1_3_VERSION;
	ci->info.cipher_type = TLS_CIPHER_AES_GCM_128;
	memcpy(ci->key, k, 16);
	memcpy(ci->salt, k + 16, 4);
	memcpy(ci->iv, k + 20, 4);
}

static int ktls_on(int fd, const char *hex, int is_client)
{
	unsigned char keys[48];
	struct tls12_crypto_info_aes_gcm_128 tx, rx;

	if (strlen(hex) != 96 || hex_octets(hex, keys, 48) < 0) {
		fprintf(stderr, "KEYS: 96 hex digits\n");
		return -1;
	}
	crypto_info(&tx, is_client ? keys : keys + 24);
	crypto_info(&rx, is_client ? keys + 24 : keys);
	if (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) < 0 ||
	    setsockopt(fd, SOL_TLS, TLS_TX, &tx, sizeof(tx)) < 0 ||
	    setsockopt(fd, SOL_TLS, TLS_RX, &rx, sizeof(rx)) < 0) {
		perror("kTLS");
		return -1;
	}
	return 0;
}

static void print_digest(unsigned long long bytes, EVP_MD_CTX *sha)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	EVP_DigestFinal_ex(sha, md, &len);
	EVP_MD_CTX_free(sha);
	printf("bytes %llu sha256 ", bytes);
	for (unsigned int i = 0; i < len; i++)
		printf("%02x", md[i]);
	printf("\n");
	fflush(stdout);
}

static int server(const char *addr, int port, const char *keys)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	unsigned long long total = 0;
	char buf[16384];
	EVP_MD_CTX *sha = EVP_MD_CTX_new();
	int one = 1, lfd, fd;
	ssize_t n;

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return 2;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(lfd, 1) < 0) {
		perror("listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0 || ktls_on(fd, keys, 0) < 0)
		return 1;
	if (!sha || !EVP_DigestInit_ex(sha, EVP_sha256(), NULL))
		return 1;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(sha, buf, n);
		total += n;
	}
	if (n < 0)
		perror("read");
	print_digest(total, sha);
	return n < 0;
}

static int client(int kbps, const char *bind_addr, const char *addr, int port,
		  unsigned long long bytes, const char *keys)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(port) };
	unsigned long long sent = 0;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	struct timespec start, now;
	unsigned char buf[16384];
	EVP_MD_CTX *sha = EVP_MD_CTX_new();
	int fd;

	if (inet_pton(AF_INET, bind_addr, &src.sin_addr) != 1 ||
	    inet_pton(AF_INET, addr, &dst.sin_addr) != 1)
		return 2;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		perror("connect");
		return 1;
	}
	if (ktls_on(fd, keys, 1) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	if (!sha || !EVP_DigestInit_ex(sha, EVP_sha256(), NULL))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (sent < bytes) {
		size_t len = bytes - sent < sizeof(buf) ? bytes - sent : sizeof(buf);
		size_t off = 0;

		for (size_t i = 0; i < len; i++) {
			/* xorshift64: data that does not compress, the same every run. */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		EVP_DigestUpdate(sha, buf, len);
		while (off < len) {
			ssize_t n = write(fd, buf + off, len - off);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				perror("write");
				return 1;
			}
			off += n;
		}
		sent += len;
		if (kbps > 0) {
			/* Ahead of the pace: wait until the bytes sent are due. */
			double due = sent * 8.0 / (kbps * 1000.0), elapsed;

			clock_gettime(CLOCK_MONOTONIC, &now);
			elapsed = now.tv_sec - start.tv_sec + (now.tv_nsec - start.tv_nsec) / 1e9;
			if (due > elapsed)
				usleep((useconds_t)((due - elapsed) * 1e6));
		}
	}
	shutdown(fd, SHUT_WR);
	/* Until the server has read everything and closed. */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	print_digest(sent, sha);
	return 0;
}

int main(int argc, char **argv)
{
	int kbps = 0;

	if (argc == 5 && !strcmp(argv[1], "server"))
		return server(argv[2], atoi(argv[3]), argv[4]);
	if (argc >= 7 && !strcmp(argv[1], "client")) {
		int a = 2;

		if (!strcmp(argv[a], "-r") && argc == 9) {
			kbps = atoi(argv[a + 1]);
			a += 2;
		}
		if (argc - a == 5)
			return client(kbps, argv[a], argv[a + 1], atoi(argv[a + 2]),
				      strtoull(argv[a + 3], NULL, 10), argv[a + 4]);
	}
	fprintf(stderr, "usage: ktls_stream server ADDR PORT KEYS\n"
			"       ktls_stream client [-r KBIT/S] BIND ADDR PORT BYTES KEYS\n");
	return 2;
}
