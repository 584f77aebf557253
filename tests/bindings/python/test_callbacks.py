"""The Python module's callbacks and 0-RTT: deferred SNI, the server's PSK
lookup, early data, the key log and the trace. Against Python's own
ssl.SSLObject where it can be the peer; PSK and 0-RTT use our module on both
sides (Python's ssl has PSK only from 3.13 and no 0-RTT at all)."""
import ssl

import pytest

import sanstls
from test_sanstls import PKI, VERSIONS, drive, events, pair, pem, pump, python_client


def lax_python_client(version, server_hostname):
    """A Python ssl client that does not verify (the SNI tests compare the
    certificate it got instead)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = context.maximum_version = VERSIONS[version]
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    return context.wrap_bio(incoming, outgoing, server_hostname=server_hostname), incoming, outgoing


def leaf_der(name):
    """The first certificate of a PEM chain, as DER."""
    first = pem(name).split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    return ssl.PEM_cert_to_DER_cert(first[first.index("-----BEGIN"):])


def rsa_der():
    return leaf_der("server-rsa.pem")


# ---- SNI callback ------------------------------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_sni_callback_answers_at_once(version):
    rsa = sanstls.server_config(pem("server-rsa.pem"), pem("server-rsa.key"))
    asked = []

    def choose(server_name):
        asked.append(server_name)
        return rsa if server_name == "rsa.localhost" else None

    config = sanstls.server_config(pem("server.pem"), pem("server.key"), sni_callback=choose)
    ours = sanstls.Connection.server(config)
    theirs = lax_python_client(version, "rsa.localhost")
    assert drive(ours, theirs) is None
    assert asked == ["rsa.localhost"]
    assert ours.handshake_complete and ours.server_name == "rsa.localhost"
    assert theirs[0].getpeercert(binary_form=True) == rsa_der()

    # None: this config's own certificate.
    ours = sanstls.Connection.server(config)
    theirs = lax_python_client(version, "www.localhost")
    assert drive(ours, theirs) is None
    assert asked[-1] == "www.localhost"
    assert theirs[0].getpeercert(binary_form=True) == leaf_der("server.pem")


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_sni_callback_answers_later(version):
    rsa = sanstls.server_config(pem("server-rsa.pem"), pem("server-rsa.key"))
    config = sanstls.server_config(pem("server.pem"), pem("server.key"),
                                   sni_callback=lambda name: sanstls.SNI_LATER)
    ours = sanstls.Connection.server(config)
    theirs = lax_python_client(version, "rsa.localhost")
    assert drive(ours, theirs) is None
    # The handshake waits for the answer (a certificate lookup, say).
    assert not ours.handshake_complete and ours.awaiting_config
    assert ours.next_event() == sanstls.ServerNameRequested(server_name="rsa.localhost")
    ours.provide_config(rsa)
    assert drive(ours, theirs) is None
    assert ours.handshake_complete and not ours.awaiting_config
    assert theirs[0].getpeercert(binary_form=True) == rsa_der()
    assert repr(sanstls.SNI_LATER) == "sanstls.SNI_LATER"


def test_sni_callback_refuses():
    refusals = [
        lambda name: False,  # refused by the callback
        lambda name: sanstls.client_config(verify=False),  # not a server config
    ]
    for refuse in refusals:
        config = sanstls.server_config(pem("server.pem"), pem("server.key"), sni_callback=refuse)
        ours = sanstls.Connection.server(config)
        theirs = lax_python_client("TLSv1.3", "nope.localhost")
        with pytest.raises(sanstls.TLSError) as raised:
            drive(ours, theirs)
        assert raised.value.name == "ERR_SSL_UNRECOGNIZED_NAME"
        assert raised.value.alert == "unrecognized_name" and raised.value.alert_sent
        theirs[1].write(ours.data_to_send())
        with pytest.raises(ssl.SSLError, match="UNRECOGNIZED_NAME"):
            theirs[0].do_handshake()

    # Deferred, then refused.
    config = sanstls.server_config(pem("server.pem"), pem("server.key"),
                                   sni_callback=lambda name: sanstls.SNI_LATER)
    ours = sanstls.Connection.server(config)
    theirs = lax_python_client("TLSv1.3", "nope.localhost")
    drive(ours, theirs)
    ours.reject_server_name()
    assert ours.error.name == "ERR_SSL_UNRECOGNIZED_NAME"

    with pytest.raises(sanstls.TLSError) as raised:
        sanstls.server_config(pem("server.pem"), pem("server.key"), sni_callback="not callable")
    assert raised.value.name == "ERR_INVALID_ARG_VALUE"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_sni_callback_exception_refuses_the_name():
    def broken(name):
        raise RuntimeError("lookup failed")

    config = sanstls.server_config(pem("server.pem"), pem("server.key"), sni_callback=broken)
    ours = sanstls.Connection.server(config)
    with pytest.raises(sanstls.TLSError) as raised:
        drive(ours, lax_python_client("TLSv1.3", "x.localhost"))
    assert raised.value.name == "ERR_SSL_UNRECOGNIZED_NAME"


# ---- server-side PSK lookup ----------------------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_psk_lookup(version):
    keys = {"device-1": b"\x11" * 32, "device-2": b"\x22" * 32}
    asked = []

    def lookup(identity):
        asked.append(identity)
        return keys.get(identity)

    server_config = sanstls.server_config(psk_lookup=lookup, min_version=version,
                                          max_version=version)
    client_config = sanstls.client_config(psk=("device-2", keys["device-2"]), min_version=version,
                                          max_version=version)
    client, server = pair(client_config, server_config, name=None)
    assert client.handshake_complete and server.handshake_complete
    assert asked == ["device-2"]
    assert client.send_data(b"over psk") == 8
    server.receive_data(client.data_to_send())
    assert server.read() == b"over psk"

    # The wrong key for a known identity, and an unknown identity: refused.
    for psk in [("device-1", b"\x99" * 32), ("device-3", b"\x33" * 32)]:
        client = sanstls.Connection.client(
            sanstls.client_config(psk=psk, min_version=version, max_version=version))
        server = sanstls.Connection.server(server_config)
        with pytest.raises(sanstls.TLSError):
            pump(client, server)
        assert not server.handshake_complete and server.error is not None
    assert asked[-1] == "device-3"

    with pytest.raises(sanstls.TLSError) as raised:
        sanstls.server_config(psk_lookup=42)
    assert raised.value.name == "ERR_INVALID_ARG_VALUE"


# ---- 0-RTT ---------------------------------------------------------------------


def test_early_data_between_our_own():
    client_config = sanstls.client_config(ca_pem=pem("ca.pem"), early_data=True)
    server_config = sanstls.server_config(pem("server.pem"), pem("server.key"), early_data=4096)
    client, server = pair(client_config, server_config)
    assert sanstls.SessionTicket() in events(client)
    assert not client.early_data_accepted
    session = client.save_session()

    # Without a session there is nothing to send 0-RTT on.
    assert sanstls.Connection.client(client_config, "localhost").send_early_data(b"x") == 0

    client = sanstls.Connection.client(client_config, "localhost", session=session)
    assert client.send_early_data(b"GET / HTTP/1.0\r\n\r\n") == 18
    server = sanstls.Connection.server(server_config)
    pump(client, server)
    assert sanstls.EarlyDataReceived(data=b"GET / HTTP/1.0\r\n\r\n") in events(server)
    assert client.handshake_complete and client.session_reused
    assert client.early_data_accepted

    # The same ticket again: single-use for 0-RTT, so refused (still resumed).
    client = sanstls.Connection.client(client_config, "localhost", session=session)
    assert client.send_early_data(b"replayed") == 8
    server = sanstls.Connection.server(server_config)
    pump(client, server)
    assert sanstls.EarlyDataRejected() in events(client)
    assert client.handshake_complete and not client.early_data_accepted
    # The engine resent it as ordinary data after the handshake.
    received = events(server)
    assert not any(isinstance(e, sanstls.EarlyDataReceived) for e in received)
    assert sanstls.DataReceived(data=b"replayed") in received


# ---- key log and trace -------------------------------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_keylog_filename_matches_python_ssl(tmp_path, version):
    ours_log, theirs_log = tmp_path / "ours.keys", tmp_path / "theirs.keys"
    config = sanstls.client_config(ca_pem=pem("ca.pem"), min_version=version, max_version=version,
                                   keylog_filename=ours_log)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = context.maximum_version = VERSIONS[version]
    context.load_cert_chain(PKI / "server.pem", PKI / "server.key")
    context.keylog_filename = str(theirs_log)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    theirs = (context.wrap_bio(incoming, outgoing, server_side=True), incoming, outgoing)
    ours = sanstls.Connection.client(config, "localhost")
    assert drive(ours, theirs) is None and ours.handshake_complete

    ours_lines = ours_log.read_text().splitlines()
    theirs_lines = {line for line in theirs_log.read_text().splitlines()
                    if not line.startswith("#")}
    labels = {line.split()[0] for line in ours_lines}
    if version == "TLSv1.3":
        assert {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} <= labels
    else:
        assert labels == {"CLIENT_RANDOM"}
    # Both ends of the same connection logged the same secrets.
    assert set(ours_lines) <= theirs_lines


def test_keylog_callback_and_trace_on_our_server():
    lines, trace = [], []
    config = sanstls.server_config(pem("server.pem"), pem("server.key"), keylog=lines.append,
                                   trace=trace.append)
    ours = sanstls.Connection.server(config)
    theirs = python_client("TLSv1.3")
    assert drive(ours, theirs) is None and ours.handshake_complete
    assert any(line.startswith("SERVER_TRAFFIC_SECRET_0 ") for line in lines)

    hello = next(e for e in trace if e["kind"] == "handshake_message")
    assert hello == {"direction": "received", "kind": "handshake_message",
                     "content_type": "handshake", "encrypted": False,
                     "handshake_type": "ClientHello", "alert": None, "fatal": False,
                     "length": hello["length"]}
    assert hello["length"] > 40
    assert any(e["kind"] == "handshake_message" and e["handshake_type"] == "ServerHello" and
               e["direction"] == "sent" for e in trace)
    assert any(e["kind"] == "record" and e["encrypted"] and e["direction"] == "sent"
               for e in trace)
    # close_notify, encrypted: in TLS 1.3 even its content type is hidden.
    before = len(trace)
    ours.close()
    assert [(e["direction"], e["kind"], e["content_type"], e["encrypted"])
            for e in trace[before:]] == [("sent", "record", "application_data", True)]

    with pytest.raises(sanstls.TLSError) as raised:
        sanstls.client_config(keylog=print, keylog_filename="x")
    assert raised.value.name == "ERR_INVALID_ARG_VALUE"
    with pytest.raises(sanstls.TLSError) as raised:
        sanstls.client_config(trace=1)
    assert raised.value.name == "ERR_INVALID_ARG_VALUE"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_callback_exceptions_do_not_break_the_handshake():
    def broken(_):
        raise ValueError("broken callback")

    config = sanstls.server_config(pem("server.pem"), pem("server.key"), keylog=broken,
                                   trace=broken)
    client_config = sanstls.client_config(ca_pem=pem("ca.pem"))
    client, server = pair(client_config, config)
    assert client.handshake_complete and server.handshake_complete
