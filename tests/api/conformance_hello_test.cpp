// ClientHello conformance of the server: crafted ClientHellos (a small
// builder below) are fed to a server Connection, and what it answers is read
// from pending_output() and error().
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

Bytes vector16(const Bytes& body) {
  Bytes out(2 + body.size());
  out[0] = static_cast<uint8_t>(body.size() >> 8);
  out[1] = static_cast<uint8_t>(body.size());
  for (size_t i = 0; i < body.size(); ++i) out[2 + i] = body[i];
  return out;
}

Bytes list16(std::initializer_list<uint16_t> items) {
  Bytes body;
  for (uint16_t item : items) put16(body, item);
  return vector16(body);
}

constexpr uint16_t kX25519 = 0x001D, kP256 = 0x0017;

struct HelloBuilder {
  uint16_t record_version = 0x0301;
  uint16_t legacy_version = 0x0303;
  Bytes suites;
  Bytes compression = {0};
  bool extensions_block = true;
  std::vector<std::pair<uint16_t, Bytes>> extensions;

  HelloBuilder& suite(uint16_t id) {
    put16(suites, id);
    return *this;
  }
  HelloBuilder& ext(uint16_t type, Bytes data) {
    extensions.emplace_back(type, std::move(data));
    return *this;
  }
  HelloBuilder& server_name(const std::string& name) {
    Bytes entry = {0};
    Bytes host(name.begin(), name.end());
    Bytes named = vector16(host);
    entry.insert(entry.end(), named.begin(), named.end());
    return ext(0, vector16(entry));
  }
  HelloBuilder& groups(std::initializer_list<uint16_t> ids) { return ext(10, list16(ids)); }
  HelloBuilder& point_formats() { return ext(11, {1, 0}); }
  HelloBuilder& signature_algorithms(std::initializer_list<uint16_t> ids) {
    return ext(13, list16(ids));
  }
  HelloBuilder& supported_versions_13() { return ext(43, {2, 0x03, 0x04}); }
  HelloBuilder& psk_modes() { return ext(45, {1, 1}); }
  HelloBuilder& key_share(std::vector<std::pair<uint16_t, Bytes>> shares) {
    Bytes entries;
    for (const auto& [group, key] : shares) {
      put16(entries, group);
      Bytes k = vector16(key);
      entries.insert(entries.end(), k.begin(), k.end());
    }
    return ext(51, vector16(entries));
  }

  // A TLS 1.3 ClientHello with one X25519 share (a valid public key:
  // any 32 bytes but the low-order points).
  static HelloBuilder tls13() {
    HelloBuilder h;
    h.suite(0x1301).server_name("localhost").groups({kX25519, kP256}).point_formats();
    h.signature_algorithms({0x0403, 0x0804}).supported_versions_13().psk_modes();
    h.key_share({{kX25519, Bytes(32, 0x42)}});
    return h;
  }
  // A TLS 1.2 ClientHello for the ECDSA test server.
  static HelloBuilder tls12() {
    HelloBuilder h;
    h.suite(0xC02B).server_name("localhost").groups({kX25519, kP256}).point_formats();
    h.signature_algorithms({0x0403, 0x0804, 0x0401});
    return h;
  }

  Bytes message() const {
    Bytes body;
    put16(body, legacy_version);
    for (int i = 0; i < 32; ++i) body.push_back(static_cast<uint8_t>(i * 7 + 1));
    body.push_back(0);  // session id
    Bytes s = vector16(suites);
    body.insert(body.end(), s.begin(), s.end());
    body.push_back(static_cast<uint8_t>(compression.size()));
    body.insert(body.end(), compression.begin(), compression.end());
    if (extensions_block) {
      Bytes all;
      for (const auto& [type, data] : extensions) {
        put16(all, type);
        Bytes d = vector16(data);
        all.insert(all.end(), d.begin(), d.end());
      }
      Bytes e = vector16(all);
      body.insert(body.end(), e.begin(), e.end());
    }
    Bytes out = {1, static_cast<uint8_t>(body.size() >> 16), static_cast<uint8_t>(body.size() >> 8),
                 static_cast<uint8_t>(body.size())};
    out.insert(out.end(), body.begin(), body.end());
    return out;
  }
  Bytes record() const {
    Bytes msg = message();
    Bytes out = {22};
    put16(out, record_version);
    Bytes v = vector16(msg);
    out.insert(out.end(), v.begin(), v.end());
    return out;
  }
};

