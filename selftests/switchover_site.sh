# SPDX-License-Identifier: GPL-2.0
# The link-failure topology, shared by the switchover selftest and `make bench`: a host H
# of a multihomed site and a multihomed peer X. Source after lib.sh.
#
#        LAN (bridge)     192.0.2.0/30        192.0.2.16/30    192.0.2.8/30
#   H ------+------ CE1 ce1-up ---------- PE1 ---------- CE3 ----------- X .10
#  .140     |  .129                        | .21 (core)  ce3-up           |
#           |                              | .22 192.0.2.20/30            |
#           +------ CE2 ce2-up ---------- PE2 ------------------------- X .14
#               .130      192.0.2.4/30           192.0.2.12/30
#
# H holds 198.51.100.140/25 (P1) and 203.0.113.140/25 (P2) with the site's domains
# (P1 via CE1, P2 via CE2). X is a site of its own: X1 192.0.2.10 behind CE3 (P1), X2
# 192.0.2.14 on PE2's link (P2), with its domains (192.0.2.8/30 via CE3, 192.0.2.12/30 via
# PE2). The providers meet at a core link, so every pair (H_i, X_j) has a path. CE1 is
# H's P1 CE (uplink ce1-up, PE 192.0.2.2, LAN ce1-b); CE3 is X's (uplink ce3-up, PE
# 192.0.2.18, LAN ce3-x). build_switchover_site builds the
# namespaces and addresses; configure_sitemh or configure_mptcp then sets up what moves
# the connections.
#
# IPv6 has the same shape: H holds 2001:db8:1::140 (P1, via CE1 2001:db8:1::1) and
# 2001:db8:2::140 (P2, via CE2 2001:db8:2::2) on the LAN; X holds 2001:db8:10::10 behind
# CE3 (2001:db8:10::1) and 2001:db8:20::14 on PE2's link (2001:db8:20::1); the links
# between routers are 2001:db8:f1::/64 (CE1-PE1), f2 (CE2-PE2), f3 (CE3-PE1), f4 (core).

H1=198.51.100.140
H2=203.0.113.140
X1=192.0.2.10
X2=192.0.2.14
PORT=4433
H1_6=2001:db8:1::140
H2_6=2001:db8:2::140
X1_6=2001:db8:10::10
X2_6=2001:db8:20::14

# addr6 NS DEV ADDR/LEN: an IPv6 address usable at once (no duplicate detection).
addr6() {
	ip -n "$1" -6 addr add "$3" dev "$2" nodad
}

