#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Address-pair selection and the UDP server calls (draft sections 2, 2.1, 2.1.1, 2.3.1,
# 2.3.2) on the multihomed site of site.sh: H has an address from P1, one from P2 and a
# private one on its LAN interface; X is outside, reachable through both providers.
#
# The calls are exercised through sitemh_tool (built from include/sitemh.h + lib/).

source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/site.sh"
tool=$(cd "$(dirname "$0")" && pwd)/sitemh_tool
PORT=7777

# first_src NS ARGS...: the best source `sitemh_tool rank ARGS` reports.
first_src() {
	local ns=$1
	shift
	in_ns "$ns" "$tool" rank "$@" | awk '!/^#/ { print $1; exit }'
}

# reply_from FAMILY SERVER_ADDR: the source of the UDP echo X gets back from H.
reply_from() {
	local opt= src=$X4
	[ "$1" = 6 ] && { opt=-6; src=$X6; }
	in_ns "$x" "$tool" udp-client $opt "$src" "$2" $PORT
}

# udp_server MODE FAMILY: start H's echo server bound to the wildcard address.
udp_server() {
	local opt=
	[ "$2" = 6 ] && opt=-6
	ip netns exec "$h" "$tool" udp-server $opt $PORT "$1" &
	server=$!
	defer kill $server
	busywait 30000 listening "$h" $PORT udp
}

stop_server() {
	kill "$server" 2>/dev/null
	wait "$server" 2>/dev/null
}

test_udp_server_draft() { # FAMILY P1-ADDR P2-ADDR FAM-NAME
	local rc=0 got b2 a2
	udp_server draft "$1"
	got=$(reply_from "$1" "$2")
	[ "$got" = "$2" ] || { echo "# reply to $2 came from '$got'"; rc=1; }
	b2=$(uplink_count "$ce2" p2 "$4")
	got=$(reply_from "$1" "$3")
	[ "$got" = "$3" ] || { echo "# reply to $3 came from '$got'"; rc=1; }
	a2=$(uplink_count "$ce2" p2 "$4")
	# The reply from the P2 address left the site through P2's CE.
	check [ "$a2" -gt "$b2" ] || rc=1
	stop_server
	log_test $rc "IPv$1: recvwithdstaddr/sendwithsrcaddr answer from the address asked, via its provider"
}

test_udp_server_plain() { # FAMILY P1-ADDR P2-ADDR
	local rc=0 got1 got2
	udp_server plain "$1"
	# The negative control: sendto picks one source by route, whatever was asked. Both
	# replies must arrive (a lost one, "no reply", is no wrong source) and come from one
	# and the same of H's two addresses.
	got1=$(reply_from "$1" "$2") || rc=1
	got2=$(reply_from "$1" "$3") || rc=1
	echo "# plain recvfrom/sendto: replies to $2 and $3 came from '$got1' and '$got2'"
	check [ "$got1" = "$2" ] || check [ "$got1" = "$3" ] || rc=1
	check [ "$got2" = "$got1" ] || rc=1
	if [ "$got1" = "$2" ] && [ "$got2" = "$3" ]; then
		echo "# a plain sendto server answered from the right addresses: the control shows nothing"
		rc=1
	fi
	stop_server
	log_test $rc "IPv$1: control: recvfrom/sendto answers from the wrong source"
}

