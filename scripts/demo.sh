#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make demo`, guest side: build the draft's multihomed site in network namespaces, load
# sitemh, and show which CE router each flow leaves through.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/selftests/lib.sh"
source "$root/selftests/site.sh"
source "$root/selftests/switchover_site.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# flow NS-NAME NS SRC DST FAMILY: send a few pings and say which CE they left through.
flow() {
	local name=$1 ns=$2 src=$3 dst=$4 fam=$5 dom via="" err="" c1 c2
	dom=$(site_domain_of "$src")
	c1=$(uplink_count "$ce1" "$dom" "$fam")
	c2=$(uplink_count "$ce2" "$dom" "$fam")
	ip netns exec "$ns" ping -q -c 3 -i 0.2 -W 2 -I "$src" "$dst" >/dev/null 2>&1
	# ping hides a local send error; one UDP datagram shows it.
	err=$(echo x | ip netns exec "$ns" socat -u - "UDP-SENDTO:${dst/*:*/[$dst]}:9,bind=${src/*:*/[$src]}" 2>&1 |
		sed -n 's/.*): //p')
	[ "$(uplink_count "$ce1" "$dom" "$fam")" -gt "$c1" ] && via="CE1"
	[ "$(uplink_count "$ce2" "$dom" "$fam")" -gt "$c2" ] && via="${via:+$via }CE2"
	printf '  %-3s %-18s -> %-17s %-8s left via: %s\n' "$name" "$src" "$dst" "($dom)" \
		"${via:-nowhere${err:+ ($err)}}"
}

flows() {
	flow H "$h" 198.51.100.10 $X4 ip
	flow H "$h" 203.0.113.10 $X4 ip
	flow H "$h" 10.99.1.10 $X4 ip
	flow IR "$ir" 203.0.113.131 $X4 ip
	flow H "$h" 2001:db8:1:a::10 $X6 ip6
	flow H "$h" 2001:db8:2:a::10 $X6 ip6
}

# throughput AUTO: stock iperf3 from H to X for 10 s, its per-second throughput printed as
# it comes; CE1's link to provider P1 goes down 4 s in.
throughput() {
	local auto=$1 server client
	for ns in "$h" "$x"; do
		ip netns exec "$ns" sysctl -q -w net.ipv4.sitemh_lf.auto="$auto"
	done
	ip netns exec "$x" timeout 30 iperf3 -s -1 -B $X1 -p 5201 >/dev/null 2>&1 &
	server=$!
	sleep 0.5
	# (Read line by line in the shell: awk would hold the lines back in its input buffer.)
	ip netns exec "$h" timeout 16 iperf3 -c $X1 -B $H1 -p 5201 -t 10 -b 8M -i 1 --forceflush 2>&1 |
		while read -r _ _ span unit _ _ rate rate_unit rest; do
			[ "$unit" = sec ] && [[ $span == *-* ]] || continue
			[[ $rest == *sender* || $rest == *receiver* ]] && continue
			printf '  %11s s  %7s %s\n' "$span" "$rate" "$rate_unit"
		done &
	client=$!
	sleep 4
	printf '  ----------  CE1 link to provider P1 goes down  ----------\n'
	ip -n "$ce1" link set ce1-up down
	wait $client
	if [ "$auto" = 0 ]; then
		echo "  (iperf3 gave up: its connection is stuck on the dead provider's addresses)"
	fi
	kill $server 2>/dev/null
	wait $server 2>/dev/null
	restore_uplink
	busywait 10000 prints 0x0 down_mask "$h"
}

insmod "${SITEMH_KO:-$root/sitemh.ko}"
say "What sitemh is for: a site with two providers loses one in the middle of a transfer"
build_switchover_site && configure_sitemh || exit 1
echo "  H has an address from each provider (P1 via CE1, P2 via CE2); X is multihomed too."
echo "  H runs stock iperf3 to X (8 Mbit/s, nothing rewritten); 4 s in, P1's link fails."
say "With sitemh protecting every TCP connection (sysctl net.ipv4.sitemh_lf.auto=1 on H and X)"
throughput 1
echo "  -> the connection moved to the other provider within moments; iperf3 never noticed."
say "The same run without it (net.ipv4.sitemh_lf.auto=0)"
throughput 0
echo "  -> without sitemh the connection dies with the provider link."
run_cleanup

