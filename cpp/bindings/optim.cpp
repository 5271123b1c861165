// Fused optimizer steps: every tensor of a group in one C++ call (no Python loop).
#include "fastgrad/kernels/optim.h"
#include "convert.h"

namespace fastgrad::bindings {
template <typename T>
std::vector<kernels::ParamSlot<T>> make_slots(const std::vector<TP>& params, const std::vector<TP>& grads,
                                              const std::vector<TP>& b1, const std::vector<TP>& b2,
                                              const std::vector<TP>& b3, const char* op) {
  const size_t n = params.size();
  auto check_list = [&](const std::vector<TP>& v, const char* what) {
    if (!v.empty() && v.size() != n)
      throw ValueError(std::string(op) + ": " + what + " has " + std::to_string(v.size()) + " tensors for " +
                       std::to_string(n) + " parameters");
  };
  if (grads.size() != n) throw ValueError(std::string(op) + ": one gradient per parameter expected");
  check_list(b1, "state buffer 1");
  check_list(b2, "state buffer 2");
  check_list(b3, "state buffer 3");
  std::vector<kernels::ParamSlot<T>> slots(n);
  auto ptr = [&](const TP& t, const TP& like, const char* what) -> T* {
    Tensor x(t);
    if (x.dtype() != dtype_of<T>::value || !x.is_contiguous() || t->shape != like->shape)
      throw ValueError(std::string(op) + ": " + what + " of shape " + shape_str(t->shape) + " (" +
                       dtype_name(x.dtype()) + ") does not match its parameter of shape " +
                       shape_str(like->shape) + " or is not contiguous");
    if (t->storage->readonly) throw ValueError(std::string(op) + ": " + what + " is read-only");
    return x.data<T>();
  };
  for (size_t i = 0; i < n; ++i) {
    slots[i].param = ptr(params[i], params[i], "parameter");
    slots[i].grad = ptr(grads[i], params[i], "gradient");
    slots[i].buf1 = b1.empty() ? nullptr : ptr(b1[i], params[i], "state");
    slots[i].buf2 = b2.empty() ? nullptr : ptr(b2[i], params[i], "state");
    slots[i].buf3 = b3.empty() ? nullptr : ptr(b3[i], params[i], "state");
    slots[i].n = shape_numel(params[i]->shape);
  }
  return slots;
}

void bump(const std::vector<TP>& v) {
  for (auto& t : v) t->storage->version++;
}

template <typename F>
void run_step(const std::vector<TP>& params, F&& f) {
  if (params.empty()) return;
  sync_num_threads();
  DType d = params[0]->dtype;
  if (d == DType::Float32)
    f(float{});
  else if (d == DType::Float64)
    f(double{});
  else
    throw TypeError(std::string("optimizer: parameters must be float32 or float64, got ") + dtype_name(d));
}

void bind_optim(py::module_& m) {
  // ---- fused optimizer steps (in place; bump versions)
  m.def("sgd_step", [](const std::vector<TP>& params, const std::vector<TP>& grads,
                       const std::vector<TP>& bufs, double lr, double momentum, double dampening, double wd,
                       bool nesterov, bool maximize, bool first_step) {
    run_step(params, [&](auto tag) {
      using T = decltype(tag);
      auto slots = make_slots<T>(params, grads, bufs, {}, {}, "sgd_step");
      gil::without_gil([&] {
        kernels::sgd_step<T>(slots.data(), static_cast<int64_t>(slots.size()), lr, momentum, dampening, wd,
                             nesterov, maximize, first_step);
      });
    });
    bump(params);
    bump(bufs);
  });
  m.def("adam_step",
        [](const std::vector<TP>& params, const std::vector<TP>& grads, const std::vector<TP>& m1,
           const std::vector<TP>& m2, const std::vector<TP>& vmax, double lr, double b1, double b2,
           double eps, double wd, bool amsgrad, bool decoupled, bool maximize, int64_t step) {
          if (step < 1) throw ValueError("adam_step: step must be >= 1");
          if (amsgrad && vmax.empty()) throw ValueError("adam_step: amsgrad needs max_exp_avg_sqs");
          run_step(params, [&](auto tag) {
            using T = decltype(tag);
            auto slots = make_slots<T>(params, grads, m1, m2, vmax, "adam_step");
            if (m1.empty() || m2.empty())
              throw ValueError("adam_step: exp_avgs and exp_avg_sqs are required");
            gil::without_gil([&] {
              kernels::adam_step<T>(slots.data(), static_cast<int64_t>(slots.size()), lr, b1, b2, eps, wd,
                                    amsgrad, decoupled, maximize, step);
            });
          });
          bump(params);
          bump(m1);
          bump(m2);
          bump(vmax);
        });
  m.def("rmsprop_step",
        [](const std::vector<TP>& params, const std::vector<TP>& grads, const std::vector<TP>& sq,
           const std::vector<TP>& mom, const std::vector<TP>& gavg, double lr, double alpha, double eps,
           double wd, double momentum, bool centered, bool maximize) {
          if (momentum > 0 && mom.empty()) throw ValueError("rmsprop_step: momentum needs momentum buffers");
          if (centered && gavg.empty()) throw ValueError("rmsprop_step: centered needs grad averages");
          run_step(params, [&](auto tag) {
            using T = decltype(tag);
            auto slots = make_slots<T>(params, grads, sq, mom, gavg, "rmsprop_step");
            if (sq.empty()) throw ValueError("rmsprop_step: square averages are required");
            gil::without_gil([&] {
              kernels::rmsprop_step<T>(slots.data(), static_cast<int64_t>(slots.size()), lr, alpha, eps, wd,
                                       momentum, centered, maximize);
            });
          });
          bump(params);
          bump(sq);
          bump(mom);
          bump(gavg);
        });
}
}  // namespace fastgrad::bindings
