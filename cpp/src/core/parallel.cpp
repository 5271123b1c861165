#include "fastgrad/parallel.h"

#include <omp.h>

#include <atomic>

namespace fastgrad {
namespace {
std::atomic<int>& global_threads() {
  static std::atomic<int> n{omp_get_max_threads()};
  return n;
}
thread_local int tl_applied = -1;
}  // namespace

void set_num_threads(int n) {
  global_threads().store(n);
  sync_num_threads();
}

int get_num_threads() { return global_threads().load(std::memory_order_relaxed); }

void sync_num_threads() {
  const int n = global_threads().load(std::memory_order_relaxed);
  if (tl_applied != n) {
    omp_set_num_threads(n);
    tl_applied = n;
  }
}

}  // namespace fastgrad
