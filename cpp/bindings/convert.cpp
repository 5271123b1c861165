// Python values -> fastgrad values; see convert.h.
#include "convert.h"

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
// A work estimate (element count) for gil::kernel from a length computed in double:
// NaN and negatives are no work, anything huge saturates (the factory itself rejects it).
int64_t factory_work(double len) {
  if (!(len > 0)) return 0;
  return len < 4.0e18 ? static_cast<int64_t>(len) : int64_t(4) << 60;
}
// Same for a shape not yet validated (its int64 product may overflow).
int64_t factory_work(const Shape& s) {
  double n = 1;
  for (auto d : s) n *= static_cast<double>(d);
  return factory_work(n);
}

Tensor filled(const Shape& shape, py::handle v, DType d, const char* op) {
  if (is_int_like(v.ptr()) && !is_floating(d)) {
    const int64_t iv = py_int64(v.ptr(), op);
    return gil::kernel(factory_work(shape), [&] { return full_int(shape, iv, d); });
  }
  const double dv = py_double(v.ptr(), op);
  return gil::kernel(factory_work(shape), [&] { return full(shape, dv, d); });
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
}  // namespace fastgrad::bindings
