// The sanstls engine pair: two Connections, ciphertext handed from one's
// pending_output() straight to the other's feed() (no intermediate copy, the
// way a sans-I/O caller sends from the engine's view).
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "sanstls/platform.h"
#include "sanstls/sanstls.h"
#include "support.h"

namespace bench {
namespace {

using namespace sanstls;

const char* suite_string(const Case& c) {
  if (c.version == 13)
    return c.suite == Suite::aes128gcm ? "TLS_AES_128_GCM_SHA256" : "TLS_CHACHA20_POLY1305_SHA256";
  if (c.key == Key::ecdsa)
    return c.suite == Suite::aes128gcm ? "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
                                       : "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256";
  return c.suite == Suite::aes128gcm ? "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
                                     : "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256";
}

// TLS 1.2 (RFC 8422): the groups also gate the ECDSA certificate's curve, so
// an X25519 TLS 1.2 client offers X25519 first and P-256 second (as real
// clients do); the key exchange still uses X25519.
const char* group_string(const Case& c) {
  if (c.group == Group::p256) return "P-256";
  return c.version == 12 ? "X25519:P-256" : "X25519";
}

const char* sigalg_string(const Case& c) {
  if (c.key == Key::ecdsa) return "ecdsa_secp256r1_sha256";
  return c.version == 13 ? "rsa_pss_rsae_sha256:rsa_pkcs1_sha256" : "rsa_pkcs1_sha256";
}

uint8_t g_scratch[16384];
uint8_t g_payload[65536];

class SanstlsPair final : public Pair {
 public:
  SanstlsPair(Connection c, Connection s) : c_(std::move(c)), s_(std::move(s)) {}

  bool handshake() override {
    pump();
    return c_.wants().handshake_complete && s_.wants().handshake_complete && c_.error().ok() &&
           s_.error().ok();
  }
  bool resumed() const override { return c_.info().session_reused && s_.info().session_reused; }

  bool transfer(size_t bytes, size_t chunk, bool both) override {
    Flow a{0, 0, 0}, b{0, 0, 0};
    for (int guard = 0; guard < 10000000; ++guard) {
      bool progress = false;
      g_side = 0;
      progress |= write_some(c_, a, bytes, chunk);
      if (both) {
        g_side = 1;
        progress |= write_some(s_, b, bytes, chunk);
      }
      progress |= move(c_, s_, 0, 1);
      progress |= move(s_, c_, 1, 0);
      g_side = 1;
      progress |= read_all(s_, a);
      g_side = 0;
      progress |= read_all(c_, b);
      g_side = 2;
      if (a.received == bytes && (!both || b.received == bytes)) return true;
      if (!progress) {
        if (std::getenv("BENCH_DEBUG") != nullptr) {
          Readiness rc = c_.wants(), rs = s_.wants();
          std::fprintf(stderr,
                       "stall: a{w=%zu r=%zu} b{w=%zu r=%zu} c{out=%zu wi=%d hp=%d cw=%d err=%s} "
                       "s{out=%zu wi=%d hp=%d cw=%d err=%s}\n",
                       a.written, a.received, b.written, b.received, c_.pending_output().size(),
                       rc.wants_input, rc.has_plaintext, rc.can_write, c_.error().name(),
                       s_.pending_output().size(), rs.wants_input, rs.has_plaintext, rs.can_write,
                       s_.error().name());
        }
        return false;
      }
    }
    return false;
  }

  std::vector<size_t> engine_memory() const override {
    MemoryUsage c = c_.memory(), s = s_.memory();
    return {c.current_bytes, c.peak_bytes, s.current_bytes, s.peak_bytes};
  }

  Connection& client() { return c_; }

 private:
  struct Flow {
    size_t written, in_chunk, received;
  };

  static bool write_some(Connection& conn, Flow& f, size_t bytes, size_t chunk) {
    if (f.written >= bytes) return false;
    const size_t this_chunk = std::min(chunk, bytes - (f.written - f.in_chunk));
    size_t n = conn.write(ByteView(g_payload + f.in_chunk, this_chunk - f.in_chunk));
    if (n == 0) return false;
    f.written += n;
    f.in_chunk += n;
    if (f.in_chunk == this_chunk) f.in_chunk = 0;
    return true;
  }

  static bool read_all(Connection& conn, Flow& f) {
    bool progress = false;
    size_t n;
    while ((n = conn.read(MutableByteView(g_scratch, sizeof g_scratch))) > 0) {
      f.received += n;
      progress = true;
    }
    return progress;
  }

