// Saved sessions (resumption) and NSS key logging.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <algorithm>
#include <string>

#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

Pair pair_with(const Config& client_config, const Config& server_config, ByteView session = {}) {
  auto client = session.empty() ? Connection::client(client_config, "localhost")
                                : Connection::client(client_config, "localhost", session);
  REQUIRE(client);
  auto server = Connection::server(server_config);
  REQUIRE(server);
  return Pair(std::move(client).value(), std::move(server).value());
}

}  // namespace

TEST_CASE("a saved session resumes, and both sides say so", "[session]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const Config client_config = build_or_fail(client_builder(sources).versions(version, version));
  const Config server_config = build_or_fail(server_builder(sources));

  Pair first = pair_with(client_config, server_config);
  REQUIRE(first.handshake());
  CHECK_FALSE(first.client.conn.info().session_reused);
  CHECK(first.client.conn.info().ticket_received);
  auto saved = first.client.conn.save_session();
  REQUIRE(saved);
  CHECK(saved->size() > 40);
  auto none = first.server.conn.save_session();
  CHECK(none.error().code() == ErrorCode::session_unavailable);

  Pair second = pair_with(client_config, server_config, ByteView(saved.value()));
  REQUIRE(second.handshake());
  CHECK(second.client.conn.info().session_reused);
  CHECK(second.server.conn.info().session_reused);
  CHECK(second.client.conn.info().version == version);
  // The abbreviated handshake is much shorter: no certificate travels.
  CHECK(second.server_to_client.size() < first.server_to_client.size() / 2);
  second.send(second.client, {'r', 'e', 's', 'u', 'm', 'e', 'd'});
  second.pump();
  CHECK(std::string(second.server.received.begin(), second.server.received.end()) == "resumed");
}

TEST_CASE("save_session before there is one is a named error", "[session]") {
  Sources sources;
  auto client = Connection::client(build_or_fail(client_builder(sources)), "localhost");
  REQUIRE(client);
  auto saved = client->save_session();
  REQUIRE_FALSE(saved);
  expect_error(saved.error(), "ERR_TLS_SESSION_UNAVAILABLE", Stage::config);
}

TEST_CASE("unusable saved sessions are refused with ERR_TLS_INVALID_SESSION", "[session]") {
  Sources sources;
  const Config client_config = build_or_fail(client_builder(sources));
  const Config server_config = build_or_fail(server_builder(sources));
  Pair first = pair_with(client_config, server_config);
  REQUIRE(first.handshake());
  auto saved = first.client.conn.save_session();
  REQUIRE(saved);

  auto garbage = Connection::client(client_config, "localhost", ByteView("not a session at all"));
  REQUIRE_FALSE(garbage);
  expect_error(garbage.error(), "ERR_TLS_INVALID_SESSION", Stage::config);

  auto other_name = Connection::client(client_config, "other.example", ByteView(saved.value()));
  REQUIRE_FALSE(other_name);
  CHECK(std::string(other_name.error().message()).find("another server name") != std::string::npos);

  std::vector<uint8_t> corrupt = saved.value();
  corrupt.resize(corrupt.size() / 2);
  auto truncated = Connection::client(client_config, "localhost", ByteView(corrupt));
  REQUIRE_FALSE(truncated);
  expect_error(truncated.error(), "ERR_TLS_INVALID_SESSION", Stage::config);
}

TEST_CASE("key log lines in NSS format, identical on both sides", "[keylog]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  std::vector<std::string> client_lines, server_lines;
  const Config client_config = build_or_fail(
      client_builder(sources).versions(version, version).key_log([&](std::string_view line) {
        client_lines.emplace_back(line);
      }));
  const Config server_config = build_or_fail(server_builder(sources).key_log(
      [&](std::string_view line) { server_lines.emplace_back(line); }));
  Pair pair = pair_with(client_config, server_config);
  REQUIRE(pair.handshake());
  std::vector<std::string> labels;
  for (const std::string& line : client_lines) labels.push_back(line.substr(0, line.find(' ')));
  if (version == TlsVersion::tls1_3) {
    CHECK(labels == std::vector<std::string>{"CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                                             "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                                             "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"});
  } else {
    CHECK(labels == std::vector<std::string>{"CLIENT_RANDOM"});
    REQUIRE(client_lines.size() == 1);
    CHECK(client_lines[0].size() == std::string("CLIENT_RANDOM").size() + 1 + 64 + 1 + 96);
  }
  std::sort(client_lines.begin(), client_lines.end());
  std::sort(server_lines.begin(), server_lines.end());
  CHECK(client_lines == server_lines);
}

