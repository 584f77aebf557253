#!/usr/bin/env bash
# Build (Release, build/) and run the sanstls demo; arguments go to the demo.
# Setup/build chatter goes to stderr so the demo's stdout stays clean.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

bash scripts/setup.sh >&2
sanstls_build_release >&2
exec "$SANSTLS_ROOT/build/bin/sanstls" demo "$@"
