// AVX2 + FMA vector traits (8 floats / 4 doubles per ymm) shared by the per-ISA kernel
// files of several families (gemm, conv, reduce). Include ONLY from *_avx2.cpp files:
// the structs live in an anonymous namespace, so each file built with -mavx2 -mfma gets
// its own internal copy and no ISA code is merged into baseline callers.
//
// Yf / Yd: T, V, Mask, W; zero, set1, load (aligned), loadu, storeu, add, mul,
// fmadd(a,b,c) = a*b+c, mask(n) (first n lanes), maskz_loadu, mask_storeu, prefetch.
// Yd also: widen(const float*) (W floats as doubles) and hsum (sum of the lanes).
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace fastgrad::kernels::simd {
namespace {

struct Yf {
  using T = float;
  using V = __m256;
  using Mask = __m256i;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V load(const T* p) { return _mm256_load_ps(p); }
  static V loadu(const T* p) { return _mm256_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  // Lane-index vectors compared with n give the first-n-lanes masks of maskstore.
  static Mask mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V maskz_loadu(Mask m, const T* p) { return _mm256_maskload_ps(p, m); }
  static void mask_storeu(T* p, Mask m, V v) { _mm256_maskstore_ps(p, m, v); }
  static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
};

struct Yd {
  using T = double;
  using V = __m256d;
  using Mask = __m256i;
  static constexpr int W = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V load(const T* p) { return _mm256_load_pd(p); }
  static V loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static Mask mask(int64_t n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static V maskz_loadu(Mask m, const T* p) { return _mm256_maskload_pd(p, m); }
  static void mask_storeu(T* p, Mask m, V v) { _mm256_maskstore_pd(p, m, v); }
  static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
  static V widen(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
  static double hsum(V v) {
    const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
};

}  // namespace
}  // namespace fastgrad::kernels::simd
