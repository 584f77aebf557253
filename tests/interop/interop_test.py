#!/usr/bin/python3
"""Interop matrix: the `sanstls` CLI against real TLS peers on loopback.

Python 3 standard library only.  Run:

    /usr/bin/python3 tests/interop/interop_test.py --sanstls build/bin/sanstls \
        [--report build/interop.md] [--only REGEX] [--verbose]

The report goes where --report says; CTest writes it to <build>/interop.md,
never into the source tree.  docs/interop.md is that report, refreshed on
purpose with `scripts/update-interop-report.sh` (runs the test, then copies).

Peers: `openssl s_server`/`s_client`, `gnutls-serv`/`gnutls-cli`, `curl`,
Python's `ssl` module and Node's `tls` module.  Every cell runs with
certificate verification on in both directions (the test CA made by
`sanstls pki` is trusted by both sides and both sides present a certificate),
moves application data both ways and checks the negotiated version as each
end reports it.  Failure cases check sanstls's named errors against real peers.

Every process runs under a deadline (`timeout -s KILL`, plus a watchdog
here) and is killed at the end; readiness is detected from each server's own
output (its listening line, which carries the port), never by sleeping.

Feature cells (issue 4) prove resumption (`s_client -sess_out/-sess_in`,
our `--session-out/--session-in` against `s_server`), external PSKs
(`-psk`/`--psk` both ways), SNI contexts, ALPN, and key logging: `tshark`
captures a loopback session (root or CAP_NET_RAW needed; the cell fails, it
does not skip, when it cannot capture) and decrypts it with our key log.

Output: one `PASS`/`FAIL` line per cell, then `N passed, M failed` last.
Exit status 1 when a cell failed, 2 when the harness itself could not run.
"""

import argparse
import datetime
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
NAME = "localhost"  # the DNS name in the test server certificate
WRONG_NAME = "wrong.example"
CLIENT_CN = "client.example"  # the subject CN of the client certificate from `sanstls pki`
VERSIONS = ("1.3", "1.2")
PROC_TIMEOUT = 20.0  # hard deadline for any single process
IO_TIMEOUT = 10.0  # waits for output, connections, exits
SANSTLS_TIMEOUT = "10"  # --timeout / --handshake-timeout given to sanstls

OPENSSL = "openssl"
GNUTLS_SERV = "gnutls-serv"
GNUTLS_CLI = "gnutls-cli"
CURL = "curl"
NODE = "/usr/bin/node" if os.path.exists("/usr/bin/node") else "node"
PYTHON = sys.executable or "/usr/bin/python3"
TSHARK = "tshark"
TIMEOUT_BIN = shutil.which("timeout")  # coreutils

VERBOSE = False


# --------------------------------------------------------------------------
# Processes


class Proc:
    """A child process whose stdout and stderr are collected by threads.

    It runs in its own process group, is killed when its deadline passes, and
    is registered so that the harness kills it at the end whatever happens.
    """

    registry = []
    registry_lock = threading.Lock()

    def __init__(self, label, argv, stdin=False, timeout=PROC_TIMEOUT, cwd=None):
        self.label = label
        self.argv = [str(a) for a in argv]
        if TIMEOUT_BIN:
            # Outlives the harness: even a SIGKILLed harness leaves no peer behind.
            self.argv = [TIMEOUT_BIN, "-s", "KILL", str(int(timeout) + 5)] + self.argv
        self.out = bytearray()
        self.err = bytearray()
        self.cond = threading.Condition()
        self.eof = {"out": False, "err": False}
        self.timed_out = False
        if VERBOSE:
            print("  $ " + " ".join(_shell_quote(a) for a in self.argv), flush=True)
        self.p = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            start_new_session=True,
        )
        with Proc.registry_lock:
            Proc.registry.append(self)
        self.threads = [
            threading.Thread(target=self._pump, args=(self.p.stdout, self.out, "out"), daemon=True),
            threading.Thread(target=self._pump, args=(self.p.stderr, self.err, "err"), daemon=True),
        ]
        for t in self.threads:
            t.start()
        self.timer = threading.Timer(timeout, self._deadline)
        self.timer.daemon = True
        self.timer.start()

    def _pump(self, stream, buf, key):
        fd = stream.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self.cond:
                if chunk:
                    buf += chunk
                else:
                    self.eof[key] = True
                self.cond.notify_all()
            if not chunk:
                return

    def _deadline(self):
        if self.p.poll() is None:
            self.timed_out = True
            self.kill()

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.timer.cancel()

    @property
    def stdout(self):
        with self.cond:
            return bytes(self.out).decode("utf-8", "replace")

    @property
    def stderr(self):
        with self.cond:
            return bytes(self.err).decode("utf-8", "replace")

    def wait_for(self, pattern, streams=("out",), timeout=IO_TIMEOUT):
        """Waits until `pattern` (a regex on text) appears in the given
        streams; returns the match, or None on timeout or end of output."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for key in streams:
                    buf = self.out if key == "out" else self.err
                    m = rx.search(bytes(buf).decode("utf-8", "replace"))
                    if m:
                        return m
                if all(self.eof[k] for k in streams):
                    return None
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.5))

    def write(self, data):
        try:
            self.p.stdin.write(data.encode() if isinstance(data, str) else data)
            self.p.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def close_stdin(self):
        try:
            self.p.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    def wait(self, timeout=IO_TIMEOUT):
        """Exit status, or None (and the process is killed) on timeout.
        Also waits for the output pipes to drain."""
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.timed_out = True
            self.kill()
            rc = None
        for t in self.threads:
            t.join(timeout=2)
        self.timer.cancel()
        return rc

    def describe(self, limit=600):
        """Tail of both streams, for failure details."""
        def tail(s):
            s = s.strip()
            return s if len(s) <= limit else "..." + s[-limit:]
        parts = []
        if self.stdout.strip():
            parts.append("stdout: " + tail(self.stdout))
        if self.stderr.strip():
            parts.append("stderr: " + tail(self.stderr))
        return f"[{self.label}] " + (" | ".join(parts) if parts else "(no output)")

    @classmethod
    def kill_all(cls):
        with cls.registry_lock:
            procs = list(cls.registry)
        for p in procs:
            p.kill()


def _shell_quote(s):
    return s if re.fullmatch(r"[\w@%+=:,./-]+", s) else "'" + s.replace("'", "'\\''") + "'"


def free_port():
    """A port that was free a moment ago (for peers that cannot bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def run(argv, timeout=IO_TIMEOUT):
    p = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


# --------------------------------------------------------------------------
# Cells


class CellFail(Exception):
    pass


def check(cond, msg, *procs):
    if not cond:
        detail = "; ".join(p.describe() for p in procs if p is not None)
        raise CellFail(msg + (" -- " + detail if detail else ""))


class Ctx:
    def __init__(self, sanstls, pki, tmp):
        self.sanstls = sanstls
        self.pki = pki
        self.tmp = tmp

    def f(self, name):
        return os.path.join(self.pki, name)

    def extra_pki(self, name):
        """A separate test PKI (own CAs) whose server certificate names `name`."""
        directory = os.path.join(self.tmp, "pki-" + name.replace("*", "star"))
        if not os.path.isdir(directory):
            rc, out = run([self.sanstls, "pki", "--out", directory, "--name", name], timeout=60)
            check(rc == 0, f"sanstls pki --name {name} failed: {out.strip()}")
        return directory


def token(tag):
    return f"sanstls-{tag}-{secrets.token_hex(4)}"


def tls_name(v):
    return "TLSv" + v


# ---- sanstls itself


def our_client(ctx, port, version, send, ca="ca.pem", servername=NAME, extra=()):
    argv = [ctx.sanstls, "client", f"{HOST}:{port}", "--servername", servername,
            "--ca", ctx.f(ca), "--cert", ctx.f("client.pem"), "--key", ctx.f("client.key"),
            "--min-version", version, "--max-version", version,
            "--timeout", SANSTLS_TIMEOUT, "--json"]
    if send is not None:
        argv += ["--send", send]
    argv += list(extra)
    p = Proc("sanstls client", argv)
    rc = p.wait(PROC_TIMEOUT)
    info = parse_json(p.stdout)
    return p, rc, info


def parse_json(text):
    """The JSON object the client prints (the whole stdout, or its last
    line that parses as an object)."""
    text = text.strip()
    if not text:
        return None
    try:
        v = json.loads(text)
        return v if isinstance(v, dict) else None
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                v = json.loads(line)
                if isinstance(v, dict):
                    return v
            except ValueError:
                continue
    return None


class OurServer:
    def __init__(self, ctx, mode, version=None, exit_after=1, extra=(), mtls=True, cert=True):
        argv = [ctx.sanstls, "server", "--host", HOST, "--port", "0"]
        if cert:
            argv += ["--cert", ctx.f("server.pem"), "--key", ctx.f("server.key")]
        if mtls:
            argv += ["--ca", ctx.f("ca.pem"), "--require-cert"]
        argv += ["--" + mode, "--exit-after", str(exit_after), "--handshake-timeout", SANSTLS_TIMEOUT]
        if version:
            argv += ["--min-version", version, "--max-version", version]
        argv += list(extra)
        self.exit_after = exit_after
        self.p = Proc("sanstls server", argv)
        m = self.p.wait_for(r"listening on (\S+):(\d+)")
        check(m is not None, "sanstls server did not print 'listening on HOST:PORT'", self.p)
        self.port = int(m.group(2))

    def finish(self):
        """Waits for the server to exit (after --exit-after connections) and
        returns the per-connection log lines."""
        rc = self.p.wait(IO_TIMEOUT)
        check(rc is not None, f"sanstls server did not exit after --exit-after {self.exit_after}", self.p)
        # Without the "conn N from ADDR: " prefix (the port changes every run).
        lines = [re.sub(r"^conn \d+ from \S+: ", "", l) for l in self.p.stdout.splitlines()
                 if l.startswith("conn ")]
        return rc, lines


def check_our_client_ok(p, rc, info, version):
    check(rc == 0, f"sanstls client exit status {rc}", p)
    check(info is not None, "sanstls client printed no JSON object", p)
    check(info.get("protocol") == tls_name(version),
          f"sanstls client protocol {info.get('protocol')!r}, expected {tls_name(version)}", p)
    check(info.get("authorized") is True,
          f"sanstls client authorized={info.get('authorized')!r} "
          f"({info.get('authorizationError')!r})", p)
    check(not info.get("error"), f"sanstls client error {info.get('error')!r}", p)
    cipher = info.get("cipher") or {}
    return f"{cipher.get('standardName') or cipher.get('name')}, {info.get('group')}"


def check_our_log(lines, version, srv):
    check(len(lines) >= 1, "sanstls server logged no connection line", srv.p)
    line = lines[-1]
    check(tls_name(version) in line,
          f"sanstls server log line does not say {tls_name(version)}: {line!r}", srv.p)
    check("handshake failed" not in line and ": ended: " not in line,
          f"sanstls server log line reports a failure: {line!r}", srv.p)
    return line


# ---- our client -> server peers


def start_openssl_server(ctx, extra=()):
    # -cert loads only the leaf; -cert_chain sends the intermediate from the same file.
    argv = [OPENSSL, "s_server", "-accept", f"{HOST}:0", "-cert", ctx.f("server.pem"),
            "-cert_chain", ctx.f("server.pem"), "-key", ctx.f("server.key"), "-CAfile", ctx.f("ca.pem"), "-Verify", "1",
            "-verify_return_error", "-www"] + list(extra)
    p = Proc("openssl s_server", argv)
    m = p.wait_for(r"ACCEPT \S+:(\d+)")
    check(m is not None, "openssl s_server did not print ACCEPT", p)
    return p, int(m.group(1))


def client_vs_openssl(ctx, version):
    srv, port = start_openssl_server(ctx)
    request = "GET / HTTP/1.0\r\n\r\n"
    p, rc, info = our_client(ctx, port, version, request)
    ours = check_our_client_ok(p, rc, info, version)
    page = info.get("received") or ""
    check("HTTP/1.0 200 ok" in page, "no HTTP/1.0 200 page from s_server -www in 'received'", p, srv)
    m = re.search(r"Protocol\s*:\s*(\S+)", page)
    check(m is not None, "s_server page has no 'Protocol  :' line", p)
    check(m.group(1) == tls_name(version),
          f"s_server reports {m.group(1)}, expected {tls_name(version)}", p)
    check("Client certificate" in page and f"CN={CLIENT_CN}" in page.replace("CN = ", "CN="),
          "s_server page shows no verified client certificate", p)
    srv.kill()
    return f"{ours}; s_server page: Protocol {m.group(1)}, client certificate shown"


def start_gnutls_server(ctx, extra=()):
    # gnutls-serv cannot report a port chosen by the kernel (-p 0 prints 0),
    # and it listens on every address; give it a port that was free on all of
    # them. Another process may still take it first (any client socket's
    # ephemeral port): then try another port, a bounded number of times.
    for attempt in range(3):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("", 0))
            port = s.getsockname()[1]
        argv = [GNUTLS_SERV, "--echo", "-p", port, "--x509certfile", ctx.f("server.pem"),
                "--x509keyfile", ctx.f("server.key"), "--x509cafile", ctx.f("ca.pem"),
                "--require-client-cert", "--verify-client-cert"] + list(extra)
        srv = Proc("gnutls-serv", argv)
        m = srv.wait_for(rf"listening on IPv4 \S+ port {port}\.\.\.(done|bind\(\) failed)",
                         ("out", "err"))
        if m is not None and "bind() failed" in m.group(0) and attempt < 2:
            srv.kill()
            continue
        check(m is not None and m.group(0).endswith("done"),
              "gnutls-serv did not report listening", srv)
        return srv, port


