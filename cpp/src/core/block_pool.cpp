#include "block_pool.h"

#include <cstdint>
#include <new>

namespace fastgrad::detail {
namespace {

constexpr size_t kGrain = 64;  // size classes of 64, 128, ..., 512 bytes
constexpr size_t kClasses = 8;
constexpr uint32_t kMaxBlocks = 4096;  // per class and thread (<= 2 MiB for the largest)

struct FreeBlock {
  FreeBlock* next;
};
// Trivial (constant-initialised, no destructor): reached without a TLS guard.
struct ThreadCache {
  FreeBlock* head[kClasses];
  uint32_t count[kClasses];
  int state;  // 0: unused, 1: caching (reaper registered), 2: thread exiting
};
thread_local ThreadCache tl_cache;

struct Reaper {
  ~Reaper() {
    ThreadCache& t = tl_cache;
    t.state = 2;  // blocks freed from now on (later thread_local destructors) go to the heap
    for (size_t c = 0; c < kClasses; ++c) {
      while (FreeBlock* b = t.head[c]) {
        t.head[c] = b->next;
        ::operator delete(b);
      }
      t.count[c] = 0;
    }
  }
};

// Registers the thread's reaper (a thread_local with a destructor) on first use.
__attribute__((noinline)) bool start_caching(ThreadCache& t) {
  if (t.state != 0) return t.state == 1;
  static thread_local Reaper reaper;
  (void)&reaper;
  t.state = 1;
  return true;
}

}  // namespace

// Under AddressSanitizer every record goes to the heap, so a use after free is reported.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPooling = false;
#else
constexpr bool kPooling = true;
#endif

void* pool_alloc(size_t bytes) {
  const size_t c = (bytes - 1) / kGrain;
  if (!kPooling || bytes == 0 || c >= kClasses) return ::operator new(bytes);
  ThreadCache& t = tl_cache;
  if (FreeBlock* b = t.head[c]) {
    t.head[c] = b->next;
    --t.count[c];
    return b;
  }
  return ::operator new((c + 1) * kGrain);  // the class size: any thread may cache it later
}

void pool_free(void* p, size_t bytes) noexcept {
  const size_t c = (bytes - 1) / kGrain;
  if (!kPooling || bytes == 0 || c >= kClasses) return ::operator delete(p);
  ThreadCache& t = tl_cache;
  if (t.count[c] < kMaxBlocks && (t.state == 1 || start_caching(t))) {
    auto* b = static_cast<FreeBlock*>(p);
    b->next = t.head[c];
    t.head[c] = b;
    ++t.count[c];
    return;
  }
  ::operator delete(p);
}

}  // namespace fastgrad::detail
