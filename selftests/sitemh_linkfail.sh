#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Link-failure notices (draft 2.1.2): a CE router broadcasts ICMP type 41 code 1 on its LAN
# when its link to the PE fails (administratively or by carrier loss) and code 5 when it
# works again; hosts and routers accept notices only from their domains' default routers
# on the link (TTL 255), count them, and rank the failed provider's pairs last. The CE
# repeats each announcement and refreshes a failure (sitemh's announcements: a sequence per
# state change, a lifetime); hosts ignore older copies and let unrefreshed failures lapse.
#
# The site of site.sh: CE1 is configured as P1's CE (uplink ce1-up, PE 192.0.2.2, LAN
# ce1-b); IR listens on LAN B.

source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/site.sh"
tool=$(cd "$(dirname "$0")" && pwd)/sitemh_tool

# counter NS NAME: a field of the "linkfail" line of /proc/net/sitemh.
counter() {
	proc_value "$1" linkfail "$2"
}

# counter6 NS NAME: a field of the "linkfail6" line.
counter6() {
	proc_value "$1" linkfail6 "$2"
}

# first_src: IR's best source towards X.
first_src() {
	in_ns "$ir" "$tool" rank $X4 | awk '!/^#/ { print $1; exit }'
}

# inject NS SRC DST TTL HEX: send raw ICMP octets from NS (sitemh_tool: no Python start).
inject() {
	in_ns "$1" "$tool" raw4 "$2" "$3" "$4" "$5"
}

# notice CODE GATEWAY-HEX: a type 41 notice with a valid checksum, in hex.
notice() {
	icmp_hex 41 "$1" "$2"
}

# The draft's single notice per state change (no repetitions, no refreshes), so that the
# tests of the draft's behaviour count exactly; test_repeated_notices and the loss tests
# turn them on.
configure_ce() {
	in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.uplink=ce1-up \
		net.ipv4.sitemh_ce.pe_addr=192.0.2.2 net.ipv4.sitemh_ce.lan=ce1-b \
		net.ipv4.sitemh_ce.repeats=0 net.ipv4.sitemh_ce.refresh_ms=0
}

# copies_of PCAP: one line per type 41 notice with sitemh's announcement in the capture:
# "code copy lifetime boot sequence", in hex (IPv4 header of 20 octets).
copies_of() {
	in_ns "$ir" tcpdump -r "$1" -n -x 2>/dev/null | awk '
		function flush() {
			if (length(hex) >= 80 && substr(hex, 57, 2) == "01")
				print substr(hex, 43, 2), substr(hex, 59, 2), substr(hex, 61, 4),
					substr(hex, 65, 8), substr(hex, 73, 8)
			hex = ""
		}
		/^[0-9]/ { flush(); next }
		{ for (i = 2; i <= NF; i++) hex = hex $i }
		END { flush() }'
}

# restoration_copies_at_least N PCAP: PCAP holds at least N copies of a code-5 notice.
restoration_copies_at_least() {
	[ "$(copies_of "$2" | awk '$1 == "05"' | wc -l)" -ge "$1" ]
}

# ce_timing REPEAT_MS REPEATS REFRESH_MS: CE1's announcement timing.
ce_timing() {
	in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.repeat_ms="$1" \
		net.ipv4.sitemh_ce.repeats="$2" net.ipv4.sitemh_ce.refresh_ms="$3"
}

# loss_filter RULE: IR drops what RULE matches of type 41, before the module sees it (an
# input chain at -400); "" removes the filter.
loss_filter() {
	in_ns "$ir" nft delete table inet sitemh_loss 2>/dev/null
	[ -n "$1" ] || return 0
	in_ns "$ir" nft -f - <<-NFT
	table inet sitemh_loss {
		chain early {
			type filter hook input priority -400;
			icmp type 41 $1 counter drop
		}
	}
	NFT
}

# dropped N: the loss filter dropped at least N packets.
dropped() {
	local n
	n=$(in_ns "$ir" nft list chain inet sitemh_loss early |
		sed -n 's/.*counter packets \([0-9]*\) .*/\1/p')
	[ "${n:-0}" -ge "$1" ]
}

