// Norms as composites of abs/pow/sum/amax (their rules come from those primitives).
#include <cmath>
#include <limits>

#include "common.h"

namespace fastgrad {
using namespace detail;

Tensor linalg_vector_norm(const Tensor& x, double ord, const Axes& dims, bool keepdim) {
  require_float(x, "linalg.vector_norm");
  Tensor a = abs(x);
  const bool all = dims.empty();
  if (std::isinf(ord)) {
    if (x.numel() == 0)
      throw ValueError("linalg.vector_norm: ord=±inf of an empty tensor (shape " + shape_str(x.shape()) +
                       ") is undefined");
    return ord > 0 ? amax(a, dims, keepdim) : amin(a, dims, keepdim);
  }
  if (ord == 0) return sum(cast(compare(x, zeros({}, x.dtype()), CmpOp::Ne), x.dtype()), dims, keepdim);
  if (ord == 1) return sum(a, dims, keepdim);
  (void)all;
  if (ord == 2) return sqrt(sum(mul(x, x), dims, keepdim));
  return pow_scalar(sum(pow_scalar(a, ord), dims, keepdim), 1.0 / ord);
}

// ord in {'fro', 'nuc', ±1, ±2, ±inf} over the two dims (rows, cols).
Tensor linalg_matrix_norm(const Tensor& x, const std::string& ord, double p, int64_t d0, int64_t d1,
                          bool keepdim) {
  const char* op = "linalg.matrix_norm";
  require_float(x, op);
  if (x.ndim() < 2)
    throw ValueError(std::string(op) + ": A must have at least 2 dimensions, got shape " +
                     shape_str(x.shape()));
  int64_t r = normalize_axis(d0, x.ndim(), op), c = normalize_axis(d1, x.ndim(), op);
  if (r == c)
    throw ValueError(std::string(op) + ": dims must be different, got (" + std::to_string(d0) + ", " +
                     std::to_string(d1) + ")");
  if (ord == "fro") return sqrt(sum(mul(x, x), {r, c}, keepdim));
  if (ord == "nuc" || p == 2 || p == -2) {
    // Through the singular values: move (r, c) last.
    Axes perm;
    for (int64_t i = 0; i < x.ndim(); ++i)
      if (i != r && i != c) perm.push_back(i);
    perm.push_back(r), perm.push_back(c);
    Tensor s = linalg_svd(permute(x, perm), false)[1];
    Tensor v = ord == "nuc" ? sum(s, {-1}, false) : (p > 0 ? amax(s, {-1}, false) : amin(s, {-1}, false));
    if (keepdim) {
      v = unsqueeze(v, std::min(r, c));
      v = unsqueeze(v, std::max(r, c));
    }
    return v;
  }
  if (!ord.empty()) throw ValueError(std::string(op) + ": unsupported ord '" + ord + "'");
  if (std::abs(p) == 1 || std::isinf(p)) {
    // 1: max column sum (sum over rows); inf: max row sum.
    const int64_t sum_dim = std::abs(p) == 1 ? r : c, red_dim = std::abs(p) == 1 ? c : r;
    Tensor s = sum(abs(x), {sum_dim}, true);
    Tensor v = p > 0 ? amax(s, {red_dim}, true) : amin(s, {red_dim}, true);
    return keepdim ? v : squeeze(v, {r, c});
  }
  throw ValueError(std::string(op) + ": unsupported ord " + std::to_string(p) +
                   " (expected 'fro', 'nuc', ±1, ±2, ±inf)");
}

}  // namespace fastgrad
