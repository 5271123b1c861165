// logsumexp and softmax cross-entropy as primitives of their own: one tape node each
// (the composite max/sub/exp/sum/log/add/reshape put seven on the tape). Both rules are
// written with softmax-family ops, so they compose for higher derivatives (cheat sheet
// "softmax / logsumexp": d lse = <softmax(x), dx>).
#include <algorithm>

#include "common.h"
#include "../kernels/softmax/logsumexp.h"

namespace fastgrad {
using namespace detail;

namespace detail {
Tensor logsumexp_over(const Tensor& x, const Axes& axes, const Shape& out_shape, bool keepdims);
}

namespace {

struct LogSumExp : Primitive {
  Axes axes;  // normalised, ascending
  Shape out_shape;
  bool keepdims;
  LogSumExp(Axes a, Shape s, bool k) : axes(std::move(a)), out_shape(std::move(s)), keepdims(k) {}
  // The VJP reads x and the output y: softmax over the axes is exp(x - y).
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("logsumexp").reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_float(in[0], name());
    return {out_shape};
  }
  bool reduced(int64_t d) const { return std::binary_search(axes.begin(), axes.end(), d); }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor x = detach(in[0]);
    Tensor y = empty(out_shapes[0], x.dtype());
    kernels::Rows r;
    if (axes.size() == 1 && x.is_contiguous()) {  // one axis of a contiguous tensor: read in place
      const int64_t a = axes[0];
      r.n = x.shape()[a];
      for (int64_t d = 0; d < a; ++d) r.outer *= x.shape()[d];
      for (int64_t d = a + 1; d < x.ndim(); ++d) r.inner *= x.shape()[d];
      r.outer_stride = r.n * r.inner;
      r.inner_stride = 1;
      r.elem_stride = r.inner;
    } else {  // kept axes first, reduced axes last, as contiguous rows
      Axes perm;
      for (int64_t d = 0; d < x.ndim(); ++d)
        if (!reduced(d)) perm.push_back(d);
      perm.insert(perm.end(), axes.begin(), axes.end());
      x = contiguous(permute(x, perm));
      r.n = 1;
      for (auto a : axes) r.n *= in[0].shape()[a];
      r.outer = y.numel();
      r.outer_stride = r.n;
    }
    FG_DISPATCH_FLOAT(x.dtype(), name(),
                      [&] { kernels::logsumexp_rows<scalar_t>(r, x.data<scalar_t>(), y.data<scalar_t>()); });
    return {y};
  }
  Tensor keep(const Tensor& t, const Tensor& x) const {
    if (keepdims) return t;
    Shape s = x.shape();
    for (auto a : axes) s[a] = 1;
    return reshape(t, s);
  }
  // vmap: the batch axis in front, the reduced axes one further.
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    const Tensor x = batch_front(in[0], bdims[0]);
    Axes a = axes;
    for (auto& d : a) ++d;
    Shape s = out_shape;
    s.insert(s.begin(), x.shape()[0]);
    return {{logsumexp_over(x, a, s, keepdims)}, {0}};
  }
  // softmax(x) over the axes, from the output: exp(x - lse(x)).
  Tensor soft(const Tensor& x, const Tensor& y) const { return exp(x - keep(y, x)); }
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    return {keep(g[0], x[0]) * soft(x[0], y[0])};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    return {sum(soft(x[0], y[0]) * t[0], axes, keepdims)};
  }
};
FG_REGISTER_PRIMITIVE(LogSumExp::kDesc);