test_configuration() {
	local rc=0
	check configure_ce || rc=1
	check [ "$(in_ns "$ce1" sysctl -n net.ipv4.sitemh_ce.uplink)" = ce1-up ] || rc=1
	check [ "$(in_ns "$ce1" sysctl -n net.ipv4.sitemh_ce.pe_addr)" = 192.0.2.2 ] || rc=1
	check [ "$(in_ns "$ce1" sysctl -n net.ipv4.sitemh_ce.lan)" = ce1-b ] || rc=1
	check_fails ENODEV in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.uplink=nosuch0 || rc=1
	check_fails EINVAL in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.pe_addr=1.2.3 || rc=1
	# The PE by an IPv4 address, an IPv6 address or one of each (issue 16: IPv6 on par).
	check in_ns "$ce1" sysctl -q -w "net.ipv4.sitemh_ce.pe_addr=2001:db8:ff::2 192.0.2.2" || rc=1
	check [ "$(in_ns "$ce1" sysctl -n net.ipv4.sitemh_ce.pe_addr)" = "192.0.2.2 2001:db8:ff::2" ] || rc=1
	check in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.pe_addr=2001:db8:ff::2 || rc=1
	check [ "$(in_ns "$ce1" sysctl -n net.ipv4.sitemh_ce.pe_addr)" = 2001:db8:ff::2 ] || rc=1
	check_fails EINVAL in_ns "$ce1" sysctl -q -w "net.ipv4.sitemh_ce.pe_addr=192.0.2.2 192.0.2.3" || rc=1
	check_fails EINVAL in_ns "$ce1" sysctl -q -w "net.ipv4.sitemh_ce.pe_addr=::1 ::2" || rc=1
	check_fails EINVAL in_ns "$ce1" sysctl -q -w "net.ipv4.sitemh_ce.pe_addr=" || rc=1
	check [ "$(in_ns "$ce1" sysctl -n net.ipv4.sitemh_ce.pe_addr)" = 2001:db8:ff::2 ] || rc=1
	check in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.pe_addr=192.0.2.2 || rc=1
	check [ "$(in_ns "$ce1" sysctl -n net.ipv4.sitemh_ce.pe_addr)" = 192.0.2.2 ] || rc=1
	check_fails EINVAL in_ns "$ce1" sysctl -q -w "net.ipv4.sitemh_ce.lan=ce1-b lo lo lo lo" || rc=1
	check [ "$(in_ns "$ce1" sysctl -n net.ipv4.sitemh_ce.lan)" = ce1-b ] || rc=1
	# The announcement timing: defaults on a CE that never set them, bounds.
	check [ "$(in_ns "$ce2" sysctl -n net.ipv4.sitemh_ce.repeat_ms)" = 200 ] || rc=1
	check [ "$(in_ns "$ce2" sysctl -n net.ipv4.sitemh_ce.repeats)" = 3 ] || rc=1
	check [ "$(in_ns "$ce2" sysctl -n net.ipv4.sitemh_ce.refresh_ms)" = 10000 ] || rc=1
	check_fails EINVAL in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.repeats=11 || rc=1
	check_fails EINVAL in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.repeat_ms=60001 || rc=1
	check_fails EINVAL in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.refresh_ms=-1 || rc=1
	check_fails EINVAL in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.refresh_ms=999 || rc=1
	check_fails EINVAL in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.repeat_ms=9 || rc=1
	check [ "$(in_ns "$ce1" sysctl -n net.ipv4.sitemh_ce.repeats)" = 0 ] || rc=1
	log_test $rc "CE role configured by sysctl; bad values refused, nothing changed"
}

