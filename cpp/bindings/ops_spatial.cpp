// Spatial ops: pooling with indices, transposed convolution (engine hooks of nn.functional,
// which maps PyTorch's signatures onto them).
#include "convert.h"

namespace fastgrad::bindings {
void bind_spatial(py::module_& m, TensorClass& T) {
  (void)T;
  m.def(
      "max_pool_with_indices",
      [](const TP& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
         const std::vector<int64_t>& p, bool cl, const std::vector<int64_t>& dil, bool ceil_mode) {
        Tensor xt(x);
        Tensors r = max_pool_with_indices(xt, k, s, p, cl, dil, ceil_mode);
        return py::make_tuple(r[0].impl(), max_pool_plane_indices(r[1], xt.shape(), cl).impl());
      },
      py::arg("x"), py::arg("kernel"), py::arg("stride"), py::arg("padding"), py::arg("channels_last"),
      py::arg("dilation"), py::arg("ceil_mode"),
      "max_pool_with_indices(x, kernel, stride, padding, channels_last, dilation, ceil_mode) -> (Tensor, "
      "Tensor)\n\nMax pooling and PyTorch's return_indices: the int64 offset of each winner within its "
      "(n, c) plane of x (row-major over the spatial axes).");
  m.def(
      "conv_transpose",
      [](const TP& x, const TP& w, const OptTensor& b, const std::vector<int64_t>& stride,
         const std::vector<int64_t>& pad, const std::vector<int64_t>& output_padding,
         const std::vector<int64_t>& dil, int64_t groups, bool cl) {
        return conv_transpose(Tensor(x), Tensor(w), Tensor(b.p), stride, pad, output_padding, dil, groups, cl)
            .impl();
      },
      py::arg("x"), py::arg("w"), py::arg("bias").none(true), py::arg("stride"), py::arg("padding"),
      py::arg("output_padding"), py::arg("dilation"), py::arg("groups"), py::arg("channels_last"),
      "conv_transpose(x, w, bias, stride, padding, output_padding, dilation, groups, channels_last) -> "
      "Tensor\n\nTransposed convolution (the input adjoint of conv): x (N, C_in, *S), w (C_in, "
      "C_out/groups, *k) -> (N, C_out, *S_out).");
}
}  // namespace fastgrad::bindings
