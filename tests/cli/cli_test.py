#!/usr/bin/python3
"""End-to-end tests of the `sanstls` command-line tool (client, server, demo, pki).

Standard library only. Every subprocess has a timeout; servers listen on
127.0.0.1 port 0 with --exit-after, and the tests read the port from the
server's first line (`listening on HOST:PORT`) instead of sleeping.

    /usr/bin/python3 tests/cli/cli_test.py --sanstls build/bin/sanstls [unittest args]
"""
import argparse
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
                self.assertFailed(result, report, stage="record" if version == "1.3" else "handshake",
                                  codes=("ERR_SSL_PEER_ALERT",), alert="certificate_required")
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
        for command in ("client", "server", "demo", "pki"):
            self.assertIn(command, result.stdout)
            result_help = run([command, "--help"])
            self.assertEqual(result_help.returncode, 0, command)
            self.assertIn("usage: sanstls " + command, result_help.stdout)

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
            print("0 passed, 1 failed")
            return 1
        program = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
        result = program.result
        failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
        print("%d passed, %d failed" % (result.testsRun - failed - len(result.skipped), failed))
        return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
