// Shape primitives. Reshape, permute, expand and slice return views (no copies); their
// rules are each other's adjoints: expand <-> sum_to, slice <-> slice_scatter,
// pad -> slice, index_select <-> index_add.
#include <cstring>
#include <numeric>

#include "../kernels/index/index.h"
#include "common.h"

namespace fastgrad {
using namespace detail;

namespace {

// No tensor or view may have more elements (256 TiB of bool; see Expand).
constexpr int64_t kMaxNumel = int64_t(1) << 48;

Shape resolve_shape(const Shape& in, Shape s, const char* op) {
  int64_t known = 1, neg = -1;
  bool overflow = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      if (neg >= 0) throw ValueError(std::string(op) + ": only one dimension can be -1, got " + shape_str(s));
      neg = static_cast<int64_t>(i);
    } else if (s[i] < 0) {
      throw ValueError(std::string(op) + ": invalid dimension in " + shape_str(s));
    } else if (s[i] == 0) {
      known = 0;
      overflow = false;
    } else if (known != 0) {
      overflow = overflow || __builtin_mul_overflow(known, s[i], &known);
    }
  }
  // A wrapped product could match the element count and give a view far larger than
  // its storage.
  if (overflow) throw ValueError(std::string(op) + ": shape " + shape_str(s) + " has too many elements");
  int64_t n = shape_numel(in);
  if (neg >= 0) {
    if (known == 0 || n % known != 0)
      throw ValueError(std::string(op) + ": cannot reshape " + shape_str(in) + " into " + shape_str(s));
    s[neg] = n / known;
  }
  if (shape_numel(s) != n)
    throw ValueError(std::string(op) + ": cannot reshape tensor of shape " + shape_str(in) + " (" +
                     std::to_string(n) + " elements) into shape " + shape_str(s));
  return s;
}

struct Reshape : Primitive {
  Shape target;
  explicit Reshape(Shape s) : target(std::move(s)) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("reshape").view().reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors&) const override { return {target}; }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    Tensor x = batch_front(in[0], bdims[0]);
    Shape s = target;
    s.insert(s.begin(), x.shape()[0]);
    return {{reshape(x, s)}, {0}};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor x = in[0].is_contiguous() ? in[0] : clone(detach(in[0]));
    return {make_view(x, target, contiguous_strides(target), x.offset())};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {reshape(g[0], x[0].shape())};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override {
    return {reshape(t[0], target)};
  }
};
FG_REGISTER_PRIMITIVE(Reshape::kDesc);

struct Permute : Primitive {
  Axes perm;
  explicit Permute(Axes p) : perm(std::move(p)) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("permute").view().reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    Axes p{0};
    for (auto a : perm) p.push_back(a + 1);
    return {{permute(batch_front(in[0], bdims[0]), p)}, {0}};
  }
  std::vector<Shape> shapes(const Tensors& in) const override {
    Shape s;
    for (auto p : perm) s.push_back(in[0].shape()[p]);
    return {s};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Shape s, st;
    for (auto p : perm) {
      s.push_back(in[0].shape()[p]);
      st.push_back(in[0].strides()[p]);
    }
    return {make_view(in[0], s, st, in[0].offset())};
  }
  Axes inverse() const {
    Axes inv(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = static_cast<int64_t>(i);
    return inv;
  }
  Tensors vjp(const Tensors&, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {permute(g[0], inverse())};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override {
    return {permute(t[0], perm)};
  }
};
FG_REGISTER_PRIMITIVE(Permute::kDesc);

struct Expand : Primitive {
  Shape target;
  explicit Expand(Shape s) : target(std::move(s)) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("expand").view().reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  // Size-1 axes after the batch axis keep the logical axes right-aligned with the target.
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    Tensor x = batch_front(in[0], bdims[0]);
    Shape s = x.shape(), t = target;
    while (s.size() < target.size() + 1) s.insert(s.begin() + 1, 1);
    t.insert(t.begin(), s[0]);
    return {{expand(reshape(x, s), t)}, {0}};
  }
  std::vector<Shape> shapes(const Tensors& in) const override {
    const Shape& s = in[0].shape();
    if (s.size() > target.size())
      throw ValueError("expand: cannot broadcast " + shape_str(s) + " to " + shape_str(target));
    int64_t n = 1;
    for (auto d : target) {
      if (d < 0) throw ValueError("expand: negative dimension in target shape " + shape_str(target));
      if (__builtin_mul_overflow(n, d, &n))
        throw ValueError("expand: shape " + shape_str(target) + " has too many elements");
    }
    // Expanding is the one way to make a view with more elements than its storage; ops
    // that loop over such a view (sum) would run for centuries, so views are held to the
    // size a materialised tensor could ever have.
    if (n > kMaxNumel)
      throw ValueError("expand: shape " + shape_str(target) + " has " + std::to_string(n) +
                       " elements, more than the limit of 2^48 elements per tensor");
    size_t off = target.size() - s.size();
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] != 1 && s[i] != target[off + i])
        throw ValueError("expand: cannot broadcast " + shape_str(s) + " to " + shape_str(target));
    return {target};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    return {make_view(in[0], target, broadcast_strides(in[0], target), in[0].offset())};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {sum_to(g[0], x[0].shape())};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override {
    return {expand(t[0], target)};
  }
};
FG_REGISTER_PRIMITIVE(Expand::kDesc);

