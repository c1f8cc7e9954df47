#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Opportunistic protection (issue 19): with net.ipv4.sitemh_lf.auto=1 on both ends,
# programs nobody rewrote for sitemh, stock iperf3 and socat, keep their TCP connections
# between H and X when a provider link fails: the modules agree on each connection's keys
# (X25519, key offer and answer), exchange the two ends' addresses (route lists) and move
# it on the CE's notice, whether H's provider link fails or X's. With auto=0 the same runs
# stall (controls); a peer whose module does not answer is left alone and counted; a
# forged offer (an off-path host does not know the connection's initial sequence number),
# a forged route list, and a recorded offer, answer and route list played again are
# refused and counted. IPv6 (net.ipv6.sitemh_lf.auto) too; kernel TLS keys (ktls=1). The
# topology is switchover_site.sh's.

source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
source "$here/switchover_site.sh"

IPERF_PORT=5201
SOCAT_PORT=5300

# auto VALUE NS...: net.ipv4.sitemh_lf.auto and net.ipv6.sitemh_lf.auto in each NS.
auto() {
	both_families auto "$@"
}

# ktls VALUE NS...: net.ipv4.sitemh_lf.ktls and net.ipv6.sitemh_lf.ktls in each NS.
ktls() {
	both_families ktls "$@"
}

# both_families KNOB VALUE NS...: net.ipv4.sitemh_lf.KNOB and its IPv6 twin in each NS.
both_families() {
	local knob=$1 value=$2 ns
	shift 2
	for ns in "$@"; do
		in_ns "$ns" sysctl -q -w net.ipv4.sitemh_lf."$knob"="$value" \
			net.ipv6.sitemh_lf."$knob"="$value" || return 1
	done
}

# make check runs iperf3 for 8 s with the failure at 3 s; make soak for 20 s.
if soak; then
	IPERF_SECONDS=20
	SOCAT_MIB=64
else
	IPERF_SECONDS=8
	SOCAT_MIB=16
fi
FAIL_AT=3

# iperf_run FAIL...: stock iperf3, H1 to X1 (bind, peer override) at 8 Mbit/s for IPERF_SECONDS, one interval a
# second on both ends; FAIL (a command) runs FAIL_AT seconds in. Leaves the outputs in
# $iperf_c / $iperf_s and the client's exit status in $iperf_rc.
iperf_run() {
	iperf_c=$(mktemp /tmp/sitemh-auto.XXXXXX)
	iperf_s=$(mktemp /tmp/sitemh-auto.XXXXXX)
	defer rm -f "$iperf_c" "$iperf_s"
	ip netns exec "$x" timeout $((IPERF_SECONDS + 25)) iperf3 -s -1 -B ${peer:-$X1} -p $IPERF_PORT \
		-i 1 --forceflush >"$iperf_s" 2>&1 &
	local server=$!
	busywait 5000 grep -q 'Server listening' "$iperf_s"
	ip netns exec "$h" timeout $((IPERF_SECONDS + 20)) iperf3 -c ${peer:-$X1} -B ${bind:-$H1} -p $IPERF_PORT \
		-t "$IPERF_SECONDS" -b 8M -i 1 --forceflush >"$iperf_c" 2>&1 &
	local client=$!
	nap "$FAIL_AT"
	"$@"
	wait $client
	iperf_rc=$?
	kill $server 2>/dev/null
	wait $server 2>/dev/null
	echo "# iperf3 client rc $iperf_rc:"
	grep -E 'sec ' "$iperf_c" | sed 's/^/#   /'
}

# received_after T FILE: the server's interval lines starting at T s or later, as
# "start bits_per_s" (Kbits/Mbits/Gbits converted).
received_after() {
	awk -v t="$1" '
		/sec/ && $3 ~ /^[0-9.]+-[0-9.]+$/ {
			split($3, span, "-")
			if (span[1] + 0 < t || span[2] - span[1] > 1.5) next
			rate = $7; unit = $8
			if (unit ~ /^K/) rate *= 1e3; else if (unit ~ /^M/) rate *= 1e6
			else if (unit ~ /^G/) rate *= 1e9
			print span[1], rate
		}' "$2"
}

# intervals_ok T FILE: every interval from T s on carried data, and there were some.
intervals_ok() {
	local lines
	lines=$(received_after "$1" "$2")
	[ -n "$lines" ] && ! echo "$lines" | awk '$2 == 0 { bad = 1 } END { exit !bad }'
}

# intervals_stalled T FILE: no interval from T s on carried anything.
intervals_stalled() {
	! received_after "$1" "$2" | awk '$2 > 0 { found = 1 } END { exit !found }'
}

