#!/usr/bin/env bash
# Build the libFuzzer targets and run them (docs/fuzzing.md).
#
#   scripts/fuzz.sh TARGET SECONDS    one of: server client records api loaders
#                                     sessions ticketkeys connect_reply
#                                     connect_request
#   scripts/fuzz.sh all SECONDS       every target, one after the other
#
# Builds build/fuzz once (clang-14, -DSANSTLS_FUZZ=ON -DSANSTLS_DETERMINISTIC=ON),
# generates the seed corpus into build/fuzz/corpus/<target> when missing
# (scripts/make-fuzz-corpus.sh), and runs each target over that corpus plus
# fuzz/regressions/<target> with fuzz/tls.dict. A crash (or leak, timeout,
# out-of-memory) is copied into fuzz/regressions/<target>/ and fails the run.
# Prints executions per second per target and ends with "N passed, M failed".
#
# Environment:
#   SANSTLS_FUZZ_DIR=dir    build directory (default build/fuzz)
#   SANSTLS_FUZZ_ARGS=...   extra libFuzzer flags (e.g. "-jobs=2 -workers=2")
#   SANSTLS_JOBS=N          build parallelism (default 2)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ALL_TARGETS=(server client records api loaders sessions ticketkeys connect_reply
             connect_request)

usage() {
    echo "usage: $0 {${ALL_TARGETS[*]// /|}|all} SECONDS" >&2
    exit 2
}
(( $# == 2 )) || usage
[[ "$2" =~ ^[0-9]+$ ]] || usage
SECONDS_PER_TARGET="$2"
if [[ "$1" == all ]]; then
    TARGETS=("${ALL_TARGETS[@]}")
else
    [[ " ${ALL_TARGETS[*]} " == *" $1 "* ]] || usage
    TARGETS=("$1")
fi

FUZZ_DIR="${SANSTLS_FUZZ_DIR:-$SANSTLS_ROOT/build/fuzz}"
read -r -a EXTRA_ARGS <<< "${SANSTLS_FUZZ_ARGS:-}"

bash scripts/setup.sh >/dev/null
# Configure once (sanstls_configure skips configured directories); the
# compiler is chosen by CC/CXX at that first configure.
CC=clang-14 CXX=clang++-14 sanstls_configure "$FUZZ_DIR" \
    -DCMAKE_BUILD_TYPE=Release \
    -DSANSTLS_FUZZ=ON \
    -DSANSTLS_DETERMINISTIC=ON \
    -DBUILD_TESTING=OFF
echo "== build $FUZZ_DIR" >&2
cmake --build "$FUZZ_DIR" -j"$SANSTLS_JOBS" --target fuzz_all

if [[ ! -d "$FUZZ_DIR/corpus" ]]; then
    bash scripts/make-fuzz-corpus.sh "$FUZZ_DIR"
fi

PASSED=0
FAILED=0
for target in "${TARGETS[@]}"; do
    corpus="$FUZZ_DIR/corpus/$target"
    artifacts="$FUZZ_DIR/artifacts/$target"
    regressions="$SANSTLS_ROOT/fuzz/regressions/$target"
    log="$FUZZ_DIR/logs/$target.log"
    mkdir -p "$corpus" "$artifacts" "$regressions" "$(dirname "$log")"
    rm -f "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*
    echo "== fuzz_$target for ${SECONDS_PER_TARGET}s" >&2
    rc=0
    "$FUZZ_DIR/bin/fuzz_$target" \
        -max_total_time="$SECONDS_PER_TARGET" \
        -seed="${SANSTLS_FUZZ_SEED:-1}" \
        -dict="$SANSTLS_ROOT/fuzz/tls.dict" \
        -rss_limit_mb=2048 \
        -timeout=30 \
        -print_final_stats=1 \
        -artifact_prefix="$artifacts/" \
        ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"} \
        "$corpus" "$regressions" > "$log" 2>&1 || rc=$?
    execs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n1)"
    per_sec="$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n1)"
    cov="$(grep -E '^#[0-9]+' "$log" | tail -n1 | sed -nE 's/.*cov: ([0-9]+).*/\1/p')"
    found=()
    for artifact in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
        [[ -e "$artifact" ]] || continue
        cp "$artifact" "$regressions/"
        found+=("fuzz/regressions/$target/$(basename "$artifact")")
    done
    if (( rc == 0 && ${#found[@]} == 0 )); then
        PASSED=$(( PASSED + 1 ))
        echo "fuzz_$target: ok, ${per_sec:-?} exec/s, ${execs:-?} runs, cov ${cov:-?} (log: $log)"
    else
        FAILED=$(( FAILED + 1 ))
        echo "fuzz_$target: FAILED (exit $rc), ${per_sec:-?} exec/s, ${execs:-?} runs (log: $log)"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -n5 || true
        for f in ${found[@]+"${found[@]}"}; do
            echo "  reproducer: $f   (reproduce: $FUZZ_DIR/bin/fuzz_$target $f)"
        done
    fi
done

echo "$PASSED passed, $FAILED failed"
(( FAILED == 0 ))
