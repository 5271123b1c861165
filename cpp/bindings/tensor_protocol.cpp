// The Python protocol of Tensor: scalar conversions (item, float(), int(), bool(),
// operator.index), NumPy/list conversions, repr, iteration, .T/.mT, dtype shortcuts and
// the PyTorch method form of max/min. Conversions out of the graph check, while a
// transform traces, that the value carries no derivative (fastgrad/_trace.py).
#include "convert.h"

namespace fastgrad::bindings {
namespace {
void check_conversion(py::handle self, const char* what) {
  if (trace_depth() > 0) py::module_::import("fastgrad._trace").attr("check_conversion")(self, what);
}

// The one element of a size-1 tensor as a Python number.
py::object item(const TP& t, py::handle self, const char* what) {
  check_conversion(self, what);
  if (shape_numel(t->shape) != 1)
    throw ValueError("item: only one-element tensors can be converted to Python scalars, got shape " +
                     std::string(py::repr(shape_tuple(t->shape))));
  if (t->bvalue) throw_batched_access(t.get());
  const char* p =
      static_cast<const char*>(t->storage->data) + t->offset * static_cast<int64_t>(itemsize(t->dtype));
  switch (t->dtype) {
    case DType::Float32:
      return py::float_(static_cast<double>(*reinterpret_cast<const float*>(p)));
    case DType::Float64:
      return py::float_(*reinterpret_cast<const double*>(p));
    case DType::Int64:
      return py::int_(*reinterpret_cast<const int64_t*>(p));
    case DType::Bool:
      return py::bool_(*reinterpret_cast<const uint8_t*>(p) != 0);
  }
  return py::none();
}

py::object numpy_asarray(py::handle h) { return py::module_::import("numpy").attr("asarray")(h); }

// x[i] for i in range(len(x)), lazily (rows are views).
struct RowIterator {
  py::object x;
  int64_t i = 0, n = 0;
};

py::object max_min_result() {
  // Created once and never freed (it must outlive the interpreter's module teardown).
  static py::object* type =
      new py::object(py::module_::import("collections")
                         .attr("namedtuple")("MaxMinResult", py::make_tuple("values", "indices"),
                                             py::arg("module") = "fastgrad"));
  return *type;
}

// PyTorch's max(x) / max(x, dim, keepdim) -> (values, indices) / max(x, other); NumPy's
// axis= keyword (an int or a tuple) gives the values only, as fg.amax.
py::object max_min(const Tensor& x, bool is_max, py::object axis, bool keepdims) {
  const char* op = is_max ? "max" : "min";
  if (py::isinstance<TensorImpl>(axis)) {
    Tensor o(axis.cast<TP>());
    return py::cast((is_max ? maximum(x, o) : minimum(x, o)).impl());
  }
  if (axis.is_none()) return py::cast((is_max ? amax(x, {}, keepdims) : amin(x, {}, keepdims)).impl());
  if (PyBool_Check(axis.ptr()) || !is_int_like(axis.ptr()) || py::isinstance<TensorImpl>(axis))
    throw TypeError(std::string(op) + ": dim must be an int (got " + std::string(py::repr(axis)) +
                    "); for several axes use fg.amax/fg.amin");
  const auto nd = static_cast<int64_t>(x.shape().size());
  int64_t a = py_int64(axis.ptr(), op);
  const int64_t lim = std::max<int64_t>(nd, 1);
  if (a < -lim || a >= lim)
    throw IndexError(std::string(op) + ": axis " + std::to_string(a) +
                     " is out of bounds for a tensor of shape " +
                     std::string(py::repr(shape_tuple(x.shape()))));
  if (nd == 0)
    return max_min_result()(py::cast(reshape(x, Shape{}).impl()),
                            py::cast(full_int({}, 0, DType::Int64).impl()));
  a = (a + nd) % nd;
  if (x.shape()[a] == 0)
    throw ValueError(std::string(op) + ": cannot reduce over the empty axis " + std::to_string(a) +
                     " of shape " + std::string(py::repr(shape_tuple(x.shape()))) + " (no identity)");
  Tensor idx = contiguous(is_max ? argmax(x, a, true) : argmin(x, a, true));
  // The flat position in x of each selected entry: index_select on the flattened x sends
  // the gradient to that entry only (first occurrence on ties and NaN, as PyTorch).
  const Shape& is = idx.shape();
  const int64_t n = idx.numel();
  Tensor lin = empty(Shape{n}, DType::Int64);
  const int64_t* ip = idx.data<int64_t>();
  int64_t* lp = lin.data<int64_t>();
  Shape coord(static_cast<size_t>(nd), 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t flat = 0;
    for (int64_t d = 0; d < nd; ++d) flat = flat * x.shape()[d] + (d == a ? ip[k] : coord[d]);
    lp[k] = flat;
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++coord[d] < is[d]) break;
      coord[d] = 0;
    }
  }
  Tensor values = reshape(index_select(reshape(x, Shape{-1}), 0, lin), is);
  if (!keepdims) {
    Shape out;
    for (int64_t d = 0; d < nd; ++d)
      if (d != a) out.push_back(x.shape()[d]);
    values = reshape(values, out);
    idx = reshape(idx, out);
  }
  return max_min_result()(py::cast(values.impl()), py::cast(idx.impl()));
}
// "mul" -> "MulBackward0", "log_softmax" -> "LogSoftmaxBackward0" (PyTorch's node names).
std::string backward_name(const std::string& prim) {
  std::string r;
  bool up = true;
  for (char c : prim) {
    if (c == '_') {
      up = true;
      continue;
    }
    r += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    up = false;
  }
  return r + "Backward0";
}

