#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Source-domain routing never takes a packet out of its VRF, the device its socket is
# bound to, or the table its mark or uid selects (issue 20, item 4; sitemh_ipsec.sh covers
# IPsec).
#
# On a host T whose domain 203.0.113.0/24 has its router N2 on t-2:
#
#        192.0.2.16/30          192.0.2.20/30
#   N1 -------------- t-1  T  t-2 -------------- N2  (domain router 192.0.2.22)
#                          t-3 (in VRF vrf0, table 10)
#                           |  192.0.2.24/30
#                          N3
#
# (IPv6: 2001:db8:f1::/64, 2001:db8:f2::/64 with the router at ::2, 2001:db8:f3::/64; the
# domain 2001:db8:2::/48.) T's main table sends everything to N1; the VRF's table to N3.
# Datagrams from the domain's addresses sent by sockets bound to t-1, bound to the VRF,
# marked (fwmark rule to a table whose default is N1) or of a uid with a uidrange rule must
# leave T by t-1 or t-3 (counted on T's egress), never by t-2; an unbound, unmarked
# sender's datagrams leave by t-2 (the module still routes by source).

source "$(dirname "$0")/lib.sh"

# For `domains` and X's addresses (the destination; nobody answers here).
source "$(dirname "$0")/site.sh"

# build_host: T, N1, N2, N3 as drawn in the header, domains on T. Which device a datagram
# left T by is counted on T's egress.
build_host() {
	setup_ns t n1 n2 n3 || return 1
	local ns i
	for ns in "$t" "$n1" "$n2" "$n3"; do
		in_ns "$ns" sysctl -q -w net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.accept_dad=0
	done
	for i in 1 2 3; do
		link "$t" t-$i "$(eval echo \$n$i)" n$i-t
		ip -n "$(eval echo \$n$i)" addr add 192.0.2.$((14 + 4 * i))/30 dev n$i-t || return 1
		ip -n "$(eval echo \$n$i)" addr add 2001:db8:f$i::2/64 dev n$i-t nodad || return 1
	done
	# Marked packets and uid 4242's go to N1 by policy.
	ip -4 -n "$t" -batch - <<-EOB || return 1
	link add vrf0 type vrf table 10
	link set vrf0 up
	link set t-3 master vrf0
	addr add 192.0.2.17/30 dev t-1
	addr add 192.0.2.21/30 dev t-2
	addr add 192.0.2.25/30 dev t-3
	addr add 203.0.113.10/32 dev lo
	addr add 203.0.113.30/32 dev t-3
	route add default via 192.0.2.18
	route add default via 192.0.2.26 table 10
	rule add fwmark 7 table 100
	rule add uidrange 4242-4242 table 100
	route add default via 192.0.2.18 dev t-1 table 100
	EOB
	ip -6 -n "$t" -batch - <<-EOB || return 1
	addr add 2001:db8:f1::1/64 dev t-1 nodad
	addr add 2001:db8:f2::1/64 dev t-2 nodad
	addr add 2001:db8:f3::1/64 dev t-3 nodad
	addr add 2001:db8:2::10/128 dev lo nodad
	addr add 2001:db8:2::30/128 dev t-3 nodad
	route add default via 2001:db8:f1::2
	route add default via 2001:db8:f3::2 table 10
	rule add fwmark 7 table 100
	rule add uidrange 4242-4242 table 100
	route add default via 2001:db8:f1::2 dev t-1 table 100
	EOB
	local rules=""
	for i in 1 2 3; do
		rules="$rules
			oifname \"t-$i\" ip saddr 203.0.113.0/24 udp dport 9 counter comment \"t-$i\"
			oifname \"t-$i\" ip6 saddr 2001:db8:2::/48 udp dport 9 counter comment \"t-$i\""
	done
	in_ns "$t" nft -f - <<-NFT || return 1
	table inet count {
		chain post {
			type filter hook postrouting priority 0; policy accept;
			$rules
		}
	}
	NFT
	domains "$t" ipv4 "203.0.113.0 /24 192.0.2.22" || return 1
	domains "$t" ipv6 "2001:db8:2:: /48 2001:db8:f2::2"
}

