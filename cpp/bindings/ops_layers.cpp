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
      py::arg("activation") = "none",
      "linear(x, w, bias, torch_layout=True, activation='none') -> Tensor\n\nx @ w.T + bias (torch layout, "
      "w: "
      "(out, in)) or x @ w + bias (w: (in, out)), with a fused activation; x: (..., in) -> (..., out).");

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
      py::arg("activation") = "none",
      "conv(x, w, bias, stride, pad_lo, pad_hi, dilation, groups, channels_last, activation='none') -> "
      "Tensor\n\nN-d convolution (cross-correlation): x: (N, C, *spatial) or (N, *spatial, C).");
  m.def(
      "max_pool",
      [](const TP& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
         const std::vector<int64_t>& p, bool cl, const std::vector<int64_t>& dil,
         bool ceil_mode) { return max_pool(Tensor(x), k, s, p, cl, dil, ceil_mode).impl(); },
      py::arg("x"), py::arg("kernel"), py::arg("stride"), py::arg("padding"), py::arg("channels_last"),
      py::arg("dilation") = std::vector<int64_t>{}, py::arg("ceil_mode") = false,
      "max_pool(x, kernel, stride, padding, channels_last, dilation=[], ceil_mode=False) -> Tensor\n\nN-d "
      "max pooling of x: (N, C, *spatial) or channels-last (PyTorch's geometry; dilation [] = 1s).");
  m.def(
      "avg_pool",
      [](const TP& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
         const std::vector<int64_t>& p, bool cip, bool cl, bool ceil_mode, std::optional<int64_t> divisor) {
        return avg_pool(Tensor(x), k, s, p, cip, cl, ceil_mode, divisor).impl();
      },
      py::arg("x"), py::arg("kernel"), py::arg("stride"), py::arg("padding"), py::arg("count_include_pad"),
      py::arg("channels_last"), py::arg("ceil_mode") = false, py::arg("divisor_override") = py::none(),
      "avg_pool(x, kernel, stride, padding, count_include_pad, channels_last, ceil_mode=False, "
      "divisor_override=None) -> Tensor\n\nN-d average pooling (PyTorch's geometry and divisor).");
  m.def(
      "adaptive_avg_pool",
      [](const TP& x, const std::vector<int64_t>& o, bool cl) {
        return adaptive_avg_pool(Tensor(x), o, cl).impl();
      },
      py::arg("x"), py::arg("output_size"), py::arg("channels_last"),
      "adaptive_avg_pool(x, output_size, channels_last) -> Tensor\n\nAverage pooling to a fixed output "
      "spatial size.");
}
}  // namespace fastgrad::bindings
