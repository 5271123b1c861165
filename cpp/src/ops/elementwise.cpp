// Elementwise primitives: forward, VJP rule and JVP rule side by side for each.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "common.h"

namespace fastgrad {
using namespace detail;

namespace {

// ---------------------------------------------------------------- binary ops
// Broadcasting is summed away by the engine (sum_to), so rules may return
// gradients of the broadcast shape.
struct BinaryBase : Primitive {
  FG_VMAP_ELEMENTWISE
  std::vector<Shape> shapes(const Tensors& in) const override {
    if (in[0].dtype() != in[1].dtype())
      throw TypeError(std::string(name()) + ": dtypes differ (" + dtype_name(in[0].dtype()) + " vs " +
                      dtype_name(in[1].dtype()) + ")");
    return {broadcast_shapes(in[0].shape(), in[1].shape(), name())};
  }
};

#define FG_BINARY_FORWARD(EXPR)                                                                       \
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {           \
    Tensor out = empty(out_shapes[0], in[0].dtype());                                                 \
    FG_DISPATCH_NUM(in[0].dtype(), name(), [&] {                                                      \
      map_binary<scalar_t, scalar_t>(out, in[0], in[1], [](scalar_t a, scalar_t b) { return EXPR; }); \
    });                                                                                               \
    return {out};                                                                                     \
  }

struct Add : BinaryBase {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("add").inputs(2).reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  FG_BINARY_FORWARD(wrap_add(a, b))
  Tensors vjp(const Tensors&, const Tensors&, const Tensors& g,
              const std::vector<bool>& need) const override {
    return {need[0] ? g[0] : Tensor(), need[1] ? g[0] : Tensor()};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override {
    return {add_maybe(t[0], t[1])};
  }
};
FG_REGISTER_PRIMITIVE(Add::kDesc);

struct Sub : BinaryBase {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("sub").inputs(2).reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  FG_BINARY_FORWARD(wrap_sub(a, b))
  Tensors vjp(const Tensors&, const Tensors&, const Tensors& g,
              const std::vector<bool>& need) const override {
    return {need[0] ? g[0] : Tensor(), need[1] ? neg(g[0]) : Tensor()};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override {
    return {add_maybe(t[0], t[1].defined() ? neg(t[1]) : Tensor())};
  }
};
FG_REGISTER_PRIMITIVE(Sub::kDesc);

struct Mul : BinaryBase {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("mul").inputs(2);
  const PrimitiveDesc& desc() const override { return kDesc; }
  FG_BINARY_FORWARD(wrap_mul(a, b))
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g,
              const std::vector<bool>& need) const override {
    return {need[0] ? g[0] * x[1] : Tensor(), need[1] ? g[0] * x[0] : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {add_maybe(t[0].defined() ? t[0] * x[1] : Tensor(), t[1].defined() ? x[0] * t[1] : Tensor())};
  }
};
FG_REGISTER_PRIMITIVE(Mul::kDesc);

struct Div : BinaryBase {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("div").inputs(2).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  FG_BINARY_FORWARD(a / b)
  // d(a/b) = da/b - (a/b) db/b
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g,
              const std::vector<bool>& need) const override {
    Tensor ga = g[0] / x[1];
    return {need[0] ? ga : Tensor(), need[1] ? neg(ga * y[0]) : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    Tensor r = t[0].defined() ? t[0] / x[1] : Tensor();
    if (t[1].defined()) r = add_maybe(r, neg(y[0] * t[1] / x[1]));
    return {r};
  }
};
FG_REGISTER_PRIMITIVE(Div::kDesc);

struct Pow : BinaryBase {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("pow").inputs(2).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    FG_DISPATCH_FLOAT(in[0].dtype(), name(), [&] {
      map_binary<scalar_t, scalar_t>(out, in[0], in[1],
                                     [](scalar_t a, scalar_t b) { return std::pow(a, b); });
    });
    return {out};
  }
  // d(a^b) = b a^(b-1) da + a^b log(a) db; the log term is 0 where a == 0 (as PyTorch).
  // 0 where b == 0 (d a^0 / da = 0, also at a = 0 where b a^(b-1) would be 0 * inf), as
  // PyTorch and as pow_scalar's rule for the exponent 0.
  static Tensor dbase(const Tensor& a, const Tensor& b) {
    Tensor zero = zeros_like(b);
    return where(compare(b, zero, CmpOp::Eq), zero, b * pow(a, b - 1.0));
  }
  // PyTorch's rule: 0 only where a == 0 and b >= 0; for b < 0 it is inf * log(0) = -inf.
  static Tensor dexp(const Tensor& a, const Tensor& b, const Tensor& y) {
    Tensor zero = zeros_like(y);
    Tensor at0 = logical_and(compare(a, zeros_like(a), CmpOp::Eq), compare(b, zeros_like(b), CmpOp::Ge));
    Tensor safe = where(at0, ones_like(y), a);
    return where(at0, zero, y * log(safe));
  }
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g,
              const std::vector<bool>& need) const override {
    return {need[0] ? g[0] * dbase(x[0], x[1]) : Tensor(),
            need[1] ? g[0] * dexp(x[0], x[1], y[0]) : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    return {add_maybe(t[0].defined() ? t[0] * dbase(x[0], x[1]) : Tensor(),
                      t[1].defined() ? t[1] * dexp(x[0], x[1], y[0]) : Tensor())};
  }
};
FG_REGISTER_PRIMITIVE(Pow::kDesc);

// Ties split the gradient evenly, so maximum(x, x) has derivative 1 (as PyTorch).
Tensor select_weight(const Tensor& a, const Tensor& b, bool max) {
  Tensor win = cast(compare(a, b, max ? CmpOp::Gt : CmpOp::Lt), a.dtype());
  Tensor tie = cast(compare(a, b, CmpOp::Eq), a.dtype());
  return win + tie * 0.5;
}
template <bool Max>
struct MinMax : BinaryBase {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc(Max ? "maximum" : "minimum").inputs(2);
  const PrimitiveDesc& desc() const override { return kDesc; }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    FG_DISPATCH_NUM(in[0].dtype(), name(), [&] {
      map_binary<scalar_t, scalar_t>(out, in[0], in[1], [](scalar_t a, scalar_t b) {
        if (a != a) return a;  // NaN propagates as NumPy
        if (b != b) return b;
        return Max ? (a > b ? a : b) : (a < b ? a : b);
      });
    });
    return {out};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g,
              const std::vector<bool>& need) const override {
    Tensor wa = select_weight(x[0], x[1], Max);
    return {need[0] ? g[0] * wa : Tensor(), need[1] ? g[0] * (1.0 - wa) : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    Tensor wa = select_weight(x[0], x[1], Max);
    return {add_maybe(t[0].defined() ? t[0] * wa : Tensor(), t[1].defined() ? t[1] * (1.0 - wa) : Tensor())};
  }
};
FG_REGISTER_PRIMITIVE(MinMax<true>::kDesc);
FG_REGISTER_PRIMITIVE(MinMax<false>::kDesc);

// ---------------------------------------------------------------- scalar ops
// x op s with a Python scalar s: one primitive per form, so `x * 2` allocates no
// constant tensor (part of the per-op overhead budget).
struct ScalarBase : Primitive {
  FG_VMAP_ELEMENTWISE
  double s;
  explicit ScalarBase(double v) : s(v) {}
  std::vector<Shape> shapes(const Tensors& in) const override { return {in[0].shape()}; }
};
#define FG_SCALAR_FORWARD(EXPR)                                                      \
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {     \
    Tensor out = empty(in[0].shape(), in[0].dtype());                                \
    FG_DISPATCH_NUM(in[0].dtype(), name(), [&] {                                     \
      const scalar_t c = convert<scalar_t>(s); /* integral and in range for int64 */ \
      map_unary<scalar_t, scalar_t>(out, in[0], [c](scalar_t a) { return EXPR; });   \
    });                                                                              \
    return {out};                                                                    \
  }

struct AddScalar : ScalarBase {
  using ScalarBase::ScalarBase;
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("add_scalar").reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  FG_SCALAR_FORWARD(wrap_add(a, c))
  Tensors vjp(const Tensors&, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {g[0]};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override { return {t[0]}; }
};
FG_REGISTER_PRIMITIVE(AddScalar::kDesc);

struct MulScalar : ScalarBase {
  using ScalarBase::ScalarBase;
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("mul_scalar").reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  FG_SCALAR_FORWARD(wrap_mul(a, c))
  Tensors vjp(const Tensors&, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {g[0] * s};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override { return {t[0] * s}; }
};
FG_REGISTER_PRIMITIVE(MulScalar::kDesc);

struct RsubScalar : ScalarBase {
  using ScalarBase::ScalarBase;
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("rsub_scalar").reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  FG_SCALAR_FORWARD(wrap_sub(c, a))
  Tensors vjp(const Tensors&, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {neg(g[0])};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override { return {neg(t[0])}; }
};
FG_REGISTER_PRIMITIVE(RsubScalar::kDesc);

struct RdivScalar : ScalarBase {
  using ScalarBase::ScalarBase;
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("rdiv_scalar").reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor out = empty(in[0].shape(), in[0].dtype());
    FG_DISPATCH_FLOAT(in[0].dtype(), name(), [&] {
      const scalar_t c = static_cast<scalar_t>(s);
      map_unary<scalar_t, scalar_t>(out, in[0], [c](scalar_t a) { return c / a; });
    });
    return {out};
  }
  // d(s/x) = -(s/x)/x dx
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    return {neg(g[0] * y[0] / x[0])};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    return {neg(t[0] * y[0] / x[0])};
  }
};
FG_REGISTER_PRIMITIVE(RdivScalar::kDesc);

struct PowScalar : ScalarBase {
  using ScalarBase::ScalarBase;
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("pow_scalar");
  const PrimitiveDesc& desc() const override { return kDesc; }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor out = empty(in[0].shape(), in[0].dtype());
    FG_DISPATCH_FLOAT(in[0].dtype(), name(), [&] {
      const scalar_t c = static_cast<scalar_t>(s);
      if (c == scalar_t(2))
        map_unary<scalar_t, scalar_t>(out, in[0], [](scalar_t a) { return a * a; });
      else
        map_unary<scalar_t, scalar_t>(out, in[0], [c](scalar_t a) { return std::pow(a, c); });
    });
    return {out};
  }
  Tensor deriv(const Tensor& x) const {
    if (s == 0.0) return zeros_like(x);
    if (s == 1.0) return ones_like(x);
    if (s == 2.0) return x * 2.0;
    return pow_scalar(x, s - 1.0) * s;
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {g[0] * deriv(x[0])};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {t[0] * deriv(x[0])};
  }
};
FG_REGISTER_PRIMITIVE(PowScalar::kDesc);

// ---------------------------------------------------------------- unary ops
struct UnaryBase : Primitive {
  FG_VMAP_ELEMENTWISE
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_float(in[0], name());
    return {in[0].shape()};
  }
};
#define FG_UNARY_FORWARD(EXPR, KOP)                                                                   \
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {           \
    Tensor out = empty(out_shapes[0], in[0].dtype());                                                 \
    FG_DISPATCH_FLOAT(in[0].dtype(), name(), [&] {                                                    \
      if (KOP >= 0 && vector_unary<scalar_t>(static_cast<kernels::UnaryOp>(KOP), in[0], out)) return; \
      map_unary<scalar_t, scalar_t>(out, in[0], [](scalar_t x) -> scalar_t { return EXPR; });         \
    });                                                                                               \
    return {out};                                                                                     \
  }
// A unary primitive whose derivative is d(x, y): vjp = g*d, jvp = t*d.
#define FG_UNARY(CLS, NAME, KOP, EXPR, USES_OUT, DERIV)                                 \
  struct CLS : UnaryBase {                                                              \
    static constexpr PrimitiveDesc kDesc = PrimitiveDesc(NAME).reads_outputs(USES_OUT); \
    const PrimitiveDesc& desc() const override { return kDesc; }                        \
    FG_UNARY_FORWARD(EXPR, KOP)                                                         \
    static Tensor d(const Tensor& x, const Tensor& y) {                                 \
      (void)x;                                                                          \
      (void)y;                                                                          \
      return DERIV;                                                                     \
    }                                                                                   \
    Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g,                   \
                const std::vector<bool>&) const override {                              \
      return {g[0] * d(x[0], USES_OUT ? y[0] : Tensor())};                              \
    }                                                                                   \
    Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {  \
      return {t[0] * d(x[0], y[0])};                                                    \
    }                                                                                   \
  };                                                                                    \
  FG_REGISTER_PRIMITIVE(CLS::kDesc);

struct Neg : UnaryBase {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("neg").reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override { return {in[0].shape()}; }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor out = empty(in[0].shape(), in[0].dtype());
    FG_DISPATCH_NUM(in[0].dtype(), name(), [&] {
      map_unary<scalar_t, scalar_t>(out, in[0], [](scalar_t x) { return wrap_neg(x); });  // -INT64_MIN wraps
    });
    return {out};
  }
  Tensors vjp(const Tensors&, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {neg(g[0])};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override { return {neg(t[0])}; }
};
FG_REGISTER_PRIMITIVE(Neg::kDesc);

inline Tensor step(const Tensor& x) { return cast(compare(x, zeros({}, x.dtype()), CmpOp::Gt), x.dtype()); }
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
constexpr double kTwoOverSqrtPi = 1.12837916709551257390;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kGeluC = 0.044715;

template <typename T>
T sigmoid_s(T x) {
  // Both branches avoid overflow of exp for large |x|.
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}
// x sigmoid(x), with the limit -0 at -inf (not -inf * 0 = NaN), as the vector kernel.
template <typename T>
T silu_s(T x) {
  if (x >= 0) return x / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e == T(0) ? -T(0) : x * e / (T(1) + e);
}
template <typename T>
T softplus_s(T x) {
  return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
}

FG_UNARY(Exp, "exp", static_cast<int>(kernels::UnaryOp::Exp), std::exp(x), true, y)
FG_UNARY(Log, "log", static_cast<int>(kernels::UnaryOp::Log), std::log(x), false, rdiv_scalar(x, 1.0))
FG_UNARY(Log1p, "log1p", -1, std::log1p(x), false, rdiv_scalar(x + 1.0, 1.0))
FG_UNARY(Sqrt, "sqrt", -1, std::sqrt(x), true, rdiv_scalar(y, 0.5))
FG_UNARY(Abs, "abs", -1, std::abs(x), false, sign(x))
FG_UNARY(Sin, "sin", -1, std::sin(x), false, cos(x))
FG_UNARY(Cos, "cos", -1, std::cos(x), false, neg(sin(x)))
// tanh and sigmoid are differentiated through their outputs y, and the backward pass of
// each is one fused primitive: g (1 - y²) resp. g y (1 - y) (saves two ops per use).
template <bool IsTanh>
struct OutputBackward : Primitive {  // inputs (y, g)
  FG_VMAP_ELEMENTWISE
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc(IsTanh ? "tanh_backward" : "sigmoid_backward").inputs(2);
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_float(in[0], name());
    if (in[0].dtype() != in[1].dtype()) throw TypeError(std::string(name()) + ": dtypes differ");
    return {broadcast_shapes(in[0].shape(), in[1].shape(), name())};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    FG_DISPATCH_FLOAT(in[0].dtype(), name(), [&] {
      const Tensor &y = in[0], &g = in[1];
      if (y.is_contiguous() && g.is_contiguous() && y.shape() == out.shape() && g.shape() == out.shape()) {
        kernels::output_backward(IsTanh, y.data<scalar_t>(), g.data<scalar_t>(), out.data<scalar_t>(),
                                 out.numel());
        return;
      }
      map_binary<scalar_t, scalar_t>(out, in[0], in[1], [](scalar_t y, scalar_t g) {
        return IsTanh ? g * (scalar_t(1) - y * y) : g * y * (scalar_t(1) - y);
      });
    });
    return {out};
  }
  // d out / d y at fixed g
  static Tensor dy(const Tensor& y, const Tensor& g) { return IsTanh ? g * y * -2.0 : g * (1.0 - y * 2.0); }
  static Tensor again(const Tensor& y, const Tensor& g);
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& c,
              const std::vector<bool>& need) const override {
    return {need[0] ? c[0] * dy(x[0], x[1]) : Tensor(), need[1] ? again(x[0], c[0]) : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    Tensor r = t[1].defined() ? again(x[0], t[1]) : Tensor();
    if (t[0].defined()) r = add_maybe(r, t[0] * dy(x[0], x[1]));
    return {r};
  }
};
template <bool IsTanh>
Tensor OutputBackward<IsTanh>::again(const Tensor& y, const Tensor& g) {
  return apply1(singleton<OutputBackward<IsTanh>>(), {y, g.dtype() == y.dtype() ? g : cast(g, y.dtype())});
}
FG_REGISTER_PRIMITIVE(OutputBackward<true>::kDesc);
FG_REGISTER_PRIMITIVE(OutputBackward<false>::kDesc);

