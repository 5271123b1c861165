#include "scan.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "../parallel_for.h"
#include "../wrap.h"

namespace fastgrad::kernels {

template <typename T>
void scan_axis(const T* x, int64_t outer, int64_t n, int64_t inner, ScanOp op, bool reverse, T* out) {
  if (n == 0) return;
  parallel_for(outer * inner, outer * inner * n >= 16384, [&](int64_t col) {
    const int64_t a = col / inner, i = col % inner, o = a * n * inner + i;
    T acc{};
    for (int64_t s = 0; s < n; ++s) {
      const int64_t j = reverse ? n - 1 - s : s;
      const T v = x[o + j * inner];
      if (s == 0) {
        acc = v;
      } else if (op == ScanOp::Sum) {
        acc = wrap_add(acc, v);
      } else if (op == ScanOp::Prod) {
        acc = wrap_mul(acc, v);
      } else if constexpr (std::is_floating_point_v<T>) {
        // log(e^acc + e^v) = m + log1p(e^-(|acc - v|)); -inf pairs stay -inf, NaN propagates.
        const T m = acc > v ? acc : v;
        if (m == -std::numeric_limits<T>::infinity())
          acc = m;
        else if (m == std::numeric_limits<T>::infinity())
          acc = (acc != acc || v != v) ? acc + v : m;
        else
          acc = m + std::log1p(std::exp(-std::fabs(acc - v)));
        if (v != v) acc = v;
      }
      out[o + j * inner] = acc;
    }
  });
}

template void scan_axis<float>(const float*, int64_t, int64_t, int64_t, ScanOp, bool, float*);
template void scan_axis<double>(const double*, int64_t, int64_t, int64_t, ScanOp, bool, double*);
template void scan_axis<int64_t>(const int64_t*, int64_t, int64_t, int64_t, ScanOp, bool, int64_t*);

}  // namespace fastgrad::kernels
