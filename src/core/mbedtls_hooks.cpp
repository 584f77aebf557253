// The C hooks our mbedTLS configuration names (see
// config/mbedtls/sanstls_mbedtls_config.h): allocator, time and, in
// deterministic builds, the PSA random generator. They read the CallScope.
#include <cstdlib>
#include <cstring>
#include <new>

#include "call_scope.h"
#include "mbedtls/build_info.h"
#include "mbedtls/platform_time.h"
#include "sanstls/sync.h"
#if defined(MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG)
#include "psa/crypto.h"
#endif

namespace sanstls::detail {
namespace {

SANSTLS_THREAD_LOCAL CallContext t_context;

// Every block carries its size and account in front, aligned like malloc.
struct alignas(alignof(std::max_align_t)) BlockHeader {
  size_t size;
  MemoryAccount* account;
};

}  // namespace

MemoryAccount* MemoryAccount::create() { return new (std::nothrow) MemoryAccount(); }

void MemoryAccount::detach() {
  if (state_.fetch_and(~kAttached, std::memory_order_acq_rel) == kAttached) delete this;
}

void MemoryAccount::on_alloc(size_t bytes) noexcept {
  size_t now = (state_.fetch_add(bytes, std::memory_order_relaxed) + bytes) & ~kAttached;
  size_t peak = peak_.load(std::memory_order_relaxed);
  while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void MemoryAccount::on_free(size_t bytes) noexcept {
  if (state_.fetch_sub(bytes, std::memory_order_acq_rel) == bytes) delete this;
}

CallScope::CallScope(MemoryAccount* account, Clock* clock, RandomSource* random,
                     const std::string* server_name) noexcept
    : saved_(t_context) {
  t_context = CallContext{account, clock, random, server_name, nullptr};
}

CallScope::~CallScope() { t_context = saved_; }

const CallContext& current_call_context() noexcept { return t_context; }

size_t allocated_size(const void* block) noexcept {
  if (block == nullptr) return 0;
  return (static_cast<const BlockHeader*>(block) - 1)->size;
}

void set_call_client_hello(const ClientHelloFacts* hello) noexcept {
  t_context.client_hello = hello;
}

}  // namespace sanstls::detail

using sanstls::detail::BlockHeader;
using sanstls::detail::t_context;

extern "C" {

void* sanstls_mbedtls_calloc(size_t count, size_t size) {
  if (count != 0 && size > (SIZE_MAX - sizeof(BlockHeader)) / count) return nullptr;
  const size_t bytes = count * size;
  // A Connection's memory cap (ConfigBuilder::max_connection_memory): past
  // it mbedTLS sees an allocation failure, and the engine ERR_TLS_OUT_OF_MEMORY.
  if (t_context.account != nullptr && !t_context.account->may_allocate(bytes)) return nullptr;
  void* raw = std::calloc(1, sizeof(BlockHeader) + bytes);
  if (raw == nullptr) return nullptr;
  auto* header = static_cast<BlockHeader*>(raw);
  header->size = bytes;
  // An empty block holds nothing, so it does not keep its account alive.
  header->account = bytes != 0 ? t_context.account : nullptr;
  if (header->account != nullptr) header->account->on_alloc(bytes);
  return header + 1;
}

void sanstls_mbedtls_free(void* block) {
  if (block == nullptr) return;
  BlockHeader* header = static_cast<BlockHeader*>(block) - 1;
  if (header->account != nullptr) header->account->on_free(header->size);
  std::free(header);
}

time_t sanstls_mbedtls_time(time_t* out) {
  const time_t now =
      t_context.clock != nullptr ? static_cast<time_t>(t_context.clock->now_ms() / 1000) : 0;
  if (out != nullptr) *out = now;
  return now;
}

mbedtls_ms_time_t mbedtls_ms_time(void) {
  return t_context.clock != nullptr ? static_cast<mbedtls_ms_time_t>(t_context.clock->now_ms()) : 0;
}

#if defined(MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG)
// Deterministic builds only: PSA's random bytes (TLS 1.3 key shares) come
// from the Connection's injected RandomSource, so transcripts replay exactly.
psa_status_t mbedtls_psa_external_get_random(mbedtls_psa_external_random_context_t* context,
                                             uint8_t* output, size_t output_size,
                                             size_t* output_length) {
  (void)context;
  *output_length = 0;
  if (t_context.random == nullptr ||
      !t_context.random->fill(sanstls::MutableByteView(output, output_size))) {
    return PSA_ERROR_INSUFFICIENT_ENTROPY;
  }
  *output_length = output_size;
  return PSA_SUCCESS;
}
#endif

}  // extern "C"
