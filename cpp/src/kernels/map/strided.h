// Strided n-d walk shared by the elementwise, copy and map kernels: dimensions are
// coalesced, then the work is cut into (row, inner block) items spread over OpenMP threads
// when large. Index arithmetic only: callers add the offsets to their base pointers.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>

#include "../parallel_for.h"

namespace fastgrad::kernels {

// Below this many elements a loop of costly per-element work (exp, tanh: ~1 ns each) stays
// on the calling thread.
constexpr int64_t kParallelGrain = 1 << 15;
// The same for memory-bound walks (a multiply, a copy, a sum: ~0.3 ns per element). Waking
// the sleeping pool (OMP_WAIT_POLICY=PASSIVE) costs ~15-20 µs: on Zen 3 a broadcast
// multiply of 128K floats took 35.9 µs on one thread and 35.6 µs on two, 512K 132 vs 76.
constexpr int64_t kCheapParallelGrain = 1 << 18;
// Innermost runs are cut into blocks of this many elements (load balance, polling).
constexpr int64_t kInnerBlock = 1 << 14;

// Dims is any vector of int64 with push_back/back (std::vector, fastgrad::Shape): the
// walk allocates nothing beyond what the caller's container does.
template <size_t K, class Dims>
struct Plan {
  Dims shape;  // coalesced, innermost last
  std::array<Dims, K> strides;
};

// Drops size-1 axes and merges neighbours that every operand walks as one axis.
template <size_t K, class Dims>
Plan<K, Dims> make_plan(const Dims& shape, const std::array<Dims, K>& strides) {
  Plan<K, Dims> p;
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

// Calls inner(offsets[K], n, inner_strides[K]) over every innermost run of `shape`, the
// offsets (in elements) of the run's first element in each of the K operands.
template <size_t K, class Dims, typename F>
void for_each_run(const Dims& shape, const std::array<Dims, K>& strides, F&& inner) {
  int64_t total = 1;
  for (auto d : shape) total *= d;
  if (total == 0) return;
  Plan<K, Dims> p = make_plan<K, Dims>(shape, strides);
  const int64_t nd = static_cast<int64_t>(p.shape.size());
  const int64_t n_inner = p.shape.back();
  const int64_t rows = total / n_inner;
  const int64_t blocks = (n_inner + kInnerBlock - 1) / kInnerBlock;
  std::array<int64_t, K> istr;
  for (size_t k = 0; k < K; ++k) istr[k] = p.strides[k].back();
  // Items [b, e) of one thread: the outer index is decoded (divisions) once per range and
  // then advanced as an odometer, so short inner runs (a broadcast outer product walks one
  // row of its output per run) do not pay nd divisions each.
  auto run_range = [&](int64_t b, int64_t e) {
    int64_t row = b / blocks, blk = b % blocks;
    Dims idx(p.shape);  // digits of `row` over the outer axes (the innermost slot unused)
    std::array<int64_t, K> base{};
    int64_t r = row;
    for (int64_t d = nd - 2; d >= 0; --d) {
      idx[d] = r % p.shape[d];
      r /= p.shape[d];
      for (size_t k = 0; k < K; ++k) base[k] += idx[d] * p.strides[k][d];
    }
    for (int64_t item = b; item < e; ++item) {
      const int64_t b0 = blk * kInnerBlock, n = std::min(kInnerBlock, n_inner - b0);
      std::array<int64_t, K> off;
      for (size_t k = 0; k < K; ++k) off[k] = base[k] + b0 * istr[k];
      inner(off, n, istr);
      if (++blk < blocks) continue;
      blk = 0;
      for (int64_t d = nd - 2; d >= 0; --d) {  // next row: carry through the outer axes
        for (size_t k = 0; k < K; ++k) base[k] += p.strides[k][d];
        if (++idx[d] < p.shape[d]) break;
        for (size_t k = 0; k < K; ++k) base[k] -= idx[d] * p.strides[k][d];
        idx[d] = 0;
      }
    }
  };
  const int64_t items = rows * blocks;
  parallel_chunks(items, total >= kCheapParallelGrain ? 2 : items + 1, 1, run_range);
}

// Offset (in elements) of flat row-major index `idx` of an nd-dim index space of sizes
// `shape` under `strides`.
inline int64_t offset_of(int64_t idx, const int64_t* shape, const int64_t* strides, int64_t nd) {
  int64_t off = 0;
  for (int64_t d = nd - 1; d >= 0; --d) {
    off += (idx % shape[d]) * strides[d];
    idx /= shape[d];
  }
  return off;
}

}  // namespace fastgrad::kernels