build_switchover_site() {
	setup_ns h lan ce1 ce2 ce3 pe1 pe2 x || return 1
	local var settings
	# One sysctl process per namespace. Addresses stay on a link that goes down, as
	# IPv4's do (the failure tests take links down and up again); the routers forward.
	for var in h x ce1 ce2 ce3 pe1 pe2; do
		settings="net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
			net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.accept_ra=0
			net.ipv6.conf.default.keep_addr_on_down=1"
		case $var in
		ce* | pe*) settings+=" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1" ;;
		esac
		in_ns "${!var}" sysctl -q -w $settings || return 1
	done
	# One `ip -batch` per namespace (ip_batch, lib.sh): a process costs a good fraction of
	# a second in the test VM. Every link is up (both ends) before any address or route.
	ip_batch "" <<-IP || return 1
	link add h-b netns $h type veth peer name b-h netns $lan
	link add ce1-b netns $ce1 type veth peer name b-ce1 netns $lan
	link add ce2-b netns $ce2 type veth peer name b-ce2 netns $lan
	link add ce1-up netns $ce1 type veth peer name pe1-ce netns $pe1
	link add ce2-up netns $ce2 type veth peer name pe2-ce netns $pe2
	link add ce3-up netns $ce3 type veth peer name pe1-ce3 netns $pe1
	link add ce3-x netns $ce3 type veth peer name x-ce3 netns $x
	link add pe1-core netns $pe1 type veth peer name pe2-core netns $pe2
	link add pe2-x netns $pe2 type veth peer name x-pe2 netns $x
	IP
	ip_batch "$lan" <<-IP || return 1
	link add br0 type bridge
	link set br0 up
	link set b-h master br0 up
	link set b-ce1 master br0 up
	link set b-ce2 master br0 up
	IP
	printf 'link set h-b up\n' | ip_batch "$h" || return 1
	printf 'link set %s up\n' ce1-b ce1-up | ip_batch "$ce1" || return 1
	printf 'link set %s up\n' ce2-b ce2-up | ip_batch "$ce2" || return 1
	printf 'link set %s up\n' ce3-up ce3-x | ip_batch "$ce3" || return 1
	printf 'link set %s up\n' pe1-ce pe1-ce3 pe1-core | ip_batch "$pe1" || return 1
	printf 'link set %s up\n' pe2-ce pe2-core pe2-x | ip_batch "$pe2" || return 1
	printf 'link set %s up\n' x-ce3 x-pe2 | ip_batch "$x" || return 1

	ip_batch "$h" <<-IP || return 1
	addr add $H1/25 dev h-b
	addr add $H2/25 dev h-b
	addr add $H1_6/64 dev h-b nodad
	addr add $H2_6/64 dev h-b nodad
	route add default via 198.51.100.129
	route add ::/0 via 2001:db8:1::1
	IP
	# A CE broadcasts from its LAN interface's primary address: the one hosts know it by.
	ip_batch "$ce1" <<-IP || return 1
	addr add 198.51.100.129/25 dev ce1-b
	addr add 203.0.113.129/25 dev ce1-b
	addr add 192.0.2.1/30 dev ce1-up
	addr add 2001:db8:1::1/64 dev ce1-b nodad
	addr add 2001:db8:f1::1/64 dev ce1-up nodad
	route add default via 192.0.2.2
	route add ::/0 via 2001:db8:f1::2
	IP
	ip_batch "$ce2" <<-IP || return 1
	addr add 203.0.113.130/25 dev ce2-b
	addr add 198.51.100.130/25 dev ce2-b
	addr add 192.0.2.5/30 dev ce2-up
	addr add 2001:db8:2::2/64 dev ce2-b nodad
	addr add 2001:db8:f2::1/64 dev ce2-up nodad
	route add default via 192.0.2.6
	route add ::/0 via 2001:db8:f2::2
	IP
	ip_batch "$ce3" <<-IP || return 1
	addr add 192.0.2.9/30 dev ce3-x
	addr add 192.0.2.17/30 dev ce3-up
	addr add 2001:db8:f3::1/64 dev ce3-up nodad
	addr add 2001:db8:10::1/64 dev ce3-x nodad
	route add default via 192.0.2.18
	route add ::/0 via 2001:db8:f3::2
	IP
	ip_batch "$pe1" <<-IP || return 1
	addr add 192.0.2.2/30 dev pe1-ce
	addr add 192.0.2.18/30 dev pe1-ce3
	addr add 192.0.2.21/30 dev pe1-core
	addr add 2001:db8:f1::2/64 dev pe1-ce nodad
	addr add 2001:db8:f3::2/64 dev pe1-ce3 nodad
	addr add 2001:db8:f4::1/64 dev pe1-core nodad
	route add 198.51.100.0/24 via 192.0.2.1
	route add 192.0.2.8/30 via 192.0.2.17
	route add default via 192.0.2.22
	route add 2001:db8:1::/48 via 2001:db8:f1::1
	route add 2001:db8:10::/48 via 2001:db8:f3::1
	route add ::/0 via 2001:db8:f4::2
	IP
	ip_batch "$pe2" <<-IP || return 1
	addr add 192.0.2.6/30 dev pe2-ce
	addr add 192.0.2.22/30 dev pe2-core
	addr add 192.0.2.13/30 dev pe2-x
	addr add 2001:db8:f2::2/64 dev pe2-ce nodad
	addr add 2001:db8:f4::2/64 dev pe2-core nodad
	addr add 2001:db8:20::1/64 dev pe2-x nodad
	route add 203.0.113.0/24 via 192.0.2.5
	route add 198.51.100.0/24 via 192.0.2.21
	route add default via $X2
	route add 2001:db8:2::/48 via 2001:db8:f2::1
	route add 2001:db8:1::/48 via 2001:db8:f4::1
	route add ::/0 via $X2_6
	IP
	ip_batch "$x" <<-IP || return 1
	addr add $X1/30 dev x-ce3
	addr add $X2/30 dev x-pe2
	addr add $X1_6/64 dev x-ce3 nodad
	addr add $X2_6/64 dev x-pe2 nodad
	route add 198.51.100.0/24 via 192.0.2.9
	route add 203.0.113.0/24 via 192.0.2.13
	route add 2001:db8:1::/48 via 2001:db8:10::1
	route add 2001:db8:2::/48 via 2001:db8:20::1
	IP

	# What crosses each provider's uplink, by H's source address; resets seen by X.
	for ns in "$ce1" "$ce2"; do
		in_ns "$ns" nft -f - <<-NFT || return 1
		table inet count {
			chain up {
				type filter hook forward priority 0; policy accept;
				oifname != "ce1-up" oifname != "ce2-up" return
				ip saddr $H1 counter comment "h1"
				ip saddr $H2 counter comment "h2"
				ip6 saddr $H1_6 counter comment "h1v6"
				ip6 saddr $H2_6 counter comment "h2v6"
			}
		}
		NFT
	done
	# "Fragmentation needed" and "packet too big" errors reaching H.
	in_ns "$h" nft -f - <<-NFT || return 1
	table inet count {
		chain in {
			type filter hook input priority 0; policy accept;
			icmp type destination-unreachable icmp code frag-needed counter comment "frag-needed"
			icmpv6 type packet-too-big counter comment "packet-too-big"
		}
	}
	NFT
	in_ns "$x" nft -f - <<-NFT || return 1
	table inet count {
		chain in {
			type filter hook input priority 0; policy accept;
			tcp flags & rst != 0 counter comment "rst"
		}
		chain out {
			type filter hook output priority 0; policy accept;
			tcp flags & rst != 0 counter comment "rst"
		}
	}
	NFT
	# The hosts' counters are polled: read without a process.
	keep_proc "$h" "$x"
}

