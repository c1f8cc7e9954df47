#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the virtme-ng guest, as root, on the host's file system (read-only but for
# the output directory). Loads the module, runs KUnit and the selftests, then checks the
# kernel log and kmemleak for splats.
#
# usage: vm-guest.sh test|demo|bench|bench-forward OUTDIR [MODULE [SELFTESTS [CLAIMS [SHARD]]]]
# CLAIMS: a directory on the host that every guest of one run shares: a guest runs a
# selftest only if it is the first to create CLAIMS/<selftest> (mkdir is atomic on the
# host), so several guests split the suite between them as each becomes free. Shard 0
# also runs KUnit.
set -uo pipefail
mode=$1
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
ko=${3:-$root/sitemh.ko}
only=${4:-}
claims=${5:-}
shard=${6:-0}
results=$out/results
export SITEMH_KO=$ko
# Each case's time, for the host's "slowest cases" report (selftests/lib.sh writes it).
export SITEMH_CASE_TIMES=$out/case-times

record() { # STATUS NAME [DETAIL]
	printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >> "$results"
	printf '%-4s %s %s\n' "$1" "$2" "${3:-}"
}

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
kmemleak=/sys/kernel/debug/kmemleak

# Leaks reported from here on are ours: forget what boot left behind.
kmemleak_baseline() {
	[ -w $kmemleak ] || return 0
	echo scan > $kmemleak
	echo clear > $kmemleak
}

# KUnit suites run inside insmod; their KTAP lands in the kernel log.
run_kunit() {
	local before log suites
	before=$(dmesg | wc -l)
	if ! insmod "$ko"; then
		record FAIL kunit:insmod "insmod $ko failed"
		return
	fi
	log=$out/kunit.log
	dmesg | tail -n +"$((before + 1))" > "$log"
	rmmod sitemh || record FAIL kunit:rmmod "rmmod after KUnit failed"
	suites=$(grep -c '# Subtest: sitemh_' "$log" || true)
	[ "$suites" -gt 0 ] || { record FAIL kunit:suites "no sitemh KUnit suite reported (CONFIG_KUNIT?)"; return; }
	# Every suite rust/kunit.rs declares must have reported: a suite compiled out or
	# skipped whole would otherwise just be absent.
	local expected missing=
	for expected in $(sed -n 's/.*suite!(\(sitemh_[a-z0-9_]*\),.*/\1/p' "$root/rust/kunit.rs"); do
		grep -q "# Subtest: $expected\$" "$log" || missing="$missing $expected"
	done
	if [ -n "$missing" ]; then
		record FAIL kunit:suites "declared in rust/kunit.rs, not reported:$missing"
	else
		record PASS kunit:suites "$suites suites, all declared ones"
	fi
	# Per suite: "    # Subtest: S", "    1..N", then "    ok|not ok I case".
	awk -v results="$results" '
		function emit(status, name, detail) {
			printf "%s\t%s\t%s\n", status, name, detail >> results
			printf "%-4s %s %s\n", status, name, detail
		}
		function close_suite() {
			if (suite != "" && seen != planned)
				emit("FAIL", "kunit:" suite, "planned " planned " cases, reported " seen)
			suite = ""
		}
		{ sub(/^\[[^]]*\] /, "") }
		/^    # Subtest: / { close_suite(); suite = $3; planned = -1; seen = 0; next }
		suite != "" && /^    1\.\.[0-9]+/ { planned = substr($1, 4) + 0; next }
		suite != "" && /^    (ok|not ok) [0-9]+ / {
			seen++
			ok = ($1 == "ok")
			name = ok ? $3 : $4
			if (/# SKIP/) emit("SKIP", "kunit:" suite "." name, "")
			else emit(ok ? "PASS" : "FAIL", "kunit:" suite "." name, "")
			next
		}
		/^(ok|not ok) [0-9]+ sitemh_/ { close_suite() }
		END { close_suite() }
	' "$log"
}

# After a selftest timed out: what is still blocked in the kernel (its stacks), for its
# log. A task left in uninterruptible sleep (an rmmod that never returns, say) holds what
# every later selftest needs: this guest then runs none of them (the others, or the host's
# "not run" report, take over) rather than each waiting out its own timeout.
wedged=
dump_stuck_tasks() { # SELFTEST
	local stuck
	sleep 5
	stuck=$(ps -eo stat=,pid=,args= | awk '$1 ~ /^D/')
	[ -n "$stuck" ] || return 0
	wedged=$1
	echo "# tasks in uninterruptible sleep after the timeout:"
	echo "$stuck" | sed 's/^/#   /'
	echo "# the kernel log's last lines:"
	dmesg | tail -n 15 | sed 's/^/#   /'
	local pid
	for pid in $(echo "$stuck" | awk '{ print $2 }'); do
		echo "# kernel stack of $pid:"
		sed 's/^/#   /' "/proc/$pid/stack" 2>/dev/null
	done
}

