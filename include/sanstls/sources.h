// Injected randomness and time. The core never reads a clock or the OS
// entropy pool itself; it asks these interfaces. Default OS-backed sources
// live outside the core, in <sanstls/platform.h>.
#pragma once

#include <cstdint>

#include "sanstls/bytes.h"

namespace sanstls {

// Cryptographically secure random bytes. fill() is called from within engine
// calls (handshakes, Config::build) on the caller's thread; an implementation
// shared by Configs used on several threads must be thread-safe.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` completely; returns false if no randomness is available (the
  // engine then fails the operation with ERR_TLS_RANDOM_FAILED).
  virtual bool fill(MutableByteView out) noexcept = 0;
};

// Wall-clock time as milliseconds since the Unix epoch, UTC. Used for
// certificate validity, session ticket lifetimes and timers.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() noexcept = 0;
};

// A deterministic random source (ChaCha20 keyed by the seed). For tests and
// fuzzing only: same seed, same bytes. Never use it for real traffic.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed) noexcept;
  bool fill(MutableByteView out) noexcept override;

 private:
  uint32_t key_[8];
  uint64_t counter_ = 0;
  uint8_t block_[64];
  size_t block_used_ = 64;
};

// A clock that only moves when told to. For tests, fuzzing and simulations.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms) noexcept : now_(start_ms) {}
  int64_t now_ms() noexcept override { return now_; }
  void set_ms(int64_t ms) noexcept { now_ = ms; }
  void advance_ms(int64_t delta) noexcept { now_ += delta; }

 private:
  int64_t now_;
};

}  // namespace sanstls
