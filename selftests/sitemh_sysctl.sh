#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The domain sysctl contract: node creation and removal by ip_num_domains, value formats,
# and a table of invalid writes, each with its errno and an unchanged table.

source "$(dirname "$0")/lib.sh"

# write NS KEY VALUE: write VALUE to /proc/sys/KEY in NS; prints the error text, if any.
write() {
	local path=/proc/sys/${2//.//}
	in_ns "$1" bash -c 'printf "%s\n" "$2" > "$1"' _ "$path" "$3" 2>&1 |
		sed -n 's/.*: \([A-Z][a-zA-Z ]*\)$/\1/p'
}

test_nodes_follow_count() {
	local rc=0 ns
	setup_ns ns || rc=1
	[ -z "$(write "$ns" net.ipv4.ip_num_domains 3)" ] || rc=1
	for i in 0 1 2; do
		for f in net_addr net_mask def_router; do
			in_ns "$ns" test -e /proc/sys/net/ipv4/ip_domain/$i/$f || rc=1
		done
	done
	in_ns "$ns" test -e /proc/sys/net/ipv4/ip_domain/3 && rc=1
	[ -z "$(write "$ns" net.ipv4.ip_domain.2.net_addr 192.0.2.0)" ] || rc=1
	[ -z "$(write "$ns" net.ipv4.ip_num_domains 1)" ] || rc=1
	in_ns "$ns" test -e /proc/sys/net/ipv4/ip_domain/1 && rc=1
	# Raising the count again brings back empty (forgotten) domains.
	[ -z "$(write "$ns" net.ipv4.ip_num_domains 3)" ] || rc=1
	[ -z "$(in_ns "$ns" cat /proc/sys/net/ipv4/ip_domain/2/net_addr)" ] || rc=1
	[ "$(in_ns "$ns" cat /proc/sys/net/ipv4/ip_domain/2/net_mask)" = 255.255.255.255 ] || rc=1
	[ -z "$(write "$ns" net.ipv4.ip_num_domains 16)" ] || rc=1
	in_ns "$ns" test -e /proc/sys/net/ipv4/ip_domain/15/def_router || rc=1
	[ -z "$(write "$ns" net.ipv4.ip_num_domains 0)" ] || rc=1
	in_ns "$ns" test -e /proc/sys/net/ipv4/ip_domain/0 && rc=1
	log_test $rc "ip_num_domains=N makes exactly ip_domain.0..N-1 exist"
}

test_value_formats() {
	local rc=0 ns
	setup_ns ns || rc=1
	ip link add sm0 netns "$ns" type dummy
	ip -n "$ns" link set sm0 up
	write "$ns" net.ipv4.ip_num_domains 2 >/dev/null
	# Mask as /N reads back dotted; either order of address and mask works.
	[ -z "$(write "$ns" net.ipv4.ip_domain.0.net_mask /24)" ] || rc=1
	[ -z "$(write "$ns" net.ipv4.ip_domain.0.net_addr 198.51.100.0)" ] || rc=1
	[ -z "$(write "$ns" net.ipv4.ip_domain.1.net_addr 203.0.113.0)" ] || rc=1
	[ -z "$(write "$ns" net.ipv4.ip_domain.1.net_mask 255.255.255.0)" ] || rc=1
	[ -z "$(write "$ns" net.ipv4.ip_domain.0.def_router 198.51.100.1)" ] || rc=1
	[ "$(in_ns "$ns" sysctl -n net.ipv4.ip_domain.0.net_mask)" = 255.255.255.0 ] || rc=1
	[ "$(in_ns "$ns" sysctl -n net.ipv4.ip_domain.1.net_addr)" = 203.0.113.0 ] || rc=1
	[ "$(in_ns "$ns" sysctl -n net.ipv4.ip_domain.0.def_router)" = 198.51.100.1 ] || rc=1
	# The draft's NULL router: a private domain.
	[ "$(in_ns "$ns" sysctl -n net.ipv4.ip_domain.1.def_router)" = 0.0.0.0 ] || rc=1
	# IPv6, with a link-local router on an interface.
	write "$ns" net.ipv6.ip_num_domains 1 >/dev/null
	[ -z "$(write "$ns" net.ipv6.ip_domain.0.net_mask /48)" ] || rc=1
	[ -z "$(write "$ns" net.ipv6.ip_domain.0.net_addr 2001:DB8:1:0::)" ] || rc=1
	[ -z "$(write "$ns" net.ipv6.ip_domain.0.def_router fe80::1%sm0)" ] || rc=1
	[ "$(in_ns "$ns" sysctl -n net.ipv6.ip_domain.0.net_addr)" = 2001:db8:1:: ] || rc=1
	[ "$(in_ns "$ns" sysctl -n net.ipv6.ip_domain.0.net_mask)" = ffff:ffff:ffff:: ] || rc=1
	[ "$(in_ns "$ns" sysctl -n net.ipv6.ip_domain.0.def_router)" = fe80::1%sm0 ] || rc=1
	in_ns "$ns" grep -qx "ipv4 0 198.51.100.0/24 198.51.100.1 0 0 0 0" /proc/net/sitemh || rc=1
	in_ns "$ns" grep -qx "ipv4 1 203.0.113.0/24 private 0 0 0 0" /proc/net/sitemh || rc=1
	in_ns "$ns" grep -qx "ipv6 0 2001:db8:1::/48 fe80::1 0 0 0 0" /proc/net/sitemh || rc=1
	log_test $rc "values: dotted and /N masks, private routers, IPv6 with %interface"
}

# Each line: KEY VALUE EXPECTED-ERROR (the text bash prints for the errno).
BAD_WRITES=$(cat <<'TABLE'
net.ipv4.ip_num_domains|17|Invalid argument
net.ipv4.ip_num_domains|-1|Invalid argument
net.ipv4.ip_num_domains|abc|Invalid argument
net.ipv4.ip_num_domains||Invalid argument
net.ipv4.ip_num_domains|02|Invalid argument
net.ipv4.ip_num_domains|1 2|Invalid argument
net.ipv4.ip_num_domains|99999999999|Invalid argument
net.ipv4.ip_domain.0.net_addr|198.51.100.7|Invalid argument
net.ipv4.ip_domain.0.net_addr|300.1.1.1|Invalid argument
net.ipv4.ip_domain.0.net_addr|1.2.3|Invalid argument
net.ipv4.ip_domain.0.net_addr|2001:db8::|Invalid argument
net.ipv4.ip_domain.0.net_addr|198.51.100.0/24|Invalid argument
net.ipv4.ip_domain.0.net_addr|0198.51.100.0|Invalid argument
net.ipv4.ip_domain.0.net_addr|AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA|Invalid argument
net.ipv4.ip_domain.0.net_mask|255.0.255.0|Invalid argument
net.ipv4.ip_domain.0.net_mask|/33|Invalid argument
net.ipv4.ip_domain.0.net_mask|/2x|Invalid argument
net.ipv4.ip_domain.0.net_mask|/16|Invalid argument
net.ipv4.ip_domain.0.def_router|1.2.3.256|Invalid argument
net.ipv4.ip_domain.0.def_router|fe80::1|Invalid argument
net.ipv6.ip_domain.0.net_addr|2001:db8:1::1|Invalid argument
net.ipv6.ip_domain.0.net_addr|2001:db8::1::|Invalid argument
net.ipv6.ip_domain.0.net_addr|192.0.2.1|Invalid argument
net.ipv6.ip_domain.0.net_mask|/129|Invalid argument
net.ipv6.ip_domain.0.net_mask|ffff::ffff|Invalid argument
net.ipv6.ip_domain.0.net_mask|/32|Invalid argument
net.ipv6.ip_domain.0.def_router|fe80::1|Invalid argument
net.ipv6.ip_domain.0.def_router|fe80::1%nosuchif|No such device
net.ipv6.ip_domain.0.def_router|2001:db8::1%|Invalid argument
net.ipv4.ip_domain_table|198.51.100.0/24 198.51.100.1,|Invalid argument
net.ipv4.ip_domain_table|198.51.100.0/24 198.51.100.1,,10.0.0.0/8|Invalid argument
net.ipv4.ip_domain_table|198.51.100.0 198.51.100.1|Invalid argument
net.ipv4.ip_domain_table|198.51.100.7/24 198.51.100.1|Invalid argument
net.ipv4.ip_domain_table|198.51.100.0/33|Invalid argument
net.ipv4.ip_domain_table|198.51.100.0/24 198.51.100.1 extra|Invalid argument
net.ipv4.ip_domain_table|198.51.100.0/24 198.51.100.1, 10.0.0.0/8 1.2.3.256|Invalid argument
net.ipv4.ip_domain_table|198.51.100.0/24 fe80::1|Invalid argument
net.ipv4.ip_domain_table|2001:db8::/32|Invalid argument
net.ipv4.ip_domain_table|10.0.0.0/8 private, 10.0.0.0/8 10.0.0.1|Invalid argument
net.ipv4.ip_domain_table|10.0.0.0/16, 10.1.0.0/16, 10.2.0.0/16, 10.3.0.0/16, 10.4.0.0/16, 10.5.0.0/16, 10.6.0.0/16, 10.7.0.0/16, 10.8.0.0/16, 10.9.0.0/16, 10.10.0.0/16, 10.11.0.0/16, 10.12.0.0/16, 10.13.0.0/16, 10.14.0.0/16, 10.15.0.0/16, 10.16.0.0/16|Invalid argument
net.ipv4.ip_domain_table|AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA|Invalid argument
net.ipv6.ip_domain_table|2001:db8:1::/48 fe80::1|Invalid argument
net.ipv6.ip_domain_table|2001:db8:1::/48 fe80::1%nosuchif|No such device
net.ipv6.ip_domain_table|2001:db8:1::1/48|Invalid argument
net.ipv6.ip_domain_table|198.51.100.0/24|Invalid argument
TABLE
)

# In the namespace, with shell builtins only (every process costs a good fraction of a
# second in the test VM): for each KEY|VALUE|WANT line on stdin, write VALUE and print a
# line for each way the outcome differs from WANT (the error text) or the tables changed.
bad_writes_in_ns() {
	local key value want got err before after n=0
	local errfile=/tmp/sitemh-sysctl-err.$$
	snapshot() {
		local f line
		for f in /proc/sys/net/ipv4/ip_num_domains /proc/sys/net/ipv6/ip_num_domains \
			/proc/sys/net/ipv[46]/ip_domain/*/* /proc/sys/net/ipv[46]/ip_domain_table \
			/proc/net/sitemh; do
			[ -r "$f" ] || continue
			printf '%s:' "$f"
			while IFS= read -r line; do printf ' %s' "$line"; done < "$f"
			printf '\n'
		done
	}
	before=$(snapshot)
	while IFS='|' read -r key value want; do
		n=$((n + 1))
		got=
		if ! printf '%s\n' "$value" 2>"$errfile" > "/proc/sys/${key//.//}"; then
			IFS= read -r err < "$errfile"
			got=${err##*: }
		fi
		[ "$got" = "$want" ] || echo "# $key = '$value': got '${got:-success}', want '$want'"
		after=$(snapshot)
		if [ "$after" != "$before" ]; then
			echo "# $key = '$value' changed the table"
			before=$after
		fi
	done
	rm -f "$errfile"
	echo "# $n invalid writes checked"
}

test_bad_writes() {
	local rc=0 ns out
	setup_ns ns || rc=1
	write "$ns" net.ipv4.ip_num_domains 1 >/dev/null
	write "$ns" net.ipv4.ip_domain.0.net_mask /24 >/dev/null
	write "$ns" net.ipv4.ip_domain.0.net_addr 198.51.100.0 >/dev/null
	write "$ns" net.ipv4.ip_domain.0.def_router 198.51.100.1 >/dev/null
	write "$ns" net.ipv6.ip_num_domains 1 >/dev/null
	write "$ns" net.ipv6.ip_domain.0.net_mask /48 >/dev/null
	write "$ns" net.ipv6.ip_domain.0.net_addr 2001:db8:1:: >/dev/null
	out=$(in_ns "$ns" bash -c "$(declare -f bad_writes_in_ns); bad_writes_in_ns" \
		<<< "$BAD_WRITES")
	echo "$out"
	# One line per failed check, then the count.
	[ "$(echo "$out" | grep -c "")" -eq 1 ] || rc=1
	[ "$out" = "# $(echo "$BAD_WRITES" | grep -c "") invalid writes checked" ] || rc=1
	log_test $rc "invalid writes fail with their errno and change nothing"
}

# ip_domain_table: the whole table in one write. Builtins in the namespace, as above.
table_in_ns() {
	local t=/proc/sys/net/ipv4/ip_domain_table t6=/proc/sys/net/ipv6/ip_domain_table
	local a="198.51.100.0/24 198.51.100.1, 203.0.113.0/24 203.0.113.1"
	local b="203.0.113.0/24 203.0.113.9, 198.51.100.0/24 198.51.100.1, 10.99.0.0/16 private"
	local line got i
	printf '%s\n' " 198.51.100.0/24 198.51.100.1 ,	203.0.113.0/24   203.0.113.1" > $t ||
		echo "# table A refused"
	read -r got < $t
	[ "$got" = "$a" ] || echo "# reads '$got'"
	read -r got < /proc/sys/net/ipv4/ip_num_domains
	[ "$got" = 2 ] || echo "# ip_num_domains $got after A"
	read -r got < /proc/sys/net/ipv4/ip_domain/1/def_router
	[ "$got" = 203.0.113.1 ] || echo "# ip_domain.1.def_router $got"
	# A network that stays in the table keeps its path attributes, at its new index too.
	printf '500\n' > /proc/sys/net/ipv4/ip_domain/1/latency
	printf '700\n' > /proc/sys/net/ipv4/ip_domain/0/latency
	printf '%s\n' "$b" > $t || echo "# table B refused"
	read -r got < $t
	[ "$got" = "$b" ] || echo "# reads '$got'"
	read -r got < /proc/sys/net/ipv4/ip_domain/1/latency
	[ "$got" = 700 ] || echo "# 198.51.100.0/24 (0 -> 1) latency $got, not 700"
	read -r got < /proc/sys/net/ipv4/ip_domain/0/latency
	[ "$got" = 500 ] || echo "# 203.0.113.0/24 (1 -> 0) latency $got, not 500"
	read -r got < /proc/sys/net/ipv4/ip_domain/2/latency
	[ "$got" = 0 ] || echo "# the new 10.99.0.0/16 has latency $got, not 0 (unknown)"
	got=
	while IFS= read -r line; do
		case $line in "ipv4 "*) got="$got|$line" ;; esac
	done < /proc/net/sitemh
	[ "$got" = "|ipv4 0 203.0.113.0/24 203.0.113.9 0 0 0 0|ipv4 1 198.51.100.0/24 198.51.100.1 0 0 0 0|ipv4 2 10.99.0.0/16 private 0 0 0 0" ] ||
		echo "# /proc/net/sitemh: $got"
	# IPv6, a link-local router with its interface, a private domain.
	printf '%s\n' "2001:db8:1::/48 fe80::1%sm0,2001:db8:2::/48 2001:db8:2::1, fd00::/8" > $t6 ||
		echo "# IPv6 table refused"
	read -r got < $t6
	[ "$got" = "2001:db8:1::/48 fe80::1%sm0, 2001:db8:2::/48 2001:db8:2::1, fd00::/8 private" ] ||
		echo "# IPv6 reads '$got'"
	# Count, then a table with unwritten domains; then empty.
	printf '3\n' > /proc/sys/net/ipv4/ip_num_domains
	printf '4\n' > /proc/sys/net/ipv4/ip_num_domains
	read -r got < $t
	[ "$got" = "$b, -" ] || echo "# with an unwritten domain: '$got'"
	printf '\n' > $t || echo "# the empty table refused"
	read -r got < /proc/sys/net/ipv4/ip_num_domains
	[ "$got" = 0 ] || echo "# ip_num_domains $got after the empty table"
	[ -e /proc/sys/net/ipv4/ip_domain/0 ] && echo "# ip_domain.0 still there"
	# A reader never sees half of a change: 200 writes alternating two tables.
	(for i in $(seq 100); do printf '%s\n' "$a" > $t; printf '%s\n' "$b" > $t; done) &
	for i in $(seq 300); do
		read -r got < $t
		case $got in "$a" | "$b" | "") ;; *) echo "# a reader saw '$got'"; break ;; esac
	done
	wait
	echo "# table checks done"
}

test_domain_table() {
	local rc=0 ns out
	setup_ns ns || rc=1
	ip -n "$ns" link add sm0 type dummy && ip -n "$ns" link set sm0 up || rc=1
	out=$(in_ns "$ns" bash -c "$(declare -f table_in_ns); table_in_ns" 2>&1)
	echo "$out"
	[ "$out" = "# table checks done" ] || rc=1
	out=$(in_ns "$ns" setpriv --inh-caps=-net_admin --bounding-set=-net_admin \
		bash -c 'printf "10.0.0.0/8\n" > /proc/sys/net/ipv4/ip_domain_table' 2>&1)
	echo "$out" | grep -q "Operation not permitted" || { echo "# without CAP_NET_ADMIN: $out"; rc=1; }
	# The alternating writes left table B.
	[ "$(in_ns "$ns" sysctl -n net.ipv4.ip_num_domains)" = 3 ] || rc=1
	log_test $rc "ip_domain_table: a whole table in one write, read back, attributes kept, needs CAP_NET_ADMIN"
}

test_needs_net_admin() {
	local rc=0 ns out
	setup_ns ns || rc=1
	write "$ns" net.ipv4.ip_num_domains 1 >/dev/null
	out=$(in_ns "$ns" setpriv --inh-caps=-net_admin --bounding-set=-net_admin \
		bash -c 'printf "2\n" > /proc/sys/net/ipv4/ip_num_domains' 2>&1)
	echo "$out" | grep -q "Operation not permitted" || rc=1
	out=$(in_ns "$ns" setpriv --reuid=65534 --regid=65534 --clear-groups \
		bash -c 'printf "2\n" > /proc/sys/net/ipv4/ip_num_domains' 2>&1)
	echo "$out" | grep -q "Permission denied\|Operation not permitted" || rc=1
	[ "$(in_ns "$ns" sysctl -n net.ipv4.ip_num_domains)" = 1 ] || rc=1
	# Reading needs no privilege.
	in_ns "$ns" setpriv --reuid=65534 --regid=65534 --clear-groups \
		cat /proc/sys/net/ipv4/ip_num_domains >/dev/null || rc=1
	log_test $rc "only CAP_NET_ADMIN over the namespace may write"
}

test_sysctl_d_file() {
	local rc=0 ns conf
	setup_ns ns || rc=1
	conf=$(mktemp)
	cat > "$conf" <<-CONF
	net.ipv4.ip_num_domains = 2
	net.ipv4.ip_domain.0.net_mask = /24
	net.ipv4.ip_domain.0.net_addr = 198.51.100.0
	net.ipv4.ip_domain.0.def_router = 198.51.100.1
	net.ipv4.ip_domain.1.net_mask = /24
	net.ipv4.ip_domain.1.net_addr = 203.0.113.0
	net.ipv4.ip_domain.1.def_router = 203.0.113.1
	CONF
	in_ns "$ns" sysctl -q -p "$conf" || rc=1
	rm -f "$conf"
	in_ns "$ns" grep -q "^ipv4 1 203.0.113.0/24 203.0.113.1 " /proc/net/sitemh || rc=1
	log_test $rc "a sysctl.d-style file configures the domains at start-up"
}

load_module || { log_test 1 "module loads"; exit $ksft_fail; }
run_case test_nodes_follow_count
run_case test_value_formats
run_case test_bad_writes
run_case test_domain_table
run_case test_needs_net_admin
run_case test_sysctl_d_file
run_cleanup
unload_module
exit $ret