std::vector<SliceSpec> check_spec(const Shape& s, const std::vector<SliceSpec>& spec, const char* op) {
  if (spec.size() != s.size())
    throw ValueError(std::string(op) + ": slice spec has " + std::to_string(spec.size()) +
                     " entries for shape " + shape_str(s));
  for (size_t i = 0; i < spec.size(); ++i)
    if (spec[i].step <= 0 || spec[i].start < 0 || spec[i].stop > s[i] ||
        spec[i].start > std::max(spec[i].stop, spec[i].start))
      throw IndexError(std::string(op) + ": bad slice on axis " + std::to_string(i) + " of shape " +
                       shape_str(s));
  return spec;
}
Shape sliced_shape(const std::vector<SliceSpec>& spec) {
  Shape s;
  for (auto& p : spec) s.push_back(p.stop > p.start ? (p.stop - p.start + p.step - 1) / p.step : 0);
  return s;
}
Tensor slice_view(const Tensor& x, const std::vector<SliceSpec>& spec) {
  Shape st;
  int64_t off = x.offset();
  for (size_t i = 0; i < spec.size(); ++i) {
    off += spec[i].start * x.strides()[i];
    st.push_back(x.strides()[i] * spec[i].step);
  }
  return make_view(x, sliced_shape(spec), st, off);
}

struct Slice : Primitive {
  std::vector<SliceSpec> spec;
  explicit Slice(std::vector<SliceSpec> s) : spec(std::move(s)) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("slice").view().reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    Tensor x = batch_front(in[0], bdims[0]);
    std::vector<SliceSpec> sp{{0, x.shape()[0], 1}};
    sp.insert(sp.end(), spec.begin(), spec.end());
    return {{slice(x, sp)}, {0}};
  }
  std::vector<Shape> shapes(const Tensors& in) const override {
    check_spec(in[0].shape(), spec, name());
    return {sliced_shape(spec)};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    return {slice_view(in[0], spec)};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {slice_scatter(g[0], x[0].shape(), spec)};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override { return {slice(t[0], spec)}; }
};
FG_REGISTER_PRIMITIVE(Slice::kDesc);

struct SliceScatter : Primitive {
  Shape full_shape;
  std::vector<SliceSpec> spec;
  SliceScatter(Shape s, std::vector<SliceSpec> p) : full_shape(std::move(s)), spec(std::move(p)) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("slice_scatter").reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    Tensor x = batch_front(in[0], bdims[0]);
    std::vector<SliceSpec> sp{{0, x.shape()[0], 1}};
    sp.insert(sp.end(), spec.begin(), spec.end());
    Shape full = full_shape;
    full.insert(full.begin(), x.shape()[0]);
    return {{slice_scatter(x, full, sp)}, {0}};
  }
  std::vector<Shape> shapes(const Tensors& in) const override {
    check_spec(full_shape, spec, name());
    if (sliced_shape(spec) != in[0].shape())
      throw ValueError("slice_scatter: values of shape " + shape_str(in[0].shape()) +
                       " do not fit slice of shape " + shape_str(sliced_shape(spec)));
    return {full_shape};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor out = zeros(full_shape, in[0].dtype());
    copy_(slice_view(out, spec), in[0]);
    return {out};
  }
  Tensors vjp(const Tensors&, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {slice(g[0], spec)};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override {
    return {slice_scatter(t[0], full_shape, spec)};
  }
};
FG_REGISTER_PRIMITIVE(SliceScatter::kDesc);

