// Data arrives intact however the transport slices it: all at once, one
// byte at a time, random chunks, and 10 MiB each way with both sides writing.
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <string>

#include "mbedtls/sha256.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

namespace {

std::vector<uint8_t> pattern(size_t size, uint64_t seed) {
  std::vector<uint8_t> data(size);
  SeededRandom random(seed);
  random.fill(MutableByteView(data.data(), data.size()));
  return data;
}

std::string sha256_hex(const std::vector<uint8_t>& data) {
  unsigned char digest[32];
  mbedtls_sha256(data.data(), data.size(), digest, 0);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

Pair make_pair(Sources& sources, TlsVersion version, Chunker chunker) {
  auto client = Connection::client(
      build_or_fail(client_builder(sources).versions(version, version)), "localhost");
  auto server = Connection::server(build_or_fail(server_builder(sources)));
  REQUIRE(client);
  REQUIRE(server);
  return Pair(std::move(client).value(), std::move(server).value(), chunker);
}

}  // namespace

TEST_CASE("delivery is independent of how the transport slices bytes", "[delivery]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  struct Slicing {
    const char* name;
    Chunker chunker;
  };
  const Slicing slicing = GENERATE(values<Slicing>({
      {"everything at once", Chunker::all()},
      {"byte by byte", Chunker::bytes(1)},
      {"random chunks (seed 1)", Chunker::random(1, 700)},
      {"random chunks (seed 2)", Chunker::random(2, 5)},
      {"random chunks (seed 3)", Chunker::random(3, 20000)},
  }));
  CAPTURE(slicing.name);
  Sources sources;
  Pair pair = make_pair(sources, version, slicing.chunker);
  REQUIRE(pair.handshake());
  const auto to_server = pattern(40000, 11);
  const auto to_client = pattern(30000, 12);
  pair.send(pair.client, to_server);
  pair.send(pair.server, to_client);
  REQUIRE(pair.pump());
  CHECK(pair.server.received == to_server);
  CHECK(pair.client.received == to_client);
  CHECK(pair.client.conn.error().ok());
  CHECK(pair.server.conn.error().ok());
}

TEST_CASE("10 MiB each way, both sides writing at once", "[delivery][bulk]") {
  const auto version = GENERATE(TlsVersion::tls1_3, TlsVersion::tls1_2);
  Sources sources;
  Pair pair = make_pair(sources, version, Chunker::random(99, 64 * 1024));
  REQUIRE(pair.handshake());
  const size_t size = 10u << 20;
  const auto to_server = pattern(size, 21);
  const auto to_client = pattern(size, 22);
  pair.send(pair.client, to_server);
  pair.send(pair.server, to_client);
  REQUIRE(pair.pump());
  REQUIRE(pair.server.received.size() == size);
  REQUIRE(pair.client.received.size() == size);
  CHECK(sha256_hex(pair.server.received) == sha256_hex(to_server));
  CHECK(sha256_hex(pair.client.received) == sha256_hex(to_client));
  // Memory stayed bounded while 20 MiB went through.
  CHECK(pair.client.conn.memory().peak_bytes < 160 * 1024);
  CHECK(pair.server.conn.memory().peak_bytes < 160 * 1024);
}

TEST_CASE("records never exceed the protocol limit on the wire", "[delivery]") {
  Sources sources;
  Pair pair = make_pair(sources, TlsVersion::tls1_3, Chunker::all());
  REQUIRE(pair.handshake());
  pair.send(pair.client, pattern(100000, 5));
  REQUIRE(pair.pump());
  size_t largest = 0;
  for (const RecordSummary& record : split_records(pair.client_to_server)) {
    if (record.length > largest) largest = record.length;
  }
  CHECK(largest > 16384);         // full records were used...
  CHECK(largest <= 16384 + 256);  // ...and none exceeded 2^14 + 256
}
