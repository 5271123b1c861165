// The panel kernel template shared by conv_avx2.cpp and conv_avx512.cpp. Include ONLY
// from those files, after defining the vector traits: everything lives in an anonymous
// namespace so each ISA file keeps its own copy.
//
// Traits X: T, V, Mask, W (lanes), zero(), set1, load (aligned not required: loadu),
// storeu, fmadd(a, b, c) = a*b + c, mask(n) (first n lanes), maskz_loadu, mask_storeu.
#pragma once
#include <cstdint>

#include "conv_internal.h"

namespace fastgrad::kernels::conv_detail {
namespace {

// MR x (NV*W) register tile: rows i < mr of C from rows of A (rows past mr read row 0
// and are dropped), columns < nr of one packed panel. The sums start from C when
// add_c, else from the bias (or zero).
template <class X, int MR, int NV>
inline void panel_tile(int64_t K, const typename X::T* A, int64_t lda, const typename X::T* Bp,
                       typename X::T* C, int64_t ldc, const typename X::T* bias, bool add_c, int64_t mr,
                       int64_t nr) {
  using T = typename X::T;
  using V = typename X::V;
  constexpr int NR = NV * X::W;
  const T* a[MR];
  V acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    a[r] = A + (r < mr ? r : 0) * lda;
    if (add_c && r < mr) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const int64_t rem = nr - int64_t(v) * X::W;
        acc[r][v] = rem >= X::W ? X::loadu(C + r * ldc + v * X::W)
                    : rem > 0   ? X::maskz_loadu(X::mask(rem), C + r * ldc + v * X::W)
                                : X::zero();
      }
      continue;
    }
    const V b0 = bias ? X::set1(bias[r < mr ? r : 0]) : X::zero();
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = b0;
  }
  for (int64_t k = 0; k < K; ++k) {
    V b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = X::loadu(Bp + k * NR + v * X::W);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const V av = X::set1(a[r][k]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = X::fmadd(av, b[v], acc[r][v]);
    }
  }
  if (nr >= NR) {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
      if (r < mr)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) X::storeu(C + r * ldc + v * X::W, acc[r][v]);
  } else {
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r)
      if (r < mr)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
          const int64_t rem = nr - int64_t(v) * X::W;
          if (rem <= 0) break;
          X::mask_storeu(C + r * ldc + v * X::W, X::mask(rem < X::W ? rem : X::W), acc[r][v]);
        }
  }
}

// K is walked in blocks of KC so a block of a panel (KC x NR, 24 KiB) stays in L1 while
// every row tile of C passes over it; C is re-read once per block after the first.
template <class X, int MR, int NV, int KC>
void panel_gemm(int64_t M, int64_t N, int64_t K, const typename X::T* A, int64_t lda, const typename X::T* Bp,
                typename X::T* C, int64_t ldc, const typename X::T* bias) {
  constexpr int64_t NR = NV * X::W;
  const int64_t nkb = (K + KC - 1) / KC, kc0 = (K + nkb - 1) / nkb;  // equal blocks
  for (int64_t k0 = 0; k0 < K; k0 += kc0) {
    const int64_t kc = K - k0 < kc0 ? K - k0 : kc0;
    for (int64_t j = 0; j < N; j += NR) {
      const int64_t nr = N - j < NR ? N - j : NR;
      const typename X::T* panel = Bp + (j / NR) * K * NR + k0 * NR;
      for (int64_t i = 0; i < M; i += MR) {
        const int64_t mr = M - i < MR ? M - i : MR;
        panel_tile<X, MR, NV>(kc, A + i * lda + k0, lda, panel, C + i * ldc + j, ldc,
                              bias ? bias + i : nullptr, k0 > 0, mr, nr);
      }
    }
  }
}

}  // namespace
}  // namespace fastgrad::kernels::conv_detail
