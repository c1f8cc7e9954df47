#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Source-domain routing never takes a packet out of its IPsec tunnel, its VRF, the device
# its socket is bound to, or the table its mark or uid selects (issue 20, item 4).
#
# Part 1, IPsec, on the site of site.sh (H -- IR -- {CE1, CE2} -- {PE1, PE2} -- X), with
# the domains configured on H and IR. Two ESP tunnels (rfc4106(gcm(aes)), tunnel mode)
# end at X's 192.0.2.14:
#   - H's own: 203.0.113.10 <-> 192.0.2.200, from H's 203.0.113.10 (LOCAL_OUT on H);
#   - IR's, a site-to-site gateway: H's 198.51.100.10 <-> 192.0.2.200, from IR's
#     203.0.113.131 (FORWARD on IR).
# The inner packets' sources are in the domains, so a plain reroute would send them to the
# domain's CE in clear. Captures on the providers' CE-facing ports (tcpdump on PE1 and
# PE2) must show ESP only, and the ESP must still leave through the CE of its outer
# source (CE2, the router of 203.0.113.0/24).
#
# Part 2, on a host T whose domain 203.0.113.0/24 has its router N2 on t-2:
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

source "$(dirname "$0")/site.sh"

KEY=0x0123456789abcdef0123456789abcdef01234567
X_EP=192.0.2.14

# tunnel NS_A EP_A NET_A NS_B EP_B NET_B SPI REQID FWD: a tunnel between NET_A behind EP_A
# and NET_B behind EP_B (two SAs, SPI and SPI+1, on both ends); with FWD=fwd, NET_A is
# not on NS_A, which forwards for it.
tunnel() {
	local na=$1 ea=$2 a=$3 nb=$4 eb=$5 b=$6 spi=$7 reqid=$8 fwd=${9:-in} ns
	local sa="proto esp reqid $reqid mode tunnel aead rfc4106(gcm(aes)) $KEY 128"
	local tmpl="proto esp reqid $reqid mode tunnel"
	for ns in "$na" "$nb"; do
		ip -n "$ns" -batch - <<-EOB || return 1
		xfrm state add src $ea dst $eb spi $spi $sa
		xfrm state add src $eb dst $ea spi $((spi + 1)) $sa
		EOB
	done
	ip -n "$na" -batch - <<-EOB || return 1
	xfrm policy add src $a dst $b dir out tmpl src $ea dst $eb $tmpl
	xfrm policy add src $b dst $a dir $fwd tmpl src $eb dst $ea $tmpl
	EOB
	ip -n "$nb" -batch - <<-EOB
	xfrm policy add src $b dst $a dir out tmpl src $eb dst $ea $tmpl
	xfrm policy add src $a dst $b dir in tmpl src $ea dst $eb $tmpl
	EOB
}

capdir=$(mktemp -d)
defer rm -rf "$capdir"
declare -a capture_pids=()

