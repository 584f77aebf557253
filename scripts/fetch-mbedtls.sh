#!/usr/bin/env bash
# Locate (or obtain) an unpacked mbedTLS 3.6.x (>= 3.6.6) source tree.
#
# The absolute path of the tree is printed as the LAST line of stdout; all
# progress messages go to stderr.  Lookup order:
#   1. $SANSTLS_MBEDTLS_SOURCE_DIR (used as-is, but validated)
#   2. the cache: ${SANSTLS_CACHE_DIR:-$HOME/.cache/sanstls}/mbedtls-<version>
#   3. Debian's source package (apt-get source --download-only mbedtls), from
#      which only the pristine *.orig.tar.* is unpacked.  The Debian-patched tree
#      is NOT used: its cmake-disable-3rdparty.patch drops 3rdparty/everest and
#      p256-m from the build.
#   4. the upstream release tarball (needs access to github.com).
# Release archives ship the generated sources, so mbedTLS builds with
# GEN_FILES=OFF (no Python/Perl code generation needed).
set -euo pipefail

MIN_PATCH=6                      # minimum 3.6.x patch level
UPSTREAM_VERSION="${SANSTLS_MBEDTLS_UPSTREAM_VERSION:-3.6.6}"
UPSTREAM_URL="https://github.com/Mbed-TLS/mbedtls/releases/download/mbedtls-${UPSTREAM_VERSION}/mbedtls-${UPSTREAM_VERSION}.tar.bz2"
CACHE_DIR="${SANSTLS_CACHE_DIR:-${HOME:-/root}/.cache/sanstls}"

log() { printf 'fetch-mbedtls: %s\n' "$*" >&2; }
die() { printf 'fetch-mbedtls: error: %s\n' "$*" >&2; exit 1; }

# Print the version string of the tree in $1 (empty if none).
tree_version() {
    local h="$1/include/mbedtls/build_info.h"
    [[ -f "$h" ]] || return 0
    sed -n 's/^#define[[:space:]]\{1,\}MBEDTLS_VERSION_STRING[[:space:]]\{1,\}"\([0-9.]*\)".*/\1/p' "$h" | head -n1
}

# Succeeds when $1 is a 3.6.x version with x >= MIN_PATCH.
version_ok() {
    local v="$1"
    [[ "$v" =~ ^3\.6\.([0-9]+)$ ]] || return 1
    (( BASH_REMATCH[1] >= MIN_PATCH ))
}

# Succeeds when $1 is a usable, unpatched mbedTLS 3.6 tree.
tree_ok() {
    local d="$1" v
    [[ -d "$d" ]] || return 1
    v="$(tree_version "$d")"
    version_ok "$v" || { log "$d: version '${v:-?}' is not 3.6.x >= 3.6.$MIN_PATCH"; return 1; }
    [[ -f "$d/library/ssl_tls13_client.c" ]] || { log "$d: missing library/ssl_tls13_client.c"; return 1; }
    [[ -f "$d/3rdparty/everest/CMakeLists.txt" ]] || { log "$d: missing 3rdparty/everest"; return 1; }
    grep -q '^[[:space:]]*add_subdirectory(3rdparty)' "$d/CMakeLists.txt" \
        || { log "$d: CMakeLists.txt does not build 3rdparty/ (Debian-patched tree?)"; return 1; }
    # Release archives contain the generated sources needed for GEN_FILES=OFF.
    [[ -f "$d/library/error.c" && -f "$d/library/version_features.c" && -f "$d/library/psa_crypto_driver_wrappers_no_static.c" ]] \
        || { log "$d: generated sources missing (git checkout instead of a release archive?)"; return 1; }
    return 0
}

emit() { (cd "$1" && pwd -P); exit 0; }

# Unpack archive $1 into the cache; on success prints nothing and sets RESULT.
install_archive() {
    local archive="$1" tmp top v dest
    mkdir -p "$CACHE_DIR"
    tmp="$(mktemp -d "$CACHE_DIR/.unpack.XXXXXX")"
    log "unpacking $(basename "$archive")"
    if ! tar -C "$tmp" -xf "$archive"; then rm -rf "$tmp"; log "cannot unpack $archive"; return 1; fi
    top="$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -n1)"
    if [[ -z "$top" ]] || ! tree_ok "$top"; then rm -rf "$tmp"; return 1; fi
    v="$(tree_version "$top")"
    dest="$CACHE_DIR/mbedtls-$v"
    rm -rf "$dest"
    mv "$top" "$dest"
    rm -rf "$tmp"
    RESULT="$dest"
}

