// AVX2 + FMA float32 unary kernels (8 lanes): the shared algorithm of unary_math.h.
#include <immintrin.h>

#include <cstdint>

#include "unary_internal.h"
#include "unary_math.h"

namespace fastgrad::kernels::unary_detail {
namespace {

struct V8 {
  __m256 v;
};
FG_UNARY_INLINE V8 operator+(V8 a, V8 b) { return {_mm256_add_ps(a.v, b.v)}; }
FG_UNARY_INLINE V8 operator-(V8 a, V8 b) { return {_mm256_sub_ps(a.v, b.v)}; }
FG_UNARY_INLINE V8 operator*(V8 a, V8 b) { return {_mm256_mul_ps(a.v, b.v)}; }
FG_UNARY_INLINE V8 operator/(V8 a, V8 b) { return {_mm256_div_ps(a.v, b.v)}; }
FG_UNARY_INLINE V8 operator-(V8 a) { return {_mm256_xor_ps(a.v, _mm256_set1_ps(-0.0f))}; }

struct S8 {
  using V = V8;
  using M = __m256;
  static constexpr int W = 8;
  static FG_UNARY_INLINE V set(float v) { return {_mm256_set1_ps(v)}; }
  static FG_UNARY_INLINE V load(const float* p) { return {_mm256_loadu_ps(p)}; }
  static FG_UNARY_INLINE void store(float* p, V v) { _mm256_storeu_ps(p, v.v); }
  static FG_UNARY_INLINE V fma(V a, V b, V c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
  static FG_UNARY_INLINE V min(V a, V b) { return {_mm256_min_ps(a.v, b.v)}; }
  static FG_UNARY_INLINE V max(V a, V b) { return {_mm256_max_ps(a.v, b.v)}; }
  static FG_UNARY_INLINE V abs(V a) { return {_mm256_andnot_ps(_mm256_set1_ps(-0.0f), a.v)}; }
  static FG_UNARY_INLINE V copysign(V mag, V sgn) {
    const __m256 s = _mm256_set1_ps(-0.0f);
    return {_mm256_or_ps(_mm256_andnot_ps(s, mag.v), _mm256_and_ps(s, sgn.v))};
  }
  static FG_UNARY_INLINE V select(M m, V a, V b) { return {_mm256_blendv_ps(b.v, a.v, m)}; }
  static FG_UNARY_INLINE M lt(V a, V b) { return _mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ); }
  static FG_UNARY_INLINE bool all(M m) { return _mm256_movemask_ps(m) == 0xFF; }
  static FG_UNARY_INLINE bool none(M m) { return _mm256_movemask_ps(m) == 0; }
  static FG_UNARY_INLINE M gt(V a, V b) { return _mm256_cmp_ps(a.v, b.v, _CMP_GT_OQ); }
  static FG_UNARY_INLINE M isnan(V a) { return _mm256_cmp_ps(a.v, a.v, _CMP_UNORD_Q); }
  // blendv only looks at the sign bit, so the value itself is the mask.
  static FG_UNARY_INLINE M signbit(V a) { return a.v; }
  static FG_UNARY_INLINE M is_zero_bits(V a) {
    const __m256i b = _mm256_castps_si256(abs(a).v);
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(b, _mm256_setzero_si256()));
  }
  static FG_UNARY_INLINE V round(V x) {
    return {_mm256_round_ps(x.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
  }
  static FG_UNARY_INLINE __m256 pow2i(__m256i n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
  }
  static FG_UNARY_INLINE V ldexp(V y, V k) {
    const __m256i ki = _mm256_cvtps_epi32(k.v);
    const __m256i k1 = _mm256_srai_epi32(ki, 1);
    const __m256i k2 = _mm256_sub_epi32(ki, k1);
    return {_mm256_mul_ps(_mm256_mul_ps(y.v, pow2i(k1)), pow2i(k2))};
  }
  // Adds k to the exponent field: 3 instructions where ldexp takes 9 (exp_core's scaling,
  // whose results outside the normal range are replaced by the caller).
  static FG_UNARY_INLINE V ldexp_normal(V y, V k) {
    const __m256i e = _mm256_slli_epi32(_mm256_cvtps_epi32(k.v), 23);
    return {_mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(y.v), e))};
  }
  static FG_UNARY_INLINE void frexp1(V x, V& m, V& e) {
    __m256i b = _mm256_castps_si256(x.v);
    // Signed compare: positive denormals and zero (negatives are fixed by the caller).
    const __m256i den = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x00800000), b);
    const __m256i bd = _mm256_castps_si256(_mm256_cvtepi32_ps(b));
    b = _mm256_blendv_epi8(b, bd, den);
    const __m256 adj = _mm256_and_ps(_mm256_castsi256_ps(den), _mm256_set1_ps(-149.0f));
    const __m256i ex = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(b, 23), _mm256_set1_epi32(0xff)),
                                        _mm256_set1_epi32(127));
    e = {_mm256_add_ps(_mm256_cvtepi32_ps(ex), adj)};
    m = {_mm256_castsi256_ps(
        _mm256_or_si256(_mm256_and_si256(b, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f800000)))};
  }
  static FG_UNARY_INLINE __m256d w_pd(__m256d a) {
    const __m256d a2 = _mm256_mul_pd(a, a);
    const __m256d t = _mm256_fmadd_pd(a2, _mm256_set1_pd(-2.0 * 0.79788456080286535588 * 0.044715),
                                      _mm256_set1_pd(-2.0 * 0.79788456080286535588));
    return _mm256_mul_pd(a, t);
  }
  static FG_UNARY_INLINE void gelu_tanh_w(V a, V& hi, V& lo) {
    const __m256d w0 = w_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a.v)));
    const __m256d w1 = w_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(a.v, 1)));
    const __m128 h0 = _mm256_cvtpd_ps(w0), h1 = _mm256_cvtpd_ps(w1);
    const __m128 l0 = _mm256_cvtpd_ps(_mm256_sub_pd(w0, _mm256_cvtps_pd(h0)));
    const __m128 l1 = _mm256_cvtpd_ps(_mm256_sub_pd(w1, _mm256_cvtps_pd(h1)));
    hi = {_mm256_insertf128_ps(_mm256_castps128_ps256(h0), h1, 1)};
    lo = {_mm256_insertf128_ps(_mm256_castps128_ps256(l0), l1, 1)};
  }
};

}  // namespace

void unary_f32_avx2(UnaryOp op, const float* x, float* y, int64_t n) { run_unary<S8>(op, x, y, n); }
void bwd_f32_avx2(UnaryOp dop, const float* x, const float* gy, float* gx, int64_t n) {
  run_unary_bwd<S8>(dop, x, gy, gx, n);
}
void out_bwd_f32_avx2(bool is_tanh, const float* y, const float* gy, float* gx, int64_t n) {
  run_output_bwd<S8>(is_tanh, y, gy, gx, n);
}

}  // namespace fastgrad::kernels::unary_detail
