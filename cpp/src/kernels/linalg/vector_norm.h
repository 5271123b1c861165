// The vector-norm reduction of linalg.vector_norm (ops/linalg_norm.cpp): a plain loop over
// pointers, sizes and strides, free of Tensor and autodiff (validation is the caller's).
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

// out[k] = (sum_r |x[kept(k) + reduced(r)]|^ord)^(1/ord), k walking the kept index space in
// row-major order (out is contiguous), each space given by its sizes and strides (in
// elements). ord 2 and 1 take no pow; ord inf / -inf: max / min |x| (the caller rejects an
// empty reduction); ord 0: the count of nonzeros (NaN counts). Accumulates in double (so a
// float32 input neither overflows nor loses digits in the sum); NaN propagates. An empty
// reduction gives 0 for ord >= 0 (torch's value), and (sum of nothing)^(1/ord) = inf for
// ord < 0, which the caller rejects as torch does.
template <typename T>
void vector_norm(double ord, const T* x, const int64_t* kept_shape, const int64_t* kept_strides,
                 int64_t kept_ndim, const int64_t* red_shape, const int64_t* red_strides, int64_t red_ndim,
                 T* out);

}  // namespace fastgrad::kernels
