// PyTorch's and NumPy's derived shape ops (narrow, chunk, tensor_split, unflatten, movedim,
// swapaxes, expand_dims): composites of slice, split, reshape and permute, so they are
// views where those are and their gradients are those ops' gradients.
#include "convert.h"

namespace fastgrad::bindings {
namespace {
int64_t checked_axis(const Tensor& x, int64_t a, const char* op) {
  return normalize_axis(a, static_cast<int64_t>(x.shape().size()), op);
}

// x[..., start:stop, ...] along axis (start <= stop, both within the axis).
Tensor range_along(const Tensor& x, int64_t axis, int64_t start, int64_t stop) {
  std::vector<SliceSpec> spec;
  for (size_t d = 0; d < x.shape().size(); ++d)
    spec.push_back(static_cast<int64_t>(d) == axis ? SliceSpec{start, stop, 1}
                                                   : SliceSpec{0, x.shape()[d], 1});
  return slice(x, spec);
}

// An int argument that may also be a one-element int64 tensor (PyTorch accepts both).
int64_t int_arg(py::handle h, const char* op, const char* arg) {
  if (PyBool_Check(h.ptr()) || !is_int_like(h.ptr()))
    throw TypeError(std::string(op) + ": " + arg + " must be an int, got " + std::string(py::repr(h)));
  return py_int64(h.ptr(), op);
}

std::vector<int64_t> int_or_seq(py::handle h, const char* op, const char* arg) {
  if (is_int_like(h.ptr()) && !PyBool_Check(h.ptr())) return {py_int64(h.ptr(), op)};
  return int_seq(h, op, arg);
}

// NumPy's moveaxis: the axes not moved keep their order; the moved ones land at destination.
Axes moved_perm(const Tensor& x, const std::vector<int64_t>& src, const std::vector<int64_t>& dst,
                const char* op) {
  const auto nd = static_cast<int64_t>(x.shape().size());
  if (src.size() != dst.size())
    throw ValueError(std::string(op) + ": source and destination must have the same number of axes, got " +
                     std::to_string(src.size()) + " and " + std::to_string(dst.size()));
  std::vector<std::pair<int64_t, int64_t>> moves;
  std::vector<bool> seen_s(static_cast<size_t>(nd)), seen_d(static_cast<size_t>(nd));
  for (size_t i = 0; i < src.size(); ++i) {
    const int64_t s = normalize_axis(src[i], nd, op), d = normalize_axis(dst[i], nd, op);
    if (seen_s[static_cast<size_t>(s)] || seen_d[static_cast<size_t>(d)])
      throw ValueError(std::string(op) + ": repeated axis in source or destination");
    seen_s[static_cast<size_t>(s)] = seen_d[static_cast<size_t>(d)] = true;
    moves.emplace_back(d, s);
  }
  Axes order;
  for (int64_t a = 0; a < nd; ++a)
    if (!seen_s[static_cast<size_t>(a)]) order.push_back(a);
  std::sort(moves.begin(), moves.end());
  for (auto& [d, s] : moves) order.insert(order.begin() + d, s);
  return order;
}
}  // namespace

void bind_shape2(py::module_& m, TensorClass& T) {
  def_op(
      m, T, "narrow",
      [](py::handle h, py::handle dim, py::handle start, py::handle length) {
        Tensor x = tensor_arg(h, "narrow");
        if (x.shape().empty()) throw IndexError("narrow: cannot narrow a 0-d tensor");
        const int64_t a = checked_axis(x, int_arg(dim, "narrow", "dim"), "narrow"), n = x.shape()[a];
        int64_t s = int_arg(start, "narrow", "start");
        const int64_t len = int_arg(length, "narrow", "length");
        if (s < -n || s > n)
          throw IndexError("narrow: start " + std::to_string(s) + " is out of range [-" + std::to_string(n) +
                           ", " + std::to_string(n) + "] for axis " + std::to_string(a) + " of shape " +
                           shape_str(x.shape()));
        if (s < 0) s += n;
        if (len < 0 || s + len > n)
          throw ValueError("narrow: start (" + std::to_string(s) + ") + length (" + std::to_string(len) +
                           ") exceeds the size " + std::to_string(n) + " of axis " + std::to_string(a) +
                           " of shape " + shape_str(x.shape()));
        return range_along(x, a, s, s + len).impl();
      },
      py::arg("x"), py::arg("dim"), py::arg("start"), py::arg("length"),
      "narrow(x, dim, start, length) -> Tensor\n\nThe view x[..., start:start + length, ...] along axis dim "
      "(start may be negative); x.shape with that axis of size length.");
  def_op(
      m, T, "chunk",
      [](py::handle h, py::handle chunks, py::handle axis, py::handle dim) {
        Tensor x = tensor_arg(h, "chunk");
        const int64_t k = int_arg(chunks, "chunk", "chunks");
        if (k <= 0) throw ValueError("chunk: chunks must be positive, got " + std::to_string(k));
        if (x.shape().empty()) throw ValueError("chunk: cannot chunk a 0-d tensor");
        const int64_t a = checked_axis(x, axis_kw("chunk", axis, dim, 0), "chunk"), n = x.shape()[a];
        // PyTorch: pieces of ceil(n / k) (the last smaller), so fewer than k when k does not divide n.
        if (n == 0) return to_ptrs(Tensors(static_cast<size_t>(k), range_along(x, a, 0, 0)));
        const int64_t size = (n + k - 1) / k;
        std::vector<int64_t> sizes(static_cast<size_t>(n / size), size);
        if (n % size) sizes.push_back(n % size);
        return to_ptrs(split(x, sizes, a));
      },
      py::arg("x"), py::arg("chunks"), py::arg("axis") = py::none(), py::kw_only(),
      py::arg("dim") = py::none(),
      "chunk(x, chunks, axis=0, *, dim=None) -> list[Tensor]\n\nx cut along axis (or dim) into pieces of "
      "ceil(n / chunks) (the last may be smaller; PyTorch's rule, so there may be fewer than chunks).");
  def_op(
      m, T, "tensor_split",
      [](py::handle h, py::handle sections, py::handle axis, py::handle dim) {
        Tensor x = tensor_arg(h, "tensor_split");
        if (x.shape().empty()) throw ValueError("tensor_split: cannot split a 0-d tensor");
        const int64_t a = checked_axis(x, axis_kw("tensor_split", axis, dim, 0), "tensor_split"),
                      n = x.shape()[a];
        Tensors out;
        const bool is_count = is_int_like(sections.ptr()) && !PyBool_Check(sections.ptr()) &&
                              (!py::isinstance<TensorImpl>(sections) || sections.cast<TP>()->shape.empty());
        if (is_count) {
          // NumPy's array_split: the first n % k pieces get one extra element.
          const int64_t k = py_int64(sections.ptr(), "tensor_split");
          if (k <= 0) throw ValueError("tensor_split: sections must be positive, got " + std::to_string(k));
          int64_t at = 0;
          for (int64_t i = 0; i < k; ++i) {
            const int64_t len = n / k + (i < n % k ? 1 : 0);
            out.push_back(range_along(x, a, at, at + len));
            at += len;
          }
          return to_ptrs(out);
        }
        py::object seq = py::reinterpret_borrow<py::object>(sections);
        if (py::isinstance<TensorImpl>(sections)) seq = sections.attr("tolist")();
        // Split points as Python slice bounds: negative counts from the end, clamped to the axis.
        auto clamp = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
        int64_t prev = 0;
        for (int64_t idx : int_seq(seq, "tensor_split", "indices_or_sections")) {
          const int64_t stop = clamp(idx);
          out.push_back(range_along(x, a, std::min(prev, stop), stop));
          prev = stop;
        }
        out.push_back(range_along(x, a, prev, n));
        return to_ptrs(out);
      },
      py::arg("x"), py::arg("indices_or_sections"), py::arg("axis") = py::none(), py::kw_only(),
      py::arg("dim") = py::none(),
      "tensor_split(x, indices_or_sections, axis=0, *, dim=None) -> list[Tensor]\n\nViews of x along axis "
      "(or dim): an int k gives k pieces (the first n % k one longer), a sequence (or int64 tensor) of "
      "indices the pieces between those split points.");
  def_op(
      m, T, "unflatten",
      [](py::handle h, py::handle dim, py::handle sizes) {
        Tensor x = tensor_arg(h, "unflatten");
        if (x.shape().empty()) throw IndexError("unflatten: cannot unflatten a 0-d tensor");
        const int64_t a = checked_axis(x, int_arg(dim, "unflatten", "dim"), "unflatten");
        const std::vector<int64_t> s = int_seq(sizes, "unflatten", "sizes");
        int64_t known = 1, free = 0;
        for (int64_t v : s) v == -1 ? ++free : known *= v;
        const int64_t n = x.shape()[a];
        if (s.empty() || free > 1 || (free == 0 && known != n) || (free == 1 && (known == 0 || n % known)))
          throw ValueError("unflatten: sizes " + shape_str(s) + " do not multiply up to the size " +
                           std::to_string(n) + " of axis " + std::to_string(a) + " of shape " +
                           shape_str(x.shape()));
        Shape out(x.shape().begin(), x.shape().begin() + a);
        out.insert(out.end(), s.begin(), s.end());
        out.insert(out.end(), x.shape().begin() + a + 1, x.shape().end());
        return reshape(x, out).impl();
      },
      py::arg("x"), py::arg("dim"), py::arg("sizes"),
      "unflatten(x, dim, sizes) -> Tensor\n\nAxis dim of x expanded into the axes sizes (one may be -1); "
      "x.shape[:dim] + sizes + x.shape[dim+1:].");
  for (const char* name : {"movedim", "moveaxis"})
    def_op(
        m, T, name,
        [name](py::handle h, py::handle source, py::handle destination) {
          Tensor x = tensor_arg(h, name);
          return permute(x, moved_perm(x, int_or_seq(source, name, "source"),
                                       int_or_seq(destination, name, "destination"), name))
              .impl();
        },
        py::arg("x"), py::arg("source"), py::arg("destination"),
        "(x, source, destination) -> Tensor\n\nA view of x with the axes source (an int or a sequence) moved "
        "to the positions destination; the other axes keep their order.");
  for (const char* name : {"swapaxes", "swapdims"})
    def_op(
        m, T, name,
        [name](py::handle h, py::handle a, py::handle b) {
          return transpose(tensor_arg(h, name), int_arg(a, name, "axis0"), int_arg(b, name, "axis1")).impl();
        },
        py::arg("x"), py::arg("axis0"), py::arg("axis1"),
        "(x, axis0, axis1) -> Tensor\n\nA view of x with axes axis0 and axis1 swapped (transpose).");
  def_op(
      m, T, "expand_dims",
      [](py::handle h, py::handle axis) {
        Tensor x = tensor_arg(h, "expand_dims");
        std::vector<int64_t> axes = int_or_seq(axis, "expand_dims", "axis");
        const auto nd = static_cast<int64_t>(x.shape().size() + axes.size());
        std::vector<bool> is_new(static_cast<size_t>(nd));
        for (int64_t& v : axes) {
          v = normalize_axis(v, nd, "expand_dims");
          if (is_new[static_cast<size_t>(v)])
            throw ValueError("expand_dims: repeated axis " + std::to_string(v));
          is_new[static_cast<size_t>(v)] = true;
        }
        Shape out;
        size_t k = 0;
        for (int64_t d = 0; d < nd; ++d) out.push_back(is_new[static_cast<size_t>(d)] ? 1 : x.shape()[k++]);
        return reshape(x, out).impl();
      },
      py::arg("x"), py::arg("axis"),
      "expand_dims(x, axis) -> Tensor\n\nNumPy's expand_dims: x with new size-1 axes at the positions axis "
      "(an int or a tuple, positions in the result).");
}
}  // namespace fastgrad::bindings
