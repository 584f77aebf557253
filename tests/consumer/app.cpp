// A consumer of the C++ libraries: a TLS 1.3 PSK handshake in memory and one
// message, through <sanstls/sanstls.h> and <sanstls/platform.h> only.
// Prints "consumer c++: ... ok".
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sanstls/platform.h"
#include "sanstls/sanstls.h"
#include "sanstls/version.h"

using namespace sanstls;

namespace {
size_t transfer(Connection& from, Connection& to) {
  const size_t taken = to.feed(from.pending_output());
  from.consume_output(taken);
  return taken;
}
}  // namespace

int main() {
  const std::vector<uint8_t> key(32, 7);
  auto client_config = ConfigBuilder(Role::client)
                           .random(platform::os_random())
                           .clock(platform::system_clock())
                           .psk("consumer", ByteView(key))
                           .build();
  auto server_config =
      ConfigBuilder(Role::server)
          .random(platform::os_random())
          .clock(platform::system_clock())
          .psk_lookup([&key](std::string_view identity) -> std::optional<std::vector<uint8_t>> {
            if (identity == "consumer") return key;
            return std::nullopt;
          })
          .build();
  if (!client_config.ok() || !server_config.ok()) {
    std::printf("consumer c++: config failed\n");
    return 1;
  }
  auto client = Connection::client(client_config.value(), "consumer.local");
  auto server = Connection::server(server_config.value());
  if (!client.ok() || !server.ok()) return 1;
  for (int rounds = 0; rounds < 20; ++rounds) {
    if (transfer(client.value(), server.value()) + transfer(server.value(), client.value()) == 0)
      break;
  }
  client->write(ByteView("hello"));
  transfer(client.value(), server.value());
  uint8_t buffer[16];
  const size_t n = server->read(MutableByteView(buffer, sizeof buffer));
  const bool ok = n == 5 && std::memcmp(buffer, "hello", 5) == 0 && client->error().ok() &&
                  std::strcmp(server->info().protocol, "TLSv1.3") == 0;
  std::printf("consumer c++: sanstls %s, %s: %s\n", SANSTLS_VERSION, server->info().protocol,
              ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
