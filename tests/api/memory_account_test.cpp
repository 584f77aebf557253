// MemoryAccount (src/core/call_scope.h): the owner detaching on one thread
// while a late block is freed on another deletes the account exactly once.
// Run under ASan (scripts/test.sh), a double delete or a use after free fails.
#include <catch2/catch_test_macros.hpp>
#include <atomic>
#include <thread>

#include "call_scope.h"

using sanstls::detail::MemoryAccount;

TEST_CASE("a MemoryAccount detached while its last block is freed elsewhere dies once",
          "[memory]") {
  for (int round = 0; round < 2000; ++round) {
    MemoryAccount* account = MemoryAccount::create();
    REQUIRE(account != nullptr);
    account->on_alloc(64);
    account->on_alloc(32);
    CHECK(account->current() == 96);
    account->on_free(32);
    CHECK(account->current() == 64);
    CHECK(account->peak() == 96);
    std::atomic<bool> go{false};
    std::thread freer([&] {
      while (!go.load()) {
      }
      account->on_free(64);  // may be the last reference
    });
    go.store(true);
    account->detach();  // may be the last reference
    freer.join();
  }
}
