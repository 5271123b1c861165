// In-place ops: one mechanism for all of them (add_, sub_, mul_, div_, pow_, copy_,
// fill_, zero_, clamp_, the augmented operators and __setitem__).
//
// An in-place op is recorded like any other op: its new value is computed out of place
// from a snapshot of the target's old autograd identity, the result is written into the
// target's storage (bumping the version, so nodes that saved the old values refuse to
// run backward), and the target's history is rebased onto a fresh "op_" node. Nodes
// recorded before the rebase still mean the old value: the engine follows the rebase
// back for them (edge_input below), so `y = b + 1; b.mul_(2)` keeps y's gradient right.
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "forward.h"
#include "fastgrad/autodiff.h"
#include "fastgrad/ops.h"

namespace fastgrad {
uint64_t peek_node_seq();  // engine.cpp

namespace {

// The node an in-place op rebases its target onto. inputs = {new value, old identity}:
// the gradient flows to the new value; the old identity gets zeros when the op
// overwrote it (copy_/fill_/zero_, as PyTorch's CopyBackwards/ZeroBackward) and
// nothing otherwise (the new value's own graph already reaches it).
struct InplaceMark : Primitive {
  std::string op;
  bool overwrites;
  // The old identity again, kept here because backward releases a node's inputs while
  // older consumers of the target, processed after this node, still need to find it.
  Tensor prev;
  InplaceMark(std::string o, bool ow, Tensor p) : op(std::move(o)), overwrites(ow), prev(std::move(p)) {}
  // A chain of in-place ops (prev -> its grad_fn -> that node's prev ...) is released
  // iteratively: a nested destructor only queues its prev on the outermost one's list.
  ~InplaceMark() override {
    thread_local std::vector<Tensor>* pending = nullptr;
    if (pending) {
      pending->push_back(std::move(prev));
      return;
    }
    std::vector<Tensor> list;
    pending = &list;
    list.push_back(std::move(prev));
    while (!list.empty()) {
      Tensor t = std::move(list.back());
      list.pop_back();
    }
    pending = nullptr;
  }
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("inplace").inputs(2).reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  const char* name() const override { return op.c_str(); }
  std::vector<Shape> shapes(const Tensors& in) const override { return {in[0].shape()}; }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    return {make_view(in[0], in[0].shape(), in[0].strides(), in[0].offset())};
  }
  // vmap: the new value's physical value, as forward passes the value itself.
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr&) const override {
    return {{make_view(in[0], in[0].shape(), in[0].strides(), in[0].offset())}, {bdims[0]}};
  }
  Tensors vjp(const Tensors& in, const Tensors&, const Tensors& g,
              const std::vector<bool>& need) const override {
    return {g[0], overwrites && need[1] ? zeros_like(in[1]) : Tensor()};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override { return {t[0]}; }
};

int category(DType d) { return d == DType::Bool ? 0 : is_floating(d) ? 2 : 1; }

// PyTorch's names, so the messages read like the ones users search for.
const char* torch_name(DType d) {
  switch (d) {
    case DType::Float32:
      return "Float";
    case DType::Float64:
      return "Double";
    case DType::Int64:
      return "Long";
    case DType::Bool:
      return "Bool";
  }
  return "?";
}

// A snapshot of `t`'s value and autograd identity: the same storage and layout, the
// same grad_fn/output_nr/requires_grad and tangents, as a distinct TensorImpl.
Tensor identity_alias(const Tensor& t) {
  const TensorImpl& s = *t.impl();
  TensorPtr a = alias_impl(s);
  a->requires_grad = s.requires_grad;
  a->grad_fn = s.grad_fn;
  a->output_nr = s.output_nr;
  a->tangents = s.tangents;
  for (auto& kv : a->tangents) register_tangent_owner(kv.first, a);
  return Tensor(std::move(a));
}

// Whether a node recorded while computing the new value (seq >= since) saved `a`'s
// value for its backward; those nodes are reachable from `from`'s node.
bool saved_by_new_nodes(const Tensor& from, const TensorImpl* a, uint64_t since) {
  std::vector<Node*> stack;
  if (from.impl()->grad_fn && from.impl()->grad_fn->seq >= since) stack.push_back(from.impl()->grad_fn.get());
  std::vector<Node*> seen;
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (std::find(seen.begin(), seen.end(), n) != seen.end()) continue;
    seen.push_back(n);
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      const Tensor& x = n->inputs[i];
      if (!x.defined()) continue;
      if (x.get() == a && i < n->input_versions.size() && n->input_versions[i] >= 0) return true;
      if (x.impl()->grad_fn && x.impl()->grad_fn->seq >= since) stack.push_back(x.impl()->grad_fn.get());
    }
  }
  return false;
}