test_admin_down() {
	local rc=0 pcap received
	pcap=$(mktemp /tmp/sitemh-lf.XXXXXX)
	defer rm -f "$pcap"
	ip netns exec "$ir" tcpdump -i ir-b -n -U -w "$pcap" 'icmp[0] == 41' 2>/dev/null &
	local dump=$!
	# tcpdump writes its file header once it listens.
	busywait 30000 test -s "$pcap"
	check [ "$(first_src)" = 198.51.100.131 ] || rc=1
	# (Counted from here: once the router had heard one message more than this case
	# sent before it began, and absolute counts failed.)
	received=$(counter "$ir" received)
	ip -n "$ce1" link set ce1-up down
	check busywait 3000 at_least $((received + 1)) counter "$ir" received || rc=1
	check [ "$(counter "$ce1" sent)" = 1 ] || rc=1
	# The CE ignores its own looped-back broadcast.
	check [ "$(counter "$ce1" refused)" = 0 ] || rc=1
	check busywait_eq 3000 0x1 counter "$ir" down || rc=1
	# P1's pairs now rank last, marked down.
	check [ "$(first_src)" = 203.0.113.131 ] || rc=1
	in_ns "$ir" "$tool" rank $X4 | grep -q '^198.51.100.131 .* down' || rc=1
	ip -n "$ce1" link set ce1-up up
	check busywait 3000 at_least $((received + 2)) counter "$ir" received || rc=1
	check busywait_eq 3000 0x0 counter "$ir" down || rc=1
	check [ "$(first_src)" = 198.51.100.131 ] || rc=1
	nap 0.5
	kill $dump
	wait $dump 2>/dev/null
	# The capture: from CE1, to the broadcast address, type 41, code 1 then 5, PE 192.0.2.2.
	in_ns "$ir" tcpdump -r "$pcap" -n -v -x 2>/dev/null | sed 's/^/# /'
	check [ "$(in_ns "$ir" tcpdump -r "$pcap" -n 2>/dev/null | grep -c '198.51.100.129 > 255.255.255.255: ICMP type-#41')" -eq 2 ] || rc=1
	in_ns "$ir" tcpdump -r "$pcap" -n -x 2>/dev/null | grep -q '2901 .... c000 0202' || rc=1
	in_ns "$ir" tcpdump -r "$pcap" -n -x 2>/dev/null | grep -q '2905 .... c000 0202' || rc=1
	in_ns "$ir" tcpdump -r "$pcap" -n -v 2>/dev/null | grep -q 'ttl 255' || rc=1
	[ $rc -eq 0 ] || echo "# router (received $received at the start): $(in_ns "$ir" grep '^linkfail ' /proc/net/sitemh)"
	log_test $rc "uplink set down and up: code 1 then code 5 broadcast with the PE address"
}

test_carrier_loss() {
	local rc=0 before
	before=$(counter "$ir" received)
	# The PE's end goes down: CE1's uplink loses its carrier.
	ip -n "$pe1" link set pe1-ce down
	check busywait_eq 3000 $((before + 1)) counter "$ir" received || rc=1
	check [ "$(counter "$ir" down)" = 0x1 ] || rc=1
	ip -n "$pe1" link set pe1-ce up
	check busywait_eq 3000 $((before + 2)) counter "$ir" received || rc=1
	check [ "$(counter "$ir" down)" = 0x0 ] || rc=1
	log_test $rc "carrier loss on the uplink: code 1, and code 5 when it returns"
}

test_forged_notices() {
	local rc=0 refused received
	refused=$(counter "$ir" refused)
	received=$(counter "$ir" received)
	# From a host on LAN A: not a router of IR's domains.
	inject "$h" 198.51.100.10 198.51.100.131 255 "$(notice 1 c0000202)"
	# From CE2 on the link, TTL 255, but from an address that is no domain's router.
	inject "$ce2" 198.51.100.130 198.51.100.131 255 "$(notice 1 c0000202)"
	# From P2's router, on the link, but TTL 64.
	inject "$ce2" 203.0.113.130 198.51.100.131 64 "$(notice 1 c0000206)"
	# Bad checksum, unknown code (3, 4 and 10 to 13 belong to the switchover, 7 and 8 to
	# binding updates, 9 to solicitations), truncated, oversized.
	inject "$ce2" 203.0.113.130 198.51.100.131 255 "2901ffffc0000206"
	inject "$ce2" 203.0.113.130 198.51.100.131 255 "$(notice 14 c0000206)"
	inject "$ce2" 203.0.113.130 198.51.100.131 255 "2901d6fd"
	inject "$ce2" 203.0.113.130 198.51.100.131 255 "$(notice 1 c0000206)00000000"
	check busywait_eq 3000 $((refused + 7)) counter "$ir" refused || rc=1
	check [ "$(counter "$ir" received)" -eq "$received" ] || rc=1
	check [ "$(counter "$ir" down)" = 0x0 ] || rc=1
	# The real thing from P2's router on the link is accepted.
	inject "$ce2" 203.0.113.130 198.51.100.131 255 "$(notice 1 c0000206)"
	check busywait_eq 3000 0x2 counter "$ir" down || rc=1
	inject "$ce2" 203.0.113.130 198.51.100.131 255 "$(notice 5 c0000206)"
	check busywait_eq 3000 0x0 counter "$ir" down || rc=1
	log_test $rc "forged, off-link, malformed notices refused and counted; a router's accepted"
}

