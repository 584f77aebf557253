#!/usr/bin/env bash
# Locate (or build) BoringSSL's BoGo test runner (ssl/test/runner, built as a
# Go test binary). Prints the runner binary's absolute path as the LAST line
# of stdout, and its resource directory (certificates, keys) before it;
# progress goes to stderr.
#
# Source: Debian's android-platform-external-boringssl source package
# (scripts/setup.sh adds the trixie deb-src entry), of which only
# src/go.mod, src/ssl/test/runner and src/util/testresult are unpacked from
# the pristine *.orig.tar.*. Built offline with Debian's Go (golang-1.22 from
# bookworm-backports) and Debian's golang-golang-x-* packages, GO111MODULE=off,
# GOPATH = a private tree + /usr/share/gocode. Nothing is downloaded besides
# the source package.
set -euo pipefail

VERSION="${SANSTLS_BOGO_VERSION:-14.0.0+r45}"
PKG=android-platform-external-boringssl
CACHE_DIR="${SANSTLS_CACHE_DIR:-${HOME:-/root}/.cache/sanstls}"
DEST="$CACHE_DIR/boringssl-$VERSION"
GO="${SANSTLS_GO:-/usr/lib/go-1.22/bin/go}"

log() { printf 'fetch-bogo: %s\n' "$*" >&2; }
die() { printf 'fetch-bogo: error: %s\n' "$*" >&2; exit 1; }

RUNNER_DIR="$DEST/src/ssl/test/runner"
emit() { printf '%s\n%s\n' "$RUNNER_DIR" "$DEST/runner.test"; exit 0; }

[[ -x "$DEST/runner.test" && -f "$RUNNER_DIR/cert.pem" ]] && emit

# 1. The runner's sources (from a cached orig tarball, else apt-get source).
if [[ ! -f "$RUNNER_DIR/runner.go" ]]; then
    orig="$(find "$CACHE_DIR/boringssl-src" -maxdepth 1 -name "${PKG}_${VERSION}.orig.tar.*" 2>/dev/null | head -n1 || true)"
    if [[ -z "$orig" ]]; then
        command -v apt-get >/dev/null || die "apt-get not found; cannot fetch the $PKG source package"
        mkdir -p "$CACHE_DIR/boringssl-src"
        chmod 755 "$CACHE_DIR/boringssl-src"
        # VERSION is the upstream version (it names the orig tarball); the
        # archive's Debian revision (-1, -2...) changes over time, so take
        # whichever revision of it the deb-src entries list now.
        full="$(apt-cache showsrc "$PKG" 2>/dev/null | sed -n 's/^Version:[[:space:]]*//p' |
            grep -E "^([0-9]+:)?${VERSION//+/\\+}(-[^-]+)?\$" | sort -V | tail -n1 || true)"
        [[ -n "$full" ]] || die "no $PKG $VERSION in the deb-src entries (trixie missing? run scripts/setup.sh)"
        log "downloading Debian source package $PKG=$full"
        # Only the orig tarball is used: a mirror missing the small
        # .debian.tar (seen when the archive moves to a new revision) fails
        # apt-get but leaves the orig, which is kept if its checksum matches.
        (cd "$CACHE_DIR/boringssl-src" &&
            apt-get source --download-only -qq "$PKG=$full" >&2 2> >(grep -v unsandboxed >&2)) ||
            log "apt-get source $PKG=$full reported an error; checking the orig tarball"
        orig="$(find "$CACHE_DIR/boringssl-src" -maxdepth 1 -name "${PKG}_${VERSION}.orig.tar.*" | head -n1)"
        [[ -n "$orig" ]] || die "apt-get source $PKG=$full gave no orig tarball"
        want="$(apt-cache showsrc "$PKG" 2>/dev/null |
            awk -v f="$(basename "$orig")" '/^[^ ]/ { sha = ($1 == "Checksums-Sha256:") } sha && $3 == f { print $1; exit }')"
        if [[ -z "$want" || "$(sha256sum "$orig" | cut -d' ' -f1)" != "$want" ]]; then
            rm -f "$orig"
            die "$(basename "$orig"): checksum does not match the archive's"
        fi
    fi
    tmp="$(mktemp -d "$CACHE_DIR/.bogo.XXXXXX")"
    log "unpacking the runner from $(basename "$orig")"
    tar -C "$tmp" -xf "$orig" --wildcards '*/src/go.mod' '*/src/ssl/test/runner/*' \
        '*/src/util/testresult/*' || { rm -rf "$tmp"; die "cannot unpack $orig"; }
    top="$(find "$tmp" -mindepth 1 -maxdepth 1 -type d | head -n1)"
    [[ -f "$top/src/ssl/test/runner/runner.go" ]] || { rm -rf "$tmp"; die "no ssl/test/runner in $orig"; }
    mkdir -p "$DEST"
    rm -rf "$DEST/src"
    mv "$top/src" "$DEST/src"
    rm -rf "$tmp"
fi

# 2. Build it as a test binary (the runner is the package's TestAll).
[[ -x "$GO" ]] || die "$GO not found (install golang-1.22-go from bookworm-backports: scripts/setup.sh)"
for d in crypto net sys; do
    [[ -d /usr/share/gocode/src/golang.org/x/$d ]] || die "/usr/share/gocode/src/golang.org/x/$d missing (golang-golang-x-$d-dev)"
done
mkdir -p "$DEST/gopath/src/boringssl.googlesource.com"
ln -sfn "$DEST/src" "$DEST/gopath/src/boringssl.googlesource.com/boringssl"
log "building the runner with $("$GO" version)"
(cd "$DEST/gopath/src/boringssl.googlesource.com/boringssl/ssl/test/runner" &&
    GO111MODULE=off GOPATH="$DEST/gopath:/usr/share/gocode" GOCACHE="$DEST/gocache" \
    GOTOOLCHAIN=local GOPROXY=off GOFLAGS= "$GO" test -c -o "$DEST/runner.test.tmp" . >&2) ||
    die "building the runner failed"
mv "$DEST/runner.test.tmp" "$DEST/runner.test"
emit
