// Every way a handshake or a connection can fail gets a named error, the
// right stage and the alert the RFCs require, on both sides.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <string>

#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

Pair connect(const ConfigBuilder& client, const ConfigBuilder& server,
             const char* name = "localhost") {
  auto c = Connection::client(build_or_fail(client), name);
  REQUIRE(c);
  auto s = Connection::server(build_or_fail(server));
  REQUIRE(s);
  Pair pair(std::move(c).value(), std::move(s).value());
  pair.pump();
  return pair;
}

ConfigBuilder server_with_chain(Sources& sources, const std::string& chain,
                                const std::string& key) {
  ConfigBuilder builder(Role::server);
  builder.random(sources.server_random).clock(sources.clock).certificate(chain, key);
  return builder;
}

// The failing side names the problem and sends an alert; the other side
// names the alert it received.
void expect_rejected_by(Endpoint& detector, Endpoint& peer, const std::string& name, Stage stage,
                        Alert alert) {
  expect_error(detector.conn.error(), name, stage);
  expect_alert(detector.conn.error(), alert, AlertDirection::sent);
  expect_error(peer.conn.error(), "ERR_SSL_PEER_ALERT", Stage::handshake);
  expect_alert(peer.conn.error(), alert, AlertDirection::received);
  CHECK(detector.conn.wants().closed);
  CHECK(peer.conn.wants().closed);
}

}  // namespace

TEST_CASE("version mismatch: TLS 1.3-only client against TLS 1.2-only server",
          "[failure][version]") {
  Sources sources;
  Pair pair = connect(client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3),
                      server_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2));
  CHECK_FALSE(pair.client.conn.wants().handshake_complete);
  // Whichever side notices first names it; the other hears protocol_version.
  if (pair.client.conn.error().code() == ErrorCode::unsupported_protocol) {
    expect_rejected_by(pair.client, pair.server, "ERR_SSL_UNSUPPORTED_PROTOCOL", Stage::handshake,
                       Alert::protocol_version);
  } else {
    expect_rejected_by(pair.server, pair.client, "ERR_SSL_UNSUPPORTED_PROTOCOL", Stage::handshake,
                       Alert::protocol_version);
  }
}

TEST_CASE("version mismatch: TLS 1.2-only client against TLS 1.3-only server",
          "[failure][version]") {
  Sources sources;
  Pair pair = connect(client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2),
                      server_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3));
  expect_rejected_by(pair.server, pair.client, "ERR_SSL_UNSUPPORTED_PROTOCOL", Stage::handshake,
                     Alert::protocol_version);
}

TEST_CASE("no shared cipher suite", "[failure][cipher]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const bool v13 = version == TlsVersion::tls1_3;
  Pair pair =
      connect(client_builder(sources)
                  .versions(version, version)
                  .cipher_suites(v13 ? "TLS_AES_128_GCM_SHA256" : "ECDHE-ECDSA-AES128-GCM-SHA256"),
              server_builder(sources)
                  .versions(version, version)
                  .cipher_suites(v13 ? "TLS_AES_256_GCM_SHA384" : "ECDHE-ECDSA-AES256-GCM-SHA384"));
  expect_rejected_by(pair.server, pair.client, "ERR_SSL_NO_SHARED_CIPHER", Stage::handshake,
                     Alert::handshake_failure);
}

TEST_CASE("no shared group", "[failure][group]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  Pair pair = connect(client_builder(sources).versions(version, version).groups("X25519"),
                      server_builder(sources).versions(version, version).groups("P-384"));
  expect_rejected_by(pair.server, pair.client, "ERR_SSL_NO_SUITABLE_KEY_SHARE", Stage::handshake,
                     Alert::handshake_failure);
}