bool is_view_of_tracked(const TensorImpl& t) {
  if (!t.grad_fn || !t.grad_fn->prim->is_view()) return false;
  const Node& n = *t.grad_fn;
  if (n.released || n.inputs.empty()) return true;  // cannot tell any more: assume it is
  return n.inputs[0].defined() && n.inputs[0].impl()->storage == t.storage;
}

// Whether a tensor other than `t` and its own in-place history (the identity aliases the
// marks keep, and `prev`) shares t's memory: a view of t, or the base t is a view of.
bool has_other_aliases(const TensorImpl& t, const Tensor& prev) {
  long internal = 1;  // t itself
  if (prev.defined() && prev.impl()->storage == t.storage) ++internal;
  const Node* n = t.grad_fn.get();
  while (n) {
    const auto* mark = dynamic_cast<const InplaceMark*>(n->prim.get());
    if (!mark || !mark->prev.defined()) break;
    if (mark->prev.impl()->storage == t.storage) ++internal;
    n = mark->prev.impl()->grad_fn.get();
  }
  return t.storage.use_count() > internal;
}

}  // namespace

bool can_cast_inplace(DType from, DType to) { return category(from) <= category(to); }

DType inplace_result_type(const Tensor& self, const Tensor& other, bool true_div) {
  DType a = self.dtype(), b = other.dtype();
  DType r;
  // A 0-d operand (a Python number, a 0-d tensor) only decides the result when it is of a
  // higher category than the tensor (PyTorch's rule).
  if (other.ndim() == 0 && self.ndim() > 0 && category(b) <= category(a))
    r = a;
  else if (other.ndim() > 0 && self.ndim() == 0 && category(a) <= category(b))
    r = b;
  else if (a == DType::Bool && b == DType::Bool)
    r = DType::Bool;
  else
    r = promote(a, b);
  if (true_div && !is_floating(r)) r = DType::Float32;
  return r;
}

