// Float32 elementwise math written once over a small SIMD abstraction `S`, and
// instantiated by unary_scalar.cpp / unary_avx2.cpp / unary_avx512.cpp with their own
// `S`. Every ISA therefore runs the same algorithm (same polynomials, same special
// cases), which keeps the accuracy bounds identical across ISAs.
//
// Everything is in an anonymous namespace on purpose: this header is compiled with
// different -m flags in different translation units, and internal linkage keeps the
// linker from merging an AVX-512 instantiation into the scalar path (an ODR trap).
//
// What `S` provides (V = vector of float, M = lane mask, W = lanes):
//   set load store fma(a,b,c)=a*b+c min max abs copysign(mag,sgn) select(m,a,b)
//   lt gt ge isnan signbit is_zero_bits round ldexp(y,k)=y*2^k frexp1(x,m,e) (m in [1,2))
//   ldexp_normal(y,k)=y*2^k where that is a normal float (anything elsewhere)
//   gelu_tanh_w(a, hi, lo): hi+lo = -2*sqrt(2/pi)*(a + 0.044715 a^3) evaluated in double
// plus operators + - * / on V.
//
// Polynomial coefficients below were fitted for this file (weighted least squares on
// Chebyshev nodes iterated towards minimax, see the report); each fit's max relative
// error is well below float epsilon.
#pragma once
#include <cstdint>
#include <cstring>
#include <limits>

#include "fastgrad/kernels/unary.h"

#if defined(__GNUC__)
#define FG_UNARY_INLINE inline __attribute__((always_inline))
#else
#define FG_UNARY_INLINE inline
#endif

namespace fastgrad::kernels::unary_detail {
namespace {

template <class S>
struct Math {
  using V = typename S::V;
  using M = typename S::M;

  static FG_UNARY_INLINE V c(float v) { return S::set(v); }

  // Horner with the highest coefficient first, unrolled at compile time.
  static FG_UNARY_INLINE V hv(V, V acc) { return acc; }
  template <class... R>
  static FG_UNARY_INLINE V hv(V x, V acc, float b, R... r) {
    return hv(x, S::fma(acc, x, S::set(b)), r...);
  }
  template <class... R>
  static FG_UNARY_INLINE V horner(V x, float a, R... r) {
    return hv(x, S::set(a), r...);
  }

  static FG_UNARY_INLINE V inf() { return c(std::numeric_limits<float>::infinity()); }
  static FG_UNARY_INLINE V nanfix(V x, V r) { return S::select(S::isnan(x), x, r); }

  // exp: k = round(x/ln2), r = x - k ln2 (two-constant Cody-Waite), e^r = 1 + r + r^2 P(r).
  // Returns exp(x) * 2^SH: a positive SH lets callers keep exp(x) ~ 1e-45 as a normal
  // number under FTZ when they multiply by something large before scaling back.
  // No NaN handling (callers fix NaN once at the end); +inf -> inf, -inf -> 0.
  template <int SH = 0>
  static FG_UNARY_INLINE V exp_core(V x) {
    constexpr float lo = -88.0f - 0.69314718f * SH;
    const V xc = S::min(S::max(x, c(lo)), c(88.8f));
    const V k = S::round(xc * c(1.44269504088896341f));
    V r = S::fma(k, c(-0.693145751953125f), xc);
    r = S::fma(k, c(-1.42860682030941723e-06f), r);
    const V p = horner(r, 1.985778217e-04f, 1.393359737e-03f, 8.333360776e-03f, 4.166646674e-02f,
                       1.666666716e-01f, 5.000000000e-01f);
    V y = S::fma(p, r * r, r) + c(1.0f);
    y = S::ldexp_normal(y, SH == 0 ? k : k + c(static_cast<float>(SH)));
    // Overflow of exp(x) 2^SH (SH > 0 callers pass x <= 0; the bound keeps it general).
    // x >= 88.72283935546875 (the float after the bound 88.7228317...): exp(x) overflows.
    constexpr float ov = SH == 0 ? 88.72283172607421875f
                                 : static_cast<float>(88.72283172607421875 - SH * 0.69314718055994530942);
    y = S::select(S::gt(x, c(ov)), inf(), y);
    // Results below FLT_MIN are flushed anyway (FTZ); make that independent of MXCSR and
    // of how S scales: zero below tz, the largest float <= (-126 - SH) ln2, where the
    // result leaves the normal range (ldexp_normal is exact only for normal results).
    constexpr double xb = (-126.0 - SH) * 0.69314718055994530942;
    constexpr float t0 = static_cast<float>(xb);
    constexpr float tz = static_cast<double>(t0) > xb ? t0 - 0x1p-17f : t0;  // ulp in [64, 128)
    static_assert(xb < -64.0 && xb > -128.0, "tz's ulp");
    y = S::select(S::lt(x, c(tz)), c(0.0f), y);
    return y;
  }

