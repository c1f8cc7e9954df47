#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make install`: install a built sitemh.ko as kernel modules are installed, with the
# kernel's own `modules_install` (which copies, strips with INSTALL_MOD_STRIP, signs and
# compresses as that kernel's configuration says, then runs depmod), into
#   $INSTALL_MOD_PATH/lib/modules/<KDIR's kernel release>/$INSTALL_MOD_DIR/sitemh.ko
# so that `modprobe sitemh` (`modprobe -d $INSTALL_MOD_PATH sitemh`) finds it.
#
# usage: install-module.sh KDIR KO
#   KDIR  the kernel build tree KO was built against (its release names the directory)
#   KO    the built module
# environment: INSTALL_MOD_PATH (default: none, i.e. /), INSTALL_MOD_DIR (default: extra),
#   MAKE, LLVM, INSTALL_MOD_STRIP (the kernel's own variables).
#
# The module is installed from a scratch copy (KO and a modules.order naming it): the
# kernel's install rules read M=<dir>/modules.order, so KO may come from anywhere (the VM
# tests install the module they were given), and nothing is written into the source tree,
# which `sudo make install` would leave owned by root. The selftest
# selftests/sitemh_install.sh runs this same script through `make install`.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 KDIR KO" >&2; exit 2; }
kdir=$1
ko=$2
: "${INSTALL_MOD_DIR:=extra}"
# The kernel's make runs in KDIR: a relative INSTALL_MOD_PATH means here, not there.
case ${INSTALL_MOD_PATH:-} in '' | /*) ;; *) INSTALL_MOD_PATH=$PWD/$INSTALL_MOD_PATH ;; esac

die() { printf 'install-module.sh: %s\n' "$*" >&2; exit 1; }

[ -r "$ko" ] || die "$ko: no such module (run 'make module' first)"
[ -r "$kdir/include/config/kernel.release" ] ||
	die "$kdir: not a configured kernel build tree (no include/config/kernel.release)"
release=$(cat "$kdir/include/config/kernel.release")
# A module built against another kernel would land in that kernel's directory for nothing:
# the loader refuses a vermagic that is not its own.
vermagic=$(modinfo -F vermagic "$ko") || die "$ko: not a kernel module"
[ "${vermagic%% *}" = "$release" ] ||
	die "$ko was built for kernel ${vermagic%% *}, $kdir is $release: pass the KDIR it was built against"

stage=$(mktemp -d "${TMPDIR:-/tmp}/sitemh-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp "$ko" "$stage/sitemh.ko"
echo sitemh.o > "$stage/modules.order"

# The kernel's modules_install runs depmod itself (scripts/depmod.sh, with -b
# $INSTALL_MOD_PATH) when the tree has a System.map; distribution header trees have none.
# (On the command line: what a calling make passed down in MAKEFLAGS would override the
# environment.) Installing compiles nothing: the compiler and pahole versions the kernel
# Makefile asks for while it reads itself are the ones the kernel recorded, which spares
# starting the compiler twice (many seconds in the test VM, which reads it over 9p).
cc_text=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$kdir/include/config/auto.conf" 2>/dev/null || true)
pahole=$(sed -n 's/^CONFIG_PAHOLE_VERSION=//p' "$kdir/include/config/auto.conf" 2>/dev/null || true)
${MAKE:-make} -C "$kdir" M="$stage" ${LLVM:+LLVM="$LLVM"} INSTALL_MOD_PATH="${INSTALL_MOD_PATH:-}" \
	INSTALL_MOD_DIR="$INSTALL_MOD_DIR" ${cc_text:+CC_VERSION_TEXT="$cc_text"} \
	${pahole:+PAHOLE_VERSION="$pahole"} modules_install
moddir=${INSTALL_MOD_PATH:-}/lib/modules/$release
if ! grep -q "^$INSTALL_MOD_DIR/sitemh\.ko[^:]*:" "$moddir/modules.dep" 2>/dev/null; then
	depmod ${INSTALL_MOD_PATH:+-b "$INSTALL_MOD_PATH"} "$release"
fi
grep -q "^$INSTALL_MOD_DIR/sitemh\.ko[^:]*:" "$moddir/modules.dep" ||
	die "depmod did not index $moddir/$INSTALL_MOD_DIR/sitemh.ko"
echo "installed $moddir/$INSTALL_MOD_DIR/sitemh.ko (modprobe${INSTALL_MOD_PATH:+ -d $INSTALL_MOD_PATH} sitemh)"
