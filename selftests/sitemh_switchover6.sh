#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Link-failure switchover (draft 2.1.2) over IPv6, on the site of sitemh_switchover.sh with
# its IPv6 addresses (switchover_site.sh): CE routers multicast ICMPv6 notices, the two ends
# run the authenticated exchange over ICMPv6 and translate IPv6 packets.

source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
tls=$here/sitemh_tls

source "$here/switchover_site.sh"

# The same over IPv6: CE1 multicasts the ICMPv6 notice to H, and the exchange runs over
# ICMPv6.
test_link_failure_v6() {
	local rc=0 before_h2 rst_before switched_h switched_x refused_h repeated_h
	before_h2=$(count "$ce2" up h2v6)
	rst_before=$(( $(count "$x" in rst) + $(count "$x" out rst) ))
	# This case's moves, refusals and repetitions (deltas of the namespaces' counters).
	switched_h=$(field6 "$h" switched)
	switched_x=$(field6 "$x" switched)
	refused_h=$(field6 "$h" refused)
	repeated_h=$(linkfail6 "$h" repeated)
	bind=$H1_6 peer=$X1_6 routes_h=$routes_h6 routes_x=$routes_x6 \
		transfer "IPv6" $((64 << 20)) 60000 "-6 -3" ip -n "$ce1" link set ce1-up down
	transferred_intact || rc=1
	check grep -qx "in_use [^ ]* switches 1" "$out_c" || rc=1
	check grep -qx "in_use [^ ]* switches 1" "$out_s" || rc=1
	check [ "$(count "$ce2" up h2v6)" -gt "$((before_h2 + 100))" ] || rc=1
	check [ $(( $(count "$x" in rst) + $(count "$x" out rst) )) -eq "$rst_before" ] || rc=1
	# H heard of it over IPv6 (P1's IPv6 domain down), both ends' IPv6 switchover did it.
	check [ "$(down6_mask "$h")" = 0x1 ] || rc=1
	check [ "$(field6 "$h" switched)" -ge $((${switched_h:-0} + 1)) ] || rc=1
	check [ "$(field6 "$x" switched)" -ge $((${switched_x:-0} + 1)) ] || rc=1
	check [ "$(field6 "$h" refused)" -eq "$refused_h" ] || rc=1
	# The IPv6 notice was repeated (three repetitions in 1.4 s), and the copies counted so.
	# Stale are only answers to H's solicitations that carry the state before the failure
	# and arrived after it (the copies of the failure itself are repetitions).
	check [ "$(linkfail6 "$h" repeated)" -ge $((${repeated_h:-0} + 3)) ] || rc=1
	check [ "$(linkfail6 "$h" stale)" -le "$(linkfail6 "$ce1" answered)" ] || rc=1
	[ $rc -eq 0 ] || in_ns "$h" grep "^linkfail6\|^switchover6" /proc/net/sitemh | sed 's/^/# H: /'
	restore_uplink
	check busywait_eq 10000 0x0 down6_mask "$h" || rc=1
	log_test $rc "IPv6: a $(mib 64) MiB transfer survives CE1-PE1 going down (ICMPv6 notice and exchange)"
}

# The routes carried by the module over IPv6: both ends call sitemh_protect_ssl() alone.
test_carried_routes_v6() {
	local rc=0
	bind=$H1_6 peer=$X1_6 routes_h="" routes_x="" \
		transfer "IPv6, carried routes" $((64 << 20)) 60000 "-6 -3" ip -n "$ce1" link set ce1-up down
	transferred_intact || rc=1
	check grep -qx "routes 4 $H1_6,$X1_6 $H1_6,$X2_6 $H2_6,$X1_6 $H2_6,$X2_6" "$out_c" || rc=1
	check grep -qx "routes 4 $X1_6,$H1_6 $X1_6,$H2_6 $X2_6,$H1_6 $X2_6,$H2_6" "$out_s" || rc=1
	check grep -qx "in_use [23] switches 1" "$out_c" || rc=1
	check grep -qx "in_use [^ ]* switches 1" "$out_s" || rc=1
	check [ "$(field6 "$h" lists_heard)" -gt 0 ] || rc=1
	check [ "$(field6 "$x" lists_heard)" -gt 0 ] || rc=1
	restore_uplink
	check busywait_eq 10000 0x0 down6_mask "$h" || rc=1
	log_test $rc "IPv6: routes carried by the module (sitemh_protect_ssl, no SO_LFROUTES), the transfer survives CE1-PE1 going down"
}

