// The same seeds and clock give a byte-identical transcript. TLS 1.2 is
// deterministic in every build; TLS 1.3 key shares come from PSA's random
// generator, which is injected only in SANSTLS_DETERMINISTIC builds.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>

#include "mbedtls/build_info.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

struct Transcript {
  std::vector<uint8_t> client_to_server;
  std::vector<uint8_t> server_to_client;
};

Transcript run_once(TlsVersion version, uint64_t seed) {
  Sources sources(seed);
  auto client = Connection::client(
      build_or_fail(client_builder(sources).versions(version, version)), "localhost");
  auto server = Connection::server(build_or_fail(server_builder(sources)));
  REQUIRE(client);
  REQUIRE(server);
  Pair pair(std::move(client).value(), std::move(server).value());
  REQUIRE(pair.handshake());
  pair.send(pair.client, {'p', 'i', 'n', 'g'});
  pair.send(pair.server, {'p', 'o', 'n', 'g'});
  pair.pump();
  pair.client.conn.close();
  pair.pump();
  return {pair.client_to_server, pair.server_to_client};
}

}  // namespace

TEST_CASE("TLS 1.2: same seeds and clock, byte-identical transcript", "[determinism]") {
  const Transcript a = run_once(TlsVersion::tls1_2, 42);
  const Transcript b = run_once(TlsVersion::tls1_2, 42);
  CHECK(a.client_to_server == b.client_to_server);
  CHECK(a.server_to_client == b.server_to_client);
  const Transcript c = run_once(TlsVersion::tls1_2, 43);
  CHECK(a.client_to_server != c.client_to_server);
}

TEST_CASE("TLS 1.3: byte-identical transcript in deterministic builds", "[determinism]") {
#if defined(MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG)
  const Transcript a = run_once(TlsVersion::tls1_3, 42);
  const Transcript b = run_once(TlsVersion::tls1_3, 42);
  CHECK(a.client_to_server == b.client_to_server);
  CHECK(a.server_to_client == b.server_to_client);
  const Transcript c = run_once(TlsVersion::tls1_3, 43);
  CHECK(a.server_to_client != c.server_to_client);
#else
  // Release builds draw TLS 1.3 key shares from the OS: transcripts differ.
  const Transcript a = run_once(TlsVersion::tls1_3, 42);
  const Transcript b = run_once(TlsVersion::tls1_3, 42);
  CHECK(a.client_to_server != b.client_to_server);
  SUCCEED("TLS 1.3 determinism is checked in the SANSTLS_DETERMINISTIC (sanitizer) build");
#endif
}
