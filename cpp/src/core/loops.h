// Strided n-d loops shared by the elementwise and copy ops: the walk itself lives in
// kernels/map/strided.h; this adds the Tensor-side stride rule.
#pragma once
#include "../kernels/map/strided.h"
#include "fastgrad/tensor.h"

namespace fastgrad::detail {

// Strides of `t` broadcast against `out_shape` (0 on broadcast axes).
inline Shape broadcast_strides(const Tensor& t, const Shape& out_shape) {
  Shape st(out_shape.size(), 0);
  size_t off = out_shape.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i) st[off + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return st;
}

using kernels::for_each_run;
using kernels::kCheapParallelGrain;
using kernels::kInnerBlock;
using kernels::kParallelGrain;

}  // namespace fastgrad::detail