test_udp_flow_v6() {
	local rc=0 before_h2
	before_h2=$(count "$ce2" up h2v6)
	bind=$H1_6 peer=$X1_6 routes_h=$routes_h6 routes_x=$routes_x6 \
		transfer "IPv6 UDP flow" $((16 << 20)) 20000 "-6 -d -3" ip -n "$ce1" link set ce1-up down
	check [ "$client_rc" -eq 0 ] || rc=1
	check [ "$server_rc" -eq 0 ] || rc=1
	check grep -q "verify ok" "$out_c" || rc=1
	check grep -qx "bad 0 tail_missing 0" "$out_s" || rc=1
	check grep -qx "in_use [^ ]* switches 1" "$out_c" || rc=1
	check grep -qx "in_use [^ ]* switches 1" "$out_s" || rc=1
	check [ "$(count "$ce2" up h2v6)" -gt "$((before_h2 + 100))" ] || rc=1
	restore_uplink
	check busywait_eq 10000 0x0 down6_mask "$h" || rc=1
	log_test $rc "IPv6 UDP flow (DTLS): moves with the link failure, every datagram verifies"
}

test_path_mtu_on_the_new_pair_v6() {
	local rc=0 before
	# As for IPv4: PE2's "packet too big", about the translated packet, must reach the
	# socket, or the connection stalls on the new pair (IPv6 routers never fragment).
	before=$(count "$h" in packet-too-big)
	ip -n "$pe2" link set pe2-x mtu 1280
	ip -n "$x" link set x-pe2 mtu 1280
	bind=$H1_6 peer=$X1_6 routes_h=$routes_h6 routes_x=$routes_x6 \
		transfer "IPv6, smaller MTU on the new pair" $((16 << 20)) 40000 "-6 -3" \
		ip -n "$ce1" link set ce1-up down
	transferred_intact || rc=1
	check grep -qx "in_use [^ ]* switches 1" "$out_c" || rc=1
	check [ "$(count "$h" in packet-too-big)" -gt "$before" ] || rc=1
	restore_uplink
	ip -n "$pe2" link set pe2-x mtu 1500
	ip -n "$x" link set x-pe2 mtu 1500
	log_test $rc "IPv6 path MTU smaller on the new pair: ICMPv6 errors translated, byte-exact"
}

# notice6 NS IFACE SRC HOPS LEN CODE: an IPv6 notice (ICMPv6 type 200, the module's
# default) from SRC to all nodes on IFACE, LEN octets long, with hop limit HOPS.
notice6() {
	local hex zeros
	printf -v zeros '%*s' $((2 * $5 - 4)) ''
	printf -v hex '%02x%02x%s' 200 "$6" "${zeros// /0}"
	in_ns "$1" "$here/sitemh_tool" raw6 "$2" "$3" "$4" "$hex"
}

# linkfail6 NS NAME: a field of the "linkfail6" line.
linkfail6() {
	proc_value "$1" linkfail6 "$2"
}

test_bad_notices_v6() {
	local rc=0 refused
	ip -n "$lan" -6 addr add 2001:db8:1::77/64 dev br0 nodad
	refused=$(linkfail6 "$h" refused)
	# Not sent on the link (hop limit 64), truncated, and from an address of the LAN that
	# is no router of H's: refused, nothing marked down.
	notice6 "$ce1" ce1-b 2001:db8:1::1 64 24 1 || rc=1
	notice6 "$ce1" ce1-b 2001:db8:1::1 255 23 1 || rc=1
	notice6 "$lan" br0 2001:db8:1::77 255 24 1 || rc=1
	check busywait_eq 3000 $((refused + 3)) linkfail6 "$h" refused || rc=1
	check [ "$(down6_mask "$h")" = 0x0 ] || rc=1
	# The same notice well formed from CE1 marks P1's IPv6 domain down; code 5 undoes it.
	notice6 "$ce1" ce1-b 2001:db8:1::1 255 24 1 || rc=1
	check busywait_eq 3000 0x1 down6_mask "$h" || rc=1
	notice6 "$ce1" ce1-b 2001:db8:1::1 255 24 5 || rc=1
	check busywait_eq 3000 0x0 down6_mask "$h" || rc=1
	check [ "$(linkfail6 "$h" refused)" -eq $((refused + 3)) ] || rc=1
	ip -n "$lan" -6 addr del 2001:db8:1::77/64 dev br0
	log_test $rc "IPv6 notices: off-link, truncated, from no router: refused; a CE's own works"
}

