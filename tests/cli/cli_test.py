#!/usr/bin/python3
"""End-to-end tests of the `sanstls` command-line tool (client, server, demo, pki).

Standard library only. Every subprocess has a timeout; servers listen on
127.0.0.1 port 0 with --exit-after, and the tests read the port from the
server's first line (`listening on HOST:PORT`) instead of sleeping.

    /usr/bin/python3 tests/cli/cli_test.py --sanstls build/bin/sanstls [unittest args]
"""
import argparse
import base64
import hashlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

SANSTLS = None   # path of the binary, from --sanstls
PKI = None       # directory written by `sanstls pki`
TMP = None       # scratch directory for this run

TIMEOUT = 30     # seconds, for any one subprocess
HTTP_GET = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"


def pki(name):
    return os.path.join(PKI, name)


def run(args, timeout=TIMEOUT, stdin=subprocess.DEVNULL, input_text=None):
    """Runs sanstls with `args`; returns the CompletedProcess (text mode)."""
    return subprocess.run([SANSTLS] + list(args), stdin=None if input_text is not None else stdin,
                          input=input_text, capture_output=True, text=True, timeout=timeout)


class Server:
    """A `sanstls server` on 127.0.0.1, port 0, stopping after `exit_after` connections."""

    def __init__(self, *args, exit_after=1, cert="server.pem", key="server.key"):
        command = [SANSTLS, "server", "--host", "127.0.0.1", "--port", "0",
                   "--exit-after", str(exit_after)]
        if cert:
            command += ["--cert", pki(cert), "--key", pki(key)]
        self.proc = subprocess.Popen(command + list(args), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.seen = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        first = self.next_line(timeout=15)
        match = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)", first or "")
        if not match:
            self.kill()
            raise AssertionError("server did not start: %r; stderr: %s" % (first, self.proc.stderr.read()))
        self.port = int(match.group(1))
        self.address = "127.0.0.1:%d" % self.port

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next_line(self, timeout=TIMEOUT):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is not None:
            self.seen.append(line)
        return line

    def finish(self, timeout=TIMEOUT):
        """Waits for the server to exit; returns (exit status, all stdout lines)."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("server did not exit; output so far: %s" % self.seen)
        while self.next_line(timeout=5) is not None:
            pass
        return self.proc.returncode, self.seen

    def conn_lines(self):
        return [line for line in self.seen if line.startswith("conn ")]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        self.proc.stdout.close()
        self.proc.stderr.close()


def client(address, *args, send=HTTP_GET, ca="ca.pem", json_output=True, timeout=TIMEOUT,
           input_text=None, servername="localhost"):
    """Runs `sanstls client`; returns (CompletedProcess, parsed JSON or None)."""
    command = ["client", address, "--servername", servername, "--timeout", "10"]
    if ca:
        command += ["--ca", pki(ca)]
    if send is not None:
        command += ["--send", send]
    if json_output:
        command += ["--json"]
    result = run(command + list(args), timeout=timeout, input_text=input_text)
    report = None
    if json_output:
        lines = result.stdout.splitlines()
        assert len(lines) == 1, "expected exactly one JSON line, got %r (stderr %r)" % (
            result.stdout, result.stderr)
        report = json.loads(lines[0])
    return result, report


class CliTestCase(unittest.TestCase):
    def assertConnected(self, result, report):
        self.assertEqual(result.returncode, 0, "stderr: %s" % result.stderr)
        self.assertIsNone(report["error"], report)

    def assertFailed(self, result, report, stage=None, codes=None, alert=None):
        self.assertEqual(result.returncode, 1, "stdout %s stderr %s" % (result.stdout, result.stderr))
        error = report["error"]
        self.assertIsNotNone(error, report)
        if stage:
            self.assertEqual(error["stage"], stage, error)
        if codes:
            self.assertIn(error["code"], codes, error)
        if alert:
            self.assertEqual(error["alert"], alert, error)
        self.assertIn("sanstls: error [%s] %s" % (error["stage"], error["code"]), result.stderr)


class VersionTests(CliTestCase):
    def test_client_forces_each_version(self):
        with Server(exit_after=2) as server:
            result, report = client(server.address, "--max-version", "1.2")
            self.assertConnected(result, report)
            self.assertEqual(report["protocol"], "TLSv1.2")
            self.assertTrue(report["cipher"]["standardName"].startswith("TLS_ECDHE_ECDSA_WITH_"))
            self.assertTrue(report["cipher"]["name"].startswith("ECDHE-ECDSA-"))
            self.assertEqual(report["group"], "X25519")
            self.assertTrue(report["authorized"])
            result, report = client(server.address, "--min-version", "TLSv1.3", "--groups", "P-256")
            self.assertConnected(result, report)
            self.assertEqual(report["protocol"], "TLSv1.3")
            self.assertTrue(report["cipher"]["standardName"].startswith("TLS_AES_")
                            or report["cipher"]["standardName"].startswith("TLS_CHACHA20_"))
            self.assertEqual(report["group"], "P-256")
            status, _ = server.finish()
            self.assertEqual(status, 0)
            self.assertIn(" TLSv1.2 ", server.conn_lines()[0])
            self.assertIn(" TLSv1.3 ", server.conn_lines()[1])

    def test_server_forces_each_version(self):
        for version, expected in (("1.2", "TLSv1.2"), ("1.3", "TLSv1.3")):
            with Server("--min-version", version, "--max-version", version) as server:
                result, report = client(server.address, "--ciphers",
                                        "TLS_CHACHA20_POLY1305_SHA256,ECDHE-ECDSA-CHACHA20-POLY1305")
                self.assertConnected(result, report)
                self.assertEqual(report["protocol"], expected)
                self.assertIn("CHACHA20", report["cipher"]["standardName"])
                server.finish()

    def test_tls12_client_against_tls13_server(self):
        with Server("--min-version", "1.3") as server:
            result, report = client(server.address, "--max-version", "1.2")
            self.assertFailed(result, report, stage="handshake",
                              codes=("ERR_SSL_PEER_ALERT", "ERR_SSL_UNSUPPORTED_PROTOCOL"),
                              alert="protocol_version")
            server.finish()
            self.assertIn("handshake failed", server.conn_lines()[0])
            self.assertIn("protocol_version", server.conn_lines()[0])

    def test_rsa_and_ecdsa_identities_side_by_side(self):
        with Server("--cert", pki("server-rsa.pem"), "--key", pki("server-rsa.key"), exit_after=2) as server:
            result, report = client(server.address, "--max-version", "1.2", "--ciphers",
                                    "ECDHE-RSA-AES128-GCM-SHA256", ca="ca-rsa.pem")
            self.assertConnected(result, report)
            self.assertEqual(report["cipher"]["name"], "ECDHE-RSA-AES128-GCM-SHA256")
            self.assertEqual(report["peerCertificate"]["issuer"], "CN=sanstls test RSA root CA, O=sanstls test")
            result, report = client(server.address, "--max-version", "1.2", "--ciphers",
                                    "ECDHE-ECDSA-AES256-GCM-SHA384")
            self.assertConnected(result, report)
            self.assertEqual(report["cipher"]["standardName"], "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")
            server.finish()


class JsonAndVerificationTests(CliTestCase):
    KEYS = {"protocol", "cipher", "group", "alpnProtocol", "servername", "authorized",
            "authorizationError", "sessionReused", "ticketReceived", "peerCertificate",
            "peerCertificateChain", "bytesReceived", "received", "error"}
    CERT_KEYS = {"subject", "issuer", "valid_from", "valid_to", "subjectaltname",
                 "fingerprint256", "serialNumber"}

    def test_json_keys_and_certificate(self):
        with Server("--www") as server:
            result, report = client(server.address)
            self.assertConnected(result, report)
            self.assertLessEqual(self.KEYS, set(report))
            self.assertEqual(set(report["cipher"]), {"name", "standardName"})
            self.assertIs(report["alpnProtocol"], False)
            self.assertEqual(report["servername"], "localhost")
            self.assertIs(report["authorized"], True)
            self.assertIsNone(report["authorizationError"])
            self.assertIs(report["sessionReused"], False)
            leaf = report["peerCertificate"]
            self.assertEqual(set(leaf), self.CERT_KEYS)
            self.assertEqual(leaf["subject"], "CN=localhost, O=sanstls test")
            self.assertIn("DNS:localhost", leaf["subjectaltname"])
            self.assertRegex(leaf["fingerprint256"], r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")
            chain = report["peerCertificateChain"]
            self.assertEqual(len(chain), 2)
            self.assertEqual(chain[0], leaf)
            self.assertEqual(chain[1]["subject"], "CN=sanstls test intermediate CA, O=sanstls test")
            self.assertEqual(report["bytesReceived"], len(report["received"].encode()))
            self.assertTrue(report["received"].startswith("HTTP/1.0 200 ok\r\n"))
            server.finish()

    def test_wrong_servername(self):
        with Server() as server:
            result, report = client(server.address, servername="wrong.example")
            self.assertFailed(result, report, stage="certificate", codes=("ERR_TLS_CERT_ALTNAME_INVALID",),
                              alert="bad_certificate")
            self.assertEqual(report["error"]["alertDirection"], "sent")
            self.assertIn("(alert bad_certificate sent)", result.stderr)
            server.finish()

    def test_untrusted_ca(self):
        with Server(cert="other.pem", key="other.key") as server:
            result, report = client(server.address)
            self.assertFailed(result, report, stage="certificate",
                              codes=("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"))
            server.finish()

    def test_expired_certificate(self):
        with Server(cert="expired.pem", key="expired.key") as server:
            result, report = client(server.address)
            self.assertFailed(result, report, stage="certificate", codes=("CERT_HAS_EXPIRED",))
            server.finish()

    def test_crl_revokes_server_certificate(self):
        with Server(cert="revoked.pem", key="revoked.key", exit_after=2) as server:
            result, report = client(server.address, "--crl", pki("revoked.crl"))
            self.assertFailed(result, report, stage="certificate", codes=("CERT_REVOKED",),
                              alert="certificate_revoked")
            self.assertEqual(report["error"]["alertDirection"], "sent")
            result, report = client(server.address)
            self.assertConnected(result, report)
            server.finish()
        # The CRL lists only revoked.pem: the usual server is still trusted with it.
        with Server() as server:
            result, report = client(server.address, "--crl", pki("revoked.crl"))
            self.assertConnected(result, report)
            server.finish()

    def test_crl_usage_errors(self):
        result = run(["server", "--cert", pki("server.pem"), "--key", pki("server.key"),
                      "--crl", pki("revoked.crl")])
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("--crl is only used with --ca", result.stderr)
        result, _ = client("127.0.0.1:1", "--crl", pki("ca.pem"), json_output=False)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("ERR_TLS_CRL_PARSE_FAILED", result.stderr)

    def test_insecure_reports_but_connects(self):
        with Server("--echo", cert="other.pem", key="other.key") as server:
            result, report = client(server.address, "--insecure", send="ping")
            self.assertConnected(result, report)
            self.assertIs(report["authorized"], False)
            self.assertIn(report["authorizationError"],
                          ("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY"))
            self.assertIn("WARNING", result.stderr)
            self.assertIn("NOT verified", result.stderr)
            self.assertEqual(report["received"], "ping")
            server.finish()

    def test_connection_refused_ipv6_literal(self):
        # Nothing listens on port 1; the [::1]:PORT form parses and fails at the connect stage.
        result = run(["client", "[::1]:1", "--json", "--timeout", "5"])
        self.assertEqual(result.returncode, 1, result.stderr)
        report = json.loads(result.stdout)
        self.assertEqual(report["error"]["stage"], "connect")
        self.assertIn(report["error"]["code"], ("ECONNREFUSED", "ENETUNREACH", "ERR_TRANSPORT"))


class ModeTests(CliTestCase):
    def test_www_page(self):
        with Server("--www", "--alpn", "http/1.1") as server:
            result, report = client(server.address, "--alpn", "http/1.1")
            self.assertConnected(result, report)
            page = report["received"]
            self.assertTrue(page.startswith("HTTP/1.0 200 ok\r\n"), page)
            self.assertIn("Content-Type: text/plain", page)
            for needle in ("Protocol:           TLSv1.3", "Cipher:             TLS_AES_",
                           "Group:              X25519", "SNI:                localhost",
                           "ALPN:               http/1.1", "Resumed:            no",
                           "Client certificate: none", "GET / HTTP/1.0"):
                self.assertIn(needle, page)
            server.finish()
            self.assertIn("closed cleanly", server.conn_lines()[0])

    def test_echo_send(self):
        with Server("--echo") as server:
            result, report = client(server.address, send="hello, echo")
            self.assertConnected(result, report)
            self.assertEqual(report["received"], "hello, echo")
            self.assertEqual(report["bytesReceived"], 11)
            server.finish()
            self.assertRegex(server.conn_lines()[0],
                             r"^conn 1 from 127\.0\.0\.1:\d+: TLSv1\.3 .* closed cleanly, 11 bytes in, 11 bytes out$")

    def test_json_received_is_capped(self):
        with Server("--echo") as server:
            data = "0123456789" * 7000
            result, report = client(server.address, send=data)
            self.assertConnected(result, report)
            self.assertEqual(report["bytesReceived"], 70000)
            self.assertEqual(report["received"], data[:65536])
            server.finish()

    def test_json_escapes_received_bytes(self):
        with Server("--echo") as server:
            # Quotes, a backslash, a control byte, UTF-8, and a byte that is not UTF-8.
            payload = b'say "hi" \\ \x01 caf\xc3\xa9 \xff'
            result, report = client(server.address, send=payload)
            self.assertConnected(result, report)
            self.assertEqual(report["received"], 'say "hi" \\ \x01 caf\u00e9 \ufffd')
            self.assertEqual(report["bytesReceived"], len(payload))
            server.finish()

    def test_echo_relays_stdin_to_stdout(self):
        with Server("--echo", exit_after=2) as server:
            text = "first line\nsecond line\n"
            result, _ = client(server.address, send=None, json_output=False, input_text=text)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout, text)
            self.assertIn("protocol:     TLSv1.3", result.stderr)
            self.assertIn("verification: OK", result.stderr)
            # TLS 1.2 as well, with stdin read to its end before the echo returns.
            result, _ = client(server.address, "--max-version", "1.2", send=None, json_output=False,
                               input_text=text * 1000)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout, text * 1000)
            server.finish()

    def test_relay_pauses_while_stdout_is_full(self):
        # 4 MiB through the echo while nobody reads the client's stdout for a
        # moment: the client stops reading the connection (the server's
        # writes back up, then the client's stdin), and nothing is lost.
        data = os.urandom(4 * 1024 * 1024)
        with Server("--echo") as server:
            proc = subprocess.Popen([SANSTLS, "client", server.address, "--servername", "localhost",
                                     "--ca", pki("ca.pem"), "--timeout", "20"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            writer = threading.Thread(target=lambda: (proc.stdin.write(data), proc.stdin.close()), daemon=True)
            writer.start()
            stalled = threading.Event()
            stalled.wait(1.0)  # nobody reads stdout meanwhile
            received = proc.stdout.read()
            writer.join(TIMEOUT)
            errors = proc.stderr.read()
            self.assertEqual(proc.wait(TIMEOUT), 0, errors)
            proc.stdout.close()
            proc.stderr.close()
            self.assertEqual(hashlib.sha256(received).hexdigest(), hashlib.sha256(data).hexdigest())
            server.finish()

    def test_plain_http_gets_400(self):
        with Server("--www") as server:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
                raw.sendall(b"GET / HTTP/1.0\r\n\r\n")
                reply = b""
                while True:
                    chunk = raw.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
            text = reply.decode()
            self.assertTrue(text.startswith("HTTP/1.0 400 Bad Request\r\n"), text)
            self.assertIn("speaks TLS directly", text)
            server.finish()
            self.assertIn("ERR_SSL_HTTP_REQUEST", server.conn_lines()[0])

    def test_handshake_timeout(self):
        with Server("--handshake-timeout", "1") as server:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10):
                line = server.next_line(timeout=15)  # the socket stays idle meanwhile
            self.assertIsNotNone(line)
            self.assertIn("handshake failed [handshake] ERR_TLS_HANDSHAKE_TIMEOUT", line)
            status, lines = server.finish()
            self.assertEqual(status, 0)
            self.assertEqual(lines[-1], "stats: accepted=1 secure=0 failed=1 (ERR_TLS_HANDSHAKE_TIMEOUT=1)")


class FeatureTests(CliTestCase):
    def test_alpn(self):
        with Server("--alpn", "h2,http/1.1", "--echo", exit_after=3) as server:
            _, report = client(server.address, "--alpn", "h2,http/1.1", send="x")
            self.assertEqual(report["alpnProtocol"], "h2")
            _, report = client(server.address, "--alpn", "http/1.1", send="x")
            self.assertEqual(report["alpnProtocol"], "http/1.1")
            result, report = client(server.address, "--alpn", "spdy/3", send="x")
            self.assertFailed(result, report, stage="handshake", alert="no_application_protocol")
            server.finish()
            self.assertIn("alpn=h2", server.conn_lines()[0])
            self.assertIn("alpn=http/1.1", server.conn_lines()[1])
            self.assertIn("ERR_SSL_NO_APPLICATION_PROTOCOL", server.conn_lines()[2])

    def test_require_client_certificate(self):
        for version in ("1.2", "1.3"):
            with Server("--ca", pki("ca.pem"), "--require-cert", "--www", "--max-version", version,
                        exit_after=2) as server:
                result, report = client(server.address)
                # TLS 1.3 completes the client's handshake first; the server's alert comes after it.
                # certificate_required is TLS 1.3's alert; TLS 1.2 has handshake_failure (RFC 5246 7.4.6).
                self.assertFailed(result, report, stage="record" if version == "1.3" else "handshake",
                                  codes=("ERR_SSL_PEER_ALERT",),
                                  alert="certificate_required" if version == "1.3" else "handshake_failure")
                self.assertEqual(report["error"]["alertDirection"], "received")
                result, report = client(server.address, "--cert", pki("client.pem"), "--key", pki("client.key"))
                self.assertConnected(result, report)
                self.assertIn("Client certificate: CN=client.example, O=sanstls test (verified)",
                              report["received"])
                server.finish()
                self.assertIn("handshake failed [certificate]", server.conn_lines()[0])
                self.assertIn('client-cert="CN=client.example, O=sanstls test" (verified)', server.conn_lines()[1])

    def test_request_client_certificate_is_optional(self):
        with Server("--ca", pki("ca.pem"), "--request-cert", "--www") as server:
            result, report = client(server.address)
            self.assertConnected(result, report)
            self.assertIn("Client certificate: none", report["received"])
            server.finish()

    def test_session_resumption(self):
        for version in ("1.2", "1.3"):
            session = os.path.join(TMP, "session-%s.bin" % version)
            with Server("--www", "--max-version", version, exit_after=2) as server:
                result, report = client(server.address, "--session-out", session)
                self.assertConnected(result, report)
                self.assertIs(report["sessionReused"], False)
                self.assertTrue(os.path.getsize(session) > 0)
                result, report = client(server.address, "--session-in", session)
                self.assertConnected(result, report)
                self.assertIs(report["sessionReused"], True, "TLS %s" % version)
                self.assertEqual(report["protocol"], "TLSv" + version)
                server.finish()
                self.assertIn("resumed=no", server.conn_lines()[0])
                self.assertIn("resumed=yes", server.conn_lines()[1])

    def test_insecure_session_does_not_resume_when_verifying(self):
        """A session saved by an --insecure run to an impostor never lets it in later (issue 10)."""
        for version in ("1.2", "1.3"):
            session = os.path.join(TMP, "insecure-session-%s.bin" % version)
            # The refused session is refused before any connection is opened,
            # so the server sees two connections.
            with Server("--echo", "--max-version", version, cert="other.pem", key="other.key",
                        exit_after=2) as server:
                result, report = client(server.address, "--insecure", "--session-out", session, send="x")
                self.assertConnected(result, report)
                self.assertIs(report["authorized"], False)
                result, report = client(server.address, "--session-in", session, send="x")
                self.assertFailed(result, report, stage="certificate", codes=("ERR_TLS_SESSION_NOT_TRUSTED",))
                self.assertIn("UNABLE_TO", report["error"]["message"])
                result, report = client(server.address, "--insecure", "--session-in", session, send="x")
                self.assertConnected(result, report)
                self.assertIs(report["sessionReused"], True, "TLS %s" % version)
                self.assertIs(report["authorized"], False)
                server.finish()
                # Only the last connection, made with --insecure again, resumed.
                self.assertEqual(["resumed=yes" in line for line in server.conn_lines()], [False, True])

    def test_keylog(self):
        for version, label in (("1.2", "CLIENT_RANDOM "), ("1.3", "CLIENT_TRAFFIC_SECRET_0 ")):
            client_log = os.path.join(TMP, "client-%s.keylog" % version)
            server_log = os.path.join(TMP, "server-%s.keylog" % version)
            with Server("--keylog", server_log, "--www") as server:
                result, report = client(server.address, "--max-version", version, "--keylog", client_log)
                self.assertConnected(result, report)
                server.finish()
            with open(client_log) as f:
                client_lines = f.read().splitlines()
            with open(server_log) as f:
                server_lines = f.read().splitlines()
            self.assertTrue(any(line.startswith(label) for line in client_lines), client_lines)
            self.assertTrue(all(re.fullmatch(r"[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+", line)
                                for line in client_lines), client_lines)
            self.assertEqual(sorted(client_lines), sorted(server_lines))
            self.assertEqual(os.stat(client_log).st_mode & 0o777, 0o600)

    def test_stats_and_sigterm(self):
        with Server("--www", exit_after=100) as server:
            client(server.address)                                   # secure
            client(server.address, servername="nope.example")   # refused by the client
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
                raw.sendall(HTTP_GET.encode())
                while raw.recv(4096):
                    pass
            self.assertEqual(server.next_line().split(":")[0], "conn 1 from 127.0.0.1")
            self.assertIsNotNone(server.next_line())
            self.assertIsNotNone(server.next_line())
            server.proc.send_signal(signal.SIGTERM)
            status, lines = server.finish()
            self.assertEqual(status, 0)
            self.assertEqual(lines[-1], "stats: accepted=3 secure=1 failed=2 "
                                        "(ERR_SSL_HTTP_REQUEST=1, ERR_SSL_PEER_ALERT=1)")


def extra_pki(name):
    """A separate test PKI (its own CAs) whose server certificate names `name` first."""
    directory = os.path.join(TMP, "pki-" + name.replace("*", "star"))
    if not os.path.isdir(directory):
        made = run(["pki", "--out", directory, "--name", name], timeout=60)
        assert made.returncode == 0, made.stderr
    return directory


def spki_pin(cert_path):
    """curl-style "sha256/BASE64" pin of the leaf's SubjectPublicKeyInfo (openssl CLI)."""
    pubkey = subprocess.run(["openssl", "x509", "-in", cert_path, "-pubkey", "-noout"],
                            capture_output=True, check=True, timeout=TIMEOUT).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pubkey,
                         capture_output=True, check=True, timeout=TIMEOUT).stdout
    return "sha256/" + base64.b64encode(hashlib.sha256(der).digest()).decode()


