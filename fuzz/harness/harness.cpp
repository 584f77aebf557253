// PKI, fixed configurations, and the server/client handshake targets.
#include "harness/harness.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>

namespace sanstls::fuzz {
namespace {

testing::Identity must(std::optional<testing::Identity> identity, const testing::Pki& maker) {
  if (!identity) {
    std::fprintf(stderr, "fuzz harness: test PKI failed: %s\n", maker.last_error().c_str());
    std::abort();
  }
  return *identity;
}

FuzzPki make_pki() {
  testing::Pki maker(20260601);
  FuzzPki p;
  testing::CertificateSpec ca;
  ca.is_ca = true;
  ca.common_name = "sanstls fuzz root";
  p.root = must(maker.self_signed(ca), maker);
  testing::CertificateSpec leaf;
  leaf.common_name = "localhost";
  leaf.dns_names = {"localhost"};
  leaf.ip_addresses = {"127.0.0.1"};
  p.server_ecdsa = must(maker.issue(p.root, leaf), maker);
  leaf.key_type = testing::KeyType::rsa2048;
  p.server_rsa = must(maker.issue(p.root, leaf), maker);
  testing::CertificateSpec client;
  client.common_name = "client.example";
  client.dns_names = {"client.example"};
  p.client = must(maker.issue(p.root, client), maker);
  p.root_pem = p.root.certificate_pem;
  return p;
}

// A Config together with the sources it was built over; reset() rewinds them.
struct Fixed {
  ManualClock clock{kNowMs};
  SeededRandom random;
  uint64_t seed;
  std::optional<Config> config;
  const char* name = "";