test_iperf3() {
	local rc=0 before_h2 protected_h protected_x
	before_h2=$(count "$ce2" up h2)
	protected_h=$(field "$h" auto_protected) protected_x=$(field "$x" auto_protected)
	auto 1 "$h" "$x" || rc=1
	iperf_run ip -n "$ce1" link set ce1-up down
	check [ "$iperf_rc" -eq 0 ] || rc=1
	# Both of iperf3's connections (control and data) were protected at both ends ...
	check [ "$(field "$h" auto_protected)" -ge $((protected_h + 2)) ] || rc=1
	check [ "$(field "$x" auto_protected)" -ge $((protected_x + 2)) ] || rc=1
	# ... and the data carried on over P2 within two seconds of the failure, every second.
	check intervals_ok $((FAIL_AT + 2)) "$iperf_s" || rc=1
	check [ "$(count "$ce2" up h2)" -gt $((before_h2 + 100)) ] || rc=1
	restore_uplink
	check busywait_eq 10000 0x0 down_mask "$h" || rc=1
	log_test $rc "stock iperf3, auto=1: H's provider link fails at ${FAIL_AT} s, the transfer carries on over P2"
}

test_iperf3_remote_failure() {
	local rc=0 protected_x switched_x
	auto 1 "$h" "$x" || rc=1
	protected_x=$(field "$x" auto_protected) switched_x=$(field "$x" switched)
	iperf_run ip -n "$ce3" link set ce3-up down
	check [ "$iperf_rc" -eq 0 ] || rc=1
	check [ "$(field "$x" auto_protected)" -ge $((protected_x + 2)) ] || rc=1
	# X's end moved to its P2 address, and data arrived every second from then on.
	check [ "$(field "$x" switched)" -gt "$switched_x" ] || rc=1
	check intervals_ok $((FAIL_AT + 2)) "$iperf_s" || rc=1
	restore_remote_uplink
	check busywait_eq 10000 0x0 down_mask "$x" || rc=1
	log_test $rc "stock iperf3, auto=1: X's provider link fails at ${FAIL_AT} s, the transfer carries on over X's P2"
}

test_iperf3_v6() {
	local rc=0 before_h2 protected_h protected_x
	auto 1 "$h" "$x" || rc=1
	before_h2=$(count "$ce2" up h2v6)
	protected_h=$(field6 "$h" auto_protected) protected_x=$(field6 "$x" auto_protected)
	bind=$H1_6 peer=$X1_6 iperf_run ip -n "$ce1" link set ce1-up down
	check [ "$iperf_rc" -eq 0 ] || rc=1
	check [ "$(field6 "$h" auto_protected)" -ge $((protected_h + 2)) ] || rc=1
	check [ "$(field6 "$x" auto_protected)" -ge $((protected_x + 2)) ] || rc=1
	check intervals_ok $((FAIL_AT + 2)) "$iperf_s" || rc=1
	check [ "$(count "$ce2" up h2v6)" -gt $((before_h2 + 100)) ] || rc=1
	restore_uplink
	check busywait_eq 10000 0x0 down6_mask "$h" || rc=1
	log_test $rc "stock iperf3 over IPv6, net.ipv6.sitemh_lf.auto=1: the transfer carries on over P2"
}

test_iperf3_control() {
	local rc=0 before_h2
	before_h2=$(count "$ce2" up h2)
	auto 0 "$h" "$x" || rc=1
	iperf_run ip -n "$ce1" link set ce1-up down
	# Stalled: nothing arrived after the failure, nothing crossed P2.
	check intervals_stalled $((FAIL_AT + 2)) "$iperf_s" || rc=1
	check [ "$(count "$ce2" up h2)" -le $((before_h2 + 5)) ] || rc=1
	check [ "$iperf_rc" -ne 0 ] || rc=1
	restore_uplink
	check busywait_eq 10000 0x0 down_mask "$h" || rc=1
	auto 1 "$h" "$x" || rc=1
	log_test $rc "control: auto=0, the same iperf3 run stalls when the link fails"
}

# in_cgroup DIR CMD...: runs CMD in the cgroup at DIR (a directory of a cgroup2 mount);
# DIR "": where this shell is.
in_cgroup() {
	local dir=$1
	shift
	[ -n "$dir" ] || { "$@"; return; }
	# shellcheck disable=SC2016 # $0, $$ and $@ are the inner shell's
	sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$dir" "$@"
}

# socat_run BYTES FAIL...: socat streams BYTES of random data from $src (default H1) to
# $dst (default X1; IPv6 addresses too) (H's LAN side paced at 24 Mbit/s by a token
# bucket), X hashes what arrives; FAIL runs 2 s in. Each end gets $limit seconds (default
# 60); H's socat runs in the cgroup $cg_h, X's in $cg_x (default: this shell's).
socat_run() {
	local bytes=$1 data sums server client listen=TCP-LISTEN connect=TCP
	local x_addr=${dst:-$X1} h_addr=${src:-$H1}
	shift
	case $x_addr in
	*:*) listen=TCP6-LISTEN connect=TCP6 x_addr="[$x_addr]" h_addr="[$h_addr]" ;;
	esac
	data=$(mktemp /tmp/sitemh-auto.XXXXXX)
	sums=$(mktemp /tmp/sitemh-auto.XXXXXX)
	defer rm -f "$data" "$sums"
	head -c "$bytes" /dev/urandom >"$data"
	sent_sum=$(sha256sum <"$data" | cut -d' ' -f1)
	in_ns "$h" tc qdisc replace dev h-b root tbf rate 24mbit burst 64kb latency 2s
	defer in_ns "$h" tc qdisc del dev h-b root
	in_cgroup "${cg_x:-}" ip netns exec "$x" timeout "${limit:-60}" \
		socat -u $listen:$SOCAT_PORT,bind=$x_addr,reuseaddr SYSTEM:"sha256sum >$sums" &
	server=$!
	busywait 5000 listening "$x" $SOCAT_PORT
	in_cgroup "${cg_h:-}" ip netns exec "$h" timeout "${limit:-60}" \
		socat -u OPEN:"$data" $connect:$x_addr:$SOCAT_PORT,bind=$h_addr &
	client=$!
	nap 2
	"$@"
	wait $client
	socat_rc=$?
	wait $server
	received_sum=$(cut -d' ' -f1 <"$sums")
	echo "# socat: client rc $socat_rc, sent $sent_sum, received ${received_sum:-nothing}"
}

