#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The draft's multihomed site in network namespaces, shared by the routing selftest and
# `make demo`. Source after lib.sh.
#
#                                  +-----+  192.0.2.0/30   +-----+
#                             .129 | CE1 |-----------------| PE1 |---.
#  +---+  LAN A        +----+   .---+-----+                 +-----+    \   +---+
#  | H |---------------| IR |---+  LAN B (bridge in ns "lanb")         +--| X | 192.0.2.200
#  +---+ 198.51.100.0/25+----+   '---+-----+                 +-----+    /   +---+
#        203.0.113.0/25        .130 | CE2 |-----------------| PE2 |---'
#        10.99.1.0/24               +-----+  192.0.2.4/30   +-----+
#
# Site domains: P1 198.51.100.0/24 via CE1, P2 203.0.113.0/24 via CE2, private
# 10.99.0.0/16 (no router). LAN B holds 198.51.100.128/25, 203.0.113.128/25, 10.99.2.0/24.
# H's default route points at IR (the socket layer needs some route before LOCAL_OUT) and
# IR's main table sends everything outside the site to CE1: only the module can make P2
# traffic leave through CE2. The same in IPv6 with 2001:db8:1::/48 (P1), 2001:db8:2::/48
# (P2) and fd00:99::/48 (private), IR naming the CEs by link-local address (fe80::c1%ir-b).
#
# Which CE a packet left through is read from nftables counters on the CEs' uplinks.

X4=192.0.2.200
X6=2001:db8:ff::200

