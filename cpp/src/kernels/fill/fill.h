// Fill kernels: plain loops over a contiguous buffer, polling for Ctrl-C between pieces
// (serial_loop: they run on the calling thread, which may hold an armed interrupt scope).
#pragma once
#include <cstdint>

#include "../parallel_for.h"

namespace fastgrad::kernels {

// p[i] = v for i < n: the one fill loop behind full, full_int, zeros and ones.
template <typename T>
void fill(T* p, int64_t n, T v) {
  serial_loop(n, [&](int64_t i) { p[i] = v; });
}

// p[i] = f(i) for i < n in order (arange, linspace and random streams: f may keep state).
template <typename T, typename F>
void fill_indexed(T* p, int64_t n, F&& f) {
  serial_loop(n, [&](int64_t i) { p[i] = f(i); });
}

}  // namespace fastgrad::kernels