test_socat() {
	local rc=0 protected_h before_h2
	auto 1 "$h" "$x" || rc=1
	protected_h=$(field "$h" auto_protected) before_h2=$(count "$ce2" up h2)
	socat_run $((SOCAT_MIB << 20)) ip -n "$ce1" link set ce1-up down
	check [ "$socat_rc" -eq 0 ] || rc=1
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	check [ "$(field "$h" auto_protected)" -gt "$protected_h" ] || rc=1
	check [ "$(count "$ce2" up h2)" -gt $((before_h2 + 100)) ] || rc=1
	restore_uplink
	check busywait_eq 10000 0x0 down_mask "$h" || rc=1
	log_test $rc "stock socat, auto=1: H's provider link fails, $SOCAT_MIB MiB arrive byte-exact (SHA-256)"
}

test_socat_remote_failure() {
	local rc=0 protected_x
	auto 1 "$h" "$x" || rc=1
	protected_x=$(field "$x" auto_protected)
	socat_run $((SOCAT_MIB << 20)) ip -n "$ce3" link set ce3-up down
	check [ "$socat_rc" -eq 0 ] || rc=1
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	check [ "$(field "$x" auto_protected)" -gt "$protected_x" ] || rc=1
	if [ $rc -ne 0 ]; then
		echo "# resets at X: in $(count "$x" in rst), out $(count "$x" out rst)"
		in_ns "$h" grep "^switchover " /proc/net/sitemh | sed 's/^/# H: /'
		in_ns "$x" grep "^switchover " /proc/net/sitemh | sed 's/^/# X: /'
	fi
	restore_remote_uplink
	check busywait_eq 10000 0x0 down_mask "$x" || rc=1
	log_test $rc "stock socat, auto=1: X's provider link fails, $SOCAT_MIB MiB arrive byte-exact (SHA-256)"
}

test_socat_control() {
	local rc=0 protected_x
	auto 0 "$h" "$x" || rc=1
	protected_x=$(field "$x" auto_protected)
	limit=15 socat_run $((SOCAT_MIB << 20)) ip -n "$ce3" link set ce3-up down
	# Stalled on X's failed provider until its time was up: not all of it arrived.
	check [ "$socat_rc" -ne 0 ] || rc=1
	check [ "$received_sum" != "$sent_sum" ] || rc=1
	check [ "$(field "$x" auto_protected)" -eq "$protected_x" ] || rc=1
	restore_remote_uplink
	check busywait_eq 10000 0x0 down_mask "$x" || rc=1
	auto 1 "$h" "$x" || rc=1
	log_test $rc "control: auto=0, the same socat stream stalls when X's provider link fails"
}

test_peer_without_sitemh() {
	local rc=0 unanswered protected_x offers
	auto 0 "$x" || rc=1
	unanswered=$(field "$h" auto_unanswered) protected_x=$(field "$x" auto_protected)
	offers=$(field "$h" auto_offers)
	socat_run $((1 << 20)) true
	check [ "$socat_rc" -eq 0 ] || rc=1
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	# H offered, X never answered: H gives up (after about 6 s) and counts it.
	check busywait 15000 at_least $((unanswered + 1)) field "$h" auto_unanswered || rc=1
	check [ "$(field "$h" auto_offers)" -gt "$offers" ] || rc=1
	check [ "$(field "$x" auto_protected)" -eq "$protected_x" ] || rc=1
	check busywait_eq 3000 0 field "$h" tracked || rc=1
	auto 1 "$x" || rc=1
	log_test $rc "a peer that does not protect (auto=0) never answers: left alone and counted"
}

# auto_ports NS VALUE: net.ipv4.sitemh_lf.auto_ports (both families) in NS (through
# /proc: sysctl(8) refuses an empty value).
auto_ports() {
	in_ns "$1" bash -c "echo '$2' > /proc/sys/net/ipv4/sitemh_lf/auto_ports"
}