# Issue 20 item 10: the module consumes notices at LOCAL_IN -250, before INPUT rules at 0;
# an operator filters them with a chain of a lower priority (Documentation/security.md's example).
test_operator_firewall() {
	local rc=0 received refused
	received=$(counter "$ir" received)
	refused=$(counter "$ir" refused)
	in_ns "$ir" nft -f - <<-'NFT' || rc=1
	table inet sitemh_guard {
		chain early {
			type filter hook input priority -400;
			icmp type 41 ip saddr 203.0.113.130 counter drop
		}
		chain late {
			type filter hook input priority 0;
			icmp type 41 counter
		}
	}
	NFT
	# A genuine notice from P2's router on the link: the early chain drops it.
	inject "$ce2" 203.0.113.130 198.51.100.131 255 "$(notice 1 c0000206)"
	check busywait 3000 nft_packets "$ir" early 1 || rc=1
	check [ "$(counter "$ir" received)" -eq "$received" ] || rc=1
	check [ "$(counter "$ir" refused)" -eq "$refused" ] || rc=1
	check [ "$(counter "$ir" down)" = 0x0 ] || rc=1
	# Without the early rule the module takes it, and an INPUT chain at 0 never sees it.
	in_ns "$ir" nft flush chain inet sitemh_guard early || rc=1
	inject "$ce2" 203.0.113.130 198.51.100.131 255 "$(notice 1 c0000206)"
	check busywait_eq 3000 0x2 counter "$ir" down || rc=1
	check nft_packets "$ir" late 0 || rc=1
	inject "$ce2" 203.0.113.130 198.51.100.131 255 "$(notice 5 c0000206)"
	check busywait_eq 3000 0x0 counter "$ir" down || rc=1
	in_ns "$ir" nft delete table inet sitemh_guard || rc=1
	log_test $rc "an nftables chain below priority -250 filters notices; INPUT at 0 never sees them"
}

# nft_packets NS CHAIN N: the counter rule of sitemh_guard's CHAIN has counted N packets.
nft_packets() {
	[ "$(in_ns "$1" nft list chain inet sitemh_guard "$2" |
		sed -n 's/.*counter packets \([0-9]*\) .*/\1/p')" = "${3}" ]
}

test_relay() {
	local rc=0 relayed6 received6 refused6
	# H is behind IR: CE1's broadcasts on the CE link do not reach it.
	check [ "$(counter "$h" received)" = 0 ] || rc=1
	check [ "$(counter6 "$h" received)" = 0 ] || rc=1
	relayed6=$(counter6 "$ir" relayed) refused6=$(counter6 "$h" refused)
	check in_ns "$ir" sysctl -q -w net.ipv4.sitemh_ce.relay=ir-a || rc=1
	check [ "$(in_ns "$ir" sysctl -n net.ipv4.sitemh_ce.relay)" = ir-a ] || rc=1
	check_fails ENODEV in_ns "$ir" sysctl -q -w net.ipv4.sitemh_ce.relay=nosuch0 || rc=1
	check [ "$(in_ns "$ir" sysctl -n net.ipv4.sitemh_ce.relay)" = ir-a ] || rc=1
	ip -n "$ce1" link set ce1-up down
	# IR relays the notice onto LAN A under CE1's address (TTL 255): H accepts it from its
	# default router, as if CE1 were on its link.
	check busywait_eq 3000 1 counter "$h" received || rc=1
	check [ "$(counter "$h" down)" = 0x1 ] || rc=1
	check [ "$(counter "$ir" relayed)" = 1 ] || rc=1
	# And the IPv6 notice: IR knows CE1 by its link-local address, H (off that link) by
	# 2001:db8:1:b::c1; IR relays CE1's copies from its global addresses onto LAN A
	# under those addresses, and H takes the one from its P1 router.
	check busywait_eq 3000 1 counter6 "$h" received || rc=1
	check [ "$(counter6 "$h" down)" = 0x1 ] || rc=1
	check [ "$(counter6 "$ir" relayed)" -ge $((relayed6 + 1)) ] || rc=1
	ip -n "$ce1" link set ce1-up up
	check busywait_eq 3000 2 counter "$h" received || rc=1
	check [ "$(counter "$h" down)" = 0x0 ] || rc=1
	check [ "$(counter "$ir" relayed)" = 2 ] || rc=1
	check [ "$(counter "$h" refused)" = 0 ] || rc=1
	check busywait_eq 3000 2 counter6 "$h" received || rc=1
	check [ "$(counter6 "$h" down)" = 0x0 ] || rc=1
	check [ "$(counter6 "$h" refused)" = "$refused6" ] || rc=1
	[ $rc -eq 0 ] || in_ns "$h" grep "^linkfail" /proc/net/sitemh | sed 's/^/# H: /'
	[ $rc -eq 0 ] || in_ns "$ir" grep "^linkfail" /proc/net/sitemh | sed 's/^/# IR: /'
	in_ns "$ir" sh -c 'echo > /proc/sys/net/ipv4/sitemh_ce/relay' || rc=1
	check [ -z "$(in_ns "$ir" sysctl -n net.ipv4.sitemh_ce.relay)" ] || rc=1
	log_test $rc "a router inside the site relays notices to the hosts behind it (IPv4 and IPv6)"
}

