// The mbedTLS 3.6.6 flaws fixed in 3.6.7 that our configuration can reach:
// each test crafts the attack and checks that the engine blocks it with a
// named error and the alert the RFC asks for (docs/limitations.md).
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "advisory_guards.h"
#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

std::vector<uint8_t> take_output(Connection& conn) {
  const ByteView out = conn.pending_output();
  std::vector<uint8_t> bytes(out.data(), out.data() + out.size());
  conn.consume_output(out.size());
  return bytes;
}

std::vector<uint8_t> first_record(const std::vector<uint8_t>& stream) {
  REQUIRE(stream.size() >= 5);
  const size_t length = (size_t{stream[3]} << 8) | stream[4];
  REQUIRE(stream.size() >= 5 + length);
  return std::vector<uint8_t>(stream.begin(),
                              stream.begin() + static_cast<std::ptrdiff_t>(5 + length));
}

// Appends handshake bytes to the body of a plaintext record.
std::vector<uint8_t> append_to_record(std::vector<uint8_t> record,
                                      const std::vector<uint8_t>& extra) {
  record.insert(record.end(), extra.begin(), extra.end());
  const size_t length = record.size() - 5;
  record[3] = static_cast<uint8_t>(length >> 8);
  record[4] = static_cast<uint8_t>(length);
  return record;
}

bool has_alert_record(const std::vector<uint8_t>& stream, Alert alert) {
  for (size_t i = 0; i + 7 <= stream.size();) {
    const size_t length = (size_t{stream[i + 3]} << 8) | stream[i + 4];
    if (stream[i] == 21 && length == 2 && stream[i + 6] == static_cast<uint8_t>(alert)) return true;
    i += 5 + length;
  }
  return false;
}

std::vector<uint8_t> resume_once(const Config& client_config, const Config& server_config) {
  auto client = Connection::client(client_config, "localhost");
  REQUIRE(client);
  auto server = Connection::server(server_config);
  REQUIRE(server);
  Pair pair(std::move(client).value(), std::move(server).value());
  REQUIRE(pair.handshake());
  auto saved = pair.client.conn.save_session();
  REQUIRE(saved);
  return saved.value();
}

}  // namespace

// CVE-2026-73096 (TLS 1.3 early data integrity failure due to buffered
// plaintext across key change): a man in the middle packs a forged
// EndOfEarlyData into the ClientHello's record and drops the real 0-RTT
// records; mbedTLS 3.6.6 would switch to handshake keys and complete the
// handshake with the early data silently lost.
TEST_CASE(
    "advisory: a ClientHello record carrying a forged EndOfEarlyData is "
    "refused",
    "[advisories][early-data]") {
  Sources sources;
  const Config client_config = build_or_fail(
      client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3).early_data(1));
  const Config server_config = build_or_fail(server_builder(sources).early_data(16384));
  const auto session = resume_once(client_config, server_config);

  auto client = Connection::client(client_config, "localhost", ByteView(session));
  REQUIRE(client);
  auto server = Connection::server(server_config);
  REQUIRE(server);
  REQUIRE(client.value().write_early_data(ByteView("pay 100 EUR")) > 0);
  const std::vector<uint8_t> flight = take_output(client.value());
  // The ClientHello's record, plus EndOfEarlyData (type 5, empty body).
  const std::vector<uint8_t> forged = append_to_record(first_record(flight), {5, 0, 0, 0});
  REQUIRE(forged[5] == 1);  // a ClientHello

  server.value().feed(ByteView(forged));
  const Error& error = server.value().error();
  expect_error(error, "ERR_SSL_UNEXPECTED_MESSAGE", Stage::handshake);
  expect_alert(error, Alert::unexpected_message, AlertDirection::sent);
  CHECK(has_alert_record(take_output(server.value()), Alert::unexpected_message));
  CHECK_FALSE(server.value().wants().handshake_complete);
}

