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
BENCH_PARTS=${BENCH_PARTS:-select operate switchover scale}
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

# Domains from router advertisements (issue 17): radvd on a CE starts (the CE's radvd
# restarts) and H (sitemh_auto=1) puts its prefix in the table; radvd stops and the domain
# goes (scripts/ra_time.py; the topology: selftests/ra_site.sh).
if wants operate; then
load_module
source "$root/selftests/ra_site.sh"
build_ra_site || exit 1
ip netns exec "$h" sysctl -q -w net.ipv6.sitemh_auto=1
ip netns exec "$h" python3 "$root/scripts/ra_time.py" "$ce2" "$scratch/ce2.conf" \
	"$scratch/ce2.pid" 2001:db8:2::/64 "$RUNS" > /tmp/bench-ra
sed 's/^/# ra: /' /tmp/bench-ra >&2
run_cleanup
unload_module
echo
echo "Domains from router advertisements, median of $(grep -c '^ok' /tmp/bench-ra) runs ($(grep -c '^failed' /tmp/bench-ra) failed):"
for what in restart advert goodbye; do
	awk -v f="$what" '$1 == "ok" { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }' /tmp/bench-ra |
		median | awk -v f="$what" '{
			d["restart"] = "radvd starts on CE2 -> its domain in H'"'"'s table"
			d["advert"] = "the RA arrives at H -> its domain in the table (the module'"'"'s share)"
			d["goodbye"] = "radvd stops (router lifetime 0) -> the domain gone"
			printf "  %8.1f ms  %s\n", $1, d[f] }'
done
fi

# Switchover time: from provider 1's path failing until X acknowledges data H sent after
# the failure (the transfer moves again; scripts/switchover_time.py), sitemh against
# in-kernel MPTCP, on the link-failure selftest's topology. Failures:
#   carrier  PE1's end of the CE1-PE1 link goes down: CE1 sees carrier loss (code 1).
#   ce       CE1's LAN interface goes down: CE2 misses 3 keepalives of 50 ms (code 2).
#   ce20     the same with keepalives every 20 ms (sitemh only: MPTCP has no keepalives
#            of this kind; it is compared with MPTCP's "ce" runs).
#   carrier10, carrier30  the carrier failure with 10 % / 30 % of the packets on the LAN
#            segment between the CEs and H lost at random (netem on the bridge's port to
#            H, both ways), for every mode: notices, exchange messages and data alike
#            (issue 16's figures: success rate and times under loss).
# Every time counts from the ioctl that takes the interface down; the carrier case also
# from the moment CE1 saw its carrier go (the module's uplink_failed_ns: under TCG the
# PE's teardown of its veth end delays CE1's carrier loss by 25-45 ms, the PE's time,
# not the site's).
# Each mode has a site of its own, built once, so that the modes take turns run by run
# (sitemh, MPTCP, MPTCP fastest, ...): a drift of the host's load over the part then
# falls on all of them alike. The hosts of the MPTCP sites have no sitemh configuration
# (the module registers no hooks in a namespace without domains); their CE1 alone runs
# the CE role, to say when it saw its uplink fail.
#   sitemh     both ends registered, CE keepalives every 50 ms
#   sitemh20   the same with keepalives every 20 ms (the ce20 runs)
#   mptcp      MPTCP as mptcp_join.sh's link_failure tests set it up: a backup subflow
#              from H's provider-2 address, default settings
#   mptcpfast  MPTCP at its fastest failover: both subflows active (not backup), a
#              subflow stale after one RTO (net.mptcp.stale_loss_cnt=1), and the least
#              RTO floor TCP allows (net.ipv4.tcp_rto_min_us=1: one jiffy) on both hosts
#   auto       stock iperf3 with net.ipv4.sitemh_lf.auto=1 on H and X (nothing asked of
#              the module: it agrees on keys and carries the routes itself), the
#              "carrier" failure; against stock iperf3 under `mptcpize run` on the two
#              MPTCP sites (the rows "iperf3").
# A run that measures nothing (a tool did not start, MPTCP's second subflow was not
# established before the failure, nothing resumed within 10 s) is counted as failed and
# left out of the figures.
# Switchover at scale (1,000 connections; 10,000 under SITEMH_SOAK): scripts/bench-scale.sh.
wants scale && "$root/scripts/bench-scale.sh"
wants switchover || exit 0
SWITCH_RUNS=${SWITCH_RUNS:-20}
# The rows to measure: "tls" (the TLS tool: sitemh registered, MPTCP) and "iperf3" (stock
# iperf3: sitemh_lf.auto against mptcpize). A developer's shortcut: SWITCH_SETS=iperf3.
SWITCH_SETS=${SWITCH_SETS:-tls iperf3}
switch_set() { [[ " $SWITCH_SETS " == *" $1 "* ]]; }
source "$root/selftests/switchover_site.sh"
site_vars="h lan ce1 ce2 ce3 pe1 pe2 x"

