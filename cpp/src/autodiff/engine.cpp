// The autodiff engine: apply() runs a primitive and records what reverse and forward
// mode need; backward() walks the tape in reverse (cheat sheet "reverse-mode" steps).
#include <algorithm>
#include <climits>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "batching_internal.h"
#include "forward.h"
#include "../core/block_pool.h"
#include "hooks.h"
#include "fastgrad/autodiff.h"
#include "fastgrad/batching.h"
#include "fastgrad/ops.h"
#include "fastgrad/parallel.h"

namespace fastgrad {

std::atomic<int64_t> Node::live_count{0};

// A graph of N chained ops would otherwise be destroyed by N nested destructor calls
// (Node -> input TensorImpl -> its grad_fn Node -> ...) and overflow the stack. Nodes
// that only this chain owns are unlinked here and released one at a time.
Node::~Node() {
  --live_count;
  std::vector<std::shared_ptr<Node>> pending;
  auto harvest = [&pending](Tensors& ins) {
    for (auto& t : ins) {
      if (!t.defined() || t.impl().use_count() != 1) continue;
      auto& fn = t.impl()->grad_fn;
      if (fn && fn.use_count() == 1) pending.push_back(std::move(fn));
    }
    ins.clear();
  };
  harvest(inputs);
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    harvest(n->inputs);
  }
}

namespace {
std::vector<const PrimitiveDesc*>& descriptors() {
  static std::vector<const PrimitiveDesc*> r;
  return r;
}
}  // namespace
RegisterPrimitive::RegisterPrimitive(const PrimitiveDesc& d) { descriptors().push_back(&d); }
const std::vector<const PrimitiveDesc*>& primitive_descriptors() { return descriptors(); }
std::vector<std::string> primitive_registry() {
  std::vector<std::string> names;
  for (const PrimitiveDesc* d : descriptors())
    if (!*d->variant) names.emplace_back(d->name);
  return names;
}

Tensors Primitive::vjp(const Tensors&, const Tensors&, const Tensors&, const std::vector<bool>&) const {
  throw RuntimeError(std::string(name()) + ": no VJP rule");
}
Tensors Primitive::jvp(const Tensors&, const Tensors&, const Tensors&) const {
  throw RuntimeError(std::string(name()) + ": no JVP rule");
}

namespace {
thread_local bool tl_grad_enabled = true;
// Active forward-mode levels (ascending) and the highest level ops may see: while a
// level's JVP rule runs, that level and higher ones are hidden, so the rule's own ops
// only push lower-level tangents (no perturbation confusion between nested jvps).
thread_local std::vector<int64_t> tl_levels;
thread_local int64_t tl_visible_below = INT64_MAX;
std::atomic<int64_t> g_next_level{1};
std::atomic<uint64_t> g_next_seq{1};

struct VisibleGuard {
  int64_t prev;
  explicit VisibleGuard(int64_t below) : prev(tl_visible_below) { tl_visible_below = below; }
  ~VisibleGuard() { tl_visible_below = prev; }
};

TensorPtr data_alias(const Tensor& t) {
  TensorPtr a = alias_impl(*t.impl());
  a->tangents = t.impl()->tangents;
  for (auto& kv : a->tangents) register_tangent_owner(kv.first, a);
  return a;
}

// Whether `x` comes from outside vmap level L: a leaf that began to require grad before L
// was opened, or the output of a node recorded outside L.
bool outside_level(const Tensor& x, int64_t L) {
  const auto& fn = x.impl()->grad_fn;
  if (!fn) return x.impl()->vmap_birth < L;
  return std::find(fn->vmap_levels.begin(), fn->vmap_levels.end(), L) == fn->vmap_levels.end();
}

// `levels`: the vmap levels active when the consumer was recorded. A gradient batched at
// one of them, flowing to an input from outside that level (not batched there), is summed
// over the batch: the input was broadcast along it (a parameter every example shares).
// Inside the level (grad inside vmap: per-example gradients) and for levels opened later
// (vmap over cotangents) it stays batched.
Tensor fit_to(const Tensor& g, const Tensor& like, const std::vector<int64_t>& levels = {}) {
  Tensor r = g;
  for (int64_t L : levels)
    if (batched_at(r, L) && !batched_at(like, L) && outside_level(like, L)) r = sum_out_level(r, L);
  if (r.shape() != like.shape()) r = sum_to(r, like.shape());
  if (r.dtype() != like.dtype()) r = cast(r, like.dtype());
  return r;
}
}  // namespace

