// The run kernels of reduce_runs.h as templates over a vector-traits class, shared by
// reduce_avx2.cpp and reduce_avx512.cpp. Include ONLY from those files: everything here
// lives in an anonymous namespace so each ISA file gets its own copy.
//
// X is a double-vector traits class of kernels/simd (Yd, Zd): V (W doubles), zero, add,
// mul, fmadd(a,b,c) = a*b+c, hsum, widen(const float*) (W floats as doubles), loadu,
// storeu.
#pragma once
#include <cstdint>

#include "reduce_runs.h"

namespace fastgrad::kernels::reduce_detail {
namespace {

// W values of x as doubles (floats widened).
template <class X, typename T>
typename X::V load(const T* p) {
  if constexpr (sizeof(T) == 4)
    return X::widen(p);
  else
    return X::loadu(p);
}

// Four independent accumulators hide the add latency; their order is fixed.
template <class X, bool Square, typename T>
double run_sum(const T* x, int64_t n) {
  using D = typename X::V;
  constexpr int64_t W = X::W;
  auto add = [](D a, D v) { return Square ? X::fmadd(v, v, a) : X::add(a, v); };
  D a0 = X::zero(), a1 = X::zero(), a2 = X::zero(), a3 = X::zero();
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    a0 = add(a0, load<X>(x + i));
    a1 = add(a1, load<X>(x + i + W));
    a2 = add(a2, load<X>(x + i + 2 * W));
    a3 = add(a3, load<X>(x + i + 3 * W));
  }
  for (; i + W <= n; i += W) a0 = add(a0, load<X>(x + i));
  double s = X::hsum(X::add(X::add(a0, a2), X::add(a1, a3)));
  for (; i < n; ++i) s += Square ? double(x[i]) * double(x[i]) : double(x[i]);
  return s;
}

template <class X, bool Square, typename T>
void add_row(double* acc, const T* x, int64_t n) {
  constexpr int64_t W = X::W;
  int64_t j = 0;
  for (; j + W <= n; j += W) {
    const typename X::V v = load<X>(x + j);
    const typename X::V a = X::loadu(acc + j);
    X::storeu(acc + j, Square ? X::fmadd(v, v, a) : X::add(a, v));
  }
  for (; j < n; ++j) acc[j] += Square ? double(x[j]) * double(x[j]) : double(x[j]);
}

template <class X, bool Square, typename T>
void add4_row(double* acc, const T* x, int64_t s, int64_t n) {
  using D = typename X::V;
  constexpr int64_t W = X::W;
  auto term = [](D v) { return Square ? X::mul(v, v) : v; };
  int64_t j = 0;
  for (; j + W <= n; j += W) {
    const D a = X::add(term(load<X>(x + j)), term(load<X>(x + j + s)));
    const D b = X::add(term(load<X>(x + j + 2 * s)), term(load<X>(x + j + 3 * s)));
    X::storeu(acc + j, X::add(X::loadu(acc + j), X::add(a, b)));
  }
  auto sc = [&](int64_t i) { return Square ? double(x[i]) * double(x[i]) : double(x[i]); };
  for (; j < n; ++j) acc[j] += (sc(j) + sc(j + s)) + (sc(j + 2 * s) + sc(j + 3 * s));
}

template <class X>
const RunKernels& table() {
  static const RunKernels k{
      run_sum<X, false, float>,   run_sum<X, false, double>, run_sum<X, true, float>,
      run_sum<X, true, double>,   add_row<X, false, float>,  add_row<X, false, double>,
      add_row<X, true, float>,    add_row<X, true, double>,  add4_row<X, false, float>,
      add4_row<X, false, double>, add4_row<X, true, float>,  add4_row<X, true, double>,
  };
  return k;
}

}  // namespace
}  // namespace fastgrad::kernels::reduce_detail