  // exp(-(x*x)*s) for s = 1 or 0.5, with x*x carried as an exact hi+lo pair: a plain
  // float x*x has relative error ~2^-24 that exp would amplify by x^2 (up to ~90).
  template <int SH = 0>
  static FG_UNARY_INLINE V expneg_sq(V x, float s) {
    const V hi = x * x;
    const V lo = S::fma(x, x, -hi);  // exact rounding error of hi
    const V e = exp_core<SH>(hi * c(-s));
    return S::fma(-e, lo * c(s), e);  // e * (1 - s*lo)
  }

  static FG_UNARY_INLINE V exp(V x) { return nanfix(x, exp_core(x)); }

  // log: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(1+f) = f - f^2/2 + f^3 P(f).
  static FG_UNARY_INLINE V log(V x) {
    V m, e;
    S::frexp1(x, m, e);
    const M big = S::gt(m, c(1.41421356237f));
    m = S::select(big, m * c(0.5f), m);
    e = S::select(big, e + c(1.0f), e);
    const V f = m - c(1.0f);
    const V z = f * f;
    const V p =
        horner(f, 6.714769453e-02f, -1.203008294e-01f, 1.203947291e-01f, -1.236785278e-01f, 1.420637667e-01f,
               -1.666913182e-01f, 2.000204772e-01f, -2.499999404e-01f, 3.333332539e-01f);
    V y = f * z * p;
    y = S::fma(z, c(-0.5f), y);
    V r = S::fma(e, c(-2.12194440e-4f), y) + f;
    r = S::fma(e, c(0.693359375f), r);
    // Bit tests, not float compares: under DAZ a denormal compares equal to zero.
    r = S::select(S::gt(x, c(3.40282347e38f)), x, r);  // +inf -> +inf
    r = S::select(S::signbit(x), c(std::numeric_limits<float>::quiet_NaN()), r);
    r = S::select(S::is_zero_bits(x), -inf(), r);  // +-0 -> -inf
    return nanfix(x, r);
  }

  static FG_UNARY_INLINE V tanh(V x) {
    const V a = S::abs(x);
    const V x2 = x * x;
    const V p = horner(x2, 2.293194411e-03f, -8.344421163e-03f, 2.176910080e-02f, -5.395929143e-02f,
                       1.333330423e-01f, -3.333333433e-01f);
    const V small = S::fma(x * x2, p, x);
    const V e = exp_core(a + a);
    const V large = c(1.0f) - c(2.0f) / (e + c(1.0f));
    // copysign also keeps tanh(-0) = -0, which the small branch's fma would lose.
    const V r = S::copysign(S::select(S::lt(a, c(0.625f)), small, large), x);
    return nanfix(x, r);
  }

  static FG_UNARY_INLINE V sigmoid(V x) { return nanfix(x, c(1.0f) / (c(1.0f) + exp_core(-x))); }

