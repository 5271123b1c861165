#include "sort.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "../parallel_for.h"

namespace fastgrad::kernels {
namespace {
template <typename T>
bool isnan_(T v) {
  return v != v;
}
// a strictly before b: NaN is the largest value.
template <typename T>
bool before(T a, T b, bool descending) {
  if (descending) return (isnan_(a) && !isnan_(b)) || a > b;
  return (!isnan_(a) && isnan_(b)) || a < b;
}
}  // namespace

template <typename T>
void argsort_axis(const T* x, int64_t outer, int64_t n, int64_t inner, bool descending, int64_t k,
                  int64_t* idx) {
  if (n == 0 || k == 0) return;
  parallel_for(outer * inner, outer * inner * n >= 4096, [&](int64_t col) {
    const int64_t a = col / inner, i = col % inner;
    const T* base = x + a * n * inner + i;
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
    auto cmp = [&](int64_t p, int64_t q) { return before(base[p * inner], base[q * inner], descending); };
    if (k < n)
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [&](int64_t p, int64_t q) { return cmp(p, q) || (!cmp(q, p) && p < q); });
    else
      std::stable_sort(order.begin(), order.end(), cmp);
    for (int64_t j = 0; j < k; ++j) idx[(a * k + j) * inner + i] = order[j];
  });
}

template <typename T>
void cum_extremum_axis(const T* x, int64_t outer, int64_t n, int64_t inner, bool max, int64_t* idx) {
  if (n == 0) return;
  parallel_for(outer * inner, outer * inner * n >= 4096, [&](int64_t col) {
    const int64_t a = col / inner, i = col % inner, o = a * n * inner + i;
    int64_t best = 0;
    for (int64_t j = 0; j < n; ++j) {
      const T v = x[o + j * inner], b = x[o + best * inner];
      if (!isnan_(b) && (isnan_(v) || (max ? v >= b : v <= b))) best = j;
      idx[o + j * inner] = best;
    }
  });
}

template <typename T>
void searchsorted_rows(const T* seq, int64_t seq_rows, int64_t n, const T* v, int64_t rows, int64_t m,
                       bool right, int64_t* out) {
  parallel_for(rows, rows * m >= 4096, [&](int64_t r) {
    const T* s = seq + (seq_rows == 1 ? 0 : r) * n;
    for (int64_t j = 0; j < m; ++j) {
      const T val = v[r * m + j];
      // NaN sorts last: lower_bound / upper_bound under the NaN-aware order.
      const T* p = right ? std::upper_bound(s, s + n, val, [](T a, T b) { return before(a, b, false); })
                         : std::lower_bound(s, s + n, val, [](T a, T b) { return before(a, b, false); });
      out[r * m + j] = p - s;
    }
  });
}

template <typename T>
int64_t unique_rows(const T* x, int64_t n, int64_t m, bool sort, int64_t* rep, int64_t* inverse,
                    int64_t* counts) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (sort)
    std::stable_sort(order.begin(), order.end(), [&](int64_t p, int64_t q) {
      const T *a = x + p * m, *b = x + q * m;
      for (int64_t k = 0; k < m; ++k) {
        if (before(a[k], b[k], false)) return true;
        if (before(b[k], a[k], false)) return false;
      }
      return false;
    });
  auto same = [&](int64_t p, int64_t q) {
    const T *a = x + p * m, *b = x + q * m;
    for (int64_t k = 0; k < m; ++k)
      if (!(a[k] == b[k])) return false;
    return true;
  };
  int64_t u = 0;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t r = order[j];
    if (j == 0 || !same(order[j - 1], r)) {
      rep[u] = r;
      counts[u++] = 0;
    }
    counts[u - 1] += 1;
    inverse[r] = u - 1;
  }
  return u;
}

void multinomial_rows(const double* p, int64_t rows, int64_t n, const double* u, int64_t draws,
                      bool replacement, int64_t* out) {
  std::vector<double> w(static_cast<size_t>(n)), cum(static_cast<size_t>(n));
  serial_loop(rows, [&](int64_t r) {
    for (int64_t c = 0; c < n; ++c) w[c] = p[r * n + c];
    for (int64_t d = 0; d < draws; ++d) {
      double total = 0;
      for (int64_t c = 0; c < n; ++c) cum[c] = total += w[c];
      const double t = u[r * draws + d] * total;
      int64_t c = std::upper_bound(cum.begin(), cum.end(), t) - cum.begin();
      while (c > 0 && (c >= n || w[c] == 0)) --c;  // never a zero-weight category
      while (c < n - 1 && w[c] == 0) ++c;
      out[r * draws + d] = c;
      if (!replacement) w[c] = 0;
    }
  });
}

#define FG_INSTANTIATE_SORT(T)                                                                     \
  template void argsort_axis<T>(const T*, int64_t, int64_t, int64_t, bool, int64_t, int64_t*);     \
  template void cum_extremum_axis<T>(const T*, int64_t, int64_t, int64_t, bool, int64_t*);         \
  template void searchsorted_rows<T>(const T*, int64_t, int64_t, const T*, int64_t, int64_t, bool, \
                                     int64_t*);                                                    \
  template int64_t unique_rows<T>(const T*, int64_t, int64_t, bool, int64_t*, int64_t*, int64_t*);
FG_INSTANTIATE_SORT(float)
FG_INSTANTIATE_SORT(double)
FG_INSTANTIATE_SORT(int64_t)
FG_INSTANTIATE_SORT(bool)
#undef FG_INSTANTIATE_SORT
int multinomial_invalid(const double* p, int64_t rows, int64_t n, int64_t draws, bool replacement) {
  for (int64_t r = 0; r < rows; ++r) {
    double total = 0;
    int64_t positive = 0;
    for (int64_t c = 0; c < n; ++c) {
      const double v = p[r * n + c];
      if (!(v >= 0) || v == std::numeric_limits<double>::infinity()) return 1;
      total += v;
      positive += v > 0;
    }
    if (!(total > 0)) return 2;
    if (!replacement && positive < draws) return 3;
  }
  return 0;
}

}  // namespace fastgrad::kernels
