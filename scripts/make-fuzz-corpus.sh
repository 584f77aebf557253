#!/usr/bin/env bash
# Generate the fuzzing seed corpora into BUILD-DIR/corpus/<target> (not
# committed): real in-memory handshakes of our engine in every harness
# configuration (TLS 1.2 and 1.3, ALPN, client certificates, HelloRetryRequest)
# split at flight boundaries, op sequences for fuzz_records and fuzz_api, and
# PEM/DER certificates and keys for fuzz_loaders (fuzz/corpus/make_corpus.cpp);
# then, when openssl is on PATH, ClientHellos of `openssl s_client` and first
# flights of `openssl s_server` captured on loopback.
#
#   scripts/make-fuzz-corpus.sh [BUILD-DIR]     default build/fuzz
#
# BUILD-DIR must be a SANSTLS_DETERMINISTIC build (scripts/fuzz.sh makes one),
# or the TLS 1.3 flights will not match the fuzzed connection's key shares.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

DIR="${1:-$SANSTLS_ROOT/build/fuzz}"
[[ -f "$DIR/CMakeCache.txt" ]] || { echo "error: $DIR is not configured (run scripts/fuzz.sh)" >&2; exit 1; }
if ! grep -q '^SANSTLS_DETERMINISTIC:BOOL=ON' "$DIR/CMakeCache.txt"; then
    echo "warning: $DIR is not a SANSTLS_DETERMINISTIC build; TLS 1.3 seeds will not replay" >&2
fi
cmake --build "$DIR" -j"$SANSTLS_JOBS" --target fuzz_make_corpus
OUT="$DIR/corpus"
mkdir -p "$OUT"
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}" "$DIR/bin/fuzz_make_corpus" "$OUT"

if command -v openssl >/dev/null && command -v python3 >/dev/null; then
    python3 fuzz/corpus/openssl_captures.py "$OUT" || echo "warning: openssl captures failed (skipped)" >&2
fi
for target in "$OUT"/*/; do
    echo "$(basename "$target"): $(find "$target" -type f | wc -l) seeds"
done
