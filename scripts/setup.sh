#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install everything sitemh needs to build its kernel, build the module and run the tests
# on a Debian 12 machine. Idempotent: a second run checks and returns in seconds.
# Needs root (apt-get) and the rustup toolchain the machine ships.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Versions we pin: bindgen-cli must be >= 0.71.1 for the 7.3 kernel.
BINDGEN_VERSION=0.72.1
# cargo-fuzz runs the libFuzzer targets of rust/fuzz (scripts/fuzz.sh).
CARGO_FUZZ_VERSION=0.13.2
VIRTME_NG_VERSION=1.42

# Debian packages: kernel build, VM, and every tool the tests run inside the guest (the
# guest sees the host's root file system).
DEB_PACKAGES=(
	build-essential flex bison bc libelf-dev libssl-dev cpio kmod rsync python3 python3-venv
	"clang-$LLVM_VERSION" "libclang-$LLVM_VERSION-dev" "lld-$LLVM_VERSION" "llvm-$LLVM_VERSION"
	qemu-system-x86 busybox-static
	iproute2 iputils-ping procps nftables tcpdump iperf3 openssl socat ethtool python3-cryptography
	radvd dnsmasq-base isc-dhcp-client
	# mptcpize (mptcpd's converter: make bench runs stock iperf3 over MPTCP, the comparison
	# for sitemh_lf.auto)
	mptcpize
	# perf: the forward benchmark's developer profile (PROFILE=1 scripts/vm-run.sh
	# bench-forward) samples the guest by its clock
	linux-perf
)

missing_debs() {
	local p
	for p in "${DEB_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			echo "$p"
	done
}

install_debs() {
	local missing
	mapfile -t missing < <(missing_debs)
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "need root to install: ${missing[*]}"
	log "installing Debian packages: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	mapfile -t missing < <(missing_debs)
	[ ${#missing[@]} -eq 0 ] || die "apt-get did not install: ${missing[*]}"
}

# The kernel builds core/alloc from the toolchain's own library sources.
install_rust_src() {
	command -v rustc >/dev/null || die "rustc not found (expected the rustup toolchain in ~/.cargo/bin)"
	local sysroot
	sysroot=$(rustc --print sysroot)
	[ -d "$sysroot/lib/rustlib/src/rust/library/core" ] && return 0
	log "adding the rust-src component"
	if rustup component add rust-src >&2; then
		return 0
	fi
	# Fallback: Debian's rust-src, only if it is the same rustc version.
	local want have
	want=$(rustc --version | awk '{print $2}')
	have=$(apt-cache policy rust-src 2>/dev/null | awk '/Candidate:/ {print $2}')
	case "$have" in
	"$want"* | *:"$want"*)
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rust-src >/dev/null
		[ -d "/usr/src/rustc-$want/library/core" ] ||
			die "Debian's rust-src $have did not provide /usr/src/rustc-$want/library"
		mkdir -p "$sysroot/lib/rustlib/src/rust"
		ln -sfn "/usr/src/rustc-$want/library" "$sysroot/lib/rustlib/src/rust/library"
		;;
	*) die "rustup cannot fetch rust-src and Debian's rust-src ($have) is not rustc $want" ;;
	esac
}

install_bindgen() {
	if bindgen --version 2>/dev/null | grep -qx "bindgen $BINDGEN_VERSION"; then
		return 0
	fi
	log "installing bindgen-cli $BINDGEN_VERSION with cargo"
	cargo install --locked --quiet bindgen-cli --version "$BINDGEN_VERSION" >&2
}

install_cargo_fuzz() {
	if cargo fuzz --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
		return 0
	fi
	log "installing cargo-fuzz $CARGO_FUZZ_VERSION with cargo"
	cargo install --locked --quiet cargo-fuzz --version "$CARGO_FUZZ_VERSION" >&2
}

install_virtme_ng() {
	local venv=$SITEMH_CACHE/venv
	if "$venv/bin/vng" --version 2>/dev/null | grep -qx "virtme-ng $VIRTME_NG_VERSION"; then
		return 0
	fi
	log "installing virtme-ng $VIRTME_NG_VERSION into $venv"
	mkdir -p "$SITEMH_CACHE"
	python3 -m venv "$venv"
	"$venv/bin/pip" install --quiet --disable-pip-version-check "virtme-ng==$VIRTME_NG_VERSION" >&2
}

install_debs
install_rust_src
install_bindgen
install_cargo_fuzz
install_virtme_ng
log "set-up complete"
