#!/usr/bin/env bash
# Prepare a Debian 12 (bookworm) machine for building and testing sanstls.
# Idempotent; a re-run with nothing to do takes well under a second.
#
#  1. adds /etc/apt/sources.list.d/sanstls.sources with
#       deb     <mirror> bookworm-backports main   (libcatch2-dev v3)
#       deb-src <mirror> trixie main               (mbedtls >= 3.6.6 source)
#     where <mirror> is whatever URI this machine already uses for bookworm main;
#  2. installs missing build/test packages;
#  3. runs scripts/fetch-mbedtls.sh (mbedTLS source tree into the cache).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SOURCES_FILE=/etc/apt/sources.list.d/sanstls.sources
STAMP="$ROOT/build/.setup-stamp"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "must run as root (or have sudo) to install packages"
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

# Each part of the product that needs more than the core (the Asio adapter,
# firmware, BoGo, bindings...) declares its packages in scripts/setup.d/<part>.sh:
# it may append to PKGS and BPO_PKGS, and add a function name to POST_SETUP to
# run after the packages are installed (fetching a source package, say).
SETUP_PARTS=()
for f in "$ROOT"/scripts/setup.d/*.sh; do [[ -f "$f" ]] && SETUP_PARTS+=("$f"); done
POST_SETUP=()

stamp_key() {
    cat "$ROOT/scripts/setup.sh" "$ROOT/scripts/fetch-mbedtls.sh" ${SETUP_PARTS[@]+"${SETUP_PARTS[@]}"} |
        sha256sum | cut -d' ' -f1
}

fetch_mbedtls() {
    local out
    out="$(bash "$ROOT/scripts/fetch-mbedtls.sh")" || die "could not obtain the mbedTLS source (see messages above)"
    MBEDTLS_DIR="$(printf '%s\n' "$out" | tail -n1)"
    log "mbedTLS source: $MBEDTLS_DIR"
}

# Fast path: same setup scripts ran successfully before and tools are there.
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(stamp_key)" ]] \
   && command -v cmake >/dev/null && command -v ninja >/dev/null && command -v g++ >/dev/null; then
    fetch_mbedtls
    exit 0
fi

# --- 1. apt sources ------------------------------------------------------------
# Print "<uri>\t<signed-by>" of the first enabled `deb` entry serving suite
# bookworm, component main, from one-line (*.list) or deb822 (*.sources) files.
find_bookworm_main() {
    local f
    local files=()
    [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" && "$f" != "$SOURCES_FILE" ]] && files+=("$f")
    done
    for f in "${files[@]}"; do
        if [[ "$f" == *.sources ]]; then
            awk '
                function has(list, word) { return (" " list " ") ~ (" " word " ") }
                function flush() {
                    if (!done && has(f["types"], "deb") && has(f["suites"], "bookworm") &&
                        has(f["components"], "main") && tolower(f["enabled"]) != "no" && f["uris"] != "") {
                        split(f["uris"], u, " ")
                        sb = f["signed-by"]; if (sb !~ /^\//) sb = ""
                        printf "%s\t%s\n", u[1], sb; done = 1
                    }
                    delete f; key = ""
                }
                /^[ \t]*#/ { next }
                /^[ \t]*$/ { flush(); next }
                /^[ \t]/   { if (key != "") f[key] = f[key] " " $0; next }
                {
                    i = index($0, ":"); if (i == 0) next
                    key = tolower(substr($0, 1, i - 1))
                    v = substr($0, i + 1); gsub(/^[ \t]+|[ \t]+$/, "", v); gsub(/[ \t]+/, " ", v)
                    f[key] = v
                }
                END { flush() }' "$f"
        else
            awk '
                {
                    sub(/#.*/, ""); if ($1 != "deb") next
                    sb = ""; i = 2
                    if ($2 ~ /^\[/) {
                        opts = ""
                        for (; i <= NF; i++) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } }
                        gsub(/[\[\]]/, " ", opts)
                        n = split(opts, o, " ")
                        for (k = 1; k <= n; k++) if (o[k] ~ /^signed-by=/) { sb = substr(o[k], 11); sub(/,.*/, "", sb) }
                    }
                    uri = $i; suite = $(i + 1); main = 0
                    for (k = i + 2; k <= NF; k++) if ($k == "main") main = 1
                    if (suite == "bookworm" && main) { printf "%s\t%s\n", uri, sb; exit }
                }' "$f"
        fi
    done | head -n1
}

