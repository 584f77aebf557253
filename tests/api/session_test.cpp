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
  CHECK(first.client.conn.info().ticket_received == (version == TlsVersion::tls1_3));
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
      client_builder(sources).versions(version, version).key_log(
          [&](std::string_view line) { client_lines.emplace_back(line); }));
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
