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
changed_table="203.0.113.0/24 203.0.113.130, 10.98.0.0/16 private"

# Our hook alone in dhclient-script's hook places; the hook's state on a scratch tmpfs.
private_etc() {
	local d f
	local hook
	mkdir "$scratch/exit-hooks.d" "$scratch/enter-hooks.d" || return 1
	IFS= read -r -d '' hook < "$root/etc/dhcp/dhclient-exit-hooks.d/sitemh"
	printf '%s' "$hook" > "$scratch/exit-hooks.d/sitemh" || return 1
	# (These mounts go with the namespace.)
	for d in exit enter; do
		[ -d "/etc/dhcp/dhclient-$d-hooks.d" ] || continue
		mount --bind "$scratch/$d-hooks.d" "/etc/dhcp/dhclient-$d-hooks.d" || return 1
	done
	for f in /etc/dhcp/dhclient-exit-hooks /etc/dhcp/dhclient-enter-hooks; do
		[ -e "$f" ] || continue
		mount --bind /dev/null "$f" || return 1
	done
	[ -d /etc/dhcp/dhclient-exit-hooks.d ] || { echo "# no /etc/dhcp/dhclient-exit-hooks.d"; return 1; }
	if [ ! -d $state ]; then
		mkdir $state || return 1
		defer rmdir $state
	fi
	mount -t tmpfs -o mode=0755 sitemh-dhcp $state || return 1
	defer umount $state
}

# A shell in H for the checks: sysctl files show the reader's namespace, and a process
# costs a good fraction of a second in the test VM. in_h CODE runs bash CODE there and
# sets $h_out to its output.
start_h_shell() {
	coproc h_shell { exec ip netns exec "$H" bash; }
	defer kill "$h_shell_PID"
}
in_h() {
	local l
	h_out=
	printf '%s\necho __in_h_end__\n' "$1" >&"${h_shell[1]}"
	while IFS= read -r l <&"${h_shell[0]}"; do
		# (The end mark may follow output that did not end its line.)
		if [[ $l == *__in_h_end__ ]]; then
			h_out+=${l%__in_h_end__}
			break
		fi
		h_out+=$l$'\n'
	done
	h_out=${h_out%$'\n'}
}

# One client configuration per case, told apart by their client identifiers (the server
# picks each one's option by it): the shipped lines, and nothing that would make
# dhclient-script touch /etc/resolv.conf or ping a router.
client_confs() {
	local id lines
	IFS= read -r -d '' lines < "$root/etc/dhcp/sitemh-dhclient.conf"
	for id in example bad gen; do
		printf '%s\n' "timeout 20;" "send dhcp-client-identifier \"$id\";" \
			"request subnet-mask, broadcast-address;" "$lines" > "$scratch/dhclient-$id.conf" ||
			return 1
	done
}

# dnsmasq in S for the whole script: the shipped example for every client, a bad option
# (host bits: 198.51.101.0/23) for client "bad", the generator's line for client "gen".
# Client "example" renews every 3 to 4 s (T1 3 s, the least dnsmasq sends; dhclient adds
# up to a third), and
# $scratch/dnsmasq.opts, empty at first, is re-read on SIGHUP ($dnsmasq_pid): a case
# changes the option there.
start_dnsmasq() {
	local gen
	gen=$("$root/scripts/sitemh-dhcp-option" 198.51.100.0/24=198.51.100.129 10.99.0.0/16=private) ||
		return 1
	printf '%s\n' port=0 interface=vs bind-interfaces no-resolv no-hosts user=root \
		dhcp-range=192.0.2.10,192.0.2.20,255.255.255.0,1h dhcp-authoritative no-ping \
		"dhcp-leasefile=$scratch/dnsmasq.leases" "log-facility=$scratch/dnsmasq.log" \
		"conf-file=$root/etc/dnsmasq.d/sitemh.conf" \
		dhcp-host=id:bad,set:bad dhcp-option=tag:bad,224,17:c6:33:65:c6:33:64:81 \
		dhcp-host=id:gen,set:gen "${gen/=224,/=tag:gen,224,}" \
		dhcp-host=id:example,set:example dhcp-option=tag:example,option:T1,3 \
		"dhcp-optsfile=$scratch/dnsmasq.opts" > "$scratch/dnsmasq.conf" || return 1
	: > "$scratch/dnsmasq.opts" || return 1
	# (ip netns exec execs dnsmasq: $! is its pid.)
	ip netns exec "$S" dnsmasq --keep-in-foreground --conf-file="$scratch/dnsmasq.conf" &
	dnsmasq_pid=$!
	defer kill $dnsmasq_pid
	busywait 15000 dnsmasq_ready
}

