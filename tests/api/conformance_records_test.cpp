// Record-layer and alert conformance (RFC 8446 5, 6; RFC 5246 6.2): crafted
// records fed to a server or a client, with the alert that must answer them.
// TLS 1.3 records are sealed and opened here with keys derived from the key
// log, so the tests see exactly what a correct peer would read.
#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "call_scope.h"
#include "mbedtls/gcm.h"
#include "mbedtls/hkdf.h"
#include "mbedtls/md.h"
#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"
#include "support/records.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

// TLS_AES_128_GCM_SHA256 traffic keys for one direction (RFC 8446 7.3).
struct Keys {
  uint8_t key[16] = {0};
  uint8_t iv[12] = {0};
  uint64_t seq = 0;
};

Bytes expand_label(const Bytes& secret, const std::string& label, size_t length) {
  const std::string full = "tls13 " + label;
  Bytes info = {static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length),
                static_cast<uint8_t>(full.size())};
  info.insert(info.end(), full.begin(), full.end());
  info.push_back(0);  // empty context
  Bytes out(length);
  REQUIRE(mbedtls_hkdf_expand(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), secret.data(),
                              secret.size(), info.data(), info.size(), out.data(),
                              out.size()) == 0);
  return out;
}

Keys derive(const Bytes& secret) {
  Keys keys;
  const Bytes key = expand_label(secret, "key", 16);
  const Bytes iv = expand_label(secret, "iv", 12);
  std::memcpy(keys.key, key.data(), 16);
  std::memcpy(keys.iv, iv.data(), 12);
  return keys;
}

Bytes header(uint8_t type, size_t length) {
  return {type, 3, 3, static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length)};
}

void nonce_for(Keys& keys, uint8_t nonce[12]) {
  std::memcpy(nonce, keys.iv, 12);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= static_cast<uint8_t>(keys.seq >> (8 * i));
  ++keys.seq;
}

// A protected record: content, then the real type, then `padding` zeros.
Bytes seal(Keys& keys, uint8_t type, const Bytes& content, size_t padding = 0,
           bool with_type = true) {
  detail::CallScope scope(nullptr, nullptr, nullptr);
  Bytes inner = content;
  if (with_type) inner.push_back(type);
  inner.insert(inner.end(), padding, 0);
  Bytes record(5 + inner.size() + 16);
  const Bytes h = header(23, inner.size() + 16);
  std::copy(h.begin(), h.end(), record.begin());
  uint8_t nonce[12];
  nonce_for(keys, nonce);
  mbedtls_gcm_context gcm;
  mbedtls_gcm_init(&gcm);
  REQUIRE(mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, keys.key, 128) == 0);
  REQUIRE(mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, inner.size(), nonce, 12,
                                    record.data(), 5, inner.data(), record.data() + 5, 16,
                                    record.data() + 5 + inner.size()) == 0);
  mbedtls_gcm_free(&gcm);
  return record;
}

// Opens one protected record; returns the inner plaintext with its type
// byte last (padding removed), empty when it does not authenticate.
Bytes open(Keys& keys, const uint8_t* record, size_t size) {
  detail::CallScope scope(nullptr, nullptr, nullptr);
  if (size < 5 + 17 || record[0] != 23) return {};
  uint8_t nonce[12];
  nonce_for(keys, nonce);
  const size_t n = size - 5 - 16;
  Bytes inner(n);
  mbedtls_gcm_context gcm;
  mbedtls_gcm_init(&gcm);
  REQUIRE(mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, keys.key, 128) == 0);
  const int ret = mbedtls_gcm_auth_decrypt(&gcm, n, nonce, 12, record, 5, record + 5 + n, 16,
                                           record + 5, inner.data());
  mbedtls_gcm_free(&gcm);
  if (ret != 0) return {};
  while (!inner.empty() && inner.back() == 0) inner.pop_back();
  return inner;
}

Bytes plain_record(uint8_t type, const Bytes& body) {
  Bytes record(5 + body.size());
  const Bytes h = header(type, body.size());
  std::copy(h.begin(), h.end(), record.begin());
  std::copy(body.begin(), body.end(), record.begin() + 5);
  return record;
}