TEST_CASE("advisory: any bytes after a ClientHello in its record are refused",
          "[advisories][early-data]") {
  // Also without 0-RTT, and for a partial trailing message: RFC 8446 5.1
  // wants the ClientHello at a record boundary.
  Sources sources;
  auto client = Connection::client(build_or_fail(client_builder(sources)), "localhost");
  REQUIRE(client);
  auto server = Connection::server(build_or_fail(server_builder(sources)));
  REQUIRE(server);
  const std::vector<uint8_t> forged =
      append_to_record(first_record(take_output(client.value())), {20, 0});
  server.value().feed(ByteView(forged));
  expect_error(server.value().error(), "ERR_SSL_UNEXPECTED_MESSAGE", Stage::handshake);
  expect_alert(server.value().error(), Alert::unexpected_message, AlertDirection::sent);
}

TEST_CASE("advisory: an honest 0-RTT handshake still completes", "[advisories][early-data]") {
  Sources sources;
  const Config client_config = build_or_fail(
      client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3).early_data(1));
  const Config server_config = build_or_fail(server_builder(sources).early_data(16384));
  const auto session = resume_once(client_config, server_config);
  auto client = Connection::client(client_config, "localhost", ByteView(session));
  REQUIRE(client);
  auto server = Connection::server(server_config);
  REQUIRE(server);
  Pair pair(std::move(client).value(), std::move(server).value(), Chunker::bytes(7));
  REQUIRE(pair.client.conn.write_early_data(ByteView("hello")) == 5);
  REQUIRE(pair.handshake());
  CHECK(pair.server.conn.info().early_data.accepted);
}

// CVE-2026-25832 (TLS 1.3 client accepts HelloRetryRequest selecting an
// unadvertised group): mbedTLS 3.6.6's check is inverted, so a server can
// steer the client to any group the library was built with.
TEST_CASE(
    "advisory: a HelloRetryRequest for a group the client did not offer "
    "is refused",
    "[advisories][hrr]") {
  Sources sources;
  auto client =
      Connection::client(build_or_fail(client_builder(sources)
                                           .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
                                           .groups("X25519")),
                         "localhost");
  REQUIRE(client);
  const std::vector<uint8_t> hello = first_record(take_output(client.value()));
  // ClientHello: record header 5, handshake header 4, version 2, random 32.
  const size_t sid_at = 5 + 4 + 2 + 32;
  REQUIRE(hello.size() > sid_at + 1);
  const uint8_t sid_len = hello[sid_at];
  const std::vector<uint8_t> session_id(
      hello.begin() + static_cast<std::ptrdiff_t>(sid_at + 1),
      hello.begin() + static_cast<std::ptrdiff_t>(sid_at + 1 + sid_len));

  const uint8_t hrr_random[32] = {0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C,
                                  0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB,
                                  0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};
  std::vector<uint8_t> body = {3, 3};
  body.insert(body.end(), hrr_random, hrr_random + 32);
  body.push_back(sid_len);
  body.insert(body.end(), session_id.begin(), session_id.end());
  body.insert(body.end(), {0x13, 0x01, 0x00});  // TLS_AES_128_GCM_SHA256, no compression
  const std::vector<uint8_t> extensions = {
      0x00, 0x2b, 0x00, 0x02, 0x03, 0x04,  // supported_versions: TLS 1.3
      0x00, 0x33, 0x00, 0x02, 0x00, 0x17,  // key_share: secp256r1, never offered
  };
  body.push_back(0);
  body.push_back(static_cast<uint8_t>(extensions.size()));
  body.insert(body.end(), extensions.begin(), extensions.end());
  std::vector<uint8_t> record = {22, 3, 3, 0, 0, 2, 0, 0, static_cast<uint8_t>(body.size())};
  record.insert(record.end(), body.begin(), body.end());
  record[3] = static_cast<uint8_t>((record.size() - 5) >> 8);
  record[4] = static_cast<uint8_t>(record.size() - 5);

  client.value().feed(ByteView(record));
  const Error& error = client.value().error();
  expect_error(error, "ERR_SSL_ILLEGAL_PARAMETER", Stage::handshake);
  expect_alert(error, Alert::illegal_parameter, AlertDirection::sent);
  CHECK(has_alert_record(take_output(client.value()), Alert::illegal_parameter));
}

