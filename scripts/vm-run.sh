#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the cached test kernel in virtme-ng (TCG: nested KVM hangs here) and run the guest
# side (scripts/vm-guest.sh) in it.
#
# usage: vm-run.sh test|demo|bench|bench-forward
#   test: KUnit + selftests + kernel log checks; results go to $SITEMH_RESULTS (one
#         "PASS|FAIL|SKIP<TAB>name<TAB>detail" line per test), or are summarised here.
#   demo: show what the module does.
#   bench: the benchmarks (scripts/bench.sh).
#   bench-forward: the forward-path benchmark (scripts/bench-forward.sh) on one vCPU under
#         QEMU's instruction counting (-icount shift=0,sleep=off): guest nanoseconds are
#         instructions, so its figures repeat closely.
# A guest that does not finish within $VM_TIMEOUT seconds is killed and counts as a failure.
# SITEMH_SELFTESTS="a.sh b.sh" runs only those selftests (a developer's shortcut).
# SITEMH_UNPRIV_ITERS (and SITEMH_UNPRIV_SEED) reach sitemh_unpriv.sh in the guest: a longer
# (or a repeated) unprivileged reach run.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

mode=${1:-test}
kdir=${KDIR:-$SITEMH_CACHE/kernel}
kimg=$kdir/arch/x86/boot/bzImage
# The module built for that kernel.
ko=${SITEMH_KO:-$SITEMH_ROOT/sitemh.ko}
vng=$SITEMH_CACHE/venv/bin/vng
# vng starts virtme-run and friends from PATH.
export PATH="$SITEMH_CACHE/venv/bin:$PATH"
# The selftests are split between $SITEMH_VM_GUESTS guests that run at once (default 2, one
# per host core: a guest under TCG keeps about one core busy, its selftests being mostly
# one process after another). Each takes the next selftest nobody has claimed yet, longest
# first by the times of the last run on this machine (kept in $SITEMH_CACHE).
guests=${SITEMH_VM_GUESTS:-2}
[ "$mode" = test ] || guests=1
# vCPUs per guest: TCG runs each on a host thread; more guests than cores, or vCPUs than
# cores, and they slow each other down.
cpus=${SITEMH_VM_CPUS:-$(( guests > 1 ? 1 : 2 ))}
qemu_opts=()
if [ "$mode" = bench-forward ]; then
	# icount runs TCG single-threaded: one vCPU.
	cpus=1
	qemu_opts=(--qemu-opts "-icount shift=0,sleep=off")
fi
times_cache=$SITEMH_CACHE/selftest-times${SITEMH_SOAK:+-soak}
# 50 minutes per guest (a guest's selftests take 20-30 minutes here, one of them, the
# IPv4 switchover, about 10); CI gives all of make check 90. SITEMH_SOAK=1 (make soak)
# runs the same cases at full size, for up to 6 hours.
if [ -n "${SITEMH_SOAK:-}" ]; then
	timeout_s=${VM_TIMEOUT:-21600}
else
	timeout_s=${VM_TIMEOUT:-3000}
fi
own_results=
if [ -z "${SITEMH_RESULTS:-}" ]; then
	SITEMH_RESULTS=$(mktemp)
	own_results=1
fi

fail() {
	printf 'FAIL\t%s\t%s\n' "$1" "$2" >> "$SITEMH_RESULTS"
	log "FAIL $1: $2"
}

# The selftests to run, longest first by the last run's times (unknown ones first, in
# the Makefile's order).
selftest_order() {
	local progs
	progs=${SITEMH_SELFTESTS:-$(make -s --no-print-directory -C "$SITEMH_ROOT/selftests" print-tests)}
	local i=0 t
	for t in $progs; do
		i=$((i + 1))
		printf '%s\t%s\t%s\n' "$(awk -v t="$t" '$1 == t { print $2 }' "$times_cache" 2>/dev/null | tail -1)" "$i" "$t"
	done | sort -t "$(printf '\t')" -k1,1nr -k2,2n | awk -F '\t' '$1 == "" { print $3; next } { later[++n] = $3 } END { for (i = 1; i <= n; i++) print later[i] }' | tr '\n' ' '
}

# The guest's root is the host's, over 9p, read-only (writes go to overlays and to the
# --rwdir mounts, which are other 9p mounts). virtme-ng mounts it without a cache, so every
# program start reads its binary and libraries over 9p again: /bin/true took 0.29 s, `ip
# netns exec NS true` 1.06 s, a Python start 1.8 s. Nothing under the root changes while
# the guests run, so the guest may cache it (cache=loose, the later rootflags= winning):
# 0.16 s, 0.43 s and 1.0 s (measured in one guest).
root_cache="rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose"

# guest N OUT PROGS CLAIMS: boot guest N, wait for it; its vng exit status in OUT/vng-rc.
guest() {
	local n=$1 out=$2 progs=$3 claims=$4 rc
	timeout --kill-after=15 "$timeout_s" "$vng" --run "$kimg" --skip-modules --disable-kvm \
		--force-9p --cpus "$cpus" "${qemu_opts[@]}" --memory 2G --rwdir "$out" ${claims:+--rwdir "$claims"} \
		--append "kmemleak=on log_buf_len=64M $root_cache" \
		--exec "env TESTS='${TESTS:-}' BENCH_PARTS='${BENCH_PARTS:-}' SWITCH_RUNS='${SWITCH_RUNS:-}' SWITCH_SETS='${SWITCH_SETS:-}' PROTECT_RUNS='${PROTECT_RUNS:-}' SITEMH_LOSS_SEED='${SITEMH_LOSS_SEED:-}' SITEMH_SOAK='${SITEMH_SOAK:-}' SITEMH_UNPRIV_ITERS='${SITEMH_UNPRIV_ITERS:-}' SITEMH_UNPRIV_SEED='${SITEMH_UNPRIV_SEED:-}' RUNS='${RUNS:-}' PACKETS='${PACKETS:-}' FAMILIES='${FAMILIES:-}' PROFILE='${PROFILE:-}' PROFILE_PACKETS='${PROFILE_PACKETS:-}' bash $SITEMH_ROOT/scripts/vm-guest.sh $mode $out $ko '$progs' '$claims' $n" \
		</dev/null > "$out/console" 2>&1
	rc=$?
	echo $rc > "$out/vng-rc"
}

