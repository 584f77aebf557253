"""The Python module `sanstls` (bindings/python): in-memory handshakes against
Python's own ssl.SSLObject in both roles and both versions, failures by
name, and the asyncio example against `openssl s_server` on loopback.

Needs PYTHONPATH with the built module and SANSTLS_PKI_DIR (`sanstls pki`)."""
import asyncio
import importlib.util
import os
import pathlib
import re
import shutil
import ssl
import subprocess
import time

import pytest

import sanstls

PKI = pathlib.Path(os.environ.get("SANSTLS_PKI_DIR", "build/bindings/pki"))
ROOT = pathlib.Path(__file__).resolve().parents[3]
VERSIONS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}


def pem(name):
    return (PKI / name).read_text()


def python_server(version, cert="server.pem", key="server.key", client_ca=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = context.maximum_version = VERSIONS[version]
    context.load_cert_chain(PKI / cert, PKI / key)
    if client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(PKI / client_ca)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    return context.wrap_bio(incoming, outgoing, server_side=True), incoming, outgoing


def python_client(version, client_cert=False):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = context.maximum_version = VERSIONS[version]
    context.load_verify_locations(PKI / "ca.pem")
    if client_cert:
        context.load_cert_chain(PKI / "client.pem", PKI / "client.key")
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    return context.wrap_bio(incoming, outgoing, server_hostname="localhost"), incoming, outgoing


def drive(ours, theirs, rounds=50):
    """Moves bytes between our Connection and an ssl.SSLObject until neither
    side has more to say; returns the SSLObject's handshake failure, if any."""
    obj, incoming, outgoing = theirs
    failure = None
    for _ in range(rounds):
        moved = False
        data = ours.data_to_send()
        if data:
            incoming.write(data)
            moved = True
        if failure is None:
            try:
                obj.do_handshake()
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as error:
                failure = error
        data = outgoing.read()
        if data:
            ours.receive_data(data)
            moved = True
        if not moved:
            break
    return failure


def pair(client_config, server_config, name="localhost"):
    client = sanstls.Connection.client(client_config, name)
    server = sanstls.Connection.server(server_config)
    pump(client, server)
    return client, server


def pump(a, b, rounds=50):
    for _ in range(rounds):
        x, y = a.data_to_send(), b.data_to_send()
        if not x and not y:
            return
        if x:
            b.receive_data(x)
        if y:
            a.receive_data(y)


def events(conn):
    out = []
    while (event := conn.next_event()) is not None:
        out.append(event)
    return out


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_our_client_against_python_server(version):
    config = sanstls.client_config(ca_pem=pem("ca.pem"), min_version=version, max_version=version)
    ours = sanstls.Connection.client(config, "localhost")
    theirs = python_server(version)
    assert drive(ours, theirs) is None
    assert ours.handshake_complete
    assert ours.protocol == version
    assert ours.authorized and ours.authorization_error is None
    assert ours.peer_certificate[:1] == b"\x30"
    assert ours.cipher
    first = ours.next_event()
    assert isinstance(first, sanstls.HandshakeComplete)
    assert first.protocol == version

    obj, incoming, outgoing = theirs
    assert ours.send_data(b"ping") == 4
    incoming.write(ours.data_to_send())
    assert obj.read(100) == b"ping"
    obj.write(b"pong")
    ours.receive_data(outgoing.read())
    got = [e for e in events(ours) if not isinstance(e, sanstls.SessionTicket)]
    assert got == [sanstls.DataReceived(data=b"pong")]

    # A clean close both ways: close_notify, then the transport's end.
    ours.close()
    incoming.write(ours.data_to_send())
    obj.unwrap()
    ours.receive_data(outgoing.read())
    assert sanstls.PeerClosed() in events(ours)
    ours.receive_data(b"")
    assert ours.error is None
    assert ours.closed


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_our_server_against_python_client(version):
    config = sanstls.server_config(pem("server.pem"), pem("server.key").encode(),
                                   min_version=version, max_version=version)
    ours = sanstls.Connection.server(config)
    theirs = python_client(version)
    obj, incoming, outgoing = theirs
    # The client speaks first.
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    ours.receive_data(outgoing.read())
    assert drive(ours, theirs) is None
    assert ours.handshake_complete and ours.protocol == version
    assert obj.version() == version
    assert isinstance(ours.next_event(), sanstls.HandshakeComplete)

    obj.write(b"hello server")
    ours.receive_data(outgoing.read())
    assert ours.read() == b"hello server"
    ours.send(bytearray(b"hello client"))
    incoming.write(ours.data_to_send())
    assert obj.read(100) == b"hello client"

    ours.close()
    incoming.write(ours.data_to_send())
    try:
        assert obj.read(100) == b""
    except ssl.SSLZeroReturnError:
        pass
    assert ours.error is None


def test_client_certificates_required_by_our_server():
    config = sanstls.server_config(pem("server.pem"), pem("server.key"), ca_pem=pem("ca.pem"),
                                   verify_client="required")
    ours = sanstls.Connection.server(config)
    theirs = python_client("TLSv1.3", client_cert=True)
    with pytest.raises(ssl.SSLWantReadError):
        theirs[0].do_handshake()
    ours.receive_data(theirs[2].read())
    assert drive(ours, theirs) is None
    assert ours.handshake_complete
    assert ours.authorized
    assert ours.peer_certificate is not None


def test_expired_certificate_is_named():
    config = sanstls.client_config(ca_pem=pem("ca.pem"))
    ours = sanstls.Connection.client(config, "localhost")
    with pytest.raises(sanstls.TLSError) as raised:
        drive(ours, python_server("TLSv1.3", "expired.pem", "expired.key"))
    error = raised.value
    assert error.name == "CERT_HAS_EXPIRED"
    assert error.stage == "certificate"
    assert error.alert == "certificate_expired" and error.alert_sent is True
    assert "CERT_HAS_EXPIRED" in str(error)
    assert ours.error.name == "CERT_HAS_EXPIRED"  # the same error stays available
    with pytest.raises(sanstls.TLSError):
        ours.next_event()
    with pytest.raises(sanstls.TLSError):
        ours.send_data(b"x")


def test_hostname_mismatch_is_named():
    config = sanstls.client_config(ca_pem=pem("ca.pem"))
    ours = sanstls.Connection.client(config, "wrong.example")
    with pytest.raises(sanstls.TLSError) as raised:
        drive(ours, python_server("TLSv1.2"))
    assert raised.value.name == "ERR_TLS_CERT_ALTNAME_INVALID"
    assert raised.value.stage == "certificate"


def test_untrusted_server_and_verification_off():
    strict = sanstls.client_config(ca_pem=pem("ca.pem"))
    with pytest.raises(sanstls.TLSError) as raised:
        drive(sanstls.Connection.client(strict, "localhost"),
              python_server("TLSv1.3", "other.pem", "other.key"))
    assert raised.value.name == "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
    lax = sanstls.client_config(verify=False)
    ours = sanstls.Connection.client(lax, "localhost")
    assert drive(ours, python_server("TLSv1.3", "other.pem", "other.key")) is None
    assert ours.handshake_complete and not ours.authorized
    assert ours.authorization_error.name == "UNABLE_TO_VERIFY_LEAF_SIGNATURE"


def test_no_common_version_fails_on_both_sides():
    config = sanstls.client_config(ca_pem=pem("ca.pem"), max_version="1.2")
    ours = sanstls.Connection.client(config, "localhost")
    server = python_server("TLSv1.3")
    with pytest.raises(sanstls.TLSError) as raised:
        failure = drive(ours, server)
        assert failure is not None  # the Python server refused first
        raise AssertionError("our client did not fail")
    assert raised.value.stage == "handshake"
    assert raised.value.name.startswith("ERR_SSL_")


def test_configuration_errors_are_named():
    with pytest.raises(sanstls.TLSError) as raised:
        sanstls.server_config("not a certificate", "not a key")
    assert raised.value.name == "ERR_TLS_CERT_PARSE_FAILED" and raised.value.stage == "config"
    with pytest.raises(sanstls.TLSError) as raised:
        sanstls.server_config(pem("server.pem"), pem("client.key"))
    assert raised.value.name == "ERR_OSSL_X509_KEY_VALUES_MISMATCH"
    with pytest.raises(sanstls.TLSError) as raised:
        sanstls.client_config(ca_pem=pem("ca.pem"), min_version="TLSv1.0")
    assert raised.value.name == "ERR_TLS_INVALID_PROTOCOL_VERSION"
    with pytest.raises(sanstls.TLSError) as raised:
        sanstls.client_config(ca_pem=pem("ca.pem"), cipher_suites="NOPE")
    assert raised.value.name == "ERR_SSL_NO_CIPHER_MATCH"
    with pytest.raises(sanstls.TLSError) as raised:
        sanstls.server_config()
    assert raised.value.name == "ERR_TLS_MISSING_CERTIFICATE"
    with pytest.raises(sanstls.TLSError) as raised:
        sanstls.client_config(ca_pem=12)
    assert raised.value.name == "ERR_INVALID_ARG_VALUE"
    config = sanstls.client_config(ca_pem=pem("ca.pem"))
    with pytest.raises(sanstls.TLSError) as raised:
        sanstls.Connection.client(config, "")
    assert raised.value.name == "ERR_TLS_MISSING_SERVER_NAME"
    with pytest.raises(sanstls.TLSError) as raised:
        sanstls.Connection.client(config, "localhost", session=b"garbage")
    assert raised.value.name == "ERR_TLS_INVALID_SESSION"
    conn = sanstls.Connection.client(config, "localhost")
    with pytest.raises(sanstls.TLSError) as raised:
        conn.send_data(b"too early")
    assert raised.value.stage == "handshake"
    with pytest.raises(sanstls.TLSError) as raised:
        conn.save_session()
    assert raised.value.name == "ERR_TLS_SESSION_UNAVAILABLE"


def test_truncation_and_plain_http():
    client_config = sanstls.client_config(ca_pem=pem("ca.pem"))
    server_config = sanstls.server_config(pem("server.pem"), pem("server.key"))
    client, server = pair(client_config, server_config)
    server.send_data(b"partial")
    client.receive_data(server.data_to_send())
    with pytest.raises(sanstls.TLSError) as raised:
        client.receive_data(b"")
    assert raised.value.name == "ERR_SSL_UNEXPECTED_EOF_WHILE_READING"
    assert raised.value.stage == "transport"
    # Data decrypted before the failure is still delivered, then the error.
    assert client.next_event() == sanstls.HandshakeComplete(
        protocol="TLSv1.3", cipher=client.cipher, alpn_protocol=None, session_reused=False)
    rest = events_until_error(client)
    assert sanstls.DataReceived(data=b"partial") in rest

    http = sanstls.Connection.server(server_config)
    with pytest.raises(sanstls.TLSError) as raised:
        http.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert raised.value.name == "ERR_SSL_HTTP_REQUEST"


def events_until_error(conn):
    seen = []
    with pytest.raises(sanstls.TLSError):
        for _ in range(10):
            event = conn.next_event()
            if event is None:
                break
            seen.append(event)
    return seen


def test_resumption_alpn_and_exporters_between_our_own():
    client_config = sanstls.client_config(ca_pem=bytearray(pem("ca.pem").encode()),
                                          alpn=["h2", "http/1.1"])
    server_config = sanstls.server_config(pem("server.pem"), pem("server.key"), alpn=["http/1.1"])
    client, server = pair(client_config, server_config)
    assert client.alpn_protocol == server.alpn_protocol == "http/1.1"
    assert sanstls.SessionTicket() in events(client)
    assert client.export_keying_material("EXPERIMENTAL x", 32) == \
        server.export_keying_material("EXPERIMENTAL x", 32)
    assert client.export_keying_material("EXPERIMENTAL x", 16, context=b"c") != \
        server.export_keying_material("EXPERIMENTAL x", 16)
    session = client.save_session()
    again = sanstls.Connection.client(client_config, "localhost", session=session)
    server2 = sanstls.Connection.server(server_config)
    pump(again, server2)
    assert again.session_reused and server2.session_reused
    assert isinstance(sanstls.__version__, str) and re.match(r"\d+\.\d+\.\d+$", sanstls.__version__)


def test_sni_contexts():
    rsa = sanstls.server_config(pem("server-rsa.pem"), pem("server-rsa.key"))
    server_config = sanstls.server_config(pem("server.pem"), pem("server.key"),
                                          sni={"rsa.localhost": rsa}, strict_sni=True)
    lax = sanstls.client_config(verify=False)
    client, server = pair(lax, server_config, "rsa.localhost")
    assert server.server_name == "rsa.localhost"
    assert client.peer_certificate == ssl.PEM_cert_to_DER_cert(pem("server-rsa.pem"))

    client = sanstls.Connection.client(lax, "localhost")
    server = sanstls.Connection.server(server_config)
    with pytest.raises(sanstls.TLSError) as raised:
        pump(client, server)
    assert raised.value.name == "ERR_SSL_UNRECOGNIZED_NAME"
    with pytest.raises(sanstls.TLSError) as raised:
        sanstls.server_config(pem("server.pem"), pem("server.key"), sni={"x": lax})
    assert raised.value.name == "ERR_INVALID_ARG_VALUE"


def test_input_is_buffered_until_read():
    """receive_data takes everything: what the engine cannot hold waits until
    the application reads (h11's convention)."""
    client_config = sanstls.client_config(ca_pem=pem("ca.pem"))
    server_config = sanstls.server_config(pem("server.pem"), pem("server.key"))
    client, server = pair(client_config, server_config)
    payload = bytes(range(256)) * 1024  # 256 KiB
    sent = 0
    while sent < len(payload):
        sent += server.send_data(payload[sent:])
        data = server.data_to_send()
        assert client.receive_data(memoryview(data)) == len(data)
    received = b"".join(e.data for e in events(client) if isinstance(e, sanstls.DataReceived))
    assert received == payload


def load_example():
    spec = importlib.util.spec_from_file_location(
        "python_asyncio_client", ROOT / "examples" / "python_asyncio_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def openssl_server():
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("SANSTLS_REQUIRE_PEERS") == "1":
            pytest.fail("openssl not installed (scripts/setup.sh installs it)")
        pytest.skip("openssl not installed")
    process = subprocess.Popen(
        # -cert loads only the leaf; -cert_chain sends the intermediate from the same file.
        [openssl, "s_server", "-accept", "127.0.0.1:0", "-cert", str(PKI / "server.pem"),
         "-cert_chain", str(PKI / "server.pem"), "-key", str(PKI / "server.key"), "-www",
         "-naccept", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    port = None
    deadline = time.monotonic() + 10
    while port is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = re.match(r"ACCEPT .*:(\d+)$", line.strip())
        if match:
            port = int(match.group(1))
    if port is None:
        process.kill()
        pytest.fail("openssl s_server did not print ACCEPT")
    yield port
    process.kill()
    process.wait(timeout=10)


def test_asyncio_example_against_openssl_s_server(openssl_server):
    example = load_example()
    config = sanstls.client_config(ca_pem=pem("ca.pem"))
    response, tls = asyncio.run(example.fetch(
        "127.0.0.1", openssl_server, config, "localhost", b"GET / HTTP/1.0\r\n\r\n"))
    assert response.startswith(b"HTTP/1.0 200 ok")
    assert b"Ciphers supported in s_server binary" in response
    assert tls.protocol == "TLSv1.3"
    assert tls.authorized
    assert tls.error is None
