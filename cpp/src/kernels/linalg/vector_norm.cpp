#include "vector_norm.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "../reduce/reduce_impl.h"

namespace fastgrad::kernels {

namespace {

using reduce_detail::reduce_strided;
using reduce_detail::RunKind;

// Every norm accumulates in double (a float32 input neither overflows nor loses digits).
template <typename T>
struct TwoNorm {
  using Acc = double;
  static constexpr RunKind kRun = RunKind::SumSq;
  static Acc init() { return 0.0; }
  static Acc step(Acc a, T v) { return a + double(v) * double(v); }
  static Acc merge(Acc a, Acc b) { return a + b; }
  static T finish(Acc a) { return static_cast<T>(std::sqrt(a)); }
};

template <typename T>
struct OneNorm {
  using Acc = double;
  static constexpr RunKind kRun = RunKind::None;
  static Acc init() { return 0.0; }
  static Acc step(Acc a, T v) { return a + std::abs(double(v)); }
  static Acc merge(Acc a, Acc b) { return a + b; }
  static T finish(Acc a) { return static_cast<T>(a); }
};

template <typename T>
struct CountNonzero {  // ord 0 (NaN counts: NaN != 0)
  using Acc = double;
  static constexpr RunKind kRun = RunKind::None;
  static Acc init() { return 0.0; }
  static Acc step(Acc a, T v) { return a + (v != T(0) ? 1.0 : 0.0); }
  static Acc merge(Acc a, Acc b) { return a + b; }
  static T finish(Acc a) { return static_cast<T>(a); }
};

template <typename T>
struct PowNorm {
  using Acc = double;
  static constexpr RunKind kRun = RunKind::None;
  double p;
  Acc init() const { return 0.0; }
  Acc step(Acc a, T v) const { return a + std::pow(std::abs(double(v)), p); }
  Acc merge(Acc a, Acc b) const { return a + b; }
  T finish(Acc a) const { return static_cast<T>(std::pow(a, 1.0 / p)); }
};

// ord +-inf: max / min |x|, NaN propagating (a NaN accumulator is never replaced).
template <typename T, bool Max>
struct AbsExtremum {
  using Acc = double;
  static constexpr RunKind kRun = RunKind::None;
  static Acc init() {
    return Max ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  static Acc merge(Acc a, Acc m) { return a != a ? a : (Max ? m > a : m < a) || m != m ? m : a; }
  static Acc step(Acc a, T v) { return merge(a, std::abs(double(v))); }
  static T finish(Acc a) { return static_cast<T>(a); }
};

}  // namespace

template <typename T>
void vector_norm(double p, const T* x, const int64_t* ks, const int64_t* kst, int64_t knd, const int64_t* rs,
                 const int64_t* rst, int64_t rnd, T* out) {
  auto go = [&](const auto& pol) { reduce_strided(pol, x, ks, kst, knd, rs, rst, rnd, out); };
  if (p == 2) return go(TwoNorm<T>{});
  if (p == 1) return go(OneNorm<T>{});
  if (p == 0) return go(CountNonzero<T>{});
  if (std::isinf(p) && p > 0) return go(AbsExtremum<T, true>{});
  if (std::isinf(p)) return go(AbsExtremum<T, false>{});
  return go(PowNorm<T>{p});
}

template void vector_norm<float>(double, const float*, const int64_t*, const int64_t*, int64_t,
                                 const int64_t*, const int64_t*, int64_t, float*);
template void vector_norm<double>(double, const double*, const int64_t*, const int64_t*, int64_t,
                                  const int64_t*, const int64_t*, int64_t, double*);

}  // namespace fastgrad::kernels
