// Gather and scatter along one axis by an index tensor of the operand's rank (torch.gather,
// scatter, scatter_add, scatter_reduce) and the ops composed of them (take_along_dim, take,
// masked_select / masked_fill / masked_scatter, nonzero, count_nonzero, bincount). Three
// primitives: Gather, ScatterAdd (into zeros) and Scatter (overwrite); each one's VJP is
// another of them (gather <-> scatter_add adjoint pair; scatter's cotangent is the
// cotangent with the written positions zeroed for self, and gathered for src).
#include <string>
#include <utility>
#include <vector>

#include "common.h"
#include "../kernels/index/along.h"
#include "../kernels/index/index.h"

namespace fastgrad {
using namespace detail;

namespace {
void check_along_index(const Tensor& idx, const char* op) {
  if (idx.dtype() != DType::Int64)
    throw TypeError(std::string(op) + ": index must be an int64 tensor, got " + dtype_name(idx.dtype()) +
                    " of shape " + shape_str(idx.shape()));
}

void check_bounds(const Tensor& idx, int64_t size, int64_t dim, const char* op, const Shape& self) {
  Tensor c = contiguous(detach(idx));
  const int64_t* p = c.data<int64_t>();
  const int64_t bad = kernels::first_out_of_bounds(p, c.numel(), size);
  if (bad >= 0)
    throw IndexError(std::string(op) + ": index " + std::to_string(p[bad]) +
                     " is out of bounds for dimension " + std::to_string(dim) + " with size " +
                     std::to_string(size) + " (self of shape " + shape_str(self) + ")");
}

// 0-d operands of gather/scatter act as 1-d of length 1 (PyTorch's rule).
Shape as1d(const Shape& s) { return s.empty() ? Shape{1} : s; }

// index.size(d) <= self.size(d) for d != dim (and <= src.size(d) for every d).
void check_sizes(const Shape& idx, const Shape& self, const Shape* src, int64_t dim, const char* op) {
  const Shape i = as1d(idx), s = as1d(self);
  if (i.size() != s.size())
    throw RuntimeError(std::string(op) + ": index " + shape_str(idx) +
                       " must have the same number of dimensions as self " + shape_str(self));
  for (size_t d = 0; d < i.size(); ++d)
    if (static_cast<int64_t>(d) != dim && i[d] > s[d])
      throw RuntimeError(std::string(op) + ": index " + shape_str(idx) + " must be no larger than self " +
                         shape_str(self) + " apart from dimension " + std::to_string(dim));
  if (src) {
    const Shape r = as1d(*src);
    if (r.size() != i.size())
      throw RuntimeError(std::string(op) + ": index " + shape_str(idx) +
                         " must have the same number of dimensions as src " + shape_str(*src));
    for (size_t d = 0; d < i.size(); ++d)
      if (i[d] > r[d])
        throw RuntimeError(std::string(op) + ": index " + shape_str(idx) + " must be no larger than src " +
                           shape_str(*src));
  }
}

// Batching (vmap) for the along-axis primitives: each example has its own index values, so
// every operand gets the batch axis in front (a shared one expanded, no copy) and `dim`
// moves one further: the kernels then run once over the whole batch. 0-d operands act as
// 1-d of length 1 (their rule above), so they become (B, 1).
Tensors batch_along(const Tensors& in, const std::vector<int64_t>& bdims, const char* op) {
  const int64_t n = batch_size(in, bdims, op);
  Tensors x(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    x[i] = batch_front_or_expand(in[i], bdims[i], n);
    if (x[i].ndim() == 1) x[i] = unsqueeze(x[i], 1);
  }
  return x;
}
// The batched result back in the shape of a batch of `logical` (undoing the 0-d -> (B, 1)).
Tensor unbatch_along(const Tensor& y, const Shape& logical) {
  return logical.empty() ? reshape(y, {y.shape()[0]}) : y;
}
Shape logical_shape(const Tensor& x, int64_t bdim) {
  Shape s = x.shape();
  if (bdim >= 0) s.erase(s.begin() + bdim);
  return s;
}

struct Gather : Primitive {
  int64_t dim;
  explicit Gather(int64_t d) : dim(d) {}
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc("gather").inputs(2).nondiff(bit(1)).reads_inputs(bit(1));
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    check_along_index(in[1], name());
    check_sizes(in[1].shape(), in[0].shape(), nullptr, dim, name());
    if (in[1].numel() > 0) check_bounds(in[1], as1d(in[0].shape())[dim], dim, name(), in[0].shape());
    return {in[1].shape()};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    Tensor x = detach(in[0]), idx = contiguous(detach(in[1]));
    const Shape ishape = as1d(idx.shape());
    const Shape xs = x.ndim() ? x.strides() : Shape{0};
    const int64_t size = as1d(x.shape())[dim];
    FG_DISPATCH_ALL(x.dtype(), name(), [&] {
      kernels::gather_along(x.data<scalar_t>(), xs.data(), size, idx.data<int64_t>(), ishape.data(),
                            static_cast<int64_t>(ishape.size()), dim, out.data<scalar_t>());
    });
    return {out};
  }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    const Tensors x = batch_along(in, bdims, name());
    return {{unbatch_along(gather(x[0], dim + 1, x[1]), logical_shape(in[1], bdims[1]))}, {0}};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {scatter_add_into(g[0], x[0].shape(), dim, x[1]), Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {gather(t[0], dim, x[1])};
  }
};
FG_REGISTER_PRIMITIVE(Gather::kDesc);

// zeros(shape) with src[p] added at p's coordinate `dim` replaced by index[p]; src and
// index of one shape.
struct ScatterAdd : Primitive {
  Shape full_shape;
  int64_t dim;
  ScatterAdd(Shape s, int64_t d) : full_shape(std::move(s)), dim(d) {}
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc("scatter_add").inputs(2).nondiff(bit(1)).reads_inputs(bit(1));
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    check_along_index(in[1], name());
    if (in[0].shape() != in[1].shape())
      throw ValueError("scatter_add: src " + shape_str(in[0].shape()) + " and index " +
                       shape_str(in[1].shape()) + " must have one shape");
    check_sizes(in[1].shape(), full_shape, nullptr, dim, name());
    if (in[1].numel() > 0) check_bounds(in[1], as1d(full_shape)[dim], dim, name(), full_shape);
    return {full_shape};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor out = zeros(full_shape, in[0].dtype());
    Tensor src = detach(in[0]), idx = contiguous(detach(in[1]));
    const Shape ishape = as1d(idx.shape()), ds = as1d(full_shape);
    const Shape ss = src.ndim() ? src.strides() : Shape{0};
    FG_DISPATCH_NUM(src.dtype(), name(), [&] {
      kernels::scatter_along(out.data<scalar_t>(), ds.data(), idx.data<int64_t>(), ishape.data(),
                             static_cast<int64_t>(ishape.size()), dim, src.data<scalar_t>(), ss.data(),
                             kernels::ScatterMode::Add);
    });
    return {out};
  }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    const Tensors x = batch_along(in, bdims, name());
    Shape s = as1d(full_shape);
    s.insert(s.begin(), x[0].shape()[0]);
    return {{unbatch_along(scatter_add_into(x[0], s, dim + 1, x[1]), full_shape)}, {0}};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {gather(g[0], dim, x[1]), Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {scatter_add_into(t[0], full_shape, dim, x[1])};
  }
};
FG_REGISTER_PRIMITIVE(ScatterAdd::kDesc);

