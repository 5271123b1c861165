// AVX2+FMA convolution panel kernels (built with -mavx2 -mfma; executed only when
// dispatch reports AVX2). 4 x 24 float / 4 x 12 double tiles: 12 ymm accumulators,
// 3 panel vectors and a broadcast in the 16 registers; MR = 4 divides the usual output
// channel counts.
#include <immintrin.h>

#include "conv_simd_impl.h"

namespace fastgrad::kernels::conv_detail {
namespace {

// Lane-index vectors compared with n give the first-n-lanes masks of maskstore.
struct Yf {
  using T = float;
  using V = __m256;
  using Mask = __m256i;
  static constexpr int W = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(T x) { return _mm256_set1_ps(x); }
  static V loadu(const T* p) { return _mm256_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm256_storeu_ps(p, v); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static Mask mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V maskz_loadu(Mask m, const T* p) { return _mm256_maskload_ps(p, m); }
  static void mask_storeu(T* p, Mask m, V v) { _mm256_maskstore_ps(p, m, v); }
};

struct Yd {
  using T = double;
  using V = __m256d;
  using Mask = __m256i;
  static constexpr int W = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V set1(T x) { return _mm256_set1_pd(x); }
  static V loadu(const T* p) { return _mm256_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm256_storeu_pd(p, v); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static Mask mask(int64_t n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  static V maskz_loadu(Mask m, const T* p) { return _mm256_maskload_pd(p, m); }
  static void mask_storeu(T* p, Mask m, V v) { _mm256_maskstore_pd(p, m, v); }
};

}  // namespace

const PanelKernel<float>& panel_avx2_f32() {
  static const PanelKernel<float> k{3 * Yf::W, &panel_gemm<Yf, 4, 3, 128>, 2 * Yf::W,
                                    &panel_gemm<Yf, 6, 2, 128>};
  return k;
}

const PanelKernel<double>& panel_avx2_f64() {
  static const PanelKernel<double> k{3 * Yd::W, &panel_gemm<Yd, 4, 3, 128>, 2 * Yd::W,
                                     &panel_gemm<Yd, 6, 2, 128>};
  return k;
}

}  // namespace fastgrad::kernels::conv_detail
