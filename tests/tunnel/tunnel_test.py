#!/usr/bin/python3
"""`sanstls client` through HTTP proxies (CONNECT tunnels, docs/tunnels.md).

A real proxy, tinyproxy (Debian's tinyproxy-bin, scripts/setup.sh), is started
by each test in the foreground (-d) with a generated configuration on a free
127.0.0.1 port; the origin is `sanstls server --echo` with the test PKI and
verification on. Failures the proxy causes are checked in the JSON report
(error stage "proxy", the proxy's status) and the exit status. Standard
library only; every subprocess has a timeout; readiness is read from the
programs' own output, never slept for.

    /usr/bin/python3 tests/tunnel/tunnel_test.py --sanstls build/bin/sanstls [unittest args]
"""
import argparse
import json
import os
import queue
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import cli_test  # noqa: E402  (Server, pki(), summarize(), the shared globals)
from cli_test import CliTestCase, Server, pki  # noqa: E402

TIMEOUT = 30
TINYPROXY = shutil.which("tinyproxy")
PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY",
                   "http_proxy", "HTTP_PROXY")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tinyproxy:
    """tinyproxy -d on 127.0.0.1 allowing CONNECT to `connect_ports` only."""

    def __init__(self, connect_ports, basic_auth=None):
        self.port = free_port()
        self.config = os.path.join(cli_test.TMP, "tinyproxy-%d.conf" % self.port)
        lines = ["Port %d" % self.port, "Listen 127.0.0.1", "Timeout 30", "LogLevel Info",
                 "MaxClients 16", "Allow 127.0.0.1"]
        lines += ["ConnectPort %d" % p for p in connect_ports]
        if basic_auth:
            lines.append("BasicAuth %s %s" % basic_auth)
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([TINYPROXY, "-d", "-c", self.config], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()
        while True:
            try:
                line = self.lines.get(timeout=15)
            except queue.Empty:
                line = None
            if line is None:
                self.stop()
                raise AssertionError("tinyproxy did not start: %s" % self.seen)
            if "Accepting connections" in line:
                break
        self.url = "http://127.0.0.1:%d" % self.port

    def _read(self):
        for line in self.proc.stdout:
            self.seen.append(line.rstrip("\n"))
            self.lines.put(line)
        self.lines.put(None)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class FakeProxy:
    """A one-shot proxy on 127.0.0.1 that reads the request head and answers `reply`."""

    def __init__(self, reply):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.request = b""
        self.thread = threading.Thread(target=self._serve, args=(reply,), daemon=True)
        self.thread.start()

    def _serve(self, reply):
        self.sock.settimeout(TIMEOUT)
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(TIMEOUT)
            while b"\r\n\r\n" not in self.request:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                self.request += chunk
            conn.sendall(reply)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()
        self.thread.join(timeout=TIMEOUT)


class PythonHttpsProxy:
    """An HTTPS proxy in Python's ssl module (a TLS stack that is not ours):
    TLS on 127.0.0.1 with `cert`, then CONNECT to 127.0.0.1 ports in
    `allowed_ports` (403 for others), relaying until either side ends."""

    def __init__(self, allowed_ports, cert="server.pem", key="server.key"):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(pki(cert), pki(key))
        self.allowed = set(allowed_ports)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = "https://127.0.0.1:%d" % self.port
        self.requests = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, raw):
        raw.settimeout(TIMEOUT)
        try:
            conn = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()  # e.g. the client refused our certificate
            return
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            head, rest = head.split(b"\r\n\r\n", 1)
            self.requests.append(head)
            target = head.split(b"\r\n")[0].split(b" ")[1].decode()
            port = int(target.rsplit(":", 1)[1])
            if port not in self.allowed:
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            upstream = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            with upstream:
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    upstream.sendall(rest)
                self._relay(conn, upstream)

    @staticmethod
    def _relay(conn, upstream):
        for _ in range(100000):  # bounded: a test exchanges a few records
            readable = [conn] if conn.pending() else select.select([conn, upstream], [], [], TIMEOUT)[0]
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (upstream if source is conn else conn).sendall(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=TIMEOUT)
        self.sock.close()


def client(address, *args, env=None, send="hello through the proxy"):
    """`sanstls client --json` with a clean proxy environment plus `env`."""
    environment = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    environment.update(env or {})
    command = [cli_test.SANSTLS, "client", address, "--servername", "localhost", "--timeout", "10",
               "--ca", pki("ca.pem"), "--send", send, "--json"] + list(args)
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=TIMEOUT, env=environment)
    lines = result.stdout.splitlines()
    report = json.loads(lines[0]) if len(lines) == 1 else None
    return result, report