// self with src[p] written at p's coordinate `dim` replaced by index[p] (the last write
// wins); src and index of one shape.
struct Scatter : Primitive {
  int64_t dim;
  explicit Scatter(int64_t d) : dim(d) {}
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc("scatter").inputs(3).nondiff(bit(1)).reads_inputs(bit(1));
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    check_along_index(in[1], name());
    if (in[2].shape() != in[1].shape())
      throw ValueError("scatter: src " + shape_str(in[2].shape()) + " and index " + shape_str(in[1].shape()) +
                       " must have one shape");
    if (in[2].dtype() != in[0].dtype())
      throw TypeError(std::string("scatter: src dtype ") + dtype_name(in[2].dtype()) +
                      " differs from self's " + dtype_name(in[0].dtype()));
    check_sizes(in[1].shape(), in[0].shape(), nullptr, dim, name());
    if (in[1].numel() > 0) check_bounds(in[1], as1d(in[0].shape())[dim], dim, name(), in[0].shape());
    return {in[0].shape()};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor out = clone(detach(in[0]));
    Tensor src = detach(in[2]), idx = contiguous(detach(in[1]));
    const Shape ishape = as1d(idx.shape()), ds = as1d(out.shape());
    const Shape ss = src.ndim() ? src.strides() : Shape{0};
    FG_DISPATCH_NUM(src.dtype(), name(), [&] {
      kernels::scatter_along(out.data<scalar_t>(), ds.data(), idx.data<int64_t>(), ishape.data(),
                             static_cast<int64_t>(ishape.size()), dim, src.data<scalar_t>(), ss.data(),
                             kernels::ScatterMode::Assign);
    });
    return {out};
  }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    const Tensors x = batch_along(in, bdims, name());
    return {{unbatch_along(scatter_prim(x[0], dim + 1, x[1], x[2]), logical_shape(in[0], bdims[0]))}, {0}};
  }
  // PyTorch's rule: self's cotangent is g with every written position zeroed; src's is g
  // gathered at the index (also for a write that a later duplicate overwrote).
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g,
              const std::vector<bool>& need) const override {
    Tensor gs, gsrc;
    if (need[0]) gs = scatter_prim(g[0], dim, x[1], zeros(x[1].shape(), g[0].dtype()));
    if (need[2]) gsrc = gather(g[0], dim, x[1]);
    return {gs, Tensor(), gsrc};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {scatter_prim(or_zeros(t[0], x[0]), dim, x[1], or_zeros(t[2], x[2]))};
  }
  static Tensor scatter_prim(const Tensor& self, int64_t d, const Tensor& idx, const Tensor& src);
};
FG_REGISTER_PRIMITIVE(Scatter::kDesc);
Tensor Scatter::scatter_prim(const Tensor& self, int64_t d, const Tensor& idx, const Tensor& src) {
  return apply1(make_prim<Scatter>(d), {self, idx, src});
}

