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
// Random draws come from gen, or from default_generator() when gen is null (random.h).
class Generator;
Tensor rand(const Shape& shape, DType dtype, Generator* gen = nullptr);
Tensor randn(const Shape& shape, DType dtype, Generator* gen = nullptr);
Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator* gen = nullptr);
Tensor randperm(int64_t n, Generator* gen = nullptr);
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
                const std::vector<int64_t>& pad, bool channels_last,
                const std::vector<int64_t>& dilation = {}, bool ceil_mode = false);
Tensor avg_pool(const Tensor& x, const std::vector<int64_t>& kernel, const std::vector<int64_t>& stride,
                const std::vector<int64_t>& pad, bool count_include_pad, bool channels_last,
                bool ceil_mode = false, std::optional<int64_t> divisor_override = std::nullopt);
Tensor adaptive_avg_pool(const Tensor& x, const std::vector<int64_t>& out_size, bool channels_last);
}  // namespace fastgrad

namespace fastgrad {
// ---- linear algebra: products (composites of matmul/mul/sum) and fg.linalg (Eigen-backed primitives) ----
Tensor einsum(const std::string& equation, const Tensors& operands);
Tensor tensordot(const Tensor& a, const Tensor& b, int64_t dims);
Tensor tensordot(const Tensor& a, const Tensor& b, const Axes& dims_a, const Axes& dims_b);
Tensor outer(const Tensor& a, const Tensor& b);
Tensor inner(const Tensor& a, const Tensor& b);
Tensor dot(const Tensor& a, const Tensor& b, const char* op = "dot");
Tensor mm(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);
Tensor mv(const Tensor& a, const Tensor& v);
Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha);
Tensor baddbmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha);
Tensor addmv(const Tensor& input, const Tensor& a, const Tensor& v, double beta, double alpha);
Tensor addr(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha);
Tensor kron(const Tensor& a, const Tensor& b);
Tensor cross(const Tensor& a, const Tensor& b, std::optional<int64_t> dim, const char* op = "cross");
Tensor matrix_power(const Tensor& a, int64_t n);
// Square-matrix batches (..., n, n); singular / non-positive-definite inputs raise ValueError naming the op.
Tensor linalg_inv(const Tensor& a);
Tensor linalg_solve(const Tensor& a, const Tensor& b, bool left = true);
Tensor linalg_cholesky(const Tensor& a, bool upper = false);
Tensor linalg_solve_triangular(const Tensor& a, const Tensor& b, bool upper, bool left, bool unitriangular);
Tensors linalg_slogdet(const Tensor& a);  // {sign, logabsdet}
Tensor linalg_det(const Tensor& a);
Tensors linalg_eigh(const Tensor& a, bool upper);  // {eigenvalues ascending, eigenvectors}
Tensors linalg_qr(const Tensor& a, bool complete);
Tensors linalg_svd(const Tensor& a, bool full_matrices);  // {U, S, Vh}
}  // namespace fastgrad
namespace fastgrad {
// dims empty = all. ord: any real (±inf: max/min |x|, 0: count of nonzeros).
Tensor linalg_vector_norm(const Tensor& x, double ord, const Axes& dims, bool keepdim);
// ord: "fro" / "nuc" (then p ignored) or "" with p in {±1, ±2, ±inf}.
Tensor linalg_matrix_norm(const Tensor& x, const std::string& ord, double p, int64_t d0, int64_t d1,
                          bool keepdim);
// ---- selection, sorting and scans (ops/select.cpp, sort.cpp, scan.cpp, select_shape.cpp):
// PyTorch's semantics and argument order; dims may be negative ----
// out[p] = x[p with coordinate dim replaced by index[p]]; index int64 of x's rank, out of
// index's shape. Differentiable in x (VJP: scatter_add_into).
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// zeros(shape) with src[p] added at index[p] along dim (src and index of one shape): gather's adjoint.
Tensor scatter_add_into(const Tensor& src, const Shape& shape, int64_t dim, const Tensor& index);
// x with src written at index along dim (src's index-shaped corner is read; reduce "" / "add" /
// "multiply"); the last of repeated writes wins.
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
               const std::string& reduce);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// reduce: "sum", "prod", "mean", "amax", "amin" (prod: no gradient).
