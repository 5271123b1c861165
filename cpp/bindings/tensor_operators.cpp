// Tensor operators (+ - * / ** @, comparisons, logic) with Python numbers on either side.
#include "convert.h"

namespace fastgrad::bindings {
namespace {
// Arithmetic: one overload each, dispatching on the Python type by hand (faster than
// pybind11's overload resolution, which matters for the per-op overhead).
TP op_add(const TP& a, py::handle b) { return binop(a, b, "__add__", fastgrad::add, add_scalar); }
TP op_radd(const TP& a, py::handle b) {
  return binop(a, b, "__radd__", [](const Tensor& x, const Tensor& y) { return add(y, x); }, add_scalar);
}
TP op_sub(const TP& a, py::handle b) {
  return binop(a, b, "__sub__", fastgrad::sub, [](const Tensor& x, double s) { return add_scalar(x, -s); });
}
TP op_rsub(const TP& a, py::handle b) {
  return binop(a, b, "__rsub__", [](const Tensor& x, const Tensor& y) { return sub(y, x); }, rsub_scalar);
}
TP op_mul(const TP& a, py::handle b) { return binop(a, b, "__mul__", fastgrad::mul, mul_scalar); }
TP op_rmul(const TP& a, py::handle b) {
  return binop(a, b, "__rmul__", [](const Tensor& x, const Tensor& y) { return mul(y, x); }, mul_scalar);
}
TP op_truediv(const TP& a, py::handle b) {
  return binop(a, b, "__truediv__", fastgrad::div,
               [](const Tensor& x, double s) { return mul_scalar(x, 1.0 / s); });
}
TP op_rtruediv(const TP& a, py::handle b) {
  return binop(a, b, "__rtruediv__", [](const Tensor& x, const Tensor& y) { return div(y, x); }, rdiv_scalar);
}
TP op_neg(const TP& a) { return neg(Tensor(a)).impl(); }

// The type's number slots call the operators directly: a Python `a + b` otherwise goes
// slot_nb_add -> lookup of __add__ -> bound method -> pybind11's dispatcher and argument
// loading, about a third of a tiny op's forward. Same semantics as CPython's generic slot
// for a type whose __add__/__radd__ are these bindings: the left operand's method when
// its type has this slot (Tensor, or a subclass that inherited it), else the right's
// reflected one. A subclass that defines its own __add__ (or any class assigning
// Tensor.__add__ later) gets CPython's generic slot back, so its methods keep working.
const TP* holder_of(PyObject* o) {
  auto vh = reinterpret_cast<py::detail::instance*>(o)->get_value_and_holder();
  return vh.holder_constructed() ? &vh.holder<TP>() : nullptr;
}
PyObject* to_python(TP r) {
  return py::detail::make_caster<TP>::cast(std::move(r), py::return_value_policy::move, {}).ptr();
}
template <binaryfunc PyNumberMethods::* Slot, TP (*Fwd)(const TP&, py::handle),
          TP (*Rev)(const TP&, py::handle)>
PyObject* nb_binary(PyObject* a, PyObject* b) {
  constexpr binaryfunc self = &nb_binary<Slot, Fwd, Rev>;
  auto ours = [](PyObject* o) {
    PyNumberMethods* nb = Py_TYPE(o)->tp_as_number;
    return nb && nb->*Slot == self;
  };
  try {
    if (ours(a)) {
      if (const TP* h = holder_of(a)) return to_python(Fwd(*h, b));
    } else if (ours(b)) {
      if (const TP* h = holder_of(b)) return to_python(Rev(*h, a));
    } else {
      Py_RETURN_NOTIMPLEMENTED;
    }
    // An instance without its C++ tensor (a subclass whose __init__ did not run).
    PyErr_SetString(PyExc_TypeError, "Tensor operator: the Tensor object is not initialised");
    return nullptr;
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (...) {
    py::detail::try_translate_exceptions();
  }
  return nullptr;
}
PyObject* nb_negative(PyObject* a) {
  try {
    if (Py_TYPE(a)->tp_as_number && Py_TYPE(a)->tp_as_number->nb_negative == &nb_negative)
      if (const TP* h = holder_of(a)) return to_python(op_neg(*h));
    PyErr_SetString(PyExc_TypeError, "Tensor operator: the Tensor object is not initialised");
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (...) {
    py::detail::try_translate_exceptions();
  }
  return nullptr;
}
}  // namespace

void bind_operators(py::module_&, TensorClass& T) {
  T.def("__add__", &op_add)
      .def("__radd__", &op_radd)
      .def("__sub__", &op_sub)
      .def("__rsub__", &op_rsub)
      .def("__mul__", &op_mul)
      .def("__rmul__", &op_rmul)
      .def("__truediv__", &op_truediv)
      .def("__rtruediv__", &op_rtruediv)
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
      .def("__neg__", &op_neg)
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
  // After the def()s above (each def of a dunder resets its slot to CPython's generic one).
  auto* tp = reinterpret_cast<PyTypeObject*>(T.ptr());
  PyNumberMethods* nb = tp->tp_as_number;
  nb->nb_add = &nb_binary<&PyNumberMethods::nb_add, &op_add, &op_radd>;
  nb->nb_subtract = &nb_binary<&PyNumberMethods::nb_subtract, &op_sub, &op_rsub>;
  nb->nb_multiply = &nb_binary<&PyNumberMethods::nb_multiply, &op_mul, &op_rmul>;
  nb->nb_true_divide = &nb_binary<&PyNumberMethods::nb_true_divide, &op_truediv, &op_rtruediv>;
  nb->nb_negative = &nb_negative;
  PyType_Modified(tp);
}
}  // namespace fastgrad::bindings
