#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Table changes under traffic, unloading under traffic, and namespaces deleted with state:
# no splat and no leak (the VM runner checks the kernel log and kmemleak afterwards), and
# no packet routed by a half-written table.
#
#   A (198.51.100.10, 203.0.113.10) ---- R (module) ---- CE1 (198.51.100.129) ... counts
#                                              \-------- CE2 (203.0.113.130) ... counts
# R's table keeps P1 -> CE1 and P2 -> CE2 in every version while other fields change, so a
# P1 packet seen at CE2 (or P2 at CE1) would be one routed by a half-written table.

source "$(dirname "$0")/lib.sh"

CHANGES=${SITEMH_STRESS_CHANGES:-1000}

build() {
	setup_ns a r lan ce1 ce2 || return 1
	ip link add a-r netns "$a" type veth peer name r-a netns "$r"
	ip -n "$lan" link add br0 type bridge
	ip -n "$lan" link set br0 up
	ip link add r-l netns "$r" type veth peer name l-r netns "$lan"
	ip link add c1-l netns "$ce1" type veth peer name l-c1 netns "$lan"
	ip link add c2-l netns "$ce2" type veth peer name l-c2 netns "$lan"
	local p
	for p in l-r l-c1 l-c2; do ip -n "$lan" link set "$p" master br0 up; done
	ip -n "$a" link set a-r up
	ip -n "$r" link set r-a up
	ip -n "$r" link set r-l up
	ip -n "$ce1" link set c1-l up
	ip -n "$ce2" link set c2-l up
	in_ns "$r" sysctl -q -w net.ipv4.ip_forward=1
	ip -n "$a" addr add 198.51.100.10/25 dev a-r
	ip -n "$a" addr add 203.0.113.10/25 dev a-r
	ip -n "$r" addr add 198.51.100.1/25 dev r-a
	ip -n "$r" addr add 203.0.113.1/25 dev r-a
	ip -n "$r" addr add 198.51.100.131/25 dev r-l
	ip -n "$r" addr add 203.0.113.131/25 dev r-l
	ip -n "$ce1" addr add 198.51.100.129/25 dev c1-l
	ip -n "$ce2" addr add 203.0.113.130/25 dev c2-l
	ip -n "$a" route add default via 198.51.100.1
	ip -n "$r" route add default via 198.51.100.129
	# The CEs only count what reaches them for the outside (192.0.2.0/24 is blackholed).
	for p in "$ce1" "$ce2"; do
		in_ns "$p" nft -f - <<-NFT || return 1
		table ip count {
			chain in {
				type filter hook prerouting priority 0; policy accept;
				ip daddr 192.0.2.0/24 ip saddr 198.51.100.0/24 counter comment "p1"
				ip daddr 192.0.2.0/24 ip saddr 203.0.113.0/24 counter comment "p2"
				ip daddr 192.0.2.0/24 drop
			}
		}
		NFT
	done
}

count() { # NS NAME
	in_ns "$1" nft list chain ip count in |
		grep "comment \"$2\"" | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

configure() { # NS
	local k=/proc/sys/net/ipv4
	in_ns "$1" bash -c "
		echo 3 > $k/ip_num_domains
		echo /24 > $k/ip_domain/0/net_mask; echo 198.51.100.0 > $k/ip_domain/0/net_addr
		echo 198.51.100.129 > $k/ip_domain/0/def_router
		echo /24 > $k/ip_domain/1/net_mask; echo 203.0.113.0 > $k/ip_domain/1/net_addr
		echo 203.0.113.130 > $k/ip_domain/1/def_router"
}

# Traffic from both sources to the outside, in the background; prints the pids.
traffic() {
	ip netns exec "$a" ping -q -i 0.002 -w "$1" -I 198.51.100.10 192.0.2.1 >/dev/null 2>&1 &
	echo $!
	ip netns exec "$a" ping -q -i 0.002 -w "$1" -I 203.0.113.10 192.0.2.2 >/dev/null 2>&1 &
	echo $!
}

test_changes_under_traffic() {
	local rc=0 pids k=/proc/sys/net/ipv4 p1 p2
	load_module || rc=1
	check configure "$r" || rc=1
	# This case's traffic (deltas: the counters keep what earlier cases sent).
	p1=$(count "$ce1" p1)
	p2=$(count "$ce2" p2)
	pids=$(traffic 600)
	# Each iteration: three writes that change domain 2 and the mask of the others
	# between equivalent values, plus one count change: all under traffic.
	check in_ns "$r" bash -c "
		for i in \$(seq 1 $((CHANGES / 4))); do
			echo 10.\$((i % 200)).0.0 > $k/ip_domain/2/net_addr || exit 1
			echo /16 > $k/ip_domain/2/net_mask || exit 1
			echo /\$((24 + i % 2)) > $k/ip_domain/0/net_mask || exit 1
			echo \$((3 + i % 2)) > $k/ip_num_domains || exit 1
			echo /32 > $k/ip_domain/2/net_mask || exit 1
		done" || rc=1
	kill $pids 2>/dev/null
	wait $pids 2>/dev/null
	check [ "$(count "$ce1" p1)" -gt $((${p1:-0} + 100)) ] || rc=1
	check [ "$(count "$ce2" p2)" -gt $((${p2:-0} + 100)) ] || rc=1
	check [ "$(count "$ce1" p2)" -eq 0 ] || rc=1
	check [ "$(count "$ce2" p1)" -eq 0 ] || rc=1
	log_test $rc "$CHANGES table changes under traffic: every packet saw a whole table"
}

test_unload_under_traffic() {
	local rc=0 pids i
	for i in 1 2 3 4 5; do
		load_module || rc=1
		check configure "$r" || rc=1
		pids=$(traffic 30)
		nap 0.5
		check rmmod sitemh || rc=1
		kill $pids 2>/dev/null
		wait $pids 2>/dev/null
	done
	log_test $rc "unloading the module under traffic, 5 times"
}

test_namespace_deleted_under_traffic() {
	local rc=0 pids
	load_module || rc=1
	check configure "$r" || rc=1
	pids=$(traffic 30)
	nap 0.5
	# Deleting the router's namespace under traffic tears down its state and devices.
	check ip netns del "$r" || rc=1
	kill $pids 2>/dev/null
	wait $pids 2>/dev/null
	check unload_module || rc=1
	log_test $rc "namespace with state and traffic deleted"
}

if ! build; then
	log_test 1 "build the topology"
	exit $ksft_fail
fi
run_case test_changes_under_traffic
run_case test_unload_under_traffic
run_case test_namespace_deleted_under_traffic
run_cleanup
unload_module
exit $ret
