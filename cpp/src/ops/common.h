// Helpers shared by the op families (internal).
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>

#include "fastgrad/autodiff.h"
#include "fastgrad/batching.h"
#include "fastgrad/ops.h"
#include "fastgrad/parallel.h"
#include "../core/loops.h"
#include "../kernels/map/map.h"
#include "../kernels/wrap.h"
#include "fastgrad/kernels/unary.h"

namespace fastgrad::detail {

template <typename P, typename... Args>
std::shared_ptr<const Primitive> make_prim(Args&&... args) {
  return std::make_shared<const P>(std::forward<Args>(args)...);
}
// Parameterless primitives are shared singletons: no allocation per call.
template <typename P>
const std::shared_ptr<const Primitive>& singleton() {
  static const std::shared_ptr<const Primitive> p = std::make_shared<const P>();
  return p;
}

inline void require_float(const Tensor& t, const char* op) {
  if (!is_floating(t.dtype()))
    throw TypeError(std::string(op) + ": expected a float32 or float64 tensor, got " + dtype_name(t.dtype()) +
                    " of shape " + shape_str(t.shape()));
}

// Element conversion with every case defined. A C++ float -> int64 cast of NaN, +-inf or
// an out-of-range value is undefined behaviour, so it saturates here as XLA/JAX do:
// NaN -> 0, +inf and values >= 2^63 -> INT64_MAX, -inf and values < -2^63 -> INT64_MIN.
// To bool is `v != 0` (NaN -> true, as NumPy and PyTorch).
template <typename To, typename Ti>
inline To convert(Ti v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != Ti(0);
  } else if constexpr (std::is_same_v<To, int64_t> && std::is_floating_point_v<Ti>) {
    if (v != v) return 0;
    if (v >= Ti(9223372036854775808.0)) return std::numeric_limits<int64_t>::max();
    if (v < Ti(-9223372036854775808.0)) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(v);
  } else {
    return static_cast<To>(v);
  }
}

// Integer arithmetic wraps modulo 2^64 (kernels/wrap.h).
using kernels::wrap_add;
using kernels::wrap_mul;
using kernels::wrap_neg;
using kernels::wrap_sub;

// Zeros when undefined: for rules that combine optional tangents.
inline Tensor or_zeros(const Tensor& t, const Tensor& like) { return t.defined() ? t : zeros_like(like); }

// y[i] = f(x[i]) over any strides; out is contiguous and freshly allocated.
template <typename To, typename Ti, typename F>
void map_unary(const Tensor& out, const Tensor& x, F f) {
  const int64_t n = out.numel();
  // Small same-shape contiguous operands skip the n-d planning (per-op overhead).
  if (n < kCheapParallelGrain && out.is_contiguous() && x.shape() == out.shape() && x.is_contiguous())
    return kernels::map_unary_contiguous(out.data<To>(), x.data<Ti>(), n, f);
  kernels::map_unary(out.data<To>(), out.shape(), out.strides(), x.data<Ti>(),
                     broadcast_strides(x, out.shape()), f);
}

// out[i] = f(a[i], b[i]) with NumPy broadcasting.
template <typename To, typename Ti, typename F>
void map_binary(const Tensor& out, const Tensor& a, const Tensor& b, F f) {
  const int64_t n = out.numel();
  if (n < kCheapParallelGrain && out.is_contiguous() && a.shape() == out.shape() &&
      b.shape() == out.shape() && a.is_contiguous() && b.is_contiguous())
    return kernels::map_binary_contiguous(out.data<To>(), a.data<Ti>(), b.data<Ti>(), n, f);
  kernels::map_binary(out.data<To>(), out.shape(), out.strides(), a.data<Ti>(),
                      broadcast_strides(a, out.shape()), b.data<Ti>(), broadcast_strides(b, out.shape()), f);
}

// The vectorised kernels serve contiguous inputs; other layouts take the strided loop.
template <typename T>
bool vector_unary(kernels::UnaryOp op, const Tensor& x, const Tensor& out) {
  if (!x.is_contiguous() || x.shape() != out.shape()) return false;
  kernels::unary(op, x.data<T>(), out.data<T>(), out.numel());
  return true;
}

// Epilogue activations (linear, conv): applied in place over the freshly written output
// (cache-warm, no extra buffer); their derivative is read from that output.
template <typename T>
void activate(Activation act, T* y, int64_t n) {
  switch (act) {
    case Activation::None:
      return;
    case Activation::Relu:
      for (int64_t i = 0; i < n; ++i) y[i] = y[i] > T(0) || y[i] != y[i] ? y[i] : T(0);  // NaN stays NaN
      return;
    case Activation::Tanh:
      kernels::unary(kernels::UnaryOp::Tanh, y, y, n);
      return;
    case Activation::Sigmoid:
      kernels::unary(kernels::UnaryOp::Sigmoid, y, y, n);
      return;
  }
}

// d act / d z contracted with g, from the output y = act(z).
inline Tensor act_backward(Activation act, const Tensor& y, const Tensor& g) {
  switch (act) {
    case Activation::None:
      return g;
    case Activation::Relu:
      return where(compare(y, zeros({}, y.dtype()), CmpOp::Gt), g, zeros({}, g.dtype()));
    case Activation::Tanh:
      return tanh_backward(y, g);
    case Activation::Sigmoid:
      return sigmoid_backward(y, g);
  }
  return g;
}

}  // namespace fastgrad::detail

// Batching rules shared by whole families (batching.h): elementwise with broadcasting, and
// primitives whose kernels already take leading batch axes.
#define FG_VMAP_ELEMENTWISE                                                                                \
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr& self) const override { \
    return vmap_elementwise(self, in, bdims);                                                              \
  }
#define FG_VMAP_LEADING                                                                                    \
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr& self) const override { \
    return vmap_leading(self, in, bdims);                                                                  \
  }

#define FG_DISPATCH_NUM(DT, OPNAME, ...)                                                 \
  [&] {                                                                                  \
    switch (DT) {                                                                        \
      case ::fastgrad::DType::Float32: {                                                 \
        using scalar_t = float;                                                          \
        return __VA_ARGS__();                                                            \
      }                                                                                  \
      case ::fastgrad::DType::Float64: {                                                 \
        using scalar_t = double;                                                         \
        return __VA_ARGS__();                                                            \
      }                                                                                  \
      case ::fastgrad::DType::Int64: {                                                   \
        using scalar_t = int64_t;                                                        \
        return __VA_ARGS__();                                                            \
      }                                                                                  \
      default:                                                                           \
        throw ::fastgrad::TypeError(std::string(OPNAME) + ": not supported for dtype " + \
                                    ::fastgrad::dtype_name(DT));                         \
    }                                                                                    \
  }()
