#!/usr/bin/python3
"""`sanstls proxy` (a CONNECT proxy on the epoll loop, plain or HTTPS) and squid.

Clients: our own (`sanstls client --proxy http[s]://`), curl (`--proxy
https://`, TLS inside TLS), `openssl s_client -proxy`, and raw sockets for
the refusals. Origins: `sanstls server --echo`, `openssl s_server -www`, and
Python echo servers for the load test. Everything on 127.0.0.1, ports picked
by the programs (port 0) and read back from their output; every wait is
bounded.

    /usr/bin/python3 tests/tunnel/proxy_test.py --sanstls build/bin/sanstls [unittest args]
"""
import argparse
import hashlib
import os
import queue
import random
import re
import selectors
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
sys.path.insert(0, HERE)
import cli_test  # noqa: E402
from cli_test import CliTestCase, Server, pki  # noqa: E402
from tunnel_test import client, free_port, PROXY_VARIABLES  # noqa: E402

TIMEOUT = 30
OPENSSL = shutil.which("openssl")
CURL = shutil.which("curl")
SQUID = shutil.which("squid") or (os.path.exists("/usr/sbin/squid") and "/usr/sbin/squid")


class Lines:
    """Collects a process's output lines on a thread."""

    def __init__(self, stream):
        self.queue = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.queue.put(line.rstrip("\n"))
        self.queue.put(None)

    def wait_for(self, pattern, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.queue.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match


class SanstlsProxy:
    """`sanstls proxy --port 0` with `args`; .port, .url, .tunnel_lines()."""

    def __init__(self, *args, tls=False):
        command = [cli_test.SANSTLS, "proxy", "--port", "0"] + list(args)
        if tls:
            command += ["--cert", pki("server.pem"), "--key", pki("server.key")]
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.out = Lines(self.proc.stdout)
        match = self.out.wait_for(r"^listening on 127\.0\.0\.1:(\d+)$")
        if not match:
            self.stop()
            raise AssertionError("sanstls proxy did not start: %s %s" % (self.out.seen, self.proc.stderr.read()))
        self.port = int(match.group(1))
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)

    def next_tunnel(self, timeout=15):
        """The next `tunnel ...` log line (waits for it)."""
        match = self.out.wait_for(r"^tunnel ", timeout)
        return match.string if match else None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        while self.out.wait_for(r".", timeout=2):
            pass
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        self.proc.stdout.close()
        self.proc.stderr.close()


