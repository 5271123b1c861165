// PLACEHOLDER naive GEMM (to be replaced by the packed, dispatched implementation).
#include "fastgrad/kernels/gemm.h"

namespace fastgrad::kernels {

template <typename T>
void gemm(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA, int64_t csA,
          const T* B, int64_t rsB, int64_t csB, T beta, T* C, int64_t rsC, int64_t csC) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += A[i * rsA + k * csA] * B[k * rsB + j * csB];
      T& c = C[i * rsC + j * csC];
      c = beta == T(0) ? alpha * acc : alpha * acc + beta * c;
    }
}

template void gemm<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t,
                          const float*, int64_t, int64_t, float, float*, int64_t, int64_t);
template void gemm<double>(int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t,
                           const double*, int64_t, int64_t, double, double*, int64_t, int64_t);

}  // namespace fastgrad::kernels
