// A bounded reader over untrusted bytes: every read checks the remaining
// length, and a failed read poisons the cursor so callers check once at the end.
#pragma once

#include <cstdint>

#include "sanstls/bytes.h"

namespace sanstls::detail {

class Cursor {
 public:
  explicit Cursor(ByteView bytes) noexcept : rest_(bytes) {}

  bool ok() const noexcept { return ok_; }
  size_t remaining() const noexcept { return rest_.size(); }
  bool at_end() const noexcept { return rest_.empty(); }

  uint8_t u8() noexcept { return static_cast<uint8_t>(read_be(1)); }
  uint16_t u16() noexcept { return static_cast<uint16_t>(read_be(2)); }
  uint32_t u24() noexcept { return read_be(3); }

  ByteView bytes(size_t n) noexcept {
    if (!ok_ || n > rest_.size()) return fail();
    ByteView out = rest_.first(n);
    rest_ = rest_.skip(n);
    return out;
  }
  // TLS vectors with a 1-, 2- or 3-byte length prefix.
  ByteView vector8() noexcept { return bytes(u8()); }
  ByteView vector16() noexcept { return bytes(u16()); }
  ByteView vector24() noexcept { return bytes(u24()); }

 private:
  uint32_t read_be(size_t n) noexcept {
    if (!ok_ || n > rest_.size()) {
      fail();
      return 0;
    }
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | rest_[i];
    rest_ = rest_.skip(n);
    return v;
  }
  ByteView fail() noexcept {
    ok_ = false;
    rest_ = ByteView();
    return ByteView();
  }

  ByteView rest_;
  bool ok_ = true;
};

}  // namespace sanstls::detail
