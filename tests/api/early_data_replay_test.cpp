// The 0-RTT replay store: shared across Configs (a reload keeps it), spent
// only by accepted early data, and counted in Config::memory_bytes().
#include <catch2/catch_test_macros.hpp>
#include <string>

#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

std::vector<uint8_t> ticket_from(const Config& client_config, const Config& server_config) {
  Pair first = connect(client_config, server_config);
  REQUIRE(first.handshake());
  auto saved = first.client.conn.save_session();
  REQUIRE(saved);
  return saved.value();
}

// Resumes `session` against `server_config`, offering 0-RTT when `early`.
// Returns whether the server accepted early data.
bool resume(const Config& client_config, const Config& server_config,
            const std::vector<uint8_t>& session, bool early) {
  auto client = Connection::client(client_config, "localhost", ByteView(session));
  REQUIRE(client);
  auto server = Connection::server(server_config);
  REQUIRE(server);
  Pair pair(std::move(client).value(), std::move(server).value());
  if (early) REQUIRE(pair.client.conn.write_early_data(ByteView("GET / HTTP/1.1\r\n\r\n")) > 0);
  REQUIRE(pair.handshake());
  CHECK(pair.server.conn.info().session_reused);
  return pair.server.conn.info().early_data.accepted;
}

}  // namespace

TEST_CASE("a reloaded server Config sharing the replay store refuses a replayed 0-RTT ticket",
          "[session][early-data][replay]") {
  Sources sources;
  const Config client_config = build_or_fail(
      client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3).early_data(1));
  const Config before = build_or_fail(server_builder(sources).early_data(16384));
  REQUIRE(before.early_data_replay_store() != nullptr);
  const auto session = ticket_from(client_config, before);
  CHECK(resume(client_config, before, session, true));

  // A reload (SIGHUP, ConfigSlot): new credentials, same ticket keys and store.
  const Config reloaded =
      build_or_fail(server_builder(sources)
                        .early_data(16384)
                        .ticket_keys(before.ticket_keys())
                        .early_data_replay_store(before.early_data_replay_store()));
  CHECK(reloaded.early_data_replay_store() == before.early_data_replay_store());
  CHECK_FALSE(resume(client_config, reloaded, session, true));

  // A reload that forgot the store would accept the replay: that is what sharing prevents.
  const Config forgetful =
      build_or_fail(server_builder(sources).early_data(16384).ticket_keys(before.ticket_keys()));
  CHECK(resume(client_config, forgetful, session, true));
}

TEST_CASE("resumptions that do not offer 0-RTT spend no replay entry",
          "[session][early-data][replay]") {
  Sources sources;
  const Config client_config = build_or_fail(
      client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3).early_data(1));
  const Config server_config = build_or_fail(server_builder(sources).early_data(16384));
  const auto store = server_config.early_data_replay_store();
  const auto session = ticket_from(client_config, server_config);
  // A client that does not offer early data (mbedTLS offers it whenever the
  // Config and the ticket allow, even with nothing to send).
  const Config plain_client =
      build_or_fail(client_builder(sources).versions(TlsVersion::tls1_3, TlsVersion::tls1_3));
  for (int i = 0; i < 3; ++i) CHECK_FALSE(resume(plain_client, server_config, session, false));
  CHECK(store->size() == 0);
  // The ticket's 0-RTT is still unspent.
  CHECK(resume(client_config, server_config, session, true));
  CHECK(store->size() == 1);
  CHECK_FALSE(resume(client_config, server_config, session, true));
  CHECK(store->size() == 1);
}

TEST_CASE("the replay store is bounded and counted in Config::memory_bytes()",
          "[session][early-data][replay]") {
  Sources sources;
  const auto store = EarlyDataReplayStore::create(4);
  const Config server_config =
      build_or_fail(server_builder(sources).early_data(1024).early_data_replay_store(store));
  const size_t empty = server_config.memory_bytes();
  const size_t empty_store = store->memory_bytes();
  CHECK(empty >= empty_store);
  uint8_t id[12] = {0};
  for (uint8_t i = 0; i < 4; ++i) {
    id[0] = i;
    CHECK(store->first_use(ByteView(id, sizeof id), 100 + i));
  }
  CHECK(store->memory_bytes() > empty_store);
  CHECK(server_config.memory_bytes() - empty == store->memory_bytes() - empty_store);
  id[0] = 2;
  CHECK_FALSE(store->first_use(ByteView(id, sizeof id), 102));  // a replay
  // A fifth entry evicts the oldest (issued at 100): tickets issued up to
  // then are refused from now on, even unseen ones.
  id[0] = 9;
  CHECK(store->first_use(ByteView(id, sizeof id), 200));
  CHECK(store->size() == 4);
  id[0] = 10;
  CHECK_FALSE(store->first_use(ByteView(id, sizeof id), 100));
  CHECK(store->first_use(ByteView(id, sizeof id), 101));
}

