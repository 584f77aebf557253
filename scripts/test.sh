#!/usr/bin/env bash
# Build and run the whole test suite: Release build (build/) and an
# ASan+UBSan deterministic build (build/asan).  Ends with one line
# "N passed, M failed, K skipped" and a non-zero exit status if anything
# failed, if (with SANSTLS_REQUIRE_PEERS=1) anything was skipped, or if the
# tests changed the work tree (git status before and after must match).
#
# Skips: a Catch2 SKIP() exits 4 and the Python suites exit 77 when they
# skipped something and failed nothing; ctest reports those tests as
# "Skipped" (SKIP_RETURN_CODE) and they are counted apart from passes.
#
# Environment:
#   SANSTLS_TEST_ARGS="-L unit"   extra ctest arguments
#   SANSTLS_SKIP_ASAN=1           skip the sanitizer build (quick local runs)
#   SANSTLS_JOBS=N                build/test parallelism (default 2)
#   SANSTLS_REQUIRE_PEERS=1       a missing peer/prerequisite is a failure, not a
#                                 skip (set by .ci/run); any skip fails the run
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

bash scripts/setup.sh

read -r -a EXTRA_CTEST_ARGS <<< "${SANSTLS_TEST_ARGS:-}"
TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_SKIPPED=0
REQUIRE_PEERS="${SANSTLS_REQUIRE_PEERS:-0}"
export SANSTLS_REQUIRE_PEERS="$REQUIRE_PEERS"

# The work tree as git sees it (status and content of changed files); tests
# must leave it as they found it.  Empty outside a git checkout.
tree_state() {
    git rev-parse --is-inside-work-tree >/dev/null 2>&1 || return 0
    git status --porcelain=v1 --untracked-files=all
    git diff --no-ext-diff HEAD 2>/dev/null | sha256sum
}
TREE_BEFORE="$(tree_state)"

summary() {
    echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
}

# run_ctest <build-dir>: runs ctest, adds its counts to the totals.  ctest's
# "N tests failed out of M" counts skipped tests among the M; they are listed
# under "The following tests did not run:" with "(Skipped)" (or "(Disabled)").
run_ctest() {
    local dir="$1" log rc=0 line total failed skipped
    log="$(mktemp)"
    echo "== ctest $dir" >&2
    ctest --test-dir "$dir" --output-on-failure -j"$SANSTLS_JOBS" --timeout 300 \
        ${EXTRA_CTEST_ARGS[@]+"${EXTRA_CTEST_ARGS[@]}"} 2>&1 | tee "$log" || rc=$?
    line="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1 || true)"
    if [[ -n "$line" ]]; then
        failed="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<< "$line")"
        total="$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<< "$line")"
        skipped="$(sed -n '/^The following tests did not run:/,/^$/p' "$log" |
                   grep -cE '\((Skipped|Disabled)\)$' || true)"
        TOTAL_PASSED=$(( TOTAL_PASSED + total - failed - skipped ))
        TOTAL_FAILED=$(( TOTAL_FAILED + failed ))
        TOTAL_SKIPPED=$(( TOTAL_SKIPPED + skipped ))
    elif (( rc != 0 )); then
        echo "error: ctest in $dir failed without a summary (rc=$rc)" >&2
        TOTAL_FAILED=$(( TOTAL_FAILED + 1 ))
    fi
    rm -f "$log"
}

build_failed() {
    echo "error: build in $1 failed" >&2
    TOTAL_FAILED=$(( TOTAL_FAILED + 1 ))
    summary
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

STATUS=0
(( TOTAL_FAILED == 0 )) || STATUS=1
if [[ "$REQUIRE_PEERS" == 1 ]] && (( TOTAL_SKIPPED > 0 )); then
    echo "error: SANSTLS_REQUIRE_PEERS=1 and $TOTAL_SKIPPED tests skipped (install what they need: scripts/setup.sh)" >&2
    STATUS=1
fi
TREE_AFTER="$(tree_state)"
if [[ "$TREE_BEFORE" != "$TREE_AFTER" ]]; then
    echo "error: the tests changed the work tree (git status before/after):" >&2
    diff <(printf '%s\n' "$TREE_BEFORE") <(printf '%s\n' "$TREE_AFTER") >&2 || true
    TOTAL_FAILED=$(( TOTAL_FAILED + 1 ))
    STATUS=1
fi
# What `cmake --install` produced for the consumer tests (tests/consumer).
if [[ -d build/consumer/prefix ]]; then
    echo "== installed tree (build/consumer/prefix; the consumer_* tests build against it):"
    (cd build/consumer/prefix && find . \( -type f -o -type l \) ! -path './include/sanstls/*' | sort | sed 's/^/   /')
fi
summary
exit "$STATUS"
