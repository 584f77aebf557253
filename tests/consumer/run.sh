#!/bin/bash
# Consumers of sanstls, built the three ways a project can take it (issue 14).
#   run.sh install      BUILD_DIR PREFIX          cmake --install into PREFIX (fresh)
#   run.sh find_package PREFIX WORK_DIR           CMake project with find_package(sanstls)
#   run.sh pkg-config   PREFIX WORK_DIR           cc/c++ with pkg-config sanstls / sanstls-cpp
#   run.sh subdirectory SOURCE WORK_DIR MBEDTLS_SRC [configure|build]
# Each builds tests/consumer/app.c and app.cpp and runs them (an in-memory
# TLS 1.3 handshake). Everything is written under the given directories.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd -P)"
mode="$1"
shift
cc="${CC:-cc}"
cxx="${CXX:-c++}"

run_apps() {
    local dir="$1"
    shift
    local app
    for app in "$@"; do
        "$dir/$app" | tee "$dir/$app.out"
        grep -q ': ok$' "$dir/$app.out"
    done
}

case "$mode" in
install)
    build="$1" prefix="$2"
    rm -rf "$prefix" && mkdir -p "$(dirname "$prefix")"
    cmake --install "$build" --prefix "$prefix" >"$prefix.log" 2>&1 || { cat "$prefix.log"; exit 1; }
    (cd "$prefix" && find . -type f -o -type l | sort | grep -v '^./include/sanstls/' || true)
    echo "headers: $(find "$prefix/include/sanstls" -name '*.h' | wc -l) under include/sanstls"
    # No file may be named like a system mbedTLS library.
    if find "$prefix" -name 'libmbed*' | grep -q .; then
        echo "an installed library is named like a system mbedTLS:"; find "$prefix" -name 'libmbed*'
        exit 1
    fi
    echo "install: ok"
    ;;
find_package)
    prefix="$1" work="$2"
    rm -rf "$work" && mkdir -p "$(dirname "$work")"
    cmake -S "$here/find_package" -B "$work" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_PREFIX_PATH="$prefix" >"$work.configure.log" 2>&1 || { cat "$work.configure.log"; exit 1; }
    cmake --build "$work" -j2
    run_apps "$work" app_cpp app_c app_c_static
    ;;
pkg-config)
    prefix="$1" work="$2"
    rm -rf "$work" && mkdir -p "$work"
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    pkg-config --exists --print-errors 'sanstls >= 0.1' 'sanstls-cpp >= 0.1'
    libdir="$(pkg-config --variable=libdir sanstls)"
    # shellcheck disable=SC2046
    "$cc" -std=c99 -pedantic-errors -Wall -Werror -o "$work/app_c" "$here/app.c" \
        $(pkg-config --cflags --libs sanstls) -Wl,-rpath,"$libdir"
    # shellcheck disable=SC2046
    "$cc" -std=c99 -o "$work/app_c_static" "$here/app.c" $(pkg-config --cflags sanstls) \
        "$libdir/libsanstls.a" $(pkg-config --libs-only-other --static sanstls) -lstdc++ -lpthread
    # shellcheck disable=SC2046
    "$cxx" -std=c++17 -Wall -Werror -o "$work/app_cpp" "$here/app.cpp" \
        $(pkg-config --cflags --libs sanstls-cpp)
    run_apps "$work" app_c app_c_static app_cpp
    ;;
subdirectory)
    source="$1" work="$2" mbedtls="$3" step="${4:-build}"
    rm -rf "$work" && mkdir -p "$(dirname "$work")"
    cmake -S "$here/subdirectory" -B "$work" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DSANSTLS_SOURCE="$source" -DSANSTLS_MBEDTLS_SOURCE_DIR="$mbedtls" \
        >"$work.configure.log" 2>&1 || { cat "$work.configure.log"; exit 1; }
    echo "subdirectory: configured"
    if [[ "$step" == build ]]; then
        cmake --build "$work" -j2 --target app_cpp app_c
        run_apps "$work" app_cpp app_c
    fi
    ;;
*)
    echo "usage: run.sh install|find_package|pkg-config|subdirectory ..." >&2
    exit 2
    ;;
esac