// ---------------------------------------------------------------- 0-RTT reasons and ticket limit

namespace {

struct Resumed {
  ConnectionInfo client;
  ConnectionInfo server;
};

// Resumes `session` (empty: none), writing 0-RTT data when the client can.
Resumed resume_with(const Config& client_config, const Config& server_config,
                    const std::vector<uint8_t>& session) {
  auto client = Connection::client(client_config, "localhost", ByteView(session));
  REQUIRE(client);
  auto server = Connection::server(server_config);
  REQUIRE(server);
  Pair pair(std::move(client).value(), std::move(server).value());
  pair.client.conn.write_early_data(ByteView("GET / HTTP/1.1\r\n\r\n"));
  REQUIRE(pair.handshake());
  return Resumed{pair.client.conn.info(), pair.server.conn.info()};
}

ConfigBuilder tls13_client(Sources& sources) {
  ConfigBuilder builder = client_builder(sources);
  builder.versions(TlsVersion::tls1_3, TlsVersion::tls1_3);
  return builder;
}

}  // namespace

TEST_CASE("0-RTT reason names are BoringSSL's", "[session][early-data][reason]") {
  CHECK(std::string(to_string(EarlyDataReason::unknown)) == "unknown");
  CHECK(std::string(to_string(EarlyDataReason::disabled)) == "disabled");
  CHECK(std::string(to_string(EarlyDataReason::accepted)) == "accepted");
  CHECK(std::string(to_string(EarlyDataReason::protocol_version)) == "protocol_version");
  CHECK(std::string(to_string(EarlyDataReason::peer_declined)) == "peer_declined");
  CHECK(std::string(to_string(EarlyDataReason::no_session_offered)) == "no_session_offered");
  CHECK(std::string(to_string(EarlyDataReason::session_not_resumed)) == "session_not_resumed");
  CHECK(std::string(to_string(EarlyDataReason::unsupported_for_session)) ==
        "unsupported_for_session");
  CHECK(std::string(to_string(EarlyDataReason::hello_retry_request)) == "hello_retry_request");
}

TEST_CASE("a ticket's 0-RTT limit is visible in the info and in the saved session",
          "[session][early-data][reason]") {
  Sources sources;
  const Config client_config = build_or_fail(tls13_client(sources).early_data(1));
  const Config server_config = build_or_fail(server_builder(sources).early_data(12000));
  Pair first = connect(client_config, server_config);
  REQUIRE(first.handshake());
  // No session: the client could not offer 0-RTT.
  CHECK(first.client.conn.info().early_data.reason == EarlyDataReason::no_session_offered);
  CHECK(first.server.conn.info().early_data.reason == EarlyDataReason::no_session_offered);
  CHECK(first.server.conn.info().early_data.ticket_max_size == 12000);
  CHECK(first.client.conn.info().ticket_received);
  CHECK(first.client.conn.info().early_data.ticket_max_size == 12000);
  auto saved = first.client.conn.save_session();
  REQUIRE(saved);
  CHECK(session_max_early_data(ByteView(saved.value())) == 12000);
  CHECK(session_allows_early_data(ByteView(saved.value())));

  const Resumed resumed = resume_with(client_config, server_config, saved.value());
  CHECK(resumed.client.early_data.reason == EarlyDataReason::accepted);
  CHECK(resumed.server.early_data.reason == EarlyDataReason::accepted);
  CHECK(resumed.client.early_data.accepted);
  CHECK(resumed.client.early_data.ticket_max_size == 12000);

  // Not a session: no 0-RTT, no crash.
  CHECK(session_max_early_data(ByteView("not a session")) == 0);
  CHECK_FALSE(session_allows_early_data(ByteView()));
  std::vector<uint8_t> truncated = saved.value();
  truncated.resize(truncated.size() / 2);
  CHECK(session_max_early_data(ByteView(truncated)) == 0);
}