  // erf(z) for |z| <= 0.5: z P(z^2).
  static FG_UNARY_INLINE V erf_small(V z) {
    const V p = horner(z * z, 4.718084354e-03f, -2.675723657e-02f, 1.128282398e-01f, -3.761260808e-01f,
                       1.128379107e+00f);
    return z * p;
  }

  // erfcx(a) = exp(a^2) erfc(a) for a in [0.5, 9.5]: a polynomial in a on [0.5, 2),
  // (1/a) * polynomial in 1/a^2 on [2, 9.5] (the asymptotic shape).
  static FG_UNARY_INLINE V erfcx(V a) {
    const V p1 = horner(a - c(1.25f), 6.163213402e-05f, -1.922529773e-04f, 4.708503257e-04f,
                        -1.308945823e-03f, 3.553374670e-03f, -9.085785598e-03f, 2.201144025e-02f,
                        -5.021785945e-02f, 1.067955643e-01f, -2.088218927e-01f, 3.678229153e-01f);
    const V ia = c(1.0f) / a;
    const V p2 = ia * horner(ia * ia, 2.851475716e+01f, -3.906114197e+01f, 2.463730812e+01f,
                             -9.979490280e+00f, 3.215680122e+00f, -1.034435272e+00f, 4.224719703e-01f,
                             -2.820849717e-01f, 5.641895533e-01f);
    return S::select(S::lt(a, c(2.0f)), p1, p2);
  }

  static FG_UNARY_INLINE V erf(V x) {
    const V a = S::abs(x);
    const V ac = S::min(a, c(4.0f));  // erf rounds to 1 beyond ~3.92
    const V big = c(1.0f) - expneg_sq(ac, 1.0f) * erfcx(S::max(ac, c(0.5f)));
    const V r = S::copysign(S::select(S::lt(a, c(0.5f)), erf_small(x), big), x);
    return nanfix(x, r);
  }

  // G(t) = Phi(-t) exp(t^2/2) for t in [1/sqrt2, 13.5] (the Mills ratio): a polynomial
  // in t below 2 sqrt2, (1/t) * polynomial in 1/t^2 above. Fitted in t directly so no
  // rounded t/sqrt2 enters.
  // Each vector evaluates only the branches some lane needs (for typical activations the
  // asymptotic branch is rarely needed, and it costs a division).
  static FG_UNARY_INLINE V mills(V t) {
    const M near = S::lt(t, c(2.82842712474619010f));
    if (S::all(near)) return mills_near(t);
    if (S::none(near)) return mills_far(t);
    return S::select(near, mills_near(t), mills_far(t));
  }
  static FG_UNARY_INLINE V mills_near(V t) {
    return horner(t - c(1.76776695296636881f), -2.194019544e-07f, 1.000170869e-06f, -3.574524499e-06f,
                  1.461014108e-05f, -5.859863450e-05f, 2.221874602e-04f, -8.027124568e-04f, 2.751389518e-03f,
                  -8.877419867e-03f, 2.669889666e-02f, -7.382968068e-02f, 1.839114577e-01f);
  }
  static FG_UNARY_INLINE V mills_far(V t) {
    const V it = c(1.0f) / t;
    return it * horner(it * it, 2.618057129e+03f, 3.632141357e+03f, -3.159694336e+03f, 1.064548218e+03f,
                       -2.217922821e+02f, 3.618736649e+01f, -5.846112728e+00f, 1.194843769e+00f,
                       -3.989277184e-01f, 3.989422321e-01f);
  }

