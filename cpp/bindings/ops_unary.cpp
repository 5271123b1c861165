// More elementwise math: the torch.special-style unary functions, rounding and the
// activations (issue 12). Each is ONE def_op (fg.<op> and Tensor.<op>); validation lives in
// the C++ op. Binary ones are in ops_unary2.cpp.
#include "convert.h"

namespace fastgrad::bindings {
namespace {
std::optional<double> opt_double(py::handle h, const char* op) {
  return h.is_none() ? std::nullopt : std::optional<double>(py_double(h.ptr(), op));
}
}  // namespace

void bind_unary(py::module_& m, TensorClass& T) {
#define UNARY(NAME, FN, DOC)                                                       \
  def_op(                                                                          \
      m, T, NAME,                                                                  \
      [](py::handle h) {                                                           \
        Tensor x = tensor_arg(h, NAME);                                            \
        return FN(x).impl();                                                       \
      },                                                                           \
      py::arg("x"),                                                                \
      NAME "(x) -> Tensor\n\n" DOC                                                 \
           "\n\nx: any shape (array-likes convert; integers promote to float32); " \
           "returns a tensor of x's shape.")
  UNARY("expm1", fastgrad::expm1, "exp(x) - 1 elementwise, accurate for small x.");
  UNARY("exp2", fastgrad::exp2, "2**x elementwise.");
  UNARY("log2", fastgrad::log2, "Base-2 logarithm elementwise.");
  UNARY("log10", fastgrad::log10, "Base-10 logarithm elementwise.");
  UNARY("tan", fastgrad::tan, "Tangent elementwise.");
  UNARY("sinh", fastgrad::sinh, "Hyperbolic sine elementwise.");
  UNARY("cosh", fastgrad::cosh, "Hyperbolic cosine elementwise.");
  UNARY("asinh", fastgrad::asinh, "Inverse hyperbolic sine elementwise.");
  UNARY("acosh", fastgrad::acosh, "Inverse hyperbolic cosine elementwise (nan below 1).");
  UNARY("atanh", fastgrad::atanh, "Inverse hyperbolic tangent elementwise (nan outside [-1, 1]).");
  UNARY("asin", fastgrad::asin, "Arcsine elementwise (nan outside [-1, 1]).");
  UNARY("acos", fastgrad::acos, "Arccosine elementwise (nan outside [-1, 1]).");
  UNARY("atan", fastgrad::atan, "Arctangent elementwise.");
  UNARY("erfc", fastgrad::erfc, "The complementary error function 1 - erf(x) elementwise.");
  UNARY("erfinv", fastgrad::erfinv, "The inverse error function elementwise (nan outside [-1, 1]).");
  UNARY("rsqrt", fastgrad::rsqrt, "1 / sqrt(x) elementwise.");
  UNARY("sinc", fastgrad::sinc, "sin(pi x) / (pi x) elementwise, 1 at 0.");
  UNARY("square", fastgrad::square, "x * x elementwise (integers stay int64).");
  UNARY("reciprocal", fastgrad::reciprocal, "1 / x elementwise.");
  UNARY("floor", fastgrad::floor, "The largest integer <= x (gradient 0; integers unchanged).");
  UNARY("ceil", fastgrad::ceil, "The smallest integer >= x (gradient 0; integers unchanged).");
  UNARY("trunc", fastgrad::trunc, "x rounded toward zero (gradient 0; integers unchanged).");
  UNARY("fix", fastgrad::trunc, "Alias of trunc: x rounded toward zero (gradient 0).");
  UNARY("frac", fastgrad::frac, "x - trunc(x) elementwise (gradient 1); float tensors only.");
  UNARY("deg2rad", fastgrad::deg2rad, "Degrees to radians elementwise.");
  UNARY("rad2deg", fastgrad::rad2deg, "Radians to degrees elementwise.");
  UNARY("relu6", fastgrad::relu6, "min(max(x, 0), 6) elementwise (gradient 1 strictly inside).");
  UNARY("selu", fastgrad::selu, "scale * elu(x, alpha) with the self-normalising constants.");
  UNARY("logsigmoid", fastgrad::logsigmoid, "log(sigmoid(x)) elementwise, computed stably.");
  UNARY("mish", fastgrad::mish, "x * tanh(softplus(x)) elementwise.");
  UNARY("hardswish", fastgrad::hardswish, "x * relu6(x + 3) / 6 elementwise.");
  UNARY("hardsigmoid", fastgrad::hardsigmoid, "relu6(x + 3) / 6 elementwise.");
  UNARY("softsign", fastgrad::softsign, "x / (1 + |x|) elementwise.");
  UNARY("tanhshrink", fastgrad::tanhshrink, "x - tanh(x) elementwise.");
#undef UNARY
  def_op(
      m, T, "round",
      [](py::handle h, int64_t decimals) { return fastgrad::round(tensor_arg(h, "round"), decimals).impl(); },
      py::arg("x"), py::kw_only(), py::arg("decimals") = 0,
      "round(x, *, decimals=0) -> Tensor\n\nx rounded half to even to `decimals` decimal places (negative: "
      "to tens, hundreds, ...); gradient 0; integer tensors unchanged.\n\nx: any shape; returns x's shape.");
  def_op(
      m, T, "logit",
      [](py::handle h, py::handle eps) {
        return logit(tensor_arg(h, "logit"), opt_double(eps, "logit")).impl();
      },
      py::arg("x"), py::arg("eps") = py::none(),
      "logit(x, eps=None) -> Tensor\n\nlog(x / (1 - x)) elementwise; with eps, x is first clamped to [eps, 1 "
      "- "
      "eps].\n\nx: any shape; returns x's shape.");
  def_op(
      m, T, "nan_to_num",
      [](py::handle h, double nan, py::handle posinf, py::handle neginf) {
        return nan_to_num(tensor_arg(h, "nan_to_num"), nan, opt_double(posinf, "nan_to_num"),
                          opt_double(neginf, "nan_to_num"))
            .impl();
      },
      py::arg("x"), py::arg("nan") = 0.0, py::arg("posinf") = py::none(), py::arg("neginf") = py::none(),
      "nan_to_num(x, nan=0.0, posinf=None, neginf=None) -> Tensor\n\nNaN, +inf and -inf replaced (by default "
      "with 0 and the dtype's largest/smallest finite value); gradient 1 at finite x, 0 elsewhere.\n\nx: any "
      "shape; returns x's shape.");
  def_op(
      m, T, "hardtanh",
      [](py::handle h, double lo, double hi) { return hardtanh(tensor_arg(h, "hardtanh"), lo, hi).impl(); },
      py::arg("x"), py::arg("min_val") = -1.0, py::arg("max_val") = 1.0,
      "hardtanh(x, min_val=-1.0, max_val=1.0) -> Tensor\n\nx clamped to [min_val, max_val]; gradient 1 "
      "strictly inside, 0 elsewhere (PyTorch).\n\nx: any shape; returns x's shape.");
  def_op(
      m, T, "elu", [](py::handle h, double alpha) { return elu(tensor_arg(h, "elu"), alpha).impl(); },
      py::arg("x"), py::arg("alpha") = 1.0,
      "elu(x, alpha=1.0) -> Tensor\n\nx where x > 0, alpha * (exp(x) - 1) elsewhere.\n\nx: any shape; "
      "returns "
      "x's shape.");
  def_op(
      m, T, "celu", [](py::handle h, double alpha) { return celu(tensor_arg(h, "celu"), alpha).impl(); },
      py::arg("x"), py::arg("alpha") = 1.0,
      "celu(x, alpha=1.0) -> Tensor\n\nmax(0, x) + min(0, alpha * (exp(x / alpha) - 1)); ValueError for "
      "alpha "
      "0.\n\nx: any shape; returns x's shape.");
  def_op(
      m, T, "threshold",
      [](py::handle h, double th, double value) {
        return threshold(tensor_arg(h, "threshold"), th, value).impl();
      },
      py::arg("x"), py::arg("threshold"), py::arg("value"),
      "threshold(x, threshold, value) -> Tensor\n\nx where x > threshold, else value (gradient 0 "
      "there).\n\nx: "
      "any shape; returns x's shape.");
  def_op(
      m, T, "softshrink",
      [](py::handle h, double l) { return softshrink(tensor_arg(h, "softshrink"), l).impl(); }, py::arg("x"),
      py::arg("lambd") = 0.5,
      "softshrink(x, lambd=0.5) -> Tensor\n\nx - lambd above lambd, x + lambd below -lambd, 0 between "
      "(ValueError for lambd < 0).\n\nx: any shape; returns x's shape.");
  def_op(
      m, T, "hardshrink",
      [](py::handle h, double l) { return hardshrink(tensor_arg(h, "hardshrink"), l).impl(); }, py::arg("x"),
      py::arg("lambd") = 0.5,
      "hardshrink(x, lambd=0.5) -> Tensor\n\nx where |x| > lambd, else 0.\n\nx: any shape; returns x's "
      "shape.");
  def_op(
      m, T, "positive", [](py::handle h) { return tensor_arg(h, "positive").impl(); }, py::arg("x"),
      "positive(x) -> Tensor\n\nx itself (PyTorch's unary +).\n\nx: any shape; returns x.");
  def_op(
      m, T, "negative", [](py::handle h) { return neg(tensor_arg(h, "negative")).impl(); }, py::arg("x"),
      "negative(x) -> Tensor\n\nAlias of neg: -x elementwise.\n\nx: any shape; returns x's shape.");
  bind_unary2(m, T);
}
}  // namespace fastgrad::bindings