# save_site NAME / use_site NAME: keep the namespaces just built under NAME, and make
# NAME's the ones switchover_site.sh's helpers ($h, $ce1, ...) work on.
save_site() {
	local v
	for v in $site_vars; do eval "site_${1}_$v=\$$v"; done
}
use_site() {
	local v
	for v in $site_vars; do eval "$v=\$site_${1}_$v"; done
}

# ce1_role: CE1 runs the module's CE role, to report when it saw its uplink fail.
ce1_role() {
	ip netns exec "$ce1" sysctl -q -w net.ipv4.sitemh_ce.uplink=ce1-up \
		net.ipv4.sitemh_ce.pe_addr=192.0.2.2 net.ipv4.sitemh_ce.lan=ce1-b
}

# mptcp_fastest: the MPTCP site's subflow from H2 active, not backup, and both hosts
# giving up on a subflow, and retransmitting, as early as they allow.
mptcp_fastest() {
	ip -n "$h" mptcp endpoint flush || return 1
	ip -n "$h" mptcp endpoint add $H2 dev h-b subflow || return 1
	for ns in "$h" "$x"; do
		ip netns exec "$ns" sysctl -q -w net.mptcp.stale_loss_cnt=1 \
			net.ipv4.tcp_rto_min_us=1 || return 1
	done
}

start=$SECONDS
load_module
if switch_set tls; then
	CE_KEEPALIVE_MS=50 build_switchover_site && CE_KEEPALIVE_MS=50 configure_sitemh || exit 1
	save_site sitemh
	CE_KEEPALIVE_MS=20 build_switchover_site && CE_KEEPALIVE_MS=20 configure_sitemh || exit 1
	save_site sitemh20
fi
if switch_set iperf3; then
	CE_KEEPALIVE_MS=50 build_switchover_site && CE_KEEPALIVE_MS=50 configure_sitemh || exit 1
	in_ns "$h" sysctl -q -w net.ipv4.sitemh_lf.auto=1 &&
		in_ns "$x" sysctl -q -w net.ipv4.sitemh_lf.auto=1 || exit 1
	save_site auto
fi
build_switchover_site && configure_mptcp && ce1_role || exit 1
save_site mptcp
build_switchover_site && configure_mptcp && mptcp_fastest && ce1_role || exit 1
save_site mptcpfast
use_site mptcpfast
echo "# mptcpfast: $(ip -n "$h" mptcp endpoint show | tr '\n' ' ')" >&2
echo "# sites built: $((SECONDS - start)) s" >&2
rm -f /tmp/bench-sw.*