  // Shared by Gelu and GeluDeriv. g = exp(-x^2/2) from an exact x^2; G = mills(|x|).
  // `tail` marks x <= -1/sqrt2, where Phi(x) = g G is used directly (never 1 + erf, which
  // cancels) and callers multiply by g last so no intermediate underflows before the
  // result does. Elsewhere Phi is returned in `Phi`.
  // g is returned scaled by 2^24 (see exp_core) so that tail results stay exact down to
  // where they, not g, fall below FLT_MIN.
  static FG_UNARY_INLINE void phi_parts(V xc, M& tail, V& Phi, V& g24, V& G) {
    const V t = S::abs(xc);
    g24 = expneg_sq<24>(xc, 0.5f);
    const V g = g24 * c(0x1p-24f);
    const M inner = S::lt(t, c(0.70710678f));
    G = S::all(inner) ? c(0.0f) : mills(S::max(t, c(0.70710678f)));
    const V small =
        S::none(inner) ? c(0.0f) : S::fma(c(0.5f), erf_small(xc * c(0.707106781186547524f)), c(0.5f));
    Phi = S::select(inner, small, c(1.0f) - g * G);
    tail = S::signbit(S::select(inner, c(1.0f), xc));
  }

  static FG_UNARY_INLINE V clamp14(V x) { return S::min(S::max(x, c(-14.0f)), c(14.0f)); }

  static FG_UNARY_INLINE V gelu(V x) {
    const V xc = clamp14(x);
    M tail;
    V Phi, g24, G;
    phi_parts(xc, tail, Phi, g24, G);
    V r = S::select(tail, ((x * G) * g24) * c(0x1p-24f), x * Phi);
    r = S::select(S::lt(x, c(-14.0f)), c(-0.0f), r);  // -inf * 0 would be NaN; the limit is 0
    return nanfix(x, r);
  }

  // d/dx x Phi(x) = Phi(x) + x phi(x), phi(x) = g / sqrt(2 pi); = g (G + x/sqrt(2 pi)) in the tail.
  static FG_UNARY_INLINE V gelu_deriv(V x) {
    const V xc = clamp14(x);
    M tail;
    V Phi, g24, G;
    phi_parts(xc, tail, Phi, g24, G);
    const V k = c(0.398942280401432678f);
    const V r =
        S::select(tail, (g24 * S::fma(xc, k, G)) * c(0x1p-24f), S::fma(xc * k, g24 * c(0x1p-24f), Phi));
    return nanfix(x, r);
  }

  // Tanh GELU rewritten without cancellation: 0.5 x (1 + tanh u) = x sigmoid(2u).
  // With e = exp(-2|u|) <= 1: sigmoid(2|u|) = 1/(1+e), sigmoid(-2|u|) = e/(1+e).
  // -2|u| is formed in double because exp amplifies its rounding error by up to ~90.
  // sn24 = sigmoid(-2|u|) * 2^24 stays normal where x * sigmoid(-2|u|) still is.
  static FG_UNARY_INLINE void gelu_tanh_parts(V x, V& xc, V& sp, V& sn24) {
    xc = S::min(S::max(x, c(-20.0f)), c(20.0f));
    V whi, wlo;
    S::gelu_tanh_w(S::abs(xc), whi, wlo);
    V e24 = exp_core<24>(whi);
    e24 = S::fma(e24, wlo, e24);
    sp = c(1.0f) / S::fma(e24, c(0x1p-24f), c(1.0f));
    sn24 = e24 * sp;
  }

  static FG_UNARY_INLINE V gelu_tanh(V x) {
    V xc, sp, sn24;
    gelu_tanh_parts(x, xc, sp, sn24);
    V r = S::select(S::signbit(xc), (x * sn24) * c(0x1p-24f), x * sp);
    r = S::select(S::lt(x, c(-20.0f)), c(-0.0f), r);
    return nanfix(x, r);
  }

  // d/dx x s(2u) = s + x * 2u'(x) * s(2u) s(-2u), u' = sqrt(2/pi)(1 + 3*0.044715 x^2).
  static FG_UNARY_INLINE V gelu_tanh_deriv(V x) {
    V xc, sp, sn24;
    gelu_tanh_parts(x, xc, sp, sn24);
    const V s24 = S::select(S::signbit(xc), sn24, sp * c(0x1p24f));
    const V du2 =
        S::fma(xc * xc, c(2.0f * 0.797884560802865356f * 3.0f * 0.044715f), c(2.0f * 0.797884560802865356f));
    return nanfix(x, S::fma(xc * du2, sp * sn24, s24) * c(0x1p-24f));
  }