// The server's answer to one ClientHello.
struct Answer {
  Connection server;
  Bytes output;
};

Answer answer(const Config& config, const Bytes& records) {
  auto server = Connection::server(config);
  REQUIRE(server);
  server->feed(ByteView(records.data(), records.size()));
  const ByteView out = server->pending_output();
  Bytes output(out.begin(), out.end());
  return Answer{std::move(server).value(), std::move(output)};
}

// The plaintext handshake messages at the start of a server's output: (type,
// body).
std::vector<std::pair<uint8_t, Bytes>> handshake_messages(const Bytes& stream) {
  std::vector<std::pair<uint8_t, Bytes>> out;
  Bytes data;
  size_t at = 0;
  while (at + 5 <= stream.size() && stream[at] == 22) {
    const size_t length = (size_t{stream[at + 3]} << 8) | stream[at + 4];
    if (at + 5 + length > stream.size()) break;
    data.insert(data.end(), stream.begin() + static_cast<std::ptrdiff_t>(at + 5),
                stream.begin() + static_cast<std::ptrdiff_t>(at + 5 + length));
    at += 5 + length;
  }
  size_t m = 0;
  while (m + 4 <= data.size()) {
    const size_t length = (size_t{data[m + 1]} << 16) | (size_t{data[m + 2]} << 8) | data[m + 3];
    if (m + 4 + length > data.size()) break;
    out.emplace_back(data[m], Bytes(data.begin() + static_cast<std::ptrdiff_t>(m + 4),
                                    data.begin() + static_cast<std::ptrdiff_t>(m + 4 + length)));
    m += 4 + length;
  }
  return out;
}

// The output is exactly one plaintext fatal alert, before any ServerHello.
void expect_refused(const Answer& a, Alert alert, const std::string& name) {
  INFO("server output: " << a.output.size() << " bytes");
  REQUIRE(a.output.size() == 7);
  CHECK(a.output[0] == 21);
  CHECK(a.output[5] == 2);
  CHECK(a.output[6] == static_cast<uint8_t>(alert));
  expect_error(a.server.error(), name, Stage::handshake);
  expect_alert(a.server.error(), alert, AlertDirection::sent);
}

// A ServerHello went out; returns its body.
Bytes expect_server_hello(const Answer& a) {
  INFO("error: " << a.server.error().name() << ": " << a.server.error().message());
  CHECK(a.server.error().ok());
  const auto messages = handshake_messages(a.output);
  REQUIRE_FALSE(messages.empty());
  REQUIRE(messages.front().first == 2);
  REQUIRE(messages.front().second.size() >= 38);
  return messages.front().second;
}

uint16_t u16_at(const Bytes& b, size_t at) {
  return static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
}

// ServerHello: version(2) random(32) session_id(1+n) suite(2) ...
uint16_t server_hello_suite(const Bytes& body) { return u16_at(body, 35 + body[34]); }

Config psk_only_server(Sources& sources) {
  ConfigBuilder builder(Role::server);
  builder.random(sources.server_random)
      .clock(sources.clock)
      .psk_lookup([](std::string_view) -> std::optional<std::vector<uint8_t>> {
        return std::vector<uint8_t>(16, 0x5a);
      });
  return build_or_fail(builder);
}

}  // namespace

TEST_CASE("control: the crafted ClientHellos are answered with a ServerHello",
          "[conformance][hello]") {
  Sources sources;
  const Config config = build_or_fail(server_builder(sources));
  const Bytes hello13 = expect_server_hello(answer(config, HelloBuilder::tls13().record()));
  CHECK(u16_at(hello13, 0) == 0x0303);
  CHECK(server_hello_suite(hello13) == 0x1301);
  const Bytes hello12 = expect_server_hello(answer(config, HelloBuilder::tls12().record()));
  CHECK(u16_at(hello12, 0) == 0x0303);
  CHECK(server_hello_suite(hello12) == 0xC02B);
}