# switch_run SITE FAILURE RUN [iperf3]: one run on SITE's namespaces (with iperf3: stock
# iperf3, under mptcpize on the MPTCP sites); its result line ("ok ioctl T [detect D] ..."
# or "failed ...") goes to /tmp/bench-sw.SITE.FAILURE[.iperf3].
switch_run() {
	local site=$1 failure=$2 run=$3 tool=${4:-} mode=mptcp out loss=
	use_site "$site"
	[ "$site" = mptcp ] || [ "$site" = mptcpfast ] || mode=sitemh
	if [ "$tool" = iperf3 ]; then
		[ "$mode" = mptcp ] && mode=mptcpize || mode=auto
	fi
	case $failure in
	carrier10) loss=10 ;;
	carrier30) loss=30 ;;
	esac
	if [ -n "$loss" ]; then
		ip netns exec "$lan" tc qdisc replace dev b-h root netem loss "$loss%"
		ip netns exec "$h" tc qdisc replace dev h-b root netem loss "$loss%"
	fi
	if [ "${failure#carrier}" != "$failure" ]; then
		out=$(python3 "$root/scripts/switchover_time.py" "$root/selftests/sitemh_tls" \
			"$h" "$x" "$pe1" pe1-ce "$mode" "$ce1")
	else
		out=$(python3 "$root/scripts/switchover_time.py" "$root/selftests/sitemh_tls" \
			"$h" "$x" "$ce1" ce1-b "$mode")
	fi
	echo "# $site $failure${tool:+ $tool} run $run: $out" >&2
	echo "${out:-failed no output}" >> "/tmp/bench-sw.$site.$failure${tool:+.$tool}"
	if [ -n "$loss" ]; then
		ip netns exec "$lan" tc qdisc del dev b-h root
		ip netns exec "$h" tc qdisc del dev h-b root
	fi
	restore_site
	# The next run starts from a healthy site with nothing tracked.
	if [ "$mode" = sitemh ] || [ "$mode" = auto ]; then
		busywait_eq 10000 0x0 down_mask "$h" ||
			echo "# $site $failure run $run: the domain stayed down" >&2
		busywait_eq 5000 0 field "$h" tracked && busywait_eq 5000 0 field "$x" tracked ||
			echo "# $site $failure run $run: connections still tracked" >&2
	else
		sleep 0.5
	fi
}

start=$SECONDS
for run in $(seq 1 "$SWITCH_RUNS"); do
	if switch_set tls; then
		for failure in carrier ce carrier10 carrier30; do
			for site in sitemh mptcp mptcpfast; do
				switch_run "$site" "$failure" "$run"
			done
		done
		switch_run sitemh20 ce20 "$run"
	fi
	if switch_set iperf3; then
		for site in auto mptcp mptcpfast; do
			switch_run "$site" carrier "$run" iperf3
		done
	fi
done
echo "# switchover runs: $((SECONDS - start)) s" >&2
use_site "$(switch_set tls && echo sitemh || echo auto)"
ip netns exec "$h" cat /proc/net/sitemh | sed 's/^/# /'
run_cleanup
unload_module

# stats FILE: "median p95 detect_median ok failed" of the runs in FILE (nearest rank; "-"
# where no run measured).
stats() {
	[ -f "$1" ] || { echo "- - - 0 0"; return; }
	awk '$1 == "failed" { failed++; next }
		$1 == "ok" { t[++n] = $3; for (i = 4; i < NF; i += 2) if ($i == "detect") d[++nd] = $(i + 1) }
		function sort(a, n,   i, j, v) { for (i = 2; i <= n; i++) { v = a[i]
				for (j = i - 1; j > 0 && a[j] > v; j--) a[j + 1] = a[j]; a[j + 1] = v } }
		END { sort(t, n); sort(d, nd)
			printf "%s %s %s %d %d\n", n ? t[int((n + 1) / 2)] : "-",
				n ? t[int((95 * n + 99) / 100)] : "-", nd ? d[int((nd + 1) / 2)] : "-", n, failed }' \
		"$1"
}
# ratio A B: A / B, or "-" if either measured nothing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b <= 0) print "-"
		else printf "%.1fx\n", a / b }'
}
echo
echo "Switchover time, IPv4, $SWITCH_RUNS runs per row, the modes taking turns (TCG, bench kernel):"
echo "ms from the failure until X acknowledges data H sent after it; from the ioctl that took"
echo "the link down, and (carrier) from CE1 seeing its carrier go. Failed runs are counted apart."
printf '  %-26s %-9s %9s %9s %11s %4s %6s\n' mode failure median p95 "median" ok failed
printf '  %-26s %-9s %9s %9s %11s %4s %6s\n' "" "" "(ioctl)" "(ioctl)" "(detection)" "" ""
declare -A med rate
for row in "sitemh carrier" "mptcp carrier" "mptcpfast carrier" "sitemh ce" "sitemh20 ce20" \
	"mptcp ce" "mptcpfast ce" "sitemh carrier10" "mptcp carrier10" "mptcpfast carrier10" \
	"sitemh carrier30" "mptcp carrier30" "mptcpfast carrier30"; do
	read -r site failure <<< "$row"
	case $site in
	sitemh) name="sitemh (keepalives 50 ms)" ;;
	sitemh20) name="sitemh (keepalives 20 ms)" ;;
	mptcp) name="MPTCP default (backup)" ;;
	mptcpfast) name="MPTCP fastest" ;;
	esac
	read -r m p d ok failed <<< "$(stats "/tmp/bench-sw.$site.$failure")"
	med[$site.$failure]=$m
	med[$site.$failure.d]=$d
	printf '  %-26s %-9s %9s %9s %11s %4s %6s\n' "$name" "$failure" "$m" "$p" "$d" "$ok" "$failed"
	rate[$site.$failure]="$ok/$((ok + failed))"
