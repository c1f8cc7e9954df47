#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# IPv6 domains learned from router advertisements (net.ipv6.sitemh_auto=1), with radvd on
# each CE advertising its provider's prefix (the topology: ra_site.sh). H learns both domains (each router by its link-local address on its interface), routes
# its packets by source as with a manual table (which CE they reach is read from nftables
# counters on the CEs), loses CE2's domain when CE2's radvd says goodbye (router lifetime
# 0) and gets it back when radvd returns; a manual domain of the same network wins; a full
# table counts what finds no room; a router that goes silent lapses with its lifetime.

source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
ctl=$here/../tools/sitemhctl/target/release/sitemhctl

source "$here/ra_site.sh"

test_learns_both_domains() {
	local rc=0
	check nsenter --net="/run/netns/$h" sysctl -q -w net.ipv6.sitemh_auto=1 || rc=1
	start_radvd ce1 "$ce1"
	start_radvd ce2 "$ce2"
	check busywait 20000 learns 2001:db8:1::/64 h-ce1 || rc=1
	check busywait 20000 learns 2001:db8:2::/64 h-ce2 || rc=1
	# In the table, as domains of their own routers, and not as configured nodes.
	check nsenter --net="/run/netns/$h" grep -q "^ipv6 [01] 2001:db8:1::/64 fe80::" /proc/net/sitemh || rc=1
	check nsenter --net="/run/netns/$h" grep -q "^ipv6 [01] 2001:db8:2::/64 fe80::" /proc/net/sitemh || rc=1
	check [ "$(nsenter --net="/run/netns/$h" sysctl -n net.ipv6.ip_num_domains)" = 0 ] || rc=1
	# The operator's view: both as learned from their routers.
	local shown
	shown=$(nsenter --net="/run/netns/$h" "$ctl" -6 show domains)
	check grep -q "2001:db8:1::/64 via fe80::.* source ra router fe80::[0-9a-f:]*%h-ce1 " <<< "$shown" || rc=1
	check grep -q "2001:db8:2::/64 via fe80::.* source ra router fe80::[0-9a-f:]*%h-ce2 " <<< "$shown" || rc=1
	[ $rc -eq 0 ] || echo "$shown" | sed 's/^/# sitemhctl: /'
	[ $rc -eq 0 ] || { learned | sed 's/^/# /'; sed 's/^/# radvd: /' "$scratch"/ce*.log; }
	log_test $rc "sitemh_auto=1: both CEs' radvd prefixes become domains via their routers"
}

test_routes_by_source() {
	local rc=0 p1 p2
	check busywait 10000 slaac_addr 2001:db8:1: || rc=1
	check busywait 10000 slaac_addr 2001:db8:2: || rc=1
	p1=$(slaac_addr 2001:db8:1:) p2=$(slaac_addr 2001:db8:2:)
	echo "# H: $p1 $p2"
	check leaves_via "$p1" "$ce1" "$ce2" || rc=1
	check leaves_via "$p2" "$ce2" "$ce1" || rc=1
	log_test $rc "learned domains route by source: P1's packets reach CE1, P2's CE2"
}

test_goodbye_and_return() {
	local rc=0 events pid
	events=$scratch/events
	# The operator's monitor (sitemhctl) hears the domains go and come.
	nsenter --net="/run/netns/$h" "$ctl" -j monitor >"$events" 2>&1 &
	pid=$!
	defer kill $pid
	check busywait 10000 joined $pid || rc=1
	# radvd's last RA (router lifetime 0) takes CE2's domain away at once.
	stop_radvd ce2 TERM
	check busywait 10000 sh -c "! nsenter --net=/run/netns/$h awk '\$1 == \"learned6\"' /proc/net/sitemh | grep -q 2001:db8:2::" || rc=1
	check learns 2001:db8:1::/64 h-ce1 || rc=1
	start_radvd ce2 "$ce2"
	check busywait 20000 learns 2001:db8:2::/64 h-ce2 || rc=1
	check busywait 3000 grep -q '"event":"domain_learned".*"prefix":"2001:db8:2::"' "$events" || rc=1
	check grep -q '"event":"domain_expired".*"prefix":"2001:db8:2::","prefix_len":64' "$events" || rc=1
	[ $rc -eq 0 ] || sed 's/^/# event: /' "$events"
	log_test $rc "radvd stops (router lifetime 0): CE2's domain goes; radvd restarts: back (sitemhctl monitor)"
}

