// Defects BoGo (BoringSSL's TLS test runner, scripts/bogo.sh) found in the
// engine, each pinned down here without the runner.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "call_scope.h"
#include "mbedtls/pk.h"
#include "mbedtls/ssl.h"
#include "mbedtls/sha256.h"
#include "support/fixtures.h"
#include "support/pair.h"
#include "support/raw_peer.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

using Bytes = std::vector<uint8_t>;

uint16_t get16(const Bytes& b, size_t at) {
  return static_cast<uint16_t>(b.at(at) << 8 | b.at(at + 1));
}

// The signature_algorithms list of the ClientHello a client Config sends.
std::vector<uint16_t> offered_signature_algorithms(const Config& config) {
  auto client = Connection::client(config, "localhost");
  REQUIRE(client.ok());
  ByteView out = client->pending_output();
  const Bytes hello(out.begin(), out.end());
  REQUIRE(hello.size() > 5 + 4 + 34);
  REQUIRE(hello[5] == 1);  // ClientHello
  size_t at = 5 + 4 + 2 + 32;
  at += 1 + hello.at(at);      // session id
  at += 2 + get16(hello, at);  // cipher suites
  at += 1 + hello.at(at);      // compression methods
  const size_t end = at + 2 + get16(hello, at);
  at += 2;
  while (at + 4 <= end) {
    const uint16_t type = get16(hello, at), length = get16(hello, at + 2);
    if (type == 0x000d) {
      std::vector<uint16_t> schemes;
      const size_t list_end = at + 6 + get16(hello, at + 4);
      for (size_t p = at + 6; p + 2 <= list_end; p += 2) schemes.push_back(get16(hello, p));
      return schemes;
    }
    at += 4 + length;
  }
  FAIL("no signature_algorithms extension");
  return {};
}

size_t position(const std::vector<uint16_t>& list, uint16_t scheme) {
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i] == scheme) return i;
  }
  return list.size();
}

}  // namespace

// mbedTLS's TLS 1.2 client cannot verify an RSA-PSS ServerKeyExchange, yet a
// client offering TLS 1.2 and 1.3 must offer RSA-PSS (TLS 1.3 needs it). A
// TLS 1.2 server with an RSA key that follows the client's order (OpenSSL's
// `s_server -tls1_2`) picked RSA-PSS and our client failed with
// illegal_parameter; PKCS#1 v1.5 now comes first among the RSA schemes.
TEST_CASE("a client offering TLS 1.2 and 1.3 lists RSA PKCS#1 before RSA-PSS",
          "[bogo][signature]") {
  Sources sources;
  SECTION("default schemes") {
    const auto schemes = offered_signature_algorithms(build_or_fail(client_builder(sources)));
    CHECK(position(schemes, 0x0401) < position(schemes, 0x0804));  // rsa_pkcs1_sha256 first
    CHECK(position(schemes, 0x0804) < schemes.size());  // RSA-PSS still offered (TLS 1.3)
    CHECK(position(schemes, 0x0403) == 0);              // ECDSA keeps its place
  }
  SECTION("schemes given in another order") {
    auto builder = client_builder(sources);
    builder.signature_algorithms("rsa_pss_rsae_sha256:ecdsa_secp256r1_sha256:rsa_pkcs1_sha256");
    const auto schemes = offered_signature_algorithms(build_or_fail(builder));
    REQUIRE(schemes == std::vector<uint16_t>{0x0401, 0x0804, 0x0403});
  }
  SECTION("TLS 1.3 only: the order given is kept") {
    auto builder = client_builder(sources);
    builder.versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
        .signature_algorithms("rsa_pss_rsae_sha256:rsa_pkcs1_sha256");
    const auto schemes = offered_signature_algorithms(build_or_fail(builder));
    REQUIRE(schemes == std::vector<uint16_t>{0x0804, 0x0401});
  }
}

// Both versions still complete against an RSA server after the reordering.
TEST_CASE("the reordered client still completes TLS 1.2 and 1.3 with an RSA server",
          "[bogo][signature]") {
  Sources sources;
  const TlsVersion version = GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
  auto server_b = ConfigBuilder(Role::server);
  server_b.random(sources.server_random)
      .clock(sources.clock)
      .certificate(pki().rsa_leaf.certificate_pem, pki().rsa_leaf.key.private_key_pem)
      .versions(version, version);
  Pair pair = connect(build_or_fail(client_builder(sources)), build_or_fail(server_b));
  REQUIRE(pair.client.conn.wants().handshake_complete);
  CHECK(pair.client.conn.info().version == version);
}

namespace {

Bytes take_output(Connection& conn) {
  ByteView out = conn.pending_output();
  Bytes bytes(out.begin(), out.end());
  conn.consume_output(bytes.size());
  return bytes;
}

}  // namespace

// RFC 8446 protects everything after the ServerHello. mbedTLS 3.6 switches a
// client's outbound keys only for its second flight, so an alert about the
// server's encrypted flight went out in the clear, and the server, reading
// under the handshake keys, saw garbage (bad_record_mac) instead of it.
TEST_CASE("a TLS 1.3 client's alert after the ServerHello is under the handshake keys",
          "[bogo][alert]") {
  Sources sources;
  auto client_b = client_builder(sources);
  client_b.versions(TlsVersion::tls1_3, TlsVersion::tls1_3);
  auto server_b = server_builder(sources);
  server_b.versions(TlsVersion::tls1_3, TlsVersion::tls1_3);
  auto client = Connection::client(build_or_fail(client_b), "localhost");
  auto server = Connection::server(build_or_fail(server_b));
  REQUIRE(client.ok());
  REQUIRE(server.ok());
  Bytes hello = take_output(client.value());
  REQUIRE(server->feed(ByteView(hello)) == hello.size());
  Bytes flight = take_output(server.value());
  const auto records = split_records(flight);
  REQUIRE(records.size() >= 3);
  REQUIRE(records.back().type == 23);
  flight.back() ^= 0x01;  // the tag of the server's last encrypted record
  client->feed(ByteView(flight));
  REQUIRE(client->error().code() == ErrorCode::bad_record_mac);
  REQUIRE(client->error().alert_direction() == AlertDirection::sent);

  const Bytes alert = take_output(client.value());
  const auto sent = split_records(alert);
  // Compatibility mode: the dummy ChangeCipherSpec, then the alert, which is
  // protected (application_data), not a plaintext alert (21).
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].type == 20);
  CHECK(sent[1].type == 23);
  server->feed(ByteView(alert));
  REQUIRE(server->error().code() == ErrorCode::peer_alert);
  CHECK(server->error().alert() == Alert::bad_record_mac);
  CHECK(server->error().alert_direction() == AlertDirection::received);
}

// A TLS 1.3 handshake where the only suite both sides enable is a TLS 1.2
// suite: no suite is shared in the version negotiated, which is
// ERR_SSL_NO_SHARED_CIPHER, not a generic handshake failure (BoGo offers
// TLS 1.2 suites in TLS 1.3 ClientHellos).
TEST_CASE("a TLS 1.3 server whose only common suite is a TLS 1.2 one says no_shared_cipher",
          "[bogo][naming]") {
  Sources sources;
  auto client_b = client_builder(sources);
  client_b.cipher_suites("TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256");
  auto server_b = server_builder(sources);
  server_b.versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
      .cipher_suites("TLS_AES_256_GCM_SHA384:ECDHE-ECDSA-AES128-GCM-SHA256");
  Pair pair = connect(build_or_fail(client_b), build_or_fail(server_b));
  CHECK(pair.server.conn.error().code() == ErrorCode::no_shared_cipher);
  CHECK(pair.server.conn.error().alert() == Alert::handshake_failure);
}

