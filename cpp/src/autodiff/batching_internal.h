// The engine's entry into batching rules (batching.cpp), used by apply() in engine.cpp.
#pragma once
#include <vector>

#include "fastgrad/primitive.h"

namespace fastgrad::detail {
// Runs `prim` on inputs some of which are batched: its batching rule on the physical
// inputs of the highest level among them, outputs wrapped back (checked against `shapes`,
// the shape rule's per-example shapes). Gradients and tangents are off inside.
Tensors batched_forward(const PrimPtr& prim, const Tensors& in, const std::vector<Shape>& shapes);
}  // namespace fastgrad::detail
