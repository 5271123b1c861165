// AVX2+FMA convolution panel kernels (built with -mavx2 -mfma; executed only when
// dispatch reports AVX2). 4 x 24 float / 4 x 12 double tiles: 12 ymm accumulators,
// 3 panel vectors and a broadcast in the 16 registers; MR = 4 divides the usual output
// channel counts.
#include <immintrin.h>

#include "../simd/traits_avx2.h"
#include "conv_simd_impl.h"

namespace fastgrad::kernels::conv_detail {
using simd::Yd;
using simd::Yf;

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
