// Sorting and order statistics (sort, argsort, msort, topk, kthvalue, cummax, cummin,
// unique, unique_consecutive, searchsorted, bucketize, multinomial). The kernels find
// positions only; values are gather(x, dim, positions), so every gradient flows through
// the Gather primitive (the cotangent is scattered back to where each value came from).
// Ties: sort is always stable (a valid result for stable=False too); topk and kthvalue
// pick the earlier position among equal values; cummax/cummin the later (PyTorch's rule).
// NaN is larger than every number, as PyTorch. unique and unique_consecutive read x detached:
// their outputs are not differentiable (torch has no derivative for them either).
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "../kernels/sort/sort.h"

namespace fastgrad {
using namespace detail;

namespace {
// x as contiguous (outer, n, inner) blocks around axis `dim` (0-d: one element).
struct Blocks {
  Tensor x;
  int64_t outer = 1, n = 1, inner = 1;
};
Blocks blocks(const Tensor& x, int64_t dim) {
  Blocks b{contiguous(detach(x))};
  for (int64_t d = 0; d < x.ndim(); ++d) {
    if (d < dim) b.outer *= x.shape()[d];
    if (d == dim) b.n = x.shape()[d];
    if (d > dim) b.inner *= x.shape()[d];
  }
  return b;
}

// Positions of the first k of each column in sorted order: (outer, k, inner) int64.
Tensor sorted_positions(const Tensor& x, int64_t dim, bool descending, int64_t k, const char* op) {
  if (any_batched({x}))  // per example along its own axis (one further); a 0-d example is one entry
    return vmap_call_leading({x}, [&](const Tensors& p) -> Tensors {
      if (x.ndim()) return {sorted_positions(p[0], dim + 1, descending, k, op)};
      return {reshape(sorted_positions(unsqueeze(p[0], 1), 1, descending, k, op), {p[0].shape()[0]})};
    })[0];
  Blocks b = blocks(x, dim);
  Shape s = x.shape();
  if (x.ndim()) s[dim] = k;
  Tensor idx = empty(s, DType::Int64);
  run_blocking(x.numel(), [&] {
    FG_DISPATCH_ALL(x.dtype(), op, [&] {
      kernels::argsort_axis(b.x.data<scalar_t>(), b.outer, b.n, b.inner, descending, k, idx.data<int64_t>());
    });
  });
  return idx;
}

std::pair<Tensor, Tensor> cum_extremum(const Tensor& x, int64_t dim, bool max) {
  const char* op = max ? "cummax" : "cummin";
  const int64_t d = normalize_axis(dim, x.ndim(), op);
  if (any_batched({x})) {  // per example along its own axis (one further); a 0-d example is one entry
    Tensors r = vmap_call_leading({x}, [&](const Tensors& p) -> Tensors {
      Tensor px = x.ndim() ? p[0] : unsqueeze(p[0], 1);
      auto [v, i] = cum_extremum(px, d + 1, max);
      if (!x.ndim()) return {reshape(v, p[0].shape()), reshape(i, p[0].shape())};
      return {v, i};
    });
    return {r[0], r[1]};
  }
  Blocks b = blocks(x, d);
  Tensor idx = empty(x.shape(), DType::Int64);
  run_blocking(x.numel(), [&] {
    FG_DISPATCH_ALL(x.dtype(), op, [&] {
      kernels::cum_extremum_axis(b.x.data<scalar_t>(), b.outer, b.n, b.inner, max, idx.data<int64_t>());
    });
  });
  return {gather(x, d, idx), idx};
}

int64_t check_k(int64_t k, int64_t n, const char* op, const Shape& s, bool one_based) {
  const bool bad = one_based ? (k < 1 || k > n) : (k < 0 || k > n);
  if (bad)
    throw IndexError(std::string(op) + ": k = " + std::to_string(k) +
                     " is out of range for a dimension of size " + std::to_string(n) + " (input of shape " +
                     shape_str(s) + ")");
  return k;
}
}  // namespace

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending, bool stable) {
  (void)stable;  // always stable
  const int64_t d = normalize_axis(dim, x.ndim(), "sort");
  const Tensor idx = sorted_positions(x, d, descending, x.ndim() ? x.shape()[d] : 1, "sort");
  return {gather(x, d, idx), idx};
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending, bool stable) {
  (void)stable;
  const int64_t d = normalize_axis(dim, x.ndim(), "argsort");
  return sorted_positions(x, d, descending, x.ndim() ? x.shape()[d] : 1, "argsort");
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
  (void)sorted;  // the k values always come sorted
  const int64_t d = normalize_axis(dim, x.ndim(), "topk");
  check_k(k, x.ndim() ? x.shape()[d] : 1, "topk", x.shape(), false);
  const Tensor idx = sorted_positions(x, d, largest, k, "topk");
  return {gather(x, d, idx), idx};
}