// A TLS 1.3 handshake run by hand up to the client's second flight, which
// is held back: the test decides what the server receives instead.
struct Handshake13 {
  Sources sources;
  std::vector<std::string> log;
  Connection client;
  Connection server;
  Bytes second_flight;        // the client's real CCS + Finished
  Keys client_handshake;      // the client's handshake keys, after its Finished
  Keys client_finished_keys;  // the client's handshake keys, before its Finished
  Keys client_application;
  Keys server_application;
  Bytes finished_plaintext;  // the client's Finished message

  Handshake13() : client(make_client()), server(make_server()) {
    feed_all(server, take_output(client));  // ClientHello
    feed_all(client, take_output(server));  // the server's flight
    REQUIRE(client.wants().handshake_complete);
    second_flight = take_output(client);
    REQUIRE(server.error().ok());
    REQUIRE(client.error().ok());
    client_handshake = derive(secret("CLIENT_HANDSHAKE_TRAFFIC_SECRET"));
    client_application = derive(secret("CLIENT_TRAFFIC_SECRET_0"));
    server_application = derive(secret("SERVER_TRAFFIC_SECRET_0"));
    for (const Bytes& record : records_of(second_flight)) {
      if (record[0] != 23) continue;
      Keys keys = client_handshake;
      finished_plaintext = open(keys, record.data(), record.size());
    }
    REQUIRE(finished_plaintext.size() == 4 + 32 + 1);
    REQUIRE(finished_plaintext[0] == 20);
    finished_plaintext.pop_back();  // the content type
  }

  Connection make_client() {
    auto c = Connection::client(
        build_or_fail(client_builder(sources)
                          .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
                          .cipher_suites("TLS_AES_128_GCM_SHA256")
                          .key_log([this](std::string_view line) { log.emplace_back(line); })),
        "localhost");
    REQUIRE(c);
    return std::move(c).value();
  }
  Connection make_server() {
    auto s = Connection::server(build_or_fail(server_builder(sources)
                                                  .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
                                                  .cipher_suites("TLS_AES_128_GCM_SHA256")));
    REQUIRE(s);
    return std::move(s).value();
  }
  Bytes secret(const std::string& label) const {
    for (const std::string& line : log) {
      if (line.compare(0, label.size() + 1, label + " ") == 0) {
        return from_hex(line.substr(line.rfind(' ') + 1));
      }
    }
    FAIL("no key log line " << label);
    return {};
  }
};

// The failing side's output after a fatal error: exactly one record, which
// opens under `keys` (or is plaintext) to a fatal alert. Returns its code.
int single_alert(const Bytes& output, Keys keys) {
  const std::vector<Bytes> records = records_of(output);
  INFO("records in the output: " << records.size());
  REQUIRE(records.size() == 1);
  const Bytes& record = records[0];
  if (record[0] == 21) {
    REQUIRE(record.size() == 7);
    CHECK(record[5] == 2);
    return record[6];
  }
  const Bytes inner = open(keys, record.data(), record.size());
  INFO("the alert record must open under the expected keys");
  REQUIRE(inner.size() == 3);
  CHECK(inner[2] == 21);
  CHECK(inner[0] == 2);
  return inner[1];
}

struct Case {
  const char* name;
  Alert alert;
  const char* error;
};

}  // namespace

