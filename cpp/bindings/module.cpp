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
}  // namespace fastgrad

namespace pybind11::detail {
// fastgrad::Shape converts like a list of ints.
template <> struct type_caster<fastgrad::Shape> : list_caster<fastgrad::Shape, int64_t> {};

template <>
class type_caster<std::shared_ptr<fastgrad::TensorImpl>>
    : public copyable_holder_caster<fastgrad::TensorImpl, std::shared_ptr<fastgrad::TensorImpl>> {
  using Base = copyable_holder_caster<fastgrad::TensorImpl, std::shared_ptr<fastgrad::TensorImpl>>;

 public:
  bool load(handle src, bool convert) { return !src.is_none() && Base::load(src, convert); }
};

template <> struct type_caster<fastgrad::OptTensor> {
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
    return v.p ? make_caster<std::shared_ptr<fastgrad::TensorImpl>>::cast(v.p, return_value_policy::automatic, {})
               : none().release();
  }
};
}  // namespace pybind11::detail
using namespace fastgrad;

namespace {

using TP = TensorPtr;

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
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float64: return py::dtype::of<double>();
    case DType::Int64: return py::dtype::of<int64_t>();
    case DType::Bool: return py::dtype::of<bool>();
  }
  return py::dtype::of<float>();
}

// Shares the array's memory (C-contiguous float32/float64/int64/bool only).
TP from_numpy(py::array arr) {
  DType d = np_to_dtype(arr.dtype(), "from_numpy");
  if (arr.dtype().kind() == 'u' || (arr.dtype().kind() == 'i' && arr.itemsize() != 8))
    throw TypeError("from_numpy: only int64 integers can share memory, got " + std::string(py::str(arr.dtype())));
  if (!(arr.flags() & py::array::c_style))
    throw ValueError("from_numpy: array must be C-contiguous to share memory (got strides " +
                     std::string(py::str(py::cast(std::vector<py::ssize_t>(arr.strides(), arr.strides() + arr.ndim())))) +
                     "); use fg.tensor(a) to copy");
  if (arr.dtype().byteorder() == '>')
    throw TypeError("from_numpy: non-native byte order");
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
  py::array c = py::array::ensure(arr.attr("astype")(dtype_to_np(d)), py::array::c_style);
  if (!c) throw TypeError("tensor: could not convert data");
  Tensor t = empty(Shape(c.shape(), c.shape() + c.ndim()), d);
  std::memcpy(t.raw(), c.data(), static_cast<size_t>(c.nbytes()));
  return t.impl();
  });
}

Tensor to_tensor(py::handle h, const Tensor& like) {
  if (py::isinstance<TensorImpl>(h)) return Tensor(h.cast<TP>());
  if (PyFloat_Check(h.ptr()))  // a Python float makes integer tensors float (NumPy, PyTorch)
    return scalar(PyFloat_AsDouble(h.ptr()), is_floating(like.dtype()) ? like.dtype() : DType::Float32);
  if (PyBool_Check(h.ptr())) return scalar(h.ptr() == Py_True ? 1.0 : 0.0, like.dtype());
  if (PyLong_Check(h.ptr())) return scalar(static_cast<double>(PyLong_AsLongLong(h.ptr())), like.dtype());
  py::array a = gil::calling_python([&] { return py::array::ensure(h); });
  if (!a) throw TypeError("expected a Tensor, a number or an array, got " + std::string(py::str(py::type::handle_of(h))));
  DType d = np_to_dtype(a.dtype(), "operand");
  if (is_floating(like.dtype()) && !is_floating(d)) d = like.dtype();
  return Tensor(from_array_copy(a, d));
}

bool is_number(py::handle h) { return PyFloat_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyBool_Check(h.ptr()); }
double number(py::handle h) { return PyFloat_Check(h.ptr()) ? PyFloat_AsDouble(h.ptr()) : static_cast<double>(PyLong_AsLongLong(h.ptr())); }

