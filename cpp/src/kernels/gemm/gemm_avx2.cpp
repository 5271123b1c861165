// AVX2 + FMA GEMM micro-kernels (built with -mavx2 -mfma; executed only when dispatch
// reports AVX2). 16 ymm registers: a 6x16 float / 6x8 double tile uses 12
// accumulators + 2 B vectors + 1 broadcast.
#include <immintrin.h>

#include "gemm_simd_impl.h"

namespace fastgrad::kernels::gemm_detail {
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
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
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
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static Mask mask(int64_t n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static V maskz_loadu(Mask m, const T* p) { return _mm256_maskload_pd(p, m); }
  static void mask_storeu(T* p, Mask m, V v) { _mm256_maskstore_pd(p, m, v); }
  static void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
};

#ifndef FG_Y_MR
#define FG_Y_MR 6
#define FG_Y_NV 2
#endif
#ifndef FG_Y_KC
#define FG_Y_KC 256
#endif

}  // namespace

const KernelSet<float>& kernels_avx2_f32() {
  static const KernelSet<float> ks{FG_Y_MR,
                                   FG_Y_NV * 8,
                                   FG_Y_KC,
                                   FG_Y_MR * 24,
                                   4096,
                                   &micro_kernel<Yf, FG_Y_MR, FG_Y_NV>,
                                   &small_gemm<Yf, 6, 2>};
  return ks;
}

const KernelSet<double>& kernels_avx2_f64() {
  static const KernelSet<double> ks{FG_Y_MR,
                                    FG_Y_NV * 4,
                                    FG_Y_KC,
                                    FG_Y_MR * 16,
                                    4096,
                                    &micro_kernel<Yd, FG_Y_MR, FG_Y_NV>,
                                    &small_gemm<Yd, 6, 2>};
  return ks;
}

}  // namespace fastgrad::kernels::gemm_detail