Tensor scatter_reduce(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                      const std::string& reduce, bool include_self);
Tensor take_along_dim(const Tensor& x, const Tensor& indices, std::optional<int64_t> dim);
Tensor take(const Tensor& x, const Tensor& index);
// index_select with PyTorch's 0-d rule (a 0-d input takes one index and stays 0-d).
Tensor index_select_dim(const Tensor& x, int64_t dim, const Tensor& index);
Tensor masked_select(const Tensor& x, const Tensor& mask);
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);  // value 0-d
void masked_fill_(const Tensor& x, const Tensor& mask, const Tensor& value);
Tensor masked_scatter(const Tensor& x, const Tensor& mask, const Tensor& source);
Tensor nonzero(const Tensor& x);                          // (n, x.ndim) int64 coordinates, row-major order
Tensor count_nonzero(const Tensor& x, const Axes& dims);  // empty dims: all
Tensor bincount(const Tensor& x, const Tensor& weights, int64_t minlength);  // weights may be undefined

Tensor cumsum(const Tensor& x, int64_t dim);  // bool -> int64
Tensor cumprod(const Tensor& x, int64_t dim);
Tensor logcumsumexp(const Tensor& x, int64_t dim);
std::pair<Tensor, Tensor> cummax(const Tensor& x, int64_t dim);  // (values, indices)
std::pair<Tensor, Tensor> cummin(const Tensor& x, int64_t dim);

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending, bool stable);
Tensor argsort(const Tensor& x, int64_t dim, bool descending, bool stable);
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted);
std::pair<Tensor, Tensor> kthvalue(const Tensor& x, int64_t k, int64_t dim, bool keepdim);
struct UniqueResult {
  Tensor values, inverse, counts;  // inverse has x's shape
};
// torch.unique / unique_consecutive. dim = nullopt: the values of the flattened x (inverse
// has x's shape); else the distinct slices along dim in lexicographic order, values of x's
// shape with dim of size u, inverse (x.shape[dim],). counts (u,). The outputs are not
// differentiable (x is read detached).
UniqueResult unique(const Tensor& x, bool sorted, std::optional<int64_t> dim = std::nullopt);
UniqueResult unique_consecutive(const Tensor& x, std::optional<int64_t> dim = std::nullopt);
// Insertion points of values into the sorted last axis of seq (sorter: its sorting permutation, may be
// undefined).
Tensor searchsorted(const Tensor& seq, const Tensor& values, bool right, const Tensor& sorter);
Tensor multinomial(const Tensor& p, int64_t num_samples, bool replacement, Generator* gen = nullptr);

