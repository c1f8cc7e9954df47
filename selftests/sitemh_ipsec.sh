#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Source-domain routing never takes a packet out of its IPsec tunnel (issue 20, item 4;
# sitemh_reroute_scope.sh covers VRFs, bound devices, marks and uid rules).
#
# On the site of site.sh (H -- IR -- {CE1, CE2} -- {PE1, PE2} -- X), with
# the domains configured on H and IR. Two ESP tunnels (rfc4106(gcm(aes)), tunnel mode)
# end at X's 192.0.2.14:
#   - H's own: 203.0.113.10 <-> 192.0.2.200, from H's 203.0.113.10 (LOCAL_OUT on H);
#   - IR's, a site-to-site gateway: H's 198.51.100.10 <-> 192.0.2.200, from IR's
#     203.0.113.131 (FORWARD on IR).
# The inner packets' sources are in the domains, so a plain reroute would send them to the
# domain's CE in clear. Captures on the providers' CE-facing ports (tcpdump on PE1 and
# PE2) must show ESP only, and the ESP must still leave through the CE of its outer
# source (CE2, the router of 203.0.113.0/24).

source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/site.sh"

KEY=0x0123456789abcdef0123456789abcdef01234567
X_EP=192.0.2.14

# tunnel NS_A EP_A NET_A NS_B EP_B NET_B SPI REQID FWD: a tunnel between NET_A behind EP_A
# and NET_B behind EP_B (two SAs, SPI and SPI+1, on both ends); with FWD=fwd, NET_A is
# not on NS_A, which forwards for it.
tunnel() {
	local na=$1 ea=$2 a=$3 nb=$4 eb=$5 b=$6 spi=$7 reqid=$8 fwd=${9:-in} ns
	local sa="proto esp reqid $reqid mode tunnel aead rfc4106(gcm(aes)) $KEY 128"
	local tmpl="proto esp reqid $reqid mode tunnel"
	for ns in "$na" "$nb"; do
		ip -n "$ns" -batch - <<-EOB || return 1
		xfrm state add src $ea dst $eb spi $spi $sa
		xfrm state add src $eb dst $ea spi $((spi + 1)) $sa
		EOB
	done
	ip -n "$na" -batch - <<-EOB || return 1
	xfrm policy add src $a dst $b dir out tmpl src $ea dst $eb $tmpl
	xfrm policy add src $b dst $a dir $fwd tmpl src $eb dst $ea $tmpl
	EOB
	ip -n "$nb" -batch - <<-EOB
	xfrm policy add src $b dst $a dir out tmpl src $eb dst $ea $tmpl
	xfrm policy add src $a dst $b dir in tmpl src $ea dst $eb $tmpl
	EOB
}

capdir=$(mktemp -d)
defer rm -rf "$capdir"
declare -a capture_pids=()

