// Row kernels of the logsumexp and softmax cross-entropy primitives (ops/logsumexp.cpp):
// plain pointer-and-stride loops, free of autodiff, parallel over rows.
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

// A family of rows: row (o, i), o < outer, i < inner, holds the n elements
// x[o * outer_stride + i * inner_stride + k * elem_stride], k < n; its result goes to
// out[o * inner + i]. A reduced axis in the middle of a contiguous tensor is
// (outer, n, inner) with strides (n * inner, 1, inner); the last axis has inner = 1.
struct Rows {
  int64_t outer = 1, inner = 1, n = 0;
  int64_t outer_stride = 0, inner_stride = 0, elem_stride = 1;
};

// out = log sum_k exp(x_k) per row, shifted by the row's max (cheat sheet "softmax /
// logsumexp": the shift cancels, so nothing overflows). An empty row gives -inf; a row
// whose max is +-inf or NaN is not shifted (so +inf -> inf, all -inf -> -inf, NaN -> NaN).
template <typename T>
void logsumexp_rows(const Rows& r, const T* x, T* out);

// Cross-entropy of logits z (rows of n classes, row r at z + r * row_stride, classes at
// unit stride) against class indices: out[r] = logsumexp(z_r) - z_r[target[r]], and 0
// where target[r] == ignore_index. Targets must lie in [0, n) (checked by the caller).
template <typename T>
void cross_entropy_index_rows(int64_t rows, int64_t n, const T* z, int64_t row_stride, const int64_t* target,
                              int64_t ignore_index, T* out);

// Against probabilities q (same layout as z): out[r] = -sum_k q_rk log_softmax(z_r)_k.
template <typename T>
void cross_entropy_prob_rows(int64_t rows, int64_t n, const T* z, const T* q, int64_t row_stride, T* out);

}  // namespace fastgrad::kernels