TEST_CASE("advisory: a HelloRetryRequest for an offered group still works", "[advisories][hrr]") {
  // The client offers X25519 and secp256r1 but sends a key share only for
  // X25519; a secp256r1-only server asks for it with a HelloRetryRequest.
  Sources sources;
  auto client =
      Connection::client(build_or_fail(client_builder(sources)
                                           .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
                                           .groups("X25519:P-256")),
                         "localhost");
  REQUIRE(client);
  auto server = Connection::server(build_or_fail(
      server_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3).groups("P-256")));
  REQUIRE(server);
  Pair pair(std::move(client).value(), std::move(server).value());
  REQUIRE(pair.handshake());
  CHECK(std::string(pair.client.conn.info().group) == "P-256");
}

// CVE-2026-50580 (remote buffer overflow in TLS 1.2 ECDHE-PSK client
// handshake): mbedTLS 3.6.6 checks room for the PSK identity but not for the
// EC point after it, so a server choosing ECDHE-PSK makes a client with a
// long identity write past its 16 KiB output buffer.
namespace {

const std::vector<uint8_t> kPsk(32, 0x5a);

ConfigBuilder psk_client_with_identity(Sources& sources, const std::string& identity) {
  ConfigBuilder builder(Role::client);
  builder.random(sources.client_random)
      .clock(sources.clock)
      .psk(identity, ByteView(kPsk))
      .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
      .cipher_suites("ECDHE-PSK-CHACHA20-POLY1305");
  return builder;
}

ConfigBuilder psk_server_for(Sources& sources, const std::string& identity) {
  ConfigBuilder builder(Role::server);
  builder.random(sources.server_random)
      .clock(sources.clock)
      .psk_lookup([identity](std::string_view name) -> std::optional<std::vector<uint8_t>> {
        if (name == identity) return kPsk;
        return std::nullopt;
      });
  return builder;
}

}  // namespace

TEST_CASE(
    "advisory: a PSK identity too long for an ECDHE-PSK "
    "ClientKeyExchange is refused",
    "[advisories][psk]") {
  Sources sources;
  // 16384 - 140 bytes leave room for the header, the lengths and a P-521 point.
  auto too_long = psk_client_with_identity(sources, std::string(16384 - 139, 'i')).build();
  REQUIRE_FALSE(too_long);
  CHECK(too_long.error().code() == ErrorCode::invalid_psk);
  CHECK(std::string(too_long.error().message()).find("16244") != std::string::npos);

  const std::string longest(16384 - 140, 'i');
  const Config client = build_or_fail(psk_client_with_identity(sources, longest).groups("P-521"));
  auto c = Connection::client(client, "localhost");
  REQUIRE(c);
  auto s = Connection::server(build_or_fail(psk_server_for(sources, longest).groups("P-521")));
  REQUIRE(s);
  Pair pair(std::move(c).value(), std::move(s).value());
  REQUIRE(pair.handshake());
  CHECK(pair.server.conn.info().psk_identity == longest);
}

// CVE-2026-50586 (information disclosure in TLS 1.2 NewSessionTicket): when
// the ticket callback fails, mbedTLS 3.6.6 still sends a NewSessionTicket
// whose lifetime hint is whatever the callback left in an uninitialized
// stack variable. Our callback fails when the random source does (here: only
// for the 12-byte ticket nonce), and now writes 0 first.
namespace {

class NoTicketNonce final : public RandomSource {
 public:
  explicit NoTicketNonce(uint64_t seed) : inner_(seed) {}
  bool fill(MutableByteView out) noexcept override {
    if (out.size() == 12) return false;
    return inner_.fill(out);
  }

 private:
  SeededRandom inner_;
};

}  // namespace

TEST_CASE("advisory: a failed TLS 1.2 ticket is sent empty with a zero lifetime",
          "[advisories][tickets]") {
  Sources sources;
  NoTicketNonce server_random(99);
  ConfigBuilder server = server_builder(sources);
  server.random(server_random);
  auto c = Connection::client(
      build_or_fail(client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2)),
      "localhost");
  REQUIRE(c);
  auto s = Connection::server(build_or_fail(server));
  REQUIRE(s);
  Pair pair(std::move(c).value(), std::move(s).value());
  REQUIRE(pair.handshake());
  // The server's NewSessionTicket is plaintext, before its ChangeCipherSpec.
  const std::vector<uint8_t>& stream = pair.server_to_client;
  bool found = false;
  for (size_t i = 0; i + 5 <= stream.size() && stream[i] == 22;) {
    const size_t length = (size_t{stream[i + 3]} << 8) | stream[i + 4];
    for (size_t m = i + 5; m + 4 <= i + 5 + length;) {
      const size_t body =
          (size_t{stream[m + 1]} << 16) | (size_t{stream[m + 2]} << 8) | stream[m + 3];
      if (stream[m] == 4) {
        REQUIRE(body == 6);  // lifetime (4) + empty ticket (2)
        for (size_t k = 0; k < 6; ++k) CHECK(stream[m + 4 + k] == 0);
        found = true;
      }
      m += 4 + body;
    }
    i += 5 + length;
  }
  CHECK(found);
}