// Inputs (logits (M, K), target): int64 class indices (M,) or probabilities (M, K).
// d loss_r / d z_r = softmax(z_r) - onehot(y_r)   (times 0 where y_r is ignored), resp.
//                    softmax(z_r) sum_k q_rk - q_r;  d loss_r / d q_r = -log_softmax(z_r).
struct SoftmaxCrossEntropy : Primitive {
  int64_t ignore_index;
  explicit SoftmaxCrossEntropy(int64_t ig) : ignore_index(ig) {}
  // Probability targets are differentiable (integer ones cannot require grad anyway).
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("softmax_cross_entropy").inputs(2);
  const PrimitiveDesc& desc() const override { return kDesc; }
  static bool indices(const Tensor& t) { return t.dtype() == DType::Int64; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    const Tensor &z = in[0], &t = in[1];
    require_float(z, name());
    if (z.ndim() != 2)
      throw ValueError("softmax_cross_entropy: logits must be (M, K), got shape " + shape_str(z.shape()));
    const int64_t M = z.shape()[0], K = z.shape()[1];
    if (indices(t)) {
      if (t.shape() != Shape{M})
        throw ValueError("softmax_cross_entropy: class-index target of shape " + shape_str(t.shape()) +
                         " does not match logits of shape " + shape_str(z.shape()) + " (expected (" +
                         std::to_string(M) + ",))");
      Tensor c = contiguous(t);
      const int64_t* p = c.data<int64_t>();
      for (int64_t i = 0; i < M; ++i)
        if (p[i] != ignore_index && (p[i] < 0 || p[i] >= K))
          throw IndexError("softmax_cross_entropy: target " + std::to_string(p[i]) + " is out of range for " +
                           std::to_string(K) + " classes (logits of shape " + shape_str(z.shape()) + ")");
    } else {
      if (t.dtype() != z.dtype())
        throw TypeError(std::string("softmax_cross_entropy: probability target is ") + dtype_name(t.dtype()) +
                        " but logits are " + dtype_name(z.dtype()) + " (class indices must be int64)");
      if (t.shape() != z.shape())
        throw ValueError("softmax_cross_entropy: probability target of shape " + shape_str(t.shape()) +
                         " does not match logits of shape " + shape_str(z.shape()));
    }
    return {Shape{M}};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor z = contiguous(detach(in[0]));
    Tensor t = contiguous(detach(in[1]));
    Tensor y = empty(out_shapes[0], z.dtype());
    const int64_t M = z.shape()[0], K = z.shape()[1];
    FG_DISPATCH_FLOAT(z.dtype(), name(), [&] {
      if (indices(t))
        kernels::cross_entropy_index_rows<scalar_t>(M, K, z.data<scalar_t>(), K, t.data<int64_t>(),
                                                    ignore_index, y.data<scalar_t>());
      else
        kernels::cross_entropy_prob_rows<scalar_t>(M, K, z.data<scalar_t>(), t.data<scalar_t>(), K,
                                                   y.data<scalar_t>());
    });
    return {y};
  }
  // vmap: the examples' rows stacked into one (B*M, K) problem (rows are independent).
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    const int64_t B = batch_size(in, bdims, name());
    auto rows = [&](size_t i) {
      Tensor f = batch_front_or_expand(in[i], bdims[i], B);
      Shape s = f.shape();
      s[1] *= s[0];
      s.erase(s.begin());
      return reshape(f, s);
    };
    const int64_t M = in[0].shape()[bdims[0] == 0 ? 1 : 0];  // logits' rows per example
    return {{reshape(softmax_cross_entropy(rows(0), rows(1), ignore_index), {B, M})}, {0}};
  }
  // d loss / d z as a (M, K) tensor (a constant one-hot for index targets).
  Tensor dz(const Tensor& z, const Tensor& t) const {
    Tensor p = softmax(z, 1);
    if (!indices(t)) return p * sum(t, {1}, true) - t;
    Tensor col = reshape(t, {t.numel(), 1});
    Tensor onehot = cast(compare(col, arange_int(0, z.shape()[1], 1, DType::Int64), CmpOp::Eq), z.dtype());
    Tensor valid = cast(compare(col, scalar_int(ignore_index, DType::Int64), CmpOp::Ne), z.dtype());
    return (p - onehot) * valid;
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g,
              const std::vector<bool>& need) const override {
    Tensor gc = reshape(g[0], {g[0].numel(), 1});
    return {need[0] ? gc * dz(x[0], x[1]) : Tensor(), need[1] ? gc * neg(log_softmax(x[0], 1)) : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    Tensor r;
    if (t[0].defined()) r = sum(t[0] * dz(x[0], x[1]), {1}, false);
    if (t[1].defined() && !indices(x[1])) r = add_maybe(r, sum(t[1] * neg(log_softmax(x[0], 1)), {1}, false));
    return {r};
  }
};
FG_REGISTER_PRIMITIVE(SoftmaxCrossEntropy::kDesc);

}  // namespace

namespace detail {
Tensor logsumexp_over(const Tensor& x, const Axes& axes, const Shape& out_shape, bool keepdims) {
  return apply1(make_prim<LogSumExp>(axes, out_shape, keepdims), {x});
}
}  // namespace detail

Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index) {
  return apply1(make_prim<SoftmaxCrossEntropy>(ignore_index), {logits, target});
}

}  // namespace fastgrad