TEST_CASE(
    "TLS 1.3 server: a bad client second flight gets its real alert, "
    "readable by the client",
    "[conformance][records]") {
  Handshake13 h;
  Keys keys = h.client_handshake;  // seq 0: the client's Finished
  Bytes crafted;
  Case expected{};
  const int which = GENERATE(0, 1, 2, 3, 4, 5, 6);
  switch (which) {
    case 0: {  // RFC 8446 4.4.4: a Finished that does not verify
      Bytes finished = h.finished_plaintext;
      finished[10] ^= 1;
      crafted = seal(keys, 22, finished);
      expected = {"bad Finished", Alert::decrypt_error, nullptr};
      break;
    }
    case 1:  // RFC 8446 5.4: no non-zero byte, no content type
      crafted = seal(keys, 0, Bytes(), 12, false);
      expected = {"all-zero inner plaintext", Alert::unexpected_message,
                  "ERR_SSL_UNEXPECTED_MESSAGE"};
      break;
    case 2: {  // RFC 8446 5.1: no other record inside a fragmented handshake
               // message
      const Bytes& f = h.finished_plaintext;
      crafted = seal(keys, 22, Bytes(f.begin(), f.begin() + 10));
      const Bytes data = seal(keys, 23, Bytes{'x'});
      crafted.insert(crafted.end(), data.begin(), data.end());
      const Bytes rest = seal(keys, 22, Bytes(f.begin() + 10, f.end()));
      crafted.insert(crafted.end(), rest.begin(), rest.end());
      expected = {"record interleaved in a handshake message", Alert::unexpected_message,
                  "ERR_SSL_UNEXPECTED_MESSAGE"};
      break;
    }
    case 3:  // RFC 8446 5: a ChangeCipherSpec whose body is not 0x01
      crafted = plain_record(20, Bytes{2});
      expected = {"bad ChangeCipherSpec body", Alert::unexpected_message,
                  "ERR_SSL_UNEXPECTED_MESSAGE"};
      break;
    case 4:  // RFC 8446 5.2, 5.4: inner plaintext above 2^14 + 1
      crafted = seal(keys, 23, Bytes(16385, 'a'));
      expected = {"oversized inner plaintext", Alert::record_overflow, "ERR_SSL_RECORD_OVERFLOW"};
      break;
    case 5:  // the limit holds before padding is removed
      crafted = seal(keys, 22, h.finished_plaintext, 16385 - 36);
      expected = {"oversized inner plaintext with padding", Alert::record_overflow,
                  "ERR_SSL_RECORD_OVERFLOW"};
      break;
    case 6:  // a two-byte ChangeCipherSpec
      crafted = plain_record(20, Bytes{1, 1});
      expected = {"long ChangeCipherSpec", Alert::unexpected_message, "ERR_SSL_UNEXPECTED_MESSAGE"};
      break;
  }
  INFO(expected.name);
  feed_all(h.server, crafted);
  const Error& error = h.server.error();
  INFO("server: " << error.name() << ": " << error.message());
  REQUIRE_FALSE(error.ok());
  if (expected.error != nullptr) expect_error(error, expected.error, Stage::handshake);
  expect_alert(error, expected.alert, AlertDirection::sent);
  const Bytes output = take_output(h.server);
  // RFC 8446 4.4.4: after its Finished the server writes under application
  // keys.
  CHECK(single_alert(output, h.server_application) == static_cast<int>(expected.alert));
  // A correct client reads the alert, not bad_record_mac.
  feed_all(h.client, output);
  INFO("client: " << h.client.error().name() << ": " << h.client.error().message());
  expect_alert(h.client.error(), expected.alert, AlertDirection::received);
}

TEST_CASE("TLS 1.3 server: a plaintext fatal alert from the client gets no answer",
          "[conformance][records]") {
  Handshake13 h;
  feed_all(h.server, plain_record(21, Bytes{2, 40}));
  expect_alert(h.server.error(), Alert::handshake_failure, AlertDirection::received);
  CHECK(h.server.pending_output().empty());
}

TEST_CASE("TLS 1.3 client: bad records after the handshake get the right alert, once",
          "[conformance][records]") {
  Handshake13 h;
  Keys keys = h.server_application;  // seq 0: the server's first application record
  Bytes crafted;
  Case expected{};
  const int which = GENERATE(0, 1, 2, 3, 4, 5);
  switch (which) {
    case 0:  // RFC 8446 5: ChangeCipherSpec only during the handshake
      crafted = plain_record(20, Bytes{1});
      expected = {"ChangeCipherSpec after the handshake", Alert::unexpected_message,
                  "ERR_SSL_UNEXPECTED_MESSAGE"};
      break;
    case 1:
      crafted = seal(keys, 0, Bytes(), 7, false);
      expected = {"all-zero inner plaintext", Alert::unexpected_message,
                  "ERR_SSL_UNEXPECTED_MESSAGE"};
      break;
    case 2:
      crafted = seal(keys, 23, Bytes(16385, 'a'));
      expected = {"oversized inner plaintext", Alert::record_overflow, "ERR_SSL_RECORD_OVERFLOW"};
      break;
    case 3:
      crafted = seal(keys, 23, Bytes(16000, 'a'), 400);
      expected = {"oversized inner plaintext with padding", Alert::record_overflow,
                  "ERR_SSL_RECORD_OVERFLOW"};
      break;
    case 4: {  // a NewSessionTicket split around an application data record
      const Bytes ticket = {4, 0, 0, 13, 0, 0, 0, 60, 0, 0, 0, 1, 0, 0, 1, 'T', 0, 0};
      crafted = seal(keys, 22, Bytes(ticket.begin(), ticket.begin() + 6));
      const Bytes data = seal(keys, 23, Bytes{'x'});
      crafted.insert(crafted.end(), data.begin(), data.end());
      const Bytes rest = seal(keys, 22, Bytes(ticket.begin() + 6, ticket.end()));
      crafted.insert(crafted.end(), rest.begin(), rest.end());
      expected = {"record interleaved in a handshake message", Alert::unexpected_message,
                  "ERR_SSL_UNEXPECTED_MESSAGE"};
      break;
    }
    case 5:  // a record that does not authenticate
      crafted = seal(keys, 23, Bytes{'x'});
      crafted.back() ^= 1;
      expected = {"bad record MAC", Alert::bad_record_mac,
                  "ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC"};
      break;
  }
  INFO(expected.name);
  feed_all(h.client, crafted);
  const Error& error = h.client.error();
  INFO("client: " << error.name() << ": " << error.message());
  REQUIRE_FALSE(error.ok());
  expect_error(error, expected.error, Stage::record);
  expect_alert(error, expected.alert, AlertDirection::sent);
  CHECK(single_alert(take_output(h.client), h.client_application) ==
        static_cast<int>(expected.alert));
}

