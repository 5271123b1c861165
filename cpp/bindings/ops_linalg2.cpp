// fg.linalg's decompositions, solves and norms (bound as _C.linalg_<name>, re-exported by
// fastgrad/linalg.py) plus torch's top-level spellings (det, inverse, cholesky, slogdet,
// triangular_solve, norm) as def_op (function and Tensor method).
#include <cmath>

#include "convert.h"

namespace fastgrad::bindings {
namespace {
// torch.return_types-like named tuples (fields as torch names them).
py::object named(const char* name, std::initializer_list<const char*> fields, const Tensors& v) {
  py::list f;
  for (auto s : fields) f.append(s);
  py::object cls = py::module_::import("collections").attr("namedtuple")(name, f);
  py::list items;
  for (auto& t : v) items.append(py::cast(t.impl()));
  return cls(*py::tuple(items));
}
// ord as torch spells it: a number (inf included) or 'fro' / 'nuc'.
std::pair<std::string, double> ord_arg(py::handle o, const char* op) {
  if (PyUnicode_Check(o.ptr())) {
    std::string s = o.cast<std::string>();
    if (s != "fro" && s != "nuc")
      throw ValueError(std::string(op) + ": ord must be 'fro', 'nuc' or a number, got '" + s + "'");
    return {s, 0.0};
  }
  return {"", number(o, op)};
}
// dim=() reduces every dim, as dim=None (torch's vector_norm).
Axes dim_arg(py::handle d) {
  if ((PyTuple_Check(d.ptr()) || PyList_Check(d.ptr())) && PySequence_Size(d.ptr()) == 0) return {};
  return to_axes(py::reinterpret_borrow<py::object>(d));
}

// The norms' dtype=: the input is cast to it first (torch's rule).
Tensor norm_input(py::handle x, py::handle dtype, const char* op, const char* name) {
  Tensor X = tensor_arg(x, op, name);
  return dtype.is_none() ? X : cast(X, dtype_arg(dtype, op));
}

Tensor matrix_norm_of(const Tensor& x, const std::pair<std::string, double>& ord, const Axes& d,
                      bool keepdim) {
  if (d.size() != 2)
    throw ValueError("linalg.matrix_norm: dim must be a pair of dims, got " + std::to_string(d.size()) +
                     " dims");
  return linalg_matrix_norm(x, ord.first, ord.second, d[0], d[1], keepdim);
}
}  // namespace

void bind_linalg2(py::module_& m, TensorClass& T) {
  const auto A = py::arg("A");
  m.def(
      "linalg_inv", [](py::handle a) { return linalg_inv(tensor_arg(a, "linalg.inv", "A")).impl(); }, A,
      "linalg.inv(A) -> Tensor\n\nInverse of square matrices: A (*, n, n) -> (*, n, n). Singular: "
      "ValueError.");
  def_op(
      m, T, "inverse", [](py::handle a) { return linalg_inv(tensor_arg(a, "inverse", "input")).impl(); },
      py::arg("input"), "inverse(input) -> Tensor\n\nAlias of linalg.inv: (*, n, n) -> (*, n, n).");
  m.def(
      "linalg_solve",
      [](py::handle a, py::handle b, bool left) {
        return linalg_solve(tensor_arg(a, "linalg.solve", "A"), tensor_arg(b, "linalg.solve", "B"), left)
            .impl();
      },
      A, py::arg("B"), py::kw_only(), py::arg("left") = true,
      "linalg.solve(A, B, *, left=True) -> Tensor\n\nX with A X = B (left) or X A = B: A (*, n, n), B (*, n, "
      "k) "
      "or a vector (*, n); batches broadcast. Singular A: ValueError.");
  m.def(
      "linalg_solve_triangular",
      [](py::handle a, py::handle b, bool upper, bool left, bool unit) {
        const char* op = "linalg.solve_triangular";
        return linalg_solve_triangular(tensor_arg(a, op, "A"), tensor_arg(b, op, "B"), upper, left, unit)
            .impl();
      },
      A, py::arg("B"), py::kw_only(), py::arg("upper"), py::arg("left") = true,
      py::arg("unitriangular") = false,
      "linalg.solve_triangular(A, B, *, upper, left=True, unitriangular=False) -> Tensor\n\nX with A X = B "
      "(or "
      "X A = B), A (*, n, n) triangular (only that triangle is read), B (*, n, k) (left) or (*, k, n).");
  def_op(
      m, T, "triangular_solve",
      [](py::handle b, py::handle a, bool upper, bool transpose, bool unit) {
        Tensor B = tensor_arg(b, "triangular_solve", "input"), Am = tensor_arg(a, "triangular_solve", "A");
        Tensor At = transpose ? fastgrad::transpose(Am, -1, -2) : Am;
        Tensor X = linalg_solve_triangular(At, B, transpose ? !upper : upper, true, unit);
        return named("triangular_solve", {"solution", "cloned_coefficient"}, {X, clone(Am)});
      },
      py::arg("input"), A, py::arg("upper") = true, py::arg("transpose") = false,
      py::arg("unitriangular") = false,
      "triangular_solve(input, A, upper=True, transpose=False, unitriangular=False) -> (solution, "
      "cloned_coefficient)\n\ntorch's older spelling: solves A X = input (Aᵀ X = input with transpose); "
      "input "
      "(*, n, k), A (*, n, n).");
  m.def(
      "linalg_cholesky",
      [](py::handle a, bool upper) {
        return linalg_cholesky(tensor_arg(a, "linalg.cholesky", "A"), upper).impl();
      },
      A, py::kw_only(), py::arg("upper") = false,
      "linalg.cholesky(A, *, upper=False) -> Tensor\n\nL with A = L Lᵀ (upper: U with A = Uᵀ U) of symmetric "
      "positive-definite A (*, n, n), reading its lower triangle. Not positive-definite: ValueError.");
  def_op(
      m, T, "cholesky",
      [](py::handle a, bool upper) {
        return linalg_cholesky(tensor_arg(a, "cholesky", "input"), upper).impl();
      },
      py::arg("input"), py::arg("upper") = false,
      "cholesky(input, upper=False) -> Tensor\n\ntorch.cholesky: as linalg.cholesky, (*, n, n) -> (*, n, "
      "n).");
  auto slogdet = [](py::handle a) {
    return named("slogdet", {"sign", "logabsdet"}, linalg_slogdet(tensor_arg(a, "linalg.slogdet", "A")));
  };
  m.def("linalg_slogdet", slogdet, A,
        "linalg.slogdet(A) -> (sign, logabsdet)\n\nSign and log|det| of square matrices: A (*, n, n) -> (*), "
        "(*). "
        "A singular matrix gives sign 0 and logabsdet -inf.");
  def_op(m, T, "slogdet", slogdet, py::arg("input"),
         "slogdet(input) -> (sign, logabsdet)\n\nAs linalg.slogdet: (*, n, n) -> (*), (*).");
  m.def(
      "linalg_det", [](py::handle a) { return linalg_det(tensor_arg(a, "linalg.det", "A")).impl(); }, A,
      "linalg.det(A) -> Tensor\n\nDeterminant of square matrices: A (*, n, n) -> (*).");
  def_op(
      m, T, "det", [](py::handle a) { return linalg_det(tensor_arg(a, "det", "input")).impl(); },
      py::arg("input"), "det(input) -> Tensor\n\nAs linalg.det: (*, n, n) -> (*).");
  auto uplo = [](const std::string& u) {
    if (u != "L" && u != "U") throw ValueError("linalg.eigh: UPLO must be 'L' or 'U', got '" + u + "'");
    return u == "U";
  };
  m.def(
      "linalg_eigh",
      [uplo](py::handle a, const std::string& u) {
        return named("eigh", {"eigenvalues", "eigenvectors"},
                     linalg_eigh(tensor_arg(a, "linalg.eigh", "A"), uplo(u)));
      },
      A, py::arg("UPLO") = "L",
      "linalg.eigh(A, UPLO='L') -> (eigenvalues, eigenvectors)\n\nEigendecomposition of symmetric A (*, n, "
      "n) "
      "from one triangle: eigenvalues (*, n) ascending, eigenvectors (*, n, n) as columns. Gradients assume "
      "distinct eigenvalues (as torch).");
  m.def(
      "linalg_eigvalsh",
      [uplo](py::handle a, const std::string& u) {
        return linalg_eigh(tensor_arg(a, "linalg.eigvalsh", "A"), uplo(u))[0].impl();
      },
      A, py::arg("UPLO") = "L",
      "linalg.eigvalsh(A, UPLO='L') -> Tensor\n\nEigenvalues of symmetric A: (*, n, n) -> (*, n), "
      "ascending.");
  m.def(
      "linalg_qr",
      [](py::handle a, const std::string& mode) {
        if (mode != "reduced" && mode != "complete" && mode != "r")
          throw ValueError("linalg.qr: mode must be 'reduced', 'complete' or 'r', got '" + mode + "'");
        Tensors qr = linalg_qr(tensor_arg(a, "linalg.qr", "A"), mode == "complete");
        if (mode == "r") qr[0] = zeros({0}, qr[1].dtype());
        return named("qr", {"Q", "R"}, qr);
      },
      A, py::arg("mode") = "reduced",
      "linalg.qr(A, mode='reduced') -> (Q, R)\n\nHouseholder QR of A (*, m, n): Q (*, m, k), R (*, k, n), k "
      "= "
      "min(m, n) ('reduced') or m ('complete'); mode 'r' returns an empty Q. Differentiable except "
      "for mode='complete' with m > n (the last m - n columns of Q are not unique).");
  m.def(
      "linalg_svd",
      [](py::handle a, bool full, py::handle) {
        return named("svd", {"U", "S", "Vh"}, linalg_svd(tensor_arg(a, "linalg.svd", "A"), full));
      },
      A, py::arg("full_matrices") = true, py::kw_only(), py::arg("driver") = py::none(),
      "linalg.svd(A, full_matrices=True, *, driver=None) -> (U, S, Vh)\n\nA (*, m, n) = U diag(S) Vh: U (*, "
      "m, "
      "m|k), S (*, k) descending, Vh (*, n|k, n), k = min(m, n). Gradients assume distinct nonzero singular "
      "values (as torch).");
  m.def(
      "linalg_svdvals",
      [](py::handle a, py::handle) {
        return linalg_svd(tensor_arg(a, "linalg.svdvals", "A"), false)[1].impl();
      },
      A, py::kw_only(), py::arg("driver") = py::none(),
      "linalg.svdvals(A, *, driver=None) -> Tensor\n\nSingular values, descending: (*, m, n) -> (*, min(m, "
      "n)).");
  m.def(
      "linalg_vector_norm",
      [](py::handle x, py::handle ord, py::handle dim, bool keepdim, py::handle dtype) {
        Tensor X = norm_input(x, dtype, "linalg.vector_norm", "x");
        return linalg_vector_norm(X, number(ord, "linalg.vector_norm"), dim_arg(dim), keepdim).impl();
      },
      py::arg("x"), py::arg("ord") = 2, py::arg("dim") = py::none(), py::arg("keepdim") = false,
      py::kw_only(), py::arg("dtype") = py::none(),
      "linalg.vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None) -> Tensor\n\n"
      "(sum |x|^ord)^(1/ord) over dim (all when None or ()): x (*) -> the kept dims (size 1 with "
      "keepdim); ord inf/-inf: max/min |x|; 0: the count of nonzeros; dtype: x is cast to it first. "
      "Gradients are torch's (the subgradient 0 at x = 0). An empty reduction gives 0, or ValueError "
      "for ord inf and ord < 0 (no identity).");
  m.def(
      "linalg_matrix_norm",
      [](py::handle x, py::handle ord, py::handle dim, bool keepdim, py::handle dtype) {
        Tensor X = norm_input(x, dtype, "linalg.matrix_norm", "A");
        return matrix_norm_of(X, ord_arg(ord, "linalg.matrix_norm"), dim_arg(dim), keepdim).impl();
      },
      A, py::arg("ord") = "fro", py::arg("dim") = py::make_tuple(-2, -1), py::arg("keepdim") = false,
      py::kw_only(), py::arg("dtype") = py::none(),
      "linalg.matrix_norm(A, ord='fro', dim=(-2, -1), keepdim=False, *, dtype=None) -> Tensor\n\nord 'fro', "
      "'nuc', 1, -1, "
      "2, "
      "-2, inf, -inf of the matrices over dim: A (*, m, n) -> (*).");
  m.def(
      "linalg_norm",
      [](py::handle x, py::handle ord, py::handle dim, bool keepdim, py::handle dtype) {
        const char* op = "linalg.norm";
        Tensor X = norm_input(x, dtype, op, "input");
        Axes d = dim_arg(dim);
        if (d.size() == 2 || (d.empty() && !ord.is_none() && X.ndim() == 2))
          return matrix_norm_of(X,
                                ord.is_none() ? std::pair<std::string, double>{"fro", 0} : ord_arg(ord, op),
                                d.empty() ? Axes{-2, -1} : d, keepdim)
              .impl();
        if (d.empty() && !ord.is_none() && X.ndim() != 1)
          throw ValueError(
              "linalg.norm: input must be 1-D or 2-D when ord is given and dim is None, got shape " +
              shape_str(X.shape()));
        if (PyUnicode_Check(ord.ptr()))
          throw ValueError("linalg.norm: ord '" + ord.cast<std::string>() + "' needs a matrix (2 dims)");
        return linalg_vector_norm(X, ord.is_none() ? 2.0 : number(ord, op), d, keepdim).impl();
      },
      py::arg("input"), py::arg("ord") = py::none(), py::arg("dim") = py::none(), py::arg("keepdim") = false,
      py::kw_only(), py::arg("dtype") = py::none(),
      "linalg.norm(input, ord=None, dim=None, keepdim=False, *, dtype=None) -> Tensor\n\nA vector norm over "
      "one dim (or all "
      "when dim and ord are None) or a matrix norm over two dims (see vector_norm, matrix_norm).");
  def_op(
      m, T, "norm",
      [](py::handle x, py::handle p, py::handle dim, bool keepdim, py::handle dtype) {
        const char* op = "norm";
        Tensor X = norm_input(x, dtype, op, "input");
        Axes d = dim_arg(dim);
        if (PyUnicode_Check(p.ptr())) {
          auto o = ord_arg(p, op);
          if (o.first == "fro") return linalg_vector_norm(X, 2.0, d, keepdim).impl();
          return matrix_norm_of(X, o, d.empty() ? Axes{-2, -1} : d, keepdim).impl();
        }
        return linalg_vector_norm(X, p.is_none() ? 2.0 : number(p, op), d, keepdim).impl();
      },
      py::arg("input"), py::arg("p") = "fro", py::arg("dim") = py::none(), py::arg("keepdim") = false,
      py::arg("dtype") = py::none(),
      "norm(input, p='fro', dim=None, keepdim=False, dtype=None) -> Tensor\n\ntorch.norm: p a number -> the "
      "vector p-norm over dim (all when None); 'fro' -> the 2-norm over dim; 'nuc' -> nuclear norm of the "
      "matrices over dim (default the last two).");
  m.def(
      "linalg_multi_dot",
      [](py::handle xs) {
        Tensors ts = tensor_list(xs, "linalg.multi_dot");
        if (ts.size() < 2)
          throw ValueError("linalg.multi_dot: expected at least 2 tensors, got " + std::to_string(ts.size()));
        // First and last may be vectors (as torch); the middle ones must be matrices.
        for (size_t i = 0; i < ts.size(); ++i)
          if (ts[i].ndim() != 2 && !((i == 0 || i + 1 == ts.size()) && ts[i].ndim() == 1))
            throw ValueError("linalg.multi_dot: tensor " + std::to_string(i) + " must be 2-D, got shape " +
                             shape_str(ts[i].shape()));
        Tensor r = ts[0];
        for (size_t i = 1; i < ts.size(); ++i) r = matmul(r, ts[i]);
        return r.impl();
      },
      py::arg("tensors"),
      "linalg.multi_dot(tensors) -> Tensor\n\nThe chained product of 2-D tensors (the first and last may be "
      "1-D): (a, b), (b, c), ... -> (a, ..., z).");
}
}  // namespace fastgrad::bindings
