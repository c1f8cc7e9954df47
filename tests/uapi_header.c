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

int main(void)
{
	return 0;
}
