// The strided reduction walk shared by reduce() and vector_norm(): a policy says how a
// value enters the accumulator (step), how two partial accumulators combine (merge) and
// what the result is (finish); this walk says in which order, on which thread.
//
// Order is fixed by the shapes alone, never by the thread count (reduce.h promises it):
// each output's reduced space is cut into chunks of kChunk elements (whole rows of the
// innermost reduced axis, or pieces of one long row), each chunk is summed in 8
// interleaved lanes merged as a fixed tree, and the chunks' partials merge in order. The
// lanes break the add-latency chain (one accumulator waits ~4 cycles per element) and the
// chunks let a full reduction use every core.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include <type_traits>

#include "../map/strided.h"
#include "../parallel_for.h"
#include "reduce_runs.h"

namespace fastgrad::kernels::reduce_detail {

// A policy whose contiguous runs are plain sums (or sums of squares) of float/double
// values into a double says so (kRun), and those runs go to the per-ISA kernels.
enum class RunKind { None, Sum, SumSq };

template <class P, typename T>
constexpr bool kFastRuns =
    P::kRun != RunKind::None && (std::is_same_v<T, float> || std::is_same_v<T, double>);

template <RunKind K, typename T>
double fast_run(const T* p, int64_t n) {
  const RunKernels& k = run_kernels();
  if constexpr (std::is_same_v<T, float>)
    return K == RunKind::Sum ? k.sum_f32(p, n) : k.sumsq_f32(p, n);
  else
    return K == RunKind::Sum ? k.sum_f64(p, n) : k.sumsq_f64(p, n);
}

// Adds rows r0.. of the leading-axis block into acc: four at a time, then one at a time.
template <RunKind K, typename T>
void fast_add_rows(double* acc, const T* p, int64_t stride, int64_t rows, int64_t n) {
  const RunKernels& k = run_kernels();
  int64_t r = 0;
  if constexpr (std::is_same_v<T, float>) {
    for (; r + 4 <= rows; r += 4)
      (K == RunKind::Sum ? k.add4_row_f32 : k.addsq4_row_f32)(acc, p + r * stride, stride, n);
    for (; r < rows; ++r) (K == RunKind::Sum ? k.add_row_f32 : k.addsq_row_f32)(acc, p + r * stride, n);
  } else {
    for (; r + 4 <= rows; r += 4)
      (K == RunKind::Sum ? k.add4_row_f64 : k.addsq4_row_f64)(acc, p + r * stride, stride, n);
    for (; r < rows; ++r) (K == RunKind::Sum ? k.add_row_f64 : k.addsq_row_f64)(acc, p + r * stride, n);
  }
}

constexpr int64_t kChunk = int64_t(1) << 15;
constexpr int kLanes = 8;

inline int64_t numel(const int64_t* s, int64_t nd) {
  int64_t n = 1;
  for (int64_t d = 0; d < nd; ++d) n *= s[d];
  return n;
}

// Walks with these strides visit a row-major block whose innermost step is `unit`
// (size-1 axes ignored, as Tensor::is_contiguous).
inline bool row_major(const int64_t* shape, const int64_t* strides, int64_t nd, int64_t unit) {
  int64_t acc = unit;
  for (int64_t i = nd; i-- > 0;) {
    if (shape[i] == 1) continue;
    if (strides[i] != acc) return false;
    acc *= shape[i];
  }
  return true;
}

// One run of n values at stride st, in lanes when it is contiguous and long enough.
template <typename T, class P>
typename P::Acc run(const P& pol, const T* p, int64_t n, int64_t st) {
  using Acc = typename P::Acc;
  if constexpr (kFastRuns<P, T>) {
    if (st == 1) return pol.merge(pol.init(), fast_run<P::kRun>(p, n));
  }
  Acc a = pol.init();
  int64_t i = 0;
  if (st == 1 && n >= 2 * kLanes) {
    Acc l[kLanes];
    for (auto& v : l) v = pol.init();
    for (; i + kLanes <= n; i += kLanes)
      for (int j = 0; j < kLanes; ++j) l[j] = pol.step(l[j], p[i + j]);
    a = pol.merge(pol.merge(pol.merge(l[0], l[4]), pol.merge(l[2], l[6])),
                  pol.merge(pol.merge(l[1], l[5]), pol.merge(l[3], l[7])));
    for (; i < n; ++i) a = pol.step(a, p[i]);
    return a;
  }
  for (; i < n; ++i) a = pol.step(a, p[i * st]);
  return a;
}

template <typename T, class P>
void reduce_strided(const P& pol, const T* px, const int64_t* kshape, const int64_t* kstr, int64_t knd,
                    const int64_t* rshape, const int64_t* rstr, int64_t rnd, T* po) {
  using Acc = typename P::Acc;
  const int64_t nk = numel(kshape, knd), nr = numel(rshape, rnd);
  if (nk == 0) return;
  // The reduced axes lead a contiguous block (a reduction over the leading axis): rows of
  // the kept block are added in order, each thread owning a slice of the outputs.
  if (nk > 1 && row_major(kshape, kstr, knd, 1) && row_major(rshape, rstr, rnd, nk)) {
    constexpr int64_t kCols = 512;
    const int64_t nb = (nk + kCols - 1) / kCols;
    const InterruptPoll ip;
    parallel_for(nb, nk * nr >= kCheapParallelGrain, [&](int64_t b) {
      const int64_t k0 = b * kCols, k1 = std::min(nk, k0 + kCols);
      Acc acc[kCols];
      const int64_t w = k1 - k0;
      for (int64_t j = 0; j < w; ++j) acc[j] = pol.init();
      for (int64_t r0 = 0; r0 < nr; r0 += 1024) {
        if (ip.requested()) return;  // parallel_for throws after the region
        const int64_t r1 = std::min(nr, r0 + 1024);
        if constexpr (kFastRuns<P, T>) {
          fast_add_rows<P::kRun>(acc, px + r0 * nk + k0, nk, r1 - r0, w);
        } else {
          for (int64_t r = r0; r < r1; ++r) {
            const T* row = px + r * nk + k0;
            for (int64_t j = 0; j < w; ++j) acc[j] = pol.step(acc[j], row[j]);
          }
        }
      }
      for (int64_t j = 0; j < w; ++j) po[k0 + j] = pol.finish(acc[j]);
    });
    return;
  }
  // The reduced space as rows: the innermost reduced axis (length rin, stride rin_st)
  // repeated over the outer reduced axes (nrout rows).
  const int64_t rin = rnd == 0 ? 1 : rshape[rnd - 1];
  const int64_t rin_st = rnd == 0 ? 0 : rstr[rnd - 1];
  const int64_t rond = rnd == 0 ? 0 : rnd - 1;
  const int64_t nrout = numel(rshape, rond);
  // Chunks of one output: `rows_per` whole rows, or pieces of `piece` values of one row.
  const int64_t piece = rin > kChunk ? kChunk : rin;
  const int64_t pieces = rin == 0 ? 1 : (rin + piece - 1) / piece;
  const int64_t rows_per = rin >= kChunk ? 1 : std::max<int64_t>(1, kChunk / std::max<int64_t>(rin, 1));
  const int64_t row_chunks = (nrout + rows_per - 1) / rows_per;
  const int64_t nc = std::max<int64_t>(1, row_chunks * pieces);
  auto chunk = [&](int64_t k, int64_t c) {
    const T* base = px + offset_of(k, kshape, kstr, knd);
    const int64_t rc = c / pieces, pc = c % pieces;
    const int64_t o0 = rc * rows_per, o1 = std::min(nrout, o0 + rows_per);
    const int64_t i0 = pc * piece, n = std::min(rin, i0 + piece) - i0;
    Acc a = pol.init();
    for (int64_t o = o0; o < o1; ++o)
      a = pol.merge(a, run(pol, base + offset_of(o, rshape, rstr, rond) + i0 * rin_st, n, rin_st));
    return a;
  };
  const bool par = nk * nr >= kCheapParallelGrain;
  if (nc == 1) {
    parallel_for(nk, par, [&](int64_t k) { po[k] = pol.finish(chunk(k, 0)); });
    return;
  }
  // (output, chunk) pairs in order, a window at a time (a broadcast view can make the
  // reduced space astronomically large: the partials never need more than a window).
  constexpr int64_t kWindow = int64_t(1) << 12;
  const int64_t total = nk * nc;
  std::vector<Acc> part(static_cast<size_t>(std::min(total, kWindow)));
  Acc a = pol.init();
  for (int64_t j0 = 0; j0 < total; j0 += kWindow) {
    const int64_t w = std::min(kWindow, total - j0);
    parallel_for(w, par,
                 [&](int64_t j) { part[static_cast<size_t>(j)] = chunk((j0 + j) / nc, (j0 + j) % nc); });
    for (int64_t j = 0; j < w; ++j) {
      const int64_t k = (j0 + j) / nc, c = (j0 + j) % nc;
      a = c == 0 ? part[static_cast<size_t>(j)] : pol.merge(a, part[static_cast<size_t>(j)]);
      if (c == nc - 1) po[k] = pol.finish(a);
    }
  }
}

}  // namespace fastgrad::kernels::reduce_detail
