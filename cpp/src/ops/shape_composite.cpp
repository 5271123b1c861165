// PyTorch's derived predicates, stacking, splitting and gathering ops (issue 12), composed
// of existing primitives (compare, where, slice, concat, pad, reshape, permute, expand,
// index_select, index_add), so their gradients, tangents and second orders are those
// primitives' own. Bool results carry no gradient. Positions come from factories.
#include <algorithm>
#include <string>
#include <vector>

#include "common.h"

namespace fastgrad {
using namespace detail;

namespace {
Tensor zero_of(const Tensor& x) { return zeros({}, x.dtype()); }

Tensor nonzero_mask(const Tensor& x) { return compare(x, zero_of(x), CmpOp::Ne); }

std::vector<SliceSpec> full_spec(const Tensor& x) {
  std::vector<SliceSpec> spec;
  for (int64_t d = 0; d < x.ndim(); ++d) spec.push_back({0, x.shape()[d], 1});
  return spec;
}

Tensor range_along(const Tensor& x, int64_t axis, int64_t start, int64_t stop) {
  auto spec = full_spec(x);
  spec[axis] = {start, stop, 1};
  return slice(x, spec);
}

void require_tensors(const Tensors& xs, const char* op) {
  if (xs.empty()) throw ValueError(std::string(op) + ": expects a non-empty sequence of tensors");
}
}  // namespace

Tensor isinf(const Tensor& x) {
  if (!is_floating(x.dtype())) return full(x.shape(), 0.0, DType::Bool);
  return logical_and(logical_not(isfinite(x)), logical_not(isnan(x)));
}
Tensor isposinf(const Tensor& x) { return logical_and(isinf(x), compare(x, zero_of(x), CmpOp::Gt)); }
Tensor isneginf(const Tensor& x) { return logical_and(isinf(x), compare(x, zero_of(x), CmpOp::Lt)); }

Tensor signbit(const Tensor& x) {
  if (x.dtype() == DType::Bool) return full(x.shape(), 0.0, DType::Bool);
  if (!is_floating(x.dtype())) return compare(x, zero_of(x), CmpOp::Lt);
  // copysign reads the sign bit itself, so -0.0 and -nan count as negative (as PyTorch).
  return compare(copysign(ones({}, x.dtype()), detach(x)), zero_of(x), CmpOp::Lt);
}

Tensor logical_xor(const Tensor& a, const Tensor& b) {
  return compare(nonzero_mask(a), nonzero_mask(b), CmpOp::Ne);
}

// PyTorch's fmax/fmin: NaN only where both are NaN; ties send the whole gradient to a.
Tensor fmax(const Tensor& a, const Tensor& b) {
  return where(logical_or(compare(a, b, CmpOp::Ge), isnan(b)), a, b);
}
Tensor fmin(const Tensor& a, const Tensor& b) {
  return where(logical_or(compare(a, b, CmpOp::Le), isnan(b)), a, b);
}

Tensor heaviside(const Tensor& x, const Tensor& values) {
  if (x.dtype() != values.dtype())
    throw TypeError(std::string("heaviside: input and values must have the same dtype, got ") +
                    dtype_name(x.dtype()) + " and " + dtype_name(values.dtype()));
  Tensor step = where(compare(x, zero_of(x), CmpOp::Gt), ones({}, x.dtype()), zero_of(x));
  return detach(where(compare(x, zero_of(x), CmpOp::Eq), values, step));
}

Tensor isclose(const Tensor& a0, const Tensor& b0, double rtol, double atol, bool equal_nan) {
  if (a0.dtype() != b0.dtype())
    throw TypeError(std::string("isclose: a and b must have the same dtype, got ") + dtype_name(a0.dtype()) +
                    " and " + dtype_name(b0.dtype()));
  if (rtol < 0 || atol < 0)
    throw ValueError("isclose: rtol and atol must be non-negative, got rtol=" + std::to_string(rtol) +
                     ", atol=" + std::to_string(atol));
  const Tensor a = detach(a0), b = detach(b0);
  Tensor close = compare(a, b, CmpOp::Eq);
  if (equal_nan && is_floating(a.dtype())) close = logical_or(close, logical_and(isnan(a), isnan(b)));
  if (rtol == 0 && atol == 0) return close;
  const DType f = is_floating(a.dtype()) ? a.dtype() : DType::Float32;
  const Tensor af = cast(a, f), bf = cast(b, f);
  const Tensor allowed = add_scalar(abs(mul_scalar(bf, rtol)), atol);
  const Tensor actual = abs(sub(af, bf));
  return logical_or(close, logical_and(isfinite(actual), compare(actual, allowed, CmpOp::Le)));
}

Tensor all_true(const Tensor& x, const Axes& axes, bool keepdims) {
  const Tensor misses = sum(cast(compare(detach(x), zero_of(x), CmpOp::Eq), DType::Int64), axes, keepdims);
  return compare(misses, scalar_int(0, DType::Int64), CmpOp::Eq);
}
Tensor any_true(const Tensor& x, const Axes& axes, bool keepdims) {
  const Tensor hits = sum(cast(nonzero_mask(detach(x)), DType::Int64), axes, keepdims);
  return compare(hits, scalar_int(0, DType::Int64), CmpOp::Gt);
}
bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  Tensor c = contiguous(cast(all_true(isclose(a, b, rtol, atol, equal_nan), {}, false), DType::Int64));
  return c.data<int64_t>()[0] != 0;
}

