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
# Senders from the domain bound to t-1, bound to the VRF, marked (fwmark rule to a table
# whose default is N1) or of a uid with a uidrange rule must reach N1/N3, never N2; an
# unbound, unmarked sender reaches N2 (the module still routes by source).

source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/site.sh"

KEY=0x0123456789abcdef0123456789abcdef01234567
X_EP=192.0.2.14

# sa NS SRC DST SPI REQID: an ESP tunnel-mode SA from SRC to DST.
sa() {
	ip -n "$1" xfrm state add src "$2" dst "$3" proto esp spi "$4" reqid "$5" mode tunnel \
		aead 'rfc4106(gcm(aes))' $KEY 128
}

# policy NS DIR SEL_SRC SEL_DST TUN_SRC TUN_DST REQID: traffic SEL_SRC -> SEL_DST goes
# (or must have come) through the tunnel TUN_SRC -> TUN_DST.
policy() {
	ip -n "$1" xfrm policy add src "$3" dst "$4" dir "$2" \
		tmpl src "$5" dst "$6" proto esp reqid "$7" mode tunnel
}

# tunnel NS_A EP_A NET_A NS_B EP_B NET_B SPI REQID FWD: a tunnel between NET_A behind EP_A
# and NET_B behind EP_B; with FWD=fwd, NET_A is not on NS_A (it forwards for it).
tunnel() {
	local na=$1 ea=$2 a=$3 nb=$4 eb=$5 b=$6 spi=$7 reqid=$8 fwd=$9 ns
	for ns in "$na" "$nb"; do
		sa "$ns" "$ea" "$eb" "$spi" "$reqid" || return 1
		sa "$ns" "$eb" "$ea" $((spi + 1)) "$reqid" || return 1
	done
	policy "$na" out "$a" "$b" "$ea" "$eb" "$reqid" || return 1
	policy "$na" "${fwd:-in}" "$b" "$a" "$eb" "$ea" "$reqid" || return 1
	policy "$nb" out "$b" "$a" "$eb" "$ea" "$reqid" || return 1
	policy "$nb" in "$a" "$b" "$ea" "$eb" "$reqid"
}

capdir=$(mktemp -d)
defer rm -rf "$capdir"

# capture_start NS DEV: tcpdump on DEV into $capdir/DEV.pcap, ready when it returns.
capture_start() {
	local ns=$1 dev=$2
	ip netns exec "$ns" tcpdump -Z root -i "$dev" -n -U -s 0 -w "$capdir/$dev.pcap" \
		2>"$capdir/$dev.log" &
	eval "cap_$(echo "$dev" | tr - _)=$!"
	defer kill $! 2>/dev/null
	busywait 10000 grep -q "listening on" "$capdir/$dev.log"
}