# Issue 16: a CE repeats every state change with growing spacing and refreshes a failure
# while it lasts; the host counts the first copy as received and the others as repeated.
test_repeated_notices() {
	local rc=0 pcap received repeated copies seq refused6 ignored6
	pcap=$(mktemp /tmp/sitemh-lf.XXXXXX)
	defer rm -f "$pcap"
	check ce_timing 100 3 1000 || rc=1
	received=$(counter "$ir" received)
	repeated=$(counter "$ir" repeated)
	refused6=$(counter6 "$ir" refused)
	ignored6=$(counter6 "$ir" ignored)
	ip netns exec "$ir" tcpdump -i ir-b -n -U -w "$pcap" 'icmp[0] == 41' 2>/dev/null &
	local dump=$!
	busywait 30000 test -s "$pcap"
	ip -n "$ce1" link set ce1-up down
	check busywait_eq 3000 0x1 counter "$ir" down || rc=1
	# Copies at 100, 300, 700 ms, then the refreshes every second.
	check busywait 5000 at_least $((repeated + 4)) counter "$ir" repeated || rc=1
	check [ "$(counter "$ir" received)" = $((received + 1)) ] || rc=1
	# Refreshes keep coming until the link is up: count the restoration's copies from here.
	repeated=$(counter "$ir" repeated)
	ip -n "$ce1" link set ce1-up up
	check busywait_eq 3000 0x0 counter "$ir" down || rc=1
	# All four copies of the restoration (0, 100, 300, 700 ms) captured, and the three
	# repetitions counted (at least: a refresh may have come in after the count above).
	check busywait 5000 restoration_copies_at_least 4 "$pcap" || rc=1
	check busywait 3000 at_least $((repeated + 3)) counter "$ir" repeated || rc=1
	check [ "$(counter "$ir" received)" = $((received + 2)) ] || rc=1
	nap 0.3
	kill $dump
	wait $dump 2>/dev/null
	copies=$(copies_of "$pcap")
	echo "$copies" | sed 's/^/# code copy lifetime boot sequence: /'
	# The failure: copies 00..04 (three repetitions and a refresh), one sequence number, a
	# lifetime of 3 s (three refreshes); the restoration: the next sequence number, no
	# lifetime, copies 00..03 and no refresh.
	seq=$(echo "$copies" | awk '$1 == "01" { print $5; exit }')
	check [ -n "$seq" ] || rc=1
	check [ "$(echo "$copies" | awk -v s="$seq" '$1 == "01" && $5 == s && $3 == "0003"' | wc -l)" -ge 5 ] || rc=1
	for copy in 00 01 02 03 04; do
		echo "$copies" | grep -q "^01 $copy " || { echo "# no copy $copy of the failure"; rc=1; }
	done
	check [ "$(echo "$copies" | awk '$1 == "05"' | wc -l)" -eq 4 ] || rc=1
	check [ "$(echo "$copies" | awk '$1 == "05" { print $2 $3 }' | tr '\n' ' ')" = "000000 010000 020000 030000 " ] || rc=1
	check [ "$(echo "$copies" | awk '$1 == "05" { print $5 }' | sort -u)" = "$(printf '%08x' $((16#$seq + 1)))" ] || rc=1
	check [ "$(echo "$copies" | awk '{ print $4 }' | sort -u | wc -l)" -eq 1 ] || rc=1
	# IR knows CE1 by its link-local IPv6 address: the copies CE1 multicasts from its
	# global one are ignored, not refused (a normal failure refuses nothing).
	check [ "$(counter6 "$ir" refused)" -eq "$refused6" ] || rc=1
	check [ "$(counter6 "$ir" ignored)" -gt "${ignored6:-0}" ] || rc=1
	check ce_timing 0 0 0 || rc=1
	log_test $rc "a state change goes 1 + repeats times, a failure is refreshed; copies counted as repeated"
}

