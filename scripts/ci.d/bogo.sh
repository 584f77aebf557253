#!/usr/bin/env bash
# BoGo conformance (issue 16): the whole runner against our shim, bounded to
# 5 minutes (about 10 s on 2 cores); fails when a test recorded as passing in
# tests/bogo/expected.json no longer passes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
SANSTLS_BOGO_TIME_LIMIT="${SANSTLS_BOGO_TIME_LIMIT:-300}" exec bash scripts/bogo.sh --check
