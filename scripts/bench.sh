#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`, guest side: the per-packet cost of source-domain routing on the forward
# path, against baselines measured in the same VM run.
#
#   S (198.51.100.10) -- IR -- D (192.0.2.1, outside every domain)
#
# A UDP flood of small packets from S to D through IR, for each configuration:
#   baseline      module not loaded, IR routes by its main table
#   policy        module not loaded, the equivalent `ip rule from <domain> table <n>`
#   loaded        module loaded, no domains (the cost of a hook that does nothing)
#   inside        module, 16 domains, D inside one of them (no rerouting)
#   reroute-1     module, 1 domain holding S's address: every packet rerouted
#   reroute-16    module, 16 domains, S in the last one: every packet rerouted
# Reported: packets per second at D (median of $RUNS runs), ns per packet, and the
# difference to the baseline. The kernel is the bench flavour (no KASAN, lockdep, ...), but
# under TCG the absolute figures are far from a real machine's; the ratios within one run
# are what counts.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/selftests/lib.sh"
RUNS=${RUNS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-2}
# A developer's shortcut: BENCH_PARTS="forward select" runs only those parts.
BENCH_PARTS=${BENCH_PARTS:-forward select switchover}
wants() { [[ " $BENCH_PARTS " == *" $1 "* ]]; }

if wants forward; then
setup_ns s ir d || exit 1
ip link add s-ir netns "$s" type veth peer name ir-s netns "$ir"
ip link add ir-d netns "$ir" type veth peer name d-ir netns "$d"
ip -n "$s" link set s-ir up; ip -n "$ir" link set ir-s up
ip -n "$ir" link set ir-d up; ip -n "$d" link set d-ir up
ip netns exec "$ir" sysctl -q -w net.ipv4.ip_forward=1
ip -n "$s" addr add 198.51.100.10/24 dev s-ir
ip -n "$ir" addr add 198.51.100.1/24 dev ir-s
ip -n "$ir" addr add 192.0.2.254/24 dev ir-d
ip -n "$d" addr add 192.0.2.1/24 dev d-ir
ip -n "$s" route add default via 198.51.100.1
ip -n "$d" route add default via 192.0.2.254
# The router of the domains: D's side, so a rerouted packet still reaches D.
ip -n "$d" addr add 192.0.2.2/24 dev d-ir

# pps: received packets per second at D for one flood from S.
pps() {
	# Bounded: a flood that cannot start must not hang the run.
	timeout 20 ip netns exec "$d" iperf3 -s -1 -J > /tmp/bench-server.json 2>/dev/null &
	local server=$!
	sleep 0.5
	timeout 20 ip netns exec "$s" iperf3 -u -b 0 -l 64 -t "$SECONDS_PER_RUN" -c 192.0.2.1 -J \
		> /tmp/bench-client.json 2>/dev/null
	wait $server
	python3 - <<-'PY' 2>/dev/null || echo 0
	import json
	r = json.load(open("/tmp/bench-server.json"))["end"]["sum"]
	print(int(r["packets"] - r["lost_packets"]) / r["seconds"] if r["seconds"] else 0)
	PY
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

domains() { # N LAST-HOLDS-S
	local n=$1 i k=/proc/sys/net/ipv4
	ip netns exec "$ir" bash -c "echo $n > $k/ip_num_domains"
	for i in $(seq 0 $((n - 1))); do
		ip netns exec "$ir" bash -c "
			echo /24 > $k/ip_domain/$i/net_mask
			echo 10.$i.0.0 > $k/ip_domain/$i/net_addr
			echo 192.0.2.2 > $k/ip_domain/$i/def_router"
	done
	if [ "$2" = yes ]; then
		ip netns exec "$ir" bash -c "echo 198.51.100.0 > $k/ip_domain/$((n - 1))/net_addr"
	fi
}

# One configuration from scratch: NAME.
configure() {
	ip -n "$ir" rule del from 198.51.100.0/24 table 100 pref 100 2>/dev/null
	case $1 in
	baseline) unload_module ;;
	policy)
		unload_module
		ip -n "$ir" rule add from 198.51.100.0/24 table 100 pref 100
		;;
	loaded) unload_module; load_module ;;
	inside)
		# Both ends inside the domains (replies too): nothing is rerouted.
		load_module
		domains 16 no
		ip netns exec "$ir" bash -c "echo 192.0.2.0 > /proc/sys/net/ipv4/ip_domain/0/net_addr
			echo 198.51.100.0 > /proc/sys/net/ipv4/ip_domain/1/net_addr"
		;;
	reroute-1) load_module; domains 1 yes ;;
	reroute-16) load_module; domains 16 yes ;;
	esac
}