PSK_KEY = "00112233445566778899aabbccddeeff"


class SniTests(CliTestCase):
    def sni_flags(self):
        a, wild = extra_pki("a.example"), extra_pki("*.wild.example")
        return ["--sni", "a.example:%s:%s" % (os.path.join(a, "server.pem"), os.path.join(a, "server.key")),
                "--sni", "*.wild.example:%s:%s" % (os.path.join(wild, "server.pem"),
                                                    os.path.join(wild, "server.key"))], a, wild

    def test_sni_map_exact_wildcard_default(self):
        flags, a, wild = self.sni_flags()
        with Server("--echo", "--alpn", "h2", *flags, exit_after=5) as server:
            cases = [("a.example", os.path.join(a, "ca.pem"), "CN=a.example, O=sanstls test"),
                     ("x.wild.example", os.path.join(wild, "ca.pem"), "CN=*.wild.example, O=sanstls test"),
                     ("localhost", pki("ca.pem"), "CN=localhost, O=sanstls test"),
                     ("unknown.example", pki("ca.pem"), "CN=localhost, O=sanstls test")]
            for name, ca, subject in cases:
                insecure = ["--insecure"] if name == "unknown.example" else []
                result, report = client(server.address, "--ca", ca, "--alpn", "h2", *insecure, ca=None,
                                        send="x", servername=name)
                self.assertConnected(result, report)
                self.assertEqual(report["peerCertificate"]["subject"], subject, name)
                self.assertEqual(report["servername"], name)
                # The context shares the main flags (here --alpn).
                self.assertEqual(report["alpnProtocol"], "h2", name)
            # One label only: a.b.wild.example is not covered by *.wild.example.
            result, report = client(server.address, "--insecure", send="x", servername="a.b.wild.example")
            self.assertConnected(result, report)
            self.assertEqual(report["peerCertificate"]["subject"], "CN=localhost, O=sanstls test")
            server.finish()
            self.assertIn("sni=a.example", server.conn_lines()[0])
            self.assertIn("sni=x.wild.example", server.conn_lines()[1])

    def test_strict_sni(self):
        flags, a, _ = self.sni_flags()
        with Server("--echo", "--strict-sni", *flags, exit_after=3) as server:
            result, report = client(server.address, "--ca", os.path.join(a, "ca.pem"), ca=None, send="x",
                                    servername="a.example")
            self.assertConnected(result, report)
            result, report = client(server.address, send="x", servername="unknown.example")
            self.assertFailed(result, report, stage="handshake", codes=("ERR_SSL_PEER_ALERT",),
                              alert="unrecognized_name")
            # No SNI at all (an IP literal is never sent): the default certificate.
            result, report = client(server.address, send="x", servername="127.0.0.1")
            self.assertConnected(result, report)
            server.finish()
            self.assertIn("sni=- ", server.conn_lines()[2])
            self.assertIn("ERR_SSL_UNRECOGNIZED_NAME", server.conn_lines()[1])
            self.assertIn("unrecognized_name sent", server.conn_lines()[1])


