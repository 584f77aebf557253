// fuzz_records: a deterministic in-memory handshake between our engine and a
// raw mbedTLS peer, then the input drives post-handshake traffic: records of
// any content type protected with the peer's real keys, raw bytes, mutations
// of protected records, application data both ways, close and EOF.
//
// Every engine call goes through the shared ContractCheck (harness.h): memory
// bounded, readiness and events consistent, sticky errors, no output after a
// fatal error (also poked with more calls once an error is set).
//
// Input: [header][op...]. header bit 0: engine role (0 client, 1 server);
// bit 1: version (0 TLS 1.3, 1 TLS 1.2). Ops are listed in RecordOp.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "call_scope.h"
#include "harness/harness.h"
#include "harness/raw_record_peer.h"

namespace sanstls::fuzz {
namespace {

enum RecordOp : uint8_t {
  kProtected = 0,   // type u8, length u16, payload: one record under the peer's keys
  kRaw = 1,         // length u8, bytes: fed to the engine as they are
  kMutate = 2,      // offset u16, xor u8: applied to the peer's next output
  kPeerData = 3,    // length u16: application data from the peer (mbedtls_ssl_write)
  kEngineData = 4,  // length u16: application data from the engine, read by the peer
  kClose = 5,       // u8 even: engine close(); odd: engine transport_eof()
  kClock = 6,       // u16 seconds forward
  kSpecial = 7,     // u8: well-formed KeyUpdate, HelloRequest, peer close_notify
  kOpCount = 8,
};

// Engine client configs with verification off (5) and a plain server (0):
// the peer does not verify either, so the handshake is cheap.
constexpr uint8_t kEngineClientConfig = 5;
constexpr uint8_t kEngineServerConfig = 0;

struct Session {
  Connection engine;
  ContractCheck contract;
  fuzz_peer* peer = nullptr;
  ManualClock peer_clock{kNowMs};
  SeededRandom peer_random{77};
  bool mutate = false;
  uint16_t mutate_offset = 0;
  uint8_t mutate_xor = 0;
  std::vector<uint8_t> engine_out;  // engine output not yet given to the peer