Axes to_axes(const py::object& axis) {
  Axes r;
  if (axis.is_none()) return r;
  if (py::isinstance<py::int_>(axis)) return {axis.cast<int64_t>()};
  if (!py::isinstance<py::tuple>(axis) && !py::isinstance<py::list>(axis))
    throw TypeError("axis must be None, an int or a tuple of ints, got " + std::string(py::str(py::type::handle_of(axis))));
  for (auto a : axis)
    if (!py::isinstance<py::int_>(a)) throw TypeError("axis entries must be ints, got " + std::string(py::str(py::type::handle_of(a))));
  for (auto a : axis) r.push_back(a.cast<int64_t>());
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
TP binop(const TP& a, py::handle b, FT ft, FS fs) {
  Tensor A(a);
  if (is_number(b) && is_floating(A.dtype())) return fs(A, number(b)).impl();
  Tensor B = to_tensor(b, A);
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
py::capsule to_dlpack(const TP& t, bool versioned) {
  auto* ctx = new DLContext{t, {}};
  if (versioned) {
    auto* m = new DLManagedTensorVersioned();
    m->version = {1, 0};
    m->manager_ctx = ctx;
    m->deleter = [](DLManagedTensorVersioned* self) {
      delete static_cast<DLContext*>(self->manager_ctx);
      delete self;
    };
    m->flags = t->storage->readonly ? FG_DLPACK_FLAG_READ_ONLY : 0;
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
    if (mv->version.major > 1) throw TypeError("from_dlpack: unsupported DLPack major version " + std::to_string(mv->version.major));
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
  if (dl.dtype.code == kDLFloat && dl.dtype.bits == 32) d = DType::Float32;
  else if (dl.dtype.code == kDLFloat && dl.dtype.bits == 64) d = DType::Float64;
  else if (dl.dtype.code == kDLInt && dl.dtype.bits == 64) d = DType::Int64;
  else if (dl.dtype.code == kDLBool && dl.dtype.bits == 8) d = DType::Bool;
  else fail(TypeError("from_dlpack: unsupported dtype code " + std::to_string(dl.dtype.code) + " bits " + std::to_string(dl.dtype.bits)));
  const size_t isz = itemsize(d);
  if (dl.byte_offset % isz) fail(ValueError("from_dlpack: misaligned byte offset"));
  Shape shape(dl.shape, dl.shape + dl.ndim), strides;
  if (dl.strides) strides.assign(dl.strides, dl.strides + dl.ndim);
  else strides = contiguous_strides(shape);
  int64_t hi = 0;
  bool empty_t = false;
  for (int i = 0; i < dl.ndim; ++i) {
    if (shape[i] == 0) empty_t = true;
    if (strides[i] < 0) fail(ValueError("from_dlpack: negative strides are not supported"));
    hi += strides[i] * (shape[i] - 1);
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
  throw ValueError(std::string(op) + ": activation must be 'none', 'relu', 'tanh' or 'sigmoid', got '" + a + "'");
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
      throw ValueError(std::string(op) + ": " + what + " of shape " + shape_str(t->shape) + " (" + dtype_name(x.dtype()) +
                       ") does not match its parameter of shape " + shape_str(like->shape) + " or is not contiguous");
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
  if (d == DType::Float32) f(float{});
  else if (d == DType::Float64) f(double{});
  else throw TypeError(std::string("optimizer: parameters must be float32 or float64, got ") + dtype_name(d));
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
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "fastgrad: out of memory");
    } catch (const Interrupted&) {
      // A kernel stopped for SIGINT outside the apply hook: Python's handler decides.
      if (PyErr_CheckSignals() == 0) PyErr_SetNone(PyExc_KeyboardInterrupt);
    }
  });

  // Every primitive's forward runs through this hook (GIL released for large work,
  // Ctrl-C on the main thread); the main thread is Python's (re-taken after fork).
  set_blocking_hook(&gil::blocking_hook);
  py::module_::import("atexit").attr("register")(py::cpp_function(&gil::at_exit));
  m.def("_set_main_thread", [](unsigned long ident) { gil::main_thread_ident().store(ident); },
        "The thread (threading ident) whose kernels Ctrl-C interrupts: Python's main thread.");
  m.def("_gil_releases", [] { return gil::releases().load(); }, "Kernels run without the GIL so far (tests).");
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
  T.def_buffer([](TensorImpl& t) -> py::buffer_info {
    const size_t isz = itemsize(t.dtype);
    std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end()), strides;
    for (auto s : t.strides) strides.push_back(static_cast<py::ssize_t>(s * static_cast<int64_t>(isz)));
    std::string fmt = t.dtype == DType::Float32 ? py::format_descriptor<float>::format()
                      : t.dtype == DType::Float64 ? py::format_descriptor<double>::format()
                      : t.dtype == DType::Int64   ? py::format_descriptor<int64_t>::format()
                                                  : py::format_descriptor<bool>::format();
    void* ptr = static_cast<char*>(t.storage->data) + t.offset * static_cast<int64_t>(isz);
    return py::buffer_info(ptr, static_cast<py::ssize_t>(isz), fmt, static_cast<py::ssize_t>(t.shape.size()), shape,
                           strides, t.storage->readonly);
  });

  T.def_property_readonly("shape", [](const TP& t) { return shape_tuple(t->shape); })
      .def_property_readonly("ndim", [](const TP& t) { return t->shape.size(); })
      .def_property_readonly("dtype", [](const TP& t) { return t->dtype; })
      .def_property_readonly("size", [](const TP& t) { return shape_numel(t->shape); })
      .def("numel", [](const TP& t) { return shape_numel(t->shape); })
      .def("__len__", [](const TP& t) {
        if (t->shape.empty()) throw TypeError("len() of a 0-d tensor");
        return t->shape[0];
      })
      .def_property_readonly("_strides", [](const TP& t) { return shape_tuple(t->strides); })
      .def_property_readonly("_offset", [](const TP& t) { return t->offset; })
      .def_property_readonly("_version", [](const TP& t) { return t->storage->version.load(); })
      .def("_bump_version", [](const TP& t) { t->storage->version++; })
      .def_property_readonly("_data_ptr", [](const TP& t) {
        return reinterpret_cast<uintptr_t>(t->storage->data) + t->offset * itemsize(t->dtype);
      })
      .def("is_contiguous", [](const TP& t) { return Tensor(t).is_contiguous(); })
      .def_property("requires_grad", [](const TP& t) { return t->requires_grad; },
                    [](const TP& t, bool v) {
                      if (t->grad_fn && !v)
                        throw RuntimeError("requires_grad: cannot turn off gradients of a non-leaf tensor; use detach()");
                      if (v && !is_floating(t->dtype))
                        throw TypeError(std::string("requires_grad: only float tensors can require gradients, got ") +
                                        dtype_name(t->dtype));
                      t->requires_grad = v;
                    })
      .def_property("grad", [](const TP& t) { return t->grad; },
                    [](const TP& t, py::handle h) {
                      // None is the common case (zero_grad): skip the holder conversion.
                      if (h.is_none()) {
                        t->grad.reset();
                        return;
                      }
                      if (!py::isinstance<TensorImpl>(h))
                        throw TypeError("grad: expected a Tensor or None, got " + std::string(py::str(py::type::handle_of(h))));
                      TP g = h.cast<TP>();
                      if (g->dtype != t->dtype)
                        throw TypeError(std::string("grad: assigned a ") + dtype_name(g->dtype) + " gradient to a " +
                                        dtype_name(t->dtype) + " tensor");
                      if (g->shape != t->shape)
                        throw ValueError("grad: assigned gradient of shape " + shape_str(g->shape) +
                                         " to a tensor of shape " + shape_str(t->shape));
                      t->grad = g;
                    })
      .def_property_readonly("is_leaf", [](const TP& t) { return !t->grad_fn; })
      .def_property_readonly("grad_fn", [](const TP& t) -> py::object {
        if (!t->grad_fn) return py::none();
        return py::str(t->grad_fn->prim->name());
      })
      .def("detach", [](const TP& t) { return detach(Tensor(t)).impl(); })
      .def("astype", [](const TP& t, DType d) { return cast(Tensor(t), d).impl(); })
      .def("contiguous", [](const TP& t) { return contiguous(Tensor(t)).impl(); })
      .def("clone", [](const TP& t) { return clone(Tensor(t)).impl(); })
      .def("backward", [](const TP& t, const OptTensor& g, bool retain_graph, bool create_graph) {
        gil::without_gil([&] { backward({Tensor(t)}, {Tensor(g.p)}, retain_graph, create_graph); });
      }, py::arg("grad") = py::none(), py::arg("retain_graph") = false, py::arg("create_graph") = false)
      .def("_tangent", [](const TP& t, int64_t level) { return Tensor(t).tangent(level).impl(); })
      .def("_set_tangent", [](const TP& t, int64_t level, const TP& v) { Tensor(t).set_tangent(level, Tensor(v)); })
      .def("_clear_tangent", [](const TP& t, int64_t level) {
        auto& v = t->tangents;
        v.erase(std::remove_if(v.begin(), v.end(), [&](auto& kv) { return kv.first == level; }), v.end());
      })
      .def("__dlpack__", [](const TP& t, py::object, py::object max_version, py::object, py::object) {
             bool v1 = false;
             if (!max_version.is_none()) v1 = max_version.cast<py::tuple>()[0].cast<int>() >= 1;
             return to_dlpack(t, v1);
           },
           py::arg("stream") = py::none(), py::arg("max_version") = py::none(), py::arg("dl_device") = py::none(),
           py::arg("copy") = py::none())
      .def("__dlpack_device__", [](const TP&) { return py::make_tuple(int(kDLCPU), 0); });

  // Arithmetic: one overload each, dispatching on the Python type by hand (faster than
  // pybind11's overload resolution, which matters for the per-op overhead).
  T.def("__add__", [](const TP& a, py::handle b) { return binop(a, b, fastgrad::add, add_scalar); })
      .def("__radd__", [](const TP& a, py::handle b) { return binop(a, b, [](const Tensor& x, const Tensor& y) { return add(y, x); }, add_scalar); })
      .def("__sub__", [](const TP& a, py::handle b) { return binop(a, b, fastgrad::sub, [](const Tensor& x, double s) { return add_scalar(x, -s); }); })
      .def("__rsub__", [](const TP& a, py::handle b) { return binop(a, b, [](const Tensor& x, const Tensor& y) { return sub(y, x); }, rsub_scalar); })
      .def("__mul__", [](const TP& a, py::handle b) { return binop(a, b, fastgrad::mul, mul_scalar); })
      .def("__rmul__", [](const TP& a, py::handle b) { return binop(a, b, [](const Tensor& x, const Tensor& y) { return mul(y, x); }, mul_scalar); })
      .def("__truediv__", [](const TP& a, py::handle b) { return binop(a, b, fastgrad::div, [](const Tensor& x, double s) { return mul_scalar(x, 1.0 / s); }); })
      .def("__rtruediv__", [](const TP& a, py::handle b) { return binop(a, b, [](const Tensor& x, const Tensor& y) { return div(y, x); }, rdiv_scalar); })
      .def("__pow__", [](const TP& a, py::handle b) { return binop(a, b, fastgrad::pow, pow_scalar); })
      .def("__rpow__", [](const TP& a, py::handle b) {
        Tensor A(a);
        Tensor B = to_tensor(b, A);
        return fastgrad::pow(B, A).impl();
      })
      .def("__matmul__", [](const TP& a, py::handle b) {
        Tensor A(a), B = to_tensor(b, A);
        return matmul(A, B).impl();
      })
      .def("__rmatmul__", [](const TP& a, py::handle b) {
        Tensor A(a), B = to_tensor(b, A);
        return matmul(B, A).impl();
      })
      .def("__neg__", [](const TP& a) { return neg(Tensor(a)).impl(); })
      .def("__pos__", [](const TP& a) { return a; })
      .def("__abs__", [](const TP& a) { return fastgrad::abs(Tensor(a)).impl(); })
      .def("__invert__", [](const TP& a) { return gil::kernel(shape_numel(a->shape), [&] { return logical_not(Tensor(a)).impl(); }); })
      .def("__and__", [](const TP& a, py::handle b) { Tensor A(a), B = to_tensor(b, A); return gil::kernel(A.numel() + B.numel(), [&] { return logical_and(A, B).impl(); }); })
      .def("__or__", [](const TP& a, py::handle b) { Tensor A(a), B = to_tensor(b, A); return gil::kernel(A.numel() + B.numel(), [&] { return logical_or(A, B).impl(); }); })
      .def("__eq__", [](const TP& a, py::handle b) { Tensor A(a), B = to_tensor(b, A); return gil::kernel(A.numel() + B.numel(), [&] { return compare(A, B, CmpOp::Eq).impl(); }); })
      .def("__ne__", [](const TP& a, py::handle b) { Tensor A(a), B = to_tensor(b, A); return gil::kernel(A.numel() + B.numel(), [&] { return compare(A, B, CmpOp::Ne).impl(); }); })
      .def("__lt__", [](const TP& a, py::handle b) { Tensor A(a), B = to_tensor(b, A); return gil::kernel(A.numel() + B.numel(), [&] { return compare(A, B, CmpOp::Lt).impl(); }); })
      .def("__le__", [](const TP& a, py::handle b) { Tensor A(a), B = to_tensor(b, A); return gil::kernel(A.numel() + B.numel(), [&] { return compare(A, B, CmpOp::Le).impl(); }); })
      .def("__gt__", [](const TP& a, py::handle b) { Tensor A(a), B = to_tensor(b, A); return gil::kernel(A.numel() + B.numel(), [&] { return compare(A, B, CmpOp::Gt).impl(); }); })
      .def("__ge__", [](const TP& a, py::handle b) { Tensor A(a), B = to_tensor(b, A); return gil::kernel(A.numel() + B.numel(), [&] { return compare(A, B, CmpOp::Ge).impl(); }); })
      .def("__hash__", [](const TP& a) { return reinterpret_cast<intptr_t>(a.get()); });

  // In-place updates (no autograd through them; they bump the version counter).
  T.def("copy_", [](const TP& a, py::handle b) {
        Tensor A(a);
        if (A.requires_grad() && grad_enabled() && !a->grad_fn)
          throw RuntimeError("copy_: a leaf tensor that requires grad is used in an in-place operation; use fg.no_grad()");
        Tensor B = to_tensor(b, A);
        gil::nogil(A.numel(), [&] { copy_(A, B); });
        return a;
      })
      .def("_inplace", [](const TP& a, const std::string& op, py::handle b) {
        Tensor A(a);
        if (A.requires_grad() && grad_enabled())
          throw RuntimeError(op + ": a tensor that requires grad is used in an in-place operation; use fg.no_grad()");
        Tensor B = to_tensor(b, A);
        GradModeGuard g(false);
        Tensor r = op == "add" ? add(A, B) : op == "sub" ? sub(A, B) : op == "mul" ? mul(A, B) : div(A, B);
        if (r.shape() != A.shape())
          throw ValueError(op + "_: result shape " + shape_str(r.shape()) + " does not match " + shape_str(A.shape()));
        gil::nogil(A.numel(), [&] { copy_(A, cast(r, A.dtype())); });
        return a;
      });

  // ---- module functions
  m.def("from_numpy", &from_numpy);
  m.def("_from_array_copy", &from_array_copy, py::arg("array"), py::arg("dtype") = py::none());
  m.def("from_dlpack", &from_dlpack);
  m.def("to_tensor", [](py::handle h, const TP& like) { return to_tensor(h, Tensor(like)).impl(); });

  m.def("full", [](const Shape& s, double v, DType d) { return gil::kernel(shape_numel(s), [&] { return full(s, v, d).impl(); }); });
  m.def("arange", [](double a, double b, double s, DType d) { return arange(a, b, s, d).impl(); });
  m.def("linspace", [](double a, double b, int64_t n, DType d) { return linspace(a, b, n, d).impl(); });
  m.def("eye", [](int64_t n, int64_t k, DType d) { return eye(n, k, d).impl(); });
  m.def("rand", [](const Shape& s, DType d) { return rand(s, d).impl(); });
  m.def("randn", [](const Shape& s, DType d) { return randn(s, d).impl(); });
  m.def("randint", [](int64_t lo, int64_t hi, const Shape& s) { return randint(lo, hi, s).impl(); });
  m.def("randperm", [](int64_t n) { return randperm(n).impl(); });
  m.def("manual_seed", &manual_seed);
  m.def("next_seed", &next_seed);

