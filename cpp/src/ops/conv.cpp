// Convolution and pooling primitives (1-D/2-D/3-D, NCHW and NHWC). The three conv
// maps — conv(x, w), its input adjoint and its weight adjoint — are bilinear and
// each one's rules are written with the other two, so they close under
// differentiation (higher-order derivatives through convolutions work).
#include "common.h"
#include "fastgrad/kernels/conv.h"

namespace fastgrad {
using namespace detail;

namespace {

struct ConvParams {
  int nd = 2;
  int64_t stride[3] = {1, 1, 1}, pad_lo[3] = {0, 0, 0}, pad_hi[3] = {0, 0, 0}, dil[3] = {1, 1, 1},
          k[3] = {1, 1, 1};
  int64_t groups = 1;
  bool channels_last = false;
};

// Spatial sizes and channels of an activation (N, C, *S) or (N, *S, C).
struct Act {
  int64_t N, C;
  int64_t S[3];
};
Act act_dims(const Shape& s, const ConvParams& p) {
  Act a{s[0], p.channels_last ? s.back() : s[1], {1, 1, 1}};
  for (int d = 0; d < p.nd; ++d) a.S[d] = s[(p.channels_last ? 1 : 2) + d];
  return a;
}
Shape act_shape(int64_t N, int64_t C, const int64_t* S, const ConvParams& p) {
  Shape s{N};
  if (!p.channels_last) s.push_back(C);
  for (int d = 0; d < p.nd; ++d) s.push_back(S[d]);
  if (p.channels_last) s.push_back(C);
  return s;
}
int64_t out_size(int64_t in, int64_t k, const ConvParams& p, int d) {
  const int64_t span = in + p.pad_lo[d] + p.pad_hi[d] - p.dil[d] * (k - 1) - 1;
  // A window larger than the padded input fits 0 times (C++ division truncates toward
  // zero, so -1 / 2 + 1 would claim one output).
  return span < 0 ? 0 : span / p.stride[d] + 1;
}

kernels::ConvGeom geom(const ConvParams& p, const Act& x, int64_t C_out, const int64_t* out) {
  kernels::ConvGeom g;
  g.nd = p.nd;
  g.N = x.N;
  g.C_in = x.C;
  g.C_out = C_out;
  g.groups = p.groups;
  g.channels_last = p.channels_last;
  for (int d = 0; d < p.nd; ++d) {
    g.in[d] = x.S[d];
    g.out[d] = out[d];
    g.k[d] = p.k[d];
    g.stride[d] = p.stride[d];
    g.pad_lo[d] = p.pad_lo[d];
    g.pad_hi[d] = p.pad_hi[d];
    g.dil[d] = p.dil[d];
  }
  return g;
}

// Validates x (activation) and w against p; returns the output shape.
Shape conv_out_shape(const Shape& xs, const Shape& ws, const ConvParams& p, const char* op_base) {
  const int nd = p.nd;
  // The forward op is named as the user called it (F.conv2d, nn.Conv2d): "conv2d", ...
  const std::string op_name =
      std::string(op_base) == "conv" ? "conv" + std::to_string(nd) + "d" : std::string(op_base);
  const char* op = op_name.c_str();
  if (static_cast<int>(xs.size()) != nd + 2)
    throw ValueError(std::string(op) + ": expected a " + std::to_string(nd + 2) + "-D input for a " +
                     std::to_string(nd) + "-D convolution, got shape " + shape_str(xs));
  if (static_cast<int>(ws.size()) != nd + 2)
    throw ValueError(std::string(op) + ": weight must be " + std::to_string(nd + 2) + "-D, got shape " +
                     shape_str(ws));
  Act a = act_dims(xs, p);
  const int64_t C_out = ws[0], cin_g = p.channels_last ? ws.back() : ws[1];
  // Zero-sized channel/kernel/spatial axes are refused here, before any kernel runs: the
  // kernels divide by them (SIGFPE), and PyTorch refuses them too. Only the batch may be 0.
  for (int d = 0; d < nd; ++d)
    if (ws[static_cast<size_t>((p.channels_last ? 1 : 2) + d)] < 1)
      throw ValueError(std::string(op) + ": weight " + shape_str(ws) +
                       " has a zero-sized kernel axis (input " + shape_str(xs) +
                       "); kernel sizes must be >= 1");
  if (C_out < 1 || cin_g < 1 || a.C < 1)
    throw ValueError(std::string(op) + ": input " + shape_str(xs) + " and weight " + shape_str(ws) +
                     " must have at least one input and one output channel");
  for (int d = 0; d < nd; ++d)
    if (a.S[d] < 1)
      throw ValueError(std::string(op) + ": input " + shape_str(xs) +
                       " has a zero-sized spatial axis (weight " + shape_str(ws) + ")");
  if (p.groups < 1 || C_out % p.groups != 0 || cin_g * p.groups != a.C)
    throw ValueError(
        std::string(op) + ": input " + shape_str(xs) + " has " + std::to_string(a.C) +
        " channels but weight " + shape_str(ws) + " expects " + std::to_string(cin_g) +
        " x groups=" + std::to_string(p.groups) +
        (C_out % std::max<int64_t>(p.groups, 1) ? " (out channels not divisible by groups)" : ""));
  int64_t out[3];
  for (int d = 0; d < nd; ++d) {
    out[d] = out_size(a.S[d], p.k[d], p, d);
    if (out[d] < 1)
      throw ValueError(std::string(op) + ": input " + shape_str(xs) + " has spatial size " +
                       shape_str(Shape(a.S, a.S + nd)) + ", smaller than the kernel " +
                       shape_str(Shape(p.k, p.k + nd)) + " (weight " + shape_str(ws) +
                       ") with this padding/dilation");
  }
  return act_shape(a.N, C_out, out, p);
}

ConvParams with_kernel(ConvParams p, const Shape& ws) {
  for (int d = 0; d < p.nd; ++d) p.k[d] = ws[(p.channels_last ? 1 : 2) + d];
  return p;
}

// ---- vmap folds. The batch rides in an axis the kernels already loop over, so one
// kernel call covers it: either the sample axis N (a shared weight: the examples are
// just more samples), or the channel axis with groups x B (a batched weight: example b
// is group block b, outermost, each block keeping the original groups inside it).

// (B, N, ...) with the batch in front -> (B*N, ...).
Tensor fold_n(const Tensor& x, int64_t bdim) {
  Tensor f = batch_front(x, bdim);
  Shape s(f.shape().begin() + 1, f.shape().end());
  s[0] *= f.shape()[0];
  return reshape(f, s);
}
// (B*N, ...) -> (B, N, ...): batch axis 0.
Tensor unfold_n(const Tensor& y, int64_t B, int64_t N) {
  Shape s = y.shape();
  s[0] = N;
  s.insert(s.begin(), B);
  return reshape(y, s);
}
Shape times_n(Shape s, int64_t B) {
  s[0] *= B;
  return s;
}
// The channel axis of an activation of rank r.
int64_t chan_axis(int64_t r, const ConvParams& p) { return p.channels_last ? r - 1 : 1; }
// An activation (N, C, *S) / (N, *S, C), batched or shared, as (N, B*C, *S) / (N, *S, B*C)
// with example b in channels [b*C, (b+1)*C).
Tensor fold_c(const Tensor& x, int64_t bdim, int64_t B, const ConvParams& p) {
  const int64_t r = x.ndim() - (bdim >= 0 ? 1 : 0), c = chan_axis(r, p);
  Tensor f;
  if (bdim >= 0) {
    f = movedim(x, bdim, c);  // the batch just before the channels
  } else {
    Shape s = x.shape();
    s.insert(s.begin() + c, B);
    f = expand(unsqueeze(x, c), s);
  }
  Shape s = f.shape();
  s[c] *= s[c + 1];
  s.erase(s.begin() + c + 1);
  return reshape(f, s);
}
// The inverse of fold_c on a result: (N, B*C, *S) -> (N, B, C, *S); returns the batch axis.
int64_t unfold_c(Tensor& y, int64_t B, int64_t C, const ConvParams& p) {
  const int64_t c = chan_axis(y.ndim(), p);
  Shape s = y.shape();
  s[c] = C;
  s.insert(s.begin() + c, B);
  y = reshape(y, s);
  return c;
}
// A weight (O, ...) or bias (O), batched or shared, as (B*O, ...).
Tensor fold_w(const Tensor& w, int64_t bdim, int64_t B) {
  Tensor f = batch_front_or_expand(w, bdim, B);
  Shape s(f.shape().begin() + 1, f.shape().end());
  s[0] *= B;
  return reshape(f, s);
}
Shape times_c(Shape s, int64_t B, const ConvParams& p) {
  s[chan_axis(static_cast<int64_t>(s.size()), p)] *= B;
  return s;
}
// The result of an empty batch (groups x 0 is no convolution): shape (0, *per_example).
Tensor empty_batch(const Shape& per_example, DType dtype) {
  Shape s = per_example;
  s.insert(s.begin(), 0);
  return zeros(s, dtype);
}
Shape logical_shape(const Tensor& x, int64_t bdim) {
  Shape s = x.shape();
  if (bdim >= 0) s.erase(s.begin() + bdim);
  return s;
}
ConvParams times_groups(ConvParams p, int64_t B) {
  p.groups *= B;
  return p;
}

Tensor conv_nobias(const Tensor& x, const Tensor& w, const ConvParams& p);
Tensor conv_grad_input(const Tensor& gy, const Tensor& w, const Shape& x_shape, const ConvParams& p);
Tensor conv_grad_weight(const Tensor& x, const Tensor& gy, const Shape& w_shape, const ConvParams& p);

Tensor bias_grad(const Tensor& g, const ConvParams& p) {
  Axes ax;
  for (int64_t d = 0; d < g.ndim(); ++d)
    if (d != (p.channels_last ? g.ndim() - 1 : 1)) ax.push_back(d);
  return sum(g, ax, false);
}
Tensor bias_view(const Tensor& b, const Tensor& y, const ConvParams& p) {
  Shape s(y.ndim(), 1);
  s[p.channels_last ? y.ndim() - 1 : 1] = b.numel();
  return reshape(b, s);
}

struct Conv : Primitive {
  ConvParams p;
  Activation act;
  explicit Conv(ConvParams q, Activation a = Activation::None) : p(q), act(a) {}
  // The fused form's VJP also reads the output (the activation's derivative comes from it).
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("conv").inputs(2, 3);
  static constexpr PrimitiveDesc kFused = kDesc.named_variant("fused").reads_outputs();
  const PrimitiveDesc& desc() const override { return act == Activation::None ? kDesc : kFused; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_float(in[0], name());
    if (in[0].dtype() != in[1].dtype())
      throw TypeError(std::string("conv: input is ") + dtype_name(in[0].dtype()) + " but weight is " +
                      dtype_name(in[1].dtype()));
    Shape s = conv_out_shape(in[0].shape(), in[1].shape(), p, name());
    if (in.size() > 2 &&
        (in[2].ndim() != 1 || in[2].numel() != in[1].shape()[0] || in[2].dtype() != in[0].dtype()))
      throw ValueError("conv: bias must have shape (" + std::to_string(in[1].shape()[0]) +
                       ",) and the input's dtype, got " + shape_str(in[2].shape()));
    return {s};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    const Shape& s = out_shapes[0];
    Tensor x = contiguous(detach(in[0])), w = contiguous(detach(in[1]));
    Tensor b = in.size() > 2 ? contiguous(detach(in[2])) : Tensor();
    Tensor y = empty(s, x.dtype());
    Act a = act_dims(x.shape(), p), o = act_dims(s, p);
    kernels::ConvGeom g = geom(p, a, w.shape()[0], o.S);
    FG_DISPATCH_FLOAT(x.dtype(), name(), [&] {
      kernels::conv_forward<scalar_t>(g, x.data<scalar_t>(), w.data<scalar_t>(),
                                      b.defined() ? b.data<scalar_t>() : nullptr, y.data<scalar_t>());
      activate<scalar_t>(act, y.data<scalar_t>(), y.numel());
    });
    return {y};
  }
  Tensors vjp(const Tensors& x, const Tensors& out, const Tensors& g0,
              const std::vector<bool>& need) const override {
    const Tensor g = act == Activation::None ? g0[0] : act_backward(act, out[0], g0[0]);
    Tensors r(x.size());
    if (need[0]) r[0] = conv_grad_input(g, x[1], x[0].shape(), p);
    if (need[1]) r[1] = conv_grad_weight(x[0], g, x[1].shape(), p);
    if (x.size() > 2 && need[2]) r[2] = bias_grad(g, p);
    return r;
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    Tensor r;
    if (t[0].defined()) r = conv_nobias(t[0], x[1], p);
    if (t[1].defined()) r = add_maybe(r, conv_nobias(x[0], t[1], p));
    if (x.size() > 2 && t[2].defined()) r = add_maybe(r, expand(bias_view(t[2], y[0], p), y[0].shape()));
    return {act == Activation::None ? r : act_backward(act, y[0], r)};
  }

  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr& self) const override {
    const int64_t B = batch_size(in, bdims, name());
    const bool bias = in.size() > 2;
    if (bdims[1] < 0 && (!bias || bdims[2] < 0)) {
      Tensors x = in;
      x[0] = fold_n(in[0], bdims[0]);
      const int64_t N = in[0].shape()[bdims[0] == 0 ? 1 : 0];
      return {{unfold_n(apply1(self, std::move(x)), B, N)}, {0}};
    }
    // A batched weight (or bias alone: its weight expanded) is B independent conv layers.
    if (B == 0)
      return {{empty_batch(
                  conv_out_shape(logical_shape(in[0], bdims[0]), logical_shape(in[1], bdims[1]), p, name()),
                  in[0].dtype())},
              {0}};
    Tensors x{fold_c(in[0], bdims[0], B, p), fold_w(in[1], bdims[1], B)};
    if (bias) x.push_back(fold_w(in[2], bdims[2], B));
    const int64_t O = in[1].shape()[bdims[1] == 0 ? 1 : 0];
    Tensor y = apply1(make_prim<Conv>(times_groups(p, B), act), std::move(x));
    const int64_t b = unfold_c(y, B, O, p);
    return {{y}, {b}};
  }
};
FG_REGISTER_PRIMITIVE(Conv::kDesc);
FG_REGISTER_PRIMITIVE(Conv::kFused);

// gx = the input adjoint of conv(., w) applied to gy. <c, gx> = <conv(c, w), gy>.
struct ConvGradInput : Primitive {
  ConvParams p;
  Shape x_shape;
  ConvGradInput(ConvParams q, Shape s) : p(q), x_shape(std::move(s)) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("conv_grad_input").inputs(2);
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    Shape ys = conv_out_shape(x_shape, in[1].shape(), p, name());
    if (ys != in[0].shape())
      throw ValueError("conv_grad_input: gradient of shape " + shape_str(in[0].shape()) +
                       " does not match output " + shape_str(ys));
    return {x_shape};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor gy = contiguous(detach(in[0])), w = contiguous(detach(in[1]));
    Tensor gx = empty(x_shape, gy.dtype());
    Act a = act_dims(x_shape, p), o = act_dims(gy.shape(), p);
    kernels::ConvGeom g = geom(p, a, w.shape()[0], o.S);
    FG_DISPATCH_FLOAT(gy.dtype(), name(), [&] {
      kernels::conv_grad_input<scalar_t>(g, gy.data<scalar_t>(), w.data<scalar_t>(), gx.data<scalar_t>());
    });
    return {gx};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& c,
              const std::vector<bool>& need) const override {
    return {need[0] ? conv_nobias(c[0], x[1], p) : Tensor(),
            need[1] ? conv_grad_weight(c[0], x[0], x[1].shape(), p) : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    Tensor r;
    if (t[0].defined()) r = conv_grad_input(t[0], x[1], x_shape, p);
    if (t[1].defined()) r = add_maybe(r, conv_grad_input(x[0], t[1], x_shape, p));
    return {r};
  }

  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    const int64_t B = batch_size(in, bdims, name());
    if (bdims[1] < 0)
      return {
          {unfold_n(conv_grad_input(fold_n(in[0], bdims[0]), in[1], times_n(x_shape, B), p), B, x_shape[0])},
          {0}};
    if (B == 0) return {{empty_batch(x_shape, in[0].dtype())}, {0}};
    Tensor gx = conv_grad_input(fold_c(in[0], bdims[0], B, p), fold_w(in[1], bdims[1], B),
                                times_c(x_shape, B, p), times_groups(p, B));
    const int64_t b = unfold_c(gx, B, x_shape[chan_axis(gx.ndim(), p)], p);
    return {{gx}, {b}};
  }
};
FG_REGISTER_PRIMITIVE(ConvGradInput::kDesc);

