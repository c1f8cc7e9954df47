/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel headers whose declarations sitemh needs and `kernel::bindings` lacks.
 *
 * Kbuild runs the kernel's own bindgen over this file with the flags the kernel recorded
 * for its own bindings, an explicit allowlist (scripts/module-bindgen.sh) and
 * --wrap-static-fns, which turns the static inline functions listed there into real
 * symbols in the generated bindings_wrappers.c, linked into sitemh.ko.
 */
#include <linux/bottom_half.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/proc_fs.h>
#include <linux/seq_file_net.h>
#include <net/dst.h>
#include <net/ip6_route.h>
#include <net/netns/generic.h>
#include <net/route.h>

/* The UAPI: option numbers, structs and limits come from the header applications use. */
#include "../../include/uapi/linux/sitemh.h"

#include "glue.h"
#include "glue_events.h"
#include "glue_probe.h"
#include "glue_route.h"
#include "glue_sock.h"
