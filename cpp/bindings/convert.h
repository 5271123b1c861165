// Shared by the binding files: how Python values become fastgrad values (ints exactly,
// numbers by the tensor's dtype, array-likes copied), the pybind11 casters every binding
// uses, and the bind_* entry points module.cpp calls, one per topic file.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "gil.h"
#include "fastgrad/autodiff.h"
#include "fastgrad/ops.h"
#include "fastgrad/parallel.h"

namespace py = pybind11;

namespace fastgrad {
// A tensor argument that may be None (bias=None, grad=None); plain tensor arguments
// reject None, so no binding ever sees a null tensor.
struct OptTensor {
  TensorPtr p;
};
// A Python int outside int64 where fastgrad needs one; raised as Python's OverflowError.
struct OverflowError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The int64 value of a Python int (or an object with __index__: NumPy integers, 0-d
// int64 Tensors); OverflowError naming `op` when it does not fit. Never returns with a
// Python error set (PyLong_AsLongLong's -1 + exception was the SystemError of old).
inline int64_t py_int64(PyObject* o, const std::string& op) {
  PyObject* idx = PyNumber_Index(o);
  if (!idx) {
    PyErr_Clear();
    throw TypeError(op + ": expected an integer, got " + Py_TYPE(o)->tp_name);
  }
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
  if (overflow) {
    PyObject* r = PyObject_Str(idx);
    std::string txt = r ? PyUnicode_AsUTF8(r) : "?";
    Py_XDECREF(r);
    Py_DECREF(idx);
    PyErr_Clear();
    throw OverflowError(op + ": Python int " + txt + " is outside the int64 range [-2**63, 2**63 - 1]");
  }
  Py_DECREF(idx);
  if (v == -1 && PyErr_Occurred()) {
    PyErr_Clear();
    throw TypeError(op + ": expected an integer, got " + Py_TYPE(o)->tp_name);
  }
  return static_cast<int64_t>(v);
}
}  // namespace fastgrad

namespace pybind11::detail {
// Every int64 argument of every binding (sizes, axes, counts, seeds): a Python int that
// does not fit raises OverflowError instead of pybind11's "incompatible arguments"
// TypeError. Floats are still rejected (no silent truncation); other objects keep
// pybind11's rules.
template <>
class type_caster<int64_t> {
  using Other = std::conditional_t<std::is_same_v<int64_t, long>, long long, long>;