// gw = the weight adjoint: <c, gw> = <conv(x, c), gy>.
struct ConvGradWeight : Primitive {
  ConvParams p;
  Shape w_shape;
  ConvGradWeight(ConvParams q, Shape s) : p(q), w_shape(std::move(s)) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("conv_grad_weight").inputs(2);
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    Shape ys = conv_out_shape(in[0].shape(), w_shape, p, name());
    if (ys != in[1].shape())
      throw ValueError("conv_grad_weight: gradient of shape " + shape_str(in[1].shape()) +
                       " does not match output " + shape_str(ys));
    return {w_shape};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor x = contiguous(detach(in[0])), gy = contiguous(detach(in[1]));
    Tensor gw = empty(w_shape, x.dtype());
    Act a = act_dims(x.shape(), p), o = act_dims(gy.shape(), p);
    kernels::ConvGeom g = geom(p, a, w_shape[0], o.S);
    FG_DISPATCH_FLOAT(x.dtype(), name(), [&] {
      kernels::conv_grad_weight<scalar_t>(g, x.data<scalar_t>(), gy.data<scalar_t>(), gw.data<scalar_t>());
    });
    return {gw};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& c,
              const std::vector<bool>& need) const override {
    return {need[0] ? conv_grad_input(x[1], c[0], x[0].shape(), p) : Tensor(),
            need[1] ? conv_nobias(x[0], c[0], p) : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    Tensor r;
    if (t[0].defined()) r = conv_grad_weight(t[0], x[1], w_shape, p);
    if (t[1].defined()) r = add_maybe(r, conv_grad_weight(x[0], t[1], w_shape, p));
    return {r};
  }

  // Per-example weight gradients must not sum over the examples, so the batch always goes
  // into the channels (a shared operand expanded): the weight adjoint of the grouped conv.
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    const int64_t B = batch_size(in, bdims, name());
    if (B == 0) return {{empty_batch(w_shape, in[0].dtype())}, {0}};
    Shape ws = w_shape;
    ws[0] *= B;
    Tensor gw = conv_grad_weight(fold_c(in[0], bdims[0], B, p), fold_c(in[1], bdims[1], B, p), ws,
                                 times_groups(p, B));
    Shape s = w_shape;
    s.insert(s.begin(), B);
    return {{reshape(gw, s)}, {0}};
  }
};
FG_REGISTER_PRIMITIVE(ConvGradWeight::kDesc);