// RFC 7627 5.3: a TLS 1.2 session is resumed only with the same extended
// master secret use. mbedTLS 3.6.6 does not record EMS use in sessions at all,
// so the server's tickets and cache entries carry it (sessions.cpp).
namespace {

// Removes one extension from a plaintext ClientHello or ServerHello record.
std::vector<uint8_t> strip_extension(const std::vector<uint8_t>& record, uint16_t type) {
  const bool server_hello = record[5] == 2;
  size_t p = 5 + 4 + 2 + 32;
  p += 1 + record[p];  // session id
  if (server_hello) {
    p += 3;  // cipher suite, compression method
  } else {
    p += 2 + ((size_t{record[p]} << 8) | record[p + 1]);  // cipher suites
    p += 1 + record[p];                                   // compression methods
  }
  const size_t list_at = p;
  std::vector<uint8_t> out(record.begin(), record.begin() + static_cast<std::ptrdiff_t>(p + 2));
  for (p += 2; p + 4 <= record.size();) {
    const uint16_t ext = static_cast<uint16_t>((record[p] << 8) | record[p + 1]);
    const size_t length = (size_t{record[p + 2]} << 8) | record[p + 3];
    if (ext != type) {
      out.insert(out.end(), record.begin() + static_cast<std::ptrdiff_t>(p),
                 record.begin() + static_cast<std::ptrdiff_t>(p + 4 + length));
    }
    p += 4 + length;
  }
  const size_t removed = record.size() - out.size();
  REQUIRE(removed > 0);
  auto put16 = [&](size_t at, size_t value) {
    out[at] = static_cast<uint8_t>(value >> 8);
    out[at + 1] = static_cast<uint8_t>(value);
  };
  put16(3, out.size() - 5);
  out[6] = static_cast<uint8_t>((out.size() - 9) >> 16);
  put16(7, out.size() - 9);
  put16(list_at, out.size() - list_at - 2);
  return out;
}

constexpr uint16_t kExtendedMasterSecret = 23;

}  // namespace

TEST_CASE("RFC 7627 5.3: resuming an EMS session without offering EMS aborts the handshake",
          "[advisories][ems]") {
  const bool tickets = GENERATE(true, false);
  INFO((tickets ? "session ticket" : "session ID"));
  Sources sources;
  ConfigBuilder client_builder_12 =
      client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2);
  if (!tickets) client_builder_12.session_tickets(0);
  const Config client_config = build_or_fail(client_builder_12);
  ConfigBuilder server = server_builder(sources);
  if (!tickets) server.session_store(make_memory_session_store(4));
  const Config server_config = build_or_fail(server);
  const auto session = resume_once(client_config, server_config);

  auto client = Connection::client(client_config, "localhost", ByteView(session));
  REQUIRE(client);
  auto s = Connection::server(server_config);
  REQUIRE(s);
  const std::vector<uint8_t> hello = first_record(take_output(client.value()));
  s.value().feed(ByteView(strip_extension(hello, kExtendedMasterSecret)));
  expect_error(s.value().error(), "ERR_SSL_HANDSHAKE_FAILURE", Stage::handshake);
  expect_alert(s.value().error(), Alert::handshake_failure, AlertDirection::sent);
  const std::vector<uint8_t> out = take_output(s.value());
  CHECK(has_alert_record(out, Alert::handshake_failure));
  CHECK(out.size() == 7);  // no ServerHello
}

