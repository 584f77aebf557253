#include "output_queue.h"

#include <cstdlib>
#include <cstring>

namespace sanstls::detail {

OutputQueue::~OutputQueue() { release(); }

void OutputQueue::release() noexcept {
  if (buffer_ == nullptr) return;
  if (account_ != nullptr) account_->on_free(capacity_);
  std::free(buffer_);  // ciphertext only: nothing secret to wipe
  buffer_ = nullptr;
  last_capacity_ = capacity_;
  capacity_ = 0;
  head_ = tail_ = 0;
}

bool OutputQueue::make_room(size_t n) noexcept {
  if (n > free_space()) return false;
  if (capacity_ - tail_ >= n) return true;
  if (head_ > 0) {  // slide pending bytes to the front first
    std::memmove(buffer_, buffer_ + head_, tail_ - head_);
    tail_ -= head_;
    head_ = 0;
    if (capacity_ - tail_ >= n) return true;
  }
  size_t wanted = capacity_ != 0 ? capacity_ * 2 : last_capacity_ != 0 ? last_capacity_ : 4096;
  while (wanted < tail_ + n) wanted *= 2;
  if (wanted > limit_) wanted = limit_;
  over_memory_limit_ = false;
  if (account_ != nullptr && !account_->may_allocate(wanted - capacity_)) {
    wanted = tail_ + n;  // the least that fits, under a memory cap
    if (!account_->may_allocate(wanted - capacity_)) {
      over_memory_limit_ = true;
      return false;
    }
  }
  auto* grown = static_cast<uint8_t*>(std::realloc(buffer_, wanted));
  if (grown == nullptr) return false;
  if (account_ != nullptr) account_->on_alloc(wanted - capacity_);
  buffer_ = grown;
  capacity_ = wanted;
  return true;
}

bool OutputQueue::append(ByteView bytes) noexcept {
  if (bytes.empty()) return true;
  if (!make_room(bytes.size())) return false;
  std::memcpy(buffer_ + tail_, bytes.data(), bytes.size());
  tail_ += bytes.size();
  return true;
}

void OutputQueue::consume(size_t n) noexcept {
  if (n > size()) n = size();
  head_ += n;
  if (head_ == tail_) release();
}

}  // namespace sanstls::detail