template <bool IsTanh>
struct OutputUnary : UnaryBase {
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc(IsTanh ? "tanh" : "sigmoid").reads_inputs(0).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    FG_DISPATCH_FLOAT(in[0].dtype(), name(), [&] {
      if (vector_unary<scalar_t>(IsTanh ? kernels::UnaryOp::Tanh : kernels::UnaryOp::Sigmoid, in[0], out))
        return;
      map_unary<scalar_t, scalar_t>(out, in[0],
                                    [](scalar_t x) { return IsTanh ? std::tanh(x) : sigmoid_s(x); });
    });
    return {out};
  }
  Tensors vjp(const Tensors&, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    return {OutputBackward<IsTanh>::again(y[0], g[0])};
  }
  Tensors jvp(const Tensors&, const Tensors& y, const Tensors& t) const override {
    return {OutputBackward<IsTanh>::again(y[0], t[0])};
  }
};
using Tanh = OutputUnary<true>;
using Sigmoid = OutputUnary<false>;
FG_REGISTER_PRIMITIVE(Tanh::kDesc);
FG_REGISTER_PRIMITIVE(Sigmoid::kDesc);
FG_UNARY(Relu, "relu", -1, x > 0 || x != x ? x : scalar_t(0), false, step(x))
FG_UNARY(Erf, "erf", static_cast<int>(kernels::UnaryOp::Erf), std::erf(x), false,
         exp(neg(x* x)) * kTwoOverSqrtPi)