Tensor atleast_nd(const Tensor& x, int64_t n) {
  const Shape& s = x.shape();
  if (x.ndim() >= n) return x;
  if (x.ndim() == 0) return reshape(x, Shape(static_cast<size_t>(n), 1));
  if (n == 2 || x.ndim() == 2) {  // (k,) -> (1, k) [-> (1, k, 1)]; (m, k) -> (m, k, 1)
    Shape out = x.ndim() == 1 ? Shape{1, s[0]} : s;
    if (n == 3) out.push_back(1);
    return reshape(x, out);
  }
  return reshape(x, {1, s[0], 1});
}

Tensor ravel(const Tensor& x) { return reshape(x, {-1}); }

namespace {
Tensors each_atleast(const Tensors& xs, int64_t n) {
  Tensors out;
  for (const Tensor& x : xs) out.push_back(atleast_nd(x, n));
  return out;
}
}  // namespace

Tensor hstack(const Tensors& xs) {
  require_tensors(xs, "hstack");
  Tensors ys = each_atleast(xs, 1);
  return concat(ys, ys[0].ndim() == 1 ? 0 : 1);
}
Tensor vstack(const Tensors& xs) {
  require_tensors(xs, "vstack");
  return concat(each_atleast(xs, 2), 0);
}
Tensor dstack(const Tensors& xs) {
  require_tensors(xs, "dstack");
  return concat(each_atleast(xs, 3), 2);
}
Tensor column_stack(const Tensors& xs) {
  require_tensors(xs, "column_stack");
  Tensors ys;
  for (const Tensor& x : xs) ys.push_back(x.ndim() <= 1 ? reshape(x, {x.numel(), 1}) : x);
  return concat(ys, 1);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  if (x.ndim() == 0) throw IndexError("select: cannot select from a 0-d tensor");
  const int64_t d = normalize_axis(dim, x.ndim(), "select"), n = x.shape()[d];
  if (index < -n || index >= n)
    throw IndexError("select: index " + std::to_string(index) + " is out of range for dimension " +
                     std::to_string(d) + " of size " + std::to_string(n) + " (shape " + shape_str(x.shape()) +
                     ")");
  const int64_t i = index < 0 ? index + n : index;
  return squeeze(range_along(x, d, i, i + 1), {d});
}

Tensors unbind(const Tensor& x, int64_t dim) {
  if (x.ndim() == 0) throw IndexError("unbind: cannot unbind a 0-d tensor");
  const int64_t d = normalize_axis(dim, x.ndim(), "unbind");
  Tensors out;
  for (int64_t i = 0; i < x.shape()[d]; ++i) out.push_back(squeeze(range_along(x, d, i, i + 1), {d}));
  return out;
}

