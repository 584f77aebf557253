// ConfigBuilder::max_connection_memory: a Connection never holds more heap
// than its cap; an allocation past it fails the connection with
// ERR_TLS_OUT_OF_MEMORY, named and sticky, and nothing leaks.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

TEST_CASE("a cap too small for the record buffers refuses the Connection", "[memory][limit]") {
  Sources sources;
  auto client = Connection::client(
      build_or_fail(client_builder(sources).max_connection_memory(16 * 1024)), "localhost");
  REQUIRE_FALSE(client);
  expect_error(client.error(), "ERR_TLS_OUT_OF_MEMORY", Stage::internal);
}

TEST_CASE("a cap reached mid-handshake fails it with ERR_TLS_OUT_OF_MEMORY", "[memory][limit]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  const bool capped_client = GENERATE(true, false);
  Sources sources;
  // Enough for the two record buffers (about 34 KB), not for the handshake.
  constexpr size_t kCap = 40 * 1024;
  ConfigBuilder client = client_builder(sources).versions(version, version);
  ConfigBuilder server = server_builder(sources);
  (capped_client ? client : server).max_connection_memory(kCap);
  Pair pair = connect(build_or_fail(client), build_or_fail(server));
  Endpoint& capped = capped_client ? pair.client : pair.server;
  INFO(version_name(version) << (capped_client ? " client" : " server"));
  CHECK_FALSE(capped.conn.wants().handshake_complete);
  expect_error(capped.conn.error(), "ERR_TLS_OUT_OF_MEMORY", Stage::internal);
  CHECK(capped.conn.memory().peak_bytes <= kCap);
  // The peer is not left hanging on a silent close forever: its own error
  // or a wait for input that a transport EOF then names.
  Endpoint& other = capped_client ? pair.server : pair.client;
  if (other.conn.error().ok()) {
    other.conn.transport_eof();
    CHECK_FALSE(other.conn.error().ok());
  }
}

TEST_CASE("a generous cap changes nothing", "[memory][limit]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  constexpr size_t kCap = 160 * 1024;
  Pair pair = connect(
      build_or_fail(client_builder(sources).versions(version, version).max_connection_memory(kCap)),
      build_or_fail(server_builder(sources).max_connection_memory(kCap)));
  REQUIRE(pair.handshake());
  pair.send(pair.client, std::vector<uint8_t>(200000, 'x'));
  pair.pump();
  CHECK(pair.server.received.size() == 200000);
  CHECK(pair.client.conn.memory().peak_bytes <= kCap);
  CHECK(pair.server.conn.memory().peak_bytes <= kCap);
}