// PyTorch's legacy rule: a 1-d empty tensor (shape (0,)) is skipped, so it joins tensors
// of any rank (old code builds results by concatenating onto torch.tensor([])).
bool legacy_empty(const Tensor& t) { return t.ndim() == 1 && t.shape()[0] == 0; }

// The first input that is not skipped (the reference shape), or the first of all.
size_t concat_ref(const Tensors& in) {
  for (size_t i = 0; i < in.size(); ++i)
    if (!legacy_empty(in[i])) return i;
  return 0;
}

struct Concat : Primitive {
  int64_t axis;
  explicit Concat(int64_t a) : axis(a) {}
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc("concat").inputs(1, PrimitiveDesc::kVariadic).reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  // Every part batched in front (unbatched ones expanded); the legacy empty parts, which
  // contribute nothing, are left out (batched they would no longer be 1-d).
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    const int64_t n = batch_size(in, bdims, name());
    Tensors parts;
    for (size_t i = 0; i < in.size(); ++i) {
      Tensor p = batch_front_or_expand(in[i], bdims[i], n);
      if (p.ndim() == 2 && p.shape()[1] == 0 && in.size() > 1) continue;
      parts.push_back(p);
    }
    if (parts.empty()) parts.push_back(batch_front_or_expand(in[0], bdims[0], n));
    return {{concat(parts, axis + 1)}, {0}};
  }
  std::vector<Shape> shapes(const Tensors& in) const override {
    if (in.empty()) throw ValueError("concat: expected at least one tensor");
    const size_t ref = concat_ref(in);
    Shape s = in[ref].shape();
    for (size_t i = 0; i < in.size(); ++i) {
      const Shape& t = in[i].shape();
      if (in[i].dtype() != in[0].dtype())
        throw TypeError(std::string("concat: dtypes differ (") + dtype_name(in[0].dtype()) + " vs " +
                        dtype_name(in[i].dtype()) + ")");
      if (i == ref || legacy_empty(in[i])) continue;
      bool ok = t.size() == s.size();
      for (size_t d = 0; ok && d < t.size(); ++d) ok = (static_cast<int64_t>(d) == axis) || t[d] == s[d];
      if (!ok)
        throw ValueError("concat: shapes " + shape_str(in[ref].shape()) + " and " + shape_str(t) +
                         " differ outside axis " + std::to_string(axis));
      s[axis] += t[axis];
    }
    return {s};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    int64_t pos = 0;
    for (auto& x : in) {
      if (legacy_empty(x)) continue;  // nothing to copy (and possibly another rank)
      std::vector<SliceSpec> sp;
      for (int64_t d = 0; d < out.ndim(); ++d)
        sp.push_back(d == axis ? SliceSpec{pos, pos + x.shape()[d], 1} : SliceSpec{0, out.shape()[d], 1});
      copy_(slice_view(out, sp), x);
      pos += x.shape()[axis];
    }
    return {out};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g,
              const std::vector<bool>& need) const override {
    Tensors r(x.size());
    int64_t pos = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      if (legacy_empty(x[i])) {
        if (need[i]) r[i] = zeros({0}, g[0].dtype());
        continue;
      }
      if (need[i]) {
        std::vector<SliceSpec> sp;
        for (int64_t d = 0; d < g[0].ndim(); ++d)
          sp.push_back(d == axis ? SliceSpec{pos, pos + x[i].shape()[d], 1}
                                 : SliceSpec{0, g[0].shape()[d], 1});
        r[i] = slice(g[0], sp);
      }
      pos += x[i].shape()[axis];
    }
    return r;
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    Tensors parts;
    for (size_t i = 0; i < x.size(); ++i) parts.push_back(or_zeros(t[i], x[i]));
    return {concat(parts, axis)};
  }
};
FG_REGISTER_PRIMITIVE(Concat::kDesc);