TEST_CASE("certificate problems get OpenSSL's names and the matching alert",
          "[failure][certificate]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  struct Case {
    const char* what;
    std::string chain;
    std::string key;
    const char* server_name;
    const char* error;
    Alert alert;
  };
  const TestPki& p = pki();
  const Case c = GENERATE_REF(values<Case>({
      {"expired", p.expired_leaf.certificate_pem, p.expired_leaf.key.private_key_pem, "localhost",
       "CERT_HAS_EXPIRED", Alert::certificate_expired},
      {"not yet valid", p.future_leaf.certificate_pem, p.future_leaf.key.private_key_pem,
       "localhost", "CERT_NOT_YET_VALID", Alert::certificate_unknown},
      {"self-signed", p.self_signed_leaf.certificate_pem, p.self_signed_leaf.key.private_key_pem,
       "localhost", "DEPTH_ZERO_SELF_SIGNED_CERT", Alert::unknown_ca},
      {"unknown CA", p.other_leaf.certificate_pem, p.other_leaf.key.private_key_pem, "localhost",
       "UNABLE_TO_VERIFY_LEAF_SIGNATURE", Alert::unknown_ca},
      {"untrusted root sent in the chain", testing::chain_pem({&p.other_leaf, &p.other_root}),
       p.other_leaf.key.private_key_pem, "localhost", "SELF_SIGNED_CERT_IN_CHAIN",
       Alert::unknown_ca},
      {"missing intermediate", p.ecdsa_leaf.certificate_pem, p.ecdsa_leaf.key.private_key_pem,
       "localhost", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", Alert::unknown_ca},
      {"wrong host name", ecdsa_chain_pem(), p.ecdsa_leaf.key.private_key_pem, "example.com",
       "ERR_TLS_CERT_ALTNAME_INVALID", Alert::bad_certificate},
  }));
  CAPTURE(c.what);
  Sources sources;
  Pair pair = connect(client_builder(sources).versions(version, version),
                      server_with_chain(sources, c.chain, c.key), c.server_name);
  expect_rejected_by(pair.client, pair.server, c.error, Stage::certificate, c.alert);

  // With verification optional (Node's rejectUnauthorized: false) the same
  // certificate is accepted, and the reason is still reported.
  Sources again;
  Pair lenient = connect(client_builder(again)
                             .versions(version, version)
                             .peer_verification(PeerVerification::optional),
                         server_with_chain(again, c.chain, c.key), c.server_name);
  REQUIRE(lenient.client.conn.wants().handshake_complete);
  CHECK_FALSE(lenient.client.conn.info().authorized);
  CHECK(std::string(lenient.client.conn.info().authorization_error.name()) == c.error);
}

TEST_CASE("the chain's root is not a trust anchor", "[failure][certificate]") {
  Sources sources;
  // Trust only the RSA root: the ECDSA chain ends at an intermediate whose issuer is unknown.
  ConfigBuilder client(Role::client);
  client.random(sources.client_random)
      .clock(sources.clock)
      .trust_anchors(pki().rsa_root.certificate_pem);
  Pair pair = connect(client, server_builder(sources));
  expect_rejected_by(pair.client, pair.server, "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
                     Stage::certificate, Alert::unknown_ca);
}

TEST_CASE("a required client certificate that is missing", "[failure][mtls]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  ConfigBuilder server = server_builder(sources).versions(version, version);
  server.peer_verification(PeerVerification::required).trust_anchors(trusted_roots_pem());
  Pair pair = connect(client_builder(sources).versions(version, version), server);
  CHECK_FALSE(pair.server.has_event(EventKind::handshake_complete));
  expect_error(pair.server.conn.error(), "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE",
               Stage::certificate);
  CHECK(pair.server.conn.error().alert_direction() == AlertDirection::sent);
  // TLS 1.3 clients finish before the server judges their certificate, so
  // they hear about it after the handshake.
  expect_error(pair.client.conn.error(), "ERR_SSL_PEER_ALERT",
               version == TlsVersion::tls1_3 ? Stage::record : Stage::handshake);
  CHECK(pair.client.conn.error().alert() == pair.server.conn.error().alert());
  if (version == TlsVersion::tls1_3) {
    CHECK(pair.server.conn.error().alert() == Alert::certificate_required);
  }

  // The same server accepts a client that presents a certificate it trusts.
  Sources again;
  ConfigBuilder server2 = server_builder(again).versions(version, version);
  server2.peer_verification(PeerVerification::required).trust_anchors(trusted_roots_pem());
  ConfigBuilder client2 = client_builder(again).versions(version, version);
  client2.certificate(pki().client_leaf.certificate_pem, pki().client_leaf.key.private_key_pem);
  Pair ok = connect(client2, server2);
  REQUIRE(ok.server.conn.wants().handshake_complete);
  CHECK(ok.server.conn.info().authorized);
  REQUIRE(ok.server.conn.info().peer_certificates.size() == 1);
  CHECK(ok.server.conn.info().peer_certificates[0].subject == "CN=client.example, O=sanstls test");
}

