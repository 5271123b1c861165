// Shape ops: views, slicing, joining, padding, indexing.
#include "convert.h"

namespace fastgrad::bindings {
void bind_shape(py::module_& m, TensorClass& T) {
  def_op(
      m, T, "reshape",
      [](py::handle h, const py::args& shape) {
        return reshape(tensor_arg(h, "reshape"), dims_arg(shape, "reshape")).impl();
      },
      py::arg("x"),
      "reshape(x, *shape) -> Tensor\n\nx with a new shape of the same size (one entry may be -1); a view "
      "when x is contiguous. shape: ints or one sequence of ints.");
  def_method_alias(T, "view", "reshape");
  def_op(
      m, T, "permute",
      [](py::handle h, const py::args& dims) {
        return permute(tensor_arg(h, "permute"), dims_arg(dims, "permute", "dims")).impl();
      },
      py::arg("x"),
      "permute(x, *dims) -> Tensor\n\nx with its axes reordered: output axis i is input axis dims[i] (a "
      "view). dims: ints or one sequence, a permutation of range(x.ndim).");
  def_op(
      m, T, "transpose",
      [](py::handle h, int64_t a, int64_t b) { return transpose(tensor_arg(h, "transpose"), a, b).impl(); },
      py::arg("x"), py::arg("a") = -2, py::arg("b") = -1,
      "transpose(x, a=-2, b=-1) -> Tensor\n\nx with axes a and b swapped (a view); same shape otherwise.");
  // -1 keeps the size of that axis (PyTorch's expand).
  def_op(
      m, T, "expand",
      [](py::handle h, const py::args& shape) {
        Tensor x = tensor_arg(h, "expand");
        Shape s = dims_arg(shape, "expand");
        const int64_t lead = static_cast<int64_t>(s.size()) - static_cast<int64_t>(x.shape().size());
        for (size_t i = 0; i < s.size(); ++i)
          if (s[i] == -1 && static_cast<int64_t>(i) >= lead) s[i] = x.shape()[i - lead];
        return expand(x, s).impl();
      },
      py::arg("x"),
      "expand(x, *shape) -> Tensor\n\nx broadcast to shape (a view, NumPy broadcasting rules); -1 keeps "
      "that axis' size.");
  def_op(
      m, T, "broadcast_to",
      [](py::handle h, py::handle shape) {
        return expand(tensor_arg(h, "broadcast_to"), int_seq(shape, "broadcast_to", "shape")).impl();
      },
      py::arg("x"), py::arg("shape"),
      "broadcast_to(x, shape) -> Tensor\n\nx broadcast to shape (a view, NumPy broadcasting rules).");
  def_op(
      m, T, "squeeze",
      [](py::handle h, py::handle axis) {
        Tensor x = tensor_arg(h, "squeeze");
        // axis=() squeezes nothing (NumPy, PyTorch); to_axes maps "no axes" to "all axes".
        if ((PyTuple_Check(axis.ptr()) || PyList_Check(axis.ptr())) && py::len(axis) == 0)
          return reshape(x, x.shape()).impl();
        return squeeze(x, to_axes(py::reinterpret_borrow<py::object>(axis))).impl();
      },
      py::arg("x"), py::arg("axis") = py::none(),
      "squeeze(x, axis=None) -> Tensor\n\nx without the size-1 axes given (None: all of them); a view.");
  def_op(
      m, T, "unsqueeze",
      [](py::handle h, int64_t a) { return unsqueeze(tensor_arg(h, "unsqueeze"), a).impl(); }, py::arg("x"),
      py::arg("axis"), "unsqueeze(x, axis) -> Tensor\n\nx with a new size-1 axis at position axis (a view).");
  def_op(
      m, T, "flatten",
      [](py::handle h, int64_t s, int64_t e) { return flatten(tensor_arg(h, "flatten"), s, e).impl(); },
      py::arg("x"), py::arg("start") = 0, py::arg("end") = -1,
      "flatten(x, start=0, end=-1) -> Tensor\n\nx with axes start..end (inclusive) merged into one.");
  m.def(
      "concat", [](py::handle xs, int64_t axis) { return concat(tensor_list(xs, "concat"), axis).impl(); },
      py::arg("xs"), py::arg("axis") = 0,
      "concat(xs, axis=0) -> Tensor\n\nThe tensors xs joined along an existing axis; all other axes must "
      "agree.");
  m.def(
      "stack", [](py::handle xs, int64_t axis) { return stack(tensor_list(xs, "stack"), axis).impl(); },
      py::arg("xs"), py::arg("axis") = 0,
      "stack(xs, axis=0) -> Tensor\n\nThe equal-shape tensors xs joined along a new axis: (len(xs), ...) "
      "for axis=0.");
  // PyTorch semantics: an int is a chunk size (the last chunk may be smaller); a sequence
  // gives the section sizes.
  def_op(
      m, T, "split",
      [](py::handle h, py::handle sections, int64_t axis) {
        Tensor x = tensor_arg(h, "split");
        const auto nd = static_cast<int64_t>(x.shape().size());
        if (nd == 0) throw ValueError("split: cannot split a 0-d tensor");
        if (axis < -nd || axis >= nd)
          throw IndexError("split: axis " + std::to_string(axis) +
                           " is out of bounds for a tensor of shape " + shape_str(x.shape()));
        std::vector<int64_t> sizes;
        if (is_int_like(sections.ptr()) && !PyBool_Check(sections.ptr())) {
          const int64_t k = py_int64(sections.ptr(), "split"), n = x.shape()[(axis + nd) % nd];
          if (k <= 0) throw ValueError("split: chunk size must be positive, got " + std::to_string(k));
          sizes.assign(static_cast<size_t>(n / k), k);
          if (n % k) sizes.push_back(n % k);
        } else {
          sizes = int_seq(sections, "split", "split_size_or_sections");
        }
        return to_ptrs(split(x, sizes, axis));
      },
      py::arg("x"), py::arg("split_size_or_sections"), py::arg("axis") = 0,
      "split(x, split_size_or_sections, axis=0) -> list[Tensor]\n\nx cut along axis into chunks of the "
      "given size (an int; the last may be smaller) or of the given section sizes (a sequence).");
  // NumPy's pad_width: ((before, after), ...) per axis, or one int / one pair for every axis.
  def_op(
      m, T, "pad",
      [](py::handle h, py::handle width, py::handle value) {
        Tensor x = tensor_arg(h, "pad");
        const size_t nd = x.shape().size();
        std::vector<std::pair<int64_t, int64_t>> p;
        auto pair = [](py::handle w) {
          Shape s = int_seq(w, "pad", "pad_width");
          if (s.size() != 2) throw ValueError("pad: each pad_width entry must be a (before, after) pair");
          return std::make_pair(s[0], s[1]);
        };
        if (is_int_like(width.ptr())) {
          const int64_t w = py_int64(width.ptr(), "pad");
          p.assign(nd, {w, w});
        } else {
          py::sequence seq = py::reinterpret_borrow<py::sequence>(width);
          if (py::len(seq) == 2 && is_int_like(seq[0].ptr()) && is_int_like(seq[1].ptr()))
            p.assign(nd, pair(width));
          else
            for (auto w : seq) p.push_back(pair(w));
        }
        if (p.size() != nd)
          throw ValueError("pad: got " + std::to_string(p.size()) +
                           " (before, after) pairs for a tensor of shape " + shape_str(x.shape()));
        if (is_int_like(value.ptr())) return pad_int(x, p, py_int64(value.ptr(), "pad")).impl();  // exact
        return pad(x, p, py_double(value.ptr(), "pad")).impl();
      },
      py::arg("x"), py::arg("pad_width"), py::arg("value") = 0.0,
      "pad(x, pad_width, value=0.0) -> Tensor\n\nConstant padding, NumPy style: pad_width is ((before, "
      "after), ...) per axis, or one int / one (before, after) pair for every axis; int values stay exact "
      "for int64 tensors.");
  m.def(
      "slice",
      [](const TP& x, const std::vector<std::tuple<int64_t, int64_t, int64_t>>& spec) {
        std::vector<SliceSpec> s;
        for (auto& [a, b, c] : spec) s.push_back({a, b, c});
        return slice(Tensor(x), s).impl();
      },
      py::arg("x"), py::arg("spec"),
      "slice(x, spec) -> Tensor\n\nThe view x[start:stop:step, ...] for spec = [(start, stop, step)] per "
      "axis (steps > 0).");
  m.def(
      "slice_scatter",
      [](const TP& g, const Shape& shape, const std::vector<std::tuple<int64_t, int64_t, int64_t>>& spec) {
        std::vector<SliceSpec> s;
        for (auto& [a, b, c] : spec) s.push_back({a, b, c});
        return slice_scatter(Tensor(g), shape, s).impl();
      },
      py::arg("g"), py::arg("shape"), py::arg("spec"),
      "slice_scatter(g, shape, spec) -> Tensor\n\nZeros of shape with g written at the slice spec (the "
      "adjoint of slice).");
  m.def(
      "index_select",
      [](const TP& x, int64_t axis, const TP& idx) {
        return index_select(Tensor(x), axis, Tensor(idx)).impl();
      },
      py::arg("x"), py::arg("axis"), py::arg("index"),
      "index_select(x, axis, index) -> Tensor\n\nx's entries at the int64 positions index along axis: "
      "x.shape with axis replaced by index.shape.");
  m.def(
      "index_add",
      [](const TP& g, const Shape& s, int64_t axis, const TP& idx) {
        return index_add(Tensor(g), s, axis, Tensor(idx)).impl();
      },
      py::arg("g"), py::arg("shape"), py::arg("axis"), py::arg("index"),
      "index_add(g, shape, axis, index) -> Tensor\n\nZeros of shape with g's slices added at the positions "
      "index along axis (the adjoint of index_select).");
  m.def(
      "nonzero_flat", [](const TP& x) { return nonzero_flat(Tensor(x)).impl(); }, py::arg("mask"),
      "nonzero_flat(mask) -> Tensor\n\nThe int64 flat positions (n,) of mask's true entries (no gradient).");
}
}  // namespace fastgrad::bindings