struct Pad : Primitive {
  std::vector<std::pair<int64_t, int64_t>> pads;
  double value;
  std::optional<int64_t> ivalue;  // an exact integer fill (int64 tensors: no rounding through double)
  Pad(std::vector<std::pair<int64_t, int64_t>> p, double v, std::optional<int64_t> iv = std::nullopt)
      : pads(std::move(p)), value(v), ivalue(iv) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("pad").reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    std::vector<std::pair<int64_t, int64_t>> p{{0, 0}};
    p.insert(p.end(), pads.begin(), pads.end());
    return {{apply1(make_prim<Pad>(p, value, ivalue), {batch_front(in[0], bdims[0])})}, {0}};
  }
  std::vector<Shape> shapes(const Tensors& in) const override {
    if (pads.size() != in[0].shape().size())
      throw ValueError("pad: got " + std::to_string(pads.size()) + " (before, after) pairs for shape " +
                       shape_str(in[0].shape()));
    Shape s = in[0].shape();
    for (size_t i = 0; i < s.size(); ++i) {
      if (pads[i].first < 0 || pads[i].second < 0) throw ValueError("pad: negative padding");
      s[i] += pads[i].first + pads[i].second;
    }
    return {s};
  }
  std::vector<SliceSpec> interior(const Shape& in) const {
    std::vector<SliceSpec> sp;
    for (size_t i = 0; i < in.size(); ++i) sp.push_back({pads[i].first, pads[i].first + in[i], 1});
    return sp;
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out =
        ivalue ? full_int(out_shapes[0], *ivalue, in[0].dtype()) : full(out_shapes[0], value, in[0].dtype());
    copy_(slice_view(out, interior(in[0].shape())), in[0]);
    return {out};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {slice(g[0], interior(x[0].shape()))};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override {
    return {pad(t[0], pads, 0.0)};
  }
};
FG_REGISTER_PRIMITIVE(Pad::kDesc);

// Gather/scatter along one axis. The index carries no derivative.
void check_index(const Tensor& idx, int64_t dim, const char* op) {
  if (idx.dtype() != DType::Int64)
    throw TypeError(std::string(op) + ": indices must be int64, got " + dtype_name(idx.dtype()));
  Tensor c = contiguous(idx);
  const int64_t* p = c.data<int64_t>();
  const int64_t bad = kernels::first_out_of_bounds(p, c.numel(), dim);
  if (bad >= 0)
    throw IndexError(std::string(op) + ": index " + std::to_string(p[bad]) +
                     " is out of bounds for axis of size " + std::to_string(dim));
}

// Gather/scatter as (outer, axis, inner) blocks of the contiguous operand: gather copies
// rows of `inner`, scatter adds them.
template <typename T, bool Add>
void gather_scatter(const Tensor& src, const Tensor& dst, int64_t axis, const Tensor& idx, int64_t dim_size) {
  const Tensor& big = Add ? dst : src;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= big.shape()[d];
  for (int64_t d = axis + 1; d < big.ndim(); ++d) inner *= big.shape()[d];
  Tensor ci = contiguous(idx);
  const int64_t n = ci.numel();
  const int64_t st[3] = {(Add ? n : dim_size) * inner, inner, 1};
  if (Add)
    kernels::index_add(src.data<T>(), st, outer, n, inner, ci.data<int64_t>(), dim_size, dst.data<T>());
  else
    kernels::index_select(src.data<T>(), st, outer, dim_size, inner, ci.data<int64_t>(), n, dst.data<T>());
}

Shape gathered_shape(const Shape& x, int64_t axis, const Tensor& idx) {
  Shape s(x.begin(), x.begin() + axis);
  s.insert(s.end(), idx.shape().begin(), idx.shape().end());
  s.insert(s.end(), x.begin() + axis + 1, x.end());
  return s;
}

