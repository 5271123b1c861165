// Strided n-d loops shared by the elementwise and copy ops: dimensions are coalesced,
// then work is cut into (row, inner block) items spread over OpenMP threads when large.
#pragma once
#include <omp.h>

#include <array>
#include <algorithm>

#include "../kernels/parallel_for.h"
#include "fastgrad/tensor.h"

namespace fastgrad::detail {

// Strides of `t` broadcast against `out_shape` (0 on broadcast axes).
inline Shape broadcast_strides(const Tensor& t, const Shape& out_shape) {
  Shape st(out_shape.size(), 0);
  size_t off = out_shape.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i) st[off + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return st;
}

template <size_t K>
struct Plan {
  Shape shape;  // coalesced, innermost last
  std::array<Shape, K> strides;
};

template <size_t K>
Plan<K> make_plan(const Shape& shape, const std::array<Shape, K>& strides) {
  Plan<K> p;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!p.shape.empty()) {
      bool merge = true;
      for (size_t k = 0; k < K; ++k)
        if (p.strides[k].back() != strides[k][d] * shape[d]) merge = false;
      if (merge) {
        p.shape.back() *= shape[d];
        for (size_t k = 0; k < K; ++k) p.strides[k].back() = strides[k][d];
        continue;
      }
    }
    p.shape.push_back(shape[d]);
    for (size_t k = 0; k < K; ++k) p.strides[k].push_back(strides[k][d]);
  }
  if (p.shape.empty()) {
    p.shape.push_back(1);
    for (size_t k = 0; k < K; ++k) p.strides[k].push_back(0);
  }
  return p;
}

constexpr int64_t kParallelGrain = 1 << 15;
constexpr int64_t kInnerBlock = 1 << 14;

// Calls inner(offsets[K], n, inner_strides[K]) over every innermost run.
template <size_t K, typename F>
void for_each_run(const Shape& shape, const std::array<Shape, K>& strides, F&& inner) {
  int64_t total = shape_numel(shape);
  if (total == 0) return;
  Plan<K> p = make_plan<K>(shape, strides);
  const int64_t nd = static_cast<int64_t>(p.shape.size());
  const int64_t n_inner = p.shape.back();
  const int64_t rows = total / n_inner;
  const int64_t blocks = (n_inner + kInnerBlock - 1) / kInnerBlock;
  std::array<int64_t, K> istr;
  for (size_t k = 0; k < K; ++k) istr[k] = p.strides[k].back();
  auto run_item = [&](int64_t item) {
    int64_t row = item / blocks, blk = item % blocks;
    std::array<int64_t, K> off{};
    int64_t r = row;
    for (int64_t d = nd - 2; d >= 0; --d) {
      int64_t i = r % p.shape[d];
      r /= p.shape[d];
      for (size_t k = 0; k < K; ++k) off[k] += i * p.strides[k][d];
    }
    int64_t b0 = blk * kInnerBlock, n = std::min(kInnerBlock, n_inner - b0);
    for (size_t k = 0; k < K; ++k) off[k] += b0 * istr[k];
    inner(off, n, istr);
  };
  const int64_t items = rows * blocks;
  kernels::parallel_for(items, total >= kParallelGrain, run_item);
}

}  // namespace fastgrad::detail
