#!/usr/bin/python3
"""testssl.sh against `sanstls server --www` (CTest label `conformance`).

An outside check: Debian's testssl.sh (3.0.8) scans two servers on 127.0.0.1
(ephemeral ports), one with the RSA and one with the ECDSA P-256 test
certificate of `sanstls pki`, both scans at once. The selection (-p -P -f -S
-U -E) covers protocols, cipher suites per protocol and their order, forward
secrecy, server defaults (tickets, resumption, OCSP, certificate) and every
vulnerability check of -U. The JSON findings must hold the verdicts in
EXPECTED and nothing testssl calls MEDIUM or worse (bar the test PKI's
certificate findings in ACCEPTED, see docs/conformance.md "testssl.sh"); no
scan problem, timeout or "not a TLS server". Every server must still be up and
serving afterwards and log no internal error.

    /usr/bin/python3 tests/conformance/testssl_test.py --sanstls build/bin/sanstls --out build/testssl

Exit 77 (a skip) when testssl.sh is missing; with SANSTLS_REQUIRE_PEERS=1 that
is a failure. Everything it writes goes under --out.
"""
import argparse
import json
import os
import queue
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

OPENSSL = "/usr/bin/openssl"
SCAN_TIMEOUT = 240  # seconds for one testssl.sh run (about 55 s on 2 cores)
SELECTION = ["-p", "-P", "-f", "-S", "-U", "-E"]

# Certificate kinds: `sanstls pki` file names, and the TLS 1.2 suites the
# default policy must offer with that certificate (cipher-tls1_2_x... ids).
KINDS = {
    "rsa": {"cert": "server-rsa.pem", "key": "server-rsa.key", "ca": "ca-rsa.pem",
            "tls12": {"xc02f", "xc030", "xcca8"}},
    "ecdsa": {"cert": "server.pem", "key": "server.key", "ca": "ca.pem",
              "tls12": {"xc02b", "xc02c", "xcca9"}},
}
TLS13_SUITES = {"x1301", "x1302", "x1303"}

# id -> the start its finding must have (testssl 3.0.8 wording).
EXPECTED = {
    "SSLv2": "not offered",
    "SSLv3": "not offered",
    "TLS1": "not offered",
    "TLS1_1": "not offered",
    "TLS1_2": "offered",
    "TLS1_3": "offered with final",
    "PFS": "offered",
    "cipher_order": "server -- TLS 1.3 client determined",
    "protocol_negotiated": "Default protocol TLS1.3",
    "OCSP_stapling": "not offered",
    "cert_trust": "Ok via SAN",
    "cert_chain_of_trust": "passed",
    "heartbleed": "not vulnerable",
    "CCS": "not vulnerable",
    "ticketbleed": "not vulnerable",
    "ROBOT": "not vulnerable",
    "secure_renego": "supported",
    "secure_client_renego": "not vulnerable",
    "CRIME_TLS": "not vulnerable",
    "BREACH": "not vulnerable",
    "POODLE_SSL": "not vulnerable",
    "fallback_SCSV": "no protocol below TLS 1.2 offered",
    "SWEET32": "not vulnerable",
    "FREAK": "not vulnerable",
    "DROWN": "not vulnerable",
    "LOGJAM": "not vulnerable",
    "BEAST": "not vulnerable",
    "LUCKY13": "not vulnerable",
    "RC4": "not vulnerable",
}
# Findings that must be present whatever their text.
PRESENT = ["cipherorder_TLSv1_2", "TLS_extensions", "TLS_session_ticket", "PFS_ECDHE_curves",
           "cert_keySize", "cert_signatureAlgorithm", "scanTime"]
# MEDIUM or worse that is a property of the throwaway test PKI, not of the
# server: it is valid 2020-2099 and names no CRL or OCSP responder.
# engine_problem: testssl's note that the local openssl has no engine (GOST)
# support, about the prober's tools, not the server (seen since Debian's
# openssl 3.0 update of 2026-12).
ACCEPTED = {"cert_validityPeriod", "cert_revocation", "engine_problem"}
BAD_SEVERITIES = {"MEDIUM", "HIGH", "CRITICAL", "WARN", "FATAL"}
# testssl 3.0.8 checks resumption with `openssl s_client </dev/null -sess_out`,
# which may close right after its Finished, before any server's TLS 1.3
# NewSessionTicket arrives (OpenSSL's s_server loses the same race); the second
# s_client then has no session to offer and testssl says "connect problem".
# check_resumption() below checks resumption itself, without that race.
RACY = {("sessionresumption_ticket", "check failed because of connect problem"),
        ("sessionresumption_ID", "check failed because of connect problem")}
# Words testssl uses when a probe went wrong rather than reaching a verdict.
TROUBLE = re.compile(r"timed out|timeout|doesn't seem to be a TLS|not a TLS|Oops|strange|"
                     r"TCP connect problem|couldn't|could not|problem|hang|VULNERABLE", re.I)