# What a netdev CI debug kernel run fails on, in the kernel log.
splat_pattern='BUG:|WARNING:|\] RIP:|Call Trace:|KASAN:|UBSAN:|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|rcu_.*detected stall|blocked for more than|soft lockup|ref_tracker:|unreferenced object|Oops|general protection fault|unregister_netdevice: waiting for|list_add corruption|list_del corruption'

# log_since_marker TEXT: the kernel log from the line carrying TEXT on.
log_since_marker() {
	dmesg | awk -v m="$1" 'index($0, m) { on = 1 } on'
}

# check_script_log SELFTEST: the kernel log written while SELFTEST ran (from its start
# marker on), scanned for splats and attributed to it: the final scan of the whole log
# cannot say which script caused what it finds.
check_script_log() {
	local t=$1 splats
	splats=$(log_since_marker "sitemh-runner: start $t" | grep -E "$splat_pattern")
	[ -z "$splats" ] || record FAIL "kernel:log:$t" "$(echo "$splats" | head -n 3 | tr '\n' '|')"
}

# check_plan SELFTEST LOG: the script ran every case it planned (selftests/lib.sh prints
# "# plan: N cases" and "# case done: NAME"), and reported at least one result.
check_plan() {
	local t=$1 log=$2 plan done_n
	plan=$(sed -n 's/^# plan: \([0-9]*\) cases.*/\1/p' "$log" | head -n 1)
	done_n=$(grep -c '^# case done: ' "$log")
	if [ -z "$plan" ]; then
		record FAIL "selftest:$t:plan" "declared no plan (no run_case line reached selftests/lib.sh)"
	elif [ "$done_n" -lt "$plan" ]; then
		record FAIL "selftest:$t:plan" "planned $plan cases, $done_n ran to the end"
	fi
	grep -q '^TEST: ' "$log" || record FAIL "selftest:$t" "reported no TEST line"
}

# kselftest conventions: exit 0 pass, 1 fail, 4 skip; each script also prints one
# "TEST: name [ OK ]|[FAIL]|[SKIP]" line per case, which become our results.
run_selftests() {
	local progs t rc log timeout_s
	progs=${only:-$(make -s --no-print-directory -C "$root/selftests" print-tests)}
	timeout_s=$(sed -n 's/^timeout=//p' "$root/selftests/settings")
	# make soak: full-size transfers, 100,000 connections, 5000 unprivileged iterations.
	[ -z "${SITEMH_SOAK:-}" ] || timeout_s=$((${timeout_s:-600} * 8))
	local started
	for t in $progs; do
		log=$out/selftest-$t.log
		# A wedged guest claims nothing more: the other guests run what is left, and the
		# host reports what nobody ran.
		[ -z "$wedged" ] || break
		if [ -n "$claims" ] && ! mkdir "$claims/$t" 2>/dev/null; then
			continue
		fi
		echo "# selftest $t"
		echo "sitemh-runner: start $t" > /dev/kmsg
		started=$(date +%s)
		(cd "$root/selftests" && timeout "${timeout_s:-600}" "./$t") > "$log" 2>&1
		rc=$?
		printf '%s\t%s\n' "$t" "$(($(date +%s) - started))" >> "$out/times"
		cat "$log"
		sed -n 's/^TEST: \(.*[^ ]\) *\[ *\(OK\|FAIL\|SKIP\) *\]$/\2\t\1/p' "$log" |
			while IFS=$'\t' read -r status name; do
				case $status in OK) status=PASS ;; esac
				printf '%s\t%s\t\n' "$status" "selftest:$t: $name" >> "$results"
			done
		case $rc in
		0) ;;
		4) grep -q "selftest:$t:" "$results" || record SKIP "selftest:$t" "exit 4" ;;
		124)
			record FAIL "selftest:$t" "timed out after ${timeout_s}s"
			dump_stuck_tasks "$t" >> "$log"
			;;
		*) grep -q "^FAIL	selftest:$t:" "$results" || record FAIL "selftest:$t" "exit $rc" ;;
		esac
		[ "$rc" -eq 124 ] || check_plan "$t" "$log"
		check_script_log "$t"
	done
}