Tensor conv_nobias(const Tensor& x, const Tensor& w, const ConvParams& p) {
  return apply1(make_prim<Conv>(p), {x, w});
}
Tensor conv_grad_input(const Tensor& gy, const Tensor& w, const Shape& xs, const ConvParams& p) {
  return apply1(make_prim<ConvGradInput>(p, xs), {gy, w});
}
Tensor conv_grad_weight(const Tensor& x, const Tensor& gy, const Shape& ws, const ConvParams& p) {
  return apply1(make_prim<ConvGradWeight>(p, ws), {x, gy});
}

// ---------------------------------------------------------------- pooling
struct PoolParams : ConvParams {
  bool ceil_mode = false;
  int64_t divisor_override = 0;
};

// The op as the user called it: "max_pool2d", ...
std::string pool_name(const char* base, int nd) { return std::string(base) + std::to_string(nd) + "d"; }

// Spatial axes must be non-empty (as PyTorch): an empty window would average to 0/0 or
// pick no winner. Empty batch or channel axes just give an empty result.
void check_pool_input(const Shape& xs, const Act& a, const ConvParams& p, const std::string& op) {
  for (int d = 0; d < p.nd; ++d)
    if (a.S[d] < 1)
      throw ValueError(op + ": input " + shape_str(xs) +
                       " has a zero-sized spatial axis (only the batch and channel axes may be empty)");
}
// PyTorch's pooling_output_shape: floor or ceil division, and in ceil mode the last
// window must start inside the input or the left padding.
int64_t pool_out_size(int64_t in, const PoolParams& p, int d) {
  const int64_t s = p.stride[d];
  const int64_t span =
      in + p.pad_lo[d] + p.pad_hi[d] - p.dil[d] * (p.k[d] - 1) - 1 + (p.ceil_mode ? s - 1 : 0);
  if (span < 0) return 0;
  int64_t o = span / s + 1;
  if (p.ceil_mode && (o - 1) * s >= in + p.pad_lo[d]) --o;
  return o;
}
// The one place pooling geometry is checked (the Python layers pass it through).
Shape pool_out_shape(const Shape& xs, const PoolParams& p, const std::string& op) {
  auto vec = [&](const int64_t* v) { return shape_str(Shape(v, v + p.nd)); };
  if (static_cast<int>(xs.size()) != p.nd + 2)
    throw ValueError(op + ": expected a " + std::to_string(p.nd + 2) + "-D input, got shape " +
                     shape_str(xs));
  Act a = act_dims(xs, p);
  check_pool_input(xs, a, p, op);
  int64_t out[3];
  for (int d = 0; d < p.nd; ++d) {
    // PyTorch: "pad should be at most half of effective kernel size".
    if (p.pad_lo[d] * 2 > p.k[d])
      throw ValueError(op + ": padding " + vec(p.pad_lo) + " must be at most half the kernel size " +
                       vec(p.k) + " (input " + shape_str(xs) + ")");
    out[d] = pool_out_size(a.S[d], p, d);
  }
  for (int d = 0; d < p.nd; ++d)
    if (out[d] < 1)
      throw ValueError(op + ": input " + shape_str(xs) + " is too small for kernel " + vec(p.k) +
                       " with padding " + vec(p.pad_lo) + " and dilation " + vec(p.dil) + " (output size " +
                       shape_str(Shape(out, out + p.nd)) + ")");
  return act_shape(a.N, a.C, out, p);
}
kernels::ConvGeom pool_geom(const ConvParams& p, const Shape& xs, const Shape& ys, int64_t divisor = 0) {
  Act a = act_dims(xs, p), o = act_dims(ys, p);
  kernels::ConvGeom g = geom(p, a, a.C, o.S);
  g.divisor_override = divisor;
  return g;
}

