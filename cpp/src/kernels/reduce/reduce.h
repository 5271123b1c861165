// Reduction kernels: plain loops over pointers, sizes and strides (in elements), free of
// Tensor and autodiff. Validation (axes, empty max/min) is the caller's.
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

enum class ReduceOp { Sum, Max, Min, Prod };

// out[k] = op over the reduced index space of x[kept(k) + reduced(r)], k walking the kept
// index space in row-major order (out is contiguous), each index space given by its sizes
// and strides. float accumulates in double; int64 sum/prod wrap modulo 2^64; max/min
// propagate NaN. An empty reduced space gives the identity (0, 1, -inf/lowest, +inf/max).
// Deterministic: every output has one fixed summation order whatever the thread count.
template <typename T>
void reduce(ReduceOp op, const T* x, const int64_t* kept_shape, const int64_t* kept_strides,
            int64_t kept_ndim, const int64_t* red_shape, const int64_t* red_strides, int64_t red_ndim,
            T* out);

// out[r] = index of the first maximum (Max) or minimum of row r of the contiguous
// rows x n matrix x; the first NaN wins (NumPy). n >= 1.
template <typename T>
void arg_extremum_rows(bool max, const T* x, int64_t rows, int64_t n, int64_t* out);

// y[r, i] = product of row r of the contiguous rows x n matrix x without x[r, i], from
// prefix and suffix products (no division, so exact up to rounding at zeros too).
template <typename T>
void exclusive_products_rows(const T* x, T* y, int64_t rows, int64_t n);

}  // namespace fastgrad::kernels