class ResumptionTests(CliTestCase):
    def test_tickets_zero_means_no_ticket(self):
        for version in ("1.3", "1.2"):
            with Server("--echo", "--tickets", "0", "--max-version", version, exit_after=2) as server:
                session = os.path.join(TMP, "no-ticket-%s.bin" % version)
                result, report = client(server.address, "--session-out", session, send="x")
                self.assertConnected(result, report)
                self.assertIs(report["ticketReceived"], False, version)
                # TLS 1.2 still saves the session (by ID); no store, so it does not resume.
                if version == "1.3":
                    self.assertIn("no session saved", result.stderr)
                    self.assertFalse(os.path.exists(session))
                    client(server.address, send="x")
                else:
                    result, report = client(server.address, "--session-in", session, send="x")
                    self.assertConnected(result, report)
                    self.assertIs(report["sessionReused"], False)
                server.finish()
        with Server("--echo", "--tickets", "2") as server:
            result, report = client(server.address, send="x")
            self.assertIs(report["ticketReceived"], True)
            server.finish()

    def test_session_cache_tls12_without_tickets(self):
        session = os.path.join(TMP, "by-id.bin")
        for cache, reused in ((["--session-cache", "8"], True), ([], False)):
            with Server("--echo", "--max-version", "1.2", *cache, exit_after=2) as server:
                result, report = client(server.address, "--no-tickets", "--session-out", session, send="x")
                self.assertConnected(result, report)
                self.assertIs(report["ticketReceived"], False)
                result, report = client(server.address, "--no-tickets", "--session-in", session, send="x")
                self.assertConnected(result, report)
                self.assertIs(report["sessionReused"], reused, cache)
                server.finish()
                self.assertIn("resumed=%s" % ("yes" if reused else "no"), server.conn_lines()[1])

    def test_shared_ticket_keys_file(self):
        for version in ("1.3", "1.2"):
            keys = os.path.join(TMP, "ticket-keys-%s.bin" % version)
            session = os.path.join(TMP, "server-a-%s.bin" % version)
            with Server("--echo", "--ticket-keys", keys) as server_a:
                result, report = client(server_a.address, "--max-version", version, "--session-out", session,
                                        send="x")
                self.assertConnected(result, report)
                self.assertIs(report["ticketReceived"], True)
                server_a.finish()
            self.assertEqual(os.path.getsize(keys), 48)
            self.assertEqual(os.stat(keys).st_mode & 0o777, 0o600)
            self.assertEqual(os.stat(session).st_mode & 0o777, 0o600)
            with Server("--echo", "--ticket-keys", keys) as server_b:
                result, report = client(server_b.address, "--max-version", version, "--session-in", session,
                                        send="x")
                self.assertConnected(result, report)
                self.assertIs(report["sessionReused"], True, "server B resumes A's session, TLS %s" % version)
                server_b.finish()
                self.assertIn("resumed=yes", server_b.conn_lines()[0])
            # Rotation with overlap: a new current key, A's key kept as the previous one.
            rotated = os.path.join(TMP, "rotated-keys-%s.bin" % version)
            with open(keys, "rb") as f, open(rotated, "wb") as out:
                out.write(os.urandom(48) + f.read())
            with Server("--echo", "--ticket-keys", rotated) as server_d:
                result, report = client(server_d.address, "--max-version", version, "--session-in", session,
                                        send="x")
                self.assertIs(report["sessionReused"], True, "previous key still opens, TLS %s" % version)
                server_d.finish()
            with Server("--echo") as server_c:  # other keys: a full handshake
                result, report = client(server_c.address, "--max-version", version, "--session-in", session,
                                        send="x")
                self.assertConnected(result, report)
                self.assertIs(report["sessionReused"], False)
                server_c.finish()

    def test_bad_ticket_keys_file(self):
        keys = os.path.join(TMP, "short-keys.bin")
        with open(keys, "wb") as f:
            f.write(b"\x01" * 47)
        result = run(["server", "--port", "0", "--cert", pki("server.pem"), "--key", pki("server.key"),
                      "--ticket-keys", keys])
        self.assertEqual(result.returncode, 1)
        self.assertIn("expected 48 or 96 bytes, got 47", result.stderr)