# capture_stop DEV: stop the capture on DEV (the packets written so far stay).
capture_stop() {
	local var pid
	var="cap_$(echo "$1" | tr - _)"
	pid=${!var}
	kill -INT "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# captured DEV FILTER: how many captured packets on DEV match the pcap-filter FILTER.
captured() {
	tcpdump -r "$capdir/$1.pcap" -n "$2" 2>/dev/null | wc -l
}

# esp_at_least DEV N: whether DEV's capture holds N ESP packets yet.
esp_at_least() {
	[ "$(captured "$1" esp)" -ge "$2" ]
}

# encrypted_only NAME SRC: ping X's 192.0.2.200 from H's SRC through a tunnel while PE1 and
# PE2 capture; no IPv4 packet but ESP may cross the providers, and the ESP crosses PE2.
encrypted_only() {
	local name=$1 src=$2 rc=0 clear1 clear2 esp1 esp2
	capture_start "$pe1" pe1-ce || rc=1
	capture_start "$pe2" pe2-ce || rc=1
	check ip netns exec "$h" ping -q -c 3 -i 0.2 -W 2 -p 5ec7e7 -I "$src" $X4 >/dev/null || rc=1
	# One datagram too, with a payload a capture would show in clear.
	echo "sitemh-secret-payload" | ip netns exec "$h" socat -u - UDP4-SENDTO:$X4:9,bind="$src"
	# Wait for the datagram's ESP to reach PE2 (3 requests, 3 replies, 1 datagram); a
	# clear packet only makes this time out.
	busywait 3000 esp_at_least pe2-ce 7
	capture_stop pe1-ce
	capture_stop pe2-ce
	clear1=$(captured pe1-ce "ip and not esp")
	clear2=$(captured pe2-ce "ip and not esp")
	esp1=$(captured pe1-ce "esp")
	esp2=$(captured pe2-ce "esp")
	echo "# $name: clear IPv4 at PE1 $clear1, at PE2 $clear2; ESP at PE1 $esp1, at PE2 $esp2"
	check [ "$clear1" -eq 0 ] || rc=1
	check [ "$clear2" -eq 0 ] || rc=1
	check [ "$esp2" -ge 7 ] || rc=1
	check [ "$esp1" -eq 0 ] || rc=1
	if [ $rc -ne 0 ]; then
		tcpdump -r "$capdir/pe1-ce.pcap" -n "ip and not esp" 2>/dev/null | head -n 3 | sed 's/^/# PE1: /'
		tcpdump -r "$capdir/pe2-ce.pcap" -n "ip and not esp" 2>/dev/null | head -n 3 | sed 's/^/# PE2: /'
		ip netns exec "$h" cat /proc/net/sitemh | sed 's/^/# H: /'
		ip netns exec "$ir" cat /proc/net/sitemh | sed 's/^/# IR: /'
	fi
	check_fails grep -q sitemh-secret-payload "$capdir/pe1-ce.pcap" || rc=1
	check_fails grep -q sitemh-secret-payload "$capdir/pe2-ce.pcap" || rc=1
	return $rc
}

test_ipsec_local_out() {
	local rc=0
	check tunnel "$h" 203.0.113.10 203.0.113.10/32 "$x" $X_EP $X4/32 0x1000 1 || rc=1
	check encrypted_only "LOCAL_OUT" 203.0.113.10 || rc=1
	log_test $rc "IPsec LOCAL_OUT: H's tunnelled flow crosses the providers as ESP only"
}

test_ipsec_forward() {
	local rc=0
	check tunnel "$ir" 203.0.113.131 198.51.100.10/32 "$x" $X_EP $X4/32 0x2000 2 fwd || rc=1
	check encrypted_only "FORWARD" 198.51.100.10 || rc=1
	log_test $rc "IPsec FORWARD: IR's site-to-site tunnel crosses providers as ESP only"
}

# Part 2.

# build_host: T, N1, N2, N3 as drawn in the header, domains on T.
build_host() {
	setup_ns t n1 n2 n3 || return 1
	local ns i
	for ns in "$t" "$n1" "$n2" "$n3"; do
		ip netns exec "$ns" sysctl -q -w net.ipv6.conf.default.accept_dad=0 \
			net.ipv6.conf.all.accept_dad=0
	done
	ip -n "$t" link add vrf0 type vrf table 10 || return 1
	ip -n "$t" link set vrf0 up
	for i in 1 2 3; do
		link "$t" t-$i "$(eval echo \$n$i)" n$i-t
	done
	ip -n "$t" link set t-3 master vrf0
	for i in 1 2 3; do
		ip -n "$t" addr add 192.0.2.$((13 + 4 * i))/30 dev t-$i
		ip -n "$(eval echo \$n$i)" addr add 192.0.2.$((14 + 4 * i))/30 dev n$i-t
		ip -n "$t" -6 addr add 2001:db8:f$i::1/64 dev t-$i nodad
		ip -n "$(eval echo \$n$i)" -6 addr add 2001:db8:f$i::2/64 dev n$i-t nodad
	done
	ip -n "$t" addr add 203.0.113.10/32 dev lo
	ip -n "$t" -6 addr add 2001:db8:2::10/128 dev lo
	ip -n "$t" addr add 203.0.113.30/32 dev t-3
	ip -n "$t" -6 addr add 2001:db8:2::30/128 dev t-3 nodad
	ip -n "$t" route add default via 192.0.2.18
	ip -n "$t" -6 route add default via 2001:db8:f1::2
	ip -n "$t" route add default via 192.0.2.26 table 10 || return 1
	ip -n "$t" -6 route add default via 2001:db8:f3::2 table 10 || return 1
	# Marked packets and uid 4242's go to N1 by policy.
	for fam in -4 -6; do
		ip -n "$t" $fam rule add fwmark 7 table 100 || return 1
		ip -n "$t" $fam rule add uidrange 4242-4242 table 100 || return 1
	done
	ip -n "$t" route add default via 192.0.2.18 dev t-1 table 100 || return 1
	ip -n "$t" -6 route add default via 2001:db8:f1::2 dev t-1 table 100 || return 1
	for ns in "$n1" "$n2" "$n3"; do
		ip netns exec "$ns" nft -f - <<-NFT || return 1
		table inet count {
			chain pre {
				type filter hook prerouting priority 0; policy accept;
				ip saddr 203.0.113.0/24 udp dport 9 counter
				ip6 saddr 2001:db8:2::/48 udp dport 9 counter
			}
		}
		NFT
	done
	domains "$t" ipv4 "203.0.113.0 /24 192.0.2.22" || return 1
	domains "$t" ipv6 "2001:db8:2:: /48 2001:db8:f2::2"
}

# arrived NS: datagrams from the domain (either family) that reached NS.
arrived() {
	ip netns exec "$1" nft list chain inet count pre |
		sed -n 's/.*packets \([0-9]*\).*/\1/p' | awk '{ n += $1 } END { print n + 0 }'
}

# send SRC DEV MARK UID: three UDP datagrams from SRC to X (192.0.2.200 or its IPv6
# address) port 9 on T, from a socket bound to DEV ("" for none) with mark MARK, created
# by UID.
send() {
	ip netns exec "$t" python3 - "$@" <<-'PY'
	import os, socket, sys
	src, dev, mark, uid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
	if uid:
	    os.setgid(uid)
	    os.setuid(uid)
	v6 = ":" in src
	s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
	if dev:
	    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
	if mark:
	    s.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
	s.bind((src, 0))
	for _ in range(3):
	    s.sendto(b"sitemh", ("2001:db8:ff::200" if v6 else "192.0.2.200", 9))
	PY
}

# reaches WANT SRC DEV MARK UID: the datagrams of `send SRC DEV MARK UID` reach WANT
# and no other neighbour of T.
reaches() {
	local want=$1 ns rc=0
	shift
	local b1 b2 b3
	b1=$(arrived "$n1") b2=$(arrived "$n2") b3=$(arrived "$n3")
	send "$@" || return 1
	case $want in
	n1) busywait_eq 3000 $((b1 + 3)) arrived "$n1" || rc=1 ;;
	n2) busywait_eq 3000 $((b2 + 3)) arrived "$n2" || rc=1 ;;
	n3) busywait_eq 3000 $((b3 + 3)) arrived "$n3" || rc=1 ;;
	esac
	[ "$want" = n1 ] || [ "$(arrived "$n1")" -eq "$b1" ] || rc=1
	[ "$want" = n2 ] || [ "$(arrived "$n2")" -eq "$b2" ] || rc=1
	[ "$want" = n3 ] || [ "$(arrived "$n3")" -eq "$b3" ] || rc=1
	if [ $rc -ne 0 ]; then
		echo "# sent $*: N1 $b1 -> $(arrived "$n1"), N2 $b2 -> $(arrived "$n2")," \
			"N3 $b3 -> $(arrived "$n3"); wanted $want"
		ip netns exec "$t" cat /proc/net/sitemh | sed 's/^/# T: /'
	fi
	return $rc
}

