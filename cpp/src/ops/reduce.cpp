// Reductions and softmax. Sum/max/min/prod are primitives; mean, var, std and
// logsumexp are compositions of primitives (so their derivatives come for free).
#include <algorithm>
#include <cmath>
#include <limits>

#include "../kernels/reduce/reduce.h"
#include "../kernels/softmax/softmax.h"
#include "common.h"

namespace fastgrad {
using namespace detail;
namespace detail {
Tensor logsumexp_over(const Tensor& x, const Axes& axes, const Shape& out_shape, bool keepdims);
}

namespace {

Axes norm_axes(const Axes& axes, int64_t ndim, const char* op) {
  Axes r;
  if (axes.empty()) {
    for (int64_t d = 0; d < ndim; ++d) r.push_back(d);
    return r;
  }
  for (auto a : axes) r.push_back(normalize_axis(a, ndim, op));
  std::sort(r.begin(), r.end());
  if (std::adjacent_find(r.begin(), r.end()) != r.end())
    throw ValueError(std::string(op) + ": repeated axis");
  if (ndim == 0) return {};  // axis 0/-1 of a scalar: nothing to index, reduce-all is the identity
  return r;
}

Shape reduced_shape(const Shape& s, const Axes& axes, bool keepdims) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
    bool red = std::binary_search(axes.begin(), axes.end(), d);
    if (!red)
      out.push_back(s[d]);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

int64_t count_of(const Tensor& x, const Axes& axes) {
  int64_t n = 1;
  for (auto a : axes) n *= x.shape()[a];
  return n;
}

using RK = kernels::ReduceOp;

template <RK K>
Tensor reduce_forward(const Tensor& x, const Axes& axes, bool keepdims, const char* op) {
  Tensor out = empty(reduced_shape(x.shape(), axes, keepdims), x.dtype());
  // The kernel walks the kept and the reduced index spaces by their sizes and strides.
  Shape kshape, kstr, rshape, rstr;
  for (int64_t d = 0; d < x.ndim(); ++d) {
    const bool red = std::binary_search(axes.begin(), axes.end(), d);
    (red ? rshape : kshape).push_back(x.shape()[d]);
    (red ? rstr : kstr).push_back(x.strides()[d]);
  }
  FG_DISPATCH_NUM(x.dtype(), op, [&] {
    if ((K == RK::Max || K == RK::Min) && shape_numel(rshape) == 0)
      throw ValueError("reduction over an empty axis has no identity (shape " + shape_str(x.shape()) + ")");
    kernels::reduce<scalar_t>(K, x.data<scalar_t>(), kshape.data(), kstr.data(),
                              static_cast<int64_t>(kshape.size()), rshape.data(), rstr.data(),
                              static_cast<int64_t>(rshape.size()), out.data<scalar_t>());
  });
  return out;
}

struct ReduceBase : Primitive {
  Axes axes;
  bool keepdims;
  ReduceBase(Axes a, bool k) : axes(std::move(a)), keepdims(k) {}
  std::vector<Shape> shapes(const Tensors& in) const override {
    return {reduced_shape(in[0].shape(), axes, keepdims)};
  }
  // Cotangent/output reshaped so it broadcasts against the input.
  Tensor keep(const Tensor& g, const Tensor& x) const {
    return keepdims ? g : reshape(g, reduced_shape(x.shape(), axes, true));
  }
  // The same reduction over other axes (the batching rule's shifted ones).
  virtual PrimPtr over(Axes a) const = 0;
  // vmap: batch axis in front, every reduced axis one further.
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    Axes a = axes;
    for (auto& d : a) ++d;
    return {{apply1(over(std::move(a)), {batch_front(in[0], bdims[0])})}, {0}};
  }
};

struct Sum : ReduceBase {
  using ReduceBase::ReduceBase;
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("sum").reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  PrimPtr over(Axes a) const override { return make_prim<Sum>(std::move(a), keepdims); }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    return {reduce_forward<RK::Sum>(in[0], axes, keepdims, name())};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {expand(keep(g[0], x[0]), x[0].shape())};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override {
    return {sum(t[0], axes, keepdims)};
  }
};
FG_REGISTER_PRIMITIVE(Sum::kDesc);

// Ties share the gradient equally (as PyTorch's amax).
template <bool Max>
struct Extremum : ReduceBase {
  using ReduceBase::ReduceBase;
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc(Max ? "amax" : "amin").reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  PrimPtr over(Axes a) const override { return make_prim<Extremum>(std::move(a), this->keepdims); }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    return {reduce_forward<Max ? RK::Max : RK::Min>(in[0], axes, keepdims, name())};
  }
  Tensor weights(const Tensor& x, const Tensor& y) const {
    Tensor mask = cast(compare(x, keep(y, x), CmpOp::Eq), x.dtype());
    return mask / sum(mask, axes, true);
  }
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    return {keep(g[0], x[0]) * weights(x[0], y[0])};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    return {sum(t[0] * weights(x[0], y[0]), axes, keepdims)};
  }
};
FG_REGISTER_PRIMITIVE(Extremum<true>::kDesc);
FG_REGISTER_PRIMITIVE(Extremum<false>::kDesc);