TEST_CASE("a TLS 1.2 ClientHello without extensions negotiates TLS 1.2",
          "[conformance][hello][extensions]") {
  Sources sources;
  HelloBuilder hello;
  hello.suite(0xC02B).suite(0x00A8);  // ECDHE-ECDSA, PSK-AES128-GCM-SHA256
  hello.extensions_block = false;
  SECTION("a PSK server answers with its PSK suite") {
    // With no supported_groups and no signature_algorithms, ECDHE with a
    // certificate would take defaults (SHA-1 signatures, RFC 5246 7.4.1.4.1)
    // that no current server accepts; a PSK suite needs neither.
    const Bytes body = expect_server_hello(answer(psk_only_server(sources), hello.record()));
    CHECK(u16_at(body, 0) == 0x0303);
    CHECK(server_hello_suite(body) == 0x00A8);
  }
  SECTION(
      "a certificate server finds no suite it can serve: "
      "handshake_failure, not decode_error") {
    const Answer a = answer(build_or_fail(server_builder(sources)), hello.record());
    REQUIRE(a.output.size() == 7);
    CHECK(a.output[6] == static_cast<uint8_t>(Alert::handshake_failure));
    // Its ECDHE suite needs a group the client did not offer.
    CHECK(std::string(a.server.error().name()) == "ERR_SSL_NO_SHARED_CIPHER");
  }
}

TEST_CASE(
    "ClientHello versions above TLS 1.2 without supported_versions "
    "negotiate TLS 1.2",
    "[conformance][hello][version]") {
  Sources sources;
  const Config config = build_or_fail(server_builder(sources));
  HelloBuilder hello = HelloBuilder::tls12();
  hello.legacy_version = GENERATE(uint16_t{0x0304}, uint16_t{0x0305}, uint16_t{0x03FF});
  hello.record_version = GENERATE(uint16_t{0x0301}, uint16_t{0x03FE});
  const Bytes body = expect_server_hello(answer(config, hello.record()));
  CHECK(u16_at(body, 0) == 0x0303);
  CHECK(server_hello_suite(body) == 0xC02B);
  // Still a TLS 1.3 server: the downgrade sentinel is there (RFC 8446 4.1.3).
  CHECK(std::memcmp(body.data() + 2 + 24, "DOWNGRD\x01", 8) == 0);
}

TEST_CASE("a version-tolerant ClientHello is in the transcript as received",
          "[conformance][hello][version]") {
  // Our TLS 1.2 client sends legacy_version 0x0303 and hashes that; the
  // wire says 0x0304. A server hashing the bytes as received disagrees with
  // the client from the extended master secret on: the client's Finished
  // fails authentication. A server that hashed the ClientHello mbedTLS
  // parsed (rewritten to 0x0303) would complete this tampered handshake.
  Sources sources;
  const Config client_config =
      build_or_fail(client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2));
  auto client = Connection::client(client_config, "localhost");
  REQUIRE(client);
  auto server = Connection::server(build_or_fail(server_builder(sources)));
  REQUIRE(server);
  Pair pair(std::move(client).value(), std::move(server).value());
  Bytes& wire = pair.wire_to(pair.server);
  Bytes hello(pair.client.conn.pending_output().begin(), pair.client.conn.pending_output().end());
  pair.client.conn.consume_output(hello.size());
  REQUIRE(hello.size() > 11);
  REQUIRE(hello[5] == 1);
  REQUIRE(u16_at(hello, 9) == 0x0303);
  hello[10] = 0x04;
  wire = hello;
  pair.pump();
  REQUIRE_FALSE(pair.server.conn.error().ok());
  INFO(pair.server.conn.error().message());
  // It negotiated TLS 1.2 and got as far as the client's Finished.
  const auto sent = handshake_messages(pair.server_to_client);
  REQUIRE_FALSE(sent.empty());
  CHECK(sent.front().first == 2);
  expect_error(pair.server.conn.error(), "ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC",
               Stage::handshake);
  CHECK_FALSE(pair.client.conn.info().session_reused);
}

