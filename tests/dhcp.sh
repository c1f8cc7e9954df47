#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Host tests of the IPv4 domain table from DHCP (option 224): the client hook's decoder
# with good and bad options, the hook's state handling against a stand-in sysctl file, and
# the operators' generator (scripts/sitemh-dhcp-option) round-tripping through the decoder.
# Prints one "PASS|FAIL<TAB>case<TAB>detail" line per case (scripts/host-tests.sh records
# them as host:dhcp:<case>).
#
# The hook runs where dhclient-script runs it: sourced by /bin/sh (dash on Debian) from
# inside a function. SITEMH_DHCP_SH names another shell to run it with.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
hook=$root/etc/dhcp/dhclient-exit-hooks.d/sitemh
gen=$root/scripts/sitemh-dhcp-option
sh=${SITEMH_DHCP_SH:-dash}
command -v "$sh" >/dev/null || sh=sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

result() { # STATUS CASE [DETAIL]
	local detail=${3:-}
	detail=${detail//$'\n'/ | }
	printf '%s\t%s\t%s\n' "$1" "$2" "${detail//$'\t'/ }"
}

# Each case collects its complaints in $why; none is a pass.
why=
fail() { why="${why:+$why; }$*"; }
done_case() {
	if [ -z "$why" ]; then result PASS "$1"; else result FAIL "$1" "$why"; fi
	why=
}

# decode OCTETS [SHELL]: "OK <table>" or "ERR <reason>", from the hook's decoder.
decode() {
	${2:-$sh} -c '. "$0"; if sitemh_dhcp_decode "$1"; then echo "OK $sitemh_dhcp_table"; else echo "ERR $sitemh_dhcp_error"; fi' \
		"$hook" "$1"
}

# want_ok OCTETS TABLE / want_err OCTETS REASON-GLOB [SHELL]
want_ok() {
	local got
	got=$(decode "$1" "${3:-}")
	[ "$got" = "OK $2" ] || fail "'$1': got '$got', want 'OK $2'"
}
want_err() {
	local got
	got=$(decode "$1" "${3:-}")
	# shellcheck disable=SC2053 # $2 is a glob
	[[ $got == "ERR "$2 ]] || fail "'$1': got '$got', want ERR $2"
}

example_octets="24 198 51 100 198 51 100 129 24 203 0 113 203 0 113 130 16 10 99 0 0 0 0"
example_table="198.51.100.0/24 198.51.100.129, 203.0.113.0/24 203.0.113.130, 10.99.0.0/16 private"

# N domains 10.I.0.0/16 via 192.0.2.(I+1), as octets and as the table.
many_octets() {
	local i out=
	for ((i = 0; i < $1; i++)); do out="$out 16 10 $i 192 0 2 $((i + 1))"; done
	echo "${out# }"
}
many_table() {
	local i out=
	for ((i = 0; i < $1; i++)); do out="$out, 10.$i.0.0/16 192.0.2.$((i + 1))"; done
	echo "${out#, }"
}

decoder_vectors_good() { # [SHELL]
	want_ok "$example_octets" "$example_table" "${1:-}"
	want_ok "0 192 0 2 1" "0.0.0.0/0 192.0.2.1" "${1:-}"
	want_ok "32 192 0 2 7 0 0 0 0" "192.0.2.7/32 private" "${1:-}"
	want_ok "9 10 128 192 0 2 1" "10.128.0.0/9 192.0.2.1" "${1:-}"
	want_ok "25 192 0 2 128 192 0 2 129" "192.0.2.128/25 192.0.2.129" "${1:-}"
	want_ok "31 192 0 2 254 0 0 0 0" "192.0.2.254/31 private" "${1:-}"
	# The same address with another length is another prefix.
	want_ok "8 10 0 0 0 0 16 10 0 0 0 0 0" "10.0.0.0/8 private, 10.0.0.0/16 private" "${1:-}"
	want_ok "$(many_octets 16)" "$(many_table 16)" "${1:-}"
	# White space as dhclient never prints it, but a list is a list.
	want_ok "$(printf '  16\t10 99\n0 0 0 0  ')" "10.99.0.0/16 private" "${1:-}"
}

test_decode_good() {
	decoder_vectors_good
	done_case decode-good
}

test_decode_truncated() {
	want_err "24 198 51 100 198 51 100" "domain 1: truncated*"
	want_err "24 198 51" "domain 1: truncated*"
	want_err "24" "domain 1: truncated*"
	want_err "32 192 0 2 7 0 0 0" "domain 1: truncated*"
	# Trailing garbage after a whole domain: a domain that does not fit.
	want_err "16 10 99 0 0 0 0 7" "domain 2: truncated*"
	want_err "$example_octets 0" "domain 4: truncated*"
	want_err "$example_octets 24 1 2 3 4 5 6" "domain 4: truncated*"
	done_case decode-truncated
}

test_decode_len33() {
	want_err "33 192 0 2 7 0 0 0 0 0" "domain 1: prefix length 33 is longer than 32"
	want_err "16 10 99 0 0 0 0 255 1 2 3 4 5 6 7 8" "domain 2: prefix length 255 is longer than 32"
	done_case decode-len33
}

test_decode_host_bits() {
	want_err "23 198 51 101 0 0 0 0" "domain 1: host bits set in 198.51.101.0/23"
	want_err "7 11 0 0 0 0" "domain 1: host bits set in 11.0.0.0/7"
	want_err "31 192 0 2 3 0 0 0 0" "domain 1: host bits set in 192.0.2.3/31"
	want_err "16 10 99 0 0 0 0 1 192 0 0 0 0" "domain 2: host bits set in 192.0.0.0/1"
	done_case decode-host-bits
}

test_decode_17() {
	want_err "$(many_octets 17)" "more than 16 domains"
	done_case decode-17-domains
}

test_decode_duplicate() {
	want_err "16 10 99 0 0 0 0 16 10 99 192 0 2 1" "domain 2: 10.99.0.0/16 is there twice"
	want_err "$example_octets 24 198 51 100 198 51 100 129" "domain 4: 198.51.100.0/24 is there twice"
	want_err "0 0 0 0 0 0 1 2 3 4" "domain 2: 0.0.0.0/0 is there twice"
	done_case decode-duplicate
}

test_decode_empty() {
	want_err "" "empty option"
	want_err "   " "empty option"
	done_case decode-empty
}

test_decode_not_octets() {
	want_err "256 1 2 3 4" "'256' is not an octet*"
	want_err "016 10 99 0 0 0 0" "'016' is not an octet*"
	want_err "1000" "'1000' is not an octet*"
	want_err "16 10 99 0 0 0 -1" "not a list of decimal octets"
	want_err "0x10 10 99 0 0 0 0" "not a list of decimal octets"
	want_err "10:63:00" "not a list of decimal octets"
	# A glob must not expand (the hook splits the value unquoted).
	want_err "*" "not a list of decimal octets"
	done_case decode-not-octets
}

# The hook is POSIX sh: the same answers from busybox sh and bash in POSIX mode.
test_decode_shells() {
	local s
	for s in "busybox sh" "bash --posix"; do
		command -v "${s%% *}" >/dev/null || { fail "no ${s%% *}"; continue; }
		decoder_vectors_good "$s"
		want_err "$(many_octets 17)" "more than 16 domains" "$s"
		want_err "23 198 51 101 0 0 0 0" "domain 1: host bits set*" "$s"
		want_err "*" "not a list of decimal octets" "$s"
	done
	done_case decode-posix-shells
}

# The generator's decimal octets and its dnsmasq hex decode to the table it was given.
round_trip() { # CANONICAL-TABLE ARGS...
	local want=$1 octets line hex o dec=
	shift
	octets=$("$gen" --octets "$@") || { fail "generator refused $*"; return; }
	want_ok "$octets" "$want"
	line=$("$gen" "$@") || { fail "generator refused $*"; return; }
	[[ $line == dhcp-option=224,* ]] || fail "not a dnsmasq line: $line"
	hex=${line#dhcp-option=224,}
	[[ $hex =~ ^[0-9a-f]{2}(:[0-9a-f]{2})*$ ]] || fail "not colon-separated hex: $hex"
	for o in ${hex//:/ }; do dec="$dec $((16#$o))"; done
	[ "${dec# }" = "$octets" ] || fail "hex $hex is not octets $octets"
	[ "$("$gen" --hex "$@")" = "$hex" ] || fail "--hex differs from the dnsmasq line"
}

test_generator_round_trip() {
	local args=() i
	round_trip "$example_table" 198.51.100.0/24=198.51.100.129 203.0.113.0/24=203.0.113.130 10.99.0.0/16=private
	round_trip "0.0.0.0/0 192.0.2.1" 0.0.0.0/0=192.0.2.1
	round_trip "192.0.2.7/32 private, 10.128.0.0/9 192.0.2.1" 192.0.2.7/32=private 10.128.0.0/9=192.0.2.1
	round_trip "192.0.2.128/25 0.0.0.1" 192.0.2.128/25=0.0.0.1
	for ((i = 0; i < 16; i++)); do args+=("10.$i.0.0/16=192.0.2.$((i + 1))"); done
	round_trip "$(many_table 16)" "${args[@]}"
	# The worked example of the issue.
	[ "$("$gen" 198.51.100.0/24=198.51.100.129 10.99.0.0/16=private)" = \
		"dhcp-option=224,18:c6:33:64:c6:33:64:81:10:0a:63:00:00:00:00" ] || fail "worked example"
	done_case generator-round-trip
}

# gen_refuses STDERR-GLOB ARGS...: exit 1, nothing on stdout, the reason on stderr.
gen_refuses() {
	local want=$1 out err rc
	shift
	out=$("$gen" "$@" 2>"$tmp/err")
	rc=$?
	err=$(< "$tmp/err")
	[ $rc -eq 1 ] && [ -z "$out" ] && [[ $err == $want ]] ||
		fail "$*: rc $rc, stdout '$out', stderr '$err'"
}

test_generator_refuses() {
	local args=() i
	gen_refuses "*host bits set in 10.99.0.1/16" 10.99.0.1/16=private
	gen_refuses "*prefix length 33 is longer than 32" 10.0.0.0/33=private
	gen_refuses "*is there twice" 10.0.0.0/8=private 10.0.0.0/8=192.0.2.1
	gen_refuses "*'1.2.3' is not an IPv4 address or 'private'" 10.0.0.0/8=1.2.3
	gen_refuses "*'256.0.0.0' is not an IPv4 address" 256.0.0.0/8=private
	gen_refuses "*not PREFIX/LEN=ROUTER*" 10.0.0.0/8
	for ((i = 0; i < 17; i++)); do args+=("10.$i.0.0/16=private"); done
	gen_refuses "*17 domains: at most 16" "${args[@]}"
	"$gen" >/dev/null 2>&1
	[ $? -eq 2 ] || fail "no arguments: not a usage error"
	done_case generator-refuses
}

# The shipped dnsmasq example and the documented hex say what they claim.
test_shipped_example() {
	local line want
	want=$("$gen" 198.51.100.0/24=198.51.100.129 203.0.113.0/24=203.0.113.130 10.99.0.0/16=private)
	line=$(grep '^dhcp-option=' "$root/etc/dnsmasq.d/sitemh.conf")
	[ "$line" = "$want" ] || fail "etc/dnsmasq.d/sitemh.conf: '$line', generator: '$want'"
	grep -qxF "$want" "$root/Documentation/usage.md" || fail "usage.md lacks $want"
	grep -q "^#   $example_table\$" "$root/etc/dnsmasq.d/sitemh.conf" || fail "dnsmasq example's comment"
	grep -qx "option sitemh-domains code 224 = array of unsigned integer 8;" \
		"$root/etc/dhcp/sitemh-dhclient.conf" || fail "dhclient.conf snippet's declaration"
	grep -qx "also request sitemh-domains;" "$root/etc/dhcp/sitemh-dhclient.conf" ||
		fail "dhclient.conf snippet's request"
	grep -q "^#define SITEMH_DHCP_OPTION_DOMAINS[[:space:]]*224$" "$root/include/uapi/linux/sitemh.h" ||
		fail "UAPI define"
	done_case shipped-example
}

# The hook as dhclient-script runs it: sourced from a function, with the lease's variables
# in the environment, the sysctl a plain file here. Sets $hook_out (stderr) and $hook_rc.
table=$tmp/ip_domain_table
state=$tmp/run-sitemh
run_hook() { # VAR=VALUE...
	hook_out=$(env -i PATH="$PATH" SITEMH_DHCP_SYSCTL="$table" SITEMH_DHCP_STATE="$state" \
		SITEMH_DHCP_LOGGER=: interface=test0 "$@" \
		$sh -c 'run_hook() { local script="$1"; . $script; }; run_hook "$0"; echo "rc=$?" >&2' \
		"$hook" 2>&1)
	hook_rc=${hook_out##*rc=}
	hook_out=${hook_out%rc=*}
	hook_out=${hook_out%$'\n'}
	[ "$hook_rc" = 0 ] || fail "the hook ended with status $hook_rc (dhclient-script would pass it on)"
}

table_is() { # TEXT
	local got
	got=$(< "$table")
	[ "$got" = "$1" ] || fail "table '$got', want '$1'"
}

logged() { # GLOB
	# shellcheck disable=SC2053
	[[ $hook_out == $1 ]] || fail "log '$hook_out', want $1"
}

fresh() {
	rm -rf "$state"
	printf '%s\n' "$1" > "$table"
}

operator="192.0.2.0/24 192.0.2.1"

test_hook_bound() {
	local r
	for r in BOUND REBOOT; do
		fresh "$operator"
		run_hook reason=$r new_sitemh_domains="$example_octets"
		table_is "$example_table"
		[ "$(< "$state/dhcp-test0.saved")" = "$operator" ] || fail "$r: saved"
		[ "$(< "$state/dhcp-test0.applied")" = "$example_table" ] || fail "$r: applied"
		logged "sitemh: dhcp test0: domain table from option 224: $example_table"
	done
	done_case hook-bound-applies
}

test_hook_release() {
	local r
	for r in RELEASE EXPIRE FAIL STOP; do
		fresh "$operator"
		run_hook reason=BOUND new_sitemh_domains="$example_octets"
		run_hook reason=$r old_sitemh_domains="$example_octets"
		table_is "$operator"
		logged "sitemh: dhcp test0: lease $r: domain table restored: $operator"
		[ ! -e "$state/dhcp-test0.saved" ] && [ ! -e "$state/dhcp-test0.applied" ] ||
			fail "$r: state files left"
	done
	# Nothing before the lease: nothing after it.
	fresh ""
	run_hook reason=BOUND new_sitemh_domains="$example_octets"
	run_hook reason=RELEASE
	table_is ""
	done_case hook-release-restores
}

test_hook_bad_option() {
	local bad
	for bad in "33 192 0 2 7 0 0 0 0 0" "24 198 51 100 198 51 100" "23 198 51 101 0 0 0 0" \
		"$(many_octets 17)" "16 10 99 0 0 0 0 16 10 99 0 0 0 0" "x"; do
		fresh "$operator"
		run_hook reason=BOUND new_sitemh_domains="$bad"
		table_is "$operator"
		[ ! -e "$state" ] || fail "'$bad': state written"
		logged "sitemh: dhcp test0: option 224 refused: *: domain table unchanged"
		[[ $hook_out != *$'\n'* ]] || fail "'$bad': more than one line: $hook_out"
	done
	# The same line goes to syslog through logger.
	printf '#!/bin/sh\nprintf "%%s|" "$@" > %s\n' "$tmp/logger.args" > "$tmp/logger"
	chmod +x "$tmp/logger"
	fresh "$operator"
	run_hook reason=BOUND new_sitemh_domains="24 1" SITEMH_DHCP_LOGGER="$tmp/logger"
	[ "$(< "$tmp/logger.args")" = "-t|sitemh|-p|daemon.notice|--|dhcp test0: option 224 refused: domain 1: truncated (2 octets left, /24 needs 8): domain table unchanged|" ] ||
		fail "logger got $(< "$tmp/logger.args")"
	# A bad renewal keeps the lease's table (and what to restore).
	fresh "$operator"
	run_hook reason=BOUND new_sitemh_domains="$example_octets"
	run_hook reason=RENEW new_sitemh_domains="24 1" old_sitemh_domains="$example_octets"
	logged "*option 224 refused: domain 1: truncated*"
	table_is "$example_table"
	run_hook reason=EXPIRE
	table_is "$operator"
	done_case hook-bad-option-refused
}

test_hook_operator_change() {
	fresh "$operator"
	run_hook reason=BOUND new_sitemh_domains="$example_octets"
	printf '%s\n' "10.0.0.0/8 private" > "$table"
	run_hook reason=RELEASE
	table_is "10.0.0.0/8 private"
	logged "sitemh: dhcp test0: lease RELEASE, but the domain table was changed since the lease applied it: left alone"
	[ ! -e "$state/dhcp-test0.applied" ] || fail "state left"
	# A renewal leaves the change alone too; a new lease (BOUND) takes the table over.
	fresh "$operator"
	run_hook reason=BOUND new_sitemh_domains="$example_octets"
	printf '%s\n' "10.0.0.0/8 private" > "$table"
	run_hook reason=RENEW new_sitemh_domains="16 10 99 0 0 0 0"
	table_is "10.0.0.0/8 private"
	logged "*changed since the lease applied it: left alone (option 224 not applied)"
	run_hook reason=BOUND new_sitemh_domains="16 10 99 0 0 0 0"
	table_is "10.99.0.0/16 private"
	run_hook reason=RELEASE
	table_is "10.0.0.0/8 private"
	done_case hook-operator-change-left-alone
}

test_hook_renew() {
	fresh "$operator"
	run_hook reason=BOUND new_sitemh_domains="$example_octets"
	# Unchanged: no write (it would log a line).
	run_hook reason=RENEW new_sitemh_domains="$example_octets" old_sitemh_domains="$example_octets"
	[ -z "$hook_out" ] || fail "unchanged renewal said: $hook_out"
	# Changed: the new table; what to restore stays the table before the first lease.
	run_hook reason=REBIND new_sitemh_domains="16 10 99 0 0 0 0" old_sitemh_domains="$example_octets"
	table_is "10.99.0.0/16 private"
	[ "$(< "$state/dhcp-test0.saved")" = "$operator" ] || fail "saved changed on renewal"
	# Gone from the lease: removed.
	run_hook reason=RENEW old_sitemh_domains="16 10 99 0 0 0 0"
	table_is "$operator"
	[ ! -e "$state/dhcp-test0.applied" ] || fail "state left"
	done_case hook-renew
}

test_hook_no_module() {
	fresh "$operator"
	run_hook reason=BOUND new_sitemh_domains="$example_octets" SITEMH_DHCP_SYSCTL="$tmp/absent"
	logged "sitemh: dhcp test0: no $tmp/absent (sitemh module not loaded): option 224 ignored"
	[ ! -e "$state" ] && [ ! -e "$tmp/absent" ] || fail "wrote something"
	# A lease without the option, and its end, say nothing.
	run_hook reason=BOUND SITEMH_DHCP_SYSCTL="$tmp/absent"
	run_hook reason=RELEASE SITEMH_DHCP_SYSCTL="$tmp/absent"
	[ -z "$hook_out" ] || fail "said: $hook_out"
	done_case hook-no-module
}

# The kernel's EINVAL: a write that fails changes no state. (/proc/version reads a line
# and refuses writes, even root's.)
test_hook_kernel_refuses() {
	fresh ""
	run_hook reason=BOUND new_sitemh_domains="$example_octets" SITEMH_DHCP_SYSCTL=/proc/version
	logged "sitemh: dhcp test0: the kernel refused option 224's table ($example_table): domain table unchanged"
	[ ! -e "$state" ] || fail "state written"
	done_case hook-kernel-refuses
}

test_hook_other_reasons() {
	local r
	for r in PREINIT MEDIUM ARPCHECK ARPSEND BOUND6 RENEW6 RELEASE6 EXPIRE6 PREINIT6 DEPREF6; do
		fresh "$operator"
		run_hook reason=$r new_sitemh_domains="$example_octets"
		table_is "$operator"
		[ -z "$hook_out" ] && [ ! -e "$state" ] || fail "$r did something"
	done
	done_case hook-other-reasons
}

# Sourced into dhclient-script: no exit, status 0, and nothing of the script's namespace
# touched but names starting with sitemh_dhcp_.
test_hook_hygiene() {
	local names
	fresh "$operator"
	names=$(env -i PATH="$PATH" SITEMH_DHCP_SYSCTL="$table" SITEMH_DHCP_STATE="$state" \
		SITEMH_DHCP_LOGGER=: interface=test0 reason=BOUND new_sitemh_domains="$example_octets 1" \
		$sh -c 'set | sed -n "s/=.*//p" | sort > "$1.before"; . "$0"; echo "after $?";
			set | sed -n "s/=.*//p" | sort > "$1.after"; comm -13 "$1.before" "$1.after"' \
		"$hook" "$tmp/names" 2>/dev/null)
	[[ $names == "after 0"* ]] || fail "did not come back with status 0: $names"
	names=$(echo "$names" | grep -v -e '^after ' -e '^sitemh_dhcp_' -e '^_$' -e '^PIPESTATUS$' | tr '\n' ' ')
	[ -z "$names" ] || fail "left variables: $names"
	$sh -n "$hook" || fail "$sh -n"
	done_case hook-hygiene
}

test_decode_good
test_decode_truncated
test_decode_len33
test_decode_host_bits
test_decode_17
test_decode_duplicate
test_decode_empty
test_decode_not_octets
test_decode_shells
test_generator_round_trip
test_generator_refuses
test_shipped_example
test_hook_bound
test_hook_release
test_hook_bad_option
test_hook_operator_change
test_hook_renew
test_hook_no_module
test_hook_kernel_refuses
test_hook_other_reasons
test_hook_hygiene
exit 0