test_auto_ports() {
	local rc=0 offers protected_x unanswered bad
	auto 1 "$h" "$x" || rc=1
	# The knob: ports and ranges, shown back as written; anything else refused, nothing
	# changed.
	check auto_ports "$h" "5201,6000-6010" || rc=1
	check [ "$(in_ns "$h" sysctl -n net.ipv4.sitemh_lf.auto_ports)" = "5201 6000-6010" ] || rc=1
	for bad in 0 65536 80-22 22- x "1 2 3 4 5 6 7 8 9"; do
		check_fails EINVAL auto_ports "$h" "$bad" || rc=1
	done
	check [ "$(in_ns "$h" sysctl -n net.ipv4.sitemh_lf.auto_ports)" = "5201 6000-6010" ] || rc=1
	# H limited to iperf3's port: a socat connection is not offered keys ...
	auto_ports "$h" $IPERF_PORT || rc=1
	offers=$(field "$h" auto_offers) protected_x=$(field "$x" auto_protected)
	socat_run $((1 << 20)) true
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	check [ "$(field "$h" auto_offers)" -eq "$offers" ] || rc=1
	# ... and limited to socat's, it is.
	auto_ports "$h" "$SOCAT_PORT" || rc=1
	socat_run $((1 << 20)) true
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	check [ "$(field "$h" auto_offers)" -gt "$offers" ] || rc=1
	check busywait 5000 at_least $((protected_x + 1)) field "$x" auto_protected || rc=1
	# One limit for both families, shown and set through either file: over IPv6 too.
	check [ "$(in_ns "$h" sysctl -n net.ipv6.sitemh_lf.auto_ports)" = "$SOCAT_PORT" ] || rc=1
	check in_ns "$h" sysctl -q -w net.ipv6.sitemh_lf.auto_ports=$IPERF_PORT || rc=1
	check [ "$(in_ns "$h" sysctl -n net.ipv4.sitemh_lf.auto_ports)" = "$IPERF_PORT" ] || rc=1
	offers=$(field6 "$h" auto_offers) protected_x=$(field6 "$x" auto_protected)
	src=$H1_6 dst=$X1_6 socat_run $((1 << 20)) true
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	check [ "$(field6 "$h" auto_offers)" -eq "$offers" ] || rc=1
	check in_ns "$h" sysctl -q -w net.ipv6.sitemh_lf.auto_ports=$SOCAT_PORT || rc=1
	src=$H1_6 dst=$X1_6 socat_run $((1 << 20)) true
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	check [ "$(field6 "$h" auto_offers)" -gt "$offers" ] || rc=1
	check busywait 5000 at_least $((protected_x + 1)) field6 "$x" auto_protected || rc=1
	# X limited to another service: H's offer is not answered (counted at H), X protects
	# nothing.
	auto_ports "$h" "" || rc=1
	auto_ports "$x" $IPERF_PORT || rc=1
	protected_x=$(field "$x" auto_protected) unanswered=$(field "$h" auto_unanswered)
	socat_run $((1 << 20)) true
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	check busywait 15000 at_least $((unanswered + 1)) field "$h" auto_unanswered || rc=1
	check [ "$(field "$x" auto_protected)" -eq "$protected_x" ] || rc=1
	auto_ports "$x" "" || rc=1
	check busywait_eq 3000 0 field "$h" tracked || rc=1
	log_test $rc "auto_ports limits protection to services: other ports are neither offered nor answered"
}

# auto_cgroup NS VALUE: net.ipv4.sitemh_lf.auto_cgroup (both families) in NS (through
# /proc: sysctl(8) refuses an empty value).
auto_cgroup() {
	in_ns "$1" bash -c "echo '$2' > /proc/sys/net/ipv4/sitemh_lf/auto_cgroup"
}

