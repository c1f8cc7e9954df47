#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# sitemhctl (tools/sitemhctl, built on the host by `make sitemhctl`) against the module:
# domain edits through ip_domain_table (text and JSON), refusals that leave the table as
# it was (checked here, and by the kernel: ENODEV, EPERM, EACCES), the pairs the module
# ranks, in its order, the counters after a rerouted ping, and `monitor`'s events (R
# turned CE for a moment: its notices, heard by H).
#
#   +---+ h0   198.51.100.10/24   r0 +---+ lo: 192.0.2.1/32 (outside every domain)
#   | H |-----------------------------| R |
#   +---+      203.0.113.10/24        +---+ 198.51.100.1, 203.0.113.1
#
# IPv6 gets a domain too, its router named by link-local address (fe80::1%h0).
#
# H is the script's own network namespace (it runs itself again under `unshare --net`),
# so that sitemhctl, cat and sysctl run without `ip netns exec`, whose mount namespace
# and sysfs remount cost a good fraction of a second each in the test VM. The JSON
# documents the cases save are read by one Python run at the end (test_json): a Python
# start costs seconds there too.

if [ -z "${SITEMH_CTL_INNER:-}" ]; then
	SITEMH_CTL_INNER=1 unshare --net -- bash "$0" "$@"
	rc=$?
	# Unloaded once the namespace H is gone with the inner script.
	! grep -q '^sitemh ' /proc/modules || rmmod sitemh || rc=1
	exit $rc
fi

source "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
ctl=$top/tools/sitemhctl/target/release/sitemhctl
tool=$top/selftests/sitemh_tool
X=192.0.2.1
T4=/proc/sys/net/ipv4/ip_domain_table
T6=/proc/sys/net/ipv6/ip_domain_table

jsondir=$(mktemp -d /tmp/sitemh-ctl.XXXXXX)
defer rm -rf "$jsondir"

# ctl ARGS...: sitemhctl (in H, this script's namespace).
ctl() {
	"$ctl" "$@"
}

# table FAMILY: the domain table (read by the shell: no process).
table() {
	local t
	IFS= read -r t < "/proc/sys/net/$1/ip_domain_table"
	echo "$t"
}

