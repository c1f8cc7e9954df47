#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`, guest side: the per-packet cost of source-domain routing on the forward
# path, in instructions, against baselines measured in the same run.
#
# The guest runs under QEMU's instruction counting (vm-run.sh bench-forward: one vCPU,
# -icount shift=0,sleep=off): guest time advances one nanosecond per executed instruction,
# so "ns of guest time per packet" is "instructions per packet", which repeats closely from
# run to run, unlike TCG's wall-clock speed (about ±8 %).
#
#   pktgen --> in0 [IR] out0 --> (dummy: the packet is freed)
#
# pktgen, in IR's namespace, injects UDP packets into in0's receive path (xmit_mode
# netif_receive): no user space and no second namespace runs per packet, only IR's
# receive, forward and transmit, and our hooks. Each packet comes from S (198.51.100.10,
# 2001:db8:51::10) and goes to D (192.0.2.1, 2001:db8:2::1), outside every domain.
# out0 is a dummy device: no ARP, its transmit frees the packet. Configurations:
#   baseline     module not loaded, IR routes by its main table
#   policy-16    module not loaded, 16 `ip rule from <domain> table <n>` equivalent to
#                reroute-16 (S's rule last)
#   loaded       module loaded, no domains (no hooks registered)
#   inside-16    module, 16 domains, S and D inside two of them (nothing rerouted)
#   reroute-1    module, 1 domain holding S's address: every packet rerouted
#   reroute-16   module, 16 domains, S in the last one: every packet rerouted
# Each configuration runs $PACKETS packets, round-robin over the configurations
# $RUNS times (drift spreads evenly); reported: the median of instructions per delivered
# packet, its spread (min-max over the runs), the instructions added to the baseline's,
# and throughput as a share of the baseline's.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/selftests/lib.sh"
FAMILIES=${FAMILIES:-ipv4 ipv6}
# A developer's shortcut: FAMILIES=none measures only the cost of protection (below).
[ "$FAMILIES" != none ] || FAMILIES=
# icount: a QEMU guest under -icount shift=0 (guest ns = instructions); native: User-Mode
# Linux (scripts/uml-run.sh), whose clock is the host's: more and longer runs, for noise.
BENCH_CLOCK=${BENCH_CLOCK:-icount}
if [ "$BENCH_CLOCK" = native ]; then
	RUNS=${RUNS:-7} PACKETS=${PACKETS:-1000000}
else
	RUNS=${RUNS:-5} PACKETS=${PACKETS:-200000}
fi
# The estimate per configuration: under icount the runs agree to 0.1 %, their median;
# natively other work on the machine only ever adds time, so the least disturbed run, the
# fastest.
if [ "$BENCH_CLOCK" = native ]; then
	unit=ns estimate=fastest
	clock="User-Mode Linux at native speed: ns per packet, this machine's CPU; the fastest run"
else
	unit=insn estimate=median
	clock="QEMU -icount shift=0: guest ns = instructions; bench kernel, 1 vCPU; the median run"
fi
pick() { # the estimate of sorted values on stdin
	if [ "$estimate" = fastest ]; then head -1; else awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; fi
}