// Batching index_select/index_add when each example has its own index: the batch folds
// into the indexed axis ((..., B, n, ...) read as (..., B*n, ...)) and example b's indices
// move to b*n + i, so one kernel call serves the batch.
// The permutation taking a batch-in-front tensor's axis 0 to just before axis `axis` + 1.
Axes batch_before(int64_t axis, int64_t ndim) {
  Axes perm;
  for (int64_t d = 1; d <= axis; ++d) perm.push_back(d);
  perm.push_back(0);
  for (int64_t d = axis + 1; d < ndim; ++d) perm.push_back(d);
  return perm;
}
// The index (batch in front) into an axis of n entries, as indices into the folded axis.
Tensor folded_index(const Tensor& idx_front, int64_t n, const char* op) {
  // Bounds per example before folding: an index past n must fail, not reach the next
  // example (an index batched at a lower vmap level is checked there).
  if (!idx_front.is_batched()) check_index(idx_front, n, op);
  const int64_t B = idx_front.shape()[0];
  const Tensor wrapped = where(compare(idx_front, zeros({}, DType::Int64), CmpOp::Lt),
                               add(idx_front, full_int({}, n, DType::Int64)), idx_front);
  Shape os(static_cast<size_t>(idx_front.ndim()), 1);
  os[0] = B;
  return add(wrapped, reshape(arange_int(0, B * n, n, DType::Int64), os));
}

struct IndexSelect : Primitive {
  int64_t axis;
  explicit IndexSelect(int64_t a) : axis(a) {}
  // The VJP scatters through the index, so it reads input 1 (an in-place change to the
  // index after the forward is an error, not a silently wrong gradient).
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc("index_select").inputs(2).nondiff(bit(1)).reads_inputs(bit(1));
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    check_index(in[1], in[0].shape()[axis], name());
    return {gathered_shape(in[0].shape(), axis, in[1])};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    Tensor out = empty(out_shapes[0], in[0].dtype());
    Tensor x = contiguous(detach(in[0]));
    FG_DISPATCH_ALL(x.dtype(), name(),
                    [&] { gather_scatter<scalar_t, false>(x, out, axis, in[1], x.shape()[axis]); });
    return {out};
  }
  // x alone batched: the same selection one axis further. The index alone batched: one
  // selection by the whole index, whose batch axis lands among the index's axes. Both: the
  // fold above.
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    if (bdims[1] < 0) return {{index_select(batch_front(in[0], bdims[0]), axis + 1, in[1])}, {0}};
    if (bdims[0] < 0) return {{index_select(in[0], axis, in[1])}, {axis + bdims[1]}};
    const int64_t B = batch_size(in, bdims, name());
    const Tensor x = batch_front(in[0], bdims[0]);
    Shape folded = x.shape();
    folded.erase(folded.begin());
    const int64_t n = folded[axis];
    folded[axis] = B * n;
    const Tensor idx = folded_index(batch_front(in[1], bdims[1]), n, name());
    return {{index_select(reshape(permute(x, batch_before(axis, x.ndim())), folded), axis, idx)}, {axis}};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {index_add(g[0], x[0].shape(), axis, x[1]), Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {index_select(t[0], axis, x[1])};
  }
};
FG_REGISTER_PRIMITIVE(IndexSelect::kDesc);

struct IndexAdd : Primitive {
  Shape full_shape;
  int64_t axis;
  IndexAdd(Shape s, int64_t a) : full_shape(std::move(s)), axis(a) {}
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc("index_add").inputs(2).nondiff(bit(1)).reads_inputs(bit(1));
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    check_index(in[1], full_shape[axis], name());
    if (gathered_shape(full_shape, axis, in[1]) != in[0].shape())
      throw ValueError("index_add: values of shape " + shape_str(in[0].shape()) + " do not match " +
                       shape_str(gathered_shape(full_shape, axis, in[1])));
    return {full_shape};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor out = zeros(full_shape, in[0].dtype());
    Tensor g = contiguous(detach(in[0]));
    FG_DISPATCH_NUM(g.dtype(), name(),
                    [&] { gather_scatter<scalar_t, true>(g, out, axis, in[1], full_shape[axis]); });
    return {out};
  }
  // Values alone batched: the same sum into a batch of full shapes. A batched index: the
  // fold above (shared values expanded), the (..., B*n, ...) result read back as (..., B, n, ...).
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    const int64_t B = batch_size(in, bdims, name());
    if (bdims[1] < 0) {
      Shape s = full_shape;
      s.insert(s.begin(), B);
      return {{index_add(batch_front(in[0], bdims[0]), s, axis + 1, in[1])}, {0}};
    }
    const int64_t n = full_shape[axis];
    const Tensor idx = folded_index(batch_front(in[1], bdims[1]), n, name());
    const Tensor g = batch_front_or_expand(in[0], bdims[0], B);  // the batch next to the index's axes
    Shape folded = full_shape;
    folded[axis] = B * n;
    const Tensor y = index_add(permute(g, batch_before(axis, g.ndim())), folded, axis, idx);
    Shape unfolded = full_shape;
    unfolded[axis] = n;
    unfolded.insert(unfolded.begin() + axis, B);
    return {{reshape(y, unfolded)}, {axis}};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {index_select(g[0], axis, x[1]), Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {index_add(t[0], full_shape, axis, x[1])};
  }
};
FG_REGISTER_PRIMITIVE(IndexAdd::kDesc);

}  // namespace