std::pair<Tensor, Tensor> kthvalue(const Tensor& x, int64_t k, int64_t dim, bool keepdim) {
  const int64_t d = normalize_axis(dim, x.ndim(), "kthvalue");
  check_k(k, x.ndim() ? x.shape()[d] : 1, "kthvalue", x.shape(), true);
  Tensor idx = sorted_positions(x, d, false, k, "kthvalue");
  if (x.ndim()) {
    std::vector<SliceSpec> spec;
    for (int64_t a = 0; a < x.ndim(); ++a)
      spec.push_back(a == d ? SliceSpec{k - 1, k, 1} : SliceSpec{0, idx.shape()[a], 1});
    idx = contiguous(slice(idx, spec));
  }
  Tensor v = gather(x, d, idx);
  if (!keepdim && x.ndim()) {
    v = squeeze(v, {d});
    idx = squeeze(idx, {d});
  }
  return {v, idx};
}

std::pair<Tensor, Tensor> cummax(const Tensor& x, int64_t dim) { return cum_extremum(x, dim, true); }
std::pair<Tensor, Tensor> cummin(const Tensor& x, int64_t dim) { return cum_extremum(x, dim, false); }

namespace {
// torch.unique's dim checks: a 0-d input has no dim, and an empty input only along its one
// zero-sized axis (slices of size 0 would all be equal, which torch refuses to decide).
int64_t unique_axis(const Tensor& x, int64_t dim, const char* op) {
  const int64_t nd = x.ndim();
  if (nd == 0)
    throw IndexError(std::string(op) + ": dim " + std::to_string(dim) +
                     " is out of range for a 0-d input (shape ()): it has no dimension to take slices along");
  if (dim < -nd || dim >= nd)
    throw IndexError(std::string(op) + ": dim " + std::to_string(dim) +
                     " is out of range for an input of shape " + shape_str(x.shape()) +
                     " (expected a dim in [" + std::to_string(-nd) + ", " + std::to_string(nd - 1) + "])");
  const int64_t d = dim < 0 ? dim + nd : dim;
  if (x.numel() == 0) {
    int64_t zeros = 0;
    for (int64_t s : x.shape()) zeros += s == 0;
    if (x.shape()[d] != 0)
      throw RuntimeError(std::string(op) + ": input of shape " + shape_str(x.shape()) +
                         " has a zero-sized dimension other than dim " + std::to_string(dim) +
                         ", so its slices are empty and cannot be told apart");
    if (zeros > 1)
      throw RuntimeError(std::string(op) + ": input of shape " + shape_str(x.shape()) +
                         " has more than one zero-sized dimension, so unique cannot be applied along dim " +
                         std::to_string(dim));
  }
  return d;
}

// The kernel sees the slices along dim as the rows of a contiguous (n, m) matrix: dim moved
// first, the other axes in order, so a row lists its slice in the row-major order in which
// torch compares slices. dim = nullopt: the n = numel values of the flattened x, m = 1.
UniqueResult unique_impl(const Tensor& x, std::optional<int64_t> dim, bool sort, const char* op) {
  const Tensor xd = detach(x);
  Tensor rows;
  int64_t d = 0;
  if (dim) {
    d = unique_axis(x, *dim, op);
    Axes perm{d};
    int64_t m = 1;
    for (int64_t a = 0; a < x.ndim(); ++a)
      if (a != d) {
        perm.push_back(a);
        m *= x.shape()[a];
      }
    rows = reshape(contiguous(permute(xd, perm)), {x.shape()[d], m});
  } else {
    rows = reshape(contiguous(xd), {x.numel(), 1});
  }
  const int64_t n = rows.shape()[0], m = rows.shape()[1];
  Tensor rep = empty({n}, DType::Int64), inverse = empty({n}, DType::Int64),
         counts = empty({n}, DType::Int64);
  int64_t u = 0;
  run_blocking(n * m, [&] {
    FG_DISPATCH_ALL(x.dtype(), op, [&] {
      u = kernels::unique_rows(rows.data<scalar_t>(), n, m, sort, rep.data<int64_t>(),
                               inverse.data<int64_t>(), counts.data<int64_t>());
    });
  });
  const Tensor first = slice(rep, {{0, u, 1}});
  counts = contiguous(slice(counts, {{0, u, 1}}));
  if (dim) return {contiguous(index_select(xd, d, first)), inverse, counts};
  return {contiguous(index_select(reshape(rows, {n}), 0, first)), reshape(inverse, x.shape()), counts};
}
}  // namespace

