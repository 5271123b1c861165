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
         const std::vector<int64_t>& p, bool cl) { return max_pool(Tensor(x), k, s, p, cl).impl(); },
      py::arg("x"), py::arg("kernel"), py::arg("stride"), py::arg("padding"), py::arg("channels_last"),
      "max_pool(x, kernel, stride, padding, channels_last) -> Tensor\n\nN-d max pooling of x: (N, C, "
      "*spatial) or channels-last.");
  m.def(
      "avg_pool",
      [](const TP& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
         const std::vector<int64_t>& p, bool cip,
         bool cl) { return avg_pool(Tensor(x), k, s, p, cip, cl).impl(); },
      py::arg("x"), py::arg("kernel"), py::arg("stride"), py::arg("padding"), py::arg("count_include_pad"),
      py::arg("channels_last"),
      "avg_pool(x, kernel, stride, padding, count_include_pad, channels_last) -> Tensor\n\nN-d average "
      "pooling.");
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