TEST_CASE(
    "TLS 1.3 client: a plaintext fatal alert after the handshake gets no "
    "answer",
    "[conformance][records]") {
  Handshake13 h;
  feed_all(h.client, plain_record(21, Bytes{2, 40}));
  expect_alert(h.client.error(), Alert::handshake_failure, AlertDirection::received);
  CHECK(h.client.pending_output().empty());
}

TEST_CASE(
    "0-RTT to a server with early data off is skipped, and the handshake "
    "completes",
    "[conformance][early-data]") {
  // RFC 8446 4.2.10: a server rejecting 0-RTT skips the records it cannot
  // deprotect. With early data off, mbedTLS's skip budget was 0.
  const bool shared_keys = GENERATE(false, true);
  const size_t early_bytes = GENERATE(size_t{5}, size_t{16000});
  INFO("ticket keys shared: " << shared_keys << ", early bytes: " << early_bytes);
  Sources sources;
  const Config client_config = build_or_fail(
      client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3).early_data(16384));
  const Config server_on = build_or_fail(server_builder(sources).early_data(16384));
  ConfigBuilder off = server_builder(sources);  // early data off (the default)
  if (shared_keys) off.ticket_keys(server_on.ticket_keys());
  const Config server_off = build_or_fail(off);
  Bytes session;
  {
    auto c = Connection::client(client_config, "localhost");
    auto s = Connection::server(server_on);
    REQUIRE(c);
    REQUIRE(s);
    Pair first(std::move(c).value(), std::move(s).value());
    REQUIRE(first.handshake());
    auto saved = first.client.conn.save_session();
    REQUIRE(saved);
    session = saved.value();
  }
  auto client = Connection::client(client_config, "localhost", ByteView(session));
  auto server = Connection::server(server_off);
  REQUIRE(client);
  REQUIRE(server);
  Pair pair(std::move(client).value(), std::move(server).value());
  const std::string early(early_bytes, 'e');
  CHECK(pair.client.conn.write_early_data(ByteView(early)) == early.size());
  INFO("server: " << pair.server.conn.error().name() << ": " << pair.server.conn.error().message());
  REQUIRE(pair.handshake());
  CHECK(pair.client.has_event(EventKind::early_data_rejected));
  CHECK_FALSE(pair.server.conn.info().early_data.accepted);
  CHECK(std::string(pair.server.received.begin(), pair.server.received.end()) == early);
}

namespace {

// A TLS 1.2 pair after its handshake, for records fed to the client.
Pair tls12_pair(Sources& sources, const char* suite) {
  auto c = Connection::client(build_or_fail(client_builder(sources)
                                                .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                                                .cipher_suites(suite)),
                              "localhost");
  auto s = Connection::server(build_or_fail(server_builder(sources)
                                                .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                                                .cipher_suites(suite)));
  REQUIRE(c);
  REQUIRE(s);
  Pair pair(std::move(c).value(), std::move(s).value());
  REQUIRE(pair.handshake());
  take_output(pair.client.conn);
  return pair;
}

}  // namespace

