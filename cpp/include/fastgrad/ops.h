// fastgrad's differentiable ops. Every op goes through a primitive (primitive.h), so
// each works under reverse mode, forward mode and their compositions.
#pragma once
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "fastgrad/primitive.h"

namespace fastgrad {

using Axes = std::vector<int64_t>;  // empty + all_axes=true means "every axis"

// ---- creation (no gradient) ----
Tensor full(const Shape& shape, double value, DType dtype);
Tensor zeros(const Shape& shape, DType dtype);
Tensor ones(const Shape& shape, DType dtype);
Tensor scalar(double value, DType dtype);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor arange(double start, double stop, double step, DType dtype);
// Exact integer forms: values above 2^53 are not rounded through double on the way to
// int64 (for a float dtype each value is rounded once, from the exact integer).
Tensor full_int(const Shape& shape, int64_t value, DType dtype);
Tensor scalar_int(int64_t value, DType dtype);
Tensor arange_int(int64_t start, int64_t stop, int64_t step, DType dtype);
Tensor linspace(double start, double stop, int64_t num, DType dtype);
Tensor eye(int64_t n, int64_t m, DType dtype);
Tensor rand(const Shape& shape, DType dtype);
Tensor randn(const Shape& shape, DType dtype);
Tensor randint(int64_t low, int64_t high, const Shape& shape);
Tensor randperm(int64_t n);
void manual_seed(uint64_t seed);
uint64_t next_seed();  // draws from the global generator (for Python-side RNG)

// ---- copies and casts ----
Tensor contiguous(const Tensor& x);                // x itself when already contiguous
Tensor clone(const Tensor& x);                     // differentiable copy
Tensor cast(const Tensor& x, DType dtype);         // differentiable between float types
Tensor detach(const Tensor& x);                    // same storage, no graph
void copy_(const Tensor& dst, const Tensor& src);  // in place, broadcasting src; bumps version

// ---- in-place ops with autograd (inplace.cpp; PyTorch's rules, see inplace_ in autodiff.h) ----
void add_(const Tensor& self, const Tensor& other);
void sub_(const Tensor& self, const Tensor& other);
void mul_(const Tensor& self, const Tensor& other);
void div_(const Tensor& self, const Tensor& other);
void pow_(const Tensor& self, const Tensor& other);
void assign_(const Tensor& self, const Tensor& src);  // Tensor.copy_: differentiable in src
void fill_(const Tensor& self, const Tensor& value);  // 0-d value
void zero_(const Tensor& self);
// clamp_/clip_: at least one bound; float_bound (a bound is a float number) makes an integer target's
// result Float, which is refused. `op` names the op in messages and grad_fn.
void clamp_(const Tensor& self, std::optional<double> lo, std::optional<double> hi, bool float_bound,
            const char* op = "clamp_");

// ---- elementwise ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor add_scalar(const Tensor& a, double s);
Tensor mul_scalar(const Tensor& a, double s);
Tensor pow_scalar(const Tensor& a, double s);
Tensor rsub_scalar(const Tensor& a, double s);  // s - a
Tensor rdiv_scalar(const Tensor& a, double s);  // s / a

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x, bool tanh_approx);
Tensor gelu_deriv(const Tensor& x, bool tanh_approx);                      // d gelu / dx
Tensor gelu_backward(const Tensor& x, const Tensor& g, bool tanh_approx);  // g * gelu'(x), fused
Tensor tanh_backward(const Tensor& y, const Tensor& g);                    // g (1 - y²), y = tanh(x)
Tensor sigmoid_backward(const Tensor& y, const Tensor& g);                 // g y (1 - y), y = sigmoid(x)
Tensor silu(const Tensor& x);
Tensor softplus(const Tensor& x, double beta, double threshold = 20.0);
Tensor erf(const Tensor& x);
Tensor clip(const Tensor& x, std::optional<double> lo, std::optional<double> hi);
// Integer bounds: an int64/bool tensor stays int64 (exact); a float tensor clips as clip().
Tensor clip_int(const Tensor& x, std::optional<int64_t> lo, std::optional<int64_t> hi);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// no gradient: results are constants
Tensor sign(const Tensor& x);
enum class CmpOp { Eq, Ne, Lt, Le, Gt, Ge };
Tensor compare(const Tensor& a, const Tensor& b, CmpOp op);
Tensor logical_not(const Tensor& x);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor isnan(const Tensor& x);
Tensor isfinite(const Tensor& x);