class PskAndPinTests(CliTestCase):
    def test_psk_both_versions(self):
        for version in ("1.3", "1.2"):
            with Server("--echo", "--psk", "device-17:" + PSK_KEY, "--psk", "other:abcd",
                        "--max-version", version, cert=None, exit_after=2) as server:
                result, report = client(server.address, "--psk", "device-17:" + PSK_KEY, ca=None, send="psk",
                                        servername="127.0.0.1")
                self.assertConnected(result, report)
                self.assertEqual(report["protocol"], "TLSv" + version)
                self.assertEqual(report["pskIdentity"], "device-17")
                self.assertEqual(report["peerCertificateChain"], [])
                self.assertEqual(report["received"], "psk")
                if version == "1.2":
                    self.assertIn("PSK", report["cipher"]["standardName"])
                result, report = client(server.address, "--psk", "device-17:" + PSK_KEY[:-2] + "00", ca=None,
                                        send="psk", servername="127.0.0.1")
                self.assertFailed(result, report, stage="handshake")
                server.finish()
                self.assertIn('psk="device-17"', server.conn_lines()[0])
                self.assertIn("handshake failed", server.conn_lines()[1])

    def test_psk_ke_mode_has_no_group(self):
        with Server("--echo", "--psk", "id:" + PSK_KEY, "--psk-mode", "ke", cert=None) as server:
            result, report = client(server.address, "--psk", "id:" + PSK_KEY, "--psk-mode", "ke", ca=None,
                                    send="x", servername="127.0.0.1")
            self.assertConnected(result, report)
            self.assertEqual(report["protocol"], "TLSv1.3")
            self.assertIsNone(report["group"])
            server.finish()

    def test_unknown_psk_identity_tls12(self):
        with Server("--echo", "--psk", "id:" + PSK_KEY, "--max-version", "1.2", cert=None) as server:
            result, report = client(server.address, "--psk", "stranger:" + PSK_KEY, ca=None, send="x",
                                    servername="127.0.0.1")
            self.assertFailed(result, report, stage="handshake", alert="unknown_psk_identity")
            server.finish()
            self.assertIn("ERR_SSL_PSK_IDENTITY_NOT_FOUND", server.conn_lines()[0])

    def test_pin_good_and_bad(self):
        good, bad = spki_pin(pki("server.pem")), spki_pin(pki("other.pem"))
        with Server("--echo", exit_after=3) as server:
            result, report = client(server.address, "--pin", good, send="x")
            self.assertConnected(result, report)
            self.assertIs(report["authorized"], True)
            result, report = client(server.address, "--pin", bad, "--pin", good, send="x")
            self.assertConnected(result, report)  # any pin matches
            result, report = client(server.address, "--pin", bad, send="x")
            self.assertFailed(result, report, stage="certificate", codes=("ERR_TLS_PUBLIC_KEY_PIN_MISMATCH",),
                              alert="bad_certificate")
            server.finish()

    def test_pin_is_enforced_with_insecure(self):
        """curl -k --pinnedpubkey: a pin is a demand even when verification is off (issue 10)."""
        bad = spki_pin(pki("other.pem"))
        with Server("--echo", exit_after=1) as server:
            result, report = client(server.address, "--insecure", "--pin", bad, send="x")
            self.assertFailed(result, report, stage="certificate", codes=("ERR_TLS_PUBLIC_KEY_PIN_MISMATCH",),
                              alert="bad_certificate")
            server.finish()


