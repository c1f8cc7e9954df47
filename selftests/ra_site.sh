# SPDX-License-Identifier: GPL-2.0
# The router-advertisement topology, shared by sitemh_ra.sh and `make bench`: a host H
# with a link to each of two CEs, each CE running radvd for its provider's prefix:
#
#   CE1 ce1-h ---- h-ce1 H h-ce2 ---- ce2-h CE2
#   radvd: 2001:db8:1::/64              radvd: 2001:db8:2::/64
#
# Commands enter a namespace with nsenter --net: ip netns exec also remounts /sys, which
# costs about half a second a process in the test VM.
# build_ra_site makes the namespaces ($h, $ce1, $ce2) and the configurations; radvd is
# started by start_radvd. Source after lib.sh.

OUTSIDE=2001:db8:99::1
scratch=$(mktemp -d)
defer rm -rf "$scratch"

# radvd_conf CE PREFIX ROUTER_LIFETIME: CE's configuration, advertising every 3-4 s.
radvd_conf() {
	cat > "$scratch/$1.conf" <<-CONF
	interface $1-h {
		AdvSendAdvert on;
		MinRtrAdvInterval 3;
		MaxRtrAdvInterval 4;
		AdvDefaultLifetime $3;
		prefix $2 {
			AdvOnLink on;
			AdvAutonomous on;
			AdvValidLifetime 600;
			AdvPreferredLifetime 300;
		};
	};
	CONF
}

# start_radvd CE NS: radvd in NS, in the foreground of a background job.
start_radvd() {
	ip netns exec "$2" radvd -n -C "$scratch/$1.conf" -p "$scratch/$1.pid" -m stderr \
		>"$scratch/$1.log" 2>&1 &
	eval "radvd_$1=$!"
}

# stop_radvd CE [SIGNAL]: TERM makes radvd send a last RA with router lifetime 0; KILL
# makes it go silent.
stop_radvd() {
	local pid
	eval "pid=\${radvd_$1:-}"
	[ -n "$pid" ] || return 0
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "radvd_$1="
}

learned() {
	nsenter --net="/run/netns/$h" awk '$1 == "learned6" { print $2, $3 }' /proc/net/sitemh
}

# learns PREFIX CE-IFNAME: H learned PREFIX from the router on its interface to that CE.
learns() {
	learned | grep -q "^$1 fe80::[0-9a-f:]*%$2\$"
}

ra_field() {
	nsenter --net="/run/netns/$h" awk -v f="$1" \
		'$1 == "ra6" { for (i = 2; i < NF; i += 2) if ($i == f) print $(i + 1) }' /proc/net/sitemh
}

# H's SLAAC address in PREFIX (a /64 as 2001:db8:N::).
slaac_addr() {
	nsenter --net="/run/netns/$h" ip -6 -o addr show | awk -v p="$1" 'index($4, p) == 1 { sub("/.*", "", $4); print $4; exit }'
}

ce_count() {
	nsenter --net="/run/netns/$1" nft list chain inet count pre | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# leaves_via SRC CE OTHER: H's pings from SRC to an outside address reach CE, not OTHER.
leaves_via() {
	local b1 b2
	b1=$(ce_count "$2") b2=$(ce_count "$3")
	nsenter --net="/run/netns/$h" ping -q -c 3 -i 0.2 -W 1 -I "$1" $OUTSIDE >/dev/null 2>&1
	[ "$(ce_count "$2")" -ge $((b1 + 3)) ] && [ "$(ce_count "$3")" -eq "$b2" ]
}

build_ra_site() {
	setup_ns h ce1 ce2 || return 1
	local ce
	# No duplicate address detection: SLAAC addresses usable at once.
	nsenter --net="/run/netns/$h" sysctl -q -w net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 || return 1
	for ce in ce1 ce2; do
		local ns
		eval "ns=\$$ce"
		ip link add "h-$ce" netns "$h" type veth peer name "$ce-h" netns "$ns" || return 1
		nsenter --net="/run/netns/$ns" sysctl -q -w net.ipv6.conf.all.forwarding=1 || return 1
		ip -n "$ns" link set "$ce-h" up || return 1
		# Which CE H's packets to the outside reach.
		nsenter --net="/run/netns/$ns" nft -f - <<-NFT || return 1
		table inet count {
			chain pre { type filter hook prerouting priority -300; ip6 daddr $OUTSIDE counter; }
		}
		NFT
	done
	ip -n "$h" link set h-ce1 up && ip -n "$h" link set h-ce2 up || return 1
	radvd_conf ce1 2001:db8:1::/64 1800
	radvd_conf ce2 2001:db8:2::/64 1800
	# Until the script ends, whatever case started them.
	defer stop_radvd ce1 KILL
	defer stop_radvd ce2 KILL
}

