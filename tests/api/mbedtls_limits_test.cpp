// What a user meets at mbedTLS 3.6's own limits (docs/limitations.md): the
// failure is named, as early as it can be, never a hang or a silent close.
#include <catch2/catch_test_macros.hpp>
#include <string>

#include "support/expect.h"
#include "support/fixtures.h"
#include "support/pair.h"

using namespace sanstls;
using namespace sanstls::test;

TEST_CASE("a chain whose Certificate message exceeds 16 KiB is refused when the Config is built",
          "[limits]") {
  Sources sources;
  // mbedTLS writes a handshake message in one 16 KiB buffer; without this
  // check the handshake failed with ERR_TLS_INTERNAL ("a buffer is too small").
  const std::string inter = testing::chain_pem({&pki().ecdsa_inter});
  std::string chain = ecdsa_chain_pem();
  for (int i = 0; i < 40; ++i) chain += inter;
  ConfigBuilder server(Role::server);
  server.random(sources.server_random).clock(sources.clock)
      .certificate(chain, pki().ecdsa_leaf.key.private_key_pem);
  auto built = server.build();
  REQUIRE_FALSE(built);
  expect_error(built.error(), "ERR_INVALID_ARG_VALUE", Stage::config);
  CHECK(std::string(built.error().message()).find("Certificate message") != std::string::npos);
  // The same holds for a client's own certificate.
  ConfigBuilder client = client_builder(sources);
  client.certificate(chain, pki().ecdsa_leaf.key.private_key_pem);
  CHECK_FALSE(client.build());
}