def records(trace, direction, content_type="application_data"):
    """Lengths of the records a --trace output shows in one direction (">>" sent, "<<" received)."""
    rx = re.compile(r"^%s record %s (\d+) bytes" % (re.escape(direction), content_type), re.M)
    return [int(n) for n in rx.findall(trace)]


class Issue5Tests(CliTestCase):
    """0-RTT, presets, cipher order, signature algorithms, record sizing, timers, tracing, exporters."""

    def server_stderr(self, server):
        server.finish()
        return server.proc.stderr.read()

    def test_early_data_accepted_then_refused_on_replay(self):
        session = os.path.join(TMP, "early.session")
        early = os.path.join(TMP, "early.txt")
        request = "GET /idempotent HTTP/1.0\r\n\r\n"
        with open(early, "w") as f:
            f.write(request)
        with Server("--echo", "--early-data", "16384", exit_after=3) as server:
            result, report = client(server.address, "--session-out", session, send="ticket please")
            self.assertConnected(result, report)
            self.assertEqual(report["earlyData"], {"sent": 0, "accepted": False})
            # The saved ticket allows 0-RTT: sent before the handshake completes, accepted.
            result, report = client(server.address, "--session-in", session, "--early-data", early, send="")
            self.assertConnected(result, report)
            self.assertIs(report["sessionReused"], True)
            self.assertEqual(report["earlyData"], {"sent": len(request), "accepted": True})
            self.assertEqual(report["received"], request)
            # The same ticket again: 0-RTT is single-use, so it is refused, and the
            # request is resent after the handshake: the echo still has it.
            result, report = client(server.address, "--session-in", session, "--early-data", early, send="+1rtt")
            self.assertConnected(result, report)
            self.assertIs(report["sessionReused"], True)
            self.assertEqual(report["earlyData"], {"sent": len(request), "accepted": False})
            self.assertEqual(report["received"], request + "+1rtt")
            server.finish()
            lines = server.conn_lines()
            self.assertIn("early-data=none", lines[0])
            self.assertIn("resumed=yes", lines[1])
            self.assertIn("early-data=accepted (%d bytes)" % len(request), lines[1])
            self.assertIn("%d bytes in" % len(request), lines[1])
            self.assertIn("resumed=yes", lines[2])
            self.assertIn("early-data=none", lines[2])
        # Human output says what happened.
        with Server("--echo", "--early-data", "16384", exit_after=1) as server:
            result, _ = client(server.address, "--session-in", session, "--early-data", early, send="",
                               json_output=False)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("sanstls: early data: %d bytes sent as 0-RTT, refused" % len(request), result.stderr)
            server.finish()

    def test_early_data_replay_refused_after_sighup_reload(self):
        """A reload keeps the 0-RTT replay store: a used ticket stays used (issue 10)."""
        session = os.path.join(TMP, "early-reload.session")
        early = os.path.join(TMP, "early-reload.txt")
        with open(early, "w") as f:
            f.write("GET /once HTTP/1.0\r\n\r\n")
        with Server("--echo", "--early-data", "16384", exit_after=3) as server:
            self.assertConnected(*client(server.address, "--session-out", session, send="ticket please"))
            result, report = client(server.address, "--session-in", session, "--early-data", early, send="")
            self.assertConnected(result, report)
            self.assertIs(report["earlyData"]["accepted"], True)
            server.proc.send_signal(signal.SIGHUP)
            line = None
            while line is None or not line.startswith("reload"):
                line = server.next_line()
                self.assertIsNotNone(line, "no reload line")
            self.assertTrue(line.startswith("reloaded"), line)
            result, report = client(server.address, "--session-in", session, "--early-data", early, send="")
            self.assertConnected(result, report)
            self.assertIs(report["sessionReused"], True)
            self.assertIs(report["earlyData"]["accepted"], False)
            server.finish()

    def test_early_data_with_www_is_the_request(self):
        session = os.path.join(TMP, "early-www.session")
        early = os.path.join(TMP, "early-www.txt")
        with open(early, "w") as f:
            f.write("GET /zero-rtt HTTP/1.0\r\n")  # the rest of the head comes as 1-RTT
        with Server("--www", "--early-data", "1024", exit_after=2) as server:
            self.assertConnected(*client(server.address, "--session-out", session))
            result, report = client(server.address, "--session-in", session, "--early-data", early,
                                    send="Host: localhost\r\n\r\n")
            self.assertConnected(result, report)
            self.assertIs(report["earlyData"]["accepted"], True)
            self.assertIn("GET /zero-rtt HTTP/1.0\r\nHost: localhost\r\n\r\n", report["received"])
            server.finish()
            self.assertIn("early-data=accepted (24 bytes)", server.conn_lines()[1])

    def test_presets(self):
        with Server("--preset", "modern", exit_after=2) as server:
            result, report = client(server.address, "--max-version", "1.2")
            self.assertFailed(result, report, stage="handshake", alert="protocol_version")
            result, report = client(server.address, "--preset", "modern")
            self.assertConnected(result, report)
            self.assertEqual(report["protocol"], "TLSv1.3")
            server.finish()
            self.assertIn("ERR_SSL_UNSUPPORTED_PROTOCOL", server.conn_lines()[0])
            self.assertIn("protocol_version sent", server.conn_lines()[0])
        with Server("--preset", "intermediate") as server:
            result, report = client(server.address, "--preset", "intermediate", "--max-version", "1.2")
            self.assertConnected(result, report)
            self.assertEqual(report["protocol"], "TLSv1.2")
            self.assertTrue(report["cipher"]["name"].startswith("ECDHE-ECDSA-"), report["cipher"])
            server.finish()

    def test_honor_cipher_order(self):
        client_order = ("TLS_CHACHA20_POLY1305_SHA256,TLS_AES_256_GCM_SHA384,"
                        "ECDHE-ECDSA-CHACHA20-POLY1305,ECDHE-ECDSA-AES256-GCM-SHA384")
        server_order = ("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:"
                        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305")
        # Without the flag mbedTLS decides: the client's order in TLS 1.3, ours in TLS 1.2.
        for version, default_winner in (("1.3", "CHACHA20"), ("1.2", "AES_256_GCM")):
            for flags, winner in (((), default_winner), (("--honor-cipher-order",), "AES_256_GCM")):
                with Server("--ciphers", server_order, *flags) as server:
                    result, report = client(server.address, "--max-version", version, "--min-version", version,
                                            "--ciphers", client_order)
                    self.assertConnected(result, report)
                    self.assertIn(winner, report["cipher"]["standardName"], (version, flags))
                    server.finish()

    def test_sigalgs(self):
        with Server("--echo", exit_after=2, cert="server-rsa.pem", key="server-rsa.key") as server:
            result, report = client(server.address, "--sigalgs", "ECDSA+SHA256", ca="ca-rsa.pem", send="x")
            self.assertFailed(result, report, stage="handshake")
            result, report = client(server.address, "--sigalgs", "rsa_pss_rsae_sha256", ca="ca-rsa.pem", send="x")
            self.assertConnected(result, report)
            server.finish()
        with Server("--echo", "--sigalgs", "ECDSA+SHA256,ECDSA+SHA384") as server:
            self.assertConnected(*client(server.address, send="x"))
            server.finish()

    def test_max_send_fragment_in_trace(self):
        data = "z" * 10000
        overhead = 32  # AEAD tag, explicit nonce (1.2) or content type and padding to 16 (1.3)
        for version in ("1.3", "1.2"):
            with Server("--echo", "--max-send-fragment", "1024", "--trace", exit_after=2) as server:
                # The server echoes 16 KiB records in records of at most 1024 bytes...
                result, report = client(server.address, "--max-version", version, "--trace", send=data)
                self.assertConnected(result, report)
                self.assertEqual(report["received"], data)
                sent = records(result.stderr, ">>")
                received = records(result.stderr, "<<")
                # ...and our client sends in records of at most 512 with --max-send-fragment 512.
                result, report = client(server.address, "--max-version", version, "--max-send-fragment", "512",
                                        "--trace", send=data)
                self.assertConnected(result, report)
                self.assertEqual(report["received"], data)
                small = records(result.stderr, ">>")
                server_sent = records(self.server_stderr(server), ">>")
            self.assertGreater(max(sent), 9000, (version, sent))  # one full record without the flag
            self.assertLessEqual(max(received), 1024 + overhead, (version, received))
            self.assertGreaterEqual(sum(1 for n in received if n > 1024), 9, (version, received))
            self.assertLessEqual(max(server_sent), 1024 + overhead, version)
            self.assertLessEqual(max(small), 512 + overhead, (version, small))
            self.assertGreaterEqual(sum(1 for n in small if n > 512), 19, (version, small))
        result = run(["server", "--cert", pki("server.pem"), "--key", pki("server.key"), "--port", "0",
                      "--max-send-fragment", "100"])
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("[config] ERR_INVALID_ARG_VALUE", result.stderr)

    def test_trace_lines(self):
        with Server("--echo", "--max-version", "1.2", "--trace") as server:
            result, report = client(server.address, "--trace", send="traced")
            self.assertConnected(result, report)
            server_trace = self.server_stderr(server)
        for line in (">> record handshake ", ">> handshake ClientHello ", "<< handshake ServerHello ",
                     "<< handshake Certificate ", "<< handshake ServerHelloDone ", ">> handshake ClientKeyExchange ",
                     "<< record change_cipher_spec 1 bytes", ">> record application_data 30 bytes (encrypted)"):
            self.assertIn(line, result.stderr)
        self.assertRegex(result.stderr, r"(?m)^<< record handshake \d+ bytes$")
        self.assertRegex(server_trace, r"(?m)^<< handshake ClientHello \d+$")
        self.assertRegex(server_trace, r"(?m)^<< record application_data 30 bytes \(encrypted\)$")
        # A refused handshake: the alert, both ends.
        with Server("--max-version", "1.2", "--groups", "P-384", "--trace") as server:
            result, report = client(server.address, "--groups", "X25519", "--trace")
            self.assertFailed(result, report, stage="handshake", alert="handshake_failure")
            server_trace = self.server_stderr(server)
        self.assertIn(">> alert fatal handshake_failure", server_trace)
        self.assertIn("<< alert fatal handshake_failure", result.stderr)

    def test_exporter_values_agree(self):
        for version in ("1.3", "1.2"):
            with Server("--echo", "--export-keying-material", "EXPERIMENTAL-sanstls:32", exit_after=2) as server:
                result, report = client(server.address, "--max-version", version,
                                        "--export-keying-material", "EXPERIMENTAL-sanstls:32", send="x")
                self.assertConnected(result, report)
                ours = report["exportedKeyingMaterial"]
                self.assertRegex(ours, r"^[0-9a-f]{64}$")
                result, other = client(server.address, "--max-version", version,
                                       "--export-keying-material", "EXPERIMENTAL-other:32", send="x")
                self.assertConnected(result, other)
                server.finish()
                lines = server.conn_lines()
                self.assertIn("ekm=" + ours, lines[0], version)
                # Another label (and another connection): other keying material.
                self.assertNotIn("ekm=" + other["exportedKeyingMaterial"], lines[0])
                self.assertNotEqual(other["exportedKeyingMaterial"], ours)
        result, report = client("127.0.0.1:1", send="x")
        self.assertIsNone(report["exportedKeyingMaterial"])
        self.assertIsNone(report["earlyData"])

    def test_handshake_timeout_is_the_engine_timer(self):
        import time
        with Server("--handshake-timeout", "0.6") as server:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10):
                start = time.monotonic()
                line = server.next_line(timeout=15)
                elapsed = time.monotonic() - start
            self.assertIsNotNone(line)
            # The engine's message (ConfigBuilder::handshake_timeout through
            # next_deadline_ms/on_timer), not the adapter's 2 s-later backstop.
            self.assertIn("ERR_TLS_HANDSHAKE_TIMEOUT: the TLS handshake did not complete within 600 ms", line)
            self.assertLess(elapsed, 2.0)
            server.finish()