def client_vs_gnutls(ctx, version):
    srv, port = start_gnutls_server(ctx)
    tok = token("gnutls")
    p, rc, info = our_client(ctx, port, version, tok + "\n")
    ours = check_our_client_ok(p, rc, info, version)
    check(tok in (info.get("received") or ""), f"echo of {tok!r} not received", p, srv)
    check(srv.wait_for(r"received cmd: " + re.escape(tok), ("out", "err")) is not None,
          "gnutls-serv did not log our data", srv)
    m = srv.wait_for(r"- Version: (\S+)")
    check(m is not None, "gnutls-serv printed no '- Version:' line", srv)
    check(m.group(1) == "TLS" + version, f"gnutls-serv reports {m.group(1)}", srv)
    check(srv.wait_for(r"The certificate is trusted") is not None,
          "gnutls-serv did not verify our client certificate", srv)
    srv.kill()
    return f"{ours}; gnutls-serv: Version {m.group(1)}, client certificate trusted"


PY_SERVER = r"""
import json, socket, ssl, sys
cert, key, ca = sys.argv[1:4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(ca)
ctx.verify_mode = ssl.CERT_REQUIRED
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(4)
print("listening", ls.getsockname()[1], flush=True)
ls.settimeout(15)
conn, _ = ls.accept()
conn.settimeout(10)
s = ctx.wrap_socket(conn, server_side=True)
peer = dict(x[0] for x in s.getpeercert()["subject"])
data = b""
while not data.endswith(b"\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(json.dumps({"version": s.version(), "cipher": s.cipher()[0], "peer": peer.get("commonName"),
                  "received": data.decode()}), flush=True)
s.sendall(b"python-echo " + s.version().encode() + b" " + data)
try:
    s.unwrap()
    print("close_notify exchanged", flush=True)
except (OSError, ssl.SSLError) as e:
    print("unwrap:", e, flush=True)
s.close()
"""

NODE_SERVER = r"""
const tls = require('tls'), fs = require('fs');
const [cert, key, ca] = process.argv.slice(-3);
const server = tls.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key),
    ca: fs.readFileSync(ca), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2'},
  (s) => {
    let data = '';
    const peer = s.getPeerCertificate();
    s.on('data', (d) => {
      data += d.toString();
      if (data.endsWith('\n')) {
        console.log(JSON.stringify({version: s.getProtocol(), cipher: s.getCipher().standardName,
                                    authorized: s.authorized, peer: peer.subject && peer.subject.CN,
                                    received: data}));
        s.end('node-echo ' + s.getProtocol() + ' ' + data);
      }
    });
    s.on('error', (e) => console.log('socket error ' + e.code + ' ' + e.message));
    s.on('close', () => server.close());
  });
server.on('tlsClientError', (e) => { console.log('tlsClientError ' + e.code + ' ' + e.message); server.close(); });
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
setTimeout(() => process.exit(3), 15000).unref();
"""


def client_vs_script(ctx, version, label, argv, echo_prefix):
    srv = Proc(label, argv)
    m = srv.wait_for(r"listening (\d+)")
    check(m is not None, f"{label} did not print its port", srv)
    port = int(m.group(1))
    tok = token(label.split()[0])
    p, rc, info = our_client(ctx, port, version, tok + "\n")
    ours = check_our_client_ok(p, rc, info, version)
    got = info.get("received") or ""
    check(f"{echo_prefix} {tls_name(version)} {tok}" in got,
          f"expected '{echo_prefix} {tls_name(version)} {tok}' in received, got {got!r}", p, srv)
    srv.wait(IO_TIMEOUT)
    peer = parse_json(next((l for l in srv.stdout.splitlines() if l.startswith("{")), ""))
    check(peer is not None, f"{label} printed no connection summary", srv)
    check(peer.get("version") == tls_name(version), f"{label} reports {peer.get('version')}", srv)
    check(peer.get("received", "").strip() == tok, f"{label} received {peer.get('received')!r}", srv)
    check(peer.get("peer") == CLIENT_CN, f"{label} saw client certificate CN {peer.get('peer')!r}", srv)
    return f"{ours}; {label}: {peer.get('version')}, client CN={peer.get('peer')}"


def client_vs_python(ctx, version):
    argv = [PYTHON, "-c", PY_SERVER, ctx.f("server.pem"), ctx.f("server.key"), ctx.f("ca.pem")]
    return client_vs_script(ctx, version, "python ssl server", argv, "python-echo")


def client_vs_node(ctx, version):
    argv = [NODE, "-e", NODE_SERVER, "--", ctx.f("server.pem"), ctx.f("server.key"), ctx.f("ca.pem")]
    return client_vs_script(ctx, version, "node tls server", argv, "node-echo")


# ---- client peers -> our server


def interactive_echo(ctx, label, argv, tok, version):
    """Starts an interactive client peer, types one line, waits for its echo,
    closes stdin (the peer then closes the connection) and waits for exit."""
    p = Proc(label, argv, stdin=True)
    p.write(tok + "\n")
    echoed = p.wait_for(re.escape(tok)) is not None
    p.close_stdin()
    rc = p.wait(IO_TIMEOUT)
    check(echoed, f"{label} did not receive the echo of {tok!r}", p)
    return p, rc


def openssl_client_argv(ctx, port, version_flag):
    return [OPENSSL, "s_client", "-connect", f"{HOST}:{port}", "-servername", NAME,
            "-verify_hostname", NAME, "-verify_return_error", "-CAfile", ctx.f("ca.pem"),
            "-cert", ctx.f("client.pem"), "-key", ctx.f("client.key"), version_flag]


def openssl_client_to_us(ctx, version):
    srv = OurServer(ctx, "echo")
    tok = token("s_client")
    p, rc = interactive_echo(ctx, "openssl s_client",
                             openssl_client_argv(ctx, srv.port, "-tls" + version.replace(".", "_")),
                             tok, version)
    _, lines = srv.finish()
    check(rc == 0, f"openssl s_client exit status {rc}", p, srv.p)
    m = re.search(r"Protocol\s*:\s*(\S+)", p.stdout)
    check(m is not None and m.group(1) == tls_name(version),
          f"s_client reports protocol {m and m.group(1)}", p)
    check("Verify return code: 0 (ok)" in p.stdout, "s_client did not verify our certificate", p)
    log = check_our_log(lines, version, srv)
    return f"s_client: Protocol {m.group(1)}, verify ok; ours: {log.strip()}"


def gnutls_client_argv(ctx, port, version):
    return [GNUTLS_CLI, HOST, "-p", port, "--sni-hostname", NAME, "--verify-hostname", NAME,
            "--x509cafile", ctx.f("ca.pem"), "--x509certfile", ctx.f("client.pem"),
            "--x509keyfile", ctx.f("client.key"), "--priority", gnutls_priority(version)]


