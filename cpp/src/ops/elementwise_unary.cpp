// More unary primitives (issue 12): trigonometric/hyperbolic functions and their inverses,
// exp/log variants, special functions, rounding and the piecewise activations, with their
// honest composites. Forward, VJP and JVP side by side; derivatives from the cheat sheet
// ("ELEMENTARY FUNCTIONS", "COMMON ACTIVATION FUNCTIONS") and PyTorch's derivatives.yaml.
#include <cmath>
#include <limits>

#include "common.h"

namespace fastgrad {
using namespace detail;

namespace {

constexpr double kLn2 = 0.69314718055994530942;
constexpr double kLn10 = 2.30258509299404568402;
constexpr double kPi = 3.14159265358979323846;
constexpr double kTwoOverSqrtPi = 1.12837916709551257390;
constexpr double kSqrtPiOver2 = 0.88622692545275801365;

Tensor as_float(const Tensor& x) { return is_floating(x.dtype()) ? x : cast(x, DType::Float32); }
Tensor mask_of(const Tensor& m, DType d) { return cast(m, d); }
Tensor cmp_s(const Tensor& x, double v, CmpOp op) { return compare(x, scalar(v, x.dtype()), op); }

// erfinv: Giles' single-precision approximation ("Approximating the erfinv function", GPU
// Computing Gems, 2011) as the start, then two Newton steps in double on erf (|y| <= 0.5)
// or on log erfc (|y| > 0.5, where 1 - |y| is exact) so float64 is accurate to a few ulp.
double erfinv_d(double y) {
  if (y != y || y < -1.0 || y > 1.0) return std::numeric_limits<double>::quiet_NaN();
  if (y == 1.0) return std::numeric_limits<double>::infinity();
  if (y == -1.0) return -std::numeric_limits<double>::infinity();
  if (y == 0.0) return y;  // keeps -0
  double w = -std::log((1.0 - y) * (1.0 + y)), p;
  if (w < 5.0) {
    w -= 2.5;
    p = 2.81022636e-08;
    p = 3.43273939e-07 + p * w;
    p = -3.5233877e-06 + p * w;
    p = -4.39150654e-06 + p * w;
    p = 0.00021858087 + p * w;
    p = -0.00125372503 + p * w;
    p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w;
    p = 1.50140941 + p * w;
  } else {
    w = std::sqrt(w) - 3.0;
    p = -0.000200214257;
    p = 0.000100950558 + p * w;
    p = 0.00134934322 + p * w;
    p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w;
    p = -0.0076224613 + p * w;
    p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w;
    p = 2.83297682 + p * w;
  }
  const double a = std::abs(y);
  double x = std::abs(p * y);
  // The start is ~1e-7 accurate in the body but only ~10% far out in the tail: iterate to
  // convergence (quadratic; at most a handful of steps).
  for (int it = 0; it < 8; ++it) {
    const double dx = kTwoOverSqrtPi * std::exp(-x * x);
    double step;
    if (a <= 0.5) {
      step = -(std::erf(x) - a) / dx;
    } else {  // Newton on log erfc(x) = log(1 - a): well conditioned out in the tail
      const double c = std::erfc(x);
      step = (std::log(c) - std::log1p(-a)) * c / dx;
    }
    x += step;
    if (std::abs(step) <= 1e-17 * x) break;
  }
  return std::copysign(x, y);
}
// PyTorch's formula in the tensor's own precision (so large |x| and inf agree with it).
template <typename T>
T sinc_s(T x) {
  if (x == T(0)) return T(1);
  const T px = T(kPi) * x;
  return std::sin(px) / px;
}

struct FloatUnary : Primitive {
  FG_VMAP_ELEMENTWISE
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_float(in[0], name());
    return {in[0].shape()};
  }
};

// A float unary primitive y = FWD(x) whose derivative is DERIV(x, y). READS_X / READS_Y:
// which of x and y the rule reads (the tape keeps only those).
#define FG_MATH1(CLS, NAME, READS_X, READS_Y, FWD, DERIV)                                                    \
  struct CLS : FloatUnary {                                                                                  \
    static constexpr PrimitiveDesc kDesc =                                                                   \
        PrimitiveDesc(NAME).reads_inputs(READS_X ? 1u : 0u).reads_outputs(READS_Y);                          \
    const PrimitiveDesc& desc() const override { return kDesc; }                                             \
    Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {                \
      Tensor out = empty(out_shapes[0], in[0].dtype());                                                      \
      FG_DISPATCH_FLOAT(in[0].dtype(), name(),                                                               \
                        [&] { map_unary<scalar_t, scalar_t>(out, in[0], [](scalar_t x) { return FWD; }); }); \
      return {out};                                                                                          \
    }                                                                                                        \
    static Tensor d(const Tensor& x, const Tensor& y) {                                                      \
      (void)x;                                                                                               \
      (void)y;                                                                                               \
      return DERIV;                                                                                          \
    }                                                                                                        \
    Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g,                                        \
                const std::vector<bool>&) const override {                                                   \
      return {g[0] * d(READS_X ? x[0] : Tensor(), READS_Y ? y[0] : Tensor())};                               \
    }                                                                                                        \
    Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {                       \
      return {t[0] * d(x[0], y[0])};                                                                         \
    }                                                                                                        \
  };                                                                                                         \
  FG_REGISTER_PRIMITIVE(CLS::kDesc);