def raw_request(port, request, read_timeout=10):
    """Sends `request` (bytes) to a plain proxy; returns everything read until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        if request:
            s.sendall(request)
        data = b""
        while True:
            try:
                chunk = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
        return data


def start_s_server(extra=()):
    """openssl s_server -www on a free port: (process, port)."""
    argv = [OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-cert", pki("server.pem"),
            "-cert_chain", pki("server.pem"), "-key", pki("server.key"), "-www"] + list(extra)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    out = Lines(proc.stdout)
    match = out.wait_for(r"ACCEPT \S+:(\d+)")
    if not match:
        proc.kill()
        raise AssertionError("s_server did not start: %s" % out.seen)
    return proc, int(match.group(1))


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    if proc.stdout:
        proc.stdout.close()


def clean_env():
    return {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}


class SanstlsProxyTests(CliTestCase):
    def test_sanstls_client_through_plain_and_https_proxy(self):
        for tls in (False, True):
            for version in ("1.3", "1.2"):
                with Server("--echo") as server, SanstlsProxy("--allow-ports", str(server.port), tls=tls) as proxy:
                    extra = ["--proxy-ca", pki("ca.pem")] if tls else []
                    result, report = client(server.address, "--proxy", proxy.url, "--max-version", version, *extra)
                    self.assertConnected(result, report)
                    self.assertTrue(report["authorized"], report)
                    self.assertEqual(report["protocol"], "TLSv" + version)
                    self.assertEqual(report["received"], "hello through the proxy")
                    self.assertEqual(report["proxy"]["status"], 200)
                    line = proxy.next_tunnel()
                    self.assertIsNotNone(line, proxy.out.seen)
                    self.assertRegex(line, r"^tunnel 1 from 127\.0\.0\.1:\d+ to 127\.0\.0\.1:%d: status 200, "
                                     r"[1-9]\d* bytes up, [1-9]\d* down, \d+ ms, ended: " % server.port)
                    server.finish()

    @unittest.skipUnless(CURL and OPENSSL, "curl and openssl needed")
    def test_curl_through_our_https_proxy_to_s_server(self):
        srv, port = start_s_server()
        try:
            with SanstlsProxy("--allow-ports", str(port), tls=True) as proxy:
                result = subprocess.run(
                    [CURL, "-sS", "--max-time", "15", "--proxy", proxy.url, "--proxy-cacert", pki("ca.pem"),
                     "--cacert", pki("ca.pem"), "https://localhost:%d/" % port],
                    capture_output=True, text=True, timeout=TIMEOUT, env=clean_env())
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("Protocol  :", result.stdout)
                line = proxy.next_tunnel()
                self.assertIn("to localhost:%d: status 200" % port, line)
        finally:
            stop(srv)

    @unittest.skipUnless(OPENSSL, "openssl needed")
    def test_openssl_s_client_through_our_plain_proxy(self):
        srv, port = start_s_server()
        try:
            with SanstlsProxy("--allow-ports", str(port)) as proxy:
                result = subprocess.run(
                    [OPENSSL, "s_client", "-connect", "localhost:%d" % port, "-proxy", "127.0.0.1:%d" % proxy.port,
                     "-CAfile", pki("ca.pem"), "-verify_return_error", "-servername", "localhost", "-quiet",
                     "-ign_eof"],
                    input="GET / HTTP/1.0\r\n\r\n", capture_output=True, text=True, timeout=TIMEOUT)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn("HTTP/1.0 200 ok", result.stdout)
                self.assertIn("status 200", proxy.next_tunnel())
        finally:
            stop(srv)

    def test_basic_auth(self):
        with Server("--echo") as server, SanstlsProxy("--allow-ports", str(server.port), "--auth",
                                                       "alice:s3:cret") as proxy:
            result, report = client(server.address, "--proxy", proxy.url)
            self.assertFailed(result, report, stage="proxy", codes=("ERR_PROXY_REFUSED",))
            self.assertEqual(report["proxy"]["status"], 407)
            self.assertEqual(report["proxy"]["proxyAuthenticate"], 'Basic realm="sanstls proxy"')
            self.assertIn("status 407", proxy.next_tunnel())
            result, report = client(server.address, "--proxy", proxy.url.replace("//", "//alice:wrong@"))
            self.assertEqual(report["proxy"]["status"], 407)
            self.assertIn("wrong credentials", proxy.next_tunnel())
            result, report = client(server.address, "--proxy", proxy.url.replace("//", "//alice:s3%3Acret@"))
            self.assertConnected(result, report)
            self.assertEqual(report["received"], "hello through the proxy")
            server.finish()

    def test_port_not_allowed_is_403_and_never_connected(self):
        with socket.socket() as target:
            target.bind(("127.0.0.1", 0))
            target.listen(4)
            target.settimeout(0.3)
            port = target.getsockname()[1]
            with SanstlsProxy() as proxy:  # default: 443 only
                result, report = client("127.0.0.1:%d" % port, "--proxy", proxy.url)
                self.assertFailed(result, report, stage="proxy", codes=("ERR_PROXY_REFUSED",))
                self.assertEqual(report["proxy"]["status"], 403)
                self.assertIn("port %d not allowed" % port, proxy.next_tunnel())
                # A name is not resolved either: the refusal comes first.
                reply = raw_request(proxy.port, b"CONNECT no-such-host.invalid:%d HTTP/1.1\r\n\r\n" % port)
                self.assertTrue(reply.startswith(b"HTTP/1.1 403 Forbidden\r\n"), reply)
            with self.assertRaises(socket.timeout):
                target.accept()

    def test_bad_requests(self):
        with SanstlsProxy() as proxy:
            for request, status in ((b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", b"405"),
                                    (b"CONNECT example.com HTTP/1.1\r\n\r\n", b"400"),
                                    (b"\x16\x03\x01\x00\x02\x01\x00", b"400"),
                                    (b"CONNECT a:443 HTTP/1.1\r\n" + b"X: y\r\n" * 2000, b"431")):
                reply = raw_request(proxy.port, request)
                self.assertTrue(reply.startswith(b"HTTP/1.1 " + status + b" "), (request[:30], reply))
                self.assertIn("status " + status.decode(), proxy.next_tunnel())

    def test_unreachable_destination_is_502(self):
        dead = free_port()
        with SanstlsProxy("--allow-ports", str(dead)) as proxy:
            result, report = client("127.0.0.1:%d" % dead, "--proxy", proxy.url)
            self.assertFailed(result, report, stage="proxy", codes=("ERR_PROXY_REFUSED",))
            self.assertEqual(report["proxy"]["status"], 502)
            self.assertIn("Connection refused", proxy.next_tunnel())

    def test_silent_upstream_connect_is_504(self):
        # A listener with a full accept queue drops further SYNs: connect hangs.
        with socket.socket() as target:
            target.bind(("127.0.0.1", 0))
            target.listen(0)
            port = target.getsockname()[1]
            fillers = []
            for _ in range(3):
                f = socket.socket()
                f.setblocking(False)
                f.connect_ex(("127.0.0.1", port))
                fillers.append(f)
            try:
                with SanstlsProxy("--allow-ports", str(port), "--connect-timeout", "0.5") as proxy:
                    started = time.monotonic()
                    reply = raw_request(proxy.port, b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % port)
                    self.assertTrue(reply.startswith(b"HTTP/1.1 504 Gateway Timeout"), reply)
                    self.assertLess(time.monotonic() - started, 5)
                    self.assertIn("took too long", proxy.next_tunnel())
            finally:
                for f in fillers:
                    f.close()

    def test_silent_and_slow_clients_get_408(self):
        with SanstlsProxy("--request-timeout", "0.5") as proxy:
            started = time.monotonic()
            self.assertTrue(raw_request(proxy.port, b"").startswith(b"HTTP/1.1 408 Request Timeout"))
            self.assertLess(time.monotonic() - started, 5)
            # A slowloris: a byte every 100 ms never completes the head in time.
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s:
                reply = b""
                for byte in b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nX-Slow: yes\r\n":
                    try:
                        s.sendall(bytes([byte]))
                    except OSError:
                        break
                    time.sleep(0.1)  # pacing the client is the point of this test
                    s.setblocking(False)
                    try:
                        reply += s.recv(4096)
                    except BlockingIOError:
                        pass
                    s.setblocking(True)
                    if reply:
                        break
                self.assertTrue(reply.startswith(b"HTTP/1.1 408"), reply)
            self.assertIn("status 408", proxy.next_tunnel())
            self.assertIn("status 408", proxy.next_tunnel())
        # Over TLS: a client that never handshakes is cut by the handshake limit.
        with SanstlsProxy("--request-timeout", "0.5", tls=True) as proxy:
            self.assertEqual(raw_request(proxy.port, b""), b"")
            self.assertIn("ETIMEDOUT", proxy.next_tunnel())

    def test_connection_limit_is_503_and_idle_tunnels_close(self):
        with Server("--echo") as server, SanstlsProxy("--allow-ports", str(server.port), "--max-connections", "1",
                                                      "--idle-timeout", "0.5") as proxy:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as first:
                first.sendall(b"CONNECT %s HTTP/1.1\r\n\r\n" % server.address.encode())
                self.assertTrue(first.recv(4096).startswith(b"HTTP/1.1 200 "))
                reply = raw_request(proxy.port, b"CONNECT %s HTTP/1.1\r\n\r\n" % server.address.encode())
                self.assertTrue(reply.startswith(b"HTTP/1.1 503 "), reply)
                self.assertIn("connection limit (1)", proxy.next_tunnel())
                # Nothing moves for 0.5 s: the tunnel is closed.
                first.settimeout(10)
                self.assertEqual(first.recv(4096), b"")
                self.assertIn("ended: idle timeout", proxy.next_tunnel())

    def test_200_concurrent_tunnels_with_random_payloads(self):
        self._load(tls=False, tunnels=200)

    def test_50_concurrent_tunnels_through_the_https_proxy(self):
        self._load(tls=True, tunnels=50)

    def _load(self, tls, tunnels):
        echo = EchoServer()
        try:
            with SanstlsProxy("--allow-ports", str(echo.port), "--max-connections", "1000", tls=tls) as proxy:
                rng = random.Random(13)
                payloads = [rng.randbytes(rng.randint(1, 64 * 1024)) for _ in range(tunnels)]
                started = time.monotonic()
                if tls:
                    results = tls_clients(proxy.port, echo.port, payloads)
                else:
                    results = plain_clients(proxy.port, echo.port, payloads)
                elapsed = time.monotonic() - started
                for sent, got in zip(payloads, results):
                    self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(sent).hexdigest())
                lines = [proxy.next_tunnel() for _ in range(tunnels)]
                self.assertEqual(sum("status 200" in (line or "") for line in lines), tunnels, lines[:5])
                self.assertLess(elapsed, 60)
        finally:
            echo.close()


class EchoServer:
    """A selectors echo server on 127.0.0.1 (its own thread); closes when the peer does."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sock, selectors.EVENT_READ, None)
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        pending = {}
        while not self.stopping:
            for key, _ in self.selector.select(timeout=0.1):
                if key.data is None:
                    try:
                        conn, _ = self.sock.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    pending[conn] = b""
                    self.selector.register(conn, selectors.EVENT_READ, "conn")
                    continue
                conn = key.fileobj
                try:
                    data = conn.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionError:
                    data = b""
                if not data:
                    self.selector.unregister(conn)
                    conn.close()
                    del pending[conn]
                    continue
                conn.setblocking(True)
                conn.sendall(data)
                conn.setblocking(False)

    def close(self):
        self.stopping = True
        self.thread.join(timeout=10)
        self.sock.close()


