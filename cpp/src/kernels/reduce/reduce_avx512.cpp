// AVX-512 run kernels of the float reductions (8 doubles per vector).
#include <immintrin.h>

#include "reduce_runs_simd.h"

namespace fastgrad::kernels::reduce_detail {
namespace {

struct Z {
  using D = __m512d;
  static constexpr int64_t W = 8;
  static D zero() { return _mm512_setzero_pd(); }
  static D add(D a, D b) { return _mm512_add_pd(a, b); }
  static D mul(D a, D b) { return _mm512_mul_pd(a, b); }
  static D fmadd(D a, D b, D c) { return _mm512_fmadd_pd(a, b, c); }
  // (the maskz form: GCC 12 warns about _mm512_cvtps_pd's undefined pass-through)
  static D widen(const float* p) { return _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(p)); }
  static D loadd(const double* p) { return _mm512_loadu_pd(p); }
  static void storeu(double* p, D v) { _mm512_storeu_pd(p, v); }
  static double hsum(D v) {  // (GCC 12's _mm512_reduce_add_pd trips -Wuninitialized)
    alignas(64) double t[8];
    _mm512_store_pd(t, v);
    return ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
  }
};

}  // namespace

const RunKernels& run_kernels_avx512() { return table<Z>(); }

}  // namespace fastgrad::kernels::reduce_detail
