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
  void on_free(size_t bytes) noexcept;

  size_t current() const noexcept { return current_.load(std::memory_order_relaxed); }
  size_t peak() const noexcept { return peak_.load(std::memory_order_relaxed); }

 private:
  MemoryAccount() = default;
  void maybe_delete() noexcept;
  std::atomic<size_t> current_{0};
  std::atomic<size_t> peak_{0};
  std::atomic<bool> attached_{true};
};

struct CallContext {
  MemoryAccount* account = nullptr;
  Clock* clock = nullptr;
  RandomSource* random = nullptr;
  // The server name of the connection being driven (binds tickets to it).
  const std::string* server_name = nullptr;
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

}  // namespace sanstls::detail
