// Warning alerts from a peer: TLS 1.3 has none but user_canceled (RFC 8446
// 6), a run of them is cut short as OpenSSL does, and however many distinct
// ones arrive, no state event (handshake_complete, peer_closed ...) is lost.
#include <catch2/catch_test_macros.hpp>
#include <string>
#include <vector>

#include "call_scope.h"
#include "support/expect.h"
#include "support/fixtures.h"
#include "support/raw_peer.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

// A client of ours connected to a raw mbedTLS server of `version`.
struct RawSession {
  Sources sources;
  detail::CallScope scope{nullptr, &sources.clock, &sources.server_random};
  raw_peer* peer = nullptr;
  std::optional<Connection> client;
  uint8_t buffer[65536];

  explicit RawSession(TlsVersion version) {
    auto made = Connection::client(
        build_or_fail(client_builder(sources).versions(version, version)), "localhost");
    REQUIRE(made);
    client.emplace(std::move(made).value());
    peer = raw_peer_new_server_version(ecdsa_chain_pem().c_str(),
                                       pki().ecdsa_leaf.key.private_key_pem.c_str(),
                                       static_cast<int>(version));
    REQUIRE(peer != nullptr);
    int status = 1;
    for (int i = 0; i < 50 && !(status == 0 && client->wants().handshake_complete); ++i) {
      ByteView out = client->pending_output();
      raw_peer_feed(peer, out.data(), out.size());
      client->consume_output(out.size());
      status = raw_peer_handshake(peer);
      REQUIRE(status >= 0);
      deliver();
    }
    REQUIRE(client->wants().handshake_complete);
  }
  ~RawSession() { raw_peer_free(peer); }
  void deliver() {
    const size_t n = raw_peer_take_output(peer, buffer, sizeof buffer);
    size_t used = 0;
    for (int guard = 0; guard < 1000 && used < n; ++guard) {
      const size_t taken = client->feed(ByteView(buffer + used, n - used));
      uint8_t sink[4096];
      while (client->read(MutableByteView(sink, sizeof sink)) > 0) {
      }
      if (taken == 0 && !client->wants().has_plaintext) break;
      used += taken;
    }
  }
  std::vector<Event> events() {
    std::vector<Event> out;
    while (auto event = client->next_event()) out.push_back(*event);
    return out;
  }
};

bool has(const std::vector<Event>& events, EventKind kind) {
  for (const Event& event : events) {
    if (event.kind == kind) return true;
  }
  return false;
}

constexpr int kWarning = 1;

}  // namespace

TEST_CASE("TLS 1.3: a warning-level alert other than user_canceled ends the connection",
          "[alerts][events]") {
  RawSession session(TlsVersion::tls1_3);
  REQUIRE(raw_peer_send_alert(session.peer, kWarning, 90) == 0);  // user_canceled: allowed
  session.deliver();
  REQUIRE(session.client->error().ok());
  CHECK(has(session.events(), EventKind::warning_alert));
  REQUIRE(raw_peer_send_alert(session.peer, kWarning, 42) == 0);  // bad_certificate
  session.deliver();
  // A malformed alert (RFC 8446 6: these are fatal): answered with
  // decode_error, and the message names the peer's alert.
  expect_error(session.client->error(), "ERR_SSL_DECODE_ERROR", Stage::record);
  expect_alert(session.client->error(), Alert::decode_error, AlertDirection::sent);
  CHECK(std::string(session.client->error().message()).find("bad_certificate") !=
        std::string::npos);
  const ByteView out = session.client->pending_output();
  REQUIRE(out.size() > 5);
  CHECK(out[0] == 23);  // an alert under the application keys (outer type application_data)
  raw_peer_feed(session.peer, out.data(), out.size());
  CHECK(raw_peer_read_fatal_alert(session.peer) == 50);  // decode_error
}

TEST_CASE("TLS 1.2: five warning alerts in a row are unexpected_message", "[alerts][events]") {
  RawSession session(TlsVersion::tls1_2);
  const uint8_t data[] = {'d'};
  for (int i = 0; i < 4; ++i) REQUIRE(raw_peer_send_alert(session.peer, kWarning, 90) == 0);
  REQUIRE(raw_peer_write(session.peer, data, sizeof data) == 1);  // data breaks the run
  for (int i = 0; i < 4; ++i) REQUIRE(raw_peer_send_alert(session.peer, kWarning, 90) == 0);
  session.deliver();
  REQUIRE(session.client->error().ok());
  REQUIRE(raw_peer_send_alert(session.peer, kWarning, 90) == 0);
  session.deliver();
  expect_error(session.client->error(), "ERR_SSL_UNEXPECTED_MESSAGE", Stage::record);
  expect_alert(session.client->error(), Alert::unexpected_message, AlertDirection::sent);
  CHECK(std::string(session.client->error().message()).find("too many warning alerts") !=
        std::string::npos);
}

TEST_CASE("distinct warning alerts never push state events out of the queue", "[alerts][events]") {
  RawSession session(TlsVersion::tls1_2);
  // handshake_complete is still queued; 16 distinct warnings and a
  // close_notify arrive in one feed, with data between the warnings.
  const uint8_t codes[] = {10, 20, 21, 22, 30, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50};
  const uint8_t data[] = {'d'};
  for (uint8_t code : codes) {
    REQUIRE(raw_peer_send_alert(session.peer, kWarning, code) == 0);
    REQUIRE(raw_peer_write(session.peer, data, sizeof data) == 1);
  }
  REQUIRE(raw_peer_send_alert(session.peer, kWarning, 0) == 0);  // close_notify
  session.deliver();
  INFO(session.client->error().name() << ": " << session.client->error().message());
  REQUIRE(session.client->error().ok());
  const std::vector<Event> events = session.events();
  CHECK(has(events, EventKind::handshake_complete));
  CHECK(has(events, EventKind::peer_closed));
  size_t warnings = 0;
  for (const Event& event : events) warnings += event.kind == EventKind::warning_alert;
  CHECK(warnings >= 1);
  CHECK(warnings <= 8);
}