TEST_CASE("TLS 1.2: one fatal alert per failure, and it is in the output",
          "[conformance][records]") {
  const int which = GENERATE(0, 1, 2);
  Sources sources;
  Pair pair = tls12_pair(sources, "ECDHE-ECDSA-AES128-GCM-SHA256");
  Bytes crafted;
  Alert alert = Alert::bad_record_mac;
  if (which == 0) {  // a record that does not authenticate
    crafted = plain_record(23, Bytes(40, 0x5a));
  } else if (which == 1) {  // an unknown content type
    crafted = plain_record(99, Bytes(4, 0));
    alert = Alert::unexpected_message;
  } else {  // a protected record over the limit
    crafted = plain_record(23, Bytes(16384 + 257, 0));
    alert = Alert::record_overflow;
  }
  feed_all(pair.client.conn, crafted);
  const Error& error = pair.client.conn.error();
  INFO("client: " << error.name() << ": " << error.message());
  expect_alert(error, alert, AlertDirection::sent);
  // TLS 1.2 alerts keep their outer type: one record of type 21.
  const std::vector<Bytes> records = records_of(take_output(pair.client.conn));
  REQUIRE(records.size() == 1);
  CHECK(records[0][0] == 21);
}

TEST_CASE("TLS 1.2 CBC records may carry up to 2^14 + 2048 bytes (RFC 5246 6.2.3)",
          "[conformance][records]") {
  Sources sources;
  Pair pair = tls12_pair(sources, "ECDHE-ECDSA-AES128-SHA256");
  // 16 IV + 2^14 + 32 MAC + 256 padding: the largest record real peers send.
  const size_t length = GENERATE(size_t{16384 + 16 + 32 + 256}, size_t{16384 + 2049});
  feed_all(pair.client.conn, plain_record(23, Bytes(length, 0)));
  const Error& error = pair.client.conn.error();
  INFO("length " << length << ", client: " << error.name() << ": " << error.message());
  // Within the limit the record is judged by its MAC, beyond it by its size.
  expect_alert(error, length <= 16384 + 2048 ? Alert::bad_record_mac : Alert::record_overflow,
               AlertDirection::sent);
  CHECK(records_of(take_output(pair.client.conn)).size() == 1);
}