def plain_clients(proxy_port, target_port, payloads):
    """Every payload through its own tunnel at once (one selector): the echoes, in order."""
    selector = selectors.DefaultSelector()
    state = []
    for i, payload in enumerate(payloads):
        s = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)
        s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % target_port)
        s.setblocking(False)
        state.append({"sock": s, "head": b"", "open": False, "out": payload, "got": b"", "done": False})
        selector.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, i)
    deadline = time.monotonic() + 60
    while not all(c["done"] for c in state) and time.monotonic() < deadline:
        for key, events in selector.select(timeout=1):
            c = state[key.data]
            s = c["sock"]
            if events & selectors.EVENT_READ:
                try:
                    data = s.recv(65536)
                except BlockingIOError:
                    data = None
                if data is not None:
                    if not c["open"]:
                        c["head"] += data
                        if b"\r\n\r\n" in c["head"]:
                            head, rest = c["head"].split(b"\r\n\r\n", 1)
                            assert head.startswith(b"HTTP/1.1 200"), head
                            c["open"] = True
                            c["got"] += rest
                    else:
                        c["got"] += data
                    if not data:
                        c["done"] = True
                        selector.unregister(s)
                        s.close()
                        continue
            if events & selectors.EVENT_WRITE and c["open"] and c["out"]:
                try:
                    n = s.send(c["out"][:65536])
                    c["out"] = c["out"][n:]
                except BlockingIOError:
                    pass
            if c["open"] and not c["out"] and not c.get("shut"):
                s.shutdown(socket.SHUT_WR)
                c["shut"] = True
                selector.modify(s, selectors.EVENT_READ, key.data)
    for c in state:
        if not c["done"]:
            c["sock"].close()
    return [c["got"] for c in state]


