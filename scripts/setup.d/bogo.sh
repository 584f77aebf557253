# shellcheck shell=bash
# BoGo (BoringSSL's TLS test runner, scripts/bogo.sh): Debian's Go and the Go
# libraries the runner imports, then the runner itself (scripts/fetch-bogo.sh:
# the android-platform-external-boringssl source package from the trixie
# deb-src entry, built offline).
BPO_PKGS+=(golang-1.22-go golang-golang-x-crypto-dev golang-golang-x-sys-dev
           golang-golang-x-term-dev)
PKGS+=(golang-golang-x-net-dev)
fetch_bogo_runner() { bash "$ROOT/scripts/fetch-bogo.sh" >/dev/null; }
POST_SETUP+=(fetch_bogo_runner)