namespace {

// One handshake message inside a record's inner plaintext.
size_t message_length(const Bytes& inner, size_t at) {
  return (size_t{inner[at + 1]} << 16) | (size_t{inner[at + 2]} << 8) | inner[at + 3];
}

void set_message_length(Bytes& inner, size_t at, size_t length) {
  inner[at + 1] = static_cast<uint8_t>(length >> 16);
  inner[at + 2] = static_cast<uint8_t>(length >> 8);
  inner[at + 3] = static_cast<uint8_t>(length);
}

// Edits one protected handshake record's inner plaintext (its messages, no
// content type); returns true when it changed something.
using FlightEdit = std::function<bool(Bytes& inner)>;

// A TLS 1.3 server's first flight with its protected records opened under
// the server's handshake keys, edited and resealed, fed to a client
// (TLS_AES_128_GCM_SHA256; `client_config` adds to it). The Finished MACs
// are left as they were: each check judges before them.
Connection client_after_flight_edit(
    const FlightEdit& edit,
    const std::function<void(ConfigBuilder&)>& client_config = [](ConfigBuilder&) {},
    const std::function<void(ConfigBuilder&)>& server_config = [](ConfigBuilder&) {}) {
  Sources sources;
  std::vector<std::string> log;
  ConfigBuilder client_builder_ = client_builder(sources)
                                      .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
                                      .cipher_suites("TLS_AES_128_GCM_SHA256");
  client_config(client_builder_);
  auto made_client = Connection::client(build_or_fail(client_builder_), "localhost");
  ConfigBuilder server_builder_ =
      server_builder(sources)  // an ECDSA P-256 leaf
          .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
          .cipher_suites("TLS_AES_128_GCM_SHA256")
          .key_log([&log](std::string_view line) { log.emplace_back(line); });
  server_config(server_builder_);
  auto made_server = Connection::server(build_or_fail(server_builder_));
  REQUIRE(made_client);
  REQUIRE(made_server);
  Connection client = std::move(made_client).value();
  Connection server = std::move(made_server).value();
  feed_all(server, take_output(client));
  const Bytes flight = take_output(server);
  Bytes secret;
  for (const std::string& line : log) {
    if (line.rfind("SERVER_HANDSHAKE_TRAFFIC_SECRET ", 0) == 0) {
      secret = from_hex(line.substr(line.rfind(' ') + 1));
    }
  }
  REQUIRE_FALSE(secret.empty());
  Keys reading = derive(secret);
  Keys writing = derive(secret);
  Bytes rebuilt;
  bool edited = false;
  for (const Bytes& record : records_of(flight)) {
    if (record[0] != 23) {
      rebuilt.insert(rebuilt.end(), record.begin(), record.end());
      continue;
    }
    Bytes inner = open(reading, record.data(), record.size());
    REQUIRE(inner.size() > 1);
    const uint8_t type = inner.back();
    inner.pop_back();
    if (type == 22 && edit(inner)) edited = true;
    const Bytes sealed = seal(writing, type, inner);
    rebuilt.insert(rebuilt.end(), sealed.begin(), sealed.end());
  }
  REQUIRE(edited);
  feed_all(client, rebuilt);
  return client;
}

// Calls `edit(inner, at)` for the first message of `type` in the record.
FlightEdit on_message(uint8_t type, const std::function<void(Bytes&, size_t)>& edit) {
  return [type, edit](Bytes& inner) {
    for (size_t at = 0; at + 4 <= inner.size(); at += 4 + message_length(inner, at)) {
      if (inner[at] == type) {
        edit(inner, at);
        return true;
      }
    }
    return false;
  };
}

// Appends `extension` (type, length, data) to an EncryptedExtensions message.
FlightEdit add_encrypted_extension(const Bytes& extension) {
  return on_message(8, [extension](Bytes& inner, size_t at) {
    const size_t end = at + 4 + message_length(inner, at);
    inner.insert(inner.begin() + static_cast<std::ptrdiff_t>(end), extension.begin(),
                 extension.end());
    set_message_length(inner, at, message_length(inner, at) + extension.size());
    const size_t list = ((size_t{inner[at + 4]} << 8) | inner[at + 5]) + extension.size();
    inner[at + 4] = static_cast<uint8_t>(list >> 8);
    inner[at + 5] = static_cast<uint8_t>(list);
  });
}

// Removes the signature_algorithms extension (13) of a TLS 1.3
// CertificateRequest, or leaves it with an empty list.
FlightEdit edit_certificate_request_signature_algorithms(bool remove) {
  return on_message(13, [remove](Bytes& inner, size_t at) {
    const size_t list = at + 5 + inner[at + 4];  // after the request context
    const size_t list_length = (size_t{inner[list]} << 8) | inner[list + 1];
    for (size_t e = list + 2; e + 4 <= list + 2 + list_length;) {
      const size_t length = (size_t{inner[e + 2]} << 8) | inner[e + 3];
      if (inner[e] != 0 || inner[e + 1] != 13) {
        e += 4 + length;
        continue;
      }
      const auto data = inner.begin() + static_cast<std::ptrdiff_t>(e + 4);
      inner.erase(data, data + static_cast<std::ptrdiff_t>(length));
      size_t removed = length;
      if (remove) {
        inner.erase(inner.begin() + static_cast<std::ptrdiff_t>(e), data);
        removed += 4;
      } else {
        const Bytes empty_list = {0, 0};
        inner.insert(inner.begin() + static_cast<std::ptrdiff_t>(e + 4), empty_list.begin(),
                     empty_list.end());
        inner[e + 2] = 0;
        inner[e + 3] = 2;
        removed -= 2;
      }
      inner[list] = static_cast<uint8_t>((list_length - removed) >> 8);
      inner[list + 1] = static_cast<uint8_t>(list_length - removed);
      set_message_length(inner, at, message_length(inner, at) - removed);
      return;
    }
    FAIL("the CertificateRequest has no signature_algorithms");
  });
}

// A server flight whose CertificateVerify names another signature scheme,
// fed to a client offering `client_schemes` ("" for its defaults).
Connection client_after_certificate_verify_scheme(uint16_t scheme, const char* client_schemes) {
  const std::string schemes = client_schemes;
  return client_after_flight_edit(
      on_message(15,
                 [scheme](Bytes& inner, size_t at) {  // the scheme comes first
                   inner[at + 4] = static_cast<uint8_t>(scheme >> 8);
                   inner[at + 5] = static_cast<uint8_t>(scheme);
                 }),
      [schemes](ConfigBuilder& b) {
        if (!schemes.empty()) b.signature_algorithms(schemes);
      });
}

}  // namespace