int64_t along_dim(int64_t dim, const Tensor& x, const char* op) { return normalize_axis(dim, x.ndim(), op); }

// src cut down to index's shape (only that corner of src is read, as PyTorch).
Tensor src_corner(const Tensor& src, const Tensor& idx) {
  if (src.shape() == idx.shape() || src.ndim() == 0 || idx.ndim() == 0)
    return src.ndim() == idx.ndim() ? src : reshape(src, idx.shape());
  std::vector<SliceSpec> spec;
  for (int64_t d = 0; d < src.ndim(); ++d) spec.push_back({0, idx.shape()[d], 1});
  return slice(src, spec);
}

Tensor check_src(const Tensor& x, const Tensor& idx, const Tensor& src, int64_t dim, const char* op) {
  check_along_index(idx, op);
  const Shape ss = src.shape();
  check_sizes(idx.shape(), x.shape(), &ss, dim, op);
  if (src.dtype() != x.dtype())
    throw TypeError(std::string(op) + ": expected self and src to have the same dtype, got " +
                    dtype_name(x.dtype()) + " and " + dtype_name(src.dtype()));
  return src_corner(src, idx);
}

// base with src reduced into it at the index by the kernel (mode), a
// kernel-only value (no gradient of its own; scatter_reduce composes gradients around it).
Tensor scatter_kernel(const Tensor& base, int64_t dim, const Tensor& idx, const Tensor& src,
                      kernels::ScatterMode mode) {
  if (any_batched({base, idx, src})) {  // per example along its own axis (one further)
    const Tensor s = src.ndim() == 0 && idx.ndim() > 0 ? expand(src, idx.shape()) : src;
    return vmap_call_leading({base, idx, s}, [&](const Tensors& p) -> Tensors {
      return {scatter_kernel(p[0], dim + 1, p[1], p[2], mode)};
    })[0];
  }
  Tensor out = clone(detach(base));
  Tensor s = detach(src), ci = contiguous(detach(idx));
  const Shape ishape = as1d(ci.shape()), ds = as1d(out.shape());
  const Shape ss = s.ndim() ? s.strides() : Shape{0};
  run_blocking(ci.numel(), [&] {
    FG_DISPATCH_NUM(s.dtype(), "scatter_reduce", [&] {
      kernels::scatter_along(out.data<scalar_t>(), ds.data(), ci.data<int64_t>(), ishape.data(),
                             static_cast<int64_t>(ishape.size()), dim, s.data<scalar_t>(), ss.data(), mode);
    });
  });
  return out;
}
// start with every src[p] multiplied in at p's coordinate `dim` replaced by index[p]
// (scatter_reduce 'prod' with include_self; scatter_reduce masks self's entries before).
// VJP and JVP are PyTorch's rule (FunctionsManual.cpp, scatter_reduce_backward): the
// derivative by a factor is the product of the others, taken as result / factor away from
// zeros, and with the zero replaced by 1 where it is the only zero of its group; they call
// this primitive again, so they differentiate further. Where torch refuses the double
// backward (two zeros of src in one group), the derivative by either zero is written as
// (the other zero) x (the product of the rest), so its own derivatives are right too.
struct ScatterProd : Primitive {
  int64_t dim;
  explicit ScatterProd(int64_t d) : dim(d) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("scatter_reduce_prod").inputs(3).nondiff(bit(1));
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    check_along_index(in[1], name());
    if (in[2].shape() != in[1].shape())
      throw ValueError("scatter_reduce: src " + shape_str(in[2].shape()) + " and index " +
                       shape_str(in[1].shape()) + " must have one shape");
    check_sizes(in[1].shape(), in[0].shape(), nullptr, dim, name());
    if (in[1].numel() > 0) check_bounds(in[1], as1d(in[0].shape())[dim], dim, name(), in[0].shape());
    return {in[0].shape()};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    return {scatter_kernel(in[0], dim, in[1], in[2], kernels::ScatterMode::Mul)};
  }
  static Tensor prim(const Tensor& start, int64_t d, const Tensor& idx, const Tensor& src) {
    return apply1(make_prim<ScatterProd>(d), {start, idx, src});
  }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    const Tensors x = batch_along(in, bdims, name());
    return {{unbatch_along(prim(x[0], dim + 1, x[1], x[2]), logical_shape(in[0], bdims[0]))}, {0}};
  }
  // d out / d start (start's shape) and d out[index] / d src (src's shape).
  std::pair<Tensor, Tensor> partials(const Tensors& x) const {
    const Tensor &start = x[0], &idx = x[1], &src = x[2];
    const Tensor zero = zeros({}, start.dtype()), one = ones({}, start.dtype());
    const Tensor start_masked = where(compare(start, zero, CmpOp::Eq), one, start);
    const Tensor d_start = div(prim(start_masked, dim, idx, src), start_masked);
    const Tensor src_zero = compare(src, zero, CmpOp::Eq);
    const Tensor zeros_here =
        gather(scatter_add_into(cast(src_zero, start.dtype()), start.shape(), dim, idx), dim, idx);
    const Tensor single_zero = logical_and(src_zero, compare(zeros_here, one, CmpOp::Eq));
    const Tensor others = gather(prim(start, dim, idx, where(single_zero, one, src)), dim, idx);
    // a group's other zero: the sum of its zeros minus this one (value 0, derivative 1 by it)
    const Tensor pair_zero =
        logical_and(src_zero, compare(zeros_here, full({}, 2.0, start.dtype()), CmpOp::Eq));
    const Tensor other_zero =
        sub(gather(scatter_add_into(where(src_zero, src, zero), start.shape(), dim, idx), dim, idx), src);
    const Tensor rest = gather(prim(start, dim, idx, where(src_zero, one, src)), dim, idx);
    const Tensor d_src =
        where(single_zero, others,
              where(pair_zero, mul(other_zero, rest),
                    div(gather(prim(start, dim, idx, src), dim, idx), where(src_zero, one, src))));
    return {d_start, d_src};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g,
              const std::vector<bool>& need) const override {
    const auto [d_start, d_src] = partials(x);
    Tensor gs, gsrc;
    if (need[0]) gs = mul(g[0], d_start);
    if (need[2]) gsrc = mul(gather(g[0], dim, x[1]), d_src);
    return {gs, Tensor(), gsrc};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    const auto [d_start, d_src] = partials(x);
    return {add(mul(or_zeros(t[0], x[0]), d_start),
                scatter_add_into(mul(or_zeros(t[2], x[2]), d_src), x[0].shape(), dim, x[1]))};
  }
};
FG_REGISTER_PRIMITIVE(ScatterProd::kDesc);
}  // namespace

