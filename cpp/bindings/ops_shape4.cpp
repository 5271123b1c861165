// PyTorch's *_copy ops (the view op's values in fresh memory: clone of the view, so the
// gradient is the view's), the complex-number no-ops of real tensors (conj, real, ...)
// and select_scatter (ops/shape_composite.cpp).
#include "convert.h"

namespace fastgrad::bindings {
namespace {
py::tuple cloned(const Tensors& ts) {
  py::tuple t(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) t[i] = py::cast(clone(ts[i]).impl());
  return t;
}
}  // namespace

void bind_shape4(py::module_& m, TensorClass& T) {
  def_op(
      m, T, "select_scatter",
      [](py::handle h, py::handle src, int64_t dim, int64_t index) {
        return select_scatter(tensor_arg(h, "select_scatter"), tensor_arg(src, "select_scatter", "src"), dim,
                              index)
            .impl();
      },
      py::arg("x"), py::arg("src"), py::arg("dim"), py::arg("index"),
      "select_scatter(x, src, dim, index) -> Tensor\n\nA copy of x with x.select(dim, index) replaced by src "
      "(x.shape without axis dim); x's shape. Gradients flow to x and src.");
  // Real tensors: conjugation and the real part are x itself (as PyTorch returns self).
#define SAME(NAME, DOC)                                                                  \
  def_op(                                                                                \
      m, T, NAME, [](py::handle h) { return tensor_arg(h, NAME).impl(); }, py::arg("x"), \
      NAME "(x) -> Tensor\n\n" DOC " fastgrad tensors are real, so this is x itself.\n\nx: any shape.")
  SAME("conj", "The complex conjugate of x;");
  SAME("resolve_conj", "x with a pending conjugation materialised;");
  SAME("resolve_neg", "x with a pending negation materialised;");
#undef SAME
  // A function only: PyTorch's Tensor.real is a property, and a method of that name would mislead.
  m.def(
      "real", [](py::handle h) { return tensor_arg(h, "real").impl(); }, py::arg("x"),
      "real(x) -> Tensor\n\nThe real part of x; fastgrad tensors are real, so this is x itself.\n\nx: any "
      "shape.");
  def_op(
      m, T, "conj_physical", [](py::handle h) { return clone(tensor_arg(h, "conj_physical")).impl(); },
      py::arg("x"), "conj_physical(x) -> Tensor\n\nThe conjugate of x in new memory: for real x a copy.");
  def_op(
      m, T, "isreal",
      [](py::handle h) {
        Tensor x = tensor_arg(h, "isreal");
        return full(x.shape(), 1.0, DType::Bool).impl();
      },
      py::arg("x"),
      "isreal(x) -> Tensor\n\nBool tensor of x's shape: every element of a real tensor is real.");
  def_op(
      m, T, "alias_copy", [](py::handle h) { return clone(tensor_arg(h, "alias_copy")).impl(); },
      py::arg("x"), "alias_copy(x) -> Tensor\n\nA copy of x (x's shape) in new memory.");
  def_op(
      m, T, "unfold_copy",
      [](py::handle h, int64_t dimension, int64_t size, int64_t step) {
        return clone(unfold(tensor_arg(h, "unfold_copy"), dimension, size, step)).impl();
      },
      py::arg("x"), py::arg("dimension"), py::arg("size"), py::arg("step"),
      "unfold_copy(x, dimension, size, step) -> Tensor\n\nunfold(x, dimension, size, step) in new memory: "
      "dimension becomes (n - size) // step + 1 windows, a new last axis of length size.");
  def_op(
      m, T, "unbind_copy",
      [](py::handle h, int64_t dim) { return cloned(unbind(tensor_arg(h, "unbind_copy"), dim)); },
      py::arg("x"), py::arg("dim") = 0,
      "unbind_copy(x, dim=0) -> tuple[Tensor, ...]\n\nunbind(x, dim) in new memory: x.shape[dim] tensors of "
      "x.shape without axis dim.");
  def_op(
      m, T, "split_with_sizes_copy",
      [](py::handle h, py::handle sizes, int64_t dim) {
        const char* op = "split_with_sizes_copy";
        return cloned(split_with_sizes(tensor_arg(h, op), int_seq(sizes, op, "split_sizes"), dim));
      },
      py::arg("x"), py::arg("split_sizes"), py::arg("dim") = 0,
      "split_with_sizes_copy(x, split_sizes, dim=0) -> tuple[Tensor, ...]\n\nsplit_with_sizes in new memory: "
      "pieces of x along dim of the given sizes (summing to x.shape[dim]).");
  def_op(
      m, T, "transpose_copy",
      [](py::handle h, int64_t dim0, int64_t dim1) {
        return clone(transpose(tensor_arg(h, "transpose_copy"), dim0, dim1)).impl();
      },
      py::arg("x"), py::arg("dim0"), py::arg("dim1"),
      "transpose_copy(x, dim0, dim1) -> Tensor\n\nx with axes dim0 and dim1 swapped, in new memory.");
  def_op(
      m, T, "unsqueeze_copy",
      [](py::handle h, int64_t dim) { return clone(unsqueeze(tensor_arg(h, "unsqueeze_copy"), dim)).impl(); },
      py::arg("x"), py::arg("dim"),
      "unsqueeze_copy(x, dim) -> Tensor\n\nx with a new axis of size 1 at dim, in new memory.");
  def_op(
      m, T, "t_copy",
      [](py::handle h) {
        Tensor x = tensor_arg(h, "t_copy");
        if (x.ndim() > 2)
          throw ValueError("t_copy: expects a tensor with at most 2 dimensions, got shape " +
                           shape_str(x.shape()));
        return clone(x.ndim() == 2 ? transpose(x, 0, 1) : x).impl();
      },
      py::arg("x"),
      "t_copy(x) -> Tensor\n\nx.t() in new memory: (n, m) -> (m, n); 0-d and 1-d x are copied.");
  def_op(
      m, T, "diagonal_copy",
      [](py::handle h, int64_t offset, int64_t dim1, int64_t dim2) {
        return clone(diagonal(tensor_arg(h, "diagonal_copy"), offset, dim1, dim2)).impl();
      },
      py::arg("x"), py::arg("offset") = 0, py::arg("dim1") = 0, py::arg("dim2") = 1,
      "diagonal_copy(x, offset=0, dim1=0, dim2=1) -> Tensor\n\ndiagonal(x, offset, dim1, dim2) in new "
      "memory: "
      "x without dim1, dim2 and a last axis holding the diagonal.");
  // unsafe_split / unsafe_chunk are split / chunk without PyTorch's view-version checks,
  // which fastgrad's views do not need: the same bindings.
  def_method_alias(T, "unsafe_split", "split");
  def_method_alias(T, "unsafe_chunk", "chunk");
}
}  // namespace fastgrad::bindings
