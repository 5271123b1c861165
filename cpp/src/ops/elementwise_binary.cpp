// More binary elementwise primitives (issue 12): atan2, hypot, copysign, fmod, remainder,
// rounding division, and the composites logaddexp(2), xlogy, float_power, lerp and clamp
// with tensor bounds. Broadcasting is summed away by the engine (sum_to).
#include <cmath>
#include <limits>

#include "common.h"

namespace fastgrad {
using namespace detail;

namespace {

constexpr double kLn2 = 0.69314718055994530942;

std::pair<Tensor, Tensor> promoted(const Tensor& a, const Tensor& b, bool need_float) {
  DType d = promote(a.dtype(), b.dtype());
  if (need_float && !is_floating(d)) d = DType::Float32;
  if (d == DType::Bool) d = DType::Int64;
  return {a.dtype() == d ? a : cast(a, d), b.dtype() == d ? b : cast(b, d)};
}
Tensor is0(const Tensor& x) { return compare(x, zeros({}, x.dtype()), CmpOp::Eq); }

struct Binary2 : Primitive {
  FG_VMAP_ELEMENTWISE
  bool float_only = true;
  std::vector<Shape> shapes(const Tensors& in) const override {
    if (in[0].dtype() != in[1].dtype())
      throw TypeError(std::string(name()) + ": dtypes differ (" + dtype_name(in[0].dtype()) + " vs " +
                      dtype_name(in[1].dtype()) + ")");
    if (float_only) require_float(in[0], name());
    return {broadcast_shapes(in[0].shape(), in[1].shape(), name())};
  }
};

#define FG_BINARY_FLOAT_FORWARD(EXPR)                                                                 \
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {           \
    Tensor out = empty(out_shapes[0], in[0].dtype());                                                 \
    FG_DISPATCH_FLOAT(in[0].dtype(), name(), [&] {                                                    \
      map_binary<scalar_t, scalar_t>(out, in[0], in[1], [](scalar_t a, scalar_t b) { return EXPR; }); \
    });                                                                                               \
    return {out};                                                                                     \
  }

// atan2(a, b): d/da = b / (a² + b²), d/db = -a / (a² + b²).
struct Atan2 : Binary2 {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("atan2").inputs(2);
  const PrimitiveDesc& desc() const override { return kDesc; }
  FG_BINARY_FLOAT_FORWARD(std::atan2(a, b))
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g,
              const std::vector<bool>& need) const override {
    Tensor q = g[0] / (x[0] * x[0] + x[1] * x[1]);
    return {need[0] ? q * x[1] : Tensor(), need[1] ? neg(q * x[0]) : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    Tensor r2 = x[0] * x[0] + x[1] * x[1];
    return {add_maybe(t[0].defined() ? t[0] * x[1] / r2 : Tensor(),
                      t[1].defined() ? neg(t[1] * x[0] / r2) : Tensor())};
  }
};
FG_REGISTER_PRIMITIVE(Atan2::kDesc);

// hypot(a, b) = sqrt(a² + b²) without overflow: d/da = a / y, d/db = b / y.
struct Hypot : Binary2 {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("hypot").inputs(2).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  FG_BINARY_FLOAT_FORWARD(std::hypot(a, b))
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g,
              const std::vector<bool>& need) const override {
    Tensor q = g[0] / y[0];
    return {need[0] ? q * x[0] : Tensor(), need[1] ? q * x[1] : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    return {add_maybe(t[0].defined() ? t[0] * x[0] / y[0] : Tensor(),
                      t[1].defined() ? t[1] * x[1] / y[0] : Tensor())};
  }
};
FG_REGISTER_PRIMITIVE(Hypot::kDesc);

// copysign(a, b) = |a| with b's sign: d/da = y / a (0 at a = 0, PyTorch's rule), d/db = 0.
struct Copysign : Binary2 {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("copysign").inputs(2).reads_inputs(1).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  FG_BINARY_FLOAT_FORWARD(std::copysign(a, b))
  static Tensor ratio(const Tensor& a, const Tensor& y) {
    Tensor z = is0(a);
    return where(z, zeros({}, a.dtype()), y / where(z, ones({}, a.dtype()), a));
  }
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g,
              const std::vector<bool>& need) const override {
    return {need[0] ? g[0] * ratio(x[0], y[0]) : Tensor(), need[1] ? zeros_like(y[0]) : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    return {t[0].defined() ? t[0] * ratio(x[0], y[0]) : zeros_like(y[0])};
  }
};
FG_REGISTER_PRIMITIVE(Copysign::kDesc);

// Division rounded toward zero or -inf (PyTorch's div_trunc / div_floor kernels, which
// also define fmod and remainder); integer division by zero is an error, as PyTorch's.
template <typename T>
T div_floor_s(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (b == 0) return a / b;
    const T mod = std::fmod(a, b);
    T d = (a - mod) / b;
    if (mod != 0 && (b < 0) != (mod < 0)) d -= 1;
    if (d == 0) return std::copysign(T(0), a / b);
    T fd = std::floor(d);
    if (d - fd > T(0.5)) fd += 1;
    return fd;
  } else {
    const T q = a / b;  // b != 0 and not INT64_MIN / -1 (checked by the caller)
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
  }
}
template <typename T>
T fmod_s(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    return std::fmod(a, b);
  else
    return a % b;
}
template <typename T>
T remainder_s(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    T m = std::fmod(a, b);
    if (m != 0 && (b < 0) != (m < 0)) m += b;
    return m;
  } else {
    T m = a % b;
    if (m != 0 && (b < 0) != (m < 0)) m += b;
    return m;
  }
}

