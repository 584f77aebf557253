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
const char* server_config_name(uint8_t selector);
const char* client_config_name(uint8_t selector);
// Moves every configuration's clock forward (reset again by new_*()).
void advance_clocks(uint32_t ms);
// The client configuration that completes a handshake with server config
// `selector`, and the other way round (used by the corpus generator).
uint8_t client_for_server(uint8_t selector);
uint8_t server_for_client(uint8_t selector);

// Moves everything the connection has for us: output (appended to `output`
// when not null, else dropped), plaintext (appended to `plaintext`) and events.
// Returns true if anything moved.
bool drain(Connection& conn, std::vector<uint8_t>* output = nullptr,
           std::vector<uint8_t>* plaintext = nullptr);

// Feeds `bytes` `chunk` at a time (0: as much as the engine takes), draining
// between feeds (output appended to `output` when not null, else dropped),
// until all is taken or the engine stops taking.
void feed_all(Connection& conn, ByteView bytes, size_t chunk,
              std::vector<uint8_t>* output = nullptr);

// The target bodies (LLVMFuzzerTestOneInput of each target).
int run_server(const uint8_t* data, size_t size);
int run_client(const uint8_t* data, size_t size);
int run_records(const uint8_t* data, size_t size);
int run_api(const uint8_t* data, size_t size);
int run_loaders(const uint8_t* data, size_t size);

// fuzz_records: whether the in-memory handshake with the raw mbedTLS peer
// completes for this header byte (the corpus generator checks it).
bool records_handshake_works(uint8_t header);

}  // namespace sanstls::fuzz
