// The shared fuzzing harness. Every target in fuzz/targets/ is one line over
// a run_*() function here; the corpus generator (fuzz/corpus/make_corpus.cpp)
// uses the same connections, so its seeds are valid inputs for the targets.
//
// Determinism: every Connection is made from a process-wide Config whose
// SeededRandom and ManualClock are reset to fixed values before the
// connection is created, so the n-th input of a process behaves exactly like
// the first. In a SANSTLS_DETERMINISTIC build this includes TLS 1.3 key
// shares (PSA's RNG reads the injected RandomSource), so a recorded peer
// flight stays valid for the fuzzed connection. Certificates come from
// testing::Pki with a fixed seed, made once per process; no key is committed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sanstls/sanstls.h"
#include "sanstls/testing/pki.h"

namespace sanstls::fuzz {

// 2026-06-01T00:00:00Z, inside every certificate's validity.
constexpr int64_t kNowMs = 1780272000000LL;

constexpr uint8_t kServerConfigs = 8;
constexpr uint8_t kClientConfigs = 8;

// Handshake-target input: [config selector][mode][peer bytes...].
constexpr uint8_t kModeChunkMask = 0x3f;   // feed size, 0 = as much as accepted
constexpr uint8_t kModeWriteClose = 0x40;  // after the handshake: write, then close()
constexpr uint8_t kModeEof = 0x80;         // transport_eof() at the end

// Reads an input front to back; past the end it yields zeros.
class Input {
 public:
  Input(const uint8_t* data, size_t size) noexcept : data_(data), size_(size) {}
  bool empty() const noexcept { return at_ >= size_; }
  size_t remaining() const noexcept { return size_ - at_; }
  uint8_t u8() noexcept { return at_ < size_ ? data_[at_++] : 0; }
  uint16_t u16() noexcept {
    const uint16_t hi = u8();
    return static_cast<uint16_t>((hi << 8) | u8());
  }
  // Up to `n` bytes (fewer at the end).
  ByteView take(size_t n) noexcept {
    const size_t k = n < remaining() ? n : remaining();
    ByteView view(data_ + at_, k);
    at_ += k;
    return view;
  }
  ByteView rest() noexcept { return take(remaining()); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

struct FuzzPki {
  testing::Identity root;          // the only trust anchor
  testing::Identity server_ecdsa;  // localhost, ECDSA P-256, under root
  testing::Identity server_rsa;    // localhost, RSA-2048, under root
  testing::Identity client;        // client.example, ECDSA P-256, under root
  std::string root_pem;
};
// Made once per process from a fixed seed.
const FuzzPki& pki();

// Connections from fixed configurations (selector modulo the count). Both
// reset their Config's random source and clock first.
Connection new_server(uint8_t selector);
Connection new_client(uint8_t selector);
// A client of configuration `selector` (config 5 too: it names "localhost")
// offering `blob` as its saved session; the Result is the library's answer.
Result<Connection> new_client_with_session(uint8_t selector, ByteView blob);
const char* server_config_name(uint8_t selector);
const char* client_config_name(uint8_t selector);
// Moves every configuration's clock forward (reset again by new_*()).
void advance_clocks(uint32_t ms);
// The client configuration that completes a handshake with server config
// `selector`, and the other way round (used by the corpus generator).
uint8_t client_for_server(uint8_t selector);
uint8_t server_for_client(uint8_t selector);

// Traps (__builtin_trap()) when `condition` is false: a contract violation.
inline void check(bool condition) {
  if (!condition) __builtin_trap();
}

// Most heap one Connection of the harness may hold at once (memory().peak_bytes:
// mbedTLS allocations plus the output queue). The fixed configurations peak
// far below it; a leak or unbounded buffering across a fuzz input goes over.
constexpr size_t kMaxConnectionMemory = 1u << 20;

// The engine contract (include/sanstls/connection.h) for one Connection,
// checked after every call the harness makes on it; a violation traps.
//   - memory bounded: current <= peak <= kMaxConnectionMemory;
//   - readiness consistent: has_output == !pending_output().empty(); an error
//     means closed, read_closed, write_closed and !can_write; can_write means
//     handshake_complete and !write_closed; has_plaintext means
//     handshake_complete, and read() then returns data (or an error is set);
//     !can_write means write() accepts nothing; can_write and a non-empty
//     write() means bytes accepted or an error;
//   - errors sticky: the first error's code never changes; feed() and write()
//     take nothing once it is set; feed() never takes more than offered;
//   - no output after a fatal error: the bytes queued up to the failure (the
//     fatal alert) may still be flushed, but no byte is added afterwards,
//     whatever is fed, written or closed;
//   - events consistent: handshake_complete reported once and only when
//     wants().handshake_complete; peer_closed only when read_closed; count >= 1.
class ContractCheck {
 public:
  // After any call on `conn`.
  void observe(const Connection& conn);
  // Wrappers: make the call, check it, observe.
  size_t feed(Connection& conn, ByteView bytes);
  size_t write(Connection& conn, ByteView bytes);
  size_t read(Connection& conn, MutableByteView buffer);
  std::optional<Event> next_event(Connection& conn);
  void consume_output(Connection& conn, size_t n);
  void close(Connection& conn);
  void transport_eof(Connection& conn);
  void on_timer(Connection& conn, int64_t now_ms);

  uint64_t output_total() const noexcept { return consumed_; }

 private:
  ErrorCode first_error_ = ErrorCode::none;
  bool failed_ = false;
  uint64_t consumed_ = 0;           // bytes acknowledged with consume_output()
  uint64_t produced_at_error_ = 0;  // consumed_ + pending when the error appeared
  bool handshake_event_ = false;
};

// Moves everything the connection has for us: output (appended to `output`
// when not null, else dropped), plaintext (appended to `plaintext`) and events.
// Every call goes through `contract` when given. Returns true if anything moved.
bool drain(Connection& conn, std::vector<uint8_t>* output = nullptr,
           std::vector<uint8_t>* plaintext = nullptr, ContractCheck* contract = nullptr);

// Feeds `bytes` `chunk` at a time (0: as much as the engine takes), draining
// between feeds (output appended to `output` when not null, else dropped),
// until all is taken or the engine stops taking. Checked by `contract` when
// given (feed() taking more than offered traps in any case).
void feed_all(Connection& conn, ByteView bytes, size_t chunk,
              std::vector<uint8_t>* output = nullptr, ContractCheck* contract = nullptr);

// The handshake targets' body after the connection is made: the client's
// ClientHello is dropped (the peer "has it"), then the peer bytes (`in`'s
// rest) are fed per `mode` (kMode*), all under a ContractCheck.
void run_handshake(Connection& conn, Input& in, uint8_t mode);
// Once conn.error() is set: feed (`more`, or a record header when empty),
// write, close, transport_eof and on_timer, each checked to do nothing and
// to add no output.
void poke_after_error(Connection& conn, ByteView more, ContractCheck& contract);

// The target bodies (LLVMFuzzerTestOneInput of each target).
int run_server(const uint8_t* data, size_t size);
int run_client(const uint8_t* data, size_t size);
int run_records(const uint8_t* data, size_t size);
int run_api(const uint8_t* data, size_t size);
int run_loaders(const uint8_t* data, size_t size);
int run_sessions(const uint8_t* data, size_t size);
int run_ticketkeys(const uint8_t* data, size_t size);
int run_connect_reply(const uint8_t* data, size_t size);
int run_connect_request(const uint8_t* data, size_t size);

// fuzz_records: whether the in-memory handshake with the raw mbedTLS peer
// completes for this header byte (the corpus generator checks it).
bool records_handshake_works(uint8_t header);

}  // namespace sanstls::fuzz