# capture_start NS:DEV...: tcpdump on each DEV into $capdir/DEV.pcap; all are ready when it
# returns.
capture_start() {
	local at ns dev
	for at in "$@"; do
		ns=${at%%:*} dev=${at#*:}
		ip netns exec "$ns" tcpdump -Z root -i "$dev" -n -U -s 0 -w "$capdir/$dev.pcap" \
			2>"$capdir/$dev.log" &
		capture_pids+=($!)
		defer kill $! 2>/dev/null
	done
	for at in "$@"; do
		busywait 60000 grep -q "listening on" "$capdir/${at#*:}.log" || return 1
	done
}

# capture_stop: stop the captures (the packets written so far stay).
capture_stop() {
	local pid
	for pid in "${capture_pids[@]}"; do
		kill -INT "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	capture_pids=()
}

# captured DEV FILTER: how many captured packets on DEV match the pcap-filter FILTER.
captured() {
	tcpdump -r "$capdir/$1.pcap" -n "$2" 2>/dev/null | wc -l
}

# esp_at_least DEV N FILTER: whether DEV's capture holds N ESP packets matching FILTER yet.
esp_at_least() {
	[ "$(captured "$1" "esp and $3")" -ge "$2" ]
}

# tunnelled SRC: ping X's 192.0.2.200 from H's SRC, and send it one datagram whose payload
# a capture would show in clear.
tunnelled() {
	local src=$1
	check ip netns exec "$h" ping -q -c 3 -i 0.2 -W 2 -I "$src" $X4 >/dev/null || return 1
	echo "sitemh-secret-payload" | ip netns exec "$h" socat -u - UDP4-SENDTO:$X4:9,bind="$src"
}

# encrypted_only NAME INNER OUTER: what PE1 and PE2 captured of the flow from H's INNER:
# no clear IPv4 packet to or from INNER, and its tunnel's ESP (outer end OUTER) crossed
# PE2 only: it is still routed by its outer source, in 203.0.113.0/24.
encrypted_only() {
	local name=$1 inner=$2 outer=$3 rc=0 clear1 clear2 esp1 esp2
	clear1=$(captured pe1-ce "ip and not esp and host $inner")
	clear2=$(captured pe2-ce "ip and not esp and host $inner")
	esp1=$(captured pe1-ce "esp and host $outer")
	esp2=$(captured pe2-ce "esp and host $outer")
	echo "# $name: clear IPv4 at PE1 $clear1, at PE2 $clear2; ESP at PE1 $esp1, at PE2 $esp2"
	check [ "$clear1" -eq 0 ] || rc=1
	check [ "$clear2" -eq 0 ] || rc=1
	# 3 requests, 3 replies, the datagram.
	check [ "$esp2" -ge 7 ] || rc=1
	check [ "$esp1" -eq 0 ] || rc=1
	if [ $rc -ne 0 ]; then
		tcpdump -r "$capdir/pe1-ce.pcap" -n "ip and not esp and host $inner" 2>/dev/null |
			head -n 3 | sed 's/^/# PE1: /'
		tcpdump -r "$capdir/pe2-ce.pcap" -n "ip and not esp and host $inner" 2>/dev/null |
			head -n 3 | sed 's/^/# PE2: /'
	fi
	return $rc
}

test_ipsec() {
	local rc=0 rc_local=0 rc_forward=0
	# H's own tunnel (LOCAL_OUT on H) and IR's for H's 198.51.100.10 (FORWARD on IR).
	check tunnel "$h" 203.0.113.10 203.0.113.10/32 "$x" $X_EP $X4/32 0x1000 1 || rc=1
	check tunnel "$ir" 203.0.113.131 198.51.100.10/32 "$x" $X_EP $X4/32 0x2000 2 fwd || rc=1
	check capture_start "$pe1:pe1-ce" "$pe2:pe2-ce" || rc=1
	tunnelled 203.0.113.10 || rc_local=1
	tunnelled 198.51.100.10 || rc_forward=1
	# Wait for the datagrams' ESP to reach PE2; a clear packet only makes this time out.
	busywait 5000 esp_at_least pe2-ce 7 "host 203.0.113.131"
	capture_stop
	encrypted_only LOCAL_OUT 203.0.113.10 203.0.113.10 || rc_local=1
	encrypted_only FORWARD 198.51.100.10 203.0.113.131 || rc_forward=1
	for f in pe1-ce pe2-ce; do
		check_fails grep -q sitemh-secret-payload "$capdir/$f.pcap" || rc=1
	done
	if [ $((rc | rc_local | rc_forward)) -ne 0 ]; then
		ip netns exec "$h" head -n 4 /proc/net/sitemh | sed 's/^/# H: /'
		ip netns exec "$ir" head -n 4 /proc/net/sitemh | sed 's/^/# IR: /'
	fi
	log_test $((rc | rc_local)) "IPsec LOCAL_OUT: H's tunnelled flow crosses providers as ESP only"
	log_test $((rc | rc_forward)) "IPsec FORWARD: IR's site-to-site tunnel crosses them as ESP only"
}

# Part 2.

# build_host: T, N1, N2, N3 as drawn in the header, domains on T. Which device a datagram
# left T by is counted on T's egress.
build_host() {
	setup_ns t n1 n2 n3 || return 1
	local ns i
	for ns in "$t" "$n1" "$n2" "$n3"; do
		ip netns exec "$ns" sysctl -q -w net.ipv6.conf.default.accept_dad=0 \
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
	ip netns exec "$t" nft -f - <<-NFT || return 1
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
	ip netns exec "$t" nft list chain inet count post | awk '
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
	echo sitemh | ip netns exec "$t" "${as[@]}" socat -u - "$to$opts"
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
		ip netns exec "$t" head -n 3 /proc/net/sitemh | sed 's/^/# T: /'
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

for tool in tcpdump socat nft setpriv; do
	command -v $tool >/dev/null || { log_test 1 "$tool is installed"; exit $ksft_fail; }
done
load_module || { log_test 1 "module loads"; exit $ksft_fail; }
if ! build_site || ! configure_site; then
	log_test 1 "build and configure the site"
	exit $ksft_fail
fi
test_ipsec
if ! build_host; then
	log_test 1 "build the host with a VRF and policy rules"
	exit $ksft_fail
fi
test_still_routed_by_source
test_bound_device
test_vrf
test_mark
test_uid
run_cleanup
unload_module
exit $ret