# knob NAME [VALUE]: a sysctl of H as `sysctl -n` prints it, or VALUE written to it, by
# the shell (no process).
knob() {
	local v
	if [ $# -gt 1 ]; then
		printf '%s\n' "$2" > "/proc/sys/${1//.//}"
		return
	fi
	IFS= read -r v < "/proc/sys/${1//.//}"
	echo "$v"
}

# has_line TEXT LINE: TEXT has LINE as one of its lines (no grep process).
has_line() {
	[[ $'\n'"$1"$'\n' == *$'\n'"$2"$'\n'* ]] && return 0
	echo "# no line '$2' in:"
	printf '#   %s\n' "${1//$'\n'/$'\n'#   }"
	return 1
}

# ctl_fails STATUS MESSAGE ARGS...: sitemhctl ARGS in H (run by "${as[@]}", if set)
# exits STATUS, says MESSAGE on stderr (after "Error: "), prints nothing on stdout, and
# both tables stay as they were.
as=()
ctl_fails() {
	local want=$1 msg=$2 before4 before6 out err status
	shift 2
	before4=$(table ipv4)
	before6=$(table ipv6)
	out=$("${as[@]}" "$ctl" "$@" 2>"$jsondir/err")
	status=$?
	err=$(< "$jsondir/err")
	if [ "$status" -ne "$want" ] || [[ $err != "Error: "*"$msg"* ]] || [ -n "$out" ]; then
		echo "# sitemhctl $*: exit $status (want $want), stderr '$err', stdout '$out'"
		return 1
	fi
	check [ "$(table ipv4)" = "$before4" ] || return 1
	check [ "$(table ipv6)" = "$before6" ] || return 1
}

# write_table FAMILY TEXT: TEXT to ip_domain_table, as a plain write.
write_table() {
	printf '%s\n' "$2" > "/proc/sys/net/$1/ip_domain_table"
}

setup() {
	setup_ns r || return 1
	ip link add h0 type veth peer name r0 netns "$r" || return 1
	ip_batch "" <<-IP || return 1
	link set lo up
	link set h0 up
	addr add 198.51.100.10/24 dev h0
	addr add 203.0.113.10/24 dev h0
	route add default via 198.51.100.1
	IP
	ip_batch "$r" <<-IP || return 1
	link set r0 up
	addr add 198.51.100.1/24 dev r0
	addr add 203.0.113.1/24 dev r0
	addr add $X/32 dev lo
	IP
}

test_add_show() {
	local rc=0 out
	check ctl domain add 198.51.100.0/24 via 198.51.100.1 || rc=1
	check ctl domain add 203.0.113.0/24 via 203.0.113.1 || rc=1
	check ctl domain add 10.99.0.0/16 || rc=1
	check ctl domain add 2001:db8:1::/48 via fe80::1%h0 || rc=1
	check prints "198.51.100.0/24 198.51.100.1, 203.0.113.0/24 203.0.113.1, 10.99.0.0/16 private" \
		table ipv4 || rc=1
	check prints "2001:db8:1::/48 fe80::1%h0" table ipv6 || rc=1
	check prints 3 knob net.ipv4.ip_num_domains || rc=1
	check prints 10.99.0.0 knob net.ipv4.ip_domain.2.net_addr || rc=1
	out=$(ctl show domains)
	has_line "$out" "  0: 198.51.100.0/24 via 198.51.100.1 source manual state UP" || rc=1
	has_line "$out" "  2: 10.99.0.0/16 private source manual state UP" || rc=1
	has_line "$out" "  0: 2001:db8:1::/48 via fe80::1%h0 source manual state UP" || rc=1
	ctl -j show > "$jsondir/show.json" || rc=1
	log_test $rc "domain add x3 (+IPv6 %ifname) writes ip_domain_table; show lists them"
}

test_del_set() {
	local rc=0
	# The private domain's attributes move with it from index 2 to 1.
	knob net.ipv4.ip_domain.2.hops 7
	check ctl domain del 203.0.113.0/24 || rc=1
	check prints "198.51.100.0/24 198.51.100.1, 10.99.0.0/16 private" table ipv4 || rc=1
	check prints 7 knob net.ipv4.ip_domain.1.hops || rc=1
	ctl -j domain set 10.99.0.0/16 via 10.99.0.1 > "$jsondir/set.json" || rc=1
	check prints "198.51.100.0/24 198.51.100.1, 10.99.0.0/16 10.99.0.1" table ipv4 || rc=1
	check prints 7 knob net.ipv4.ip_domain.1.hops || rc=1
	check ctl -6 domain flush || rc=1
	check prints "" table ipv6 || rc=1
	check prints 0 knob net.ipv6.ip_num_domains || rc=1
	log_test $rc "domain del renumbers (attributes follow), set changes a router, flush"
}

test_refused() {
	local rc=0 i before full
	ctl_fails 1 "prefix 198.51.100.7/24 has host bits set" domain add 198.51.100.7/24 || rc=1
	ctl_fails 1 "domain 198.51.100.0/24 exists" domain add 198.51.100.0/24 || rc=1
	ctl_fails 1 "no domain 192.0.2.0/24" domain del 192.0.2.0/24 || rc=1
	ctl_fails 255 "\"domain add\" takes" domain add 192.0.2.0/24 192.0.2.1 || rc=1
	# The kernel's own refusal: an interface it does not know.
	ctl_fails 2 "writing net.ipv6.ip_domain_table: No such device" \
		domain add 2001:db8:2::/48 via fe80::2%nosuch || rc=1
	# 16 at most: a full table (written here in one go), then one more.
	before=$(table ipv4)
	full=$before
	for ((i = 2; i <= 15; i++)); do
		full="$full, 10.$((100 + i)).0.0/16 private"
	done
	check write_table ipv4 "$full" || rc=1
	check prints 16 knob net.ipv4.ip_num_domains || rc=1
	ctl_fails 1 "the ipv4 table is full (16 domains)" domain add 192.0.2.0/24 || rc=1
	check write_table ipv4 "$before" || rc=1
	check prints 2 knob net.ipv4.ip_num_domains || rc=1
	log_test $rc "bad input: exit 1/2/255 with Error: ..., table unchanged"
}

test_unprivileged() {
	local rc=0
	# A plain user meets the file's mode; root without CAP_NET_ADMIN, the module.
	as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	ctl_fails 2 "writing net.ipv4.ip_domain_table: Permission denied" \
		domain add 192.0.2.0/24 || rc=1
	as=(setpriv --bounding-set -net_admin)
	ctl_fails 2 "writing net.ipv4.ip_domain_table: Operation not permitted" \
		domain add 192.0.2.0/24 || rc=1
	as=()
	log_test $rc "unprivileged writes refused (exit 2), the table unchanged"
}

test_pairs() {
	local rc=0 mine theirs ours= line
	check ctl domain set 10.99.0.0/16 private || rc=1
	check ctl domain add 203.0.113.0/24 via 203.0.113.1 || rc=1
	# P2 (index 2) has the wider path: its pair ranks first, though its address is second.
	knob net.ipv4.ip_domain.0.path_bandwidth 1000
	knob net.ipv4.ip_domain.2.path_bandwidth 5000
	mine=$(ctl pairs $X)
	theirs=$("$tool" rank $X)
	# The same pairs in the same order: "N: SRC -> DST ..." against "SRC DST ...".
	while read -r line; do
		[[ $line =~ ^[0-9]+:\ ([^ ]+)\ -\>\ ([^ ]+) ]] && ours+="${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"$'\n'
	done <<< "$mine"
	theirs=$(while read -r s d _; do [[ $s == \#* ]] || echo "$s $d"; done <<< "$theirs")
	check [ "$ours" = "$theirs"$'\n' ] || { echo "# sitemhctl: $ours# sitemh_tool: $theirs"; rc=1; }
	has_line "$mine" "  1: 203.0.113.10 -> $X domain 2 bandwidth 5000 hops 0 latency_us 0" || rc=1
	has_line "$mine" "  2: 198.51.100.10 -> $X domain 0 bandwidth 1000 hops 0 latency_us 0" || rc=1
	[[ $mine == *"service best-effort, ranked by bandwidth then hops"* ]] || rc=1
	ctl -j pairs $X tos 0x10 > "$jsondir/pairs.json" || rc=1
	log_test $rc "pairs HOST lists the module's pairs in its order, with the weights"
}

test_counters() {
	local rc=0 out
	check ping -c 1 -W 2 -I 198.51.100.10 $X > /dev/null || rc=1
	out=$(ctl show domains hooks)
	[[ $out == *"  0: 198.51.100.0/24 via 198.51.100.1 source manual state UP"$'\n'"     rerouted "[1-9]* ]] ||
		{ has_line "$out" "(rerouted > 0 on domain 0)"; rc=1; }
	[[ $out == *$'\n'"hooks: "*"ip:output"* ]] || rc=1
	ctl -j show domains > "$jsondir/counters.json" || rc=1
	log_test $rc "show: a rerouted ping counts on its domain; hooks in place"
}

# has_lines FILE N: FILE has N lines (read by the shell).
has_lines() {
	local lines
	mapfile -t lines < "$1"
	[ ${#lines[@]} -eq "$2" ]
}

# gone PID: the process has exited.
gone() {
	! kill -0 "$1" 2>/dev/null
}

test_monitor() {
	local rc=0 m=$jsondir/mon pids=() pid err line
	local nsr=(nsenter --net="/run/netns/$r")
	local user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	# R becomes P1's CE, its uplink a dummy, its LAN r0, whose first address (the source
	# of its broadcasts) is H's router of domain 0; one copy per notice. (nsenter, not
	# ip -n: no mount namespace and sysfs to set up, which is slow in the test VM.)
	check "${nsr[@]}" ip link add up0 up type dummy || rc=1
	check "${nsr[@]}" sysctl -q -w net.ipv4.sitemh_ce.uplink=up0 net.ipv4.sitemh_ce.pe_addr=192.0.2.2 \
		net.ipv4.sitemh_ce.lan=r0 net.ipv4.sitemh_ce.repeats=0 net.ipv4.sitemh_ce.refresh_ms=0 || rc=1
	defer "${nsr[*]}" sysctl -q -w net.ipv4.sitemh_ce.uplink=
	# In H: JSON and text from "events" (the default, and named), only IPv6 (none come),
	# and a plain user's default (which falls back to "own"); in R, the notices it sends.
	"$ctl" -j monitor --count 4 > "$m.json" 2> "$m.json.err" &
	pids+=($!)
	"$ctl" monitor events count 4 > "$m.txt" 2>&1 &
	pids+=($!)
	"${nsr[@]}" "$ctl" monitor -c 4 > "$m.ce" 2>&1 &
	pids+=($!)
	"$ctl" -6 monitor > "$m.v6" 2>&1 &
	pids+=($!)
	"${user[@]}" "$ctl" monitor > "$m.user" 2> "$m.user.err" &
	pids+=($!)
	defer kill "${pids[@]}"
	for pid in "${pids[@]}"; do
		check busywait 5000 joined "$pid" || rc=1
	done
	# Down, seen by H, then up: notice_received and domain_down, then again with _up.
	"${nsr[@]}" ip link set up0 down
	check busywait 3000 grep -q '^domain_down' "$m.txt" || rc=1
	"${nsr[@]}" ip link set up0 up
	for pid in "${pids[@]:0:3}"; do
		check busywait 3000 gone "$pid" || rc=1
	done
	check has_lines "$m.txt" 4 || rc=1
	local text
	text=$(< "$m.txt")
	for line in "notice_received ipv4 code 1 (CE-PE link) router 198.51.100.1 gateway 192.0.2.2 dev h0" \
		"domain_down ipv4 domain 0" \
		"notice_received ipv4 code 5 (link restored) router 198.51.100.1 gateway 192.0.2.2 dev h0" \
		"domain_up ipv4 domain 0"; do
		has_line "$text" "$line" || rc=1
	done
	text=$(< "$m.ce")
	has_line "$text" "notice_sent ipv4 code 1 (CE-PE link) gateway 192.0.2.2 dev r0" || rc=1
	has_line "$text" "notice_sent ipv4 code 5 (link restored) gateway 192.0.2.2 dev r0" || rc=1
	# And their IPv6 copies (r0 has an IPv6 address), naming the PE by its IPv4-mapped
	# address (no IPv6 pe_addr).
	has_line "$text" "notice_sent ipv6 code 1 (CE-PE link) gateway ::ffff:192.0.2.2 dev r0" || rc=1
	has_line "$text" "notice_sent ipv6 code 5 (link restored) gateway ::ffff:192.0.2.2 dev r0" || rc=1
	check has_lines "$m.json" 4 || rc=1
	check has_lines "$m.json.err" 0 || rc=1
	# Nothing for -6, nothing for the plain user, who was told why.
	check has_lines "$m.v6" 0 || rc=1
	check has_lines "$m.user" 0 || rc=1
	err=$(< "$m.user.err")
	[[ $err == "Note: group \"events\" needs CAP_NET_ADMIN; listening to \"own\""* ]] ||
		{ echo "# user's monitor said '$err'"; rc=1; }
	# Named, "events" is refused to a plain user (exit 2, the kernel's EPERM).
	as=("${user[@]}")
	ctl_fails 2 'joining group "events": Operation not permitted' monitor events || rc=1
	as=()
	log_test $rc "monitor: a CE's notices and the domain down and up, live (text, -j, -6); plain users get \"own\""
}

test_json() {
	local rc=0
	check python3 - "$jsondir" <<-'PY' || rc=1
	import json, os, sys
	d = sys.argv[1]
	def load(name):
	    with open(os.path.join(d, name)) as f:
	        return json.load(f)
	show = load("show.json")
	v4 = show["domains"]["ipv4"]
	assert [x["prefix"] for x in v4] == ["198.51.100.0/24", "203.0.113.0/24", "10.99.0.0/16"], v4
	assert [x["router"] for x in v4] == ["198.51.100.1", "203.0.113.1", None], v4
	assert v4[2]["private"] and all(x["state"] == "up" and x["source"] == "manual" for x in v4), v4
	assert show["domains"]["ipv6"][0]["dev"] == "h0", show["domains"]["ipv6"]
	assert all(k in show for k in ("ce", "connections", "bindings", "hooks")), list(show)
	set_ = load("set.json")
	assert set_["ipv4"][1] == {"index": 1, "prefix": "10.99.0.0/16", "router": "10.99.0.1"}, set_
	pairs = load("pairs.json")["ipv4"]
	assert pairs["service"] == "low-latency" and pairs["keys"] == ["latency_us", "hops"], pairs
	assert sorted((p["src"], p["bandwidth"], p["domain"]) for p in pairs["pairs"]) == \
	    [("198.51.100.10", 1000, 0), ("203.0.113.10", 5000, 2)], pairs
	counters = load("counters.json")["domains"]["ipv4"]
	assert counters[0]["counters"]["rerouted"] >= 1, counters
	with open(os.path.join(d, "mon.json")) as f:
	    events = [json.loads(line) for line in f]
	heard = [e for e in events if e["event"] == "notice_received"]
	assert [e["code"] for e in heard] == [1, 5], events
	assert all(e["family"] == "ipv4" and e["router"] == "198.51.100.1" and
	           e["gateway"] == "192.0.2.2" and e["dev"] == "h0" for e in heard), events
	assert heard[0]["code_name"] == "CE-PE link", heard
	marks = [e for e in events if e["event"] in ("domain_down", "domain_up")]
	assert marks == [{"event": "domain_down", "family": "ipv4", "domain": 0},
	                 {"event": "domain_up", "family": "ipv4", "domain": 0}], events
	PY
	log_test $rc "-j: every document parses (python3 json) and says what the text says"
}

if [ ! -x "$ctl" ] || [ ! -x "$tool" ]; then
	echo "# $ctl or $tool is not built: run make sitemhctl tools on the host"
	log_test $ksft_skip "sitemhctl built"
	exit $ksft_skip
fi
load_module || { log_test 1 "module loads"; exit $ksft_fail; }
setup || { log_test 1 "topology"; exit $ksft_fail; }
run_case test_add_show
run_case test_del_set
run_case test_refused
run_case test_unprivileged
run_case test_pairs
run_case test_counters
run_case test_monitor
run_case test_json
run_cleanup
exit $ret