TEST_CASE("invalid TLS 1.3 key shares get illegal_parameter before the ServerHello",
          "[conformance][hello][key_share]") {
  Sources sources;
  const Config config = build_or_fail(server_builder(sources));
  HelloBuilder hello = HelloBuilder::tls13();
  hello.extensions.pop_back();  // the key_share
  SECTION("X25519 share of the wrong length") { hello.key_share({{kX25519, Bytes(31, 0x42)}}); }
  SECTION("P-256 point not on the curve") {
    Bytes point(65, 0);
    point[0] = 0x04;
    point[32] = 1;                                         // x = 1
    point[64] = 1;                                         // y = 1
    hello.extensions.erase(hello.extensions.begin() + 1);  // supported_groups
    hello.groups({kP256});
    hello.key_share({{kP256, point}});
  }
  SECTION("P-256 share that is not an uncompressed point") {
    Bytes point(33, 0x11);
    point[0] = 0x02;
    hello.extensions.erase(hello.extensions.begin() + 1);
    hello.groups({kP256});
    hello.key_share({{kP256, point}});
  }
  SECTION("a share for a group not in supported_groups") {
    hello.extensions.erase(hello.extensions.begin() + 1);
    hello.groups({kP256});
    hello.key_share({{kX25519, Bytes(32, 0x42)}});
  }
  SECTION("two shares for the same group") {
    hello.key_share({{kX25519, Bytes(32, 0x42)}, {kX25519, Bytes(32, 0x43)}});
  }
  expect_refused(answer(config, hello.record()), Alert::illegal_parameter,
                 "ERR_SSL_ILLEGAL_PARAMETER");
}

TEST_CASE("no usable signature algorithm: handshake_failure before the ServerHello",
          "[conformance][hello][sigalgs]") {
  Sources sources;
  const Config config = build_or_fail(server_builder(sources));  // ECDSA P-256 certificate
  SECTION("TLS 1.3") {
    HelloBuilder hello = HelloBuilder::tls13();
    REQUIRE(hello.extensions[3].first == 13);
    hello.extensions[3].second = list16({0x0503, 0x0603, 0x0401});  // none for a P-256 key
    expect_refused(answer(config, hello.record()), Alert::handshake_failure,
                   "ERR_SSL_HANDSHAKE_FAILURE");
  }
  SECTION("TLS 1.2") {
    HelloBuilder hello = HelloBuilder::tls12();
    REQUIRE(hello.extensions[3].first == 13);
    hello.extensions[3].second = list16({0x0401, 0x0804});  // RSA only
    const Answer a = answer(config, hello.record());
    REQUIRE(a.output.size() == 7);
    CHECK(a.output[6] == static_cast<uint8_t>(Alert::handshake_failure));
    CHECK_FALSE(a.server.error().ok());
  }
}

TEST_CASE("an empty signature_algorithms list is a decode_error", "[conformance][hello][sigalgs]") {
  Sources sources;
  const Config config = build_or_fail(server_builder(sources));
  HelloBuilder hello = GENERATE(HelloBuilder::tls13(), HelloBuilder::tls12());
  REQUIRE(hello.extensions[3].first == 13);
  hello.extensions[3].second = {0, 0};
  expect_refused(answer(config, hello.record()), Alert::decode_error, "ERR_SSL_DECODE_ERROR");
}

TEST_CASE("a ClientHello without null compression is refused with illegal_parameter",
          "[conformance][hello][compression]") {
  Sources sources;
  const Config config = build_or_fail(server_builder(sources));
  HelloBuilder hello = GENERATE(HelloBuilder::tls13(), HelloBuilder::tls12());
  hello.compression = {1};  // DEFLATE only
  expect_refused(answer(config, hello.record()), Alert::illegal_parameter,
                 "ERR_SSL_ILLEGAL_PARAMETER");
}

namespace {

// Moves extension `type` to the front of a ClientHello record's extensions
// (lengths unchanged).
Bytes move_extension_first(const Bytes& record, uint16_t type) {
  REQUIRE(record.size() > 9);
  const size_t body = 9;  // record header 5 + handshake header 4
  size_t at = body + 2 + 32;
  at += 1 + record[at];          // session id
  at += 2 + u16_at(record, at);  // suites
  at += 1 + record[at];          // compression
  const size_t extensions = at + 2;
  const size_t end = extensions + u16_at(record, at);
  REQUIRE(end == record.size());
  std::vector<Bytes> items;
  Bytes moved;
  for (size_t e = extensions; e < end;) {
    const size_t size = 4 + u16_at(record, e + 2);
    Bytes item(record.begin() + static_cast<std::ptrdiff_t>(e),
               record.begin() + static_cast<std::ptrdiff_t>(e + size));
    if (u16_at(record, e) == type) {
      moved = item;
    } else {
      items.push_back(item);
    }
    e += size;
  }
  REQUIRE_FALSE(moved.empty());
  Bytes out(record.begin(), record.begin() + static_cast<std::ptrdiff_t>(extensions));
  out.insert(out.end(), moved.begin(), moved.end());
  for (const Bytes& item : items) out.insert(out.end(), item.begin(), item.end());
  return out;
}

}  // namespace