void check_int_divisor(const Tensor& b, const char* op) {
  if (is_floating(b.dtype()) || b.numel() == 0) return;
  if (nonzero_flat(compare(detach(b), zeros({}, b.dtype()), CmpOp::Eq)).numel() > 0)
    throw RuntimeError(std::string(op) + ": ZeroDivisionError (integer division by zero)");
}

enum class DivKind { Trunc, Floor, Fmod, Remainder };
template <DivKind K>
struct IntegerDiv : Binary2 {
  IntegerDiv() { float_only = false; }
  static constexpr const char* kName = K == DivKind::Trunc   ? "div_trunc"
                                       : K == DivKind::Floor ? "div_floor"
                                       : K == DivKind::Fmod  ? "fmod"
                                                             : "remainder";
  // the rounding divisions are piecewise constant: they read nothing
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc(kName).inputs(2).reads_inputs(K == DivKind::Fmod || K == DivKind::Remainder ? 3u : 0u);
  const PrimitiveDesc& desc() const override { return kDesc; }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    FG_DISPATCH_NUM(in[0].dtype(), name(), [&] {
      map_binary<scalar_t, scalar_t>(out, in[0], in[1], [](scalar_t a, scalar_t b) -> scalar_t {
        if constexpr (!std::is_floating_point_v<scalar_t>) {
          if (b == -1) return K == DivKind::Fmod || K == DivKind::Remainder ? scalar_t(0) : wrap_neg(a);
        }
        if constexpr (K == DivKind::Trunc) {
          if constexpr (std::is_floating_point_v<scalar_t>)
            return std::trunc(a / b);
          else
            return a / b;
        } else if constexpr (K == DivKind::Floor) {
          return div_floor_s(a, b);
        } else if constexpr (K == DivKind::Fmod) {
          return fmod_s(a, b);
        } else {
          return remainder_s(a, b);
        }
      });
    });
    return {out};
  }
  // fmod: d/da = 1, d/db = -trunc(a / b); remainder: d/db = -floor(a / b) (derivatives.yaml).
  Tensor db(const Tensor& a, const Tensor& b) const {
    return neg(div_rounding(a, b, K == DivKind::Fmod ? "trunc" : "floor"));
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g,
              const std::vector<bool>& need) const override {
    if constexpr (K == DivKind::Trunc || K == DivKind::Floor) {
      return {need[0] ? zeros_like(g[0]) : Tensor(), need[1] ? zeros_like(g[0]) : Tensor()};
    } else {
      return {need[0] ? g[0] : Tensor(), need[1] ? g[0] * db(x[0], x[1]) : Tensor()};
    }
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    if constexpr (K == DivKind::Trunc || K == DivKind::Floor) {
      (void)x;
      return {zeros_like(y[0])};
    } else {
      Tensor r = t[0].defined() ? expand(t[0], y[0].shape()) : Tensor();
      if (t[1].defined()) r = add_maybe(r, t[1] * db(x[0], x[1]));
      return {r};
    }
  }
};
FG_REGISTER_PRIMITIVE(IntegerDiv<DivKind::Trunc>::kDesc);
FG_REGISTER_PRIMITIVE(IntegerDiv<DivKind::Floor>::kDesc);
FG_REGISTER_PRIMITIVE(IntegerDiv<DivKind::Fmod>::kDesc);
FG_REGISTER_PRIMITIVE(IntegerDiv<DivKind::Remainder>::kDesc);

template <DivKind K>
Tensor int_div(const Tensor& a0, const Tensor& b0) {
  auto [a, b] = promoted(a0, b0, false);
  check_int_divisor(b, IntegerDiv<K>::kName);
  return apply1(singleton<IntegerDiv<K>>(), {a, b});
}

}  // namespace

Tensor atan2(const Tensor& a0, const Tensor& b0) {
  auto [a, b] = promoted(a0, b0, true);
  return apply1(singleton<Atan2>(), {a, b});
}
Tensor hypot(const Tensor& a0, const Tensor& b0) {
  auto [a, b] = promoted(a0, b0, true);
  return apply1(singleton<Hypot>(), {a, b});
}
Tensor copysign(const Tensor& a0, const Tensor& b0) {
  auto [a, b] = promoted(a0, b0, true);
  return apply1(singleton<Copysign>(), {a, b});
}
Tensor fmod(const Tensor& a, const Tensor& b) { return int_div<DivKind::Fmod>(a, b); }
Tensor remainder(const Tensor& a, const Tensor& b) { return int_div<DivKind::Remainder>(a, b); }
Tensor div_rounding(const Tensor& a, const Tensor& b, const std::string& mode) {
  if (mode.empty()) return div(a, b);
  if (mode == "trunc") return int_div<DivKind::Trunc>(a, b);
  if (mode == "floor") return int_div<DivKind::Floor>(a, b);
  throw ValueError("div: rounding_mode must be None, 'trunc' or 'floor', got '" + mode + "'");
}