// RFC 8446 4.4.3 and 4.2.3. mbedTLS 3.6 accepted an RSA PKCS#1 v1.5
// CertificateVerify in TLS 1.3 (our list offers PKCS#1 for TLS 1.2) and
// answered the others with decrypt_error; BoGo (Client-VerifyDefault-
// RSA_PKCS1_*-TLS13, ECDSACurveMismatch-Verify-TLS13) found it.
TEST_CASE("TLS 1.3 client: a CertificateVerify with an illegal scheme gets illegal_parameter",
          "[conformance][certificate_verify]") {
  SECTION("the flight resealed unchanged still completes the handshake") {
    Connection client = client_after_certificate_verify_scheme(0x0403, "");
    INFO(client.error().name() << ": " << client.error().message());
    CHECK(client.error().ok());
    CHECK(client.wants().handshake_complete);
    CHECK(client.info().peer_signature.id == 0x0403);
  }
  struct Illegal {
    const char* why;
    uint16_t scheme;
    const char* client_schemes;
  };
  const Illegal illegal =
      GENERATE(Illegal{"rsa_pkcs1_sha256: no PKCS#1 v1.5 in TLS 1.3", 0x0401, ""},
               Illegal{"ecdsa_sha1: no SHA-1 in TLS 1.3", 0x0203, ""},
               Illegal{"ecdsa_secp384r1_sha384 with a P-256 key", 0x0503, ""},
               Illegal{"rsa_pss_rsae_sha256 with an EC key", 0x0804, ""},
               Illegal{"a scheme the client did not offer", 0x0603,
                       "ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256"});
  INFO(illegal.why);
  Connection client =
      client_after_certificate_verify_scheme(illegal.scheme, illegal.client_schemes);
  expect_error(client.error(), "ERR_SSL_ILLEGAL_PARAMETER", Stage::handshake);
  expect_alert(client.error(), Alert::illegal_parameter, AlertDirection::sent);
  CHECK_FALSE(client.wants().handshake_complete);
  CHECK_FALSE(take_output(client).empty());  // the alert
}

