#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`, guest side, part "scale" (issue 21 item 7): how long after provider 1's link
# fails the last of $SCALE_CONNS protected connections (1,000; 10,000 under `make soak`,
# SITEMH_SOAK=1) between H and X of the switchover topology (selftests/switchover_site.sh)
# carries data on its new pair (scripts/switchover_scale.py), $SCALE_RUNS runs. Counted from
# when CE1 saw its uplink fail, as the switchover part counts.
#
# The per-peer limits of the exchange (net.ipv4.sitemh_lf.peer_rate, 1,000 messages a
# second by default) are lifted on H and X: with them, moving 10,000 connections to one
# peer takes 10 s by design, and that is the limit's time, not the switchover's.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/selftests/lib.sh"
source "$root/selftests/switchover_site.sh"
if [ -n "${SITEMH_SOAK:-}" ]; then
	conns=${SCALE_CONNS:-10000}
else
	conns=${SCALE_CONNS:-1000}
fi
runs=${SCALE_RUNS:-3}

load_module
CE_KEEPALIVE_MS=50 build_switchover_site && CE_KEEPALIVE_MS=50 configure_sitemh || exit 1
for ns in "$h" "$x"; do
	ip netns exec "$ns" sysctl -q -w net.ipv4.sitemh_lf.peer_rate=0 || exit 1
done
: > /tmp/bench-scale
for i in $(seq 1 "$runs"); do
	out=$(python3 "$root/scripts/switchover_scale.py" "$conns" "$h" "$x" "$pe1" pe1-ce "$ce1")
	echo "# scale run $i: $out" >&2
	echo "$out" >> /tmp/bench-scale
	ip netns exec "$h" grep '^switchover ' /proc/net/sitemh | sed 's/^/#   H: /' >&2
	restore_site
	busywait_eq 20000 0x0 down_mask "$h" || echo "# scale run $i: the domain stayed down" >&2
	# The sockets were reset: the next run starts with nothing tracked.
	busywait_eq 20000 0 field "$h" tracked && busywait_eq 20000 0 field "$x" tracked ||
		echo "# scale run $i: connections still tracked" >&2
done
run_cleanup
unload_module

echo
echo "Switchover at scale: $conns protected TCP connections, provider 1's link fails (TCG, bench kernel):"
awk '$1 == "ms" && $2 == "first" { n++; f[n] = $3; m[n] = $5; l[n] = $7; mv[n] = $9 }
	$1 == "ms" && $2 == "timeout" { t++ }
	END {
		for (i = 1; i <= n; i++)
			printf "  run %d: first %8.1f ms  median %8.1f ms  last %8.1f ms  (%d moved)\n", i, f[i], m[i], l[i], mv[i]
		if (t) printf "  %d run(s) timed out\n", t
	}' /tmp/bench-scale
