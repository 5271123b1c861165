// Selection and rearrangement composed of existing primitives (index_select, index_add,
// gather, scatter, slice, concat, reshape, permute, expand, where), so their gradients,
// tangents and second orders are those primitives' own: tril/triu, flip/roll/rot90,
// repeat/tile/repeat_interleave, diagonal/diag/diag_embed/diagflat/trace, take_along_dim,
// take, masked_select/masked_fill/masked_scatter, nonzero, count_nonzero, bincount and the
// triangle index factories. Positions come from factories (arange) or kernels, never loops here.
#include <algorithm>
#include <string>
#include <vector>

#include "common.h"
#include "../kernels/index/along.h"
#include "../kernels/index/index.h"

namespace fastgrad {
using namespace detail;

namespace {
Tensor positions(int64_t start, int64_t stop, int64_t step) {
  return arange_int(start, stop, step, DType::Int64);
}

Tensor triangle(const Tensor& x, int64_t k, bool lower, const char* op) {
  if (x.ndim() < 2)
    throw RuntimeError(std::string(op) + ": input tensor must have at least 2 dimensions, got shape " +
                       shape_str(x.shape()));
  const int64_t n = x.shape()[x.ndim() - 2], m = x.shape()[x.ndim() - 1];
  const Tensor diff = sub(positions(0, m, 1), reshape(positions(0, n, 1), {n, 1}));  // col - row
  const Tensor keep = compare(diff, scalar_int(k, DType::Int64), lower ? CmpOp::Le : CmpOp::Ge);
  return where(keep, x, zeros({}, x.dtype()));
}

Tensor triangle_indices(int64_t row, int64_t col, int64_t offset, bool lower, const char* op) {
  if (row < 0 || col < 0)
    throw RuntimeError(std::string(op) + ": row and col must be nonnegative, got " + std::to_string(row) +
                       ", " + std::to_string(col));
  const int64_t count = kernels::triangle_indices(row, col, offset, lower, nullptr, 0);
  Tensor out = empty({2, count}, DType::Int64);
  kernels::triangle_indices(row, col, offset, lower, out.data<int64_t>(), count);
  return out;
}

std::vector<int64_t> int_values(const Tensor& t) {
  Tensor c = contiguous(detach(t));
  return std::vector<int64_t>(c.data<int64_t>(), c.data<int64_t>() + c.numel());
}
}  // namespace

Tensor tril(const Tensor& x, int64_t diagonal) { return triangle(x, diagonal, true, "tril"); }
Tensor triu(const Tensor& x, int64_t diagonal) { return triangle(x, diagonal, false, "triu"); }
Tensor tril_indices(int64_t row, int64_t col, int64_t offset) {
  return triangle_indices(row, col, offset, true, "tril_indices");
}
Tensor triu_indices(int64_t row, int64_t col, int64_t offset) {
  return triangle_indices(row, col, offset, false, "triu_indices");
}

Tensor flip(const Tensor& x, const Axes& dims) {
  std::vector<bool> seen(std::max<int64_t>(x.ndim(), 1), false);
  Tensor y = x;
  for (int64_t a : dims) {
    const int64_t d = normalize_axis(a, x.ndim(), "flip");
    if (seen[d])
      throw RuntimeError("flip: dim " + std::to_string(a) + " appears multiple times in the list of dims");
    seen[d] = true;
    if (x.ndim() == 0) continue;
    const int64_t n = x.shape()[d];
    y = index_select(y, d, positions(n - 1, -1, -1));
  }
  return dims.empty() ? y : (y.impl() == x.impl() ? clone(x) : y);
}

Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const Axes& dims) {
  if (shifts.empty()) throw RuntimeError("roll: `shifts` required");
  if (dims.empty()) {
    if (shifts.size() != 1)
      throw RuntimeError("roll: shifts and dimensions must align, got " + std::to_string(shifts.size()) +
                         " shifts and no dims");
    return reshape(roll(reshape(x, {x.numel()}), shifts, {0}), x.shape());
  }
  if (shifts.size() != dims.size())
    throw RuntimeError("roll: shifts and dimensions must align. shifts: " + std::to_string(shifts.size()) +
                       ", dims: " + std::to_string(dims.size()));
  Tensor y = x;
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = normalize_axis(dims[i], x.ndim(), "roll");
    if (x.ndim() == 0) continue;
    const int64_t n = x.shape()[d];
    if (n == 0) continue;
    const int64_t s = ((shifts[i] % n) + n) % n;
    if (s == 0) continue;
    Tensors parts = split(y, {n - s, s}, d);
    y = concat({parts[1], parts[0]}, d);
  }
  return y.impl() == x.impl() ? clone(x) : y;
}