// Engine fix 25-28 (docs/conformance.md): protected TLS 1.3 messages judged
// before mbedTLS parses them.
TEST_CASE("TLS 1.3 client: malformed protected server messages get the RFC 8446 alert",
          "[conformance][protected]") {
  struct Case {
    const char* why;
    FlightEdit edit;
    const char* error;
    Alert alert;
  };
  const auto with_alpn = [](ConfigBuilder& b) { b.alpn({"h2"}); };
  const std::vector<Case> cases = {
      {"an EncryptedExtensions extension we did not send (RFC 8446 4.2)",
       add_encrypted_extension({0xfa, 0xfa, 0, 0}), "ERR_SSL_ILLEGAL_PARAMETER",
       Alert::unsupported_extension},
      {"an EncryptedExtensions extension twice (server_name, which we sent)",
       add_encrypted_extension({0, 0, 0, 0, 0, 0, 0, 0}), "ERR_SSL_DECODE_ERROR",
       Alert::decode_error},
      {"an empty server Certificate (RFC 8446 4.4.2.4)",
       on_message(11,
                  [](Bytes& inner, size_t at) {
                    const size_t end = at + 4 + message_length(inner, at);
                    inner.erase(inner.begin() + static_cast<std::ptrdiff_t>(at + 4),
                                inner.begin() + static_cast<std::ptrdiff_t>(end));
                    const Bytes empty = {0, 0, 0, 0};  // no context, no entries
                    inner.insert(inner.begin() + static_cast<std::ptrdiff_t>(at + 4), empty.begin(),
                                 empty.end());
                    set_message_length(inner, at, empty.size());
                  }),
       "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE", Alert::decode_error},
      {"a certificate_request_context in the handshake's Certificate (RFC 8446 4.4.2)",
       on_message(11,
                  [](Bytes& inner, size_t at) {
                    inner[at + 4] = 1;  // a context of one byte: 0x00...
                    inner.insert(inner.begin() + static_cast<std::ptrdiff_t>(at + 5), 0x5a);
                    set_message_length(inner, at, message_length(inner, at) + 1);
                  }),
       "ERR_SSL_DECODE_ERROR", Alert::decode_error},
      {"a CertificateVerify longer than its signature (RFC 8446 4.4.3)",
       on_message(15,
                  [](Bytes& inner, size_t at) {
                    const size_t end = at + 4 + message_length(inner, at);
                    inner.insert(inner.begin() + static_cast<std::ptrdiff_t>(end), 0);
                    set_message_length(inner, at, message_length(inner, at) + 1);
                  }),
       "ERR_SSL_DECODE_ERROR", Alert::decode_error},
      {"data after the Finished in its record (RFC 8446 5.1)",
       on_message(20,
                  [](Bytes& inner, size_t at) {
                    const size_t end = at + 4 + message_length(inner, at);
                    const Bytes ticket_start = {4, 0, 0, 9, 0, 0};
                    inner.insert(inner.begin() + static_cast<std::ptrdiff_t>(end),
                                 ticket_start.begin(), ticket_start.end());
                  }),
       "ERR_SSL_UNEXPECTED_MESSAGE", Alert::unexpected_message},
  };
  for (const Case& c : cases) {
    INFO(c.why);
    Connection client = client_after_flight_edit(c.edit);
    expect_error(client.error(), c.error, client.error().stage());
    expect_alert(client.error(), c.alert, AlertDirection::sent);
    CHECK_FALSE(client.wants().handshake_complete);
  }

  SECTION("ALPN answers: one non-empty name we offered (RFC 7301 3.1, 3.2)") {
    Connection unoffered =
        client_after_flight_edit(add_encrypted_extension({0, 16, 0, 4, 0, 2, 1, 'x'}), with_alpn);
    expect_error(unoffered.error(), "ERR_SSL_ILLEGAL_PARAMETER", Stage::handshake);
    expect_alert(unoffered.error(), Alert::illegal_parameter, AlertDirection::sent);
    Connection empty =
        client_after_flight_edit(add_encrypted_extension({0, 16, 0, 3, 0, 1, 0}), with_alpn);
    expect_error(empty.error(), "ERR_SSL_DECODE_ERROR", Stage::handshake);
    expect_alert(empty.error(), Alert::decode_error, AlertDirection::sent);
  }
}

// Engine fix (issue #16): RFC 8446 4.3.2 requires signature_algorithms in a
// CertificateRequest; 4.2.3 gives the list at least one scheme. Missing, it
// is missing_extension (RFC 8446 6.2); empty, a decode_error. mbedTLS 3.6
// answered the empty list with handshake_failure (BoGo:
// ClientAuth-NoFallback-TLS13) and the missing one with decode_error.
TEST_CASE("TLS 1.3 client: a CertificateRequest without signature schemes gets the RFC's alert",
          "[conformance][protected]") {
  const auto requesting = [](ConfigBuilder& b) {
    b.peer_verification(PeerVerification::optional).trust_anchors(trusted_roots_pem());
  };
  const auto no_change = [](ConfigBuilder&) {};
  SECTION("control: the flight resealed unchanged completes the handshake") {
    Connection client =
        client_after_flight_edit([](Bytes&) { return true; }, no_change, requesting);
    INFO(client.error().name() << ": " << client.error().message());
    CHECK(client.error().ok());
    CHECK(client.wants().handshake_complete);
  }
  SECTION("an empty list: decode_error") {
    Connection client = client_after_flight_edit(
        edit_certificate_request_signature_algorithms(false), no_change, requesting);
    expect_error(client.error(), "ERR_SSL_DECODE_ERROR", Stage::handshake);
    expect_alert(client.error(), Alert::decode_error, AlertDirection::sent);
  }
  SECTION("no extension: missing_extension") {
    Connection client = client_after_flight_edit(
        edit_certificate_request_signature_algorithms(true), no_change, requesting);
    expect_error(client.error(), "ERR_SSL_ILLEGAL_PARAMETER", Stage::handshake);
    expect_alert(client.error(), Alert::missing_extension, AlertDirection::sent);
    CHECK(std::string(client.error().message()).find("signature_algorithms") != std::string::npos);
  }
}
