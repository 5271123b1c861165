// Composite reductions, integrals and torch's decomposition spellings (nansum, var_mean,
// aminmax, trapezoid, dist, torch.svd, pinv, cond, ...): one def_op each (fg.<op> and
// Tensor.<op>), the fg.linalg ones as _C.linalg_<name> re-exported by fastgrad/linalg.py.
#include "convert.h"

namespace fastgrad::bindings {
namespace {
py::object named_result(const char* name, std::initializer_list<const char*> fields, const Tensors& v) {
  py::list f;
  for (auto s : fields) f.append(s);
  py::object cls = py::module_::import("collections").attr("namedtuple")(name, f);
  py::list items;
  for (auto& t : v) items.append(py::cast(t.impl()));
  return cls(*py::tuple(items));
}
// A tolerance: None (undefined), a number or a tensor batching as (*).
Tensor tol_arg(py::handle h, const char* op, const char* name) {
  return h.is_none() ? Tensor() : tensor_arg(h, op, name);
}
// trapezoid's x: a tensor grid, a number (the spacing, torch's dx overload) or None.
Tensor grid_arg(py::handle x, py::handle dx, double& spacing, const char* op) {
  if (!x.is_none() && !dx.is_none()) throw TypeError(std::string(op) + ": got both x and dx");
  spacing = dx.is_none() ? 1.0 : number(dx, op);
  if (x.is_none()) return Tensor();
  if (is_number(x)) {
    spacing = number(x, op);
    return Tensor();
  }
  return tensor_arg(x, op, "x");
}
}  // namespace

void bind_reduce2(py::module_& m, TensorClass& T) {
  def_op(
      m, T, "aminmax",
      [](py::handle x, py::handle dim, bool keepdim) {
        std::optional<int64_t> d;
        if (!dim.is_none()) d = dim.cast<int64_t>();
        return named_result("aminmax", {"min", "max"},
                            aminmax(tensor_arg(x, "aminmax", "input"), d, keepdim));
      },
      py::arg("input"), py::kw_only(), py::arg("dim") = py::none(), py::arg("keepdim") = false,
      "aminmax(input, *, dim=None, keepdim=False) -> (min, max)\n\namin and amax of input over dim (all "
      "when None): input (*) -> two tensors of the reduced shape (size 1 kept with keepdim). Empty "
      "input: ValueError.");
  def_op(
      m, T, "dist",
      [](py::handle a, py::handle b, py::handle p) {
        auto [A, B] = tensor_pair(a, b, "dist");
        return dist(A, B, number(p, "dist")).impl();
      },
      py::arg("input"), py::arg("other"), py::arg("p") = 2,
      "dist(input, other, p=2) -> Tensor\n\nThe p-norm of input - other (broadcast shapes) -> () "
      "(linalg.vector_norm's orders and gradients).");
  def_op(
      m, T, "trapezoid",
      [](py::handle y, py::handle x, py::handle dx, int64_t dim) {
        double s = 1.0;
        Tensor X = grid_arg(x, dx, s, "trapezoid");
        return trapezoid(tensor_arg(y, "trapezoid", "y"), X, s, dim).impl();
      },
      py::arg("y"), py::arg("x") = py::none(), py::kw_only(), py::arg("dx") = py::none(), py::arg("dim") = -1,
      "trapezoid(y, x=None, *, dx=None, dim=-1) -> Tensor\n\nThe trapezoidal rule along dim: y (*) -> y's "
      "shape without dim. x: sample points, 1-d of y.shape[dim] or broadcasting against y; a number "
      "(or dx): constant spacing (default 1).");
  def_op(
      m, T, "trapz",
      [](py::handle y, py::handle x, py::handle dx, int64_t dim) {
        double s = 1.0;
        Tensor X = grid_arg(x, dx, s, "trapz");
        return trapezoid(tensor_arg(y, "trapz", "y"), X, s, dim).impl();
      },
      py::arg("y"), py::arg("x") = py::none(), py::kw_only(), py::arg("dx") = py::none(), py::arg("dim") = -1,
      "trapz(y, x=None, *, dx=None, dim=-1) -> Tensor\n\nAlias of trapezoid: y (*) -> y's shape without "
      "dim.");
  def_op(
      m, T, "cumulative_trapezoid",
      [](py::handle y, py::handle x, py::handle dx, int64_t dim) {
        double s = 1.0;
        Tensor X = grid_arg(x, dx, s, "cumulative_trapezoid");
        return cumulative_trapezoid(tensor_arg(y, "cumulative_trapezoid", "y"), X, s, dim).impl();
      },
      py::arg("y"), py::arg("x") = py::none(), py::kw_only(), py::arg("dx") = py::none(), py::arg("dim") = -1,
      "cumulative_trapezoid(y, x=None, *, dx=None, dim=-1) -> Tensor\n\nRunning trapezoidal integrals "
      "along dim: y (*, n, *) -> (*, n - 1, *) (x and dx as trapezoid).");
  def_op(
      m, T, "svd",
      [](py::handle a, bool some, bool compute_uv) {
        return named_result("svd", {"U", "S", "V"},
                            svd_torch(tensor_arg(a, "svd", "input"), some, compute_uv));
      },
      py::arg("input"), py::arg("some") = true, py::arg("compute_uv") = true,
      "svd(input, some=True, compute_uv=True) -> (U, S, V)\n\ntorch.svd: input (*, m, n) = U diag(S) Vᵀ, "
      "U (*, m, k|m), S (*, k), V (*, n, k|n), k = min(m, n) (some=False: full U, V). compute_uv=False: "
      "U, V zero-filled (*, m, m), (*, n, n).");
  def_op(
      m, T, "qr",
      [](py::handle a, bool some) {
        return named_result("qr", {"Q", "R"}, qr_torch(tensor_arg(a, "qr", "input"), some));
      },
      py::arg("input"), py::arg("some") = true,
      "qr(input, some=True) -> (Q, R)\n\ntorch.qr: input (*, m, n) = Q R, Q (*, m, k), R (*, k, n), k = "
      "min(m, n) (some=False: k = m).");
  def_op(
      m, T, "logdet", [](py::handle a) { return logdet(tensor_arg(a, "logdet", "input")).impl(); },
      py::arg("input"),
      "logdet(input) -> Tensor\n\nlog det of square matrices: (*, n, n) -> (*); NaN where det < 0, "
      "-inf where det = 0.");
  auto pinv = [](const char* op) {
    return [op](py::handle a, py::handle atol, py::handle rtol, bool hermitian) {
      return linalg_pinv(tensor_arg(a, op, "A"), tol_arg(atol, op, "atol"), tol_arg(rtol, op, "rtol"),
                         hermitian)
          .impl();
    };
  };
  m.def("linalg_pinv", pinv("linalg.pinv"), py::arg("A"), py::kw_only(), py::arg("atol") = py::none(),
        py::arg("rtol") = py::none(), py::arg("hermitian") = false,
        "linalg.pinv(A, *, atol=None, rtol=None, hermitian=False) -> Tensor\n\nMoore-Penrose pseudoinverse "
        "A (*, m, n) -> (*, n, m) from the SVD (eigh when hermitian), dropping singular values <= "
        "max(atol, rtol * sigma_max) (default rtol: eps * max(m, n)).");
  def_op(
      m, T, "pinverse",
      [](py::handle a, double rcond) {
        return linalg_pinv(tensor_arg(a, "pinverse", "input"), Tensor(), scalar(rcond, DType::Float64), false)
            .impl();
      },
      py::arg("input"), py::arg("rcond") = 1e-15,
      "pinverse(input, rcond=1e-15) -> Tensor\n\nlinalg.pinv with rtol=rcond: (*, m, n) -> (*, n, m).");
  m.def(
      "linalg_matrix_rank",
      [](py::handle a, py::handle atol, py::handle rtol, bool hermitian) {
        const char* op = "linalg.matrix_rank";
        return linalg_matrix_rank(tensor_arg(a, op, "A"), tol_arg(atol, op, "atol"),
                                  tol_arg(rtol, op, "rtol"), hermitian)
            .impl();
      },
      py::arg("A"), py::kw_only(), py::arg("atol") = py::none(), py::arg("rtol") = py::none(),
      py::arg("hermitian") = false,
      "linalg.matrix_rank(A, *, atol=None, rtol=None, hermitian=False) -> Tensor\n\nThe number of singular "
      "values > max(atol, rtol * sigma_max): A (*, m, n) -> (*) int64 (tolerances as linalg.pinv).");
  m.def(
      "linalg_cond",
      [](py::handle a, py::handle p) {
        const char* op = "linalg.cond";
        if (p.is_none()) return linalg_cond(tensor_arg(a, op, "A"), "", 2).impl();
        if (PyUnicode_Check(p.ptr()))
          return linalg_cond(tensor_arg(a, op, "A"), p.cast<std::string>(), 0).impl();
        return linalg_cond(tensor_arg(a, op, "A"), "", number(p, op)).impl();
      },
      py::arg("A"), py::arg("p") = py::none(),
      "linalg.cond(A, p=None) -> Tensor\n\nThe condition number of A (*, m, n) -> (*): p None/2/-2 from "
      "the singular values; 'fro', 'nuc', ±1, ±inf as |A|_p |A^-1|_p (square A).");
  m.def(
      "linalg_vecdot",
      [](py::handle x, py::handle y, int64_t dim) {
        auto [X, Y] = tensor_pair(x, y, "linalg.vecdot");
        return linalg_vecdot(X, Y, dim).impl();
      },
      py::arg("x"), py::arg("y"), py::kw_only(), py::arg("dim") = -1,
      "linalg.vecdot(x, y, *, dim=-1) -> Tensor\n\nsum(x * y, dim) of broadcast x, y: (*) -> the "
      "broadcast shape without dim.");
  m.def(
      "linalg_diagonal",
      [](py::handle a, int64_t offset, int64_t dim1, int64_t dim2) {
        return diagonal(tensor_arg(a, "linalg.diagonal", "A"), offset, dim1, dim2).impl();
      },
      py::arg("A"), py::kw_only(), py::arg("offset") = 0, py::arg("dim1") = -2, py::arg("dim2") = -1,
      "linalg.diagonal(A, *, offset=0, dim1=-2, dim2=-1) -> Tensor\n\ndiagonal with the matrix dims last: "
      "A (*, m, n) -> (*, d) (a view).");
  def_op(
      m, T, "cdist",
      [](py::handle a, py::handle b, double p, py::handle) {
        auto [A, B] = tensor_pair(a, b, "cdist");
        return cdist(A, B, p).impl();
      },
      py::arg("x1"), py::arg("x2"), py::arg("p") = 2.0, py::arg("compute_mode") = py::none(),
      "cdist(x1, x2, p=2.0, compute_mode=None) -> Tensor\n\nThe p-norm distance of every row pair: x1 (*, "
      "P, M), x2 (*, R, M) (batches broadcast) -> (*, P, R). compute_mode is accepted for torch's "
      "signature (distances are always computed directly).");
}
}  // namespace fastgrad::bindings
