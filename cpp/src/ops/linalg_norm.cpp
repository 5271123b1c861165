// linalg.vector_norm is a primitive (kernels/linalg/vector_norm.cpp): its rules are torch's
// (derivatives.yaml linalg_vector_norm -> FunctionsManual's norm_backward / norm_jvp), which
// pick the subgradient 0 where the composite sqrt(sum(x*x)) or pow(sum |x|^p, 1/p) would give
// NaN (at x = 0, and for an empty input). Matrix norms compose it with abs/sum/amax/amin and
// the singular values (their rules come from those primitives).
#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "../kernels/linalg/vector_norm.h"
#include "common.h"

namespace fastgrad {
using namespace detail;

namespace {

std::string ord_str(double ord) {
  if (std::isinf(ord)) return ord > 0 ? "inf" : "-inf";
  std::ostringstream o;
  o << ord;
  return o.str();
}

// ---- vector norm: y = (sum |x|^p)^(1/p) over `axes` ----
// Both rules are y' = sum(D ∘ ẋ) (JVP) and x̄ = ȳ D (VJP) with the elementwise D = ∂y/∂x
// of torch's norm_backward:
//   p = 1: sgn x;  p = 2: x / y;  1 < p: sgn x |x|^(p-1) / y^(p-1)  (all 0 where y = 0);
//   p < 1 (p != 0): sgn x |x|^(p-1) y^(1-p), 0 where x = 0;  p = 0: 0 (piecewise constant);
//   p = ±inf: sgn x where |x| = y (or is NaN), shared equally between the tied entries.
// Masked entries select a safe operand first (double where) so the masked branch carries no
// inf into higher derivatives.
struct VectorNorm : Primitive {
  double ord;
  Axes axes;  // normalised, ascending; empty for a 0-d input
  bool keepdim;
  VectorNorm(double o, Axes a, bool k) : ord(o), axes(std::move(a)), keepdim(k) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("linalg_vector_norm").reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  // The batch axis is never reduced: in front, every reduced axis one further.
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    Axes a = axes;
    for (auto& d : a) ++d;
    return {{apply1(make_prim<VectorNorm>(ord, std::move(a), keepdim), {batch_front(in[0], bdims[0])})}, {0}};
  }
  bool reduced(int64_t d) const { return std::binary_search(axes.begin(), axes.end(), d); }
  std::vector<Shape> shapes(const Tensors& in) const override {
    const Tensor& x = in[0];
    require_float(x, "linalg.vector_norm");
    Shape out;
    int64_t n = 1;
    for (int64_t d = 0; d < x.ndim(); ++d) {
      if (!reduced(d))
        out.push_back(x.shape()[d]);
      else if (n *= x.shape()[d], keepdim)
        out.push_back(1);
    }
    // As torch: the max (inf) and the negative-order norms have no value on nothing.
    if (n == 0 && (ord < 0 || std::isinf(ord)))
      throw ValueError("linalg.vector_norm: cannot compute the " + ord_str(ord) +
                       " norm over an empty reduction (input of shape " + shape_str(x.shape()) +
                       "): the operation has no identity");
    return {out};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& s) const override {
    Tensor x = detach(in[0]), y = empty(s[0], x.dtype());
    Shape kshape, kstr, rshape, rstr;
    for (int64_t d = 0; d < x.ndim(); ++d) {
      (reduced(d) ? rshape : kshape).push_back(x.shape()[d]);
      (reduced(d) ? rstr : kstr).push_back(x.strides()[d]);
    }
    FG_DISPATCH_FLOAT(x.dtype(), "linalg.vector_norm", [&] {
      kernels::vector_norm<scalar_t>(ord, x.data<scalar_t>(), kshape.data(), kstr.data(),
                                     static_cast<int64_t>(kshape.size()), rshape.data(), rstr.data(),
                                     static_cast<int64_t>(rshape.size()), y.data<scalar_t>());
    });
    return {y};
  }
  // t with the reduced axes kept (size 1), so it broadcasts against x.
  Tensor keep(const Tensor& t, const Tensor& x) const {
    if (keepdim) return t;
    Shape s = x.shape();
    for (auto a : axes) s[a] = 1;
    return reshape(t, s);
  }
  // ∂y/∂x, elementwise (see above); y already kept.
  Tensor partial(const Tensor& x, const Tensor& y) const {
    const DType dt = x.dtype();
    Tensor zero = zeros({}, dt), one = ones({}, dt);
    if (ord == 1) return sign(x);
    if (std::isinf(ord)) {
      Tensor ax = abs(x);
      Tensor hit = cast(logical_or(compare(ax, y, CmpOp::Eq), isnan(ax)), dt);
      return div(mul(sign(x), hit), sum(hit, axes, true));
    }
    Tensor y0 = compare(y, zero, CmpOp::Eq), ys = where(y0, one, y);
    if (ord == 2) return where(y0, zero, div(x, ys));
    Tensor x0 = compare(x, zero, CmpOp::Eq), axs = where(x0, one, abs(x));
    Tensor t = mul(sign(x), pow_scalar(axs, ord - 1));  // sgn x |x|^(p-1), any value where x = 0
    if (ord > 1) return where(y0, zero, div(t, pow_scalar(ys, ord - 1)));
    return mul(where(x0, zero, t), pow_scalar(y, 1 - ord));
  }
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    if (ord == 0) return {zeros_like(x[0])};
    return {mul(keep(g[0], x[0]), partial(x[0], keep(y[0], x[0])))};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    if (ord == 0) return {zeros_like(y[0])};
    return {sum(mul(partial(x[0], keep(y[0], x[0])), t[0]), axes, keepdim)};
  }
};
FG_REGISTER_PRIMITIVE(VectorNorm::kDesc);

}  // namespace