#define UNARY(NAME, FN)                                                                                     \
  m.def(NAME, [](const TP& x) { return gil::kernel(shape_numel(x->shape), [&] { return FN(Tensor(x)).impl(); }); }); \
  T.def(NAME, [](const TP& x) { return gil::kernel(shape_numel(x->shape), [&] { return FN(Tensor(x)).impl(); }); })
  UNARY("neg", neg); UNARY("exp", fastgrad::exp); UNARY("log", fastgrad::log); UNARY("log1p", fastgrad::log1p);
  UNARY("sqrt", fastgrad::sqrt); UNARY("abs", fastgrad::abs); UNARY("sin", fastgrad::sin); UNARY("cos", fastgrad::cos);
  UNARY("tanh", fastgrad::tanh); UNARY("sigmoid", sigmoid); UNARY("relu", relu); UNARY("silu", silu);
  UNARY("erf", fastgrad::erf); UNARY("sign", sign); UNARY("isnan", fastgrad::isnan); UNARY("isfinite", fastgrad::isfinite);
  UNARY("logical_not", logical_not); UNARY("clone", clone);
#undef UNARY
  m.def("gelu", [](const TP& x, bool approx) { return gelu(Tensor(x), approx).impl(); });
  m.def("gelu_deriv", [](const TP& x, bool approx) { return gelu_deriv(Tensor(x), approx).impl(); });
  m.def("softplus", [](const TP& x, double beta) { return softplus(Tensor(x), beta).impl(); });
  m.def("clip", [](const TP& x, std::optional<double> lo, std::optional<double> hi) { return clip(Tensor(x), lo, hi).impl(); });
  m.def("where", [](const TP& c, const TP& a, const TP& b) { return where(Tensor(c), Tensor(a), Tensor(b)).impl(); });
  m.def("cast", [](const TP& x, DType d) { return cast(Tensor(x), d).impl(); });