// silu' = s + x s (1 - s), s = sigmoid(x); the clamp gives the limits 1 and 0 at +-inf.
template <typename T>
T silu_deriv_s(T x) {
  const T xc = std::clamp(x, T(-800), T(800));
  const T s = sigmoid_s(xc);
  return s + xc * s * sigmoid_s(-xc);
}

// Fused backward passes from the input x: out = g * f'(x) in one pass over (x, g),
// for f = silu and softplus with beta 1 (f' = sigmoid; x itself above the threshold).
// Their own rules use f'' with plain ops:
//   silu''     = s (1 - s) (2 + x (1 - 2 s))
//   softplus'' = s (1 - s) below the threshold, 0 above.
Tensor silu_backward(const Tensor& x, const Tensor& g);
Tensor softplus_backward(const Tensor& x, const Tensor& g, double threshold);

struct XBackwardBase : Primitive {
  FG_VMAP_ELEMENTWISE
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_float(in[0], name());
    if (in[0].dtype() != in[1].dtype()) throw TypeError(std::string(name()) + ": dtypes differ");
    return {broadcast_shapes(in[0].shape(), in[1].shape(), name())};
  }
  static bool fused(const Tensor& x, const Tensor& g, const Tensor& out) {
    return x.is_contiguous() && g.is_contiguous() && x.shape() == out.shape() && g.shape() == out.shape();
  }
  virtual Tensor second(const Tensor& x) const = 0;
  virtual Tensor again(const Tensor& x, const Tensor& g) const = 0;
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& c,
              const std::vector<bool>& need) const override {
    return {need[0] ? c[0] * x[1] * second(x[0]) : Tensor(), need[1] ? again(x[0], c[0]) : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    Tensor r = t[1].defined() ? again(x[0], t[1]) : Tensor();
    if (t[0].defined()) r = add_maybe(r, t[0] * x[1] * second(x[0]));
    return {r};
  }
};

