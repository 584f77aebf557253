// SeededRandom: the ChaCha20 block function (RFC 8439) as a deterministic
// stream keyed by a 64-bit seed. For tests and fuzzing only.
#include <cstring>

#include "sanstls/sources.h"

namespace sanstls {
namespace {

inline uint32_t rotl(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

inline void quarter_round(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d) {
  a += b;
  d ^= a;
  d = rotl(d, 16);
  c += d;
  b ^= c;
  b = rotl(b, 12);
  a += b;
  d ^= a;
  d = rotl(d, 8);
  c += d;
  b ^= c;
  b = rotl(b, 7);
}

void chacha20_block(const uint32_t key[8], uint64_t counter, uint8_t out[64]) {
  uint32_t state[16] = {0x61707865,
                        0x3320646e,
                        0x79622d32,
                        0x6b206574,
                        key[0],
                        key[1],
                        key[2],
                        key[3],
                        key[4],
                        key[5],
                        key[6],
                        key[7],
                        static_cast<uint32_t>(counter),
                        static_cast<uint32_t>(counter >> 32),
                        0,
                        0};
  uint32_t x[16];
  std::memcpy(x, state, sizeof x);
  for (int i = 0; i < 10; ++i) {
    quarter_round(x[0], x[4], x[8], x[12]);
    quarter_round(x[1], x[5], x[9], x[13]);
    quarter_round(x[2], x[6], x[10], x[14]);
    quarter_round(x[3], x[7], x[11], x[15]);
    quarter_round(x[0], x[5], x[10], x[15]);
    quarter_round(x[1], x[6], x[11], x[12]);
    quarter_round(x[2], x[7], x[8], x[13]);
    quarter_round(x[3], x[4], x[9], x[14]);
  }
  for (int i = 0; i < 16; ++i) {
    const uint32_t v = x[i] + state[i];
    out[4 * i] = static_cast<uint8_t>(v);
    out[4 * i + 1] = static_cast<uint8_t>(v >> 8);
    out[4 * i + 2] = static_cast<uint8_t>(v >> 16);
    out[4 * i + 3] = static_cast<uint8_t>(v >> 24);
  }
}

}  // namespace

SeededRandom::SeededRandom(uint64_t seed) noexcept {
  // Spread the seed over the key with splitmix64 so nearby seeds differ fully.
  uint64_t s = seed;
  for (int i = 0; i < 4; ++i) {
    s += 0x9e3779b97f4a7c15ULL;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    key_[2 * i] = static_cast<uint32_t>(z);
    key_[2 * i + 1] = static_cast<uint32_t>(z >> 32);
  }
  std::memset(block_, 0, sizeof block_);
}

bool SeededRandom::fill(MutableByteView out) noexcept {
  size_t done = 0;
  while (done < out.size()) {
    if (block_used_ == sizeof block_) {
      chacha20_block(key_, counter_++, block_);
      block_used_ = 0;
    }
    size_t n = sizeof block_ - block_used_;
    if (n > out.size() - done) n = out.size() - done;
    std::memcpy(out.data() + done, block_ + block_used_, n);
    block_used_ += n;
    done += n;
  }
  return true;
}

}  // namespace sanstls
