// Tensor operators (+ - * / ** @, comparisons, logic) with Python numbers on either side.
#include "convert.h"

namespace fastgrad::bindings {
void bind_operators(py::module_&, TensorClass& T) {
  // Arithmetic: one overload each, dispatching on the Python type by hand (faster than
  // pybind11's overload resolution, which matters for the per-op overhead).
  T.def("__add__",
        [](const TP& a, py::handle b) { return binop(a, b, "__add__", fastgrad::add, add_scalar); })
      .def("__radd__",
           [](const TP& a, py::handle b) {
             return binop(
                 a, b, "__radd__", [](const Tensor& x, const Tensor& y) { return add(y, x); }, add_scalar);
           })
      .def("__sub__",
           [](const TP& a, py::handle b) {
             return binop(a, b, "__sub__", fastgrad::sub,
                          [](const Tensor& x, double s) { return add_scalar(x, -s); });
           })
      .def("__rsub__",
           [](const TP& a, py::handle b) {
             return binop(
                 a, b, "__rsub__", [](const Tensor& x, const Tensor& y) { return sub(y, x); }, rsub_scalar);
           })
      .def("__mul__",
           [](const TP& a, py::handle b) { return binop(a, b, "__mul__", fastgrad::mul, mul_scalar); })
      .def("__rmul__",
           [](const TP& a, py::handle b) {
             return binop(
                 a, b, "__rmul__", [](const Tensor& x, const Tensor& y) { return mul(y, x); }, mul_scalar);
           })
      .def("__truediv__",
           [](const TP& a, py::handle b) {
             return binop(a, b, "__truediv__", fastgrad::div,
                          [](const Tensor& x, double s) { return mul_scalar(x, 1.0 / s); });
           })
      .def("__rtruediv__",
           [](const TP& a, py::handle b) {
             return binop(
                 a, b, "__rtruediv__", [](const Tensor& x, const Tensor& y) { return div(y, x); },
                 rdiv_scalar);
           })
      .def("__pow__",
           [](const TP& a, py::handle b) { return binop(a, b, "__pow__", fastgrad::pow, pow_scalar); })
      .def("__rpow__",
           [](const TP& a, py::handle b) {
             Tensor A(a);
             Tensor B = to_tensor(b, A);
             return fastgrad::pow(B, A).impl();
           })
      .def("__matmul__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__matmul__");
             return matmul(A, B).impl();
           })
      .def("__rmatmul__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__rmatmul__");
             return matmul(B, A).impl();
           })
      .def("__neg__", [](const TP& a) { return neg(Tensor(a)).impl(); })
      .def("__pos__", [](const TP& a) { return a; })
      .def("__abs__", [](const TP& a) { return fastgrad::abs(Tensor(a)).impl(); })
      .def("__invert__", [](const TP& a) { return logical_not(Tensor(a)).impl(); })
      .def("__and__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__and__");
             return logical_and(A, B).impl();
           })
      .def("__or__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__or__");
             return logical_or(A, B).impl();
           })
      .def("__eq__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__eq__");
             return compare(A, B, CmpOp::Eq).impl();
           })
      .def("__ne__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__ne__");
             return compare(A, B, CmpOp::Ne).impl();
           })
      .def("__lt__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__lt__");
             return compare(A, B, CmpOp::Lt).impl();
           })
      .def("__le__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__le__");
             return compare(A, B, CmpOp::Le).impl();
           })
      .def("__gt__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__gt__");
             return compare(A, B, CmpOp::Gt).impl();
           })
      .def("__ge__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__ge__");
             return compare(A, B, CmpOp::Ge).impl();
           })
      .def("__hash__", [](const TP& a) { return reinterpret_cast<intptr_t>(a.get()); });
}
}  // namespace fastgrad::bindings
