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
  // PyTorch's transpose(x, dim0, dim1) swaps two axes; NumPy's transpose(x, axes) permutes
  // (axes=None reverses them all).
  def_op(
      m, T, "transpose",
      [](py::handle h, py::handle a, py::handle b, py::handle axes, py::handle dim0, py::handle dim1) {
        Tensor x = tensor_arg(h, "transpose");
        if (PyTuple_Check(a.ptr()) || PyList_Check(a.ptr())) {
          if (!b.is_none()) throw TypeError("transpose: a permutation (axes) takes no second axis");
          axes = either_kw("transpose", a, "axes", axes, "axes");
          a = py::none();
        }
        py::object d0 = either_kw("transpose", a, "a", dim0, "dim0"),
                   d1 = either_kw("transpose", b, "b", dim1, "dim1");
        if (!axes.is_none()) {
          if (!d0.is_none() || !d1.is_none())
            throw TypeError("transpose: got both axes= and two axes to swap");
          return permute(x, int_seq(axes, "transpose", "axes")).impl();
        }
        const auto nd = static_cast<int64_t>(x.shape().size());
        if (d0.is_none() && d1.is_none()) {
          Axes p(static_cast<size_t>(nd));
          for (int64_t i = 0; i < nd; ++i) p[static_cast<size_t>(i)] = nd - 1 - i;
          return permute(x, p).impl();
        }
        if (d0.is_none() || d1.is_none()) throw TypeError("transpose: expected two axes (dim0, dim1)");
        return transpose(x, axis_kw("transpose", d0, py::none(), std::nullopt),
                         axis_kw("transpose", d1, py::none(), std::nullopt))
            .impl();
      },
      py::arg("x"), py::arg("a") = py::none(), py::arg("b") = py::none(), py::kw_only(),
      py::arg("axes") = py::none(), py::arg("dim0") = py::none(), py::arg("dim1") = py::none(),
      "transpose(x, a=None, b=None, *, axes=None, dim0=None, dim1=None) -> Tensor\n\nA view of x. Two "
      "ints a, b (PyTorch's dim0, dim1) swap those axes; a permutation (NumPy's axes, positional or "
      "axes=) reorders them: output axis i is input axis axes[i]; no argument reverses all axes (the "
      "matrix transpose for 2-d x).");
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
      [](py::handle h, py::handle dim, py::handle ax) {
        Tensor x = tensor_arg(h, "squeeze");
        py::object axis = either_kw("squeeze", dim, "dim", ax, "axis");
        // axis=() squeezes nothing (NumPy, PyTorch); to_axes maps "no axes" to "all axes".
        if ((PyTuple_Check(axis.ptr()) || PyList_Check(axis.ptr())) && py::len(axis) == 0)
          return reshape(x, x.shape()).impl();
        Axes axes = to_axes(axis);
        if (!ax.is_none() || axes.empty()) return squeeze(x, axes).impl();
        // PyTorch's dim: an axis whose size is not 1 is left as it is (NumPy's axis= raises).
        const auto nd = static_cast<int64_t>(x.shape().size());
        Axes ones;
        for (int64_t a : axes) {
          const int64_t d = normalize_axis(a, std::max<int64_t>(nd, 1), "squeeze");
          if (d < nd && x.shape()[static_cast<size_t>(d)] == 1) ones.push_back(d);
        }
        return ones.empty() ? reshape(x, x.shape()).impl() : squeeze(x, ones).impl();
      },
      py::arg("x"), py::arg("dim") = py::none(), py::kw_only(), py::arg("axis") = py::none(),
      "squeeze(x, dim=None, *, axis=None) -> Tensor\n\nA view of x without size-1 axes: all of them "
      "(None), or those of dim (an int or a tuple; PyTorch: an axis of another size stays), or those of "
      "axis= (NumPy: each must have size 1, ValueError otherwise).");
  def_op(
      m, T, "unsqueeze",
      [](py::handle h, py::handle axis, py::handle dim) {
        Tensor x = tensor_arg(h, "unsqueeze");
        return unsqueeze(x, axis_kw("unsqueeze", axis, dim, std::nullopt)).impl();
      },
      py::arg("x"), py::arg("axis") = py::none(), py::kw_only(), py::arg("dim") = py::none(),
      "unsqueeze(x, axis, *, dim=None) -> Tensor\n\nx with a new size-1 axis at position axis (or dim; a "
      "view).");
  def_op(
      m, T, "flatten",
      [](py::handle h, py::handle s, py::handle e, py::handle sd, py::handle ed) {
        Tensor x = tensor_arg(h, "flatten");
        py::object a = either_kw("flatten", s, "start", sd, "start_dim"),
                   b = either_kw("flatten", e, "end", ed, "end_dim");
        return flatten(x, axis_kw("flatten", a, py::none(), 0), axis_kw("flatten", b, py::none(), -1)).impl();
      },
      py::arg("x"), py::arg("start") = py::none(), py::arg("end") = py::none(), py::kw_only(),
      py::arg("start_dim") = py::none(), py::arg("end_dim") = py::none(),
      "flatten(x, start=0, end=-1, *, start_dim=None, end_dim=None) -> Tensor\n\nx with axes start..end "
      "(inclusive; PyTorch's start_dim, end_dim) merged into one.");
  m.def(
      "concat",
      [](py::handle xs, py::handle axis, py::handle dim) {
        Tensors ts = tensor_list(xs, "concat");
        return concat(ts, axis_kw("concat", axis, dim, 0)).impl();
      },
      py::arg("xs"), py::arg("axis") = py::none(), py::kw_only(), py::arg("dim") = py::none(),
      "concat(xs, axis=0, *, dim=None) -> Tensor\n\nThe tensors xs joined along an existing axis (or dim); "
      "all other axes must agree.");
  m.def(
      "stack",
      [](py::handle xs, py::handle axis, py::handle dim) {
        Tensors ts = tensor_list(xs, "stack");
        return stack(ts, axis_kw("stack", axis, dim, 0)).impl();
      },
      py::arg("xs"), py::arg("axis") = py::none(), py::kw_only(), py::arg("dim") = py::none(),
      "stack(xs, axis=0, *, dim=None) -> Tensor\n\nThe equal-shape tensors xs joined along a new axis: "
      "(len(xs), ...) "
      "for axis=0.");
  // PyTorch semantics: an int is a chunk size (the last chunk may be smaller); a sequence
  // gives the section sizes.
  def_op(
      m, T, "split",
      [](py::handle h, py::handle sections, py::handle ax, py::handle dim) {
        Tensor x = tensor_arg(h, "split");
        const int64_t axis = axis_kw("split", ax, dim, 0);
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
      py::arg("x"), py::arg("split_size_or_sections"), py::arg("axis") = py::none(), py::kw_only(),
      py::arg("dim") = py::none(),
      "split(x, split_size_or_sections, axis=0, *, dim=None) -> list[Tensor]\n\nx cut along axis into chunks "
      "of the "
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
