#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# libFuzzer runs of the parsers in rust/logic (the cargo-fuzz crate in rust/fuzz, harnesses
# in rust/host/fuzz.rs): FUZZ_SECONDS per target (default 20, what `make check` runs;
# `make fuzz` runs 300). One result line per target into $SITEMH_RESULTS (or a summary):
# PASS, or FAIL when the target crashed (a panic, an overflow, a failed property), did not
# build, or did not finish. No kernel is needed.
#
# usage: fuzz.sh [TARGET...]    (default: every target of rust/fuzz/Cargo.toml)
#
# Only the stable toolchain is installed: its rustc takes the nightly flags cargo-fuzz
# passes (-Zsanitizer=address ...) with RUSTC_BOOTSTRAP=1, as the kernel build itself
# does. FUZZ_SANITIZER=none builds without AddressSanitizer (the code under test has no
# unsafe; panics and overflows are caught either way).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$SITEMH_ROOT"

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
FUZZ_SANITIZER=${FUZZ_SANITIZER:-address}
fuzz_dir=rust/fuzz
export RUSTC_BOOTSTRAP=1

own_results=
if [ -z "${SITEMH_RESULTS:-}" ]; then
	SITEMH_RESULTS=$(mktemp)
	own_results=1
fi
record() {
	printf '%s\t%s\t%s\n' "$1" "$2" "${3:-}" >> "$SITEMH_RESULTS"
	log "$1 $2 ${3:-}"
}

finish() {
	if [ -n "$own_results" ]; then
		"$SITEMH_ROOT/scripts/summary.sh" "$SITEMH_RESULTS"
		exit $?
	fi
	exit 0
}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' "$fuzz_dir/Cargo.toml" | grep -vx sitemh-fuzz)
fi

# cargo-fuzz's flags: release build with debug assertions (integer overflow panics, as
# the kernel's CONFIG_RUST_OVERFLOW_CHECKS does), the sanitizer chosen above.
build_flags=(--fuzz-dir "$fuzz_dir" --debug-assertions --sanitizer "$FUZZ_SANITIZER")

if ! command -v cargo-fuzz >/dev/null; then
	for t in "${targets[@]}"; do
		record FAIL "fuzz:$t" "cargo-fuzz not installed: run 'make setup'"
	done
	finish
fi

build() {
	log "building the fuzz targets (sanitizer $FUZZ_SANITIZER)"
	(for t in "${targets[@]}"; do cargo fuzz build "${build_flags[@]}" "$t" || exit 1; done) \
		> "$build_log" 2>&1
}

build_log=$(mktemp)
built=0
if build; then
	built=1
elif [ "$FUZZ_SANITIZER" != none ]; then
	# A toolchain without the AddressSanitizer runtime still fuzzes: the code under test
	# is safe Rust, whose panics and overflows libFuzzer catches without a sanitizer.
	tail -n 5 "$build_log" >&2
	log "the $FUZZ_SANITIZER sanitizer build failed; fuzzing without a sanitizer"
	FUZZ_SANITIZER=none
	build_flags=(--fuzz-dir "$fuzz_dir" --debug-assertions --sanitizer none)
	build && built=1
fi
if [ $built -eq 0 ]; then
	tail -n 30 "$build_log" >&2
	for t in "${targets[@]}"; do
		record FAIL "fuzz:$t" "cargo fuzz build failed"
	done
	rm -f "$build_log"
	finish
fi
rm -f "$build_log"

for t in "${targets[@]}"; do
	corpus=$fuzz_dir/corpus/$t
	seeds=$fuzz_dir/seeds/$t
	mkdir -p "$corpus"
	out=$(mktemp)
	log "fuzzing $t for ${FUZZ_SECONDS}s"
	# The first corpus directory collects what libFuzzer finds; the seeds stay as committed.
	timeout --kill-after=10 $((FUZZ_SECONDS + 120)) \
		cargo fuzz run "${build_flags[@]}" "$t" "$corpus" "$seeds" -- \
		-max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=1024 \
		-print_final_stats=1 > "$out" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$out" | tail -n 1)
	if [ $rc -eq 0 ] && [ -n "$runs" ]; then
		record PASS "fuzz:$t" "$runs runs in ${FUZZ_SECONDS}s (sanitizer $FUZZ_SANITIZER)"
	else
		artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$out" | tail -n 1)
		grep -E "panicked at|ERROR: libFuzzer|SUMMARY:|Test unit written" "$out" | head -n 10 >&2
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			record FAIL "fuzz:$t" "did not finish within $((FUZZ_SECONDS + 120))s"
		elif [ -n "$artifact" ]; then
			record FAIL "fuzz:$t" "crash; input in $artifact (RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir $fuzz_dir $t $artifact)"
		else
			tail -n 20 "$out" >&2
			record FAIL "fuzz:$t" "cargo fuzz run exited $rc"
		fi
	fi
	rm -f "$out"
done
finish