# auto_cgroup limits protection to the sockets of one cgroup (and its descendants): at
# the connecting end, whether it offers keys; at the accepting end, whether it answers.
# A cgroup2 hierarchy of the test's own, two cgroups: the service's and another.
test_auto_cgroup() {
	local rc=0 cg offers protected_x unanswered bad
	auto 1 "$h" "$x" || rc=1
	cg=$(mktemp -d /tmp/sitemh-cg.XXXXXX)
	defer rmdir "$cg"
	check mount -t cgroup2 none "$cg" || rc=1
	defer umount "$cg"
	check mkdir "$cg/sitemh-svc" "$cg/sitemh-svc/worker" "$cg/sitemh-other" || rc=1
	defer rmdir "$cg/sitemh-svc/worker" "$cg/sitemh-svc" "$cg/sitemh-other"
	# The knob: a path shown back as written; anything else refused, nothing changed.
	check auto_cgroup "$h" /sitemh-svc || rc=1
	check [ "$(in_ns "$h" sysctl -n net.ipv4.sitemh_lf.auto_cgroup)" = /sitemh-svc ] || rc=1
	for bad in sitemh-svc /sitemh-svc/ /a//b /a/../b "/a b" "/$(printf 'a%.0s' $(seq 300))"; do
		check_fails EINVAL auto_cgroup "$h" "$bad" || rc=1
	done
	check_fails ENOENT auto_cgroup "$h" /sitemh-none || rc=1
	check [ "$(in_ns "$h" sysctl -n net.ipv4.sitemh_lf.auto_cgroup)" = /sitemh-svc ] || rc=1
	# H limited to the service's cgroup: a client in another is not offered keys ...
	offers=$(field "$h" auto_offers) protected_x=$(field "$x" auto_protected)
	cg_h=$cg/sitemh-other socat_run $((1 << 20)) true
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	check [ "$(field "$h" auto_offers)" -eq "$offers" ] || rc=1
	# ... one in a descendant of it is.
	cg_h=$cg/sitemh-svc/worker socat_run $((1 << 20)) true
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	check [ "$(field "$h" auto_offers)" -gt "$offers" ] || rc=1
	check busywait 5000 at_least $((protected_x + 1)) field "$x" auto_protected || rc=1
	# One limit for both families, whichever file wrote it: the same over IPv6.
	check [ "$(in_ns "$h" sysctl -n net.ipv6.sitemh_lf.auto_cgroup)" = /sitemh-svc ] || rc=1
	offers=$(field6 "$h" auto_offers) protected_x=$(field6 "$x" auto_protected)
	src=$H1_6 dst=$X1_6 cg_h=$cg/sitemh-other socat_run $((1 << 20)) true
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	check [ "$(field6 "$h" auto_offers)" -eq "$offers" ] || rc=1
	src=$H1_6 dst=$X1_6 cg_h=$cg/sitemh-svc/worker socat_run $((1 << 20)) true
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	check [ "$(field6 "$h" auto_offers)" -gt "$offers" ] || rc=1
	check busywait 5000 at_least $((protected_x + 1)) field6 "$x" auto_protected || rc=1
	# H's limit lifted through the IPv6 file: gone from both.
	check in_ns "$h" bash -c "echo > /proc/sys/net/ipv6/sitemh_lf/auto_cgroup" || rc=1
	check [ -z "$(in_ns "$h" sysctl -n net.ipv4.sitemh_lf.auto_cgroup)" ] || rc=1
	# X limited to the service's cgroup, its server in another: H's offer is not answered
	# (counted at H), X protects nothing ...
	check auto_cgroup "$x" /sitemh-svc || rc=1
	protected_x=$(field "$x" auto_protected) unanswered=$(field "$h" auto_unanswered)
	cg_x=$cg/sitemh-other socat_run $((1 << 20)) true
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	check busywait 15000 at_least $((unanswered + 1)) field "$h" auto_unanswered || rc=1
	check [ "$(field "$x" auto_protected)" -eq "$protected_x" ] || rc=1
	# ... its server in it: protected.
	cg_x=$cg/sitemh-svc socat_run $((1 << 20)) true
	check [ "$received_sum" = "$sent_sum" ] || rc=1
	check busywait 5000 at_least $((protected_x + 1)) field "$x" auto_protected || rc=1
	check auto_cgroup "$x" "" || rc=1
	check busywait_eq 3000 0 field "$h" tracked || rc=1
	log_test $rc "auto_cgroup limits protection to a cgroup's sockets: others neither offered nor answered"
}

# hex_ip A.B.C.D: the address in hex.
hex_ip() {
	local IFS=.
	# shellcheck disable=SC2086
	printf '%02x' $1
}