FG_MATH1(Expm1, "expm1", false, true, std::expm1(x), y + 1.0)
FG_MATH1(Exp2, "exp2", false, true, std::exp2(x), y* kLn2)
FG_MATH1(Log2, "log2", true, false, std::log2(x), rdiv_scalar(x, 1.0 / kLn2))
FG_MATH1(Log10, "log10", true, false, std::log10(x), rdiv_scalar(x, 1.0 / kLn10))
FG_MATH1(Tan, "tan", false, true, std::tan(x), y* y + 1.0)
FG_MATH1(Sinh, "sinh", true, false, std::sinh(x), cosh(x))
FG_MATH1(Cosh, "cosh", true, false, std::cosh(x), sinh(x))
FG_MATH1(Asinh, "asinh", true, false, std::asinh(x), rsqrt(x* x + 1.0))
// 1/sqrt((x-1)(x+1)): no cancellation near 1 (PyTorch's form)
FG_MATH1(Acosh, "acosh", true, false, std::acosh(x), rsqrt((x - 1.0) * (x + 1.0)))
FG_MATH1(Atanh, "atanh", true, false, std::atanh(x), rdiv_scalar(1.0 - x * x, 1.0))
FG_MATH1(Asin, "asin", true, false, std::asin(x), rsqrt(1.0 - x * x))
FG_MATH1(Acos, "acos", true, false, std::acos(x), neg(rsqrt(1.0 - x * x)))
FG_MATH1(Atan, "atan", true, false, std::atan(x), rdiv_scalar(x* x + 1.0, 1.0))
FG_MATH1(Erfc, "erfc", true, false, std::erfc(x), exp(neg(x* x)) * -kTwoOverSqrtPi)
// erfinv' = sqrt(pi)/2 exp(y^2)
FG_MATH1(Erfinv, "erfinv", false, true, static_cast<scalar_t>(erfinv_d(x)), exp(y* y) * kSqrtPiOver2)
// rsqrt' = -y^3 / 2
FG_MATH1(Rsqrt, "rsqrt", false, true, scalar_t(1) / std::sqrt(x), y * y * y * -0.5)
// sinc' = (cos(pi x) - sinc(x)) / x, 0 at x = 0
FG_MATH1(Sinc, "sinc", true, true, sinc_s(x),
         where(cmp_s(x, 0.0, CmpOp::Eq), zeros_like(x),
               (cos(x * kPi) - y) / where(cmp_s(x, 0.0, CmpOp::Eq), ones_like(x), x)))
#undef FG_MATH1