TEST_CASE("a corrupted record fails authentication with bad_record_mac", "[failure][record]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  Pair pair = connect(client_builder(sources).versions(version, version), server_builder(sources));
  REQUIRE(pair.handshake());
  REQUIRE(pair.client.conn.write(ByteView("hello, tampered world")) > 0);
  ByteView out = pair.client.conn.pending_output();
  std::vector<uint8_t> record(out.begin(), out.end());
  pair.client.conn.consume_output(out.size());
  record[record.size() - 3] ^= 0x40;  // inside the AEAD tag
  CHECK(pair.server.conn.feed(ByteView(record)) == record.size());
  expect_error(pair.server.conn.error(), "ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC",
               Stage::record);
  expect_alert(pair.server.conn.error(), Alert::bad_record_mac, AlertDirection::sent);
  CHECK(pair.server.received.empty());
  // The alert is waiting for the transport, and the client understands it.
  REQUIRE_FALSE(pair.server.conn.pending_output().empty());
  pair.pump();
  expect_error(pair.client.conn.error(), "ERR_SSL_PEER_ALERT", Stage::record);
  expect_alert(pair.client.conn.error(), Alert::bad_record_mac, AlertDirection::received);
}

TEST_CASE("close_notify is a clean end; a bare transport end is truncation", "[failure][close]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  Pair pair = connect(client_builder(sources).versions(version, version), server_builder(sources));
  REQUIRE(pair.handshake());

  SECTION("close_notify, then the transport ends") {
    pair.send(pair.client, {'b', 'y', 'e'});
    pair.pump();
    pair.client.conn.close();
    CHECK(pair.client.conn.wants().write_closed);
    CHECK(pair.client.conn.write(ByteView("late")) == 0);
    pair.pump();
    CHECK(pair.server.has_event(EventKind::peer_closed));
    CHECK(pair.server.conn.wants().read_closed);
    CHECK(std::string(pair.server.received.begin(), pair.server.received.end()) == "bye");
    pair.server.conn.transport_eof();
    CHECK(pair.server.conn.error().ok());
    // Half-close: the server may still answer before closing its side.
    CHECK(pair.server.conn.write(ByteView("ok")) == 2);
    pair.server.conn.close();
    pair.pump();
    CHECK(std::string(pair.client.received.begin(), pair.client.received.end()) == "ok");
    CHECK(pair.client.has_event(EventKind::peer_closed));
    CHECK(pair.client.conn.wants().closed);
    CHECK(pair.server.conn.wants().closed);
    CHECK(pair.client.conn.error().ok());
  }
  SECTION("the transport ends without close_notify") {
    pair.send(pair.client, {'c', 'u', 't'});
    pair.pump();
    pair.server.conn.transport_eof();
    expect_error(pair.server.conn.error(), "ERR_SSL_UNEXPECTED_EOF_WHILE_READING",
                 Stage::transport);
    CHECK_FALSE(pair.server.has_event(EventKind::peer_closed));
    CHECK(pair.server.conn.wants().closed);
  }
}

TEST_CASE("the transport ending during the handshake is a handshake error", "[failure][close]") {
  Sources sources;
  auto client = Connection::client(build_or_fail(client_builder(sources)), "localhost");
  REQUIRE(client);
  client->transport_eof();
  expect_error(client->error(), "ERR_SSL_UNEXPECTED_EOF_WHILE_READING", Stage::handshake);
}