Tensor tril(const Tensor& x, int64_t diagonal);
Tensor triu(const Tensor& x, int64_t diagonal);
Tensor tril_indices(int64_t row, int64_t col, int64_t offset);
Tensor triu_indices(int64_t row, int64_t col, int64_t offset);
Tensor flip(const Tensor& x, const Axes& dims);
Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const Axes& dims);
Tensor rot90(const Tensor& x, int64_t k, const Axes& dims);
Tensor repeat(const Tensor& x, const std::vector<int64_t>& reps);
Tensor tile(const Tensor& x, const std::vector<int64_t>& reps);
Tensor repeat_interleave(const Tensor& x, const Tensor& repeats, std::optional<int64_t> dim);
Tensor diagonal(const Tensor& x, int64_t offset, int64_t dim1, int64_t dim2);
Tensor diag(const Tensor& x, int64_t diagonal);
Tensor diag_embed(const Tensor& x, int64_t offset, int64_t dim1, int64_t dim2);
Tensor diagflat(const Tensor& x, int64_t offset);
Tensor trace(const Tensor& x);
// ---- unary math and activations (issue 12; ops/elementwise_unary.cpp, elementwise_binary.cpp) ----
// Integer inputs promote to float32 (PyTorch); rounding ops keep integer tensors as they are.
Tensor expm1(const Tensor& x);
Tensor log2(const Tensor& x);
Tensor log10(const Tensor& x);
Tensor exp2(const Tensor& x);
Tensor tan(const Tensor& x);
Tensor sinh(const Tensor& x);
Tensor cosh(const Tensor& x);
Tensor asinh(const Tensor& x);
Tensor acosh(const Tensor& x);
Tensor atanh(const Tensor& x);
Tensor asin(const Tensor& x);
Tensor acos(const Tensor& x);
Tensor atan(const Tensor& x);
Tensor erfc(const Tensor& x);
Tensor erfinv(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor sinc(const Tensor& x);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor floor(const Tensor& x);  // floor..trunc: derivative 0
Tensor ceil(const Tensor& x);
Tensor trunc(const Tensor& x);
Tensor round(const Tensor& x, int64_t decimals = 0);  // half to even, as PyTorch
Tensor frac(const Tensor& x);                         // x - trunc(x)
Tensor deg2rad(const Tensor& x);
Tensor rad2deg(const Tensor& x);
Tensor logit(const Tensor& x, std::optional<double> eps);
Tensor nan_to_num(const Tensor& x, double nan, std::optional<double> posinf, std::optional<double> neginf);
// activations
Tensor hardtanh(const Tensor& x, double min_val, double max_val);  // gradient 1 strictly inside
Tensor relu6(const Tensor& x);
// scale * (x > 0 ? x : alpha * expm1(input_scale * x)): elu, selu, celu
Tensor elu(const Tensor& x, double alpha, double scale = 1.0, double input_scale = 1.0);
Tensor selu(const Tensor& x);
Tensor celu(const Tensor& x, double alpha);
Tensor logsigmoid(const Tensor& x);
Tensor mish(const Tensor& x);
Tensor hardswish(const Tensor& x);
Tensor hardsigmoid(const Tensor& x);
Tensor softsign(const Tensor& x);
Tensor threshold(const Tensor& x, double threshold, double value);
Tensor tanhshrink(const Tensor& x);
Tensor softshrink(const Tensor& x, double lambd);
Tensor hardshrink(const Tensor& x, double lambd);
// binary (broadcasting, promoting)
Tensor atan2(const Tensor& a, const Tensor& b);
Tensor hypot(const Tensor& a, const Tensor& b);
Tensor copysign(const Tensor& a, const Tensor& b);
Tensor fmod(const Tensor& a, const Tensor& b);       // sign of a (C fmod)
Tensor remainder(const Tensor& a, const Tensor& b);  // sign of b (Python %)
Tensor logaddexp(const Tensor& a, const Tensor& b);
Tensor logaddexp2(const Tensor& a, const Tensor& b);
Tensor xlogy(const Tensor& a, const Tensor& b);
Tensor float_power(const Tensor& a, const Tensor& b);  // in float64
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight);
// div with rounding_mode "trunc" / "floor" (no gradient: piecewise constant); "" = true division
Tensor div_rounding(const Tensor& a, const Tensor& b, const std::string& mode);
// clamp with optional tensor bounds (broadcasting; gradients to the bounds as PyTorch)
Tensor clamp_tensor(const Tensor& x, const Tensor& lo, const Tensor& hi);

// ---- unary math (issue 12), continued ----
Tensor addcmul(const Tensor& x, const Tensor& t1, const Tensor& t2, double value);  // x + value t1 t2
Tensor addcdiv(const Tensor& x, const Tensor& t1, const Tensor& t2, double value);  // x + value t1 / t2
Tensors nonzero_tuple(const Tensor& cond);  // where(cond): one int64 index tensor per axis (no grad)
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
Tensor conv_transpose(const Tensor& x, const Tensor& w, const Tensor& bias,
                      const std::vector<int64_t>& stride, const std::vector<int64_t>& pad,
                      const std::vector<int64_t>& output_padding, const std::vector<int64_t>& dilation,
                      int64_t groups, bool channels_last);

