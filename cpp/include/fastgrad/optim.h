// The optimizer op family: fused, in-place updates of a whole parameter group (torch.optim's
// semantics, cheat sheet "OPTIMIZERS"). Each op validates its step arguments and every
// tensor of the group (one gradient and one state buffer per parameter, same dtype and shape,
// contiguous, writable), dispatches on the dtype (float32/float64), runs the kernel in
// cpp/src/kernels/optim/ and bumps the storage versions of everything it wrote (so a node
// that saved a parameter refuses to run backward on the updated value).
// Errors: ValueError (step arguments, list lengths, layouts), TypeError (non-float parameters),
// each message starting with the op's name.
#pragma once
#include <cstdint>
#include <string>

#include "fastgrad/primitive.h"  // Tensors

namespace fastgrad {

// validate(who): ValueError "who: <argument> ..." for a value torch.optim rejects at
// construction; `who` is the caller's name (the Python optimizer class). The steps do not
// call it: as in torch, values changed afterwards are used as given (a negative lr set by
// the user's schedule ascends).
struct SgdOptions {
  double lr = 1e-3, momentum = 0.0, dampening = 0.0, weight_decay = 0.0;
  bool nesterov = false, maximize = false;
  void validate(const std::string& who) const;
};
struct AdamOptions {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  bool amsgrad = false, decoupled = false /* AdamW */, maximize = false;
  void validate(const std::string& who) const;
};
struct RmspropOptions {
  double lr = 1e-2, alpha = 0.99, eps = 1e-8, weight_decay = 0.0, momentum = 0.0;
  bool centered = false, maximize = false;
  void validate(const std::string& who) const;
};

// momentum_buffers: one per parameter when momentum != 0, else empty; first_step: the
// buffers are initialised with the gradient (torch's first SGD step).
void sgd_step(const Tensors& params, const Tensors& grads, const Tensors& momentum_buffers,
              const SgdOptions& opt, bool first_step);
// exp_avgs and exp_avg_sqs: one per parameter; max_exp_avg_sqs: one per parameter with
// amsgrad, else empty. step: the (shared) step count after this update, >= 1.
void adam_step(const Tensors& params, const Tensors& grads, const Tensors& exp_avgs,
               const Tensors& exp_avg_sqs, const Tensors& max_exp_avg_sqs, const AdamOptions& opt,
               int64_t step);
// square_avgs: one per parameter; momentum_buffers with momentum > 0 and grad_avgs when
// centered, one per parameter (else empty).
void rmsprop_step(const Tensors& params, const Tensors& grads, const Tensors& square_avgs,
                  const Tensors& momentum_buffers, const Tensors& grad_avgs, const RmspropOptions& opt);

}  // namespace fastgrad
