#!/usr/bin/env python3
"""Runs the firmware image in QEMU (mps2-an386) against openssl s_server.

    run_qemu.py --profile psk|cert --elf IMAGE --pki DIR --out RUN.json

UART0 of the board is a QEMU chardev that connects to a TCP port on loopback;
this script's bridge accepts it and relays its bytes to and from a real
openssl s_server (-rev: it answers each line reversed). The image prints one
"REPORT {...}" line through semihosting; this writes it, plus the bridge's
byte counts, to RUN.json. Every wait is bounded; ports are ephemeral.
"""
import argparse
import json
import os
import re
import selectors
import socket
import subprocess
import sys
import time

PSK_HEX = "00112233445566778899aabbccddeeff"  # firmware/src/main.cpp kPsk
PSK_IDENTITY = "sanstls-firmware"
TIMEOUT_S = 60


def start_server(profile, pki):
    command = ["openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-tls1_3",
               "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256", "-groups", "X25519",
               # Our record buffer takes 4 KB records; OpenSSL 3.0 does not
               # implement record_size_limit (RFC 8449), so tell it directly.
               "-max_send_frag", "2048", "-rev", "-ign_eof"]
    if profile == "psk":
        command += ["-psk", PSK_HEX, "-psk_identity", PSK_IDENTITY, "-nocert"]
    else:
        command += ["-cert", os.path.join(pki, "server.pem"),
                    "-key", os.path.join(pki, "server.key")]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, bufsize=1,
                              env=dict(os.environ, OPENSSL_CONF="/dev/null"))
    deadline = time.monotonic() + 10
    lines = []
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"ACCEPT \S+:(\d+)", line)
        if match:
            return server, int(match.group(1))
    server.kill()
    sys.exit("openssl s_server did not start:\n" + "".join(lines))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", choices=["psk", "cert"], required=True)
    parser.add_argument("--elf", required=True)
    parser.add_argument("--pki", default="")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    server, server_port = start_server(args.profile, args.pki)
    bridge = socket.socket()
    bridge.bind(("127.0.0.1", 0))
    bridge.listen(1)
    bridge_port = bridge.getsockname()[1]
    now_ms = int(time.time() * 1000)
    qemu = subprocess.Popen(
        ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none",
         "-chardev", f"socket,id=uart0,host=127.0.0.1,port={bridge_port}",
         "-serial", "chardev:uart0",
         "-semihosting-config",
         f"enable=on,target=native,arg=sanstls,arg=seed={args.seed},arg=now_ms={now_ms}",
         # icount: emulated time advances 1 ns per instruction, so SysTick
         # (25 MHz) counts instructions / 40, independent of the host's speed.
         "-icount", "shift=0,align=off,sleep=off",
         "-kernel", args.elf],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    counts = {"uart_bytes_to_server": 0, "uart_bytes_from_server": 0}
    try:
        bridge.settimeout(10)
        board, _ = bridge.accept()
        upstream = socket.create_connection(("127.0.0.1", server_port), timeout=10)
        selector = selectors.DefaultSelector()
        selector.register(board, selectors.EVENT_READ, (upstream, "uart_bytes_to_server"))
        selector.register(upstream, selectors.EVENT_READ, (board, "uart_bytes_from_server"))
        deadline = time.monotonic() + TIMEOUT_S
        open_ends = 2
        while open_ends and qemu.poll() is None and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                peer, counter = key.data
                data = key.fileobj.recv(65536)
                if not data:
                    selector.unregister(key.fileobj)
                    open_ends -= 1
                    try:
                        peer.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                counts[counter] += len(data)
                peer.sendall(data)
        output, _ = qemu.communicate(timeout=max(1, deadline - time.monotonic()))
    except (subprocess.TimeoutExpired, socket.timeout) as failure:
        qemu.kill()
        output = (qemu.communicate()[0] or "") + f"\n[run_qemu: {failure!r}]"
    finally:
        server.kill()
        server.wait()
    print(output, end="")
    match = re.search(r"^REPORT (\{.*\})$", output, re.MULTILINE)
    result = json.loads(match.group(1)) if match else {"handshake_ok": False, "error": "no report"}
    result.update(counts)
    result["qemu_exit"] = qemu.returncode
    with open(args.out, "w") as out:
        json.dump(result, out, indent=2)
    ok = result.get("handshake_ok") and result.get("round_trip_ok") and qemu.returncode == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