def leaf_fingerprint(cert_path):
    """SHA-256 of the first certificate in a PEM file, lower-case hex without colons."""
    import ssl
    with open(cert_path) as f:
        pem = f.read()
    first = pem[:pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest()


def fingerprint_of(report):
    return report["peerCertificate"]["fingerprint256"].replace(":", "").lower()


class RenegotiationAndReloadTests(CliTestCase):
    """TLS 1.2 renegotiation (--renegotiation / --renegotiate) and SIGHUP reload."""

    def test_renegotiation_accepted(self):
        with Server("--renegotiation") as server:
            result, report = client(server.address, "--max-version", "1.2", "--renegotiate",
                                    send="before renegotiation")
            self.assertConnected(result, report)
            self.assertIs(report["renegotiated"], True, report)
            self.assertEqual(report["received"], "before renegotiation")
            _, lines = server.finish()
        conn = [line for line in lines if line.startswith("conn ")]
        self.assertEqual(len(conn), 1, lines)
        self.assertIn(" renegotiations=1: closed cleanly", conn[0])

    def test_renegotiation_refused_by_default(self):
        with Server() as server:
            result, report = client(server.address, "--max-version", "1.2", "--renegotiate", send="x")
            self.assertFailed(result, report, stage="record", codes=["ERR_SSL_NO_RENEGOTIATION"],
                              alert="no_renegotiation")
            self.assertIs(report["renegotiated"], False, report)
            _, lines = server.finish()
        conn = [line for line in lines if line.startswith("conn ")]
        self.assertEqual(len(conn), 1, lines)
        self.assertNotIn("renegotiations=", conn[0])

    def test_renegotiate_is_tls12_only(self):
        with Server("--renegotiation") as server:
            result, report = client(server.address, "--renegotiate", send="x")
            self.assertConnected(result, report)
            self.assertEqual(report["protocol"], "TLSv1.3")
            self.assertIs(report["renegotiated"], False, report)
            self.assertIn("TLS 1.3 has no renegotiation", result.stderr)
            server.finish()

    def next_matching(self, server, prefix, timeout=10):
        import time
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = server.next_line(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                break
            if line.startswith(prefix):
                return line
        self.fail("no %r line within %s s; output: %s" % (prefix, timeout, server.seen))

    def test_sighup_reload(self):
        import shutil
        a = os.path.join(TMP, "reload-a")
        b = os.path.join(TMP, "reload-b")
        live = os.path.join(TMP, "reload-live")
        for directory in (a, b):
            made = run(["pki", "--out", directory], timeout=60)
            self.assertEqual(made.returncode, 0, made.stderr)
        os.makedirs(live, exist_ok=True)
        cert, key = os.path.join(live, "server.pem"), os.path.join(live, "server.key")
        for name in ("server.pem", "server.key"):
            shutil.copy(os.path.join(a, name), os.path.join(live, name))
        with Server(exit_after=4, cert=cert, key=key) as server:
            result, report = client(server.address, ca=os.path.join(a, "ca.pem"), send="one")
            self.assertConnected(result, report)
            self.assertEqual(fingerprint_of(report), leaf_fingerprint(os.path.join(a, "server.pem")))
            self.next_matching(server, "conn 1 ")

            # The files change under the running server; SIGHUP makes it re-read them.
            for name in ("server.pem", "server.key"):
                shutil.copy(os.path.join(b, name), os.path.join(live, name))
            server.proc.send_signal(signal.SIGHUP)
            self.assertEqual(self.next_matching(server, "reload"), "reloaded: 1 identity")
            result, report = client(server.address, ca=os.path.join(b, "ca.pem"), send="two")
            self.assertConnected(result, report)
            self.assertEqual(fingerprint_of(report), leaf_fingerprint(os.path.join(b, "server.pem")))
            # A says nothing about B's certificate now.
            result, report = client(server.address, ca=os.path.join(a, "ca.pem"), send="three")
            self.assertFailed(result, report)

            # Broken files: the error is named, the previous Config stays in service.
            with open(cert, "w") as f:
                f.write("garbage\n")
            server.proc.send_signal(signal.SIGHUP)
            line = self.next_matching(server, "reload")
            self.assertTrue(line.startswith("reload failed: [config] ERR_TLS_CERT_PARSE_FAILED"), line)
            result, report = client(server.address, ca=os.path.join(b, "ca.pem"), send="four")
            self.assertConnected(result, report)
            self.assertEqual(fingerprint_of(report), leaf_fingerprint(os.path.join(b, "server.pem")))
            status, lines = server.finish()
        self.assertEqual(status, 0)
        self.assertEqual(len([line for line in lines if line.startswith("conn ")]), 4, lines)


class ToolTests(unittest.TestCase):
    def test_demo(self):
        result = run(["demo"], timeout=60)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        out = result.stdout
        self.assertIn("TLSv1.3", out)
        self.assertGreater(out.index("TLSv1.2"), out.index("TLSv1.3"))
        for needle in ("cipher:", "group:", "authorized", "close_notify", "hello from the TLS server"):
            self.assertIn(needle, out)

    def test_version_and_help(self):
        result = run(["version"])
        self.assertEqual(result.returncode, 0)
        self.assertRegex(result.stdout, r"^sanstls \d+\.\d+\.\d+")
        result = run(["--help"])
        self.assertEqual(result.returncode, 0)
        flags = {"client": ("--psk", "--psk-mode", "--pin", "--no-tickets", "--cert", "--insecure", "--alpn",
                            "--keylog", "--session-in", "--early-data", "--preset", "--max-send-fragment",
                            "--export-keying-material", "--trace", "--sigalgs"),
                 "server": ("--sni", "--strict-sni", "--tickets", "--session-cache", "--ticket-keys", "--psk",
                            "--psk-mode", "--alpn", "--keylog", "--require-cert", "--early-data", "--preset",
                            "--honor-cipher-order", "--max-send-fragment", "--handshake-timeout", "--trace",
                            "--sigalgs", "--export-keying-material"),
                 "demo": (), "pki": ()}
        for command in ("client", "server", "demo", "pki"):
            self.assertIn(command, result.stdout)
            result_help = run([command, "--help"])
            self.assertEqual(result_help.returncode, 0, command)
            self.assertIn("usage: sanstls " + command, result_help.stdout)
            for flag in flags[command]:
                self.assertIn("\n  %s " % flag, result_help.stdout, command)

    def test_usage_errors_exit_2(self):
        cases = [
            [],
            ["frobnicate"],
            ["client"],
            ["client", "localhost"],
            ["client", "localhost:notaport"],
            ["client", "127.0.0.1:443", "--min-version", "1.1"],
            ["client", "127.0.0.1:443", "--bogus"],
            ["client", "127.0.0.1:443", "--timeout"],
            ["client", "127.0.0.1:443", "--cert", pki("client.pem")],
            ["client", "127.0.0.1:443", "--alpn", "h2,,x"],
            ["server"],
            ["server", "--cert", pki("server.pem"), "--key", pki("server.key"), "--require-cert"],
            ["server", "--cert", pki("server.pem"), "--key", pki("server.key"), "--port", "70000"],
            ["server", "--cert", pki("server.pem"), "--key", pki("server.key"), "--echo", "--www"],
            ["server", "--echo"],
            ["server", "--cert", pki("server.pem"), "--key", pki("server.key"), "--strict-sni"],
            ["server", "--cert", pki("server.pem"), "--key", pki("server.key"), "--sni", "a.example:x.pem"],
            ["server", "--cert", pki("server.pem"), "--key", pki("server.key"), "--tickets", "17"],
            ["server", "--cert", pki("server.pem"), "--key", pki("server.key"), "--tickets", "0",
             "--ticket-keys", os.path.join(TMP, "unused-keys")],
            ["server", "--cert", pki("server.pem"), "--key", pki("server.key"), "--session-cache", "0"],
            ["server", "--psk", "id:0g"],
            ["server", "--psk", "id:abc"],
            ["server", "--psk", "nokey"],
            ["server", "--psk", "id:ab", "--psk", "id:cd"],
            ["server", "--psk", "id:ab", "--psk-mode", "sometimes"],
            ["client", "127.0.0.1:443", "--psk-mode", "ke"],
            ["client", "127.0.0.1:443", "--psk", "id:ab", "--psk", "id:cd"],
            ["client", "127.0.0.1:443", "--early-data", pki("ca.pem")],
            ["client", "127.0.0.1:443", "--preset", "ancient"],
            ["client", "127.0.0.1:443", "--preset", "modern", "--max-version", "1.2"],
            ["client", "127.0.0.1:443", "--export-keying-material", "nolength"],
            ["client", "127.0.0.1:443", "--export-keying-material", "label:0"],
            ["client", "127.0.0.1:443", "--max-send-fragment", "lots"],
            ["server", "--cert", pki("server.pem"), "--key", pki("server.key"), "--early-data", "0"],
            ["server", "--cert", pki("server.pem"), "--key", pki("server.key"), "--handshake-timeout", "0"],
            ["pki"],
        ]
        for args in cases:
            result = run(args, timeout=10)
            self.assertEqual(result.returncode, 2, "%s: %s" % (args, result.stderr))
            self.assertTrue(result.stderr.strip(), args)

    def test_missing_file_is_a_config_error(self):
        result = run(["client", "127.0.0.1:1", "--ca", os.path.join(TMP, "missing.pem"), "--json"])
        self.assertEqual(result.returncode, 1)
        self.assertEqual(json.loads(result.stdout)["error"]["stage"], "config")

    def test_pki_files(self):
        expected = {"ca.pem", "ca-rsa.pem", "server.pem", "server.key", "server-rsa.pem", "server-rsa.key",
                    "client.pem", "client.key", "expired.pem", "expired.key", "other-ca.pem", "other.pem",
                    "other.key"}
        self.assertLessEqual(expected, set(os.listdir(PKI)))
        for name in expected:
            with open(pki(name)) as f:
                head = f.readline().strip()
            wanted = "-----BEGIN PRIVATE KEY-----" if name.endswith(".key") else "-----BEGIN CERTIFICATE-----"
            self.assertEqual(head, wanted, name)
        with open(pki("server.pem")) as f:
            self.assertEqual(f.read().count("BEGIN CERTIFICATE"), 2)


def main():
    global SANSTLS, PKI, TMP
    # The peers and our client honour https_proxy & co. (curl's rules): the
    # tests talk to 127.0.0.1 directly, whatever the caller's environment says.
    for variable in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy",
                     "ALL_PROXY", "no_proxy", "NO_PROXY"):
        os.environ.pop(variable, None)
    parser = argparse.ArgumentParser()
    parser.add_argument("--sanstls", required=True)
    args, rest = parser.parse_known_args()
    SANSTLS = os.path.abspath(args.sanstls)
    with tempfile.TemporaryDirectory(prefix="sanstls-cli-") as tmp:
        TMP = tmp
        PKI = os.path.join(tmp, "pki")
        made = run(["pki", "--out", PKI], timeout=60)
        if made.returncode != 0:
            print("sanstls pki failed:", made.stdout, made.stderr)
            print("0 passed, 1 failed, 0 skipped")
            return 1
        program = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
        result = program.result
        return summarize(result)


def summarize(result):
    """Prints "N passed, M failed, K skipped"; the exit status: 1 on a failure
    (or nothing run), 77 when something was skipped (ctest's SKIP_RETURN_CODE),
    0 otherwise.  With SANSTLS_REQUIRE_PEERS=1 (CI) a skip is a failure."""
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    if skipped and os.environ.get("SANSTLS_REQUIRE_PEERS") == "1":
        for test, reason in result.skipped:
            print(f"FAIL (SANSTLS_REQUIRE_PEERS=1, skipped): {test.id()}: {reason}")
        failed += skipped
        skipped = 0
    passed = result.testsRun - len(result.failures) - len(result.errors) \
        - len(result.unexpectedSuccesses) - len(result.skipped)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed or result.testsRun == 0:
        return 1
    return 77 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
