// Timers on the injected clock, record sizing, keying material exporters and
// tracing.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <string>

#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

TEST_CASE("the handshake timeout runs on the injected clock", "[timers]") {
  Sources sources;
  auto server = Connection::server(build_or_fail(server_builder(sources)));
  REQUIRE(server);
  // Servers default to Node's 120 s.
  REQUIRE(server->next_deadline_ms().has_value());
  CHECK(*server->next_deadline_ms() == kNowMs + 120000);
  server->on_timer(kNowMs + 119999);
  CHECK(server->error().ok());
  server->on_timer(kNowMs + 120000);
  expect_error(server->error(), "ERR_TLS_HANDSHAKE_TIMEOUT", Stage::handshake);
  CHECK(server->wants().closed);
  CHECK_FALSE(server->next_deadline_ms().has_value());

  // Clients have none unless asked; a completed handshake clears it.
  auto client = Connection::client(build_or_fail(client_builder(sources)), "localhost");
  REQUIRE(client);
  CHECK_FALSE(client->next_deadline_ms().has_value());
  Pair pair = connect(build_or_fail(client_builder(sources).handshake_timeout(5000)),
                      build_or_fail(server_builder(sources)));
  REQUIRE(pair.handshake());
  CHECK_FALSE(pair.client.conn.next_deadline_ms().has_value());
  CHECK_FALSE(pair.server.conn.next_deadline_ms().has_value());
  pair.client.conn.on_timer(kNowMs + 10 * 60 * 1000);
  CHECK(pair.client.conn.error().ok());
}

TEST_CASE("close_timeout bounds the wait for the peer's close_notify", "[timers]") {
  Sources sources;
  Pair pair = connect(build_or_fail(client_builder(sources).close_timeout(3000)),
                      build_or_fail(server_builder(sources)));
  REQUIRE(pair.handshake());
  pair.client.conn.close();
  REQUIRE(pair.client.conn.next_deadline_ms().has_value());
  CHECK(*pair.client.conn.next_deadline_ms() == kNowMs + 3000);
  CHECK_FALSE(pair.client.conn.wants().closed);  // waiting for the server's close_notify
  pair.client.conn.on_timer(kNowMs + 3000);
  CHECK(pair.client.conn.wants().closed);
  CHECK(pair.client.conn.error().ok());
  CHECK_FALSE(pair.client.conn.next_deadline_ms().has_value());
}

TEST_CASE("max_send_fragment limits the records actually emitted", "[records]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  Pair pair = connect(
      build_or_fail(client_builder(sources).versions(version, version).max_send_fragment(1024)),
      build_or_fail(server_builder(sources)));
  REQUIRE(pair.handshake());
  const size_t before = pair.client_to_server.size();
  pair.send(pair.client, std::vector<uint8_t>(10000, 'f'));
  pair.pump();
  const std::vector<uint8_t> data(
      pair.client_to_server.begin() + static_cast<std::ptrdiff_t>(before),
      pair.client_to_server.end());
  const auto records = split_records(data);
  REQUIRE(records.size() == 10);  // 9 full records of 1024 and one of 784
  for (const RecordSummary& record : records) {
    CHECK(record.type == 23);
    CHECK(record.length <= 1024 + 32);  // plaintext + AEAD expansion
  }
  CHECK(records[0].length > 1024);
  CHECK(pair.server.received.size() == 10000);

  // Changed on a live connection, like Node's setMaxSendFragment.
  CHECK(pair.client.conn.set_max_send_fragment(600));
  CHECK_FALSE(pair.client.conn.set_max_send_fragment(100));
  CHECK_FALSE(pair.client.conn.set_max_send_fragment(20000));
  const size_t mark = pair.client_to_server.size();
  pair.send(pair.client, std::vector<uint8_t>(1200, 'g'));
  pair.pump();
  const auto small = split_records(
      std::vector<uint8_t>(pair.client_to_server.begin() + static_cast<std::ptrdiff_t>(mark),
                           pair.client_to_server.end()));
  REQUIRE(small.size() == 2);
  CHECK(small[0].length <= 600 + 32);

  auto bad = client_builder(sources).max_send_fragment(100).build();
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == ErrorCode::invalid_argument);
}

TEST_CASE("keying material exporters agree on both sides", "[exporter]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  Pair pair = connect(build_or_fail(client_builder(sources).versions(version, version)),
                      build_or_fail(server_builder(sources)));
  REQUIRE(pair.handshake());
  auto a = pair.client.conn.export_keying_material("EXPORTER-sanstls-test", ByteView("ctx"), 32);
  auto b = pair.server.conn.export_keying_material("EXPORTER-sanstls-test", ByteView("ctx"), 32);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a.value() == b.value());
  CHECK(a->size() == 32);
  auto other = pair.client.conn.export_keying_material("EXPORTER-other", ByteView("ctx"), 32);
  REQUIRE(other);
  CHECK(other.value() != a.value());
  auto no_context =
      pair.client.conn.export_keying_material("EXPORTER-sanstls-test", ByteView(), 32);
  REQUIRE(no_context);
  CHECK(no_context.value() != a.value());

  auto early = Connection::client(build_or_fail(client_builder(sources)), "localhost");
  REQUIRE(early);
  auto refused = early->export_keying_material("EXPORTER-x", ByteView(), 16);
  REQUIRE_FALSE(refused);
  CHECK(std::string(refused.error().name()) == "ERR_TLS_EXPORT_UNAVAILABLE");
}