Tensor reshape(const Tensor& x, Shape shape) {
  shape = resolve_shape(x.shape(), std::move(shape), "reshape");
  if (shape == x.shape()) return x;
  return apply1(make_prim<Reshape>(shape), {x});
}

Tensor permute(const Tensor& x, const Axes& perm0) {
  if (static_cast<int64_t>(perm0.size()) != x.ndim())
    throw ValueError("permute: permutation of length " + std::to_string(perm0.size()) + " for shape " +
                     shape_str(x.shape()));
  Axes perm;
  std::vector<bool> seen(perm0.size(), false);
  for (auto p : perm0) {
    int64_t a = normalize_axis(p, x.ndim(), "permute");
    if (seen[a]) throw ValueError("permute: repeated axis in permutation");
    seen[a] = true;
    perm.push_back(a);
  }
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<int64_t>(i);
  if (identity) return x;
  return apply1(make_prim<Permute>(perm), {x});
}

Tensor transpose(const Tensor& x, int64_t a, int64_t b) {
  Axes perm(x.ndim());
  std::iota(perm.begin(), perm.end(), 0);
  const int64_t ia = normalize_axis(a, x.ndim(), "transpose"), ib = normalize_axis(b, x.ndim(), "transpose");
  if (x.ndim() == 0) return x;
  std::swap(perm[ia], perm[ib]);
  return permute(x, perm);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  return apply1(make_prim<Expand>(shape), {x});
}

Tensor squeeze(const Tensor& x, const Axes& axes) {
  Shape s;
  std::vector<bool> drop(x.ndim(), false);
  if (axes.empty()) {
    for (int64_t d = 0; d < x.ndim(); ++d) drop[d] = x.shape()[d] == 1;
  } else {
    for (auto a : axes) {
      int64_t d = normalize_axis(a, x.ndim(), "squeeze");
      if (x.ndim() == 0) return x;
      if (x.shape()[d] != 1)
        throw ValueError("squeeze: axis " + std::to_string(a) + " has size " + std::to_string(x.shape()[d]) +
                         " (shape " + shape_str(x.shape()) + ")");
      drop[d] = true;
    }
  }
  for (int64_t d = 0; d < x.ndim(); ++d)
    if (!drop[d]) s.push_back(x.shape()[d]);
  return reshape(x, s);
}

Tensor unsqueeze(const Tensor& x, int64_t axis) {
  int64_t a = normalize_axis(axis, x.ndim() + 1, "unsqueeze");
  Shape s = x.shape();
  s.insert(s.begin() + a, 1);
  return reshape(x, s);
}

Tensor flatten(const Tensor& x, int64_t start, int64_t end) {
  if (x.ndim() == 0) return reshape(x, {1});
  int64_t s = normalize_axis(start, x.ndim(), "flatten"), e = normalize_axis(end, x.ndim(), "flatten");
  if (s > e) throw ValueError("flatten: start axis after end axis");
  Shape out(x.shape().begin(), x.shape().begin() + s);
  int64_t m = 1;
  for (int64_t d = s; d <= e; ++d) m *= x.shape()[d];
  out.push_back(m);
  out.insert(out.end(), x.shape().begin() + e + 1, x.shape().end());
  return reshape(x, out);
}

Tensor slice(const Tensor& x, const std::vector<SliceSpec>& spec) {
  bool whole = spec.size() == x.shape().size();
  for (size_t i = 0; whole && i < spec.size(); ++i)
    whole = spec[i].start == 0 && spec[i].stop == x.shape()[i] && spec[i].step == 1;
  if (whole) return x;
  return apply1(make_prim<Slice>(spec), {x});
}