// Rounding: piecewise constant, derivative 0 wherever it exists (PyTorch's convention).
enum class RoundKind { Floor, Ceil, Trunc, Round };
template <RoundKind K>
struct Rounding : Primitive {
  FG_VMAP_ELEMENTWISE
  int64_t decimals = 0;
  Rounding() = default;
  explicit Rounding(int64_t d) : decimals(d) {}
  static constexpr const char* kName = K == RoundKind::Floor   ? "floor"
                                       : K == RoundKind::Ceil  ? "ceil"
                                       : K == RoundKind::Trunc ? "trunc"
                                                               : "round";
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc(kName).reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_float(in[0], name());
    return {in[0].shape()};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    const int64_t dec = decimals;
    FG_DISPATCH_FLOAT(in[0].dtype(), name(), [&] {
      if constexpr (K == RoundKind::Floor) {
        map_unary<scalar_t, scalar_t>(out, in[0], [](scalar_t x) { return std::floor(x); });
      } else if constexpr (K == RoundKind::Ceil) {
        map_unary<scalar_t, scalar_t>(out, in[0], [](scalar_t x) { return std::ceil(x); });
      } else if constexpr (K == RoundKind::Trunc) {
        map_unary<scalar_t, scalar_t>(out, in[0], [](scalar_t x) { return std::trunc(x); });
      } else if (dec == 0) {
        map_unary<scalar_t, scalar_t>(out, in[0], [](scalar_t x) { return std::nearbyint(x); });
      } else {
        // PyTorch's round(decimals=): scale by 10^|d| in the tensor's own precision.
        const bool negd = dec < 0;
        const scalar_t p = static_cast<scalar_t>(std::pow(10.0, static_cast<double>(negd ? -dec : dec)));
        map_unary<scalar_t, scalar_t>(out, in[0], [p, negd](scalar_t x) {
          return negd ? std::nearbyint(x / p) * p : std::nearbyint(x * p) / p;
        });
      }
    });
    return {out};
  }
  Tensors vjp(const Tensors&, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {zeros_like(g[0])};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override { return {zeros_like(t[0])}; }
};
FG_REGISTER_PRIMITIVE(Rounding<RoundKind::Floor>::kDesc);
FG_REGISTER_PRIMITIVE(Rounding<RoundKind::Ceil>::kDesc);
FG_REGISTER_PRIMITIVE(Rounding<RoundKind::Trunc>::kDesc);
FG_REGISTER_PRIMITIVE(Rounding<RoundKind::Round>::kDesc);

// hardtanh: x limited to [lo, hi]; gradient 1 strictly inside (PyTorch's hardtanh_backward
// zeroes it where x <= lo or x >= hi; NaN passes both ways).
struct Hardtanh : FloatUnary {
  double lo, hi;
  Hardtanh(double l, double h) : lo(l), hi(h) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("hardtanh");
  const PrimitiveDesc& desc() const override { return kDesc; }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    FG_DISPATCH_FLOAT(in[0].dtype(), name(), [&] {
      const scalar_t l = static_cast<scalar_t>(lo), h = static_cast<scalar_t>(hi);
      map_unary<scalar_t, scalar_t>(out, in[0], [l, h](scalar_t x) { return x < l ? l : (x > h ? h : x); });
    });
    return {out};
  }
  Tensor deriv(const Tensor& x) const {
    return mask_of(logical_not(logical_or(cmp_s(x, lo, CmpOp::Le), cmp_s(x, hi, CmpOp::Ge))), x.dtype());
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {g[0] * deriv(x[0])};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {t[0] * deriv(x[0])};
  }
};
FG_REGISTER_PRIMITIVE(Hardtanh::kDesc);

// elu family: scale * (x > 0 ? x : alpha * expm1(input_scale * x)); derivative scale, resp.
// scale * alpha * input_scale * exp(input_scale * x) where x <= 0 (PyTorch's elu_backward).
struct Elu : FloatUnary {
  double alpha, scale, input_scale;
  Elu(double a, double s, double i) : alpha(a), scale(s), input_scale(i) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("elu");
  const PrimitiveDesc& desc() const override { return kDesc; }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    FG_DISPATCH_FLOAT(in[0].dtype(), name(), [&] {
      const scalar_t a = static_cast<scalar_t>(alpha * scale), s = static_cast<scalar_t>(scale);
      const scalar_t is = static_cast<scalar_t>(input_scale);
      map_unary<scalar_t, scalar_t>(
          out, in[0], [a, s, is](scalar_t x) { return x > 0 ? x * s : std::expm1(x * is) * a; });
    });
    return {out};
  }
  Tensor deriv(const Tensor& x) const {
    return where(cmp_s(x, 0.0, CmpOp::Le), exp(x * input_scale) * (alpha * scale * input_scale),
                 scalar(scale, x.dtype()));
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {g[0] * deriv(x[0])};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {t[0] * deriv(x[0])};
  }
};
FG_REGISTER_PRIMITIVE(Elu::kDesc);

