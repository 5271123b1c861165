// Tensor.__getitem__ / __setitem__: the Python key becomes an IndexKey and the C++
// indexing API (cpp/src/ops/index.cpp) does the rest.
#include "convert.h"

namespace fastgrad::bindings {
namespace {
std::string type_name(py::handle h) { return py::str(py::type::handle_of(h).attr("__name__")); }

// Integer or boolean array-likes (lists, NumPy arrays) used as indices, as fg tensors.
Tensor index_array(py::handle k) {
  py::array a =
      gil::calling_python([&] { return py::module_::import("numpy").attr("asarray")(k).cast<py::array>(); });
  const char kind = a.dtype().kind();
  if (kind == 'b') return Tensor(from_array_copy(a, DType::Bool));
  if (a.size() == 0 || kind == 'i' || kind == 'u')
    return Tensor(from_array_copy(a.attr("astype")("int64").cast<py::array>(), DType::Int64));
  throw IndexError("arrays used as indices must be integer or bool, got " + std::string(py::str(a.dtype())));
}

IndexItem index_item(py::handle k) {
  PyObject* o = k.ptr();
  if (o == Py_None) return IndexItem::newaxis();
  if (o == Py_Ellipsis) return IndexItem::ellipsis();
  if (PySlice_Check(o)) {
    Py_ssize_t start = 0, stop = 0, step = 0;
    if (PySlice_Unpack(o, &start, &stop, &step) < 0) throw py::error_already_set();  // step 0: ValueError
    return IndexItem::range(start, stop, step);
  }
  if (PyLong_Check(o)) return IndexItem::integer(py_int64(o, "index"));  // bool included, as before
  py::detail::make_caster<TP> c;
  if (c.load(k, false)) return IndexItem::tensor(Tensor(py::detail::cast_op<TP>(std::move(c))));
  if (PyList_Check(o) || py::isinstance<py::array>(k)) return IndexItem::tensor(index_array(k));
  if (PyIndex_Check(o) && !PyBool_Check(o)) {  // NumPy integers
    PyObject* i = PyNumber_Index(o);
    if (i) {
      Py_DECREF(i);
      return IndexItem::integer(py_int64(o, "index"));
    }
    PyErr_Clear();
  }
  throw IndexError("unsupported index type " + type_name(k));
}

IndexKey index_key(py::handle key) {
  IndexKey out;
  if (PyTuple_Check(key.ptr())) {
    out.reserve(PyTuple_GET_SIZE(key.ptr()));
    for (py::handle k : py::reinterpret_borrow<py::tuple>(key)) out.push_back(index_item(k));
  } else {
    out.push_back(index_item(key));
  }
  return out;
}
}  // namespace

void bind_index(py::module_&, TensorClass& T) {
  T.def(
      "__getitem__", [](const TP& a, py::handle key) { return index(Tensor(a), index_key(key)).impl(); },
      py::arg("key"),
      "x[key] -> Tensor\n\nNumPy indexing, differentiable in x: ints (negative from the end), slices with "
      "positive steps, None (a new axis of size 1), Ellipsis, int64 index tensors/arrays/lists "
      "(broadcast together; their axes replace the indexed ones in place when adjacent, else go first) "
      "and bool masks. Basic indices give views of x's memory.");
  T.def(
      "__setitem__",
      [](const TP& a, py::handle key, py::handle value) {
        Tensor A(a);
        const IndexKey k = index_key(key);
        // A Python float into an integer tensor is cast (truncated) from double, as NumPy.
        Tensor V = PyFloat_Check(value.ptr()) && !is_floating(A.dtype())
                       ? scalar(PyFloat_AsDouble(value.ptr()), DType::Float64)
                       : to_tensor(value, A, "__setitem__");
        gil::in_place({&A, &V}, [&] { index_put_(A, k, V); });
      },
      py::arg("key"), py::arg("value"),
      "x[key] = value\n\nWrites value (a Tensor, number or array-like, broadcast to x[key]'s shape and "
      "cast to x's dtype) at the positions x[key] selects, in place (bumps x's version; repeated "
      "positions: the last write wins). Keys as for __getitem__, plus negative slice steps. With "
      "gradients recorded it is an in-place op on the tape, differentiable in x and value.");
}
}  // namespace fastgrad::bindings
