/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel headers whose declarations sitemh needs and `kernel::bindings` lacks.
 *
 * Kbuild runs the kernel's own bindgen over this file with the flags the kernel recorded
 * for its own bindings, an explicit allowlist (scripts/module-bindgen.sh) and
 * --wrap-static-fns, which turns the static inline functions listed there into real
 * symbols in the generated bindings_wrappers.c, linked into sitemh.ko.
 */
#include <net/netns/generic.h>