Tensors split_with_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  if (x.ndim() == 0) throw ValueError("split_with_sizes: cannot split a 0-d tensor");
  const int64_t d = normalize_axis(dim, x.ndim(), "split_with_sizes");
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0)
      throw ValueError("split_with_sizes: split sizes must be non-negative, got " + std::to_string(s));
    total += s;
  }
  if (total != x.shape()[d])
    throw ValueError("split_with_sizes: split sizes sum to " + std::to_string(total) + " but dimension " +
                     std::to_string(d) + " of shape " + shape_str(x.shape()) + " has size " +
                     std::to_string(x.shape()[d]));
  Tensors out;
  int64_t at = 0;
  for (int64_t s : sizes) {
    out.push_back(range_along(x, d, at, at + s));
    at += s;
  }
  return out;
}

// hsplit (kind 0), vsplit (1), dsplit (2): NumPy's rules, the tensor_split of one axis.
Tensors directional_split(const Tensor& x, int kind, std::optional<int64_t> sections,
                          const std::vector<int64_t>& indices) {
  static const char* const names[] = {"hsplit", "vsplit", "dsplit"};
  const char* op = names[kind];
  const int64_t need = kind == 0 ? 1 : kind + 1;
  if (x.ndim() < need)
    throw ValueError(std::string(op) + ": requires a tensor with at least " + std::to_string(need) +
                     " dimension(s), got shape " + shape_str(x.shape()));
  const int64_t d = kind == 0 ? (x.ndim() == 1 ? 0 : 1) : (kind == 1 ? 0 : 2), n = x.shape()[d];
  std::vector<int64_t> cuts;
  if (sections) {
    if (*sections <= 0 || n % *sections != 0)
      throw ValueError(std::string(op) + ": dimension " + std::to_string(d) + " of shape " +
                       shape_str(x.shape()) + " is not divisible into " + std::to_string(*sections) +
                       " equal sections");
    for (int64_t i = 1; i < *sections; ++i) cuts.push_back(i * (n / *sections));
  } else {
    cuts = indices;
  }
  Tensors out;
  int64_t prev = 0;
  cuts.push_back(n);
  for (int64_t c : cuts) {
    const int64_t stop = std::clamp(c < 0 ? c + n : c, int64_t{0}, n), start = std::min(prev, n);
    out.push_back(range_along(x, d, start, std::max(start, stop)));
    prev = std::max(start, stop);
  }
  return out;
}

Shape broadcast_all(const std::vector<Shape>& shapes) {
  Shape out;
  for (const Shape& s : shapes) out = broadcast_shapes(out, s, "broadcast_shapes");
  return out;
}

Tensors broadcast_tensors(const Tensors& xs) {
  std::vector<Shape> shapes;
  for (const Tensor& x : xs) shapes.push_back(x.shape());
  Shape s;
  for (const Shape& sh : shapes) s = broadcast_shapes(s, sh, "broadcast_tensors");
  Tensors out;
  for (const Tensor& x : xs) out.push_back(expand(x, s));
  return out;
}

Tensors meshgrid(const Tensors& xs0, bool xy) {
  require_tensors(xs0, "meshgrid");
  Tensors xs = xs0;
  for (const Tensor& x : xs)
    if (x.ndim() > 1)
      throw ValueError("meshgrid: expects 0-d or 1-d tensors, got shape " + shape_str(x.shape()));
  const bool swap = xy && xs.size() >= 2;
  if (swap) std::swap(xs[0], xs[1]);
  Shape full;
  for (const Tensor& x : xs) full.push_back(x.numel());
  Tensors out;
  for (size_t i = 0; i < xs.size(); ++i) {
    Shape s(xs.size(), 1);
    s[i] = xs[i].numel();
    out.push_back(expand(reshape(xs[i], s), full));
  }
  if (swap) std::swap(out[0], out[1]);  // 'xy': the first two inputs index (columns, rows)
  return out;
}