TROUBLE_OK = re.compile(r"not vulnerable", re.I)
# Server log: a connection ending with one of these is our failure, not the prober's.
SERVER_FAULT = re.compile(r"ERR_INTERNAL|ERR_OUT_OF_MEMORY|ERR_BAD_STATE|ERR_BUG|internal error", re.I)


class Server:
    """`sanstls server --www` on 127.0.0.1 port 0; stdout lines on a queue."""

    def __init__(self, sanstls, pki, kind, log_path):
        spec = KINDS[kind]
        command = [sanstls, "server", "--www", "--host", "127.0.0.1", "--port", "0",
                   "--workers", "1", "--cert", os.path.join(pki, spec["cert"]),
                   "--key", os.path.join(pki, spec["key"])]
        self.log_path = log_path
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()
        first = self.next_line(20)
        match = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)", first or "")
        if not match:
            self.stop()
            raise RuntimeError("%s server did not start: %r" % (kind, first))
        self.port = int(match.group(1))

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is not None:
            self.seen.append(line)
        return line

    def stop(self):
        """SIGTERM, then the rest of its output (bounded); returns its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.next_line(1) is not None:
            pass
        with open(self.log_path, "w") as log:
            log.write("\n".join(self.seen) + "\n")
        return status


def serves_https(port, ca_file):
    """One TLS 1.3 request through Python's ssl: the server still answers."""
    context = ssl.create_default_context(cafile=ca_file)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            reply = b""
            while len(reply) < 12:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                reply += chunk
    return reply.startswith(b"HTTP/1.")


def resumed(port, ca_file, version, no_ticket, session_path):
    """Two `openssl s_client` connections, the second offering the first's
    session; each sends a request and reads the page, so the ticket is read.
    Returns True (Reused), False (New) or the problem as text."""
    common = [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port, version, "-ign_eof",
              "-CAfile", ca_file, "-servername", "localhost"] + (["-no_ticket"] if no_ticket else [])
    request = "GET / HTTP/1.0\r\n\r\n"
    if os.path.exists(session_path):
        os.unlink(session_path)
    try:
        first = subprocess.run(common + ["-sess_out", session_path], input=request, text=True,
                               capture_output=True, timeout=30)
        if first.returncode != 0 or not os.path.getsize(session_path):
            return "first connection: exit %d, no session saved" % first.returncode
        second = subprocess.run(common + ["-sess_in", session_path], input=request, text=True,
                                capture_output=True, timeout=30)
    except (subprocess.TimeoutExpired, OSError) as error:
        return str(error)
    if re.search(r"^Reused,", second.stdout, re.M):
        return True
    if re.search(r"^New,", second.stdout, re.M):
        return False
    return "second connection: exit %d: %s" % (second.returncode, second.stderr[-300:])


def check_resumption(kind, port, ca_file, out):
    """Tickets resume in TLS 1.3 and 1.2; TLS 1.2 session IDs do not without
    --session-cache (the default keeps no cache)."""
    failures = []
    session_path = os.path.join(out, kind + ".session")
    for version, no_ticket, expected, what in (
            ("-tls1_3", False, True, "TLS 1.3 resumption by ticket"),
            ("-tls1_2", False, True, "TLS 1.2 resumption by ticket"),
            ("-tls1_2", True, False, "TLS 1.2 resumption by session ID (no --session-cache)")):
        got = resumed(port, ca_file, version, no_ticket, session_path)
        print("  %s: %s" % (what, {True: "resumed", False: "full handshake"}.get(got, got)))
        if got is not expected:
            failures.append("%s: %s: expected %s, got %s" %
                            (kind, what, "resumed" if expected else "a full handshake", got))
    return failures


def scan(testssl, port, ca_file, json_path, text_path, result):
    command = [testssl, "--quiet", "--warnings", "off", "--color", "0", "--nodns", "none",
               "--openssl", OPENSSL, "--add-ca", ca_file, "--connect-timeout", "10",
               "--openssl-timeout", "10", "--jsonfile", json_path] + SELECTION + \
              ["127.0.0.1:%d" % port]
    started = time.monotonic()
    with open(text_path, "w") as text:
        try:
            proc = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=text,
                                  stderr=subprocess.STDOUT, timeout=SCAN_TIMEOUT,
                                  cwd=os.path.dirname(json_path))
            result["status"] = proc.returncode
        except subprocess.TimeoutExpired:
            result["status"] = "timed out after %d s" % SCAN_TIMEOUT
    result["seconds"] = time.monotonic() - started