Tensor rot90(const Tensor& x, int64_t k, const Axes& dims) {
  if (dims.size() != 2)
    throw RuntimeError("rot90: expected total rotation dims == 2, but got dims = " +
                       std::to_string(dims.size()));
  if (x.ndim() < 2)
    throw RuntimeError("rot90: expected total dims >= 2, but got total dims = " + std::to_string(x.ndim()));
  const int64_t a = normalize_axis(dims[0], x.ndim(), "rot90"),
                b = normalize_axis(dims[1], x.ndim(), "rot90");
  if (a == b) throw RuntimeError("rot90: expected rotation dims to be different");
  switch (((k % 4) + 4) % 4) {
    case 1:
      return transpose(flip(x, {b}), a, b);
    case 2:
      return flip(x, {a, b});
    case 3:
      return transpose(flip(x, {a}), a, b);
    default:
      return clone(x);
  }
}

Tensor repeat(const Tensor& x, const std::vector<int64_t>& reps) {
  const int64_t r = static_cast<int64_t>(reps.size());
  if (r < x.ndim())
    throw RuntimeError("repeat: number of dimensions of repeat dims (" + std::to_string(r) +
                       ") can not be smaller than number of dimensions of tensor " + shape_str(x.shape()));
  for (int64_t v : reps)
    if (v < 0) throw RuntimeError("repeat: repeats must be nonnegative, got " + std::to_string(v));
  Shape padded(r - x.ndim(), 1);
  padded.insert(padded.end(), x.shape().begin(), x.shape().end());
  Shape split_shape, big, out;
  for (int64_t d = 0; d < r; ++d) {
    split_shape.push_back(1);
    split_shape.push_back(padded[d]);
    big.push_back(reps[d]);
    big.push_back(padded[d]);
    out.push_back(reps[d] * padded[d]);
  }
  return reshape(contiguous(expand(reshape(x, split_shape), big)), out);
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& reps) {
  std::vector<int64_t> r(reps);
  while (static_cast<int64_t>(r.size()) < x.ndim()) r.insert(r.begin(), 1);
  return repeat(x, r);
}

Tensor repeat_interleave(const Tensor& x, const Tensor& repeats, std::optional<int64_t> dim) {
  const char* op = "repeat_interleave";
  if (repeats.dtype() != DType::Int64)
    throw TypeError(std::string("repeat_interleave: repeats must be int64, got ") +
                    dtype_name(repeats.dtype()));
  if (repeats.ndim() > 1) throw RuntimeError("repeat_interleave: repeats must be 0-dim or 1-dim tensor");
  Tensor y = dim ? x : reshape(x, {x.numel()});
  const int64_t d = dim ? normalize_axis(*dim, x.ndim(), op) : 0;
  if (y.ndim() == 0) y = reshape(y, {1});
  const int64_t n = y.shape()[d];
  std::vector<int64_t> reps = int_values(repeats);
  if (repeats.ndim() == 0) reps.assign(n, reps[0]);
  if (static_cast<int64_t>(reps.size()) != n)
    throw RuntimeError("repeat_interleave: repeats must have the same size as input along dim, got " +
                       std::to_string(reps.size()) + " and " + std::to_string(n) + " (input of shape " +
                       shape_str(x.shape()) + ")");
  int64_t total = 0;
  for (int64_t v : reps) total += v > 0 ? v : 0;
  Tensor pos = empty({total}, DType::Int64);
  if (kernels::repeat_positions(reps.data(), n, pos.data<int64_t>(), total) >= 0)
    throw RuntimeError("repeat_interleave: repeats can not be negative");
  return index_select(y, d, pos);
}

