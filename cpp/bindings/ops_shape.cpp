// Shape ops: views, slicing, joining, padding, indexing.
#include "convert.h"

namespace fastgrad::bindings {
void bind_shape(py::module_& m) {
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
}
}  // namespace fastgrad::bindings
