#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build a sitemh kernel out of tree (O=) into the cache, or reuse the cached build.
#
# usage: build-kernel.sh [test|bench|uml]
#   test  (default) tinyconfig + kernel/sitemh.config + kernel/debug.config: the debug kernel
#         `make check` runs on (KASAN, lockdep, kmemleak, UBSAN); linked as $SITEMH_CACHE/kernel
#   bench tinyconfig + kernel/sitemh.config + kernel/bench.config (pktgen): what `make bench`
#         measures on, since the debug options cost more per packet than the code under
#         test; $SITEMH_CACHE/kernel-bench
#   uml   ARCH=um tinyconfig + kernel/uml.config: User-Mode Linux, the kernel as a process
#         on this machine's CPU, for native nanoseconds in the forward-path benchmark;
#         $SITEMH_CACHE/kernel-uml (the executable is its `linux`)
#
# The build directory is keyed by what changes its output: the kernel package, the config
# fragments, and the versions of rustc, bindgen and clang. A finished build leaves a stamp;
# a build without its stamp (interrupted) is resumed by make, which only redoes what is missing.
# Prints the build directory (usable as KDIR=) on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:-test}
case "$flavour" in
test) fragments=("$SITEMH_ROOT/kernel/sitemh.config" "$SITEMH_ROOT/kernel/debug.config") link=kernel ;;
bench) fragments=("$SITEMH_ROOT/kernel/sitemh.config" "$SITEMH_ROOT/kernel/bench.config") link=kernel-bench ;;
uml) fragments=("$SITEMH_ROOT/kernel/uml.config") link=kernel-uml ;;
*) die "usage: build-kernel.sh [test|bench|uml]" ;;
esac
src=$("$SITEMH_ROOT/scripts/fetch-kernel-source.sh")
# The series and package the fetch chose (the newest the suites offer, or the pinned one).
KERNEL_SERIES=$(cat "$SITEMH_CACHE/kernel-series")
deb=$(basename "$(ls -1 "$SITEMH_CACHE"/debs/linux-source-"$KERNEL_SERIES"_*.deb | sort -V | tail -n 1)")

command -v rustc >/dev/null || die "rustc not found: run 'make setup'"
command -v bindgen >/dev/null || die "bindgen not found: run 'make setup'"
command -v "clang-$LLVM_VERSION" >/dev/null || die "clang-$LLVM_VERSION not found: run 'make setup'"

key=$({
	echo "$deb"
	cat "${fragments[@]}"
	# (The test flavour's key predates flavours: it stays the hash of the same text.)
	[ "$flavour" = test ] || echo "flavour $flavour"
	rustc --version
	bindgen --version
	"clang-$LLVM_VERSION" --version | head -n 1
} | sha256sum | cut -c1-16)
out=$SITEMH_CACHE/build/$KERNEL_SERIES-$key
[ "$flavour" = test ] || out=$out-$flavour
stamp=$out/.sitemh-built
kmake=(make -C "$src" O="$out" LLVM="-$LLVM_VERSION" -j"$(($(nproc) + 1))")
[ "$flavour" != uml ] || kmake+=(ARCH=um)

exec 9>"$SITEMH_CACHE/kernel-build.lock"
flock 9

if [ -e "$stamp" ]; then
	log "kernel cached: $out"
else
	mkdir -p "$out"
	if [ ! -e "$out/.config" ]; then
		log "configuring $deb ($flavour: tinyconfig + ${fragments[*]##*/}) in $out"
		"${kmake[@]}" -s tinyconfig
		cat "${fragments[@]}" >> "$out/.config"
		"${kmake[@]}" -s olddefconfig 2>&1 | { grep -v "override: reassigning" >&2 || true; }
		# Kconfig silently drops options whose dependencies fail: refuse that.
		bad=0
		while IFS= read -r line; do
			case "$line" in '' | '#'*) continue ;; esac
			opt=${line%%=*}
			val=${line#*=}
			if [ "$val" = n ]; then
				grep -qx "$opt=y" "$out/.config" && { log "Kconfig kept $opt=y"; bad=1; }
			else
				grep -qx "$line" "$out/.config" || { log "Kconfig refused $line (got: $(grep "^$opt=" "$out/.config" || echo unset))"; bad=1; }
			fi
		done < <(cat "${fragments[@]}")
		if [ $bad -ne 0 ]; then
			rm -f "$out/.config"
			die "${fragments[*]##*/} do not apply cleanly (see above); 'make -C $src O=$out rustavailable' tells about Rust"
		fi
	fi
	log "building the kernel in $out (about 15-40 minutes on 2 cores; cached afterwards)"
	start=$(date +%s)
	"${kmake[@]}" -s
	touch "$stamp"
	log "kernel built in $(($(date +%s) - start)) s"
fi
ln -sfn "$out" "$SITEMH_CACHE/$link"
echo "$out"