void inplace_(const Tensor& self, const char* op, DType result, bool overwrites, const InplaceFn& fn) {
  TensorImpl& t = *self.impl();
  const std::string name(op);
  if (t.storage->readonly)
    throw ValueError(name + ": the tensor (shape " + shape_str(t.shape) + ") is read-only");
  if (!can_cast_inplace(result, t.dtype))
    throw RuntimeError(name + ": result type " + torch_name(result) +
                       " can't be cast to the desired output type " + torch_name(t.dtype) +
                       " (an in-place op keeps the tensor's dtype " + dtype_name(t.dtype) +
                       "; use the out-of-place op)");
  for (size_t i = 0; i < t.shape.size(); ++i)
    if (t.strides[i] == 0 && t.shape[i] > 1)
      throw RuntimeError(name +
                         ": unsupported operation: more than one element of the written-to tensor (shape " +
                         shape_str(t.shape) + ", strides " + shape_str(t.strides) +
                         ") refers to a single memory location; clone() it first");
  const bool grad = grad_enabled();
  if (grad && t.requires_grad && !t.grad_fn)
    throw RuntimeError(name + ": a leaf tensor that requires grad (shape " + shape_str(t.shape) +
                       ") is used in an in-place operation; do the update under fg.no_grad()");
  if (grad && t.requires_grad && is_view_of_tracked(t))
    throw RuntimeError(name + ": in-place operation on a view (" + t.grad_fn->prim->name() + ", shape " +
                       shape_str(t.shape) +
                       ") of a tensor that requires grad is not supported: the base's "
                       "gradient would not see it; apply the op to the base, or clone() the view first");

  Tensor self_in = self, prev;
  uint64_t since = 0;
  if (grad) {
    prev = identity_alias(self);
    self_in = prev;
    since = peek_node_seq();
  }
  Tensor r = fn(self_in);
  // copy_/fill_ hand back their operand, which may be the target itself (b.copy_(b)):
  // the new value is then the old identity. Recording the target as the mark's own input
  // would make the mark an input of itself, a cycle whose gradient is silently dropped.
  if (r.get() == self.get()) r = self_in;
  if (r.dtype() != t.dtype) r = cast(r, t.dtype);
  if (r.shape() != t.shape) {
    if (broadcast_shapes(t.shape, r.shape(), op) != t.shape)
      throw ValueError(name + ": output with shape " + shape_str(t.shape) +
                       " doesn't match the broadcast shape " +
                       shape_str(broadcast_shapes(t.shape, r.shape(), op)));
    r = expand(r, t.shape);
  }
  // Forward mode: the new tangent goes to the target only, so an alias (a view of it, or
  // its base) would keep a stale tangent for the values this write changes: refuse, as
  // reverse mode refuses views (a silently wrong jvp/jacfwd/hvp otherwise).
  if ((!t.tangents.empty() || !r.impl()->tangents.empty()) && has_other_aliases(t, prev))
    throw RuntimeError(
        name + ": in-place operation in forward mode (jvp/jacfwd/hvp) on a tensor (shape " +
        shape_str(t.shape) +
        ") that shares its memory with another tensor (a view or its base) "
        "is not supported: the other's tangent would not see it; apply the op out of place, or "
        "clone() the view first");
  if (grad && (r.requires_grad() || t.requires_grad)) {
    // An untracked tensor sharing storage with others (a view, or the base of views)
    // would need its aliases rebased too, which this engine cannot do.
    if (!t.requires_grad && t.storage.use_count() > 2)
      throw RuntimeError(name +
                         ": in-place operation with an operand that requires grad on a tensor (shape " +
                         shape_str(t.shape) +
                         ") that shares its memory with another tensor (a view or its base) "
                         "is not supported; clone() it first");
    // The new value's nodes read the old value at backward: keep a copy of it.
    const bool saved = saved_by_new_nodes(r, prev.get(), since);
    if (saved && prev.impl()->bvalue) {
      // Inside vmap the old values are the physical value's: keep a copy of that.
      const int64_t version = prev.impl()->storage->version.load();
      GradModeGuard no_grad(false);
      Tensor copy = clone(Tensor(prev.impl()->bvalue));
      copy.impl()->storage->version.store(version);
      prev.impl()->bvalue = copy.impl();
      prev.impl()->storage = copy.impl()->storage;
    } else if (saved) {
      auto& old = prev.impl()->storage;
      auto copy = Storage::allocate(old->nbytes);
      if (old->nbytes) std::memcpy(copy->data, old->data, old->nbytes);
      copy->version.store(old->version.load());
      old = copy;
    }
    r = apply1(std::make_shared<InplaceMark>(name, overwrites, prev), {r, prev});
  }
  copy_(self, detach(r));  // bumps the version; copies via a temporary if r aliases self
  // Under no_grad only the data changes: copy_/fill_ hand back their operand itself, whose
  // history (a tracked source) must not become the target's.
  if (grad && r.impl()->grad_fn) {
    t.grad_fn = r.impl()->grad_fn;
    t.output_nr = r.impl()->output_nr;
    t.requires_grad = true;
  }
  if (!t.tangents.empty() || !r.impl()->tangents.empty()) {
    t.tangents.clear();
    for (auto& kv : r.impl()->tangents) self.set_tangent(kv.first, Tensor(kv.second));
  }
}