struct SiluBackward : XBackwardBase {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("silu_backward").inputs(2);
  const PrimitiveDesc& desc() const override { return kDesc; }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    const Tensor &x = in[0], &g = in[1];
    FG_DISPATCH_FLOAT(x.dtype(), name(), [&] {
      if (fused(x, g, out)) {
        kernels::unary_backward(kernels::UnaryOp::SiluDeriv, x.data<scalar_t>(), g.data<scalar_t>(),
                                out.data<scalar_t>(), out.numel());
        return;
      }
      map_binary<scalar_t, scalar_t>(out, x, g,
                                     [](scalar_t xv, scalar_t gv) { return gv * silu_deriv_s(xv); });
    });
    return {out};
  }
  Tensor second(const Tensor& x) const override {
    Tensor s = sigmoid(x);
    return s * (1.0 - s) * (2.0 + x * (1.0 - s * 2.0));
  }
  Tensor again(const Tensor& x, const Tensor& g) const override { return silu_backward(x, g); }
};
FG_REGISTER_PRIMITIVE(SiluBackward::kDesc);

struct SoftplusBackward : XBackwardBase {
  double threshold;
  explicit SoftplusBackward(double t) : threshold(t) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("softplus_backward").inputs(2);
  const PrimitiveDesc& desc() const override { return kDesc; }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    const Tensor &x = in[0], &g = in[1];
    FG_DISPATCH_FLOAT(x.dtype(), name(), [&] {
      // float32 sigmoid(x) rounds to 1 for x >= 17: there the threshold changes nothing.
      if (std::is_same_v<scalar_t, float> && threshold >= 17.0 && fused(x, g, out)) {
        kernels::unary_backward(kernels::UnaryOp::Sigmoid, x.data<scalar_t>(), g.data<scalar_t>(),
                                out.data<scalar_t>(), out.numel());
        return;
      }
      const scalar_t th = static_cast<scalar_t>(threshold);
      map_binary<scalar_t, scalar_t>(
          out, x, g, [th](scalar_t xv, scalar_t gv) { return xv > th ? gv : gv * sigmoid_s(xv); });
    });
    return {out};
  }
  Tensor second(const Tensor& x) const override {
    Tensor s = sigmoid(x);
    return where(compare(x, scalar(threshold, x.dtype()), CmpOp::Gt), zeros_like(x), s * (1.0 - s));
  }
  Tensor again(const Tensor& x, const Tensor& g) const override { return softplus_backward(x, g, threshold); }
};
FG_REGISTER_PRIMITIVE(SoftplusBackward::kDesc);

// x is a float primal input here; the cotangent takes its dtype.
Tensor silu_backward(const Tensor& x, const Tensor& g) {
  return apply1(singleton<SiluBackward>(), {x, g.dtype() == x.dtype() ? g : cast(g, x.dtype())});
}
Tensor softplus_backward(const Tensor& x, const Tensor& g, double threshold) {
  return apply1(make_prim<SoftplusBackward>(threshold), {x, g.dtype() == x.dtype() ? g : cast(g, x.dtype())});
}

// silu(x) = x s(x), differentiated by the fused silu_backward.
struct Silu : UnaryBase {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("silu");
  const PrimitiveDesc& desc() const override { return kDesc; }
  FG_UNARY_FORWARD(silu_s(x), static_cast<int>(kernels::UnaryOp::Silu))
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {silu_backward(x[0], g[0])};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {silu_backward(x[0], t[0])};
  }
};
FG_REGISTER_PRIMITIVE(Silu::kDesc);

// gelu(x) = x Phi(x) (exact) or 0.5 x (1 + tanh(u)), u = sqrt(2/pi)(x + 0.044715 x^3).
// Its derivative is its own primitive (GeluDeriv) so forward+backward are two fused
// passes; GeluDeriv's rules give the second derivative with plain ops.
template <typename T>
T gelu_s(T x, bool approx) {
  if (!approx) return T(0.5) * x * (T(1) + std::erf(x * T(kInvSqrt2)));
  T u = T(kSqrt2OverPi) * (x + T(kGeluC) * x * x * x);
  return T(0.5) * x * (T(1) + std::tanh(u));
}
template <typename T>
T gelu_d(T x, bool approx) {
  if (!approx)
    return T(0.5) * (T(1) + std::erf(x * T(kInvSqrt2))) + x * T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
  T u = T(kSqrt2OverPi) * (x + T(kGeluC) * x * x * x);
  T th = std::tanh(u);
  return T(0.5) * (T(1) + th) +
         T(0.5) * x * (T(1) - th * th) * T(kSqrt2OverPi) * (T(1) + T(3 * kGeluC) * x * x);
}

