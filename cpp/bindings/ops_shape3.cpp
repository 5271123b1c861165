// PyTorch's derived predicates, stacking, splitting and gathering ops (issue 12): thin
// bindings of the composites in ops/shape_composite.cpp. Ops that PyTorch has as Tensor
// methods are def_op (fg.<op> and Tensor.<op>); free functions only are m.def.
#include "convert.h"

namespace fastgrad::bindings {
namespace {
py::tuple tuple_of(const Tensors& ts) {
  py::tuple t(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) t[i] = py::cast(ts[i].impl());
  return t;
}

// f(*xs) or f(xs): variadic tensors or one sequence of them.
Tensors variadic(const py::args& args, const char* op) {
  if (args.size() == 1 && (PyList_Check(args[0].ptr()) || PyTuple_Check(args[0].ptr())))
    return tensor_list(args[0], op);
  Tensors ts;
  for (auto a : args) ts.push_back(tensor_arg(a, op, "tensors"));
  return ts;
}

py::object atleast(const py::args& args, int64_t n, const char* op) {
  if (args.size() == 1 && !PyList_Check(args[0].ptr()) && !PyTuple_Check(args[0].ptr()))
    return py::cast(atleast_nd(tensor_arg(args[0], op), n).impl());
  Tensors out;
  for (const Tensor& x : variadic(args, op)) out.push_back(atleast_nd(x, n));
  return tuple_of(out);
}
}  // namespace

void bind_shape3(py::module_& m, TensorClass& T) {
#define UNARY(NAME, FN, DOC)                                                                 \
  def_op(                                                                                    \
      m, T, NAME, [](py::handle h) { return FN(tensor_arg(h, NAME)).impl(); }, py::arg("x"), \
      NAME "(x) -> Tensor\n\n" DOC "\n\nx: any shape (array-likes convert).")
  UNARY("isinf", fastgrad::isinf, "Bool tensor of x's shape: x is +inf or -inf.");
  UNARY("isposinf", isposinf, "Bool tensor of x's shape: x is +inf.");
  UNARY("isneginf", isneginf, "Bool tensor of x's shape: x is -inf.");
  UNARY("signbit", fastgrad::signbit, "Bool tensor of x's shape: the sign bit of x is set (-0.0 included).");
  UNARY("sgn", sign,
        "The sign of x (-1, 0 or 1) of x's shape; for real tensors the same as sign (no gradient).");
  UNARY("ravel", ravel, "x flattened to 1-d (x.numel(),), a view where x is contiguous.");
#undef UNARY
#define BINARY(NAME, EXPR, DOC)                \
  def_op(                                      \
      m, T, NAME,                              \
      [](py::handle a, py::handle b) {         \
        auto [A, B] = tensor_pair(a, b, NAME); \
        return (EXPR).impl();                  \
      },                                       \
      py::arg("a"), py::arg("b"),              \
      NAME "(a, b) -> Tensor\n\n" DOC          \
           "\n\na, b: tensors, numbers or array-likes; NumPy broadcasting; returns the broadcast shape.")
  BINARY("logical_xor", logical_xor(A, B), "Bool tensor: exactly one of a, b is nonzero.");
  BINARY("fmax", fmax(A, B), "The larger of a and b elementwise, ignoring NaN (NaN only where both are).");
  BINARY("fmin", fmin(A, B), "The smaller of a and b elementwise, ignoring NaN (NaN only where both are).");
  BINARY("heaviside", heaviside(A, B), "The step function: 0 where a < 0, b where a == 0, 1 where a > 0.");
  BINARY("floor_divide", div_rounding(A, B, "floor"), "floor(a / b) elementwise (no gradient).");
#undef BINARY
#define CLOSE(NAME, EXPR, RET, DOC)                                                                       \
  def_op(                                                                                                 \
      m, T, NAME,                                                                                         \
      [](py::handle a, py::handle b, double rtol, double atol, bool equal_nan) {                          \
        auto [A, B] = tensor_pair(a, b, NAME);                                                            \
        return EXPR;                                                                                      \
      },                                                                                                  \
      py::arg("a"), py::arg("b"), py::arg("rtol") = 1e-05, py::arg("atol") = 1e-08,                       \
      py::arg("equal_nan") = false,                                                                       \
      NAME "(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> " RET "\n\n" DOC                           \
           " |a - b| <= atol + |rtol * b| (or a == b; NaNs equal when equal_nan).\n\na, b: broadcasting " \
           "tensors of one dtype.")
  CLOSE("isclose", isclose(A, B, rtol, atol, equal_nan).impl(), "Tensor",
        "Bool tensor of the broadcast shape, elementwise:");
  CLOSE("allclose", allclose(A, B, rtol, atol, equal_nan), "bool", "Python bool: for every element,");
#undef CLOSE
#define TRUTH(NAME, FN, DOC)                                                                               \
  def_op(                                                                                                  \
      m, T, NAME,                                                                                          \
      [](py::handle h, py::handle axis, py::handle keepdims, py::handle dim, py::handle keepdim) {         \
        Tensor x = tensor_arg(h, NAME);                                                                    \
        return FN(x, axes_kw(NAME, axis, dim), keep_kw(NAME, keepdims, keepdim)).impl();                   \
      },                                                                                                   \
      py::arg("x"), py::arg("axis") = py::none(), py::arg("keepdims") = py::none(), py::kw_only(),         \
      py::arg("dim") = py::none(), py::arg("keepdim") = py::none(),                                        \
      NAME "(x, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor\n\n" DOC                   \
           " (bool tensor).\n\nx: any shape and dtype; axis (or dim): None (all), an int or a tuple; the " \
           "reduced axes are dropped, or kept with size 1 when keepdims (or keepdim).")
  TRUTH("all", all_true, "Whether every element over axis is nonzero");
  TRUTH("any", any_true, "Whether some element over axis is nonzero");
#undef TRUTH
#define ATLEAST(NAME, N)                                                        \
  m.def(                                                                        \
      NAME, [](const py::args& a) { return atleast(a, N, NAME); },              \
      NAME "(*xs) -> Tensor | tuple[Tensor, ...]\n\nx viewed with at least " #N \
           " dimensions (NumPy's rule: (k,) -> (1, k)" #N                       \
           "); one tensor gives a tensor, several (or a "                       \
           "sequence) a tuple.")
  ATLEAST("atleast_1d", 1);
  ATLEAST("atleast_2d", 2);
  ATLEAST("atleast_3d", 3);
#undef ATLEAST
#define STACK(NAME, FN, DOC)                                                                    \
  m.def(                                                                                        \
      NAME, [](py::handle xs) { return FN(tensor_list(xs, NAME)).impl(); }, py::arg("tensors"), \
      NAME "(tensors) -> Tensor\n\n" DOC)
  STACK("hstack", hstack, "The tensors joined along axis 1 (axis 0 for 1-d tensors); 0-d ones become (1,).");
  STACK("vstack", vstack, "The tensors as at-least-2-d ((k,) -> (1, k)) joined along axis 0.");
  STACK("dstack", dstack, "The tensors as at-least-3-d ((m, n) -> (m, n, 1)) joined along axis 2.");
  STACK("column_stack", column_stack, "The tensors joined along axis 1, 0-d and 1-d ones as columns (k, 1).");
#undef STACK
  def_op(
      m, T, "select",
      [](py::handle h, int64_t dim, int64_t index) {
        return select(tensor_arg(h, "select"), dim, index).impl();
      },
      py::arg("x"), py::arg("dim"), py::arg("index"),
      "select(x, dim, index) -> Tensor\n\nThe view x[..., index, ...] along dim (negative index from the "
      "end): x.shape without axis dim.");
  def_op(
      m, T, "unbind",
      [](py::handle h, int64_t dim) { return tuple_of(unbind(tensor_arg(h, "unbind"), dim)); }, py::arg("x"),
      py::arg("dim") = 0,
      "unbind(x, dim=0) -> tuple[Tensor, ...]\n\nThe x.shape[dim] views x.select(dim, i), each x.shape "
      "without axis dim.");
  def_op(
      m, T, "split_with_sizes",
      [](py::handle h, py::handle sizes, int64_t dim) {
        return tuple_of(split_with_sizes(tensor_arg(h, "split_with_sizes"),
                                         int_seq(sizes, "split_with_sizes", "split_sizes"), dim));
      },
      py::arg("x"), py::arg("split_sizes"), py::arg("dim") = 0,
      "split_with_sizes(x, split_sizes, dim=0) -> tuple[Tensor, ...]\n\nx cut along dim into pieces of "
      "the given sizes, which must sum to x.shape[dim].");
#define DSPLIT(NAME, KIND, DOC)                                                                             \
  def_op(                                                                                                   \
      m, T, NAME,                                                                                           \
      [](py::handle h, py::handle s) {                                                                      \
        Tensor x = tensor_arg(h, NAME);                                                                     \
        if (is_int_like(s.ptr()) && !PyBool_Check(s.ptr()))                                                 \
          return tuple_of(directional_split(x, KIND, py_int64(s.ptr(), NAME), {}));                         \
        return tuple_of(directional_split(x, KIND, std::nullopt, int_seq(s, NAME, "indices_or_sections"))); \
      },                                                                                                    \
      py::arg("x"), py::arg("indices_or_sections"),                                                         \
      NAME "(x, indices_or_sections) -> tuple[Tensor, ...]\n\nx cut along " DOC                             \
           " into that many equal sections (an int that must divide it) or at the given indices.")
  DSPLIT("hsplit", 0, "axis 1 (axis 0 of a 1-d x)");
  DSPLIT("vsplit", 1, "axis 0 (x at least 2-d)");
  DSPLIT("dsplit", 2, "axis 2 (x at least 3-d)");
#undef DSPLIT
  m.def(
      "broadcast_tensors",
      [](const py::args& a) { return tuple_of(broadcast_tensors(variadic(a, "broadcast_tensors"))); },
      "broadcast_tensors(*tensors) -> tuple[Tensor, ...]\n\nEach tensor expanded (a view) to the broadcast "
      "shape of all.");
  m.def(
      "broadcast_shapes",
      [](const py::args& a) {
        std::vector<Shape> shapes;
        for (auto s : a)
          shapes.push_back(is_int_like(s.ptr()) ? Shape{py_int64(s.ptr(), "broadcast_shapes")}
                                                : Shape(int_seq(s, "broadcast_shapes", "shapes")));
        return shape_tuple(broadcast_all(shapes));
      },
      "broadcast_shapes(*shapes) -> tuple[int, ...]\n\nThe NumPy broadcast of the shapes (ints or sequences "
      "of ints); ValueError naming them when they do not broadcast.");
  m.def(
      "meshgrid",
      [](const py::args& a, const std::string& indexing) {
        if (indexing != "ij" && indexing != "xy")
          throw ValueError("meshgrid: indexing must be 'ij' or 'xy', got '" + indexing + "'");
        return tuple_of(meshgrid(variadic(a, "meshgrid"), indexing == "xy"));
      },
      py::kw_only(), py::arg("indexing") = "ij",
      "meshgrid(*tensors, indexing='ij') -> tuple[Tensor, ...]\n\nCoordinate grids of the 0-d/1-d tensors "
      "(sizes n1, n2, ...): each of shape (n1, n2, ...) for 'ij', (n2, n1, ...) for 'xy'; expanded views.");
  m.def(
      "cartesian_prod",
      [](const py::args& a) { return cartesian_prod(variadic(a, "cartesian_prod")).impl(); },
      "cartesian_prod(*tensors) -> Tensor\n\nEvery combination of the 1-d tensors' elements as rows: "
      "(n1 * n2 * ..., k) for k tensors (one tensor is returned as it is).");
  m.def(
      "block_diag", [](const py::args& a) { return block_diag(variadic(a, "block_diag")).impl(); },
      "block_diag(*tensors) -> Tensor\n\nThe block-diagonal matrix of the tensors (0-d -> (1, 1), (k,) -> "
      "(1, k)): (sum of rows, sum of columns), zeros elsewhere.");
  def_op(
      m, T, "diff",
      [](py::handle h, int64_t n, int64_t dim, py::handle prepend, py::handle append) {
        Tensor x = tensor_arg(h, "diff");
        Tensor pre = prepend.is_none() ? Tensor() : tensor_arg(prepend, "diff", "prepend");
        Tensor app = append.is_none() ? Tensor() : tensor_arg(append, "diff", "append");
        return diff(x, n, dim, pre, app).impl();
      },
      py::arg("x"), py::arg("n") = 1, py::arg("dim") = -1, py::arg("prepend") = py::none(),
      py::arg("append") = py::none(),
      "diff(x, n=1, dim=-1, prepend=None, append=None) -> Tensor\n\nThe n-th forward difference along dim "
      "of x (with prepend/append joined first): that axis shrinks by n (xor for bool).");
  def_op(
      m, T, "index_fill",
      [](py::handle h, int64_t dim, py::handle index, py::handle value) {
        Tensor x = tensor_arg(h, "index_fill");
        Tensor v = is_number(value) ? filled({}, value, x.dtype(), "index_fill")
                                    : tensor_arg(value, "index_fill", "value");
        return index_fill(x, dim, tensor_arg(index, "index_fill", "index"), v).impl();
      },
      py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("value"),
      "index_fill(x, dim, index, value) -> Tensor\n\nx with the slices at the int64 positions index (k,) "
      "along dim set to value (a number or 0-d tensor; gradient flows to both); x's shape.");
  def_op(
      m, T, "index_copy",
      [](py::handle h, int64_t dim, py::handle index, py::handle source) {
        return index_copy(tensor_arg(h, "index_copy"), dim, tensor_arg(index, "index_copy", "index"),
                          tensor_arg(source, "index_copy", "source"))
            .impl();
      },
      py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("source"),
      "index_copy(x, dim, index, source) -> Tensor\n\nx with slice index[j] along dim replaced by slice j "
      "of source (x.shape with k = len(index) along dim); x's shape.");
  def_op(
      m, T, "unfold",
      [](py::handle h, int64_t dimension, int64_t size, int64_t step) {
        return unfold(tensor_arg(h, "unfold"), dimension, size, step).impl();
      },
      py::arg("x"), py::arg("dimension"), py::arg("size"), py::arg("step"),
      "unfold(x, dimension, size, step) -> Tensor\n\nThe windows of length size every step along dimension: "
      "that axis becomes k = (n - size) // step + 1 and a new last axis of length size holds each window.");
  T.def_property_readonly(
      "mH",
      [](const TP& t) {
        if (t->shape.size() < 2)
          throw ValueError("mH: expects a tensor with at least 2 dimensions, got shape " +
                           shape_str(t->shape));
        return transpose(Tensor(t), -2, -1).impl();
      },
      "The conjugate transpose of the last two axes (real tensors: mT): (..., m, n) -> (..., n, m).");
  T.def_property_readonly(
      "H",
      [](const TP& t) {
        if (t->shape.size() != 2 && !t->shape.empty())
          throw ValueError("H: expects a matrix (2-d) or 0-d tensor, got shape " + shape_str(t->shape));
        return t->shape.empty() ? t : transpose(Tensor(t), 0, 1).impl();
      },
      "The conjugate transpose of a matrix (real tensors: x.T): (m, n) -> (n, m).");
}
}  // namespace fastgrad::bindings
