// The per-thread context of one engine call. mbedTLS calls its allocator,
// clock and (in deterministic builds) PSA RNG through global C hooks with no
// user pointer; the engine sets this scope around every call so those hooks
// reach the right Connection's memory account, clock and random source.
// It is call-scoped, restored on exit, and never shared between threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>

#include "sanstls/sources.h"

namespace sanstls::detail {

// Heap accounting for one owner (a Connection or a Config). Allocations
// remember their account, so a block freed after its owner died (a global
// PSA structure grown during a call) still finds a live account: the owner
// detaches and the account deletes itself when its last block is freed.
class MemoryAccount {
 public:
  static MemoryAccount* create();
  // Called by the owner when it is destroyed.
  void detach();

  void on_alloc(size_t bytes) noexcept;
  // 0: no limit. Set once, before the owner allocates through the account.
  void set_limit(size_t bytes) noexcept { limit_ = bytes; }
  bool may_allocate(size_t bytes) const noexcept {
    return limit_ == 0 || current() + bytes <= limit_;
  }
  void on_free(size_t bytes) noexcept;

  size_t current() const noexcept { return state_.load(std::memory_order_relaxed) & ~kAttached; }
  size_t peak() const noexcept { return peak_.load(std::memory_order_relaxed); }

 private:
  MemoryAccount() = default;
  // The owner's attachment and the bytes held share one atomic word, so
  // exactly one thread sees it reach zero (detached, nothing held) and
  // deletes the account; no thread touches it after that.
  static constexpr size_t kAttached = ~(~size_t(0) >> 1);
  std::atomic<size_t> state_{kAttached};
  std::atomic<size_t> peak_{0};
  size_t limit_ = 0;
};

struct ClientHelloFacts;

struct CallContext {
  MemoryAccount* account = nullptr;
  Clock* clock = nullptr;
  RandomSource* random = nullptr;
  // The server name of the connection being driven (binds tickets to it).
  const std::string* server_name = nullptr;
  // Servers: the ClientHello being answered, once the engine has read it
  // (ticket callbacks need to know whether 0-RTT is offered).
  const ClientHelloFacts* client_hello = nullptr;
};

class CallScope {
 public:
  CallScope(MemoryAccount* account, Clock* clock, RandomSource* random,
            const std::string* server_name = nullptr) noexcept;
  ~CallScope();
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  CallContext saved_;
};

const CallContext& current_call_context() noexcept;
// The size of a block mbedTLS allocated through our hook (0 for null).
size_t allocated_size(const void* block) noexcept;
// For the rest of the current call (CallScope restores the previous context).
void set_call_client_hello(const ClientHelloFacts* hello) noexcept;

}  // namespace sanstls::detail