uint64_t peek_node_seq() { return g_next_seq.load(); }  // inplace.cpp

bool grad_enabled() { return tl_grad_enabled; }
void set_grad_enabled(bool on) { tl_grad_enabled = on; }

int64_t push_jvp_level() {
  int64_t l = g_next_level++;
  tl_levels.push_back(l);
  return l;
}
void pop_jvp_level(int64_t level) {
  auto it = std::find(tl_levels.begin(), tl_levels.end(), level);
  if (it != tl_levels.end()) tl_levels.erase(it);
  clear_level_tangents(level);
}
bool any_jvp_level() { return !tl_levels.empty(); }
int64_t hide_jvp_levels() {
  const int64_t prev = tl_visible_below;
  tl_visible_below = INT64_MIN;
  return prev;
}
void restore_jvp_levels(int64_t prev) { tl_visible_below = prev; }

namespace {
// `movable`: `in` itself when the caller passed a temporary; the node then takes the
// vector instead of copying it (after the JVPs, which still read `in`).
Tensors apply_impl(const std::shared_ptr<const Primitive>& prim, const Tensors& in, Tensors* movable) {
  sync_num_threads();
  const PrimitiveDesc& d = prim->desc();
  if (!d.arity_ok(in.size()))
    throw ValueError(std::string(prim->name()) + ": expected " + std::to_string(d.min_inputs) +
                     (d.max_inputs == d.min_inputs               ? std::string()
                      : d.max_inputs == PrimitiveDesc::kVariadic ? std::string(" or more")
                                                                 : " to " + std::to_string(d.max_inputs)) +
                     " inputs, got " + std::to_string(in.size()));
  // The shape rule runs once, here: it validates the inputs before any kernel (or the
  // GIL-releasing hook) runs, and forward allocates what it says.
  // Batched inputs (vmap): the shape rule checks the per-example shapes, except when an
  // index or mask is batched (index rules read values, which a batched tensor has none of;
  // the rule's own ops then check the physical shapes).
  bool batched = false, batched_values = false;
  if (!d.sees_batched)
    for (const auto& t : in)
      if (t.defined() && t.impl()->bvalue) {
        batched = true;
        batched_values = batched_values || !is_floating(t.dtype());
      }
  const std::vector<Shape> shapes = batched_values ? std::vector<Shape>() : prim->shapes(in);
  Tensors out;
  if (batched) {
    out = detail::batched_forward(prim, in, shapes);
  } else if (d.is_view) {
    out = prim->forward(in, shapes);
  } else {  // kernels run through the host's hook (the bindings release the GIL there)
    int64_t work = 0;
    for (const auto& t : in)
      if (t.defined() && __builtin_add_overflow(work, t.numel(), &work)) work = INT64_MAX;
    run_blocking(work, [&] { out = prim->forward(in, shapes); });
  }

  // Record on the tape first: JVP rules that read the outputs must see them as tape
  // tensors, or grad-of-jvp misses the path through the output.
  std::shared_ptr<Node> node;
  if (tl_grad_enabled) {
    auto needs = [&](size_t i) { return in[i].defined() && d.differentiable(i) && in[i].requires_grad(); };
    bool any = false;
    for (size_t i = 0; i < in.size() && !any; ++i) any = needs(i);
    if (any) {
      node = detail::make_pooled<Node>();
      node->prim = prim;
      node->needs_grad.resize(in.size());
      for (size_t i = 0; i < in.size(); ++i) node->needs_grad[i] = needs(i);
      node->seq = g_next_seq++;
      if (!vmap_levels().empty()) node->vmap_levels = vmap_levels();
      // Versions of the inputs the VJP reads (-1: not read, so in-place changes to it
      // are fine); empty when it reads none.
      bool reads = false;
      for (size_t i = 0; i < in.size() && !reads; ++i) reads = in[i].defined() && d.reads_input(i);
      if (reads) {
        node->input_versions.resize(in.size(), -1);
        for (size_t i = 0; i < in.size(); ++i)
          if (in[i].defined() && d.reads_input(i))
            node->input_versions[i] = in[i].impl()->storage->version.load();
      }
      for (size_t j = 0; j < out.size(); ++j) {
        if (!is_floating(out[j].dtype())) continue;
        out[j].impl()->requires_grad = true;
        out[j].impl()->grad_fn = node;
        out[j].impl()->output_nr = static_cast<int>(j);
      }
    }
  }
  bool inputs_taped = false;
  if (!tl_levels.empty()) {
    if (node) {  // the JVP rules below see a complete tape node
      node->inputs = in;
      inputs_taped = true;
    }
    const std::vector<int64_t> levels = tl_levels;  // rules may not change it, but be safe
    for (int64_t L : levels) {
      if (L >= tl_visible_below) break;
      Tensors tans(in.size());
      bool any = false;
      for (size_t i = 0; i < in.size(); ++i) {
        if (!d.differentiable(i) || !in[i].defined()) continue;
        tans[i] = in[i].tangent(L);
        any = any || tans[i].defined();
      }
      if (!any) continue;
      VisibleGuard vg(L);
      Tensors tout = prim->jvp(in, out, tans);
      for (size_t j = 0; j < out.size() && j < tout.size(); ++j) {
        if (!tout[j].defined() || !is_floating(out[j].dtype())) continue;
        Tensor t = tout[j];
        if (t.shape() != out[j].shape()) t = expand(t, out[j].shape());
        if (t.dtype() != out[j].dtype()) t = cast(t, out[j].dtype());
        out[j].set_tangent(L, t);
      }
    }
  }

  // Saved outputs are taken after the JVPs so they carry the tangents (jvp of grad).
  // Their versions are checked like saved inputs': exp's VJP multiplies by the saved
  // exp(x), so an in-place change to the output would silently change the gradient.
  if (node && d.vjp_reads_outputs) {
    node->saved_outputs.reserve(out.size());
    node->output_versions.reserve(out.size());
    for (auto& o : out) {
      node->saved_outputs.push_back(data_alias(o));
      node->output_versions.push_back(o.impl()->storage->version.load());
    }
  }
  if (node && !inputs_taped) {
    if (movable)
      node->inputs = std::move(*movable);
    else
      node->inputs = in;
  }
  return out;
}
}  // namespace