// PyTorch's layout: floats with 4 decimals (scientific when NumPy picks it), integer-valued
// floats as "1.", the dtype only when it is not the default of its kind (float32, int64,
// bool), the size of an empty tensor that is not 1-d.
std::string repr_tensor(const TP& t) {
  // Inside vmap: what torch.func prints, the level and batch axis around the physical value.
  if (t->bvalue)
    return "BatchedTensor(lvl=" + std::to_string(t->blevel) + ", bdim=" + std::to_string(t->bdim) +
           ", value=" + repr_tensor(t->bvalue) + ")";
  // Detached: printing a value inside a transform is not a conversion off the graph.
  py::object np = py::module_::import("numpy");
  py::object a = numpy_asarray(py::cast(detach(Tensor(t)).impl()));
  const int64_t n = shape_numel(t->shape);
  std::string body;
  if (n == 0) {
    body = "[]";
  } else {
    py::dict kw;
    kw["separator"] = ", ";
    kw["prefix"] = "tensor(";
    kw["threshold"] = 1000;
    kw["edgeitems"] = 3;
    if (is_floating(t->dtype)) {
      py::object finite = a.attr("__getitem__")(np.attr("isfinite")(a));
      const bool integral = np.attr("all")(np.attr("equal")(finite, np.attr("round")(finite))).cast<bool>();
      if (!integral) {
        kw["precision"] = 4;
        kw["floatmode"] = "fixed";
      }
    }
    body = np.attr("array2string")(a, **kw).cast<std::string>();
  }
  std::string r = "tensor(" + body;
  if (n == 0 && t->shape.size() != 1) r += ", size=" + std::string(py::repr(shape_tuple(t->shape)));
  if (t->dtype == DType::Float64 || (n == 0 && t->dtype != DType::Float32))
    r += std::string(", dtype=fastgrad.") + dtype_name(t->dtype);
  if (t->grad_fn)
    r += ", grad_fn=<" + backward_name(t->grad_fn->prim->name()) + ">";
  else if (t->requires_grad)
    r += ", requires_grad=True";
  return r + ")";
}
}  // namespace

