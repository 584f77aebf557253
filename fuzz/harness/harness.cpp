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
    case 0:
      fixed->name = "server: TLS 1.2-1.3";
      break;
    case 1:
      fixed->name = "server: TLS 1.2 only";
      b.versions(TlsVersion::tls1_2, TlsVersion::tls1_2);
      break;
    case 2:
      fixed->name = "server: TLS 1.3 only";
      b.versions(TlsVersion::tls1_3, TlsVersion::tls1_3);
      break;
    case 3:
      fixed->name = "server: ALPN h2,http/1.1";
      b.alpn({"h2", "http/1.1"});
      break;
    case 4:
      fixed->name = "server: client certificate optional";
      b.trust_anchors(p.root_pem).peer_verification(PeerVerification::optional);
      break;
    case 5:
      fixed->name = "server: client certificate required";
      b.trust_anchors(p.root_pem).peer_verification(PeerVerification::required);
      break;
    case 6:
      fixed->name = "server: TLS 1.2, ECDSA + RSA identities";
      b.versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
          .certificate(p.server_rsa.certificate_pem, p.server_rsa.key.private_key_pem);
      break;
    default:
      fixed->name = "server: TLS 1.3, P-256 only (HelloRetryRequest), ALPN, cert required";
      b.versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
          .groups("P-256")
          .alpn({"h2"})
          .trust_anchors(p.root_pem)
          .peer_verification(PeerVerification::required);
      break;
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
    case 0:
      fixed->name = "client: TLS 1.2-1.3, verify";
      break;
    case 1:
      fixed->name = "client: TLS 1.2 only";
      b.versions(TlsVersion::tls1_2, TlsVersion::tls1_2);
      break;
    case 2:
      fixed->name = "client: TLS 1.3 only";
      b.versions(TlsVersion::tls1_3, TlsVersion::tls1_3);
      break;
    case 3:
      fixed->name = "client: ALPN h2,http/1.1";
      b.alpn({"h2", "http/1.1"});
      break;
    case 4:
      fixed->name = "client: with a client certificate";
      b.certificate(p.client.certificate_pem, p.client.key.private_key_pem);
      break;
    case 5:
      fixed->name = "client: no verification, no server name";
      b.peer_verification(PeerVerification::none);
      break;
    case 6:
      fixed->name = "client: TLS 1.2, ALPN, client certificate";
      b.versions(TlsVersion::tls1_2, TlsVersion::tls1_2)
          .alpn({"http/1.1"})
          .certificate(p.client.certificate_pem, p.client.key.private_key_pem);
      break;
    default:
      fixed->name = "client: TLS 1.3, X25519 share first (HRR), ALPN, client certificate";
      b.versions(TlsVersion::tls1_3, TlsVersion::tls1_3)
          .groups("X25519:P-256")
          .alpn({"h2"})
          .certificate(p.client.certificate_pem, p.client.key.private_key_pem);
      break;
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

}  // namespace

void poke_after_error(Connection& conn, ByteView more, ContractCheck& contract) {
  if (conn.error().ok()) return;
  // Every call is a no-op now: nothing taken, nothing accepted, no new output.
  contract.feed(conn, more.empty() ? ByteView("\x16\x03\x03\x00\x01\x01") : more);
  contract.write(conn, ByteView("after the error"));
  contract.close(conn);
  contract.transport_eof(conn);
  contract.on_timer(conn, kNowMs + 3600 * 1000);
  drain(conn, nullptr, nullptr, &contract);
}

void run_handshake(Connection& conn, Input& in, uint8_t mode) {
  ContractCheck contract;
  contract.observe(conn);
  drain(conn, nullptr, nullptr, &contract);  // the client's ClientHello: the peer "already has it"
  const ByteView peer_bytes = in.rest();
  feed_all(conn, peer_bytes, mode & kModeChunkMask, nullptr, &contract);
  if ((mode & kModeWriteClose) != 0 && conn.wants().handshake_complete) {
    contract.write(conn, ByteView("fuzz"));
    drain(conn, nullptr, nullptr, &contract);
    contract.close(conn);
    drain(conn, nullptr, nullptr, &contract);
  }
  if ((mode & kModeEof) != 0) {
    contract.transport_eof(conn);
    drain(conn, nullptr, nullptr, &contract);
  }
  poke_after_error(conn, peer_bytes, contract);
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
  if (selector % kClientConfigs == 5)
    return must(Connection::client_without_server_name(*fixed.config));
  return must(Connection::client(*fixed.config, "localhost"));
}

