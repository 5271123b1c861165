// Convolution and pooling kernels over contiguous buffers, free of autodiff.
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

// Geometry of an nd-dimensional (nd = 1, 2, 3) convolution or pooling window.
// Spatial arrays use entries [0, nd). Output sizes are computed by the caller:
//   out[d] = (in[d] + pad_lo[d] + pad_hi[d] - dil[d]*(k[d]-1) - 1) / stride[d] + 1
// channels_last = false: x (N, C_in, *in), y (N, C_out, *out), w (C_out, C_in/groups, *k)
// channels_last = true:  x (N, *in, C_in), y (N, *out, C_out), w (C_out, *k, C_in/groups)
struct ConvGeom {
  int nd = 2;
  int64_t N = 1, C_in = 1, C_out = 1, groups = 1;
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, pad_lo[3] = {0, 0, 0}, pad_hi[3] = {0, 0, 0}, dil[3] = {1, 1, 1};
  bool channels_last = false;
  // Average pooling only: a fixed divisor (PyTorch's divisor_override) when != 0.
  int64_t divisor_override = 0;
};

// y = conv(x, w) (+ bias[C_out] when bias != nullptr). y is overwritten.
template <typename T>
void conv_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y);
// gx = d<gy, conv(x, w)>/dx (the transposed convolution). gx is overwritten.
template <typename T>
void conv_grad_input(const ConvGeom& g, const T* gy, const T* w, T* gx);
// gw = d<gy, conv(x, w)>/dw. gw is overwritten. Deterministic for a fixed thread count.
template <typename T>
void conv_grad_weight(const ConvGeom& g, const T* x, const T* gy, T* gw);

// Pooling: C_in == C_out == channels (C_out and groups are ignored; dil is used by max
// pooling only, whose windows visit start + j*dil).
// x has the input layout of the convolution, y and argmax the output layout.
// Windows are clipped to [-pad_lo, in + pad_hi) and then to the input.
// Max pooling: padded positions never win; argmax[i] is the flat spatial index (within
// the (n, c) plane) of the winner, -1 if the window is empty (then y = -inf). As in
// PyTorch a NaN wins, and of equal maxima the first in row-major window order wins.
template <typename T>
void maxpool_forward(const ConvGeom& g, const T* x, T* y, int64_t* argmax);
template <typename T>
void maxpool_backward(const ConvGeom& g, const T* gy, const int64_t* argmax, T* gx);
// The same with idx[i] the flat index into x as a whole (an empty window names the first
// element of its own (n, c) plane); the backward overwrites gx with the scatter of gy.
template <typename T>
void maxpool_forward_flat(const ConvGeom& g, const T* x, T* y, int64_t* idx);
template <typename T>
void maxpool_backward_flat(const ConvGeom& g, const T* gy, const int64_t* idx, T* gx);
// Average pooling; count_include_pad as PyTorch (divisor counts padded cells inside
// the padded input, i.e. window clipped to [-pad_lo, in + pad_hi)); g.divisor_override != 0
// replaces the divisor.
template <typename T>
void avgpool_forward(const ConvGeom& g, const T* x, T* y, bool count_include_pad);
template <typename T>
void avgpool_backward(const ConvGeom& g, const T* gy, T* gx, bool count_include_pad);
// Adaptive average pooling with PyTorch's windows: along each dim, output i averages
// inputs [floor(i*in/out), ceil((i+1)*in/out)). g.out holds the output sizes; k,
// stride and padding are ignored.
template <typename T>
void adaptive_avgpool_forward(const ConvGeom& g, const T* x, T* y);
template <typename T>
void adaptive_avgpool_backward(const ConvGeom& g, const T* gy, T* gx);

}  // namespace fastgrad::kernels
