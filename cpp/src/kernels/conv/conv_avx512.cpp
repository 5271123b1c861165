// AVX-512 convolution panel kernels (built with -mavx512f/bw/dq/vl; executed only when
// dispatch reports AVX-512). 8 x 48 float / 8 x 24 double tiles: 24 zmm accumulators,
// 3 panel vectors and a broadcast in the 32 registers; MR = 8 divides the usual output
// channel counts (the rows), so no tile is partly empty.
#include <immintrin.h>

#include "conv_simd_impl.h"

namespace fastgrad::kernels::conv_detail {
namespace {

struct Zf {
  using T = float;
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int W = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(T x) { return _mm512_set1_ps(x); }
  static V loadu(const T* p) { return _mm512_loadu_ps(p); }
  static void storeu(T* p, V v) { _mm512_storeu_ps(p, v); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static Mask mask(int64_t n) { return static_cast<Mask>((1u << n) - 1u); }
  static V maskz_loadu(Mask m, const T* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void mask_storeu(T* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }
};

struct Zd {
  using T = double;
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr int W = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V set1(T x) { return _mm512_set1_pd(x); }
  static V loadu(const T* p) { return _mm512_loadu_pd(p); }
  static void storeu(T* p, V v) { _mm512_storeu_pd(p, v); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static Mask mask(int64_t n) { return static_cast<Mask>((1u << n) - 1u); }
  static V maskz_loadu(Mask m, const T* p) { return _mm512_maskz_loadu_pd(m, p); }
  static void mask_storeu(T* p, Mask m, V v) { _mm512_mask_storeu_pd(p, m, v); }
};

}  // namespace

const PanelKernel<float>& panel_avx512_f32() {
  static const PanelKernel<float> k{3 * Zf::W, &panel_gemm<Zf, 8, 3, 128>, 2 * Zf::W,
                                    &panel_gemm<Zf, 12, 2, 128>};
  return k;
}

const PanelKernel<double>& panel_avx512_f64() {
  static const PanelKernel<double> k{3 * Zd::W, &panel_gemm<Zd, 8, 3, 128>, 2 * Zd::W,
                                     &panel_gemm<Zd, 12, 2, 128>};
  return k;
}

}  // namespace fastgrad::kernels::conv_detail