Tensor diagonal(const Tensor& x, int64_t offset, int64_t dim1, int64_t dim2) {
  const char* op = "diagonal";
  if (x.ndim() < 2)
    throw RuntimeError("diagonal: expected a tensor with at least 2 dims, got shape " + shape_str(x.shape()));
  const int64_t a = normalize_axis(dim1, x.ndim(), op), b = normalize_axis(dim2, x.ndim(), op);
  if (a == b)
    throw RuntimeError("diagonal: dimensions cannot be identical " + std::to_string(dim1) + ", " +
                       std::to_string(dim2));
  const int64_t n = x.shape()[a], m = x.shape()[b];
  const int64_t len = std::max<int64_t>(0, offset >= 0 ? std::min(n, m - offset) : std::min(n + offset, m));
  // (..., n, m) flattened to (..., n * m): the diagonal is every (m + 1)-th element.
  Axes perm;
  for (int64_t d = 0; d < x.ndim(); ++d)
    if (d != a && d != b) perm.push_back(d);
  perm.push_back(a);
  perm.push_back(b);
  const Tensor y = permute(x, perm);  // (..., n, m)
  Shape s(y.shape().begin(), y.shape().end() - 2);
  s.push_back(n * m);
  const int64_t start = len == 0 ? 0 : (offset >= 0 ? offset : -offset * m);
  return index_select(reshape(y, s), static_cast<int64_t>(s.size()) - 1,
                      positions(start, start + len * (m + 1), m + 1));
}

Tensor diag_embed(const Tensor& x, int64_t offset, int64_t dim1, int64_t dim2) {
  const char* op = "diag_embed";
  if (x.ndim() == 0) throw RuntimeError("diag_embed: expected a tensor with at least 1 dim");
  const int64_t nd = x.ndim() + 1;
  const int64_t a = normalize_axis(dim1, nd, op), b = normalize_axis(dim2, nd, op);
  if (a == b)
    throw RuntimeError("diag_embed: diagonal dimensions cannot be identical " + std::to_string(dim1) + ", " +
                       std::to_string(dim2));
  const int64_t len = x.shape().back(), n = len + (offset >= 0 ? offset : -offset);
  Shape flat(x.shape().begin(), x.shape().end() - 1);
  flat.push_back(n * n);
  const int64_t start = offset >= 0 ? offset : -offset * n;
  Tensor y = index_add(x, flat, x.ndim() - 1, positions(start, start + len * (n + 1), n + 1));
  Shape sq(x.shape().begin(), x.shape().end() - 1);
  sq.push_back(n);
  sq.push_back(n);
  y = reshape(y, sq);  // (..., n [dim1], n [dim2])
  Axes perm;           // output axis i reads y's axis perm[i]: dim1 -> a, dim2 -> b, the rest in order
  for (int64_t i = 0, other = 0; i < nd; ++i) perm.push_back(i == a ? nd - 2 : i == b ? nd - 1 : other++);
  return permute(y, perm);
}

Tensor diag(const Tensor& x, int64_t diagonal_) {
  if (x.ndim() == 1) return diag_embed(x, diagonal_, 0, 1);
  if (x.ndim() == 2) return diagonal(x, diagonal_, 0, 1);
  throw RuntimeError("diag: expected a 1-d or 2-d tensor, got shape " + shape_str(x.shape()));
}
Tensor diagflat(const Tensor& x, int64_t offset) { return diag_embed(reshape(x, {x.numel()}), offset, 0, 1); }
Tensor trace(const Tensor& x) {
  if (x.ndim() != 2) throw RuntimeError("trace: expected a matrix, got shape " + shape_str(x.shape()));
  return sum(diagonal(x, 0, 0, 1), {}, false);
}

