// The optimizer op family (see fastgrad/optim.h): validation, dtype dispatch and version
// bumps around the fused kernels of cpp/src/kernels/optim/.
#include "fastgrad/optim.h"

#include <sstream>
#include <string>
#include <vector>

#include "fastgrad/kernels/optim.h"
#include "fastgrad/parallel.h"

namespace fastgrad {
namespace {

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

void non_negative(const std::string& who, const char* what, double v) {
  if (v < 0) throw ValueError(who + ": " + what + " must be >= 0, got " + num(v));
}

void unit_interval(const std::string& who, const char* what, double v) {
  if (!(v >= 0.0 && v < 1.0)) throw ValueError(who + ": " + what + " must be in [0, 1), got " + num(v));
}

// One slot per parameter: its pointers after the checks. b1..b3 are empty (the kernel
// gets null) or hold one tensor per parameter.
template <typename T>
std::vector<kernels::ParamSlot<T>> make_slots(const Tensors& params, const Tensors& grads, const Tensors& b1,
                                              const Tensors& b2, const Tensors& b3, const char* op) {
  const size_t n = params.size();
  auto check_list = [&](const Tensors& v, const char* what) {
    if (!v.empty() && v.size() != n)
      throw ValueError(std::string(op) + ": " + what + " has " + std::to_string(v.size()) + " tensors for " +
                       std::to_string(n) + " parameters");
  };
  if (grads.size() != n) throw ValueError(std::string(op) + ": one gradient per parameter expected");
  check_list(b1, "state buffer 1");
  check_list(b2, "state buffer 2");
  check_list(b3, "state buffer 3");
  std::vector<kernels::ParamSlot<T>> slots(n);
  auto ptr = [&](const Tensor& x, const Tensor& like, const char* what) -> T* {
    if (!x.defined()) throw ValueError(std::string(op) + ": " + what + " is undefined");
    if (x.dtype() != dtype_of<T>::value || !x.is_contiguous() || x.shape() != like.shape())
      throw ValueError(std::string(op) + ": " + what + " of shape " + shape_str(x.shape()) + " (" +
                       dtype_name(x.dtype()) + ") does not match its parameter of shape " +
                       shape_str(like.shape()) + " or is not contiguous");
    if (x.impl()->storage->readonly) throw ValueError(std::string(op) + ": " + what + " is read-only");
    return x.data<T>();
  };
  for (size_t i = 0; i < n; ++i) {
    if (!params[i].defined()) throw ValueError(std::string(op) + ": parameter is undefined");
    slots[i].param = ptr(params[i], params[i], "parameter");
    slots[i].grad = ptr(grads[i], params[i], "gradient");
    slots[i].buf1 = b1.empty() ? nullptr : ptr(b1[i], params[i], "state");
    slots[i].buf2 = b2.empty() ? nullptr : ptr(b2[i], params[i], "state");
    slots[i].buf3 = b3.empty() ? nullptr : ptr(b3[i], params[i], "state");
    slots[i].n = params[i].numel();
  }
  return slots;
}

// The written tensors' versions: nodes that saved their old values refuse to run backward.
void bump(const Tensors& v) {
  for (auto& t : v) t.impl()->storage->version++;
}

// f(T{}) for the parameters' float dtype (nothing for an empty group).
template <typename F>
void run_step(const Tensors& params, const char* op, F&& f) {
  if (params.empty()) return;
  sync_num_threads();
  if (!params[0].defined()) throw ValueError(std::string(op) + ": parameter is undefined");
  const DType d = params[0].dtype();
  if (d == DType::Float32)
    f(float{});
  else if (d == DType::Float64)
    f(double{});
  else
    throw TypeError(std::string(op) + ": parameters must be float32 or float64, got " + dtype_name(d));
}

}  // namespace

void SgdOptions::validate(const std::string& who) const {
  non_negative(who, "lr", lr);
  non_negative(who, "momentum", momentum);
  non_negative(who, "weight_decay", weight_decay);
  if (nesterov && (momentum <= 0 || dampening != 0))
    throw ValueError(who + ": nesterov momentum requires a momentum and zero dampening, got momentum=" +
                     num(momentum) + ", dampening=" + num(dampening));
}

void AdamOptions::validate(const std::string& who) const {
  non_negative(who, "lr", lr);
  non_negative(who, "eps", eps);
  non_negative(who, "weight_decay", weight_decay);
  unit_interval(who, "betas[0]", beta1);
  unit_interval(who, "betas[1]", beta2);
}

void RmspropOptions::validate(const std::string& who) const {
  non_negative(who, "lr", lr);
  non_negative(who, "alpha", alpha);
  non_negative(who, "eps", eps);
  non_negative(who, "weight_decay", weight_decay);
  non_negative(who, "momentum", momentum);
}

void sgd_step(const Tensors& params, const Tensors& grads, const Tensors& momentum_buffers,
              const SgdOptions& opt, bool first_step) {
  if (opt.momentum != 0 && momentum_buffers.empty() && !params.empty())
    throw ValueError("sgd_step: momentum needs momentum buffers");
  run_step(params, "sgd_step", [&](auto tag) {
    using T = decltype(tag);
    auto slots = make_slots<T>(params, grads, momentum_buffers, {}, {}, "sgd_step");
    kernels::sgd_step<T>(slots.data(), static_cast<int64_t>(slots.size()), opt.lr, opt.momentum,
                         opt.dampening, opt.weight_decay, opt.nesterov, opt.maximize, first_step);
  });
  bump(params);
  bump(momentum_buffers);
}

void adam_step(const Tensors& params, const Tensors& grads, const Tensors& exp_avgs,
               const Tensors& exp_avg_sqs, const Tensors& max_exp_avg_sqs, const AdamOptions& opt,
               int64_t step) {
  if (step < 1) throw ValueError("adam_step: step must be >= 1, got " + std::to_string(step));
  if (opt.amsgrad && max_exp_avg_sqs.empty() && !params.empty())
    throw ValueError("adam_step: amsgrad needs max_exp_avg_sqs");
  run_step(params, "adam_step", [&](auto tag) {
    using T = decltype(tag);
    auto slots = make_slots<T>(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, "adam_step");
    if (exp_avgs.empty() || exp_avg_sqs.empty())
      throw ValueError("adam_step: exp_avgs and exp_avg_sqs are required");
    kernels::adam_step<T>(slots.data(), static_cast<int64_t>(slots.size()), opt.lr, opt.beta1, opt.beta2,
                          opt.eps, opt.weight_decay, opt.amsgrad, opt.decoupled, opt.maximize, step);
  });
  bump(params);
  bump(exp_avgs);
  bump(exp_avg_sqs);
  bump(max_exp_avg_sqs);
}

void rmsprop_step(const Tensors& params, const Tensors& grads, const Tensors& square_avgs,
                  const Tensors& momentum_buffers, const Tensors& grad_avgs, const RmspropOptions& opt) {
  if (!params.empty()) {
    if (opt.momentum > 0 && momentum_buffers.empty())
      throw ValueError("rmsprop_step: momentum needs momentum buffers");
    if (opt.centered && grad_avgs.empty()) throw ValueError("rmsprop_step: centered needs grad averages");
  }
  run_step(params, "rmsprop_step", [&](auto tag) {
    using T = decltype(tag);
    auto slots = make_slots<T>(params, grads, square_avgs, momentum_buffers, grad_avgs, "rmsprop_step");
    if (square_avgs.empty()) throw ValueError("rmsprop_step: square averages are required");
    kernels::rmsprop_step<T>(slots.data(), static_cast<int64_t>(slots.size()), opt.lr, opt.alpha, opt.eps,
                             opt.weight_decay, opt.momentum, opt.centered, opt.maximize);
  });
  bump(params);
  bump(square_avgs);
  bump(momentum_buffers);
  bump(grad_avgs);
}

}  // namespace fastgrad