UniqueResult unique(const Tensor& x, bool sorted, std::optional<int64_t> dim) {
  (void)sorted;  // always sorted (PyTorch's CPU result for sorted=False is sorted too)
  return unique_impl(x, dim, true, "unique");
}
UniqueResult unique_consecutive(const Tensor& x, std::optional<int64_t> dim) {
  return unique_impl(x, dim, false, "unique_consecutive");
}

Tensor searchsorted(const Tensor& seq0, const Tensor& values, bool right, const Tensor& sorter) {
  const char* op = "searchsorted";
  if (seq0.ndim() == 0) throw RuntimeError("searchsorted: sorted_sequence must not be 0-d");
  Tensor seq = seq0;
  if (sorter.defined()) {
    if (sorter.shape() != seq0.shape())
      throw RuntimeError("searchsorted: sorter " + shape_str(sorter.shape()) +
                         " must have the shape of sorted_sequence " + shape_str(seq0.shape()));
    seq = gather(detach(seq0), seq0.ndim() - 1, sorter);
  }
  const DType dt = promote(seq.dtype(), values.dtype());
  Tensor s = contiguous(cast(detach(seq), dt)), v = contiguous(cast(detach(values), dt));
  const int64_t n = s.shape().back();
  int64_t rows = 1, m = v.numel();
  if (s.ndim() > 1) {
    Shape lead(s.shape().begin(), s.shape().end() - 1), vlead;
    if (v.ndim() >= 1) vlead = Shape(v.shape().begin(), v.shape().end() - 1);
    if (v.ndim() != s.ndim() || lead != vlead)
      throw RuntimeError("searchsorted: boundaries " + shape_str(seq0.shape()) + " and input " +
                         shape_str(values.shape()) + " must share all but the last dimension");
    rows = shape_numel(lead);
    m = v.shape().back();
  }
  Tensor out = empty(values.shape(), DType::Int64);
  run_blocking(v.numel(), [&] {
    FG_DISPATCH_ALL(dt, op, [&] {
      kernels::searchsorted_rows(s.data<scalar_t>(), s.ndim() > 1 ? rows : 1, n, v.data<scalar_t>(), rows, m,
                                 right, out.data<int64_t>());
    });
  });
  return out;
}

Tensor multinomial(const Tensor& p, int64_t num_samples, bool replacement, Generator* gen) {
  const char* op = "multinomial";
  if (p.ndim() != 1 && p.ndim() != 2)
    throw RuntimeError("multinomial: prob_dist must be 1 or 2 dim, got shape " + shape_str(p.shape()));
  require_float(p, op);
  const int64_t n = p.shape().back(), rows = p.ndim() == 2 ? p.shape()[0] : 1;
  if (num_samples <= 0) throw RuntimeError("multinomial: cannot sample n_sample <= 0 samples");
  if (!replacement && num_samples > n)
    throw RuntimeError(
        "multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement (" +
        std::to_string(num_samples) + " > " + std::to_string(n) + ")");
  Tensor w = contiguous(cast(detach(p), DType::Float64));
  const double* pw = w.data<double>();
  switch (kernels::multinomial_invalid(pw, rows, n, num_samples, replacement)) {
    case 1:
      throw RuntimeError("multinomial: probability tensor contains either inf, nan or element < 0");
    case 2:
      throw RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)");
    case 3:
      throw RuntimeError(
          "multinomial: invalid multinomial distribution (with replacement=False, not enough non-negative "
          "category to sample)");
    default:
      break;
  }
  Tensor u = contiguous(rand({rows, num_samples}, DType::Float64, gen));
  Tensor out = empty(p.ndim() == 2 ? Shape{rows, num_samples} : Shape{num_samples}, DType::Int64);
  run_blocking(rows * num_samples * n, [&] {
    kernels::multinomial_rows(pw, rows, n, u.data<double>(), num_samples, replacement, out.data<int64_t>());
  });
  return out;
}
}  // namespace fastgrad
