// Batched matrix products over broadcast batch dimensions: plain loops over pointers,
// sizes and strides (in elements), free of Tensor and autodiff.
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

// Offsets of batch entry i (row-major over `batch`) in two operands whose batch strides
// are sa and sb (0 on broadcast axes): the one batch-offset walk every batched loop uses.
inline void batch_offsets(int64_t i, const int64_t* batch, const int64_t* sa, const int64_t* sb, int64_t nd,
                          int64_t& oa, int64_t& ob) {
  oa = 0;
  ob = 0;
  for (int64_t d = nd - 1; d >= 0; --d) {
    const int64_t j = i % batch[d];
    i /= batch[d];
    oa += j * sa[d];
    ob += j * sb[d];
  }
}

// out[i] = A[i] @ B[i] for every batch entry i of the batch_ndim-dim index space `batch`,
// with A's batch strides sa and B's sb (0 broadcasts); A[i] (M x K) at a + batch offset with
// (row, column) strides (rsA, csA), B[i] (K x N) likewise; out is contiguous
// (batch..., M, N). Floats go through kernels::gemm (small entries spread over threads
// by batch entry); int64 is a plain loop wrapping modulo 2^64 (NumPy, PyTorch).
template <typename T>
void batched_matmul(const int64_t* batch, const int64_t* sa, const int64_t* sb, int64_t batch_ndim, int64_t M,
                    int64_t N, int64_t K, const T* a, int64_t rsA, int64_t csA, const T* b, int64_t rsB,
                    int64_t csB, T* out);

}  // namespace fastgrad::kernels
