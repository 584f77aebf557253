// Closing (close(), transport_eof(), the `closed` readiness bit and the close
// timer) and reading/writing while a TLS 1.2 renegotiation needs more output
// room than one record.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <string>
#include <vector>

#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

const char* label(TlsVersion version) {
  return version == TlsVersion::tls1_3 ? "TLSv1.3" : "TLSv1.2";
}

}  // namespace

TEST_CASE("close() without close_timeout: closed at once, a later transport end is clean",
          "[close]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  CAPTURE(label(version));
  Sources sources;
  Pair pair = connect(build_or_fail(client_builder(sources).versions(version, version)),
                      build_or_fail(server_builder(sources)));
  REQUIRE(pair.handshake());

  pair.client.conn.close();
  // config.h: "default 0: do not wait; the connection is closed once ours is sent".
  CHECK(pair.client.conn.wants().write_closed);
  CHECK(pair.client.conn.wants().closed);
  CHECK_FALSE(pair.client.conn.wants().read_closed);
  CHECK_FALSE(pair.client.conn.next_deadline_ms().has_value());
  const auto records = split_records(std::vector<uint8_t>(pair.client.conn.pending_output().begin(),
                                                          pair.client.conn.pending_output().end()));
  REQUIRE(records.size() == 1);
  CHECK(records[0].type == (version == TlsVersion::tls1_3 ? 23 : 21));

  // The peer reads our close_notify and closes the transport without replying.
  pair.client.conn.consume_output(pair.client.conn.pending_output().size());
  pair.client.conn.transport_eof();
  CHECK(pair.client.conn.error().ok());
  CHECK(pair.client.conn.wants().read_closed);
  CHECK(pair.client.conn.wants().closed);
  CHECK_FALSE(pair.client.has_event(EventKind::peer_closed));
}

TEST_CASE("close() without close_timeout still reads what the peer sends (half-close)", "[close]") {
  Sources sources;
  Pair pair =
      connect(build_or_fail(client_builder(sources)), build_or_fail(server_builder(sources)));
  REQUIRE(pair.handshake());
  pair.client.conn.close();
  CHECK(pair.client.conn.wants().closed);
  pair.pump();
  REQUIRE(pair.server.has_event(EventKind::peer_closed));
  pair.send(pair.server, {'l', 'a', 's', 't'});
  pair.pump();
  pair.server.conn.close();
  pair.pump();
  CHECK(std::string(pair.client.received.begin(), pair.client.received.end()) == "last");
  CHECK(pair.client.has_event(EventKind::peer_closed));
  CHECK(pair.client.conn.wants().closed);
  CHECK(pair.client.conn.error().ok());
}

TEST_CASE("close() with close_timeout waits for the peer; a transport end then is truncation",
          "[close]") {
  Sources sources;
  Pair pair = connect(build_or_fail(client_builder(sources).close_timeout(3000)),
                      build_or_fail(server_builder(sources)));
  REQUIRE(pair.handshake());
  pair.client.conn.close();
  CHECK(pair.client.conn.wants().write_closed);
  CHECK_FALSE(pair.client.conn.wants().closed);
  REQUIRE(pair.client.conn.next_deadline_ms().has_value());

  SECTION("the peer answers with close_notify") {
    pair.pump();
    pair.server.conn.close();
    pair.pump();
    CHECK(pair.client.has_event(EventKind::peer_closed));
    CHECK(pair.client.conn.wants().closed);
    CHECK_FALSE(pair.client.conn.next_deadline_ms().has_value());
    pair.client.conn.transport_eof();
    CHECK(pair.client.conn.error().ok());
  }
  SECTION("the peer closes the transport without answering") {
    pair.client.conn.transport_eof();
    expect_error(pair.client.conn.error(), "ERR_SSL_UNEXPECTED_EOF_WHILE_READING",
                 Stage::transport);
    CHECK(pair.client.conn.wants().closed);
  }
}