const Tensor& edge_input(const Node& consumer, const Tensor& x) {
  const Tensor* cur = &x;
  // Only an in-place rebase gives a tensor a grad_fn newer than a node that consumed it.
  while (cur->impl()->grad_fn && cur->impl()->grad_fn->seq > consumer.seq) {
    const Node& fn = *cur->impl()->grad_fn;
    const auto* mark = dynamic_cast<const InplaceMark*>(fn.prim.get());
    if (!mark) break;
    if (consumer.prim->is_view())
      throw RuntimeError(std::string("backward: ") + consumer.prim->name() +
                         " took a view of a tensor (shape " + shape_str(cur->shape()) +
                         ") that was later modified by an in-place operation (" + fn.prim->name() +
                         "); the view's gradient is not tracked through it. Take the view after "
                         "the in-place op, or clone() it");
    cur = &mark->prev;
  }
  return *cur;
}

// ---- the ops
namespace {
bool is_bool(const Tensor& t) { return t.dtype() == DType::Bool; }
void no_bool_sub(const Tensor& a, const Tensor& b) {
  if (is_bool(a) || is_bool(b))
    throw RuntimeError(
        "sub_: subtraction with a bool tensor is not supported; use logical_not() or ~ to invert a mask");
}
}  // namespace

void add_(const Tensor& self, const Tensor& other) {
  inplace_(self, "add_", inplace_result_type(self, other, false), false,
           [&](const Tensor& a) { return add(a, other); });
}
void sub_(const Tensor& self, const Tensor& other) {
  no_bool_sub(self, other);
  inplace_(self, "sub_", inplace_result_type(self, other, false), false,
           [&](const Tensor& a) { return sub(a, other); });
}
void mul_(const Tensor& self, const Tensor& other) {
  inplace_(self, "mul_", inplace_result_type(self, other, false), false,
           [&](const Tensor& a) { return mul(a, other); });
}
void div_(const Tensor& self, const Tensor& other) {
  inplace_(self, "div_", inplace_result_type(self, other, true), false,
           [&](const Tensor& a) { return div(a, other); });
}
void pow_(const Tensor& self, const Tensor& other) {
  DType r = inplace_result_type(self, other, false);
  inplace_(self, "pow_", r, false, [&](const Tensor& a) {
    if (is_floating(r)) return fastgrad::pow(a, other);
    if (category(other.dtype()) == 1 && other.numel() > 0 && amin(other, {}, false).data<int64_t>()[0] < 0)
      throw RuntimeError("pow_: integers to negative integer powers are not allowed");
    return fastgrad::pow(a, other);  // exact int64 (pow_int), cast back to the target's dtype
  });
}
void assign_(const Tensor& self, const Tensor& src) {
  inplace_(self, "copy_", self.dtype(), true, [&](const Tensor&) { return src; });
}
void fill_(const Tensor& self, const Tensor& value) {
  if (value.ndim() != 0)
    throw RuntimeError("fill_: only supports a 0-dimension value tensor, got shape " +
                       shape_str(value.shape()));
  inplace_(self, "fill_", self.dtype(), true, [&](const Tensor&) { return value; });
}
void zero_(const Tensor& self) {
  inplace_(self, "zero_", self.dtype(), true, [&](const Tensor&) { return zeros({}, self.dtype()); });
}
void clamp_(const Tensor& self, std::optional<double> lo, std::optional<double> hi, bool float_bound,
            const char* op) {
  if (!lo && !hi) throw RuntimeError(std::string(op) + ": at least one of 'min' or 'max' must not be None");
  // A float bound makes an integer tensor's result Float (PyTorch's result type of a tensor
  // and a float number), which inplace_ refuses to write back into it.
  const DType r = float_bound && !is_floating(self.dtype()) ? DType::Float32 : self.dtype();
  inplace_(self, op, r, false, [&](const Tensor& a) { return clip(a, lo, hi); });
}

}  // namespace fastgrad
