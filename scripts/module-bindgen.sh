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

cmdfile=$objtree/rust/bindings/.bindings_generated.rs.cmd
[ -r "$cmdfile" ] || { echo "module-bindgen: $cmdfile missing: is KDIR a CONFIG_RUST build tree?" >&2; exit 1; }
cflags=$(sed -n '1s/^[^ ]* := .* -- //p' "$cmdfile" | sed -e 's/;.*$//' \
	-e 's/-Wp,-MMD,[^ ]*//' -e "s/-DKBUILD_[A-Z]*='[^']*'//g" -e 's/-D__KBUILD_MODNAME=[^ ]*//')

# Static inline functions the module calls; bindgen writes C wrappers for them.
functions='net_generic'
types=''

allow=""
for f in $functions; do allow="$allow --allowlist-function $f"; done
for t in $types; do allow="$allow --allowlist-type $t"; done

# shellcheck disable=SC2086 # word splitting of the flag lists is intended
eval "\"$bindgen\" \"$helper\" $allow --no-recursive-allowlist \
	--raw-line 'use kernel::bindings::*;' --ctypes-prefix kernel::ffi \
	--use-core --no-layout-tests --no-doc-comments \
	--experimental --wrap-static-fns --wrap-static-fns-path \"${out_c%.c}\" \
	--wrap-static-fns-suffix __sitemh \
	-o \"$out_rs\" -- $cflags -DMODULE"
