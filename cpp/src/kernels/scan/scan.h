// Prefix scans along one axis of contiguous (outer, n, inner) blocks: plain loops free of
// Tensor and autodiff. Each column is scanned in order (one summation order whatever the
// thread count).
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

enum class ScanOp { Sum, Prod, LogSumExp };
// out[a, j, i] = x[a, 0, i] op ... op x[a, j, i] (reverse: x[a, j, i] op ... op x[a, n-1, i]).
// Integers wrap modulo 2^64. LogSumExp is log(sum(exp)) computed stably (running maximum).
template <typename T>
void scan_axis(const T* x, int64_t outer, int64_t n, int64_t inner, ScanOp op, bool reverse, T* out);

}  // namespace fastgrad::kernels
