#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`, guest side: address selection against connect(), and switchover time
# against MPTCP (the forward path's cost is scripts/bench-forward.sh, in a guest of its
# own under instruction counting). The kernel is the bench flavour (no KASAN, lockdep, ...);
# under TCG the absolute figures are far from a real machine's, the ratios within one run
# are what counts.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/selftests/lib.sh"
RUNS=${RUNS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-2}
# A developer's shortcut: BENCH_PARTS="select" runs only that part.
BENCH_PARTS=${BENCH_PARTS:-select switchover scale}
wants() { [[ " $BENCH_PARTS " == *" $1 "* ]]; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

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
wants scale && "$root/scripts/bench-scale.sh"
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
