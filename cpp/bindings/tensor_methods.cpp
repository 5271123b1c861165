// PyTorch-style Tensor methods and conventions: size(), dim(), t(), comparisons as methods,
// *_as, .data, .device, __format__. Each is a composite of existing ops (no new primitive).
#include "convert.h"

namespace fastgrad::bindings {
namespace {
// The shape as PyTorch's size(): a tuple, or one entry (negative dims count from the end).
py::object size_of(const TP& t, std::optional<int64_t> dim) {
  if (!dim) return shape_tuple(t->shape);
  const auto nd = static_cast<int64_t>(t->shape.size());
  return py::int_(t->shape[static_cast<size_t>(normalize_axis(*dim, nd, "size"))]);
}

// Tensor.data = src: this tensor takes src's memory, shape and dtype and keeps its own
// identity, requires_grad, .grad and place on the tape (PyTorch's p.data = ...).
void set_data(const TP& t, const TP& src) {
  if (t->requires_grad && !is_floating(src->dtype))
    throw TypeError(std::string("data: a tensor that requires grad cannot take ") + dtype_name(src->dtype) +
                    " data");
  t->storage = src->storage;
  t->shape = src->shape;
  t->strides = src->strides;
  t->offset = src->offset;
  t->dtype = src->dtype;
  t->bvalue = src->bvalue;
  t->blevel = src->blevel;
  t->bdim = src->bdim;
}

// One-element tensors format as their Python number (f"{loss:.4f}"); other tensors only
// with an empty spec (str(t)), as object.__format__.
py::object format_tensor(py::object self, const std::string& spec) {
  const TP t = self.cast<TP>();
  if (shape_numel(t->shape) == 1)
    return py::module_::import("builtins").attr("format")(self.attr("item")(), spec);
  if (!spec.empty())
    throw TypeError(
        "unsupported format string passed to Tensor.__format__ (only one-element tensors "
        "take a format spec), got shape " +
        shape_str(t->shape));
  return py::str(self);
}
}  // namespace

void bind_methods(py::module_& m, TensorClass& T) {
  T.def(
       "float", [](const TP& t) { return cast(Tensor(t), DType::Float32).impl(); },
       "float() -> Tensor\n\nx as float32 (same shape).")
      .def(
          "double", [](const TP& t) { return cast(Tensor(t), DType::Float64).impl(); },
          "double() -> Tensor\n\nx as float64 (same shape).")
      .def(
          "long", [](const TP& t) { return cast(Tensor(t), DType::Int64).impl(); },
          "long() -> Tensor\n\nx as int64 (same shape).");
  T.def("size", &size_of, py::arg("dim") = py::none(),
        "size(dim=None) -> tuple[int, ...] | int\n\nThe shape (N1, ..., Nk) as a tuple, or Ni for dim=i "
        "(negative i counts from the end; IndexError outside). The element count is numel().")
      .def(
          "dim", [](const TP& t) { return t->shape.size(); }, "dim() -> int\n\nThe number of axes k (ndim).")
      .def(
          "ndimension", [](const TP& t) { return t->shape.size(); },
          "ndimension() -> int\n\nThe number of axes k (dim()).")
      .def(
          "nelement", [](const TP& t) { return shape_numel(t->shape); },
          "nelement() -> int\n\nThe number of elements N1 * ... * Nk (numel()).")
      .def(
          "element_size", [](const TP& t) { return itemsize(t->dtype); },
          "element_size() -> int\n\nThe bytes of one element: 4 (float32), 8 (float64, int64), 1 (bool).")
      .def(
          "is_floating_point", [](const TP& t) { return is_floating(t->dtype); },
          "is_floating_point() -> bool\n\nWhether the dtype is float32 or float64.")
      .def_property_readonly(
          "_is_batched", [](const TP& t) { return t->bvalue != nullptr; },
          "Whether this is a batched tensor inside vmap (its values are per example, not readable).")
      .def_property_readonly(
          "is_cuda", [](const TP&) { return false; }, "False: fastgrad tensors live in CPU memory.")
      .def_property_readonly(
          "is_cpu", [](const TP&) { return true; }, "True: fastgrad tensors live in CPU memory.")
      .def_property_readonly(
          "device", [](const TP&) { return py::module_::import("fastgrad._device").attr("device")("cpu"); },
          "fg.device('cpu'), the one device.")
      .def_property(
          "data", [](const TP& t) { return detach(Tensor(t)).impl(); }, &set_data,
          "x's value off the tape (detach(): shares x's memory, same shape, requires_grad=False). "
          "Assigning p.data = src makes p use src's memory, shape and dtype, keeping p itself.")
      .def(
          "t",
          [](const TP& t) {
            if (t->shape.size() > 2)
              throw ValueError("t: expects a tensor with <= 2 axes, got shape " + shape_str(t->shape) +
                               " (use transpose or mT)");
            return t->shape.size() < 2 ? reshape(Tensor(t), t->shape).impl()
                                       : transpose(Tensor(t), 0, 1).impl();
          },
          "t() -> Tensor\n\nThe transpose of a matrix (n, m) -> (m, n), a view; 0-d and 1-d tensors are "
          "returned as they are (ValueError for more axes).")
      .def(
          "view_as", [](const TP& t, const TP& o) { return reshape(Tensor(t), o->shape).impl(); },
          py::arg("other"), "view_as(other) -> Tensor\n\nx reshaped to other's shape (x.view(other.shape)).")
      .def(
          "reshape_as", [](const TP& t, const TP& o) { return reshape(Tensor(t), o->shape).impl(); },
          py::arg("other"), "reshape_as(other) -> Tensor\n\nx reshaped to other's shape.")
      .def(
          "expand_as", [](const TP& t, const TP& o) { return expand(Tensor(t), o->shape).impl(); },
          py::arg("other"), "expand_as(other) -> Tensor\n\nx broadcast to other's shape (a view).")
      .def(
          "int", [](const TP& t) { return cast(Tensor(t), DType::Int64).impl(); },
          "int() -> Tensor\n\nx as int64 (fastgrad's one integer dtype; same shape; floats truncate).")
      .def(
          "bool", [](const TP& t) { return cast(Tensor(t), DType::Bool).impl(); },
          "bool() -> Tensor\n\nx as bool (nonzero is True; same shape).")
      .def("__format__", &format_tensor, py::arg("format_spec"),
           "format(x, spec): a one-element tensor formats as its number (f'{loss:.4f}'); others need an "
           "empty spec.");

  // Comparisons as functions and methods (x.eq(y), fg.lt(x, 1)): the operators' rules.
#define CMP(NAME, OP, SYM)                                 \
  def_op(                                                  \
      m, T, NAME,                                          \
      [](py::handle a, py::handle b) {                     \
        auto [A, B] = tensor_pair(a, b, NAME);             \
        return compare(A, B, CmpOp::OP).impl();            \
      },                                                   \
      py::arg("x"), py::arg("other"),                      \
      NAME "(x, other) -> Tensor\n\nBool tensor of x " SYM \
           " other elementwise; x, other: tensors or "     \
           "numbers, NumPy broadcasting; returns the broadcast shape.")
  CMP("eq", Eq, "==");
  CMP("ne", Ne, "!=");
  CMP("lt", Lt, "<");
  CMP("le", Le, "<=");
  CMP("gt", Gt, ">");
  CMP("ge", Ge, ">=");
  CMP("not_equal", Ne, "!=");
  CMP("less", Lt, "<");
  CMP("less_equal", Le, "<=");
  CMP("greater", Gt, ">");
  CMP("greater_equal", Ge, ">=");
#undef CMP
  def_op(
      m, T, "equal",
      [](py::handle a, py::handle b) {
        auto [A, B] = tensor_pair(a, b, "equal");
        if (A.shape() != B.shape()) return false;
        if (shape_numel(A.shape()) == 0) return true;
        Tensor any_ne = contiguous(amax(cast(compare(A, B, CmpOp::Ne), DType::Int64), {}, false));
        return any_ne.data<int64_t>()[0] == 0;
      },
      py::arg("x"), py::arg("other"),
      "equal(x, other) -> bool\n\nTrue when x and other have the same shape and the same elements (NaN "
      "is unequal to itself).");
}
}  // namespace fastgrad::bindings