TEST_CASE(
    "TLS 1.2 tickets resume whatever the order of server_name and "
    "session_ticket",
    "[conformance][hello][session]") {
  Sources sources;
  const Config client_config =
      build_or_fail(client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2));
  const Config server_config = build_or_fail(server_builder(sources));
  auto first_client = Connection::client(client_config, "localhost");
  REQUIRE(first_client);
  auto first_server = Connection::server(server_config);
  REQUIRE(first_server);
  Pair first(std::move(first_client).value(), std::move(first_server).value());
  REQUIRE(first.handshake());
  auto saved = first.client.conn.save_session();
  REQUIRE(saved);

  auto client = Connection::client(client_config, "localhost", ByteView(saved.value()));
  REQUIRE(client);
  const Bytes hello(client->pending_output().begin(), client->pending_output().end());
  const bool ticket_first = GENERATE(false, true);
  const Bytes sent = ticket_first ? move_extension_first(hello, 35) : hello;
  const Answer a = answer(server_config, sent);
  INFO("ticket first: " << ticket_first);
  CHECK(a.server.error().ok());
  const auto messages = handshake_messages(a.output);
  REQUIRE_FALSE(messages.empty());
  CHECK(messages.front().first == 2);
  // The abbreviated handshake: no Certificate, and ChangeCipherSpec already.
  for (const auto& [type, body] : messages) CHECK(type != 11);
  bool ccs = false;
  for (const RecordSummary& r : split_records(a.output)) ccs = ccs || r.type == 20;
  CHECK(ccs);
}

namespace {

bool contains_text(const Error& error, const char* text) {
  return std::strstr(error.message(), text) != nullptr;
}

}  // namespace

// Engine fix (issue #16): mbedTLS 3.6 skips a TLS 1.2 suite it cannot serve
// and then says only handshake_failure; the engine names why no suite is
// usable (BoGo: NoSupportedCurves, ServerCipherFilter-*).
TEST_CASE("TLS 1.2: no usable shared suite is ERR_SSL_NO_SHARED_CIPHER, with the reason",
          "[conformance][hello][suites]") {
  Sources sources;
  SECTION("ECDHE suites and no supported_groups (RFC 8422 4 lets the server refuse ECC)") {
    HelloBuilder hello = HelloBuilder::tls12();
    REQUIRE(hello.extensions[1].first == 10);
    hello.extensions.erase(hello.extensions.begin() + 1);
    const Answer a = answer(build_or_fail(server_builder(sources)), hello.record());
    expect_refused(a, Alert::handshake_failure, "ERR_SSL_NO_SHARED_CIPHER");
    CHECK(contains_text(a.server.error(), "no supported groups"));
  }
  SECTION("an ECDHE-RSA suite only, to an ECDSA server") {
    HelloBuilder hello = HelloBuilder::tls12();
    hello.suites.clear();
    hello.suite(0xC02F);  // ECDHE-RSA-AES128-GCM-SHA256
    const Answer a = answer(build_or_fail(server_builder(sources)), hello.record());
    expect_refused(a, Alert::handshake_failure, "ERR_SSL_NO_SHARED_CIPHER");
    CHECK(contains_text(a.server.error(), "need an RSA certificate"));
  }
  SECTION("an ECDHE-ECDSA suite only, to an RSA server") {
    ConfigBuilder rsa_server(Role::server);
    rsa_server.random(sources.server_random)
        .clock(sources.clock)
        .certificate(pki().rsa_leaf.certificate_pem, pki().rsa_leaf.key.private_key_pem);
    HelloBuilder hello = HelloBuilder::tls12();  // ECDHE-ECDSA-AES128-GCM-SHA256
    const Answer a = answer(build_or_fail(rsa_server), hello.record());
    expect_refused(a, Alert::handshake_failure, "ERR_SSL_NO_SHARED_CIPHER");
    CHECK(contains_text(a.server.error(), "need an ECDSA certificate"));
  }
  SECTION("control: a server with an RSA certificate too takes the ECDHE-RSA suite") {
    HelloBuilder hello = HelloBuilder::tls12();
    hello.suites.clear();
    hello.suite(0xC02F);
    const Bytes body =
        expect_server_hello(answer(build_or_fail(server_builder(sources, true)), hello.record()));
    CHECK(server_hello_suite(body) == 0xC02F);
  }
}

