#include "batched_matmul.h"

#include <algorithm>
#include <type_traits>

#include "../parallel_for.h"
#include "fastgrad/kernels/gemm.h"

namespace fastgrad::kernels {

template <typename T>
void batched_matmul(const int64_t* batch, const int64_t* sa, const int64_t* sb, int64_t nd, int64_t M,
                    int64_t N, int64_t K, const T* pa, int64_t rsA, int64_t csA, const T* pb, int64_t rsB,
                    int64_t csB, T* po) {
  int64_t nb = 1;
  for (int64_t d = 0; d < nd; ++d) nb *= batch[d];
  if constexpr (std::is_floating_point_v<T>) {
    // One GEMM per batch entry; entries run in parallel when each is small (a large one
    // threads inside gemm) and all of them together outweigh waking the sleeping pool
    // (OMP_WAIT_POLICY=PASSIVE, ~15-20 µs): on Zen 3, 64 entries of 32x8 @ 8x32 (512K
    // multiply-adds) took 38.8 µs on one thread and 39.2 µs on two; a per-example outer
    // product 128x1 @ 1x64 (the weight gradient under vmap) 77.6 µs and 89.3 µs.
    auto one = [&](int64_t i) {
      int64_t oa, ob;
      batch_offsets(i, batch, sa, sb, nd, oa, ob);
      gemm<T>(M, N, K, T(1), pa + oa, rsA, csA, pb + ob, rsB, csB, T(0), po + i * M * N, N, 1);
    };
    parallel_for(nb, M * N * K < (1 << 18) && nb * M * N * std::max<int64_t>(K, 1) >= (1 << 20), one);
  } else {
    // No integer GEMM kernel: one output row of one batch entry per item, in uint64 so
    // the products and sums wrap instead of overflowing.
    auto row = [&](int64_t r) {
      const int64_t i = r / M, m = r % M;
      int64_t oa, ob;
      batch_offsets(i, batch, sa, sb, nd, oa, ob);
      uint64_t* o = reinterpret_cast<uint64_t*>(po + (i * M + m) * N);
      for (int64_t n = 0; n < N; ++n) o[n] = 0;
      for (int64_t k = 0; k < K; ++k) {
        const uint64_t av = static_cast<uint64_t>(pa[oa + m * rsA + k * csA]);
        const T* brow = pb + ob + k * rsB;
        for (int64_t n = 0; n < N; ++n) o[n] += av * static_cast<uint64_t>(brow[n * csB]);
      }
    };
    const int64_t rows = nb * M;
    parallel_for(rows, rows * N * K >= (1 << 16), row);
  }
}

template void batched_matmul<float>(const int64_t*, const int64_t*, const int64_t*, int64_t, int64_t, int64_t,
                                    int64_t, const float*, int64_t, int64_t, const float*, int64_t, int64_t,
                                    float*);
template void batched_matmul<double>(const int64_t*, const int64_t*, const int64_t*, int64_t, int64_t,
                                     int64_t, int64_t, const double*, int64_t, int64_t, const double*,
                                     int64_t, int64_t, double*);
template void batched_matmul<int64_t>(const int64_t*, const int64_t*, const int64_t*, int64_t, int64_t,
                                      int64_t, int64_t, const int64_t*, int64_t, int64_t, const int64_t*,
                                      int64_t, int64_t, int64_t*);

}  // namespace fastgrad::kernels
