#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: set-up, kernel (cached), module, host tests, a bounded fuzz run of every
# target (scripts/fuzz.sh), then the VM (KUnit, selftests,
# kernel log). Every stage and every test is one result line; the last line printed is
# "N passed, N failed, N skipped", and any failure or skip makes the exit status non-zero.
# SITEMH_SOAK=1 (`make soak`): the same stages with the long runs at full size (fuzzing 300 s
# per target; the selftests read SITEMH_SOAK too, see selftests/lib.sh).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ -z "${SITEMH_SOAK:-}" ] || export FUZZ_SECONDS=${FUZZ_SECONDS:-300}
cd "$SITEMH_ROOT"

export SITEMH_RESULTS
SITEMH_RESULTS=$(mktemp /tmp/sitemh-results.XXXXXX)
start=$(date +%s)

record() { printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >> "$SITEMH_RESULTS"; }

# stage NAME CMD...: run a build stage; it is one result, and a failed stage stops the run
# (later stages would only fail for the same reason).
stage() {
	local name=$1 t0
	shift
	t0=$(date +%s)
	log "== $name"
	if "$@"; then
		record PASS "build:$name" "$(($(date +%s) - t0)) s"
		log "== $name done in $(($(date +%s) - t0)) s"
		return 0
	fi
	record FAIL "build:$name" "see the output above"
	finish
}

finish() {
	log "total $(($(date +%s) - start)) s"
	"$SITEMH_ROOT/scripts/summary.sh" "$SITEMH_RESULTS"
	exit $?
}

stage setup scripts/setup.sh
stage kernel scripts/build-kernel.sh
stage module make --no-print-directory module
stage tools make --no-print-directory lib tools sitemhctl
scripts/host-tests.sh
scripts/fuzz.sh
scripts/vm-run.sh test
finish