  // Ciphertext from `from` to `to`: straight from from's pending_output()
  // into to's feed(), without a copy. Only when `to` takes nothing (its own
  // output queue is full, so it refuses input: both sides writing at once
  // with neither reading) does the pending output go to `spill`, the way a
  // kernel socket buffer would hold it; `to` is then fed from there.
  static bool move(Connection& from, Connection& to, int from_side, int to_side,
                   std::vector<uint8_t>& spill, size_t& spill_at) {
    bool progress = false;
    if (spill_at < spill.size()) {
      g_side = to_side;
      size_t n = to.feed(ByteView(spill.data() + spill_at, spill.size() - spill_at));
      g_side = 2;
      spill_at += n;
      if (spill_at == spill.size()) spill.clear(), spill_at = 0;
      if (n == 0 && !spill.empty()) {
        // still blocked: keep collecting below
      } else {
        progress = n > 0;
      }
    }
    ByteView out = from.pending_output();
    if (out.empty()) return progress;
    size_t n = 0;
    if (spill.empty()) {
      g_side = to_side;
      n = to.feed(out);
    }
    if (n == 0) {  // `to` refuses (or is behind the spill): buffer like a socket
      spill.insert(spill.end(), out.begin(), out.end());
      n = out.size();
    }
    g_side = from_side;
    from.consume_output(n);
    g_side = 2;
    return true;
  }

  bool move(Connection& from, Connection& to, int from_side, int to_side) {
    return &from == &c_ ? move(from, to, from_side, to_side, spill_to_server_, spill_to_server_at_)
                        : move(from, to, from_side, to_side, spill_to_client_, spill_to_client_at_);
  }

  static bool drain_events(Connection& conn) {
    bool any = false;
    while (conn.next_event()) any = true;
    return any;
  }

  void pump() {  // handshakes
    for (int guard = 0; guard < 100000; ++guard) {
      bool progress = move(c_, s_, 0, 1);
      progress |= move(s_, c_, 1, 0);
      g_side = 0;
      progress |= drain_events(c_);
      g_side = 1;
      progress |= drain_events(s_);
      g_side = 2;
      if (!progress) return;
    }
  }

  Connection c_;
  Connection s_;
  std::vector<uint8_t> spill_to_server_, spill_to_client_;
  size_t spill_to_server_at_ = 0, spill_to_client_at_ = 0;
};

class SanstlsContext final : public Context {
 public:
  explicit SanstlsContext(const Case& c) : case_(c) {
    const Credentials& creds = credentials(c.key);
    const TlsVersion v = c.version == 13 ? TlsVersion::tls1_3 : TlsVersion::tls1_2;
    const uint32_t tickets = c.resume == Resume::ticket ? 1 : 0;
    ConfigBuilder cb(Role::client);
    cb.versions(v, v)
        .cipher_suites(suite_string(c))
        .groups(group_string(c))
        .signature_algorithms(sigalg_string(c))
        .trust_anchors(creds.ca_pem)
        .random(platform::os_random())
        .clock(platform::system_clock())
        .session_tickets(tickets);
    ConfigBuilder sb(Role::server);
    sb.versions(v, v)
        .cipher_suites(suite_string(c))
        .groups(group_string(c))
        .signature_algorithms(sigalg_string(c))
        .certificate(creds.leaf_pem, creds.key_pem)
        .random(platform::os_random())
        .clock(platform::system_clock())
        .session_tickets(tickets);
    if (c.resume == Resume::session_id) sb.session_store(make_memory_session_store(1024));
    auto client = cb.build();
    auto server = sb.build();
    if (!client || !server) {
      std::fprintf(stderr, "bench: sanstls config: %s %s\n", client ? "" : client.error().message(),
                   server ? "" : server.error().message());
      std::abort();
    }
    client_.emplace(client.value());
    server_.emplace(server.value());
  }

  std::unique_ptr<Pair> make_pair() override {
    g_side = 0;
    auto c = session_.empty() ? Connection::client(*client_, "localhost")
                              : Connection::client(*client_, "localhost", session_);
    g_side = 1;
    auto s = Connection::server(*server_);
    g_side = 2;
    if (!c || !s) return nullptr;
    return std::make_unique<SanstlsPair>(std::move(c.value()), std::move(s.value()));
  }

  bool prime() override {
    session_.clear();
    auto pair = make_pair();
    if (!pair || !pair->handshake()) return false;
    auto saved = static_cast<SanstlsPair&>(*pair).client().save_session();
    if (!saved) return false;
    session_ = saved.value();
    return true;
  }

 private:
  Case case_;
  std::optional<Config> client_;
  std::optional<Config> server_;
  std::vector<uint8_t> session_;
};

}  // namespace

std::unique_ptr<Context> make_sanstls_context(const Case& c) {
  return std::make_unique<SanstlsContext>(c);
}

}  // namespace bench
