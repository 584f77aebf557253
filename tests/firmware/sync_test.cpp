// sanstls/sync.h: on the host, Mutex is std::mutex and LockGuard holds it for
// its scope (bare-metal builds define SANSTLS_NO_THREADS instead; the
// firmware image exercises that build).
#include <thread>

#include <catch2/catch_test_macros.hpp>

#include "sanstls/sync.h"

TEST_CASE("LockGuard holds the mutex for its scope, against other threads") {
  sanstls::Mutex mutex;
  auto taken_elsewhere = [&] {
    bool taken = false;
    std::thread other([&] {
      taken = mutex.try_lock();
      if (taken) mutex.unlock();
    });
    other.join();
    return taken;
  };
  {
    sanstls::LockGuard lock(mutex);
    CHECK_FALSE(taken_elsewhere());
  }
  CHECK(taken_elsewhere());
}

TEST_CASE("the engine's call context is per thread on the host") {
  int first = 0;
  static SANSTLS_THREAD_LOCAL int per_thread = 0;
  per_thread = 1;
  std::thread other([&] { first = per_thread; });
  other.join();
  CHECK(first == 0);
  CHECK(per_thread == 1);
}
