// Accuracy and edge-case tests for the vectorised unary kernels, on every ISA the machine
// supports, against long-double references of the textbook formulas.
#include <gtest/gtest.h>
#include <xmmintrin.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "fastgrad/kernels/dispatch.h"
#include "fastgrad/kernels/unary.h"

namespace fk = fastgrad::kernels;
using fk::Isa;
using fk::UnaryOp;
using LD = long double;

namespace {

const UnaryOp kAllOps[] = {UnaryOp::Exp,           UnaryOp::Log,  UnaryOp::Tanh,     UnaryOp::Sigmoid,
                           UnaryOp::Erf,           UnaryOp::Gelu, UnaryOp::GeluTanh, UnaryOp::GeluDeriv,
                           UnaryOp::GeluTanhDeriv, UnaryOp::Silu, UnaryOp::Softplus, UnaryOp::SiluDeriv};

const char* op_name(UnaryOp op) {
  switch (op) {
    case UnaryOp::Exp:
      return "Exp";
    case UnaryOp::Log:
      return "Log";
    case UnaryOp::Tanh:
      return "Tanh";
    case UnaryOp::Sigmoid:
      return "Sigmoid";
    case UnaryOp::Erf:
      return "Erf";
    case UnaryOp::Gelu:
      return "Gelu";
    case UnaryOp::GeluTanh:
      return "GeluTanh";
    case UnaryOp::GeluDeriv:
      return "GeluDeriv";
    case UnaryOp::GeluTanhDeriv:
      return "GeluTanhDeriv";
    case UnaryOp::Silu:
      return "Silu";
    case UnaryOp::Softplus:
      return "Softplus";
    case UnaryOp::SiluDeriv:
      return "SiluDeriv";
  }
  return "?";
}

// Max float32 error in ulps of the exact result, per op, for every ISA (measured maxima
// are printed by the test; the bounds leave ~1 ulp of headroom, no more).
double ulp_bound(UnaryOp op) {
  switch (op) {
    case UnaryOp::Exp:
      return 2;
    case UnaryOp::Log:
      return 2;
    case UnaryOp::Tanh:
      return 2;
    case UnaryOp::Sigmoid:
      return 3;
    case UnaryOp::Erf:
      return 3;
    case UnaryOp::Gelu:
      return 5;
    case UnaryOp::GeluTanh:
      return 4;
    case UnaryOp::GeluDeriv:
      return 5;
    case UnaryOp::GeluTanhDeriv:
      return 7;
    case UnaryOp::Silu:
      return 4;
    case UnaryOp::Softplus:
      return 3;
    case UnaryOp::SiluDeriv:
      return 5;
  }
  return 0;
}

LD sigmoid_ref(LD x);

// The GELU derivatives are sums of two O(1) terms of opposite sign for x < 0 (they cross
// zero at x ~ -0.75). There the meaningful float error is relative to the terms, not to
// their difference: `term_scale` is |term1| + |term2| (0 for the other ops), and an
// error within the ulp bound measured in ulps of that scale is accepted.
LD term_scale(UnaryOp op, LD x) {
  if (!std::isfinite(x)) return 0;
  if (op == UnaryOp::GeluDeriv)
    return 0.5L * std::erfc(-x * 0.707106781186547524400844362104849039L) +
           std::fabs(x) * 0.398942280401432677939946059934381868L * std::exp(-0.5L * x * x);
  if (op == UnaryOp::GeluTanhDeriv) {
    const LD k = 0.797884560802865355879892119868763737L;
    const LD u = k * (x + 0.044715L * x * x * x);
    const LD s = sigmoid_ref(2 * u);
    return s + std::fabs(x * 2 * k * (1 + 3 * 0.044715L * x * x) * s * sigmoid_ref(-2 * u));
  }
  if (op == UnaryOp::SiluDeriv) {  // s + x s (1 - s) crosses zero at x ~ -1.28
    const LD s = sigmoid_ref(x);
    return s + std::fabs(x * s * sigmoid_ref(-x));
  }
  return 0;
}

LD sigmoid_ref(LD x) {
  if (x >= 0) return 1.0L / (1.0L + std::exp(-x));
  const LD e = std::exp(x);
  return e / (1.0L + e);
}

// Textbook definitions in long double. The tanh GELU uses the identity
// 0.5 x (1 + tanh u) = x sigmoid(2u), which has no cancellation for x < 0.
LD reference(UnaryOp op, LD x) {
  const LD k = 0.797884560802865355879892119868763737L;  // sqrt(2/pi)
  const LD r2 = 0.707106781186547524400844362104849039L;
  const LD ir2pi = 0.398942280401432677939946059934381868L;
  switch (op) {
    case UnaryOp::Exp:
      return std::exp(x);
    case UnaryOp::Log:
      return std::log(x);
    case UnaryOp::Tanh:
      return std::tanh(x);
    case UnaryOp::Sigmoid:
      return sigmoid_ref(x);
    case UnaryOp::Erf:
      return std::erf(x);
    case UnaryOp::Gelu:
      if (std::isinf(x)) return x > 0 ? x : -0.0L;
      return x * 0.5L * std::erfc(-x * r2);
    case UnaryOp::GeluDeriv:
      if (std::isinf(x)) return x > 0 ? 1.0L : 0.0L;
      return 0.5L * std::erfc(-x * r2) + x * ir2pi * std::exp(-0.5L * x * x);
    case UnaryOp::GeluTanh: {
      if (std::isinf(x)) return x > 0 ? x : -0.0L;
      const LD u = k * (x + 0.044715L * x * x * x);
      return x * sigmoid_ref(2 * u);
    }
    case UnaryOp::GeluTanhDeriv: {
      if (std::isinf(x)) return x > 0 ? 1.0L : 0.0L;
      const LD u = k * (x + 0.044715L * x * x * x);
      const LD s = sigmoid_ref(2 * u);
      const LD du = k * (1 + 3 * 0.044715L * x * x);
      return s + x * 2 * du * s * sigmoid_ref(-2 * u);
    }
    case UnaryOp::Silu:
      if (std::isinf(x)) return x > 0 ? x : -0.0L;
      return x * sigmoid_ref(x);
    case UnaryOp::Softplus:
      return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
    case UnaryOp::SiluDeriv:
      if (std::isinf(x)) return x > 0 ? 1.0L : 0.0L;
      return sigmoid_ref(x) + x * sigmoid_ref(x) * sigmoid_ref(-x);
  }
  return 0;
}

// Error of `got` in ulps of the exact value. Results below FLT_MIN are flushed by the
// kernels (FTZ), so there any |error| <= FLT_MIN counts as 0.
double ulp_error(float got, LD ref) {
  if (std::isnan(ref)) return std::isnan(got) ? 0.0 : INFINITY;
  if (std::isnan(got)) return INFINITY;
  // A reference beyond FLT_MAX (after rounding) must come out as inf.
  if (std::isinf(static_cast<float>(ref))) return got == static_cast<float>(ref) ? 0.0 : INFINITY;
  const LD d = std::fabs(static_cast<LD>(got) - ref);
  if (std::isinf(ref) || std::isinf(got)) return (static_cast<LD>(got) == ref) ? 0.0 : INFINITY;
  const LD a = std::fabs(ref);
  if (a < FLT_MIN) return d <= FLT_MIN ? 0.0 : static_cast<double>(d / std::ldexp(1.0L, -149));
  int e;
  std::frexp(a, &e);  // a = m 2^e, m in [0.5, 1)
  return static_cast<double>(d / std::ldexp(1.0L, e - 24));
}

float from_bits(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

// Bit-pattern sweep over every binade (both signs, tiny/denormal through huge, inf, NaN)
// plus a dense uniform grid over the range where these functions vary.
std::vector<float> test_points() {
  std::vector<float> v;
  for (uint32_t b = 0; b <= 0x7f800000u; b += 1499) {
    v.push_back(from_bits(b));
    v.push_back(from_bits(b | 0x80000000u));
  }
  const int n = 1500000;
  for (int i = 0; i <= n; ++i) v.push_back(-20.0f + 40.0f * static_cast<float>(i) / n);
  const float specials[] = {0.0f,     -0.0f,   INFINITY, -INFINITY,    NAN,           FLT_MIN,
                            -FLT_MIN, FLT_MAX, -FLT_MAX, FLT_TRUE_MIN, -FLT_TRUE_MIN, 1.0f,
                            -1.0f,    0.5f,    -0.5f,    88.7228f,     88.72284f,     -87.33655f,
                            -103.97f, 0.625f,  -0.625f,  2.0f,         -0.7071068f,   0.7071068f,
                            3.92f,    4.0f,    9.5f,     -13.2f,       -14.0f,        14.0f};
  for (float s : specials) v.push_back(s);
  return v;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> r;
  for (Isa i : {Isa::Scalar, Isa::Avx2, Isa::Avx512})
    if (fk::isa_supported(i)) r.push_back(i);
  return r;
}

// Restores the process-wide ISA when a test ends.
struct IsaRestore {
  Isa saved = fk::active_isa();
  ~IsaRestore() { fk::set_isa(saved); }
};

class UnaryAccuracy : public ::testing::TestWithParam<UnaryOp> {};

TEST_P(UnaryAccuracy, WithinUlpBoundOnEveryIsa) {
  const UnaryOp op = GetParam();
  static const std::vector<float> xs = test_points();
  std::vector<LD> ref(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) ref[i] = reference(op, xs[i]);
  IsaRestore restore;
  for (Isa isa : supported_isas()) {
    fk::set_isa(isa);
    std::vector<float> y(xs.size());
    fk::unary(op, xs.data(), y.data(), static_cast<int64_t>(xs.size()));
    double worst = 0;
    float worst_x = 0;
    int64_t bad = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      double e = ulp_error(y[i], ref[i]);
      // DAZ: a denormal input may be read as a zero of the same sign.
      if (e > ulp_bound(op) && std::fabs(xs[i]) < FLT_MIN)
        e = std::min(e, ulp_error(y[i], reference(op, std::copysign(0.0f, xs[i]))));
      if (e > ulp_bound(op) && term_scale(op, xs[i]) > 0)
        e = std::min(
            e, static_cast<double>(std::fabs(y[i] - ref[i]) / (term_scale(op, xs[i]) * FLT_EPSILON / 2)));
      if (e > worst) {
        worst = e;
        worst_x = xs[i];
      }
      if (e > ulp_bound(op)) {
        if (bad < 5)
          ADD_FAILURE() << op_name(op) << " " << fk::isa_name(isa) << " x=" << xs[i] << " (" << std::hexfloat
                        << xs[i] << std::defaultfloat << ") got " << y[i] << " ref "
                        << static_cast<double>(ref[i]) << " err " << e << " ulp";
        ++bad;
      }
    }
    std::printf("  %-14s %-7s max err %.3f ulp at x=%.9g over %zu points\n", op_name(op), fk::isa_name(isa),
                worst, worst_x, xs.size());
    EXPECT_EQ(bad, 0) << op_name(op) << " on " << fk::isa_name(isa);
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, UnaryAccuracy, ::testing::ValuesIn(kAllOps),
                         [](const ::testing::TestParamInfo<UnaryOp>& i) {
                           return std::string(op_name(i.param));
                         });

float run1(UnaryOp op, float x) {
  float y;
  fk::unary(op, &x, &y, 1);
  return y;
}

TEST(UnarySpecials, NanInfAndSignedZero) {
  IsaRestore restore;
  for (Isa isa : supported_isas()) {
    fk::set_isa(isa);
    SCOPED_TRACE(fk::isa_name(isa));
    for (UnaryOp op : kAllOps) EXPECT_TRUE(std::isnan(run1(op, NAN))) << op_name(op);
    const float inf = INFINITY;
    EXPECT_EQ(run1(UnaryOp::Exp, inf), inf);
    EXPECT_EQ(run1(UnaryOp::Exp, -inf), 0.0f);
    EXPECT_EQ(run1(UnaryOp::Exp, 89.0f), inf);
    EXPECT_EQ(run1(UnaryOp::Exp, -0.0f), 1.0f);
    EXPECT_EQ(run1(UnaryOp::Log, inf), inf);
    EXPECT_EQ(run1(UnaryOp::Log, 0.0f), -inf);
    EXPECT_EQ(run1(UnaryOp::Log, -0.0f), -inf);
    EXPECT_TRUE(std::isnan(run1(UnaryOp::Log, -1.0f)));
    EXPECT_TRUE(std::isnan(run1(UnaryOp::Log, -inf)));
    EXPECT_TRUE(std::isnan(run1(UnaryOp::Log, -FLT_TRUE_MIN)));
    EXPECT_NEAR(run1(UnaryOp::Log, FLT_TRUE_MIN), std::log(static_cast<double>(FLT_TRUE_MIN)), 1e-5);
    for (UnaryOp op : {UnaryOp::Tanh, UnaryOp::Erf}) {
      EXPECT_EQ(run1(op, inf), 1.0f) << op_name(op);
      EXPECT_EQ(run1(op, -inf), -1.0f) << op_name(op);
      EXPECT_TRUE(std::signbit(run1(op, -0.0f))) << op_name(op);
      EXPECT_EQ(run1(op, -0.0f), 0.0f) << op_name(op);
    }
    EXPECT_EQ(run1(UnaryOp::Sigmoid, inf), 1.0f);
    EXPECT_EQ(run1(UnaryOp::Sigmoid, -inf), 0.0f);
    for (UnaryOp op : {UnaryOp::Gelu, UnaryOp::GeluTanh, UnaryOp::Silu, UnaryOp::Softplus}) {
      EXPECT_EQ(run1(op, inf), inf) << op_name(op);
      EXPECT_EQ(run1(op, -inf), 0.0f) << op_name(op);
      EXPECT_EQ(run1(op, FLT_MAX), FLT_MAX) << op_name(op);
    }
    for (UnaryOp op : {UnaryOp::GeluDeriv, UnaryOp::GeluTanhDeriv, UnaryOp::SiluDeriv}) {
      EXPECT_EQ(run1(op, inf), 1.0f) << op_name(op);
      EXPECT_EQ(run1(op, -inf), 0.0f) << op_name(op);
      EXPECT_EQ(run1(op, -FLT_MAX), 0.0f) << op_name(op);
      EXPECT_EQ(run1(op, FLT_MAX), 1.0f) << op_name(op);
    }
  }
}

// Ragged sizes exercise the tail path; in-place calls must equal out-of-place ones, and
// nothing past n may be written.
TEST(UnaryShapes, OddSizesAndAliasing) {
  IsaRestore restore;
  for (Isa isa : supported_isas()) {
    fk::set_isa(isa);
    for (UnaryOp op : kAllOps) {
      for (int n = 1; n <= 67; ++n) {
        std::vector<float> x(n), y(n + 8, 12345.0f);
        for (int i = 0; i < n; ++i) x[i] = op == UnaryOp::Log ? 0.05f + 0.37f * i : -6.1f + 0.19f * i;
        fk::unary(op, x.data(), y.data(), n);
        for (int i = n; i < n + 8; ++i) ASSERT_EQ(y[i], 12345.0f) << "wrote past n";
        std::vector<float> z = x;
        fk::unary(op, z.data(), z.data(), n);
        for (int i = 0; i < n; ++i) {
          ASSERT_EQ(std::memcmp(&y[i], &z[i], 4), 0) << op_name(op) << " n=" << n << " i=" << i;
          const float single = run1(op, x[i]);
          ASSERT_EQ(std::memcmp(&y[i], &single, 4), 0)
              << op_name(op) << " position-dependent result, n=" << n;
          double e = ulp_error(y[i], reference(op, x[i]));
          const LD ts = term_scale(op, x[i]);
          if (ts > 0)
            e = std::min(e,
                         static_cast<double>(std::fabs(y[i] - reference(op, x[i])) / (ts * FLT_EPSILON / 2)));
          ASSERT_LE(e, ulp_bound(op)) << op_name(op) << " x=" << x[i];
        }
      }
    }
  }
}

// Kernels that branch per vector (a slow form run only when some lane needs it) must
// still give every lane the result it gets alone: one extreme value among ordinary ones
// changes no neighbour's bits.
TEST(UnaryShapes, ExtremeLaneLeavesItsNeighboursUnchanged) {
  IsaRestore restore;
  const float extremes[] = {-95.0f, -88.5f, -200.0f, 95.0f, -INFINITY, INFINITY, NAN, 3.0f};
  for (Isa isa : supported_isas()) {
    fk::set_isa(isa);
    for (UnaryOp op : kAllOps) {
      for (float ext : extremes) {
        for (int at = 0; at < 16; ++at) {
          std::vector<float> x(32), y(32);
          for (int i = 0; i < 32; ++i) x[i] = op == UnaryOp::Log ? 0.05f + 0.37f * i : -4.1f + 0.27f * i;
          x[at] = op == UnaryOp::Log ? std::fabs(ext) : ext;
          fk::unary(op, x.data(), y.data(), 32);
          for (int i = 0; i < 32; ++i) {
            const float single = run1(op, x[i]);
            ASSERT_EQ(std::memcmp(&y[i], &single, 4), 0)
                << op_name(op) << " x=" << x[i] << " beside " << ext << " at lane " << at;
          }
        }
      }
    }
  }
}

// Above the OpenMP threshold the split must not change a single bit, and the caller's
// MXCSR (FTZ/DAZ off here) must come back unchanged.
TEST(UnaryShapes, ParallelMatchesSerialAndRestoresMxcsr) {
  const int64_t n = 300007;
  std::vector<float> x(n);
  for (int64_t i = 0; i < n; ++i) x[i] = -12.0f + 24.0f * static_cast<float>(i) / n;
  const unsigned csr = _mm_getcsr();
  for (UnaryOp op : kAllOps) {
    std::vector<float> y(n), z(n);
    fk::unary(op, x.data(), y.data(), n);
    for (int64_t b = 0; b < n; b += 1000)
      fk::unary(op, x.data() + b, z.data() + b, std::min<int64_t>(1000, n - b));
    ASSERT_EQ(std::memcmp(y.data(), z.data(), n * sizeof(float)), 0) << op_name(op);
    ASSERT_EQ(_mm_getcsr(), csr);
  }
}

TEST(UnaryF64, AgainstLongDouble) {
  std::vector<double> xs;
  for (int i = 0; i <= 200000; ++i) xs.push_back(-30.0 + 60.0 * i / 200000.0);
  for (double s : {1e-300, -1e-300, 1e300, -1e300, 0.0, -0.0, 700.0, -745.0}) xs.push_back(s);
  for (UnaryOp op : kAllOps) {
    std::vector<double> y(xs.size());
    fk::unary(op, xs.data(), y.data(), static_cast<int64_t>(xs.size()));
    double worst = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      const LD r = reference(op, xs[i]);
      if (std::isnan(r)) {
        EXPECT_TRUE(std::isnan(y[i]));
        continue;
      }
      if (std::isinf(r) || std::fabs(r) > DBL_MAX) {
        EXPECT_EQ(static_cast<LD>(y[i]), r);
        continue;
      }
      const LD d = std::fabs(static_cast<LD>(y[i]) - r);
      // Relative 1e-13 (libm is ~1 ulp; the GELU forms add a few roundings); absolute
      // 1e-15 near zeros and in the underflow range.
      const double rel = static_cast<double>(d / std::max(std::fabs(r), 1e-2L));
      worst = std::max(worst, rel);
      EXPECT_TRUE(d <= 1e-13L * std::fabs(r) || d <= 1e-15L)
          << op_name(op) << " x=" << xs[i] << " got " << y[i] << " ref " << static_cast<double>(r);
    }
    std::printf("  f64 %-14s max rel err %.3g\n", op_name(op), worst);
    for (double s : {NAN}) {
      double v = s, out;
      fk::unary(op, &v, &out, 1);
      EXPECT_TRUE(std::isnan(out)) << op_name(op);
    }
  }
}

TEST(GeluBackward, EqualsGradTimesDerivative) {
  IsaRestore restore;
  const int64_t n = 70001;  // above the parallel threshold, ragged tail
  std::vector<float> x(n), gy(n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = -9.0f + 18.0f * static_cast<float>(i) / n;
    gy[i] = 0.5f + std::sin(0.01f * static_cast<float>(i));
  }
  for (Isa isa : supported_isas()) {
    fk::set_isa(isa);
    for (bool tanh_approx : {false, true}) {
      const UnaryOp dop = tanh_approx ? UnaryOp::GeluTanhDeriv : UnaryOp::GeluDeriv;
      std::vector<float> d(n), gx(n);
      fk::unary(dop, x.data(), d.data(), n);
      fk::gelu_backward(tanh_approx, x.data(), gy.data(), gx.data(), n);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(gx[i], gy[i] * d[i]) << fk::isa_name(isa) << " i=" << i;
      std::vector<float> alias = gy;  // gx aliasing gy
      fk::gelu_backward(tanh_approx, x.data(), alias.data(), alias.data(), n);
      ASSERT_EQ(std::memcmp(alias.data(), gx.data(), n * sizeof(float)), 0);
    }
  }
  std::vector<double> xd(1001), gd(1001), out(1001);
  for (int i = 0; i <= 1000; ++i) {
    xd[i] = -8.0 + 0.016 * i;
    gd[i] = 1.5 - 0.001 * i;
  }
  for (bool tanh_approx : {false, true}) {
    fk::gelu_backward(tanh_approx, xd.data(), gd.data(), out.data(), 1001);
    const UnaryOp dop = tanh_approx ? UnaryOp::GeluTanhDeriv : UnaryOp::GeluDeriv;
    for (int i = 0; i <= 1000; ++i)
      EXPECT_NEAR(out[i], gd[i] * static_cast<double>(reference(dop, xd[i])), 1e-14);
  }
}

// The generic fused backward is gy * dop(x) bit for bit, for every derivative op the
// primitives use, on every ISA; the output form is gy (1 - y^2) / gy y (1 - y).
TEST(UnaryBackward, FusedEqualsGradTimesDerivative) {
  IsaRestore restore;
  const int64_t n = 70001;
  std::vector<float> x(n), gy(n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = -9.0f + 18.0f * static_cast<float>(i) / n;
    gy[i] = 0.5f + std::sin(0.01f * static_cast<float>(i));
  }
  for (Isa isa : supported_isas()) {
    fk::set_isa(isa);
    for (UnaryOp dop : {UnaryOp::SiluDeriv, UnaryOp::Sigmoid, UnaryOp::GeluDeriv}) {
      std::vector<float> d(n), gx(n);
      fk::unary(dop, x.data(), d.data(), n);
      fk::unary_backward(dop, x.data(), gy.data(), gx.data(), n);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(gx[i], gy[i] * d[i]) << fk::isa_name(isa) << " " << op_name(dop) << " i=" << i;
    }
    for (bool is_tanh : {true, false}) {
      std::vector<float> y(n), gx(n);
      fk::unary(is_tanh ? UnaryOp::Tanh : UnaryOp::Sigmoid, x.data(), y.data(), n);
      fk::output_backward(is_tanh, y.data(), gy.data(), gx.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        const double yv = y[i];
        const double want = is_tanh ? gy[i] * (1.0 - yv * yv) : gy[i] * yv * (1.0 - yv);
        ASSERT_NEAR(gx[i], want, 4e-7 * (std::fabs(gy[i]) + 1e-30)) << fk::isa_name(isa) << " i=" << i;
      }
      std::vector<float> alias = gy;
      fk::output_backward(is_tanh, y.data(), alias.data(), alias.data(), n);
      ASSERT_EQ(std::memcmp(alias.data(), gx.data(), n * sizeof(float)), 0);
    }
  }
  std::vector<double> xd(1001), gd(1001), out(1001);
  for (int i = 0; i <= 1000; ++i) {
    xd[i] = -8.0 + 0.016 * i;
    gd[i] = 1.5 - 0.001 * i;
  }
  fk::unary_backward(UnaryOp::SiluDeriv, xd.data(), gd.data(), out.data(), 1001);
  for (int i = 0; i <= 1000; ++i)
    EXPECT_NEAR(out[i], gd[i] * static_cast<double>(reference(UnaryOp::SiluDeriv, xd[i])), 1e-14);
}

}  // namespace
