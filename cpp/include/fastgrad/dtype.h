// Element types and the errors every layer of fastgrad throws.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace fastgrad {

enum class DType : uint8_t { Float32 = 0, Float64 = 1, Int64 = 2, Bool = 3 };

inline size_t itemsize(DType d) {
  switch (d) {
    case DType::Float32:
      return 4;
    case DType::Float64:
      return 8;
    case DType::Int64:
      return 8;
    case DType::Bool:
      return 1;
  }
  return 1;
}
inline const char* dtype_name(DType d) {
  switch (d) {
    case DType::Float32:
      return "float32";
    case DType::Float64:
      return "float64";
    case DType::Int64:
      return "int64";
    case DType::Bool:
      return "bool";
  }
  return "?";
}
inline bool is_floating(DType d) { return d == DType::Float32 || d == DType::Float64; }

// NumPy-like promotion restricted to fastgrad's four types.
inline DType promote(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::Float64 || b == DType::Float64) return DType::Float64;
  if (a == DType::Float32 || b == DType::Float32) return DType::Float32;
  if (a == DType::Int64 || b == DType::Int64) return DType::Int64;
  return DType::Bool;
}

// Exceptions map one-to-one onto Python's (see cpp/bindings).
struct ValueError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct TypeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct IndexError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct RuntimeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename T>
struct dtype_of;
template <>
struct dtype_of<float> {
  static constexpr DType value = DType::Float32;
};
template <>
struct dtype_of<double> {
  static constexpr DType value = DType::Float64;
};
template <>
struct dtype_of<int64_t> {
  static constexpr DType value = DType::Int64;
};
template <>
struct dtype_of<bool> {
  static constexpr DType value = DType::Bool;
};

}  // namespace fastgrad

// Runs the body with `scalar_t` bound to the C++ type of a floating dtype.
#define FG_DISPATCH_FLOAT(DT, OPNAME, ...)                                                       \
  [&] {                                                                                          \
    switch (DT) {                                                                                \
      case ::fastgrad::DType::Float32: {                                                         \
        using scalar_t = float;                                                                  \
        return __VA_ARGS__();                                                                    \
      }                                                                                          \
      case ::fastgrad::DType::Float64: {                                                         \
        using scalar_t = double;                                                                 \
        return __VA_ARGS__();                                                                    \
      }                                                                                          \
      default:                                                                                   \
        throw ::fastgrad::TypeError(std::string(OPNAME) + ": expected a floating tensor, got " + \
                                    ::fastgrad::dtype_name(DT));                                 \
    }                                                                                            \
  }()

#define FG_DISPATCH_ALL(DT, OPNAME, ...)                              \
  [&] {                                                               \
    switch (DT) {                                                     \
      case ::fastgrad::DType::Float32: {                              \
        using scalar_t = float;                                       \
        return __VA_ARGS__();                                         \
      }                                                               \
      case ::fastgrad::DType::Float64: {                              \
        using scalar_t = double;                                      \
        return __VA_ARGS__();                                         \
      }                                                               \
      case ::fastgrad::DType::Int64: {                                \
        using scalar_t = int64_t;                                     \
        return __VA_ARGS__();                                         \
      }                                                               \
      case ::fastgrad::DType::Bool: {                                 \
        using scalar_t = bool;                                        \
        return __VA_ARGS__();                                         \
      }                                                               \
    }                                                                 \
    throw ::fastgrad::TypeError(std::string(OPNAME) + ": bad dtype"); \
  }()