// A TLS 1.2 ServerKeyExchange whose signature does not verify: mbedTLS
// answers decrypt_error (RFC 5246 7.4.3) but returned a low-level ECP/RSA
// code, which we reported as ERR_TLS_INTERNAL. It is ERR_SSL_BAD_SIGNATURE.
TEST_CASE("a TLS 1.2 ServerKeyExchange with a bad signature is ERR_SSL_BAD_SIGNATURE",
          "[bogo][naming]") {
  Sources sources;
  auto client_b = client_builder(sources);
  client_b.versions(TlsVersion::tls1_2, TlsVersion::tls1_2);
  auto client = Connection::client(build_or_fail(client_b), "localhost");
  auto server = Connection::server(build_or_fail(server_builder(sources)));
  REQUIRE(client.ok());
  REQUIRE(server.ok());
  Bytes hello = take_output(client.value());
  REQUIRE(server->feed(ByteView(hello)) == hello.size());
  Bytes flight = take_output(server.value());
  // Walk the handshake records to the ServerKeyExchange (type 12) and flip
  // the last byte of its signature.
  bool tampered = false;
  for (size_t at = 0; at + 5 <= flight.size() && !tampered;) {
    const size_t length = get16(flight, at + 3);
    if (flight[at] == 22) {
      for (size_t m = at + 5; m + 4 <= at + 5 + length;) {
        const size_t body =
            size_t{flight[m + 1]} << 16 | size_t{flight[m + 2]} << 8 | flight[m + 3];
        if (flight[m] == 12) {
          flight[m + 4 + body - 1] ^= 0x01;
          tampered = true;
          break;
        }
        m += 4 + body;
      }
    }
    at += 5 + length;
  }
  REQUIRE(tampered);
  client->feed(ByteView(flight));
  CHECK(client->error().code() == ErrorCode::bad_signature);
  CHECK(std::string(client->error().name()) == "ERR_SSL_BAD_SIGNATURE");
  CHECK(client->error().alert() == Alert::decrypt_error);
  CHECK(client->error().alert_direction() == AlertDirection::sent);
}

// An alert whose level is neither warning (1) nor fatal (2) is an illegal
// value; mbedTLS ignored it (as a warning) and the connection went on.
TEST_CASE("an alert with an unknown level ends the connection with illegal_parameter",
          "[bogo][alert]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_2, TlsVersion::tls1_3);
  Sources sources;
  detail::CallScope scope{nullptr, &sources.clock, &sources.server_random};
  auto made = Connection::client(build_or_fail(client_builder(sources).versions(version, version)),
                                 "localhost");
  REQUIRE(made);
  Connection client = std::move(made).value();
  raw_peer* peer = raw_peer_new_server_version(ecdsa_chain_pem().c_str(),
                                               pki().ecdsa_leaf.key.private_key_pem.c_str(),
                                               static_cast<int>(version));
  REQUIRE(peer != nullptr);
  uint8_t buffer[65536];
  auto deliver = [&] {
    const size_t n = raw_peer_take_output(peer, buffer, sizeof buffer);
    size_t used = 0;
    for (int guard = 0; guard < 100 && used < n; ++guard) {
      const size_t taken = client.feed(ByteView(buffer + used, n - used));
      if (taken == 0) break;
      used += taken;
    }
  };
  int status = 1;
  for (int i = 0; i < 50 && !(status == 0 && client.wants().handshake_complete); ++i) {
    ByteView out = client.pending_output();
    raw_peer_feed(peer, out.data(), out.size());
    client.consume_output(out.size());
    status = raw_peer_handshake(peer);
    REQUIRE(status >= 0);
    deliver();
  }
  REQUIRE(client.wants().handshake_complete);
  REQUIRE(raw_peer_send_alert(peer, 0x42, 10) == 0);  // level 0x42, unexpected_message
  deliver();
  CHECK(client.error().code() == ErrorCode::illegal_parameter);
  CHECK(client.error().alert() == Alert::illegal_parameter);
  CHECK(client.error().alert_direction() == AlertDirection::sent);
  CHECK_FALSE(client.pending_output().empty());  // the alert, to be flushed
  raw_peer_free(peer);
}

namespace {

// Our client's ClientHello record, with `extra` appended to its extensions
// block (as one more extension when `inside_extensions`, else after it),
// every enclosing length fixed up.
Bytes edited_client_hello(const Bytes& extra, bool inside_extensions) {
  Sources sources;
  auto client = Connection::client(build_or_fail(client_builder(sources)), "localhost");
  REQUIRE(client.ok());
  Bytes record = take_output(client.value());
  REQUIRE(record.size() == size_t{5} + get16(record, 3));  // one record holding the ClientHello
  size_t at = 5 + 4 + 2 + 32;
  at += 1 + record.at(at);
  at += 2 + get16(record, at);
  at += 1 + record.at(at);
  const size_t extensions_length_at = at;
  record.insert(record.end(), extra.begin(), extra.end());
  auto put16 = [&](size_t where, size_t value) {
    record[where] = static_cast<uint8_t>(value >> 8);
    record[where + 1] = static_cast<uint8_t>(value);
  };
  put16(3, record.size() - 5);
  const size_t body = record.size() - 9;
  record[6] = static_cast<uint8_t>(body >> 16);
  put16(7, body & 0xffff);
  if (inside_extensions)
    put16(extensions_length_at, get16(record, extensions_length_at) + extra.size());
  return record;
}

Error server_verdict_on(const Bytes& hello) {
  Sources sources;
  auto server = Connection::server(build_or_fail(server_builder(sources)));
  REQUIRE(server.ok());
  server->feed(ByteView(hello));
  return server->error();
}

}  // namespace

// RFC 8446 4.2 and RFC 5246 7.4.1.4: no extension type twice in one block.
// mbedTLS 3.6 accepted a ClientHello that repeated one.
TEST_CASE("a ClientHello with an extension twice is a decode_error", "[bogo][hello]") {
  // A second extended_master_secret (0x0017, empty): our client sends one.
  const Error error = server_verdict_on(edited_client_hello({0x00, 0x17, 0x00, 0x00}, true));
  CHECK(error.code() == ErrorCode::decode_error);
  CHECK(error.alert() == Alert::decode_error);
  CHECK(error.alert_direction() == AlertDirection::sent);
}

TEST_CASE("a ClientHello with bytes after its extensions is a decode_error", "[bogo][hello]") {
  const Error error = server_verdict_on(edited_client_hello({0x00}, false));
  CHECK(error.code() == ErrorCode::decode_error);
  CHECK(error.alert() == Alert::decode_error);
}

TEST_CASE("the unedited ClientHello is accepted", "[bogo][hello]") {
  CHECK(server_verdict_on(edited_client_hello({}, true)).ok());
}

// TLS 1.2: the suite fixes the server key's type (RFC 5246 7.4.2). mbedTLS
// checked only that the key could verify the signature, so a server could
// pick ECDHE_RSA, send an ECDSA certificate and sign with ECDSA.
TEST_CASE("a TLS 1.2 client refuses an ECDHE_RSA suite with an ECDSA certificate",
          "[bogo][certificate]") {
  Sources sources;
  auto client_b = client_builder(sources);
  client_b.versions(TlsVersion::tls1_2, TlsVersion::tls1_2);
  auto client = Connection::client(build_or_fail(client_b), "localhost");
  auto server = Connection::server(build_or_fail(server_builder(sources)));  // ECDSA
  REQUIRE(client.ok());
  REQUIRE(server.ok());
  Bytes hello = take_output(client.value());
  REQUIRE(server->feed(ByteView(hello)) == hello.size());
  Bytes flight = take_output(server.value());
  // The ServerHello opens the flight: record (5) + header (4) + version (2)
  // + random (32) + session id, then the cipher suite.
  REQUIRE(flight.at(5) == 2);
  const size_t suite_at = 5 + 4 + 2 + 32 + 1 + flight.at(5 + 4 + 2 + 32);
  REQUIRE(get16(flight, suite_at) == 0xC02B);  // ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
  flight[suite_at + 1] = 0x2F;                 // ECDHE_RSA_WITH_AES_128_GCM_SHA256
  client->feed(ByteView(flight));
  CHECK(client->error().code() == ErrorCode::illegal_parameter);
  CHECK(client->error().alert() == Alert::illegal_parameter);
  CHECK(client->error().alert_direction() == AlertDirection::sent);
}

