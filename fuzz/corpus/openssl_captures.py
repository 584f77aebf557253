#!/usr/bin/env python3
"""Seeds from OpenSSL on loopback (scripts/make-fuzz-corpus.sh runs this).

  openssl_captures.py CORPUS-DIR

* fuzz_server: ClientHellos of `openssl s_client` in several configurations
  (TLS 1.2, TLS 1.3, ALPN, SNI, groups), captured by a local listener.
* fuzz_client: first flights of `openssl s_server` answering the exact
  ClientHello our fuzzed client sends (CORPUS-DIR/../clienthellos/cfgN.bin,
  written by fuzz_make_corpus). With the deterministic build this flight is
  a real answer to that client, so the engine can decrypt a TLS 1.3 flight.

The server's key and certificate live in a temporary directory (never
committed). Anything that fails is skipped; this is best effort.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time


def read_for(sock, seconds, limit=65536):
    sock.settimeout(0.2)
    data = b""
    end = time.time() + seconds
    while time.time() < end and len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            if data:
                break
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_seed(corpus, target, name, data):
    path = os.path.join(corpus, target)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


def client_hellos(corpus):
    # (server config selector, s_client options)
    cases = [
        (0, []),
        (1, ["-tls1_2"]),
        (2, ["-tls1_3"]),
        (3, ["-alpn", "h2,http/1.1"]),
        (4, ["-servername", "localhost"]),
        (6, ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]),
        (7, ["-tls1_3", "-groups", "X25519:P-256", "-alpn", "h2"]),
    ]
    count = 0
    for selector, options in cases:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        proc = subprocess.Popen(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *options],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            listener.settimeout(5)
            conn, _ = listener.accept()
            hello = read_for(conn, 2)
            conn.close()
        except OSError:
            hello = b""
        finally:
            listener.close()
            proc.kill()
            proc.wait()
        if hello:
            name = "openssl-s_client-cfg%d" % selector
            write_seed(corpus, "server", name, bytes([selector, 0]) + hello)
            count += 1
    return count


def server_flights(corpus):
    hellos = os.path.join(os.path.dirname(os.path.abspath(corpus)), "clienthellos")
    if not os.path.isdir(hellos):
        return 0
    count = 0
    with tempfile.TemporaryDirectory() as tmp:
        key = os.path.join(tmp, "key.pem")
        cert = os.path.join(tmp, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                        "-subj", "/CN=localhost", "-days", "36500"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in sorted(os.listdir(hellos)):
            selector = int(name[3:].split(".")[0])
            with open(os.path.join(hellos, name), "rb") as f:
                hello = f.read()
            for variant, options in (("", []), ("-alpn", ["-alpn", "h2,http/1.1"])):
                port = free_port()
                proc = subprocess.Popen(
                    ["openssl", "s_server", "-accept", str(port), "-key", key, "-cert", cert,
                     "-naccept", "1", *options],
                    # EOF on stdin would stop s_server: keep it open.
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL)
                flight = b""
                try:
                    for _ in range(50):
                        try:
                            sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                            break
                        except OSError:
                            time.sleep(0.05)
                    else:
                        continue
                    sock.sendall(hello)
                    flight = read_for(sock, 2)
                    sock.close()
                finally:
                    proc.kill()
                    proc.wait()
                if flight:
                    write_seed(corpus, "client", "openssl-s_server-cfg%d%s" % (selector, variant),
                               bytes([selector, 0]) + flight)
                    count += 1
    return count


def main():
    corpus = sys.argv[1]
    hellos = client_hellos(corpus)
    flights = server_flights(corpus)
    print(f"openssl: {hellos} s_client ClientHellos, {flights} s_server flights")


if __name__ == "__main__":
    main()