// MaxPool's indices are flat into x as a whole: folded into N, example b's x starts at
// b * numel(x). offsets(B, ...) broadcasts those starts over a (B, N, ...) index tensor.
Tensor example_offsets(int64_t B, const Shape& x_shape, int64_t rank) {
  int64_t n = 1;
  for (int64_t d : x_shape) n *= d;
  Shape s(static_cast<size_t>(rank), 1);
  s[0] = B;
  return reshape(mul(arange_int(0, B, 1, DType::Int64), full_int({}, n, DType::Int64)), s);
}

Tensor max_pool_backward(const Tensor& gy, const Tensor& idx, const Shape& x_shape, const PoolParams& p);

// gx = the scatter-add of gy through max pooling's winners (idx: flat indices into x):
// the pooling kernel's own backward, linear in gy; its VJP gathers through idx.
struct MaxPoolBackward : Primitive {
  PoolParams p;
  Shape x_shape;
  MaxPoolBackward(PoolParams q, Shape xs) : p(q), x_shape(std::move(xs)) {}
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc("max_pool_backward").inputs(2).nondiff(bit(1)).reads_inputs(bit(1));
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors&) const override { return {x_shape}; }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor gy = contiguous(detach(in[0]));
    Tensor idx = contiguous(detach(in[1]));
    Tensor gx = empty(x_shape, gy.dtype());
    kernels::ConvGeom g = pool_geom(p, x_shape, gy.shape());
    FG_DISPATCH_FLOAT(gy.dtype(), name(), [&] {
      kernels::maxpool_backward_flat<scalar_t>(g, gy.data<scalar_t>(), idx.data<int64_t>(),
                                               gx.data<scalar_t>());
    });
    return {gx};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {reshape(index_select(reshape(g[0], {-1}), 0, reshape(x[1], {-1})), x[1].shape()), Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {max_pool_backward(t[0], x[1], x_shape, p)};
  }

  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    const int64_t B = batch_size(in, bdims, name());
    Tensor gy = batch_front_or_expand(in[0], bdims[0], B), idx = batch_front_or_expand(in[1], bdims[1], B);
    idx = add(idx, example_offsets(B, x_shape, idx.ndim()));
    Tensor gx = max_pool_backward(fold_n(gy, 0), fold_n(idx, 0), times_n(x_shape, B), p);
    return {{unfold_n(gx, B, x_shape[0])}, {0}};
  }
};
FG_REGISTER_PRIMITIVE(MaxPoolBackward::kDesc);