done
echo "Stock iperf3 (TCP, 20 Mbit/s), the carrier failure, nothing asked of the programs:"
for site in auto mptcp mptcpfast; do
	case $site in
	auto) name="sitemh, sitemh_lf.auto=1" ;;
	mptcp) name="mptcpize, MPTCP default" ;;
	mptcpfast) name="mptcpize, MPTCP fastest" ;;
	esac
	read -r m p d ok failed <<< "$(stats "/tmp/bench-sw.$site.carrier.iperf3")"
	med[$site.iperf3]=$m
	med[$site.iperf3.d]=$d
	printf '  %-26s %-9s %9s %9s %11s %4s %6s\n' "$name" carrier "$m" "$p" "$d" "$ok" "$failed"
done
echo "  MPTCP / sitemh (iperf3), medians from the ioctl: default $(ratio "${med[mptcp.iperf3]}" "${med[auto.iperf3]}"), fastest $(ratio "${med[mptcpfast.iperf3]}" "${med[auto.iperf3]}")"
echo "Under LAN loss (carrier10/30: 10 % / 30 % of the packets between the CEs and H lost),"
echo "failover success (runs that resumed within 10 s) and median from the ioctl:"
for failure in carrier carrier10 carrier30; do
	printf '  %-9s sitemh %s (%s ms), MPTCP default %s (%s ms), MPTCP fastest %s (%s ms)\n' "$failure" \
		"${rate[sitemh.$failure]}" "${med[sitemh.$failure]}" "${rate[mptcp.$failure]}" \
		"${med[mptcp.$failure]}" "${rate[mptcpfast.$failure]}" "${med[mptcpfast.$failure]}"
done
# The move as an operator's monitor hears of it (sitemh rows): the CONN_MOVED event.
for row in "sitemh carrier" "sitemh ce" "sitemh20 ce20"; do
	read -r site failure <<< "$row"
	ev=$(awk '$1 == "ok" { for (i = 2; i < NF; i += 2) if ($i == "event" && $(i + 1) != "-") print $(i + 1) }' \
		"/tmp/bench-sw.$site.$failure" | median)
	printf '  %-26s %-8s %9s ms from the ioctl to the "moved" event at a monitor on H (median)\n' \
		"$site" "$failure" "${ev:--}"
done
echo "MPTCP / sitemh, medians from the ioctl (carrier: from detection in brackets):"
for failure in carrier ce ce20; do
	site=sitemh
	[ "$failure" = ce20 ] && site=sitemh20
	case $failure in
	carrier) goal=50 ;;
	ce) goal=$((3 * 50 + 50)) ;;
	ce20) goal=$((3 * 20 + 50)) ;;
	esac
	line="  $(printf '%-8s' "$failure") default $(ratio "${med[mptcp.${failure%20}]}" "${med[$site.$failure]}")"
	[ "$failure" != carrier ] ||
		line+=" ($(ratio "${med[mptcp.carrier.d]}" "${med[sitemh.carrier.d]}"))"
	line+=", fastest $(ratio "${med[mptcpfast.${failure%20}]}" "${med[$site.$failure]}")"
	[ "$failure" != carrier ] ||
		line+=" ($(ratio "${med[mptcpfast.carrier.d]}" "${med[sitemh.carrier.d]}"))"
	echo "$line (goal: sitemh at most $goal ms, at least 4x faster)"
done