// out[i] = product of the entries of x's reduced slice through i other than x[i] itself,
// from prefix and suffix products (exact up to rounding; no division). Not differentiable.
Tensor exclusive_products(const Tensor& x0, const Axes& axes) {
  if (any_batched({x0}))
    return vmap_call_leading({x0}, [&](const Tensors& p) -> Tensors {
      Axes a = axes;
      for (auto& d : a) ++d;
      return {exclusive_products(p[0], a)};
    })[0];
  const int64_t nd = x0.ndim();
  Axes perm, inv(static_cast<size_t>(nd));
  for (int64_t d = 0; d < nd; ++d)
    if (!std::binary_search(axes.begin(), axes.end(), d)) perm.push_back(d);
  for (auto a : axes) perm.push_back(a);
  for (int64_t d = 0; d < nd; ++d) inv[static_cast<size_t>(perm[static_cast<size_t>(d)])] = d;
  Tensor x = contiguous(permute(detach(x0), perm));
  const int64_t nr = count_of(x0, axes), rows = nr ? x.numel() / nr : 0;
  Tensor y = empty(x.shape(), x.dtype());
  FG_DISPATCH_FLOAT(x.dtype(), "prod", [&] {
    kernels::exclusive_products_rows(x.data<scalar_t>(), y.data<scalar_t>(), rows, nr);
  });
  return contiguous(permute(y, inv));
}

struct Prod : ReduceBase {
  using ReduceBase::ReduceBase;
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("prod");
  const PrimitiveDesc& desc() const override { return kDesc; }
  PrimPtr over(Axes a) const override { return make_prim<Prod>(std::move(a), keepdims); }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    return {reduce_forward<RK::Prod>(in[0], axes, keepdims, name())};
  }
  // d prod / d x_i = product of the other entries, written so that it stays correct when
  // differentiated again at zeros (prod/x_i would not be). With P = product of the
  // nonzero entries and Z = product of the zero entries (1 if none):
  //   x_i != 0:  P / x_i * Z
  //   x_i == 0:  P * (product of the other zeros) = P * (1 if one zero; the other zero
  //              if two; 0 if more, whose derivative vanishes to second order).
  //
  // Its value is taken from exclusive_products (prefix * suffix, no division): P / x_i
  // loses the answer when P under- or overflows although the product of the others
  // does not (x = [5e-324, 1.5] has P = 5e-324 rounded, so P / x_0 = 1, not 1.5). The
  // composite below then only carries the derivative (straight-through), and is built
  // only when that derivative can be asked for.
  Tensor others(const Tensor& x) const {
    Tensor exact = exclusive_products(x, axes);
    if (!grad_enabled() && !any_jvp_level()) return exact;
    Tensor c = others_composite(x);
    Tensor cd = detach(c);
    return exact + where(isfinite(cd), c - cd, zeros({}, x.dtype()));
  }
  Tensor others_composite(const Tensor& x) const {
    const DType dt = x.dtype();
    Tensor zero = zeros({}, dt), one = ones({}, dt);
    Tensor is0 = compare(x, zero, CmpOp::Eq);
    Tensor safe = where(is0, one, x);
    Tensor p = prod(safe, axes, true);
    Tensor z = prod(where(is0, x, one), axes, true);
    Tensor nz = sum(cast(is0, dt), axes, true);
    Tensor other_zeros =
        where(compare(nz, one, CmpOp::Eq), one,
              where(compare(nz, scalar(2.0, dt), CmpOp::Eq), sum(where(is0, x, zero), axes, true) - x, zero));
    return where(is0, p * other_zeros, p / safe * z);
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {keep(g[0], x[0]) * others(x[0])};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {sum(t[0] * others(x[0]), axes, keepdims)};
  }
};
FG_REGISTER_PRIMITIVE(Prod::kDesc);

