#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Link-failure switchover (draft 2.1.2), IPv4: a live TLS connection between a host H of a
# multihomed site and a multihomed peer X moves to the other provider when the link
# between CE1 and PE1 fails, and the transfer completes byte-exact.
#
#        LAN (bridge)          192.0.2.0/30            192.0.2.8/30
#   H ------+------ CE1 ce1-up --------------- PE1 --------------- X .10
#  .140     |  .129                                                 |
#           +------ CE2 ce2-up --------------- PE2 --------------- X .14
#               .130           192.0.2.4/30            192.0.2.12/30
#
# H holds 198.51.100.140/25 (P1) and 203.0.113.140/25 (P2) with the site's domains
# (P1 via CE1, P2 via CE2); X answers each provider's prefix through that provider. CE1
# is P1's CE (uplink ce1-up, PE 192.0.2.2, LAN ce1-b). Both ends pass their TLS session
# (SO_SEQPARAM) and the 2 x 2 routes (SO_LFROUTES) to the module.

source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
tls=$here/sitemh_tls

H1=198.51.100.140
H2=203.0.113.140
X1=192.0.2.10
X2=192.0.2.14
PORT=4433

link() { # NS1 DEV1 NS2 DEV2
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

build() {
	setup_ns h lan ce1 ce2 pe1 pe2 x || return 1
	local ns
	for ns in "$ce1" "$ce2" "$pe1" "$pe2"; do
		ip netns exec "$ns" sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0
	done
	for ns in "$h" "$x"; do
		ip netns exec "$ns" sysctl -q -w net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0
	done
	ip -n "$lan" link add br0 type bridge
	ip -n "$lan" link set br0 up
	link "$h" h-b "$lan" b-h
	link "$ce1" ce1-b "$lan" b-ce1
	link "$ce2" ce2-b "$lan" b-ce2
	for p in b-h b-ce1 b-ce2; do ip -n "$lan" link set "$p" master br0; done
	link "$ce1" ce1-up "$pe1" pe1-ce
	link "$ce2" ce2-up "$pe2" pe2-ce
	link "$pe1" pe1-x "$x" x-pe1
	link "$pe2" pe2-x "$x" x-pe2

	ip -n "$h" addr add $H1/25 dev h-b
	ip -n "$h" addr add $H2/25 dev h-b
	ip -n "$ce1" addr add 198.51.100.129/25 dev ce1-b
	ip -n "$ce1" addr add 203.0.113.129/25 dev ce1-b
	# A CE broadcasts from its LAN interface's primary address: the one hosts know it by.
	ip -n "$ce2" addr add 203.0.113.130/25 dev ce2-b
	ip -n "$ce2" addr add 198.51.100.130/25 dev ce2-b
	ip -n "$ce1" addr add 192.0.2.1/30 dev ce1-up
	ip -n "$pe1" addr add 192.0.2.2/30 dev pe1-ce
	ip -n "$ce2" addr add 192.0.2.5/30 dev ce2-up
	ip -n "$pe2" addr add 192.0.2.6/30 dev pe2-ce
	ip -n "$pe1" addr add 192.0.2.9/30 dev pe1-x
	ip -n "$x" addr add $X1/30 dev x-pe1
	ip -n "$pe2" addr add 192.0.2.13/30 dev pe2-x
	ip -n "$x" addr add $X2/30 dev x-pe2

	ip -n "$h" route add default via 198.51.100.129
	ip -n "$ce1" route add default via 192.0.2.2
	ip -n "$ce2" route add default via 192.0.2.6
	ip -n "$pe1" route add 198.51.100.0/24 via 192.0.2.1
	ip -n "$pe1" route add default via $X1
	ip -n "$pe2" route add 203.0.113.0/24 via 192.0.2.5
	ip -n "$pe2" route add default via $X2
	ip -n "$x" route add 198.51.100.0/24 via 192.0.2.9
	ip -n "$x" route add 203.0.113.0/24 via 192.0.2.13

	ip netns exec "$h" sysctl -q -w net.ipv4.ip_num_domains=2 \
		net.ipv4.ip_domain.0.net_addr=198.51.100.0 net.ipv4.ip_domain.0.net_mask=/24 \
		net.ipv4.ip_domain.0.def_router=198.51.100.129 \
		net.ipv4.ip_domain.1.net_addr=203.0.113.0 net.ipv4.ip_domain.1.net_mask=/24 \
		net.ipv4.ip_domain.1.def_router=203.0.113.130 || return 1
	ip netns exec "$ce1" sysctl -q -w net.ipv4.sitemh_ce.uplink=ce1-up \
		net.ipv4.sitemh_ce.pe_addr=192.0.2.2 net.ipv4.sitemh_ce.lan=ce1-b || return 1
	# The CEs watch each other: keepalives every 50 ms, a peer silent for 3 is failed.
	ip netns exec "$ce1" sysctl -q -w net.ipv4.sitemh_ce.keepalive_ms=50 \
		net.ipv4.sitemh_ce.peers=198.51.100.130 || return 1
	ip netns exec "$ce2" sysctl -q -w net.ipv4.sitemh_ce.lan=ce2-b \
		net.ipv4.sitemh_ce.keepalive_ms=50 net.ipv4.sitemh_ce.peers=198.51.100.129 || return 1

	# What crosses each provider's uplink, by H's source address; resets seen by X.
	for ns in "$ce1" "$ce2"; do
		ip netns exec "$ns" nft -f - <<-NFT || return 1
		table inet count {
			chain up {
				type filter hook forward priority 0; policy accept;
				oifname != "ce1-up" oifname != "ce2-up" return
				ip saddr $H1 counter comment "h1"
				ip saddr $H2 counter comment "h2"
			}
		}
		NFT
	done
	ip netns exec "$x" nft -f - <<-NFT || return 1
	table inet count {
		chain in {
			type filter hook input priority 0; policy accept;
			tcp flags & rst != 0 counter comment "rst"
		}
		chain out {
			type filter hook output priority 0; policy accept;
			tcp flags & rst != 0 counter comment "rst"
		}
	}
	NFT
}

# count NS CHAIN NAME: packets of a named nftables counter.
count() {
	ip netns exec "$1" nft list chain inet count "$2" |
		sed -n "s/.*packets \([0-9]*\).*comment \"$3\".*/\1/p"
}

# field NS NAME: a field of the "switchover" line of /proc/net/sitemh.
field() {
	ip netns exec "$1" awk -v f="$2" \
		'$1 == "switchover" { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }' /proc/net/sitemh
}

# The uplink comes back; taking it down removed the routes through it.
restore_uplink() {
	ip -n "$ce1" link set ce1-up up
	ip -n "$ce1" route replace default via 192.0.2.2
}

routes_h="$H1,$X1 $H1,$X2 $H2,$X1 $H2,$X2"
routes_x="$X1,$H1 $X2,$H1 $X1,$H2 $X2,$H2"

# transfer NAME BYTES RATE_KBPS TLSFLAG ACTION...: a TLS transfer from H to X; once the
# client is ready, ACTION runs (e.g. the link fails). Leaves the outputs in $out_c/$out_s.
# Each end gets $limit seconds (default 120).
transfer() {
	local name=$1 bytes=$2 rate=$3 flag=$4 limit=${limit:-120}
	shift 4
	out_c=$(mktemp /tmp/sitemh-sw.XXXXXX)
	out_s=$(mktemp /tmp/sitemh-sw.XXXXXX)
	defer rm -f "$out_c" "$out_s"
	ip netns exec "$x" timeout "$limit" "$tls" server $flag $X1 $PORT $routes_x >"$out_s" 2>&1 &
	local server=$!
	busywait 5000 ip netns exec "$x" ss -Hltn "sport = :$PORT" | grep -q LISTEN
	ip netns exec "$h" timeout "$limit" "$tls" client $flag -r "$rate" $H1 $X1 $PORT "$bytes" $routes_h \
		>"$out_c" 2>&1 &
	local client=$!
	busywait 20000 grep -q '^ready' "$out_c" ||
		echo "# client never ready ($name): $(tr '\n' ' ' <"$out_c")"
	sleep 0.5
	"$@"
	wait $client
	client_rc=$?
	wait $server
	server_rc=$?
	echo "# $name: client rc $client_rc: $(tr '\n' ' ' <"$out_c")"
	echo "# $name: server rc $server_rc: $(tr '\n' ' ' <"$out_s")"
}

digest_of() {
	sed -n 's/.*sha256 \([0-9a-f]*\).*/\1/p' "$1" | head -1
}

test_link_failure() {
	local rc=0 flag=$1 what=$2
	local before_h2 rst_before
	before_h2=$(count "$ce2" up h2)
	rst_before=$(( $(count "$x" in rst) + $(count "$x" out rst) ))
	transfer "$what" $((64 << 20)) 60000 "$flag" ip -n "$ce1" link set ce1-up down
	check [ "$client_rc" -eq 0 ] || rc=1
	check [ "$server_rc" -eq 0 ] || rc=1
	check grep -q "digest match" "$out_c" || rc=1
	check [ -n "$(digest_of "$out_c")" ] || rc=1
	check [ "$(digest_of "$out_c")" = "$(digest_of "$out_s")" ] || rc=1
	# Moved on both ends, over P2 (H's second address) ...
	check grep -q "switches 1" "$out_c" || rc=1
	check grep -q "switches 1" "$out_s" || rc=1
	check [ "$(count "$ce2" up h2)" -gt "$((before_h2 + 100))" ] || rc=1
	# ... and no reset on the way.
	check [ $(( $(count "$x" in rst) + $(count "$x" out rst) )) -eq "$rst_before" ] || rc=1
	restore_uplink
	log_test $rc "$what: a 64 MiB transfer survives CE1-PE1 going down, byte-exact, no reset"
}

test_ce_failure() {
	local rc=0
	transfer "CE1 fails" $((64 << 20)) 60000 -3 ip -n "$ce1" link set ce1-b down
	check [ "$client_rc" -eq 0 ] || rc=1
	check [ "$server_rc" -eq 0 ] || rc=1
	check grep -q "digest match" "$out_c" || rc=1
	check [ "$(digest_of "$out_c")" = "$(digest_of "$out_s")" ] || rc=1
	check grep -q "switches 1" "$out_c" || rc=1
	check grep -q "switches 1" "$out_s" || rc=1
	ip -n "$ce1" link set ce1-b up
	log_test $rc "CE1 itself fails: CE2 misses its keepalives, code 2, the transfer survives"
}

# flap: the uplink goes down, up, down, up; connections move away and, once the link has
# been quiet for failback_ms, back.
flap() {
	ip -n "$ce1" link set ce1-up down
	sleep 2
	restore_uplink
	sleep 0.3
	ip -n "$ce1" link set ce1-up down
	sleep 1
	restore_uplink
}

test_flapping_and_failback() {
	local rc=0 before_h1
	before_h1=$(count "$ce1" up h1)
	# Damping longer than the flaps' spacing (which TCG stretches).
	ip netns exec "$h" sysctl -q -w net.ipv4.sitemh_lf.failback_ms=3000 || rc=1
	transfer "flapping" $((64 << 20)) 40000 -3 flap
	check [ "$client_rc" -eq 0 ] || rc=1
	check [ "$server_rc" -eq 0 ] || rc=1
	check grep -q "digest match" "$out_c" || rc=1
	check [ "$(digest_of "$out_c")" = "$(digest_of "$out_s")" ] || rc=1
	# Back on the own pair at the end, both ends agreeing on every move. (Away once and
	# back once when the second failure comes within the damping time; TCG can stretch
	# the flaps past it, and then the connection goes away and back twice.)
	local moves_c moves_s
	moves_c=$(sed -n 's/^in_use own switches \([0-9]*\)$/\1/p' "$out_c")
	moves_s=$(sed -n 's/^in_use own switches \([0-9]*\)$/\1/p' "$out_s")
	check [ -n "$moves_c" ] || rc=1
	check [ "$moves_c" = "$moves_s" ] || rc=1
	check [ "${moves_c:-0}" -ge 2 ] || rc=1
	check [ "$(count "$ce1" up h1)" -gt "$((before_h1 + 100))" ] || rc=1
	log_test $rc "flapping uplink: moved away once, back once after failback_ms, byte-exact"
}

# down_mask NS: the domains link notices marked down in NS.
down_mask() {
	ip netns exec "$1" awk '$1 == "linkfail" { print $NF }' /proc/net/sitemh
}

test_silent_failure() {
	local rc=0
	# The link stays up but nothing crosses it: only probing the PE can tell.
	check ip netns exec "$ce1" sysctl -q -w net.ipv4.sitemh_ce.pe_probe_ms=100 || rc=1
	transfer "silent failure" $((64 << 20)) 60000 -3 \
		tc -n "$ce1" qdisc add dev ce1-up root netem loss 100%
	check [ "$client_rc" -eq 0 ] || rc=1
	check [ "$server_rc" -eq 0 ] || rc=1
	check grep -q "digest match" "$out_c" || rc=1
	check [ "$(digest_of "$out_c")" = "$(digest_of "$out_s")" ] || rc=1
	check grep -q "switches 1" "$out_c" || rc=1
	check grep -q "switches 1" "$out_s" || rc=1
	tc -n "$ce1" qdisc del dev ce1-up root
	# The PE answers again: code 5, the domain is up again.
	check busywait 10000 [ "$(down_mask "$h")" = 0x0 ] || rc=1
	ip netns exec "$ce1" sysctl -q -w net.ipv4.sitemh_ce.pe_probe_ms=0
	log_test $rc "silent failure (netem loss 100%): PE probes unanswered, code 1, survives"
}

test_unprotected_control() {
	local rc=0
	# The same failure without the module's help: the connection is stuck on P1.
	limit=25 transfer "control" $((8 << 20)) 20000 "-u -3" ip -n "$ce1" link set ce1-up down
	check [ "$client_rc" -ne 0 ] || rc=1
	restore_uplink
	log_test $rc "control: without SO_LFROUTES the same transfer does not survive"
}

test_counters() {
	local rc=0
	check [ "$(field "$h" switched)" -ge 2 ] || rc=1
	check [ "$(field "$x" switched)" -ge 2 ] || rc=1
	check [ "$(field "$h" refused)" -eq 0 ] || rc=1
	check [ "$(field "$x" refused)" -eq 0 ] || rc=1
	# Closed sockets are forgotten.
	check busywait 3000 [ "$(field "$h" tracked)" -eq 0 ] || rc=1
	check busywait 3000 [ "$(field "$x" tracked)" -eq 0 ] || rc=1
	log_test $rc "counters: both ends switched, nothing refused, closed sockets forgotten"
}

test_many_short_connections() {
	local rc=0
	check ip netns exec "$h" python3 - $H1 10000 <<-'PY' || rc=1
	import socket, sys
	addr, n = sys.argv[1], int(sys.argv[2])
	listener = socket.socket()
	listener.bind((addr, 0))
	listener.listen(64)
	route = socket.inet_aton(addr) * 2
	for i in range(n):
	    c = socket.create_connection(listener.getsockname())
	    s, _ = listener.accept()
	    c.setsockopt(socket.IPPROTO_IP, 0x5348 + 1, route)
	    s.close()
	    c.close()
	PY
	# An orphan in FIN_WAIT2 may wait tcp_fin_timeout (60 s) to close.
	check busywait 70000 [ "$(field "$h" tracked)" -eq 0 ] || rc=1
	log_test $rc "10,000 short registered connections: all forgotten (kmemleak checks the rest)"
}

test_forgeries() {
	local rc=0
	check ip netns exec "$h" python3 "$here/sitemh_lfmsg.py" "$h" "$x" $H1 $H2 $X1 $X2 || rc=1
	log_test $rc "forged, tampered, replayed, unknown, truncated, flooded: refused and counted"
}

test_bad_options() {
	local rc=0
	check ip netns exec "$h" "$here/sitemh_tool" bad-switchover $H1 || rc=1
	log_test $rc "SO_LFROUTES / SO_SEQPARAM / SO_LFSTAT: malformed calls get their errno"
}

modprobe -q sitemh 2>/dev/null || insmod "$SITEMH_KO" 2>/dev/null || true
[ -x "$tls" ] || { echo "sitemh_tls is not built"; exit $ksft_fail; }
build || { echo "could not build the topology"; exit $ksft_fail; }
test_link_failure -3 "TLS 1.3 (exported keys)"
test_link_failure -1 "TLS 1.2 (master secret)"
test_ce_failure
test_flapping_and_failback
test_silent_failure
test_counters
test_many_short_connections
test_bad_options
test_forgeries
test_unprotected_control
exit $ret
