// Helpers for the kernel tests that call kernels/ directly: strided operands over a flat
// buffer, row-major index walks and a reference offset rule written independently of the
// kernels' own.
#pragma once
#include <csignal>

#include <cstdint>
#include <random>
#include <vector>

namespace kt {

using Dims = std::vector<int64_t>;

inline int64_t numel(const Dims& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

// Row-major multi-index of flat index i.
inline Dims unravel(int64_t i, const Dims& shape) {
  Dims idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  return idx;
}

inline int64_t dot(const Dims& idx, const Dims& strides) {
  int64_t o = 0;
  for (size_t d = 0; d < idx.size(); ++d) o += idx[d] * strides[d];
  return o;
}

inline Dims contiguous_strides(const Dims& shape) {
  Dims st(shape.size());
  int64_t acc = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    st[d] = acc;
    acc *= shape[d] > 0 ? shape[d] : 1;
  }
  return st;
}

// Elements a buffer needs so that every index of `shape` under (nonnegative) `strides`
// is inside it.
inline int64_t span(const Dims& shape, const Dims& strides) {
  int64_t last = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) return 0;
    last += (shape[d] - 1) * strides[d];
  }
  return last + 1;
}

template <typename T>
std::vector<T> random_buffer(int64_t n, uint32_t seed, double lo = -3.0, double hi = 3.0) {
  std::mt19937 rng(seed);
  std::vector<T> v(static_cast<size_t>(n));
  if constexpr (std::is_integral_v<T>) {
    std::uniform_int_distribution<int64_t> d(static_cast<int64_t>(lo), static_cast<int64_t>(hi));
    for (auto& x : v) x = static_cast<T>(d(rng));
  } else {
    std::uniform_real_distribution<double> d(lo, hi);
    for (auto& x : v) x = static_cast<T>(d(rng));
  }
  return v;
}

inline void noop_handler(int) {}

// SIGINT needs a handler function for an InterruptScope to arm; restored on scope exit.
class SigintHandler {
 public:
  SigintHandler() : prev_(std::signal(SIGINT, noop_handler)) {}
  ~SigintHandler() { std::signal(SIGINT, prev_); }

 private:
  void (*prev_)(int);
};

}  // namespace kt