test_still_routed_by_source() {
	local rc=0
	check reaches n2 203.0.113.10 "" 0 0 || rc=1
	check reaches n2 2001:db8:2::10 "" 0 0 || rc=1
	# Bound to the router's own device: rerouted as well. (IPv4 only: IPv6 has no
	# route on t-2 for a socket bound to it.)
	check reaches n2 203.0.113.10 t-2 0 0 || rc=1
	log_test $rc "unbound, unmarked senders still go to their domain's router"
}

test_bound_device() {
	local rc=0
	check reaches n1 203.0.113.10 t-1 0 0 || rc=1
	check reaches n1 2001:db8:2::10 t-1 0 0 || rc=1
	log_test $rc "SO_BINDTODEVICE socket keeps its device (router on another one)"
}

test_vrf() {
	local rc=0
	check reaches n3 203.0.113.30 vrf0 0 0 || rc=1
	check reaches n3 2001:db8:2::30 vrf0 0 0 || rc=1
	log_test $rc "VRF-bound socket stays in its VRF"
}

test_mark() {
	local rc=0
	check reaches n1 203.0.113.10 "" 7 0 || rc=1
	check reaches n1 2001:db8:2::10 "" 7 0 || rc=1
	log_test $rc "SO_MARK packets keep the table their fwmark rule selects"
}

test_uid() {
	local rc=0
	check reaches n1 203.0.113.10 "" 0 4242 || rc=1
	check reaches n1 2001:db8:2::10 "" 0 4242 || rc=1
	log_test $rc "uid-routed packets keep the table their uidrange rule selects"
}

for tool in tcpdump socat nft python3; do
	command -v $tool >/dev/null || { log_test 1 "$tool is installed"; exit $ksft_fail; }
done
load_module || { log_test 1 "module loads"; exit $ksft_fail; }
if ! build_site || ! configure_site; then
	log_test 1 "build and configure the site"
	exit $ksft_fail
fi
test_ipsec_local_out
test_ipsec_forward
run_cleanup
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
