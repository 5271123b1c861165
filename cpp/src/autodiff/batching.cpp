// vmap's machinery (batching.h): the level stack, batched tensors, the two primitives
// that enter and leave a level, the engine's call into batching rules, and the helpers
// the rules in cpp/src/ops share.
#include "fastgrad/batching.h"

#include <algorithm>
#include <atomic>
#include <string>

#include "../core/block_pool.h"
#include "../ops/common.h"
#include "batching_internal.h"
#include "fastgrad/autodiff.h"

namespace fastgrad {
using namespace detail;

void throw_batched_access(const TensorImpl* t) {
  throw RuntimeError(
      "vmap: an operation needs the values of a batched tensor of per-example shape " + shape_str(t->shape) +
      ", which has none of its own inside vmap (use fastgrad ops; item(), numpy(), in-place writes and "
      "Python control flow on values cannot be batched)");
}

namespace {
thread_local std::vector<int64_t> tl_vmap_levels;
std::atomic<int64_t> g_next_vmap_level{1};

// Gradients and tangents off while batching rules and the wrap/unwrap moves run: the
// tape and the tangents live on the logical tensors.
struct PhysicalScope {
  GradModeGuard grad{false};
  int64_t prev_visible = hide_jvp_levels();
  ~PhysicalScope() { restore_jvp_levels(prev_visible); }
};

Tensor make_batched(const Tensor& value, int64_t bdim, int64_t level) {
  auto t = make_pooled<TensorImpl>();
  Shape s = value.shape();
  s.erase(s.begin() + bdim);
  t->storage = value.impl()->storage;
  t->strides = contiguous_strides(s);
  t->shape = std::move(s);
  t->dtype = value.dtype();
  t->bvalue = value.impl();
  t->blevel = level;
  t->bdim = bdim;
  return Tensor(std::move(t));
}

// The physical axis of logical axis `a` of a tensor batched on physical axis `b`.
int64_t phys_axis(int64_t a, int64_t b) { return a < b ? a : a + 1; }

// x (any tensor: plain, or batched at any levels) with a new batch level `level` made of
// its axis `bdim`, kept beneath higher levels so wrappers stay ordered outermost-highest.
Tensor batch_into(const Tensor& x, int64_t bdim, int64_t level) {
  const TensorImpl* p = x.get();
  if (!p->bvalue || p->blevel < level) return make_batched(detach(x), bdim, level);
  if (p->blevel == level) throw ValueError("vmap: a tensor is already batched at this level");
  const int64_t inner_axis = phys_axis(bdim, p->bdim);
  Tensor inner = batch_into(Tensor(p->bvalue), inner_axis, level);
  const int64_t outer_bdim = p->bdim < inner_axis ? p->bdim : p->bdim - 1;
  return make_batched(inner, outer_bdim, p->blevel);
}

// The inverse: `level`'s batch axis of y as logical axis `out_dim` (broadcast to `size`
// when y is not batched there).
Tensor unbatch_from(const Tensor& y, int64_t level, int64_t out_dim, int64_t size) {
  const TensorImpl* p = y.get();
  if (!p->bvalue || p->blevel < level) {
    Shape s = y.shape();
    s.insert(s.begin() + out_dim, size);
    return expand(unsqueeze(y, out_dim), s);
  }
  if (p->blevel == level) return movedim(Tensor(p->bvalue), p->bdim, out_dim);
  // Deeper: out_dim is an axis of the result's logical shape at p's level.
  const int64_t outer_bdim = p->bdim < out_dim ? p->bdim : p->bdim + 1;  // in the result's physical axes
  const int64_t inner_out = phys_axis(out_dim, outer_bdim);
  Tensor inner = unbatch_from(Tensor(p->bvalue), level, inner_out, size);
  return make_batched(inner, outer_bdim, p->blevel);
}

int64_t size_at(const Tensor& t, int64_t level) {
  for (const TensorImpl* p = t.get(); p && p->bvalue; p = p->bvalue.get())
    if (p->blevel == level) return p->bvalue->shape[p->bdim];
  return 1;
}

// Enters a level: the logical view of x's axis `bdim`.
struct VmapWrap final : Primitive {
  int64_t bdim, level;
  VmapWrap(int64_t b, int64_t l) : bdim(b), level(l) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("vmap_wrap").reads_inputs(0).batch_transparent();
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    Shape s = in[0].shape();
    s.erase(s.begin() + bdim);
    return {s};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    PhysicalScope scope;
    return {batch_into(in[0], bdim, level)};
  }
  Tensors vjp(const Tensors& in, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {vmap_unwrap(g[0], level, bdim, in[0].shape()[bdim])};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override {
    return {vmap_wrap(t[0], bdim, level)};
  }
};
FG_REGISTER_PRIMITIVE(VmapWrap::kDesc);

// Leaves a level: the physical value with the batch axis at `out_dim`.
struct VmapUnwrap final : Primitive {
  int64_t level, out_dim, size;
  bool batched;  // the input was batched at `level` (else it was broadcast)
  VmapUnwrap(int64_t l, int64_t o, int64_t n, bool b) : level(l), out_dim(o), size(n), batched(b) {}
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("vmap_unwrap").reads_inputs(0).batch_transparent();
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override {
    Shape s = in[0].shape();
    s.insert(s.begin() + out_dim, batched ? size_at(in[0], level) : size);
    return {s};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    PhysicalScope scope;
    return {unbatch_from(in[0], level, out_dim, size)};
  }
  Tensors vjp(const Tensors&, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {batched ? vmap_wrap(g[0], out_dim, level) : sum(g[0], {out_dim}, false)};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override {
    return {vmap_unwrap(t[0], level, out_dim, size)};
  }
};
FG_REGISTER_PRIMITIVE(VmapUnwrap::kDesc);
}  // namespace

int64_t push_vmap_level(int64_t size) {
  if (size < 0) throw ValueError("vmap: negative axis size " + std::to_string(size));
  const int64_t l = g_next_vmap_level++;
  tl_vmap_levels.push_back(l);
  return l;
}
void pop_vmap_level(int64_t level) {
  auto it = std::find(tl_vmap_levels.begin(), tl_vmap_levels.end(), level);
  if (it != tl_vmap_levels.end()) tl_vmap_levels.erase(it);
}
const std::vector<int64_t>& vmap_levels() { return tl_vmap_levels; }

bool batched_at(const Tensor& t, int64_t level) {
  for (const TensorImpl* p = t.get(); p && p->bvalue; p = p->bvalue.get())
    if (p->blevel == level) return true;
  return false;
}

Tensor vmap_wrap(const Tensor& x, int64_t bdim, int64_t level) {
  const int64_t b = normalize_axis(bdim, x.ndim(), "vmap");
  if (batched_at(x, level)) throw ValueError("vmap: a tensor is already batched at this level");
  return apply1(make_prim<VmapWrap>(b, level), {x});
}

Tensor vmap_unwrap(const Tensor& y, int64_t level, int64_t out_dim, int64_t size) {
  const int64_t d = normalize_axis(out_dim, y.ndim() + 1, "vmap (out_axes)");
  return apply1(make_prim<VmapUnwrap>(level, d, size, batched_at(y, level)), {y});
}

Tensor sum_out_level(const Tensor& g, int64_t level) {
  if (!batched_at(g, level)) return g;
  return sum(vmap_unwrap(g, level, 0, size_at(g, level)), {0}, false);
}

namespace {
// The highest level among the inputs, and each input's physical value there (bdims[i] its
// batch axis) or the input itself (-1: not batched at that level).
int64_t physical_inputs(const Tensors& in, Tensors* phys, std::vector<int64_t>* bdims) {
  int64_t level = 0;
  for (const auto& t : in)
    if (t.defined() && t.impl()->bvalue) level = std::max(level, t.impl()->blevel);
  phys->assign(in.size(), Tensor());
  bdims->assign(in.size(), -1);
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i].defined() && in[i].impl()->bvalue && in[i].impl()->blevel == level) {
      (*phys)[i] = Tensor(in[i].impl()->bvalue);
      (*bdims)[i] = in[i].impl()->bdim;
    } else {
      (*phys)[i] = in[i];
    }
  }
  return level;
}
}  // namespace

