// AVX2 + FMA run kernels of the float reductions (4 doubles per vector).
#include <immintrin.h>

#include "reduce_runs_simd.h"

namespace fastgrad::kernels::reduce_detail {
namespace {

struct Y {
  using D = __m256d;
  static constexpr int64_t W = 4;
  static D zero() { return _mm256_setzero_pd(); }
  static D add(D a, D b) { return _mm256_add_pd(a, b); }
  static D mul(D a, D b) { return _mm256_mul_pd(a, b); }
  static D fmadd(D a, D b, D c) { return _mm256_fmadd_pd(a, b, c); }
  static D widen(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
  static D loadd(const double* p) { return _mm256_loadu_pd(p); }
  static void storeu(double* p, D v) { _mm256_storeu_pd(p, v); }
  static double hsum(D v) {
    const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
};

}  // namespace

const RunKernels& run_kernels_avx2() { return table<Y>(); }

}  // namespace fastgrad::kernels::reduce_detail