namespace {

std::vector<uint8_t> resume_once(const Config& client_config, const Config& server_config) {
  Pair first = pair_with(client_config, server_config);
  REQUIRE(first.handshake());
  auto saved = first.client.conn.save_session();
  REQUIRE(saved);
  return saved.value();
}

bool resumes(const Config& client_config, const Config& server_config,
             const std::vector<uint8_t>& session) {
  Pair second = pair_with(client_config, server_config, ByteView(session));
  REQUIRE(second.handshake());
  CHECK(second.client.conn.info().session_reused == second.server.conn.info().session_reused);
  return second.server.conn.info().session_reused;
}

}  // namespace

TEST_CASE("servers issue the configured number of TLS 1.3 tickets", "[session][tickets]") {
  Sources sources;
  const Config client_config = build_or_fail(client_builder(sources));
  Pair three = pair_with(client_config, build_or_fail(server_builder(sources).session_tickets(3)));
  REQUIRE(three.handshake());
  uint32_t tickets = 0;
  for (const Event& event : three.client.events) {
    if (event.kind == EventKind::session_ticket) tickets += event.count;
  }
  CHECK(tickets == 3);

  Pair none = pair_with(client_config, build_or_fail(server_builder(sources).session_tickets(0)));
  REQUIRE(none.handshake());
  CHECK_FALSE(none.client.has_event(EventKind::session_ticket));
  CHECK_FALSE(none.client.conn.info().ticket_received);
}

TEST_CASE("tickets expire with their lifetime", "[session][tickets]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const Config client_config = build_or_fail(client_builder(sources).versions(version, version));
  const Config server_config = build_or_fail(server_builder(sources).session_tickets(1, 60));
  const auto session = resume_once(client_config, server_config);
  sources.clock.advance_ms(30 * 1000);
  CHECK(resumes(client_config, server_config, session));
  sources.clock.advance_ms(31 * 1000);  // 61 s after issue
  CHECK_FALSE(resumes(client_config, server_config, session));
}

TEST_CASE("ticket keys can be shared across servers and rotated with overlap",
          "[session][tickets]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const Config client_config = build_or_fail(client_builder(sources).versions(version, version));
  auto keys = TicketKeys::generate(sources.server_random);
  REQUIRE(keys);
  const Config server_a = build_or_fail(server_builder(sources).ticket_keys(keys.value()));
  REQUIRE(server_a.ticket_keys() == keys.value());
  // Server B of the same fleet, configured from the exported bytes.
  auto imported = TicketKeys::from_bytes(ByteView(keys.value()->to_bytes()));
  REQUIRE(imported);
  const Config server_b = build_or_fail(server_builder(sources).ticket_keys(imported.value()));
  const auto session = resume_once(client_config, server_a);
  CHECK(resumes(client_config, server_b, session));

  // One rotation: the old key is now the previous one and still opens.
  REQUIRE(keys.value()->rotate(sources.server_random));
  CHECK(keys.value()->to_bytes().size() == 2 * TicketKeys::kKeyBytes);
  CHECK(resumes(client_config, server_a, session));
  // Two rotations: it is gone; a full handshake follows, not an error.
  REQUIRE(keys.value()->rotate(sources.server_random));
  CHECK_FALSE(resumes(client_config, server_a, session));
  // A server with unrelated keys does a full handshake too.
  CHECK_FALSE(resumes(client_config, build_or_fail(server_builder(sources)), session));

  auto bad = TicketKeys::from_bytes(ByteView("too short"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code() == ErrorCode::invalid_argument);
}

TEST_CASE("a ticket presented under another server name is not resumed", "[session][tickets]") {
  Sources sources;
  // TLS 1.2: the client offers a ticket whatever name it connects to.
  const Config client_config =
      build_or_fail(client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2));
  const Config server_config = build_or_fail(server_builder(sources));
  const auto session = resume_once(client_config, server_config);  // SNI "localhost"
  CHECK(resumes(client_config, server_config, session));

  // Offer the same ticket to the same server by IP address (no SNI). The
  // saved blob is "STS1" | name length | name | session: relabel it.
  const std::string from = "localhost", to = "127.0.0.1";
  REQUIRE(std::string(session.begin() + 5, session.begin() + 5 + from.size()) == from);
  std::vector<uint8_t> relabelled(session.begin(), session.begin() + 4);
  relabelled.push_back(static_cast<uint8_t>(to.size()));
  relabelled.insert(relabelled.end(), to.begin(), to.end());
  relabelled.insert(relabelled.end(), session.begin() + 5 + from.size(), session.end());
  auto client = Connection::client(client_config, to, ByteView(relabelled));
  REQUIRE(client);
  auto server = Connection::server(server_config);
  REQUIRE(server);
  Pair pair(std::move(client).value(), std::move(server).value());
  REQUIRE(pair.handshake());
  CHECK(pair.server.conn.info().server_name.empty());
  CHECK_FALSE(pair.server.conn.info().session_reused);
  CHECK_FALSE(pair.client.conn.info().session_reused);
}

