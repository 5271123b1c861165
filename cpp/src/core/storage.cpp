// Caching allocator: freed blocks go back to per-size buckets so a training loop
// allocates from the pool in its steady state. The cache is bounded (default 1 GiB)
// and can be emptied; blocks are 64-byte aligned for the SIMD kernels.
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "fastgrad/tensor.h"
#include "block_pool.h"

namespace fastgrad {
namespace {

struct Pool {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t cached = 0, live = 0, limit = size_t(1) << 30;
};
Pool& pool() {
  // Leaked on purpose: storages may be released during interpreter shutdown.
  static Pool* p = new Pool();
  return *p;
}

// Size classes: powers of two up to 1 MiB, then multiples of 1 MiB, bounding waste
// while letting differently sized tensors of one training step share blocks.
size_t bucket(size_t n) {
  if (n <= 64) return 64;
  if (n <= (size_t(1) << 20)) {
    size_t b = 64;
    while (b < n) b <<= 1;
    return b;
  }
  const size_t mb = size_t(1) << 20;
  return (n + mb - 1) / mb * mb;
}

void trim_locked(Pool& p, size_t target) {
  for (auto it = p.free_blocks.begin(); it != p.free_blocks.end() && p.cached > target;) {
    auto& v = it->second;
    while (!v.empty() && p.cached > target) {
      std::free(v.back());
      v.pop_back();
      p.cached -= it->first;
    }
    it = v.empty() ? p.free_blocks.erase(it) : std::next(it);
  }
}

}  // namespace

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  auto s = detail::make_pooled<Storage>();
  size_t cap = bucket(nbytes);
  Pool& p = pool();
  void* ptr = nullptr;
  {
    std::lock_guard<std::mutex> g(p.mu);
    auto it = p.free_blocks.find(cap);
    if (it != p.free_blocks.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
      p.cached -= cap;
    }
    p.live += cap;
  }
  if (!ptr) {
    ptr = std::aligned_alloc(64, cap);
    if (!ptr) {
      std::lock_guard<std::mutex> g(p.mu);
      trim_locked(p, 0);
      ptr = std::aligned_alloc(64, cap);
      if (!ptr) {
        p.live -= cap;
        throw std::bad_alloc();
      }
    }
  }
  s->data = ptr;
  s->nbytes = nbytes;
  s->capacity = cap;
  return s;
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, std::shared_ptr<void> owner) {
  auto s = detail::make_pooled<Storage>();
  s->data = data;
  s->nbytes = nbytes;
  s->owner = std::move(owner);
  return s;
}

Storage::~Storage() {
  if (capacity == 0) return;  // foreign memory: `owner` releases it
  Pool& p = pool();
  std::lock_guard<std::mutex> g(p.mu);
  p.live -= capacity;
  if (p.cached + capacity <= p.limit) {
    p.free_blocks[capacity].push_back(data);
    p.cached += capacity;
  } else {
    std::free(data);
  }
}

PoolStats pool_stats() {
  Pool& p = pool();
  std::lock_guard<std::mutex> g(p.mu);
  return {p.cached, p.live, p.limit};
}

void pool_empty_cache() {
  Pool& p = pool();
  std::lock_guard<std::mutex> g(p.mu);
  trim_locked(p, 0);
}

void pool_set_limit(size_t bytes) {
  Pool& p = pool();
  std::lock_guard<std::mutex> g(p.mu);
  p.limit = bytes;
  trim_locked(p, bytes);
}

}  // namespace fastgrad
