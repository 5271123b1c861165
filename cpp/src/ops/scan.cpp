// Prefix scans along one axis: cumsum, cumprod, logcumsumexp (each a primitive with a
// `reverse` direction, which its VJP needs: the adjoint of a prefix sum is a suffix sum,
// cheat sheet §3 linear maps). Batching: the batch axis in front, the scan axis one further
// (a 0-d example scans a length-1 axis, which the kernel's blocks give as well).
#include <limits>
#include <string>

#include "common.h"
#include "../kernels/scan/scan.h"

namespace fastgrad {
using namespace detail;

namespace {
Tensor scan(const Tensor& x, int64_t dim, kernels::ScanOp op, bool reverse, const char* name) {
  Tensor c = contiguous(detach(x));
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t d = 0; d < x.ndim(); ++d) {
    if (d < dim) outer *= x.shape()[d];
    if (d == dim) n = x.shape()[d];
    if (d > dim) inner *= x.shape()[d];
  }
  Tensor out = empty(x.shape(), x.dtype());
  FG_DISPATCH_NUM(x.dtype(), name, [&] {
    kernels::scan_axis(c.data<scalar_t>(), outer, n, inner, op, reverse, out.data<scalar_t>());
  });
  return out;
}

Tensor cumsum_dir(const Tensor& x, int64_t dim, bool reverse);
Tensor cumprod_prim(const Tensor& x, int64_t dim);
Tensor lcse_dir(const Tensor& x, int64_t dim, bool reverse);

struct CumSum : Primitive {
  int64_t dim;
  bool reverse;
  CumSum(int64_t d, bool r) : dim(d), reverse(r) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("cumsum").reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override { return {in[0].shape()}; }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    return {scan(in[0], dim, kernels::ScanOp::Sum, reverse, name())};
  }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    return {{cumsum_dir(batch_front(in[0], bdims[0]), dim + 1, reverse)}, {0}};
  }
  Tensors vjp(const Tensors&, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {cumsum_dir(g[0], dim, !reverse)};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override {
    return {cumsum_dir(t[0], dim, reverse)};
  }
};
FG_REGISTER_PRIMITIVE(CumSum::kDesc);

// The masks of cumprod's rules along dim: `before` = no zero up to and including here,
// `first` = the first zero of the column.
struct ZeroMasks {
  Tensor before, first;
  bool any;
};
ZeroMasks zero_masks(const Tensor& x, int64_t dim) {
  const Tensor zero = compare(detach(x), zeros({}, x.dtype()), CmpOp::Eq);
  const Tensor zc = cumsum_dir(cast(zero, DType::Int64), dim, false);
  const Tensor total = sum(cast(zero, DType::Int64), {}, false);
  // Inside vmap the count differs per example and has no value of its own: take the
  // general path, which is exact for columns without zeros too.
  const bool any = total.is_batched() || contiguous(total).data<int64_t>()[0] > 0;
  return {compare(zc, zeros({}, DType::Int64), CmpOp::Eq),
          logical_and(zero, compare(zc, ones({}, DType::Int64), CmpOp::Eq)), any};
}

// y_j = prod_{i<=j} x_i. With no zero, dy_j/dx_k = y_j / x_k (k <= j); past the first zero z
// only x_z still moves the products, by prod_{i<=j, i!=z} x_i = cumprod(x with x_z = 1)_j
// (PyTorch's cumprod_backward, split the same way).
struct CumProd : Primitive {
  int64_t dim;
  explicit CumProd(int64_t d) : dim(d) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("cumprod").reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override { return {in[0].shape()}; }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    return {scan(in[0], dim, kernels::ScanOp::Prod, false, name())};
  }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    return {{cumprod_prim(batch_front(in[0], bdims[0]), dim + 1)}, {0}};
  }
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    const ZeroMasks m = zero_masks(x[0], dim);
    if (!m.any) return {div(cumsum_dir(mul(g[0], y[0]), dim, true), x[0])};
    const Tensor one = ones({}, x[0].dtype()), zero = zeros({}, x[0].dtype());
    const Tensor t1 = div(cumsum_dir(mul(g[0], y[0]), dim, true), where(m.before, x[0], one));
    const Tensor t2 = cumsum_dir(mul(g[0], cumprod_prim(where(m.first, one, x[0]), dim)), dim, true);
    return {where(m.before, t1, where(m.first, t2, zero))};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    const ZeroMasks m = zero_masks(x[0], dim);
    if (!m.any) return {mul(y[0], cumsum_dir(div(t[0], x[0]), dim, false))};
    const Tensor one = ones({}, x[0].dtype()), zero = zeros({}, x[0].dtype());
    const Tensor t1 = mul(y[0], cumsum_dir(div(t[0], where(m.before, x[0], one)), dim, false));
    const Tensor tz = sum(where(m.first, t[0], zero), {dim}, true);
    const Tensor t2 = mul(tz, cumprod_prim(where(m.first, one, x[0]), dim));
    return {where(m.before, t1, t2)};
  }
};
FG_REGISTER_PRIMITIVE(CumProd::kDesc);