Tensor take_along_dim(const Tensor& x, const Tensor& idx, std::optional<int64_t> dim) {
  const char* op = "take_along_dim";
  if (idx.dtype() != DType::Int64)
    throw TypeError(std::string("take_along_dim: indices must be int64, got ") + dtype_name(idx.dtype()));
  if (!dim) return gather(reshape(x, {x.numel()}), 0, reshape(idx, {idx.numel()}));
  if (x.ndim() != idx.ndim())
    throw RuntimeError("take_along_dim: input " + shape_str(x.shape()) + " and indices " +
                       shape_str(idx.shape()) + " should have the same number of dimensions");
  const int64_t d = normalize_axis(*dim, x.ndim(), op);
  Shape xs = x.shape(), is = idx.shape();
  for (int64_t a = 0; a < x.ndim(); ++a) {
    if (a == d) continue;
    const Shape bs = broadcast_shapes({x.shape()[a]}, {idx.shape()[a]}, op);
    xs[a] = is[a] = bs[0];
  }
  return gather(expand(x, xs), d, expand(idx, is));
}

Tensor take(const Tensor& x, const Tensor& index) {
  if (index.dtype() != DType::Int64)
    throw TypeError(std::string("take: index must be int64, got ") + dtype_name(index.dtype()));
  const Tensor ci = contiguous(detach(index));
  const int64_t bad = kernels::first_out_of_bounds(ci.data<int64_t>(), ci.numel(), x.numel());
  if (bad >= 0)
    throw IndexError("take: index " + std::to_string(ci.data<int64_t>()[bad]) +
                     " is out of range for a tensor of " + std::to_string(x.numel()) + " elements (shape " +
                     shape_str(x.shape()) + ")");
  return index_select(reshape(x, {x.numel()}), 0, index);
}

Tensor index_select_dim(const Tensor& x, int64_t dim, const Tensor& index) {
  if (x.ndim() > 0) return index_select(x, dim, index);
  // A 0-d input acts as (1,) and gives a 0-d result (PyTorch's rule).
  normalize_axis(dim, 0, "index_select");
  if (index.numel() != 1)
    throw IndexError("index_select: a 0-d input takes exactly one index, got index of shape " +
                     shape_str(index.shape()));
  return reshape(index_select(reshape(x, {1}), 0, reshape(index, {1})), {});
}

namespace {
Tensor bool_mask(const Tensor& mask, const char* op) {
  if (mask.dtype() != DType::Bool)
    throw TypeError(std::string(op) + ": expected a bool mask, got " + dtype_name(mask.dtype()) +
                    " of shape " + shape_str(mask.shape()));
  return mask;
}
// mask broadcast to x's shape (x itself does not broadcast: PyTorch's rule for masked_fill).
Tensor mask_like(const Tensor& x, const Tensor& mask, const char* op) {
  bool_mask(mask, op);
  if (broadcast_shapes(x.shape(), mask.shape(), op) != x.shape())
    throw RuntimeError(std::string(op) + ": mask " + shape_str(mask.shape()) +
                       " is not broadcastable to self " + shape_str(x.shape()));
  return expand(mask, x.shape());
}
}  // namespace

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  bool_mask(mask, "masked_select");
  const Shape s = broadcast_shapes(x.shape(), mask.shape(), "masked_select");
  return index_select(reshape(expand(x, s), {shape_numel(s)}), 0, nonzero_flat(expand(mask, s)));
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
  if (value.ndim() != 0)
    throw RuntimeError("masked_fill: only supports a 0-dimensional value tensor, but got tensor with " +
                       std::to_string(value.ndim()) + " dimension(s)");
  bool_mask(mask, "masked_fill");  // out of place, x and mask broadcast together (PyTorch's rule)
  broadcast_shapes(x.shape(), mask.shape(), "masked_fill");
  return where(mask, value.dtype() == x.dtype() ? value : cast(value, x.dtype()), x);
}

