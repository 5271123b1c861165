// Products: einsum, tensordot, outer/ger, inner, dot/vdot, kron, mm/bmm/mv, addmm/baddbmm/addmv/addr,
// cross, matrix_power (PyTorch's signatures). fg.linalg's decompositions bind in ops_linalg2.cpp.
#include "convert.h"

namespace fastgrad::bindings {
void bind_linalg(py::module_& m, TensorClass& T) {
  def_op(
      m, T, "einsum",
      [](py::handle eq, py::args ops) {
        if (!PyUnicode_Check(eq.ptr()))
          throw TypeError(std::string("einsum: equation must be a str, got ") + Py_TYPE(eq.ptr())->tp_name);
        Tensors xs;
        // torch.einsum(eq, [a, b]) and torch.einsum(eq, a, b) are both accepted.
        if (ops.size() == 1 && (PyList_Check(ops[0].ptr()) || PyTuple_Check(ops[0].ptr())))
          xs = tensor_list(ops[0], "einsum");
        else
          for (auto h : ops) xs.push_back(tensor_arg(h, "einsum", "operands"));
        return einsum(eq.cast<std::string>(), xs).impl();
      },
      py::arg("equation"),
      "einsum(equation, *operands) -> Tensor\n\nEinstein summation as torch.einsum: 'ij,jk->ik', implicit "
      "output, '...' broadcast dims, repeated subscripts (diagonals). Operands contract left to right, each "
      "pair as one batched GEMM. operands: tensors (or one list of them) whose ranks match the subscripts.");
  def_op(
      m, T, "tensordot",
      [](py::handle a, py::handle b, py::handle dims) {
        auto [A, B] = tensor_pair(a, b, "tensordot");
        if (PyLong_Check(dims.ptr())) return tensordot(A, B, dims.cast<int64_t>()).impl();
        if (!py::isinstance<py::sequence>(dims) || py::len(dims) != 2)
          throw TypeError("tensordot: dims must be an int or a pair of dim lists");
        auto seq = py::reinterpret_borrow<py::sequence>(dims);
        auto one = [](py::handle h) {
          return PyLong_Check(h.ptr()) ? Axes{h.cast<int64_t>()} : int_seq(h, "tensordot", "dims");
        };
        return tensordot(A, B, one(seq[0]), one(seq[1])).impl();
      },
      py::arg("a"), py::arg("b"), py::arg("dims") = 2,
      "tensordot(a, b, dims=2) -> Tensor\n\nContracts the last `dims` dims of a with the first of b, or the "
      "listed pairs dims=([a dims], [b dims]). a: (*free_a, *K), b: (*K, *free_b) -> (*free_a, *free_b); a "
      "contracted size 1 broadcasts against the other side's size (as torch).");
#define BIN(NAME, FN, A2, DOC)                 \
  def_op(                                      \
      m, T, NAME,                              \
      [](py::handle a, py::handle b) {         \
        auto [A, B] = tensor_pair(a, b, NAME); \
        return FN(A, B).impl();                \
      },                                       \
      py::arg("input"), py::arg(A2), NAME "(input, " A2 ") -> Tensor\n\n" DOC)
  BIN("outer", outer, "vec2", "Outer product: input (n,), vec2 (m,) -> (n, m).");
  BIN("ger", outer, "vec2", "Alias of outer: input (n,), vec2 (m,) -> (n, m).");
  BIN("inner", inner, "other",
      "Inner product over the last dims: input (*a, k), other (*b, k) -> (*a, *b); a 0-d operand "
      "multiplies.");
  BIN("kron", kron, "other", "Kronecker product: input (*a), other (*b) -> (a_i * b_i ...) (ranks padded).");
  BIN("mm", mm, "mat2", "Matrix product: input (n, k), mat2 (k, m) -> (n, m).");
  BIN("bmm", bmm, "mat2", "Batched matrix product: input (b, n, k), mat2 (b, k, m) -> (b, n, m).");
  BIN("mv", mv, "vec", "Matrix-vector product: input (n, k), vec (k,) -> (n,).");
#undef BIN
  def_op(
      m, T, "dot",
      [](py::handle a, py::handle b) {
        auto [A, B] = tensor_pair(a, b, "dot");
        return dot(A, B, "dot").impl();
      },
      py::arg("input"), py::arg("tensor"),
      "dot(input, tensor) -> Tensor\n\nDot product: (n,), (n,) -> () as torch.dot; other ranks follow "
      "NumPy's dot (jnp.dot): (m, k), (k, n) -> (m, n); (..., k), (k,) -> (...); a scalar scales.");
  def_op(
      m, T, "vdot",
      [](py::handle a, py::handle b) {
        auto [A, B] = tensor_pair(a, b, "vdot");
        return dot(A, B, "vdot").impl();
      },
      py::arg("input"), py::arg("other"),
      "vdot(input, other) -> Tensor\n\nDot product (no conjugation needed: real dtypes): (n,), (n,) -> ().");
#define ADD3(NAME, FN, A1, A2, DOC)                                                     \
  def_op(                                                                               \
      m, T, NAME,                                                                       \
      [](py::handle i, py::handle a, py::handle b, double beta, double alpha) {         \
        Tensor I = tensor_arg(i, NAME, "input");                                        \
        Tensor A = tensor_arg(a, NAME, A1), B = tensor_arg(b, NAME, A2);                \
        return FN(I, A, B, beta, alpha).impl();                                         \
      },                                                                                \
      py::arg("input"), py::arg(A1), py::arg(A2), py::kw_only(), py::arg("beta") = 1.0, \
      py::arg("alpha") = 1.0,                                                           \
      NAME "(input, " A1 ", " A2 ", *, beta=1, alpha=1) -> Tensor\n\n" DOC              \
           " beta == 0 ignores input (its NaNs do not propagate), as torch.")
  ADD3("addmm", addmm, "mat1", "mat2",
       "beta * input + alpha * (mat1 @ mat2): mat1 (n, k), mat2 (k, m), input broadcasts to (n, m).");
  ADD3("baddbmm", baddbmm, "batch1", "batch2",
       "beta * input + alpha * bmm(batch1, batch2): (b, n, k), (b, k, m); input broadcasts to (b, n, m).");
  ADD3("addmv", addmv, "mat", "vec",
       "beta * input + alpha * (mat @ vec): mat (n, k), vec (k,); input -> (n,).");
  ADD3("addr", addr, "vec1", "vec2",
       "beta * input + alpha * outer(vec1, vec2): (n,), (m,); input broadcasts to (n, m).");
#undef ADD3
  def_op(
      m, T, "cross",
      [](py::handle a, py::handle b, std::optional<int64_t> dim) {
        auto [A, B] = tensor_pair(a, b, "cross");
        return cross(A, B, dim, "cross").impl();
      },
      py::arg("input"), py::arg("other"), py::arg("dim") = py::none(),
      "cross(input, other, dim=None) -> Tensor\n\nCross product of 3-vectors along dim (default: the first "
      "dim of size 3, as torch.cross); input and other broadcast: (..., 3, ...) -> the broadcast shape.");
  m.def(
      "linalg_cross",
      [](py::handle a, py::handle b, int64_t dim) {
        auto [A, B] = tensor_pair(a, b, "linalg.cross");
        return cross(A, B, dim, "linalg.cross").impl();
      },
      py::arg("input"), py::arg("other"), py::kw_only(), py::arg("dim") = -1,
      "linalg.cross(input, other, *, dim=-1) -> Tensor\n\nCross product of 3-vectors along dim; input and "
      "other broadcast: (..., 3) -> the broadcast shape.");
  def_op(
      m, T, "matrix_power",
      [](py::handle a, int64_t n) { return matrix_power(tensor_arg(a, "matrix_power", "input"), n).impl(); },
      py::arg("input"), py::arg("n"),
      "matrix_power(input, n) -> Tensor\n\nThe n-th power of square matrices by repeated squaring (n < 0: of "
      "the inverse; n == 0: identity). input: (..., m, m) -> (..., m, m).");
}
}  // namespace fastgrad::bindings