#define BINARY(NAME, FN) m.def(NAME, [](const TP& a, const TP& b) { return gil::kernel(shape_numel(a->shape) + shape_numel(b->shape), [&] { return FN(Tensor(a), Tensor(b)).impl(); }); })
  BINARY("add", add); BINARY("sub", sub); BINARY("mul", mul); BINARY("div", div); BINARY("pow", fastgrad::pow);
  BINARY("maximum", maximum); BINARY("minimum", minimum); BINARY("matmul", matmul);
  BINARY("logical_and", logical_and); BINARY("logical_or", logical_or);
#undef BINARY
  m.def("compare", [](const TP& a, const TP& b, int op) {
    return gil::kernel(shape_numel(a->shape) + shape_numel(b->shape),
                       [&] { return compare(Tensor(a), Tensor(b), static_cast<CmpOp>(op)).impl(); });
  });

#define REDUCE(NAME, FN)                                                                                    \
  m.def(NAME, [](const TP& x, py::object axis, bool keepdims) {                                            \
    Axes ax = to_axes(axis); return FN(Tensor(x), ax, keepdims).impl(); }, \
    py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false);                               \
  T.def(NAME, [](const TP& x, py::object axis, bool keepdims) {                                            \
    Axes ax = to_axes(axis); return FN(Tensor(x), ax, keepdims).impl(); }, \
    py::arg("axis") = py::none(), py::arg("keepdims") = false)
  REDUCE("sum", sum); REDUCE("mean", mean); REDUCE("amax", amax); REDUCE("amin", amin); REDUCE("prod", prod);
  REDUCE("logsumexp", logsumexp);
