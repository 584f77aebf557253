#!/usr/bin/env bash
# Builds the firmware image (issue 15) in both profiles, runs each in QEMU
# (mps2-an386, Cortex-M4) against openssl s_server, and writes
# build/firmware/report.json: sizes from the linker map, peak heap (the
# engine's accounting), peak stack (painting), handshake time (QEMU icount).
# Fails if a run fails or a figure is missing. See docs/firmware.md.
#   scripts/firmware.sh [psk|cert ...]      (default: both)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SANSTLS_ROOT"

profiles=("$@")
(( ${#profiles[@]} )) || profiles=(psk cert)
out=build/firmware
mkdir -p "$out"
# One run at a time per tree (the Release and ASan test runs both call this).
exec 9>"$out/.lock"
flock 9

# The toolchain and QEMU come from scripts/setup.d/firmware.sh.
if ! command -v arm-none-eabi-g++ >/dev/null || ! command -v qemu-system-arm >/dev/null; then
    echo "== installing the Cortex-M toolchain and QEMU (scripts/setup.sh)" >&2
    bash scripts/setup.sh >&2
fi

# A throwaway P-256 CA and a server certificate for "localhost" (made once,
# under build/; valid for ten years, so the image's clock check passes).
pki="$out/pki"
if [[ ! -f "$pki/ca.der" || ! -f "$pki/server.pem" ]]; then
    mkdir -p "$pki"
    export OPENSSL_CONF=/dev/null
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=sanstls firmware test CA" -keyout "$pki/ca.key" -out "$pki/ca.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout "$pki/server.key" -out "$pki/server.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' > "$pki/server.ext"
    openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
        -CAcreateserial -days 3650 -extfile "$pki/server.ext" -out "$pki/server.pem" 2>/dev/null
    openssl x509 -in "$pki/ca.pem" -outform DER -out "$pki/ca.der"
fi

mbedtls="$(sanstls_mbedtls_dir)"
status=0
for profile in "${profiles[@]}"; do
    dir="$out/$profile"
    # A build tree configured by older build files keeps their cached options
    # (an earlier attempt measured 11 KB too much that way): start afresh.
    key="$(cat firmware/CMakeLists.txt cmake/arm-none-eabi.cmake | sha256sum | cut -d' ' -f1)"
    if [[ -f "$dir/build.ninja" && "$(cat "$dir/.configured-from" 2>/dev/null)" != "$key" ]]; then
        rm -rf "$dir"
    fi
    if [[ ! -f "$dir/build.ninja" ]]; then
        cmake -S firmware -B "$dir" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$SANSTLS_ROOT/cmake/arm-none-eabi.cmake" \
            -DSANSTLS_FIRMWARE_PROFILE="$profile" -DSANSTLS_MBEDTLS_SOURCE_DIR="$mbedtls" \
            -DSANSTLS_FIRMWARE_CA_DER="$SANSTLS_ROOT/$pki/ca.der" \
            ${CMAKE_C_COMPILER_LAUNCHER:+-DCMAKE_C_COMPILER_LAUNCHER=$CMAKE_C_COMPILER_LAUNCHER} \
            ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >&2
        printf '%s\n' "$key" > "$dir/.configured-from"
    fi
    echo "== build $dir" >&2
    cmake --build "$dir" -j"$SANSTLS_JOBS" >&2
    # The purity check of the host build, on the cross-compiled core and mbedTLS.
    # (gcc-nm reads LTO objects; modules the profile leaves out have no symbols.)
    NM=arm-none-eabi-gcc-nm bash tests/check_core_symbols.sh "$dir/libfw_sanstls.a" "$dir/libfw_mbedtls.a" \
        2> >(grep -v ': no symbols$' >&2) >&2
    echo "== run $profile in QEMU against openssl s_server" >&2
    python3 firmware/host/run_qemu.py --profile "$profile" --elf "$dir/sanstls_firmware.elf" \
        --pki "$pki" --out "$dir/run.json" >&2 || status=1
done
python3 firmware/host/check_report.py --build "$out" --out "$out/report.json" "${profiles[@]}" || status=1
exit "$status"
