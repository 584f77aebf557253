// sanstls_bench_heap: heap per connection, measured the same way for every
// system by a malloc counter built into this program (it interposes malloc,
// calloc, realloc, free and the aligned variants, so libssl, libstdc++ and
// mbedTLS's calloc hook all go through it). Allocations are attributed to the
// side the driver is calling into (bench::g_side). For sanstls the engine's
// own accounting (Connection::memory()) is printed next to it.
//
// Output: one JSON object per line:
//   {"system":..., "version":13, "side":"client", "idle":N, "peak":N[, "engine_idle":N,
//   "engine_peak":N]}
// idle: bytes held after the handshake completed (and its output was
// delivered); peak: most held at once from creating the connection to then.
#include <malloc.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "support.h"

extern "C" {
void* __libc_malloc(size_t);
void __libc_free(void*);
}

namespace {

struct alignas(16) Header {
  void* raw;
  size_t size;
  int side;
  int magic;
};
static_assert(sizeof(Header) <= 32, "header fits");
constexpr int kMagic = 0x5a17;

size_t g_current[3];
size_t g_peak[3];

void* allocate(size_t size, size_t align) {
  if (align < 16) align = 16;
  void* raw = __libc_malloc(size + 32 + align);
  if (raw == nullptr) return nullptr;
  uintptr_t p = (reinterpret_cast<uintptr_t>(raw) + 32 + align - 1) & ~(uintptr_t{align} - 1);
  Header* h = reinterpret_cast<Header*>(p - 32);
  int side = bench::g_side;
  if (side < 0 || side > 2) side = 2;
  *h = Header{raw, size, side, kMagic};
  g_current[side] += size;
  if (g_current[side] > g_peak[side]) g_peak[side] = g_current[side];
  return reinterpret_cast<void*>(p);
}

Header* header_of(void* p) { return reinterpret_cast<Header*>(static_cast<char*>(p) - 32); }

void release(void* p) {
  if (p == nullptr) return;
  Header* h = header_of(p);
  g_current[h->side] -= h->size;
  h->magic = 0;
  __libc_free(h->raw);
}

}  // namespace

extern "C" {
void* malloc(size_t n) { return allocate(n, 16); }
void free(void* p) { release(p); }
void* calloc(size_t a, size_t b) {
  if (b != 0 && a > SIZE_MAX / b) return nullptr;
  void* p = allocate(a * b, 16);
  if (p) std::memset(p, 0, a * b);
  return p;
}
void* realloc(void* p, size_t n) {
  if (p == nullptr) return allocate(n, 16);
  if (n == 0) {
    release(p);
    return nullptr;
  }
  void* q = allocate(n, 16);
  if (q == nullptr) return nullptr;
  size_t old = header_of(p)->size;
  std::memcpy(q, p, old < n ? old : n);
  release(p);
  return q;
}
void* memalign(size_t align, size_t n) { return allocate(n, align); }
void* aligned_alloc(size_t align, size_t n) { return allocate(n, align); }
int posix_memalign(void** out, size_t align, size_t n) {
  void* p = allocate(n, align);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}
void* valloc(size_t n) { return allocate(n, 4096); }
void* pvalloc(size_t n) { return allocate((n + 4095) & ~size_t{4095}, 4096); }
size_t malloc_usable_size(void* p) { return p ? header_of(p)->size : 0; }
}

int main() {
  using namespace bench;
  for (System system : {System::sanstls, System::mbedtls, System::openssl}) {
    for (int version : {13, 12}) {
      Case c;
      c.version = version;
      auto ctx = make_context(system, c);
      {  // warm-up: lazy global initialisation happens outside the count
        auto warm = ctx->make_pair();
        if (!warm || !warm->handshake()) {
          std::fprintf(stderr, "heap: %s warm-up failed\n", system_name(system));
          return 1;
        }
      }
      size_t base[2] = {g_current[0], g_current[1]};
      g_peak[0] = g_current[0];
      g_peak[1] = g_current[1];
      auto pair = ctx->make_pair();
      if (!pair || !pair->handshake()) return 1;
      const std::vector<size_t> engine = pair->engine_memory();
      for (int side = 0; side < 2; ++side) {
        std::printf("{\"system\":\"%s\",\"version\":%d,\"side\":\"%s\",\"idle\":%zu,\"peak\":%zu",
                    system_name(system), version, side == 0 ? "client" : "server",
                    g_current[side] - base[side], g_peak[side] - base[side]);
        if (!engine.empty())
          std::printf(",\"engine_idle\":%zu,\"engine_peak\":%zu", engine[side * 2],
                      engine[side * 2 + 1]);
        std::printf("}\n");
      }
      std::fflush(stdout);
    }
  }
  return 0;
}
