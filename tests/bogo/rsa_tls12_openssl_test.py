#!/usr/bin/env python3
"""Our client against `openssl s_server -tls1_2` with an RSA key.

OpenSSL's TLS 1.2 server picks the signature scheme by the client's order.
Our client offers TLS 1.2 and 1.3, so it must offer RSA-PSS (TLS 1.3 needs
it), but mbedTLS's TLS 1.2 client cannot verify an RSA-PSS ServerKeyExchange:
with RSA-PSS first the handshake failed with illegal_parameter. BoGo found
it; tests/api/bogo_findings_test.cpp pins the order, this checks the peer.
Exit 77 when openssl is missing (a failure with SANSTLS_REQUIRE_PEERS=1).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("--sanstls", required=True)
args = ap.parse_args()

if shutil.which("openssl") is None:
    print("openssl not found")
    sys.exit(1 if os.environ.get("SANSTLS_REQUIRE_PEERS") == "1" else 77)

with tempfile.TemporaryDirectory() as tmp:
    key, crt = os.path.join(tmp, "rsa.key"), os.path.join(tmp, "rsa.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-days", "2"], check=True, capture_output=True, timeout=60)
    server = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:0", "-tls1_2",
                               "-cert", crt, "-key", key, "-www"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = None
        deadline = time.monotonic() + 20
        while port is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            m = re.search(r"ACCEPT \S+:(\d+)", line)
            if m:
                port = int(m.group(1))
        if port is None:
            sys.exit("openssl s_server did not print ACCEPT")
        client = subprocess.run(
            [args.sanstls, "client", f"127.0.0.1:{port}", "--servername", "localhost", "--ca", crt,
             "--send", "GET / HTTP/1.0\r\n\r\n"],
            capture_output=True, text=True, timeout=30)
        out = client.stdout + client.stderr
        if client.returncode != 0 or "Protocol  : TLSv1.2" not in out:
            sys.exit(f"our client failed against openssl s_server -tls1_2 (RSA):\n{out}")
        print("ok: TLS 1.2 with an RSA server that follows the client's signature order")
    finally:
        server.kill()
        server.wait(timeout=10)
