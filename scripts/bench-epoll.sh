#!/usr/bin/env bash
# The epoll benchmarks (issue 11): sanstls's epoll echo server against nginx
# and Node on loopback: handshakes/s, echo MB/s (both also per server CPU
# second) and RSS per idle TLS connection at 10k and 100k connections.
#
#   scripts/bench-epoll.sh               full run (~15-25 min on 2 cores)
#   scripts/bench-epoll.sh --smoke       a few seconds, tiny counts (CTest bench_epoll_smoke)
#   scripts/bench-epoll.sh --publish     copy the last run (build/bench-epoll/epoll.json) into
#                                        bench/results/latest.json ("epoll") and docs/performance.md
#   --publish-to DIR                     the same into DIR's copy of those files
#                                        (scripts/bench.sh: its report in build/bench-report)
#   --out DIR      results directory (default build/bench-epoll; never the work tree)
#   --bin DIR      where the built programs are (default build/bin; built if missing)
#   any other --flag is passed to bench/epoll_bench.py (--idle 10000,100000,
#   --workers 1, --systems sanstls,nginx,node, --seconds 5, --idle-only,
#   --idle-timeout-s 1200 ...; a separate --idle-only run joins a full one
#   with bench/epoll_report.py --merge)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROOT="$SANSTLS_ROOT"
OUT="$ROOT/build/bench-epoll"
BIN=""
PUBLISH=0
PUBLISH_ROOT="$ROOT"
PASS=()
while (( $# )); do
    case "$1" in
        --publish) PUBLISH=1 ;;
        --publish-to) PUBLISH=1; PUBLISH_ROOT="$2"; shift ;;
        --out) OUT="$2"; shift ;;
        --bin) BIN="$2"; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) PASS+=("$1") ;;
    esac
    shift
done
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
if (( PUBLISH )); then
    [[ -f "$OUT/epoll.json" ]] || { echo "bench-epoll.sh: no run in $OUT (run scripts/bench-epoll.sh first)" >&2; exit 1; }
    PYTHONDONTWRITEBYTECODE=1 "$PY" "$ROOT/bench/epoll_report.py" --publish "$OUT/epoll.json" "$PUBLISH_ROOT"
    exit 0
fi
if [[ -z "$BIN" ]]; then
    BIN="$ROOT/build/bin"
    sanstls_configure "$ROOT/build" -DCMAKE_BUILD_TYPE=Release
    cmake --build "$ROOT/build" -j"$SANSTLS_JOBS" --target sanstls_bench_loadgen sanstls_bench_epoll_server >&2
fi
mkdir -p "$OUT"
PYTHONDONTWRITEBYTECODE=1 "$PY" "$ROOT/bench/epoll_bench.py" --bin "$BIN" --out "$OUT" ${PASS[@]+"${PASS[@]}"}
echo "bench-epoll.sh: report in $OUT/epoll.md (scripts/bench-epoll.sh --publish copies it into docs/performance.md)" >&2
