// torch's linear-algebra spellings defined through the decompositions (torch.svd, torch.qr,
// logdet, pinv, cond, matrix_rank): composites of linalg_svd / linalg_eigh / linalg_qr and
// elementwise ops, so their derivatives are those decompositions' rules.
#include <algorithm>
#include <cmath>
#include <limits>

#include "common.h"

namespace fastgrad {
using namespace detail;

namespace {
void check_matrix(const Tensor& a, const char* op) {
  if (a.ndim() < 2)
    throw ValueError(std::string(op) + ": A must have at least 2 dims (*, m, n), got shape " +
                     shape_str(a.shape()));
  if (!is_floating(a.dtype()))
    throw TypeError(std::string(op) + ": expected a float32 or float64 tensor, got " + dtype_name(a.dtype()));
}

double eps_of(DType d) {
  return d == DType::Float32 ? static_cast<double>(std::numeric_limits<float>::epsilon())
                             : std::numeric_limits<double>::epsilon();
}

// The cutoff max(atol, rtol * smax) of pinv / matrix_rank with torch's defaults (undefined
// = not given): no rtol -> eps * max(m, n), or 0 where a given atol is > 0. atol and rtol
// batch as (*); smax is (*, 1).
Tensor cutoff(const Tensor& smax, DType d, int64_t m, int64_t n, const Tensor& atol, const Tensor& rtol) {
  Tensor dflt = scalar(eps_of(d) * static_cast<double>(std::max(m, n)), d);
  Tensor zero = scalar(0.0, d);
  Tensor r = rtol.defined()   ? cast(rtol, d)
             : atol.defined() ? where(compare(atol, zero, CmpOp::Gt), zero, dflt)
                              : dflt;
  Tensor a = atol.defined() ? cast(atol, d) : zero;
  return maximum(unsqueeze(a, -1), mul(unsqueeze(r, -1), smax));
}

// s[..., :1]: the largest singular value (descending order), kept as (*, 1).
Tensor narrow_last(const Tensor& s) {
  std::vector<SliceSpec> spec;
  for (int64_t d = 0; d < s.ndim(); ++d) spec.push_back({0, s.shape()[d], 1});
  spec.back() = {0, 1, 1};
  return slice(s, spec);
}

Tensor safe_reciprocal(const Tensor& s, const Tensor& keep) {
  // The dropped entries read 1 so neither branch of the where makes inf/NaN gradients.
  Tensor safe = where(keep, s, scalar(1.0, s.dtype()));
  return where(keep, rdiv_scalar(safe, 1.0), scalar(0.0, s.dtype()));
}
}  // namespace

Tensors svd_torch(const Tensor& a, bool some, bool compute_uv) {
  check_matrix(a, "svd");
  const int64_t nd = a.ndim();
  if (!compute_uv) {
    Tensor sv = linalg_svd(a, false)[1];
    Shape su(a.shape().begin(), a.shape().end() - 2), sv_shape = su;
    su.push_back(a.shape()[nd - 2]), su.push_back(a.shape()[nd - 2]);
    sv_shape.push_back(a.shape()[nd - 1]), sv_shape.push_back(a.shape()[nd - 1]);
    return {zeros(su, a.dtype()), sv, zeros(sv_shape, a.dtype())};
  }
  Tensors r = linalg_svd(a, !some);
  return {r[0], r[1], transpose(r[2], -2, -1)};
}

Tensors qr_torch(const Tensor& a, bool some) {
  check_matrix(a, "qr");
  return linalg_qr(a, !some);
}

Tensor logdet(const Tensor& a) {
  Tensors sl = linalg_slogdet(a);
  // log of a negative determinant is NaN (torch.logdet); zero gives -inf through logabsdet.
  Tensor neg = compare(sl[0], scalar(0.0, sl[0].dtype()), CmpOp::Lt);
  return where(neg, scalar(std::nan(""), sl[1].dtype()), sl[1]);
}

Tensor linalg_pinv(const Tensor& a, const Tensor& atol, const Tensor& rtol, bool hermitian) {
  check_matrix(a, "linalg.pinv");
  const int64_t m = a.shape()[a.ndim() - 2], n = a.shape()[a.ndim() - 1];
  if (hermitian) {
    if (m != n)
      throw ValueError("linalg.pinv: hermitian=True needs square matrices, got shape " +
                       shape_str(a.shape()));
    if (a.numel() == 0) return mul_scalar(a, 0.0);  // stays on the tape: a zero gradient
    Tensors e = linalg_eigh(a, false);
    Tensor mag = abs(e[0]);
    Tensor keep = compare(mag, cutoff(amax(mag, {-1}, true), a.dtype(), m, n, atol, rtol), CmpOp::Gt);
    Tensor inv = safe_reciprocal(e[0], keep);
    return matmul(mul(e[1], unsqueeze(inv, -2)), transpose(e[1], -2, -1));
  }
  Tensors usv = linalg_svd(a, false);
  Tensor s = usv[1];
  if (s.shape().back() == 0) return mul_scalar(transpose(a, -2, -1), 0.0);
  Tensor smax = narrow_last(s);
  Tensor keep = compare(s, cutoff(smax, a.dtype(), m, n, atol, rtol), CmpOp::Gt);
  Tensor inv = safe_reciprocal(s, keep);
  return matmul(mul(transpose(usv[2], -2, -1), unsqueeze(inv, -2)), transpose(usv[0], -2, -1));
}

Tensor linalg_matrix_rank(const Tensor& a, const Tensor& atol, const Tensor& rtol, bool hermitian) {
  check_matrix(a, "linalg.matrix_rank");
  const int64_t m = a.shape()[a.ndim() - 2], n = a.shape()[a.ndim() - 1];
  Tensor x = detach(a);
  if (std::min(m, n) == 0) {
    Shape batch(a.shape().begin(), a.shape().end() - 2);
    return zeros(batch, DType::Int64);
  }
  Tensor s = hermitian ? abs(linalg_eigh(x, false)[0]) : linalg_svd(x, false)[1];
  Tensor keep = compare(s, cutoff(amax(s, {-1}, true), a.dtype(), m, n, atol, rtol), CmpOp::Gt);
  return sum(cast(keep, DType::Int64), {-1}, false);
}

Tensor linalg_cond(const Tensor& a, const std::string& ord, double p) {
  check_matrix(a, "linalg.cond");
  if (ord.empty() && (p == 2 || p == -2)) {
    Tensor s = linalg_svd(a, false)[1];
    const int64_t k = s.shape().back();
    Tensor hi = squeeze(narrow_last(s), {-1});
    std::vector<SliceSpec> spec;
    for (int64_t d = 0; d < s.ndim(); ++d) spec.push_back({0, s.shape()[d], 1});
    spec.back() = {k - 1, k, 1};
    Tensor lo = squeeze(slice(s, spec), {-1});
    return p == 2 ? div(hi, lo) : div(lo, hi);
  }
  const int64_t m = a.shape()[a.ndim() - 2], n = a.shape()[a.ndim() - 1];
  if (m != n)
    throw ValueError("linalg.cond: ord other than 2/-2/None needs square matrices, got shape " +
                     shape_str(a.shape()));
  return mul(linalg_matrix_norm(a, ord, p, -2, -1, false),
             linalg_matrix_norm(linalg_inv(a), ord, p, -2, -1, false));
}

Tensor cdist(const Tensor& x1, const Tensor& x2, double p) {
  if (x1.ndim() < 2 || x2.ndim() < 2 || x1.shape().back() != x2.shape().back())
    throw ValueError("cdist: x1 (*, P, M) and x2 (*, R, M) must be matrices with one M, got " +
                     shape_str(x1.shape()) + " and " + shape_str(x2.shape()));
  if (p < 0) throw ValueError("cdist: p must be >= 0, got " + std::to_string(p));
  // Every pair's difference (*, P, R, M), normed along M: vector_norm's subgradient 0 at a
  // zero distance is torch's cdist convention.
  return linalg_vector_norm(sub(unsqueeze(x1, -2), unsqueeze(x2, -3)), p, {-1}, false);
}
}  // namespace fastgrad