Tensors apply(std::shared_ptr<const Primitive> prim, const Tensors& in) {
  return apply_impl(prim, in, nullptr);
}
Tensors apply(std::shared_ptr<const Primitive> prim, Tensors&& in) { return apply_impl(prim, in, &in); }

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int64_t lead = g.ndim() - static_cast<int64_t>(shape.size());
  if (lead < 0) return expand(g, shape);
  Axes axes;
  for (int64_t i = 0; i < g.ndim(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g.shape()[i] != 1)) axes.push_back(i);
  Tensor r = axes.empty() ? g : sum(g, axes, true);
  return reshape(r, shape);
}

namespace {
// Visits every tensor the tape reaches from `roots` (each node once, inputs in order) until
// `visit` returns true; returns whether it did.
template <class Visit>
bool walk_tape(const Tensors& roots, Visit&& visit) {
  std::vector<std::shared_ptr<Node>> stack;
  std::unordered_set<const Node*> seen;
  auto see = [&](const Tensor& t) {
    if (!t.defined()) return false;
    if (visit(t)) return true;
    if (t.impl()->grad_fn && seen.insert(t.impl()->grad_fn.get()).second) stack.push_back(t.impl()->grad_fn);
    return false;
  };
  for (auto it = roots.rbegin(); it != roots.rend(); ++it)
    if (see(*it)) return true;
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    Tensors ins;
    {
      std::lock_guard<std::mutex> lock(n->mu);  // a concurrent backward may free them
      ins = n->inputs;
    }
    for (auto it = ins.rbegin(); it != ins.rend(); ++it)
      if (see(*it)) return true;
  }
  return false;
}
}  // namespace

