#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Generate sitemh's own bindings with the kernel's bindgen flags (called from Kbuild).
#
# usage: module-bindgen.sh BINDGEN KERNEL_OBJTREE HELPER_H OUT_RS OUT_WRAPPERS_C
#
# The C flags are the ones the kernel build recorded for its own bindings
# (rust/bindings/.bindings_generated.rs.cmd), minus the dependency-file and module-name
# defines that belong to that one target. Only the allowlisted items are generated
# (--no-recursive-allowlist): everything else comes from `kernel::bindings`.
set -eu
bindgen=$1 objtree=$2 helper=$3 out_rs=$4 out_c=$5

# The recorded flags name include directories relative to the kernel's object tree, so
# bindgen runs there; our own paths are made absolute first.
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
helper=$(abs "$helper") out_rs=$(abs "$out_rs") out_c=$(abs "$out_c")
cd "$objtree"
objtree=.

cmdfile=$objtree/rust/bindings/.bindings_generated.rs.cmd
[ -r "$cmdfile" ] || { echo "module-bindgen: $cmdfile missing: is KDIR a CONFIG_RUST build tree?" >&2; exit 1; }
cflags=$(sed -n '1s/^[^ ]* := .* -- //p' "$cmdfile" | sed -e 's/;.*$//' \
	-e 's/-Wp,-MMD,[^ ]*//' -e "s/-DKBUILD_[A-Z]*='[^']*'//g" -e 's/-D__KBUILD_MODNAME=[^ ]*//')

# What the module calls. Static inline functions among them get C wrappers.
functions='net_generic
	nf_register_net_hooks nf_unregister_net_hooks
	ip_hdr ipv6_hdr skb_rtable skb_dst_set skb_dst_drop
	dst_release synchronize_net
	dev_get_by_name dev_put dev_get_by_index_rcu
	register_netdevice_notifier_net unregister_netdevice_notifier_net
	proc_create_net_single remove_proc_entry seq_file_single_net
	nf_register_sockopt nf_unregister_sockopt
	sitemh_.*'
# Types, as regular expressions so that the anonymous unions inside them come along.
types='netdev_cmd sitemh_route_cache nf_hook_ops nf_hook_state nf_hookfn nf_hook_ops_type
	iphdr.* ipv6hdr.* rtable nf_sockopt_ops sitemh_local_addr netdev_notifier_info
	sitemh_aead sitemh_ticker sitemh_reroute sitemh_dev_change sitemh_netdev_watch
	sitemh_netdev_fn sitemh_long_work sitemh_event sitemh_event_addr sitemh_event_type sitemh_attr
	sitemh_addr_pair.* sitemh_rank_info sitemh_ranked_pair.* sitemh_pairs.* sitemh_srcaddrs.*
	sitemh_careof.* sitemh_lfroutes.* sitemh_seqparam'
# The UAPI header's constants (option numbers, limits, codes).
vars='SITEMH_.*'
# Types whose insides the module never touches: size and alignment only.
opaque='sitemh_route_cache rtable netdev_notifier_info sitemh_aead sitemh_ticker sitemh_netdev_watch
	sitemh_long_work'

allow=""
for f in $functions; do allow="$allow --allowlist-function $f"; done
for t in $types; do allow="$allow --allowlist-type '$t'"; done
for t in $opaque; do allow="$allow --opaque-type $t"; done
for v in $vars; do allow="$allow --allowlist-var '$v'"; done

# shellcheck disable=SC2086 # word splitting of the flag lists is intended
eval "\"$bindgen\" \"$helper\" $allow --no-recursive-allowlist \
	--raw-line 'use kernel::bindings::*;' --ctypes-prefix kernel::ffi \
	--rust-target 1.85 --use-core --with-derive-default --no-layout-tests --no-doc-comments \
	--experimental --wrap-static-fns --wrap-static-fns-path \"${out_c%.c}\" \
	--wrap-static-fns-suffix __sitemh \
	-o \"$out_rs\" -- $cflags -DMODULE \
	-DKBUILD_MODNAME='\"sitemh\"' -D__KBUILD_MODNAME=sitemh -DKBUILD_BASENAME='\"sitemh\"'"