  Session(Connection conn) : engine(std::move(conn)) {}  // NOLINT
  ~Session() { fuzz_peer_free(peer); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Engine output to the peer.
  void engine_to_peer() {
    drain(engine, &engine_out, nullptr, &contract);
    if (!engine_out.empty()) fuzz_peer_feed(peer, engine_out.data(), engine_out.size());
    engine_out.clear();
  }
  // Peer output to the engine, after the pending mutation.
  void peer_to_engine() {
    size_t len = 0;
    const uint8_t* data = fuzz_peer_output(peer, &len);
    if (len == 0) return;
    std::vector<uint8_t> bytes(data, data + len);
    fuzz_peer_clear_output(peer);
    if (mutate) {
      bytes[mutate_offset % bytes.size()] ^= mutate_xor;
      mutate = false;
    }
    feed_all(engine, ByteView(bytes), 0, &engine_out, &contract);
  }
};

// Runs the handshake in memory; false if it does not complete.
bool handshake(Session& s, bool engine_server, bool tls13) {
  const FuzzPki& p = pki();
  s.peer =
      fuzz_peer_new(engine_server ? 0 : 1, tls13 ? 1 : 0, p.server_ecdsa.certificate_pem.c_str(),
                    p.server_ecdsa.key.private_key_pem.c_str());
  if (s.peer == nullptr) return false;
  for (int i = 0; i < 32; ++i) {
    s.engine_to_peer();
    int status;
    {
      // The peer's PSA randomness (TLS 1.3 key shares) comes from this scope
      // in deterministic builds.
      detail::CallScope scope(nullptr, &s.peer_clock, &s.peer_random);
      status = fuzz_peer_handshake(s.peer);
    }
    if (status < 0) {
      if (std::getenv("SANSTLS_FUZZ_DEBUG") != nullptr) {
        std::fprintf(stderr, "records: peer handshake failed: -0x%04x\n", -status);
      }
      return false;
    }
    s.peer_to_engine();
    if (!s.engine.error().ok()) {
      if (std::getenv("SANSTLS_FUZZ_DEBUG") != nullptr) {
        std::fprintf(stderr, "records: engine handshake failed: %s: %s\n", s.engine.error().name(),
                     s.engine.error().message());
      }
      return false;
    }
    if (status == 0 && s.engine.wants().handshake_complete) {
      s.engine_to_peer();
      return true;
    }
  }
  return false;
}

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> bytes(n);
  for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>('a' + i % 26);
  return bytes;
}

void run_op(Session& s, Input& in) {
  const uint8_t op = in.u8() % kOpCount;
  detail::CallScope scope(nullptr, &s.peer_clock, &s.peer_random);
  switch (op) {
    case kProtected: {
      const uint8_t type = in.u8();
      const size_t length = in.u16() % (fuzz_peer_max_payload() + 1);
      const ByteView payload = in.take(length);
      fuzz_peer_write_record(s.peer, type, payload.data(), payload.size());
      s.peer_to_engine();
      break;
    }
    case kRaw: {
      const ByteView bytes = in.take(in.u8());
      feed_all(s.engine, bytes, 0, &s.engine_out, &s.contract);
      break;
    }
    case kMutate:
      s.mutate_offset = in.u16();
      s.mutate_xor = in.u8();
      if (s.mutate_xor == 0) s.mutate_xor = 0x80;
      s.mutate = true;
      break;
    case kPeerData: {
      const std::vector<uint8_t> data = pattern(in.u16() % 20000 + 1);
      fuzz_peer_write(s.peer, data.data(), data.size());
      s.peer_to_engine();
      break;
    }
    case kEngineData: {
      const std::vector<uint8_t> data = pattern(in.u16() % 20000 + 1);
      size_t at = 0;
      for (int guard = 0; guard < 64 && at < data.size(); ++guard) {
        const size_t n = s.contract.write(s.engine, ByteView(data).skip(at));
        at += n;
        s.engine_to_peer();
        if (n == 0) break;
      }
      fuzz_peer_read_all(s.peer);
      s.peer_to_engine();
      break;
    }
    case kClose:
      if ((in.u8() & 1) == 0) {
        s.contract.close(s.engine);
      } else {
        s.contract.transport_eof(s.engine);
      }
      s.engine_to_peer();
      break;
    case kClock:
      s.peer_clock.advance_ms(int64_t{in.u16()} * 1000);
      break;
    default: {
      const uint8_t which = in.u8() % 4;
      if (which == 3) {
        fuzz_peer_close_notify(s.peer);
      } else if (which == 2) {
        const uint8_t hello_request[4] = {0, 0, 0, 0};
        fuzz_peer_write_record(s.peer, 22, hello_request, sizeof hello_request);
      } else {
        const uint8_t key_update[5] = {24, 0, 0, 1, which};
        fuzz_peer_write_record(s.peer, 22, key_update, sizeof key_update);
      }
      s.peer_to_engine();
      break;
    }
  }
}

}  // namespace

bool records_handshake_works(uint8_t header) {
  const bool engine_server = (header & 1) != 0;
  const bool tls13 = (header & 2) == 0;
  Session s(engine_server ? new_server(kEngineServerConfig) : new_client(kEngineClientConfig));
  return handshake(s, engine_server, tls13);
}

int run_records(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t header = in.u8();
  const bool engine_server = (header & 1) != 0;
  const bool tls13 = (header & 2) == 0;
  Session s(engine_server ? new_server(kEngineServerConfig) : new_client(kEngineClientConfig));
  if (!handshake(s, engine_server, tls13)) return 0;
  for (int ops = 0; ops < 256 && !in.empty(); ++ops) run_op(s, in);
  poke_after_error(s.engine, ByteView(), s.contract);
  (void)s.engine.info();
  return 0;
}

}  // namespace sanstls::fuzz