def gnutls_priority(version):
    return "NORMAL:-VERS-ALL:+VERS-TLS" + version


def gnutls_client_to_us(ctx, version):
    srv = OurServer(ctx, "echo")
    tok = token("gnutls-cli")
    argv = gnutls_client_argv(ctx, srv.port, version)
    p, rc = interactive_echo(ctx, "gnutls-cli", argv, tok, version)
    _, lines = srv.finish()
    check(rc == 0, f"gnutls-cli exit status {rc}", p, srv.p)
    m = re.search(r"- Description: \((TLS[\d.]+)-", p.stdout)
    check(m is not None and m.group(1) == "TLS" + version,
          f"gnutls-cli reports {m and m.group(1)}", p)
    check("The certificate is trusted" in p.stdout, "gnutls-cli did not trust our certificate", p)
    log = check_our_log(lines, version, srv)
    return f"gnutls-cli: ({m.group(1)}), certificate trusted; ours: {log.strip()}"


def curl_to_us(ctx, version):
    srv = OurServer(ctx, "www")
    url = f"https://{NAME}:{srv.port}/interop"
    vflags = ["--tlsv1.3"] if version == "1.3" else ["--tlsv1.2", "--tls-max", "1.2"]
    argv = [CURL, "-sS", "-v", "--max-time", SANSTLS_TIMEOUT, "--resolve", f"{NAME}:{srv.port}:{HOST}",
            "--cacert", ctx.f("ca.pem"), "--cert", ctx.f("client.pem"), "--key", ctx.f("client.key"),
            *vflags, url]
    p = Proc("curl", argv)
    rc = p.wait(PROC_TIMEOUT)
    _, lines = srv.finish()
    check(rc == 0, f"curl exit status {rc}", p, srv.p)
    m = re.search(r"SSL connection using (\S+)", p.stderr)
    check(m is not None and m.group(1) == tls_name(version), f"curl reports {m and m.group(1)}", p)
    check(re.search(r"HTTP/1\.[01] 200", p.stderr) is not None, "curl got no 200 status", p)
    check(tls_name(version) in p.stdout, "our --www page does not name the version", p)
    log = check_our_log(lines, version, srv)
    return f"curl: {m.group(1)}, HTTP 200, page {len(p.stdout)} bytes; ours: {log.strip()}"


PY_CLIENT = r"""
import json, socket, ssl, sys
port, ca, cert, key, version, tok = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
v = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
ctx.minimum_version = ctx.maximum_version = v
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(port)), timeout=10),
                    server_hostname="localhost")
s.sendall(tok.encode() + b"\n")
data = b""
while tok.encode() not in data:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
out = {"version": s.version(), "cipher": s.cipher()[0], "received": data.decode()}
try:
    s.unwrap()
    out["close"] = "close_notify exchanged"
except (OSError, ssl.SSLError) as e:
    out["close"] = "unwrap: %s" % e
s.close()
print(json.dumps(out), flush=True)
"""

NODE_CLIENT = r"""
const tls = require('tls'), fs = require('fs');
const [port, ca, cert, key, version, tok] = process.argv.slice(-6);
const v = 'TLSv' + version;
const s = tls.connect({host: '127.0.0.1', port: +port, servername: 'localhost',
    ca: fs.readFileSync(ca), cert: fs.readFileSync(cert), key: fs.readFileSync(key),
    minVersion: v, maxVersion: v}, () => {
  s.write(tok + '\n');
});
let data = '', version_ = null, authorized = null;
s.on('secureConnect', () => { version_ = s.getProtocol(); authorized = s.authorized; });
s.on('data', (d) => { data += d.toString(); if (data.includes(tok)) s.end(); });
s.on('error', (e) => { console.log(JSON.stringify({error: e.code, message: e.message})); process.exit(1); });
s.on('close', () => { console.log(JSON.stringify({version: version_, authorized, received: data})); });
setTimeout(() => { console.log('timeout'); process.exit(2); }, 10000).unref();
"""


def script_client_to_us(ctx, version, label, argv_head):
    srv = OurServer(ctx, "echo")
    tok = token(label.split()[0])
    argv = argv_head + [srv.port, ctx.f("ca.pem"), ctx.f("client.pem"), ctx.f("client.key"), version, tok]
    p = Proc(label, argv)
    rc = p.wait(PROC_TIMEOUT)
    _, lines = srv.finish()
    check(rc == 0, f"{label} exit status {rc}", p, srv.p)
    info = parse_json(p.stdout)
    check(info is not None, f"{label} printed no summary", p)
    check(info.get("version") == tls_name(version), f"{label} reports {info.get('version')}", p)
    check(tok in info.get("received", ""), f"{label} did not receive the echo", p)
    if "authorized" in info:
        check(info["authorized"] is True, f"{label} authorized={info['authorized']}", p)
    log = check_our_log(lines, version, srv)
    extra = f", {info['close']}" if "close" in info else ""
    return f"{label}: {info.get('version')}{extra}; ours: {log.strip()}"


def python_client_to_us(ctx, version):
    return script_client_to_us(ctx, version, "python ssl client", [PYTHON, "-c", PY_CLIENT])


def node_client_to_us(ctx, version):
    return script_client_to_us(ctx, version, "node tls client", [NODE, "-e", NODE_CLIENT, "--"])


# ---- failure cases


def error_of(info):
    e = (info or {}).get("error") or {}
    return e if isinstance(e, dict) else {"code": str(e)}


def fail_wrong_name(ctx, version):
    srv, port = start_openssl_server(ctx)
    p, rc, info = our_client(ctx, port, version, "GET / HTTP/1.0\r\n\r\n", servername=WRONG_NAME)
    srv.kill()
    e = error_of(info)
    check(rc == 1, f"sanstls client exit status {rc}, expected 1", p)
    check(e.get("code") == "ERR_TLS_CERT_ALTNAME_INVALID",
          f"error {e.get('code')!r}, expected ERR_TLS_CERT_ALTNAME_INVALID", p)
    return f"{e.get('code')} (stage {e.get('stage')}, alert {e.get('alert')} {e.get('alertDirection', '')})"


def fail_untrusted_ca(ctx, version):
    srv, port = start_openssl_server(ctx)
    p, rc, info = our_client(ctx, port, version, "GET / HTTP/1.0\r\n\r\n", ca="other-ca.pem")
    srv.kill()
    e = error_of(info)
    check(rc == 1, f"sanstls client exit status {rc}, expected 1", p)
    check(str(e.get("code", "")).startswith("UNABLE_TO_"),
          f"error {e.get('code')!r}, expected UNABLE_TO_*", p)
    return f"{e.get('code')} (stage {e.get('stage')}, alert {e.get('alert')} {e.get('alertDirection', '')})"


def is_protocol_version_error(e):
    code = e.get("code")
    return code == "ERR_SSL_UNSUPPORTED_PROTOCOL" or (
        code == "ERR_SSL_PEER_ALERT" and e.get("alert") == "protocol_version")


def fail_client13_vs_openssl12(ctx, _version):
    srv, port = start_openssl_server(ctx, ["-tls1_2"])
    p, rc, info = our_client(ctx, port, "1.3", "GET / HTTP/1.0\r\n\r\n")
    e = error_of(info)
    check(rc == 1, f"sanstls client exit status {rc}, expected 1", p)
    check(is_protocol_version_error(e),
          f"error {e!r}, expected ERR_SSL_UNSUPPORTED_PROTOCOL or ERR_SSL_PEER_ALERT/protocol_version", p)
    peer = srv.wait_for(r"(unsupported protocol|alert protocol version|wrong version number)", ("out", "err"), 3)
    srv.kill()
    peer_s = f"; s_server: {peer.group(1)}" if peer else ""
    return f"{e.get('code')} (alert {e.get('alert')} {e.get('alertDirection', '')}){peer_s}"


def fail_client13_vs_gnutls12(ctx, _version):
    srv, port = start_gnutls_server(ctx, ["--priority", gnutls_priority("1.2")])
    p, rc, info = our_client(ctx, port, "1.3", "ping\n")
    e = error_of(info)
    check(rc == 1, f"sanstls client exit status {rc}, expected 1", p)
    # GnuTLS 3.7 picks TLS 1.2 from legacy_version, then finds none of the
    # offered (TLS 1.3-only) suites usable and answers handshake_failure
    # ("No supported cipher suites have been found"), where OpenSSL answers
    # protocol_version. Either way our error must name the alert received.
    gnutls_answer = (e.get("code") == "ERR_SSL_PEER_ALERT" and e.get("alert") == "handshake_failure"
                     and e.get("alertDirection") == "received")
    check(is_protocol_version_error(e) or gnutls_answer,
          f"error {e!r}, expected ERR_SSL_UNSUPPORTED_PROTOCOL or ERR_SSL_PEER_ALERT "
          f"(protocol_version, or handshake_failure received)", p)
    peer = srv.wait_for(r"Error in handshake: ([^\n]*)", ("out", "err"), 3)
    srv.kill()
    peer_s = f"; gnutls-serv: Error in handshake: {peer.group(1).strip()}" if peer else ""
    return f"{e.get('code')} (alert {e.get('alert')} {e.get('alertDirection', '')}){peer_s}"


def fail_gnutls12_vs_server13(ctx, _version):
    srv = OurServer(ctx, "echo", version="1.3")
    p = Proc("gnutls-cli", gnutls_client_argv(ctx, srv.port, "1.2"), stdin=True)
    p.close_stdin()
    rc = p.wait(IO_TIMEOUT)
    _, lines = srv.finish()
    check(rc not in (0, None), f"gnutls-cli exit status {rc}, expected failure", p)
    log = " ".join(lines)
    check("ERR_SSL_UNSUPPORTED_PROTOCOL" in log and "protocol_version sent" in log,
          f"sanstls server log does not name ERR_SSL_UNSUPPORTED_PROTOCOL with protocol_version sent: {log!r}",
          srv.p)
    m = re.search(r"Received alert \[(\d+)\]: ([^\n]*)", p.stdout + p.stderr)
    check(m is not None and m.group(1) == "70",
          f"gnutls-cli did not receive alert 70 (protocol_version)", p)
    return f"ours: {log.strip()}; gnutls-cli: alert [{m.group(1)}] {m.group(2).strip()}"


