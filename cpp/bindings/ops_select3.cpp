// Rearrangements: tril, triu, tril_indices, triu_indices, flip, fliplr, flipud, roll, rot90,
// repeat, tile, repeat_interleave, diagonal, diag, diag_embed, diagflat, trace (PyTorch's
// signatures; Tensor.flip/repeat/tile also take the sizes as separate ints).
#include "convert.h"

namespace fastgrad::bindings {
namespace {
// An int or a sequence of ints.
std::vector<int64_t> ints(py::handle h, const char* op, const char* arg) {
  if (PyLong_Check(h.ptr()) || (PyIndex_Check(h.ptr()) && !PySequence_Check(h.ptr())))
    return {py_int64(h.ptr(), op)};
  return int_seq(h, op, arg);
}
// dims given as one sequence or as separate ints (x.flip(0, 1) / x.repeat(2, 3)).
std::vector<int64_t> varargs(const py::args& args, const py::kwargs& kw, const char* op, const char* name) {
  if (kw.contains(name)) {
    if (args.size()) throw TypeError(std::string(op) + ": " + name + " given twice");
    return ints(kw[name], op, name);
  }
  if (args.size() == 1) return ints(args[0], op, name);
  return dims_arg(args, op, name);
}
}  // namespace

void bind_select_shape(py::module_& m, TensorClass& T) {
  def_op(
      m, T, "tril", [](py::handle x, int64_t d) { return tril(tensor_arg(x, "tril", "input"), d).impl(); },
      py::arg("input"), py::arg("diagonal") = 0,
      "tril(input, diagonal=0) -> Tensor\n\nThe lower triangle (col - row <= diagonal) of each matrix of "
      "input "
      "(..., n, m), zeros elsewhere.");
  def_op(
      m, T, "triu", [](py::handle x, int64_t d) { return triu(tensor_arg(x, "triu", "input"), d).impl(); },
      py::arg("input"), py::arg("diagonal") = 0,
      "triu(input, diagonal=0) -> Tensor\n\nThe upper triangle (col - row >= diagonal) of each matrix of "
      "input "
      "(..., n, m), zeros elsewhere.");
  m.def(
      "tril_indices",
      [](int64_t r, int64_t c, int64_t o, py::handle, py::handle) { return tril_indices(r, c, o).impl(); },
      py::arg("row"), py::arg("col"), py::arg("offset") = 0, py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("device") = py::none(),
      "tril_indices(row, col, offset=0) -> Tensor\n\nThe (2, n) int64 coordinates of the lower triangle of a "
      "row x col matrix, row-major.");
  m.def(
      "triu_indices",
      [](int64_t r, int64_t c, int64_t o, py::handle, py::handle) { return triu_indices(r, c, o).impl(); },
      py::arg("row"), py::arg("col"), py::arg("offset") = 0, py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("device") = py::none(),
      "triu_indices(row, col, offset=0) -> Tensor\n\nThe (2, n) int64 coordinates of the upper triangle of a "
      "row x col matrix, row-major.");
  def_op(
      m, T, "flip",
      [](py::handle x, const py::args& args, const py::kwargs& kw) {
        return flip(tensor_arg(x, "flip", "input"), varargs(args, kw, "flip", "dims")).impl();
      },
      "flip(input, dims) -> Tensor\n\ninput (any shape) reversed along each axis of dims (a copy).");
  def_op(
      m, T, "fliplr",
      [](py::handle x) {
        Tensor X = tensor_arg(x, "fliplr", "input");
        if (X.ndim() < 2)
          throw RuntimeError("fliplr: input must be >= 2-d, got shape " + shape_str(X.shape()));
        return flip(X, {1}).impl();
      },
      py::arg("input"), "fliplr(input) -> Tensor\n\ninput (>= 2-d) reversed along axis 1.");
  def_op(
      m, T, "flipud",
      [](py::handle x) {
        Tensor X = tensor_arg(x, "flipud", "input");
        if (X.ndim() < 1)
          throw RuntimeError("flipud: input must be >= 1-d, got shape " + shape_str(X.shape()));
        return flip(X, {0}).impl();
      },
      py::arg("input"), "flipud(input) -> Tensor\n\ninput (>= 1-d) reversed along axis 0.");
  def_op(
      m, T, "roll",
      [](py::handle x, py::handle shifts, py::handle dims) {
        return roll(tensor_arg(x, "roll", "input"), ints(shifts, "roll", "shifts"),
                    dims.is_none() ? Axes{} : Axes(ints(dims, "roll", "dims")))
            .impl();
      },
      py::arg("input"), py::arg("shifts"), py::arg("dims") = py::none(),
      "roll(input, shifts, dims=None) -> Tensor\n\ninput rolled by shifts along dims (ints or tuples of one "
      "length); dims=None rolls the flattened input and restores the shape.");
  def_op(
      m, T, "rot90",
      [](py::handle x, int64_t k, py::handle dims) {
        return rot90(tensor_arg(x, "rot90", "input"), k, ints(dims, "rot90", "dims")).impl();
      },
      py::arg("input"), py::arg("k") = 1, py::arg("dims") = py::make_tuple(0, 1),
      "rot90(input, k=1, dims=(0, 1)) -> Tensor\n\ninput rotated by k quarter turns in the plane of dims, "
      "from "
      "the first axis towards the second.");
  def_op(
      m, T, "repeat",
      [](py::handle x, const py::args& args, const py::kwargs& kw) {
        return repeat(tensor_arg(x, "repeat", "input"), varargs(args, kw, "repeat", "repeats")).impl();
      },
      "repeat(input, *repeats) -> Tensor\n\ninput (d axes) tiled repeats[i] times along axis i (len(repeats) "
      ">= "
      "d; extra leading axes are added): shape repeats[i] * size[i].");
  def_op(
      m, T, "tile",
      [](py::handle x, const py::args& args, const py::kwargs& kw) {
        return tile(tensor_arg(x, "tile", "input"), varargs(args, kw, "tile", "dims")).impl();
      },
      "tile(input, dims) -> Tensor\n\nrepeat with dims padded by leading 1s to input's rank.");
  def_op(
      m, T, "repeat_interleave",
      [](py::handle x, py::handle repeats, std::optional<int64_t> dim, py::handle) {
        if (repeats.is_none()) {  // torch.repeat_interleave(repeats): the positions, each repeated
          Tensor R = tensor_arg(x, "repeat_interleave", "repeats");
          if (R.ndim() != 1) throw RuntimeError("repeat_interleave: repeats must be a 1-d tensor");
          return repeat_interleave(arange_int(0, R.shape()[0], 1, DType::Int64), R, 0).impl();
        }
        Tensor R = is_number(repeats) ? scalar_int(py_int64(repeats.ptr(), "repeat_interleave"), DType::Int64)
                                      : tensor_arg(repeats, "repeat_interleave", "repeats");
        return repeat_interleave(tensor_arg(x, "repeat_interleave", "input"), R, dim).impl();
      },
      py::arg("input"), py::arg("repeats") = py::none(), py::arg("dim") = py::none(), py::kw_only(),
      py::arg("output_size") = py::none(),
      "repeat_interleave(input, repeats, dim=None) -> Tensor\n\nEach slice of input along dim repeated "
      "repeats "
      "times (an int, or an int64 (n,) per slice); dim=None works on the flattened input.");
  def_op(
      m, T, "diagonal",
      [](py::handle x, int64_t offset, int64_t d1, int64_t d2) {
        return diagonal(tensor_arg(x, "diagonal", "input"), offset, d1, d2).impl();
      },
      py::arg("input"), py::arg("offset") = 0, py::arg("dim1") = 0, py::arg("dim2") = 1,
      "diagonal(input, offset=0, dim1=0, dim2=1) -> Tensor\n\nThe diagonal at offset of the (dim1, dim2) "
      "planes: those axes dropped, the diagonal appended last (a copy).");
  def_op(
      m, T, "diag", [](py::handle x, int64_t d) { return diag(tensor_arg(x, "diag", "input"), d).impl(); },
      py::arg("input"), py::arg("diagonal") = 0,
      "diag(input, diagonal=0) -> Tensor\n\n1-d (n,) -> the square matrix with input on that diagonal; 2-d "
      "-> "
      "its diagonal (1-d).");
  def_op(
      m, T, "diag_embed",
      [](py::handle x, int64_t offset, int64_t d1, int64_t d2) {
        return diag_embed(tensor_arg(x, "diag_embed", "input"), offset, d1, d2).impl();
      },
      py::arg("input"), py::arg("offset") = 0, py::arg("dim1") = -2, py::arg("dim2") = -1,
      "diag_embed(input, offset=0, dim1=-2, dim2=-1) -> Tensor\n\ninput (..., n) placed on the offset "
      "diagonal "
      "of new (n + |offset|)-square planes at dims dim1, dim2.");
  def_op(
      m, T, "diagflat",
      [](py::handle x, int64_t offset) {
        return diagflat(tensor_arg(x, "diagflat", "input"), offset).impl();
      },
      py::arg("input"), py::arg("offset") = 0,
      "diagflat(input, offset=0) -> Tensor\n\nThe flattened input on the offset diagonal of a square "
      "matrix.");
  def_op(
      m, T, "trace", [](py::handle x) { return trace(tensor_arg(x, "trace", "input")).impl(); },
      py::arg("input"),
      "trace(input) -> Tensor\n\nThe sum of the diagonal of the matrix input (n, m): a 0-d tensor.");
}
}  // namespace fastgrad::bindings
