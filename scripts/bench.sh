#!/usr/bin/env bash
# Benchmarks (issue 7): sanstls vs raw mbedTLS vs OpenSSL vs the crypto floor.
#
#   scripts/bench.sh            full run (~10-15 min on 2 cores; the option
#                               builds are cached in build/bench-*)
#   scripts/bench.sh --quick    under two minutes: short timings, small
#                               callgrind runs, no options study (the last
#                               study's bench/results/options.json is kept)
#   --no-options / --options    skip / force the mbedTLS options study
#   --epoll / --no-epoll        run / skip scripts/bench-epoll.sh (sanstls's epoll
#                               server vs nginx and Node, ~20 min; default: with
#                               the full run, not with --quick) and take its
#                               figures in (latest.json "epoll", performance.md)
#   --publish                   only copy the last run's report into the
#                               repository (bench/results/, docs/performance.md)
#
# A run never changes the work tree: it writes the report to
# build/bench-report/ (bench/results/latest.json, chart.png, callgrind-*.txt,
# options.json and docs/performance.md, laid out as in the repository), raw
# outputs to build/bench-results/. `scripts/bench.sh --publish` copies the
# report in, on purpose.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$SANSTLS_ROOT"

QUICK=0
PUBLISH_ONLY=0
OPTIONS=auto
EPOLL=auto
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        --options) OPTIONS=1 ;;
        --no-options) OPTIONS=0 ;;
        --epoll) EPOLL=1 ;;
        --no-epoll) EPOLL=0 ;;
        --publish) PUBLISH_ONLY=1 ;;
        -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
        *) echo "bench.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done
[[ "$OPTIONS" == auto ]] && OPTIONS=$((1 - QUICK))
[[ "$EPOLL" == auto ]] && EPOLL=$((1 - QUICK))

if (( QUICK )); then
    MIN_TIME=0.05; HS_N=4; BULK_BYTES=1048576; REPS=1
else
    MIN_TIME=0.3; HS_N=12; BULK_BYTES=4194304; REPS=3
