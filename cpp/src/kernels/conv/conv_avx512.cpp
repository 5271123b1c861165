// AVX-512 convolution panel kernels (built with -mavx512f/bw/dq/vl; executed only when
// dispatch reports AVX-512). 8 x 48 float / 8 x 24 double tiles: 24 zmm accumulators,
// 3 panel vectors and a broadcast in the 32 registers; MR = 8 divides the usual output
// channel counts (the rows), so no tile is partly empty.
#include <immintrin.h>

#include "../simd/traits_avx512.h"
#include "conv_simd_impl.h"

namespace fastgrad::kernels::conv_detail {
using simd::Zd;
using simd::Zf;

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
