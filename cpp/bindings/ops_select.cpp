// Gather/scatter and masks: gather, scatter, scatter_add, scatter_reduce, take_along_dim,
// take, index_select, masked_select, masked_fill(_), masked_scatter, nonzero, argwhere,
// count_nonzero, bincount (PyTorch's signatures). Sorting and scans: ops_select2.cpp;
// rearrangements: ops_select3.cpp.
#include "convert.h"

namespace fastgrad::bindings {
namespace {
Tensor index_arg(py::handle h, const char* op, const char* arg = "index") { return tensor_arg(h, op, arg); }

// A number or 0-d tensor `value` as a 0-d tensor of x's dtype family (ints exact).
Tensor value_arg(py::handle v, const Tensor& x, const char* op) {
  if (is_number(v)) return filled({}, v, x.dtype(), op);
  return tensor_arg(v, op, "value");
}
}  // namespace

void bind_select(py::module_& m, TensorClass& T) {
  m.def(
      "scatter_add_into",
      [](const TP& src, const Shape& shape, int64_t dim, const TP& index) {
        return scatter_add_into(Tensor(src), shape, dim, Tensor(index)).impl();
      },
      py::arg("src"), py::arg("shape"), py::arg("dim"), py::arg("index"),
      "scatter_add_into(src, shape, dim, index) -> Tensor\n\nZeros of shape with src added at index along "
      "dim "
      "(src and index of one shape): gather's adjoint, the scatter_add primitive.");
  def_op(
      m, T, "gather",
      [](py::handle x, int64_t dim, py::handle index, bool) {
        return gather(tensor_arg(x, "gather", "input"), dim, index_arg(index, "gather")).impl();
      },
      py::arg("input"), py::arg("dim"), py::arg("index"), py::kw_only(), py::arg("sparse_grad") = false,
      "gather(input, dim, index) -> Tensor\n\nout[i][j][k] = input[index[i][j][k]][j][k] (dim=0): index is "
      "int64 "
      "of input's rank, no larger than input apart from dim; out has index's shape. Differentiable in input "
      "(the cotangent is scatter-added back).");
  def_op(
      m, T, "scatter",
      [](py::handle x, int64_t dim, py::handle index, py::handle src, py::handle value,
         std::optional<std::string> reduce) {
        Tensor X = tensor_arg(x, "scatter", "input"), I = index_arg(index, "scatter");
        py::handle v = !src.is_none() ? src : value;
        if (v.is_none()) throw TypeError("scatter: expected src or value");
        const Tensor S = is_number(v) ? expand(filled({}, v, X.dtype(), "scatter"), I.shape())
                                      : tensor_arg(v, "scatter", "src");
        return scatter(X, dim, I, S, reduce.value_or("")).impl();
      },
      py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("src") = py::none(), py::kw_only(),
      py::arg("value") = py::none(), py::arg("reduce") = py::none(),
      "scatter(input, dim, index, src=None, *, value=None, reduce=None) -> Tensor\n\ninput (any shape) with "
      "src[i][j][k] written at [index[i][j][k]][j][k] (dim=0); src a tensor (its index-shaped corner is "
      "read) or a "
      "number; repeated positions: the last write wins. reduce: 'add' or 'multiply'. Differentiable in input "
      "and "
      "src.");
  def_op(
      m, T, "scatter_add",
      [](py::handle x, int64_t dim, py::handle index, py::handle src) {
        return scatter_add(tensor_arg(x, "scatter_add", "input"), dim, index_arg(index, "scatter_add"),
                           tensor_arg(src, "scatter_add", "src"))
            .impl();
      },
      py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("src"),
      "scatter_add(input, dim, index, src) -> Tensor\n\ninput (any shape) with src's entries added at index "
      "along dim (duplicates accumulate); out has input's shape.");
  def_op(
      m, T, "scatter_reduce",
      [](py::handle x, int64_t dim, py::handle index, py::handle src, const std::string& reduce,
         bool include_self) {
        return scatter_reduce(tensor_arg(x, "scatter_reduce", "input"), dim,
                              index_arg(index, "scatter_reduce"), tensor_arg(src, "scatter_reduce", "src"),
                              reduce, include_self)
            .impl();
      },
      py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("src"), py::arg("reduce"), py::kw_only(),
      py::arg("include_self") = true,
      "scatter_reduce(input, dim, index, src, reduce, *, include_self=True) -> Tensor\n\nsrc reduced into "
      "input "
      "at index along dim; reduce: 'sum', 'prod', 'mean', 'amax', 'amin' (differentiable; 'prod' "
      "by PyTorch's rule at zeros, amax/amin share the gradient evenly among ties). out has input's shape.");
  def_op(
      m, T, "take_along_dim",
      [](py::handle x, py::handle indices, std::optional<int64_t> dim) {
        return take_along_dim(tensor_arg(x, "take_along_dim", "input"),
                              index_arg(indices, "take_along_dim", "indices"), dim)
            .impl();
      },
      py::arg("input"), py::arg("indices"), py::arg("dim") = py::none(),
      "take_along_dim(input, indices, dim=None) -> Tensor\n\ngather with input and indices broadcast apart "
      "from dim; dim=None: over the flattened input and indices (1-d result).");
  def_op(
      m, T, "take",
      [](py::handle x, py::handle index) {
        return take(tensor_arg(x, "take", "input"), index_arg(index, "take")).impl();
      },
      py::arg("input"), py::arg("index"),
      "take(input, index) -> Tensor\n\nThe flattened input's entries at index (int64, any shape; negative "
      "counts from the end): out has index's shape.");
  def_op(
      m, T, "index_select",
      [](py::handle x, int64_t dim, py::handle index) {
        return index_select_dim(tensor_arg(x, "index_select", "input"), dim, index_arg(index, "index_select"))
            .impl();
      },
      py::arg("input"), py::arg("dim"), py::arg("index"),
      "index_select(input, dim, index) -> Tensor\n\ninput's slices at the int64 positions index along dim: "
      "input.shape with dim replaced by index.shape (index (n,) as PyTorch; an n-d index also works).");
  def_op(
      m, T, "masked_select",
      [](py::handle x, py::handle mask) {
        return masked_select(tensor_arg(x, "masked_select", "input"),
                             tensor_arg(mask, "masked_select", "mask"))
            .impl();
      },
      py::arg("input"), py::arg("mask"),
      "masked_select(input, mask) -> Tensor\n\nThe entries of input where the bool mask is true (both "
      "broadcast), as a 1-d tensor (n,) in row-major order.");
  def_op(
      m, T, "masked_fill",
      [](py::handle x, py::handle mask, py::handle value) {
        Tensor X = tensor_arg(x, "masked_fill", "input");
        return masked_fill(X, tensor_arg(mask, "masked_fill", "mask"), value_arg(value, X, "masked_fill"))
            .impl();
      },
      py::arg("input"), py::arg("mask"), py::arg("value"),
      "masked_fill(input, mask, value) -> Tensor\n\ninput (any shape) with value (a number or a 0-d tensor, "
      "differentiable) where the bool mask (broadcastable to input) is true.");
  T.def(
      "masked_fill_",
      [](const TP& x, py::handle mask, py::handle value) {
        Tensor X(x);
        masked_fill_(X, tensor_arg(mask, "masked_fill_", "mask"), value_arg(value, X, "masked_fill_"));
        return x;
      },
      py::arg("mask"), py::arg("value"),
      "masked_fill_(mask, value) -> Tensor\n\nIn place: value where the bool mask (broadcastable to self) is "
      "true; returns self.");
  def_op(
      m, T, "masked_scatter",
      [](py::handle x, py::handle mask, py::handle source) {
        return masked_scatter(tensor_arg(x, "masked_scatter", "input"),
                              tensor_arg(mask, "masked_scatter", "mask"),
                              tensor_arg(source, "masked_scatter", "source"))
            .impl();
      },
      py::arg("input"), py::arg("mask"), py::arg("source"),
      "masked_scatter(input, mask, source) -> Tensor\n\ninput with source's leading entries (row-major) "
      "copied "
      "where the bool mask (broadcastable to input) is true.");
  def_op(
      m, T, "nonzero",
      [](py::handle x, bool as_tuple) -> py::object {
        Tensor X = tensor_arg(x, "nonzero", "input");
        Tensor nz = nonzero(X);
        if (!as_tuple) return py::cast(nz.impl());
        py::tuple t(std::max<int64_t>(X.ndim(), 1));
        const int64_t n = nz.shape()[0];
        if (X.ndim() == 0) t[0] = py::cast(zeros({n}, DType::Int64).impl());
        for (int64_t d = 0; d < X.ndim(); ++d)
          t[d] = py::cast(reshape(contiguous(slice(nz, {{0, n, 1}, {d, d + 1, 1}})), {n}).impl());
        return std::move(t);
      },
      py::arg("input"), py::kw_only(), py::arg("as_tuple") = false,
      "nonzero(input, *, as_tuple=False) -> Tensor\n\nThe int64 coordinates (n, input.ndim) of input's "
      "nonzero "
      "entries in row-major order; as_tuple: a tuple of input.ndim 1-d tensors (n,), one per axis.");
  def_op(
      m, T, "argwhere", [](py::handle x) { return nonzero(tensor_arg(x, "argwhere", "input")).impl(); },
      py::arg("input"),
      "argwhere(input) -> Tensor\n\nThe int64 coordinates (n, input.ndim) of input's nonzero entries.");
  def_op(
      m, T, "count_nonzero",
      [](py::handle x, py::handle dim) {
        Tensor X = tensor_arg(x, "count_nonzero", "input");
        const bool all = dim.is_none() || (py::isinstance<py::tuple>(dim) && py::len(dim) == 0);
        Axes ax = all ? Axes{} : to_axes(py::reinterpret_borrow<py::object>(dim));
        return count_nonzero(X, ax).impl();
      },
      py::arg("input"), py::arg("dim") = py::none(),
      "count_nonzero(input, dim=None) -> Tensor\n\nThe int64 number of nonzero entries over dim (None: all; "
      "an "
      "int or a tuple of ints), the reduced axes dropped.");
  def_op(
      m, T, "bincount",
      [](py::handle x, py::handle weights, int64_t minlength) {
        Tensor W = weights.is_none() ? Tensor() : tensor_arg(weights, "bincount", "weights");
        return bincount(tensor_arg(x, "bincount", "input"), W, minlength).impl();
      },
      py::arg("input"), py::arg("weights") = py::none(), py::arg("minlength") = 0,
      "bincount(input, weights=None, minlength=0) -> Tensor\n\nCounts (int64) or weight sums (float, "
      "differentiable in weights) of each value of the nonnegative int64 input (n,): a 1-d tensor of length "
      "max(max(input) + 1, minlength).");
}
}  // namespace fastgrad::bindings