TEST_CASE("tracing shows every record and the plaintext handshake messages", "[trace]") {
  Sources sources;
  std::vector<TraceEntry> client_trace;
  Pair pair =
      connect(build_or_fail(client_builder(sources)
                                .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                                .trace([&](const TraceEntry& e) { client_trace.push_back(e); })),
              build_or_fail(server_builder(sources)));
  REQUIRE(pair.handshake());
  pair.client.conn.close();
  pair.pump();
  std::vector<std::string> sent, received;
  size_t records_sent = 0, records_received = 0;
  bool saw_encrypted_alert = false;
  for (const TraceEntry& e : client_trace) {
    const bool out = e.direction == TraceEntry::Direction::sent;
    if (e.kind == TraceEntry::Kind::handshake_message) {
      (out ? sent : received).emplace_back(handshake_type_name(e.handshake_type));
    } else if (e.kind == TraceEntry::Kind::record) {
      ++(out ? records_sent : records_received);
      if (out && e.content_type == 21 && e.encrypted) saw_encrypted_alert = true;
    }
  }
  CHECK(sent == std::vector<std::string>{"ClientHello", "ClientKeyExchange"});
  CHECK(received == std::vector<std::string>{"ServerHello", "Certificate", "ServerKeyExchange",
                                             "ServerHelloDone", "NewSessionTicket"});
  CHECK(records_sent == split_records(pair.client_to_server).size());
  CHECK(records_received == split_records(pair.server_to_client).size());
  CHECK(saw_encrypted_alert);  // the close_notify
  CHECK(std::string(content_type_name(22)) == "handshake");
}

TEST_CASE("presets: modern is TLS 1.3 only, intermediate allows TLS 1.2", "[policy]") {
  Sources sources;
  const Config modern = build_or_fail(server_builder(sources).preset(Preset::modern));
  CHECK(modern.min_version() == TlsVersion::tls1_3);
  CHECK(modern.cipher_suite_names().size() == 3);
  const Config intermediate = build_or_fail(server_builder(sources).preset(Preset::intermediate));
  CHECK(intermediate.min_version() == TlsVersion::tls1_2);
  CHECK(intermediate.group_names() == std::vector<std::string>{"X25519", "P-256", "P-384"});
  Pair refused = connect(
      build_or_fail(client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2)),
      modern);
  expect_error(refused.server.conn.error(), "ERR_SSL_UNSUPPORTED_PROTOCOL", Stage::handshake);
  Pair ok = connect(
      build_or_fail(client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2)),
      intermediate);
  CHECK(ok.client.conn.wants().handshake_complete);
}

TEST_CASE("signature algorithms restrict what is used and accepted", "[policy]") {
  Sources sources;
  // An RSA server signs with RSA-PSS in TLS 1.3, which a PSS-only client accepts...
  ConfigBuilder rsa_server(Role::server);
  rsa_server.random(sources.server_random)
      .clock(sources.clock)
      .certificate(pki().rsa_leaf.certificate_pem, pki().rsa_leaf.key.private_key_pem);
  const Config client_pss = build_or_fail(client_builder(sources)
                                              .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
                                              .signature_algorithms("rsa_pss_rsae_sha256"));
  Pair pss = connect(client_pss, build_or_fail(rsa_server));
  REQUIRE(pss.client.conn.wants().handshake_complete);
  // ...and an ECDSA-only client refuses an RSA-only server.
  const Config client_ecdsa =
      build_or_fail(client_builder(sources).signature_algorithms("ECDSA+SHA256"));
  Pair ecdsa = connect(client_ecdsa, build_or_fail(rsa_server));
  CHECK_FALSE(ecdsa.client.conn.wants().handshake_complete);
  CHECK_FALSE(ecdsa.server.conn.error().ok());
  auto bad = client_builder(sources).signature_algorithms("md5_rsa").build();
  REQUIRE_FALSE(bad);
  CHECK(std::string(bad.error().message()).find("md5_rsa") != std::string::npos);
}

TEST_CASE("honor_cipher_order picks by the server's or the client's order", "[policy]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const bool v13 = version == TlsVersion::tls1_3;
  const char* client_order = v13 ? "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
                                 : "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384";
  const char* server_order = v13 ? "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
                                 : "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305";
  const Config client_config =
      build_or_fail(client_builder(sources).versions(version, version).cipher_suites(client_order));
  auto negotiated = [&](bool server_first) {
    Pair pair = connect(client_config, build_or_fail(server_builder(sources)
                                                         .versions(version, version)
                                                         .cipher_suites(server_order)
                                                         .honor_cipher_order(server_first)));
    REQUIRE(pair.handshake());
    return std::string(pair.server.conn.info().cipher.standard_name);
  };
  CHECK(negotiated(true).find("AES_256_GCM") != std::string::npos);
  CHECK(negotiated(false).find("CHACHA20") != std::string::npos);
}

