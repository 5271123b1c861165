// Binary elementwise math of issue 12 (atan2, fmod, logaddexp, lerp, addcmul, ...) and the
// one clamp binding logic shared by clip/clamp, clamp_min and clamp_max. Each op is ONE
// def_op; numbers and array-likes convert like the tensor operand (tensor_pair).
#include "convert.h"

namespace fastgrad::bindings {

// Number bounds take clip's path (integer bounds keep an int64 tensor int64); a tensor or
// array-like bound broadcasts (clamp_tensor, PyTorch's gradients to the bounds).
TP clamp_binding(py::handle h, py::handle lo, py::handle hi, const char* op) {
  Tensor x = tensor_arg(h, op);
  auto tensor_bound = [](py::handle b) { return !b.is_none() && !is_number(b); };
  if (tensor_bound(lo) || tensor_bound(hi)) {
    auto b = [&](py::handle v) { return v.is_none() ? Tensor() : to_tensor(v, x, op); };
    return clamp_tensor(x, b(lo), b(hi)).impl();
  }
  if (lo.is_none() && hi.is_none())
    throw ValueError(std::string(op) + ": at least one of min or max must be given");
  auto is_int_bound = [](py::handle b) { return b.is_none() || is_int_like(b.ptr()); };
  if (!is_floating(x.dtype()) && is_int_bound(lo) && is_int_bound(hi)) {
    auto b = [&](py::handle v) {
      return v.is_none() ? std::nullopt : std::optional<int64_t>(py_int64(v.ptr(), op));
    };
    return clip_int(x, b(lo), b(hi)).impl();
  }
  auto b = [&](py::handle v) {
    return v.is_none() ? std::nullopt : std::optional<double>(py_double(v.ptr(), op));
  };
  return clip(x, b(lo), b(hi)).impl();
}

void bind_unary2(py::module_& m, TensorClass& T) {
#define BINARY2(NAME, FN, ARG2, DOC)                                 \
  def_op(                                                            \
      m, T, NAME,                                                    \
      [](py::handle a, py::handle b) {                               \
        auto [A, B] = tensor_pair(a, b, NAME);                       \
        return FN(A, B).impl();                                      \
      },                                                             \
      py::arg("x"), py::arg(ARG2),                                   \
      NAME "(x, " ARG2 ") -> Tensor\n\n" DOC "\n\nx, " ARG2          \
           ": tensors, numbers or array-likes; NumPy broadcasting; " \
           "returns the broadcast shape.")
  BINARY2("atan2", fastgrad::atan2, "other", "atan(x / other) in the quadrant of (other, x), elementwise.");
  BINARY2("arctan2", fastgrad::atan2, "other", "Alias of atan2.");
  BINARY2("hypot", fastgrad::hypot, "other", "sqrt(x**2 + other**2) elementwise, without overflow.");
  BINARY2("copysign", fastgrad::copysign, "other", "|x| with the sign of other, elementwise.");
  BINARY2("fmod", fastgrad::fmod, "other",
          "The C remainder of x / other (sign of x); integer division by zero is a RuntimeError.");
  BINARY2("remainder", fastgrad::remainder, "other",
          "Python's x % other (sign of other); integer division by zero is a RuntimeError.");
  BINARY2("logaddexp", fastgrad::logaddexp, "other", "log(exp(x) + exp(other)), computed stably.");
  BINARY2("logaddexp2", fastgrad::logaddexp2, "other", "log2(2**x + 2**other), computed stably.");
  BINARY2("xlogy", fastgrad::xlogy, "other", "x * log(other), 0 where x == 0 (unless other is NaN).");
  BINARY2("float_power", fastgrad::float_power, "exponent", "x ** exponent computed in float64.");
  BINARY2("true_divide", fastgrad::div, "other", "Alias of div: x / other.");
#undef BINARY2
  def_op(
      m, T, "lerp",
      [](py::handle a, py::handle e, py::handle w) {
        auto [A, E] = tensor_pair(a, e, "lerp");
        return lerp(A, E, to_tensor(w, A, "lerp")).impl();
      },
      py::arg("x"), py::arg("end"), py::arg("weight"),
      "lerp(x, end, weight) -> Tensor\n\nx + weight * (end - x) (PyTorch's two-sided formula).\n\nx, end, "
      "weight (a number or a tensor): broadcast together; returns the broadcast shape.");
  def_op(
      m, T, "addcmul",
      [](py::handle a, py::handle t1, py::handle t2, double value) {
        Tensor A = tensor_arg(a, "addcmul");
        return addcmul(A, to_tensor(t1, A, "addcmul"), to_tensor(t2, A, "addcmul"), value).impl();
      },
      py::arg("x"), py::arg("tensor1"), py::arg("tensor2"), py::kw_only(), py::arg("value") = 1.0,
      "addcmul(x, tensor1, tensor2, *, value=1) -> Tensor\n\nx + value * tensor1 * tensor2.\n\nAll three "
      "broadcast together; returns the broadcast shape.");
  def_op(
      m, T, "addcdiv",
      [](py::handle a, py::handle t1, py::handle t2, double value) {
        Tensor A = tensor_arg(a, "addcdiv");
        return addcdiv(A, to_tensor(t1, A, "addcdiv"), to_tensor(t2, A, "addcdiv"), value).impl();
      },
      py::arg("x"), py::arg("tensor1"), py::arg("tensor2"), py::kw_only(), py::arg("value") = 1.0,
      "addcdiv(x, tensor1, tensor2, *, value=1) -> Tensor\n\nx + value * tensor1 / tensor2.\n\nAll three "
      "broadcast together; returns the broadcast shape.");
  def_op(
      m, T, "rsub",
      [](py::handle a, py::handle b, py::handle alpha) {
        auto [A, B] = tensor_pair(a, b, "rsub");
        if (is_number(alpha) && number(alpha, "rsub") == 1.0) return sub(B, A).impl();
        return sub(B, mul(A, to_tensor(alpha, A, "rsub"))).impl();
      },
      py::arg("x"), py::arg("other"), py::kw_only(), py::arg("alpha") = 1,
      "rsub(x, other, *, alpha=1) -> Tensor\n\nother - alpha * x.\n\nx, other: broadcast together; returns "
      "the broadcast shape.");
  def_op(
      m, T, "clamp_min",
      [](py::handle h, py::handle lo) { return clamp_binding(h, lo, py::none(), "clamp_min"); }, py::arg("x"),
      py::arg("min"),
      "clamp_min(x, min) -> Tensor\n\nmax(x, min) elementwise (min: a number or a broadcasting "
      "tensor).\n\nx: "
      "any shape; returns the broadcast shape.");
  def_op(
      m, T, "clamp_max",
      [](py::handle h, py::handle hi) { return clamp_binding(h, py::none(), hi, "clamp_max"); }, py::arg("x"),
      py::arg("max"),
      "clamp_max(x, max) -> Tensor\n\nmin(x, max) elementwise (max: a number or a broadcasting "
      "tensor).\n\nx: "
      "any shape; returns the broadcast shape.");
}
}  // namespace fastgrad::bindings
