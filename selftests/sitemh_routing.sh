#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Source-domain routing on a multihomed site (draft sections 2, 2.3.3 and 2.4).
#
# The site is built by site.sh (see its header): H -- IR -- {CE1, CE2} -- {PE1, PE2} -- X.
# Which CE a packet left through is read from nftables counters on the CEs' uplinks.

source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/site.sh"

# sends_via NS SRC DST FAMILY DOMAIN CE: ping DST from SRC and check that the packets left
# the site through CE (and not through the other one).
sends_via() {
	local ns=$1 src=$2 dst=$3 fam=$4 dom=$5 ce=$6 other
	local b1 b2 a1 a2 want=3
	[ "$ce" = "$ce1" ] && other=$ce2 || other=$ce1
	b1=$(uplink_count "$ce" "$dom" "$fam")
	b2=$(uplink_count "$other" "$dom" "$fam")
	in_ns "$ns" ping -q -c $want -i 0.2 -W 2 -I "$src" "$dst" >/dev/null 2>&1 || return 1
	a1=$(uplink_count "$ce" "$dom" "$fam")
	a2=$(uplink_count "$other" "$dom" "$fam")
	[ $((a1 - b1)) -ge $want ] && [ "$a2" -eq "$b2" ]
}

test_before_configuration() {
	local rc=0
	# Without domains, everything leaves through CE1, IR's default.
	check sends_via "$h" 203.0.113.10 $X4 ip p2 "$ce1" || rc=1
	check sends_via "$ir" 203.0.113.131 $X4 ip p2 "$ce1" || rc=1
	log_test $rc "without domains: usual routing (P2 traffic leaves via CE1)"
}

test_output_path_v4() {
	local rc=0
	check sends_via "$ir" 198.51.100.131 $X4 ip p1 "$ce1" || rc=1
	check sends_via "$ir" 203.0.113.131 $X4 ip p2 "$ce2" || rc=1
	log_test $rc "LOCAL_OUT IPv4: IR's own packets leave by the CE of their source"
}

test_forward_path_v4() {
	local rc=0
	check sends_via "$h" 198.51.100.10 $X4 ip p1 "$ce1" || rc=1
	check sends_via "$h" 203.0.113.10 $X4 ip p2 "$ce2" || rc=1
	log_test $rc "LOCAL_OUT+FORWARD IPv4: H's packets leave by the CE of their source"
}

test_inside_routed_usually() {
	local rc=0 b4 b6
	# CE2's addresses are inside the domains: reached directly, never through CE1.
	b4=$(from_lan_a "$ce1" ip)
	b6=$(from_lan_a "$ce1" ip6)
	check in_ns "$h" ping -q -c 3 -i 0.2 -W 2 -I 198.51.100.10 198.51.100.130 || rc=1
	check in_ns "$h" ping -q -c 3 -i 0.2 -W 2 -I 2001:db8:1:a::10 2001:db8:2:b::c2 || rc=1
	check [ "$(from_lan_a "$ce1" ip)" -eq "$b4" ] || rc=1
	check [ "$(from_lan_a "$ce1" ip6)" -eq "$b6" ] || rc=1
	log_test $rc "destinations inside the domains are routed usually"
}

test_private_confined() {
	local rc=0 out confined
	# H refuses to send: the sender gets an error, not silence.
	out=$(echo x | in_ns "$h" socat -u - UDP4-SENDTO:$X4:9,bind=10.99.1.10 2>&1) && rc=1
	echo "$out" | grep -q "No route to host" || {
		echo "# socat said: $out"
		in_ns "$h" cat /proc/net/sitemh | sed 's/^/# H: /'
		rc=1
	}
	# IR drops what a host without the table forwards to it, and counts it: the two pings
	# add two to its private domain's "confined" (field 6).
	check in_ns "$h" sysctl -q -w net.ipv4.ip_num_domains=2 || rc=1
	confined=$(in_ns "$ir" awk '$1 == "ipv4" && $2 == 2 { print $6 }' /proc/net/sitemh)
	check [ -n "$confined" ] || rc=1
	check_fails 1 in_ns "$h" ping -q -c 2 -i 0.2 -W 1 -I 10.99.1.10 $X4 || rc=1
	check [ "$(uplink_count "$ce1" private ip)" -eq 0 ] || rc=1
	check [ "$(uplink_count "$ce2" private ip)" -eq 0 ] || rc=1
	in_ns "$ir" awk -v c="${confined:-0}" '$1 == "ipv4" && $2 == 2 && $6 >= c + 2 { ok = 1 } END { exit !ok }' \
		/proc/net/sitemh || { echo "# confined before: $confined"; in_ns "$ir" cat /proc/net/sitemh | sed 's/^/# /'; rc=1; }
	domains "$h" ipv4 "198.51.100.0 /24 198.51.100.129" "203.0.113.0 /24 203.0.113.130" \
		"10.99.0.0 /16 0.0.0.0" || rc=1
	log_test $rc "a private source cannot leave the site (sender error, IR counts drops)"
}

test_paths_v6() {
	local rc=0 out
	check sends_via "$h" 2001:db8:1:a::10 $X6 ip6 p1 "$ce1" || rc=1
	check sends_via "$h" 2001:db8:2:a::10 $X6 ip6 p2 "$ce2" || rc=1
	check sends_via "$ir" 2001:db8:2:b::1 $X6 ip6 p2 "$ce2" || rc=1
	out=$(echo x | in_ns "$h" socat -u - "UDP6-SENDTO:[$X6]:9,bind=[fd00:99:0:a::10]" 2>&1)
	echo "$out" | grep -q "No route to host" || { echo "# socat said: $out"; rc=1; }
	log_test $rc "IPv6: by source domain, link-local CE routers, private confined"
}

test_counters_visible() {
	local rc=0
	in_ns "$ir" head -n 1 /proc/net/sitemh | grep -q "^family domain prefix router rerouted" || rc=1
	check in_ns "$ir" grep -q "^ipv4 1 203.0.113.0/24 203.0.113.130 [1-9]" /proc/net/sitemh || rc=1
	check in_ns "$ir" grep -q "^ipv6 0 2001:db8:1::/48 fe80::c1 [1-9]" /proc/net/sitemh || rc=1
	log_test $rc "per-domain counters in /proc/net/sitemh"
}

load_module || { log_test 1 "module loads"; exit $ksft_fail; }
if ! build_site; then
	log_test 1 "build the site topology"
	exit $ksft_fail
fi
run_case test_before_configuration
if ! configure_site; then
	log_test 1 "configure the domains"
	exit $ksft_fail
fi
run_case test_output_path_v4
run_case test_forward_path_v4
run_case test_inside_routed_usually
run_case test_private_confined
run_case test_paths_v6
run_case test_counters_visible
run_cleanup
unload_module
exit $ret