TEST_CASE("a ticket without 0-RTT: unsupported_for_session", "[session][early-data][reason]") {
  Sources sources;
  const Config client_config = build_or_fail(tls13_client(sources).early_data(1));
  const Config server_config = build_or_fail(server_builder(sources));  // 0-RTT off
  const auto session = ticket_from(client_config, server_config);
  CHECK(session_max_early_data(ByteView(session)) == 0);
  CHECK_FALSE(session_allows_early_data(ByteView(session)));
  const Resumed resumed = resume_with(client_config, server_config, session);
  CHECK(resumed.client.session_reused);
  CHECK(resumed.client.early_data.reason == EarlyDataReason::unsupported_for_session);
  CHECK(resumed.client.early_data.ticket_max_size == 0);
  CHECK(resumed.server.early_data.reason == EarlyDataReason::disabled);
}

TEST_CASE("a client with 0-RTT off: disabled, and the server sees none offered",
          "[session][early-data][reason]") {
  Sources sources;
  const Config early_client = build_or_fail(tls13_client(sources).early_data(1));
  const Config plain_client = build_or_fail(tls13_client(sources));
  const Config server_config = build_or_fail(server_builder(sources).early_data(16384));
  const auto session = ticket_from(early_client, server_config);
  const Resumed resumed = resume_with(plain_client, server_config, session);
  CHECK(resumed.client.early_data.reason == EarlyDataReason::disabled);
  CHECK(resumed.server.early_data.reason == EarlyDataReason::peer_declined);
}

TEST_CASE("TLS 1.2: protocol_version", "[session][early-data][reason]") {
  Sources sources;
  const Config client_config = build_or_fail(client_builder(sources).early_data(1));
  const Config server_config = build_or_fail(
      server_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2).early_data(16384));
  Pair pair = connect(client_config, server_config);
  REQUIRE(pair.handshake());
  CHECK(pair.client.conn.info().early_data.reason == EarlyDataReason::protocol_version);
  CHECK(pair.server.conn.info().early_data.reason == EarlyDataReason::protocol_version);
}

TEST_CASE("a replayed 0-RTT ticket: the server declines it", "[session][early-data][reason]") {
  Sources sources;
  const Config client_config = build_or_fail(tls13_client(sources).early_data(1));
  const Config server_config = build_or_fail(server_builder(sources).early_data(16384));
  const auto session = ticket_from(client_config, server_config);
  CHECK(resume_with(client_config, server_config, session).server.early_data.reason ==
        EarlyDataReason::accepted);
  const Resumed replay = resume_with(client_config, server_config, session);
  CHECK(replay.client.session_reused);
  CHECK(replay.client.early_data.reason == EarlyDataReason::peer_declined);
  CHECK(replay.server.early_data.reason == EarlyDataReason::unsupported_for_session);
}

TEST_CASE("a ticket the server cannot open: session_not_resumed", "[session][early-data][reason]") {
  Sources sources;
  const Config client_config = build_or_fail(tls13_client(sources).early_data(1));
  const Config issuer = build_or_fail(server_builder(sources).early_data(16384));
  const auto session = ticket_from(client_config, issuer);
  // Other ticket keys: a full handshake.
  const Config stranger = build_or_fail(server_builder(sources).early_data(16384));
  const Resumed resumed = resume_with(client_config, stranger, session);
  CHECK_FALSE(resumed.client.session_reused);
  CHECK(resumed.client.early_data.reason == EarlyDataReason::session_not_resumed);
  CHECK(resumed.server.early_data.reason == EarlyDataReason::session_not_resumed);
}

TEST_CASE("a HelloRetryRequest: hello_retry_request", "[session][early-data][reason]") {
  Sources sources;
  const Config ticket_client = build_or_fail(tls13_client(sources).early_data(1).groups("P-256"));
  const Config server_config =
      build_or_fail(server_builder(sources).early_data(16384).groups("P-256"));
  const auto session = ticket_from(ticket_client, server_config);
  // Offers X25519 and P-256 with a key share for X25519 only: the server asks again.
  const Config retry_client =
      build_or_fail(tls13_client(sources).early_data(1).groups("X25519:P-256"));
  const Resumed resumed = resume_with(retry_client, server_config, session);
  CHECK(resumed.client.early_data.reason == EarlyDataReason::hello_retry_request);
  CHECK(resumed.server.early_data.reason == EarlyDataReason::hello_retry_request);
  CHECK_FALSE(resumed.server.early_data.accepted);
}