Tensor max_pool_backward(const Tensor& gy, const Tensor& idx, const Shape& x_shape, const PoolParams& p) {
  return apply(make_prim<MaxPoolBackward>(p, x_shape), {gy, idx})[0];
}

// Outputs: the pooled values and, as a constant second output, the flat index into x
// of each window's winner; the VJP scatters through it (MaxPoolBackward).
struct MaxPool : Primitive {
  PoolParams p;
  explicit MaxPool(PoolParams q) : p(q) {}
  // The second output (the winners' indices) is what the VJP reads.
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("max_pool").outputs(2).reads_inputs(0).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_float(in[0], name());
    Shape s = pool_out_shape(in[0].shape(), p, pool_name("max_pool", p.nd));
    return {s, s};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    const Shape& s = out_shapes[0];
    Tensor x = contiguous(detach(in[0]));
    Tensor y = empty(s, x.dtype()), idx = empty(s, DType::Int64);
    kernels::ConvGeom g = pool_geom(p, x.shape(), s);
    // The kernel writes the flat index into x of each winner.
    FG_DISPATCH_FLOAT(x.dtype(), name(), [&] {
      kernels::maxpool_forward_flat<scalar_t>(g, x.data<scalar_t>(), y.data<scalar_t>(), idx.data<int64_t>());
    });
    return {y, idx};
  }
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    return {max_pool_backward(g[0], y[1], x[0].shape(), p)};
  }
  Tensors jvp(const Tensors&, const Tensors& y, const Tensors& t) const override {
    return {reshape(index_select(reshape(t[0], {-1}), 0, reshape(y[1], {-1})), y[0].shape()), Tensor()};
  }

  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr& self) const override {
    const int64_t B = batch_size(in, bdims, name());
    Shape xs = in[0].shape();
    xs.erase(xs.begin() + bdims[0]);
    Tensors r = apply(self, {fold_n(in[0], bdims[0])});
    Tensor idx = unfold_n(r[1], B, xs[0]);
    return {{unfold_n(r[0], B, xs[0]), sub(idx, example_offsets(B, xs, idx.ndim()))}, {0, 0}};
  }
};
FG_REGISTER_PRIMITIVE(MaxPool::kDesc);