// ---- reductions (axes empty => all axes) ----
Tensor sum(const Tensor& x, const Axes& axes, bool keepdims);
Tensor mean(const Tensor& x, const Axes& axes, bool keepdims);
Tensor var(const Tensor& x, const Axes& axes, double correction, bool keepdims);
Tensor std_(const Tensor& x, const Axes& axes, double correction, bool keepdims);
Tensor amax(const Tensor& x, const Axes& axes, bool keepdims);
Tensor amin(const Tensor& x, const Axes& axes, bool keepdims);
Tensor prod(const Tensor& x, const Axes& axes, bool keepdims);
Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdims);
Tensor argmax(const Tensor& x, std::optional<int64_t> axis, bool keepdims);
Tensor argmin(const Tensor& x, std::optional<int64_t> axis, bool keepdims);
Tensor softmax(const Tensor& x, int64_t axis);
Tensor log_softmax(const Tensor& x, int64_t axis);
// Per-example cross-entropy of logits (M, K) against class indices (M,) int64 (rows whose
// target is ignore_index give 0) or probabilities (M, K): logsumexp(z) - z[y], resp.
// -sum_k q_k log_softmax(z)_k. One primitive; reductions and weights compose outside.
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index = -100);

// ---- linear algebra ----
Tensor matmul(const Tensor& a, const Tensor& b);
// Dense layer: x Wᵀ + b with W (out, in) when torch_layout, else x W + b with W (in, out).
// x may be (in,), (rows, in) or (..., in); bias may be undefined. An activation whose
// derivative is a function of its output (relu, tanh, sigmoid) can be fused into the
// GEMM epilogue: one primitive, one output buffer.
enum class Activation { None, Relu, Tanh, Sigmoid };
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& bias, bool torch_layout,
              Activation act = Activation::None);

// ---- shapes (views where possible) ----
Tensor reshape(const Tensor& x, Shape shape);  // one -1 allowed
Tensor permute(const Tensor& x, const Axes& perm);
Tensor transpose(const Tensor& x, int64_t a, int64_t b);
Tensor expand(const Tensor& x, const Shape& shape);  // broadcast_to
Tensor squeeze(const Tensor& x, const Axes& axes);   // empty => all size-1 axes
Tensor unsqueeze(const Tensor& x, int64_t axis);
Tensor flatten(const Tensor& x, int64_t start, int64_t end);
// Basic slicing: per axis (start, stop, step) already normalised (step may be > 0 only).
struct SliceSpec {
  int64_t start, stop, step;
};
Tensor slice(const Tensor& x, const std::vector<SliceSpec>& spec);
// Scatter `g` into zeros of `shape` at the positions slice(spec) selects (slice's adjoint).
Tensor slice_scatter(const Tensor& g, const Shape& shape, const std::vector<SliceSpec>& spec);
Tensor concat(const Tensors& xs, int64_t axis);
Tensor stack(const Tensors& xs, int64_t axis);
Tensors split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis);
// Constant padding: pads[i] = (before, after) for axis i (all axes).
Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pads, double value);
Tensor pad_int(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pads,
               int64_t value);  // exact int fill
// Gather along `axis` by an int64 index tensor: out.shape = x.shape[:axis] + idx.shape + x.shape[axis+1:]
Tensor index_select(const Tensor& x, int64_t axis, const Tensor& idx);
// The adjoint: zeros of `shape` with g's slices added at `idx` along `axis` (duplicates sum).
Tensor index_add(const Tensor& g, const Shape& shape, int64_t axis, const Tensor& idx);
Tensor nonzero_flat(const Tensor& mask);  // int64 flat indices of true entries (no grad)