# The first copy of a failure is lost: a repetition marks the domain. Control: without
# repetitions the failure is never heard.
test_lost_failure_notice() {
	local rc=0
	# Octet 9 of the ICMP message (bit 72 of the transport header): the copy number.
	check loss_filter "icmp code 1 @th,72,8 0" || rc=1
	check ce_timing 100 3 0 || rc=1
	ip -n "$ce1" link set ce1-up down
	check busywait 3000 dropped 1 || rc=1
	check busywait_eq 3000 0x1 counter "$ir" down || rc=1
	ip -n "$ce1" link set ce1-up up
	check busywait_eq 3000 0x0 counter "$ir" down || rc=1
	nap 1
	# Control: the single copy is lost, the failure goes unnoticed.
	check ce_timing 0 0 0 || rc=1
	ip -n "$ce1" link set ce1-up down
	check busywait 3000 dropped 2 || rc=1
	nap 1
	check [ "$(counter "$ir" down)" = 0x0 ] || rc=1
	ip -n "$ce1" link set ce1-up up
	loss_filter ""
	log_test $rc "the first copy of a failure lost: a repetition marks the domain (not without)"
}

# Every copy of the restoration is lost: the failure, no longer refreshed, lapses after its
# lifetime. Control: a failure announced without refreshes carries no lifetime and stays.
test_lost_restoration() {
	local rc=0 start
	check loss_filter "icmp code 5" || rc=1
	# A lifetime of 9 s (three refreshes) from the last copy: longer than TCG takes to
	# look at the mark once the restoration is lost.
	check ce_timing 100 3 3000 || rc=1
	ip -n "$ce1" link set ce1-up down
	check busywait_eq 3000 0x1 counter "$ir" down || rc=1
	ip -n "$ce1" link set ce1-up up
	check busywait 3000 dropped 1 || rc=1
	now_ms
	start=$now_ms
	check [ "$(counter "$ir" down)" = 0x1 ] || rc=1
	check busywait_eq 15000 0x0 counter "$ir" down || rc=1
	now_ms
	echo "# the mark lapsed $((now_ms - start)) ms after the lost restoration"
	nap 1
	# Control.
	check ce_timing 100 3 0 || rc=1
	ip -n "$ce1" link set ce1-up down
	check busywait_eq 3000 0x1 counter "$ir" down || rc=1
	ip -n "$ce1" link set ce1-up up
	check busywait 3000 dropped 5 || rc=1
	nap 4
	check [ "$(counter "$ir" down)" = 0x1 ] || rc=1
	# A new restoration clears it.
	loss_filter ""
	ip -n "$ce1" link set ce1-up down
	ip -n "$ce1" link set ce1-up up
	check busywait_eq 3000 0x0 counter "$ir" down || rc=1
	check ce_timing 0 0 0 || rc=1
	log_test $rc "every copy of a restoration lost: the unrefreshed failure lapses (not without a lifetime)"
}

