// Strided elementwise maps: out[i] = f(x[i]) and out[i] = f(a[i], b[i]) over one shape,
// every operand given by pointer + strides in elements (0 on broadcast axes). Templated on
// the functor, so the loops inline the op; free of Tensor and autodiff.
#pragma once
#include <array>
#include <cstdint>
#include <utility>

#include "strided.h"

namespace fastgrad::kernels {

// o[i] = f(x[i]) for i < n, both contiguous (the small-operand fast path: no n-d planning).
template <typename To, typename Ti, typename F>
void map_unary_contiguous(To* o, const Ti* x, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
}

// Dims: std::vector<int64_t> or fastgrad::Shape (see strided.h).
template <typename To, typename Ti, typename F, class Dims>
void map_unary(To* o, const Dims& shape, Dims o_strides, const Ti* x, Dims x_strides, F f) {
  std::array<Dims, 2> st{std::move(o_strides), std::move(x_strides)};
  for_each_run<2>(shape, st,
                  [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& s) {
                    To* O = o + off[0];
                    const Ti* X = x + off[1];
                    if (s[0] == 1 && s[1] == 1) {
                      for (int64_t i = 0; i < n; ++i) O[i] = f(X[i]);
                    } else {
                      for (int64_t i = 0; i < n; ++i) O[i * s[0]] = f(X[i * s[1]]);
                    }
                  });
}

template <typename To, typename Ti, typename F>
void map_binary_contiguous(To* o, const Ti* a, const Ti* b, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
}

template <typename To, typename Ti, typename F, class Dims>
void map_binary(To* o, const Dims& shape, Dims o_strides, const Ti* a, Dims a_strides, const Ti* b,
                Dims b_strides, F f) {
  std::array<Dims, 3> st{std::move(o_strides), std::move(a_strides), std::move(b_strides)};
  for_each_run<3>(shape, st,
                  [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& s) {
                    To* O = o + off[0];
                    const Ti* A = a + off[1];
                    const Ti* B = b + off[2];
                    if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
                      for (int64_t i = 0; i < n; ++i) O[i] = f(A[i], B[i]);
                    } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {
                      const Ti bb = B[0];
                      for (int64_t i = 0; i < n; ++i) O[i] = f(A[i], bb);
                    } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {
                      const Ti aa = A[0];
                      for (int64_t i = 0; i < n; ++i) O[i] = f(aa, B[i]);
                    } else {
                      for (int64_t i = 0; i < n; ++i) O[i * s[0]] = f(A[i * s[1]], B[i * s[2]]);
                    }
                  });
}

}  // namespace fastgrad::kernels
