#!/usr/bin/env bash
# Boost 1.83 headers (Asio, Beast) for the Asio adapter, without installing
# the package: libboost1.83-dev (bookworm-backports) conflicts with the
# libboost1.74-dev that bookworm's libboost-dev pulls in, so its .deb is
# downloaded with apt and unpacked into the cache. Boost.Asio, Beast and
# Boost.System are header-only; libboost1.83-dev holds every header (its only
# dependency is libstdc++-12-dev; the libboost-*1.83-dev packages it suggests
# carry compiled libraries, which the adapter does not use).
#
# Prints the include directory (the one holding boost/version.hpp) as its
# last line. Needs the bookworm-backports entry scripts/setup.sh writes.
set -euo pipefail

PACKAGE=libboost1.83-dev
WANT_VERSION=108300
CACHE="${SANSTLS_CACHE:-$HOME/.cache/sanstls}"
DEST="$CACHE/boost-1.83"
INCLUDE="$DEST/usr/include"

log() { printf 'fetch-boost: %s\n' "$*" >&2; }
die() { printf 'fetch-boost: error: %s\n' "$*" >&2; exit 1; }

complete() {
    [[ -f "$INCLUDE/boost/version.hpp" && -f "$INCLUDE/boost/asio.hpp" && -f "$INCLUDE/boost/beast.hpp" ]] &&
        grep -q "define BOOST_VERSION $WANT_VERSION\$" "$INCLUDE/boost/version.hpp"
}

if complete; then
    printf '%s\n' "$INCLUDE"
    exit 0
fi

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || die "apt-get and dpkg-deb are needed"
mkdir -p "$CACHE"
work="$(mktemp -d "$CACHE/boost-fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# apt's download sandbox user must be able to write here.
chmod 755 "$work"
id _apt >/dev/null 2>&1 && chown _apt "$work" 2>/dev/null || true

log "downloading $PACKAGE (bookworm-backports)"
if ! (cd "$work" && apt-get download -qq "$PACKAGE/bookworm-backports" >&2); then
    die "apt-get download $PACKAGE/bookworm-backports failed (run scripts/setup.sh: it adds bookworm-backports)"
fi
deb="$(ls "$work"/"$PACKAGE"_*.deb 2>/dev/null | head -n1)"
[[ -n "$deb" ]] || die "no $PACKAGE .deb was downloaded"
log "unpacking $(basename "$deb")"
mkdir "$work/root"
dpkg-deb -x "$deb" "$work/root" || die "dpkg-deb -x $deb failed"
[[ -f "$work/root/usr/include/boost/version.hpp" ]] || die "$deb holds no boost/version.hpp"
# Swap in whole, so an interrupted fetch never leaves a half-filled cache.
rm -rf "$DEST"
mv "$work/root" "$DEST"
complete || die "$DEST is incomplete after unpacking (not Boost 1.83?)"
printf '%s\n' "$INCLUDE"