struct Gelu : UnaryBase {
  bool approx;
  explicit Gelu(bool a) : approx(a) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("gelu");
  const PrimitiveDesc& desc() const override { return kDesc; }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    bool a = approx;
    FG_DISPATCH_FLOAT(in[0].dtype(), name(), [&] {
      if (vector_unary<scalar_t>(a ? kernels::UnaryOp::GeluTanh : kernels::UnaryOp::Gelu, in[0], out)) return;
      map_unary<scalar_t, scalar_t>(out, in[0], [a](scalar_t x) { return gelu_s(x, a); });
    });
    return {out};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {gelu_backward(x[0], g[0], approx)};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {gelu_backward(x[0], t[0], approx)};
  }
};
FG_REGISTER_PRIMITIVE(Gelu::kDesc);

// gelu_backward(x, g) = g * gelu'(x): the whole GELU backward pass as one fused kernel.
// Its rules need gelu'' (written with plain ops):
//   exact  gelu'' = phi(x) (2 - x^2)
//   tanh   gelu'' = (1-T^2) u' + 0.5 x (1-T^2)(u'' - 2 T u'^2),  u' = c(1+3a x^2), u'' = 6 a c x
struct GeluBackward : Primitive {
  FG_VMAP_ELEMENTWISE
  bool approx;
  explicit GeluBackward(bool a) : approx(a) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("gelu_backward").inputs(2);
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_float(in[0], name());
    if (in[0].dtype() != in[1].dtype()) throw TypeError("gelu_backward: dtypes differ");
    return {broadcast_shapes(in[0].shape(), in[1].shape(), name())};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    bool a = approx;
    const Tensor &x = in[0], &g = in[1];
    FG_DISPATCH_FLOAT(x.dtype(), name(), [&] {
      if (x.is_contiguous() && g.is_contiguous() && x.shape() == out.shape() && g.shape() == out.shape()) {
        kernels::gelu_backward(a, x.data<scalar_t>(), g.data<scalar_t>(), out.data<scalar_t>(), out.numel());
        return;
      }
      map_binary<scalar_t, scalar_t>(out, x, g, [a](scalar_t xv, scalar_t gv) { return gv * gelu_d(xv, a); });
    });
    return {out};
  }
  Tensor second(const Tensor& x) const {
    if (!approx) return exp(x * x * -0.5) * kInvSqrt2Pi * (2.0 - x * x);
    Tensor u = (x + pow_scalar(x, 3.0) * kGeluC) * kSqrt2OverPi;
    Tensor T = tanh(u);
    Tensor sech2 = 1.0 - T * T;
    Tensor du = (1.0 + x * x * (3.0 * kGeluC)) * kSqrt2OverPi;
    Tensor ddu = x * (6.0 * kGeluC * kSqrt2OverPi);
    return sech2 * du + x * sech2 * (ddu - T * du * du * 2.0) * 0.5;
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& c,
              const std::vector<bool>& need) const override {
    return {need[0] ? c[0] * x[1] * second(x[0]) : Tensor(),
            need[1] ? gelu_backward(x[0], c[0], approx) : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    Tensor r = t[1].defined() ? gelu_backward(x[0], t[1], approx) : Tensor();
    if (t[0].defined()) r = add_maybe(r, t[0] * x[1] * second(x[0]));
    return {r};
  }
};
FG_REGISTER_PRIMITIVE(GeluBackward::kDesc);

// softplus(x) = log(1 + exp(beta x)) / beta where beta x <= threshold, else x (PyTorch's
// switch to the identity, which also avoids overflowing beta x for huge x); derivative
// sigmoid(beta x) below the threshold and 1 above it.
struct Softplus : UnaryBase {
  double beta, threshold;
  Softplus(double b, double t) : beta(b), threshold(t) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("softplus");
  const PrimitiveDesc& desc() const override { return kDesc; }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    FG_DISPATCH_FLOAT(in[0].dtype(), name(), [&] {
      const scalar_t b = static_cast<scalar_t>(beta), th = static_cast<scalar_t>(threshold);
      if (beta == 1.0 && vector_unary<scalar_t>(kernels::UnaryOp::Softplus, in[0], out)) {
        // The vector kernel is the plain stable softplus: apply the threshold after it
        // (float32 x + log1p(exp(-x)) rounds to x for x >= 17: nothing to do there).
        if (std::is_same_v<scalar_t, float> && threshold >= 17.0) return;
        const scalar_t* px = in[0].data<scalar_t>();
        scalar_t* po = out.data<scalar_t>();
        for (int64_t i = 0, n = out.numel(); i < n; ++i)
          if (px[i] > th) po[i] = px[i];
        return;
      }
      map_unary<scalar_t, scalar_t>(out, in[0],
                                    [b, th](scalar_t x) { return x * b > th ? x : softplus_s(b * x) / b; });
    });
    return {out};
  }
  Tensor deriv(const Tensor& x) const {
    Tensor bx = x * beta;
    return where(compare(bx, scalar(threshold, x.dtype()), CmpOp::Gt), ones_like(x), sigmoid(bx));
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    if (beta == 1.0) return {softplus_backward(x[0], g[0], threshold)};
    return {g[0] * deriv(x[0])};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    if (beta == 1.0) return {softplus_backward(x[0], t[0], threshold)};
    return {t[0] * deriv(x[0])};
  }
};
FG_REGISTER_PRIMITIVE(Softplus::kDesc);