def tls_clients(proxy_port, target_port, payloads):
    """Each payload over TLS to the HTTPS proxy (Python's ssl), then plain echo inside: threads."""
    context = ssl.create_default_context(cafile=pki("ca.pem"))
    results = [b""] * len(payloads)

    def one(i):
        with socket.create_connection(("127.0.0.1", proxy_port), timeout=30) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % target_port)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = s.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                head, got = head.split(b"\r\n\r\n", 1)
                assert head.startswith(b"HTTP/1.1 200"), head
                writer = threading.Thread(target=s.sendall, args=(payloads[i],))
                writer.start()
                while len(got) < len(payloads[i]):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                writer.join(timeout=30)
                results[i] = got

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@unittest.skipUnless(SQUID, "squid not installed (scripts/setup.d/tunnel.sh installs it)")
class SquidTests(CliTestCase):
    """Our client through squid (a second real HTTP proxy), TLS 1.3 and 1.2, verification on."""

    def _squid(self, allowed_port):
        directory = tempfile.mkdtemp(prefix="squid-", dir=cli_test.TMP)
        os.chmod(directory, 0o777)  # squid drops to its own user
        port = free_port()
        config = os.path.join(directory, "squid.conf")
        with open(config, "w") as f:
            f.write("\n".join([
                "http_port 127.0.0.1:%d" % port,
                "pid_filename %s/squid.pid" % directory,
                "cache_effective_user proxy",
                "cache deny all",
                "cache_mem 8 MB",
                "access_log stdio:%s/access.log" % directory,
                "cache_log %s/cache.log" % directory,
                "cache_store_log none",
                "pinger_enable off",
                "coredump_dir %s" % directory,
                "acl allowed_ports port %d" % allowed_port,
                "acl CONNECT method CONNECT",
                "http_access deny CONNECT !allowed_ports",
                "http_access allow localhost",
                "http_access deny all",
                "shutdown_lifetime 0 seconds",
            ]) + "\n")
        proc = subprocess.Popen([SQUID, "-N", "-d", "1", "-f", config], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = Lines(proc.stdout)
        if not out.wait_for(r"Accepting HTTP Socket connections", timeout=20):
            stop(proc)
            raise AssertionError("squid did not start: %s" % out.seen)
        # squid logs "Accepting" as it sets the socket up; connecting is the proof.
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except ConnectionRefusedError:
                out.wait_for(r"^$^", timeout=0.05)  # bounded wait for squid to listen
        self.squid_output = out
        return proc, "http://127.0.0.1:%d" % port

    def test_echo_through_squid_and_403(self):
        with Server("--echo", exit_after=2) as server:
            proc, url = self._squid(server.port)
            try:
                for version in ("1.3", "1.2"):
                    result, report = client(server.address, "--proxy", url, "--max-version", version)
                    self.squid_output.wait_for(r"^$", timeout=0.1)
                    self.assertEqual(result.returncode, 0, (result.stderr, self.squid_output.seen))
                    self.assertConnected(result, report)
                    self.assertTrue(report["authorized"], report)
                    self.assertEqual(report["protocol"], "TLSv" + version)
                    self.assertEqual(report["received"], "hello through the proxy")
                    self.assertEqual(report["proxy"]["status"], 200)
                result, report = client("127.0.0.1:%d" % (server.port ^ 1), "--proxy", url)
                self.assertFailed(result, report, stage="proxy", codes=("ERR_PROXY_REFUSED",))
                self.assertEqual(report["proxy"]["status"], 403)
                server.finish()
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
                proc.stdout.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sanstls", required=True)
    args, rest = parser.parse_known_args()
    cli_test.SANSTLS = os.path.abspath(args.sanstls)
    if os.environ.get("SANSTLS_REQUIRE_PEERS") == "1":
        missing = [name for name, path in (("openssl", OPENSSL), ("curl", CURL), ("squid", SQUID)) if not path]
        if missing:
            print("missing peers (SANSTLS_REQUIRE_PEERS=1):", missing)
            print("0 passed, 1 failed, 0 skipped")
            return 1
    with tempfile.TemporaryDirectory(prefix="sanstls-proxy-") as tmp:
        os.chmod(tmp, 0o755)
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