TEST_CASE("RFC 7627 5.3: the same EMS session offered with EMS still resumes",
          "[advisories][ems]") {
  const bool tickets = GENERATE(true, false);
  Sources sources;
  ConfigBuilder client_builder_12 =
      client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2);
  if (!tickets) client_builder_12.session_tickets(0);
  const Config client_config = build_or_fail(client_builder_12);
  ConfigBuilder server = server_builder(sources);
  if (!tickets) server.session_store(make_memory_session_store(4));
  const Config server_config = build_or_fail(server);
  const auto session = resume_once(client_config, server_config);
  auto c = Connection::client(client_config, "localhost", ByteView(session));
  REQUIRE(c);
  auto s = Connection::server(server_config);
  REQUIRE(s);
  Pair pair(std::move(c).value(), std::move(s).value());
  REQUIRE(pair.handshake());
  CHECK(pair.server.conn.info().session_reused);
  CHECK(pair.client.conn.info().session_reused);
}

// The other half of the server's rule, which our own client cannot provoke
// (it always offers EMS): a session without EMS is not resumed by a
// ClientHello offering it; a full handshake follows instead of an abort.
TEST_CASE("RFC 7627 5.3: the server's resumption decision for each EMS combination",
          "[advisories][ems]") {
  using detail::EmsUse;
  detail::AdvisoryGuards guards;
  bool offers_ems = true;
  {
    detail::HandshakeGuardScope scope(&guards, &offers_ems);
    CHECK(detail::current_handshake_ems() == EmsUse::used);
    CHECK(detail::may_resume_tls12_session(EmsUse::used));
    CHECK_FALSE(detail::may_resume_tls12_session(EmsUse::not_used));  // full handshake
    CHECK(detail::may_resume_tls12_session(EmsUse::unknown));  // sessions from before the flag
    CHECK_FALSE(guards.ems_downgrade);
    offers_ems = false;  // read when asked: the ClientHello arrives within the step
    CHECK(detail::current_handshake_ems() == EmsUse::not_used);
    CHECK(detail::may_resume_tls12_session(EmsUse::not_used));
    CHECK_FALSE(detail::may_resume_tls12_session(EmsUse::used));
    CHECK(guards.ems_downgrade);  // abort
  }
  // Outside a guarded handshake step (a renegotiation): nothing is known.
  CHECK(detail::current_handshake_ems() == EmsUse::unknown);
  CHECK(detail::may_resume_tls12_session(EmsUse::used));
}

// Not exposed: the advisories on RSA PKCS#1 v1.5 decryption timing
// (CVE-2026-50587) and EC J-PAKE ServerKeyExchange parsing need key
// exchanges our build leaves out; a Config cannot even name them.
TEST_CASE("advisory: static RSA and EC J-PAKE key exchanges cannot be configured",
          "[advisories][config]") {
  Sources sources;
  for (const char* suite : {"AES128-GCM-SHA256", "RSA-PSK-AES128-GCM-SHA256", "ECJPAKE-AES128-CCM8",
                            "DHE-RSA-AES128-GCM-SHA256"}) {
    INFO(suite);
    auto built = client_builder(sources)
                     .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                     .cipher_suites(suite)
                     .build();
    REQUIRE_FALSE(built);
    CHECK(built.error().code() == ErrorCode::unknown_cipher_suite);
  }
}

TEST_CASE("RFC 7627 5.3: a client resuming an EMS session refuses a ServerHello without EMS",
          "[advisories][ems]") {
  const bool tickets = GENERATE(true, false);
  INFO((tickets ? "session ticket" : "session ID"));
  Sources sources;
  ConfigBuilder client_builder_12 =
      client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2);
  if (!tickets) client_builder_12.session_tickets(0);
  const Config client_config = build_or_fail(client_builder_12);
  ConfigBuilder server = server_builder(sources);
  if (!tickets) server.session_store(make_memory_session_store(4));
  const Config server_config = build_or_fail(server);
  const auto session = resume_once(client_config, server_config);

  auto c = Connection::client(client_config, "localhost", ByteView(session));
  REQUIRE(c);
  auto s = Connection::server(server_config);
  REQUIRE(s);
  s.value().feed(ByteView(take_output(c.value())));
  const std::vector<uint8_t> flight = take_output(s.value());
  const std::vector<uint8_t> hello = first_record(flight);
  REQUIRE(hello[5] == 2);
  std::vector<uint8_t> forged = strip_extension(hello, kExtendedMasterSecret);
  forged.insert(forged.end(), flight.begin() + static_cast<std::ptrdiff_t>(hello.size()),
                flight.end());
  c.value().feed(ByteView(forged));
  expect_error(c.value().error(), "ERR_SSL_HANDSHAKE_FAILURE", Stage::handshake);
  expect_alert(c.value().error(), Alert::handshake_failure, AlertDirection::sent);
  CHECK(has_alert_record(take_output(c.value()), Alert::handshake_failure));
}

