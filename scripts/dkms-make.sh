#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# dkms.conf's MAKE: build sitemh.ko against KDIR (DKMS's ${kernel_source_dir}) the way that
# kernel was built, without `make module`'s lint gates (rustfmt, clippy, warnings as
# errors), which belong to development, not to a build on another machine.
#
# usage: dkms-make.sh KDIR [IGNORED...]
# (DKMS appends CC=clang and LD=ld.lld for a clang-built kernel: ignored, the LLVM= chosen
# below names the kernel's own clang version for every tool.)
# KDIR must be a CONFIG_RUST=y build tree with its Rust metadata (the rust/ objects and
# rust/bindings/.bindings_generated.rs.cmd), and the machine must have the rustc, bindgen
# and rust-src that kernel was built with: Documentation/building.md, "Installing".
set -eu
kdir=$1
src=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "dkms-make.sh: $*" >&2; exit 1; }

[ -r "$kdir/.config" ] || die "$kdir: no .config (install the kernel's build tree)"
grep -q '^CONFIG_RUST=y' "$kdir/.config" || die "$kdir: the kernel has no Rust support (CONFIG_RUST)"
[ -r "$kdir/rust/bindings/.bindings_generated.rs.cmd" ] ||
	die "$kdir: no Rust metadata (rust/bindings/.bindings_generated.rs.cmd): headers packages without it cannot build Rust modules"

# A clang-built kernel is built with LLVM=1, or LLVM=-N when its clang is installed as clang-N.
llvm=
if grep -q '^CONFIG_CC_IS_CLANG=y' "$kdir/.config"; then
	llvm=1
	major=$(($(sed -n 's/^CONFIG_CLANG_VERSION=//p' "$kdir/.config") / 10000))
	if command -v "clang-$major" >/dev/null 2>&1; then llvm=-$major; fi
fi
exec make -C "$kdir" M="$src" ${llvm:+LLVM=$llvm} -j"$(nproc)" modules