Result<Connection> new_client_with_session(uint8_t selector, ByteView blob) {
  Fixed& fixed = client_fixed(selector);
  fixed.reset();
  return Connection::client(*fixed.config, "localhost", blob);
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

void ContractCheck::observe(const Connection& conn) {
  const MemoryUsage memory = conn.memory();
  check(memory.current_bytes <= memory.peak_bytes);
  check(memory.peak_bytes <= kMaxConnectionMemory);

  const Readiness r = conn.wants();
  const ByteView pending = conn.pending_output();
  check(r.has_output == !pending.empty());
  if (r.can_write) check(r.handshake_complete && !r.write_closed);
  if (r.has_plaintext) check(r.handshake_complete);

  const ErrorCode code = conn.error().code();
  if (failed_) check(code == first_error_);  // sticky
  if (code != ErrorCode::none) {
    // Plaintext decrypted before the error may still be read (connection.h).
    check(r.closed && r.read_closed && r.write_closed && !r.can_write);
    if (!failed_) {
      failed_ = true;
      first_error_ = code;
      produced_at_error_ = consumed_ + pending.size();
    }
    // What was queued up to the failure may be flushed; nothing is added.
    check(consumed_ + pending.size() == produced_at_error_);
  }
}

size_t ContractCheck::feed(Connection& conn, ByteView bytes) {
  const bool failed_before = !conn.error().ok();
  const size_t taken = conn.feed(bytes);
  check(taken <= bytes.size());
  if (failed_before) check(taken == 0);
  observe(conn);
  return taken;
}

size_t ContractCheck::write(Connection& conn, ByteView bytes) {
  const Readiness before = conn.wants();
  const bool failed_before = !conn.error().ok();
  const size_t accepted = conn.write(bytes);
  check(accepted <= bytes.size());
  if (!before.can_write || failed_before) check(accepted == 0);
  if (before.can_write && !bytes.empty() && accepted == 0) check(!conn.error().ok());
  observe(conn);
  return accepted;
}

size_t ContractCheck::read(Connection& conn, MutableByteView buffer) {
  const Readiness before = conn.wants();
  const size_t n = conn.read(buffer);
  check(n <= buffer.size());
  if (before.has_plaintext && !buffer.empty()) check(n > 0 || !conn.error().ok());
  observe(conn);
  return n;
}

std::optional<Event> ContractCheck::next_event(Connection& conn) {
  std::optional<Event> e = conn.next_event();
  if (e) {
    check(e->count >= 1);
    const Readiness r = conn.wants();
    if (e->kind == EventKind::handshake_complete) {
      check(r.handshake_complete);
      check(!handshake_event_);  // reported once
      handshake_event_ = true;
    }
    if (e->kind == EventKind::peer_closed) check(r.read_closed);
  }
  observe(conn);
  return e;
}

void ContractCheck::consume_output(Connection& conn, size_t n) {
  const size_t pending = conn.pending_output().size();
  conn.consume_output(n);
  consumed_ += n < pending ? n : pending;
  // Consuming may let the engine queue more (a close_notify or a handshake
  // flight waiting for room), never lose what was not consumed.
  check(conn.pending_output().size() >= pending - (n < pending ? n : pending));
  observe(conn);
}

void ContractCheck::close(Connection& conn) {
  conn.close();
  observe(conn);
}

void ContractCheck::transport_eof(Connection& conn) {
  conn.transport_eof();
  observe(conn);
}

void ContractCheck::on_timer(Connection& conn, int64_t now_ms) {
  conn.on_timer(now_ms);
  observe(conn);
}

bool drain(Connection& conn, std::vector<uint8_t>* output, std::vector<uint8_t>* plaintext,
           ContractCheck* contract) {
  ContractCheck unchecked;  // used when the caller keeps no check across calls
  ContractCheck& c = contract != nullptr ? *contract : unchecked;
  bool moved = false;
  for (int guard = 0; guard < 64; ++guard) {
    bool step = false;
    const ByteView out = conn.pending_output();
    if (!out.empty()) {
      if (output != nullptr) output->insert(output->end(), out.begin(), out.end());
      c.consume_output(conn, out.size());
      step = true;
    }
    uint8_t buffer[4096];
    size_t n;
    while ((n = c.read(conn, MutableByteView(buffer, sizeof buffer))) > 0) {
      if (plaintext != nullptr) plaintext->insert(plaintext->end(), buffer, buffer + n);
      step = true;
    }
    while (c.next_event(conn)) step = true;
    if (!step) break;
    moved = true;
  }
  return moved;
}

void feed_all(Connection& conn, ByteView bytes, size_t chunk, std::vector<uint8_t>* output,
              ContractCheck* contract) {
  ContractCheck unchecked;
  ContractCheck& c = contract != nullptr ? *contract : unchecked;
  size_t at = 0;
  while (at < bytes.size()) {
    const size_t offer = chunk == 0 ? bytes.size() - at : std::min(chunk, bytes.size() - at);
    const size_t taken = c.feed(conn, bytes.skip(at).first(offer));
    at += taken;
    const bool moved = drain(conn, output, nullptr, contract);
    if (taken == 0 && !moved) break;
  }
  drain(conn, output, nullptr, contract);
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
