// The one mutex type sanstls uses (shared session stores, ConfigSlot) and the
// thread-local storage of the engine's per-call context.
//
// Host builds: std::mutex and thread_local. Bare-metal builds define
// SANSTLS_NO_THREADS (a single thread of execution, no RTOS): the mutex does
// nothing and the call context is an ordinary global. A firmware that drives
// Connections from several RTOS tasks must not define it (and then needs a
// libstdc++ with gthreads).
#pragma once

#if defined(SANSTLS_NO_THREADS)
#define SANSTLS_THREAD_LOCAL
#else
#include <mutex>
#define SANSTLS_THREAD_LOCAL thread_local
#endif

namespace sanstls {

#if defined(SANSTLS_NO_THREADS)
class Mutex {
 public:
  void lock() noexcept {}
  void unlock() noexcept {}
};
#else
using Mutex = std::mutex;
#endif

// std::lock_guard without <mutex> (which bare-metal libstdc++ lacks).
class LockGuard {
 public:
  explicit LockGuard(Mutex& mutex) : mutex_(mutex) { mutex_.lock(); }
  ~LockGuard() { mutex_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Mutex& mutex_;
};

}  // namespace sanstls
