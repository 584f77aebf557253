#!/usr/bin/python3
"""The epoll Loop through `sanstls proxy` (HTTP and HTTPS) to `openssl s_server -rev`.

The client is tests/tunnel/epoll_proxy_probe.cpp: Loop::connect_through_proxy,
a random payload written through the Conn's bounded queue, reading paused
once mid-reply, and a JSON report. Through the HTTPS proxy two engines stack
(TLS to the proxy, the origin's TLS inside it); verification is on at both
layers. Ports are picked by the programs (port 0) and read back; every wait
is bounded.

    /usr/bin/python3 tests/tunnel/epoll_https_proxy_test.py --sanstls build/bin/sanstls \
        --probe build/bin/sanstls_epoll_proxy_probe
"""
import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
sys.path.insert(0, HERE)
import cli_test  # noqa: E402
from cli_test import pki  # noqa: E402
from proxy_test import OPENSSL, Lines, SanstlsProxy, stop  # noqa: E402

PROBE = None
TIMEOUT = 40


def start_rev_server(version):
    """openssl s_server -rev (each line sent back reversed) on a free port."""
    argv = [OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-cert", pki("server.pem"),
            "-cert_chain", pki("server.pem"), "-key", pki("server.key"), "-rev", "-naccept", "1",
            "-tls1_3" if version == "1.3" else "-tls1_2"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    out = Lines(proc.stdout)
    match = out.wait_for(r"ACCEPT \S+:(\d+)")
    if not match:
        proc.kill()
        raise AssertionError("s_server did not start: %s" % out.seen)
    return proc, int(match.group(1))


def payload_lines(seed, lines):
    """Random printable lines (s_server -rev works line by line)."""
    rng = random.Random(seed)
    alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
    return b"".join(bytes(rng.choice(alphabet) for _ in range(rng.randrange(20, 400))) + b"\n"
                    for _ in range(lines))


def reversed_lines(data):
    return b"".join(line[::-1] + b"\n" for line in data.split(b"\n")[:-1])


def probe(proxy_port, target_port, *args, data=b"", expect=None):
    argv = [PROBE, "--proxy", "127.0.0.1:%d" % proxy_port, "--connect", "localhost:%d" % target_port,
            "--ca", pki("ca.pem"), "--servername", "localhost"] + list(args)
    if expect is not None:
        argv += ["--expect", str(expect)]
    result = subprocess.run(argv, input=data, capture_output=True, timeout=TIMEOUT)
    report_line = result.stderr.decode(errors="replace").strip().splitlines()[-1:]
    try:
        report = json.loads(report_line[0]) if report_line else None
    except ValueError:
        report = None
    assert report is not None, result.stderr
    return result, report


class EpollHttpsProxyTests(unittest.TestCase):
    def test_round_trip_through_https_and_http_proxy(self):
        for tls in (True, False):
            for version in ("1.3", "1.2"):
                with self.subTest(tls=tls, version=version):
                    data = payload_lines(version == "1.3" and 13 or 12, 1500)  # ~300 KB
                    srv, port = start_rev_server(version)
                    try:
                        with SanstlsProxy("--allow-ports", str(port), tls=tls) as proxy:
                            extra = ["--proxy-ca", pki("ca.pem"), "--proxy-servername", "localhost"] if tls else []
                            result, report = probe(proxy.port, port, "--version", version, *extra, data=data)
                            self.assertEqual(result.returncode, 0, report)
                            self.assertTrue(report["ok"] and report["secure"] and report["authorized"], report)
                            self.assertEqual(report["protocol"], "TLSv" + version, report)
                            self.assertEqual(report["proxy_status"], 200, report)
                            self.assertEqual(report["proxy_tls"], tls, report)
                            if tls:
                                self.assertEqual(report["proxy_protocol"], "TLSv1.3", report)
                            self.assertEqual(hashlib.sha256(result.stdout).hexdigest(),
                                             hashlib.sha256(reversed_lines(data)).hexdigest())
                            # The bounded write queue: refused at high water, resumed on drain.
                            self.assertGreater(report["refusals"], 0, report)
                            self.assertGreater(report["drains"], 0, report)
                            self.assertLessEqual(report["max_queued"], report["high_water"], report)
                            # Paused reading delivers nothing until resumed.
                            self.assertTrue(report["paused_once"], report)
                            self.assertEqual(report["data_while_paused"], 0, report)
                            line = proxy.next_tunnel()
                            self.assertRegex(line, r"to localhost:%d: status 200, [1-9]\d* bytes up" % port)
                    finally:
                        stop(srv)

    def test_refusals_through_the_https_proxy_are_at_the_proxy_stage(self):
        with SanstlsProxy("--allow-ports", "9", "--auth", "alice:s3cret", tls=True) as proxy:
            tls = ["--proxy-ca", pki("ca.pem"), "--proxy-servername", "localhost"]
            # Without credentials: 407 with the challenge.
            result, report = probe(proxy.port, 9, *tls)
            self.assertEqual(result.returncode, 1, report)
            self.assertEqual((report["error"], report["stage"]), ("ERR_PROXY_REFUSED", "proxy"), report)
            self.assertEqual(report["proxy_status"], 407, report)
            self.assertIn("Basic", report["proxy_authenticate"], report)
            self.assertFalse(report["secure"] or report["proxy_tls_failed"], report)
            # With credentials, a port the allow-list refuses: 403.
            result, report = probe(proxy.port, 8, *tls, "--auth", "alice:s3cret")
            self.assertEqual((report["error"], report["stage"]), ("ERR_PROXY_REFUSED", "proxy"), report)
            self.assertEqual(report["proxy_status"], 403, report)
            self.assertFalse(report["proxy_tls_failed"], report)

    def test_proxy_certificate_failing_verification_is_the_proxys(self):
        # The proxy's certificate from another CA; and a name it does not carry.
        with SanstlsProxy("--allow-ports", "9", "--cert", pki("other.pem"), "--key", pki("other.key")) as proxy:
            result, report = probe(proxy.port, 9, "--proxy-ca", pki("ca.pem"), "--proxy-servername", "localhost")
            self.assertEqual(result.returncode, 1, report)
            self.assertEqual(report["stage"], "certificate", report)
            self.assertTrue(report["proxy_tls_failed"], report)
            self.assertTrue(report["message"].startswith("proxy 127.0.0.1:%d: " % proxy.port), report)
            self.assertEqual(report["proxy_status"], 0, report)
        with SanstlsProxy("--allow-ports", "9", tls=True) as proxy:
            result, report = probe(proxy.port, 9, "--proxy-ca", pki("ca.pem"), "--proxy-servername", "proxy.example")
            self.assertEqual((report["error"], report["stage"]), ("ERR_TLS_CERT_ALTNAME_INVALID", "certificate"),
                             report)
            self.assertTrue(report["proxy_tls_failed"], report)
        # The origin's certificate failing is not the proxy's.
        srv, port = start_rev_server("1.3")
        try:
            with SanstlsProxy("--allow-ports", str(port), tls=True) as proxy:
                result, report = probe(proxy.port, port, "--proxy-ca", pki("ca.pem"), "--proxy-servername",
                                       "localhost", "--servername", "origin.example")
                self.assertEqual(report["stage"], "certificate", report)
                self.assertFalse(report["proxy_tls_failed"], report)
                self.assertEqual(report["proxy_status"], 200, report)
        finally:
            stop(srv)


def main():
    global PROBE
    parser = argparse.ArgumentParser()
    parser.add_argument("--sanstls", required=True)
    parser.add_argument("--probe", required=True)
    args, rest = parser.parse_known_args()
    cli_test.SANSTLS = os.path.abspath(args.sanstls)
    PROBE = os.path.abspath(args.probe)
    if not OPENSSL:
        print("openssl needed")
        print("0 passed, 0 failed, 1 skipped")
        return 1 if os.environ.get("SANSTLS_REQUIRE_PEERS") == "1" else 77
    with tempfile.TemporaryDirectory(prefix="sanstls-epoll-proxy-") as tmp:
        cli_test.TMP = tmp
        cli_test.PKI = os.path.join(tmp, "pki")
        made = cli_test.run(["pki", "--out", cli_test.PKI], timeout=60)
        if made.returncode != 0:
            print("sanstls pki failed:", made.stdout, made.stderr)
            return 1
        program = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
        return cli_test.summarize(program.result)


if __name__ == "__main__":
    sys.exit(main())
