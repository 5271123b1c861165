// Softmax and log-softmax over rows: plain loops over pointers and strides (in elements),
// free of Tensor and autodiff. Row r of x starts at x + r * x_row_stride and its n entries
// are contiguous; likewise y. x and y may be the same buffer (row strides equal).
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

// y = exp(x - max) / sum exp(x - max) per row, the sum accumulated in double. A row of
// -inf, or one holding +inf or NaN, gives NaN (as PyTorch).
template <typename T>
void softmax_rows(const T* x, int64_t x_row_stride, T* y, int64_t y_row_stride, int64_t rows, int64_t n);

// y = (x - max) - log sum exp(x - max) per row (same conventions).
template <typename T>
void log_softmax_rows(const T* x, int64_t x_row_stride, T* y, int64_t y_row_stride, int64_t rows, int64_t n);

}  // namespace fastgrad::kernels
