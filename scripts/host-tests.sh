#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Tests that run on the build host: the pure logic under cargo, and the UAPI header under
# the C and C++ compilers. One result line per test into $SITEMH_RESULTS (or a summary).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$SITEMH_ROOT"

own_results=
if [ -z "${SITEMH_RESULTS:-}" ]; then
	SITEMH_RESULTS=$(mktemp)
	own_results=1
fi
record() { printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >> "$SITEMH_RESULTS"; }

# cargo_tests [MANIFEST PREFIX [CARGO-OPTION...]]: one result per cargo test, named
# PREFIX<test> (default: the module's logic, rust/host, as host:<test>).
cargo_tests() {
	local manifest=${1:-rust/host/Cargo.toml} prefix=${2:-host:} out rc before
	shift 2 2>/dev/null || shift $#
	before=$(grep -c "	$prefix" "$SITEMH_RESULTS" || true)
	out=$(cargo test "$@" --manifest-path "$manifest" -- --test-threads=2 2>&1)
	rc=$?
	echo "$out" | sed -nE 's/^test (.*) \.\.\. (ok|FAILED|ignored)$/\2\t\1/p' |
		while IFS=$'\t' read -r status name; do
			case $status in ok) status=PASS ;; FAILED) status=FAIL ;; *) status=SKIP ;; esac
			record "$status" "$prefix$name"
		done
	if [ $rc -ne 0 ]; then
		echo "$out" | tail -n 30
		grep -q "^FAIL	$prefix" "$SITEMH_RESULTS" || record FAIL "${prefix}cargo-test" "cargo test exit $rc"
	elif [ "$(grep -c "	$prefix" "$SITEMH_RESULTS")" -eq "$before" ]; then
		record FAIL "${prefix}cargo-test" "cargo test ran no test"
	fi
}

# The operator's tool (tools/sitemhctl): its unit tests, the built binary against fixture
# trees (tests/cli.rs), and clippy with warnings as errors.
sitemhctl_tests() {
	local manifest=tools/sitemhctl/Cargo.toml why
	cargo_tests "$manifest" host:sitemhctl: --offline
	if why=$(cargo clippy --offline --all-targets --manifest-path "$manifest" -- -D warnings 2>&1); then
		record PASS host:sitemhctl:clippy
	else
		record FAIL host:sitemhctl:clippy "$(echo "$why" | grep -m 3 -E '^(error|warning)' | tr '\n' '|')"
	fi
}

header_tests() {
	local tmp
	tmp=$(mktemp -d)
	if cc -std=c11 -Wall -Wextra -Werror -Iinclude/uapi tests/uapi_header.c -o "$tmp/c"; then
		record PASS host:uapi-header-c
	else
		record FAIL host:uapi-header-c "include/uapi/linux/sitemh.h does not compile as C"
	fi
	if c++ -std=c++17 -Wall -Wextra -Werror -Iinclude/uapi -x c++ tests/uapi_header.c -o "$tmp/cxx"; then
		record PASS host:uapi-header-c++
	else
		record FAIL host:uapi-header-c++ "include/uapi/linux/sitemh.h does not compile as C++"
	fi
	rm -rf "$tmp"
}

# kselftest's selftests/config lists what the selftests need from a kernel: the test
# kernel must have all of it (a missing option would show as a confusing failure in a VM).
selftest_config() {
	local config=${KDIR:-$SITEMH_CACHE/kernel}/.config missing=
	if [ ! -r "$config" ]; then
		record FAIL host:selftests-config "no kernel configuration at $config"
		return
	fi
	local line
	while IFS= read -r line; do
		case $line in CONFIG_*=*) ;; *) continue ;; esac
		grep -qx "$line" "$config" || missing="$missing ${line%%=*}"
	done < selftests/config
	if [ -n "$missing" ]; then
		record FAIL host:selftests-config "the test kernel lacks$missing"
	else
		record PASS host:selftests-config
	fi
}

# The module's layering (scripts/deps.py): dependencies among the features point one way.
layering() {
	local why
	if why=$(python3 scripts/deps.py --check 2>&1 >/dev/null); then
		record PASS host:deps-one-way
	else
		record FAIL host:deps-one-way "$(echo "$why" | head -n 3 | tr '\n' '|')"
	fi
}

# The IPv4 domain table from DHCP (etc/dhcp, scripts/sitemh-dhcp-option): tests/dhcp.sh
# prints one line per case.
dhcp_tests() {
	local out rc status name detail
	out=$(tests/dhcp.sh)
	rc=$?
	while IFS=$'\t' read -r status name detail; do
		[ -n "$name" ] && record "$status" "host:dhcp:$name" "$detail"
	done <<< "$out"
	if [ $rc -ne 0 ] || ! grep -q '^PASS	' <<< "$out"; then
		record FAIL host:dhcp "tests/dhcp.sh exit $rc"
	fi
}

# The module's stack frames (scripts/stack_frames.py): none above 7 KiB, so that the
# deepest chains (a sysctl write or a work item publishing a table) stay inside 16 KiB
# stacks; the test kernel's KASAN doubles its stacks and would not notice.
stack_frames() {
	local ko=${SITEMH_KO:-sitemh.ko} out
	if [ ! -r "$ko" ]; then
		record FAIL host:stack-frames "no module at $ko"
	elif out=$(python3 scripts/stack_frames.py "$ko" 7168 1 2>&1); then
		record PASS host:stack-frames "largest: $(echo "$out" | head -n 1 | cut -c1-60)"
	else
		record FAIL host:stack-frames "$(echo "$out" | grep '^over' | head -n 3 | tr '\n' '|')"
	fi
}

cargo_tests
sitemhctl_tests
stack_frames
header_tests
dhcp_tests
selftest_config
layering
if [ -n "$own_results" ]; then
	"$SITEMH_ROOT/scripts/summary.sh" "$SITEMH_RESULTS"
	exit $?
fi
