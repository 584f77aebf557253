#!/usr/bin/env bash
# BoGo: BoringSSL's TLS test runner against our shim (tests/bogo/shim.cpp).
#
#   scripts/bogo.sh [FILTER] [--check] [--update-expected]
#
# FILTER: the runner's -test patterns (globs, ';'-separated), e.g. 'Basic-*'.
# Builds the runner if needed (scripts/fetch-bogo.sh) and the shim (Release,
# build/), runs the suite with tests/bogo/config.json (disabled tests, each
# with its reason), writes build/bogo/results.json (integer counts passed,
# failed, disabled, unimplemented; the lists failing and passing) and prints a
# summary.
#   --check            fail when a test tests/bogo/expected.json lists as
#                      passing does not pass (a regression), or (whole suite)
#                      when the pass rate is below the recorded one
#   --update-expected  record this run's passing tests and pass rate in
#                      tests/bogo/expected.json
# Environment: SANSTLS_BOGO_WORKERS (default 4: the shims mostly wait on the
# runner), SANSTLS_BOGO_TIME_LIMIT (seconds, default 300).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd -P)"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

FILTER=""
CHECK=0
UPDATE=0
for arg in "$@"; do
    case "$arg" in
        --check) CHECK=1 ;;
        --update-expected) UPDATE=1 ;;
        -*) echo "bogo: unknown option $arg" >&2; exit 2 ;;
        *) FILTER="$arg" ;;
    esac
done

out="$(bash scripts/fetch-bogo.sh)"
RUNNER_DIR="$(printf '%s\n' "$out" | tail -n2 | head -n1)"
RUNNER="$(printf '%s\n' "$out" | tail -n1)"

sanstls_configure "$ROOT/build" -DCMAKE_BUILD_TYPE=Release >&2
cmake --build "$ROOT/build" --target sanstls_bogo_shim -j"$SANSTLS_JOBS" >&2
SHIM="$ROOT/build/bin/sanstls_bogo_shim"

OUT="$ROOT/build/bogo"
mkdir -p "$OUT"

# Every test's name, to count the disabled ones (the runner's JSON leaves
# them out): one pass with a stub shim that implements nothing (~3 s).
runner_id="$(sha256sum "$RUNNER" | cut -c1-16)"
if [[ ! -f "$OUT/all-tests-$runner_id.json" ]]; then
    stub="$OUT/stub-shim"
    printf '#!/bin/sh\n[ "$1" = -is-handshaker-supported ] && { echo No; exit 0; }\nexit 89\n' > "$stub"
    chmod +x "$stub"
    (cd "$RUNNER_DIR" && "$RUNNER" -shim-path "$stub" -include-disabled -allow-unimplemented \
        -num-workers 4 -json-output "$OUT/all-tests-$runner_id.json" >/dev/null 2>&1) || true
    [[ -f "$OUT/all-tests-$runner_id.json" ]] || { echo "bogo: listing the tests failed" >&2; exit 1; }
fi

args=(-shim-path "$SHIM" -shim-config "$ROOT/tests/bogo/config.json"
      -num-workers "${SANSTLS_BOGO_WORKERS:-4}" -allow-unimplemented -idle-timeout 10s
      -json-output "$OUT/runner.json")
[[ -n "$FILTER" ]] && args+=(-test "$FILTER")
rm -f "$OUT/runner.json" "$OUT/unimplemented.log"
echo "== bogo: running the runner${FILTER:+ on '$FILTER'} (log: build/bogo/runner.log)" >&2
start=$(date +%s)
(cd "$RUNNER_DIR" && SANSTLS_BOGO_RESOURCE_DIR="$RUNNER_DIR" SANSTLS_BOGO_UNIMPLEMENTED_LOG="$OUT/unimplemented.log" \
    timeout "${SANSTLS_BOGO_TIME_LIMIT:-300}" "$RUNNER" "${args[@]}" >"$OUT/runner.log" 2>&1) || true
[[ -f "$OUT/runner.json" ]] || { tail -n 20 "$OUT/runner.log" >&2; echo "bogo: the runner wrote no results (time limit?)" >&2; exit 1; }
echo "== bogo: $(( $(date +%s) - start )) s" >&2

python3 - "$OUT" "$runner_id" "$ROOT/tests/bogo/config.json" "$ROOT/tests/bogo/expected.json" \
    "$FILTER" "$CHECK" "$UPDATE" <<'PY'
import fnmatch, json, re, sys
out, runner_id, config_path, expected_path, filt, check, update = sys.argv[1:]
every = sorted(json.load(open(f"{out}/all-tests-{runner_id}.json"))["tests"])
if filt:
    pats = [re.compile(fnmatch.translate(p)) for p in filt.split(";")]
    every = [n for n in every if any(p.match(n) for p in pats)]
ran = json.load(open(f"{out}/runner.json"))["tests"]
passing = sorted(n for n, r in ran.items() if r["actual"] == "PASS")
failing = sorted(n for n, r in ran.items() if r["actual"] == "FAIL")
unimplemented = sorted(n for n, r in ran.items() if r["actual"] == "SKIP")
disabled = [n for n in every if n not in ran]
results = {"passed": len(passing), "failed": len(failing), "disabled": len(disabled),
           "unimplemented": len(unimplemented), "total": len(every),
           "failing": failing, "passing": passing, "unimplemented_tests": unimplemented}
json.dump(results, open(f"{out}/results.json", "w"), indent=1)
run = len(passing) + len(failing)
rate = 100.0 * len(passing) / run if run else 0.0
print(f"bogo: {len(passing)} passed, {len(failing)} failed, {len(unimplemented)} unimplemented, "
      f"{len(disabled)} disabled of {len(every)}; {rate:.1f}% of the tests run pass "
      f"(results: build/bogo/results.json)")
status = 0
if check == "1":
    expected = json.load(open(expected_path))["passing"]
    if filt:
        expected = [n for n in expected if n in set(every)]
    regressions = sorted(set(expected) - set(passing))
    for n in regressions:
        print(f"bogo: REGRESSION: {n} passed before and does not now "
              f"({ran.get(n, {}).get('actual', 'not run')})")
    if regressions:
        status = 1
    else:
        print(f"bogo: check ok: all {len(expected)} expected passes pass")
    # The whole suite also keeps the recorded pass rate (tests newly run,
    # e.g. after mapping a flag, may not lower it unnoticed).
    recorded = json.load(open(expected_path)).get("rate")
    if not filt and recorded is not None:
        if round(rate, 1) < recorded:
            print(f"bogo: RATE: {rate:.1f}% of the tests run pass, below the recorded {recorded:.1f}%")
            status = 1
        else:
            print(f"bogo: rate ok: {rate:.1f}% (recorded {recorded:.1f}%)")
if update == "1":
    if filt:
        sys.exit("bogo: --update-expected needs the whole suite (no FILTER)")
    json.dump({"comment": "Tests that pass (scripts/bogo.sh --update-expected); "
               "scripts/bogo.sh --check fails when one of them stops passing, or when the whole suite's pass rate (passed / (passed + failed), percent) falls below rate.",
               "passed": len(passing), "rate": round(rate, 1), "passing": passing},
              open(expected_path, "w"), indent=1)
    open(expected_path, "a").write("\n")
    print(f"bogo: recorded {len(passing)} passing tests in tests/bogo/expected.json")
sys.exit(status)
PY
