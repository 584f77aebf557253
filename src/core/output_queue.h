// Ciphertext waiting for the transport: one contiguous buffer that grows on
// demand up to a fixed limit, so pending_output() is a single view. The
// buffer is freed whenever the transport has taken everything (an idle
// connection holds none of it) and allocated again, at the size it last
// reached, by the next append.
#pragma once

#include <cstddef>
#include <cstdint>

#include "call_scope.h"
#include "sanstls/bytes.h"

namespace sanstls::detail {

class OutputQueue {
 public:
  OutputQueue(size_t limit, MemoryAccount* account) noexcept : limit_(limit), account_(account) {}
  ~OutputQueue();
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;

  ByteView pending() const noexcept { return ByteView(buffer_ + head_, tail_ - head_); }
  size_t size() const noexcept { return tail_ - head_; }
  size_t free_space() const noexcept { return limit_ - size(); }
  // Appends all of `bytes` or nothing (false: no room, or out of memory).
  bool append(ByteView bytes) noexcept;
  // The last append failed because the account's memory cap refused to
  // grow the buffer (not because the queue is full).
  bool over_memory_limit() const noexcept { return over_memory_limit_; }
  // The last `n` queued bytes, writable (to correct an unsent record), or
  // null when fewer are queued.
  uint8_t* tail(size_t n) noexcept { return n <= size() ? buffer_ + tail_ - n : nullptr; }
  // Drops the first `n` queued bytes; frees the buffer once none are left.
  void consume(size_t n) noexcept;
  // Bytes allocated for the buffer (0 while nothing is queued).
  size_t capacity() const noexcept { return capacity_; }
  // Takes back the last `n` queued bytes (a record not sent yet); false
  // when fewer are queued.
  bool drop_tail(size_t n) noexcept {
    if (n > size()) return false;
    tail_ -= n;
    return true;
  }

 private:
  bool make_room(size_t n) noexcept;
  void release() noexcept;

  size_t limit_;
  bool over_memory_limit_ = false;
  MemoryAccount* account_;
  uint8_t* buffer_ = nullptr;
  size_t capacity_ = 0;
  size_t last_capacity_ = 0;  // what the freed buffer had grown to: no regrowth per burst
  size_t head_ = 0;
  size_t tail_ = 0;
};

}  // namespace sanstls::detail