// Average pooling (fixed windows or adaptive) is linear: the rules of the pool and of
// its adjoint are each other.
struct AvgPoolSpec {
  PoolParams p;
  bool count_include_pad = true;
  bool adaptive = false;
};

Tensor avg_pool_apply(const Tensor& x, const AvgPoolSpec& s, const Shape& out_shape);
Tensor avg_pool_adjoint(const Tensor& g, const AvgPoolSpec& s, const Shape& x_shape);

struct AvgPool : Primitive {
  AvgPoolSpec s;
  Shape out_shape;
  AvgPool(AvgPoolSpec q, Shape o) : s(q), out_shape(std::move(o)) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("avg_pool").reads_inputs(0);
  static constexpr PrimitiveDesc kAdaptive = PrimitiveDesc("adaptive_avg_pool").reads_inputs(0);
  const PrimitiveDesc& desc() const override { return s.adaptive ? kAdaptive : kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_float(in[0], name());
    if (in[0].ndim() != s.p.nd + 2)
      throw ValueError(std::string(name()) + ": bad input shape " + shape_str(in[0].shape()));
    return {out_shape};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor x = contiguous(detach(in[0]));
    Tensor y = empty(out_shape, x.dtype());
    kernels::ConvGeom g = pool_geom(s.p, x.shape(), out_shape, s.p.divisor_override);
    FG_DISPATCH_FLOAT(x.dtype(), name(), [&] {
      if (s.adaptive)
        kernels::adaptive_avgpool_forward<scalar_t>(g, x.data<scalar_t>(), y.data<scalar_t>());
      else
        kernels::avgpool_forward<scalar_t>(g, x.data<scalar_t>(), y.data<scalar_t>(), s.count_include_pad);
    });
    return {y};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {avg_pool_adjoint(g[0], s, x[0].shape())};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override {
    return {avg_pool_apply(t[0], s, out_shape)};
  }

  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    const int64_t B = batch_size(in, bdims, name());
    return {{unfold_n(avg_pool_apply(fold_n(in[0], bdims[0]), s, times_n(out_shape, B)), B, out_shape[0])},
            {0}};
  }
};
FG_REGISTER_PRIMITIVE(AvgPool::kDesc);
FG_REGISTER_PRIMITIVE(AvgPool::kAdaptive);

struct AvgPoolAdjoint : Primitive {
  AvgPoolSpec s;
  Shape x_shape;
  AvgPoolAdjoint(AvgPoolSpec q, Shape xs) : s(q), x_shape(std::move(xs)) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("avg_pool_adjoint").reads_inputs(0);
  static constexpr PrimitiveDesc kAdaptive = PrimitiveDesc("adaptive_avg_pool_adjoint").reads_inputs(0);
  const PrimitiveDesc& desc() const override { return s.adaptive ? kAdaptive : kDesc; }
  std::vector<Shape> shapes(const Tensors&) const override { return {x_shape}; }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor gy = contiguous(detach(in[0]));
    Tensor gx = empty(x_shape, gy.dtype());
    kernels::ConvGeom g = pool_geom(s.p, x_shape, gy.shape(), s.p.divisor_override);
    FG_DISPATCH_FLOAT(gy.dtype(), name(), [&] {
      if (s.adaptive)
        kernels::adaptive_avgpool_backward<scalar_t>(g, gy.data<scalar_t>(), gx.data<scalar_t>());
      else
        kernels::avgpool_backward<scalar_t>(g, gy.data<scalar_t>(), gx.data<scalar_t>(), s.count_include_pad);
    });
    return {gx};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {avg_pool_apply(g[0], s, x[0].shape())};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override {
    return {avg_pool_adjoint(t[0], s, x_shape)};
  }

  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    const int64_t B = batch_size(in, bdims, name());
    return {{unfold_n(avg_pool_adjoint(fold_n(in[0], bdims[0]), s, times_n(x_shape, B)), B, x_shape[0])},
            {0}};
  }
};
FG_REGISTER_PRIMITIVE(AvgPoolAdjoint::kDesc);
FG_REGISTER_PRIMITIVE(AvgPoolAdjoint::kAdaptive);

Tensor avg_pool_apply(const Tensor& x, const AvgPoolSpec& s, const Shape& out_shape) {
  return apply1(make_prim<AvgPool>(s, out_shape), {x});
}
Tensor avg_pool_adjoint(const Tensor& g, const AvgPoolSpec& s, const Shape& x_shape) {
  return apply1(make_prim<AvgPoolAdjoint>(s, x_shape), {g});
}

