// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * sitemh_protect_ssl(): protects the TCP (or DTLS-over-UDP) connection under an OpenSSL
 * session with one call; see include/sitemh.h. Kept apart from sitemh.c so that only
 * programs that call it link OpenSSL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "sitemh.h"

/* The session's security parameters, as the module's SITEMH_SO_SEQPARAM takes them. */
static int security_parameters(SSL *ssl, struct sitemh_seqparam *sp)
{
	int version = SSL_version(ssl);

	sp->entity = SSL_is_server(ssl) ? SITEMH_ENTITY_SERVER : SITEMH_ENTITY_CLIENT;
	if (version == TLS1_3_VERSION) {
		sp->form = SITEMH_SEQPARAM_EXPORTER;
		if (SSL_export_keying_material(ssl, sp->exported, SITEMH_EXPORTER_LEN,
					       SITEMH_EXPORTER_LABEL, strlen(SITEMH_EXPORTER_LABEL),
					       NULL, 0, 0) != 1)
			return -EIO;
		return 0;
	}
	if (version != TLS1_2_VERSION && version != DTLS1_2_VERSION)
		return -EPROTONOSUPPORT;
	sp->form = SITEMH_SEQPARAM_TLS12;
	if (SSL_SESSION_get_master_key(SSL_get_session(ssl), sp->master_secret,
				       sizeof(sp->master_secret)) != sizeof(sp->master_secret) ||
	    SSL_get_client_random(ssl, sp->client_random, sizeof(sp->client_random)) !=
	    sizeof(sp->client_random) ||
	    SSL_get_server_random(ssl, sp->server_random, sizeof(sp->server_random)) !=
	    sizeof(sp->server_random))
		return -EIO;
	return 0;
}

int sitemh_protect_ssl(struct ssl_st *ssl)
{
	struct sitemh_seqparam sp;
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	int fd, level, err;

	if (!ssl) {
		errno = EINVAL;
		return -EINVAL;
	}
	if (!SSL_is_init_finished(ssl)) {
		errno = EAGAIN;
		return -EAGAIN;
	}
	fd = SSL_get_fd(ssl);
	if (fd < 0) {
		errno = EBADF;
		return -EBADF;
	}
	if (getsockname(fd, (struct sockaddr *)&local, &len) < 0)
		return -errno;
	switch (local.ss_family) {
	case AF_INET:
		level = IPPROTO_IP;
		break;
	case AF_INET6:
		level = IPPROTO_IPV6;
		break;
	default:
		errno = EAFNOSUPPORT;
		return -EAFNOSUPPORT;
	}
	memset(&sp, 0, sizeof(sp));
	err = security_parameters(ssl, &sp);
	if (!err && setsockopt(fd, level, SITEMH_SO_SEQPARAM, &sp, sizeof(sp)) < 0)
		err = -errno;
	OPENSSL_cleanse(&sp, sizeof(sp));
	if (err)
		errno = -err;
	return err;
}