say "The site (draft section 2): H -- IR -- {CE1 -> provider P1, CE2 -> provider P2} -- X"
build_site || exit 1
echo "  H has one address per provider plus a private one; IR's default route is CE1."

say "Before configuring the IP domains: usual routing, everything leaves via CE1"
flows

say "Configure the IP domains on H and IR (IPCTL_NUM_DOMAINS / IPCTL_DOMAIN via sysctl)"
configure_site || exit 1
ip netns exec "$ir" sysctl net.ipv4.ip_num_domains net.ipv4.ip_domain.0 net.ipv4.ip_domain.1 \
	net.ipv4.ip_domain.2 net.ipv6.ip_domain.0.def_router | sed 's/^/  IR: /'

say "After: each flow leaves through the CE of its source address's domain"
flows

say "IR's counters (/proc/net/sitemh)"
ip netns exec "$ir" grep -v "^linkfail\|^hooks" /proc/net/sitemh | column -t | sed 's/^/  /'

tool=$root/selftests/sitemh_tool
say "Address-pair selection (draft 2.1, 2.1.1): H's client asks for its pairs to X"
for i in 0 1; do
	bw=$((i == 0 ? 100000 : 10000))
	ip netns exec "$h" sysctl -q -w net.ipv4.ip_domain.$i.path_bandwidth=$bw \
		net.ipv4.ip_domain.$i.hops=$((3 - i))
done
ip netns exec "$ce1" tc qdisc add dev ce1-up root netem delay 80ms
ip netns exec "$h" sysctl -q -w net.ipv4.ip_path_probe_ms=1500
echo "  P1: 100 Mbit/s, 3 hops, CE1's uplink delayed by 80 ms (netem); P2: 10 Mbit/s, 2 hops"
echo "  Probing on (ip_path_probe_ms=1500): latency = half the measured echo round trip."
ip netns exec "$h" "$tool" rank $X4 | sed 's/^/  default TOS: /'
ip netns exec "$h" "$tool" rank -t 0xb8 $X4 | sed 's/^/  DSCP EF:     /'
echo "  getsrcaddr (best effort) gives, best first: $(ip netns exec "$h" "$tool" srcaddr $X4 | tr '\n' ' ')"
ip netns exec "$ce1" tc qdisc del dev ce1-up root

say "A UDP server on H bound to 0.0.0.0; X sends to each of H's provider addresses"
for mode in plain draft; do
	ip netns exec "$h" "$tool" udp-server 7777 "$mode" &
	server=$!
	sleep 0.5
	for addr in 198.51.100.10 203.0.113.10; do
		printf '  %-33s X -> %-14s reply from %s\n' \
			"$([ $mode = draft ] && echo "recvwithdstaddr/sendwithsrcaddr:" || echo "recvfrom/sendto (plain):")" \
			"$addr" "$(ip netns exec "$x" "$tool" udp-client $X4 $addr 7777)"
	done
	kill $server
	wait $server 2>/dev/null
done

say "Link failure (draft 2.1.2): CE1 watches its uplink and tells the LAN"
ip netns exec "$ce1" sysctl -q -w net.ipv4.sitemh_ce.uplink=ce1-up \
	net.ipv4.sitemh_ce.pe_addr=192.0.2.2 net.ipv4.sitemh_ce.lan=ce1-b
echo "  IR's best source to X before: $(ip netns exec "$ir" "$tool" srcaddr $X4 | head -n 1)"
ip -n "$ce1" link set ce1-up down
sleep 1
echo "  ip link set ce1-up down on CE1 -> ICMP type 41 code 1 (PE 192.0.2.2) on LAN B"
ip netns exec "$ir" grep '^linkfail' /proc/net/sitemh | sed 's/^/  IR: /'
ip netns exec "$ir" "$tool" rank $X4 | sed 's/^/  IR ranks: /'
ip -n "$ce1" link set ce1-up up
sleep 1
echo "  ip link set ce1-up up -> code 5 (restored)"
ip netns exec "$ir" grep '^linkfail' /proc/net/sitemh | sed 's/^/  IR: /'

run_cleanup
rmmod sitemh
