#include "reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "../map/strided.h"
#include "../parallel_for.h"
#include "../wrap.h"

namespace fastgrad::kernels {

namespace {

// Walks with these strides visit a row-major block whose innermost step is `unit`
// (size-1 axes ignored, as Tensor::is_contiguous).
bool row_major(const int64_t* shape, const int64_t* strides, int64_t nd, int64_t unit) {
  int64_t acc = unit;
  for (int64_t i = nd; i-- > 0;) {
    if (shape[i] == 1) continue;
    if (strides[i] != acc) return false;
    acc *= shape[i];
  }
  return true;
}

int64_t numel(const int64_t* s, int64_t nd) {
  int64_t n = 1;
  for (int64_t d = 0; d < nd; ++d) n *= s[d];
  return n;
}

template <typename T, ReduceOp K>
void reduce_impl(const T* px, const int64_t* kshape, const int64_t* kstr, int64_t knd, const int64_t* rshape,
                 const int64_t* rstr, int64_t rnd, T* po) {
  using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
  const int64_t nk = numel(kshape, knd), nr = numel(rshape, rnd);
  const InterruptPoll ip;  // a broadcast view can make nr astronomically large
  auto init = [] {
    if (K == ReduceOp::Sum) return Acc(0);
    if (K == ReduceOp::Prod) return Acc(1);
    if (K == ReduceOp::Max)
      return std::numeric_limits<Acc>::has_infinity ? -std::numeric_limits<Acc>::infinity()
                                                    : std::numeric_limits<Acc>::lowest();
    return std::numeric_limits<Acc>::has_infinity ? std::numeric_limits<Acc>::infinity()
                                                  : std::numeric_limits<Acc>::max();
  };
  auto combine = [](Acc a, T v) -> Acc {
    if (K == ReduceOp::Sum) return wrap_add(a, Acc(v));
    if (K == ReduceOp::Prod) return wrap_mul(a, Acc(v));
    if constexpr (std::is_floating_point_v<T>) {
      if (v != v || a != a) return std::numeric_limits<Acc>::quiet_NaN();
    }
    if (K == ReduceOp::Max) return v > a ? Acc(v) : a;
    return v < a ? Acc(v) : a;
  };

  // Fast path: the reduced axes lead a contiguous block -> accumulate whole rows of the
  // kept block (same per-output order as the general walk).
  if (K == ReduceOp::Sum && nk > 1 && row_major(kshape, kstr, knd, 1) && row_major(rshape, rstr, rnd, nk)) {
    std::vector<Acc> acc(static_cast<size_t>(nk), Acc(0));
    for (int64_t r = 0; r < nr; ++r) {
      if ((r & 63) == 0) ip.check();  // serial: throwing here is outside any region
      const T* row = px + r * nk;
      for (int64_t k = 0; k < nk; ++k) acc[k] = wrap_add(acc[k], Acc(row[k]));
    }
    for (int64_t k = 0; k < nk; ++k) po[k] = static_cast<T>(acc[k]);
    return;
  }
  // Reduced index space walked as runs over its innermost axis.
  const int64_t rin = rnd == 0 ? 1 : rshape[rnd - 1];
  const int64_t rin_st = rnd == 0 ? 0 : rstr[rnd - 1];
  const int64_t rond = rnd == 0 ? 0 : rnd - 1;  // the outer reduced axes
  const int64_t nrout = numel(rshape, rond);
  auto one = [&](int64_t k) {
    const T* base = px + offset_of(k, kshape, kstr, knd);
    Acc a = init();
    for (int64_t o = 0; o < nrout; ++o) {
      const T* p = base + offset_of(o, rshape, rstr, rond);
      // Runs are walked in pieces so a poll comes between them (same summation order).
      for (int64_t i0 = 0; i0 < rin; i0 += kInterruptPiece) {
        if (ip.requested()) return;
        const int64_t i1 = std::min(rin, i0 + kInterruptPiece);
        if (rin_st == 1)
          for (int64_t i = i0; i < i1; ++i) a = combine(a, p[i]);
        else
          for (int64_t i = i0; i < i1; ++i) a = combine(a, p[i * rin_st]);
      }
    }
    po[k] = static_cast<T>(a);
  };
  parallel_for(nk, nk * nr >= kParallelGrain, one);
  ip.check();
}

}  // namespace

template <typename T>
void reduce(ReduceOp op, const T* x, const int64_t* ks, const int64_t* kst, int64_t knd, const int64_t* rs,
            const int64_t* rst, int64_t rnd, T* out) {
  switch (op) {
    case ReduceOp::Sum:
      return reduce_impl<T, ReduceOp::Sum>(x, ks, kst, knd, rs, rst, rnd, out);
    case ReduceOp::Max:
      return reduce_impl<T, ReduceOp::Max>(x, ks, kst, knd, rs, rst, rnd, out);
    case ReduceOp::Min:
      return reduce_impl<T, ReduceOp::Min>(x, ks, kst, knd, rs, rst, rnd, out);
    case ReduceOp::Prod:
      return reduce_impl<T, ReduceOp::Prod>(x, ks, kst, knd, rs, rst, rnd, out);
  }
}

// NaN test that is a compile-time false for integers (no self-comparison warning there).
template <typename T>
inline bool is_nan_value(T v) {
  if constexpr (std::is_floating_point_v<T>)
    return v != v;
  else
    return false;
}

template <typename T>
void arg_extremum_rows(bool max, const T* x, int64_t rows, int64_t n, int64_t* out) {
  auto run = [&](auto is_max) {
    auto row = [&](int64_t r) {
      const T* a = x + r * n;
      int64_t best = 0;
      for (int64_t i = 1; i < n; ++i) {
        if (is_nan_value(a[best])) break;  // first NaN wins, as NumPy
        if (is_nan_value(a[i]) || (is_max ? a[i] > a[best] : a[i] < a[best])) best = i;
      }
      out[r] = best;
    };
    parallel_for(rows, rows * n >= kParallelGrain, row);
  };
  // The direction is a compile-time constant inside the loop.
  if (max)
    run(std::true_type{});
  else
    run(std::false_type{});
}

template <typename T>
void exclusive_products_rows(const T* x, T* y, int64_t rows, int64_t n) {
  using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
  std::vector<Acc> pre(static_cast<size_t>(std::max<int64_t>(n, 0)));
  // Serial: one prefix buffer for all rows (prod's backward is not a hot path).
  parallel_for(rows, false, [&](int64_t r) {
    const T* a = x + r * n;
    T* b = y + r * n;
    Acc run = 1;
    for (int64_t i = 0; i < n; ++i) {
      pre[static_cast<size_t>(i)] = run;
      run *= a[i];
    }
    run = 1;
    for (int64_t i = n - 1; i >= 0; --i) {
      b[i] = static_cast<T>(pre[static_cast<size_t>(i)] * run);
      run *= a[i];
    }
  });
}

#define FG_INSTANTIATE(T)                                                                              \
  template void reduce<T>(ReduceOp, const T*, const int64_t*, const int64_t*, int64_t, const int64_t*, \
                          const int64_t*, int64_t, T*);                                                \
  template void arg_extremum_rows<T>(bool, const T*, int64_t, int64_t, int64_t*);
FG_INSTANTIATE(float)
FG_INSTANTIATE(double)
FG_INSTANTIATE(int64_t)
#undef FG_INSTANTIATE
template void exclusive_products_rows<float>(const float*, float*, int64_t, int64_t);
template void exclusive_products_rows<double>(const double*, double*, int64_t, int64_t);

}  // namespace fastgrad::kernels
