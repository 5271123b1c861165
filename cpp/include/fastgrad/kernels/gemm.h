// GEMM kernels: plain loops over pointers and strides, free of autodiff.
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

// C = alpha * A @ B + beta * C, every operand given by (pointer, row stride, column
// stride) in elements, so transposed or strided operands need no copies (the packing
// reads them). A is M x K, B is K x N, C is M x N. beta == 0 means C is not read
// (it may hold garbage or NaN). Thread-safe; uses OpenMP internally for big sizes.
template <typename T>
void gemm(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA, int64_t csA, const T* B,
          int64_t rsB, int64_t csB, T beta, T* C, int64_t rsC, int64_t csC);

// batch independent GEMMs: C_b = alpha * A_b @ B_b + beta * C_b for b < batch, with
// X_b = X + b * bsX (batch strides in elements; 0 broadcasts an operand, except for C,
// whose matrices must not overlap). Small matrices are spread over threads by batch
// entry; large ones use the threaded gemm one after another.
template <typename T>
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t bsA,
                  int64_t rsA, int64_t csA, const T* B, int64_t bsB, int64_t rsB, int64_t csB, T beta, T* C,
                  int64_t bsC, int64_t rsC, int64_t csC);

// Single-threaded gemm (same semantics): for callers that parallelise themselves.
template <typename T>
void gemm_serial(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA, int64_t csA, const T* B,
                 int64_t rsB, int64_t csB, T beta, T* C, int64_t rsC, int64_t csC);

}  // namespace fastgrad::kernels