namespace {

// The handshake messages (type, offset of the body, body length) of the
// plaintext handshake records in `flight`.
struct MessageAt {
  uint8_t type;
  size_t body;
  size_t length;
};

std::vector<MessageAt> handshake_messages(const Bytes& flight) {
  std::vector<MessageAt> out;
  for (size_t at = 0; at + 5 <= flight.size();) {
    const size_t length = get16(flight, at + 3);
    if (flight[at] == 22) {
      for (size_t m = at + 5; m + 4 <= at + 5 + length;) {
        const size_t body =
            size_t{flight[m + 1]} << 16 | size_t{flight[m + 2]} << 8 | flight[m + 3];
        out.push_back({flight[m], m + 4, body});
        m += 4 + body;
      }
    }
    at += 5 + length;
  }
  return out;
}

// The handshake messages of `flight` in one record.
Bytes pack_handshake_records(const Bytes& flight) {
  Bytes body;
  for (const auto& m : handshake_messages(flight)) {
    body.insert(body.end(), flight.begin() + m.body - 4, flight.begin() + m.body + m.length);
  }
  const uint8_t header[5] = {22, 3, 3, static_cast<uint8_t>(body.size() >> 8),
                             static_cast<uint8_t>(body.size())};
  body.insert(body.begin(), header, header + 5);
  return body;
}

// A TLS 1.2 server flight (RSA certificate, ECDHE_RSA) whose
// ServerKeyExchange is signed again with rsa_pss_rsae_sha256, as BoringSSL
// and Go sign it when the client offers RSA-PSS: our own server cannot
// (mbedTLS signs TLS 1.2 with PKCS#1 v1.5 only), so the test re-signs the
// same parameters with the server's key. An RSA-PSS signature is as long as
// a PKCS#1 one (the modulus), so no length changes.
struct PssFlight {
  Connection client;
  Bytes flight;
  size_t signature_at = 0;
};

// The PSS salt: any bytes do for a test.
int test_rng(void*, unsigned char* out, size_t length) {
  for (size_t i = 0; i < length; ++i) out[i] = static_cast<unsigned char>(i * 151 + 7);
  return 0;
}

PssFlight tls12_flight_signed_with_rsa_pss(Sources& sources, TlsVersion client_max) {
  auto client_b = client_builder(sources);
  client_b.versions(TlsVersion::tls1_2, client_max);
  auto server_b = ConfigBuilder(Role::server);
  server_b.random(sources.server_random)
      .clock(sources.clock)
      .certificate(pki().rsa_leaf.certificate_pem, pki().rsa_leaf.key.private_key_pem)
      .versions(TlsVersion::tls1_2, TlsVersion::tls1_2);
  auto client = Connection::client(build_or_fail(client_b), "localhost");
  auto server = Connection::server(build_or_fail(server_b));
  REQUIRE(client.ok());
  REQUIRE(server.ok());
  const Bytes hello = take_output(client.value());
  REQUIRE(server->feed(ByteView(hello)) == hello.size());
  Bytes flight = take_output(server.value());

  const auto messages = handshake_messages(flight);
  REQUIRE(messages.size() >= 4);
  REQUIRE(messages[0].type == 2);  // ServerHello
  const MessageAt* ske = nullptr;
  for (const auto& m : messages) {
    if (m.type == 12) ske = &m;
  }
  REQUIRE(ske != nullptr);
  // ECParameters (curve type, group), the point, then the signature.
  const size_t params_length = 1 + 2 + 1 + flight.at(ske->body + 3);
  const size_t scheme_at = ske->body + params_length;
  REQUIRE((get16(flight, scheme_at) & 0xff) == 0x01);  // rsa_pkcs1_*, all mbedTLS signs
  const size_t signature_at = scheme_at + 4;
  const size_t signature_length = get16(flight, scheme_at + 2);
  REQUIRE(scheme_at + 4 + signature_length == ske->body + ske->length);

  // RFC 5246 7.4.3: the signature covers client_random + server_random + params.
  Bytes signed_data(hello.begin() + 11, hello.begin() + 43);
  signed_data.insert(signed_data.end(), flight.begin() + messages[0].body + 2,
                     flight.begin() + messages[0].body + 34);
  signed_data.insert(signed_data.end(), flight.begin() + ske->body,
                     flight.begin() + ske->body + params_length);
  uint8_t hash[32];
  REQUIRE(mbedtls_sha256(signed_data.data(), signed_data.size(), hash, 0) == 0);
  mbedtls_pk_context key;
  mbedtls_pk_init(&key);
  const std::string& pem = pki().rsa_leaf.key.private_key_pem;
  REQUIRE(mbedtls_pk_parse_key(&key, reinterpret_cast<const unsigned char*>(pem.c_str()),
                               pem.size() + 1, nullptr, 0, test_rng, nullptr) == 0);
  Bytes signature(signature_length);
  size_t written = 0;
  const int signed_ok =
      mbedtls_pk_sign_ext(MBEDTLS_PK_RSASSA_PSS, &key, MBEDTLS_MD_SHA256, hash, sizeof hash,
                          signature.data(), signature.size(), &written, test_rng, nullptr);
  mbedtls_pk_free(&key);
  REQUIRE(signed_ok == 0);
  REQUIRE(written == signature_length);
  flight[scheme_at] = 0x08;  // rsa_pss_rsae_sha256
  flight[scheme_at + 1] = 0x04;
  std::copy(signature.begin(), signature.end(), flight.begin() + signature_at);
  return {std::move(client).value(), std::move(flight), signature_at};
}

}  // namespace

// RFC 8446 4.2.3: rsa_pss_rsae_* applies to TLS 1.2 too, and a client that
// offers TLS 1.3 offers it. mbedTLS 3.6's TLS 1.2 client can verify it but
// refused it by a TLS 1.2-only table (illegal_parameter), so servers that
// prefer RSA-PSS (BoringSSL, Go) could not be reached over TLS 1.2 with an
// RSA certificate. The engine lets mbedTLS answer that one check by its
// TLS 1.3 table.
TEST_CASE("a TLS 1.2 client accepts a ServerKeyExchange signed with RSA-PSS", "[bogo][signature]") {
  Sources sources;
  detail::CallScope scope{nullptr, &sources.clock, &sources.client_random};
  SECTION("a good signature: the client sends its second flight") {
    PssFlight f = tls12_flight_signed_with_rsa_pss(sources, TlsVersion::tls1_3);
    f.client.feed(ByteView(f.flight));
    REQUIRE(f.client.error().ok());
    const auto sent = split_records(take_output(f.client));
    REQUIRE(sent.size() == 3);  // ClientKeyExchange, ChangeCipherSpec, Finished
    CHECK(sent[0].type == 22);
    CHECK(sent[1].type == 20);
    CHECK(sent[2].type == 22);
  }
  SECTION("the whole flight in one record (BoGo's PackHandshake)") {
    PssFlight f = tls12_flight_signed_with_rsa_pss(sources, TlsVersion::tls1_3);
    f.client.feed(ByteView(pack_handshake_records(f.flight)));
    INFO(f.client.error().message());
    REQUIRE(f.client.error().ok());
    CHECK(split_records(take_output(f.client)).size() == 3);
  }
  SECTION("a bad signature is still refused") {
    PssFlight f = tls12_flight_signed_with_rsa_pss(sources, TlsVersion::tls1_3);
    f.flight[f.signature_at + 7] ^= 0x01;
    f.client.feed(ByteView(f.flight));
    CHECK(f.client.error().code() == ErrorCode::bad_signature);
    CHECK(f.client.error().alert() == Alert::decrypt_error);
    CHECK(f.client.error().alert_direction() == AlertDirection::sent);
  }
}

