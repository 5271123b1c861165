// Per-thread free lists for the small records every op allocates (TensorImpl, Storage
// and Node, each with its shared_ptr control block): glibc's own per-thread cache holds
// 7 blocks per size, so a tape of N ops freed by backward sent N blocks of each kind
// through the slow bins (about a fifth of the per-op time). Blocks freed on one thread
// may be reused by another (each thread keeps what it frees, bounded per size class);
// a thread's cached blocks go back to the heap when it exits.
#pragma once
#include <cstddef>
#include <memory>
#include <utility>

namespace fastgrad::detail {

void* pool_alloc(size_t bytes);
void pool_free(void* p, size_t bytes) noexcept;

template <typename T>
struct PoolAllocator {
  static_assert(alignof(T) <= alignof(std::max_align_t), "pooled records are at most max_align_t aligned");
  using value_type = T;
  PoolAllocator() noexcept = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: rebinding is implicit
  T* allocate(size_t n) { return static_cast<T*>(pool_alloc(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { pool_free(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const PoolAllocator<U>&) const noexcept {
    return false;
  }
};

// std::make_shared<T>(args...) with the record and its control block from the pool.
template <typename T, typename... Args>
std::shared_ptr<T> make_pooled(Args&&... args) {
  return std::allocate_shared<T>(PoolAllocator<T>(), std::forward<Args>(args)...);
}

}  // namespace fastgrad::detail
