// Reductions and integrals that PyTorch defines in terms of others (nansum, var_mean,
// aminmax, trapezoid, dist, ...), written as composites of fastgrad's primitives so every
// derivative, including the higher ones, comes from those primitives' rules.
#include <cmath>

#include "common.h"

namespace fastgrad {
using namespace detail;

namespace {
// x with NaNs replaced by zero: the masked entries get a zero gradient, as torch's nansum.
Tensor zero_nans(const Tensor& x) {
  if (!is_floating(x.dtype())) return x;
  return where(isnan(x), scalar(0.0, x.dtype()), x);
}

// x[lo:hi] along dim (0 <= lo <= hi <= size), every other axis whole.
Tensor narrow_dim(const Tensor& x, int64_t dim, int64_t lo, int64_t hi) {
  std::vector<SliceSpec> spec;
  for (int64_t k = 0; k < x.ndim(); ++k) spec.push_back({0, x.shape()[k], 1});
  spec[dim] = {lo, hi, 1};
  return slice(x, spec);
}

Tensor float_of(const Tensor& x) { return is_floating(x.dtype()) ? x : cast(x, DType::Float32); }

// The interval widths along dim for trapezoid/cumulative_trapezoid: x's differences, with
// x a 1-d grid along dim or a tensor broadcasting against y (torch's rule).
Tensor spacing(const Tensor& y, const Tensor& x, int64_t dim, const char* op) {
  Tensor xv = x;
  if (x.ndim() == 1) {
    if (x.shape()[0] != y.shape()[dim])
      throw ValueError(std::string(op) + ": x " + shape_str(x.shape()) + " must have y's size " +
                       std::to_string(y.shape()[dim]) + " along dim " + std::to_string(dim) + " (y " +
                       shape_str(y.shape()) + ")");
    Shape s(y.ndim(), 1);
    s[dim] = x.shape()[0];
    xv = reshape(x, s);
  } else if (x.ndim() < y.ndim()) {
    Shape s(y.ndim() - x.ndim(), 1);
    s.insert(s.end(), x.shape().begin(), x.shape().end());
    xv = reshape(x, s);
  } else if (x.ndim() > y.ndim()) {
    throw ValueError(std::string(op) + ": x " + shape_str(x.shape()) + " has more dims than y " +
                     shape_str(y.shape()));
  }
  const int64_t n = xv.shape()[dim];
  if (n != y.shape()[dim] && n != 1)
    throw ValueError(std::string(op) + ": x " + shape_str(x.shape()) + " and y " + shape_str(y.shape()) +
                     " do not match along dim " + std::to_string(dim));
  if (n == 1) return scalar(0.0, float_of(xv).dtype());
  return sub(narrow_dim(xv, dim, 1, n), narrow_dim(xv, dim, 0, n - 1));
}

// The per-interval areas (dx/2)(y[i] + y[i+1]) along dim; y's size along dim is >= 1.
Tensor trapezoid_terms(const Tensor& y, const Tensor& dx, int64_t dim) {
  const int64_t n = y.shape()[dim];
  Tensor mid = add(narrow_dim(y, dim, 1, n), narrow_dim(y, dim, 0, n - 1));
  return mul_scalar(mul(dx, mid), 0.5);
}
}  // namespace

Tensor nansum(const Tensor& x, const Axes& axes, bool keepdim) { return sum(zero_nans(x), axes, keepdim); }

Tensor nanmean(const Tensor& x, const Axes& axes, bool keepdim) {
  if (!is_floating(x.dtype()))
    throw TypeError("nanmean: expected a floating-point input, got " + std::string(dtype_name(x.dtype())));
  Tensor count = sum(cast(logical_not(isnan(x)), x.dtype()), axes, keepdim);
  return div(nansum(x, axes, keepdim), count);
}

Tensors var_mean(const Tensor& x, const Axes& axes, double correction, bool keepdim) {
  return {var(x, axes, correction, keepdim), mean(x, axes, keepdim)};
}

Tensors std_mean(const Tensor& x, const Axes& axes, double correction, bool keepdim) {
  return {std_(x, axes, correction, keepdim), mean(x, axes, keepdim)};
}

Tensors aminmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  Axes axes;
  if (!dim && x.numel() == 0)
    throw ValueError("aminmax: cannot reduce an empty tensor " + shape_str(x.shape()) + " over every dim");
  if (dim) {
    if (x.ndim() == 0) {
      normalize_axis(*dim, 1, "aminmax");
      return {amin(x, {}, false), amax(x, {}, false)};
    }
    axes = {normalize_axis(*dim, x.ndim(), "aminmax")};
    if (x.shape()[axes[0]] == 0)
      throw ValueError("aminmax: cannot reduce the empty dim " + std::to_string(axes[0]) + " of shape " +
                       shape_str(x.shape()));
    if (x.shape()[axes[0]] == 0)
      throw ValueError("aminmax: cannot reduce the empty dim " + std::to_string(axes[0]) + " of shape " +
                       shape_str(x.shape()));
  }
  return {amin(x, axes, keepdim), amax(x, axes, keepdim)};
}

Tensor dist(const Tensor& a, const Tensor& b, double p) {
  try {
    (void)broadcast_shapes(a.shape(), b.shape(), "dist");
  } catch (const ValueError&) {
    throw ValueError("dist: shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()) +
                     " cannot be broadcast together");
  }
  return linalg_vector_norm(sub(a, b), p, {}, false);
}

Tensor trapezoid(const Tensor& y0, const Tensor& x, double dx, int64_t dim) {
  Tensor y = float_of(y0);
  if (y.ndim() == 0) throw ValueError("trapezoid: y must have at least one dim, got shape ()");
  dim = normalize_axis(dim, y.ndim(), "trapezoid");
  const int64_t n = y.shape()[dim];
  if (n == 0) return sum(y, {dim}, false);
  Tensor d = x.defined() ? spacing(y, x, dim, "trapezoid") : scalar(dx, y.dtype());
  return sum(trapezoid_terms(y, d, dim), {dim}, false);
}

Tensor cumulative_trapezoid(const Tensor& y0, const Tensor& x, double dx, int64_t dim) {
  Tensor y = float_of(y0);
  if (y.ndim() == 0) throw ValueError("cumulative_trapezoid: y must have at least one dim, got shape ()");
  dim = normalize_axis(dim, y.ndim(), "cumulative_trapezoid");
  const int64_t n = y.shape()[dim];
  if (n == 0) return y;
  Tensor d = x.defined() ? spacing(y, x, dim, "cumulative_trapezoid") : scalar(dx, y.dtype());
  return cumsum(trapezoid_terms(y, d, dim), dim);
}

Tensor linalg_vecdot(const Tensor& a, const Tensor& b, int64_t dim) {
  Shape s;
  try {
    s = broadcast_shapes(a.shape(), b.shape(), "linalg.vecdot");
  } catch (const ValueError&) {
    throw ValueError("linalg.vecdot: shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()) +
                     " cannot be broadcast together");
  }
  const int64_t d = normalize_axis(dim, static_cast<int64_t>(s.size()), "linalg.vecdot");
  return sum(mul(a, b), {d}, false);
}
}  // namespace fastgrad