void bind_protocol(py::module_& m, TensorClass& T) {
  // Registered before Tensor.__iter__ so its signature names the Python type.
  py::class_<RowIterator>(m, "_RowIterator", "Iterator over a tensor's rows (see Tensor.__iter__).")
      .def(
          "__iter__", [](py::object it) { return it; }, "iter(it) is it.")
      .def(
          "__next__",
          [](RowIterator& it) -> py::object {
            if (it.i >= it.n) throw py::stop_iteration();
            return it.x[py::int_(it.i++)];
          },
          "The next row.");

  m.attr("MaxMinResult") = max_min_result();
  static const char* max_doc =
      "(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor | MaxMinResult\n\nPyTorch's "
      "forms: %s(x) is the value (a 0-d tensor), %s(x, dim) the named tuple MaxMinResult(values, indices) "
      "over that axis (first occurrence on ties and NaN; the gradient flows to that entry only), %s(x, "
      "other) the elementwise %s. NumPy's %s(x, axis=...) (an int or a tuple) gives the values only, as "
      "fg.a%s. x: any shape; the reduced axes are dropped unless keepdim (or keepdims).";
  static std::string docs[2];
  for (int k = 0; k < 2; ++k) {
    const bool is_max = k == 0;
    const char* name = is_max ? "max" : "min";
    docs[k].resize(2048);
    docs[k].resize(static_cast<size_t>(std::snprintf(docs[k].data(), docs[k].size(), max_doc, name, name,
                                                     name, is_max ? "maximum" : "minimum", name, name)));
    docs[k] = std::string(name) + docs[k];
    def_op(
        m, T, name,
        [is_max, name](py::handle h, py::object dim, py::handle keepdim, py::object axis,
                       py::handle keepdims) {
          Tensor x = tensor_arg(h, name);
          const bool keep = keep_kw(name, keepdims, keepdim);
          if (!axis.is_none()) {
            either_kw(name, axis, "axis", dim, "dim");
            return py::cast((is_max ? amax(x, to_axes(axis), keep) : amin(x, to_axes(axis), keep)).impl());
          }
          return max_min(x, is_max, std::move(dim), keep);
        },
        py::arg("x"), py::arg("dim") = py::none(), py::arg("keepdim") = py::none(), py::kw_only(),
        py::arg("axis") = py::none(), py::arg("keepdims") = py::none(), docs[k].c_str());
  }
  T.def(
       "item", [](py::object self) { return item(self.cast<TP>(), self, ".item()"); },
       "item() -> float | int | bool\n\nThe value of a one-element tensor (any shape of size 1) as a Python "
       "number; ValueError otherwise.")
      .def(
          "__float__", [](const TP& t) { return py::float_(item(t, py::cast(t), "float()")); },
          "float(x) for a one-element tensor.")
      .def(
          "__int__",
          [](const TP& t) {
            // PyNumber_Long: a bool element becomes a plain int (py::int_ would keep the bool).
            py::object v = item(t, py::cast(t), "int()");
            return py::reinterpret_steal<py::object>(PyNumber_Long(v.ptr()));
          },
          "int(x) for a one-element tensor (floats truncate).")
      .def(
          "__bool__", [](const TP& t) { return PyObject_IsTrue(item(t, py::cast(t), "bool()").ptr()) == 1; },
          "bool(x) for a one-element tensor.")
      .def(
          "__index__",
          [](const TP& t) {
            if (t->dtype != DType::Int64) throw TypeError("only int64 scalars can be indices");
            return item(t, py::cast(t), ".item()");
          },
          "operator.index(x) for a one-element int64 tensor.")
      .def(
          "numpy",
          [](const TP& t) {
            py::object self = py::cast(t);
            check_conversion(self, ".numpy()");
            return numpy_asarray(self);
          },
          "numpy() -> numpy.ndarray\n\nA NumPy array sharing x's memory (same shape and dtype).")
      .def(
          "tolist",
          [](const TP& t) {
            py::object self = py::cast(t);
            check_conversion(self, ".tolist()");
            return numpy_asarray(self).attr("tolist")();
          },
          "tolist() -> list | number\n\nx as nested Python lists (a number for a 0-d tensor).")
      // NumPy calls __array__ only when the buffer protocol refused the tensor, which it
      // does (and NumPy swallows) for a value carrying a tracing transform's derivative:
      // raise here, where the error reaches the caller.
      .def(
          "__array__",
          [](const TP& t, py::object dtype, py::object) {
            if (t->bvalue) throw_batched_access(t.get());  // NumPy would fall back to iterating it
            py::object self = py::cast(t);
            py::module_::import("fastgrad._trace").attr("check_conversion")(self, "np.asarray/np.array");
            py::object a = numpy_asarray(py::cast(detach(Tensor(t)).impl()));
            return dtype.is_none() ? a : a.attr("astype")(dtype, py::arg("copy") = false);
          },
          py::arg("dtype") = py::none(), py::arg("copy") = py::none(),
          "__array__(dtype=None, copy=None) -> numpy.ndarray\n\nx as a NumPy array (same shape).")
      .def("__repr__", &repr_tensor,
           "repr(x) as PyTorch prints it: the values (4 decimals unless all are integers), the dtype "
           "when it is not the default one for its kind, the size of an empty tensor, grad_fn or "
           "requires_grad.")
      .def(
          "__iter__",
          [](py::object self) {
            TP t = self.cast<TP>();
            if (t->shape.empty()) throw TypeError("iteration over a 0-d tensor");
            return RowIterator{self, 0, t->shape[0]};
          },
          "iter(x): the rows x[0], x[1], ... (views).")
      .def_property_readonly(
          "T",
          [](const TP& t) {
            Axes p(t->shape.size());
            for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<int64_t>(p.size() - 1 - i);
            return permute(Tensor(t), p).impl();
          },
          "x with all axes reversed (a view): (a, b, c) -> (c, b, a).")
      .def_property_readonly(
          "mT", [](const TP& t) { return transpose(Tensor(t), -2, -1).impl(); },
          "x with its last two axes swapped (a view): (..., m, n) -> (..., n, m).")
      .def(
          "requires_grad_",
          [](py::object self, bool requires_grad) {
            self.attr("requires_grad") = requires_grad;  // the property's rules apply
            return self;
          },
          py::arg("requires_grad") = true,
          "requires_grad_(requires_grad=True) -> Tensor\n\nSets requires_grad in place and returns x.");
  T.attr("__str__") = T.attr("__dict__")["__repr__"];
  T.attr("__array_ufunc__") = py::none();  // NumPy defers to Tensor's reflected operators
  T.attr("__array_priority__") = 1000;
}
}  // namespace fastgrad::bindings