Tensor scatter_add_into(const Tensor& src, const Shape& shape, int64_t dim, const Tensor& index) {
  return apply1(
      make_prim<ScatterAdd>(shape, normalize_axis(dim, static_cast<int64_t>(shape.size()), "scatter_add")),
      {src, index});
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  return apply1(make_prim<Gather>(along_dim(dim, x, "gather")), {x, index});
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
               const std::string& reduce) {
  const int64_t d = along_dim(dim, x, "scatter");
  if (reduce == "add") return scatter_add(x, d, index, src);
  if (reduce == "multiply") return scatter_reduce(x, d, index, src, "prod", true);
  if (!reduce.empty())
    throw ValueError("scatter: reduce argument must be either 'add' or 'multiply', got '" + reduce + "'");
  const Tensor s = check_src(x, index, src, d, "scatter");
  return apply1(make_prim<Scatter>(d), {x, index, s});
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  const int64_t d = along_dim(dim, x, "scatter_add");
  const Tensor s = check_src(x, index, src, d, "scatter_add");
  return add(x, scatter_add_into(s, x.shape(), d, index));
}

// sum / mean compose the primitives; prod is the ScatterProd primitive (self's entries
// that take no part replaced by 1 first); amax / amin take their value from the kernel and
// their gradient from PyTorch's rule written with the primitives: the cotangent is shared
// evenly among the entries equal to the result.
Tensor scatter_reduce(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                      const std::string& reduce, bool include_self) {
  const char* op = "scatter_reduce";
  const int64_t d = along_dim(dim, x, op);
  const Tensor s = check_src(x, index, src, d, op);
  const Tensor written = scatter_kernel(zeros(x.shape(), DType::Int64), d, index,
                                        full_int(index.shape(), 1, DType::Int64), kernels::ScatterMode::Add);
  const Tensor hit = compare(written, zeros({}, DType::Int64), CmpOp::Gt);
  // self's entries that take part: all when include_self, else only where nothing lands.
  const Tensor base = include_self ? x : where(hit, zeros({}, x.dtype()), x);
  if (reduce == "sum") return add(base, scatter_add_into(s, x.shape(), d, index));
  if (reduce == "mean") {
    if (!is_floating(x.dtype())) throw TypeError("scatter_reduce: 'mean' needs a float tensor");
    const Tensor count =
        add(cast(written, x.dtype()), include_self ? ones({}, x.dtype()) : cast(logical_not(hit), x.dtype()));
    return div(add(base, scatter_add_into(s, x.shape(), d, index)), count);
  }
  kernels::ScatterMode mode;
  if (reduce == "prod")
    mode = kernels::ScatterMode::Mul;
  else if (reduce == "amax")
    mode = kernels::ScatterMode::Max;
  else if (reduce == "amin")
    mode = kernels::ScatterMode::Min;
  else
    throw ValueError("scatter_reduce: reduce must be one of 'sum', 'prod', 'mean', 'amax', 'amin', got '" +
                     reduce + "'");
  // Where nothing is taken from self, start from the reduction's identity.
  Tensor start = x;
  if (!include_self) {
    Tensor id;
    if (mode == kernels::ScatterMode::Mul)
      id = ones({}, x.dtype());
    else
      FG_DISPATCH_NUM(x.dtype(), op, [&] {
        const bool mx = mode == kernels::ScatterMode::Max;
        if constexpr (std::is_floating_point_v<scalar_t>)
          id = full({},
                    mx ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity(),
                    x.dtype());
        else
          id = full_int({}, mx ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max(),
                        x.dtype());
      });
    start = where(hit, id, x);
  }
  const bool tracked =
      x.requires_grad() || s.requires_grad() || !x.impl()->tangents.empty() || !s.impl()->tangents.empty();
  if (mode == kernels::ScatterMode::Mul && is_floating(x.dtype()) && tracked)
    return ScatterProd::prim(start, d, index, s);
  const Tensor value = scatter_kernel(start, d, index, s, mode);
  if (!is_floating(x.dtype()) || !tracked) return value;
  // value + (f - detach(f)): the kernel's value with the gradient of f, the entries tied
  // with the result averaged (amax/amin are piecewise linear, so f's derivatives of every
  // order are theirs away from ties).
  Tensor f;
  {
    const Tensor v = detach(value);
    const Tensor self_tie = include_self
                                ? cast(compare(x, v, CmpOp::Eq), x.dtype())
                                : cast(logical_and(compare(x, v, CmpOp::Eq), logical_not(hit)), x.dtype());
    const Tensor src_tie = cast(compare(s, gather(v, d, index), CmpOp::Eq), x.dtype());
    const Tensor n = add(detach(self_tie), scatter_add_into(detach(src_tie), x.shape(), d, index));
    f = div(add(mul(x, self_tie), scatter_add_into(mul(s, src_tie), x.shape(), d, index)), n);
  }
  return add(value, sub(f, detach(f)));
}
}  // namespace fastgrad