def fail_openssl12_vs_server13(ctx, _version):
    srv = OurServer(ctx, "echo", version="1.3")
    p = Proc("openssl s_client", openssl_client_argv(ctx, srv.port, "-tls1_2"), stdin=True)
    p.close_stdin()
    rc = p.wait(IO_TIMEOUT)
    _, lines = srv.finish()
    check(rc not in (0, None), f"openssl s_client exit status {rc}, expected failure", p)
    log = " ".join(lines)
    check("ERR_SSL_UNSUPPORTED_PROTOCOL" in log and "protocol_version sent" in log,
          f"sanstls server log does not name ERR_SSL_UNSUPPORTED_PROTOCOL with protocol_version sent: {log!r}",
          srv.p)
    m = re.search(r"(alert protocol version|unsupported protocol|wrong version number)", p.stdout + p.stderr)
    check(m is not None and m.group(1) == "alert protocol version",
          f"s_client did not receive a protocol_version alert ({m and m.group(1)})", p)
    return f"ours: {log.strip()}; s_client: {m.group(1)}"


def fail_plain_http(ctx, _version):
    srv = OurServer(ctx, "www")
    p = Proc("curl", [CURL, "-sS", "-i", "--max-time", SANSTLS_TIMEOUT, f"http://{HOST}:{srv.port}/"])
    rc = p.wait(PROC_TIMEOUT)
    _, lines = srv.finish()
    check(re.search(r"^HTTP/1\.0 400", p.stdout, re.M) is not None,
          f"curl did not get 'HTTP/1.0 400' (exit {rc})", p)
    log = " ".join(lines)
    check("ERR_SSL_HTTP_REQUEST" in log, f"sanstls server log does not name ERR_SSL_HTTP_REQUEST: {log!r}", srv.p)
    first = p.stdout.strip().splitlines()[0] if p.stdout.strip() else ""
    return f"curl: {first.strip()!r}; ours: {log.strip()}"


# ---- issue 4 features against real peers

PSK_IDENTITY = "interop-device"
PSK_HEX = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"


def s_client_base(ctx, port, version, servername=NAME, ca=None):
    """openssl s_client without a client certificate, verifying `servername`."""
    return [OPENSSL, "s_client", "-connect", f"{HOST}:{port}", "-servername", servername,
            "-verify_hostname", servername, "-verify_return_error", "-CAfile", ca or ctx.f("ca.pem"),
            "-tls" + version.replace(".", "_")]


def session_line(text):
    """OpenSSL's "New, TLSv1.3, Cipher is ..." / "Reused, TLSv1.2, ..." line."""
    m = re.search(r"^(New|Reused), (TLSv1\.[23])", text, re.M)
    return (m.group(1), m.group(2)) if m else (None, None)


def resume_openssl_client_to_us(ctx, version):
    # Without --require-cert: a TLS 1.3 resumption under a server that
    # requires client certificates is refused by the engine (see docs/features.md).
    srv = OurServer(ctx, "echo", exit_after=2, mtls=False)
    sess = os.path.join(ctx.tmp, f"s_client-{version}.sess")
    base = s_client_base(ctx, srv.port, version)
    p1, rc1 = interactive_echo(ctx, "openssl s_client -sess_out", base + ["-sess_out", sess],
                               token("sess-out"), version)
    check(rc1 == 0 and os.path.isfile(sess) and os.path.getsize(sess) > 0,
          f"s_client -sess_out exit {rc1}, wrote no session file", p1)
    p2, rc2 = interactive_echo(ctx, "openssl s_client -sess_in", base + ["-sess_in", sess],
                               token("sess-in"), version)
    _, lines = srv.finish()
    check(rc2 == 0, f"s_client -sess_in exit status {rc2}", p2, srv.p)
    first, second = session_line(p1.stdout), session_line(p2.stdout)
    check(first == ("New", tls_name(version)), f"first s_client says {first}", p1)
    check(second == ("Reused", tls_name(version)), f"second s_client says {second}, expected Reused", p2)
    check(len(lines) == 2 and "resumed=no" in lines[0] and "resumed=yes" in lines[1],
          f"sanstls server log does not show resumed=no then resumed=yes: {lines}", srv.p)
    return f"s_client: '{first[0]}, {first[1]}' then '{second[0]}, {second[1]}'; ours: {lines[1].strip()}"


def resume_our_client_to_openssl(ctx, version):
    srv, port = start_openssl_server(ctx)
    sess = os.path.join(ctx.tmp, f"ours-{version}.sess")
    request = "GET / HTTP/1.0\r\n\r\n"
    p1, rc1, info1 = our_client(ctx, port, version, request, extra=["--session-out", sess])
    check_our_client_ok(p1, rc1, info1, version)
    check(info1.get("sessionReused") is False and os.path.isfile(sess), "first connection saved no session", p1)
    p2, rc2, info2 = our_client(ctx, port, version, request, extra=["--session-in", sess])
    srv.kill()
    check(rc2 == 0 and info2 is not None and not info2.get("error"), f"resumed connection failed (exit {rc2})", p2)
    check(info2.get("protocol") == tls_name(version), f"resumed protocol {info2.get('protocol')}", p2)
    check(info2.get("sessionReused") is True, f"sessionReused={info2.get('sessionReused')!r}", p2, srv)
    page = info2.get("received") or ""
    check(f"Reused, {tls_name(version)}" in page, "s_server -www page does not say 'Reused'", p2)
    return (f"sessionReused true (first: ticketReceived={info1.get('ticketReceived')}); "
            f"s_server page: 'Reused, {tls_name(version)}'; resumed authorized={info2.get('authorized')}")


def psk_openssl_client_to_us(ctx, version):
    srv = OurServer(ctx, "echo", mtls=False, cert=False, extra=["--psk", f"{PSK_IDENTITY}:{PSK_HEX}"])
    argv = [OPENSSL, "s_client", "-connect", f"{HOST}:{srv.port}", "-psk", PSK_HEX,
            "-psk_identity", PSK_IDENTITY]
    argv += ["-tls1_3"] if version == "1.3" else ["-tls1_2", "-cipher", "PSK-AES128-GCM-SHA256"]
    p, rc = interactive_echo(ctx, "openssl s_client -psk", argv, token("psk"), version)
    _, lines = srv.finish()
    check(rc == 0, f"openssl s_client exit status {rc}", p, srv.p)
    m = re.search(r"Cipher is (\S+)", p.stdout)
    check(m is not None, "s_client printed no cipher", p)
    log = check_our_log(lines, version, srv)
    check(f'psk="{PSK_IDENTITY}"' in log and "client-cert=none" in log,
          f"sanstls server log does not name the PSK identity: {log!r}", srv.p)
    if version == "1.2":
        check(m.group(1) == "PSK-AES128-GCM-SHA256", f"s_client cipher {m.group(1)}", p)
    return f"s_client: {session_line(p.stdout)[1]}, {m.group(1)}, echo ok; ours: {log.strip()}"


def psk_our_client_to_openssl(ctx, version):
    argv = [OPENSSL, "s_server", "-accept", f"{HOST}:0", "-nocert", "-psk", PSK_HEX,
            "-psk_identity", PSK_IDENTITY, "-www"]
    if version == "1.2":
        argv += ["-cipher", "PSK-AES128-GCM-SHA256"]
    srv = Proc("openssl s_server -psk", argv)
    m = srv.wait_for(r"ACCEPT \S+:(\d+)")
    check(m is not None, "openssl s_server did not print ACCEPT", srv)
    port = int(m.group(1))
    argv = [ctx.sanstls, "client", f"{HOST}:{port}", "--psk", f"{PSK_IDENTITY}:{PSK_HEX}",
            "--min-version", version, "--max-version", version, "--timeout", SANSTLS_TIMEOUT, "--json",
            "--send", "GET / HTTP/1.0\r\n\r\n"]
    p = Proc("sanstls client --psk", argv)
    rc = p.wait(PROC_TIMEOUT)
    info = parse_json(p.stdout)
    srv.kill()
    check(rc == 0 and info is not None and not info.get("error"), f"sanstls client exit status {rc}", p, srv)
    check(info.get("protocol") == tls_name(version), f"protocol {info.get('protocol')}", p)
    check(info.get("pskIdentity") == PSK_IDENTITY, f"pskIdentity {info.get('pskIdentity')!r}", p)
    check(info.get("peerCertificateChain") == [], "a certificate was sent in a PSK handshake", p)
    cipher = (info.get("cipher") or {}).get("name")
    if version == "1.2":
        check(cipher == "PSK-AES128-GCM-SHA256", f"cipher {cipher}", p)
    page = info.get("received") or ""
    m = re.search(r"Protocol\s*:\s*(\S+)", page)
    check("HTTP/1.0 200 ok" in page and m is not None and m.group(1) == tls_name(version),
          "no s_server -www page naming the version", p)
    return f"ours: pskIdentity {PSK_IDENTITY}, {cipher}, {info.get('group')}; s_server page: Protocol {m.group(1)}"


def sni_openssl_client_to_us(ctx, version):
    a, wild = ctx.extra_pki("a.example"), ctx.extra_pki("*.wild.example")
    sni = ["--sni", f"a.example:{a}/server.pem:{a}/server.key",
           "--sni", f"*.wild.example:{wild}/server.pem:{wild}/server.key"]
    srv = OurServer(ctx, "echo", exit_after=3, mtls=False, extra=sni)
    seen = []
    for name, ca, cn in (("a.example", f"{a}/ca.pem", "a.example"), ("x.wild.example", f"{wild}/ca.pem", "*.wild.example"),
                         (NAME, ctx.f("ca.pem"), NAME)):
        p, rc = interactive_echo(ctx, f"openssl s_client -servername {name}",
                                 s_client_base(ctx, srv.port, version, servername=name, ca=ca), token("sni"), version)
        check(rc == 0, f"s_client -servername {name} exit status {rc}", p, srv.p)
        m = re.search(r"^subject=(.*)$", p.stdout, re.M)
        subject = m.group(1).replace(" = ", "=") if m else None
        check(subject == f"CN={cn}, O=sanstls test", f"-servername {name}: subject {subject!r}", p)
        check("Verify return code: 0 (ok)" in p.stdout, f"-servername {name}: not verified", p)
        seen.append(f"{name} -> {subject}")
    _, lines = srv.finish()
    check(len(lines) == 3 and "sni=a.example" in lines[0] and "sni=x.wild.example" in lines[1],
          f"sanstls server log: {lines}", srv.p)
    return "s_client verified: " + "; ".join(seen)


