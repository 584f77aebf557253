// What testssl.sh found in the server (docs/conformance.md "testssl.sh"),
// reproduced in memory: crafted TLS 1.2 ClientHellos fed to a server
// Connection, its answer read from pending_output() and error().
#include <catch2/catch_test_macros.hpp>
#include <initializer_list>
#include <string>
#include <vector>

#include "support/expect.h"
#include "support/fixtures.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& out, size_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

Bytes list16(std::initializer_list<uint16_t> items) {
  Bytes out;
  put16(out, items.size() * 2);
  for (uint16_t item : items) put16(out, item);
  return out;
}

Bytes extension(uint16_t type, const Bytes& data) {
  Bytes out;
  put16(out, type);
  put16(out, data.size());
  append(out, data);
  return out;
}

// A TLS 1.2 ClientHello record (no supported_versions) offering `suites`
// and `groups`, with ECDSA and RSA PKCS#1 signature schemes; a 32-byte
// session ID or a session ticket when asked for.
Bytes tls12_hello(std::initializer_list<uint16_t> suites, std::initializer_list<uint16_t> groups,
                  bool session_id = false, bool ticket = false) {
  Bytes body;
  put16(body, 0x0303);
  for (int i = 0; i < 32; ++i) body.push_back(static_cast<uint8_t>(i * 5 + 3));
  body.push_back(session_id ? 32 : 0);
  if (session_id) append(body, Bytes(32, 0x77));
  append(body, list16(suites));
  append(body, {1, 0});  // null compression
  Bytes extensions;
  append(extensions, extension(10, list16(groups)));
  append(extensions, extension(11, {1, 0}));  // ec_point_formats: uncompressed
  append(extensions, extension(13, list16({0x0403, 0x0401, 0x0804})));
  if (ticket) append(extensions, extension(35, Bytes(96, 0x33)));
  put16(body, extensions.size());
  append(body, extensions);
  Bytes message = {1, 0};
  put16(message, body.size());
  append(message, body);
  Bytes record = {22, 0x03, 0x01};
  put16(record, message.size());
  append(record, message);
  return record;
}

struct Answer {
  Bytes output;
  Error error;
};

Answer answer(const Config& config, const Bytes& hello) {
  auto server = Connection::server(config);
  REQUIRE(server);
  server->feed(ByteView(hello.data(), hello.size()));
  const ByteView out = server->pending_output();
  return Answer{Bytes(out.begin(), out.end()), server->error()};
}

Config rsa_server(Sources& sources) {
  ConfigBuilder builder(Role::server);
  builder.random(sources.server_random)
      .clock(sources.clock)
      .certificate(pki().rsa_leaf.certificate_pem, pki().rsa_leaf.key.private_key_pem);
  return build_or_fail(builder);
}

constexpr uint16_t kEcdheRsaAes128Gcm = 0xC02F, kEcdheEcdsaAes128Gcm = 0xC02B;
constexpr uint16_t kP256 = 0x0017, kSecp521r1 = 0x0019, kSecp256k1 = 0x0016, kX448 = 0x001E;

void expect_refused_before_server_hello(const Answer& a) {
  INFO("server output: " << a.output.size() << " bytes, first byte "
                         << (a.output.empty() ? -1 : a.output[0]));
  REQUIRE(a.output.size() == 7);  // one plaintext alert record, no ServerHello
  CHECK(a.output[0] == 21);
  CHECK(a.output[5] == 2);
  CHECK(a.output[6] == static_cast<uint8_t>(Alert::handshake_failure));
  expect_error(a.error, "ERR_SSL_NO_SUITABLE_KEY_SHARE", Stage::handshake);
  expect_alert(a.error, Alert::handshake_failure, AlertDirection::sent);
}

}  // namespace

// testssl.sh's -f and -U probes offer only curves we do not enable
// (secp521r1, secp256k1, brainpool, X448). mbedTLS kept the ECDHE suite and
// failed at its ServerKeyExchange, after ServerHello and Certificate.
TEST_CASE("TLS 1.2: no shared group for ECDHE suites is refused before the ServerHello",
          "[conformance][testssl][hello]") {
  Sources sources;
  SECTION("RSA certificate, the client's curves are all ones we do not enable") {
    const Config config = rsa_server(sources);
    expect_refused_before_server_hello(
        answer(config, tls12_hello({kEcdheRsaAes128Gcm}, {kSecp521r1, kSecp256k1, kX448})));
  }
  SECTION("ECDSA P-256 certificate, a server enabling only X25519") {
    ConfigBuilder builder = server_builder(sources);
    builder.groups("X25519");
    const Config config = build_or_fail(builder);
    expect_refused_before_server_hello(
        answer(config, tls12_hello({kEcdheEcdsaAes128Gcm}, {kP256})));
  }
}

TEST_CASE("TLS 1.2: a shared group, or a resumption offer, still gets a ServerHello",
          "[conformance][testssl][hello]") {
  Sources sources;
  const Config config = rsa_server(sources);
  // Control: the same ClientHello with P-256 among the curves.
  const Answer shared = answer(config, tls12_hello({kEcdheRsaAes128Gcm}, {kSecp521r1, kP256}));
  INFO("error: " << shared.error.name() << ": " << shared.error.message());
  CHECK(shared.error.ok());
  REQUIRE(shared.output.size() > 9);
  CHECK(shared.output[0] == 22);
  CHECK(shared.output[5] == 2);  // ServerHello
  // A session ID or ticket may resume (no key exchange): left to mbedTLS,
  // which answers an unknown one with a full handshake, so here it fails
  // as before, at its ServerKeyExchange, with handshake_failure.
  for (const bool ticket : {false, true}) {
    const Answer resumption =
        answer(config, tls12_hello({kEcdheRsaAes128Gcm}, {kSecp521r1}, !ticket, ticket));
    INFO("ticket " << ticket << ": " << resumption.error.name());
    REQUIRE(resumption.output.size() > 9);
    CHECK(resumption.output[5] == 2);  // a ServerHello went out first
    CHECK_FALSE(resumption.error.ok());
  }
}
