// The kernels' two ways to spread work over the OpenMP team. Both run serially (without
// entering libgomp: after fork() the child's pool is gone) below their threshold, on one
// thread, or inside an enclosing parallel region; both poll the interrupt flag between
// pieces of work and throw fastgrad::Interrupted after the region, never inside it.
//
// parallel_chunks: static contiguous split of [0, n), shared by the elementwise kernel
// families. Each thread gets one chunk whose length is a multiple of `align` elements
// (cache lines stay with one thread) and walks it in pieces; elementwise results do not
// depend on the split, so output is deterministic.
//
// parallel_for: items [0, n) with a static schedule (each item always lands on the same
// thread for a given thread count), for loops whose items are independent.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "fastgrad/parallel.h"

namespace fastgrad::kernels {

// Elements between two polls: ~10-50 us of elementwise work.
constexpr int64_t kInterruptPiece = int64_t(1) << 16;

template <class F>
void parallel_chunks(int64_t n, int64_t min_parallel, int64_t align, F&& f) {
  if (n <= 0) return;
  const InterruptPoll ip;
  const int64_t piece = std::max<int64_t>(align, kInterruptPiece / align * align);
  auto walk = [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; p += piece) {
      if (ip.requested()) return;
      f(p, std::min(e, p + piece));
    }
  };
  if (n < min_parallel || omp_in_parallel() || omp_get_max_threads() == 1) {
    walk(int64_t{0}, n);
  } else {
#pragma omp parallel
    {
      const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
      const int64_t chunk = ((n + nt - 1) / nt + align - 1) / align * align;
      const int64_t b = std::min(n, t * chunk), e = std::min(n, b + chunk);
      if (b < e) walk(b, e);
    }
  }
  ip.check();
}

template <class F>
void parallel_for(int64_t n, bool parallel, F&& f) {
  if (n <= 0) return;
  const InterruptPoll ip;
  if (!parallel || n == 1 || omp_in_parallel() || omp_get_max_threads() == 1) {
    for (int64_t i = 0; i < n && !ip.requested(); ++i) f(i);
  } else {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i)
      if (!ip.requested()) f(i);
  }
  ip.check();
}

// serial_loop: f(i) for i in [0, n) in order on the calling thread (sequential state such
// as a random stream or an output cursor), polling the interrupt flag every piece and
// throwing Interrupted between pieces.
template <class F>
void serial_loop(int64_t n, F&& f) {
  const InterruptPoll ip;
  for (int64_t b = 0; b < n; b += kInterruptPiece) {
    ip.check();
    const int64_t e = std::min(n, b + kInterruptPiece);
    for (int64_t i = b; i < e; ++i) f(i);
  }
}

}  // namespace fastgrad::kernels
