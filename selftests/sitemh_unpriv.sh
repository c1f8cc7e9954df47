#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unprivileged reach: what any local user can do to the module. As uid 65534, inside its
# own user and network namespace (where it owns the sysctls and the hooks),
# sitemh_unpriv.py drives every sitemh sysctl, every SITEMH_SO_* socket option (TCP, UDP
# and raw sockets of both families) and every packet type the module parses (ICMP 41 and
# ICMPv6 200 of every code, IPv4 option 144 and IPv6 routing header type 2 of every
# length, through a TUN device, plus the stacked packets it sends) with boundary and
# random values.
#
# Passes when every call comes back, the kernel log has no new splat, the initial
# namespace's sitemh state is what it was, and the namespace goes away cleanly (the
# module unloads and loads again; kmemleak is checked by the VM runner after all tests).
#
#   uid 65534 -> unshare --user --map-root-user --net:
#     lo: 100.64.0.5, 2001:db8:aa::5 (home)    smtun0 (TUN): 10.1.0.2/24, 10.2.0.2/24,
#     smdum0 (dummy), smva/smvb (veth)                       2001:db8:1::2/64
#
# SITEMH_UNPRIV_ITERS scales the random part (200 iterations in make check, 5000 in make
# soak; scripts/vm-run.sh passes it to the guest); SITEMH_UNPRIV_SEED repeats a run (the
# seed is printed).

source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
if soak; then
	ITERS=${SITEMH_UNPRIV_ITERS:-5000}
else
	ITERS=${SITEMH_UNPRIV_ITERS:-200}
fi
SEED=${SITEMH_UNPRIV_SEED:-$(date +%s)}
# The user's python: not root's (whose PATH may lead into /root).
PYTHON=/usr/bin/python3
SPLATS='BUG:|WARNING:|KASAN|UBSAN|general protection|Oops|\] RIP:|Call Trace:|unreferenced object|refcount_t:|list_(add|del) corruption'

# sitemh's state in the initial namespace, as any reader sees it.
init_state() {
	local f
	for f in $(find /proc/sys/net/ipv4 /proc/sys/net/ipv6 -maxdepth 3 \
		\( -name 'ip_num_domains' -o -name 'ip_use_homeaddr' -o -name 'ip_home_addr' \
		-o -name 'ip_path_probe_ms' -o -path '*/ip_domain/*' -o -path '*/sitemh_*' \) \
		-type f 2>/dev/null | sort); do
		printf '%s=%s\n' "$f" "$(cat "$f" 2>&1)"
	done
	cat /proc/net/sitemh
}

# The same state as the user sees it in a namespace of its own, new.
fresh_state() {
	setpriv --reuid 65534 --regid 65534 --clear-groups -- \
		unshare --user --map-root-user --net -- bash -c "$(declare -f init_state); init_state"
}

test_unprivileged_reach() {
	local tmp out rc before after fresh_before dmesg_from new_splats pid
	load_module || { log_test 1 "module loads"; return; }
	# A configured initial namespace, so that state leaking into it would show.
	sysctl -qw net.ipv4.ip_num_domains=1
	sysctl -qw net.ipv4.ip_domain.0.net_mask=/24
	sysctl -qw net.ipv4.ip_domain.0.net_addr=192.0.2.0
	sysctl -qw net.ipv4.ip_domain.0.def_router=192.0.2.1
	defer sysctl -qw net.ipv4.ip_num_domains=0
	# /dev/net/tun is 0666 on a distribution (udev's rule); devtmpfs makes it 0600.
	if ! setpriv --reuid 65534 --regid 65534 --clear-groups -- test -w /dev/net/tun; then
		local mode
		mode=$(stat -c %a /dev/net/tun)
		if chmod 666 /dev/net/tun 2>/dev/null; then
			defer chmod "$mode" /dev/net/tun
		else
			mount -t tmpfs -o mode=755 sitemh-dev /dev/net && defer umount /dev/net &&
				mknod -m 666 /dev/net/tun c 10 200
		fi
	fi
	before=$(init_state)
	fresh_before=$(fresh_state)
	dmesg_from=$(($(dmesg | wc -l) + 1))

	tmp=$(mktemp -d)
	defer rm -rf "$tmp"
	cp "$here/sitemh_unpriv.py" "$tmp/"
	chmod 755 "$tmp"
	chmod 644 "$tmp/sitemh_unpriv.py"
	out=$tmp/out
	echo "# uid 65534 in its own user and network namespace, $ITERS iterations, seed $SEED"
	timeout --kill-after=10 $((ITERS * 3 > 600 ? ITERS * 3 : 600)) setpriv --reuid 65534 --regid 65534 --clear-groups -- \
		unshare --user --map-root-user --net -- \
		"$PYTHON" "$tmp/sitemh_unpriv.py" "$ITERS" "$SEED" > "$out" 2>&1 &
	pid=$!
	wait $pid
	rc=$?
	grep -v '^RESULT' "$out"
	while IFS=$'\t' read -r _ status name detail; do
		[ -n "$detail" ] && echo "# $name: $detail"
		log_test "$([ "$status" = OK ] && echo 0 || echo 1)" "unpriv $name"
	done < <(grep '^RESULT' "$out")
	check [ "$rc" -eq 0 ]
	log_test $? "unpriv: the unprivileged process ran to its end (exit $rc)"

	# Splats from what it did (the runner checks the whole log again at the end).
	new_splats=$(dmesg | tail -n +"$dmesg_from" | grep -E "$SPLATS")
	if [ -n "$new_splats" ]; then
		echo "$new_splats" | head -n 20 | sed 's/^/# /'
	fi
	[ -z "$new_splats" ]
	log_test $? "unpriv: no kernel splat"

	after=$(init_state)
	if [ "$before" != "$after" ]; then
		diff <(echo "$before") <(echo "$after") | head -n 20 | sed 's/^/# /'
	fi
	[ "$before" = "$after" ]
	log_test $? "unpriv: the initial namespace's sysctls and /proc/net/sitemh are unchanged"

	# Nothing the namespace held carries over into the next one the user makes.
	after=$(fresh_state)
	if [ "$fresh_before" != "$after" ]; then
		diff <(echo "$fresh_before") <(echo "$after") | head -n 20 | sed 's/^/# /'
	fi
	[ -n "$fresh_before" ] && [ "$fresh_before" = "$after" ]
	log_test $? "unpriv: a new namespace of the same user starts as empty as before"

	# The namespace died with its last process; its teardown runs in the background.
	# The module unloads only once no namespace's state is left, and loads again.
	run_cleanup
	check busywait 30000 rmmod sitemh
	rc=$?
	check insmod "$SITEMH_KO" || rc=1
	new_splats=$(dmesg | tail -n +"$dmesg_from" | grep -E "$SPLATS")
	[ -z "$new_splats" ] || rc=1
	log_test $rc "unpriv: the namespace tears down, the module unloads and reloads cleanly"
	unload_module
}

run_case test_unprivileged_reach
exit $ret