TEST_CASE("plain HTTP is named as such on both sides", "[failure][http]") {
  Sources sources;
  SECTION("an HTTP request reaches a TLS server") {
    auto server = Connection::server(build_or_fail(server_builder(sources)));
    REQUIRE(server);
    const std::string request = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    server->feed(ByteView(request));
    expect_error(server->error(), "ERR_SSL_HTTP_REQUEST", Stage::handshake);
    CHECK_FALSE(server->error().has_alert());  // HTTP clients cannot read TLS alerts
    CHECK(server->wants().closed);
  }
  SECTION("a TLS client gets an HTTP response") {
    auto client = Connection::client(build_or_fail(client_builder(sources)), "localhost");
    REQUIRE(client);
    client->consume_output(client->pending_output().size());
    client->feed(ByteView("HTTP/1.1 400 Bad Request\r\n\r\n"));
    expect_error(client->error(), "ERR_SSL_HTTP_RESPONSE", Stage::handshake);
  }
}

TEST_CASE("random garbage never hangs: a named error and an alert", "[failure][garbage]") {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    Sources sources(seed);
    auto server = Connection::server(build_or_fail(server_builder(sources)));
    REQUIRE(server);
    SeededRandom noise(seed);
    std::vector<uint8_t> garbage(64);
    noise.fill(MutableByteView(garbage.data(), garbage.size()));
    server->feed(ByteView(garbage));
    if (server->error().ok()) {
      // A plausible header waits for its body; the stream's end then fails it.
      CHECK(server->wants().wants_input);
      server->transport_eof();
    }
    REQUIRE_FALSE(server->error().ok());
    CHECK(server->error().code() != ErrorCode::internal_error);
    CHECK(server->wants().closed);
  }
}

TEST_CASE("oversized records get record_overflow, not bad_record_mac", "[failure][record]") {
  Sources sources;
  SECTION("before the handshake: a plaintext record above 2^14") {
    auto server = Connection::server(build_or_fail(server_builder(sources)));
    REQUIRE(server);
    const uint8_t header[] = {22, 3, 1, 0x40, 0x01};  // 16385 bytes
    server->feed(ByteView(header, sizeof header));
    expect_error(server->error(), "ERR_SSL_RECORD_OVERFLOW", Stage::handshake);
    expect_alert(server->error(), Alert::record_overflow, AlertDirection::sent);
    const auto records = split_records(
        std::vector<uint8_t>(server->pending_output().begin(), server->pending_output().end()));
    REQUIRE(records.size() == 1);
    CHECK(records[0].type == 21);  // the alert, waiting to be flushed
  }
  SECTION("after the handshake: a protected record above 2^14 + 256") {
    const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
    Pair pair =
        connect(client_builder(sources).versions(version, version), server_builder(sources));
    REQUIRE(pair.handshake());
    const uint8_t header[] = {23, 3, 3, 0x41, 0x01};  // 16641 bytes
    pair.server.conn.feed(ByteView(header, sizeof header));
    expect_error(pair.server.conn.error(), "ERR_SSL_RECORD_OVERFLOW", Stage::record);
    expect_alert(pair.server.conn.error(), Alert::record_overflow, AlertDirection::sent);
    pair.pump();
    expect_alert(pair.client.conn.error(), Alert::record_overflow, AlertDirection::received);
  }
}

TEST_CASE("an unknown record type gets unexpected_message", "[failure][record]") {
  Sources sources;
  Pair pair = connect(client_builder(sources), server_builder(sources));
  REQUIRE(pair.handshake());
  const uint8_t record[] = {99, 3, 3, 0, 1, 0};
  pair.server.conn.feed(ByteView(record, sizeof record));
  expect_error(pair.server.conn.error(), "ERR_SSL_UNEXPECTED_RECORD", Stage::record);
  expect_alert(pair.server.conn.error(), Alert::unexpected_message, AlertDirection::sent);
}

TEST_CASE("errors are sticky", "[failure][sticky]") {
  Sources sources;
  auto server = Connection::server(build_or_fail(server_builder(sources)));
  REQUIRE(server);
  const uint8_t bad[] = {99, 3, 3, 0, 1, 0};
  server->feed(ByteView(bad, sizeof bad));
  const Error first = server->error();
  REQUIRE_FALSE(first.ok());
  CHECK(server->feed(ByteView("more bytes")) == 0);
  CHECK(server->write(ByteView("data")) == 0);
  uint8_t buffer[16];
  CHECK(server->read(MutableByteView(buffer, sizeof buffer)) == 0);
  server->close();
  server->transport_eof();
  CHECK(server->error().code() == first.code());
  CHECK(std::string(server->error().message()) == first.message());
}