# A fresh router namespace for each run: a configuration must not inherit what the one
# before left behind. (One that did: once a policy rule was ever added, the namespace's
# fib_has_custom_rules stays set, and every later route look-up walks the rules, about
# 1,260 instructions more per packet, even with the rules gone.)
router_setup() {
	setup_ns ir || exit 1
	ip -n "$ir" link add in0 type dummy
	ip -n "$ir" link add out0 type dummy
	ip -n "$ir" link set in0 up
	ip -n "$ir" link set out0 up
	ip netns exec "$ir" sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$ir" addr add 198.51.100.1/24 dev in0
	ip -n "$ir" addr add 192.0.2.254/24 dev out0
	ip -n "$ir" addr add 2001:db8:51::1/64 dev in0 nodad
	ip -n "$ir" addr add 2001:db8:2::254/64 dev out0 nodad
	# The domains' router, on out0's link: a rerouted packet leaves through out0 too.
	ip -n "$ir" route add default via 192.0.2.2 dev out0 table 100
	ip -n "$ir" -6 route add default via 2001:db8:2::2 dev out0 table 100
	in_mac=$(ip -n "$ir" -o link show in0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
}

pg() { # FILE COMMAND: one pktgen command in IR's namespace
	ip netns exec "$ir" bash -c "echo '$2' > /proc/net/pktgen/$1"
}

# The pktgen device, for FAMILY.
pktgen_setup() {
	pg kpktgend_0 rem_device_all
	pg kpktgend_0 "add_device in0"
	pg in0 "xmit_mode netif_receive"
	pg in0 "pkt_size 64"
	pg in0 "delay 0"
	pg in0 "burst 1"
	pg in0 "dst_mac $in_mac"
	pg in0 "udp_src_min 9"
	pg in0 "udp_src_max 9"
	pg in0 "udp_dst_min 9"
	pg in0 "udp_dst_max 9"
	if [ "$1" = ipv6 ]; then
		pg in0 "src6 2001:db8:51::10"
		pg in0 "dst6 2001:db8:2::1"
	else
		pg in0 "src_min 198.51.100.10"
		pg in0 "src_max 198.51.100.10"
		pg in0 "dst 192.0.2.1"
	fi
}

tx_packets() { ip netns exec "$ir" cat /sys/class/net/out0/statistics/tx_packets; }

# One run of COUNT packets: "instructions-per-delivered-packet delivered".
run_once() {
	local before after usec
	pg in0 "count $1"
	before=$(tx_packets)
	pg pgctrl start
	after=$(tx_packets)
	usec=$(ip netns exec "$ir" cat /proc/net/pktgen/in0 |
		sed -n 's/^Result: OK: \([0-9]*\)(.*/\1/p')
	awk -v u="${usec:-0}" -v n=$((after - before)) \
		'BEGIN { if (n > 0 && u > 0) printf "%.1f %d\n", u * 1000 / n, n; else print "0 0" }'
}

# domains FAMILY N HOLDS: N domains in IR, none holding S or D (no), S's in the last (last),
# or S's and D's in the first two (both).
domains() {
	local family=$1 n=$2 holds=$3 i k net router
	if [ "$family" = ipv6 ]; then
		k=/proc/sys/net/ipv6 router=2001:db8:2::2
	else
		k=/proc/sys/net/ipv4 router=192.0.2.2
	fi
	ip netns exec "$ir" bash -c "echo $n > $k/ip_num_domains"
	for i in $(seq 0 $((n - 1))); do
		if [ "$family" = ipv6 ]; then net="2001:db8:1$(printf %02x "$i")::" mask=/64
		else net=10.$i.0.0 mask=/24; fi
		[ "$holds" = last ] && [ "$i" = $((n - 1)) ] &&
			net=$([ "$family" = ipv6 ] && echo 2001:db8:51:: || echo 198.51.100.0)
		[ "$holds" = both ] && [ "$i" = 0 ] &&
			net=$([ "$family" = ipv6 ] && echo 2001:db8:2:: || echo 192.0.2.0)
		[ "$holds" = both ] && [ "$i" = 1 ] &&
			net=$([ "$family" = ipv6 ] && echo 2001:db8:51:: || echo 198.51.100.0)
		ip netns exec "$ir" bash -c "
			echo $mask > $k/ip_domain/$i/net_mask
			echo $net > $k/ip_domain/$i/net_addr
			echo $router > $k/ip_domain/$i/def_router"
	done
}

# rules FAMILY add|del: the 16 policy rules equivalent to reroute-16's domains.
rules() {
	local family=$1 op=$2 i from v
	v=$([ "$family" = ipv6 ] && echo -6 || echo -4)
	for i in $(seq 0 15); do
		if [ "$family" = ipv6 ]; then from="2001:db8:1$(printf %02x "$i")::/64"
		else from=10.$i.0.0/24; fi
		[ "$i" = 15 ] && from=$([ "$family" = ipv6 ] && echo 2001:db8:51::/64 || echo 198.51.100.0/24)
		ip -n "$ir" "$v" rule "$op" from "$from" table 100 pref $((100 + i)) 2>/dev/null
	done
}

configure() { # FAMILY NAME
	run_cleanup
	case $2 in
	baseline | policy-16) unload_module ;;
	*) load_module || { echo "cannot load $SITEMH_KO" >&2; exit 1; } ;;
	esac
	router_setup
	case $2 in
	policy-16) rules "$1" add ;;
	inside-16) domains "$1" 16 both ;;
	reroute-1) domains "$1" 1 last ;;
	reroute-16) domains "$1" 16 last ;;
	esac
	pktgen_setup "$1"
}

