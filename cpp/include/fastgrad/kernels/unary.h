// Vectorised elementwise kernels over contiguous arrays, free of autodiff.
// The ISA path (AVX-512, AVX2+FMA, scalar) is picked once at load time.
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

enum class UnaryOp : int {
  Exp,
  Log,
  Tanh,
  Sigmoid,
  Erf,
  Gelu,           // x * Phi(x)                       (exact)
  GeluTanh,       // 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))
  GeluDeriv,      // d/dx of Gelu
  GeluTanhDeriv,  // d/dx of GeluTanh
  Silu,           // x * sigmoid(x)
  Softplus,       // log(1 + exp(x)), stable
  SiluDeriv,      // d/dx of Silu: s + x s (1 - s), s = sigmoid(x)
};

// y[i] = op(x[i]) for i < n; x and y may alias.
void unary(UnaryOp op, const float* x, float* y, int64_t n);
void unary(UnaryOp op, const double* x, double* y, int64_t n);

// Fused GELU backward: gx[i] = gy[i] * gelu'(x[i]) in one pass (tanh_approx selects the
// GeluTanh derivative). Any of x, gy, gx may alias.
void gelu_backward(bool tanh_approx, const float* x, const float* gy, float* gx, int64_t n);
void gelu_backward(bool tanh_approx, const double* x, const double* gy, double* gx, int64_t n);

// Fused backward from the input: gx[i] = gy[i] * d(x[i]) in one pass, where d is the
// derivative op `dop` (GeluDeriv, GeluTanhDeriv, SiluDeriv, Sigmoid for softplus, ...;
// any UnaryOp is accepted). gelu_backward is unary_backward with the GELU derivatives.
// Any of x, gy, gx may alias.
void unary_backward(UnaryOp dop, const float* x, const float* gy, float* gx, int64_t n);
void unary_backward(UnaryOp dop, const double* x, const double* gy, double* gx, int64_t n);

// Fused backward from the saved output y: gx = gy (1 - y^2) (tanh) or gy y (1 - y)
// (sigmoid), one pass. Any of y, gy, gx may alias.
void output_backward(bool is_tanh, const float* y, const float* gy, float* gx, int64_t n);
void output_backward(bool is_tanh, const double* y, const double* gy, double* gx, int64_t n);

// Accuracy contract (float32, every ISA; measured by cpp/tests/test_unary.cpp against a
// double reference): see kUlpBound there. Denormal inputs are read as zero and denormal
// results are flushed to zero (FTZ/DAZ are set around the float kernels), except that
// log handles denormal inputs exactly. Limits are returned at +-inf (e.g. gelu(-inf) = -0,
// silu(-inf) = -0); NaN in gives NaN out. float64 uses the C++ standard library.

}  // namespace fastgrad::kernels