test_getsrcaddr() {
	local rc=0 out
	# Outside, with nothing to rank by: every global source, in the host's order.
	out=$(in_ns "$h" "$tool" srcaddr $X4 | sort | tr '\n' ' ')
	check [ "$out" = "198.51.100.10 203.0.113.10 " ] || { echo "# to X: $out"; rc=1; }
	# Inside the domains: the source of the destination's own domain only.
	out=$(in_ns "$h" "$tool" srcaddr 203.0.113.130 | tr '\n' ' ')
	check [ "$out" = "203.0.113.10 " ] || { echo "# to CE2: $out"; rc=1; }
	# Private destinations: private sources only, inside or outside the domains.
	out=$(in_ns "$h" "$tool" srcaddr 10.99.2.1 | tr '\n' ' ')
	check [ "$out" = "10.99.1.10 " ] || { echo "# to 10.99.2.1: $out"; rc=1; }
	out=$(in_ns "$h" "$tool" srcaddr 172.16.5.5 | tr '\n' ' ')
	check [ "$out" = "10.99.1.10 " ] || { echo "# to 172.16.5.5: $out"; rc=1; }
	out=$(in_ns "$h" "$tool" srcaddr -6 $X6 | sort | tr '\n' ' ')
	check [ "$out" = "2001:db8:1:a::10 2001:db8:2:a::10 " ] || { echo "# to X6: $out"; rc=1; }
	out=$(in_ns "$h" "$tool" srcaddr -6 2001:db8:2:b::c2 | tr '\n' ' ')
	check [ "$out" = "2001:db8:2:a::10 " ] || { echo "# to CE2 v6: $out"; rc=1; }
	out=$(in_ns "$h" "$tool" srcaddr -6 fd00:99:0:b::1 | tr '\n' ' ')
	check [ "$out" = "fd00:99:0:a::10 " ] || { echo "# to fd00:99:0:b::1: $out"; rc=1; }
	log_test $rc "getsrcaddr: the draft's branches (outside, inside, private), IPv4 and IPv6"
}

# srcaddrs ARGS...: H's sources for `sitemh_tool srcaddr ARGS`, on one line.
srcaddrs() {
	in_ns "$h" "$tool" srcaddr "$@" | tr '\n' ' '
}

test_selection_follows_changes() {
	local rc=0
	# The module remembers the ranking towards the outside; every change it depends on
	# must show in the very next call (each call also checks SITEMH_SO_SRCADDRS against
	# SITEMH_SO_PAIRS).
	path_attrs ipv4 0 100000 3 0
	path_attrs ipv4 1 10000 3 0
	check [ "$(srcaddrs $X4)" = "198.51.100.10 203.0.113.10 " ] || rc=1
	path_attrs ipv4 1 900000 3 0
	check [ "$(srcaddrs $X4)" = "203.0.113.10 198.51.100.10 " ] || rc=1
	ip -n "$h" addr add 203.0.113.11/25 dev h-a
	check [ "$(srcaddrs $X4)" = "203.0.113.10 203.0.113.11 198.51.100.10 " ] || rc=1
	ip -n "$h" addr del 203.0.113.11/25 dev h-a
	check [ "$(srcaddrs $X4)" = "203.0.113.10 198.51.100.10 " ] || rc=1
	ip -n "$h" route add unreachable 203.0.113.130/32
	check [ "$(srcaddrs $X4)" = "198.51.100.10 203.0.113.10 " ] || rc=1
	ip -n "$h" route del unreachable 203.0.113.130/32
	check [ "$(srcaddrs $X4)" = "203.0.113.10 198.51.100.10 " ] || rc=1
	# EF with no latency known: a tie, in the host's order; then the lower latency.
	check [ "$(srcaddrs -t 0xb8 $X4)" = "198.51.100.10 203.0.113.10 " ] || rc=1
	path_attrs ipv4 0 100000 3 5000
	path_attrs ipv4 1 900000 3 10
	check [ "$(srcaddrs -t 0xb8 $X4)" = "203.0.113.10 198.51.100.10 " ] || rc=1
	path_attrs ipv4 1 900000 3 9000
	check [ "$(srcaddrs -t 0xb8 $X4)" = "198.51.100.10 203.0.113.10 " ] || rc=1
	ip -n "$h" -6 addr add 2001:db8:2:a::11/64 dev h-a nodad
	check [ "$(srcaddrs -6 $X6 | tr ' ' '\n' | grep -c .)" -eq 3 ] || rc=1
	ip -n "$h" -6 addr del 2001:db8:2:a::11/64 dev h-a
	check [ "$(srcaddrs -6 $X6 | tr ' ' '\n' | grep -c .)" -eq 2 ] || rc=1
	path_attrs ipv4 0 0 0 0
	path_attrs ipv4 1 0 0 0
	log_test $rc "getsrcaddr follows path attributes, addresses, routes and TOS at once"
}