#undef REDUCE
  m.def("var", [](const TP& x, py::object axis, double correction, bool keepdims) { return var(Tensor(x), to_axes(axis), correction, keepdims).impl(); },
        py::arg("x"), py::arg("axis") = py::none(), py::arg("correction") = 0.0, py::arg("keepdims") = false);
  m.def("std", [](const TP& x, py::object axis, double correction, bool keepdims) { return std_(Tensor(x), to_axes(axis), correction, keepdims).impl(); },
        py::arg("x"), py::arg("axis") = py::none(), py::arg("correction") = 0.0, py::arg("keepdims") = false);
  m.def("argmax", [](const TP& x, std::optional<int64_t> axis, bool keepdims) { return gil::kernel(shape_numel(x->shape), [&] { return argmax(Tensor(x), axis, keepdims).impl(); }); },
        py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false);
  m.def("argmin", [](const TP& x, std::optional<int64_t> axis, bool keepdims) { return gil::kernel(shape_numel(x->shape), [&] { return argmin(Tensor(x), axis, keepdims).impl(); }); },
        py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = false);
  m.def("softmax", [](const TP& x, int64_t axis) { return softmax(Tensor(x), axis).impl(); });
  m.def("log_softmax", [](const TP& x, int64_t axis) { return log_softmax(Tensor(x), axis).impl(); });

  m.def("reshape", [](const TP& x, const Shape& s) { return reshape(Tensor(x), s).impl(); });
  m.def("permute", [](const TP& x, const Axes& p) { return permute(Tensor(x), p).impl(); });
  m.def("transpose", [](const TP& x, int64_t a, int64_t b) { return transpose(Tensor(x), a, b).impl(); });
  m.def("expand", [](const TP& x, const Shape& s) { return expand(Tensor(x), s).impl(); });
  m.def("squeeze", [](const TP& x, py::object axis) { return squeeze(Tensor(x), to_axes(axis)).impl(); });
  m.def("unsqueeze", [](const TP& x, int64_t a) { return unsqueeze(Tensor(x), a).impl(); });
  m.def("flatten", [](const TP& x, int64_t s, int64_t e) { return flatten(Tensor(x), s, e).impl(); });
  m.def("slice", [](const TP& x, const std::vector<std::tuple<int64_t, int64_t, int64_t>>& spec) {
    std::vector<SliceSpec> s;
    for (auto& [a, b, c] : spec) s.push_back({a, b, c});
    return slice(Tensor(x), s).impl();
  });
  m.def("slice_scatter", [](const TP& g, const Shape& shape, const std::vector<std::tuple<int64_t, int64_t, int64_t>>& spec) {
    std::vector<SliceSpec> s;
    for (auto& [a, b, c] : spec) s.push_back({a, b, c});
    return slice_scatter(Tensor(g), shape, s).impl();
  });
  m.def("concat", [](const std::vector<TP>& xs, int64_t axis) { return concat(to_tensors(xs), axis).impl(); });
  m.def("stack", [](const std::vector<TP>& xs, int64_t axis) { return stack(to_tensors(xs), axis).impl(); });
  m.def("split", [](const TP& x, const std::vector<int64_t>& sizes, int64_t axis) { return to_ptrs(split(Tensor(x), sizes, axis)); });
  m.def("pad", [](const TP& x, const std::vector<std::pair<int64_t, int64_t>>& p, double v) { return pad(Tensor(x), p, v).impl(); });
  m.def("index_select", [](const TP& x, int64_t axis, const TP& idx) { return index_select(Tensor(x), axis, Tensor(idx)).impl(); });
  m.def("index_add", [](const TP& g, const Shape& s, int64_t axis, const TP& idx) { return index_add(Tensor(g), s, axis, Tensor(idx)).impl(); });
  m.def("nonzero_flat", [](const TP& x) { return gil::kernel(shape_numel(x->shape), [&] { return nonzero_flat(Tensor(x)).impl(); }); });

  m.def("linear", [](const TP& x, const TP& w, const OptTensor& b, bool torch_layout, const std::string& activation) {
    Activation act = to_activation(activation, "linear");
    return linear(Tensor(x), Tensor(w), Tensor(b.p), torch_layout, act).impl();
  }, py::arg("x"), py::arg("w"), py::arg("bias").none(true), py::arg("torch_layout") = true,
     py::arg("activation") = "none");

  // ---- convolution and pooling
  m.def("conv", [](const TP& x, const TP& w, const OptTensor& b, const std::vector<int64_t>& stride, const std::vector<int64_t>& lo,
                   const std::vector<int64_t>& hi, const std::vector<int64_t>& dil, int64_t groups, bool cl,
                   const std::string& activation) {
    Activation act = to_activation(activation, "conv");
    return conv(Tensor(x), Tensor(w), Tensor(b.p), stride, lo, hi, dil, groups, cl, act).impl();
  }, py::arg("x"), py::arg("w"), py::arg("bias").none(true), py::arg("stride"), py::arg("pad_lo"), py::arg("pad_hi"),
     py::arg("dilation"), py::arg("groups"), py::arg("channels_last"), py::arg("activation") = "none");
  m.def("max_pool", [](const TP& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s, const std::vector<int64_t>& p, bool cl) {
    return max_pool(Tensor(x), k, s, p, cl).impl();
  });
  m.def("avg_pool", [](const TP& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s, const std::vector<int64_t>& p,
                       bool cip, bool cl) {
    return avg_pool(Tensor(x), k, s, p, cip, cl).impl();
  });
  m.def("adaptive_avg_pool", [](const TP& x, const std::vector<int64_t>& o, bool cl) {
    return adaptive_avg_pool(Tensor(x), o, cl).impl();
  });

  // ---- fused optimizer steps (in place; bump versions)
  m.def("sgd_step", [](const std::vector<TP>& params, const std::vector<TP>& grads, const std::vector<TP>& bufs, double lr,
                       double momentum, double dampening, double wd, bool nesterov, bool maximize, bool first_step) {
    run_step(params, [&](auto tag) {
      using T = decltype(tag);
      auto slots = make_slots<T>(params, grads, bufs, {}, {}, "sgd_step");
      gil::without_gil([&] { kernels::sgd_step<T>(slots.data(), static_cast<int64_t>(slots.size()), lr, momentum, dampening, wd, nesterov, maximize, first_step); });
    });
    bump(params);
    bump(bufs);
  });
  m.def("adam_step", [](const std::vector<TP>& params, const std::vector<TP>& grads, const std::vector<TP>& m1,
                        const std::vector<TP>& m2, const std::vector<TP>& vmax, double lr, double b1, double b2, double eps,
                        double wd, bool amsgrad, bool decoupled, bool maximize, int64_t step) {
    if (step < 1) throw ValueError("adam_step: step must be >= 1");
    if (amsgrad && vmax.empty()) throw ValueError("adam_step: amsgrad needs max_exp_avg_sqs");
    run_step(params, [&](auto tag) {
      using T = decltype(tag);
      auto slots = make_slots<T>(params, grads, m1, m2, vmax, "adam_step");
      if (m1.empty() || m2.empty()) throw ValueError("adam_step: exp_avgs and exp_avg_sqs are required");
      gil::without_gil([&] { kernels::adam_step<T>(slots.data(), static_cast<int64_t>(slots.size()), lr, b1, b2, eps, wd, amsgrad, decoupled, maximize, step); });
    });
    bump(params);
    bump(m1);
    bump(m2);
    bump(vmax);
  });
  m.def("rmsprop_step", [](const std::vector<TP>& params, const std::vector<TP>& grads, const std::vector<TP>& sq,
                           const std::vector<TP>& mom, const std::vector<TP>& gavg, double lr, double alpha, double eps,
                           double wd, double momentum, bool centered, bool maximize) {
    if (momentum > 0 && mom.empty()) throw ValueError("rmsprop_step: momentum needs momentum buffers");
    if (centered && gavg.empty()) throw ValueError("rmsprop_step: centered needs grad averages");
    run_step(params, [&](auto tag) {
      using T = decltype(tag);
      auto slots = make_slots<T>(params, grads, sq, mom, gavg, "rmsprop_step");
      if (sq.empty()) throw ValueError("rmsprop_step: square averages are required");
      gil::without_gil([&] { kernels::rmsprop_step<T>(slots.data(), static_cast<int64_t>(slots.size()), lr, alpha, eps, wd, momentum, centered, maximize); });
    });
    bump(params);
    bump(sq);
    bump(mom);
    bump(gavg);
  });

  // ---- autodiff
  m.def("grad_enabled", &grad_enabled);
  m.def("set_grad_enabled", &set_grad_enabled);
  m.def("backward", [](const std::vector<TP>& roots, const std::vector<OptTensor>& grads, bool retain, bool create) {
    Tensors g;
    for (auto& o : grads) g.emplace_back(o.p);
    gil::without_gil([&] { backward(to_tensors(roots), g, retain, create); });
  });
  m.def("grad", [](const std::vector<TP>& roots, const std::vector<OptTensor>& grads, const std::vector<TP>& inputs, bool retain,
                   bool create, bool allow_unused) {
    Tensors r, g;
    for (auto& o : grads) g.emplace_back(o.p);
    gil::without_gil([&] { r = grad(to_tensors(roots), g, to_tensors(inputs), retain, create, allow_unused); });
    std::vector<OptTensor> out;
    for (auto& t : r) out.push_back({t.impl()});
    return out;
  }, py::arg("outputs"), py::arg("grad_outputs"), py::arg("inputs"), py::arg("retain_graph") = false,
     py::arg("create_graph") = false, py::arg("allow_unused") = false);
  m.def("push_jvp_level", &push_jvp_level);
  m.def("pop_jvp_level", &pop_jvp_level);
  m.def("primitives", [] { return primitive_registry(); });

  // ---- runtime
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw ValueError("set_num_threads: n must be >= 1, got " + std::to_string(n));
    fastgrad::set_num_threads(n);
    if (n > 1 && fork_pinned_serial() &&
        PyErr_WarnEx(PyExc_RuntimeWarning,
                   "set_num_threads: this thread called fork() after running parallel kernels; OpenMP's "
                   "thread pool does not survive fork, so its kernels stay on one thread (threads started "
                   "in this process, and processes started with 'spawn', use the new count)", 1) < 0)
      throw py::error_already_set();  // warnings turned into errors
  }, "Threads for fastgrad's kernels, in every Python thread. After os.fork() the child starts on one "
     "thread; see the README.");
  m.def("get_num_threads", [] { return fastgrad::get_num_threads(); });
  m.def("isa", [] { return std::string(kernels::isa_name(kernels::active_isa())); },
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
