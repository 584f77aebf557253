// Key material is wiped when it is released. This program replaces the
// global operator delete: while armed, every block freed is searched for a
// marker planted in a secret, so a copy left behind in freed memory (a
// vector's old buffer, a std::string, a ConfigBuilder's copy) is caught.
#include <malloc.h>

#include <catch2/catch_test_macros.hpp>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "support/fixtures.h"
#include "support/pair.h"

namespace {

std::atomic<bool> g_armed{false};
char g_marker[24];
size_t g_marker_size = 0;
std::atomic<int> g_found{0};

void inspect(void* block, size_t size) noexcept {
  if (block == nullptr || !g_armed.load() || g_marker_size == 0 || size < g_marker_size) return;
  if (memmem(block, size, g_marker, g_marker_size) != nullptr) ++g_found;
}

// Counts the freed blocks holding `marker` while `body` runs.
template <class Fn>
int freed_copies_of(const std::string& marker, Fn&& body) {
  REQUIRE(marker.size() <= sizeof g_marker);
  std::memcpy(g_marker, marker.data(), marker.size());
  g_marker_size = marker.size();
  g_found = 0;
  g_armed = true;
  body();
  g_armed = false;
  return g_found.load();
}

}  // namespace

// Every form of the plain allocation functions is replaced, so each block
// is allocated and freed by the same pair (ASan checks the match).
void* operator new(size_t size) {
  void* block = std::malloc(size == 0 ? 1 : size);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new[](size_t size, const std::nothrow_t& tag) noexcept {
  return operator new(size, tag);
}
void operator delete(void* block) noexcept {
  if (block != nullptr) inspect(block, malloc_usable_size(block));
  std::free(block);
}
void operator delete(void* block, size_t) noexcept { operator delete(block); }
void operator delete(void* block, const std::nothrow_t&) noexcept { operator delete(block); }
void operator delete[](void* block) noexcept { operator delete(block); }
void operator delete[](void* block, size_t) noexcept { operator delete(block); }
void operator delete[](void* block, const std::nothrow_t&) noexcept { operator delete(block); }

using namespace sanstls;
using namespace sanstls::test;

TEST_CASE("a PSK is wiped from the builder, the Config and the engine", "[secrets]") {
  const std::string psk = "PSK-MARKER-0123456789abc";  // 24 bytes
  const int copies = freed_copies_of(psk, [&] {
    Sources sources;
    ConfigBuilder builder(Role::client);
    builder.random(sources.client_random)
        .clock(sources.clock)
        .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
        .psk("device-17", ByteView(psk));
    ConfigBuilder copy = builder;  // builders are copied (reload code does)
    copy.psk("device-17", ByteView(psk));
    auto config = builder.build();
    REQUIRE(config);
    auto client = Connection::client(config.value(), "localhost");
    REQUIRE(client);
  });
  CHECK(copies == 0);
}

TEST_CASE("a server's PSK lookup result is wiped after use", "[secrets]") {
  const std::string psk = "LOOKUP-MARKER-0123456789";
  const int copies = freed_copies_of(psk, [&] {
    Sources sources;
    ConfigBuilder server(Role::server);
    server.random(sources.server_random)
        .clock(sources.clock)
        .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
        .psk_lookup([&](std::string_view) -> std::optional<std::vector<uint8_t>> {
          return std::vector<uint8_t>(psk.begin(), psk.end());
        });
    ConfigBuilder client(Role::client);
    client.random(sources.client_random)
        .clock(sources.clock)
        .versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
        .psk("device-17", ByteView(psk));
    Pair pair = connect(build_or_fail(client), build_or_fail(server));
    CHECK(pair.handshake());
  });
  CHECK(copies == 0);
}

TEST_CASE("a private key and its passphrase are wiped from the builder", "[secrets]") {
  // The PEM body's first line is random base64: a marker only the key has.
  const std::string& pem = pki().ecdsa_leaf.key.private_key_pem;
  const size_t body = pem.find('\n') + 1;
  const std::string key_marker = pem.substr(body, 24);
  const std::string passphrase = "PASSPHRASE-MARKER-456789";
  for (const std::string& marker : {key_marker, passphrase}) {
    const int copies = freed_copies_of(marker, [&] {
      Sources sources;
      ConfigBuilder builder = server_builder(sources);
      builder.certificate(ecdsa_chain_pem(), pem, passphrase);  // unencrypted: passphrase unused
      ConfigBuilder copy = builder;
      auto config = copy.build();
      REQUIRE(config);
    });
    CHECK(copies == 0);
  }
}

TEST_CASE("ticket keys are wiped when the last holder lets go", "[secrets]") {
  const std::string marker = "TICKETKEY-MARKER-0123456";
  std::string bytes = marker + marker;  // 48 bytes: one key
  const int copies = freed_copies_of(marker, [&] {
    auto keys = TicketKeys::from_bytes(ByteView(bytes));
    REQUIRE(keys);
    CHECK(keys.value()->to_bytes().size() == TicketKeys::kKeyBytes);
  });
  // to_bytes() hands the caller a copy; that one is the caller's to wipe.
  CHECK(copies <= 1);
  const int kept = freed_copies_of(marker, [&] {
    auto keys = TicketKeys::from_bytes(ByteView(bytes));
    REQUIRE(keys);
  });
  CHECK(kept == 0);
}
