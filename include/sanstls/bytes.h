// Small non-owning byte views for the C++17 API (no std::span before C++20).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sanstls {

// A read-only view of bytes owned by someone else. Valid only as long as the
// owner keeps the bytes alive and unchanged.
class ByteView {
 public:
  constexpr ByteView() noexcept = default;
  constexpr ByteView(const uint8_t* data, size_t size) noexcept : data_(data), size_(size) {}
  ByteView(const void* data, size_t size) noexcept
      : data_(static_cast<const uint8_t*>(data)), size_(size) {}
  // Text is bytes too (PEM, HTTP, test payloads).
  ByteView(std::string_view text) noexcept  // NOLINT(google-explicit-constructor)
      : data_(reinterpret_cast<const uint8_t*>(text.data())), size_(text.size()) {}
  ByteView(const std::string& text) noexcept  // NOLINT(google-explicit-constructor)
      : ByteView(std::string_view(text)) {}
  ByteView(const char* text) noexcept  // NOLINT(google-explicit-constructor)
      : ByteView(std::string_view(text)) {}
  ByteView(const std::vector<uint8_t>& bytes) noexcept  // NOLINT(google-explicit-constructor)
      : data_(bytes.data()), size_(bytes.size()) {}

  constexpr const uint8_t* data() const noexcept { return data_; }
  constexpr size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr const uint8_t* begin() const noexcept { return data_; }
  constexpr const uint8_t* end() const noexcept { return data_ + size_; }
  constexpr uint8_t operator[](size_t i) const noexcept { return data_[i]; }

  // Views past the first `n` bytes / of the first `n` bytes; `n` is clamped.
  constexpr ByteView skip(size_t n) const noexcept {
    return n >= size_ ? ByteView(data_ + size_, 0) : ByteView(data_ + n, size_ - n);
  }
  constexpr ByteView first(size_t n) const noexcept {
    return ByteView(data_, n < size_ ? n : size_);
  }
  std::string_view as_text() const noexcept {
    return std::string_view(reinterpret_cast<const char*>(data_), size_);
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// A writable view into a caller-owned buffer.
class MutableByteView {
 public:
  constexpr MutableByteView() noexcept = default;
  constexpr MutableByteView(uint8_t* data, size_t size) noexcept : data_(data), size_(size) {}
  MutableByteView(void* data, size_t size) noexcept
      : data_(static_cast<uint8_t*>(data)), size_(size) {}

  constexpr uint8_t* data() const noexcept { return data_; }
  constexpr size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr MutableByteView skip(size_t n) const noexcept {
    return n >= size_ ? MutableByteView(data_ + size_, 0) : MutableByteView(data_ + n, size_ - n);
  }
  constexpr operator ByteView() const noexcept { return ByteView(data_, size_); }  // NOLINT

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sanstls
