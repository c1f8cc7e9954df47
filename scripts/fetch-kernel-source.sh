#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Download Debian's linux-source-$KERNEL_SERIES package and unpack it into the cache.
#
# The package lives in newer suites than the machine's own (trixie-backports, sid), so we
# point a throw-away apt configuration at the mirror the machine already uses and only
# `apt-get download` the one .deb: nothing from those suites is installed into the system.
# Prints the path of the unpacked source tree on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

debs=$SITEMH_CACHE/debs
srcroot=$SITEMH_CACHE/src
mkdir -p "$debs" "$srcroot"
pkg=linux-source-$KERNEL_SERIES

# The Debian mirror of this machine: the first URI of a non-security Debian source.
mirror_uri() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] || continue
		awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -e "$f" ] || continue
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' "$f"
	done
}

find_mirror() {
	local uri
	while read -r uri; do
		case "$uri" in
		*security*) ;;
		*/debian | */debian/) echo "${uri%/}"; return 0 ;;
		esac
	done < <(mirror_uri)
	return 1
}

download_deb() {
	local mirror suite tmp
	mirror=$(find_mirror) || die "no Debian mirror found in /etc/apt/sources.list{,.d}"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/etc/preferences.d"
	: > "$tmp/etc/preferences"
	for suite in $KERNEL_SUITES; do
		log "looking for $pkg in $suite at $mirror"
		cat > "$tmp/sources.list" <<-SRC
		deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main
		SRC
		local opts=(-o "Dir::Etc::SourceList=$tmp/sources.list"
			-o "Dir::Etc::SourceParts=/dev/null"
			-o "Dir::Etc::Preferences=$tmp/etc/preferences"
			-o "Dir::Etc::PreferencesParts=$tmp/etc/preferences.d"
			-o "Dir::State::Lists=$tmp/lists"
			-o "Dir::State::Status=/dev/null"
			-o "Dir::Cache=$tmp/cache"
			-o "APT::Get::List-Cleanup=0"
			-o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
		if ! apt-get "${opts[@]}" -qq update >&2; then
			log "suite $suite not reachable, trying the next"
			continue
		fi
		if ! apt-cache "${opts[@]}" show "$pkg" >/dev/null 2>&1; then
			log "$pkg not in $suite"
			continue
		fi
		(cd "$debs" && apt-get "${opts[@]}" -qq download "$pkg") >&2 && return 0
	done
	die "package $pkg not found in any of: $KERNEL_SUITES (set KERNEL_SUITES or KERNEL_SERIES)"
}

deb=$(ls -1 "$debs"/"${pkg}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$deb" ]; then
	download_deb
	deb=$(ls -1 "$debs"/"${pkg}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
	[ -n "$deb" ] || die "download of $pkg produced no .deb"
fi

# Unpack once per .deb; the stamp names the .deb so a newer package unpacks afresh.
stamp=$srcroot/.unpacked-$(basename "$deb")
if [ ! -e "$stamp" ]; then
	log "unpacking $(basename "$deb")"
	rm -rf "$srcroot"/linux-source-* "$srcroot"/.unpacked-* "$srcroot/tmp"
	mkdir -p "$srcroot/tmp"
	dpkg-deb -x "$deb" "$srcroot/tmp"
	tarball=$(ls "$srcroot"/tmp/usr/src/linux-source-*.tar.* | head -n 1)
	tar -C "$srcroot" -xaf "$tarball"
	rm -rf "$srcroot/tmp"
	touch "$stamp"
fi
tree=$(ls -d "$srcroot"/linux-source-*/ | head -n 1)
echo "${tree%/}"