@unittest.skipUnless(TINYPROXY, "tinyproxy not installed (scripts/setup.sh installs tinyproxy-bin)")
class TinyproxyTests(CliTestCase):
    def test_echo_through_tinyproxy_with_verification(self):
        with Server("--echo") as server, Tinyproxy([server.port]) as proxy:
            result, report = client(server.address, "--proxy", proxy.url)
            self.assertConnected(result, report)
            self.assertTrue(report["authorized"], report)
            self.assertEqual(report["received"], "hello through the proxy")
            self.assertEqual(report["proxy"]["url"], proxy.url)
            self.assertEqual(report["proxy"]["status"], 200)
            server.finish()
        self.assertTrue(any("CONNECT 127.0.0.1:%d" % server.port in line for line in proxy.seen),
                        proxy.seen)

    def test_forbidden_port_is_403_at_the_proxy_stage(self):
        with Server("--echo") as server, Tinyproxy([server.port + 1 if server.port < 65535 else 1]) as proxy:
            result, report = client(server.address, "--proxy", proxy.url)
            self.assertFailed(result, report, stage="proxy", codes=("ERR_PROXY_REFUSED",))
            self.assertEqual(report["proxy"]["status"], 403, report)
            self.assertIn("403", report["error"]["message"])
            self.assertIsNone(report["protocol"])

    def test_basic_auth_407_then_accepted(self):
        with Server("--echo") as server, Tinyproxy([server.port], basic_auth=("alice", "s3cret")) as proxy:
            result, report = client(server.address, "--proxy", proxy.url)
            self.assertFailed(result, report, stage="proxy", codes=("ERR_PROXY_REFUSED",))
            self.assertEqual(report["proxy"]["status"], 407, report)
            self.assertTrue(report["proxy"]["proxyAuthenticate"].startswith("Basic"), report)
            self.assertIn("Proxy-Authenticate: Basic", report["error"]["message"])
            wrong_url = proxy.url.replace("http://", "http://alice:wrong@")
            result, report = client(server.address, "--proxy", wrong_url)
            self.assertFailed(result, report, stage="proxy", codes=("ERR_PROXY_REFUSED",))
            # tinyproxy 1.11 answers wrong credentials with 401 Unauthorized, not 407.
            self.assertIn(report["proxy"]["status"], (401, 407), report)
            # Credentials never appear in the report.
            self.assertNotIn("wrong", json.dumps(report))
            result, report = client(server.address, "--proxy", proxy.url.replace("http://", "http://alice:s3cret@"))
            self.assertConnected(result, report)
            self.assertEqual(report["received"], "hello through the proxy")
            server.finish()

    def test_https_proxy_environment_and_no_proxy(self):
        with Server("--echo", exit_after=2) as server, Tinyproxy([server.port]) as proxy:
            # https_proxy is used when no --proxy is given.
            result, report = client(server.address, env={"https_proxy": proxy.url})
            self.assertConnected(result, report)
            self.assertEqual(report["proxy"]["url"], proxy.url)
            # no_proxy naming the host: a direct connection, the proxy is never asked.
            before = sum("CONNECT 127.0.0.1" in line for line in proxy.seen)
            result, report = client(server.address, env={"HTTPS_PROXY": proxy.url,
                                                         "no_proxy": "example.com, 127.0.0.1"})
            self.assertConnected(result, report)
            self.assertIsNone(report["proxy"])
            server.finish()
            self.assertEqual(sum("CONNECT 127.0.0.1" in line for line in proxy.seen), before)


class NoProxyTests(CliTestCase):
    def test_no_proxy_rules(self):
        dead = "http://127.0.0.1:%d" % free_port()  # nothing listens: using it fails at connect
        with Server("--echo", exit_after=2) as server:
            # "*" excludes every host.
            result, report = client(server.address, env={"https_proxy": dead, "no_proxy": "*"})
            self.assertConnected(result, report)
            # A leading dot, the upper-case name, and a host equal to the entry.
            result, report = client("localhost:%d" % server.port,
                                    env={"HTTPS_PROXY": dead, "NO_PROXY": "example.com,.LOCALHOST"})
            self.assertConnected(result, report)
            server.finish()
        # A suffix that is not at a dot does not match: the (dead) proxy is used.
        result, report = client("localhost:1", env={"https_proxy": dead, "no_proxy": "calhost"})
        self.assertFailed(result, report, stage="connect", codes=("ECONNREFUSED",))
        self.assertIn("(proxy)", report["error"]["message"])
        self.assertIsNone(report["proxy"]["status"])