TEST_CASE("TLS 1.2 renegotiation: off by default, secure only, rate-limited", "[renegotiation]") {
  Sources sources;
  const Config client_config = build_or_fail(
      client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2).renegotiation(true));
  SECTION("three in ten minutes are fine, a fourth is an attack") {
    Pair pair = connect(client_config, build_or_fail(server_builder(sources).renegotiation(true)));
    REQUIRE(pair.handshake());
    for (int i = 0; i < 3; ++i) {
      REQUIRE(pair.client.conn.renegotiate());
      pair.send(pair.client, {'r', static_cast<uint8_t>('0' + i)});
      pair.pump();
      REQUIRE(pair.server.conn.error().ok());
      sources.clock.advance_ms(60 * 1000);
    }
    CHECK(std::string(pair.server.received.begin(), pair.server.received.end()) == "r0r1r2");
    uint32_t client_renegotiations = 0, server_renegotiations = 0;
    for (const Event& e : pair.client.events) {
      if (e.kind == EventKind::renegotiated) client_renegotiations += e.count;
    }
    for (const Event& e : pair.server.events) {
      if (e.kind == EventKind::renegotiated) server_renegotiations += e.count;
    }
    CHECK(client_renegotiations == 3);
    CHECK(server_renegotiations == 3);
    REQUIRE(pair.client.conn.renegotiate());
    pair.pump();
    expect_error(pair.server.conn.error(), "ERR_TLS_SESSION_ATTACK", Stage::record);
  }
  SECTION("the window slides") {
    Pair pair = connect(client_config, build_or_fail(server_builder(sources).renegotiation(true)));
    REQUIRE(pair.handshake());
    for (int i = 0; i < 6; ++i) {
      REQUIRE(pair.client.conn.renegotiate());
      pair.pump();
      REQUIRE(pair.server.conn.error().ok());
      sources.clock.advance_ms(4 * 60 * 1000);  // 3 per 12 minutes
    }
  }
  SECTION("a server without it refuses with no_renegotiation") {
    Pair pair = connect(client_config, build_or_fail(server_builder(sources)));
    REQUIRE(pair.handshake());
    REQUIRE(pair.client.conn.renegotiate());
    pair.pump();
    CHECK(pair.server.conn.error().ok());  // the server simply declined
    CHECK(pair.client.has_event(EventKind::warning_alert));
    // mbedTLS's client cannot resume normal traffic after a refusal: a named end.
    expect_error(pair.client.conn.error(), "ERR_SSL_NO_RENEGOTIATION", Stage::record);
    expect_alert(pair.client.conn.error(), Alert::no_renegotiation, AlertDirection::received);
  }
  SECTION("disabled or TLS 1.3: renegotiate() says no") {
    Pair plain = connect(
        build_or_fail(client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2)),
        build_or_fail(server_builder(sources)));
    REQUIRE(plain.handshake());
    CHECK_FALSE(plain.client.conn.renegotiate());
    Pair v13 = connect(build_or_fail(client_builder(sources).renegotiation(true)),
                       build_or_fail(server_builder(sources).renegotiation(true)));
    REQUIRE(v13.handshake());
    CHECK_FALSE(v13.client.conn.renegotiate());
  }
}

TEST_CASE("ConfigSlot swaps the Config for new connections only", "[reload]") {
  Sources sources;
  ConfigSlot slot(build_or_fail(server_builder(sources)));
  const Config client_config = build_or_fail(client_builder(sources));
  auto before = Connection::server(slot.load());
  REQUIRE(before);
  ConfigBuilder rsa(Role::server);
  rsa.random(sources.server_random)
      .clock(sources.clock)
      .certificate(pki().rsa_leaf.certificate_pem, pki().rsa_leaf.key.private_key_pem);
  slot.store(build_or_fail(rsa));
  auto client_a = Connection::client(client_config, "localhost");
  REQUIRE(client_a);
  Pair old_pair(std::move(client_a).value(), std::move(before).value());
  REQUIRE(old_pair.handshake());
  CHECK(old_pair.client.conn.info().peer_certificates.at(0).issuer ==
        "CN=sanstls test intermediate, O=sanstls test");
  auto client_b = Connection::client(client_config, "localhost");
  auto after = Connection::server(slot.load());
  REQUIRE(client_b);
  REQUIRE(after);
  Pair new_pair(std::move(client_b).value(), std::move(after).value());
  REQUIRE(new_pair.handshake());
  CHECK(new_pair.client.conn.info().peer_certificates.at(0).issuer ==
        "CN=sanstls test root RSA, O=sanstls test");
}