ip -n "$ir" route add default via 192.0.2.2 table 100
configs="baseline policy loaded inside reroute-1 reroute-16"
# Round-robin over the configurations, so that drift in the VM's speed spreads evenly.
rm -f /tmp/bench-pps.*
for round in $(seq 1 "$RUNS"); do
	echo "# round $round of $RUNS" >&2
	for c in $configs; do
		configure "$c"
		pps >> "/tmp/bench-pps.$c"
	done
	if [ "$round" = 1 ]; then
		ip netns exec "$ir" cat /proc/net/sitemh | sed 's/^/# /'
	fi
done
: > /tmp/bench-results
for c in $configs; do
	printf '%s %s\n' "$c" "$(median < "/tmp/bench-pps.$c")" >> /tmp/bench-results
done
run_cleanup
unload_module

echo
echo "Forward path, 64-byte UDP, median of $RUNS runs of ${SECONDS_PER_RUN}s (TCG, bench kernel):"
awk 'NR == 1 { base = 1e9 / $2 }
	$2 == 0 { printf "  %-11s no packets arrived\n", $1; next }
	{ ns = 1e9 / $2; printf "  %-11s %10.0f pps %9.0f ns/packet %+8.0f ns vs baseline (%.1f%% of baseline pps)\n", $1, $2, ns, ns - base, 100 * base / ns }' \
	/tmp/bench-results

fi

# Address selection: one getsrcaddr call with 16 domains (16 sources, ranked) against one
# connect() of a UDP socket (the kernel's own route and source selection), same namespace.
if wants select; then
load_module
setup_ns g || exit 1
ip -n "$g" link add g0 type dummy
ip -n "$g" link set g0 up
ip netns exec "$g" sysctl -q -w net.ipv4.ip_num_domains=16
for i in $(seq 0 15); do
	ip -n "$g" addr add 198.18.$i.10/24 dev g0
	ip netns exec "$g" sysctl -q -w net.ipv4.ip_domain.$i.net_mask=/24 \
		net.ipv4.ip_domain.$i.net_addr=198.18.$i.0 net.ipv4.ip_domain.$i.def_router=198.18.$i.1 \
		net.ipv4.ip_domain.$i.path_bandwidth=$((1000 * (i + 1))) net.ipv4.ip_domain.$i.hops=3
done
ip -n "$g" route add default via 198.18.0.1
rm -f /tmp/bench-select /tmp/bench-connect
for round in $(seq 1 "$RUNS"); do
	out=$(ip netns exec "$g" "$root/selftests/sitemh_tool" bench 192.0.2.1 20000)
	echo "$out" | awk '{ print $2 }' >> /tmp/bench-select
	echo "$out" | awk '{ print $4 }' >> /tmp/bench-connect
done
sel=$(median < /tmp/bench-select)
con=$(median < /tmp/bench-connect)
run_cleanup
unload_module
echo
echo "Address selection with 16 domains, median of $RUNS runs of 20000 calls:"
awk -v s="$sel" -v c="$con" 'BEGIN {
	printf "  getsrcaddr %8.0f ns/call (16 sources ranked)\n", s
	printf "  connect    %8.0f ns/call (UDP, the kernel'"'"'s own source selection)\n", c
	printf "  ratio      %8.2f (goal: at most 2)\n", s / c }'

fi

# Switchover time: from provider 1's path failing to the first data X receives over the
# new pair (scripts/switchover_time.py), sitemh against in-kernel MPTCP with a backup
# subflow per provider, on the link-failure selftest's topology, $SWITCH_RUNS runs each.
#   carrier  PE1's end of the CE1-PE1 link goes down: CE1 sees carrier loss (code 1);
#            counted from that moment (see switchover_time.py).
#   ce       CE1's LAN interface goes down: CE2 misses 3 keepalives of 50 ms (code 2).
#   ce20     the same with keepalives every 20 ms (sitemh only: MPTCP has no keepalives
#            of this kind; it is compared with MPTCP's "ce" runs).
wants switchover || exit 0
SWITCH_RUNS=${SWITCH_RUNS:-20}
source "$root/selftests/switchover_site.sh"