class HttpsProxyTests(CliTestCase):
    """TLS inside TLS: `sanstls client --proxy https://` through Python's ssl module."""

    def test_echo_through_https_proxy_verified_both_ways(self):
        for version in ("1.3", "1.2"):
            with Server("--echo") as server, PythonHttpsProxy([server.port]) as proxy:
                result, report = client(server.address, "--proxy", proxy.url, "--proxy-ca", pki("ca.pem"),
                                        "--max-version", version)
                self.assertConnected(result, report)
                self.assertTrue(report["authorized"], report)
                self.assertEqual(report["protocol"], "TLSv" + version, report)
                self.assertEqual(report["received"], "hello through the proxy")
                self.assertEqual(report["proxy"]["url"], proxy.url)
                self.assertEqual(report["proxy"]["status"], 200)
                server.finish()
            self.assertTrue(proxy.requests[0].startswith(b"CONNECT 127.0.0.1:%d HTTP/1.1" % server.port),
                            proxy.requests)

    def test_proxy_certificate_from_another_ca_is_a_certificate_error(self):
        with PythonHttpsProxy([443], cert="other.pem", key="other.key") as proxy:
            result, report = client("127.0.0.1:443", "--proxy", proxy.url, "--proxy-ca", pki("ca.pem"))
        self.assertFailed(result, report, stage="certificate")
        self.assertIn("proxy 127.0.0.1:%d" % proxy.port, report["error"]["message"])
        self.assertEqual(proxy.requests, [])

    def test_proxy_name_mismatch_is_a_certificate_error(self):
        with PythonHttpsProxy([443]) as proxy:
            result, report = client("127.0.0.1:443", "--proxy", proxy.url, "--proxy-ca", pki("ca.pem"),
                                    "--proxy-servername", "proxy.example")
        self.assertFailed(result, report, stage="certificate")
        self.assertIn("proxy", report["error"]["message"])

    def test_https_proxy_refusal_is_at_the_proxy_stage(self):
        with PythonHttpsProxy([]) as proxy:
            result, report = client("127.0.0.1:443", "--proxy", proxy.url, "--proxy-ca", pki("ca.pem"))
        self.assertFailed(result, report, stage="proxy", codes=("ERR_PROXY_REFUSED",))
        self.assertEqual(report["proxy"]["status"], 403, report)

    def test_proxy_tls_flags_need_an_https_proxy(self):
        result, _ = client("127.0.0.1:443", "--proxy", "http://127.0.0.1:1", "--proxy-ca", pki("ca.pem"))
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("https:// proxy", result.stderr)


class ProxyFailureTests(CliTestCase):
    def test_non_http_reply_is_bad_reply(self):
        with FakeProxy(b"\x15\x03\x03\x00\x02\x02\x28") as proxy:
            result, report = client("127.0.0.1:443", "--proxy", proxy.url)
        self.assertFailed(result, report, stage="proxy", codes=("ERR_PROXY_BAD_REPLY",))
        self.assertIsNone(report["proxy"]["status"])
        self.assertTrue(proxy.request.startswith(b"CONNECT 127.0.0.1:443 HTTP/1.1\r\n"), proxy.request)

    def test_proxy_closing_early_is_proxy_closed(self):
        with FakeProxy(b"HTTP/1.1 200 OK\r\n") as proxy:
            result, report = client("127.0.0.1:443", "--proxy", proxy.url)
        self.assertFailed(result, report, stage="proxy", codes=("ERR_PROXY_CLOSED",))

    def test_proxy_url_usage_errors(self):
        for url, wanted in (("socks5://127.0.0.1:1", "unsupported proxy scheme"),
                            ("http://127.0.0.1:99999", "--proxy"),
                            ("http://:8080", "no host")):
            result, _ = client("127.0.0.1:443", "--proxy", url)
            self.assertEqual(result.returncode, 2, (url, result.stderr))
            self.assertIn(wanted, result.stderr, url)
        result, _ = client("127.0.0.1:443", env={"https_proxy": "ftp://127.0.0.1:1"})
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("https_proxy", result.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sanstls", required=True)
    args, rest = parser.parse_known_args()
    cli_test.SANSTLS = os.path.abspath(args.sanstls)
    with tempfile.TemporaryDirectory(prefix="sanstls-tunnel-") as tmp:
        cli_test.TMP = tmp
        cli_test.PKI = os.path.join(tmp, "pki")
        made = cli_test.run(["pki", "--out", cli_test.PKI], timeout=60)
        if made.returncode != 0:
            print("sanstls pki failed:", made.stdout, made.stderr)
            print("0 passed, 1 failed, 0 skipped")
            return 1
        program = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
        return cli_test.summarize(program.result)


if __name__ == "__main__":
    sys.exit(main())