Tensor slice_scatter(const Tensor& g, const Shape& shape, const std::vector<SliceSpec>& spec) {
  return apply1(make_prim<SliceScatter>(shape, spec), {g});
}

Tensor concat(const Tensors& xs, int64_t axis) {
  if (xs.empty()) throw ValueError("concat: expected a non-empty sequence of tensors");
  for (auto& x : xs)
    if (x.ndim() == 0)
      throw ValueError("concat: zero-dimensional tensors cannot be concatenated (use stack)");
  int64_t a = normalize_axis(axis, xs[concat_ref(xs)].ndim(), "concat");
  if (xs.size() == 1) return xs[0];
  DType d = xs[0].dtype();
  for (auto& x : xs) d = promote(d, x.dtype());
  Tensors ys;
  for (auto& x : xs) ys.push_back(cast(x, d));
  return apply1(make_prim<Concat>(a), ys);
}

Tensor stack(const Tensors& xs, int64_t axis) {
  if (xs.empty()) throw ValueError("stack: expected a non-empty sequence of tensors");
  int64_t a = normalize_axis(axis, xs[0].ndim() + 1, "stack");
  Tensors ys;
  for (auto& x : xs) {
    if (x.shape() != xs[0].shape())
      throw ValueError("stack: all tensors must have the same shape, got " + shape_str(xs[0].shape()) +
                       " and " + shape_str(x.shape()));
    ys.push_back(unsqueeze(x, a));
  }
  return concat(ys, a);
}

Tensors split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  if (x.ndim() == 0) throw ValueError("split: cannot split a zero-dimensional tensor");
  int64_t a = normalize_axis(axis, x.ndim(), "split");
  int64_t total = 0;
  for (auto s : sizes) {
    if (s < 0) throw ValueError("split: negative section size");
    total += s;
  }
  if (total != x.shape()[a])
    throw ValueError("split: sections sum to " + std::to_string(total) + " but axis " + std::to_string(axis) +
                     " of shape " + shape_str(x.shape()) + " has size " + std::to_string(x.shape()[a]));
  Tensors out;
  int64_t pos = 0;
  for (auto s : sizes) {
    std::vector<SliceSpec> sp;
    for (int64_t d = 0; d < x.ndim(); ++d)
      sp.push_back(d == a ? SliceSpec{pos, pos + s, 1} : SliceSpec{0, x.shape()[d], 1});
    out.push_back(slice(x, sp));
    pos += s;
  }
  return out;
}

Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pads, double value) {
  return apply1(make_prim<Pad>(pads, value), {x});
}

Tensor pad_int(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pads, int64_t value) {
  return apply1(make_prim<Pad>(pads, static_cast<double>(value), value), {x});
}

Tensor index_select(const Tensor& x, int64_t axis, const Tensor& idx) {
  if (x.ndim() == 0) throw IndexError("index_select: cannot index a 0-d tensor");
  return apply1(make_prim<IndexSelect>(normalize_axis(axis, x.ndim(), "index_select")), {x, idx});
}

Tensor index_add(const Tensor& g, const Shape& shape, int64_t axis, const Tensor& idx) {
  return apply1(
      make_prim<IndexAdd>(shape, normalize_axis(axis, static_cast<int64_t>(shape.size()), "index_add")),
      {g, idx});
}

Tensor nonzero_flat(const Tensor& mask) {
  Tensor m =
      contiguous(mask.dtype() == DType::Bool ? mask : compare(mask, zeros({}, mask.dtype()), CmpOp::Ne));
  // Bytes are read as bytes and both passes use the same test, so the count and the
  // writes agree whatever the mask holds (entry paths normalise bools to 0/1, but a
  // byte 2 must never size the output differently from the fill).
  const uint8_t* p = reinterpret_cast<const uint8_t*>(m.raw());
  Tensor out;
  run_blocking(m.numel(), [&] {  // not a primitive: the blocking hook, as apply() would
    const int64_t n = kernels::count_nonzero(p, m.numel());
    out = empty({n}, DType::Int64);
    kernels::nonzero_positions(p, m.numel(), out.data<int64_t>(), n);
  });
  return out;
}

}  // namespace fastgrad