// ---- indexing (index.cpp): Python's x[key] / x[key] = value, composed of the ops above ----
enum class IndexKind { Int, Slice, None, Ellipsis, Tensor };
// One entry of a key. Slice bounds are as PySlice_Unpack gives them (an omitted bound is
// INT64_MAX / INT64_MIN by the step's sign); they are clamped to the axis like Python's.
struct IndexItem {
  IndexKind kind = IndexKind::None;
  int64_t value = 0;                 // Int
  SliceSpec slice{0, INT64_MAX, 1};  // Slice
  Tensor index;                      // Tensor: int64 indices or a bool mask
  static IndexItem integer(int64_t v) { return {IndexKind::Int, v, {0, INT64_MAX, 1}, {}}; }
  static IndexItem range(int64_t start, int64_t stop, int64_t step) {
    return {IndexKind::Slice, 0, {start, stop, step}, {}};
  }
  static IndexItem newaxis() { return {IndexKind::None, 0, {0, INT64_MAX, 1}, {}}; }
  static IndexItem ellipsis() { return {IndexKind::Ellipsis, 0, {0, INT64_MAX, 1}, {}}; }
  static IndexItem tensor(Tensor t) { return {IndexKind::Tensor, 0, {0, INT64_MAX, 1}, std::move(t)}; }
};
using IndexKey = std::vector<IndexItem>;
// x[key], differentiable in x: ints and positive-step slices are views (slice/squeeze),
// None unsqueezes, int64/bool tensors gather (index_select on the merged advanced axes; the
// advanced axes stay in place when adjacent, else go first, as NumPy).
Tensor index(const Tensor& x, const IndexKey& key);
// x[key] = value (value broadcast to x[key]'s shape; repeated positions: the last write
// wins). Recorded through inplace_ ("__setitem__") when gradients or tangents are involved,
// differentiable in x and value; otherwise value is cast to x's dtype and written directly.
void index_put_(const Tensor& x, const IndexKey& key, const Tensor& value);

// C++ operators for writing rules readably.
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator*(const Tensor& a, double s) { return mul_scalar(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul_scalar(a, s); }
inline Tensor operator+(const Tensor& a, double s) { return add_scalar(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return add_scalar(a, -s); }
inline Tensor operator-(double s, const Tensor& a) { return rsub_scalar(a, s); }
inline Tensor operator+(double s, const Tensor& a) { return add_scalar(a, s); }

// Adds two possibly-undefined tensors (undefined = zero), for accumulating rules.
Tensor add_maybe(const Tensor& a, const Tensor& b);

}  // namespace fastgrad

namespace fastgrad {
// ---- convolution and pooling (nd = 1, 2, 3 from the weight/kernel rank) ----
// NCHW: x (N, C, *S), w (C_out, C_in/groups, *k); channels_last: x (N, *S, C), w (C_out, *k, C_in/groups).
// `bias` may be undefined. Padding is given per side (pad_lo, pad_hi), so TensorFlow's "same" fits.
Tensor conv(const Tensor& x, const Tensor& w, const Tensor& bias, const std::vector<int64_t>& stride,
            const std::vector<int64_t>& pad_lo, const std::vector<int64_t>& pad_hi,
            const std::vector<int64_t>& dilation, int64_t groups, bool channels_last,
            Activation act = Activation::None);
// Pooling follows PyTorch: dilation (max only; empty = 1s), ceil_mode, divisor_override.
Tensor max_pool(const Tensor& x, const std::vector<int64_t>& kernel, const std::vector<int64_t>& stride,
                const std::vector<int64_t>& pad, bool channels_last, const std::vector<int64_t>& dilation = {},
                bool ceil_mode = false);
Tensor avg_pool(const Tensor& x, const std::vector<int64_t>& kernel, const std::vector<int64_t>& stride,
                const std::vector<int64_t>& pad, bool count_include_pad, bool channels_last,
                bool ceil_mode = false, std::optional<int64_t> divisor_override = std::nullopt);
Tensor adaptive_avg_pool(const Tensor& x, const std::vector<int64_t>& out_size, bool channels_last);
}  // namespace fastgrad

namespace fastgrad {
// ---- spatial ops (issue 12): pooling indices, transposed convolution ----
// {pooled values, flat index into x of each winner (int64, no derivative)}.
Tensors max_pool_with_indices(const Tensor& x, const std::vector<int64_t>& kernel,
                              const std::vector<int64_t>& stride, const std::vector<int64_t>& pad,
                              bool channels_last, const std::vector<int64_t>& dilation, bool ceil_mode);
// The flat indices of max_pool_with_indices turned into PyTorch's return_indices: the
// offset within each (n, c) plane of x (shape x_shape).
Tensor max_pool_plane_indices(const Tensor& flat, const Shape& x_shape, bool channels_last);
// x (N, C_in, *S), w (C_in, C_out/groups, *k) (PyTorch's layout; channels_last:
// x (N, *S, C_in), w (C_in, *k, C_out/groups)) -> (N, C_out, *S_out) with
// S_out = (S-1)*stride - 2*pad + dil*(k-1) + output_padding + 1. `bias` may be undefined.
Tensor conv_transpose(const Tensor& x, const Tensor& w, const Tensor& bias, const std::vector<int64_t>& stride,
                      const std::vector<int64_t>& pad, const std::vector<int64_t>& output_padding,
                      const std::vector<int64_t>& dilation, int64_t groups, bool channels_last);
}  // namespace fastgrad
