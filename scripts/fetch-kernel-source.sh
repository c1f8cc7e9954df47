#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Download the newest Debian linux-source-7.N package (N >= 3) and unpack it into the cache.
#
# The packages live in newer suites than the machine's own (trixie-backports, sid), and
# those suites move on: when 7.4 arrives, 7.3 leaves. So the series is not fixed: every run
# asks the suites which linux-source-7.N they offer and takes the newest series (and its
# newest version) at or above $KERNEL_MIN_SERIES; KERNEL_SERIES=7.N in the environment pins
# one. A throw-away apt configuration points at the mirror the machine already uses and only
# `apt-get download`s the one .deb: nothing from those suites is installed into the system.
# Without the network, the newest package already in the cache is used.
# The series chosen is written to $SITEMH_CACHE/kernel-series (the build's cache key has
# the package's file name, so a new series or version builds afresh).
# Prints the path of the unpacked source tree on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

debs=$SITEMH_CACHE/debs
srcroot=$SITEMH_CACHE/src
mkdir -p "$debs" "$srcroot"
KERNEL_MIN_SERIES=${KERNEL_MIN_SERIES:-7.3}

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

# at_least A B: version A >= B (dpkg's ordering).
at_least() {
	dpkg --compare-versions "$1" ge "$2"
}

# newest_offer: "package version" of the newest linux-source-7.N (N >= the minimum, or the
# pinned series) that the suites offer, after an `apt-get update` of a throw-away state.
# Fails when no suite answers or none offers one.
newest_offer() {
	local mirror suite tmp
	mirror=$(find_mirror) || { log "no Debian mirror found in /etc/apt/sources.list{,.d}"; return 1; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/etc/preferences.d"
	: > "$tmp/etc/preferences"
	for suite in $KERNEL_SUITES; do
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main"
	done > "$tmp/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=$tmp/sources.list"
		-o "Dir::Etc::SourceParts=/dev/null"
		-o "Dir::Etc::Preferences=$tmp/etc/preferences"
		-o "Dir::Etc::PreferencesParts=$tmp/etc/preferences.d"
		-o "Dir::State::Lists=$tmp/lists"
		-o "Dir::State::Status=/dev/null"
		-o "Dir::Cache=$tmp/cache"
		-o "APT::Get::List-Cleanup=0"
		-o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
	log "asking $KERNEL_SUITES at $mirror for linux-source-7.N"
	apt-get "${apt_opts[@]}" -qq update >&2 || { log "the suites are not reachable"; return 1; }
	local pkg series version best_pkg= best_series= best_version=
	while read -r pkg; do
		series=${pkg#linux-source-}
		if [ -n "${KERNEL_SERIES:-}" ]; then
			[ "$series" = "$KERNEL_SERIES" ] || continue
		else
			at_least "$series" "$KERNEL_MIN_SERIES" || continue
		fi
		while read -r version; do
			if [ -z "$best_pkg" ] || at_least "$series" "$best_series" &&
				{ [ "$series" != "$best_series" ] || at_least "$version" "$best_version"; }; then
				best_pkg=$pkg best_series=$series best_version=$version
			fi
		done < <(apt-cache "${apt_opts[@]}" madison "$pkg" | awk -F '|' '{ gsub(/ /, "", $2); print $2 }')
	done < <(apt-cache "${apt_opts[@]}" pkgnames linux-source-7. | grep -E '^linux-source-7\.[0-9]+$')
	[ -n "$best_pkg" ] || { log "no suite offers linux-source-${KERNEL_SERIES:-7.N >= $KERNEL_MIN_SERIES}"; return 1; }
	# Download it unless the cache has that version already.
	local file=${best_pkg}_${best_version/:/%3a}_all.deb
	if [ ! -e "$debs/$file" ]; then
		log "downloading $best_pkg $best_version"
		(cd "$debs" && apt-get "${apt_opts[@]}" -qq download "$best_pkg=$best_version") >&2 || return 1
	fi
	echo "$best_pkg $best_version"
}

# The newest cached package (of the pinned series, if any), when the suites cannot be asked.
newest_cached() {
	ls -1 "$debs"/linux-source-"${KERNEL_SERIES:-7.}"*_*.deb 2>/dev/null | sort -V | tail -n 1
}

deb=
if offer=$(newest_offer); then
	read -r pkg version <<< "$offer"
	deb=$(ls -1 "$debs"/"$pkg"_*.deb | sort -V | tail -n 1)
else
	deb=$(newest_cached)
	[ -n "$deb" ] || die "no linux-source-7.N (N >= $KERNEL_MIN_SERIES) found in $KERNEL_SUITES, none cached (set KERNEL_SUITES or KERNEL_SERIES)"
	log "using the cached $(basename "$deb")"
fi
series=$(basename "$deb")
series=${series#linux-source-}
series=${series%%_*}
echo "$series" > "$SITEMH_CACHE/kernel-series"

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
tree=$(ls -d "$srcroot"/linux-source-"$series"/ | head -n 1)
echo "${tree%/}"
