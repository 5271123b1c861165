// Unary kernel driver: picks the float32 ISA path, splits large arrays across OpenMP
// threads and scopes FTZ/DAZ to the kernel. float64 goes through the C++ library.
#include <xmmintrin.h>  // _mm_getcsr/_mm_setcsr: SSE, part of baseline x86-64
#include <omp.h>

#include "../parallel_for.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "fastgrad/kernels/dispatch.h"
#include "fastgrad/kernels/unary.h"
#include "unary_internal.h"

namespace fastgrad::kernels {
namespace {

using namespace unary_detail;

struct F32Path {
  UnaryF32Fn unary;
  BwdF32Fn bwd;
  OutBwdF32Fn out_bwd;
};

// The per-ISA function pointers are fixed at static-init time; a call only indexes this
// table with active_isa() (one atomic load), so set_isa() in tests takes effect at once.
constexpr F32Path kPaths[3] = {
    {unary_f32_scalar, bwd_f32_scalar, out_bwd_f32_scalar},
    {unary_f32_avx2, bwd_f32_avx2, out_bwd_f32_avx2},
    {unary_f32_avx512, bwd_f32_avx512, out_bwd_f32_avx512},
};

const F32Path& f32_path() { return kPaths[static_cast<int>(active_isa())]; }

// Denormals cost ~100x on x86 and our polynomials never need them: flush to zero (FTZ)
// and read denormal inputs as zero (DAZ) while the kernel runs, then restore the caller's
// MXCSR (it is per thread, so each OpenMP thread does this for itself).
class FtzDazScope {
 public:
  FtzDazScope() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }
  ~FtzDazScope() { _mm_setcsr(saved_); }
  FtzDazScope(const FtzDazScope&) = delete;
  FtzDazScope& operator=(const FtzDazScope&) = delete;

 private:
  unsigned saved_;
};

// Below this an OpenMP fork/join (~µs) costs more than the kernel itself.
constexpr int64_t kParallelMin = 32768;

// Split over threads (parallel_for.h); FTZ/DAZ is set per chunk, in the thread that runs it.
template <bool kFtz, class F>
void for_chunks(int64_t n, F f) {
  parallel_chunks(n, kParallelMin, 64, [&](int64_t b, int64_t e) {
    if (kFtz) {
      FtzDazScope g;
      f(b, e);
    } else {
      f(b, e);
    }
  });
}

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kGeluC = 0.044715;

double sigmoid_d(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}
double gelu_d(double x) {
  if (std::isinf(x)) return x > 0 ? x : -0.0;
  return x * 0.5 * std::erfc(-x * kInvSqrt2);  // erfc: no cancellation for x < 0
}
double gelu_deriv_d(double x) {
  const double xc = std::clamp(x, -40.0, 40.0);  // keeps inf * 0 out; NaN passes through
  return 0.5 * std::erfc(-xc * kInvSqrt2) + xc * kInvSqrt2Pi * std::exp(-0.5 * xc * xc);
}
// sigmoid(2u) and sigmoid(-2u) for the tanh GELU, via e = exp(-2|u|) <= 1.
void gelu_tanh_parts_d(double x, double& s, double& sp, double& sn) {
  const double u = kSqrt2OverPi * (x + kGeluC * x * x * x);
  const double e = std::exp(-2.0 * std::abs(u));
  sp = 1.0 / (1.0 + e);
  sn = e * sp;
  s = u >= 0 ? sp : sn;
}
double gelu_tanh_d(double x) {
  if (std::isinf(x)) return x > 0 ? x : -0.0;
  double s, sp, sn;
  gelu_tanh_parts_d(std::clamp(x, -1e3, 1e3), s, sp, sn);
  return x * s;
}
double gelu_tanh_deriv_d(double x) {
  const double xc = std::clamp(x, -1e3, 1e3);
  double s, sp, sn;
  gelu_tanh_parts_d(xc, s, sp, sn);
  const double du2 = 2.0 * kSqrt2OverPi * (1.0 + 3.0 * kGeluC * xc * xc);
  return s + xc * du2 * sp * sn;
}
double silu_d(double x) {
  if (std::isinf(x)) return x > 0 ? x : -0.0;
  return x * sigmoid_d(x);
}
double softplus_d(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }
// silu' = s + x s (1 - s); the clamp gives the limits 1 and 0 at +-inf.
double silu_deriv_d(double x) {
  const double xc = std::clamp(x, -800.0, 800.0);
  const double s = sigmoid_d(xc);
  return s + xc * s * sigmoid_d(-xc);
}

double eval_d(UnaryOp op, double v) {
  switch (op) {
    case UnaryOp::Exp:
      return std::exp(v);
    case UnaryOp::Log:
      return std::log(v);
    case UnaryOp::Tanh:
      return std::tanh(v);
    case UnaryOp::Sigmoid:
      return sigmoid_d(v);
    case UnaryOp::Erf:
      return std::erf(v);
    case UnaryOp::Gelu:
      return gelu_d(v);
    case UnaryOp::GeluTanh:
      return gelu_tanh_d(v);
    case UnaryOp::GeluDeriv:
      return gelu_deriv_d(v);
    case UnaryOp::GeluTanhDeriv:
      return gelu_tanh_deriv_d(v);
    case UnaryOp::Silu:
      return silu_d(v);
    case UnaryOp::Softplus:
      return softplus_d(v);
    case UnaryOp::SiluDeriv:
      return silu_deriv_d(v);
  }
  return std::numeric_limits<double>::quiet_NaN();
}

template <class F>
void map_d(const double* x, double* y, int64_t n, F f) {
  for_chunks<false>(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = f(x[i]);
  });
}

}  // namespace

