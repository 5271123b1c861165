// Portable GEMM kernels (baseline x86-64 / any target): plain C++ the compiler can
// auto-vectorise with whatever the baseline offers (SSE2 on x86-64).
#include <cstdint>

#include "gemm_internal.h"

namespace fastgrad::kernels::gemm_detail {
namespace {

template <typename T, int MR, int NR>
void micro_scalar(int64_t kc, const T* Ap, int64_t a_rs, int64_t a_cs, const T* Bp, T* C, int64_t rsC,
                  int64_t csC, T alpha, T beta, int64_t mr, int64_t nr) {
  T acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    for (int r = 0; r < MR; ++r) {
      const T a = Ap[r * a_rs];
      for (int c = 0; c < NR; ++c) acc[r][c] += a * Bp[c];
    }
    Ap += a_cs;
    Bp += NR;
  }
  for (int64_t r = 0; r < mr; ++r)
    for (int64_t c = 0; c < nr; ++c) {
      T& dst = C[r * rsC + c * csC];
      const T val = alpha * acc[r][c];
      dst = beta != T(0) ? val + beta * dst : val;
    }
}

// i-k-j order: the inner loop runs along contiguous rows of B and C.
template <typename T>
void small_scalar(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA, int64_t csA, const T* B,
                  int64_t rsB, T beta, T* C, int64_t rsC) {
  for (int64_t i = 0; i < M; ++i) {
    T* c = C + i * rsC;
    if (beta == T(0)) {
      for (int64_t j = 0; j < N; ++j) c[j] = T(0);
    } else if (beta != T(1)) {
      for (int64_t j = 0; j < N; ++j) c[j] *= beta;
    }
    for (int64_t k = 0; k < K; ++k) {
      const T a = alpha * A[i * rsA + k * csA];
      const T* b = B + k * rsB;
      for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
    }
  }
}

}  // namespace

const KernelSet<float>& kernels_scalar_f32() {
  static const KernelSet<float> ks{4, 8, 256, 4 * 32, 4096, &micro_scalar<float, 4, 8>, &small_scalar<float>};
  return ks;
}

const KernelSet<double>& kernels_scalar_f64() {
  static const KernelSet<double> ks{
      4, 4, 256, 4 * 32, 4096, &micro_scalar<double, 4, 4>, &small_scalar<double>};
  return ks;
}

}  // namespace fastgrad::kernels::gemm_detail
