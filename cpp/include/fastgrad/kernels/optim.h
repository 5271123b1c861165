// Fused optimizer updates over contiguous parameter buffers, free of autodiff.
// One call updates every tensor of a parameter group (pointer lists), so the Python
// side never loops over tensors. Semantics are exactly torch.optim's (2.x).
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

template <typename T>
struct ParamSlot {
  T* param;
  const T* grad;
  T* buf1;
  T* buf2;
  T* buf3;
  int64_t n;  // bufs may be null when unused
};

// SGD: buf1 = momentum buffer. `first_step` initialises the buffer with the gradient as torch.
template <typename T>
void sgd_step(ParamSlot<T>* slots, int64_t count, double lr, double momentum, double dampening,
              double weight_decay, bool nesterov, bool maximize, bool first_step);
// Adam/AdamW: buf1 = exp_avg, buf2 = exp_avg_sq, buf3 = max_exp_avg_sq (amsgrad). step >= 1.
// decoupled = true gives AdamW (p *= 1 - lr*wd) else L2 (g += wd*p).
template <typename T>
void adam_step(ParamSlot<T>* slots, int64_t count, double lr, double beta1, double beta2, double eps,
               double weight_decay, bool amsgrad, bool decoupled, bool maximize, int64_t step);
// RMSprop: buf1 = square_avg, buf2 = momentum_buffer, buf3 = grad_avg (centered).
template <typename T>
void rmsprop_step(ParamSlot<T>* slots, int64_t count, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool centered, bool maximize);

}  // namespace fastgrad::kernels