  explicit Fixed(uint64_t s) : random(s), seed(s) {}
  void reset() {
    clock.set_ms(kNowMs);
    random = SeededRandom(seed);
  }
};

Config build(const ConfigBuilder& builder, const char* name) {
  auto config = builder.build();
  if (!config) {
    std::fprintf(stderr, "fuzz harness: config %s: %s: %s\n", name, config.error().name(),
                 config.error().message());
    std::abort();
  }
  return config.value();
}

std::unique_ptr<Fixed> make_server_config(uint8_t index) {
  const FuzzPki& p = pki();
  auto fixed = std::make_unique<Fixed>(1000 + index);
  ConfigBuilder b(Role::server);
  b.random(fixed->random).clock(fixed->clock);
  b.certificate(p.server_ecdsa.certificate_pem, p.server_ecdsa.key.private_key_pem);
  switch (index) {
    case 0: fixed->name = "server: TLS 1.2-1.3"; break;
    case 1: fixed->name = "server: TLS 1.2 only";
      b.versions(TlsVersion::tls1_2, TlsVersion::tls1_2); break;
    case 2: fixed->name = "server: TLS 1.3 only";
      b.versions(TlsVersion::tls1_3, TlsVersion::tls1_3); break;
    case 3: fixed->name = "server: ALPN h2,http/1.1";
      b.alpn({"h2", "http/1.1"}); break;
    case 4: fixed->name = "server: client certificate optional";
      b.trust_anchors(p.root_pem).peer_verification(PeerVerification::optional); break;
    case 5: fixed->name = "server: client certificate required";
      b.trust_anchors(p.root_pem).peer_verification(PeerVerification::required); break;
    case 6: fixed->name = "server: TLS 1.2, ECDSA + RSA identities";
      b.versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
          .certificate(p.server_rsa.certificate_pem, p.server_rsa.key.private_key_pem); break;
    default: fixed->name = "server: TLS 1.3, P-256 only (HelloRetryRequest), ALPN, cert required";
      b.versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
          .groups("P-256")
          .alpn({"h2"})
          .trust_anchors(p.root_pem)
          .peer_verification(PeerVerification::required); break;
  }
  fixed->config = build(b, fixed->name);
  return fixed;
}

std::unique_ptr<Fixed> make_client_config(uint8_t index) {
  const FuzzPki& p = pki();
  auto fixed = std::make_unique<Fixed>(2000 + index);
  ConfigBuilder b(Role::client);
  b.random(fixed->random).clock(fixed->clock).trust_anchors(p.root_pem);
  switch (index) {
    case 0: fixed->name = "client: TLS 1.2-1.3, verify"; break;
    case 1: fixed->name = "client: TLS 1.2 only";
      b.versions(TlsVersion::tls1_2, TlsVersion::tls1_2); break;
    case 2: fixed->name = "client: TLS 1.3 only";
      b.versions(TlsVersion::tls1_3, TlsVersion::tls1_3); break;
    case 3: fixed->name = "client: ALPN h2,http/1.1";
      b.alpn({"h2", "http/1.1"}); break;
    case 4: fixed->name = "client: with a client certificate";
      b.certificate(p.client.certificate_pem, p.client.key.private_key_pem); break;
    case 5: fixed->name = "client: no verification, no server name";
      b.peer_verification(PeerVerification::none); break;
    case 6: fixed->name = "client: TLS 1.2, ALPN, client certificate";
      b.versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
          .alpn({"http/1.1"})
          .certificate(p.client.certificate_pem, p.client.key.private_key_pem); break;
    default: fixed->name = "client: TLS 1.3, X25519 share first (HRR), ALPN, client certificate";
      b.versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
          .groups("X25519:P-256")
          .alpn({"h2"})
          .certificate(p.client.certificate_pem, p.client.key.private_key_pem); break;
  }
  fixed->config = build(b, fixed->name);
  return fixed;
}

std::array<std::unique_ptr<Fixed>, kServerConfigs> server_configs;
std::array<std::unique_ptr<Fixed>, kClientConfigs> client_configs;

Fixed& server_fixed(uint8_t selector) {
  auto& configs = server_configs;
  const uint8_t index = selector % kServerConfigs;
  if (!configs[index]) configs[index] = make_server_config(index);
  return *configs[index];
}

Fixed& client_fixed(uint8_t selector) {
  auto& configs = client_configs;
  const uint8_t index = selector % kClientConfigs;
  if (!configs[index]) configs[index] = make_client_config(index);
  return *configs[index];
}

Connection must(Result<Connection> connection) {
  if (!connection) {
    std::fprintf(stderr, "fuzz harness: connection: %s\n", connection.error().message());
    std::abort();
  }
  return std::move(connection).value();
}

// Shared by run_server and run_client: [selector][mode][peer bytes].
void run_handshake(Connection& conn, Input& in, uint8_t mode) {
  drain(conn);  // the client's ClientHello: the peer "already has it"
  feed_all(conn, in.rest(), mode & kModeChunkMask);
  if ((mode & kModeWriteClose) != 0 && conn.wants().handshake_complete) {
    conn.write(ByteView("fuzz"));
    drain(conn);
    conn.close();
    drain(conn);
  }
  if ((mode & kModeEof) != 0) {
    conn.transport_eof();
    drain(conn);
  }
  static const bool debug = std::getenv("SANSTLS_FUZZ_DEBUG") != nullptr;
  if (debug) {
    std::fprintf(stderr, "handshake %s, %s, error %s\n",
                 conn.wants().handshake_complete ? "complete" : "incomplete", conn.info().protocol,
                 conn.error().name());
  }
  // Touch what a caller would look at afterwards.
  (void)conn.info().protocol;
  (void)conn.memory();
  (void)conn.save_session();
}

}  // namespace

const FuzzPki& pki() {
  static const FuzzPki instance = make_pki();
  return instance;
}

Connection new_server(uint8_t selector) {
  Fixed& fixed = server_fixed(selector);
  fixed.reset();
  return must(Connection::server(*fixed.config));
}

Connection new_client(uint8_t selector) {
  Fixed& fixed = client_fixed(selector);
  fixed.reset();
  if (selector % kClientConfigs == 5) return must(Connection::client_without_server_name(*fixed.config));
  return must(Connection::client(*fixed.config, "localhost"));
}

const char* server_config_name(uint8_t selector) { return server_fixed(selector).name; }
const char* client_config_name(uint8_t selector) { return client_fixed(selector).name; }

void advance_clocks(uint32_t ms) {
  for (auto& fixed : server_configs) {
    if (fixed) fixed->clock.advance_ms(ms);
  }
  for (auto& fixed : client_configs) {
    if (fixed) fixed->clock.advance_ms(ms);
  }
}

uint8_t client_for_server(uint8_t selector) {
  static constexpr uint8_t kMap[kServerConfigs] = {0, 1, 2, 3, 4, 4, 0, 7};
  return kMap[selector % kServerConfigs];
}

uint8_t server_for_client(uint8_t selector) {
  static constexpr uint8_t kMap[kClientConfigs] = {0, 1, 2, 3, 5, 0, 5, 7};
  return kMap[selector % kClientConfigs];
}

bool drain(Connection& conn, std::vector<uint8_t>* output, std::vector<uint8_t>* plaintext) {
  bool moved = false;
  for (int guard = 0; guard < 64; ++guard) {
    bool step = false;
    const ByteView out = conn.pending_output();
    if (!out.empty()) {
      if (output != nullptr) output->insert(output->end(), out.begin(), out.end());
      conn.consume_output(out.size());
      step = true;
    }
    uint8_t buffer[4096];
    size_t n;
    while ((n = conn.read(MutableByteView(buffer, sizeof buffer))) > 0) {
      if (plaintext != nullptr) plaintext->insert(plaintext->end(), buffer, buffer + n);
      step = true;
    }
    while (conn.next_event()) step = true;
    if (!step) break;
    moved = true;
  }
  return moved;
}

void feed_all(Connection& conn, ByteView bytes, size_t chunk, std::vector<uint8_t>* output) {
  size_t at = 0;
  while (at < bytes.size()) {
    const size_t offer = chunk == 0 ? bytes.size() - at : std::min(chunk, bytes.size() - at);
    const size_t taken = conn.feed(bytes.skip(at).first(offer));
    if (taken > offer) __builtin_trap();  // the engine took more than it was offered
    at += taken;
    const bool moved = drain(conn, output);
    if (taken == 0 && !moved) break;
  }
  drain(conn, output);
}

int run_server(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t selector = in.u8();
  const uint8_t mode = in.u8();
  Connection conn = new_server(selector);
  run_handshake(conn, in, mode);
  return 0;
}

int run_client(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t selector = in.u8();
  const uint8_t mode = in.u8();
  Connection conn = new_client(selector);
  run_handshake(conn, in, mode);
  return 0;
}

}  // namespace sanstls::fuzz
