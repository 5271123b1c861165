// pybind11 bindings: thin, no mathematics. Tensors cross as shared_ptr<TensorImpl> so a
// Python object keeps its identity (x.grad is x.grad). The GIL is released around
// kernels that are big enough for it to matter.
#include <omp.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

#include "dlpack.h"
#include "gil.h"
#include "fastgrad/autodiff.h"
#include "fastgrad/ops.h"
#include "fastgrad/parallel.h"
#include "fastgrad/kernels/dispatch.h"
#include "fastgrad/kernels/optim.h"

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

namespace {

using TP = TensorPtr;

// How many transforms are tracing a function in this thread (set by fastgrad._trace):
// the buffer protocol checks conversions only then, so it costs nothing otherwise.
thread_local int tl_trace_depth = 0;

DType np_to_dtype(const py::dtype& dt, const char* op) {
  char k = dt.kind();
  size_t s = dt.itemsize();
  if (k == 'f' && s == 4) return DType::Float32;
  if (k == 'f' && s == 8) return DType::Float64;
  if ((k == 'i' || k == 'u') && s <= 8) return DType::Int64;
  if (k == 'b') return DType::Bool;
  throw TypeError(std::string(op) + ": unsupported NumPy dtype " + std::string(py::str(dt)));
}
py::dtype dtype_to_np(DType d) {
  switch (d) {
    case DType::Float32:
      return py::dtype::of<float>();
    case DType::Float64:
      return py::dtype::of<double>();
    case DType::Int64:
      return py::dtype::of<int64_t>();
    case DType::Bool:
      return py::dtype::of<bool>();
  }
  return py::dtype::of<float>();
}

// A bool element is one byte that fastgrad's kernels read as 0 or 1. Foreign bytes that
// are neither (a uint8 array viewed as bool, np.frombuffer, a damaged checkpoint) would
// make sum() count 258 and masks select garbage, so every entry path normalises them:
// copies are fixed in the copy, shared writable memory is rewritten in place (nonzero ->
// 1, which changes no bool value), and shared read-only memory that needs it is refused.
void canonical_bools(uint8_t* p, int64_t n, int64_t stride, bool readonly, const char* op) {
  bool bad = false;
  for (int64_t i = 0; i < n && !bad; ++i) bad = p[i * stride] > 1;
  if (!bad) return;
  if (readonly)
    throw ValueError(std::string(op) +
                     ": read-only bool memory holds bytes other than 0/1 and cannot be shared; "
                     "copy it with fg.tensor(...) (which normalises them)");
  for (int64_t i = 0; i < n; ++i) p[i * stride] = p[i * stride] != 0;
}

// Shares the array's memory (C-contiguous float32/float64/int64/bool only).
TP from_numpy(py::array arr) {
  DType d = np_to_dtype(arr.dtype(), "from_numpy");
  if (arr.dtype().kind() == 'u' || (arr.dtype().kind() == 'i' && arr.itemsize() != 8))
    throw TypeError("from_numpy: only int64 integers can share memory, got " +
                    std::string(py::str(arr.dtype())));
  if (!(arr.flags() & py::array::c_style))
    throw ValueError(
        "from_numpy: array must be C-contiguous to share memory (got strides " +
        std::string(py::str(py::cast(std::vector<py::ssize_t>(arr.strides(), arr.strides() + arr.ndim())))) +
        "); use fg.tensor(a) to copy");
  if (arr.dtype().byteorder() == '>') throw TypeError("from_numpy: non-native byte order");
  if (d == DType::Bool)
    canonical_bools(static_cast<uint8_t*>(const_cast<void*>(arr.data())), arr.size(), 1, !arr.writeable(),
                    "from_numpy");
  auto holder = std::shared_ptr<void>(new py::object(arr), [](void* p) {
    gil::with_gil_or_leak([p] { delete static_cast<py::object*>(p); });
  });
  auto t = std::make_shared<TensorImpl>();
  t->storage = Storage::wrap(const_cast<void*>(arr.data()), static_cast<size_t>(arr.nbytes()), holder);
  t->storage->readonly = !arr.writeable();
  t->shape.assign(arr.shape(), arr.shape() + arr.ndim());
  t->strides = contiguous_strides(t->shape);
  t->dtype = d;
  return t;
}

// Copies any array-like (casting to `dtype` when given).
TP from_array_copy(py::array arr, std::optional<DType> dtype) {
  return gil::calling_python([&] {  // astype may release the GIL (see gil.h)
    DType d = dtype ? *dtype : np_to_dtype(arr.dtype(), "tensor");
    const char kind = arr.dtype().kind();
    // Floats become int64 through fastgrad's own cast, so NaN/inf/out-of-range values
    // saturate as documented instead of NumPy's platform-dependent INT64_MIN.
    if (d == DType::Int64 && kind == 'f') {
      Tensor f(
          from_array_copy(py::array::ensure(arr.attr("astype")(py::dtype::of<double>())), DType::Float64));
      GradModeGuard g(false);
      return cast(f, DType::Int64).impl();
    }
    py::array c = py::array::ensure(arr.attr("astype")(dtype_to_np(d)), py::array::c_style);
    if (!c) throw TypeError("tensor: could not convert data");
    Tensor t = empty(Shape(c.shape(), c.shape() + c.ndim()), d);
    std::memcpy(t.raw(), c.data(), static_cast<size_t>(c.nbytes()));
    if (d == DType::Bool) canonical_bools(static_cast<uint8_t*>(t.raw()), t.numel(), 1, false, "tensor");
    if (d == DType::Int64 && kind == 'u' && arr.itemsize() == 8) {
      // uint64 values >= 2**63 wrapped to negatives in astype: refuse them.
      const int64_t* p = t.data<int64_t>();
      for (int64_t i = 0; i < t.numel(); ++i)
        if (p[i] < 0)
          throw OverflowError("tensor: uint64 value " + std::to_string(static_cast<uint64_t>(p[i])) +
                              " is outside the int64 range [-2**63, 2**63 - 1]");
    }
    return t.impl();
  });
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

Tensor to_tensor(py::handle h, const Tensor& like, const char* op = "operand") {
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

bool is_number(py::handle h) {
  return PyFloat_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyBool_Check(h.ptr());
}
double number(py::handle h, const char* op) { return py_double(h.ptr(), op); }

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

// Python-number-aware binary op: t op other / other op t.
template <typename FT, typename FS>
TP binop(const TP& a, py::handle b, const char* op, FT ft, FS fs) {
  Tensor A(a);
  if (is_number(b) && is_floating(A.dtype())) return fs(A, number(b, op)).impl();
  Tensor B = to_tensor(b, A, op);
  return ft(A, B).impl();
}

Tensors to_tensors(const std::vector<TP>& v) { return Tensors(v.begin(), v.end()); }
std::vector<TP> to_ptrs(const Tensors& v) {
  std::vector<TP> r;
  for (auto& t : v) r.push_back(t.impl());
  return r;
}

// Fills a DLTensor describing `t`; shape and strides live in one array owned by `ctx`.
struct DLContext {
  TP tensor;
  std::vector<int64_t> dims;
};
void fill_dl(DLTensor& dl, DLContext* ctx) {
  Tensor x(ctx->tensor);
  const int nd = static_cast<int>(x.ndim());
  ctx->dims.assign(2 * std::max(nd, 1), 0);
  for (int i = 0; i < nd; ++i) {
    ctx->dims[i] = x.shape()[i];
    ctx->dims[nd + i] = x.strides()[i];
  }
  dl.data = ctx->tensor->storage->data;
  dl.byte_offset = static_cast<uint64_t>(x.offset()) * itemsize(x.dtype());
  dl.device = {kDLCPU, 0};
  dl.ndim = nd;
  uint8_t code = x.dtype() == DType::Bool ? kDLBool : (is_floating(x.dtype()) ? kDLFloat : kDLInt);
  dl.dtype = {code, static_cast<uint8_t>(itemsize(x.dtype()) * 8), 1};
  dl.shape = ctx->dims.data();
  dl.strides = ctx->dims.data() + nd;
}

// Exports a capsule; versioned (DLPack 1.0, writable unless the storage is read-only)
// when the consumer asks for it via max_version, else the legacy form.
py::capsule to_dlpack(const TP& t, bool versioned, bool copied = false) {
  auto* ctx = new DLContext{t, {}};
  if (versioned) {
    auto* m = new DLManagedTensorVersioned();
    m->version = {1, 0};
    m->manager_ctx = ctx;
    m->deleter = [](DLManagedTensorVersioned* self) {
      delete static_cast<DLContext*>(self->manager_ctx);
      delete self;
    };
    m->flags =
        (t->storage->readonly ? FG_DLPACK_FLAG_READ_ONLY : 0) | (copied ? FG_DLPACK_FLAG_IS_COPIED : 0);
    fill_dl(m->dl_tensor, ctx);
    return py::capsule(m, "dltensor_versioned", [](PyObject* cap) {
      if (PyCapsule_IsValid(cap, "dltensor_versioned")) {  // never consumed: still ours
        auto* mt = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(cap, "dltensor_versioned"));
        if (mt && mt->deleter) mt->deleter(mt);
      }
    });
  }
  auto* m = new DLManagedTensor();
  m->manager_ctx = ctx;
  m->deleter = [](DLManagedTensor* self) {
    delete static_cast<DLContext*>(self->manager_ctx);
    delete self;
  };
  fill_dl(m->dl_tensor, ctx);
  return py::capsule(m, "dltensor", [](PyObject* cap) {
    if (PyCapsule_IsValid(cap, "dltensor")) {
      auto* mt = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
      if (mt && mt->deleter) mt->deleter(mt);
    }
  });
}

// Tensor.__dlpack__(stream, max_version, dl_device, copy), argument checks as NumPy's:
// a legacy (unversioned) capsule has no read-only flag, so a consumer would write into
// read-only memory (a read-only np.memmap segfaults); such exports raise BufferError
// unless copy=True asks for a writable copy.
py::capsule dlpack_export(const TP& t, const py::object& stream, const py::object& max_version,
                          const py::object& dl_device, const py::object& copy) {
  // np/torch/fg.from_dlpack share the memory off the tape, exactly like the buffer
  // protocol: a value carrying a tracing transform's derivative must not leave that way.
  if (tl_trace_depth > 0)
    py::module_::import("fastgrad._trace")
        .attr("check_conversion")(py::cast(t), "__dlpack__ (DLPack export)");
  auto int_arg = [](py::handle h) { return py::isinstance<py::int_>(h) && !py::isinstance<py::bool_>(h); };
  if (!stream.is_none()) {
    if (!int_arg(stream))
      throw TypeError("__dlpack__: stream must be None or an int, got " +
                      std::string(py::str(py::type::handle_of(stream))));
    if (stream.cast<py::int_>().cast<long long>() != -1)  // -1: "no synchronisation", as PyTorch accepts
      throw ValueError("__dlpack__: stream must be None for CPU tensors, got " +
                       std::string(py::str(stream)));
  }
  bool versioned = false;
  if (!max_version.is_none()) {
    const bool seq = py::isinstance<py::tuple>(max_version) || py::isinstance<py::list>(max_version);
    py::sequence mv = seq ? max_version.cast<py::sequence>() : py::sequence();
    if (!seq || mv.size() != 2 || !int_arg(mv[0]) || !int_arg(mv[1]))
      throw TypeError("__dlpack__: max_version must be None or a (major, minor) tuple of two ints, got " +
                      std::string(py::repr(max_version)));
    versioned = py::int_(mv[0]) >= py::int_(1);
  }
  if (!dl_device.is_none()) {
    if (!py::isinstance<py::tuple>(dl_device) || py::len(dl_device) != 2 ||
        !int_arg(dl_device.cast<py::tuple>()[0]) || !int_arg(dl_device.cast<py::tuple>()[1]))
      throw TypeError(
          "__dlpack__: dl_device must be None or a (device_type, device_id) tuple of two ints, got " +
          std::string(py::repr(dl_device)));
    py::tuple dv = dl_device.cast<py::tuple>();
    if (!(py::int_(dv[0]).equal(py::int_(static_cast<int>(kDLCPU))) && py::int_(dv[1]).equal(py::int_(0))))
      throw py::buffer_error("__dlpack__: unsupported device requested " + std::string(py::repr(dl_device)) +
                             " (fastgrad tensors live on the CPU, (1, 0))");
  }
  if (!copy.is_none() && !py::isinstance<py::bool_>(copy))
    throw TypeError("__dlpack__: copy must be None, True or False, got " + std::string(py::repr(copy)));
  if (!copy.is_none() && copy.cast<bool>()) {
    GradModeGuard g(false);
    return to_dlpack(clone(Tensor(t)).impl(), versioned, true);
  }
  if (!versioned && t->storage->readonly)
    throw py::buffer_error(
        "__dlpack__: cannot export a read-only tensor as a legacy DLPack capsule, which has no read-only "
        "flag; "
        "pass max_version=(1, 0) (DLPack >= 1.0) or copy=True");
  return to_dlpack(t, versioned);
}

TP from_dlpack(py::object obj) {
  py::object cap_obj = obj;
  if (py::hasattr(obj, "__dlpack__")) {
    try {
      cap_obj = obj.attr("__dlpack__")(py::arg("max_version") = py::make_tuple(1, 0));
    } catch (py::error_already_set& e) {
      if (!e.matches(PyExc_TypeError)) throw;
      cap_obj = obj.attr("__dlpack__")();  // a producer without max_version (DLPack < 1.0)
    }
  }
  PyObject* cap = cap_obj.ptr();
  const bool versioned = PyCapsule_IsValid(cap, "dltensor_versioned");
  if (!versioned && !PyCapsule_IsValid(cap, "dltensor"))
    throw TypeError("from_dlpack: expected an object with __dlpack__ or a DLPack capsule");
  // Validate first; ownership is taken (and the capsule marked used) only on success,
  // so a rejected capsule stays with its producer.
  const DLTensor* dlp;
  bool readonly = false;
  DLManagedTensorVersioned* mv = nullptr;
  DLManagedTensor* ml = nullptr;
  if (versioned) {
    mv = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(cap, "dltensor_versioned"));
    if (mv->version.major > 1)
      throw TypeError("from_dlpack: unsupported DLPack major version " + std::to_string(mv->version.major));
    dlp = &mv->dl_tensor;
    readonly = (mv->flags & FG_DLPACK_FLAG_READ_ONLY) != 0;
  } else {
    ml = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
    dlp = &ml->dl_tensor;
  }
  const DLTensor& dl = *dlp;
  auto fail = [](auto&& err) { throw err; };
  if (dl.device.device_type != kDLCPU) fail(ValueError("from_dlpack: only CPU tensors are supported"));
  if (dl.dtype.lanes != 1) fail(TypeError("from_dlpack: vector lanes are not supported"));
  DType d = DType::Float32;
  if (dl.dtype.code == kDLFloat && dl.dtype.bits == 32)
    d = DType::Float32;
  else if (dl.dtype.code == kDLFloat && dl.dtype.bits == 64)
    d = DType::Float64;
  else if (dl.dtype.code == kDLInt && dl.dtype.bits == 64)
    d = DType::Int64;
  else if (dl.dtype.code == kDLBool && dl.dtype.bits == 8)
    d = DType::Bool;
  else
    fail(TypeError("from_dlpack: unsupported dtype code " + std::to_string(dl.dtype.code) + " bits " +
                   std::to_string(dl.dtype.bits)));
  const size_t isz = itemsize(d);
  if (dl.byte_offset % isz) fail(ValueError("from_dlpack: misaligned byte offset"));
  if (dl.ndim < 0 || (dl.ndim > 0 && !dl.shape)) fail(ValueError("from_dlpack: invalid ndim/shape"));
  for (int i = 0; i < dl.ndim; ++i)
    if (dl.shape[i] < 0) fail(ValueError("from_dlpack: negative dimension " + std::to_string(dl.shape[i])));
  Shape shape(dl.shape, dl.shape + dl.ndim), strides;
  if (dl.strides)
    strides.assign(dl.strides, dl.strides + dl.ndim);
  else
    strides = contiguous_strides(shape);
  int64_t hi = 0;
  bool empty_t = false;
  for (int i = 0; i < dl.ndim; ++i) {
    if (shape[i] == 0) empty_t = true;
    if (strides[i] < 0) fail(ValueError("from_dlpack: negative strides are not supported"));
    hi += strides[i] * (shape[i] - 1);
  }
  if (d == DType::Bool && !empty_t) {  // normalise (or refuse) non-0/1 bytes before taking ownership
    uint8_t* base = static_cast<uint8_t*>(dl.data) + dl.byte_offset;
    const int64_t n = shape_numel(shape);
    auto walk = [&](auto&& f) {  // every element once (odometer over the strided index)
      Shape idx(shape.size(), 0);
      for (int64_t k = 0; k < n; ++k) {
        int64_t off = 0;
        for (size_t i = 0; i < shape.size(); ++i) off += idx[i] * strides[i];
        f(base[off]);
        for (size_t i = shape.size(); i-- > 0;) {
          if (++idx[i] < shape[i]) break;
          idx[i] = 0;
        }
      }
    };
    bool bad = false;
    walk([&](uint8_t& b) { bad = bad || b > 1; });
    if (bad) {
      if (readonly)
        fail(
            ValueError("from_dlpack: read-only bool memory holds bytes other than 0/1 and cannot be shared; "
                       "copy it with fg.tensor(...) (which normalises them)"));
      walk([](uint8_t& b) { b = b != 0; });
    }
  }
  PyCapsule_SetName(cap, versioned ? "used_dltensor_versioned" : "used_dltensor");
  std::shared_ptr<void> owner;
  if (mv)
    owner = std::shared_ptr<void>(mv, [](void* p) {
      auto* mt = static_cast<DLManagedTensorVersioned*>(p);
      if (mt->deleter) gil::with_gil_or_leak([mt] { mt->deleter(mt); });
    });
  else
    owner = std::shared_ptr<void>(ml, [](void* p) {
      auto* mt = static_cast<DLManagedTensor*>(p);
      if (mt->deleter) gil::with_gil_or_leak([mt] { mt->deleter(mt); });
    });
  auto t = std::make_shared<TensorImpl>();
  char* base = static_cast<char*>(dl.data) + dl.byte_offset;
  t->storage = Storage::wrap(base, empty_t ? 0 : static_cast<size_t>(hi + 1) * isz, owner);
  t->storage->readonly = readonly;
  t->shape = shape;
  t->strides = strides;
  t->dtype = d;
  return t;
}

Activation to_activation(const std::string& a, const char* op) {
  if (a == "none") return Activation::None;
  if (a == "relu") return Activation::Relu;
  if (a == "tanh") return Activation::Tanh;
  if (a == "sigmoid") return Activation::Sigmoid;
  throw ValueError(std::string(op) + ": activation must be 'none', 'relu', 'tanh' or 'sigmoid', got '" + a +
                   "'");
}

// Fused optimizer steps: every tensor of a group in one C++ call (no Python loop).
template <typename T>
std::vector<kernels::ParamSlot<T>> make_slots(const std::vector<TP>& params, const std::vector<TP>& grads,
                                              const std::vector<TP>& b1, const std::vector<TP>& b2,
                                              const std::vector<TP>& b3, const char* op) {
  const size_t n = params.size();
  auto check_list = [&](const std::vector<TP>& v, const char* what) {
    if (!v.empty() && v.size() != n)
      throw ValueError(std::string(op) + ": " + what + " has " + std::to_string(v.size()) + " tensors for " +
                       std::to_string(n) + " parameters");
  };
  if (grads.size() != n) throw ValueError(std::string(op) + ": one gradient per parameter expected");
  check_list(b1, "state buffer 1");
  check_list(b2, "state buffer 2");
  check_list(b3, "state buffer 3");
  std::vector<kernels::ParamSlot<T>> slots(n);
  auto ptr = [&](const TP& t, const TP& like, const char* what) -> T* {
    Tensor x(t);
    if (x.dtype() != dtype_of<T>::value || !x.is_contiguous() || t->shape != like->shape)
      throw ValueError(std::string(op) + ": " + what + " of shape " + shape_str(t->shape) + " (" +
                       dtype_name(x.dtype()) + ") does not match its parameter of shape " +
                       shape_str(like->shape) + " or is not contiguous");
    if (t->storage->readonly) throw ValueError(std::string(op) + ": " + what + " is read-only");
    return x.data<T>();
  };
  for (size_t i = 0; i < n; ++i) {
    slots[i].param = ptr(params[i], params[i], "parameter");
    slots[i].grad = ptr(grads[i], params[i], "gradient");
    slots[i].buf1 = b1.empty() ? nullptr : ptr(b1[i], params[i], "state");
    slots[i].buf2 = b2.empty() ? nullptr : ptr(b2[i], params[i], "state");
    slots[i].buf3 = b3.empty() ? nullptr : ptr(b3[i], params[i], "state");
    slots[i].n = shape_numel(params[i]->shape);
  }
  return slots;
}

void bump(const std::vector<TP>& v) {
  for (auto& t : v) t->storage->version++;
}

template <typename F>
void run_step(const std::vector<TP>& params, F&& f) {
  if (params.empty()) return;
  sync_num_threads();
  DType d = params[0]->dtype;
  if (d == DType::Float32)
    f(float{});
  else if (d == DType::Float64)
    f(double{});
  else
    throw TypeError(std::string("optimizer: parameters must be float32 or float64, got ") + dtype_name(d));
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "fastgrad C++ core";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const RuntimeError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const OverflowError& e) {
      PyErr_SetString(PyExc_OverflowError, e.what());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "fastgrad: out of memory");
    } catch (const py::cast_error& e) {
      // A Python value that does not convert to the C++ argument is a type error (pybind11
      // maps cast_error to RuntimeError, the class of autograd misuse).
      PyErr_SetString(PyExc_TypeError,
                      (std::string("fastgrad: argument conversion failed: ") + e.what()).c_str());
    } catch (const Interrupted&) {
      // A kernel stopped for SIGINT outside the apply hook: Python's handler decides.
      if (PyErr_CheckSignals() == 0) PyErr_SetNone(PyExc_KeyboardInterrupt);
    }
  });

  // Every primitive's forward runs through this hook (GIL released for large work,
  // Ctrl-C on the main thread); the main thread is Python's (re-taken after fork).
  set_blocking_hook(&gil::blocking_hook);
  py::module_::import("atexit").attr("register")(py::cpp_function(&gil::at_exit));
  m.def(
      "_set_main_thread", [](unsigned long ident) { gil::main_thread_ident().store(ident); },
      "The thread (threading ident) whose kernels Ctrl-C interrupts: Python's main thread.");
  m.def(
      "_gil_releases", [] { return gil::releases().load(); }, "Kernels run without the GIL so far (tests).");
  m.def("_fork_pinned_serial", &fork_pinned_serial);

  py::enum_<DType>(m, "dtype")
      .value("float32", DType::Float32)
      .value("float64", DType::Float64)
      .value("int64", DType::Int64)
      .value("bool", DType::Bool)
      .def_property_readonly("itemsize", [](DType d) { return itemsize(d); })
      .def_property_readonly("is_floating_point", [](DType d) { return is_floating(d); })
      .def("__repr__", [](DType d) { return std::string("fastgrad.") + dtype_name(d); })
      .def("__str__", [](DType d) { return std::string(dtype_name(d)); });

  py::class_<TensorImpl, TP> T(m, "Tensor", py::buffer_protocol());
  // The constructor Python subclasses (nn.Parameter) go through: a new leaf sharing data's storage.
  T.def(py::init([](const TP& data) { return detach(Tensor(data)).impl(); }), py::arg("data"),
        "Tensor(data): a new leaf tensor sharing data's storage (what detach() returns).");
  T.def_buffer([](TensorImpl& t) -> py::buffer_info {
    // np.asarray/np.array/memoryview (and .numpy(), .item(), float(), ... built on them)
    // while a transform traces f: a value that carries the transform's derivative must
    // not leave the graph silently (fastgrad/_trace.py raises, naming the transform).
    if (tl_trace_depth > 0)
      py::module_::import("fastgrad._trace")
          .attr("check_conversion")(py::cast(&t, py::return_value_policy::reference),
                                    "np.asarray (the buffer protocol)");
    const size_t isz = itemsize(t.dtype);
    std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end()), strides;
    for (auto s : t.strides) strides.push_back(static_cast<py::ssize_t>(s * static_cast<int64_t>(isz)));
    std::string fmt = t.dtype == DType::Float32   ? py::format_descriptor<float>::format()
                      : t.dtype == DType::Float64 ? py::format_descriptor<double>::format()
                      : t.dtype == DType::Int64   ? py::format_descriptor<int64_t>::format()
                                                  : py::format_descriptor<bool>::format();
    void* ptr = static_cast<char*>(t.storage->data) + t.offset * static_cast<int64_t>(isz);
    return py::buffer_info(ptr, static_cast<py::ssize_t>(isz), fmt, static_cast<py::ssize_t>(t.shape.size()),
                           shape, strides, t.storage->readonly);
  });

  T.def_property_readonly("shape", [](const TP& t) { return shape_tuple(t->shape); })
      .def_property_readonly("ndim", [](const TP& t) { return t->shape.size(); })
      .def_property_readonly("dtype", [](const TP& t) { return t->dtype; })
      .def_property_readonly("size", [](const TP& t) { return shape_numel(t->shape); })
      .def("numel", [](const TP& t) { return shape_numel(t->shape); })
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
                               return reinterpret_cast<uintptr_t>(t->storage->data) +
                                      t->offset * itemsize(t->dtype);
                             })
      .def("is_contiguous", [](const TP& t) { return Tensor(t).is_contiguous(); })
      .def_property(
          "requires_grad", [](const TP& t) { return t->requires_grad; },
          [](const TP& t, bool v) {
            if (t->grad_fn && !v)
              throw RuntimeError(
                  "requires_grad: cannot turn off gradients of a non-leaf tensor; use detach()");
            if (v && !is_floating(t->dtype))
              throw TypeError(std::string("requires_grad: only float tensors can require gradients, got ") +
                              dtype_name(t->dtype));
            t->requires_grad = v;
          })
      // .grad is shared with backward calls running without the GIL: same lock as theirs.
      .def_property(
          "grad",
          [](const TP& t) {
            std::lock_guard<std::mutex> lock(leaf_grad_mutex(t.get()));
            return t->grad;
          },
          [](const TP& t, py::handle h) {
            // None is the common case (zero_grad): skip the holder conversion.
            if (h.is_none()) {
              TP old;
              {
                std::lock_guard<std::mutex> lock(leaf_grad_mutex(t.get()));
                old = std::move(t->grad);
                t->grad.reset();
              }
              return;
            }
            if (!py::isinstance<TensorImpl>(h))
              throw TypeError("grad: expected a Tensor or None, got " +
                              std::string(py::str(py::type::handle_of(h))));
            TP g = h.cast<TP>();
            if (g->dtype != t->dtype)
              throw TypeError(std::string("grad: assigned a ") + dtype_name(g->dtype) + " gradient to a " +
                              dtype_name(t->dtype) + " tensor");
            if (g->shape != t->shape)
              throw ValueError("grad: assigned gradient of shape " + shape_str(g->shape) +
                               " to a tensor of shape " + shape_str(t->shape));
            std::lock_guard<std::mutex> lock(leaf_grad_mutex(t.get()));
            std::swap(t->grad, g);  // the old one dies after the lock
          })
      .def_property_readonly("is_leaf", [](const TP& t) { return !t->grad_fn; })
      .def_property_readonly("grad_fn",
                             [](const TP& t) -> py::object {
                               if (!t->grad_fn) return py::none();
                               return py::str(t->grad_fn->prim->name());
                             })
      .def("detach", [](const TP& t) { return detach(Tensor(t)).impl(); })
      .def("astype", [](const TP& t, DType d) { return cast(Tensor(t), d).impl(); })
      .def("contiguous", [](const TP& t) { return contiguous(Tensor(t)).impl(); })
      .def("clone", [](const TP& t) { return clone(Tensor(t)).impl(); })
      .def(
          "backward",
          [](const TP& t, const OptTensor& g, bool retain_graph, bool create_graph) {
            gil::without_gil([&] { backward({Tensor(t)}, {Tensor(g.p)}, retain_graph, create_graph); });
          },
          py::arg("grad") = py::none(), py::arg("retain_graph") = false, py::arg("create_graph") = false)
      .def("_tangent", [](const TP& t, int64_t level) { return Tensor(t).tangent(level).impl(); })
      .def("_set_tangent",
           [](const TP& t, int64_t level, const TP& v) { Tensor(t).set_tangent(level, Tensor(v)); })
      .def("_clear_tangent",
           [](const TP& t, int64_t level) {
             auto& v = t->tangents;
             v.erase(std::remove_if(v.begin(), v.end(), [&](auto& kv) { return kv.first == level; }),
                     v.end());
           })
      .def(
          "__dlpack__",
          [](const TP& t, py::object stream, py::object max_version, py::object dl_device, py::object copy) {
            return dlpack_export(t, stream, max_version, dl_device, copy);
          },
          py::arg("stream") = py::none(), py::arg("max_version") = py::none(),
          py::arg("dl_device") = py::none(), py::arg("copy") = py::none())
      .def("__dlpack_device__", [](const TP&) { return py::make_tuple(int(kDLCPU), 0); });

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
      .def("__invert__",
           [](const TP& a) {
             return gil::kernel(shape_numel(a->shape), [&] { return logical_not(Tensor(a)).impl(); });
           })
      .def("__and__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__and__");
             return gil::kernel(A.numel() + B.numel(), [&] { return logical_and(A, B).impl(); });
           })
      .def("__or__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__or__");
             return gil::kernel(A.numel() + B.numel(), [&] { return logical_or(A, B).impl(); });
           })
      .def("__eq__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__eq__");
             return gil::kernel(A.numel() + B.numel(), [&] { return compare(A, B, CmpOp::Eq).impl(); });
           })
      .def("__ne__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__ne__");
             return gil::kernel(A.numel() + B.numel(), [&] { return compare(A, B, CmpOp::Ne).impl(); });
           })
      .def("__lt__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__lt__");
             return gil::kernel(A.numel() + B.numel(), [&] { return compare(A, B, CmpOp::Lt).impl(); });
           })
      .def("__le__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__le__");
             return gil::kernel(A.numel() + B.numel(), [&] { return compare(A, B, CmpOp::Le).impl(); });
           })
      .def("__gt__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__gt__");
             return gil::kernel(A.numel() + B.numel(), [&] { return compare(A, B, CmpOp::Gt).impl(); });
           })
      .def("__ge__",
           [](const TP& a, py::handle b) {
             Tensor A(a), B = to_tensor(b, A, "__ge__");
             return gil::kernel(A.numel() + B.numel(), [&] { return compare(A, B, CmpOp::Ge).impl(); });
           })
      .def("__hash__", [](const TP& a) { return reinterpret_cast<intptr_t>(a.get()); });

  // In-place ops: every one goes through inplace_ (cpp/src/autodiff/inplace.cpp), which
  // applies PyTorch's rules and records the op on the tape like any other.
  auto operand = [](const TP& a, py::handle b) -> Tensor {
    Tensor A(a);
    // Python bools are Bool and Python ints Long numbers (PyTorch): int64.sub_(True) and
    // bool.add_(2) are errors, not a silent cast of the number to the tensor's dtype.
    if (PyBool_Check(b.ptr())) return scalar(b.ptr() == Py_True ? 1.0 : 0.0, DType::Bool);
    if (A.dtype() == DType::Bool && PyLong_Check(b.ptr())) return to_tensor(b, scalar(0.0, DType::Int64));
    return to_tensor(b, A);
  };
