#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The module loads, gives every network namespace its own sysctl tree, and unloads without
# leaving anything behind, also after many load/unload cycles and with namespaces around.

source "$(dirname "$0")/lib.sh"

knob_v4=/proc/sys/net/ipv4/ip_num_domains
knob_v6=/proc/sys/net/ipv6/ip_num_domains

test_load() {
	local rc=0
	unload_module
	insmod "$SITEMH_KO" || rc=1
	module_loaded || rc=1
	[ -d /sys/module/sitemh ] || rc=1
	log_test $rc "module loads"
}

test_sysctl_per_namespace() {
	local rc=0 ns1 ns2
	load_module || rc=1
	setup_ns ns1 ns2 || rc=1
	# Present in the initial namespace and in namespaces created before and after load.
	[ -e $knob_v4 ] && [ -e $knob_v6 ] || rc=1
	in_ns "$ns1" sysctl -q -w net.ipv4.ip_num_domains=3 || rc=1
	in_ns "$ns2" sysctl -q -w net.ipv4.ip_num_domains=5 || rc=1
	in_ns "$ns2" sysctl -q -w net.ipv6.ip_num_domains=7 || rc=1
	[ "$(in_ns "$ns1" sysctl -n net.ipv4.ip_num_domains)" = 3 ] || rc=1
	[ "$(in_ns "$ns2" sysctl -n net.ipv4.ip_num_domains)" = 5 ] || rc=1
	[ "$(in_ns "$ns1" sysctl -n net.ipv6.ip_num_domains)" = 0 ] || rc=1
	[ "$(in_ns "$ns2" sysctl -n net.ipv6.ip_num_domains)" = 7 ] || rc=1
	[ "$(sysctl -n net.ipv4.ip_num_domains)" = 0 ] || rc=1
	log_test $rc "sysctl tree is separate in two namespaces"
}

test_sysctl_in_new_namespace() {
	local rc=0 ns3
	load_module || rc=1
	setup_ns ns3 || rc=1
	[ "$(in_ns "$ns3" sysctl -n net.ipv4.ip_num_domains)" = 0 ] || rc=1
	log_test $rc "namespace created after load gets its own tree"
}

test_sysctl_range() {
	local rc=0 ns
	load_module || rc=1
	setup_ns ns || rc=1
	in_ns "$ns" sysctl -q -w net.ipv4.ip_num_domains=16 || rc=1
	# Out of range: refused, value unchanged.
	in_ns "$ns" sysctl -q -w net.ipv4.ip_num_domains=17 2>/dev/null && rc=1
	in_ns "$ns" sysctl -q -w net.ipv4.ip_num_domains=-1 2>/dev/null && rc=1
	[ "$(in_ns "$ns" sysctl -n net.ipv4.ip_num_domains)" = 16 ] || rc=1
	log_test $rc "ip_num_domains refuses values outside 0..16"
}

test_unload() {
	local rc=0
	load_module || rc=1
	rmmod sitemh || rc=1
	module_loaded && rc=1
	[ -e $knob_v4 ] && rc=1
	[ -e $knob_v6 ] && rc=1
	[ -d /sys/module/sitemh ] && rc=1
	log_test $rc "module unloads and removes its sysctl nodes"
}

test_reload_cycles() {
	local rc=0 i ns
	setup_ns ns || rc=1
	for i in $(seq 1 20); do
		insmod "$SITEMH_KO" || { rc=1; break; }
		in_ns "$ns" sysctl -q -w net.ipv4.ip_num_domains=$((i % 17)) || rc=1
		rmmod sitemh || { rc=1; break; }
	done
	module_loaded && rc=1
	in_ns "$ns" test -e $knob_v4 && rc=1
	# A fresh load starts from a clean state.
	insmod "$SITEMH_KO" || rc=1
	[ "$(in_ns "$ns" sysctl -n net.ipv4.ip_num_domains)" = 0 ] || rc=1
	rmmod sitemh || rc=1
	log_test $rc "20 load/unload cycles leave nothing behind"
}

test_icmp_type_parameter() {
	local rc=0
	unload_module || rc=1
	# The kernel's own ICMP types (0..18) would be swallowed: refused.
	check_fails EINVAL insmod "$SITEMH_KO" icmp_type=8 || rc=1
	check_fails 1 module_loaded || rc=1
	check insmod "$SITEMH_KO" icmp_type=200 || rc=1
	check sh -c 'dmesg | grep -q "link-failure messages as ICMP type 200"' || rc=1
	check rmmod sitemh || rc=1
	log_test $rc "icmp_type parameter: the kernel's own types refused, another taken"
}

