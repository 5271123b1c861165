// AVX2 + FMA GEMM micro-kernels (built with -mavx2 -mfma; executed only when dispatch
// reports AVX2). 16 ymm registers: a 6x16 float / 6x8 double tile uses 12
// accumulators + 2 B vectors + 1 broadcast.
#include <immintrin.h>

#include "../simd/traits_avx2.h"
#include "gemm_simd_impl.h"

namespace fastgrad::kernels::gemm_detail {
namespace {

using simd::Yd;
using simd::Yf;

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
