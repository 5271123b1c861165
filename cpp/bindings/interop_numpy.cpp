// NumPy interop: sharing memory (from_numpy, the buffer protocol) and copying array-likes.
#include <cstring>

#include "convert.h"

namespace fastgrad::bindings {
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

// Every element's byte offset from the array's data pointer (row-major order).
std::vector<int64_t> element_offsets(const py::array& arr) {
  std::vector<int64_t> offs{0};
  for (py::ssize_t d = 0; d < arr.ndim(); ++d) {
    std::vector<int64_t> next;
    next.reserve(offs.size() * static_cast<size_t>(arr.shape(d)));
    for (int64_t o : offs)
      for (py::ssize_t i = 0; i < arr.shape(d); ++i) next.push_back(o + i * arr.strides(d));
    offs.swap(next);
  }
  return offs;
}

// Shares the array's memory (float32/float64/int64/bool), with its strides: a slice such
// as a[3:, :-1] is a view of the same buffer, as torch.from_numpy makes it. Negative
// strides are refused as torch refuses them (a[::-1]: copy it with fg.tensor).
TP from_numpy(py::array arr) {
  DType d = np_to_dtype(arr.dtype(), "from_numpy");
  if (arr.dtype().kind() == 'u' || (arr.dtype().kind() == 'i' && arr.itemsize() != 8))
    throw TypeError("from_numpy: only int64 integers can share memory, got " +
                    std::string(py::str(arr.dtype())));
  if (arr.dtype().byteorder() == '>') throw TypeError("from_numpy: non-native byte order");
  const int64_t isz = arr.itemsize();
  int64_t lo = 0, hi = 0;  // byte range the view reads, relative to arr.data()
  bool empty = false;
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) {
    if (arr.shape(i) == 0) empty = true;
    if (arr.strides(i) % isz != 0)
      throw ValueError("from_numpy: strides " +
                       std::string(py::str(
                           py::cast(std::vector<py::ssize_t>(arr.strides(), arr.strides() + arr.ndim())))) +
                       " are not multiples of the item size " + std::to_string(isz) +
                       "; use fg.tensor(a) to copy");
    if (arr.strides(i) < 0)
      throw ValueError(
          "from_numpy: negative strides are not supported (as in torch.from_numpy); "
          "use fg.tensor(a) to copy");
    hi += (arr.shape(i) - 1) * arr.strides(i);
  }
  if (empty) lo = hi = 0;
  auto* base = static_cast<uint8_t*>(const_cast<void*>(arr.data()));
  if (d == DType::Bool && !empty) {
    if (arr.flags() & py::array::c_style) {
      canonical_bools(base, arr.size(), 1, !arr.writeable(), "from_numpy");
    } else {  // only the array's own bytes, never the gaps between them
      const std::vector<int64_t> offs = element_offsets(arr);
      bool bad = false;
      for (int64_t o : offs) bad |= base[o] > 1;
      if (bad && !arr.writeable())
        throw ValueError(
            "from_numpy: read-only bool memory holds bytes other than 0/1 and cannot be shared; "
            "copy it with fg.tensor(...) (which normalises them)");
      if (bad)
        for (int64_t o : offs) base[o] = base[o] != 0;
    }
  }
  auto holder = std::shared_ptr<void>(new py::object(arr), [](void* p) {
    gil::with_gil_or_leak([p] { delete static_cast<py::object*>(p); });
  });
  auto t = std::make_shared<TensorImpl>();
  const size_t nbytes = empty ? 0 : static_cast<size_t>(hi - lo + isz);
  t->storage = Storage::wrap(base + lo, nbytes, holder);
  t->storage->readonly = !arr.writeable();
  t->shape.assign(arr.shape(), arr.shape() + arr.ndim());
  t->strides.clear();
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) t->strides.push_back(empty ? 0 : arr.strides(i) / isz);
  if (empty) t->strides = contiguous_strides(t->shape);
  t->offset = -lo / isz;
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

void bind_numpy(py::module_& m, TensorClass& T) {
  T.def_buffer([](TensorImpl& t) -> py::buffer_info {
    // np.asarray/np.array/memoryview (and .numpy(), .item(), float(), ... built on them)
    // while a transform traces f: a value that carries the transform's derivative must
    // not leave the graph silently (fastgrad/_trace.py raises, naming the transform).
    if (trace_depth() > 0)
      py::module_::import("fastgrad._trace")
          .attr("check_conversion")(py::cast(&t, py::return_value_policy::reference),
                                    "np.asarray (the buffer protocol)");
    if (t.bvalue) throw_batched_access(&t);
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

  m.def(
      "from_numpy", &from_numpy, py::arg("a"),
      "from_numpy(a) -> Tensor\n\nA tensor sharing the memory of the C-contiguous float32/float64/int64/bool "
      "array a (same shape).");
  m.def("_from_array_copy", &from_array_copy, py::arg("array"), py::arg("dtype") = py::none(),
        "_from_array_copy(array, dtype=None) -> Tensor\n\nA copy of the array-like (same shape).");
  m.def(
      "to_tensor", [](py::handle h, const TP& like) { return to_tensor(h, Tensor(like)).impl(); },
      py::arg("x"), py::arg("like"),
      "to_tensor(x, like) -> Tensor\n\nx converted as an operand of like (a number takes like's float "
      "dtype).");
}
}  // namespace fastgrad::bindings
