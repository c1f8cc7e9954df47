/* SPDX-License-Identifier: GPL-2.0+ WITH Linux-syscall-note */
/*
 * sitemh: site multihoming for stub networks (draft-shyam-site-multi-38).
 *
 * The user-space interface of the sitemh module. Configuration is per network namespace
 * through sysctl:
 *
 *   net.ipv4.ip_num_domains   IPCTL_NUM_DOMAINS: number of IP domains, 0..SITEMH_MAX_DOMAINS
 *   net.ipv6.ip_num_domains   the same for IPv6
 */
#ifndef _UAPI_LINUX_SITEMH_H
#define _UAPI_LINUX_SITEMH_H

#include <linux/types.h>
#include <linux/in.h>
#include <linux/in6.h>

/* The draft's limit on the IP domains of one site (per address family and namespace). */
#define SITEMH_MAX_DOMAINS	16

/* The draft's ICMP type for "link failure" messages (a module parameter may change it). */
#define SITEMH_ICMP_LINK_FAILURE	41

/*
 * struct sitemh_addr_pair - one (source, destination) address pair (the draft's
 * struct addr_pair), in network byte order.
 * @src: local address.
 * @dst: peer address.
 */
struct sitemh_addr_pair {
	struct in_addr src;
	struct in_addr dst;
};

/*
 * struct sitemh_addr_pair6 - the IPv6 form of struct sitemh_addr_pair.
 * @src: local address.
 * @dst: peer address.
 */
struct sitemh_addr_pair6 {
	struct in6_addr src;
	struct in6_addr dst;
};

#endif /* _UAPI_LINUX_SITEMH_H */