// A client that did not offer RSA-PSS (TLS 1.2 only: mbedTLS leaves it out
// of that ClientHello) still refuses it as a scheme it did not offer.
TEST_CASE("a TLS 1.2-only client refuses an RSA-PSS ServerKeyExchange it did not offer",
          "[bogo][signature]") {
  Sources sources;
  detail::CallScope scope{nullptr, &sources.clock, &sources.client_random};
  auto client_b = client_builder(sources);
  client_b.versions(TlsVersion::tls1_2, TlsVersion::tls1_2);
  const auto offered = offered_signature_algorithms(build_or_fail(client_b));
  REQUIRE(position(offered, 0x0804) == offered.size());
  PssFlight f = tls12_flight_signed_with_rsa_pss(sources, TlsVersion::tls1_2);
  f.client.feed(ByteView(f.flight));
  CHECK(f.client.error().code() == ErrorCode::illegal_parameter);
  CHECK(f.client.error().alert() == Alert::illegal_parameter);
}
// RFC 5705 4 with RFC 5246 5: a TLS 1.2 exporter runs the connection's PRF,
// SHA-256 unless the suite names SHA-384. mbedTLS 3.6 ran it with the suite's
// MAC hash, SHA-1 for the CBC_SHA suites, so both ends of a connection with
// another TLS stack exported different bytes.
TEST_CASE("a TLS 1.2 exporter with a CBC_SHA suite uses the SHA-256 PRF", "[bogo][exporter]") {
  Sources sources;
  const char* suite = "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA";
  auto client_b = client_builder(sources);
  client_b.versions(TlsVersion::tls1_2, TlsVersion::tls1_2).cipher_suites(suite);
  auto server_b = server_builder(sources);
  std::vector<std::string> server_key_log;
  server_b.versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
      .cipher_suites(suite)
      .key_log([&](std::string_view line) { server_key_log.emplace_back(line); });
  auto client = Connection::client(build_or_fail(client_b), "localhost");  // no key log
  auto server = Connection::server(build_or_fail(server_b));
  REQUIRE(client.ok());
  REQUIRE(server.ok());
  const Bytes hello = take_output(client.value());
  server->feed(ByteView(hello));
  const Bytes flight = take_output(server.value());
  client->feed(ByteView(flight));
  const Bytes second = take_output(client.value());
  server->feed(ByteView(second));
  const Bytes last = take_output(server.value());
  client->feed(ByteView(last));
  REQUIRE(client->wants().handshake_complete);
  REQUIRE(std::string(client->info().cipher.standard_name) == suite);

  // "CLIENT_RANDOM <client random> <master secret>", both in hex.
  REQUIRE(server_key_log.size() == 1);
  const std::string& line = server_key_log[0];
  REQUIRE(line.size() == 14 + 64 + 1 + 96);
  Bytes master;
  for (size_t i = 14 + 64 + 1; i < line.size(); i += 2) {
    master.push_back(static_cast<uint8_t>(std::stoi(line.substr(i, 2), nullptr, 16)));
  }
  Bytes seed(hello.begin() + 11, hello.begin() + 43);  // client_random
  const size_t server_random_at = 5 + 4 + 2;
  seed.insert(seed.end(), flight.begin() + server_random_at,
              flight.begin() + server_random_at + 32);
  Bytes expected(32);
  REQUIRE(mbedtls_ssl_tls_prf(MBEDTLS_SSL_TLS_PRF_SHA256, master.data(), master.size(),
                              "EXPERIMENTAL-bogo", seed.data(), seed.size(), expected.data(),
                              expected.size()) == 0);

  auto exported = client->export_keying_material("EXPERIMENTAL-bogo", ByteView(), 32);
  REQUIRE(exported.ok());
  CHECK(exported.value() == expected);
  auto server_side = server->export_keying_material("EXPERIMENTAL-bogo", ByteView(), 32);
  REQUIRE(server_side.ok());
  CHECK(server_side.value() == expected);
}

namespace {

// Our client's verdict on our server's first flight (TLS 1.2 unless told)
// after `edit` changed its ServerHello (the flight's first message).
Error client_verdict_on_edited_server_hello(const std::function<void(Bytes&)>& edit,
                                            TlsVersion version = TlsVersion::tls1_2) {
  Sources sources;
  auto client_b = client_builder(sources);
  auto client = Connection::client(build_or_fail(client_b), "localhost");
  auto server_b = server_builder(sources);
  server_b.versions(version, version);
  auto server = Connection::server(build_or_fail(server_b));
  REQUIRE(client.ok());
  REQUIRE(server.ok());
  const Bytes hello = take_output(client.value());
  REQUIRE(server->feed(ByteView(hello)) == hello.size());
  Bytes flight = take_output(server.value());
  REQUIRE(flight.at(5) == 2);  // ServerHello
  edit(flight);
  client->feed(ByteView(flight));
  return client->error();
}

size_t server_hello_suite_at(const Bytes& flight) { return 5 + 4 + 2 + 32 + 1 + flight.at(43); }

}  // namespace

// RFC 5246 7.4.1.3 / RFC 8446 4.1.3: the server picks a suite the client
// offered, of the version negotiated. mbedTLS 3.6 answered a TLS 1.3 suite
// in a TLS 1.2 ServerHello with handshake_failure and an unknown suite with
// internal_error; both are illegal_parameter.
TEST_CASE("a TLS 1.2 ServerHello with a suite we did not offer for TLS 1.2 is illegal_parameter",
          "[bogo][hello]") {
  const uint16_t suite = GENERATE(uint16_t{0x1301}, uint16_t{0x0a0a}, uint16_t{0xc02f});
  const Error error = client_verdict_on_edited_server_hello([&](Bytes& flight) {
    const size_t at = server_hello_suite_at(flight);
    flight[at] = static_cast<uint8_t>(suite >> 8);
    flight[at + 1] = static_cast<uint8_t>(suite);
  });
  // 0x1301: TLS 1.3's; 0x0a0a: unknown; 0xc02f (ECDHE_RSA): offered, but it
  // does not fit the server's ECDSA key (checked later, also illegal_parameter).
  CHECK(error.code() == ErrorCode::illegal_parameter);
  CHECK(error.alert() == Alert::illegal_parameter);
  CHECK(error.alert_direction() == AlertDirection::sent);
}

namespace {

// Appends `extension` (type, length, body) to the flight's ServerHello; the
// record, message and extensions lengths grow with it.
void append_server_hello_extension(Bytes& flight, const Bytes& extension) {
  const size_t body = size_t{flight[6]} << 16 | size_t{flight[7]} << 8 | flight[8];
  const size_t extensions_at = server_hello_suite_at(flight) + 2 + 1;
  flight.insert(flight.begin() + static_cast<long>(5 + 4 + body), extension.begin(),
                extension.end());
  auto grow16 = [&](size_t at) {
    const size_t v = (size_t{flight[at]} << 8 | flight[at + 1]) + extension.size();
    flight[at] = static_cast<uint8_t>(v >> 8);
    flight[at + 1] = static_cast<uint8_t>(v);
  };
  grow16(3);
  grow16(7);  // the body length's low 16 bits (a ServerHello is short)
  grow16(extensions_at);
}

}  // namespace

