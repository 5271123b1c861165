// The Tensor class: metadata, .grad / requires_grad, copies, and the in-place ops.
#include "convert.h"

namespace fastgrad::bindings {
void bind_tensor(py::module_& m, TensorClass& T) {
  // The constructor Python subclasses (nn.Parameter) go through: a new leaf sharing data's storage.
  T.def(py::init([](const TP& data) { return detach(Tensor(data)).impl(); }), py::arg("data"),
        "Tensor(data): a new leaf tensor sharing data's storage (what detach() returns).");
  T.def_property_readonly(
       "shape", [](const TP& t) { return shape_tuple(t->shape); },
       "The sizes of the axes, a tuple of ints: (N1, ..., Nk).")
      .def_property_readonly(
          "ndim", [](const TP& t) { return t->shape.size(); }, "The number of axes k (0 for a scalar).")
      .def_property_readonly(
          "dtype", [](const TP& t) { return t->dtype; },
          "The element type: fg.float32, fg.float64, fg.int64 or fg.bool_.")
      .def(
          "numel", [](const TP& t) { return shape_numel(t->shape); },
          "numel() -> int\n\nThe number of elements (PyTorch's numel).")
      .def("__len__",
           [](const TP& t) {
             if (t->shape.empty()) throw TypeError("len() of a 0-d tensor");
             return t->shape[0];
           })
      .def_property_readonly("_strides", [](const TP& t) { return shape_tuple(t->strides); })
      .def_property_readonly("_offset", [](const TP& t) { return t->offset; })
      .def_property_readonly("_version", [](const TP& t) { return t->storage->version.load(); })
      .def("_bump_version", [](const TP& t) { t->storage->version++; })
      .def_property_readonly("_data_ptr",
                             [](const TP& t) {
                               if (t->bvalue) throw_batched_access(t.get());
                               return reinterpret_cast<uintptr_t>(t->storage->data) +
                                      t->offset * itemsize(t->dtype);
                             })
      .def(
          "is_contiguous", [](const TP& t) { return Tensor(t).is_contiguous(); },
          "is_contiguous() -> bool\n\nWhether the elements lie in row-major order without gaps.")
      .def_property(
          "requires_grad", [](const TP& t) { return t->requires_grad; }, &set_requires_grad,
          "Whether backward() accumulates a gradient into this leaf (float tensors only; a non-leaf cannot "
          "turn it off).")
      .def_property(
          "grad", &get_grad,
          [](const TP& t, py::handle h) {
            // None is the common case (zero_grad): skip the holder conversion.
            if (h.is_none()) return set_grad(t, nullptr);
            if (!py::isinstance<TensorImpl>(h))
              throw TypeError("grad: expected a Tensor or None, got " +
                              std::string(py::str(py::type::handle_of(h))));
            set_grad(t, h.cast<TP>());
          },
          "The accumulated gradient of this leaf (same shape and dtype), or None.")
      .def_property_readonly(
          "is_leaf", [](const TP& t) { return !t->grad_fn; },
          "True unless the tensor was made by a recorded op.")
      .def_property_readonly(
          "grad_fn",
          [](const TP& t) -> py::object {
            if (!t->grad_fn) return py::none();
            return py::str(t->grad_fn->prim->name());
          },
          "The name of the primitive that made this tensor on the tape, or None for a leaf.")
      .def(
          "astype", [](const TP& t, DType d) { return cast(Tensor(t), d).impl(); }, py::arg("dtype"),
          "astype(dtype) -> Tensor\n\nA copy converted to dtype (same shape; differentiable between float "
          "dtypes).")
      .def(
          "contiguous", [](const TP& t) { return contiguous(Tensor(t)).impl(); },
          "contiguous() -> Tensor\n\nx itself when row-major without gaps, else a row-major copy (same "
          "shape).")
      .def("clone", [](const TP& t) { return clone(Tensor(t)).impl(); });

  def_op(
      m, T, "detach", [](py::handle h) { return detach(tensor_arg(h, "detach")).impl(); }, py::arg("x"),
      "detach(x) -> Tensor\n\nx's value off the tape: shares x's memory, requires_grad=False, no grad_fn; "
      "same shape.");

  // In-place ops: every one goes through inplace_ (cpp/src/autodiff/inplace.cpp), which
  // applies PyTorch's rules and records the op on the tape like any other. Here only the
  // Python operand becomes a tensor: a Python bool is a Bool number and a Python int a Long
  // one (PyTorch's wrapped numbers), so the rules see int64.sub_(True) and bool.add_(2).
  auto operand = [](const Tensor& A, py::handle b) -> Tensor {
    if (PyBool_Check(b.ptr())) return scalar(b.ptr() == Py_True ? 1.0 : 0.0, DType::Bool);
    if (A.dtype() == DType::Bool && PyLong_Check(b.ptr())) return to_tensor(b, scalar(0.0, DType::Int64));
    return to_tensor(b, A);
  };
#define INPLACE(NAME, FN, SYM)                                                                             \
  T.def(                                                                                                   \
      NAME,                                                                                                \
      [operand](const TP& a, py::handle b) {                                                               \
        Tensor A(a), B = operand(A, b);                                                                    \
        gil::in_place({&A, &B}, [&] { FN(A, B); });                                                        \
        return a;                                                                                          \
      },                                                                                                   \
      py::arg("other"),                                                                                    \
      NAME "(other) -> Tensor\n\nIn place: x = x " SYM                                                     \
           " other, other broadcast to x's shape (a number or a tensor); returns x. Recorded on the tape " \
           "like any op (PyTorch's in-place rules).")
  INPLACE("add_", add_, "+");
  INPLACE("sub_", sub_, "-");
  INPLACE("mul_", mul_, "*");
  INPLACE("div_", div_, "/");
  INPLACE("pow_", pow_, "**");
  // Augmented assignment updates the tensor itself (p -= lr * p.grad), as in PyTorch.
  INPLACE("__iadd__", add_, "+");
  INPLACE("__isub__", sub_, "-");
  INPLACE("__imul__", mul_, "*");
  INPLACE("__itruediv__", div_, "/");
  INPLACE("__ipow__", pow_, "**");
#undef INPLACE
  T.def(
       "copy_",
       [](const TP& a, py::handle b) {
         Tensor A(a), B = to_tensor(b, A, "copy_");
         gil::in_place({&A}, [&] { assign_(A, B); });
         return a;
       },
       py::arg("src"),
       "copy_(src) -> Tensor\n\nIn place: x's elements become src's (broadcast to x's shape, cast to x's "
       "dtype); returns x.")
      .def(
          "fill_",
          [](const TP& a, py::handle v) {
            Tensor A(a);
            // A number goes through full's checks (exact ints; NaN into int64 raises, PyTorch).
            Tensor V = is_number(v) ? filled({}, v, A.dtype(), "fill_") : to_tensor(v, A, "fill_");
            gil::in_place({&A}, [&] { fill_(A, V); });
            return a;
          },
          py::arg("value"), "fill_(value) -> Tensor\n\nIn place: every element becomes value; returns x.")
      .def(
          "zero_",
          [](const TP& a) {
            Tensor A(a);
            gil::in_place({&A}, [&] { zero_(A); });
            return a;
          },
          "zero_() -> Tensor\n\nIn place: every element becomes 0; returns x.");
  for (const char* name : {"clamp_", "clip_"})
    T.def(
        name,
        [name](const TP& a, py::handle lo, py::handle hi) {
          auto bound = [&](py::handle h) -> std::optional<double> {
            if (h.is_none()) return std::nullopt;
            if (!is_number(h)) throw TypeError(std::string(name) + ": min and max must be numbers or None");
            return number(h, name);
          };
          const bool float_bound = PyFloat_Check(lo.ptr()) || PyFloat_Check(hi.ptr());
          clamp_(Tensor(a), bound(lo), bound(hi), float_bound, name);
          return a;
        },
        py::arg("min") = py::none(), py::arg("max") = py::none(),
        "clamp_(min=None, max=None) -> Tensor (clip_ is the same)\n\nIn place: x = min(max(x, min), max) "
        "elementwise; returns x. "
        "A float bound on an integer tensor is an error (the result would be float).");
}
}  // namespace fastgrad::bindings
