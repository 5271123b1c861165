// Integer arithmetic of the kernels and ops: int64 wraps modulo 2^64 as in NumPy and
// PyTorch (signed overflow is undefined behaviour in C++, so int64 goes through uint64);
// floats are plain IEEE arithmetic.
#pragma once
#include <cstdint>
#include <type_traits>

namespace fastgrad::kernels {

template <typename T>
inline T wrap_add(T a, T b) {
  if constexpr (std::is_same_v<T, int64_t>)
    return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  else
    return a + b;
}
template <typename T>
inline T wrap_sub(T a, T b) {
  if constexpr (std::is_same_v<T, int64_t>)
    return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
  else
    return a - b;
}
template <typename T>
inline T wrap_mul(T a, T b) {
  if constexpr (std::is_same_v<T, int64_t>)
    return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  else
    return a * b;
}
template <typename T>
inline T wrap_neg(T a) {
  if constexpr (std::is_same_v<T, int64_t>)
    return wrap_sub(T(0), a);
  else
    return -a;  // keeps -0.0 for +0.0
}

}  // namespace fastgrad::kernels