test_ce_failure_v6() {
	local rc=0
	# CE2 names CE1 in IPv6 notices by the address H's IPv6 domain knows it by.
	in_ns "$ce2" sysctl -q -w net.ipv4.sitemh_ce.peers6=2001:db8:1::1 || rc=1
	check [ "$(in_ns "$ce2" sysctl -n net.ipv4.sitemh_ce.peers6)" = 2001:db8:1::1 ] || rc=1
	bind=$H1_6 peer=$X1_6 routes_h=$routes_h6 routes_x=$routes_x6 \
		transfer "IPv6, CE1 fails" $((64 << 20)) 60000 "-6 -3" ip -n "$ce1" link set ce1-b down
	transferred_intact || rc=1
	check grep -qx "in_use [^ ]* switches 1" "$out_c" || rc=1
	check grep -qx "in_use [^ ]* switches 1" "$out_s" || rc=1
	ip -n "$ce1" link set ce1-b up
	# CE1 is heard again: code 5 naming it, P1's IPv6 domain is up again.
	check busywait_eq 10000 0x0 down6_mask "$h" || rc=1
	log_test $rc "IPv6: CE1 itself fails: CE2's code 2 names it by its IPv6 address, the transfer survives"
}

# no_ipv4 NS...: none of the namespaces has an IPv4 address (loopback's included).
no_ipv4() {
	local ns
	for ns in "$@"; do
		[ -z "$(ip -n "$ns" -4 -o addr show)" ] || { echo "# $ns has IPv4: $(ip -n "$ns" -4 -o addr show)"; return 1; }
	done
}

