#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Home addresses and IPv4 address stacking (draft 2.2, 2.2.1, 2.3, 2.3.4) on the site of
# site.sh. H is a mobile node visiting the site: its home address 100.64.0.5 (on lo) is
# from no provider of the site; its care-of address is its P1 address 198.51.100.10. X, the
# correspondent outside, reaches H's home network only through PE2, where nothing answers:
# replies reach H only if X stacks them towards H's care-of address.
#
# Captures on X's link to PE1 show the option on the wire (RFC 791 layout: code 144,
# length, stacking type, reserved, addresses); the applications print the addresses their
# sockets see.

source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/site.sh"
here=$(cd "$(dirname "$0")" && pwd)
app="python3 $here/sitemh_home.py"
tool=$here/sitemh_tool
HOME4=100.64.0.5
CAREOF=198.51.100.10
X_HOME=100.65.0.7
HOME6=2001:db8:aa::5
CAREOF6=2001:db8:1:a::10
X_HOME6=2001:db8:bb::7
PORT=7411
# The site's binding key (net.ipv{4,6}.sitemh_home.binding_key), shared by H and X.
KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f

# proc_field NS NAME [LINE]: a counter of the "home" (or LINE, e.g. home6) line of
# /proc/net/sitemh.
proc_field() {
	proc_value "$1" "${3:-home}" "$2"
}

# capture NS DEV FILE: start tcpdump; stop_capture waits until it has written.
# capture NS DEV FILE [FILTER]: tcpdump on DEV of NS into FILE (default filter: IP).
capture() {
	ip netns exec "$1" tcpdump -q -n -U -i "$2" -w "$3" "${4:-ip or ip6}" 2>/dev/null &
	capture_pid=$!
	defer kill $capture_pid
	# tcpdump writes its file header once it listens.
	busywait 30000 test -s "$3"
}

pcap_has_packets() { # FILE
	[ "$(stat -c %s "$1")" -gt 24 ]
}

stop_capture() {
	nap 0.5
	kill "$capture_pid" 2>/dev/null
	wait "$capture_pid" 2>/dev/null
}

# tcp_exchange SERVER_NS CLIENT_NS BIND DST: one TCP connection of 256 KiB both ways;
# sets server_saw and client_saw to what each application printed.
tcp_exchange() {
	local out=$tmp/server.$RANDOM wildcard=0.0.0.0
	case $4 in *:*) wildcard=:: ;; esac
	ip netns exec "$1" $app tcp-server $PORT $wildcard >"$out" &
	local server=$!
	busywait 30000 listening "$1" $PORT
	client_saw=$(in_ns "$2" $app tcp-client "$3" "$4" $PORT 262144 2>&1)
	wait $server
	server_saw=$(cat "$out")
}

# configure_keys: H and X share the binding key and take each other's binding updates
# (when both are away, each is the other's correspondent).
configure_keys() {
	local ns fam
	for ns in "$h" "$x"; do
		for fam in 4 6; do
			in_ns "$ns" sysctl -q -w net.ipv$fam.sitemh_home.binding_key=$KEY \
				net.ipv$fam.sitemh_home.correspondent=1 || return 1
		done
	done
}

configure_mobile() {
	ip -n "$h" addr add $HOME4/32 dev lo
	in_ns "$h" sysctl -q -w net.ipv4.ip_home_addr=$HOME4 \
		net.ipv4.sitemh_home.careof_addr=$CAREOF || return 1
	in_ns "$x" sysctl -q -w net.ipv4.sitemh_home.correspondent=1 || return 1
	configure_keys || return 1
	# H's home network, as X sees it: behind PE2, which has no route there.
	ip -n "$x" route add 100.64.0.0/24 via 192.0.2.13
	# The same in IPv6.
	ip -n "$h" -6 addr add $HOME6/128 dev lo
	in_ns "$h" sysctl -q -w net.ipv6.ip_home_addr=$HOME6 \
		net.ipv6.sitemh_home.careof_addr=$CAREOF6 || return 1
	in_ns "$x" sysctl -q -w net.ipv6.sitemh_home.correspondent=1 || return 1
	ip -n "$x" -6 route add 2001:db8:aa::/48 via 2001:db8:ff:4::1
}