# Lets the work a configuration change leaves to run later end before a run: the namespace
# of the configuration before is dismantled by a worker after `ip netns del` returns, and
# module loads and unloads leave RCU callbacks; a run on the same CPU could pay for them.
# An idle second costs nothing under icount (sleep=off: idle guest time is skipped).
settle() {
	sleep 1
}

# PROFILE=1 (a developer's tool, not part of make bench; icount only): where a rerouted
# packet's instructions go. perf samples the guest by its clock (cpu-clock: under icount,
# every few million instructions) while pktgen sends PROFILE_PACKETS packets in the
# baseline and in reroute-1; each function's share of the samples (idle left out) times
# the configuration's instructions per packet is its instructions per packet. The
# functions whose figure differs most between the two are printed, per family. About
# 16,000 samples for 16 million packets: a function's figure is good to about 10
# instructions.
if [ -n "${PROFILE:-}" ] && [ "$BENCH_CLOCK" = icount ]; then
	command -v perf > /dev/null || { echo "PROFILE needs perf (scripts/setup.sh installs it)" >&2; exit 1; }
	sysctl -q -w kernel.perf_cpu_time_max_percent=0
	for family in $FAMILIES; do
		for c in baseline reroute-1; do
			configure "$family" "$c"
			settle
			run_once 2000 > /dev/null
			run_once 100000 | awk '{ print $1 }' > "/tmp/bench-prof.$family.$c.insn"
			pg in0 "count ${PROFILE_PACKETS:-16000000}"
			ip netns exec "$ir" perf record -q -a -e cpu-clock -o "/tmp/bench-prof.$family.$c.data" \
				-- bash -c 'echo start > /proc/net/pktgen/pgctrl' > /dev/null 2>&1
			perf report -q -i "/tmp/bench-prof.$family.$c.data" --sort sym 2>/dev/null |
				awk '$2 == "[k]" { sub("%", "", $1); print $1, $3 }' > "/tmp/bench-prof.$family.$c.txt"
		done
		echo "Profile, $family, instructions per packet by function (reroute-1 less baseline):"
		python3 - "$family" <<'PY'
import sys
family = sys.argv[1]
def load(config):
    shares = {}
    for line in open(f"/tmp/bench-prof.{family}.{config}.txt"):
        pct, sym = line.split(maxsplit=1)
        shares[sym.strip()] = float(pct)
    busy = sum(v for k, v in shares.items() if k != "default_idle")
    insn = float(open(f"/tmp/bench-prof.{family}.{config}.insn").read() or 0)
    return {k: v / busy * insn for k, v in shares.items() if k != "default_idle" and busy}
base, rerouted = load("baseline"), load("reroute-1")
rows = sorted(((rerouted.get(s, 0) - base.get(s, 0), s) for s in set(base) | set(rerouted)),
              reverse=True)
print(f"  total {sum(base.values()):.0f} -> {sum(rerouted.values()):.0f}")
for row in rows[:12] + [None] + rows[-5:]:
    if row is None:
        print("  ...")
        continue
    diff, sym = row
    print(f"  {diff:+7.1f} {base.get(sym, 0):7.1f} -> {rerouted.get(sym, 0):7.1f}  {sym[:80]}")