// Rows of the softmax axis, made last and contiguous.
template <bool Log>
Tensor softmax_forward(const Tensor& x0, int64_t axis) {
  Tensor x = detach(x0);
  const int64_t last = x.ndim() - 1;
  if (axis != last) x = transpose(x, axis, last);
  x = contiguous(x);
  Tensor y = empty(x.shape(), x.dtype());
  const int64_t n = x.ndim() ? x.shape()[last] : 1;
  const int64_t rows = n ? x.numel() / n : 0;
  FG_DISPATCH_FLOAT(x.dtype(), Log ? "log_softmax" : "softmax", [&] {
    if (Log)
      kernels::log_softmax_rows(x.data<scalar_t>(), n, y.data<scalar_t>(), n, rows, n);
    else
      kernels::softmax_rows(x.data<scalar_t>(), n, y.data<scalar_t>(), n, rows, n);
  });
  if (axis != last) y = contiguous(transpose(y, axis, last));
  return y;
}

struct Softmax : Primitive {
  int64_t axis;
  explicit Softmax(int64_t a) : axis(a) {}
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    return {{apply1(make_prim<Softmax>(axis + 1), {batch_front(in[0], bdims[0])})}, {0}};
  }
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("softmax").reads_inputs(0).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_float(in[0], name());
    return {in[0].shape()};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    return {softmax_forward<false>(in[0], axis)};
  }
  // J^T g = y (g - <g, y>) along the axis
  Tensors vjp(const Tensors&, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    return {y[0] * (g[0] - sum(g[0] * y[0], {axis}, true))};
  }
  Tensors jvp(const Tensors&, const Tensors& y, const Tensors& t) const override {
    return {y[0] * (t[0] - sum(t[0] * y[0], {axis}, true))};
  }
};
FG_REGISTER_PRIMITIVE(Softmax::kDesc);

struct LogSoftmax : Primitive {
  int64_t axis;
  explicit LogSoftmax(int64_t a) : axis(a) {}
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    return {{apply1(make_prim<LogSoftmax>(axis + 1), {batch_front(in[0], bdims[0])})}, {0}};
  }
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("log_softmax").reads_inputs(0).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_float(in[0], name());
    return {in[0].shape()};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    return {softmax_forward<true>(in[0], axis)};
  }
  Tensors vjp(const Tensors&, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    return {g[0] - exp(y[0]) * sum(g[0], {axis}, true)};
  }
  Tensors jvp(const Tensors&, const Tensors& y, const Tensors& t) const override {
    return {t[0] - sum(exp(y[0]) * t[0], {axis}, true)};
  }
};
FG_REGISTER_PRIMITIVE(LogSoftmax::kDesc);