// Engine fix (issue #16): RFC 8446 9.2 and 4.2.3 name missing_extension for
// a TLS 1.3 ClientHello without the extensions a certificate handshake needs;
// mbedTLS 3.6 sent that alert under a generic "illegal parameter in a
// message", or handshake_failure.
TEST_CASE("TLS 1.3: a ClientHello missing a mandatory extension is named missing_extension",
          "[conformance][hello][extensions]") {
  Sources sources;
  const Config config = build_or_fail(server_builder(sources));
  HelloBuilder hello = HelloBuilder::tls13();
  REQUIRE(hello.extensions[1].first == 10);
  REQUIRE(hello.extensions[3].first == 13);
  REQUIRE(hello.extensions.back().first == 51);
  const char* missing = "";
  SECTION("supported_groups, with a key_share") {
    hello.extensions.erase(hello.extensions.begin() + 1);
    missing = "a key_share but no supported_groups";
  }
  SECTION("supported_groups, with no pre-shared key and no key_share") {
    hello.extensions.pop_back();
    hello.extensions.erase(hello.extensions.begin() + 1);
    missing = "no pre-shared key and no supported_groups";
  }
  SECTION("signature_algorithms, with no pre-shared key") {
    hello.extensions.erase(hello.extensions.begin() + 3);
    missing = "no signature_algorithms";
  }
  const Answer a = answer(config, hello.record());
  expect_refused(a, Alert::missing_extension, "ERR_SSL_ILLEGAL_PARAMETER");
  INFO(a.server.error().message());
  CHECK(contains_text(a.server.error(), "missing extension"));
  CHECK(contains_text(a.server.error(), missing));
}

// Engine fix (issue #16): RFC 8446 4.1.2, 4.2.8: after a HelloRetryRequest
// the key_share holds one share, of the group it named; else
// illegal_parameter (mbedTLS 3.6: handshake_failure; BoGo:
// SecondClientHelloWrongCurve-TLS13).
TEST_CASE("TLS 1.3: a second ClientHello with a share of another group is illegal_parameter",
          "[conformance][hello][key_share]") {
  Sources sources;
  auto server = Connection::server(build_or_fail(server_builder(sources)));
  REQUIRE(server);
  HelloBuilder hello = HelloBuilder::tls13();
  hello.extensions.pop_back();
  hello.key_share({});  // no share: the server asks for one
  const Bytes first = hello.record();
  server->feed(ByteView(first.data(), first.size()));
  const ByteView out = server->pending_output();
  const Bytes retry(out.begin(), out.end());
  server->consume_output(retry.size());
  // The HelloRetryRequest's key_share: type 51, length 2, the group.
  uint16_t asked = 0;
  for (size_t at = 0; at + 6 <= retry.size(); ++at) {
    if (retry[at] == 0 && retry[at + 1] == 51 && retry[at + 2] == 0 && retry[at + 3] == 2) {
      asked = u16_at(retry, at + 4);
    }
  }
  REQUIRE((asked == kX25519 || asked == kP256));
  hello.extensions.pop_back();
  const bool right_group = GENERATE(false, true);
  if (right_group) {
    hello.key_share({{kX25519, Bytes(32, 0x42)}});
    if (asked == kP256) FAIL("the server asked for P-256; the control expects X25519");
  } else {
    Bytes point(65, 0x11);
    point[0] = 0x04;
    hello.key_share(
        {{asked == kX25519 ? kP256 : kX25519, asked == kX25519 ? point : Bytes(32, 1)}});
  }
  const Bytes second = hello.record();
  server->feed(ByteView(second.data(), second.size()));
  const ByteView answer_out = server->pending_output();
  const Bytes output(answer_out.begin(), answer_out.end());
  if (right_group) {
    INFO(server->error().name() << ": " << server->error().message());
    CHECK(server->error().ok());
    REQUIRE_FALSE(handshake_messages(output).empty());
    CHECK(handshake_messages(output).front().first == 2);  // the ServerHello
  } else {
    REQUIRE(output.size() == 7);
    CHECK(output[6] == static_cast<uint8_t>(Alert::illegal_parameter));
    expect_error(server->error(), "ERR_SSL_ILLEGAL_PARAMETER", Stage::handshake);
    expect_alert(server->error(), Alert::illegal_parameter, AlertDirection::sent);
  }
}