// ---- derived predicates, stacking, splitting and gathering (issue 12; ops/shape_composite.cpp) ----
// Composites of the primitives above (their gradients are those ops'); bool results have none.
Tensor isinf(const Tensor& x);
Tensor isposinf(const Tensor& x);
Tensor isneginf(const Tensor& x);
Tensor signbit(const Tensor& x);  // true for -0.0 and negative NaN too
Tensor logical_xor(const Tensor& a, const Tensor& b);
Tensor fmax(const Tensor& a, const Tensor& b);  // NaN only where both are NaN
Tensor fmin(const Tensor& a, const Tensor& b);
Tensor heaviside(const Tensor& x, const Tensor& values);
Tensor isclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan);
bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan);
Tensor all_true(const Tensor& x, const Axes& axes, bool keepdims);  // empty axes: all
Tensor any_true(const Tensor& x, const Axes& axes, bool keepdims);
Tensor atleast_nd(const Tensor& x, int64_t n);  // n in 1..3, NumPy's atleast_{1,2,3}d
Tensor ravel(const Tensor& x);
Tensor hstack(const Tensors& xs);
Tensor vstack(const Tensors& xs);
Tensor dstack(const Tensors& xs);
Tensor column_stack(const Tensors& xs);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensors unbind(const Tensor& x, int64_t dim);
Tensors split_with_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim);
// kind 0: hsplit, 1: vsplit, 2: dsplit; equal `sections` or cut `indices`.
Tensors directional_split(const Tensor& x, int kind, std::optional<int64_t> sections,
                          const std::vector<int64_t>& indices);
Shape broadcast_all(const std::vector<Shape>& shapes);
Tensors broadcast_tensors(const Tensors& xs);
Tensors meshgrid(const Tensors& xs, bool xy);
Tensor cartesian_prod(const Tensors& xs);
Tensor block_diag(const Tensors& xs);
// prepend / append may be undefined.
Tensor diff(const Tensor& x, int64_t n, int64_t dim, const Tensor& prepend, const Tensor& append);
Tensor index_fill(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& value);  // value 0-d
Tensor index_copy(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);
Tensor unfold(const Tensor& x, int64_t dim, int64_t size, int64_t step);  // (..., k, ..., size)
// x with x.select(dim, index) replaced by src (x.shape without dim).
Tensor select_scatter(const Tensor& x, const Tensor& src, int64_t dim, int64_t index);
}  // namespace fastgrad
namespace fastgrad {
// ---- reductions and integrals defined through others (ops/reduce_composite.cpp) ----
Tensor nansum(const Tensor& x, const Axes& axes, bool keepdim);   // NaNs count as 0
Tensor nanmean(const Tensor& x, const Axes& axes, bool keepdim);  // mean of the non-NaN entries
Tensors var_mean(const Tensor& x, const Axes& axes, double correction, bool keepdim);  // {var, mean}
Tensors std_mean(const Tensor& x, const Axes& axes, double correction, bool keepdim);  // {std, mean}
Tensors aminmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim);            // {min, max}
Tensor dist(const Tensor& a, const Tensor& b, double p);  // p-norm of a - b (broadcast), 0-d
// Trapezoidal rule along dim over the grid x (1-d of y's size along dim, or broadcasting
// against y) or, when x is undefined, the constant spacing dx.
Tensor trapezoid(const Tensor& y, const Tensor& x, double dx, int64_t dim);
Tensor cumulative_trapezoid(const Tensor& y, const Tensor& x, double dx, int64_t dim);
Tensor linalg_vecdot(const Tensor& a, const Tensor& b, int64_t dim);  // sum(a * b, dim), broadcast
// ---- torch's spellings over the decompositions (ops/linalg_composite.cpp) ----
Tensors svd_torch(const Tensor& a, bool some, bool compute_uv);  // {U, S, V} (V, not Vh)
Tensors qr_torch(const Tensor& a, bool some);                    // {Q, R}
Tensor logdet(const Tensor& a);                                  // NaN for a negative determinant
// Cutoff max(atol, rtol * sigma_max), atol/rtol (*) or undefined; defaults as torch (rtol =
// eps * max(m, n)).
Tensor linalg_pinv(const Tensor& a, const Tensor& atol, const Tensor& rtol, bool hermitian);
Tensor linalg_matrix_rank(const Tensor& a, const Tensor& atol, const Tensor& rtol,
                          bool hermitian);  // int64, no gradient
// ord "" with p in {2, -2} (singular values) or any matrix_norm order (square A: |A| |A^-1|).
Tensor linalg_cond(const Tensor& a, const std::string& ord, double p);
// p-norm distances of the rows: x1 (*, P, M), x2 (*, R, M) (batches broadcast) -> (*, P, R).
Tensor cdist(const Tensor& x1, const Tensor& x2, double p);
}  // namespace fastgrad
