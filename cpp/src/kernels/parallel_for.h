// Static contiguous split of [0, n) over the OpenMP team, shared by the elementwise
// kernel families. Each thread gets one chunk whose length is a multiple of `align`
// elements (cache lines stay with one thread); elementwise results do not depend on the
// split, so output is deterministic. Runs serially below `min_parallel` elements or
// inside an enclosing parallel region.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace fastgrad::kernels {

template <class F>
void parallel_chunks(int64_t n, int64_t min_parallel, int64_t align, F&& f) {
  if (n <= 0) return;
  if (n < min_parallel || omp_in_parallel() || omp_get_max_threads() == 1) {
    f(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t chunk = ((n + nt - 1) / nt + align - 1) / align * align;
    const int64_t b = std::min(n, t * chunk), e = std::min(n, b + chunk);
    if (b < e) f(b, e);
  }
}

}  // namespace fastgrad::kernels
