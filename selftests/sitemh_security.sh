#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Regression tests of issue 20 (security hardening) on the site of site.sh, with H a mobile
# node away from home (home address 100.64.0.5, care-of 198.51.100.10) and X a
# correspondent outside. Each case is an attack that worked before the fix: forged stacked
# packets that taught bindings and rewrote sources (item 1), and an unprivileged sender
# whose IP options overflowed the kernel stack once stacked (item 3). No binding key is
# configured here: nothing below may depend on one.

source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/site.sh"
here=$(cd "$(dirname "$0")" && pwd)
app="python3 $here/sitemh_home.py"
tool=$here/sitemh_tool
HOME4=100.64.0.5
CAREOF=198.51.100.10
PORT=7412

# proc_field NS NAME [LINE]: a counter of the "home" (or LINE) line of /proc/net/sitemh.
proc_field() {
	proc_value "$1" "${3:-home}" "$2"
}

configure_mobile() {
	ip -n "$h" addr add $HOME4/32 dev lo
	in_ns "$h" sysctl -q -w net.ipv4.ip_home_addr=$HOME4 \
		net.ipv4.sitemh_home.careof_addr=$CAREOF || return 1
	in_ns "$x" sysctl -q -w net.ipv4.sitemh_home.correspondent=1 || return 1
	ip -n "$x" route add 100.64.0.0/24 via 192.0.2.13
}

# Issue 20 item 1: a stacked packet never teaches a binding, nor gives a socket a source
# it did not come from. An attacker next to X (PE1) claims a victim's address as its home.
test_forged_binding() {
	local rc=0 victim=100.66.0.9 attacker=192.0.2.9 refused restored
	refused=$(proc_field "$x" refused)
	restored=$(proc_field "$x" restored)
	in_ns "$pe1" $app send-stacked $attacker $X4 $victim >/dev/null || rc=1
	busywait 2000 prints $((refused + 1)) proc_field "$x" refused || rc=1
	echo "# X: refused $(proc_field "$x" refused) restored $(proc_field "$x" restored); binding of $victim: $(in_ns "$x" "$tool" careof $victim)"
	check [ "$(in_ns "$x" "$tool" careof $victim)" = - ] || rc=1
	check [ "$(proc_field "$x" restored)" -eq "$restored" ] || rc=1
	# Nor does a host that is no correspondent at all, whose translation hooks are there
	# for another feature (H: away from home; the stacked packet names a victim as the
	# sender's home).
	refused=$(proc_field "$h" refused)
	in_ns "$x" $app send-stacked $X4 $CAREOF $victim >/dev/null || rc=1
	busywait 2000 prints $((refused + 1)) proc_field "$h" refused || rc=1
	check [ "$(in_ns "$h" "$tool" careof $victim)" = - ] || rc=1
	log_test $rc "a forged stacked packet teaches no binding and rewrites no source"
}

# Issue 20 item 3: an unprivileged process bound to the home address sends DF datagrams
# with record-route and timestamp options that fit the MTU only before stacking. Stacking
# them used to leave the kernel's compiled options stale, and icmp_send(FRAG_NEEDED)
# copied past its 40-octet buffer (a stack overflow with the payload's octets). A packet
# with options of its own is now not stacked (dropped and counted), and the host lives on.
test_options_not_stacked() {
	local rc=0 refused out
	refused=$(proc_field "$h" refused)
	out=$(in_ns "$h" setpriv --reuid 65534 --regid 65534 --clear-groups \
		$app send-with-options $HOME4 $X4 $PORT 1500 2>&1)
	echo "# unprivileged sender with IP options: $out"
	check [ "$out" = "error EOPNOTSUPP" ] || rc=1
	check [ "$(proc_field "$h" refused)" -gt "$refused" ] || rc=1
	# The same as root; and the host lives on: traffic from its care-of address flows.
	out=$(in_ns "$h" $app send-with-options $HOME4 $X4 $PORT 1500 2>&1)
	check [ "$out" = "error EOPNOTSUPP" ] || rc=1
	check in_ns "$h" ping -q -c 1 -W 5 -I $CAREOF $X4 >/dev/null || rc=1
	log_test $rc "IP options of the sender's own are not stacked (no stale compiled options)"
}

# Issue 20 item 10: stacked packets are restored at PRE_ROUTING -300, before conntrack and
# every filter chain at 0; an operator who takes stacked packets only from known care-of
# networks filters them in a chain of a lower priority (Documentation/security.md's example).
test_operator_firewall() {
	local rc=0 refused attacker=192.0.2.9
	refused=$(proc_field "$x" refused)
	in_ns "$x" nft -f - <<-NFT || rc=1
	table inet sitemh_guard {
		chain pre {
			type filter hook prerouting priority -400;
			ip hdrlength gt 5 @nh,160,8 0x90 ip saddr != $CAREOF counter drop
		}
	}
	NFT
	in_ns "$pe1" $app send-stacked $attacker $X4 100.66.0.9 >/dev/null || rc=1
	check busywait 3000 prints 1 nft_packets "$x" || rc=1
	check [ "$(proc_field "$x" refused)" -eq "$refused" ] || rc=1
	in_ns "$x" nft delete table inet sitemh_guard || rc=1
	# Without the chain the module sees (and refuses) the same packet.
	in_ns "$pe1" $app send-stacked $attacker $X4 100.66.0.9 >/dev/null || rc=1
	check busywait 3000 prints $((refused + 1)) proc_field "$x" refused || rc=1
	log_test $rc "an nftables chain below priority -300 filters stacked packets before the module"
}

nft_packets() { # NS: what sitemh_guard's counter rule counted
	in_ns "$1" nft list chain inet sitemh_guard pre |
		sed -n 's/.*counter packets \([0-9]*\) .*/\1/p'
}

load_module || { log_test 1 "module loads"; exit $ksft_fail; }
if ! build_site || ! configure_site || ! configure_mobile; then
	log_test 1 "build and configure the site"
	exit $ksft_fail
fi
run_case test_forged_binding
run_case test_options_not_stacked
run_case test_operator_firewall
exit $ret
