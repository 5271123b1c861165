// Tensor hooks as the engine runs them (hooks.cpp).
#pragma once
#include "fastgrad/autodiff.h"

namespace fastgrad {
// Runs the hooks on `g` in registration order, each seeing the previous one's result.
// The list is copied under its lock and run outside it (a hook may register hooks).
Tensor run_grad_hooks(GradHooks& h, const Tensor& g);
// Runs the post-accumulate-grad hooks on `leaf` (same copying rule).
void run_post_accumulate_hooks(GradHooks& h, const Tensor& leaf);
}  // namespace fastgrad