TEST_CASE("wants().closed never goes back to false", "[close]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  const uint32_t close_timeout = GENERATE(0u, 3000u);
  CAPTURE(label(version), close_timeout);
  Sources sources;
  const Config client_config = build_or_fail(
      client_builder(sources).versions(version, version).close_timeout(close_timeout));
  const Config server_config = build_or_fail(server_builder(sources));
  // The client gives up after `before` steps of the handshake (at every
  // point of it), then the rest of the peer's flights arrive anyway.
  for (int before = 0; before < 20; ++before) {
    CAPTURE(before);
    auto client = Connection::client(client_config, "localhost");
    auto server = Connection::server(server_config);
    REQUIRE(client);
    REQUIRE(server);
    Pair pair(std::move(client).value(), std::move(server).value());
    for (int step = 0; step < before; ++step) pair.pump(1);
    if (pair.client.conn.wants().handshake_complete) break;  // every point was covered
    pair.client.conn.close();
    REQUIRE(pair.client.conn.wants().closed);
    for (int step = 0; step < 50; ++step) {
      CAPTURE(step);
      const bool settled = pair.pump(1);
      REQUIRE(pair.client.conn.wants().closed);
      if (settled) break;
    }
    CHECK_FALSE(pair.client.conn.wants().handshake_complete);
    CHECK_FALSE(pair.client.conn.wants().wants_input);
    CHECK_FALSE(pair.client.conn.next_deadline_ms().has_value());
    CHECK_FALSE(pair.client.has_event(EventKind::handshake_complete));
    pair.client.conn.on_timer(kNowMs + 10 * 60 * 1000);
    pair.client.conn.transport_eof();
    CHECK(pair.client.conn.wants().closed);
    CHECK(pair.client.conn.error().ok());
  }
}

namespace {

// The ECDSA chain padded with copies of the intermediate until the
// Certificate message is close to mbedTLS's 16 KiB handshake message limit.
size_t der_bytes(const std::string& pem) {
  size_t base64 = 0;
  bool in_armor = false;
  for (char c : pem) {
    if (c == '-') in_armor = !in_armor;  // "-----BEGIN ...-----" lines (counted in pairs)
    const bool digit = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '+' || c == '/';
    if (digit && !in_armor) ++base64;
  }
  return base64 * 3 / 4;
}

std::string padded_chain_pem() {
  const std::string inter = testing::chain_pem({&pki().ecdsa_inter});
  std::string chain = ecdsa_chain_pem();
  // Certificate message: 7 header bytes, then 3 + DER per certificate; it
  // must fit mbedTLS's 16 KiB.
  size_t message = 7 + der_bytes(chain) + 3 * 2;
  while (message + 3 + der_bytes(inter) <= 16384 - 8) {
    chain += inter;
    message += 3 + der_bytes(inter);
  }
  return chain;
}

}  // namespace

