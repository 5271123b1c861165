// Portable float32 unary kernels: the shared algorithm of unary_math.h with one lane.
// Compiled with baseline x86-64 flags, so fma is emulated exactly enough in double
// (a*b is exact in double; only the final add rounds twice).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "unary_internal.h"
#include "unary_math.h"

namespace fastgrad::kernels::unary_detail {
namespace {

struct S1 {
  using V = float;
  using M = bool;
  static constexpr int W = 1;
  static uint32_t bits(float x) {
    uint32_t b;
    std::memcpy(&b, &x, 4);
    return b;
  }
  static float from_bits(uint32_t b) {
    float x;
    std::memcpy(&x, &b, 4);
    return x;
  }

  static V set(float v) { return v; }
  static V load(const float* p) { return *p; }
  static void store(float* p, V v) { *p = v; }
  static V fma(V a, V b, V c) { return static_cast<float>(static_cast<double>(a) * b + c); }
  static V min(V a, V b) { return a < b ? a : b; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V abs(V a) { return from_bits(bits(a) & 0x7fffffffu); }
  static V copysign(V mag, V sgn) { return from_bits((bits(mag) & 0x7fffffffu) | (bits(sgn) & 0x80000000u)); }
  static V select(M m, V a, V b) { return m ? a : b; }
  static M lt(V a, V b) { return a < b; }
  static bool all(M m) { return m; }
  static bool none(M m) { return !m; }
  static M gt(V a, V b) { return a > b; }
  static M isnan(V a) { return a != a; }
  static M signbit(V a) { return (bits(a) >> 31) != 0; }
  static M is_zero_bits(V a) { return (bits(a) & 0x7fffffffu) == 0; }
  // Round to nearest even via the 1.5*2^23 shifter; |x| < 2^22 here.
  static V round(V x) {
    return (x + 12582912.0f) - 12582912.0f;  // not folded: no -ffast-math
  }
  static float pow2i(int32_t n) { return from_bits(static_cast<uint32_t>(n + 127) << 23); }
  // k in [-127, 128]: two factors 2^(k/2) keep each one a normal float.
  static V ldexp(V y, V k) {
    const int32_t ki = static_cast<int32_t>(k);
    const int32_t k1 = ki >> 1;
    return y * pow2i(k1) * pow2i(ki - k1);
  }
  static V ldexp_normal(V y, V k) { return ldexp(y, k); }
  static void frexp1(V x, V& m, V& e) {
    uint32_t b = bits(x);
    float adj = 0.0f;
    if (b < 0x00800000u) {  // denormal (or zero): rescale exactly through the integer value
      b = bits(static_cast<float>(static_cast<int32_t>(b)));
      adj = -149.0f;
    }
    e = static_cast<float>(static_cast<int32_t>((b >> 23) & 0xffu) - 127) + adj;
    m = from_bits((b & 0x007fffffu) | 0x3f800000u);
  }
  static void gelu_tanh_w(V a, V& hi, V& lo) {
    const double ad = a;
    const double w = -2.0 * 0.79788456080286535588 * (ad + 0.044715 * ad * ad * ad);
    hi = static_cast<float>(w);
    lo = static_cast<float>(w - hi);
  }
};

}  // namespace

void unary_f32_scalar(UnaryOp op, const float* x, float* y, int64_t n) { run_unary<S1>(op, x, y, n); }
void bwd_f32_scalar(UnaryOp dop, const float* x, const float* gy, float* gx, int64_t n) {
  run_unary_bwd<S1>(dop, x, gy, gx, n);
}
void out_bwd_f32_scalar(bool is_tanh, const float* y, const float* gy, float* gx, int64_t n) {
  run_output_bwd<S1>(is_tanh, y, gy, gx, n);
}

}  // namespace fastgrad::kernels::unary_detail