void masked_fill_(const Tensor& x, const Tensor& mask, const Tensor& value) {
  if (value.ndim() != 0)
    throw RuntimeError("masked_fill_: only supports a 0-dimensional value tensor, but got tensor with " +
                       std::to_string(value.ndim()) + " dimension(s)");
  mask_like(x, mask, "masked_fill_");
  inplace_(x, "masked_fill_", x.dtype(), false,
           [&](const Tensor& old) { return masked_fill(old, mask, value); });
}

Tensor masked_scatter(const Tensor& x, const Tensor& mask, const Tensor& source) {
  bool_mask(mask, "masked_scatter");
  const Shape s = broadcast_shapes(x.shape(), mask.shape(), "masked_scatter");
  const Tensor m = expand(mask, s);
  if (source.dtype() != x.dtype())
    throw TypeError(std::string("masked_scatter: expected self and source to have the same dtype, got ") +
                    dtype_name(x.dtype()) + " and " + dtype_name(source.dtype()));
  const Tensor pos = nonzero_flat(m);
  const int64_t k = pos.numel();
  if (source.numel() < k)
    throw RuntimeError("masked_scatter: number of elements in source " + shape_str(source.shape()) + " < " +
                       std::to_string(k) + " true entries of mask " + shape_str(mask.shape()));
  const Tensor src = slice(reshape(source, {source.numel()}), {{0, k, 1}});
  return reshape(scatter(reshape(expand(x, s), {shape_numel(s)}), 0, pos, src, ""), s);
}

Tensor nonzero(const Tensor& x) {
  const Tensor flat = nonzero_flat(x.ndim() ? x : reshape(x, {1}));
  const int64_t n = flat.numel(), nd = x.ndim();
  Tensor out = empty({n, nd}, DType::Int64);
  Tensor cf = contiguous(flat);
  kernels::unravel(cf.data<int64_t>(), n, x.shape().data(), nd, out.data<int64_t>());
  return out;
}

Tensor count_nonzero(const Tensor& x, const Axes& dims) {
  const Tensor nz = cast(compare(detach(x), zeros({}, x.dtype()), CmpOp::Ne), DType::Int64);
  if (dims.empty()) return sum(nz, {}, false);
  return sum(nz, dims, false);
}

Tensor bincount(const Tensor& x, const Tensor& weights, int64_t minlength) {
  if (x.ndim() != 1 || x.dtype() != DType::Int64)
    throw RuntimeError("bincount: only supports 1-d non-negative integral inputs, got " +
                       std::string(dtype_name(x.dtype())) + " of shape " + shape_str(x.shape()));
  if (minlength < 0)
    throw RuntimeError("bincount: minlength should be >= 0, got " + std::to_string(minlength));
  if (weights.defined() && weights.shape() != x.shape())
    throw RuntimeError("bincount: weights " + shape_str(weights.shape()) +
                       " should have the shape of input " + shape_str(x.shape()));
  int64_t len = minlength;
  if (x.numel()) {
    const int64_t lo = contiguous(amin(x, {}, false)).data<int64_t>()[0];
    if (lo < 0)
      throw RuntimeError("bincount: only supports 1-d non-negative integral inputs, got " +
                         std::to_string(lo));
    len = std::max(len, contiguous(amax(x, {}, false)).data<int64_t>()[0] + 1);
  }
  const Tensor w = weights.defined()
                       ? (is_floating(weights.dtype()) ? weights : cast(weights, DType::Float64))
                       : full_int(x.shape(), 1, DType::Int64);
  return index_add(w, {len}, 0, x);
}
}  // namespace fastgrad