 public:
  PYBIND11_TYPE_CASTER(int64_t, io_name("typing.SupportsInt | typing.SupportsIndex", "int"));
  bool load(handle src, bool convert) {
    if (!src || PyFloat_Check(src.ptr())) return false;
    if (PyLong_Check(src.ptr()) || PyIndex_Check(src.ptr())) {
      value = fastgrad::py_int64(src.ptr(), "integer argument");
      return true;
    }
    type_caster<Other> inner;
    if (!inner.load(src, convert)) return false;
    value = static_cast<int64_t>(static_cast<Other>(inner));
    return true;
  }
  static handle cast(int64_t v, return_value_policy, handle) { return PyLong_FromLongLong(v); }
};

// fastgrad::Shape converts like a list of ints.
template <>
struct type_caster<fastgrad::Shape> : list_caster<fastgrad::Shape, int64_t> {
  bool load(handle src, bool convert) {
    // An entry outside int64 is an OverflowError that names the shape.
    if (PyList_Check(src.ptr()) || PyTuple_Check(src.ptr()))
      for (auto it : reinterpret_borrow<sequence>(src))
        if (PyLong_Check(it.ptr())) fastgrad::py_int64(it.ptr(), "shape");
    return list_caster<fastgrad::Shape, int64_t>::load(src, convert);
  }
};

template <>
class type_caster<std::shared_ptr<fastgrad::TensorImpl>>
    : public copyable_holder_caster<fastgrad::TensorImpl, std::shared_ptr<fastgrad::TensorImpl>> {
  using Base = copyable_holder_caster<fastgrad::TensorImpl, std::shared_ptr<fastgrad::TensorImpl>>;

 public:
  bool load(handle src, bool convert) { return !src.is_none() && Base::load(src, convert); }
};

template <>
struct type_caster<fastgrad::OptTensor> {
  PYBIND11_TYPE_CASTER(fastgrad::OptTensor, const_name("Optional[Tensor]"));
  bool load(handle src, bool convert) {
    if (src.is_none()) {
      value.p = nullptr;
      return true;
    }
    make_caster<std::shared_ptr<fastgrad::TensorImpl>> c;
    if (!c.load(src, convert)) return false;
    value.p = cast_op<std::shared_ptr<fastgrad::TensorImpl>>(std::move(c));
    return true;
  }
  static handle cast(const fastgrad::OptTensor& v, return_value_policy, handle) {
    return v.p ? make_caster<std::shared_ptr<fastgrad::TensorImpl>>::cast(v.p, return_value_policy::automatic,
                                                                          {})
               : none().release();
  }
};
}  // namespace pybind11::detail
using namespace fastgrad;

namespace fastgrad::bindings {
using TP = TensorPtr;
using TensorClass = py::class_<TensorImpl, TensorPtr>;

// How many transforms are tracing a function in this thread (set by fastgrad._trace):
// the buffer protocol and DLPack export check conversions only then (free otherwise).
int& trace_depth();

// NumPy interop (interop_numpy.cpp).
DType np_to_dtype(const py::dtype& dt, const char* op);
py::dtype dtype_to_np(DType d);
void canonical_bools(uint8_t* p, int64_t n, int64_t stride, bool readonly, const char* op);
TP from_numpy(py::array arr);
TP from_array_copy(py::array arr, std::optional<DType> dtype);

// Python numbers and array-likes (convert.cpp).
double py_double(PyObject* o, const std::string& op);
Tensor to_tensor(py::handle h, const Tensor& like, const char* op = "operand");
bool is_int_like(PyObject* o);
Tensor filled(const Shape& shape, py::handle v, DType d, const char* op);
inline bool is_number(py::handle h) {
  return PyFloat_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyBool_Check(h.ptr());
}
inline double number(py::handle h, const char* op) { return py_double(h.ptr(), op); }
Axes to_axes(const py::object& axis);
// PyTorch and NumPy name some arguments differently (dim/axis, keepdim/keepdims,
// start_dim/start): a binding takes both, each defaulting to None, and resolves them here
// (the one mechanism, so every op reports a clash the same way). Returns whichever was
// given (None when neither); both given is a TypeError naming the op and both names.
py::object either_kw(const char* op, py::handle a, const char* a_name, py::handle b, const char* b_name);
// keepdims= / keepdim=: false unless one is given.
bool keep_kw(const char* op, py::handle keepdims, py::handle keepdim);
// axis= / dim= as fastgrad Axes (None: every axis).
inline Axes axes_kw(const char* op, py::handle axis, py::handle dim) {
  // PyTorch's dim=() / dim=[] reduce every axis (NumPy's axis=() would reduce none).
  if (axis.is_none() && (PyTuple_Check(dim.ptr()) || PyList_Check(dim.ptr())) && py::len(dim) == 0) return {};
  return to_axes(either_kw(op, axis, "axis", dim, "dim"));
}
// A single int axis= / dim=; `dflt` when neither is given (TypeError naming the op if none).
int64_t axis_kw(const char* op, py::handle axis, py::handle dim, std::optional<int64_t> dflt);
// A dtype= argument: a fastgrad dtype (TypeError naming the op otherwise).
DType dtype_arg(py::handle h, const char* op);
// fg.dtype(x): x a fastgrad dtype, a name or anything np.dtype accepts (TypeError otherwise).
DType dtype_from(const py::args& a, const py::kwargs& kw);
// generator=: None is the global generator (nullptr), else a fastgrad.Generator (TypeError).
Generator* generator_arg(py::handle h, const char* op);
py::tuple shape_tuple(const Shape& s);
inline Tensors to_tensors(const std::vector<TP>& v) { return Tensors(v.begin(), v.end()); }
std::vector<TP> to_ptrs(const Tensors& v);
Activation to_activation(const std::string& a, const char* op);

// The tensor argument `arg` of op `op`: a Tensor passes through (the fast path, one type
// check); numbers and array-likes are copied with fg.tensor's rules (Python floats ->
// float32, NumPy arrays keep their dtype); anything else is a TypeError naming the op and
// the argument. The one conversion of every public op's tensor arguments.
Tensor convert_arg(py::handle h, const char* op, const char* arg);
inline Tensor tensor_arg(py::handle h, const char* op, const char* arg = "x") {
  py::detail::make_caster<TP> c;
  if (c.load(h, false)) return Tensor(py::detail::cast_op<TP>(std::move(c)));
  return convert_arg(h, op, arg);
}
// Two operands of a binary op: a non-Tensor one converts like the Tensor one (a Python
// number takes the tensor's float dtype, as in `t + 1.0`).
std::pair<Tensor, Tensor> tensor_pair(py::handle a, py::handle b, const char* op);
// A sequence of tensors (concat, stack): each converts as tensor_arg; empty is a ValueError.
Tensors tensor_list(py::handle xs, const char* op);
// A shape given as *dims or as one sequence (x.reshape(2, 3) / x.reshape((2, 3))).
std::vector<int64_t> dims_arg(const py::args& args, const char* op, const char* arg = "shape");
// A sequence of ints (TypeError naming op and arg otherwise; OverflowError outside int64).
std::vector<int64_t> int_seq(py::handle h, const char* op, const char* arg);

// Registers ONE callable as both fg.<name> (module function) and Tensor.<name> (the same
// function object wrapped as an instance method, so `Tensor.exp is fg.exp` and x.exp()
// calls it with x first). The first parameter is the tensor; `extra` are py::arg()s for
// all parameters, including the first, and the docstring.
template <typename F, typename... Extra>
void def_op(py::module_& m, TensorClass& T, const char* name, F&& f, const Extra&... extra) {
  py::cpp_function cf(std::forward<F>(f), py::name(name), py::scope(m), extra...);
  m.add_object(name, cf, /*overwrite=*/true);
  T.attr(name) = py::reinterpret_steal<py::object>(PyInstanceMethod_New(cf.ptr()));
}
// A method-only binding given as a plain function (Tensor.view = Tensor.reshape, ...).
inline void def_method_alias(TensorClass& T, const char* alias, const char* name) {
  T.attr(alias) = T.attr("__dict__")[name];
}

// Python-number-aware binary op: t op other / other op t.
template <typename FT, typename FS>
TP binop(const TP& a, py::handle b, const char* op, FT ft, FS fs) {
  Tensor A(a);
  if (is_number(b) && is_floating(A.dtype())) return fs(A, number(b, op)).impl();
  Tensor B = to_tensor(b, A, op);
  return ft(A, B).impl();
}

// One per topic file; module.cpp calls them in this order.
void bind_runtime(py::module_& m);
void bind_tensor(py::module_& m, TensorClass& T);
void bind_operators(py::module_& m, TensorClass& T);
void bind_protocol(py::module_& m, TensorClass& T);
void bind_index(py::module_& m, TensorClass& T);
void bind_numpy(py::module_& m, TensorClass& T);
void bind_dlpack(py::module_& m, TensorClass& T);
void bind_factories(py::module_& m);
void bind_math(py::module_& m, TensorClass& T);
void bind_shape(py::module_& m, TensorClass& T);
void bind_layers(py::module_& m);
void bind_optim(py::module_& m);
void bind_autograd(py::module_& m, TensorClass& T);
void bind_nn_ops(py::module_& m);
void bind_linalg(py::module_& m, TensorClass& T);
void bind_linalg2(py::module_& m, TensorClass& T);  // ops_linalg2.cpp: fg.linalg decompositions, norms
void bind_select(py::module_& m, TensorClass& T);
void bind_select_sort(py::module_& m, TensorClass& T);   // ops_select2.cpp
void bind_select_shape(py::module_& m, TensorClass& T);  // ops_select3.cpp
void bind_unary(py::module_& m, TensorClass& T);
void bind_unary2(py::module_& m, TensorClass& T);  // ops_unary2.cpp, called by bind_unary
// clip/clamp/clamp_min/clamp_max: number bounds (clip, clip_int) or tensor bounds (clamp_tensor).
TP clamp_binding(py::handle x, py::handle lo, py::handle hi, const char* op);
void bind_spatial(py::module_& m, TensorClass& T);
void bind_methods(py::module_& m, TensorClass& T);
void bind_shape2(py::module_& m, TensorClass& T);   // ops_shape2.cpp (derived shape ops)
void bind_shape3(py::module_& m, TensorClass& T);   // ops_shape3.cpp (predicates, stacking, splitting)
void bind_shape4(py::module_& m, TensorClass& T);   // ops_shape4.cpp (*_copy ops, real-tensor no-ops)
void bind_shape2(py::module_& m, TensorClass& T);   // ops_shape2.cpp (derived shape ops)
void bind_reduce2(py::module_& m, TensorClass& T);  // ops_reduce2.cpp (composite reductions, linalg)
}  // namespace fastgrad::bindings
