#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The IPv4 domain table from DHCP (Documentation/usage.md, "Domains from DHCP"): dnsmasq
# serves option 224, the real ISC dhclient and dhclient-script run the shipped exit hook,
# and the hook writes net.ipv4.ip_domain_table of the client's namespace.
#
#   S (server)                              H (host; the table under test)
#   dnsmasq, option 224                     dhclient -1 -sf /sbin/dhclient-script
#   vs 192.0.2.1/24 ----------------------- vh (leased 192.0.2.10..20)
#
# dhclient-script runs every hook in /etc/dhcp/dhclient-exit-hooks.d (the guest sees the
# host's root file system): the script runs in a mount namespace of its own in which the
# hook directories hold our hook only, and /run/sitemh (the hook's state) is a scratch
# tmpfs, so nothing of the host's runs and nothing is left behind.

if [ -z "${SITEMH_DHCP_NS:-}" ]; then
	export SITEMH_DHCP_NS=1
	exec unshare --mount --propagation private "$0" "$@"
fi

source "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
defer rm -rf "$scratch"
table=/proc/sys/net/ipv4/ip_domain_table
state=/run/sitemh

example_table="198.51.100.0/24 198.51.100.129, 203.0.113.0/24 203.0.113.130, 10.99.0.0/16 private"
before="10.1.0.0/16 10.1.0.1"

# Our hook alone in dhclient-script's hook places; the hook's state on a scratch tmpfs.
private_etc() {
	local d f
	mkdir -p "$scratch/exit-hooks.d" "$scratch/enter-hooks.d" || return 1
	cp "$root/etc/dhcp/dhclient-exit-hooks.d/sitemh" "$scratch/exit-hooks.d/" || return 1
	for d in exit enter; do
		[ -d "/etc/dhcp/dhclient-$d-hooks.d" ] || continue
		mount --bind "$scratch/$d-hooks.d" "/etc/dhcp/dhclient-$d-hooks.d" || return 1
		defer umount "/etc/dhcp/dhclient-$d-hooks.d"
	done
	for f in /etc/dhcp/dhclient-exit-hooks /etc/dhcp/dhclient-enter-hooks; do
		[ -e "$f" ] || continue
		mount --bind /dev/null "$f" || return 1
		defer umount "$f"
	done
	[ -d /etc/dhcp/dhclient-exit-hooks.d ] || { echo "# no /etc/dhcp/dhclient-exit-hooks.d"; return 1; }
	if [ ! -d $state ]; then
		mkdir $state || return 1
		defer rmdir $state
	fi
	mount -t tmpfs -o mode=0755 sitemh-dhcp $state || return 1
	defer umount $state
	# The client asks for the shipped configuration lines' option, and for nothing that
	# would make dhclient-script touch /etc/resolv.conf or ping a router.
	{
		echo "timeout 20;"
		echo "request subnet-mask, broadcast-address;"
		cat "$root/etc/dhcp/sitemh-dhclient.conf"
	} > "$scratch/dhclient.conf"
}

# start_dnsmasq CONF-LINE-FILE: dnsmasq in S with the option lines of the file, until the
# case ends.
start_dnsmasq() {
	local pid
	cat > "$scratch/dnsmasq.conf" <<-EOF
		port=0
		interface=vs
		bind-interfaces
		no-resolv
		no-hosts
		user=root
		dhcp-range=192.0.2.10,192.0.2.20,255.255.255.0,1h
		dhcp-authoritative
		no-ping
		dhcp-leasefile=$scratch/dnsmasq.leases
		log-facility=$scratch/dnsmasq.log
		conf-file=$1
	EOF
	ip netns exec "$S" dnsmasq --keep-in-foreground --conf-file="$scratch/dnsmasq.conf" &
	pid=$!
	defer kill "$pid"
	busywait 10000 listening "$S" 67 udp
}

# dhcp ARGS...: dhclient in H (-1: one try, in the foreground until bound), its output in
# $out; the daemon it leaves is stopped at the end of the case.
dhcp() {
	out=$(ip netns exec "$H" dhclient -v -sf /sbin/dhclient-script -cf "$scratch/dhclient.conf" \
		-lf "$scratch/leases" -pf "$scratch/dhclient.pid" "$@" vh 2>&1)
}

