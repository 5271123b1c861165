// Layer ops: fused linear, convolution, pooling.
#include "convert.h"

namespace fastgrad::bindings {
void bind_layers(py::module_& m) {
  m.def(
      "linear",
      [](const TP& x, const TP& w, const OptTensor& b, bool torch_layout, const std::string& activation) {
        Activation act = to_activation(activation, "linear");
        return linear(Tensor(x), Tensor(w), Tensor(b.p), torch_layout, act).impl();
      },
      py::arg("x"), py::arg("w"), py::arg("bias").none(true), py::arg("torch_layout") = true,
      py::arg("activation") = "none");

  // ---- convolution and pooling
  m.def(
      "conv",
      [](const TP& x, const TP& w, const OptTensor& b, const std::vector<int64_t>& stride,
         const std::vector<int64_t>& lo, const std::vector<int64_t>& hi, const std::vector<int64_t>& dil,
         int64_t groups, bool cl, const std::string& activation) {
        Activation act = to_activation(activation, "conv");
        return conv(Tensor(x), Tensor(w), Tensor(b.p), stride, lo, hi, dil, groups, cl, act).impl();
      },
      py::arg("x"), py::arg("w"), py::arg("bias").none(true), py::arg("stride"), py::arg("pad_lo"),
      py::arg("pad_hi"), py::arg("dilation"), py::arg("groups"), py::arg("channels_last"),
      py::arg("activation") = "none");
  m.def("max_pool",
        [](const TP& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
           const std::vector<int64_t>& p, bool cl) { return max_pool(Tensor(x), k, s, p, cl).impl(); });
  m.def("avg_pool", [](const TP& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
                       const std::vector<int64_t>& p, bool cip,
                       bool cl) { return avg_pool(Tensor(x), k, s, p, cip, cl).impl(); });
  m.def("adaptive_avg_pool", [](const TP& x, const std::vector<int64_t>& o, bool cl) {
    return adaptive_avg_pool(Tensor(x), o, cl).impl();
  });
}
}  // namespace fastgrad::bindings