Tensor cartesian_prod(const Tensors& xs) {
  require_tensors(xs, "cartesian_prod");
  for (const Tensor& x : xs)
    if (x.ndim() != 1)
      throw ValueError("cartesian_prod: expects 1-d tensors, got shape " + shape_str(x.shape()));
  if (xs.size() == 1) return xs[0];
  Tensors cols;
  for (const Tensor& g : meshgrid(xs, false)) cols.push_back(reshape(g, {-1}));
  return stack(cols, 1);
}

Tensor block_diag(const Tensors& xs) {
  Tensors mats;
  int64_t cols = 0;
  for (const Tensor& x : xs) {
    if (x.ndim() > 2)
      throw ValueError("block_diag: expects tensors of at most 2 dimensions, got shape " +
                       shape_str(x.shape()));
    mats.push_back(x.ndim() == 2 ? x : reshape(x, {1, x.numel()}));
    cols += mats.back().shape()[1];
  }
  if (mats.empty()) return zeros({1, 0}, DType::Float32);
  Tensors rows;
  int64_t at = 0;
  for (const Tensor& m : mats) {
    const int64_t c = m.shape()[1];
    rows.push_back(pad(m, {{0, 0}, {at, cols - at - c}}, 0.0));
    at += c;
  }
  return concat(rows, 0);
}

Tensor diff(const Tensor& x0, int64_t n, int64_t dim, const Tensor& prepend, const Tensor& append) {
  if (x0.ndim() == 0) throw ValueError("diff: expects a tensor with at least 1 dimension, got a 0-d tensor");
  if (n < 0) throw ValueError("diff: order n must be non-negative, got " + std::to_string(n));
  const int64_t d = normalize_axis(dim, x0.ndim(), "diff");
  if (n == 0) return x0;  // PyTorch returns the input itself, without prepend/append
  Tensors parts;
  if (prepend.defined()) parts.push_back(prepend);
  parts.push_back(x0);
  if (append.defined()) parts.push_back(append);
  Tensor x = parts.size() == 1 ? x0 : concat(parts, d);
  for (int64_t k = 0; k < n && x.shape()[d] > 0; ++k) {
    const int64_t m = x.shape()[d];
    const Tensor hi = range_along(x, d, 1, m), lo = range_along(x, d, 0, m - 1);
    x = x.dtype() == DType::Bool ? compare(hi, lo, CmpOp::Ne) : sub(hi, lo);
  }
  return x;
}

namespace {
// Bool mask along axis d of x (broadcastable to x): true at the positions index names.
Tensor index_mask(const Tensor& x, int64_t d, const Tensor& index, const char* op) {
  if (index.dtype() != DType::Int64)
    throw TypeError(std::string(op) + ": index must be int64, got " + dtype_name(index.dtype()));
  if (index.ndim() > 1)
    throw ValueError(std::string(op) + ": index must be 0-d or 1-d, got shape " + shape_str(index.shape()));
  const int64_t n = x.ndim() == 0 ? 1 : x.shape()[d];
  const Tensor idx = reshape(index, {-1});
  const Tensor hits = index_add(ones({idx.numel()}, DType::Float64), {n}, 0, idx);
  Shape s(static_cast<size_t>(std::max<int64_t>(x.ndim(), 1)), 1);
  s[d] = n;
  Tensor m = reshape(compare(hits, zeros({}, DType::Float64), CmpOp::Gt), s);
  return x.ndim() == 0 ? reshape(m, {}) : m;
}
}  // namespace

Tensor index_fill(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& value) {
  if (value.ndim() != 0)
    throw ValueError("index_fill: value must be a number or a 0-d tensor, got shape " +
                     shape_str(value.shape()));
  const int64_t d = normalize_axis(dim, std::max<int64_t>(x.ndim(), 1), "index_fill");
  return where(index_mask(x, d, index, "index_fill"), cast(value, x.dtype()), x);
}