# rh TYPE NEXT ADDR...: the expected type 2 routing header in hex.
rh() {
	local type=$1 next=$2 a out
	shift 2
	out=$(printf '%02x%02x0201%02x000000' "$next" $((2 * $#)) "$type")
	for a in "$@"; do
		out=$out$(python3 -c "import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).packed.hex())" "$a")
	done
	echo "$out"
}

test_ipv6() {
	local rc=0 opts saw out=$tmp/udp6.out
	capture "$x" x-pe1 "$tmp/v6.pcap"
	tcp_exchange "$x" "$h" $HOME6 $X6
	stop_capture
	echo "# H: $client_saw"
	echo "# X: $server_saw"
	check [ "$client_saw" = "local $HOME6 peer $X6 ok 262144" ] || rc=1
	check [ "$server_saw" = "peer $HOME6 local $X6" ] || rc=1
	opts=$($app options "$tmp/v6.pcap" $CAREOF6)
	echo "# routing header from $CAREOF6: $opts"
	check [ "$opts" = "$(rh 1 6 $HOME6)" ] || rc=1
	opts=$($app options "$tmp/v6.pcap" $X6)
	echo "# routing header from $X6: $opts"
	check [ "$opts" = "$(rh 0 6 $HOME6)" ] || rc=1
	check [ "$(proc_field "$x" bindings home6)" -eq 1 ] || rc=1
	# UDP.
	ip netns exec "$x" $app udp-server $X6 $PORT >"$out" &
	local server=$!
	defer kill $server
	busywait 30000 listening "$x" $PORT udp
	saw=$(in_ns "$h" $app udp-client $HOME6 $X6 $PORT 2>&1)
	kill $server
	echo "# UDP: H: $saw; X: $(cat "$out")"
	check [ "$saw" = "reply $X6 ok" ] || rc=1
	check [ "$(cat "$out")" = "peer $HOME6" ] || rc=1
	# Both away: type 2.
	ip -n "$x" -6 addr add $X_HOME6/128 dev lo
	in_ns "$x" sysctl -q -w net.ipv6.ip_home_addr=$X_HOME6 \
		net.ipv6.sitemh_home.careof_addr=$X6 || rc=1
	capture "$x" x-pe1 "$tmp/v6b.pcap"
	tcp_exchange "$x" "$h" $HOME6 $X_HOME6
	stop_capture
	echo "# both away: H: $client_saw; X: $server_saw"
	check [ "$client_saw" = "local $HOME6 peer $X_HOME6 ok 262144" ] || rc=1
	check [ "$server_saw" = "peer $HOME6 local $X_HOME6" ] || rc=1
	opts=$($app options "$tmp/v6b.pcap" $X6)
	echo "# routing header from $X6: $opts"
	check [ "$opts" = "$(rh 2 6 $X_HOME6 $HOME6)" ] || rc=1
	check [ "$(in_ns "$h" "$tool" careof -6 $HOME6 2>&1)" = $CAREOF6 ] || rc=1
	in_ns "$x" sysctl -q -w net.ipv6.sitemh_home.careof_addr=:: net.ipv6.ip_home_addr=
	log_test $rc "IPv6: type 2 routing header with stacking types 1, 0 and 2; home addresses in the sockets"
}

test_sender_away_tcp() {
	local rc=0 before after opts stacked restored
	before=$(uplink_count "$ce1" p1 ip)
	stacked=$(proc_field "$h" stacked)
	restored=$(proc_field "$h" restored)
	capture "$x" x-pe1 "$tmp/type1.pcap"
	tcp_exchange "$x" "$h" $HOME4 $X4
	stop_capture
	after=$(uplink_count "$ce1" p1 ip)
	echo "# H: $client_saw"
	echo "# X: $server_saw"
	check [ "$client_saw" = "local $HOME4 peer $X4 ok 262144" ] || rc=1
	check [ "$server_saw" = "peer $HOME4 local $X4" ] || rc=1
	# On the wire: H's care-of address as the source, its home address stacked (type 1),
	# and the site routed it by the care-of address's provider.
	opts=$($app options "$tmp/type1.pcap" $CAREOF)
	echo "# options from $CAREOF: $opts"
	check [ "$opts" = 90080100$(printf '%02x' 100 64 0 5) ] || rc=1
	# X's replies go to the care-of address with H's home address stacked (type 0).
	opts=$($app options "$tmp/type1.pcap" $X4)
	echo "# options from $X4: $opts"
	check [ "$opts" = 90080000$(printf '%02x' 100 64 0 5) ] || rc=1
	check [ "$after" -gt "$before" ] || rc=1
	# This exchange stacked and restored (deltas: the counters are the namespace's).
	check [ "$(proc_field "$h" stacked)" -gt "${stacked:-0}" ] || rc=1
	check [ "$(proc_field "$h" restored)" -gt "${restored:-0}" ] || rc=1
	check [ "$(proc_field "$x" bindings)" -eq 1 ] || rc=1
	log_test $rc "TCP from a home address: care-of on the wire, home addresses in the sockets"
}

test_sender_away_udp() {
	local rc=0 out=$tmp/udp.out saw
	# Bound to X's address: a wildcard server would answer from the address of its
	# route to H's home network (what recvwithdstaddr/sendwithsrcaddr are for).
	ip netns exec "$x" $app udp-server $X4 $PORT >"$out" &
	local server=$!
	defer kill $server
	busywait 30000 listening "$x" $PORT udp
	saw=$(in_ns "$h" $app udp-client $HOME4 $X4 $PORT 2>&1)
	kill $server
	echo "# H: $saw; X: $(cat "$out")"
	check [ "$saw" = "reply $X4 ok" ] || rc=1
	check [ "$(cat "$out")" = "peer $HOME4" ] || rc=1
	log_test $rc "UDP from a home address: both applications see home addresses only"
}

test_both_away() {
	local rc=0 opts
	ip -n "$x" addr add $X_HOME/32 dev lo
	in_ns "$x" sysctl -q -w net.ipv4.ip_home_addr=$X_HOME \
		net.ipv4.sitemh_home.careof_addr=$X4 || rc=1
	capture "$x" x-pe1 "$tmp/type2.pcap"
	tcp_exchange "$x" "$h" $HOME4 $X_HOME
	stop_capture
	echo "# H: $client_saw"
	echo "# X: $server_saw"
	check [ "$client_saw" = "local $HOME4 peer $X_HOME ok 262144" ] || rc=1
	check [ "$server_saw" = "peer $HOME4 local $X_HOME" ] || rc=1
	# X answers with both home addresses stacked (type 2): its own, then H's.
	opts=$($app options "$tmp/type2.pcap" $X4)
	echo "# options from $X4: $opts"
	check [ "$opts" = 900c0200$(printf '%02x' 100 65 0 7 100 64 0 5) ] || rc=1
	in_ns "$x" sysctl -q -w net.ipv4.sitemh_home.careof_addr=0.0.0.0 net.ipv4.ip_home_addr=
	log_test $rc "both ends away: type 2, each application sees the other's home address"
}

test_use_homeaddr_toggle() {
	local rc=0 out=$tmp/hold.out stacked
	in_ns "$h" sysctl -q -w net.ipv4.ip_use_homeaddr=1
	check [ "$(in_ns "$h" "$tool" srcaddr $X4)" = $HOME4 ] || rc=1
	ip netns exec "$x" $app tcp-server $PORT >/dev/null &
	local server=$!
	defer kill $server
	busywait 30000 listening "$x" $PORT
	# A connection from the home address lives across the toggle.
	exec {to_hold}> >(in_ns "$h" $app tcp-hold $HOME4 $X4 $PORT >"$out" 2>&1)
	echo one >&$to_hold
	check busywait 30000 grep -q "echo one" "$out" || rc=1
	in_ns "$h" sysctl -q -w net.ipv4.ip_use_homeaddr=0
	# New connections get the site's addresses...
	check [ "$(in_ns "$h" "$tool" srcaddr $X4 | grep -c $HOME4)" -eq 0 ] || rc=1
	stacked=$(proc_field "$h" stacked)
	# ...and the old one still goes stacked.
	echo two >&$to_hold
	check busywait 30000 grep -q "echo two" "$out" || rc=1
	exec {to_hold}>&-
	echo "# $(tr '\n' ' ' <"$out")"
	check [ "$(cat "$out")" = "$(printf 'echo one\necho two')" ] || rc=1
	check [ "$(proc_field "$h" stacked)" -gt "$stacked" ] || rc=1
	kill $server 2>/dev/null
	log_test $rc "ip_use_homeaddr toggled: new connections change, a live one keeps its home address"
}

test_refused() {
	local rc=0 refused bindings out
	refused=$(proc_field "$x" refused)
	bindings=$(proc_field "$x" bindings)
	# Sent by PE1 straight to X: no router on the way parses the options first.
	out=$(in_ns "$pe1" $app send-malformed 192.0.2.9 $X4 2>&1) || rc=1
	echo "$out" | sed 's/^/# /'
	local sent
	sent=$(echo "$out" | grep -c '^sent')
	check [ "$(proc_field "$x" refused)" -eq $((refused + sent)) ] || rc=1
	check [ "$(proc_field "$x" bindings)" -eq "$bindings" ] || rc=1
	check [ "$sent" -ge 8 ] || rc=1
	log_test $rc "malformed, foreign or impossible stackings are dropped and counted"
}

test_udp_careof_parameters() {
	local rc=0 out=$tmp/careof.out saw
	ip netns exec "$h" "$tool" udp-server $((PORT + 1)) careof >"$out" &
	local server=$!
	defer kill $server
	busywait 30000 listening "$h" $((PORT + 1)) udp
	saw=$(in_ns "$x" "$tool" udp-client $X4 $HOME4 $((PORT + 1)))
	kill $server
	echo "# X got its reply from $saw; H's server saw: $(cat "$out")"
	check [ "$saw" = $HOME4 ] || rc=1
	check [ "$(cat "$out")" = "from $X4 fromcl - dst $HOME4 dstcl $CAREOF" ] || rc=1
	# What each end knows of H's care-of address.
	check [ "$(in_ns "$h" "$tool" careof $HOME4)" = $CAREOF ] || rc=1
	check [ "$(in_ns "$x" "$tool" careof $HOME4)" = $CAREOF ] || rc=1
	check [ "$(in_ns "$x" "$tool" careof 100.66.0.1)" = - ] || rc=1
	# Binding a peer redirects the namespace's traffic: CAP_NET_ADMIN only.
	check [ "$(in_ns "$h" setpriv --bounding-set -net_admin "$tool" bind-careof 100.66.0.1 $X4)" = "error EPERM" ] || rc=1
	check [ "$(in_ns "$h" "$tool" careof 100.66.0.1)" = - ] || rc=1
	check [ "$(in_ns "$h" "$tool" bind-careof 100.66.0.1 $X4)" = ok ] || rc=1
	check [ "$(in_ns "$h" "$tool" careof 100.66.0.1)" = $X4 ] || rc=1
	# This host's own home address travels under the configured care-of address only.
	check [ "$(in_ns "$h" "$tool" bind-careof $HOME4 203.0.113.10)" = "error EINVAL" ] || rc=1
	log_test $rc "recvwithdstaddr/sendwithsrcaddr report and honour care-of addresses"
}

# The draft's own layout has no length octet: a Linux router between the ends reads the
# stacking type as the option length and drops types 0 and 1 (why layout 0 is the default).
test_draft_layout_dropped_by_routers() {
	local rc=0 errors saw
	unload_module && insmod "$SITEMH_KO" stacking_layout=1 || { log_test 1 "reload with stacking_layout=1"; return; }
	configure_site && in_ns "$h" sysctl -q -w net.ipv4.ip_home_addr=$HOME4 \
		net.ipv4.sitemh_home.careof_addr=$CAREOF &&
		in_ns "$x" sysctl -q -w net.ipv4.sitemh_home.correspondent=1 && configure_keys || rc=1
	errors=$(in_ns "$ir" nstat -az IpInHdrErrors | awk '/IpInHdrErrors/ { print $2 }')
	saw=$(in_ns "$h" $app udp-client $HOME4 $X4 $PORT 2>&1 | tail -1)
	echo "# H: $saw"
	check [ "$(in_ns "$ir" nstat -az IpInHdrErrors | awk '/IpInHdrErrors/ { print $2 }')" -gt "$errors" ] || rc=1
	check [ "$(proc_field "$x" restored)" -eq 0 ] || rc=1
	unload_module
	log_test $rc "the draft's literal IPv4 layout (stacking_layout=1) is dropped by a Linux router"
}

test_knobs() {
	local rc=0 fresh
	check_fails EINVAL in_ns "$h" sysctl -q -w net.ipv4.sitemh_home.careof_addr=224.0.0.1 || rc=1
	check_fails EINVAL in_ns "$h" sysctl -q -w net.ipv4.sitemh_home.careof_addr=1.2.3 || rc=1
	check_fails EINVAL in_ns "$h" sysctl -q -w net.ipv4.sitemh_home.correspondent=2 || rc=1
	check [ "$(in_ns "$h" sysctl -n net.ipv4.sitemh_home.careof_addr)" = $CAREOF ] || rc=1
	# The translation hooks exist only while there is a care-of address (or a binding, or
	# the correspondent role): a namespace of its own, without bindings, shows it.
	setup_ns fresh
	check_fails 1 in_ns "$fresh" grep -q "output-translate" /proc/net/sitemh || rc=1
	in_ns "$fresh" sysctl -q -w net.ipv4.sitemh_home.careof_addr=$CAREOF
	check in_ns "$fresh" grep -q "output-translate" /proc/net/sitemh || rc=1
	in_ns "$fresh" sysctl -q -w net.ipv4.sitemh_home.careof_addr=0.0.0.0
	check_fails 1 in_ns "$fresh" grep -q "output-translate" /proc/net/sitemh || rc=1
	# A home address alone is watched for packets from its home agent (draft 2.3.4).
	in_ns "$fresh" sysctl -q -w net.ipv4.ip_home_addr=100.64.0.9
	check in_ns "$fresh" grep -q "output-translate" /proc/net/sitemh || rc=1
	in_ns "$fresh" sysctl -q -w net.ipv4.ip_home_addr=
	check_fails 1 in_ns "$fresh" grep -q "output-translate" /proc/net/sitemh || rc=1
	# Every user of the hooks has a bit of its own: a CE watching a peer keeps its input
	# hook while a care-of address comes and goes.
	in_ns "$fresh" sysctl -q -w net.ipv4.sitemh_ce.peers=192.0.2.77 || rc=1
	check in_ns "$fresh" grep -q "ip:input" /proc/net/sitemh || rc=1
	in_ns "$fresh" sysctl -q -w net.ipv4.sitemh_home.careof_addr=$CAREOF
	in_ns "$fresh" sysctl -q -w net.ipv4.sitemh_home.careof_addr=0.0.0.0
	check in_ns "$fresh" grep -q "ip:input" /proc/net/sitemh || rc=1
	in_ns "$fresh" grep hooks /proc/net/sitemh | sed 's/^/# /'
	log_test $rc "home knobs: bad values refused, hooks only while there is work"
}

# rx_packets NS DEV: packets the device received.
rx_packets() {
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets"
}

# home_agent_case FAMILY HOME CAREOF X_ADDR HA_ADDR TUNNEL_ARGS...: X connects to H's home
# address, which X routes to the home agent (PE2); the home agent tunnels it to H's
# care-of address, which H has not been told.
home_agent_case() {
	local fam=$1 home=$2 careof=$3 xaddr=$4 ha=$5 rc=0 rx found dev=ha$1 tunnelled
	shift 5
	local ip="ip" unspec=0.0.0.0 line=home opt=
	[ "$fam" = 6 ] && ip="ip -6" unspec=:: line=home6 opt=-6
	# X forgets H's binding, H its configured care-of address. (X's binding error, when it
	# refuses H's first stacked answer, makes H send its update again at once.)
	check [ "$(in_ns "$x" "$tool" bind-careof $opt "$home" $unspec)" = ok ] || rc=1
	check [ "$(in_ns "$x" "$tool" careof $opt "$home")" = - ] || rc=1
	in_ns "$h" sysctl -q -w "net.ipv$fam.sitemh_home.careof_addr=$unspec" || rc=1
	$ip -n "$pe2" tunnel add $dev "$@" local "$ha" remote "$careof" || rc=1
	ip -n "$pe2" link set $dev up
	$ip -n "$pe2" route add "$home" dev $dev || rc=1
	$ip -n "$h" tunnel add $dev "$@" local "$careof" remote "$ha" || rc=1
	ip -n "$h" link set $dev up
	tunnelled=$(proc_field "$h" tunnelled $line)
	tcp_exchange "$h" "$x" "$xaddr" "$home"
	rx=$(rx_packets "$h" $dev)
	found=$(proc_field "$h" careof $line)
	echo "# X: $client_saw; H: $server_saw"
	echo "# H: $rx packets through the tunnel, care-of address found: $found," \
		"tunnelled $(proc_field "$h" tunnelled $line); X's binding: $(in_ns "$x" "$tool" careof $opt "$home")"
	check [ "$client_saw" = "local $xaddr peer $home ok 262144" ] || rc=1
	check [ "$server_saw" = "peer $xaddr local $home" ] || rc=1
	# H found its care-of address on its interfaces and answered stacked from it, so X
	# learned the binding and sent the rest straight there: only the SYN (and perhaps a
	# retransmission) came through the tunnel.
	check [ "$found" = "$careof" ] || rc=1
	check [ "$(proc_field "$h" tunnelled $line)" -ge $((${tunnelled:-0} + 1)) ] || rc=1
	check [ "$rx" -ge 1 ] && check [ "$rx" -le 3 ] || rc=1
	check [ "$(in_ns "$x" "$tool" careof $opt "$home")" = "$careof" ] || rc=1
	# What the configuration says stays as written; recvwithdstaddr reports the one found.
	check [ "$(in_ns "$h" sysctl -n "net.ipv$fam.sitemh_home.careof_addr")" = $unspec ] || rc=1
	check [ "$(in_ns "$h" "$tool" careof $opt "$home")" = "$careof" ] || rc=1
	if [ "$fam" = 4 ]; then
		# Back home: with the home address inside one of H's domains, what reaches it
		# unstacked is simply delivered, and the care-of address found is forgotten.
		# (The domain comes first: X's forgetting sends a datagram to the home address,
		# whose answer, were it stacked, would teach X the binding again.)
		local tunnelled
		tunnelled=$(proc_field "$h" tunnelled)
		in_ns "$h" sysctl -q -w net.ipv4.ip_num_domains=4 \
			net.ipv4.ip_domain.3.net_mask=/24 net.ipv4.ip_domain.3.net_addr=100.64.0.0 \
			net.ipv4.ip_domain.3.def_router=198.51.100.129 || rc=1
		check [ "$(in_ns "$x" "$tool" bind-careof "$home" $unspec)" = ok ] || rc=1
		check in_ns "$x" ping -q -c 1 -W 5 -I "$xaddr" "$home" >/dev/null || rc=1
		echo "# back home: care-of address $(proc_field "$h" careof), tunnelled $(proc_field "$h" tunnelled)"
		check [ "$(proc_field "$h" careof)" = $unspec ] || rc=1
		check [ "$(proc_field "$h" tunnelled)" -eq "$tunnelled" ] || rc=1
		in_ns "$h" sysctl -q -w net.ipv4.ip_num_domains=3 || rc=1
	fi
	ip -n "$pe2" link del $dev
	ip -n "$h" link del $dev
	in_ns "$h" sysctl -q -w "net.ipv$fam.sitemh_home.careof_addr=$careof" || rc=1
	return $rc
}

# Draft 2.3.4, the second mode: packets reach the home address through the home agent by
# IP in IP, with nothing about the care-of address; the node finds it on its interfaces.
test_home_agent_tunnel() {
	local rc=0
	home_agent_case 4 $HOME4 $CAREOF $X4 192.0.2.13 mode ipip || rc=1
	home_agent_case 6 $HOME6 $CAREOF6 $X6 2001:db8:ff:4::1 mode ip6ip6 encaplimit none || rc=1
	log_test $rc "through the home agent's IP-in-IP tunnel: the care-of address is found on the interfaces (IPv4, IPv6)"
}

# Binding updates: forged (wrong key), stale, from another address than the care-of
# address they name, or replayed are refused and change nothing.
test_binding_update_refusals() {
	local rc=0 victim=100.66.0.9 attacker=192.0.2.9 refused bad_key
	bad_key=ff${KEY:2}
	refused=$(proc_field "$x" updates_refused)
	in_ns "$pe1" $app send-update $attacker $X4 $victim $attacker $bad_key >/dev/null
	in_ns "$pe1" $app send-update $attacker $X4 $victim $attacker $KEY -60000 >/dev/null
	in_ns "$pe1" $app send-update $attacker $X4 $victim $CAREOF $KEY >/dev/null
	in_ns "$pe1" $app send-update $attacker $X4 $X4 $attacker $KEY >/dev/null
	busywait 2000 prints $((refused + 4)) proc_field "$x" updates_refused || rc=1
	check [ "$(in_ns "$x" "$tool" careof $victim)" = - ] || rc=1
	# H's own update, captured on the way and sent again: a replay. (Writing the key
	# again makes H announce itself afresh to its correspondents.)
	capture "$x" x-pe1 "$tmp/update.pcap" "icmp and icmp[1] == 7"
	in_ns "$h" sysctl -q -w net.ipv4.sitemh_home.binding_key=$KEY || rc=1
	in_ns "$h" ping -q -c 1 -W 2 -I $HOME4 $X4 >/dev/null 2>&1
	# Until the update is in the file (more than the 24-octet file header).
	check busywait 20000 pcap_has_packets "$tmp/update.pcap" || rc=1
	stop_capture
	refused=$(proc_field "$x" updates_refused)
	check [ "$(in_ns "$pe1" $app replay-update "$tmp/update.pcap" $X4)" = replayed ] || rc=1
	busywait 2000 prints $((refused + 1)) proc_field "$x" updates_refused || rc=1
	# The key is never shown, and only a network administrator may set it.
	check [ "$(in_ns "$x" sysctl -n net.ipv4.sitemh_home.binding_key)" = set ] || rc=1
	check_fails EPERM in_ns "$x" setpriv --bounding-set -net_admin \
		sysctl -q -w net.ipv4.sitemh_home.binding_key=$bad_key || rc=1
	check_fails EINVAL in_ns "$x" sysctl -q -w net.ipv4.sitemh_home.binding_key=12 || rc=1
	# Peers' care-of addresses are the administrator's to read.
	check [ "$(in_ns "$x" setpriv --reuid 65534 --regid 65534 --clear-groups "$tool" careof $HOME4)" = - ] || rc=1
	log_test $rc "binding updates: forged, stale, misdirected and replayed ones are refused"
}

tmp=$(mktemp -d)
defer rm -rf "$tmp"
load_module || { log_test 1 "module loads"; exit $ksft_fail; }
if ! build_site || ! configure_site || ! configure_mobile; then
	log_test 1 "build and configure the site"
	exit $ksft_fail
fi
run_case test_sender_away_tcp
run_case test_sender_away_udp
run_case test_both_away
run_case test_ipv6
run_case test_use_homeaddr_toggle
run_case test_refused
run_case test_binding_update_refusals
run_case test_udp_careof_parameters
run_case test_knobs
run_case test_home_agent_tunnel
run_case test_draft_layout_dropped_by_routers
exit $ret
