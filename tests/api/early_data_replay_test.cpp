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