template <RoundKind K>
Tensor rounding(const Tensor& x, int64_t decimals = 0) {
  if (!is_floating(x.dtype())) return x;  // integers are already whole (PyTorch returns them as is)
  return apply1(make_prim<Rounding<K>>(decimals), {x});
}

}  // namespace

Tensor expm1(const Tensor& x) { return apply1(singleton<Expm1>(), {as_float(x)}); }
Tensor exp2(const Tensor& x) { return apply1(singleton<Exp2>(), {as_float(x)}); }
Tensor log2(const Tensor& x) { return apply1(singleton<Log2>(), {as_float(x)}); }
Tensor log10(const Tensor& x) { return apply1(singleton<Log10>(), {as_float(x)}); }
Tensor tan(const Tensor& x) { return apply1(singleton<Tan>(), {as_float(x)}); }
Tensor sinh(const Tensor& x) { return apply1(singleton<Sinh>(), {as_float(x)}); }
Tensor cosh(const Tensor& x) { return apply1(singleton<Cosh>(), {as_float(x)}); }
Tensor asinh(const Tensor& x) { return apply1(singleton<Asinh>(), {as_float(x)}); }
Tensor acosh(const Tensor& x) { return apply1(singleton<Acosh>(), {as_float(x)}); }
Tensor atanh(const Tensor& x) { return apply1(singleton<Atanh>(), {as_float(x)}); }
Tensor asin(const Tensor& x) { return apply1(singleton<Asin>(), {as_float(x)}); }
Tensor acos(const Tensor& x) { return apply1(singleton<Acos>(), {as_float(x)}); }
Tensor atan(const Tensor& x) { return apply1(singleton<Atan>(), {as_float(x)}); }
Tensor erfc(const Tensor& x) { return apply1(singleton<Erfc>(), {as_float(x)}); }
Tensor erfinv(const Tensor& x) { return apply1(singleton<Erfinv>(), {as_float(x)}); }
Tensor rsqrt(const Tensor& x) { return apply1(singleton<Rsqrt>(), {as_float(x)}); }
Tensor sinc(const Tensor& x) { return apply1(singleton<Sinc>(), {as_float(x)}); }
Tensor square(const Tensor& x) {
  const Tensor v = x.dtype() == DType::Bool ? cast(x, DType::Int64) : x;
  return mul(v, v);
}
Tensor reciprocal(const Tensor& x) { return rdiv_scalar(as_float(x), 1.0); }
Tensor floor(const Tensor& x) { return rounding<RoundKind::Floor>(x); }
Tensor ceil(const Tensor& x) { return rounding<RoundKind::Ceil>(x); }
Tensor trunc(const Tensor& x) { return rounding<RoundKind::Trunc>(x); }
Tensor round(const Tensor& x, int64_t decimals) { return rounding<RoundKind::Round>(x, decimals); }
Tensor frac(const Tensor& x) {
  require_float(x, "frac");
  return x - trunc(x);
}
Tensor deg2rad(const Tensor& x) { return as_float(x) * (kPi / 180.0); }
Tensor rad2deg(const Tensor& x) { return as_float(x) * (180.0 / kPi); }
Tensor logit(const Tensor& x0, std::optional<double> eps) {
  Tensor x = as_float(x0);
  if (eps) x = clip(x, *eps, 1.0 - *eps);  // gradient 0 outside [eps, 1 - eps], as PyTorch
  return log(x / (1.0 - x));
}
Tensor nan_to_num(const Tensor& x, double nan, std::optional<double> posinf, std::optional<double> neginf) {
  if (!is_floating(x.dtype())) return x;
  const bool f32 = x.dtype() == DType::Float32;
  const double big = f32 ? std::numeric_limits<float>::max() : std::numeric_limits<double>::max();
  const double inf = std::numeric_limits<double>::infinity();
  Tensor r = where(isnan(x), scalar(nan, x.dtype()), x);
  r = where(cmp_s(x, inf, CmpOp::Eq), scalar(posinf ? *posinf : big, x.dtype()), r);
  return where(cmp_s(x, -inf, CmpOp::Eq), scalar(neginf ? *neginf : -big, x.dtype()), r);
}

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  if (min_val > max_val)
    throw ValueError("hardtanh: min_val (" + std::to_string(min_val) + ") must not exceed max_val (" +
                     std::to_string(max_val) + ")");
  return apply1(make_prim<Hardtanh>(min_val, max_val), {as_float(x)});
}
Tensor relu6(const Tensor& x) { return hardtanh(x, 0.0, 6.0); }
Tensor elu(const Tensor& x, double alpha, double scale, double input_scale) {
  return apply1(make_prim<Elu>(alpha, scale, input_scale), {as_float(x)});
}
// Klambauer et al., "Self-Normalizing Neural Networks" (2017): the fixed-point constants.
Tensor selu(const Tensor& x) {
  return elu(x, 1.6732632423543772848170429916717, 1.0507009873554804934193349852946);
}
// Barron, "Continuously Differentiable Exponential Linear Units" (2017).
Tensor celu(const Tensor& x, double alpha) {
  if (alpha == 0.0) throw ValueError("celu: alpha must not be 0 (it divides x)");
  return elu(x, alpha, 1.0, 1.0 / alpha);
}
// log sigmoid(x) = -softplus(-x), without the identity switch (it would cost accuracy).
Tensor logsigmoid(const Tensor& x) {
  return neg(softplus(neg(as_float(x)), 1.0, std::numeric_limits<double>::infinity()));
}
// Misra, "Mish: A Self Regularized Non-Monotonic Activation Function" (2019).
Tensor mish(const Tensor& x0) {
  Tensor x = as_float(x0);
  return x * tanh(softplus(x, 1.0, 20.0));
}
// Howard et al., "Searching for MobileNetV3" (2019): x relu6(x + 3) / 6, relu6(x + 3) / 6.
Tensor hardswish(const Tensor& x0) {
  Tensor x = as_float(x0);
  return x * hardtanh(x + 3.0, 0.0, 6.0) / scalar(6.0, x.dtype());
}
Tensor hardsigmoid(const Tensor& x0) {
  Tensor x = as_float(x0);
  return hardtanh(x + 3.0, 0.0, 6.0) / scalar(6.0, x.dtype());
}
Tensor softsign(const Tensor& x0) {
  Tensor x = as_float(x0);
  return x / (abs(x) + 1.0);
}
// value where x <= threshold (NaN passes), gradient 0 there (PyTorch's threshold_backward).
Tensor threshold(const Tensor& x, double threshold, double value) {
  const Tensor v = x.dtype() == DType::Bool ? cast(x, DType::Int64) : x;
  return where(cmp_s(v, threshold, CmpOp::Le), scalar(value, v.dtype()), v);
}
Tensor tanhshrink(const Tensor& x0) {
  Tensor x = as_float(x0);
  return x - tanh(x);
}
// x - clamp(x, -l, l): x - l above l, x + l below -l, 0 between; gradient 0 on [-l, l].
Tensor softshrink(const Tensor& x0, double lambd) {
  if (!(lambd >= 0)) throw ValueError("softshrink: lambd must be >= 0, got " + std::to_string(lambd));
  Tensor x = as_float(x0);
  return x - clip(x, -lambd, lambd);
}
Tensor hardshrink(const Tensor& x0, double lambd) {
  Tensor x = as_float(x0);
  Tensor inside = logical_and(cmp_s(x, -lambd, CmpOp::Ge), cmp_s(x, lambd, CmpOp::Le));
  return where(inside, zeros({}, x.dtype()), x);
}

}  // namespace fastgrad