template <bool Max>
Tensor arg_extremum(const Tensor& x0, std::optional<int64_t> axis, bool keepdims) {
  const char* op = Max ? "argmax" : "argmin";
  Tensor x = detach(x0);
  Shape out_shape;
  int64_t ax;
  if (axis && x.ndim() == 0) normalize_axis(*axis, 0, op);
  if (!axis || x.ndim() == 0) {
    x = reshape(contiguous(x), {x.numel()});
    ax = 0;
    if (keepdims) out_shape.assign(x0.ndim(), 1);
  } else {
    ax = normalize_axis(*axis, x.ndim(), op);
    out_shape = reduced_shape(x.shape(), {ax}, keepdims);
  }
  if (x.shape()[ax] == 0) throw ValueError(std::string(op) + ": empty axis");
  const int64_t last = x.ndim() - 1;
  // Move the axis to the end keeping the other axes in order (a transpose would swap
  // `ax` with `last` and scramble the rows relative to out_shape).
  if (ax != last) {
    Axes perm;
    for (int64_t d = 0; d <= last; ++d)
      if (d != ax) perm.push_back(d);
    perm.push_back(ax);
    x = permute(x, perm);
  }
  x = contiguous(x);
  const int64_t n = x.shape()[last], rows = x.numel() / n;
  Tensor out = empty(out_shape, DType::Int64);
  int64_t* o = out.data<int64_t>();
  FG_DISPATCH_NUM(x.dtype(), op, [&] { kernels::arg_extremum_rows(Max, x.data<scalar_t>(), rows, n, o); });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const Axes& axes, bool keepdims) {
  Tensor y = x.dtype() == DType::Bool ? cast(x, DType::Int64) : x;
  return apply1(make_prim<Sum>(norm_axes(axes, x.ndim(), "sum"), keepdims), {y});
}
Tensor mean(const Tensor& x, const Axes& axes, bool keepdims) {
  Tensor y = is_floating(x.dtype()) ? x : cast(x, DType::Float32);
  Axes ax = norm_axes(axes, x.ndim(), "mean");
  return sum(y, ax, keepdims) * (1.0 / static_cast<double>(count_of(x, ax)));
}
Tensor var(const Tensor& x, const Axes& axes, double correction, bool keepdims) {
  Tensor y = is_floating(x.dtype()) ? x : cast(x, DType::Float32);
  Axes ax = norm_axes(axes, x.ndim(), "var");
  Tensor d = y - mean(y, ax, true);
  double n = static_cast<double>(count_of(x, ax)) - correction;
  return sum(d * d, ax, keepdims) * (1.0 / std::max(n, 0.0));
}
Tensor std_(const Tensor& x, const Axes& axes, double correction, bool keepdims) {
  norm_axes(axes, x.ndim(), "std");  // errors name std, not the var it is built on
  Tensor v = var(x, axes, correction, keepdims);
  // Where the variance is 0 the derivative is 0, as PyTorch (its std backward masks
  // std == 0): sqrt's 1/(2 sqrt v) = inf times the zero deviations gave NaN. NaN stays NaN.
  Tensor zero = zeros_like(v), is0 = compare(v, zero, CmpOp::Eq);
  return where(is0, zero, sqrt(where(is0, ones_like(v), v)));
}
Tensor amax(const Tensor& x, const Axes& axes, bool keepdims) {
  return apply1(make_prim<Extremum<true>>(norm_axes(axes, x.ndim(), "amax"), keepdims), {x});
}
Tensor amin(const Tensor& x, const Axes& axes, bool keepdims) {
  return apply1(make_prim<Extremum<false>>(norm_axes(axes, x.ndim(), "amin"), keepdims), {x});
}
Tensor prod(const Tensor& x, const Axes& axes, bool keepdims) {
  return apply1(make_prim<Prod>(norm_axes(axes, x.ndim(), "prod"), keepdims), {x});
}
// One primitive (ops/logsumexp.cpp) over the normalised axes.
Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdims) {
  const Axes ax = norm_axes(axes, x.ndim(), "logsumexp");
  return logsumexp_over(x, ax, reduced_shape(x.shape(), ax, keepdims), keepdims);
}
// Not primitives (no derivative): they call the blocking hook themselves, as apply() would.
template <bool Max>
Tensor arg_extremum_call(const Tensor& x, std::optional<int64_t> axis, bool keepdims) {
  if (any_batched({x})) {
    // Per example: over its own axis (one further), or over all of its entries.
    const int64_t nd = x.ndim();
    if (axis) normalize_axis(*axis, nd, Max ? "argmax" : "argmin");
    return vmap_call_leading({x}, [&](const Tensors& p) -> Tensors {
      if (axis && nd) return {arg_extremum_call<Max>(p[0], normalize_axis(*axis, nd, "") + 1, keepdims)};
      Tensor flat = reshape(p[0], {p[0].shape()[0], shape_numel(x.shape())});
      Tensor r = arg_extremum_call<Max>(flat, 1, false);
      Shape s(static_cast<size_t>(keepdims ? nd + 1 : 1), 1);
      s[0] = p[0].shape()[0];
      return {reshape(r, s)};
    })[0];
  }
  Tensor r;
  run_blocking(x.numel(), [&] { r = arg_extremum<Max>(x, axis, keepdims); });
  return r;
}
Tensor argmax(const Tensor& x, std::optional<int64_t> axis, bool keepdims) {
  return arg_extremum_call<true>(x, axis, keepdims);
}
Tensor argmin(const Tensor& x, std::optional<int64_t> axis, bool keepdims) {
  return arg_extremum_call<false>(x, axis, keepdims);
}
Tensor softmax(const Tensor& x, int64_t axis) {
  if (x.ndim() == 0) return reshape(softmax(reshape(x, {1}), normalize_axis(axis, 0, "softmax")), {});
  return apply1(make_prim<Softmax>(normalize_axis(axis, x.ndim(), "softmax")), {x});
}
Tensor log_softmax(const Tensor& x, int64_t axis) {
  if (x.ndim() == 0) return reshape(log_softmax(reshape(x, {1}), normalize_axis(axis, 0, "log_softmax")), {});
  return apply1(make_prim<LogSoftmax>(normalize_axis(axis, x.ndim(), "log_softmax")), {x});
}

}  // namespace fastgrad