def alpn_openssl_client_to_us(ctx, version):
    srv = OurServer(ctx, "echo", extra=["--alpn", "h2"])
    argv = openssl_client_argv(ctx, srv.port, "-tls" + version.replace(".", "_")) + ["-alpn", "h2,http/1.1"]
    p, rc = interactive_echo(ctx, "openssl s_client -alpn", argv, token("alpn"), version)
    _, lines = srv.finish()
    check(rc == 0, f"openssl s_client exit status {rc}", p, srv.p)
    m = re.search(r"ALPN protocol: (\S+)", p.stdout)
    check(m is not None and m.group(1) == "h2", f"s_client: ALPN protocol {m and m.group(1)}", p)
    log = check_our_log(lines, version, srv)
    check("alpn=h2" in log, f"sanstls server log: {log!r}", srv.p)
    return f"s_client: 'ALPN protocol: {m.group(1)}'; ours: {log.strip()}"


def alpn_our_client_to_openssl(ctx, version):
    srv, port = start_openssl_server(ctx, ["-alpn", "h2"])
    p, rc, info = our_client(ctx, port, version, "GET / HTTP/1.0\r\n\r\n", extra=["--alpn", "http/1.1,h2"])
    ours = check_our_client_ok(p, rc, info, version)
    check(info.get("alpnProtocol") == "h2", f"alpnProtocol {info.get('alpnProtocol')!r}", p, srv)
    # No overlap: OpenSSL 3's s_server refuses with no_application_protocol; we name it.
    p2, rc2, info2 = our_client(ctx, port, version, "GET / HTTP/1.0\r\n\r\n", extra=["--alpn", "http/1.1"])
    srv.kill()
    e = error_of(info2)
    check(rc2 == 1 and e.get("code") == "ERR_SSL_PEER_ALERT" and e.get("alert") == "no_application_protocol",
          f"no overlap: expected ERR_SSL_PEER_ALERT no_application_protocol, got {e!r}", p2)
    return (f"{ours}; offered http/1.1,h2 -> alpnProtocol h2; offered http/1.1 -> "
            f"{e.get('code')} ({e.get('alert')} {e.get('alertDirection')})")


def keylog_tshark(ctx, version):
    """tshark captures a loopback session; our --keylog file decrypts it."""
    keylog = os.path.join(ctx.tmp, f"keylog-{version}.txt")
    cap = os.path.join(ctx.tmp, f"keylog-{version}.pcap")
    srv = OurServer(ctx, "www", mtls=False)
    probe = free_port()  # closed port in the capture filter: proves packets flow before we start
    ts = Proc("tshark", [TSHARK, "-i", "lo", "-f", f"tcp port {srv.port} or tcp port {probe}", "-w", cap,
                         "-P", "-l", "-a", "duration:15"])
    started = ts.wait_for(r"Capturing on 'Loopback: lo'", ("err",))
    check(started is not None, "tshark cannot capture on 'lo' (capturing needs root or CAP_NET_RAW; "
                               "this test fails rather than skips)", ts)
    deadline = time.monotonic() + IO_TIMEOUT
    live = False
    while not live and time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, probe), timeout=0.5).close()
        except OSError:
            pass
        live = ts.wait_for(rf"\b{probe}\b", timeout=0.25) is not None
    check(live, "tshark started but captured none of the probe packets on lo", ts)
    p, rc, info = our_client(ctx, srv.port, version, "GET / HTTP/1.0\r\n\r\n", ca="ca.pem",
                             extra=["--keylog", keylog, "--alpn", "http/1.1"])
    srv.finish()
    check(rc == 0 and info and not info.get("error") and "HTTP/1.0 200 ok" in (info.get("received") or ""),
          f"sanstls client exit status {rc}", p)
    closed = ts.wait_for(rf"{srv.port}\D.*FIN[\s\S]*{srv.port}\D.*FIN") is not None
    ts.p.send_signal(signal.SIGINT)  # `timeout` forwards it; tshark writes the file and exits
    ts.wait(IO_TIMEOUT)
    check(closed, "tshark did not see both FINs of the session", ts)
    with open(keylog) as f:
        labels = sorted({line.split(" ")[0] for line in f if line.strip()})
    fields = ["-Y", "http", "-T", "fields", "-e", "http.request.method", "-e", "http.response.code"]
    decode = ["-d", f"tcp.port=={srv.port},tls"]
    rc, plain = run([TSHARK, "-r", cap, *decode, *fields], timeout=30)
    rc2, out = run([TSHARK, "-r", cap, "-o", f"tls.keylog_file:{keylog}", *decode, *fields], timeout=30)
    found = [l.split() for l in out.splitlines() if l.strip() and "Running as user" not in l]
    check(rc2 == 0 and ["GET"] in found and ["200"] in found,
          f"tshark did not decrypt GET and 200 with the key log (exit {rc2}): {out.strip()!r}")
    check("GET" not in plain, "tshark found the plaintext without the key log?")
    return (f"tshark -o tls.keylog_file: request GET, response 200 (none without the key log); "
            f"key log labels {', '.join(labels)}")


FEATURES = [
    ("resumption: openssl s_client -sess_out, then -sess_in -> sanstls server",
     "s_client 'Reused, TLSv1.x'; server log resumed=yes", resume_openssl_client_to_us),
    ("resumption: sanstls client --session-out, then --session-in -> openssl s_server -www",
     "sessionReused true; s_server page 'Reused'", resume_our_client_to_openssl),
    ("external PSK: openssl s_client -psk -psk_identity -> sanstls server --psk (no certificate)",
     "handshake + echo; server log psk=\"ID\"", psk_openssl_client_to_us),
    ("external PSK: sanstls client --psk -> openssl s_server -psk -psk_identity -nocert",
     "pskIdentity, no certificate; s_server page", psk_our_client_to_openssl),
    ("SNI: openssl s_client -servername a.example / x.wild.example / localhost -> sanstls server --sni",
     "each name gets its certificate, verified", sni_openssl_client_to_us),
    ("ALPN: openssl s_client -alpn h2,http/1.1 -> sanstls server --alpn h2",
     "s_client 'ALPN protocol: h2'", alpn_openssl_client_to_us),
    ("ALPN: sanstls client --alpn http/1.1,h2 -> openssl s_server -alpn h2",
     "alpnProtocol h2; no overlap -> ERR_SSL_PEER_ALERT no_application_protocol", alpn_our_client_to_openssl),
    ("key log: tshark capture of sanstls client --keylog -> sanstls server --www, decrypted",
     "tshark finds GET and 200 only with the key log", keylog_tshark),
]


# ---- issue 5 features and mbedTLS 3.6 limits against real peers

EKM_LABEL = "EXPERIMENTAL-sanstls-interop"


def zero_rtt_openssl_client_to_us(ctx, version):
    srv = OurServer(ctx, "echo", exit_after=2, mtls=False, extra=["--early-data", "16384"])
    sess = os.path.join(ctx.tmp, "s_client-0rtt.sess")
    early_text = token("0rtt-early")
    early = os.path.join(ctx.tmp, "s_client-early.txt")
    with open(early, "w") as f:
        f.write(early_text + "\n")
    base = s_client_base(ctx, srv.port, version)
    p1, rc1 = interactive_echo(ctx, "openssl s_client -sess_out", base + ["-sess_out", sess],
                               token("ticket"), version)
    check(rc1 == 0 and os.path.isfile(sess), f"s_client -sess_out exit {rc1}", p1)
    # The early data is echoed like any request start, then the typed line.
    p2, rc2 = interactive_echo(ctx, "openssl s_client -early_data",
                               base + ["-sess_in", sess, "-early_data", early], token("1rtt"), version)
    _, lines = srv.finish()
    check(rc2 == 0, f"s_client -early_data exit status {rc2}", p2, srv.p)
    check("Early data was accepted" in p2.stdout, "s_client does not say 'Early data was accepted'", p2)
    check(early_text in p2.stdout, "the early data was not echoed back", p2)
    n = len(early_text) + 1
    check(len(lines) == 2 and f"early-data=accepted ({n} bytes)" in lines[1] and "resumed=yes" in lines[1],
          f"sanstls server log does not show early-data=accepted ({n} bytes): {lines}", srv.p)
    return f"s_client: 'Early data was accepted', echo of the 0-RTT line; ours: early-data=accepted ({n} bytes)"


def zero_rtt_our_client_to_openssl(ctx, version):
    # s_server reads 0-RTT only in its default (non -www) mode, which reads stdin: keep it open.
    argv = [OPENSSL, "s_server", "-accept", f"{HOST}:0", "-cert", ctx.f("server.pem"), "-cert_chain",
            ctx.f("server.pem"), "-key", ctx.f("server.key"), "-early_data"]
    srv = Proc("openssl s_server -early_data", argv, stdin=True)
    m = srv.wait_for(r"ACCEPT \S+:(\d+)")
    check(m is not None, "openssl s_server did not print ACCEPT", srv)
    port = int(m.group(1))
    sess = os.path.join(ctx.tmp, "ours-0rtt.sess")
    early_text = token("early")
    early = os.path.join(ctx.tmp, "ours-early.txt")
    with open(early, "w") as f:
        f.write(early_text + "\n")
    p1, rc1, info1 = our_client(ctx, port, version, "first\n", extra=["--session-out", sess])
    check_our_client_ok(p1, rc1, info1, version)
    check(os.path.isfile(sess), "the first connection saved no session", p1)
    p2, rc2, info2 = our_client(ctx, port, version, "second\n", extra=["--session-in", sess, "--early-data", early])
    check(rc2 == 0 and info2 is not None and not info2.get("error"), f"0-RTT connection failed (exit {rc2})", p2)
    ed = info2.get("earlyData") or {}
    check(info2.get("sessionReused") is True, f"sessionReused={info2.get('sessionReused')!r}", p2)
    check(ed.get("accepted") is True and ed.get("sent") == len(early_text) + 1, f"earlyData={ed!r}", p2, srv)
    # s_server prints the marker and the data through two differently buffered streams.
    got = srv.wait_for(re.escape(early_text), ("out",), 5)
    marker = srv.wait_for(r"Early data received", ("out",), 5)
    srv.kill()
    check(got is not None and marker is not None, "s_server did not print 'Early data received' and our data", srv)
    return f"earlyData {json.dumps(ed)}; s_server: 'Early data received:' {early_text}"