# configure_sitemh: the module's configuration (loaded before): both sites' domains, the
# uplinks of CE1 and CE3, and CE1 and CE2 watching each other.
configure_sitemh() {
	in_ns "$h" sysctl -q -w net.ipv4.ip_num_domains=2 \
		net.ipv4.ip_domain.0.net_addr=198.51.100.0 net.ipv4.ip_domain.0.net_mask=/24 \
		net.ipv4.ip_domain.0.def_router=198.51.100.129 \
		net.ipv4.ip_domain.1.net_addr=203.0.113.0 net.ipv4.ip_domain.1.net_mask=/24 \
		net.ipv4.ip_domain.1.def_router=203.0.113.130 || return 1
	in_ns "$h" sysctl -q -w net.ipv6.ip_num_domains=2 \
		net.ipv6.ip_domain.0.net_addr=2001:db8:1:: net.ipv6.ip_domain.0.net_mask=/48 \
		net.ipv6.ip_domain.0.def_router=2001:db8:1::1 \
		net.ipv6.ip_domain.1.net_addr=2001:db8:2:: net.ipv6.ip_domain.1.net_mask=/48 \
		net.ipv6.ip_domain.1.def_router=2001:db8:2::2 || return 1
	in_ns "$x" sysctl -q -w net.ipv6.ip_num_domains=2 \
		net.ipv6.ip_domain.0.net_addr=2001:db8:10:: net.ipv6.ip_domain.0.net_mask=/64 \
		net.ipv6.ip_domain.0.def_router=2001:db8:10::1 \
		net.ipv6.ip_domain.1.net_addr=2001:db8:20:: net.ipv6.ip_domain.1.net_mask=/64 \
		net.ipv6.ip_domain.1.def_router=2001:db8:20::1 || return 1
	in_ns "$x" sysctl -q -w net.ipv4.ip_num_domains=2 \
		net.ipv4.ip_domain.0.net_addr=192.0.2.8 net.ipv4.ip_domain.0.net_mask=/30 \
		net.ipv4.ip_domain.0.def_router=192.0.2.9 \
		net.ipv4.ip_domain.1.net_addr=192.0.2.12 net.ipv4.ip_domain.1.net_mask=/30 \
		net.ipv4.ip_domain.1.def_router=192.0.2.13 || return 1
	in_ns "$ce3" sysctl -q -w net.ipv4.sitemh_ce.uplink=ce3-up \
		net.ipv4.sitemh_ce.pe_addr=192.0.2.18 net.ipv4.sitemh_ce.lan=ce3-x || return 1
	in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.uplink=ce1-up \
		net.ipv4.sitemh_ce.pe_addr=192.0.2.2 net.ipv4.sitemh_ce.lan=ce1-b || return 1
	# The CEs watch each other: keepalives every $CE_KEEPALIVE_MS ms, a peer silent for 3
	# is failed. 200 ms by default: a one-vCPU guest under TCG, sharing the host with
	# another, can stall timers past 150 ms and a peer would seem to fail (the benchmark
	# sets 50 and 20).
	in_ns "$ce1" sysctl -q -w net.ipv4.sitemh_ce.keepalive_ms=${CE_KEEPALIVE_MS:-200} \
		net.ipv4.sitemh_ce.peers=198.51.100.130 || return 1
	in_ns "$ce2" sysctl -q -w net.ipv4.sitemh_ce.lan=ce2-b \
		net.ipv4.sitemh_ce.keepalive_ms=${CE_KEEPALIVE_MS:-200} net.ipv4.sitemh_ce.peers=198.51.100.129 || return 1
}

