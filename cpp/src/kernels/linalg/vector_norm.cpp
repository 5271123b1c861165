#include "vector_norm.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "../map/strided.h"
#include "../parallel_for.h"

namespace fastgrad::kernels {

namespace {

enum class Kind { Two, One, Max, Min, Count, Pow };

int64_t numel(const int64_t* s, int64_t nd) {
  int64_t n = 1;
  for (int64_t d = 0; d < nd; ++d) n *= s[d];
  return n;
}

template <typename T, Kind K>
void norm_impl(double p, const T* px, const int64_t* kshape, const int64_t* kstr, int64_t knd,
               const int64_t* rshape, const int64_t* rstr, int64_t rnd, T* po) {
  const int64_t nk = numel(kshape, knd), nr = numel(rshape, rnd);
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  // The reduced space is walked as runs over its innermost axis (as kernels/reduce).
  const int64_t rin = rnd == 0 ? 1 : rshape[rnd - 1];
  const int64_t rin_st = rnd == 0 ? 0 : rstr[rnd - 1];
  const int64_t rond = rnd == 0 ? 0 : rnd - 1;
  const int64_t nrout = numel(rshape, rond);
  auto one = [&](int64_t k) {
    const T* base = px + offset_of(k, kshape, kstr, knd);
    double a = K == Kind::Max ? -inf : K == Kind::Min ? inf : 0.0;
    for (int64_t o = 0; o < nrout; ++o) {
      const T* q = base + offset_of(o, rshape, rstr, rond);
      for (int64_t i = 0; i < rin; ++i) {
        const double v = static_cast<double>(q[i * rin_st]);
        if constexpr (K == Kind::Two) {
          a += v * v;
        } else if constexpr (K == Kind::One) {
          a += std::abs(v);
        } else if constexpr (K == Kind::Count) {
          a += v != 0.0 ? 1.0 : 0.0;
        } else if constexpr (K == Kind::Pow) {
          a += std::pow(std::abs(v), p);
        } else {
          const double m = std::abs(v);
          if (m != m || a != a)
            a = nan;
          else
            a = K == Kind::Max ? std::max(a, m) : std::min(a, m);
        }
      }
    }
    if constexpr (K == Kind::Two) a = std::sqrt(a);
    if constexpr (K == Kind::Pow) a = std::pow(a, 1.0 / p);
    po[k] = static_cast<T>(a);
  };
  parallel_for(nk, nk * nr >= kParallelGrain, one);
}

}  // namespace

template <typename T>
void vector_norm(double p, const T* x, const int64_t* ks, const int64_t* kst, int64_t knd, const int64_t* rs,
                 const int64_t* rst, int64_t rnd, T* out) {
  if (p == 2) return norm_impl<T, Kind::Two>(p, x, ks, kst, knd, rs, rst, rnd, out);
  if (p == 1) return norm_impl<T, Kind::One>(p, x, ks, kst, knd, rs, rst, rnd, out);
  if (p == 0) return norm_impl<T, Kind::Count>(p, x, ks, kst, knd, rs, rst, rnd, out);
  if (std::isinf(p) && p > 0) return norm_impl<T, Kind::Max>(p, x, ks, kst, knd, rs, rst, rnd, out);
  if (std::isinf(p)) return norm_impl<T, Kind::Min>(p, x, ks, kst, knd, rs, rst, rnd, out);
  return norm_impl<T, Kind::Pow>(p, x, ks, kst, knd, rs, rst, rnd, out);
}

template void vector_norm<float>(double, const float*, const int64_t*, const int64_t*, int64_t,
                                 const int64_t*, const int64_t*, int64_t, float*);
template void vector_norm<double>(double, const double*, const int64_t*, const int64_t*, int64_t,
                                  const int64_t*, const int64_t*, int64_t, double*);

}  // namespace fastgrad::kernels
