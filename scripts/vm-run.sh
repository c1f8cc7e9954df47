#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the cached test kernel in virtme-ng (TCG: nested KVM hangs here) and run the guest
# side (scripts/vm-guest.sh) in it.
#
# usage: vm-run.sh test|demo|bench
#   test: KUnit + selftests + kernel log checks; results go to $SITEMH_RESULTS (one
#         "PASS|FAIL|SKIP<TAB>name<TAB>detail" line per test), or are summarised here.
#   demo: show what the module does.
#   bench: the benchmarks (scripts/bench.sh).
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
# 80 minutes: the whole selftest suite takes about 45-55 under TCG on an idle 2-core host
# (more than the 30-minute budget; issue 21), and CI gives make check 90.
timeout_s=${VM_TIMEOUT:-4800}
own_results=
if [ -z "${SITEMH_RESULTS:-}" ]; then
	SITEMH_RESULTS=$(mktemp)
	own_results=1
fi

fail() {
	printf 'FAIL\t%s\t%s\n' "$1" "$2" >> "$SITEMH_RESULTS"
	log "FAIL $1: $2"
}

run() {
	[ -x "$vng" ] || { fail vm:boot "virtme-ng missing: run 'make setup'"; return; }
	[ -r "$kimg" ] || { fail vm:boot "no kernel image at $kimg: run 'make kernel'"; return; }
	[ -r "$ko" ] || { fail vm:boot "$ko not built: run 'make module'"; return; }

	local out rc
	out=$(mktemp -d /tmp/sitemh-vm.XXXXXX)
	log "booting $kimg under TCG (timeout ${timeout_s}s); guest output in $out"
	timeout --kill-after=15 "$timeout_s" "$vng" --run "$kimg" --skip-modules --disable-kvm \
		--cpus 2 --memory 2G --rwdir "$out" \
		--append "kmemleak=on" \
		--exec "env SITEMH_UNPRIV_ITERS='${SITEMH_UNPRIV_ITERS:-}' SITEMH_UNPRIV_SEED='${SITEMH_UNPRIV_SEED:-}' bash $SITEMH_ROOT/scripts/vm-guest.sh $mode $out $ko '${SITEMH_SELFTESTS:-}'" </dev/null
	rc=$?
	if [ "$mode" = test ]; then
		if [ -s "$out/results" ]; then
			cat "$out/results" >> "$SITEMH_RESULTS"
			sed 's/\t/  /g' "$out/results"
		fi
		# What the failing selftests said about themselves.
		if grep -q '^FAIL	selftest:' "$out/results" 2>/dev/null; then
			grep -h '^# \|^TEST:.*FAIL' "$out"/selftest-*.log
		fi
		if [ ! -e "$out/complete" ]; then
			if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
				fail vm:run "guest did not finish within ${timeout_s}s"
			else
				fail vm:run "guest stopped before the end (vng exit $rc); see $out"
			fi
		fi
	else
		cat "$out/output" 2>/dev/null
		if [ "$(cat "$out/status" 2>/dev/null)" != 0 ]; then
			fail "vm:$mode" "the guest's $mode script failed (vng exit $rc); see $out"
		fi
	fi
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
