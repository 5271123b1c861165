// Tensor.register_hook / retain_grad: a hook list shared by the tensor and, for a
// non-leaf, by its grad_fn node (the engine meets the node, not the tensor).
#include "hooks.h"

#include <algorithm>

namespace fastgrad {

namespace {
std::shared_ptr<GradHooks> hooks_of(const TensorPtr& t) {
  // Registration comes from Python with the GIL held, so two registrations on one
  // tensor do not race; a backward only reads t->hooks after this store.
  if (!t->hooks) {
    auto h = std::make_shared<GradHooks>();
    h->owner = t;
    t->hooks = h;
  }
  if (t->grad_fn) {
    Node& n = *t->grad_fn;
    std::lock_guard<std::mutex> lock(n.mu);
    const auto k = static_cast<size_t>(t->output_nr);
    if (n.out_hooks.size() <= k) n.out_hooks.resize(k + 1);
    n.out_hooks[k] = t->hooks;
  }
  return t->hooks;
}
}  // namespace

int64_t add_grad_hook(const TensorPtr& t, GradHook fn) {
  if (!t->requires_grad)
    throw RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require gradient");
  auto h = hooks_of(t);
  std::lock_guard<std::mutex> lock(h->mu);
  h->list.emplace_back(h->next_id, std::move(fn));
  return h->next_id++;
}

int64_t add_post_accumulate_grad_hook(const TensorPtr& t, PostAccumulateHook fn) {
  if (!t->requires_grad)
    throw RuntimeError(
        "register_post_accumulate_grad_hook: cannot register a hook on a tensor that doesn't require "
        "gradient");
  if (t->grad_fn)
    throw RuntimeError(
        "register_post_accumulate_grad_hook: post accumulate grad hooks cannot be registered on non-leaf "
        "tensors");
  auto h = hooks_of(t);
  std::lock_guard<std::mutex> lock(h->mu);
  h->post.emplace_back(h->next_id, std::move(fn));
  return h->next_id++;
}

void remove_grad_hook(const TensorPtr& t, int64_t id) {
  if (!t->hooks) return;
  GradHook dead;  // destroyed after the lock (they may own a Python callable)
  PostAccumulateHook dead_post;
  std::lock_guard<std::mutex> lock(t->hooks->mu);
  auto& l = t->hooks->list;
  auto it = std::find_if(l.begin(), l.end(), [id](const auto& kv) { return kv.first == id; });
  if (it != l.end()) {
    dead = std::move(it->second);
    l.erase(it);
  }
  auto& pl = t->hooks->post;
  auto pt = std::find_if(pl.begin(), pl.end(), [id](const auto& kv) { return kv.first == id; });
  if (pt != pl.end()) {
    dead_post = std::move(pt->second);
    pl.erase(pt);
  }
}

void retain_grad(const TensorPtr& t) {
  if (!t->requires_grad)
    throw RuntimeError("retain_grad: can't retain_grad on a tensor that has requires_grad=False");
  if (!t->grad_fn) return;  // a leaf keeps its .grad anyway
  hooks_of(t)->retain = true;
}

bool retains_grad(const TensorPtr& t) { return t->grad_fn && t->hooks && t->hooks->retain; }

Tensor run_grad_hooks(GradHooks& h, const Tensor& g) {
  std::vector<std::pair<int64_t, GradHook>> list;
  {
    std::lock_guard<std::mutex> lock(h.mu);
    list = h.list;
  }
  Tensor cur = g;
  for (auto& kv : list) {
    Tensor r = kv.second(cur);
    if (!r.defined()) continue;
    if (r.shape() != cur.shape())
      throw RuntimeError("hook: a tensor hook returned a gradient of shape " + shape_str(r.shape()) +
                         " for a gradient of shape " + shape_str(cur.shape()));
    cur = r;
  }
  return cur;
}

void run_post_accumulate_hooks(GradHooks& h, const Tensor& leaf) {
  std::vector<std::pair<int64_t, PostAccumulateHook>> list;
  {
    std::lock_guard<std::mutex> lock(h.mu);
    if (h.post.empty()) return;
    list = h.post;
  }
  for (auto& kv : list) kv.second(leaf);
}

}  // namespace fastgrad
