// Elementwise math, comparisons, clipping, reductions and softmax.
#include "convert.h"

namespace fastgrad::bindings {
void bind_math(py::module_& m, TensorClass& T) {
#define UNARY(NAME, FN)                                                              \
  m.def(NAME, [](const TP& x) {                                                      \
    return gil::kernel(shape_numel(x->shape), [&] { return FN(Tensor(x)).impl(); }); \
  });                                                                                \
  T.def(NAME, [](const TP& x) {                                                      \
    return gil::kernel(shape_numel(x->shape), [&] { return FN(Tensor(x)).impl(); }); \
  })
  UNARY("neg", neg);
  UNARY("exp", fastgrad::exp);
  UNARY("log", fastgrad::log);
  UNARY("log1p", fastgrad::log1p);
  UNARY("sqrt", fastgrad::sqrt);
  UNARY("abs", fastgrad::abs);
  UNARY("sin", fastgrad::sin);
  UNARY("cos", fastgrad::cos);
  UNARY("tanh", fastgrad::tanh);
  UNARY("sigmoid", sigmoid);
  UNARY("relu", relu);
  UNARY("silu", silu);
  UNARY("erf", fastgrad::erf);
  UNARY("sign", sign);
  UNARY("isnan", fastgrad::isnan);
  UNARY("isfinite", fastgrad::isfinite);
  UNARY("logical_not", logical_not);
  UNARY("clone", clone);
#undef UNARY
  m.def("gelu", [](const TP& x, bool approx) { return gelu(Tensor(x), approx).impl(); });
  m.def("gelu_deriv", [](const TP& x, bool approx) { return gelu_deriv(Tensor(x), approx).impl(); });
  m.def(
      "softplus",
      [](const TP& x, double beta, double threshold) { return softplus(Tensor(x), beta, threshold).impl(); },
      py::arg("x"), py::arg("beta") = 1.0, py::arg("threshold") = 20.0);
  // Integer bounds keep an int64 tensor int64 (exact); a float bound makes it float (PyTorch).
  m.def(
      "clip",
      [](const TP& x, py::handle lo, py::handle hi) {
        auto is_int_bound = [](py::handle h) { return h.is_none() || is_int_like(h.ptr()); };
        if (!is_floating(x->dtype) && is_int_bound(lo) && is_int_bound(hi)) {
          auto b = [](py::handle h) {
            return h.is_none() ? std::nullopt : std::optional<int64_t>(py_int64(h.ptr(), "clip"));
          };
          return clip_int(Tensor(x), b(lo), b(hi)).impl();
        }
        auto b = [](py::handle h) {
          return h.is_none() ? std::nullopt : std::optional<double>(py_double(h.ptr(), "clip"));
        };
        return clip(Tensor(x), b(lo), b(hi)).impl();
      },
      py::arg("x"), py::arg("min") = py::none(), py::arg("max") = py::none());
  m.def("where",
        [](const TP& c, const TP& a, const TP& b) { return where(Tensor(c), Tensor(a), Tensor(b)).impl(); });
  m.def("cast", [](const TP& x, DType d) { return cast(Tensor(x), d).impl(); });

#define BINARY(NAME, FN)                                                 \
  m.def(NAME, [](const TP& a, const TP& b) {                             \
    return gil::kernel(shape_numel(a->shape) + shape_numel(b->shape),    \
                       [&] { return FN(Tensor(a), Tensor(b)).impl(); }); \
  })
  BINARY("add", add);
  BINARY("sub", sub);
  BINARY("mul", mul);
  BINARY("div", div);
  BINARY("pow", fastgrad::pow);
  BINARY("maximum", maximum);
  BINARY("minimum", minimum);
  BINARY("matmul", matmul);
  BINARY("logical_and", logical_and);
  BINARY("logical_or", logical_or);
#undef BINARY
  m.def("compare", [](const TP& a, const TP& b, int op) {
    return gil::kernel(shape_numel(a->shape) + shape_numel(b->shape),
                       [&] { return compare(Tensor(a), Tensor(b), static_cast<CmpOp>(op)).impl(); });
  });

#define REDUCE(NAME, FN)                                                        \
  m.def(                                                                        \
      NAME,                                                                     \
      [](const TP& x, py::object axis, bool keepdims) {                         \
        Axes ax = to_axes(axis);                                                \
        return FN(Tensor(x), ax, keepdims).impl();                              \
      },                                                                        \
      py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false); \
  T.def(                                                                        \
      NAME,                                                                     \
      [](const TP& x, py::object axis, bool keepdims) {                         \
        Axes ax = to_axes(axis);                                                \
        return FN(Tensor(x), ax, keepdims).impl();                              \
      },                                                                        \
      py::arg("axis") = py::none(), py::arg("keepdims") = false)
  REDUCE("sum", sum);
  REDUCE("mean", mean);
  REDUCE("amax", amax);
  REDUCE("amin", amin);
  REDUCE("prod", prod);
  REDUCE("logsumexp", logsumexp);
#undef REDUCE
  m.def(
      "var",
      [](const TP& x, py::object axis, double correction, bool keepdims) {
        return var(Tensor(x), to_axes(axis), correction, keepdims).impl();
      },
      py::arg("x"), py::arg("axis") = py::none(), py::arg("correction") = 0.0, py::arg("keepdims") = false);
  m.def(
      "std",
      [](const TP& x, py::object axis, double correction, bool keepdims) {
        return std_(Tensor(x), to_axes(axis), correction, keepdims).impl();
      },
      py::arg("x"), py::arg("axis") = py::none(), py::arg("correction") = 0.0, py::arg("keepdims") = false);
  m.def(
      "argmax",
      [](const TP& x, std::optional<int64_t> axis, bool keepdims) {
        return gil::kernel(shape_numel(x->shape), [&] { return argmax(Tensor(x), axis, keepdims).impl(); });
      },
      py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false);
  m.def(
      "argmin",
      [](const TP& x, std::optional<int64_t> axis, bool keepdims) {
        return gil::kernel(shape_numel(x->shape), [&] { return argmin(Tensor(x), axis, keepdims).impl(); });
      },
      py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false);
  m.def("softmax", [](const TP& x, int64_t axis) { return softmax(Tensor(x), axis).impl(); });
  m.def("log_softmax", [](const TP& x, int64_t axis) { return log_softmax(Tensor(x), axis).impl(); });
}
}  // namespace fastgrad::bindings