build_site() {
	setup_ns h ir lanb ce1 ce2 pe1 pe2 x || return 1
	local var forward
	# One sysctl process per namespace; every namespace but H's forwards.
	for var in h ir lanb ce1 ce2 pe1 pe2 x; do
		forward=1
		[ "$var" = h ] && forward=0
		in_ns "${!var}" sysctl -q -w net.ipv4.ip_forward=$forward \
			net.ipv6.conf.all.forwarding=$forward \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0 || return 1
	done

	# One `ip -batch` per namespace (ip_batch, lib.sh): a process costs a good fraction of
	# a second in the test VM.
	ip_batch "" <<-IP || return 1
	link add h-a netns $h type veth peer name ir-a netns $ir
	link add ir-b netns $ir type veth peer name b-ir netns $lanb
	link add ce1-b netns $ce1 type veth peer name b-ce1 netns $lanb
	link add ce2-b netns $ce2 type veth peer name b-ce2 netns $lanb
	link add ce1-up netns $ce1 type veth peer name pe1-ce netns $pe1
	link add ce2-up netns $ce2 type veth peer name pe2-ce netns $pe2
	link add pe1-x netns $pe1 type veth peer name x-pe1 netns $x
	link add pe2-x netns $pe2 type veth peer name x-pe2 netns $x
	IP
	# Every link up (both ends) before any address or route: IPv6 routes need the
	# gateway's link ready.
	printf 'link set h-a up\n' | ip_batch "$h" || return 1
	printf 'link set %s up\n' ir-a ir-b | ip_batch "$ir" || return 1
	printf 'link set %s up\n' ce1-b ce1-up | ip_batch "$ce1" || return 1
	printf 'link set %s up\n' ce2-b ce2-up | ip_batch "$ce2" || return 1
	printf 'link set %s up\n' pe1-ce pe1-x | ip_batch "$pe1" || return 1
	printf 'link set %s up\n' pe2-ce pe2-x | ip_batch "$pe2" || return 1
	printf 'link set %s up\n' x-pe1 x-pe2 | ip_batch "$x" || return 1
	ip_batch "$lanb" <<-IP || return 1
	link add br0 type bridge
	link set br0 up
	link set b-ir master br0 up
	link set b-ce1 master br0 up
	link set b-ce2 master br0 up
	IP
	# H: LAN A; everything via IR.
	ip_batch "$h" <<-IP || return 1
	addr add 198.51.100.10/25 dev h-a
	addr add 203.0.113.10/25 dev h-a
	addr add 10.99.1.10/24 dev h-a
	addr add 2001:db8:1:a::10/64 dev h-a nodad
	addr add 2001:db8:2:a::10/64 dev h-a nodad
	addr add fd00:99:0:a::10/64 dev h-a nodad
	route add default via 198.51.100.1
	route add ::/0 via 2001:db8:1:a::1
	IP
	# IR: LAN A and LAN B; everything outside the site via CE1.
	ip_batch "$ir" <<-IP || return 1
	addr add 198.51.100.1/25 dev ir-a
	addr add 203.0.113.1/25 dev ir-a
	addr add 10.99.1.1/24 dev ir-a
	addr add 2001:db8:1:a::1/64 dev ir-a nodad
	addr add 2001:db8:2:a::1/64 dev ir-a nodad
	addr add fd00:99:0:a::1/64 dev ir-a nodad
	addr add 198.51.100.131/25 dev ir-b
	addr add 203.0.113.131/25 dev ir-b
	addr add 10.99.2.1/24 dev ir-b
	addr add 2001:db8:1:b::1/64 dev ir-b nodad
	addr add 2001:db8:2:b::1/64 dev ir-b nodad
	route add default via 198.51.100.129
	route add ::/0 via 2001:db8:1:b::c1
	IP
	# The CEs: LAN B, their uplink, the site behind IR, the provider by default.
	ip_batch "$ce1" <<-IP || return 1
	addr add 198.51.100.129/25 dev ce1-b
	addr add 203.0.113.129/25 dev ce1-b
	addr add 2001:db8:1:b::c1/64 dev ce1-b nodad
	addr add 2001:db8:2:b::c1/64 dev ce1-b nodad
	addr add fe80::c1/64 dev ce1-b nodad
	addr add 192.0.2.1/30 dev ce1-up
	addr add 2001:db8:ff:1::1/64 dev ce1-up nodad
	route add 198.51.100.0/25 via 198.51.100.131
	route add 203.0.113.0/25 via 203.0.113.131
	route add 2001:db8:1:a::/64 via 2001:db8:1:b::1
	route add 2001:db8:2:a::/64 via 2001:db8:2:b::1
	route add default via 192.0.2.2
	route add ::/0 via 2001:db8:ff:1::2
	IP
	ip_batch "$ce2" <<-IP || return 1
	addr add 198.51.100.130/25 dev ce2-b
	addr add 203.0.113.130/25 dev ce2-b
	addr add 2001:db8:1:b::c2/64 dev ce2-b nodad
	addr add 2001:db8:2:b::c2/64 dev ce2-b nodad
	addr add fe80::c2/64 dev ce2-b nodad
	addr add 192.0.2.5/30 dev ce2-up
	addr add 2001:db8:ff:2::1/64 dev ce2-up nodad
	route add 198.51.100.0/25 via 198.51.100.131
	route add 203.0.113.0/25 via 203.0.113.131
	route add 2001:db8:1:a::/64 via 2001:db8:1:b::1
	route add 2001:db8:2:a::/64 via 2001:db8:2:b::1
	route add default via 192.0.2.6
	route add ::/0 via 2001:db8:ff:2::2
	IP
	# The PEs: their customer's prefix back to its CE, the rest towards X.
	ip_batch "$pe1" <<-IP || return 1
	addr add 192.0.2.2/30 dev pe1-ce
	addr add 192.0.2.9/30 dev pe1-x
	addr add 2001:db8:ff:1::2/64 dev pe1-ce nodad
	addr add 2001:db8:ff:3::1/64 dev pe1-x nodad
	route add 198.51.100.0/24 via 192.0.2.1
	route add default via 192.0.2.10
	route add 2001:db8:1::/48 via 2001:db8:ff:1::1
	route add ::/0 via 2001:db8:ff:3::2
	IP
	ip_batch "$pe2" <<-IP || return 1
	addr add 192.0.2.6/30 dev pe2-ce
	addr add 192.0.2.13/30 dev pe2-x
	addr add 2001:db8:ff:2::2/64 dev pe2-ce nodad
	addr add 2001:db8:ff:4::1/64 dev pe2-x nodad
	route add 203.0.113.0/24 via 192.0.2.5
	route add default via 192.0.2.14
	route add 2001:db8:2::/48 via 2001:db8:ff:2::1
	route add ::/0 via 2001:db8:ff:4::2
	IP
	# X answers each provider's addresses through that provider.
	ip_batch "$x" <<-IP || return 1
	addr add 192.0.2.10/30 dev x-pe1
	addr add 192.0.2.14/30 dev x-pe2
	addr add $X4/32 dev lo
	addr add 2001:db8:ff:3::2/64 dev x-pe1 nodad
	addr add 2001:db8:ff:4::2/64 dev x-pe2 nodad
	addr add $X6/128 dev lo
	route add 198.51.100.0/24 via 192.0.2.9
	route add 203.0.113.0/24 via 192.0.2.13
	route add 2001:db8:1::/48 via 2001:db8:ff:3::1
	route add 2001:db8:2::/48 via 2001:db8:ff:4::1
	IP

	# Count what leaves each CE towards its provider, by source.
	for ce in "$ce1" "$ce2"; do
		in_ns "$ce" nft -f - <<-NFT || return 1
		table inet count {
			chain up {
				type filter hook forward priority 0; policy accept;
				oifname != "ce1-up" oifname != "ce2-up" return
				ip saddr 198.51.100.0/24 counter comment "p1"
				ip saddr 203.0.113.0/24 counter comment "p2"
				ip saddr 10.99.0.0/16 counter comment "private"
				ip6 saddr 2001:db8:1::/48 counter comment "p1"
				ip6 saddr 2001:db8:2::/48 counter comment "p2"
				ip6 saddr fd00:99::/48 counter comment "private"
			}
			chain pre {
				type filter hook prerouting priority 0; policy accept;
				ip saddr 198.51.100.0/25 counter comment "from-a"
				ip6 saddr 2001:db8:1:a::/64 counter comment "from-a"
			}
		}
		NFT
	done
	# The counters the tests poll there are read without a process.
	keep_proc "$h" "$ir" "$x"
}

