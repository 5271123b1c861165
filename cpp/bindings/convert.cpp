// Python values -> fastgrad values; see convert.h.
#include "convert.h"

#include "fastgrad/random.h"

namespace fastgrad::bindings {
int& trace_depth() {
  thread_local int depth = 0;
  return depth;
}

// A Python int with a float tensor is that float (correctly rounded, as NumPy); with an
// int64/bool tensor it is an exact int64 (OverflowError outside int64), never a double.
double py_double(PyObject* o, const std::string& op) {
  const double v = PyLong_Check(o) ? PyLong_AsDouble(o) : PyFloat_AsDouble(o);
  if (v == -1.0 && PyErr_Occurred()) {
    const bool overflow = PyErr_ExceptionMatches(PyExc_OverflowError);
    PyErr_Clear();
    if (overflow) throw OverflowError(op + ": Python int is too large to convert to a float");
    throw TypeError(op + ": expected a number, got " + Py_TYPE(o)->tp_name);
  }
  return v;
}

Tensor to_tensor(py::handle h, const Tensor& like, const char* op) {
  if (py::isinstance<TensorImpl>(h)) return Tensor(h.cast<TP>());
  if (PyFloat_Check(h.ptr()))  // a Python float makes integer tensors float (NumPy, PyTorch)
    return scalar(PyFloat_AsDouble(h.ptr()), is_floating(like.dtype()) ? like.dtype() : DType::Float32);
  if (PyBool_Check(h.ptr())) return scalar_int(h.ptr() == Py_True ? 1 : 0, like.dtype());
  if (PyLong_Check(h.ptr())) {
    if (is_floating(like.dtype())) return scalar(py_double(h.ptr(), op), like.dtype());
    return scalar_int(py_int64(h.ptr(), op), DType::Int64);  // bool + 2 is 3 (int64), as PyTorch
  }
  py::array a = gil::calling_python([&] { return py::array::ensure(h); });
  if (!a)
    throw TypeError("expected a Tensor, a number or an array, got " +
                    std::string(py::str(py::type::handle_of(h))));
  DType d = np_to_dtype(a.dtype(), "operand");
  if (is_floating(like.dtype()) && !is_floating(d)) d = like.dtype();
  return Tensor(from_array_copy(a, d));
}

Tensor convert_arg(py::handle h, const char* op, const char* arg) {
  auto bad = [&](const std::string& why) {
    return TypeError(std::string(op) + ": argument '" + arg +
                     "' must be a Tensor or an array-like of numbers, got " + Py_TYPE(h.ptr())->tp_name +
                     " (" + why + ")");
  };
  if (h.is_none()) throw bad("None");
  if (PyFloat_Check(h.ptr())) return scalar(PyFloat_AsDouble(h.ptr()), DType::Float32);
  if (PyBool_Check(h.ptr())) return scalar_int(h.ptr() == Py_True ? 1 : 0, DType::Bool);
  if (PyLong_Check(h.ptr())) return scalar_int(py_int64(h.ptr(), op), DType::Int64);
  // Anything else is data: it converts exactly as fg.tensor(data) does (one set of rules:
  // nested Python floats are float32, ints outside int64 raise, ragged data is refused), with
  // the op and argument named in the error.
  try {
    py::object t =
        gil::calling_python([&] { return py::module_::import("fastgrad._tensor").attr("tensor")(h); });
    return Tensor(t.cast<TP>());
  } catch (py::error_already_set& e) {
    if (e.matches(PyExc_OverflowError))
      throw OverflowError(std::string(op) + ": argument '" + arg + "': " + e.what());
    if (e.matches(PyExc_TypeError) || e.matches(PyExc_ValueError)) throw bad(e.what());
    throw;
  }
}

std::pair<Tensor, Tensor> tensor_pair(py::handle a, py::handle b, const char* op) {
  py::detail::make_caster<TP> ca, cb;
  if (ca.load(a, false)) {
    Tensor A(py::detail::cast_op<TP>(std::move(ca)));
    return {A, to_tensor(b, A, op)};
  }
  if (cb.load(b, false)) {
    Tensor B(py::detail::cast_op<TP>(std::move(cb)));
    return {to_tensor(a, B, op), B};
  }
  return {convert_arg(a, op, "a"), convert_arg(b, op, "b")};
}

std::vector<int64_t> int_seq(py::handle h, const char* op, const char* arg) {
  if (!py::isinstance<py::sequence>(h) || py::isinstance<py::str>(h))
    throw TypeError(std::string(op) + ": " + arg + " must be a sequence of ints, got " +
                    Py_TYPE(h.ptr())->tp_name);
  std::vector<int64_t> r;
  for (auto v : py::reinterpret_borrow<py::sequence>(h)) {
    if (PyFloat_Check(v.ptr()) || !PyIndex_Check(v.ptr()))
      throw TypeError(std::string(op) + ": " + arg + " entries must be ints, got " +
                      Py_TYPE(v.ptr())->tp_name);
    r.push_back(py_int64(v.ptr(), op));
  }
  return r;
}

Tensors tensor_list(py::handle xs, const char* op) {
  if (!py::isinstance<py::sequence>(xs) || py::isinstance<py::str>(xs))
    throw TypeError(std::string(op) + ": expected a sequence of tensors, got " + Py_TYPE(xs.ptr())->tp_name);
  Tensors r;
  for (auto h : py::reinterpret_borrow<py::sequence>(xs)) r.push_back(tensor_arg(h, op, "xs"));
  if (r.empty()) throw ValueError(std::string(op) + ": expected a non-empty sequence of tensors");
  return r;
}

std::vector<int64_t> dims_arg(const py::args& args, const char* op, const char* arg) {
  if (args.size() == 1 && (PyTuple_Check(args[0].ptr()) || PyList_Check(args[0].ptr())))
    return int_seq(args[0], op, arg);
  return int_seq(args, op, arg);
}

// A Python int/bool or an integer-like object (NumPy integer, 0-d int64 Tensor), not a float.
bool is_int_like(PyObject* o) {
  if (PyLong_Check(o)) return true;
  if (PyFloat_Check(o)) return false;
  if (PyObject_TypeCheck(o, reinterpret_cast<PyTypeObject*>(py::type::of<TensorImpl>().ptr())))
    return py::handle(o).cast<TP>()->dtype == DType::Int64 || py::handle(o).cast<TP>()->dtype == DType::Bool;
  return PyIndex_Check(o);
}

// A tensor of `shape` filled with the Python number `v`: ints exactly for integer dtypes,
// floats through full's range check.
Tensor filled(const Shape& shape, py::handle v, DType d, const char* op) {
  if (is_int_like(v.ptr()) && !is_floating(d)) {
    const int64_t iv = py_int64(v.ptr(), op);
    return full_int(shape, iv, d);
  }
  const double dv = py_double(v.ptr(), op);
  return full(shape, dv, d);
}

Axes to_axes(const py::object& axis) {
  Axes r;
  if (axis.is_none()) return r;
  if (py::isinstance<py::int_>(axis)) return {py_int64(axis.ptr(), "axis")};
  if (!py::isinstance<py::tuple>(axis) && !py::isinstance<py::list>(axis))
    throw TypeError("axis must be None, an int or a tuple of ints, got " +
                    std::string(py::str(py::type::handle_of(axis))));
  for (auto a : axis)
    if (!py::isinstance<py::int_>(a))
      throw TypeError("axis entries must be ints, got " + std::string(py::str(py::type::handle_of(a))));
  for (auto a : axis) r.push_back(py_int64(a.ptr(), "axis"));
  if (r.empty()) throw ValueError("empty axis tuple");
  return r;
}

py::object either_kw(const char* op, py::handle a, const char* a_name, py::handle b, const char* b_name) {
  if (!a.is_none() && !b.is_none())
    throw TypeError(std::string(op) + ": got both " + a_name + "= and " + b_name + "= (two names of one " +
                    "argument, NumPy's and PyTorch's); pass only one");
  return py::reinterpret_borrow<py::object>(a.is_none() ? b : a);
}

bool keep_kw(const char* op, py::handle keepdims, py::handle keepdim) {
  py::object k = either_kw(op, keepdims, "keepdims", keepdim, "keepdim");
  if (k.is_none()) return false;
  const int v = PyObject_IsTrue(k.ptr());
  if (v < 0) throw py::error_already_set();
  return v == 1;
}

int64_t axis_kw(const char* op, py::handle axis, py::handle dim, std::optional<int64_t> dflt) {
  py::object a = either_kw(op, axis, "axis", dim, "dim");
  if (a.is_none()) {
    if (!dflt) throw TypeError(std::string(op) + ": missing the axis (dim=) argument");
    return *dflt;
  }
  if (PyBool_Check(a.ptr()) || !is_int_like(a.ptr()))
    throw TypeError(std::string(op) + ": dim must be an int, got " + std::string(py::repr(a)));
  return py_int64(a.ptr(), op);
}

py::tuple shape_tuple(const Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = py::int_(s[i]);
  return t;
}

std::vector<TP> to_ptrs(const Tensors& v) {
  std::vector<TP> r;
  for (auto& t : v) r.push_back(t.impl());
  return r;
}

Activation to_activation(const std::string& a, const char* op) {
  if (a == "none") return Activation::None;
  if (a == "relu") return Activation::Relu;
  if (a == "tanh") return Activation::Tanh;
  if (a == "sigmoid") return Activation::Sigmoid;
  throw ValueError(std::string(op) + ": activation must be 'none', 'relu', 'tanh' or 'sigmoid', got '" + a +
                   "'");
}
DType dtype_arg(py::handle h, const char* op) {
  if (!py::isinstance<DType>(h))
    throw TypeError(std::string(op) +
                    ": dtype must be a fastgrad dtype (fg.float32, fg.float64, fg.int64, fg.bool), got " +
                    std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  return h.cast<DType>();
}
Generator* generator_arg(py::handle h, const char* op) {
  if (h.is_none()) return nullptr;
  if (!py::isinstance<Generator>(h))
    throw TypeError(std::string(op) + ": generator must be a fastgrad.Generator or None, got " +
                    Py_TYPE(h.ptr())->tp_name);
  return h.cast<Generator*>();
}

DType dtype_from(const py::args& a, const py::kwargs& kw) {
  if (a.size() != 1 || !kw.empty())
    throw TypeError(
        "dtype(): takes one argument (a name such as 'float32', a NumPy dtype or a fastgrad dtype), "
        "got " +
        std::to_string(a.size()) + " positional and " + std::to_string(kw.size()) + " keyword");
  py::handle h = a[0];
  if (py::isinstance<DType>(h)) return h.cast<DType>();
  std::string name;
  if (!h.is_none()) {  // np.dtype(None) is float64: not a spelling of a dtype
    try {
      name = py::str(py::module_::import("numpy").attr("dtype")(h).attr("name"));
    } catch (py::error_already_set&) {}
  }
  for (DType d : {DType::Float32, DType::Float64, DType::Int64, DType::Bool})
    if (name == dtype_name(d)) return d;
  throw TypeError("dtype(): cannot make a fastgrad dtype from " + std::string(py::repr(h)).substr(0, 80) +
                  " (fastgrad has float32, float64, int64 and bool)");
}

}  // namespace fastgrad::bindings