ConvParams make_params(int nd, const std::vector<int64_t>& stride, const std::vector<int64_t>& lo,
                       const std::vector<int64_t>& hi, const std::vector<int64_t>& dil, int64_t groups,
                       bool cl, const char* op) {
  if (nd < 1 || nd > 3) throw ValueError(std::string(op) + ": only 1-D, 2-D and 3-D are supported");
  auto check = [&](const std::vector<int64_t>& v, const char* what, int64_t minv) {
    if (static_cast<int>(v.size()) != nd)
      throw ValueError(std::string(op) + ": " + what + " needs " + std::to_string(nd) + " entries, got " +
                       std::to_string(v.size()));
    for (auto e : v)
      if (e < minv)
        throw ValueError(std::string(op) + ": " + what + " must be >= " + std::to_string(minv) + ", got " +
                         shape_str(Shape(v.begin(), v.end())));
  };
  check(stride, "stride", 1);
  check(lo, "padding", 0);
  check(hi, "padding", 0);
  check(dil, "dilation", 1);
  ConvParams p;
  p.nd = nd;
  p.groups = groups;
  p.channels_last = cl;
  for (int d = 0; d < nd; ++d) {
    p.stride[d] = stride[d];
    p.pad_lo[d] = lo[d];
    p.pad_hi[d] = hi[d];
    p.dil[d] = dil[d];
  }
  return p;
}

}  // namespace

Tensor conv(const Tensor& x, const Tensor& w, const Tensor& bias, const std::vector<int64_t>& stride,
            const std::vector<int64_t>& pad_lo, const std::vector<int64_t>& pad_hi,
            const std::vector<int64_t>& dil, int64_t groups, bool channels_last, Activation act) {
  if (w.ndim() < 3) throw ValueError("conv: weight must be at least 3-D, got shape " + shape_str(w.shape()));
  ConvParams p =
      make_params(static_cast<int>(w.ndim()) - 2, stride, pad_lo, pad_hi, dil, groups, channels_last, "conv");
  p = with_kernel(p, w.shape());
  auto prim = make_prim<Conv>(p, act);
  return bias.defined() ? apply1(prim, {x, w, bias}) : apply1(prim, {x, w});
}

// The transposed convolution is the input adjoint of conv (cheat sheet "CONVOLUTION"):
// conv_transpose(x, w) = conv_grad_input(x, w) for the conv whose output x is, so its
// rules (and every higher order) are that primitive's.
Tensor conv_transpose(const Tensor& x, const Tensor& w, const Tensor& bias,
                      const std::vector<int64_t>& stride, const std::vector<int64_t>& pad,
                      const std::vector<int64_t>& output_padding, const std::vector<int64_t>& dil,
                      int64_t groups, bool channels_last) {
  const int nd = static_cast<int>(w.ndim()) - 2;
  const std::string op = "conv_transpose" + std::to_string(std::max(nd, 0)) + "d";
  if (nd < 1 || nd > 3 || x.ndim() != w.ndim())
    throw ValueError(op + ": expected a 3-D to 5-D input and a weight of the same rank, got input " +
                     shape_str(x.shape()) + " and weight " + shape_str(w.shape()));
  require_float(x, op.c_str());
  if (x.dtype() != w.dtype())
    throw TypeError(op + ": input is " + dtype_name(x.dtype()) + " but weight is " + dtype_name(w.dtype()));
  ConvParams p = make_params(nd, stride, pad, pad, dil, groups, channels_last, op.c_str());
  p = with_kernel(p, w.shape());
  if (static_cast<int>(output_padding.size()) != nd)
    throw ValueError(op + ": output_padding needs " + std::to_string(nd) + " entries");
  Act a = act_dims(x.shape(), p);
  const Shape& ws = w.shape();
  const int64_t cout_g = channels_last ? ws.back() : ws[1];
  if (groups < 1 || ws[0] != a.C || ws[0] % groups != 0)
    throw ValueError(op + ": input " + shape_str(x.shape()) + " has " + std::to_string(a.C) +
                     " channels but weight " + shape_str(ws) + " expects " + std::to_string(ws[0]) +
                     " (divisible by groups=" + std::to_string(groups) + ")");
  int64_t out[3];
  for (int d = 0; d < nd; ++d) {
    const int64_t op_d = output_padding[d];
    if (op_d < 0 || (op_d >= p.stride[d] && op_d >= p.dil[d]))
      throw ValueError(op + ": output_padding " +
                       shape_str(Shape(output_padding.begin(), output_padding.end())) +
                       " must be >= 0 and smaller than either the stride " +
                       shape_str(Shape(stride.begin(), stride.end())) + " or the dilation " +
                       shape_str(Shape(dil.begin(), dil.end())));
    // The conv whose adjoint this is: pad_hi = pad - output_padding makes its output size
    // exactly x's (the kernels never read pad_hi; only the size rule does, so it may be < 0).
    p.pad_hi[d] = p.pad_lo[d] - op_d;
    out[d] = (a.S[d] - 1) * p.stride[d] - 2 * p.pad_lo[d] + p.dil[d] * (p.k[d] - 1) + op_d + 1;
    if (out[d] < 1 || a.S[d] < 1)
      throw ValueError(op + ": input " + shape_str(x.shape()) + " and weight " + shape_str(ws) +
                       " give a non-positive output size along spatial dim " + std::to_string(d));
  }
  Tensor y = conv_grad_input(x, w, act_shape(a.N, cout_g * groups, out, p), p);
  if (!bias.defined()) return y;
  if (bias.ndim() != 1 || bias.numel() != cout_g * groups || bias.dtype() != x.dtype())
    throw ValueError(op + ": bias must have shape (" + std::to_string(cout_g * groups) +
                     ",) and the input's dtype, got " + shape_str(bias.shape()));
  return add(y, bias_view(bias, y, p));
}