fi
RAW="$ROOT/build/bench-results"
STAGE="$ROOT/build/bench-report"  # the report, laid out as in the repository
RESULTS="$STAGE/bench/results"
if (( PUBLISH_ONLY )); then
    [[ -f "$RESULTS/latest.json" ]] || { echo "bench.sh: no report in $STAGE (run scripts/bench.sh first)" >&2; exit 1; }
    mkdir -p "$ROOT/bench/results"
    cp "$RESULTS"/* "$ROOT/bench/results/"
    cp "$STAGE/docs/performance.md" "$ROOT/docs/performance.md"
    echo "bench.sh: copied $STAGE into bench/results/ and docs/performance.md" >&2
    exit 0
fi
# Start from the published report: what this run does not measure (the
# options study with --quick, the epoll figures with --no-epoll) is kept.
rm -rf "$STAGE"
mkdir -p "$RAW" "$RESULTS" "$STAGE/docs"
cp "$ROOT"/bench/results/* "$RESULTS/"
cp "$ROOT/docs/performance.md" "$STAGE/docs/performance.md"
mkdir -p "$STAGE/bench" && cp "$ROOT/bench/performance-notes.md" "$STAGE/bench/" 2>/dev/null || true
rm -f "$RAW"/*.json "$RAW"/*.jsonl "$RAW"/callgrind.out.*
echo "$([[ $QUICK == 1 ]] && echo quick || echo full)" > "$RAW/mode"
log() { printf '== bench: %s\n' "$*" >&2; }

# Debian's python3 (python3-matplotlib), not whatever python3 comes first in PATH.
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
for tool in valgrind callgrind_annotate; do
    command -v "$tool" >/dev/null || { echo "bench.sh: $tool missing (run scripts/setup.sh)" >&2; exit 1; }
done
"$PY" -c 'import matplotlib' 2>/dev/null || { echo "bench.sh: python3-matplotlib missing (run scripts/setup.sh)" >&2; exit 1; }

TARGETS=(sanstls_bench sanstls_bench_icount sanstls_bench_heap)
sanstls_configure "$ROOT/build" -DCMAKE_BUILD_TYPE=Release
log "build ${TARGETS[*]}"
cmake --build "$ROOT/build" -j"$SANSTLS_JOBS" --target "${TARGETS[@]}"
BIN="$ROOT/build/bin"

# 1. Wall-clock figures (CPU time) for all four columns.
log "Google Benchmark (min time ${MIN_TIME}s per case, $REPS repetition(s), median)"
"$BIN/sanstls_bench" --benchmark_min_time="$MIN_TIME" \
    --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=$([[ $REPS -gt 1 ]] && echo true || echo false) \
    --benchmark_format=console --benchmark_out_format=json --benchmark_out="$RAW/gbench.json" \
    --benchmark_counters_tabular=false >&2

# 2. Heap per connection (malloc counter, separate process).
log "heap per connection"
"$BIN/sanstls_bench_heap" > "$RAW/heap.jsonl"

# 3. Instruction counts under callgrind: only the measured loop is collected.
count() {  # count <out-name> <args...>  -> prints collected Ir
    local out="$RAW/callgrind.out.$1"; shift
    valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out" \
        "$BIN/sanstls_bench_icount" "$@" 2> "$out.log" >&2 || { cat "$out.log" >&2; return 1; }
    sed -n 's/^==[0-9]*== Collected : //p' "$out.log"
}
log "callgrind: $HS_N handshakes (TLS 1.3 and 1.2) and $BULK_BYTES bytes per system"
{
    echo "{\"n_handshakes\": $HS_N, \"n_bulk\": $BULK_BYTES,"
    echo " \"setup\": \"valgrind --tool=callgrind, instructions (Ir) collected only inside the measured loop: $HS_N full handshakes (client and server, connection creation and destruction included; TLS 1.3 and TLS 1.2, ECDSA P-256 certificate, X25519, AES-128-GCM, certificate verification on) and $BULK_BYTES bytes client to server in 16 KiB writes (TLS 1.3, AES-128-GCM, after a warm-up). The RNG is the OS's, so ECDSA nonces differ between runs: expect the handshake counts to move by a few tenths of a percent.\","
    echo " \"counts\": {"
    first=1
    for sys in sanstls mbedtls openssl floor; do
        hs=$(count "$sys.handshake" "$sys" handshake "$HS_N")
        bulk=$(count "$sys.bulk" "$sys" bulk "$BULK_BYTES")
        hs12=null
        if [[ $sys == sanstls || $sys == mbedtls ]]; then
            hs12=$(count "$sys.handshake12" "$sys" handshake12 "$HS_N")
        fi
        (( first )) || echo ","
        first=0
        printf '  "%s": {"handshake": %s, "handshake12": %s, "bulk": %s}' "$sys" "${hs:-null}" "${hs12:-null}" "${bulk:-null}"
    done
    echo "}}"
} > "$RAW/icount.json"
# Hot spots: top functions (self cost) of sanstls and raw mbedTLS.
for kind in handshake bulk; do
    for sys in sanstls mbedtls; do
        callgrind_annotate --threshold=98 "$RAW/callgrind.out.$sys.$kind" 2>/dev/null |
            sed -n '/^Ir/,$p' | grep -v '^-' | head -30 | cut -c1-160 |
            sed "s|$ROOT/||g" > "$RESULTS/callgrind-$sys-$kind.txt" || true
    done
done

# 4. mbedTLS options study: each overlay in its own build tree.
if (( OPTIONS )); then
    mbedtls_src="$(sanstls_mbedtls_dir)"
    FILTER='^(handshake/(sanstls)/(tls13/ecdsa/x25519|tls13/ecdsa/p256|tls13/rsa/x25519|tls12/ecdsa/x25519)$|bulk/sanstls/(aes128gcm|chacha20)/oneway/16k$|crypto/)'
    OPT_TIME=$([[ $QUICK == 1 ]] && echo 0.05 || echo 0.3)
    # Instruction counts (callgrind, sanstls pair) per option: noise-free.
    option_icount() {  # option_icount <bin-dir> <out.json>
        local bin="$1" out="$2" mode n first=1
        echo "{" > "$out"
        for mode in handshake handshake_p256 handshake_rsa handshake12 bulk bulk_chacha; do
            if [[ $mode == bulk* ]]; then n=1048576; else n=3; fi
            valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=/dev/null \
                "$bin/sanstls_bench_icount" sanstls "$mode" "$n" > /dev/null 2> "$out.log" || true
            ir=$(sed -n 's/^==[0-9]*== Collected : //p' "$out.log")
            (( first )) || echo "," >> "$out"
            first=0
            printf '"%s": %s' "$mode" "$( [[ -n $ir ]] && awk -v a="$ir" -v b="$n" 'BEGIN { printf "%.2f", a / b }' || echo null)" >> "$out"
        done
        echo "}" >> "$out"
    }
    args=("baseline=$RAW/options-baseline.json:$RAW/options-baseline.icount.json")
    log "options: baseline"
    "$BIN/sanstls_bench" --benchmark_min_time="$OPT_TIME" --benchmark_filter="$FILTER" \
        --benchmark_out_format=json --benchmark_out="$RAW/options-baseline.json" > /dev/null
    option_icount "$BIN" "$RAW/options-baseline.icount.json"
    for overlay in "$ROOT"/bench/mbedtls-options/*.h; do
        name="$(basename "$overlay" .h)"
        dir="$ROOT/build/bench-$name"
        log "options: $name (build $dir)"
        if [[ ! -f "$dir/build.ninja" ]]; then
            cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
                -DSANSTLS_MBEDTLS_SOURCE_DIR="$mbedtls_src" \
                "-DCMAKE_C_FLAGS=-DMBEDTLS_USER_CONFIG_FILE='\"$overlay\"'" \
                "-DCMAKE_CXX_FLAGS=-DMBEDTLS_USER_CONFIG_FILE='\"$overlay\"'" > "$dir.configure.log" 2>&1 ||
                { echo "bench.sh: configure $name failed (see $dir.configure.log)" >&2; continue; }
        fi
        cmake --build "$dir" -j"$SANSTLS_JOBS" --target sanstls_bench sanstls_bench_icount > "$dir.build.log" 2>&1 ||
            { echo "bench.sh: build $name failed (see $dir.build.log)" >&2; continue; }
        "$dir/bin/sanstls_bench" --benchmark_min_time="$OPT_TIME" --benchmark_filter="$FILTER" \
            --benchmark_out_format=json --benchmark_out="$RAW/options-$name.json" > /dev/null ||
            { echo "bench.sh: run $name failed" >&2; continue; }
        option_icount "$dir/bin" "$RAW/options-$name.icount.json"
        args+=("$name=$RAW/options-$name.json:$RAW/options-$name.icount.json")
    done
    "$PY" "$ROOT/bench/options.py" "$RESULTS/options.json" "${args[@]}"
fi

# 5. The epoll servers (its own script; raw results in build/bench-epoll/).
if (( EPOLL )); then
    log "epoll: scripts/bench-epoll.sh"
    bash "$ROOT/scripts/bench-epoll.sh"
    bash "$ROOT/scripts/bench-epoll.sh" --publish-to "$STAGE"
fi

# 6. latest.json, chart and docs/performance.md.
log "report"
"$PY" "$ROOT/bench/report.py" "$RAW" "$STAGE"
"$PY" - "$RESULTS/latest.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))["overhead"]
print("overhead.instructions_per_handshake_ratio = %s (TLS 1.2: %s)" % (o["instructions_per_handshake_ratio"], o["instructions_per_handshake_ratio_tls12"]))
print("overhead.instructions_per_byte_ratio      = %s" % o["instructions_per_byte_ratio"])
PY
log "wrote the report to build/bench-report/ (scripts/bench.sh --publish copies it into the repository)"
