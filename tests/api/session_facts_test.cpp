// ConnectionInfo::extended_master_secret and ::session_id (BoGo maps them to
// bssl_shim's -expect-extended-master-secret and -expect-session-id /
// -expect-no-session-id): whether RFC 7627 was negotiated, and the TLS 1.2
// session ID, which a server that issues a ticket instead leaves empty.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <vector>

#include "call_scope.h"
#include "support/fixtures.h"
#include "support/pair.h"
#include "support/raw_peer.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

Pair pair_with(const Config& client_config, const Config& server_config,
               ByteView saved = ByteView()) {
  auto client = saved.empty() ? Connection::client(client_config, "localhost")
                              : Connection::client(client_config, "localhost", saved);
  REQUIRE(client);
  auto server = Connection::server(server_config);
  REQUIRE(server);
  return Pair(std::move(client).value(), std::move(server).value());
}

// Our client against a raw mbedTLS TLS 1.2 server, with or without RFC 7627.
ConnectionInfo tls12_client_info_against_raw_server(bool server_ems) {
  Sources sources;
  detail::CallScope scope{nullptr, &sources.clock, &sources.server_random};
  auto made = Connection::client(
      build_or_fail(client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2)),
      "localhost");
  REQUIRE(made);
  Connection client = std::move(made).value();
  raw_peer* peer = raw_peer_new_server_version(
      ecdsa_chain_pem().c_str(), pki().ecdsa_leaf.key.private_key_pem.c_str(), 0x0303);
  REQUIRE(peer != nullptr);
  if (!server_ems) raw_peer_disable_extended_master_secret(peer);
  uint8_t buffer[65536];
  int status = 1;
  for (int i = 0; i < 50 && !(status == 0 && client.wants().handshake_complete); ++i) {
    ByteView out = client.pending_output();
    raw_peer_feed(peer, out.data(), out.size());
    client.consume_output(out.size());
    status = raw_peer_handshake(peer);
    REQUIRE(status >= 0);
    const size_t n = raw_peer_take_output(peer, buffer, sizeof buffer);
    size_t used = 0;
    for (int guard = 0; guard < 100 && used < n; ++guard) {
      const size_t taken = client.feed(ByteView(buffer + used, n - used));
      if (taken == 0) break;
      used += taken;
    }
  }
  raw_peer_free(peer);
  REQUIRE(client.error().ok());
  REQUIRE(client.wants().handshake_complete);
  return client.info();
}

}  // namespace

TEST_CASE("info().extended_master_secret: RFC 7627 in TLS 1.2, always in TLS 1.3", "[info][ems]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const Config client_config = build_or_fail(client_builder(sources).versions(version, version));
  const Config server_config = build_or_fail(server_builder(sources));
  Pair pair = pair_with(client_config, server_config);
  REQUIRE(pair.handshake());
  CHECK(pair.client.conn.info().extended_master_secret);
  CHECK(pair.server.conn.info().extended_master_secret);
}

TEST_CASE("info().extended_master_secret: false when the TLS 1.2 server does not echo it",
          "[info][ems]") {
  CHECK_FALSE(tls12_client_info_against_raw_server(false).extended_master_secret);
  CHECK(tls12_client_info_against_raw_server(true).extended_master_secret);
}

TEST_CASE("info().session_id: a TLS 1.2 server that caches by ID, both sides, and its resumption",
          "[info][session_id]") {
  Sources sources;
  const Config client_config = build_or_fail(
      client_builder(sources).versions(TlsVersion::tls1_2, TlsVersion::tls1_2).session_tickets(0));
  const Config server_config = build_or_fail(
      server_builder(sources).session_tickets(0).session_store(make_memory_session_store(4)));
  Pair first = pair_with(client_config, server_config);
  REQUIRE(first.handshake());
  const std::vector<uint8_t> id = first.server.conn.info().session_id;
  CHECK(id.size() == 32);
  CHECK(first.client.conn.info().session_id == id);
  auto saved = first.client.conn.save_session();
  REQUIRE(saved);

  Pair second = pair_with(client_config, server_config, ByteView(saved.value()));
  REQUIRE(second.handshake());
  REQUIRE(second.client.conn.info().session_reused);
  CHECK(second.client.conn.info().session_id == id);
  CHECK(second.server.conn.info().session_id == id);
}

TEST_CASE("info().session_id: empty when the server issues a ticket, and in TLS 1.3",
          "[info][session_id]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  const Config client_config = build_or_fail(client_builder(sources).versions(version, version));
  // Tickets on (the default) and a session store: a ticket wins over the ID.
  const Config server_config =
      build_or_fail(server_builder(sources).session_store(make_memory_session_store(4)));
  Pair pair = pair_with(client_config, server_config);
  REQUIRE(pair.handshake());
  CHECK(pair.server.conn.info().session_id.empty());
  CHECK(pair.client.conn.info().session_id.empty());
  if (version == TlsVersion::tls1_2) CHECK(pair.client.conn.info().ticket_received);
}