  // silu = x sigmoid(x) = x / (1 + exp(-x)): within 2.5 ulp above -87, where exp(-x) is
  // finite and the result normal (one exp, one division, no sign split). Lanes further
  // down take silu_deep; it is evaluated only when some lane needs it, and each lane's
  // result depends on its own x alone (not on its neighbours).
  static FG_UNARY_INLINE V silu(V x) {
    const M deep = S::lt(x, c(-87.0f));
    V r = x / (c(1.0f) + exp_core(-S::max(x, c(-87.0f))));
    if (!S::none(deep)) r = S::select(deep, silu_deep(x), r);
    return nanfix(x, r);
  }

  // x e/(1+e), e = exp(x) carried as e * 2^24 so that x e stays exact down to x ~ -92
  // where e itself is already below FLT_MIN (for x <= 0; the sign split keeps it right
  // for any x).
  static FG_UNARY_INLINE V silu_deep(V x) {
    const V e24 = exp_core<24>(-S::abs(x));
    const V d = S::fma(e24, c(0x1p-24f), c(1.0f));
    const M neg = S::signbit(x);
    const V q = S::select(neg, x * e24, x) / d;
    V r = S::select(neg, q * c(0x1p-24f), q);
    return S::select(S::lt(x, c(-100.0f)), c(-0.0f), r);  // -inf * 0
  }

  // silu' = s + x s (1 - s) = s + x sp sn with sp = sigmoid(|x|), sn = sigmoid(-|x|) both
  // formed without cancellation from e = exp(-|x|); for x < 0 as sn (1 + x sp). sn is
  // carried as sn * 2^24 (as in silu) so x sn stays exact where sn itself would flush.
  // The clamp gives the limits 1 (+inf) and 0 (-inf) instead of inf * 0.
  static FG_UNARY_INLINE V silu_deriv(V x) {
    const V xc = S::min(S::max(x, c(-110.0f)), c(110.0f));
    const V e24 = exp_core<24>(-S::abs(xc));
    const V sp = c(1.0f) / S::fma(e24, c(0x1p-24f), c(1.0f));
    const V sn24 = e24 * sp;
    // 1 + x sp = (1 + x) - x sn: 1 + x is exact near the root (x ~ -1.28), x sn is small.
    const V neg = S::fma(-xc, sn24 * c(0x1p-24f), xc + c(1.0f)) * sn24 * c(0x1p-24f);
    const V pos = S::fma(xc * sp, sn24 * c(0x1p-24f), sp);
    return nanfix(x, S::select(S::signbit(xc), neg, pos));
  }

  // log1p(t) for t in [0, 1]: 2 atanh(s), s = t/(2+t) in [0, 1/3].
  static FG_UNARY_INLINE V log1p_unit(V t) {
    const V s_2 = t / S::fma(t, c(0.5f), c(1.0f));  // 2s: s itself underflows for t ~ FLT_MIN
    const V s2 = s_2 * s_2 * c(0.25f);
    const V p =
        horner(s2, 1.161611676e-01f, 1.085243076e-01f, 1.429623663e-01f, 1.999985129e-01f, 3.333333433e-01f);
    return S::fma(s_2 * s2, p, s_2);
  }