// RFC 8446 4.1.3 and RFC 5246 7.4.1.3: the extensions end a ServerHello.
// mbedTLS 3.6's TLS 1.3 client ignored bytes after them (BoGo's
// TrailingMessageData-TLS13-ServerHello).
TEST_CASE("bytes after a ServerHello's extensions are a decode_error", "[bogo][hello]") {
  const TlsVersion version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  const Error error = client_verdict_on_edited_server_hello(
      [](Bytes& flight) {
        const size_t body = size_t{flight[6]} << 16 | size_t{flight[7]} << 8 | flight[8];
        flight.insert(flight.begin() + static_cast<long>(5 + 4 + body), uint8_t{0});
        auto grow16 = [&](size_t at) {
          const size_t v = (size_t{flight[at]} << 8 | flight[at + 1]) + 1;
          flight[at] = static_cast<uint8_t>(v >> 8);
          flight[at + 1] = static_cast<uint8_t>(v);
        };
        grow16(3);  // the record
        grow16(7);  // the message (a ServerHello is short)
      },
      version);
  INFO(error.name() << ": " << error.message());
  CHECK(error.code() == ErrorCode::decode_error);
  CHECK(error.alert() == Alert::decode_error);
  CHECK(error.alert_direction() == AlertDirection::sent);
}

TEST_CASE("a ServerHello with an extension twice is a decode_error", "[bogo][hello]") {
  const Error error = client_verdict_on_edited_server_hello([](Bytes& flight) {
    // A second extended_master_secret (0x0017, empty) after the last one.
    append_server_hello_extension(flight, {0x00, 0x17, 0x00, 0x00});
  });
  CHECK(error.code() == ErrorCode::decode_error);
  CHECK(error.alert() == Alert::decode_error);
}

// RFC 5246 7.4.1.4: a TLS 1.2 ServerHello carries only extensions the
// client sent; mbedTLS 3.6 ignored an unknown one.
TEST_CASE("a TLS 1.2 ServerHello with an extension we did not send is unsupported_extension",
          "[bogo][hello]") {
  const Error error = client_verdict_on_edited_server_hello([](Bytes& flight) {
    append_server_hello_extension(flight, {0x12, 0x34, 0x00, 0x00});
  });
  CHECK(error.code() == ErrorCode::illegal_parameter);
  CHECK(error.alert() == Alert::unsupported_extension);
  CHECK(error.alert_direction() == AlertDirection::sent);
}

TEST_CASE("the unedited TLS 1.2 ServerHello is accepted", "[bogo][hello]") {
  CHECK(client_verdict_on_edited_server_hello([](Bytes&) {}).ok());
}

// RFC 8446 5.1: an initial ClientHello's record may carry 0x0301, what
// other stacks send for old servers and middleboxes; every later record,
// the ClientHello after a HelloRetryRequest included, carries 0x0303.
TEST_CASE("the initial ClientHello's record says 0x0301, the one after a HelloRetryRequest 0x0303",
          "[bogo][hello]") {
  Sources sources;
  auto client_b = client_builder(sources);
  client_b.groups("X25519:P-256");  // a key share for X25519 only
  auto server_b = server_builder(sources);
  server_b.groups("P-256");  // asks for P-256
  auto client = Connection::client(build_or_fail(client_b), "localhost");
  auto server = Connection::server(build_or_fail(server_b));
  REQUIRE(client.ok());
  REQUIRE(server.ok());
  const Bytes first = take_output(client.value());
  REQUIRE(first.size() > 5);
  CHECK(first[0] == 22);
  CHECK(get16(first, 1) == 0x0301);
  CHECK(get16(first, 9) == 0x0303);  // legacy_version in the ClientHello itself
  server->feed(ByteView(first));
  const Bytes retry = take_output(server.value());
  // A HelloRetryRequest: a ServerHello whose random is RFC 8446's constant.
  REQUIRE(retry.size() > 11 + 32);
  REQUIRE(retry[5] == 2);
  CHECK(get16(retry, 11) == 0xCF21);
  client->feed(ByteView(retry));
  const Bytes second = take_output(client.value());
  const auto records = split_records(second);
  REQUIRE(!records.empty());
  size_t at = 0;
  for (const auto& r : records) {
    CHECK(get16(second, at + 1) == 0x0303);
    at += 5 + r.length;
  }
  server->feed(ByteView(second));
  CHECK(server->error().ok());
}

// RFC 8446 5.1 (and RFC 5246 6.2.1's two-byte Alert): an alert record holds
// exactly one alert. mbedTLS refused two alerts in one record, or half of
// one, as an invalid record, which we reported as bad_record_mac, the alert
// for a forgery; it is a malformed message, decode_error.
TEST_CASE("an alert record that is not exactly one alert is a decode_error", "[bogo][alert]") {
  const Bytes record = GENERATE(Bytes{0x15, 0x03, 0x03, 0x00, 0x04, 0x01, 0x0a, 0x01, 0x0a},
                                Bytes{0x15, 0x03, 0x03, 0x00, 0x01, 0x01});
  Sources sources;
  auto client = Connection::client(build_or_fail(client_builder(sources)), "localhost");
  REQUIRE(client.ok());
  take_output(client.value());  // the ClientHello
  client->feed(ByteView(record));
  CHECK(client->error().code() == ErrorCode::decode_error);
  CHECK(client->error().alert() == Alert::decode_error);
  CHECK(client->error().alert_direction() == AlertDirection::sent);
}

