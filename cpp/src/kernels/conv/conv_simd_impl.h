// The panel kernel template shared by conv_avx2.cpp and conv_avx512.cpp. Include ONLY
// from those files, after defining the vector traits: everything lives in an anonymous
// namespace so each ISA file keeps its own copy.
//
// Traits X: T, V, Mask, W (lanes), zero(), set1, load (aligned not required: loadu),
// storeu, fmadd(a, b, c) = a*b + c, mask(n) (first n lanes), maskz_loadu, mask_storeu.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "conv_internal.h"

namespace fastgrad::kernels::conv_detail {
namespace {

// MR x (NV*W) register tile: rows i < mr of C from rows of A (rows past mr read row 0
// and are dropped), columns < nr of one packed panel. The sums start from C when
// add_c, else from the bias (or zero).
// Bp's rows are ldb apart (NR for a packed panel; an unpacked B's row stride otherwise:
// then the columns past nr are not read).
// With Off, row k of B is at Bp + offs[k] (an implicit im2col: shifted windows of the
// padded input), read whole: the caller keeps NR elements past every row readable.
template <class X, int MR, int NV, bool Off = false>
inline void panel_tile(int64_t K, const typename X::T* A, int64_t lda, const typename X::T* Bp,
                       typename X::T* C, int64_t ldc, const typename X::T* bias, bool add_c, int64_t mr,
                       int64_t nr, int64_t ldb = NV * X::W, const int64_t* offs = nullptr) {
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
  if (Off || ldb == NR || nr >= NR) {
    for (int64_t k = 0; k < K; ++k) {
      V b[NV];
      const T* bk = Off ? Bp + offs[k] : Bp + k * ldb;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) b[v] = X::loadu(bk + v * X::W);
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        const V av = X::set1(a[r][k]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = X::fmadd(av, b[v], acc[r][v]);
      }
    }
  } else {
    for (int64_t k = 0; k < K; ++k) {
      V b[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const int64_t rem = nr - int64_t(v) * X::W;
        b[v] = rem >= X::W ? X::loadu(Bp + k * ldb + v * X::W)
               : rem > 0   ? X::maskz_loadu(X::mask(rem), Bp + k * ldb + v * X::W)
                           : X::zero();
      }
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        const V av = X::set1(a[r][k]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = X::fmadd(av, b[v], acc[r][v]);
      }
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
// RowsOuter swaps the two inner loops: a row tile of A (MR x KC) then stays in L1 while
// every panel passes over it, for a tall A (the channels-last im2col matrix, larger than
// a 512 KiB L2) against a small packed B (the weight); walking the panels outside would
// stream A from L3 once per panel. Acc adds to C instead of overwriting it.
template <class X, int MR, int NV, int KC, bool RowsOuter = false, bool Acc = false>
void panel_gemm(int64_t M, int64_t N, int64_t K, const typename X::T* A, int64_t lda, const typename X::T* Bp,
                typename X::T* C, int64_t ldc, const typename X::T* bias) {
  constexpr int64_t NR = NV * X::W;
  const int64_t nkb = (K + KC - 1) / KC, kc0 = (K + nkb - 1) / nkb;  // equal blocks
  for (int64_t k0 = 0; k0 < K; k0 += kc0) {
    const int64_t kc = K - k0 < kc0 ? K - k0 : kc0;
    const bool add = Acc || k0 > 0;
    if (RowsOuter) {
      for (int64_t i = 0; i < M; i += MR) {
        const int64_t mr = M - i < MR ? M - i : MR;
        for (int64_t j = 0; j < N; j += NR) {
          const int64_t nr = N - j < NR ? N - j : NR;
          panel_tile<X, MR, NV>(kc, A + i * lda + k0, lda, Bp + (j / NR) * K * NR + k0 * NR, C + i * ldc + j,
                                ldc, bias ? bias + i : nullptr, add, mr, nr);
        }
      }
      continue;
    }
    for (int64_t j = 0; j < N; j += NR) {
      const int64_t nr = N - j < NR ? N - j : NR;
      const typename X::T* panel = Bp + (j / NR) * K * NR + k0 * NR;
      for (int64_t i = 0; i < M; i += MR) {
        const int64_t mr = M - i < MR ? M - i : MR;
        panel_tile<X, MR, NV>(kc, A + i * lda + k0, lda, panel, C + i * ldc + j, ldc,
                              bias ? bias + i : nullptr, add, mr, nr);
      }
    }
  }
}

// C[0:M, 0:N] += A @ B with B an unpacked K x N row-major matrix (B[k*ldb + j]): the
// channels-last gy tile as it is. Column blocks outside, row tiles inside, K in blocks.
template <class X, int MR, int NV, int KC>
void strided_gemm_acc(int64_t M, int64_t N, int64_t K, const typename X::T* A, int64_t lda,
                      const typename X::T* B, int64_t ldb, typename X::T* C, int64_t ldc) {
  constexpr int64_t NR = NV * X::W;
  const int64_t nkb = (K + KC - 1) / KC, kc0 = (K + nkb - 1) / nkb;
  for (int64_t k0 = 0; k0 < K; k0 += kc0) {
    const int64_t kc = K - k0 < kc0 ? K - k0 : kc0;
    for (int64_t j = 0; j < N; j += NR) {
      const int64_t nr = N - j < NR ? N - j : NR;
      for (int64_t i = 0; i < M; i += MR) {
        const int64_t mr = M - i < MR ? M - i : MR;
        panel_tile<X, MR, NV>(kc, A + i * lda + k0, lda, B + k0 * ldb + j, C + i * ldc + j, ldc, nullptr,
                              true, mr, nr, ldb);
      }
    }
  }
}

// C[0:M, 0:N] = A @ B (+ bias[i] on row i) with B[k][j] = xb[offs[k] + j]: the forward
// of a stride-1 channels-first convolution over a padded input without materialising
// the im2col matrix (xb + offs[k] + j must be readable for j < N + NR).
template <class X, int MR, int NV, int KC>
void implicit_gemm(int64_t M, int64_t N, int64_t K, const typename X::T* A, int64_t lda,
                   const typename X::T* xb, const int64_t* offs, typename X::T* C, int64_t ldc,
                   const typename X::T* bias) {
  constexpr int64_t NR = NV * X::W;
  const int64_t nkb = (K + KC - 1) / KC, kc0 = (K + nkb - 1) / nkb;
  for (int64_t k0 = 0; k0 < K; k0 += kc0) {
    const int64_t kc = K - k0 < kc0 ? K - k0 : kc0;
    for (int64_t j = 0; j < N; j += NR) {
      const int64_t nr = N - j < NR ? N - j : NR;
      for (int64_t i = 0; i < M; i += MR) {
        const int64_t mr = M - i < MR ? M - i : MR;
        panel_tile<X, MR, NV, true>(kc, A + i * lda + k0, lda, xb + j, C + i * ldc + j, ldc,
                                    bias ? bias + i : nullptr, k0 > 0, mr, nr, NR, offs + k0);
      }
    }
  }
}

// dst (cols x rows, row stride ldd) = src^T, src rows x cols with row stride lds, in
// 16 x 16 blocks. The float version transposes 8 x 8 blocks in ymm registers (both ISA
// files have AVX2): the scalar loop's column walk through src, at a stride that is
// often a multiple of 4 KiB (a gy tile of an image), cost ~5 cycles per element.
template <typename T>
void transpose_blocked(int64_t rows, int64_t cols, const T* src, int64_t lds, T* dst, int64_t ldd) {
  constexpr int64_t B = 16;
  for (int64_t i0 = 0; i0 < rows; i0 += B)
    for (int64_t j0 = 0; j0 < cols; j0 += B) {
      const int64_t i1 = i0 + B < rows ? i0 + B : rows, j1 = j0 + B < cols ? j0 + B : cols;
      for (int64_t j = j0; j < j1; ++j)
        for (int64_t i = i0; i < i1; ++i) dst[j * ldd + i] = src[i * lds + j];
    }
}

inline void transpose8x8(const float* s, int64_t lds, float* d, int64_t ldd) {
  __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + lds), r2 = _mm256_loadu_ps(s + 2 * lds),
         r3 = _mm256_loadu_ps(s + 3 * lds), r4 = _mm256_loadu_ps(s + 4 * lds),
         r5 = _mm256_loadu_ps(s + 5 * lds), r6 = _mm256_loadu_ps(s + 6 * lds),
         r7 = _mm256_loadu_ps(s + 7 * lds);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1),
               t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3),
               t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
               t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
               u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
               u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
               u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r0 = _mm256_permute2f128_ps(u0, u4, 0x20);
  r1 = _mm256_permute2f128_ps(u1, u5, 0x20);
  r2 = _mm256_permute2f128_ps(u2, u6, 0x20);
  r3 = _mm256_permute2f128_ps(u3, u7, 0x20);
  r4 = _mm256_permute2f128_ps(u0, u4, 0x31);
  r5 = _mm256_permute2f128_ps(u1, u5, 0x31);
  r6 = _mm256_permute2f128_ps(u2, u6, 0x31);
  r7 = _mm256_permute2f128_ps(u3, u7, 0x31);
  _mm256_storeu_ps(d, r0);
  _mm256_storeu_ps(d + ldd, r1);
  _mm256_storeu_ps(d + 2 * ldd, r2);
  _mm256_storeu_ps(d + 3 * ldd, r3);
  _mm256_storeu_ps(d + 4 * ldd, r4);
  _mm256_storeu_ps(d + 5 * ldd, r5);
  _mm256_storeu_ps(d + 6 * ldd, r6);
  _mm256_storeu_ps(d + 7 * ldd, r7);
}

template <typename T>
void transpose_simd(int64_t rows, int64_t cols, const T* src, int64_t lds, T* dst, int64_t ldd) {
  transpose_blocked(rows, cols, src, lds, dst, ldd);
}

template <>
void transpose_simd<float>(int64_t rows, int64_t cols, const float* src, int64_t lds, float* dst,
                           int64_t ldd) {
  const int64_t r8 = rows / 8 * 8, c8 = cols / 8 * 8;
  // 8-row strips, walked along the columns: each strip reads 8 source rows in order.
  for (int64_t i = 0; i < r8; i += 8)
    for (int64_t j = 0; j < c8; j += 8) transpose8x8(src + i * lds + j, lds, dst + j * ldd + i, ldd);
  if (c8 < cols) transpose_blocked(r8, cols - c8, src + c8, lds, dst + c8 * ldd, ldd);
  if (r8 < rows) transpose_blocked(rows - r8, cols, src + r8 * lds, lds, dst + r8, ldd);
}

}  // namespace
}  // namespace fastgrad::kernels::conv_detail