Tensor vmap_call_elementwise(const Tensors& in, const std::function<Tensor(const Tensors&)>& f) {
  if (!any_batched(in)) return Tensor();
  Tensors phys;
  std::vector<int64_t> bdims;
  const int64_t level = physical_inputs(in, &phys, &bdims);
  Tensor out;
  {
    PhysicalScope scope;
    out = f(batch_aligned(phys, bdims));
  }
  return make_batched(out, 0, level);
}

Tensors vmap_call_leading(const Tensors& in, const std::function<Tensors(const Tensors&)>& f) {
  if (!any_batched(in)) return {};
  Tensors phys;
  std::vector<int64_t> bdims;
  const int64_t level = physical_inputs(in, &phys, &bdims);
  const int64_t n = batch_size(phys, bdims, "vmap");
  Tensors out;
  {
    PhysicalScope scope;
    for (size_t i = 0; i < phys.size(); ++i)
      if (phys[i].defined()) phys[i] = batch_front_or_expand(phys[i], bdims[i], n);
    out = f(phys);
  }
  for (auto& o : out) o = make_batched(o, 0, level);
  return out;
}

void copy_into_batched(const Tensor& dst, const Tensor& src) {
  const TensorImpl* p = dst.get();
  const Tensor phys(p->bvalue);
  Tensor ps;
  {
    // src in dst's logical shape (broadcast), then in dst's physical layout: its batch axis
    // at dst's (broadcast along it when src is the same for every example). A src batched
    // at a deeper level than dst stays batched there, so the copy below refuses it.
    PhysicalScope scope;
    ps = unbatch_from(expand(detach(src), dst.shape()), p->blevel, p->bdim, phys.shape()[p->bdim]);
  }
  copy_(phys, ps);  // phys may itself be batched at a lower level: the same again
}

