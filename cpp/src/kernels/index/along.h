// Gather/scatter along one axis by an index tensor of the operand's rank (torch.gather,
// Tensor.scatter_ / scatter_add_ / scatter_reduce_): plain loops over pointers, shapes and
// strides (in elements), free of Tensor and autodiff. Indices must already be in
// [-size, size) of the indexed axis (first_out_of_bounds in index.h checks that).
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

// out[p] = src[p with coordinate `dim` replaced by idx[p]] for every p of idx's shape
// (nd axes, idx and out contiguous); src element at coordinates c is at src + sum c[d] * ss[d].
template <typename T>
void gather_along(const T* src, const int64_t* ss, int64_t dim_size, const int64_t* idx, const int64_t* shape,
                  int64_t nd, int64_t dim, T* out);

enum class ScatterMode { Assign, Add, Mul, Max, Min };
// dst[p with coordinate `dim` replaced by idx[p]] (op)= src[p] for every p of idx's shape, in
// row-major order of p (Assign: the last write wins); dst contiguous of shape dshape, src at
// strides ss. Max/Min propagate NaN as torch's amax/amin. Serial: writes may collide.
template <typename T>
void scatter_along(T* dst, const int64_t* dshape, const int64_t* idx, const int64_t* shape, int64_t nd,
                   int64_t dim, const T* src, const int64_t* ss, ScatterMode mode);

// How many of the idx positions land on each dst element (scatter_reduce's "mean"), as
// scatter_along with Add of ones into the int64 counts (contiguous, shape dshape).
void scatter_count(int64_t* counts, const int64_t* dshape, const int64_t* idx, const int64_t* shape,
                   int64_t nd, int64_t dim);

// repeat_interleave: position i of n repeated reps[i] times, in order, into out (sum of
// reps entries); returns the first i with reps[i] < 0, or -1.
int64_t repeat_positions(const int64_t* reps, int64_t n, int64_t* out, int64_t cap);

// Flat row-major positions (n of them) into coordinates out[n, nd] of shape.
void unravel(const int64_t* flat, int64_t n, const int64_t* shape, int64_t nd, int64_t* out);

// tril_indices / triu_indices of a rows x cols matrix at `offset`: (2, count) into out,
// row-major; `lower` selects col - row <= offset, else col - row >= offset. Returns count
// (out may be null to count only).
int64_t triangle_indices(int64_t rows, int64_t cols, int64_t offset, bool lower, int64_t* out, int64_t cap);

}  // namespace fastgrad::kernels
