# shellcheck shell=bash
# Shared helpers for scripts/test.sh and scripts/demo.sh (source, don't run).

SANSTLS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SANSTLS_JOBS="${SANSTLS_JOBS:-2}"

# Path of the mbedTLS source tree (cache hit after scripts/setup.sh: ~10 ms).
sanstls_mbedtls_dir() {
    local out
    out="$(bash "$SANSTLS_ROOT/scripts/fetch-mbedtls.sh")" || return 1
    printf '%s\n' "$out" | tail -n1
}

# sanstls_configure <build-dir> [extra cmake -D args...]
# Configures only when the directory has not been configured yet (fast re-runs;
# CMake re-runs itself when CMakeLists change).  Delete the directory to force.
sanstls_configure() {
    local dir="$1"; shift
    if [[ -f "$dir/CMakeCache.txt" && -f "$dir/build.ninja" ]]; then
        return 0
    fi
    local mbedtls
    mbedtls="$(sanstls_mbedtls_dir)" || { echo "error: mbedTLS source not available" >&2; return 1; }
    echo "== configure $dir" >&2
    cmake -S "$SANSTLS_ROOT" -B "$dir" -G Ninja \
        -DSANSTLS_MBEDTLS_SOURCE_DIR="$mbedtls" \
        -DSANSTLS_WERROR=ON \
        "$@"
}

sanstls_build() {
    local dir="$1"
    echo "== build $dir" >&2
    cmake --build "$dir" -j"$SANSTLS_JOBS"
}

# Release build in build/ (used by test.sh and demo.sh).
sanstls_build_release() {
    sanstls_configure "$SANSTLS_ROOT/build" -DCMAKE_BUILD_TYPE=Release &&
        sanstls_build "$SANSTLS_ROOT/build"
}

# ASan+UBSan, deterministic RNG, -O1 -g, in build/asan.
sanstls_build_asan() {
    sanstls_configure "$SANSTLS_ROOT/build/asan" \
        -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_C_FLAGS_DEBUG="-O1 -g" \
        -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
        -DSANSTLS_SANITIZE=ON \
        -DSANSTLS_DETERMINISTIC=ON &&
        sanstls_build "$SANSTLS_ROOT/build/asan"
}