# Before the final scans: the network namespaces the selftests deleted are torn down by a
# kernel worker (cleanup_net) after they return, and a device whose reference leaked holds
# that worker in netdev_run_todo, printing "unregister_netdevice: waiting for" every 10 s.
# Wait until no worker is in that teardown (twice in a row), and at least 12 s after the
# last selftest, so that a leak is reported (and kmemleak's 5 s minimum age has passed).
wait_for_teardown() {
	local deadline=$((SECONDS + 120)) settled=0 busy pid comm line
	local quiet_since=$SECONDS
	while [ $SECONDS -lt $deadline ]; do
		busy=
		for pid in /proc/[0-9]*; do
			read -r comm < "$pid/comm" 2>/dev/null || continue
			[[ $comm == kworker* ]] || continue
			while read -r line; do
				case $line in *cleanup_net* | *netdev_run_todo* | *ops_undo_list*) busy=1 ;; esac
			done < "$pid/stack" 2>/dev/null
		done
		if [ -z "$busy" ]; then
			settled=$((settled + 1))
			[ $settled -lt 2 ] || [ $((SECONDS - quiet_since)) -lt 12 ] || return 0
		else
			settled=0
		fi
		sleep 1
	done
	record FAIL kernel:teardown "network namespaces still being torn down after 120 s"
}

# The whole log at the end: splats outside the selftests (KUnit, teardown), a log that
# wrapped (its first lines, the boot's, gone: a splat may have gone with them), an empty
# log, and kmemleak having disabled itself (it then reports nothing).
check_kernel_log() {
	local splats
	dmesg > "$out/dmesg"
	if [ ! -s "$out/dmesg" ]; then
		record FAIL kernel:log "the kernel log is empty"
		return
	fi
	if ! head -n 5 "$out/dmesg" | grep -q 'Linux version'; then
		record FAIL kernel:log-wrapped "the boot's first lines are gone from the log: it wrapped (log_buf_len)"
	fi
	if grep -q 'kmemleak: .*disabled\|kmemleak: Cannot allocate' "$out/dmesg"; then
		record FAIL kernel:kmemleak "kmemleak disabled itself: $(grep -m1 'kmemleak:' "$out/dmesg")"
	elif [ -w $kmemleak ] && echo scan > $kmemleak; then
		sleep 1
		echo scan > $kmemleak
		cat $kmemleak > "$out/kmemleak"
		if grep -q 'unreferenced object' "$out/kmemleak"; then
			record FAIL kernel:kmemleak "$(grep -c 'unreferenced object' "$out/kmemleak") leaked objects, see $out/kmemleak"
		else
			record PASS kernel:kmemleak
		fi
	else
		record FAIL kernel:kmemleak "$kmemleak not available (CONFIG_DEBUG_KMEMLEAK?)"
	fi
	dmesg > "$out/dmesg"
	splats=$(grep -E "$splat_pattern" "$out/dmesg")
	if [ -n "$splats" ]; then
		record FAIL kernel:log "$(echo "$splats" | head -n 3 | tr '\n' '|')"
		echo "$splats" | head -n 40
	else
		record PASS kernel:log
	fi
}

# The guest reads this file from the host while it runs: everything is inside functions,
# parsed before the first selftest starts, so an edit on the host meanwhile changes nothing.
# Some cases run their helpers as an unprivileged user (nobody): the tree must be
# reachable to it. A clone in a private directory (`mktemp -d` makes it 0700) is opened
# here, in the guest's own overlay of the host's file system (virtme-ng's rw overlays:
# /tmp, /home, /var ...); the host's directory stays as it was.
open_tree_to_nobody() {
	local d=$root
	while [ "$d" != / ]; do
		[ -n "$(find "$d" -maxdepth 0 -perm -o+x)" ] || chmod o+x "$d" 2>/dev/null || break
		d=$(dirname "$d")
	done
	setpriv --reuid 65534 --regid 65534 --clear-groups -- test -r "$root/selftests/lib.sh" ||
		record FAIL vm:tree "$root is not readable to an unprivileged user: clone it where others may read"
}

main() {
	case $mode in
	test)
		: > "$results"
		kmemleak_baseline
		[ "$shard" != 0 ] || run_kunit
		open_tree_to_nobody
		run_selftests
		wait_for_teardown
		check_kernel_log
		touch "$out/complete"
		;;
	demo | bench | bench-forward)
		# The host prints this file: the guest's own output does not reach it.
		bash "$root/scripts/$mode.sh" > "$out/output" 2>&1
		echo $? > "$out/status"
		;;
	esac
}
main; exit