void unary(UnaryOp op, const float* x, float* y, int64_t n) {
  const UnaryF32Fn fn = f32_path().unary;
  for_chunks<true>(n, [&](int64_t b, int64_t e) { fn(op, x + b, y + b, e - b); });
}

void unary_backward(UnaryOp dop, const float* x, const float* gy, float* gx, int64_t n) {
  const BwdF32Fn fn = f32_path().bwd;
  for_chunks<true>(n, [&](int64_t b, int64_t e) { fn(dop, x + b, gy + b, gx + b, e - b); });
}

void gelu_backward(bool tanh_approx, const float* x, const float* gy, float* gx, int64_t n) {
  unary_backward(tanh_approx ? UnaryOp::GeluTanhDeriv : UnaryOp::GeluDeriv, x, gy, gx, n);
}

void output_backward(bool is_tanh, const float* y, const float* gy, float* gx, int64_t n) {
  const OutBwdF32Fn fn = f32_path().out_bwd;
  for_chunks<true>(n, [&](int64_t b, int64_t e) { fn(is_tanh, y + b, gy + b, gx + b, e - b); });
}

void unary(UnaryOp op, const double* x, double* y, int64_t n) {
  map_d(x, y, n, [op](double v) { return eval_d(op, v); });
}

void unary_backward(UnaryOp dop, const double* x, const double* gy, double* gx, int64_t n) {
  for_chunks<false>(n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) gx[i] = gy[i] * eval_d(dop, x[i]);
  });
}

void gelu_backward(bool tanh_approx, const double* x, const double* gy, double* gx, int64_t n) {
  unary_backward(tanh_approx ? UnaryOp::GeluTanhDeriv : UnaryOp::GeluDeriv, x, gy, gx, n);
}

void output_backward(bool is_tanh, const double* y, const double* gy, double* gx, int64_t n) {
  for_chunks<false>(n, [&](int64_t b, int64_t e) {
    if (is_tanh) {
      for (int64_t i = b; i < e; ++i) gx[i] = gy[i] * (1.0 - y[i] * y[i]);
    } else {
      for (int64_t i = b; i < e; ++i) gx[i] = gy[i] * y[i] * (1.0 - y[i]);
    }
  });
}

}  // namespace fastgrad::kernels