// Our servers always negotiate EMS, so a session without it cannot be made
// here: the client's decision for each combination, on crafted ServerHellos.
TEST_CASE("RFC 7627 5.3: the client's check for each EMS combination", "[advisories][ems]") {
  using detail::EmsUse;
  const std::vector<uint8_t> id(32, 0x42);
  // A TLS 1.2 ServerHello body echoing `echo`, with or without EMS.
  auto server_hello = [](const std::vector<uint8_t>& echo, bool ems) {
    std::vector<uint8_t> body = {3, 3};
    body.insert(body.end(), 32, 0x11);
    body.push_back(static_cast<uint8_t>(echo.size()));
    body.insert(body.end(), echo.begin(), echo.end());
    body.insert(body.end(), {0xc0, 0x2b, 0x00});
    if (ems) {
      body.insert(body.end(), {0x00, 0x04, 0x00, 0x17, 0x00, 0x00});
    } else {
      body.insert(body.end(), {0x00, 0x00});
    }
    return body;
  };
  auto verdict = [&](EmsUse original, const std::vector<uint8_t>& echo, bool ems) {
    detail::AdvisoryGuards guards;
    guards.resumed_ems = original;
    guards.offered_session_id = id;
    guards.session_id_known = true;
    const std::vector<uint8_t> body = server_hello(echo, ems);
    return detail::check_inbound_message(guards, Role::client, 2, ByteView(body), 0);
  };
  CHECK(verdict(EmsUse::used, id, true).ok);
  CHECK(verdict(EmsUse::not_used, id, false).ok);
  CHECK(verdict(EmsUse::unknown, id, false).ok);
  CHECK(verdict(EmsUse::not_used, std::vector<uint8_t>(32, 0x43), true).ok);  // full handshake
  const detail::GuardVerdict dropped = verdict(EmsUse::used, id, false);
  CHECK_FALSE(dropped.ok);
  CHECK(dropped.alert == Alert::handshake_failure);
  const detail::GuardVerdict added = verdict(EmsUse::not_used, id, true);
  CHECK_FALSE(added.ok);
  CHECK(added.code == ErrorCode::handshake_failure);
}

// CVE-2026-73064 (a random generator fault can compromise TLS data
// integrity): mbedTLS 3.6.6 turns a failed ticket_age_add draw into a return
// value of 1, which mbedtls_ssl_write() passes on as "1 byte written". Our
// f_rng is the Config's RandomSource, so a failing source reaches it.
namespace {

class NoFourByteDraws final : public RandomSource {
 public:
  explicit NoFourByteDraws(uint64_t seed) : inner_(seed) {}
  bool fill(MutableByteView out) noexcept override {
    if (out.size() == 4) return false;  // ticket_age_add
    return inner_.fill(out);
  }

 private:
  SeededRandom inner_;
};

}  // namespace

TEST_CASE("advisory: a random failure at the TLS 1.3 ticket never drops written data",
          "[advisories][tickets]") {
  Sources sources;
  NoFourByteDraws server_random(5);
  ConfigBuilder server = server_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3);
  server.random(server_random);
  auto c = Connection::client(build_or_fail(client_builder(sources)), "localhost");
  REQUIRE(c);
  auto s = Connection::server(build_or_fail(server));
  REQUIRE(s);
  Pair pair(std::move(c).value(), std::move(s).value());
  pair.pump();
  const std::string message = "hello";
  const size_t accepted = pair.server.conn.write(ByteView(message));
  pair.pump();
  const std::string received(pair.client.received.begin(), pair.client.received.end());
  INFO("accepted " << accepted << ", received '" << received << "'");
  if (pair.server.conn.error().ok()) {
    CHECK(received == message.substr(0, accepted));
  } else {
    // The ticket could not be made: the server says so instead of lying.
    expect_error(pair.server.conn.error(), "ERR_TLS_RANDOM_FAILED", Stage::internal);
    CHECK(accepted == 0);
  }
}