TEST_CASE("TLS 1.2 session IDs resume through a session store", "[session][store]") {
  Sources sources;
  // The client asks for no tickets, so only the session ID can resume.
  const Config client_config = build_or_fail(
      client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2).session_tickets(0));
  auto store = make_memory_session_store(2);
  const Config with_store = build_or_fail(server_builder(sources).session_store(store));
  const auto session = resume_once(client_config, with_store);
  CHECK(resumes(client_config, with_store, session));
  // Without a store the server cannot find it.
  CHECK_FALSE(resumes(client_config, build_or_fail(server_builder(sources)), session));
  // The store is bounded: two newer sessions evict it.
  resume_once(client_config, with_store);
  resume_once(client_config, with_store);
  CHECK_FALSE(resumes(client_config, with_store, session));
}

TEST_CASE("0-RTT: accepted once, then the replayed ticket gets a full handshake and a resend",
          "[session][early-data]") {
  Sources sources;
  const Config client_config = build_or_fail(
      client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3).early_data(1));
  const Config server_config = build_or_fail(server_builder(sources).early_data(16384));
  const auto session = resume_once(client_config, server_config);
  const std::string request = "GET /idempotent HTTP/1.1\r\n\r\n";

  auto zero_rtt = [&]() {
    auto client = Connection::client(client_config, "localhost", ByteView(session));
    REQUIRE(client);
    auto server = Connection::server(server_config);
    REQUIRE(server);
    Pair pair(std::move(client).value(), std::move(server).value());
    const size_t sent = pair.client.conn.write_early_data(ByteView(request));
    pair.pump();
    return std::make_pair(sent, std::move(pair));
  };

  auto [sent, first] = zero_rtt();
  CHECK(sent == request.size());
  REQUIRE(first.client.conn.wants().handshake_complete);
  CHECK(first.server.has_event(EventKind::early_data));
  uint8_t buffer[256];
  const size_t n = first.server.conn.read_early_data(MutableByteView(buffer, sizeof buffer));
  CHECK(std::string(reinterpret_cast<char*>(buffer), n) == request);
  CHECK(first.client.conn.info().early_data.sent == request.size());
  CHECK(first.client.conn.info().early_data.accepted);
  CHECK(first.server.conn.info().early_data.accepted);
  CHECK(first.server.received.empty());  // early data is not ordinary data

  // The same ticket again: it still resumes, but its 0-RTT is single-use, so
  // the early data is refused; the client's bytes are not lost, they arrive
  // as ordinary data.
  auto [sent_again, replay] = zero_rtt();
  CHECK(sent_again == request.size());
  REQUIRE(replay.handshake());
  CHECK(replay.server.conn.info().session_reused);
  CHECK_FALSE(replay.server.has_event(EventKind::early_data));
  CHECK(replay.client.has_event(EventKind::early_data_rejected));
  CHECK_FALSE(replay.client.conn.info().early_data.accepted);
  CHECK(std::string(replay.server.received.begin(), replay.server.received.end()) == request);
}