Tensor linalg_vector_norm(const Tensor& x, double ord, const Axes& dims, bool keepdim) {
  const char* op = "linalg.vector_norm";
  require_float(x, op);
  if (std::isnan(ord)) throw ValueError("linalg.vector_norm: ord must not be NaN");
  Axes ax;
  if (x.ndim() > 0) {
    if (dims.empty())
      for (int64_t d = 0; d < x.ndim(); ++d) ax.push_back(d);
    for (auto d : dims) ax.push_back(normalize_axis(d, x.ndim(), op));
    std::sort(ax.begin(), ax.end());
    if (std::adjacent_find(ax.begin(), ax.end()) != ax.end())
      throw ValueError("linalg.vector_norm: dim " + shape_str(Shape(dims.begin(), dims.end())) +
                       " repeats a dimension (input of shape " + shape_str(x.shape()) + ")");
  } else {
    for (auto d : dims) normalize_axis(d, 0, op);  // a 0-d tensor takes dim 0 / -1, as torch
  }
  return apply1(make_prim<VectorNorm>(ord, std::move(ax), keepdim), {x});
}

// ord in {'fro', 'nuc', ±1, ±2, ±inf} over the two dims (rows, cols).
Tensor linalg_matrix_norm(const Tensor& x, const std::string& ord, double p, int64_t d0, int64_t d1,
                          bool keepdim) {
  const char* op = "linalg.matrix_norm";
  constexpr double kInf = std::numeric_limits<double>::infinity();
  require_float(x, op);
  if (x.ndim() < 2)
    throw ValueError(std::string(op) + ": A must have at least 2 dimensions, got shape " +
                     shape_str(x.shape()));
  int64_t r = normalize_axis(d0, x.ndim(), op), c = normalize_axis(d1, x.ndim(), op);
  if (r == c)
    throw ValueError(std::string(op) + ": dims must be different, got (" + std::to_string(d0) + ", " +
                     std::to_string(d1) + ")");
  if (ord == "fro") return linalg_vector_norm(x, 2.0, {r, c}, keepdim);
  // An empty matrix has norm 0 for the positive orders (torch: its max over nothing is the
  // identity of nonnegative values); the negative ones take amin of nothing and raise below.
  const bool positive = ord == "nuc" || (ord.empty() && (p == 1 || p == 2 || p == kInf));
  if (positive && (x.shape()[r] == 0 || x.shape()[c] == 0)) return sum(x, {r, c}, keepdim);
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
