# shellcheck shell=bash
# The Asio adapter (include/sanstls/adapters/asio.h): Boost 1.83 headers
# (Asio, Beast) unpacked into the cache by scripts/fetch-boost.sh, since
# libboost1.83-dev cannot be installed next to bookworm's libboost1.74-dev.
# apt-get download needs no package installed; tests use openssl and curl
# (already in the base list).
fetch_boost_headers() {
    local out
    out="$(bash "$ROOT/scripts/fetch-boost.sh")" || return 1
    log "Boost headers: $(printf '%s\n' "$out" | tail -n1)"
}
POST_SETUP+=(fetch_boost_headers)