# A copy of an older state, played after a newer one, is ignored and counted as stale.
test_stale_copy() {
	local rc=0 pcap old stale
	pcap=$(mktemp /tmp/sitemh-lf.XXXXXX)
	defer rm -f "$pcap"
	check ce_timing 0 0 0 || rc=1
	ip netns exec "$ir" tcpdump -i ir-b -n -U -w "$pcap" 'icmp[0] == 41 and icmp[1] == 1' 2>/dev/null &
	local dump=$!
	busywait 30000 test -s "$pcap"
	ip -n "$ce1" link set ce1-up down
	check busywait_eq 3000 0x1 counter "$ir" down || rc=1
	ip -n "$ce1" link set ce1-up up
	check busywait_eq 3000 0x0 counter "$ir" down || rc=1
	nap 0.3
	kill $dump
	wait $dump 2>/dev/null
	# The failure's octets as CE1 sent them, from CE1's address on the link.
	old=$(in_ns "$ir" tcpdump -r "$pcap" -n -x 2>/dev/null | awk '
		/^[0-9]/ { if (hex != "") exit; next }
		{ for (i = 2; i <= NF; i++) hex = hex $i }
		END { print substr(hex, 41, 40) }')
	echo "# replayed: $old"
	check [ ${#old} -eq 40 ] || rc=1
	stale=$(counter "$ir" stale)
	inject "$ce1" 198.51.100.129 198.51.100.131 255 "$old"
	check busywait_eq 3000 $((stale + 1)) counter "$ir" stale || rc=1
	check [ "$(counter "$ir" down)" = 0x0 ] || rc=1
	log_test $rc "an older notice played after a newer one is ignored (stale), the state stands"
}

# Issue 16: a host that missed a failure asks its router when its domains are configured
# and when its interface comes up; the CE answers with unicast notices of its state, IPv4
# and IPv6. Control: until it asks, the host knows nothing (no refreshes here).
test_solicitation() {
	local rc=0 solicited answered solicited6 answered6 router
	check ce_timing 0 0 0 || rc=1
	# IR misses CE1's broadcasts and IPv6 multicasts; unicast answers pass.
	in_ns "$ir" nft -f - <<-'NFT' || rc=1
	table inet sitemh_loss {
		chain early {
			type filter hook input priority -400;
			icmp type 41 ip daddr 255.255.255.255 counter drop
			icmpv6 type 200 ip6 daddr ff02::1 drop
		}
	}
	NFT
	solicited=$(counter "$ir" solicited)
	answered=$(counter "$ce1" answered)
	solicited6=$(counter6 "$ir" solicited)
	answered6=$(counter6 "$ce1" answered)
	ip -n "$ce1" link set ce1-up down
	check busywait 3000 dropped 1 || rc=1
	nap 1
	check [ "$(counter "$ir" down)" = 0x0 ] || rc=1
	check [ "$(counter6 "$ir" down)" = 0x0 ] || rc=1
	# IR's domain is written again, as when a host boots: it asks CE1 over IPv4 and IPv6
	# and hears the failure.
	router=$(in_ns "$ir" sysctl -n net.ipv4.ip_domain.0.def_router)
	check in_ns "$ir" sysctl -q -w net.ipv4.ip_domain.0.def_router="$router" || rc=1
	check busywait_eq 3000 0x1 counter "$ir" down || rc=1
	check busywait_eq 3000 0x1 counter6 "$ir" down || rc=1
	check [ "$(counter "$ir" solicited)" -gt "$solicited" ] || rc=1
	check [ "$(counter "$ce1" answered)" -gt "$answered" ] || rc=1
	check [ "$(counter6 "$ir" solicited)" -gt "$solicited6" ] || rc=1
	check [ "$(counter6 "$ce1" answered)" -gt "$answered6" ] || rc=1
	# The restoration's broadcast is lost too; IR's interface goes down and up: it asks
	# again and hears the uplink works.
	ip -n "$ce1" link set ce1-up up
	check busywait 3000 dropped 2 || rc=1
	nap 1
	check [ "$(counter "$ir" down)" = 0x1 ] || rc=1
	ip -n "$ir" link set ir-b down
	ip -n "$ir" link set ir-b up
	ip -n "$ir" route replace default via 198.51.100.129
	check busywait_eq 5000 0x0 counter "$ir" down || rc=1
	if [ $rc -ne 0 ]; then
		in_ns "$ir" grep linkfail /proc/net/sitemh | sed 's/^/# IR: /'
		in_ns "$ce1" grep linkfail /proc/net/sitemh | sed 's/^/# CE1: /'
	fi
	loss_filter ""
	# IPv6's mark goes with the next notices (IR's IPv6 router is scoped to ir-b, whose
	# link-local address is still tentative).
	ip -n "$ce1" link set ce1-up down
	ip -n "$ce1" link set ce1-up up
	check busywait_eq 5000 0x0 counter6 "$ir" down || rc=1
	log_test $rc "a host asks its router when configured and when its interface comes up; the CE answers"
}

# sealed_notices KEY SPEC...: type 41 notices sealed under KEY (64 hex digits) as
# rust/logic/announce.rs seals them, one hex line per SPEC "SRC CODE GATEWAY BOOT SEQ AGE_MS"
# (the time: this host's clock minus AGE_MS). One Python start for all: each costs seconds
# in the test VM, and the sealed times must stay fresh.
sealed_notices() {
	python3 - "$@" <<-'PY'
	import hashlib, hmac, socket, struct, sys, time
	key = bytes.fromhex(sys.argv[1])
	now = int(time.time() * 1000)
	for spec in sys.argv[2:]:
	    src, code, gateway, boot, seq, age = spec.split()
	    body = bytes([41, int(code), 0, 0]) + bytes.fromhex(gateway) + bytes([2, 0]) + \
	        struct.pack(">HIIQ", 0, int(boot), int(seq), now - int(age))
	    tag = hmac.new(key, b"sitemh notice" + socket.inet_aton(src) + body,
	                   hashlib.sha256).digest()[:16]
	    m = bytearray(body + tag)
	    s = sum(struct.unpack(">%dH" % (len(m) // 2), m))
	    s = (s & 0xffff) + (s >> 16)
	    s = (s & 0xffff) + (s >> 16)
	    m[2:4] = struct.pack(">H", ~s & 0xffff)
	    print(m.hex())
	PY
}

# inject_all NS SRC DST TTL HEX...: inject's messages, in order, from one socket.
inject_all() {
	in_ns "$1" "$tool" raw4 "${@:2}"
}

# Issue 16 item 2: with a site key, a host acts only on notices sealed under it, fresh, from
# the source they name; a replayed one is stale. The key is never shown.
test_site_key() {
	local rc=0 key old refused stale notices
	key=$(printf '5a%.0s' {1..32})
	old=$(printf 'a5%.0s' {1..32})
	check ce_timing 0 0 0 || rc=1
	check in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.key="$key" || rc=1
	check in_ns "$ir" sysctl -q -w net.ipv4.sitemh_ce.key="$key" || rc=1
	check [ "$(in_ns "$ir" sysctl -n net.ipv4.sitemh_ce.key)" = set ] || rc=1
	check_fails EINVAL in_ns "$ir" sysctl -q -w net.ipv4.sitemh_ce.key=0123 || rc=1
	check [ "$(in_ns "$ir" sysctl -n net.ipv4.sitemh_ce.key)" = set ] || rc=1
	# CE1's own notices, sealed, are acted on.
	ip -n "$ce1" link set ce1-up down
	check busywait_eq 3000 0x1 counter "$ir" down || rc=1
	ip -n "$ce1" link set ce1-up up
	check busywait_eq 3000 0x0 counter "$ir" down || rc=1
	# From CE1's address, on the link, TTL 255: the draft's form, sealed under a former
	# key, sealed 40 s ago, sealed naming another source: refused, nothing marked.
	refused=$(counter "$ir" refused)
	mapfile -t notices < <(sealed_notices "$old" "198.51.100.129 1 c0000202 7 99 0")
	mapfile -t -O 1 notices < <(sealed_notices "$key" "198.51.100.129 1 c0000202 7 99 40000" \
		"198.51.100.130 1 c0000202 7 99 0")
	inject_all "$ce1" 198.51.100.129 198.51.100.131 255 "$(notice 1 c0000202)" "${notices[@]}"
	check busywait_eq 3000 $((refused + 4)) counter "$ir" refused || rc=1
	check [ "$(counter "$ir" down)" = 0x0 ] || rc=1
	# Control: the same notice sealed under the key, fresh, is acted on; a newer
	# restoration undoes it; the failure played again (within the 30 s) is stale.
	stale=$(counter "$ir" stale)
	mapfile -t notices < <(sealed_notices "$key" "198.51.100.129 1 c0000202 7 99 0" \
		"198.51.100.129 5 c0000202 7 100 0")
	inject_all "$ce1" 198.51.100.129 198.51.100.131 255 "${notices[0]}"
	check busywait_eq 3000 0x1 counter "$ir" down || rc=1
	inject_all "$ce1" 198.51.100.129 198.51.100.131 255 "${notices[1]}" "${notices[0]}"
	check busywait_eq 3000 $((stale + 1)) counter "$ir" stale || rc=1
	check [ "$(counter "$ir" down)" = 0x0 ] || rc=1
	check [ "$(counter "$ir" refused)" = $((refused + 4)) ] || rc=1
	# Without the key, the host takes the draft's form again.
	check in_ns "$ir" sh -c 'echo > /proc/sys/net/ipv4/sitemh_ce/key' || rc=1
	check [ -z "$(in_ns "$ir" sysctl -n net.ipv4.sitemh_ce.key)" ] || rc=1
	inject "$ce1" 198.51.100.129 198.51.100.131 255 "$(notice 1 c0000202)"
	check busywait_eq 3000 0x1 counter "$ir" down || rc=1
	inject "$ce1" 198.51.100.129 198.51.100.131 255 "$(notice 5 c0000202)"
	check busywait_eq 3000 0x0 counter "$ir" down || rc=1
	in_ns "$ce1" sh -c 'echo > /proc/sys/net/ipv4/sitemh_ce/key'
	log_test $rc "site key: only notices sealed under it, fresh, from their source count; a replay is stale"
}

load_module || { log_test 1 "module loads"; exit $ksft_fail; }
if ! build_site || ! configure_site; then
	log_test 1 "build and configure the site"
	exit $ksft_fail
fi
run_case test_configuration
run_case test_admin_down
run_case test_carrier_loss
run_case test_forged_notices
run_case test_operator_firewall
run_case test_relay
run_case test_repeated_notices
run_case test_lost_failure_notice
run_case test_lost_restoration
run_case test_stale_copy
run_case test_solicitation
run_case test_site_key
run_cleanup
unload_module
exit $ret