Tensor index_copy(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  const char* op = "index_copy";
  const int64_t d = normalize_axis(dim, std::max<int64_t>(x.ndim(), 1), op);
  const Tensor x1 = x.ndim() == 0 ? reshape(x, {1}) : x;
  const Tensor s1 = source.ndim() == 0 ? reshape(source, {1}) : source;
  const Tensor idx = reshape(index, {-1});
  Shape want = x1.shape();
  want[d] = idx.numel();
  if (s1.shape() != want)
    throw ValueError("index_copy: source of shape " + shape_str(source.shape()) +
                     " does not match x of shape " + shape_str(x.shape()) + " with " +
                     std::to_string(idx.numel()) + " indices along dim " + std::to_string(d));
  if (index.dtype() != DType::Int64)
    throw TypeError(std::string(op) + ": index must be int64, got " + dtype_name(index.dtype()));
  // scatter writes in order, so a repeated index keeps its last source slice (as PyTorch's CPU loop).
  Shape along(want.size(), 1);
  along[d] = idx.numel();
  const Tensor out = scatter(x1, d, contiguous(expand(reshape(idx, along), want)), cast(s1, x.dtype()), "");
  return x.ndim() == 0 ? reshape(out, {}) : out;
}

Tensor unfold(const Tensor& x, int64_t dim, int64_t size, int64_t step) {
  const char* op = "unfold";
  const Tensor x1 = x.ndim() == 0 ? reshape(x, {1}) : x;
  const int64_t d = normalize_axis(dim, x1.ndim(), op), n = x1.shape()[d];
  if (size < 0 || size > n)
    throw ValueError("unfold: size " + std::to_string(size) + " exceeds dimension " + std::to_string(d) +
                     " of shape " + shape_str(x.shape()));
  if (step <= 0) throw ValueError("unfold: step must be positive, got " + std::to_string(step));
  const int64_t k = (n - size) / step + 1;
  // positions start_w + j for window w and offset j, gathered along d then split in two axes
  const Tensor pos = add(reshape(arange_int(0, k * step, step, DType::Int64), {k, 1}),
                         reshape(arange_int(0, size, 1, DType::Int64), {1, size}));
  Tensor y = index_select(x1, d, reshape(pos, {k * size}));
  Shape s = x1.shape();
  s[d] = size;
  s.insert(s.begin() + d, k);
  y = reshape(y, s);
  Axes perm;
  for (int64_t a = 0; a <= x1.ndim(); ++a)
    if (a != d + 1) perm.push_back(a);
  perm.push_back(d + 1);
  y = permute(y, perm);
  return x.ndim() == 0 ? reshape(y, {size}) : y;
}

Tensor select_scatter(const Tensor& x, const Tensor& src, int64_t dim, int64_t index) {
  if (x.ndim() == 0) throw IndexError("select_scatter: cannot select from a 0-d tensor");
  const int64_t d = normalize_axis(dim, x.ndim(), "select_scatter"), n = x.shape()[d];
  if (index < -n || index >= n)
    throw IndexError("select_scatter: index " + std::to_string(index) + " is out of range for dimension " +
                     std::to_string(d) + " of shape " + shape_str(x.shape()));
  Shape want = x.shape();
  want.erase(want.begin() + d);
  if (src.shape() != want)
    throw ValueError("select_scatter: src of shape " + shape_str(src.shape()) + " must have shape " +
                     shape_str(want) + " (x of shape " + shape_str(x.shape()) + " without dim " +
                     std::to_string(d) + ")");
  const int64_t i = index < 0 ? index + n : index;
  auto spec = full_spec(x);
  spec[d] = {i, i + 1, 1};
  Shape along(static_cast<size_t>(x.ndim()), 1);
  along[d] = n;
  const Tensor mask =
      reshape(compare(arange_int(0, n, 1, DType::Int64), scalar_int(i, DType::Int64), CmpOp::Eq), along);
  return where(mask, slice_scatter(cast(unsqueeze(src, d), x.dtype()), x.shape(), spec), x);
}
}  // namespace fastgrad