# uplink_count NS NAME FAMILY: packets counted on a CE's uplink for one source domain.
uplink_count() {
	local fam=$3
	in_ns "$1" nft list chain inet count up |
		grep "^[[:space:]]*$fam saddr.*comment \"$2\"" | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# from_lan_a NS FAMILY: P1 packets from LAN A that reached a CE at all.
from_lan_a() {
	in_ns "$1" nft list chain inet count pre |
		grep "^[[:space:]]*$2 saddr.*comment \"from-a\"" | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# domains NS FAMILY "net mask router" ...: configure the domain table of a namespace, in
# one sysctl process (a process costs a good fraction of a second in the test VM).
domains() {
	local ns=$1 fam=$2 i=0 d settings
	shift 2
	settings=("net.$fam.ip_num_domains=$#")
	for d in "$@"; do
		set -- $d
		settings+=("net.$fam.ip_domain.$i.net_mask=$2" "net.$fam.ip_domain.$i.net_addr=$1"
			"net.$fam.ip_domain.$i.def_router=$3")
		i=$((i + 1))
	done
	in_ns "$ns" sysctl -q -w "${settings[@]}"
}

configure_site() {
	local ns
	for ns in "$h" "$ir"; do
		domains "$ns" ipv4 "198.51.100.0 /24 198.51.100.129" "203.0.113.0 /24 203.0.113.130" \
			"10.99.0.0 /16 0.0.0.0" || return 1
	done
	domains "$h" ipv6 "2001:db8:1:: /48 2001:db8:1:b::c1" "2001:db8:2:: /48 2001:db8:2:b::c2" \
		"fd00:99:: /48 ::" || return 1
	domains "$ir" ipv6 "2001:db8:1:: /48 fe80::c1%ir-b" "2001:db8:2:: /48 fe80::c2%ir-b" \
		"fd00:99:: /48 ::" || return 1
}

# site_domain_of ADDR: the counter name of the domain ADDR belongs to.
site_domain_of() {
	case $1 in
	198.51.100.* | 2001:db8:1:*) echo p1 ;;
	203.0.113.* | 2001:db8:2:*) echo p2 ;;
	*) echo private ;;
	esac
}
