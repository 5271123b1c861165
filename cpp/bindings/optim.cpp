// The optimizer op family (cpp/src/ops/optim.cpp): options classes and the fused steps,
// each step one C++ call per parameter group, run without the GIL.
#include "convert.h"
#include "fastgrad/optim.h"

namespace fastgrad::bindings {
void bind_optim(py::module_& m) {
  py::class_<SgdOptions>(m, "SgdOptions", "Hyperparameters of sgd_step (torch.optim.SGD's).")
      .def(py::init([](double lr, double momentum, double dampening, double weight_decay, bool nesterov,
                       bool maximize) {
             return SgdOptions{lr, momentum, dampening, weight_decay, nesterov, maximize};
           }),
           py::kw_only(), py::arg("lr") = 1e-3, py::arg("momentum") = 0.0, py::arg("dampening") = 0.0,
           py::arg("weight_decay") = 0.0, py::arg("nesterov") = false, py::arg("maximize") = false)
      .def("validate", &SgdOptions::validate, py::arg("who"),
           "ValueError naming `who` and the argument for a value torch.optim.SGD rejects.");
  py::class_<AdamOptions>(m, "AdamOptions", "Hyperparameters of adam_step (torch.optim.Adam/AdamW's).")
      .def(py::init([](double lr, double beta1, double beta2, double eps, double weight_decay, bool amsgrad,
                       bool decoupled, bool maximize) {
             return AdamOptions{lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled, maximize};
           }),
           py::kw_only(), py::arg("lr") = 1e-3, py::arg("beta1") = 0.9, py::arg("beta2") = 0.999,
           py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0, py::arg("amsgrad") = false,
           py::arg("decoupled") = false, py::arg("maximize") = false)
      .def("validate", &AdamOptions::validate, py::arg("who"),
           "ValueError naming `who` and the argument for a value torch.optim.Adam rejects.");
  py::class_<RmspropOptions>(m, "RmspropOptions", "Hyperparameters of rmsprop_step (torch.optim.RMSprop's).")
      .def(py::init([](double lr, double alpha, double eps, double weight_decay, double momentum,
                       bool centered, bool maximize) {
             return RmspropOptions{lr, alpha, eps, weight_decay, momentum, centered, maximize};
           }),
           py::kw_only(), py::arg("lr") = 1e-2, py::arg("alpha") = 0.99, py::arg("eps") = 1e-8,
           py::arg("weight_decay") = 0.0, py::arg("momentum") = 0.0, py::arg("centered") = false,
           py::arg("maximize") = false)
      .def("validate", &RmspropOptions::validate, py::arg("who"),
           "ValueError naming `who` and the argument for a value torch.optim.RMSprop rejects.");

  using L = const std::vector<TP>&;
  m.def(
      "sgd_step",
      [](L params, L grads, L bufs, const SgdOptions& opt, bool first_step) {
        Tensors p = to_tensors(params), g = to_tensors(grads), b = to_tensors(bufs);
        gil::without_gil([&] { sgd_step(p, g, b, opt, first_step); });
      },
      py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::arg("options"),
      py::arg("first_step") = false, "SGD update of a parameter group in place (see fastgrad/optim.h).");
  m.def(
      "adam_step",
      [](L params, L grads, L m1, L m2, L vmax, const AdamOptions& opt, int64_t step) {
        Tensors p = to_tensors(params), g = to_tensors(grads), a = to_tensors(m1), b = to_tensors(m2),
                c = to_tensors(vmax);
        gil::without_gil([&] { adam_step(p, g, a, b, c, opt, step); });
      },
      py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"),
      py::arg("max_exp_avg_sqs"), py::arg("options"), py::arg("step"),
      "Adam/AdamW update of a parameter group in place (see fastgrad/optim.h).");
  m.def(
      "rmsprop_step",
      [](L params, L grads, L sq, L mom, L gavg, const RmspropOptions& opt) {
        Tensors p = to_tensors(params), g = to_tensors(grads), a = to_tensors(sq), b = to_tensors(mom),
                c = to_tensors(gavg);
        gil::without_gil([&] { rmsprop_step(p, g, a, b, c, opt); });
      },
      py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("momentum_buffers"),
      py::arg("grad_avgs"), py::arg("options"),
      "RMSprop update of a parameter group in place (see fastgrad/optim.h).");
}
}  // namespace fastgrad::bindings