test_manual_wins_and_room() {
	local rc=0 table i before
	# A manual domain of the same network: one table entry, the configured one.
	check nsenter --net="/run/netns/$h" sysctl -q -w net.ipv6.ip_domain_table="2001:db8:1::/64 fe80::1%h-ce1" || rc=1
	check [ "$(nsenter --net="/run/netns/$h" grep -c "^ipv6 [0-9]* 2001:db8:1::/64 " /proc/net/sitemh)" -eq 1 ] || rc=1
	check nsenter --net="/run/netns/$h" grep -q "^ipv6 0 2001:db8:1::/64 fe80::1 " /proc/net/sitemh || rc=1
	check nsenter --net="/run/netns/$h" grep -q "^ipv6 1 2001:db8:2::/64 fe80::" /proc/net/sitemh || rc=1
	# 16 manual domains: what is learned anew finds no room, and is counted.
	table="2001:db8:1::/64 fe80::1%h-ce1"
	for i in $(seq 1 15); do table+=", 2001:db8:f$i::/48"; done
	before=$(ra_field no_room)
	check nsenter --net="/run/netns/$h" sysctl -q -w net.ipv6.ip_domain_table="$table" || rc=1
	check nsenter --net="/run/netns/$h" sysctl -q -w net.ipv6.sitemh_auto=0 || rc=1
	check nsenter --net="/run/netns/$h" sysctl -q -w net.ipv6.sitemh_auto=1 || rc=1
	check busywait 15000 at_least $((before + 1)) ra_field no_room || rc=1
	check [ "$(nsenter --net="/run/netns/$h" grep -c "^ipv6 " /proc/net/sitemh)" -eq 16 ] || rc=1
	check nsenter --net="/run/netns/$h" sysctl -q -w net.ipv6.ip_domain_table= || rc=1
	check busywait 15000 learns 2001:db8:1::/64 h-ce1 || rc=1
	log_test $rc "a manual domain of the same network wins; a full table counts no_room"
}

test_silent_router_lapses() {
	local rc=0
	# CE1 advertises a router lifetime of 8 s, then goes silent: its domain lapses.
	stop_radvd ce1 KILL
	radvd_conf ce1 2001:db8:1::/64 8
	start_radvd ce1 "$ce1"
	check busywait 15000 sh -c "nsenter --net=/run/netns/$h awk '\$1 == \"learned6\" && \$2 == \"2001:db8:1::/64\" { print \$5 }' /proc/net/sitemh | grep -qx '[0-8]'" || rc=1
	stop_radvd ce1 KILL
	check busywait 20000 sh -c "! nsenter --net=/run/netns/$h grep -q '^learned6 2001:db8:1::' /proc/net/sitemh" || rc=1
	# Off: every learned domain goes.
	check nsenter --net="/run/netns/$h" sysctl -q -w net.ipv6.sitemh_auto=0 || rc=1
	check [ -z "$(learned)" ] || rc=1
	check [ "$(nsenter --net="/run/netns/$h" grep -c "^ipv6 " /proc/net/sitemh)" -eq 0 ] || rc=1
	log_test $rc "a silent router's domain lapses with its lifetime; sitemh_auto=0 forgets all"
}

load_module || { log_test 1 "module loads"; exit $ksft_fail; }
build_ra_site || { log_test 1 "the site with radvd"; exit $ksft_fail; }
run_case test_learns_both_domains
run_case test_routes_by_source
run_case test_goodbye_and_return
run_case test_manual_wins_and_room
run_case test_silent_router_lapses
run_cleanup
unload_module
exit $ret
