#!/usr/bin/env bash
# Refresh docs/interop.md on purpose: runs the interop test (CTest `interop`,
# which writes build/interop.md, never the source tree) and copies its report.
# Run after scripts/test.sh (or any Release build in build/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ctest --test-dir build -R '^interop$' --output-on-failure
cp build/interop.md docs/interop.md
echo "docs/interop.md updated from build/interop.md"