// Gradient passes where lo <= x <= hi (inclusive, as PyTorch).
struct Clip : UnaryBase {
  std::optional<double> lo, hi;
  Clip(std::optional<double> l, std::optional<double> h) : lo(l), hi(h) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("clip");
  const PrimitiveDesc& desc() const override { return kDesc; }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    FG_DISPATCH_FLOAT(in[0].dtype(), name(), [&] {
      const scalar_t l = lo ? static_cast<scalar_t>(*lo) : -std::numeric_limits<scalar_t>::infinity();
      const scalar_t h = hi ? static_cast<scalar_t>(*hi) : std::numeric_limits<scalar_t>::infinity();
      map_unary<scalar_t, scalar_t>(out, in[0],
                                    [l, h](scalar_t x) { return x != x ? x : std::min(std::max(x, l), h); });
    });
    return {out};
  }
  Tensor mask(const Tensor& x) const {
    Tensor m = ones_like(x);
    if (lo) m = m * cast(compare(x, scalar(*lo, x.dtype()), CmpOp::Ge), x.dtype());
    if (hi) m = m * cast(compare(x, scalar(*hi, x.dtype()), CmpOp::Le), x.dtype());
    return m;
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {g[0] * mask(x[0])};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {t[0] * mask(x[0])};
  }
};
FG_REGISTER_PRIMITIVE(Clip::kDesc);

// where(cond, a, b): cond carries no derivative.
struct Where : Primitive {
  FG_VMAP_ELEMENTWISE
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("where").inputs(3).nondiff(bit(0));
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    if (in[0].dtype() != DType::Bool)
      throw TypeError(std::string("where: condition must be bool, got ") + dtype_name(in[0].dtype()));
    if (in[1].dtype() != in[2].dtype())
      throw TypeError(std::string("where: dtypes differ (") + dtype_name(in[1].dtype()) + " vs " +
                      dtype_name(in[2].dtype()) + ")");
    return {
        broadcast_shapes(broadcast_shapes(in[0].shape(), in[1].shape(), "where"), in[2].shape(), "where")};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    const Shape& s = out_shapes[0];
    Tensor out = empty(s, in[1].dtype());
    Tensor c = expand(detach(in[0]), s), a = expand(detach(in[1]), s), b = expand(detach(in[2]), s);
    FG_DISPATCH_ALL(out.dtype(), name(), [&] {
      scalar_t* o = out.data<scalar_t>();
      const bool* pc = c.data<bool>();
      const scalar_t* pa = a.data<scalar_t>();
      const scalar_t* pb = b.data<scalar_t>();
      std::array<Shape, 4> st{out.strides(), c.strides(), a.strides(), b.strides()};
      // Both branches are read before the select, and the mask is read as bytes (GCC does
      // not vectorise a bool -> mask conversion): the loop then compiles to loads and a
      // blend instead of a branch per element, which a random mask (ReLU's backward)
      // mispredicts half the time (65K floats: 322 us branching, vs 8 us for a multiply).
      for_each_run<4>(s, st,
                      [&](const std::array<int64_t, 4>& off, int64_t n, const std::array<int64_t, 4>& k) {
                        scalar_t* O = o + off[0];
                        const unsigned char* C = reinterpret_cast<const unsigned char*>(pc) + off[1];
                        const scalar_t* A = pa + off[2];
                        const scalar_t* B = pb + off[3];
                        if (k[0] == 1 && k[1] == 1 && k[2] == 1 && k[3] == 1) {
                          for (int64_t i = 0; i < n; ++i) {
                            const scalar_t x = A[i], y = B[i];
                            O[i] = C[i] ? x : y;
                          }
                        } else if (k[0] == 1 && k[1] == 1 && k[2] == 1 && k[3] == 0) {
                          const scalar_t y = B[0];
                          for (int64_t i = 0; i < n; ++i) {
                            const scalar_t x = A[i];
                            O[i] = C[i] ? x : y;
                          }
                        } else if (k[0] == 1 && k[1] == 1 && k[2] == 0 && k[3] == 1) {
                          const scalar_t x = A[0];
                          for (int64_t i = 0; i < n; ++i) {
                            const scalar_t y = B[i];
                            O[i] = C[i] ? x : y;
                          }
                        } else {
                          for (int64_t i = 0; i < n; ++i) {
                            const scalar_t x = A[i * k[2]], y = B[i * k[3]];
                            O[i * k[0]] = C[i * k[1]] ? x : y;
                          }
                        }
                      });
    });
    return {out};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g,
              const std::vector<bool>& need) const override {
    Tensor z = zeros({}, g[0].dtype());
    return {Tensor(), need[1] ? where(x[0], g[0], z) : Tensor(), need[2] ? where(x[0], z, g[0]) : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    Tensor z = zeros({}, x[1].dtype());
    return {where(x[0], t[1].defined() ? t[1] : z, t[2].defined() ? t[2] : z)};
  }
};
FG_REGISTER_PRIMITIVE(Where::kDesc);

struct Cast : Primitive {
  FG_VMAP_ELEMENTWISE
  DType to;
  explicit Cast(DType d) : to(d) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("cast").reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override { return {in[0].shape()}; }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor out = empty(in[0].shape(), to);
    FG_DISPATCH_ALL(in[0].dtype(), name(), [&] {
      using Ti = scalar_t;
      FG_DISPATCH_ALL(to, "cast", [&] {
        map_unary<scalar_t, Ti>(out, in[0], [](Ti v) { return convert<scalar_t>(v); });
      });
    });
    return {out};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {is_floating(x[0].dtype()) ? cast(g[0], x[0].dtype()) : Tensor()};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override { return {cast(t[0], to)}; }
};
FG_REGISTER_PRIMITIVE(Cast::kDesc);

std::pair<Tensor, Tensor> promoted(const Tensor& a, const Tensor& b, bool need_float) {
  DType d = promote(a.dtype(), b.dtype());
  if (need_float && !is_floating(d)) d = DType::Float32;
  if (d == DType::Bool) d = DType::Int64;
  return {a.dtype() == d ? a : cast(a, d), b.dtype() == d ? b : cast(b, d)};
}

Tensor as_float(const Tensor& x) { return is_floating(x.dtype()) ? x : cast(x, DType::Float32); }

}  // namespace

