// Reverse mode (the tape) and forward mode (tangent levels).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fastgrad/primitive.h"

namespace fastgrad {

// One recorded application of a primitive (cheat sheet "reverse-mode" steps 1-4).
// Backward runs without the GIL, so several threads may walk one node at once: the
// cotangent buffers are per backward call (not here), and `mu` guards what a
// backward without retain_graph frees (inputs, saved_outputs, versions, the flags).
struct Node {
  std::shared_ptr<const Primitive> prim;
  Tensors inputs;                        // strong: saved values and graph edges
  std::vector<int64_t> input_versions;   // storage versions at record time
  std::vector<TensorPtr> saved_outputs;  // data-only aliases (no grad_fn), when needed
  std::vector<int64_t> output_versions;  // their storage versions at record time
  std::vector<bool> needs_grad;          // per input
  // Hooks of the outputs (by output_nr; shorter when the last ones have none): the
  // engine runs them on an output's total cotangent before this node's VJP.
  std::vector<std::shared_ptr<GradHooks>> out_hooks;
  uint64_t seq = 0;                  // creation order: a valid topological order
  std::vector<int64_t> vmap_levels;  // vmap levels active when recorded (engine.cpp fit_to)
  bool released = false;             // claimed by (or freed after) a backward without retain_graph
  bool freed = false;                // its saved tensors are gone
  std::mutex mu;

