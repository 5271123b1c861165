#include "softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "../map/strided.h"
#include "../parallel_for.h"

namespace fastgrad::kernels {

namespace {

template <typename T, bool Log>
void rows_impl(const T* x, int64_t xs, T* y, int64_t ys, int64_t rows, int64_t n) {
  auto row = [&](int64_t r) {
    const T* a = x + r * xs;
    T* b = y + r * ys;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t i = 0; i < n; ++i) m = std::max(m, a[i]);
    // A row of -inf: shift by 0 (the result is NaN, as PyTorch). A +inf or NaN max stays,
    // so the whole row is NaN as in PyTorch (inf - inf), not a one-hot.
    if (m == -std::numeric_limits<T>::infinity()) m = T(0);
    double s = 0;
    if (Log) {
      for (int64_t i = 0; i < n; ++i) s += std::exp(a[i] - m);
      // (x - m) - log(s), not x - (m + log(s)): m + log(s) rounds to m's ulp, which for
      // large logits (float32 ~3e4) loses the whole log(s) term.
      const T ls = static_cast<T>(std::log(s));
      for (int64_t i = 0; i < n; ++i) b[i] = (a[i] - m) - ls;
    } else {
      for (int64_t i = 0; i < n; ++i) {
        const T e = std::exp(a[i] - m);
        b[i] = e;
        s += e;
      }
      const T inv = static_cast<T>(1.0 / s);
      for (int64_t i = 0; i < n; ++i) b[i] *= inv;
    }
  };
  parallel_for(rows, rows * n >= kParallelGrain, row);
}

}  // namespace

template <typename T>
void softmax_rows(const T* x, int64_t x_row_stride, T* y, int64_t y_row_stride, int64_t rows, int64_t n) {
  rows_impl<T, false>(x, x_row_stride, y, y_row_stride, rows, n);
}
template <typename T>
void log_softmax_rows(const T* x, int64_t x_row_stride, T* y, int64_t y_row_stride, int64_t rows, int64_t n) {
  rows_impl<T, true>(x, x_row_stride, y, y_row_stride, rows, n);
}

template void softmax_rows<float>(const float*, int64_t, float*, int64_t, int64_t, int64_t);
template void softmax_rows<double>(const double*, int64_t, double*, int64_t, int64_t, int64_t);
template void log_softmax_rows<float>(const float*, int64_t, float*, int64_t, int64_t, int64_t);
template void log_softmax_rows<double>(const double*, int64_t, double*, int64_t, int64_t, int64_t);

}  // namespace fastgrad::kernels