# 1. Explicit override.
if [[ -n "${SANSTLS_MBEDTLS_SOURCE_DIR:-}" ]]; then
    tree_ok "$SANSTLS_MBEDTLS_SOURCE_DIR" || die "SANSTLS_MBEDTLS_SOURCE_DIR=$SANSTLS_MBEDTLS_SOURCE_DIR is not a usable mbedTLS >= 3.6.$MIN_PATCH tree"
    emit "$SANSTLS_MBEDTLS_SOURCE_DIR"
fi

# 2. Cache: newest valid mbedtls-3.6.* directory.
if [[ -d "$CACHE_DIR" ]]; then
    while IFS= read -r d; do
        [[ -n "$d" ]] || continue
        if tree_ok "$d" && [[ "$(basename "$d")" == "mbedtls-$(tree_version "$d")" ]]; then
            emit "$d"
        fi
    done < <(find "$CACHE_DIR" -mindepth 1 -maxdepth 1 -type d -name 'mbedtls-3.6.*' | sort -V -r)
fi

RESULT=""

# 3. Debian source package (needs a deb-src entry providing mbedtls >= 3.6.6;
#    scripts/setup.sh adds trixie's).
if command -v apt-get >/dev/null 2>&1 && command -v apt-cache >/dev/null 2>&1; then
    best=""
    best_patch=-1
    while IFS= read -r v; do
        up="${v#*:}"; up="${up%%-*}"; up="${up%%+*}"; up="${up%%~*}"
        if [[ "$up" =~ ^3\.6\.([0-9]+)$ ]] && (( BASH_REMATCH[1] >= MIN_PATCH && BASH_REMATCH[1] > best_patch )); then
            best="$v"; best_patch="${BASH_REMATCH[1]}"
        fi
    done < <(apt-cache showsrc mbedtls 2>/dev/null | sed -n 's/^Version:[[:space:]]*//p')
    if [[ -n "$best" ]]; then
        log "downloading Debian source package mbedtls=$best"
        dl="$(mktemp -d)"
        chmod 755 "$dl"   # lets the _apt sandbox user write when possible
        # As root the download may run unsandboxed; apt warns about that — harmless.
        if (cd "$dl" && apt-get source --download-only -qq "mbedtls=$best" >&2 2> >(grep -v 'unsandboxed' >&2)); then
            orig="$(find "$dl" -maxdepth 1 -name 'mbedtls_*.orig.tar.*' ! -name '*.asc' | head -n1)"
            if [[ -n "$orig" ]] && install_archive "$orig"; then
                rm -rf "$dl"
                emit "$RESULT"
            fi
            log "Debian source package did not yield a usable tree"
        else
            log "apt-get source failed"
        fi
        rm -rf "$dl"
    else
        log "no mbedtls 3.6.x >= 3.6.$MIN_PATCH source package known to apt (deb-src entry missing?)"
    fi
fi

# 4. Upstream release tarball.
if command -v curl >/dev/null 2>&1; then
    dl="$(mktemp -d)"
    log "downloading $UPSTREAM_URL"
    if curl -fsSL --retry 2 --connect-timeout 15 -o "$dl/mbedtls.tar.bz2" "$UPSTREAM_URL"; then
        if [[ -n "${SANSTLS_MBEDTLS_SHA256:-}" ]]; then
            echo "$SANSTLS_MBEDTLS_SHA256  $dl/mbedtls.tar.bz2" | sha256sum -c --quiet - >&2 \
                || { rm -rf "$dl"; die "checksum mismatch for $UPSTREAM_URL"; }
        fi
        if install_archive "$dl/mbedtls.tar.bz2"; then
            rm -rf "$dl"
            emit "$RESULT"
        fi
    else
        log "download failed"
    fi
    rm -rf "$dl"
fi

die "no mbedTLS 3.6.x >= 3.6.$MIN_PATCH source found. Run scripts/setup.sh (adds Debian deb-src entries), or set SANSTLS_MBEDTLS_SOURCE_DIR to an unpacked release tree."