path_attrs() { # FAMILY DOMAIN BANDWIDTH HOPS LATENCY
	in_ns "$h" sysctl -q -w "net.$1.ip_domain.$2.path_bandwidth=$3" \
		"net.$1.ip_domain.$2.hops=$4" "net.$1.ip_domain.$2.latency=$5"
}

test_ranking_configured() {
	local rc=0
	# P1: wide but slow; P2: narrow but fast, by configuration only.
	path_attrs ipv4 0 100000 3 50000
	path_attrs ipv4 1 10000 2 1000
	check [ "$(first_src "$h" $X4)" = 198.51.100.10 ] || rc=1
	check [ "$(first_src "$h" -t 0xb8 $X4)" = 203.0.113.10 ] || rc=1
	# Equal bandwidth: fewer hops wins.
	path_attrs ipv4 1 100000 2 1000
	check [ "$(first_src "$h" $X4)" = 203.0.113.10 ] || rc=1
	log_test $rc "ranking from configured attributes: widest-shortest, EF by latency"
}

test_ranking_measured() { # FAMILY X SRC-P1 SRC-P2 FAM-NAME
	local rc=0 out opt=
	[ "$1" = 6 ] && opt=-6
	path_attrs "$5" 0 100000 3 0
	path_attrs "$5" 1 10000 3 0
	in_ns "$ce1" tc qdisc add dev ce1-up root netem delay 80ms
	in_ns "$h" sysctl -q -w "net.$5.ip_path_probe_ms=1500"
	out=$(in_ns "$h" "$tool" rank $opt -t 0xb8 "$2")
	echo "$out" | sed 's/^/# EF: /'
	check [ "$(echo "$out" | awk '!/^#/ { print $1; exit }')" = "$4" ] || rc=1
	echo "$out" | grep -q "low-latency" || rc=1
	# Both pairs were measured, and the delayed one shows it.
	check [ "$(echo "$out" | grep -c ' measured')" -eq 2 ] || rc=1
	# (No line for the pair fails too: awk's exit in a rule still runs END.)
	check awk -v s="$3" '$1 == s { split($5, l, "="); ok = l[2] >= 40000; exit } END { exit !ok }' \
		<<< "$out" || rc=1
	out=$(in_ns "$h" "$tool" rank $opt "$2")
	echo "$out" | sed 's/^/# best effort: /'
	check [ "$(echo "$out" | awk '!/^#/ { print $1; exit }')" = "$3" ] || rc=1
	in_ns "$h" sysctl -q -w "net.$5.ip_path_probe_ms=0"
	in_ns "$ce1" tc qdisc del dev ce1-up root
	log_test $rc "IPv$1: netem delay on P1: best effort follows bandwidth, EF the measured latency"
}

test_all_pairs() {
	local rc=0 out hosts
	ip -n "$x" addr add 192.0.2.201/32 dev lo
	hosts=$(mktemp /tmp/sitemh-hosts.XXXXXX)
	defer rm -f "$hosts"
	printf '192.0.2.200 x.example\n192.0.2.201 x.example\n' > "$hosts"
	path_attrs ipv4 0 100000 3 0
	path_attrs ipv4 1 10000 2 0
	# /etc/hosts for this command only: the resolver is the system's (getaddrinfo).
	out=$(unshare -m sh -c "mount --bind $hosts /etc/hosts && ip netns exec $h $tool pairs x.example")
	echo "$out" | sed 's/^/# /'
	check [ "$(echo "$out" | grep -vc '^#')" -eq 4 ] || rc=1
	# Sorted: both P1 pairs (the wider path) first.
	check [ "$(echo "$out" | grep -v '^#' | head -n 2 | grep -c '^198.51.100.10 ')" -eq 2 ] || rc=1
	# No DNS server answers in the namespace: "not found" or "try again", both h_errno.
	out=$(in_ns "$h" "$tool" pairs no-such-host.invalid)
	case $out in
	"error Unknown host" | "error Host name lookup failure") ;;
	*) echo "# $out"; rc=1 ;;
	esac
	log_test $rc "gethostbynamewithsrcaddr: all m*n pairs, sorted; unresolvable names fail"
}

