// The dense layer (cheat sheet "Dense layer") as one primitive: y = x Wᵀ + b for a
// PyTorch (out, in) weight or y = x W + b for a JAX (in, out) weight. One tape node
// instead of transpose + matmul + add; the bias rides in the GEMM (C is pre-filled with
// it, beta = 1) and the weight gradient comes out in the weight's own layout, so no
// transposed copy is ever materialised.
#include <cstring>

#include "common.h"
#include "fastgrad/kernels/gemm.h"

namespace fastgrad {
using namespace detail;

namespace {

// (..., cols) -> (rows, cols); explicit so that cols == 0 is not ambiguous.
Tensor rows(const Tensor& t, int64_t cols) {
  int64_t r = 1;
  for (int64_t d = 0; d + 1 < t.ndim(); ++d) r *= t.shape()[d];
  return reshape(t, {r, cols});
}

struct Linear : Primitive {
  bool torch_layout;
  Activation act;
  Linear(bool t, Activation a) : torch_layout(t), act(a) {}
  // The fused form's VJP also reads the output (the activation's derivative comes from it).
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("linear").inputs(2, 3);
  static constexpr PrimitiveDesc kFused = kDesc.named_variant("fused").reads_outputs();
  const PrimitiveDesc& desc() const override { return act == Activation::None ? kDesc : kFused; }
  int64_t in_features(const Tensor& w) const { return torch_layout ? w.shape()[1] : w.shape()[0]; }
  int64_t out_features(const Tensor& w) const { return torch_layout ? w.shape()[0] : w.shape()[1]; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    const Tensor &x = in[0], &w = in[1];
    require_float(x, name());
    if (w.ndim() != 2) throw ValueError("linear: weight must be 2-D, got shape " + shape_str(w.shape()));
    if (x.dtype() != w.dtype())
      throw TypeError(std::string("linear: input is ") + dtype_name(x.dtype()) + " but weight is " +
                      dtype_name(w.dtype()));
    if (x.ndim() < 1 || x.shape().back() != in_features(w))
      throw ValueError("linear: input of shape " + shape_str(x.shape()) + " does not match weight of shape " +
                       shape_str(w.shape()) + " (layout " +
                       (torch_layout ? "torch (out, in)" : "jax (in, out)") + ", expects last dim " +
                       std::to_string(in_features(w)) + ")");
    if (in.size() > 2 &&
        (in[2].ndim() != 1 || in[2].numel() != out_features(w) || in[2].dtype() != x.dtype()))
      throw ValueError("linear: bias of shape " + shape_str(in[2].shape()) + " does not match " +
                       std::to_string(out_features(w)) + " output features");
    Shape s = x.shape();
    s.back() = out_features(w);
    return {s};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    const Shape& s = out_shapes[0];
    Tensor x = contiguous(detach(in[0])), w = detach(in[1]);
    Tensor y = empty(s, x.dtype());
    const int64_t K = in_features(w), N = out_features(w),
                  M = K ? x.numel() / K : shape_numel(s) / std::max<int64_t>(N, 1);
    // B = Wᵀ (torch) or W (jax), read through strides.
    const int64_t rsB = torch_layout ? w.strides()[1] : w.strides()[0];
    const int64_t csB = torch_layout ? w.strides()[0] : w.strides()[1];
    FG_DISPATCH_FLOAT(x.dtype(), name(), [&] {
      scalar_t* py = y.data<scalar_t>();
      scalar_t beta = 0;
      if (in.size() > 2) {
        Tensor b = contiguous(detach(in[2]));
        for (int64_t i = 0; i < M; ++i) std::memcpy(py + i * N, b.data<scalar_t>(), sizeof(scalar_t) * N);
        beta = 1;
      }
      kernels::gemm<scalar_t>(M, N, K, scalar_t(1), x.data<scalar_t>(), K, 1, w.data<scalar_t>(), rsB, csB,
                              beta, py, N, 1);
      activate<scalar_t>(act, py, M * N);
    });
    return {y};
  }
  Tensors vjp(const Tensors& in, const Tensors& out, const Tensors& g0,
              const std::vector<bool>& need) const override {
    const Tensor &x = in[0], &w = in[1];
    const Tensor g = act == Activation::None ? g0[0] : act_backward(act, out[0], g0[0]);
    const int64_t K = in_features(w), N = out_features(w);
    Tensors r(in.size());
    if (need[0]) r[0] = matmul(g, torch_layout ? w : transpose(w, 0, 1));
    if (need[1]) {
      Tensor g2 = rows(g, N), x2 = rows(x, K);
      r[1] = torch_layout ? matmul(transpose(g2, 0, 1), x2) : matmul(transpose(x2, 0, 1), g2);
    }
    if (in.size() > 2 && need[2]) r[2] = sum(rows(g, N), {0}, false);
    return r;
  }
  Tensors jvp(const Tensors& in, const Tensors& out, const Tensors& t) const override {
    Tensor r;
    if (t[0].defined()) r = linear(t[0], in[1], Tensor(), torch_layout);
    if (t[1].defined()) r = add_maybe(r, linear(in[0], t[1], Tensor(), torch_layout));
    if (in.size() > 2 && t[2].defined()) r = add_maybe(r, t[2]);
    return {act == Activation::None ? r : act_backward(act, out[0], r)};
  }
  // A batched input with a shared weight is a dense layer over more rows: the same
  // primitive on the batch-first input. A batched weight or bias (ensembles, per-example
  // parameters) is a batched matmul: y_b = x_b W_bᵀ + b_b (torch layout), then the
  // activation.
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr& self) const override {
    const bool bias = in.size() > 2;
    if (bdims[1] < 0 && (!bias || bdims[2] < 0)) {
      Tensors x = in;
      x[0] = batch_front(in[0], bdims[0]);
      return {apply(self, std::move(x)), {0}};
    }
    const int64_t B = batch_size(in, bdims, name());
    Tensor w = batch_front_or_expand(in[1], bdims[1], B);  // (B, out, in) or (B, in, out)
    if (torch_layout) w = transpose(w, 1, 2);
    const int64_t K = w.shape()[1], N = w.shape()[2];
    Tensor x = bdims[0] >= 0 ? batch_front(in[0], bdims[0]) : in[0];
    Shape s = x.shape();  // (B, ..., K) or (..., K)
    s.back() = N;
    if (bdims[0] < 0) s.insert(s.begin(), B);
    Tensor y = matmul(bdims[0] >= 0 ? reshape(x, {B, -1, K}) : reshape(x, {-1, K}), w);  // (B, rows, N)
    if (bias) y = add(y, bdims[2] >= 0 ? unsqueeze(batch_front(in[2], bdims[2]), 1) : in[2]);
    switch (act) {
      case Activation::None:
        break;
      case Activation::Relu:
        y = relu(y);
        break;
      case Activation::Tanh:
        y = tanh(y);
        break;
      case Activation::Sigmoid:
        y = sigmoid(y);
        break;
    }
    return {{reshape(y, s)}, {0}};
  }
};
FG_REGISTER_PRIMITIVE(Linear::kDesc);
FG_REGISTER_PRIMITIVE(Linear::kFused);

}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias, bool torch_layout, Activation act) {
  auto prim = make_prim<Linear>(torch_layout, act);
  return bias.defined() ? apply1(prim, {x, w, bias}) : apply1(prim, {x, w});
}

}  // namespace fastgrad
