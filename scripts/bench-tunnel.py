#!/usr/bin/python3
"""Tunnel throughput (issue 13): the same TLS transfer direct, through
`sanstls proxy` as an HTTP proxy, and through it as an HTTPS proxy (TLS
inside TLS), measured in one run on loopback.

    scripts/bench-tunnel.py [--sanstls build/bin/sanstls] [--mib 64] [--runs 3]

The origin is `openssl s_server -WWW` serving a --mib MiB file of random
bytes; the client is `sanstls client --send "GET /payload.bin ..."`, which
reads the file to its end (one-way bulk transfer, origin to client; TLS 1.3,
verification on). The best of --runs wall-clock times per mode is kept
(process start and handshakes included: use a large --mib). Writes build/bench-tunnel/results.json and prints a
Markdown table (the one docs/tunnels.md quotes). Standard library only.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "bench-tunnel")
CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k.lower() not in ("https_proxy", "http_proxy", "all_proxy", "no_proxy")}


def start(command, ready):
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    match = re.search(ready, line)
    if not match:
        proc.kill()
        sys.exit("did not start: %s -> %r" % (command, line))
    return proc, int(match.group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sanstls", default=os.path.join(ROOT, "build", "bin", "sanstls"))
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sanstls = os.path.abspath(args.sanstls)
    os.makedirs(OUT, exist_ok=True)
    pki = os.path.join(OUT, "pki")
    if not os.path.exists(os.path.join(pki, "ca.pem")):
        subprocess.run([sanstls, "pki", "--out", pki], check=True, capture_output=True, timeout=120)
    payload = os.path.join(OUT, "payload.bin")
    size = args.mib * 1024 * 1024
    if not os.path.exists(payload) or os.path.getsize(payload) != size:
        with open(payload, "wb") as f:
            f.write(os.urandom(size))
    identity = ["--cert", os.path.join(pki, "server.pem"), "--key", os.path.join(pki, "server.key")]
    modes = ["direct", "http proxy", "https proxy"]
    server_pem = os.path.join(pki, "server.pem")
    server = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:0", "-WWW", "-cert",
                               server_pem, "-cert_chain", server_pem, "-key",
                               os.path.join(pki, "server.key")],
                              cwd=OUT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    match = None
    for _ in range(20):  # "Using default temp DH parameters", then "ACCEPT host:port"
        match = re.search(r"ACCEPT \S+:(\d+)", server.stdout.readline())
        if match:
            break
    if not match:
        server.kill()
        sys.exit("openssl s_server did not start")
    port = int(match.group(1))
    plain, plain_port = start([sanstls, "proxy", "--port", "0", "--allow-ports", str(port)],
                              r"listening on \S+:(\d+)")
    tls, tls_port = start([sanstls, "proxy", "--port", "0", "--allow-ports", str(port)] + identity,
                          r"listening on \S+:(\d+)")
    base = [sanstls, "client", "127.0.0.1:%d" % port, "--servername", "localhost", "--ca",
            os.path.join(pki, "ca.pem"), "--timeout", "60", "--send",
            "GET /payload.bin HTTP/1.0\r\n\r\n"]
    commands = {
        "direct": base,
        "http proxy": base + ["--proxy", "http://127.0.0.1:%d" % plain_port],
        "https proxy": base + ["--proxy", "https://127.0.0.1:%d" % tls_port, "--proxy-ca",
                               os.path.join(pki, "ca.pem")],
    }
    best = {}
    try:
        for _ in range(args.runs):
            for mode in modes:  # interleaved: drift hits every mode alike
                started = time.monotonic()
                result = subprocess.run(commands[mode], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        timeout=300, env=CLEAN_ENV)
                elapsed = time.monotonic() - started
                body = result.stdout.split(b"\r\n\r\n", 1)[-1]
                if result.returncode != 0 or len(body) != size:
                    sys.exit("%s failed: rc %d, %d bytes back; %s" % (
                        mode, result.returncode, len(body), result.stderr.decode()[-300:]))
                best[mode] = min(best.get(mode, elapsed), elapsed)
    finally:
        for proc in (server, plain, tls):
            proc.kill()
            proc.wait(timeout=10)
    direct = best["direct"]
    rows = []
    for mode in modes:
        mib_s = args.mib / best[mode]
        rows.append({"mode": mode, "seconds": round(best[mode], 3), "mib_per_s": round(mib_s, 1),
                     "relative_to_direct": round(direct / best[mode], 2)})
    result = {"mib": args.mib, "load_average": os.getloadavg()[0], "runs": args.runs, "cpus": os.cpu_count(), "rows": rows}
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(result, f, indent=2)
    print("| path | best of %d (s) | MiB/s | vs direct |" % args.runs)
    print("|---|---|---|---|")
    for row in rows:
        print("| %s | %.3f | %.1f | %.2f |" % (row["mode"], row["seconds"], row["mib_per_s"],
                                            row["relative_to_direct"]))
    print("%d MiB, load average %.1f on %d CPUs; written: %s" % (
        args.mib, result["load_average"], os.cpu_count(), os.path.join(OUT, "results.json")))


if __name__ == "__main__":
    main()