# dnsmasq's log says its DHCP socket is bound (shell builtins only).
dnsmasq_ready() {
	local l
	while IFS= read -r l; do
		[[ $l == *"sockets bound exclusively to interface vs"* ]] && return 0
	done 2>/dev/null < "$scratch/dnsmasq.log"
	return 1
}

# dhcp ID ARGS...: dhclient in H as client ID, its output in $out.
dhcp() {
	local id=$1
	shift
	out=$(in_ns "$H" dhclient -v -sf /sbin/dhclient-script -cf "$scratch/dhclient-$id.conf" \
		-lf "$scratch/leases-$id" -pf "$scratch/dhclient.pid" "$@" vh 2>&1)
}

# stop_dhclient: the daemon a lease left (dhclient -1 returns once bound, and its daemon
# writes the pid file a moment later). SIGKILL: no script runs, and dhclient -r then need
# not stop it (which costs it a second).
# (A pid in the file is killed only while it is a dhclient.)
dhclient_pid() {
	local comm
	read -r pid 2>/dev/null < "$scratch/dhclient.pid" || return 1
	read -r comm 2>/dev/null < "/proc/$pid/comm" && [ "$comm" = dhclient ]
}
stop_dhclient() { # [WAIT-MS]
	local pid
	busywait "${1:-5000}" dhclient_pid && kill -9 "$pid"
	rm -f "$scratch/dhclient.pid"
}

lease() { # ID
	dhcp "$1" -1
}

release() { # ID
	stop_dhclient
	dhcp "$1" -r
}

# The hook's lines in dhclient's output.
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
	in_h "printf '%s\\n' ${1@Q} > $table && echo ok"
	[ "$h_out" = ok ]
}

table_is() { # TEXT
	in_h "read -r t < $table; echo \"\$t\""
	[ "$h_out" = "$1" ] && return 0
	echo "# table '$h_out', want '$1'"
	return 1
}