test_namespace_deleted_while_loaded() {
	local rc=0 name
	load_module || rc=1
	name=gone-$(mktemp -u XXXXXX)
	ip netns add "$name" || rc=1
	in_ns "$name" sysctl -q -w net.ipv4.ip_num_domains=2 || rc=1
	ip netns del "$name" || rc=1
	unload_module || rc=1
	log_test $rc "namespace with state deleted while loaded"
}

# Issue 20 item 5: the per-namespace state is freed only a grace period after its hooks
# are unregistered, so that packets still inside a hook never see it freed. Floods in both
# directions through every hook (routing by source, translation, notices) while the module
# goes, three times, and while a namespace is deleted; the runner's kernel-log check
# (KASAN) then finds nothing.
test_unload_under_traffic() {
	local rc=0 a b round pids splats
	splats=$(dmesg | grep -cE 'KASAN|BUG:|general protection' || true)
	for round in 1 2 3; do
		load_module || { rc=1; break; }
		setup_ns a b || rc=1
		link "$a" a-b "$b" b-a
		ip -n "$a" addr add 10.70.0.1/24 dev a-b
		ip -n "$b" addr add 10.70.0.2/24 dev b-a
		ip -n "$a" route add default via 10.70.0.2
		in_ns "$a" sysctl -q -w net.ipv4.ip_num_domains=1 \
			net.ipv4.ip_domain.0.net_mask=/24 net.ipv4.ip_domain.0.net_addr=10.70.0.0 \
			net.ipv4.ip_domain.0.def_router=10.70.0.2 \
			net.ipv4.sitemh_home.correspondent=1 net.ipv4.sitemh_home.careof_addr=10.70.0.1 || rc=1
		in_ns "$b" sysctl -q -w net.ipv4.sitemh_home.correspondent=1 || rc=1
		pids=""
		ip netns exec "$a" ping -q -f -w 4 10.70.0.2 >/dev/null 2>&1 &
		pids="$pids $!"
		ip netns exec "$b" ping -q -f -w 4 10.70.0.1 >/dev/null 2>&1 &
		pids="$pids $!"
		ip netns exec "$a" ping -q -f -w 4 198.18.0.1 >/dev/null 2>&1 &
		pids="$pids $!"
		nap 1
		if [ "$round" = 3 ]; then
			# A namespace goes while its hooks see traffic; then the module.
			ip netns del "$b" || rc=1
			nap 0.5
		fi
		rmmod sitemh || rc=1
		# shellcheck disable=SC2086
		wait $pids
		run_cleanup
	done
	check [ "$(dmesg | grep -cE 'KASAN|BUG:|general protection' || true)" -eq "$splats" ] || rc=1
	log_test $rc "unloading and deleting namespaces under traffic (hooks withdrawn a grace period before the state goes)"
}

# hooks_are NS NAMES: the "hooks" line of /proc/net/sitemh (what the module registered)
# must list exactly NAMES.
hooks_are() {
	local got
	got=$(in_ns "$1" awk '$1 == "hooks" { $1 = ""; print substr($0, 2) }' /proc/net/sitemh)
	[ "$got" = "$2" ] && return 0
	echo "# hooks: '$got', not '$2'"
	return 1
}

test_hooks_where_needed() {
	local rc=0 ns
	load_module || rc=1
	setup_ns ns || rc=1
	check hooks_are "$ns" "-" || rc=1
	in_ns "$ns" sysctl -q -w net.ipv4.ip_num_domains=1 net.ipv4.ip_domain.0.net_mask=/24 \
		net.ipv4.ip_domain.0.net_addr=10.1.0.0 || rc=1
	# IPv4 domains: routing on the way out and through, notices on the way in; the
	# translation of moved connections (prerouting, a second output hook) waits for them.
	check hooks_are "$ns" "ip:output ip:forward ip:input" || rc=1
	in_ns "$ns" sysctl -q -w net.ipv6.ip_num_domains=1 net.ipv6.ip_domain.0.net_mask=/64 \
		net.ipv6.ip_domain.0.net_addr=2001:db8:1:: net.ipv4.ip_num_domains=0 || rc=1
	check hooks_are "$ns" "ip:input ip6:output ip6:forward ip6:input" || rc=1
	in_ns "$ns" sysctl -q -w net.ipv6.ip_num_domains=0 || rc=1
	check hooks_are "$ns" "-" || rc=1
	run_cleanup
	log_test $rc "packet hooks registered only where a configured feature needs them"
}

run_case test_load
run_case test_hooks_where_needed
run_case test_sysctl_per_namespace
run_case test_sysctl_in_new_namespace
run_case test_sysctl_range
run_case test_unload
run_case test_reload_cycles
run_case test_icmp_type_parameter
run_case test_namespace_deleted_while_loaded
run_case test_unload_under_traffic
unload_module
exit $ret