  // softplus = max(x, 0) + log1p(exp(-|x|)): never overflows, exact tails.
  static FG_UNARY_INLINE V softplus(V x) {
    const V r = S::max(x, c(0.0f)) + log1p_unit(exp_core(-S::abs(x)));
    return nanfix(x, r);
  }
};

// Runs f over n contiguous floats; the ragged tail goes through a zero-padded buffer so
// every element takes the identical vector code path (results do not depend on position).
template <class S, class F>
FG_UNARY_INLINE void map1(const float* x, float* y, int64_t n, F f) {
  constexpr int W = S::W;
  int64_t i = 0;
  for (; i + W <= n; i += W) S::store(y + i, f(S::load(x + i)));
  if (i < n) {
    alignas(64) float buf[W] = {};
    const int64_t r = n - i;
    std::memcpy(buf, x + i, sizeof(float) * r);
    S::store(buf, f(S::load(buf)));
    std::memcpy(y + i, buf, sizeof(float) * r);
  }
}

template <class S, class F>
FG_UNARY_INLINE void map2(const float* x, const float* g, float* y, int64_t n, F f) {
  constexpr int W = S::W;
  int64_t i = 0;
  for (; i + W <= n; i += W) S::store(y + i, f(S::load(x + i), S::load(g + i)));
  if (i < n) {
    alignas(64) float bx[W] = {};
    alignas(64) float bg[W] = {};
    const int64_t r = n - i;
    std::memcpy(bx, x + i, sizeof(float) * r);
    std::memcpy(bg, g + i, sizeof(float) * r);
    S::store(bx, f(S::load(bx), S::load(bg)));
    std::memcpy(y + i, bx, sizeof(float) * r);
  }
}

// Calls f(lambda V -> V) with the Math function of `op` (one switch for all drivers).
template <class S, class F>
FG_UNARY_INLINE void with_op(UnaryOp op, F f) {
  using Mt = Math<S>;
  using V = typename S::V;
  switch (op) {
    case UnaryOp::Exp:
      return f([](V v) { return Mt::exp(v); });
    case UnaryOp::Log:
      return f([](V v) { return Mt::log(v); });
    case UnaryOp::Tanh:
      return f([](V v) { return Mt::tanh(v); });
    case UnaryOp::Sigmoid:
      return f([](V v) { return Mt::sigmoid(v); });
    case UnaryOp::Erf:
      return f([](V v) { return Mt::erf(v); });
    case UnaryOp::Gelu:
      return f([](V v) { return Mt::gelu(v); });
    case UnaryOp::GeluTanh:
      return f([](V v) { return Mt::gelu_tanh(v); });
    case UnaryOp::GeluDeriv:
      return f([](V v) { return Mt::gelu_deriv(v); });
    case UnaryOp::GeluTanhDeriv:
      return f([](V v) { return Mt::gelu_tanh_deriv(v); });
    case UnaryOp::Silu:
      return f([](V v) { return Mt::silu(v); });
    case UnaryOp::Softplus:
      return f([](V v) { return Mt::softplus(v); });
    case UnaryOp::SiluDeriv:
      return f([](V v) { return Mt::silu_deriv(v); });
  }
}

template <class S>
void run_unary(UnaryOp op, const float* x, float* y, int64_t n) {
  with_op<S>(op, [&](auto fn) { map1<S>(x, y, n, fn); });
}

// gx = gy * dop(x), one pass.
template <class S>
void run_unary_bwd(UnaryOp dop, const float* x, const float* gy, float* gx, int64_t n) {
  using V = typename S::V;
  with_op<S>(dop, [&](auto fn) { map2<S>(x, gy, gx, n, [fn](V v, V g) { return g * fn(v); }); });
}

// From the saved output y: tanh gy (1 - y^2), sigmoid (gy y)(1 - y).
template <class S>
void run_output_bwd(bool is_tanh, const float* y, const float* gy, float* gx, int64_t n) {
  using V = typename S::V;
  if (is_tanh)
    map2<S>(y, gy, gx, n, [](V v, V g) { return g * S::fma(-v, v, S::set(1.0f)); });
  else
    map2<S>(y, gy, gx, n, [](V v, V g) { return (g * v) * (S::set(1.0f) - v); });
}

}  // namespace
}  // namespace fastgrad::kernels::unary_detail
