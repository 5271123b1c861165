// Row kernels of logsumexp and softmax cross-entropy (see logsumexp.h). Sums of exps are
// accumulated in double, as the softmax rows are, so float32 rows of any length keep
// their digits.
#include "logsumexp.h"

#include <cmath>
#include <limits>

#include "../parallel_for.h"

namespace fastgrad::kernels {

namespace {

// Elements per parallel_for item below which a reduction runs on one thread.
constexpr int64_t kRowGrain = int64_t(1) << 15;

// The shift of a row: its max, or 0 where the max is not finite (cheat sheet
// "softmax / logsumexp"; -inf - -inf would make the all -inf row NaN).
template <typename T>
T row_shift(const T* a, int64_t n, int64_t st) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t k = 0; k < n; ++k) {
    const T v = a[k * st];
    if (v != v) return T(0);  // NaN: exp(NaN - 0) = NaN keeps the row NaN
    m = v > m ? v : m;
  }
  return std::isfinite(static_cast<double>(m)) ? m : T(0);
}

// log sum_k exp(a_k - m), in double.
template <typename T>
double log_sum_shifted(const T* a, int64_t n, int64_t st, T m) {
  double s = 0;
  for (int64_t k = 0; k < n; ++k) s += std::exp(static_cast<double>(a[k * st] - m));
  return std::log(s);
}

}  // namespace

template <typename T>
void logsumexp_rows(const Rows& r, const T* x, T* out) {
  const int64_t rows = r.outer * r.inner;
  parallel_for(rows, rows * r.n >= kRowGrain, [&](int64_t j) {
    const int64_t o = j / r.inner, i = j % r.inner;
    const T* a = x + o * r.outer_stride + i * r.inner_stride;
    if (r.n == 0) {
      out[j] = -std::numeric_limits<T>::infinity();
      return;
    }
    const T m = row_shift(a, r.n, r.elem_stride);
    out[j] = static_cast<T>(static_cast<double>(m) + log_sum_shifted(a, r.n, r.elem_stride, m));
  });
}

template <typename T>
void cross_entropy_index_rows(int64_t rows, int64_t n, const T* z, int64_t row_stride, const int64_t* target,
                              int64_t ignore_index, T* out) {
  parallel_for(rows, rows * n >= kRowGrain, [&](int64_t j) {
    if (target[j] == ignore_index) {
      out[j] = T(0);
      return;
    }
    const T* a = z + j * row_stride;
    const T m = row_shift(a, n, 1);
    // -((z_y - m) - log s), the log_softmax kernel's own rounding: (z_y - m) first, so
    // large logits keep the log s term (m + log s would round it to m's ulp).
    const T ls = static_cast<T>(log_sum_shifted(a, n, 1, m));
    out[j] = -((a[target[j]] - m) - ls);
  });
}

template <typename T>
void cross_entropy_prob_rows(int64_t rows, int64_t n, const T* z, const T* q, int64_t row_stride, T* out) {
  parallel_for(rows, rows * n >= kRowGrain, [&](int64_t j) {
    const T* a = z + j * row_stride;
    const T* p = q + j * row_stride;
    const T m = row_shift(a, n, 1);
    const T ls = static_cast<T>(log_sum_shifted(a, n, 1, m));
    double s = 0;
    for (int64_t k = 0; k < n; ++k) s += static_cast<double>(p[k] * ((a[k] - m) - ls));
    out[j] = static_cast<T>(-s);
  });
}

template void logsumexp_rows<float>(const Rows&, const float*, float*);
template void logsumexp_rows<double>(const Rows&, const double*, double*);
template void cross_entropy_index_rows<float>(int64_t, int64_t, const float*, int64_t, const int64_t*,
                                              int64_t, float*);
template void cross_entropy_index_rows<double>(int64_t, int64_t, const double*, int64_t, const int64_t*,
                                               int64_t, double*);
template void cross_entropy_prob_rows<float>(int64_t, int64_t, const float*, const float*, int64_t, float*);
template void cross_entropy_prob_rows<double>(int64_t, int64_t, const double*, const double*, int64_t,
                                              double*);

}  // namespace fastgrad::kernels