namespace detail {
Tensors batched_forward(const PrimPtr& prim, const Tensors& in, const std::vector<Shape>& shapes) {
  Tensors phys;
  std::vector<int64_t> bdims;
  const int64_t level = physical_inputs(in, &phys, &bdims);
  Batched r;
  {
    PhysicalScope scope;
    r = prim->vmap(phys, bdims, prim);
  }
  const bool check = !shapes.empty();
  if (r.out.size() != r.bdims.size() || (check && r.out.size() != shapes.size()))
    throw RuntimeError(std::string(prim->name()) + ": its batching rule returned " +
                       std::to_string(r.out.size()) + " outputs with " + std::to_string(r.bdims.size()) +
                       " batch axes, expected " + std::to_string(shapes.size()));
  Tensors out(r.out.size());
  for (size_t j = 0; j < r.out.size(); ++j) {
    Tensor o = r.out[j];
    if (r.bdims[j] >= 0) {
      const int64_t b = r.bdims[j];
      Shape s = o.shape();
      s.erase(s.begin() + b);
      if (check && s != shapes[j])
        throw RuntimeError(std::string(prim->name()) + ": its batching rule gave per-example shape " +
                           shape_str(s) + " for output " + std::to_string(j) + ", expected " +
                           shape_str(shapes[j]));
      out[j] = make_batched(o, b, level);
    } else {
      if (check && o.shape() != shapes[j])
        throw RuntimeError(std::string(prim->name()) + ": its batching rule gave shape " +
                           shape_str(o.shape()) + " for unbatched output " + std::to_string(j) +
                           ", expected " + shape_str(shapes[j]));
      out[j] = o.impl().use_count() == 1 && !o.impl()->grad_fn ? o : detach(o);  // a fresh impl for the tape
    }
  }
  return out;
}
}  // namespace detail

Batched Primitive::vmap(const Tensors&, const std::vector<int64_t>&, const PrimPtr&) const {
  throw RuntimeError(std::string(name()) + ": no batching rule (vmap)");
}

int64_t batch_size(const Tensors& in, const std::vector<int64_t>& bdims, const char* op) {
  int64_t n = -1;
  for (size_t i = 0; i < in.size(); ++i) {
    if (bdims[i] < 0) continue;
    const int64_t s = in[i].shape()[bdims[i]];
    if (n >= 0 && s != n)
      throw ValueError(std::string(op) + " (vmap): batched inputs have batch sizes " + std::to_string(n) +
                       " and " + std::to_string(s));
    n = s;
  }
  return n;
}

Tensor movedim(const Tensor& x, int64_t from, int64_t to) {
  if (from == to) return x;
  Axes perm;
  for (int64_t i = 0; i < x.ndim(); ++i)
    if (i != from) perm.push_back(i);
  perm.insert(perm.begin() + to, from);
  return permute(x, perm);
}

Tensor batch_front(const Tensor& x, int64_t bdim) { return bdim <= 0 ? x : movedim(x, bdim, 0); }

Tensor batch_front_or_expand(const Tensor& x, int64_t bdim, int64_t size) {
  if (bdim >= 0) return batch_front(x, bdim);
  Shape s = x.shape();
  s.insert(s.begin(), size);
  return expand(unsqueeze(x, 0), s);
}

Axes batch_axes(const Axes& logical, int64_t logical_ndim, const char* op) {
  Axes r;
  r.reserve(logical.size());
  for (int64_t a : logical) r.push_back(batch_axis(a, logical_ndim, op));
  return r;
}

Tensors batch_aligned(const Tensors& in, const std::vector<int64_t>& bdims) {
  int64_t rank = 0;
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i].defined()) rank = std::max<int64_t>(rank, in[i].ndim() - (bdims[i] >= 0 ? 1 : 0));
  Tensors x(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].defined() || bdims[i] < 0) {
      x[i] = in[i];
      continue;
    }
    Tensor f = batch_front(in[i], bdims[i]);
    const int64_t pad = rank - (f.ndim() - 1);
    if (pad > 0) {
      Shape s = f.shape();
      for (int64_t k = 0; k < pad; ++k) s.insert(s.begin() + 1, 1);  // logical axes stay right-aligned
      f = reshape(f, s);
    }
    x[i] = f;
  }
  return x;
}

Batched vmap_elementwise(const PrimPtr& self, const Tensors& in, const std::vector<int64_t>& bdims) {
  Tensors out = apply(self, batch_aligned(in, bdims));
  return {out, std::vector<int64_t>(out.size(), 0)};
}

Batched vmap_leading(const PrimPtr& self, const Tensors& in, const std::vector<int64_t>& bdims) {
  const int64_t n = batch_size(in, bdims, self->name());
  Tensors x(in.size());
  for (size_t i = 0; i < in.size(); ++i)
    x[i] = in[i].defined() ? batch_front_or_expand(in[i], bdims[i], n) : in[i];
  Tensors out = apply(self, std::move(x));
  return {out, std::vector<int64_t>(out.size(), 0)};
}

}  // namespace fastgrad
