// Writes seed corpora for every fuzz target from real in-memory handshakes
// of our engine (both versions, every fixed configuration of the harness),
// split at flight boundaries, plus hand-built op sequences for fuzz_records
// and fuzz_api, real PEM/DER inputs for fuzz_loaders, real saved sessions
// (and their resumptions) for fuzz_sessions, keys/tickets for fuzz_ticketkeys
// and proxy replies for fuzz_connect_reply.
//
//   fuzz_make_corpus OUTPUT-DIR     writes OUTPUT-DIR/<target>/<name>
//
// Run it from a SANSTLS_DETERMINISTIC build (scripts/make-fuzz-corpus.sh does):
// the fuzzed connection is made exactly as the target makes it, so the
// recorded peer flights stay valid for it, TLS 1.3 included.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "harness/harness.h"

using namespace sanstls;
using namespace sanstls::fuzz;

namespace {

using Bytes = std::vector<uint8_t>;
std::filesystem::path g_out;
size_t g_written = 0;

void write_seed(const char* target, const std::string& name, const Bytes& bytes) {
  const std::filesystem::path dir = g_out / target;
  std::filesystem::create_directories(dir);
  std::ofstream file(dir / name, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  if (!file) {
    std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name.c_str());
    std::exit(1);
  }
  ++g_written;
}

void append(Bytes& to, ByteView bytes) { to.insert(to.end(), bytes.begin(), bytes.end()); }
void append_u16(Bytes& to, size_t v) {
  to.push_back(static_cast<uint8_t>(v >> 8));
  to.push_back(static_cast<uint8_t>(v));
}

// A live pair; returns the flights the peer sent to `target_side`.
struct Recording {
  std::vector<Bytes> flights;  // peer -> fuzzed connection, one per flight
  bool handshake_ok = false;
};

Recording record(Connection& target, Connection& peer, bool target_is_client) {
  Recording rec;
  Connection& client = target_is_client ? target : peer;
  Connection& server = target_is_client ? peer : target;
  int phase = 0;     // 0 handshake, 1 data sent, 2 closed
  Bytes pending[2];  // output of client, server not yet delivered
  for (int round = 0; round < 64; ++round) {
    bool moved = false;
    for (int side = 0; side < 2; ++side) {
      Connection& from = side == 0 ? client : server;
      Connection& to = side == 0 ? server : client;
      drain(from, &pending[side]);
      if (pending[side].empty()) continue;
      moved = true;
      const Bytes out = std::move(pending[side]);
      pending[side].clear();
      if (&from == &peer) rec.flights.push_back(out);
      feed_all(to, ByteView(out), 0, &pending[1 - side]);
    }
    if (moved) continue;
    if (phase == 0) {
      rec.handshake_ok = client.wants().handshake_complete && server.wants().handshake_complete &&
                         client.error().ok() && server.error().ok();
      if (!rec.handshake_ok) {
        std::printf("  client: %s (%s), server: %s (%s)\n", client.error().name(),
                    client.error().message(), server.error().name(), server.error().message());
        break;
      }
      client.write(ByteView("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
      server.write(ByteView("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"));
      phase = 1;
    } else if (phase == 1) {
      peer.close();
      target.close();
      phase = 2;
    } else {
      break;
    }
  }
  return rec;
}

void handshake_seeds(const char* target_name, uint8_t selector, const Recording& rec) {
  Bytes stream;
  char name[96];
  for (size_t k = 0; k < rec.flights.size(); ++k) {
    append(stream, ByteView(rec.flights[k]));
    Bytes seed = {selector, 0};
    append(seed, ByteView(stream));
    std::snprintf(name, sizeof name, "cfg%u-flights%zu", selector, k + 1);
    write_seed(target_name, name, seed);
  }
  const uint8_t modes[] = {kModeWriteClose, kModeEof, 1, 7, kModeWriteClose | 5};
  for (uint8_t mode : modes) {
    Bytes seed = {selector, mode};
    append(seed, ByteView(stream));
    std::snprintf(name, sizeof name, "cfg%u-all-mode%02x", selector, mode);
    write_seed(target_name, name, seed);
  }
}

void server_and_client_corpora() {
  for (uint8_t i = 0; i < kServerConfigs; ++i) {
    Connection target = new_server(i);
    Connection peer = new_client(client_for_server(i));
    const Recording rec = record(target, peer, false);
    std::printf("server cfg%u (%s): %zu flights, handshake %s\n", i, server_config_name(i),
                rec.flights.size(), rec.handshake_ok ? "ok" : "FAILED");
    if (!rec.handshake_ok) std::exit(1);
    handshake_seeds("server", i, rec);
  }
  for (uint8_t i = 0; i < kClientConfigs; ++i) {
    {
      // The fuzzed client's exact ClientHello, for openssl_captures.py.
      Connection hello_only = new_client(i);
      const ByteView hello = hello_only.pending_output();
      const std::filesystem::path dir = g_out.parent_path() / "clienthellos";
      std::filesystem::create_directories(dir);
      std::ofstream file(dir / ("cfg" + std::to_string(i) + ".bin"),
                         std::ios::binary | std::ios::trunc);
      file.write(reinterpret_cast<const char*>(hello.data()),
                 static_cast<std::streamsize>(hello.size()));
    }
    Connection target = new_client(i);
    Connection peer = new_server(server_for_client(i));
    const Recording rec = record(target, peer, true);
    std::printf("client cfg%u (%s): %zu flights, handshake %s\n", i, client_config_name(i),
                rec.flights.size(), rec.handshake_ok ? "ok" : "FAILED");
    if (!rec.handshake_ok) std::exit(1);
    handshake_seeds("client", i, rec);
  }
}

// ---- fuzz_records: op sequences (see fuzz/harness/records.cpp)
Bytes protected_record(uint8_t type, const Bytes& payload) {
  Bytes op = {0, type};
  append_u16(op, payload.size());
  append(op, ByteView(payload));
  return op;
}

Bytes new_session_ticket() {
  Bytes body = {0x00, 0x00, 0x1c, 0x20,  // lifetime 7200 s
                0x01, 0x02, 0x03, 0x04,  // age_add
                0x01, 0x00,              // nonce
                0x00, 0x10};             // ticket length 16
  for (int i = 0; i < 16; ++i) body.push_back(static_cast<uint8_t>(i));
  body.push_back(0x00);  // extensions
  body.push_back(0x00);
  Bytes msg = {4, 0, 0, static_cast<uint8_t>(body.size())};
  append(msg, ByteView(body));
  return msg;
}

void records_corpus() {
  const std::vector<std::pair<const char*, Bytes>> ops = {
      {"handshake-only", {}},
      {"appdata", protected_record(23, {'h', 'e', 'l', 'l', 'o'})},
      {"empty-appdata", protected_record(23, {})},
      {"alert-close-notify", protected_record(21, {1, 0})},
      {"alert-warning-unknown", protected_record(21, {1, 90})},
      {"alert-fatal", protected_record(21, {2, 40})},
      {"alert-short", protected_record(21, {1})},
      {"nst", protected_record(22, new_session_ticket())},
      {"nst-twice",
       [] {
         Bytes b = protected_record(22, new_session_ticket());
         append(b, ByteView(protected_record(22, new_session_ticket())));
         return b;
       }()},
      {"handshake-garbage", protected_record(22, {99, 0, 0, 2, 1, 2})},
      {"ccs", protected_record(20, {1})},
      {"unknown-type", protected_record(24, {1, 2, 3})},
      {"key-update", {7, 0}},
      {"key-update-requested", {7, 1}},
      {"hello-request", {7, 2}},
      {"peer-close", {7, 3}},
      {"peer-data", {3, 0x01, 0x00}},
      {"peer-data-large", {3, 0x4e, 0x20}},
      {"mutated-data", {2, 0x00, 0x08, 0x01, 3, 0x00, 0x40}},
      {"mutated-header", {2, 0x00, 0x00, 0x10, 3, 0x00, 0x40}},
      {"raw-plaintext-record", {1, 10, 23, 3, 3, 0, 5, 'h', 'e', 'l', 'l', 'o'}},
      {"engine-data", {4, 0x00, 0xc8, 3, 0x00, 0x20}},
      {"engine-close", {3, 0x00, 0x10, 5, 0, 7, 3}},
      {"engine-eof", {3, 0x00, 0x10, 5, 1}},
      {"clock-then-data", {6, 0xff, 0xff, 3, 0x00, 0x10}},
  };
  for (uint8_t header = 0; header < 4; ++header) {
    if (!records_handshake_works(header)) {
      std::printf("records header %u: handshake FAILED\n", header);
      std::exit(1);
    }
    for (const auto& [name, body] : ops) {
      Bytes seed = {header};
      append(seed, ByteView(body));
      write_seed("records", std::string("h") + std::to_string(header) + "-" + name, seed);
    }
  }
  std::printf("records: %zu sequences x 4 headers\n", ops.size());
}

// ---- fuzz_api: op sequences (see fuzz/harness/api.cpp)
void api_corpus() {
  // op, side, args...
  const std::vector<std::pair<const char*, Bytes>> ops = {
      {"pump", {9, 0}},
      {"exchange", {9, 0, 2, 0, 0x01, 0x00, 2, 1, 0x00, 0x80, 9, 0, 3, 1, 255, 3, 0, 255, 9, 0}},
      {"stepwise", {0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,    1,    1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1,
                    0, 0, 1, 1, 0, 6, 0, 6, 1, 2, 0, 0x00, 0x10, 0, 0, 0, 1, 1, 0, 3, 1, 3, 6, 1}},
      {"small-feeds", {0, 0, 0, 1, 1, 7, 1, 1, 7, 1, 1, 7, 9, 0, 2, 0, 0x00, 0x20, 9, 0, 3, 1, 0}},
      {"bulk", {9, 0, 2, 0, 0x9c, 0x40, 2, 0, 0x9c, 0x40, 9, 0, 3, 1, 255, 9, 0, 9, 0}},
      {"close", {9, 0, 2, 0, 0x00, 0x10, 4, 0, 9, 0, 6, 1, 4, 1, 9, 0}},
      {"eof", {9, 0, 2, 1, 0x00, 0x10, 0, 1, 0, 1, 0, 0, 5, 0, 3, 0, 10, 9, 0}},
      {"corrupt", {9, 0, 2, 0, 0x00, 0x10, 0, 0, 0, 7, 1, 0x00, 0x09, 0x01, 9, 0}},
      {"close-before-handshake", {4, 0, 9, 0}},
      {"clock", {8, 0, 0xff, 0xff, 9, 0}},
  };
  for (uint8_t pair = 0; pair < 6; ++pair) {
    for (const auto& [name, body] : ops) {
      Bytes seed = {pair};
      append(seed, ByteView(body));
      write_seed("api", std::string("p") + std::to_string(pair) + "-" + name, seed);
    }
  }
}

// ---- fuzz_loaders: [mode][u16 len A][A][u16 len B][B][C]
Bytes loader(uint8_t mode, ByteView a, ByteView b = {}, ByteView c = {}) {
  Bytes seed = {mode};
  append_u16(seed, a.size());
  append(seed, a);
  append_u16(seed, b.size());
  append(seed, b);
  append(seed, c);
  return seed;
}

void loaders_corpus() {
  const FuzzPki& p = pki();
  const auto& leaf = p.server_ecdsa;
  const auto& rsa = p.server_rsa;
  const std::string chain = testing::chain_pem({&leaf, &p.root});
  const auto pkcs8_pem = testing::pkcs8_private_key_pem(leaf.key);
  const auto pkcs8_der = testing::pkcs8_private_key_der(leaf.key);
  const auto rsa_pkcs8 = testing::pkcs8_private_key_pem(rsa.key);
  std::vector<std::pair<std::string, Bytes>> seeds = {
      {"anchors-pem", loader(0, p.root_pem)},
      {"anchors-der", loader(0, p.root.certificate_der)},
      {"anchors-two", loader(0, p.root_pem, rsa.certificate_pem)},
      {"identity-ec-pem", loader(1, leaf.certificate_pem, leaf.key.private_key_pem)},
      {"identity-ec-der", loader(1, leaf.certificate_der, leaf.key.private_key_der)},
      {"identity-rsa-pem", loader(1, rsa.certificate_pem, rsa.key.private_key_pem)},
      {"identity-rsa-der", loader(1, rsa.certificate_der, rsa.key.private_key_der)},
      {"identity-mismatch", loader(1, leaf.certificate_pem, rsa.key.private_key_pem)},
      {"chain-pem", loader(2, chain)},
      {"chain-der", loader(2, leaf.certificate_der)},
      {"key-ec-pem", loader(3, leaf.key.private_key_pem)},
      {"key-ec-der", loader(3, leaf.key.private_key_der)},
      {"lists", loader(4, "TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256",
                       "X25519:P-256,secp384r1", "h2,http/1.1")},
      {"lists-openssl", loader(4, "ECDHE-RSA-CHACHA20-POLY1305,TLS_CHACHA20_POLY1305_SHA256",
                               "prime256v1:X448:P-521", "")},
      {"client-identity",
       loader(5, p.client.certificate_pem, p.client.key.private_key_pem, p.root_pem)},
  };
  if (pkcs8_pem) seeds.push_back({"key-pkcs8-pem", loader(3, *pkcs8_pem)});
  if (pkcs8_der) seeds.push_back({"key-pkcs8-der", loader(3, *pkcs8_der)});
  if (rsa_pkcs8)
    seeds.push_back({"identity-rsa-pkcs8", loader(1, rsa.certificate_pem, *rsa_pkcs8)});
  std::string error;
  if (auto encrypted = testing::encrypt_private_key_pem_with_openssl(leaf.key.private_key_pem,
                                                                     "fuzz-passphrase", &error)) {
    seeds.push_back({"key-encrypted", loader(3, *encrypted, "fuzz-passphrase")});
    seeds.push_back({"key-encrypted-wrong", loader(3, *encrypted, "wrong")});
    seeds.push_back({"key-encrypted-none", loader(3, *encrypted)});
  } else {
    std::printf("loaders: no encrypted key seed (%s)\n", error.c_str());
  }
  for (const auto& [name, seed] : seeds) write_seed("loaders", name, seed);
}

// ---- fuzz_sessions: [config][u16 len][blob][mode][server bytes]; and, for
// fuzz_server, resuming ClientHellos (the server opens and parses the ticket).
void sessions_corpus() {
  size_t written = 0;
  for (uint8_t i = 0; i < kClientConfigs; ++i) {
    Bytes blob;
    {
      Connection client = new_client(i);
      Connection server = new_server(server_for_client(i));
      const Recording rec = record(client, server, true);
      auto saved = client.save_session();
      if (!rec.handshake_ok || !saved) {
        std::printf("sessions cfg%u: no session (%s)\n", i,
                    saved ? "handshake failed" : saved.error().name());
        continue;
      }
      blob = saved.value();
    }
    const uint8_t server_selector = server_for_client(i);
    auto resuming = new_client_with_session(i, ByteView(blob));
    if (!resuming) {
      // Config 5 saves a session without a server name: not for "localhost".
      std::printf("sessions cfg%u: blob refused: %s\n", i, resuming.error().name());
      continue;
    }
    Connection client = std::move(resuming).value();
    Connection server = new_server(server_selector);
    const Recording rec = record(client, server, true);
    Bytes stream;
    for (const Bytes& flight : rec.flights) append(stream, ByteView(flight));
    const uint8_t modes[] = {0, kModeWriteClose, kModeEof | 3};
    for (uint8_t mode : modes) {
      Bytes seed = {i};
      append_u16(seed, blob.size());
      append(seed, ByteView(blob));
      seed.push_back(mode);
      append(seed, ByteView(stream));
      char name[64];
      std::snprintf(name, sizeof name, "cfg%u-resume-mode%02x", i, mode);
      write_seed("sessions", name, seed);
      ++written;
    }
    {
      Bytes seed = {i};
      append_u16(seed, blob.size());
      append(seed, ByteView(blob));
      write_seed("sessions", "cfg" + std::to_string(i) + "-blob-only", seed);
      ++written;
    }
    // The same resumption seen from the server: the client's flights.
    Connection server_target = new_server(server_selector);
    auto client_again = new_client_with_session(i, ByteView(blob));
    if (client_again) {
      Connection peer = std::move(client_again).value();
      const Recording srec = record(server_target, peer, false);
      Bytes sstream;
      for (const Bytes& flight : srec.flights) append(sstream, ByteView(flight));
      Bytes seed = {server_selector, 0};
      append(seed, ByteView(sstream));
      write_seed(
          "server",
          "cfg" + std::to_string(server_selector) + "-resume-from-client" + std::to_string(i),
          seed);
    }
    std::printf("sessions cfg%u: %zu-byte blob, resumption %s\n", i, blob.size(),
                rec.handshake_ok ? "ok" : "FAILED");
  }
  // Blobs that are not sessions.
  const std::vector<std::pair<const char*, Bytes>> junk = {
      {"empty", {0, 0, 0}},
      {"short", {0, 0, 4, 's', 'n', 's', 't'}},
      {"zeros",
       [] {
         Bytes b = {2, 0x01, 0x00};
         b.resize(3 + 256, 0);
         return b;
       }()},
  };
  for (const auto& [name, seed] : junk) write_seed("sessions", std::string("junk-") + name, seed);
  std::printf("sessions: %zu seeds from real sessions\n", written);
}

// ---- fuzz_ticketkeys: [u16 len][keys][ticket]
void ticketkeys_corpus() {
  SeededRandom random(99);
  auto one = TicketKeys::generate(random);
  if (!one) std::exit(1);
  const Bytes key48 = one.value()->to_bytes();
  one.value()->rotate(random);
  const Bytes key96 = one.value()->to_bytes();
  Bytes sealed;
  one.value()->seal(ByteView("a session"), random, sealed);
  auto seed = [](const Bytes& keys, ByteView ticket) {
    Bytes b;
    append_u16(b, keys.size());
    append(b, ByteView(keys));
    append(b, ticket);
    return b;
  };
  write_seed("ticketkeys", "one-key", seed(key48, ByteView("plaintext")));
  write_seed("ticketkeys", "two-keys", seed(key96, ByteView("")));
  write_seed("ticketkeys", "two-keys-sealed-ticket", seed(key96, ByteView(sealed)));
  write_seed("ticketkeys", "short-keys",
             seed(Bytes(key48.begin(), key48.end() - 1), ByteView("x")));
  write_seed("ticketkeys", "long-keys", seed(Bytes(97, 0x5a), ByteView("x")));
}

// ---- fuzz_connect_reply: [mode][proxy bytes]
void connect_reply_corpus() {
  const std::string tls("\x16\x03\x03\x00\x02\x01\x00", 7);
  const struct {
    const char* name;
    uint8_t mode;
    std::string reply;
  } seeds[] = {
      {"200-tls", 0, "HTTP/1.1 200 Connection established\r\n\r\n" + tls},
      {"200-bytewise", 1, "HTTP/1.1 200 Connection established\r\nVia: 1.1 p\r\n\r\n" + tls},
      {"200-bare-lf", 3, "HTTP/1.0 200 OK\nProxy-Agent: x\n\n" + tls},
      {"100-then-200", 7, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n" + tls},
      {"200-content-length", 0, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"},
      {"403", 2, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"},
      {"407", 5,
       "HTTP/1.1 407 Proxy Authentication Required\r\n"
       "Proxy-Authenticate: Basic realm=\"proxy\"\r\n\r\n"},
      {"502-early", kModeWriteClose, "HTTP/1.1 502 Bad Gateway\r\n\r\n"},
      {"truncated-eof", kModeEof, "HTTP/1.1 200 OK\r\nVia: x\r\n"},
      {"not-http", 0, std::string("\x15\x03\x03\x00\x02\x02\x28", 7)},
      {"obs-fold", 0, "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n"},
  };
  for (const auto& s : seeds) {
    Bytes b = {s.mode};
    append(b, ByteView(s.reply));
    write_seed("connect_reply", s.name, b);
  }
}

// ---- fuzz_connect_request: [mode][client bytes]
void connect_request_corpus() {
  const std::string hello("\x16\x03\x01\x00\x02\x01\x00", 7);
  const struct {
    const char* name;
    uint8_t mode;
    std::string request;
  } seeds[] = {
      {"connect", 0, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"},
      {"connect-pipelined", 1, "CONNECT 127.0.0.1:8443 HTTP/1.1\r\n\r\n" + hello},
      {"connect-v6", 3, "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n"},
      {"connect-basic", 5,
       "CONNECT a.example:443 HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n"},
      {"connect-bare-lf", 2, "CONNECT a:1 HTTP/1.0\nUser-Agent: x\n\n"},
      {"get", 0, "GET http://example.com/ HTTP/1.1\r\n\r\n"},
      {"tls", 0, hello},
      {"port-0", 0, "CONNECT a:0 HTTP/1.1\r\n\r\n"},
      {"truncated-eof", kModeEof, "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n"},
      {"obs-fold", 0, "CONNECT a:443 HTTP/1.1\r\nA: b\r\n c\r\n\r\n"},
  };
  for (const auto& s : seeds) {
    Bytes b = {s.mode};
    append(b, ByteView(s.request));
    write_seed("connect_request", s.name, b);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT-DIR\n", argv[0]);
    return 2;
  }
  g_out = std::filesystem::absolute(argv[1]).lexically_normal();
  if (!g_out.has_filename()) g_out = g_out.parent_path();
  server_and_client_corpora();
  records_corpus();
  api_corpus();
  loaders_corpus();
  sessions_corpus();
  ticketkeys_corpus();
  connect_reply_corpus();
  connect_request_corpus();
  std::printf("wrote %zu seeds under %s\n", g_written, g_out.c_str());
  return 0;
}