# Issue 16: an IPv6-only site (no IPv4 address anywhere, the loopbacks' included). The
# CEs watch each other by IPv6 keepalives (peers6 alone), CE1 probes its PE over IPv6
# (pe_addr an IPv6 address). CE1 fails: CE2 misses its keepalives and multicasts code 2
# naming CE1, and the live transfer moves; then PE1 stops answering CE1's probes: code 1.
# Last: the site keeps no IPv4 afterwards.
test_ipv6_only_site() {
	local rc=0 ns all="$h $lan $ce1 $ce2 $ce3 $pe1 $pe2 $x" sent_ce2 refused6_ce2 refused6_ce1
	for ns in $all; do
		ip -n "$ns" -4 addr flush to 0.0.0.0/0 || rc=1
	done
	in_ns "$h" sysctl -q -w net.ipv4.ip_num_domains=0 || rc=1
	in_ns "$x" sysctl -q -w net.ipv4.ip_num_domains=0 || rc=1
	in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.pe_addr=2001:db8:f1::2 \
		net.ipv4.sitemh_ce.peers= net.ipv4.sitemh_ce.peers6=2001:db8:2::2 || rc=1
	in_ns "$ce2" sysctl -q -w net.ipv4.sitemh_ce.peers= \
		net.ipv4.sitemh_ce.peers6=2001:db8:1::1 || rc=1
	in_ns "$ce3" sysctl -q -w net.ipv4.sitemh_ce.pe_addr=2001:db8:f3::2 || rc=1
	check [ "$(in_ns "$ce1" sysctl -n net.ipv4.sitemh_ce.pe_addr)" = 2001:db8:f1::2 ] || rc=1
	check [ -z "$(in_ns "$ce2" sysctl -n net.ipv4.sitemh_ce.peers)" ] || rc=1
	# The LAN carries both prefixes: each CE reaches the other's address on it.
	ip -n "$ce1" -6 route add 2001:db8:2::/64 dev ce1-b || rc=1
	ip -n "$ce2" -6 route add 2001:db8:1::/64 dev ce2-b || rc=1
	sent_ce2=$(lf_field "$ce2" sent)
	refused6_ce1=$(linkfail6 "$ce1" refused) refused6_ce2=$(linkfail6 "$ce2" refused)
	# The CEs hear each other over IPv6 (a keepalive from each of the other's addresses;
	# those it does not know the other by are ignored, not refused).
	check busywait 5000 eval '[ "$(linkfail6 "$ce2" ignored)" -gt 0 ]' || rc=1
	bind=$H1_6 peer=$X1_6 routes_h=$routes_h6 routes_x=$routes_x6 \
		transfer "IPv6-only site, CE1 fails" $((16 << 20)) 20000 "-6 -3" ip -n "$ce1" link set ce1-b down
	transferred_intact || rc=1
	check grep -qx "in_use [^ ]* switches 1" "$out_c" || rc=1
	check grep -qx "in_use [^ ]* switches 1" "$out_s" || rc=1
	# CE2 announced it in IPv6 only; nobody refused a keepalive.
	check [ "$(lf_field "$ce2" sent)" = "$sent_ce2" ] || rc=1
	check [ "$(linkfail6 "$ce2" sent)" -gt 0 ] || rc=1
	check [ "$(linkfail6 "$ce2" refused)" = "$refused6_ce2" ] || rc=1
	# CE1 is back (with its route to CE2's prefix, which went with the link): CE2 hears
	# it again and multicasts code 5 naming it.
	ip -n "$ce1" link set ce1-b up
	ip -n "$ce1" -6 route replace 2001:db8:2::/64 dev ce1-b || rc=1
	check busywait_eq 10000 0x0 down6_mask "$h" || rc=1
	check [ "$(linkfail6 "$ce1" refused)" = "$refused6_ce1" ] || rc=1
	# PE1 stops answering CE1's IPv6 echo probes: after 3 misses, code 1 for P1.
	in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.pe_probe_ms=200 || rc=1
	nap 1
	check [ "$(down6_mask "$h")" = 0x0 ] || rc=1
	in_ns "$pe1" nft -f - <<-NFT || rc=1
	table inet sitemh_mute {
		chain input {
			type filter hook input priority 0;
			icmpv6 type echo-request drop
		}
	}
	NFT
	check busywait_eq 10000 0x1 down6_mask "$h" || rc=1
	in_ns "$pe1" nft delete table inet sitemh_mute || rc=1
	check busywait_eq 10000 0x0 down6_mask "$h" || rc=1
	in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.pe_probe_ms=0 || rc=1
	# No IPv4 came back in the meantime: the site ran on IPv6 alone throughout.
	check no_ipv4 $all || rc=1
	[ $rc -eq 0 ] || for ns in "$h" "$ce1" "$ce2"; do
		in_ns "$ns" grep "^linkfail" /proc/net/sitemh | sed "s/^/# $ns: /"
	done
	log_test $rc "IPv6-only site: CEs watch each other by IPv6 keepalives, the PE by IPv6 probes; a transfer survives CE1 failing"
}

modprobe -q sitemh 2>/dev/null || insmod "$SITEMH_KO" 2>/dev/null || true
[ -x "$tls" ] || { echo "sitemh_tls is not built"; exit $ksft_fail; }
build_switchover_site && configure_sitemh || { echo "could not build the topology"; exit $ksft_fail; }

# A developer's shortcut: SWITCHOVER_CASES="test_udp_flow_v6" runs only those.
if [ -n "${SWITCHOVER_CASES:-}" ]; then
	eval "$SWITCHOVER_CASES"
	exit $ret
fi
run_case test_link_failure_v6
run_case test_carried_routes_v6
run_case test_udp_flow_v6
run_case test_path_mtu_on_the_new_pair_v6
run_case test_ce_failure_v6
run_case test_bad_notices_v6
# Last: it takes every IPv4 address away.
run_case test_ipv6_only_site
exit $ret
