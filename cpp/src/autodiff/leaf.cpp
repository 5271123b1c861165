// The rules for a tensor's .grad and requires_grad (PyTorch's), shared by every caller:
// the Python properties are one-line calls into these.
#include <mutex>
#include <string>

#include "fastgrad/autodiff.h"
#include "fastgrad/batching.h"

namespace fastgrad {

void set_requires_grad(const TensorPtr& t, bool on) {
  // A non-leaf's requires_grad is its history: turning it off would silently cut the graph.
  if (t->grad_fn && !on)
    throw RuntimeError("requires_grad: cannot turn off gradients of a non-leaf tensor; use detach()");
  if (on && !is_floating(t->dtype))
    throw TypeError(std::string("requires_grad: only float tensors can require gradients, got ") +
                    dtype_name(t->dtype));
  if (on && !t->requires_grad) t->vmap_birth = vmap_levels().empty() ? 0 : vmap_levels().back();
  t->requires_grad = on;
}

// .grad is shared with backward calls running without the GIL (accumulate_leaf in
// engine.cpp): read and written under the same lock as theirs.
TensorPtr get_grad(const TensorPtr& t) {
  std::lock_guard<std::mutex> lock(leaf_grad_mutex(t.get()));
  return t->grad;
}

void set_grad(const TensorPtr& t, TensorPtr g) {
  if (g) {
    if (g->dtype != t->dtype)
      throw TypeError(std::string("grad: assigned a ") + dtype_name(g->dtype) + " gradient to a " +
                      dtype_name(t->dtype) + " tensor");
    if (g->shape != t->shape)
      throw ValueError("grad: assigned gradient of shape " + shape_str(g->shape) + " to a tensor of shape " +
                       shape_str(t->shape));
  }
  {
    std::lock_guard<std::mutex> lock(leaf_grad_mutex(t.get()));
    std::swap(t->grad, g);
  }
  // The old gradient (now in g) dies here, after the lock: its destructor may free a graph.
}

}  // namespace fastgrad
