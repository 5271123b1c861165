// Elementwise math, comparisons, clipping, reductions and softmax: each public op is ONE
// binding (def_op) that is both fg.<op> and Tensor.<op>, with its Python signature and
// docstring; tensor arguments convert here (tensor_arg), validation lives in the C++ op.
#include "convert.h"

namespace fastgrad::bindings {
namespace {
bool gelu_tanh(py::handle approximate) {
  if (PyUnicode_Check(approximate.ptr())) {
    const std::string a = approximate.cast<std::string>();
    if (a == "none" || a == "tanh") return a == "tanh";
  }
  throw ValueError("gelu: approximate must be 'none' or 'tanh', got " + std::string(py::repr(approximate)));
}
}  // namespace

namespace {
// var/std return one tensor, var_mean/std_mean the pair (PyTorch's plain tuple).
py::object moment_result(const Tensor& t) { return py::cast(t.impl()); }
py::object moment_result(const Tensors& v) { return py::make_tuple(v[0].impl(), v[1].impl()); }
}  // namespace

void bind_math(py::module_& m, TensorClass& T) {
#define UNARY(NAME, FN, DOC)                          \
  def_op(                                             \
      m, T, NAME,                                     \
      [](py::handle h) {                              \
        Tensor x = tensor_arg(h, NAME);               \
        return FN(x).impl();                          \
      },                                              \
      py::arg("x"),                                   \
      NAME "(x) -> Tensor\n\n" DOC                    \
           "\n\nx: any shape (array-likes convert); " \
           "returns a tensor of x's shape.")
  UNARY("neg", neg, "-x elementwise.");
  UNARY("exp", fastgrad::exp, "e**x elementwise.");
  UNARY("log", fastgrad::log, "Natural logarithm elementwise (nan below 0, -inf at 0).");
  UNARY("log1p", fastgrad::log1p, "log(1 + x) elementwise, accurate for small x.");
  UNARY("sqrt", fastgrad::sqrt, "Square root elementwise.");
  UNARY("abs", fastgrad::abs, "|x| elementwise (gradient sign(x), 0 at 0).");
  UNARY("sin", fastgrad::sin, "Sine elementwise.");
  UNARY("cos", fastgrad::cos, "Cosine elementwise.");
  UNARY("tanh", fastgrad::tanh, "Hyperbolic tangent elementwise.");
  UNARY("sigmoid", sigmoid, "1 / (1 + exp(-x)) elementwise.");
  UNARY("relu", relu, "max(x, 0) elementwise.");
  UNARY("silu", silu, "x * sigmoid(x) elementwise.");
  UNARY("erf", fastgrad::erf, "The error function elementwise.");
  UNARY("sign", sign, "-1, 0 or 1 elementwise (no gradient).");
  UNARY("isnan", fastgrad::isnan, "Bool tensor: x is NaN.");
  UNARY("isfinite", fastgrad::isfinite, "Bool tensor: x is neither inf nor NaN.");
  UNARY("logical_not", logical_not, "Bool tensor: not x.");
  UNARY("clone", clone, "A copy of x with its own memory, on the tape (gradient flows).");
#undef UNARY
  def_op(
      m, T, "gelu",
      [](py::handle h, py::handle approximate) {
        Tensor x = tensor_arg(h, "gelu");
        const bool approx = gelu_tanh(approximate);
        return gelu(x, approx).impl();
      },
      py::arg("x"), py::arg("approximate") = "none",
      "gelu(x, approximate='none') -> Tensor\n\nx * Phi(x) elementwise, or its tanh approximation when "
      "approximate='tanh' (ValueError otherwise).\n\nx: any shape; returns x's shape.");
  m.def(
      "gelu_deriv", [](const TP& x, bool approx) { return gelu_deriv(Tensor(x), approx).impl(); },
      py::arg("x"), py::arg("tanh_approx"),
      "gelu_deriv(x, tanh_approx) -> Tensor\n\nThe derivative of gelu at x (same shape as x).");
  def_op(
      m, T, "softplus",
      [](py::handle h, double beta, double threshold) {
        return softplus(tensor_arg(h, "softplus"), beta, threshold).impl();
      },
      py::arg("x"), py::arg("beta") = 1.0, py::arg("threshold") = 20.0,
      "softplus(x, beta=1.0, threshold=20.0) -> Tensor\n\nlog(1 + exp(beta x)) / beta computed stably; x "
      "itself where beta x > threshold (as PyTorch).\n\nx: any shape; returns x's shape.");
  def_op(
      m, T, "clip",
      [](py::handle h, py::handle lo, py::handle hi) { return clamp_binding(h, lo, hi, "clip"); },
      py::arg("x"), py::arg("min") = py::none(), py::arg("max") = py::none(),
      "clip(x, min=None, max=None) -> Tensor\n\nx limited to [min, max] elementwise (None: unbounded; at "
      "least "
      "one is given). Number bounds: integer ones keep an int64 tensor int64, a float one makes it float. "
      "Tensor bounds broadcast (min(max(x, min), max), gradients to the bounds as PyTorch).\n\nx: any shape; "
      "returns the broadcast shape.");
  def_method_alias(T, "clamp", "clip");
  // where(condition) alone is nonzero(condition, as_tuple=True), as PyTorch.
  m.def(
      "where",
      [](py::handle c, py::object a, py::object b) -> py::object {
        Tensor C = tensor_arg(c, "where", "condition");
        if (a.is_none() && b.is_none()) {
          py::tuple out(0);
          for (const Tensor& t : nonzero_tuple(C)) out = out + py::make_tuple(t.impl());
          return out;
        }
        if (a.is_none() || b.is_none()) throw TypeError("where: give both x and y, or neither");
        auto [A, B] = tensor_pair(a, b, "where");
        return py::cast(where(C, A, B).impl());
      },
      py::arg("condition"), py::arg("x") = py::none(), py::arg("y") = py::none(),
      "where(condition, x, y) -> Tensor\n\nElementwise x if condition else y, with NumPy broadcasting; no "
      "gradient flows to condition. where(condition) alone: a tuple of int64 index tensors, one per axis, of "
      "the true entries.\n\ncondition: bool, x, y: tensors or numbers; returns the broadcast shape.");
  m.def(
      "cast", [](const TP& x, DType d) { return cast(Tensor(x), d).impl(); }, py::arg("x"), py::arg("dtype"),
      "cast(x, dtype) -> Tensor\n\nx converted to dtype (differentiable between float dtypes); same shape.");

  // Binary ops: a Tensor operand decides how a Python number or array-like converts.
#define BINARY(NAME, FN, DOC)                                                \
  def_op(                                                                    \
      m, T, NAME,                                                            \
      [](py::handle a, py::handle b) {                                       \
        auto [A, B] = tensor_pair(a, b, NAME);                               \
        return FN(A, B).impl();                                              \
      },                                                                     \
      py::arg("a"), py::arg("b"),                                            \
      NAME "(a, b) -> Tensor\n\n" DOC                                        \
           "\n\na, b: tensors, numbers or array-likes; NumPy broadcasting; " \
           "returns the broadcast shape.")
#define ALPHA(NAME, FN, DOC)                                                        \
  def_op(                                                                           \
      m, T, NAME,                                                                   \
      [](py::handle a, py::handle b, py::handle alpha) {                            \
        auto [A, B] = tensor_pair(a, b, NAME);                                      \
        if (is_number(alpha) && number(alpha, NAME) == 1.0) return FN(A, B).impl(); \
        return FN(A, mul(B, to_tensor(alpha, B, NAME))).impl();                     \
      },                                                                            \
      py::arg("a"), py::arg("b"), py::kw_only(), py::arg("alpha") = 1,              \
      NAME "(a, b, *, alpha=1) -> Tensor\n\n" DOC                                   \
           "\n\na, b: tensors, numbers or array-likes; NumPy broadcasting; returns the broadcast shape.")
  ALPHA("add", add, "a + alpha * b elementwise.");
  ALPHA("sub", sub, "a - alpha * b elementwise.");
#undef ALPHA
  def_op(
      m, T, "div",
      [](py::handle a, py::handle b, py::handle mode) {
        auto [A, B] = tensor_pair(a, b, "div");
        if (mode.is_none()) return div(A, B).impl();
        if (!PyUnicode_Check(mode.ptr()))
          throw TypeError("div: rounding_mode must be None, 'trunc' or 'floor', got " +
                          std::string(py::repr(mode)));
        return div_rounding(A, B, mode.cast<std::string>()).impl();
      },
      py::arg("a"), py::arg("b"), py::kw_only(), py::arg("rounding_mode") = py::none(),
      "div(a, b, *, rounding_mode=None) -> Tensor\n\na / b elementwise (true division, integers promote to "
      "float); rounding_mode 'trunc' rounds toward zero, 'floor' toward -inf (integers stay int64; gradient "
      "0).\n\na, b: tensors, numbers or array-likes; NumPy broadcasting; returns the broadcast shape.");
  BINARY("mul", mul, "a * b elementwise.");
  BINARY("maximum", maximum, "The larger of a and b elementwise (gradient split evenly on ties).");
  BINARY("minimum", minimum, "The smaller of a and b elementwise (gradient split evenly on ties).");
  BINARY("logical_and", logical_and, "Bool tensor: a and b.");
  BINARY("logical_or", logical_or, "Bool tensor: a or b.");
#undef BINARY
  def_op(
      m, T, "matmul",
      [](py::handle a, py::handle b) {
        auto [A, B] = tensor_pair(a, b, "matmul");
        return matmul(A, B).impl();
      },
      py::arg("a"), py::arg("b"),
      "matmul(a, b) -> Tensor\n\nThe matrix product a @ b, batched and broadcasting as NumPy: a: (..., n, "
      "k), b: (..., k, m) -> (..., n, m); 1-d operands are vectors.");
  // A Tensor base with a Python number exponent takes the scalar path, as t ** 2.
  def_op(
      m, T, "pow",
      [](py::handle a, py::handle b) {
        py::detail::make_caster<TP> ca;
        if (ca.load(a, false))
          return binop(py::detail::cast_op<TP>(std::move(ca)), b, "pow", fastgrad::pow, pow_scalar);
        auto [A, B] = tensor_pair(a, b, "pow");
        return fastgrad::pow(A, B).impl();
      },
      py::arg("a"), py::arg("b"),
      "pow(a, b) -> Tensor\n\na ** b elementwise.\n\na, b: tensors, numbers or array-likes; NumPy "
      "broadcasting; returns the broadcast shape.");
  m.def(
      "compare",
      [](const TP& a, const TP& b, int op) {
        return compare(Tensor(a), Tensor(b), static_cast<CmpOp>(op)).impl();
      },
      py::arg("a"), py::arg("b"), py::arg("op"),
      "compare(a, b, op) -> Tensor\n\nBool tensor of a <op> b (op: the CmpOp code), broadcast shape.");

  // Reductions take NumPy's axis=/keepdims= and PyTorch's dim=/keepdim= (keyword-only),
  // resolved by axes_kw/keep_kw; positional calls read the same in both libraries.
#define REDUCE(NAME, FN, DOC)                                                                           \
  def_op(                                                                                               \
      m, T, NAME,                                                                                       \
      [](py::handle h, py::handle axis, py::handle keepdims, py::handle dim, py::handle keepdim,        \
         py::handle dtype) {                                                                            \
        Tensor x = tensor_arg(h, NAME);                                                                 \
        if (!dtype.is_none()) x = cast(x, dtype_arg(dtype, NAME));                                      \
        return FN(x, axes_kw(NAME, axis, dim), keep_kw(NAME, keepdims, keepdim)).impl();                \
      },                                                                                                \
      py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = py::none(), py::kw_only(),      \
      py::arg("dim") = py::none(), py::arg("keepdim") = py::none(), py::arg("dtype") = py::none(),      \
      NAME "(x, axis=None, keepdims=False, *, dim=None, keepdim=None, dtype=None) -> Tensor\n\n" DOC    \
           "\n\nx: any shape, cast to dtype first when given (PyTorch's dtype=); axis (or dim): None "  \
           "(all), an int or a tuple of ints (dim=() is every axis, as PyTorch); the reduced axes are " \
           "dropped, or kept with size 1 when keepdims (or keepdim).")
  REDUCE("sum", sum, "The sum over axis.");
  REDUCE("mean", mean, "The mean over axis.");
  REDUCE("amax", amax, "The maximum over axis (values only; the gradient is split evenly on ties).");
  REDUCE("amin", amin, "The minimum over axis (values only; the gradient is split evenly on ties).");
  REDUCE("prod", prod, "The product over axis.");
  REDUCE("logsumexp", logsumexp, "log(sum(exp(x))) over axis, computed stably.");
  REDUCE("nansum", nansum, "The sum over axis, NaNs counted as zero (their gradient is 0).");
  REDUCE("nanmean", nanmean, "The mean over axis of the non-NaN entries (all NaN: NaN).");
#undef REDUCE
  // PyTorch's var(x, unbiased) / var(x, dim, unbiased, keepdim) overloads: a bool where the
  // axis goes is `unbiased`, and a bool correction is 1 (unbiased) or 0.
#define MOMENT(NAME, FN, RET, DOC)                                                                          \
  def_op(                                                                                                   \
      m, T, NAME,                                                                                           \
      [](py::handle h, py::handle axis, py::handle correction, py::handle keepdims, py::handle dim,         \
         py::handle keepdim, py::handle unbiased) {                                                         \
        Tensor x = tensor_arg(h, NAME);                                                                     \
        if (PyBool_Check(axis.ptr())) {                                                                     \
          if (!unbiased.is_none()) throw TypeError(NAME ": got unbiased twice");                            \
          unbiased = axis;                                                                                  \
          axis = py::none();                                                                                \
        }                                                                                                   \
        py::object c = either_kw(NAME, correction, "correction", unbiased, "unbiased");                     \
        const double corr = c.is_none() ? 1.0 : number(c, NAME);                                            \
        return moment_result(FN(x, axes_kw(NAME, axis, dim), corr, keep_kw(NAME, keepdims, keepdim)));      \
      },                                                                                                    \
      py::arg("x"), py::arg("axis") = py::none(), py::arg("correction") = py::none(),                       \
      py::arg("keepdims") = py::none(), py::kw_only(), py::arg("dim") = py::none(),                         \
      py::arg("keepdim") = py::none(), py::arg("unbiased") = py::none(),                                    \
      NAME                                                                                                  \
      "(x, axis=None, correction=1, keepdims=False, *, dim=None, keepdim=None, unbiased=None) -> " RET      \
      "\n\n" DOC                                                                                            \
      " with Bessel's correction (1: unbiased, as PyTorch; 0: NumPy's default; unbiased=True/False is "     \
      "PyTorch's older spelling of 1/0).\n\nx: any shape; axis (or dim): None, an int or a tuple of ints; " \
      "the reduced axes are dropped unless keepdims (or keepdim).")
  MOMENT("var", var, "Tensor", "The variance over axis");
  MOMENT("std", std_, "Tensor", "The standard deviation over axis");
  MOMENT("var_mean", var_mean, "(Tensor, Tensor)", "(variance, mean) over axis,");
  MOMENT("std_mean", std_mean, "(Tensor, Tensor)", "(standard deviation, mean) over axis,");
#undef MOMENT
#define ARG(NAME, FN, DOC)                                                                                  \
  def_op(                                                                                                   \
      m, T, NAME,                                                                                           \
      [](py::handle h, py::handle axis, py::handle keepdims, py::handle dim, py::handle keepdim) {          \
        Tensor x = tensor_arg(h, NAME);                                                                     \
        py::object a = either_kw(NAME, axis, "axis", dim, "dim");                                           \
        std::optional<int64_t> ax;                                                                          \
        if (!a.is_none()) ax = axis_kw(NAME, a, py::none(), std::nullopt);                                  \
        return FN(x, ax, keep_kw(NAME, keepdims, keepdim)).impl();                                          \
      },                                                                                                    \
      py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = py::none(), py::kw_only(),          \
      py::arg("dim") = py::none(), py::arg("keepdim") = py::none(),                                         \
      NAME "(x, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor\n\n" DOC                    \
           " (int64; first occurrence on ties).\n\nx: any shape; axis (or dim) None flattens x first; the " \
           "reduced axis is dropped unless keepdims (or keepdim).")
  ARG("argmax", argmax, "The index of the maximum along axis");
  ARG("argmin", argmin, "The index of the minimum along axis");
#undef ARG
  // PyTorch's softmax(input, dim, dtype=None): dtype casts x first.
#define SOFTMAX(NAME, FN, DOC)                                                                            \
  def_op(                                                                                                 \
      m, T, NAME,                                                                                         \
      [](py::handle h, py::handle axis, py::handle dtype, py::handle dim) {                               \
        Tensor x = tensor_arg(h, NAME);                                                                   \
        if (!dtype.is_none()) x = cast(x, dtype_arg(dtype, NAME));                                        \
        return FN(x, axis_kw(NAME, axis, dim, -1)).impl();                                                \
      },                                                                                                  \
      py::arg("x"), py::arg("axis") = py::none(), py::arg("dtype") = py::none(), py::kw_only(),           \
      py::arg("dim") = py::none(),                                                                        \
      NAME "(x, axis=-1, dtype=None, *, dim=None) -> Tensor\n\n" DOC                                      \
           "\n\nx: any shape, cast to dtype first when given; axis (or dim) defaults to -1; returns x's " \
           "shape.")
  SOFTMAX("softmax", softmax, "exp(x - logsumexp(x)) along axis (numerically stable).");
  SOFTMAX("log_softmax", log_softmax, "x - logsumexp(x) along axis.");
#undef SOFTMAX
}
}  // namespace fastgrad::bindings
