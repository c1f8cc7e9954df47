#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Equivalence: for many random domain tables and (source, destination) pairs, the module's
# decisions on LOCAL_OUT and FORWARD equal those of the policy-routing configuration that
# expresses the draft's rule (`ip rule to <domain> lookup main`, `ip rule from <domain>
# table <its router>`, `unreachable` for private domains). See sitemh_equivalence.py.
#
#   S (sender, any source) --veth-- R --eq0 (dummy: routers 100.64.0.0/16, fd64::/64)

source "$(dirname "$0")/lib.sh"
helper=$(cd "$(dirname "$0")" && pwd)/sitemh_equivalence.py
if soak; then
	SEEDS=${SEEDS:-"1 2 3 4 5 6 7 8 9 10"}
else
	SEEDS=${SEEDS:-"1 2"}
fi

build() {
	setup_ns r s || return 1
	ip -n "$r" link add eq0 type dummy
	ip -n "$r" link set eq0 up
	ip -n "$r" addr add 100.64.0.1/16 dev eq0
	ip -n "$r" -6 addr add fd64::1/64 dev eq0 nodad
	ip -n "$r" route add default via 100.64.255.254
	ip -n "$r" -6 route add default via fd64::fffe
	ip link add r-s netns "$r" type veth peer name s-r netns "$s"
	ip -n "$r" link set r-s up
	ip -n "$s" link set s-r up
	ip -n "$r" addr add 192.168.77.1/24 dev r-s
	ip -n "$s" addr add 192.168.77.2/24 dev s-r
	ip -n "$r" -6 addr add fd65::1/64 dev r-s nodad
	ip -n "$s" -6 addr add fd65::2/64 dev s-r nodad
	ip -n "$s" route add default via 192.168.77.1
	ip -n "$s" -6 route add default via fd65::1
	in_ns "$r" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.r-s.rp_filter=0 || return 1
	# The next hop of every test packet leaving R, by (source, destination).
	in_ns "$r" nft -f - <<-NFT
	table inet equiv {
		set seen4 { type ipv4_addr . ipv4_addr . ipv4_addr; flags dynamic; size 65536; }
		set seen6 { type ipv6_addr . ipv6_addr . ipv6_addr; flags dynamic; size 65536; }
		chain post {
			type filter hook postrouting priority 0; policy accept;
			udp dport 9 meta nfproto ipv4 update @seen4 { ip saddr . ip daddr . rt ip nexthop }
			udp dport 9 meta nfproto ipv6 update @seen6 { ip6 saddr . ip6 daddr . rt ip6 nexthop }
		}
	}
	NFT
}

test_equivalence() { # FAMILY
	local rc=0 seed
	for seed in $SEEDS; do
		check in_ns "$r" python3 "$helper" run --family "$1" --seed "$seed" \
			--sender-ns "$s" || rc=1
	done
	log_test $rc "IPv$1: module decisions equal policy routing's (seeds $SEEDS)"
}

load_module || exit $ksft_fail
build || { log_test 1 "topology"; exit $ksft_fail; }
run_case test_equivalence 4
run_case test_equivalence 6
exit $ret