def exporter_openssl_client_to_us(ctx, version):
    srv = OurServer(ctx, "echo", mtls=False, extra=["--export-keying-material", f"{EKM_LABEL}:32"])
    argv = s_client_base(ctx, srv.port, version) + ["-keymatexport", EKM_LABEL, "-keymatexportlen", "32"]
    p, rc = interactive_echo(ctx, "openssl s_client -keymatexport", argv, token("ekm"), version)
    _, lines = srv.finish()
    check(rc == 0, f"s_client exit status {rc}", p, srv.p)
    m = re.search(r"Keying material: ([0-9A-Fa-f]+)", p.stdout)
    check(m is not None, "s_client printed no 'Keying material:'", p)
    log = check_our_log(lines, version, srv)
    ours = re.search(r"ekm=([0-9a-f]+)", log)
    check(ours is not None, f"sanstls server log has no ekm=: {log!r}", srv.p)
    check(ours.group(1) == m.group(1).lower(), f"keying material differs: ours {ours.group(1)}, s_client {m.group(1)}",
          p, srv.p)
    return f"s_client 'Keying material: {m.group(1)[:16]}...' equals our server's ekm= (32 bytes)"


def record_size_openssl_client_to_us(ctx, version):
    srv = OurServer(ctx, "www", mtls=False, extra=["--max-send-fragment", "1024", "--trace"])
    end = token("end")
    request = "GET /big HTTP/1.0\r\nX-Pad: " + "p" * 9000 + end + "\r\n\r\n"
    p = Proc("openssl s_client", s_client_base(ctx, srv.port, version) + ["-ign_eof"], stdin=True)
    p.write(request)
    got = p.wait_for(re.escape(end)) is not None
    p.close_stdin()
    rc = p.wait(IO_TIMEOUT)
    _, lines = srv.finish()
    check(got, "s_client did not receive the whole --www page", p, srv.p)
    check_our_log(lines, version, srv)
    sizes = [int(n) for n in re.findall(r"^>> record application_data (\d+) bytes", srv.p.stderr, re.M)]
    full = [n for n in sizes if n > 1024]
    check(sizes and max(sizes) <= 1024 + 32 and len(full) >= 9,
          f"our --trace shows application records {sizes}, expected >= 9 of 1025..1056 bytes", srv.p)
    return (f"page of {len(request) + 400}+ bytes received intact by s_client; our --trace: {len(full)} records "
            f"of {min(full)}..{max(full)} bytes (1024 + AEAD expansion), none larger")


def preset_modern_vs_openssl12(ctx, _version):
    srv = OurServer(ctx, "echo", mtls=False, extra=["--preset", "modern"])
    p = Proc("openssl s_client", s_client_base(ctx, srv.port, "1.2"), stdin=True)
    p.close_stdin()
    rc = p.wait(IO_TIMEOUT)
    _, lines = srv.finish()
    check(rc not in (0, None), f"openssl s_client exit status {rc}, expected failure", p)
    log = " ".join(lines)
    check("ERR_SSL_UNSUPPORTED_PROTOCOL" in log and "protocol_version sent" in log,
          f"sanstls server log does not name ERR_SSL_UNSUPPORTED_PROTOCOL with protocol_version sent: {log!r}", srv.p)
    check("alert protocol version" in p.stdout + p.stderr, "s_client did not receive a protocol_version alert", p)
    return f"s_client: alert protocol version; ours: {log.strip()}"


def honor_cipher_order(ctx, version):
    if version == "1.3":
        server_order = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
        peer = ["-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"]
        client_first, server_first = "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_256_GCM_SHA384"
    else:
        server_order = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"
        peer = ["-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384"]
        client_first, server_first = "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES256-GCM-SHA384"
    # Without the flag mbedTLS decides: the client's order in TLS 1.3, the server's in TLS 1.2.
    default = client_first if version == "1.3" else server_first
    seen = []
    for flags, expected in (([], default), (["--honor-cipher-order"], server_first)):
        srv = OurServer(ctx, "echo", version=version, mtls=False, extra=["--ciphers", server_order] + flags)
        p, rc = interactive_echo(ctx, "openssl s_client", s_client_base(ctx, srv.port, version) + peer,
                                 token("order"), version)
        srv.finish()
        m = re.search(r"Cipher is (\S+)", p.stdout)
        check(rc == 0 and m is not None, f"s_client exit {rc}, no cipher line", p, srv.p)
        check(m.group(1) == expected, f"{' '.join(flags) or 'default'}: s_client got {m.group(1)}, expected {expected}",
              p)
        seen.append(m.group(1))
    who = "client" if version == "1.3" else "server (mbedTLS's TLS 1.2 default)"
    return f"default: {who} order wins ({seen[0]}); --honor-cipher-order: ours wins ({seen[1]})"


def limit_ocsp_status(ctx, version):
    srv = OurServer(ctx, "echo", mtls=False)
    p, rc = interactive_echo(ctx, "openssl s_client -status", s_client_base(ctx, srv.port, version) + ["-status"],
                             token("ocsp"), version)
    srv.finish()
    check(rc == 0, f"s_client exit status {rc}", p, srv.p)
    check("OCSP response: no response sent" in p.stdout, "s_client did not say 'OCSP response: no response sent'", p)
    return "handshake + echo; s_client: 'OCSP response: no response sent'"


def limit_unsupported_group_only(ctx, version):
    srv = OurServer(ctx, "echo", mtls=False)
    p = Proc("openssl s_client -groups ffdhe2048", s_client_base(ctx, srv.port, version) + ["-groups", "ffdhe2048"],
             stdin=True)
    p.close_stdin()
    rc = p.wait(IO_TIMEOUT)
    _, lines = srv.finish()
    log = " ".join(lines)
    check(rc not in (0, None), f"s_client exit {rc}, expected failure", p)
    check("alert handshake failure" in p.stdout + p.stderr, "s_client did not receive handshake_failure", p)
    check("handshake_failure sent" in log, f"our log does not show handshake_failure sent: {log!r}", srv.p)
    return f"s_client: alert handshake failure; ours: {log.strip()}"


def limit_unsupported_group_hrr(ctx, version):
    srv = OurServer(ctx, "echo", mtls=False)
    argv = s_client_base(ctx, srv.port, version) + ["-groups", "ffdhe2048:X25519", "-msg"]
    p, rc = interactive_echo(ctx, "openssl s_client -groups ffdhe2048:X25519", argv, token("hrr"), version)
    _, lines = srv.finish()
    hellos = re.findall(r"<<< TLS 1\.3, Handshake \[length [0-9a-f]+\], ServerHello", p.stdout)
    check(rc == 0, f"s_client exit {rc}", p, srv.p)
    check(len(hellos) == 2, f"expected a HelloRetryRequest then a ServerHello, saw {len(hellos)} ServerHello", p)
    check("Server Temp Key: X25519" in p.stdout, "s_client did not end up with X25519", p)
    log = check_our_log(lines, version, srv)
    return f"s_client -msg: HelloRetryRequest, then ServerHello with X25519; ours: {log.strip()}"


def limit_key_update(ctx, version):
    srv = OurServer(ctx, "echo", mtls=False)
    p = Proc("openssl s_client (k: KeyUpdate)", s_client_base(ctx, srv.port, version), stdin=True)
    check(p.wait_for(r"Verify return code") is not None, "s_client did not connect", p)
    p.write("k\n")
    got = p.wait_for(r"alert unexpected message", ("out", "err"))
    p.close_stdin()
    p.wait(IO_TIMEOUT)
    _, lines = srv.finish()
    log = " ".join(lines)
    check("ERR_TLS_KEY_UPDATE_UNSUPPORTED" in log and "unexpected_message sent" in log,
          f"our log does not name ERR_TLS_KEY_UPDATE_UNSUPPORTED (unexpected_message sent): {log!r}", srv.p)
    check(got is not None, "s_client did not receive an unexpected_message alert", p)
    return f"s_client: KEYUPDATE, then alert unexpected message; ours: {log.strip()}"


def renegotiation_openssl_client_to_us(ctx, version):
    srv = OurServer(ctx, "echo", version=version, mtls=False, extra=("--renegotiation",))
    p = Proc("openssl s_client (R: renegotiate)", s_client_base(ctx, srv.port, version), stdin=True)
    check(p.wait_for(r"Verify return code") is not None, "s_client did not connect", p)
    p.write("R\n")
    started = p.wait_for(r"RENEGOTIATING", ("out", "err"))
    tok = token("after-R")
    p.write(tok + "\n")
    echoed = p.wait_for(re.escape(tok)) is not None
    p.close_stdin()
    rc = p.wait(IO_TIMEOUT)
    _, lines = srv.finish()
    log = " ".join(lines)
    check(started is not None, "s_client did not print RENEGOTIATING", p)
    check(echoed, f"the data after the renegotiation ({tok!r}) was not echoed", p, srv.p)
    check(rc == 0, f"openssl s_client exit status {rc}", p, srv.p)
    check("renegotiations=1: closed cleanly" in log, f"our log does not show renegotiations=1: {log!r}", srv.p)
    return f"s_client: RENEGOTIATING, data echoed after it; ours: {log.strip()}"


