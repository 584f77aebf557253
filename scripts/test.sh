#!/usr/bin/env bash
# Build and run the whole test suite: Release build (build/) and an
# ASan+UBSan deterministic build (build/asan).  Ends with one line
# "N passed, M failed" and a non-zero exit status if anything failed.
#
# Environment:
#   SANSTLS_TEST_ARGS="-L unit"   extra ctest arguments
#   SANSTLS_SKIP_ASAN=1           skip the sanitizer build (quick local runs)
#   SANSTLS_JOBS=N                build/test parallelism (default 2)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

bash scripts/setup.sh

read -r -a EXTRA_CTEST_ARGS <<< "${SANSTLS_TEST_ARGS:-}"
TOTAL_PASSED=0
TOTAL_FAILED=0

# run_ctest <build-dir>: runs ctest, adds its counts to the totals.
run_ctest() {
    local dir="$1" log rc=0 line total failed
    log="$(mktemp)"
    echo "== ctest $dir" >&2
    ctest --test-dir "$dir" --output-on-failure -j"$SANSTLS_JOBS" --timeout 300 \
        ${EXTRA_CTEST_ARGS[@]+"${EXTRA_CTEST_ARGS[@]}"} 2>&1 | tee "$log" || rc=$?
    line="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1 || true)"
    rm -f "$log"
    if [[ -n "$line" ]]; then
        failed="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<< "$line")"
        total="$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<< "$line")"
        TOTAL_PASSED=$(( TOTAL_PASSED + total - failed ))
        TOTAL_FAILED=$(( TOTAL_FAILED + failed ))
    elif (( rc != 0 )); then
        echo "error: ctest in $dir failed without a summary (rc=$rc)" >&2
        TOTAL_FAILED=$(( TOTAL_FAILED + 1 ))
    fi
}

build_failed() {
    echo "error: build in $1 failed" >&2
    echo "$TOTAL_PASSED passed, $(( TOTAL_FAILED + 1 )) failed"
    exit 1
}

sanstls_build_release || build_failed build
run_ctest build

if [[ "${SANSTLS_SKIP_ASAN:-0}" != 1 ]]; then
    sanstls_build_asan || build_failed build/asan
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
        run_ctest build/asan
fi

echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
(( TOTAL_FAILED == 0 ))