lists_have() { compgen -G "/var/lib/apt/lists/*_dists_$1" >/dev/null; }

UPDATED=0
apt_update() {
    log "apt-get update"
    "${SUDO[@]}" apt-get update -qq || die "apt-get update failed"
    UPDATED=1
}

entry="$(find_bookworm_main)"
[[ -n "$entry" ]] || die "no apt source serving 'bookworm main' found in /etc/apt/sources.list{,.d/}; cannot derive a mirror"
MIRROR="${entry%%$'\t'*}"
SIGNED_BY="${entry#*$'\t'}"
if [[ -z "$SIGNED_BY" && -f /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
    SIGNED_BY=/usr/share/keyrings/debian-archive-keyring.gpg
fi

want_sources="# Managed by sanstls scripts/setup.sh (mirror taken from this machine's bookworm entry).
# bookworm-backports: libcatch2-dev (Catch2 v3). trixie deb-src: mbedtls >= 3.6.6 source.
Types: deb
URIs: $MIRROR
Suites: bookworm-backports
Components: main${SIGNED_BY:+
Signed-By: $SIGNED_BY}

Types: deb-src
URIs: $MIRROR
Suites: trixie
Components: main${SIGNED_BY:+
Signed-By: $SIGNED_BY}
"
if [[ ! -f "$SOURCES_FILE" ]] || [[ "$(cat "$SOURCES_FILE")" != "$(printf '%s' "$want_sources")" ]]; then
    log "writing $SOURCES_FILE (mirror $MIRROR)"
    printf '%s' "$want_sources" | "${SUDO[@]}" tee "$SOURCES_FILE" >/dev/null
    apt_update
elif ! lists_have 'bookworm-backports_main_binary-*_Packages*' || ! lists_have 'trixie_main_source_Sources*'; then
    apt_update
fi

# --- 2. packages -----------------------------------------------------------------
PKGS=(cmake g++ ninja-build pkg-config clang-14 libclang-rt-14-dev lld-14 openssl libssl-dev
      gnutls-bin curl python3 libbenchmark-dev valgrind dpkg-dev bzip2 xz-utils tshark
      python3-matplotlib tinyproxy-bin)  # python3-matplotlib: scripts/bench.sh charts
# tinyproxy-bin: the proxy binary without the system service; tests/tunnel starts its own.
BPO_PKGS=(libcatch2-dev)   # from bookworm-backports (v3)
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
for f in ${SETUP_PARTS[@]+"${SETUP_PARTS[@]}"}; do
    # shellcheck source=/dev/null
    source "$f"
done

installed() { [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]; }

missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
missing_bpo=()
for p in "${BPO_PKGS[@]}"; do
    v="$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)"
    # bookworm itself has Catch2 v2: only v3 will do (other backports: any version).
    if ! installed "$p" || { [[ "$p" == libcatch2-dev ]] && ! dpkg --compare-versions "$v" ge 3; }; then
        missing_bpo+=("$p")
    fi
done

if (( ${#missing[@]} + ${#missing_bpo[@]} > 0 )); then
    if (( ! UPDATED )) && ! lists_have 'bookworm_main_binary-*_Packages*'; then apt_update; fi
    if [[ " ${missing[*]} " == *" tshark "* ]]; then
        echo "wireshark-common wireshark-common/install-setuid boolean false" | "${SUDO[@]}" debconf-set-selections
    fi
    apt_install() {
        "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    }
    if (( ${#missing[@]} )); then
        log "installing: ${missing[*]}"
        if ! apt_install "${missing[@]}"; then
            # Stale package lists are the usual cause: refresh once and retry.
            (( UPDATED )) && die "apt-get install failed: ${missing[*]}"
            apt_update
            apt_install "${missing[@]}" || die "apt-get install failed: ${missing[*]}"
        fi
    fi
    if (( ${#missing_bpo[@]} )); then
        log "installing from bookworm-backports: ${missing_bpo[*]}"
        apt_install -t bookworm-backports "${missing_bpo[@]}" || die "apt-get install -t bookworm-backports failed: ${missing_bpo[*]}"
    fi
else
    log "all packages present"
fi

# --- 3. mbedTLS source, then each part's own steps -------------------------------
fetch_mbedtls
for step in ${POST_SETUP[@]+"${POST_SETUP[@]}"}; do
    log "step: $step"
    "$step" || die "$step failed"
done

mkdir -p "$(dirname "$STAMP")"
stamp_key > "$STAMP"
log "done"