def renegotiation_refused_openssl_client_to_us(ctx, version):
    srv = OurServer(ctx, "echo", version=version, mtls=False)
    p = Proc("openssl s_client (R: renegotiate)", s_client_base(ctx, srv.port, version), stdin=True)
    check(p.wait_for(r"Verify return code") is not None, "s_client did not connect", p)
    p.write("R\n")
    # Our warning no_renegotiation ends OpenSSL's side: it reports "no
    # renegotiation" and sends a fatal handshake_failure.
    refused = p.wait_for(r"no renegotiation", ("out", "err"))
    p.close_stdin()
    rc = p.wait(IO_TIMEOUT)
    _, lines = srv.finish()
    log = " ".join(lines)
    check(refused is not None, "s_client did not report 'no renegotiation'", p, srv.p)
    check(rc not in (0, None), f"openssl s_client exit status {rc}, expected a failure", p)
    check("ERR_SSL_PEER_ALERT" in log and "handshake_failure" in log,
          f"our log does not show the peer's handshake_failure: {log!r}", srv.p)
    check("renegotiations=" not in log, f"our log mentions renegotiations without the flag: {log!r}", srv.p)
    return f"s_client: RENEGOTIATING, then error 'no renegotiation' (exit {rc}); ours: {log.strip()}"


