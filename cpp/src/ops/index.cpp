// Indexing: x[key] and x[key] = value, composed of the differentiable ops (slice, squeeze,
// unsqueeze, reshape, permute, index_select, index_add, where) so gradients, tangents and
// version counters come from them and from inplace_, with nothing of their own.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "fastgrad/autodiff.h"
#include "fastgrad/ops.h"
#include "../kernels/index/key.h"

namespace fastgrad {
namespace {
bool is_mask(const IndexItem& k) { return k.kind == IndexKind::Tensor && k.index.dtype() == DType::Bool; }

// An int64 tensor made from values computed here (no grad).
Tensor int_tensor(const Shape& shape, const std::vector<int64_t>& v) {
  Tensor t = empty(shape, DType::Int64);
  if (!v.empty()) std::memcpy(t.data<int64_t>(), v.data(), v.size() * sizeof(int64_t));
  return t;
}

std::vector<int64_t> int_values(const Tensor& t) {
  Tensor c = contiguous(t);
  const int64_t* p = c.data<int64_t>();
  return std::vector<int64_t>(p, p + c.numel());
}

Tensor slice_dim(const Tensor& x, int64_t d, int64_t start, int64_t stop, int64_t step) {
  std::vector<SliceSpec> spec;
  spec.reserve(x.ndim());
  for (int64_t n : x.shape()) spec.push_back({0, n, 1});
  spec[d] = {start, stop, step};
  return slice(x, spec);
}

// x with axes d .. d+n-1 merged into one (n = 0 inserts an axis of size 1).
Tensor merge(const Tensor& x, int64_t d, int64_t n) {
  Shape s(x.shape().begin(), x.shape().begin() + d);
  int64_t size = 1;
  for (int64_t i = d; i < d + n; ++i) size *= x.shape()[i];
  s.push_back(size);
  for (int64_t i = d + n; i < x.ndim(); ++i) s.push_back(x.shape()[i]);
  return reshape(x, s);
}

// PySlice_AdjustIndices: clamps (start, stop) to an axis of length n; returns the length.
int64_t adjust(SliceSpec& s, int64_t n) {
  auto fix = [&](int64_t& v, int64_t lo_neg, int64_t hi) {
    if (v < 0) {
      v = v < -n ? lo_neg : v + n;
    } else if (v >= n) {
      v = hi;
    }
  };
  if (s.step > 0) {
    fix(s.start, 0, n);
    fix(s.stop, 0, n);
    return s.stop > s.start ? (s.stop - s.start - 1) / s.step + 1 : 0;
  }
  fix(s.start, -1, n - 1);
  fix(s.stop, -1, n - 1);
  return s.stop < s.start ? (s.start - s.stop - 1) / (-s.step) + 1 : 0;
}

Shape broadcast_index_shapes(const std::vector<Tensor>& idx) {
  Shape out;
  for (const Tensor& t : idx)
    if (t.ndim() > static_cast<int64_t>(out.size())) out = Shape(t.ndim(), 1);
  for (const Tensor& t : idx)
    for (int64_t i = 0; i < t.ndim(); ++i) {
      int64_t& o = out[out.size() - t.ndim() + i];
      const int64_t n = t.shape()[i];
      if (n == o || n == 1) continue;
      if (o != 1) {
        std::string shapes;
        for (size_t j = 0; j < idx.size(); ++j) shapes += (j ? ", " : "") + shape_str(idx[j].shape());
        throw IndexError("shape mismatch: index arrays of shapes [" + shapes + "] cannot be broadcast");
      }
      o = n;
    }
  return out;
}

// Integer-array and bool-mask indexing: index_select on the merged advanced axes.
Tensor advanced(Tensor x, std::vector<std::pair<int64_t, Tensor>> adv) {
  if (adv.size() == 1 && adv[0].second.dtype() == DType::Bool) {
    const auto& [d, mask] = adv[0];
    Shape dims(x.shape().begin() + d, x.shape().begin() + std::min(d + mask.ndim(), x.ndim()));
    if (dims != mask.shape())
      throw IndexError("boolean index of shape " + shape_str(mask.shape()) + " does not match tensor dims " +
                       shape_str(dims));
    return index_select(merge(x, d, mask.ndim()), d, nonzero_flat(mask));
  }
  // Masks among other advanced indices: 1-d ones become their positions (NumPy's nonzero).
  const bool any_mask =
      std::any_of(adv.begin(), adv.end(), [](const auto& a) { return a.second.dtype() == DType::Bool; });
  for (auto& a : adv) {
    if (a.second.dtype() == DType::Bool && a.second.ndim() == 1) a.second = nonzero_flat(a.second);
    if (any_mask && (a.second.ndim() != 1 || a.second.dtype() == DType::Bool))
      throw IndexError("mixing boolean masks with other advanced indices is not supported");
  }
  bool adjacent = true;
  for (size_t j = 1; j < adv.size(); ++j) adjacent = adjacent && adv[j].first == adv[0].first + int64_t(j);
  const int64_t k = static_cast<int64_t>(adv.size());
  if (!adjacent) {  // NumPy: advanced axes that are not side by side go first
    Axes perm;
    for (const auto& a : adv) perm.push_back(a.first);
    for (int64_t i = 0; i < x.ndim(); ++i)
      if (std::none_of(adv.begin(), adv.end(), [&](const auto& a) { return a.first == i; }))
        perm.push_back(i);
    x = permute(x, perm);
  }
  const int64_t d0 = adjacent ? adv[0].first : 0;
  // Inside vmap a per-example index has no values to linearise here: one index tensor is
  // index_select's own (its batching rule checks each example's bounds); several are refused.
  if (std::any_of(adv.begin(), adv.end(), [](const auto& a) { return a.second.is_batched(); })) {
    if (k != 1)
      throw IndexError(
          "vmap: indexing with several index tensors, one of them per example, is not supported "
          "(index one axis at a time)");
    return index_select(x, d0, adv[0].second);
  }
  std::vector<Tensor> idx;
  for (const auto& a : adv) idx.push_back(a.second);
  const Shape bs = broadcast_index_shapes(idx);
  std::vector<int64_t> lin(shape_numel(bs), 0);
  for (int64_t j = 0; j < k; ++j) {
    const int64_t n = x.shape()[d0 + j];
    const std::vector<int64_t> v = int_values(expand(idx[j], bs));
    if (kernels::accumulate_linear_index(v.data(), static_cast<int64_t>(lin.size()), n, lin.data()) >= 0)
      throw IndexError("index out of bounds for axis " + std::to_string(adv[j].first) + " with size " +
                       std::to_string(n) + " (shape " + shape_str(x.shape()) + ")");
  }
  return index_select(merge(x, d0, k), d0, int_tensor(bs, lin));
}

// x[key]; `negative_steps`: allow slices with step < 0 (setitem's position maps, as NumPy
// assignment did); getitem rejects them, as before.
Tensor index_impl(const Tensor& self, const IndexKey& key, bool negative_steps) {
  int64_t consumed = 0, ellipses = 0;
  for (const IndexItem& k : key) {
    if (k.kind == IndexKind::Tensor && k.index.dtype() != DType::Int64 && k.index.dtype() != DType::Bool)
      throw IndexError("tensors used as indices must be int64 or bool, got " +
                       std::string(dtype_name(k.index.dtype())));
    consumed += is_mask(k)                                                     ? k.index.ndim()
                : (k.kind == IndexKind::None || k.kind == IndexKind::Ellipsis) ? 0
                                                                               : 1;
    ellipses += k.kind == IndexKind::Ellipsis;
  }
  if (ellipses > 1) throw IndexError("an index can only have a single ellipsis ('...')");
  if (consumed > self.ndim())
    throw IndexError("too many indices for tensor of shape " + shape_str(self.shape()) + ": " +
                     std::to_string(consumed) + " given");
  Tensor x = self;
  int64_t d = 0;
  std::vector<std::pair<int64_t, Tensor>> adv;
  for (const IndexItem& k : key) {
    switch (k.kind) {
      case IndexKind::Ellipsis:
        d += self.ndim() - consumed;
        consumed = self.ndim();
        break;
      case IndexKind::None:
        x = unsqueeze(x, d++);
        break;
      case IndexKind::Slice: {
        SliceSpec s = k.slice;
        if (s.step == 0) throw ValueError("slice step cannot be zero");
        const int64_t len = adjust(s, x.shape()[d]);
        if (s.step > 0) {
          x = slice_dim(x, d, s.start, std::max(s.stop, s.start), s.step);
        } else if (negative_steps) {
          std::vector<int64_t> pos(len);
          kernels::arithmetic_positions(s.start, s.step, len, pos.data());
          x = index_select(x, d, int_tensor({len}, pos));
        } else {
          throw IndexError("negative slice steps are not supported");
        }
        ++d;
        break;
      }
      case IndexKind::Int: {
        const int64_t n = x.shape()[d], i = k.value < 0 ? k.value + n : k.value;
        if (i < 0 || i >= n)
          throw IndexError("index " + std::to_string(k.value) + " is out of bounds for axis " +
                           std::to_string(d) + " with size " + std::to_string(n) + " (shape " +
                           shape_str(self.shape()) + ")");
        x = squeeze(slice_dim(x, d, i, i + 1, 1), {d});
        break;
      }
      case IndexKind::Tensor:
        adv.emplace_back(d, k.index);
        d += is_mask(k) ? k.index.ndim() : 1;
        break;
    }
  }
  return adv.empty() ? x : advanced(x, std::move(adv));
}

// `value` expanded to `shape` (leading size-1 axes beyond shape's rank dropped, as NumPy).
Tensor broadcast_value(Tensor v, const Shape& shape) {
  while (v.ndim() > static_cast<int64_t>(shape.size()) && v.shape()[0] == 1) v = squeeze(v, {0});
  return expand(v, shape);
}

// `old` with `value` written at `key`, out of place and differentiable in both.
Tensor scatter(const Tensor& old, const IndexKey& key, const Tensor& value) {
  const int64_t n = old.numel();
  const Tensor pos = index_impl(reshape(arange_int(0, n, 1, DType::Int64), old.shape()), key, true);
  const Tensor val = value.dtype() != old.dtype() ? cast(value, old.dtype()) : value;
  const Tensor vflat = reshape(broadcast_value(val, pos.shape()), {-1});
  // Repeated positions: the last write wins (NumPy's order).
  const std::vector<int64_t> flat = int_values(pos);
  std::vector<int64_t> last(n), uniq(n), keep(n);
  std::vector<uint8_t> mask(n);
  const int64_t u = kernels::last_writes(flat.data(), static_cast<int64_t>(flat.size()), n, last.data(),
                                         uniq.data(), keep.data(), mask.data());
  uniq.resize(u);
  keep.resize(u);
  const Tensor placed =
      index_add(index_select(vflat, 0, int_tensor({u}, keep)), {n}, 0, int_tensor({u}, uniq));
  Tensor m = empty(old.shape(), DType::Bool);
  if (n) std::memcpy(m.raw(), mask.data(), n);
  return where(m, reshape(placed, old.shape()), old);
}

// The storage offset of every element of x, in x's shape.
Tensor storage_offsets(const Tensor& x) {
  Tensor off = empty(x.shape(), DType::Int64);
  kernels::strided_offsets(x.shape().data(), x.strides().data(), x.ndim(), x.offset(), off.data<int64_t>());
  return off;
}
}  // namespace

Tensor index(const Tensor& x, const IndexKey& key) { return index_impl(x, key, false); }

void index_put_(const Tensor& x, const IndexKey& key, const Tensor& value) {
  const bool tangents = !x.impl()->tangents.empty() || !value.impl()->tangents.empty();
  if ((grad_enabled() && (x.requires_grad() || value.requires_grad())) || tangents) {
    // Recorded on the tape (and pushed forward) like every in-place op; inplace_ checks the rules.
    inplace_(x, "__setitem__", x.dtype(), false, [&](const Tensor& old) { return scatter(old, key, value); });
    return;
  }
  // fastgrad's cast (NaN -> 0, saturating at the int64 bounds, canonical bools), as copy_ and astype.
  Tensor v = value.dtype() != x.dtype() ? cast(detach(value), x.dtype()) : detach(value);
  const bool basic = std::none_of(key.begin(), key.end(), [](const IndexItem& k) {
    return k.kind == IndexKind::Tensor || (k.kind == IndexKind::Slice && k.slice.step < 0);
  });
  if (basic) {  // x[key] is usually a view: write through it (squeeze may have copied)
    const Tensor view = index_impl(detach(x), key, false);
    if (view.impl()->storage == x.impl()->storage) {
      copy_(view, broadcast_value(v, view.shape()));
      return;
    }
  }
  if (x.impl()->storage->readonly) throw ValueError("__setitem__: destination is read-only");
  if (x.is_batched()) {  // inside vmap: the functional form, written to the physical value by copy_
    copy_(x, scatter(x, key, v));
    return;
  }
  Tensor pos;
  {
    GradModeGuard no_grad(false);
    pos = index_impl(storage_offsets(x), key, true);
  }
  v = broadcast_value(v, pos.shape());
  v = v.impl()->storage == x.impl()->storage ? clone(v) : contiguous(v);  // NumPy reads before it writes
  const std::vector<int64_t> at = int_values(pos);
  const size_t isz = itemsize(x.dtype());
  char* base = static_cast<char*>(x.impl()->storage->data);
  const char* src = static_cast<const char*>(v.raw());
  kernels::scatter_elements(base, at.data(), static_cast<int64_t>(at.size()), src, isz);
  x.impl()->storage->version++;
}
}  // namespace fastgrad
