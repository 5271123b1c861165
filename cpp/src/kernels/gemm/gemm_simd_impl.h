// SIMD micro-kernel and small-matrix kernel templates, shared by gemm_avx2.cpp and
// gemm_avx512.cpp. Include ONLY from those files, after defining the vector traits:
// everything here lives in an anonymous namespace so each ISA file gets its own
// internal copy (no ODR merging of code built with different ISA flags).
//
// A traits class X provides: T, V (vector), Mask, W (lanes), zero(), set1(T),
// load(const T*) (aligned), loadu, storeu, fmadd(a,b,c)=a*b+c, mul, mask(n) (first n
// lanes, 0 <= n <= W), maskz_loadu(Mask, const T*), mask_storeu(T*, Mask, V),
// prefetch(const void*).
#pragma once
#include <cstdint>

#include "gemm_internal.h"

namespace fastgrad::kernels::gemm_detail {
namespace {

// Writes alpha*acc + beta*C for one row segment of nv vectors, of which the first
// `cols` columns are valid (cols may exceed nv*W: then all are valid).
template <class X, int NV>
inline void store_row(typename X::T* c, const typename X::V* acc, typename X::V va, typename X::V vb,
                      bool read_c, bool scale, int64_t cols) {
  using V = typename X::V;
  if (cols >= NV * X::W) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      V r = scale ? X::mul(va, acc[v]) : acc[v];
      if (read_c) r = X::fmadd(vb, X::loadu(c + v * X::W), r);
      X::storeu(c + v * X::W, r);
    }
  } else {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      const int64_t rem = cols - int64_t(v) * X::W;
      if (rem <= 0) break;
      const auto m = X::mask(rem < X::W ? rem : X::W);
      V r = scale ? X::mul(va, acc[v]) : acc[v];
      if (read_c) r = X::fmadd(vb, X::maskz_loadu(m, c + v * X::W), r);
      X::mask_storeu(c + v * X::W, m, r);
    }
  }
}

// MR x (NV*W) register tile over packed panels (see MicroKernel in gemm_internal.h).
template <class X, int MR, int NV>
void micro_kernel(int64_t kc, const typename X::T* Ap, int64_t a_rs, int64_t a_cs, const typename X::T* Bp,
                  typename X::T* C, int64_t rsC, int64_t csC, typename X::T alpha, typename X::T beta,
                  int64_t mr, int64_t nr) {
  using T = typename X::T;
  using V = typename X::V;
  constexpr int NR = NV * X::W;
  V acc[MR][NV];
#pragma GCC unroll 32
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = X::zero();

  // Every cache line of the C tile (C is usually outside L1 and L2 by the time its tile
  // comes round again: touching only a row's first and last line left the middle lines
  // to demand misses in the epilogue, ~15% of a kc = 256 call on Sapphire Rapids).
  if (csC == 1) {
    constexpr int kRowBytes = NR * int(sizeof(T));
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r) {
      if (r < mr) {
        const char* row = reinterpret_cast<const char*>(C + r * rsC);
#pragma GCC unroll 8
        for (int b = 0; b < kRowBytes; b += 64) X::prefetch(row + b);
        X::prefetch(row + kRowBytes - 1);
      }
    }
  }

  for (int64_t k = 0; k < kc; ++k) {
    V b[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) b[v] = X::load(Bp + v * X::W);
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r) {
      const V a = X::set1(Ap[r * a_rs]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = X::fmadd(a, b[v], acc[r][v]);
    }
    Ap += a_cs;
    Bp += NR;
  }

  const V va = X::set1(alpha), vb = X::set1(beta);
  const bool read_c = beta != T(0), scale = alpha != T(1);
  if (csC == 1) {
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
      if (r < mr) store_row<X, NV>(C + r * rsC, acc[r], va, vb, read_c, scale, nr);
  } else {
    alignas(64) T tmp[MR * NR];
#pragma GCC unroll 32
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) X::storeu(tmp + r * NR + v * X::W, acc[r][v]);
    for (int64_t r = 0; r < mr; ++r)
      for (int64_t c = 0; c < nr; ++c) {
        T& dst = C[r * rsC + c * csC];
        const T val = alpha * tmp[r * NR + c];
        dst = read_c ? val + beta * dst : val;
      }
  }
}