bool reaches(const Tensor& from, const Tensors& targets) {
  std::unordered_set<const TensorImpl*> tg;
  for (auto& t : targets)
    if (t.defined()) tg.insert(t.get());
  return walk_tape({from}, [&](const Tensor& t) { return tg.count(t.get()) > 0; });
}

Tensors graph_leaves(const Tensors& roots) {
  Tensors out;
  std::unordered_set<const TensorImpl*> seen;
  walk_tape(roots, [&](const Tensor& t) {
    if (!t.impl()->grad_fn && t.requires_grad() && seen.insert(t.get()).second) out.push_back(t);
    return false;
  });
  return out;
}

std::mutex& leaf_grad_mutex(const TensorImpl* t) {
  // Striped: one lock per leaf would need storage in every TensorImpl; collisions only
  // serialise two unrelated accumulations briefly.
  static std::mutex stripes[64];
  const auto a = reinterpret_cast<std::uintptr_t>(t);
  return stripes[((a >> 4) ^ (a >> 10)) % 64];
}

namespace {

struct Capture {
  std::unordered_map<const TensorImpl*, size_t> index;
  Tensors grads;
  // Inputs with hooks are captured after their hooks ran: `raw` sums what reaches them,
  // `hooked[i]` says grads[i] already holds the hooked total (set when their node ran).
  Tensors raw;
  std::vector<char> hooked;
  const Node* released = nullptr;  // a freed node met on the way (only an error if it mattered)
};

void accumulate_leaf(const Tensor& leaf, const Tensor& g, bool create_graph) {
  TensorImpl* L = leaf.get();
  // Concurrent backward calls into one shared parameter: the read-modify-write of
  // .grad must not lose an update (the Python .grad property takes the same lock).
  std::lock_guard<std::mutex> lock(leaf_grad_mutex(L));
  if (!L->grad) {
    if (create_graph) {
      // A graph tensor is a fresh op output; a constant may be the caller's own
      // cotangent, which a later in-place accumulation must not write into.
      L->grad = g.impl()->grad_fn ? g.impl() : clone(detach(g)).impl();
    } else {
      bool fresh = g.impl().use_count() <= 2 && g.impl()->storage.use_count() == 1 && g.is_contiguous() &&
                   g.offset() == 0 && !g.impl()->grad_fn;
      L->grad = fresh ? detach(g).impl() : clone(detach(g)).impl();
    }
    return;
  }
  Tensor cur(L->grad);
  if (create_graph || cur.impl()->grad_fn || g.impl()->grad_fn) {
    L->grad = add(cur, g).impl();
  } else {
    GradModeGuard ng(false);
    copy_(cur, add(cur, g));
  }
}

RuntimeError released_error(const Node* n) {
  return RuntimeError(std::string("backward: trying to backward through the graph a second time (") +
                      n->prim->name() +
                      "); its saved tensors were freed. Pass retain_graph=True "
                      "to the first backward if you need to call it twice");
}

// One node reached by one backward call. Everything a call writes lives here, not in
// the Node, so concurrent calls through a shared graph never share a buffer.
struct Item {
  std::shared_ptr<Node> node;
  Tensors inputs;     // with retain_graph: the node's inputs, copied under its lock (a
                      // freeing call may run concurrently); without, the claim protects them
  Tensors cot;        // this call's cotangent accumulators, one per output
  bool dead = false;  // already freed when reached (tolerated by grad() if not needed)
};

void run_backward(const Tensors& roots, const Tensors& root_grads, bool retain_graph, bool create_graph,
                  Capture* cap) {
  if (roots.size() != root_grads.size())
    throw ValueError("backward: got " + std::to_string(roots.size()) + " outputs but " +
                     std::to_string(root_grads.size()) + " gradients");
  std::vector<Item> items;
  std::unordered_map<const Node*, size_t> where;
  std::vector<size_t> stack;
  auto visit = [&](const std::shared_ptr<Node>& fn) {
    if (where.emplace(fn.get(), items.size()).second) {
      items.push_back(Item{fn, {}, {}, false});
      stack.push_back(items.size() - 1);
    }
  };
  // Leaves with hooks (register_hook, register_post_accumulate_grad_hook): their hooks run
  // once, on the total gradient of this pass, as soon as it is final (PyTorch runs them in
  // AccumulateGrad, as soon as it is ready): each one counts the edges of this pass that
  // may still bring it a contribution (backward() only; grad() runs leaf hooks at the end).
  struct HookedLeaf {
    Tensor leaf;
    Tensor sum;
    size_t pending = 0;
  };
  std::vector<HookedLeaf> hooked;
  std::unordered_map<const TensorImpl*, size_t> hooked_at;
  std::vector<std::pair<size_t, size_t>> leaf_edges;  // (item, hooked leaf) per edge
  auto hooked_leaf = [&](const Tensor& t) {
    auto at = hooked_at.emplace(t.get(), hooked.size());
    if (at.second) hooked.push_back(HookedLeaf{t, {}, 0});
    ++hooked[at.first->second].pending;
    return at.first->second;
  };
  auto is_hooked_leaf = [&](const Tensor& t) {
    return !cap && !t.impl()->grad_fn && t.impl()->hooks && t.requires_grad();
  };
  std::vector<size_t> root_leaves;
  Tensors seeds(roots.size());
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    // None from Python arrives as an undefined tensor; dereferencing it segfaulted.
    if (!r.defined())
      throw TypeError("backward: output " + std::to_string(i) + " is None, expected a Tensor");
    if (!r.requires_grad())
      throw RuntimeError("backward: output " + std::to_string(i) +
                         " does not require grad and has no grad_fn");
    Tensor g = root_grads[i];
    if (!g.defined()) {
      if (r.numel() != 1)
        throw RuntimeError("backward: grad can be implicitly created only for scalar outputs; got shape " +
                           shape_str(r.shape()) + " (pass grad=)");
      g = ones_like(r);
    } else if (g.shape() != r.shape()) {
      throw ValueError("backward: grad has shape " + shape_str(g.shape()) + " but the output has shape " +
                       shape_str(r.shape()));
    }
    seeds[i] = g;
    if (r.impl()->grad_fn) visit(r.impl()->grad_fn);
    if (is_hooked_leaf(r)) root_leaves.push_back(hooked_leaf(r));
  }
  while (!stack.empty()) {
    const size_t k = stack.back();
    stack.pop_back();
    Node* n = items[k].node.get();
    {
      std::lock_guard<std::mutex> lock(n->mu);
      if (n->released) {
        // fg.autograd.grad only needs the nodes between its outputs and its inputs; a
        // freed graph behind an input (e.g. an earlier backward) is not an error there.
        if (!cap) throw released_error(n);
        // The newest freed node met: an input older than it may sit behind it.
        if (!cap->released || n->seq > cap->released->seq) cap->released = n;
        items[k].dead = true;
        continue;
      }
      // Under the lock another call cannot free the inputs, so they are walked in place
      // (visit() may reallocate `items`, never `n`). edge_input: an input rebased by a
      // later in-place op still means its old identity here (inplace.cpp).
      for (size_t i = 0; i < n->inputs.size(); ++i) {
        const Tensor& x = n->inputs[i];
        if (!x.defined()) continue;
        const Tensor& t = edge_input(*n, x);
        if (t.impl()->grad_fn)
          visit(t.impl()->grad_fn);
        else if (n->needs_grad[i] && is_hooked_leaf(t))
          leaf_edges.emplace_back(k, hooked_leaf(t));
      }
    }
  }
  // Creation order is a valid topological order (inputs of a node have smaller seq).
  // Items stay where visit() put them (`where` keeps pointing at them); `order` is the
  // run order.
  std::vector<size_t> order(items.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return items[a].node->seq > items[b].node->seq; });

  // With requested inputs, run only the nodes on a path to one of them (one ascending pass).
  std::unordered_set<const Node*> needed;
  if (cap) {
    for (auto k = order.rbegin(); k != order.rend(); ++k) {
      const Item* it = &items[*k];
      if (it->dead) continue;
      Node* n = it->node.get();
      std::lock_guard<std::mutex> lock(n->mu);
      for (size_t i = 0; i < n->inputs.size(); ++i) {
        if (!n->needs_grad[i] || !n->inputs[i].defined()) continue;
        const Tensor& t = edge_input(*n, n->inputs[i]);
        if (cap->index.count(t.get()) || (t.impl()->grad_fn && needed.count(t.impl()->grad_fn.get()))) {
          needed.insert(n);
          break;
        }
      }
    }
  }
  auto runs = [&](const Item& it) { return !it.dead && (!cap || needed.count(it.node.get())); };

  // Without retain_graph this call will free every node it runs: claim them all before
  // computing anything, in one global order (descending seq), so that of several calls
  // through one graph exactly one proceeds and the others fail here, before touching
  // any .grad (the order makes the first shared node decide). A failed call, or one
  // that throws later, gives back the claims of the nodes it has not freed.
  struct Claims {
    std::vector<Node*> nodes;
    size_t freed = 0;  // nodes are run and freed in claim order: a prefix is done
    ~Claims() {
      for (size_t i = freed; i < nodes.size(); ++i) {
        Node* n = nodes[i];
        std::lock_guard<std::mutex> lock(n->mu);
        if (!n->freed) n->released = false;
      }
    }
  } claims;
  if (!retain_graph)
    for (size_t k : order) {
      const Item& it = items[k];
      if (!runs(it)) continue;
      Node* n = it.node.get();
      std::lock_guard<std::mutex> lock(n->mu);
      if (n->released) throw released_error(n);
      n->released = true;
      claims.nodes.push_back(n);
    }

  GradModeGuard gm(create_graph);
  // The hooked leaves each item feeds, settled once the item ran.
  std::vector<std::vector<size_t>> item_leaves(leaf_edges.empty() ? 0 : items.size());
  for (auto& e : leaf_edges) item_leaves[e.first].push_back(e.second);
  auto finish_leaf = [&](const Tensor& leaf, const Tensor& g) {
    GradHooks& h = *leaf.impl()->hooks;
    accumulate_leaf(leaf, run_grad_hooks(h, g), create_graph);
    run_post_accumulate_hooks(h, leaf);
  };
  auto settle = [&](size_t li) {
    HookedLeaf& hl = hooked[li];
    if (--hl.pending != 0 || !hl.sum.defined()) return;
    Tensor g = std::move(hl.sum);
    hl.sum = Tensor();
    finish_leaf(hl.leaf, g);
  };
  auto route = [&](const Tensor& x, const Tensor& g) {
    if (cap) {
      auto it = cap->index.find(x.get());
      if (it != cap->index.end()) {
        Tensor& slot = x.impl()->hooks ? cap->raw[it->second] : cap->grads[it->second];
        slot = add_maybe(slot, g);
      }
    }
    if (x.impl()->grad_fn) {
      auto w = where.find(x.impl()->grad_fn.get());
      if (w == where.end())  // only if another thread rewired the graph mid-backward
        throw RuntimeError(
            "backward: the graph changed during the backward pass (a tensor's grad_fn was replaced)");
      Item& dst = items[w->second];
      if (dst.cot.empty()) dst.cot.resize(dst.node->prim->num_outputs());
      Tensor& slot = dst.cot[x.impl()->output_nr];
      slot = add_maybe(slot, g);
    } else if (!cap && x.requires_grad()) {
      if (!x.impl()->hooks) {
        accumulate_leaf(x, g, create_graph);
        return;
      }
      auto at = hooked_at.find(x.get());
      if (at == hooked_at.end() || hooked[at->second].pending == 0) {
        finish_leaf(x, g);  // hooked during this pass: no count to wait for
        return;
      }
      Tensor& sum = hooked[at->second].sum;
      sum = add_maybe(sum, g);
    }
  };
  for (size_t i = 0; i < roots.size(); ++i) route(roots[i], fit_to(seeds[i], roots[i]));
  for (size_t li : root_leaves) settle(li);

  for (size_t k : order) {
    Item& item = items[k];
    if (!runs(item)) continue;
    const std::shared_ptr<Node>& node = item.node;
    Tensors cot = std::move(item.cot);
    std::vector<std::shared_ptr<GradHooks>> hooks;
    {
      std::lock_guard<std::mutex> lock(node->mu);
      hooks = node->out_hooks;
    }
    // An output's cotangent is complete here (its consumers all ran: higher seq).
    for (size_t j = 0; j < hooks.size() && j < cot.size(); ++j) {
      if (!hooks[j] || !cot[j].defined()) continue;
      cot[j] = run_grad_hooks(*hooks[j], cot[j]);
      TensorPtr owner = hooks[j]->owner.lock();
      if (!owner) continue;
      if (hooks[j]->retain) accumulate_leaf(Tensor(owner), cot[j], create_graph);
      if (cap) {
        auto it = cap->index.find(owner.get());
        if (it != cap->index.end()) {
          cap->grads[it->second] = cot[j];
          cap->hooked[it->second] = 1;
        }
      }
    }
    bool any = false;
    for (auto& c : cot) any = any || c.defined();
    if (any) {
      const Primitive& p = *node->prim;
      // Without retain_graph this call holds the node's claim: no other call frees its
      // saved state meanwhile (others only read it), so it is read in place. A retaining
      // call may meet a concurrent free: it copies under the lock.
      std::vector<int64_t> in_copy, out_copy;
      std::vector<TensorPtr> saved_copy;
      const std::vector<int64_t>* in_vp = &node->input_versions;
      const std::vector<int64_t>* out_vp = &node->output_versions;
      const std::vector<TensorPtr>* saved_p = &node->saved_outputs;
      {
        std::lock_guard<std::mutex> lock(node->mu);
        // Only a call with retain_graph=True can get here after another call freed it.
        if (node->freed) throw released_error(node.get());
        if (retain_graph) {
          item.inputs = node->inputs;
          in_copy = node->input_versions;
          out_copy = node->output_versions;
          saved_copy = node->saved_outputs;
          in_vp = &in_copy;
          out_vp = &out_copy;
          saved_p = &saved_copy;
        }
      }
      const std::vector<int64_t>& in_versions = *in_vp;
      const std::vector<int64_t>& out_versions = *out_vp;
      const std::vector<TensorPtr>& saved = *saved_p;
      const Tensors& ins = retain_graph ? item.inputs : node->inputs;
      if (!in_versions.empty())
        for (size_t i = 0; i < ins.size(); ++i) {
          const Tensor& x = ins[i];
          if (x.defined() && in_versions[i] >= 0 && x.impl()->storage->version.load() != in_versions[i])
            throw RuntimeError(std::string("backward: input ") + std::to_string(i) + " of " + p.name() +
                               " (shape " + shape_str(x.shape()) +
                               ") was modified by an in-place operation after it was saved");
        }
      for (size_t j = 0; j < saved.size(); ++j) {
        const TensorImpl& y = *saved[j];
        if (y.storage->version.load() != out_versions[j])
          throw RuntimeError(std::string("backward: output ") + std::to_string(j) + " of " + p.name() +
                             " (shape " + shape_str(y.shape) +
                             ") was modified by an in-place operation after it was saved");
      }
      cot.resize(p.num_outputs());
      Tensors outs;
      for (size_t j = 0; j < saved.size(); ++j) {
        auto a = saved[j];
        if (create_graph) {
          TensorPtr b = alias_impl(*a);  // batched outputs stay batched (vmap of grad-of-grad)
          b->tangents = a->tangents;
          for (auto& kv : b->tangents) register_tangent_owner(kv.first, b);
          b->requires_grad = true;
          b->grad_fn = node;
          b->output_nr = static_cast<int>(j);
          a = b;
        }
        outs.emplace_back(a);
      }
      Tensors gin = p.vjp(ins, outs, cot, node->needs_grad);
      for (size_t i = 0; i < ins.size() && i < gin.size(); ++i) {
        if (!node->needs_grad[i] || !gin[i].defined()) continue;
        route(edge_input(*node, ins[i]), fit_to(gin[i], ins[i], node->vmap_levels));
      }
    }
    if (!retain_graph) {
      // Moved out under the lock, destroyed outside it (dropping them may free a chain).
      Tensors drop_in;
      std::vector<TensorPtr> drop_out;
      {
        std::lock_guard<std::mutex> lock(node->mu);
        drop_in = std::move(node->inputs);
        drop_out = std::move(node->saved_outputs);
        node->inputs.clear();
        node->saved_outputs.clear();
        node->input_versions.clear();
        node->output_versions.clear();
        node->freed = true;
      }
      ++claims.freed;
    }
    item.inputs.clear();  // as the node's own inputs: saved tensors die as the pass goes
    if (!item_leaves.empty())
      for (size_t li : item_leaves[k]) settle(li);
  }
  if (cap)
    for (auto& kv : cap->index) {
      const size_t i = kv.second;
      if (cap->hooked[i] || !cap->raw[i].defined()) continue;
      // A leaf, or a tensor whose node was not needed: its hooks run on the captured total.
      cap->grads[i] = run_grad_hooks(*kv.first->hooks, cap->raw[i]);
    }
}

}  // namespace