# switch_runs MODE FAILURE NS IFNAME [CE]: the times of $SWITCH_RUNS runs into
# /tmp/bench-sw.*; with CE, counted from when that CE saw its uplink fail.
switch_runs() {
	local mode=$1 failure=$2 ns=$3 ifname=$4 ce=${5:-} i out
	: > "/tmp/bench-sw.$mode.$failure"
	for i in $(seq 1 "$SWITCH_RUNS"); do
		out=$(python3 "$root/scripts/switchover_time.py" "$root/selftests/sitemh_tls" \
			"$h" "$x" "$ns" "$ifname" "$mode" $ce)
		echo "# $mode $failure run $i: $out" >&2
		echo "$out" | awk '$1 == "ms" { print $2 }' >> "/tmp/bench-sw.$mode.$failure"
		restore_site
		# The next run starts from a healthy site with nothing tracked.
		if [ "$mode" = sitemh ]; then
			busywait_eq 10000 0x0 down_mask "$h" ||
				echo "# $mode $failure run $i: the domain stayed down" >&2
			busywait_eq 5000 0 field "$h" tracked && busywait_eq 5000 0 field "$x" tracked ||
				echo "# $mode $failure run $i: connections still tracked" >&2
		else
			sleep 0.5
		fi
	done
}

load_module
CE_KEEPALIVE_MS=50 build_switchover_site && CE_KEEPALIVE_MS=50 configure_sitemh || exit 1
switch_runs sitemh carrier "$pe1" pe1-ce "$ce1"
switch_runs sitemh ce "$ce1" ce1-b
for ns in "$ce1" "$ce2"; do ip netns exec "$ns" sysctl -q -w net.ipv4.sitemh_ce.keepalive_ms=20; done
switch_runs sitemh ce20 "$ce1" ce1-b
ip netns exec "$h" cat /proc/net/sitemh | sed 's/^/# /'
unload_module
configure_mptcp || exit 1
# CE1 alone is configured, to say when it saw its uplink fail; the hosts have no sitemh
# configuration (no hooks: its notices are ICMP of an unknown type for them).
load_module
ip netns exec "$ce1" sysctl -q -w net.ipv4.sitemh_ce.uplink=ce1-up \
	net.ipv4.sitemh_ce.pe_addr=192.0.2.2 net.ipv4.sitemh_ce.lan=ce1-b || exit 1
switch_runs mptcp carrier "$pe1" pe1-ce "$ce1"
switch_runs mptcp ce "$ce1" ce1-b
run_cleanup
unload_module

# stats FILE: "median p95 n" (nearest rank; "timeout" runs count as 10 s, the wait's end).
stats() {
	sed 's/^timeout$/10000/' "$1" | sort -g |
		awk '{ v[NR] = $1 } END { if (!NR) { print "- - 0"; exit }
			p = int((95 * NR + 99) / 100); print v[int((NR + 1) / 2)], v[p], NR }'
}
echo
echo "Switchover time, failure to the first data over the new pair, $SWITCH_RUNS runs (TCG, bench kernel):"
for failure in carrier ce ce20; do
	read -r sm sp sn <<< "$(stats "/tmp/bench-sw.sitemh.$failure")"
	read -r mm mp mn <<< "$(stats "/tmp/bench-sw.mptcp.${failure%20}")"
	case $failure in
	carrier) goal=50 ;;
	ce) goal=$((3 * 50 + 50)) ;;
	ce20) goal=$((3 * 20 + 50)) ;;
	esac
	awk -v f="$failure" -v sm="$sm" -v sp="$sp" -v sn="$sn" -v mm="$mm" -v mp="$mp" \
		-v mn="$mn" -v goal="$goal" 'BEGIN {
		printf "  %-8s sitemh median %7.1f ms p95 %7.1f ms (%d runs)   MPTCP median %7.1f ms p95 %7.1f ms (%d runs)\n", f, sm, sp, sn, mm, mp, mn
		printf "  %-8s MPTCP / sitemh: median %.1fx, p95 %.1fx (goal: sitemh at most %d ms, at least 4x faster)\n", f, (sm > 0 ? mm / sm : 0), (sp > 0 ? mp / sp : 0), goal }'
done