// RFC 5280 4.2.1.3 and RFC 8446 4.4.2.2: the server's key signs the
// handshake, so its certificate must allow digitalSignature. mbedTLS checks
// key usage only while verifying the chain: a client that does not verify
// (PeerVerification::none) took a keyEncipherment-only certificate. Our
// server will not present one, so the test puts it into a TLS 1.2 flight in
// place of the real one (the check comes before the ServerKeyExchange's
// signature is verified); TLS 1.3 runs the same check (BoGo's tests).
TEST_CASE("a client refuses a server certificate whose keyUsage forbids signing",
          "[bogo][certificate]") {
  const bool encipherment_only = GENERATE(true, false);
  testing::Pki maker(77);
  testing::CertificateSpec spec;
  spec.common_name = "localhost";
  spec.dns_names = {"localhost"};
  spec.key_encipherment_only = encipherment_only;
  const auto leaf = maker.issue(pki().ecdsa_inter, spec);
  REQUIRE(leaf.has_value());
  Sources sources;
  auto client_b = client_builder(sources);
  client_b.peer_verification(PeerVerification::none)
      .versions(TlsVersion::tls1_2, TlsVersion::tls1_2);
  auto client = Connection::client(build_or_fail(client_b), "localhost");
  auto server = Connection::server(build_or_fail(server_builder(sources)));
  REQUIRE(client.ok());
  REQUIRE(server.ok());
  const Bytes hello = take_output(client.value());
  server->feed(ByteView(hello));
  const Bytes flight = take_output(server.value());
  // The flight again, one message per record, the Certificate replaced.
  Bytes edited;
  for (const auto& m : handshake_messages(flight)) {
    Bytes message(flight.begin() + m.body - 4, flight.begin() + m.body + m.length);
    if (m.type == 11) {
      const std::string& der = leaf->certificate_der;
      const size_t list = 3 + der.size(), body = 3 + list;
      message = {11,
                 static_cast<uint8_t>(body >> 16),
                 static_cast<uint8_t>(body >> 8),
                 static_cast<uint8_t>(body),
                 static_cast<uint8_t>(list >> 16),
                 static_cast<uint8_t>(list >> 8),
                 static_cast<uint8_t>(list),
                 static_cast<uint8_t>(der.size() >> 16),
                 static_cast<uint8_t>(der.size() >> 8),
                 static_cast<uint8_t>(der.size())};
      message.insert(message.end(), der.begin(), der.end());
    }
    const uint8_t header[5] = {22, 3, 3, static_cast<uint8_t>(message.size() >> 8),
                               static_cast<uint8_t>(message.size())};
    edited.insert(edited.end(), header, header + 5);
    edited.insert(edited.end(), message.begin(), message.end());
  }
  client->feed(ByteView(edited));
  if (encipherment_only) {
    CHECK(client->error().code() == ErrorCode::invalid_purpose);
    CHECK(client->error().alert() == Alert::unsupported_certificate);
    CHECK(client->error().alert_direction() == AlertDirection::sent);
  } else {
    // Past the certificate: the ServerKeyExchange, signed by the real
    // server's key, does not verify with this certificate's.
    CHECK(client->error().code() == ErrorCode::bad_signature);
  }
}
// RFC 8446 5: a protected ChangeCipherSpec record ends the connection with
// unexpected_message; mbedTLS 3.6 ignored it like the plaintext one of the
// middlebox compatibility mode.
TEST_CASE("a protected ChangeCipherSpec after the TLS 1.3 handshake is an unexpected record",
          "[bogo][records]") {
  Sources sources;
  detail::CallScope scope{nullptr, &sources.clock, &sources.server_random};
  auto made = Connection::client(
      build_or_fail(client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3)),
      "localhost");
  REQUIRE(made);
  Connection client = std::move(made).value();
  raw_peer* peer = raw_peer_new_server_version(
      ecdsa_chain_pem().c_str(), pki().ecdsa_leaf.key.private_key_pem.c_str(), 0x0304);
  REQUIRE(peer != nullptr);
  uint8_t buffer[65536];
  auto deliver = [&] {
    const size_t n = raw_peer_take_output(peer, buffer, sizeof buffer);
    size_t used = 0;
    for (int guard = 0; guard < 100 && used < n; ++guard) {
      const size_t taken = client.feed(ByteView(buffer + used, n - used));
      if (taken == 0) break;
      used += taken;
    }
  };
  int status = 1;
  for (int i = 0; i < 50 && !(status == 0 && client.wants().handshake_complete); ++i) {
    ByteView out = client.pending_output();
    raw_peer_feed(peer, out.data(), out.size());
    client.consume_output(out.size());
    status = raw_peer_handshake(peer);
    REQUIRE(status >= 0);
    deliver();
  }
  REQUIRE(client.wants().handshake_complete);
  REQUIRE(client.error().ok());
  REQUIRE(raw_peer_send_change_cipher_spec(peer) == 0);
  deliver();
  CHECK(client.error().code() == ErrorCode::unexpected_message);
  CHECK(client.error().alert() == Alert::unexpected_message);
  CHECK(client.error().alert_direction() == AlertDirection::sent);
  raw_peer_free(peer);
}

namespace {

// The offset of extension `type`'s body in a hello message at `message`
// (4-byte header first) of `flight`, or 0.
size_t hello_extension_at(const Bytes& flight, size_t message, uint16_t type, bool client_hello) {
  size_t at = message + 4 + 2 + 32;
  at += 1 + flight.at(at);                         // session id
  at += client_hello ? 2 + get16(flight, at) : 2;  // suites / suite
  at += client_hello ? 1 + flight.at(at) : 1;      // compression
  const size_t end = at + 2 + get16(flight, at);
  for (at += 2; at + 4 <= end; at += 4 + get16(flight, at + 2)) {
    if (get16(flight, at) == type) return at + 4;
  }
  return 0;
}

}  // namespace

// RFC 8422 5.1.2: uncompressed points are mandatory, so an ec_point_formats
// list without them (0) is illegal; mbedTLS 3.6 ignored the list.
TEST_CASE("ec_point_formats without uncompressed points is illegal_parameter", "[bogo][hello]") {
  SECTION("in a TLS 1.2 ServerHello") {
    const Error error = client_verdict_on_edited_server_hello([](Bytes& flight) {
      const size_t at = hello_extension_at(flight, 5, 0x000b, false);
      REQUIRE(at != 0);
      REQUIRE(flight.at(at) == 1);  // one format
      flight.at(at + 1) = 1;        // ansiX962_compressed_prime
    });
    CHECK(error.code() == ErrorCode::illegal_parameter);
    CHECK(error.alert() == Alert::illegal_parameter);
  }
  SECTION("in a ClientHello") {
    Sources sources;
    auto client = Connection::client(build_or_fail(client_builder(sources)), "localhost");
    REQUIRE(client.ok());
    Bytes hello = take_output(client.value());
    const size_t at = hello_extension_at(hello, 5, 0x000b, true);
    REQUIRE(at != 0);
    REQUIRE(hello.at(at) == 1);
    hello.at(at + 1) = 1;
    const Error error = server_verdict_on(hello);
    CHECK(error.code() == ErrorCode::illegal_parameter);
    CHECK(error.alert() == Alert::illegal_parameter);
  }
}