# state_is SAVED APPLIED, or no argument for no state files.
state_is() {
	local files=($state/*) saved= applied=
	if [ $# -eq 0 ]; then
		[ ! -e "${files[0]}" ] && return 0
		echo "# state files left: ${files[*]}"
		return 1
	fi
	read -r saved < $state/dhcp-vh.saved
	read -r applied < $state/dhcp-vh.applied
	[ "${#files[@]}" -eq 2 ] && [ "$saved" = "$1" ] && [ "$applied" = "$2" ] && return 0
	echo "# state: ${files[*]}: saved '$saved', applied '$applied'"
	return 1
}

# The example's domains: the table, the count, each node, and /proc/net/sitemh's lines.
example_nodes() {
	local got want
	in_h 'cd /proc/sys/net/ipv4 && for f in ip_domain_table ip_num_domains \
		ip_domain/{0,1,2}/{net_addr,net_mask,def_router}; do read -r v < $f; printf "%s|" "$v"; done
		while read -r fam i net router rest; do
			[[ $fam == ipv4 && $i == [0-9]* ]] && printf "%s|" "$fam $i $net $router"
		done < /proc/net/sitemh'
	got=$h_out
	want="$example_table|3|198.51.100.0|255.255.255.0|198.51.100.129|203.0.113.0|255.255.255.0"
	want="$want|203.0.113.130|10.99.0.0|255.255.0.0|0.0.0.0|ipv4 0 198.51.100.0/24 198.51.100.129"
	want="$want|ipv4 1 203.0.113.0/24 203.0.113.130|ipv4 2 10.99.0.0/16 private|"
	[ "$got" = "$want" ] && return 0
	echo "# nodes: $got"
	echo "# want:  $want"
	return 1
}

# The shipped dnsmasq example reaches the table whole; the table before it is saved.
test_lease_applies() {
	local rc=0
	check set_table "$before" || rc=1
	lease example
	check [ $? -eq 0 ] || rc=1
	check said "sitemh: dhcp vh: domain table from option 224: $example_table" || rc=1
	check example_nodes || rc=1
	check state_is "$before" "$example_table" || rc=1
	log_test $rc "a lease with the dnsmasq example applies its table"
}

# The server's option changes during the example's lease (a tagged line in dnsmasq's
# optsfile wins over the shipped untagged one): the running dhclient's next renewal, a
# RENEW, applies the new table, and the state still keeps the table from before the lease
# (test_release_restores then releases the lease and sees that table restored).
test_lease_change_updates() {
	local rc=0 opt
	opt=$("$root/scripts/sitemh-dhcp-option" 203.0.113.0/24=203.0.113.130 10.98.0.0/16=private)
	check [ $? -eq 0 ] || rc=1
	printf '%s\n' "tag:example,${opt#dhcp-option=}" > "$scratch/dnsmasq.opts"
	check kill -HUP "$dnsmasq_pid" || rc=1
	# (The hook writes the table, then the state files.)
	busywait 10000 state_is "$before" "$changed_table" > /dev/null 2>&1
	check table_is "$changed_table" || rc=1
	check state_is "$before" "$changed_table" || rc=1
	log_test $rc "a changed option reaches the table at the next renewal"
}

# dhclient -r: the table before the lease comes back, the state goes.
test_release_restores() {
	local rc=0
	release example
	check [ $? -eq 0 ] || rc=1
	check said "sitemh: dhcp vh: lease RELEASE: domain table restored: $before" || rc=1
	check table_is "$before" || rc=1
	check state_is || rc=1
	log_test $rc "releasing the lease restores the table before it"
}

# Host bits in the option: refused with a line, nothing changes; the lease itself works.
test_bad_option_refused() {
	local rc=0
	lease bad
	check [ $? -eq 0 ] || rc=1
	check said "sitemh: dhcp vh: option 224 refused: domain 1: host bits set in 198.51.101.0/23: domain table unchanged" || rc=1
	check said "bound to 192.0.2.*" || rc=1
	check table_is "$before" || rc=1
	check state_is || rc=1
	stop_dhclient
	log_test $rc "a bad option is refused with a log line, the table unchanged"
}

# The generator's line; an operator's table written during the lease stays after it.
test_operator_change_left_alone() {
	local rc=0 operator="10.2.0.0/16 private"
	lease gen
	check table_is "198.51.100.0/24 198.51.100.129, 10.99.0.0/16 private" || rc=1
	check set_table "$operator" || rc=1
	release gen
	check said "sitemh: dhcp vh: lease RELEASE, but the domain table was changed since the lease applied it: left alone" || rc=1
	check table_is "$operator" || rc=1
	check state_is || rc=1
	log_test $rc "an operator's change during the lease is left alone at its end"
}

private_etc || { log_test 1 "our hook alone in /etc/dhcp (mount namespace)"; exit $ksft_fail; }
client_confs || exit $ksft_fail
load_module || { log_test 1 "insmod"; exit $ksft_fail; }
defer stop_dhclient 0
setup_ns S H || exit $ksft_fail
ip link add vs netns "$S" type veth peer name vh netns "$H"
printf '%s\n' "link set vs up" "addr add 192.0.2.1/24 dev vs" | ip_batch "$S"
start_dnsmasq || { log_test 1 "dnsmasq in S"; exit $ksft_fail; }
start_h_shell

run_case test_lease_applies
run_case test_lease_change_updates
run_case test_release_restores
run_case test_bad_option_refused
run_case test_operator_change_left_alone
run_cleanup
unload_module
exit $ret