void backward(const Tensors& roots, const Tensors& root_grads, bool retain_graph, bool create_graph) {
  run_backward(roots, root_grads, retain_graph || create_graph, create_graph, nullptr);
}

Tensors grad(const Tensors& roots, const Tensors& root_grads, const Tensors& inputs, bool retain_graph,
             bool create_graph, bool allow_unused) {
  Capture cap;
  cap.grads.resize(inputs.size());
  cap.raw.resize(inputs.size());
  cap.hooked.resize(inputs.size(), 0);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined())
      throw TypeError("grad: input " + std::to_string(i) + " is None, expected a Tensor");
    if (!inputs[i].requires_grad())
      throw RuntimeError("grad: input " + std::to_string(i) + " does not require grad");
    cap.index.emplace(inputs[i].get(), i);
  }
  run_backward(roots, root_grads, retain_graph || create_graph, create_graph, &cap);
  // A freed node's edges are gone, so the paths behind it were not followed. An input
  // behind it (a leaf, or computed before it) may have lost part of its gradient, even
  // when another path gave it one: an error, never a partial sum. An input computed by
  // the freed node or later cannot be behind it.
  if (cap.released)
    for (size_t i = 0; i < inputs.size(); ++i) {
      const auto& fn = inputs[i].impl()->grad_fn;
      if (!cap.grads[i].defined() || !fn || fn->seq < cap.released->seq)
        throw RuntimeError(std::string("grad: input ") + std::to_string(i) +
                           " may be reached through a freed graph (" + cap.released->prim->name() +
                           "): trying to backward through the graph a second time; "
                           "pass retain_graph=True to the earlier backward");
    }
  if (!allow_unused)
    for (size_t i = 0; i < inputs.size(); ++i)
      if (!cap.grads[i].defined())
        throw RuntimeError("grad: input " + std::to_string(i) +
                           " was not used to compute the outputs (pass allow_unused=True)");
  return cap.grads;
}

}  // namespace fastgrad
