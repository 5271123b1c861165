// vmap: batching rules and the batched tensors they run on.
//
// Inside vmap a mapped argument is a *batched tensor*: its shape is the logical one (the
// per-example shape), and it points at its physical value, which has one more axis (the
// batch axis, bdim) at a vmap level. apply() runs a primitive on batched inputs by
// handing the physical inputs to the primitive's batching rule (Primitive::vmap), which
// computes the whole batch with the same kernels and returns the physical outputs with
// their batch axes; apply() wraps them back into batched tensors. The tape and forward
// tangents are recorded on the logical tensors, so every rule composes with grad and jvp
// in every order: the VJP and JVP rules run on batched tensors and are batched in turn.
//
// Nested vmaps have increasing levels; a physical value may itself be batched at a lower
// level. A rule sees one level at a time (the highest among its inputs).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "fastgrad/ops.h"
#include "fastgrad/primitive.h"

namespace fastgrad {

// Opens a vmap level of `size` elements (thread-local stack); returns its id.
int64_t push_vmap_level(int64_t size);
void pop_vmap_level(int64_t level);
// The active vmap levels, oldest first (empty outside vmap).
const std::vector<int64_t>& vmap_levels();

// The batched tensor viewing `x` (batch axis `bdim` of x, negative counts from the end) at
// `level`; differentiable (a primitive): gradients and tangents flow between the two.
Tensor vmap_wrap(const Tensor& x, int64_t bdim, int64_t level);
// The physical value of `y` at `level` with its batch axis moved to `out_dim` (negative:
// from the end); an output that is not batched at `level` is broadcast along a new axis
// of `size` there (JAX's out_axes semantics). Differentiable.
Tensor vmap_unwrap(const Tensor& y, int64_t level, int64_t out_dim, int64_t size);
// Whether `t` is batched at `level` (at any depth of its physical values).
bool batched_at(const Tensor& t, int64_t level);
// Sums `g`'s batch axis at `level` away (the gradient of a tensor broadcast over it).
Tensor sum_out_level(const Tensor& g, int64_t level);

// ---- helpers for batching rules (cpp/src/ops) ----
// The batch size among batched inputs (ValueError naming `op` when they disagree).
int64_t batch_size(const Tensors& in, const std::vector<int64_t>& bdims, const char* op);
// x with axis `from` moved to position `to`, the others in order (a permute view).
Tensor movedim(const Tensor& x, int64_t from, int64_t to);
// x with its batch axis first (unchanged when bdim < 0).
Tensor batch_front(const Tensor& x, int64_t bdim);
// x with its batch axis first, materialising it (expanded, no copy) when x is unbatched.
Tensor batch_front_or_expand(const Tensor& x, int64_t bdim, int64_t size);
// A logical axis of an input with batch axis in front, as a physical axis.
inline int64_t batch_axis(int64_t logical_axis, int64_t logical_ndim, const char* op) {
  return normalize_axis(logical_axis, logical_ndim, op) + 1;
}
// Logical axes as physical ones for an input with its batch axis in front.
Axes batch_axes(const Axes& logical, int64_t logical_ndim, const char* op);
// Inputs aligned for NumPy broadcasting: batched ones with their batch axis in front and
// size-1 axes so their logical axes stay right-aligned; unbatched ones as they are.
Tensors batch_aligned(const Tensors& in, const std::vector<int64_t>& bdims);
// The rule of any elementwise primitive with NumPy broadcasting: batched inputs get their
// batch axis in front and size-1 axes so their logical axes stay right-aligned; unbatched
// inputs broadcast as they are. Every output is batched on axis 0.
Batched vmap_elementwise(const PrimPtr& self, const Tensors& in, const std::vector<int64_t>& bdims);
// Re-applies `self` to every input brought to batch-in-front (unbatched inputs expanded);
// every output batched on axis 0. For primitives whose kernels already treat a leading
// axis as a batch (matrix ops over (..., n, n), ops along the last axes).
Batched vmap_leading(const PrimPtr& self, const Tensors& in, const std::vector<int64_t>& bdims);

// dst[...] = src for a batched dst (copy_ calls it): the write goes to dst's physical value,
// so in-place ops and __setitem__ inside vmap change each example's own memory.
void copy_into_batched(const Tensor& dst, const Tensor& src);

// ---- functions that are not primitives ----
// compare, sign, logical ops, argmax, sort, ... have no derivative, so they are plain
// functions, not primitives, and apply() never sees them to batch them. They call one of
// these first: when an input is batched, `f` runs on the physical inputs of the highest
// level (the same function: lower levels recurse) and its results come back batched on
// axis 0 at that level; otherwise nothing happens and the result is empty/undefined.
inline bool any_batched(const Tensors& in) {
  for (const auto& t : in)
    if (t.defined() && t.get()->bvalue) return true;
  return false;
}
// Inputs aligned for broadcasting (batch_aligned): for elementwise functions.
Tensor vmap_call_elementwise(const Tensors& in, const std::function<Tensor(const Tensors&)>& f);
// Inputs with their batch axis in front, unbatched ones expanded (batch_front_or_expand):
// `f` must treat axis 0 as a batch, i.e. shift the axes it works on by one.
Tensors vmap_call_leading(const Tensors& in, const std::function<Tensors(const Tensors&)>& f);

}  // namespace fastgrad