run() {
	[ -x "$vng" ] || { fail vm:boot "virtme-ng missing: run 'make setup'"; return; }
	[ -r "$kimg" ] || { fail vm:boot "no kernel image at $kimg: run 'make kernel'"; return; }
	[ -r "$ko" ] || { fail vm:boot "$ko not built: run 'make module'"; return; }

	local base progs claims= n out rc t
	base=$(mktemp -d /tmp/sitemh-vm.XXXXXX)
	if [ "$mode" != test ]; then
		log "booting $kimg under TCG (timeout ${timeout_s}s); guest output in $base/0"
		mkdir "$base/0"
		guest 0 "$base/0" "" ""
		cat "$base/0/output" 2>/dev/null
		if [ "$(cat "$base/0/status" 2>/dev/null)" != 0 ]; then
			fail "vm:$mode" "the guest's $mode script failed (vng exit $(cat "$base/0/vng-rc")); see $base/0"
		fi
		return
	fi
	progs=$(selftest_order)
	claims=$base/claims
	mkdir "$claims"
	log "booting $guests guests of $kimg under TCG (timeout ${timeout_s}s each); output in $base/N"
	log "selftests, longest first: $progs"
	for n in $(seq 0 $((guests - 1))); do
		mkdir "$base/$n"
		guest "$n" "$base/$n" "$progs" "$claims" &
		# Boots apart: two guests booting at once slow each other down the most.
		[ "$n" -eq $((guests - 1)) ] || sleep 20
	done
	wait
	for n in $(seq 0 $((guests - 1))); do
		out=$base/$n
		rc=$(cat "$out/vng-rc" 2>/dev/null || echo 1)
		if [ -s "$out/results" ]; then
			# Every guest checks its own kernel log and leaks: name them apart.
			sed "s/\tkernel:/\tkernel:guest$n:/" "$out/results" >> "$SITEMH_RESULTS"
			sed "s/\tkernel:/\tkernel:guest$n:/; s/\t/  /g" "$out/results"
		fi
		# What the failing selftests said about themselves.
		if grep -q '^FAIL	selftest:' "$out/results" 2>/dev/null; then
			grep -h '^# \|^TEST:.*FAIL' "$out"/selftest-*.log
		fi
		if [ ! -e "$out/complete" ]; then
			if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
				fail "vm:guest$n" "guest did not finish within ${timeout_s}s; see $out"
			else
				fail "vm:guest$n" "guest stopped before the end (vng exit $rc); see $out"
			fi
		fi
	done > "$base/report"
	cat "$base/report"
	for t in $progs; do
		[ -d "$claims/$t" ] || fail "selftest:$t" "not run: no guest was free to take it"
	done
	grep -q '	selftest:' "$SITEMH_RESULTS" || fail vm:selftests "no selftest reported a result"
	# This run's times order the next run; selftests it did not run keep their last time.
	# A run of selected cases (TESTS=) says nothing about a whole script's time.
	if [ -z "${TESTS:-}" ]; then
		# (The last times may be missing, on a new machine: cat's failure must not stop the
		# new ones from being kept.)
		{ cat "$base"/*/times; cat "$times_cache"; } 2>/dev/null |
			awk -F '\t' '!seen[$1]++' > "$times_cache.new"
		[ -s "$times_cache.new" ] && mv "$times_cache.new" "$times_cache"
	fi
	log "selftest times (s): $(sort -t "$(printf '\t')" -k2,2nr "$base"/*/times 2>/dev/null | tr '\t\n' '= ')"
	log "guests' times (s): $(for n in $(seq 0 $((guests - 1))); do
		printf 'guest%s %s  ' "$n" "$(awk -F '\t' '{ s += $2 } END { print s + 0 }' "$base/$n/times" 2>/dev/null)"; done)"
	echo "The slowest ten cases (s):"
	sort -t "$(printf '\t')" -k1,1nr "$base"/*/case-times 2>/dev/null | head -10 |
		awk -F '\t' '{ printf "  %6.1f  %s\n", $1 / 1000, $2 }'
	# Waits that outlasted their idle budget (selftests/lib.sh's busywait): where a busier
	# run would fail first.
	echo "Waits over their idle budget: $(cat "$base"/*/selftest-*.log 2>/dev/null | grep -c '^# slow wait')"
	grep -h '^# slow wait' "$base"/*/selftest-*.log 2>/dev/null | sort -t ' ' -k4,4nr | head -5 | sed 's/^# /  /'
	# Waits that ran out: a failed check, a case that expects it, or a deadline spent for
	# nothing by a wait nobody checks.
	echo "Waits that ran out: $(cat "$base"/*/selftest-*.log 2>/dev/null | grep -c '^# wait ran out')"
	grep -h '^# wait ran out' "$base"/*/selftest-*.log 2>/dev/null | head -5 | sed 's/^# /  /'
}

run
if [ "$mode" != test ]; then
	! grep -q '^FAIL' "$SITEMH_RESULTS"
	exit $?
fi
if [ -n "$own_results" ]; then
	"$SITEMH_ROOT/scripts/summary.sh" "$SITEMH_RESULTS"
	exit $?
fi