  static std::atomic<int64_t> live_count;
  Node() { ++live_count; }
  ~Node();  // iterative: dropping a long chain must not recurse once per node
};

// Tensor.register_hook (PyTorch semantics): a hook gets the tensor's total gradient in a
// backward/grad call and may return a replacement (undefined: keep it). Hooks run
// without any engine lock held, in registration order, on the thread running backward.
using GradHook = std::function<Tensor(const Tensor&)>;
// Tensor.register_post_accumulate_grad_hook (leaves only): hook(tensor) runs right after a
// backward accumulated the leaf's gradient of that pass into .grad, during the pass.
using PostAccumulateHook = std::function<void(const Tensor&)>;
struct GradHooks {
  std::mutex mu;  // registration may race a backward reading the list
  std::vector<std::pair<int64_t, GradHook>> list;
  std::vector<std::pair<int64_t, PostAccumulateHook>> post;  // ids shared with `list`
  int64_t next_id = 0;
  bool retain = false;              // retain_grad(): the (hooked) gradient lands in .grad
  std::weak_ptr<TensorImpl> owner;  // the tensor (retain_grad writes its .grad)
};
// Returns an id for remove_grad_hook. RuntimeError on a tensor that does not require grad.
int64_t add_grad_hook(const TensorPtr& t, GradHook fn);
void remove_grad_hook(const TensorPtr& t, int64_t id);  // either kind
// RuntimeError on a non-leaf or a tensor that does not require grad (PyTorch).
int64_t add_post_accumulate_grad_hook(const TensorPtr& t, PostAccumulateHook fn);
// Non-leaf tensors keep their .grad after backward; a no-op on leaves (PyTorch).
void retain_grad(const TensorPtr& t);
bool retains_grad(const TensorPtr& t);

bool grad_enabled();
void set_grad_enabled(bool on);
struct GradModeGuard {
  bool prev;
  explicit GradModeGuard(bool on) : prev(grad_enabled()) { set_grad_enabled(on); }
  ~GradModeGuard() { set_grad_enabled(prev); }
};

// Forward-mode levels: each jvp() opens a level; nested levels give higher derivatives.
int64_t push_jvp_level();
void pop_jvp_level(int64_t level);
bool any_jvp_level();

// Accumulates gradients of `roots` into the .grad of the leaves (Tensor.backward).
void backward(const Tensors& roots, const Tensors& root_grads, bool retain_graph, bool create_graph);
// Returns d(roots)/d(inputs) contracted with root_grads, without touching .grad.
Tensors grad(const Tensors& roots, const Tensors& root_grads, const Tensors& inputs, bool retain_graph,
             bool create_graph, bool allow_unused);

// Guards a leaf's .grad (read, assigned and accumulated by concurrent backward calls
// and by the Python .grad property): a mutex picked by the TensorImpl's address.
std::mutex& leaf_grad_mutex(const TensorImpl* t);

// A tensor's .grad and requires_grad with PyTorch's rules (leaf.cpp). set_requires_grad:
// RuntimeError turning a non-leaf off, TypeError turning a non-float tensor on. set_grad:
// `g` null clears it; otherwise TypeError on a dtype and ValueError on a shape that
// differs from t's. Both take leaf_grad_mutex, as backward's accumulation does.
void set_requires_grad(const TensorPtr& t, bool on);
TensorPtr get_grad(const TensorPtr& t);
void set_grad(const TensorPtr& t, TensorPtr g);

// Whether `from` is one of `targets` or is computed from one of them on the tape
// (the transforms' "does this value carry my derivative" check; walks the graph).
bool reaches(const Tensor& from, const Tensors& targets);
// The leaves requiring grad that the tape reaches from `roots`, each once (fg.checkpoint
// finds the parameters a function closes over this way).
Tensors graph_leaves(const Tensors& roots);

// In-place ops (inplace.cpp). `fn(self)` computes the new value out of place from the
// target's old value; inplace_ checks PyTorch's rules (the `result` dtype must cast to the
// target's; no in-place on a leaf that requires grad in grad mode, on a tracked view, or
// into overlapping memory), writes the value (bumping the version) and, when gradients
// are recorded, rebases the target's history onto a node named `op`. `overwrites`: the
// new value does not depend on the old one (copy_, fill_, zero_).
using InplaceFn = std::function<Tensor(const Tensor&)>;
void inplace_(const Tensor& self, const char* op, DType result, bool overwrites, const InplaceFn& fn);
// PyTorch's result type of `self op other` for an in-place op (0-d operands count as
// numbers); true_div: division always gives a float.
DType inplace_result_type(const Tensor& self, const Tensor& other, bool true_div);
bool can_cast_inplace(DType from, DType to);
// The tensor an edge from `consumer` to its input `x` leads to: x, or x's identity from
// before in-place ops that rebased x after `consumer` was recorded.
const Tensor& edge_input(const Node& consumer, const Tensor& x);

// Sum `g` down to `shape` (undoing broadcasting).
Tensor sum_to(const Tensor& g, const Shape& shape);

// ---- user-defined functions (fg.autograd.Function, fg.custom_vjp / custom_jvp) ----
// The rules of a function whose outputs were computed off the tape (custom.cpp). `saved`
// is what the function saved, in order, with each saved output replaced by the output
// the engine hands the rule (recorded on the tape under create_graph).
struct CustomRules {
  std::string name;  // the node's name (errors, grad_fn)
  // cotangents of the outputs (undefined: none reached it) -> one per input (undefined: none)
  std::function<Tensors(const Tensors& saved, const Tensors& cot)> vjp;
  // tangents of the inputs (undefined: zero) -> one per output; empty: forward mode raises
  std::function<Tensors(const Tensors& saved, const Tensors& tan)> jvp;
};
// Records `outputs` (computed from `inputs` outside the tape, with no tangents) as one node
// whose VJP/JVP are `rules`; returns fresh aliases of the outputs carrying that node.
// A saved tensor changed in place before the VJP runs raises RuntimeError naming the node.
Tensors custom_function(const Tensors& inputs, const Tensors& outputs, const Tensors& saved,
                        CustomRules rules);
// While a custom function's forward runs, its ops must not push tangents of their own (its
// jvp rule gives them): hides every forward-mode level from this thread; returns what
// restore_jvp_levels() takes back.
int64_t hide_jvp_levels();
void restore_jvp_levels(int64_t prev);

}  // namespace fastgrad