# capture_start NS:DEV...: tcpdump on each DEV into $capdir/DEV.pcap; all are ready when it
# returns.
capture_start() {
	local at ns dev
	for at in "$@"; do
		ns=${at%%:*} dev=${at#*:}
		ip netns exec "$ns" tcpdump -Z root -i "$dev" -n -U -s 0 -w "$capdir/$dev.pcap" \
			2>"$capdir/$dev.log" &
		capture_pids+=($!)
		defer kill $! 2>/dev/null
	done
	for at in "$@"; do
		busywait 60000 grep -q "listening on" "$capdir/${at#*:}.log" || return 1
	done
}

# capture_stop: stop the captures (the packets written so far stay).
capture_stop() {
	local pid
	for pid in "${capture_pids[@]}"; do
		kill -INT "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	capture_pids=()
}

# captured DEV FILTER: how many captured packets on DEV match the pcap-filter FILTER.
captured() {
	tcpdump -r "$capdir/$1.pcap" -n "$2" 2>/dev/null | wc -l
}

# esp_at_least DEV N FILTER: whether DEV's capture holds N ESP packets matching FILTER yet.
esp_at_least() {
	[ "$(captured "$1" "esp and $3")" -ge "$2" ]
}

# tunnelled SRC: ping X's 192.0.2.200 from H's SRC, and send it one datagram whose payload
# a capture would show in clear.
tunnelled() {
	local src=$1
	check in_ns "$h" ping -q -c 3 -i 0.2 -W 2 -I "$src" $X4 >/dev/null || return 1
	echo "sitemh-secret-payload" | in_ns "$h" socat -u - UDP4-SENDTO:$X4:9,bind="$src"
}

# encrypted_only NAME INNER OUTER: what PE1 and PE2 captured of the flow from H's INNER:
# no clear IPv4 packet to or from INNER, and its tunnel's ESP (outer end OUTER) crossed
# PE2 only: it is still routed by its outer source, in 203.0.113.0/24.
encrypted_only() {
	local name=$1 inner=$2 outer=$3 rc=0 clear1 clear2 esp1 esp2
	clear1=$(captured pe1-ce "ip and not esp and host $inner")
	clear2=$(captured pe2-ce "ip and not esp and host $inner")
	esp1=$(captured pe1-ce "esp and host $outer")
	esp2=$(captured pe2-ce "esp and host $outer")
	echo "# $name: clear IPv4 at PE1 $clear1, at PE2 $clear2; ESP at PE1 $esp1, at PE2 $esp2"
	check [ "$clear1" -eq 0 ] || rc=1
	check [ "$clear2" -eq 0 ] || rc=1
	# 3 requests, 3 replies, the datagram.
	check [ "$esp2" -ge 7 ] || rc=1
	check [ "$esp1" -eq 0 ] || rc=1
	if [ $rc -ne 0 ]; then
		tcpdump -r "$capdir/pe1-ce.pcap" -n "ip and not esp and host $inner" 2>/dev/null |
			head -n 3 | sed 's/^/# PE1: /'
		tcpdump -r "$capdir/pe2-ce.pcap" -n "ip and not esp and host $inner" 2>/dev/null |
			head -n 3 | sed 's/^/# PE2: /'
	fi
	return $rc
}

test_ipsec() {
	local rc=0 rc_local=0 rc_forward=0
	# H's own tunnel (LOCAL_OUT on H) and IR's for H's 198.51.100.10 (FORWARD on IR).
	check tunnel "$h" 203.0.113.10 203.0.113.10/32 "$x" $X_EP $X4/32 0x1000 1 || rc=1
	check tunnel "$ir" 203.0.113.131 198.51.100.10/32 "$x" $X_EP $X4/32 0x2000 2 fwd || rc=1
	check capture_start "$pe1:pe1-ce" "$pe2:pe2-ce" || rc=1
	tunnelled 203.0.113.10 || rc_local=1
	tunnelled 198.51.100.10 || rc_forward=1
	# Wait for the datagrams' ESP to reach PE2; a clear packet only makes this time out.
	busywait 5000 esp_at_least pe2-ce 7 "host 203.0.113.131"
	capture_stop
	encrypted_only LOCAL_OUT 203.0.113.10 203.0.113.10 || rc_local=1
	encrypted_only FORWARD 198.51.100.10 203.0.113.131 || rc_forward=1
	for f in pe1-ce pe2-ce; do
		check_fails 1 grep -q sitemh-secret-payload "$capdir/$f.pcap" || rc=1
	done
	if [ $((rc | rc_local | rc_forward)) -ne 0 ]; then
		in_ns "$h" head -n 4 /proc/net/sitemh | sed 's/^/# H: /'
		in_ns "$ir" head -n 4 /proc/net/sitemh | sed 's/^/# IR: /'
	fi
	log_test $((rc | rc_local)) "IPsec LOCAL_OUT: H's tunnelled flow crosses providers as ESP only"
	log_test $((rc | rc_forward)) "IPsec FORWARD: IR's site-to-site tunnel crosses them as ESP only"
}

for tool in tcpdump socat nft; do
	command -v $tool >/dev/null || { log_test 1 "$tool is installed"; exit $ksft_fail; }
done
load_module || { log_test 1 "module loads"; exit $ksft_fail; }
if ! build_site || ! configure_site; then
	log_test 1 "build and configure the site"
	exit $ksft_fail
fi
run_case test_ipsec
run_cleanup
unload_module
exit $ret
