#!/usr/bin/env python3
"""Summarises the mbedTLS options study into bench/results/options.json.
usage: options.py OUT.json name=gbench.json ... (the first is the baseline)"""
import json
import sys
import time

COLUMNS = [
    ("TLS1.3 ECDSA X25519 hs/s", "handshake", "sanstls", "tls13/ecdsa/x25519"),
    ("TLS1.3 ECDSA P-256 hs/s", "handshake", "sanstls", "tls13/ecdsa/p256"),
    ("TLS1.3 RSA X25519 hs/s", "handshake", "sanstls", "tls13/rsa/x25519"),
    ("TLS1.2 ECDSA X25519 hs/s", "handshake", "sanstls", "tls12/ecdsa/x25519"),
    ("AES-128-GCM MB/s", "bulk", "sanstls", "aes128gcm/oneway/16k"),
    ("ChaCha20 MB/s", "bulk", "sanstls", "chacha20/oneway/16k"),
    ("X25519 keygen/s", "crypto", "floor", "keygen/x25519"),
    ("X25519 ECDH/s", "crypto", "floor", "ecdh/x25519"),
    ("P-256 keygen/s", "crypto", "floor", "keygen/p256"),
    ("P-256 ECDH/s", "crypto", "floor", "ecdh/p256"),
    ("ECDSA sign/s", "crypto", "floor", "sign/ecdsa_p256"),
    ("ECDSA verify/s", "crypto", "floor", "verify/ecdsa_p256"),
]
ICOUNT_COLUMNS = [
    ("TLS1.3 ECDSA X25519 Minstr/hs", "handshake", 1e6),
    ("TLS1.3 ECDSA P-256 Minstr/hs", "handshake_p256", 1e6),
    ("TLS1.3 RSA X25519 Minstr/hs", "handshake_rsa", 1e6),
    ("TLS1.2 ECDSA X25519 Minstr/hs", "handshake12", 1e6),
    ("AES-128-GCM instr/byte", "bulk", 1),
    ("ChaCha20 instr/byte", "bulk_chacha", 1),
]
DESCRIPTIONS = {
    "baseline": "baseline (config/mbedtls as is)",
    "everest": "Everest X25519 (`MBEDTLS_ECDH_VARIANT_EVEREST_ENABLED`)",
    "p256m": "p256-m driver (`MBEDTLS_PSA_P256M_DRIVER_ENABLED`)",
    "window2": "`MBEDTLS_ECP_WINDOW_SIZE 2`",
    "window6": "`MBEDTLS_ECP_WINDOW_SIZE 6`",
    "nofixed": "`MBEDTLS_ECP_FIXED_POINT_OPTIM 0`",
    "nonistoptim": "without `MBEDTLS_ECP_NIST_OPTIM`",
    "noaesni": "without `MBEDTLS_AESNI_C`",
    "exclusive": "`MBEDTLS_PSA_ASSUME_EXCLUSIVE_BUFFERS`",
}


def values(path):
    out = {}
    try:
        data = json.load(open(path))
    except (OSError, ValueError):
        return out
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        p = b.get("run_name", b["name"]).split("/")
        key = (p[0], p[1], "/".join(p[2:]))
        if p[0] == "bulk":
            out[key] = b["bytes_per_second"] / 1e6
        elif "handshakes_per_s" in b:
            out[key] = b["handshakes_per_s"]
        elif "ops_per_s" in b:
            out[key] = b["ops_per_s"]
    return out


def main():
    out = sys.argv[1]
    results, icount = {}, {}
    for arg in sys.argv[2:]:
        name, paths = arg.split("=", 1)
        path, _, icount_path = paths.partition(":")
        v = values(path)
        results[name] = {col: (round(v[(f, s, c)], 2) if (f, s, c) in v else None) for col, f, s, c in COLUMNS}
        try:
            ic = json.load(open(icount_path)) if icount_path else {}
        except (OSError, ValueError):
            ic = {}
        icount[name] = {col: (round(ic[m] / scale, 3) if ic.get(m) else None) for col, m, scale in ICOUNT_COLUMNS}
    json.dump({"generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "icount_columns": [c[0] for c in ICOUNT_COLUMNS], "icount": icount,
               "columns": [c[0] for c in COLUMNS], "descriptions": DESCRIPTIONS, "results": results},
              open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