#define INPLACE(NAME, FN)                                                     \
  T.def(NAME, [operand](const TP& a, py::handle b) {                          \
    Tensor B = operand(a, b);                                                 \
    gil::nogil(shape_numel(a->shape) + B.numel(), [&] { FN(Tensor(a), B); }); \
    return a;                                                                 \
  })
  INPLACE("add_", add_);
  INPLACE("sub_", sub_);
  INPLACE("mul_", mul_);
  INPLACE("div_", div_);
  INPLACE("pow_", pow_);
  // Augmented assignment updates the tensor itself (p -= lr * p.grad), as in PyTorch.
  INPLACE("__iadd__", add_);
  INPLACE("__isub__", sub_);
  INPLACE("__imul__", mul_);
  INPLACE("__itruediv__", div_);
  INPLACE("__ipow__", pow_);
#undef INPLACE
  T.def("copy_",
        [](const TP& a, py::handle b) {
          Tensor A(a), B = to_tensor(b, A, "copy_");
          gil::nogil(A.numel(), [&] { assign_(A, B); });
          return a;
        })
      .def("fill_",
           [](const TP& a, py::handle v) {
             Tensor A(a);
             // A number goes through full's checks (exact ints; NaN into int64 raises, PyTorch).
             fill_(A, is_number(v) ? filled({}, v, A.dtype(), "fill_") : to_tensor(v, A, "fill_"));
             return a;
           })
      .def("zero_",
           [](const TP& a) {
             gil::nogil(shape_numel(a->shape), [&] { zero_(Tensor(a)); });
             return a;
           })
      .def_property_readonly("_has_tangents", [](const TP& a) { return !a->tangents.empty(); })
      .def("_inplace_apply", [](const TP& a, const std::string& op, py::function fn) {
        // For __setitem__: fn (Python, differentiable ops) builds the new value.
        inplace_(Tensor(a), op.c_str(), a->dtype, false, [&](const Tensor& old) {
          py::object r = fn(old.impl());
          if (!py::isinstance<TensorImpl>(r)) throw TypeError(op + ": the new value must be a Tensor");
          return Tensor(r.cast<TP>());
        });
        return a;
      });
  for (const char* name : {"clamp_", "clip_"})
    T.def(
        name,
        [name](const TP& a, py::object lo, py::object hi) {
          auto bound = [&](py::handle h) -> std::optional<double> {
            if (h.is_none()) return std::nullopt;
            if (!is_number(h)) throw TypeError(std::string(name) + ": min and max must be numbers or None");
            return number(h, name);
          };
          // A float bound makes an integer tensor's result Float (PyTorch), which cannot be
          // written back into it.
          if (lo.is_none() && hi.is_none())
            throw RuntimeError(std::string(name) + ": at least one of 'min' or 'max' must not be None");
          DType r = a->dtype;
          if (!is_floating(r) && (PyFloat_Check(lo.ptr()) || PyFloat_Check(hi.ptr()))) r = DType::Float32;
          clamp_(Tensor(a), bound(lo), bound(hi), r);
          return a;
        },
        py::arg("min") = py::none(), py::arg("max") = py::none());

  // ---- module functions
  m.def("from_numpy", &from_numpy);
  m.def("_from_array_copy", &from_array_copy, py::arg("array"), py::arg("dtype") = py::none());
  m.def("from_dlpack", &from_dlpack);
  m.def("to_tensor", [](py::handle h, const TP& like) { return to_tensor(h, Tensor(like)).impl(); });

  // Python ints fill integer tensors exactly (never through double); a float fill of an
  // int64 tensor must be finite and in range (RuntimeError otherwise, as PyTorch).
  m.def("full", [](const Shape& s, py::handle v, DType d) { return filled(s, v, d, "full").impl(); });
  // All-int arguments take the exact integer path (values near 2**63 stay exact).
  m.def("arange", [](py::handle a, py::handle b, py::handle st, DType d) {
    if (is_int_like(a.ptr()) && is_int_like(b.ptr()) && is_int_like(st.ptr())) {
      const int64_t ia = py_int64(a.ptr(), "arange"), ib = py_int64(b.ptr(), "arange"),
                    is = py_int64(st.ptr(), "arange");
      return gil::kernel(factory_work((double(ib) - double(ia)) / double(is)),
                         [&] { return arange_int(ia, ib, is, d).impl(); });
    }
    const double da = py_double(a.ptr(), "arange"), db = py_double(b.ptr(), "arange"),
                 ds = py_double(st.ptr(), "arange");
    return gil::kernel(factory_work((db - da) / ds), [&] { return arange(da, db, ds, d).impl(); });
  });
  // Factories run through the kernel hook like every op: GIL released, Ctrl-C honoured.
  m.def("linspace", [](double a, double b, int64_t n, DType d) {
    return gil::kernel(n, [&] { return linspace(a, b, n, d).impl(); });
  });
  m.def("eye", [](int64_t n, int64_t k, DType d) {
    return gil::kernel(factory_work(double(n) * double(k)), [&] { return eye(n, k, d).impl(); });
  });
  m.def("rand", [](const Shape& s, DType d) {
    return gil::kernel(factory_work(s), [&] { return rand(s, d).impl(); });
  });
  m.def("randn", [](const Shape& s, DType d) {
    return gil::kernel(factory_work(s), [&] { return randn(s, d).impl(); });
  });
  m.def("randint", [](int64_t lo, int64_t hi, const Shape& s) {
    return gil::kernel(factory_work(s), [&] { return randint(lo, hi, s).impl(); });
  });
  m.def("randperm", [](int64_t n) { return gil::kernel(n, [&] { return randperm(n).impl(); }); });
  m.def("manual_seed", &manual_seed);
  m.def("next_seed", &next_seed);

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

  m.def("reshape", [](const TP& x, const Shape& s) { return reshape(Tensor(x), s).impl(); });
  m.def("permute", [](const TP& x, const Axes& p) { return permute(Tensor(x), p).impl(); });
  m.def("transpose", [](const TP& x, int64_t a, int64_t b) { return transpose(Tensor(x), a, b).impl(); });
  m.def("expand", [](const TP& x, const Shape& s) { return expand(Tensor(x), s).impl(); });
  m.def("squeeze", [](const TP& x, py::object axis) {
    // axis=() squeezes nothing (NumPy, PyTorch); to_axes maps "no axes" to "all axes".
    if ((py::isinstance<py::tuple>(axis) || py::isinstance<py::list>(axis)) && py::len(axis) == 0)
      return reshape(Tensor(x), x->shape).impl();
    return squeeze(Tensor(x), to_axes(axis)).impl();
  });
  m.def("unsqueeze", [](const TP& x, int64_t a) { return unsqueeze(Tensor(x), a).impl(); });
  m.def("flatten", [](const TP& x, int64_t s, int64_t e) { return flatten(Tensor(x), s, e).impl(); });
  m.def("slice", [](const TP& x, const std::vector<std::tuple<int64_t, int64_t, int64_t>>& spec) {
    std::vector<SliceSpec> s;
    for (auto& [a, b, c] : spec) s.push_back({a, b, c});
    return slice(Tensor(x), s).impl();
  });
  m.def("slice_scatter",
        [](const TP& g, const Shape& shape, const std::vector<std::tuple<int64_t, int64_t, int64_t>>& spec) {
          std::vector<SliceSpec> s;
          for (auto& [a, b, c] : spec) s.push_back({a, b, c});
          return slice_scatter(Tensor(g), shape, s).impl();
        });
  m.def("concat",
        [](const std::vector<TP>& xs, int64_t axis) { return concat(to_tensors(xs), axis).impl(); });
  m.def("stack", [](const std::vector<TP>& xs, int64_t axis) { return stack(to_tensors(xs), axis).impl(); });
  m.def("split", [](const TP& x, const std::vector<int64_t>& sizes, int64_t axis) {
    return to_ptrs(split(Tensor(x), sizes, axis));
  });
  m.def("pad", [](const TP& x, const std::vector<std::pair<int64_t, int64_t>>& p, py::handle v) {
    if (is_int_like(v.ptr()))
      return pad_int(Tensor(x), p, py_int64(v.ptr(), "pad")).impl();  // exact for int64
    return pad(Tensor(x), p, py_double(v.ptr(), "pad")).impl();
  });
  m.def("index_select", [](const TP& x, int64_t axis, const TP& idx) {
    return index_select(Tensor(x), axis, Tensor(idx)).impl();
  });
  m.def("index_add", [](const TP& g, const Shape& s, int64_t axis, const TP& idx) {
    return index_add(Tensor(g), s, axis, Tensor(idx)).impl();
  });
  m.def("nonzero_flat", [](const TP& x) {
    return gil::kernel(shape_numel(x->shape), [&] { return nonzero_flat(Tensor(x)).impl(); });
  });

  m.def(
      "linear",
      [](const TP& x, const TP& w, const OptTensor& b, bool torch_layout, const std::string& activation) {
        Activation act = to_activation(activation, "linear");
        return linear(Tensor(x), Tensor(w), Tensor(b.p), torch_layout, act).impl();
      },
      py::arg("x"), py::arg("w"), py::arg("bias").none(true), py::arg("torch_layout") = true,
      py::arg("activation") = "none");

  // ---- convolution and pooling
  m.def(
      "conv",
      [](const TP& x, const TP& w, const OptTensor& b, const std::vector<int64_t>& stride,
         const std::vector<int64_t>& lo, const std::vector<int64_t>& hi, const std::vector<int64_t>& dil,
         int64_t groups, bool cl, const std::string& activation) {
        Activation act = to_activation(activation, "conv");
        return conv(Tensor(x), Tensor(w), Tensor(b.p), stride, lo, hi, dil, groups, cl, act).impl();
      },
      py::arg("x"), py::arg("w"), py::arg("bias").none(true), py::arg("stride"), py::arg("pad_lo"),
      py::arg("pad_hi"), py::arg("dilation"), py::arg("groups"), py::arg("channels_last"),
      py::arg("activation") = "none");
  m.def("max_pool",
        [](const TP& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
           const std::vector<int64_t>& p, bool cl) { return max_pool(Tensor(x), k, s, p, cl).impl(); });
  m.def("avg_pool", [](const TP& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
                       const std::vector<int64_t>& p, bool cip,
                       bool cl) { return avg_pool(Tensor(x), k, s, p, cip, cl).impl(); });
  m.def("adaptive_avg_pool", [](const TP& x, const std::vector<int64_t>& o, bool cl) {
    return adaptive_avg_pool(Tensor(x), o, cl).impl();
  });

  // ---- fused optimizer steps (in place; bump versions)
  m.def("sgd_step", [](const std::vector<TP>& params, const std::vector<TP>& grads,
                       const std::vector<TP>& bufs, double lr, double momentum, double dampening, double wd,
                       bool nesterov, bool maximize, bool first_step) {
    run_step(params, [&](auto tag) {
      using T = decltype(tag);
      auto slots = make_slots<T>(params, grads, bufs, {}, {}, "sgd_step");
      gil::without_gil([&] {
        kernels::sgd_step<T>(slots.data(), static_cast<int64_t>(slots.size()), lr, momentum, dampening, wd,
                             nesterov, maximize, first_step);
      });
    });
    bump(params);
    bump(bufs);
  });
  m.def("adam_step",
        [](const std::vector<TP>& params, const std::vector<TP>& grads, const std::vector<TP>& m1,
           const std::vector<TP>& m2, const std::vector<TP>& vmax, double lr, double b1, double b2,
           double eps, double wd, bool amsgrad, bool decoupled, bool maximize, int64_t step) {
          if (step < 1) throw ValueError("adam_step: step must be >= 1");
          if (amsgrad && vmax.empty()) throw ValueError("adam_step: amsgrad needs max_exp_avg_sqs");
          run_step(params, [&](auto tag) {
            using T = decltype(tag);
            auto slots = make_slots<T>(params, grads, m1, m2, vmax, "adam_step");
            if (m1.empty() || m2.empty())
              throw ValueError("adam_step: exp_avgs and exp_avg_sqs are required");
            gil::without_gil([&] {
              kernels::adam_step<T>(slots.data(), static_cast<int64_t>(slots.size()), lr, b1, b2, eps, wd,
                                    amsgrad, decoupled, maximize, step);
            });
          });
          bump(params);
          bump(m1);
          bump(m2);
          bump(vmax);
        });
  m.def("rmsprop_step",
        [](const std::vector<TP>& params, const std::vector<TP>& grads, const std::vector<TP>& sq,
           const std::vector<TP>& mom, const std::vector<TP>& gavg, double lr, double alpha, double eps,
           double wd, double momentum, bool centered, bool maximize) {
          if (momentum > 0 && mom.empty()) throw ValueError("rmsprop_step: momentum needs momentum buffers");
          if (centered && gavg.empty()) throw ValueError("rmsprop_step: centered needs grad averages");
          run_step(params, [&](auto tag) {
            using T = decltype(tag);
            auto slots = make_slots<T>(params, grads, sq, mom, gavg, "rmsprop_step");
            if (sq.empty()) throw ValueError("rmsprop_step: square averages are required");
            gil::without_gil([&] {
              kernels::rmsprop_step<T>(slots.data(), static_cast<int64_t>(slots.size()), lr, alpha, eps, wd,
                                       momentum, centered, maximize);
            });
          });
          bump(params);
          bump(sq);
          bump(mom);
          bump(gavg);
        });

  // ---- autodiff
  m.def("grad_enabled", &grad_enabled);
  m.def("set_grad_enabled", &set_grad_enabled);
  m.def("backward",
        [](const std::vector<TP>& roots, const std::vector<OptTensor>& grads, bool retain, bool create) {
          Tensors g;
          for (auto& o : grads) g.emplace_back(o.p);
          gil::without_gil([&] { backward(to_tensors(roots), g, retain, create); });
        });
  m.def(
      "grad",
      [](const std::vector<TP>& roots, const std::vector<OptTensor>& grads, const std::vector<TP>& inputs,
         bool retain, bool create, bool allow_unused) {
        Tensors r, g;
        for (auto& o : grads) g.emplace_back(o.p);
        gil::without_gil(
            [&] { r = grad(to_tensors(roots), g, to_tensors(inputs), retain, create, allow_unused); });
        std::vector<OptTensor> out;
        for (auto& t : r) out.push_back({t.impl()});
        return out;
      },
      py::arg("outputs"), py::arg("grad_outputs"), py::arg("inputs"), py::arg("retain_graph") = false,
      py::arg("create_graph") = false, py::arg("allow_unused") = false);
  m.def("_set_trace_depth", [](int d) { tl_trace_depth = d; });
  m.def("_reaches", [](const TP& from, const std::vector<TP>& targets) {
    Tensors tg = to_tensors(targets);
    py::gil_scoped_release r;
    return reaches(Tensor(from), tg);
  });
  m.def("push_jvp_level", &push_jvp_level);
  m.def("pop_jvp_level", &pop_jvp_level);
  m.def("primitives", [] { return primitive_registry(); });

  // ---- runtime
  m.def(
      "set_num_threads",
      [](int n) {
        if (n < 1) throw ValueError("set_num_threads: n must be >= 1, got " + std::to_string(n));
        fastgrad::set_num_threads(n);
        if (n > 1 && fork_pinned_serial() &&
            PyErr_WarnEx(
                PyExc_RuntimeWarning,
                "set_num_threads: this thread called fork() after running parallel kernels; OpenMP's "
                "thread pool does not survive fork, so its kernels stay on one thread (threads started "
                "in this process, and processes started with 'spawn', use the new count)",
                1) < 0)
          throw py::error_already_set();  // warnings turned into errors
      },
      "Threads for fastgrad's kernels, in every Python thread. After os.fork() the child starts on one "
      "thread; see the README.");
  m.def("get_num_threads", [] { return fastgrad::get_num_threads(); });
  m.def(
      "isa", [] { return std::string(kernels::isa_name(kernels::active_isa())); },
      "The kernel path chosen at load time (FASTGRAD_ISA=scalar|avx2|avx512 forces one).");
  m.def("supported_isas", [] {
    std::vector<std::string> r;
    for (auto i : {kernels::Isa::Scalar, kernels::Isa::Avx2, kernels::Isa::Avx512})
      if (kernels::isa_supported(i)) r.emplace_back(kernels::isa_name(i));
    return r;
  });
  m.def("live_tensors", [] { return TensorImpl::live_count.load(); });
  m.def("live_nodes", [] { return Node::live_count.load(); });
  m.def("pool_stats", [] {
    auto s = pool_stats();
    py::dict d;
    d["cached_bytes"] = s.cached_bytes;
    d["live_bytes"] = s.live_bytes;
    d["cache_limit"] = s.cache_limit;
    return d;
  });
  m.def("empty_cache", &pool_empty_cache);
  m.def("set_cache_limit", &pool_set_limit);
}