# icmp_sum HEX: the Internet checksum of HEX (its checksum field zero), 4 hex digits; an
# odd last octet counts as the high half of a word (RFC 1071).
icmp_sum() {
	local hex=$1 sum=0 i word
	for ((i = 0; i < ${#hex}; i += 4)); do
		word=${hex:i:4}
		[ ${#word} -eq 2 ] && word+=00
		sum=$((sum + 16#$word))
	done
	while ((sum >> 16)); do
		sum=$(((sum & 0xffff) + (sum >> 16)))
	done
	printf '%04x' $((~sum & 0xffff))
}

# paced_stream PORT: socat streams zeros from H1 to X1:PORT (at whatever pace H's qdisc
# sets) until killed; sets stream_server and stream_client. (The timeouts only bound
# strays: the cases kill both ends themselves, and one checks that the client lives on,
# so they must outlast a case on a slow VM: 30 s ran out once.)
paced_stream() {
	ip netns exec "$x" timeout 120 socat -u TCP-LISTEN:"$1",bind=$X1,reuseaddr OPEN:/dev/null &
	stream_server=$!
	busywait 5000 listening "$x" "$1"
	ip netns exec "$h" timeout 120 socat -u OPEN:/dev/zero TCP:$X1:"$1",bind=$H1 &
	stream_client=$!
}

test_forged_offer() {
	local rc=0 refused refused_lists tracked protected lport sum server client server2 client2
	local pcb tail message
	# X protects connections, H does not offer (auto=0 there): a live connection (socat,
	# paced) that nobody protected ...
	auto 0 "$h" || rc=1
	auto 1 "$x" || rc=1
	in_ns "$h" tc qdisc add dev h-b root tbf rate 4mbit burst 16kb latency 2s
	defer in_ns "$h" tc qdisc del dev h-b root
	paced_stream $SOCAT_PORT
	server=$stream_server client=$stream_client
	busywait 5000 bash -c "nsenter --net=/run/netns/$h ss -Htn state established dport = :$SOCAT_PORT | grep -q ."
	lport=$(in_ns "$h" ss -Htn state established "dport = :$SOCAT_PORT" |
		awk '{ n = split($3, a, ":"); print a[n]; exit }')
	refused=$(field "$x" auto_refused) refused_lists=$(field "$x" refused)
	tracked=$(field "$x" tracked)
	# ... and an offer for it from H1's address with a made-up ISN and key (a host off
	# the path knows the tuple at best, never the ISN): refused, counted, nothing tracked.
	pcb="06000000$(hex_ip $H1)$(hex_ip $X1)$(printf '%04x%04x' "$lport" $SOCAT_PORT)"
	tail="01000000$(printf '%08x' $((RANDOM << 16 | RANDOM)))$(printf '42%.0s' {1..32})"
	message="290c000000000000${pcb}${tail}"
	sum=$(icmp_sum "$message")
	message="290c${sum}${message:8}"
	check in_ns "$h" "$here/sitemh_tool" raw4 $H1 $X1 64 "$message" || rc=1
	check busywait 3000 at_least $((refused + 1)) field "$x" auto_refused || rc=1
	# Nothing taken up.
	nap 0.5
	check [ "$(field "$x" tracked)" -eq "$tracked" ] || rc=1
	# A second connection, protected (H offers now), and a route list forged for it
	# (code 10, the sealed form with a made-up ciphertext and tag): it does not open
	# under the connection's keys, refused and counted.
	auto 1 "$h" || rc=1
	protected=$(field "$x" auto_protected)
	paced_stream $((SOCAT_PORT + 1))
	server2=$stream_server client2=$stream_client
	check busywait 5000 at_least $((protected + 1)) field "$x" auto_protected || rc=1
	lport=$(in_ns "$h" ss -Htn state established "dport = :$((SOCAT_PORT + 1))" |
		awk '{ n = split($3, a, ":"); print a[n]; exit }')
	refused_lists=$(field "$x" refused)
	pcb="06000000$(hex_ip $H1)$(hex_ip $X1)$(printf '%04x%04x' "$lport" $((SOCAT_PORT + 1)))"
	# Record header (type 41, version 0x0303, length 8 + 16 + 16), a nonce above any H
	# sent (a number seen already is refused as a replay before the keys are tried), one
	# address.
	tail="2903030028$(printf '%016x' 65536)0a010000$(printf '%016x' 7)$(hex_ip $H2)$(printf '55%.0s' {1..16})"
	message="290a000000000000${pcb}${tail}"
	sum=$(icmp_sum "$message")
	message="290a${sum}${message:8}"
	check in_ns "$h" "$here/sitemh_tool" raw4 $H1 $X1 64 "$message" || rc=1
	check busywait 3000 at_least $((refused_lists + 1)) field "$x" refused || rc=1
	# ... refused by the keys themselves, not for its form.
	check busywait 3000 bash -c "dmesg | grep -q 'refusing a message from $H1: does not authenticate'" ||
		rc=1
	kill $client2 $server2 2>/dev/null
	wait $client2 $server2 2>/dev/null
	# Nothing moved.
	check [ "$(field "$x" moved)" -eq 0 ] || rc=1
	[ $rc -eq 0 ] || in_ns "$x" grep "^switchover " /proc/net/sitemh | sed 's/^/# X: /'
	kill $client $server 2>/dev/null
	wait $client $server 2>/dev/null
	log_test $rc "a forged key offer (right tuple, wrong ISN) and a forged route list are refused and counted"
}

# captured_icmp PCAP SRC CODE: the first ICMP type 41 message of code CODE (decimal) from
# SRC in PCAP, in hex, as it was on the wire (checksum included).
captured_icmp() {
	in_ns "$x" tcpdump -r "$1" -n -x 2>/dev/null | awk -v src="$(hex_ip "$2")" -v code="$(printf '%02x' "$3")" '
		function done() {
			if (hex == "") return
			ihl = substr(hex, 2, 1) * 4
			icmp = substr(hex, ihl * 2 + 1)
			if (substr(hex, 25, 8) == src && substr(icmp, 1, 4) == "29" code) { print icmp; found = 1; exit }
			hex = ""
		}
		/^[^ \t]/ { done(); next }
		/^[ \t]+0x/ { for (i = 2; i <= NF; i++) hex = hex $i }
		END { if (!found) done() }' | head -n 1
}

test_replayed_messages() {
	local rc=0 pcap server client protected heard offer answer list
	local refused_x refused_lists_x refused_h moved tracked
	auto 1 "$h" "$x" || rc=1
	pcap=$(mktemp /tmp/sitemh-auto.XXXXXX)
	defer rm -f "$pcap" "$pcap.err"
	# A recording, at X, of a connection's key agreement and first route lists ...
	ip netns exec "$x" tcpdump -i any -n -U -w "$pcap" 'icmp[0] == 41' 2>"$pcap.err" &
	local dump=$!
	# (tcpdump takes seconds to start in the test VM.)
	check busywait 60000 grep -q "listening on" "$pcap.err" || rc=1
	in_ns "$h" tc qdisc add dev h-b root tbf rate 4mbit burst 16kb latency 2s
	defer in_ns "$h" tc qdisc del dev h-b root
	protected=$(field "$x" auto_protected) heard=$(field "$x" lists_heard)
	paced_stream $((SOCAT_PORT + 2))
	server=$stream_server client=$stream_client
	check busywait 5000 at_least $((protected + 1)) field "$x" auto_protected || rc=1
	check busywait 5000 at_least $((heard + 1)) field "$x" lists_heard || rc=1
	# (What tcpdump has not read from its socket yet is lost when it is stopped.)
	nap 2
	kill $dump
	wait $dump 2>/dev/null
	offer=$(captured_icmp "$pcap" $H1 12)
	answer=$(captured_icmp "$pcap" $X1 13)
	list=$(captured_icmp "$pcap" $H1 10)
	echo "# recorded: offer ${offer:0:24}..., answer ${answer:0:24}..., route list ${list:0:24}..."
	check [ -n "$offer" ] && check [ -n "$answer" ] && check [ -n "$list" ] || rc=1
	refused_x=$(field "$x" auto_refused) refused_lists_x=$(field "$x" refused)
	refused_h=$(field "$h" auto_refused) moved=$(field "$x" moved) tracked=$(field "$x" tracked)
	# ... played again, as it was, from the addresses it came from: the offer and the
	# route list to X, the answer to H. Each is refused and counted.
	check in_ns "$h" "$here/sitemh_tool" raw4 $H1 $X1 64 "$offer" || rc=1
	check busywait 3000 at_least $((refused_x + 1)) field "$x" auto_refused || rc=1
	check in_ns "$h" "$here/sitemh_tool" raw4 $H1 $X1 64 "$list" || rc=1
	check busywait 3000 at_least $((refused_lists_x + 1)) field "$x" refused || rc=1
	check busywait 3000 bash -c "dmesg | grep -q 'refusing a message from $H1: replayed'" || rc=1
	check in_ns "$x" "$here/sitemh_tool" raw4 $X1 $H1 64 "$answer" || rc=1
	check busywait 3000 at_least $((refused_h + 1)) field "$h" auto_refused || rc=1
	# Nothing moved, nothing new tracked, and the connection still carries data.
	nap 0.5
	check [ "$(field "$x" moved)" -eq "$moved" ] || rc=1
	check [ "$(field "$x" tracked)" -eq "$tracked" ] || rc=1
	check kill -0 $client || rc=1
	[ $rc -eq 0 ] || in_ns "$x" grep "^switchover " /proc/net/sitemh | sed 's/^/# X: /'
	kill $client $server 2>/dev/null
	wait $client $server 2>/dev/null
	log_test $rc "a recorded key offer, key answer and route list played again are refused and counted"
}

# quick_acks NS PORT: the quick-ACK count left to NS's established TCP socket with PORT at
# either end (/proc/net/tcp's 15th column holds it shifted left by one, the pingpong flag
# in bit 0).
quick_acks() {
	in_ns "$1" awk -v p="$(printf ':%04X' "$2")" '
		$4 == "01" && (substr($2, length($2) - 4) == p || substr($3, length($3) - 4) == p) {
			print int($15 / 2); exit
		}' /proc/net/tcp
}

# A moved connection acknowledges at once for a while (rust/ffi/glue.c, sitemh_sock_kick):
# the peer's first segment over the new pair must not wait for a delayed ACK (40 ms at
# every move in the switchover benchmark). A connection that carried 256 KiB has spent the
# quick ACKs it began with; idle when the link fails, it moves, and both ends have quick
# ACKs again (nothing arrives to spend them).
test_idle_move_quickack() {
	local rc=0 port=$((SOCAT_PORT + 3)) protected heard switched_h switched_x server client
	auto 1 "$h" "$x" || rc=1
	protected=$(field "$x" auto_protected) heard=$(field "$x" lists_heard)
	switched_h=$(field "$h" switched) switched_x=$(field "$x" switched)
	ip netns exec "$x" timeout 60 socat -u TCP-LISTEN:$port,bind=$X1,reuseaddr OPEN:/dev/null &
	server=$!
	busywait 5000 listening "$x" $port
	ip netns exec "$h" timeout 60 socat -u \
		SYSTEM:"head -c 262144 /dev/zero; sleep 50" TCP:$X1:$port,bind=$H1 &
	client=$!
	check busywait 5000 at_least $((protected + 1)) field "$x" auto_protected || rc=1
	check busywait 5000 at_least $((heard + 1)) field "$x" lists_heard || rc=1
	# The 256 KiB arrived and were acknowledged: no quick ACK left at either end.
	check busywait 5000 prints 0 quick_acks "$x" $port || rc=1
	check busywait 5000 prints 0 quick_acks "$h" $port || rc=1
	ip -n "$ce1" link set ce1-up down
	check busywait 10000 at_least $((switched_h + 1)) field "$h" switched || rc=1
	check busywait 10000 at_least $((switched_x + 1)) field "$x" switched || rc=1
	echo "# quick ACKs after the move: H $(quick_acks "$h" $port), X $(quick_acks "$x" $port)"
	check at_least 8 quick_acks "$x" $port || rc=1
	check at_least 8 quick_acks "$h" $port || rc=1
	kill $client $server 2>/dev/null
	wait $client $server 2>/dev/null
	restore_uplink
	check busywait_eq 10000 0x0 down_mask "$h" || rc=1
	log_test $rc "an idle connection that moves acknowledges at once again (quick-ACK mode, both ends)"
}

KTLS_PORT=5400
# make check streams 8 MiB through kernel TLS at 16 Mbit/s (4 s, the failure 1.5 s in);
# make soak 32 MiB.
if soak; then
	KTLS_MIB=32
else
	KTLS_MIB=8
fi

# ktls_run FAIL...: ktls_stream (kernel TLS installed as TLS libraries do, no sitemh code)
# sends KTLS_MIB MiB from H1 to X1; FAIL runs 1.5 s after kTLS is on. Each end gets
# $limit seconds (default 60). Leaves the outputs in $ktls_c/$ktls_s and the client's
# exit status in $ktls_rc.
ktls_run() {
	local keys="" i server client
	# Fresh session keys (the client's write key, salt and IV, then the server's), without
	# a process.
	for i in {1..24}; do
		printf -v keys '%s%04x' "$keys" $RANDOM
	done
	ktls_c=$(mktemp /tmp/sitemh-auto.XXXXXX)
	ktls_s=$(mktemp /tmp/sitemh-auto.XXXXXX)
	defer rm -f "$ktls_c" "$ktls_s"
	ip netns exec "$x" timeout "${limit:-60}" "$here/ktls_stream" server $X1 $KTLS_PORT "$keys" \
		>"$ktls_s" 2>&1 &
	server=$!
	busywait 5000 grep -q '^listening' "$ktls_s"
	ip netns exec "$h" timeout "${limit:-60}" "$here/ktls_stream" client -r 16000 $H1 $X1 \
		$KTLS_PORT $((KTLS_MIB << 20)) "$keys" >"$ktls_c" 2>&1 &
	client=$!
	busywait 10000 grep -q '^ready' "$ktls_c"
	nap 1.5
	"$@"
	wait $client
	ktls_rc=$?
	kill $server 2>/dev/null
	wait $server
	echo "# ktls_stream: client rc $ktls_rc: $(tr '\n' ' ' <"$ktls_c"); server: $(tr '\n' ' ' <"$ktls_s")"
}

test_ktls() {
	local rc=0 protected_h protected_x offers
	auto 0 "$h" "$x" || rc=1
	ktls 1 "$h" "$x" || rc=1
	protected_h=$(field "$h" ktls_protected) protected_x=$(field "$x" ktls_protected)
	offers=$(field "$h" auto_offers)
	ktls_run ip -n "$ce1" link set ce1-up down
	check [ "$ktls_rc" -eq 0 ] || rc=1
	check [ -n "$(digest_of "$ktls_c")" ] || rc=1
	check [ "$(digest_of "$ktls_c")" = "$(digest_of "$ktls_s")" ] || rc=1
	# Both ends took their keys from the kTLS state (no key agreement: no offer) ...
	check [ "$(field "$h" ktls_protected)" -gt "$protected_h" ] || rc=1
	check [ "$(field "$x" ktls_protected)" -gt "$protected_x" ] || rc=1
	check [ "$(field "$h" auto_offers)" -eq "$offers" ] || rc=1
	# ... and the stream moved to P2.
	check [ "$(field "$h" switched)" -gt 0 ] || rc=1
	[ $rc -eq 0 ] || in_ns "$h" grep "^switchover " /proc/net/sitemh | sed 's/^/# H: /'
	restore_uplink
	check busywait_eq 10000 0x0 down_mask "$h" || rc=1
	log_test $rc "kernel TLS (ktls_stream, no sitemh code), ktls=1: keys from the kTLS state, the stream survives H's provider link failing"
}

test_ktls_control() {
	local rc=0 protected_h
	auto 0 "$h" "$x" || rc=1
	ktls 0 "$h" "$x" || rc=1
	protected_h=$(field "$h" ktls_protected)
	limit=20 ktls_run ip -n "$ce1" link set ce1-up down
	# Stalled on P1 until its time was up: nothing protected it.
	check [ "$ktls_rc" -ne 0 ] || rc=1
	check [ "$(field "$h" ktls_protected)" -eq "$protected_h" ] || rc=1
	restore_uplink
	check busywait_eq 10000 0x0 down_mask "$h" || rc=1
	log_test $rc "control: ktls=0 and auto=0, the same kernel TLS stream stalls"
}

modprobe -q sitemh 2>/dev/null || insmod "$SITEMH_KO" 2>/dev/null || true
for tool in iperf3 socat tc ss "$here/ktls_stream"; do
	command -v $tool >/dev/null || { echo "$tool is not installed"; exit $ksft_fail; }
done
build_switchover_site && configure_sitemh || { echo "could not build the topology"; exit $ksft_fail; }

run_case test_iperf3
run_case test_iperf3_remote_failure
run_case test_iperf3_v6
run_case test_iperf3_control
run_case test_socat
run_case test_socat_remote_failure
run_case test_socat_control
run_case test_idle_move_quickack
run_case test_peer_without_sitemh
run_case test_auto_ports
run_case test_auto_cgroup
run_case test_forged_offer
run_case test_replayed_messages
run_case test_ktls
run_case test_ktls_control
exit $ret