// RB rows x NV vectors of C straight from unpacked A and B (B rows contiguous): the
// small-matrix path, where packing would cost as much as the arithmetic.
template <class X, int RB, int NV>
void small_block(int64_t K, typename X::T alpha, const typename X::T* A, int64_t rsA, int64_t csA,
                 const typename X::T* B, int64_t rsB, typename X::T beta, typename X::T* C, int64_t rsC,
                 int64_t cols) {
  using T = typename X::T;
  using V = typename X::V;
  V acc[RB][NV];
#pragma GCC unroll 16
  for (int r = 0; r < RB; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = X::zero();
  const bool full = cols >= NV * X::W;
  typename X::Mask last = X::mask(full ? X::W : cols - (NV - 1) * X::W);
  for (int64_t k = 0; k < K; ++k) {
    const T* brow = B + k * rsB;
    V b[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) b[v] = X::loadu(brow + v * X::W);
    b[NV - 1] = full ? X::loadu(brow + (NV - 1) * X::W) : X::maskz_loadu(last, brow + (NV - 1) * X::W);
#pragma GCC unroll 16
    for (int r = 0; r < RB; ++r) {
      const V a = X::set1(A[r * rsA + k * csA]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = X::fmadd(a, b[v], acc[r][v]);
    }
  }
  const V va = X::set1(alpha), vb = X::set1(beta);
  const bool read_c = beta != T(0), scale = alpha != T(1);
#pragma GCC unroll 16
  for (int r = 0; r < RB; ++r) store_row<X, NV>(C + r * rsC, acc[r], va, vb, read_c, scale, cols);
}

template <class X>
using SmallBlockFn = void (*)(int64_t, typename X::T, const typename X::T*, int64_t, int64_t,
                              const typename X::T*, int64_t, typename X::T, typename X::T*, int64_t, int64_t);

// Row blocks of up to RBMAX rows, column blocks of up to NVMAX vectors.
template <class X, int RBMAX, int NVMAX>
struct SmallTable {
  SmallBlockFn<X> fn[RBMAX][NVMAX];
  template <int R, int N>
  static constexpr void fill(SmallTable& t) {
    t.fn[R - 1][N - 1] = &small_block<X, R, N>;
    if constexpr (N > 1)
      fill<R, N - 1>(t);
    else if constexpr (R > 1)
      fill<R - 1, NVMAX>(t);
  }
  SmallTable() { fill<RBMAX, NVMAX>(*this); }
};

template <class X, int RBMAX, int NVMAX>
void small_gemm(int64_t M, int64_t N, int64_t K, typename X::T alpha, const typename X::T* A, int64_t rsA,
                int64_t csA, const typename X::T* B, int64_t rsB, typename X::T beta, typename X::T* C,
                int64_t rsC) {
  static const SmallTable<X, RBMAX, NVMAX> table;
  constexpr int64_t NB = int64_t(NVMAX) * X::W;
  for (int64_t j0 = 0; j0 < N; j0 += NB) {
    const int64_t cols = N - j0 < NB ? N - j0 : NB;
    const int64_t nv = (cols + X::W - 1) / X::W;
    for (int64_t i0 = 0; i0 < M; i0 += RBMAX) {
      const int64_t rb = M - i0 < RBMAX ? M - i0 : RBMAX;
      table.fn[rb - 1][nv - 1](K, alpha, A + i0 * rsA, rsA, csA, B + j0, rsB, beta, C + i0 * rsC + j0, rsC,
                               cols);
    }
  }
}

}  // namespace
}  // namespace fastgrad::kernels::gemm_detail
