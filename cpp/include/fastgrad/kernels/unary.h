// Vectorised elementwise kernels over contiguous arrays, free of autodiff.
// The ISA path (AVX-512, AVX2+FMA, scalar) is picked once at load time.
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

enum class UnaryOp : int {
  Exp, Log, Tanh, Sigmoid, Erf,
  Gelu,          // x * Phi(x)                       (exact)
  GeluTanh,      // 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3)))
  GeluDeriv,     // d/dx of Gelu
  GeluTanhDeriv, // d/dx of GeluTanh
  Silu,          // x * sigmoid(x)
  Softplus,      // log(1 + exp(x)), stable
};

// y[i] = op(x[i]) for i < n; x and y may alias.
void unary(UnaryOp op, const float* x, float* y, int64_t n);
void unary(UnaryOp op, const double* x, double* y, int64_t n);

}  // namespace fastgrad::kernels