TEST_CASE("0-RTT offered with a ticket the server cannot use still completes",
          "[session][early-data]") {
  Sources sources;
  const Config client_config = build_or_fail(
      client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3).early_data(1));
  const Config server_a = build_or_fail(server_builder(sources).early_data(16384));
  const Config server_b = build_or_fail(server_builder(sources).early_data(16384));  // other keys
  const auto session = resume_once(client_config, server_a);
  auto client = Connection::client(client_config, "localhost", ByteView(session));
  REQUIRE(client);
  auto server = Connection::server(server_b);
  REQUIRE(server);
  Pair pair(std::move(client).value(), std::move(server).value());
  CHECK(pair.client.conn.write_early_data(ByteView("early")) == 5);
  REQUIRE(pair.handshake());  // a full handshake; mbedTLS alone would fail here
  CHECK_FALSE(pair.server.conn.info().session_reused);
  CHECK(pair.client.has_event(EventKind::early_data_rejected));
  CHECK(std::string(pair.server.received.begin(), pair.server.received.end()) == "early");
}

TEST_CASE("0-RTT is impossible without a ticket that allows it", "[session][early-data]") {
  Sources sources;
  const Config client_config = build_or_fail(client_builder(sources).early_data(1));
  const Config plain_server = build_or_fail(server_builder(sources));
  const auto session = resume_once(client_config, plain_server);
  auto client = Connection::client(client_config, "localhost", ByteView(session));
  REQUIRE(client);
  CHECK(client->write_early_data(ByteView("nope")) == 0);
  auto fresh = Connection::client(client_config, "localhost");
  REQUIRE(fresh);
  CHECK(fresh->write_early_data(ByteView("nope")) == 0);
  auto no_tickets = server_builder(sources).session_tickets(0).early_data(1024).build();
  REQUIRE_FALSE(no_tickets);
  CHECK(no_tickets.error().code() == ErrorCode::invalid_argument);
}

TEST_CASE("resumed sessions keep what the full handshake established", "[session][mtls]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  ConfigBuilder requiring = server_builder(sources);
  requiring.peer_verification(PeerVerification::required).trust_anchors(trusted_roots_pem());
  const Config server_config = build_or_fail(requiring);
  ConfigBuilder with_cert = client_builder(sources).versions(version, version);
  with_cert.certificate(pki().client_leaf.certificate_pem, pki().client_leaf.key.private_key_pem);
  const Config client_config = build_or_fail(with_cert);

  const auto session = resume_once(client_config, server_config);
  Pair resumed = pair_with(client_config, server_config, ByteView(session));
  REQUIRE(resumed.handshake());
  CHECK(resumed.server.conn.info().session_reused);
  CHECK(resumed.server.conn.info().authorized);
  CHECK(resumed.client.conn.info().authorized);
  REQUIRE_FALSE(resumed.client.conn.info().peer_certificates.empty());
  CHECK(resumed.client.conn.info().peer_certificates[0].subject == "CN=localhost, O=sanstls test");

  // A client the server rejected may still hold a ticket from that handshake
  // (TLS 1.3 tickets go out before the verdict); it must not resume with it.
  const Config no_cert = build_or_fail(client_builder(sources).versions(version, version));
  Pair rejected = pair_with(no_cert, server_config);
  rejected.pump();
  CHECK_FALSE(rejected.server.conn.error().ok());
  auto ticket = rejected.client.conn.save_session();
  if (ticket) {
    Pair retry = pair_with(no_cert, server_config, ByteView(ticket.value()));
    retry.pump();
    CHECK_FALSE(retry.server.conn.info().session_reused);
    CHECK_FALSE(retry.server.conn.error().ok());
  }
}