test_down_path_last() {
	local rc=0 out
	path_attrs ipv4 0 10000 3 0
	path_attrs ipv4 1 100000 2 0
	check [ "$(first_src "$h" $X4)" = 203.0.113.10 ] || rc=1
	ip -n "$h" route add unreachable 203.0.113.130/32
	out=$(in_ns "$h" "$tool" rank $X4)
	check [ "$(echo "$out" | awk '!/^#/ { print $1; exit }')" = 198.51.100.10 ] || rc=1
	echo "$out" | grep -q "^203.0.113.10 .* down" || { echo "$out" | sed 's/^/# /'; rc=1; }
	ip -n "$h" route del unreachable 203.0.113.130/32
	log_test $rc "a provider whose router is unreachable ranks last, marked down"
}

test_home_address() {
	local rc=0
	in_ns "$h" sysctl -q -w net.ipv4.ip_home_addr=198.51.100.77 net.ipv4.ip_use_homeaddr=1
	check [ "$(in_ns "$h" "$tool" srcaddr $X4)" = 198.51.100.77 ] || rc=1
	# Inside the domains the home address is not used.
	check [ "$(in_ns "$h" "$tool" srcaddr 203.0.113.130)" = 203.0.113.10 ] || rc=1
	in_ns "$h" sysctl -q -w net.ipv4.ip_use_homeaddr=0
	check [ "$(in_ns "$h" "$tool" srcaddr $X4 | wc -l)" -eq 2 ] || rc=1
	check_fails EINVAL in_ns "$h" sysctl -q -w net.ipv4.ip_use_homeaddr=2 || rc=1
	check_fails EINVAL in_ns "$h" sysctl -q -w net.ipv4.ip_home_addr=1.2.3 || rc=1
	check [ "$(in_ns "$h" sysctl -n net.ipv4.ip_home_addr)" = 198.51.100.77 ] || rc=1
	log_test $rc "ip_use_homeaddr selects ip_home_addr for peers outside the domains"
}

test_bad_input() {
	local rc=0 out
	out=$(in_ns "$h" "$tool" bad-input) || rc=1
	echo "$out" | sed 's/^/# /'
	check_fails EINVAL in_ns "$h" sysctl -q -w net.ipv4.ip_domain.0.hops=-1 || rc=1
	check_fails EINVAL in_ns "$h" sysctl -q -w net.ipv4.ip_domain.0.path_bandwidth=1e9 || rc=1
	check_fails EINVAL in_ns "$h" sysctl -q -w net.ipv4.ip_path_probe_ms=10001 || rc=1
	log_test $rc "bad input: clean errno for every malformed call and value"
}

load_module || { log_test 1 "module loads"; exit $ksft_fail; }
if ! build_site || ! configure_site; then
	log_test 1 "build and configure the site"
	exit $ksft_fail
fi
run_case test_udp_server_draft 4 198.51.100.10 203.0.113.10 ip
run_case test_udp_server_plain 4 198.51.100.10 203.0.113.10
run_case test_udp_server_draft 6 2001:db8:1:a::10 2001:db8:2:a::10 ip6
run_case test_udp_server_plain 6 2001:db8:1:a::10 2001:db8:2:a::10
run_case test_getsrcaddr
run_case test_selection_follows_changes
run_case test_ranking_configured
run_case test_ranking_measured 4 $X4 198.51.100.10 203.0.113.10 ipv4
run_case test_ranking_measured 6 $X6 2001:db8:1:a::10 2001:db8:2:a::10 ipv6
run_case test_all_pairs
run_case test_down_path_last
run_case test_home_address
run_case test_bad_input
run_cleanup
unload_module
exit $ret