# configure_mptcp: the same site for in-kernel MPTCP, without the module: H routes its P2
# address through CE2 by policy, and opens a backup subflow from it to the server's
# address (mptcp_join.sh's link_failure set-up).
configure_mptcp() {
	ip -n "$h" rule add from $H2 table 2 pref 100 || return 1
	ip -n "$h" route add default via 203.0.113.130 table 2 || return 1
	ip -n "$h" mptcp limits set subflows 2 add_addr_accepted 2 || return 1
	ip -n "$h" mptcp endpoint add $H2 dev h-b subflow backup || return 1
	ip -n "$x" mptcp limits set subflows 2 add_addr_accepted 2 || return 1
	# No blackhole detection: one MP_CAPABLE SYN lost twice (a run under LAN loss) would
	# turn active MPTCP off in H's namespace for an hour, and every later run's
	# connections would be plain TCP, without a second subflow.
	local ns
	for ns in "$h" "$x"; do
		in_ns "$ns" sysctl -q -w net.mptcp.blackhole_timeout=0 || return 1
	done
}

# count NS CHAIN NAME: packets of a named nftables counter.
count() {
	in_ns "$1" nft list chain inet count "$2" |
		sed -n "s/.*packets \([0-9]*\).*comment \"$3\".*/\1/p"
}

# field NS NAME: a field of the "switchover" line of /proc/net/sitemh.
field() {
	proc_value "$1" switchover "$2"
}

# The uplink comes back; taking it down removed the routes through it.
# (One `ip -batch` per namespace: a process costs most of a second in the test VM.)
restore_uplink() {
	ip_batch "$ce1" <<-IP
	link set ce1-up up
	route replace default via 192.0.2.2
	route replace default via 2001:db8:f1::2
	IP
}

# Everything a failure may have taken down comes back, with the routes that went with it.
restore_site() {
	printf 'link set pe1-ce up\n' | ip_batch "$pe1"
	printf 'link set ce1-b up\n' | ip_batch "$ce1"
	restore_uplink
	ip_batch "$pe1" <<-IP
	route replace 198.51.100.0/24 via 192.0.2.1
	route replace 2001:db8:1::/48 via 2001:db8:f1::1
	IP
}