class CcsDroppingRelay:
    """A loopback relay for one connection that drops the client's
    ChangeCipherSpec records and keeps a copy of both directions.

    OpenSSL 3.0's `s_server -stateless` takes the client's middlebox
    ChangeCipherSpec (RFC 8446 D.4) between the two ClientHellos for a first
    message and fails (OpenSSL's own s_client does too; openssl/openssl#18453),
    although RFC 8446 4.2.2 has a stateless server ignore it. The record
    carries nothing and is in no transcript, so dropping it changes nothing
    else.
    """

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((HOST, 0))
        self.listener.listen(1)
        self.listener.settimeout(IO_TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.from_client = bytearray()  # forwarded, without the dropped records
        self.from_server = bytearray()
        self.dropped = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            down, _ = self.listener.accept()
        except OSError:
            return
        up = socket.create_connection((HOST, self.upstream_port), timeout=IO_TIMEOUT)
        down.settimeout(PROC_TIMEOUT)
        up.settimeout(PROC_TIMEOUT)
        back = threading.Thread(target=self._pump, args=(up, down, self.from_server, False), daemon=True)
        back.start()
        self._pump(down, up, self.from_client, True)
        back.join(IO_TIMEOUT)
        for sock in (down, up):
            sock.close()

    def _pump(self, src, dst, copy, drop_ccs):
        pending = bytearray()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                pending += data
                while len(pending) >= 5:  # whole records only
                    end = 5 + int.from_bytes(pending[3:5], "big")
                    if len(pending) < end:
                        break
                    record = bytes(pending[:end])
                    del pending[:end]
                    if drop_ccs and record[0] == 20:
                        self.dropped += 1
                        continue
                    copy.extend(record)
                    dst.sendall(record)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        self.listener.close()
        self.thread.join(IO_TIMEOUT)


def hello_extension(stream, msg_type, ext_type, nth=0):
    """The body of extension ext_type in the nth hello of msg_type (1
    ClientHello, 2 ServerHello) among the plaintext handshake records of a
    byte stream; None when that hello or extension is absent."""
    at, seen = 0, 0
    while at + 5 <= len(stream):
        length = int.from_bytes(stream[at + 3:at + 5], "big")
        body = stream[at + 5:at + 5 + length]
        at += 5 + length
        if stream[at - 5 - length] != 22 or not body or body[0] != msg_type:
            continue
        if seen < nth:
            seen += 1
            continue
        p = 4 + 2 + 32
        p += 1 + body[p]  # legacy_session_id
        p += 2 + int.from_bytes(body[p:p + 2], "big") if msg_type == 1 else 2  # suites / suite
        p += 1 + body[p] if msg_type == 1 else 1  # compression
        end = p + 2 + int.from_bytes(body[p:p + 2], "big")
        p += 2
        while p + 4 <= end:
            t = int.from_bytes(body[p:p + 2], "big")
            n = int.from_bytes(body[p + 2:p + 4], "big")
            if t == ext_type:
                return bytes(body[p + 4:p + 4 + n])
            p += 4 + n
        return None
    return None


HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")


def cookie_our_client_to_openssl_stateless(ctx, version):
    # -stateless: every TLS 1.3 ClientHello without a cookie gets a
    # HelloRetryRequest with one (only in the default mode, which reads stdin).
    argv = [OPENSSL, "s_server", "-accept", f"{HOST}:0", "-cert", ctx.f("server.pem"), "-cert_chain",
            ctx.f("server.pem"), "-key", ctx.f("server.key"), "-stateless"]
    srv = Proc("openssl s_server -stateless", argv, stdin=True)
    m = srv.wait_for(r"ACCEPT \S+:(\d+)")
    check(m is not None, "openssl s_server did not print ACCEPT", srv)
    relay = CcsDroppingRelay(int(m.group(1)))
    text = token("stateless")
    p, rc, info = our_client(ctx, relay.port, version, text + "\n")
    relay.close()
    ours = check_our_client_ok(p, rc, info, version)
    got = srv.wait_for(re.escape(text), ("out",), 5)
    srv.kill()
    server_bytes, client_bytes = bytes(relay.from_server), bytes(relay.from_client)
    check(len(server_bytes) > 11 + 32 and server_bytes[5] == 2 and server_bytes[11:43] == HRR_RANDOM,
          "s_server's first message is no HelloRetryRequest", srv)
    cookie = hello_extension(server_bytes, 2, 0x002c)
    check(cookie is not None and len(cookie) > 2, "s_server's HelloRetryRequest carries no cookie", srv)
    check(hello_extension(client_bytes, 1, 0x002c, 0) is None, "our first ClientHello carries a cookie", p)
    echoed = hello_extension(client_bytes, 1, 0x002c, 1)
    check(echoed == cookie, "our second ClientHello does not echo the cookie", p)
    check(got is not None, f"s_server did not print our data ({text!r})", srv, p)
    return (f"{ours}; HelloRetryRequest with a {len(cookie) - 2}-byte cookie, echoed; s_server printed our data "
            f"({relay.dropped} ChangeCipherSpec dropped by the relay)")


FEATURES5 = [
    ("HelloRetryRequest cookie: sanstls client -> openssl s_server -stateless (via a relay dropping our "
     "middlebox ChangeCipherSpec, which OpenSSL 3.0's stateless mode refuses)",
     "the cookie is echoed in our second ClientHello; s_server prints our data",
     cookie_our_client_to_openssl_stateless, ("1.3",)),
    ("0-RTT: openssl s_client -sess_in -early_data FILE -> sanstls server --early-data 16384",
     "s_client 'Early data was accepted'; server log early-data=accepted", zero_rtt_openssl_client_to_us, ("1.3",)),
    ("0-RTT: sanstls client --session-in --early-data FILE -> openssl s_server -early_data",
     "earlyData.accepted true; s_server 'Early data received:'", zero_rtt_our_client_to_openssl, ("1.3",)),
    ("exporter: openssl s_client -keymatexport L -keymatexportlen 32 -> sanstls server --export-keying-material L:32",
     "same 32 bytes on both ends", exporter_openssl_client_to_us, VERSIONS),
    ("record sizing: openssl s_client -> sanstls server --www --max-send-fragment 1024 --trace (9 KB page)",
     "our application records <= 1024 + AEAD expansion", record_size_openssl_client_to_us, VERSIONS),
    ("preset: openssl s_client -tls1_2 -> sanstls server --preset modern",
     "protocol_version named on both ends", preset_modern_vs_openssl12, (None,)),
    ("cipher order: openssl s_client -ciphersuites/-cipher (client order) -> sanstls server with/without "
     "--honor-cipher-order", "default: client's first (1.3) / ours (1.2); with the flag: ours", honor_cipher_order, VERSIONS),
    ("limit, OCSP stapling: openssl s_client -status -> sanstls server",
     "'OCSP response: no response sent'; the connection works", limit_ocsp_status, VERSIONS),
    ("limit, groups: openssl s_client -groups ffdhe2048 (only a group we lack) -> sanstls server",
     "handshake_failure on both ends", limit_unsupported_group_only, ("1.3",)),
    ("limit, groups: openssl s_client -groups ffdhe2048:X25519 (key share for the one we lack) -> sanstls server",
     "HelloRetryRequest for X25519, then success", limit_unsupported_group_hrr, ("1.3",)),
    ("limit, KeyUpdate: openssl s_client 'k' command -> sanstls server",
     "ours ERR_TLS_KEY_UPDATE_UNSUPPORTED, peer gets unexpected_message", limit_key_update, ("1.3",)),
    ("renegotiation: openssl s_client -tls1_2 'R' command -> sanstls server --renegotiation --echo",
     "s_client RENEGOTIATING, the next line is echoed; server log renegotiations=1",
     renegotiation_openssl_client_to_us, ("1.2",)),
    ("renegotiation refused: openssl s_client -tls1_2 'R' command -> sanstls server --echo (no --renegotiation)",
     "we send warning no_renegotiation; s_client errors 'no renegotiation' and sends fatal handshake_failure",
     renegotiation_refused_openssl_client_to_us, ("1.2",)),
]


# --------------------------------------------------------------------------
# The matrix

PEERS = [
    # row, server peer (our client ->), client peer (-> our server)
    ("OpenSSL (s_server -www / s_client)", client_vs_openssl, openssl_client_to_us),
    ("GnuTLS (gnutls-serv --echo / gnutls-cli)", client_vs_gnutls, gnutls_client_to_us),
    ("curl (https, --www)", None, curl_to_us),
    ("Python ssl", client_vs_python, python_client_to_us),
    ("Node tls", client_vs_node, node_client_to_us),
]

FAILURES = [
    ("wrong host name: sanstls client --servername wrong.example -> openssl s_server",
     "ERR_TLS_CERT_ALTNAME_INVALID", fail_wrong_name, VERSIONS),
    ("untrusted CA: sanstls client --ca other-ca.pem -> openssl s_server",
     "UNABLE_TO_*", fail_untrusted_ca, VERSIONS),
    ("TLS 1.3-only sanstls client -> TLS 1.2-only openssl s_server (-tls1_2)",
     "ERR_SSL_PEER_ALERT (protocol_version) or ERR_SSL_UNSUPPORTED_PROTOCOL", fail_client13_vs_openssl12, (None,)),
    ("TLS 1.2-only openssl s_client (-tls1_2) -> TLS 1.3-only sanstls server",
     "server log: ERR_SSL_UNSUPPORTED_PROTOCOL; peer: protocol_version alert", fail_openssl12_vs_server13, (None,)),
    ("TLS 1.3-only sanstls client -> TLS 1.2-only gnutls-serv (--priority ...:+VERS-TLS1.2)",
     "ERR_SSL_PEER_ALERT with the alert GnuTLS sends: handshake_failure (it checks suites before versions) "
     "or protocol_version", fail_client13_vs_gnutls12, (None,)),
    ("TLS 1.2-only gnutls-cli (--priority ...:+VERS-TLS1.2) -> TLS 1.3-only sanstls server",
     "server log: ERR_SSL_UNSUPPORTED_PROTOCOL; peer: alert 70 (protocol_version)", fail_gnutls12_vs_server13,
     (None,)),
    ("plain HTTP: curl http:// -> sanstls server --www",
     "curl: HTTP/1.0 400; server log: ERR_SSL_HTTP_REQUEST", fail_plain_http, (None,)),
]


def build_cells():
    cells = []
    for row, server_fn, client_fn in PEERS:
        for direction, fn in (("client", server_fn), ("server", client_fn)):
            for v in VERSIONS:
                name = (f"sanstls client -> {row} TLS {v}" if direction == "client"
                        else f"{row} -> sanstls server TLS {v}")
                cells.append({"kind": "matrix", "row": row, "col": (direction, v), "name": name, "fn": fn, "v": v})
    for label, expect, fn, versions in FAILURES:
        for v in versions:
            name = label + (f" (TLS {v})" if v else "")
            cells.append({"kind": "failure", "row": label, "col": v, "expect": expect, "name": name, "fn": fn, "v": v})
    for label, expect, fn in FEATURES:
        for v in VERSIONS:
            cells.append({"kind": "feature", "row": label, "col": v, "expect": expect,
                          "name": f"{label} (TLS {v})", "fn": fn, "v": v})
    for label, expect, fn, versions in FEATURES5:
        for v in versions:
            name = label + (f" (TLS {v})" if v else "")
            cells.append({"kind": "feature5", "row": label, "col": v, "expect": expect, "name": name, "fn": fn, "v": v})
    return cells


def run_cell(ctx, cell):
    start = time.monotonic()
    if cell["fn"] is None:
        cell.update(status="n/a", detail="no server mode in this peer")
        return
    try:
        detail = cell["fn"](ctx, cell["v"])
        cell.update(status="PASS", detail=detail)
    except CellFail as e:
        cell.update(status="FAIL", detail=str(e))
    except Exception as e:  # a harness bug or a missing peer: still a failed cell
        cell.update(status="FAIL", detail=f"{type(e).__name__}: {e}")
    finally:
        Proc.kill_all()
        cell["secs"] = time.monotonic() - start


def peer_versions():
    def first_line(argv):
        try:
            rc, out = run(argv)
            lines = [l for l in out.strip().splitlines() if not l.startswith("Running as user")]
            return lines[0] if lines else f"(exit {rc})"
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"unavailable ({e})"
    import ssl
    return [
        ("OpenSSL", first_line([OPENSSL, "version"])),
        ("GnuTLS", first_line([GNUTLS_CLI, "--version"])),
        ("curl", first_line([CURL, "--version"])),
        ("Python", f"Python {sys.version.split()[0]}, ssl: {ssl.OPENSSL_VERSION}"),
        ("Node", f"Node {first_line([NODE, '--version'])}, OpenSSL {first_line([NODE, '-p', 'process.versions.openssl'])}"),
        ("tshark", first_line([TSHARK, "--version"])),
    ]


def md_escape(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def write_report(path, cells, versions, sanstls_version, elapsed):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    passed = sum(c["status"] == "PASS" for c in cells)
    failed = sum(c["status"] == "FAIL" for c in cells)
    L = []
    L.append("# Interop matrix")
    L.append("")
    L.append("Generated by `tests/interop/interop_test.py` (CTest `interop`, label `interop`, "
             "which writes `build/interop.md`); refreshed by `scripts/update-interop-report.sh`; "
             "do not edit by hand.")
    L.append("")
    L.append(f"- Date: {now}")
    L.append(f"- sanstls: {sanstls_version}")
    for name, v in versions:
        L.append(f"- {name}: {v}")
    def count(kind):
        sel = [c for c in cells if c["kind"] == kind and c["status"] != "n/a"]
        return f"{sum(c['status'] == 'PASS' for c in sel)}/{len(sel)}"
    L.append(f"- Result: **{passed} passed, {failed} failed** (matrix {count('matrix')}, "
             f"failure cases {count('failure')}, features {count('feature')}, "
             f"issue 5 features and limits {count('feature5')}; {elapsed:.0f} s)")
    L.append("")
    L.append("Every cell: loopback (127.0.0.1), certificates from `sanstls pki`, verification on "
             "in both directions (the peer checks our chain and the name `localhost`; the server "
             "side requires and verifies a client certificate from the same CA), application data "
             "both ways, and the negotiated version checked as reported by each end. "
             "The TLS version is forced on the client side of each cell.")
    L.append("")
    L.append("## Matrix")
    L.append("")
    L.append("| Peer | sanstls client → peer, TLS 1.3 | sanstls client → peer, TLS 1.2 "
             "| peer → sanstls server, TLS 1.3 | peer → sanstls server, TLS 1.2 |")
    L.append("|---|---|---|---|---|")
    for row, _, _ in PEERS:
        cols = []
        for col in (("client", "1.3"), ("client", "1.2"), ("server", "1.3"), ("server", "1.2")):
            c = next(c for c in cells if c["kind"] == "matrix" and c["row"] == row and c["col"] == col)
            if c["status"] == "n/a":
                cols.append("— (no server mode)")
            elif c["status"] == "PASS":
                cols.append("PASS")
            else:
                cols.append("**FAIL**")
        L.append(f"| {md_escape(row)} | " + " | ".join(cols) + " |")
    L.append("")
    L.append("## Failure cases")
    L.append("")
    L.append("| Case | Expected | Result | Observed |")
    L.append("|---|---|---|---|")
    for c in cells:
        if c["kind"] != "failure":
            continue
        res = "PASS" if c["status"] == "PASS" else "**FAIL**"
        L.append(f"| {md_escape(c['name'])} | {md_escape(c['expect'])} | {res} | {md_escape(c['detail'])} |")
    L.append("")
    L.append("## Features (issue 4)")
    L.append("")
    L.append("Resumption, external PSKs, SNI contexts, ALPN and key logging against real peers. "
             "See docs/features.md for the API and flag behind each.")
    L.append("")
    L.append("| Case | Expected | Result | Observed |")
    L.append("|---|---|---|---|")
    for c in cells:
        if c["kind"] != "feature":
            continue
        res = "PASS" if c["status"] == "PASS" else "**FAIL**"
        L.append(f"| {md_escape(c['name'])} | {md_escape(c['expect'])} | {res} | {md_escape(c['detail'])} |")
    L.append("")
    L.append("## Features and mbedTLS limits (issue 5)")
    L.append("")
    L.append("0-RTT, exporters, record sizing, presets and cipher order against real peers, and what "
             "a peer sees of the mbedTLS 3.6 limits. See docs/features.md and docs/limitations.md.")
    L.append("")
    L.append("| Case | Expected | Result | Observed |")
    L.append("|---|---|---|---|")
    for c in cells:
        if c["kind"] != "feature5":
            continue
        res = "PASS" if c["status"] == "PASS" else "**FAIL**"
        L.append(f"| {md_escape(c['name'])} | {md_escape(c['expect'])} | {res} | {md_escape(c['detail'])} |")
    L.append("")
    L.append("## Cell details")
    L.append("")
    for c in cells:
        if c["kind"] == "matrix" and c["status"] != "n/a":
            L.append(f"- {c['status']}: {md_escape(c['name'])}: {md_escape(c['detail'])}")
    L.append("")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(L))
    os.replace(tmp, path)


def main():
    global VERBOSE
    # The peers and our client honour https_proxy & co. (curl's rules): the
    # tests talk to 127.0.0.1 directly, whatever the caller's environment says.
    for variable in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy",
                     "ALL_PROXY", "no_proxy", "NO_PROXY"):
        os.environ.pop(variable, None)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sanstls", required=True, help="path of the sanstls CLI")
    ap.add_argument("--report", help="write the Markdown matrix here")
    ap.add_argument("--only", help="run only cells whose name matches this regex")
    ap.add_argument("--verbose", "-v", action="store_true")
    args = ap.parse_args()
    VERBOSE = args.verbose
    sanstls = os.path.abspath(args.sanstls)

    def on_signal(signum, _frame):
        Proc.kill_all()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sanstls-interop-") as tmp:
        pki = os.path.join(tmp, "pki")
        try:
            rc, out = run([sanstls, "pki", "--out", pki], timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            rc, out = -1, str(e)
        needed = ["ca.pem", "server.pem", "server.key", "client.pem", "client.key", "other-ca.pem"]
        missing = [n for n in needed if not os.path.isfile(os.path.join(pki, n))]
        if rc != 0 or missing:
            print(f"FAIL sanstls pki --out {pki}: exit {rc}, missing {missing}: {out.strip()}")
            print("0 passed, 1 failed")
            return 2
        try:
            vrc, vout = run([sanstls, "--version"])
            sanstls_version = vout.strip().splitlines()[0] if vrc == 0 and vout.strip() else sanstls
        except (OSError, subprocess.TimeoutExpired):
            sanstls_version = sanstls
        ctx = Ctx(sanstls, pki, tmp)
        cells = build_cells()
        if args.only:
            rx = re.compile(args.only)
            cells = [c for c in cells if rx.search(c["name"])]
        try:
            for cell in cells:
                run_cell(ctx, cell)
                if cell["status"] == "n/a":
                    continue
                print(f"{cell['status']} {cell['name']} ({cell['secs']:.1f} s): {cell['detail']}", flush=True)
        finally:
            Proc.kill_all()
    elapsed = time.monotonic() - t0
    passed = sum(c["status"] == "PASS" for c in cells)
    failed = sum(c["status"] == "FAIL" for c in cells)
    if args.report and not args.only:
        write_report(args.report, cells, peer_versions(), sanstls_version, elapsed)
        print(f"report: {args.report}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
