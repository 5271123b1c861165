// Max / average pooling kernels with fixed windows, one set per ISA (pool.cpp: baseline,
// pool_avx2.cpp, pool_avx512.cpp compile the same loops of pool_impl.h with their flags;
// the loops are written so the compiler vectorises them: along the output row (NCHW)
// or along the channels (NHWC)). pool.cpp picks the set once from the active ISA.
#pragma once
#include <cstdint>

#include "conv_common.h"
#include "fastgrad/parallel.h"

namespace fastgrad::kernels::pool_detail {

// Per-dim window tables: lo = first input index a window visits, hi = one past the last
// (the loops step by the dilation), cnt = the divisor factor of average pooling.
struct WinView {
  const int64_t* lo[3];
  const int64_t* hi[3];
  const int64_t* cnt[3];
  int64_t divisor;  // != 0: PyTorch's divisor_override
};

// flat: argmax holds flat indices into x as a whole (0 for an empty window), else the
// flat spatial index within the (n, c) plane (-1 for an empty window).
template <typename T>
struct PoolFns {
  void (*max_fwd)(const detail::Geom3&, const WinView&, const T* x, T* y, int64_t* argmax, bool flat,
                  const InterruptPoll&);
  void (*max_bwd)(const detail::Geom3&, const T* gy, const int64_t* argmax, T* gx, bool flat);
  void (*avg_fwd)(const detail::Geom3&, const WinView&, const T* x, T* y, const InterruptPoll&);
  void (*avg_bwd)(const detail::Geom3&, const WinView&, const T* gy, T* gx);
};

const PoolFns<float>& pool_fns_scalar(float);
const PoolFns<double>& pool_fns_scalar(double);
const PoolFns<float>& pool_fns_avx2(float);
const PoolFns<double>& pool_fns_avx2(double);
const PoolFns<float>& pool_fns_avx512(float);
const PoolFns<double>& pool_fns_avx512(double);

}  // namespace fastgrad::kernels::pool_detail
