// Forward-mode state: which tensors hold a tangent at which JVP level, so popping a level
// drops every tangent it created (tangent -> node -> output -> tangent cycles otherwise
// never die). Per thread, like the level stack in engine.cpp.
#pragma once
#include <cstdint>

#include "fastgrad/tensor.h"

namespace fastgrad {

// Records that p holds (or now shares) a tangent at `level`.
void register_tangent_owner(int64_t level, const TensorPtr& p);
// Drops the tangents at `level` from every live tensor registered at that level.
void clear_level_tangents(int64_t level);

}  // namespace fastgrad