# The same for the remote site's uplink.
restore_remote_uplink() {
	ip_batch "$ce3" <<-IP
	link set ce3-up up
	route replace default via 192.0.2.18
	route replace default via 2001:db8:f3::2
	IP
}

routes_h="$H1,$X1 $H1,$X2 $H2,$X1 $H2,$X2"
routes_x="$X1,$H1 $X2,$H1 $X1,$H2 $X2,$H2"
routes_h6="$H1_6,$X1_6 $H1_6,$X2_6 $H2_6,$X1_6 $H2_6,$X2_6"
routes_x6="$X1_6,$H1_6 $X2_6,$H1_6 $X1_6,$H2_6 $X2_6,$H2_6"

# down_mask NS: the domains link notices marked down in NS.
# lf_field NS NAME: a counter of the namespace's IPv4 link-failure line.
lf_field() {
	proc_value "$1" linkfail "$2"
}

down_mask() {
	proc_value "$1" linkfail down
}

# down6_mask NS: the same for the IPv6 domains.
down6_mask() {
	proc_value "$1" linkfail6 down
}

# field6 NS NAME: a field of the "switchover6" line.
field6() {
	proc_value "$1" switchover6 "$2"
}

# transfer NAME BYTES RATE_KBPS TLSFLAG ACTION...: a TLS transfer from H to X ($tls, the
# sitemh_tls program); once the client is ready, ACTION runs (e.g. the link fails). Leaves
# the outputs in $out_c/$out_s. Each end gets $limit seconds (default 120); bind, peer,
# routes_h and routes_x override H1, X1 and the routes.
# make soak sends every transfer in full; make check sends a quarter of the bytes at a
# quarter of the rate: as many seconds in flight across the failure, a quarter of the CPU
# (TCG encrypts slowly, and two guests share the host's two cores).
if soak; then
	transfer_scale=1
else
	transfer_scale=4
fi

# mib N: the MiB a transfer of N MiB sends in this run.
mib() {
	echo $(($1 / transfer_scale))
}

transfer() {
	local name=$1 bytes=$(($2 / transfer_scale)) rate=$(($3 / transfer_scale)) flag=$4
	local limit=${limit:-120}
	shift 4
	out_c=$(mktemp /tmp/sitemh-sw.XXXXXX)
	out_s=$(mktemp /tmp/sitemh-sw.XXXXXX)
	defer rm -f "$out_c" "$out_s"
	ip netns exec "$x" timeout "$limit" "$tls" server $flag ${peer:-$X1} $PORT $routes_x >"$out_s" 2>&1 &
	local server=$!
	busywait 5000 grep -q '^listening' "$out_s"
	ip netns exec "$h" timeout "$limit" "$tls" client $flag -r "$rate" ${bind:-$H1} ${peer:-$X1} $PORT "$bytes" $routes_h \
		>"$out_c" 2>&1 &
	local client=$!
	busywait 20000 grep -q '^ready' "$out_c" ||
		echo "# client never ready ($name): $(tr '\n' ' ' <"$out_c")"
	nap 0.5
	"$@"
	wait $client
	client_rc=$?
	wait $server
	server_rc=$?
	echo "# $name: client rc $client_rc: $(tr '\n' ' ' <"$out_c")"
	echo "# $name: server rc $server_rc: $(tr '\n' ' ' <"$out_s")"
}

digest_of() {
	sed -n 's/.*sha256 \([0-9a-f]*\).*/\1/p' "$1" | head -1
}

# transferred_intact: after transfer, both ends succeeded and the server read exactly what
# the client sent.
transferred_intact() {
	local rc=0
	check [ "$client_rc" -eq 0 ] || rc=1
	check [ "$server_rc" -eq 0 ] || rc=1
	check grep -q "digest match" "$out_c" || rc=1
	check [ -n "$(digest_of "$out_c")" ] || rc=1
	check [ "$(digest_of "$out_c")" = "$(digest_of "$out_s")" ] || rc=1
	return $rc
}