# stop_dhclient: the daemon a lease left, if it still runs (dhclient -r stops it too).
stop_dhclient() {
	local pid
	pid=$(cat "$scratch/dhclient.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	rm -f "$scratch/dhclient.pid"
}

lease() {
	stop_dhclient
	rm -f "$scratch/leases"
	dhcp -1
}

release() {
	dhcp -r
}

# The hook's lines (and only its lines) in dhclient's output.
said() { # GLOB
	local l
	while IFS= read -r l; do
		# shellcheck disable=SC2053
		[[ $l == $1 ]] && return 0
	done <<< "$out"
	echo "# not said: $1"
	printf '#   %s\n' "${out//$'\n'/$'\n'#   }" | grep 'sitemh\|DHCP\|bound'
	return 1
}

set_table() { # TEXT
	ip netns exec "$H" sh -c 'printf "%s\n" "$1" > '$table _ "$1"
}

table_is() { # TEXT
	local got
	got=$(ip netns exec "$H" cat $table)
	[ "$got" = "$1" ] && return 0
	echo "# table '$got', want '$1'"
	return 1
}

state_files() { # COUNT
	local n
	n=$(ls $state | wc -l)
	[ "$n" -eq "$1" ] || { echo "# state files: $(ls $state)"; return 1; }
}

# The example's domains, node by node, and as /proc/net/sitemh lists them.
example_nodes() {
	local got want
	got=$(ip netns exec "$H" sh -c 'cd /proc/sys/net/ipv4 && cat ip_num_domains \
		ip_domain/0/net_addr ip_domain/0/net_mask ip_domain/0/def_router \
		ip_domain/1/net_addr ip_domain/1/net_mask ip_domain/1/def_router \
		ip_domain/2/net_addr ip_domain/2/net_mask ip_domain/2/def_router; grep "^ipv4 [0-9]" /proc/net/sitemh' |
		sed -E 's/^(ipv4 [0-9]+ [^ ]+ [^ ]+) .*/\1/' | tr '\n' ' ')
	want="3 198.51.100.0 255.255.255.0 198.51.100.129 203.0.113.0 255.255.255.0 203.0.113.130"
	want="$want 10.99.0.0 255.255.0.0 0.0.0.0 ipv4 0 198.51.100.0/24 198.51.100.129"
	want="$want ipv4 1 203.0.113.0/24 203.0.113.130 ipv4 2 10.99.0.0/16 private "
	[ "$got" = "$want" ] && return 0
	echo "# nodes: $got"
	echo "# want:  $want"
	return 1
}

# The shipped dnsmasq example reaches the table whole; the table before it is saved.
test_lease_applies() {
	local rc=0
	check set_table "$before" || rc=1
	check start_dnsmasq "$root/etc/dnsmasq.d/sitemh.conf" || rc=1
	lease
	check [ $? -eq 0 ] || rc=1
	check said "sitemh: dhcp vh: domain table from option 224: $example_table" || rc=1
	check table_is "$example_table" || rc=1
	check example_nodes || rc=1
	check [ "$(< $state/dhcp-vh.saved)" = "$before" ] || rc=1
	check [ "$(< $state/dhcp-vh.applied)" = "$example_table" ] || rc=1
	log_test $rc "a lease with the dnsmasq example applies its table"
}

# dhclient -r: the table before the lease comes back, the state goes.
test_release_restores() {
	local rc=0
	release
	check [ $? -eq 0 ] || rc=1
	check said "sitemh: dhcp vh: lease RELEASE: domain table restored: $before" || rc=1
	check table_is "$before" || rc=1
	check [ "$(ip netns exec "$H" cat /proc/sys/net/ipv4/ip_num_domains)" = 1 ] || rc=1
	check state_files 0 || rc=1
	log_test $rc "releasing the lease restores the table before it"
}

# Host bits in the option (198.51.101.0/23): refused with a line, nothing changes; the
# lease itself still works.
test_bad_option_refused() {
	local rc=0
	echo "dhcp-option=224,17:c6:33:65:c6:33:64:81" > "$scratch/bad.conf"
	check start_dnsmasq "$scratch/bad.conf" || rc=1
	lease
	check [ $? -eq 0 ] || rc=1
	check said "sitemh: dhcp vh: option 224 refused: domain 1: host bits set in 198.51.101.0/23: domain table unchanged" || rc=1
	check table_is "$before" || rc=1
	check state_files 0 || rc=1
	check [ -n "$(ip -n "$H" -4 addr show dev vh)" ] || rc=1
	release
	check table_is "$before" || rc=1
	[[ $out != *sitemh* ]] || { echo "# release said: $out"; rc=1; }
	log_test $rc "a bad option is refused with a log line, the table unchanged"
}

# The generator's line; an operator's table written during the lease stays after it.
test_operator_change_left_alone() {
	local rc=0 operator="10.2.0.0/16 private"
	"$root/scripts/sitemh-dhcp-option" 198.51.100.0/24=198.51.100.129 10.99.0.0/16=private \
		> "$scratch/gen.conf"
	check start_dnsmasq "$scratch/gen.conf" || rc=1
	lease
	check table_is "198.51.100.0/24 198.51.100.129, 10.99.0.0/16 private" || rc=1
	check set_table "$operator" || rc=1
	release
	check said "sitemh: dhcp vh: lease RELEASE, but the domain table was changed since the lease applied it: left alone" || rc=1
	check table_is "$operator" || rc=1
	check state_files 0 || rc=1
	log_test $rc "an operator's change during the lease is left alone at its end"
}

# Without the module the hook says so and does nothing; the lease works.
test_no_module() {
	local rc=0
	unload_module
	check start_dnsmasq "$root/etc/dnsmasq.d/sitemh.conf" || rc=1
	lease
	check [ $? -eq 0 ] || rc=1
	check said "sitemh: dhcp vh: no $table (sitemh module not loaded): option 224 ignored" || rc=1
	check state_files 0 || rc=1
	release
	log_test $rc "without the module the hook logs and does nothing"
}

private_etc || { log_test 1 "our hook alone in /etc/dhcp (mount namespace)"; exit $ksft_fail; }
load_module || { log_test 1 "insmod"; exit $ksft_fail; }
defer stop_dhclient
setup_ns S H || exit $ksft_fail
link "$S" vs "$H" vh
ip -n "$S" addr add 192.0.2.1/24 dev vs
if ! ip netns exec "$H" test -e $table; then
	echo "# the module has no net.ipv4.ip_domain_table"
	log_test 1 "net.ipv4.ip_domain_table"
	exit $ksft_fail
fi

run_case test_lease_applies
run_case test_release_restores
run_case test_bad_option_refused
run_case test_operator_change_left_alone
run_case test_no_module
run_cleanup
unload_module
exit $ret
