#include "reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "../parallel_for.h"
#include "../wrap.h"
#include "fastgrad/kernels/dispatch.h"
#include "reduce_impl.h"

namespace fastgrad::kernels {

namespace {

using reduce_detail::reduce_strided;
using reduce_detail::RunKind;

// float accumulates in double; double and int64 in themselves (int64 wraps modulo 2^64).
template <typename T>
using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;

template <typename T>
struct SumPolicy {
  using Acc = kernels::Acc<T>;
  static constexpr RunKind kRun = std::is_floating_point_v<T> ? RunKind::Sum : RunKind::None;
  static Acc init() { return Acc(0); }
  static Acc step(Acc a, T v) { return wrap_add(a, Acc(v)); }
  static Acc merge(Acc a, Acc b) { return wrap_add(a, b); }
  static T finish(Acc a) { return static_cast<T>(a); }
};

template <typename T>
struct ProdPolicy {
  using Acc = kernels::Acc<T>;
  static constexpr RunKind kRun = RunKind::None;
  static Acc init() { return Acc(1); }
  static Acc step(Acc a, T v) { return wrap_mul(a, Acc(v)); }
  static Acc merge(Acc a, Acc b) { return wrap_mul(a, b); }
  static T finish(Acc a) { return static_cast<T>(a); }
};

// max/min propagate NaN: once the accumulator is NaN no comparison replaces it, and a NaN
// value replaces anything (a select, so the lanes vectorise).
template <typename T, bool Max>
struct ExtremumPolicy {
  using Acc = T;
  static constexpr RunKind kRun = RunKind::None;
  static Acc init() {
    if constexpr (std::numeric_limits<T>::has_infinity)
      return Max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    else
      return Max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
  static Acc step(Acc a, T v) {
    bool take = Max ? v > a : v < a;
    if constexpr (std::is_floating_point_v<T>) take = take || v != v;
    return take ? v : a;
  }
  static Acc merge(Acc a, Acc b) {
    if constexpr (std::is_floating_point_v<T>)
      if (a != a) return a;
    return step(a, b);
  }
  static T finish(Acc a) { return a; }
};

}  // namespace

template <typename T>
void reduce(ReduceOp op, const T* x, const int64_t* ks, const int64_t* kst, int64_t knd, const int64_t* rs,
            const int64_t* rst, int64_t rnd, T* out) {
  switch (op) {
    case ReduceOp::Sum:
      return reduce_strided(SumPolicy<T>{}, x, ks, kst, knd, rs, rst, rnd, out);
    case ReduceOp::Max:
      return reduce_strided(ExtremumPolicy<T, true>{}, x, ks, kst, knd, rs, rst, rnd, out);
    case ReduceOp::Min:
      return reduce_strided(ExtremumPolicy<T, false>{}, x, ks, kst, knd, rs, rst, rnd, out);
    case ReduceOp::Prod:
      return reduce_strided(ProdPolicy<T>{}, x, ks, kst, knd, rs, rst, rnd, out);
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
    parallel_for(rows, rows * n >= kCheapParallelGrain, row);
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

namespace reduce_detail {
namespace {

// The portable run kernels: eight interleaved lanes (the compiler keeps them in SSE2
// registers), merged as a fixed tree.
template <bool Square, typename T>
double scalar_run(const T* x, int64_t n) {
  double l[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) l[j] += Square ? double(x[i + j]) * double(x[i + j]) : double(x[i + j]);
  double s = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
  for (; i < n; ++i) s += Square ? double(x[i]) * double(x[i]) : double(x[i]);
  return s;
}

template <bool Square, typename T>
void scalar_add_row(double* acc, const T* x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) acc[j] += Square ? double(x[j]) * double(x[j]) : double(x[j]);
}

template <bool Square, typename T>
void scalar_add4_row(double* acc, const T* x, int64_t s, int64_t n) {
  auto sc = [&](int64_t i) { return Square ? double(x[i]) * double(x[i]) : double(x[i]); };
  for (int64_t j = 0; j < n; ++j) acc[j] += (sc(j) + sc(j + s)) + (sc(j + 2 * s) + sc(j + 3 * s));
}

}  // namespace

const RunKernels& run_kernels_scalar() {
  static const RunKernels k{
      scalar_run<false, float>,       scalar_run<false, double>,    scalar_run<true, float>,
      scalar_run<true, double>,       scalar_add_row<false, float>, scalar_add_row<false, double>,
      scalar_add_row<true, float>,    scalar_add_row<true, double>, scalar_add4_row<false, float>,
      scalar_add4_row<false, double>, scalar_add4_row<true, float>, scalar_add4_row<true, double>,
  };
  return k;
}

const RunKernels& run_kernels() {
  switch (active_isa()) {
    case Isa::Avx512:
      return run_kernels_avx512();
    case Isa::Avx2:
      return run_kernels_avx2();
    default:
      return run_kernels_scalar();
  }
}

}  // namespace reduce_detail

}  // namespace fastgrad::kernels