// ---------------------------------------------------------------- public ops
Tensor add(const Tensor& a, const Tensor& b) {
  auto [x, y] = promoted(a, b, false);
  return apply1(singleton<Add>(), {x, y});
}
Tensor sub(const Tensor& a, const Tensor& b) {
  auto [x, y] = promoted(a, b, false);
  return apply1(singleton<Sub>(), {x, y});
}
Tensor mul(const Tensor& a, const Tensor& b) {
  auto [x, y] = promoted(a, b, false);
  return apply1(singleton<Mul>(), {x, y});
}
Tensor div(const Tensor& a, const Tensor& b) {
  auto [x, y] = promoted(a, b, true);
  return apply1(singleton<Div>(), {x, y});
}
static Tensor pow_int(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b) {
  if (!is_floating(promote(a.dtype(), b.dtype()))) return pow_int(a, b);
  auto [x, y] = promoted(a, b, true);
  return apply1(singleton<Pow>(), {x, y});
}
Tensor maximum(const Tensor& a, const Tensor& b) {
  auto [x, y] = promoted(a, b, false);
  return apply1(singleton<MinMax<true>>(), {x, y});
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  auto [x, y] = promoted(a, b, false);
  return apply1(singleton<MinMax<false>>(), {x, y});
}

// Integer (and bool) bases to integer powers stay exact int64, as in PyTorch (through
// float32 they lost every digit past 2**24): exponentiation by squaring in unsigned
// arithmetic, so an overflow wraps as PyTorch's kernel does instead of being UB. No
// gradient: integers are constants.
static Tensor pow_int(const Tensor& a, const Tensor& b) {
  Tensor x = cast(a, DType::Int64), y = cast(b, DType::Int64);
  Tensor out = empty(broadcast_shapes(x.shape(), y.shape(), "pow"), DType::Int64);
  if (y.numel() > 0 && amin(y, {}, false).data<int64_t>()[0] < 0)
    throw RuntimeError("pow: Integers to negative integer powers are not allowed");
  map_binary<int64_t, int64_t>(out, x, y, [](int64_t base, int64_t e) {
    uint64_t r = 1, p = static_cast<uint64_t>(base), n = static_cast<uint64_t>(e);
    for (; n; n >>= 1, p *= p)
      if (n & 1) r *= p;
    return static_cast<int64_t>(r);
  });
  return out;
}

// An integer tensor with a double scalar stays int64 only when the scalar is an int64
// value; otherwise the result is float32 (PyTorch's int tensor + Python float).
static Tensor scalar_operand(const Tensor& a, double s) {
  if (is_floating(a.dtype())) return a;
  if (s == std::trunc(s) && s >= -9223372036854775808.0 && s < 9223372036854775808.0)
    return cast(a, DType::Int64);
  return cast(a, DType::Float32);
}
Tensor add_scalar(const Tensor& a, double s) {
  return apply1(make_prim<AddScalar>(s), {scalar_operand(a, s)});
}
Tensor mul_scalar(const Tensor& a, double s) {
  return apply1(make_prim<MulScalar>(s), {scalar_operand(a, s)});
}
Tensor rsub_scalar(const Tensor& a, double s) {
  return apply1(make_prim<RsubScalar>(s), {scalar_operand(a, s)});
}
Tensor rdiv_scalar(const Tensor& a, double s) { return apply1(make_prim<RdivScalar>(s), {as_float(a)}); }
Tensor pow_scalar(const Tensor& a, double s) { return apply1(make_prim<PowScalar>(s), {as_float(a)}); }

Tensor neg(const Tensor& x) { return apply1(singleton<Neg>(), {x}); }
Tensor exp(const Tensor& x) { return apply1(singleton<Exp>(), {as_float(x)}); }
Tensor log(const Tensor& x) { return apply1(singleton<Log>(), {as_float(x)}); }
Tensor log1p(const Tensor& x) { return apply1(singleton<Log1p>(), {as_float(x)}); }
Tensor sqrt(const Tensor& x) { return apply1(singleton<Sqrt>(), {as_float(x)}); }
Tensor abs(const Tensor& x) {
  if (x.dtype() == DType::Int64) {  // stays int64 (NumPy, PyTorch); |INT64_MIN| wraps to itself as there
    if (any_batched({x})) return vmap_call_elementwise({x}, [](const Tensors& p) { return abs(p[0]); });
    Tensor out = empty(x.shape(), DType::Int64);
    map_unary<int64_t, int64_t>(out, x, [](int64_t v) { return v < 0 ? wrap_neg(v) : v; });
    return out;
  }
  return apply1(singleton<Abs>(), {as_float(x)});
}
Tensor sin(const Tensor& x) { return apply1(singleton<Sin>(), {as_float(x)}); }
Tensor cos(const Tensor& x) { return apply1(singleton<Cos>(), {as_float(x)}); }
Tensor tanh(const Tensor& x) { return apply1(singleton<Tanh>(), {as_float(x)}); }
Tensor sigmoid(const Tensor& x) { return apply1(singleton<Sigmoid>(), {as_float(x)}); }
Tensor relu(const Tensor& x) { return apply1(singleton<Relu>(), {as_float(x)}); }
Tensor erf(const Tensor& x) { return apply1(singleton<Erf>(), {as_float(x)}); }
Tensor tanh_backward(const Tensor& y, const Tensor& g) { return OutputBackward<true>::again(y, g); }
Tensor sigmoid_backward(const Tensor& y, const Tensor& g) { return OutputBackward<false>::again(y, g); }
Tensor silu(const Tensor& x) { return apply1(singleton<Silu>(), {as_float(x)}); }
Tensor gelu(const Tensor& x, bool tanh_approx) { return apply1(make_prim<Gelu>(tanh_approx), {as_float(x)}); }
Tensor gelu_backward(const Tensor& x, const Tensor& g, bool tanh_approx) {
  auto [a, b] = promoted(as_float(x), g, true);
  return apply1(make_prim<GeluBackward>(tanh_approx), {a, b});
}
Tensor gelu_deriv(const Tensor& x, bool tanh_approx) {
  return gelu_backward(x, ones_like(as_float(x)), tanh_approx);
}
Tensor softplus(const Tensor& x, double beta, double threshold) {
  if (!(beta > 0)) throw ValueError("softplus: beta must be > 0, got " + std::to_string(beta));
  if (std::isnan(threshold)) throw ValueError("softplus: threshold must not be NaN");
  return apply1(make_prim<Softplus>(beta, threshold), {as_float(x)});
}
Tensor clip(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  return apply1(make_prim<Clip>(lo, hi), {as_float(x)});
}
Tensor clip_int(const Tensor& x, std::optional<int64_t> lo, std::optional<int64_t> hi) {
  if (is_floating(x.dtype())) {  // float tensors clip in their own dtype (bounds rounded to it)
    return clip(x, lo ? std::optional<double>(static_cast<double>(*lo)) : std::nullopt,
                hi ? std::optional<double>(static_cast<double>(*hi)) : std::nullopt);
  }
  // Integer tensors with integer bounds stay exact int64 (no gradient: integers are constants).
  if (any_batched({x}))
    return vmap_call_elementwise({x}, [lo, hi](const Tensors& p) { return clip_int(p[0], lo, hi); });
  Tensor xi = cast(x, DType::Int64), out = empty(x.shape(), DType::Int64);
  const int64_t l = lo ? *lo : std::numeric_limits<int64_t>::min();
  const int64_t h = hi ? *hi : std::numeric_limits<int64_t>::max();
  map_unary<int64_t, int64_t>(out, xi, [l, h](int64_t v) { return std::min(std::max(v, l), h); });
  return out;
}
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor c = cond.dtype() == DType::Bool ? cond : compare(cond, zeros({}, cond.dtype()), CmpOp::Ne);
  auto [x, y] = promoted(a, b, false);
  return apply1(singleton<Where>(), {c, x, y});
}
Tensor cast(const Tensor& x, DType dtype) {
  if (x.dtype() == dtype) return x;
  return apply1(make_prim<Cast>(dtype), {x});
}