PY
	done
	run_cleanup
	unload_module
	exit 0
fi

configs="baseline policy-16 loaded inside-16 reroute-1 reroute-16"
rm -f /tmp/bench-fwd.*
for family in $FAMILIES; do
	for round in $(seq 1 "$RUNS"); do
		for c in $configs; do
			configure "$family" "$c"
			settle
			# A short warm-up run: neighbour and route caches, the module's first packet,
			# and the work a configuration change leaves behind (RCU callbacks, workers).
			run_once 2000 > /dev/null
			out=$(run_once "$PACKETS")
			echo "# $family $c round $round: $out ($unit/packet, delivered)" >&2
			echo "$out" >> "/tmp/bench-fwd.$family.$c"
		done
		if [ "$round" = 1 ]; then
			ip netns exec "$ir" cat /proc/net/sitemh 2>/dev/null | sed 's/^/# /' >&2
		fi
	done
done
run_cleanup
unload_module

echo "Forward path, 64-octet UDP from pktgen through a router, $PACKETS packets x $RUNS runs per"
echo "configuration ($clock):"
for family in $FAMILIES; do
	echo "  $family:"
	base=$(awk '{ print $1 }' "/tmp/bench-fwd.$family.baseline" | sort -g | pick)
	for c in $configs; do
		# Paired: the median over rounds of the run's figure less the same round's baseline
		# (slow drift, which moves both, cancels).
		paired=$(paste -d' ' "/tmp/bench-fwd.$family.$c" "/tmp/bench-fwd.$family.baseline" |
			awk '$1 > 0 && $3 > 0 { print $1 - $3 }' | sort -g |
			awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')
		awk '{ print $1, $2 }' "/tmp/bench-fwd.$family.$c" | sort -g | awk -v c="$c" -v base="$base" \
			-v want="$PACKETS" -v unit="$unit" -v fastest=$([ "$estimate" = fastest ] && echo 1 || echo 0) \
			-v paired="$paired" \
			'{ v[NR] = $1; if ($2 < want) short++ }
			END { m = fastest ? v[1] : v[int((NR + 1) / 2)]
			if (m == 0) { printf "    %-11s no packets delivered\n", c; exit }
			printf "    %-11s %7.1f %s/packet (runs %.1f-%.1f, spread %.1f%%) %+7.1f vs baseline, %5.1f%% of baseline throughput; paired %+.1f%s\n",
				c, m, unit, v[1], v[NR], 100 * (v[NR] - v[1]) / m, m - base, 100 * base / m,
				paired, short ? sprintf(" (%d runs lost packets)", short) : "" }'
	done
done

# The cost of opportunistic protection (issue 19), by the same clock: two hosts H and X
# on one veth link, the module loaded in both, net.ipv4.sitemh_lf.auto 0 against 1 (the
# two ends agree on keys for every TCP connection and exchange route lists):
#   set-up     `sitemh_tool connects`: N connections from H to a one-octet echo at X
#              (connect, one octet there and back, close), per connection; with auto=1
#              each SYN is noted and the connection offered keys once established
#   transfer   stock iperf3 from H to X over one connection (protected with auto=1), its
#              second second (the first, with the key agreement, omitted), per full-sized
#              segment (segmentation offloads off: one packet per MTU)
# Reported like the forward path: the estimate of PROTECT_RUNS rounds, the modes taking
# turns, and the difference auto=1 - auto=0.
# (Under icount only: instructions; not tried in User-Mode Linux.)
[ "$BENCH_CLOCK" = icount ] || exit 0
PROTECT_RUNS=${PROTECT_RUNS:-$RUNS}
PROTECT_CONNS=${PROTECT_CONNS:-200}
H=198.51.100.140 X=192.0.2.10
protect_setup() { # AUTO
	run_cleanup
	load_module || { echo "cannot load $SITEMH_KO" >&2; exit 1; }
	setup_ns h x || exit 1
	ip -n "$h" link add h0 type veth peer name x0 netns "$x"
	ip -n "$h" addr add $H/24 dev h0
	ip -n "$x" addr add $X/24 dev x0
	ip -n "$h" link set h0 up
	ip -n "$x" link set x0 up
	ip -n "$h" route add 192.0.2.0/24 dev h0
	ip -n "$x" route add 198.51.100.0/24 dev x0
	ip netns exec "$h" ethtool -K h0 tso off gso off gro off >/dev/null 2>&1
	ip netns exec "$x" ethtool -K x0 tso off gso off gro off >/dev/null 2>&1
	for ns in "$h" "$x"; do
		ip netns exec "$ns" sysctl -q -w net.ipv4.sitemh_lf.auto="$1"
	done
	ip netns exec "$x" "$root/selftests/sitemh_tool" serve $X 5300 >/dev/null &
	defer kill $!
	ip netns exec "$x" iperf3 -s -B $X -p 5201 >/dev/null 2>&1 &
	defer kill $!
	sleep 1
}
rm -f /tmp/bench-protect.*
for round in $(seq 1 "$PROTECT_RUNS"); do
	for auto in 0 1; do
		protect_setup "$auto"
		ip netns exec "$h" "$root/selftests/sitemh_tool" connects $H $X 5300 20 >/dev/null
		out=$(ip netns exec "$h" "$root/selftests/sitemh_tool" connects $H $X 5300 "$PROTECT_CONNS")
		echo "# protect auto=$auto round $round: $out" >&2
		echo "$out" | awk '{ print $4 }' >> "/tmp/bench-protect.setup.$auto"
		# Steady state: the first second (the key agreement, iperf3's start) omitted,
		# then one second by iperf3's own clock (guest time), per full-sized segment.
		ip netns exec "$h" iperf3 -J -c $X -B $H -p 5201 -t 2 -O 1 > /tmp/bench-protect.json 2>&1 ||
			echo "# protect auto=$auto round $round: iperf3 failed" >&2
		read -r ns packets < <(python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))["end"]["sum_sent"]