namespace {

using Edit = std::function<void(Bytes&)>;

struct RetryOutcome {
  Error error;         // the client's, at the end
  Bytes second_hello;  // what the client sent after the HelloRetryRequest
};

// Our client against our server, which asks for P-256 by a HelloRetryRequest
// (the client's key share is X25519): `edit_retry` changes the
// HelloRetryRequest; with `edit_server_hello`, the server then answers the
// second ClientHello and that changes its ServerHello flight.
RetryOutcome client_answer_to_edited_hello_retry(const Edit& edit_retry,
                                                 const Edit& edit_server_hello = nullptr) {
  Sources sources;
  auto client_b = client_builder(sources);
  client_b.groups("X25519:P-256");
  auto server_b = server_builder(sources);
  server_b.groups("P-256");
  auto client = Connection::client(build_or_fail(client_b), "localhost");
  auto server = Connection::server(build_or_fail(server_b));
  REQUIRE(client.ok());
  REQUIRE(server.ok());
  const Bytes hello = take_output(client.value());
  REQUIRE(server->feed(ByteView(hello)) == hello.size());
  Bytes retry = take_output(server.value());
  REQUIRE(retry.size() > 11 + 32);
  REQUIRE(retry[5] == 2);
  REQUIRE(get16(retry, 11) == 0xCF21);  // RFC 8446's HelloRetryRequest random
  edit_retry(retry);
  client->feed(ByteView(retry));
  RetryOutcome outcome;
  outcome.second_hello = take_output(client.value());
  if (edit_server_hello && client->error().ok()) {
    server->feed(ByteView(outcome.second_hello));
    REQUIRE(server->error().ok());
    Bytes flight = take_output(server.value());
    REQUIRE(flight.size() > 5);
    REQUIRE(flight[5] == 2);  // ServerHello
    edit_server_hello(flight);
    client->feed(ByteView(flight));
  }
  outcome.error = client->error();
  return outcome;
}

Error client_verdict_on_edited_hello_retry(const Edit& edit) {
  return client_answer_to_edited_hello_retry(edit).error;
}

// Our TLS 1.3 client's verdict on our server's first flight (no
// HelloRetryRequest) after `edit` changed its ServerHello.
Error client_verdict_on_edited_tls13_server_hello(const Edit& edit) {
  Sources sources;
  auto client_b = client_builder(sources);
  client_b.groups("X25519:P-256");  // a key share for X25519 only
  auto client = Connection::client(build_or_fail(client_b), "localhost");
  auto server = Connection::server(build_or_fail(server_builder(sources)));
  REQUIRE(client.ok());
  REQUIRE(server.ok());
  const Bytes hello = take_output(client.value());
  REQUIRE(server->feed(ByteView(hello)) == hello.size());
  Bytes flight = take_output(server.value());
  REQUIRE(flight.size() > 11 + 32);
  REQUIRE(flight[5] == 2);
  REQUIRE(get16(flight, 11) != 0xCF21);  // a real ServerHello
  edit(flight);
  client->feed(ByteView(flight));
  return client->error();
}

// Removes extension `type` from the flight's first message, a ServerHello
// (the record, message and extensions lengths shrink with it).
void remove_server_hello_extension(Bytes& flight, uint16_t type) {
  const size_t body = hello_extension_at(flight, 5, type, false);
  REQUIRE(body != 0);
  const size_t length = 4 + get16(flight, body - 2);
  flight.erase(flight.begin() + static_cast<long>(body - 4),
               flight.begin() + static_cast<long>(body - 4 + length));
  auto shrink16 = [&](size_t at) {
    const size_t v = get16(flight, at) - length;
    flight[at] = static_cast<uint8_t>(v >> 8);
    flight[at + 1] = static_cast<uint8_t>(v);
  };
  shrink16(3);
  shrink16(7);
  shrink16(server_hello_suite_at(flight) + 2 + 1);
}

// Appends `byte` to the flight's first record, after the ServerHello.
void append_to_first_record(Bytes& flight, uint8_t byte) {
  const size_t length = get16(flight, 3);
  flight.insert(flight.begin() + static_cast<long>(5 + length), byte);
  flight[3] = static_cast<uint8_t>((length + 1) >> 8);
  flight[4] = static_cast<uint8_t>(length + 1);
}

// A cookie extension (RFC 8446 4.2.2) holding "cookie".
const Bytes kCookieExtension = {0x00, 0x2c, 0x00, 0x08, 0x00, 0x06, 'c', 'o', 'o', 'k', 'i', 'e'};

// The cookie extension's body in the ClientHello among `records`, or empty.
Bytes client_hello_cookie(const Bytes& records) {
  size_t at = 0;
  for (const auto& r : split_records(records)) {
    if (r.type == 22 && records.at(at + 5) == 1) {
      const size_t body = hello_extension_at(records, at + 5, 0x002c, true);
      if (body == 0) return {};
      return Bytes(records.begin() + static_cast<long>(body),
                   records.begin() + static_cast<long>(body + get16(records, body - 2)));
    }
    at += 5 + r.length;
  }
  return {};
}

}  // namespace

// RFC 8446 4.2: an extension the client did not send, in a HelloRetryRequest
// or a TLS 1.3 ServerHello, is unsupported_extension; mbedTLS 3.6 said
// illegal_parameter (the alert for a known extension the message may not carry).
TEST_CASE("a HelloRetryRequest with an extension we did not send is unsupported_extension",
          "[bogo][hello]") {
  const Error error = client_verdict_on_edited_hello_retry([](Bytes& retry) {
    append_server_hello_extension(retry, {0x12, 0x34, 0x00, 0x00});
  });
  CHECK(error.code() == ErrorCode::illegal_parameter);
  CHECK(error.alert() == Alert::unsupported_extension);
  CHECK(error.alert_direction() == AlertDirection::sent);
}

// RFC 8446 4.2.2: opaque cookie<1..2^16-1>. An empty cookie, or one whose
// length does not fill the extension, is a decode_error.
TEST_CASE("a HelloRetryRequest with an empty or malformed cookie is a decode_error",
          "[bogo][hello]") {
  const Bytes cookie = GENERATE(Bytes{0x00, 0x2c, 0x00, 0x02, 0x00, 0x00},
                                Bytes{0x00, 0x2c, 0x00, 0x04, 0x00, 0x01, 0xaa, 0xbb});
  const Error error = client_verdict_on_edited_hello_retry(
      [&](Bytes& retry) { append_server_hello_extension(retry, cookie); });
  CHECK(error.code() == ErrorCode::decode_error);
  CHECK(error.alert() == Alert::decode_error);
}

TEST_CASE("the unedited HelloRetryRequest is accepted", "[bogo][hello]") {
  CHECK(client_verdict_on_edited_hello_retry([](Bytes&) {}).ok());
}

// RFC 8446 4.2.2: a client echoes a HelloRetryRequest's cookie in its
// second ClientHello. mbedTLS 3.6 refused the cookie (unsupported_extension)
// because the first ClientHello had sent none (mbedTLS issue #9543).
TEST_CASE("a HelloRetryRequest's cookie is echoed in the second ClientHello", "[bogo][hello]") {
  const RetryOutcome outcome = client_answer_to_edited_hello_retry(
      [](Bytes& retry) { append_server_hello_extension(retry, kCookieExtension); });
  REQUIRE(outcome.error.ok());
  const Bytes echoed = client_hello_cookie(outcome.second_hello);
  CHECK(echoed == Bytes(kCookieExtension.begin() + 4, kCookieExtension.end()));
  SECTION("and without a cookie, the second ClientHello has none") {
    const RetryOutcome plain = client_answer_to_edited_hello_retry([](Bytes&) {});
    REQUIRE(plain.error.ok());
    CHECK(client_hello_cookie(plain.second_hello).empty());
    CHECK(!split_records(plain.second_hello).empty());
  }
}

// Only a HelloRetryRequest brings a cookie unasked: in a ServerHello it is
// an extension we did not send (RFC 8446 4.2), also after we echoed one.
TEST_CASE("a cookie in a ServerHello is unsupported_extension", "[bogo][hello]") {
  SECTION("without a HelloRetryRequest") {
    const Error error = client_verdict_on_edited_tls13_server_hello(
        [](Bytes& flight) { append_server_hello_extension(flight, kCookieExtension); });
    CHECK(error.code() == ErrorCode::illegal_parameter);
    CHECK(error.alert() == Alert::unsupported_extension);
    CHECK(error.alert_direction() == AlertDirection::sent);
  }
  SECTION("after a HelloRetryRequest with a cookie") {
    const RetryOutcome outcome = client_answer_to_edited_hello_retry(
        [](Bytes& retry) { append_server_hello_extension(retry, kCookieExtension); },
        [](Bytes& flight) { append_server_hello_extension(flight, kCookieExtension); });
    CHECK(outcome.error.code() == ErrorCode::illegal_parameter);
    CHECK(outcome.error.alert() == Alert::unsupported_extension);
  }
}

// RFC 8446 4.2 names no alert for an extension twice; BoringSSL sends
// illegal_parameter for a HelloRetryRequest's (decode_error for a ServerHello's).
TEST_CASE("a HelloRetryRequest with an extension twice is illegal_parameter", "[bogo][hello]") {
  const Bytes extension = GENERATE(Bytes{0x00, 0x2b, 0x00, 0x02, 0x03, 0x04},  // supported_versions
                                   Bytes{0x00, 0x33, 0x00, 0x02, 0x00, 0x17});  // key_share
  const Error error = client_verdict_on_edited_hello_retry(
      [&](Bytes& retry) { append_server_hello_extension(retry, extension); });
  CHECK(error.code() == ErrorCode::illegal_parameter);
  CHECK(error.alert() == Alert::illegal_parameter);
}

