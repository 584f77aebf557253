// fuzz_loaders: ConfigBuilder's parsers with arbitrary bytes: certificate
// chains, private keys (with passphrases), trust anchors (PEM or DER), and
// the cipher-suite, group and ALPN lists.
//
// Input: [mode][len u16][field A][len u16][field B][field C = the rest].
//   mode % 6: 0 trust_anchors(A), trust_anchors(B)   (client)
//             1 certificate(chain A, key B, passphrase C)   (server)
//             2 certificate(chain A, real key)   (server)
//             3 certificate(real chain, key A, passphrase B)   (server)
//             4 cipher_suites(A), groups(B), alpn(C split at ',')   (client)
//             5 certificate(chain A, key B) + trust_anchors(C)   (client)
#include <string>
#include <vector>

#include "harness/harness.h"

namespace sanstls::fuzz {
namespace {

SeededRandom& loader_random() {
  static SeededRandom random(4242);
  return random;
}

ManualClock& loader_clock() {
  static ManualClock clock(kNowMs);
  return clock;
}

std::vector<std::string> split_alpn(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size() && out.size() < 16) {
    const size_t comma = text.find(',', start);
    const size_t end = comma == std::string_view::npos ? text.size() : comma;
    out.emplace_back(text.substr(start, end - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

int run_loaders(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t mode = in.u8() % 6;
  const ByteView a = in.take(in.u16());
  const ByteView b = in.take(in.u16());
  const ByteView c = in.rest();
  const FuzzPki& p = pki();

  loader_random() = SeededRandom(4242);
  const bool server = mode >= 1 && mode <= 3;
  ConfigBuilder builder(server ? Role::server : Role::client);
  builder.random(loader_random()).clock(loader_clock());
  switch (mode) {
    case 0:
      builder.trust_anchors(a).trust_anchors(b);
      break;
    case 1:
      builder.certificate(a, b, c.as_text());
      break;
    case 2:
      builder.certificate(a, p.server_ecdsa.key.private_key_pem);
      break;
    case 3:
      builder.certificate(p.server_ecdsa.certificate_pem, a, b.as_text());
      break;
    case 4:
      builder.trust_anchors(p.root_pem)
          .cipher_suites(a.as_text())
          .groups(b.as_text())
          .alpn(split_alpn(c.as_text()));
      break;
    default:
      builder.certificate(a, b).trust_anchors(c);
      break;
  }
  auto config = builder.build();
  if (config) {
    (void)config->cipher_suite_names();
    (void)config->group_names();
    (void)config->memory_bytes();
  } else {
    (void)config.error().name();
  }
  return 0;
}

}  // namespace sanstls::fuzz