// log of the positive (sign > 0) or negative part of v: log|v| where v has that sign, -inf
// elsewhere (the argument of log is kept at 1 there, so no inf * 0 reaches a derivative).
Tensor log_part(const Tensor& v, bool positive) {
  const Tensor sel = compare(v, zeros({}, v.dtype()), positive ? CmpOp::Gt : CmpOp::Lt);
  const Tensor mag = positive ? v : neg(v);
  return where(sel, log(where(sel, mag, ones({}, v.dtype()))),
               full({}, -std::numeric_limits<double>::infinity(), v.dtype()));
}

// a - b, except -inf where a is -inf: a zero part of a cotangent (log -inf) against a -inf
// output must drop out of the sum, not become NaN (-inf - -inf).
Tensor minus_from_log(const Tensor& a, const Tensor& b) {
  const Tensor ninf = full({}, -std::numeric_limits<double>::infinity(), a.dtype());
  return where(compare(a, ninf, CmpOp::Eq), ninf, sub(a, b));
}

// y_j = log sum_{i<=j} exp(x_i). dy_j/dx_k = exp(x_k - y_j): the VJP sum_j g_j exp(x_k - y_j)
// and the JVP sum_k t_k exp(x_k - y_j) are themselves log-cum-sum-exps of log|g| - y
// (resp. x + log|t|), split by sign so nothing overflows (PyTorch's logcumsumexp_backward).
struct LogCumSumExp : Primitive {
  int64_t dim;
  bool reverse;
  LogCumSumExp(int64_t d, bool r) : dim(d), reverse(r) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("logcumsumexp").reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_float(in[0], "logcumsumexp");
    return {in[0].shape()};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    return {scan(in[0], dim, kernels::ScanOp::LogSumExp, reverse, name())};
  }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    return {{lcse_dir(batch_front(in[0], bdims[0]), dim + 1, reverse)}, {0}};
  }
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    auto part = [&](bool pos) {
      return exp(add(x[0], lcse_dir(minus_from_log(log_part(g[0], pos), y[0]), dim, !reverse)));
    };
    return {sub(part(true), part(false))};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    auto part = [&](bool pos) {
      return exp(minus_from_log(lcse_dir(add(x[0], log_part(t[0], pos)), dim, reverse), y[0]));
    };
    return {sub(part(true), part(false))};
  }
};
FG_REGISTER_PRIMITIVE(LogCumSumExp::kDesc);

Tensor cumsum_dir(const Tensor& x, int64_t dim, bool reverse) {
  return apply1(make_prim<CumSum>(dim, reverse), {x});
}
Tensor cumprod_prim(const Tensor& x, int64_t dim) { return apply1(make_prim<CumProd>(dim), {x}); }
Tensor lcse_dir(const Tensor& x, int64_t dim, bool reverse) {
  return apply1(make_prim<LogCumSumExp>(dim, reverse), {x});
}

// PyTorch's result dtype of an integer scan: bool and int64 accumulate in int64.
Tensor scan_input(const Tensor& x) { return x.dtype() == DType::Bool ? cast(x, DType::Int64) : x; }
}  // namespace

Tensor cumsum(const Tensor& x, int64_t dim) {
  return cumsum_dir(scan_input(x), normalize_axis(dim, x.ndim(), "cumsum"), false);
}
Tensor cumprod(const Tensor& x, int64_t dim) {
  return cumprod_prim(scan_input(x), normalize_axis(dim, x.ndim(), "cumprod"));
}
Tensor logcumsumexp(const Tensor& x, int64_t dim) {
  return lcse_dir(x, normalize_axis(dim, x.ndim(), "logcumsumexp"), false);
}
}  // namespace fastgrad