Tensor add_maybe(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return add(a, b);
}

// ---------------------------------------------------------------- constants (no grad)
Tensor sign(const Tensor& x) {
  if (any_batched({x})) return vmap_call_elementwise({x}, [](const Tensors& p) { return sign(p[0]); });
  Tensor out = empty(x.shape(), x.dtype());
  FG_DISPATCH_NUM(x.dtype(), "sign", [&] {
    map_unary<scalar_t, scalar_t>(out, x,
                                  [](scalar_t v) { return static_cast<scalar_t>((v > 0) - (v < 0)); });
  });
  return out;
}

Tensor compare(const Tensor& a0, const Tensor& b0, CmpOp op) {
  if (any_batched({a0, b0}))
    return vmap_call_elementwise({a0, b0}, [op](const Tensors& p) { return compare(p[0], p[1], op); });
  auto [a, b] = promoted(a0, b0, false);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), "compare"), DType::Bool);
  // Not a primitive (no derivative): it calls the blocking hook itself, as apply() would.
  run_blocking(a.numel() + b.numel(), [&] {
    FG_DISPATCH_NUM(a.dtype(), "compare", [&] {
      switch (op) {
        case CmpOp::Eq:
          map_binary<bool, scalar_t>(out, a, b, [](scalar_t x, scalar_t y) { return x == y; });
          break;
        case CmpOp::Ne:
          map_binary<bool, scalar_t>(out, a, b, [](scalar_t x, scalar_t y) { return x != y; });
          break;
        case CmpOp::Lt:
          map_binary<bool, scalar_t>(out, a, b, [](scalar_t x, scalar_t y) { return x < y; });
          break;
        case CmpOp::Le:
          map_binary<bool, scalar_t>(out, a, b, [](scalar_t x, scalar_t y) { return x <= y; });
          break;
        case CmpOp::Gt:
          map_binary<bool, scalar_t>(out, a, b, [](scalar_t x, scalar_t y) { return x > y; });
          break;
        case CmpOp::Ge:
          map_binary<bool, scalar_t>(out, a, b, [](scalar_t x, scalar_t y) { return x >= y; });
          break;
      }
    });
  });
  return out;
}

static Tensor as_bool(const Tensor& x) {
  return x.dtype() == DType::Bool ? x : compare(x, zeros({}, x.dtype()), CmpOp::Ne);
}
Tensor logical_not(const Tensor& x) {
  if (any_batched({x})) return vmap_call_elementwise({x}, [](const Tensors& p) { return logical_not(p[0]); });
  Tensor b = as_bool(x), out = empty(x.shape(), DType::Bool);
  run_blocking(b.numel(), [&] { map_unary<bool, bool>(out, b, [](bool v) { return !v; }); });
  return out;
}
Tensor logical_and(const Tensor& a, const Tensor& b) {
  if (any_batched({a, b}))
    return vmap_call_elementwise({a, b}, [](const Tensors& p) { return logical_and(p[0], p[1]); });
  Tensor x = as_bool(a), y = as_bool(b);
  Tensor out = empty(broadcast_shapes(x.shape(), y.shape(), "logical_and"), DType::Bool);
  run_blocking(x.numel() + y.numel(),
               [&] { map_binary<bool, bool>(out, x, y, [](bool p, bool q) { return p && q; }); });
  return out;
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  if (any_batched({a, b}))
    return vmap_call_elementwise({a, b}, [](const Tensors& p) { return logical_or(p[0], p[1]); });
  Tensor x = as_bool(a), y = as_bool(b);
  Tensor out = empty(broadcast_shapes(x.shape(), y.shape(), "logical_or"), DType::Bool);
  run_blocking(x.numel() + y.numel(),
               [&] { map_binary<bool, bool>(out, x, y, [](bool p, bool q) { return p || q; }); });
  return out;
}
Tensor isnan(const Tensor& x) {
  if (any_batched({x})) return vmap_call_elementwise({x}, [](const Tensors& p) { return isnan(p[0]); });
  Tensor out = empty(x.shape(), DType::Bool);
  FG_DISPATCH_ALL(x.dtype(), "isnan",
                  [&] { map_unary<bool, scalar_t>(out, x, [](scalar_t v) { return v != v; }); });
  return out;
}
Tensor isfinite(const Tensor& x) {
  if (any_batched({x})) return vmap_call_elementwise({x}, [](const Tensors& p) { return isfinite(p[0]); });
  Tensor out = empty(x.shape(), DType::Bool);
  FG_DISPATCH_ALL(x.dtype(), "isfinite", [&] {
    map_unary<bool, scalar_t>(out, x, [](scalar_t v) { return std::isfinite(static_cast<double>(v)); });
  });
  return out;
}

}  // namespace fastgrad
