// AVX-512 float32 unary kernels (16 lanes): the shared algorithm of unary_math.h.
// scalef does the 2^k scaling with correct overflow/underflow in one instruction.
// GCC 12 falsely warns about _mm512_undefined_ps() (self-initialised on purpose) once the
// intrinsics inline (GCC PR105593); the pragma covers the header lines it reports.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

#include "unary_internal.h"
#include "unary_math.h"

namespace fastgrad::kernels::unary_detail {
namespace {

struct V16 {
  __m512 v;
};
FG_UNARY_INLINE V16 operator+(V16 a, V16 b) { return {_mm512_add_ps(a.v, b.v)}; }
FG_UNARY_INLINE V16 operator-(V16 a, V16 b) { return {_mm512_sub_ps(a.v, b.v)}; }
FG_UNARY_INLINE V16 operator*(V16 a, V16 b) { return {_mm512_mul_ps(a.v, b.v)}; }
FG_UNARY_INLINE V16 operator/(V16 a, V16 b) { return {_mm512_div_ps(a.v, b.v)}; }
FG_UNARY_INLINE V16 operator-(V16 a) { return {_mm512_xor_ps(a.v, _mm512_set1_ps(-0.0f))}; }

struct S16 {
  using V = V16;
  using M = __mmask16;
  static constexpr int W = 16;
  static FG_UNARY_INLINE V set(float v) { return {_mm512_set1_ps(v)}; }
  static FG_UNARY_INLINE V load(const float* p) { return {_mm512_loadu_ps(p)}; }
  static FG_UNARY_INLINE void store(float* p, V v) { _mm512_storeu_ps(p, v.v); }
  static FG_UNARY_INLINE V fma(V a, V b, V c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
  static FG_UNARY_INLINE V min(V a, V b) { return {_mm512_min_ps(a.v, b.v)}; }
  static FG_UNARY_INLINE V max(V a, V b) { return {_mm512_max_ps(a.v, b.v)}; }
  static FG_UNARY_INLINE V abs(V a) { return {_mm512_abs_ps(a.v)}; }
  static FG_UNARY_INLINE V copysign(V mag, V sgn) {
    // ternarylogic 0xCA: bitwise A ? B : C with A = sign-bit mask, B = sgn, C = mag.
    const __m512i s = _mm512_set1_epi32(static_cast<int>(0x80000000u));
    return {_mm512_castsi512_ps(
        _mm512_ternarylogic_epi32(s, _mm512_castps_si512(sgn.v), _mm512_castps_si512(mag.v), 0xCA))};
  }
  static FG_UNARY_INLINE V select(M m, V a, V b) { return {_mm512_mask_blend_ps(m, b.v, a.v)}; }
  static FG_UNARY_INLINE M lt(V a, V b) { return _mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ); }
  static FG_UNARY_INLINE bool all(M m) { return m == 0xFFFF; }
  static FG_UNARY_INLINE bool none(M m) { return m == 0; }
  static FG_UNARY_INLINE M gt(V a, V b) { return _mm512_cmp_ps_mask(a.v, b.v, _CMP_GT_OQ); }
  static FG_UNARY_INLINE M isnan(V a) { return _mm512_cmp_ps_mask(a.v, a.v, _CMP_UNORD_Q); }
  static FG_UNARY_INLINE M signbit(V a) { return _mm512_movepi32_mask(_mm512_castps_si512(a.v)); }
  static FG_UNARY_INLINE M is_zero_bits(V a) {
    return _mm512_testn_epi32_mask(_mm512_castps_si512(a.v), _mm512_set1_epi32(0x7fffffff));
  }
  static FG_UNARY_INLINE V round(V x) {
    return {_mm512_roundscale_ps(x.v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)};
  }
  static FG_UNARY_INLINE V ldexp(V y, V k) { return {_mm512_scalef_ps(y.v, k.v)}; }
  static FG_UNARY_INLINE V ldexp_normal(V y, V k) { return ldexp(y, k); }
  static FG_UNARY_INLINE void frexp1(V x, V& m, V& e) {
    __m512i b = _mm512_castps_si512(x.v);
    // Signed compare: positive denormals and zero (negatives are fixed by the caller).
    // Integer ops are immune to DAZ, which would read a denormal as zero.
    const __mmask16 den = _mm512_cmplt_epi32_mask(b, _mm512_set1_epi32(0x00800000));
    b = _mm512_mask_blend_epi32(den, b, _mm512_castps_si512(_mm512_cvtepi32_ps(b)));
    const __m512 adj = _mm512_maskz_mov_ps(den, _mm512_set1_ps(-149.0f));
    const __m512i ex = _mm512_sub_epi32(_mm512_and_si512(_mm512_srli_epi32(b, 23), _mm512_set1_epi32(0xff)),
                                        _mm512_set1_epi32(127));
    e = {_mm512_add_ps(_mm512_cvtepi32_ps(ex), adj)};
    m = {_mm512_castsi512_ps(
        _mm512_or_si512(_mm512_and_si512(b, _mm512_set1_epi32(0x007fffff)), _mm512_set1_epi32(0x3f800000)))};
  }
  static FG_UNARY_INLINE __m512d w_pd(__m512d a) {
    const __m512d a2 = _mm512_mul_pd(a, a);
    const __m512d t = _mm512_fmadd_pd(a2, _mm512_set1_pd(-2.0 * 0.79788456080286535588 * 0.044715),
                                      _mm512_set1_pd(-2.0 * 0.79788456080286535588));
    return _mm512_mul_pd(a, t);
  }
  static FG_UNARY_INLINE void gelu_tanh_w(V a, V& hi, V& lo) {
    const __m512d w0 = w_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(a.v)));
    const __m512d w1 = w_pd(_mm512_cvtps_pd(_mm512_extractf32x8_ps(a.v, 1)));
    const __m256 h0 = _mm512_cvtpd_ps(w0), h1 = _mm512_cvtpd_ps(w1);
    const __m256 l0 = _mm512_cvtpd_ps(_mm512_sub_pd(w0, _mm512_cvtps_pd(h0)));
    const __m256 l1 = _mm512_cvtpd_ps(_mm512_sub_pd(w1, _mm512_cvtps_pd(h1)));
    hi = {_mm512_insertf32x8(_mm512_castps256_ps512(h0), h1, 1)};
    lo = {_mm512_insertf32x8(_mm512_castps256_ps512(l0), l1, 1)};
  }
};

}  // namespace

void unary_f32_avx512(UnaryOp op, const float* x, float* y, int64_t n) { run_unary<S16>(op, x, y, n); }
void bwd_f32_avx512(UnaryOp dop, const float* x, const float* gy, float* gx, int64_t n) {
  run_unary_bwd<S16>(dop, x, gy, gx, n);
}
void out_bwd_f32_avx512(bool is_tanh, const float* y, const float* gy, float* gx, int64_t n) {
  run_output_bwd<S16>(is_tanh, y, gy, gx, n);
}

}  // namespace fastgrad::kernels::unary_detail