# left_by: how many datagrams from the domain left T by t-1, t-2 and t-3 (one line).
left_by() {
	in_ns "$t" nft list chain inet count post | awk '
		/comment "t-[123]"/ {
			for (i = 1; i < NF; i++) if ($i == "packets") n[substr($NF, 4, 1)] += $(i + 1)
		}
		END { print n[1] + 0, n[2] + 0, n[3] + 0 }'
}

# send SRC DEV MARK UID: one UDP datagram from SRC to X (192.0.2.200, or its IPv6
# address) port 9 on T, from a socket bound to DEV ("" for none) with mark MARK (0: none),
# opened by UID.
send() {
	local src=$1 dev=$2 mark=$3 uid=$4 to opts
	case $src in
	*:*) to="UDP6-SENDTO:[$X6]:9" opts=",bind=[$src]" ;;
	*) to="UDP4-SENDTO:$X4:9" opts=",bind=$src" ;;
	esac
	[ -n "$dev" ] && opts="$opts,if=$dev"
	# SO_MARK (SOL_SOCKET 1, option 36).
	[ "$mark" != 0 ] && opts="$opts,sockopt-int=1:36:$mark"
	local as=()
	[ "$uid" != 0 ] && as=(setpriv --reuid "$uid" --regid "$uid" --clear-groups)
	echo sitemh | in_ns "$t" "${as[@]}" socat -u - "$to$opts"
}

# leaves_by WANT SRC DEV MARK UID: the datagram of `send SRC DEV MARK UID` leaves T by
# device WANT (t-1, t-2, t-3), and by no other.
leaves_by() {
	local want=$1 before expect i
	shift
	before=$(left_by)
	send "$@" || return 1
	expect=$(set -- $before; for i in 1 2 3; do
		[ "$want" = t-$i ] && printf '%s ' $(($1 + 1)) || printf '%s ' "$1"; shift; done)
	if ! busywait_eq 3000 "${expect% }" left_by; then
		echo "# sent $*: left by t-1 t-2 t-3: before $before, after $(left_by); wanted $want"
		in_ns "$t" head -n 3 /proc/net/sitemh | sed 's/^/# T: /'
		return 1
	fi
}

test_still_routed_by_source() {
	local rc=0
	check leaves_by t-2 203.0.113.10 "" 0 0 || rc=1
	check leaves_by t-2 2001:db8:2::10 "" 0 0 || rc=1
	# Bound to the router's own device: rerouted as well. (IPv4 only: IPv6 has no
	# route on t-2 for a socket bound to it.)
	check leaves_by t-2 203.0.113.10 t-2 0 0 || rc=1
	log_test $rc "unbound, unmarked senders still go to their domain's router"
}

test_bound_device() {
	local rc=0
	check leaves_by t-1 203.0.113.10 t-1 0 0 || rc=1
	check leaves_by t-1 2001:db8:2::10 t-1 0 0 || rc=1
	log_test $rc "SO_BINDTODEVICE socket keeps its device (router on another one)"
}

test_vrf() {
	local rc=0
	check leaves_by t-3 203.0.113.30 vrf0 0 0 || rc=1
	check leaves_by t-3 2001:db8:2::30 vrf0 0 0 || rc=1
	log_test $rc "VRF-bound socket stays in its VRF"
}

test_mark() {
	local rc=0
	check leaves_by t-1 203.0.113.10 "" 7 0 || rc=1
	check leaves_by t-1 2001:db8:2::10 "" 7 0 || rc=1
	log_test $rc "SO_MARK packets keep the table their fwmark rule selects"
}

test_uid() {
	local rc=0
	check leaves_by t-1 203.0.113.10 "" 0 4242 || rc=1
	check leaves_by t-1 2001:db8:2::10 "" 0 4242 || rc=1
	log_test $rc "uid-routed packets keep the table their uidrange rule selects"
}

for tool in socat nft setpriv; do
	command -v $tool >/dev/null || { log_test 1 "$tool is installed"; exit $ksft_fail; }
done
load_module || { log_test 1 "module loads"; exit $ksft_fail; }
if ! build_host; then
	log_test 1 "build the host with a VRF and policy rules"
	exit $ksft_fail
fi
run_case test_still_routed_by_source
run_case test_bound_device
run_case test_vrf
run_case test_mark
run_case test_uid
run_cleanup
unload_module
exit $ret
