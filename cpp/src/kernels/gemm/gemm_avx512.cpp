// AVX-512 GEMM micro-kernels (built with -mavx512f/bw/dq/vl; executed only when
// dispatch reports AVX-512). On Zen 4 a zmm FMA issues once per cycle per core
// (double-pumped 256-bit pipes), so a tile needs >= 4 (latency x throughput)
// independent accumulators and few loads per FMA; 6x64 (float) / 6x32 (double) keeps
// 24 zmm accumulators + 4 B vectors + 1 broadcast in the 32 registers.
#include <immintrin.h>

#include "../simd/traits_avx512.h"
#include "gemm_simd_impl.h"

namespace fastgrad::kernels::gemm_detail {
namespace {

using simd::Zd;
using simd::Zf;

// Tiles and blocking measured on Zen 4 (32 KiB L1d, 1 MiB L2): 6x64 float / 6x32
// double beat 14x32 / 14x16 by ~5% (fewer broadcasts per FMA: 6 per 24 instead of 14
// per 28). KC = 256 keeps the A micro-panel (6 KiB float) in L1 while B micro-panels
// stream from L2; MC = 96 keeps the packed A block at 96-192 KiB of L2.
// On a Sapphire-Rapids-class Xeon (48 KiB L1d, 2 MiB L2; 2 zmm FMAs per cycle) the 6x64
// micro-kernel runs at ~85% of the measured FMA peak with its panels in L1 (kc = 128);
// KC 128/256/384/512, MC 96-288, NC 512-4096 and 12x32 / 14x32 tiles all measured
// within the machine's noise (+-10% per CPU second) of these values, so they stay.
// The macros let a tuning build try other values (-DFG_Z_MR_F=... etc.).
#ifndef FG_Z_MR_F
#define FG_Z_MR_F 6
#define FG_Z_NV_F 4
#endif
#ifndef FG_Z_MR_D
#define FG_Z_MR_D 6
#define FG_Z_NV_D 4
#endif
#ifndef FG_Z_KC_F
#define FG_Z_KC_F 256
#endif
#ifndef FG_Z_MC_F
#define FG_Z_MC_F 96
#endif
#ifndef FG_Z_NC_F
#define FG_Z_NC_F 4096
#endif
#ifndef FG_Z_KC_D
#define FG_Z_KC_D 256
#endif
#ifndef FG_Z_MC_D
#define FG_Z_MC_D 96
#endif

}  // namespace

const KernelSet<float>& kernels_avx512_f32() {
  static const KernelSet<float> ks{FG_Z_MR_F,
                                   FG_Z_NV_F * 16,
                                   FG_Z_KC_F,
                                   FG_Z_MC_F,
                                   FG_Z_NC_F,
                                   &micro_kernel<Zf, FG_Z_MR_F, FG_Z_NV_F>,
                                   &small_gemm<Zf, 6, 4>};
  return ks;
}

const KernelSet<double>& kernels_avx512_f64() {
  static const KernelSet<double> ks{FG_Z_MR_D,
                                    FG_Z_NV_D * 8,
                                    FG_Z_KC_D,
                                    FG_Z_MC_D,
                                    4096,
                                    &micro_kernel<Zd, FG_Z_MR_D, FG_Z_NV_D>,
                                    &small_gemm<Zd, 6, 4>};
  return ks;
}

}  // namespace fastgrad::kernels::gemm_detail
