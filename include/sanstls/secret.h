// SecretBytes: an owned copy of key material (a private key, its passphrase,
// a PSK) that is wiped whenever it is released: on destruction, on
// assignment, and before any reallocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sanstls/bytes.h"

namespace sanstls {

// Overwrites `size` bytes at `data` with zeros in a way the compiler may not
// elide (the bytes are about to be freed, which would let it).
inline void secure_wipe(void* data, size_t size) noexcept {
  volatile uint8_t* p = static_cast<volatile uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) p[i] = 0;
}

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(ByteView bytes) { assign(bytes); }
  SecretBytes(const SecretBytes& other) { assign(other.view()); }
  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {}
  SecretBytes& operator=(const SecretBytes& other) {
    if (this != &other) assign(other.view());
    return *this;
  }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      clear();
      bytes_ = std::move(other.bytes_);
    }
    return *this;
  }
  ~SecretBytes() { clear(); }

  // Replaces the contents; the old ones are wiped first. Sized exactly, so
  // no copy is left behind by a growing buffer.
  void assign(ByteView bytes) {
    clear();
    std::vector<uint8_t> fresh;
    fresh.reserve(bytes.size());
    fresh.assign(bytes.begin(), bytes.end());
    bytes_.swap(fresh);
  }
  void clear() noexcept {
    secure_wipe(bytes_.data(), bytes_.capacity());
    bytes_.clear();
  }

  ByteView view() const noexcept { return ByteView(bytes_); }
  const uint8_t* data() const noexcept { return bytes_.data(); }
  size_t size() const noexcept { return bytes_.size(); }
  bool empty() const noexcept { return bytes_.empty(); }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace sanstls