// PyTorch's logaddexp kernel: a where both are the same infinity, else
// max + log1p(exp(-|a - b|)). As a composite its derivative is sigmoid(a - b) (1/2 on ties:
// maximum splits, |.|' is 0 at 0).
Tensor logaddexp(const Tensor& a0, const Tensor& b0) {
  auto [a, b] = promoted(a0, b0, true);
  Tensor r = maximum(a, b) + log1p(exp(neg(abs(a - b))));
  Tensor same_inf = logical_and(logical_not(isfinite(a)), compare(a, b, CmpOp::Eq));
  return where(same_inf, a, r);
}
Tensor logaddexp2(const Tensor& a0, const Tensor& b0) {
  auto [a, b] = promoted(a0, b0, true);
  Tensor r = maximum(a, b) + log1p(exp2(neg(abs(a - b)))) * (1.0 / kLn2);
  Tensor same_inf = logical_and(logical_not(isfinite(a)), compare(a, b, CmpOp::Eq));
  return where(same_inf, a, r);
}
// a log(b), 0 where a == 0 unless b is NaN (PyTorch); log reads a safe 1 there so no
// 0 * -inf reaches the gradient.
Tensor xlogy(const Tensor& a0, const Tensor& b0) {
  auto [a, b] = promoted(a0, b0, true);
  Tensor zero = logical_and(is0(a), logical_not(isnan(b)));
  Tensor safe = where(zero, ones({}, b.dtype()), b);
  return where(zero, zeros({}, a.dtype()), a * log(safe));
}
Tensor float_power(const Tensor& a, const Tensor& b) {
  return pow(cast(a, DType::Float64), cast(b, DType::Float64));
}
// PyTorch's two-sided formula (exact at weight 0 and 1).
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight) {
  auto [s, e] = promoted(start, end, true);
  Tensor w = cast(weight, s.dtype());
  Tensor d = e - s;
  Tensor lo = compare(abs(w), scalar(0.5, w.dtype()), CmpOp::Lt);
  return where(lo, s + w * d, e - d * (1.0 - w));
}
// PyTorch's clamp with tensor bounds: min(max(x, lo), hi), so hi wins where lo > hi; the
// gradient goes to x where lo <= x <= hi, to lo where x < lo (and lo <= hi), to hi where
// the result is hi (clamp_backward_min_max). An undefined bound is absent.
Tensor clamp_tensor(const Tensor& x0, const Tensor& lo0, const Tensor& hi0) {
  if (!lo0.defined() && !hi0.defined()) throw ValueError("clamp: at least one of min or max must be given");
  DType d = x0.dtype();
  if (lo0.defined()) d = promote(d, lo0.dtype());
  if (hi0.defined()) d = promote(d, hi0.dtype());
  if (d == DType::Bool) d = DType::Int64;
  Tensor r = cast(x0, d);
  if (lo0.defined()) {
    Tensor lo = cast(lo0, d);
    r = where(logical_or(compare(r, lo, CmpOp::Lt), isnan(lo)), lo, r);
  }
  if (hi0.defined()) {
    Tensor hi = cast(hi0, d);
    r = where(logical_or(compare(r, hi, CmpOp::Gt), isnan(hi)), hi, r);
  }
  return r;
}

}  // namespace fastgrad

namespace fastgrad {
Tensor addcmul(const Tensor& x, const Tensor& t1, const Tensor& t2, double value) {
  return x + t1 * value * t2;  // PyTorch's order: x + (value t1) t2
}
Tensor addcdiv(const Tensor& x, const Tensor& t1, const Tensor& t2, double value) {
  return x + t1 * value / t2;
}
// Axis k of flat index i is (i // stride_k) % size_k (row-major strides of cond's shape).
Tensors nonzero_tuple(const Tensor& cond) {
  Tensor flat =
      nonzero_flat(cond.dtype() == DType::Bool ? cond : compare(cond, zeros({}, cond.dtype()), CmpOp::Ne));
  const Shape& s = cond.shape();
  Tensors out;
  int64_t stride = 1;
  for (int64_t k = static_cast<int64_t>(s.size()) - 1; k >= 0; --k) {
    Tensor q = div_rounding(flat, scalar_int(stride, DType::Int64), "floor");
    out.insert(out.begin(), remainder(q, scalar_int(std::max<int64_t>(s[k], 1), DType::Int64)));
    stride *= s[k];
  }
  if (s.empty()) out.push_back(flat);  // a 0-d condition: PyTorch gives one axis
  return out;
}
}  // namespace fastgrad