print(int(e["seconds"] * 1e9), e["bytes"] // 1448)' /tmp/bench-protect.json 2>/dev/null || echo 0 0)
		awk -v t="$ns" -v n="$packets" 'BEGIN { printf "%.1f\n", (n > 0 ? t / n : 0) }' \
			>> "/tmp/bench-protect.transfer.$auto"
		echo "# protect auto=$auto round $round: $packets segments in $((ns / 1000)) us;" \
			"$(ip netns exec "$h" grep '^switchover ' /proc/net/sitemh |
				awk '{ for (i = 2; i < NF; i += 2) if ($i == "auto_protected") print "protected", $(i + 1) }')" >&2
	done
done
run_cleanup
unload_module
echo "Opportunistic protection, net.ipv4.sitemh_lf.auto=1 against 0 on both ends, $PROTECT_RUNS runs ($clock):"
for what in setup transfer; do
	a0=$(sort -g "/tmp/bench-protect.$what.0" | pick)
	a1=$(sort -g "/tmp/bench-protect.$what.1" | pick)
	spread="runs $(sort -g "/tmp/bench-protect.$what.0" | sed -n '1p;$p' | paste -sd-) and $(sort -g "/tmp/bench-protect.$what.1" | sed -n '1p;$p' | paste -sd-)"
	case $what in
	setup) desc="per TCP connection (connect, one octet there and back, close; $PROTECT_CONNS)" ;;
	transfer) desc="per full-sized segment of an iperf3 transfer, its second second (the first, with the key agreement, omitted)" ;;
	esac
	awk -v a0="$a0" -v a1="$a1" -v d="$desc" -v s="$spread" -v u="$([ "$unit" = insn ] && echo insn || echo ns)" 'BEGIN {
		if (a0 <= 0 || a1 <= 0) { printf "  %s: no figure\n", d; exit }
		printf "  %s\n    auto=0 %.1f, auto=1 %.1f %s: %+.1f (%+.1f%%; %s)\n", d, a0, a1, u, a1 - a0, 100 * (a1 - a0) / a0, s }'
done
