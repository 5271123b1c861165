// DLPack export (Tensor.__dlpack__) and import (fg.from_dlpack), both zero-copy.
#include "dlpack.h"
#include "convert.h"

namespace fastgrad::bindings {
// Fills a DLTensor describing `t`; shape and strides live in one array owned by `ctx`.
struct DLContext {
  TP tensor;
  std::vector<int64_t> dims;
};
void fill_dl(DLTensor& dl, DLContext* ctx) {
  Tensor x(ctx->tensor);
  if (x.is_batched()) throw_batched_access(x.get());
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
  if (trace_depth() > 0)
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

void bind_dlpack(py::module_& m, TensorClass& T) {
  T.def(
       "__dlpack__",
       [](const TP& t, py::object stream, py::object max_version, py::object dl_device, py::object copy) {
         return dlpack_export(t, stream, max_version, dl_device, copy);
       },
       py::arg("stream") = py::none(), py::arg("max_version") = py::none(), py::arg("dl_device") = py::none(),
       py::arg("copy") = py::none())
      .def("__dlpack_device__", [](const TP&) { return py::make_tuple(int(kDLCPU), 0); });
  m.def("from_dlpack", &from_dlpack, py::arg("obj"),
        "from_dlpack(obj) -> Tensor\n\nA tensor sharing the memory of obj (an object with __dlpack__ or a "
        "DLPack capsule, CPU, float32/64, int64 or bool); same shape and strides.");
}
}  // namespace fastgrad::bindings