TEST_CASE("a renegotiation flight larger than one record's room completes", "[renegotiation]") {
  Sources sources;
  // A long ALPN name makes the ServerHello bigger: with the padded chain the
  // flight is more than one record's worth of room.
  const std::string protocol(200, 'p');
  const Config client_config = build_or_fail(client_builder(sources)
                                                 .versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
                                                 .renegotiation(true)
                                                 .alpn({protocol}));
  ConfigBuilder server_builder_big(Role::server);
  server_builder_big.random(sources.server_random)
      .clock(sources.clock)
      .certificate(padded_chain_pem(), pki().ecdsa_leaf.key.private_key_pem)
      .alpn({protocol})
      .renegotiation(true);
  Pair pair = connect(client_config, build_or_fail(server_builder_big));
  REQUIRE(pair.handshake());

  // The server has queued application data the transport has not taken yet:
  // just one record's worth of room is left when the ClientHello arrives.
  Connection& server = pair.server.conn;
  // Few records: a client waiting for the ServerHello accepts at most 16 data records.
  REQUIRE(server.set_max_send_fragment(4096));
  const std::vector<uint8_t> chunk(4096, 'x');
  size_t queued_plaintext = 0;
  while (server.wants().can_write) {
    const size_t n = server.write(ByteView(chunk.data(), chunk.size()));
    REQUIRE(n > 0);
    queued_plaintext += n;
  }
  // Make exactly the reserved room free: acknowledge sending some bytes.
  std::vector<uint8_t> sent_to_client;
  size_t acknowledge = 1;
  for (;; ++acknowledge) {
    const ByteView out = server.pending_output();
    sent_to_client.insert(sent_to_client.end(), out.begin(), out.begin() + 1);
    server.consume_output(1);
    if (server.wants().can_write) break;
  }
  CAPTURE(queued_plaintext, acknowledge);

  REQUIRE(pair.client.conn.renegotiate());
  const ByteView hello = pair.client.conn.pending_output();
  const std::vector<uint8_t> client_hello(hello.begin(), hello.end());
  pair.client.conn.consume_output(hello.size());
  CHECK(server.feed(ByteView(client_hello.data(), client_hello.size())) == client_hello.size());
  INFO("server: " << server.error().name() << ": " << server.error().message());
  REQUIRE(server.error().ok());
  CHECK(server.wants().has_output);

  // Deliver what was already sent, then let the pair run.
  CHECK(pair.client.conn.feed(ByteView(sent_to_client.data(), sent_to_client.size())) ==
        sent_to_client.size());
  pair.pump();
  INFO("client: " << pair.client.conn.error().name() << ": " << pair.client.conn.error().message());
  REQUIRE(server.error().ok());
  REQUIRE(pair.client.conn.error().ok());
  CHECK(pair.client.has_event(EventKind::renegotiated));
  CHECK(pair.server.has_event(EventKind::renegotiated));
  CHECK(pair.client.received.size() == queued_plaintext);

  // The connection still carries data both ways.
  pair.send(pair.client, {'p', 'i', 'n', 'g'});
  pair.send(pair.server, {'p', 'o', 'n', 'g'});
  pair.pump();
  CHECK(std::string(pair.server.received.begin(), pair.server.received.end()) == "ping");
  CHECK(pair.client.received.size() == queued_plaintext + 4);
}

TEST_CASE("renegotiate() waits until buffered plaintext is read", "[renegotiation]") {
  Sources sources;
  const Config client_config = build_or_fail(
      client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2).renegotiation(true));
  Pair pair = connect(client_config, build_or_fail(server_builder(sources).renegotiation(true)));
  REQUIRE(pair.handshake());
  pair.client.read_plaintext = false;
  pair.send(pair.server, {'d', 'a', 't', 'a'});
  pair.pump();
  REQUIRE(pair.client.conn.wants().has_plaintext);
  // mbedTLS cannot start a renegotiation while it still holds plaintext for
  // the application (the connection failed): refused until it is read.
  CHECK_FALSE(pair.client.conn.renegotiate());
  pair.client.read_plaintext = true;
  pair.pump();
  CHECK(std::string(pair.client.received.begin(), pair.client.received.end()) == "data");
  REQUIRE(pair.client.conn.renegotiate());
  pair.send(pair.server, {'m', 'o', 'r', 'e'});
  pair.pump();
  CHECK(pair.client.conn.error().ok());
  CHECK(pair.server.conn.error().ok());
  CHECK(pair.client.has_event(EventKind::renegotiated));
  CHECK(std::string(pair.client.received.begin(), pair.client.received.end()) == "datamore");

  // Closing ends renegotiation too.
  pair.client.conn.close();
  CHECK_FALSE(pair.client.conn.renegotiate());
}

TEST_CASE("an abandoned handshake has no timer left", "[close][timers]") {
  Sources sources;
  auto server = Connection::server(build_or_fail(server_builder(sources)));
  REQUIRE(server);
  REQUIRE(server->next_deadline_ms().has_value());  // servers default to 120 s
  server->close();
  CHECK(server->wants().closed);
  CHECK_FALSE(server->next_deadline_ms().has_value());
  server->on_timer(kNowMs + 10 * 60 * 1000);
  CHECK(server->error().ok());
  CHECK(server->wants().closed);
}
