// SPDX-License-Identifier: GPL-2.0
/* The UAPI header compiles on its own, as C and as C++, and its layout is what it says. */
#include <linux/sitemh.h>
#include <stddef.h>

#ifdef __cplusplus
#define _Static_assert static_assert
#endif


_Static_assert(sizeof(struct sitemh_addr_pair) == 8, "addr_pair is two IPv4 addresses");
_Static_assert(offsetof(struct sitemh_addr_pair, dst) == 4, "dst follows src");
_Static_assert(sizeof(struct sitemh_addr_pair6) == 32, "addr_pair6 is two IPv6 addresses");
_Static_assert(SITEMH_MAX_DOMAINS == 16, "the draft allows 16 domains");
_Static_assert(SITEMH_DHCP_OPTION_DOMAINS >= 224 && SITEMH_DHCP_OPTION_DOMAINS <= 254,
	       "the DHCP option is site-specific (RFC 3942)");
/* The ABI as applications see it (the module checks its own encodings against the same
 * header at build time: rust/ffi/uapi.rs). */
_Static_assert(sizeof(struct sitemh_rank_info) == 24, "rank info");
_Static_assert(sizeof(struct sitemh_ranked_pair) == 32, "ranked pair");
_Static_assert(offsetof(struct sitemh_ranked_pair, info) == 8, "ranked pair info");
_Static_assert(sizeof(struct sitemh_ranked_pair6) == 56, "ranked pair6");
_Static_assert(offsetof(struct sitemh_ranked_pair6, info) == 32, "ranked pair6 info");
_Static_assert(offsetof(struct sitemh_rank_info, flags) == 16, "flags");
_Static_assert(sizeof(struct sitemh_pairs) == 16 + 16 * 4, "pairs header");
_Static_assert(offsetof(struct sitemh_pairs, pair) == 80, "pairs answers");
_Static_assert(sizeof(struct sitemh_pairs6) == 16 + 16 * 16, "pairs6 header");
_Static_assert(offsetof(struct sitemh_pairs6, pair) == 272, "pairs6 answers");
_Static_assert(SITEMH_SO_PAIRS == 0x5348, "option numbers are ABI");
_Static_assert(SITEMH_SO_LFROUTES == 0x5349 && SITEMH_SO_SEQPARAM == 0x534a &&
	       SITEMH_SO_LFSTAT == 0x534b, "switchover option numbers are ABI");
/* The lengths the module checks (rust/logic/sockopt.rs, asserted in rust/ffi/uapi.rs). */
_Static_assert(sizeof(struct sitemh_seqparam) == 156, "seqparam: 4 + 48 + 32 + 32 + 40");
_Static_assert(offsetof(struct sitemh_seqparam, master_secret) == 4, "master secret");
_Static_assert(offsetof(struct sitemh_seqparam, client_random) == 52, "client random");
_Static_assert(offsetof(struct sitemh_seqparam, server_random) == 84, "server random");
_Static_assert(offsetof(struct sitemh_seqparam, exported) == 116, "exported");
_Static_assert(sizeof(struct sitemh_lfroutes) == 4 + 16 * 8, "lfroutes");
_Static_assert(offsetof(struct sitemh_lfroutes6, routes) == 4, "lfroutes6 routes");
_Static_assert(sizeof(struct sitemh_lfroutes6) == 4 + 16 * 32, "lfroutes6");
_Static_assert(SITEMH_SO_CAREOF == 0x534d, "care-of option number is ABI");
_Static_assert(sizeof(struct sitemh_careof) == 8 && offsetof(struct sitemh_careof, careof) == 4,
	       "careof: home, then care-of address");
_Static_assert(sizeof(struct sitemh_careof6) == 32 && offsetof(struct sitemh_careof6, careof) == 16,
	       "careof6: home, then care-of address");

int main(void)
{
	return 0;
}