// RFC 8446 4.1.4: a HelloRetryRequest that would not change the
// ClientHello is illegal_parameter; mbedTLS 3.6 sent the same ClientHello
// again. A cookie alone is a change.
TEST_CASE("a HelloRetryRequest without a key share or a cookie is illegal_parameter",
          "[bogo][hello]") {
  const Error error = client_verdict_on_edited_hello_retry(
      [](Bytes& retry) { remove_server_hello_extension(retry, 0x0033); });
  CHECK(error.code() == ErrorCode::illegal_parameter);
  CHECK(error.alert() == Alert::illegal_parameter);
  CHECK(error.alert_direction() == AlertDirection::sent);
}

// RFC 8446 5.1: a ServerHello ends its record (a key change follows it),
// and BoringSSL holds a HelloRetryRequest to the same; mbedTLS 3.6 read the
// next message from the rest of the record.
TEST_CASE("data after a HelloRetryRequest or TLS 1.3 ServerHello in its record is unexpected",
          "[bogo][hello]") {
  SECTION("a HelloRetryRequest") {
    const Error error = client_verdict_on_edited_hello_retry(
        [](Bytes& retry) { append_to_first_record(retry, 2); });  // a ServerHello's type byte
    CHECK(error.code() == ErrorCode::unexpected_message);
    CHECK(error.alert() == Alert::unexpected_message);
  }
  SECTION("a ServerHello") {
    const Error error = client_verdict_on_edited_tls13_server_hello(
        [](Bytes& flight) { append_to_first_record(flight, 8); });  // EncryptedExtensions'
    CHECK(error.code() == ErrorCode::unexpected_message);
    CHECK(error.alert() == Alert::unexpected_message);
  }
}

// RFC 8446 4.1.4: the ServerHello keeps the HelloRetryRequest's
// selected_version; mbedTLS 3.6 took it without supported_versions as a
// TLS 1.2 ServerHello and refused its suite instead.
TEST_CASE("a ServerHello whose version differs from the HelloRetryRequest's is illegal_parameter",
          "[bogo][hello]") {
  const bool omit = GENERATE(true, false);
  const RetryOutcome outcome = client_answer_to_edited_hello_retry(
      [](Bytes&) {},
      [&](Bytes& flight) {
        if (omit) {
          remove_server_hello_extension(flight, 0x002b);
          return;
        }
        const size_t at = hello_extension_at(flight, 5, 0x002b, false);
        REQUIRE(at != 0);
        flight.at(at) = 0x12;  // 0x1234
        flight.at(at + 1) = 0x34;
      });
  CHECK(outcome.error.code() == ErrorCode::illegal_parameter);
  CHECK(outcome.error.alert() == Alert::illegal_parameter);
  CHECK(std::string(outcome.error.message()).find("HelloRetryRequest") != std::string::npos);
}

// RFC 8446 4.2.8: the server's key share is of the group of one of the
// client's shares (after a HelloRetryRequest, the group it asked for), else
// illegal_parameter; mbedTLS 3.6 said handshake_failure.
TEST_CASE("a ServerHello key share of a group we sent no share for is illegal_parameter",
          "[bogo][hello]") {
  auto set_group = [](Bytes& flight, uint16_t group) {
    const size_t at = hello_extension_at(flight, 5, 0x0033, false);
    REQUIRE(at != 0);
    flight.at(at) = static_cast<uint8_t>(group >> 8);
    flight.at(at + 1) = static_cast<uint8_t>(group);
  };
  SECTION("after a HelloRetryRequest for P-256") {
    const RetryOutcome outcome = client_answer_to_edited_hello_retry(
        [](Bytes&) {}, [&](Bytes& flight) { set_group(flight, 0x001d); });  // X25519
    CHECK(outcome.error.code() == ErrorCode::illegal_parameter);
    CHECK(outcome.error.alert() == Alert::illegal_parameter);
  }
  SECTION("without a HelloRetryRequest") {
    // P-256 is a group we support, but we sent no share for it.
    const Error error = client_verdict_on_edited_tls13_server_hello(
        [&](Bytes& flight) { set_group(flight, 0x0017); });
    CHECK(error.code() == ErrorCode::illegal_parameter);
    CHECK(error.alert() == Alert::illegal_parameter);
  }
}

TEST_CASE("the unedited ServerHello after a HelloRetryRequest is accepted", "[bogo][hello]") {
  CHECK(client_answer_to_edited_hello_retry([](Bytes&) {}, [](Bytes&) {}).error.ok());
  CHECK(client_verdict_on_edited_tls13_server_hello([](Bytes&) {}).ok());
}

namespace {

// Whether the nth ClientHello (0: the first) among `stream`'s records has
// extension `type`.
bool nth_client_hello_has(const Bytes& stream, int nth, uint16_t type) {
  size_t at = 0;
  for (const auto& r : split_records(stream)) {
    if (r.type == 22 && stream.at(at + 5) == 1 && nth-- == 0) {
      return hello_extension_at(stream, at + 5, type, true) != 0;
    }
    at += 5 + r.length;
  }
  FAIL("no such ClientHello");
  return false;
}

}  // namespace

// RFC 8446 4.1.4: after a HelloRetryRequest, a client SHOULD NOT offer a
// PSK whose hash is not the suite's (the server cannot select it); mbedTLS
// 3.6 offered its ticket again. (Our mbedTLS server refuses a ticket of
// another hash than its suite with decrypt_error before any
// HelloRetryRequest, so the HelloRetryRequest's suite is edited here.)
TEST_CASE("after a HelloRetryRequest for a suite of another hash, the ticket is not offered again",
          "[bogo][hello]") {
  Sources sources;
  auto client_b = client_builder(sources);
  client_b.groups("X25519:P-256")
      .cipher_suites("TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384")
      .versions(TlsVersion::tls1_3, TlsVersion::tls1_3);
  const Config client_config = build_or_fail(client_b);
  auto server_b = server_builder(sources);
  server_b
      .cipher_suites("TLS_AES_128_GCM_SHA256")  // a SHA-256 ticket
      .versions(TlsVersion::tls1_3, TlsVersion::tls1_3);
  const Config server_config = build_or_fail(server_b);
  Pair first = connect(client_config, server_config);
  REQUIRE(first.client.conn.wants().handshake_complete);
  auto saved = first.client.conn.save_session();
  REQUIRE(saved);

  const bool other_hash = GENERATE(true, false);
  INFO("HelloRetryRequest for " << (other_hash ? "TLS_AES_256_GCM_SHA384"
                                               : "TLS_AES_128_GCM_SHA256"));
  auto retry_server_b = server_builder(sources);
  retry_server_b.groups("P-256")
      .cipher_suites("TLS_AES_128_GCM_SHA256")
      .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
      .ticket_keys(server_config.ticket_keys());  // it can read the ticket
  auto client = Connection::client(client_config, "localhost", ByteView(saved.value()));
  auto server = Connection::server(build_or_fail(retry_server_b));
  REQUIRE(client);
  REQUIRE(server);
  const Bytes hello = take_output(client.value());
  CHECK(nth_client_hello_has(hello, 0, 0x0029));  // pre_shared_key
  REQUIRE(server->feed(ByteView(hello)) == hello.size());
  Bytes retry = take_output(server.value());
  REQUIRE(retry.size() > 11 + 32);
  REQUIRE(get16(retry, 11) == 0xCF21);
  if (other_hash) retry.at(server_hello_suite_at(retry) + 1) = 0x02;  // TLS_AES_256_GCM_SHA384
  client->feed(ByteView(retry));
  REQUIRE(client->error().ok());
  const Bytes second_hello = take_output(client.value());
  CHECK(nth_client_hello_has(second_hello, 0, 0x0029) == !other_hash);
  CHECK(nth_client_hello_has(second_hello, 0, 0x002d));  // psk_key_exchange_modes, as before
  if (!other_hash) {
    // Unedited, the server resumes the ticket.
    server->feed(ByteView(second_hello));
    CHECK(server->error().ok());
  }
}