namespace {
PoolParams pool_params(const std::vector<int64_t>& kernel, const std::vector<int64_t>& stride,
                       const std::vector<int64_t>& pad, const std::vector<int64_t>& dilation, bool ceil_mode,
                       bool channels_last, const char* base) {
  const int nd = static_cast<int>(kernel.size());
  const std::string op = pool_name(base, nd);
  const std::vector<int64_t> dil = dilation.empty() ? std::vector<int64_t>(kernel.size(), 1) : dilation;
  for (int d = 0; d < nd; ++d)
    if (kernel[d] < 1)
      throw ValueError(op + ": kernel_size must be >= 1, got " +
                       shape_str(Shape(kernel.begin(), kernel.end())));
  PoolParams p;
  static_cast<ConvParams&>(p) = make_params(nd, stride, pad, pad, dil, 1, channels_last, op.c_str());
  for (int d = 0; d < nd; ++d) p.k[d] = kernel[d];
  p.ceil_mode = ceil_mode;
  return p;
}
}  // namespace

Tensors max_pool_with_indices(const Tensor& x, const std::vector<int64_t>& kernel,
                              const std::vector<int64_t>& stride, const std::vector<int64_t>& pad,
                              bool channels_last, const std::vector<int64_t>& dilation, bool ceil_mode) {
  PoolParams p = pool_params(kernel, stride, pad, dilation, ceil_mode, channels_last, "max_pool");
  return apply(make_prim<MaxPool>(p), {x});
}

Tensor max_pool(const Tensor& x, const std::vector<int64_t>& kernel, const std::vector<int64_t>& stride,
                const std::vector<int64_t>& pad, bool channels_last, const std::vector<int64_t>& dilation,
                bool ceil_mode) {
  return max_pool_with_indices(x, kernel, stride, pad, channels_last, dilation, ceil_mode)[0];
}

Tensor max_pool_plane_indices(const Tensor& flat, const Shape& x_shape, bool channels_last) {
  // MaxPool's second output indexes x as a whole; PyTorch's return_indices counts within
  // each (n, c) plane: the spatial offset only. Elementwise on the indices, which inside
  // vmap are per example (the batching rule takes each example's offset out).
  if (any_batched({flat}))
    return vmap_call_elementwise(
        {flat}, [&](const Tensors& p) { return max_pool_plane_indices(p[0], x_shape, channels_last); });
  const int64_t nd = static_cast<int64_t>(x_shape.size()) - 2;
  int64_t S = 1;
  for (int64_t d = 0; d < nd; ++d) S *= x_shape[static_cast<size_t>((channels_last ? 1 : 2) + d)];
  const int64_t C = channels_last ? x_shape.back() : 1;
  Tensor src = contiguous(detach(flat));
  Tensor r = empty(src.shape(), DType::Int64);
  const int64_t* ip = src.data<int64_t>();
  int64_t* op = r.data<int64_t>();
  for (int64_t i = 0; i < src.numel(); ++i) op[i] = S > 0 ? (ip[i] / C) % S : 0;
  return r;
}

Tensor avg_pool(const Tensor& x, const std::vector<int64_t>& kernel, const std::vector<int64_t>& stride,
                const std::vector<int64_t>& pad, bool count_include_pad, bool channels_last, bool ceil_mode,
                std::optional<int64_t> divisor_override) {
  AvgPoolSpec s;
  s.p = pool_params(kernel, stride, pad, {}, ceil_mode, channels_last, "avg_pool");
  if (divisor_override && *divisor_override == 0)  // PyTorch: "divisor must be not zero"
    throw ValueError(pool_name("avg_pool", s.p.nd) + ": divisor_override must not be zero (input " +
                     shape_str(x.shape()) + ")");
  s.p.divisor_override = divisor_override.value_or(0);
  s.count_include_pad = count_include_pad;
  require_float(x, pool_name("avg_pool", s.p.nd).c_str());
  return avg_pool_apply(x, s, pool_out_shape(x.shape(), s.p, pool_name("avg_pool", s.p.nd)));
}

Tensor adaptive_avg_pool(const Tensor& x, const std::vector<int64_t>& out_size, bool channels_last) {
  const int nd = static_cast<int>(out_size.size());
  AvgPoolSpec s;
  static_cast<ConvParams&>(s.p) =
      make_params(nd, std::vector<int64_t>(nd, 1), std::vector<int64_t>(nd, 0), std::vector<int64_t>(nd, 0),
                  std::vector<int64_t>(nd, 1), 1, channels_last, "adaptive_avg_pool");
  s.adaptive = true;
  if (x.ndim() != nd + 2)
    throw ValueError("adaptive_avg_pool: expected a " + std::to_string(nd + 2) + "-D input, got shape " +
                     shape_str(x.shape()));
  for (auto o : out_size)
    if (o < 1) throw ValueError("adaptive_avg_pool: output sizes must be >= 1");
  Act a = act_dims(x.shape(), s.p);
  check_pool_input(x.shape(), a, s.p, pool_name("adaptive_avg_pool", nd));
  return avg_pool_apply(x, s, act_shape(a.N, a.C, out_size.data(), s.p));
}

}  // namespace fastgrad