def check_findings(kind, findings):
    """Returns the list of failures for one scan's JSON findings."""
    failures = []
    by_id = {}
    for item in findings:
        by_id.setdefault(item.get("id", ""), []).append(item)

    def fail(item_id, why, finding=None):
        text = finding if finding is not None else "(missing)"
        failures.append("%s: %s: %s [%s]" % (kind, item_id, why, text))

    for item_id, start in EXPECTED.items():
        items = by_id.get(item_id)
        if not items:
            fail(item_id, "no finding; expected %r" % start)
            continue
        for item in items:
            if not item["finding"].startswith(start):
                fail(item_id, "expected %r" % start, item["finding"])
    for item_id in PRESENT:
        if item_id not in by_id:
            fail(item_id, "no finding")
    for item in findings:
        item_id, severity, finding = item.get("id", ""), item.get("severity", ""), item.get("finding", "")
        if (item_id, finding) in RACY:
            print("  note: %s: %s (s_client race, see RACY)" % (kind, item_id))
        elif item_id == "scanProblem" or (severity in BAD_SEVERITIES and item_id not in ACCEPTED):
            fail(item_id, "severity " + severity, finding)
        elif TROUBLE.search(finding) and not TROUBLE_OK.search(finding) and item_id != "cert":
            fail(item_id, "a probe went wrong", finding)

    offered = {}
    for item_id in by_id:
        match = re.fullmatch(r"cipher-(\w+?)_(x[0-9a-f]+)", item_id)
        if match:
            offered.setdefault(match.group(1), set()).add(match.group(2))
    expected_suites = {"tls1_2": KINDS[kind]["tls12"], "tls1_3": TLS13_SUITES}
    if offered != expected_suites:
        failures.append("%s: cipher suites per protocol: got %s, expected %s" %
                        (kind, sorted((p, sorted(s)) for p, s in offered.items()),
                         sorted((p, sorted(s)) for p, s in expected_suites.items())))
    return failures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sanstls", required=True)
    parser.add_argument("--out", required=True, help="directory for the PKI, JSON and logs")
    parser.add_argument("--testssl", default=None)
    args = parser.parse_args()
    testssl = shutil.which(args.testssl or "testssl") or shutil.which("testssl.sh")
    if not testssl or not os.access(OPENSSL, os.X_OK):
        print("testssl.sh (Debian package testssl.sh) or %s not installed" % OPENSSL)
        print("0 passed, 0 failed, 1 skipped")
        return 1 if os.environ.get("SANSTLS_REQUIRE_PEERS") == "1" else 77

    sanstls = os.path.abspath(args.sanstls)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    pki = os.path.join(out, "pki")
    made = subprocess.run([sanstls, "pki", "--out", pki], capture_output=True, text=True,
                          timeout=60)
    if made.returncode != 0:
        print("sanstls pki failed:", made.stdout, made.stderr)
        return 1

    servers, results, threads = {}, {}, []
    failures = []
    try:
        for kind in KINDS:
            servers[kind] = Server(sanstls, pki, kind, os.path.join(out, kind + "-server.log"))
        for kind, server in servers.items():
            json_path = os.path.join(out, kind + ".json")
            if os.path.exists(json_path):
                os.unlink(json_path)  # testssl refuses to overwrite
            results[kind] = {"json": json_path}
            thread = threading.Thread(target=scan, args=(
                testssl, server.port, os.path.join(pki, KINDS[kind]["ca"]), json_path,
                os.path.join(out, kind + ".txt"), results[kind]))
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        for kind, server in servers.items():
            failures.extend(check_resumption(kind, server.port,
                                             os.path.join(pki, KINDS[kind]["ca"]), out))
            try:
                if not serves_https(server.port, os.path.join(pki, KINDS[kind]["ca"])):
                    failures.append("%s: the server no longer answers HTTPS after the scan" % kind)
            except OSError as error:
                failures.append("%s: the server no longer answers HTTPS after the scan: %s" %
                                (kind, error))
    finally:
        statuses = {kind: server.stop() for kind, server in servers.items()}

    checks = 0
    for kind in KINDS:
        result = results.get(kind, {})
        print("%s: testssl.sh %s in %.0f s (exit %s)" %
              (kind, " ".join(SELECTION), result.get("seconds", 0), result.get("status")))
        if not isinstance(result.get("status"), int):
            failures.append("%s: testssl.sh %s" % (kind, result.get("status")))
            continue
        try:
            with open(result["json"]) as handle:
                findings = json.load(handle)
        except (OSError, ValueError) as error:
            failures.append("%s: no JSON findings from testssl.sh: %s (see %s)" %
                            (kind, error, os.path.join(out, kind + ".txt")))
            continue
        checks += len(findings)
        failures.extend(check_findings(kind, findings))
        for item in findings:
            if item["id"] in EXPECTED or item["id"].startswith("cipherorder"):
                print("  %-24s %-8s %s" % (item["id"], item["severity"], item["finding"][:90]))
        if statuses.get(kind) != 0:
            failures.append("%s: the server exited with status %s on SIGTERM" %
                            (kind, statuses.get(kind)))
        faults = [line for line in servers[kind].seen if SERVER_FAULT.search(line)]
        connections = sum(1 for line in servers[kind].seen if line.startswith("conn "))
        print("  server: %d connections logged" % connections)
        for line in faults:
            failures.append("%s: server log: %s" % (kind, line))

    for failure in failures:
        print("FAIL", failure)
    print("%d passed, %d failed" % (max(checks - len(failures), 0), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
