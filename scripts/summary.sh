#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Print the failures and skips of a results file and the closing count line.
# Exit 0 only when something passed, nothing failed and nothing was skipped: a test that
# could not run is not a pass.
set -euo pipefail
results=$1
pass=$(grep -c '^PASS' "$results" || true)
fail=$(grep -c '^FAIL' "$results" || true)
skip=$(grep -c '^SKIP' "$results" || true)
if [ "$fail" -gt 0 ] || [ "$skip" -gt 0 ]; then
	echo "--- not passed:"
	grep -E '^(FAIL|SKIP)' "$results" | sed 's/\t/  /g'
fi
# A run narrowed by the developers' selections is not the suite: say so on the closing line.
filtered=
[ -z "${SITEMH_SELFTESTS:-}" ] || filtered="SITEMH_SELFTESTS=$SITEMH_SELFTESTS"
[ -z "${TESTS:-}" ] || filtered="${filtered:+$filtered }TESTS=$TESTS"
echo "$pass passed, $fail failed, $skip skipped${filtered:+ (filtered run: $filtered)}"
[ "$pass" -gt 0 ] && [ "$fail" -eq 0 ] && [ "$skip" -eq 0 ]
