// A TLS client and server in one process, talking through two byte vectors
// instead of sockets. (The README shows this file; the build compiles it.)
#include <cstdio>
#include <vector>

#include "sanstls/platform.h"
#include "sanstls/sanstls.h"
#include "sanstls/testing/pki.h"  // throwaway certificates for tests and demos

using namespace sanstls;

// One direction of the "network": from's pending output goes into to.feed().
void transfer(Connection& from, Connection& to, std::vector<uint8_t>& wire) {
  ByteView out = from.pending_output();  // valid until the next call on `from`
  wire.insert(wire.end(), out.begin(), out.end());
  from.consume_output(out.size());
  size_t taken = to.feed(wire);  // may take less: keep the rest for later
  wire.erase(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(taken));
}

int main() {
  testing::CertificateSpec spec;
  spec.dns_names = {"localhost"};
  auto id = testing::Pki().self_signed(spec);  // self-signed, trusted as is below
  if (!id) return 1;
  auto client_config = ConfigBuilder(Role::client)
                           .trust_anchors(id->certificate_pem)
                           .random(platform::os_random())
                           .clock(platform::system_clock())
                           .build();
  auto server_config = ConfigBuilder(Role::server)
                           .certificate(id->certificate_pem, id->key.private_key_pem)
                           .random(platform::os_random())
                           .clock(platform::system_clock())
                           .build();
  if (!client_config || !server_config) return 1;
  auto client = Connection::client(client_config.value(), "localhost");
  auto server = Connection::server(server_config.value());

  std::vector<uint8_t> to_server, to_client;
  bool sent = false;
  for (int round = 0; round < 10 && !server->wants().has_plaintext; ++round) {
    transfer(client.value(), server.value(), to_server);
    transfer(server.value(), client.value(), to_client);
    if (!sent && client->wants().can_write) sent = client->write("hello over TLS") > 0;
  }
  char text[64];
  size_t n = server->read(MutableByteView(text, sizeof text));
  const Error& error = client->error() ? client->error() : server->error();
  if (error) return std::printf("%s: %s\n", error.name(), error.message()), 1;
  std::printf("%s %s: the server read \"%.*s\"\n", client->info().protocol,
              client->info().cipher.standard_name, static_cast<int>(n), text);
}
