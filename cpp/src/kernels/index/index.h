// Gather/scatter along one axis: plain loops over pointers, sizes and strides (in
// elements), free of Tensor and autodiff. Operands are seen as (outer, axis, inner)
// blocks; indices may be negative (counted from the end of the axis) and must already be
// in [-dim, dim) (first_out_of_bounds checks that).
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

// Position of the first index outside [-dim, dim), or -1 when all n are in bounds.
int64_t first_out_of_bounds(const int64_t* idx, int64_t n, int64_t dim);

// out[a, j, i] = src[a, idx[j], i] for a < outer, j < n, i < inner; src element (a, k, i)
// at src + a * src_strides[0] + k * src_strides[1] + i * src_strides[2]; out contiguous
// (outer, n, inner).
template <typename T>
void index_select(const T* src, const int64_t src_strides[3], int64_t outer, int64_t dim, int64_t inner,
                  const int64_t* idx, int64_t n, T* out);

// out[a, idx[j], i] += src[a, j, i] (repeated indices accumulate, in order of j); src
// element (a, j, i) at src + a * src_strides[0] + j * src_strides[1] + i * src_strides[2];
// out contiguous (outer, dim, inner). Deterministic: each output element sums its
// contributions in ascending j whatever the thread count.
template <typename T>
void index_add(const T* src, const int64_t src_strides[3], int64_t outer, int64_t n, int64_t inner,
               const int64_t* idx, int64_t dim, T* out);

// Boolean-mask indexing over n bytes (nonzero = selected): how many are selected, and
// their positions in ascending order into out[0, cap). Both read the bytes with the same
// test, so a count sizes the write exactly whatever the bytes hold. Serial (the output
// cursor is sequential), polling for Ctrl-C.
int64_t count_nonzero(const uint8_t* mask, int64_t n);
void nonzero_positions(const uint8_t* mask, int64_t n, int64_t* out, int64_t cap);

}  // namespace fastgrad::kernels
